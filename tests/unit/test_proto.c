/*
 * Unit tests of the control-request decoder (lib/proto.c): what upkeepd accepts from a
 * client line, and the static error each malformed line gets.  Inputs found by the fuzzer
 * (tests/fuzz/fuzz_proto.c) are added here as table rows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "macro.h"
#include "proto.h"

static void decode_ok(const char *line, const char *want_cmd, const char *want_name) {
        ProtoRequest r = {};
        const char *err = NULL;

        if (proto_decode_request(line, strlen(line), &r, &err) != 0) {
                print_error("proto_decode_request(%s): %s, expected success\n", line, err);
                fail();
        }
        assert_string_equal(r.cmd, want_cmd);
        if (want_name)
                assert_string_equal(r.name, want_name);
        else
                assert_null(r.name);
        proto_request_done(&r);
        assert_null(r.json);
}

static void test_valid(void **state) {
        (void) state;
        decode_ok("{\"cmd\": \"status\"}", "status", NULL);
        decode_ok("{\"cmd\": \"stop\", \"name\": \"web:1\"}", "stop", "web:1");
        decode_ok("  {\"name\": \"w\", \"cmd\": \"start\", \"extra\": [1, 2]}  ", "start", "w");
        decode_ok("{\"cmd\": \"st\\u00e4tus\"}", "st\xc3\xa4tus", NULL);
}

static void test_invalid(void **state) {
        static const struct {
                const char *line;
                size_t len; /* 0: strlen */
                const char *error_prefix;
        } cases[] = {
                { "", 0, "invalid JSON" },
                { "this is not json", 0, "invalid JSON" },
                { "{\"cmd\": \"status\"", 0, "invalid JSON" },
                { "{\"cmd\": \"status\"} trailing", 0, "invalid JSON" },
                { "{\"cmd\": \"stop\", \"cmd\": \"status\"}", 0, "invalid JSON" },
                { "[\"status\"]", 0, "expected" },
                { "\"status\"", 0, "invalid JSON" },
                { "{}", 0, "expected" },
                { "{\"cmd\": 5}", 0, "expected" },
                { "{\"cmd\": null}", 0, "expected" },
                { "{\"cmd\": \"stop\", \"name\": 7}", 0, "expected" },
                { "{\"cmd\": \"stop\", \"name\": null}", 0, "expected" },
                { "{\"cmd\": \"stop\", \"name\": [\"w\"]}", 0, "expected" },
                /* a NUL would cut the name: "w\0x" must not stop "w" */
                { "{\"cmd\": \"stop\", \"name\": \"w\\u0000x\"}", 0, "invalid JSON" },
                { "{\"cmd\": \"stop\\u0000\"}", 0, "invalid JSON" },
                /* raw bytes: a NUL, and invalid UTF-8 inside a string */
                { "{\"cmd\": \"status\"}\0", 18, "invalid JSON" },
                { "{\"cmd\": \"\xff\xfe\"}", 0, "invalid JSON" },
                { "{\"cmd\": \"\xc3\"}", 0, "invalid JSON" },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ProtoRequest r = { .cmd = "untouched" };
                const char *err = NULL;
                size_t len = cases[i].len ?: strlen(cases[i].line);

                if (proto_decode_request(cases[i].line, len, &r, &err) != -EINVAL || !err ||
                    strncmp(err, cases[i].error_prefix, strlen(cases[i].error_prefix)) != 0) {
                        print_error("case %zu (%s): error %s, expected -EINVAL and '%s...'\n", i,
                                    cases[i].line, err ?: "(none)", cases[i].error_prefix);
                        fail();
                }
                /* written only on success */
                assert_string_equal(r.cmd, "untouched");
                assert_null(r.json);
        }
}

static void test_deep_nesting(void **state) {
        /* jansson limits depth: a deep array is an error answer, not a stack overflow */
        size_t n = 100000;
        char *s = malloc(2 * n + 1);
        ProtoRequest r = {};
        const char *err = NULL;

        (void) state;
        assert_non_null(s);
        memset(s, '[', n);
        memset(s + n, ']', n);
        s[2 * n] = '\0';
        assert_int_equal(proto_decode_request(s, 2 * n, &r, &err), -EINVAL);
        assert_non_null(err);
        free(s);
}

