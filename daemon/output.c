/*
 * Worker output capture (see output.h): the loop's half.  The loop only reads pipes, frames
 * lines into the output's ring and commits; the writer thread does every file operation.
 *
 * Invariants:
 *   - a stream reads at most READ_CHUNK bytes per read(2), a bounded number of rounds per
 *     wake-up, so a chatty worker cannot starve the loop;
 *   - `pending` holds only what could not be framed yet: a partial line (at most max_line
 *     bytes), plus, when the ring was full (`backlog`), the lines that did not fit.  It is
 *     bounded by max_line + READ_CHUNK, and freed when empty;
 *   - a stream that reads half a pipe at once gets a bigger one (PIPE_BIG), once: fewer
 *     wake-ups for a chatty worker, no kernel memory for the quiet ones;
 *   - overflow = block: a stream whose lines do not fit stops reading (its IO source is off,
 *     the worker waits in write(2)) until the writer reports room; overflow = drop: whole
 *     lines are dropped and counted, reading goes on.  Each gap gets a marker in the file,
 *     where it is; upkeepd's log says when an episode starts and when it ends, the end being
 *     CALM without a dropped line and the buffer at most half full then: a flood that fills
 *     the buffer many times a second is one episode, not thousands of log lines;
 *   - an output is referenced by its instance(s) and its streams, and found by its path.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "logline.h"
#include "logfile.h"
#include "output.h"
#include "errscan.h"
#include "logwriter.h"
#include "parse.h"
#include "tailring.h"
#include "utf8.h"

#define READ_CHUNK (128 * 1024)
#define PIPE_BIG (1024 * 1024)
#define MIN_ROOM (4 * 1024)          /* below this, a blocking stream waits instead of reading */
#define ROUNDS 8
#define DRAIN_TIMEOUT (3 * USEC_PER_SEC)
#define WRITER_STOP_TIMEOUT (5 * USEC_PER_SEC)
#define HASH_SIZE 1024
#define MAX_LINE_LIMIT (1024 * 1024) /* logconf.c caps max-line at 1M */
/* overflow = drop: an episode ends only when no line was dropped for CALM and the buffer is at
 * most half full then (checked again every CALM_RECHECK otherwise) */
#define CALM USEC_PER_SEC
#define CALM_RECHECK (100 * USEC_PER_MSEC)
/* the crash context in upkeepd's log: one message, within log.c's message buffer (2048) */
#define LOG_OUTPUT_MSG_MAX 1900

typedef struct Stream Stream;

/* What the writer counted in an output (errors { }): allocated with its first scanner, as most
 * outputs never have one. */
typedef struct OutputErrors {
        uint64_t seen[_APPERR_MAX]; /* the writer's counts already passed on */
        char last[ERRSCAN_LAST_MAX];
        AppErrorKind last_kind;
} OutputErrors;

struct LogOutput {
        struct LogOutput *hnext;
        char *key;               /* the file's path, or "-" + instance name for stdout */
        LogDest *dest;
        unsigned refs;
        Stream *streams;
        uint64_t dropped;        /* bytes, since upkeepd started */
        uint64_t episode_dropped;
        uint64_t gap_dropped;    /* since the last marker in the file */
        bool dropping;
        usec_t drop_since, last_drop;
        sd_event_source *calm;   /* ends the episode once no line was dropped for CALM */
        TailRing tail;           /* the last bytes read, for crash context (tailring.c) */
        OutputErrors *errors;    /* NULL: never had a scanner */
        unsigned tail_lines;     /* log { tail }; 0: none kept */
        char name[80];
};

struct Stream {
        Stream *next, **pprev;   /* every stream */
        Stream *onext, **opprev; /* the streams of one output */
        LogOutput *out;
        int fd;
        sd_event_source *source;
        char *pending;
        size_t pending_len, pending_cap;
        bool eof, backlog, stalled, draining;
        bool is_stderr, timestamps, mark;
        int pipe_size;           /* 0: no longer tried */
        OverflowPolicy overflow;
        size_t max_line;
        char prefix[96];
        size_t prefix_len;
        OutputLineFn watch;      /* output_watch(): the lines go there too */
        void *watch_data;
};

static void tail_room(LogOutput *o);

static Stream *streams;
static sd_event *loop_event;
static output_app_errors_t app_errors_hook;
static void *app_errors_userdata;
static LogOutput *outputs[HASH_SIZE];
static char scratch[MAX_LINE_LIMIT + READ_CHUNK];
static usec_t drain_deadline;

