/*
 * The log writer thread and its sinks (see logwriter.h).  A sink's ring is logring.c, its
 * files are opened by logfile.c, rotated and compressed by logarchive.c, and what the threads
 * hand back to the loop goes through loginbox.c.
 *
 * Ownership and invariants:
 *   - the loop is the only producer of a sink's ring, the writer the only consumer (logring.h).
 *   - the ring holds whole lines only (logline.c), so the writer can rotate between any two
 *     writes and cut a write at a line end (rotate_cut) to honour max-size.
 *   - fields marked "writer" are touched by the writer thread alone; the compression thread
 *     only reads and writes files and hands the sink of a finished job back on W.done, never
 *     touching it otherwise (a sink has one compression job at most: `compressing`).
 *   - a sink is queued for the writer at most once (`queued`); a request bit set before the
 *     writer clears `queued` is always seen, because the writer clears `queued` before it
 *     takes the bits and a producer sets its bit before it tests `queued`.  Only the loop
 *     queues a sink, and never after sink_close().
 *   - the loop learns about free space, closed sinks and messages through the inbox
 *     (loginbox.c); a sink is freed on the loop only after the writer said it is done with it
 *     (closed, with no compression job and no queue entry left).
 *   - a failing file (ENOSPC, EFBIG, EACCES...) is retried with a bounded backoff; its data
 *     stays in the ring meanwhile, so the loop either stops reading the pipe or drops and
 *     counts, depending on the worker's overflow policy (logs.c).
 *   - rotation never copies: rename the archives up, rename the file to .1, open a new file,
 *     close the old one.  A size rotation waits while the previous archive is still being
 *     compressed (the worker's ring fills meanwhile: backpressure, not loss).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "logarchive.h"
#include "logfile.h"
#include "loginbox.h"
#include "logring.h"
#include "logwriter.h"
#include "parse.h"
#include "rotate.h"

enum {
        REQ_ADD = 1 << 0,
        REQ_SETTINGS = 1 << 1,
        REQ_CLOSE = 1 << 2,
        REQ_VERIFY = 1 << 3,
};

enum {
        INBOX_SPACE = 1 << 0,
        INBOX_CLOSED = 1 << 1,
};

#define RETRY_MIN (250 * USEC_PER_MSEC)
#define RETRY_MAX (5 * USEC_PER_SEC)
/* stdout not read (EAGAIN): polled from STALL_MIN, doubling up to STALL_MAX; no error, but a
 * warning once it lasted RETRY_MAX */
#define STALL_MIN (5 * USEC_PER_MSEC)
#define STALL_MAX (100 * USEC_PER_MSEC)

struct LogSink {
        /* fixed at creation */
        char *path;               /* NULL: upkeepd's stdout */
        char *dir, *base;         /* of path: every file operation is relative to dfd */
        bool own_dir;             /* dir's last component is made by upkeepd (log-dir/<worker>):
                                   * never followed, made again when missing */
        char *label;
        LogRing ring;             /* the loop produces, the writer consumes */

        atomic_uint req;
        atomic_bool queued;
        LogSink *qnext;           /* W.lock */
        LogSink *dnext;           /* W.lock: W.done */
        pthread_mutex_t lock;     /* settings */
        SinkSettings settings;

        /* loop */
        void (*space_cb)(void *userdata);
        void *space_userdata;
        LogSink *all_next, **all_pprev;
        bool close_requested;

        InboxEntry inbox;         /* the loop's: INBOX_SPACE, INBOX_CLOSED */

        /* writer */
        int fd;
        int dfd;                  /* dir, O_PATH-like: renames, unlinks and opens act in it */
        bool is_socket;           /* stdout is a socket: send(MSG_DONTWAIT) */
        bool stalled, stall_warned;
        usec_t stall_delay, stall_since;
        uint64_t size;
        SinkSettings w;
        bool active, closing, compressing, failing, force_rotate;
        LogSink *anext, **apprev;
        usec_t next_rotation;     /* CLOCK_REALTIME, USEC_INFINITY: none */
        usec_t retry_at, retry_delay, fail_since;
        unsigned fail_count;

        _Atomic uint64_t bytes_written, write_errors;
        atomic_bool failing_pub;
};

