/*
 * The instance state machine of DESIGN.md section 4 as one pure function: (state, event, a few
 * facts) -> (next state, actions).  The supervisor performs the actions; tests call fsm_step()
 * directly.  Names follow supervisord so its users recognise them.
 */
#pragma once

#include <stdbool.h>

typedef enum InstanceState {
        STATE_STOPPED,
        STATE_STARTING,
        STATE_RUNNING,
        STATE_BACKOFF,
        STATE_STOPPING,
        STATE_EXITED,
        STATE_FATAL,
        STATE_WAITING,  /* would start, but a worker it comes after is not ready yet */
        _STATE_MAX,
        _STATE_INVALID = -1,
} InstanceState;

typedef enum FsmEvent {
        EV_START,        /* admin start, or autostart */
        EV_STOP,         /* admin stop, or shutdown */
        EV_RESTART,      /* admin restart */
        EV_SPAWN_FAILED, /* could not fork, or the child failed before exec */
        EV_EXIT,         /* the main process exited */
        EV_TIMER,        /* the instance's one timer fired; its meaning depends on the state */
        EV_HEALTHY,      /* a good probe answer (healthy, or degraded when that is tolerated) */
        EV_UNHEALTHY,    /* the failure threshold of the probes was reached */
        EV_DEPS_READY,   /* WAITING: every worker it comes after is ready now */
        _EV_MAX,
        _EV_INVALID = -1,
} FsmEvent;

typedef enum FsmAction {
        ACT_NONE = 0,
        ACT_SPAWN = 1 << 0,          /* fork and exec now */
        ACT_ARM_START = 1 << 1,      /* arm the timer for start-secs */
        ACT_ARM_BACKOFF = 1 << 2,    /* compute the next delay and arm the timer */
        ACT_SIGNAL_STOP = 1 << 3,    /* stop-signal to the group, arm the stop-timeout timer */
        ACT_KILL = 1 << 4,           /* SIGKILL to the group */
        ACT_DISARM = 1 << 5,         /* disarm the timer */
        ACT_RESET_ATTEMPTS = 1 << 6, /* admin action: backoff starts over */
        ACT_COUNT_RESTART = 1 << 7,  /* an automatic restart is scheduled */
        ACT_ARM_RETRY = 1 << 8,      /* circuit open: arm the timer for retry-after, if set */
        ACT_ARM_WAIT = 1 << 9,       /* entered WAITING: arm the timer for wait-timeout, if set */
        ACT_WAIT_TIMEOUT = 1 << 10,  /* WAITING for longer than wait-timeout: alert */
} FsmAction;

typedef enum FsmReply {
        REPLY_OK,
        REPLY_ALREADY_STARTED,
        REPLY_NOT_RUNNING,
        _REPLY_MAX,
} FsmReply;

typedef struct FsmInput {
        bool restart_wanted;  /* EV_EXIT, EV_SPAWN_FAILED: the policy wants a restart */
        bool pending_start;   /* an admin start is queued behind the current stop */
        bool pending_backoff; /* a restart through backoff is queued behind the current stop */
        bool give_up;         /* the circuit breaker says: no more restarts */
        bool deps_unmet;      /* a worker it comes after is not ready: a spawn becomes WAITING */
} FsmInput;

typedef struct FsmStep {
        InstanceState state;
        unsigned actions; /* FsmAction bits */
        bool pending_start;
        bool pending_backoff;
        FsmReply reply;
} FsmStep;

FsmStep fsm_step(InstanceState s, FsmEvent ev, const FsmInput *in);

const char *state_to_string(InstanceState s);
InstanceState state_from_string(const char *s);
/* STARTING, RUNNING, BACKOFF, STOPPING, WAITING: a process exists or will exist without admin action. */
bool state_is_active(InstanceState s);
const char *fsm_reply_to_string(FsmReply r);
