/*
 * The supervisor: the worker table built from the configuration, and the actions of the
 * instance state machine (fsm.c) carried out with sd-event sources.  A reload is reload.c's,
 * on top of the worker table; whoever must know what happened (alerts, sd_notify, the state
 * file) observes the supervisor (SupObserver) and is never called by name.  Its structures are
 * in supervisor-impl.h, shared only with supervisor-view.c, which gives the others what they
 * read of it.
 *
 * Invariants:
 *   - an instance has a process (pid > 0, watched by the child registry, children.c) exactly
 *     in STARTING, RUNNING and STOPPING;
 *   - when a worker's main process ends, whatever is left in its process group is SIGKILLed
 *     while the main process is still a zombie (CHILD_KILL_GROUP), so the group id cannot have
 *     been reused; then whatever is left of its tree (proctree.c: its cgroup, or what its
 *     environment names), which catches what left the group (setsid, double fork).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "children.h"
#include "http.h"
#include "launch.h"
#include "log.h"
#include "looptime.h"
#include "output.h"
#include "parse.h"
#include "proctree.h"
#include "supervisor.h"
#include "supervisor-impl.h"

/* xorshift64*: jitter needs spread, not secrecy. */
static double random_unit(Supervisor *s) {
        s->rng ^= s->rng >> 12;
        s->rng ^= s->rng << 25;
        s->rng ^= s->rng >> 27;
        return (double) ((s->rng * 2685821657736338717ULL) >> 11) / (double) (1ULL << 53);
}

/* Tell every observer that has the hook: OBSERVE(s, hook, args after userdata...). */
#define OBSERVE(s, hook, ...)                                                                   \
        do {                                                                                    \
                for (size_t _o = 0; _o < (s)->n_observers; _o++)                                \
                        if ((s)->observers[_o].ops->hook)                                       \
                                (s)->observers[_o].ops->hook((s)->observers[_o].userdata,       \
                                                             ##__VA_ARGS__);                    \
        } while (0)

int sup_observe(Supervisor *s, const SupObserver *ops, void *userdata) {
        SupObserverSlot *l = reallocarray(s->observers, s->n_observers + 1, sizeof *l);

        if (!l)
                return -ENOMEM;
        s->observers = l;
        l[s->n_observers++] = (SupObserverSlot) { ops, userdata };
        return 0;
}

/* Something the state file records changed (a state, a pid, an operator stop). */
static void record_changed(Supervisor *s) {
        OBSERVE(s, record_changed);
}

static void dispatch(Instance *i, FsmEvent ev);
static void count_event(Instance *i, EventKind k);
static bool worker_down(const Worker *w);
static void schedule_cleanup(Supervisor *s);

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        Instance *i = userdata;

        (void) src, (void) usec;
        if (!instance_ready_timed_out(i))
                dispatch(i, EV_TIMER);
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
        /* a zero delay fires on the next loop iteration, not up to 1 ms later */
        (void) sd_event_source_set_time_accuracy(i->timer, delay > 0 ? USEC_PER_MSEC : 1);
        (void) sd_event_source_set_time(i->timer, loop_now(s->event) + delay);
        (void) sd_event_source_set_enabled(i->timer, SD_EVENT_ONESHOT);
}

static void disarm_timer(Instance *i) {
        if (i->timer)
                (void) sd_event_source_set_enabled(i->timer, SD_EVENT_OFF);
}

/* sig to the main process's group, or to an adopted one (MAINPID=, no group leader) itself */
static int signal_main(Instance *i, int sig) {
        if (i->adopted)
                return children_signal(i->worker->sup->children, i->pid, sig);
        return kill(-i->pid, sig) < 0 ? -errno : 0;
}

void instance_signal(Instance *i, int sig) {
        int r;

        if (i->pid <= 0)
                return;
        /* the group id is the main pid (setsid in the child); the main process is alive or a
         * zombie here, so the id still names our group */
        r = signal_main(i, sig);
        if (r < 0 && r != -ESRCH)
                log_msg(LOG_WARNING, i->name, "cannot send %s to process%s %d: %s",
                        SIGNAL_LABEL(sig), i->adopted ? "" : " group", (int) i->pid,
                        strerror(-r));
        if (sig != SIGKILL && sig != SIGCONT)
                (void) signal_main(i, SIGCONT);
        /* and every process of its tree that left the group */
        if (sig == SIGKILL)
                tree_kill(i->worker->sup->tree, i->name, i->pid);
        else
                tree_signal(i->worker->sup->tree, i->name, i->pid, sig);
}

