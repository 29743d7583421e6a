/*
 * Unit tests of the supervisord.conf import (config/supervisord.h).  Each test writes realistic
 * supervisord.conf files into a fresh mkdtemp() directory, converts them, checks the native text
 * and the "file:line: ..." warnings, and loads the result with conf_load_file(), which is what
 * upkeepd does with such a file, so the text is also proven valid for config.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <signal.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conffile.h"
#include "config.h"
#include "macro.h"
#include "parse.h"
#include "supervisord.h"
#include "svdexpand.h"
#include "svdvalue.h"

typedef struct Dir {
        char path[64];
} Dir;

static int setup_dir(void **state) {
        Dir *d = calloc(1, sizeof(Dir));

        assert_non_null(d);
        snprintf(d->path, sizeof d->path, "/tmp/uk-svd-XXXXXX");
        assert_non_null(mkdtemp(d->path));
        *state = d;
        return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st, (void) flag, (void) ftw;
        return remove(path);
}

static int teardown_dir(void **state) {
        Dir *d = *state;

        nftw(d->path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(d);
        return 0;
}

/* Write `text` to DIR/name (creating DIR/sub/ if name has one); returns the path (caller frees). */
static char *write_file(const Dir *d, const char *name, const char *text) {
        char *path, *slash;
        FILE *f;

        assert_true(asprintf(&path, "%s/%s", d->path, name) > 0);
        slash = strrchr(path, '/');
        *slash = '\0';
        (void) mkdir(path, 0755);
        *slash = '/';
        f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
        return path;
}

static void convert_ok(const char *path, char **text, char **warnings) {
        int r = svd_convert(path, text, warnings);

        if (r < 0)
                fail_msg("svd_convert(%s): %d: %s", path, r, *warnings ? *warnings : "(null)");
        assert_non_null(*text);
        assert_non_null(*warnings);
}

/* Load native text through conf_load(), as --check-config would. */
static Config *load_text(const Dir *d, const char *text) {
        _cleanup_free_ char *path = write_file(d, "converted.conf", text), *errors = NULL;
        Config *c = NULL;

        if (conf_load_file(path, &c, NULL, &errors) < 0)
                fail_msg("conf_load of the converted text: %s\n%s", errors ?: "?", text);
        return c;
}

static Config *load_ini(const char *path) {
        _cleanup_free_ char *errors = NULL;
        Config *c = NULL;

        if (conf_load_file(path, &c, NULL, &errors) < 0)
                fail_msg("conf_load(%s): %s", path, errors ?: "?");
        return c;
}

static size_t count_lines(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                n += *s == '\n';
        return n;
}

/* Does `warnings` hold a line starting with "path:line: " that contains `what`? */
static bool has_warning(const char *warnings, const char *path, unsigned line, const char *what) {
        char prefix[512];
        size_t pl;

        pl = (size_t) snprintf(prefix, sizeof prefix, "%s:%u: ", path, line);
        for (const char *l = warnings; *l;) {
                const char *e = strchr(l, '\n');
                size_t len = e ? (size_t) (e - l) : strlen(l);

                if (len >= pl && strncmp(l, prefix, pl) == 0 && memmem(l, len, what, strlen(what)))
                        return true;
                l += len + (e ? 1 : 0);
        }
        return false;
}

#define assert_contains(hay, needle)                                                            \
        do {                                                                                    \
                if (!strstr((hay), (needle)))                                                   \
                        fail_msg("expected to find [%s] in:\n%s", (needle), (hay));             \
        } while (0)

#define assert_not_contains(hay, needle)                                                        \
        do {                                                                                    \
                if (strstr((hay), (needle)))                                                    \
                        fail_msg("did not expect [%s] in:\n%s", (needle), (hay));               \
        } while (0)

#define assert_warning(w, path, line, what)                                                     \
        do {                                                                                    \
                if (!has_warning((w), (path), (line), (what)))                                  \
                        fail_msg("expected a warning %s:%u: ...%s... in:\n%s", (path), (line),  \
                                 (what), (w));                                                  \
        } while (0)

static void test_detect(void **state) {
        Dir *d = *state;
        _cleanup_free_ char *ini = write_file(d, "a.conf", "; comment\n# another\n\n"
                                              "[supervisord]\nnodaemon=true\n");
        _cleanup_free_ char *prog = write_file(d, "conf.d/b.conf", "\xef\xbb\xbf"
                                               "[program:b] ; web\ncommand=/bin/true\n");
        _cleanup_free_ char *native = write_file(d, "c.conf", "# [program:x]\n"
                                                 "worker x {\n    command = \"/bin/true\"\n}\n");
        _cleanup_free_ char *other = write_file(d, "d.conf", "[database]\nhost=x\n");
        _cleanup_free_ char *missing = NULL;

        assert_true(asprintf(&missing, "%s/nope.conf", d->path) > 0);
        assert_true(svd_detect(ini));
        assert_true(svd_detect(prog));
        assert_false(svd_detect(native));
        assert_false(svd_detect(other));
        assert_false(svd_detect(missing));
}

