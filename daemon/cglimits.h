/*
 * The memory and cpu controllers of upkeepd's cgroup sub-tree (proctree.c owns the sub-tree):
 * enabled for the instances where upkeepd's cgroup offers them, each instance's limits written
 * into its cgroup, its OOM kills read back.  Never required: without them, memory-limit is
 * enforced by sampling only (memwatch.c) and cpu-limit is a warning.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cgvalues.h"

typedef struct CgLimits {
        char *origin;            /* where upkeepd started, when it moved into our leaf; NULL: not */
        unsigned controllers;    /* CGROUP_MEMORY, CGROUP_CPU: enabled for the instances */
        unsigned own_added;      /* those enabled in origin's cgroup.subtree_control by us */
        char **limit_failed;     /* instances whose limits could not be written (said once) */
} CgLimits;

/*
 * Where own (upkeepd's cgroup) offers memory or cpu: upkeepd moves into base/supervisor and
 * enables them for base's children.  Failing leaves l without controllers.
 */
void cglimits_setup(CgLimits *l, const char *own, const char *base);
/* Before base is emptied at exit: the controllers out again, upkeepd back where it started.
 * false: upkeepd could not leave base (base must not be killed then). */
bool cglimits_leave(CgLimits *l, const char *base);
void cglimits_done(CgLimits *l);
/* Write v into an instance's cgroup dir (name for the log), where it exists. */
void cglimits_write(CgLimits *l, const char *dir, const char *name, const CgValues *v);
/* The OOM kills counted in dir's memory.events; 0 without a memory controller. */
uint64_t cglimits_oom_kills(const CgLimits *l, const char *dir);
/* Those upkeepd's cgroup offers, without setting anything up (--check-config). */
unsigned cglimits_offered(void);
