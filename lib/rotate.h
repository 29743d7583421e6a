/*
 * Log rotation arithmetic (pure: no I/O).  Files are named as logrotate names them:
 *
 *     api.log  api.log.1  api.log.2.gz ...      (index 0 is the file being written)
 *
 * A rotation is a plan of unlinks and renames run in order, every missing file skipped:
 * archives at or beyond `keep` are deleted, the others each move up one index, and the
 * current file becomes index 1 (or is deleted when keep is 0).  Renames never overwrite a
 * file the plan still needs, because indexes are moved from the highest down.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define ROTATE_MAX_KEEP 1000
#define ROTATE_MAX_INDEX 100000 /* archives numbered beyond this are not ours to delete */

/* "<base>" for index 0, "<base>.<index>" or "<base>.<index>.gz"; -ENAMETOOLONG if it does not fit. */
int rotate_name(char *buf, size_t len, const char *base, unsigned index, bool gz);

/* The index of an archive of `base` named `entry` ("api.log.3.gz" -> 3, gz), or -EINVAL. */
int rotate_parse_name(const char *base, const char *entry, unsigned *ret_index, bool *ret_gz);

typedef enum RotateOpType {
        ROTATE_UNLINK,
        ROTATE_RENAME,
        _ROTATE_OP_MAX,
        _ROTATE_OP_INVALID = -1,
} RotateOpType;

typedef struct RotateOp {
        RotateOpType type;
        unsigned from;  /* the file unlinked, or renamed */
        unsigned to;    /* rename target */
        bool gz;        /* applies to the compressed variant "<base>.<from>.gz" */
} RotateOp;

/*
 * The plan for one rotation with `keep` archives when the highest archive index present is
 * `highest` (0: none).  Fills at most n ops and returns how many the plan has (which may be
 * more than n: call again with a larger array).
 */
size_t rotate_plan(unsigned keep, unsigned highest, RotateOp *ops, size_t n);

/*
 * How much of the pending data (the two regions a and b, in order, made of whole lines) to
 * write to a file of `size` bytes limited to `max_size` (0: no limit).  Returns the byte count
 * to write now; 0 with *ret_rotate set means: rotate first.  The cut is at a line end so the
 * file does not exceed max_size, except that a single line longer than max_size is written
 * whole, alone, into a fresh file.
 */
size_t rotate_cut(const char *a, size_t alen, const char *b, size_t blen, uint64_t size,
                  uint64_t max_size, bool *ret_rotate);

/*
 * The next time-based rotation after `now` (CLOCK_REALTIME, usec): multiples of `period`
 * counted in local time from the epoch, so 1d rotates at local midnight and 1h on the hour.
 * gmtoff is the local offset from UTC in seconds.
 */
usec_t rotate_next_boundary(usec_t now, long gmtoff, usec_t period);
