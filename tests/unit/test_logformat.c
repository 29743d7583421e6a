/*
 * Unit tests of lib/logformat.h: upkeepd's own log lines in text and json, byte for byte, and
 * a json line cut short that stays valid JSON.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>
#include <syslog.h>

#include "logformat.h"

/* 2024-05-01T12:34:56, two hours east of UTC */
static const struct tm when = {
        .tm_year = 124, .tm_mon = 4, .tm_mday = 1, .tm_hour = 12, .tm_min = 34, .tm_sec = 56,
        .tm_gmtoff = 7200,
};

static void assert_line(const char *line, size_t n, const char *want) {
        assert_int_equal(n, strlen(want));
        assert_memory_equal(line, want, n);
}

static void test_level(void **state) {
        (void) state;
        assert_string_equal(logformat_level(LOG_EMERG), "crit");
        assert_string_equal(logformat_level(LOG_CRIT), "crit");
        assert_string_equal(logformat_level(LOG_ERR), "error");
        assert_string_equal(logformat_level(LOG_WARNING), "warning");
        assert_string_equal(logformat_level(LOG_NOTICE), "notice");
        assert_string_equal(logformat_level(LOG_INFO), "info");
        assert_string_equal(logformat_level(LOG_DEBUG), "debug");
}

static void test_worker(void **state) {
        char buf[8];

        (void) state;
        logformat_worker("api:2", buf, sizeof buf);
        assert_string_equal(buf, "api");
        logformat_worker("api", buf, sizeof buf);
        assert_string_equal(buf, "api");
        logformat_worker("a-very-long-name:0", buf, sizeof buf);
        assert_string_equal(buf, "a-very-");
}

static void test_text(void **state) {
        char line[LOGFORMAT_LINE_MAX], msg[LOGFORMAT_LINE_MAX + 100];
        size_t n;

        (void) state;
        n = logformat_text(line, &when, 7, LOG_WARNING, "api:0", "exited with status 3");
        assert_line(line, n, "2024-05-01T12:34:56.007 warning api:0: exited with status 3\n");
        n = logformat_text(line, &when, 999, LOG_INFO, NULL, "reloaded");
        assert_line(line, n, "2024-05-01T12:34:56.999 info reloaded\n");
        /* text is written as it is, quotes and bytes alike */
        n = logformat_text(line, &when, 0, LOG_ERR, NULL, "say \"\xff\"");
        assert_line(line, n, "2024-05-01T12:34:56.000 error say \"\xff\"\n");

        /* cut to the line, the '\n' kept */
        memset(msg, 'x', sizeof msg - 1);
        msg[sizeof msg - 1] = '\0';
        n = logformat_text(line, &when, 0, LOG_INFO, NULL, msg);
        assert_int_equal(n, LOGFORMAT_LINE_MAX - 1);
        assert_int_equal(line[n - 1], '\n');
        assert_int_equal(line[n - 2], 'x');
}

static void test_json(void **state) {
        char line[LOGFORMAT_LINE_MAX];
        size_t n;

        (void) state;
        n = logformat_json(line, &when, 42, LOG_NOTICE, NULL, NULL, NULL, "started");
        assert_line(line, n, "{\"time\":\"2024-05-01T12:34:56.042+02:00\",\"level\":\"notice\","
                             "\"message\":\"started\"}\n");

        n = logformat_json(line, &when, 42, LOG_WARNING, "api:1", "exit",
                           (const LogField[]) {
                                   { .key = "exit_code", .type = LOG_FIELD_INT, .i = -3 },
                                   { .key = "delay_ms", .type = LOG_FIELD_DOUBLE, .d = 1500 },
                                   { .key = "", .type = LOG_FIELD_INT, .i = 9 },
                                   { .key = "signal", .type = LOG_FIELD_STR, .s = NULL },
                                   { .key = "state", .type = LOG_FIELD_STR, .s = "BACK\"OFF" },
                                   { .key = NULL },
                           },
                           "exited: \"boom\"\n");
        assert_line(line, n, "{\"time\":\"2024-05-01T12:34:56.042+02:00\",\"level\":\"warning\","
                             "\"worker\":\"api\",\"instance\":\"api:1\",\"event\":\"exit\","
                             "\"message\":\"exited: \\\"boom\\\"\\n\",\"exit_code\":-3,"
                             "\"delay_ms\":1500.000,\"state\":\"BACK\\\"OFF\"}\n");

        /* invalid UTF-8 from outside becomes U+FFFD, control characters \u escapes */
        n = logformat_json(line, &when, 0, LOG_ERR, NULL, NULL, NULL, "bad \xff\x01 byte");
        assert_line(line, n, "{\"time\":\"2024-05-01T12:34:56.000+02:00\",\"level\":\"error\","
                             "\"message\":\"bad \xef\xbf\xbd\\u0001 byte\"}\n");
}

/* Whatever the message, the line is one JSON object: too long, it says so instead. */
static void test_json_too_long(void **state) {
        char line[LOGFORMAT_LINE_MAX], msg[LOGFORMAT_LINE_MAX + 100];
        const LogField fields[] = {
                { .key = "file", .type = LOG_FIELD_STR, .s = "/var/log/upkeep/api/api.log" },
                { .key = NULL },
        };
        json_error_t err;
        json_t *j;
        size_t n;

        (void) state;
        for (size_t len = LOGFORMAT_LINE_MAX - 200; len < sizeof msg; len += 7) {
                memset(msg, '"', len);
                msg[len] = '\0';
                n = logformat_json(line, &when, 0, LOG_INFO, "api:0", "e", fields, msg);
                assert_true(n < LOGFORMAT_LINE_MAX);
                assert_int_equal(line[n - 1], '\n');
                j = json_loadb(line, n, 0, &err);
                assert_non_null(j);
                assert_string_equal(json_string_value(json_object_get(j, "instance")), "api:0");
                if (strcmp(json_string_value(json_object_get(j, "message")), msg) != 0) {
                        assert_string_equal(json_string_value(json_object_get(j, "message")),
                                            "(message too long)");
                        assert_null(json_object_get(j, "file"));
                }
                json_decref(j);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_level),
                cmocka_unit_test(test_worker),
                cmocka_unit_test(test_text),
                cmocka_unit_test(test_json),
                cmocka_unit_test(test_json_too_long),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
