/*
 * The control socket: a Unix stream socket, one JSON request and one JSON answer per line.
 *
 * It fails closed and per peer: a request over PROTO_MAX_REQUEST bytes loses its connection after
 * a one-line error; a client that completes no request line for PROTO_IDLE_TIMEOUT_SEC (silent,
 * or trickling bytes) loses it too; a request that is not valid JSON gets an error answer.
 * Nothing a client sends can stop the daemon.  Answers are queued and written as the socket
 * accepts them, so a client that does not read cannot block the loop.
 *
 * Only one upkeepd may own a socket path: an flock on "<socket>.lock" decides, and a socket
 * file that still answers is never unlinked.  A stale file (nobody listening) is replaced.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "looptime.h"
#include "proto.h"
#include "requests.h"
#include "userdb.h"

typedef enum Access {
        ACCESS_NONE,
        ACCESS_READ,    /* status, health, alerts */
        ACCESS_COMMAND, /* and start, stop, restart, reload, alerts test */
} Access;

typedef struct Client {
        struct Client *next, **pprev;
        Control *control;
        int fd;
        Access access;
        uid_t uid;
        sd_event_source *io, *timer;
        sd_event_source *defer; /* more complete lines buffered: serve them on a later turn */
        ProtoReader in;
        char *out;
        size_t out_len, out_off, out_cap;
} Client;

struct Control {
        Supervisor *sup;
        Alerts *alerts;
        gid_t group;             /* socket-group, or (gid_t) -1 */
        sd_event_source *listen_source;
        sd_event_source *accept_retry; /* out of descriptors: listening paused until it fires */
        int listen_fd;
        int lock_fd;
        int reserve_fd;          /* given back to accept and close a client when out of them */
        bool starved;            /* accept4() failed with EMFILE/ENFILE, not yet recovered */
        unsigned starved_refused;
        char *path;
        Client *clients;
        unsigned n_clients, n_trusted;
        size_t readers_queued;   /* answer bytes queued for read-only clients */
};

static size_t client_queued(const Client *c) {
        return c->out_len - c->out_off;
}

static bool client_trusted(const Client *c) {
        return c->access >= ACCESS_COMMAND;
}

static void client_update(Client *c);

/* Read-only clients paused on the total budget resume once it is under it again. */
static void readers_dequeued(Control *control, size_t n) {
        bool was_over = control->readers_queued >= PROTO_TOTAL_QUEUE;

        control->readers_queued -= MIN(n, control->readers_queued);
        if (was_over && control->readers_queued < PROTO_TOTAL_QUEUE)
                for (Client *c = control->clients; c; c = c->next)
                        if (!client_trusted(c))
                                client_update(c);
}

static void client_free(Client *c) {
        if (!c)
                return;
        if (c->next)
                c->next->pprev = c->pprev;
        *c->pprev = c->next;
        c->control->n_clients--;
        if (client_trusted(c))
                c->control->n_trusted--;
        else
                readers_dequeued(c->control, client_queued(c));
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->timer);
        sd_event_source_disable_unref(c->defer);
        close(c->fd);
        free(c->in.buf);
        free(c->out);
        free(c);
}

static void client_touch(Client *c) {
        usec_t t = loop_now(sd_event_source_get_event(c->io));

        (void) sd_event_source_set_time(c->timer, t + PROTO_IDLE_TIMEOUT_SEC * USEC_PER_SEC);
}

/*
 * What to wait for: the next request only while the client may be served and no complete line
 * is buffered (those are taken on later turns, through the defer source), so that a client that
 * does not read its answers is not read either: its requests wait in the kernel, and its writes
 * block.  Its idle timer is not touched meanwhile, so it is dropped after the idle timeout.
 */
static void client_update(Client *c) {
        bool may = proto_may_serve(client_queued(c), c->control->readers_queued, client_trusted(c));
        bool more = proto_reader_has_line(&c->in);
        uint32_t events = 0;

        if (may && !more)
                events |= EPOLLIN;
        if (client_queued(c) > 0)
                events |= EPOLLOUT;
        (void) sd_event_source_set_io_events(c->io, events);
        (void) sd_event_source_set_enabled(c->defer, may && more ? SD_EVENT_ONESHOT : SD_EVENT_OFF);
}

