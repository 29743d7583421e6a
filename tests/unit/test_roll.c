/*
 * Unit tests of the rolling restart's decisions (lib/roll.h): one at a time by default, the
 * next only once the previous replacement is ready, max-unavailable at once, a pause at a
 * replacement not ready in time (or going on, with on-failure = continue), --continue and
 * --abort, the deadline to wait for.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "roll.h"

#define SEC USEC_PER_SEC

static void test_one_at_a_time(void **state) {
        bool ready[4] = {};
        Roll r;
        RollAction a;

        (void) state;
        assert_int_equal(roll_init(&r, 4, 1, 60 * SEC, ROLL_FAILURE_PAUSE), 0);
        assert_int_equal(roll_deadline(&r), USEC_INFINITY);
        a = roll_decide(&r, ready, 0);
        assert_int_equal(a.kind, ROLL_ACT_RESTART);
        assert_int_equal(a.index, 0);
        /* instance 0 is not ready: nothing else is begun */
        assert_int_equal(roll_decide(&r, ready, SEC).kind, ROLL_ACT_NONE);
        assert_int_equal(roll_deadline(&r), 60 * SEC);
        assert_int_equal(roll_finished(&r), 0);
        for (unsigned k = 0; k < 4; k++) {
                ready[k] = true;
                a = roll_decide(&r, ready, (k + 2) * SEC);
                if (k < 3) {
                        assert_int_equal(a.kind, ROLL_ACT_RESTART);
                        assert_int_equal(a.index, k + 1);
                        assert_int_equal(roll_finished(&r), k + 1);
                        assert_int_equal(roll_decide(&r, ready, (k + 2) * SEC).kind,
                                         ROLL_ACT_NONE);
                } else
                        assert_int_equal(a.kind, ROLL_ACT_DONE);
        }
        assert_int_equal(r.state, ROLL_DONE);
        assert_int_equal(roll_finished(&r), 4);
        roll_done(&r);
}

static void test_max_unavailable(void **state) {
        bool ready[5] = {};
        Roll r;

        (void) state;
        assert_int_equal(roll_init(&r, 5, 2, 10 * SEC, ROLL_FAILURE_PAUSE), 0);
        assert_int_equal(roll_decide(&r, ready, 0).index, 0);
        assert_int_equal(roll_decide(&r, ready, 0).index, 1);
        assert_int_equal(roll_decide(&r, ready, 0).kind, ROLL_ACT_NONE);
        ready[1] = true;
        RollAction a = roll_decide(&r, ready, SEC);
        assert_int_equal(a.kind, ROLL_ACT_RESTART);
        assert_int_equal(a.index, 2);
        assert_int_equal(roll_decide(&r, ready, SEC).kind, ROLL_ACT_NONE);
        roll_done(&r);
}

static void test_pause_continue(void **state) {
        bool ready[4] = { true, false, false, false };
        Roll r;
        RollAction a;

        (void) state;
        assert_int_equal(roll_init(&r, 4, 1, 5 * SEC, ROLL_FAILURE_PAUSE), 0);
        assert_int_equal(roll_decide(&r, ready, 0).index, 0);
        assert_int_equal(roll_decide(&r, ready, SEC).index, 1);
        assert_int_equal(roll_decide(&r, ready, 5 * SEC).kind, ROLL_ACT_NONE);
        assert_int_equal(roll_deadline(&r), 6 * SEC);
        a = roll_decide(&r, ready, 6 * SEC);
        assert_int_equal(a.kind, ROLL_ACT_PAUSED);
        assert_int_equal(a.index, 1);
        assert_int_equal(r.state, ROLL_PAUSED);
        assert_int_equal(r.failed, 1);
        assert_int_equal(roll_finished(&r), 2);
        /* paused: nothing is begun, however long it waits, and no deadline */
        assert_int_equal(roll_decide(&r, ready, 100 * SEC).kind, ROLL_ACT_NONE);
        assert_int_equal(roll_deadline(&r), USEC_INFINITY);
        assert_int_equal(roll_continue(&r), 0);
        assert_int_equal(roll_continue(&r), -EINVAL);
        a = roll_decide(&r, ready, 101 * SEC);
        assert_int_equal(a.kind, ROLL_ACT_RESTART);
        assert_int_equal(a.index, 2);
        roll_done(&r);
}

