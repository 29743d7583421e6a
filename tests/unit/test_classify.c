/*
 * Unit tests of the health answer classifier (lib/classify.h): status codes first, then the
 * body's JSON "status" or a bare word; unreadable or cut bodies never make a worker unhealthy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "classify.h"

static char reason_buf[HEALTH_REASON_MAX];

static HealthClass cls_with(const HealthWords *w, long code, const char *body,
                            const char **reason) {
        HealthClass c;

        memset(reason_buf, 'x', sizeof reason_buf);
        c = health_classify(w, code, body, body ? strlen(body) : 0, false, reason_buf);
        if (reason)
                *reason = reason_buf[0] ? reason_buf : NULL;
        return c;
}

static HealthClass cls(long code, const char *body, const char **reason) {
        return cls_with(NULL, code, body, reason);
}

static void test_status_codes(void **state) {
        const char *r;

        (void) state;
        assert_int_equal(cls(200, NULL, &r), HEALTH_HEALTHY);
        assert_null(r);
        assert_int_equal(cls(204, "", &r), HEALTH_HEALTHY);
        assert_int_equal(cls(301, "", &r), HEALTH_HEALTHY);
        assert_int_equal(cls(399, "", &r), HEALTH_HEALTHY);
        assert_int_equal(cls(400, "", &r), HEALTH_UNHEALTHY);
        assert_string_equal(r, "HTTP client error");
        assert_int_equal(cls(404, "{\"status\":\"ok\"}", &r), HEALTH_UNHEALTHY);
        assert_int_equal(cls(500, "", &r), HEALTH_UNHEALTHY);
        assert_string_equal(r, "HTTP server error");
        /* a 503 with a healthy-looking body is still unhealthy: the code wins */
        assert_int_equal(cls(503, "{\"status\":\"healthy\"}", &r), HEALTH_UNHEALTHY);
        /* no status line at all (0) or an informational one */
        assert_int_equal(cls(0, "", &r), HEALTH_UNHEALTHY);
        assert_string_equal(r, "no valid HTTP status");
        assert_int_equal(cls(101, "", &r), HEALTH_UNHEALTHY);
}

static void test_seed_shapes(void **state) {
        const char *r;

        (void) state;
        /* the shapes the users' FastAPI and Express backends send */
        assert_int_equal(cls(200, "{\"status\":\"healthy\",\"services\":{\"db\":\"up\",\"redis\":"
                                  "\"up\"},\"uptime\":1234.5}", &r), HEALTH_HEALTHY);
        assert_null(r);
        assert_int_equal(cls(200, "{\"status\":\"degraded\",\"services\":{\"db\":\"up\",\"redis\":"
                                  "\"down\"}}", &r), HEALTH_DEGRADED);
        assert_string_equal(r, "status says degraded (\"degraded\")");
        assert_int_equal(cls(200, "{\"status\":\"unhealthy\",\"error\":\"pool exhausted\"}", &r),
                         HEALTH_UNHEALTHY);
        assert_string_equal(r, "status says unhealthy (\"unhealthy\")");
        /* IETF draft, Spring Boot, ASP.NET Core */
        assert_int_equal(cls(200, "{\"status\":\"pass\"}", NULL), HEALTH_HEALTHY);
        assert_int_equal(cls(200, "{\"status\":\"warn\"}", NULL), HEALTH_DEGRADED);
        assert_int_equal(cls(200, "{\"status\":\"fail\"}", NULL), HEALTH_UNHEALTHY);
        assert_int_equal(cls(200, "{\"status\":\"UP\"}", NULL), HEALTH_HEALTHY);
        assert_int_equal(cls(200, "{\"status\":\"DOWN\"}", NULL), HEALTH_UNHEALTHY);
        assert_int_equal(cls(200, "{\"status\":\"Degraded\"}", NULL), HEALTH_DEGRADED);
        assert_int_equal(cls(200, "{\"status\":\"ok\"}", NULL), HEALTH_HEALTHY);
        assert_int_equal(cls(200, "{\"status\":\"error\"}", NULL), HEALTH_UNHEALTHY);
}

