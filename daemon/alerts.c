/*
 * Alerts (see alerts.h): what fires for which worker, and getting each notification out.
 *
 * Evaluation: after every counted event of a worker (and every second while one of its alerts
 * is firing, so that windows draining over time are noticed), its rules are matched against its
 * sliding windows (alert_match()); the highest matching severity goes through esc_step(), which
 * says whether a notification is due.  upkeepd's own log always gets it; every sink whose
 * min-severity is reached gets it queued, encoded by alertpayload.c.  The alert state of a worker
 * (level, timer, summary) is a WorkerAlert record of this part, made at the worker's first match
 * and dropped when the worker goes away (a reload that removes or replaces it).
 *
 * Delivery: each sink has a bounded FIFO and at most one delivery in flight.  HTTP sinks go
 * through the shared curl multi, so a stalled endpoint delays nothing else; timeouts, 429 and
 * 5xx are retried with exponential backoff (1 s doubling to 5 min), other 4xx are dropped as
 * permanent failures.  After 5 failures in a row the sink's circuit opens for a minute: nothing
 * is attempted, the queue keeps the newest notifications and drops the oldest, counted.  exec
 * sinks run the command once per notification, in a process group of its own, with a bounded
 * run time (then the group is killed); its output goes to upkeepd's log.  URLs are never printed
 * in full: they may carry tokens (Slack).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alertpayload.h"
#include "alertqueue.h"
#include "alertrule.h"
#include "alerts.h"
#include "children.h"
#include "clock.h"
#include "curl-dl.h"
#include "http.h"
#include "log.h"
#include "looptime.h"
#include "parse.h"
#include "supervisor.h"
#include "tailring.h"
#include "utf8.h"
#include "urlredact.h"

#define EXEC_OUTPUT_MAX 4096

extern char **environ;

typedef struct Sink {
        Alerts *alerts;
        const SinkConfig *cfg;
        char *target;          /* redacted URL or the program name, for status */
        AlertQueue queue;
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

/* The alert of one worker, from its first matching rule until the worker goes away. */
typedef struct WorkerAlert {
        Alerts *alerts;
        Worker *worker;
        EscState esc;            /* its level */
        sd_event_source *timer;  /* while firing: evaluate again without events */
        usec_t started;          /* CLOCK_REALTIME, when the current alert first fired */
        char instance[80];
        char summary[ALERT_SUMMARY_MAX];
} WorkerAlert;

struct Alerts {
        Supervisor *sup;         /* event loop, child registry, the worker list */
        const Config *config;    /* the sinks' settings point into it */
        Http *http;              /* NULL while no sink or probe needs HTTP */
        Sink *sinks;
        size_t n_sinks;
        WorkerAlert **workers;   /* sorted by worker address */
        size_t n_workers;
        sd_event_source *resend; /* Alertmanager wants firing alerts re-sent */
        char host[256];
};

static usec_t mono(const Alerts *a) {
        return loop_now(sup_event(a->sup));
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
        if (k->failures >= ALERT_CIRCUIT_FAILURES)
                log_notice("alerts: %s: delivering again, circuit closed", k->cfg->name);
        k->sent++;
        k->failures = 0;
        k->last_success = clock_real_usec();
        alert_queue_pop(&k->queue);
}

