/*
 * Alerts (see alerts.h).
 *
 * Evaluation: after every counted event of a worker (and every second while one of its alerts
 * is firing, so that windows draining over time are noticed), its rules are checked against its
 * sliding windows; the highest matching severity goes through esc_step(), which says whether a
 * notification is due.  upkeepd's own log always gets it; every sink whose min-severity is
 * reached gets it queued.
 *
 * Delivery: each sink has a bounded FIFO and at most one delivery in flight.  HTTP sinks go
 * through the shared curl multi, so a stalled endpoint delays nothing else; timeouts, 429 and
 * 5xx are retried with exponential backoff (1 s doubling to 5 min), other 4xx are dropped as
 * permanent failures.  After 5 failures in a row the sink's circuit opens for a minute: nothing
 * is attempted, the queue keeps the newest notifications and drops the oldest, counted.  exec
 * sinks run the command once per notification, in a process group of its own, with a bounded
 * run time (then the group is killed); its output goes to upkeepd's log.  URLs are never printed in full: they may carry tokens (Slack).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alerts.h"
#include "children.h"
#include "curl-dl.h"
#include "http.h"
#include "log.h"
#include "parse.h"
#include "supervisor.h"
#include "utf8.h"
#include "urlredact.h"

#define RETRY_FIRST USEC_PER_SEC
#define RETRY_MAX (5 * USEC_PER_MINUTE)
#define CIRCUIT_FAILURES 5
#define CIRCUIT_OPEN (60 * USEC_PER_SEC)
#define EXEC_OUTPUT_MAX 4096

extern char **environ;

typedef struct Notice {
        struct Notice *next;
        char *body;            /* HTTP sinks */
        char **env;            /* exec sinks: UPKEEP_* assignments */
        char summary[200];
        unsigned attempts;
} Notice;

typedef struct Sink {
        Alerts *alerts;
        const SinkConfig *cfg;
        char *target;          /* redacted URL or the program name, for status */
        Notice *head, *tail;
        unsigned queued;
        uint64_t sent, failed, dropped;
        bool dropping;         /* inside an episode of drops: logged once */
        HttpRequest *req;
        pid_t pid;             /* exec in flight */
        int out_fd;
        sd_event_source *out_source;
        char out[EXEC_OUTPUT_MAX];
        size_t out_len;
        sd_event_source *timer; /* retry, circuit, or exec timeout */
        bool waiting;          /* the timer holds back the next attempt */
        unsigned failures;     /* in a row */
        usec_t open_until;
        usec_t last_success;   /* CLOCK_REALTIME */
        usec_t last_error_at;
        char last_error[160];
} Sink;

struct Alerts {
        Supervisor *sup;
        Sink *sinks;
        size_t n_sinks;
        sd_event_source *resend; /* Alertmanager wants firing alerts re-sent */
        char host[256];
};

static usec_t mono(const Alerts *a) {
        usec_t t = 0;

        (void) sd_event_now(a->sup->event, CLOCK_MONOTONIC, &t);
        return t;
}

static usec_t real_now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

static void rfc3339(char *buf, size_t len, usec_t realtime) {
        time_t t = (time_t) (realtime / USEC_PER_SEC);
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * Parsed by libcurl (which every URL sink loads anyway to deliver); without it, the scheme alone:
 * a guess at where the authority ends is what once printed "https://u:p@host?token=x" whole.
 */
char *redact_url(const char *url) {
        const UrlApi api = {
                .url = curl_fn.url,
                .url_cleanup = curl_fn.url_cleanup,
                .url_set = curl_fn.url_set,
                .url_get = curl_fn.url_get,
                .free = curl_fn.free,
        };

        return url_redact(url, curl_dl_load() >= 0 ? &api : NULL);
}

static void notice_free(Notice *n) {
        if (!n)
                return;
        free(n->body);
        strv_free(n->env);
        free(n);
}

static void sink_pop(Sink *k) {
        Notice *n = k->head;

        k->head = n->next;
        if (!k->head)
                k->tail = NULL;
        k->queued--;
        notice_free(n);
}

static void sink_kick(Sink *k);

static int on_sink_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        Sink *k = userdata;

        (void) src, (void) usec;
        if (k->pid > 0) {
                /* exec run-time limit */
                log_warning("alerts: %s: command still running after %llus, killing it",
                            k->cfg->name, (unsigned long long) (k->cfg->timeout / USEC_PER_SEC));
                (void) kill(-k->pid, SIGKILL); /* its group: what it started goes too */
                return 0;
        }
        k->waiting = false;
        sink_kick(k);
        return 0;
}