static void test_bare_words(void **state) {
        (void) state;
        assert_int_equal(cls(200, "Healthy", NULL), HEALTH_HEALTHY);
        assert_int_equal(cls(200, "Degraded\n", NULL), HEALTH_DEGRADED);
        assert_int_equal(cls(200, "  Unhealthy \r\n", NULL), HEALTH_UNHEALTHY);
        assert_int_equal(cls(200, "\"degraded\"", NULL), HEALTH_HEALTHY); /* a JSON string, no status */
        assert_int_equal(cls(200, "OK", NULL), HEALTH_HEALTHY);
}

static void test_no_status_is_healthy(void **state) {
        (void) state;
        assert_int_equal(cls(200, "{}", NULL), HEALTH_HEALTHY);
        assert_int_equal(cls(200, "{\"state\":\"down\"}", NULL), HEALTH_HEALTHY);
        assert_int_equal(cls(200, "{\"status\":42}", NULL), HEALTH_HEALTHY);
        assert_int_equal(cls(200, "{\"status\":null}", NULL), HEALTH_HEALTHY);
        assert_int_equal(cls(200, "[\"down\"]", NULL), HEALTH_HEALTHY);
        /* the nested "status" of a service is not the answer's */
        assert_int_equal(cls(200, "{\"db\":{\"status\":\"down\"}}", NULL), HEALTH_HEALTHY);
        /* prose, HTML */
        assert_int_equal(cls(200, "everything is down", NULL), HEALTH_HEALTHY);
        assert_int_equal(cls(200, "<html><body>down</body></html>", NULL), HEALTH_HEALTHY);
}

static void test_bad_bodies(void **state) {
        const char *r;
        static const char nul_inside[] = "{\"status\":\"down\0\"}";
        static const char bad_utf8[] = "{\"status\":\"\xff\xfe\"}";

        (void) state;
        assert_int_equal(cls(200, "{\"status\":\"degraded\"", NULL), HEALTH_HEALTHY); /* cut */
        assert_int_equal(cls(200, "{\"status\":", NULL), HEALTH_HEALTHY);
        assert_int_equal(cls(200, bad_utf8, NULL), HEALTH_HEALTHY);
        assert_int_equal(health_classify(NULL, 200, nul_inside, sizeof nul_inside - 1, false,
                                         reason_buf),
                         HEALTH_HEALTHY);
        /* a status word with an embedded NUL must not match "down" (jansson refuses \u0000
         * without JSON_ALLOW_NUL: neither JSON nor a word) */
        assert_int_equal(cls(200, "{\"status\":\"down\\u0000x\"}", NULL), HEALTH_HEALTHY);
        /* an unprintable byte of an unknown word is shown as '?' */
        assert_int_equal(cls(200, "{\"status\":\"down\\u0007x\"}", &r), HEALTH_DEGRADED);
        assert_string_equal(r, "unknown status word \"down?x\"");
        /* a body cut at the cap is not parsed, whatever its prefix says */
        assert_int_equal(health_classify(NULL, 200, "{\"status\":\"down\"}", 17, true,
                                         reason_buf),
                         HEALTH_HEALTHY);
        assert_string_equal(reason_buf, "");
        /* trailing data after a complete object: the object decides */
        assert_int_equal(cls(200, "{\"status\":\"warn\"}\n{\"x\":1}", NULL), HEALTH_DEGRADED);
}

