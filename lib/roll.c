/*
 * A rolling restart's decisions (see roll.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "roll.h"

int roll_init(Roll *r, unsigned n, unsigned max_unavailable, usec_t ready_timeout,
              RollOnFailure on_failure) {
        *r = (Roll) {
                .n = n,
                .max_unavailable = MAX(max_unavailable, 1u),
                .ready_timeout = ready_timeout,
                .on_failure = on_failure,
                .state = ROLL_RUNNING,
        };
        r->slots = calloc(MAX(n, 1u), sizeof(RollSlot));
        return r->slots ? 0 : -ENOMEM;
}

void roll_set_surge(Roll *r) {
        r->surge = true;
}

/* The spare, when pending: ready, or failed (the roll pauses at it, index n). */
static bool judge_spare(Roll *r, const bool *ready, usec_t now) {
        if (!r->surge || r->spare.state != ROLL_SLOT_PENDING)
                return false;
        if (ready[r->n])
                r->spare.state = ROLL_SLOT_READY;
        else if (now >= r->spare.since + r->ready_timeout) {
                r->spare.state = ROLL_SLOT_FAILED;
                if (r->on_failure == ROLL_FAILURE_PAUSE && r->state == ROLL_RUNNING) {
                        r->state = ROLL_PAUSED;
                        r->failed = r->n;
                        return true;
                }
        }
        return false;
}

void roll_done(Roll *r) {
        free(r->slots);
        r->slots = NULL;
}

static unsigned pending(const Roll *r) {
        unsigned p = 0;

        for (unsigned k = 0; k < r->next; k++)
                p += r->slots[k].state == ROLL_SLOT_PENDING;
        return p;
}

RollAction roll_decide(Roll *r, const bool *ready, usec_t now) {
        if (r->state == ROLL_DONE)
                return (RollAction) { ROLL_ACT_DONE, 0 };
        if (r->state == ROLL_ABORTED)
                return (RollAction) { ROLL_ACT_NONE, 0 };
        for (unsigned k = 0; k < r->next; k++) {
                RollSlot *s = &r->slots[k];

                if (s->state != ROLL_SLOT_PENDING)
                        continue;
                if (ready[k])
                        s->state = ROLL_SLOT_READY;
                else if (now >= s->since + r->ready_timeout) {
                        s->state = ROLL_SLOT_FAILED;
                        if (r->on_failure == ROLL_FAILURE_PAUSE && r->state == ROLL_RUNNING) {
                                r->state = ROLL_PAUSED;
                                r->failed = k;
                                return (RollAction) { ROLL_ACT_PAUSED, k };
                        }
                }
        }
        if (judge_spare(r, ready, now))
                return (RollAction) { ROLL_ACT_PAUSED, r->n };
        if (r->state != ROLL_RUNNING)
                return (RollAction) { ROLL_ACT_NONE, 0 };
        if (r->surge && r->spare.state == ROLL_SLOT_WAITING) {
                r->spare = (RollSlot) { .state = ROLL_SLOT_PENDING, .since = now };
                return (RollAction) { ROLL_ACT_SPARE, r->n };
        }
        if (r->surge && r->spare.state == ROLL_SLOT_PENDING)
                return (RollAction) { ROLL_ACT_NONE, 0 }; /* capacity first */
        while (r->next < r->n && r->slots[r->next].state == ROLL_SLOT_LEFT_OUT)
                r->next++;
        if (r->next < r->n && pending(r) < r->max_unavailable) {
                r->slots[r->next] = (RollSlot) { .state = ROLL_SLOT_PENDING, .since = now };
                return (RollAction) { ROLL_ACT_RESTART, r->next++ };
        }
        if (r->next == r->n && pending(r) == 0) {
                r->state = ROLL_DONE;
                return (RollAction) { ROLL_ACT_DONE, 0 };
        }
        return (RollAction) { ROLL_ACT_NONE, 0 };
}

void roll_leave_out(Roll *r, unsigned k) {
        if (k >= r->next && k < r->n)
                r->slots[k].state = ROLL_SLOT_LEFT_OUT;
}

unsigned roll_total(const Roll *r) {
        unsigned t = 0;

        for (unsigned k = 0; k < r->n; k++)
                t += r->slots[k].state != ROLL_SLOT_LEFT_OUT;
        return t;
}

void roll_skip(Roll *r, unsigned k) {
        if (k == r->n && r->surge && r->spare.state == ROLL_SLOT_PENDING)
                r->spare.state = ROLL_SLOT_SKIPPED; /* the roll goes on without it */
        else if (k < r->next && r->slots[k].state == ROLL_SLOT_PENDING)
                r->slots[k].state = ROLL_SLOT_SKIPPED;
}

int roll_continue(Roll *r) {
        if (r->state != ROLL_PAUSED)
                return -EINVAL;
        r->state = ROLL_RUNNING;
        return 0;
}

void roll_abort(Roll *r) {
        if (r->state == ROLL_RUNNING || r->state == ROLL_PAUSED)
                r->state = ROLL_ABORTED;
}

usec_t roll_deadline(const Roll *r) {
        usec_t d = USEC_INFINITY;

        if (r->state != ROLL_RUNNING)
                return d;
        for (unsigned k = 0; k < r->next; k++)
                if (r->slots[k].state == ROLL_SLOT_PENDING)
                        d = MIN(d, r->slots[k].since + r->ready_timeout);
        if (r->surge && r->spare.state == ROLL_SLOT_PENDING)
                d = MIN(d, r->spare.since + r->ready_timeout);
        return d;
}

unsigned roll_finished(const Roll *r) {
        unsigned f = 0;

        for (unsigned k = 0; k < r->next; k++)
                f += r->slots[k].state != ROLL_SLOT_PENDING &&
                     r->slots[k].state != ROLL_SLOT_LEFT_OUT;
        return f;
}

usec_t roll_every_delay(usec_t every, double jitter, double unit) {
        double cut;

        if (!(unit >= 0.0 && unit < 1.0))
                unit = 0.0;
        if (!(jitter >= 0.0 && jitter <= 1.0))
                jitter = 0.0;
        cut = (double) every * jitter * unit;
        return MAX(every - (usec_t) cut, (usec_t) 1);
}

static const char *const state_names[] = {
        [ROLL_RUNNING] = "running", [ROLL_PAUSED] = "paused",
        [ROLL_DONE] = "done",       [ROLL_ABORTED] = "aborted",
};

const char *roll_state_to_string(RollState s) {
        return s >= 0 && s <= ROLL_ABORTED ? state_names[s] : "unknown";
}

static const char *const failure_names[_ROLL_FAILURE_MAX] = {
        [ROLL_FAILURE_PAUSE] = "pause",
        [ROLL_FAILURE_CONTINUE] = "continue",
};

RollOnFailure roll_on_failure_from_string(const char *s) {
        for (int k = 0; k < _ROLL_FAILURE_MAX; k++)
                if (strcmp(s, failure_names[k]) == 0)
                        return (RollOnFailure) k;
        return _ROLL_FAILURE_INVALID;
}

const char *roll_on_failure_to_string(RollOnFailure f) {
        return f >= 0 && f < _ROLL_FAILURE_MAX ? failure_names[f] : "unknown";
}
