/*
 * Rolling restarts: `upkeepctl restart NAME` on a worker with several instances replaces them
 * a few at a time (rolling { max-unavailable }), the next only once the replacement is ready,
 * so the others keep serving.  A replacement not ready within ready-timeout pauses the roll
 * (or, with on-failure = continue, is passed over) until `restart NAME --continue | --abort`.
 * The decisions are lib/roll.c's; this part drives the supervisor through sup_command().
 */
#pragma once

#include <stddef.h>

#include "alerts.h"
#include "supervisor.h"

/* Watch s (instance changes drive the rolls); a paused roll is an alert of a. */
int roll_setup(Supervisor *s, Alerts *a);
void roll_teardown(void);
/* Begin a roll of w: 0, -EBUSY if one is under way, -ENOMEM. */
int roll_begin(Worker *w);
/*
 * restart-every: each worker that has it is restarted (rolled, when it has several
 * instances; only instances that run) that long after upkeepd started or the period was
 * configured, less a random jitter of up to 10%, then again and again.
 */
void roll_schedule(const Config *c);
/*
 * A reload's roll of w to new settings: prev, its settings before the reload, are kept (the
 * configuration that holds them) until the roll ends, for roll_abort_back().
 */
int roll_begin_reload(Worker *w, const WorkerConfig *prev);
/* The roll of the worker of that name: resume a paused one, or end it.  -ENOENT: none. */
int roll_resume(const char *worker);
int roll_stop(const char *worker);
/*
 * --abort: nothing more is begun; a reload's roll goes back (*ret_back true): the worker takes
 * its previous settings again and the instances the roll had begun are rolled back onto them.
 * A plain restart's roll has nothing to go back to: it just ends.  -ENOENT: no roll.
 */
int roll_abort_back(const char *worker, bool *ret_back);
/* "2/4", "paused at 2/4 (api:1 not healthy: 503)", or NULL when the worker is not rolling. */
const char *roll_describe(const char *worker, char *buf, size_t len);
