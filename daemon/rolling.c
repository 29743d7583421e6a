/*
 * Rolling restarts (see roll.h).  Each roll is re-evaluated on the loop (a deferred event)
 * after any instance of its worker changed, and by a timer at the next ready-timeout: never
 * from inside the supervisor's own callbacks, so sup_command() is not re-entered.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "looptime.h"
#include "roll.h"
#include "rolling.h"

typedef struct Rolling Rolling;
struct Rolling {
        Worker *worker;
        char *name;
        Roll roll;
        sd_event_source *defer, *timer;
        char why[400];     /* why it paused */
        bool alerted;      /* a pause was raised as an alert, not resolved yet */
        bool scheduled;    /* restart-every: instances that do not run are left alone */
        /* a reload's roll: the settings before it, for --abort to go back to (held) */
        const WorkerConfig *prev;
        bool back;         /* a roll back to them, after --abort */
        Rolling *next;
};

static Supervisor *sup;
static Alerts *alerts;
static Rolling *rolls;

/* restart-every timers, one per worker that has it */
typedef struct Every Every;
struct Every {
        char *name;
        usec_t period;
        sd_event_source *timer;
        bool seen;      /* still configured (roll_schedule()) */
        Every *next;
};

static Every *everies;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static void every_free(Every *e) {
        sd_event_source_disable_unref(e->timer);
        free(e->name);
        free(e);
}

static Rolling *find(const char *name) {
        for (Rolling *r = rolls; r; r = r->next)
                if (strcmp(r->name, name) == 0)
                        return r;
        return NULL;
}

/* A pause is over (continued, aborted, or the roll ended): the alert is resolved. */
static void resolve(Rolling *r, const char *how) {
        char summary[128];

        if (!r->alerted || !alerts)
                return;
        snprintf(summary, sizeof summary, "rolling restart %s", how);
        alerts_raise(alerts, r->name, r->name, SEV_CRITICAL, true, summary);
        r->alerted = false;
}

static void rolling_free(Rolling *r) {
        Rolling **p = &rolls;

        while (*p && *p != r)
                p = &(*p)->next;
        if (*p)
                *p = r->next;
        sd_event_source_disable_unref(r->defer);
        sd_event_source_disable_unref(r->timer);
        if (r->prev)
                sup_hold_configs(sup, false);
        roll_done(&r->roll);
        free(r->name);
        free(r);
}

/*
 * Is the instance's replacement ready: a process started since the roll began it, RUNNING
 * (with a health section, its first good answer; else start-secs of running).  The one place
 * that says what "ready" is.
 */
static bool instance_ready(const Instance *i, usec_t since) {
        InstanceView v;

        sup_instance_view(i, &v);
        return v.state == STATE_RUNNING && v.pid > 0 && v.started_at >= since;
}

static void describe_failure(Rolling *r, unsigned k) {
        InstanceView v;

        sup_instance_view(worker_instance(r->worker, k), &v);
        if (v.probe && v.probe->url && v.probe->has_last && v.probe->last_code > 0)
                snprintf(r->why, sizeof r->why, "%s not healthy: %ld", v.name,
                         v.probe->last_code);
        else if (v.probe && v.probe->url)
                snprintf(r->why, sizeof r->why, "%s not healthy: %s", v.name,
                         v.probe->has_last ? v.probe->last_reason : "no answer");
        else
                snprintf(r->why, sizeof r->why, "%s not ready: %s%s%s", v.name,
                         state_to_string(v.state), v.reason[0] ? ", " : "", v.reason);
}

/* rolling { surge }: the spare is stopped once the roll is over (not when upkeepd stops:
 * everything is stopped then, nor when the worker goes: its processes go with it) */
static void spare_stop(Rolling *r) {
        Instance *spare = worker_spare(r->worker);
        InstanceView v;

        if (!r->roll.surge || !spare)
                return;
        sup_instance_view(spare, &v);
        if (v.pid > 0 && v.state != STATE_STOPPING) {
                log_msg(LOG_INFO, v.name, "rolling restart over: the spare stops");
                (void) sup_command(spare, EV_STOP);
        }
}

/* rolling { surge }: the spare starts (on the worker's current settings) before the others */
static void spare_start(Rolling *r) {
        Instance *spare = worker_spare(r->worker);
        InstanceView v;

        sup_instance_view(spare, &v);
        log_msg(LOG_INFO, v.name, "rolling restart: the spare starts first (surge)");
        if (sup_command(spare, v.pid > 0 ? EV_RESTART : EV_START) != REPLY_OK)
                roll_skip(&r->roll, r->roll.n);
}

