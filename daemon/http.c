/*
 * libcurl's multi socket API on sd-event, wired much as systemd's src/shared/curl-util.c does:
 *   - curl tells us which sockets to watch (socket callback): they go into an epoll set of our
 *     own, whose descriptor is the one IO source sd-event watches.  sd-event dispatches one
 *     source per iteration and polls every ready descriptor again at each, so with one source
 *     per socket a burst of N answers cost N^2 socket polls (most of upkeepd's CPU with 1000
 *     probes); the inner set hands us up to BATCH ready sockets per dispatch instead;
 *   - curl tells us when to call it back (timer callback): one reusable timer source;
 *   - we never call curl from inside its own callbacks;
 *   - after every curl_multi_socket_action() every finished transfer is drained.
 * Bodies are captured in the write callback up to the request's cap, then the transfer is
 * aborted, so a huge or endless body costs at most the cap in memory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <string.h>

#include "clock.h"
#include "curl-dl.h"
#include "http.h"
#include "log.h"
#include "looptime.h"

/* Idle easy handles kept for the next sends: a probe holds one only while it is in flight, so
 * 1000 probes every second need as many handles as are in flight at once, not 1000. */
#define POOL_MAX 64

struct Http {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        int epfd;              /* curl's sockets */
        sd_event_source *epoll_src;
        unsigned persistent;   /* requests sent again and again (probes): connections to keep */
        CURL *pool[POOL_MAX];
        size_t pool_n;
};

struct HttpRequest {
        Http *http;
        CURL *easy;            /* from the pool while in flight, NULL otherwise */
        bool persistent;       /* kept for the next send (probes), not freed when done */
        bool in_flight;
        char *url, *unix_path;
        long timeout_ms;
        long dns_cache_timeout;
        const char *post_body;
        struct curl_slist *headers;
        http_done_t done;
        void *userdata;
        char *body;
        size_t body_len, body_cap, max_body;
        bool truncated;
        usec_t started;
};

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata);

/* A handle with the options every request shares; the rest is set at each send. */
static CURL *easy_new(void) {
        CURL *e = curl_easy_init();

        if (!e)
                return NULL;
        if (curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_USERAGENT, "upkeep") != CURLE_OK ||
            /* answers are small; curl's 16 KiB default per handle adds up */
            curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 4096L) != CURLE_OK) {
                curl_easy_cleanup(e);
                return NULL;
        }
        return e;
}

static CURL *pool_get(Http *h) {
        if (h->pool_n > 0)
                return h->pool[--h->pool_n];
        return easy_new();
}

static void pool_put(Http *h, CURL *e) {
        if (h->pool_n < POOL_MAX)
                h->pool[h->pool_n++] = e;
        else
                curl_easy_cleanup(e);
}

/* Take a request out of the multi and give its easy handle back to the pool. */
static void request_detach(HttpRequest *r) {
        if (!r->in_flight)
                return;
        curl_multi_remove_handle(r->http->multi, r->easy);
        pool_put(r->http, r->easy);
        r->easy = NULL;
        r->in_flight = false;
}

static void set_max_connections(Http *h) {
        /* curl keeps 4 idle connections per easy handle in the multi by default: with pooled
         * handles that is far fewer than the probes, whose connections would be closed */
        (void) curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long) h->persistent + 16);
}

static void request_free(HttpRequest *r) {
        if (!r)
                return;
        request_detach(r);
        if (r->persistent) {
                r->http->persistent--;
                set_max_connections(r->http);
        }
        curl_slist_free_all(r->headers);
        free(r->url);
        free(r->unix_path);
        free(r->body);
        free(r);
}