/* The classic stack: gunicorn, a pool of celery workers, nginx in front. */
static const char stack_conf[] =
        "; supervisor config file\n"                                                    /* 1 */
        "[unix_http_server]\n"                                                          /* 2 */
        "file=%(here)s/supervisor.sock   ; (the path to the socket file)\n"             /* 3 */
        "chmod=0700                       ; socket file mode (default 0700)\n"          /* 4 */
        "\n"                                                                            /* 5 */
        "[supervisord]\n"                                                               /* 6 */
        "logfile=/var/log/supervisor/supervisord.log ; (main log file)\n"               /* 7 */
        "pidfile=/var/run/supervisord.pid\n"                                            /* 8 */
        "childlogdir=%(here)s/logs\n"                                                   /* 9 */
        "nodaemon=true\n"                                                               /* 10 */
        "\n"                                                                            /* 11 */
        "[rpcinterface:supervisor]\n"                                                   /* 12 */
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
        "\n"                                                                            /* 14 */
        "[supervisorctl]\n"                                                             /* 15 */
        "serverurl=unix:///var/run/supervisor.sock\n"                                   /* 16 */
        "\n"                                                                            /* 17 */
        "[program:gunicorn]\n"                                                          /* 18 */
        "command=/srv/app/.venv/bin/gunicorn app.wsgi:application --bind 127.0.0.1:8000 "
        "--workers 3\n"                                                                 /* 19 */
        "directory=/srv/app\n"                                                          /* 20 */
        "user=www-data\n"                                                               /* 21 */
        "autostart=true\n"                                                              /* 22 */
        "autorestart=true\n"                                                            /* 23 */
        "startsecs=5\n"                                                                 /* 24 */
        "stopsignal=QUIT\n"                                                             /* 25 */
        "stopwaitsecs=30\n"                                                             /* 26 */
        "stopasgroup=true\n"                                                            /* 27 */
        "killasgroup=true\n"                                                            /* 28 */
        "priority=10\n"                                                                 /* 29 */
        "redirect_stderr=true\n"                                                        /* 30 */
        "stdout_logfile=/var/log/app/gunicorn.log\n"                                    /* 31 */
        "stdout_logfile_maxbytes=0\n"                                                   /* 32 */
        "\n"                                                                            /* 33 */
        "[program:celery]\n"                                                            /* 34 */
        "command=/srv/app/.venv/bin/celery -A app worker -n w%(process_num)d@%%h\n"     /* 35 */
        "process_name=%(program_name)s_%(process_num)02d\n"                             /* 36 */
        "numprocs=4\n"                                                                  /* 37 */
        "directory=/srv/app\n"                                                          /* 38 */
        "stdout_logfile=/var/log/app/celery-%(process_num)d.log\n"                      /* 39 */
        "stopwaitsecs=600\n"                                                            /* 40 */
        "priority=20\n"                                                                 /* 41 */
        "\n"                                                                            /* 42 */
        "[program:nginx]\n"                                                             /* 43 */
        "command=/usr/sbin/nginx -g \"daemon off;\"\n"                                  /* 44 */
        "autorestart=true\n"                                                            /* 45 */
        "priority=5\n"                                                                  /* 46 */
        "stdout_logfile=/dev/stdout\n"                                                  /* 47 */
        "stdout_logfile_maxbytes=0\n"                                                   /* 48 */
        "\n"                                                                            /* 49 */
        "[group:web]\n"                                                                 /* 50 */
        "programs=gunicorn,nginx\n";                                                    /* 51 */

static void test_stack(void **state) {
        Dir *d = *state;
        _cleanup_free_ char *ini = write_file(d, "supervisord.conf", stack_conf);
        _cleanup_free_ char *text = NULL, *warnings = NULL, *want = NULL, *cmd0 = NULL;
        const WorkerConfig *w;
        Config *c;
        char *ng, *gu, *ce;

        convert_ok(ini, &text, &warnings);

        assert_true(asprintf(&want, "socket  = \"%s/supervisor.sock\"", d->path) > 0);
        assert_contains(text, want);
        free(want);
        assert_contains(text, "socket-mode = 0700");
        assert_true(asprintf(&want, "log-dir = \"%s/logs\"", d->path) > 0);
        assert_contains(text, want);
        assert_contains(text, "log-file = \"/var/log/supervisor/supervisord.log\"   # "
                        "[supervisord] logfile");
        assert_contains(text, "# [group:web] programs = gunicorn, nginx: upkeep has no groups");
        assert_contains(text, "worker \"gunicorn\" {\n    command      = "
                        "\"/srv/app/.venv/bin/gunicorn app.wsgi:application --bind "
                        "127.0.0.1:8000 --workers 3\"\n");
        assert_contains(text, "    user         = \"www-data\"\n");
        assert_contains(text, "    stop-signal  = QUIT\n");
        assert_contains(text, "    stop-timeout = 30s\n");
        assert_contains(text, "    start-secs   = 5s\n");
        assert_contains(text, "    log-file     = \"/var/log/app/gunicorn.log\"");
        assert_contains(text, "-n w%i@%%h\"\n");
        assert_contains(text, "    instances    = 4\n");
        assert_contains(text, "    stop-timeout = 600s\n");
        assert_contains(text, "\"/usr/sbin/nginx -g \\\"daemon off;\\\"\"");

        /* started in supervisord's order: groups by their priority ([group:web] has the default
         * 999, celery is a group of its own at 20), then the programs of a group by theirs */
        ng = strstr(text, "worker \"nginx\"");
        gu = strstr(text, "worker \"gunicorn\"");
        ce = strstr(text, "worker \"celery\"");
        assert_true(ng && gu && ce && ce < ng && ng < gu);
        /* and that order is kept by upkeepd: each comes after the previous priority, started */
        assert_contains(ng, "    after        = { \"celery:started\" }   # priority\n}\n");
        assert_contains(gu, "    after        = { \"nginx:started\" }   # priority\n}\n");
        assert_true(strstr(ce, "    after        =") > ng); /* celery comes first: none */

        /* groups and the ignored sections are silent; so are stopasgroup and maxbytes=0 */
        assert_int_equal(count_lines(warnings), 0);

        /* what upkeepd does: the INI through conf_load_file() */
        c = load_ini(ini);
        assert_int_equal(c->n_workers, 3);
        assert_string_equal(c->workers[0].name, "celery");
        assert_string_equal(c->workers[1].name, "nginx");
        assert_string_equal(c->workers[2].name, "gunicorn");
        w = conf_find_worker(c, "gunicorn");
        assert_int_equal(w->policy, RESTART_ALWAYS);
        assert_int_equal(w->stop_signal, 3);
        assert_int_equal(w->stop_timeout, 30 * USEC_PER_SEC);
        assert_int_equal(w->start_secs, 5 * USEC_PER_SEC);
        assert_string_equal(w->directory, "/srv/app");
        assert_string_equal(w->user, "www-data");
        assert_string_equal(w->log_file, "/var/log/app/gunicorn.log");
        w = conf_find_worker(c, "celery");
        assert_int_equal(w->instances, 4);
        /* the file stdout_logfile names, one per process as in supervisord */
        assert_string_equal(w->log_file, "/var/log/app/celery-%i.log");
        assert_int_equal(w->policy, RESTART_ON_FAILURE);
        cmd0 = expand_instance(w->argv[5], 3);
        assert_string_equal(cmd0, "w3@%h");
        /* supervisord rotates at 50MB, keeping 10, unless told otherwise */
        assert_int_equal(w->log.max_size, 50 << 20);
        assert_int_equal(w->log.keep, 10);
        assert_int_equal(conf_find_worker(c, "gunicorn")->log.max_size, 0);
        w = conf_find_worker(c, "nginx");
        assert_string_equal(w->argv[2], "daemon off;");
        assert_int_equal(w->n_after, 1);
        assert_string_equal(w->after[0].name, "celery");
        assert_int_equal(w->after[0].cond, DEP_STARTED);
        assert_int_equal(conf_find_worker(c, "celery")->n_after, 0);
        assert_string_equal(conf_find_worker(c, "gunicorn")->after[0].name, "nginx");
        /* the container pattern: upkeepd's own stdout */
        assert_string_equal(w->log_dir, "-");
        assert_string_equal(c->socket + strlen(d->path), "/supervisor.sock");
        assert_string_equal(c->log_dir + strlen(d->path), "/logs"); /* childlogdir */
        assert_int_equal(c->socket_mode, 0700);
        conf_free(c);

        /* and the text on its own, as --convert prints it */
        conf_free(load_text(d, text));
}

