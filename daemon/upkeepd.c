/*
 * upkeepd: command line, signals and the one event loop.  Everything else is an event source
 * owned by a part: the supervisor's children and timers, the control socket, output pipes.
 *
 * Exit codes: 0 after a requested stop, 1 on a runtime failure (for example the socket is
 * taken), 2 on a usage or configuration error; when a required worker ends for good, its exit
 * code (or 128 + its signal).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "alerts.h"
#include "cglimits.h"
#include "cgroup.h"
#include "exporter.h"
#include "conffile.h"
#include "config.h"
#include "control.h"
#include "curl-dl.h"
#include "deps.h"
#include "log.h"
#include "output.h"
#include "notify.h"
#include "proctree.h"
#include "proto.h"
#include "reload.h"
#include "rolling.h"
#include "sockets.h"
#include "statefile.h"
#include "supervisor.h"
#include "supervisord.h"

static Supervisor *sup;
static StateFile *state;
static Alerts *alerts;
static Exporter *exporter;
static Deps *deps;
static bool sockets_pending; /* an address was in use at start: bound after the recovery */

static void usage(FILE *f) {
        fprintf(f,
                "usage: upkeepd [-c FILE] [-s SOCKET] [-v]\n"
                "       upkeepd --check-config [-c FILE]\n"
                "       upkeepd --convert FILE\n"
                "\n"
                "  -c, --config FILE     configuration file (default " DEFAULT_CONFIG ")\n"
                "  -s, --socket PATH     control socket, overrides 'socket =' in the file\n"
                "  -n, --check-config    check the configuration and exit: 0 valid, 2 invalid\n"
                "      --convert FILE    print a supervisord.conf as native configuration, and\n"
                "                        what it leaves out on stderr; exit 0, or 2 on error\n"
                "  -v, --verbose         log debug messages too\n"
                "  -V, --version         print the version\n");
}

static int on_stop_signal(sd_event_source *src, const struct signalfd_siginfo *si, void *u) {
        (void) src, (void) u;
        if (sup_shutting_down(sup)) {
                log_notice("got SIG%s again, killing every worker now",
                           si->ssi_signo == SIGINT ? "INT" : "TERM");
                sup_kill_all(sup);
                return 0;
        }
        log_notice("got SIG%s, stopping", si->ssi_signo == SIGINT ? "INT" : "TERM");
        sup_shutdown(sup);
        return 0;
}

static int on_sigchld(sd_event_source *src, const struct signalfd_siginfo *si, void *u) {
        (void) src, (void) si, (void) u;
        sup_reap_children(sup);
        return 0;
}

static int on_sighup(sd_event_source *src, const struct signalfd_siginfo *si, void *u) {
        _cleanup_free_ char *errors = NULL;
        ReloadSummary sum;

        (void) src, (void) si, (void) u;
        if (sup_shutting_down(sup))
                return 0;
        if (sup_reload_file(sup, &sum, &errors) >= 0)
                reload_summary_done(&sum);
        return 0;
}

/* Many workers mean many pipes and pidfds: use all the descriptors we are allowed. */
static void raise_nofile(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

/*
 * The kernel grows a process's descriptor table by doubling it, and once threads share the
 * table (the log writer's, the compressor's) each growth waits for an RCU grace period, about
 * 10 ms, with the loop stopped in the middle of the first spawns (at descriptors 256 and 512
 * for a hundred workers).  Grown now, while upkeepd is a single thread, it waits for nothing:
 * room for every instance the configuration names (its output pipes, pidfd, log file and log
 * directory, the pipes of its spawn, and its main process's /proc/PID/stat and children file
 * once walked or sampled), within RLIMIT_NOFILE.  A reload that adds workers grows the table
 * as before.
 */
#define FDS_PER_INSTANCE 10
#define FDS_BESIDE_INSTANCES 64

static void reserve_descriptors(sd_event *e, const Config *c) {
        struct rlimit rl;
        size_t want = FDS_BESIDE_INSTANCES;
        int fd;

        for (size_t i = 0; i < c->n_workers; i++)
                want += (size_t) (c->workers[i].instances + c->workers[i].rolling.surge) *
                        FDS_PER_INSTANCE;
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == 0)
                return;
        if (rl.rlim_cur != RLIM_INFINITY && want >= rl.rlim_cur)
                want = rl.rlim_cur - 1;
        if (want > INT_MAX)
                want = INT_MAX;
        /* the lowest free descriptor at or above want: the table grows to hold it */
        fd = fcntl(sd_event_get_fd(e), F_DUPFD_CLOEXEC, (int) want);
        if (fd >= 0)
                (void) close(fd);
}

/*
 * What the translation of a supervisord.conf leaves out is said here, once per start: as log
 * lines, or as plain "file:line: ..." lines for --check-config.
 */
static void import_warnings(char *warnings, bool plain) {
        char *line, *next;

        for (line = warnings; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                else
                        next = line + strlen(line);
                if (plain)
                        fprintf(stderr, "%s\n", line);
                else
                        log_warning("%s", line);
        }
}

