/*
 * upkeepd's own log (see log.h).
 *
 * Every line is formatted whole and handed over in one piece: one write(2) on stderr, or one commit
 * into the log-file's destination, whose writer thread does the I/O and the rotation, so a slow
 * disk never stalls the loop; when that destination is full, lines are dropped and counted, and the
 * count is logged once there is room again.  Lines are written by the loop thread only; a call from
 * any other thread goes to stderr, whatever the configuration, rather than race.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "logwriter.h"

#define MAX_JOURNAL_FIELDS 24

static int max_level = LOG_INFO;
static bool level_from_cmdline;
static LogFormat format = LOG_FORMAT_TEXT;
static LogDest *file_dest;
static char *file_path;
static unsigned long file_dropped;
static pthread_t loop_thread;
static bool loop_thread_set;

void log_set_max_level(int level) {
        max_level = level;
        level_from_cmdline = true;
}

/*
 * Started by systemd with stderr going to the journal: JOURNAL_STREAM names our stderr.  An
 * INVOCATION_ID alone is inherited by everything a service starts (a CI runner, a desktop
 * terminal), so it only counts when the service manager is our parent.
 */
static bool under_systemd(void) {
        const char *js = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
            fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino)
                return true;
        return getenv("INVOCATION_ID") && getppid() == 1;
}

static void close_file(void) {
        if (file_dest)
                dest_close(file_dest);
        file_dest = NULL;
        free(file_path);
        file_path = NULL;
}

