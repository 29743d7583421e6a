/*
 * Unit tests of the restart delays (lib/backoff.h).  The randomness is an argument, so the
 * sequences are exact; jitter is checked at both ends of [0, 1).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>

#include "backoff.h"
#include "macro.h"

/* The largest double below 1: what a uniform generator in [0, 1) can return at most. */
#define RND_MAX (1.0 - 0x1p-53)

static void test_sequence_without_jitter(void **state) {
        static const usec_t want[] = { 1, 2, 4, 8, 16, 30, 30, 30, 30, 30 };
        const BackoffParams p = {
                .initial = USEC_PER_SEC,
                .factor = 2.0,
                .max_delay = 30 * USEC_PER_SEC,
                .jitter = 0.0,
                .reset_after = 10 * USEC_PER_MINUTE,
        };

        (void) state;
        for (unsigned i = 0; i < ELEMENTSOF(want); i++) {
                /* without jitter rnd does not matter */
                assert_int_equal(backoff_delay(&p, i, 0.0), want[i] * USEC_PER_SEC);
                assert_int_equal(backoff_delay(&p, i, 0.5), want[i] * USEC_PER_SEC);
                assert_int_equal(backoff_delay(&p, i, RND_MAX), want[i] * USEC_PER_SEC);
        }
}

static void test_fractional_factor(void **state) {
        const BackoffParams p = {
                .initial = 100 * USEC_PER_MSEC,
                .factor = 1.5,
                .max_delay = USEC_PER_SEC,
        };

        (void) state;
        assert_int_equal(backoff_delay(&p, 0, 0.0), 100000);
        assert_int_equal(backoff_delay(&p, 1, 0.0), 150000);
        assert_int_equal(backoff_delay(&p, 2, 0.0), 225000);
        assert_int_equal(backoff_delay(&p, 3, 0.0), 337500);
        assert_int_equal(backoff_delay(&p, 6, 0.0), USEC_PER_SEC);
}

static void test_cap_holds_with_jitter(void **state) {
        const BackoffParams p = {
                .initial = USEC_PER_SEC,
                .factor = 2.0,
                .max_delay = 30 * USEC_PER_SEC,
                .jitter = 0.5,
        };

        (void) state;
        for (unsigned i = 0; i < 64; i++) {
                assert_true(backoff_delay(&p, i, 0.999) <= p.max_delay);
                assert_true(backoff_delay(&p, i, RND_MAX) <= p.max_delay);
        }
        /* once the cap is reached, jitter can only shorten the delay */
        assert_int_equal(backoff_delay(&p, 10, 0.999), p.max_delay);
        assert_int_equal(backoff_delay(&p, 10, 0.5), p.max_delay);
        assert_int_equal(backoff_delay(&p, 10, 0.0), p.max_delay / 2);
}

static void test_cap_cuts_upward_spread(void **state) {
        const BackoffParams p = {
                .initial = 20 * USEC_PER_SEC,
                .factor = 2.0,
                .max_delay = 30 * USEC_PER_SEC,
                .jitter = 0.6,
        };

        (void) state;
        /* below the cap before jitter (20s), above it after (up to 32s): cut at the cap */
        assert_int_equal(backoff_delay(&p, 0, 0.999), p.max_delay);
        assert_int_equal(backoff_delay(&p, 0, RND_MAX), p.max_delay);
        assert_int_equal(backoff_delay(&p, 0, 0.5), 20 * USEC_PER_SEC);
        assert_in_range(backoff_delay(&p, 0, 0.0), 8 * USEC_PER_SEC - 1, 8 * USEC_PER_SEC);
}

static void test_jitter_bounds(void **state) {
        const BackoffParams p = {
                .initial = USEC_PER_SEC,
                .factor = 2.0,
                .max_delay = USEC_PER_HOUR,
                .jitter = 0.1,
        };

        (void) state;
        for (unsigned i = 0; i < 8; i++) {
                double base = (double) USEC_PER_SEC * (double) (1u << i);
                usec_t lo = backoff_delay(&p, i, 0.0);
                usec_t mid = backoff_delay(&p, i, 0.5);
                usec_t hi = backoff_delay(&p, i, RND_MAX);

                /* rnd=0 is the low end exactly, rnd=0.5 the middle, rnd->1 the high end */
                assert_in_range(lo, (usec_t) (base * 0.9) - 1, (usec_t) (base * 0.9));
                assert_int_equal(mid, (usec_t) base);
                assert_in_range(hi, (usec_t) (base * 1.1) - 1, (usec_t) (base * 1.1));
                for (double rnd = 0.0; rnd < 1.0; rnd += 1.0 / 64) {
                        usec_t d = backoff_delay(&p, i, rnd);
                        assert_in_range(d, lo, hi);
                }
        }
}

static void test_full_jitter(void **state) {
        const BackoffParams p = {
                .initial = 10 * USEC_PER_SEC,
                .factor = 2.0,
                .max_delay = USEC_PER_MINUTE,
                .jitter = 1.0,
        };

        (void) state;
        /* jitter 100%: anything from 0 to twice the delay, never negative, never past the cap */
        assert_int_equal(backoff_delay(&p, 0, 0.0), 0);
        assert_in_range(backoff_delay(&p, 0, RND_MAX), 20 * USEC_PER_SEC - 1, 20 * USEC_PER_SEC);
        assert_int_equal(backoff_delay(&p, 3, RND_MAX), USEC_PER_MINUTE);
}