static void describe_exit(const Instance *i, char *buf, size_t len) {
        if (!i->has_exited)
                snprintf(buf, len, "exit status unknown");
        else if (i->exit_oom)
                snprintf(buf, len, "oom");
        else if (i->exit_signal)
                snprintf(buf, len, "killed by %s", SIGNAL_LABEL(i->exit_signal));
        else
                snprintf(buf, len, "exit code %d", i->exit_code);
}

static bool exit_is_clean(const Instance *i) {
        return i->has_exited && clean_exits_test(&i->worker->cfg->clean, i->exit_code, i->exit_signal);
}

/* A oneshot's run to completion. */
static bool exit_is_done(const Instance *i) {
        return i->has_exited && !i->exit_signal && i->exit_code == 0;
}

static bool restart_wanted(const Instance *i, FsmEvent ev) {
        const WorkerConfig *w = i->worker->cfg;

        if (i->worker->sup->shutting_down || i->worker->retiring)
                return false;
        if (w->oneshot && ev == EV_EXIT && exit_is_done(i))
                return false; /* a oneshot that exited 0 has done its work */
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
        probe_end(&i->probe);
        if (i->ready)
                readiness_end(i->ready);
        if (i->mem)
                memwatch_end(i->mem);
        if (i->pid > 0) {
                children_forget(i->worker->sup->children, i->pid);
                tree_ended(i->worker->sup->tree, i->pid);
        }
        if (i->errpipe >= 0)
                close(i->errpipe);
        i->errpipe = -1;
        i->pid = 0;
        i->pid_start_time = 0;
        i->adopted = false;
}

/* Crash context: frozen when the run ended badly, forgotten when it ended well. */
static void end_output(Instance *i) {
        if (!exit_is_clean(i) && i->state != STATE_STOPPING)
                output_freeze(i->log_output, i->name, "the exit", &i->last_output);
        else if (!i->output_frozen) {
                free(i->last_output);
                i->last_output = NULL;
        }
}

/* The main process ended (the registry collected it and killed what was left of its group);
 * si NULL: an adopted one that was not our child, its status unknown (not a clean exit). */
void instance_main_exited(pid_t pid, const siginfo_t *si, void *userdata) {
        Instance *i = userdata;
        char reason[sizeof i->reason];
        bool spawn_failed;

        (void) pid;
        i->has_exited = si != NULL;
        i->exit_code = si && si->si_code == CLD_EXITED ? si->si_status : 0;
        i->exit_signal = si && si->si_code != CLD_EXITED ? si->si_status : 0;
        instance_check_oom(i);
        spawn_failed = launch_read_error(i->worker->cfg, i->errpipe, reason, sizeof reason);
        child_gone(i);
        /* nothing it started outlives it: a restart must not find its port taken */
        tree_kill(i->worker->sup->tree, i->name, 0);
        if (!spawn_failed) {
                end_output(i); /* before the events: alerts carry it */
                count_event(i, EVK_EXIT);
                if (!exit_is_clean(i) && i->state != STATE_STOPPING)
                        count_event(i, EVK_CRASH);
        }

        if (spawn_failed) {
                snprintf(i->reason, sizeof i->reason, "%s", reason);
                dispatch(i, EV_SPAWN_FAILED);
        } else {
                if (i->state == STATE_STARTING && !(i->worker->cfg->oneshot && exit_is_done(i)))
                        snprintf(i->reason, sizeof i->reason, "exited too quickly");
                else
                        i->reason[0] = '\0';
                dispatch(i, EV_EXIT);
        }
}