static unsigned hash(const char *s) {
        unsigned h = 5381;

        for (; *s; s++)
                h = h * 33 + (unsigned char) *s;
        return h % HASH_SIZE;
}

/*
 * upkeepd's stdout for log-dir = "-", such that writing it never blocks the writer thread
 * (which serves every file): a pipe, FIFO or terminal is opened again through /proc, giving a
 * descriptor of our own with O_NONBLOCK (setting it on the inherited one would change it for
 * whoever shares it, e.g. a shell); a socket (the journal's stream) is written with
 * MSG_DONTWAIT by the writer; a regular file does not block anyway.
 */
static int stdout_fd(void) {
        struct stat st;
        int fd;

        if (fstat(STDOUT_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))) {
                fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
                if (fd >= 0)
                        return fd;
        }
        fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
        return fd < 0 ? negative_errno() : fd;
}

static bool to_stdout(const OutputSpec *spec) {
        return !spec->log_file && strcmp(spec->log_dir, "-") == 0;
}

/* log-dir/<worker>/<worker>.log, or <worker>-<N>.log for a worker with several instances. */
static int output_path(const OutputSpec *spec, char *buf, size_t len) {
        int n;

        if (to_stdout(spec))
                return -ENOENT;
        if (spec->log_file) {
                _cleanup_free_ char *path = expand_instance(spec->log_file, spec->index);

                if (!path)
                        return -ENOMEM;
                n = snprintf(buf, len, "%s", path);
        } else if (spec->numbered)
                n = snprintf(buf, len, "%s/%s/%s-%u.log", spec->log_dir, spec->worker,
                             spec->worker, spec->index);
        else
                n = snprintf(buf, len, "%s/%s/%s.log", spec->log_dir, spec->worker,
                             spec->worker);
        return n < 0 || (size_t) n >= len ? -ENAMETOOLONG : 0;
}

/* ---- framing ------------------------------------------------------------------------------ */

static size_t stamp_now(char *buf) {
        usec_t now = clock_real_usec();
        time_t sec = (time_t) (now / USEC_PER_SEC);
        struct tm tm;
        size_t n;

        localtime_r(&sec, &tm);
        n = logline_timestamp(buf, &tm, (unsigned) (now % USEC_PER_SEC / USEC_PER_MSEC));
        buf[n++] = ' ';
        return n;
}

static LineFormat format_of(const Stream *st, const char *stamp, size_t stamp_len) {
        return (LineFormat) {
                .max_line = st->max_line,
                .prefix = st->prefix,
                .prefix_len = st->prefix_len,
                .stamp = st->timestamps ? stamp : NULL,
                .stamp_len = st->timestamps ? stamp_len : 0,
                .tag = st->mark ? LOGLINE_STDERR_TAG : NULL,
                .tag_len = st->mark ? strlen(LOGLINE_STDERR_TAG) : 0,
        };
}

static int on_calm(sd_event_source *src, uint64_t usec, void *userdata);

static void calm_arm(LogOutput *o, usec_t when) {
        if (!o->calm) {
                if (sd_event_add_time(loop_event, &o->calm, CLOCK_MONOTONIC, when,
                                      CALM_RECHECK, on_calm, o) >= 0)
                        (void) sd_event_source_set_description(o->calm, "output-calm");
                return;
        }
        (void) sd_event_source_set_time(o->calm, when);
        (void) sd_event_source_set_enabled(o->calm, SD_EVENT_ONESHOT);
}

/* The marker goes in the file, where the gap is, before the lines that follow it. */
static void gap_marker(LogOutput *o, const LineFormat *f) {
        char text[128];
        LineOut out;
        int n;

        n = snprintf(text, sizeof text, "[upkeep: %llu bytes of output dropped]",
                     (unsigned long long) o->gap_dropped);
        out = dest_reserve(o->dest);
        if (!logline_emit(f, text, (size_t) n, &out))
                return;
        dest_commit(o->dest, out.used);
        o->gap_dropped = 0;
        calm_arm(o, o->last_drop + CALM);
}

static void drop_episode_end(LogOutput *o) {
        char dur[32];

        log_fields(LOG_NOTICE, o->name, "output-resumed",
                   LOG_KV(LF_I("bytes_dropped", o->episode_dropped)),
                   "output buffer has room again, %llu bytes of output were dropped over %s",
                   (unsigned long long) o->episode_dropped,
                   format_duration(dur, sizeof dur, o->last_drop - o->drop_since));
        o->dropping = false;
        o->episode_dropped = 0;
}