/* Send what the socket takes; < 0 when the client is gone (freed). */
static int client_flush(Client *c) {
        size_t sent = 0;

        while (c->out_off < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n <= 0) {
                        client_free(c);
                        return -EPIPE;
                }
                c->out_off += (size_t) n;
                sent += (size_t) n;
        }
        if (c->out_off == c->out_len) {
                c->out_off = c->out_len = 0;
                /* a drained client keeps no buffer: 64 idle clients hold nothing */
                if (c->out_cap > PROTO_MAX_REQUEST) {
                        free(c->out);
                        c->out = NULL;
                        c->out_cap = 0;
                }
        }
        if (sent > 0) {
                /* a client reading its answers is not idle */
                client_touch(c);
                if (!client_trusted(c))
                        readers_dequeued(c->control, sent);
        }
        return 0;
}

static int queue_answer(Client *c, json_t *ans) {
        _cleanup_free_ char *s = proto_dump(ans);
        size_t l, need;

        json_decref(ans);
        if (!s)
                return -ENOMEM;
        l = strlen(s);
        if (l + 1 > PROTO_MAX_ANSWER)
                return -ENOBUFS;
        if (c->out_off > 0) {
                memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
                c->out_len -= c->out_off;
                c->out_off = 0;
        }
        need = c->out_len + l + 1;
        if (need > c->out_cap) {
                size_t cap = MAX(need, MIN(2 * c->out_cap, need + PROTO_CLIENT_QUEUE));
                char *n = realloc(c->out, cap);

                if (!n)
                        return -ENOMEM;
                c->out = n;
                c->out_cap = cap;
        }
        memcpy(c->out + c->out_len, s, l);
        c->out[c->out_len + l] = '\n';
        c->out_len += l + 1;
        if (!client_trusted(c))
                c->control->readers_queued += l + 1;
        return 0;
}

/* Best effort: one error line for a client we are about to drop, then the connection goes. */
static void client_refuse(Client *c, ProtoError error) {
        if (queue_answer(c, proto_error_answer(error, NULL)) >= 0)
                (void) send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                            MSG_NOSIGNAL | MSG_DONTWAIT);
        client_free(c);
}

static int on_client_timeout(sd_event_source *src, uint64_t usec, void *userdata) {
        (void) src, (void) usec;
        client_free(userdata);
        return 0;
}

/*
 * Answer at most PROTO_LINES_PER_WAKEUP buffered requests, while the budgets allow, then flush:
 * a client sending megabytes of newlines gets a few answers per turn of the loop, like any other
 * source.  < 0 when the client is gone.
 */
static int client_serve(Client *c) {
        for (unsigned k = 0; k < PROTO_LINES_PER_WAKEUP; k++) {
                const char *line;
                json_t *ans;
                size_t l;
                int r;

                if (!proto_may_serve(client_queued(c), c->control->readers_queued,
                                     client_trusted(c)))
                        break;
                r = proto_reader_next(&c->in, &line, &l);
                if (r == -EMSGSIZE) {
                        log_warning("control: request over %d bytes, closing the connection",
                                    PROTO_MAX_REQUEST);
                        client_refuse(c, PROTO_E_TOO_LONG);
                        return r;
                }
                if (r == 0)
                        break;
                ans = request_answer(c->control->sup, c->control->alerts, line, l,
                                     client_trusted(c), c->uid);
                if (queue_answer(c, ans) < 0) {
                        client_free(c);
                        return -ENOBUFS;
                }
                /* only a whole request buys time: trickling bytes does not */
                client_touch(c);
        }
        if (client_flush(c) < 0)
                return -EPIPE;
        client_update(c);
        return 0;
}

static int on_client_defer(sd_event_source *src, void *userdata) {
        (void) src;
        (void) client_serve(userdata);
        return 0;
}

