/*
 * Unit tests of the clock helpers (lib/clock.c): the clocks read in microseconds agree with the
 * kernel's, and durations go to seconds and back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <time.h>

#include "clock.h"

static void test_monotonic(void **state) {
        usec_t a, b;

        (void) state;
        a = clock_mono_usec();
        b = clock_mono_usec();
        assert_true(a > 0);
        assert_true(b >= a);
}

static void test_realtime(void **state) {
        time_t before = time(NULL), after;
        usec_t u = clock_real_usec();

        (void) state;
        after = time(NULL);
        assert_true(u / USEC_PER_SEC >= (usec_t) before);
        assert_true(u / USEC_PER_SEC <= (usec_t) after);
}

static void test_seconds(void **state) {
        (void) state;
        assert_true(usec_to_seconds(0) == 0.0);
        assert_true(usec_to_seconds(1500000) == 1.5);
        assert_true(usec_to_seconds(250) == 0.00025);
        assert_int_equal(seconds_to_usec(1.5), 1500000);
        assert_int_equal(seconds_to_usec(0.000001), 1);
        assert_int_equal(seconds_to_usec(86400.25), 86400250000ULL);
        assert_int_equal(seconds_to_usec(-1), 0);
        assert_int_equal(seconds_to_usec(NAN), 0);
        assert_true(seconds_to_usec(INFINITY) == USEC_INFINITY);
        assert_true(seconds_to_usec(1e300) == USEC_INFINITY);
        /* to the nearest microsecond: a time of an answer gives back its milliseconds */
        assert_int_equal(seconds_to_usec(0.123), 123000);
        assert_int_equal(seconds_to_usec(13.852), 13852000);
}

/* Times of the answers: to the nearest millisecond, the very double of that decimal. */
static void test_seconds_ms(void **state) {
        (void) state;
        assert_true(usec_to_seconds_ms(0) == 0.0);
        assert_true(usec_to_seconds_ms(499) == 0.0);
        assert_true(usec_to_seconds_ms(500) == 0.001);
        assert_true(usec_to_seconds_ms(13851797) == 13.852);
        assert_true(usec_to_seconds_ms(13851499) == 13.851);
        assert_true(usec_to_seconds_ms(100000) == 0.1);
        assert_true(usec_to_seconds_ms(1234567891234ULL) == 1234567.891);
        assert_true(usec_to_seconds_ms(1700000000123456ULL) == 1700000000.123);
        /* no wrap near the top */
        assert_true(usec_to_seconds_ms(USEC_INFINITY) > 1e13);
}

static void test_timespec(void **state) {
        struct timespec ts;

        (void) state;
        ts = usec_to_timespec(0);
        assert_int_equal(ts.tv_sec, 0);
        assert_int_equal(ts.tv_nsec, 0);
        ts = usec_to_timespec(3 * USEC_PER_SEC + 999999);
        assert_int_equal(ts.tv_sec, 3);
        assert_int_equal(ts.tv_nsec, 999999000);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_monotonic),
                cmocka_unit_test(test_realtime),
                cmocka_unit_test(test_seconds),
                cmocka_unit_test(test_seconds_ms),
                cmocka_unit_test(test_timespec),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
