/*
 * The control protocol between upkeepctl and upkeepd: a Unix stream socket carrying one JSON
 * object per line in each direction.  Requests: {"cmd": "status"|"start"|"stop"|"restart",
 * "name": "..."}; answers always carry "ok" and, when it is false, a one-line "error".  The full
 * schema is in man/upkeepctl.1.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define UPKEEP_VERSION "0.1.0"
#define PROTO_VERSION 1
#define PROTO_MAX_REQUEST (64 * 1024)    /* bytes in one request line */
#define PROTO_MAX_ANSWER (64 * 1024 * 1024)
#define PROTO_IDLE_TIMEOUT_SEC 10        /* a client that sends nothing is dropped */
#define PROTO_MAX_CLIENTS 64
/* of the PROTO_MAX_CLIENTS slots, these are kept for root, upkeepd's user and socket-group, so
 * that read-only clients cannot lock out a command */
#define PROTO_TRUSTED_SLOTS 16
#define PROTO_MAX_READER_CLIENTS 8       /* connections of one read-only user */
/* requests answered for one client per wake-up of the loop, then the others get their turn */
#define PROTO_LINES_PER_WAKEUP 8
/* a client's next request is read only while less than this is queued for it (one answer may be
 * longer: a status answer for thousands of workers); read-only clients together stop at
 * PROTO_TOTAL_QUEUE.  A client that does not read its answers is not read either. */
#define PROTO_CLIENT_QUEUE (4 * 1024 * 1024)
#define PROTO_TOTAL_QUEUE (16 * 1024 * 1024)
#define DEFAULT_SOCKET "/run/upkeep/upkeep.sock"
#define DEFAULT_CONFIG "/etc/upkeep/upkeep.conf"

/*
 * One decoded request line (lib/proto.c; pure, unit-tested and fuzzed).  cmd and name point
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

/*
 * The input side of one control connection: bytes received, cut into request lines.  Pure, so
 * that the request loop of control.c is fuzzed (tests/fuzz/fuzz_reqloop.c).  buf holds
 * PROTO_MAX_REQUEST bytes; the unread ones are buf[off..len).
 */
typedef struct ProtoReader {
        char *buf;
        size_t off, len;
} ProtoReader;

/* Where to receive into (the unread bytes moved to the front first); 0 when the buffer is full. */
size_t proto_reader_space(ProtoReader *r, char **ret);
void proto_reader_fill(ProtoReader *r, size_t n);
/* Whether a complete line is buffered. */
bool proto_reader_has_line(const ProtoReader *r);
/*
 * Take the next complete line (*ret_line, *ret_len, without its newline; valid until the next
 * call to proto_reader_space()): 1, or 0 when no complete line is buffered, or -EMSGSIZE when
 * PROTO_MAX_REQUEST bytes are buffered without a newline (the request is too long).
 */
int proto_reader_next(ProtoReader *r, const char **ret_line, size_t *ret_len);

/*
 * Whether a client with `queued` answer bytes not yet sent may have its next request read, while
 * read-only clients hold `readers_queued` bytes in all; `trusted` for root, upkeepd's user and
 * socket-group, whose answers do not count against the total.
 */
bool proto_may_serve(size_t queued, size_t readers_queued, bool trusted);
