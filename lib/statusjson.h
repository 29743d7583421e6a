/*
 * The status answer of the control protocol (man/upkeepctl.1, JSON OUTPUT, "status"), encoded
 * from plain structs.  Pure: daemon/requests.c fills the structs from the supervisor and the
 * clock, the unit test (tests/unit/test_statusjson.c) fills them by hand and checks the schema.
 *
 * Members are added in the order the manual shows them: the answer line must start with
 * PROTO_STATUS_HEAD (see proto.h), which upkeepctl reads without parsing the rest.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "classify.h"
#include "fsm.h"
#include "macro.h"
#include "window.h"

struct json_t;

typedef struct StatusProbe {
        HealthClass state;          /* after the thresholds */
        unsigned consecutive_failures;
        uint64_t sent, answered, skipped;
        bool has_last;              /* the last answer, below, is known */
        usec_t last_at;             /* CLOCK_REALTIME */
        usec_t last_latency;
        long last_code;
        HealthClass last_class;
        const char *last_reason;    /* NULL or "": none */
} StatusProbe;

/* Times are CLOCK_MONOTONIC, like the `now` given to status_instance_json(). */
typedef struct StatusInstance {
        const char *name;
        unsigned index;
        InstanceState state;
        usec_t state_since;
        usec_t started_at;          /* of the process, when pid > 0 */
        usec_t next_retry_at;       /* in BACKOFF */
        unsigned restarts, attempt;
        pid_t pid;                  /* <= 0: no process */
        bool has_exited;
        int exit_code;              /* when exit_signal is 0 */
        int exit_signal;
        bool exit_oom;              /* that signal was the kernel's OOM killer */
        const char *reason;         /* NULL or "": none */
        const char *last_output;    /* crash context of the last bad end; NULL: none */
        const char *notify_status;  /* ready = notify: its STATUS=; NULL or "": none */
        const StatusProbe *probe;   /* NULL: not probed */
        const pid_t *pids;          /* every process of its tree (proctree.h), n_pids of them */
        size_t n_pids;
        bool watched;               /* memory and CPU are sampled (memory-limit, -warn, cpu-warn) */
        bool sampled;               /* memory and CPU below are known (memwatch.h) */
        uint64_t memory_bytes;      /* the tree's PSS, or its RSS (memory_is_pss false) */
        bool memory_is_pss;
        bool pss_known;             /* pss_bytes was read at pss_at */
        uint64_t pss_bytes;
        usec_t pss_at;
        double cpu_s, cpu_percent;  /* the tree's CPU time; of one CPU since the last sample */
        uint64_t memory_limit, memory_warn; /* 0: none */
        unsigned memory_over;       /* samples over the limit in a row, so far */
        const char *memory_action;  /* the last memory-action taken; NULL or "": none */
        struct json_t *output;      /* the "output" member (output.c): taken, also on failure */
} StatusInstance;

typedef struct StatusWorker {
        const char *name;
        const char *policy;         /* restart policy, as configured */
        bool autostart, required;
        /* events[k][n]: events of kind k in the last win_spans[n]; then the total */
        uint64_t events[_EVK_MAX][WIN_N_SPANS];
        uint64_t events_total[_EVK_MAX];
} StatusWorker;

typedef struct StatusDaemon {
        const char *version;
        pid_t pid;
        usec_t started_at;          /* CLOCK_MONOTONIC */
        const char *config;         /* path */
        uint64_t orphans_reaped;
        bool shutting_down;
} StatusDaemon;

/* Each returns a new object, or NULL when out of memory; what it takes is released either way. */
struct json_t *status_instance_json(const StatusInstance *i, usec_t now);
struct json_t *status_worker_json(const StatusWorker *w, struct json_t *instances);
struct json_t *status_answer_json(const StatusDaemon *d, usec_t now, unsigned not_running,
                                  struct json_t *workers);
/* Whether an instance counts in the answer's "not_running" (and so in upkeepctl's exit status). */
bool status_not_running(InstanceState s);
/*
 * Whether the health answer lists an instance as failing: not RUNNING, or probed and neither
 * healthy nor degraded.  One stopped by a command is not failing, but when the answer is about
 * the required workers only (required_only): those must run.
 */
bool status_health_failing(InstanceState s, bool probed, HealthClass probe, bool admin_stopped,
                           bool required_only);
