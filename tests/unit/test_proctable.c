/*
 * Unit tests of lib/proctable.c: /proc/PID/stat, environ, cgroup, cgroup.events and
 * smaps_rollup as the kernel writes them (and cut short, or garbage), and the attribution of a
 * process table to instances.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "macro.h"
#include "proctable.h"

static void test_stat(void **state) {
        /* a command name with spaces and a ')' of its own */
        const char *s = "4242 (my (odd) name) S 17 4242 4242 0 -1 4194560 1071 0 0 0 "
                        "125 37 0 0 20 0 1 0 987654 12345678 2048 18446744073709551615";
        ProcStat st;

        (void) state;
        assert_int_equal(proc_parse_stat(s, &st), 0);
        assert_int_equal(st.pid, 4242);
        assert_int_equal(st.ppid, 17);
        assert_int_equal(st.state, 'S');
        assert_int_equal(st.utime, 125);
        assert_int_equal(st.stime, 37);
        assert_int_equal(st.start_time, 987654);
        assert_int_equal(st.rss_pages, 2048);
        assert_int_equal(st.threads, 1);
        assert_int_equal(proc_parse_stat("4242 (cut", &st), -EINVAL);
        assert_int_equal(proc_parse_stat("4242 (x) S 1 2", &st), -EINVAL);
        assert_int_equal(proc_parse_stat("", &st), -EINVAL);
}

static void test_env(void **state) {
        const char env[] = "PATH=/bin\0UPKEEP_TREE=77.99/api:1\0EMPTY=\0UPKEEP_TREE_X=no";
        size_t len = sizeof env - 1, vl;
        const char *v;

        (void) state;
        v = proc_env_find(env, len, "PATH", &vl);
        assert_non_null(v);
        assert_int_equal(vl, 4);
        assert_memory_equal(v, "/bin", 4);
        assert_null(proc_env_find(env, len, "PAT", &vl));
        assert_non_null(proc_env_find(env, len, "EMPTY", &vl));
        assert_int_equal(vl, 0);
        assert_true(proc_env_is_tree(env, len, "77.99", "api:1"));
        assert_true(proc_env_is_tree(env, len, "77.99", NULL));
        assert_false(proc_env_is_tree(env, len, "77.9", NULL));
        assert_false(proc_env_is_tree(env, len, "77.99", "api"));
        assert_false(proc_env_is_tree(env, len, "77.99", "api:10"));
        assert_false(proc_env_is_tree(env, len, "78.99", "api:1"));
        /* cut inside the value: never matches a longer name */
        assert_false(proc_env_is_tree(env, 25, "77.99", "api:1"));
        assert_false(proc_env_is_tree("", 0, "77.99", NULL));
}

static void test_cgroup(void **state) {
        char p[64];

        (void) state;
        assert_int_equal(proc_parse_cgroup("12:pids:/x\n0::/a/b c\n", p, sizeof p), 0);
        assert_string_equal(p, "/a/b c");
        assert_int_equal(proc_parse_cgroup("0::/\n", p, sizeof p), 0);
        assert_string_equal(p, "/");
        assert_int_equal(proc_parse_cgroup("1:name=systemd:/\n", p, sizeof p), -ENOENT);
        assert_int_equal(proc_parse_cgroup("0::\n", p, sizeof p), -EINVAL);
        assert_int_equal(proc_parse_cgroup("0::/abc", p, 3), -EINVAL);
        assert_int_equal(cgroup_parse_populated("populated 1\nfrozen 0\n"), 1);
        assert_int_equal(cgroup_parse_populated("populated 0\nfrozen 0\n"), 0);
        assert_int_equal(cgroup_parse_populated("frozen 0\npopulated 0"), 0);
        assert_int_equal(cgroup_parse_populated("frozen 0\n"), -EINVAL);
        assert_int_equal(cgroup_parse_populated("populated x\n"), -EINVAL);
}

static void test_rollup(void **state) {
        const char *s = "00400000-7ffd [rollup]\nRss:                5120 kB\n"
                        "Pss:                4096 kB\nPss_Anon:           1024 kB\n";
        uint64_t pss, rss;

        (void) state;
        assert_int_equal(proc_parse_rollup(s, &pss, &rss), 0);
        assert_int_equal(pss, 4096 * 1024);
        assert_int_equal(rss, 5120 * 1024);
        /* no Pss line (an old kernel): the Rss */
        assert_int_equal(proc_parse_rollup("Rss: 8 kB\n", &pss, &rss), 0);
        assert_int_equal(pss, 8192);
        assert_int_equal(proc_parse_rollup("", &pss, &rss), -EINVAL);
}

static void test_attribute(void **state) {
        /*
         * 100 upkeepd; 200 main of instance 0, 201 its child, 202 a grandchild that cleared
         * its environment; 300 reparented to upkeepd naming instance 1 (whose main is gone);
         * 301 its child without environment; 400 a stranger; 500 main of instance 2
         */
        ProcEntry p[] = {
                { 400, 1, -1, 0 },   { 202, 201, -1, 0 }, { 301, 300, -1, 0 },
                { 201, 200, 0, 0 },  { 300, 100, 1, 0 },  { 200, 100, 0, 0 },
                { 100, 1, -1, 0 },   { 500, 100, -1, 0 }, { 501, 500, -1, 0 },
        };
        pid_t roots[] = { 200, 0, 500 };
        int want[][2] = { { 100, -1 }, { 200, 0 }, { 201, 0 }, { 202, 0 }, { 300, 1 },
                          { 301, 1 },  { 400, -1 }, { 500, 2 }, { 501, 2 } };

        (void) state;
        proc_attribute(p, ELEMENTSOF(p), roots, ELEMENTSOF(roots));
        for (size_t k = 0; k < ELEMENTSOF(p); k++) {
                assert_int_equal(p[k].pid, want[k][0]);
                assert_int_equal(p[k].owner, want[k][1]);
        }
        proc_attribute(NULL, 0, roots, ELEMENTSOF(roots));
}

static void test_attribute_cycle(void **state) {
        /* pid reuse between reads can make a loop: it ends, and nobody is attributed */
        ProcEntry p[] = { { 10, 11, -1, 0 }, { 11, 10, -1, 0 } };

        (void) state;
        proc_attribute(p, ELEMENTSOF(p), NULL, 0);
        assert_int_equal(p[0].owner, -1);
        assert_int_equal(p[1].owner, -1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stat),          cmocka_unit_test(test_env),
                cmocka_unit_test(test_cgroup),        cmocka_unit_test(test_rollup),
                cmocka_unit_test(test_attribute),     cmocka_unit_test(test_attribute_cycle),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
