/*
 * The instance state machine (see fsm.h).  One switch over the state, one over the event inside
 * it, s6-supervise style: every transition is visible here and nowhere else.  Invariants the
 * supervisor relies on:
 *   - a process exists exactly in STARTING, RUNNING and STOPPING;
 *   - the instance timer means start-secs in STARTING, the delay in BACKOFF, the
 *     stop-timeout in STOPPING and retry-after in FATAL, and is disarmed in every other state;
 *   - an automatic restart goes through BACKOFF, unless the circuit breaker gives up: then
 *     FATAL, from which only retry-after (half-open) or an admin start leads out;
 *   - an admin start resets the backoff sequence, an automatic restart never does;
 *   - a spawn while a worker it comes after is not ready becomes WAITING instead (no process,
 *     the timer means wait-timeout), left by EV_DEPS_READY or a stop; waiting kills nothing.
 */
#include <string.h>

#include "fsm.h"
#include "macro.h"

static const char *const state_names[_STATE_MAX] = {
        [STATE_STOPPED] = "STOPPED",   [STATE_STARTING] = "STARTING", [STATE_RUNNING] = "RUNNING",
        [STATE_BACKOFF] = "BACKOFF",   [STATE_STOPPING] = "STOPPING", [STATE_EXITED] = "EXITED",
        [STATE_FATAL] = "FATAL",       [STATE_WAITING] = "WAITING",
};

const char *state_to_string(InstanceState s) {
        return s >= 0 && s < _STATE_MAX ? state_names[s] : "UNKNOWN";
}

InstanceState state_from_string(const char *s) {
        for (int i = 0; i < _STATE_MAX; i++)
                if (strcmp(state_names[i], s) == 0)
                        return (InstanceState) i;
        return _STATE_INVALID;
}

bool state_is_active(InstanceState s) {
        return s == STATE_STARTING || s == STATE_RUNNING || s == STATE_BACKOFF ||
               s == STATE_STOPPING || s == STATE_WAITING;
}

const char *fsm_reply_to_string(FsmReply r) {
        switch (r) {
        case REPLY_OK: return "ok";
        case REPLY_ALREADY_STARTED: return "already started";
        case REPLY_NOT_RUNNING: return "not running";
        default: return "unknown";
        }
}

static FsmStep step(InstanceState s, unsigned actions) {
        return (FsmStep) { .state = s, .actions = actions, .reply = REPLY_OK };
}

static FsmStep refuse(InstanceState s, FsmReply reply, bool pending) {
        return (FsmStep) { .state = s, .reply = reply, .pending_start = pending };
}

/* After an unexpected end of a process (or a failed spawn): back off, give up, or stay down. */
static FsmStep after_failure(const FsmInput *in, InstanceState if_no_restart) {
        if (in->restart_wanted && in->give_up)
                return step(STATE_FATAL, ACT_DISARM | ACT_ARM_RETRY);
        if (in->restart_wanted)
                return step(STATE_BACKOFF, ACT_ARM_BACKOFF | ACT_COUNT_RESTART);
        return step(if_no_restart, ACT_DISARM);
}

