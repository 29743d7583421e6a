/*
 * libcurl's multi socket API on sd-event, wired the way systemd's src/shared/curl-util.c does:
 *   - curl tells us which sockets to watch (socket callback): one IO source per socket, kept on
 *     the socket with curl_multi_assign(), removed on CURL_POLL_REMOVE;
 *   - curl tells us when to call it back (timer callback): one reusable timer source;
 *   - we never call curl from inside its own callbacks;
 *   - after every curl_multi_socket_action() every finished transfer is drained.
 * Bodies are captured in the write callback up to the request's cap, then the transfer is
 * aborted, so a huge or endless body costs at most the cap in memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "curl-dl.h"
#include "http.h"
#include "log.h"

struct Http {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        unsigned in_flight;
};

struct HttpRequest {
        Http *http;
        CURL *easy;
        bool persistent;       /* kept for the next send (probes), not freed when done */
        bool in_flight;
        struct curl_slist *headers;
        http_done_t done;
        void *userdata;
        char *body;
        size_t body_len, body_cap, max_body;
        bool truncated;
        usec_t started;
};

static usec_t mono_now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

/* Take a request out of the multi; its easy handle stays usable. */
static void request_detach(HttpRequest *r) {
        if (!r->in_flight)
                return;
        curl_multi_remove_handle(r->http->multi, r->easy);
        r->in_flight = false;
        r->http->in_flight--;
}

static void request_free(HttpRequest *r) {
        if (!r)
                return;
        if (r->easy) {
                request_detach(r);
                curl_easy_cleanup(r->easy);
        }
        curl_slist_free_all(r->headers);
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
                (void) curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.http_code);
                /* a body cut at the cap is an answer, not a failure */
                if (code == CURLE_WRITE_ERROR && r->truncated)
                        code = CURLE_OK;
                res.curl_code = code;
                res.error = code == CURLE_OK ? NULL : curl_easy_strerror(code);
                res.timed_out = code == CURLE_OPERATION_TIMEDOUT;
                res.body = r->body ?: "";
                res.body_len = r->body_len;
                res.truncated = r->truncated;
                res.elapsed = mono_now() - r->started;
                request_detach(r);
                r->done(&res, r->userdata);
                /* the callback may have freed a persistent request: touch nothing after it */
                if (!r_persistent)
                        request_free(r);
        }
}

static int on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Http *h = userdata;
        int action = 0, running;

        (void) src;
        if (revents & (EPOLLIN | EPOLLPRI | EPOLLHUP))
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & EPOLLERR)
                action |= CURL_CSELECT_ERR;
        if (curl_multi_socket_action(h->multi, fd, action, &running) != CURLM_OK)
                log_warning("http: curl could not process socket activity, continuing");
        drain(h);
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

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp) {
        Http *h = userp;
        sd_event_source *io = socketp;
        uint32_t events = 0;

        (void) easy;
        if (what == CURL_POLL_REMOVE) {
                if (io) {
                        sd_event_source_disable_unref(io);
                        curl_multi_assign(h->multi, s, NULL);
                }
                return 0;
        }
        if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
                events |= EPOLLIN;
        if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
                events |= EPOLLOUT;
        if (io) {
                if (sd_event_source_set_io_events(io, events) < 0 ||
                    sd_event_source_set_enabled(io, SD_EVENT_ON) < 0)
                        return -1;
                return 0;
        }
        if (sd_event_add_io(h->event, &io, s, events, on_io, h) < 0)
                return -1;
        (void) sd_event_source_set_description(io, "curl-io");
        if (curl_multi_assign(h->multi, s, io) != CURLM_OK) {
                sd_event_source_disable_unref(io);
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
        (void) sd_event_now(h->event, CLOCK_MONOTONIC, &t);
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

int http_request_new(Http *h, const HttpRequestSpec *spec, HttpRequest **ret) {
        HttpRequest *r;

        r = calloc(1, sizeof(HttpRequest));
        if (!r)
                return -ENOMEM;
        r->http = h;
        r->max_body = spec->max_body;
        r->easy = curl_easy_init();
        if (!r->easy) {
                free(r);
                return -ENOMEM;
        }
        for (const char *const *hd = spec->headers; hd && *hd; hd++) {
                struct curl_slist *l = curl_slist_append(r->headers, *hd);
                if (!l)
                        goto oom;
                r->headers = l;
        }
        if (curl_easy_setopt(r->easy, CURLOPT_URL, spec->url) != CURLE_OK ||
            curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r) != CURLE_OK ||
            curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
            curl_easy_setopt(r->easy, CURLOPT_FORBID_REUSE, 1L) != CURLE_OK ||
            curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS,
                             (long) ((spec->timeout + 999) / USEC_PER_MSEC)) != CURLE_OK ||
            curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK ||
            curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r) != CURLE_OK ||
            curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "upkeep") != CURLE_OK ||
            /* answers are small; curl's 16 KiB default per handle adds up over 1000 probes */
            curl_easy_setopt(r->easy, CURLOPT_BUFFERSIZE, 4096L) != CURLE_OK)
                goto oom;
        if (spec->unix_path &&
            curl_easy_setopt(r->easy, CURLOPT_UNIX_SOCKET_PATH, spec->unix_path) != CURLE_OK)
                goto oom;
        if (r->headers && curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers) != CURLE_OK)
                goto oom;
        if (spec->post_body &&
            (curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, spec->post_body) != CURLE_OK ||
             curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long) strlen(spec->post_body)) !=
                     CURLE_OK))
                goto oom;
        *ret = r;
        return 0;
oom:
        request_free(r);
        return -ENOMEM;
}

int http_request_send(HttpRequest *r, http_done_t done, void *userdata) {
        if (r->in_flight)
                return -EBUSY;
        r->done = done;
        r->userdata = userdata;
        r->body_len = 0;
        r->truncated = false;
        r->started = mono_now();
        if (curl_multi_add_handle(r->http->multi, r->easy) != CURLM_OK)
                return -ENOMEM;
        r->in_flight = true;
        r->http->in_flight++;
        return 0;
}

void http_request_set_persistent(HttpRequest *r) {
        r->persistent = true;
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

unsigned http_in_flight(const Http *h) {
        return h->in_flight;
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
        h->multi = curl_multi_init();
        if (!h->multi) {
                http_free(h);
                return -ENOMEM;
        }
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
        if (h->multi)
                curl_multi_cleanup(h->multi);
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
