/*
 * Alert escalation (see escalate.h).  Invariants: level is SEV_NONE exactly when no alert is
 * firing; last_match >= started_at while firing; one call returns at most one notice, and a
 * rise always wins over a repeat that happens to be due at the same time.
 */
#include <string.h>

#include "escalate.h"

static const char *const names[_SEV_MAX] = {
        [SEV_NONE] = "none",
        [SEV_WARNING] = "warning",
        [SEV_CRITICAL] = "critical",
        [SEV_FATAL] = "fatal",
};

const char *severity_to_string(Severity s) {
        return s >= 0 && s < _SEV_MAX ? names[s] : "unknown";
}

Severity severity_from_string(const char *s) {
        for (int i = 0; i < _SEV_MAX; i++)
                if (strcmp(s, names[i]) == 0)
                        return (Severity) i;
        return _SEV_INVALID;
}

EscNotice esc_step(EscState *st, const EscPolicy *p, Severity matched, usec_t now) {
        if (matched > SEV_NONE)
                st->last_match = now;
        if (matched > st->level) {
                if (st->level == SEV_NONE)
                        st->started_at = now;
                st->level = matched;
                st->last_notice = now;
                return ESC_FIRING;
        }
        if (st->level == SEV_NONE)
                return ESC_NOTHING;
        if (matched == SEV_NONE && now - st->last_match >= p->resolve_after) {
                *st = (EscState) { .level = SEV_NONE };
                return ESC_RESOLVED;
        }
        if (p->repeat > 0 && now - st->last_notice >= p->repeat) {
                st->last_notice = now;
                return ESC_REPEAT;
        }
        return ESC_NOTHING;
}

usec_t esc_next_check(const EscState *st, const EscPolicy *p) {
        usec_t next;

        if (st->level == SEV_NONE)
                return USEC_INFINITY;
        next = st->last_match + p->resolve_after;
        if (p->repeat > 0 && st->last_notice + p->repeat < next)
                next = st->last_notice + p->repeat;
        return next;
}
