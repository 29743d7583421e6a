/*
 * Worker output capture (see logs.h).  Each pipe read end is an sd-event IO source; whatever is
 * read is appended with one write(2) to the instance's file, opened O_APPEND so several streams
 * (stdout, stderr, a previous run still draining) can share it without tearing each other's
 * writes.  Streams are kept on one list so they can be drained when upkeepd exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "logs.h"

typedef struct Stream {
        struct Stream *next, **pprev;
        int pipe_fd;
        int file_fd;
        sd_event_source *source;
        char name[80];
        bool is_stderr;
} Stream;

static Stream *streams;

static int mkdir_p(const char *path, mode_t mode) {
        char buf[4096];
        size_t l = strlen(path);

        if (l == 0 || l >= sizeof buf)
                return -ENAMETOOLONG;
        memcpy(buf, path, l + 1);
        for (char *p = buf + 1; *p; p++)
                if (*p == '/') {
                        *p = '\0';
                        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                                return negative_errno();
                        *p = '/';
                }
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

int logs_open_file(const Instance *i, int *ret_fd, char *reason, size_t len) {
        const WorkerConfig *w = i->worker->cfg;
        char dir[4096], path[4200];
        int fd, r;

        snprintf(dir, sizeof dir, "%s/%s", w->log_dir, w->name);
        r = mkdir_p(dir, 0755);
        if (r < 0) {
                snprintf(reason, len, "cannot create log directory %s: %s", dir, strerror(-r));
                return r;
        }
        if (w->instances > 1)
                snprintf(path, sizeof path, "%s/%s-%u.log", dir, w->name, i->index);
        else
                snprintf(path, sizeof path, "%s/%s.log", dir, w->name);
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
        if (fd < 0) {
                r = negative_errno();
                snprintf(reason, len, "cannot open log file %s: %s", path, strerror(-r));
                return r;
        }
        *ret_fd = fd;
        return 0;
}

static void stream_free(Stream *s) {
        if (!s)
                return;
        if (s->next)
                s->next->pprev = s->pprev;
        *s->pprev = s->next;
        sd_event_source_disable_unref(s->source);
        close(s->pipe_fd);
        close(s->file_fd);
        free(s);
}

static void write_all(Stream *s, const char *buf, size_t n) {
        while (n > 0) {
                ssize_t k = write(s->file_fd, buf, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        log_msg(LOG_WARNING, s->name, "writing output to its log failed: %m, "
                                "dropping %zu bytes", n);
                        return;
                }
                buf += k;
                n -= (size_t) k;
        }
}

/* Returns 0 at EOF or on error (the stream is done), 1 when the pipe is merely empty. */
static int stream_read(Stream *s) {
        char buf[65536];

        for (int rounds = 0; rounds < 16; rounds++) {
                ssize_t n = read(s->pipe_fd, buf, sizeof buf);
                if (n > 0) {
                        write_all(s, buf, (size_t) n);
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 1;
                return 0;
        }
        /* bounded work per wake-up, so one chatty worker cannot starve the loop */
        return 1;
}

static int on_stream(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Stream *s = userdata;

        (void) src, (void) fd, (void) revents;
        if (stream_read(s) == 0)
                stream_free(s);
        return 0;
}

int logs_attach(sd_event *e, const Instance *i, int pipe_fd, int file_fd, bool is_stderr) {
        Stream *s;
        int r;

        s = calloc(1, sizeof(Stream));
        if (!s)
                return -ENOMEM;
        s->pipe_fd = pipe_fd;
        s->is_stderr = is_stderr;
        snprintf(s->name, sizeof s->name, "%s", i->name);
        s->file_fd = fcntl(file_fd, F_DUPFD_CLOEXEC, 3);
        if (s->file_fd < 0) {
                r = negative_errno();
                free(s);
                return r;
        }
        (void) fcntl(pipe_fd, F_SETFL, O_NONBLOCK);
        r = sd_event_add_io(e, &s->source, pipe_fd, EPOLLIN, on_stream, s);
        if (r < 0) {
                close(s->file_fd);
                free(s);
                return r;
        }
        (void) sd_event_source_set_description(s->source, is_stderr ? "stderr" : "stdout");
        s->next = streams;
        if (streams)
                streams->pprev = &s->next;
        s->pprev = &streams;
        streams = s;
        return 0;
}

void logs_drain_all(void) {
        while (streams) {
                (void) stream_read(streams);
                stream_free(streams);
        }
}
