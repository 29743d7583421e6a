/*
 * Unit tests of the Prometheus text renderer (lib/metrics.h): HELP and TYPE once per family,
 * escaping of label values and help texts, invalid UTF-8, value spelling, histograms, the final
 * newline, and the name checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static char *render(MetricSet *s) {
        size_t len = 0;
        char *t = metrics_render(s, &len);

        assert_non_null(t);
        assert_int_equal(strlen(t), len);
        metrics_set_done(s);
        return t;
}

static void test_families(void **state) {
        MetricSet s = {};
        MetricFamily f;
        char *t;

        (void) state;
        f = metrics_family(&s, "upkeep_worker_up", METRIC_GAUGE, "Whether it runs.");
        metrics_sample(&s, &f, NULL, 1, (MetricLabel[]) { { "worker", "a" }, { "instance", "a" } }, 2);
        metrics_sample(&s, &f, NULL, 0, (MetricLabel[]) { { "worker", "b" }, { "instance", "b:1" } }, 2);
        f = metrics_family(&s, "upkeep_worker_restarts_total", METRIC_COUNTER, "Restarts.");
        metrics_sample(&s, &f, NULL, 3, (MetricLabel[]) { { "worker", "a" }, { "reason", "crash" } }, 2);
        f = metrics_family(&s, "process_open_fds", METRIC_GAUGE, "Open descriptors.");
        metrics_sample(&s, &f, NULL, 12, NULL, 0);
        t = render(&s);
        assert_string_equal(t,
                            "# HELP upkeep_worker_up Whether it runs.\n"
                            "# TYPE upkeep_worker_up gauge\n"
                            "upkeep_worker_up{worker=\"a\",instance=\"a\"} 1\n"
                            "upkeep_worker_up{worker=\"b\",instance=\"b:1\"} 0\n"
                            "# HELP upkeep_worker_restarts_total Restarts.\n"
                            "# TYPE upkeep_worker_restarts_total counter\n"
                            "upkeep_worker_restarts_total{worker=\"a\",reason=\"crash\"} 3\n"
                            "# HELP process_open_fds Open descriptors.\n"
                            "# TYPE process_open_fds gauge\n"
                            "process_open_fds 12\n");
        free(t);
}

static void test_escaping(void **state) {
        MetricSet s = {};
        MetricFamily f;
        char *t;

        (void) state;
        f = metrics_family(&s, "m", METRIC_GAUGE, "back\\slash \"quoted\"\nnext line");
        metrics_sample(&s, &f, NULL, 1,
                       (MetricLabel[]) { { "worker", "a\"b\\c\nd<script>" } }, 1);
        /* an invalid byte and a cut sequence become U+FFFD; valid UTF-8 stays */
        metrics_sample(&s, &f, NULL, 2, (MetricLabel[]) { { "worker", "x\xff" "y\xc3" } }, 1);
        metrics_sample(&s, &f, NULL, 3, (MetricLabel[]) { { "worker", "caf\xc3\xa9" } }, 1);
        t = render(&s);
        assert_string_equal(t,
                            "# HELP m back\\\\slash \"quoted\"\\nnext line\n"
                            "# TYPE m gauge\n"
                            "m{worker=\"a\\\"b\\\\c\\nd<script>\"} 1\n"
                            "m{worker=\"x\xef\xbf\xbdy\xef\xbf\xbd\"} 2\n"
                            "m{worker=\"caf\xc3\xa9\"} 3\n");
        free(t);
}

static void test_values(void **state) {
        MetricSet s = {};
        MetricFamily f;
        char *t;

        (void) state;
        f = metrics_family(&s, "v", METRIC_GAUGE, "h");
        metrics_sample(&s, &f, NULL, 0.1, NULL, 0);
        metrics_sample(&s, &f, NULL, 1765000000.123, NULL, 0);
        metrics_sample(&s, &f, NULL, 18446744073709551615.0, NULL, 0);
        metrics_sample(&s, &f, NULL, NAN, NULL, 0);
        metrics_sample(&s, &f, NULL, INFINITY, NULL, 0);
        metrics_sample(&s, &f, NULL, -INFINITY, NULL, 0);
        metrics_sample(&s, &f, NULL, 1.0 / 3, NULL, 0);
        t = render(&s);
        assert_string_equal(t, "# HELP v h\n# TYPE v gauge\n"
                               "v 0.1\nv 1765000000.123\nv 1.8446744073709552e+19\n"
                               "v NaN\nv +Inf\nv -Inf\nv 0.3333333333333333\n");
        free(t);
}

