/*
 * The one libcurl multi handle of upkeepd, driven by the sd-event loop: health probes and alert
 * deliveries are requests on it, all concurrent, none blocking the loop or each other.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct Http Http;
typedef struct HttpRequest HttpRequest;

typedef struct HttpResult {
        int curl_code;        /* CURLE_OK, or why the transfer failed */
        const char *error;    /* curl's description when curl_code != CURLE_OK */
        bool timed_out;
        long http_code;       /* 0 when no response */
        const char *body;     /* the first max_body bytes of the body (NUL-terminated) */
        size_t body_len;
        bool truncated;       /* the body was longer than max_body and was cut there */
        usec_t elapsed;
} HttpResult;

typedef void (*http_done_t)(const HttpResult *res, void *userdata);

typedef struct HttpRequestSpec {
        const char *url;         /* http:// or https:// */
        const char *unix_path;   /* when set, connect to this Unix socket instead */
        usec_t timeout;
        size_t max_body;         /* capture at most this much, abort the transfer beyond */
        const char *post_body;   /* NULL: GET; otherwise POST with this body */
        const char *const *headers; /* NULL-terminated, e.g. "Content-Type: application/json" */
} HttpRequestSpec;

int http_new(sd_event *e, Http **ret);
Http *http_free(Http *h);

/*
 * Start a request; `done` is called exactly once from the loop, unless the request is
 * cancelled first.  The spec's strings are copied by libcurl, except post_body, which the caller
 * keeps alive until `done` or cancellation.
 */
int http_start(Http *h, const HttpRequestSpec *spec, http_done_t done, void *userdata,
               HttpRequest **ret);
/* Abort a request in flight; its callback is not called. */
void http_cancel(HttpRequest *r);

/*
 * A request made once and sent many times (a probe): the easy handle and its options are kept,
 * so each send costs no set-up.  It is not freed when done; abort() takes it out of flight.
 */
int http_request_new(Http *h, const HttpRequestSpec *spec, HttpRequest **ret);
int http_request_send(HttpRequest *r, http_done_t done, void *userdata);
void http_request_set_persistent(HttpRequest *r);
bool http_request_busy(const HttpRequest *r);
void http_request_abort(HttpRequest *r);
HttpRequest *http_request_free(HttpRequest *r);

/* Split "unix:/path/to.sock:/health" into a socket path and "http://localhost/health". */
int http_parse_unix_url(const char *s, char **ret_path, char **ret_url);
