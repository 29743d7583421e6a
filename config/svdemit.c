/*
 * supervisord.conf import: the native text (see svdemit.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defaults.h"
#include "parse.h"
#include "svdemit.h"

static void fput_quoted(FILE *o, const char *s) {
        fputc('"', o);
        for (; *s; s++)
                switch (*s) {
                case '\\': fputs("\\\\", o); break;
                case '"': fputs("\\\"", o); break;
                case '$': fputs("\\$", o); break; /* libconfuse expands ${VAR} in "..." */
                case '\n': fputs("\\n", o); break;
                case '\r': fputs("\\r", o); break;
                case '\t': fputs("\\t", o); break;
                default:
                        if ((unsigned char) *s < 0x20 || *s == 0x7f)
                                fprintf(o, "\\x%02x", (unsigned char) *s);
                        else
                                fputc(*s, o);
                }
        fputc('"', o);
}

/* A size as parse_size() reads it: the largest unit that keeps it exact. */
static void fput_size(FILE *o, uint64_t v) {
        static const char units[] = "TGMK";

        for (int i = 0; i < 4 && v > 0; i++) {
                uint64_t m = 1ULL << (10 * (4 - i));

                if (v % m == 0) {
                        fprintf(o, "%llu%c", (unsigned long long) (v / m), units[i]);
                        return;
                }
        }
        fprintf(o, "%llu", (unsigned long long) v);
}

static void fput_duration(FILE *o, long secs) {
        fprintf(o, "%lds", secs);
}

/* A value in a comment: a comment ends at the line's end, so newlines become spaces. */
static void fput_comment(FILE *o, const char *s) {
        for (; *s; s++)
                fputc(*s == '\n' ? ' ' : *s, o);
}

/*
 * supervisord retries a start that ends before startsecs, startretries times (so 1 + startretries
 * attempts), then goes FATAL; an exit after startsecs is restarted forever.  upkeep's give-up =
 * "N in W" refuses the restart that would follow N restarts within W, whatever their cause.
 * With N = startretries and W just long enough for N quick failures under upkeep's backoff (each
 * delay at its jittered maximum, each attempt living at most startsecs, plus 250ms of slack),
 * start failures give up after the same number of attempts, while a worker that runs past
 * start-secs before crashing needs longer than W for N restarts, so it keeps being restarted
 * (with backoff, unlike supervisord's immediate restarts).  The two overlap only for crashes
 * within about a second after start-secs.
 */
static usec_t give_up_window(long retries, long startsecs) {
        double total = 0, d = (double) CFG_BACKOFF_INITIAL;

        for (long k = 0; k < retries; k++) {
                total += MIN(d * (1.0 + CFG_BACKOFF_JITTER), (double) CFG_BACKOFF_MAX);
                d = MIN(d * CFG_BACKOFF_FACTOR, (double) CFG_BACKOFF_MAX);
        }
        total += (double) retries * (double) startsecs * (double) USEC_PER_SEC;
        total += 250.0 * (double) USEC_PER_MSEC;
        total = ceil(total / (double) USEC_PER_SEC) * (double) USEC_PER_SEC;
        return (usec_t) MIN(total, (double) (7 * USEC_PER_DAY));
}

/* `key = "value"` at a worker's indentation, when there is a value. */
static void fput_setting(FILE *o, const char *key, const char *value) {
        if (!value)
                return;
        fprintf(o, "    %-12s = ", key);
        fput_quoted(o, value);
        fputc('\n', o);
}

/* Where the worker comes from, its name, and what it runs as whom. */
static void emit_process(Parser *p, FILE *o, const Program *pg, const Proc *pr,
                         const char *name, long instances) {
        const Section *s = pg->sec;

        fprintf(o, "# [%s] %s:%u", s->name, svd_file_name(p, s->file), s->line);
        if (strcmp(name, pr->name) != 0 && instances == 1)
                fprintf(o, ", process %s", pr->name);
        if (pg->priority != 999)
                fprintf(o, ", priority %ld", pg->priority);
        fputc('\n', o);
        fputs("worker ", o);
        fput_quoted(o, name);
        fputs(" {\n", o);
        fput_setting(o, "command", pr->command);
        fput_setting(o, "directory", pr->directory);
        if (pg->umask >= 0)
                fprintf(o, "    umask        = \"%03o\"\n", (unsigned) pg->umask);
        fput_setting(o, "user", pr->user);
        if (pr->env && pr->env[0]) {
                fputs("    environment  = {", o);
                for (size_t i = 0; pr->env[i]; i++) {
                        fputs(i ? ", " : " ", o);
                        fput_quoted(o, pr->env[i]);
                }
                fputs(" }\n", o);
        }
        if (instances > 1)
                fprintf(o, "    instances    = %ld\n", instances);
        fprintf(o, "    autostart    = %s\n", pg->autostart ? "true" : "false");
        if (pg->stop_listener) {
                fputs("    required     = true   # [", o);
                fput_comment(o, pg->stop_listener);
                fputs("] stops supervisord when a program dies\n", o);
        }
        fprintf(o, "    stop-signal  = %s\n", signal_to_name(pg->stop_signal) ?: "");
        fputs("    stop-timeout = ", o);
        fput_duration(o, pg->stopwaitsecs);
        fputs("\n    start-secs   = ", o);
        fput_duration(o, pg->startsecs);
        fputc('\n', o);
}

