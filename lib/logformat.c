/*
 * upkeepd's own log lines (see logformat.h).  Kept apart from the log so the unit tests can
 * check every byte of a line without a clock or a file.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "logformat.h"
#include "logline.h"
#include "macro.h"
#include "utf8.h"

const char *logformat_level(int level) {
        switch (level) {
        case LOG_EMERG:
        case LOG_ALERT:
        case LOG_CRIT: return "crit";
        case LOG_ERR: return "error";
        case LOG_WARNING: return "warning";
        case LOG_NOTICE: return "notice";
        case LOG_INFO: return "info";
        default: return "debug";
        }
}

void logformat_worker(const char *instance, char *buf, size_t len) {
        snprintf(buf, len, "%.*s", (int) strcspn(instance, ":"), instance);
}

/* printf to buf[n..len), cut to fit; returns the new n (at most len - 1). */
static size_t append(char *buf, size_t len, size_t n, const char *fmt, ...) _printf_(4, 5);
static size_t append(char *buf, size_t len, size_t n, const char *fmt, ...) {
        va_list ap;
        int k;

        if (n >= len)
                return n;
        va_start(ap, fmt);
        k = vsnprintf(buf + n, len - n, fmt, ap);
        va_end(ap);
        return k < 0 ? n : MIN(n + (size_t) k, len - 1);
}

size_t logformat_text(char line[static LOGFORMAT_LINE_MAX], const struct tm *tm, unsigned msec,
                      int level, const char *instance, const char *msg) {
        size_t n;

        n = strftime(line, LOGFORMAT_LINE_MAX, "%Y-%m-%dT%H:%M:%S", tm);
        n = append(line, LOGFORMAT_LINE_MAX, n, ".%03u %s ", msec, logformat_level(level));
        if (instance)
                n = append(line, LOGFORMAT_LINE_MAX, n, "%s: ", instance);
        n = append(line, LOGFORMAT_LINE_MAX, n, "%s", msg);
        n = MIN(n, (size_t) LOGFORMAT_LINE_MAX - 2);
        line[n++] = '\n';
        return n;
}

/* ,"key":"escaped value" */
static size_t append_string(char *line, size_t n, const char *key, const char *value) {
        n = append(line, LOGFORMAT_LINE_MAX, n, ",\"%s\":\"", key);
        n = utf8_json_escape(line, LOGFORMAT_LINE_MAX, n, value);
        return append(line, LOGFORMAT_LINE_MAX, n, "\"");
}

static size_t append_field(char *line, size_t n, const LogField *f) {
        if (f->type == LOG_FIELD_INT)
                return append(line, LOGFORMAT_LINE_MAX, n, ",\"%s\":%lld", f->key, f->i);
        if (f->type == LOG_FIELD_DOUBLE)
                return append(line, LOGFORMAT_LINE_MAX, n, ",\"%s\":%.3f", f->key, f->d);
        return append_string(line, n, f->key, f->s);
}

size_t logformat_json(char line[static LOGFORMAT_LINE_MAX], const struct tm *tm, unsigned msec,
                      int level, const char *instance, const char *event,
                      const LogField *fields, const char *msg) {
        char ts[LOGLINE_TIMESTAMP_MAX], worker[80];
        size_t n;

        logline_timestamp(ts, tm, msec);
        n = append(line, LOGFORMAT_LINE_MAX, 0, "{\"time\":\"%s\",\"level\":\"%s\"", ts,
                   logformat_level(level));
        if (instance) {
                logformat_worker(instance, worker, sizeof worker);
                n = append_string(line, n, "worker", worker);
                n = append_string(line, n, "instance", instance);
        }
        if (event)
                n = append(line, LOGFORMAT_LINE_MAX, n, ",\"event\":\"%s\"", event);
        n = append_string(line, n, "message", msg);
        for (const LogField *f = fields; f && f->key; f++)
                if (f->key[0] && (f->type != LOG_FIELD_STR || f->s))
                        n = append_field(line, n, f);
        /* a message too long for the line still makes valid JSON: the tail is cut */
        if (n >= LOGFORMAT_LINE_MAX - 3)
                return logformat_json(line, tm, msec, level, instance, event, NULL,
                                      "(message too long)");
        return append(line, LOGFORMAT_LINE_MAX, n, "}\n");
}
