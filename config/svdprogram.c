/*
 * supervisord.conf import: a [program:x] section becomes one or more workers (see
 * svdprogram.h).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defaults.h"
#include "parse.h"
#include "shlex.h"
#include "strv.h"
#include "svdexpand.h"
#include "svdprogram.h"
#include "svdvalue.h"

#define SVD_MAX_NAME 64

typedef enum KeyUse {
        USE_NATIVE,    /* translated */
        USE_SILENT,    /* no equivalent needed (upkeep always signals the group) */
        USE_UNLESS_0,  /* unsupported unless it keeps supervisord's default: false or 0 */
        USE_UNSUPPORTED,
} KeyUse;

static const struct {
        const char *name;
        KeyUse use;
} program_keys[] = {
        { "command", USE_NATIVE },
        { "process_name", USE_NATIVE },
        { "numprocs", USE_NATIVE },
        { "numprocs_start", USE_NATIVE },
        { "priority", USE_NATIVE },
        { "autostart", USE_NATIVE },
        { "autorestart", USE_NATIVE },
        { "startsecs", USE_NATIVE },
        { "startretries", USE_NATIVE },
        { "exitcodes", USE_NATIVE },
        { "stopsignal", USE_NATIVE },
        { "stopwaitsecs", USE_NATIVE },
        { "stopasgroup", USE_SILENT },
        { "killasgroup", USE_SILENT },
        { "user", USE_NATIVE },
        { "directory", USE_NATIVE },
        { "environment", USE_NATIVE },
        { "redirect_stderr", USE_NATIVE },
        { "stdout_logfile", USE_NATIVE },
        { "stderr_logfile", USE_NATIVE },
        { "stdout_logfile_maxbytes", USE_NATIVE },
        { "stdout_logfile_backups", USE_NATIVE },
        { "stderr_logfile_maxbytes", USE_NATIVE },
        { "stderr_logfile_backups", USE_NATIVE },
        { "stdout_capture_maxbytes", USE_UNLESS_0 },
        { "stderr_capture_maxbytes", USE_UNLESS_0 },
        { "stdout_events_enabled", USE_UNLESS_0 },
        { "stderr_events_enabled", USE_UNLESS_0 },
        { "stdout_syslog", USE_UNLESS_0 },
        { "stderr_syslog", USE_UNLESS_0 },
        { "serverurl", USE_NATIVE },
        { "umask", USE_NATIVE },
        /* [fcgi-program:x]: svdfcgi.c */
        { "socket", USE_SILENT },
        { "socket_owner", USE_SILENT },
        { "socket_mode", USE_SILENT },
        { "socket_backlog", USE_SILENT },
};

static void proc_done(Proc *pr) {
        free(pr->name);
        free(pr->command);
        free(pr->directory);
        free(pr->user);
        strv_free(pr->env);
        free(pr->log_dir);
        free(pr->log_file);
        free(pr->log_note);
        *pr = (Proc) {};
}

/* 1 for a path to supervisord's own stdout, 2 for its stderr, 0 for anything else. */
static int std_stream(const char *v) {
        static const char *const out[] = { "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1" };
        static const char *const err[] = { "/dev/stderr", "/dev/fd/2", "/proc/self/fd/2" };

        for (size_t i = 0; i < ELEMENTSOF(out); i++) {
                if (strcmp(v, out[i]) == 0)
                        return 1;
                if (strcmp(v, err[i]) == 0)
                        return 2;
        }
        return 0;
}

static bool is_auto_or_none(const char *v) {
        return streq_ci(v, "AUTO") || streq_ci(v, "NONE") || streq_ci(v, "OFF");
}

static int oom(Parser *p) {
        return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
}

/* why a quote may be left open: said after an error in a value cut by a comment (Key.cut) */
#define CUT_NOTE " (supervisord ends the line at ' ;' or ' #', inside quotes too)"

/*
 * The process's environment: [supervisord]'s, then the program's environment= over it.  The
 * program's own list is also returned in *ret_penv, for %(ENV_X)s in the other values.
 */