/* An app's own word for a state we do not know is degraded, the word in the reason. */
static void test_unknown_word_degraded(void **state) {
        const char *r;
        char longw[200];

        (void) state;
        assert_int_equal(cls(200, "{\"status\":\"sideways\"}", &r), HEALTH_DEGRADED);
        assert_string_equal(r, "unknown status word \"sideways\"");
        /* the word is cut at 32 bytes in the reason */
        snprintf(longw, sizeof longw, "{\"status\":\"%s\"}",
                 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
        assert_int_equal(cls(200, longw, &r), HEALTH_DEGRADED);
        assert_string_equal(r, "unknown status word \"abcdefghijklmnopqrstuvwxyzABCDEF\"");
        /* plain text that is no known word is prose, not a status */
        assert_int_equal(cls(200, "pong", &r), HEALTH_HEALTHY);
        assert_null(r);
}

/* The common words, any case, '-' or ' ' as '_'. */
static void test_common_words(void **state) {
        static const struct {
                const char *w;
                HealthClass c;
        } t[] = {
                { "critical", HEALTH_UNHEALTHY },     { "CRITICAL", HEALTH_UNHEALTHY },
                { "fatal", HEALTH_UNHEALTHY },        { "Unavailable", HEALTH_UNHEALTHY },
                { "OUT_OF_SERVICE", HEALTH_UNHEALTHY }, { "out-of-service", HEALTH_UNHEALTHY },
                { "Out of Service", HEALTH_UNHEALTHY }, { "failed", HEALTH_UNHEALTHY },
                { "maintenance", HEALTH_DEGRADED },   { "Starting", HEALTH_DEGRADED },
                { "warning", HEALTH_DEGRADED },       { "WARN", HEALTH_DEGRADED },
                { "UNKNOWN", HEALTH_DEGRADED },       { "Down", HEALTH_UNHEALTHY },
                { "pass", HEALTH_HEALTHY },           { "FAIL", HEALTH_UNHEALTHY },
                { "green", HEALTH_HEALTHY },          { "running", HEALTH_HEALTHY },
        };
        char body[128];

        (void) state;
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
                snprintf(body, sizeof body, "{\"status\":\"%s\"}", t[i].w);
                assert_int_equal(cls(200, body, NULL), t[i].c);
                assert_int_equal(health_word_class(NULL, t[i].w, strlen(t[i].w)), t[i].c);
        }
        assert_int_equal(health_word_class(NULL, "crit", 4), _HEALTH_INVALID);
        assert_int_equal(health_word_class(NULL, "criticalx", 9), _HEALTH_INVALID);
}

/* Spring Boot actuator: UP, DOWN, OUT_OF_SERVICE, UNKNOWN with components. */
static void test_spring_boot(void **state) {
        const char *r;

        (void) state;
        assert_int_equal(cls(200, "{\"status\":\"UP\",\"components\":{\"db\":{\"status\":\"UP\","
                                  "\"details\":{\"database\":\"PostgreSQL\",\"validationQuery\":"
                                  "\"isValid()\"}},\"diskSpace\":{\"status\":\"UP\",\"details\":"
                                  "{\"total\":499963174912,\"free\":91300069376,\"threshold\":"
                                  "10485760,\"exists\":true}},\"ping\":{\"status\":\"UP\"}}}",
                             &r), HEALTH_HEALTHY);
        assert_null(r);
        /* Spring answers DOWN with 503, but a management port may be mapped to 200 */
        assert_int_equal(cls(200, "{\"status\":\"DOWN\",\"components\":{\"db\":{\"status\":"
                                  "\"DOWN\",\"details\":{\"error\":\"org.springframework.jdbc."
                                  "CannotGetJdbcConnectionException\"}}}}", &r),
                         HEALTH_UNHEALTHY);
        assert_string_equal(r, "status says unhealthy (\"DOWN\")");
        assert_int_equal(cls(503, "{\"status\":\"DOWN\"}", NULL), HEALTH_UNHEALTHY);
        assert_int_equal(cls(200, "{\"status\":\"OUT_OF_SERVICE\",\"components\":{}}", &r),
                         HEALTH_UNHEALTHY);
        assert_int_equal(cls(200, "{\"status\":\"UNKNOWN\"}", &r), HEALTH_DEGRADED);
}