/* The lines just framed, to the stream's watcher (a line cut at max-line comes in pieces). */
static void watch_lines(Stream *st, const char *in, size_t len) {
        while (len > 0 && st->watch) {
                const char *nl = memchr(in, '\n', len);
                size_t n = nl ? (size_t) (nl - in) : len;

                if (!st->watch(st->watch_data, in, n))
                        st->watch = NULL;
                n += nl != NULL;
                in += n;
                len -= n;
        }
}

static LineResult frame(Stream *st, const char *in, size_t len, bool eof) {
        char stamp[LOGLINE_TIMESTAMP_MAX + 1];
        size_t stamp_len = st->timestamps ? stamp_now(stamp) : 0;
        LineFormat f = format_of(st, stamp, stamp_len);
        LineResult res;
        LineOut out;

        if (st->out->gap_dropped > 0 &&
            dest_free_space(st->out->dest) > dest_capacity(st->out->dest) / 4)
                gap_marker(st->out, &f);
        out = dest_reserve(st->out->dest);
        logline_frame(&f, in, len, eof, &out, &res);
        dest_commit(st->out->dest, out.used);
        /* what went out, raw: at most the ring's size is copied, whatever the chunk */
        tail_room(st->out);
        tail_feed(&st->out->tail, in, res.consumed);
        if (st->watch)
                watch_lines(st, in, res.consumed);
        return res;
}

/* ---- streams ------------------------------------------------------------------------------- */

static int pending_set(Stream *st, const char *p, size_t n) {
        if (n > st->pending_cap || (n == 0 && st->pending_cap > 0) ||
            st->pending_cap > 4 * MAX(n, (size_t) 4096)) {
                /* exact-ish size: most streams hold a short partial line or nothing */
                size_t cap = n == 0 ? 0 : (n + 1023) & ~(size_t) 1023;
                char *b = NULL;

                if (cap > 0) {
                        b = malloc(cap);
                        if (!b)
                                return -ENOMEM;
                        memcpy(b, p, n);
                }
                free(st->pending);
                st->pending = b;
                st->pending_cap = cap;
        } else if (n > 0)
                memmove(st->pending, p, n);
        st->pending_len = n;
        return 0;
}

/* Forget the first k bytes of pending. */
static void pending_consume(Stream *st, size_t k) {
        if (k == 0)
                return;
        if (k >= st->pending_len)
                (void) pending_set(st, NULL, 0);
        else
                (void) pending_set(st, st->pending + k, st->pending_len - k);
}

static void output_unref(LogOutput *o);

static void stream_free(Stream *st) {
        if (!st)
                return;
        if (st->next)
                st->next->pprev = st->pprev;
        *st->pprev = st->next;
        if (st->onext)
                st->onext->opprev = st->opprev;
        *st->opprev = st->onext;
        sd_event_source_disable_unref(st->source);
        close(st->fd);
        free(st->pending);
        output_unref(st->out);
        free(st);
}

static void drop_bytes(Stream *st, size_t n) {
        LogOutput *o = st->out;

        if (n == 0)
                return;
        o->dropped += n;
        o->episode_dropped += n;
        o->gap_dropped += n;
        o->last_drop = clock_mono_usec();
        if (!o->dropping) {
                o->dropping = true;
                o->drop_since = o->last_drop;
                calm_arm(o, o->last_drop + CALM); /* also when the worker falls silent now */
                log_fields(LOG_WARNING, o->name, "output-dropping",
                           LOG_KV(LF_S("file", dest_path(o->dest))),
                           "output buffer full (%s), dropping output until there is room",
                           dest_failing(o->dest) ? "its file cannot be written"
                                                 : "the disk is slower than the worker");
        }
}

/*
 * The lines in `pending` do not fit.  Returns true when the caller may go on (room came back,
 * or the lines were dropped), false when the stream now waits for the writer.
 */
static bool overflow(Stream *st) {
        LogDest *dest = st->out->dest;
        const char *nl;
        size_t k;

        if (st->draining && dest_wait_space(dest, dest_capacity(dest) / 2, drain_deadline))
                return true;
        if (st->overflow == OVERFLOW_BLOCK && !st->draining) {
                st->stalled = true;
                (void) sd_event_source_set_enabled(st->source, SD_EVENT_OFF);
                if (!dest_want_space(dest))
                        return false;
                st->stalled = false;
                (void) sd_event_source_set_enabled(st->source, SD_EVENT_ON);
                return true;
        }
        /* drop whole lines, keep a partial one (it may still end well) */
        nl = st->eof ? NULL : memrchr(st->pending, '\n', st->pending_len);
        k = st->eof || !nl ? st->pending_len : (size_t) (nl - st->pending) + 1;
        drop_bytes(st, k);
        pending_consume(st, k);
        st->backlog = false;
        return true;
}

