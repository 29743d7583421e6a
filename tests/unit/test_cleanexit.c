/*
 * Unit tests of the clean ends of a process (lib/cleanexit.h): the default set, supervisord's
 * exitcodes (no signal), entries by code and by signal name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>

#include "cleanexit.h"

static void test_default(void **state) {
        CleanExits c;

        (void) state;
        clean_exits_default(&c);
        assert_true(clean_exits_test(&c, 0, 0));
        assert_false(clean_exits_test(&c, 1, 0));
        assert_true(clean_exits_test(&c, 0, SIGTERM));
        assert_true(clean_exits_test(&c, 0, SIGINT));
        assert_true(clean_exits_test(&c, 0, SIGHUP));
        assert_true(clean_exits_test(&c, 0, SIGPIPE));
        assert_false(clean_exits_test(&c, 0, SIGKILL));
        assert_false(clean_exits_test(&c, 0, SIGSEGV));
}

/* autorestart=unexpected, exitcodes=0,2: killed by any signal is a failure */
static void test_supervisord_unexpected(void **state) {
        CleanExits c;

        (void) state;
        clean_exits_none(&c);
        assert_int_equal(clean_exits_add(&c, "0"), 0);
        assert_int_equal(clean_exits_add(&c, "2"), 0);
        assert_true(clean_exits_test(&c, 0, 0));
        assert_true(clean_exits_test(&c, 2, 0));
        assert_false(clean_exits_test(&c, 1, 0));
        assert_false(clean_exits_test(&c, 0, SIGTERM));
        assert_false(clean_exits_test(&c, 0, SIGINT));
        assert_false(clean_exits_test(&c, 0, SIGHUP));
        assert_false(clean_exits_test(&c, 0, SIGPIPE));
}

static void test_entries(void **state) {
        CleanExits c;

        (void) state;
        clean_exits_none(&c);
        assert_false(clean_exits_test(&c, 0, 0));
        assert_int_equal(clean_exits_add(&c, "255"), 0);
        assert_int_equal(clean_exits_add(&c, "USR1"), 0);
        assert_int_equal(clean_exits_add(&c, "SIGUSR2"), 0);
        assert_int_equal(clean_exits_add(&c, "RTMIN+1"), 0);
        assert_true(clean_exits_test(&c, 255, 0));
        assert_true(clean_exits_test(&c, 0, SIGUSR1));
        assert_true(clean_exits_test(&c, 0, SIGUSR2));
        assert_true(clean_exits_test(&c, 0, SIGRTMIN + 1));
        /* a bare number is an exit code, never a signal */
        assert_int_equal(clean_exits_add(&c, "15"), 0);
        assert_true(clean_exits_test(&c, 15, 0));
        assert_false(clean_exits_test(&c, 0, SIGTERM));
        assert_int_equal(clean_exits_add(&c, "256"), -EINVAL);
        assert_int_equal(clean_exits_add(&c, "0255"), -EINVAL);
        assert_int_equal(clean_exits_add(&c, "-1"), -EINVAL);
        assert_int_equal(clean_exits_add(&c, ""), -EINVAL);
        assert_int_equal(clean_exits_add(&c, "TERMX"), -EINVAL);
        assert_int_equal(clean_exits_add(&c, NULL), -EINVAL);
        /* out of range asks never crash */
        assert_false(clean_exits_test(&c, 256, 0));
        assert_false(clean_exits_test(&c, -1, 0));
        assert_false(clean_exits_test(&c, 0, 200));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default),
                cmocka_unit_test(test_supervisord_unexpected),
                cmocka_unit_test(test_entries),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
