/*
 * libFuzzer harness: the status page and the Prometheus renderer on hostile strings.  The input
 * is a JSON document handed to status_page_html() as a status answer (any shape: the page must
 * not crash and must not let a '<' through unescaped from a value), and the same bytes as label
 * values and help text of the exposition (which must stay valid UTF-8, one line per sample).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "statuspage.h"
#include "utf8.h"

static void page(const uint8_t *data, size_t size) {
        json_t *j = json_loadb((const char *) data, size, JSON_DECODE_ANY, NULL);
        char *html = status_page_html(j, j, 5);

        if (!html)
                abort();
        /* the page's own tags are fixed; "<" from the input is always &lt; */
        if (strstr(html, "<script") || strstr(html, "<img") || strstr(html, "<iframe"))
                abort();
        free(html);
        json_decref(j);
}

static void exposition(const uint8_t *data, size_t size) {
        char *s = strndup((const char *) data, size);
        MetricSet set = {};
        MetricFamily f;
        size_t len, lines = 0;
        char *text;

        if (!s)
                return;
        f = metrics_family(&set, "fuzz_metric", METRIC_GAUGE, s);
        metrics_sample(&set, &f, NULL, (double) size,
                       (MetricLabel[]) { { "worker", s }, { "instance", s } }, 2);
        text = metrics_render(&set, &len);
        metrics_set_done(&set);
        if (!text || !utf8_is_valid(text, len))
                abort();
        for (size_t k = 0; k < len; k++)
                lines += text[k] == '\n';
        if (lines != 3 || text[len - 1] != '\n')
                abort();
        free(text);
        free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 64 * 1024)
                return -1;
        page(data, size);
        exposition(data, size);
        return 0;
}
