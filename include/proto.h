/*
 * The control protocol between upkeepctl and upkeepd: a Unix stream socket carrying one JSON
 * object per line in each direction.  Requests: {"cmd": "status"|"start"|"stop"|"restart",
 * "name": "..."}; answers always carry "ok" and, when it is false, a one-line "error".  The full
 * schema is in man/upkeepctl.1.
 */
#pragma once

#include <stddef.h>

#define UPKEEP_VERSION "0.1.0"
#define PROTO_VERSION 1
#define PROTO_MAX_REQUEST (64 * 1024)    /* bytes in one request line */
#define PROTO_MAX_ANSWER (64 * 1024 * 1024)
#define PROTO_IDLE_TIMEOUT_SEC 10        /* a client that sends nothing is dropped */
#define PROTO_MAX_CLIENTS 64
#define DEFAULT_SOCKET "/run/upkeep/upkeep.sock"
#define DEFAULT_CONFIG "/etc/upkeep/upkeep.conf"

/*
 * One decoded request line (daemon/proto.c; pure, unit-tested and fuzzed).  cmd and name point
 * into json, which owns them: release with proto_request_done().
 */
struct json_t;
typedef struct ProtoRequest {
        struct json_t *json;
        const char *cmd;
        const char *name; /* NULL when the request has none */
} ProtoRequest;

/*
 * Decode one request line (without its newline): a JSON object with a string "cmd" and an
 * optional string "name"; duplicate keys and "\u0000" are refused.  On failure returns -EINVAL and sets
 * *ret_error to a static description for the error answer; *ret is written only on success.
 */
int proto_decode_request(const char *line, size_t len, ProtoRequest *ret, const char **ret_error);
void proto_request_done(ProtoRequest *r);

/*
 * A status answer starts with PROTO_STATUS_HEAD, the number of listed instances that are not
 * RUNNING, and a comma (the daemon writes compact JSON, members in the order it adds them).
 * proto_status_not_running() reads that number from the head of an answer line, so that
 * `upkeepctl status --json`, which prints the line as it came, need not parse all of it (150 KB
 * for 100 workers).  -EBADMSG when the line does not start that way (an error answer).
 */
#define PROTO_STATUS_HEAD "{\"ok\":true,\"not_running\":"
int proto_status_not_running(const char *line, size_t len, unsigned *ret);