static void sink_arm(Sink *k, usec_t delay) {
        (void) sd_event_source_set_time(k->timer, mono(k->alerts) + delay);
        (void) sd_event_source_set_enabled(k->timer, SD_EVENT_ONESHOT);
}

static void delivered(Sink *k) {
        if (k->failures >= CIRCUIT_FAILURES)
                log_notice("alerts: %s: delivering again, circuit closed", k->cfg->name);
        k->sent++;
        k->failures = 0;
        k->last_success = real_now();
        sink_pop(k);
}

/* A failed attempt: keep the notice for a retry, or drop it when retrying cannot help. */
static void failed(Sink *k, bool retry, const char *why) {
        usec_t delay;

        k->last_error_at = real_now();
        snprintf(k->last_error, sizeof k->last_error, "%s", why);
        k->failures++;
        if (!retry || !k->head) {
                log_warning("alerts: %s: delivery failed (%s), dropping the notification",
                            k->cfg->name, why);
                k->failed++;
                if (k->head)
                        sink_pop(k);
                return;
        }
        k->head->attempts++;
        delay = RETRY_FIRST << MIN(k->head->attempts - 1, 16u);
        delay = MIN(delay, RETRY_MAX);
        if (k->failures == CIRCUIT_FAILURES) {
                k->open_until = mono(k->alerts) + CIRCUIT_OPEN;
                delay = MAX(delay, CIRCUIT_OPEN);
                log_warning("alerts: %s: %u failures in a row (%s), circuit open for %llus",
                            k->cfg->name, k->failures, why,
                            (unsigned long long) (CIRCUIT_OPEN / USEC_PER_SEC));
        } else
                log_warning("alerts: %s: delivery failed (%s), retrying in %llus", k->cfg->name,
                            why, (unsigned long long) (delay / USEC_PER_SEC));
        k->waiting = true;
        sink_arm(k, delay);
}

static void on_http_done(const HttpResult *res, void *userdata) {
        Sink *k = userdata;
        char why[160];

        k->req = NULL;
        if (res->curl_code != 0) {
                snprintf(why, sizeof why, "%s", res->error);
                failed(k, true, why);
        } else if (res->http_code >= 200 && res->http_code < 300 &&
                   (k->cfg->type != SINK_SLACK || res->http_code == 200))
                delivered(k);
        else {
                snprintf(why, sizeof why, "HTTP %ld", res->http_code);
                failed(k, res->http_code == 429 || res->http_code >= 500, why);
        }
        sink_kick(k);
}

static void exec_log_output(Sink *k, bool flush) {
        char *nl;

        while ((nl = memchr(k->out, '\n', k->out_len)) || (flush && k->out_len > 0) ||
               k->out_len == sizeof k->out) {
                size_t l = nl ? (size_t) (nl - k->out) : k->out_len;
                log_info("alerts: %s: %.*s", k->cfg->name, (int) l, k->out);
                l = nl ? l + 1 : l;
                memmove(k->out, k->out + l, k->out_len - l);
                k->out_len -= l;
        }
}

