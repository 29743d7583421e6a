/*
 * Unit tests of the instance state machine (lib/fsm.h).  One table row per transition the
 * supervisor relies on, each run as its own test so a failure names the transition; then the
 * invariants of fsm.c's header checked over every (state, event, input) combination.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "fsm.h"
#include "macro.h"

#define S_STOPPED STATE_STOPPED
#define S_STARTING STATE_STARTING
#define S_RUNNING STATE_RUNNING
#define S_BACKOFF STATE_BACKOFF
#define S_STOPPING STATE_STOPPING
#define S_EXITED STATE_EXITED
#define S_FATAL STATE_FATAL

#define A_START (ACT_DISARM | ACT_RESET_ATTEMPTS | ACT_SPAWN)
#define A_BACKOFF (ACT_ARM_BACKOFF | ACT_COUNT_RESTART)
#define A_GIVE_UP (ACT_DISARM | ACT_ARM_RETRY)

typedef struct Transition {
        const char *name;
        InstanceState from;
        FsmEvent ev;
        FsmInput in;
        InstanceState to;
        unsigned actions;
        bool pending_start;
        bool pending_backoff;
        FsmReply reply;
} Transition;

#define RESTART { .restart_wanted = true }
#define GIVE_UP { .restart_wanted = true, .give_up = true }
#define PENDING_START { .pending_start = true }
#define PENDING_BACKOFF { .pending_backoff = true }
#define BOTH_PENDING { .pending_start = true, .pending_backoff = true }
#define BACKOFF_GIVE_UP { .pending_backoff = true, .give_up = true }
#define ONLY_GIVE_UP { .give_up = true }
#define NO_INPUT { 0 }

/* name, state, event, input, next state, actions, then what else is expected */
#define T(n, s, e, i, t, a, ...)                                                                \
        { .name = n, .from = s, .ev = e, .in = i, .to = t, .actions = a, __VA_ARGS__ }