static void test_on_failure_continue(void **state) {
        bool ready[2] = { false, false };
        Roll r;
        RollAction a;

        (void) state;
        assert_int_equal(roll_init(&r, 2, 1, 5 * SEC, ROLL_FAILURE_CONTINUE), 0);
        assert_int_equal(roll_decide(&r, ready, 0).index, 0);
        a = roll_decide(&r, ready, 5 * SEC);
        assert_int_equal(a.kind, ROLL_ACT_RESTART);
        assert_int_equal(a.index, 1);
        ready[1] = true;
        assert_int_equal(roll_decide(&r, ready, 6 * SEC).kind, ROLL_ACT_DONE);
        assert_int_equal(r.slots[0].state, ROLL_SLOT_FAILED);
        roll_done(&r);
}

static void test_abort_skip(void **state) {
        bool ready[3] = {};
        Roll r;

        (void) state;
        assert_int_equal(roll_init(&r, 3, 1, 5 * SEC, ROLL_FAILURE_PAUSE), 0);
        assert_int_equal(roll_decide(&r, ready, 0).index, 0);
        roll_skip(&r, 0); /* an operator stopped it */
        assert_int_equal(roll_decide(&r, ready, 0).index, 1);
        roll_abort(&r);
        assert_int_equal(r.state, ROLL_ABORTED);
        assert_int_equal(roll_decide(&r, ready, 100 * SEC).kind, ROLL_ACT_NONE);
        assert_int_equal(roll_continue(&r), -EINVAL);
        roll_done(&r);

        assert_int_equal(roll_on_failure_from_string("pause"), ROLL_FAILURE_PAUSE);
        assert_int_equal(roll_on_failure_from_string("continue"), ROLL_FAILURE_CONTINUE);
        assert_int_equal(roll_on_failure_from_string("stop"), _ROLL_FAILURE_INVALID);
        assert_string_equal(roll_state_to_string(ROLL_PAUSED), "paused");
}

/* a roll back: only instances 0 and 2 (the ones an aborted roll began) are restarted */
static void test_leave_out(void **state) {
        bool ready[4] = {};
        Roll r;
        RollAction a;

        (void) state;
        assert_int_equal(roll_init(&r, 4, 1, 5 * SEC, ROLL_FAILURE_PAUSE), 0);
        roll_leave_out(&r, 1);
        roll_leave_out(&r, 3);
        assert_int_equal(roll_total(&r), 2);
        a = roll_decide(&r, ready, 0);
        assert_int_equal(a.kind, ROLL_ACT_RESTART);
        assert_int_equal(a.index, 0);
        assert_int_equal(roll_decide(&r, ready, SEC).kind, ROLL_ACT_NONE);
        ready[0] = true;
        a = roll_decide(&r, ready, 2 * SEC);
        assert_int_equal(a.kind, ROLL_ACT_RESTART);
        assert_int_equal(a.index, 2);
        assert_int_equal(roll_finished(&r), 1);
        roll_leave_out(&r, 0); /* begun already: stays in */
        assert_int_equal(roll_total(&r), 2);
        ready[2] = true;
        assert_int_equal(roll_decide(&r, ready, 3 * SEC).kind, ROLL_ACT_DONE);
        assert_int_equal(roll_finished(&r), 2);
        roll_done(&r);
}

