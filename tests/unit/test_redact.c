/*
 * Unit tests of the sink URL redaction (lib/urlredact.h), against the real libcurl URL parser
 * (linked here; upkeepd dlopen()s the same library).  Whatever the URL carries besides scheme,
 * host and port must not come out: user, password, path, query, fragment.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "urlredact.h"

static const UrlApi api = {
        .url = curl_url,
        .url_cleanup = curl_url_cleanup,
        .url_set = curl_url_set,
        .url_get = curl_url_get,
        .free = curl_free,
};

static void check(const char *url, const UrlApi *a, const char *want) {
        char *got = url_redact(url, a);

        assert_non_null(got);
        assert_string_equal(got, want);
        free(got);
}

static void test_secrets_never_shown(void **state) {
        (void) state;
        /* no path at all: the old cut-at-the-first-'/' printed these whole */
        check("https://user:pass@host.example?token=x", &api, "https://host.example/…");
        check("https://host.example?token=x#frag", &api, "https://host.example/…");
        check("https://host.example#secret", &api, "https://host.example/…");
        check("https://user:pass@host.example", &api, "https://host.example/…");
        check("https://user@host.example:8443", &api, "https://host.example:8443/…");
        check("https://hooks.slack.com/services/T0/B0/XYZ", &api, "https://hooks.slack.com/…");
        check("http://u:p@127.0.0.1:9093/api/v2/alerts?k=v#f", &api, "http://127.0.0.1:9093/…");
        /* an '@' or '/' inside the query or fragment is not the authority */
        check("https://host.example?next=/a@b", &api, "https://host.example/…");
}

static void test_ipv6(void **state) {
        (void) state;
        check("http://[::1]:8080/hook?token=x", &api, "http://[::1]:8080/…");
        check("https://user:pw@[2001:db8::1]?t=1", &api, "https://[2001:db8::1]/…");
        check("https://[2001:db8::1]", &api, "https://[2001:db8::1]/…");
}

static void test_invalid(void **state) {
        (void) state;
        check("not a url", &api, "(invalid URL)");
        check("", &api, "(invalid URL)");
        check("https://", &api, "(invalid URL)");
        check("https://user:pass@", &api, "(invalid URL)");
}

static void test_without_curl(void **state) {
        (void) state;
        check("https://user:pass@host?token=x", NULL, "https://…");
        check("user:pass@host", NULL, "(invalid URL)");
        check("://x", NULL, "(invalid URL)");
        check("", NULL, "(invalid URL)");
}

static void test_compose(void **state) {
        char *r;

        (void) state;
        r = url_redact_compose("https", "h", NULL);
        assert_string_equal(r, "https://h/…");
        free(r);
        r = url_redact_compose("http", "[::1]", "80");
        assert_string_equal(r, "http://[::1]:80/…");
        free(r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_secrets_never_shown),
                cmocka_unit_test(test_ipv6),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_without_curl),
                cmocka_unit_test(test_compose),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