static struct {
        pthread_t thread;
        bool running;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        LogSink *queue, *queue_tail;
        LogSink *done;            /* their compression job finished */
        bool reopen, stop;
        LogSink *active;          /* writer */
        usec_t deadline;          /* writer: next retry or time rotation, CLOCK_MONOTONIC */
} W = { .lock = PTHREAD_MUTEX_INITIALIZER };

static LogSink *all_sinks;        /* loop */

static long local_gmtoff(usec_t real) {
        time_t t = (time_t) (real / USEC_PER_SEC);
        struct tm tm;

        return localtime_r(&t, &tm) ? tm.tm_gmtoff : 0;
}

/* ---- the way back to the loop ------------------------------------------------------------ */

/* A message for upkeepd's log, from a thread that must not write it itself. */
_printf_(4, 5) static void post(int level, const LogSink *s, const char *event, const char *fmt,
                                 ...) {
        va_list ap;

        va_start(ap, fmt);
        inbox_postv(level, strcmp(s->label, "upkeepd") ? s->label : NULL, event,
                    s->path ?: "-", fmt, ap);
        va_end(ap);
}

static void sink_free(LogSink *s);

/* On the loop: wake a stalled producer, free a closed sink. */
static void on_inbox(InboxEntry *e, unsigned flags) {
        LogSink *s = (LogSink *) ((char *) e - offsetof(LogSink, inbox));

        if (flags & INBOX_CLOSED)
                sink_free(s);
        else if ((flags & INBOX_SPACE) && s->space_cb)
                s->space_cb(s->space_userdata);
}

/* ---- queueing work for the writer --------------------------------------------------------- */

static void sink_kick(LogSink *s, unsigned req) {
        if (req)
                atomic_fetch_or(&s->req, req);
        if (atomic_exchange(&s->queued, true))
                return;
        pthread_mutex_lock(&W.lock);
        s->qnext = NULL;
        if (W.queue_tail)
                W.queue_tail->qnext = s;
        else
                W.queue = s;
        W.queue_tail = s;
        pthread_mutex_unlock(&W.lock);
        /* after the unlock: a writer woken under the lock would only block on it again */
        pthread_cond_signal(&W.cond);
}

/* ---- the writer ---------------------------------------------------------------------------- */

static void note_deadline(usec_t t) {
        if (t < W.deadline)
                W.deadline = t;
}

static void schedule_time_rotation(LogSink *s, usec_t from) {
        s->next_rotation = s->path && s->w.rotate_every > 0
                                   ? rotate_next_boundary(from, local_gmtoff(from),
                                                          s->w.rotate_every)
                                   : USEC_INFINITY;
}

/* Size and age of a file just opened; a file left from before counts from its last write. */
static void adopt_fd(LogSink *s, int fd) {
        struct stat st;

        s->fd = fd;
        s->size = 0;
        s->is_socket = false;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
                s->size = (uint64_t) st.st_size;
        else if (S_ISSOCK(st.st_mode))
                s->is_socket = true;
        schedule_time_rotation(s, s->size > 0 ? (usec_t) st.st_mtim.tv_sec * USEC_PER_SEC +
                                                        (usec_t) st.st_mtim.tv_nsec / 1000
                                              : clock_real_usec());
}

/* The sink's directory (opened when first needed: upkeepd's own log-file comes without it). */
static int sink_dir(LogSink *s) {
        return s->dfd >= 0 ? 0 : logfile_open_dir(s->dir, s->own_dir, &s->dfd);
}

/* The file at the sink's path, opened again from its directory on (made again if it is gone). */
static int sink_open(LogSink *s) {
        int dfd = -1, fd = logfile_open(s->dir, s->base, s->own_dir, &dfd);

        if (fd < 0)
                return fd;
        if (s->dfd >= 0)
                close(s->dfd);
        s->dfd = dfd;
        adopt_fd(s, fd);
        return 0;
}

