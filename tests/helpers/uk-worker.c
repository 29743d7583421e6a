/*
 * uk-worker: a stand-in service that upkeep launches in its tests, demos and benchmarks.
 *
 * On request it exits or kills itself after a delay, ignores SIGTERM or honours it slowly, leaves
 * a grandchild behind in its process group, creates orphans for the subreaper to reap, floods
 * stdout or stderr with numbered lines, dumps the environment it was started in, and serves an
 * HTTP health endpoint whose answer can be steered at run time through /set or a file.  Only libc
 * is used, and everything runs from one poll(2) loop with CLOCK_MONOTONIC deadlines, so an idle
 * worker costs no CPU.  See --help for the options.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_MAX 8192
#define RESPONSE_MAX 512
#define NO_DEADLINE UINT64_MAX
#define DEFAULT_SLOW_DELAY_MS 1000
#define ORPHAN_LIFETIME_MS 200
#define ACCEPT_RETRY_MS 100
#define MAX_MS (UINT64_MAX / 1000000)

extern char **environ;

enum health_mode {
        HEALTH_HEALTHY, HEALTH_DEGRADED, HEALTH_UNHEALTHY, HEALTH_FAIL500, HEALTH_HANG, HEALTH_SLOW,
        HEALTH_MODE_MAX, HEALTH_INVALID = -1,
};

static const char *const health_mode_names[HEALTH_MODE_MAX] = {
        [HEALTH_HEALTHY] = "healthy", [HEALTH_DEGRADED] = "degraded",
        [HEALTH_UNHEALTHY] = "unhealthy", [HEALTH_FAIL500] = "fail500",
        [HEALTH_HANG] = "hang", [HEALTH_SLOW] = "slow",
};

enum conn_state { CONN_READING, CONN_WAITING, CONN_WRITING, CONN_HANGING };

struct conn {
        int fd;
        enum conn_state state;
        bool keep_alive;       /* HTTP/1.1 without "Connection: close": read the next request */
        uint64_t deadline;
        size_t in_len, out_len, out_off;
        char in[REQUEST_MAX + 1];
        char out[RESPONSE_MAX];
};

static struct {
        uint64_t exit_after_ms, term_delay_ms, print_count, print_interval_ms;
        int exit_after, ignore_term, grandchild, print_stderr, exit_code, exit_signal, http_port;
        unsigned orphans;
        const char *pidfile, *grandchild_pidfile, *health_file, *env_dump;
        struct in_addr http_addr;
} arg = { .exit_code = 1 };

static enum health_mode health_mode = HEALTH_HEALTHY;
static uint64_t slow_delay_ms = DEFAULT_SLOW_DELAY_MS;
static int sig_pipe[2] = { -1, -1 };
static struct conn **conns;
static struct pollfd *pfds;
static size_t n_conns, conns_allocated;