static int proc_environment(Parser *p, const Section *s, const Globals *g, Expander *x,
                            bool first, char ***ret_penv, Proc *pr) {
        _cleanup_strv_free_ char **penv = NULL;
        _cleanup_free_ char *v = NULL, *skipped = NULL;
        const Key *k = svd_find_key(s, "environment");
        char err[512];
        int r;

        if (k) {
                r = svd_expand_key(p, s, k, x, &v);
                if (r < 0)
                        return r;
                r = svd_parse_environment(v, &penv, err, sizeof err, &skipped);
                if (r == -ENOMEM)
                        return oom(p);
                if (r < 0)
                        return svd_fail(p, r, k->file, k->line, "[%s] %s%s", s->name, err,
                                        k->cut ? CUT_NOTE : "");
                if (skipped && first)
                        svd_warn_key(p, s, k, "the unquoted value of %s ends at a blank and the "
                                     "next word is dropped, as supervisord drops it", skipped);
        }
        for (size_t i = 0; g->env && g->env[i]; i++)
                if (strv_extend(&pr->env, g->env[i]) < 0)
                        return oom(p);
        for (size_t i = 0; penv && penv[i]; i++) {
                char *eq = strchr(penv[i], '=');

                *eq = '\0';
                r = svd_env_set(&pr->env, penv[i], eq + 1);
                *eq = '=';
                if (r < 0)
                        return oom(p);
        }
        *ret_penv = TAKE_PTR(penv);
        return 0;
}

static int proc_name(Parser *p, const Program *pg, Expander *x, Proc *pr) {
        const Section *s = pg->sec;
        const Key *k = svd_find_key(s, "process_name");
        char *t;
        int r;

        if (!k)
                return (pr->name = strdup(pg->name)) ? 0 : oom(p);
        r = svd_expand_key(p, s, k, x, &pr->name);
        if (r < 0)
                return r;
        /* as supervisord does: surrounding white space (a value continued on the next line
         * starts with a newline) is dropped, the rest must be one plain word */
        t = svd_strip(pr->name);
        memmove(pr->name, t, strlen(t) + 1);
        if (!pr->name[0] || strpbrk(pr->name, " :/") || svd_has_control(pr->name))
                return svd_fail(p, -EINVAL, k->file, k->line, "[%s] process_name: invalid name "
                                "'%s', expected no space, ':' or '/'", s->name,
                                svd_has_control(pr->name) ? "(with control characters)"
                                                          : pr->name);
        return 0;
}

/* The command as native text ('%' doubled; with `marker`, %(process_num)d as %i). */
static int proc_command(Parser *p, const Section *s, Expander *x, bool marker, Proc *pr) {
        _cleanup_strv_free_ char **argv = NULL, **words = NULL;
        const Key *k = svd_find_key(s, "command");
        const char *argv_err = NULL;
        int r;

        x->marker = marker;
        x->escape = true;
        r = svd_expand_key(p, s, k, x, &pr->command);
        x->marker = x->escape = false;
        if (r < 0)
                return r;
        /* supervisord splits with Python's shlex.split(): its errors, its words */
        r = shlex_split(pr->command, &words, &argv_err);
        if (r == -ENOMEM)
                return oom(p);
        if (r < 0 || strv_length(words) == 0)
                return svd_fail(p, -EINVAL, k->file, k->line, "[%s] command: %s%s, expected a "
                                "program and its arguments", s->name,
                                r < 0 ? argv_err : "empty command", k->cut ? CUT_NOTE : "");
        /* the text config.c will split with argv_split(): kept when it gives the same words,
         * else written again, quoted for it (inside "..." shlex keeps the backslash of \$) */
        r = argv_split(pr->command, &argv, &argv_err);
        if (r == -ENOMEM)
                return oom(p);
        if (r < 0 || !strv_equal(argv, words)) {
                char *q = argv_join_quoted(words);

                if (!q)
                        return oom(p);
                free(pr->command);
                pr->command = q;
        }
        return 0;
}

/*
 * directory and user (the program's, else [supervisord]'s); empty means none.  A program
 * without a directory runs where supervisord runs: [supervisord] directory if it daemonized.
 */
