/*
 * upkeepctl: asks upkeepd questions over its control socket and prints the answers, as a table
 * for people or as the daemon's JSON for programs.
 *
 * Exit codes follow supervisorctl's: 0 success (for status: every instance shown is RUNNING),
 * 1 a command failed for some instance (for health: something is not RUNNING and healthy; for
 * reload: the new file is invalid), 2 usage error, 3 some instance is not RUNNING, 4 the daemon
 * is unreachable or the name is unknown.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "ctlexit.h"
#include "ctllogs.h"
#include "macro.h"
#include "memjudge.h"
#include "parse.h"
#include "proto.h"

#define ANSWER_TIMEOUT (30 * USEC_PER_SEC)

static void usage(FILE *f) {
        fprintf(f, "usage: upkeepctl [-s SOCKET] status [NAME] [--json]\n"
                   "       upkeepctl [-s SOCKET] start|stop|restart NAME|all [--json]\n"
                   "       upkeepctl [-s SOCKET] restart NAME --all-at-once|--continue|--abort\n"
                   "       upkeepctl [-s SOCKET] reload-worker NAME|all [--json]\n"
                   "       upkeepctl [-s SOCKET] reload [--json]\n"
                   "       upkeepctl [-s SOCKET] health [--json]\n"
                   "       upkeepctl [-s SOCKET] alerts [--json]\n"
                   "       upkeepctl [-s SOCKET] alerts test SINK\n"
                   "       upkeepctl [-s SOCKET] metrics [--json]\n"
                   "       upkeepctl [-s SOCKET] logs NAME [-n N] [-f]\n"
                   "       upkeepctl [-s SOCKET] logs --reopen\n"
                   "\n"
                   "  -s, --socket PATH   control socket (default $UPKEEP_SOCKET or "
                   DEFAULT_SOCKET ")\n"
                   "  -j, --json          print the daemon's answer: one line of JSON\n");
}

/* A connected stream socket to upkeepd, or a negative errno. */
static int connect_socket(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path));
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return negative_errno();
        return TAKE_FD(fd);
}

/* The request as one line, newline included, in a single send(). */
static int send_request(int fd, json_t *req) {
        _cleanup_free_ char *line = json_dumps(req, JSON_COMPACT);
        size_t l;

        if (!line)
                return -ENOMEM;
        l = strlen(line);
        line[l] = '\n'; /* over the NUL: send() is given the length */
        if (send(fd, line, l + 1, MSG_NOSIGNAL) != (ssize_t) (l + 1))
                return -EIO;
        return 0;
}

/* Room for at least 64 KiB more in *buf (grown by 256 KiB at a time). */
static int reserve(char **buf, size_t len, size_t *cap) {
        char *nb;

        if (*cap - len >= 65536)
                return 0;
        nb = realloc(*buf, *cap + 65536 * 4);
        if (!nb)
                return -ENOMEM;
        *buf = nb;
        *cap += 65536 * 4;
        return 0;
}

/* Read until the first newline or the deadline; the line is returned NUL-terminated. */
static int receive_answer(int fd, usec_t deadline, char **ret, size_t *ret_len) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                usec_t t = clock_mono_usec();
                ssize_t n;
                char *nl;

                if (t >= deadline)
                        return -ETIMEDOUT;
                /* rounded up: a wait of less than 1 ms must not become poll(0), a busy loop */
                if (poll(&p, 1, (int) ((deadline - t + USEC_PER_MSEC - 1) / USEC_PER_MSEC)) < 0 &&
                    errno != EINTR)
                        return negative_errno();
                if (reserve(&buf, len, &cap) < 0)
                        return -ENOMEM;
                n = recv(fd, buf + len, cap - len - 1, MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                if (n <= 0)
                        return -ECONNRESET;
                nl = memchr(buf + len, '\n', (size_t) n); /* the bytes before had none */
                len += (size_t) n;
                if (nl) {
                        *nl = '\0';
                        *ret_len = (size_t) (nl - buf);
                        *ret = TAKE_PTR(buf);
                        return 0;
                }
                if (len > PROTO_MAX_ANSWER)
                        return -EMSGSIZE;
        }
}

