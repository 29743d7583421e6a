/*
 * Held sockets (see sockets.h).  Every instance of a worker gets the same descriptor, so they
 * share one accept queue: a connection is taken by whichever instance accepts first, and one
 * that arrives while every instance is restarting waits in the queue.  SO_REUSEPORT is never
 * set: with a socket per instance, the connections queued on one are reset when it closes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "macro.h"
#include "sockets.h"
#include "userdb.h"

typedef struct Held {
        char *name;
        char *address;
        int fd;
} Held;

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

static void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

static Held *held;
static size_t n_held;

static void held_free(Held *h, size_t n) {
        for (size_t k = 0; k < n; k++) {
                free(h[k].name);
                free(h[k].address);
        }
        free(h);
}

/* Does pid have a descriptor whose link reads want ("socket:[inode]")? */
static bool holds(pid_t pid, const char *want) {
        _cleanup_(closedirp) DIR *fds = NULL;
        char path[300], link[64];
        struct dirent *fe;

        snprintf(path, sizeof path, "/proc/%d/fd", (int) pid);
        fds = opendir(path);
        while (fds && (fe = readdir(fds))) {
                ssize_t n;

                snprintf(path, sizeof path, "/proc/%d/fd/%s", (int) pid, fe->d_name);
                n = readlink(path, link, sizeof link - 1);
                if (n <= 0)
                        continue;
                link[n] = '\0';
                if (strcmp(link, want) == 0)
                        return true;
        }
        return false;
}

static void read_comm(pid_t pid, char *comm, size_t len) {
        _cleanup_(fclosep) FILE *f = NULL;
        char path[64];

        snprintf(path, sizeof path, "/proc/%d/comm", (int) pid);
        f = fopen(path, "re");
        if (!f || !fgets(comm, (int) len, f))
                snprintf(comm, len, "?");
        comm[strcspn(comm, "\n")] = '\0';
}

/*
 * A process whose descriptor table holds socket inode, or 0 (/proc may hide it).  Workers
 * share upkeepd's sockets, so an upkeepd among the holders is the one named.
 */
static pid_t inode_holder(unsigned long inode, char *comm, size_t len) {
        _cleanup_(closedirp) DIR *proc = opendir("/proc");
        char want[64];
        struct dirent *de;
        pid_t found = 0;

        if (!proc)
                return 0;
        snprintf(want, sizeof want, "socket:[%lu]", inode);
        while ((de = readdir(proc))) {
                pid_t pid = (pid_t) strtol(de->d_name, NULL, 10);
                char c[32];

                if (pid <= 0 || !holds(pid, want))
                        continue;
                read_comm(pid, c, sizeof c);
                if (!found || strcmp(c, "upkeepd") == 0) {
                        found = pid;
                        snprintf(comm, len, "%s", c);
                }
                if (strcmp(c, "upkeepd") == 0)
                        break;
        }
        return found;
}

/* The listening socket on that address in /proc/net, as an inode, or 0. */
static unsigned long address_inode(const ListenAddress *a) {
        static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
        char line[512];

        for (size_t k = 0; k < ELEMENTSOF(files); k++) {
                const char *file = a->family == LISTEN_UNIX ? "/proc/net/unix" : files[k];
                _cleanup_(fclosep) FILE *f = fopen(file, "re");
                unsigned long inode;

                while (f && fgets(line, sizeof line, f))
                        if (a->family == LISTEN_UNIX ? listen_procnet_unix(line, a->path, &inode)
                                                     : listen_procnet_tcp(line, a->port, &inode))
                                return inode;
                if (a->family == LISTEN_UNIX)
                        break;
        }
        return 0;
}

/* ", held by pid N (comm)" when /proc shows who holds the address, else "". */
static pid_t describe_holder(const ListenAddress *a, char *buf, size_t len) {
        unsigned long inode = address_inode(a);
        char comm[32] = "";
        pid_t pid = inode ? inode_holder(inode, comm, sizeof comm) : 0;

        if (pid > 0)
                snprintf(buf, len, ", held by pid %d (%s)", (int) pid, comm);
        else
                snprintf(buf, len, "%s", "");
        return pid;
}

