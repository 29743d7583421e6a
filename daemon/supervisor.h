/*
 * The worker table and each instance's life: spawn, watch, stop, reap, restart.  The state
 * machine itself is fsm.c; this part performs its actions with sd-event sources and syscalls.
 * The others (requests, alerts, sd_notify, the state file) read it through the views and
 * accessors at the end, and never see its structures.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "fsm.h"
#include "health.h"
#include "memwatch.h"
#include "output.h"
#include "restartreason.h"
#include "window.h"

typedef struct Instance Instance;
typedef struct Supervisor Supervisor;
typedef struct Worker Worker;
typedef struct Http Http;

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

/*
 * Who says when an instance may start and when it may stop (deps.c: the dependencies between
 * workers), set by upkeepd.c; the supervisor asks it and never names it.  Without one, always.
 */
typedef struct SupGate {
        /* i is about to be spawned: false makes it WAITING until sup_gate_opened(i) */
        bool (*may_start)(void *userdata, const Instance *i);
        /* i, which has a process, is to stop: false holds the stop until sup_gate_opened(i) */
        bool (*may_stop)(void *userdata, const Instance *i);
        /* a stop was held */
        void (*held)(void *userdata, const Instance *i);
} SupGate;

void sup_set_gate(Supervisor *s, const SupGate *ops, void *userdata);
/* The gate opened for i: a WAITING instance starts, a held stop is carried out. */
void sup_gate_opened(Instance *i);
/* A worker i is bound to (after "x:bind") restarts: i restarts too, and waits for it again. */
void sup_restart_bound(Instance *i, const char *cause);

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
/* w replaces old, whose process settings changed: it starts once old is gone, and keeps the
 * operator stops of old's instances. */
void worker_succeed(Worker *w, Worker *old);
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

/* Where the instance's output goes, as output.c takes it, in *ret (the strings are the
 * instance's); returns ret. */
OutputSpec *sup_output_spec(const Instance *i, OutputSpec *ret);

/*
 * What the rest of upkeepd reads of the supervisor, and the little it may set: its structures
 * are private to it (supervisor-impl.h).
 */

/* The workers no longer configured whose processes are still stopping. */
Worker *const *sup_retiring(const Supervisor *s, size_t *ret_n);
sd_event *sup_event(const Supervisor *s);
/* The running configuration: replaced by a reload. */
const Config *sup_config(const Supervisor *s);
/* Every process upkeepd waits for goes through this registry. */
struct Children *sup_children(const Supervisor *s);
/* Every process of each instance, beyond its main one (proctree.c). */
struct Tree *sup_tree(const Supervisor *s);
/* The HTTP client probes use; NULL while no probe is configured. */
Http *sup_http(const Supervisor *s);
bool sup_shutting_down(const Supervisor *s);
/* CLOCK_MONOTONIC */
usec_t sup_started_at(const Supervisor *s);
unsigned long sup_orphans_reaped(const Supervisor *s);
/* What upkeepd exits with: a required worker's failure sets it. */
int sup_exit_code(const Supervisor *s);
/* upkeepd is to exit with a failure: 1, unless a required worker's status was set already. */
void sup_set_failed(Supervisor *s);

/*
 * The processes of a previous upkeepd are being stopped (statefile.c): nothing starts meanwhile,
 * commands are queued, and upkeepd is not down while they last.
 */
void sup_set_recovery(Supervisor *s, bool recovering);
bool sup_recovering(const Supervisor *s);
/* The state file recorded that an operator stopped the instance of that name: kept. */
void sup_restore_operator_stop(Supervisor *s, const char *name);
/*
 * Keep (hold true) or no longer keep the configurations a reload replaced, so the settings a
 * worker had before it can be gone back to (a roll aborted, rolling.c).  A worker put back on
 * earlier settings (worker_reconfigure()) keeps them too, until a reload gives it new ones.
 */
void sup_hold_configs(Supervisor *s, bool hold);
/* The configuration of the worker of the instance of that name; NULL: none configured. */
const WorkerConfig *sup_instance_config(const Supervisor *s, const char *name);

/*
 * What the rest of upkeepd reads of an instance: a copy taken at one moment, whose strings and
 * pointers are the instance's (valid until the loop runs again).
 */
typedef struct InstanceView {
        const char *name;        /* "api", or "api:2" when the worker has several instances */
        unsigned index;
        const WorkerConfig *cfg; /* its worker's */
        InstanceState state;
        usec_t state_since;      /* CLOCK_MONOTONIC */
        usec_t started_at;       /* last successful spawn */
        usec_t next_retry_at;    /* in BACKOFF */
        unsigned restarts;       /* automatic restarts since upkeepd started */
        unsigned attempt;        /* backoff sequence position */
        pid_t pid;               /* > 0 while a process exists */
        uint64_t pid_start_time; /* of pid, from /proc, once the state file asked for it */
        bool has_exited;
        int exit_code;           /* valid when has_exited and exit_signal == 0 */
        int exit_signal;
        bool exit_oom;           /* that signal was the kernel's OOM killer (memory.events) */
        const char *reason;      /* why it is not running, when that is an error; "" otherwise */
        const Probe *probe;
        bool spawn_attempted;    /* at least one spawn since upkeepd started (readiness) */
        bool admin_stopped;      /* an operator stopped it */
        const LogOutput *log_output; /* where its output goes (output.c); NULL before its first run */
        const uint64_t *restarts_by; /* [_RESTART_REASON_MAX]: restarts by reason */
        const char *last_output; /* crash context of its last bad end (output_freeze); NULL: none */
        bool stop_held;          /* its stop waits for its dependents to be down */
        const char *notify_status; /* ready = notify: STATUS= (or reloading, stopping); "" none */
        const MemWatch *mem;     /* its tree's last memory and CPU sample (memwatch.c) */
} InstanceView;

void sup_instance_view(const Instance *i, InstanceView *ret);
const char *sup_instance_name(const Instance *i);
/* The state file read the process's start time (0: unknown): kept until the process ends. */
void sup_instance_set_start_time(Instance *i, uint64_t start_time);

/* A worker: its configuration, its instances, and its event windows (NULL while nothing was
 * counted; reading them moves them on to the time read at). */
const WorkerConfig *worker_config(const Worker *w);
unsigned worker_n_instances(const Worker *w);
Instance *worker_instance(const Worker *w, unsigned k);
/*
 * rolling { surge = 1 }: the worker's spare instance (index instances, not counted by
 * worker_n_instances(), never started but by a roll, rolling.c); NULL: none.
 */
Instance *worker_spare(const Worker *w);
Window *worker_window(Worker *w);
/* No longer configured (removed or replaced by a reload), stopping. */
bool worker_is_retiring(const Worker *w);