static int proc_directory_user(Parser *p, const Program *pg, Expander *x, Proc *pr) {
        const Section *s = pg->sec;
        const Key *k;
        int r;

        k = svd_find_key(s, "directory");
        if (k) {
                r = svd_expand_key(p, s, k, x, &pr->directory);
                if (r < 0)
                        return r;
                if (!pr->directory[0])
                        pr->directory = mfree(pr->directory);
        } else if (pg->default_directory && !(pr->directory = strdup(pg->default_directory)))
                return oom(p);
        k = svd_find_key(s, "user");
        if (k) {
                r = svd_expand_key(p, s, k, x, &pr->user);
                if (r < 0)
                        return r;
        } else if (pg->default_user && !(pr->user = strdup(pg->default_user)))
                return oom(p);
        if (pr->user && !pr->user[0])
                pr->user = mfree(pr->user);
        return 0;
}

/* log_dir and its note for the log file `out_log` that key `k` names. */
static int proc_log_dir(Parser *p, const Section *s, const Key *k, const char *out_log,
                        bool first, Proc *pr) {
        if (std_stream(out_log) > 0) {
                /* the container pattern: log-dir = "-" is upkeepd's stdout, unrotated */
                if (std_stream(out_log) == 2 && first)
                        svd_warn_key(p, s, k, "%s: upkeep writes it to its standard output, not "
                                     "its standard error", out_log);
                pr->log_dir = strdup("-");
        } else if (streq_ci(out_log, "syslog") || strncmp(out_log, "/dev/", 5) == 0 ||
                   strncmp(out_log, "/proc/", 6) == 0) {
                /* supervisord rotates no device, and never the container's stdout */
                if (first)
                        svd_warn_key(p, s, k, "%s: upkeep writes output to files only, using "
                                     "the default log-dir and rotation", out_log);
                return 0;
        } else if (out_log[0] == '/') {
                /* that very file, as supervisord writes it */
                pr->rotate = true;
                pr->log_file = strdup(out_log);
                if (!pr->log_file)
                        return oom(p);
                pr->log_dir = NULL;
        } else {
                pr->rotate = true;
                pr->log_dir = svd_dir_of(out_log);
        }
        if ((!pr->log_dir && !pr->log_file) ||
            asprintf(&pr->log_note, "%s=%s", k->name, out_log) < 0) {
                pr->log_note = NULL;
                return oom(p);
        }
        return 0;
}

/* Output: upkeep keeps stdout and stderr in one file per instance, under log-dir. */
static int proc_output(Parser *p, const Program *pg, Expander *x, bool marker, bool first,
                       Proc *pr) {
        const Section *s = pg->sec;
        _cleanup_free_ char *out_log = NULL;
        const Key *k;
        int r;

        k = svd_find_key(s, strcmp(pg->log_stream, "stdout") == 0 ? "stdout_logfile"
                                                                  : "stderr_logfile");
        if (pg->stdout_listener) {
                /* supervisor_stdout prints its output on supervisord's stdout: upkeepd's */
                if (first && k && !is_auto_or_none(k->value) && std_stream(k->value) <= 0)
                        svd_warn_key(p, s, k, "not written: [%s] sends this program's output "
                                     "to upkeepd's standard output instead", pg->stdout_listener);
                pr->rotate = false;
                pr->log_dir = strdup("-");
                if (!pr->log_dir || asprintf(&pr->log_note, "[%s] supervisor_stdout",
                                             pg->stdout_listener) < 0) {
                        pr->log_note = NULL;
                        return oom(p);
                }
                return 0;
        }
        pr->rotate = !k || streq_ci(k->value, "AUTO"); /* NONE: supervisord keeps nothing */
        if (!k || is_auto_or_none(k->value))
                return 0;
        /* as native text: a literal '%' doubled, a plain %(process_num)d as %i */
        x->marker = marker;
        x->escape = true;
        r = svd_expand_key(p, s, k, x, &out_log);
        x->marker = x->escape = false;
        if (r < 0)
                return r;
        return proc_log_dir(p, s, k, out_log, first, pr);
}

/*
 * Render process number `num` of a program.  With `marker`, a plain %(process_num)d in the
 * command becomes %i, so the result can stand for every instance.  Warnings are given once per
 * program, on its first rendering (`first`).
 */
