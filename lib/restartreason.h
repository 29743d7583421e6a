/*
 * Why an instance was restarted, as the restart counters of the metrics name it.  The
 * supervisor counts each restart under one reason; upkeep_worker_restarts_total shows them all.
 */
#pragma once

typedef enum RestartReason {
        RESTART_CRASH,    /* the process ended and the policy restarts it */
        RESTART_HEALTH,   /* the probes' failure threshold was reached */
        RESTART_MEMORY,   /* over its memory limit */
        RESTART_MANUAL,   /* an operator's restart */
        RESTART_RELOAD,   /* a reload changed its process settings */
        RESTART_SCHEDULE, /* a scheduled restart */
        _RESTART_REASON_MAX,
        _RESTART_REASON_INVALID = -1,
} RestartReason;

const char *restart_reason_to_string(RestartReason r);
