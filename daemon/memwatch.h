/*
 * One instance's memory and CPU: its whole tree (proctree.h) sampled every memory-interval.
 * RSS from /proc/PID/stat bounds PSS; PSS is summed from /proc/PID/smaps_rollup only where that
 * bound reaches memory-warn or memory-limit, and on a run's first sample (RSS where that file
 * is missing).  CPU time from the instance's cgroup cpu.stat, else from /proc/PID/stat; an
 * idle tree (cpu.stat, or its processes' CPU clocks, unmoved) is not read again.  lib/memjudge.c says what the samples mean; the supervisor
 * acts (memory-action) through a callback.  Only workers with a memory-limit or memory-warn are
 * sampled, or a cpu-warn.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "memjudge.h"

struct Tree;

typedef struct MemWatchSpec {
        const char *name;             /* the instance's: its tree, log lines */
        sd_event *event;
        struct Tree *tree;
        /* the instance is starting (STARTING, or within its health start-period) */
        bool (*starting)(void *userdata);
        /* over memory-limit for memory-for samples: note says so ("memory 530M over limit
         * 512M for 30s"); the callback performs memory-action */
        void (*act)(void *userdata, const char *note);
        /* over cpu-warn for cpu-for (logged here): counted as a cpu event */
        void (*cpu)(void *userdata);
        void *userdata;
} MemWatchSpec;

typedef struct MemWatch {
        MemWatchSpec spec;
        const WorkerConfig *cfg;
        struct Batch *batch;          /* the instances sampled at its interval, with one timer */
        bool due;                     /* to be sampled in the batch's current wake-up */
        pid_t pid;                    /* the main process; 0: none */
        MemJudge judge;
        bool sampled;                 /* the figures below are of the current process */
        uint64_t bytes;               /* the tree's PSS at the last sample, or its RSS (is_pss) */
        bool is_pss;                  /* bytes is PSS; else RSS, which proved it under both */
        uint64_t pss_bytes;           /* the last PSS read, at pss_at (pss_known) */
        usec_t pss_at;
        bool pss_known;
        bool pss_settled;             /* a PSS was read since the run started */
        unsigned procs;
        double cpu_s;                 /* CPU time: of the instance's cgroup (cpu_cgroup), else
                                       * of the tree's processes alive at the sample */
        bool cpu_cgroup;
        int cpu_fd;                   /* the instance cgroup's cpu.stat; -1: none (yet) */
        bool cpu_fd_tried;            /* this run */
        uint64_t cg_usec;             /* the cgroup's usage_usec at the last sample */
        bool quiet;                   /* the last full sample proved the tree under both */
        unsigned quiet_samples;       /* samples since the last full one (every process read) */
        pid_t *walk;                  /* without a cgroup: the processes of the last full sample, */
        uint64_t *clocks;             /* their CPU clocks before their children were read */
        size_t n_walk;                /* (tree_pids_raw), kept while it is quiet */
        uint64_t reaped;              /* children_reaped_orphans() before that sample */
        double cpu_pct;               /* of one CPU, between the last two samples */
        usec_t sampled_at;
        CpuJudge cpu;
        char note[160];               /* the last memory-action, kept across runs (set by the
                                       * supervisor: "restarted: memory ...") */
} MemWatch;

bool memwatch_wanted(const WorkerConfig *cfg);
void memwatch_init(MemWatch *m, const MemWatchSpec *spec, const WorkerConfig *cfg);
/* New settings (a reload): sampling starts, stops or changes its interval. */
void memwatch_configure(MemWatch *m, const WorkerConfig *cfg);
/* A process was started / has ended. */
void memwatch_begin(MemWatch *m, pid_t pid);
void memwatch_end(MemWatch *m);
void memwatch_done(MemWatch *m);
/* The tree's figures now: PSS bytes, CPU seconds; false when there is no process. */
bool memwatch_sample(MemWatch *m, usec_t now);