static void arm(Rolling *r);

static void step(Rolling *r) {
        unsigned n = worker_n_instances(r->worker);
        _cleanup_free_ bool *ready = calloc(n + 1, sizeof(bool));
        usec_t now = loop_now(sup_event(sup));
        char buf[512];

        if (!ready)
                return;
        for (;;) {
                RollAction a;

                for (unsigned k = 0; k < r->roll.next && k < n; k++)
                        ready[k] = instance_ready(worker_instance(r->worker, k),
                                                  r->roll.slots[k].since);
                if (r->roll.surge)
                        ready[n] = instance_ready(worker_spare(r->worker),
                                                  r->roll.spare.since);
                a = roll_decide(&r->roll, ready, now);
                if (a.kind == ROLL_ACT_SPARE) {
                        spare_start(r);
                        continue;
                }
                if (a.kind == ROLL_ACT_RESTART) {
                        Instance *i = worker_instance(r->worker, a.index);
                        InstanceView v;

                        sup_instance_view(i, &v);
                        if (r->scheduled && (v.pid <= 0 || v.admin_stopped)) {
                                roll_skip(&r->roll, a.index);
                                continue;
                        }
                        log_msg(LOG_INFO, sup_instance_name(i), "rolling restart %u/%u",
                                a.index + 1, n);
                        if (sup_command(i, EV_RESTART) != REPLY_OK)
                                roll_skip(&r->roll, a.index);
                        continue;
                }
                if (a.kind == ROLL_ACT_PAUSED) {
                        describe_failure(r, a.index);
                        log_fields(LOG_ERR, r->name, "roll-paused", NULL,
                                   "rolling restart %s; the other instances keep serving: "
                                   "upkeepctl restart %s --continue | --abort",
                                   roll_describe(r->name, buf, sizeof buf), r->name);
                        if (alerts) {
                                char summary[600];

                                snprintf(summary, sizeof summary, "rolling restart %s", buf);
                                alerts_raise(alerts, r->name,
                                             sup_instance_name(worker_instance(r->worker,
                                                                               a.index)),
                                             SEV_CRITICAL, false, summary);
                                r->alerted = true;
                        }
                } else if (a.kind == ROLL_ACT_DONE) {
                        spare_stop(r);
                        if (r->back)
                                log_msg(LOG_INFO, r->name, "rolling back done, %u instances "
                                        "on the previous settings", roll_total(&r->roll));
                        else
                                log_msg(LOG_INFO, r->name, "rolling restart done, %u instances",
                                        n);
                        resolve(r, "done");
                        rolling_free(r);
                        return;
                }
                break;
        }
        arm(r);
}

static int on_defer(sd_event_source *s, void *userdata) {
        (void) s;
        step(userdata);
        return 0;
}

static int on_timer(sd_event_source *s, usec_t t, void *userdata) {
        (void) s, (void) t;
        step(userdata);
        return 0;
}

