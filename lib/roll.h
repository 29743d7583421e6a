/*
 * A rolling restart's decisions: which instance of a worker goes next, when the roll waits,
 * pauses, carries on or ends.  Pure: the caller says which instances it began are ready now
 * (and what time it is), carries out the action returned, and arms a timer for
 * roll_deadline().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

typedef enum RollState {
        ROLL_RUNNING,
        ROLL_PAUSED,   /* a replacement was not ready in time: nothing more is begun */
        ROLL_DONE,
        ROLL_ABORTED,
} RollState;

typedef enum RollOnFailure {
        ROLL_FAILURE_PAUSE,
        ROLL_FAILURE_CONTINUE,
        _ROLL_FAILURE_MAX,
        _ROLL_FAILURE_INVALID = -1,
} RollOnFailure;

typedef enum RollSlotState {
        ROLL_SLOT_WAITING,  /* not begun */
        ROLL_SLOT_PENDING,  /* restarted, not ready yet */
        ROLL_SLOT_READY,
        ROLL_SLOT_FAILED,   /* not ready within ready-timeout */
        ROLL_SLOT_SKIPPED,  /* could not be restarted (an operator stopped it) */
        ROLL_SLOT_LEFT_OUT, /* not part of this roll (roll_leave_out()) */
} RollSlotState;

typedef struct RollSlot {
        RollSlotState state;
        usec_t since;       /* when it was begun */
} RollSlot;

typedef struct Roll {
        unsigned n;                 /* instances */
        bool surge;                 /* a spare, instance n, is started first and kept ready */
        RollSlot spare;
        unsigned max_unavailable;   /* begun and not ready at most, at once */
        usec_t ready_timeout;
        RollOnFailure on_failure;
        RollState state;
        unsigned next;              /* the first instance not begun */
        unsigned failed;            /* the instance the roll paused at */
        RollSlot *slots;            /* n of them */
} Roll;

typedef enum RollActionKind {
        ROLL_ACT_NONE,     /* wait: for a replacement to be ready, or an operator */
        ROLL_ACT_RESTART,  /* restart instance `index`, then ask again */
        ROLL_ACT_SPARE,    /* start the spare (`index` n), then ask again */
        ROLL_ACT_PAUSED,   /* the roll just paused at `index`: raise the alert */
        ROLL_ACT_DONE,     /* every instance was replaced (or failed, with continue) */
} RollActionKind;

typedef struct RollAction {
        RollActionKind kind;
        unsigned index;
} RollAction;

/* A roll over n instances: 0 or -ENOMEM (free with roll_done()). */
int roll_init(Roll *r, unsigned n, unsigned max_unavailable, usec_t ready_timeout,
              RollOnFailure on_failure);
void roll_done(Roll *r);
/*
 * rolling { surge = 1 }: a spare instance (index n) is started before any instance is
 * restarted, and nothing is restarted until it is ready (ready[n]), so at most n + 1 processes
 * run and, with max-unavailable = 1, never fewer than n are ready.  The caller stops the spare
 * once the roll is over, whichever way.  Call before the first roll_decide().
 */
void roll_set_surge(Roll *r);
/*
 * The next step.  ready[k] says whether instance k, if begun, is ready now (only begun ones
 * are read).  Call again after ROLL_ACT_RESTART, until ROLL_ACT_NONE, PAUSED or DONE.
 */
RollAction roll_decide(Roll *r, const bool *ready, usec_t now);
/*
 * Instance k, not begun yet, is not part of this roll at all (a roll back restarts only the
 * instances the aborted roll had begun): it is passed over, and not counted.
 */
void roll_leave_out(Roll *r, unsigned k);
/* Instances in the roll: the "4" of "2/4". */
unsigned roll_total(const Roll *r);
/* Instance k could not be restarted (it is not running on purpose): it counts as done. */
void roll_skip(Roll *r, unsigned k);
/* --continue: a paused roll goes on past the instance that failed. */
int roll_continue(Roll *r);
/* --abort: nothing more is begun; what was begun stays as it is. */
void roll_abort(Roll *r);
/* When the oldest pending replacement times out; USEC_INFINITY: none pending. */
usec_t roll_deadline(const Roll *r);
/* Instances replaced or given up on: the "2" of "2/4". */
unsigned roll_finished(const Roll *r);
/*
 * restart-every: the delay to the next scheduled restart, `every` shortened by up to `jitter`
 * of it (a fraction) with unit in [0, 1) drawn by the caller, so workers configured alike are
 * not all restarted at the same moment; never 0.
 */
usec_t roll_every_delay(usec_t every, double jitter, double unit);
const char *roll_state_to_string(RollState s);
RollOnFailure roll_on_failure_from_string(const char *s);
const char *roll_on_failure_to_string(RollOnFailure f);