static void sink_fail(LogSink *s, int err, const char *what) {
        usec_t now = clock_mono_usec();
        char buf[32];

        atomic_fetch_add(&s->write_errors, 1);
        if (err == EFBIG && s->path && s->size > 0)
                s->force_rotate = true; /* the file cannot grow: a fresh one can */
        if (!s->failing) {
                s->failing = true;
                atomic_store(&s->failing_pub, true);
                s->fail_since = now;
                s->fail_count = 0;
                s->retry_delay = RETRY_MIN;
                post(LOG_WARNING, s, "log-write-error",
                     "cannot %s %s: %s; holding output, retrying every %s at most", what,
                     s->path ?: "stdout", logfile_strerror(err),
                     format_duration(buf, sizeof buf, RETRY_MAX));
        } else
                s->retry_delay = MIN(s->retry_delay * 2, RETRY_MAX);
        s->fail_count++;
        s->retry_at = now + s->retry_delay;
        note_deadline(s->retry_at);
}

static void sink_recovered(LogSink *s) {
        char buf[32];

        s->failing = false;
        atomic_store(&s->failing_pub, false);
        post(LOG_NOTICE, s, "log-write-resumed", "writing %s again after %u failed attempts "
             "over %s", s->path ?: "stdout", s->fail_count,
             format_duration(buf, sizeof buf, clock_mono_usec() - s->fail_since));
}

static void on_compressed(void *userdata, const char *name, int r);

/* Writer: hand archive 1 to the compression thread. */
static void queue_compress(LogSink *s) {
        if (archive_compress(s->dfd, s->base, s) < 0) {
                post(LOG_WARNING, s, "log-compress-error",
                     "out of memory, leaving %s.1 uncompressed", s->path);
                return;
        }
        s->compressing = true;
}

/* On the compression thread: back to the writer, which alone may touch the sink. */
static void on_compressed(void *userdata, const char *name, int r) {
        LogSink *s = userdata;

        if (r < 0 && r != -ECANCELED)
                post(LOG_WARNING, s, "log-compress-error",
                     "cannot compress %s: %s, leaving it uncompressed", name, strerror(-r));
        pthread_mutex_lock(&W.lock);
        s->dnext = W.done;
        W.done = s;
        pthread_cond_signal(&W.cond);
        pthread_mutex_unlock(&W.lock);
}

static int sink_rotate(LogSink *s) {
        int fd, r;

        r = sink_dir(s);
        if (r < 0)
                return r;
        r = archive_shift(s->dfd, s->base, s->w.keep);
        if (r < 0)
                return r;
        fd = logfile_open_at(s->dfd, s->base, s->own_dir);
        close(s->fd);
        s->fd = -1;
        s->size = 0;
        s->force_rotate = false;
        schedule_time_rotation(s, clock_real_usec());
        if (fd < 0)
                return fd; /* opened again at the next attempt */
        adopt_fd(s, fd);
        if (s->w.compress && s->w.keep > 0)
                queue_compress(s);
        post(LOG_DEBUG, s, "log-rotated", "rotated %s", s->path);
        return 0;
}

/*
 * A write would block: upkeepd's stdout is not being read (only stdout is non-blocking; see
 * logs.c).  Nothing is lost or counted as an error, the data waits in the ring; the writer
 * polls the descriptor with a short backoff instead of waiting in write(2), so every other file
 * keeps being written.  Said once when it lasts.
 */
static void sink_stall(LogSink *s) {
        usec_t now = clock_mono_usec();
        char buf[32];

        if (!s->stalled) {
                s->stalled = true;
                s->stall_since = now;
                s->stall_delay = STALL_MIN;
        } else
                s->stall_delay = MIN(s->stall_delay * 2, STALL_MAX);
        if (!s->stall_warned && now - s->stall_since >= RETRY_MAX) {
                s->stall_warned = true;
                post(LOG_WARNING, s, "log-write-stalled", "%s is not being read for %s, holding "
                     "output", s->path ?: "stdout", format_duration(buf, sizeof buf,
                                                                      now - s->stall_since));
        }
        s->retry_at = now + s->stall_delay;
        note_deadline(s->retry_at);
}

static void sink_unstalled(LogSink *s) {
        char buf[32];

        s->stalled = false;
        if (s->stall_warned)
                post(LOG_NOTICE, s, "log-write-resumed", "%s is read again after %s",
                     s->path ?: "stdout",
                     format_duration(buf, sizeof buf, clock_mono_usec() - s->stall_since));
        s->stall_warned = false;
}

