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

const ProtoCommand proto_commands[_PROTO_CMD_MAX] = {
        [PROTO_CMD_STATUS] = { "status", false, true, PROTO_NAME_OPTIONAL, NULL },
        [PROTO_CMD_START] = { "start", true, true, PROTO_NAME_REQUIRED, "this command needs a name" },
        [PROTO_CMD_STOP] = { "stop", true, true, PROTO_NAME_REQUIRED, "this command needs a name" },
        [PROTO_CMD_RESTART] = { "restart", true, true, PROTO_NAME_REQUIRED,
                                "this command needs a name" },
        [PROTO_CMD_RELOAD] = { "reload", true, true, PROTO_NAME_IGNORED, NULL },
        [PROTO_CMD_HEALTH] = { "health", false, true, PROTO_NAME_IGNORED, NULL },
        [PROTO_CMD_ALERTS] = { "alerts", false, true, PROTO_NAME_IGNORED, NULL },
        [PROTO_CMD_ALERTS_TEST] = { "alerts-test", true, false, PROTO_NAME_REQUIRED,
                                    "this command needs a sink name" },
        /* which files hold a worker's output: read-only, like the files themselves */
        [PROTO_CMD_LOGFILE] = { "logfile", false, false, PROTO_NAME_REQUIRED,
                                "this command needs a name" },
        [PROTO_CMD_REOPEN_LOGS] = { "reopen-logs", true, false, PROTO_NAME_IGNORED, NULL },
        /* {"ok": true, "text": the Prometheus exposition}: what the metrics listener serves */
        [PROTO_CMD_METRICS] = { "metrics", false, true, PROTO_NAME_IGNORED, NULL },
        [PROTO_CMD_RESTART_ALL_AT_ONCE] = { "restart-all-at-once", true, false,
                                            PROTO_NAME_REQUIRED, "this command needs a name" },
        [PROTO_CMD_RESTART_CONTINUE] = { "restart-continue", true, false, PROTO_NAME_REQUIRED,
                                         "this command needs a worker name" },
        [PROTO_CMD_RESTART_ABORT] = { "restart-abort", true, false, PROTO_NAME_REQUIRED,
                                      "this command needs a worker name" },
        [PROTO_CMD_RELOAD_WORKER] = { "reload-worker", true, true, PROTO_NAME_REQUIRED,
                                      "this command needs a name" },
};

ProtoCmd proto_cmd_from_string(const char *s) {
        for (size_t i = 0; s && i < ELEMENTSOF(proto_commands); i++)
                if (strcmp(s, proto_commands[i].name) == 0)
                        return (ProtoCmd) i;
        return _PROTO_CMD_INVALID;
}

/* The texts are those of protocol version 1, before there were codes: clients compared them. */
static const struct {
        const char *code, *text;
} proto_errors[_PROTO_E_MAX] = {
        [PROTO_E_INVALID_REQUEST] = { "invalid-request", "invalid JSON request" },
        [PROTO_E_UNKNOWN_COMMAND] = { "unknown-command", "unknown command" },
        [PROTO_E_PERMISSION] = { "permission-denied",
                                 "permission denied: only root and members of the socket group "
                                 "may command" },
        [PROTO_E_NEEDS_NAME] = { "needs-name", "this command needs a name" },
        [PROTO_E_NO_SUCH_PROCESS] = { "no-such-process", "no such process" },
        [PROTO_E_NO_SUCH_SINK] = { "no-such-sink", "no such sink" },
        [PROTO_E_SHUTTING_DOWN] = { "shutting-down", "shutting down" },
        [PROTO_E_RELOAD_FAILED] = { "reload-failed", "reload failed" },
        [PROTO_E_TOO_LONG] = { "request-too-long", "request too long" },
        [PROTO_E_NO_MEMORY] = { "out-of-memory", "out of memory" },
};

const char *proto_error_code(ProtoError e) {
        return e >= 0 && e < _PROTO_E_MAX ? proto_errors[e].code : NULL;
}

ProtoError proto_error_from_code(const char *code) {
        for (size_t i = 0; code && i < ELEMENTSOF(proto_errors); i++)
                if (strcmp(code, proto_errors[i].code) == 0)
                        return (ProtoError) i;
        return _PROTO_E_INVALID;
}

const char *proto_error_text(ProtoError e) {
        return e >= 0 && e < _PROTO_E_MAX ? proto_errors[e].text : NULL;
}

ProtoError proto_error_from_text(const char *text) {
        for (size_t i = 0; text && i < ELEMENTSOF(proto_errors); i++)
                if (strcmp(text, proto_errors[i].text) == 0)
                        return (ProtoError) i;
        return _PROTO_E_INVALID;
}

json_t *proto_error_answer(ProtoError e, const char *text) {
        if (e < 0 || e >= _PROTO_E_MAX)
                e = PROTO_E_NO_MEMORY;
        return json_pack("{s:b, s:s, s:s}", "ok", 0, "error", text ?: proto_errors[e].text,
                         "code", proto_errors[e].code);
}

ProtoError proto_answer_error(const json_t *ans) {
        ProtoError e = proto_error_from_code(json_string_value(json_object_get(ans, "code")));

        return e >= 0 ? e : proto_error_from_text(json_string_value(json_object_get(ans, "error")));
}

char *proto_dump(const json_t *ans) {
        /* 15: a decimal of up to 15 significant digits survives its trip through a double */
        return json_dumps(ans, JSON_COMPACT | JSON_REAL_PRECISION(15));
}

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