static int render_proc(Parser *p, const Program *pg, const Globals *g, long num, bool marker,
                       bool first, Proc *ret) {
        Expander x = {
                .program_name = pg->name,
                .group_name = pg->sec->group ?: pg->name,
                .have_num = true,
                .process_num = num,
                .numprocs = pg->numprocs,
                .env2 = g->env,
        };
        _cleanup_strv_free_ char **penv = NULL;
        Proc pr = {};
        int r;

        /* environment first: other values may use its keys as %(ENV_X)s */
        r = proc_environment(p, pg->sec, g, &x, first, &penv, &pr);
        x.env = penv;
        if (r >= 0)
                r = proc_name(p, pg, &x, &pr);
        if (r >= 0)
                r = proc_command(p, pg->sec, &x, marker, &pr);
        if (r >= 0)
                r = proc_directory_user(p, pg, &x, &pr);
        if (r >= 0)
                r = proc_output(p, pg, &x, marker, first, &pr);
        if (r < 0) {
                proc_done(&pr);
                return r;
        }
        *ret = pr;
        return 0;
}

/* Do two processes differ in anything but their name and command? */
static bool procs_alike(const Proc *a, const Proc *b) {
        return streq_ptr(a->directory, b->directory) && streq_ptr(a->user, b->user) &&
               strv_equal(a->env, b->env) && streq_ptr(a->log_dir, b->log_dir) &&
               !a->log_file == !b->log_file &&
               a->rotate == b->rotate;
}

static bool valid_worker_name(const char *s) {
        size_t l = strlen(s);

        if (l == 0 || l > SVD_MAX_NAME)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("_.-", *s))
                        return false;
        return true;
}

/* A worker name from a supervisord name: other characters become '_', with a warning. */
static int worker_name(Parser *p, const Section *s, const char *name, char **ret) {
        char *n;

        if (strlen(name) > SVD_MAX_NAME)
                return svd_fail(p, -EINVAL, s->file, s->line, "[%s] name '%s' is longer than %d "
                                "characters, expected a shorter name", s->name, name, SVD_MAX_NAME);
        n = strdup(name);
        if (!n)
                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        if (!valid_worker_name(n)) {
                for (char *c = n; *c; c++)
                        if (!isalnum((unsigned char) *c) && !strchr("_.-", *c))
                                *c = '_';
                svd_warn(p, s->file, s->line, "[%s] '%s' is not a valid worker name, using '%s'",
                         s->name, name, n);
        }
        *ret = n;
        return 0;
}

/* Does the program send its output as events (to a supervisor_stdout listener)? */
static bool events_enabled(const Section *s) {
        static const char *const keys[] = { "stdout_events_enabled", "stderr_events_enabled" };
        bool b;

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const Key *k = svd_find_key(s, keys[i]);

                if (k && svd_parse_bool(svd_strip(k->value), &b) == 0 && b)
                        return true;
        }
        return false;
}

/* Warnings for the keys that have no native equivalent, given their values. */
static void warn_unsupported_keys(Parser *p, const Program *pg) {
        const Section *s = pg->sec;
        const char *known[ELEMENTSOF(program_keys)];
        uint64_t sz;
        const Key *k;
        bool b;

        for (size_t i = 0; i < ELEMENTSOF(program_keys); i++)
                known[i] = program_keys[i].name;
        svd_check_keys(p, s, known, ELEMENTSOF(known));

        for (size_t i = 0; i < ELEMENTSOF(program_keys); i++) {
                k = svd_find_key(s, program_keys[i].name);
                if (!k)
                        continue;
                /* a supervisor_stdout listener takes them: translated to log-dir = "-" */
                if (pg->stdout_listener && strstr(program_keys[i].name, "_events_enabled"))
                        continue;
                switch (program_keys[i].use) {
                case USE_UNLESS_0:
                        if ((svd_parse_bool(svd_strip(k->value), &b) == 0 && !b) ||
                            (svd_parse_byte_size(k->value, &sz) == 0 && sz == 0))
                                break;
                        svd_warn_key(p, s, k, "not supported by upkeep, ignoring");
                        break;
                case USE_UNSUPPORTED:
                        svd_warn_key(p, s, k, "not supported by upkeep, ignoring");
                        break;
                default:
                        break;
                }
        }
}

