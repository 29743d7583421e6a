/*
 * Sliding windows (see window.h) as two rings of counters: 60 one-second slots for the last
 * minute and 60 one-minute slots for the last hour.  Every event goes into both rings.  Before
 * a slot is used, the slots between the previous head and the new one are cleared, at most a
 * ring's length of work, so a long idle gap costs the same as a short one.
 */
#include <string.h>

#include "window.h"

const usec_t win_spans[WIN_N_SPANS] = {
        USEC_PER_MINUTE, 5 * USEC_PER_MINUTE, 15 * USEC_PER_MINUTE, USEC_PER_HOUR,
};

static const char *const kind_names[_EVK_MAX] = {
        [EVK_EXIT] = "exit",       [EVK_CRASH] = "crash",     [EVK_HEALTH_FAILURE] = "health-failure",
        [EVK_TIMEOUT] = "timeout", [EVK_RESTART] = "restart", [EVK_DEGRADED] = "degraded",
        [EVK_APP_ERROR] = "app-error",
        [EVK_WAIT_TIMEOUT] = "wait-timeout",
        [EVK_MEMORY] = "memory",
        [EVK_CPU] = "cpu",
};

const char *event_kind_to_string(EventKind k) {
        return k >= 0 && k < _EVK_MAX ? kind_names[k] : "unknown";
}

EventKind event_kind_from_string(const char *s) {
        for (int k = 0; k < _EVK_MAX; k++)
                if (strcmp(s, kind_names[k]) == 0)
                        return (EventKind) k;
        return _EVK_INVALID;
}

void win_init(Window *w, usec_t now) {
        memset(w, 0, sizeof *w);
        w->fine_head = now / USEC_PER_SEC;
        w->coarse_head = now / USEC_PER_MINUTE;
}

_Static_assert(WIN_FINE_SLOTS == WIN_COARSE_SLOTS, "advance() serves both rings");

static void advance(uint16_t ring[][WIN_FINE_SLOTS], uint64_t *head, uint64_t to, unsigned n) {
        uint64_t gap;

        if (to <= *head)
                return;
        gap = to - *head;
        if (gap > n)
                gap = n;
        for (uint64_t s = to - gap + 1; s <= to; s++)
                for (int k = 0; k < _EVK_MAX; k++)
                        ring[k][s % n] = 0;
        *head = to;
}

static void advance_all(Window *w, usec_t now) {
        advance(w->fine, &w->fine_head, now / USEC_PER_SEC, WIN_FINE_SLOTS);
        advance(w->coarse, &w->coarse_head, now / USEC_PER_MINUTE, WIN_COARSE_SLOTS);
}

static void bump(uint16_t *c) {
        if (*c < UINT16_MAX)
                (*c)++;
}

void win_add(Window *w, EventKind k, usec_t now) {
        advance_all(w, now);
        bump(&w->fine[k][w->fine_head % WIN_FINE_SLOTS]);
        bump(&w->coarse[k][w->coarse_head % WIN_COARSE_SLOTS]);
        w->total[k]++;
}

static void bump_n(uint16_t *c, unsigned n) {
        *c = (uint16_t) MIN((unsigned) *c + (uint64_t) n, (uint64_t) UINT16_MAX);
}

void win_add_n(Window *w, EventKind k, unsigned n, usec_t now) {
        advance_all(w, now);
        bump_n(&w->fine[k][w->fine_head % WIN_FINE_SLOTS], n);
        bump_n(&w->coarse[k][w->coarse_head % WIN_COARSE_SLOTS], n);
        w->total[k] += n;
}

static unsigned sum(const uint16_t *ring, uint64_t head, uint64_t slots, unsigned n) {
        unsigned total = 0;

        /* walk back from the head without unsigned wrap-around (head may be below n) */
        for (uint64_t i = 0; i < slots; i++)
                total += ring[(head % n + n - i % n) % n];
        return total;
}

unsigned win_count(Window *w, EventKind k, usec_t now, usec_t within) {
        uint64_t slots;

        advance_all(w, now);
        if (within <= USEC_PER_MINUTE) {
                slots = (within + USEC_PER_SEC - 1) / USEC_PER_SEC;
                return sum(w->fine[k], w->fine_head, MAX(slots, 1), WIN_FINE_SLOTS);
        }
        slots = (within + USEC_PER_MINUTE - 1) / USEC_PER_MINUTE;
        return sum(w->coarse[k], w->coarse_head, MIN(slots, WIN_COARSE_SLOTS), WIN_COARSE_SLOTS);
}
