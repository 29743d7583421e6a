/*
 * Unit tests of the reload plan (lib/reloadplan.h): workers are matched by name, kept when
 * their process settings are the same, restarted when not, started when new and stopped when
 * gone; the process settings are asked about once per match, with the matched indexes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reloadplan.h"

typedef struct Same {
        const char *changed; /* the names whose process settings changed */
        const char *const *old_names, *const *new_names;
        unsigned calls;
} Same;

static bool same(size_t o, size_t n, void *userdata) {
        Same *s = userdata;

        s->calls++;
        assert_string_equal(s->old_names[o], s->new_names[n]);
        for (const char *c = s->changed; c && *c; c++)
                if (*c == s->new_names[n][0])
                        return false;
        return true;
}

static void test_empty(void **state) {
        ReloadPlan p;

        (void) state;
        assert_int_equal(reload_plan(NULL, 0, NULL, 0, same, NULL, &p), 0);
        reload_plan_done(&p);
        assert_null(p.next);
}

static void test_all_new_and_all_gone(void **state) {
        const char *const names[] = { "a", "b" };
        Same s = { .old_names = names, .new_names = names };
        ReloadPlan p;

        (void) state;
        assert_int_equal(reload_plan(NULL, 0, names, 2, same, &s, &p), 0);
        assert_int_equal(p.next[0], RELOAD_START);
        assert_int_equal(p.next[1], RELOAD_START);
        assert_true(p.from[0] == RELOAD_NONE && p.from[1] == RELOAD_NONE);
        reload_plan_done(&p);
        assert_int_equal(reload_plan(names, 2, NULL, 0, same, &s, &p), 0);
        assert_int_equal(p.prev[0], RELOAD_STOP);
        assert_int_equal(p.prev[1], RELOAD_STOP);
        reload_plan_done(&p);
        assert_int_equal(s.calls, 0);
}

static void test_keep_restart_start_stop(void **state) {
        const char *const old[] = { "api", "batch", "cron" };
        const char *const next[] = { "cron", "api", "db" };
        Same s = { .changed = "c", .old_names = old, .new_names = next };
        ReloadPlan p;

        (void) state;
        assert_int_equal(reload_plan(old, 3, next, 3, same, &s, &p), 0);
        assert_int_equal(p.next[0], RELOAD_RESTART);
        assert_int_equal(p.from[0], 2);
        assert_int_equal(p.next[1], RELOAD_KEEP);
        assert_int_equal(p.from[1], 0);
        assert_int_equal(p.next[2], RELOAD_START);
        assert_true(p.from[2] == RELOAD_NONE);
        assert_int_equal(p.prev[0], RELOAD_KEEP);
        assert_int_equal(p.prev[1], RELOAD_STOP);
        assert_int_equal(p.prev[2], RELOAD_RESTART);
        assert_int_equal(s.calls, 2);
        reload_plan_done(&p);
}

/* Names are unique in a configuration; were they not, each old worker is taken once. */
static void test_each_old_worker_taken_once(void **state) {
        const char *const old[] = { "x", "x" };
        const char *const one[] = { "x" };
        Same s = { .old_names = old, .new_names = old };
        ReloadPlan p;

        (void) state;
        assert_int_equal(reload_plan(old, 2, old, 2, same, &s, &p), 0);
        assert_int_equal(p.from[0], 0);
        assert_int_equal(p.from[1], 1);
        assert_int_equal(p.prev[1], RELOAD_KEEP);
        reload_plan_done(&p);
        s.new_names = one;
        assert_int_equal(reload_plan(old, 2, one, 1, same, &s, &p), 0);
        assert_int_equal(p.from[0], 0);
        assert_int_equal(p.prev[0], RELOAD_KEEP);
        assert_int_equal(p.prev[1], RELOAD_STOP);
        reload_plan_done(&p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_all_new_and_all_gone),
                cmocka_unit_test(test_keep_restart_start_stop),
                cmocka_unit_test(test_each_old_worker_taken_once),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
