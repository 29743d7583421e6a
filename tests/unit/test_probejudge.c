/*
 * Unit tests of the probe thresholds (lib/probejudge.h): `failures` counted bad answers in a row
 * restart, a good answer in between starts the count again, bad answers during start-period are
 * not counted, `successes` good answers clear unhealthy, and each degraded policy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "probejudge.h"

static const ProbeRules rules = { .failures = 3, .successes = 2, .degraded_as = HEALTH_DEGRADED };

static ProbeVerdict answer(ProbeTally *t, HealthClass c) {
        return probe_judge(t, &rules, c, false, false);
}

static void test_first_good_answer(void **state) {
        ProbeTally t;
        ProbeVerdict v;

        (void) state;
        probe_tally_reset(&t);
        assert_int_equal(t.state, HEALTH_UNKNOWN);
        v = answer(&t, HEALTH_HEALTHY);
        assert_true(v.good);
        assert_false(v.failure || v.unhealthy || v.degraded || v.forgiven);
        assert_int_equal(v.from, HEALTH_UNKNOWN);
        assert_int_equal(v.to, HEALTH_HEALTHY);
        assert_int_equal(t.state, HEALTH_HEALTHY);
}

static void test_failures_in_a_row(void **state) {
        ProbeTally t;
        ProbeVerdict v;

        (void) state;
        probe_tally_reset(&t);
        answer(&t, HEALTH_HEALTHY);
        for (unsigned k = 1; k < 3; k++) {
                v = answer(&t, HEALTH_UNHEALTHY);
                assert_true(v.failure);
                assert_false(v.unhealthy || v.good);
                assert_int_equal(v.consecutive, k);
                /* not unhealthy before the threshold: status keeps showing healthy */
                assert_int_equal(v.to, HEALTH_HEALTHY);
        }
        v = answer(&t, HEALTH_UNHEALTHY);
        assert_true(v.failure && v.unhealthy);
        assert_int_equal(v.consecutive, 3);
        assert_int_equal(v.from, HEALTH_HEALTHY);
        assert_int_equal(v.to, HEALTH_UNHEALTHY);
        /* the count starts again after a restart decision */
        assert_int_equal(t.fails, 0);
        v = answer(&t, HEALTH_UNHEALTHY);
        assert_int_equal(v.consecutive, 1);
        assert_false(v.unhealthy);
}

static void test_good_answer_resets_count(void **state) {
        ProbeTally t;
        ProbeVerdict v;

        (void) state;
        probe_tally_reset(&t);
        answer(&t, HEALTH_UNHEALTHY);
        answer(&t, HEALTH_UNHEALTHY);
        answer(&t, HEALTH_HEALTHY);
        v = answer(&t, HEALTH_UNHEALTHY);
        assert_int_equal(v.consecutive, 1);
        v = answer(&t, HEALTH_UNHEALTHY);
        assert_false(v.unhealthy);
        v = answer(&t, HEALTH_UNHEALTHY);
        assert_true(v.unhealthy);
}

static void test_start_period_forgiven(void **state) {
        ProbeTally t;
        ProbeVerdict v;

        (void) state;
        probe_tally_reset(&t);
        for (unsigned k = 0; k < 10; k++) {
                v = probe_judge(&t, &rules, HEALTH_UNHEALTHY, true, true);
                assert_true(v.forgiven);
                assert_false(v.failure || v.timeout || v.unhealthy || v.good);
                assert_int_equal(v.to, HEALTH_UNKNOWN);
        }
        assert_int_equal(t.fails, 0);
        /* after start-period, a timeout counts, as a failure and a timeout */
        v = probe_judge(&t, &rules, HEALTH_UNHEALTHY, true, false);
        assert_true(v.failure && v.timeout);
        assert_int_equal(v.consecutive, 1);
        /* good answers during start-period count as good */
        v = probe_judge(&t, &rules, HEALTH_HEALTHY, false, true);
        assert_true(v.good);
}

static void test_successes_clear_unhealthy(void **state) {
        ProbeTally t;
        ProbeVerdict v;

        (void) state;
        probe_tally_reset(&t);
        for (unsigned k = 0; k < 3; k++)
                answer(&t, HEALTH_UNHEALTHY);
        assert_int_equal(t.state, HEALTH_UNHEALTHY);
        v = answer(&t, HEALTH_HEALTHY);
        assert_true(v.good);
        assert_int_equal(v.to, HEALTH_UNHEALTHY); /* one good answer is not enough */
        v = answer(&t, HEALTH_HEALTHY);
        assert_int_equal(v.from, HEALTH_UNHEALTHY);
        assert_int_equal(v.to, HEALTH_HEALTHY);
        /* a bad answer between the good ones starts them again */
        for (unsigned k = 0; k < 3; k++)
                answer(&t, HEALTH_UNHEALTHY);
        answer(&t, HEALTH_HEALTHY);
        answer(&t, HEALTH_UNHEALTHY);
        v = answer(&t, HEALTH_HEALTHY);
        assert_int_equal(v.to, HEALTH_UNHEALTHY);
        v = answer(&t, HEALTH_HEALTHY);
        assert_int_equal(v.to, HEALTH_HEALTHY);
}

static void test_degraded_policies(void **state) {
        ProbeRules ignore = rules, alert = rules, restart = rules;
        ProbeTally t;
        ProbeVerdict v;

        (void) state;
        ignore.degraded_as = HEALTH_HEALTHY;
        restart.degraded_as = HEALTH_UNHEALTHY;

        probe_tally_reset(&t);
        v = probe_judge(&t, &ignore, HEALTH_DEGRADED, false, false);
        assert_true(v.degraded && v.good);
        assert_int_equal(v.to, HEALTH_HEALTHY);

        probe_tally_reset(&t);
        v = probe_judge(&t, &alert, HEALTH_DEGRADED, false, false);
        assert_true(v.degraded && v.good);
        assert_false(v.failure);
        assert_int_equal(v.to, HEALTH_DEGRADED);
        for (unsigned k = 0; k < 5; k++)
                assert_false(probe_judge(&t, &alert, HEALTH_DEGRADED, false, false).unhealthy);

        probe_tally_reset(&t);
        for (unsigned k = 1; k <= 3; k++) {
                v = probe_judge(&t, &restart, HEALTH_DEGRADED, false, false);
                assert_true(v.degraded && v.failure);
                assert_false(v.good);
                assert_int_equal(v.consecutive, k);
        }
        assert_true(v.unhealthy);
        /* degraded during start-period with restart: counted as degraded, forgiven as failure */
        probe_tally_reset(&t);
        v = probe_judge(&t, &restart, HEALTH_DEGRADED, false, true);
        assert_true(v.degraded && v.forgiven);
        assert_false(v.failure);
}

static void test_threshold_of_one(void **state) {
        ProbeRules one = { .failures = 1, .successes = 1, .degraded_as = HEALTH_DEGRADED };
        ProbeTally t;
        ProbeVerdict v;

        (void) state;
        probe_tally_reset(&t);
        v = probe_judge(&t, &one, HEALTH_UNHEALTHY, false, false);
        assert_true(v.unhealthy);
        v = probe_judge(&t, &one, HEALTH_HEALTHY, false, false);
        assert_int_equal(v.to, HEALTH_HEALTHY);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_first_good_answer),
                cmocka_unit_test(test_failures_in_a_row),
                cmocka_unit_test(test_good_answer_resets_count),
                cmocka_unit_test(test_start_period_forgiven),
                cmocka_unit_test(test_successes_clear_unhealthy),
                cmocka_unit_test(test_degraded_policies),
                cmocka_unit_test(test_threshold_of_one),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