static void do_spawn(Instance *i) {
        Supervisor *s = i->worker->sup;
        _cleanup_free_ char *tree_env = NULL;
        _cleanup_close_ int cgroup_fd = -1;
        OutputSpec output;
        char *const *extra_env;
        pid_t pid;
        int errpipe, ready_fd, cgroup_write, r;

        i->reason[0] = '\0';
        i->restart_cause = RESTART_CRASH;
        cgroup_write = tree_prepare(s->tree, i->name, &tree_env, &cgroup_fd);
        if (cgroup_write < 0) {
                snprintf(i->reason, sizeof i->reason, "out of memory");
                i->spawn_attempted = true;
                dispatch(i, EV_SPAWN_FAILED);
                return;
        }
        instance_set_limits(i, true);
        r = instance_ready_begin(i, &extra_env, &ready_fd);
        if (r >= 0)
                r = launch_instance(&(LaunchSpec) {
                                    .cfg = i->worker->cfg,
                                    .index = i->index,
                                    .name = i->name,
                                    .output = sup_output_spec(i, &output),
                                    .log_output = &i->log_output,
                                    .env_warned = &i->worker->env_warned,
                                    .event = s->event,
                                    .extra_env = extra_env,
                                    .ready_fd = ready_fd,
                                    .line_watch = i->ready && i->ready->log ? readiness_line
                                                                            : NULL,
                                    .line_data = i->ready,
                                    .tree_env = tree_env,
                                    .cgroup_fd = &cgroup_fd,
                                    .cgroup_by_write = cgroup_write > 0,
                            },
                            &pid, &errpipe, i->reason, sizeof i->reason);
        if (r < 0) {
                if (i->ready)
                        readiness_end(i->ready);
                i->spawn_attempted = true;
                dispatch(i, EV_SPAWN_FAILED);
                return;
        }
        r = children_watch(s->children, pid, CHILD_KILL_GROUP, instance_main_exited, i);
        if (r < 0) {
                /* cannot watch it: do not leave it running unsupervised */
                snprintf(i->reason, sizeof i->reason, "cannot watch process: %s", strerror(-r));
                (void) kill(-pid, SIGKILL);
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                close(errpipe);
                dispatch(i, EV_SPAWN_FAILED);
                return;
        }
        i->pid = pid;
        i->errpipe = errpipe;
        i->output_frozen = false;
        tree_started(s->tree, pid);
        i->started_at = loop_now(s->event);
        i->spawn_attempted = true;
        if (i->ready)
                readiness_spawned(i->ready, pid);
        log_fields(LOG_DEBUG, i->name, "spawned", LOG_KV(LF_I("pid", pid)), "spawned pid %d",
                   (int) pid);
        if (i->mem)
                memwatch_begin(i->mem, pid);
        if (instance_ready_by_process(i)) {
                /* READY=1 or the line on fd N makes it RUNNING; probes only watch its health */
                if (i->probe.url)
                        probe_begin(&i->probe, i->started_at);
                if (i->worker->cfg->ready_timeout > 0)
                        arm_timer(i, i->worker->cfg->ready_timeout);
        } else if (i->probe.url && i->worker->cfg->ready == WREADY_STARTED) {
                probe_begin(&i->probe, i->started_at);
                arm_timer(i, i->worker->cfg->start_secs);
        } else if (i->probe.url)
                /* with probes, the first good answer makes it RUNNING, not start-secs */
                probe_begin(&i->probe, i->started_at);
        else if (i->worker->cfg->start_secs == 0)
                dispatch(i, EV_TIMER);
        else
                arm_timer(i, i->worker->cfg->start_secs);
}

static void schedule_restart(Instance *i) {
        const WorkerConfig *w = i->worker->cfg;
        Supervisor *s = i->worker->sup;
        char buf[32];
        usec_t delay, ran = i->started_at ? loop_now(s->event) - i->started_at : 0;

        i->attempt = backoff_attempt_after_run(&w->backoff, i->attempt, ran);
        delay = backoff_delay(&w->backoff, i->attempt, random_unit(s));
        if (i->attempt < UINT32_MAX)
                i->attempt++;
        i->restarts++;
        i->restarts_by[i->restart_cause]++;
        i->restart_cause = RESTART_CRASH;
        count_event(i, EVK_RESTART);
        circuit_record(&i->circuit, loop_now(s->event));
        i->next_retry_at = loop_now(s->event) + delay;
        log_fields(LOG_INFO, i->name, "restart-scheduled",
                   LOG_KV(LF_D("delay_ms", (double) delay / USEC_PER_MSEC),
                          LF_I("attempt", i->attempt)),
                   "restarting in %s (attempt %u)", format_duration(buf, sizeof buf, delay),
                   i->attempt);
        /*
         * Even a zero delay goes through the loop: spawning from here, inside the SIGCHLD scan,
         * let crash-looping workers (backoff 0) keep that scan busy for ever, and the control
         * socket, the log pipes and the watchdog went unserved.
         */
        arm_timer(i, delay);
}

static bool gives_up(const Instance *i) {
        return circuit_gives_up(&i->circuit, loop_now(i->worker->sup->event),
                                i->worker->cfg->give_up_within);
}

