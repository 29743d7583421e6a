/*
 * The log writer thread, its queue, and the loop's side of a destination (see logwriter.h).  The
 * writer's work on one destination is logdest.c, a destination's ring logring.c; files are opened
 * by logfile.c, rotated and compressed by logarchive.c, and what the threads hand back to the loop
 * goes through loginbox.c.
 *
 * Ownership and invariants:
 *   - the loop is the only producer of a destination's ring, the writer the only consumer
 *     (logring.h).
 *   - only the loop queues a destination (dest_kick), and never after dest_close(); the compression
 *     thread only reads and writes files and hands the destination of a finished job back on
 *     W.done, never touching it otherwise (a destination has one compression job at most:
 *     `compressing`).
 *   - the loop learns about free space, closed destinations and messages through the inbox
 *     (loginbox.c); a destination is freed on the loop only after the writer said it is done with
 *     it (closed, with no compression job and no queue entry left).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "logarchive.h"
#include "logfile.h"
#include "loginbox.h"
#include "logring.h"
#include "logdest.h"
#include "logwriter.h"

static struct {
        pthread_t thread;
        bool running;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        LogDest *queue, *queue_tail;
        LogDest *done;            /* their compression job finished */
        bool reopen, stop;
} W = { .lock = PTHREAD_MUTEX_INITIALIZER };

static LogDest *all_dests;        /* loop */

/* ---- the way back to the loop ------------------------------------------------------------ */

static void dest_free(LogDest *s);

/* On the loop: wake a stalled producer, free a closed destination. */
static void on_inbox(InboxEntry *e, unsigned flags) {
        LogDest *s = (LogDest *) ((char *) e - offsetof(LogDest, inbox));

        if ((flags & INBOX_ERRORS) && s->errors_cb)
                s->errors_cb(s->errors_userdata);
        if (flags & INBOX_CLOSED)
                dest_free(s);
        else if ((flags & INBOX_SPACE) && s->space_cb)
                s->space_cb(s->space_userdata);
}

/* ---- queueing work for the writer --------------------------------------------------------- */

