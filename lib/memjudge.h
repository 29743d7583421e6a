/*
 * What a worker's memory samples mean: over memory-limit for memory-for samples in a row acts
 * (restart, a signal, or an alert), over memory-warn warns once until it goes back under; a
 * sample taken while the instance is starting (STARTING, or its health start-period) never
 * counts.  Pure: daemon/memwatch.c takes the samples and passes the clock.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

typedef enum MemoryAction {
        MEMORY_RESTART,   /* through the stop/backoff path, as an unhealthy probe does */
        MEMORY_SIGNAL,    /* send a signal to the whole tree */
        MEMORY_ALERT,     /* count the event (alert rules see it), log, nothing else */
        _MEMORY_ACTION_MAX,
        _MEMORY_ACTION_INVALID = -1,
} MemoryAction;

/* "restart", "alert", "signal NAME" (NAME as stop-signal takes it): 0, or -EINVAL. */
int memory_action_parse(const char *s, MemoryAction *ret, int *ret_signal);

typedef struct MemLimits {
        uint64_t limit, warn;     /* bytes; 0: none */
        unsigned samples;         /* memory-for */
} MemLimits;

typedef struct MemJudge {
        unsigned over;            /* samples over the limit in a row */
        usec_t over_since;        /* the first of them */
        bool warned;              /* over memory-warn, said once */
} MemJudge;

typedef enum MemVerdict {
        MEMV_NONE,
        MEMV_WARN,        /* crossed memory-warn */
        MEMV_WARN_CLEARED,/* back under memory-warn */
        MEMV_ACT,         /* over the limit memory-for samples in a row: act (and start over) */
} MemVerdict;

/* One sample of `bytes` at `now`; starting: taken while the instance starts (not judged). */
MemVerdict memjudge_step(MemJudge *j, const MemLimits *l, uint64_t bytes, bool starting,
                         usec_t now);
/*
 * cpu-warn: the tree's CPU use (percent of one CPU, between two samples) stayed over `warn`
 * for `span`: true once when it has, then again after each further span while it holds.
 */
typedef struct CpuJudge {
        bool over;
        usec_t since;             /* over since */
        usec_t fired_at;          /* 0: not yet in this stretch */
} CpuJudge;

bool cpujudge_step(CpuJudge *j, double percent, double warn, usec_t span, bool starting,
                   usec_t now);

/*
 * PSS <= RSS, so the RSS the kernel counts for a tree bounds its PSS: read from /proc/PID/stat
 * (no page-table walk) it proves a tree under memory-warn and memory-limit without reading
 * smaps_rollup (a walk of every page table: three times the cost).  The kernel's RSS counters
 * lag: before Linux 6.2 each thread keeps up to 64 page events of its own, since then each CPU
 * keeps up to max(32, 2 * cpus) pages per counter (file, anon, shmem).  The most one process's
 * RSS may read under its true value, in bytes:
 */
uint64_t memjudge_rss_lag(unsigned threads, unsigned cpus, uint64_t page_size);
/* Whether a tree whose RSS bound (lag included) is `bound` may be over warn or limit: only then
 * is its PSS read. */
bool memjudge_need_pss(const MemLimits *l, uint64_t bound);

/* "530M", "1.5G", "812K": what a person reads in a log line. */
char *format_bytes(char *buf, size_t len, uint64_t bytes);
