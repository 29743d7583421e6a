/*
 * upkeepctl logs (see ctllogs.h).
 *
 * -n N prints the last N lines of each file, found by reading backwards from the end in
 * blocks.  -f then follows like `tail -F`: every 200 ms each file is read to its end; when the
 * path names another file (rotated: the old one was renamed to .1 and a new one created) the
 * old descriptor is read to its end first, then the new file is read from its start, so no
 * line is skipped or shown twice across a rotation.  With several instances every line is
 * prefixed with "NAME | ", as upkeepd does for log-dir = "-".
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctlexit.h"
#include "ctllogs.h"
#include "macro.h"
#include "proto.h"

#define BLOCK 65536
#define FOLLOW_INTERVAL_MS 200
#define MAX_LINES 10000000

typedef struct Follow {
        char *name, *path;
        int fd;
        dev_t dev;
        ino_t ino;
        off_t pos;
        char *partial;          /* a line not finished yet, printed once its '\n' comes */
        size_t partial_len;
} Follow;

static bool prefix_lines;

static void emit(const Follow *f, const char *p, size_t n) {
        if (prefix_lines)
                printf("%s | ", f->name);
        fwrite(p, 1, n, stdout);
}

/* Print the whole lines of p, keeping a trailing partial line for later. */
static void output(Follow *f, const char *p, size_t n) {
        while (n > 0) {
                const char *nl = memchr(p, '\n', n);
                size_t k = nl ? (size_t) (nl - p) + 1 : n;

                if (!nl) {
                        char *b = realloc(f->partial, f->partial_len + k);

                        if (b) {
                                memcpy(b + f->partial_len, p, k);
                                f->partial = b;
                                f->partial_len += k;
                        }
                        return;
                }
                if (f->partial_len > 0) {
                        if (prefix_lines)
                                printf("%s | ", f->name);
                        fwrite(f->partial, 1, f->partial_len, stdout);
                        fwrite(p, 1, k, stdout);
                        f->partial_len = 0;
                } else
                        emit(f, p, k);
                p += k;
                n -= k;
        }
}

/* Where the last `lines` lines of the file start. */
static off_t tail_offset(int fd, off_t size, unsigned long lines) {
        char buf[BLOCK];
        off_t end = size;
        unsigned long seen = 0;
        bool last = true;

        if (lines == 0)
                return size;
        while (end > 0) {
                off_t start = end > BLOCK ? end - BLOCK : 0;
                ssize_t n = pread(fd, buf, (size_t) (end - start), start);

                if (n <= 0)
                        return 0;
                for (ssize_t k = n - 1; k >= 0; k--) {
                        if (buf[k] != '\n')
                                continue;
                        /* the file's own last '\n' ends the last line, it does not start one */
                        if (last && start + k == size - 1) {
                                last = false;
                                continue;
                        }
                        last = false;
                        if (++seen == lines)
                                return start + k + 1;
                }
                end = start;
        }
        return 0;
}

/* Open f->path from its start; on failure f->fd is -1 and nothing stays open. */
static int follow_open(Follow *f) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        f->fd = -1;
        fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0)
                return negative_errno();
        f->fd = TAKE_FD(fd);
        f->dev = st.st_dev;
        f->ino = st.st_ino;
        f->pos = 0;
        return 0;
}

/* Print from f->pos up to `end` (-1: to the end of the file, however far it grew). */
static void read_until(Follow *f, off_t end) {
        char buf[BLOCK];
        ssize_t n;

        if (f->fd < 0)
                return;
        while ((end < 0 || f->pos < end) &&
               (n = pread(f->fd, buf, end < 0 ? sizeof buf : (size_t) MIN(end - f->pos,
                                                                          (off_t) sizeof buf),
                          f->pos)) > 0) {
                output(f, buf, (size_t) n);
                f->pos += n;
        }
}

static void read_to_end(Follow *f) {
        read_until(f, -1);
}

/* One round of -f: new data, then a file that was rotated away or truncated. */
static void follow_step(Follow *f) {
        struct stat st, cur;

        read_to_end(f);
        if (stat(f->path, &st) < 0)
                return; /* between a rename and the new file: look again later */
        if (f->fd >= 0 && st.st_dev == f->dev && st.st_ino == f->ino) {
                if (fstat(f->fd, &cur) == 0 && cur.st_size < f->pos)
                        f->pos = 0; /* truncated in place (copytruncate) */
                return;
        }
        /* a new file at the path: what the old one got before it was renamed came first */
        read_to_end(f);
        if (f->fd >= 0)
                close(f->fd);
        if (follow_open(f) < 0)
                return;
        read_to_end(f);
}

static int usage_error(const char *msg) {
        fprintf(stderr, "upkeepctl: %s\nusage: upkeepctl [-s SOCKET] logs NAME [-n N] [-f]\n"
                        "       upkeepctl [-s SOCKET] logs --reopen\n", msg);
        return EXIT_USAGE;
}

typedef struct LogsArgs {
        unsigned long lines;
        bool follow, reopen, json;
        const char *name;
} LogsArgs;