/* Hand every finished transfer to its owner. */
static void drain(Http *h) {
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(h->multi, &left))) {
                HttpRequest *r = NULL;
                HttpResult res = { 0 };
                CURLcode code;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                code = msg->data.result;
                (void) curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &r);
                if (!r)
                        continue;
                bool r_persistent = r->persistent;
                (void) curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &res.http_code);
                /* a body cut at the cap is an answer, not a failure */
                if (code == CURLE_WRITE_ERROR && r->truncated)
                        code = CURLE_OK;
                res.curl_code = code;
                res.error = code == CURLE_OK ? NULL : curl_easy_strerror(code);
                res.timed_out = code == CURLE_OPERATION_TIMEDOUT;
                res.body = r->body ?: "";
                res.body_len = r->body_len;
                res.truncated = r->truncated;
                res.elapsed = clock_mono_usec() - r->started;
                request_detach(r);
                r->done(&res, r->userdata);
                /* the callback may have freed a persistent request: touch nothing after it */
                if (!r_persistent)
                        request_free(r);
        }
}

#define BATCH 64

/* Some of curl's sockets are ready: hand each to curl, up to BATCH per dispatch (sd-event calls
 * again while the set stays ready, so other sources get their turn in between). */
static int on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Http *h = userdata;
        struct epoll_event ev[BATCH];
        int n, running;

        (void) src, (void) fd, (void) revents;
        n = epoll_wait(h->epfd, ev, BATCH, 0);
        for (int k = 0; k < n; k++) {
                int action = 0;

                if (ev[k].events & (EPOLLIN | EPOLLPRI | EPOLLHUP | EPOLLRDHUP))
                        action |= CURL_CSELECT_IN;
                if (ev[k].events & EPOLLOUT)
                        action |= CURL_CSELECT_OUT;
                if (ev[k].events & EPOLLERR)
                        action |= CURL_CSELECT_ERR;
                /* a socket curl closed while handling an earlier one is a stray action, which
                 * curl ignores */
                if (curl_multi_socket_action(h->multi, ev[k].data.fd, action, &running) != CURLM_OK)
                        log_warning("http: curl could not process socket activity, continuing");
                drain(h);
        }
        return 0;
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        Http *h = userdata;
        int running;

        (void) src, (void) usec;
        if (curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running) != CURLM_OK)
                log_warning("http: curl could not process its timeout, continuing");
        drain(h);
        return 0;
}

/* curl_multi_assign() marks the sockets already in the set (socketp == h). */
static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp) {
        Http *h = userp;
        struct epoll_event ev = { .data.fd = s };

        (void) easy;
        if (what == CURL_POLL_REMOVE) {
                if (socketp) {
                        (void) epoll_ctl(h->epfd, EPOLL_CTL_DEL, s, NULL);
                        curl_multi_assign(h->multi, s, NULL);
                }
                return 0;
        }
        if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
                ev.events |= EPOLLIN;
        if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
                ev.events |= EPOLLOUT;
        if (socketp)
                return epoll_ctl(h->epfd, EPOLL_CTL_MOD, s, &ev) < 0 ? -1 : 0;
        /* EEXIST: the descriptor of a socket closed without a REMOVE, reused */
        if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, s, &ev) < 0 &&
            (errno != EEXIST || epoll_ctl(h->epfd, EPOLL_CTL_MOD, s, &ev) < 0))
                return -1;
        if (curl_multi_assign(h->multi, s, h) != CURLM_OK) {
                (void) epoll_ctl(h->epfd, EPOLL_CTL_DEL, s, NULL);
                return -1;
        }
        return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp) {
        Http *h = userp;
        usec_t t;

        (void) multi;
        if (timeout_ms < 0)
                return sd_event_source_set_enabled(h->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        t = loop_now(h->event);
        /* round up so curl is never called before its deadline */
        if (sd_event_source_set_time(h->timer, t + (usec_t) timeout_ms * USEC_PER_MSEC + 999) < 0 ||
            sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT) < 0)
                return -1;
        return 0;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata) {
        HttpRequest *r = userdata;
        size_t n = size * nmemb, room = r->max_body - r->body_len, take = MIN(n, room);

        if (take > 0) {
                if (r->body_len + take + 1 > r->body_cap) {
                        size_t cap = MAX(r->body_cap * 2, 256);
                        char *b;

                        cap = MIN(MAX(cap, r->body_len + take + 1), r->max_body + 1);
                        b = realloc(r->body, cap);
                        if (!b)
                                return CURL_WRITEFUNC_ERROR;
                        r->body = b;
                        r->body_cap = cap;
                }
                memcpy(r->body + r->body_len, data, take);
                r->body_len += take;
                r->body[r->body_len] = '\0';
        }
        if (take < n) {
                r->truncated = true;
                return CURL_WRITEFUNC_ERROR;
        }
        return n;
}