/* A read took half a pipe or more: a chatty worker.  A bigger pipe, once; failure is fine. */
static void stream_grow_pipe(Stream *st, size_t got) {
        if (st->pipe_size <= 0 || got < (size_t) st->pipe_size / 2)
                return;
        if (st->pipe_size < PIPE_BIG && fcntl(st->fd, F_SETPIPE_SZ, PIPE_BIG) >= 0)
                st->pipe_size = fcntl(st->fd, F_GETPIPE_SZ);
        else
                st->pipe_size = 0;
}

enum {
        PUMP_READ,               /* go on to read */
        PUMP_NEXT,               /* the next round */
        PUMP_WAIT,               /* the stream waits: for the pipe, or for room */
        PUMP_FREED,
};

/* The lines did not fit: the next round when the overflow policy lets the stream go on. */
static int stream_full(Stream *st) {
        st->backlog = true;
        return overflow(st) ? PUMP_NEXT : PUMP_WAIT;
}

/* What is pending after the ring was full, or at EOF: framed again before anything is read. */
static int stream_reframe(Stream *st) {
        LineResult res = frame(st, st->pending, st->pending_len, st->eof);

        pending_consume(st, res.consumed);
        if (res.full)
                return stream_full(st);
        st->backlog = false;
        if (st->eof) {
                stream_free(st);
                return PUMP_FREED;
        }
        return PUMP_READ;
}

/* How much to read after what is pending; false when a blocking stream waits for room. */
static bool stream_room(Stream *st, size_t *ret_want) {
        size_t want = MIN((size_t) READ_CHUNK, sizeof scratch - st->pending_len), room;

        if (st->overflow == OVERFLOW_BLOCK && !st->draining) {
                room = dest_free_space(st->out->dest);
                if (room < MIN_ROOM)
                        return false;
                want = MIN(want, room);
        }
        *ret_want = want;
        return true;
}

/* read(2) into scratch after what is pending; 0 for EOF, an error, or at exit an empty pipe
 * or the drain deadline; -1 with errno EINTR or EAGAIN. */
static ssize_t stream_read(Stream *st, size_t have, size_t want) {
        ssize_t n;

        if (have > 0)
                memcpy(scratch, st->pending, have);
        if (st->draining && clock_mono_usec() >= drain_deadline)
                return 0; /* a process that never stops writing: enough */
        n = read(st->fd, scratch + have, want);
        if (n < 0 && errno == EAGAIN && st->draining)
                return 0; /* at exit, an empty pipe is as good as closed */
        return n;
}

/* Frame scratch (what was pending, then n new bytes); keep the partial line for later. */
static int stream_took(Stream *st, size_t have, size_t n) {
        LineResult res = frame(st, scratch, have + n, false);

        if (pending_set(st, scratch + res.consumed, have + n - res.consumed) < 0) {
                drop_bytes(st, have + n - res.consumed);
                st->pending_len = 0;
        }
        return res.full ? stream_full(st) : PUMP_READ;
}

/*
 * Read and frame until the pipe is empty, the stream must wait, or ROUNDS reads were done.
 * Returns false when the stream was freed (EOF and everything written out).
 */
static bool stream_pump(Stream *st) {
        for (int round = 0; st->draining || round < ROUNDS; round++) {
                size_t have, want = 0;
                ssize_t n;
                int r;

                r = st->backlog || st->eof ? stream_reframe(st) : PUMP_READ;
                if (r == PUMP_READ && !stream_room(st, &want))
                        r = stream_full(st); /* nothing new: just wait for room */
                if (r == PUMP_NEXT)
                        continue;
                if (r != PUMP_READ)
                        return r != PUMP_FREED;

                have = st->pending_len;
                n = stream_read(st, have, want);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return true;
                if (n <= 0) {
                        st->eof = true; /* EOF, or an error: the stream is over either way */
                        continue;
                }
                stream_grow_pipe(st, (size_t) n);
                r = stream_took(st, have, (size_t) n);
                if (r == PUMP_NEXT)
                        continue;
                if (r == PUMP_WAIT)
                        return true;
                if ((size_t) n < want && !st->draining)
                        return true; /* the pipe is empty: save a read that would say so */
        }
        return true;
}