static const Transition transitions[] = {
        /* admin start */
        T("STOPPED start", S_STOPPED, EV_START, NO_INPUT, S_STARTING, A_START),
        T("EXITED start", S_EXITED, EV_START, NO_INPUT, S_STARTING, A_START),
        T("FATAL start", S_FATAL, EV_START, NO_INPUT, S_STARTING, A_START),
        T("BACKOFF start", S_BACKOFF, EV_START, NO_INPUT, S_STARTING, A_START),
        T("RUNNING start: already started", S_RUNNING, EV_START, NO_INPUT, S_RUNNING, 0,
          .reply = REPLY_ALREADY_STARTED),
        T("STARTING start: already started", S_STARTING, EV_START, NO_INPUT, S_STARTING, 0,
          .reply = REPLY_ALREADY_STARTED),
        T("STOPPING start: queued", S_STOPPING, EV_START, NO_INPUT, S_STOPPING, 0,
          .pending_start = true),

        /* admin stop */
        T("RUNNING stop", S_RUNNING, EV_STOP, NO_INPUT, S_STOPPING, ACT_SIGNAL_STOP),
        T("STARTING stop", S_STARTING, EV_STOP, NO_INPUT, S_STOPPING, ACT_SIGNAL_STOP),
        T("BACKOFF stop", S_BACKOFF, EV_STOP, NO_INPUT, S_STOPPED, ACT_DISARM),
        T("STOPPED stop: not running", S_STOPPED, EV_STOP, NO_INPUT, S_STOPPED, 0,
          .reply = REPLY_NOT_RUNNING),
        T("EXITED stop: not running", S_EXITED, EV_STOP, NO_INPUT, S_EXITED, 0,
          .reply = REPLY_NOT_RUNNING),
        T("FATAL stop: not running", S_FATAL, EV_STOP, NO_INPUT, S_FATAL, 0,
          .reply = REPLY_NOT_RUNNING),
        T("STOPPING stop cancels a queued start", S_STOPPING, EV_STOP, PENDING_START, S_STOPPING,
          0),

        /* admin restart */
        T("RUNNING restart", S_RUNNING, EV_RESTART, NO_INPUT, S_STOPPING, ACT_SIGNAL_STOP,
          .pending_start = true),
        T("STARTING restart", S_STARTING, EV_RESTART, NO_INPUT, S_STOPPING, ACT_SIGNAL_STOP,
          .pending_start = true),
        T("STOPPING restart: queued", S_STOPPING, EV_RESTART, NO_INPUT, S_STOPPING, 0,
          .pending_start = true),
        T("STOPPED restart starts", S_STOPPED, EV_RESTART, NO_INPUT, S_STARTING, A_START),
        T("EXITED restart starts", S_EXITED, EV_RESTART, NO_INPUT, S_STARTING, A_START),
        T("FATAL restart starts", S_FATAL, EV_RESTART, NO_INPUT, S_STARTING, A_START),
        T("BACKOFF restart starts now", S_BACKOFF, EV_RESTART, NO_INPUT, S_STARTING, A_START),

        /* the one timer */
        T("STARTING timer: start-secs elapsed", S_STARTING, EV_TIMER, NO_INPUT, S_RUNNING,
          ACT_DISARM),
        T("BACKOFF timer: delay elapsed", S_BACKOFF, EV_TIMER, NO_INPUT, S_STARTING, ACT_SPAWN),
        T("STOPPING timer: stop-timeout elapsed", S_STOPPING, EV_TIMER, NO_INPUT, S_STOPPING,
          ACT_KILL),
        T("STOPPING timer keeps a queued start", S_STOPPING, EV_TIMER, PENDING_START, S_STOPPING,
          ACT_KILL, .pending_start = true),
        T("STOPPING timer keeps a queued backoff", S_STOPPING, EV_TIMER, PENDING_BACKOFF,
          S_STOPPING, ACT_KILL, .pending_backoff = true),
        T("FATAL timer: retry-after elapsed", S_FATAL, EV_TIMER, NO_INPUT, S_STARTING,
          ACT_SPAWN),
        T("RUNNING timer: ignored", S_RUNNING, EV_TIMER, NO_INPUT, S_RUNNING, 0),
        T("STOPPED timer: ignored", S_STOPPED, EV_TIMER, NO_INPUT, S_STOPPED, 0),
        T("EXITED timer: ignored", S_EXITED, EV_TIMER, NO_INPUT, S_EXITED, 0),

        /* probes */
        T("STARTING healthy", S_STARTING, EV_HEALTHY, NO_INPUT, S_RUNNING, ACT_DISARM),
        T("RUNNING healthy: nothing", S_RUNNING, EV_HEALTHY, NO_INPUT, S_RUNNING, 0),
        T("RUNNING unhealthy", S_RUNNING, EV_UNHEALTHY, NO_INPUT, S_STOPPING, ACT_SIGNAL_STOP,
          .pending_backoff = true),
        T("STARTING unhealthy", S_STARTING, EV_UNHEALTHY, NO_INPUT, S_STOPPING,
          ACT_SIGNAL_STOP, .pending_backoff = true),
        T("STOPPING healthy keeps what is queued", S_STOPPING, EV_HEALTHY,
          BOTH_PENDING, S_STOPPING, 0,
          .pending_start = true, .pending_backoff = true),

        /* the process exits on its own */
        T("RUNNING exit, restart wanted", S_RUNNING, EV_EXIT, RESTART, S_BACKOFF, A_BACKOFF),
        T("RUNNING exit, no restart", S_RUNNING, EV_EXIT, NO_INPUT, S_EXITED, ACT_DISARM),
        T("RUNNING exit, circuit open", S_RUNNING, EV_EXIT, GIVE_UP, S_FATAL, A_GIVE_UP),
        T("STARTING exit, restart wanted", S_STARTING, EV_EXIT, RESTART, S_BACKOFF, A_BACKOFF),
        T("STARTING exit, no restart", S_STARTING, EV_EXIT, NO_INPUT, S_EXITED, ACT_DISARM),
        T("RUNNING exit, give-up without restart", S_RUNNING, EV_EXIT, ONLY_GIVE_UP, S_EXITED,
          ACT_DISARM),

        /* spawn failures */
        T("STARTING spawn failed, restart wanted", S_STARTING, EV_SPAWN_FAILED, RESTART,
          S_BACKOFF, A_BACKOFF),
        T("STARTING spawn failed, no restart", S_STARTING, EV_SPAWN_FAILED, NO_INPUT, S_FATAL,
          ACT_DISARM),
        T("STARTING spawn failed, circuit open", S_STARTING, EV_SPAWN_FAILED, GIVE_UP, S_FATAL,
          A_GIVE_UP),

        /* the end of a stop */
        T("STOPPING exit", S_STOPPING, EV_EXIT, NO_INPUT, S_STOPPED, ACT_DISARM),
        T("STOPPING exit: an admin stop wins over the policy", S_STOPPING, EV_EXIT, RESTART,
          S_STOPPED, ACT_DISARM),
        T("STOPPING exit, start queued", S_STOPPING, EV_EXIT, PENDING_START, S_STARTING,
          A_START),
        T("STOPPING spawn failed, start queued", S_STOPPING, EV_SPAWN_FAILED, PENDING_START,
          S_STARTING, A_START),
        T("STOPPING exit, backoff queued", S_STOPPING, EV_EXIT, PENDING_BACKOFF, S_BACKOFF,
          A_BACKOFF),
        T("STOPPING exit, backoff queued, circuit open", S_STOPPING, EV_EXIT,
          BACKOFF_GIVE_UP, S_FATAL, A_GIVE_UP),
        T("STOPPING exit: a queued start wins over a queued backoff", S_STOPPING, EV_EXIT,
          BOTH_PENDING, S_STARTING, A_START),

        /* events that mean nothing in a state */
        T("STOPPED exit: ignored", S_STOPPED, EV_EXIT, RESTART, S_STOPPED, 0),
        T("BACKOFF exit: ignored", S_BACKOFF, EV_EXIT, RESTART, S_BACKOFF, 0),
        T("FATAL unhealthy: ignored", S_FATAL, EV_UNHEALTHY, NO_INPUT, S_FATAL, 0),
};