static void dest_kick(LogDest *s, unsigned req) {
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

/* ---- the writer thread ------------------------------------------------------------------ */

/* On the compression thread: back to the writer, which alone may touch the destination. */
static void on_compressed(void *userdata, const char *name, int r) {
        LogDest *s = userdata;

        if (r < 0 && r != -ECANCELED)
                dest_post(LOG_WARNING, s, "log-compress-error",
                          "cannot compress %s: %s, leaving it uncompressed", name, strerror(-r));
        pthread_mutex_lock(&W.lock);
        s->dnext = W.done;
        W.done = s;
        pthread_cond_signal(&W.cond);
        pthread_mutex_unlock(&W.lock);
}

/* With W.lock held: sleep until woken or until the deadline. */
static void writer_wait(void) {
        usec_t deadline = dests_deadline();
        struct timespec ts = usec_to_timespec(deadline);

        if (deadline == USEC_INFINITY)
                pthread_cond_wait(&W.cond, &W.lock);
        else
                pthread_cond_timedwait(&W.cond, &W.lock, &ts);
}

/* One round of work taken from W, without the lock. */
static void writer_round(LogDest *list, LogDest *done, bool reopen, bool stop, usec_t now) {
        if (reopen)
                dests_reopen();
        while (done) {
                LogDest *s = done;

                done = s->dnext;
                dest_compressed(s, now);
        }
        while (list) {
                LogDest *s = list;

                list = s->qnext;
                dest_process(s, now);
        }
        if (now >= dests_deadline() || stop)
                dests_service_due(now, stop);
}

static void *writer_main(void *userdata) {
        (void) userdata;
        pthread_mutex_lock(&W.lock);
        for (;;) {
                LogDest *list, *done;
                bool reopen, stop;
                usec_t now = clock_mono_usec();

                if (!W.queue && !W.done && !W.reopen && !W.stop && now < dests_deadline()) {
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

static void dest_free(LogDest *s) {
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
        if (s->errors) {
                pthread_mutex_destroy(&s->errors->lock);
                free(s->errors);
        }
        errscan_free(s->scan);
        errscan_free(s->next_scan);
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
        while (all_dests)
                dest_free(all_dests);
        inbox_close();
}

int dest_new(const char *path, int fd, const char *label, const LogConfig *log,
             LogDest **ret) {
        return dest_new_at(path, false, -1, fd, label, log, ret);
}

/* dir and base of the destination's path: every later open, rename and unlink is relative to
 * dir. */
static int dest_set_path(LogDest *s, const char *path) {
        const char *slash = strrchr(path, '/');

        s->path = strdup(path);
        s->dir = slash ? strndup(path, (size_t) (slash - path) ?: 1) : strdup(".");
        s->base = strdup(slash ? slash + 1 : path);
        return s->path && s->dir && s->base ? 0 : -ENOMEM;
}

static void dest_link(LogDest *s) {
        s->all_next = all_dests;
        if (all_dests)
                all_dests->all_pprev = &s->all_next;
        s->all_pprev = &all_dests;
        all_dests = s;
}

int dest_new_at(const char *path, bool own_dir, int dfd, int fd, const char *label,
                const LogConfig *log, LogDest **ret) {
        LogDest *s = calloc(1, sizeof(LogDest));
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
        r = ring_init(&s->ring, (size_t) log->buffer_size);
        s->label = strdup(label);
        s->settings = s->w = *log;
        s->next_rotation = USEC_INFINITY;
        pthread_mutex_init(&s->lock, NULL);
        dest_link(s);
        if ((path && dest_set_path(s, path) < 0) || r < 0 || !s->label) {
                dest_free(s);
                return -ENOMEM;
        }
        if (W.running)
                dest_kick(s, REQ_ADD);
        *ret = s;
        return 0;
}

void dest_set_settings(LogDest *s, const LogConfig *log) {
        pthread_mutex_lock(&s->lock);
        s->settings = *log;
        pthread_mutex_unlock(&s->lock);
        if (W.running)
                dest_kick(s, REQ_SETTINGS);
}

void dest_set_errors(LogDest *s, ErrScan *scan) {
        ErrScan *old;

        /* before the writer can see the scanner (under the lock below), never freed before s */
        if (scan && !s->errors) {
                s->errors = calloc(1, sizeof(ErrScanResults));
                if (!s->errors)
                        scan = errscan_free(scan);
                else
                        pthread_mutex_init(&s->errors->lock, NULL);
        }
        pthread_mutex_lock(&s->lock);
        old = s->next_scan;
        s->next_scan = scan;
        s->scan_changed = true;
        pthread_mutex_unlock(&s->lock);
        errscan_free(old);
        if (W.running)
                dest_kick(s, REQ_SETTINGS);
        else {
                /* no writer yet (or any more): nothing scans meanwhile */
                errscan_free(s->scan);
                s->scan = TAKE_PTR(s->next_scan);
                s->scan_changed = false;
        }
}

void dest_set_errors_callback(LogDest *s, void (*cb)(void *userdata), void *userdata) {
        s->errors_cb = cb;
        s->errors_userdata = userdata;
}

ErrScanResults *dest_errors(LogDest *s) {
        return s->errors;
}

void dest_verify(LogDest *s) {
        if (W.running && s->path)
                dest_kick(s, REQ_VERIFY);
}

void dest_set_space_callback(LogDest *s, void (*cb)(void *userdata), void *userdata) {
        s->space_cb = cb;
        s->space_userdata = userdata;
}

size_t dest_free_space(LogDest *s) {
        return ring_free_space(&s->ring);
}

size_t dest_capacity(const LogDest *s) {
        return s->ring.cap;
}

LineOut dest_reserve(LogDest *s) {
        return ring_reserve(&s->ring);
}

void dest_commit(LogDest *s, size_t n) {
        if (n == 0)
                return;
        ring_commit(&s->ring, n);
        if (W.running)
                dest_kick(s, 0);
        else if (s->fd >= 0) {
                /* before the threads start or after they stop: write now */
                dest_write_sync(s, NULL, 0);
        }
}

bool dest_want_space(LogDest *s) {
        if (ring_want_space(&s->ring))
                return true;
        if (W.running)
                dest_kick(s, 0);
        return false;
}

bool dest_wait_space(LogDest *s, size_t want, usec_t deadline) {
        want = MIN(want, s->ring.cap);
        while (dest_free_space(s) < want) {
                if (!W.running || clock_mono_usec() >= deadline)
                        return false;
                dest_kick(s, 0);
                usleep(1000);
        }
        return true;
}

void dest_close(LogDest *s) {
        if (!s || s->close_requested)
                return;
        s->close_requested = true;
        s->space_cb = NULL;
        if (W.running)
                dest_kick(s, REQ_CLOSE);
        else
                dest_free(s);
}

/* Write the ring's content (and p) straight to the file, when no writer thread runs. */
void dest_write_sync(LogDest *s, const char *p, size_t n) {
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

const char *dest_path(const LogDest *s) {
        return s->path;
}

uint64_t dest_bytes_written(const LogDest *s) {
        return atomic_load_explicit(&s->bytes_written, memory_order_relaxed);
}

uint64_t dest_write_errors(const LogDest *s) {
        return atomic_load_explicit(&s->write_errors, memory_order_relaxed);
}

bool dest_failing(const LogDest *s) {
        return atomic_load(&s->failing_pub);
}
