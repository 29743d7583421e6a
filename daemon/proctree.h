/*
 * Every process of an instance, not just its main one: what its stop signal and SIGKILL reach,
 * and what `status` counts.  Two ways, chosen once at start:
 *   - cgroup v2, where upkeepd can write a hierarchy: a sub-tree of its own beside it
 *     (<own cgroup>/upkeepd-<token>, upkeepd stays in <own cgroup>), and each instance runs in
 *     a leaf (.../w-<instance>) that its process joins before exec; nothing can leave it.
 *   - everywhere else, the environment and the process tree: each worker gets
 *     UPKEEP_TREE=<token>/<instance>.  Everything a worker starts is a descendant of upkeepd
 *     (child subreaper): walking down from upkeepd (/proc/PID/task/TID/children), an instance
 *     has its main process, the orphans re-parented to upkeepd whose environment names it, and
 *     everything below them.  Without children files, or for a previous run's processes, a
 *     scan of all of /proc does the same by environment and parentage.  An orphan that cleared
 *     its environment is lost.  The walk can read each process's CPU clock before its
 *     children, for memwatch.c to tell an idle tree without walking it again.
 * The token (upkeepd's pid and start time) names this run; the state file records it and the
 * sub-tree, so the next upkeepd can stop what this one left (statefile.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgvalues.h"
#include "config.h"
#include "macro.h"
#include "proctable.h"

typedef struct Tree Tree;

/* Detect the mode; UPKEEP_CGROUP=off forces the fallback (tests, diagnosis). */
int tree_new(Tree **ret);
/* Say which mode, and why not cgroups (once, when upkeepd's log is set up). */
void tree_log_mode(const Tree *t);
/* Waits a bounded time for the instances' cgroups to empty, then removes the sub-tree. */
Tree *tree_free(Tree *t);
/* The same, keeping the rest: upkeepd ends before its loop ran (a start-up failure). */
void tree_leave(Tree *t);
const char *tree_token(const Tree *t);
/* The sub-tree's directory; NULL without cgroups. */
const char *tree_cgroup(const Tree *t);

/*
 * For a spawn of instance name: its UPKEEP_TREE assignment in *ret_env (the caller frees it),
 * and its cgroup's directory, opened, in *ret_fd (-1: none).  1: the child must join it by
 * writing its cgroup.procs (a cgroup.kill hit it and it could not be made anew), 0: it may be
 * started in it (clone3), -ENOMEM.
 */
int tree_prepare(Tree *t, const char *name, char **ret_env, int *ret_fd);
/* Send sig to every process of instance name (main: its main process, <= 0: none). */
void tree_signal(Tree *t, const char *name, pid_t main, int sig);
/* SIGKILL every process of the instance and wait up to 100 ms for them to be gone. */
void tree_kill(Tree *t, const char *name, pid_t main);
/* A main process started / ended (reaped): what the /proc walk of the fallback starts from. */
void tree_started(Tree *t, pid_t main);
void tree_ended(Tree *t, pid_t main);
/* The instance is no longer configured: its cgroup goes, if empty (else at upkeepd's exit). */
void tree_forget(Tree *t, const char *name);
/*
 * The pids of the instance (*ret NULL when none); the caller frees *ret.  Where the whole of
 * /proc must be scanned, one scan serves every call made within 200 ms of it (`now`).
 */
int tree_pids(Tree *t, const char *name, pid_t main, usec_t now, pid_t **ret, size_t *ret_n);
/* The instance cgroup's cpu.stat, open, for cgroup_read_cpu_usec() (the CPU time of all it
 * ran, in one small read); -ENOENT without a cgroup of its own. */
int tree_open_cpu_stat(Tree *t, const char *name);
/*
 * The same, perhaps with zombies (a caller that reads each process's stat anyway).  With
 * ret_clocks, where the tree was walked down from upkeepd (the fallback with children files),
 * *ret_clocks gets each process's CPU clock, read before its children were listed
 * (PROC_CLOCK_NONE: it was gone); else NULL.  The caller frees it.
 */
int tree_pids_raw(Tree *t, const char *name, pid_t main, usec_t now, pid_t **ret,
                  uint64_t **ret_clocks, size_t *ret_n);
#define PROC_CLOCK_NONE UINT64_MAX
/* A process's /proc/PID/stat (a main process's by its open file); false when it is gone or a
 * zombie. */
bool tree_proc_stat(Tree *t, pid_t pid, ProcStat *ret);
/*
 * Whether no process of a walk ran since (every clock as tree_pids_raw() read it): then none
 * forked, exited or faulted a page in.  A pid names the same process as long as it was not
 * reaped, which its parent (another process of the walk: its clock moved) or upkeepd (see
 * children_reaped_orphans()) does.
 */
bool tree_clocks_unchanged(const pid_t *pids, const uint64_t *clocks, size_t n);

/*
 * A previous run's leftovers (statefile.c): send sig to the processes of instance name (NULL:
 * all) of the run `token`, whose sub-tree was `cgroup` (NULL: none).  SIGKILL then removes
 * what is left of its sub-tree after a bounded wait.
 */
void tree_signal_run(Tree *t, const char *token, const char *cgroup, const char *name, int sig);
/* Whether a sub-tree path from a state file is one of ours to touch. */
bool tree_cgroup_valid(const char *cgroup);

/*
 * Controllers (cgroup v2 with memory or cpu offered to upkeepd's cgroup): enabled for the
 * instances' cgroups at start, never required.  CGROUP_MEMORY, CGROUP_CPU (cgroup.h); 0 without.
 */
unsigned tree_controllers(const Tree *t);
#define TREE_CPU_LIMIT_UNENFORCED "cpu-limit needs the cgroup v2 cpu controller: not enforced here"
/* A warning for each worker of c with a cpu-limit, where there is no cpu controller (at start,
 * after a reload). */
void tree_warn_limits(const Tree *t, const Config *c);
/* Write v into instance name's cgroup where it exists (before each spawn, after a reload);
 * a failure is logged once per instance. */
void tree_set_limits(Tree *t, const char *name, const CgValues *v);
/* The OOM kills in instance name's cgroup so far (memory.events); 0 without a memory
 * controller. */
uint64_t tree_oom_kills(Tree *t, const char *name);