/* ASP.NET Core: the default plain-text writer and the common JSON writer. */
static void test_aspnet_core(void **state) {
        const char *r;

        (void) state;
        assert_int_equal(cls(200, "Healthy", NULL), HEALTH_HEALTHY);
        assert_int_equal(cls(200, "Degraded", &r), HEALTH_DEGRADED);
        assert_string_equal(r, "status says degraded (\"Degraded\")");
        assert_int_equal(cls(503, "Unhealthy", NULL), HEALTH_UNHEALTHY);
        assert_int_equal(cls(200, "{\"status\":\"Degraded\",\"totalDuration\":\"00:00:00.0123\","
                                  "\"entries\":{\"sql\":{\"data\":{},\"duration\":\"00:00:00.01\","
                                  "\"status\":\"Healthy\",\"tags\":[]},\"redis\":{\"data\":{},"
                                  "\"description\":\"slow\",\"status\":\"Degraded\",\"tags\":[]}}}",
                             NULL), HEALTH_DEGRADED);
}

/* The IETF draft (application/health+json): pass, warn, fail; checks keyed "component:measure". */
static void test_ietf_draft(void **state) {
        (void) state;
        assert_int_equal(cls(200, "{\"status\":\"pass\",\"version\":\"1\",\"releaseId\":\"1.2.2\","
                                  "\"serviceId\":\"f03e522f\",\"checks\":{\"cassandra:responseTime\":"
                                  "[{\"componentId\":\"dfd6cf2b\",\"componentType\":\"datastore\","
                                  "\"observedValue\":250,\"observedUnit\":\"ms\",\"status\":\"pass\","
                                  "\"time\":\"2018-01-17T03:36:48Z\"}]}}", NULL), HEALTH_HEALTHY);
        assert_int_equal(cls(200, "{\"status\":\"warn\",\"checks\":{\"memory:utilization\":[{"
                                  "\"status\":\"warn\",\"observedValue\":92}]}}", NULL),
                         HEALTH_DEGRADED);
        assert_int_equal(cls(200, "{\"status\":\"fail\",\"output\":\"db down\"}", NULL),
                         HEALTH_UNHEALTHY);
}

/* django-health-check's JSON: one key per plugin, "working" or an error text; no "status". */
static void test_django_health_check(void **state) {
        static char *working[] = { (char *) "working", NULL };
        HealthWords w = { .healthy = working, .field = (char *) "/DatabaseBackend" };
        const char *r;

        (void) state;
        assert_int_equal(cls(200, "{\"Cache backend: default\":\"working\",\"DatabaseBackend\":"
                                  "\"working\",\"DiskUsage\":\"working\"}", NULL), HEALTH_HEALTHY);
        /* with the field and word named, a broken plugin's text is an unknown word: degraded,
         * and the 500 django-health-check sends is unhealthy anyway */
        assert_int_equal(cls_with(&w, 200, "{\"DatabaseBackend\":\"working\"}", NULL),
                         HEALTH_HEALTHY);
        assert_int_equal(cls_with(&w, 200, "{\"DatabaseBackend\":\"unavailable: Database "
                                           "error\"}", &r), HEALTH_DEGRADED);
        assert_string_equal(r, "unknown status word \"unavailable: Database error\"");
        assert_int_equal(cls_with(&w, 500, "{\"DatabaseBackend\":\"unavailable\"}", NULL),
                         HEALTH_UNHEALTHY);
}