/* Send one request line and wait, with a deadline, for one answer line: returned without its
 * newline, NUL-terminated. */
static int roundtrip_line(const char *path, json_t *req, char **ret, size_t *ret_len) {
        usec_t deadline = clock_mono_usec() + ANSWER_TIMEOUT;
        _cleanup_close_ int fd = connect_socket(path);
        int r;

        if (fd < 0)
                return fd;
        r = send_request(fd, req);
        if (r < 0)
                return r;
        return receive_answer(fd, deadline, ret, ret_len);
}

static int roundtrip(const char *path, json_t *req, json_t **ret) {
        _cleanup_free_ char *line = NULL;
        json_error_t jerr;
        size_t len;
        int r = roundtrip_line(path, req, &line, &len);

        if (r < 0)
                return r;
        *ret = json_loadb(line, len, 0, &jerr);
        return *ret ? 0 : -EBADMSG;
}

static const char *fmt_secs(char *buf, size_t len, json_t *v) {
        if (!json_is_number(v))
                return "-";
        return format_duration(buf, len, seconds_to_usec(json_number_value(v)));
}

static void describe_exit(json_t *last, char *buf, size_t len) {
        json_t *code = json_object_get(last, "code"), *sig = json_object_get(last, "signal");

        if (json_is_integer(code))
                snprintf(buf, len, "code %lld", (long long) json_integer_value(code));
        else if (json_is_true(json_object_get(last, "oom")))
                snprintf(buf, len, "oom"); /* the kernel's OOM killer, not an operator's KILL */
        else if (json_is_string(sig))
                /* as signal_label() writes it: "SIGTERM", "SIGRTMIN+3", "signal 16" */
                snprintf(buf, len, "%s%s", isdigit((unsigned char) *json_string_value(sig))
                                                   ? "signal " : "SIG", json_string_value(sig));
        else
                snprintf(buf, len, "-");
}

/* The NAME column: as wide as the longest instance name, at least 12. */
static int name_width(json_t *workers) {
        json_t *w, *i;
        size_t wi, ii;
        int width = 12;

        json_array_foreach(workers, wi, w)
                json_array_foreach(json_object_get(w, "instances"), ii, i) {
                        int l = (int) strlen(json_string_value(json_object_get(i, "name")) ?: "");
                        width = MAX(width, l + 2);
                }
        return width;
}

/* The kind of the last application error of a worker's instances ("traceback"), or NULL. */
static const char *last_app_error_kind(json_t *w) {
        json_t *i;
        size_t ii;

        json_array_foreach(json_object_get(w, "instances"), ii, i) {
                json_t *last = json_object_get(
                        json_object_get(json_object_get(i, "output"), "app_errors"), "last");
                const char *kind = json_string_value(json_object_get(last, "kind"));

                if (kind)
                        return kind;
        }
        return NULL;
}

/* The ERRORS column: crashes and failed probes of the worker over the last 5 minutes, then the
 * application errors found in its output, with the kind of the last one ("+20 app traceback"). */
static void worker_errors(json_t *w, char *buf, size_t len) {
        json_t *ev = json_object_get(w, "events");
        long long errors =
                json_integer_value(json_object_get(json_object_get(ev, "crash"), "5m")) +
                json_integer_value(json_object_get(json_object_get(ev, "health-failure"), "5m"));
        long long app = json_integer_value(json_object_get(json_object_get(ev, "app-error"), "5m"));
        const char *kind = last_app_error_kind(w);

        if (app > 0)
                snprintf(buf, len, "%lld/5m +%lld app%s%s", errors, app, kind ? " " : "",
                         kind ?: "");
        else
                snprintf(buf, len, "%lld/5m", errors);
}

