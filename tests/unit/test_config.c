/*
 * Unit tests of the configuration (config/config.h): configuration files are written into a
 * private directory under /tmp and loaded with conf_load_file().  A valid file must give typed
 * values; an invalid one a message "<path>:<line>: ..." that names the key and says what was
 * expected.  Env-files are read with envfile_read() (envfile.h), whose errors never show a value.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conffile.h"
#include "config.h"
#include "envfile.h"
#include "macro.h"

static char tmpdir[] = "/tmp/upkeep-test-config-XXXXXX";
static char conf_path[PATH_MAX];
static char env_path[PATH_MAX];

static int group_setup(void **state) {
        (void) state;
        if (!mkdtemp(tmpdir))
                return -1;
        snprintf(conf_path, sizeof conf_path, "%s/upkeep.conf", tmpdir);
        snprintf(env_path, sizeof env_path, "%s/worker.env", tmpdir);
        return 0;
}

static int group_teardown(void **state) {
        (void) state;
        (void) unlink(conf_path);
        (void) unlink(env_path);
        return rmdir(tmpdir) < 0 ? -1 : 0;
}

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        assert_true(fputs(text, f) >= 0);
        assert_int_equal(fclose(f), 0);
}

/* Write `text` as the configuration file, load it and remove it again. */
static int load(const char *text, Config **ret, char **ret_errors) {
        int r;

        write_file(conf_path, text);
        r = conf_load_file(conf_path, ret, NULL, ret_errors);
        assert_int_equal(unlink(conf_path), 0);
        return r;
}

static bool near(double a, double b) {
        return fabs(a - b) < 1e-9;
}

static void assert_strv_equal(char **l, const char *const *want) {
        size_t n = 0;

        assert_non_null(l);
        while (want[n])
                n++;
        assert_int_equal(strv_length(l), n);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(l[i], want[i]);
        assert_null(l[n]);
}

static const char full_conf[] =
        "# every key of the brief, with values that differ from the defaults\n"
        "log-dir = \"/var/tmp/uk-logs\"\n"
        "socket = \"/var/tmp/uk.sock\"\n"
        "\n"
        "worker api {\n"
        "        command = \"/srv/api/server --name 'my api' --path=a\\\\ b \\\"q \\\\\\\"r\\\\\\\" "
        "s\\\" t\"\n"
        "        directory = \"/srv/api\"\n"
        "        umask = \"027\"\n"
        "        user = \"www-data\"\n"
        "        group = \"nogroup\"\n"
        "        environment = { \"A=1\", \"B=two words\", \"C=x=y\" }\n"
        "        env-file = \"/srv/api/.env\"\n"
        "        instances = 3\n"
        "        autostart = false\n"
        "        stop-signal = INT\n"
        "        stop-timeout = 1m30s\n"
        "        start-secs = 500ms\n"
        "        log-dir = \"/var/tmp/uk-api-logs\"\n"
        "        restart {\n"
        "                policy = on-failure\n"
        "                backoff = 250ms\n"
        "                factor = 1.5\n"
        "                max-delay = 1h\n"
        "                jitter = 25%\n"
        "                reset-after = 2h\n"
        "        }\n"
        "}\n"
        "\n"
        "worker queue-2.b_c {\n"
        "        command = 'sh -c \"echo started\"'\n"
        "        stop-signal = 9\n"
        "        stop-timeout = 0\n"
        "        restart {\n"
        "                policy = never\n"
        "                jitter = 0.05\n"
        "                backoff = 7\n"
        "                max-delay = 7\n"
        "                factor = 1\n"
        "        }\n"
        "}\n"
        "\n"
        "worker sig {\n"
        "        command = \"/bin/sig\"\n"
        "        stop-signal = SIGQUIT\n"
        "        restart {\n"
        "                policy = always\n"
        "                jitter = 0%\n"
        "        }\n"
        "}\n";

/* The names of the enumerations read back to their values; unknown names are refused. */
static void test_names(void **state) {
        (void) state;
        for (int i = 0; i < _RESTART_MAX; i++)
                assert_int_equal(restart_policy_from_string(restart_policy_to_string(i)), i);
        for (int i = 0; i < _DEGRADED_MAX; i++)
                assert_int_equal(degraded_policy_from_string(degraded_policy_to_string(i)), i);
        for (int i = 0; i < _SINK_MAX; i++)
                assert_int_equal(sink_type_from_string(sink_type_to_string(i)), i);
        assert_string_equal(restart_policy_to_string(RESTART_ON_FAILURE), "on-failure");
        assert_true(restart_policy_from_string("sometimes") < 0);
        assert_true(degraded_policy_from_string("Alert") < 0);
        assert_true(sink_type_from_string("") < 0);
        assert_string_equal(sink_type_to_string(_SINK_MAX), "unknown");
}

