/*
 * The configuration's model: the immutable Config snapshot that config.c's parse produces and
 * that every other part reads and none writes, with the pure functions over it.  Nothing here
 * knows libconfuse.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "alertrule.h"
#include "backoff.h"
#include "classify.h"
#include "cleanexit.h"
#include "defaults.h"
#include "depgraph.h"
#include "escalate.h"
#include "logconf.h"
#include "macro.h"
#include "roll.h"
#include "memjudge.h"
#include "window.h"

typedef enum RestartPolicy {
        RESTART_ALWAYS,
        RESTART_ON_FAILURE,
        RESTART_NEVER,
        _RESTART_MAX,
        _RESTART_INVALID = -1,
} RestartPolicy;

typedef enum DegradedPolicy {
        DEGRADED_IGNORE,  /* degraded counts as healthy */
        DEGRADED_ALERT,   /* reported and counted, nothing restarted */
        DEGRADED_RESTART, /* counted like an unhealthy answer */
        _DEGRADED_MAX,
        _DEGRADED_INVALID = -1,
} DegradedPolicy;

typedef struct HealthConfig {
        char *url;            /* NULL: no probes; may contain %i (the instance number) */
        usec_t interval;
        usec_t timeout;
        usec_t start_period;  /* failures during it do not count */
        usec_t start_interval; /* probe period while STARTING, before the first good answer */
        unsigned failures;    /* consecutive unhealthy answers before a restart */
        unsigned successes;   /* consecutive good answers to clear unhealthy */
        DegradedPolicy degraded;
        uint64_t max_body;
        HealthWords words;    /* status-words and status-field */
} HealthConfig;

/* errors { }: what an application error looks like in the worker's output (lib/apperror.h). */
typedef struct ErrorsConfig {
        bool enabled;        /* the worker has an errors section: without one nothing is counted */
        bool json_level;
        bool traceback;
        char *match;         /* a PCRE2 pattern matched against each line; NULL: none */
} ErrorsConfig;

typedef struct AlertConfig {
        AlertRule *rules;
        size_t n_rules;
        EscPolicy policy;    /* repeat, resolve-after */
} AlertConfig;

typedef enum SinkType {
        SINK_LOG,
        SINK_EXEC,
        SINK_WEBHOOK,
        SINK_SLACK,
        SINK_ALERTMANAGER,
        _SINK_MAX,
        _SINK_INVALID = -1,
} SinkType;

typedef struct SinkConfig {
        char *name;
        SinkType type;
        char *url;           /* webhook, slack, alertmanager; may hold a secret: never printed */
        char **argv;         /* exec */
        Severity min_severity;
        usec_t timeout;      /* one delivery (HTTP request, or the command's run time) */
        unsigned queue;      /* notifications waiting at most; older ones are dropped */
        usec_t resend;       /* alertmanager: re-send firing alerts this often */
        bool output;         /* carry the crash context (the last lines of output) */
        unsigned output_lines; /* at most that many of them; 0: all that were kept */
} SinkConfig;

/* When a new process of a worker counts as ready (STARTING -> RUNNING). */
typedef enum WorkerReady {
        WREADY_AUTO,    /* healthy with a health section, started otherwise */
        WREADY_STARTED, /* after start-secs */
        WREADY_HEALTHY, /* the first good probe answer */
        WREADY_NOTIFY,  /* READY=1 on its NOTIFY_SOCKET */
        WREADY_FD,      /* a newline written to fd ready_fd */
        WREADY_LOG,     /* a line of its output matches ready_log (PCRE2) */
        _WREADY_MAX,
} WorkerReady;

/* One `after` entry: the worker named, and what of it is waited for. */
typedef struct WorkerDep {
        char *name;
        DepCond cond;
        bool bind;      /* restarted after it whenever it restarts */
} WorkerDep;
/* rolling { }: how `upkeepctl restart` replaces several instances */
typedef struct RollingConfig {
        unsigned max_unavailable; /* instances restarting at once */
        unsigned surge;           /* 0, or 1: a spare instance serves while the others roll */
        usec_t ready_timeout;     /* a replacement not ready by then: on_failure */
        RollOnFailure on_failure;
} RollingConfig;