/* FastAPI/Flask apps: their own dicts, nested per-service checks, their own words. */
static void test_app_dicts(void **state) {
        static char *crit[] = { (char *) "critical", NULL }, *maint[] = { (char *) "maintenance",
                                                                          NULL };
        static char *fine[] = { (char *) "critical", NULL };
        HealthWords w = { .unhealthy = crit, .degraded = maint };
        HealthWords moved = { .healthy = fine };
        HealthWords nested = { .field = (char *) "/data/status" };
        const char *r;

        (void) state;
        /* the field report: the app's worst state was classified healthy */
        assert_int_equal(cls(200, "{\"status\":\"critical\",\"total_errors\":3,\"checks\":{"
                                  "\"redis\":{\"status\":\"down\"},\"db\":{\"status\":\"ok\"}}}",
                             &r), HEALTH_UNHEALTHY);
        assert_string_equal(r, "status says unhealthy (\"critical\")");
        assert_int_equal(cls_with(&w, 200, "{\"status\":\"Critical\"}", NULL), HEALTH_UNHEALTHY);
        assert_int_equal(cls_with(&w, 200, "{\"status\":\"maintenance\"}", NULL),
                         HEALTH_DEGRADED);
        /* a worker's words come before the built-in ones */
        assert_int_equal(cls_with(&moved, 200, "{\"status\":\"critical\"}", NULL),
                         HEALTH_HEALTHY);
        /* status-field: a JSON pointer */
        assert_int_equal(cls_with(&nested, 200, "{\"status\":\"ok\",\"data\":{\"status\":"
                                                "\"down\",\"redis\":\"up\"}}", &r),
                         HEALTH_UNHEALTHY);
        assert_int_equal(cls_with(&nested, 200, "{\"data\":{\"status\":\"ok\"}}", &r),
                         HEALTH_HEALTHY);
        /* the named field absent: degraded, saying where it looked */
        assert_int_equal(cls_with(&nested, 200, "{\"status\":\"ok\"}", &r), HEALTH_DEGRADED);
        assert_string_equal(r, "no status at /data/status");
        assert_int_equal(cls_with(&nested, 200, "{\"data\":[1]}", &r), HEALTH_DEGRADED);
}

/* RFC 6901: escapes, array indices, the empty pointer (the whole document). */
static void test_json_pointer(void **state) {
        HealthWords w = { 0 };

        (void) state;
        w.field = (char *) "/a~1b/m~0n";
        assert_int_equal(cls_with(&w, 200, "{\"a/b\":{\"m~n\":\"fail\"}}", NULL),
                         HEALTH_UNHEALTHY);
        w.field = (char *) "/checks/1/status";
        assert_int_equal(cls_with(&w, 200, "{\"checks\":[{\"status\":\"pass\"},{\"status\":"
                                           "\"warn\"}]}", NULL), HEALTH_DEGRADED);
        w.field = (char *) "/checks/01/status"; /* no leading zeros */
        assert_int_equal(cls_with(&w, 200, "{\"checks\":[{},{\"status\":\"pass\"}]}", NULL),
                         HEALTH_DEGRADED);
        w.field = (char *) "/checks/-/status";
        assert_int_equal(cls_with(&w, 200, "{\"checks\":[]}", NULL), HEALTH_DEGRADED);
        w.field = (char *) "";
        assert_int_equal(cls_with(&w, 200, "\"down\"", NULL), HEALTH_HEALTHY); /* not an object */
        assert_true(health_field_valid(""));
        assert_true(health_field_valid("/data/status"));
        assert_true(health_field_valid("/a~0~1"));
        assert_false(health_field_valid("data/status"));
        assert_false(health_field_valid("/a~2"));
        assert_false(health_field_valid("/a~"));
        assert_false(health_field_valid(NULL));
}

static void test_names(void **state) {
        (void) state;
        assert_string_equal(health_class_to_string(HEALTH_HEALTHY), "healthy");
        assert_string_equal(health_class_to_string(HEALTH_DEGRADED), "degraded");
        assert_string_equal(health_class_to_string(HEALTH_UNHEALTHY), "unhealthy");
        assert_string_equal(health_class_to_string(HEALTH_UNKNOWN), "unknown");
        assert_string_equal(health_class_to_string(_HEALTH_INVALID), "unknown");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_status_codes),  cmocka_unit_test(test_seed_shapes),
                cmocka_unit_test(test_bare_words),    cmocka_unit_test(test_no_status_is_healthy),
                cmocka_unit_test(test_bad_bodies),    cmocka_unit_test(test_names),
                cmocka_unit_test(test_unknown_word_degraded),
                cmocka_unit_test(test_common_words),  cmocka_unit_test(test_spring_boot),
                cmocka_unit_test(test_aspnet_core),   cmocka_unit_test(test_ietf_draft),
                cmocka_unit_test(test_django_health_check),
                cmocka_unit_test(test_app_dicts),     cmocka_unit_test(test_json_pointer),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
