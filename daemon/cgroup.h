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

/* room for a cgroup directory and a file name in it */
#define CGROUP_PATH_MAX 1024

/*
 * The directory of upkeepd's own cgroup in a cgroup v2 hierarchy ("/sys/fs/cgroup/<path>", or
 * "/sys/fs/cgroup/unified/<path>" on a hybrid host) in ret; -errno and a reason otherwise.
 */
int cgroup_own_dir(char *ret, size_t len, char *reason, size_t rlen);
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
