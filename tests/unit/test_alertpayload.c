/*
 * Unit tests of the alert payload encoders (lib/alertpayload.h), each against the shape its
 * receiver documents:
 *   webhook: the object in upkeep.conf(5), every field with its type;
 *   Slack incoming webhook: a JSON object whose "text" is the message (no "blocks" needed);
 *   Alertmanager API v2 POST /api/v2/alerts: an array of postableAlert objects, "labels"
 *     (required, a map of strings) and optional "annotations" (map of strings), "startsAt",
 *     "endsAt" (RFC 3339 date-time) and "generatorURL";
 *   exec: the UPKEEP_* variables of upkeep.conf(5).
 * alert_exec_env() also runs against an asprintf()/vasprintf() that fails at each call in turn and, as
 * asprintf(3) allows, leaves its result pointer undefined: nothing it did not allocate is freed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertpayload.h"
#include "strv.h"
#include "macro.h"

/* 2026-11-23T10:15:50Z */
#define T_START ((usec_t) 1795428950 * USEC_PER_SEC + 250000)

/*
 * asprintf() and vasprintf() interposed (this program's definitions win over libc's): the call
 * numbered fail_at fails (0: none does) the way the manual allows, with *ret left pointing at
 * memory nobody allocated.
 */
static unsigned calls, fail_at;
static char poison[16];

int vasprintf(char **ret, const char *fmt, va_list ap) {
        va_list aq;
        int len;

        if (fail_at && ++calls == fail_at) {
                *ret = poison;
                return -1;
        }
        va_copy(aq, ap);
        len = vsnprintf(NULL, 0, fmt, aq);
        va_end(aq);
        *ret = malloc((size_t) len + 1);
        if (!*ret)
                return -1;
        return vsnprintf(*ret, (size_t) len + 1, fmt, ap);
}

int asprintf(char **ret, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(ret, fmt, ap);
        va_end(ap);
        return r;
}

static AlertCounts counts;

static AlertEvent event(void) {
        memset(&counts, 0, sizeof counts);
        counts.n[EVK_RESTART][0] = 2;
        counts.n[EVK_RESTART][1] = 5;
        counts.n[EVK_RESTART][2] = 5;
        counts.n[EVK_RESTART][3] = 7;
        counts.n[EVK_HEALTH_FAILURE][1] = 3;
        return (AlertEvent) {
                .worker = "api",
                .instance = "api:1",
                .host = "web01",
                .severity = SEV_CRITICAL,
                .summary = "5 restarts within 10m00s",
                .started_at = T_START,
                .at = T_START + 90 * USEC_PER_SEC,
                .counts = &counts,
        };
}

static const char *str(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        assert_non_null(v);
        assert_true(json_is_string(v));
        return json_string_value(v);
}

static void test_rfc3339(void **state) {
        char buf[32];

        (void) state;
        alert_rfc3339(buf, sizeof buf, T_START);
        assert_string_equal(buf, "2026-11-23T10:15:50Z");
        alert_rfc3339(buf, sizeof buf, 0);
        assert_string_equal(buf, "1970-01-01T00:00:00Z");
}

static void test_counts_from_window(void **state) {
        Window w;
        AlertCounts c;
        usec_t t0 = 1000 * USEC_PER_HOUR;

        (void) state;
        win_init(&w, t0);
        win_add(&w, EVK_CRASH, t0);
        win_add(&w, EVK_CRASH, t0 + 3 * USEC_PER_MINUTE);
        alert_counts(&w, t0 + 3 * USEC_PER_MINUTE, &c);
        assert_int_equal(c.n[EVK_CRASH][0], 1);
        assert_int_equal(c.n[EVK_CRASH][1], 2);
        assert_int_equal(c.n[EVK_EXIT][3], 0);
        alert_counts(NULL, t0, &c);
        for (int k = 0; k < _EVK_MAX; k++)
                for (int s = 0; s < WIN_N_SPANS; s++)
                        assert_int_equal(c.n[k][s], 0);
}