/* A failed attempt: keep the notice for a retry, or drop it when retrying cannot help. */
static void failed(Sink *k, bool retry, const char *why) {
        usec_t delay;
        bool open;

        k->last_error_at = clock_real_usec();
        snprintf(k->last_error, sizeof k->last_error, "%s", why);
        k->failures++;
        if (!retry || !k->queue.head) {
                log_warning("alerts: %s: delivery failed (%s), dropping the notification",
                            k->cfg->name, why);
                k->failed++;
                alert_queue_pop(&k->queue);
                return;
        }
        delay = alert_retry_delay(++k->queue.head->attempts, k->failures, &open);
        if (open) {
                k->open_until = mono(k->alerts) + ALERT_CIRCUIT_OPEN;
                log_warning("alerts: %s: %u failures in a row (%s), circuit open for %llus",
                            k->cfg->name, k->failures, why,
                            (unsigned long long) (ALERT_CIRCUIT_OPEN / USEC_PER_SEC));
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
        } else {
                AlertVerdict v = alert_http_verdict(res->http_code, k->cfg->type == SINK_SLACK);

                snprintf(why, sizeof why, "HTTP %ld", res->http_code);
                if (v == ALERT_DELIVERED)
                        delivered(k);
                else
                        failed(k, v == ALERT_RETRY, why);
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

/* upkeepd's environment, then the notice's UPKEEP_* assignments; NULL when out of memory. */
static char **exec_environ(char *const *extra) {
        size_t n = strv_length(environ), m = strv_length(extra);
        _cleanup_strv_free_ char **env = calloc(n + m + 1, sizeof(char *));

        if (!env)
                return NULL;
        for (size_t i = 0; i < n + m; i++)
                if (!(env[i] = strdup(i < n ? environ[i] : extra[i - n])))
                        return NULL;
        return TAKE_PTR(env);
}

/*
 * Run the command in a process group of its own, so that the timeout kills what it started too,
 * with no signal blocked (upkeepd blocks those its loop reads) and SIGPIPE back to default; its
 * stdout and stderr go to the pipe p, whose read end p[0] is all that is left open on success.
 */
static int exec_spawn(char *const *argv, char *const *extra, pid_t *ret_pid, int p[static 2]) {
        _cleanup_strv_free_ char **env = exec_environ(extra);
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, pipe_sig;
        int r;

        if (!env)
                return -ENOMEM;
        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&fa, p[1], STDERR_FILENO);
        sigemptyset(&none);
        sigemptyset(&pipe_sig);
        sigaddset(&pipe_sig, SIGPIPE);
        posix_spawnattr_init(&attr);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                POSIX_SPAWN_SETSIGDEF);
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &pipe_sig);
        r = posix_spawnp(ret_pid, argv[0], &fa, &attr, argv, env);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
        close(p[1]);
        if (r != 0) {
                close(p[0]);
                return -r;
        }
        return 0;
}

