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
#include <grp.h>
#include <pwd.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "alerts.h"
#include "control.h"
#include "log.h"
#include "logs.h"
#include "parse.h"
#include "proto.h"
#include "utf8.h"

typedef enum Access {
        ACCESS_NONE,
        ACCESS_READ,    /* status, health, alerts */
        ACCESS_COMMAND, /* and start, stop, restart, reload, alerts test */
} Access;

typedef struct Client {
        struct Client *next, **pprev;
        Control *ctl;
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
static void readers_dequeued(Control *ctl, size_t n) {
        bool was_over = ctl->readers_queued >= PROTO_TOTAL_QUEUE;

        ctl->readers_queued -= MIN(n, ctl->readers_queued);
        if (was_over && ctl->readers_queued < PROTO_TOTAL_QUEUE)
                for (Client *c = ctl->clients; c; c = c->next)
                        if (!client_trusted(c))
                                client_update(c);
}

static void client_free(Client *c) {
        if (!c)
                return;
        if (c->next)
                c->next->pprev = c->pprev;
        *c->pprev = c->next;
        c->ctl->n_clients--;
        if (client_trusted(c))
                c->ctl->n_trusted--;
        else
                readers_dequeued(c->ctl, client_queued(c));
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->timer);
        sd_event_source_disable_unref(c->defer);
        close(c->fd);
        free(c->in.buf);
        free(c->out);
        free(c);
}

static double seconds(usec_t u) {
        return (double) u / (double) USEC_PER_SEC;
}

static json_t *health_json(const Instance *i) {
        const Probe *p = &i->probe;
        json_t *o, *last = json_null();

        if (!p->url)
                return json_null();
        if (p->has_last)
                last = json_pack("{s:f, s:f, s:i, s:s, s:o}", "at_unix_s", seconds(p->last_at),
                                 "latency_ms", (double) p->last_latency / USEC_PER_MSEC,
                                 "http_code", (json_int_t) p->last_code, "class",
                                 health_class_to_string(p->last_class), "reason",
                                 p->last_reason[0] ? utf8_json_string(p->last_reason)
                                                   : json_null());
        o = json_pack("{s:s, s:i, s:I, s:I, s:I, s:o}", "state", health_class_to_string(p->state),
                      "consecutive_failures", (json_int_t) p->fails, "probes_sent",
                      (json_int_t) p->sent, "probes_answered", (json_int_t) p->answered,
                      "probes_skipped", (json_int_t) p->skipped, "last", last);
        return o;
}

/* {"crash": {"1m": 0, "5m": 2, "15m": 2, "1h": 3, "total": 3}, ...} */
static json_t *windows_json(Worker *w, usec_t t) {
        static const char *const span_names[WIN_N_SPANS] = { "1m", "5m", "15m", "1h" };
        json_t *o = json_object();

        for (int k = 0; k < _EVK_MAX; k++) {
                json_t *c = json_object();
                for (int n = 0; n < WIN_N_SPANS; n++)
                        json_object_set_new(c, span_names[n],
                                            json_integer(worker_events(w, (EventKind) k, t,
                                                                   win_spans[n])));
                json_object_set_new(c, "total", json_integer((json_int_t) worker_events_total(
                                                        w, (EventKind) k)));
                json_object_set_new(o, event_kind_to_string((EventKind) k), c);
        }
        return o;
}