/* upkeepd --convert FILE: the native text on stdout, the warnings or the error on stderr. */
static int convert(const char *path) {
        _cleanup_free_ char *text = NULL, *warnings = NULL;

        if (svd_convert(path, &text, &warnings) < 0) {
                fputs(warnings ?: "out of memory\n", stderr);
                return 2;
        }
        fputs(warnings, stderr);
        fputs(text, stdout);
        return fflush(stdout) == 0 ? 0 : 1;
}

typedef struct Options {
        const char *config_path, *socket_path, *convert_path;
        bool check_only;
} Options;

#define GO_ON (-1) /* not an exit code: carry on */

static int parse_options(int argc, char **argv, Options *o) {
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "socket", required_argument, NULL, 's' },
                { "check-config", no_argument, NULL, 'n' },
                { "convert", required_argument, NULL, 'C' },
                { "verbose", no_argument, NULL, 'v' },
                { "version", no_argument, NULL, 'V' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        *o = (Options) { .config_path = DEFAULT_CONFIG };
        while ((c = getopt_long(argc, argv, "c:s:nvVh", opts, NULL)) >= 0)
                switch (c) {
                case 'c': o->config_path = optarg; break;
                case 's': o->socket_path = optarg; break;
                case 'n': o->check_only = true; break;
                case 'C': o->convert_path = optarg; break;
                case 'v': log_set_max_level(LOG_DEBUG); break;
                case 'V': printf("upkeepd %s\n", UPKEEP_VERSION); return 0;
                case 'h': usage(stdout); return 0;
                default: usage(stderr); return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "upkeepd: unexpected argument '%s'\n", argv[optind]);
                usage(stderr);
                return 2;
        }
        return GO_ON;
}

/*
 * Block the signals read from the loop before anything else: as PID 1 a signal that arrives
 * unblocked and unhandled is discarded by the kernel, while a blocked one stays pending until
 * the loop's signalfd reads it.  None can be lost or run a handler in the middle of something.
 */
static void block_signals(void) {
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGUSR1);
        sigprocmask(SIG_BLOCK, &mask, NULL);
}

/* --check-config: an address another process holds is an error now, not at the next start. */
static int check_sockets(const Config *c) {
        char err[512];
        int r = sockets_check(c, err, sizeof err);

        if (r < 0)
                fprintf(stderr, "%s: %s\n", c->path, err);
        return r;
}

/*
 * cpu-limit where no cpu controller can be had (cgroup v1, a hybrid host, cgroups turned off):
 * said here, at start and after a reload (tree_warn_limits()), never an error.
 */
static void check_limits(const Config *c) {
        if (cglimits_offered() & CGROUP_CPU)
                return;
        for (size_t k = 0; k < c->n_workers; k++)
                if (c->workers[k].cpu_limit > 0)
                        fprintf(stderr, "%s: worker '%s': " TREE_CPU_LIMIT_UNENFORCED "\n",
                                c->path, c->workers[k].name);
}

/* The configuration to run, or the answer to --check-config. */
static int load(const Options *o, Config **ret) {
        _cleanup_free_ char *errors = NULL, *warnings = NULL;
        Config *config = NULL;

        if (conf_load_file(o->config_path, &config, &warnings, &errors) < 0) {
                fputs(errors ?: "invalid configuration\n", stderr);
                return 2;
        }
        import_warnings(warnings, o->check_only);
        if (o->check_only && check_sockets(config) < 0) {
                conf_free(config);
                return 2;
        }
        if (o->check_only) {
                check_limits(config);
                printf("%s: configuration OK, %zu worker%s\n", o->config_path, config->n_workers,
                       config->n_workers == 1 ? "" : "s");
                conf_free(config);
                return 0;
        }
        *ret = config;
        return GO_ON;
}

static int watch_signals(sd_event *e) {
        if (sd_event_add_signal(e, NULL, SIGTERM, on_stop_signal, NULL) < 0 ||
            sd_event_add_signal(e, NULL, SIGINT, on_stop_signal, NULL) < 0 ||
            sd_event_add_signal(e, NULL, SIGHUP, on_sighup, NULL) < 0 ||
            sd_event_add_signal(e, NULL, SIGCHLD, on_sigchld, NULL) < 0) {
                log_error("cannot watch signals");
                return -EINVAL;
        }
        return 0;
}

/*
 * Who watches the supervisor, in this order: the state file (it hurries the recovery when
 * stopping begins, before sd_notify says STOPPING), sd_notify, alerts, then the metrics
 * exporter (textfile and HTTP listener), which reads them all.
 */