/*
 * The rotation keys of one stream ("stdout" or "stderr"): those of the stream the log follows
 * set pg->log_max and pg->log_keep (supervisord's defaults: 50MB, 10), the others are ignored.
 */
static int read_log_rotation(Parser *p, Program *pg, const char *stream) {
        const Section *s = pg->sec;
        bool used = strcmp(stream, pg->log_stream) == 0;
        bool redirected = strcmp(stream, "stderr") == 0 && pg->redirect_stderr;
        uint64_t max = 50ULL << 20;
        long keep = 10;
        const Key *k;
        char key[64];

        snprintf(key, sizeof key, "%s_logfile_maxbytes", stream);
        k = svd_find_key(s, key);
        if (k && svd_parse_byte_size(k->value, &max) < 0)
                return svd_fail(p, -EINVAL, k->file, k->line, "[%s] %s: invalid size '%s', "
                                "expected bytes with an optional KB, MB or GB", s->name, key,
                                k->value);
        if (k && !used && !redirected)
                svd_warn_key(p, s, k, "ignored: upkeep keeps one log per process, rotated by "
                             "%s_logfile_maxbytes", pg->log_stream);
        if (used && max > 0 && max < 1024) {
                svd_warn_key(p, s, k, "upkeep rotates at 1K at least, using 1K");
                max = 1024;
        } else if (used && max > (1ULL << 40)) {
                svd_warn_key(p, s, k, "upkeep rotates at 1T at most, using 1T");
                max = 1ULL << 40;
        }

        snprintf(key, sizeof key, "%s_logfile_backups", stream);
        k = svd_find_key(s, key);
        if (k && (svd_parse_long(k->value, &keep) < 0 || keep < 0))
                return svd_fail(p, -EINVAL, k->file, k->line, "[%s] %s: invalid count '%s', "
                                "expected 0 or more", s->name, key, k->value);
        if (k && !used && !redirected)
                svd_warn_key(p, s, k, "ignored: upkeep keeps one log per process, rotated by "
                             "%s_logfile_backups", pg->log_stream);
        if (used && keep > 1000) {
                svd_warn_key(p, s, k, "upkeep keeps 1000 rotated files at most, using 1000");
                keep = 1000;
        }
        if (used) {
                pg->log_max = max;
                pg->log_keep = keep;
        }
        return 0;
}

/*
 * upkeep keeps stdout and stderr in one log, rotated by one rule: the log goes where
 * stdout_logfile says unless only stderr_logfile names a file, and that stream's maxbytes and
 * backups rotate it.
 */
static int read_log(Parser *p, Program *pg) {
        const Section *s = pg->sec;
        const Key *k;
        int r;

        pg->log_stream = "stdout";
        k = svd_find_key(s, "stdout_logfile");
        if ((!k || is_auto_or_none(k->value)) && !pg->redirect_stderr &&
            (k = svd_find_key(s, "stderr_logfile")) && !is_auto_or_none(k->value))
                pg->log_stream = "stderr";
        r = read_log_rotation(p, pg, "stdout");
        if (r >= 0)
                r = read_log_rotation(p, pg, "stderr");
        if (r < 0)
                return r;

        k = svd_find_key(s, "stderr_logfile");
        if (k && pg->redirect_stderr)
                svd_warn_key(p, s, k, "ignored because redirect_stderr is true, as supervisord "
                             "ignores it");
        else if (k && !is_auto_or_none(k->value)) {
                const Key *ko = svd_find_key(s, "stdout_logfile");

                if (!ko || strcmp(ko->value, k->value) != 0)
                        svd_warn_key(p, s, k, "upkeep writes stdout and stderr into one file, "
                                     "the one %s_logfile names", pg->log_stream);
        }
        return 0;
}

static int check_program_keys(Parser *p, Program *pg) {
        const Key *k;
        int r;

        warn_unsupported_keys(p, pg);
        r = read_log(p, pg);
        if (r < 0)
                return r;
        k = svd_find_key(pg->sec, "serverurl");
        if (k && !streq_ci(svd_strip(k->value), "AUTO"))
                svd_warn_key(p, pg->sec, k, "not supported by upkeep, ignoring");
        return 0;
}

