/*
 * upkeepd's own log.  One line per event, written where the decision is made; pure code never
 * logs.  Three forms (log-format): text "TIME LEVEL instance: message" on stderr or log-file;
 * json, one object per line with time, level, worker, instance, event, message and the
 * event's fields; journal, through sd_journal_send with UPKEEP_WORKER/INSTANCE/EVENT fields.
 *
 * Only the event loop thread logs: the log writer's threads hand their messages to the loop.
 */
#pragma once

#include <syslog.h>

#include "logformat.h"
#include "macro.h"

typedef struct Config Config;

#define LF_S(k, v) { .key = (k), .type = LOG_FIELD_STR, .s = (v) }
#define LF_I(k, v) { .key = (k), .type = LOG_FIELD_INT, .i = (long long) (v) }
#define LF_D(k, v) { .key = (k), .type = LOG_FIELD_DOUBLE, .d = (double) (v) }
/* Present only when cond holds (an exit code only when there was an exit, ...). */
#define LF_I_IF(cond, k, v) { .key = (cond) ? (k) : "", .type = LOG_FIELD_INT, .i = (long long) (v) }
#define LF_D_IF(cond, k, v) { .key = (cond) ? (k) : "", .type = LOG_FIELD_DOUBLE, .d = (double) (v) }
/* A field list for log_fields(): LOG_KV(LF_I("exit_code", 3), LF_S("state", "FATAL")) */
#define LOG_KV(...) ((const LogField[]) { __VA_ARGS__, { .key = NULL } })

/*
 * Log one event: `instance` ("api", "api:2") or NULL for upkeepd itself, `event` a short
 * kebab-case name ("state-change", "restart-scheduled") or NULL, `fields` NULL or a LOG_KV().
 * A field with a NULL string value, or an empty key, is left out.
 */
void log_fields(int level, const char *instance, const char *event, const LogField *fields,
                const char *fmt, ...) _printf_(5, 6);
#define log_event(level, instance, event, ...) log_fields(level, instance, event, NULL, __VA_ARGS__)

void log_msg(int level, const char *instance, const char *fmt, ...) _printf_(3, 4);

/* -v on the command line: wins over log-level in the configuration. */
void log_set_max_level(int level);
/*
 * Apply log-format, log-level and log-file (at start, after the log writer started, and after
 * a reload).  A log-file that cannot be opened is reported and stderr is kept.
 */
void log_setup(const Config *c);
/* At exit, after the log writer stopped: nothing is logged to the file any more. */
void log_close(void);

/* Log and return the (negative) error in one statement, systemd style. */
#define log_error_errno(err, ...) ({ log_msg(LOG_ERR, NULL, __VA_ARGS__); (err); })

#define log_debug(...) log_msg(LOG_DEBUG, NULL, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, NULL, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, NULL, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, NULL, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERR, NULL, __VA_ARGS__)
