/*
 * Application errors in a worker's output (errors { } of a worker): the writer thread's scan of
 * each destination's lines as they go out, with the classifier of lib/apperror.h and a PCRE2
 * regular expression (JIT-compiled) for `match`.  The loop never matches a line.
 *
 * A scanner is made on the loop (errscan_new: the pattern is compiled there, once per
 * configuration), handed to the writer (logwriter.c, under the destination's lock) and used by
 * the writer alone from then on.  What it finds goes back as counters per kind and the last
 * matching line (ErrScanResults), which the loop reads after one wake-up per batch, never one
 * per line.
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "apperror.h"
#include "config.h"

typedef struct ErrScan ErrScan;

#define ERRSCAN_LAST_MAX 256

/* Shared between the writer (which adds) and the loop (which reads). */
typedef struct ErrScanResults {
        _Atomic uint64_t count[_APPERR_MAX];
        atomic_bool posted;        /* the loop was told and did not look yet */
        pthread_mutex_t lock;      /* last, last_kind */
        char last[ERRSCAN_LAST_MAX];
        AppErrorKind last_kind;
} ErrScanResults;

/*
 * On the loop: a scanner for `cfg` (NULL when cfg has no errors section), for lines framed as
 * `log` says, with `prefix` ("api | ", or "") before each.  -ENOMEM, or -EINVAL for a pattern
 * that does not compile (checked when the configuration was read already).
 */
int errscan_new(const ErrorsConfig *cfg, const LogConfig *log, const char *prefix,
                ErrScan **ret);
ErrScan *errscan_free(ErrScan *e);

/*
 * On the writer: one framed line (without its '\n'); what it is, with the line's own text
 * (without prefix, timestamp, stderr tag or split marker) recorded in `res` when it counts.
 */
AppErrorKind errscan_line(ErrScan *e, const char *line, size_t len, ErrScanResults *res);
/* On the writer: the whole lines of p[0..len) (which ends with '\n'), as errscan_line() would
 * take them one by one; whether any counted. */
bool errscan_span(ErrScan *e, const char *p, size_t len, ErrScanResults *res);