static json_t *instance_json(const Instance *i, usec_t t) {
        json_t *o = json_pack("{s:s, s:i, s:s, s:f, s:i, s:i}", "name", i->name, "index",
                              (json_int_t) i->index, "state", state_to_string(i->state),
                              "state_since_s", seconds(t - i->state_since), "restarts",
                              (json_int_t) i->restarts, "attempt", (json_int_t) i->attempt);

        if (!o)
                return NULL;
        json_object_set_new(o, "pid", i->pid > 0 ? json_integer(i->pid) : json_null());
        json_object_set_new(o, "uptime_s",
                            i->pid > 0 ? json_real(seconds(t - i->started_at)) : json_null());
        if (!i->has_exited)
                json_object_set_new(o, "last_exit", json_null());
        else if (i->exit_signal)
                json_object_set_new(o, "last_exit",
                                    json_pack("{s:s}", "signal",
                                              SIGNAL_NAME(i->exit_signal)));
        else
                json_object_set_new(o, "last_exit", json_pack("{s:i}", "code", i->exit_code));
        json_object_set_new(o, "next_retry_s",
                            i->state == STATE_BACKOFF && i->next_retry_at > t
                                    ? json_real(seconds(i->next_retry_at - t))
                            : i->state == STATE_BACKOFF ? json_real(0)
                                                        : json_null());
        json_object_set_new(o, "reason", i->reason[0] ? utf8_json_string(i->reason) : json_null());
        json_object_set_new(o, "health", health_json(i));
        json_object_set_new(o, "output", logs_output_json(i->log_output, sup_output_spec(i, &(OutputSpec) {})));
        return o;
}

/* Control request "logfile": {"ok": true, "files": [{"name", "path"}]}. */
static json_t *logfile_json(Control *ctl, const char *name, const char **ret_error) {
        _cleanup_free_ Instance **l = NULL;
        json_t *files;
        size_t n;

        if (!name) {
                *ret_error = "this command needs a name";
                return NULL;
        }
        if (sup_find_instances(ctl->sup, name, &l, &n) < 0) {
                *ret_error = "no such process";
                return NULL;
        }
        files = json_array();
        for (size_t k = 0; k < n; k++)
                json_array_append_new(files, logs_file_json(sup_output_spec(l[k], &(OutputSpec) {})));
        return json_pack("{s:b, s:o}", "ok", 1, "files", files);
}

static json_t *status_json(Control *ctl, const char *name, const char **ret_error) {
        Supervisor *s = ctl->sup;
        json_t *workers = json_array(), *ans;
        unsigned not_running = 0;
        usec_t t = 0;

        (void) sd_event_now(s->event, CLOCK_MONOTONIC, &t);
        for (size_t w = 0; w < s->n_workers; w++) {
                Worker *wk = s->workers[w];
                json_t *insts = json_array();
                bool match = !name || strcmp(name, wk->cfg->name) == 0;

                for (unsigned k = 0; k < wk->n_instances; k++)
                        if (match || strcmp(name, wk->instances[k].name) == 0) {
                                json_array_append_new(insts,
                                                      instance_json(&wk->instances[k], t));
                                not_running += wk->instances[k].state != STATE_RUNNING;
                        }
                if (json_array_size(insts) == 0) {
                        json_decref(insts);
                        continue;
                }
                json_array_append_new(
                        workers,
                        json_pack("{s:s, s:s, s:b, s:b, s:o, s:o}", "name", wk->cfg->name,
                                  "policy", restart_policy_to_string(wk->cfg->policy),
                                  "autostart", wk->cfg->autostart, "required", wk->cfg->required,
                                  "events", windows_json(wk, t), "instances", insts));
        }
        if (name && json_array_size(workers) == 0) {
                json_decref(workers);
                *ret_error = "no such process";
                return NULL;
        }
        /* "ok" and "not_running" first: upkeepctl status --json reads its exit status from
         * the head of the line (see PROTO_STATUS_HEAD) */
        ans = json_pack("{s:b, s:i, s:i, s:{s:s, s:i, s:f, s:o, s:i, s:b}}", "ok", 1,
                        "not_running", (json_int_t) not_running, "version", PROTO_VERSION,
                        "daemon", "version", UPKEEP_VERSION, "pid",
                        (json_int_t) getpid(), "uptime_s", seconds(t - s->started_at),
                        "config", utf8_json_string(s->config->path), "orphans_reaped",
                        (json_int_t) s->orphans_reaped, "shutting_down", s->shutting_down);
        json_object_set_new(ans, "workers", workers);
        return ans;
}