static void maybe_signal_space(LogSink *s) {
        if (ring_room_back(&s->ring))
                inbox_push(&s->inbox, INBOX_SPACE);
}

static bool time_rotation_due(LogSink *s) {
        usec_t now;

        if (!s->path || s->closing || s->next_rotation == USEC_INFINITY)
                return false;
        now = clock_real_usec();
        if (now < s->next_rotation) {
                note_deadline(clock_mono_usec() + (s->next_rotation - now));
                return false;
        }
        if (s->size == 0) {
                /* nothing to archive: wait for the next boundary */
                schedule_time_rotation(s, now);
                return false;
        }
        return true;
}

/* A rotation before the next write: the file cannot grow (EFBIG), or its time is up. */
static bool rotation_due(LogSink *s) {
        return s->path && !s->closing && !s->compressing &&
               ((s->force_rotate && s->size > 0) || time_rotation_due(s));
}

/* How many of the `pending` bytes at head go into the file before max-size calls for a
 * rotation (*rot). */
static size_t sink_cut(LogSink *s, uint64_t head, size_t pending, bool *rot) {
        struct iovec iov[2];

        (void) ring_span(&s->ring, head, pending, iov);
        /* a closing sink still rotates, unless that would mean waiting for an archive being
         * compressed: then its last lines go over the limit */
        return rotate_cut(iov[0].iov_base, iov[0].iov_len, iov[1].iov_base, iov[1].iov_len,
                          s->size, s->path && !(s->closing && s->compressing) ? s->w.max_size : 0,
                          rot);
}

/* One write of n bytes from the ring at head (they may wrap around its end). */
static ssize_t sink_writev(LogSink *s, uint64_t head, size_t n) {
        struct iovec iov[2];
        int niov = ring_span(&s->ring, head, n, iov);

        if (s->is_socket) /* upkeepd's stdout, shared: no O_NONBLOCK on it */
                return sendmsg(s->fd, &(struct msghdr) { .msg_iov = iov, .msg_iovlen = niov },
                               MSG_DONTWAIT | MSG_NOSIGNAL);
        return writev(s->fd, iov, niov);
}

static void sink_wrote(LogSink *s, uint64_t head, size_t k) {
        ring_consumed(&s->ring, head, k);
        s->size += (uint64_t) k;
        atomic_fetch_add_explicit(&s->bytes_written, (uint64_t) k, memory_order_relaxed);
        if (s->failing)
                sink_recovered(s);
        if (s->stalled)
                sink_unstalled(s);
        maybe_signal_space(s);
}

/*
 * Write what the ring holds, opening and rotating the file as needed, until it is empty, the
 * file fails (retried later), stdout is not read, or a rotation waits for the compression.
 */
static void sink_drain(LogSink *s) {
        for (;;) {
                uint64_t head;
                size_t pending = ring_pending(&s->ring, &head), n = 0;
                bool due = rotation_due(s), rot = false;
                ssize_t k;
                int r;

                if (pending == 0 && !due)
                        break;
                if (s->fd < 0) {
                        r = s->path ? sink_open(s) : -EBADF;
                        if (r < 0) {
                                sink_fail(s, -r, "open");
                                return;
                        }
                        continue;
                }
                if (!due) {
                        s->force_rotate = false;
                        n = sink_cut(s, head, pending, &rot);
                        if (rot && s->compressing)
                                return; /* resumed when the compression job comes back */
                }
                if (due || rot) {
                        r = sink_rotate(s);
                        if (r < 0) {
                                sink_fail(s, -r, "rotate");
                                return;
                        }
                        continue;
                }
                k = sink_writev(s, head, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN) {
                        sink_stall(s);
                        return;
                }
                if (k <= 0) {
                        sink_fail(s, k < 0 ? errno : EIO, "write to");
                        return;
                }
                sink_wrote(s, head, (size_t) k);
        }
        maybe_signal_space(s);
}

static void sink_deactivate(LogSink *s) {
        if (!s->active)
                return;
        if (s->anext)
                s->anext->apprev = s->apprev;
        *s->apprev = s->anext;
        s->active = false;
}