static void test_full_config(void **state) {
        static const char *const api_argv[] = {
                "/srv/api/server", "--name", "my api", "--path=a b", "q \"r\" s", "t", NULL,
        };
        static const char *const api_env[] = { "A=1", "B=two words", "C=x=y", NULL };
        static const char *const queue_argv[] = { "sh", "-c", "echo started", NULL };
        static const char *const none[] = { NULL };
        Config *c = NULL;
        char *errors = NULL;
        const WorkerConfig *w;

        (void) state;
        if (load(full_conf, &c, &errors) < 0) {
                print_error("%s", errors);
                free(errors);
                fail();
        }
        assert_null(errors);
        assert_non_null(c);
        assert_string_equal(c->path, conf_path);
        assert_string_equal(c->log_dir, "/var/tmp/uk-logs");
        assert_string_equal(c->socket, "/var/tmp/uk.sock");
        assert_int_equal(c->n_workers, 3);
        assert_null(conf_find_worker(c, "nope"));

        w = conf_find_worker(c, "api");
        assert_ptr_equal(w, &c->workers[0]);
        assert_string_equal(w->name, "api");
        assert_string_equal(w->command,
                            "/srv/api/server --name 'my api' --path=a\\ b \"q \\\"r\\\" s\" t");
        assert_strv_equal(w->argv, api_argv);
        assert_string_equal(w->directory, "/srv/api");
        assert_int_equal(w->umask, 027);
        assert_string_equal(w->user, "www-data");
        assert_string_equal(w->group, "nogroup");
        assert_strv_equal(w->environment, api_env);
        assert_string_equal(w->env_file, "/srv/api/.env");
        assert_int_equal(w->instances, 3);
        assert_false(w->autostart);
        assert_int_equal(w->stop_signal, SIGINT);
        assert_int_equal(w->stop_timeout, 90 * USEC_PER_SEC);
        assert_int_equal(w->start_secs, 500 * USEC_PER_MSEC);
        assert_string_equal(w->log_dir, "/var/tmp/uk-api-logs");
        assert_int_equal(w->policy, RESTART_ON_FAILURE);
        assert_int_equal(w->backoff.initial, 250 * USEC_PER_MSEC);
        assert_true(near(w->backoff.factor, 1.5));
        assert_int_equal(w->backoff.max_delay, USEC_PER_HOUR);
        assert_true(near(w->backoff.jitter, 0.25));
        assert_int_equal(w->backoff.reset_after, 2 * USEC_PER_HOUR);

        w = conf_find_worker(c, "queue-2.b_c");
        assert_ptr_equal(w, &c->workers[1]);
        assert_string_equal(w->command, "sh -c \"echo started\"");
        assert_strv_equal(w->argv, queue_argv);
        assert_strv_equal(w->environment, none);
        assert_int_equal(w->stop_signal, SIGKILL);
        assert_int_equal(w->stop_timeout, 0);
        assert_int_equal(w->policy, RESTART_NEVER);
        assert_true(near(w->backoff.jitter, 0.05));
        assert_int_equal(w->backoff.initial, 7 * USEC_PER_SEC);
        assert_int_equal(w->backoff.max_delay, 7 * USEC_PER_SEC);
        assert_true(near(w->backoff.factor, 1.0));
        /* no log-dir of its own: the global one */
        assert_string_equal(w->log_dir, "/var/tmp/uk-logs");

        w = conf_find_worker(c, "sig");
        assert_int_equal(w->stop_signal, SIGQUIT);
        assert_int_equal(w->policy, RESTART_ALWAYS);
        assert_true(near(w->backoff.jitter, 0.0));

        assert_null(conf_free(c));
}

/* A umask reads the same quoted or not, and 0 is a umask like any other (not "inherit"). */
static void test_umask(void **state) {
        static const struct {
                const char *value;
                int umask;
        } cases[] = {
                { "077", 077 }, { "\"0077\"", 077 }, { "0", 0 }, { "\"777\"", 0777 },
                { "'002'", 002 },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = NULL, *errors = NULL;
                Config *c = NULL;

                assert_true(asprintf(&text, "worker w {\n        command = \"/bin/true\"\n"
                                     "        umask = %s\n}\n", cases[i].value) > 0);
                if (load(text, &c, &errors) < 0) {
                        print_error("umask = %s: %s", cases[i].value, errors);
                        fail();
                }
                assert_int_equal(c->workers[0].umask, cases[i].umask);
                conf_free(c);
        }
}

