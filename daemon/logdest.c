/*
 * The writer thread's work on one destination (see logdest.h): open its file, write what its ring
 * holds, rotate, retry a failing file, wait for an unread stdout.  Everything here runs on the
 * writer thread, except dest_post() which any thread may call.
 *
 *   - a failing file (ENOSPC, EFBIG, EACCES...) is retried with a bounded backoff; its data
 *     stays in the ring meanwhile, so the loop either stops reading the pipe or drops and
 *     counts, depending on the worker's overflow policy (output.c).
 *   - the ring holds whole lines only (logline.c), so the writer can rotate between any two
 *     writes and cut a write at a line end (rotate_cut) to honour max-size.
 *   - rotation never copies: rename the archives up, rename the file to .1, open a new file,
 *     close the old one.  A size rotation waits while the previous archive is still being
 *     compressed (the worker's ring fills meanwhile: backpressure, not loss).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
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
#include "logdest.h"
#include "parse.h"
#include "rotate.h"

#define RETRY_MIN (250 * USEC_PER_MSEC)
#define RETRY_MAX (5 * USEC_PER_SEC)
/* stdout not read (EAGAIN): polled from STALL_MIN, doubling up to STALL_MAX; no error, but a
 * warning once it lasted RETRY_MAX */
#define STALL_MIN (5 * USEC_PER_MSEC)
#define STALL_MAX (100 * USEC_PER_MSEC)

static LogDest *active;           /* the destinations the writer serves */
static usec_t deadline = USEC_INFINITY; /* next retry or time rotation, CLOCK_MONOTONIC */

usec_t dests_deadline(void) {
        return deadline;
}

static long local_gmtoff(usec_t real) {
        time_t t = (time_t) (real / USEC_PER_SEC);
        struct tm tm;

        return localtime_r(&t, &tm) ? tm.tm_gmtoff : 0;
}

void dest_post(int level, const LogDest *s, const char *event, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        inbox_postv(level, strcmp(s->label, "upkeepd") ? s->label : NULL, event,
                    s->path ?: "-", fmt, ap);
        va_end(ap);
}

static void note_deadline(usec_t t) {
        if (t < deadline)
                deadline = t;
}

static void schedule_time_rotation(LogDest *s, usec_t from) {
        s->next_rotation = s->path && s->w.rotate_every > 0
                                   ? rotate_next_boundary(from, local_gmtoff(from),
                                                          s->w.rotate_every)
                                   : USEC_INFINITY;
}

/* Size and age of a file just opened; a file left from before counts from its last write. */
static void adopt_fd(LogDest *s, int fd) {
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

/* The destination's directory (opened when first needed: upkeepd's own log-file comes
 * without it). */
static int dest_dir(LogDest *s) {
        return s->dfd >= 0 ? 0 : logfile_open_dir(s->dir, s->own_dir, &s->dfd);
}

/* The file at the destination's path, opened again from its directory on (made again if it
 * is gone). */
static int dest_open(LogDest *s) {
        int dfd = -1, fd = logfile_open(s->dir, s->base, s->own_dir, &dfd);

        if (fd < 0)
                return fd;
        if (s->dfd >= 0)
                close(s->dfd);
        s->dfd = dfd;
        adopt_fd(s, fd);
        return 0;
}

static void dest_fail(LogDest *s, int err, const char *what) {
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
                dest_post(LOG_WARNING, s, "log-write-error",
                          "cannot %s %s: %s; holding output, retrying every %s at most", what,
                          s->path ?: "stdout", logfile_strerror(err),
                          format_duration(buf, sizeof buf, RETRY_MAX));
        } else
                s->retry_delay = MIN(s->retry_delay * 2, RETRY_MAX);
        s->fail_count++;
        s->retry_at = now + s->retry_delay;
        note_deadline(s->retry_at);
}

static void dest_recovered(LogDest *s) {
        char buf[32];

        s->failing = false;
        atomic_store(&s->failing_pub, false);
        dest_post(LOG_NOTICE, s, "log-write-resumed",
                  "writing %s again after %u failed attempts over %s", s->path ?: "stdout",
                  s->fail_count,
                  format_duration(buf, sizeof buf, clock_mono_usec() - s->fail_since));
}

