/*
 * Sliding-window event counts per worker: how many exits, crashes, health failures, timeouts,
 * restarts and degraded answers happened in the last W, for any W up to one hour.  Memory is
 * fixed: one Window of about 1.5 KB per worker, allocated by the supervisor at the worker's first
 * event (most workers never have one; until then every count is 0); an update is O(1) amortised.
 * Pure: the caller passes the clock.
 *
 * Resolution: one second for windows up to a minute, one minute beyond (a 5m window counts the
 * current minute and the four before it).
 */
#pragma once

#include <stdint.h>

#include "macro.h"

typedef enum EventKind {
        EVK_EXIT,           /* any end of the main process */
        EVK_CRASH,          /* an end the restart policy counts as a failure */
        EVK_HEALTH_FAILURE, /* an unhealthy probe answer (or a failed transfer) */
        EVK_TIMEOUT,        /* a probe that did not answer in time */
        EVK_RESTART,        /* an automatic restart was scheduled */
        EVK_DEGRADED,       /* a degraded probe answer */
        EVK_APP_ERROR,      /* an application error in the worker's output (errors { }) */
        EVK_WAIT_TIMEOUT,   /* WAITING for its dependencies for longer than wait-timeout */
        EVK_MEMORY,         /* the tree's memory stayed over memory-limit for memory-for samples */
        EVK_CPU,            /* the tree's CPU use stayed over cpu-warn for cpu-for */
        _EVK_MAX,
        _EVK_INVALID = -1,
} EventKind;

#define WIN_FINE_SLOTS 60   /* seconds */
#define WIN_COARSE_SLOTS 60 /* minutes */

typedef struct Window {
        uint64_t fine_head;   /* second number of the newest fine slot */
        uint64_t coarse_head; /* minute number of the newest coarse slot */
        uint16_t fine[_EVK_MAX][WIN_FINE_SLOTS];
        uint16_t coarse[_EVK_MAX][WIN_COARSE_SLOTS];
        uint64_t total[_EVK_MAX]; /* since upkeepd started */
} Window;

/* The windows shown by status, in order. */
#define WIN_N_SPANS 4
extern const usec_t win_spans[WIN_N_SPANS];

void win_init(Window *w, usec_t now);
void win_add(Window *w, EventKind k, usec_t now);
/* n events at once (a batch of application errors), in O(1). */
void win_add_n(Window *w, EventKind k, unsigned n, usec_t now);
/* Events of kind k in the last `within` (1 s <= within <= 1 h; longer is clamped to 1 h). */
unsigned win_count(Window *w, EventKind k, usec_t now, usec_t within);

const char *event_kind_to_string(EventKind k);
EventKind event_kind_from_string(const char *s);
