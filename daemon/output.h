/*
 * Worker output: the read ends of each instance's stdout and stderr pipes, framed into lines
 * (logline.c) and handed to the instance's output: a destination of the log writer (logwriter.c)
 * for log-dir/<worker>/<worker>.log (or <worker>-<N>.log), rotated as configured, or upkeepd's
 * stdout with an "instance | " prefix when log-dir is "-".
 *
 * An output belongs to a path: instances that share one (a worker and its replacement after a
 * reload) share its destination, so there is only ever one writer per file.  A stream lives until
 * EOF on its pipe, independently of the instance, so output written just before an exit (or by a
 * leftover grandchild) is not lost.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "config.h"

typedef struct LogOutput LogOutput;

/* What output.c needs to know of an instance: where its output goes and how. */
typedef struct OutputSpec {
        const char *instance;    /* "api", "api:2": the prefix on stdout, the name in messages */
        const char *worker;      /* log-dir/<worker>/<worker>.log */
        unsigned index;          /* with `numbered`: log-dir/<worker>/<worker>-<index>.log */
        bool numbered;           /* the worker has several instances */
        const char *log_dir;     /* "-": upkeepd's stdout */
        const LogConfig *log;
} OutputSpec;

/* Start the log writer, own SIGUSR1 (reopen), and set up upkeepd's own log from `c`. */
int output_init(sd_event *e, const Config *c);
/*
 * Before a spawn: the output of `spec` in *output, created the first time (its directory and
 * file are made and opened here, so a bad log-dir is a spawn error with a reason), refreshed
 * (new settings, the file checked) when *output already is the one for spec; a different one
 * in *output is released.
 */
int output_prepare(LogOutput **output, const OutputSpec *spec, char *reason, size_t len);
/* Watch `pipe_fd` (taken over on success) and send what it carries to `o`, framed as `log`
 * says (timestamps, stderr marks, overflow, max-line). */
int output_attach(sd_event *e, LogOutput *o, const LogConfig *log, int pipe_fd, bool is_stderr);
/*
 * The lines of the stream attached with pipe_fd go to fn as well, as they are framed, until fn
 * returns false or output_unwatch(userdata) (ready = "log:REGEX", readiness.c).
 */
typedef bool (*OutputLineFn)(void *userdata, const char *line, size_t len);
void output_watch(int pipe_fd, OutputLineFn fn, void *userdata);
void output_unwatch(void *userdata);
/* The instance goes away: drop its reference to its output.  Returns NULL. */
LogOutput *output_release(LogOutput *o);

/* {"file", "bytes_written", "bytes_dropped", "write_errors", "failing"} for status; o may be
 * NULL (never spawned yet). */
json_t *output_json(const LogOutput *o, const OutputSpec *spec);
/* {"name", "path"} of one instance, for the control request "logfile". */
json_t *output_file_json(const OutputSpec *spec);
/* Control request "reopen-logs" (and SIGUSR1): close and open every file again. */
json_t *output_reopen_json(void);

/* At exit: read what is still in every pipe, write everything out, stop the writer. */
void output_drain_all(void);
/* After everything else is freed: free the log writer's leftovers. */
void output_done(void);
