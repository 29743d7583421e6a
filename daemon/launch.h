/*
 * Starting an instance: the supervisor's side of a spawn.  Turns an instance's configuration
 * into a plain SpawnSpec (credentials resolved, environment merged, argv expanded), connects its
 * stdout and stderr to worker output (output.c), and says why a child failed before exec.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "output.h"

/* One instance to start, as the supervisor describes it. */
typedef struct LaunchSpec {
        const WorkerConfig *cfg;
        unsigned index;
        const char *name;          /* "api" or "api:2", for log lines */
        const OutputSpec *output;  /* where its output goes */
        LogOutput **log_output;    /* the instance's worker output, kept across runs */
        bool *env_warned;          /* the worker's: the world-readable env-file warning was given */
        sd_event *event;
        char *const *extra_env;    /* NOTIFY_SOCKET= and the like (readiness.c); NULL: none */
        int ready_fd;              /* ready = fd:N: the write end, given as cfg->ready_fd */
        OutputLineFn line_watch;   /* ready = "log:REGEX": its output lines go there too */
        void *line_data;
        const char *tree_env;      /* UPKEEP_TREE=... (proctree.c); NULL: none */
        const int *cgroup_fd;      /* the cgroup directory the child starts in; NULL: none */
        bool cgroup_by_write;      /* ... joined by writing its cgroup.procs (tree_prepare) */
} LaunchSpec;

/* Start the instance's process; on failure *reason says why (there is no process then). */
int launch_instance(const LaunchSpec *i, pid_t *ret_pid, int *ret_errpipe, char *reason,
                    size_t len);
/* After the child of a worker configured as w ended: the failure it reported before exec, as a
 * reason, if any. */
bool launch_read_error(const WorkerConfig *w, int errpipe, char *reason, size_t len);
