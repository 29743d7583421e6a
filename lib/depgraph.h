/*
 * Dependencies between workers (`after = { "redis", "migrate:completed" }`) as pure decisions:
 * what an entry says, whether the graph has a cycle (and which), whether one instance may start
 * now and whether one may stop now.  The order follows from the last two, asked again at every
 * change: what may start starts (in parallel), what may stop stops (dependents first).  The supervisor's runtime part
 * (daemon/deps.c) feeds them the states it sees.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "fsm.h"

typedef enum DepCond {
        DEP_READY,     /* "redis": RUNNING (ready: healthy, or past start-secs); a oneshot: done */
        DEP_STARTED,   /* "redis:started": its process was spawned */
        DEP_COMPLETED, /* "migrate:completed": it exited with code 0 */
        _DEP_COND_MAX,
        _DEP_COND_INVALID = -1,
} DepCond;

const char *dep_cond_to_string(DepCond c);

/* What an `after` entry says. */
typedef struct DepEntry {
        size_t len;        /* of the name, at the start of the entry */
        DepCond cond;
        bool bind;         /* ":bind": restart after it when it restarts */
} DepEntry;

/*
 * An `after` entry: "name", then optionally ":condition" and ":bind", in any order, each once
 * ("redis:bind", "migrate:completed").  0, or -EINVAL (empty name, an unknown or repeated
 * word) with *ret_err saying what was wrong.
 */
int dep_parse(const char *s, DepEntry *ret, const char **ret_err);

/* The graph: node k comes after nodes edges[k][0 .. n_edges[k] - 1]. */
typedef struct DepGraph {
        size_t n;
        const size_t *const *edges;
        const size_t *n_edges;
} DepGraph;

/*
 * A cycle, if there is one: its nodes in order in path[0 .. len - 1] (each comes after the
 * next, the last after the first; a self-dependency is a cycle of one), len returned; 0: none.
 * path holds g->n nodes.  -ENOMEM.
 */
int dep_find_cycle(const DepGraph *g, size_t *path);

/* What one instance of a dependency looks like, for the condition of a link to it. */
typedef struct DepFacts {
        InstanceState state;
        bool oneshot;      /* its worker runs to completion */
        bool exited_ok;    /* its last process exited with code 0 */
} DepFacts;

/* Does this instance satisfy the condition? */
bool dep_met(DepCond c, const DepFacts *f);

/*
 * May an instance that is being stopped stop now?  Not while one that comes after it still
 * has a process and is being stopped too: dependents stop first.  `dependents` are the
 * instances of the workers that come after it.
 */
typedef struct DepDependent {
        bool has_process;
        bool stopping;     /* STOPPING, or held for a stop of its own */
} DepDependent;

bool dep_may_stop(const DepDependent *dependents, size_t n);
