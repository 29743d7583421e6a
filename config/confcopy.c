/*
 * The libconfuse tree of a parsed configuration copied into the plain Config (see confcopy.h).
 * Every value was checked during the parse, so only memory can fail here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "confcopy.h"
#include "defaults.h"
#include "parse.h"
#include "strv.h"

static char *strdup_or_null(const char *s, bool *oom) {
        char *d;

        if (!s)
                return NULL;
        d = strdup(s);
        if (!d)
                *oom = true;
        return d;
}

static char **strv_from_list(cfg_t *sec, const char *name, bool *oom) {
        unsigned n = cfg_size(sec, name);
        char **l = calloc(n + 1, sizeof(char *));

        if (!l) {
                *oom = true;
                return NULL;
        }
        for (unsigned i = 0; i < n; i++)
                l[i] = strdup_or_null(cfg_getnstr(sec, name, i), oom);
        return l;
}

/* The ladder used when no alerts section says otherwise (DESIGN.md section 5). */
static const AlertRule default_rules[] = {
        { SEV_WARNING, EVK_RESTART, 2, 10 * USEC_PER_MINUTE },
        { SEV_CRITICAL, EVK_RESTART, 5, 10 * USEC_PER_MINUTE },
        { SEV_CRITICAL, EVK_HEALTH_FAILURE, 20, 5 * USEC_PER_MINUTE },
        { SEV_FATAL, ALERT_EVENT_GAVE_UP, 1, USEC_PER_MINUTE },
        /* only workers with a wait-timeout count these */
        { SEV_WARNING, EVK_WAIT_TIMEOUT, 1, 10 * USEC_PER_MINUTE },
};

static int copy_alerts(cfg_t *sec, AlertConfig *ret) {
        size_t n = sec ? cfg_size(sec, "rule") : ELEMENTSOF(default_rules);

        *ret = (AlertConfig) {
                .policy = {
                        .repeat = sec ? (usec_t) cfg_getint(sec, "repeat") : CFG_ALERT_REPEAT,
                        .resolve_after = sec ? (usec_t) cfg_getint(sec, "resolve-after")
                                             : CFG_ALERT_RESOLVE_AFTER,
                },
        };
        ret->rules = calloc(n + 1, sizeof(AlertRule));
        if (!ret->rules)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (!sec) {
                        ret->rules[i] = default_rules[i];
                        continue;
                }
                cfg_t *r = cfg_getnsec(sec, "rule", (unsigned) i);
                ret->rules[i] = (AlertRule) {
                        .severity = severity_from_string(cfg_title(r)),
                        .event = (int) cfg_getint(r, "event"),
                        .count = (unsigned) cfg_getint(r, "count"),
                        .within = (usec_t) cfg_getint(r, "within"),
                };
        }
        ret->n_rules = n;
        return 0;
}

static int copy_sink(cfg_t *n, SinkConfig *ret) {
        const char *err;
        bool oom = false;

        *ret = (SinkConfig) {
                .name = strdup_or_null(cfg_title(n), &oom),
                .type = (SinkType) cfg_getint(n, "type"),
                .url = strdup_or_null(cfg_getstr(n, "url"), &oom),
                .min_severity = (Severity) cfg_getint(n, "min-severity"),
                .timeout = (usec_t) cfg_getint(n, "timeout"),
                .queue = (unsigned) cfg_getint(n, "queue"),
                .resend = (usec_t) cfg_getint(n, "resend"),
                .output = cfg_getbool(n, "output"),
                .output_lines = (unsigned) cfg_getint(n, "output-lines"),
        };
        if (oom)
                return -ENOMEM;
        if (cfg_getstr(n, "command"))
                return argv_split(cfg_getstr(n, "command"), &ret->argv, &err);
        return 0;
}

/* restart clean-exit, already validated; the default set without it */
static void copy_clean_exits(cfg_t *rs, CleanExits *ret) {
        if (cfg_size(rs, "clean-exit") == 0) {
                clean_exits_default(ret);
                return;
        }
        clean_exits_none(ret);
        for (unsigned i = 0; i < cfg_size(rs, "clean-exit"); i++)
                (void) clean_exits_add(ret, cfg_getnstr(rs, "clean-exit", i));
}

/* status-field and the status-words section, as classify.h reads them */
static int copy_status_words(cfg_t *hs, HealthWords *ret) {
        cfg_t *ws = cfg_size(hs, "status-words") > 0 ? cfg_getsec(hs, "status-words") : NULL;
        bool oom = false;

        ret->field = strdup_or_null(cfg_getstr(hs, "status-field"), &oom);
        if (ws) {
                ret->healthy = strv_from_list(ws, "healthy", &oom);
                ret->degraded = strv_from_list(ws, "degraded", &oom);
                ret->unhealthy = strv_from_list(ws, "unhealthy", &oom);
        }
        return oom ? -ENOMEM : 0;
}