/*
 * startretries becomes give-up = "N in W", W computed from upkeep's default backoff, which the
 * converted text leaves implicit: check those defaults are still what supervisord.c assumes
 * (1s, factor 2, 5m cap, 10% jitter), and the window for the defaults (3 retries, startsecs 1).
 */
static void test_give_up(void **state) {
        Dir *d = *state;
        _cleanup_free_ char *ini = write_file(d, "supervisord.conf",
                "[program:a]\ncommand=/bin/a\n"
                "[program:b]\ncommand=/bin/b\nstartretries=0\n"
                "[program:c]\ncommand=/bin/c\nstartsecs=0\n"
                "[program:d]\ncommand=/bin/d\nautorestart=false\nstartretries=7\n"
                "[program:e]\ncommand=/bin/e\nstartretries=5\nstartsecs=10\n");
        _cleanup_free_ char *text = NULL, *warnings = NULL;
        const WorkerConfig *w;
        Config *c;

        convert_ok(ini, &text, &warnings);
        /* 1.1 + 2.2 + 4.4 + 3 x 1s + 0.25s, rounded up */
        assert_contains(text, "give-up = \"3 in 11s\"");
        /* 1.1 + 2.2 + 4.4 + 8.8 + 17.6 + 5 x 10s + 0.25s */
        assert_contains(text, "give-up = \"5 in 85s\"");
        assert_contains(text, "give-up = \"1 in 3s\"");
        assert_warning(warnings, ini, 5, "[program:b] startretries: upkeep cannot give up "
                       "without one retry");
        assert_int_equal(count_lines(warnings), 1);

        c = load_ini(ini);
        w = conf_find_worker(c, "a");
        assert_int_equal(w->backoff.initial, USEC_PER_SEC);
        assert_true(w->backoff.factor == 2.0);
        assert_int_equal(w->backoff.max_delay, 5 * USEC_PER_MINUTE);
        assert_true(w->backoff.jitter > 0.0999 && w->backoff.jitter < 0.1001);
        assert_int_equal(w->give_up_count, 3);
        assert_int_equal(w->give_up_within, 11 * USEC_PER_SEC);
        /* no start-secs: supervisord never sees a failed start, so nothing to give up on */
        assert_int_equal(conf_find_worker(c, "c")->give_up_count, 0);
        /* autorestart=false: nothing is restarted at all */
        assert_int_equal(conf_find_worker(c, "d")->policy, RESTART_NEVER);
        assert_int_equal(conf_find_worker(c, "d")->give_up_count, 0);
        conf_free(c);
}

static void test_include_glob(void **state) {
        Dir *d = *state;
        _cleanup_free_ char *ini = write_file(d, "etc/supervisord.conf",
                "[supervisord]\n"
                "[program:main]\n"
                "command=/bin/main\n"
                "[include]\n"
                "files = conf.d/*.conf  missing/*.ini\n"); /* line 5 */
        _cleanup_free_ char *a = write_file(d, "etc/conf.d/a.conf",
                "[program:api]\n"
                "command=%(here)s/run-api --name %(program_name)s\n"
                "directory=%(here)s\n"
                "[include]\n" /* line 4 */
                "files = /etc/other/*.conf\n");
        _cleanup_free_ char *b = write_file(d, "etc/conf.d/b.conf",
                "; the later file wins for a key both set\n"
                "[program:main]\n"
                "command=/bin/main --from-b\n"
                "[program:worker]\n"
                "command = /bin/worker\n");
        _cleanup_free_ char *skipped = write_file(d, "etc/conf.d/c.ini",
                "[program:never]\ncommand=/bin/never\n");
        _cleanup_free_ char *text = NULL, *warnings = NULL, *want = NULL, *pattern = NULL;
        Config *c;

        convert_ok(ini, &text, &warnings);
        assert_true(asprintf(&want, "\"%s/etc/conf.d/run-api --name api\"", d->path) > 0);
        assert_contains(text, want);
        free(want);
        assert_true(asprintf(&want, "directory    = \"%s/etc/conf.d\"", d->path) > 0);
        assert_contains(text, want);
        assert_contains(text, "\"/bin/main --from-b\"");
        assert_contains(text, "worker \"worker\"");
        assert_not_contains(text, "never");

        assert_warning(warnings, a, 4, "[include] in an included file is not followed");
        assert_true(asprintf(&pattern, "no file matches %s/etc/missing/*.ini", d->path) > 0);
        assert_warning(warnings, ini, 5, pattern);
        assert_int_equal(count_lines(warnings), 2);
        /* the main file's warnings first, then the included files' in the order read */
        assert_true(strncmp(warnings, ini, strlen(ini)) == 0);

        c = load_ini(ini);
        assert_int_equal(c->n_workers, 3);
        conf_free(c);
        (void) b, (void) skipped;
}

static void test_environment(void **state) {
        Dir *d = *state;
        _cleanup_free_ char *ini = NULL, *text = NULL, *warnings = NULL;
        const WorkerConfig *w;
        Config *c;

        setenv("UK_SVD_TEST_HOME", "/home/tester", 1);
        ini = write_file(d, "supervisord.conf",
                "[supervisord]\n"
                "environment=TZ=UTC,APP_ENV=\"staging\"\n"
                "[program:app]\n"
                "command=/bin/app --home %(ENV_UK_SVD_TEST_HOME)s --db %(ENV_DB)s\n"
                "environment=DB=\"postgres://u:p@db/app?x=1,y=2\",\n"  /* line 5 */
                "    APP_ENV=production,   ; comment on a continuation line\n"
                "    QUOTED='say \"hi\"',DOLLAR=\"$HOME\\x\",\n"
                "    EMPTY=\"\",GREETING=hello world\n");
        convert_ok(ini, &text, &warnings);
        /* %(ENV_X)s: the program's own environment first, then upkeepd's */
        assert_contains(text, "\"/bin/app --home /home/tester "
                        "--db postgres://u:p@db/app?x=1,y=2\"");
        /* libconfuse would expand ${...} and eat backslashes: both are escaped */
        assert_contains(text, "\"DOLLAR=\\$HOME\\\\x\"");
        /* supervisord drops a token where a ',' should be, and says nothing; we say it, naming
         * the variable and not the word (it may be part of a secret) */
        assert_warning(warnings, ini, 5, "the unquoted value of GREETING ends at a blank");
        assert_not_contains(warnings, "world");
        assert_int_equal(count_lines(warnings), 1);

        c = load_ini(ini);
        w = conf_find_worker(c, "app");
        assert_non_null(w->environment);
        assert_int_equal(strv_length(w->environment), 7);
        /* [supervisord] environment first, the program's overriding it */
        assert_string_equal(w->environment[0], "TZ=UTC");
        assert_string_equal(w->environment[1], "APP_ENV=production");
        assert_string_equal(w->environment[2], "DB=postgres://u:p@db/app?x=1,y=2");
        assert_string_equal(w->environment[3], "QUOTED=say \"hi");
        assert_string_equal(w->environment[4], "DOLLAR=$HOME\\x");
        assert_string_equal(w->environment[5], "EMPTY=");
        assert_string_equal(w->environment[6], "GREETING=hello");
        conf_free(c);
        conf_free(load_text(d, text));
        unsetenv("UK_SVD_TEST_HOME");
}

