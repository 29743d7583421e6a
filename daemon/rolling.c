/*
 * Rolling restarts (see roll.h).  Each roll is re-evaluated on the loop (a deferred event)
 * after any instance of its worker changed, and by a timer at the next ready-timeout: never
 * from inside the supervisor's own callbacks, so sup_command() is not re-entered.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        Rolling *next;
};

static Supervisor *sup;
static Alerts *alerts;
static Rolling *rolls;

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
                a = roll_decide(&r->roll, ready, now);
                if (a.kind == ROLL_ACT_RESTART) {
                        Instance *i = worker_instance(r->worker, a.index);

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
                        log_msg(LOG_INFO, r->name, "rolling restart done, %u instances", n);
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
}

int roll_setup(Supervisor *s, Alerts *a) {
        static const SupObserver ops = {
                .instance_changed = on_instance_changed,
                .worker_removed = on_worker_removed,
                .stopping = on_stopping,
        };

        sup = s;
        alerts = a;
        return sup_observe(s, &ops, NULL);
}

void roll_teardown(void) {
        while (rolls)
                rolling_free(rolls);
}

int roll_begin(Worker *w) {
        const WorkerConfig *c = worker_config(w);
        Rolling *r;
        int q;

        if (find(c->name))
                return -EBUSY;
        r = calloc(1, sizeof(Rolling));
        if (!r)
                return -ENOMEM;
        r->worker = w;
        r->name = strdup(c->name);
        q = r->name ? roll_init(&r->roll, worker_n_instances(w), c->rolling.max_unavailable,
                                c->rolling.ready_timeout, c->rolling.on_failure)
                    : -ENOMEM;
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
        log_msg(LOG_INFO, c->name, "rolling restart of %u instances, %u at a time",
                worker_n_instances(w), r->roll.max_unavailable);
        poke(r); /* from the loop: the caller may be in the middle of a reload */
        return 0;
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
        log_msg(LOG_NOTICE, worker, "rolling restart aborted at %u/%u", roll_finished(&r->roll),
                r->roll.n);
        roll_abort(&r->roll);
        resolve(r, "aborted");
        rolling_free(r);
        return 0;
}

const char *roll_describe(const char *worker, char *buf, size_t len) {
        Rolling *r = find(worker);

        if (!r)
                return NULL;
        if (r->roll.state == ROLL_PAUSED)
                snprintf(buf, len, "paused at %u/%u (%s)", roll_finished(&r->roll), r->roll.n,
                         r->why);
        else
                snprintf(buf, len, "%u/%u", roll_finished(&r->roll), r->roll.n);
        return buf;
}
