/*
 * The circuit breaker (see circuit.h).  The ring holds the times of the last N restarts, so the
 * check "N restarts within W" is exact and O(1): the oldest of the N is the slot written next.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "circuit.h"

int circuit_configure(Circuit *c, unsigned give_up_count) {
        usec_t *t = NULL;

        if (give_up_count == c->n)
                return 0;
        if (give_up_count > 0) {
                t = calloc(give_up_count, sizeof(usec_t));
                if (!t)
                        return -ENOMEM;
        }
        free(c->times);
        c->times = t;
        c->n = give_up_count;
        c->head = 0;
        return 0;
}

void circuit_done(Circuit *c) {
        free(c->times);
        *c = (Circuit) {};
}

void circuit_record(Circuit *c, usec_t now) {
        if (c->n == 0)
                return;
        c->times[c->head] = now;
        c->head = (c->head + 1) % c->n;
}

bool circuit_gives_up(const Circuit *c, usec_t now, usec_t within) {
        usec_t oldest;

        if (c->half_open)
                return true;
        if (c->n == 0)
                return false;
        oldest = c->times[c->head];
        return oldest > 0 && now - oldest <= within;
}

void circuit_reset(Circuit *c) {
        if (c->n > 0)
                memset(c->times, 0, c->n * sizeof(usec_t));
        c->head = 0;
        c->half_open = false;
}

CircuitStep circuit_step(const Circuit *c, InstanceState old, InstanceState next, FsmEvent ev) {
        if (old == STATE_FATAL && next == STATE_STARTING && ev == EV_TIMER)
                return CIRCUIT_HALF_OPEN;
        if (c->half_open && old != STATE_RUNNING && next == STATE_RUNNING)
                return CIRCUIT_CLOSES;
        return CIRCUIT_STAYS;
}
