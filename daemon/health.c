/*
 * Health probes (see health.h).
 *
 * Schedule: while an instance is starting it is probed every min(start-interval, interval), so
 * a fast backend is RUNNING soon after it answers; then every interval.  Probes run at a fixed
 * rate from the schedule, not from the previous answer, so a slow answer does not stretch the
 * period; a probe still in flight when the next one is due makes that one skipped, never two at
 * once for one instance.  Every probe runs on the shared curl multi, so a hung endpoint delays
 * nothing but its own instance.
 *
 * Thresholds are probejudge.c's; this part logs what they decide and reports it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "health.h"
#include "http.h"
#include "log.h"
#include "looptime.h"
#include "parse.h"

static usec_t period(const Probe *p) {
        const HealthConfig *h = p->spec.health;

        if (p->spec.starting(p->spec.userdata))
                return MIN(h->start_interval, h->interval);
        return h->interval;
}

static void log_change(const Probe *p, HealthClass from, HealthClass to) {
        const char *reason = to != HEALTH_HEALTHY && p->last_reason[0] ? p->last_reason : NULL;

        log_fields(to == HEALTH_HEALTHY ? LOG_INFO : LOG_WARNING, p->spec.name, "health-change",
                   LOG_KV(LF_S("from", health_class_to_string(from)),
                          LF_S("to", health_class_to_string(to)),
                          LF_S("reason", reason),
                          LF_I_IF(p->has_last, "http_code", p->last_code),
                          LF_D_IF(p->has_last, "latency_ms",
                                  (double) p->last_latency / USEC_PER_MSEC)),
                   "health: %s -> %s%s%s%s", health_class_to_string(from),
                   health_class_to_string(to), reason ? " (" : "", reason ?: "",
                   reason ? ")" : "");
}

static void log_failure(const Probe *p, unsigned consecutive) {
        unsigned failures = p->spec.health->failures;

        log_fields(LOG_NOTICE, p->spec.name, "health-failure",
                   LOG_KV(LF_I("consecutive", consecutive), LF_I("failures", failures),
                          LF_S("reason", p->last_reason),
                          LF_I_IF(p->has_last, "http_code", p->last_code),
                          LF_D_IF(p->has_last, "latency_ms",
                                  (double) p->last_latency / USEC_PER_MSEC)),
                   "health: unhealthy answer %u of %u: %s", consecutive, failures,
                   p->last_reason);
}

static HealthClass degraded_as(DegradedPolicy d) {
        return d == DEGRADED_IGNORE ? HEALTH_HEALTHY
               : d == DEGRADED_RESTART ? HEALTH_UNHEALTHY
                                       : HEALTH_DEGRADED;
}

/*
 * One answer (or failure) in: judge it, then log and report in the order the supervisor always
 * saw them: the degraded count, the failure counts, the change of state, ready or restart.
 */
static void on_result(Probe *p, HealthClass c, bool timed_out) {
        const HealthConfig *h = p->spec.health;
        ProbeRules rules = {
                .failures = h->failures,
                .successes = h->successes,
                .degraded_as = degraded_as(h->degraded),
        };
        ProbeTally t = { .state = p->state, .fails = p->fails, .oks = p->oks };
        ProbeVerdict v = probe_judge(&t, &rules, c, timed_out,
                                     loop_now(p->spec.event) - p->started_at < h->start_period);

        p->state = t.state;
        p->fails = t.fails;
        p->oks = t.oks;
        if (v.degraded)
                p->spec.count(p->spec.userdata, EVK_DEGRADED);
        if (v.failure)
                p->spec.count(p->spec.userdata, EVK_HEALTH_FAILURE);
        if (v.timeout)
                p->spec.count(p->spec.userdata, EVK_TIMEOUT);
        if (v.forgiven)
                log_msg(LOG_DEBUG, p->spec.name, "health: %s during start-period, not counted",
                        p->last_reason);
        if (v.failure)
                log_failure(p, v.consecutive);
        if (v.from != v.to)
                log_change(p, v.from, v.to);
        p->spec.report(p->spec.userdata, &v);
}