static int on_exec_output(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Sink *k = userdata;
        ssize_t n;

        (void) revents;
        n = read(fd, k->out + k->out_len, sizeof k->out - k->out_len);
        if (n > 0) {
                k->out_len += (size_t) n;
                exec_log_output(k, false);
                return 0;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        exec_log_output(k, true);
        k->out_source = sd_event_source_disable_unref(src);
        close(k->out_fd);
        k->out_fd = -1;
        return 0;
}

static void exec_finished(Sink *k, const siginfo_t *si) {
        char why[64];

        if (k->out_source) {
                /* collect what is left in the pipe before closing it */
                (void) on_exec_output(k->out_source, k->out_fd, EPOLLIN, k);
                if (k->out_source) {
                        k->out_source = sd_event_source_disable_unref(k->out_source);
                        close(k->out_fd);
                        k->out_fd = -1;
                }
                exec_log_output(k, true);
        }
        k->pid = 0;
        (void) sd_event_source_set_enabled(k->timer, SD_EVENT_OFF);
        if (si->si_code == CLD_EXITED && si->si_status == 0)
                delivered(k);
        else {
                if (si->si_code == CLD_EXITED)
                        snprintf(why, sizeof why, "command exited with code %d", si->si_status);
                else
                        snprintf(why, sizeof why, "command killed by %s",
                                 SIGNAL_LABEL(si->si_status));
                /* a notifier that failed once will most likely fail again: no retry */
                failed(k, false, why);
        }
        sink_kick(k);
}

static void on_exec_exit(pid_t pid, const siginfo_t *si, void *userdata) {
        (void) pid;
        exec_finished(userdata, si);
}

static int exec_start(Sink *k) {
        _cleanup_strv_free_ char **env = NULL;
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, pipe_sig;
        size_t n = 0;
        int p[2], r;
        pid_t pid;

        for (char **e = environ; e && *e; e++)
                n++;
        env = calloc(n + strv_length(k->head->env) + 1, sizeof(char *));
        if (!env)
                return -ENOMEM;
        n = 0;
        for (char **e = environ; e && *e; e++)
                if (!(env[n++] = strdup(*e)))
                        return -ENOMEM;
        for (char **e = k->head->env; e && *e; e++)
                if (!(env[n++] = strdup(*e)))
                        return -ENOMEM;
        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&fa, p[1], STDERR_FILENO);
        /* in a process group of its own, so that the timeout kills what it started too; with
         * no signal blocked (upkeepd blocks those its loop reads) and SIGPIPE back to default */
        sigemptyset(&none);
        sigemptyset(&pipe_sig);
        sigaddset(&pipe_sig, SIGPIPE);
        posix_spawnattr_init(&attr);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                POSIX_SPAWN_SETSIGDEF);
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &pipe_sig);
        r = posix_spawnp(&pid, k->cfg->argv[0], &fa, &attr, k->cfg->argv, env);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
        close(p[1]);
        if (r != 0) {
                close(p[0]);
                return -r;
        }
        k->pid = pid;
        k->out_fd = p[0];
        k->out_len = 0;
        (void) fcntl(p[0], F_SETFL, O_NONBLOCK);
        if (children_watch(k->alerts->sup->children, pid, 0, on_exec_exit, k) < 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                k->pid = 0;
                close(p[0]);
                k->out_fd = -1;
                return -EIO;
        }
        if (sd_event_add_io(k->alerts->sup->event, &k->out_source, p[0], EPOLLIN, on_exec_output,
                            k) < 0) {
                close(p[0]);
                k->out_fd = -1;
        }
        sink_arm(k, k->cfg->timeout);
        return 0;
}

/* Start the next delivery when nothing is in flight and nothing holds us back. */
static void sink_kick(Sink *k) {
        static const char *const json_headers[] = { "Content-Type: application/json", NULL };
        HttpRequestSpec spec;
        char why[160];
        int r;

        while (k->head && !k->req && k->pid <= 0 && !k->waiting) {
                if (k->cfg->type == SINK_EXEC) {
                        r = exec_start(k);
                        if (r >= 0)
                                return;
                        snprintf(why, sizeof why, "cannot run %s: %s", k->cfg->argv[0],
                                 strerror(-r));
                        failed(k, false, why);
                        continue;
                }
                if (!k->alerts->sup->http) {
                        failed(k, false, "HTTP is not available");
                        continue;
                }
                spec = (HttpRequestSpec) {
                        .url = k->cfg->url,
                        .timeout = k->cfg->timeout,
                        .max_body = 4096,
                        .post_body = k->head->body,
                        .headers = json_headers,
                };
                r = http_start(k->alerts->sup->http, &spec, on_http_done, k, &k->req);
                if (r >= 0)
                        return;
                k->req = NULL;
                failed(k, true, "cannot start the request");
        }
}

