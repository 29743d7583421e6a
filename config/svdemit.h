/*
 * supervisord.conf import: upkeep's model of what a supervisord.conf becomes (Program and Proc
 * for a [program:x], Globals for the daemon's own sections, an Out per worker), as the
 * translation fills it, and the native configuration text written from it.  The text is valid
 * for config.c by construction: the translation checked every value with config.c's parsers and
 * limits, and strings are quoted here so that libconfuse reads them back unchanged.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "confmodel.h"
#include "svdini.h"

/* Everything about a program that does not depend on the process number. */
typedef struct Program {
        const Section *sec;
        const char *name;       /* after "program:" */
        long numprocs, numprocs_start, priority, startsecs, startretries, stopwaitsecs;
        bool autostart, redirect_stderr;
        RestartPolicy policy;
        CleanExits exitcodes;     /* its exitcodes, and no signal: autorestart=unexpected */
        int stop_signal;
        const char *default_user; /* [supervisord] user */
        const char *default_directory; /* [supervisord] directory, when supervisord daemonizes */
        int default_umask;        /* [supervisord] umask, when supervisord daemonizes; -1: none */
        int umask;                /* its own, else default_umask; -1: upkeepd's */
        const char *stop_listener;   /* Globals' */
        const char *stdout_listener; /* Globals', when this program sends it its output */
        const char *log_stream;   /* "stdout" or "stderr": the one upkeep's single log follows */
        uint64_t log_max;         /* its *_logfile_maxbytes, in upkeep's limits */
        long log_keep;            /* its *_logfile_backups, likewise */
} Program;

/* What one process of a program becomes. */
typedef struct Proc {
        char *name;      /* process_name, expanded */
        char *command;   /* native: '%' doubled, and %i when rendered with the marker */
        char *directory, *user;
        char **env;
        char *log_dir;   /* NULL: upkeep's default */
        char *log_file;  /* the file stdout_logfile names ('%' doubled, %i with the marker) */
        char *log_note;  /* where log_dir came from, for a comment */
        bool rotate;     /* supervisord rotates this output: say how, in a log section */
} Proc;

typedef struct Globals {
        char *socket;
        const Key *socket_key;
        long socket_mode;      /* with socket: chmod, or supervisord's default 0700 */
        const Key *mode_key;
        char *socket_group;    /* the group of chown=user:group */
        char *log_dir;
        const Key *log_dir_key;
        char *logfile;
        char *user;
        char *directory;       /* what supervisord enters when it daemonizes, or NULL */
        int umask;             /* what it sets when it daemonizes; -1: not set */
        char **env;
        char *stop_listener;   /* the [eventlistener:x] that stops supervisord when a program
                                * dies (svdlisten.h), or NULL */
        char *stdout_listener; /* the supervisor_stdout [eventlistener:x], or NULL */
} Globals;

/*
 * A worker's text, with what orders it: supervisord starts groups by their priority (a
 * [group:x] has its own, 999 by default; a program outside one is its own group), and the
 * processes of a group by theirs.  Ties go by name, then process number.
 */
typedef struct Out {
        char *name;
        long group_priority;
        const char *group;   /* the [group:x] name, or the program's */
        long priority;
        const char *program; /* the program's name */
        long num;
        unsigned file, line; /* its program's section */
        bool autostart;
        char *text;
} Out;

typedef struct Outs {
        Out *v;
        size_t n;
} Outs;

/* The text of one worker: `pr` of `pg`, named `name`, with `instances` instances. */
int svd_render_worker(Parser *p, const Program *pg, const Proc *pr, const char *name,
                      long instances, char **ret);
/* Add worker `name` (process `num` of `pg`) and its text, which is taken, freed on failure. */
int svd_outs_add(Parser *p, Outs *outs, const char *name, const Program *pg, long num,
                 char *text);
/* In supervisord's start order (see Out). */
void svd_outs_sort(Outs *outs);
void svd_outs_done(Outs *outs);
/*
 * The whole text converted from `path`: the daemon's settings from `g`, the comment lines of
 * `groups`, then every worker.
 */
int svd_emit(Parser *p, const char *path, const Globals *g, const char *groups, const Outs *outs,
             char **ret);