static void test_autorestart_exitcodes(void **state) {
        Dir *d = *state;
        _cleanup_free_ char *ini = write_file(d, "supervisord.conf",
                "[program:unexp]\n"
                "command=/bin/unexp\n"
                "autorestart=unexpected\n"
                "exitcodes=0,2\n"                       /* line 4 */
                "[program:zero]\n"
                "command=/bin/zero\n"
                "exitcodes=0\n"
                "[program:always]\n"
                "command=/bin/always\n"
                "autorestart=TRUE\n"
                "exitcodes=3\n"
                "[program:never]\n"
                "command=/bin/never\n"
                "autorestart=off\n"
                "autostart=No\n");
        _cleanup_free_ char *text = NULL, *warnings = NULL;
        Config *c;

        convert_ok(ini, &text, &warnings);
        /* exitcodes and autorestart=unexpected translate exactly: no warning */
        assert_int_equal(count_lines(warnings), 0);

        c = load_ini(ini);
        assert_int_equal(conf_find_worker(c, "unexp")->policy, RESTART_ON_FAILURE);
        assert_int_equal(conf_find_worker(c, "zero")->policy, RESTART_ON_FAILURE);
        assert_int_equal(conf_find_worker(c, "always")->policy, RESTART_ALWAYS);
        assert_int_equal(conf_find_worker(c, "never")->policy, RESTART_NEVER);
        assert_false(conf_find_worker(c, "never")->autostart);
        assert_true(conf_find_worker(c, "zero")->autostart);
        /* supervisord restarts a program killed by any signal under unexpected: none is clean,
         * the exit codes are exitcodes */
        assert_true(clean_exits_test(&conf_find_worker(c, "unexp")->clean, 2, 0));
        assert_false(clean_exits_test(&conf_find_worker(c, "unexp")->clean, 1, 0));
        assert_false(clean_exits_test(&conf_find_worker(c, "unexp")->clean, 0, SIGTERM));
        assert_false(clean_exits_test(&conf_find_worker(c, "zero")->clean, 0, SIGINT));
        assert_true(clean_exits_test(&conf_find_worker(c, "zero")->clean, 0, 0));
        assert_false(clean_exits_test(&conf_find_worker(c, "zero")->clean, 2, 0));
        conf_free(c);
}

/* [eventlistener:x]: the shapes found in public supervisord.conf files. */
static void test_listeners(void **state) {
        Dir *d = *state;
        _cleanup_free_ char *ini = write_file(d, "supervisord.conf",
                "[program:a]\n"
                "command=/bin/a\n"
                "stdout_events_enabled=true\n"
                "[program:b]\n"
                "command=/bin/b\n"
                "stdout_logfile=/var/log/b.log\n"
                "[eventlistener:fatal]\n"                               /* line 7 */
                "command=/usr/bin/python3 /usr/local/bin/kill_supervisor.py\n"
                "events=PROCESS_STATE_FATAL\n"
                "[eventlistener:crashmail]\n"                           /* line 10 */
                "command=crashmail -a -m root@localhost\n"
                "events=PROCESS_STATE_EXITED\n"
                "[eventlistener:stdout]\n"                              /* line 13 */
                "command = supervisor_stdout\n"
                "buffer_size = 100\n"
                "events = PROCESS_LOG\n"
                "result_handler = supervisor_stdout:event_handler\n"
                "[eventlistener:tick]\n"                                /* line 18 */
                "command=sh -c 'kill -QUIT 1'\n"
                "events=TICK_60,PROCESS_LOG\n");
        _cleanup_free_ char *text = NULL, *warnings = NULL;
        Config *c;

        convert_ok(ini, &text, &warnings);
        assert_warning(warnings, ini, 7, "[eventlistener:fatal] stops supervisord when a program "
                       "dies: translated as required = true on every program");
        assert_warning(warnings, ini, 10, "[eventlistener:crashmail] the event listener protocol "
                       "is not supported");
        assert_warning(warnings, ini, 13, "[eventlistener:stdout] supervisor_stdout");
        /* a kill on other events than a process's end is not the pattern */
        assert_warning(warnings, ini, 18, "[eventlistener:tick] the event listener protocol");
        assert_int_equal(count_lines(warnings), 4);
        assert_contains(text, "required     = true   # [eventlistener:fatal] stops supervisord "
                        "when a program dies\n");
        c = load_ini(ini);
        assert_true(conf_find_worker(c, "a")->required);
        assert_true(conf_find_worker(c, "b")->required);
        /* a sends its output as events: upkeepd's stdout; b does not: its file */
        assert_string_equal(conf_find_worker(c, "a")->log_dir, "-");
        assert_string_equal(conf_find_worker(c, "b")->log_file, "/var/log/b.log");
        conf_free(c);
}

