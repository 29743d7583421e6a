/*
 * Logging settings (see logconf.h).  Each value is converted by a callback while libconfuse
 * still knows its line, so a bad one is reported as "file:line: key: ..., expected ...".
 * A worker's table has no defaults (CFGF_NODEFAULT): cfg_size() then tells which keys the worker
 * set itself, and every other key falls back to the top-level `log` section.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "defaults.h"
#include "logconf.h"
#include "parse.h"

#define DEF_MAX_SIZE (10L * 1024 * 1024)
#define DEF_KEEP 5L
#define DEF_BUFFER_SIZE (1024L * 1024)
#define DEF_MAX_LINE (64L * 1024)

const LogConfig log_config_defaults = {
        .max_size = DEF_MAX_SIZE,
        .keep = DEF_KEEP,
        .compress = false,
        .timestamps = false,
        .stderr_mode = STDERR_MERGE,
        .rotate_every = 0,
        .overflow = OVERFLOW_BLOCK,
        .buffer_size = DEF_BUFFER_SIZE,
        .max_line = DEF_MAX_LINE,
        .tail = CFG_TAIL_LINES,
};

static const char *const format_names[_LOG_FORMAT_MAX] = {
        [LOG_FORMAT_TEXT] = "text",
        [LOG_FORMAT_JSON] = "json",
        [LOG_FORMAT_JOURNAL] = "journal",
};

static const char *const stderr_names[_STDERR_MAX] = {
        [STDERR_MERGE] = "merge",
        [STDERR_MARK] = "mark",
};

static const char *const overflow_names[_OVERFLOW_MAX] = {
        [OVERFLOW_BLOCK] = "block",
        [OVERFLOW_DROP] = "drop",
};

const char *log_format_to_string(LogFormat f) {
        return f >= 0 && f < _LOG_FORMAT_MAX ? format_names[f] : "auto";
}

const char *stderr_mode_to_string(StderrMode m) {
        return m >= 0 && m < _STDERR_MAX ? stderr_names[m] : "unknown";
}

const char *overflow_policy_to_string(OverflowPolicy p) {
        return p >= 0 && p < _OVERFLOW_MAX ? overflow_names[p] : "unknown";
}

static int lookup(const char *const *names, int n, const char *value) {
        for (int i = 0; i < n; i++)
                if (strcmp(value, names[i]) == 0)
                        return i;
        return -1;
}

int logconf_cb_format(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        int f = strcmp(value, "auto") == 0 ? LOG_FORMAT_AUTO
                                             : lookup(format_names, _LOG_FORMAT_MAX, value);

        if (f < 0 && strcmp(value, "auto") != 0) {
                cfg_error(cfg, "%s: unknown format '%s', expected text, json, journal or auto",
                          opt->name, value);
                return -1;
        }
        *(long *) result = f;
        return 0;
}

int logconf_cb_level(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        static const struct {
                const char *name;
                int level;
        } levels[] = {
                { "debug", LOG_DEBUG },     { "info", LOG_INFO },     { "notice", LOG_NOTICE },
                { "warning", LOG_WARNING }, { "error", LOG_ERR },
        };

        for (size_t i = 0; i < ELEMENTSOF(levels); i++)
                if (strcmp(value, levels[i].name) == 0) {
                        *(long *) result = levels[i].level;
                        return 0;
                }
        cfg_error(cfg, "%s: unknown level '%s', expected debug, info, notice, warning or error",
                  opt->name, value);
        return -1;
}

static int cb_enum(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        int v = -1;

        if (strcmp(opt->name, "stderr") == 0) {
                v = lookup(stderr_names, _STDERR_MAX, value);
                if (v < 0)
                        cfg_error(cfg, "%s: unknown value '%s', expected merge or mark",
                                  opt->name, value);
        } else {
                v = lookup(overflow_names, _OVERFLOW_MAX, value);
                if (v < 0)
                        cfg_error(cfg, "%s: unknown value '%s', expected block or drop",
                                  opt->name, value);
        }
        if (v < 0)
                return -1;
        *(long *) result = v;
        return 0;
}

/* Sizes per key: [min, max], and whether 0 ("off") is accepted too. */
static const struct {
        const char *key;
        uint64_t min, max;
        bool zero_ok;
        const char *expected;
} size_limits[] = {
        { "max-size", 1024, 1ULL << 40, true, "0 (no size limit) or 1K to 1T" },
        { "buffer-size", 16 * 1024, 1ULL << 30, false, "16K to 1G" },
        { "max-line", 256, 1024 * 1024, false, "256 to 1M" },
};

