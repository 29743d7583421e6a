/*
 * Unit tests of lib/memjudge.c: memory-action values, the memory-for count (acts on the Nth
 * sample in a row over the limit, never before, starts over after a sample under it or a
 * start), memory-warn said once each way, and the sizes log lines print.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>

#include "memjudge.h"

#define M (1024ULL * 1024)

static void test_action(void **state) {
        MemoryAction a;
        int sig = -1;

        (void) state;
        assert_int_equal(memory_action_parse("restart", &a, &sig), 0);
        assert_int_equal(a, MEMORY_RESTART);
        assert_int_equal(memory_action_parse("alert", &a, &sig), 0);
        assert_int_equal(a, MEMORY_ALERT);
        assert_int_equal(memory_action_parse("signal HUP", &a, &sig), 0);
        assert_int_equal(a, MEMORY_SIGNAL);
        assert_int_equal(sig, SIGHUP);
        assert_int_equal(memory_action_parse("signal SIGUSR1", &a, &sig), 0);
        assert_int_equal(sig, SIGUSR1);
        assert_int_equal(memory_action_parse("signal", &a, &sig), -EINVAL);
        assert_int_equal(memory_action_parse("signal ", &a, &sig), -EINVAL);
        assert_int_equal(memory_action_parse("signal NOPE", &a, &sig), -EINVAL);
        assert_int_equal(memory_action_parse("kill", &a, &sig), -EINVAL);
        assert_int_equal(memory_action_parse("", &a, &sig), -EINVAL);
}

static void test_for_samples(void **state) {
        MemLimits l = { .limit = 512 * M, .samples = 3 };
        MemJudge j = {};

        (void) state;
        assert_int_equal(memjudge_step(&j, &l, 600 * M, false, 10), MEMV_NONE);
        assert_int_equal(memjudge_step(&j, &l, 600 * M, false, 20), MEMV_NONE);
        /* one sample under the limit: the count starts over */
        assert_int_equal(memjudge_step(&j, &l, 500 * M, false, 30), MEMV_NONE);
        assert_int_equal(memjudge_step(&j, &l, 600 * M, false, 40), MEMV_NONE);
        assert_int_equal(memjudge_step(&j, &l, 600 * M, false, 50), MEMV_NONE);
        assert_int_equal(j.over_since, 40);
        assert_int_equal(memjudge_step(&j, &l, 600 * M, false, 60), MEMV_ACT);
        /* and again from zero */
        assert_int_equal(j.over, 0);
        assert_int_equal(memjudge_step(&j, &l, 600 * M, false, 70), MEMV_NONE);
        /* exactly at the limit is not over it */
        j = (MemJudge) {};
        l.samples = 1;
        assert_int_equal(memjudge_step(&j, &l, 512 * M, false, 80), MEMV_NONE);
        assert_int_equal(memjudge_step(&j, &l, 512 * M + 1, false, 90), MEMV_ACT);
}

static void test_starting(void **state) {
        MemLimits l = { .limit = 512 * M, .warn = 400 * M, .samples = 2 };
        MemJudge j = {};

        (void) state;
        assert_int_equal(memjudge_step(&j, &l, 900 * M, true, 10), MEMV_NONE);
        assert_int_equal(memjudge_step(&j, &l, 900 * M, true, 20), MEMV_NONE);
        assert_int_equal(memjudge_step(&j, &l, 900 * M, true, 30), MEMV_NONE);
        assert_false(j.warned);
        assert_int_equal(memjudge_step(&j, &l, 900 * M, false, 40), MEMV_WARN);
        assert_int_equal(memjudge_step(&j, &l, 900 * M, false, 50), MEMV_ACT);
        /* a restart's start in the middle of a count starts it over */
        assert_int_equal(memjudge_step(&j, &l, 900 * M, false, 60), MEMV_NONE);
        assert_int_equal(memjudge_step(&j, &l, 900 * M, true, 70), MEMV_NONE);
        assert_int_equal(memjudge_step(&j, &l, 900 * M, false, 80), MEMV_NONE);
}