/*
 * At most cfg->queue notices, the one in flight included.  When full, the oldest that is not in
 * flight makes room (the newest says what is true now); when the only one queued is in flight,
 * there is nothing older to drop and the new notice is the one dropped.  Each drop is counted
 * once, and only a drop is counted.
 */
static void sink_enqueue(Sink *k, Notice *n) {
        if (k->queued >= k->cfg->queue && k->head) {
                bool in_flight = k->req || k->pid > 0;

                if (!in_flight)
                        sink_pop(k);
                else if (k->head->next) {
                        Notice *victim = k->head->next;

                        k->head->next = victim->next;
                        if (k->tail == victim)
                                k->tail = k->head;
                        notice_free(victim);
                        k->queued--;
                }
                k->dropped++;
                if (!k->dropping)
                        log_warning("alerts: %s: queue full (%u), dropping the oldest "
                                    "notifications", k->cfg->name, k->cfg->queue);
                k->dropping = true;
                if (k->queued >= k->cfg->queue) {
                        notice_free(n);
                        return;
                }
        } else if (k->dropping && k->queued < k->cfg->queue / 2) {
                log_notice("alerts: %s: queue has room again, %llu dropped in all", k->cfg->name,
                           (unsigned long long) k->dropped);
                k->dropping = false;
        }
        n->next = NULL;
        if (k->tail)
                k->tail->next = n;
        else
                k->head = n;
        k->tail = n;
        k->queued++;
        sink_kick(k);
}

typedef struct Event {
        const char *worker, *instance;
        Severity severity;
        bool resolved, repeat, test;
        const char *summary;
        usec_t started_at; /* realtime */
        json_t *counts;    /* borrowed */
} Event;

static json_t *counts_json(Worker *w) {
        json_t *o = json_object();
        usec_t t = mono(w->sup->alerts);

        for (int k = 0; k < _EVK_MAX; k++) {
                json_t *c = json_object();
                for (int n = 0; n < WIN_N_SPANS; n++) {
                        static const char *const span[] = { "1m", "5m", "15m", "1h" };
                        json_object_set_new(c, span[n],
                                            json_integer(worker_events(w, (EventKind) k, t,
                                                                   win_spans[n])));
                }
                json_object_set_new(o, event_kind_to_string((EventKind) k), c);
        }
        return o;
}

static char *body_for(Alerts *a, const Sink *k, const Event *e) {
        char started[32], now[32], ends[32];
        json_t *j = NULL;
        char *s;

        rfc3339(started, sizeof started, e->started_at);
        rfc3339(now, sizeof now, real_now());
        switch (k->cfg->type) {
        case SINK_WEBHOOK:
                j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:b, s:b, s:O}",
                              "version", 1, "status", e->resolved ? "resolved" : "firing",
                              "severity", severity_to_string(e->severity), "worker", e->worker,
                              "instance", e->instance, "host", a->host, "summary",
                              utf8_json_string(e->summary),
                              "started_at", started, "at", now, "repeat", e->repeat, "test",
                              e->test, "counts", e->counts);
                break;
        case SINK_SLACK: {
                char text[512];
                snprintf(text, sizeof text, "%s *[%s]* %s on %s: %s%s",
                         e->resolved ? ":white_check_mark:" : ":rotating_light:",
                         e->resolved ? "RESOLVED" : severity_to_string(e->severity),
                         e->instance, a->host, e->summary, e->test ? " (test)" : "");
                j = json_pack("{s:o}", "text", utf8_json_string(text));
                break;
        }
        case SINK_ALERTMANAGER:
                /* firing: valid for 4 resend periods, so alerts of a dead upkeepd expire */
                rfc3339(ends, sizeof ends,
                        e->resolved ? real_now() : real_now() + 4 * k->cfg->resend);
                j = json_pack("[{s:{s:s, s:s, s:s, s:s, s:s}, s:{s:o, s:s}, s:s, s:s}]", "labels",
                              "alertname", e->test ? "UpkeepTest" : "UpkeepWorkerAlert",
                              "worker", e->worker, "instance", e->instance, "severity",
                              severity_to_string(e->severity), "host", a->host, "annotations",
                              "summary", utf8_json_string(e->summary), "description",
                              e->resolved ? "the worker recovered" : "see upkeepctl status",
                              "startsAt", started, "endsAt", ends);
                break;
        default:
                return NULL;
        }
        if (!j)
                return NULL;
        s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        return s;
}