static void on_answer(const HttpResult *res, void *userdata) {
        Probe *p = userdata;
        char reason[HEALTH_REASON_MAX];
        HealthClass c;

        p->answered++;
        p->has_last = true;
        p->last_at = clock_real_usec();
        p->last_latency = res->elapsed;
        metric_histogram_observe(p->latency, (double) res->elapsed / USEC_PER_SEC);
        p->last_code = res->http_code;

        if (res->curl_code != 0) {
                c = HEALTH_UNHEALTHY;
                snprintf(p->last_reason, sizeof p->last_reason, "%s",
                         res->timed_out ? "timeout" : res->error);
        } else {
                c = health_classify(&p->spec.health->words, res->http_code, res->body,
                                    res->body_len, res->truncated, reason);
                if (reason[0])
                        snprintf(p->last_reason, sizeof p->last_reason, "HTTP %ld: %s",
                                 res->http_code, reason);
                else
                        p->last_reason[0] = '\0';
        }
        p->last_class = c;
        on_result(p, c, res->timed_out);
}

static void send_probe(Probe *p) {
        const HealthConfig *h = p->spec.health;
        HttpRequestSpec spec = {
                .url = p->url,
                .unix_path = p->unix_path,
                .timeout = h->timeout,
                .max_body = h->max_body,
        };
        int r;

        if (http_request_busy(p->req)) {
                p->skipped++;
                return;
        }
        if (!p->req) {
                r = http_request_new(p->spec.http, &spec, &p->req);
                if (r >= 0)
                        http_request_set_persistent(p->req);
        } else
                r = 0;
        if (r >= 0)
                r = http_request_send(p->req, on_answer, p);
        if (r < 0) {
                log_event(LOG_WARNING, p->spec.name, "probe-error", "health: cannot start a probe: "
                          "%s, retrying at the next interval", strerror(-r));
                return;
        }
        p->sent++;
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        Probe *p = userdata;

        (void) usec;
        /* fixed rate: the next probe is due one period after this one was due */
        p->next_at += period(p);
        if (p->next_at <= loop_now(p->spec.event))
                p->next_at = loop_now(p->spec.event) + period(p);
        (void) sd_event_source_set_time(src, p->next_at);
        (void) sd_event_source_set_enabled(src, SD_EVENT_ON);
        send_probe(p);
        return 0;
}

int probe_init(Probe *p, const ProbeSpec *spec) {
        _cleanup_free_ char *expanded = NULL;
        int r;

        *p = (Probe) { .spec = *spec, .state = HEALTH_UNKNOWN };
        if (!spec->health->url)
                return 0;
        p->latency = calloc(1, sizeof(MetricHistogram));
        if (!p->latency)
                return -ENOMEM;
        expanded = expand_instance(spec->health->url, spec->index);
        if (!expanded)
                return -ENOMEM;
        if (strncmp(expanded, "unix:", 5) == 0) {
                r = http_parse_unix_url(expanded, &p->unix_path, &p->url);
                if (r < 0)
                        return r;
        } else
                p->url = TAKE_PTR(expanded);
        return 0;
}

void probe_done(Probe *p) {
        probe_end(p);
        p->req = http_request_free(p->req);
        p->timer = sd_event_source_disable_unref(p->timer);
        free(p->url);
        free(p->unix_path);
        p->url = p->unix_path = NULL;
        free(p->latency);
        p->latency = NULL;
}

void probe_begin(Probe *p, usec_t started_at) {
        int r;

        if (!p->url)
                return;
        probe_end(p);
        p->fails = p->oks = 0;
        p->state = HEALTH_UNKNOWN;
        p->started_at = started_at;
        p->next_at = loop_now(p->spec.event) + period(p);
        if (!p->timer) {
                /* probes may be late by up to 1/20 of their interval (50 ms at most) so that
                 * sd-event wakes up once for many of them; the fixed-rate schedule keeps the
                 * period itself exact */
                r = sd_event_add_time(p->spec.event, &p->timer, CLOCK_MONOTONIC, p->next_at,
                                      MIN(p->spec.health->interval / 20, 50 * USEC_PER_MSEC),
                                      on_timer, p);
                if (r < 0) {
                        log_msg(LOG_ERR, p->spec.name,
                                "health: cannot create the probe timer: %s", strerror(-r));
                        return;
                }
                (void) sd_event_source_set_description(p->timer, "probe");
        } else
                (void) sd_event_source_set_time(p->timer, p->next_at);
        (void) sd_event_source_set_enabled(p->timer, SD_EVENT_ON);
}

void probe_end(Probe *p) {
        http_request_abort(p->req);
        if (p->timer)
                (void) sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
}
