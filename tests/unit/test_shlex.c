/*
 * Unit tests of shlex_split() (lib/shlex.h) against what Python's shlex.split() gives (each
 * expected list was printed by python3 -c 'import shlex; print(shlex.split(...))'), and of the
 * quoting that argv_split() reads back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "parse.h"
#include "shlex.h"
#include "strv.h"

static const struct {
        const char *line;
        const char *words[5];
} table[] = {
        { "a b  c", { "a", "b", "c" } },
        { "a \"\\$x\"", { "a", "\\$x" } },               /* backslash before $ kept */
        { "a \"\\`id\\`\"", { "a", "\\`id\\`" } },       /* before a backtick too */
        { "a \"x\\\ny\"", { "a", "x\\\ny" } },           /* and before a newline */
        { "a \"\\\\\" \"\\\"\"", { "a", "\\", "\"" } },   /* only \\ and \" are escapes */
        { "a\\\nb", { "a\nb" } },                        /* outside: backslash-newline is a newline */
        { "a\\ b c\\$", { "a b", "c$" } },
        { "'a\\b' 'it'\\''s'", { "a\\b", "it's" } },     /* single quotes: all literal */
        { "a'b c'd", { "ab cd" } },
        { "'' a \"\"", { "", "a", "" } },
        { "a\rb\tc", { "a", "b", "c" } },                /* \r separates words */
        { "#x y#", { "#x", "y#" } },                     /* no comments */
        { "sh -c 'echo \"$HOME\"'", { "sh", "-c", "echo \"$HOME\"" } },
        { "a\"b\\\"c\"d", { "ab\"cd" } },
        { "  ", { NULL } },
};

static void test_table(void **state) {
        (void) state;
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
                _cleanup_strv_free_ char **argv = NULL, **back = NULL;
                _cleanup_free_ char *q = NULL;
                const char *err = NULL;
                size_t n = 0;

                assert_int_equal(shlex_split(table[i].line, &argv, &err), 0);
                while (table[i].words[n])
                        n++;
                assert_int_equal(strv_length(argv), n);
                for (size_t j = 0; j < n; j++)
                        assert_string_equal(argv[j], table[i].words[j]);
                if (n == 0)
                        continue;
                /* the quoted text gives the same words to argv_split() */
                q = argv_join_quoted(argv);
                assert_non_null(q);
                assert_int_equal(argv_split(q, &back, &err), 0);
                assert_true(strv_equal(argv, back));
        }
}

static void test_errors(void **state) {
        char **argv = NULL;
        const char *err = NULL;

        (void) state;
        assert_int_equal(shlex_split("a 'b", &argv, &err), -EINVAL);
        assert_string_equal(err, "No closing quotation");
        assert_int_equal(shlex_split("a \"b\\\"", &argv, &err), -EINVAL);
        assert_string_equal(err, "No closing quotation");
        assert_int_equal(shlex_split("a \\", &argv, &err), -EINVAL);
        assert_string_equal(err, "No escaped character");
        assert_int_equal(shlex_split("a \"\\", &argv, &err), -EINVAL);
        assert_string_equal(err, "No escaped character");
        assert_null(argv);
}

static void test_quote(void **state) {
        char *words[] = { (char *) "plain/x=1,2", (char *) "", (char *) "it's", (char *) "a b",
                          (char *) "\\$", NULL };
        _cleanup_free_ char *q = argv_join_quoted(words);

        (void) state;
        assert_string_equal(q, "plain/x=1,2 '' 'it'\\''s' 'a b' '\\$'");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_quote),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
