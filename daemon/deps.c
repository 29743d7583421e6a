/*
 * Dependencies at run time (see deps.h).  Nothing is kept per link: the names of `after` are
 * looked up in the worker table each time, so a reload that changes them needs nothing more
 * than a new look (config_applied).  Every change of state anywhere schedules one pass (a
 * defer source, so never from inside the supervisor's own dispatch) over the instances that
 * wait to start or to stop; with no `after` in the configuration nothing is scheduled at all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deps.h"
#include "depgraph.h"
#include "log.h"
#include "parse.h"
#include "strv.h"

struct Deps {
        Supervisor *sup;
        sd_event_source *pass;
        bool any;            /* some worker, configured now or before a reload, has `after` */
        char **restarted;    /* workers that restarted since the last pass, for `:bind` */
};

static const Worker *find_worker(const Supervisor *s, const char *name) {
        size_t n;
        Worker *const *l = sup_workers(s, &n);

        for (size_t w = 0; w < n; w++)
                if (strcmp(worker_config(l[w])->name, name) == 0)
                        return l[w];
        return NULL;
}

static DepFacts facts(const Worker *w, const InstanceView *v) {
        return (DepFacts) {
                .state = v->state,
                .oneshot = worker_config(w)->oneshot,
                .exited_ok = v->has_exited && !v->exit_signal && v->exit_code == 0,
        };
}

/* The first dependency of cfg not met: its link, and the instance that is not (in *ret). */
static const WorkerDep *first_unmet(const Supervisor *s, const WorkerConfig *cfg,
                                    InstanceView *ret) {
        for (size_t k = 0; k < cfg->n_after; k++) {
                const Worker *w = find_worker(s, cfg->after[k].name);

                /* checked at load: every name is configured; a retired one waits for nothing */
                if (!w)
                        continue;
                for (unsigned j = 0; j < worker_n_instances(w); j++) {
                        InstanceView v;
                        DepFacts f;

                        sup_instance_view(worker_instance(w, j), &v);
                        f = facts(w, &v);
                        if (!dep_met(cfg->after[k].cond, &f)) {
                                *ret = v;
                                return &cfg->after[k];
                        }
                }
        }
        return NULL;
}

static bool comes_after(const WorkerConfig *cfg, const char *name) {
        for (size_t k = 0; k < cfg->n_after; k++)
                if (strcmp(cfg->after[k].name, name) == 0)
                        return true;
        return false;
}

/*
 * Does an instance of a worker that comes after i's hold its stop?  strict: only one that has a
 * process and is stopping too (dependents first); otherwise any that has a process, so a stop
 * of several at once (stop all, shutdown, reload) is held until they are all marked.
 */
static bool held_by_dependents(const Supervisor *s, const Instance *i, bool strict) {
        InstanceView self;
        const char *name;

        sup_instance_view(i, &self);
        name = self.cfg->name;

        for (int pass = 0; pass < 2; pass++) {
                size_t n;
                Worker *const *l = pass ? sup_retiring(s, &n) : sup_workers(s, &n);

                for (size_t w = 0; w < n; w++) {
                        if (!comes_after(worker_config(l[w]), name))
                                continue;
                        for (unsigned k = 0; k < worker_n_instances(l[w]); k++) {
                                InstanceView v;
                                DepDependent d;

                                sup_instance_view(worker_instance(l[w], k), &v);
                                d = (DepDependent) {
                                        .has_process = v.pid > 0,
                                        .stopping = !strict || v.state == STATE_STOPPING ||
                                                    v.stop_held,
                                };
                                if (!dep_may_stop(&d, 1))
                                        return true;
                        }
                }
        }
        return false;
}

static void schedule(Deps *d) {
        if (d->any)
                (void) sd_event_source_set_enabled(d->pass, SD_EVENT_ONESHOT);
}

static bool gate_may_start(void *userdata, const Instance *i) {
        Deps *d = userdata;
        InstanceView v, dep;

        sup_instance_view(i, &v);
        return v.cfg->n_after == 0 || !first_unmet(d->sup, v.cfg, &dep);
}

static bool gate_may_stop(void *userdata, const Instance *i) {
        Deps *d = userdata;

        return !d->any || !held_by_dependents(d->sup, i, false);
}

static void gate_held(void *userdata, const Instance *i) {
        log_msg(LOG_INFO, sup_instance_name(i), "stopping once what comes after it is down");
        schedule(userdata);
}

static const SupGate gate = {
        .may_start = gate_may_start,
        .may_stop = gate_may_stop,
        .held = gate_held,
};

/* One pass: start what may start now, stop what may stop now. */
static void pass_workers(Deps *d, Worker *const *l, size_t n) {
        for (size_t w = 0; w < n; w++)
                for (unsigned k = 0; k < worker_n_instances(l[w]); k++) {
                        Instance *i = worker_instance(l[w], k);
                        InstanceView v;

                        sup_instance_view(i, &v);
                        if (v.state == STATE_WAITING && gate_may_start(d, i))
                                sup_gate_opened(i);
                        else if (v.stop_held &&
                                 (v.pid <= 0 || !held_by_dependents(d->sup, i, true)))
                                sup_gate_opened(i);
                }
}