static const char *const event_names[_EV_MAX] = {
        [EV_START] = "start",   [EV_STOP] = "stop",       [EV_RESTART] = "restart",
        [EV_SPAWN_FAILED] = "spawn-failed", [EV_EXIT] = "exit", [EV_TIMER] = "timer",
        [EV_HEALTHY] = "healthy", [EV_UNHEALTHY] = "unhealthy", [EV_DEPS_READY] = "deps-ready",
};

static void test_transition(void **state) {
        const Transition *t = *state;
        FsmStep r = fsm_step(t->from, t->ev, &t->in);

        if (r.state != t->to || r.actions != t->actions || r.pending_start != t->pending_start ||
            r.pending_backoff != t->pending_backoff || r.reply != t->reply) {
                print_error("%s: %s + %s -> %s actions 0x%x pending %d/%d reply '%s'; "
                            "expected %s actions 0x%x pending %d/%d reply '%s'\n",
                            t->name, state_to_string(t->from), event_names[t->ev],
                            state_to_string(r.state), r.actions, r.pending_start,
                            r.pending_backoff, fsm_reply_to_string(r.reply),
                            state_to_string(t->to), t->actions, t->pending_start,
                            t->pending_backoff, fsm_reply_to_string(t->reply));
                fail();
        }
}

static bool has_process(InstanceState s) {
        return s == STATE_STARTING || s == STATE_RUNNING || s == STATE_STOPPING;
}