static void test_huge_attempts_saturate(void **state) {
        static const unsigned attempts[] = {
                63, 64, 100, 1023, 1024, 1025, 100000, INT_MAX, UINT_MAX - 1, UINT_MAX,
        };
        const BackoffParams p = {
                .initial = USEC_PER_SEC,
                .factor = 2.0,
                .max_delay = 30 * USEC_PER_SEC,
        };
        /* the largest values the configuration accepts */
        const BackoffParams big = {
                .initial = USEC_PER_DAY,
                .factor = 100.0,
                .max_delay = 7 * USEC_PER_DAY,
                .jitter = 1.0,
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(attempts); i++) {
                assert_int_equal(backoff_delay(&p, attempts[i], 0.0), p.max_delay);
                assert_int_equal(backoff_delay(&p, attempts[i], RND_MAX), p.max_delay);
                assert_int_equal(backoff_delay(&big, attempts[i], RND_MAX), big.max_delay);
                assert_int_equal(backoff_delay(&big, attempts[i], 0.0), 0);
                assert_int_equal(backoff_delay(&big, attempts[i], 0.5), big.max_delay);
        }
}

static void test_zero_initial(void **state) {
        const BackoffParams p = {
                .initial = 0,
                .factor = 100.0,
                .max_delay = USEC_PER_MINUTE,
                .jitter = 0.5,
        };

        (void) state;
        assert_int_equal(backoff_delay(&p, 0, 0.0), 0);
        assert_int_equal(backoff_delay(&p, 5, RND_MAX), 0);
        /* factor^attempt overflows to infinity here: 0 * inf must not become the cap or NaN */
        assert_int_equal(backoff_delay(&p, 1000, RND_MAX), 0);
        assert_int_equal(backoff_delay(&p, UINT_MAX, 0.5), 0);
}

static void test_factor_one_is_constant(void **state) {
        const BackoffParams p = {
                .initial = 5 * USEC_PER_SEC,
                .factor = 1.0,
                .max_delay = USEC_PER_MINUTE,
        };

        (void) state;
        for (unsigned i = 0; i < 100; i++)
                assert_int_equal(backoff_delay(&p, i, 0.5), 5 * USEC_PER_SEC);
        assert_int_equal(backoff_delay(&p, UINT_MAX, 0.5), 5 * USEC_PER_SEC);
}

static void test_initial_equals_cap(void **state) {
        const BackoffParams p = {
                .initial = 10 * USEC_PER_SEC,
                .factor = 2.0,
                .max_delay = 10 * USEC_PER_SEC,
        };

        (void) state;
        assert_int_equal(backoff_delay(&p, 0, 0.5), 10 * USEC_PER_SEC);
        assert_int_equal(backoff_delay(&p, 1, 0.5), 10 * USEC_PER_SEC);
}

static void test_attempt_after_run(void **state) {
        const BackoffParams p = {
                .initial = USEC_PER_SEC,
                .factor = 2.0,
                .max_delay = 30 * USEC_PER_SEC,
                .reset_after = 10 * USEC_PER_MINUTE,
        };
        const BackoffParams zero = { .reset_after = 0 };

        (void) state;
        /* a short run keeps the count, so the next delay keeps growing */
        assert_int_equal(backoff_attempt_after_run(&p, 0, 0), 0);
        assert_int_equal(backoff_attempt_after_run(&p, 5, 0), 5);
        assert_int_equal(backoff_attempt_after_run(&p, 5, 2 * USEC_PER_SEC), 5);
        assert_int_equal(backoff_attempt_after_run(&p, 5, p.reset_after - 1), 5);
        assert_int_equal(backoff_attempt_after_run(&p, UINT_MAX, p.reset_after - 1), UINT_MAX);
        /* a run of reset-after or longer starts the sequence over */
        assert_int_equal(backoff_attempt_after_run(&p, 5, p.reset_after), 0);
        assert_int_equal(backoff_attempt_after_run(&p, 5, p.reset_after + 1), 0);
        assert_int_equal(backoff_attempt_after_run(&p, UINT_MAX, USEC_INFINITY), 0);
        /* reset-after = 0: never reset, however long the run */
        assert_int_equal(backoff_attempt_after_run(&zero, 7, 0), 7);
        assert_int_equal(backoff_attempt_after_run(&zero, 7, USEC_PER_DAY), 7);

        /* together: after a stable run the first delay is the initial one again */
        assert_int_equal(backoff_delay(&p, backoff_attempt_after_run(&p, 4, USEC_PER_SEC), 0.5),
                         16 * USEC_PER_SEC);
        assert_int_equal(backoff_delay(&p, backoff_attempt_after_run(&p, 4, USEC_PER_HOUR), 0.5),
                         USEC_PER_SEC);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sequence_without_jitter),
                cmocka_unit_test(test_fractional_factor),
                cmocka_unit_test(test_cap_holds_with_jitter),
                cmocka_unit_test(test_cap_cuts_upward_spread),
                cmocka_unit_test(test_jitter_bounds),
                cmocka_unit_test(test_full_jitter),
                cmocka_unit_test(test_huge_attempts_saturate),
                cmocka_unit_test(test_zero_initial),
                cmocka_unit_test(test_factor_one_is_constant),
                cmocka_unit_test(test_initial_equals_cap),
                cmocka_unit_test(test_attempt_after_run),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