static void open_file(const Config *c) {
        int fd, r;

        if (file_path && strcmp(file_path, c->log_file) == 0) {
                dest_set_settings(file_dest, &c->log);
                return;
        }
        close_file();
        fd = open(c->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
        if (fd < 0) {
                log_error("cannot open log-file %s: %m, logging to stderr", c->log_file);
                return;
        }
        r = dest_new(c->log_file, fd, "upkeepd", &c->log, &file_dest);
        if (r < 0) {
                file_dest = NULL;
                log_error("cannot log to %s: %s, logging to stderr", c->log_file, strerror(-r));
                return;
        }
        file_path = strdup(c->log_file);
        if (!file_path)
                close_file();
}

/*
 * sd_journal_sendv() reports success when there is no journal to send to (it drops the
 * message on purpose), so a missing journal socket has to be noticed here.
 */
static bool journal_reachable(void) {
        struct stat st;

        return stat("/run/systemd/journal/socket", &st) == 0 && S_ISSOCK(st.st_mode);
}

void log_setup(const Config *c) {
        LogFormat f = c->log_format == LOG_FORMAT_AUTO
                              ? (under_systemd() ? LOG_FORMAT_JOURNAL : LOG_FORMAT_TEXT)
                              : c->log_format;
        bool no_journal = f == LOG_FORMAT_JOURNAL && !journal_reachable();

        if (no_journal)
                f = LOG_FORMAT_TEXT;

        loop_thread = pthread_self();
        loop_thread_set = true;
        if (!level_from_cmdline)
                max_level = c->log_level;
        format = f;
        if (c->log_file && f != LOG_FORMAT_JOURNAL && writer_running())
                open_file(c);
        else {
                close_file();
                if (c->log_file && f == LOG_FORMAT_JOURNAL)
                        log_warning("log-file %s is not used with log-format = journal",
                                    c->log_file);
        }
        if (no_journal)
                log_warning("log-format = journal, but there is no journal "
                            "(/run/systemd/journal/socket): logging as text instead");
}

void log_close(void) {
        /* the destination itself is freed with the writer's others */
        file_dest = NULL;
        free(file_path);
        file_path = NULL;
}

static void put_line(const char *line, size_t n) {
        LineOut o;

        if (file_dest && loop_thread_set && pthread_equal(loop_thread, pthread_self())) {
                if (!writer_running()) {
                        dest_write_sync(file_dest, line, n);
                        return;
                }
                o = dest_reserve(file_dest);
                if (o.cap[0] + o.cap[1] < n) {
                        file_dropped++;
                        return;
                }
                memcpy(o.seg[0], line, MIN(n, o.cap[0]));
                if (n > o.cap[0])
                        memcpy(o.seg[1], line + o.cap[0], n - o.cap[0]);
                dest_commit(file_dest, n);
                return;
        }
        (void) !write(STDERR_FILENO, line, n);
}

/* "exit_code" -> "EXIT_CODE": journal field names are upper case, digits and '_'. */
static void journal_key(char *buf, size_t len, const char *key) {
        size_t k = 0;

        for (; *key && k + 1 < len; key++)
                buf[k++] = *key >= 'a' && *key <= 'z' ? (char) (*key - 'a' + 'A')
                           : (*key >= 'A' && *key <= 'Z') || (*key >= '0' && *key <= '9')
                                   ? *key
                                   : '_';
        buf[k] = '\0';
}

static int send_journal(int level, const char *instance, const char *event,
                        const LogField *fields, const char *msg) {
        char bufs[MAX_JOURNAL_FIELDS][320], key[64], worker[80];
        struct iovec iov[MAX_JOURNAL_FIELDS];
        int n = 0;

#define ADD(...)                                                                             \
        do {                                                                                 \
                if (n < MAX_JOURNAL_FIELDS) {                                                \
                        int _l = snprintf(bufs[n], sizeof bufs[n], __VA_ARGS__);             \
                        iov[n] = (struct iovec) { bufs[n],                                   \
                                                  MIN((size_t) MAX(_l, 0), sizeof bufs[n] - 1) }; \
                        n++;                                                                 \
                }                                                                            \
        } while (0)

        ADD("MESSAGE=%s%s%s", instance ?: "", instance ? ": " : "", msg);
        ADD("PRIORITY=%d", level);
        ADD("SYSLOG_IDENTIFIER=upkeepd");
        if (instance) {
                logformat_worker(instance, worker, sizeof worker);
                ADD("UPKEEP_WORKER=%s", worker);
                ADD("UPKEEP_INSTANCE=%s", instance);
        }
        if (event)
                ADD("UPKEEP_EVENT=%s", event);
        for (const LogField *f = fields; f && f->key; f++) {
                if (!f->key[0])
                        continue;
                journal_key(key, sizeof key, f->key);
                if (f->type == LOG_FIELD_INT)
                        ADD("UPKEEP_%s=%lld", key, f->i);
                else if (f->type == LOG_FIELD_DOUBLE)
                        ADD("UPKEEP_%s=%.3f", key, f->d);
                else if (f->s)
                        ADD("UPKEEP_%s=%s", key, f->s);
        }
#undef ADD
        return sd_journal_sendv(iov, n);
}

_printf_(5, 0) static void log_fieldsv(int level, const char *instance, const char *event,
                                       const LogField *fields, const char *fmt, va_list ap) {
        char msg[2048], line[LOGFORMAT_LINE_MAX];
        time_t sec;
        usec_t now;
        struct tm tm;
        unsigned msec;
        size_t n;
        int saved = errno;

        if (level > max_level)
                return;
        errno = saved; /* so %m works */
        vsnprintf(msg, sizeof msg, fmt, ap);

        if (format == LOG_FORMAT_JOURNAL && send_journal(level, instance, event, fields, msg) >= 0) {
                errno = saved;
                return;
        }
        now = clock_real_usec();
        sec = (time_t) (now / USEC_PER_SEC);
        localtime_r(&sec, &tm);
        msec = (unsigned) (now % USEC_PER_SEC / USEC_PER_MSEC);
        if (format == LOG_FORMAT_JSON)
                n = logformat_json(line, &tm, msec, level, instance, event, fields, msg);
        else
                n = logformat_text(line, &tm, msec, level, instance, msg);
        if (file_dropped > 0 && file_dest &&
            dest_free_space(file_dest) > dest_capacity(file_dest) / 2) {
                unsigned long d = file_dropped;

                file_dropped = 0; /* before: this call comes back here */
                log_fields(LOG_WARNING, NULL, "log-dropped", LOG_KV(LF_I("dropped", d)),
                           "%lu lines of this log were dropped (log-file full or stalled)", d);
        }
        put_line(line, n);
        errno = saved;
}

void log_fields(int level, const char *instance, const char *event, const LogField *fields,
                const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        log_fieldsv(level, instance, event, fields, fmt, ap);
        va_end(ap);
}

void log_msg(int level, const char *instance, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        log_fieldsv(level, instance, NULL, NULL, fmt, ap);
        va_end(ap);
}