/* after, type, ready, wait-timeout, ready-timeout, watchdog: what reaches the WorkerConfig. */
static void test_deps_and_ready(void **state) {
        _cleanup_free_ char *errors = NULL;
        const WorkerConfig *w;
        Config *c = NULL;

        (void) state;
        if (load("worker migrate { command = \"/bin/true\" type = oneshot }\n"
                 "worker redis { command = \"/bin/true\" ready = notify watchdog = 5s\n"
                 "               ready-timeout = 2s }\n"
                 "worker api { command = \"/bin/true\" ready = \"fd:3\" wait-timeout = 1m\n"
                 "             after = { \"migrate:completed\", \"redis:bind\" } }\n"
                 "worker web { command = \"/bin/true\" ready = \"log:^up ([0-9]+)$\"\n"
                 "             after = { \"api:started\" } }\n",
                 &c, &errors) < 0) {
                print_error("%s", errors);
                fail();
        }
        w = conf_find_worker(c, "migrate");
        assert_true(w->oneshot);
        assert_int_equal(w->ready, WREADY_AUTO);
        assert_int_equal(w->n_after, 0);
        assert_int_equal(w->ready_timeout, 60 * USEC_PER_SEC);
        w = conf_find_worker(c, "redis");
        assert_false(w->oneshot);
        assert_int_equal(w->ready, WREADY_NOTIFY);
        assert_int_equal(w->watchdog, 5 * USEC_PER_SEC);
        assert_int_equal(w->ready_timeout, 2 * USEC_PER_SEC);
        w = conf_find_worker(c, "api");
        assert_int_equal(w->ready, WREADY_FD);
        assert_int_equal(w->ready_fd, 3);
        assert_int_equal(w->wait_timeout, USEC_PER_MINUTE);
        assert_int_equal(w->n_after, 2);
        assert_string_equal(w->after[0].name, "migrate");
        assert_int_equal(w->after[0].cond, DEP_COMPLETED);
        assert_false(w->after[0].bind);
        assert_string_equal(w->after[1].name, "redis");
        assert_int_equal(w->after[1].cond, DEP_READY);
        assert_true(w->after[1].bind);
        assert_int_equal(w->after_line, 5);
        w = conf_find_worker(c, "web");
        assert_int_equal(w->ready, WREADY_LOG);
        assert_string_equal(w->ready_log, "^up ([0-9]+)$");
        assert_int_equal(w->after[0].cond, DEP_STARTED);
        conf_free(c);
}

static void test_defaults(void **state) {
        Config *c = NULL;
        char *errors = NULL;
        const WorkerConfig *w;

        (void) state;
        if (load("worker w {\n        command = \"/bin/true\"\n}\n", &c, &errors) < 0) {
                print_error("%s", errors);
                free(errors);
                fail();
        }
        assert_string_equal(c->log_dir, "/var/log/upkeep");
        assert_string_equal(c->socket, "/run/upkeep/upkeep.sock");
        assert_int_equal(c->n_workers, 1);

        w = &c->workers[0];
        assert_string_equal(w->name, "w");
        assert_string_equal(w->command, "/bin/true");
        assert_strv_equal(w->argv, (const char *const[]) { "/bin/true", NULL });
        assert_null(w->directory);
        assert_int_equal(w->umask, -1);
        assert_null(w->user);
        assert_null(w->group);
        assert_null(w->env_file);
        assert_strv_equal(w->environment, (const char *const[]) { NULL });
        assert_int_equal(w->instances, 1);
        assert_true(w->autostart);
        assert_int_equal(w->stop_signal, SIGTERM);
        assert_int_equal(w->stop_timeout, 10 * USEC_PER_SEC);
        assert_int_equal(w->start_secs, USEC_PER_SEC);
        assert_string_equal(w->log_dir, "/var/log/upkeep");
        assert_int_equal(w->policy, RESTART_ALWAYS);
        assert_int_equal(w->backoff.initial, USEC_PER_SEC);
        assert_true(near(w->backoff.factor, 2.0));
        assert_int_equal(w->backoff.max_delay, 5 * USEC_PER_MINUTE);
        assert_true(near(w->backoff.jitter, 0.1));
        assert_int_equal(w->backoff.reset_after, 10 * USEC_PER_MINUTE);

        conf_free(c);
}

static void test_empty_file(void **state) {
        Config *c = NULL;
        char *errors = NULL;

        (void) state;
        assert_int_equal(load("# nothing to run yet\n", &c, &errors), 0);
        assert_null(errors);
        assert_int_equal(c->n_workers, 0);
        assert_string_equal(c->log_dir, "/var/log/upkeep");
        conf_free(c);
}

