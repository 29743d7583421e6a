/*
 * Logging settings: the `log { ... }` section (top level: the defaults; in a worker: its
 * overrides) and the top-level keys for upkeepd's own log (log-format, log-level, log-file).
 * The libconfuse option tables and their value callbacks live here so config.c only hooks them
 * in; every bad value is reported through cfg_error, i.e. as "file:line: ..., expected ...".
 */
#pragma once

#include <confuse.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "macro.h"

typedef enum LogFormat {
        LOG_FORMAT_TEXT,
        LOG_FORMAT_JSON,
        LOG_FORMAT_JOURNAL,
        _LOG_FORMAT_MAX,
        _LOG_FORMAT_INVALID = -1,
} LogFormat;

#define LOG_FORMAT_AUTO _LOG_FORMAT_INVALID /* journal under systemd, else text */

typedef enum StderrMode {
        STDERR_MERGE,  /* stderr lines look like stdout lines */
        STDERR_MARK,   /* stderr lines carry LOGLINE_STDERR_TAG */
        _STDERR_MAX,
        _STDERR_INVALID = -1,
} StderrMode;

typedef enum OverflowPolicy {
        OVERFLOW_BLOCK, /* stop reading the pipe: the worker waits in write(2), nothing is lost */
        OVERFLOW_DROP,  /* keep reading, drop whole lines and count their bytes */
        _OVERFLOW_MAX,
        _OVERFLOW_INVALID = -1,
} OverflowPolicy;

typedef struct LogConfig {
        uint64_t max_size;      /* rotate before a file would exceed this; 0: never by size */
        unsigned keep;          /* rotated files kept */
        bool compress;          /* gzip rotated files */
        bool timestamps;        /* prefix every line with the local time */
        StderrMode stderr_mode;
        usec_t rotate_every;    /* 0: no time-based rotation */
        OverflowPolicy overflow;
        uint64_t buffer_size;   /* per instance, between the pipes and the writer thread */
        uint64_t max_line;      /* longer lines are split with a marker */
        unsigned tail;          /* last lines kept for crash context; 0: none */
} LogConfig;

extern const LogConfig log_config_defaults;

/* Option tables: with defaults for the top-level section, without for a worker's. */
extern cfg_opt_t logconf_global_opts[];
extern cfg_opt_t logconf_worker_opts[];

/* Callbacks for the top-level keys log-format and log-level. */
int logconf_cb_format(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
int logconf_cb_level(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);

/*
 * The settings of a `log` section (NULL: none), each key not set taken from `defaults`.
 * Also makes max-line fit the buffer (a framed line must always fit in an empty buffer).
 */
void logconf_copy(cfg_t *sec, const LogConfig *defaults, LogConfig *ret);

const char *log_format_to_string(LogFormat f);
const char *stderr_mode_to_string(StderrMode m);
const char *overflow_policy_to_string(OverflowPolicy p);