/* Whether the URL names its host by address (127.0.0.1, [::1]): nothing to resolve again. */
static bool host_is_literal(const char *url) {
        const char *p = strstr(url, "://");
        char host[INET6_ADDRSTRLEN + 1];
        unsigned char buf[sizeof(struct in6_addr)];
        size_t n;

        if (!p)
                return false;
        p += 3;
        if (*p == '[') {
                n = strcspn(++p, "]");
                if (p[n] != ']' || n >= sizeof host)
                        return false;
                memcpy(host, p, n);
                host[n] = '\0';
                return inet_pton(AF_INET6, host, buf) == 1;
        }
        n = strcspn(p, ":/?#");
        if (n >= sizeof host)
                return false;
        memcpy(host, p, n);
        host[n] = '\0';
        return inet_pton(AF_INET, host, buf) == 1;
}

int http_request_new(Http *h, const HttpRequestSpec *spec, HttpRequest **ret) {
        HttpRequest *r;

        r = calloc(1, sizeof(HttpRequest));
        if (!r)
                return -ENOMEM;
        r->http = h;
        r->max_body = spec->max_body;
        r->timeout_ms = (long) ((spec->timeout + 999) / USEC_PER_MSEC);
        r->post_body = spec->post_body;
        /* curl's DNS cache has one entry per host and port, so one per probed instance, and
         * every transfer walks all of them to expire the old ones unless the timeout is
         * "forever" (-1): with 1000 probes that walk was the biggest cost in upkeepd.  An
         * address or a Unix socket never needs resolving again; a name keeps curl's 60 s. */
        r->dns_cache_timeout = spec->unix_path || host_is_literal(spec->url) ? -1L : 60L;
        r->url = strdup(spec->url);
        if (!r->url || (spec->unix_path && !(r->unix_path = strdup(spec->unix_path))))
                goto oom;
        for (const char *const *hd = spec->headers; hd && *hd; hd++) {
                struct curl_slist *l = curl_slist_append(r->headers, *hd);
                if (!l)
                        goto oom;
                r->headers = l;
        }
        *ret = r;
        return 0;
oom:
        request_free(r);
        return -ENOMEM;
}

int http_request_send(HttpRequest *r, http_done_t done, void *userdata) {
        CURL *e;

        if (r->in_flight)
                return -EBUSY;
        e = pool_get(r->http);
        if (!e)
                return -ENOMEM;
        /* every option a previous user of the handle may have set is set again here */
        if (curl_easy_setopt(e, CURLOPT_URL, r->url) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PRIVATE, r) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEDATA, r) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->timeout_ms) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, r->dns_cache_timeout) != CURLE_OK ||
            /* a probe keeps its connection (HTTP keep-alive) for the next one: no connect,
             * accept and close every interval; a one-off request (alert) closes it */
            curl_easy_setopt(e, CURLOPT_FORBID_REUSE, r->persistent ? 0L : 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, r->unix_path) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers) != CURLE_OK ||
            (r->post_body
                     ? curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->post_body) != CURLE_OK ||
                               curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
                                                (long) strlen(r->post_body)) != CURLE_OK
                     : curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL) != CURLE_OK ||
                               curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK) ||
            curl_multi_add_handle(r->http->multi, e) != CURLM_OK) {
                pool_put(r->http, e);
                return -ENOMEM;
        }
        r->easy = e;
        r->done = done;
        r->userdata = userdata;
        r->body_len = 0;
        r->truncated = false;
        r->started = clock_mono_usec();
        r->in_flight = true;
        return 0;
}

