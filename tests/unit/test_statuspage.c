/*
 * Unit tests of the status page (lib/statuspage.h): every worker and state shown, values from
 * the answers escaped, events and alerts listed, the refresh and the viewport.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "statuspage.h"

static const char status_text[] =
        "{\"ok\":true,\"not_running\":1,\"daemon\":{\"version\":\"0.1.0\",\"uptime_s\":3725.5,"
        "\"shutting_down\":false},\"workers\":["
        "{\"name\":\"web\",\"events\":{\"crash\":{\"1m\":1,\"5m\":2,\"15m\":2,\"1h\":3,\"total\":3},"
        "\"exit\":{\"1m\":0,\"5m\":0,\"15m\":0,\"1h\":0,\"total\":0}},\"instances\":["
        "{\"name\":\"web:0\",\"state\":\"RUNNING\",\"uptime_s\":75,\"restarts\":2,\"reason\":null,"
        "\"health\":{\"state\":\"unhealthy\",\"last\":{\"http_code\":503,\"latency_ms\":12.6,"
        "\"reason\":\"<img src=x onerror=alert(1)>&\\\"'\"}}},"
        "{\"name\":\"web:1\",\"state\":\"BACKOFF\",\"uptime_s\":null,\"restarts\":0,"
        "\"reason\":\"exec </td><script>x</script>\",\"health\":null}]}]}";

static const char alerts_text[] =
        "{\"active\":[{\"worker\":\"web\",\"instance\":\"web:0\",\"severity\":\"critical\","
        "\"firing_s\":61,\"summary\":\"5 restarts <b>now</b>\"}],\"sinks\":[]}";

static void test_page(void **state) {
        json_t *st = json_loads(status_text, 0, NULL), *al = json_loads(alerts_text, 0, NULL);
        char *page;

        (void) state;
        assert_non_null(st);
        assert_non_null(al);
        page = status_page_html(st, al, 7);
        assert_non_null(page);
        assert_non_null(strstr(page, "<meta http-equiv=\"refresh\" content=\"7\">"));
        assert_non_null(strstr(page, "name=\"viewport\""));
        assert_non_null(strstr(page, "<td>web:0"));
        assert_non_null(strstr(page, "<span class=\"st running\">RUNNING</span>"));
        assert_non_null(strstr(page, "<span class=\"st backoff\">BACKOFF</span>"));
        assert_non_null(strstr(page, "up 1h 2m"));
        assert_non_null(strstr(page, "<td>1m 15s</td>"));
        /* every value from the answers escaped */
        assert_non_null(strstr(page, "HTTP 503, 13 ms: &lt;img src=x onerror=alert(1)&gt;&amp;&quot;&#39;"));
        assert_non_null(strstr(page, "exec &lt;/td&gt;&lt;script&gt;x&lt;/script&gt;"));
        assert_non_null(strstr(page, "5 restarts &lt;b&gt;now&lt;/b&gt;"));
        assert_null(strstr(page, "<script"));
        assert_null(strstr(page, "<img"));
        assert_null(strstr(page, "<b>"));
        /* events with a count in the last hour, others left out */
        assert_non_null(strstr(page, "crash 1/2/2/3"));
        assert_null(strstr(page, "exit 0/"));
        assert_non_null(strstr(page, "<span class=\"st unhealthy\">unhealthy</span>"));
        assert_non_null(strstr(page, "class=\"st critical\">critical</td>"));
        free(page);

        page = status_page_html(st, NULL, 5);
        assert_non_null(page);
        assert_null(strstr(page, "<h2>Alerts</h2>"));
        free(page);
        json_decref(st);
        json_decref(al);
}

static void test_garbage(void **state) {
        json_t *st = json_loads("{\"workers\":[{\"instances\":[{}]}, 3], \"daemon\": 1}", 0, NULL);
        char *page;

        (void) state;
        /* missing and mistyped members: a page all the same, nothing invented */
        page = status_page_html(st, NULL, 5);
        assert_non_null(page);
        assert_non_null(strstr(page, "</html>\n"));
        free(page);
        page = status_page_html(NULL, NULL, 5);
        assert_non_null(page);
        free(page);
        json_decref(st);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_page),
                cmocka_unit_test(test_garbage),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
