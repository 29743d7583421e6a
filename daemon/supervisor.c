/*
 * The supervisor: the worker table built from the configuration, and the actions of the
 * instance state machine (fsm.c) carried out with sd-event sources.
 *
 * Invariants:
 *   - an instance has a process (pid > 0, pidfd and child source set) exactly in STARTING,
 *     RUNNING and STOPPING;
 *   - a worker's exit is noticed through its pidfd, and its status is collected with
 *     waitid(P_PIDFD), so a recycled PID can never be mistaken for it;
 *   - orphans re-parented to upkeepd (subreaper, or PID 1 in a container) are reaped by pid
 *     after a WNOWAIT peek, which never consumes the status of a process we watch;
 *   - when a worker's main process ends, whatever is left in its process group is SIGKILLed
 *     while the main process is still a zombie, so the group id cannot have been reused.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "parse.h"
#include "supervisor.h"

static usec_t now(const Supervisor *s) {
        usec_t t = 0;

        (void) sd_event_now(s->event, CLOCK_MONOTONIC, &t);
        return t;
}

/* xorshift64*: jitter needs spread, not secrecy. */
static double random_unit(Supervisor *s) {
        s->rng ^= s->rng >> 12;
        s->rng ^= s->rng << 25;
        s->rng ^= s->rng >> 27;
        return (double) ((s->rng * 2685821657736338717ULL) >> 11) / (double) (1ULL << 53);
}

static void dispatch(Instance *i, FsmEvent ev);

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        (void) src, (void) usec;
        dispatch(userdata, EV_TIMER);
        return 0;
}

static void arm_timer(Instance *i, usec_t delay) {
        Supervisor *s = i->worker->sup;
        int r;

        if (!i->timer) {
                /* 1 ms accuracy: these timers are promises to the user, not housekeeping */
                r = sd_event_add_time(s->event, &i->timer, CLOCK_MONOTONIC, USEC_INFINITY,
                                      USEC_PER_MSEC, on_timer, i);
                if (r < 0) {
                        log_msg(LOG_ERR, i->name, "cannot create timer: %s", strerror(-r));
                        return;
                }
                (void) sd_event_source_set_description(i->timer, "instance-timer");
        }
        (void) sd_event_source_set_time(i->timer, now(s) + delay);
        (void) sd_event_source_set_enabled(i->timer, SD_EVENT_ONESHOT);
}

static void disarm_timer(Instance *i) {
        if (i->timer)
                (void) sd_event_source_set_enabled(i->timer, SD_EVENT_OFF);
}

static void signal_group(Instance *i, int sig) {
        if (i->pid <= 0)
                return;
        /* the group id is the main pid (setsid in the child); the main process is alive or a
         * zombie here, so the id still names our group */
        if (kill(-i->pid, sig) < 0 && errno != ESRCH)
                log_msg(LOG_WARNING, i->name, "cannot send SIG%s to process group %d: %m",
                        signal_to_name(sig) ?: "?", (int) i->pid);
        if (sig != SIGKILL && sig != SIGCONT)
                (void) kill(-i->pid, SIGCONT);
}

static void describe_exit(const Instance *i, char *buf, size_t len) {
        if (!i->has_exited)
                snprintf(buf, len, "-");
        else if (i->exit_signal)
                snprintf(buf, len, "killed by SIG%s", signal_to_name(i->exit_signal) ?: "?");
        else
                snprintf(buf, len, "exit code %d", i->exit_code);
}

static bool exit_is_clean(const Instance *i) {
        if (i->exit_signal)
                return i->exit_signal == SIGHUP || i->exit_signal == SIGINT ||
                       i->exit_signal == SIGTERM || i->exit_signal == SIGPIPE;
        return i->exit_code == 0;
}

static bool restart_wanted(const Instance *i, FsmEvent ev) {
        const WorkerConfig *w = i->worker->cfg;

        if (i->worker->sup->shutting_down)
                return false;
        switch (w->policy) {
        case RESTART_ALWAYS:
                return true;
        case RESTART_ON_FAILURE:
                return ev == EV_SPAWN_FAILED || !exit_is_clean(i);
        default:
                return false;
        }
}

