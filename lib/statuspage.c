/*
 * The status page (see statuspage.h).  Written into a memory stream; every string from the
 * answers goes through put_text(), which escapes the five characters HTML gives a meaning to.
 * The style is inline (the page's Content-Security-Policy allows only that) and the tables
 * scroll sideways on a narrow screen.
 */
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statuspage.h"

static void put_text(FILE *f, const char *s) {
        for (; s && *s; s++)
                switch (*s) {
                case '&': fputs("&amp;", f); break;
                case '<': fputs("&lt;", f); break;
                case '>': fputs("&gt;", f); break;
                case '"': fputs("&quot;", f); break;
                case '\'': fputs("&#39;", f); break;
                default: fputc(*s, f);
                }
}

static const char *str(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

/* "3d 4h", "2h 5m", "4m 10s", "12s"; "-" when absent. */
static void put_duration(FILE *f, const json_t *v) {
        double s = json_number_value(v);
        unsigned long long t;

        if (!json_is_number(v) || !isfinite(s) || s < 0) {
                fputs("-", f);
                return;
        }
        t = (unsigned long long) s;
        if (t >= 86400)
                fprintf(f, "%llud %lluh", t / 86400, t % 86400 / 3600);
        else if (t >= 3600)
                fprintf(f, "%lluh %llum", t / 3600, t % 3600 / 60);
        else if (t >= 60)
                fprintf(f, "%llum %llus", t / 60, t % 60);
        else
                fprintf(f, "%llus", t);
}

/* A word as a CSS class: letters only, lowercased ("RUNNING" -> "running"). */
static void put_class(FILE *f, const char *s) {
        for (; s && *s; s++)
                if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))
                        fputc(*s | 0x20, f);
}

static const char style[] =
        "body{font-family:system-ui,sans-serif;margin:0;padding:.8em;background:#fafafa;"
        "color:#222}h1{font-size:1.3em;margin:.2em 0}h2{font-size:1.1em;margin:1em 0 .3em}"
        ".meta{color:#555;font-size:.9em}.scroll{overflow-x:auto}"
        "table{border-collapse:collapse;width:100%;background:#fff;font-size:.92em}"
        "th,td{text-align:left;padding:.35em .5em;border-bottom:1px solid #ddd;"
        "vertical-align:top}th{background:#eee}.st{font-weight:600;white-space:nowrap}"
        ".running,.healthy{color:#176f2c}.backoff,.starting,.stopping,.degraded,.warning,"
        ".waiting{color:#9a6700}.fatal,.exited,.unhealthy,.critical{color:#b42318}"
        ".stopped,.unknown{color:#666}.why{color:#555;font-size:.9em;word-break:break-word}"
        ".ev{color:#555;font-size:.85em}";

static void put_health(FILE *f, const json_t *h) {
        const json_t *last = json_object_get(h, "last");

        if (!json_is_object(h)) {
                fputs("-", f);
                return;
        }
        fputs("<span class=\"st ", f);
        put_class(f, str(h, "state"));
        fputs("\">", f);
        put_text(f, str(h, "state"));
        fputs("</span>", f);
        if (json_is_object(last)) {
                fprintf(f, "<div class=\"why\">HTTP %lld, %.0f ms",
                        (long long) json_integer_value(json_object_get(last, "http_code")),
                        json_number_value(json_object_get(last, "latency_ms")));
                if (str(last, "reason")) {
                        fputs(": ", f);
                        put_text(f, str(last, "reason"));
                }
                fputs("</div>", f);
        }
}

/*
 * The worker's events with a count in the last hour: "crash 2/3/3/5" (1m/5m/15m/1h), under its
 * first instance; with several instances, they are the worker's, which the line says.
 */
static void put_events(FILE *f, const json_t *w) {
        const json_t *events = json_object_get(w, "events");
        bool several = json_array_size(json_object_get(w, "instances")) > 1;
        const char *kind;
        json_t *c;
        bool any = false;

        json_object_foreach((json_t *) events, kind, c) {
                if (json_integer_value(json_object_get(c, "1h")) == 0)
                        continue;
                if (!any) {
                        fputs("<div class=\"ev\">", f);
                        if (several) {
                                put_text(f, str(w, "name"));
                                fputs(" (all instances), ", f);
                        }
                        fputs("last 1m/5m/15m/1h: ", f);
                } else
                        fputs(", ", f);
                put_text(f, kind);
                fprintf(f, " %lld/%lld/%lld/%lld",
                        (long long) json_integer_value(json_object_get(c, "1m")),
                        (long long) json_integer_value(json_object_get(c, "5m")),
                        (long long) json_integer_value(json_object_get(c, "15m")),
                        (long long) json_integer_value(json_object_get(c, "1h")));
                any = true;
        }
        if (any)
                fputs("</div>", f);
}

