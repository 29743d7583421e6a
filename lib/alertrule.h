/*
 * Alert rule matching, pure: which of a worker's rules hold now, given its event windows and
 * how many of its instances gave up.  The caller gathers those facts and feeds the result to
 * esc_step() (escalate.h); tests drive it with a Window they fill themselves.
 */
#pragma once

#include <stddef.h>

#include "escalate.h"
#include "window.h"

#define ALERT_EVENT_GAVE_UP _EVK_MAX /* a rule on "gave-up": an instance's circuit is open */

typedef struct AlertRule {
        Severity severity;
        int event;           /* an EventKind, or ALERT_EVENT_GAVE_UP */
        unsigned count;
        usec_t within;
} AlertRule;

#define ALERT_SUMMARY_MAX 200

typedef struct AlertFacts {
        Window *window;               /* the worker's counts; NULL: nothing counted yet */
        usec_t now;                   /* CLOCK_MONOTONIC, the windows' clock */
        unsigned gave_up;             /* instances that gave up (FATAL) */
        const char *gave_up_instance; /* the last of them, and why it gave up ("" unknown) */
        const char *gave_up_reason;
} AlertFacts;

typedef struct AlertMatch {
        Severity severity;            /* SEV_NONE: no rule holds */
        const char *instance;         /* the instance the match is about, NULL: any */
        char summary[ALERT_SUMMARY_MAX]; /* of the strongest rule that holds */
} AlertMatch;

/*
 * The highest severity among the rules that hold, described by the first rule of that severity
 * (configuration order).  Rules whose count is not reached leave no trace in *ret.
 */
void alert_match(const AlertRule *rules, size_t n_rules, const AlertFacts *f, AlertMatch *ret);
