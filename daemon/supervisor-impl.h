/*
 * The supervisor's own structures, shared by the files that make it up (supervisor.c,
 * supervisor-view.c for what the rest of upkeepd reads of it, supervisor-ready.c for the gate
 * and readiness) and by nothing else: every other part goes through supervisor.h.
 */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "circuit.h"
#include "config.h"
#include "fsm.h"
#include "health.h"
#include "memwatch.h"
#include "output.h"
#include "restartreason.h"
#include "readiness.h"
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
        bool adopted;            /* pid came from MAINPID=: not the one spawned, no group leader */
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
        bool exit_oom;           /* that SIGKILL was the kernel's OOM killer (memory.events) */
        uint64_t oom_kills;      /* its cgroup's OOM kills when the run was spawned */
        char reason[256];        /* why it is not running, when that is an error */

        Probe probe;
        bool spawn_attempted;    /* at least one spawn since upkeepd started (readiness) */
        bool admin_stopped;      /* an operator stopped it: no autostart, kept across reloads */
        bool start_queued;       /* started by an operator while leftovers were being stopped */
        Circuit circuit;         /* give-up: the last restarts, the half-open attempt */
        struct LogOutput *log_output; /* where its stdout/stderr go (output.c), kept across runs */
        uint64_t restarts_by[_RESTART_REASON_MAX]; /* every restart, by reason (metrics) */
        RestartReason restart_cause; /* of the next automatic restart; crash unless said */
        char *last_output;       /* crash context: its last lines when its run ended badly */
        bool output_frozen;      /* this run's end was frozen already (failed probes) */
        bool stop_held;          /* to stop once its dependents are down (the gate, deps.c) */
        Readiness *ready;        /* ready = notify, fd:N or log: what the process says of
                                  * itself; NULL until a run has one (instance_ready_begin) */
        MemWatch *mem;           /* its tree's memory and CPU, memory-action (memwatch.c);
                                  * NULL until its worker asks for sampling (instance_configure) */
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
        bool spare;              /* instances[n_instances - 1] is rolling { surge }'s spare */
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
        const struct SupGate *gate; /* when an instance may start and stop (deps.c); NULL: always */
        void *gate_userdata;
        unsigned config_holds;   /* earlier configurations kept for a roll (sup_hold_configs) */
};

/* supervisor-view.c: earlier configurations are still needed (held, or a worker runs on one) */
bool sup_old_configs_needed(const Supervisor *s);

/* supervisor.c, for the other files of the supervisor: a transition, an event counted. */
void instance_dispatch(Instance *i, FsmEvent ev);
void instance_count_event(Instance *i, EventKind k);
/* sig to the instance's whole tree */
void instance_signal(Instance *i, int sig);
/* Its main process ended (a ChildExited, children.h): the instance's end. */
void instance_main_exited(pid_t pid, const siginfo_t *si, void *userdata);
/* Something the state file records changed (a MAINPID= adopted). */
void instance_record_changed(Instance *i);

/* supervisor-watch.c: probes, memory and CPU samples, set up again after a configuration */
int instance_configure(Instance *i);
MemWatchSpec *instance_memwatch_spec(Instance *i, MemWatchSpec *ret);
/* Its cgroup's memory.max, memory.high, memory.oom.group, cpu.max, from its configuration;
 * spawn: before a spawn, its cgroup just made (the OOM kills so far are noted). */
void instance_set_limits(Instance *i, bool spawn);
/* Its main process was killed by SIGKILL: by the OOM killer?  Then the exit is "oom", a memory
 * event, and the restart's reason is memory. */
void instance_check_oom(Instance *i);

/* supervisor-ready.c: the supervisor's side of the gate and of readiness told by the process */
bool instance_hold_stop(Instance *i);
bool instance_ready_by_process(const Instance *i);
/* Before a spawn: the readiness of this run (i->ready, allocated for the first run that has
 * one), its environment and fd N; none for ready = started or healthy. */
int instance_ready_begin(Instance *i, char *const **ret_env, int *ret_fd);
/* The timer fired in STARTING while ready-timeout ran: the start failed (true), or not ours. */
bool instance_ready_timed_out(Instance *i);
/* WAITING for longer than wait-timeout: said, and counted for the alert rules; it waits on. */
void instance_wait_timed_out(Instance *i);