static int on_client(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Client *c = userdata;

        (void) src, (void) fd;
        if (revents & (EPOLLHUP | EPOLLERR)) {
                /* the peer is gone both ways: nothing it sent can be answered any more */
                client_free(c);
                return 0;
        }
        if ((revents & EPOLLOUT) && client_flush(c) < 0)
                return 0;
        if (revents & EPOLLIN) {
                char *p;
                size_t space = proto_reader_space(&c->in, &p);
                ssize_t n = space > 0 ? recv(c->fd, p, space, MSG_DONTWAIT) : 0;

                if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        client_free(c);
                        return 0;
                }
                if (n == 0 && space > 0) {
                        /* the peer closed: answer nothing more, but finish what is queued */
                        client_free(c);
                        return 0;
                }
                if (n > 0)
                        proto_reader_fill(&c->in, (size_t) n);
        }
        (void) client_serve(c);
        return 0;
}

/*
 * Who is on the other end, from the kernel, decided once per connection from the credentials the
 * peer held when it connected, never from the user and group databases (a user listed in
 * socket-group who runs without it must not command): root and upkeepd's own user may command;
 * so may a peer holding socket-group as its group (SO_PEERCRED) or as a supplementary group
 * (SO_PEERGROUPS); everybody else may read, or nothing with socket-others = none.
 */
static Access peer_access(Control *control, int fd, uid_t *ret_uid) {
        struct ucred cred;
        socklen_t l = sizeof cred;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &l) < 0)
                return ACCESS_NONE;
        *ret_uid = cred.uid;
        if (cred.uid == 0 || cred.uid == geteuid())
                return ACCESS_COMMAND;
        if (control->group != (gid_t) -1) {
                gid_t groups[256], *g = groups; /* the kernel allows 65536: ask again */
                _cleanup_free_ gid_t *big = NULL;
                socklen_t gl = sizeof groups;

                if (cred.gid == control->group)
                        return ACCESS_COMMAND;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &gl) < 0) {
                        /* fails closed: without them, the primary group alone counts */
                        if (errno != ERANGE || !(big = malloc(gl)) ||
                            getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, big, &gl) < 0)
                                gl = 0;
                        g = big;
                }
                for (size_t i = 0; i < gl / sizeof(gid_t); i++)
                        if (g[i] == control->group)
                                return ACCESS_COMMAND;
        }
        return sup_config(control->sup)->others_read ? ACCESS_READ : ACCESS_NONE;
}
static const char *slot_refusal(Control *control, Access access, uid_t uid) {
        unsigned same = 0;

        if (control->n_clients >= PROTO_MAX_CLIENTS)
                return "too many clients";
        if (access >= ACCESS_COMMAND)
                return NULL;
        if (control->n_clients - control->n_trusted >= PROTO_MAX_CLIENTS - PROTO_TRUSTED_SLOTS)
                return "too many clients";
        for (Client *c = control->clients; c; c = c->next)
                same += c->uid == uid;
        return same >= PROTO_MAX_READER_CLIENTS ? "too many clients of this user" : NULL;
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata);

static int on_accept_retry(sd_event_source *src, uint64_t usec, void *userdata) {
        Control *control = userdata;

        (void) src, (void) usec;
        if (control->reserve_fd < 0)
                control->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        (void) sd_event_source_set_enabled(control->listen_source, SD_EVENT_ON);
        return 0;
}

/*
 * accept4() failed for want of descriptors.  The pending connection keeps the listening socket
 * readable, so returning would spin.  The classic trick: give back the reserve descriptor, take
 * the connection and close it (without a word, like any refused client), take the reserve
 * again.  When the reserve cannot be had (a spawn took the descriptor meanwhile), stop listening
 * for a second instead.  Logged once
 * per episode; the end of the episode is logged at the next accepted connection.
 */