/* The text is read into a buffer that grows: a file of several times its first size (64 KiB)
 * loads whole, its last worker included; a NUL byte makes it "not a text file". */
static void test_large_file(void **state) {
        _cleanup_free_ char *text = NULL;
        Config *c = NULL;
        char *errors = NULL;
        size_t n = 0, size = 400 * 1024;

        (void) state;
        text = malloc(size + 128);
        assert_non_null(text);
        while (n < size)
                n += (size_t) sprintf(text + n, "# %060zu\n", n);
        strcpy(text + n, "worker last { command = \"/bin/true\" }\n");
        assert_int_equal(load(text, &c, &errors), 0);
        assert_null(errors);
        assert_int_equal(c->n_workers, 1);
        assert_string_equal(c->workers[0].name, "last");
        conf_free(c);
        c = NULL;

        /* a NUL in the middle of the file, past the first buffer */
        write_file(conf_path, text);
        {
                FILE *f = fopen(conf_path, "r+e");
                assert_non_null(f);
                assert_int_equal(fseek(f, 200 * 1024, SEEK_SET), 0);
                assert_int_equal(fputc('\0', f), 0);
                assert_int_equal(fclose(f), 0);
        }
        assert_true(conf_load_file(conf_path, &c, NULL, &errors) < 0);
        assert_null(c);
        assert_non_null(errors);
        {
                char want[PATH_MAX + 64];
                unsigned line = 1;

                for (size_t i = 0; i < 200 * 1024; i++)
                        line += text[i] == '\n';
                snprintf(want, sizeof want, "%s:%u: NUL byte", conf_path, line);
                if (strncmp(errors, want, strlen(want)) != 0)
                        print_error("expected \"%s\", got: %s", want, errors);
                assert_int_equal(strncmp(errors, want, strlen(want)), 0);
        }
        free(errors);
        assert_int_equal(unlink(conf_path), 0);
}

/* A NUL byte is reported on its line, as the supervisord importer does. */
static void test_nul_byte(void **state) {
        static const char text[] = "worker a { command = \"/bin/true\" }\n\nworker b {\0 }\n";
        _cleanup_free_ char *errors = NULL;
        char want[PATH_MAX + 64];
        Config *c = NULL;
        FILE *f;

        (void) state;
        f = fopen(conf_path, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(text, 1, sizeof text - 1, f), sizeof text - 1);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(conf_load_file(conf_path, &c, NULL, &errors), -EINVAL);
        assert_int_equal(unlink(conf_path), 0);
        assert_null(c);
        assert_non_null(errors);
        snprintf(want, sizeof want, "%s:3: NUL byte", conf_path);
        assert_int_equal(strncmp(errors, want, strlen(want)), 0);
}

/* 107 bytes fit sun_path with its NUL: the longest socket path accepted. */
static void test_socket_path_limit(void **state) {
        char text[256];
        Config *c = NULL;
        char *errors = NULL;

        (void) state;
        snprintf(text, sizeof text, "socket = \"/tmp/%0102d\"\n", 0);
        assert_int_equal(load(text, &c, &errors), 0);
        assert_null(errors);
        assert_int_equal(strlen(c->socket), 107);
        conf_free(c);
}

static double cpu_seconds(void) {
        struct timespec ts;

        assert_int_equal(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts), 0);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* `count` one-line workers named w0, w1...; worker `dup` (if any) is named w0 again. */
static char *many_workers(size_t count, size_t dup) {
        size_t size = count * 48 + 64, n = 0;
        char *text = malloc(size);

        assert_non_null(text);
        n += (size_t) snprintf(text + n, size - n, "log-dir = \"/tmp\"\n");
        for (size_t i = 0; i < count; i++)
                n += (size_t) snprintf(text + n, size - n,
                                       "worker w%zu { command = \"/bin/true\" }\n",
                                       i == dup ? 0 : i);
        return text;
}

/*
 * Past CFG_MAX_WORKERS the file is refused before libconfuse parses it, naming the line of the
 * first worker too many; libconfuse alone took seconds for 25 000 (its duplicate-title check
 * walks every earlier section), here it must take a small fraction of one.
 */