static void test_warnings(void **state) {
        Dir *d = *state;
        _cleanup_free_ char *ini = write_file(d, "supervisord.conf",
                "[supervisord]\n"
                "loglevel=info\n"
                "\n"
                "[inet_http_server]\n"                  /* line 4 */
                "port=127.0.0.1:9001\n"
                "\n"
                "[eventlistener:crashmail]\n"           /* line 7 */
                "command=crashmail -a -m root@localhost\n"
                "events=PROCESS_STATE_EXITED\n"
                "\n"
                "[program:app]\n"
                "command=/bin/app\n"
                "autorestat=true\n"                     /* line 13 */
                "umask=022\n"                           /* line 14 */
                "stdout_logfile_maxbytes=10MB\n"        /* line 15 */
                "stdout_events_enabled=false\n"
                "stderr_logfile=/var/log/app.err\n"     /* line 17 */
                "depends_on=db\n"                       /* line 18 */
                "\n"
                "[fcgi-program:php]\n"                  /* line 20 */
                "command=/usr/bin/php-cgi\n"
                "socket=unix:///var/run/php.sock\n"
                "[ctlplugin:x]\n"
                "supervisor.ctl_factory = x\n");
        _cleanup_free_ char *text = NULL, *warnings = NULL;

        convert_ok(ini, &text, &warnings);
        assert_warning(warnings, ini, 4, "[inet_http_server]");
        assert_warning(warnings, ini, 7, "[eventlistener:crashmail] the event listener protocol "
                       "is not supported");
        assert_warning(warnings, ini, 13, "[program:app] unknown key 'autorestat', ignoring "
                       "(did you mean 'autorestart'?)");
        assert_false(has_warning(warnings, ini, 14, "umask")); /* native now */
        /* only stderr names a file: the one log follows it, and its rotation settings */
        assert_warning(warnings, ini, 15, "[program:app] stdout_logfile_maxbytes: ignored: upkeep "
                       "keeps one log per process, rotated by stderr_logfile_maxbytes");
        assert_warning(warnings, ini, 17, "[program:app] stderr_logfile: upkeep writes stdout and "
                       "stderr into one file, the one stderr_logfile names");
        assert_warning(warnings, ini, 18, "[program:app] unknown key 'depends_on'");
        /* a FastCGI program: its socket held by upkeepd, given as standard input */
        assert_false(has_warning(warnings, ini, 20, "fcgi-program"));
        assert_contains(text, "listen php {\n    address = \"unix:/var/run/php.sock\"\n}");
        assert_contains(text, "    stdin-socket = \"php\"\n}");
        assert_int_equal(count_lines(warnings), 6);
        assert_contains(text, "umask        = \"022\"");
        /* stderr_logfile alone gives the worker's log-file */
        assert_contains(text, "log-file     = \"/var/log/app.err\"");
        assert_contains(text, "max-size = 50M   # stderr_logfile_maxbytes, supervisord's default");
        conf_free(load_text(d, text));
}

/* Output: where it goes (log-dir) and how supervisord rotated it (a log section). */
static void test_logs(void **state) {
        Dir *d = *state;
        _cleanup_free_ char *ini = write_file(d, "supervisord.conf",
                "[program:file]\n"
                "command=/bin/file\n"
                "stdout_logfile=/var/log/x/%(program_name)s.log\n"
                "stdout_logfile_maxbytes=1KB\n"
                "stdout_logfile_backups=3\n"
                "[program:none]\n"
                "command=/bin/none\n"
                "stdout_logfile=NONE\n"
                "[program:err]\n"
                "command=/bin/err\n"
                "stdout_logfile=/dev/stderr\n"               /* line 11 */
                "[program:sys]\n"
                "command=/bin/sys\n"
                "stdout_logfile=syslog\n"                    /* line 14 */
                "[program:odd]\n"
                "command=/bin/odd\n"
                "stdout_logfile_maxbytes=100\n"              /* line 17 */
                "stdout_logfile_backups=5000\n"              /* line 18 */
                "redirect_stderr=true\n"
                "stderr_logfile=/var/log/odd.err\n"          /* line 20 */
                "stderr_logfile_maxbytes=1GB\n"
                "[program:pad]\n"
                "command=/bin/pad %(process_num)d\n"
                "process_name=pad_%(process_num)02d\n"
                "numprocs=2\n"
                "stdout_logfile=/var/log/pad-%(process_num)02d-100%%.log\n");
        _cleanup_free_ char *text = NULL, *warnings = NULL;
        const WorkerConfig *w;
        Config *c;

        convert_ok(ini, &text, &warnings);
        assert_warning(warnings, ini, 11, "[program:err] stdout_logfile: /dev/stderr: upkeep "
                       "writes it to its standard output");
        assert_warning(warnings, ini, 14, "[program:sys] stdout_logfile: syslog: upkeep writes "
                       "output to files only");
        assert_warning(warnings, ini, 17, "[program:odd] stdout_logfile_maxbytes: upkeep rotates "
                       "at 1K at least");
        assert_warning(warnings, ini, 18, "[program:odd] stdout_logfile_backups: upkeep keeps "
                       "1000 rotated files at most");
        assert_warning(warnings, ini, 20, "[program:odd] stderr_logfile: ignored because "
                       "redirect_stderr is true");
        assert_int_equal(count_lines(warnings), 5);

        c = load_ini(ini);
        w = conf_find_worker(c, "file");
        assert_string_equal(w->log_file, "/var/log/x/file.log");
        assert_int_equal(w->log.max_size, 1024);
        assert_int_equal(w->log.keep, 3);
        /* NONE: supervisord keeps nothing, upkeep keeps its defaults */
        w = conf_find_worker(c, "none");
        assert_string_equal(w->log_dir, c->log_dir);
        assert_int_equal(w->log.max_size, c->log.max_size);
        assert_string_equal(conf_find_worker(c, "err")->log_dir, "-");
        assert_string_equal(conf_find_worker(c, "sys")->log_dir, c->log_dir);
        w = conf_find_worker(c, "odd");
        assert_int_equal(w->log.max_size, 1024);
        assert_int_equal(w->log.keep, 1000);
        /* a padded process number in the path: a worker per process, each its file ('%' of
         * the path doubled for expand_instance) */
        assert_null(conf_find_worker(c, "pad"));
        assert_string_equal(conf_find_worker(c, "pad_00")->log_file, "/var/log/pad-00-100%%.log");
        assert_string_equal(conf_find_worker(c, "pad_01")->log_file, "/var/log/pad-01-100%%.log");
        conf_free(c);
}

/* [unix_http_server]: file, chmod and chown become socket, socket-mode and socket-group. */
static void test_socket(void **state) {
        Dir *d = *state;
        _cleanup_free_ char *ini = write_file(d, "supervisord.conf",
                "[unix_http_server]\n"
                "file=/run/supervisor.sock\n"
                "chmod=0770\n"
                "chown=:staff\n"
                "[program:a]\n"
                "command=/bin/a\n");
        _cleanup_free_ char *ini2 = write_file(d, "other.conf",
                "[unix_http_server]\n"
                "file=/run/supervisor.sock\n"
                "chmod=0070\n"                        /* line 3 */
                "chown=root\n"                        /* line 4 */
                "username=admin\n"                    /* line 5 */
                "password=secret\n");
        _cleanup_free_ char *text = NULL, *warnings = NULL;
        Config *c;

        convert_ok(ini, &text, &warnings);
        assert_int_equal(count_lines(warnings), 0);
        c = load_ini(ini);
        assert_string_equal(c->socket, "/run/supervisor.sock");
        assert_int_equal(c->socket_mode, 0770);
        assert_string_equal(c->socket_group, "staff");
        conf_free(c);
        free(text);
        free(warnings);

        convert_ok(ini2, &text, &warnings);
        assert_warning(warnings, ini2, 3, "[unix_http_server] chmod: upkeepd needs read and "
                       "write for itself, using 0670");
        assert_warning(warnings, ini2, 4, "[unix_http_server] chown: upkeepd owns its socket, "
                       "only a group can be given");
        assert_warning(warnings, ini2, 5, "[unix_http_server] username: upkeep's control socket "
                       "has no password");
        assert_int_equal(count_lines(warnings), 3);
        c = load_ini(ini2);
        assert_int_equal(c->socket_mode, 0670);
        assert_null(c->socket_group);
        assert_int_equal(c->n_workers, 0);
        conf_free(c);
}