static const struct {
        const char *name;
        int num;
} signal_names[] = {
        { "HUP", SIGHUP },   { "INT", SIGINT },   { "QUIT", SIGQUIT }, { "ILL", SIGILL },
        { "TRAP", SIGTRAP }, { "ABRT", SIGABRT }, { "BUS", SIGBUS },   { "FPE", SIGFPE },
        { "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
        { "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM }, { "STOP", SIGSTOP },
        { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ }, { "SYS", SIGSYS },
};

static void usage(void) {
        fputs("Usage: uk-worker [OPTION]...\n"
              "  --exit-after MS            exit after MS milliseconds\n"
              "  --exit-code N              exit code for --exit-after (default 1)\n"
              "  --exit-signal NAME|NUM     raise this signal instead of exiting\n"
              "  --ignore-term              ignore SIGTERM and SIGINT\n"
              "  --term-delay MS            on SIGTERM, wait MS before exiting 0\n"
              "  --grandchild               fork a child that ignores SIGTERM and sleeps forever\n"
              "  --pidfile-grandchild PATH  where that child writes its pid\n"
              "  --orphans N                create N orphans that exit after 200 ms\n"
              "  --print N                  print N lines \"line <seq> <pid>\"\n"
              "  --print-interval MS        delay between printed lines (default 0)\n"
              "  --stderr                   print the lines to stderr\n"
              "  --pidfile PATH             write own pid to PATH once ready\n"
              "  --http-port PORT           serve /health and /set on 127.0.0.1:PORT\n"
              "  --http-addr ADDR           listen on this IPv4 address instead (0.0.0.0 in a container)\n"
              "  --health MODE              healthy|degraded|unhealthy|fail500|hang|slow\n"
              "  --health-file PATH         \"MODE [DELAY_MS]\" in PATH overrides the mode per request\n"
              "                             (\"slow\" waits 1000 ms unless a delay is given)\n"
              "  --env-dump PATH            write environment and credentials to PATH\n"
              "  --help                     show this help\n",
              stdout);
}

_Noreturn static void bad_arg(const char *what, const char *value) {
        fprintf(stderr, "uk-worker: invalid %s: '%s' (see --help)\n", what, value);
        exit(2);
}

_Noreturn static void fail(const char *what) {
        fprintf(stderr, "uk-worker: %s: %s\n", what, strerror(errno));
        exit(1);
}

static uint64_t parse_uint(const char *s, uint64_t max, const char *what) {
        char *end;
        unsigned long long v;

        errno = 0;
        if (s[0] < '0' || s[0] > '9')
                bad_arg(what, s);
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0' || v > max)
                bad_arg(what, s);
        return v;
}

static int parse_signal(const char *s) {
        const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;

        if (s[0] >= '0' && s[0] <= '9')
                return (int) parse_uint(s, 64, "signal");
        for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++)
                if (strcasecmp(name, signal_names[i].name) == 0)
                        return signal_names[i].num;
        bad_arg("signal", s);
}

static enum health_mode parse_health_mode(const char *s) {
        for (int i = 0; i < HEALTH_MODE_MAX; i++)
                if (strcmp(s, health_mode_names[i]) == 0)
                        return i;
        return HEALTH_INVALID;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static int timeout_until(uint64_t deadline, uint64_t now) {
        uint64_t ms;

        if (deadline == NO_DEADLINE)
                return -1;
        if (deadline <= now)
                return 0;
        ms = (deadline - now + 999) / 1000;
        return ms > INT_MAX ? INT_MAX : (int) ms;
}

static void sleep_ms(uint64_t ms) {
        uint64_t deadline = now_usec() + ms * 1000;
        uint64_t now;

        while ((now = now_usec()) < deadline)
                poll(NULL, 0, timeout_until(deadline, now));
}

static int write_all(int fd, const char *buf, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, buf, len);

                if (n < 0 && errno == EAGAIN) {
                        struct pollfd p = { .fd = fd, .events = POLLOUT };
                        poll(&p, 1, -1);
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -1;
                buf += n;
                len -= (size_t) n;
        }
        return 0;
}

static void fill_pidfile(FILE *f) {
        fprintf(f, "%d\n", (int) getpid());
}

static void fill_env_dump(FILE *f) {
        char cwd[PATH_MAX];
        int n = getgroups(0, NULL);
        gid_t *groups = calloc(n > 0 ? (size_t) n : 1, sizeof *groups);

        for (char **e = environ; e && *e; e++)
                fprintf(f, "%s\n", *e);
        fprintf(f, "cwd=%s\n", getcwd(cwd, sizeof cwd) ? cwd : "");
        fprintf(f, "uid=%u\ngid=%u\ngroups=", (unsigned) getuid(), (unsigned) getgid());
        if (groups && n > 0)
                n = getgroups(n, groups);
        for (int i = 0; groups && i < n; i++)
                fprintf(f, "%s%u", i > 0 ? "," : "", (unsigned) groups[i]);
        free(groups);
        fprintf(f, "\npgid=%d\nsid=%d\n", (int) getpgrp(), (int) getsid(0));
}

/* Written to PATH.tmp and renamed into place, so a reader sees all of the file or nothing. */
static int write_file_atomic(const char *path, void (*fill)(FILE *f)) {
        char tmp[PATH_MAX];
        int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
        FILE *f;
        bool failed;

        if (n < 0 || (size_t) n >= sizeof tmp) {
                errno = ENAMETOOLONG;
                return -1;
        }
        if (!(f = fopen(tmp, "we")))
                return -1;
        fill(f);
        failed = ferror(f);
        if (fclose(f) != 0 || failed || rename(tmp, path) < 0) {
                unlink(tmp);
                return -1;
        }
        return 0;
}

static void spawn_grandchild(void) {
        pid_t pid = fork();

        if (pid < 0)
                fail("fork");
        if (pid > 0)
                return;
        signal(SIGTERM, SIG_IGN);
        if (arg.grandchild_pidfile && write_file_atomic(arg.grandchild_pidfile, fill_pidfile) < 0) {
                fprintf(stderr, "uk-worker: grandchild pidfile: %s\n", strerror(errno));
                _exit(1);
        }
        for (;;)
                pause();
}

static void spawn_orphans(unsigned count) {
        for (unsigned i = 0; i < count; i++) {
                pid_t pid = fork();

                if (pid < 0)
                        fail("fork");
                if (pid == 0) {
                        pid_t orphan = fork();

                        if (orphan == 0) {
                                sleep_ms(ORPHAN_LIFETIME_MS);
                                _exit(0);
                        }
                        _exit(orphan < 0 ? 1 : 0);
                }
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
}

static void on_signal(int sig) {
        int saved = errno;
        unsigned char b = (unsigned char) sig;
        ssize_t n = write(sig_pipe[1], &b, 1);

        (void) n;
        errno = saved;
}

static void setup_signals(void) {
        struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };

        if (pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
                fail("pipe2");
        sigemptyset(&sa.sa_mask);
        sigaction(SIGCHLD, &sa, NULL);
        if (arg.ignore_term)
                sa.sa_handler = SIG_IGN;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
}

static int listen_http(int port) {
        struct sockaddr_in sin = {
                .sin_family = AF_INET,
                .sin_port = htons((uint16_t) port),
                .sin_addr = arg.http_addr,
        };
        int one = 1;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

        if (fd < 0)
                fail("socket");
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *) &sin, sizeof sin) < 0)
                fail("bind");
        if (listen(fd, SOMAXCONN) < 0)
                fail("listen");
        return fd;
}

