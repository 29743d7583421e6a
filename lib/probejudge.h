/*
 * The thresholds of a health probe as a pure function: one classified answer in, what it means
 * out.  Bad answers during start-period are not counted; `failures` counted bad answers in a row
 * make the instance unhealthy (a restart), `successes` good answers in a row clear an unhealthy
 * state; a degraded answer is counted, then judged as the worker's `degraded` policy says.
 * health.c feeds it answers and acts on the verdict; tests drive it directly.
 */
#pragma once

#include <stdbool.h>

#include "classify.h"

typedef struct ProbeRules {
        unsigned failures;         /* counted bad answers in a row before unhealthy */
        unsigned successes;        /* good answers in a row that clear unhealthy */
        HealthClass degraded_as;   /* a degraded answer judged as: HEALTHY, DEGRADED or UNHEALTHY */
} ProbeRules;

typedef struct ProbeTally {
        HealthClass state;         /* after thresholds: what status shows */
        unsigned fails;            /* consecutive counted failures */
        unsigned oks;              /* consecutive good answers */
} ProbeTally;

typedef struct ProbeVerdict {
        HealthClass from, to;      /* the shown state before and after this answer */
        bool degraded;             /* the answer was degraded: count it (before anything else) */
        bool good;                 /* a good answer: a starting instance is ready */
        bool forgiven;             /* a bad answer during start-period: not counted */
        bool failure;              /* a counted bad answer: count it */
        bool timeout;              /* ... and it was a timeout */
        unsigned consecutive;      /* counted bad answers in a row, this one included */
        bool unhealthy;            /* `failures` reached: the instance is to be restarted */
} ProbeVerdict;

/* A new process: nothing known, nothing counted. */
void probe_tally_reset(ProbeTally *t);
/* Judge one answer of class `c`, updating *t. */
ProbeVerdict probe_judge(ProbeTally *t, const ProbeRules *rules, HealthClass c, bool timed_out,
                         bool in_start_period);
