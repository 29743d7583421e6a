/*
 * Unit tests of the sliding windows (lib/window.h) with an injected clock: counts over 1 m,
 * 5 m, 15 m and 1 h, expiry, long idle gaps, saturation, and kinds kept apart.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "window.h"

/* an arbitrary, large starting clock: windows must not depend on it being small */
#define T0 (1000 * USEC_PER_HOUR + 123456)
#define S(n) ((usec_t) (n) * USEC_PER_SEC)
#define M(n) ((usec_t) (n) * USEC_PER_MINUTE)

static void test_counts_and_expiry_fine(void **state) {
        Window w;

        (void) state;
        win_init(&w, T0);
        for (unsigned i = 0; i < 10; i++)
                win_add(&w, EVK_CRASH, T0 + S(i));
        assert_int_equal(win_count(&w, EVK_CRASH, T0 + S(9), S(1)), 1);
        assert_int_equal(win_count(&w, EVK_CRASH, T0 + S(9), S(5)), 5);
        assert_int_equal(win_count(&w, EVK_CRASH, T0 + S(9), S(10)), 10);
        assert_int_equal(win_count(&w, EVK_CRASH, T0 + S(9), M(1)), 10);
        /* 55 s later the first five have left the last minute, none the last hour */
        assert_int_equal(win_count(&w, EVK_CRASH, T0 + S(64), M(1)), 5);
        assert_int_equal(win_count(&w, EVK_CRASH, T0 + S(64), M(60)), 10);
        assert_int_equal(win_count(&w, EVK_CRASH, T0 + S(70), M(1)), 0);
        /* other kinds untouched */
        assert_int_equal(win_count(&w, EVK_EXIT, T0 + S(9), M(60)), 0);
        assert_int_equal(w.total[EVK_CRASH], 10);
}

static void test_add_n(void **state) {
        Window w;

        (void) state;
        win_init(&w, T0);
        win_add_n(&w, EVK_APP_ERROR, 30, T0);
        win_add_n(&w, EVK_APP_ERROR, 12, T0 + S(2));
        assert_int_equal(win_count(&w, EVK_APP_ERROR, T0 + S(2), S(1)), 12);
        assert_int_equal(win_count(&w, EVK_APP_ERROR, T0 + S(2), M(1)), 42);
        assert_int_equal(win_count(&w, EVK_APP_ERROR, T0 + S(2), M(60)), 42);
        /* a flood saturates a slot instead of wrapping */
        win_add_n(&w, EVK_APP_ERROR, 100000, T0 + S(3));
        assert_int_equal(win_count(&w, EVK_APP_ERROR, T0 + S(3), S(1)), UINT16_MAX);
        assert_int_equal(w.total[EVK_APP_ERROR], 100042);
        assert_int_equal(win_count(&w, EVK_CRASH, T0 + S(3), M(60)), 0);
}

static void test_minutes(void **state) {
        Window w;
        usec_t now;

        (void) state;
        win_init(&w, T0);
        /* one restart per minute for 70 minutes, at the start of each minute */
        for (unsigned i = 0; i < 70; i++)
                win_add(&w, EVK_RESTART, M(T0 / USEC_PER_MINUTE + i));
        now = M(T0 / USEC_PER_MINUTE + 69) + S(30);
        assert_int_equal(win_count(&w, EVK_RESTART, now, M(1)), 1);
        /* a 5 m window is the current minute and the four before it */
        assert_int_equal(win_count(&w, EVK_RESTART, now, M(5)), 5);
        assert_int_equal(win_count(&w, EVK_RESTART, now, M(15)), 15);
        assert_int_equal(win_count(&w, EVK_RESTART, now, M(60)), 60);
        /* longer than an hour is clamped to the hour */
        assert_int_equal(win_count(&w, EVK_RESTART, now, M(600)), 60);
        assert_int_equal(w.total[EVK_RESTART], 70);
}

static void test_long_gap_clears_everything(void **state) {
        Window w;

        (void) state;
        win_init(&w, T0);
        for (unsigned i = 0; i < 100; i++)
                win_add(&w, EVK_HEALTH_FAILURE, T0 + i * 100 * USEC_PER_MSEC);
        assert_int_equal(win_count(&w, EVK_HEALTH_FAILURE, T0 + S(10), M(1)), 100);
        /* two hours of silence, then one event: only that one is counted anywhere */
        win_add(&w, EVK_HEALTH_FAILURE, T0 + M(120));
        assert_int_equal(win_count(&w, EVK_HEALTH_FAILURE, T0 + M(120), M(1)), 1);
        assert_int_equal(win_count(&w, EVK_HEALTH_FAILURE, T0 + M(120), M(60)), 1);
        assert_int_equal(w.total[EVK_HEALTH_FAILURE], 101);
        /* a gap of exactly one ring length */
        win_add(&w, EVK_HEALTH_FAILURE, T0 + M(120) + S(60));
        assert_int_equal(win_count(&w, EVK_HEALTH_FAILURE, T0 + M(120) + S(60), M(1)), 1);
}

static void test_clock_not_advancing(void **state) {
        Window w;

        (void) state;
        win_init(&w, T0);
        win_add(&w, EVK_TIMEOUT, T0 + S(5));
        /* a query or event with an earlier time (the same second, or a stale caller) is
         * counted in the newest slot and never clears it */
        win_add(&w, EVK_TIMEOUT, T0 + S(4));
        assert_int_equal(win_count(&w, EVK_TIMEOUT, T0 + S(3), S(1)), 2);
        assert_int_equal(win_count(&w, EVK_TIMEOUT, T0 + S(5), S(1)), 2);
}

static void test_saturation(void **state) {
        Window w;

        (void) state;
        win_init(&w, T0);
        for (unsigned i = 0; i < 70000; i++)
                win_add(&w, EVK_EXIT, T0);
        assert_int_equal(win_count(&w, EVK_EXIT, T0, S(1)), UINT16_MAX);
        assert_int_equal(w.total[EVK_EXIT], 70000);
}

static void test_small_window_is_one_slot(void **state) {
        Window w;

        (void) state;
        win_init(&w, T0);
        win_add(&w, EVK_DEGRADED, T0);
        assert_int_equal(win_count(&w, EVK_DEGRADED, T0, 0), 1);
        assert_int_equal(win_count(&w, EVK_DEGRADED, T0, 500 * USEC_PER_MSEC), 1);
}

static void test_names(void **state) {
        (void) state;
        for (int k = 0; k < _EVK_MAX; k++)
                assert_int_equal(event_kind_from_string(event_kind_to_string((EventKind) k)), k);
        assert_string_equal(event_kind_to_string(EVK_HEALTH_FAILURE), "health-failure");
        assert_int_equal(event_kind_from_string("gave-up"), _EVK_INVALID);
        assert_int_equal(event_kind_from_string(""), _EVK_INVALID);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_counts_and_expiry_fine),
                cmocka_unit_test(test_add_n),
                cmocka_unit_test(test_minutes),
                cmocka_unit_test(test_long_gap_clears_everything),
                cmocka_unit_test(test_clock_not_advancing),
                cmocka_unit_test(test_saturation),
                cmocka_unit_test(test_small_window_is_one_slot),
                cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
