/*
 * Unit tests of alert escalation (lib/escalate.h) with an injected clock: the level only
 * rises while rules match, each rise is one notice, a held level repeats every `repeat`, and
 * it resolves once nothing matched for `resolve-after`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "escalate.h"

#define T0 (5000 * USEC_PER_SEC)
#define S(n) ((usec_t) (n) * USEC_PER_SEC)

static const EscPolicy pol = { .repeat = S(60), .resolve_after = S(120) };

static void test_rise_once_per_level(void **state) {
        EscState st = { 0 };

        (void) state;
        assert_int_equal(esc_step(&st, &pol, SEV_NONE, T0), ESC_NOTHING);
        assert_int_equal(esc_next_check(&st, &pol), USEC_INFINITY);
        assert_int_equal(esc_step(&st, &pol, SEV_WARNING, T0 + S(1)), ESC_FIRING);
        assert_int_equal(st.level, SEV_WARNING);
        assert_int_equal(st.started_at, T0 + S(1));
        /* the same level matching again is no new notice */
        assert_int_equal(esc_step(&st, &pol, SEV_WARNING, T0 + S(2)), ESC_NOTHING);
        assert_int_equal(esc_step(&st, &pol, SEV_CRITICAL, T0 + S(3)), ESC_FIRING);
        assert_int_equal(st.level, SEV_CRITICAL);
        /* a lower match does not lower the level */
        assert_int_equal(esc_step(&st, &pol, SEV_WARNING, T0 + S(4)), ESC_NOTHING);
        assert_int_equal(st.level, SEV_CRITICAL);
        /* fatal straight away from critical; started_at stays at the first firing */
        assert_int_equal(esc_step(&st, &pol, SEV_FATAL, T0 + S(5)), ESC_FIRING);
        assert_int_equal(st.level, SEV_FATAL);
        assert_int_equal(st.started_at, T0 + S(1));
}

static void test_skip_levels(void **state) {
        EscState st = { 0 };

        (void) state;
        /* a worker that gives up at once goes from nothing to fatal in one notice */
        assert_int_equal(esc_step(&st, &pol, SEV_FATAL, T0), ESC_FIRING);
        assert_int_equal(st.level, SEV_FATAL);
        assert_int_equal(esc_step(&st, &pol, SEV_CRITICAL, T0 + S(1)), ESC_NOTHING);
}

static void test_repeat(void **state) {
        EscState st = { 0 };
        unsigned repeats = 0;

        (void) state;
        assert_int_equal(esc_step(&st, &pol, SEV_CRITICAL, T0), ESC_FIRING);
        assert_int_equal(esc_next_check(&st, &pol), T0 + S(60));
        assert_int_equal(esc_step(&st, &pol, SEV_CRITICAL, T0 + S(59)), ESC_NOTHING);
        assert_int_equal(esc_step(&st, &pol, SEV_CRITICAL, T0 + S(60)), ESC_REPEAT);
        assert_int_equal(esc_next_check(&st, &pol), T0 + S(120));
        /* while the rule keeps matching, one repeat per period, checked every second */
        for (unsigned t = 61; t <= 600; t++)
                if (esc_step(&st, &pol, SEV_CRITICAL, T0 + S(t)) == ESC_REPEAT)
                        repeats++;
        assert_int_equal(repeats, 9); /* 120, 180, ..., 600 */
}

static void test_rise_wins_over_due_repeat(void **state) {
        EscState st = { 0 };

        (void) state;
        esc_step(&st, &pol, SEV_WARNING, T0);
        assert_int_equal(esc_step(&st, &pol, SEV_CRITICAL, T0 + S(60)), ESC_FIRING);
        /* the rise reset the repeat period */
        assert_int_equal(esc_step(&st, &pol, SEV_CRITICAL, T0 + S(61)), ESC_NOTHING);
        assert_int_equal(esc_next_check(&st, &pol), T0 + S(120));
}

static void test_resolve(void **state) {
        EscState st = { 0 };

        (void) state;
        esc_step(&st, &pol, SEV_CRITICAL, T0);
        esc_step(&st, &pol, SEV_CRITICAL, T0 + S(30)); /* last match */
        /* nothing matches from here on: resolved 120 s after the last match, not before,
         * with a repeat at 60 s in between */
        assert_int_equal(esc_next_check(&st, &pol), T0 + S(60));
        assert_int_equal(esc_step(&st, &pol, SEV_NONE, T0 + S(60)), ESC_REPEAT);
        assert_int_equal(esc_next_check(&st, &pol), T0 + S(120));
        assert_int_equal(esc_step(&st, &pol, SEV_NONE, T0 + S(119)), ESC_NOTHING);
        assert_int_equal(esc_step(&st, &pol, SEV_NONE, T0 + S(120)), ESC_REPEAT);
        assert_int_equal(esc_next_check(&st, &pol), T0 + S(150));
        assert_int_equal(esc_step(&st, &pol, SEV_NONE, T0 + S(149)), ESC_NOTHING);
        assert_int_equal(esc_step(&st, &pol, SEV_NONE, T0 + S(150)), ESC_RESOLVED);
        assert_int_equal(st.level, SEV_NONE);
        assert_int_equal(esc_next_check(&st, &pol), USEC_INFINITY);
        /* after resolution a new problem fires again from the bottom */
        assert_int_equal(esc_step(&st, &pol, SEV_WARNING, T0 + S(151)), ESC_FIRING);
        assert_int_equal(st.started_at, T0 + S(151));
}

static void test_match_postpones_resolution(void **state) {
        EscState st = { 0 };

        (void) state;
        esc_step(&st, &pol, SEV_WARNING, T0);
        for (unsigned t = 100; t <= 1000; t += 100)
                assert_int_not_equal(esc_step(&st, &pol, SEV_WARNING, T0 + S(t)), ESC_RESOLVED);
        assert_int_equal(st.level, SEV_WARNING);
        /* the repeat due at 1060 goes out; resolution waits for 1000 + 120 */
        assert_int_equal(esc_step(&st, &pol, SEV_NONE, T0 + S(1119)), ESC_REPEAT);
        assert_int_equal(esc_step(&st, &pol, SEV_NONE, T0 + S(1120)), ESC_RESOLVED);
}

static void test_no_repeat(void **state) {
        const EscPolicy quiet = { .repeat = 0, .resolve_after = S(10) };
        EscState st = { 0 };

        (void) state;
        esc_step(&st, &quiet, SEV_FATAL, T0);
        assert_int_equal(esc_next_check(&st, &quiet), T0 + S(10));
        for (unsigned t = 1; t < 10; t++)
                assert_int_equal(esc_step(&st, &quiet, SEV_NONE, T0 + S(t)), ESC_NOTHING);
        assert_int_equal(esc_step(&st, &quiet, SEV_NONE, T0 + S(10)), ESC_RESOLVED);
}

static void test_names(void **state) {
        (void) state;
        for (int s = 0; s < _SEV_MAX; s++)
                assert_int_equal(severity_from_string(severity_to_string((Severity) s)), s);
        assert_int_equal(severity_from_string("page"), _SEV_INVALID);
        assert_string_equal(severity_to_string(_SEV_INVALID), "unknown");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rise_once_per_level),
                cmocka_unit_test(test_skip_levels),
                cmocka_unit_test(test_repeat),
                cmocka_unit_test(test_rise_wins_over_due_repeat),
                cmocka_unit_test(test_resolve),
                cmocka_unit_test(test_match_postpones_resolution),
                cmocka_unit_test(test_no_repeat),
                cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
