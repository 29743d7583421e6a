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

static void test_equal(void **state) {
        char *ab[] = { "a", "b", NULL }, *ab2[] = { "a", "b", NULL }, *ba[] = { "b", "a", NULL };
        char *a[] = { "a", NULL }, *none[] = { NULL };

        (void) state;
        assert_true(strv_equal(ab, ab2));
        assert_false(strv_equal(ab, ba));
        assert_false(strv_equal(ab, a));
        assert_false(strv_equal(a, ab));
        assert_true(strv_equal(NULL, none));
        assert_true(strv_equal(NULL, NULL));
        assert_false(strv_equal(NULL, a));
        assert_true(streq_ptr(NULL, NULL));
        assert_true(streq_ptr("x", "x"));
        assert_false(streq_ptr("x", NULL));
        assert_false(streq_ptr(NULL, "x"));
        assert_false(streq_ptr("x", "y"));
}

static void test_contains_remove(void **state) {
        char **l = NULL;

        (void) state;
        assert_false(strv_contains(NULL, "a"));
        strv_remove(NULL, "a");
        assert_int_equal(strv_extend(&l, "a"), 0);
        assert_int_equal(strv_extend(&l, "b"), 0);
        assert_int_equal(strv_extend(&l, "a"), 0);
        assert_int_equal(strv_extend(&l, "c"), 0);
        assert_true(strv_contains(l, "b"));
        assert_false(strv_contains(l, "d"));
        /* every "a" goes, the others keep their order */
        strv_remove(l, "a");
        assert_int_equal(strv_length(l), 2);
        assert_string_equal(l[0], "b");
        assert_string_equal(l[1], "c");
        assert_null(l[2]);
        strv_remove(l, "d");
        assert_int_equal(strv_length(l), 2);
        strv_remove(l, "b");
        strv_remove(l, "c");
        assert_int_equal(strv_length(l), 0);
        strv_free(l);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_extend_consume),
                cmocka_unit_test(test_equal),
                cmocka_unit_test(test_contains_remove),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