static void child_gone(Instance *i) {
        probe_end(i);
        i->child_source = sd_event_source_disable_unref(i->child_source);
        if (i->pidfd >= 0)
                close(i->pidfd);
        i->pidfd = -1;
        if (i->errpipe >= 0)
                close(i->errpipe);
        i->errpipe = -1;
        i->pid = 0;
}

/*
 * Collect the main process's status through its pidfd.  Returns false when it has not exited
 * (a spurious wake-up).  Called from the pidfd source and from the SIGCHLD scan, whichever
 * comes first.
 */
static bool instance_reap(Instance *i) {
        siginfo_t si = { 0 };
        char reason[sizeof i->reason];
        bool spawn_failed;

        if (i->pid <= 0)
                return false;
        /* still a zombie: kill what is left of its group before the pid can be recycled */
        if (waitid(P_PIDFD, (id_t) i->pidfd, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
            si.si_pid == 0)
                return false;
        (void) kill(-i->pid, SIGKILL);
        si = (siginfo_t) { 0 };
        if (waitid(P_PIDFD, (id_t) i->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
                return false;

        i->has_exited = true;
        i->exit_code = si.si_code == CLD_EXITED ? si.si_status : 0;
        i->exit_signal = si.si_code == CLD_EXITED ? 0 : si.si_status;
        spawn_failed = spawn_read_error(i, reason, sizeof reason);
        child_gone(i);
        if (!spawn_failed) {
                sup_count(i, EVK_EXIT);
                if (!exit_is_clean(i) && i->state != STATE_STOPPING)
                        sup_count(i, EVK_CRASH);
        }

        if (spawn_failed) {
                snprintf(i->reason, sizeof i->reason, "%s", reason);
                dispatch(i, EV_SPAWN_FAILED);
        } else {
                if (i->state == STATE_STARTING)
                        snprintf(i->reason, sizeof i->reason, "exited too quickly");
                else
                        i->reason[0] = '\0';
                dispatch(i, EV_EXIT);
        }
        return true;
}

static int on_child(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        (void) src, (void) fd, (void) revents;
        (void) instance_reap(userdata);
        return 0;
}

static void do_spawn(Instance *i) {
        Supervisor *s = i->worker->sup;
        pid_t pid;
        int errpipe, pidfd, r;

        i->reason[0] = '\0';
        r = spawn_instance(i, &pid, &errpipe, i->reason, sizeof i->reason);
        if (r < 0) {
                dispatch(i, EV_SPAWN_FAILED);
                return;
        }
        pidfd = pidfd_open(pid, 0);
        if (pidfd < 0 ||
            sd_event_add_io(s->event, &i->child_source, pidfd, EPOLLIN, on_child, i) < 0) {
                /* cannot watch it: do not leave it running unsupervised */
                snprintf(i->reason, sizeof i->reason, "cannot watch process: %m");
                (void) kill(-pid, SIGKILL);
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                if (pidfd >= 0)
                        close(pidfd);
                close(errpipe);
                dispatch(i, EV_SPAWN_FAILED);
                return;
        }
        (void) sd_event_source_set_description(i->child_source, "child");
        i->pid = pid;
        i->pidfd = pidfd;
        i->errpipe = errpipe;
        i->started_at = now(s);
        log_msg(LOG_DEBUG, i->name, "spawned pid %d", (int) pid);
        if (i->probe.url)
                /* with probes, the first good answer makes it RUNNING, not start-secs */
                probe_begin(i);
        else if (i->worker->cfg->start_secs == 0)
                dispatch(i, EV_TIMER);
        else
                arm_timer(i, i->worker->cfg->start_secs);
}

static void schedule_restart(Instance *i) {
        const WorkerConfig *w = i->worker->cfg;
        Supervisor *s = i->worker->sup;
        char buf[32];
        usec_t delay, ran = i->started_at ? now(s) - i->started_at : 0;

        i->attempt = backoff_attempt_after_run(&w->backoff, i->attempt, ran);
        delay = backoff_delay(&w->backoff, i->attempt, random_unit(s));
        if (i->attempt < UINT32_MAX)
                i->attempt++;
        i->restarts++;
        sup_count(i, EVK_RESTART);
        if (i->n_restart_times > 0) {
                i->restart_times[i->restart_head] = now(s);
                i->restart_head = (i->restart_head + 1) % i->n_restart_times;
        }
        i->next_retry_at = now(s) + delay;
        log_msg(LOG_INFO, i->name, "restarting in %s (attempt %u)",
                format_duration(buf, sizeof buf, delay), i->attempt);
        if (delay == 0)
                dispatch(i, EV_TIMER);
        else
                arm_timer(i, delay);
}

/*
 * The circuit breaker: with give-up = "N in W", the restart after N restarts within W does not
 * happen.  The ring holds the times of the last N restarts, so the check is exact and O(1).
 * A half-open attempt that fails opens the circuit again at once.
 */
static bool circuit_gives_up(const Instance *i) {
        const WorkerConfig *w = i->worker->cfg;
        usec_t oldest;

        if (i->half_open)
                return true;
        if (i->n_restart_times == 0)
                return false;
        oldest = i->restart_times[i->restart_head]; /* the next slot to write is the oldest */
        return oldest > 0 && now(i->worker->sup) - oldest <= w->give_up_within;
}

static void circuit_reset(Instance *i) {
        if (i->n_restart_times > 0)
                memset(i->restart_times, 0, i->n_restart_times * sizeof(usec_t));
        i->restart_head = 0;
        i->half_open = false;
}

/* Entered FATAL: say why, arm the half-open retry, and end upkeepd for a required worker. */
static void entered_fatal(Instance *i) {
        const WorkerConfig *w = i->worker->cfg;
        Supervisor *s = i->worker->sup;
        char buf[32], within[32];

        if (w->give_up_count > 0 && (i->half_open || circuit_gives_up(i))) {
                snprintf(i->reason, sizeof i->reason, "gave up after %u restarts within %s%s",
                         w->give_up_count, format_duration(within, sizeof within, w->give_up_within),
                         i->half_open ? " (half-open attempt failed)" : "");
                log_msg(LOG_ERR, i->name, "%s: circuit open%s%s", i->reason,
                        w->retry_after ? ", retrying in " : "",
                        w->retry_after ? format_duration(buf, sizeof buf, w->retry_after) : "");
        }
        i->half_open = false;
        if (w->retry_after > 0 && !s->shutting_down) {
                i->next_retry_at = now(s) + w->retry_after;
                arm_timer(i, w->retry_after);
        }
}

/* A required worker that will not run again ends upkeepd, with its exit status. */
static void check_required(Instance *i) {
        Supervisor *s = i->worker->sup;

        if (!i->worker->cfg->required || s->shutting_down)
                return;
        if (i->state != STATE_FATAL && i->state != STATE_EXITED)
                return;
        s->exit_code = i->exit_signal ? 128 + i->exit_signal : i->exit_code;
        if (s->exit_code == 0 && i->state == STATE_FATAL)
                s->exit_code = 1;
        log_msg(LOG_ERR, i->name, "required worker is %s, stopping everything (exit status %d)",
                state_to_string(i->state), s->exit_code);
        sup_shutdown(s);
}

/* Apply one transition: log it once, then carry out its actions in a fixed order. */
static void dispatch(Instance *i, FsmEvent ev) {
        bool ends = ev == EV_EXIT || ev == EV_SPAWN_FAILED;
        FsmInput in = {
                .restart_wanted = ends && restart_wanted(i, ev),
                .pending_start = i->pending_start,
                .pending_backoff = i->pending_backoff,
                .give_up = ends && circuit_gives_up(i),
        };
        FsmStep st = fsm_step(i->state, ev, &in);
        InstanceState old = i->state;
        char what[64];

        i->pending_start = st.pending_start;
        i->pending_backoff = st.pending_backoff;
        if (st.state == STATE_STARTING && old == STATE_FATAL && ev == EV_TIMER) {
                i->half_open = true;
                log_msg(LOG_NOTICE, i->name, "retry-after elapsed: one half-open attempt");
        }
        if (st.state == STATE_RUNNING && old != STATE_RUNNING && i->half_open) {
                log_msg(LOG_NOTICE, i->name, "half-open attempt started well: circuit closed");
                circuit_reset(i);
        }
        if (st.state != old) {
                i->state = st.state;
                i->state_since = now(i->worker->sup);
                if (ev == EV_EXIT || ev == EV_SPAWN_FAILED) {
                        describe_exit(i, what, sizeof what);
                        log_msg(st.state == STATE_FATAL ? LOG_ERR : LOG_NOTICE, i->name,
                                "%s -> %s (%s)", state_to_string(old), state_to_string(st.state),
                                ev == EV_SPAWN_FAILED ? i->reason : what);
                } else if (ev == EV_UNHEALTHY)
                        log_msg(LOG_NOTICE, i->name, "%s -> %s (unhealthy, restarting)",
                                state_to_string(old), state_to_string(st.state));
                else if (st.state == STATE_RUNNING)
                        log_msg(LOG_INFO, i->name, "%s -> %s (pid %d)", state_to_string(old),
                                state_to_string(st.state), (int) i->pid);
                else
                        log_msg(LOG_INFO, i->name, "%s -> %s", state_to_string(old),
                                state_to_string(st.state));
        }
        if (st.actions & ACT_DISARM)
                disarm_timer(i);
        if (st.actions & ACT_RESET_ATTEMPTS)
                i->attempt = 0;
        if (st.actions & ACT_KILL) {
                log_msg(LOG_WARNING, i->name, "still running after stop-timeout, sending SIGKILL");
                signal_group(i, SIGKILL);
        }
        if (st.actions & ACT_SIGNAL_STOP) {
                probe_end(i);
                signal_group(i, i->worker->cfg->stop_signal);
                arm_timer(i, i->worker->cfg->stop_timeout);
        }
        if (st.actions & ACT_ARM_RETRY)
                entered_fatal(i);
        if (st.actions & ACT_ARM_BACKOFF)
                schedule_restart(i);
        if (st.actions & ACT_RESET_ATTEMPTS)
                circuit_reset(i);
        if (st.actions & ACT_SPAWN)
                do_spawn(i);
        if (st.state != old)
                check_required(i);

        if (i->worker->sup->shutting_down && sup_all_down(i->worker->sup))
                (void) sd_event_exit(i->worker->sup->event, 0);
}

void sup_event(Instance *i, FsmEvent ev) {
        dispatch(i, ev);
}

void sup_count(Instance *i, EventKind k) {
        win_add(&i->worker->window, k, now(i->worker->sup));
}

FsmReply sup_command(Instance *i, FsmEvent ev) {
        FsmInput in = { .pending_start = i->pending_start };
        FsmStep st = fsm_step(i->state, ev, &in);

        if (st.reply != REPLY_OK)
                return st.reply;
        dispatch(i, ev);
        return REPLY_OK;
}

void sup_reap_children(Supervisor *s) {
        for (;;) {
                siginfo_t si = { 0 };
                Instance *found = NULL;

                if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
                        return;
                for (size_t w = 0; w < s->n_workers && !found; w++)
                        for (unsigned k = 0; k < s->workers[w].n_instances; k++)
                                if (s->workers[w].instances[k].pid == si.si_pid) {
                                        found = &s->workers[w].instances[k];
                                        break;
                                }
                if (found) {
                        if (!instance_reap(found))
                                return; /* cannot happen: it is a zombie; do not spin */
                } else if (waitpid(si.si_pid, NULL, WNOHANG) > 0) {
                        s->orphans_reaped++;
                        log_debug("reaped orphan %d", (int) si.si_pid);
                }
        }
}

bool sup_all_down(const Supervisor *s) {
        for (size_t w = 0; w < s->n_workers; w++)
                for (unsigned k = 0; k < s->workers[w].n_instances; k++)
                        if (s->workers[w].instances[k].pid > 0)
                                return false;
        return true;
}

void sup_start_all(Supervisor *s) {
        for (size_t w = 0; w < s->n_workers; w++)
                if (s->workers[w].cfg->autostart)
                        for (unsigned k = 0; k < s->workers[w].n_instances; k++)
                                dispatch(&s->workers[w].instances[k], EV_START);
}

void sup_shutdown(Supervisor *s) {
        if (!s->shutting_down)
                log_info("stopping all workers");
        s->shutting_down = true;
        for (size_t w = 0; w < s->n_workers; w++)
                for (unsigned k = 0; k < s->workers[w].n_instances; k++) {
                        Instance *i = &s->workers[w].instances[k];
                        if (state_is_active(i->state))
                                dispatch(i, EV_STOP);
                        else
                                disarm_timer(i); /* no half-open retry while stopping */
                }
        if (sup_all_down(s))
                (void) sd_event_exit(s->event, 0);
}

Worker *sup_find_worker(Supervisor *s, const char *name) {
        for (size_t w = 0; w < s->n_workers; w++)
                if (strcmp(s->workers[w].cfg->name, name) == 0)
                        return &s->workers[w];
        return NULL;
}

int sup_find_instances(Supervisor *s, const char *name, Instance ***ret, size_t *ret_n) {
        Instance **l = NULL;
        size_t n = 0;

        for (size_t w = 0; w < s->n_workers; w++)
                for (unsigned k = 0; k < s->workers[w].n_instances; k++) {
                        Instance *i = &s->workers[w].instances[k], **nl;
                        if (strcmp(name, "all") != 0 && strcmp(name, i->name) != 0 &&
                            strcmp(name, s->workers[w].cfg->name) != 0)
                                continue;
                        nl = realloc(l, (n + 1) * sizeof(Instance *));
                        if (!nl) {
                                free(l);
                                return -ENOMEM;
                        }
                        l = nl;
                        l[n++] = i;
                }
        if (n == 0)
                return -ENOENT;
        *ret = l;
        *ret_n = n;
        return 0;
}

int sup_new(sd_event *e, Config *config, Supervisor **ret) {
        Supervisor *s;
        int r;

        s = calloc(1, sizeof(Supervisor));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(e);
        s->config = config;
        s->started_at = now(s);
        if (getrandom(&s->rng, sizeof s->rng, GRND_NONBLOCK) != sizeof s->rng || s->rng == 0)
                s->rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t) getpid() ^ s->started_at;
        s->workers = calloc(config->n_workers + 1, sizeof(Worker));
        if (!s->workers)
                return sup_free(s), -ENOMEM;
        if (conf_needs_http(config)) {
                r = http_new(e, &s->http);
                if (r < 0)
                        return sup_free(s), r;
        }
        for (size_t w = 0; w < config->n_workers; w++) {
                Worker *wk = &s->workers[w];

                wk->sup = s;
                wk->cfg = &config->workers[w];
                wk->instances = calloc(wk->cfg->instances, sizeof(Instance));
                if (!wk->instances)
                        return sup_free(s), -ENOMEM;
                wk->n_instances = wk->cfg->instances;
                win_init(&wk->window, s->started_at);
                s->n_workers++;
                for (unsigned k = 0; k < wk->n_instances; k++) {
                        Instance *i = &wk->instances[k];

                        i->worker = wk;
                        i->index = k;
                        i->pidfd = -1;
                        i->errpipe = -1;
                        i->state = STATE_STOPPED;
                        i->state_since = s->started_at;
                        if (wk->n_instances > 1)
                                snprintf(i->name, sizeof i->name, "%s:%u", wk->cfg->name, k);
                        else
                                snprintf(i->name, sizeof i->name, "%s", wk->cfg->name);
                        if (probe_init(i) < 0)
                                return sup_free(s), -ENOMEM;
                        if (wk->cfg->give_up_count > 0) {
                                i->restart_times = calloc(wk->cfg->give_up_count, sizeof(usec_t));
                                if (!i->restart_times)
                                        return sup_free(s), -ENOMEM;
                                i->n_restart_times = wk->cfg->give_up_count;
                        }
                }
        }
        *ret = s;
        return 0;
}

Supervisor *sup_free(Supervisor *s) {
        if (!s)
                return NULL;
        for (size_t w = 0; w < s->n_workers; w++) {
                for (unsigned k = 0; k < s->workers[w].n_instances; k++) {
                        Instance *i = &s->workers[w].instances[k];
                        i->timer = sd_event_source_disable_unref(i->timer);
                        child_gone(i);
                        probe_done(i);
                        free(i->restart_times);
                }
                free(s->workers[w].instances);
        }
        free(s->workers);
        http_free(s->http);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}