/* The INFO column: when the next start comes, and why. */
static void describe_info(json_t *i, char *buf, size_t len) {
        const char *reason = json_string_value(json_object_get(i, "reason")) ?:
                             json_string_value(json_object_get(i, "notify_status"));
        json_t *retry = json_object_get(i, "next_retry_s");
        char rb[32];

        if (json_is_number(retry))
                snprintf(buf, len, "retry in %s%s%s", fmt_secs(rb, sizeof rb, retry),
                         reason ? ": " : "", reason ?: "");
        else if (reason)
                snprintf(buf, len, "%s", reason);
        else
                /* running again after a memory-action: what was done, and why */
                snprintf(buf, len, "%s", json_string_value(json_object_get(
                                json_object_get(i, "memory"), "last_action")) ?: "");
}

/* MEM and CPU of a watched instance ("-" otherwise): "530M", "12%"; "<=9M": the RSS, which
 * bounds the PSS (the tree is under warn and limit, its PSS not read at that sample). */
static void describe_memory(json_t *i, char *mem, size_t mlen, char *cpu, size_t clen) {
        json_t *m = json_object_get(i, "memory");
        json_t *b = json_object_get(m, "bytes"), *c = json_object_get(m, "cpu_percent");

        if (json_is_integer(b) &&
            strcmp(json_string_value(json_object_get(m, "measure")) ?: "", "rss") == 0) {
                char v[16];

                snprintf(mem, mlen, "<=%s",
                         format_bytes(v, sizeof v, (uint64_t) json_integer_value(b)));
        } else if (json_is_integer(b))
                format_bytes(mem, mlen, (uint64_t) json_integer_value(b));
        else
                snprintf(mem, mlen, "-");
        if (json_is_number(c))
                snprintf(cpu, clen, "%.0f%%", json_number_value(c));
        else
                snprintf(cpu, clen, "-");
}

/* One row of the status table; whether the instance is RUNNING. */
static bool print_instance(json_t *i, int width, const char *errors) {
        const char *hstate = json_string_value(json_object_get(json_object_get(i, "health"),
                                                               "state"));
        const char *state = json_string_value(json_object_get(i, "state")) ?: "?";
        json_t *pid = json_object_get(i, "pid");
        char up[32], ex[48], pidbuf[16], info[320], procs[16], mem[16], cpu[16];

        if (json_is_integer(pid))
                snprintf(pidbuf, sizeof pidbuf, "%lld", (long long) json_integer_value(pid));
        else
                snprintf(pidbuf, sizeof pidbuf, "-");
        /* every process of its tree: an old upkeepd answers without "pids" */
        if (json_array_size(json_object_get(i, "pids")) > 0)
                snprintf(procs, sizeof procs, "%zu", json_array_size(json_object_get(i, "pids")));
        else
                snprintf(procs, sizeof procs, "-");
        describe_exit(json_object_get(i, "last_exit"), ex, sizeof ex);
        describe_info(i, info, sizeof info);
        describe_memory(i, mem, sizeof mem, cpu, sizeof cpu);
        printf("%-*s %-9s %7s %5s %6s %4s %8s %8lld %-10s %-9s %6s  %s\n", width,
               json_string_value(json_object_get(i, "name")) ?: "?", state, pidbuf, procs, mem,
               cpu,
               fmt_secs(up, sizeof up, json_object_get(i, "uptime_s")),
               (long long) json_integer_value(json_object_get(i, "restarts")), ex, hstate ?: "-",
               errors, info);
        return strcmp(state, "RUNNING") == 0;
}

/* status NAME: the last lines of output frozen with the last bad end, under the row. */
static void print_last_output(json_t *i) {
        const char *text = json_string_value(json_object_get(json_object_get(i, "last_exit"),
                                                             "output"));

        if (!text)
                return;
        printf("    last output:\n");
        for (const char *p = text, *nl; *p; p = nl + 1) {
                nl = strchrnul(p, '\n');
                fputs("    | ", stdout);
                /* what a worker printed may hold terminal escapes: never sent as they are */
                for (const char *c = p; c < nl; c++)
                        putchar((unsigned char) *c < 0x20 && *c != '\t' ? '?'
                                : *c == 0x7f                              ? '?'
                                                                          : *c);
                putchar('\n');
                if (!*nl)
                        break;
        }
}