static void test_histogram(void **state) {
        MetricHistogram h = {};
        MetricSet s = {};
        MetricFamily f;
        char *t;

        (void) state;
        metric_histogram_observe(&h, 0.003);
        metric_histogram_observe(&h, 0.005); /* on a bound: in that bucket (le) */
        metric_histogram_observe(&h, 0.2);
        metric_histogram_observe(&h, 60);
        f = metrics_family(&s, "p_seconds", METRIC_HISTOGRAM, "Latency.");
        metrics_histogram(&s, &f, &h, (MetricLabel[]) { { "worker", "w" } }, 1);
        t = render(&s);
        assert_non_null(strstr(t, "p_seconds_bucket{worker=\"w\",le=\"0.005\"} 2\n"
                                  "p_seconds_bucket{worker=\"w\",le=\"0.01\"} 2\n"));
        assert_non_null(strstr(t, "p_seconds_bucket{worker=\"w\",le=\"0.25\"} 3\n"));
        assert_non_null(strstr(t, "p_seconds_bucket{worker=\"w\",le=\"10\"} 3\n"
                                  "p_seconds_bucket{worker=\"w\",le=\"+Inf\"} 4\n"
                                  "p_seconds_sum{worker=\"w\"} 60.208\n"
                                  "p_seconds_count{worker=\"w\"} 4\n"));
        assert_non_null(strstr(t, "# TYPE p_seconds histogram\n"));
        free(t);
}

static void test_empty_and_misuse(void **state) {
        MetricSet s = {};
        MetricFamily a, b;
        char *t;

        (void) state;
        t = render(&s);
        assert_string_equal(t, "");
        free(t);

        /* a sample for a family other than the last one would split it: refused */
        a = metrics_family(&s, "a", METRIC_GAUGE, "h");
        b = metrics_family(&s, "b", METRIC_GAUGE, "h");
        metrics_sample(&s, &b, NULL, 1, NULL, 0);
        assert_false(s.failed);
        metrics_sample(&s, &a, NULL, 1, NULL, 0);
        assert_true(s.failed);
        assert_null(metrics_render(&s, NULL));
        metrics_set_done(&s);

        /* too many labels */
        a = metrics_family(&s, "a", METRIC_GAUGE, "h");
        metrics_sample(&s, &a, NULL, 1, (MetricLabel[5]) {}, 5);
        assert_null(metrics_render(&s, NULL));
        metrics_set_done(&s);

        /* a family that was never added */
        a = (MetricFamily) { .name = "x" };
        metrics_sample(&s, &a, NULL, 1, NULL, 0);
        assert_null(metrics_render(&s, NULL));
        metrics_set_done(&s);
}

static void test_many(void **state) {
        MetricSet s = {};
        MetricFamily f = metrics_family(&s, "n", METRIC_COUNTER, "h");
        char *t;

        (void) state;
        for (int k = 0; k < 5000; k++)
                metrics_sample(&s, &f, NULL, k, NULL, 0);
        t = render(&s);
        assert_non_null(strstr(t, "\nn 4999\n"));
        assert_int_equal(t[strlen(t) - 1], '\n');
        free(t);
}

static void test_names(void **state) {
        (void) state;
        assert_true(metrics_name_valid("upkeep_worker_up"));
        assert_true(metrics_name_valid("a:b_c9"));
        assert_false(metrics_name_valid("9a"));
        assert_false(metrics_name_valid("a-b"));
        assert_false(metrics_name_valid(""));
        assert_true(metrics_label_name_valid("worker"));
        assert_false(metrics_label_name_valid("a:b"));
        assert_false(metrics_label_name_valid("__name__"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_families),
                cmocka_unit_test(test_escaping),
                cmocka_unit_test(test_values),
                cmocka_unit_test(test_histogram),
                cmocka_unit_test(test_empty_and_misuse),
                cmocka_unit_test(test_many),
                cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
