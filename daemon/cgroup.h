/*
 * cgroup v2 files, one call per thing upkeepd does with them: find a hierarchy it may write,
 * make and remove directories, move a process, list, signal and kill what a cgroup holds.  No
 * policy and no supervisor: proctree.c decides which cgroup is whose.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgvalues.h"

/* room for a cgroup directory and a file name in it */
#define CGROUP_PATH_MAX 1024

/*
 * The directory of upkeepd's own cgroup in a cgroup v2 hierarchy ("/sys/fs/cgroup/<path>", or
 * "/sys/fs/cgroup/unified/<path>" on a hybrid host) in ret; -errno and a reason otherwise.
 */
int cgroup_own_dir(char *ret, size_t len, char *reason, size_t rlen);
/* "<base>/w-<name>" with anything but [A-Za-z0-9._:-] in name as '_': never "cgroup.*",
 * never "supervisor". */
void cgroup_instance_dir(const char *base, const char *name, char *ret, size_t len);
/* Move pid (0: the caller) into the cgroup at dir. */
int cgroup_move(const char *dir, pid_t pid);
/* dir opened, for a child to be started in it (clone3 CLONE_INTO_CGROUP) or to join it
 * before exec (its cgroup.procs). */
int cgroup_open_dir(const char *dir);
/* The CPU time of everything dir's cgroup ran (cpu.stat usage_usec: there without the cpu
 * controller), from its cpu.stat kept open: one pread, no path walk; -errno when unreadable. */
int cgroup_open_cpu_stat(const char *dir);
int cgroup_read_cpu_usec(int fd, uint64_t *ret);
/* The pids in dir's cgroup.procs (*ret NULL when none); -errno when unreadable. */
int cgroup_pids(const char *dir, pid_t **ret, size_t *ret_n);
/* Send sig to every process in dir; SIGKILL uses cgroup.kill where it exists. */
void cgroup_signal(const char *dir, int sig);
/* 1: something runs in dir or below, 0: empty, -errno: no such cgroup. */
int cgroup_populated(const char *dir);
/* How many live processes cgroup.procs lists (exited ones are not), 0 when dir is gone; <0: error. */
int cgroup_alive(const char *dir);
/* Remove dir and the empty cgroups below it, deepest first; -EBUSY while one is populated. */
int cgroup_remove_tree(const char *dir);

/* The controllers upkeepd uses where the kernel offers them to its cgroup. */
enum {
        CGROUP_MEMORY = 1 << 0,  /* memory.max, memory.high, memory.oom.group, memory.events */
        CGROUP_CPU = 1 << 1,     /* cpu.max */
};
/* Of those, the ones own's cgroup.controllers lists (what its children may be given). */
unsigned cgroup_offered(const char *own);
/*
 * Give base's children the controllers own offers: "+memory +cpu" in own's and in base's
 * cgroup.subtree_control (base holds no process itself).  Returns those that took; failing is
 * no error (they are never required).
 */
unsigned cgroup_enable(const char *own, const char *base, unsigned *ret_added);
/*
 * Undo it before upkeepd goes back into own: a cgroup (but the root) with controllers in its
 * cgroup.subtree_control takes no process.  base's are taken out, then those of own that
 * cgroup_enable() added (*ret_added).
 */
void cgroup_disable(const char *own, const char *base, unsigned enabled, unsigned added);
/* "memory cpu", or "none", for log lines. */
const char *cgroup_controllers_string(unsigned mask, char *buf, size_t len);
/* Write v into dir's files of the controllers in mask; the first failure's -errno and the
 * name of its file in *ret_file. */
int cgroup_write_values(const char *dir, unsigned mask, const CgValues *v, const char **ret_file);
/* dir's OOM kills so far (memory.events); -errno when unreadable. */
int cgroup_oom_kills(const char *dir, uint64_t *ret);