static const char *const done_words[_EV_MAX] = {
        [EV_START] = "started",
        [EV_STOP] = "stopped",
        [EV_RESTART] = "restarted",
};

static json_t *command_json(Control *ctl, FsmEvent ev, const char *name, const char **ret_error) {
        _cleanup_free_ Instance **l = NULL;
        json_t *results;
        size_t n;

        if (ctl->sup->shutting_down) {
                *ret_error = "shutting down";
                return NULL;
        }
        if (sup_find_instances(ctl->sup, name, &l, &n) < 0) {
                *ret_error = "no such process";
                return NULL;
        }
        results = json_array();
        for (size_t k = 0; k < n; k++) {
                FsmReply r = sup_command(l[k], ev);
                /* while a previous upkeepd's processes are stopped, a start only waits for that */
                const char *done = ctl->sup->recovery && ev != EV_STOP ? "queued" : done_words[ev];

                if (r == REPLY_OK)
                        json_array_append_new(results, json_pack("{s:s, s:b, s:s}", "name",
                                                                 l[k]->name, "ok", 1, "result",
                                                                 done));
                else
                        json_array_append_new(results,
                                              json_pack("{s:s, s:b, s:s}", "name", l[k]->name,
                                                        "ok", 0, "error", fsm_reply_to_string(r)));
        }
        return json_pack("{s:b, s:o}", "ok", 1, "results", results);
}

static json_t *strv_json(char **l) {
        json_t *a = json_array();

        for (char **p = l; p && *p; p++)
                json_array_append_new(a, json_string(*p));
        return a;
}

static json_t *reload_json(Control *ctl, const char **ret_error, char **ret_detail) {
        ReloadSummary sum;
        json_t *ans;

        if (ctl->sup->shutting_down) {
                *ret_error = "shutting down";
                return NULL;
        }
        if (sup_reload_file(ctl->sup, &sum, ret_detail) < 0) {
                *ret_error = "reload failed";
                return NULL;
        }
        ans = json_pack("{s:b, s:o, s:o, s:o, s:o}", "ok", 1, "added", strv_json(sum.added),
                        "removed", strv_json(sum.removed), "restarted", strv_json(sum.restarted),
                        "kept", strv_json(sum.kept));
        reload_summary_done(&sum);
        return ans;
}

/* RUNNING, and healthy when probed: what a container HEALTHCHECK wants to know. */
static json_t *health_check_json(Control *ctl) {
        Supervisor *s = ctl->sup;
        json_t *bad = json_array();
        bool any_required = false;

        for (size_t w = 0; w < s->n_workers; w++)
                any_required = any_required || s->workers[w]->cfg->required;
        for (size_t w = 0; w < s->n_workers; w++) {
                Worker *wk = s->workers[w];
                if (any_required && !wk->cfg->required)
                        continue;
                for (unsigned k = 0; k < wk->n_instances; k++) {
                        const Instance *i = &wk->instances[k];
                        bool good = i->state == STATE_RUNNING &&
                                    (!i->probe.url || i->probe.state == HEALTH_HEALTHY ||
                                     i->probe.state == HEALTH_DEGRADED);
                        if (!good && !(i->admin_stopped && !any_required))
                                json_array_append_new(
                                        bad, json_pack("{s:s, s:s, s:s}", "name", i->name, "state",
                                                       state_to_string(i->state), "health",
                                                       health_class_to_string(i->probe.state)));
                }
        }
        return json_pack("{s:b, s:b, s:s, s:o}", "ok", 1, "healthy", json_array_size(bad) == 0,
                         "scope", any_required ? "required" : "all", "failing", bad);
}

