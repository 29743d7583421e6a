/*
 * The supervisor's own structures, shared by the files that make it up (supervisor.c, and
 * supervisor-view.c for what the rest of upkeepd reads of it) and by nothing else: every other
 * part goes through supervisor.h.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "circuit.h"
#include "config.h"
#include "fsm.h"
#include "health.h"
#include "memwatch.h"
#include "output.h"
#include "window.h"

typedef struct Instance Instance;
typedef struct Supervisor Supervisor;
typedef struct Worker Worker;
typedef struct Http Http;

typedef struct SupObserverSlot {
        const struct SupObserver *ops;
        void *userdata;
} SupObserverSlot;

struct Instance {
        Worker *worker;
        unsigned index;
        char name[80];           /* "api", or "api:2" when the worker has several instances */

        InstanceState state;
        bool pending_start;      /* start again once the current stop completes */
        bool pending_backoff;    /* restart through backoff once the current stop completes */
        pid_t pid;               /* > 0 while a process exists (STARTING, RUNNING, STOPPING) */
        uint64_t pid_start_time; /* of pid, from /proc, for the state file */
        int errpipe;             /* read end: the child reports a failure before exec here */
        sd_event_source *timer;  /* start-secs, backoff delay or stop-timeout, by state */

        unsigned attempt;        /* backoff sequence position */
        unsigned restarts;       /* automatic restarts since upkeepd started */
        usec_t state_since;      /* CLOCK_MONOTONIC */
        usec_t started_at;       /* last successful spawn */
        usec_t next_retry_at;    /* in BACKOFF */
        bool has_exited;
        int exit_code;           /* valid when has_exited and exit_signal == 0 */
        int exit_signal;
        char reason[256];        /* why it is not running, when that is an error */

        Probe probe;
        bool spawn_attempted;    /* at least one spawn since upkeepd started (readiness) */
        bool admin_stopped;      /* an operator stopped it: no autostart, kept across reloads */
        bool start_queued;       /* started by an operator while leftovers were being stopped */
        Circuit circuit;         /* give-up: the last restarts, the half-open attempt */
        struct LogOutput *log_output; /* where its stdout/stderr go (output.c), kept across runs */
        MemWatch mem;            /* its tree's memory and CPU, memory-action (memwatch.c) */
        const char *why;         /* what the EV_UNHEALTHY being dispatched is about; NULL: probes */
};

struct Worker {
        Supervisor *sup;
        const WorkerConfig *cfg;
        Instance *instances;
        unsigned n_instances;
        Window *window;          /* sliding windows, allocated at its first event */
        bool retiring;           /* removed or replaced by a reload: stopping, then freed */
        bool env_warned;         /* the world-readable env-file warning was given */
        Worker *predecessor;     /* a replaced worker still stopping: we start after it is gone */
};

struct Supervisor {
        sd_event *event;
        Config *config;
        Worker **workers;        /* in configuration order */
        size_t n_workers;
        Worker **retiring;       /* no longer configured, still stopping */
        size_t n_retiring;
        Config **old_configs;    /* snapshots still referenced by retiring workers */
        size_t n_old_configs;
        sd_event_source *cleanup; /* frees retired workers outside of their own callbacks */
        bool recovering;         /* leftovers of a previous upkeepd still being stopped (statefile.c) */
        bool shutting_down;
        uint64_t rng;
        unsigned long orphans_reaped;
        struct Children *children; /* every process we wait for, and the orphan scan */
        struct Tree *tree;       /* every process of each instance: cgroups or /proc (proctree.c) */
        usec_t started_at;
        Http *http;
        SupObserverSlot *observers;
        size_t n_observers;
        int exit_code;           /* what upkeepd exits with (a required worker's failure) */
};
