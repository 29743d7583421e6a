/*
 * supervisord.conf import (see supervisord.h): reads supervisord's INI dialect and writes
 * upkeep's native configuration text, so config.c stays the only place that knows what a valid
 * configuration is.  In layers, each using only those below it:
 *
 *   svdvalue.c    supervisord's value syntax: booleans, integers, sizes, environment=
 *   svdini.c      the INI reader, as Python's configparser reads the file; errors and warnings
 *   svdexpand.c   %-expansion (%(here)s, %(program_name)s, %(process_num)02d, %(ENV_X)s, ...)
 *   svdemit.c     the model of what the file becomes, and the native text written from it
 *   svdprogram.c  a [program:x] becomes one native worker, or one per process when its
 *                 processes differ in a way upkeep's instances cannot express
 *   svdfcgi.c     a [fcgi-program:x]: the same, with its socket held as their stdin
 *   supervisord.c this file: the daemon's sections, [group:x], [include], and the whole run
 *
 * Keys and sections without a native equivalent become "file:line: ..." warnings; values
 * supervisord would refuse are errors.  Invariant: the text we return is valid for config.c,
 * because every value is checked here with the same parsers (argv_split, parse_signal) and
 * limits (defaults.h).
 *
 * [include] is followed from the main file only, as supervisord does; an [include] in an
 * included file is reported and ignored instead of silently running more programs than
 * supervisord would.
 */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "defaults.h"
#include "strv.h"
#include "supervisord.h"
#include "svdemit.h"
#include "svdexpand.h"
#include "svdini.h"
#include "svdlisten.h"
#include "svdfcgi.h"
#include "svdprogram.h"
#include "svdvalue.h"

#define SUN_PATH_MAX (sizeof(((struct sockaddr_un *) NULL)->sun_path) - 1)

static const char *const supervisord_keys[] = {
        "logfile", "logfile_maxbytes", "logfile_backups", "loglevel", "pidfile", "umask",
        "nodaemon", "silent", "minfds", "minprocs", "nocleanup", "childlogdir", "user",
        "directory", "strip_ansi", "environment", "identifier",
};

static void globals_done(Globals *g) {
        free(g->socket);
        free(g->socket_group);
        free(g->log_dir);
        free(g->logfile);
        free(g->user);
        free(g->directory);
        strv_free(g->env);
        free(g->stop_listener);
        free(g->stdout_listener);
}

/* chmod and chown of [unix_http_server], for the socket it names. */
static int read_socket_access(Parser *p, const Section *s, Globals *g, Expander *x) {
        _cleanup_free_ char *v = NULL;
        const Key *k;
        char *end, *colon;
        int r;

        if (!g->socket)
                return 0;
        g->socket_mode = 0700; /* supervisord's default, stricter than upkeep's 0660 */
        k = svd_find_key(s, "chmod");
        if (k) {
                r = svd_expand_key(p, s, k, x, &v);
                if (r < 0)
                        return r;
                errno = 0;
                g->socket_mode = strtol(svd_strip(v), &end, 8);
                if (errno || *end || end == svd_strip(v) || g->socket_mode < 0 ||
                    g->socket_mode > 0777)
                        return svd_fail(p, -EINVAL, k->file, k->line, "[%s] chmod: invalid "
                                        "mode '%s', expected octal permissions, e.g. 0700",
                                        s->name, v);
                g->mode_key = k;
                if ((g->socket_mode & 0600) != 0600) {
                        svd_warn_key(p, s, k, "upkeepd needs read and write for itself, using "
                                     "%04lo", g->socket_mode | 0600);
                        g->socket_mode |= 0600;
                }
                v = mfree(v);
        }
        k = svd_find_key(s, "chown");
        if (k) {
                r = svd_expand_key(p, s, k, x, &v);
                if (r < 0)
                        return r;
                colon = strchr(v, ':');
                if (!colon || !colon[1]) {
                        svd_warn_key(p, s, k, "upkeepd owns its socket, only a group can be given "
                                     "(chown=user:group), ignoring");
                        return 0;
                }
                if (colon > v)
                        svd_warn_key(p, s, k, "upkeepd owns its socket, using only the group '%s'",
                                     colon + 1);
                g->socket_group = strdup(colon + 1);
                if (!g->socket_group)
                        return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        }
        return 0;
}