void http_request_set_persistent(HttpRequest *r) {
        if (r->persistent)
                return;
        r->persistent = true;
        r->http->persistent++;
        set_max_connections(r->http);
}

bool http_request_busy(const HttpRequest *r) {
        return r && r->in_flight;
}

void http_request_abort(HttpRequest *r) {
        if (r)
                request_detach(r);
}

HttpRequest *http_request_free(HttpRequest *r) {
        request_free(r);
        return NULL;
}

int http_start(Http *h, const HttpRequestSpec *spec, http_done_t done, void *userdata,
               HttpRequest **ret) {
        HttpRequest *r;
        int k;

        k = http_request_new(h, spec, &r);
        if (k < 0)
                return k;
        k = http_request_send(r, done, userdata);
        if (k < 0) {
                request_free(r);
                return k;
        }
        if (ret)
                *ret = r;
        return 0;
}

void http_cancel(HttpRequest *r) {
        request_free(r);
}

int http_new(sd_event *e, Http **ret) {
        Http *h;
        int r;

        r = curl_dl_load();
        if (r < 0)
                return r;
        h = calloc(1, sizeof(Http));
        if (!h)
                return -ENOMEM;
        h->event = sd_event_ref(e);
        h->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (h->epfd < 0) {
                r = -errno;
                free(h);
                return r;
        }
        h->multi = curl_multi_init();
        if (!h->multi) {
                http_free(h);
                return -ENOMEM;
        }
        r = sd_event_add_io(e, &h->epoll_src, h->epfd, EPOLLIN, on_io, h);
        if (r < 0) {
                http_free(h);
                return r;
        }
        (void) sd_event_source_set_description(h->epoll_src, "curl-io");
        /* 1 ms accuracy: curl's timeouts measure probe deadlines */
        r = sd_event_add_time(e, &h->timer, CLOCK_MONOTONIC, USEC_INFINITY, USEC_PER_MSEC,
                              on_timer, h);
        if (r < 0) {
                http_free(h);
                return r;
        }
        (void) sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(h->timer, "curl-timer");
        if (curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb) != CURLM_OK ||
            curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h) != CURLM_OK ||
            curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb) != CURLM_OK ||
            curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h) != CURLM_OK) {
                http_free(h);
                return -EINVAL;
        }
        *ret = h;
        return 0;
}

Http *http_free(Http *h) {
        if (!h)
                return NULL;
        while (h->pool_n > 0)
                curl_easy_cleanup(h->pool[--h->pool_n]);
        if (h->multi)
                curl_multi_cleanup(h->multi);
        sd_event_source_disable_unref(h->epoll_src);
        if (h->epfd >= 0)
                close(h->epfd);
        sd_event_source_disable_unref(h->timer);
        sd_event_unref(h->event);
        free(h);
        return NULL;
}

int http_parse_unix_url(const char *s, char **ret_path, char **ret_url) {
        const char *p, *colon;
        char *path, *url;

        if (strncmp(s, "unix:", 5) != 0)
                return -EINVAL;
        p = s + 5;
        colon = strchr(p, ':');
        if (!colon || colon == p || colon[1] != '/')
                return -EINVAL;
        if ((size_t) (colon - p) >= 108)
                return -ENAMETOOLONG;
        path = strndup(p, (size_t) (colon - p));
        if (!path)
                return -ENOMEM;
        if (asprintf(&url, "http://localhost%s", colon + 1) < 0) {
                free(path);
                return -ENOMEM;
        }
        *ret_path = path;
        *ret_url = url;
        return 0;
}