static char **env_for(const Event *e) {
        char **env = calloc(8 + _EVK_MAX + 1, sizeof(char *));
        size_t n = 0;
        json_t *v;
        const char *key;

        if (!env)
                return NULL;
        if (asprintf(&env[n++], "UPKEEP_WORKER=%s", e->worker) < 0 ||
            asprintf(&env[n++], "UPKEEP_INSTANCE=%s", e->instance) < 0 ||
            asprintf(&env[n++], "UPKEEP_SEVERITY=%s", severity_to_string(e->severity)) < 0 ||
            asprintf(&env[n++], "UPKEEP_STATUS=%s", e->resolved ? "resolved" : "firing") < 0 ||
            asprintf(&env[n++], "UPKEEP_SUMMARY=%s", e->summary) < 0 ||
            asprintf(&env[n++], "UPKEEP_TEST=%d", e->test) < 0) {
                strv_free(env);
                return NULL;
        }
        /* UPKEEP_COUNT_RESTART_5M=3 and the like, for the 5-minute window */
        json_object_foreach(e->counts, key, v) {
                char name[64];
                snprintf(name, sizeof name, "%s", key);
                for (char *c = name; *c; c++)
                        *c = *c == '-' ? '_' : (char) (*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
                if (asprintf(&env[n++], "UPKEEP_COUNT_%s_5M=%lld", name,
                             (long long) json_integer_value(json_object_get(v, "5m"))) < 0) {
                        env[--n] = NULL;
                        break;
                }
        }
        return env;
}

static void dispatch_event(Alerts *a, const Event *e, Severity gate, const char *only) {
        int prio = e->resolved ? LOG_NOTICE
                   : e->severity >= SEV_CRITICAL ? LOG_ERR
                                                 : LOG_WARNING;

        log_msg(prio, e->instance, "alert %s%s%s%s%s: %s", only ? "to " : "", only ? only : "",
                only ? " " : "", e->resolved ? "resolved" : severity_to_string(e->severity),
                e->repeat ? " (still firing)" : "", e->summary);
        for (size_t i = 0; i < a->n_sinks; i++) {
                Sink *k = &a->sinks[i];
                Notice *n;

                if (only ? strcmp(only, k->cfg->name) != 0 : gate < k->cfg->min_severity)
                        continue;
                if (k->cfg->type == SINK_LOG)
                        continue; /* the line above is that sink */
                n = calloc(1, sizeof(Notice));
                if (!n)
                        continue;
                snprintf(n->summary, sizeof n->summary, "%s", e->summary);
                if (k->cfg->type == SINK_EXEC)
                        n->env = env_for(e);
                else
                        n->body = body_for(a, k, e);
                if (!n->env && !n->body) {
                        notice_free(n);
                        continue;
                }
                sink_enqueue(k, n);
        }
}

/*
 * Alertmanager tells alerts apart by their labels, severity included: when the level rises,
 * the alert at the old level is resolved there, so only one stays active.
 */
static void resolve_previous_level(Alerts *a, const Event *rise, Severity before) {
        Event e = *rise;

        e.severity = before;
        e.resolved = true;
        for (size_t i = 0; i < a->n_sinks; i++) {
                Sink *k = &a->sinks[i];
                Notice *n;

                if (k->cfg->type != SINK_ALERTMANAGER || before < k->cfg->min_severity)
                        continue;
                n = calloc(1, sizeof(Notice));
                if (!n)
                        continue;
                n->body = body_for(a, k, &e);
                if (!n->body) {
                        free(n);
                        continue;
                }
                sink_enqueue(k, n);
        }
}

/* The highest severity whose rule matches now, with a description of the strongest match. */
static Severity match_rules(Worker *w, usec_t t, char *summary, size_t len, const char **inst) {
        const AlertConfig *ac = &w->cfg->alerts;
        Severity best = SEV_NONE;
        char buf[32];

        for (size_t r = 0; r < ac->n_rules; r++) {
                const AlertRule *rule = &ac->rules[r];
                unsigned n = 0;

                if (rule->severity <= best)
                        continue;
                if (rule->event == ALERT_EVENT_GAVE_UP) {
                        for (unsigned k = 0; k < w->n_instances; k++)
                                if (w->instances[k].state == STATE_FATAL) {
                                        n++;
                                        *inst = w->instances[k].name;
                                        snprintf(summary, len, "%.150s",
                                                 w->instances[k].reason[0]
                                                         ? w->instances[k].reason
                                                         : "gave up");
                                }
                        if (n >= rule->count)
                                best = rule->severity;
                        continue;
                }
                n = worker_events(w, (EventKind) rule->event, t, rule->within);
                if (n >= rule->count) {
                        best = rule->severity;
                        snprintf(summary, len, "%u %s%s within %s", n,
                                 event_kind_to_string((EventKind) rule->event),
                                 n == 1 ? "" : "s", format_duration(buf, sizeof buf, rule->within));
                }
        }
        return best;
}

static int on_worker_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        Worker *w = userdata;

        (void) src, (void) usec;
        alerts_evaluate(w->sup->alerts, w, NULL);
        return 0;
}