static int cmp_out_name(const void *a, const void *b) {
        const Out *const *x = a, *const *y = b;
        int c = strcmp((*x)->name, (*y)->name);

        return c != 0 ? c : (*x < *y ? -1 : *x > *y);
}

/* Worker names must be unique: sorted by name, a duplicate is next to its twin. */
static int check_unique(Parser *p, const Outs *outs) {
        _cleanup_free_ const Out **v = NULL;

        if (outs->n < 2)
                return 0;
        v = calloc(outs->n, sizeof(Out *));
        if (!v)
                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        for (size_t i = 0; i < outs->n; i++)
                v[i] = &outs->v[i];
        qsort(v, outs->n, sizeof(Out *), cmp_out_name);
        for (size_t i = 1; i < outs->n; i++)
                if (strcmp(v[i]->name, v[i - 1]->name) == 0)
                        return svd_fail(p, -EINVAL, v[i]->file, v[i]->line, "a process of this "
                                        "program would be the worker '%s' like one at %s:%u, "
                                        "expected unique names", v[i]->name,
                                        svd_file_name(p, v[i - 1]->file), v[i - 1]->line);
        return 0;
}

/*
 * directory and umask: supervisord enters the one and sets the other only when it daemonizes
 * (nodaemon=false, its default), and its programs inherit both.  In the foreground it keeps
 * the working directory and umask it was started with, and so do its programs.
 */
static int read_daemonized(Parser *p, const Section *s, Expander *x, Globals *g) {
        const Key *dir = svd_find_key(s, "directory"), *mask = svd_find_key(s, "umask");
        bool nodaemon;
        int r;

        r = svd_get_bool(p, s, "nodaemon", false, x, &nodaemon);
        if (r >= 0)
                r = svd_get_umask(p, s, x, &g->umask);
        if (r < 0)
                return r;
        if (nodaemon) {
                g->umask = -1;
                if (dir)
                        svd_warn_key(p, s, dir, "supervisord enters it only when it daemonizes, "
                                     "not with nodaemon=true, ignoring");
                if (mask)
                        svd_warn_key(p, s, mask, "supervisord sets it only when it daemonizes, "
                                     "not with nodaemon=true, ignoring");
                return 0;
        }
        /* it sets its umask when it daemonizes, 022 unless told otherwise */
        if (g->umask < 0)
                g->umask = 022;
        if (!dir)
                return 0;
        r = svd_expand_key(p, s, dir, x, &g->directory);
        if (r < 0)
                return r;
        if (!svd_strip(g->directory)[0])
                return svd_fail(p, -EINVAL, dir->file, dir->line, "[%s] directory: empty, "
                                "expected an existing directory", s->name);
        return 0;
}

/*
 * [supervisord]: its environment= (for every program), childlogdir, logfile, user, and the
 * directory and umask its programs inherit.
 */
static int read_supervisord(Parser *p, const Section *s, Globals *g) {
        Expander x = {};
        const Key *k;
        int r;

        svd_check_keys(p, s, supervisord_keys, ELEMENTSOF(supervisord_keys));
        k = svd_find_key(s, "environment");
        if (k) {
                _cleanup_free_ char *v = NULL, *skipped = NULL;
                char err[512];

                r = svd_expand_key(p, s, k, &x, &v);
                if (r < 0)
                        return r;
                r = svd_parse_environment(v, &g->env, err, sizeof err, &skipped);
                if (r == -ENOMEM)
                        return svd_fail(p, r, NO_FILE, 0, "out of memory");
                if (r < 0)
                        return svd_fail(p, r, k->file, k->line, "[%s] %s", s->name, err);
                if (skipped)
                        svd_warn_key(p, s, k, "the unquoted value of %s ends at a blank and the "
                                     "next word is dropped, as supervisord drops it", skipped);
        }
        x.env2 = g->env;
        k = svd_find_key(s, "logfile");
        if (k && (r = svd_expand_key(p, s, k, &x, &g->logfile)) < 0)
                return r;
        k = svd_find_key(s, "childlogdir");
        if (k) {
                r = svd_expand_key(p, s, k, &x, &g->log_dir);
                if (r < 0)
                        return r;
                g->log_dir_key = k;
                if (!g->log_dir[0])
                        g->log_dir = mfree(g->log_dir);
        }
        k = svd_find_key(s, "user");
        if (k) {
                r = svd_expand_key(p, s, k, &x, &g->user);
                if (r < 0)
                        return r;
        }
        return read_daemonized(p, s, &x, g);
}