static int cb_size(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        uint64_t v;

        for (size_t i = 0; i < ELEMENTSOF(size_limits); i++) {
                if (strcmp(size_limits[i].key, opt->name) != 0)
                        continue;
                if (parse_size(value, &v) < 0 || (v == 0 && !size_limits[i].zero_ok) ||
                    (v != 0 && (v < size_limits[i].min || v > size_limits[i].max))) {
                        cfg_error(cfg, "%s: invalid size '%s', expected %s with an optional "
                                  "unit (K, M, G, T), e.g. 10M", opt->name, value,
                                  size_limits[i].expected);
                        return -1;
                }
                *(long *) result = (long) v;
                return 0;
        }
        return -1;
}

static int cb_keep(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        char *end;
        long v;

        errno = 0;
        v = strtol(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' || v < 0 || v > 1000) {
                cfg_error(cfg, "%s: invalid count '%s', expected 0 to 1000 rotated files",
                          opt->name, value);
                return -1;
        }
        *(long *) result = v;
        return 0;
}

static int cb_period(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        usec_t d;

        if (parse_duration(value, &d) < 0 || (d != 0 && d < USEC_PER_SEC) ||
            d > 366 * USEC_PER_DAY) {
                cfg_error(cfg, "%s: invalid period '%s', expected 0 (off) or a duration from 1s "
                          "to 366d, e.g. 1d or 12h", opt->name, value);
                return -1;
        }
        *(long *) result = (long) d;
        return 0;
}

static int cb_tail(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        char *end;
        long v;

        errno = 0;
        v = strtol(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' || v < 0 || v > CFG_TAIL_MAX_LINES) {
                cfg_error(cfg, "%s: invalid count '%s', expected 0 (off) to %d lines", opt->name,
                          value, CFG_TAIL_MAX_LINES);
                return -1;
        }
        *(long *) result = v;
        return 0;
}

/* libconfuse takes constant initialisers, hence the DEF_ macros shared with the struct above */
#define LOG_OPTS(flags)                                                                      \
        {                                                                                    \
                CFG_INT_CB("max-size", DEF_MAX_SIZE, flags, cb_size),                        \
                CFG_INT_CB("keep", DEF_KEEP, flags, cb_keep),                                \
                CFG_BOOL("compress", cfg_false, flags),                                      \
                CFG_BOOL("timestamps", cfg_false, flags),                                    \
                CFG_INT_CB("stderr", STDERR_MERGE, flags, cb_enum),                          \
                CFG_INT_CB("rotate-every", 0, flags, cb_period),                             \
                CFG_INT_CB("overflow", OVERFLOW_BLOCK, flags, cb_enum),                      \
                CFG_INT_CB("buffer-size", DEF_BUFFER_SIZE, flags, cb_size),                  \
                CFG_INT_CB("max-line", DEF_MAX_LINE, flags, cb_size),                        \
                CFG_INT_CB("tail", CFG_TAIL_LINES, flags, cb_tail),                          \
                CFG_END(),                                                                   \
        }

cfg_opt_t logconf_global_opts[] = LOG_OPTS(CFGF_NONE);
cfg_opt_t logconf_worker_opts[] = LOG_OPTS(CFGF_NODEFAULT);

static long get_int(cfg_t *sec, const char *key, long def) {
        return sec && cfg_size(sec, key) > 0 ? cfg_getint(sec, key) : def;
}

static bool get_bool(cfg_t *sec, const char *key, bool def) {
        return sec && cfg_size(sec, key) > 0 ? cfg_getbool(sec, key) : def;
}

void logconf_copy(cfg_t *sec, const LogConfig *d, LogConfig *ret) {
        *ret = (LogConfig) {
                .max_size = (uint64_t) get_int(sec, "max-size", (long) d->max_size),
                .keep = (unsigned) get_int(sec, "keep", d->keep),
                .compress = get_bool(sec, "compress", d->compress),
                .timestamps = get_bool(sec, "timestamps", d->timestamps),
                .stderr_mode = (StderrMode) get_int(sec, "stderr", d->stderr_mode),
                .rotate_every = (usec_t) get_int(sec, "rotate-every", (long) d->rotate_every),
                .overflow = (OverflowPolicy) get_int(sec, "overflow", d->overflow),
                .buffer_size = (uint64_t) get_int(sec, "buffer-size", (long) d->buffer_size),
                .max_line = (uint64_t) get_int(sec, "max-line", (long) d->max_line),
                .tail = (unsigned) get_int(sec, "tail", d->tail),
        };
        /* a framed line (prefix, timestamp, marker) must always fit in an empty buffer */
        if (ret->max_line > ret->buffer_size / 2)
                ret->max_line = ret->buffer_size / 2;
}