/* The timer at the next ready-timeout, if any replacement is pending. */
static void arm(Rolling *r) {
        usec_t d = roll_deadline(&r->roll);

        if (d == USEC_INFINITY) {
                (void) sd_event_source_set_enabled(r->timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(r->timer, d);
        (void) sd_event_source_set_enabled(r->timer, SD_EVENT_ONESHOT);
}

static void poke(Rolling *r) {
        (void) sd_event_source_set_enabled(r->defer, SD_EVENT_ONESHOT);
}

static void on_instance_changed(void *userdata, const Instance *i, InstanceState old) {
        (void) userdata, (void) i, (void) old;
        /* i NULL: any may have changed; else only its worker's roll, but rolls are few */
        for (Rolling *r = rolls; r; r = r->next)
                poke(r);
}

static void on_worker_removed(void *userdata, Worker *w) {
        (void) userdata;
        for (Rolling *r = rolls, *next; r; r = next) {
                next = r->next;
                if (r->worker == w)
                        rolling_free(r);
        }
}

static void on_stopping(void *userdata) {
        (void) userdata;
        while (rolls)
                rolling_free(rolls);
        while (everies) {
                Every *e = everies;

                everies = e->next;
                every_free(e);
        }
}

static void on_config_applied(void *userdata, const Config *c, Http *http) {
        (void) userdata, (void) http;
        roll_schedule(c);
}

int roll_setup(Supervisor *s, Alerts *a) {
        static const SupObserver ops = {
                .instance_changed = on_instance_changed,
                .worker_removed = on_worker_removed,
                .stopping = on_stopping,
                .config_applied = on_config_applied,
        };
        int r;

        sup = s;
        alerts = a;
        rng ^= (uint64_t) loop_now(sup_event(s)) ^ ((uint64_t) getpid() << 32);
        r = sup_observe(s, &ops, NULL);
        if (r >= 0)
                roll_schedule(sup_config(s));
        return r;
}

void roll_teardown(void) {
        on_stopping(NULL);
}

/* A roll of w; *ret, when given, is it (not yet begun: that waits for the loop). */
static int begin(Worker *w, bool scheduled, const WorkerConfig *prev, Rolling **ret) {
        const WorkerConfig *c = worker_config(w);
        Rolling *r;
        int q;

        if (find(c->name))
                return -EBUSY;
        r = calloc(1, sizeof(Rolling));
        if (!r)
                return -ENOMEM;
        r->worker = w;
        r->scheduled = scheduled;
        r->prev = prev;
        if (prev)
                sup_hold_configs(sup, true);
        r->name = strdup(c->name);
        q = r->name ? roll_init(&r->roll, worker_n_instances(w), c->rolling.max_unavailable,
                                c->rolling.ready_timeout, c->rolling.on_failure)
                    : -ENOMEM;
        if (q >= 0 && c->rolling.surge > 0 && worker_spare(w))
                roll_set_surge(&r->roll);
        if (q >= 0)
                q = sd_event_add_defer(sup_event(sup), &r->defer, on_defer, r);
        if (q >= 0)
                q = sd_event_add_time(sup_event(sup), &r->timer, CLOCK_MONOTONIC, USEC_INFINITY,
                                      10 * USEC_PER_MSEC, on_timer, r);
        r->next = rolls;
        rolls = r;
        if (q < 0) {
                rolling_free(r);
                return q;
        }
        (void) sd_event_source_set_enabled(r->timer, SD_EVENT_OFF);
        if (!ret)
                log_msg(LOG_INFO, c->name, "rolling restart of %u instances, %u at a time",
                        worker_n_instances(w), r->roll.max_unavailable);
        else
                *ret = r;
        poke(r); /* from the loop: the caller may be in the middle of a reload */
        return 0;
}

int roll_begin(Worker *w) {
        return begin(w, false, NULL, NULL);
}

int roll_begin_reload(Worker *w, const WorkerConfig *prev) {
        return begin(w, false, prev, NULL);
}

static double random_unit(void) {
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        return (double) ((rng * 2685821657736338717ULL) >> 11) / (double) (1ULL << 53);
}

static Worker *worker_named(const char *name) {
        size_t n;
        Worker *const *wks = sup_workers(sup, &n);

        for (size_t k = 0; k < n; k++)
                if (strcmp(worker_config(wks[k])->name, name) == 0)
                        return wks[k];
        return NULL;
}

static void every_arm(Every *e) {
        usec_t d = roll_every_delay(e->period, 0.1, random_unit());

        (void) sd_event_source_set_time(e->timer, loop_now(sup_event(sup)) + d);
        (void) sd_event_source_set_enabled(e->timer, SD_EVENT_ONESHOT);
}

static int on_every(sd_event_source *s, usec_t t, void *userdata) {
        Every *e = userdata;
        Worker *w = worker_named(e->name);

        (void) s, (void) t;
        every_arm(e);
        if (!w || sup_shutting_down(sup) || sup_recovering(sup))
                return 0;
        log_msg(LOG_INFO, e->name, "restart-every: scheduled restart");
        if (worker_n_instances(w) > 1) {
                if (begin(w, true, NULL, NULL) == -EBUSY)
                        log_msg(LOG_NOTICE, e->name, "restart-every: a rolling restart is "
                                "under way, skipped");
        } else {
                InstanceView v;

                sup_instance_view(worker_instance(w, 0), &v);
                if (v.pid > 0 && !v.admin_stopped)
                        (void) sup_command(worker_instance(w, 0), EV_RESTART);
        }
        return 0;
}

void roll_schedule(const Config *c) {
        Every **p;

        for (Every *e = everies; e; e = e->next)
                e->seen = false;
        for (size_t k = 0; k < c->n_workers; k++) {
                const WorkerConfig *w = &c->workers[k];
                Every *e;

                if (w->restart_every == 0)
                        continue;
                for (e = everies; e; e = e->next)
                        if (strcmp(e->name, w->name) == 0 && e->period == w->restart_every)
                                break;
                if (e) {
                        e->seen = true; /* the same period: its schedule goes on */
                        continue;
                }
                e = calloc(1, sizeof(Every));
                if (!e || !(e->name = strdup(w->name)) ||
                    sd_event_add_time(sup_event(sup), &e->timer, CLOCK_MONOTONIC, USEC_INFINITY,
                                      /* coalesced with other wake-ups by at most 1% */
                                      MIN(USEC_PER_SEC, w->restart_every / 100), on_every,
                                      e) < 0) {
                        if (e)
                                every_free(e);
                        log_msg(LOG_ERR, w->name, "restart-every: cannot schedule it");
                        continue;
                }
                e->period = w->restart_every;
                e->seen = true;
                e->next = everies;
                everies = e;
                every_arm(e);
        }
        for (p = &everies; *p;) {
                Every *e = *p;

                if (e->seen) {
                        p = &e->next;
                        continue;
                }
                *p = e->next;
                every_free(e);
        }
}

int roll_resume(const char *worker) {
        Rolling *r = find(worker);

        if (!r)
                return -ENOENT;
        if (roll_continue(&r->roll) < 0)
                return -EINVAL;
        r->why[0] = '\0';
        log_msg(LOG_NOTICE, worker, "rolling restart continued");
        resolve(r, "continued");
        poke(r);
        return 0;
}

int roll_stop(const char *worker) {
        Rolling *r = find(worker);

        if (!r)
                return -ENOENT;
        log_msg(LOG_NOTICE, worker, "rolling restart ended at %u/%u", roll_finished(&r->roll),
                roll_total(&r->roll));
        roll_abort(&r->roll);
        resolve(r, "aborted");
        spare_stop(r);
        rolling_free(r);
        return 0;
}

/*
 * --abort of a reload's roll: the worker goes back to the settings it had before the reload,
 * and the instances the roll had begun are rolled again onto them, the same way (the others
 * never left them).  Until the next reload, the worker runs on those settings.
 */
static int roll_back(Rolling *r) {
        Worker *w = r->worker;
        const WorkerConfig *prev = r->prev;
        unsigned n = worker_n_instances(w), begun = 0;
        _cleanup_free_ bool *redo = calloc(n + 1, sizeof(bool));
        Rolling *b;
        int q;

        if (!redo)
                return -ENOMEM;
        for (unsigned k = 0; k < r->roll.next && k < n; k++) {
                RollSlotState st = r->roll.slots[k].state;

                redo[k] = st == ROLL_SLOT_PENDING || st == ROLL_SLOT_READY ||
                          st == ROLL_SLOT_FAILED;
                begun += redo[k];
        }
        /* the settings are put back first: whatever starts from now on starts on them */
        worker_reconfigure(w, prev);
        if (begun == 0)
                spare_stop(r); /* else the roll back restarts it on them first */
        rolling_free(r); /* the worker's settings themselves now keep prev's configuration */
        if (begun == 0)
                return 0;
        q = begin(w, false, NULL, &b);
        if (q < 0)
                return q;
        b->back = true;
        for (unsigned k = 0; k < n; k++)
                if (!redo[k])
                        roll_leave_out(&b->roll, k);
        log_msg(LOG_NOTICE, b->name, "rolling back %u instance%s to the previous settings",
                begun, begun == 1 ? "" : "s");
        return 0;
}

int roll_abort_back(const char *worker, bool *ret_back) {
        Rolling *r = find(worker);
        bool back;

        if (!r)
                return -ENOENT;
        back = r->prev != NULL;
        log_msg(LOG_NOTICE, worker, "rolling %s aborted at %u/%u%s", r->back ? "back" : "restart",
                roll_finished(&r->roll), roll_total(&r->roll),
                back ? ", going back to the previous settings" : ", nothing to roll back");
        roll_abort(&r->roll);
        resolve(r, "aborted");
        *ret_back = back;
        if (!back) {
                spare_stop(r);
                rolling_free(r);
                return 0;
        }
        return roll_back(r);
}

const char *roll_describe(const char *worker, char *buf, size_t len) {
        Rolling *r = find(worker);
        const char *what;

        if (!r)
                return NULL;
        what = r->back ? "back to the previous settings, " : "";
        if (r->roll.state == ROLL_PAUSED)
                snprintf(buf, len, "%spaused at %u/%u (%s)", what, roll_finished(&r->roll),
                         roll_total(&r->roll), r->why);
        else
                snprintf(buf, len, "%s%u/%u", what, roll_finished(&r->roll),
                         roll_total(&r->roll));
        return buf;
}