static void test_too_many_workers(void **state) {
        _cleanup_free_ char *text = many_workers(25000, SIZE_MAX);
        _cleanup_free_ char *errors = NULL;
        char want[PATH_MAX + 64];
        Config *c = NULL;
        double t;

        (void) state;
        t = cpu_seconds();
        assert_int_equal(load(text, &c, &errors), -EINVAL);
        t = cpu_seconds() - t;
        assert_null(c);
        assert_non_null(errors);
        /* line 1 is log-dir: worker number CFG_MAX_WORKERS + 1 is on the line after that many */
        snprintf(want, sizeof want, "%s:%d: more than %d workers", conf_path, CFG_MAX_WORKERS + 2,
                 CFG_MAX_WORKERS);
        if (strncmp(errors, want, strlen(want)) != 0)
                print_error("expected \"%s\", got: %s", want, errors);
        assert_int_equal(strncmp(errors, want, strlen(want)), 0);
        if (t > 0.5)
                print_error("refusing 25000 workers took %.2fs of CPU\n", t);
        assert_true(t <= 0.5);
}

/* Names are checked in a hash set as sections close: a duplicate far down is still found. */
static void test_duplicate_among_many(void **state) {
        _cleanup_free_ char *text = many_workers(3000, 2999);
        _cleanup_free_ char *errors = NULL;
        char want[PATH_MAX + 160];
        Config *c = NULL;

        (void) state;
        assert_int_equal(load(text, &c, &errors), -EINVAL);
        assert_null(c);
        assert_non_null(errors);
        snprintf(want, sizeof want, "%s:3001: worker 'w0': the name is already used by the "
                 "worker ending at line 2", conf_path);
        if (strncmp(errors, want, strlen(want)) != 0)
                print_error("expected \"%s\", got: %s", want, errors);
        assert_int_equal(strncmp(errors, want, strlen(want)), 0);

        /* without the duplicate: every worker, in file order */
        free(text);
        text = many_workers(3000, SIZE_MAX);
        free(errors);
        errors = NULL;
        assert_int_equal(load(text, &c, &errors), 0);
        assert_int_equal(c->n_workers, 3000);
        for (size_t i = 0; i < 3000; i += 997) {
                char name[32];
                snprintf(name, sizeof name, "w%zu", i);
                assert_string_equal(c->workers[i].name, name);
        }
        conf_free(c);
}

static void test_missing_file(void **state) {
        _cleanup_free_ char *errors = NULL;
        char path[PATH_MAX + 16];
        Config *c = NULL;

        (void) state;
        snprintf(path, sizeof path, "%s/absent.conf", tmpdir);
        assert_int_equal(conf_load_file(path, &c, NULL, &errors), -ENOENT);
        assert_null(c);
        assert_non_null(errors);
        assert_int_equal(strncmp(errors, path, strlen(path)), 0);
        assert_non_null(strstr(errors, "cannot read"));
}

/* An invalid file and what its error message must say. */
typedef struct ErrorCase {
        const char *name;
        const char *text;
        unsigned line;       /* of the offending value, or of the end of its section */
        const char *key;
        const char *also[4]; /* more words the message must contain */
} ErrorCase;

#define X50 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define WORKER_START "worker a {\n        command = \"/bin/true\"\n"