/* Entered FATAL: say why, arm the half-open retry, and end upkeepd for a required worker. */
static void entered_fatal(Instance *i) {
        const WorkerConfig *w = i->worker->cfg;
        Supervisor *s = i->worker->sup;
        char buf[32], within[32];

        if (w->give_up_count > 0 && gives_up(i)) {
                snprintf(i->reason, sizeof i->reason, "gave up after %u restarts within %s%s",
                         w->give_up_count, format_duration(within, sizeof within, w->give_up_within),
                         i->circuit.half_open ? " (half-open attempt failed)" : "");
                log_fields(LOG_ERR, i->name, "gave-up",
                           LOG_KV(LF_I("restarts", w->give_up_count),
                                  LF_D_IF(w->retry_after, "retry_after_ms",
                                          (double) w->retry_after / USEC_PER_MSEC)),
                           "%s: circuit open%s%s", i->reason,
                           w->retry_after ? ", retrying in " : "",
                           w->retry_after ? format_duration(buf, sizeof buf, w->retry_after)
                                          : "");
        }
        i->circuit.half_open = false;
        OBSERVE(s, circuit_opened, i->worker, i);
        if (w->retry_after > 0 && !s->shutting_down && !i->worker->retiring) {
                i->next_retry_at = loop_now(s->event) + w->retry_after;
                arm_timer(i, w->retry_after);
        }
}

/* A required worker that will not run again ends upkeepd, with its exit status. */
static void check_required(Instance *i) {
        Supervisor *s = i->worker->sup;

        if (!i->worker->cfg->required || s->shutting_down || i->worker->retiring)
                return;
        if (i->state != STATE_FATAL && i->state != STATE_EXITED)
                return;
        if (i->worker->cfg->oneshot && i->state == STATE_EXITED && exit_is_done(i))
                return; /* done, as it should be */
        s->exit_code = i->exit_signal ? 128 + i->exit_signal : i->exit_code;
        if (s->exit_code == 0 && i->state == STATE_FATAL)
                s->exit_code = 1;
        log_fields(LOG_ERR, i->name, "required-failed", LOG_KV(LF_I("exit_status", s->exit_code)),
                   "required worker is %s, stopping everything (exit status %d)",
                   state_to_string(i->state), s->exit_code);
        sup_shutdown(s);
}

/* The circuit follows the transition: the half-open attempt begins, or it started well. */
static void circuit_follow(Instance *i, InstanceState old, InstanceState next, FsmEvent ev) {
        switch (circuit_step(&i->circuit, old, next, ev)) {
        case CIRCUIT_HALF_OPEN:
                i->circuit.half_open = true;
                log_event(LOG_NOTICE, i->name, "half-open", "retry-after elapsed: one half-open "
                          "attempt");
                break;
        case CIRCUIT_CLOSES:
                log_event(LOG_NOTICE, i->name, "circuit-closed", "half-open attempt started "
                          "well: circuit closed");
                circuit_reset(&i->circuit);
                break;
        default:
                break;
        }
}

/* The end of a process (or of its spawn) changed the state: what ended it, and how. */
static void log_ended(const Instance *i, InstanceState old, FsmEvent ev) {
        bool code = ev == EV_EXIT && i->has_exited && !i->exit_signal;
        char what[64];

        describe_exit(i, what, sizeof what);
        log_fields(i->state == STATE_FATAL ? LOG_ERR : LOG_NOTICE, i->name, "state-change",
                   LOG_KV(LF_S("from", state_to_string(old)),
                          LF_S("to", state_to_string(i->state)),
                          LF_S("cause", ev == EV_EXIT ? "exit" : "spawn-failed"),
                          LF_I_IF(code, "exit_code", i->exit_code),
                          LF_S("signal", ev == EV_EXIT && i->exit_signal
                                                 ? SIGNAL_NAME(i->exit_signal)
                                                 : NULL),
                          LF_S("reason", i->reason[0] ? i->reason : NULL)),
                   "%s -> %s (%s)", state_to_string(old), state_to_string(i->state),
                   ev == EV_SPAWN_FAILED ? i->reason : what);
}

/* One "state-change" event per transition; its fields say why. */
static void log_transition(const Instance *i, InstanceState old, FsmEvent ev) {
        const char *from = state_to_string(old), *to = state_to_string(i->state);

        if (ev == EV_EXIT || ev == EV_SPAWN_FAILED)
                log_ended(i, old, ev);
        else if (ev == EV_UNHEALTHY)
                log_fields(LOG_NOTICE, i->name, "state-change",
                           LOG_KV(LF_S("from", from), LF_S("to", to),
                                  LF_S("cause", i->why ? "memory" : "unhealthy"),
                                  LF_S("reason", !i->why && i->reason[0] ? i->reason : NULL)),
                           i->why ? "%s -> %s (%s)" : "%s -> %s (%s, restarting)", from, to,
                           i->why ?: i->reason[0] ? i->reason : "unhealthy");
        else if (i->state == STATE_RUNNING)
                log_fields(LOG_INFO, i->name, "state-change",
                           LOG_KV(LF_S("from", from), LF_S("to", to), LF_I("pid", i->pid)),
                           "%s -> %s (pid %d)", from, to, (int) i->pid);
        else
                log_fields(LOG_INFO, i->name, "state-change",
                           LOG_KV(LF_S("from", from), LF_S("to", to)), "%s -> %s", from, to);
}

