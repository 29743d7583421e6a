/*
 * Redaction of sink URLs for status output (see urlredact.h).
 *
 * The URL is parsed, never cut at a character: a URL without a path ("https://u:p@host?token=x")
 * has no '/' after its authority, and cutting at the first '/' printed it whole.  What is kept
 * is built from the parts libcurl returns, so anything libcurl did not call scheme, host or port
 * cannot reach the output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "urlredact.h"

char *url_redact_compose(const char *scheme, const char *host, const char *port) {
        char *r;

        if (asprintf(&r, "%s://%s%s%s/…", scheme, host, port ? ":" : "", port ?: "") < 0)
                return NULL;
        return r;
}

/* Without libcurl: the scheme alone, and only when it looks like one (RFC 3986 §3.1). */
static char *scheme_only(const char *url) {
        size_t n = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
        char *r;

        if (n == 0 || n > 32 || strncmp(url + n, "://", 3) != 0)
                return strdup("(invalid URL)");
        if (asprintf(&r, "%.*s://…", (int) n, url) < 0)
                return NULL;
        return r;
}

char *url_redact(const char *url, const UrlApi *api) {
        char *scheme = NULL, *host = NULL, *port = NULL, *r;
        CURLU *u;

        if (!api)
                return scheme_only(url);
        u = api->url();
        if (!u)
                return NULL;
        if (api->url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
            api->url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            api->url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0])
                r = strdup("(invalid URL)");
        else {
                /* an explicit port only: CURLUE_NO_PORT otherwise, and port stays NULL */
                (void) api->url_get(u, CURLUPART_PORT, &port, 0);
                r = url_redact_compose(scheme, host, port);
        }
        api->free(scheme);
        api->free(host);
        api->free(port);
        api->url_cleanup(u);
        return r;
}
