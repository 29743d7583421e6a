/*
 * Worker output: the read ends of each instance's stdout and stderr pipes, framed into lines
 * (logline.c) and handed to the instance's output: a destination of the log writer (logwriter.c)
 * for log-dir/<worker>/<worker>.log (or <worker>-<N>.log, or the worker's log-file), rotated as
 * configured, or upkeepd's stdout with an "instance | " prefix when log-dir is "-".
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

#include "apperror.h"
#include "config.h"

typedef struct LogOutput LogOutput;

/* What output.c needs to know of an instance: where its output goes and how. */
typedef struct OutputSpec {
        const char *instance;    /* "api", "api:2": the prefix on stdout, the name in messages */
        const char *worker;      /* log-dir/<worker>/<worker>.log */
        unsigned index;          /* with `numbered`: log-dir/<worker>/<worker>-<index>.log */
        bool numbered;           /* the worker has several instances */
        const char *log_dir;     /* "-": upkeepd's stdout */
        const char *log_file;    /* NULL: under log_dir; else this file, %i the index */
        const LogConfig *log;
        const ErrorsConfig *errors; /* application errors to count; NULL: none */
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
 * Crash context: the last `log { tail }` lines of o, after reading what is left in its pipes;
 * malloc'd, NULL when there are none (or tail is 0).
 */
char *output_last_lines(LogOutput *o);
/*
 * An instance ended badly (`why`: "the exit", "failed probes"): its last lines replace *slot
 * (freed; NULL when there are none), and upkeepd's log gets them once.
 */
void output_freeze(LogOutput *o, const char *instance, const char *why, char **slot);
/*
 * Application errors: the writer counted n[k] more of each kind in o's output (once per batch,
 * never per line).  One hook for every output, set by whoever counts them (the supervisor).
 */
typedef void (*output_app_errors_t)(void *userdata, LogOutput *o, const unsigned n[_APPERR_MAX]);
void output_set_app_errors_hook(output_app_errors_t hook, void *userdata);
/* The last line that counted as an application error in o, and its kind; NULL: none yet. */
const char *output_last_error(const LogOutput *o, AppErrorKind *ret_kind);
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
/* Bytes written to o's file and dropped before it, since upkeepd started (0 for NULL). */
uint64_t output_bytes_written(const LogOutput *o);
uint64_t output_bytes_dropped(const LogOutput *o);
/* {"name", "path"} of one instance, for the control request "logfile". */
json_t *output_file_json(const OutputSpec *spec);
/* Control request "reopen-logs" (and SIGUSR1): close and open every file again. */
json_t *output_reopen_json(void);

/* At exit: read what is still in every pipe, write everything out, stop the writer. */
void output_drain_all(void);
/* After everything else is freed: free the log writer's leftovers. */
void output_done(void);
