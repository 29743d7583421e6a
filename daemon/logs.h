/*
 * Worker output: the read ends of each instance's stdout and stderr pipes, appended to
 * log-dir/<worker>/<instance>.log.  A stream lives until EOF on its pipe, independently of the
 * instance, so output written just before an exit (or by a leftover grandchild) is not lost.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "supervisor.h"

/* Create the worker's log directory if needed and open the instance's file for appending. */
int logs_open_file(const Instance *i, int *ret_fd, char *reason, size_t len);
/* Watch `pipe_fd` (taken over on success) and append what it carries to `file_fd` (dup'ed). */
int logs_attach(sd_event *e, const Instance *i, int pipe_fd, int file_fd, bool is_stderr);
/* Read whatever is still buffered in every pipe, then close them all (at exit). */
void logs_drain_all(void);