/* autorestart: true, false or unexpected (the default) as upkeep's restart policy. */
static int read_autorestart(Parser *p, Program *pg, Expander *x) {
        const Section *s = pg->sec;
        const Key *k = svd_find_key(s, "autorestart");
        _cleanup_free_ char *v = NULL;
        bool b;
        int r;

        pg->policy = RESTART_ON_FAILURE;
        if (!k)
                return 0;
        r = svd_expand_key(p, s, k, x, &v);
        if (r < 0)
                return r;
        if (streq_ci(svd_strip(v), "unexpected"))
                pg->policy = RESTART_ON_FAILURE;
        else if (svd_parse_bool(svd_strip(v), &b) == 0)
                pg->policy = b ? RESTART_ALWAYS : RESTART_NEVER;
        else
                return svd_fail(p, -EINVAL, k->file, k->line, "[%s] autorestart: invalid value "
                                "'%s', expected true, false or unexpected", s->name, v);
        return 0;
}

/* exitcodes: the exit codes autorestart=unexpected does not restart (0 by default). */
static int read_exitcodes(Parser *p, Program *pg, Expander *x) {
        const Section *s = pg->sec;
        const Key *k = svd_find_key(s, "exitcodes");
        _cleanup_free_ char *v = NULL;
        char *tok, *save = NULL;
        int r;

        clean_exits_none(&pg->exitcodes);
        if (!k) {
                (void) clean_exits_add(&pg->exitcodes, "0");
                return 0;
        }
        r = svd_expand_key(p, s, k, x, &v);
        if (r < 0)
                return r;
        for (tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                char num[8];
                long c;

                if (svd_parse_long(tok, &c) < 0 || c < 0 || c > 255)
                        return svd_fail(p, -EINVAL, k->file, k->line, "[%s] exitcodes: invalid "
                                        "exit code '%s', expected a comma-separated list of 0 "
                                        "to 255", s->name, svd_strip(tok));
                snprintf(num, sizeof num, "%ld", c);
                (void) clean_exits_add(&pg->exitcodes, num);
        }
        return 0;
}

static int read_stopsignal(Parser *p, Program *pg, Expander *x) {
        const Section *s = pg->sec;
        const Key *k = svd_find_key(s, "stopsignal");
        _cleanup_free_ char *v = NULL;
        int r;

        pg->stop_signal = SIGTERM;
        if (!k)
                return 0;
        r = svd_expand_key(p, s, k, x, &v);
        if (r < 0)
                return r;
        if (parse_signal(svd_strip(v), &pg->stop_signal) < 0 ||
            !signal_to_name(pg->stop_signal))
                return svd_fail(p, -EINVAL, k->file, k->line, "[%s] stopsignal: unknown signal "
                                "'%s', expected a name like TERM, INT, QUIT or HUP", s->name, v);
        return 0;
}

/* umask: the program's, else the one supervisord set for itself and its programs. */
static int read_umask(Parser *p, Program *pg, Expander *x) {
        int r = svd_get_umask(p, pg->sec, x, &pg->umask);

        if (r >= 0 && pg->umask < 0)
                pg->umask = pg->default_umask;
        return r;
}

/* Every value of the program that does not depend on the process number. */

static int read_program(Parser *p, Program *pg, Expander *x) {
        const Section *s = pg->sec;
        int r;

        if ((r = svd_get_long(p, s, "numprocs", 1, 0, CFG_MAX_INSTANCES, x, &pg->numprocs)) < 0 ||
            (r = svd_get_long(p, s, "numprocs_start", 0, 0, INT_MAX, x, &pg->numprocs_start)) < 0 ||
            (r = svd_get_long(p, s, "priority", 999, LONG_MIN, LONG_MAX, x, &pg->priority)) < 0 ||
            (r = svd_get_long(p, s, "startsecs", 1, 0, INT_MAX, x, &pg->startsecs)) < 0 ||
            (r = svd_get_long(p, s, "startretries", 3, 0, INT_MAX, x, &pg->startretries)) < 0 ||
            (r = svd_get_long(p, s, "stopwaitsecs", 10, 0, INT_MAX, x, &pg->stopwaitsecs)) < 0 ||
            (r = svd_get_bool(p, s, "autostart", true, x, &pg->autostart)) < 0 ||
            (r = svd_get_bool(p, s, "redirect_stderr", false, x, &pg->redirect_stderr)) < 0 ||
            (r = read_autorestart(p, pg, x)) < 0 || (r = read_exitcodes(p, pg, x)) < 0 ||
            (r = read_stopsignal(p, pg, x)) < 0 || (r = read_umask(p, pg, x)) < 0)
                return r;
        return 0;
}