static void sink_reopen(LogSink *s) {
        int r;

        if (!s->path)
                return;
        if (s->fd >= 0)
                close(s->fd);
        s->fd = -1;
        r = sink_open(s);
        if (r < 0) {
                sink_fail(s, -r, "reopen");
                return;
        }
        if (s->failing) {
                /* write now, not at the next retry */
                s->retry_at = 0;
                note_deadline(0);
        }
}

/*
 * A new instance is about to write into this sink (a restart): if the file at the path is no
 * longer the one open (deleted with its directory, renamed away), open it again now, so the
 * restarted worker's lines land where the administrator looks.
 */
static void sink_check_path(LogSink *s) {
        struct stat a, b;

        if (!s->path)
                return;
        if (s->fd < 0) {
                if (s->failing) {
                        s->retry_at = 0;
                        note_deadline(0);
                }
                return;
        }
        if (fstat(s->fd, &a) == 0 && lstat(s->path, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino)
                return;
        sink_reopen(s);
}

/* Drain (unless waiting for a retry), and finish a closing sink once it is empty. */
static void sink_service(LogSink *s, usec_t now, bool final) {
        if (!(s->failing || s->stalled) || now >= s->retry_at || final)
                sink_drain(s);
        if (s->closing && !final && !s->compressing &&
            ring_empty(&s->ring)) {
                sink_deactivate(s);
                if (s->fd >= 0)
                        close(s->fd);
                s->fd = -1;
                if (s->dfd >= 0)
                        close(s->dfd);
                s->dfd = -1;
                inbox_push(&s->inbox, INBOX_CLOSED); /* the loop frees it: do not touch it again */
        }
}

/* A sink taken off the queue: apply its requests, then service it. */
static void sink_process(LogSink *s, usec_t now) {
        unsigned req;

        atomic_store(&s->queued, false);
        req = atomic_exchange(&s->req, 0);
        if (req & REQ_ADD) {
                s->anext = W.active;
                if (W.active)
                        W.active->apprev = &s->anext;
                s->apprev = &W.active;
                W.active = s;
                s->active = true;
                if (s->fd >= 0)
                        adopt_fd(s, s->fd);
                /* an archive a previous run did not get to compress */
                if (s->path && s->w.compress && s->w.keep > 0 && sink_dir(s) == 0 &&
                    archive_uncompressed(s->dfd, s->base))
                        queue_compress(s);
        }
        if (req & REQ_SETTINGS) {
                pthread_mutex_lock(&s->lock);
                s->w = s->settings;
                pthread_mutex_unlock(&s->lock);
                if (s->fd >= 0)
                        schedule_time_rotation(s, clock_real_usec());
        }
        if (req & REQ_VERIFY)
                sink_check_path(s);
        if (req & REQ_CLOSE)
                s->closing = true;
        sink_service(s, now, false);
}

/* With W.lock held: sleep until woken or until the deadline. */
static void writer_wait(void) {
        struct timespec ts = usec_to_timespec(W.deadline);

        if (W.deadline == USEC_INFINITY)
                pthread_cond_wait(&W.cond, &W.lock);
        else
                pthread_cond_timedwait(&W.cond, &W.lock, &ts);
}

/* Retries and time rotations that are due (every sink's last chance at stop), and the next
 * deadline. */
static void writer_service_due(usec_t now, bool stop) {
        W.deadline = USEC_INFINITY;
        for (LogSink *s = W.active, *next; s; s = next) {
                next = s->anext;
                if ((s->failing || s->stalled) && s->retry_at > now && !stop)
                        note_deadline(s->retry_at);
                else
                        sink_service(s, now, stop);
        }
}

/* One round of work taken from W, without the lock. */
static void writer_round(LogSink *list, LogSink *done, bool reopen, bool stop, usec_t now) {
        if (reopen)
                for (LogSink *s = W.active; s; s = s->anext)
                        sink_reopen(s);
        while (done) {
                LogSink *s = done;

                done = s->dnext;
                s->compressing = false;
                sink_service(s, now, false);
        }
        while (list) {
                LogSink *s = list;

                list = s->qnext;
                sink_process(s, now);
        }
        if (now >= W.deadline || stop)
                writer_service_due(now, stop);
}

static void *writer_main(void *userdata) {
        (void) userdata;
        pthread_mutex_lock(&W.lock);
        for (;;) {
                LogSink *list, *done;
                bool reopen, stop;
                usec_t now = clock_mono_usec();

                if (!W.queue && !W.done && !W.reopen && !W.stop && now < W.deadline) {
                        writer_wait();
                        continue;
                }
                list = W.queue;
                W.queue = W.queue_tail = NULL;
                done = W.done;
                W.done = NULL;
                reopen = W.reopen;
                W.reopen = false;
                stop = W.stop;
                pthread_mutex_unlock(&W.lock);

                writer_round(list, done, reopen, stop, now);
                pthread_mutex_lock(&W.lock);
                if (stop && !W.queue && !W.done)
                        break;
        }
        pthread_mutex_unlock(&W.lock);
        return NULL;
}

/* ---- the loop's side ------------------------------------------------------------------------ */

int writer_start(sd_event *e, inbox_report_t report) {
        pthread_condattr_t ca;
        sigset_t all, old;
        int r;

        if (W.running)
                return 0;
        r = inbox_start(e, report, on_inbox);
        if (r < 0)
                return r;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&W.cond, &ca);
        pthread_condattr_destroy(&ca);
        W.deadline = USEC_INFINITY;
        W.stop = false;

        /* signals are read by the loop's signalfd: the threads must never take one */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        r = -pthread_create(&W.thread, NULL, writer_main, NULL);
        if (r == 0) {
                r = archive_start(on_compressed);
                if (r < 0) {
                        pthread_mutex_lock(&W.lock);
                        W.stop = true;
                        pthread_cond_signal(&W.cond);
                        pthread_mutex_unlock(&W.lock);
                        pthread_join(W.thread, NULL);
                }
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return r;
        (void) pthread_setname_np(W.thread, "upkeepd-writer");
        W.running = true;
        return 0;
}

bool writer_running(void) {
        return W.running;
}

void writer_stop(usec_t timeout) {
        struct timespec ts;
        int r;

        if (!W.running)
                return;
        archive_stop();

        pthread_mutex_lock(&W.lock);
        W.stop = true;
        pthread_cond_signal(&W.cond);
        pthread_mutex_unlock(&W.lock);
        ts = usec_to_timespec(clock_real_usec() + timeout);
        r = pthread_timedjoin_np(W.thread, NULL, &ts);
        W.running = false; /* from now on commits are written synchronously */
        if (r != 0) {
                /* stuck in a write to a hung file system: leave it, the process ends anyway */
                inbox_report(LOG_ERR, "log writer did not finish within the stop timeout, "
                             "some output is lost");
                W.running = true; /* so nothing frees what it may still touch */
                return;
        }
        inbox_process();
        inbox_stop();
}

void writer_reopen_all(void) {
        if (!W.running)
                return;
        pthread_mutex_lock(&W.lock);
        W.reopen = true;
        pthread_cond_signal(&W.cond);
        pthread_mutex_unlock(&W.lock);
}

static void sink_free(LogSink *s) {
        if (!s)
                return;
        if (s->all_next)
                s->all_next->all_pprev = s->all_pprev;
        *s->all_pprev = s->all_next;
        if (s->fd >= 0)
                close(s->fd);
        if (s->dfd >= 0)
                close(s->dfd);
        pthread_mutex_destroy(&s->lock);
        ring_done(&s->ring);
        free(s->path);
        free(s->dir);
        free(s->base);
        free(s->label);
        free(s);
}

void writer_free_all(void) {
        if (W.running)
                return;
        while (all_sinks)
                sink_free(all_sinks);
        inbox_close();
}

int sink_new(const char *path, int fd, const char *label, size_t buffer_size,
             const SinkSettings *st, LogSink **ret) {
        return sink_new_at(path, false, -1, fd, label, buffer_size, st, ret);
}

/* dir and base of the sink's path: every later open, rename and unlink is relative to dir. */
static int sink_set_path(LogSink *s, const char *path) {
        const char *slash = strrchr(path, '/');

        s->path = strdup(path);
        s->dir = slash ? strndup(path, (size_t) (slash - path) ?: 1) : strdup(".");
        s->base = strdup(slash ? slash + 1 : path);
        return s->path && s->dir && s->base ? 0 : -ENOMEM;
}

static void sink_link(LogSink *s) {
        s->all_next = all_sinks;
        if (all_sinks)
                all_sinks->all_pprev = &s->all_next;
        s->all_pprev = &all_sinks;
        all_sinks = s;
}

int sink_new_at(const char *path, bool own_dir, int dfd, int fd, const char *label,
                size_t buffer_size, const SinkSettings *st, LogSink **ret) {
        LogSink *s = calloc(1, sizeof(LogSink));
        int r;

        if (!s) {
                close(fd);
                if (dfd >= 0)
                        close(dfd);
                return -ENOMEM;
        }
        s->fd = fd;
        s->dfd = dfd;
        s->own_dir = own_dir;
        r = ring_init(&s->ring, buffer_size);
        s->label = strdup(label);
        s->settings = s->w = *st;
        s->next_rotation = USEC_INFINITY;
        pthread_mutex_init(&s->lock, NULL);
        sink_link(s);
        if ((path && sink_set_path(s, path) < 0) || r < 0 || !s->label) {
                sink_free(s);
                return -ENOMEM;
        }
        if (W.running)
                sink_kick(s, REQ_ADD);
        *ret = s;
        return 0;
}

void sink_set_settings(LogSink *s, const SinkSettings *st) {
        pthread_mutex_lock(&s->lock);
        s->settings = *st;
        pthread_mutex_unlock(&s->lock);
        if (W.running)
                sink_kick(s, REQ_SETTINGS);
}

void sink_verify(LogSink *s) {
        if (W.running && s->path)
                sink_kick(s, REQ_VERIFY);
}

void sink_set_space_callback(LogSink *s, void (*cb)(void *userdata), void *userdata) {
        s->space_cb = cb;
        s->space_userdata = userdata;
}

size_t sink_free_space(LogSink *s) {
        return ring_free_space(&s->ring);
}

size_t sink_capacity(const LogSink *s) {
        return s->ring.cap;
}

LineOut sink_reserve(LogSink *s) {
        return ring_reserve(&s->ring);
}

void sink_commit(LogSink *s, size_t n) {
        if (n == 0)
                return;
        ring_commit(&s->ring, n);
        if (W.running)
                sink_kick(s, 0);
        else if (s->fd >= 0) {
                /* before the threads start or after they stop: write now */
                sink_write_sync(s, NULL, 0);
        }
}

bool sink_want_space(LogSink *s) {
        if (ring_want_space(&s->ring))
                return true;
        if (W.running)
                sink_kick(s, 0);
        return false;
}

bool sink_wait_space(LogSink *s, size_t want, usec_t deadline) {
        want = MIN(want, s->ring.cap);
        while (sink_free_space(s) < want) {
                if (!W.running || clock_mono_usec() >= deadline)
                        return false;
                sink_kick(s, 0);
                usleep(1000);
        }
        return true;
}

void sink_close(LogSink *s) {
        if (!s || s->close_requested)
                return;
        s->close_requested = true;
        s->space_cb = NULL;
        if (W.running)
                sink_kick(s, REQ_CLOSE);
        else
                sink_free(s);
}

/* Write the ring's content (and p) straight to the file, when no writer thread runs. */
void sink_write_sync(LogSink *s, const char *p, size_t n) {
        uint64_t head, tail;
        struct iovec iov[2];
        int niov;

        if (W.running || s->fd < 0)
                return;
        head = atomic_load(&s->ring.head);
        tail = atomic_load(&s->ring.tail);
        niov = ring_span(&s->ring, head, (size_t) (tail - head), iov);
        for (int k = 0; k < niov && iov[k].iov_len > 0; k++)
                if (logfile_write_full(s->fd, iov[k].iov_base, iov[k].iov_len) < 0)
                        break;
        atomic_store(&s->ring.head, tail);
        if (n > 0)
                (void) logfile_write_full(s->fd, p, n);
}

const char *sink_path(const LogSink *s) {
        return s->path;
}

uint64_t sink_bytes_written(const LogSink *s) {
        return atomic_load_explicit(&s->bytes_written, memory_order_relaxed);
}

uint64_t sink_write_errors(const LogSink *s) {
        return atomic_load_explicit(&s->write_errors, memory_order_relaxed);
}

bool sink_failing(const LogSink *s) {
        return atomic_load(&s->failing_pub);
}