typedef struct WorkerConfig {
        char *name;
        char *command;
        char **argv;
        char *directory;   /* NULL: upkeepd's own */
        int umask;         /* -1: upkeepd's own */
        char *user;        /* NULL: upkeepd's own */
        char *group;       /* NULL: the user's primary group */
        char *env_file;    /* read at every spawn; its values are never printed */
        char **environment; /* "KEY=VALUE" strings */
        unsigned instances;
        bool autostart;
        int stop_signal;
        usec_t stop_timeout;
        usec_t start_secs;
        RestartPolicy policy;
        CleanExits clean;       /* the ends on-failure does not restart */
        BackoffParams backoff;
        unsigned give_up_count; /* 0: never give up */
        usec_t give_up_within;
        usec_t retry_after;     /* 0: FATAL stays FATAL */
        bool required;          /* its FATAL (or final exit) ends upkeepd with its code */
        long limit_nproc;       /* RLIMIT_NPROC for the worker's user; 0: inherited */
        long limit_nofile;      /* RLIMIT_NOFILE; 0: inherited */
        uint64_t memory_limit;  /* bytes, the whole tree's PSS; 0: none */
        uint64_t memory_warn;   /* bytes; 0: none */
        usec_t memory_interval;
        unsigned memory_for;    /* samples over the limit in a row before acting */
        MemoryAction memory_action;
        int memory_signal;      /* for MEMORY_SIGNAL */
        double cpu_warn;        /* percent of one CPU; 0: none */
        usec_t cpu_for;
        double cpu_limit;       /* percent of one CPU, cgroup cpu.max; 0: none */
        bool metrics_sampled;   /* metrics { sample-all }: memory and CPU sampled for them
                                 * without memory-* or cpu-warn */
        HealthConfig health;
        AlertConfig alerts; /* a copy of the global rules unless the worker has its own */
        char *log_dir;     /* the global one unless set per worker; "-": upkeepd's stdout */
        char *log_file;    /* NULL: log-dir/<worker>/<worker>.log; else this path (%i: index) */
        LogConfig log;     /* the global log section, overridden key by key */
        ErrorsConfig errors;
        /* dependencies: started once every worker of `after` is ready (daemon/deps.c) */
        WorkerDep *after;
        size_t n_after;
        unsigned after_line; /* where `after` was set, for the graph's errors */
        bool oneshot;        /* type = oneshot: runs to completion, exit 0 is done */
        usec_t wait_timeout; /* WAITING longer than this: a warning and an alert; 0: never */
        /* readiness told by the process itself (daemon/readiness.c) */
        WorkerReady ready;
        int ready_fd;         /* WREADY_FD: the descriptor it writes a line to */
        char *ready_log;      /* WREADY_LOG: the pattern */
        usec_t ready_timeout; /* notify, fd: not ready by then is a failed start */
        usec_t watchdog;      /* notify: WATCHDOG=1 at least this often, or it restarts; 0: no */
        /* held sockets (listen sections) each instance gets as descriptors 3, 4, ...: their
         * names, and their addresses in the same order (a reload that moves one restarts the
         * workers using it) */
        char **sockets;
        char **socket_addresses;
        /* a held socket given as standard input (FastCGI, supervisord's fcgi-program), and
         * its address; NULL: /dev/null */
        char *stdin_socket;
        char *stdin_socket_address;
        RollingConfig rolling;
        usec_t restart_every;    /* scheduled restart (rolled), shortened by up to 10%; 0: off */
        int reload_signal;       /* upkeepctl reload-worker sends it to each process; 0: none */
} WorkerConfig;

/* A socket upkeepd binds once and holds for its workers: listen NAME { ... }. */
typedef struct ListenConfig {
        char *name;
        char *address;     /* "tcp://127.0.0.1:8000", "tcp://[::]:8000", "unix:/run/app.sock" */
        int backlog;
        int mode;          /* unix: the file's permissions */
        char *owner;       /* unix: "user" or "user:group" owning the file; NULL: upkeepd's */
} ListenConfig;

typedef enum ReadyRule {
        READY_STARTED, /* every autostart instance had its first spawn attempt */
        READY_HEALTHY, /* every autostart instance is RUNNING and healthy (or FATAL) */
        _READY_MAX,
        _READY_INVALID = -1,
} ReadyRule;

/* metrics { }: both off (NULL) unless set */
typedef struct MetricsConfig {
        char *textfile;       /* the exposition, rewritten every textfile_interval */
        usec_t textfile_interval;
        char *listen;         /* "127.0.0.1:9310", "[::1]:9310": the HTTP listener */
        char *token_file;     /* NULL: no token asked for */
        bool sample_all;      /* every worker's memory and CPU sampled for the metrics */
} MetricsConfig;

typedef struct Config {
        char *path;
        char *log_dir;
        LogConfig log;       /* top-level log section: worker defaults and log-file rotation */
        LogFormat log_format; /* LOG_FORMAT_AUTO: journal under systemd, else text */
        int log_level;       /* a syslog level */
        char *log_file;      /* NULL: stderr */
        char *socket;
        char *state_file;  /* NULL: the socket path with .state for .sock (statefile.h) */
        char *socket_group; /* NULL: upkeepd's own group */
        unsigned socket_mode;
        bool others_read;   /* peers neither root nor in socket-group may read (not command) */
        ReadyRule ready;
        WorkerConfig *workers;
        size_t n_workers;
        SinkConfig *sinks;
        size_t n_sinks;
        MetricsConfig metrics;
        ListenConfig *listens;
        size_t n_listens;
} Config;

Config *conf_free(Config *c);

/* A worker's `ready`: started, healthy, notify, fd:N (3 to 255) or log:REGEX (*ret_regex points
 * into s).  -EINVAL for anything else. */
int worker_ready_parse(const char *s, WorkerReady *ret_kind, int *ret_fd, const char **ret_regex);

/* Does anything in this configuration talk HTTP (probes, webhooks)? */
bool conf_needs_http(const Config *c);
const WorkerConfig *conf_find_worker(const Config *c, const char *name);
const ListenConfig *conf_find_listen(const Config *c, const char *name);
const char *restart_policy_to_string(RestartPolicy p);
const char *degraded_policy_to_string(DegradedPolicy p);
const char *sink_type_to_string(SinkType t);
/* The reverse of the above: the value, or a negative errno for an unknown name. */
RestartPolicy restart_policy_from_string(const char *s);
DegradedPolicy degraded_policy_from_string(const char *s);
SinkType sink_type_from_string(const char *s);
/*
 * "127.0.0.1:9310", "[::1]:9310" -> the socket address to listen on (ret may be NULL: only
 * checked); -EINVAL for anything else.
 */
struct sockaddr_storage;
int conf_parse_listen(const char *s, struct sockaddr_storage *ret);
/* "10 in 10m" -> 10 restarts within 10 minutes. */
int conf_parse_give_up(const char *s, unsigned *ret_count, usec_t *ret_within);
