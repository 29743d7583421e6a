/*
 * The metrics listener (see webserver.h) on libmicrohttpd, which parses HTTP so upkeepd does
 * not: MHD_USE_EPOLL without MHD_USE_INTERNAL_POLLING_THREAD is its "external" mode, in which it
 * starts no thread and does its work only inside MHD_run(), called from the loop when its epoll
 * descriptor is readable or its timeout passed.
 *
 * What a hostile client can take is bounded by libmicrohttpd's options: WEB_MAX_CONNECTIONS in
 * all and WEB_MAX_PER_IP from one address (more are refused at accept), WEB_MEMORY per
 * connection (a longer request head is answered 431 and closed), and WEB_IDLE_TIMEOUT without
 * a byte (then closed).  Anything but GET and HEAD is answered 405 and the connection closed.
 * A connection holds its answer until the client read it: a scrape of 1000 instances is about
 * a megabyte, so the cap on connections is also the cap on that memory.
 * Nothing is logged: a request may carry the token, and a flood of them must not fill the log.
 */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collector.h"
#include "config.h"
#include "log.h"
#include "mhd-dl.h"
#include "proto.h"
#include "requests.h"
#include "statuspage.h"
#include "webserver.h"

#define WEB_MAX_CONNECTIONS 32
#define WEB_MAX_PER_IP 16
#define WEB_MEMORY (32 * 1024)      /* request head and buffers, per connection */
#define WEB_IDLE_TIMEOUT 10         /* seconds without a byte */
#define WEB_MAX_TOKEN 4096
#define WEB_REFRESH_SEC 5           /* the page's meta refresh */

struct WebServer {
        Supervisor *sup;
        Alerts *alerts;
        struct MHD_Daemon *mhd;
        sd_event_source *io, *timer;
        char *token_file;
        char *token;                /* NULL: none asked for */
};