static void test_webhook(void **state) {
        AlertEvent e = event();
        json_t *j, *c;

        (void) state;
        j = alert_webhook_json(&e);
        assert_non_null(j);
        assert_true(json_is_object(j));
        assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
        assert_string_equal(str(j, "status"), "firing");
        assert_string_equal(str(j, "severity"), "critical");
        assert_string_equal(str(j, "worker"), "api");
        assert_string_equal(str(j, "instance"), "api:1");
        assert_string_equal(str(j, "host"), "web01");
        assert_string_equal(str(j, "summary"), "5 restarts within 10m00s");
        assert_string_equal(str(j, "started_at"), "2026-11-23T10:15:50Z");
        assert_string_equal(str(j, "at"), "2026-11-23T10:17:20Z");
        assert_true(json_is_false(json_object_get(j, "repeat")));
        assert_true(json_is_false(json_object_get(j, "test")));
        c = json_object_get(j, "counts");
        assert_true(json_is_object(c));
        assert_int_equal(json_object_size(c), _EVK_MAX);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "restart"), "1m")),
                         2);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "restart"), "1h")),
                         7);
        assert_int_equal(
                json_integer_value(json_object_get(json_object_get(c, "health-failure"), "5m")), 3);
        assert_int_equal(json_object_size(json_object_get(c, "exit")), WIN_N_SPANS);
        assert_int_equal(json_object_size(j), 14);
        assert_true(json_is_null(json_object_get(j, "output")));
        assert_true(json_is_null(json_object_get(j, "last_error")));
        json_decref(j);

        /* resolved, repeated, a test without counts; a summary that is not UTF-8 */
        e.resolved = e.repeat = e.test = true;
        e.counts = NULL;
        e.summary = "bad \xff byte";
        j = alert_webhook_json(&e);
        assert_non_null(j);
        assert_string_equal(str(j, "status"), "resolved");
        assert_true(json_is_true(json_object_get(j, "repeat")));
        assert_true(json_is_true(json_object_get(j, "test")));
        assert_int_equal(json_object_size(json_object_get(j, "counts")), 0);
        assert_string_equal(str(j, "summary"), "bad \xef\xbf\xbd byte");
        json_decref(j);
}

static void test_slack(void **state) {
        AlertEvent e = event();
        json_t *j;

        (void) state;
        j = alert_slack_json(&e);
        assert_non_null(j);
        assert_true(json_is_object(j));
        assert_int_equal(json_object_size(j), 1);
        assert_string_equal(str(j, "text"),
                            ":rotating_light: *[critical]* api:1 on web01: 5 restarts within 10m00s");
        json_decref(j);

        e.resolved = e.test = true;
        j = alert_slack_json(&e);
        assert_string_equal(
                str(j, "text"),
                ":white_check_mark: *[RESOLVED]* api:1 on web01: 5 restarts within 10m00s (test)");
        json_decref(j);
}

static void check_label_set(json_t *set) {
        const char *k;
        json_t *v;

        assert_true(json_is_object(set));
        json_object_foreach(set, k, v)
                assert_true(json_is_string(v));
}

static void test_alertmanager(void **state) {
        static const char *const allowed[] = { "labels", "annotations", "startsAt", "endsAt",
                                               "generatorURL" };
        AlertEvent e = event();
        json_t *j, *a, *labels, *ann, *v;
        const char *k;

        (void) state;
        j = alert_alertmanager_json(&e, 4 * USEC_PER_MINUTE);
        assert_non_null(j);
        assert_true(json_is_array(j));
        assert_int_equal(json_array_size(j), 1);
        a = json_array_get(j, 0);
        json_object_foreach(a, k, v) {
                bool known = false;
                for (size_t i = 0; i < ELEMENTSOF(allowed); i++)
                        known = known || strcmp(k, allowed[i]) == 0;
                assert_true(known);
        }
        labels = json_object_get(a, "labels");
        check_label_set(labels);
        assert_string_equal(str(labels, "alertname"), "UpkeepWorkerAlert");
        assert_string_equal(str(labels, "worker"), "api");
        assert_string_equal(str(labels, "instance"), "api:1");
        assert_string_equal(str(labels, "severity"), "critical");
        assert_string_equal(str(labels, "host"), "web01");
        assert_int_equal(json_object_size(labels), 5);
        ann = json_object_get(a, "annotations");
        check_label_set(ann);
        assert_string_equal(str(ann, "summary"), "5 restarts within 10m00s");
        assert_string_equal(str(ann, "description"), "see upkeepctl status");
        assert_string_equal(str(a, "startsAt"), "2026-11-23T10:15:50Z");
        /* firing: valid for valid_for after now */
        assert_string_equal(str(a, "endsAt"), "2026-11-23T10:21:20Z");
        json_decref(j);

        /* resolved: ends now; a test has its own alertname */
        e.resolved = e.test = true;
        j = alert_alertmanager_json(&e, 4 * USEC_PER_MINUTE);
        a = json_array_get(j, 0);
        assert_string_equal(str(a, "endsAt"), "2026-11-23T10:17:20Z");
        assert_string_equal(str(json_object_get(a, "labels"), "alertname"), "UpkeepTest");
        assert_string_equal(str(json_object_get(a, "annotations"), "description"),
                            "the worker recovered");
        json_decref(j);
}

static const char *env_get(char **env, const char *name) {
        size_t l = strlen(name);

        for (char **p = env; p && *p; p++)
                if (strncmp(*p, name, l) == 0 && (*p)[l] == '=')
                        return *p + l + 1;
        return NULL;
}

