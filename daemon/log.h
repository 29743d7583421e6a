/*
 * upkeepd's own log.  One line per event, written where the decision is made; pure code never
 * logs.  Text on stderr for now: "TIME LEVEL [instance] message".
 */
#pragma once

#include <syslog.h>

#include "macro.h"

void log_set_max_level(int level);
void log_msg(int level, const char *instance, const char *fmt, ...) _printf_(3, 4);

/* Log and return the (negative) error in one statement, systemd style. */
#define log_error_errno(err, ...) ({ log_msg(LOG_ERR, NULL, __VA_ARGS__); (err); })

#define log_debug(...) log_msg(LOG_DEBUG, NULL, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, NULL, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, NULL, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, NULL, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERR, NULL, __VA_ARGS__)