void alerts_evaluate(Alerts *a, Worker *w, const char *instance) {
        const EscPolicy *p = &w->cfg->alerts.policy;
        usec_t t, next;
        char summary[200] = "";
        const char *inst = instance;
        Severity before = w->esc.level, matched;
        EscNotice notice;

        if (!a || w->retiring)
                return;
        t = mono(a);
        if (instance)
                snprintf(w->alert_instance, sizeof w->alert_instance, "%s", instance);
        matched = match_rules(w, t, summary, sizeof summary, &inst);
        if (inst && inst != instance)
                snprintf(w->alert_instance, sizeof w->alert_instance, "%s", inst);
        if (matched > SEV_NONE)
                snprintf(w->alert_summary, sizeof w->alert_summary, "%s", summary);
        notice = esc_step(&w->esc, p, matched, t);
        if (notice == ESC_FIRING && before == SEV_NONE)
                w->alert_started = real_now();
        if (notice != ESC_NOTHING) {
                _cleanup_(json_decrefp) json_t *counts = counts_json(w);
                char resolved[300];
                Event e = {
                        .worker = w->cfg->name,
                        .instance = w->alert_instance[0] ? w->alert_instance : w->cfg->name,
                        .severity = notice == ESC_RESOLVED ? before : w->esc.level,
                        .resolved = notice == ESC_RESOLVED,
                        .repeat = notice == ESC_REPEAT,
                        .summary = w->alert_summary,
                        .started_at = w->alert_started,
                        .counts = counts,
                };
                if (notice == ESC_RESOLVED) {
                        snprintf(resolved, sizeof resolved, "recovered (no alert rule matched "
                                 "for %llus; was: %s)",
                                 (unsigned long long) (p->resolve_after / USEC_PER_SEC),
                                 w->alert_summary);
                        e.summary = resolved;
                }
                if (notice == ESC_FIRING && before > SEV_NONE)
                        resolve_previous_level(a, &e, before);
                dispatch_event(a, &e, e.severity, NULL);
                if (notice == ESC_RESOLVED)
                        w->alert_summary[0] = '\0';
        }
        next = esc_next_check(&w->esc, p);
        if (next == USEC_INFINITY) {
                if (w->alert_timer)
                        (void) sd_event_source_set_enabled(w->alert_timer, SD_EVENT_OFF);
                return;
        }
        /* while firing, look again every second: windows drain without any event */
        next = MIN(next, t + USEC_PER_SEC);
        if (!w->alert_timer &&
            sd_event_add_time(a->sup->event, &w->alert_timer, CLOCK_MONOTONIC, next,
                              50 * USEC_PER_MSEC, on_worker_timer, w) < 0)
                return;
        (void) sd_event_source_set_time(w->alert_timer, next);
        (void) sd_event_source_set_enabled(w->alert_timer, SD_EVENT_ONESHOT);
}

