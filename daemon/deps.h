/*
 * The dependencies between workers at run time (`after`): an instance starts once every worker
 * it comes after is ready, and stops only once the instances that come after it are down.  It
 * is the supervisor's gate (SupGate) and watches it (SupObserver); the decisions themselves are
 * lib/depgraph.c's.
 */
#pragma once

#include "supervisor.h"

typedef struct Deps Deps;

/* Registers itself as s's gate and observer; freed before s. */
int deps_new(Supervisor *s, Deps **ret);
Deps *deps_free(Deps *d);

/*
 * Why a WAITING instance waits, for status: "waiting for redis (BACKOFF, retry in 4s)".  The
 * first dependency that is not met; "" when none is (it is about to start).
 */
void deps_describe(const Supervisor *s, const Instance *i, usec_t now, char *buf, size_t len);