/* `after`, already checked entry by entry (config.c); the names are checked as a graph later. */
static int copy_after(cfg_t *w, WorkerConfig *ret) {
        unsigned n = cfg_size(w, "after");

        ret->after = calloc(n + 1, sizeof(WorkerDep));
        if (!ret->after)
                return -ENOMEM;
        for (unsigned k = 0; k < n; k++) {
                const char *s = cfg_getnstr(w, "after", k), *err;
                DepEntry e;

                if (dep_parse(s, &e, &err) < 0)
                        return -EINVAL;
                ret->after[k] = (WorkerDep) {
                        .name = strndup(s, e.len), .cond = e.cond, .bind = e.bind,
                };
                if (!ret->after[k].name)
                        return -ENOMEM;
                ret->n_after++;
        }
        return 0;
}

static int copy_worker(cfg_t *w, const char *global_log_dir, cfg_t *global_alerts,
                       WorkerConfig *ret) {
        cfg_t *rs = cfg_getsec(w, "restart");
        /* asked only when present: libconfuse reports an absent one as "no such option" */
        cfg_t *hs = cfg_size(w, "health") > 0 ? cfg_getsec(w, "health") : NULL;
        cfg_t *es = cfg_size(w, "errors") > 0 ? cfg_getsec(w, "errors") : NULL;
        cfg_t *ro = cfg_getsec(w, "rolling");
        const char *err;
        bool oom = false;

        *ret = (WorkerConfig) {
                .name = strdup_or_null(cfg_title(w), &oom),
                .command = strdup_or_null(cfg_getstr(w, "command"), &oom),
                .directory = strdup_or_null(cfg_getstr(w, "directory"), &oom),
                .umask = (int) cfg_getint(w, "umask"),
                .user = strdup_or_null(cfg_getstr(w, "user"), &oom),
                .group = strdup_or_null(cfg_getstr(w, "group"), &oom),
                .env_file = strdup_or_null(cfg_getstr(w, "env-file"), &oom),
                .environment = strv_from_list(w, "environment", &oom),
                .instances = (unsigned) cfg_getint(w, "instances"),
                .autostart = cfg_getbool(w, "autostart"),
                .stop_signal = (int) cfg_getint(w, "stop-signal"),
                .stop_timeout = (usec_t) cfg_getint(w, "stop-timeout"),
                .start_secs = (usec_t) cfg_getint(w, "start-secs"),
                .policy = (RestartPolicy) cfg_getint(rs, "policy"),
                .backoff = {
                        .initial = (usec_t) cfg_getint(rs, "backoff"),
                        .factor = cfg_getfloat(rs, "factor"),
                        .max_delay = (usec_t) cfg_getint(rs, "max-delay"),
                        .jitter = cfg_getfloat(rs, "jitter"),
                        .reset_after = (usec_t) cfg_getint(rs, "reset-after"),
                },
                .retry_after = (usec_t) cfg_getint(rs, "retry-after"),
                .required = cfg_getbool(w, "required"),
                .limit_nproc = cfg_getint(w, "limit-nproc"),
                .limit_nofile = cfg_getint(w, "limit-nofile"),
                .memory_limit = (uint64_t) cfg_getint(w, "memory-limit"),
                .memory_warn = (uint64_t) cfg_getint(w, "memory-warn"),
                .memory_interval = (usec_t) cfg_getint(w, "memory-interval"),
                .memory_for = (unsigned) cfg_getint(w, "memory-for"),
                .cpu_warn = cfg_getfloat(w, "cpu-warn"),
                .cpu_for = (usec_t) cfg_getint(w, "cpu-for"),
                .cpu_limit = cfg_getfloat(w, "cpu-limit"),
                .log_dir = strdup_or_null(cfg_getstr(w, "log-dir") ?: global_log_dir, &oom),
                .log_file = strdup_or_null(cfg_getstr(w, "log-file"), &oom),
                .oneshot = cfg_getint(w, "type") == 1,
                .wait_timeout = (usec_t) cfg_getint(w, "wait-timeout"),

                .ready_timeout = (usec_t) cfg_getint(w, "ready-timeout"),
                .watchdog = (usec_t) cfg_getint(w, "watchdog"),
                .restart_every = (usec_t) cfg_getint(w, "restart-every"),
                .reload_signal = (int) cfg_getint(w, "reload-signal"),
                .rolling = {
                        .max_unavailable = (unsigned) cfg_getint(ro, "max-unavailable"),
                        .surge = (unsigned) cfg_getint(ro, "surge"),
                        .ready_timeout = (usec_t) cfg_getint(ro, "ready-timeout"),
                        .on_failure = (RollOnFailure) cfg_getint(ro, "on-failure"),
                },
        };
        if (hs)
                ret->health = (HealthConfig) {
                        .url = strdup_or_null(cfg_getstr(hs, "url"), &oom),
                        .interval = (usec_t) cfg_getint(hs, "interval"),
                        .timeout = (usec_t) cfg_getint(hs, "timeout"),
                        .start_period = (usec_t) cfg_getint(hs, "start-period"),
                        .start_interval = (usec_t) cfg_getint(hs, "start-interval"),
                        .failures = (unsigned) cfg_getint(hs, "failures"),
                        .successes = (unsigned) cfg_getint(hs, "successes"),
                        .degraded = (DegradedPolicy) cfg_getint(hs, "degraded"),
                        .max_body = (uint64_t) cfg_getint(hs, "max-body"),
                };
        if (hs && copy_status_words(hs, &ret->health.words) < 0)
                return -ENOMEM;
        copy_clean_exits(rs, &ret->clean);
        if (es)
                ret->errors = (ErrorsConfig) {
                        .enabled = true,
                        .json_level = cfg_getbool(es, "json-level"),
                        .traceback = cfg_getbool(es, "traceback"),
                        .match = strdup_or_null(cfg_getstr(es, "match"), &oom),
                };
        if (oom)
                return -ENOMEM;
        (void) memory_action_parse(cfg_getstr(w, "memory-action"), &ret->memory_action,
                                   &ret->memory_signal);
        if (cfg_getstr(rs, "give-up"))
                (void) conf_parse_give_up(cfg_getstr(rs, "give-up"), &ret->give_up_count,
                                          &ret->give_up_within);
        if (copy_alerts(cfg_size(w, "alerts") > 0 ? cfg_getsec(w, "alerts") : global_alerts,
                        &ret->alerts) < 0)
                return -ENOMEM;
        if (copy_after(w, ret) < 0)
                return -ENOMEM;
        if (cfg_getstr(w, "ready")) {
                const char *regex;

                /* already checked during the parse */
                (void) worker_ready_parse(cfg_getstr(w, "ready"), &ret->ready, &ret->ready_fd,
                                          &regex);
                if (regex && !(ret->ready_log = strdup(regex)))
                        return -ENOMEM;
        }
        /* already validated during the parse, so only memory can fail here */
        return argv_split(ret->command, &ret->argv, &err);
}