static bool is_command(const char *cmd) {
        static const char *const commands[] = { "start", "stop", "restart", "reload",
                                                "alerts-test", "reopen-logs" };
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (strcmp(cmd, commands[i]) == 0)
                        return true;
        return false;
}

/* Decode one request line and build its answer; every failure becomes an error answer. */
static json_t *handle_request(Control *ctl, Client *c, const char *line, size_t len) {
        _cleanup_(proto_request_done) ProtoRequest req = {};
        const char *cmd = NULL, *name = NULL, *error = NULL;
        _cleanup_free_ char *detail = NULL;
        json_t *ans = NULL;

        (void) proto_decode_request(line, len, &req, &error);
        cmd = req.cmd;
        name = req.name;
        if (!cmd)
                ans = NULL; /* not a request: error says why */
        else if (is_command(cmd) && c->access < ACCESS_COMMAND) {
                error = "permission denied: only root and members of the socket group may "
                        "command";
                log_notice("control: uid %u may not '%s', refused", (unsigned) c->uid, cmd);
        } else if (strcmp(cmd, "status") == 0)
                ans = status_json(ctl, name, &error);
        else if (strcmp(cmd, "start") == 0 || strcmp(cmd, "stop") == 0 ||
                 strcmp(cmd, "restart") == 0) {
                FsmEvent ev = cmd[2] == 'a' ? EV_START : cmd[2] == 'o' ? EV_STOP : EV_RESTART;
                if (!name)
                        error = "this command needs a name";
                else
                        ans = command_json(ctl, ev, name, &error);
        } else if (strcmp(cmd, "reload") == 0)
                ans = reload_json(ctl, &error, &detail);
        else if (strcmp(cmd, "logfile") == 0)
                ans = logfile_json(ctl, name, &error);
        else if (strcmp(cmd, "reopen-logs") == 0)
                ans = logs_reopen_json();
        else if (strcmp(cmd, "health") == 0)
                ans = health_check_json(ctl);
        else if (strcmp(cmd, "alerts") == 0) {
                ans = alerts_json(ctl->sup->alerts);
                if (ans)
                        json_object_set_new(ans, "ok", json_true());
        } else if (strcmp(cmd, "alerts-test") == 0) {
                if (!name)
                        error = "this command needs a sink name";
                else if (alerts_test(ctl->sup->alerts, name) < 0)
                        error = "no such sink";
                else
                        ans = json_pack("{s:b, s:s}", "ok", 1, "result", "queued");
        }
        else
                error = "unknown command";

        if (!ans) {
                ans = json_pack("{s:b, s:s}", "ok", 0, "error", error ?: "out of memory");
                if (detail) {
                        /* one line: the first error of the file, with its file:line */
                        detail[strcspn(detail, "\n")] = '\0';
                        json_object_set_new(ans, "detail", utf8_json_string(detail));
                }
        }
        return ans;
}

static void client_touch(Client *c) {
        usec_t t = 0;

        (void) sd_event_now(sd_event_source_get_event(c->io), CLOCK_MONOTONIC, &t);
        (void) sd_event_source_set_time(c->timer, t + PROTO_IDLE_TIMEOUT_SEC * USEC_PER_SEC);
}

/*
 * What to wait for: the next request only while the client may be served and no complete line
 * is buffered (those are taken on later turns, through the defer source), so that a client that
 * does not read its answers is not read either: its requests wait in the kernel, and its writes
 * block.  Its idle timer is not touched meanwhile, so it is dropped after the idle timeout.
 */
static void client_update(Client *c) {
        bool may = proto_may_serve(client_queued(c), c->ctl->readers_queued, client_trusted(c));
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
                        readers_dequeued(c->ctl, sent);
        }
        return 0;
}

static int queue_answer(Client *c, json_t *ans) {
        _cleanup_free_ char *s = json_dumps(ans, JSON_COMPACT);
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
                c->ctl->readers_queued += l + 1;
        return 0;
}

