/*
 * The child registry: who is waiting for which process to end.  It owns the pidfd of every
 * watched process, the SIGCHLD scan (the only fallback when pidfd_open() is missing), and the
 * reaping of orphans re-parented to upkeepd (subreaper, or PID 1 in a container).
 */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

typedef struct Children Children;

/*
 * pid ended.  si is its collected status; NULL for a CHILD_FOREIGN process, or a
 * CHILD_ADOPTED one that was not our child when it ended (its status is not ours to collect).
 * The watch is already gone: the callback may watch a new process, or free what userdata
 * points to.
 */
typedef void (*ChildExited)(pid_t pid, const siginfo_t *si, void *userdata);

typedef enum ChildFlags {
        CHILD_KILL_GROUP = 1 << 0, /* SIGKILL its process group while it is still a zombie */
        CHILD_FOREIGN = 1 << 1,    /* not our child (a previous upkeepd's): only see it go */
        /* a main process named by MAINPID=: its status is collected when it is our child by
         * then (re-parented to upkeepd), else only its end is seen (si NULL); needs pidfds */
        CHILD_ADOPTED = 1 << 2,
} ChildFlags;

int children_new(sd_event *e, Children **ret);
/* Every watch is dropped; the processes are not signalled. */
Children *children_free(Children *c);

/*
 * Call cb once pid has ended.  -ENOSYS for a CHILD_FOREIGN or CHILD_ADOPTED process when the
 * kernel has no pidfds (nothing then tells us it ended); any other error means it cannot be
 * watched, and the caller must not leave it running unsupervised.
 */
int children_watch(Children *c, pid_t pid, unsigned flags, ChildExited cb, void *userdata);
/*
 * Send sig to the watched process pid through its pidfd, which cannot reach another process
 * that got its pid meanwhile (one that is not our child could have been reaped by its own
 * parent); by pid when it has no pidfd or is not watched.  -errno on failure.
 */
int children_signal(Children *c, pid_t pid, int sig);
/* No callback for pid any more; a child's status is then collected by the orphan scan. */
void children_forget(Children *c, pid_t pid);
/* Collect pid now if it has ended (its callback runs); false when it is still running. */
bool children_reap(Children *c, pid_t pid);
/*
 * SIGCHLD arrived: collect every watched child that ended and every orphan, never the status
 * of a process somebody watches before its callback.  Returns how many orphans were reaped.
 */
unsigned children_scan(Children *c);
/*
 * How many orphans upkeepd has reaped so far.  A pid is free for another process once reaped:
 * while this stays, a process re-parented to upkeepd still has its pid (see proctree.h).
 */
uint64_t children_reaped_orphans(void);
/* pidfd_open() is missing (kernel before 5.3, or valgrind): exits are seen by the scan alone. */
bool children_no_pidfd(const Children *c);
