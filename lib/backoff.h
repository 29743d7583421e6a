/*
 * Restart delays: exponential backoff with a cap, symmetric jitter and a reset after a stable
 * run.  Pure functions; the randomness is an argument so tests can pin it.
 */
#pragma once

#include "macro.h"

typedef struct BackoffParams {
        usec_t initial;     /* delay before the first restart */
        double factor;      /* growth per further attempt, >= 1 */
        usec_t max_delay;   /* cap, applied after jitter */
        double jitter;      /* fraction in [0, 1]: delay varies by +/- jitter */
        usec_t reset_after; /* running this long sets the attempt counter back to 0; 0: never */
} BackoffParams;

/* Delay before restart number attempt+1 (attempt counts from 0); rnd is uniform in [0, 1). */
usec_t backoff_delay(const BackoffParams *p, unsigned attempt, double rnd);

/* The attempt number to use for a restart after an instance ran for `ran`: a stable run starts
 * the sequence over. */
unsigned backoff_attempt_after_run(const BackoffParams *p, unsigned attempt, usec_t ran);