/* -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, LogsArgs *a) {
        static const struct option opts[] = {
                { "lines", required_argument, NULL, 'n' },
                { "follow", no_argument, NULL, 'f' },
                { "reopen", no_argument, NULL, 'r' },
                { "json", no_argument, NULL, 'j' },
                {},
        };
        char *end;
        int c;

        optind = 0; /* argv[0] is the first argument: getopt must not skip it */
        opterr = 1;
        while ((c = getopt_long(argc + 1, argv - 1, "n:fj", opts, NULL)) >= 0)
                switch (c) {
                case 'n':
                        errno = 0;
                        a->lines = strtoul(optarg, &end, 10);
                        if (errno || *end || end == optarg || a->lines > MAX_LINES)
                                return usage_error("-n: expected a number of lines");
                        break;
                case 'f': a->follow = true; break;
                case 'r': a->reopen = true; break;
                case 'j': a->json = true; break;
                default: return usage_error("invalid option");
                }
        for (int i = optind - 1; i < argc; i++) {
                if (a->name)
                        return usage_error("logs takes one NAME");
                a->name = argv[i];
        }
        if (a->reopen == !!a->name)
                return usage_error(a->reopen ? "--reopen takes no name" : "logs needs a NAME");
        return -1;
}

/*
 * Open the files the "logfile" answer lists into fs (room for all of them), *ret_n of them;
 * with -f, one that does not exist yet is followed until it does.  EXIT_FAILED when one cannot
 * be read.
 */
static int open_files(json_t *files, bool follow, Follow *fs, size_t *ret_n) {
        size_t n = 0, k;
        int ret = EXIT_OK;
        json_t *v;

        json_array_foreach(files, k, v) {
                Follow *f = &fs[n];
                int r;

                f->fd = -1;
                f->name = (char *) json_string_value(json_object_get(v, "name"));
                f->path = (char *) json_string_value(json_object_get(v, "path"));
                if (!f->name)
                        continue;
                if (!f->path) {
                        fprintf(stderr, "%s: its output goes to upkeepd's stdout "
                                "(log-dir = \"-\"), not to a file\n", f->name);
                        ret = EXIT_FAILED;
                        continue;
                }
                r = follow_open(f);
                if (r < 0 && !(follow && r == -ENOENT)) {
                        fprintf(stderr, "%s: cannot read %s: %s\n", f->name, f->path,
                                strerror(-r));
                        ret = EXIT_FAILED;
                        continue;
                }
                n++;
        }
        *ret_n = n;
        return ret;
}

/* -n: the last lines of each file as of now (what is appended meanwhile is for -f). */
static void print_tails(Follow *fs, size_t n, unsigned long lines) {
        for (size_t i = 0; i < n; i++) {
                struct stat st;

                if (fs[i].fd >= 0 && fstat(fs[i].fd, &st) == 0) {
                        fs[i].pos = tail_offset(fs[i].fd, st.st_size, lines);
                        read_until(&fs[i], st.st_size);
                }
        }
        fflush(stdout);
}

/* -f: every FOLLOW_INTERVAL_MS, until the reader goes away (stdout cannot be flushed). */
static void follow_all(Follow *fs, size_t n) {
        while (n > 0) {
                (void) poll(NULL, 0, FOLLOW_INTERVAL_MS);
                for (size_t i = 0; i < n; i++)
                        follow_step(&fs[i]);
                if (fflush(stdout) != 0)
                        break;
        }
}

static void follows_done(Follow *fs, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (fs[i].fd >= 0)
                        close(fs[i].fd);
                free(fs[i].partial);
        }
}

int ctl_logs(const char *socket, int argc, char **argv, bool json, ctl_roundtrip_fn roundtrip) {
        _cleanup_(json_decrefp) json_t *req = NULL, *ans = NULL;
        LogsArgs a = { .lines = 10, .json = json };
        _cleanup_free_ Follow *fs = NULL;
        size_t n_fs = 0;
        int r, ret;

        r = parse_args(argc, argv, &a);
        if (r >= 0)
                return r;
        req = json_pack("{s:s}", "cmd",
                        proto_commands[a.reopen ? PROTO_CMD_REOPEN_LOGS : PROTO_CMD_LOGFILE].name);
        if (req && a.name)
                json_object_set_new(req, "name", json_string(a.name));
        r = req ? roundtrip(socket, req, &ans) : -ENOMEM;
        if (r < 0) {
                fprintf(stderr, "upkeepctl: cannot talk to upkeepd at %s: %s\n", socket,
                        strerror(-r));
                return EXIT_UNREACHABLE;
        }
        if (!json_is_true(json_object_get(ans, "ok"))) {
                fprintf(stderr, "%s: ERROR (%s)\n", a.name ?: "logs",
                        json_string_value(json_object_get(ans, "error")) ?: "?");
                return ctl_exit_for_error(proto_answer_error(ans));
        }
        if (a.json) {
                json_dumpf(ans, stdout, JSON_COMPACT);
                putchar('\n');
                return EXIT_OK;
        }
        if (a.reopen) {
                printf("reopening the log files\n");
                return EXIT_OK;
        }
        fs = calloc(json_array_size(json_object_get(ans, "files")) + 1, sizeof(Follow));
        if (!fs)
                return EXIT_FAILED;
        ret = open_files(json_object_get(ans, "files"), a.follow, fs, &n_fs);
        prefix_lines = n_fs > 1;
        print_tails(fs, n_fs, a.lines);
        if (a.follow)
                follow_all(fs, n_fs);
        follows_done(fs, n_fs);
        return ret;
}
