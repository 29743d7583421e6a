/*
 * The circuit breaker of one instance: with give-up = "N in W", the restart after N restarts
 * within W does not happen (the circuit opens, FATAL); after retry-after one half-open attempt
 * is made, and it either starts well (the circuit closes) or opens the circuit again at once.
 * Pure: the caller passes the time.
 */
#pragma once

#include <stdbool.h>

#include "fsm.h"
#include "macro.h"

typedef struct Circuit {
        usec_t *times;   /* ring of the last n restarts; 0: an empty slot */
        unsigned n;      /* give-up count; 0: the breaker is off */
        unsigned head;   /* the next slot to write, which holds the oldest time */
        bool half_open;  /* the current start is the one attempt after retry-after */
} Circuit;

/* Size the ring for give_up_count restarts; a new size starts empty.  -ENOMEM on failure. */
int circuit_configure(Circuit *c, unsigned give_up_count);
void circuit_done(Circuit *c);
/* An automatic restart happened at now. */
void circuit_record(Circuit *c, usec_t now);
/* Would another restart at now be the one too many?  Always in the half-open attempt. */
bool circuit_gives_up(const Circuit *c, usec_t now, usec_t within);
/* Forget every restart and close the circuit (an admin start, or a half-open start went well). */
void circuit_reset(Circuit *c);

typedef enum CircuitStep {
        CIRCUIT_STAYS,
        CIRCUIT_HALF_OPEN, /* retry-after elapsed in FATAL: this start is the one attempt */
        CIRCUIT_CLOSES,    /* the half-open attempt reached RUNNING */
        _CIRCUIT_STEP_MAX,
} CircuitStep;

/* What a transition from old to next on ev means for the circuit. */
CircuitStep circuit_step(const Circuit *c, InstanceState old, InstanceState next, FsmEvent ev);