static const ErrorCase error_cases[] = {
        { "unknown key", WORKER_START "        bogus = 1\n}\n", 3, "bogus",
          { "expected one of:", "command", "stop-timeout", "restart" } },
        { "unknown key at the top", "log-dir = \"/tmp\"\nfrobnicate = 3\n", 2, "frobnicate",
          { "expected one of:", "log-dir", "socket", "worker" } },
        { "unknown key in restart",
          WORKER_START "        restart {\n                policyy = never\n        }\n}\n", 4,
          "policyy", { "expected one of:", "policy", "reset-after" } },
        { "unknown section", "\nwidget a {\n        x = 1\n}\n", 2, "widget",
          { "expected one of:", "worker" } },
        { "unknown section in worker",
          WORKER_START "        restartt {\n                policy = never\n        }\n}\n", 3,
          "restartt", { "expected one of:", "restart" } },
        { "bad duration", WORKER_START "\n        stop-timeout = 10x\n}\n", 4, "stop-timeout",
          { "10x" } },
        { "duration with a fraction", WORKER_START "        start-secs = 1.5s\n}\n", 3,
          "start-secs", { "1.5s" } },
        { "negative duration", WORKER_START "        stop-timeout = -1s\n}\n", 3,
          "stop-timeout", { "-1s" } },
        { "out-of-range duration", WORKER_START "        stop-timeout = 2h\n}\n", 3,
          "stop-timeout", { "2h", "out of range", "1h00m" } },
        { "out-of-range max-delay",
          WORKER_START "        restart {\n                max-delay = 8d\n        }\n}\n", 4,
          "max-delay", { "8d", "out of range" } },
        { "bad signal", WORKER_START "        stop-signal = NOPE\n}\n", 3, "stop-signal",
          { "NOPE" } },
        { "signal 0", WORKER_START "        stop-signal = 0\n}\n", 3, "stop-signal", { "'0'" } },
        { "bad policy",
          WORKER_START "        restart {\n                policy = sometimes\n        }\n}\n", 4,
          "policy", { "sometimes", "always", "on-failure", "never" } },
        { "jitter over 100%",
          WORKER_START "        restart {\n                jitter = 150%\n        }\n}\n", 4,
          "jitter", { "150%" } },
        { "negative jitter",
          WORKER_START "        restart {\n                jitter = -1%\n        }\n}\n", 4,
          "jitter", { "-1%" } },
        { "instances 0", WORKER_START "        instances = 0\n}\n", 3, "instances",
          { "out of range" } },
        { "instances 1001", WORKER_START "        instances = 1001\n}\n", 3, "instances",
          { "out of range", "1000" } },
        { "factor 0.5",
          WORKER_START "        restart {\n                factor = 0.5\n        }\n}\n", 4,
          "factor", { "0.5", "out of range" } },
        { "unterminated single quote", "worker a {\n        command = \"sh -c 'echo\"\n}\n", 2,
          "command", { "unterminated single quote" } },
        { "unterminated double quote",
          "worker a {\n        command = 'sh -c \"echo'\n}\n", 2, "command",
          { "unterminated double quote" } },
        { "empty command", "worker a {\n        command = \"  \"\n}\n", 2, "command",
          { "empty command" } },
        { "bad environment entry",
          WORKER_START "        environment = { \"A=1\", \"nope\" }\n}\n", 3, "environment",
          { "entry 2", "NAME=value" } },
        { "umask not octal", WORKER_START "        umask = \"088\"\n}\n", 3, "umask",
          { "'088'", "octal", "022" } },
        { "umask over 0777", WORKER_START "        umask = \"1000\"\n}\n", 3, "umask",
          { "'1000'", "0777" } },
        { "umask of 5 digits", WORKER_START "        umask = \"00022\"\n}\n", 3, "umask",
          { "'00022'" } },
        { "empty umask", WORKER_START "        umask = \"\"\n}\n", 3, "umask", { "''" } },
        { "umask with a sign", WORKER_START "        umask = \"-22\"\n}\n", 3, "umask",
          { "'-22'" } },
        { "umask with a blank", WORKER_START "        umask = \" 022\"\n}\n", 3, "umask",
          { "' 022'" } },
        { "empty directory", WORKER_START "        directory = \"\"\n}\n", 3, "directory", { 0 } },
        /* the checks below need the whole section: libconfuse runs them at its closing brace */
        { "missing command", "worker a {\n        instances = 2\n\n}\n", 4, "command",
          { "worker 'a'", "missing" } },
        { "max-delay below backoff",
          WORKER_START "        restart {\n                backoff = 10s\n"
          "                max-delay = 5s\n        }\n}\n", 7, "max-delay",
          { "worker 'a'", "backoff" } },
        { "invalid worker name", "worker \"a b\" {\n        command = \"/bin/true\"\n}\n", 3,
          "worker", { "'a b'", "invalid name" } },
        { "worker name with a slash", "worker \"../x\" {\n        command = \"/bin/true\"\n}\n",
          3, "worker", { "'../x'", "invalid name" } },
        { "empty worker name", "worker \"\" {\n        command = \"/bin/true\"\n}\n", 3,
          "worker", { "invalid name" } },
        /* messages that libconfuse writes itself */
        { "duplicate worker names",
          WORKER_START "}\n\nworker a {\n        command = \"/bin/false\"\n}\n", 7, "worker",
          { "'a'", "already used", "line 3" } },
        { "duplicate notify names",
          "notify n {\n}\nnotify m {\n}\nnotify n {\n        queue = 5\n}\n", 7, "notify",
          { "'n'", "already used", "line 2" } },
        { "error after stashed sections",
          WORKER_START "}\nworker b { command = \"/bin/true\" }\nworker c {\n        bogus = 1\n}\n",
          6, "bogus", { 0 } },
        { "bad boolean", WORKER_START "        autostart = maybe\n}\n", 3, "autostart", { 0 } },
        { "bad integer", WORKER_START "        instances = many\n}\n", 3, "instances", { 0 } },
        { "bad number",
          WORKER_START "        restart {\n                factor = fast\n        }\n}\n", 4,
          "factor", { 0 } },
        { "worker without a name", "worker {\n        command = \"/bin/true\"\n}\n", 1, "worker",
          { 0 } },
        /* strtod() reads these; no real-valued key may take them (NaN compares false) */
        { "factor nan", WORKER_START "        restart {\n                factor = nan\n        }\n}\n", 4, "factor", { "nan" } },
        { "factor NAN", WORKER_START "        restart {\n                factor = NAN\n        }\n}\n", 4, "factor", { "nan" } },
        { "factor inf", WORKER_START "        restart {\n                factor = inf\n        }\n}\n", 4, "factor", { "inf" } },
        { "factor -inf", WORKER_START "        restart {\n                factor = -inf\n        }\n}\n", 4, "factor", { "-inf" } },
        { "factor infinity", WORKER_START "        restart {\n                factor = infinity\n        }\n}\n", 4, "factor",
          { "inf" } },
        { "jitter nan", WORKER_START "        restart {\n                jitter = nan\n        }\n}\n", 4, "jitter", { "nan" } },
        { "jitter inf", WORKER_START "        restart {\n                jitter = inf\n        }\n}\n", 4, "jitter", { "inf" } },
        { "jitter -inf", WORKER_START "        restart {\n                jitter = -inf\n        }\n}\n", 4, "jitter", { "-inf" } },
        /* names: "all" means every worker to upkeepctl; "." and ".." are not file names */
        { "worker named all", WORKER_START "}\nworker all {\n        command = \"/bin/true\"\n}\n",
          6, "worker 'all'", { "reserved" } },
        { "worker named .", "worker . {\n        command = \"/bin/true\"\n}\n", 3, "worker '.'",
          { "invalid name" } },
        { "worker named ..", "worker \"..\" {\n        command = \"/bin/true\"\n}\n", 3,
          "worker '..'", { "invalid name" } },
        /* a comment that never closes must not swallow the workers after it */
        { "unterminated comment",
          WORKER_START "}\n/* the next worker is\n   commented out\nworker b {\n"
          "        command = \"/bin/true\"\n}\n", 4, "comment", { "'*/'" } },
        { "unterminated comment after closed ones and quoted /*",
          "/* one */ # two\nlog-dir = \"/tmp/*/\"\nworker a { command = '/bin/echo /*' }\n\n"
          "/**/ /* x\n", 5, "comment", { "'/*'" } },
        /* upkeepd binds it at start: sun_path holds 107 bytes and the NUL */
        { "socket path too long",
          "log-dir = \"/tmp\"\nsocket = \"/tmp/" X50 X50 "xxx\"\n", 2, "socket",
          { "108 bytes", "107" } },
};

