/*
 * The status answer (see statusjson.h).  Every string that comes from outside upkeepd (a reason,
 * a path) goes through utf8_json_string(): answers are valid UTF-8 whatever a worker printed.
 */
#include <jansson.h>

#include "clock.h"
#include "parse.h"
#include "proto.h"
#include "statusjson.h"
#include "utf8.h"

/* A duration since `since`; 0 for a time not yet come (a clock read before `since` was set). */
static double seconds_since(usec_t now, usec_t since) {
        return now > since ? usec_to_seconds_ms(now - since) : 0.0;
}

static json_t *maybe_string(const char *s) {
        return s && s[0] ? utf8_json_string(s) : json_null();
}

static json_t *probe_json(const StatusProbe *p) {
        json_t *last = json_null();

        if (!p)
                return json_null();
        if (p->has_last)
                last = json_pack("{s:f, s:f, s:I, s:s, s:o}", "at_unix_s",
                                 usec_to_seconds_ms(p->last_at),
                                 "latency_ms", (double) p->last_latency / USEC_PER_MSEC,
                                 "http_code", (json_int_t) p->last_code, "class",
                                 health_class_to_string(p->last_class), "reason",
                                 maybe_string(p->last_reason));
        return json_pack("{s:s, s:I, s:I, s:I, s:I, s:o}", "state",
                         health_class_to_string(p->state), "consecutive_failures",
                         (json_int_t) p->consecutive_failures, "probes_sent",
                         (json_int_t) p->sent, "probes_answered", (json_int_t) p->answered,
                         "probes_skipped", (json_int_t) p->skipped, "last", last);
}

static json_t *last_exit_json(const StatusInstance *i) {
        json_t *o;

        if (!i->has_exited)
                return json_null();
        if (i->exit_signal)
                o = json_pack("{s:s}", "signal", SIGNAL_NAME(i->exit_signal));
        else
                o = json_pack("{s:i}", "code", i->exit_code);
        if (i->exit_oom)
                json_object_set_new(o, "oom", json_true());
        /* the crash context, when the last end was a bad one: the last lines of output */
        if (i->last_output && i->last_output[0])
                json_object_set_new(o, "output", utf8_json_string(i->last_output));
        return o;
}

/* Every process of the instance's tree, the main one first. */
static json_t *pids_json(const StatusInstance *i) {
        json_t *l = json_array();

        if (i->pid > 0)
                json_array_append_new(l, json_integer(i->pid));
        for (size_t k = 0; k < i->n_pids; k++)
                if (i->pids[k] != i->pid)
                        json_array_append_new(l, json_integer(i->pids[k]));
        return l;
}

/* {"bytes": N, "cpu_s": x, ...}: only for a worker whose tree is sampled; else null. */
static json_t *memory_json(const StatusInstance *i, usec_t now) {
        bool pss = i->sampled && i->pss_known;

        if (!i->watched)
                return json_null();
        return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o}",
                         "bytes", i->sampled ? json_integer((json_int_t) i->memory_bytes)
                                             : json_null(),
                         /* "pss", or "rss": an RSS under warn and limit proved PSS under too */
                         "measure", !i->sampled        ? json_null()
                                    : i->memory_is_pss ? json_string("pss")
                                                       : json_string("rss"),
                         "pss_bytes", pss ? json_integer((json_int_t) i->pss_bytes) : json_null(),
                         "pss_age_s", pss ? json_real(seconds_since(now, i->pss_at)) : json_null(),
                         "cpu_s", i->sampled ? json_real(i->cpu_s) : json_null(),
                         "cpu_percent", i->sampled ? json_real(i->cpu_percent) : json_null(),
                         "limit_bytes", i->memory_limit
                                                ? json_integer((json_int_t) i->memory_limit)
                                                : json_null(),
                         "warn_bytes", i->memory_warn ? json_integer((json_int_t) i->memory_warn)
                                                      : json_null(),
                         "samples_over", (json_int_t) i->memory_over,
                         "last_action", maybe_string(i->memory_action));
}

