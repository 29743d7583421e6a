/*
 * supervisord.conf import: the [eventlistener:x] sections upkeep can stand in for.  upkeep speaks
 * no event listener protocol, but two listeners are common enough to translate by what they do:
 *
 *   - "stop the container when a program dies": events PROCESS_STATE_FATAL (or _EXITED,
 *     _STOPPED) and a command that kills or shuts down supervisord.  upkeep's `required = true`
 *     on every program ends upkeepd when one of them is FATAL or ends for good.
 *   - supervisor_stdout: the output of the programs with stdout_events_enabled or
 *     stderr_events_enabled on supervisord's stdout.  upkeep's `log-dir = "-"` on those programs.
 *
 * Any other listener stays a warning that names it.  Pure text handling, no I/O.
 */
#pragma once

#include "svdemit.h"
#include "svdini.h"

/* Read every [eventlistener:x]: set g->stop_listener and g->stdout_listener, warn of the rest. */
int svd_read_listeners(Parser *p, Globals *g);