/* Writer: hand archive 1 to the compression thread. */
static void queue_compress(LogDest *s) {
        if (archive_compress(s->dfd, s->base, s) < 0) {
                dest_post(LOG_WARNING, s, "log-compress-error",
                          "out of memory, leaving %s.1 uncompressed", s->path);
                return;
        }
        s->compressing = true;
}

static int dest_rotate(LogDest *s) {
        int fd, r;

        r = dest_dir(s);
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
        dest_post(LOG_DEBUG, s, "log-rotated", "rotated %s", s->path);
        return 0;
}

/*
 * A write would block: upkeepd's stdout is not being read (only stdout is non-blocking; see
 * output.c).  Nothing is lost or counted as an error, the data waits in the ring; the writer
 * polls the descriptor with a short backoff instead of waiting in write(2), so every other file
 * keeps being written.  Said once when it lasts.
 */
static void dest_stall(LogDest *s) {
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
                dest_post(LOG_WARNING, s, "log-write-stalled",
                          "%s is not being read for %s, holding output", s->path ?: "stdout",
                          format_duration(buf, sizeof buf, now - s->stall_since));
        }
        s->retry_at = now + s->stall_delay;
        note_deadline(s->retry_at);
}

static void dest_unstalled(LogDest *s) {
        char buf[32];

        s->stalled = false;
        if (s->stall_warned)
                dest_post(LOG_NOTICE, s, "log-write-resumed", "%s is read again after %s",
                          s->path ?: "stdout",
                          format_duration(buf, sizeof buf, clock_mono_usec() - s->stall_since));
        s->stall_warned = false;
}

static void maybe_signal_space(LogDest *s) {
        if (ring_room_back(&s->ring))
                inbox_push(&s->inbox, INBOX_SPACE);
}