/* ", supervisord's default" when the program does not set `stream`_logfile_`what`. */
static const char *default_note(const Section *s, const char *stream, const char *what) {
        char key[64];

        snprintf(key, sizeof key, "%s_logfile_%s", stream, what);
        return svd_find_key(s, key) ? "" : ", supervisord's default";
}

static void emit_log(FILE *o, const Program *pg, const Proc *pr) {
        const char *st = pg->log_stream;

        if (pr->log_file) {
                fputs("    log-file     = ", o);
                fput_quoted(o, pr->log_file);
                fputs("   # ", o);
                fput_comment(o, pr->log_note);
                fputc('\n', o);
        } else if (pr->log_dir) {
                fputs("    log-dir      = ", o);
                fput_quoted(o, pr->log_dir);
                fputs("   # ", o);
                fput_comment(o, pr->log_note);
                fputc('\n', o);
        }
        if (!pr->rotate)
                return;
        fputs("    log {\n        max-size = ", o);
        fput_size(o, pg->log_max);
        fprintf(o, "   # %s_logfile_maxbytes%s\n        keep     = %ld   # "
                "%s_logfile_backups%s\n    }\n", st, default_note(pg->sec, st, "maxbytes"),
                pg->log_keep, st, default_note(pg->sec, st, "backups"));
}

static void emit_restart(FILE *o, const Program *pg) {
        fprintf(o, "    restart {\n        policy  = %s\n", restart_policy_to_string(pg->policy));
        if (pg->policy == RESTART_ON_FAILURE) {
                const char *sep = "";

                /* supervisord restarts a program killed by any signal (its exit status is -1,
                 * never expected): only the exit codes are clean, where upkeep's default also
                 * takes SIGTERM, SIGINT, SIGHUP and SIGPIPE */
                fputs("        clean-exit = { ", o);
                for (int c = 0; c < 256; c++)
                        if (clean_exits_test(&pg->exitcodes, c, 0)) {
                                fprintf(o, "%s\"%d\"", sep, c);
                                sep = ", ";
                        }
                fputs(" }   # autorestart=unexpected: exitcodes, no signal\n", o);
        }
        if (pg->policy != RESTART_NEVER && pg->startsecs > 0) {
                long n = MAX(1, MIN(pg->startretries, CFG_MAX_GIVE_UP));
                usec_t w = give_up_window(n, pg->startsecs);

                fprintf(o, "        give-up = \"%ld in %llus\"   # startretries=%ld: FATAL after "
                        "1 + %ld failed starts\n", n, (unsigned long long) (w / USEC_PER_SEC),
                        pg->startretries, n);
        }
        fputs("    }\n", o);
}

int svd_render_worker(Parser *p, const Program *pg, const Proc *pr, const char *name,
                      long instances, char **ret) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *o = open_memstream(&text, &len);

        if (!o)
                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        emit_process(p, o, pg, pr, name, instances);
        emit_log(o, pg, pr);
        emit_restart(o, pg);
        fputs("}\n", o);
        if (fclose(o) != 0)
                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        *ret = TAKE_PTR(text);
        return 0;
}

int svd_outs_add(Parser *p, Outs *outs, const char *name, const Program *pg, long num,
                 char *text) {
        Out *nv = realloc(outs->v, (outs->n + 1) * sizeof(Out));

        if (!nv) {
                free(text);
                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        }
        outs->v = nv;
        outs->v[outs->n] = (Out) {
                .name = strdup(name),
                .group_priority = pg->sec->group ? pg->sec->group_priority : pg->priority,
                .group = pg->sec->group ?: pg->name,
                .priority = pg->priority,
                .program = pg->name,
                .num = num,
                .file = pg->sec->file,
                .line = pg->sec->line,
                .autostart = pg->autostart,
                .text = text,
        };
        if (!outs->v[outs->n].name) {
                free(text);
                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        }
        outs->n++;
        return 0;
}