static int on_stream(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        (void) src, (void) fd, (void) revents;
        (void) stream_pump(userdata);
        return 0;
}

/* The writer made room: let the output's stalled streams go on. */
static void on_space(void *userdata) {
        LogOutput *o = userdata;

        /* the output stays alive meanwhile: the instance (or another stream) holds it, or the
         * stream being pumped does until it is freed as the last thing it does */
        for (Stream *st = o->streams, *next; st; st = next) {
                next = st->onext;
                if (!st->stalled)
                        continue;
                st->stalled = false;
                (void) sd_event_source_set_enabled(st->source, SD_EVENT_ON);
                (void) stream_pump(st); /* may free st, never another stream */
        }
}

/*
 * overflow = drop: CALM after the last marker.  The episode ends when no line was dropped since
 * CALM and the buffer is at most half full; a gap still without its marker (the worker fell
 * silent right after it) gets it now, in its first stream's format.
 */
static int on_calm(sd_event_source *src, uint64_t usec, void *userdata) {
        LogOutput *o = userdata;
        usec_t now = clock_mono_usec();

        (void) src, (void) usec;
        if (!o->dropping)
                return 0;
        if (o->gap_dropped > 0 && o->streams &&
            dest_free_space(o->dest) > dest_capacity(o->dest) / 4) {
                char stamp[LOGLINE_TIMESTAMP_MAX + 1];
                size_t stamp_len = o->streams->timestamps ? stamp_now(stamp) : 0;
                LineFormat f = format_of(o->streams, stamp, stamp_len);

                gap_marker(o, &f);
        }
        if (o->gap_dropped == 0 && now >= o->last_drop + CALM &&
            dest_free_space(o->dest) >= dest_capacity(o->dest) / 2)
                drop_episode_end(o);
        else
                calm_arm(o, MAX(o->last_drop + CALM, now + CALM_RECHECK));
        return 0;
}

/* ---- outputs -------------------------------------------------------------------------------- */

static LogOutput *output_find(const char *key) {
        for (LogOutput *o = outputs[hash(key)]; o; o = o->hnext)
                if (strcmp(o->key, key) == 0)
                        return o;
        return NULL;
}

static void output_unref(LogOutput *o) {
        LogOutput **p;

        if (!o || --o->refs > 0)
                return;
        for (p = &outputs[hash(o->key)]; *p && *p != o; p = &(*p)->hnext)
                ;
        if (*p)
                *p = o->hnext;
        if (o->dropping)
                log_fields(LOG_NOTICE, o->name, "output-resumed",
                           LOG_KV(LF_I("bytes_dropped", o->episode_dropped)),
                           "output closed, %llu bytes of it were dropped",
                           (unsigned long long) o->episode_dropped);
        o->calm = sd_event_source_disable_unref(o->calm);
        free(o->tail.buf);
        free(o->errors);
        dest_close(o->dest);
        free(o->key);
        free(o);
}

/*
 * The crash context ring: CFG_TAIL_BYTES while tail is on, allocated at the first bytes the
 * worker writes (a worker that never writes costs nothing), nothing while it is off (a reload
 * may turn it on or off; what was kept is then lost).
 */
static int output_set_tail(LogOutput *o, unsigned lines) {
        o->tail_lines = lines;
        if (lines == 0 && o->tail.buf) {
                free(o->tail.buf);
                tail_init(&o->tail, NULL, 0);
        }
        return 0;
}

static void tail_room(LogOutput *o) {
        char *buf;

        if (o->tail.buf || o->tail_lines == 0)
                return;
        buf = malloc(CFG_TAIL_BYTES);
        if (buf) /* no room: no crash context, that is all */
                tail_init(&o->tail, buf, CFG_TAIL_BYTES);
}

/* On the loop, once per batch the writer found application errors in: pass the new ones on. */
static void on_app_errors(void *userdata) {
        LogOutput *o = userdata;
        ErrScanResults *res = dest_errors(o->dest);
        OutputErrors *e = o->errors;
        unsigned n[_APPERR_MAX] = {};
        bool any = false;

        if (!res || !e)
                return;
        /* first: what the writer counts from now on wakes the loop again */
        atomic_store(&res->posted, false);
        for (int k = 0; k < _APPERR_MAX; k++) {
                uint64_t c = atomic_load(&res->count[k]);

                n[k] = (unsigned) MIN(c - e->seen[k], (uint64_t) UINT_MAX);
                e->seen[k] = c;
                any |= n[k] > 0;
        }
        pthread_mutex_lock(&res->lock);
        memcpy(e->last, res->last, sizeof e->last);
        e->last_kind = res->last_kind;
        pthread_mutex_unlock(&res->lock);
        if (any && app_errors_hook)
                app_errors_hook(app_errors_userdata, o, n);
}