static void check_invariants(InstanceState s, FsmEvent ev, const FsmInput *in) {
        FsmStep r = fsm_step(s, ev, in);
        const char *why = NULL;

        if (r.state < 0 || r.state >= _STATE_MAX)
                why = "the next state is out of range";
        else if (r.reply >= _REPLY_MAX)
                why = "the reply is out of range";
        else if (r.reply != REPLY_OK && (r.state != s || r.actions != 0))
                why = "a refusal changes something";
        /* a process exists exactly in STARTING, RUNNING and STOPPING */
        else if ((r.actions & ACT_SPAWN) && r.state != STATE_STARTING)
                why = "a spawn does not lead to STARTING";
        else if (!has_process(s) && has_process(r.state) && !(r.actions & ACT_SPAWN))
                why = "a process appears without a spawn";
        else if (has_process(s) && !has_process(r.state) && ev != EV_EXIT &&
                 ev != EV_SPAWN_FAILED)
                why = "a process disappears without an exit";
        else if (has_process(s) && (r.actions & ACT_SPAWN) && ev != EV_EXIT &&
                 ev != EV_SPAWN_FAILED)
                why = "a second process is spawned while one exists";
        /* the timer is disarmed in every state that does not use it */
        else if (r.state != s && (r.state == STATE_STOPPED || r.state == STATE_EXITED ||
                                  r.state == STATE_RUNNING) && !(r.actions & ACT_DISARM))
                why = "entering a state without a timer leaves the timer armed";
        else if (r.state != s && r.state == STATE_FATAL && !(r.actions & ACT_DISARM))
                why = "entering FATAL leaves the previous timer armed";
        else if (r.state != s && r.state == STATE_BACKOFF && !(r.actions & ACT_ARM_BACKOFF))
                why = "entering BACKOFF without arming the delay";
        else if (r.state != s && r.state == STATE_STOPPING && !(r.actions & ACT_SIGNAL_STOP))
                why = "entering STOPPING without the stop signal";
        else if ((r.actions & ACT_COUNT_RESTART) && r.state != STATE_BACKOFF)
                why = "a restart is counted outside BACKOFF";
        /* an admin start resets the backoff sequence, an automatic restart never does */
        else if ((r.actions & ACT_RESET_ATTEMPTS) && ev != EV_START && ev != EV_RESTART &&
                 !(s == STATE_STOPPING && in->pending_start))
                why = "an automatic restart resets the attempts";
        else if ((ev == EV_START || ev == EV_RESTART) && r.state != s &&
                 r.state == STATE_STARTING && !(r.actions & ACT_RESET_ATTEMPTS))
                why = "an admin start does not reset the attempts";
        /* waiting for the workers it comes after: no process, and the wait-timeout armed */
        else if (in->deps_unmet && (r.actions & ACT_SPAWN))
                why = "a spawn while a dependency is not ready";
        else if (r.state != s && r.state == STATE_WAITING && !(r.actions & ACT_ARM_WAIT))
                why = "entering WAITING without arming the wait-timeout";
        else if (s == STATE_WAITING && r.state == s && (r.actions & ACT_DISARM))
                why = "staying WAITING disarms the wait-timeout";
        else if (s == STATE_WAITING && ev == EV_STOP && r.state != STATE_STOPPED)
                why = "a stop leaves WAITING elsewhere than STOPPED";
        else if ((ev == EV_EXIT || ev == EV_SPAWN_FAILED) && in->restart_wanted && !in->give_up &&
                 (s == STATE_STARTING || s == STATE_RUNNING) && r.state != STATE_BACKOFF)
                why = "a wanted restart does not go through BACKOFF";

        if (why) {
                print_error("%s + %s (restart %d, pending %d/%d, give-up %d) -> %s 0x%x: %s\n",
                            state_to_string(s), event_names[ev], in->restart_wanted,
                            in->pending_start, in->pending_backoff, in->give_up,
                            state_to_string(r.state), r.actions, why);
                fail();
        }
}

static void test_invariants(void **state) {
        (void) state;
        for (int s = 0; s < _STATE_MAX; s++)
                for (int ev = 0; ev < _EV_MAX; ev++)
                        for (unsigned bits = 0; bits < 32; bits++) {
                                FsmInput in = {
                                        .restart_wanted = bits & 1,
                                        .pending_start = bits & 2,
                                        .pending_backoff = bits & 4,
                                        .give_up = bits & 8,
                                        .deps_unmet = bits & 16,
                                };

                                check_invariants((InstanceState) s, (FsmEvent) ev, &in);
                        }
}

static void test_state_names(void **state) {
        static const char *const names[_STATE_MAX] = {
                "STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED", "FATAL",
                "WAITING",
        };

        (void) state;
        for (int s = 0; s < _STATE_MAX; s++) {
                assert_string_equal(state_to_string((InstanceState) s), names[s]);
                assert_int_equal(state_from_string(names[s]), s);
                assert_int_equal(state_from_string(state_to_string((InstanceState) s)), s);
        }
        assert_string_equal(state_to_string(_STATE_MAX), "UNKNOWN");
        assert_string_equal(state_to_string(_STATE_INVALID), "UNKNOWN");
        assert_int_equal(state_from_string("running"), _STATE_INVALID);
        assert_int_equal(state_from_string(""), _STATE_INVALID);
        assert_int_equal(state_from_string("UNKNOWN"), _STATE_INVALID);
        assert_int_equal(state_from_string("RUNNING "), _STATE_INVALID);
}

static void test_active_states(void **state) {
        (void) state;
        assert_false(state_is_active(STATE_STOPPED));
        assert_true(state_is_active(STATE_STARTING));
        assert_true(state_is_active(STATE_RUNNING));
        assert_true(state_is_active(STATE_BACKOFF));
        assert_true(state_is_active(STATE_STOPPING));
        assert_false(state_is_active(STATE_EXITED));
        assert_false(state_is_active(STATE_FATAL));
        assert_false(state_is_active(_STATE_INVALID));
        assert_true(state_is_active(STATE_WAITING));
}

/*
 * A start while a dependency is not ready waits (no process), and so does the restart after a
 * backoff; readiness of the dependency spawns it; a stop while waiting kills nothing.
 */
