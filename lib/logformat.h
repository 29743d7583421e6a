/*
 * upkeepd's own log lines in log-format text and json (pure: no I/O, no clock).
 *
 *     text  2024-05-01T12:34:56.789 warning api:0: exited with status 3
 *     json  {"time":"2024-05-01T12:34:56.789+02:00","level":"warning","worker":"api",
 *            "instance":"api:0","event":"exit","message":"...","exit_code":3}
 *
 * A line is at most LOGFORMAT_LINE_MAX bytes with its '\n'; what does not fit is cut, and a
 * json line cut short is replaced by one whose message says so, so it stays valid JSON.
 * Strings from outside (instance, message, string fields) are escaped, invalid UTF-8 as
 * U+FFFD; event names and field keys are upkeepd's own and written as they are.
 */
#pragma once

#include <stddef.h>
#include <time.h>

#define LOGFORMAT_LINE_MAX 4096

typedef enum LogFieldType {
        LOG_FIELD_STR,
        LOG_FIELD_INT,
        LOG_FIELD_DOUBLE,
        _LOG_FIELD_MAX,
        _LOG_FIELD_INVALID = -1,
} LogFieldType;

/* One key/value of a structured event: "exit_code": 3, "delay_ms": 1500.0, ... */
typedef struct LogField {
        const char *key;
        LogFieldType type;
        const char *s;
        long long i;
        double d;
} LogField;

/* A syslog level's name in a line: "error", "warning", ... (LOG_CRIT and above: "crit"). */
const char *logformat_level(int level);
/* The worker of an instance: "api:2" -> "api". */
void logformat_worker(const char *instance, char *buf, size_t len);

/* "TIME LEVEL instance: message\n" (no "instance: " when instance is NULL); returns its length. */
size_t logformat_text(char line[static LOGFORMAT_LINE_MAX], const struct tm *tm, unsigned msec,
                      int level, const char *instance, const char *msg);
/*
 * One JSON object and '\n'.  `instance`, `event` and `fields` may be NULL; fields end at a NULL
 * key, and one with an empty key or a NULL string value is left out.  Returns its length.
 */
size_t logformat_json(char line[static LOGFORMAT_LINE_MAX], const struct tm *tm, unsigned msec,
                      int level, const char *instance, const char *event,
                      const LogField *fields, const char *msg);