/* The transition's actions, in a fixed order. */
static void run_actions(Instance *i, unsigned actions) {
        if (actions & ACT_DISARM)
                disarm_timer(i);
        if (actions & ACT_RESET_ATTEMPTS)
                i->attempt = 0;
        if (actions & ACT_KILL) {
                log_event(LOG_WARNING, i->name, "stop-timeout",
                          "still running after stop-timeout, sending SIGKILL");
                instance_signal(i, SIGKILL);
        }
        if (actions & ACT_SIGNAL_STOP) {
                probe_end(&i->probe);
                instance_signal(i, i->worker->cfg->stop_signal);
                arm_timer(i, i->worker->cfg->stop_timeout);
        }
        if (actions & ACT_ARM_RETRY)
                entered_fatal(i);
        if ((actions & ACT_ARM_WAIT) && i->worker->cfg->wait_timeout > 0)
                arm_timer(i, i->worker->cfg->wait_timeout);
        if (actions & ACT_WAIT_TIMEOUT)
                instance_wait_timed_out(i);
        if (actions & ACT_ARM_BACKOFF)
                schedule_restart(i);
        if (actions & ACT_RESET_ATTEMPTS)
                circuit_reset(&i->circuit);
        if (actions & ACT_SPAWN)
                do_spawn(i);
}

/* Apply one transition: log it once, carry out its actions, then tell who needs to know. */
static void dispatch(Instance *i, FsmEvent ev) {
        Supervisor *s = i->worker->sup;
        bool ends = ev == EV_EXIT || ev == EV_SPAWN_FAILED;
        FsmInput in = {
                .restart_wanted = ends && restart_wanted(i, ev),
                .pending_start = i->pending_start,
                .pending_backoff = i->pending_backoff,
                .give_up = ends && gives_up(i),
        };
        FsmStep st = fsm_step(i->state, ev, &in);
        InstanceState old = i->state;

        if ((st.actions & ACT_SPAWN) && s->gate && !s->gate->may_start(s->gate_userdata, i)) {
                in.deps_unmet = true; /* a worker it comes after is not ready: WAITING */
                st = fsm_step(i->state, ev, &in);
        }
        i->pending_start = st.pending_start;
        i->pending_backoff = st.pending_backoff;
        circuit_follow(i, old, st.state, ev);
        if (st.state != old) {
                i->state = st.state;
                i->state_since = loop_now(s->event);
                log_transition(i, old, ev);
        }
        run_actions(i, st.actions);
        if (st.state != old) {
                record_changed(s);
                check_required(i);
                OBSERVE(s, instance_changed, i, old);
                if (i->worker->retiring && worker_down(i->worker))
                        schedule_cleanup(s);
        }
        if (s->shutting_down && sup_all_down(s))
                (void) sd_event_exit(s->event, 0);
}

void instance_dispatch(Instance *i, FsmEvent ev) {
        dispatch(i, ev);
}

void instance_count_event(Instance *i, EventKind k) {
        count_event(i, k);
}

void instance_record_changed(Instance *i) {
        record_changed(i->worker->sup);
}

/* Count n events in the worker's sliding windows, told to the observers once. */
static void count_events(Instance *i, EventKind k, unsigned n) {
        Worker *w = i->worker;

        /* most workers never see an event: their 1.5 KB of windows come with the first one */
        if (!w->window) {
                w->window = malloc(sizeof(Window));
                if (!w->window) {
                        log_msg(LOG_ERR, i->name, "out of memory, event not counted");
                        return;
                }
                win_init(w->window, loop_now(w->sup->event));
        }
        win_add_n(w->window, k, n, loop_now(w->sup->event));
        OBSERVE(w->sup, event_counted, w, i, k);
}

static void count_event(Instance *i, EventKind k) {
        count_events(i, k, 1);
}

/* The log writer counted application errors in o (once per batch): the instance writing there
 * (the newest, when a replacement shares the file) gets them in its worker's windows. */
static void on_app_errors(void *userdata, LogOutput *o, const unsigned n[_APPERR_MAX]) {
        Supervisor *s = userdata;
        unsigned total = 0;

        for (int k = 0; k < _APPERR_MAX; k++)
                total += n[k];
        for (size_t w = 0; w < s->n_workers; w++)
                for (unsigned k = 0; k < s->workers[w]->n_instances; k++)
                        if (s->workers[w]->instances[k].log_output == o) {
                                count_events(&s->workers[w]->instances[k], EVK_APP_ERROR, total);
                                return;
                        }
}

