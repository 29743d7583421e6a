/*
 * The control protocol between upkeepctl and upkeepd: a Unix stream socket carrying one JSON
 * object per line in each direction.  Requests: {"cmd": one of proto_commands, "name": "..."};
 * answers always carry "ok" and, when it is false, a one-line "error" and its "code".  The full
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
 * The commands, in one table (lib/proto.c) that upkeepd serves from and upkeepctl checks its
 * arguments against.  PROTO_CMD_* index it.
 */
typedef enum ProtoCmd {
        PROTO_CMD_STATUS,
        PROTO_CMD_START,
        PROTO_CMD_STOP,
        PROTO_CMD_RESTART,
        PROTO_CMD_RELOAD,
        PROTO_CMD_HEALTH,
        PROTO_CMD_ALERTS,
        PROTO_CMD_ALERTS_TEST,
        PROTO_CMD_LOGFILE,
        PROTO_CMD_REOPEN_LOGS,
        PROTO_CMD_METRICS,
        /* restart NAME --all-at-once | --continue | --abort (a rolling restart's) */
        PROTO_CMD_RESTART_ALL_AT_ONCE,
        PROTO_CMD_RESTART_CONTINUE,
        PROTO_CMD_RESTART_ABORT,
        /* reload-worker NAME: its reload-signal to each instance's process */
        PROTO_CMD_RELOAD_WORKER,
        _PROTO_CMD_MAX,
        _PROTO_CMD_INVALID = -1,
} ProtoCmd;

typedef enum ProtoNameUse {
        PROTO_NAME_IGNORED,  /* a name given is ignored (upkeepctl refuses one) */
        PROTO_NAME_OPTIONAL, /* status: only that worker or instance */
        PROTO_NAME_REQUIRED, /* refused without one (PROTO_E_NEEDS_NAME) */
} ProtoNameUse;

typedef struct ProtoCommand {
        const char *name;         /* "cmd" on the wire */
        bool command;             /* changes something: needs the right to command */
        bool typed;               /* upkeepctl takes it as its own word (others come from
                                   * "alerts test SINK" and "logs") */
        ProtoNameUse name_use;
        const char *needs_name;   /* the error without one, when name_use is REQUIRED */
} ProtoCommand;

extern const ProtoCommand proto_commands[_PROTO_CMD_MAX];
ProtoCmd proto_cmd_from_string(const char *s);

/*
 * Why an answer has "ok": false.  Each error answer carries "code", a stable identifier for
 * programs (upkeepctl picks its exit status from it), beside "error", the text for people
 * (proto_error_text() unless the server says more precisely).
 */
typedef enum ProtoError {
        PROTO_E_INVALID_REQUEST, /* not JSON, or not {"cmd": string, "name": string} */
        PROTO_E_UNKNOWN_COMMAND,
        PROTO_E_PERMISSION,      /* a command from a client that may only read */
        PROTO_E_NEEDS_NAME,
        PROTO_E_NO_SUCH_PROCESS, /* the name is no worker and no instance */
        PROTO_E_NO_SUCH_SINK,
        PROTO_E_SHUTTING_DOWN,
        PROTO_E_RELOAD_FAILED,   /* with "detail": the first file:line: message */
        PROTO_E_TOO_LONG,        /* the request line: the connection is closed after it */
        PROTO_E_NO_MEMORY,
        _PROTO_E_MAX,
        _PROTO_E_INVALID = -1,
} ProtoError;

const char *proto_error_code(ProtoError e);
ProtoError proto_error_from_code(const char *code);
const char *proto_error_text(ProtoError e);
ProtoError proto_error_from_text(const char *text);
/* {"ok": false, "error": text or proto_error_text(e), "code": ...}; NULL when out of memory. */
struct json_t *proto_error_answer(ProtoError e, const char *text);
/*
 * Why an answer failed: its "code", or for a daemon that predates codes its "error" text;
 * _PROTO_E_INVALID when neither is known.
 */
ProtoError proto_answer_error(const struct json_t *ans);
/*
 * An answer as the line upkeepd sends (without its newline): compact, and each real with at most
 * 15 significant digits, so that a time built by usec_to_seconds_ms() prints with its 3
 * decimals (13.852, 0.1, 1234567.891) and not as the 17 digits of the nearest double.  NULL
 * when out of memory.
 */
char *proto_dump(const struct json_t *ans);

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
