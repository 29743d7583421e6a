/*
 * Alert payload encoders (see alertpayload.h).  Every string from outside (summaries carry a
 * worker's exit reason or a probe's answer) goes through utf8_json_string(), so a byte that is
 * not UTF-8 never costs the whole notification.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "alertpayload.h"
#include "strv.h"
#include "tailring.h"
#include "macro.h"
#include "utf8.h"

static const char *const span_names[WIN_N_SPANS] = { "1m", "5m", "15m", "1h" };
#define SPAN_5M 1

void alert_counts(Window *win, usec_t now, AlertCounts *ret) {
        for (int k = 0; k < _EVK_MAX; k++)
                for (int s = 0; s < WIN_N_SPANS; s++)
                        ret->n[k][s] = win ? win_count(win, (EventKind) k, now, win_spans[s]) : 0;
}

void alert_rfc3339(char *buf, size_t len, usec_t realtime) {
        time_t t = (time_t) (realtime / USEC_PER_SEC);
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *counts_json(const AlertCounts *c) {
        json_t *o = json_object();

        for (int k = 0; c && k < _EVK_MAX; k++) {
                json_t *spans = json_object();
                for (int s = 0; s < WIN_N_SPANS; s++)
                        json_object_set_new(spans, span_names[s], json_integer(c->n[k][s]));
                json_object_set_new(o, event_kind_to_string((EventKind) k), spans);
        }
        return o;
}

json_t *alert_webhook_json(const AlertEvent *e) {
        char started[32], at[32];

        alert_rfc3339(started, sizeof started, e->started_at);
        alert_rfc3339(at, sizeof at, e->at);
        return json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:b, s:b, s:o, s:o, s:o}",
                         "version", 1, "status", e->resolved ? "resolved" : "firing", "severity",
                         severity_to_string(e->severity), "worker", e->worker, "instance",
                         e->instance, "host", e->host, "summary", utf8_json_string(e->summary),
                         "started_at", started, "at", at, "repeat", e->repeat, "test", e->test,
                         "counts", counts_json(e->counts), "output",
                         e->output ? utf8_json_string(e->output) : json_null(), "last_error",
                         e->last_error ? utf8_json_string(e->last_error) : json_null());
}

/* The output as a Slack code block: its last lines within the limit, and no "```" inside
 * that would end the block early. */
static size_t slack_code_block(const char *output, char *buf, size_t len) {
        char code[ALERT_SLACK_OUTPUT_MAX + 1];
        size_t n;

        tail_indent(output, "", code, sizeof code);
        for (char *c = code; (c = strstr(c, "```")); c += 3)
                c[1] = '\'';
        n = (size_t) snprintf(buf, len, "\n```\n%s\n```", code);
        return MIN(n, len - 1);
}

json_t *alert_slack_json(const AlertEvent *e) {
        char text[512 + ALERT_SLACK_OUTPUT_MAX + 16];
        int n;

        n = snprintf(text, 512, "%s *[%s]* %s on %s: %s%s",
                     e->resolved ? ":white_check_mark:" : ":rotating_light:",
                     e->resolved ? "RESOLVED" : severity_to_string(e->severity), e->instance,
                     e->host, e->summary, e->test ? " (test)" : "");
        n = MIN(n, 511);
        if (e->last_error && *e->last_error) {
                n += snprintf(text + n, 512 - (size_t) n, "\nlast error: %s", e->last_error);
                n = MIN(n, 511);
        }
        if (e->output && *e->output)
                slack_code_block(e->output, text + n, sizeof text - (size_t) n);
        return json_pack("{s:o}", "text", utf8_json_string(text));
}

json_t *alert_alertmanager_json(const AlertEvent *e, usec_t valid_for) {
        char started[32], ends[32];
        json_t *j;

        alert_rfc3339(started, sizeof started, e->started_at);
        alert_rfc3339(ends, sizeof ends, e->resolved ? e->at : e->at + valid_for);
        j = json_pack("[{s:{s:s, s:s, s:s, s:s, s:s}, s:{s:o, s:s}, s:s, s:s}]", "labels",
                         "alertname", e->test ? "UpkeepTest" : "UpkeepWorkerAlert", "worker",
                         e->worker, "instance", e->instance, "severity",
                         severity_to_string(e->severity), "host", e->host, "annotations",
                         "summary", utf8_json_string(e->summary), "description",
                         e->resolved ? "the worker recovered" : "see upkeepctl status",
                         "startsAt", started, "endsAt", ends);
        if (j && e->output && *e->output)
                json_object_set_new(json_object_get(json_array_get(j, 0), "annotations"),
                                    "output", utf8_json_string(e->output));
        if (j && e->last_error && *e->last_error)
                json_object_set_new(json_object_get(json_array_get(j, 0), "annotations"),
                                    "last_error", utf8_json_string(e->last_error));
        return j;
}

/*
 * asprintf() leaves its result undefined when it fails: each string goes through a local and
 * into env only once it exists, so strv_free() never meets a pointer nobody allocated.
 */
static int env_add(char **env, size_t *n, const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        env[(*n)++] = s;
        return 0;
}

char **alert_exec_env(const AlertEvent *e) {
        _cleanup_strv_free_ char **env = calloc(8 + _EVK_MAX + 1, sizeof(char *));
        size_t n = 0;

        if (!env)
                return NULL;
        if (env_add(env, &n, "UPKEEP_WORKER=%s", e->worker) < 0 ||
            env_add(env, &n, "UPKEEP_INSTANCE=%s", e->instance) < 0 ||
            env_add(env, &n, "UPKEEP_SEVERITY=%s", severity_to_string(e->severity)) < 0 ||
            env_add(env, &n, "UPKEEP_STATUS=%s", e->resolved ? "resolved" : "firing") < 0 ||
            env_add(env, &n, "UPKEEP_SUMMARY=%s", e->summary) < 0 ||
            env_add(env, &n, "UPKEEP_TEST=%d", e->test) < 0)
                return NULL;
        if (e->output && env_add(env, &n, "UPKEEP_OUTPUT=%s", e->output) < 0)
                return NULL;
        if (e->last_error && env_add(env, &n, "UPKEEP_LAST_ERROR=%s", e->last_error) < 0)
                return NULL;
        /* UPKEEP_COUNT_RESTART_5M=3 and the like, for the 5-minute window */
        for (int k = 0; e->counts && k < _EVK_MAX; k++) {
                char name[64];

                snprintf(name, sizeof name, "%s", event_kind_to_string((EventKind) k));
                for (char *c = name; *c; c++)
                        *c = *c == '-' ? '_' : (char) (*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
                if (env_add(env, &n, "UPKEEP_COUNT_%s_5M=%u", name, e->counts->n[k][SPAN_5M]) < 0)
                        return NULL;
        }
        return TAKE_PTR(env);
}