void alerts_forget(Alerts *a, Worker *w) {
        (void) a;
        w->alert_timer = sd_event_source_disable_unref(w->alert_timer);
}

/* Alertmanager forgets an alert that is not re-sent: refresh every firing one. */
static int on_resend(sd_event_source *src, uint64_t usec, void *userdata) {
        Alerts *a = userdata;
        usec_t every = USEC_INFINITY;

        (void) usec;
        for (size_t i = 0; i < a->n_sinks; i++) {
                Sink *k = &a->sinks[i];
                if (k->cfg->type != SINK_ALERTMANAGER)
                        continue;
                every = MIN(every, k->cfg->resend);
                for (size_t w = 0; w < a->sup->n_workers; w++) {
                        Worker *wk = a->sup->workers[w];
                        _cleanup_(json_decrefp) json_t *counts = NULL;
                        Event e;
                        Notice *n;

                        if (wk->esc.level < k->cfg->min_severity)
                                continue;
                        counts = counts_json(wk);
                        e = (Event) {
                                .worker = wk->cfg->name,
                                .instance = wk->alert_instance[0] ? wk->alert_instance
                                                                  : wk->cfg->name,
                                .severity = wk->esc.level,
                                .repeat = true,
                                .summary = wk->alert_summary,
                                .started_at = wk->alert_started,
                                .counts = counts,
                        };
                        n = calloc(1, sizeof(Notice));
                        if (!n)
                                continue;
                        n->body = body_for(a, k, &e);
                        if (!n->body) {
                                free(n);
                                continue;
                        }
                        sink_enqueue(k, n);
                }
        }
        if (every != USEC_INFINITY) {
                (void) sd_event_source_set_time(src, mono(a) + every);
                (void) sd_event_source_set_enabled(src, SD_EVENT_ON);
        }
        return 0;
}

static void sinks_free(Alerts *a) {
        for (size_t i = 0; i < a->n_sinks; i++) {
                Sink *k = &a->sinks[i];
                if (k->req)
                        http_cancel(k->req);
                if (k->pid > 0)
                        /* a notifier still running is left to finish on its own (the orphan
                         * scan collects it) */
                        children_forget(k->alerts->sup->children, k->pid);
                if (k->out_source) {
                        sd_event_source_disable_unref(k->out_source);
                        close(k->out_fd);
                }
                sd_event_source_disable_unref(k->timer);
                while (k->head)
                        sink_pop(k);
                free(k->target);
        }
        free(a->sinks);
        a->sinks = NULL;
        a->n_sinks = 0;
        a->resend = sd_event_source_disable_unref(a->resend);
}

int alerts_reconfigure(Alerts *a) {
        const Config *c = a->sup->config;
        usec_t resend = USEC_INFINITY;

        sinks_free(a);
        a->sinks = calloc(c->n_sinks + 1, sizeof(Sink));
        if (!a->sinks)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_sinks; i++) {
                Sink *k = &a->sinks[i];

                *k = (Sink) { .alerts = a, .cfg = &c->sinks[i], .out_fd = -1 };
                k->target = k->cfg->url ? redact_url(k->cfg->url)
                            : k->cfg->argv ? strdup(k->cfg->argv[0])
                                           : strdup("upkeepd log");
                a->n_sinks++;
                if (!k->target ||
                    sd_event_add_time(a->sup->event, &k->timer, CLOCK_MONOTONIC, USEC_INFINITY,
                                      10 * USEC_PER_MSEC, on_sink_timer, k) < 0)
                        return -ENOMEM;
                (void) sd_event_source_set_enabled(k->timer, SD_EVENT_OFF);
                if (k->cfg->type == SINK_ALERTMANAGER)
                        resend = MIN(resend, k->cfg->resend);
        }
        if (resend != USEC_INFINITY &&
            sd_event_add_time(a->sup->event, &a->resend, CLOCK_MONOTONIC, mono(a) + resend,
                              USEC_PER_SEC, on_resend, a) < 0)
                return -ENOMEM;
        return 0;
}