static void test_warn(void **state) {
        MemLimits l = { .warn = 400 * M, .samples = 3 };
        MemJudge j = {};

        (void) state;
        assert_int_equal(memjudge_step(&j, &l, 300 * M, false, 1), MEMV_NONE);
        assert_int_equal(memjudge_step(&j, &l, 450 * M, false, 2), MEMV_WARN);
        assert_int_equal(memjudge_step(&j, &l, 460 * M, false, 3), MEMV_NONE);
        assert_int_equal(memjudge_step(&j, &l, 390 * M, false, 4), MEMV_WARN_CLEARED);
        assert_int_equal(memjudge_step(&j, &l, 380 * M, false, 5), MEMV_NONE);
        /* no limit: never acts */
        for (int k = 0; k < 10; k++)
                assert_int_not_equal(memjudge_step(&j, &l, 4000 * M, false, 6), MEMV_ACT);
}

static void test_cpu(void **state) {
        usec_t s = USEC_PER_SEC;
        CpuJudge j = {};

        (void) state;
        /* over 90 % for 5 s: fires at 5 s, then every further 5 s while it holds */
        assert_false(cpujudge_step(&j, 95, 90, 5 * s, false, 10 * s));
        assert_false(cpujudge_step(&j, 95, 90, 5 * s, false, 14 * s));
        assert_true(cpujudge_step(&j, 95, 90, 5 * s, false, 15 * s));
        assert_false(cpujudge_step(&j, 95, 90, 5 * s, false, 16 * s));
        assert_true(cpujudge_step(&j, 95, 90, 5 * s, false, 20 * s));
        /* one sample under: starts over */
        assert_false(cpujudge_step(&j, 50, 90, 5 * s, false, 21 * s));
        assert_false(cpujudge_step(&j, 95, 90, 5 * s, false, 22 * s));
        assert_false(cpujudge_step(&j, 95, 90, 5 * s, false, 26 * s));
        assert_true(cpujudge_step(&j, 95, 90, 5 * s, false, 27 * s));
        /* starting, or no cpu-warn: never */
        assert_false(cpujudge_step(&j, 95, 90, 5 * s, true, 40 * s));
        assert_false(cpujudge_step(&j, 95, 90, 5 * s, false, 50 * s));
        assert_false(cpujudge_step(&j, 500, 0, 0, false, 60 * s));
}

static void test_format(void **state) {
        char b[16];

        (void) state;
        assert_string_equal(format_bytes(b, sizeof b, 512), "512B");
        assert_string_equal(format_bytes(b, sizeof b, 530 * M), "530M");
        assert_string_equal(format_bytes(b, sizeof b, 512 * M), "512M");
        assert_string_equal(format_bytes(b, sizeof b, 1536 * M), "1.5G");
        assert_string_equal(format_bytes(b, sizeof b, 812 * 1024), "812K");
        assert_string_equal(format_bytes(b, sizeof b, 2 * 1024 * M), "2G");
}

/* The RSS bound: over warn or limit (or possibly, by the counters' lag) reads PSS, else not. */
static void test_need_pss(void **state) {
        MemLimits both = { .limit = 512 * M, .warn = 400 * M }, limit = { .limit = 512 * M },
                  warn = { .warn = 400 * M }, none = {};

        (void) state;
        assert_false(memjudge_need_pss(&both, 400 * M));
        assert_true(memjudge_need_pss(&both, 400 * M + 1));
        assert_false(memjudge_need_pss(&limit, 512 * M));
        assert_true(memjudge_need_pss(&limit, 512 * M + 1));
        assert_true(memjudge_need_pss(&warn, 401 * M));
        assert_false(memjudge_need_pss(&none, 100000 * M));
        /* the lag: per thread before Linux 6.2, per CPU since; the larger of the two */
        assert_int_equal(memjudge_rss_lag(1, 1, 4096), 3 * 32 * 4096);
        assert_int_equal(memjudge_rss_lag(1, 2, 4096), 3 * 32 * 2 * 4096);
        assert_int_equal(memjudge_rss_lag(100, 2, 4096), 64 * 100 * 4096);
        assert_int_equal(memjudge_rss_lag(1, 64, 4096), 3ULL * 128 * 64 * 4096);
        assert_int_equal(memjudge_rss_lag(0, 0, 4096), 3 * 32 * 4096);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_action),   cmocka_unit_test(test_for_samples),
                cmocka_unit_test(test_starting), cmocka_unit_test(test_warn),
                cmocka_unit_test(test_format),   cmocka_unit_test(test_cpu),
                cmocka_unit_test(test_need_pss),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