/* The top-level settings: paths, socket, logging. */
static int copy_settings(cfg_t *cfg, const char *path, Config *c) {
        bool oom = false;

        c->path = strdup_or_null(path, &oom);
        c->log_dir = strdup_or_null(cfg_getstr(cfg, "log-dir"), &oom);
        c->socket = strdup_or_null(cfg_getstr(cfg, "socket"), &oom);
        c->ready = (ReadyRule) cfg_getint(cfg, "ready");
        c->socket_mode = (unsigned) cfg_getint(cfg, "socket-mode");
        c->others_read = cfg_getint(cfg, "socket-others") == 1;
        logconf_copy(cfg_getsec(cfg, "log"), &log_config_defaults, &c->log);
        c->log_format = (LogFormat) cfg_getint(cfg, "log-format");
        c->log_level = (int) cfg_getint(cfg, "log-level");
        c->log_file = strdup_or_null(cfg_getstr(cfg, "log-file"), &oom);
        c->socket_group = strdup_or_null(cfg_getstr(cfg, "socket-group"), &oom);
        c->state_file = strdup_or_null(cfg_getstr(cfg, "state-file"), &oom);
        return oom ? -ENOMEM : 0;
}

static int copy_workers(cfg_t *cfg, Config *c) {
        cfg_t *alerts = cfg_size(cfg, "alerts") > 0 ? cfg_getsec(cfg, "alerts") : NULL;
        int r;

        c->workers = calloc(cfg_size(cfg, "worker") + 1, sizeof(WorkerConfig));
        if (!c->workers)
                return -ENOMEM;
        for (unsigned i = 0; i < cfg_size(cfg, "worker"); i++) {
                r = copy_worker(cfg_getnsec(cfg, "worker", i), c->log_dir, alerts,
                                &c->workers[i]);
                c->n_workers++;
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < c->n_workers; i++) {
                cfg_t *w = cfg_getnsec(cfg, "worker", (unsigned) i);

                /* every key the worker's log section leaves out comes from the top level */
                logconf_copy(cfg_size(w, "log") > 0 ? cfg_getsec(w, "log") : NULL, &c->log,
                             &c->workers[i].log);
        }
        return 0;
}

