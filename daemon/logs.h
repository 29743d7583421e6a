/*
 * Worker output: the read ends of each instance's stdout and stderr pipes, framed into lines
 * (logline.c) and handed to the instance's output: a sink of the log writer (logwriter.c) for
 * log-dir/<worker>/<worker>.log (or <worker>-<N>.log), rotated as configured, or upkeepd's
 * stdout with an "instance | " prefix when log-dir is "-".
 *
 * An output belongs to a path: instances that share one (a worker and its replacement after a
 * reload) share its sink, so there is only ever one writer per file.  A stream lives until EOF
 * on its pipe, independently of the instance, so output written just before an exit (or by a
 * leftover grandchild) is not lost.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "supervisor.h"

typedef struct LogOutput LogOutput;

/* Start the log writer, own SIGUSR1 (reopen), and set up upkeepd's own log from `c`. */
int logs_init(sd_event *e, const Config *c);
/*
 * Before a spawn: the instance's output, created the first time (its directory and file are
 * made and opened here, so a bad log-dir is a spawn error with a reason), refreshed otherwise.
 */
int logs_prepare(Instance *i, char *reason, size_t len);
/* Watch `pipe_fd` (taken over on success) and send what it carries to the instance's output. */
int logs_attach(sd_event *e, Instance *i, int pipe_fd, bool is_stderr);
/* The instance goes away: drop its reference to its output. */
void logs_release(Instance *i);

/* {"file", "bytes_written", "bytes_dropped", "write_errors", "buffered"} for status. */
json_t *logs_instance_json(const Instance *i);
/* Control request "logfile": {"ok": true, "files": [{"name", "path"}]}. */
json_t *logs_logfile_json(Supervisor *s, const char *name, const char **ret_error);
/* Control request "reopen-logs" (and SIGUSR1): close and open every file again. */
json_t *logs_reopen_json(void);
void logs_reopen(void);

/* At exit: read what is still in every pipe, write everything out, stop the writer. */
void logs_drain_all(void);
/* After everything else is freed: free the log writer's leftovers. */
void logs_done(void);
