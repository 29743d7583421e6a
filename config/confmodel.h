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
#include "defaults.h"
#include "escalate.h"
#include "logconf.h"
#include "macro.h"
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
} HealthConfig;

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
} SinkConfig;

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
        HealthConfig health;
        AlertConfig alerts; /* a copy of the global rules unless the worker has its own */
        char *log_dir;     /* the global one unless set per worker; "-": upkeepd's stdout */
        LogConfig log;     /* the global log section, overridden key by key */
} WorkerConfig;

typedef enum ReadyRule {
        READY_STARTED, /* every autostart instance had its first spawn attempt */
        READY_HEALTHY, /* every autostart instance is RUNNING and healthy (or FATAL) */
        _READY_MAX,
        _READY_INVALID = -1,
} ReadyRule;

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
} Config;

Config *conf_free(Config *c);

/* Does anything in this configuration talk HTTP (probes, webhooks)? */
bool conf_needs_http(const Config *c);
const WorkerConfig *conf_find_worker(const Config *c, const char *name);
const char *restart_policy_to_string(RestartPolicy p);
const char *degraded_policy_to_string(DegradedPolicy p);
const char *sink_type_to_string(SinkType t);
/* The reverse of the above: the value, or a negative errno for an unknown name. */
RestartPolicy restart_policy_from_string(const char *s);
DegradedPolicy degraded_policy_from_string(const char *s);
SinkType sink_type_from_string(const char *s);
/* "10 in 10m" -> 10 restarts within 10 minutes. */
int conf_parse_give_up(const char *s, unsigned *ret_count, usec_t *ret_within);
