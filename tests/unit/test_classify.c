/*
 * Unit tests of the health answer classifier (lib/classify.h): status codes first, then the
 * body's JSON "status" or a bare word; unreadable or cut bodies never make a worker unhealthy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "classify.h"

static HealthClass cls(long code, const char *body, const char **reason) {
        const char *r = "unset";
        HealthClass c = health_classify(code, body, body ? strlen(body) : 0, false, &r);

        if (reason)
                *reason = r;
        return c;
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
        assert_string_equal(r, "status says degraded");
        assert_int_equal(cls(200, "{\"status\":\"unhealthy\",\"error\":\"pool exhausted\"}", &r),
                         HEALTH_UNHEALTHY);
        assert_string_equal(r, "status says unhealthy");
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
        assert_int_equal(cls(200, "{\"status\":\"sideways\"}", NULL), HEALTH_HEALTHY);
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
        assert_int_equal(health_classify(200, nul_inside, sizeof nul_inside - 1, false, &r),
                         HEALTH_HEALTHY);
        /* a status word with an embedded NUL must not match "down" */
        assert_int_equal(cls(200, "{\"status\":\"down\\u0000x\"}", NULL), HEALTH_HEALTHY);
        /* a body cut at the cap is not parsed, whatever its prefix says */
        assert_int_equal(health_classify(200, "{\"status\":\"down\"}", 17, true, &r),
                         HEALTH_HEALTHY);
        /* trailing data after a complete object: the object decides */
        assert_int_equal(cls(200, "{\"status\":\"warn\"}\n{\"x\":1}", NULL), HEALTH_DEGRADED);
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
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