/* Best effort: one error line for a client we are about to drop, then the connection goes. */
static void client_refuse(Client *c, const char *error) {
        if (queue_answer(c, json_pack("{s:b, s:s}", "ok", 0, "error", error)) >= 0)
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
                size_t l;
                int r;

                if (!proto_may_serve(client_queued(c), c->ctl->readers_queued, client_trusted(c)))
                        break;
                r = proto_reader_next(&c->in, &line, &l);
                if (r == -EMSGSIZE) {
                        log_warning("control: request over %d bytes, closing the connection",
                                    PROTO_MAX_REQUEST);
                        client_refuse(c, "request too long");
                        return r;
                }
                if (r == 0)
                        break;
                if (queue_answer(c, handle_request(c->ctl, c, line, l)) < 0) {
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
static Access peer_access(Control *ctl, int fd, uid_t *ret_uid) {
        struct ucred cred;
        socklen_t l = sizeof cred;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &l) < 0)
                return ACCESS_NONE;
        *ret_uid = cred.uid;
        if (cred.uid == 0 || cred.uid == geteuid())
                return ACCESS_COMMAND;
        if (ctl->group != (gid_t) -1) {
                gid_t groups[256], *g = groups; /* the kernel allows 65536: ask again */
                _cleanup_free_ gid_t *big = NULL;
                socklen_t gl = sizeof groups;

                if (cred.gid == ctl->group)
                        return ACCESS_COMMAND;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &gl) < 0) {
                        /* fails closed: without them, the primary group alone counts */
                        if (errno != ERANGE || !(big = malloc(gl)) ||
                            getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, big, &gl) < 0)
                                gl = 0;
                        g = big;
                }
                for (size_t i = 0; i < gl / sizeof(gid_t); i++)
                        if (g[i] == ctl->group)
                                return ACCESS_COMMAND;
        }
        return ctl->sup->config->others_read ? ACCESS_READ : ACCESS_NONE;
}
static const char *slot_refusal(Control *ctl, Access access, uid_t uid) {
        unsigned same = 0;

        if (ctl->n_clients >= PROTO_MAX_CLIENTS)
                return "too many clients";
        if (access >= ACCESS_COMMAND)
                return NULL;
        if (ctl->n_clients - ctl->n_trusted >= PROTO_MAX_CLIENTS - PROTO_TRUSTED_SLOTS)
                return "too many clients";
        for (Client *c = ctl->clients; c; c = c->next)
                same += c->uid == uid;
        return same >= PROTO_MAX_READER_CLIENTS ? "too many clients of this user" : NULL;
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata);