static bool time_rotation_due(LogDest *s) {
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
static bool rotation_due(LogDest *s) {
        return s->path && !s->closing && !s->compressing &&
               ((s->force_rotate && s->size > 0) || time_rotation_due(s));
}

/* How many of the `pending` bytes at head go into the file before max-size calls for a
 * rotation (*rot). */
static size_t dest_cut(LogDest *s, uint64_t head, size_t pending, bool *rot) {
        struct iovec iov[2];

        (void) ring_span(&s->ring, head, pending, iov);
        /* a closing destination still rotates, unless that would mean waiting for an archive being
         * compressed: then its last lines go over the limit */
        return rotate_cut(iov[0].iov_base, iov[0].iov_len, iov[1].iov_base, iov[1].iov_len,
                          s->size, s->path && !(s->closing && s->compressing) ? s->w.max_size : 0,
                          rot);
}

/* One write of n bytes from the ring at head (they may wrap around its end). */
static ssize_t dest_writev(LogDest *s, uint64_t head, size_t n) {
        struct iovec iov[2];
        int niov = ring_span(&s->ring, head, n, iov);

        if (s->is_socket) /* upkeepd's stdout, shared: no O_NONBLOCK on it */
                return sendmsg(s->fd, &(struct msghdr) { .msg_iov = iov, .msg_iovlen = niov },
                               MSG_DONTWAIT | MSG_NOSIGNAL);
        return writev(s->fd, iov, niov);
}

static void dest_wrote(LogDest *s, uint64_t head, size_t k) {
        ring_consumed(&s->ring, head, k);
        s->size += (uint64_t) k;
        atomic_fetch_add_explicit(&s->bytes_written, (uint64_t) k, memory_order_relaxed);
        if (s->failing)
                dest_recovered(s);
        if (s->stalled)
                dest_unstalled(s);
        maybe_signal_space(s);
}

/* One line of the ring at pos..pos+len (it may wrap around the end), to the scanner: only its
 * first APPERR_LINE_MAX bytes are looked at, so a line that wraps is copied that far. */
static AppErrorKind scan_line(LogDest *s, uint64_t pos, size_t len) {
        static char wrapped[APPERR_LINE_MAX + 256];
        struct iovec iov[2];
        size_t n = MIN(len, sizeof wrapped), first;

        if (ring_span(&s->ring, pos, n, iov) == 1)
                return errscan_line(s->scan, iov[0].iov_base, n, s->errors);
        first = iov[0].iov_len;
        memcpy(wrapped, iov[0].iov_base, first);
        memcpy(wrapped + first, iov[1].iov_base, n - first);
        return errscan_line(s->scan, wrapped, n, s->errors);
}

/*
 * A scanner the loop handed over.  Taken at every scan, after the ring was read, rather than
 * with the other settings: the loop sets it before the process that writes the lines exists,
 * but the writer may be busy with the destination (its requests already taken) when they
 * arrive, and must not scan them without it.
 */
static void dest_take_scan(LogDest *s) {
        ErrScan *old = NULL;

        pthread_mutex_lock(&s->lock);
        if (s->scan_changed) {
                old = s->scan;
                s->scan = TAKE_PTR(s->next_scan);
                s->scan_changed = false;
        }
        pthread_mutex_unlock(&s->lock);
        errscan_free(old);
}

/*
 * The lines the ring holds from head (pending bytes, as ring_pending() said) not scanned yet,
 * before they are written: the ring holds whole lines only.  Called with what is about to be
 * written, so nothing committed in between is written unscanned.  The loop is told once per
 * batch that found something, and not again until it looked.
 */
static void dest_scan(LogDest *s, uint64_t head, size_t pending) {
        uint64_t end = head + pending;
        bool found = false;

        /* after the ring was read: a scanner handed over before lines were committed is seen
         * once they are (the loop set it, then spawned the process, then committed its lines) */
        dest_take_scan(s);
        if (!s->scan) {
                s->scan_pos = end;
                return;
        }
        s->scan_pos = MAX(s->scan_pos, head);
        while (s->scan_pos < end) {
                struct iovec iov[2];
                int n = ring_span(&s->ring, s->scan_pos, (size_t) (end - s->scan_pos), iov);
                const char *nl = memrchr(iov[0].iov_base, '\n', iov[0].iov_len);
                size_t len;

                if (nl) {
                        /* the whole lines before the end of the buffer, in one go */
                        len = (size_t) (nl - (const char *) iov[0].iov_base) + 1;
                        found |= errscan_span(s->scan, iov[0].iov_base, len, s->errors);
                        s->scan_pos += len;
                        continue;
                }
                if (n == 2 && (nl = memchr(iov[1].iov_base, '\n', iov[1].iov_len)))
                        len = iov[0].iov_len + (size_t) (nl - (const char *) iov[1].iov_base);
                else
                        break; /* cannot happen: whole lines only */
                found |= scan_line(s, s->scan_pos, len) != APPERR_NONE;
                s->scan_pos += len + 1;
        }
        if (found && !atomic_exchange(&s->errors->posted, true))
                inbox_push(&s->inbox, INBOX_ERRORS);
}

/*
 * Write what the ring holds, opening and rotating the file as needed, until it is empty, the
 * file fails (retried later), stdout is not read, or a rotation waits for the compression.
 */
static void dest_drain(LogDest *s) {
        for (;;) {
                uint64_t head;
                size_t pending = ring_pending(&s->ring, &head), n = 0;
                bool due = rotation_due(s), rot = false;
                ssize_t k;
                int r;

                dest_scan(s, head, pending);
                if (pending == 0 && !due)
                        break;
                if (s->fd < 0) {
                        r = s->path ? dest_open(s) : -EBADF;
                        if (r < 0) {
                                dest_fail(s, -r, "open");
                                return;
                        }
                        continue;
                }
                if (!due) {
                        s->force_rotate = false;
                        n = dest_cut(s, head, pending, &rot);
                        if (rot && s->compressing)
                                return; /* resumed when the compression job comes back */
                }
                if (due || rot) {
                        r = dest_rotate(s);
                        if (r < 0) {
                                dest_fail(s, -r, "rotate");
                                return;
                        }
                        continue;
                }
                k = dest_writev(s, head, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN) {
                        dest_stall(s);
                        return;
                }
                if (k <= 0) {
                        dest_fail(s, k < 0 ? errno : EIO, "write to");
                        return;
                }
                dest_wrote(s, head, (size_t) k);
        }
        maybe_signal_space(s);
}

/* A new destination is served from now on; an archive a previous run left uncompressed is
 * queued. */
static void dest_activate(LogDest *s) {
        s->anext = active;
        if (active)
                active->apprev = &s->anext;
        s->apprev = &active;
        active = s;
        s->active = true;
        if (s->fd >= 0)
                adopt_fd(s, s->fd);
        if (s->path && s->w.compress && s->w.keep > 0 && dest_dir(s) == 0 &&
            archive_uncompressed(s->dfd, s->base))
                queue_compress(s);
}

static void dest_deactivate(LogDest *s) {
        if (!s->active)
                return;
        if (s->anext)
                s->anext->apprev = s->apprev;
        *s->apprev = s->anext;
        s->active = false;
}

static void dest_reopen(LogDest *s) {
        int r;

        if (!s->path)
                return;
        if (s->fd >= 0)
                close(s->fd);
        s->fd = -1;
        r = dest_open(s);
        if (r < 0) {
                dest_fail(s, -r, "reopen");
                return;
        }
        if (s->failing) {
                /* write now, not at the next retry */
                s->retry_at = 0;
                note_deadline(0);
        }
}

/*
 * A new instance is about to write into this destination (a restart): if the file at the path is no
 * longer the one open (deleted with its directory, renamed away), open it again now, so the
 * restarted worker's lines land where the administrator looks.
 */
static void dest_check_path(LogDest *s) {
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
        dest_reopen(s);
}

/* Drain (unless waiting for a retry), and finish a closing destination once it is empty. */
void dest_service(LogDest *s, usec_t now, bool final) {
        uint64_t head;
        size_t pending = ring_pending(&s->ring, &head);

        dest_scan(s, head, pending); /* also while the file cannot be written */
        if (!(s->failing || s->stalled) || now >= s->retry_at || final)
                dest_drain(s);
        if (s->closing && !final && !s->compressing && ring_empty(&s->ring)) {
                dest_deactivate(s);
                if (s->fd >= 0)
                        close(s->fd);
                s->fd = -1;
                if (s->dfd >= 0)
                        close(s->dfd);
                s->dfd = -1;
                inbox_push(&s->inbox, INBOX_CLOSED); /* the loop frees it: do not touch it again */
        }
}

/* A destination taken off the queue: apply its requests, then service it. */
void dest_process(LogDest *s, usec_t now) {
        unsigned req;

        atomic_store(&s->queued, false);
        req = atomic_exchange(&s->req, 0);
        if (req & REQ_ADD)
                dest_activate(s);
        if (req & REQ_SETTINGS) {
                pthread_mutex_lock(&s->lock);
                s->w = s->settings;
                pthread_mutex_unlock(&s->lock);
                if (s->fd >= 0)
                        schedule_time_rotation(s, clock_real_usec());
        }
        if (req & REQ_VERIFY)
                dest_check_path(s);
        if (req & REQ_CLOSE)
                s->closing = true;
        dest_service(s, now, false);
}

void dest_compressed(LogDest *s, usec_t now) {
        s->compressing = false;
        dest_service(s, now, false);
}

void dests_reopen(void) {
        for (LogDest *s = active; s; s = s->anext)
                dest_reopen(s);
}

/* Retries and time rotations that are due (every destination's last chance at stop), and the next
 * deadline. */
void dests_service_due(usec_t now, bool stop) {
        deadline = USEC_INFINITY;
        for (LogDest *s = active, *next; s; s = next) {
                next = s->anext;
                if ((s->failing || s->stalled) && s->retry_at > now && !stop)
                        note_deadline(s->retry_at);
                else
                        dest_service(s, now, stop);
        }
}
