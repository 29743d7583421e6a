/*
 * cgroup v2 files (see cgroup.h).  Every read is of a small kernel file; a process that exits
 * between listing and signalling is normal, never an error worth a log line.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cgroup.h"
#include "macro.h"
#include "proctable.h"

/* Read at most len - 1 bytes of path into buf, NUL-terminated. */
static ssize_t read_small(const char *path, char *buf, size_t len) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        size_t n = 0;

        if (fd < 0)
                return negative_errno();
        while (n < len - 1) {
                ssize_t k = read(fd, buf + n, len - 1 - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = '\0';
        return (ssize_t) n;
}

static int write_file(const char *dir, const char *name, const char *text) {
        char path[CGROUP_PATH_MAX];
        _cleanup_close_ int fd = -1;

        snprintf(path, sizeof path, "%s/%s", dir, name);
        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        if (write(fd, text, strlen(text)) < 0)
                return negative_errno();
        return 0;
}

static bool is_cgroup2(const char *path) {
        struct statfs fs;

        return statfs(path, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

int cgroup_own_dir(char *ret, size_t len, char *reason, size_t rlen) {
        static const char *const mounts[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
        char buf[4096], own[CGROUP_PATH_MAX];
        const char *mnt = NULL;
        ssize_t n;

        n = read_small("/proc/self/cgroup", buf, sizeof buf);
        if (n < 0 || proc_parse_cgroup(buf, own, sizeof own) < 0) {
                snprintf(reason, rlen, "no cgroup v2 hierarchy in /proc/self/cgroup");
                return -ENOENT;
        }
        for (size_t k = 0; k < ELEMENTSOF(mounts) && !mnt; k++)
                if (is_cgroup2(mounts[k]))
                        mnt = mounts[k];
        if (!mnt) {
                snprintf(reason, rlen, "no cgroup v2 file system mounted");
                return -ENOENT;
        }
        if ((size_t) snprintf(ret, len, "%s%s", mnt, strcmp(own, "/") == 0 ? "" : own) >= len) {
                snprintf(reason, rlen, "cgroup path too long");
                return -ENAMETOOLONG;
        }
        if (access(ret, W_OK) < 0) {
                int r = negative_errno();

                snprintf(reason, rlen, "%s is not writable: %s", ret, strerror(-r));
                return r;
        }
        return 0;
}

void cgroup_instance_dir(const char *base, const char *name, char *ret, size_t len) {
        size_t at = (size_t) snprintf(ret, len, "%s/w-", base);

        for (const char *c = name; *c && at + 1 < len; c++)
                ret[at++] = isalnum((unsigned char) *c) || strchr("._:-", *c) ? *c : '_';
        ret[at < len ? at : len - 1] = '\0';
}

int cgroup_move(const char *dir, pid_t pid) {
        char text[32];

        snprintf(text, sizeof text, "%d", (int) pid);
        return write_file(dir, "cgroup.procs", text);
}

int cgroup_open_dir(const char *dir) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

        return fd < 0 ? negative_errno() : fd;
}

static int parse_usage(const char *buf, uint64_t *ret) {
        unsigned long long u;

        /* "usage_usec N" is the first line */
        if (sscanf(buf, "usage_usec %llu", &u) != 1)
                return -EIO;
        *ret = u;
        return 0;
}

int cgroup_open_cpu_stat(const char *dir) {
        char path[CGROUP_PATH_MAX];
        int fd;

        snprintf(path, sizeof path, "%s/cpu.stat", dir);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        return fd < 0 ? negative_errno() : fd;
}

int cgroup_read_cpu_usec(int fd, uint64_t *ret) {
        char buf[512];
        ssize_t n;

        /* a read from offset 0 has the kernel write the file anew */
        do
                n = pread(fd, buf, sizeof buf - 1, 0);
        while (n < 0 && errno == EINTR);
        if (n <= 0)
                return n < 0 ? negative_errno() : -EIO;
        buf[n] = '\0';
        return parse_usage(buf, ret);
}

int cgroup_pids(const char *dir, pid_t **ret, size_t *ret_n) {
        char path[CGROUP_PATH_MAX], line[32];
        pid_t *l = NULL;
        size_t n = 0;
        FILE *f;

        snprintf(path, sizeof path, "%s/cgroup.procs", dir);
        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        while (fgets(line, sizeof line, f)) {
                pid_t *nl;
                int pid = atoi(line);

                if (pid <= 0)
                        continue;
                nl = reallocarray(l, n + 1, sizeof *l);
                if (!nl) {
                        free(l);
                        fclose(f);
                        return -ENOMEM;
                }
                l = nl;
                l[n++] = pid;
        }
        fclose(f);
        *ret = l;
        *ret_n = n;
        return 0;
}

void cgroup_signal(const char *dir, int sig) {
        /* cgroup.kill (Linux 5.14) also catches what forks meanwhile; else a few passes */
        if (sig == SIGKILL && write_file(dir, "cgroup.kill", "1") == 0)
                return;
        for (int pass = 0; pass < (sig == SIGKILL ? 8 : 1); pass++) {
                _cleanup_free_ pid_t *pids = NULL;
                size_t n = 0;

                if (cgroup_pids(dir, &pids, &n) < 0 || n == 0)
                        return;
                for (size_t k = 0; k < n; k++)
                        if (pids[k] != getpid()) {
                                (void) kill(pids[k], sig);
                                if (sig != SIGKILL && sig != SIGCONT)
                                        (void) kill(pids[k], SIGCONT);
                        }
        }
}

int cgroup_alive(const char *dir) {
        _cleanup_free_ pid_t *l = NULL;
        size_t n = 0;
        int r = cgroup_pids(dir, &l, &n);

        return r == -ENOENT ? 0 : r < 0 ? r : (int) MIN(n, (size_t) INT_MAX);
}

int cgroup_populated(const char *dir) {
        char path[CGROUP_PATH_MAX], buf[256];
        int r;

        snprintf(path, sizeof path, "%s/cgroup.events", dir);
        if (read_small(path, buf, sizeof buf) < 0)
                return negative_errno();
        r = cgroup_parse_populated(buf);
        return r < 0 ? -EIO : r;
}

int cgroup_remove_tree(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        int r = 0;

        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        while ((de = readdir(d))) {
                char sub[CGROUP_PATH_MAX];

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
                if (cgroup_remove_tree(sub) < 0)
                        r = -EBUSY;
        }
        closedir(d);
        if (rmdir(dir) < 0 && errno != ENOENT)
                r = negative_errno();
        return r;
}

static const struct {
        unsigned mask;
        const char *name;
} controllers[] = {
        { CGROUP_MEMORY, "memory" },
        { CGROUP_CPU, "cpu" },
};

/* Is word one of the space-separated words of list? */
static bool has_word(const char *list, const char *word) {
        size_t len = strlen(word);

        for (const char *p = list; (p = strstr(p, word)); p += len)
                if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\n' || !p[len]))
                        return true;
        return false;
}

/* Those of mask that dir's file (cgroup.controllers, cgroup.subtree_control) names. */
static unsigned controllers_in(const char *dir, const char *file, unsigned mask) {
        char path[CGROUP_PATH_MAX], buf[512];
        unsigned found = 0;

        snprintf(path, sizeof path, "%s/%s", dir, file);
        if (read_small(path, buf, sizeof buf) < 0)
                return 0;
        for (size_t k = 0; k < ELEMENTSOF(controllers); k++)
                if ((mask & controllers[k].mask) && has_word(buf, controllers[k].name))
                        found |= controllers[k].mask;
        return found;
}

unsigned cgroup_offered(const char *own) {
        return controllers_in(own, "cgroup.controllers", CGROUP_MEMORY | CGROUP_CPU);
}

/* Those of mask that dir's cgroup.subtree_control holds. */
static unsigned subtree_has(const char *dir, unsigned mask) {
        return controllers_in(dir, "cgroup.subtree_control", mask);
}

/* Each controller of mask written into dir's cgroup.subtree_control with sign ('+', '-'),
 * one by one: one the kernel refuses must not keep the others out. */
static void subtree_write(const char *dir, unsigned mask, char sign) {
        for (size_t k = 0; k < ELEMENTSOF(controllers); k++) {
                char text[32];

                if (!(mask & controllers[k].mask))
                        continue;
                snprintf(text, sizeof text, "%c%s", sign, controllers[k].name);
                (void) write_file(dir, "cgroup.subtree_control", text);
        }
}

unsigned cgroup_enable(const char *own, const char *base, unsigned *ret_added) {
        unsigned mask = cgroup_offered(own), had;

        *ret_added = 0;
        if (mask == 0)
                return 0;
        had = subtree_has(own, mask);
        subtree_write(own, mask & ~had, '+');
        mask = subtree_has(own, mask);
        *ret_added = mask & ~had;
        if (mask == 0)
                return 0;
        subtree_write(base, mask, '+');
        return subtree_has(base, mask);
}

void cgroup_disable(const char *own, const char *base, unsigned enabled, unsigned added) {
        subtree_write(base, enabled, '-');
        subtree_write(own, added, '-');
}

const char *cgroup_controllers_string(unsigned mask, char *buf, size_t len) {
        size_t n = 0;

        buf[0] = '\0';
        for (size_t k = 0; k < ELEMENTSOF(controllers); k++)
                if (mask & controllers[k].mask)
                        n += (size_t) snprintf(buf + n, n < len ? len - n : 0, "%s%s",
                                               n ? " " : "", controllers[k].name);
        if (n == 0)
                snprintf(buf, len, "none");
        return buf;
}

int cgroup_write_values(const char *dir, unsigned mask, const CgValues *v, const char **ret_file) {
        const struct {
                unsigned mask;
                const char *file, *value;
        } files[] = {
                /* memory.high before memory.max: a lowered max then finds the high in place */
                { CGROUP_MEMORY, "memory.high", v->memory_high },
                { CGROUP_MEMORY, "memory.max", v->memory_max },
                { CGROUP_MEMORY, "memory.oom.group", v->oom_group },
                { CGROUP_CPU, "cpu.max", v->cpu_max },
        };
        int first = 0;

        for (size_t k = 0; k < ELEMENTSOF(files); k++) {
                int r;

                if (!(mask & files[k].mask))
                        continue;
                r = write_file(dir, files[k].file, files[k].value);
                if (r < 0 && first == 0) {
                        first = r;
                        *ret_file = files[k].file;
                }
        }
        return first;
}

int cgroup_oom_kills(const char *dir, uint64_t *ret) {
        char path[CGROUP_PATH_MAX], buf[512];

        ssize_t n;

        snprintf(path, sizeof path, "%s/memory.events", dir);
        n = read_small(path, buf, sizeof buf);
        if (n < 0)
                return (int) n;
        return cg_parse_oom_kills(buf, ret) < 0 ? -EIO : 0;
}
