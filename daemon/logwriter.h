/*
 * The log writer: every write(2), rename(2), unlink(2) and gzip of a log file happens on one
 * writer thread (and a compression thread it feeds), never on the event loop.
 *
 * A destination is one output file (or upkeepd's stdout) with a bounded ring buffer in front of it.
 * The event loop is the only producer of a destination: it reserves free space, fills it with whole
 * lines and commits; the writer is the only consumer.  The loop learns that space freed up
 * (after it had to stop) and that a closed destination may be freed through the inbox (loginbox.h),
 * and the writer's own messages (a write error, a failed rotation) reach upkeepd's log from
 * there too, through the report callback given to writer_start(), so upkeepd's log is only
 * ever written by the loop thread and the writer never calls it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "errscan.h"
#include "logconf.h"
#include "loginbox.h"
#include "logline.h"
#include "macro.h"

typedef struct LogDest LogDest;

/* Start the threads and the loop's wake-up source.  Call with every signal blocked. */
int writer_start(sd_event *e, inbox_report_t report);
bool writer_running(void);
/*
 * At exit: write what every destination holds (a failing file gets one last attempt), close them
 * and stop the threads, waiting at most `timeout`.  Destinations stay allocated (dest_write_sync
 * works).
 */
void writer_stop(usec_t timeout);
/* Free every destination left (after writer_stop). */
void writer_free_all(void);
/* Close and open again every file at its path (for an external logrotate). */
void writer_reopen_all(void);

/*
 * A destination writing to `fd` (taken over), the file at `path`, or upkeepd's stdout when path is
 * NULL (never rotated).  `label` names it in messages ("api:0", "upkeepd").  Of `log`, its
 * ring takes buffer_size, the writer max_size, keep, compress and rotate_every.
 */
int dest_new(const char *path, int fd, const char *label, const LogConfig *log,
             LogDest **ret);
/*
 * The same for a worker's file: `path` is <dir>/<base> where dir's last component belongs to
 * upkeepd (own_dir: made again when missing, never followed), `dfd` that directory open (taken
 * over), and every later open, rotation and compression acts relative to it (logfile_open).
 */
int dest_new_at(const char *path, bool own_dir, int dfd, int fd, const char *label,
                const LogConfig *log, LogDest **ret);
/* A new instance writes into this destination: the writer opens the path again if the file open is
 * no longer the one there (deleted, renamed away), or retries a failing one now. */
void dest_verify(LogDest *s);
/* New rotation settings (the ring keeps its size), applied by the writer from its next
 * rotation check on. */
void dest_set_settings(LogDest *s, const LogConfig *log);
/* Application errors: the scanner (taken over; NULL: none) the writer uses from its next look
 * at the destination on; the callback runs on the loop after the writer counted some (once per
 * batch); what it counted (NULL while no scanner was ever set). */
void dest_set_errors(LogDest *s, ErrScan *scan);
void dest_set_errors_callback(LogDest *s, void (*cb)(void *userdata), void *userdata);
ErrScanResults *dest_errors(LogDest *s);
/* Called on the loop when room came back after dest_want_space() returned false. */
void dest_set_space_callback(LogDest *s, void (*cb)(void *userdata), void *userdata);

/* The free part of the ring, to be filled in order; then commit what was used. */
LineOut dest_reserve(LogDest *s);
void dest_commit(LogDest *s, size_t n);
size_t dest_free_space(LogDest *s);
size_t dest_capacity(const LogDest *s);
/*
 * The loop stopped for lack of room.  Returns true when there is room already (go on);
 * otherwise the space callback runs once at least half of the buffer is free again.
 */
bool dest_want_space(LogDest *s);
/* At exit only: wait (blocking) until `want` bytes are free, at most until `deadline`. */
bool dest_wait_space(LogDest *s, size_t want, usec_t deadline);
/* No more data will come: the writer writes what is left, closes, and the destination is freed. */
void dest_close(LogDest *s);

/* After writer_stop: write directly (upkeepd's own last lines). */
void dest_write_sync(LogDest *s, const char *p, size_t n);

const char *dest_path(const LogDest *s);
uint64_t dest_bytes_written(const LogDest *s);
uint64_t dest_write_errors(const LogDest *s);
bool dest_failing(const LogDest *s);