/* [unix_http_server]: the control socket, its mode and group. */
static int read_unix_http_server(Parser *p, const Section *s, Globals *g) {
        static const char *const known[] = { "file", "chmod", "chown", "username", "password" };
        Expander x = { .env2 = g->env };
        const Key *k;
        int r;

        svd_check_keys(p, s, known, ELEMENTSOF(known));
        k = svd_find_key(s, "file");
        if (k) {
                r = svd_expand_key(p, s, k, &x, &g->socket);
                if (r < 0)
                        return r;
                g->socket_key = k;
                if (!g->socket[0])
                        g->socket = mfree(g->socket);
                /* conf_load() refuses what a unix socket address cannot hold */
                else if (strlen(g->socket) > SUN_PATH_MAX)
                        return svd_fail(p, -EINVAL, k->file, k->line, "[unix_http_server] "
                                        "file: path of %zu bytes is too long for a unix "
                                        "socket, expected at most %zu", strlen(g->socket),
                                        SUN_PATH_MAX);
        }
        if ((k = svd_find_key(s, "username")) || (k = svd_find_key(s, "password")))
                svd_warn_key(p, s, k, "upkeep's control socket has no password, access is "
                             "by its file permissions, ignoring");
        return read_socket_access(p, s, g, &x);
}

static int read_globals(Parser *p, Globals *g) {
        Section *s;
        int r;

        s = svd_find_section(p, "supervisord");
        if (s) {
                r = read_supervisord(p, s, g);
                if (r < 0)
                        return r;
        }
        s = svd_find_section(p, "unix_http_server");
        return s ? read_unix_http_server(p, s, g) : 0;
}

/* [group:x] programs=a,b: mark the programs, which keep being plain workers. */
static int read_groups(Parser *p, FILE *o) {
        for (size_t i = 0; i < p->n_sections; i++) {
                Section *s = &p->sections[i];
                static const char *const known[] = { "programs", "priority" };
                _cleanup_free_ char *list = NULL;
                const Key *k;
                char *tok, *save = NULL;
                bool any = false;
                Expander x = {};
                long priority;
                int r;

                if (strncmp(s->name, "group:", 6) != 0)
                        continue;
                svd_check_keys(p, s, known, ELEMENTSOF(known));
                k = svd_find_key(s, "programs");
                if (!k)
                        return svd_fail(p, -EINVAL, s->file, s->line, "[%s] 'programs' is missing, "
                                        "expected a comma-separated list of programs", s->name);
                if (svd_expand_key(p, s, k, &x, &list) < 0)
                        return p->err;
                r = svd_get_long(p, s, "priority", 999, LONG_MIN, LONG_MAX, &x, &priority);
                if (r < 0)
                        return r;
                fprintf(o, "# [%s] programs =", s->name);
                for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                        _cleanup_free_ char *sec = NULL;
                        Section *ps;

                        tok = svd_strip(tok);
                        if (!*tok)
                                continue;
                        if (asprintf(&sec, "program:%s", tok) < 0) {
                                sec = NULL;
                                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
                        }
                        ps = svd_find_section(p, sec);
                        if (!ps)
                                return svd_fail(p, -EINVAL, k->file, k->line, "[%s] names unknown "
                                                "program %s", s->name, tok);
                        free(ps->group);
                        if (!(ps->group = strdup(s->name + 6)))
                                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
                        ps->group_priority = priority;
                        fprintf(o, "%s %s", any ? "," : "", tok);
                        any = true;
                }
                fputs(": upkeep has no groups, these are plain workers\n", o);
        }
        return 0;
}