static int cmp_out(const void *a, const void *b) {
        const Out *x = a, *y = b;
        int c;

        if (x->group_priority != y->group_priority)
                return x->group_priority < y->group_priority ? -1 : 1;
        if ((c = strcmp(x->group, y->group)) != 0)
                return c;
        if (x->priority != y->priority)
                return x->priority < y->priority ? -1 : 1;
        if ((c = strcmp(x->program, y->program)) != 0)
                return c;
        return x->num < y->num ? -1 : x->num > y->num;
}

void svd_outs_sort(Outs *outs) {
        if (outs->n > 0)
                qsort(outs->v, outs->n, sizeof(Out), cmp_out);
}

void svd_outs_done(Outs *outs) {
        for (size_t i = 0; i < outs->n; i++) {
                free(outs->v[i].name);
                free(outs->v[i].text);
        }
        free(outs->v);
        *outs = (Outs) {};
}

static void emit_globals(Parser *p, FILE *o, const Globals *g) {
        if (g->socket) {
                fputs("socket  = ", o);
                fput_quoted(o, g->socket);
                fprintf(o, "   # [unix_http_server] file, %s:%u\n",
                        svd_file_name(p, g->socket_key->file), g->socket_key->line);
                fprintf(o, "socket-mode = %04lo   # [unix_http_server] chmod%s\n", g->socket_mode,
                        g->mode_key ? "" : ", supervisord's default");
                if (g->socket_group) {
                        fputs("socket-group = ", o);
                        fput_quoted(o, g->socket_group);
                        fputs("   # [unix_http_server] chown\n", o);
                }
        }
        if (g->log_dir) {
                fputs("log-dir = ", o);
                fput_quoted(o, g->log_dir);
                fprintf(o, "   # [supervisord] childlogdir, %s:%u\n",
                        svd_file_name(p, g->log_dir_key->file), g->log_dir_key->line);
        }
        if (g->logfile && g->logfile[0] == '/' && strncmp(g->logfile, "/dev/", 5) != 0 &&
            strncmp(g->logfile, "/proc/", 6) != 0) {
                /* supervisord's own log: upkeepd's, rotated as the global log section says */
                fputs("log-file = ", o);
                fput_quoted(o, g->logfile);
                fputs("   # [supervisord] logfile\n", o);
        } else if (g->logfile) {
                fputs("# [supervisord] logfile = ", o);
                fput_comment(o, g->logfile);
                fputs(": upkeepd logs to stderr (or the journal), not to a file\n", o);
        }
}

/* supervisord's start order: by group priority, then by the program's own. */
static bool same_level(const Out *x, const Out *y) {
        return x->group_priority == y->group_priority && x->priority == y->priority;
}

/*
 * priority as a start order: a worker comes after every autostart worker of the nearest lower
 * priority that has one, ":started" (spawned, not ready: supervisord never waits for more), so
 * a stop goes the other way round.  Equal priorities (the default 999 everywhere) stay free.
 */
static void emit_worker(FILE *o, const Outs *outs, size_t i) {
        const Out *x = &outs->v[i];
        size_t len = strlen(x->text), lo, hi;
        const char *sep = " ";

        for (lo = i; lo > 0 && same_level(&outs->v[lo - 1], x); lo--)
                ;
        /* the nearest lower level with an autostart worker: [lo, hi) */
        for (hi = lo; lo > 0; hi = lo) {
                bool any = false;

                for (lo = hi; lo > 0 && same_level(&outs->v[lo - 1], &outs->v[hi - 1]); lo--)
                        any = any || outs->v[lo - 1].autostart;
                if (any)
                        break;
        }
        if (lo == hi || len < 2 || strcmp(x->text + len - 2, "}\n") != 0) {
                fputs(x->text, o);
                return;
        }
        fwrite(x->text, 1, len - 2, o);
        fputs("    after        = {", o);
        for (size_t k = lo; k < hi; k++)
                if (outs->v[k].autostart) {
                        fputs(sep, o);
                        fputc('"', o);
                        fputs(outs->v[k].name, o);
                        fputs(":started\"", o);
                        sep = ", ";
                }
        fputs(" }   # priority\n}\n", o);
}

int svd_emit(Parser *p, const char *path, const Globals *g, const char *groups, const Outs *outs,
             char **ret) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *o = open_memstream(&text, &len);

        if (!o)
                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        fputs("# upkeep configuration converted from ", o);
        fput_comment(o, path);
        fputs(" by upkeepd --convert.\n# What upkeep does differently from supervisord: "
              "upkeepd(8), \"Importing supervisord.conf\".\n\n", o);
        emit_globals(p, o, g);
        fputs(groups, o);
        for (size_t i = 0; i < outs->n; i++) {
                fputc('\n', o);
                emit_worker(o, outs, i);
        }
        if (fclose(o) != 0)
                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        *ret = TAKE_PTR(text);
        return 0;
}
