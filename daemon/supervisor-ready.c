/*
 * The supervisor's side of two things others decide: the gate (deps.c: may an instance start,
 * may it stop) and readiness told by the process itself (readiness.c: READY=1, the line on
 * fd N, the watchdog).  Part of the supervisor, beside supervisor.c, with its structures.
 */
#include <stdio.h>

#include "log.h"
#include "parse.h"
#include "supervisor.h"
#include "supervisor-impl.h"

/* A stop waits while the gate says its dependents must stop first (sup_gate_opened()). */
bool instance_hold_stop(Instance *i) {
        Supervisor *s = i->worker->sup;

        if (!s->gate || i->pid <= 0 || i->state == STATE_STOPPING || i->stop_held ||
            s->gate->may_stop(s->gate_userdata, i))
                return i->stop_held;
        i->stop_held = true;
        s->gate->held(s->gate_userdata, i);
        return true;
}

void sup_set_gate(Supervisor *s, const SupGate *ops, void *userdata) {
        s->gate = ops;
        s->gate_userdata = userdata;
}

void sup_gate_opened(Instance *i) {
        if (i->stop_held) {
                i->stop_held = false;
                if (state_is_active(i->state))
                        instance_dispatch(i, EV_STOP);
        } else if (i->state == STATE_WAITING)
                instance_dispatch(i, EV_DEPS_READY);
}

void sup_restart_bound(Instance *i, const char *cause) {
        if (i->state != STATE_STARTING && i->state != STATE_RUNNING)
                return;
        log_msg(LOG_NOTICE, i->name, "%s restarts and %s is bound to it: restarting", cause,
                i->worker->cfg->name);
        instance_dispatch(i, EV_RESTART);
}

void instance_wait_timed_out(Instance *i) {
        char buf[32];

        log_event(LOG_WARNING, i->name, "wait-timeout", "still waiting for its dependencies "
                  "after %s", format_duration(buf, sizeof buf, i->worker->cfg->wait_timeout));
        instance_count_event(i, EVK_WAIT_TIMEOUT);
}

/* Readiness comes from the process itself (ready = notify, fd:N), not from start-secs. */
bool instance_ready_by_process(const Instance *i) {
        return i->worker->cfg->ready == WREADY_NOTIFY || i->worker->cfg->ready == WREADY_FD ||
               i->worker->cfg->ready == WREADY_LOG;
}

/* The process failed its readiness (watchdog, ready-timeout): restarted through backoff. */
static void ready_failed(Instance *i, const char *why) {
        if (i->state != STATE_STARTING && i->state != STATE_RUNNING)
                return;
        snprintf(i->reason, sizeof i->reason, "%s", why);
        log_event(LOG_WARNING, i->name, "ready-failed", "%s, restarting", why);
        instance_count_event(i, EVK_TIMEOUT);
        instance_dispatch(i, EV_UNHEALTHY);
}

bool instance_ready_timed_out(Instance *i) {
        char buf[32], why[64];

        if (i->state != STATE_STARTING || !instance_ready_by_process(i))
                return false;
        snprintf(why, sizeof why, "not ready within %s",
                 format_duration(buf, sizeof buf, i->worker->cfg->ready_timeout));
        ready_failed(i, why);
        return true;
}

static void on_ready(void *userdata) {
        Instance *i = userdata;

        /* later ones (after RELOADING=1) only change what status shows, read when asked */
        if (i->state == STATE_STARTING)
                instance_dispatch(i, EV_HEALTHY);
}

static void on_ready_failed(void *userdata, const char *why) {
        ready_failed(userdata, why);
}

ReadySpec *instance_ready_spec(Instance *i, ReadySpec *ret) {
        *ret = (ReadySpec) {
                .name = i->name,
                .cfg = i->worker->cfg,
                .event = i->worker->sup->event,
                .ready = on_ready,
                .failed = on_ready_failed,
                .userdata = i,
        };
        return ret;
}