/* What upkeep cannot take is brought within its limits, with a warning. */
static void clamp_program(Parser *p, Program *pg) {
        const Section *s = pg->sec;
        const Key *k;

        if (pg->startsecs * USEC_PER_SEC > CFG_MAX_START_SECS) {
                svd_warn_key(p, s, svd_find_key(s, "startsecs"), "%ld is longer than upkeep "
                             "allows, using %llus", pg->startsecs,
                             (unsigned long long) (CFG_MAX_START_SECS / USEC_PER_SEC));
                pg->startsecs = (long) (CFG_MAX_START_SECS / USEC_PER_SEC);
        }
        if (pg->stopwaitsecs * USEC_PER_SEC > CFG_MAX_STOP_TIMEOUT) {
                svd_warn_key(p, s, svd_find_key(s, "stopwaitsecs"), "%ld is longer than upkeep "
                             "allows, using %llus", pg->stopwaitsecs,
                             (unsigned long long) (CFG_MAX_STOP_TIMEOUT / USEC_PER_SEC));
                pg->stopwaitsecs = (long) (CFG_MAX_STOP_TIMEOUT / USEC_PER_SEC);
        }
        if (pg->policy != RESTART_NEVER && pg->startsecs > 0) {
                k = svd_find_key(s, "startretries");
                if (pg->startretries == 0)
                        svd_warn(p, k->file, k->line, "[%s] startretries: upkeep cannot give up "
                                 "without one retry, using 1", s->name);
                else if (pg->startretries > CFG_MAX_GIVE_UP)
                        svd_warn(p, k->file, k->line, "[%s] startretries: %ld is more than "
                                 "upkeep counts, using %d", s->name, pg->startretries,
                                 CFG_MAX_GIVE_UP);
        }
}

static void procs_free(Proc *procs, long n) {
        for (long j = 0; procs && j <= n; j++)
                proc_done(&procs[j]);
        free(procs);
}

/*
 * The `n` processes: (*ret)[0] rendered with the %i marker (when n > 1), (*ret)[1 + j] process
 * numprocs_start + j (only when n > 1).
 */
static int render_procs(Parser *p, const Program *pg, const Globals *g, long n, Proc **ret) {
        Proc *procs = calloc((size_t) n + 1, sizeof(Proc));
        int r;

        if (!procs)
                return oom(p);
        r = render_proc(p, pg, g, pg->numprocs_start, n > 1, true, &procs[0]);
        for (long j = 0; r >= 0 && n > 1 && j < n; j++)
                r = render_proc(p, pg, g, pg->numprocs_start + j, false, false, &procs[1 + j]);
        if (r < 0) {
                procs_free(procs, n);
                return r;
        }
        *ret = procs;
        return 0;
}

/* Is `tmpl` (with %i) for instance j what `plain` (rendered for that process) says?  -ENOMEM */
static int same_for(const char *tmpl, unsigned j, const char *plain) {
        _cleanup_free_ char *want = NULL, *got = NULL;

        if (!tmpl || !plain)
                return !tmpl && !plain;
        want = expand_instance(plain, 0);
        got = expand_instance(tmpl, j);
        if (!want || !got)
                return -ENOMEM;
        return strcmp(want, got) == 0;
}

/*
 * Can one worker with instances stand for all `n` processes?  Yes when every one is the same
 * apart from the number that %i stands for in the command and the log file.
 */