FsmReply sup_command(Instance *i, FsmEvent ev) {
        FsmInput in = { .pending_start = i->pending_start };
        FsmStep st = fsm_step(i->state, ev, &in);

        if (i->worker->sup->recovering) {
                /*
                 * A previous upkeepd's processes are still being stopped: a start now would run
                 * beside them.  Queued instead, started with everything else when they are gone.
                 * A stop cancels what would start then, the autostart included: answered "not
                 * running" and started a moment later, the operator's stop was lost.
                 */
                bool would_start = i->start_queued ||
                                   (i->worker->cfg->autostart && !i->admin_stopped);

                if (ev == EV_STOP && !would_start)
                        return REPLY_NOT_RUNNING;
                if (ev != EV_STOP && i->start_queued)
                        return REPLY_ALREADY_STARTED;
                i->start_queued = ev != EV_STOP;
                i->admin_stopped = ev == EV_STOP;
                record_changed(i->worker->sup);
                log_msg(LOG_INFO, i->name, "%s while processes of a previous upkeepd are "
                        "being stopped: %s", ev == EV_STOP ? "stopped" : "started",
                        ev == EV_STOP ? "will not start when they are gone"
                                      : "queued until they are gone");
                return REPLY_OK;
        }
        if (st.reply != REPLY_OK)
                return st.reply;
        /* remembered across reloads and upkeepd restarts: no autostart for it */
        i->admin_stopped = ev == EV_STOP;
        record_changed(i->worker->sup);
        if (ev != EV_STOP)
                i->stop_held = false;
        else if (instance_hold_stop(i))
                return REPLY_OK;
        dispatch(i, ev);
        if (ev == EV_RESTART)
                i->restarts_by[RESTART_MANUAL]++;
        return REPLY_OK;
}

void sup_reap_children(Supervisor *s) {
        s->orphans_reaped += children_scan(s->children);
}

static bool worker_down(const Worker *w) {
        for (unsigned k = 0; k < w->n_instances; k++)
                if (w->instances[k].pid > 0)
                        return false;
        return true;
}

bool sup_all_down(const Supervisor *s) {
        if (s->recovering)
                return false; /* a previous run's processes are ours to stop too */
        for (size_t w = 0; w < s->n_workers; w++)
                if (!worker_down(s->workers[w]))
                        return false;
        for (size_t w = 0; w < s->n_retiring; w++)
                if (!worker_down(s->retiring[w]))
                        return false;
        return true;
}

void sup_kill_all(Supervisor *s) {
        for (int pass = 0; pass < 2; pass++) {
                Worker **l = pass ? s->retiring : s->workers;
                size_t n = pass ? s->n_retiring : s->n_workers;

                for (size_t w = 0; w < n; w++)
                        for (unsigned k = 0; k < l[w]->n_instances; k++)
                                if (l[w]->instances[k].pid > 0) {
                                        (void) kill(-l[w]->instances[k].pid, SIGKILL);
                                        tree_kill(s->tree, l[w]->instances[k].name, 0);
                                }
        }
}

/*
 * Nothing starts while the processes of a previous upkeepd are being stopped (they may be this
 * very worker): sup_start_all() runs when they are gone, and starts what was queued meanwhile.
 */
void worker_start(Worker *w) {
        if (w->predecessor || w->sup->shutting_down || w->sup->recovering)
                return;
        for (unsigned k = 0; k < w->n_instances - w->spare; k++) { /* the spare: rolling.c */
                Instance *i = &w->instances[k];
                bool queued = i->start_queued;

                i->start_queued = false;
                if (queued || (w->cfg->autostart && !i->admin_stopped))
                        dispatch(i, EV_START);
        }
}

void sup_start_all(Supervisor *s) {
        for (size_t w = 0; w < s->n_workers; w++)
                worker_start(s->workers[w]);
        OBSERVE(s, instance_changed, NULL, _STATE_INVALID);
}

static void worker_stop(Worker *w) {
        for (unsigned k = 0; k < w->n_instances; k++) {
                Instance *i = &w->instances[k];
                if (instance_hold_stop(i))
                        continue; /* its dependents stop first */
                if (state_is_active(i->state))
                        dispatch(i, EV_STOP);
                else
                        disarm_timer(i); /* no half-open retry any more */
        }
}

void sup_shutdown(Supervisor *s) {
        if (!s->shutting_down) {
                OBSERVE(s, stopping);
                log_info("stopping all workers");
        }
        s->shutting_down = true;
        for (size_t w = 0; w < s->n_workers; w++)
                worker_stop(s->workers[w]);
        for (size_t w = 0; w < s->n_retiring; w++)
                worker_stop(s->retiring[w]);
        if (sup_all_down(s))
                (void) sd_event_exit(s->event, 0);
}