static int observe(Supervisor *s, const char *socket_path) {
        const Config *c = sup_config(s);
        _cleanup_free_ char *path = NULL;
        int r;

        path = c->state_file ? strdup(c->state_file)
                             : statefile_default_path(socket_path ?: c->socket);
        if (!path)
                return -ENOMEM;
        r = deps_new(s, &deps); /* the gate, before anything starts */
        if (r < 0)
                return r;
        r = statefile_new(s, path, &state);
        if (r < 0)
                return r;
        r = notify_observe(s);
        if (r < 0)
                return r;
        r = roll_setup(s, alerts);
        if (r < 0)
                return r;
        r = alerts_observe(alerts);
        if (r < 0)
                return r;
        return exporter_new(s, alerts, &exporter);
}

/* The held sockets not bound at start (in use), then every autostart worker. */
static void start_workers(Supervisor *s) {
        char err[512];

        if (sockets_pending) {
                sockets_pending = false;
                if (sockets_open(sup_config(s), err, sizeof err) < 0) {
                        log_error("%s", err);
                        sup_set_failed(s);
                        sup_shutdown(s);
                        return;
                }
        }
        sup_start_all(s);
}

/* Everything up to the loop, which ends when the last worker is down; < 0 on a failure. */
static int start(sd_event *e, Config *config, const Options *o, Control **control) {
        int r;

        r = sup_new(e, config, &sup); /* it owns the configuration now, and replaces it on reload */
        if (r < 0) {
                log_error("cannot set up workers: %s", strerror(-r));
                return r;
        }
        /* the log writer thread starts with every signal blocked, then owns SIGUSR1 (reopen) */
        r = output_init(e, sup_config(sup));
        if (r < 0) {
                log_error("cannot start the log writer: %s", strerror(-r));
                return r;
        }
        r = watch_signals(e);
        if (r < 0)
                return r;
        /* the destinations only: alerts observe the supervisor from observe() on */
        r = alerts_new(sup, sup_config(sup), sup_http(sup), &alerts);
        if (r < 0) {
                log_error("cannot set up alerts and the state file: %s", strerror(-r));
                return r;
        }
        /* the socket lock first: only the upkeepd that owns it may touch a previous run's
         * processes */
        r = control_new(e, sup, alerts, o->socket_path ?: sup_config(sup)->socket, control);
        if (r < 0)
                return r;
        r = observe(sup, o->socket_path);
        if (r < 0) {
                log_error("cannot set up alerts and the state file: %s", strerror(-r));
                return r;
        }
        log_info("upkeepd %s started with %s, %zu worker%s, pid %d", UPKEEP_VERSION,
                 o->config_path, sup_config(sup)->n_workers,
                 sup_config(sup)->n_workers == 1 ? "" : "s", (int) getpid());
        tree_log_mode(sup_tree(sup));
        tree_warn_limits(sup_tree(sup), sup_config(sup));
        r = statefile_recover(state, start_workers);
        if (r < 0) {
                log_error("cannot read the state of a previous run: %s", strerror(-r));
                return r;
        }
        /* what parsing the configuration allocated and freed: back to the kernel (glibc) */
        (void) malloc_trim(0);
        return 0;
}

int main(int argc, char **argv) {
        Config *config = NULL;
        Control *control = NULL;
        sd_event *e = NULL;
        Options o;
        char err[512];
        int r, exit_code;

        r = parse_options(argc, argv, &o);
        if (r != GO_ON)
                return r;
        if (o.convert_path)
                return convert(o.convert_path);
        if (!o.check_only)
                block_signals();
        r = load(&o, &config);
        if (r != GO_ON)
                return r;

        signal(SIGPIPE, SIG_IGN);
        (void) prctl(PR_SET_CHILD_SUBREAPER, 1);
        raise_nofile();
        r = sd_event_default(&e);
        if (r < 0) {
                log_error("cannot create the event loop: %s", strerror(-r));
                return 1;
        }
        reserve_descriptors(e, config); /* before start() makes the first thread */
        /* bound before any worker runs, with upkeepd's own rights (a port below 1024) */
        r = sockets_open(config, err, sizeof err);
        if (r == -EADDRINUSE) {
                /* maybe by workers a killed upkeepd left: tried again once they are stopped */
                log_notice("%s: trying again once what a previous upkeepd left is stopped", err);
                sockets_pending = true;
        } else if (r < 0) {
                log_error("%s", err);
                conf_free(config);
                sd_event_unref(e);
                return 1;
        }
        if (start(e, config, &o, &control) < 0) {
                /* the cgroups it made go; nothing else outlives the process */
                tree_leave(sup ? sup_tree(sup) : NULL);
                return 1;
        }
        r = sd_event_loop(e);
        output_drain_all();
        log_info("all workers stopped, exiting");

        exit_code = r < 0 ? 1 : sup_exit_code(sup);
        (void) statefile_save(state); /* no processes left; operator stops are kept */
        control = control_free(control, true);
        state = statefile_free(state);
        exporter = exporter_free(exporter);
        roll_teardown();
        alerts = alerts_free(alerts); /* before the configuration its destinations point into */
        deps = deps_free(deps);
        sup = sup_free(sup);
        sockets_close_all();
        output_done();
        curl_dl_unload();
        sd_event_unref(e);
        return exit_code;
}