static int procs_same(Parser *p, const Proc *procs, long n, bool *ret) {
        bool same = true;

        for (long j = 0; n > 1 && j < n && same; j++) {
                int a = same_for(procs[0].command, (unsigned) j, procs[1 + j].command),
                    b = same_for(procs[0].log_file, (unsigned) j, procs[1 + j].log_file);

                if (a < 0 || b < 0)
                        return oom(p);
                same = a && b && procs_alike(&procs[1 + j], &procs[1]);
        }
        *ret = same;
        return 0;
}

/* One worker with `n` instances, for processes that differ only in their number. */
static int add_one_worker(Parser *p, const Program *pg, const Proc *pr, long n, Outs *outs) {
        _cleanup_free_ char *name = NULL, *text = NULL;
        const Section *s = pg->sec;
        int r;

        r = worker_name(p, s, pg->name, &name);
        if (r < 0)
                return r;
        if (n > 1 && pg->numprocs_start != 0)
                svd_warn_key(p, s, svd_find_key(s, "numprocs_start"), "upkeep numbers instances "
                             "from 0: the processes are %s:0 to %s:%ld", name, name, n - 1);
        r = svd_render_worker(p, pg, pr, name, n, &text);
        if (r < 0)
                return r;
        return svd_outs_add(p, outs, name, pg, pg->numprocs_start, TAKE_PTR(text));
}

/* One worker per process, named like it. */
static int add_process_workers(Parser *p, const Program *pg, const Proc *procs, long n,
                               Outs *outs) {
        int r;

        for (long j = 0; j < n; j++) {
                _cleanup_free_ char *text = NULL, *wn = NULL;

                r = worker_name(p, pg->sec, procs[1 + j].name, &wn);
                if (r >= 0)
                        r = svd_render_worker(p, pg, &procs[1 + j], wn, 1, &text);
                if (r >= 0)
                        r = svd_outs_add(p, outs, wn, pg, pg->numprocs_start + j, TAKE_PTR(text));
                if (r < 0)
                        return r;
        }
        return 0;
}

int svd_translate_program(Parser *p, const Globals *g, const Section *s, Outs *outs) {
        Program pg = {
                .sec = s,
                .name = strchr(s->name, ':') + 1, /* [program:x] or [fcgi-program:x] */
                .default_user = g->user,
                .default_directory = g->directory,
                .default_umask = g->umask,
                .stop_listener = g->stop_listener,
        };
        Expander x = { .program_name = pg.name, .group_name = s->group ?: pg.name,
                       .env2 = g->env };
        Proc *procs = NULL;
        const Key *k;
        bool same = true;
        long n;
        int r;

        if (!pg.name[0] || strpbrk(pg.name, " :/"))
                return svd_fail(p, -EINVAL, s->file, s->line, "[%s] invalid program name, "
                                "expected no space, ':' or '/'", s->name);
        if (!svd_find_key(s, "command"))
                return svd_fail(p, -EINVAL, s->file, s->line, "[%s] 'command' is missing, "
                                "expected the program to run", s->name);
        r = read_program(p, &pg, &x);
        if (r < 0)
                return r;
        clamp_program(p, &pg);
        if (g->stdout_listener && events_enabled(s))
                pg.stdout_listener = g->stdout_listener;
        r = check_program_keys(p, &pg);
        if (r < 0)
                return r;

        n = pg.numprocs;
        if (n == 0) {
                svd_warn(p, s->file, s->line, "[%s] numprocs is 0: no process, no worker", s->name);
                return 0;
        }
        k = svd_find_key(s, "process_name");
        if (n > 1 && (!k || !strstr(k->value, "%(process_num)")))
                return svd_fail(p, -EINVAL, k ? k->file : s->file, k ? k->line : s->line,
                                "[%s] process_name: %%(process_num) must be present within "
                                "process_name when numprocs > 1", s->name);

        r = render_procs(p, &pg, g, n, &procs);
        if (r < 0)
                return r;
        r = procs_same(p, procs, n, &same);
        if (r >= 0 && (n == 1 || same))
                r = add_one_worker(p, &pg, &procs[0], n, outs);
        else if (r >= 0)
                r = add_process_workers(p, &pg, procs, n, outs);
        procs_free(procs, n);
        return r;
}