/*
 * Read the files that one pattern of [include] files= matches, relative to `base` (the main
 * file's directory); `file` and `line` are the key's, for warnings.
 */
static int include_pattern(Parser *p, const char *base, const char *tok, unsigned file,
                           unsigned line) {
        _cleanup_free_ char *pattern = NULL;
        glob_t gl = {};
        int r;

        if (tok[0] == '/')
                pattern = strdup(tok);
        else if (asprintf(&pattern, "%s/%s", strcmp(base, "/") == 0 ? "" : base, tok) < 0)
                pattern = NULL;
        if (!pattern)
                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        r = glob(pattern, 0, NULL, &gl);
        if (r == GLOB_NOSPACE) {
                globfree(&gl);
                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        }
        if (r != 0 || gl.gl_pathc == 0) {
                svd_warn(p, file, line, "[include] files: no file matches %s, ignoring", pattern);
                globfree(&gl);
                return 0;
        }
        r = 0;
        for (size_t i = 0; i < gl.gl_pathc && r >= 0; i++)
                r = svd_parse_file(p, gl.gl_pathv[i], NULL, 0, true, file, line);
        globfree(&gl);
        return r;
}

static int follow_include(Parser *p, const char *main_path) {
        Section *s = svd_find_section(p, "include");
        static const char *const known[] = { "files" };
        _cleanup_free_ char *files = NULL, *base = NULL;
        const Key *k;
        Expander x = {};
        char *tok, *save = NULL;
        unsigned file, line;
        int r;

        if (!s)
                return 0;
        svd_check_keys(p, s, known, ELEMENTSOF(known));
        k = svd_find_key(s, "files");
        if (!k)
                return svd_fail(p, -EINVAL, s->file, s->line, "[include] 'files' is missing, "
                                "expected the files to include");
        r = svd_expand_key(p, s, k, &x, &files);
        if (r < 0)
                return r;
        /* s and k point into the sections, which grow while the included files are read */
        file = k->file;
        line = k->line;
        base = svd_dir_of(main_path);
        if (!base)
                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        for (tok = strtok_r(files, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
                r = include_pattern(p, base, tok, file, line);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void warn_sections(Parser *p) {
        static const char *const ignored[] = { "supervisord", "unix_http_server", "supervisorctl",
                                               "include" };
        static const char *const ignored_prefix[] = { "rpcinterface:", "ctlplugin:", "program:",
                                                      "group:", "eventlistener:", "fcgi-program:" };

        for (size_t i = 0; i < p->n_sections; i++) {
                const Section *s = &p->sections[i];
                bool known = false;

                for (size_t j = 0; j < ELEMENTSOF(ignored) && !known; j++)
                        known = strcmp(s->name, ignored[j]) == 0;
                for (size_t j = 0; j < ELEMENTSOF(ignored_prefix) && !known; j++)
                        known = strncmp(s->name, ignored_prefix[j], strlen(ignored_prefix[j])) == 0;
                if (known)
                        continue;
                if (strcmp(s->name, "inet_http_server") == 0)
                        svd_warn(p, s->file, s->line, "[inet_http_server] upkeep serves no HTTP or "
                                 "XML-RPC, only its control socket, ignoring");
                else
                        svd_warn(p, s->file, s->line, "[%s] unknown section, ignoring", s->name);
        }
}


/* The comment lines that say which programs each [group:x] lists. */
static int group_comments(Parser *p, char **ret) {
        _cleanup_free_ char *groups = NULL;
        size_t len = 0;
        FILE *o = open_memstream(&groups, &len);
        int r;

        if (!o)
                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        r = read_groups(p, o);
        if (fclose(o) != 0 && r >= 0)
                r = svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(groups);
        return 0;
}

/* Every [program:x] into `outs`, in supervisord's start order, their names unique. */
static int translate_programs(Parser *p, const Globals *g, Outs *outs) {
        int r;

        for (size_t i = 0; i < p->n_sections; i++)
                if (strncmp(p->sections[i].name, "program:", 8) == 0 ||
                    strncmp(p->sections[i].name, "fcgi-program:", 13) == 0) {
                        r = strncmp(p->sections[i].name, "fcgi", 4) == 0
                                    ? svd_translate_fcgi(p, g, &p->sections[i], outs)
                                    : svd_translate_program(p, g, &p->sections[i], outs);
                        if (r < 0)
                                return r;
                }
        if (outs->n > CFG_MAX_WORKERS)
                return svd_fail(p, -EINVAL, 0, 0, "%zu workers, expected at most %d", outs->n,
                                CFG_MAX_WORKERS);
        svd_outs_sort(outs);
        return check_unique(p, outs);
}

/* The sections read, translated and written as native text. */
static int translate(Parser *p, const char *path, char **ret) {
        _cleanup_free_ char *groups = NULL;
        Globals g = { .umask = -1 };
        Outs outs = {};
        int r;

        r = group_comments(p, &groups);
        if (r < 0)
                return r;
        r = read_globals(p, &g);
        if (r >= 0)
                r = svd_read_listeners(p, &g);
        if (r >= 0) {
                warn_sections(p);
                r = translate_programs(p, &g, &outs);
        }
        if (r >= 0)
                r = svd_emit(p, path, &g, groups, &outs, ret);
        svd_outs_done(&outs);
        globals_done(&g);
        return r;
}

/* The main file is `data` (of `size` bytes) when given, else read from `path`. */
static int convert(const char *path, const char *data, size_t size, char **ret_text,
                   char **ret_warnings) {
        _cleanup_free_ char *text = NULL, *warnings = NULL;
        Parser p = { .cur = -1, .last_key = -1 };
        int r;

        r = svd_parse_file(&p, path, data, size, false, NO_FILE, 0);
        if (r >= 0)
                r = follow_include(&p, path);
        if (r >= 0)
                r = translate(&p, path, &text);
        if (r >= 0 && p.err < 0)
                r = p.err; /* a warning could not be recorded */
        if (r >= 0 && !(warnings = svd_join_warnings(&p)))
                r = -ENOMEM;

        if (r < 0) {
                if (r == -ENOMEM || !p.error)
                        *ret_warnings = strdup("out of memory\n");
                else if (asprintf(ret_warnings, "%s\n", p.error) < 0)
                        *ret_warnings = NULL;
                svd_parser_done(&p);
                return r;
        }
        svd_parser_done(&p);
        *ret_warnings = TAKE_PTR(warnings);
        *ret_text = TAKE_PTR(text);
        return 0;
}

int svd_convert(const char *path, char **ret_text, char **ret_warnings) {
        return convert(path, NULL, 0, ret_text, ret_warnings);
}

int svd_convert_text(const char *path, const char *data, size_t size, char **ret_text,
                     char **ret_warnings) {
        return convert(path, data, size, ret_text, ret_warnings);
}

static bool detect_stream(FILE *f) {
        static const char *const names[] = { "supervisord", "include", "unix_http_server",
                                             "inet_http_server", "supervisorctl" };
        static const char *const prefixes[] = { "program:", "group:", "rpcinterface:",
                                                "eventlistener:", "fcgi-program:", "ctlplugin:" };
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        bool first = true, found = false;

        while (getline(&line, &cap, f) >= 0) {
                char *s = line, *end;

                if (first && memcmp(s, "\xef\xbb\xbf", 3) == 0)
                        s += 3;
                first = false;
                s = svd_strip(s);
                if (!*s || svd_is_comment_start(*s))
                        continue;
                if (*s != '[')
                        break;
                end = strchr(s, ']');
                if (!end)
                        break;
                *end = '\0';
                s++;
                for (size_t i = 0; i < ELEMENTSOF(names) && !found; i++)
                        found = strcmp(s, names[i]) == 0;
                for (size_t i = 0; i < ELEMENTSOF(prefixes) && !found; i++)
                        found = strncmp(s, prefixes[i], strlen(prefixes[i])) == 0;
                break;
        }
        fclose(f);
        return found;
}

bool svd_detect(const char *path) {
        FILE *f = fopen(path, "re");

        return f && detect_stream(f);
}

bool svd_detect_text(const char *data, size_t size) {
        FILE *f = fmemopen((void *) data, size, "r");

        return f && detect_stream(f);
}