static void test_exec_env(void **state) {
        AlertEvent e = event();
        char **env;

        (void) state;
        env = alert_exec_env(&e);
        assert_non_null(env);
        assert_string_equal(env_get(env, "UPKEEP_WORKER"), "api");
        assert_string_equal(env_get(env, "UPKEEP_INSTANCE"), "api:1");
        assert_string_equal(env_get(env, "UPKEEP_SEVERITY"), "critical");
        assert_string_equal(env_get(env, "UPKEEP_STATUS"), "firing");
        assert_string_equal(env_get(env, "UPKEEP_SUMMARY"), "5 restarts within 10m00s");
        assert_string_equal(env_get(env, "UPKEEP_TEST"), "0");
        assert_string_equal(env_get(env, "UPKEEP_COUNT_RESTART_5M"), "5");
        assert_string_equal(env_get(env, "UPKEEP_COUNT_HEALTH_FAILURE_5M"), "3");
        assert_string_equal(env_get(env, "UPKEEP_COUNT_CRASH_5M"), "0");
        assert_int_equal(strv_length(env), 6 + _EVK_MAX);
        strv_free(env);

        /* a test notification has no counts */
        e.test = e.resolved = true;
        e.counts = NULL;
        env = alert_exec_env(&e);
        assert_string_equal(env_get(env, "UPKEEP_STATUS"), "resolved");
        assert_string_equal(env_get(env, "UPKEEP_TEST"), "1");
        assert_int_equal(strv_length(env), 6);
        strv_free(env);
}

static void test_exec_env_out_of_memory(void **state) {
        AlertEvent e = event();

        (void) state;
        for (fail_at = 1; fail_at <= 6 + _EVK_MAX; fail_at++) {
                calls = 0;
                assert_null(alert_exec_env(&e));
                assert_int_equal(calls, fail_at);
        }
        fail_at = 0;
}

/* The crash context in each shape: webhook `output`, a Slack code block within its limit with
 * the last line kept, an Alertmanager annotation, UPKEEP_OUTPUT for exec. */
static void test_output(void **state) {
        static char big[3 * ALERT_SLACK_OUTPUT_MAX];
        AlertEvent e = event();
        const char *text, *ann;
        char **env;
        json_t *j;

        (void) state;
        e.output = "Traceback (most recent call last):\n  File \"app.py\", line 4\n"
                   "ValueError: ```bad``` \xff";
        j = alert_webhook_json(&e);
        assert_string_equal(str(j, "output"), "Traceback (most recent call last):\n  File "
                                              "\"app.py\", line 4\nValueError: ```bad``` \xef\xbf\xbd");
        json_decref(j);

        j = alert_slack_json(&e);
        text = str(j, "text");
        assert_non_null(strstr(text, "10m00s\n```\nTraceback (most recent call last):\n"));
        /* a "```" inside would end the block early */
        assert_non_null(strstr(text, "ValueError: `'`bad`'` \xef\xbf\xbd\n```"));
        json_decref(j);

        j = alert_alertmanager_json(&e, 60 * USEC_PER_SEC);
        ann = json_string_value(json_object_get(
                json_object_get(json_array_get(j, 0), "annotations"), "output"));
        assert_non_null(ann);
        assert_non_null(strstr(ann, "ValueError: ```bad```"));
        json_decref(j);

        env = alert_exec_env(&e);
        assert_non_null(env);
        assert_string_equal(env[6], "UPKEEP_OUTPUT=Traceback (most recent call last):\n  File "
                                    "\"app.py\", line 4\nValueError: ```bad``` \xff");
        strv_free(env);

        /* the last application error line, in each shape */
        e.last_error = "{\"level\":\"error\",\"msg\":\"db down\"}";
        j = alert_webhook_json(&e);
        assert_string_equal(str(j, "last_error"), e.last_error);
        json_decref(j);
        j = alert_slack_json(&e);
        assert_non_null(strstr(str(j, "text"), "\nlast error: {\"level\""));
        json_decref(j);
        j = alert_alertmanager_json(&e, 60 * USEC_PER_SEC);
        assert_string_equal(json_string_value(json_object_get(json_object_get(
                                    json_array_get(j, 0), "annotations"), "last_error")),
                            e.last_error);
        json_decref(j);
        env = alert_exec_env(&e);
        assert_string_equal(env[7], "UPKEEP_LAST_ERROR={\"level\":\"error\",\"msg\":\"db down\"}");
        strv_free(env);
        e.last_error = NULL;

        /* more than Slack takes: older lines go, the last one stays */
        for (size_t k = 0; k + 1 < sizeof big; k++)
                big[k] = k % 50 == 49 ? '\n' : 'x';
        memcpy(big + sizeof big - 16, "\nLastError: end", 16);
        e.output = big;
        j = alert_slack_json(&e);
        text = str(j, "text");
        assert_true(strlen(text) < 512 + ALERT_SLACK_OUTPUT_MAX + 16);
        assert_non_null(strstr(text, "\nLastError: end\n```"));
        json_decref(j);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rfc3339),
                cmocka_unit_test(test_counts_from_window),
                cmocka_unit_test(test_webhook),
                cmocka_unit_test(test_slack),
                cmocka_unit_test(test_alertmanager),
                cmocka_unit_test(test_exec_env),
                cmocka_unit_test(test_exec_env_out_of_memory),
                cmocka_unit_test(test_output),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
