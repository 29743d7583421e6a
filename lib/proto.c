/*
 * Decoding of control requests (see include/proto.h).  Pure: no I/O, no logging, so the unit
 * tests and the fuzzer call it directly and control.c only decides what a request does.
 *
 * A request must name its command unambiguously: duplicate keys are refused (jansson would keep
 * the last one), and so is "\u0000" (jansson refuses it without JSON_ALLOW_NUL), which the C
 * strings we act on would silently cut: "w\u0000x" must not stop the worker "w".  Unknown keys
 * are ignored, so a newer upkeepctl can add optional fields.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <string.h>

#include "macro.h"
#include "proto.h"

int proto_decode_request(const char *line, size_t len, ProtoRequest *ret, const char **ret_error) {
        json_t *req, *cmd, *name;
        json_error_t jerr;

        req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!req) {
                *ret_error = "invalid JSON request";
                return -EINVAL;
        }
        cmd = json_object_get(req, "cmd");
        name = json_object_get(req, "name");
        if (!json_is_object(req) || !json_is_string(cmd) || (name && !json_is_string(name))) {
                json_decref(req);
                *ret_error = "expected {\"cmd\": string, \"name\": string}";
                return -EINVAL;
        }
        *ret = (ProtoRequest) {
                .json = req,
                .cmd = json_string_value(cmd),
                .name = name ? json_string_value(name) : NULL,
        };
        return 0;
}

int proto_status_not_running(const char *line, size_t len, unsigned *ret) {
        size_t h = strlen(PROTO_STATUS_HEAD), i;
        unsigned long long n = 0;

        if (len <= h || memcmp(line, PROTO_STATUS_HEAD, h) != 0)
                return -EBADMSG;
        for (i = h; i < len && i - h < 10 && line[i] >= '0' && line[i] <= '9'; i++)
                n = n * 10 + (unsigned) (line[i] - '0');
        if (i == h || i >= len || line[i] != ',' || n > UINT_MAX)
                return -EBADMSG;
        *ret = (unsigned) n;
        return 0;
}

void proto_request_done(ProtoRequest *r) {
        if (!r)
                return;
        json_decref(r->json);
        *r = (ProtoRequest) {};
}

size_t proto_reader_space(ProtoReader *r, char **ret) {
        /* moved once per receive, not once per line: a buffer of newlines costs linear time */
        if (r->off > 0) {
                memmove(r->buf, r->buf + r->off, r->len - r->off);
                r->len -= r->off;
                r->off = 0;
        }
        *ret = r->buf + r->len;
        return PROTO_MAX_REQUEST - r->len;
}

void proto_reader_fill(ProtoReader *r, size_t n) {
        r->len += MIN(n, PROTO_MAX_REQUEST - r->len);
}

bool proto_reader_has_line(const ProtoReader *r) {
        return memchr(r->buf + r->off, '\n', r->len - r->off) != NULL;
}

int proto_reader_next(ProtoReader *r, const char **ret_line, size_t *ret_len) {
        const char *nl = memchr(r->buf + r->off, '\n', r->len - r->off);

        if (!nl)
                return r->len - r->off >= PROTO_MAX_REQUEST ? -EMSGSIZE : 0;
        *ret_line = r->buf + r->off;
        *ret_len = (size_t) (nl - (r->buf + r->off));
        r->off += *ret_len + 1;
        return 1;
}

bool proto_may_serve(size_t queued, size_t readers_queued, bool trusted) {
        if (queued >= PROTO_CLIENT_QUEUE)
                return false;
        return trusted || readers_queued < PROTO_TOTAL_QUEUE;
}