static int accept_starved(Control *control, int fd) {
        sd_event *e = sd_event_source_get_event(control->listen_source);
        int cfd = -1;

        if (!control->starved) {
                log_warning("control: out of file descriptors (%m), refusing clients until some "
                            "are free");
                control->starved = true;
                control->starved_refused = 0;
        }
        if (control->reserve_fd >= 0) {
                close(control->reserve_fd);
                cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (cfd >= 0) {
                        close(cfd);
                        control->starved_refused++;
                }
                control->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        }
        if (cfd >= 0 && control->reserve_fd >= 0)
                return 0;
        (void) sd_event_source_set_enabled(control->listen_source, SD_EVENT_OFF);
        if (!control->accept_retry) {
                if (sd_event_add_time_relative(e, &control->accept_retry, CLOCK_MONOTONIC,
                                               USEC_PER_SEC, 100 * USEC_PER_MSEC,
                                               on_accept_retry, control) < 0) {
                        /* cannot pause: listen again, the next failure tries once more */
                        (void) sd_event_source_set_enabled(control->listen_source, SD_EVENT_ON);
                        return -ENOMEM;
                }
                (void) sd_event_source_set_description(control->accept_retry,
                                                       "control-accept-retry");
        } else {
                (void) sd_event_source_set_time_relative(control->accept_retry, USEC_PER_SEC);
        }
        (void) sd_event_source_set_enabled(control->accept_retry, SD_EVENT_ONESHOT);
        return -EMFILE;
}

