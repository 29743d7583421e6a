/*
 * The worker table and each instance's life: spawn, watch, stop, reap, restart.  The state
 * machine itself is fsm.c; this part performs its actions with sd-event sources and syscalls.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "circuit.h"
#include "config.h"
#include "fsm.h"
#include "health.h"
#include "logs.h"
#include "window.h"

typedef struct Instance Instance;
typedef struct Supervisor Supervisor;
typedef struct Worker Worker;
typedef struct Http Http;
typedef struct StateRecovery StateRecovery;

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
        struct LogOutput *log_output; /* where its stdout/stderr go (logs.c), kept across runs */
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
        StateRecovery *recovery; /* leftovers of a previous upkeepd still being stopped (state.c) */
        bool shutting_down;
        uint64_t rng;
        unsigned long orphans_reaped;
        struct Children *children; /* every process we wait for, and the orphan scan */
        usec_t started_at;
        Http *http;
        struct Alerts *alerts;   /* for the control socket's requests (requests.c) */
        struct SupObserverSlot *observers;
        size_t n_observers;
        int exit_code;           /* what upkeepd exits with (a required worker's failure) */
};

/*
 * Who watches the supervisor (alerts, sd_notify, the state file), registered by upkeepd.c: the
 * supervisor tells them what happened and never calls them by name.  Any hook may be NULL.
 * They are called in the order they were registered, and not at all from sup_free().
 */
typedef struct SupObserver {
        /* i changed state, after the transition's actions ran; i NULL: any number may have
         * (everything was started, retired workers were freed) */
        void (*instance_changed)(void *userdata, const Instance *i, InstanceState old);
        /* something the state file records changed (a state, a pid, an operator stop) */
        void (*record_changed)(void *userdata);
        /* an event was counted in w's windows */
        void (*event_counted)(void *userdata, Worker *w, const Instance *i, EventKind k);
        /* i gave up (circuit open, FATAL) */
        void (*circuit_opened)(void *userdata, Worker *w, const Instance *i);
        /* w is no longer configured (removed or replaced), or is being freed */
        void (*worker_removed)(void *userdata, Worker *w);
        /* a reload: once parsed, once the new configuration is in place (with the HTTP client
         * it may have needed first; NULL while none is needed), and at the end whether it
         * succeeded or not */
        void (*reloading)(void *userdata);
        void (*config_applied)(void *userdata, const Config *c, Http *http);
        void (*reloaded)(void *userdata);
        /* upkeepd begins to stop */
        void (*stopping)(void *userdata);
} SupObserver;

int sup_observe(Supervisor *s, const SupObserver *ops, void *userdata);

/* Takes over the configuration snapshot (freed with the supervisor). */
int sup_new(sd_event *e, Config *config, Supervisor **ret);
Supervisor *sup_free(Supervisor *s);

/* Start every autostart instance (except those an operator stopped). */
void sup_start_all(Supervisor *s);
/* Stop everything; the loop exits once the last process is gone. */
void sup_shutdown(Supervisor *s);
bool sup_all_down(const Supervisor *s);
/* The configured workers, in configuration order (not the retiring ones). */
Worker *const *sup_workers(const Supervisor *s, size_t *ret_n);
/* SIGKILL every process group at once (a second Ctrl-C). */
void sup_kill_all(Supervisor *s);

/*
 * The worker table, for a reload (reload.c).  A new worker's instances are STOPPED until
 * worker_start(), which starts its autostart ones unless they must wait: for a predecessor
 * still stopping, the leftovers of a previous upkeepd, or upkeepd stopping.
 */
int worker_new(Supervisor *s, const WorkerConfig *cfg, Worker **ret);
Worker *worker_free(Worker *w);
void worker_start(Worker *w);
/* w runs on with new settings for the same process. */
void worker_reconfigure(Worker *w, const WorkerConfig *cfg);
/* w is no longer configured: it stops, and is freed once its processes are gone. */
void worker_retire(Worker *w);
/* Room for every worker to retire and for one more configuration, and the HTTP client config
 * needs: after this, nothing up to sup_switch() can fail. */
int sup_reserve(Supervisor *s, const Config *config);
/* config and its worker table (both taken over) replace the running ones. */
void sup_switch(Supervisor *s, Config *config, Worker **workers);
/* Tell the observers a reload begins (the file was parsed) and ends (applied or not). */
void sup_reload_begins(Supervisor *s);
void sup_reload_ends(Supervisor *s);

/* Events of kind k in the last `within`, and since upkeepd started. */
unsigned worker_events(Worker *w, EventKind k, usec_t now, usec_t within);
uint64_t worker_events_total(const Worker *w, EventKind k);

/* Called when SIGCHLD arrives: reap our workers' exits and every orphan, never stealing one. */
void sup_reap_children(Supervisor *s);

/*
 * Admin command on one instance: EV_START, EV_STOP or EV_RESTART.  Returns what to tell the
 * user ("already started" and the like).
 */
FsmReply sup_command(Instance *i, FsmEvent ev);

/* "api" (every instance of worker api), "api:1" (one instance). */
int sup_find_instances(Supervisor *s, const char *name, Instance ***ret, size_t *ret_n);

/* Where the instance's output goes, as logs.c takes it, in *ret (the strings are the
 * instance's); returns ret. */
OutputSpec *sup_output_spec(const Instance *i, OutputSpec *ret);