void output_set_app_errors_hook(output_app_errors_t hook, void *userdata) {
        app_errors_hook = hook;
        app_errors_userdata = userdata;
}

const char *output_last_error(const LogOutput *o, AppErrorKind *ret_kind) {
        if (!o || !o->errors || !o->errors->last[0])
                return NULL;
        if (ret_kind)
                *ret_kind = o->errors->last_kind;
        return o->errors->last;
}

/* A new scanner for the output's errors section (each run starts outside any traceback); a
 * failure leaves errors uncounted, said once. */
static void output_set_errors(LogOutput *o, const OutputSpec *spec) {
        char prefix[96] = "";
        ErrScan *scan = NULL;
        int r;

        if (!dest_path(o->dest))
                snprintf(prefix, sizeof prefix, "%s | ", o->name);
        r = errscan_new(spec->errors, spec->log, prefix, &scan);
        if (r >= 0 && scan && !o->errors && !(o->errors = calloc(1, sizeof(OutputErrors)))) {
                scan = errscan_free(scan);
                r = -ENOMEM;
        }
        if (r < 0)
                log_msg(LOG_ERR, o->name, "cannot count application errors: %s", strerror(-r));
        dest_set_errors(o->dest, scan);
}

/* The file of a new output (or upkeepd's stdout) and its directory (*ret_dfd, or left -1);
 * why not in reason. */
static int output_open(const OutputSpec *spec, const char *key, char *reason, size_t len,
                       int *ret_dfd) {
        _cleanup_close_ int dfd = -1;
        char dir[PATH_MAX];
        int fd, r;

        if (to_stdout(spec)) {
                fd = stdout_fd();
                if (fd < 0)
                        snprintf(reason, len, "cannot use stdout for output: %s", strerror(-fd));
                return fd;
        }
        /* the file's directory: log-dir/<worker>, or that of log-file */
        snprintf(dir, sizeof dir, "%.*s", (int) (strrchr(key, '/') - key), key);
        r = logfile_open_dir(dir[0] ? dir : "/", true, &dfd);
        if (r < 0) {
                snprintf(reason, len, "cannot create log directory %s: %s", dir,
                         logfile_strerror(-r));
                return r;
        }
        fd = logfile_open_at(dfd, strrchr(key, '/') + 1, true);
        if (fd < 0) {
                snprintf(reason, len, "cannot open log file %s: %s", key, logfile_strerror(-fd));
                return fd;
        }
        *ret_dfd = TAKE_FD(dfd);
        return fd;
}

static int output_new(const OutputSpec *spec, const char *key, char *reason, size_t len,
                      LogOutput **ret) {
        _cleanup_close_ int fd = -1, dfd = -1;
        LogOutput *o;
        int r;

        fd = output_open(spec, key, reason, len, &dfd);
        if (fd < 0)
                return fd;
        o = calloc(1, sizeof(LogOutput));
        if (!o || !(o->key = strdup(key))) {
                free(o);
                snprintf(reason, len, "out of memory");
                return -ENOMEM;
        }
        snprintf(o->name, sizeof o->name, "%s", spec->instance);
        r = dest_new_at(to_stdout(spec) ? NULL : key, true, TAKE_FD(dfd), TAKE_FD(fd),
                        spec->instance, spec->log, &o->dest);
        if (r < 0) {
                free(o->key);
                free(o);
                snprintf(reason, len, "cannot set up output: %s", strerror(-r));
                return r;
        }
        dest_set_space_callback(o->dest, on_space, o);
        dest_set_errors_callback(o->dest, on_app_errors, o);
        (void) output_set_tail(o, spec->log->tail); /* no room: no crash context, that is all */
        o->refs = 1;
        o->hnext = outputs[hash(key)];
        outputs[hash(key)] = o;
        *ret = o;
        return 0;
}

