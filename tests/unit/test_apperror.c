/*
 * Unit tests of the application error classifier (lib/apperror.h): json-level (names, cases,
 * pino numbers, what is not an error, garbage), a traceback counted once however long and
 * chained, pieces of a split line never counted twice, and regex candidates.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "apperror.h"

static const AppErrorRules ALL = { .json_level = true, .traceback = true, .match = false };

static AppErrorKind line(AppErrorState *st, const AppErrorRules *r, const char *s) {
        return apperr_classify(st, r, s, strlen(s), false);
}

static void test_json_level(void **state) {
        static const char *const errors[] = {
                "{\"level\":\"error\",\"msg\":\"db down\"}",
                "{\"level\": \"ERROR\", \"msg\": \"x\"}",
                "  {\"levelname\": \"Critical\"}",
                "{\"severity\":\"FATAL\",\"message\":\"x\"}",
                "{\"level\":50,\"time\":1,\"msg\":\"pino error\"}",
                "{\"level\":60,\"msg\":\"pino fatal\"}",
        };
        static const char *const others[] = {
                "{\"level\":\"info\",\"msg\":\"error in the message only\"}",
                "{\"level\":40}",
                "{\"level\":\"warning\"}",
                "{\"msg\":\"error\"}",
                "{\"level\":\"error\"",             /* cut */
                "[\"level\",\"error\"]",
                "level=error msg=plain text",
                "{\"level\":\"error\",\"level\":\"info\"}", /* duplicate keys: refused */
                "",
        };

        (void) state;
        for (size_t k = 0; k < sizeof errors / sizeof *errors; k++)
                assert_true(apperr_json_level(errors[k], strlen(errors[k])));
        for (size_t k = 0; k < sizeof others / sizeof *others; k++)
                assert_false(apperr_json_level(others[k], strlen(others[k])));
}

static void test_traceback_counts_once(void **state) {
        AppErrorState st = {};
        unsigned counted = 0;

        (void) state;
        assert_int_equal(line(&st, &ALL, "starting"), APPERR_NONE);
        assert_int_equal(line(&st, &ALL, APPERR_TRACEBACK_HEADER), APPERR_TRACEBACK);
        /* 19 frames of two lines, then the exception line: 40 lines, one error */
        for (int k = 0; k < 19; k++) {
                counted += line(&st, &ALL, "  File \"app.py\", line 3, in f") != APPERR_NONE;
                counted += line(&st, &ALL, "    {\"level\": \"error\"}") != APPERR_NONE;
        }
        counted += line(&st, &ALL, "ValueError: {\"level\": \"error\"}") != APPERR_NONE;
        assert_int_equal(counted, 0);
        /* a chained traceback belongs to the same block */
        assert_int_equal(line(&st, &ALL, ""), APPERR_NONE);
        assert_int_equal(line(&st, &ALL, "During handling of the above exception, another "
                                         "exception occurred:"), APPERR_NONE);
        assert_int_equal(line(&st, &ALL, ""), APPERR_NONE);
        assert_int_equal(line(&st, &ALL, APPERR_TRACEBACK_HEADER), APPERR_NONE);
        assert_int_equal(line(&st, &ALL, "  File \"x\", line 1"), APPERR_NONE);
        assert_int_equal(line(&st, &ALL, "KeyError: 'x'"), APPERR_NONE);
        /* the block is over at the next ordinary line, which is classified as usual */
        assert_int_equal(line(&st, &ALL, "{\"level\":\"error\"}"), APPERR_JSON_LEVEL);
        assert_int_equal(line(&st, &ALL, APPERR_TRACEBACK_HEADER), APPERR_TRACEBACK);
}

static void test_traceback_off(void **state) {
        AppErrorRules r = { .json_level = true };
        AppErrorState st = {};

        (void) state;
        assert_int_equal(line(&st, &r, APPERR_TRACEBACK_HEADER), APPERR_NONE);
        assert_int_equal(line(&st, &r, "{\"level\":\"error\"}"), APPERR_JSON_LEVEL);
}

static void test_split_lines_count_once(void **state) {
        AppErrorRules r = { .json_level = true, .traceback = true, .match = true };
        AppErrorState st = {};

        (void) state;
        /* a JSON error line cut in two: counted at its first piece only */
        assert_int_equal(line(&st, &r, "{\"level\":\"error\",\"pad\":\"aaaa"), APPERR_CANDIDATE);
        /* the first piece is no JSON object: the caller's regex decides; say it matched */
        st.counted = true;
        assert_int_equal(apperr_classify(&st, &r, "aaaa\"}", 6, true), APPERR_NONE);
        /* a piece that was not counted may still be matched, once */
        assert_int_equal(line(&st, &r, "plain start"), APPERR_CANDIDATE);
        assert_int_equal(apperr_classify(&st, &r, "ERROR later", 11, true), APPERR_CANDIDATE);
        st.counted = true;
        assert_int_equal(apperr_classify(&st, &r, "ERROR again", 11, true), APPERR_NONE);
        /* a counted JSON line's continuation is not counted again */
        assert_int_equal(line(&st, &r, "{\"level\":\"error\"}"), APPERR_JSON_LEVEL);
        assert_int_equal(apperr_classify(&st, &r, "ERROR", 5, true), APPERR_NONE);
}

static void test_garbage_counts_nothing(void **state) {
        AppErrorState st = {};
        char buf[4096];
        unsigned seed = 1, counted = 0;

        (void) state;
        for (int round = 0; round < 200; round++) {
                size_t n = 1 + seed % sizeof buf;
                for (size_t k = 0; k < n; k++) {
                        seed = seed * 1103515245 + 12345;
                        buf[k] = (char) (seed >> 16);
                        if (buf[k] == '\n')
                                buf[k] = ' ';
                }
                counted += apperr_classify(&st, &ALL, buf, n, false) != APPERR_NONE;
        }
        assert_int_equal(counted, 0);
}

static void test_names(void **state) {
        (void) state;
        assert_string_equal(apperr_kind_to_string(APPERR_JSON_LEVEL), "json-level");
        assert_string_equal(apperr_kind_to_string(APPERR_TRACEBACK), "traceback");
        assert_string_equal(apperr_kind_to_string(APPERR_MATCH), "match");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_json_level),
                cmocka_unit_test(test_traceback_counts_once),
                cmocka_unit_test(test_traceback_off),
                cmocka_unit_test(test_split_lines_count_once),
                cmocka_unit_test(test_garbage_counts_nothing),
                cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