/* A numbered value upkeep's %i cannot express: one worker per process, named like it. */
static void test_process_num(void **state) {
        Dir *d = *state;
        _cleanup_free_ char *ini = write_file(d, "supervisord.conf",
                "[program:web]\n"
                "command=/bin/web --port 80%(process_num)02d\n"
                "process_name=%(program_name)s_%(process_num)02d\n"
                "numprocs=3\n"
                "[program:q]\n"
                "command=/bin/q --id %(process_num)d\n"
                "process_name=q-%(process_num)d\n"
                "numprocs=2\n"
                "numprocs_start=1\n"
                "[program:plain]\n"
                "command=/bin/plain --id %(process_num)s\n"
                "process_name=%(process_num)d.plain\n"
                "numprocs=2\n");
        _cleanup_free_ char *text = NULL, *warnings = NULL;
        Config *c;

        convert_ok(ini, &text, &warnings);
        assert_int_equal(count_lines(warnings), 0);
        c = load_ini(ini);
        assert_int_equal(c->n_workers, 6);
        assert_string_equal(c->workers[0].name, "plain");
        assert_int_equal(c->workers[0].instances, 2);
        assert_string_equal(c->workers[0].argv[2], "%i");
        assert_string_equal(c->workers[1].name, "q-1");
        assert_string_equal(c->workers[1].argv[2], "1");
        assert_string_equal(c->workers[2].name, "q-2");
        assert_string_equal(c->workers[3].name, "web_00");
        assert_string_equal(c->workers[3].argv[2], "8000");
        assert_string_equal(c->workers[5].name, "web_02");
        assert_string_equal(c->workers[5].argv[2], "8002");
        assert_int_equal(c->workers[5].instances, 1);
        conf_free(c);
}

/* supervisord's line rules where inih and Python's configparser differ, and '%' handling. */
static void test_syntax(void **state) {
        Dir *d = *state;
        _cleanup_free_ char *ini = write_file(d, "supervisord.conf",
                "[program:indented]\n"
                "    command = /bin/ind --a\n"
                "        --b   ; deeper: continues the value\n"
                "    autostart : false\n"          /* same depth: a new key, not a value line */
                "    [program:next]\n"             /* and a header, not a value line */
                "    COMMAND=/bin/next 100%% a;b x#y\n"
                "[program:semi]\n"
                "command=/bin/sh -c 'echo a ; echo b'\n"); /* cut at " ;", as supervisord does */
        _cleanup_free_ char *text = NULL, *warnings = NULL;
        Config *c;

        assert_int_equal(svd_convert(ini, &text, &warnings), -EINVAL);
        assert_warning(warnings, ini, 8, "[program:semi] command: No closing quotation "
                       "(supervisord ends the line at ' ;' or ' #', inside quotes too)");
        free(warnings);
        warnings = NULL;

        free(ini);
        ini = write_file(d, "supervisord.conf",
                "[program:indented]\n"
                "    command = /bin/ind --a\n"
                "        --b   ; deeper: continues the value\n"
                "    autostart : false\n"
                "    [program:next]\n"
                "    COMMAND=/bin/next 100%% a;b x#y %%i\n"
                "[program:semi]\n"
                "command=/bin/sh -c \"echo a;\" \\\"b ;c\n");
        convert_ok(ini, &text, &warnings);
        assert_int_equal(count_lines(warnings), 0);
        c = load_ini(ini);
        assert_int_equal(c->n_workers, 3);
        assert_string_equal(c->workers[0].name, "indented");
        assert_int_equal(strv_length(c->workers[0].argv), 3);
        assert_string_equal(c->workers[0].argv[2], "--b");
        assert_false(c->workers[0].autostart);
        assert_string_equal(c->workers[1].name, "next");
        /* a literal % reaches the program whatever upkeep's %i substitution does */
        {
                _cleanup_free_ char *a1 = expand_instance(c->workers[1].argv[1], 0);
                _cleanup_free_ char *a4 = expand_instance(c->workers[1].argv[4], 7);

                assert_string_equal(a1, "100%");
                assert_string_equal(c->workers[1].argv[2], "a;b");
                assert_string_equal(c->workers[1].argv[3], "x#y");
                assert_string_equal(a4, "%i");
        }
        assert_string_equal(c->workers[2].argv[2], "echo a;");
        assert_string_equal(c->workers[2].argv[3], "\"b");
        assert_int_equal(strv_length(c->workers[2].argv), 4);
        conf_free(c);
}

/* Found by fuzz_supervisord: a process_name continued on the next line starts with a newline,
 * which supervisord strips and which the comment above each worker must not carry (the rest of
 * the name ended up on a line of its own, outside the comment). */
static void test_process_name_continued(void **state) {
        Dir *d = *state;
        _cleanup_free_ char *ini = write_file(d, "supervisord.conf",
                                              "[program:web]\n"
                                              "command=/bin/web %(process_num)d\n"
                                              "numprocs=2\n"
                                              "process_name=\n"
                                              "    %(program_name)s_%(process_num)02d\n");
        _cleanup_free_ char *text = NULL, *msg = NULL;
        Config *c;

        assert_int_equal(svd_convert(ini, &text, &msg), 0);
        assert_null(strstr(text, "process \n"));
        c = load_ini(ini);
        assert_true(c->n_workers >= 1);
        assert_int_not_equal(c->workers[0].name[0], '_'); /* not "_web_00" (newline made '_') */
        conf_free(c);

        /* a control character inside the name is refused, and not printed */
        free(ini);
        ini = write_file(d, "bad.conf", "[program:web]\ncommand=/bin/web\n"
                                        "process_name=a\x01b\n");
        free(text), text = NULL;
        free(msg), msg = NULL;
        assert_int_equal(svd_convert(ini, &text, &msg), -EINVAL);
        assert_warning(msg, ini, 3, "invalid name '(with control characters)'");
}

/*
 * [supervisord] directory and umask: supervisord enters the one and sets the other when it
 * daemonizes (nodaemon=false, the default), and a program without its own inherits them.
 */