/* Serve an accepted connection: < 0 when out of resources (cfd is closed either way). */
static int client_new(Control *control, sd_event *e, int cfd, Access access, uid_t uid) {
        Client *c = calloc(1, sizeof(Client));

        if (c)
                c->in.buf = malloc(PROTO_MAX_REQUEST);
        if (!c || !c->in.buf || sd_event_add_io(e, &c->io, cfd, EPOLLIN, on_client, c) < 0 ||
            sd_event_add_time_relative(e, &c->timer, CLOCK_MONOTONIC,
                                       PROTO_IDLE_TIMEOUT_SEC * USEC_PER_SEC, USEC_PER_SEC,
                                       on_client_timeout, c) < 0 ||
            sd_event_add_defer(e, &c->defer, on_client_defer, c) < 0) {
                if (c) {
                        sd_event_source_disable_unref(c->io);
                        sd_event_source_disable_unref(c->timer);
                        free(c->in.buf);
                        free(c);
                }
                close(cfd);
                return -ENOMEM;
        }
        /* below every other source: buffered requests are taken when nothing else is pending
         * (a tie with an accept or another client would go either way) */
        (void) sd_event_source_set_priority(c->defer, SD_EVENT_PRIORITY_NORMAL + 1);
        (void) sd_event_source_set_enabled(c->defer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(c->io, "control-client");
        c->control = control;
        c->fd = cfd;
        c->access = access;
        c->uid = uid;
        c->next = control->clients;
        if (control->clients)
                control->clients->pprev = &c->next;
        c->pprev = &control->clients;
        control->clients = c;
        control->n_clients++;
        control->n_trusted += client_trusted(c);
        return 0;
}

/* Who the new peer is and whether there is room for it; closed without a word if not. */
static void accepted(Control *control, sd_event *e, int cfd) {
        const char *refusal;
        Access access;
        uid_t uid = (uid_t) -1;

        if (control->starved) {
                log_notice("control: file descriptors available again (%u clients refused "
                           "meanwhile)", control->starved_refused);
                control->starved = false;
        }
        access = peer_access(control, cfd, &uid);
        if (access == ACCESS_NONE) {
                log_notice("control: uid %u is neither root nor in the socket group, closing",
                           (unsigned) uid);
                close(cfd);
                return;
        }
        refusal = slot_refusal(control, access, uid);
        if (refusal) {
                /* a flood of connections must not eat our descriptors, and read-only clients
                 * must not take the slots of those who command.  Closed without a word, as
                 * always: a client retrying on an end of file must not take a refusal line for
                 * an answer */
                log_warning("control: %u clients connected, refusing one of uid %u: %s",
                            control->n_clients, (unsigned) uid, refusal);
                close(cfd);
                return;
        }
        if (client_new(control, e, cfd, access, uid) < 0)
                log_warning("control: cannot serve a client: out of resources");
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Control *control = userdata;
        sd_event *e = sd_event_source_get_event(src);

        (void) revents;
        /* a burst of connections is taken a bounded number at a time, like requests */
        for (unsigned k = 0; k < PROTO_MAX_CLIENTS; k++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

                if (cfd >= 0) {
                        accepted(control, e, cfd);
                        continue;
                }
                if (errno == EMFILE || errno == ENFILE) {
                        if (accept_starved(control, fd) < 0)
                                return 0;
                        continue;
                }
                if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                        log_warning("control: accept failed: %m, retrying");
                return 0;
        }
        return 0;
}

static int mkdir_parent(const char *path) {
        _cleanup_free_ char *d = strdup(path);
        char *slash;

        if (!d)
                return -ENOMEM;
        slash = strrchr(d, '/');
        if (!slash || slash == d)
                return 0;
        *slash = '\0';
        if (mkdir(d, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

/*
 * The socket path becomes ours: the lock first, then a socket that still answers is left alone
 * and a stale one replaced.  Sets control->lock_fd and control->listen_fd (closed by
 * control_free()).
 */
static int socket_take(Control *control, const char *path, mode_t mode) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_free_ char *lock_path = NULL;

        memcpy(sa.sun_path, path, strlen(path));
        if (asprintf(&lock_path, "%s.lock", path) < 0)
                return -ENOMEM;
        control->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (control->lock_fd < 0)
                return log_error_errno(negative_errno(), "cannot open lock file %s: %m",
                                       lock_path);
        if (flock(control->lock_fd, LOCK_EX | LOCK_NB) < 0)
                return log_error_errno(-EADDRINUSE, "another upkeepd is already running on %s, "
                                       "refusing to start", path);
        control->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (control->listen_fd < 0)
                return log_error_errno(negative_errno(), "cannot create socket: %m");
        /* the lock is ours, yet a process that does not know about it may be listening */
        if (connect(control->listen_fd, (struct sockaddr *) &sa, sizeof sa) == 0)
                return log_error_errno(-EADDRINUSE,
                                       "something is listening on %s, refusing to start", path);
        if (errno == ECONNREFUSED)
                log_info("removing stale socket %s", path);
        close(control->listen_fd);
        control->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        (void) unlink(path);
        if (control->listen_fd < 0 ||
            bind(control->listen_fd, (struct sockaddr *) &sa, sizeof sa) < 0 ||
            chmod(path, mode) < 0 ||
            (control->group != (gid_t) -1 && chown(path, (uid_t) -1, control->group) < 0) ||
            listen(control->listen_fd, 64) < 0)
                return log_error_errno(negative_errno(), "cannot listen on %s: %m", path);
        return 0;
}

int control_new(sd_event *e, Supervisor *sup, Alerts *alerts, const char *path, Control **ret) {
        const Config *config = sup_config(sup);
        Control *control;
        int r;

        if (strlen(path) >= sizeof(((struct sockaddr_un *) NULL)->sun_path))
                return log_error_errno(-ENAMETOOLONG, "socket path too long: %s", path);
        (void) mkdir_parent(path);

        control = calloc(1, sizeof(Control));
        if (!control)
                return -ENOMEM;
        control->sup = sup;
        control->alerts = alerts;
        control->listen_fd = -1;
        control->lock_fd = -1;
        control->group = (gid_t) -1;
        /* see accept_starved(); without it, running out of descriptors is still survived */
        control->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        control->path = strdup(path);
        if (!control->path) {
                r = -ENOMEM;
                goto fail;
        }
        if (config->socket_group && userdb_group(config->socket_group, &control->group) < 0) {
                r = log_error_errno(-ESRCH, "socket-group '%s' does not exist",
                                    config->socket_group);
                goto fail;
        }
        r = socket_take(control, path, config->socket_mode);
        if (r < 0)
                goto fail;
        r = sd_event_add_io(e, &control->listen_source, control->listen_fd, EPOLLIN, on_accept,
                            control);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(control->listen_source, "control-listen");
        *ret = control;
        return 0;
fail:
        control_free(control, false); /* closes what was opened, unlinks nothing */
        return r;
}

Control *control_free(Control *control, bool unlink_socket) {
        if (!control)
                return NULL;
        while (control->clients)
                client_free(control->clients);
        sd_event_source_disable_unref(control->listen_source);
        sd_event_source_disable_unref(control->accept_retry);
        if (control->reserve_fd >= 0)
                close(control->reserve_fd);
        if (control->listen_fd >= 0) {
                close(control->listen_fd);
                if (unlink_socket)
                        (void) unlink(control->path);
        }
        if (control->lock_fd >= 0)
                close(control->lock_fd);
        free(control->path);
        free(control);
        return NULL;
}