static int print_status(json_t *ans, bool details) {
        json_t *workers = json_object_get(ans, "workers"), *w, *i;
        int width = name_width(workers), ret = EXIT_OK;
        size_t wi, ii;

        printf("%-*s %-9s %7s %5s %6s %4s %8s %8s %-10s %-9s %6s  %s\n", width, "NAME", "STATE",
               "PID", "PROCS", "MEM", "CPU", "UPTIME", "RESTARTS", "LAST-EXIT", "HEALTH", "ERRORS",
               "INFO");
        json_array_foreach(workers, wi, w) {
                char errors[64];

                worker_errors(w, errors, sizeof errors);
                json_array_foreach(json_object_get(w, "instances"), ii, i) {
                        if (!print_instance(i, width, errors))
                                ret = EXIT_NOT_RUNNING;
                        if (details)
                                print_last_output(i);
                }
                if (json_string_value(json_object_get(w, "rolling")))
                        printf("%s: rolling: %s\n", json_string_value(json_object_get(w, "name")),
                               json_string_value(json_object_get(w, "rolling")));
        }
        return ret;
}

static int status_exit_code(json_t *ans) {
        json_t *w, *i;
        size_t wi, ii;

        json_array_foreach(json_object_get(ans, "workers"), wi, w)
                json_array_foreach(json_object_get(w, "instances"), ii, i)
                        if (strcmp(json_string_value(json_object_get(i, "state")) ?: "", "RUNNING"))
                                return EXIT_NOT_RUNNING;
        return EXIT_OK;
}

static void print_list(const char *what, json_t *l) {
        json_t *v;
        size_t k;

        if (json_array_size(l) == 0)
                return;
        printf("%s:", what);
        json_array_foreach(l, k, v)
                printf(" %s", json_string_value(v) ?: "?");
        putchar('\n');
}

static int print_health(json_t *ans, bool json) {
        json_t *v;
        size_t k;

        if (!json) {
                json_array_foreach(json_object_get(ans, "failing"), k, v)
                        printf("%s: %s, %s\n", json_string_value(json_object_get(v, "name")) ?: "?",
                               json_string_value(json_object_get(v, "state")) ?: "?",
                               json_string_value(json_object_get(v, "health")) ?: "?");
                if (json_is_true(json_object_get(ans, "healthy")))
                        printf("healthy\n");
        }
        return json_is_true(json_object_get(ans, "healthy")) ? EXIT_OK : EXIT_FAILED;
}

static void print_active_alerts(json_t *active) {
        json_t *v;
        size_t k;

        if (json_array_size(active) == 0)
                printf("no active alerts\n");
        json_array_foreach(active, k, v) {
                char buf[32];

                printf("%-9s %s (%s, firing for %s): %s\n",
                       json_string_value(json_object_get(v, "severity")) ?: "?",
                       json_string_value(json_object_get(v, "worker")) ?: "?",
                       json_string_value(json_object_get(v, "instance")) ?: "?",
                       fmt_secs(buf, sizeof buf, json_object_get(v, "firing_s")),
                       json_string_value(json_object_get(v, "summary")) ?: "");
        }
}

static void print_sinks(json_t *sinks) {
        json_t *v;
        size_t k;

        if (json_array_size(sinks) > 0)
                printf("\n%-12s %-13s %-9s %6s %6s %6s %7s  %s\n", "SINK", "TYPE", "STATE",
                       "QUEUED", "SENT", "FAILED", "DROPPED", "LAST ERROR");
        json_array_foreach(sinks, k, v)
                printf("%-12s %-13s %-9s %6lld %6lld %6lld %7lld  %s\n",
                       json_string_value(json_object_get(v, "name")) ?: "?",
                       json_string_value(json_object_get(v, "type")) ?: "?",
                       json_string_value(json_object_get(v, "state")) ?: "?",
                       (long long) json_integer_value(json_object_get(v, "queued")),
                       (long long) json_integer_value(json_object_get(v, "sent")),
                       (long long) json_integer_value(json_object_get(v, "failed")),
                       (long long) json_integer_value(json_object_get(v, "dropped")),
                       json_string_value(json_object_get(v, "last_error")) ?: "-");
}