static enum health_mode effective_health_mode(uint64_t *delay_ms) {
        char buf[256], word[32];
        unsigned long long delay;
        enum health_mode m;
        FILE *f;
        int n;

        *delay_ms = slow_delay_ms;
        if (!arg.health_file || !(f = fopen(arg.health_file, "re")))
                return health_mode;
        buf[fread(buf, 1, sizeof buf - 1, f)] = '\0';
        fclose(f);
        /* An optional second word sets the delay used by "slow". */
        n = sscanf(buf, "%31s %llu", word, &delay);
        if (n < 1 || (m = parse_health_mode(word)) == HEALTH_INVALID)
                return health_mode;
        if (n == 2 && delay <= MAX_MS)
                *delay_ms = delay;
        return m;
}

static void conn_respond(struct conn *c, const char *status, const char *type, const char *body) {
        int n = snprintf(c->out, sizeof c->out,
                         "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                         "Connection: %s\r\n\r\n%s",
                         status, type, strlen(body), c->keep_alive ? "keep-alive" : "close", body);

        c->out_len = n < 0 ? 0 : (size_t) n < sizeof c->out ? (size_t) n : sizeof c->out - 1;
        c->out_off = 0;
        c->state = CONN_WRITING;
}

/* "slow" answers like "healthy" once its delay is over; "hang" never gets here. */
static void conn_respond_health(struct conn *c, enum health_mode m) {
        static const struct {
                const char *status, *body;
        } answers[HEALTH_MODE_MAX] = {
                [HEALTH_HEALTHY] = { "200 OK",
                                     "{\"status\":\"healthy\",\"services\":{\"db\":\"ok\"}}" },
                [HEALTH_DEGRADED] = { "200 OK",
                                      "{\"status\":\"degraded\",\"services\":{\"db\":\"slow\"}}" },
                [HEALTH_UNHEALTHY] = { "200 OK", "{\"status\":\"unhealthy\"}" },
                [HEALTH_FAIL500] = { "503 Service Unavailable", "{\"status\":\"fail\"}" },
        };

        if (m != HEALTH_DEGRADED && m != HEALTH_UNHEALTHY && m != HEALTH_FAIL500)
                m = HEALTH_HEALTHY;
        conn_respond(c, answers[m].status, "application/json", answers[m].body);
}

static void handle_set(struct conn *c, char *query) {
        enum health_mode m = HEALTH_INVALID;
        uint64_t delay = slow_delay_ms;
        bool bad = !query;
        char *save = NULL, *kv = query ? strtok_r(query, "&", &save) : NULL;

        for (; kv; kv = strtok_r(NULL, "&", &save)) {
                char *v = strchr(kv, '=');
                char *end;

                if (!v) {
                        bad = true;
                        continue;
                }
                *v++ = '\0';
                if (strcmp(kv, "status") == 0) {
                        m = parse_health_mode(v);
                        bad |= m == HEALTH_INVALID;
                } else if (strcmp(kv, "delay") == 0) {
                        errno = 0;
                        delay = strtoull(v, &end, 10);
                        bad |= errno != 0 || end == v || *end != '\0' || *v == '-';
                        bad |= delay > MAX_MS;
                }
        }
        if (bad || m == HEALTH_INVALID) {
                conn_respond(c, "400 Bad Request", "text/plain", "bad request\n");
                return;
        }
        health_mode = m;
        slow_delay_ms = delay;
        conn_respond(c, "200 OK", "text/plain", "ok\n");
}

