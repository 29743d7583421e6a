/*
 * Alert rule matching (see alertrule.h).
 */
#include <stdio.h>

#include "alertrule.h"
#include "parse.h"

static unsigned rule_count(const AlertRule *rule, const AlertFacts *f) {
        if (rule->event == ALERT_EVENT_GAVE_UP)
                return f->gave_up;
        return f->window ? win_count(f->window, (EventKind) rule->event, f->now, rule->within) : 0;
}

void alert_match(const AlertRule *rules, size_t n_rules, const AlertFacts *f, AlertMatch *ret) {
        char buf[32];

        *ret = (AlertMatch) { .severity = SEV_NONE };
        for (size_t r = 0; r < n_rules; r++) {
                const AlertRule *rule = &rules[r];
                unsigned n;

                if (rule->severity <= ret->severity)
                        continue;
                n = rule_count(rule, f);
                if (n < rule->count)
                        continue;
                ret->severity = rule->severity;
                if (rule->event == ALERT_EVENT_GAVE_UP) {
                        ret->instance = f->gave_up_instance;
                        snprintf(ret->summary, sizeof ret->summary, "%.150s",
                                 f->gave_up_reason && f->gave_up_reason[0] ? f->gave_up_reason
                                                                           : "gave up");
                } else {
                        ret->instance = NULL;
                        snprintf(ret->summary, sizeof ret->summary, "%u %s%s within %s", n,
                                 event_kind_to_string((EventKind) rule->event), n == 1 ? "" : "s",
                                 format_duration(buf, sizeof buf, rule->within));
                }
        }
}