static void test_status_head(void **state) {
        static const struct {
                const char *line;
                int r;
                unsigned n;
        } cases[] = {
                { "{\"ok\":true,\"not_running\":0,\"version\":1}", 0, 0 },
                { "{\"ok\":true,\"not_running\":17,\"workers\":[]}", 0, 17 },
                { "{\"ok\":true,\"not_running\":4294967295,", 0, 4294967295U },
                { "{\"ok\":true,\"not_running\":4294967296,", -EBADMSG, 0 },
                { "{\"ok\":true,\"not_running\":12345678901,", -EBADMSG, 0 },
                { "{\"ok\":true,\"not_running\":3", -EBADMSG, 0 },   /* cut short */
                { "{\"ok\":true,\"not_running\":,", -EBADMSG, 0 },
                { "{\"ok\":true,\"not_running\":-1,", -EBADMSG, 0 },
                { "{\"ok\":true,\"not_running\": 1,", -EBADMSG, 0 },
                { "{\"ok\":false,\"error\":\"no such process\"}", -EBADMSG, 0 },
                { "{\"ok\": true, \"not_running\": 0, ", -EBADMSG, 0 }, /* not compact */
                { "", -EBADMSG, 0 },
        };

        (void) state;
        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                unsigned n = 12345;
                int r = proto_status_not_running(cases[k].line, strlen(cases[k].line), &n);

                assert_int_equal(r, cases[k].r);
                if (r == 0)
                        assert_int_equal(n, cases[k].n);
                else
                        assert_int_equal(n, 12345); /* untouched */
        }
}

/* The command table: every command found by its name, and complete for the checks made on it. */
static void test_command_table(void **state) {
        (void) state;
        for (int c = 0; c < _PROTO_CMD_MAX; c++) {
                const ProtoCommand *pc = &proto_commands[c];

                assert_non_null(pc->name);
                assert_int_equal(proto_cmd_from_string(pc->name), c);
                /* a command refused without a name says which name it needs */
                assert_true((pc->name_use == PROTO_NAME_REQUIRED) == (pc->needs_name != NULL));
        }
        assert_int_equal(proto_cmd_from_string("alerts-test"), PROTO_CMD_ALERTS_TEST);
        assert_int_equal(proto_cmd_from_string("Status"), _PROTO_CMD_INVALID);
        assert_int_equal(proto_cmd_from_string(""), _PROTO_CMD_INVALID);
        assert_int_equal(proto_cmd_from_string(NULL), _PROTO_CMD_INVALID);
        /* what a read-only client may do (man/upkeepctl.1, ACCESS) */
        assert_false(proto_commands[PROTO_CMD_STATUS].command);
        assert_false(proto_commands[PROTO_CMD_HEALTH].command);
        assert_false(proto_commands[PROTO_CMD_ALERTS].command);
        assert_false(proto_commands[PROTO_CMD_LOGFILE].command);
        assert_true(proto_commands[PROTO_CMD_START].command);
        assert_true(proto_commands[PROTO_CMD_RELOAD].command);
        assert_true(proto_commands[PROTO_CMD_ALERTS_TEST].command);
        assert_true(proto_commands[PROTO_CMD_REOPEN_LOGS].command);
}

/* Codes are distinct and read back; an answer's error is found by code, else by its text. */
static void test_error_codes(void **state) {
        (void) state;
        for (int e = 0; e < _PROTO_E_MAX; e++) {
                json_t *ans = proto_error_answer((ProtoError) e, NULL);

                assert_non_null(proto_error_code((ProtoError) e));
                assert_int_equal(proto_error_from_code(proto_error_code((ProtoError) e)), e);
                assert_int_equal(proto_error_from_text(proto_error_text((ProtoError) e)), e);
                assert_non_null(ans);
                assert_true(json_is_false(json_object_get(ans, "ok")));
                assert_string_equal(json_string_value(json_object_get(ans, "error")),
                                    proto_error_text((ProtoError) e));
                assert_string_equal(json_string_value(json_object_get(ans, "code")),
                                    proto_error_code((ProtoError) e));
                assert_int_equal(proto_answer_error(ans), e);
                json_decref(ans);
        }
        /* the texts of protocol version 1, which clients compared before there were codes */
        assert_string_equal(proto_error_text(PROTO_E_NO_SUCH_PROCESS), "no such process");
        assert_string_equal(proto_error_text(PROTO_E_TOO_LONG), "request too long");
        assert_null(proto_error_code(_PROTO_E_MAX));
        assert_int_equal(proto_error_from_code("no such process"), _PROTO_E_INVALID);
        {
                /* a precise text keeps its code; an answer from before codes is read by text */
                json_t *a = proto_error_answer(PROTO_E_NEEDS_NAME, "this command needs a sink name");
                json_t *old = json_pack("{s:b, s:s}", "ok", 0, "error", "no such process");
                json_t *unknown = json_pack("{s:b, s:s}", "ok", 0, "error", "new in version 9");

                assert_string_equal(json_string_value(json_object_get(a, "error")),
                                    "this command needs a sink name");
                assert_int_equal(proto_answer_error(a), PROTO_E_NEEDS_NAME);
                assert_int_equal(proto_answer_error(old), PROTO_E_NO_SUCH_PROCESS);
                assert_int_equal(proto_answer_error(unknown), _PROTO_E_INVALID);
                json_decref(a);
                json_decref(old);
                json_decref(unknown);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_deep_nesting),
                cmocka_unit_test(test_status_head),
                cmocka_unit_test(test_command_table),
                cmocka_unit_test(test_error_codes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
