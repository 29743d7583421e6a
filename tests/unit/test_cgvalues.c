/*
 * Unit tests of lib/cgvalues.c: the cgroup values of a configuration (memory.max a quarter,
 * at least 16M, above memory-limit; memory.high only with memory-action = restart; oom.group
 * with a limit; cpu.max of a percentage, its 1 ms floor; "max" where nothing is set) and the
 * OOM kills read from memory.events.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "cgvalues.h"

#define M (1024ULL * 1024)

static void test_memory(void **state) {
        CgValues v;

        (void) state;
        assert_int_equal(cg_memory_max(0), 0);
        assert_int_equal(cg_memory_max(512 * M), 640 * M);
        assert_int_equal(cg_memory_max(32 * M), 48 * M); /* the 16M floor */
        assert_int_equal(cg_memory_max(UINT64_MAX - 1), UINT64_MAX);

        cg_values(512 * M, true, 0, &v);
        assert_string_equal(v.memory_max, "671088640");
        assert_string_equal(v.memory_high, "536870912");
        assert_string_equal(v.oom_group, "1");
        assert_string_equal(v.cpu_max, "max 100000");

        /* alert and signal: the worker may run on over memory-limit, no throttling there */
        cg_values(512 * M, false, 0, &v);
        assert_string_equal(v.memory_max, "671088640");
        assert_string_equal(v.memory_high, "max");
        assert_string_equal(v.oom_group, "1");

        /* nothing set: every value back to the kernel's default (a reload removed them) */
        cg_values(0, true, 0, &v);
        assert_string_equal(v.memory_max, "max");
        assert_string_equal(v.memory_high, "max");
        assert_string_equal(v.oom_group, "0");
}

static void test_cpu(void **state) {
        CgValues v;

        (void) state;
        cg_values(0, true, 150, &v);
        assert_string_equal(v.cpu_max, "150000 100000");
        cg_values(0, true, 50, &v);
        assert_string_equal(v.cpu_max, "50000 100000");
        cg_values(0, true, 12.5, &v);
        assert_string_equal(v.cpu_max, "12500 100000");
        cg_values(0, true, 0.2, &v);
        assert_string_equal(v.cpu_max, "1000 100000"); /* the kernel's least quota */
        cg_values(0, true, 400, &v);
        assert_string_equal(v.cpu_max, "400000 100000");
}

static void test_oom_kills(void **state) {
        uint64_t n = 99;

        (void) state;
        /* Linux 6.1 */
        assert_int_equal(cg_parse_oom_kills("low 0\nhigh 12\nmax 30\noom 2\noom_kill 3\n"
                                            "oom_group_kill 1\n", &n), 0);
        assert_int_equal(n, 4);
        /* before oom_group_kill (5.x) */
        assert_int_equal(cg_parse_oom_kills("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n", &n), 0);
        assert_int_equal(n, 0);
        /* "oom" is not "oom_kill", nor is "oom_kill" found inside another key */
        assert_int_equal(cg_parse_oom_kills("oom 5\nx_oom_kill 7\n", &n), -EINVAL);
        assert_int_equal(cg_parse_oom_kills("", &n), -EINVAL);
        assert_int_equal(cg_parse_oom_kills("oom_kill x\n", &n), -EINVAL);
        /* no trailing newline */
        assert_int_equal(cg_parse_oom_kills("oom_kill 12", &n), 0);
        assert_int_equal(n, 12);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_memory),
                cmocka_unit_test(test_cpu),
                cmocka_unit_test(test_oom_kills),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