static int print_alerts(json_t *ans) {
        print_active_alerts(json_object_get(ans, "active"));
        print_sinks(json_object_get(ans, "sinks"));
        return EXIT_OK;
}

static int print_reload(json_t *ans) {
        printf("reloaded\n");
        print_list("added", json_object_get(ans, "added"));
        print_list("removed", json_object_get(ans, "removed"));
        print_list("restarted", json_object_get(ans, "restarted"));
        return EXIT_OK;
}

static int print_results(json_t *ans, bool json) {
        json_t *r;
        size_t k;
        int ret = EXIT_OK;

        json_array_foreach(json_object_get(ans, "results"), k, r) {
                const char *name = json_string_value(json_object_get(r, "name")) ?: "?";
                if (json_is_true(json_object_get(r, "ok"))) {
                        if (!json)
                                printf("%s: %s\n", name,
                                       json_string_value(json_object_get(r, "result")) ?: "ok");
                } else {
                        if (!json)
                                printf("%s: ERROR (%s)\n", name,
                                       json_string_value(json_object_get(r, "error")) ?: "?");
                        ret = EXIT_FAILED;
                }
        }
        return ret;
}

typedef struct Args {
        const char *path; /* the socket */
        ProtoCmd cmd;
        const char *name;
        bool json;
} Args;

/* The options before the command word.  -1 to go on, else the exit status. */
static int parse_options(int argc, char **argv, Args *a) {
        static const struct option opts[] = {
                { "socket", required_argument, NULL, 's' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "+s:jh", opts, NULL)) >= 0)
                switch (c) {
                case 's': a->path = optarg; break;
                case 'j': a->json = true; break;
                case 'h': usage(stdout); return EXIT_OK;
                default: usage(stderr); return EXIT_USAGE;
                }
        if (optind >= argc) {
                usage(stderr);
                return EXIT_USAGE;
        }
        return -1;
}

/*
 * The command word and what follows it, checked against the command table (proto_commands)
 * before anything is sent.  Options may also follow the command: "status api --json".  -1 to go
 * on, else the exit status.
 */
static int parse_command(int argc, char **argv, Args *a) {
        const char *word = argv[optind++], *sink = NULL, *roll = NULL;
        const ProtoCommand *pc;

        for (; optind < argc; optind++) {
                if (strcmp(argv[optind], "--json") == 0 || strcmp(argv[optind], "-j") == 0)
                        a->json = true;
                else if (strcmp(word, "restart") == 0 && !roll &&
                         (strcmp(argv[optind], "--all-at-once") == 0 ||
                          strcmp(argv[optind], "--continue") == 0 ||
                          strcmp(argv[optind], "--abort") == 0))
                        roll = argv[optind];
                else if (!a->name)
                        a->name = argv[optind];
                else if (strcmp(word, "alerts") == 0 && !sink)
                        sink = argv[optind];
                else {
                        fprintf(stderr, "upkeepctl: unexpected argument '%s'\n", argv[optind]);
                        return EXIT_USAGE;
                }
        }
        a->cmd = proto_cmd_from_string(word);
        if (a->cmd < 0 || !proto_commands[a->cmd].typed) {
                fprintf(stderr, "upkeepctl: unknown command '%s'\n", word);
                usage(stderr);
                return EXIT_USAGE;
        }
        if (roll)
                a->cmd = strcmp(roll, "--all-at-once") == 0 ? PROTO_CMD_RESTART_ALL_AT_ONCE
                         : strcmp(roll, "--continue") == 0  ? PROTO_CMD_RESTART_CONTINUE
                                                            : PROTO_CMD_RESTART_ABORT;
        if (a->cmd == PROTO_CMD_ALERTS && a->name) {
                if (strcmp(a->name, "test") != 0 || !sink) {
                        fprintf(stderr, "upkeepctl: expected 'alerts' or 'alerts test SINK'\n");
                        return EXIT_USAGE;
                }
                a->cmd = PROTO_CMD_ALERTS_TEST;
                a->name = sink;
        }
        pc = &proto_commands[a->cmd];
        if (pc->name_use == PROTO_NAME_IGNORED && a->name) {
                fprintf(stderr, "upkeepctl: %s takes no name\n", pc->name);
                return EXIT_USAGE;
        }
        if (pc->name_use == PROTO_NAME_REQUIRED && !a->name) {
                fprintf(stderr, "upkeepctl: %s needs a name, or 'all'\n", pc->name);
                return EXIT_USAGE;
        }
        return -1;
}