int alerts_new(Supervisor *s, Alerts **ret) {
        Alerts *a = calloc(1, sizeof(Alerts));
        int r;

        if (!a)
                return -ENOMEM;
        a->sup = s;
        if (gethostname(a->host, sizeof a->host - 1) < 0)
                snprintf(a->host, sizeof a->host, "localhost");
        r = alerts_reconfigure(a);
        if (r < 0) {
                alerts_free(a);
                return r;
        }
        *ret = a;
        return 0;
}

Alerts *alerts_free(Alerts *a) {
        if (!a)
                return NULL;
        sinks_free(a);
        free(a);
        return NULL;
}

json_t *alerts_json(Alerts *a) {
        json_t *active = json_array(), *sinks = json_array();
        usec_t t = mono(a);

        for (size_t w = 0; w < a->sup->n_workers; w++) {
                Worker *wk = a->sup->workers[w];
                if (wk->esc.level == SEV_NONE)
                        continue;
                json_array_append_new(
                        active, json_pack("{s:s, s:s, s:s, s:f, s:o}", "worker", wk->cfg->name,
                                          "instance", wk->alert_instance, "severity",
                                          severity_to_string(wk->esc.level), "firing_s",
                                          (double) (t - wk->esc.started_at) / USEC_PER_SEC,
                                          "summary", utf8_json_string(wk->alert_summary)));
        }
        for (size_t i = 0; i < a->n_sinks; i++) {
                Sink *k = &a->sinks[i];
                const char *state = k->open_until > t ? "open"
                                    : k->waiting      ? "retrying"
                                    : k->req || k->pid > 0 ? "sending"
                                                           : "idle";
                json_array_append_new(
                        sinks,
                        json_pack("{s:s, s:s, s:o, s:s, s:s, s:i, s:I, s:I, s:I, s:o, s:o, s:o}",
                                  "name", k->cfg->name, "type", sink_type_to_string(k->cfg->type),
                                  "target", utf8_json_string(k->target), "min_severity",
                                  severity_to_string(k->cfg->min_severity), "state", state,
                                  "queued", (json_int_t) k->queued, "sent", (json_int_t) k->sent,
                                  "failed", (json_int_t) k->failed, "dropped",
                                  (json_int_t) k->dropped, "last_success_unix_s",
                                  k->last_success ? json_real((double) k->last_success / 1e6)
                                                  : json_null(),
                                  "last_error", k->last_error[0] ? utf8_json_string(k->last_error)
                                                                 : json_null(),
                                  "last_error_unix_s",
                                  k->last_error_at ? json_real((double) k->last_error_at / 1e6)
                                                   : json_null()));
        }
        return json_pack("{s:o, s:o}", "active", active, "sinks", sinks);
}

int alerts_test(Alerts *a, const char *sink) {
        _cleanup_(json_decrefp) json_t *counts = json_object();
        Event e = {
                .worker = "upkeep-test",
                .instance = "upkeep-test",
                .severity = SEV_WARNING,
                .test = true,
                .summary = "test notification from upkeepd",
                .started_at = real_now(),
                .counts = counts,
        };

        for (size_t i = 0; i < a->n_sinks; i++)
                if (strcmp(a->sinks[i].cfg->name, sink) == 0) {
                        dispatch_event(a, &e, SEV_FATAL, sink);
                        return 0;
                }
        return -ENOENT;
}