int output_prepare(LogOutput **output, const OutputSpec *spec, char *reason, size_t len) {
        char key[PATH_MAX];
        LogOutput *o;
        int r;

        if (to_stdout(spec))
                snprintf(key, sizeof key, "-%s", spec->instance);
        else if (output_path(spec, key, sizeof key) < 0) {
                snprintf(reason, len, "log file path too long");
                return -ENAMETOOLONG;
        }
        if (*output && strcmp((*output)->key, key) == 0) {
                (void) output_set_tail(*output, spec->log->tail);
                tail_reset(&(*output)->tail);
                output_set_errors(*output, spec);
                dest_set_settings((*output)->dest, spec->log);
                dest_verify((*output)->dest);
                return 0;
        }
        *output = output_release(*output);
        o = output_find(key);
        if (o) {
                o->refs++;
                (void) output_set_tail(o, spec->log->tail);
                dest_set_settings(o->dest, spec->log);
                dest_verify(o->dest);
        } else {
                r = output_new(spec, key, reason, len, &o);
                if (r < 0)
                        return r;
        }
        /* a new run: its crash context is its own output, not what the last run printed */
        tail_reset(&o->tail);
        output_set_errors(o, spec);
        *output = o;
        return 0;
}

LogOutput *output_release(LogOutput *o) {
        output_unref(o);
        return NULL;
}

int output_attach(sd_event *e, LogOutput *o, const LogConfig *log, int pipe_fd, bool is_stderr) {
        Stream *st;
        int r;

        if (!o)
                return -EINVAL;
        st = calloc(1, sizeof(Stream));
        if (!st)
                return -ENOMEM;
        st->fd = pipe_fd;
        st->is_stderr = is_stderr;
        st->timestamps = log->timestamps;
        st->mark = is_stderr && log->stderr_mode == STDERR_MARK;
        st->overflow = log->overflow;
        /* the buffer may predate a reload that changed max-line: a line must fit in it */
        st->max_line = MIN((size_t) log->max_line, dest_capacity(o->dest) / 2);
        st->max_line = MIN(st->max_line, (size_t) MAX_LINE_LIMIT);
        if (!dest_path(o->dest)) /* upkeepd's stdout: its key is "-" + the instance's name */
                st->prefix_len = (size_t) snprintf(st->prefix, sizeof st->prefix, "%s | ",
                                                   o->name);
        (void) fcntl(pipe_fd, F_SETFL, O_NONBLOCK);
        st->pipe_size = MAX(fcntl(pipe_fd, F_GETPIPE_SZ), 0);
        r = sd_event_add_io(e, &st->source, pipe_fd, EPOLLIN, on_stream, st);
        if (r < 0) {
                free(st);
                return r;
        }
        (void) sd_event_source_set_description(st->source, is_stderr ? "stderr" : "stdout");
        st->out = o;
        st->out->refs++;
        st->next = streams;
        if (streams)
                streams->pprev = &st->next;
        st->pprev = &streams;
        streams = st;
        st->onext = st->out->streams;
        if (st->out->streams)
                st->out->streams->opprev = &st->onext;
        st->opprev = &st->out->streams;
        st->out->streams = st;
        return 0;
}

/*
 * The process just ended: its last bytes may still be in the pipes (the exit can be seen before
 * them).  Read what is there now, without waiting: the pipes of an exited process hold all it
 * wrote, unless a stream waits for room in the buffer.
 */
static void output_flush(LogOutput *o) {
        for (Stream *st = o->streams, *next; st; st = next) {
                next = st->onext;
                if (!st->stalled)
                        (void) stream_pump(st); /* may free st, never another stream */
        }
}

char *output_last_lines(LogOutput *o) {
        size_t n;
        char *text;

        if (!o || o->tail_lines == 0)
                return NULL;
        output_flush(o);
        text = malloc(CFG_TAIL_BYTES + 1);
        if (!text)
                return NULL;
        n = tail_read(&o->tail, o->tail_lines, text, CFG_TAIL_BYTES + 1);
        if (n == 0) {
                free(text);
                return NULL;
        }
        return text;
}

void output_freeze(LogOutput *o, const char *instance, const char *why, char **slot) {
        char msg[LOG_OUTPUT_MSG_MAX];

        free(*slot);
        *slot = output_last_lines(o);
        if (!*slot)
                return;
        tail_indent(*slot, "    | ", msg, sizeof msg);
        log_fields(LOG_NOTICE, instance, "last-output", LOG_KV(LF_S("cause", why)),
                   "last output before %s:\n%s", why, msg);
}