/* surge: the spare (index n) first, nothing restarted until it is ready; it may pause too */
static void test_surge(void **state) {
        bool ready[4] = {};
        Roll r;
        RollAction a;

        (void) state;
        assert_int_equal(roll_init(&r, 3, 1, 5 * SEC, ROLL_FAILURE_PAUSE), 0);
        roll_set_surge(&r);
        a = roll_decide(&r, ready, 0);
        assert_int_equal(a.kind, ROLL_ACT_SPARE);
        assert_int_equal(a.index, 3);
        assert_int_equal(roll_decide(&r, ready, SEC).kind, ROLL_ACT_NONE);
        assert_int_equal(roll_deadline(&r), 5 * SEC);
        assert_int_equal(roll_total(&r), 3);
        ready[3] = true;
        for (unsigned k = 0; k < 3; k++) {
                a = roll_decide(&r, ready, (k + 2) * SEC);
                assert_int_equal(a.kind, ROLL_ACT_RESTART);
                assert_int_equal(a.index, k);
                assert_int_equal(roll_decide(&r, ready, (k + 2) * SEC).kind, ROLL_ACT_NONE);
                ready[k] = true;
        }
        assert_int_equal(roll_decide(&r, ready, 9 * SEC).kind, ROLL_ACT_DONE);
        assert_int_equal(roll_finished(&r), 3);
        roll_done(&r);

        /* a spare never ready pauses the roll at it; --continue goes on without it */
        memset(ready, 0, sizeof ready);
        assert_int_equal(roll_init(&r, 3, 1, 5 * SEC, ROLL_FAILURE_PAUSE), 0);
        roll_set_surge(&r);
        assert_int_equal(roll_decide(&r, ready, 0).kind, ROLL_ACT_SPARE);
        a = roll_decide(&r, ready, 5 * SEC);
        assert_int_equal(a.kind, ROLL_ACT_PAUSED);
        assert_int_equal(a.index, 3);
        assert_int_equal(roll_continue(&r), 0);
        a = roll_decide(&r, ready, 6 * SEC);
        assert_int_equal(a.kind, ROLL_ACT_RESTART);
        assert_int_equal(a.index, 0);
        roll_done(&r);

        /* a spare that cannot start is passed over */
        assert_int_equal(roll_init(&r, 2, 1, 5 * SEC, ROLL_FAILURE_PAUSE), 0);
        roll_set_surge(&r);
        assert_int_equal(roll_decide(&r, ready, 0).kind, ROLL_ACT_SPARE);
        roll_skip(&r, 2);
        assert_int_equal(roll_decide(&r, ready, 0).kind, ROLL_ACT_RESTART);
        roll_done(&r);
}

static void test_single(void **state) {
        bool ready[1] = { true };
        Roll r;

        (void) state;
        assert_int_equal(roll_init(&r, 1, 3, 5 * SEC, ROLL_FAILURE_PAUSE), 0);
        assert_int_equal(roll_decide(&r, ready, 0).kind, ROLL_ACT_RESTART);
        assert_int_equal(roll_decide(&r, ready, 0).kind, ROLL_ACT_DONE);
        assert_int_equal(roll_decide(&r, ready, 0).kind, ROLL_ACT_DONE);
        roll_done(&r);
}

static void test_every_delay(void **state) {
        (void) state;
        assert_int_equal(roll_every_delay(100 * SEC, 0.1, 0.0), 100 * SEC);
        assert_int_equal(roll_every_delay(100 * SEC, 0.1, 0.5), 95 * SEC);
        assert_true(roll_every_delay(100 * SEC, 0.1, 0.999999) > 90 * SEC);
        assert_int_equal(roll_every_delay(100 * SEC, 0.0, 0.7), 100 * SEC);
        /* out of range values are read as none */
        assert_int_equal(roll_every_delay(100 * SEC, 0.1, 1.0), 100 * SEC);
        assert_int_equal(roll_every_delay(100 * SEC, 2.0, 0.5), 100 * SEC);
        assert_int_equal(roll_every_delay(0, 0.1, 0.5), 1);
        assert_int_equal(roll_every_delay(10, 1.0, 0.99999), 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_one_at_a_time), cmocka_unit_test(test_max_unavailable),
                cmocka_unit_test(test_pause_continue), cmocka_unit_test(test_on_failure_continue),
                cmocka_unit_test(test_abort_skip),    cmocka_unit_test(test_single),
                cmocka_unit_test(test_leave_out),
                cmocka_unit_test(test_surge),
                cmocka_unit_test(test_every_delay),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
