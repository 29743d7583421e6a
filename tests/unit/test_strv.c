/*
 * Unit tests of the string vectors (lib/strv.c): NULL is the empty list, appending copies or
 * takes as its name says, and strv_free() releases everything (ASan and valgrind check that).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

static void test_empty(void **state) {
        (void) state;
        assert_int_equal(strv_length(NULL), 0);
        strv_free(NULL);
        {
                _cleanup_strv_free_ char **l = NULL;
                assert_int_equal(strv_length(l), 0);
        }
}

static void test_extend_consume(void **state) {
        _cleanup_strv_free_ char **l = NULL;
        char buf[] = "copied";

        (void) state;
        assert_int_equal(strv_extend(&l, buf), 0);
        buf[0] = 'X'; /* a copy: the list does not see the change */
        assert_int_equal(strv_consume(&l, strdup("taken")), 0);
        assert_int_equal(strv_length(l), 2);
        assert_string_equal(l[0], "copied");
        assert_string_equal(l[1], "taken");
        assert_null(l[2]);
        /* a failed allocation of the string leaves the list as it was */
        assert_int_equal(strv_consume(&l, NULL), -ENOMEM);
        assert_int_equal(strv_length(l), 2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_extend_consume),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