void output_watch(int pipe_fd, OutputLineFn fn, void *userdata) {
        for (Stream *st = streams; st; st = st->next)
                if (st->fd == pipe_fd && !st->eof) {
                        st->watch = fn;
                        st->watch_data = userdata;
                        return;
                }
}

void output_unwatch(void *userdata) {
        for (Stream *st = streams; st; st = st->next)
                if (st->watch && st->watch_data == userdata)
                        st->watch = NULL;
}

/* ---- status and control ----------------------------------------------------------------------- */

uint64_t output_bytes_written(const LogOutput *o) {
        return o ? dest_bytes_written(o->dest) : 0;
}

uint64_t output_bytes_dropped(const LogOutput *o) {
        return o ? o->dropped : 0;
}

/* {"json-level": N, "traceback": N, "match": N, "last": {"kind", "line"} or null}: what the
 * writer counted in this output since it was opened; null without an errors section. */
static json_t *app_errors_json(const LogOutput *o, const OutputSpec *spec) {
        json_t *j, *last = json_null();
        AppErrorKind kind;
        const char *line;

        if (!spec->errors || !spec->errors->enabled)
                return json_null();
        j = json_object();
        for (int k = APPERR_NONE + 1; j && k < _APPERR_MAX; k++)
                json_object_set_new(j, apperr_kind_to_string((AppErrorKind) k),
                                    json_integer((json_int_t) (o && o->errors ? o->errors->seen[k] : 0)));
        line = output_last_error(o, &kind);
        if (line)
                last = json_pack("{s:s, s:o}", "kind", apperr_kind_to_string(kind), "line",
                                 utf8_json_string(line));
        json_object_set_new(j, "last", last ?: json_null());
        return j;
}

json_t *output_json(const LogOutput *o, const OutputSpec *spec) {
        char path[PATH_MAX];
        json_t *file, *j;

        if (o)
                file = dest_path(o->dest) ? utf8_json_string(dest_path(o->dest)) : json_null();
        else if (output_path(spec, path, sizeof path) == 0)
                file = utf8_json_string(path);
        else
                file = json_null();
        j = json_pack("{s:o, s:I, s:I, s:I, s:b}", "file", file, "bytes_written",
                      (json_int_t) (o ? dest_bytes_written(o->dest) : 0), "bytes_dropped",
                      (json_int_t) (o ? o->dropped : 0), "write_errors",
                      (json_int_t) (o ? dest_write_errors(o->dest) : 0), "failing",
                      o ? dest_failing(o->dest) : false);
        if (j)
                json_object_set_new(j, "app_errors", app_errors_json(o, spec));
        return j;
}

json_t *output_file_json(const OutputSpec *spec) {
        char path[PATH_MAX];
        bool file = output_path(spec, path, sizeof path) == 0;

        return json_pack("{s:s, s:o}", "name", spec->instance, "path",
                         file ? utf8_json_string(path) : json_null());
}

static void reopen_all(void) {
        log_event(LOG_NOTICE, NULL, "logs-reopen", "reopening every log file");
        writer_reopen_all();
}

json_t *output_reopen_json(void) {
        reopen_all();
        return json_pack("{s:b, s:s}", "ok", 1, "result", "reopening");
}

static void on_writer_report(int level, const char *label, const char *event,
                             const char *file, const char *text) {
        log_fields(level, label, event, LOG_KV(LF_S("file", file)), "%s", text);
}

static int on_sigusr1(sd_event_source *src, const struct signalfd_siginfo *si, void *u) {
        (void) src, (void) si, (void) u;
        reopen_all();
        return 0;
}

/* ---- life ------------------------------------------------------------------------------------- */

int output_init(sd_event *e, const Config *c) {
        sigset_t usr1;
        int r;

        loop_event = e;
        r = writer_start(e, on_writer_report);
        if (r < 0)
                return r;
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        sigprocmask(SIG_BLOCK, &usr1, NULL);
        r = sd_event_add_signal(e, NULL, SIGUSR1, on_sigusr1, NULL);
        if (r < 0)
                return r;
        log_setup(c);
        return 0;
}

void output_drain_all(void) {
        drain_deadline = clock_mono_usec() + DRAIN_TIMEOUT;
        while (streams) {
                Stream *st = streams;

                st->draining = true;
                st->stalled = false;
                while (stream_pump(st))
                        ;
        }
        writer_stop(WRITER_STOP_TIMEOUT);
}

void output_done(void) {
        log_close();
        while (streams)
                stream_free(streams);
        writer_free_all();
}
