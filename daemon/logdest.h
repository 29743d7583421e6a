/*
 * A destination as the log writer sees it (logwriter.h says what a destination is).  Shared by
 * logwriter.c, which makes destinations, queues them and runs the writer thread, and logdest.c,
 * which does the writer's work on each: nothing else sees inside a destination.
 *
 * Fields marked "writer" are touched by the writer thread alone, those marked "loop" by the event
 * loop alone; the ring (logring.h), `req`, `queued` and the counters are shared.  A destination is
 * queued for the writer at most once (`queued`): a request bit set before the writer clears
 * `queued` is always seen, because the writer clears `queued` before it takes the bits and the loop
 * sets its bit before it tests `queued`.
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "errscan.h"
#include "logconf.h"
#include "loginbox.h"
#include "logring.h"
#include "macro.h"

typedef struct LogDest LogDest;

/* What the loop asks of the writer (LogDest.req). */
enum {
        REQ_ADD = 1 << 0,
        REQ_SETTINGS = 1 << 1,
        REQ_CLOSE = 1 << 2,
        REQ_VERIFY = 1 << 3,
};

/* What the writer tells the loop (LogDest.inbox). */
enum {
        INBOX_SPACE = 1 << 0,
        INBOX_CLOSED = 1 << 1,
        INBOX_ERRORS = 1 << 2,    /* application errors were counted (errscan.h) */
};

struct LogDest {
        /* fixed at creation */
        char *path;               /* NULL: upkeepd's stdout */
        char *dir, *base;         /* of path: every file operation is relative to dfd */
        bool own_dir;             /* dir's last component is made by upkeepd (log-dir/<worker>):
                                   * never followed, made again when missing */
        char *label;
        LogRing ring;             /* the loop produces, the writer consumes */

        atomic_uint req;
        atomic_bool queued;
        LogDest *qnext;           /* the writer's queue, under its lock */
        LogDest *dnext;           /* the writer's finished compressions, under its lock */
        pthread_mutex_t lock;     /* settings */
        LogConfig settings;       /* the next ones (REQ_SETTINGS) */
        ErrScan *next_scan;       /* the next scanner, under lock (REQ_SETTINGS) */
        bool scan_changed;
        ErrScanResults *errors;   /* what the scanner found: the writer adds, the loop reads;
                                   * allocated with the first scanner (most outputs have none) */

        /* loop */
        void (*space_cb)(void *userdata);
        void *space_userdata;
        void (*errors_cb)(void *userdata);
        void *errors_userdata;
        LogDest *all_next, **all_pprev;
        bool close_requested;

        InboxEntry inbox;         /* handed back to the loop: INBOX_SPACE, INBOX_CLOSED */

        /* writer */
        int fd;
        int dfd;                  /* dir, O_PATH-like: renames, unlinks and opens act in it */
        bool is_socket;           /* stdout is a socket: send(MSG_DONTWAIT) */
        bool stalled, stall_warned;
        usec_t stall_delay, stall_since;
        uint64_t size;
        LogConfig w;              /* rotation and compression: max_size, keep, ... */
        bool active, closing, compressing, failing, force_rotate;
        LogDest *anext, **apprev;
        usec_t next_rotation;     /* CLOCK_REALTIME, USEC_INFINITY: none */
        ErrScan *scan;            /* application errors; NULL: none counted */
        uint64_t scan_pos;        /* ring position up to which lines were scanned */
        usec_t retry_at, retry_delay, fail_since;
        unsigned fail_count;

        _Atomic uint64_t bytes_written, write_errors;
        atomic_bool failing_pub;
};

/* On the writer thread: a destination taken off the queue (apply its requests, then write), a
 * destination whose compression job is over, or one to write (final: its last chance, at
 * stop). */
void dest_process(LogDest *s, usec_t now);
void dest_compressed(LogDest *s, usec_t now);
void dest_service(LogDest *s, usec_t now, bool final);
/* Every destination: close and open its file again; retries and time rotations that are due. */
void dests_reopen(void);
void dests_service_due(usec_t now, bool stop);
/* When the writer must wake up at the latest (CLOCK_MONOTONIC, USEC_INFINITY: never). */
usec_t dests_deadline(void);

/* A message for upkeepd's log about the destination, from a thread that must not write it
 * itself. */
void dest_post(int level, const LogDest *s, const char *event, const char *fmt, ...)
        _printf_(4, 5);