static int on_accept_retry(sd_event_source *src, uint64_t usec, void *userdata) {
        Control *ctl = userdata;

        (void) src, (void) usec;
        if (ctl->reserve_fd < 0)
                ctl->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        (void) sd_event_source_set_enabled(ctl->listen_source, SD_EVENT_ON);
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
static int accept_starved(Control *ctl, int fd) {
        sd_event *e = sd_event_source_get_event(ctl->listen_source);
        int cfd = -1;

        if (!ctl->starved) {
                log_warning("control: out of file descriptors (%m), refusing clients until some "
                            "are free");
                ctl->starved = true;
                ctl->starved_refused = 0;
        }
        if (ctl->reserve_fd >= 0) {
                close(ctl->reserve_fd);
                cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (cfd >= 0) {
                        close(cfd);
                        ctl->starved_refused++;
                }
                ctl->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        }
        if (cfd >= 0 && ctl->reserve_fd >= 0)
                return 0;
        (void) sd_event_source_set_enabled(ctl->listen_source, SD_EVENT_OFF);
        if (!ctl->accept_retry) {
                if (sd_event_add_time_relative(e, &ctl->accept_retry, CLOCK_MONOTONIC,
                                               USEC_PER_SEC, 100 * USEC_PER_MSEC,
                                               on_accept_retry, ctl) < 0) {
                        /* cannot pause: listen again, the next failure tries once more */
                        (void) sd_event_source_set_enabled(ctl->listen_source, SD_EVENT_ON);
                        return -ENOMEM;
                }
                (void) sd_event_source_set_description(ctl->accept_retry, "control-accept-retry");
        } else {
                (void) sd_event_source_set_time_relative(ctl->accept_retry, USEC_PER_SEC);
        }
        (void) sd_event_source_set_enabled(ctl->accept_retry, SD_EVENT_ONESHOT);
        return -EMFILE;
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Control *ctl = userdata;
        sd_event *e = sd_event_source_get_event(src);
        Client *c;
        int cfd;

        (void) revents;
        /* a burst of connections is taken a bounded number at a time, like requests */
        for (unsigned k = 0; k < PROTO_MAX_CLIENTS; k++) {
                const char *refusal;
                Access access;
                uid_t uid = (uid_t) -1;

                cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (cfd < 0) {
                        if (errno == EMFILE || errno == ENFILE) {
                                if (accept_starved(ctl, fd) < 0)
                                        return 0;
                                continue;
                        }
                        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                log_warning("control: accept failed: %m, retrying");
                        return 0;
                }
                if (ctl->starved) {
                        log_notice("control: file descriptors available again (%u clients "
                                   "refused meanwhile)", ctl->starved_refused);
                        ctl->starved = false;
                }
                access = peer_access(ctl, cfd, &uid);
                if (access == ACCESS_NONE) {
                        log_notice("control: uid %u is neither root nor in the socket group, "
                                   "closing", (unsigned) uid);
                        close(cfd);
                        continue;
                }
                refusal = slot_refusal(ctl, access, uid);
                if (refusal) {
                        /* a flood of connections must not eat our descriptors, and read-only
                         * clients must not take the slots of those who command.  Closed
                         * without a word, as always: a client retrying on an end of file must
                         * not take a refusal line for an answer */
                        log_warning("control: %u clients connected, refusing one of uid %u: %s",
                                    ctl->n_clients, (unsigned) uid, refusal);
                        close(cfd);
                        continue;
                }
                c = calloc(1, sizeof(Client));
                if (c)
                        c->in.buf = malloc(PROTO_MAX_REQUEST);
                if (!c || !c->in.buf ||
                    sd_event_add_io(e, &c->io, cfd, EPOLLIN, on_client, c) < 0 ||
                    sd_event_add_time_relative(e, &c->timer, CLOCK_MONOTONIC,
                                               PROTO_IDLE_TIMEOUT_SEC * USEC_PER_SEC,
                                               USEC_PER_SEC, on_client_timeout, c) < 0 ||
                    sd_event_add_defer(e, &c->defer, on_client_defer, c) < 0) {
                        log_warning("control: cannot serve a client: out of resources");
                        if (c) {
                                sd_event_source_disable_unref(c->io);
                                sd_event_source_disable_unref(c->timer);
                                free(c->in.buf);
                                free(c);
                        }
                        close(cfd);
                        continue;
                }
                /* below every other source: buffered requests are taken when nothing else
                 * is pending (a tie with an accept or another client would go either way) */
                (void) sd_event_source_set_priority(c->defer, SD_EVENT_PRIORITY_NORMAL + 1);
                (void) sd_event_source_set_enabled(c->defer, SD_EVENT_OFF);
                (void) sd_event_source_set_description(c->io, "control-client");
                c->ctl = ctl;
                c->fd = cfd;
                c->access = access;
                c->uid = uid;
                c->next = ctl->clients;
                if (ctl->clients)
                        ctl->clients->pprev = &c->next;
                c->pprev = &ctl->clients;
                ctl->clients = c;
                ctl->n_clients++;
                ctl->n_trusted += client_trusted(c);
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

int ctl_new(sd_event *e, Supervisor *sup, const char *path, Control **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_free_ char *lock_path = NULL;
        Control *ctl;
        int r;

        if (strlen(path) >= sizeof sa.sun_path)
                return log_error_errno(-ENAMETOOLONG, "socket path too long: %s", path);
        memcpy(sa.sun_path, path, strlen(path));
        if (asprintf(&lock_path, "%s.lock", path) < 0)
                return -ENOMEM;
        (void) mkdir_parent(path);

        ctl = calloc(1, sizeof(Control));
        if (!ctl)
                return -ENOMEM;
        ctl->sup = sup;
        ctl->listen_fd = -1;
        ctl->lock_fd = -1;
        ctl->group = (gid_t) -1;
        /* see accept_starved(); without it, running out of descriptors is still survived */
        ctl->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (sup->config->socket_group) {
                char buf[4096];
                struct group gr, *grp = NULL;

                if (getgrnam_r(sup->config->socket_group, &gr, buf, sizeof buf, &grp) != 0 ||
                    !grp) {
                        r = log_error_errno(-ESRCH, "socket-group '%s' does not exist",
                                            sup->config->socket_group);
                        goto fail;
                }
                ctl->group = gr.gr_gid;
        }
        ctl->path = strdup(path);
        ctl->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (!ctl->path || ctl->lock_fd < 0) {
                r = log_error_errno(negative_errno(), "cannot open lock file %s: %m", lock_path);
                goto fail;
        }
        if (flock(ctl->lock_fd, LOCK_EX | LOCK_NB) < 0) {
                r = log_error_errno(-EADDRINUSE,
                                    "another upkeepd is already running on %s, refusing to start",
                                    path);
                goto fail;
        }
        ctl->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (ctl->listen_fd < 0) {
                r = log_error_errno(negative_errno(), "cannot create socket: %m");
                goto fail;
        }
        /* the lock is ours, yet a process that does not know about it may be listening */
        if (connect(ctl->listen_fd, (struct sockaddr *) &sa, sizeof sa) == 0) {
                r = log_error_errno(-EADDRINUSE, "something is listening on %s, refusing to start",
                                    path);
                goto fail;
        }
        if (errno == ECONNREFUSED)
                log_info("removing stale socket %s", path);
        close(ctl->listen_fd);
        ctl->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        (void) unlink(path);
        if (ctl->listen_fd < 0 || bind(ctl->listen_fd, (struct sockaddr *) &sa, sizeof sa) < 0 ||
            chmod(path, sup->config->socket_mode) < 0 ||
            (ctl->group != (gid_t) -1 && chown(path, (uid_t) -1, ctl->group) < 0) ||
            listen(ctl->listen_fd, 64) < 0) {
                r = log_error_errno(negative_errno(), "cannot listen on %s: %m", path);
                goto fail;
        }
        r = sd_event_add_io(e, &ctl->listen_source, ctl->listen_fd, EPOLLIN, on_accept, ctl);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(ctl->listen_source, "control-listen");
        *ret = ctl;
        return 0;
fail:
        if (ctl->listen_fd >= 0)
                close(ctl->listen_fd);
        ctl->listen_fd = -1;
        ctl_free(ctl, false);
        return r;
}

Control *ctl_free(Control *ctl, bool unlink_socket) {
        if (!ctl)
                return NULL;
        while (ctl->clients)
                client_free(ctl->clients);
        sd_event_source_disable_unref(ctl->listen_source);
        sd_event_source_disable_unref(ctl->accept_retry);
        if (ctl->reserve_fd >= 0)
                close(ctl->reserve_fd);
        if (ctl->listen_fd >= 0) {
                close(ctl->listen_fd);
                if (unlink_socket)
                        (void) unlink(ctl->path);
        }
        if (ctl->lock_fd >= 0)
                close(ctl->lock_fd);
        free(ctl->path);
        free(ctl);
        return NULL;
}