static void handle_request(struct conn *c, uint64_t now) {
        char *method = c->in, *target, *query, *p;
        enum health_mode m;
        uint64_t delay;

        /* keep the connection for the next request unless HTTP/1.0 or "Connection: close" */
        c->keep_alive = strstr(c->in, " HTTP/1.1\r\n") && !strcasestr(c->in, "\nconnection: close");
        c->in[strcspn(c->in, "\r\n")] = '\0';
        target = strchr(method, ' ');
        if (!target) {
                conn_respond(c, "400 Bad Request", "text/plain", "bad request\n");
                return;
        }
        *target++ = '\0';
        if ((p = strchr(target, ' ')))
                *p = '\0';
        if ((query = strchr(target, '?')))
                *query++ = '\0';

        if (strcmp(method, "GET") == 0 && strcmp(target, "/health") == 0) {
                m = effective_health_mode(&delay);
                if (m == HEALTH_HANG) {
                        c->state = CONN_HANGING;
                } else if (m == HEALTH_SLOW) {
                        c->state = CONN_WAITING;
                        c->deadline = now + delay * 1000;
                } else
                        conn_respond_health(c, m);
        } else if (strcmp(method, "GET") == 0 && strcmp(target, "/set") == 0)
                handle_set(c, query);
        else
                conn_respond(c, "404 Not Found", "text/plain", "not found\n");
}

/* Each of these returns false once the connection should be closed. */
static bool conn_flush(struct conn *c) {
        while (c->out_off < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errno == EAGAIN;
                c->out_off += (size_t) n;
        }
        if (!c->keep_alive)
                return false;
        /* answered: wait for the next request on the same connection */
        c->state = CONN_READING;
        c->in_len = c->out_len = c->out_off = 0;
        c->deadline = NO_DEADLINE;
        return true;
}

