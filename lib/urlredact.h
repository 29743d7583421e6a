/*
 * What of a URL may be shown to anyone who can read the control socket: its scheme, host and
 * port.  Everything else (user:password@, path, query, fragment) may carry a token (Slack's
 * webhooks keep theirs in the path, many services in the query).  Pure: the URL is parsed by
 * libcurl's URL API through the table given, so the daemon passes its dlopen()ed libcurl and a
 * unit test the linked one.
 */
#pragma once

#include <curl/curl.h>

typedef struct UrlApi {
        CURLU *(*url)(void);
        void (*url_cleanup)(CURLU *);
        CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned);
        CURLUcode (*url_get)(CURLU *, CURLUPart, char **, unsigned);
        void (*free)(void *);
} UrlApi;

/*
 * "scheme://host:port/…" (":port" only when the URL names one), "(invalid URL)" when it does
 * not parse; with api NULL (no libcurl) "scheme://…" alone.  NULL only when out of memory.
 */
char *url_redact(const char *url, const UrlApi *api);

/* The pure half: compose "scheme://host[:port]/…" from parts already parsed (port may be NULL). */
char *url_redact_compose(const char *scheme, const char *host, const char *port);
