/*
 * The supervisor's side of two things others decide: the gate (deps.c: may an instance start,
 * may it stop) and readiness told by the process itself (readiness.c: READY=1, the line on
 * fd N, the watchdog, MAINPID=).  Part of the supervisor, beside supervisor.c, with its
 * structures.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "children.h"
#include "log.h"
#include "looptime.h"
#include "parse.h"
#include "proctree.h"
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

/* pid is one of the instance's processes, by its tree (cgroup, or environment and parentage). */
static bool on_member(void *userdata, pid_t pid) {
        Instance *i = userdata;
        Supervisor *s = i->worker->sup;
        _cleanup_free_ pid_t *l = NULL;
        size_t n = 0;

        if (i->pid <= 0 || tree_pids(s->tree, i->name, i->pid, loop_now(s->event), &l, &n) < 0)
                return false;
        for (size_t k = 0; k < n; k++)
                if (l[k] == pid)
                        return true;
        return false;
}

/*
 * MAINPID=pid, a process of the instance: watched as its main process from now on, as
 * systemd's Type=notify does.  The process upkeepd started is no longer watched: its exit (a
 * daemon's parent that forked it) ends nothing, kills nothing of its group, and the orphan scan
 * collects it.  The state file records the new pid, and status shows it.
 */
static int on_adopt(void *userdata, pid_t pid, char *why, size_t len) {
        Instance *i = userdata;
        Supervisor *s = i->worker->sup;
        int r;

        r = children_watch(s->children, pid, CHILD_ADOPTED, instance_main_exited, i);
        if (r < 0) {
                snprintf(why, len, "cannot watch it (%s)", r == -ENOSYS ? "no pidfds on this "
                         "kernel: its end could go unseen" : strerror(-r));
                return r;
        }
        children_forget(s->children, i->pid);
        tree_ended(s->tree, i->pid);
        tree_started(s->tree, pid);
        i->pid = pid;
        i->pid_start_time = 0; /* read again for the state file */
        i->adopted = true;
        if (i->mem)
                i->mem->pid = pid; /* its samples start from the new main process */
        instance_record_changed(i);
        return 0;
}

static ReadySpec *instance_ready_spec(Instance *i, ReadySpec *ret) {
        *ret = (ReadySpec) {
                .name = i->name,
                .cfg = i->worker->cfg,
                .event = i->worker->sup->event,
                .ready = on_ready,
                .failed = on_ready_failed,
                .member = on_member,
                .adopt = on_adopt,
                .userdata = i,
        };
        return ret;
}

/*
 * The state is allocated for the first run told by its process (notify, fd:N, log:REGEX) and
 * kept from then on (a reload may change the kind back and forth): most workers never have
 * one, and its 150 bytes stay out of their instances.
 */
int instance_ready_begin(Instance *i, char *const **ret_env, int *ret_fd) {
        WorkerReady kind = i->worker->cfg->ready;

        *ret_env = NULL;
        *ret_fd = -1;
        if (!i->ready && kind != WREADY_NOTIFY && kind != WREADY_FD && kind != WREADY_LOG)
                return 0;
        if (!i->ready) {
                i->ready = malloc(sizeof(Readiness));
                if (!i->ready) {
                        snprintf(i->reason, sizeof i->reason, "out of memory");
                        return -ENOMEM;
                }
                readiness_init(i->ready);
        }
        return readiness_begin(i->ready, instance_ready_spec(i, &(ReadySpec) {}), ret_env,
                               ret_fd, i->reason, sizeof i->reason);
}
