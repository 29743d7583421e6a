/*
 * Probe thresholds (see probejudge.h).
 */
#include "probejudge.h"

void probe_tally_reset(ProbeTally *t) {
        *t = (ProbeTally) { .state = HEALTH_UNKNOWN };
}

ProbeVerdict probe_judge(ProbeTally *t, const ProbeRules *rules, HealthClass c, bool timed_out,
                         bool in_start_period) {
        ProbeVerdict v = { .from = t->state, .to = t->state };

        if (c == HEALTH_DEGRADED) {
                v.degraded = true;
                c = rules->degraded_as;
        }

        if (c != HEALTH_UNHEALTHY) {
                t->fails = 0;
                t->oks++;
                /* leaving unhealthy takes `successes` good answers; anything else is at once */
                if (t->state != HEALTH_UNHEALTHY || t->oks >= rules->successes)
                        t->state = c;
                v.to = t->state;
                v.good = true;
                return v;
        }

        t->oks = 0;
        if (in_start_period) {
                v.forgiven = true;
                return v;
        }
        v.failure = true;
        v.timeout = timed_out;
        v.consecutive = ++t->fails;
        if (t->fails >= rules->failures) {
                t->state = HEALTH_UNHEALTHY;
                t->fails = 0;
                v.unhealthy = true;
        }
        v.to = t->state;
        return v;
}