static bool conn_read(struct conn *c, uint64_t now) {
        for (;;) {
                ssize_t n = read(c->fd, c->in + c->in_len, REQUEST_MAX - c->in_len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errno == EAGAIN;
                if (n == 0)
                        return false;
                c->in_len += (size_t) n;
                c->in[c->in_len] = '\0';
                if (memmem(c->in, c->in_len, "\r\n\r\n", 4) || memmem(c->in, c->in_len, "\n\n", 2))
                        handle_request(c, now);
                else if (c->in_len == REQUEST_MAX)
                        conn_respond(c, "431 Request Header Fields Too Large", "text/plain",
                                     "request too large\n");
                else
                        continue;
                return c->state == CONN_WRITING ? conn_flush(c) : true;
        }
}

static bool conn_discard(struct conn *c) {
        char buf[1024];
        ssize_t n;

        while ((n = read(c->fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
                ;
        return n < 0 && errno == EAGAIN;
}

static void conn_close(struct conn *c) {
        /* Unread input would make close() send a reset that can destroy the answer in flight. */
        conn_discard(c);
        close(c->fd);
        c->fd = -1;
}

static void accept_conns(int listen_fd, uint64_t now, uint64_t *accept_resume) {
        for (;;) {
                int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                struct conn *c;

                if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
                        continue;
                if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOMEM))
                        *accept_resume = now + ACCEPT_RETRY_MS * 1000;
                if (fd < 0)
                        return;
                if (n_conns == conns_allocated) {
                        size_t want = conns_allocated ? conns_allocated * 2 : 16;
                        struct conn **nc = realloc(conns, want * sizeof *nc);
                        struct pollfd *np = nc ? realloc(pfds, (want + 2) * sizeof *np) : NULL;

                        if (nc)
                                conns = nc;
                        if (!np) {
                                close(fd);
                                return;
                        }
                        pfds = np;
                        conns_allocated = want;
                }
                if (!(c = calloc(1, sizeof *c))) {
                        close(fd);
                        return;
                }
                c->fd = fd;
                c->deadline = NO_DEADLINE;
                conns[n_conns++] = c;
        }
}

static size_t print_lines(uint64_t first, uint64_t count) {
        char buf[65536];
        size_t len = 0;
        uint64_t i;
        int pid = (int) getpid();

        for (i = 0; i < count && len + 64 < sizeof buf; i++)
                len += (size_t) snprintf(buf + len, sizeof buf - len, "line %llu %d\n",
                                         (unsigned long long) (first + i), pid);
        if (write_all(arg.print_stderr ? STDERR_FILENO : STDOUT_FILENO, buf, len) < 0)
                return 0;
        return i;
}

_Noreturn static void exit_on_cue(void) {
        fflush(NULL);
        if (arg.exit_signal > 0) {
                sigset_t set;

                signal(arg.exit_signal, SIG_DFL);
                sigemptyset(&set);
                sigaddset(&set, arg.exit_signal);
                sigprocmask(SIG_UNBLOCK, &set, NULL);
                raise(arg.exit_signal);
        }
        exit(arg.exit_code);
}

static void handle_signals(uint64_t now, uint64_t *term_deadline) {
        unsigned char sigs[64];
        ssize_t n;

        while ((n = read(sig_pipe[0], sigs, sizeof sigs)) > 0 || (n < 0 && errno == EINTR))
                for (ssize_t i = 0; i < n; i++) {
                        if (sigs[i] == SIGCHLD) {
                                while (waitpid(-1, NULL, WNOHANG) > 0)
                                        ;
                                continue;
                        }
                        if (*term_deadline != NO_DEADLINE)
                                continue;
                        printf("uk-worker: got %s\n", sigs[i] == SIGINT ? "SIGINT" : "SIGTERM");
                        fflush(stdout);
                        if (arg.term_delay_ms == 0)
                                exit(0);
                        *term_deadline = now + arg.term_delay_ms * 1000;
                }
}

static void parse_args(int argc, char **argv) {
        static const struct option options[] = {
                { "exit-after", required_argument, NULL, 'a' },
                { "exit-code", required_argument, NULL, 'c' },
                { "exit-signal", required_argument, NULL, 's' },
                { "ignore-term", no_argument, &arg.ignore_term, 1 },
                { "term-delay", required_argument, NULL, 't' },
                { "grandchild", no_argument, &arg.grandchild, 1 },
                { "pidfile-grandchild", required_argument, NULL, 'G' },
                { "orphans", required_argument, NULL, 'o' },
                { "print", required_argument, NULL, 'n' },
                { "print-interval", required_argument, NULL, 'i' },
                { "stderr", no_argument, &arg.print_stderr, 1 },
                { "pidfile", required_argument, NULL, 'p' },
                { "http-port", required_argument, NULL, 'P' },
                { "http-addr", required_argument, NULL, 'A' },
                { "health", required_argument, NULL, 'H' },
                { "health-file", required_argument, NULL, 'f' },
                { "env-dump", required_argument, NULL, 'e' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        int c;

        arg.http_addr.s_addr = htonl(INADDR_LOOPBACK);
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 0:
                        break;
                case 'a':
                        arg.exit_after_ms = parse_uint(optarg, MAX_MS, "--exit-after");
                        arg.exit_after = 1;
                        break;
                case 'c':
                        arg.exit_code = (int) parse_uint(optarg, 255, "--exit-code");
                        break;
                case 's':
                        arg.exit_signal = parse_signal(optarg);
                        break;
                case 't':
                        arg.term_delay_ms = parse_uint(optarg, MAX_MS, "--term-delay");
                        break;
                case 'G':
                        arg.grandchild_pidfile = optarg;
                        break;
                case 'o':
                        arg.orphans = (unsigned) parse_uint(optarg, 10000, "--orphans");
                        break;
                case 'n':
                        arg.print_count = parse_uint(optarg, UINT64_MAX - 1, "--print");
                        break;
                case 'i':
                        arg.print_interval_ms = parse_uint(optarg, MAX_MS, "--print-interval");
                        break;
                case 'p':
                        arg.pidfile = optarg;
                        break;
                case 'P':
                        if ((arg.http_port = (int) parse_uint(optarg, 65535, "--http-port")) == 0)
                                bad_arg("--http-port", optarg);
                        break;
                case 'A':
                        if (inet_pton(AF_INET, optarg, &arg.http_addr) != 1)
                                bad_arg("--http-addr", optarg);
                        break;
                case 'H':
                        if ((health_mode = parse_health_mode(optarg)) == HEALTH_INVALID)
                                bad_arg("--health", optarg);
                        break;
                case 'f':
                        arg.health_file = optarg;
                        break;
                case 'e':
                        arg.env_dump = optarg;
                        break;
                case 'h':
                        usage();
                        exit(0);
                default:
                        bad_arg("option or missing argument", argv[optind - 1]);
                }
        if (optind < argc)
                bad_arg("argument", argv[optind]);
}

int main(int argc, char **argv) {
        uint64_t start, exit_deadline = NO_DEADLINE, term_deadline = NO_DEADLINE;
        uint64_t print_next, printed = 0, accept_resume = 0;
        int listen_fd = -1;

        parse_args(argc, argv);
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (arg.grandchild)
                spawn_grandchild();
        spawn_orphans(arg.orphans);
        setup_signals();
        if (arg.env_dump && write_file_atomic(arg.env_dump, fill_env_dump) < 0)
                fail(arg.env_dump);
        if (arg.http_port > 0)
                listen_fd = listen_http(arg.http_port);
        if (!(pfds = calloc(2, sizeof *pfds)))
                fail("calloc");
        if (arg.pidfile && write_file_atomic(arg.pidfile, fill_pidfile) < 0)
                fail(arg.pidfile);

        start = print_next = now_usec();
        if (arg.exit_after)
                exit_deadline = start + arg.exit_after_ms * 1000;

        for (;;) {
                uint64_t now = now_usec(), next = NO_DEADLINE;
                size_t n_polled = n_conns, kept = 0;
                int r;

                if (now >= exit_deadline)
                        exit_on_cue();
                if (now >= term_deadline)
                        exit(0);
                if (printed < arg.print_count && now >= print_next) {
                        uint64_t n = arg.print_interval_ms > 0 ? 1 : arg.print_count - printed;
                        uint64_t done = print_lines(printed + 1, n);

                        printed = done > 0 ? printed + done : arg.print_count;
                        print_next += arg.print_interval_ms * 1000;
                        if (print_next <= now && arg.print_interval_ms > 0)
                                print_next = now + arg.print_interval_ms * 1000;
                }

                next = exit_deadline < term_deadline ? exit_deadline : term_deadline;
                if (printed < arg.print_count && print_next < next)
                        next = print_next;
                if (accept_resume > now && accept_resume < next)
                        next = accept_resume;
                pfds[0] = (struct pollfd) { .fd = sig_pipe[0], .events = POLLIN };
                pfds[1] = (struct pollfd) { .fd = accept_resume > now ? -1 : listen_fd,
                                            .events = POLLIN };
                for (size_t i = 0; i < n_conns; i++) {
                        struct conn *c = conns[i];
                        short ev = c->state == CONN_WRITING ? POLLOUT
                                   : c->state == CONN_WAITING ? 0 : POLLIN;

                        pfds[i + 2] = (struct pollfd) { .fd = c->fd, .events = ev };
                        if (c->state == CONN_WAITING && c->deadline < next)
                                next = c->deadline;
                }

                r = poll(pfds, n_conns + 2, timeout_until(next, now));
                if (r < 0 && errno != EINTR)
                        fail("poll");
                now = now_usec();
                if (r > 0 && pfds[0].revents)
                        handle_signals(now, &term_deadline);

                for (size_t i = 0; r >= 0 && i < n_polled; i++) {
                        struct conn *c = conns[i];
                        short re = r > 0 ? pfds[i + 2].revents : 0;
                        bool keep = true;

                        if (c->state == CONN_WAITING && (re & (POLLHUP | POLLERR)))
                                keep = false;
                        else if (c->state == CONN_WAITING && now >= c->deadline) {
                                conn_respond_health(c, HEALTH_HEALTHY);
                                keep = conn_flush(c);
                        } else if (re && c->state == CONN_READING)
                                keep = conn_read(c, now);
                        else if (re && c->state == CONN_HANGING)
                                keep = conn_discard(c);
                        else if (re && c->state == CONN_WRITING)
                                keep = conn_flush(c);
                        if (!keep)
                                conn_close(c);
                }
                if (r > 0 && pfds[1].fd >= 0 && pfds[1].revents)
                        accept_conns(listen_fd, now, &accept_resume);

                for (size_t i = 0; i < n_conns; i++) {
                        if (conns[i]->fd >= 0)
                                conns[kept++] = conns[i];
                        else
                                free(conns[i]);
                }
                n_conns = kept;
        }
}
