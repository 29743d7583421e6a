/*
 * upkeepd's own log (see log.h): ISO-8601 local time with milliseconds, a level, the instance
 * the line is about, the message.  stderr is line-buffered by hand (one write per line) so lines
 * from upkeepd never interleave with each other mid-line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level) {
        max_level = level;
}

static const char *level_name(int level) {
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

void log_msg(int level, const char *instance, const char *fmt, ...) {
        char line[2048];
        struct timespec ts;
        struct tm tm;
        size_t n;
        va_list ap;
        int saved = errno;

        if (level > max_level)
                return;
        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
        n += (size_t) snprintf(line + n, sizeof line - n, ".%03ld %s ", ts.tv_nsec / 1000000,
                               level_name(level));
        if (instance)
                n += (size_t) snprintf(line + n, sizeof line - n, "%s: ", instance);
        va_start(ap, fmt);
        errno = saved; /* so %m works */
        n += (size_t) vsnprintf(line + n, sizeof line - n, fmt, ap);
        va_end(ap);
        if (n > sizeof line - 2)
                n = sizeof line - 2;
        line[n++] = '\n';
        (void) !write(STDERR_FILENO, line, n);
        errno = saved;
}
