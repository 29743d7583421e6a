/*
 * What /proc and cgroupfs say about a worker's processes, and to which instance each belongs.
 * Pure: the caller reads the files (daemon/proctree.c, daemon/cgroup.c) and hands over their
 * text; nothing here opens a file or reads a clock.  Unit-tested in tests/unit/test_proctable.c.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The environment variable that names an instance's tree: UPKEEP_TREE=<run token>/<instance> */
#define PROC_TREE_VAR "UPKEEP_TREE"

/* What we read of /proc/PID/stat. */
typedef struct ProcStat {
        pid_t pid, ppid;
        char state;               /* 'R', 'S', 'Z' ... */
        uint64_t utime, stime;    /* clock ticks */
        uint64_t start_time;      /* clock ticks since boot */
        uint64_t rss_pages;
        unsigned threads;         /* num_threads */
} ProcStat;

/* Parse the text of /proc/PID/stat (the command name may hold spaces and parentheses). */
int proc_parse_stat(const char *buf, ProcStat *ret);

/*
 * The value of key in an environment block as /proc/PID/environ has it: "K=V\0K=V\0...", len
 * bytes, the last string perhaps cut short.  NULL when absent; the value is not NUL-terminated
 * when the block was cut inside it, so *ret_len says how long it is.
 */
const char *proc_env_find(const char *env, size_t len, const char *key, size_t *ret_len);

/*
 * Whether the environment block names instance `name` of the run `token` (UPKEEP_TREE=token/name);
 * name NULL: any instance of that run.
 */
bool proc_env_is_tree(const char *env, size_t len, const char *token, const char *name);

/* The cgroup v2 path of /proc/PID/cgroup's "0::/path" line, copied into ret; -ENOENT: none. */
int proc_parse_cgroup(const char *buf, char *ret, size_t len);

/* cgroup.events: 1 populated, 0 empty, -EINVAL unreadable. */
int cgroup_parse_populated(const char *buf);

/* /proc/PID/smaps_rollup: its Pss and Rss lines in bytes; -EINVAL when Rss is missing. */
int proc_parse_rollup(const char *buf, uint64_t *ret_pss, uint64_t *ret_rss);

/* One process of a /proc scan, as proc_attribute() takes it. */
typedef struct ProcEntry {
        pid_t pid, ppid;
        int env_owner;            /* the instance its environment names, -1: none (or unread) */
        int owner;                /* out: the instance it belongs to, -1: none */
} ProcEntry;

/*
 * Give each process its instance: the one whose main process it is, else the one its
 * environment names, else its parent's, up the chain (a process that cleared its environment
 * belongs to the instance of the process that started it, while that one lives).  roots[k] is
 * instance k's main pid (<= 0: none).  Sorts procs by pid.
 */
void proc_attribute(ProcEntry *procs, size_t n, const pid_t *roots, size_t n_roots);