/* The token file's first line; a file that cannot be read is an error, not "no token". */
static int read_token(const char *path, char **ret) {
        char buf[WEB_MAX_TOKEN + 2];
        ssize_t n;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        buf[strcspn(buf, "\r\n")] = '\0';
        if (!buf[0] || strlen(buf) > WEB_MAX_TOKEN)
                return -EINVAL;
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

/* Every byte compared whatever the first difference: the time says nothing of the token. */
static bool token_matches(const char *want, const char *got) {
        size_t lw = strlen(want), lg = got ? strlen(got) : 0;
        unsigned char diff = lw != lg;

        for (size_t k = 0; k < lw; k++)
                diff |= (unsigned char) want[k] ^ (unsigned char) (k < lg ? got[k] : 0);
        return diff == 0;
}

static bool authorized(WebServer *w, struct MHD_Connection *c) {
        const char *h;

        if (!w->token)
                return true;
        h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        if (!h || strncasecmp(h, "Bearer ", 7) != 0)
                return token_matches(w->token, NULL);
        return token_matches(w->token, h + 7);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type,
                             char *body, size_t len, bool close_after) {
        struct MHD_Response *r;
        enum MHD_Result ret;

        r = MHD_create_response_from_buffer(len, body, body ? MHD_RESPMEM_MUST_FREE
                                                            : MHD_RESPMEM_PERSISTENT);
        if (!r) {
                free(body);
                return MHD_NO;
        }
        (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        (void) MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        (void) MHD_add_response_header(r, "Content-Security-Policy",
                                       "default-src 'none'; style-src 'unsafe-inline'");
        (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
                (void) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        if (code == MHD_HTTP_UNAUTHORIZED)
                (void) MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
        if (close_after)
                (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
        ret = MHD_queue_response(c, code, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned code, const char *text,
                                  bool close_after) {
        char *copy = strdup(text);

        return copy ? reply(c, code, "text/plain; charset=utf-8", copy, strlen(copy), close_after)
                    : MHD_NO;
}

/* The status --json document, as the control socket answers it to a read-only client. */
static json_t *status_answer(WebServer *w) {
        static const char req[] = "{\"cmd\":\"status\"}";

        return request_answer(w->sup, w->alerts, req, sizeof req - 1, false, (uid_t) -1);
}

static json_t *alerts_answer(WebServer *w) {
        static const char req[] = "{\"cmd\":\"alerts\"}";

        return request_answer(w->sup, w->alerts, req, sizeof req - 1, false, (uid_t) -1);
}

static enum MHD_Result serve(WebServer *w, struct MHD_Connection *c, const char *url) {
        size_t len;
        char *body;

        if (strcmp(url, "/healthz") == 0)
                return reply_text(c, MHD_HTTP_OK, "ok\n", false);
        if (!authorized(w, c))
                return reply_text(c, MHD_HTTP_UNAUTHORIZED, "a bearer token is needed\n", false);
        if (strcmp(url, "/metrics") == 0) {
                body = collector_text(w->sup, w->alerts, &len);
                return body ? reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                                    body, len, false)
                            : reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", true);
        }
        if (strcmp(url, "/status.json") == 0 || strcmp(url, "/") == 0) {
                json_t *ans = status_answer(w);
                json_t *al = strcmp(url, "/") == 0 ? alerts_answer(w) : NULL;

                body = !ans ? NULL
                       : url[1] ? proto_dump(ans)
                                : status_page_html(ans, al, WEB_REFRESH_SEC);
                json_decref(ans);
                json_decref(al);
                if (!body)
                        return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n",
                                          true);
                return reply(c, MHD_HTTP_OK,
                             url[1] ? "application/json" : "text/html; charset=utf-8", body,
                             strlen(body), false);
        }
        return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: /metrics, /status.json, / or "
                          "/healthz\n", false);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
        (void) version;
        (void) upload_data;
        (void) con_cls;
        /* answered before any body is read: the connection is closed after it */
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
                return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n", true);
        if (*upload_data_size > 0)
                return reply_text(c, MHD_HTTP_BAD_REQUEST, "no body expected\n", true);
        return serve(cls, c, url);
}

/* MHD's next deadline on our timer; none: disabled. */
static void rearm(WebServer *w) {
        MHD_UNSIGNED_LONG_LONG ms;
        uint64_t now;

        if (MHD_get_timeout(w->mhd, &ms) != MHD_YES) {
                (void) sd_event_source_set_enabled(w->timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_now(sd_event_source_get_event(w->timer), CLOCK_MONOTONIC, &now);
        (void) sd_event_source_set_time(w->timer, now + ms * USEC_PER_MSEC);
        (void) sd_event_source_set_enabled(w->timer, SD_EVENT_ONESHOT);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        WebServer *w = userdata;

        (void) s;
        (void) fd;
        (void) revents;
        (void) MHD_run(w->mhd);
        rearm(w);
        return 0;
}

static int on_mhd_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) s;
        (void) usec;
        return on_io(NULL, -1, 0, userdata);
}

int webserver_new(sd_event *e, Supervisor *sup, Alerts *alerts, const char *listen,
                  const char *token_file, WebServer **ret) {
        struct sockaddr_storage ss;
        const union MHD_DaemonInfo *info;
        WebServer *w;
        int r;

        if (conf_parse_listen(listen, &ss) < 0)
                return -EINVAL;
        r = mhd_dl_load();
        if (r < 0)
                return r;
        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->sup = sup;
        w->alerts = alerts;
        if (token_file) {
                w->token_file = strdup(token_file);
                r = w->token_file ? read_token(token_file, &w->token) : -ENOMEM;
                if (r < 0) {
                        log_error("metrics: cannot read the token from %s: %s", token_file,
                                  r == -EINVAL ? "empty or too long" : strerror(-r));
                        webserver_free(w);
                        return r;
                }
        }
        w->mhd = MHD_start_daemon(MHD_USE_EPOLL | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                                  0, NULL, NULL, on_request, w,
                                  MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &ss,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned) WEB_MAX_CONNECTIONS,
                                  MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned) WEB_MAX_PER_IP,
                                  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) WEB_MEMORY,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) WEB_IDLE_TIMEOUT,
                                  MHD_OPTION_END);
        if (!w->mhd) {
                r = errno > 0 ? -errno : -EADDRNOTAVAIL;
                log_error("metrics: cannot listen on %s: %s", listen, strerror(-r));
                webserver_free(w);
                return r;
        }
        info = MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        r = info ? sd_event_add_io(e, &w->io, info->epoll_fd, EPOLLIN, on_io, w) : -EINVAL;
        if (r >= 0)
                r = sd_event_add_time(e, &w->timer, CLOCK_MONOTONIC, USEC_INFINITY, 0, on_mhd_timer,
                                      w);
        if (r < 0) {
                webserver_free(w);
                return r;
        }
        rearm(w);
        log_info("metrics: listening on http://%s", listen);
        *ret = w;
        return 0;
}

int webserver_reload_token(WebServer *w) {
        char *token = NULL;
        int r;

        if (!w->token_file)
                return 0;
        r = read_token(w->token_file, &token);
        if (r < 0) {
                log_error("metrics: cannot read the token from %s: %s; the previous one stays",
                          w->token_file, r == -EINVAL ? "empty or too long" : strerror(-r));
                return 0;
        }
        explicit_bzero(w->token, strlen(w->token));
        free(w->token);
        w->token = token;
        return 0;
}

WebServer *webserver_free(WebServer *w) {
        if (!w)
                return NULL;
        w->io = sd_event_source_disable_unref(w->io);
        w->timer = sd_event_source_disable_unref(w->timer);
        if (w->mhd)
                MHD_stop_daemon(w->mhd);
        if (w->token) {
                explicit_bzero(w->token, strlen(w->token));
                free(w->token);
        }
        free(w->token_file);
        free(w);
        return NULL;
}
