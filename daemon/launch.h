/*
 * Starting an instance: the supervisor's side of a spawn.  Turns an instance's configuration
 * into a plain SpawnSpec (credentials resolved, environment merged, argv expanded), connects its
 * stdout and stderr to worker output (logs.c), and says why a child failed before exec.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "supervisor.h"

/* Start i's process; on failure *reason says why (the instance has no process then). */
int launch_instance(Instance *i, pid_t *ret_pid, int *ret_errpipe, char *reason, size_t len);
/* After the child ended: the failure it reported before exec, as a reason, if any. */
bool launch_read_error(const Instance *i, int errpipe, char *reason, size_t len);