static void test_daemonized(void **state) {
        Dir *d = *state;
        _cleanup_free_ char *ini = write_file(d, "supervisord.conf",
                "[supervisord]\n"
                "directory=%(here)s/run\n"
                "umask=0o27\n"
                "[program:plain]\n"
                "command=/bin/plain\n"
                "[program:own]\n"
                "command=/bin/own\n"
                "directory=/srv/own\n"
                "umask= 002\n"
                "[program:zero]\n"
                "command=/bin/zero\n"
                "umask=0\n");
        _cleanup_free_ char *text = NULL, *warnings = NULL, *want = NULL;
        const WorkerConfig *w;
        Config *c;

        convert_ok(ini, &text, &warnings);
        assert_string_equal(warnings, "");
        assert_true(asprintf(&want, "directory    = \"%s/run\"\n    umask        = \"027\"",
                             d->path) > 0);
        assert_contains(text, want);
        assert_contains(text, "directory    = \"/srv/own\"\n    umask        = \"002\"");
        c = load_text(d, text);
        w = conf_find_worker(c, "plain");
        assert_true(strncmp(w->directory, d->path, strlen(d->path)) == 0);
        assert_string_equal(w->directory + strlen(d->path), "/run");
        assert_int_equal(w->umask, 027);
        w = conf_find_worker(c, "own");
        assert_string_equal(w->directory, "/srv/own");
        assert_int_equal(w->umask, 002);
        /* umask=0 is a umask, not "none": the program does not fall back to [supervisord]'s */
        assert_int_equal(conf_find_worker(c, "zero")->umask, 0);
        conf_free(c);
}

/*
 * With nodaemon=true supervisord stays where it was started, with the umask it was started
 * with, and so do its programs: [supervisord] directory and umask are warnings, while a
 * program's own directory and umask still apply.
 */
static void test_nodaemon(void **state) {
        Dir *d = *state;
        _cleanup_free_ char *ini = write_file(d, "supervisord.conf",
                "[supervisord]\n"
                "nodaemon=true\n"
                "directory=/srv\n"             /* line 3 */
                "umask=077\n"                  /* line 4 */
                "[program:plain]\n"
                "command=/bin/plain\n"
                "[program:own]\n"
                "command=/bin/own\n"
                "umask=022\n");
        _cleanup_free_ char *text = NULL, *warnings = NULL;
        Config *c;

        convert_ok(ini, &text, &warnings);
        assert_warning(warnings, ini, 3, "[supervisord] directory: supervisord enters it only "
                       "when it daemonizes, not with nodaemon=true, ignoring");
        assert_warning(warnings, ini, 4, "[supervisord] umask: supervisord sets it only when it "
                       "daemonizes, not with nodaemon=true, ignoring");
        assert_int_equal(count_lines(warnings), 2);
        assert_not_contains(text, "directory");
        assert_not_contains(text, "\"077\"");
        c = load_text(d, text);
        assert_null(conf_find_worker(c, "plain")->directory);
        assert_int_equal(conf_find_worker(c, "plain")->umask, -1);
        assert_int_equal(conf_find_worker(c, "own")->umask, 022);
        conf_free(c);
}

static void test_errors(void **state) {
        static const struct {
                const char *text;
                unsigned line;
                const char *what;
        } cases[] = {
                { "[program:a]\nautostart=true\n", 1, "'command' is missing" },
                { "[program:a]\ncommand=java -Xloggc:%t\n", 2, "badly formatted '%'" },
                { "[program:a]\ncommand=/bin/a %(nope)s\n", 2, "cannot expand %(nope)" },
                { "[program:a]\ncommand=/bin/a\nnumprocs=2\n", 1,
                  "%(process_num) must be present" },
                { "[program:a]\ncommand=/bin/a\nautorestart=sometimes\n", 3, "expected true, false "
                  "or unexpected" },
                { "[program:a]\ncommand=/bin/a\nstopsignal=SIGNOPE\n", 3, "unknown signal" },
                { "[program:a]\ncommand=/bin/a\nexitcodes=0,256\n", 3, "invalid exit code" },
                { "[program:a]\ncommand=/bin/a\nstartsecs=soon\n", 3, "expected an integer" },
                { "[group:g]\nprograms=a,ghost\n[program:a]\ncommand=/bin/a\n", 2,
                  "names unknown program ghost" },
                { "command=/bin/a\n[program:a]\n", 1, "outside of any section" },
                { "[program:a]\ncommand=/bin/a\nthis is not ini\n", 3, "expected 'key = value'" },
                { "[program:a]\ncommand=/bin/a\nenvironment=A=x y z\n", 3,
                  "unexpected end of key/value pairs" },
                /* found by fuzz_supervisord: the second pair's name is "=" */
                { "[program:a]\ncommand=/bin/a\nenvironment=A=\"1,\"B==nobody\n", 3,
                  "pair 2 has no usable name" },
                { "[program:a b]\ncommand=/bin/a\n", 1, "invalid program name" },
                { "[supervisord]\numask=8\n[program:a]\ncommand=/bin/a\n", 2,
                  "[supervisord] umask: invalid value '8', expected an octal umask" },
                { "[supervisord]\numask=1000\n[program:a]\ncommand=/bin/a\n", 2,
                  "umask: invalid value '1000'" },
                /* nodaemon=true ignores the umask, but supervisord still refuses a bad one */
                { "[supervisord]\nnodaemon=true\numask=-22\n", 3, "umask: invalid value '-22'" },
                { "[program:a]\ncommand=/bin/a\numask=0o99\n", 3,
                  "[program:a] umask: invalid value '0o99'" },
                { "[program:a]\ncommand=/bin/a\numask=\n", 3, "umask: invalid value ''" },
                { "[supervisord]\ndirectory=\n[program:a]\ncommand=/bin/a\n", 2,
                  "[supervisord] directory: empty" },
                { "[program:a]\ncommand=/bin/a %(process_num)02d\nprocess_name=x_%(process_num)d\n"
                  "numprocs=2\n"
                  "[program:x_0]\ncommand=/bin/x\n", 5, "would be the worker 'x_0'" },
        };
        Dir *d = *state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *ini = write_file(d, "bad.conf", cases[i].text);
                _cleanup_free_ char *text = NULL, *msg = NULL, *errors = NULL;
                Config *c = NULL;

                assert_int_equal(svd_convert(ini, &text, &msg), -EINVAL);
                assert_null(text);
                assert_warning(msg, ini, cases[i].line, cases[i].what);
                assert_int_equal(count_lines(msg), 1);
                /* conf_load_file() reports the same, in its errors (for a file that does not start
                 * with a section, it does not know it is a supervisord.conf) */
                if (!svd_detect(ini))
                        continue;
                assert_int_equal(conf_load_file(ini, &c, NULL, &errors), -EINVAL);
                assert_warning(errors, ini, cases[i].line, cases[i].what);
        }
}

/*
 * conf_load_file() converts once and hands back the translation's warnings, the same as
 * svd_convert()'s; a native file has none.  The text variants agree with the file ones.
 */
