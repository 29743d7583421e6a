/*
 * Health probes (see health.h).
 *
 * Schedule: while an instance is STARTING it is probed every min(start-interval, interval), so
 * a fast backend is RUNNING soon after it answers; then every interval.  Probes run at a fixed
 * rate from the schedule, not from the previous answer, so a slow answer does not stretch the
 * period; a probe still in flight when the next one is due makes that one skipped, never two at
 * once for one instance.  Every probe runs on the shared curl multi, so a hung endpoint delays
 * nothing but its own instance.
 *
 * Thresholds: during start-period after a spawn, bad answers are reported but not counted.
 * `failures` consecutive counted bad answers restart the instance through the normal stop and
 * backoff path; `successes` consecutive good answers clear an unhealthy state.  What a degraded
 * answer means is the worker's `degraded` policy.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "health.h"
#include "http.h"
#include "log.h"
#include "parse.h"
#include "supervisor.h"

static usec_t mono(const Instance *i) {
        usec_t t = 0;

        (void) sd_event_now(i->worker->sup->event, CLOCK_MONOTONIC, &t);
        return t;
}

static usec_t period(const Instance *i) {
        const HealthConfig *h = &i->worker->cfg->health;

        if (i->state == STATE_STARTING)
                return MIN(h->start_interval, h->interval);
        return h->interval;
}

static void set_state(Instance *i, HealthClass c) {
        Probe *p = &i->probe;

        if (p->state == c)
                return;
        log_fields(c == HEALTH_HEALTHY ? LOG_INFO : LOG_WARNING, i->name, "health-change",
                   LOG_KV(LF_S("from", health_class_to_string(p->state)),
                          LF_S("to", health_class_to_string(c)),
                          LF_S("reason", c != HEALTH_HEALTHY && p->last_reason[0]
                                                 ? p->last_reason : NULL),
                          LF_I_IF(p->has_last, "http_code", p->last_code),
                          LF_D_IF(p->has_last, "latency_ms",
                                  (double) p->last_latency / USEC_PER_MSEC)),
                   "health: %s -> %s%s%s%s", health_class_to_string(p->state),
                   health_class_to_string(c),
                   c != HEALTH_HEALTHY && p->last_reason[0] ? " (" : "",
                   c != HEALTH_HEALTHY && p->last_reason[0] ? p->last_reason : "",
                   c != HEALTH_HEALTHY && p->last_reason[0] ? ")" : "");
        p->state = c;
}

/* One answer (or failure) in: count it, apply thresholds, tell the state machine. */
static void on_result(Instance *i, HealthClass c, bool timed_out) {
        const HealthConfig *h = &i->worker->cfg->health;
        Probe *p = &i->probe;
        usec_t t = mono(i);
        bool in_start_period = t - i->started_at < h->start_period;

        if (c == HEALTH_DEGRADED) {
                sup_count(i, EVK_DEGRADED);
                if (h->degraded == DEGRADED_IGNORE)
                        c = HEALTH_HEALTHY;
                else if (h->degraded == DEGRADED_RESTART)
                        c = HEALTH_UNHEALTHY;
        }

        if (c != HEALTH_UNHEALTHY) {
                p->fails = 0;
                p->oks++;
                if (p->state != HEALTH_UNHEALTHY || p->oks >= h->successes)
                        set_state(i, c);
                if (i->state == STATE_STARTING)
                        sup_event(i, EV_HEALTHY);
                return;
        }

        p->oks = 0;
        if (in_start_period) {
                log_msg(LOG_DEBUG, i->name, "health: %s during start-period, not counted",
                        p->last_reason);
                return;
        }
        sup_count(i, EVK_HEALTH_FAILURE);
        if (timed_out)
                sup_count(i, EVK_TIMEOUT);
        p->fails++;
        log_fields(LOG_NOTICE, i->name, "health-failure",
                   LOG_KV(LF_I("consecutive", p->fails), LF_I("failures", h->failures),
                          LF_S("reason", p->last_reason),
                          LF_I_IF(p->has_last, "http_code", p->last_code),
                          LF_D_IF(p->has_last, "latency_ms",
                                  (double) p->last_latency / USEC_PER_MSEC)),
                   "health: unhealthy answer %u of %u: %s", p->fails, h->failures,
                   p->last_reason);
        if (p->fails >= h->failures) {
                set_state(i, HEALTH_UNHEALTHY);
                p->fails = 0;
                sup_event(i, EV_UNHEALTHY);
        }
}