static int exec_start(Sink *k) {
        int p[2], r;
        pid_t pid;

        r = exec_spawn(k->cfg->argv, k->queue.head->env, &pid, p);
        if (r < 0)
                return r;
        k->pid = pid;
        k->out_fd = p[0];
        k->out_len = 0;
        (void) fcntl(p[0], F_SETFL, O_NONBLOCK);
        if (children_watch(sup_children(k->alerts->sup), pid, 0, on_exec_exit, k) < 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                k->pid = 0;
                close(p[0]);
                k->out_fd = -1;
                return -EIO;
        }
        if (sd_event_add_io(sup_event(k->alerts->sup), &k->out_source, p[0], EPOLLIN, on_exec_output,
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

        while (k->queue.head && !k->req && k->pid <= 0 && !k->waiting) {
                if (k->cfg->type == SINK_EXEC) {
                        r = exec_start(k);
                        if (r >= 0)
                                return;
                        snprintf(why, sizeof why, "cannot run %s: %s", k->cfg->argv[0],
                                 strerror(-r));
                        failed(k, false, why);
                        continue;
                }
                if (!k->alerts->http) {
                        failed(k, false, "HTTP is not available");
                        continue;
                }
                spec = (HttpRequestSpec) {
                        .url = k->cfg->url,
                        .timeout = k->cfg->timeout,
                        .max_body = 4096,
                        .post_body = k->queue.head->body,
                        .headers = json_headers,
                };
                r = http_start(k->alerts->http, &spec, on_http_done, k, &k->req);
                if (r >= 0)
                        return;
                k->req = NULL;
                failed(k, true, "cannot start the request");
        }
}

/* Queue n (taken over) and start it when the sink is idle; drops are counted and told once. */
static void sink_enqueue(Sink *k, AlertNotice *n) {
        bool in_flight = k->req || k->pid > 0;

        if (k->dropping && k->queue.len < k->cfg->queue / 2) {
                log_notice("alerts: %s: queue has room again, %llu dropped in all", k->cfg->name,
                           (unsigned long long) k->dropped);
                k->dropping = false;
        }
        if (alert_queue_push(&k->queue, n, k->cfg->queue, in_flight) > 0) {
                k->dropped++;
                if (!k->dropping)
                        log_warning("alerts: %s: queue full (%u), dropping the oldest "
                                    "notifications", k->cfg->name, k->cfg->queue);
                k->dropping = true;
        }
        sink_kick(k);
}

/* The notice one sink gets for an event: a body for HTTP, an environment for exec. */
static AlertNotice *notice_new(const Sink *k, const AlertEvent *event) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        AlertEvent sunk = *event, *e = &sunk;
        AlertNotice *n;

        /* each sink carries the crash context or not, and as many of its lines as it wants */
        if (!k->cfg->output || !e->output)
                e->output = NULL;
        else
                e->output = tail_last_lines(e->output, k->cfg->output_lines);
        if (!k->cfg->output)
                e->last_error = NULL;

        switch (k->cfg->type) {
        case SINK_WEBHOOK:
                j = alert_webhook_json(e);
                break;
        case SINK_SLACK:
                j = alert_slack_json(e);
                break;
        case SINK_ALERTMANAGER:
                /* firing: valid for 4 resend periods, so alerts of a dead upkeepd expire */
                j = alert_alertmanager_json(e, 4 * k->cfg->resend);
                break;
        case SINK_EXEC:
                break;
        default:
                return NULL;
        }
        n = calloc(1, sizeof(AlertNotice));
        if (!n)
                return NULL;
        if (k->cfg->type == SINK_EXEC)
                n->env = alert_exec_env(e);
        else if (j)
                n->body = json_dumps(j, JSON_COMPACT);
        if (!n->env && !n->body) {
                alert_notice_free(n);
                return NULL;
        }
        return n;
}

static void dispatch_event(Alerts *a, const AlertEvent *e, Severity gate, const char *only) {
        int prio = e->resolved ? LOG_NOTICE
                   : e->severity >= SEV_CRITICAL ? LOG_ERR
                                                 : LOG_WARNING;

        log_msg(prio, e->instance, "alert %s%s%s%s%s: %s", only ? "to " : "", only ? only : "",
                only ? " " : "", e->resolved ? "resolved" : severity_to_string(e->severity),
                e->repeat ? " (still firing)" : "", e->summary);
        for (size_t i = 0; i < a->n_sinks; i++) {
                Sink *k = &a->sinks[i];
                AlertNotice *n;

                if (only ? strcmp(only, k->cfg->name) != 0 : gate < k->cfg->min_severity)
                        continue;
                if (k->cfg->type == SINK_LOG)
                        continue; /* the line above is that sink */
                n = notice_new(k, e);
                if (n)
                        sink_enqueue(k, n);
        }
}

/*
 * Alertmanager tells alerts apart by their labels, severity included: when the level rises,
 * the alert at the old level is resolved there, so only one stays active.
 */
static void resolve_previous_level(Alerts *a, const AlertEvent *rise, Severity before) {
        AlertEvent e = *rise;

        e.severity = before;
        e.resolved = true;
        for (size_t i = 0; i < a->n_sinks; i++) {
                Sink *k = &a->sinks[i];
                AlertNotice *n;

                if (k->cfg->type != SINK_ALERTMANAGER || before < k->cfg->min_severity)
                        continue;
                n = notice_new(k, &e);
                if (n)
                        sink_enqueue(k, n);
        }
}

/* Where w's record is, or would go: the records are sorted by worker address. */
static size_t worker_alert_index(const Alerts *a, const Worker *w) {
        size_t lo = 0, hi = a->n_workers;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if ((uintptr_t) a->workers[mid]->worker < (uintptr_t) w)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

/* w's record; with create, made when missing.  NULL: none (or out of memory). */
static WorkerAlert *worker_alert(Alerts *a, const Worker *w, bool create) {
        size_t lo = worker_alert_index(a, w);
        WorkerAlert *wa, **p;

        if (lo < a->n_workers && a->workers[lo]->worker == w)
                return a->workers[lo];
        if (!create)
                return NULL;
        p = reallocarray(a->workers, a->n_workers + 1, sizeof(WorkerAlert *));
        if (!p)
                return NULL;
        a->workers = p;
        wa = calloc(1, sizeof(WorkerAlert));
        if (!wa)
                return NULL;
        *wa = (WorkerAlert) { .alerts = a, .worker = (Worker *) w };
        memmove(&a->workers[lo + 1], &a->workers[lo], (a->n_workers - lo) * sizeof(WorkerAlert *));
        a->workers[lo] = wa;
        a->n_workers++;
        return wa;
}

static WorkerAlert *worker_alert_free(WorkerAlert *wa) {
        if (wa) {
                sd_event_source_disable_unref(wa->timer);
                free(wa);
        }
        return NULL;
}

/* What the rules are evaluated on: the windows, and which instances gave up. */
static void worker_facts(Worker *w, usec_t now, AlertFacts *ret) {
        *ret = (AlertFacts) { .window = worker_window(w), .now = now };
        for (unsigned k = 0; k < worker_n_instances(w); k++) {
                InstanceView i;

                sup_instance_view(worker_instance(w, k), &i);
                if (i.state != STATE_FATAL)
                        continue;
                ret->gave_up++;
                ret->gave_up_instance = i.name;
                ret->gave_up_reason = i.reason;
        }
}

/* The crash context of the alert's instance (or, for the worker, of the first that has one);
 * with last_error, its last application error line instead. */
static const char *worker_output(const WorkerAlert *wa, bool last_error) {
        const char *any = NULL;

        for (unsigned k = 0; k < worker_n_instances(wa->worker); k++) {
                InstanceView i;
                const char *s;

                sup_instance_view(worker_instance(wa->worker, k), &i);
                s = last_error ? output_last_error(i.log_output, NULL) : i.last_output;
                if (s && strcmp(i.name, wa->instance) == 0)
                        return s;
                any = any ?: s;
        }
        return any;
}

/* The event of a worker's current alert, at its current level. */
static AlertEvent worker_event(const WorkerAlert *wa, const AlertCounts *counts) {
        const WorkerConfig *cfg = worker_config(wa->worker);

        return (AlertEvent) {
                .worker = cfg->name,
                .instance = wa->instance[0] ? wa->instance : cfg->name,
                .host = wa->alerts->host,
                .severity = wa->esc.level,
                .summary = wa->summary,
                .started_at = wa->started,
                .at = clock_real_usec(),
                .counts = counts,
                .output = worker_output(wa, false),
                .last_error = worker_output(wa, true),
        };
}

static void worker_notify(WorkerAlert *wa, EscNotice notice, Severity before) {
        const EscPolicy *p = &worker_config(wa->worker)->alerts.policy;
        AlertCounts counts;
        AlertEvent e;
        char resolved[300];

        alert_counts(worker_window(wa->worker), mono(wa->alerts), &counts);
        e = worker_event(wa, &counts);
        e.repeat = notice == ESC_REPEAT;
        if (notice == ESC_RESOLVED) {
                e.severity = before;
                e.resolved = true;
                snprintf(resolved, sizeof resolved,
                         "recovered (no alert rule matched for %llus; was: %s)",
                         (unsigned long long) (p->resolve_after / USEC_PER_SEC), wa->summary);
                e.summary = resolved;
                e.output = e.last_error = NULL; /* the recovery needs no crash context */
        }
        if (notice == ESC_FIRING && before > SEV_NONE)
                resolve_previous_level(wa->alerts, &e, before);
        dispatch_event(wa->alerts, &e, e.severity, NULL);
        if (notice == ESC_RESOLVED)
                wa->summary[0] = '\0';
}

static void alerts_evaluate(Alerts *a, Worker *w, const char *instance);

static int on_worker_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        WorkerAlert *wa = userdata;

        (void) src, (void) usec;
        alerts_evaluate(wa->alerts, wa->worker, NULL);
        return 0;
}

/* While firing, look again every second: windows drain without any event. */
static void worker_schedule(WorkerAlert *wa, usec_t now) {
        usec_t next = esc_next_check(&wa->esc, &worker_config(wa->worker)->alerts.policy);

        if (next == USEC_INFINITY) {
                if (wa->timer)
                        (void) sd_event_source_set_enabled(wa->timer, SD_EVENT_OFF);
                return;
        }
        next = MIN(next, now + USEC_PER_SEC);
        if (!wa->timer &&
            sd_event_add_time(sup_event(wa->alerts->sup), &wa->timer, CLOCK_MONOTONIC, next,
                              50 * USEC_PER_MSEC, on_worker_timer, wa) < 0)
                return;
        (void) sd_event_source_set_time(wa->timer, next);
        (void) sd_event_source_set_enabled(wa->timer, SD_EVENT_ONESHOT);
}

/* Something was counted for this worker, or its state changed: evaluate its rules now. */
static void alerts_evaluate(Alerts *a, Worker *w, const char *instance) {
        const AlertConfig *ac;
        WorkerAlert *wa;
        AlertFacts f;
        AlertMatch m;
        EscNotice notice;
        Severity before;

        if (worker_is_retiring(w))
                return;
        ac = &worker_config(w)->alerts;
        worker_facts(w, mono(a), &f);
        alert_match(ac->rules, ac->n_rules, &f, &m);
        /* a worker gets a record at its first match: until then there is nothing to remember */
        wa = worker_alert(a, w, m.severity > SEV_NONE);
        if (!wa)
                return;
        if (m.instance || instance)
                snprintf(wa->instance, sizeof wa->instance, "%s", m.instance ?: instance);
        if (m.severity > SEV_NONE)
                snprintf(wa->summary, sizeof wa->summary, "%s", m.summary);
        before = wa->esc.level;
        notice = esc_step(&wa->esc, &ac->policy, m.severity, f.now);
        if (notice == ESC_FIRING && before == SEV_NONE)
                wa->started = clock_real_usec();
        if (notice != ESC_NOTHING)
                worker_notify(wa, notice, before);
        worker_schedule(wa, f.now);
}

/* A worker is going away: drop its record and stop its timer. */
static void alerts_forget(Alerts *a, Worker *w) {
        size_t i = worker_alert_index(a, w);

        if (i == a->n_workers || a->workers[i]->worker != w)
                return;
        worker_alert_free(a->workers[i]);
        memmove(&a->workers[i], &a->workers[i + 1], (a->n_workers - i - 1) * sizeof(WorkerAlert *));
        a->n_workers--;
}

/* Alertmanager forgets an alert that is not re-sent: refresh every firing one. */
static int on_resend(sd_event_source *src, uint64_t usec, void *userdata) {
        Alerts *a = userdata;
        usec_t every = USEC_INFINITY;
        size_t n_workers;
        Worker *const *workers = sup_workers(a->sup, &n_workers);

        (void) usec;
        for (size_t i = 0; i < a->n_sinks; i++) {
                Sink *k = &a->sinks[i];

                if (k->cfg->type != SINK_ALERTMANAGER)
                        continue;
                every = MIN(every, k->cfg->resend);
                for (size_t w = 0; w < n_workers; w++) {
                        WorkerAlert *wa = worker_alert(a, workers[w], false);
                        AlertCounts counts;
                        AlertEvent e;
                        AlertNotice *n;

                        if (!wa || wa->esc.level < k->cfg->min_severity)
                                continue;
                        alert_counts(worker_window(wa->worker), mono(a), &counts);
                        e = worker_event(wa, &counts);
                        e.repeat = true;
                        n = notice_new(k, &e);
                        if (n)
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
                        children_forget(sup_children(k->alerts->sup), k->pid);
                if (k->out_source) {
                        sd_event_source_disable_unref(k->out_source);
                        close(k->out_fd);
                }
                sd_event_source_disable_unref(k->timer);
                alert_queue_clear(&k->queue);
                free(k->target);
        }
        free(a->sinks);
        a->sinks = NULL;
        a->n_sinks = 0;
        a->resend = sd_event_source_disable_unref(a->resend);
}

/* The configuration was replaced: rebuild the sinks (queued notifications are dropped). */
static int alerts_reconfigure(Alerts *a) {
        const Config *c = a->config;
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
                    sd_event_add_time(sup_event(a->sup), &k->timer, CLOCK_MONOTONIC, USEC_INFINITY,
                                      10 * USEC_PER_MSEC, on_sink_timer, k) < 0)
                        return -ENOMEM;
                (void) sd_event_source_set_enabled(k->timer, SD_EVENT_OFF);
                if (k->cfg->type == SINK_ALERTMANAGER)
                        resend = MIN(resend, k->cfg->resend);
        }
        if (resend != USEC_INFINITY &&
            sd_event_add_time(sup_event(a->sup), &a->resend, CLOCK_MONOTONIC, mono(a) + resend,
                              USEC_PER_SEC, on_resend, a) < 0)
                return -ENOMEM;
        return 0;
}