static void test_error(void **state) {
        const ErrorCase *t = *state;
        char *errors = NULL;
        char prefix[PATH_MAX + 32];
        const char *missing = NULL;
        Config *c = NULL;
        int r;

        r = load(t->text, &c, &errors);
        assert_int_equal(r, -EINVAL);
        /* the result is written only on success */
        assert_null(c);
        assert_non_null(errors);

        snprintf(prefix, sizeof prefix, "%s:%u: ", conf_path, t->line);
        if (strncmp(errors, prefix, strlen(prefix)) != 0)
                missing = prefix;
        else if (!strstr(errors, t->key))
                missing = t->key;
        else if (!strstr(errors, "expected"))
                missing = "expected";
        for (size_t i = 0; !missing && i < ELEMENTSOF(t->also) && t->also[i]; i++)
                if (!strstr(errors, t->also[i]))
                        missing = t->also[i];
        if (missing)
                print_error("%s: the message does not contain \"%s\":\n%s", t->name, missing,
                            errors);
        /* freed before fail(), which leaves by longjmp() past any cleanup attribute */
        free(errors);
        if (missing)
                fail();
}

static void test_env_file(void **state) {
        static const char *const want[] = {
                "PRE=0", "KEY=VALUE", "EXPORTED=1", "DQ=hello world", "SQ=it is", "EMPTY=",
                "EQ=a=b", "INDENTED=2", "CRLF=3", "HALF=\"abc'", "Q1=\"", "_X9=x y ",
                "TAB=\tz", NULL,
        };
        char **env = calloc(2, sizeof(char *));
        char err[256] = "";

        (void) state;
        assert_non_null(env);
        env[0] = strdup("PRE=0");
        write_file(env_path,
                   "# a comment\n"
                   "KEY=VALUE\n"
                   "\n"
                   "export EXPORTED=1\n"
                   "DQ=\"hello world\"\n"
                   "SQ='it is'\n"
                   "   # an indented comment\n"
                   "EMPTY=\n"
                   "EQ=a=b\n"
                   "\t  INDENTED=2\n"
                   "CRLF=3\r\n"
                   "HALF=\"abc'\n"
                   "Q1=\"\n"
                   "   \t \n"
                   "_X9=x y \n"
                   "TAB=\tz");
        assert_int_equal(envfile_read(env_path, &env, err, sizeof err), 0);
        assert_string_equal(err, "");
        assert_strv_equal(env, want);
        strv_free(env);
        assert_int_equal(unlink(env_path), 0);
}