/*
 * A socket file left by a process that is gone (nobody accepts on it) is replaced; one that
 * answers is in use; anything else there is not ours to remove.
 */
static int clear_unix_path(const ListenAddress *a) {
        _cleanup_close_ int probe = -1;
        struct stat st;

        if (lstat(a->path, &st) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (!S_ISSOCK(st.st_mode))
                return -EEXIST;
        probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe < 0)
                return negative_errno();
        if (connect(probe, (const struct sockaddr *) &a->sa, a->sa_len) == 0)
                return -EADDRINUSE;
        if (errno != ECONNREFUSED)
                return negative_errno();
        return unlink(a->path) < 0 ? negative_errno() : 0;
}

static int set_owner(const ListenConfig *l, const char *path) {
        _cleanup_free_ char *user = NULL;
        char *colon;
        uid_t uid = (uid_t) -1;
        gid_t gid = (gid_t) -1;

        if (chmod(path, (mode_t) l->mode) < 0)
                return negative_errno();
        if (!l->owner)
                return 0;
        user = strdup(l->owner);
        if (!user)
                return -ENOMEM;
        colon = strchr(user, ':');
        if (colon)
                *colon++ = '\0';
        if (*user && userdb_user(user, &uid, &gid) < 0)
                return -ESRCH;
        if (colon && *colon && userdb_group(colon, &gid) < 0)
                return -ESRCH;
        return chown(path, uid, gid) < 0 ? negative_errno() : 0;
}

static const char *bind_error(int r) {
        switch (r) {
        case -EADDRINUSE: return "address already in use";
        case -EEXIST: return "the path exists and is not a socket";
        case -ESRCH: return "owner: no such user or group";
        default: return strerror(-r);
        }
}