static FsmStep state_step(InstanceState s, FsmEvent ev, const FsmInput *in) {
        FsmStep r;

        switch (s) {
        case STATE_STOPPED:
        case STATE_EXITED:
        case STATE_FATAL:
                switch (ev) {
                case EV_START:
                case EV_RESTART:
                        return step(STATE_STARTING, ACT_DISARM | ACT_RESET_ATTEMPTS | ACT_SPAWN);
                case EV_TIMER:
                        /* retry-after elapsed: one half-open attempt */
                        if (s == STATE_FATAL)
                                return step(STATE_STARTING, ACT_SPAWN);
                        return refuse(s, REPLY_OK, false);
                case EV_STOP:
                        return refuse(s, REPLY_NOT_RUNNING, false);
                default:
                        return refuse(s, REPLY_OK, false);
                }

        case STATE_BACKOFF:
                switch (ev) {
                case EV_START:
                case EV_RESTART:
                        return step(STATE_STARTING, ACT_DISARM | ACT_RESET_ATTEMPTS | ACT_SPAWN);
                case EV_STOP:
                        return step(STATE_STOPPED, ACT_DISARM);
                case EV_TIMER:
                        return step(STATE_STARTING, ACT_SPAWN);
                default:
                        return refuse(s, REPLY_OK, false);
                }

        case STATE_STARTING:
        case STATE_RUNNING:
                switch (ev) {
                case EV_START:
                        return refuse(s, REPLY_ALREADY_STARTED, false);
                case EV_STOP:
                        return step(STATE_STOPPING, ACT_SIGNAL_STOP);
                case EV_RESTART:
                        r = step(STATE_STOPPING, ACT_SIGNAL_STOP);
                        r.pending_start = true;
                        return r;
                case EV_TIMER:
                case EV_HEALTHY:
                        if (s == STATE_STARTING)
                                return step(STATE_RUNNING, ACT_DISARM);
                        return refuse(s, REPLY_OK, false);
                case EV_UNHEALTHY:
                        r = step(STATE_STOPPING, ACT_SIGNAL_STOP);
                        r.pending_backoff = true;
                        return r;
                case EV_EXIT:
                        return after_failure(in, STATE_EXITED);
                case EV_SPAWN_FAILED:
                        return after_failure(in, STATE_FATAL);
                default:
                        return refuse(s, REPLY_OK, false);
                }

        case STATE_WAITING:
                switch (ev) {
                case EV_START:
                case EV_RESTART:
                        /* an operator's start: backoff starts over, and it still waits */
                        return step(STATE_STARTING, ACT_RESET_ATTEMPTS | ACT_SPAWN);
                case EV_DEPS_READY:
                        return step(STATE_STARTING, ACT_DISARM | ACT_SPAWN);
                case EV_STOP:
                        return step(STATE_STOPPED, ACT_DISARM);
                case EV_TIMER:
                        return step(STATE_WAITING, ACT_WAIT_TIMEOUT);
                default:
                        return refuse(s, REPLY_OK, false);
                }

        case STATE_STOPPING:
                switch (ev) {
                case EV_START:
                case EV_RESTART:
                        return refuse(s, REPLY_OK, true);
                case EV_STOP:
                        return refuse(s, REPLY_OK, false);
                case EV_TIMER:
                        r = step(STATE_STOPPING, ACT_KILL);
                        r.pending_start = in->pending_start;
                        r.pending_backoff = in->pending_backoff;
                        return r;
                case EV_EXIT:
                case EV_SPAWN_FAILED:
                        if (in->pending_start)
                                return step(STATE_STARTING,
                                            ACT_DISARM | ACT_RESET_ATTEMPTS | ACT_SPAWN);
                        if (in->pending_backoff) {
                                FsmInput again = *in;
                                again.restart_wanted = true;
                                return after_failure(&again, STATE_STOPPED);
                        }
                        return step(STATE_STOPPED, ACT_DISARM);
                default:
                        r = refuse(s, REPLY_OK, in->pending_start);
                        r.pending_backoff = in->pending_backoff;
                        return r;
                }

        default:
                return refuse(s, REPLY_OK, false);
        }
}

/* A spawn that must wait for the workers it comes after becomes WAITING, with no process. */
FsmStep fsm_step(InstanceState s, FsmEvent ev, const FsmInput *in) {
        FsmStep r = state_step(s, ev, in);

        if (in->deps_unmet && (r.actions & ACT_SPAWN)) {
                r.actions &= ~(unsigned) ACT_SPAWN;
                /* already waiting: its wait-timeout runs on */
                if (s == STATE_WAITING)
                        r.actions &= ~(unsigned) ACT_DISARM;
                else
                        r.actions |= ACT_DISARM | ACT_ARM_WAIT;
                r.state = STATE_WAITING;
        }
        return r;
}