/* An error answer: said on stderr unless --json printed it, and its exit status, by code. */
static int report_error(const Args *a, json_t *ans) {
        const char *err = json_string_value(json_object_get(ans, "error")) ?: "?";
        const char *detail = json_string_value(json_object_get(ans, "detail"));
        const char *what = a->name ?: proto_commands[a->cmd].name;

        if (!a->json && detail)
                fprintf(stderr, "%s: ERROR (%s: %s)\n", what, err, detail);
        else if (!a->json)
                fprintf(stderr, "%s: ERROR (%s)\n", what, err);
        return ctl_exit_for_error(proto_answer_error(ans));
}

/* A successful answer, as a table or as it came (already printed with --json). */
static int show(const Args *a, json_t *ans) {
        switch (a->cmd) {
        case PROTO_CMD_STATUS:
                return a->json ? status_exit_code(ans) : print_status(ans, a->name != NULL);
        case PROTO_CMD_HEALTH:
                return print_health(ans, a->json);
        case PROTO_CMD_ALERTS:
                return a->json ? EXIT_OK : print_alerts(ans);
        case PROTO_CMD_ALERTS_TEST:
                if (!a->json)
                        printf("%s: test notification queued\n", a->name);
                return EXIT_OK;
        case PROTO_CMD_RELOAD:
                return a->json ? EXIT_OK : print_reload(ans);
        case PROTO_CMD_METRICS:
                if (!a->json)
                        fputs(json_string_value(json_object_get(ans, "text")) ?: "", stdout);
                return EXIT_OK;
        default:
                return print_results(ans, a->json);
        }
}

/* Send the request, take the answer, show it. */
static int run(const Args *a) {
        _cleanup_(json_decrefp) json_t *req = NULL, *ans = NULL;
        _cleanup_free_ char *line = NULL;
        unsigned not_running;
        json_error_t jerr;
        size_t len = 0;
        int r;

        req = json_pack("{s:s}", "cmd", proto_commands[a->cmd].name);
        if (req && a->name)
                json_object_set_new(req, "name", json_string(a->name));
        r = req ? roundtrip_line(a->path, req, &line, &len) : -ENOMEM;
        if (r >= 0 && a->json && a->cmd == PROTO_CMD_STATUS &&
            proto_status_not_running(line, len, &not_running) == 0) {
                /* the whole status of many workers need not be parsed just to be printed */
                fwrite(line, 1, len, stdout);
                putchar('\n');
                return not_running == 0 ? EXIT_OK : EXIT_NOT_RUNNING;
        }
        if (r >= 0 && !(ans = json_loadb(line, len, 0, &jerr)))
                r = -EBADMSG;
        if (r < 0) {
                fprintf(stderr, "upkeepctl: cannot talk to upkeepd at %s: %s\n", a->path,
                        strerror(-r));
                return EXIT_UNREACHABLE;
        }
        if (a->json) {
                fwrite(line, 1, len, stdout);
                putchar('\n');
        }
        if (!json_is_true(json_object_get(ans, "ok")))
                return report_error(a, ans);
        return show(a, ans);
}

int main(int argc, char **argv) {
        Args a = { .path = getenv("UPKEEP_SOCKET") ?: DEFAULT_SOCKET };
        int r;

        r = parse_options(argc, argv, &a);
        if (r >= 0)
                return r;
        if (strcmp(argv[optind], "logs") == 0) /* its own options: -n N, -f, --reopen */
                return ctl_logs(a.path, argc - optind - 1, argv + optind + 1, a.json, roundtrip);
        r = parse_command(argc, argv, &a);
        if (r >= 0)
                return r;
        return run(&a);
}