/* Bind and listen on l's address: the descriptor, or a negative errno with *err said. */
static int bind_one(const ListenConfig *l, char *err, size_t len) {
        _cleanup_close_ int fd = -1;
        ListenAddress a;
        char who[96] = "";
        int one = 1, r;

        if (listen_address_parse(l->address, &a, NULL) < 0)
                return -EINVAL; /* checked by the parse */
        fd = socket(a.sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                r = negative_errno();
                goto fail;
        }
        /* a restarted upkeepd rebinds at once, past connections of the previous one in
         * TIME_WAIT; it never lets two listeners share the port (that is SO_REUSEPORT) */
        if (a.family != LISTEN_UNIX)
                (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        r = a.family == LISTEN_UNIX ? clear_unix_path(&a) : 0;
        if (r >= 0 && bind(fd, (const struct sockaddr *) &a.sa, a.sa_len) < 0)
                r = negative_errno();
        if (r >= 0 && a.family == LISTEN_UNIX)
                r = set_owner(l, a.path);
        if (r >= 0 && listen(fd, l->backlog) < 0)
                r = negative_errno();
        if (r >= 0)
                return TAKE_FD(fd);
fail:
        if (r == -EADDRINUSE)
                (void) describe_holder(&a, who, sizeof who);
        snprintf(err, len, "listen '%s': cannot listen on %s: %s%s", l->name, l->address,
                 bind_error(r), who);
        return r;
}

static const Held *find_held(const char *address) {
        for (size_t k = 0; k < n_held; k++)
                if (strcmp(held[k].address, address) == 0)
                        return &held[k];
        return NULL;
}

/* The table for c: descriptors of held addresses are taken over (dup'ed), others bound. */
static int build(const Config *c, Held **ret, size_t *ret_n, char *err, size_t len) {
        Held *next = calloc(c->n_listens + 1, sizeof(Held));
        size_t n = 0;
        int r = 0;

        if (!next)
                return -ENOMEM;
        for (; n < c->n_listens; n++) {
                const ListenConfig *l = &c->listens[n];
                const Held *old = find_held(l->address);

                next[n] = (Held) { .name = strdup(l->name), .address = strdup(l->address),
                                   .fd = -1 };
                if (!next[n].name || !next[n].address) {
                        r = -ENOMEM;
                        snprintf(err, len, "out of memory");
                        break;
                }
                if (old) {
                        /* the accept queue goes on; a new backlog applies to it at once */
                        next[n].fd = fcntl(old->fd, F_DUPFD_CLOEXEC, 3);
                        if (next[n].fd >= 0)
                                (void) listen(next[n].fd, l->backlog);
                        else {
                                r = negative_errno();
                                snprintf(err, len, "listen '%s': %s", l->name, strerror(-r));
                        }
                } else
                        r = next[n].fd = bind_one(l, err, len);
                if (r < 0)
                        break;
        }
        if (r < 0) {
                for (size_t k = 0; k <= n && k < c->n_listens; k++)
                        if (next[k].fd >= 0)
                                close(next[k].fd);
                held_free(next, MIN(n + 1, c->n_listens));
                return r;
        }
        *ret = next;
        *ret_n = n;
        return 0;
}

/* Close the table; socket files of addresses the new one no longer holds are removed. */
static void retire(Held *old, size_t n) {
        for (size_t k = 0; k < n; k++) {
                ListenAddress a;

                if (!find_held(old[k].address) &&
                    listen_address_parse(old[k].address, &a, NULL) == 0 &&
                    a.family == LISTEN_UNIX)
                        (void) unlink(a.path);
                if (old[k].fd >= 0)
                        close(old[k].fd);
        }
        held_free(old, n);
}

int sockets_open(const Config *c, char *err, size_t len) {
        int r = build(c, &held, &n_held, err, len);

        for (size_t k = 0; r >= 0 && k < n_held; k++)
                log_info("listen %s: holding %s", held[k].name, held[k].address);
        return r;
}

int sockets_apply(const Config *c, char *err, size_t len) {
        Held *next, *old = held;
        size_t n, n_old = n_held;
        int r;

        r = build(c, &next, &n, err, len);
        if (r < 0)
                return r;
        for (size_t k = 0; k < n; k++)
                if (!find_held(next[k].address))
                        log_info("listen %s: holding %s", next[k].name, next[k].address);
        held = next, n_held = n;
        for (size_t k = 0; k < n_old; k++)
                if (!find_held(old[k].address))
                        log_info("listen %s: closed %s", old[k].name, old[k].address);
        retire(old, n_old);
        return 0;
}

int sockets_fd(const char *name) {
        for (size_t k = 0; k < n_held; k++)
                if (strcmp(held[k].name, name) == 0)
                        return held[k].fd;
        return -1;
}

void sockets_close_all(void) {
        Held *old = held;
        size_t n = n_held;

        held = NULL, n_held = 0;
        retire(old, n);
}

int sockets_check(const Config *c, char *err, size_t len) {
        for (size_t k = 0; k < c->n_listens; k++) {
                const ListenConfig *l = &c->listens[k];
                char who[96];
                ListenAddress a;
                int fd;

                if (listen_address_parse(l->address, &a, NULL) < 0)
                        continue;
                /* a socket file is left alone here: only a running upkeepd may replace it */
                if (a.family == LISTEN_UNIX) {
                        if (access(a.path, F_OK) == 0 && address_inode(&a) &&
                            describe_holder(&a, who, sizeof who) > 0 &&
                            !strstr(who, "(upkeepd)")) {
                                snprintf(err, len, "listen '%s': %s is in use%s", l->name,
                                         l->address, who);
                                return -EADDRINUSE;
                        }
                        continue;
                }
                fd = bind_one(l, err, len);
                if (fd >= 0) {
                        close(fd);
                        continue;
                }
                if (fd == -EADDRINUSE && describe_holder(&a, who, sizeof who) > 0 &&
                    strstr(who, "(upkeepd)"))
                        continue; /* the running upkeepd: it keeps holding it on reload */
                return fd;
        }
        return 0;
}
