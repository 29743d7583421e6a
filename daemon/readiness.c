/*
 * A worker's own word on its readiness (see readiness.h).
 *
 * The notify socket is an abstract AF_UNIX datagram socket, new for every spawn (so a process
 * left over from an earlier run cannot reach the new one), with SO_PASSCRED: the kernel tells
 * the sender's pid, and only a process of the instance is listened to (the main process, one in
 * its session, or one descending from it: /proc/PID/stat; else its tree, proctree.h).  MAINPID=
 * naming a process of the instance makes it the main process (the supervisor watches it from
 * then on).  Descriptors sent along (FDSTORE) are closed at once.  The watchdog is a timer
 * re-armed by each WATCHDOG=1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "output.h"
#include "readylog.h"
#include "looptime.h"
#include "macro.h"
#include "parse.h"
#include "readiness.h"
#include "sdnotify.h"

static int close_fd(int fd) {
        if (fd >= 0)
                (void) close(fd);
        return -1;
}

void readiness_init(Readiness *r) {
        *r = (Readiness) { .fd = -1, .child_fd = -1 };
}

const char *readiness_status(const Readiness *r) {
        if (r->reloading)
                return "reloading";
        if (r->stopping)
                return "stopping";
        return r->text ? r->text->status : "";
}

/* The session and the parent of pid from /proc/PID/stat; false when it is gone. */
static bool read_stat(pid_t pid, pid_t *ret_ppid, pid_t *ret_session) {
        char path[64], buf[1024], *p;
        ssize_t n;
        int fd, ppid, pgrp, session;

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
                return false;
        buf[n] = '\0';
        /* the command name may hold anything, ')' included: the fields follow the last one */
        p = strrchr(buf, ')');
        if (!p || sscanf(p + 1, " %*c %d %d %d", &ppid, &pgrp, &session) != 3)
                return false;
        *ret_ppid = ppid;
        *ret_session = session;
        return true;
}

/* A process of the instance: by its ancestry and session (cheap), else by its tree (an
 * orphan re-parented to upkeepd, the first process once a MAINPID= was adopted). */
static bool sender_ok(const Readiness *r, pid_t pid) {
        pid_t chain[16], session = 0, ppid, s;
        size_t n = 0;

        if (!read_stat(pid, &ppid, &session))
                return false;
        for (pid_t at = ppid; at > 1 && n < ELEMENTSOF(chain); n++) {
                chain[n] = at;
                if (!read_stat(at, &at, &s))
                        break;
        }
        return sd_notify_sender_ok(r->pid, pid, session, chain, n) ||
               (r->spec.member && r->spec.member(r->spec.userdata, pid));
}

/* MAINPID=: adopted when it names a process of the instance, which upkeepd watches from then. */
static void take_mainpid(Readiness *r, pid_t pid) {
        char why[128] = "";

        switch (sd_notify_mainpid(pid, r->pid, getpid(), sender_ok(r, pid))) {
        case SD_MAINPID_NONE:
                return;
        case SD_MAINPID_ADOPT:
                if (!r->spec.adopt || r->spec.adopt(r->spec.userdata, pid, why, sizeof why) < 0)
                        break;
                log_msg(LOG_NOTICE, r->spec.name, "MAINPID=%d adopted: the main process is "
                        "now pid %d (was %d)", (int) pid, (int) pid, (int) r->pid);
                r->pid = pid;
                return;
        case SD_MAINPID_FOREIGN:
                snprintf(why, sizeof why, "not a process of this instance");
                break;
        case SD_MAINPID_SELF:
                snprintf(why, sizeof why, "upkeepd itself or init");
                break;
        }
        log_msg(LOG_WARNING, r->spec.name, "MAINPID=%d refused, %s: upkeepd keeps watching "
                "pid %d", (int) pid, why[0] ? why : "cannot be watched", (int) r->pid);
}

static void arm_watchdog(Readiness *r) {
        if (!r->watchdog)
                return;
        (void) sd_event_source_set_time(r->watchdog, loop_now(r->spec.event) + r->spec.cfg->watchdog);
        (void) sd_event_source_set_enabled(r->watchdog, SD_EVENT_ONESHOT);
}

