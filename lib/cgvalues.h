/*
 * What upkeepd writes into an instance's cgroup for its configuration (memory.max, memory.high,
 * memory.oom.group, cpu.max), and what it reads back from memory.events: whether the kernel's
 * OOM killer struck.  Pure: daemon/cgroup.c writes and reads the files.
 *
 * memory-limit is judged by sampling (lib/memjudge.c: the tree's PSS over memory-for samples),
 * which restarts a worker gracefully, through its stop signal.  The kernel's ceiling is the
 * backstop for a leak too fast for that: memory.max sits a quarter above memory-limit (at least
 * 16M), so the sampler acts first on an ordinary leak.  memory.high = memory-limit, only with
 * memory-action = restart (the worker is going to be replaced anyway): the kernel reclaims its
 * cache and slows its allocations there, which buys the sampler its memory-for samples.  With
 * alert or signal, the worker is meant to keep running over memory-limit: no memory.high.
 * memory.oom.group = 1 with a limit: the OOM killer takes the instance down whole, as its
 * restart will.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* the cpu.max period, in microseconds (the kernel's default) */
#define CG_CPU_PERIOD 100000
/* the least headroom of memory.max over memory-limit */
#define CG_MEMORY_HEADROOM_MIN (16ULL * 1024 * 1024)

typedef struct CgValues {
        char memory_max[24];      /* bytes, or "max" */
        char memory_high[24];
        char oom_group[2];        /* "1", "0" */
        char cpu_max[32];         /* "<quota> <period>", or "max <period>" */
} CgValues;

/* memory.max for memory-limit (0: none, "max"): memory-limit and its headroom. */
uint64_t cg_memory_max(uint64_t memory_limit);
/* memory_limit in bytes (0: none), restart: memory-action is restart, cpu_limit in percent of
 * one CPU (0: none). */
void cg_values(uint64_t memory_limit, bool restart, double cpu_limit, CgValues *ret);
/*
 * The OOM kills memory.events counts (its text in events): oom_kill plus oom_group_kill, a
 * number that only grows while the cgroup lives.  -EINVAL when neither line is there.
 */
int cg_parse_oom_kills(const char *events, uint64_t *ret);