/* metrics { }: nothing is served or written without it */
static int copy_metrics(cfg_t *cfg, Config *c) {
        cfg_t *m = cfg_size(cfg, "metrics") > 0 ? cfg_getsec(cfg, "metrics") : NULL;
        bool oom = false;

        c->metrics.textfile_interval = CFG_METRICS_INTERVAL;
        if (!m)
                return 0;
        c->metrics.textfile = strdup_or_null(cfg_getstr(m, "textfile"), &oom);
        c->metrics.textfile_interval = (usec_t) cfg_getint(m, "textfile-interval");
        c->metrics.listen = strdup_or_null(cfg_getstr(m, "listen"), &oom);
        c->metrics.token_file = strdup_or_null(cfg_getstr(m, "token-file"), &oom);
        c->metrics.sample_all = cfg_getbool(m, "sample-all");
        return oom ? -ENOMEM : 0;
}

static int copy_sinks(cfg_t *cfg, Config *c) {
        int r;

        c->sinks = calloc(cfg_size(cfg, "notify") + 1, sizeof(SinkConfig));
        if (!c->sinks)
                return -ENOMEM;
        for (unsigned i = 0; i < cfg_size(cfg, "notify"); i++) {
                r = copy_sink(cfg_getnsec(cfg, "notify", i), &c->sinks[i]);
                c->n_sinks++;
                if (r < 0)
                        return r;
        }
        return 0;
}

static int copy_listens(cfg_t *cfg, Config *c) {
        c->listens = calloc(cfg_size(cfg, "listen") + 1, sizeof(ListenConfig));
        if (!c->listens)
                return -ENOMEM;
        for (unsigned i = 0; i < cfg_size(cfg, "listen"); i++) {
                cfg_t *l = cfg_getnsec(cfg, "listen", i);
                bool oom = false;

                c->listens[i] = (ListenConfig) {
                        .name = strdup_or_null(cfg_title(l), &oom),
                        .address = strdup_or_null(cfg_getstr(l, "address"), &oom),
                        .backlog = (int) cfg_getint(l, "backlog"),
                        .mode = (int) cfg_getint(l, "mode"),
                        .owner = strdup_or_null(cfg_getstr(l, "owner"), &oom),
                };
                c->n_listens++;
                if (oom)
                        return -ENOMEM;
        }
        return 0;
}

/* Each worker's sockets, and their addresses in the same order (checked during the parse). */
static int copy_worker_sockets(cfg_t *cfg, Config *c) {
        for (size_t i = 0; i < c->n_workers; i++) {
                WorkerConfig *w = &c->workers[i];
                bool oom = false;

                w->sockets = strv_from_list(cfg_getnsec(cfg, "worker", (unsigned) i), "sockets",
                                            &oom);
                if (oom)
                        return -ENOMEM;
                if (cfg_getstr(cfg_getnsec(cfg, "worker", (unsigned) i), "stdin-socket")) {
                        const char *n = cfg_getstr(cfg_getnsec(cfg, "worker", (unsigned) i),
                                                   "stdin-socket");
                        const ListenConfig *l = conf_find_listen(c, n);

                        w->stdin_socket = strdup_or_null(n, &oom);
                        w->stdin_socket_address = strdup_or_null(l ? l->address : NULL, &oom);
                        if (oom)
                                return -ENOMEM;
                }
                for (char **s = w->sockets; *s; s++) {
                        const ListenConfig *l = conf_find_listen(c, *s);

                        if (l && strv_extend(&w->socket_addresses, l->address) < 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

int conf_copy(cfg_t *cfg, const char *path, Config **ret) {
        Config *c = calloc(1, sizeof(Config));
        int r;

        if (!c)
                return -ENOMEM;
        r = copy_settings(cfg, path, c);
        if (r >= 0)
                r = copy_workers(cfg, c);
        if (r >= 0)
                r = copy_sinks(cfg, c);
        if (r >= 0)
                r = copy_metrics(cfg, c);
        /* metrics { sample-all }: the metrics have every worker's memory and CPU */
        for (size_t k = 0; r >= 0 && k < c->n_workers; k++)
                c->workers[k].metrics_sampled = c->metrics.sample_all &&
                                                (c->metrics.listen || c->metrics.textfile);
        if (r >= 0)
                r = copy_listens(cfg, c);
        if (r >= 0)
                r = copy_worker_sockets(cfg, c);
        if (r < 0) {
                conf_free(c);
                return r;
        }
        *ret = c;
        return 0;
}