static void on_event_counted(void *userdata, Worker *w, const Instance *i, EventKind k) {
        (void) k;
        alerts_evaluate(userdata, w, sup_instance_name(i));
}

static void on_circuit_opened(void *userdata, Worker *w, const Instance *i) {
        alerts_evaluate(userdata, w, sup_instance_name(i));
}

static void on_worker_removed(void *userdata, Worker *w) {
        alerts_forget(userdata, w);
}

static void on_config_applied(void *userdata, const Config *c, Http *http) {
        Alerts *a = userdata;

        a->config = c;
        a->http = http;
        if (alerts_reconfigure(a) < 0)
                log_error("out of memory setting up the alert sinks");
}

static const SupObserver alerts_observer = {
        .event_counted = on_event_counted,
        .circuit_opened = on_circuit_opened,
        .worker_removed = on_worker_removed,
        .config_applied = on_config_applied,
};

int alerts_new(Supervisor *s, const Config *c, Http *http, Alerts **ret) {
        Alerts *a = calloc(1, sizeof(Alerts));
        int r;

        if (!a)
                return -ENOMEM;
        *a = (Alerts) { .sup = s, .config = c, .http = http };
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

int alerts_observe(Alerts *a) {
        return sup_observe(a->sup, &alerts_observer, a);
}

Alerts *alerts_free(Alerts *a) {
        if (!a)
                return NULL;
        sinks_free(a);
        for (size_t i = 0; i < a->n_workers; i++)
                worker_alert_free(a->workers[i]);
        free(a->workers);
        free(a);
        return NULL;
}

static json_t *active_json(Alerts *a, usec_t now) {
        json_t *active = json_array();
        size_t n_workers;
        Worker *const *workers = sup_workers(a->sup, &n_workers);

        /* in configuration order, not the records' */
        for (size_t w = 0; w < n_workers; w++) {
                WorkerAlert *wa = worker_alert(a, workers[w], false);

                if (!wa || wa->esc.level == SEV_NONE)
                        continue;
                json_array_append_new(
                        active,
                        json_pack("{s:s, s:s, s:s, s:f, s:o}", "worker", worker_config(wa->worker)->name,
                                  "instance", wa->instance, "severity",
                                  severity_to_string(wa->esc.level), "firing_s",
                                  usec_to_seconds_ms(now - wa->esc.started_at), "summary",
                                  utf8_json_string(wa->summary)));
        }
        return active;
}

static json_t *unix_s_or_null(usec_t realtime) {
        return realtime ? json_real(usec_to_seconds_ms(realtime)) : json_null();
}

static json_t *sink_json(const Sink *k, usec_t now) {
        const char *state = k->open_until > now       ? "open"
                            : k->waiting               ? "retrying"
                            : k->req || k->pid > 0     ? "sending"
                                                       : "idle";

        return json_pack("{s:s, s:s, s:o, s:s, s:s, s:i, s:I, s:I, s:I, s:o, s:o, s:o}", "name",
                         k->cfg->name, "type", sink_type_to_string(k->cfg->type), "target",
                         utf8_json_string(k->target), "min_severity",
                         severity_to_string(k->cfg->min_severity), "state", state, "queued",
                         (json_int_t) k->queue.len, "sent", (json_int_t) k->sent, "failed",
                         (json_int_t) k->failed, "dropped", (json_int_t) k->dropped,
                         "last_success_unix_s", unix_s_or_null(k->last_success), "last_error",
                         k->last_error[0] ? utf8_json_string(k->last_error) : json_null(),
                         "last_error_unix_s", unix_s_or_null(k->last_error_at));
}

json_t *alerts_json(Alerts *a) {
        json_t *sinks = json_array();
        usec_t now = mono(a);

        for (size_t i = 0; i < a->n_sinks; i++)
                json_array_append_new(sinks, sink_json(&a->sinks[i], now));
        return json_pack("{s:o, s:o}", "active", active_json(a, now), "sinks", sinks);
}

int alerts_test(Alerts *a, const char *sink) {
        AlertEvent e = {
                .worker = "upkeep-test",
                .instance = "upkeep-test",
                .host = a->host,
                .severity = SEV_WARNING,
                .test = true,
                .summary = "test notification from upkeepd",
                .started_at = clock_real_usec(),
                .at = clock_real_usec(),
        };

        for (size_t i = 0; i < a->n_sinks; i++)
                if (strcmp(a->sinks[i].cfg->name, sink) == 0) {
                        dispatch_event(a, &e, SEV_FATAL, sink);
                        return 0;
                }
        return -ENOENT;
}

void alerts_raise(Alerts *a, const char *worker, const char *instance, Severity sev,
                  bool resolved, const char *summary) {
        AlertEvent e = {
                .worker = worker,
                .instance = instance,
                .host = a->host,
                .severity = sev,
                .resolved = resolved,
                .summary = summary,
                .started_at = clock_real_usec(),
                .at = clock_real_usec(),
        };

        dispatch_event(a, &e, sev, NULL);
}
