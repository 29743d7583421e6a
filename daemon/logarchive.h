/*
 * A log file's archives: the renames of a rotation (api.log -> api.log.1 -> api.log.2 ..., as
 * rotate.c plans them) and the compression thread that gzips api.log.1 behind the writer.
 * Every name is relative to the log's directory fd: a directory swapped for a symlink is not
 * followed (see logfile.h).  Nothing here logs: failures are returned or handed to the callback.
 */
#pragma once

#include <stdbool.h>

/*
 * One rotation of `base` in the directory dfd keeping `keep` archives: the archives move up one
 * index (the oldest are deleted), `base` becomes `base`.1; leftovers of an interrupted
 * compression are removed.  Returns a negative errno when `base` itself could not be moved
 * (nothing is lost: try again later), 0 otherwise.
 */
int archive_shift(int dfd, const char *base, unsigned keep);

/* Whether `base`.1 is there as a regular file (left uncompressed by a previous run). */
bool archive_uncompressed(int dfd, const char *base);

/* Called on the compression thread when a job is over: r = 0, -ECANCELED at stop, or why the
 * archive stays uncompressed. */
typedef void (*archive_done_t)(void *userdata, const char *name, int r);

/* Start the compression thread (call with every signal blocked). */
int archive_start(archive_done_t done);
/* Abort the compression in progress (its archive stays as it is; it and every job still queued
 * end with -ECANCELED), and stop the thread. */
void archive_stop(void);
/* gzip `base`.1 into `base`.1.gz in the directory dfd (duplicated), then done(userdata, ...). */
int archive_compress(int dfd, const char *base, void *userdata);
