/*
 * Line framing for worker output (pure: no I/O, no allocation, no clock).
 *
 * Input is whatever a pipe read returned; output is whole lines, each optionally decorated as
 *
 *     [PREFIX][TIMESTAMP ][TAG]text\n        e.g. "api:0 | 2024-05-01T12:34:56.789+02:00 stderr: boom"
 *
 * Invariants the writer relies on:
 *   - only whole lines are produced: every byte emitted belongs to a line that ends in '\n',
 *     and a line is emitted whole or not at all, so a rotation can always happen between two
 *     emissions;
 *   - nothing is lost: a line longer than max_line is cut into pieces of max_line bytes (not
 *     splitting a UTF-8 sequence when one can be recognised), every piece but the last ending
 *     with LOGLINE_SPLIT_MARKER; a last line without '\n' is emitted at EOF with a '\n' added;
 *   - bytes not consumed (a partial line, or lines that did not fit in the output) are left for
 *     the caller to present again, with more input after them.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define LOGLINE_SPLIT_MARKER " [upkeep: line split]"
#define LOGLINE_STDERR_TAG "stderr: "
/* "2024-05-01T12:34:56.789+02:00" */
#define LOGLINE_TIMESTAMP_MAX 32

typedef struct LineFormat {
        size_t max_line;        /* longest line kept whole, in bytes without the '\n' */
        const char *prefix;     /* "api:0 | " or NULL */
        size_t prefix_len;
        const char *stamp;      /* "2024-...+02:00 " (with its space) or NULL */
        size_t stamp_len;
        const char *tag;        /* LOGLINE_STDERR_TAG or NULL */
        size_t tag_len;
} LineFormat;

/* The output: up to two regions filled in order, as the free part of a ring buffer is. */
typedef struct LineOut {
        char *seg[2];
        size_t cap[2];
        size_t used;            /* bytes written so far, across both regions */
} LineOut;

typedef struct LineResult {
        size_t consumed;        /* input bytes used up */
        size_t lines;           /* lines (or pieces) emitted */
        bool full;              /* stopped because the next line did not fit in the output */
} LineResult;

/*
 * Frame what can be framed of in[0..len) into out.  With eof, a trailing partial line is
 * emitted too.  Never emits part of a line.
 */
void logline_frame(const LineFormat *f, const char *in, size_t len, bool eof, LineOut *out,
                   LineResult *ret);

/* Emit one synthetic line (a marker written by upkeep itself); false when it does not fit. */
bool logline_emit(const LineFormat *f, const char *text, size_t len, LineOut *out);

/* Bytes one line of `len` bytes takes once framed (with its '\n'), for sizing. */
size_t logline_framed_size(const LineFormat *f, size_t len);

/*
 * ISO-8601 local time with milliseconds and the UTC offset, "2024-05-01T12:34:56.789+02:00",
 * from a broken-down local time and the milliseconds.  Returns the length (no NUL counted);
 * buf must hold LOGLINE_TIMESTAMP_MAX bytes.
 */
size_t logline_timestamp(char *buf, const struct tm *tm, unsigned msec);

/* Where to cut a piece of at most max bytes of s so the next piece starts on a UTF-8 lead byte. */
size_t logline_utf8_cut(const char *s, size_t max);