/* One datagram: credentials checked, then what it says. */
static void on_message(Readiness *r, const char *buf, size_t n, pid_t sender) {
        SdNotify m;

        if (sender <= 0 || !sender_ok(r, sender)) {
                log_msg(LOG_WARNING, r->spec.name, "notify message from pid %d, not a process "
                        "of this instance: ignored", (int) sender);
                return;
        }
        if (sd_notify_parse(buf, n, &m) < 0)
                return;
        if (m.has_status)
                snprintf(r->text->status, sizeof r->text->status, "%s", m.status);
        if (m.stopping)
                r->stopping = true;
        if (m.reloading)
                r->reloading = true;
        if (m.ready)
                r->reloading = false;
        if (m.mainpid > 0)
                take_mainpid(r, m.mainpid);
        if (m.watchdog)
                arm_watchdog(r);
        if (m.watchdog_trigger) {
                r->spec.failed(r->spec.userdata, "watchdog triggered (WATCHDOG=trigger)");
                return; /* r may be gone */
        }
        if (m.ready)
                r->spec.ready(r->spec.userdata);
}

static int on_socket(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Readiness *r = userdata;
        char buf[4096];
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 16)];
        } control;
        struct iovec iov = { buf, sizeof buf };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1,
                .msg_control = &control, .msg_controllen = sizeof control,
        };
        pid_t sender = 0;
        ssize_t n;

        (void) src, (void) revents;
        n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
        if (n < 0)
                return 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level != SOL_SOCKET)
                        continue;
                if (c->cmsg_type == SCM_CREDENTIALS &&
                    c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
                        sender = ((struct ucred *) (void *) CMSG_DATA(c))->pid;
                else if (c->cmsg_type == SCM_RIGHTS)
                        for (size_t k = 0; k < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++)
                                close(((int *) (void *) CMSG_DATA(c))[k]);
        }
        if ((size_t) n > sizeof buf || (mh.msg_flags & MSG_CTRUNC))
                return 0; /* not a message of ours: too long, or too many descriptors */
        on_message(r, buf, (size_t) n, sender);
        return 0;
}

/* fd:N: the first newline is readiness; the pipe is of no use after that. */
static int on_pipe(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Readiness *r = userdata;
        char buf[512];
        ssize_t n;

        (void) src, (void) revents;
        n = read(fd, buf, sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n > 0 && !memchr(buf, '\n', (size_t) n))
                return 0;
        r->io = sd_event_source_disable_unref(r->io);
        r->fd = close_fd(r->fd);
        if (n > 0)
                r->spec.ready(r->spec.userdata);
        return 0;
}

static int on_watchdog(sd_event_source *src, uint64_t usec, void *userdata) {
        Readiness *r = userdata;
        char buf[32], why[96];

        (void) src, (void) usec;
        snprintf(why, sizeof why, "watchdog timeout: no WATCHDOG=1 within %s",
                 format_duration(buf, sizeof buf, r->spec.cfg->watchdog));
        r->spec.failed(r->spec.userdata, why);
        return 0;
}