static void test_load_file(void **state) {
        const Dir *d = *state;
        static const char ini_text[] = "[program:b]\ncommand=/bin/b\nstartretries=0\n";
        _cleanup_free_ char *ini = write_file(d, "supervisord.conf", ini_text);
        _cleanup_free_ char *native = write_file(d, "native.conf",
                                                 "worker w {\n  command = \"/bin/w\"\n}\n");
        _cleanup_free_ char *text = NULL, *warnings = NULL, *text2 = NULL, *warnings2 = NULL;
        _cleanup_free_ char *loaded = NULL, *errors = NULL;
        Config *c = NULL;

        convert_ok(ini, &text, &warnings);
        assert_int_equal(count_lines(warnings), 1);
        assert_true(svd_detect_text(ini_text, sizeof ini_text - 1));
        assert_int_equal(svd_convert_text(ini, ini_text, sizeof ini_text - 1, &text2, &warnings2),
                         0);
        assert_string_equal(text, text2);
        assert_string_equal(warnings, warnings2);

        assert_int_equal(conf_load_file(ini, &c, &loaded, &errors), 0);
        assert_string_equal(loaded, warnings);
        assert_int_equal(c->n_workers, 1);
        assert_string_equal(c->path, ini);
        conf_free(c);
        c = NULL;
        free(loaded);
        loaded = NULL;

        assert_false(svd_detect(native));
        assert_int_equal(conf_load_file(native, &c, &loaded, &errors), 0);
        assert_string_equal(loaded, "");
        assert_int_equal(c->n_workers, 1);
        conf_free(c);
}

/* supervisord's value syntax and %-expansion, on their own (svdvalue.h, svdexpand.h). */
static void expect_expand(const Expander *x, const char *in, const char *want) {
        _cleanup_free_ char *out = NULL;
        char err[256] = "";

        if (svd_expand(x, in, &out, err, sizeof err) < 0)
                fail_msg("svd_expand(%s): %s", in, err);
        assert_string_equal(out, want);
}

static void expect_expand_error(const Expander *x, const char *in, const char *what) {
        _cleanup_free_ char *out = NULL;
        char err[256] = "";

        assert_int_equal(svd_expand(x, in, &out, err, sizeof err), -EINVAL);
        assert_null(out);
        assert_contains(err, what);
}

static void test_values(void **state) {
        static char *const env[] = { (char *) "HOME=/h", NULL };
        Expander x = { .program_name = "web", .group_name = "g", .have_num = true,
                       .process_num = 7, .numprocs = 12, .env = env };
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *skipped = NULL;
        char err[256] = "";
        uint64_t sz;
        long n;
        bool b;

        (void) state;
        assert_int_equal(svd_parse_bool("Yes", &b), 0);
        assert_true(b);
        assert_int_equal(svd_parse_bool("off", &b), 0);
        assert_false(b);
        assert_int_equal(svd_parse_bool("maybe", &b), -EINVAL);
        assert_int_equal(svd_parse_long(" 42 ", &n), 0);
        assert_int_equal(n, 42);
        assert_int_equal(svd_parse_long("4 2", &n), -EINVAL);
        /* octal as Python's int(s, 8): blanks around, a "+", a "0o" */
        assert_int_equal(svd_parse_octal(" 022 ", &n), 0);
        assert_int_equal(n, 022);
        assert_int_equal(svd_parse_octal("+0o77", &n), 0);
        assert_int_equal(n, 077);
        assert_int_equal(svd_parse_octal("0O7", &n), 0);
        assert_int_equal(n, 07);
        assert_int_equal(svd_parse_octal("00022", &n), 0);
        assert_int_equal(n, 022);
        assert_int_equal(svd_parse_octal("", &n), -EINVAL);
        assert_int_equal(svd_parse_octal("8", &n), -EINVAL);
        assert_int_equal(svd_parse_octal("+-7", &n), -EINVAL);
        assert_int_equal(svd_parse_octal("0x7", &n), -EINVAL);
        assert_int_equal(svd_parse_octal("0 7", &n), -EINVAL);
        assert_int_equal(svd_parse_byte_size("50MB", &sz), 0);
        assert_int_equal(sz, 50ULL << 20);
        assert_int_equal(svd_parse_byte_size("1kb", &sz), 0);
        assert_int_equal(sz, 1024);
        assert_int_equal(svd_parse_byte_size("MB", &sz), -EINVAL);

        /* the word after a blank is a separator to supervisord: "y" is dropped */
        assert_int_equal(svd_parse_environment("A=\"1 2\",B=x y", &l, err, sizeof err,
                                               &skipped), 0);
        assert_int_equal(svd_parse_environment("C='z',A=3", &l, err, sizeof err, NULL), 0);
        assert_int_equal(strv_length(l), 3);
        assert_string_equal(l[0], "A=3");
        assert_string_equal(l[1], "B=x");
        assert_string_equal(l[2], "C=z");
        assert_string_equal(skipped, "B");
        assert_int_equal(svd_parse_environment("A=\"open", &l, err, sizeof err, NULL), -EINVAL);
        assert_contains(err, "no closing quotation");
        assert_int_equal(svd_parse_environment("A=1,==x", &l, err, sizeof err, NULL), -EINVAL);
        assert_contains(err, "pair 2 has no usable name");

        expect_expand(&x, "%(program_name)s-%(process_num)02d of %(numprocs)x", "web-07 of c");
        expect_expand(&x, "[%(group_name)-3s] %(ENV_HOME)s 100%%", "[g  ] /h 100%");
        expect_expand(&x, "%(process_num)5.3d|%(program_name).1s", "  007|w");
        x.marker = x.escape = true;
        expect_expand(&x, "run %(process_num)d at 5%% %(process_num)02d", "run %i at 5%% 07");
        x.marker = x.escape = false;
        expect_expand_error(&x, "50%", "badly formatted '%' at character 3");
        expect_expand_error(&x, "%(nope)s", "cannot expand %(nope): unknown name");
        expect_expand_error(&x, "%(program_name)d", "needs a number");
        expect_expand_error(&x, "%(process_num)q", "expected a conversion like s or d");
        x.have_num = false;
        expect_expand_error(&x, "%(process_num)d", "unknown name");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_detect, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_stack, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_give_up, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_include_glob, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_environment, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_process_name_continued, setup_dir,
                                                teardown_dir),
                cmocka_unit_test_setup_teardown(test_autorestart_exitcodes, setup_dir,
                                                teardown_dir),
                cmocka_unit_test_setup_teardown(test_warnings, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_listeners, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_logs, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_socket, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_process_num, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_syntax, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_daemonized, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_nodaemon, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_errors, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_load_file, setup_dir, teardown_dir),
                cmocka_unit_test(test_values),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