static void test_env_file_starts_empty(void **state) {
        char **env = NULL;
        char err[256];

        (void) state;
        write_file(env_path, "A=1\n");
        assert_int_equal(envfile_read(env_path, &env, err, sizeof err), 0);
        assert_strv_equal(env, (const char *const[]) { "A=1", NULL });
        strv_free(env);

        /* nothing but comments: nothing appended, and nothing allocated */
        env = NULL;
        write_file(env_path, "# only a comment\n\n");
        assert_int_equal(envfile_read(env_path, &env, err, sizeof err), 0);
        assert_null(env);
        assert_int_equal(unlink(env_path), 0);
}

static void test_env_file_errors_hide_values(void **state) {
        static const struct {
                const char *text;
                unsigned line;
                const char *what;
        } cases[] = {
                { "# token\nGOOD=1\n\nthis line holds hunter2\n", 4, "expected NAME=value" },
                { "API-KEY=hunter2\n", 1, "invalid variable name" },
                { "API_KEY = hunter2\n", 1, "invalid variable name" },
                { "A=1\n=hunter2\n", 2, "expected NAME=value" },
                { "export hunter2\n", 1, "expected NAME=value" },
                { "\n\n\n\"TOKEN\"=hunter2\n", 4, "invalid variable name" },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char **env = NULL;
                char err[512] = "", prefix[PATH_MAX + 32];

                write_file(env_path, cases[i].text);
                assert_int_equal(envfile_read(env_path, &env, err, sizeof err), -EINVAL);
                snprintf(prefix, sizeof prefix, "%s:%u: ", env_path, cases[i].line);
                if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, cases[i].what) ||
                    !strstr(err, "expected") || strstr(err, "hunter2")) {
                        print_error("env-file line %u: \"%s\"\n", cases[i].line, err);
                        fail();
                }
                /* what was read before the bad line is still a valid list for the caller */
                assert_true(strv_length(env) <= 1);
                strv_free(env);
        }
        assert_int_equal(unlink(env_path), 0);
}

static void test_env_file_small_buffer(void **state) {
        char **env = NULL;
        char err[8];

        (void) state;
        write_file(env_path, "hunter2\n");
        memset(err, 'x', sizeof err);
        assert_int_equal(envfile_read(env_path, &env, err, sizeof err), -EINVAL);
        assert_int_equal(strnlen(err, sizeof err), sizeof err - 1);
        assert_int_equal(strncmp(err, env_path, sizeof err - 1), 0);
        strv_free(env);
        assert_int_equal(unlink(env_path), 0);
}

static void test_env_file_missing(void **state) {
        char **env = NULL;
        char err[PATH_MAX + 64];

        (void) state;
        assert_int_equal(envfile_read(env_path, &env, err, sizeof err), -ENOENT);
        assert_int_equal(strncmp(err, env_path, strlen(env_path)), 0);
        assert_non_null(strstr(err, "cannot read"));
        assert_null(env);
}

int main(void) {
        static const struct CMUnitTest fixed[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_full_config),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_umask),
                cmocka_unit_test(test_deps_and_ready),
                cmocka_unit_test(test_empty_file),
                cmocka_unit_test(test_missing_file),
                cmocka_unit_test(test_large_file),
                cmocka_unit_test(test_nul_byte),
                cmocka_unit_test(test_socket_path_limit),
                cmocka_unit_test(test_too_many_workers),
                cmocka_unit_test(test_duplicate_among_many),
                cmocka_unit_test(test_env_file),
                cmocka_unit_test(test_env_file_starts_empty),
                cmocka_unit_test(test_env_file_errors_hide_values),
                cmocka_unit_test(test_env_file_small_buffer),
                cmocka_unit_test(test_env_file_missing),
        };
        struct CMUnitTest tests[ELEMENTSOF(fixed) + ELEMENTSOF(error_cases)];

        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                tests[i] = fixed[i];
        for (size_t i = 0; i < ELEMENTSOF(error_cases); i++)
                tests[ELEMENTSOF(fixed) + i] = (struct CMUnitTest) {
                        .name = error_cases[i].name,
                        .test_func = test_error,
                        .initial_state = (void *) &error_cases[i],
                };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
