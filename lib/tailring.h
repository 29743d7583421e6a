/*
 * The last lines of a worker's output, kept for crash context: a byte ring over storage the
 * caller gives once (its size fixed when the configuration is read), fed with the raw bytes read
 * from the pipes, and read back as the last N lines when an instance ends badly.
 *
 * Pure: no allocation, no I/O.  Feeding costs at most `cap` bytes copied however big the chunk
 * (only its end can survive), so it never scans a flood.
 *
 * Reading back: whole lines only, oldest first, without the last '\n'.  When the ring wrapped
 * inside a line, that first partial line is left out, unless it is the only one: the last line
 * is always there, its end kept when it alone is longer than the ring.  A Python traceback
 * (from its "Traceback (most recent call last):" line on) is kept whole when it fits, even
 * beyond the number of lines asked for.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAIL_TRACEBACK_HEADER "Traceback (most recent call last):"

typedef struct TailRing {
        char *buf;
        size_t cap;
        uint64_t written;   /* bytes fed since tail_init(); buf[written % cap] is the oldest */
} TailRing;

void tail_init(TailRing *t, char *buf, size_t cap);
void tail_feed(TailRing *t, const char *p, size_t n);
/* Forget what was fed (the storage stays). */
void tail_reset(TailRing *t);
/*
 * The last `lines` lines (0: none) into out (NUL-terminated, at most len - 1 bytes: older lines
 * are left out first, then the start of the last one; a NUL byte read becomes '?').  Returns
 * the length.
 */
size_t tail_read(const TailRing *t, unsigned lines, char *out, size_t len);

/*
 * text with `indent` before each line, into out (NUL-terminated): the last lines that fit, older
 * ones left out first, for a log message of bounded size.  Returns the length.
 */
size_t tail_indent(const char *text, const char *indent, char *out, size_t len);

/* Where the last `lines` lines of text (NUL-terminated) begin; `lines` 0: all of it. */
const char *tail_last_lines(const char *text, unsigned lines);