static void test_waiting(void **state) {
        const FsmInput unmet = { .deps_unmet = true }, met = { 0 };
        FsmStep r;

        (void) state;
        r = fsm_step(STATE_STOPPED, EV_START, &unmet);
        assert_int_equal(r.state, STATE_WAITING);
        assert_false(r.actions & ACT_SPAWN);
        assert_true(r.actions & ACT_ARM_WAIT);
        r = fsm_step(STATE_BACKOFF, EV_TIMER, &unmet);
        assert_int_equal(r.state, STATE_WAITING);
        assert_false(r.actions & ACT_SPAWN);
        r = fsm_step(STATE_WAITING, EV_TIMER, &unmet);
        assert_int_equal(r.state, STATE_WAITING);
        assert_int_equal(r.actions, ACT_WAIT_TIMEOUT);
        r = fsm_step(STATE_WAITING, EV_DEPS_READY, &met);
        assert_int_equal(r.state, STATE_STARTING);
        assert_true(r.actions & ACT_SPAWN);
        assert_false(r.actions & ACT_RESET_ATTEMPTS); /* may come after a backoff */
        r = fsm_step(STATE_WAITING, EV_START, &unmet);
        assert_int_equal(r.state, STATE_WAITING);
        assert_false(r.actions & (ACT_SPAWN | ACT_DISARM));
        r = fsm_step(STATE_WAITING, EV_STOP, &unmet);
        assert_int_equal(r.state, STATE_STOPPED);
        assert_int_equal(r.actions, ACT_DISARM);
        r = fsm_step(STATE_STOPPING, EV_EXIT, &(FsmInput) { .pending_start = true,
                                                            .deps_unmet = true });
        assert_int_equal(r.state, STATE_WAITING);
        /* a process that exists is never touched by waiting */
        r = fsm_step(STATE_RUNNING, EV_TIMER, &unmet);
        assert_int_equal(r.state, STATE_RUNNING);
}

static void test_reply_names(void **state) {
        (void) state;
        assert_string_equal(fsm_reply_to_string(REPLY_OK), "ok");
        assert_string_equal(fsm_reply_to_string(REPLY_ALREADY_STARTED), "already started");
        assert_string_equal(fsm_reply_to_string(REPLY_NOT_RUNNING), "not running");
        assert_string_equal(fsm_reply_to_string(_REPLY_MAX), "unknown");
}

/* A crash loop, then an admin restart: the sequence of states the supervisor walks through. */
static void test_crash_loop_then_admin_restart(void **state) {
        const FsmInput none = { 0 }, restart = { .restart_wanted = true };
        InstanceState s = STATE_STOPPED;
        FsmStep r;

        (void) state;
        r = fsm_step(s, EV_START, &none);
        assert_int_equal(r.state, STATE_STARTING);
        for (int i = 0; i < 3; i++) {
                r = fsm_step(r.state, EV_EXIT, &restart);
                assert_int_equal(r.state, STATE_BACKOFF);
                assert_true(r.actions & ACT_COUNT_RESTART);
                r = fsm_step(r.state, EV_TIMER, &none);
                assert_int_equal(r.state, STATE_STARTING);
                assert_false(r.actions & ACT_RESET_ATTEMPTS);
        }
        r = fsm_step(r.state, EV_TIMER, &none);
        assert_int_equal(r.state, STATE_RUNNING);
        r = fsm_step(r.state, EV_RESTART, &none);
        assert_int_equal(r.state, STATE_STOPPING);
        assert_true(r.pending_start);
        r = fsm_step(r.state, EV_TIMER, &(FsmInput) { .pending_start = r.pending_start });
        assert_int_equal(r.actions, ACT_KILL);
        assert_true(r.pending_start);
        r = fsm_step(r.state, EV_EXIT, &(FsmInput) { .pending_start = r.pending_start });
        assert_int_equal(r.state, STATE_STARTING);
        assert_int_equal(r.actions, A_START);
}

int main(void) {
        static const struct CMUnitTest fixed[] = {
                cmocka_unit_test(test_invariants),
                cmocka_unit_test(test_state_names),
                cmocka_unit_test(test_active_states),
                cmocka_unit_test(test_reply_names),
                cmocka_unit_test(test_waiting),
                cmocka_unit_test(test_crash_loop_then_admin_restart),
        };
        struct CMUnitTest tests[ELEMENTSOF(transitions) + ELEMENTSOF(fixed)];

        for (size_t i = 0; i < ELEMENTSOF(transitions); i++)
                tests[i] = (struct CMUnitTest) {
                        .name = transitions[i].name,
                        .test_func = test_transition,
                        .initial_state = (void *) &transitions[i],
                };
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                tests[ELEMENTSOF(transitions) + i] = fixed[i];

        return cmocka_run_group_tests(tests, NULL, NULL);
}