static void on_answer(const HttpResult *res, void *userdata) {
        Instance *i = userdata;
        Probe *p = &i->probe;
        struct timespec ts;
        const char *reason = NULL;
        HealthClass c;

        p->answered++;
        clock_gettime(CLOCK_REALTIME, &ts);
        p->has_last = true;
        p->last_at = (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
        p->last_latency = res->elapsed;
        p->last_code = res->http_code;

        if (res->curl_code != 0) {
                c = HEALTH_UNHEALTHY;
                snprintf(p->last_reason, sizeof p->last_reason, "%s",
                         res->timed_out ? "timeout" : res->error);
        } else {
                c = health_classify(res->http_code, res->body, res->body_len, res->truncated,
                                    &reason);
                if (reason)
                        snprintf(p->last_reason, sizeof p->last_reason, "HTTP %ld: %s",
                                 res->http_code, reason);
                else
                        p->last_reason[0] = '\0';
        }
        p->last_class = c;
        on_result(i, c, res->timed_out);
}

static void send_probe(Instance *i) {
        const HealthConfig *h = &i->worker->cfg->health;
        Probe *p = &i->probe;
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
                r = http_request_new(i->worker->sup->http, &spec, &p->req);
                if (r >= 0)
                        http_request_set_persistent(p->req);
        } else
                r = 0;
        if (r >= 0)
                r = http_request_send(p->req, on_answer, i);
        if (r < 0) {
                log_event(LOG_WARNING, i->name, "probe-error", "health: cannot start a probe: "
                          "%s, retrying at the next interval", strerror(-r));
                return;
        }
        p->sent++;
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        Instance *i = userdata;
        Probe *p = &i->probe;

        (void) usec;
        /* fixed rate: the next probe is due one period after this one was due */
        p->next_at += period(i);
        if (p->next_at <= mono(i))
                p->next_at = mono(i) + period(i);
        (void) sd_event_source_set_time(src, p->next_at);
        (void) sd_event_source_set_enabled(src, SD_EVENT_ON);
        send_probe(i);
        return 0;
}

int probe_init(Instance *i) {
        const HealthConfig *h = &i->worker->cfg->health;
        Probe *p = &i->probe;
        _cleanup_free_ char *expanded = NULL;
        int r;

        *p = (Probe) { .state = HEALTH_UNKNOWN };
        if (!h->url)
                return 0;
        expanded = expand_instance(h->url, i->index);
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

void probe_done(Instance *i) {
        probe_end(i);
        i->probe.req = http_request_free(i->probe.req);
        i->probe.timer = sd_event_source_disable_unref(i->probe.timer);
        free(i->probe.url);
        free(i->probe.unix_path);
        i->probe.url = i->probe.unix_path = NULL;
}

void probe_begin(Instance *i) {
        Probe *p = &i->probe;
        int r;

        if (!p->url)
                return;
        probe_end(i);
        p->fails = p->oks = 0;
        p->state = HEALTH_UNKNOWN;
        p->next_at = mono(i) + period(i);
        if (!p->timer) {
                /* probes may be late by up to 1/20 of their interval (50 ms at most) so that
                 * sd-event wakes up once for many of them; the fixed-rate schedule keeps the
                 * period itself exact */
                r = sd_event_add_time(i->worker->sup->event, &p->timer, CLOCK_MONOTONIC,
                                      p->next_at,
                                      MIN(i->worker->cfg->health.interval / 20,
                                          50 * USEC_PER_MSEC),
                                      on_timer, i);
                if (r < 0) {
                        log_msg(LOG_ERR, i->name, "health: cannot create the probe timer: %s",
                                strerror(-r));
                        return;
                }
                (void) sd_event_source_set_description(p->timer, "probe");
        } else
                (void) sd_event_source_set_time(p->timer, p->next_at);
        (void) sd_event_source_set_enabled(p->timer, SD_EVENT_ON);
}

void probe_end(Instance *i) {
        Probe *p = &i->probe;

        http_request_abort(p->req);
        if (p->timer)
                (void) sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
}