/* In BACKOFF, the time left until the next start (0 once it is due); null otherwise. */
static json_t *next_retry_json(const StatusInstance *i, usec_t now) {
        if (i->state != STATE_BACKOFF)
                return json_null();
        return json_real(seconds_since(i->next_retry_at, now));
}

json_t *status_instance_json(const StatusInstance *i, usec_t now) {
        json_t *o = json_pack("{s:s, s:I, s:s, s:f, s:I, s:I}", "name", i->name, "index",
                              (json_int_t) i->index, "state", state_to_string(i->state),
                              "state_since_s", seconds_since(now, i->state_since), "restarts",
                              (json_int_t) i->restarts, "attempt", (json_int_t) i->attempt);

        if (!o) {
                json_decref(i->output);
                return NULL;
        }
        json_object_set_new(o, "pid", i->pid > 0 ? json_integer(i->pid) : json_null());
        json_object_set_new(o, "uptime_s", i->pid > 0 ? json_real(seconds_since(now, i->started_at))
                                                     : json_null());
        json_object_set_new(o, "pids", pids_json(i));
        json_object_set_new(o, "memory", memory_json(i, now));
        json_object_set_new(o, "last_exit", last_exit_json(i));
        json_object_set_new(o, "next_retry_s", next_retry_json(i, now));
        json_object_set_new(o, "reason", maybe_string(i->reason));
        json_object_set_new(o, "notify_status", maybe_string(i->notify_status));
        json_object_set_new(o, "health", probe_json(i->probe));
        json_object_set_new(o, "output", i->output ?: json_null());
        return o;
}

/* {"crash": {"1m": 0, "5m": 2, "15m": 2, "1h": 3, "total": 3}, ...} */
static json_t *events_json(const StatusWorker *w) {
        static const char *const span_names[WIN_N_SPANS] = { "1m", "5m", "15m", "1h" };
        json_t *o = json_object();

        for (int k = 0; o && k < _EVK_MAX; k++) {
                json_t *c = json_object();

                for (int n = 0; c && n < WIN_N_SPANS; n++)
                        json_object_set_new(c, span_names[n],
                                            json_integer((json_int_t) w->events[k][n]));
                json_object_set_new(c, "total", json_integer((json_int_t) w->events_total[k]));
                json_object_set_new(o, event_kind_to_string((EventKind) k), c);
        }
        return o;
}

json_t *status_worker_json(const StatusWorker *w, json_t *instances) {
        return json_pack("{s:s, s:s, s:b, s:b, s:o, s:o}", "name", w->name, "policy", w->policy,
                         "autostart", w->autostart, "required", w->required, "events",
                         events_json(w), "instances", instances);
}

json_t *status_answer_json(const StatusDaemon *d, usec_t now, unsigned not_running,
                           json_t *workers) {
        /* "ok" and "not_running" first: PROTO_STATUS_HEAD */
        json_t *ans = json_pack("{s:b, s:I, s:i, s:{s:s, s:I, s:f, s:o, s:I, s:b}}", "ok", 1,
                                "not_running", (json_int_t) not_running, "version",
                                PROTO_VERSION, "daemon", "version", d->version, "pid",
                                (json_int_t) d->pid, "uptime_s", seconds_since(now, d->started_at),
                                "config", utf8_json_string(d->config ?: ""), "orphans_reaped",
                                (json_int_t) d->orphans_reaped, "shutting_down",
                                d->shutting_down);

        if (!ans) {
                json_decref(workers);
                return NULL;
        }
        json_object_set_new(ans, "workers", workers ?: json_array());
        return ans;
}

bool status_not_running(InstanceState s) {
        return s != STATE_RUNNING;
}

bool status_health_failing(InstanceState s, bool probed, HealthClass probe, bool admin_stopped,
                           bool required_only) {
        bool good = s == STATE_RUNNING &&
                    (!probed || probe == HEALTH_HEALTHY || probe == HEALTH_DEGRADED);

        return !good && !(admin_stopped && !required_only);
}