int sup_find_instances(Supervisor *s, const char *name, Instance ***ret, size_t *ret_n) {
        Instance **l = NULL;
        size_t n = 0;

        for (size_t w = 0; w < s->n_workers; w++)
                for (unsigned k = 0; k < s->workers[w]->n_instances; k++) {
                        Instance *i = &s->workers[w]->instances[k], **nl;
                        if (strcmp(name, "all") != 0 && strcmp(name, i->name) != 0 &&
                            strcmp(name, s->workers[w]->cfg->name) != 0)
                                continue;
                        if (i == worker_spare(s->workers[w]) && i->pid <= 0 &&
                            strcmp(name, i->name) != 0)
                                continue; /* started by a roll only, or by its own name */
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

Worker *worker_free(Worker *w) {
        if (!w)
                return NULL;
        for (unsigned k = 0; k < w->n_instances; k++) {
                Instance *i = &w->instances[k];
                i->timer = sd_event_source_disable_unref(i->timer);
                child_gone(i);
                probe_done(&i->probe);
                if (i->mem)
                        memwatch_done(i->mem);
                free(i->mem);
                free(i->ready);
                tree_forget(w->sup->tree, i->name);
                i->log_output = output_release(i->log_output);
                free(i->last_output);
                circuit_done(&i->circuit);
        }
        free(w->instances);
        free(w->window);
        OBSERVE(w->sup, worker_removed, w);
        free(w);
        return NULL;
}

int worker_new(Supervisor *s, const WorkerConfig *cfg, Worker **ret) {
        Worker *wk = calloc(1, sizeof(Worker));

        if (!wk)
                return -ENOMEM;
        wk->sup = s;
        wk->cfg = cfg;
        wk->spare = cfg->rolling.surge > 0 && cfg->instances > 1;
        wk->instances = calloc(cfg->instances + wk->spare, sizeof(Instance));
        if (!wk->instances) {
                free(wk);
                return -ENOMEM;
        }
        wk->n_instances = cfg->instances + wk->spare;
        for (unsigned k = 0; k < wk->n_instances; k++) {
                Instance *i = &wk->instances[k];

                i->worker = wk;
                i->index = k;
                i->errpipe = -1;
                i->state = STATE_STOPPED;
                i->state_since = loop_now(s->event);
                if (wk->n_instances > 1)
                        snprintf(i->name, sizeof i->name, "%s:%u", cfg->name, k);
                else
                        snprintf(i->name, sizeof i->name, "%s", cfg->name);
                if (instance_configure(i) < 0) {
                        worker_free(wk);
                        return -ENOMEM;
                }
        }
        *ret = wk;
        return 0;
}

/*
 * Runs from a defer source, never from inside a worker's own callbacks: frees retired workers
 * whose processes are all gone, starts the workers that were waiting for them, and drops the
 * configuration snapshots nobody references any more.
 */
static int on_cleanup(sd_event_source *src, void *userdata) {
        Supervisor *s = userdata;
        size_t keep = 0;

        (void) src;
        for (size_t r = 0; r < s->n_retiring; r++) {
                Worker *old = s->retiring[r];

                if (!worker_down(old)) {
                        s->retiring[keep++] = old;
                        continue;
                }
                for (size_t w = 0; w < s->n_workers; w++)
                        if (s->workers[w]->predecessor == old) {
                                s->workers[w]->predecessor = NULL;
                                worker_start(s->workers[w]);
                        }
                worker_free(old);
        }
        s->n_retiring = keep;
        if (s->n_retiring == 0 && !sup_old_configs_needed(s)) {
                for (size_t c = 0; c < s->n_old_configs; c++)
                        conf_free(s->old_configs[c]);
                s->n_old_configs = 0;
        }
        OBSERVE(s, instance_changed, NULL, _STATE_INVALID);
        return 0;
}

static void schedule_cleanup(Supervisor *s) {
        if (s->cleanup)
                (void) sd_event_source_set_enabled(s->cleanup, SD_EVENT_ONESHOT);
}

void worker_succeed(Worker *w, Worker *old) {
        w->predecessor = old;
        for (unsigned i = 0; i < old->n_instances - old->spare && i < w->n_instances; i++) {
                Instance *o = &old->instances[i];

                w->instances[i].admin_stopped = o->admin_stopped;
                /* the same instance to whoever counts its restarts, one more of them */
                memcpy(w->instances[i].restarts_by, o->restarts_by, sizeof o->restarts_by);
                w->instances[i].restarts_by[RESTART_RELOAD] += state_is_active(o->state);
        }
}

void worker_reconfigure(Worker *w, const WorkerConfig *cfg) {
        w->cfg = cfg;
        for (unsigned k = 0; k < w->n_instances; k++)
                if (instance_configure(&w->instances[k]) < 0)
                        log_msg(LOG_ERR, w->instances[k].name,
                                "out of memory applying the new settings");
}

void worker_retire(Worker *w) {
        Supervisor *s = w->sup;

        s->retiring[s->n_retiring++] = w;
        w->retiring = true;
        worker_stop(w);
}

int sup_reserve(Supervisor *s, const Config *config) {
        Config **oc;
        Worker **ret;

        oc = realloc(s->old_configs, (s->n_old_configs + 1) * sizeof(Config *));
        if (!oc)
                return -ENOMEM;
        s->old_configs = oc;
        ret = realloc(s->retiring, (s->n_retiring + s->n_workers + 1) * sizeof(Worker *));
        if (!ret)
                return -ENOMEM;
        s->retiring = ret;
        if (conf_needs_http(config) && !s->http)
                return http_new(s->event, &s->http);
        return 0;
}

void sup_switch(Supervisor *s, Config *config, Worker **workers) {
        s->old_configs[s->n_old_configs++] = s->config;
        s->config = config;
        log_setup(config); /* log-format, log-level, log-file may have changed */
        for (size_t w = 0; w < s->n_retiring; w++)
                OBSERVE(s, worker_removed, s->retiring[w]);
        OBSERVE(s, config_applied, config, s->http);
        free(s->workers);
        s->workers = workers;
        s->n_workers = config->n_workers;
        schedule_cleanup(s);
}

void sup_reload_begins(Supervisor *s) {
        OBSERVE(s, reloading);
}

void sup_reload_ends(Supervisor *s) {
        OBSERVE(s, reloaded);
}

int sup_new(sd_event *e, Config *config, Supervisor **ret) {
        Supervisor *s;
        int r;

        s = calloc(1, sizeof(Supervisor));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(e);
        s->config = config;
        s->started_at = loop_now(s->event);
        r = children_new(e, &s->children);
        if (r < 0)
                return sup_free(s), r;
        r = tree_new(&s->tree);
        if (r < 0)
                return sup_free(s), r;
        if (getrandom(&s->rng, sizeof s->rng, GRND_NONBLOCK) != sizeof s->rng || s->rng == 0)
                s->rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t) getpid() ^ s->started_at;
        r = sd_event_add_defer(e, &s->cleanup, on_cleanup, s);
        if (r < 0)
                return sup_free(s), r;
        (void) sd_event_source_set_enabled(s->cleanup, SD_EVENT_OFF);
        (void) sd_event_source_set_description(s->cleanup, "retire-workers");
        s->workers = calloc(config->n_workers + 1, sizeof(Worker *));
        if (!s->workers)
                return sup_free(s), -ENOMEM;
        output_set_app_errors_hook(on_app_errors, s);
        if (conf_needs_http(config)) {
                r = http_new(e, &s->http);
                if (r < 0)
                        return sup_free(s), r;
        }
        for (size_t w = 0; w < config->n_workers; w++) {
                r = worker_new(s, &config->workers[w], &s->workers[w]);
                if (r < 0)
                        return sup_free(s), r;
                s->n_workers++;
        }
        *ret = s;
        return 0;
}

Supervisor *sup_free(Supervisor *s) {
        if (!s)
                return NULL;
        s->n_observers = 0; /* they go first (upkeepd.c), and are not told of the teardown */
        output_set_app_errors_hook(NULL, NULL);
        for (size_t w = 0; w < s->n_workers; w++)
                worker_free(s->workers[w]);
        for (size_t w = 0; w < s->n_retiring; w++)
                worker_free(s->retiring[w]);
        for (size_t c = 0; c < s->n_old_configs; c++)
                conf_free(s->old_configs[c]);
        free(s->workers);
        free(s->retiring);
        free(s->old_configs);
        conf_free(s->config);
        free(s->observers);
        sd_event_source_disable_unref(s->cleanup);
        http_free(s->http);
        children_free(s->children); /* after everything that watches a process */
        tree_free(s->tree);          /* waits a bounded time for the last cgroups to empty */
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

OutputSpec *sup_output_spec(const Instance *i, OutputSpec *ret) {
        const WorkerConfig *w = i->worker->cfg;

        *ret = (OutputSpec) {
                .instance = i->name,
                .worker = w->name,
                .index = i->index,
                .numbered = w->instances > 1,
                .log_dir = w->log_dir,
                .log_file = w->log_file,
                .log = &w->log,
                .errors = &w->errors,
        };
        return ret;
}