static void put_instance(FILE *f, const json_t *w, const json_t *i, bool first) {
        fputs("<tr><td>", f);
        put_text(f, str(i, "name"));
        if (first)
                put_events(f, w);
        fputs("</td><td><span class=\"st ", f);
        put_class(f, str(i, "state"));
        fputs("\">", f);
        put_text(f, str(i, "state"));
        fputs("</span>", f);
        if (str(i, "reason")) {
                fputs("<div class=\"why\">", f);
                put_text(f, str(i, "reason"));
                fputs("</div>", f);
        }
        fputs("</td><td>", f);
        put_duration(f, json_object_get(i, "uptime_s"));
        fprintf(f, "</td><td>%lld</td><td>",
                (long long) json_integer_value(json_object_get(i, "restarts")));
        put_health(f, json_object_get(i, "health"));
        fputs("</td></tr>\n", f);
}

static void put_workers(FILE *f, const json_t *workers) {
        size_t n, k;
        json_t *w, *i;

        fputs("<h2>Workers</h2><div class=\"scroll\"><table><tr><th>Instance</th><th>State</th>"
              "<th>Uptime</th><th>Restarts</th><th>Health</th></tr>\n", f);
        json_array_foreach((json_t *) workers, n, w)
                json_array_foreach(json_object_get(w, "instances"), k, i)
                        put_instance(f, w, i, k == 0);
        fputs("</table></div>\n", f);
}

static void put_alerts(FILE *f, const json_t *alerts) {
        const json_t *active = json_object_get(alerts, "active");
        size_t n;
        json_t *a;

        fputs("<h2>Alerts</h2>", f);
        if (json_array_size(active) == 0) {
                fputs("<p class=\"meta\">None firing.</p>\n", f);
                return;
        }
        fputs("<div class=\"scroll\"><table><tr><th>Worker</th><th>Severity</th><th>For</th>"
              "<th>Summary</th></tr>\n", f);
        json_array_foreach((json_t *) active, n, a) {
                fputs("<tr><td>", f);
                put_text(f, str(a, "instance") ?: str(a, "worker"));
                fputs("</td><td class=\"st ", f);
                put_class(f, str(a, "severity"));
                fputs("\">", f);
                put_text(f, str(a, "severity"));
                fputs("</td><td>", f);
                put_duration(f, json_object_get(a, "firing_s"));
                fputs("</td><td>", f);
                put_text(f, str(a, "summary"));
                fputs("</td></tr>\n", f);
        }
        fputs("</table></div>\n", f);
}

char *status_page_html(const json_t *status, const json_t *alerts, unsigned refresh_sec) {
        const json_t *d = json_object_get(status, "daemon");
        char *buf = NULL;
        size_t len = 0;
        FILE *f;

        f = open_memstream(&buf, &len);
        if (!f)
                return NULL;
        fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                   "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                   "<meta http-equiv=\"refresh\" content=\"%u\"><title>upkeep</title>"
                   "<style>%s</style></head><body>\n<h1>upkeep</h1><p class=\"meta\">upkeepd ",
                refresh_sec, style);
        put_text(f, str(d, "version"));
        fputs(", up ", f);
        put_duration(f, json_object_get(d, "uptime_s"));
        fprintf(f, ", %lld not running",
                (long long) json_integer_value(json_object_get(status, "not_running")));
        if (json_is_true(json_object_get(d, "shutting_down")))
                fputs(", <strong>shutting down</strong>", f);
        fprintf(f, "; refreshed every %u s.</p>\n", refresh_sec);
        put_workers(f, json_object_get(status, "workers"));
        if (alerts)
                put_alerts(f, alerts);
        fputs("</body></html>\n", f);
        if (ferror(f)) {
                fclose(f);
                free(buf);
                return NULL;
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}
