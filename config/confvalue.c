/* The parse callbacks of typed configuration values: see confvalue.h. */
#include <confuse.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "confvalue.h"
#include "confmodel.h"
#include "defaults.h"
#include "macro.h"
#include "parse.h"

/* Limits per duration key: a value outside them is a configuration error, not a surprise later. */
static const struct {
        const char *key;
        usec_t min, max;
} duration_limits[] = {
        { "stop-timeout", 0, CFG_MAX_STOP_TIMEOUT },
        { "start-secs", 0, CFG_MAX_START_SECS },
        { "backoff", 0, USEC_PER_DAY },
        { "max-delay", 0, 7 * USEC_PER_DAY },
        { "reset-after", 0, 365 * USEC_PER_DAY },
        { "retry-after", 0, 7 * USEC_PER_DAY },
        { "interval", 100 * USEC_PER_MSEC, USEC_PER_DAY },
        { "timeout", 10 * USEC_PER_MSEC, USEC_PER_HOUR },
        { "start-period", 0, USEC_PER_DAY },
        { "start-interval", 100 * USEC_PER_MSEC, USEC_PER_DAY },
        { "within", USEC_PER_SEC, USEC_PER_HOUR },
        { "repeat", 0, 30 * USEC_PER_DAY },
        { "resolve-after", 0, USEC_PER_DAY },
        { "resend", USEC_PER_SEC, USEC_PER_HOUR },
        { "memory-interval", 100 * USEC_PER_MSEC, USEC_PER_HOUR },
        { "cpu-for", USEC_PER_SEC, USEC_PER_DAY },
        { "textfile-interval", CFG_METRICS_MIN_INTERVAL, CFG_METRICS_MAX_INTERVAL },
        { "wait-timeout", 0, 7 * USEC_PER_DAY },
        { "ready-timeout", 0, USEC_PER_DAY },
        { "watchdog", 0, USEC_PER_DAY },
        { "restart-every", 0, 365 * USEC_PER_DAY },
};

int cb_duration(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        char lo[32], hi[32];
        usec_t d;
        int r;

        r = parse_duration(value, &d);
        if (r < 0) {
                cfg_error(cfg, "%s: invalid duration '%s', expected a number with a unit "
                          "(us, ms, s, m, h, d), e.g. 500ms, 10s, 5m",
                          opt->name, value);
                return -1;
        }
        for (size_t i = 0; i < ELEMENTSOF(duration_limits); i++)
                if (strcmp(duration_limits[i].key, opt->name) == 0 &&
                    (d < duration_limits[i].min || d > duration_limits[i].max)) {
                        cfg_error(cfg, "%s: %s is out of range, expected %s to %s", opt->name, value,
                                  format_duration(lo, sizeof lo, duration_limits[i].min),
                                  format_duration(hi, sizeof hi, duration_limits[i].max));
                        return -1;
                }
        *(long *) result = (long) d;
        return 0;
}

int cb_signal(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        int sig;

        if (parse_signal(value, &sig) < 0) {
                cfg_error(cfg, "%s: unknown signal '%s', expected a name like TERM, INT, QUIT, "
                          "HUP or a number", opt->name, value);
                return -1;
        }
        *(long *) result = sig;
        return 0;
}

int cb_policy(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        long v = restart_policy_from_string(value);

        if (v >= 0) {
                *(long *) result = v;
                return 0;
        }
        cfg_error(cfg, "%s: unknown policy '%s', expected always, on-failure or never", opt->name,
                  value);
        return -1;
}

int cb_fraction(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        double f;

        if (parse_fraction(value, &f) < 0) {
                cfg_error(cfg, "%s: invalid value '%s', expected a percentage from 0%% to 100%%",
                          opt->name, value);
                return -1;
        }
        *(double *) result = f;
        return 0;
}

int cb_type(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        if (strcmp(value, "simple") == 0 || strcmp(value, "oneshot") == 0) {
                *(long *) result = strcmp(value, "oneshot") == 0;
                return 0;
        }
        cfg_error(cfg, "%s: unknown type '%s', expected simple or oneshot", opt->name, value);
        return -1;
}

int cb_degraded(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        long v = degraded_policy_from_string(value);

        if (v >= 0) {
                *(long *) result = v;
                return 0;
        }
        cfg_error(cfg, "%s: unknown value '%s', expected ignore, alert or restart", opt->name,
                  value);
        return -1;
}

int cb_ready(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        if (strcmp(value, "started") == 0)
                *(long *) result = READY_STARTED;
        else if (strcmp(value, "healthy") == 0)
                *(long *) result = READY_HEALTHY;
        else {
                cfg_error(cfg, "%s: unknown value '%s', expected started or healthy", opt->name,
                          value);
                return -1;
        }
        return 0;
}