/* Workers bound to one that restarted (after "x:bind") restart, and wait for it again. */
static void restart_bound(Deps *d, const char *name) {
        size_t n;
        Worker *const *l = sup_workers(d->sup, &n);

        for (size_t w = 0; w < n; w++) {
                const WorkerConfig *c = worker_config(l[w]);

                for (size_t k = 0; k < c->n_after; k++)
                        if (c->after[k].bind && strcmp(c->after[k].name, name) == 0)
                                for (unsigned j = 0; j < worker_n_instances(l[w]); j++)
                                        sup_restart_bound(worker_instance(l[w], j), name);
        }
}

static int on_pass(sd_event_source *src, void *userdata) {
        Deps *d = userdata;
        char **restarted = d->restarted;
        Worker *const *l;
        size_t n;

        (void) src;
        d->restarted = NULL;
        for (char **r = restarted; r && *r; r++)
                restart_bound(d, *r);
        strv_free(restarted);
        l = sup_workers(d->sup, &n);
        pass_workers(d, l, n);
        l = sup_retiring(d->sup, &n);
        pass_workers(d, l, n);
        return 0;
}

/*
 * A ready instance that stops being so for a restart (a crash, a failed health check or
 * watchdog, an operator's restart; not an operator's stop, not upkeepd stopping) restarts the
 * workers bound to it, in the next pass.
 */
static void note_restart(Deps *d, const Instance *i, InstanceState old) {
        InstanceView v;

        if (!i || old != STATE_RUNNING || sup_shutting_down(d->sup))
                return;
        sup_instance_view(i, &v);
        if (v.state != STATE_BACKOFF && !(v.state == STATE_STOPPING && !v.admin_stopped))
                return;
        for (char **r = d->restarted; r && *r; r++)
                if (strcmp(*r, v.cfg->name) == 0)
                        return;
        if (strv_extend(&d->restarted, v.cfg->name) < 0)
                log_msg(LOG_ERR, v.name, "out of memory: the workers bound to it are not "
                        "restarted");
}

static void on_instance_changed(void *userdata, const Instance *i, InstanceState old) {
        if (((Deps *) userdata)->any)
                note_restart(userdata, i, old);
        schedule(userdata);
}

static void on_config_applied(void *userdata, const Config *c, Http *http) {
        Deps *d = userdata;

        (void) http;
        for (size_t w = 0; w < c->n_workers && !d->any; w++)
                d->any = c->workers[w].n_after > 0;
        schedule(d);
}

static const SupObserver observer = {
        .instance_changed = on_instance_changed,
        .config_applied = on_config_applied,
};

int deps_new(Supervisor *s, Deps **ret) {
        Deps *d = calloc(1, sizeof(Deps));
        int r;

        if (!d)
                return -ENOMEM;
        d->sup = s;
        r = sd_event_add_defer(sup_event(s), &d->pass, on_pass, d);
        if (r < 0) {
                free(d);
                return r;
        }
        (void) sd_event_source_set_enabled(d->pass, SD_EVENT_OFF);
        (void) sd_event_source_set_description(d->pass, "dependencies");
        r = sup_observe(s, &observer, d);
        if (r < 0)
                return deps_free(d), r;
        sup_set_gate(s, &gate, d);
        on_config_applied(d, sup_config(s), NULL);
        *ret = d;
        return 0;
}

Deps *deps_free(Deps *d) {
        if (!d)
                return NULL;
        d->pass = sd_event_source_disable_unref(d->pass);
        strv_free(d->restarted);
        sup_set_gate(d->sup, NULL, NULL);
        free(d);
        return NULL;
}

/* "BACKOFF, retry in 4s", "EXITED, exit code 1", "STOPPED": the state of what it waits for. */
static void describe_state(const InstanceView *v, usec_t now, char *buf, size_t len) {
        char d[32];

        if (v->state == STATE_BACKOFF && v->next_retry_at > now)
                snprintf(buf, len, "BACKOFF, retry in %s",
                         format_duration(d, sizeof d, v->next_retry_at - now));
        else if ((v->state == STATE_EXITED || v->state == STATE_FATAL) && v->has_exited &&
                 v->exit_oom)
                snprintf(buf, len, "%s, oom", state_to_string(v->state));
        else if ((v->state == STATE_EXITED || v->state == STATE_FATAL) && v->has_exited &&
                 v->exit_signal)
                snprintf(buf, len, "%s, killed by %s", state_to_string(v->state),
                         SIGNAL_LABEL(v->exit_signal));
        else if ((v->state == STATE_EXITED || v->state == STATE_FATAL) && v->has_exited)
                snprintf(buf, len, "%s, exit code %d", state_to_string(v->state), v->exit_code);
        else if (v->admin_stopped)
                snprintf(buf, len, "%s by an operator", state_to_string(v->state));
        else
                snprintf(buf, len, "%s", state_to_string(v->state));
}

void deps_describe(const Supervisor *s, const Instance *i, usec_t now, char *buf, size_t len) {
        static const char *const what[_DEP_COND_MAX] = {
                [DEP_READY] = "", [DEP_STARTED] = " to start", [DEP_COMPLETED] = " to complete",
        };
        InstanceView v, dep;
        const WorkerDep *l;
        char st[96];

        sup_instance_view(i, &v);
        l = first_unmet(s, v.cfg, &dep);
        if (!l) {
                buf[0] = '\0';
                return;
        }
        describe_state(&dep, now, st, sizeof st);
        snprintf(buf, len, "waiting for %s%s (%s)", dep.name, what[l->cond], st);
}