static int open_socket(Readiness *r, char *reason, size_t len) {
        static unsigned long seq;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int one = 1, n;

        r->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (r->fd < 0)
                goto fail;
        /* abstract: nothing in the file system to clean up, and reachable from any user */
        n = snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "upkeep/%d/%lu", (int) getpid(),
                     ++seq);
        if (setsockopt(r->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0 ||
            bind(r->fd, (struct sockaddr *) &sa,
                 (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + (size_t) n)) < 0)
                goto fail;
        if (!r->text && !(r->text = calloc(1, sizeof *r->text)))
                goto fail;
        snprintf(r->text->env[0], sizeof r->text->env[0], "NOTIFY_SOCKET=@%s", sa.sun_path + 1);
        r->envp[0] = r->text->env[0];
        if (r->spec.cfg->watchdog > 0) {
                snprintf(r->text->env[1], sizeof r->text->env[1], "WATCHDOG_USEC=%llu",
                         (unsigned long long) r->spec.cfg->watchdog);
                r->envp[1] = r->text->env[1];
                /* the spawn writes the child's pid over the placeholder (spawn.c) */
                snprintf(r->text->env[2], sizeof r->text->env[2], "WATCHDOG_PID=0000000000");
                r->envp[2] = r->text->env[2];
        }
        if (sd_event_add_io(r->spec.event, &r->io, r->fd, EPOLLIN, on_socket, r) < 0)
                goto fail;
        (void) sd_event_source_set_description(r->io, "notify-socket");
        /* before the exits (pidfds, SIGCHLD), as systemd does: a process that sends MAINPID=
         * and exits at once must have its message read before its end is taken as the
         * instance's */
        (void) sd_event_source_set_priority(r->io, SD_EVENT_PRIORITY_NORMAL - 10);
        return 0;
fail:
        snprintf(reason, len, "cannot create its notify socket: %m");
        return -errno;
}

static int open_pipe(Readiness *r, char *reason, size_t len) {
        int p[2];

        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
                snprintf(reason, len, "cannot create its readiness pipe: %m");
                return -errno;
        }
        r->fd = p[0];
        r->child_fd = p[1];
        if (sd_event_add_io(r->spec.event, &r->io, r->fd, EPOLLIN, on_pipe, r) < 0) {
                snprintf(reason, len, "cannot watch its readiness pipe");
                return -ENOMEM;
        }
        (void) sd_event_source_set_description(r->io, "ready-fd");
        return 0;
}

int readiness_begin(Readiness *r, const ReadySpec *spec, char *const **ret_env, int *ret_fd,
                    char *reason, size_t len) {
        int ret;

        readiness_end(r);
        r->spec = *spec;
        *ret_env = NULL;
        *ret_fd = -1;
        if (spec->cfg->ready == WREADY_LOG) {
                r->log = readylog_new(spec->cfg->ready_log);
                if (!r->log) {
                        snprintf(reason, len, "cannot compile its ready pattern");
                        return -ENOMEM;
                }
                return 0;
        }
        if (spec->cfg->ready == WREADY_NOTIFY)
                ret = open_socket(r, reason, len);
        else if (spec->cfg->ready == WREADY_FD)
                ret = open_pipe(r, reason, len);
        else
                return 0;
        if (ret < 0) {
                readiness_end(r);
                return ret;
        }
        *ret_env = r->envp[0] ? r->envp : NULL;
        *ret_fd = r->child_fd;
        return 0;
}

void readiness_spawned(Readiness *r, pid_t pid) {
        r->pid = pid;
        r->child_fd = close_fd(r->child_fd); /* the worker holds it now: EOF when it is gone */
        if (r->fd >= 0 && r->spec.cfg->ready == WREADY_NOTIFY && r->spec.cfg->watchdog > 0 &&
            sd_event_add_time(r->spec.event, &r->watchdog, CLOCK_MONOTONIC,
                              loop_now(r->spec.event) + r->spec.cfg->watchdog, USEC_PER_MSEC,
                              on_watchdog, r) >= 0)
                (void) sd_event_source_set_description(r->watchdog, "worker-watchdog");
}

bool readiness_line(void *userdata, const char *line, size_t len) {
        Readiness *r = userdata;

        if (!r->log || r->pid <= 0 || !readylog_match(r->log, line, len))
                return true;
        r->log = readylog_free(r->log);
        output_unwatch(r);
        r->spec.ready(r->spec.userdata);
        return false;
}

void readiness_end(Readiness *r) {
        if (r->log) {
                output_unwatch(r);
                r->log = readylog_free(r->log);
        }
        r->io = sd_event_source_disable_unref(r->io);
        r->watchdog = sd_event_source_disable_unref(r->watchdog);
        r->fd = close_fd(r->fd);
        r->child_fd = close_fd(r->child_fd);
        r->pid = 0;
        free(r->text);
        r->text = NULL;
        r->reloading = r->stopping = false;
        r->envp[0] = r->envp[1] = r->envp[2] = r->envp[3] = NULL;
}