int cb_sink_type(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        long v = sink_type_from_string(value);

        if (v >= 0) {
                *(long *) result = v;
                return 0;
        }
        cfg_error(cfg, "%s: unknown type '%s', expected log, exec, webhook, slack or "
                  "alertmanager", opt->name, value);
        return -1;
}

int cb_severity(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        Severity sv = severity_from_string(value);

        if (sv <= SEV_NONE) {
                cfg_error(cfg, "%s: unknown severity '%s', expected warning, critical or fatal",
                          opt->name, value);
                return -1;
        }
        *(long *) result = sv;
        return 0;
}

int cb_event(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        EventKind k = event_kind_from_string(value);

        if (strcmp(value, "gave-up") == 0)
                *(long *) result = ALERT_EVENT_GAVE_UP;
        else if (k != _EVK_INVALID)
                *(long *) result = k;
        else {
                cfg_error(cfg, "%s: unknown event '%s', expected exit, crash, health-failure, "
                          "timeout, restart, degraded, app-error or gave-up", opt->name, value);
                return -1;
        }
        return 0;
}

int cb_mode(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        char *end;
        long m = strtol(value, &end, 8);

        if (*end || m < 0 || m > 0777 || (m & 0600) != 0600) {
                cfg_error(cfg, "%s: invalid mode '%s', expected octal permissions that include "
                          "0600, e.g. 0660", opt->name, value);
                return -1;
        }
        *(long *) result = m;
        return 0;
}

int cb_umask(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        unsigned m;

        if (parse_umask(value, &m) < 0) {
                cfg_error(cfg, "%s: invalid umask '%s', expected 1 to 4 octal digits up to 0777, "
                          "e.g. \"022\"", opt->name, value);
                return -1;
        }
        *(long *) result = (long) m;
        return 0;
}

int cb_others(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        if (strcmp(value, "read") == 0)
                *(long *) result = 1;
        else if (strcmp(value, "none") == 0)
                *(long *) result = 0;
        else {
                cfg_error(cfg, "%s: unknown value '%s', expected read or none", opt->name, value);
                return -1;
        }
        return 0;
}

int cb_size(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        uint64_t v;

        if (parse_size(value, &v) < 0 || v < 1 || v > (1ULL << 30)) {
                cfg_error(cfg, "%s: invalid size '%s', expected 1 to 1G with an optional unit "
                          "(K, M, G), e.g. 16K", opt->name, value);
                return -1;
        }
        *(long *) result = (long) v;
        return 0;
}

/* A held socket's mode: any octal permissions (a unix socket for clients of every user). */
int cb_listen_mode(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        unsigned m;

        if (parse_umask(value, &m) < 0) {
                cfg_error(cfg, "%s: invalid mode '%s', expected octal permissions up to 0777, "
                          "e.g. \"0660\"", opt->name, value);
                return -1;
        }
        *(long *) result = (long) m;
        return 0;
}

int cb_on_failure(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        RollOnFailure f = roll_on_failure_from_string(value);

        if (f < 0) {
                cfg_error(cfg, "%s: unknown value '%s', expected pause or continue", opt->name,
                          value);
                return -1;
        }
        *(long *) result = f;
        return 0;
}

/* memory-limit, memory-warn: 1M up to the machine's memory (above it, it never acts). */
int cb_memory(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        uint64_t v, machine = (uint64_t) sysconf(_SC_PHYS_PAGES) * (uint64_t) sysconf(_SC_PAGESIZE);
        char hi[32];

        if (parse_size(value, &v) < 0 || v < CFG_MEMORY_MIN || v > machine) {
                cfg_error(cfg, "%s: invalid or out of range '%s', expected a size from 1M to "
                          "this machine's memory (%s) with a unit (K, M, G), e.g. 512M",
                          opt->name, value, format_bytes(hi, sizeof hi, machine));
                return -1;
        }
        *(long *) result = (long) v;
        return 0;
}

/* cpu-warn, cpu-limit: "90%" of one CPU, up to every CPU of the machine ("400%" with 4). */
int cb_cpu(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        long max = 100 * sysconf(_SC_NPROCESSORS_ONLN);
        char *end;
        double v;

        errno = 0;
        v = strtod(value, &end);
        if (errno || end == value || strcmp(end, "%") != 0 || !(v >= 1) || v > (double) max) {
                cfg_error(cfg, "%s: invalid value '%s', expected a percentage of one CPU from 1%% "
                          "to %ld%% (every CPU of this machine), e.g. 90%%", opt->name, value, max);
                return -1;
        }
        *(double *) result = v;
        return 0;
}
