/*
 * Every process of an instance (see proctree.h).  The cgroup side is a few file writes
 * (cgroup.c); the fallback scans /proc, reading each process's stat and environment, and lets
 * lib/proctable.c give each process its instance.  A process that exits while being read is
 * simply not there: nothing here logs a failed /proc read.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cglimits.h"
#include "cgroup.h"
#include "log.h"
#include "proctable.h"
#include "proctree.h"
#include "strv.h"

/* an environment is read whole up to this size (ARG_MAX is 2 MiB by default) */
#define ENVIRON_MAX (4U * 1024 * 1024)
/* a /proc scan serves tree_pids() for this long: the samples of many instances, whose timers
 * fire together, and a status answer, cost one scan, not one each */
#define SCAN_REUSE (200 * USEC_PER_MSEC)
/* how long a kill of an instance's tree waits for it to be gone (the loop waits meanwhile) */
#define KILL_WAIT (100 * USEC_PER_MSEC)
/* how long upkeepd's exit waits for the instances' cgroups to empty */
#define EXIT_WAIT (2 * USEC_PER_SEC)

typedef struct TopChild {
        pid_t pid;
        bool main;               /* an instance's main process */
        char *tree;              /* else its UPKEEP_TREE, NULL: none */
} TopChild;

/*
 * A main process, with its /proc/PID/stat and /proc/PID/task/PID/children open from its first
 * walk (-1: not yet, or they could not be): each walk then reads them with pread, without a
 * path lookup.  They name that process only (read after it is gone, they fail), and close when
 * upkeepd reaps it (tree_ended).
 */
typedef struct Main {
        pid_t pid;
        int stat_fd, children_fd;
        bool opened;             /* tried */
        ProcStat st;             /* its stat as the walk number st_walk read it, for one */
        unsigned long st_walk;   /* tree_proc_stat() (st_fresh) */
        bool st_fresh;
} Main;

typedef struct ProcInfo {
        pid_t pid, ppid;
        char *tree;              /* its UPKEEP_TREE, NULL: none */
} ProcInfo;

struct Tree {
        char token[48];          /* "<pid>.<start time>": names this run */
        char *cgroup;            /* our sub-tree; NULL: no cgroups */
        ProcInfo *scan;          /* the last /proc scan, for tree_pids() */
        size_t n_scan;
        usec_t scan_at;
        bool scanned;
        char why[256];           /* why there are no cgroups, for tree_log_mode() */
        Main *mains;             /* the main process of every instance (tree_started) */
        unsigned long walks;     /* walk_members() calls so far */
        size_t n_mains;
        bool no_children_files;  /* no /proc/PID/task/TID/children: scan all of /proc */
        bool left;               /* tree_leave() removed our cgroups */
        char *env;               /* buffer for /proc/PID/environ */
        size_t env_size;
        char **killed;           /* instances whose cgroup a cgroup.kill hit (see tree_prepare) */
        TopChild *top;           /* upkeepd's children at top_at (top_valid), for tree_pids() */
        size_t n_top;
        usec_t top_at;
        bool top_valid;
        CgLimits limits;         /* the memory and cpu controllers (cglimits.c) */
};

const char *tree_token(const Tree *t) {
        return t->token;
}

const char *tree_cgroup(const Tree *t) {
        return t->cgroup;
}

static usec_t mono_now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

/* Read a /proc file whole into t->env (grown as needed, up to ENVIRON_MAX). */
static ssize_t read_proc(Tree *t, const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        size_t n = 0;

        if (fd < 0)
                return -1;
        for (;;) {
                ssize_t k;

                if (n + 1 >= t->env_size) {
                        size_t sz = t->env_size ? t->env_size * 2 : 64 * 1024;
                        char *b;

                        if (sz > ENVIRON_MAX)
                                break;
                        b = realloc(t->env, sz);
                        if (!b)
                                break;
                        t->env = b, t->env_size = sz;
                }
                k = read(fd, t->env + n, t->env_size - 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -1;
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        t->env[n] = '\0';
        return (ssize_t) n;
}

static void scan_free(Tree *t) {
        for (size_t k = 0; k < t->n_scan; k++)
                free(t->scan[k].tree);
        free(t->scan);
        t->scan = NULL;
        t->n_scan = 0;
        t->scanned = false;
}

/* One process of the scan: its parent, and its UPKEEP_TREE; false when gone or a zombie. */
static bool scan_one(Tree *t, pid_t pid, ProcInfo *ret) {
        char path[64];
        const char *v;
        ProcStat st;
        size_t vl;
        ssize_t n;

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        if (read_proc(t, path) <= 0 || proc_parse_stat(t->env, &st) < 0 || st.state == 'Z' ||
            st.state == 'X')
                return false;
        *ret = (ProcInfo) { .pid = pid, .ppid = st.ppid };
        snprintf(path, sizeof path, "/proc/%d/environ", (int) pid);
        n = read_proc(t, path);
        if (n > 0 && (v = proc_env_find(t->env, (size_t) n, PROC_TREE_VAR, &vl)))
                ret->tree = strndup(v, vl);
        return true;
}

static int scan_proc(Tree *t) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        pid_t self = getpid();

        scan_free(t);
        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                char *end;
                long pid = strtol(de->d_name, &end, 10);
                ProcInfo p, *l;

                if (*end || pid <= 1 || pid == self || !scan_one(t, (pid_t) pid, &p))
                        continue;
                l = reallocarray(t->scan, t->n_scan + 1, sizeof *l);
                if (!l) {
                        free(p.tree);
                        break;
                }
                t->scan = l;
                t->scan[t->n_scan++] = p;
        }
        closedir(d);
        t->scanned = true;
        return 0;
}

static bool tree_is(const char *tree, const char *token, const char *name) {
        size_t tl = strlen(token);

        if (!tree || strncmp(tree, token, tl) != 0 || tree[tl] != '/')
                return false;
        return !name || strcmp(tree + tl + 1, name) == 0;
}

/* The members of the scan for (token, name), with main's descendants when main > 0. */
static int scan_members(Tree *t, const char *token, const char *name, pid_t main, pid_t **ret,
                        size_t *ret_n) {
        _cleanup_free_ ProcEntry *e = calloc(t->n_scan + 1, sizeof *e);
        pid_t *l = calloc(t->n_scan + 1, sizeof *l);
        size_t n = 0;

        if (!e || !l) {
                free(l);
                return -ENOMEM;
        }
        for (size_t k = 0; k < t->n_scan; k++)
                e[k] = (ProcEntry) { .pid = t->scan[k].pid, .ppid = t->scan[k].ppid,
                                     .env_owner = tree_is(t->scan[k].tree, token, name) ? 0 : -1 };
        proc_attribute(e, t->n_scan, &main, main > 0 ? 1 : 0);
        for (size_t k = 0; k < t->n_scan; k++)
                if (e[k].owner == 0)
                        l[n++] = e[k].pid;
        *ret = l;
        *ret_n = n;
        return 0;
}

static int push(pid_t **l, size_t *n, pid_t pid) {
        pid_t *nl;

        /* a bound for a tree read while it changes: far above any real one */
        if (*n >= 1000000)
                return -E2BIG;
        nl = reallocarray(*l, *n + 1, sizeof *nl);
        if (!nl)
                return -ENOMEM;
        *l = nl;
        (*l)[(*n)++] = pid;
        return 0;
}

static Main *find_main(const Tree *t, pid_t pid) {
        for (size_t k = 0; k < t->n_mains; k++)
                if (t->mains[k].pid == pid)
                        return &t->mains[k];
        return NULL;
}

static bool is_main(const Tree *t, pid_t pid) {
        return find_main(t, pid);
}

static void main_close(Main *m) {
        if (m->stat_fd >= 0)
                (void) close(m->stat_fd);
        if (m->children_fd >= 0)
                (void) close(m->children_fd);
        m->stat_fd = m->children_fd = -1;
}

/*
 * An open /proc file read whole from its start into t->env.  These files are seq_files, which
 * fill all the room a read gives them: a read that leaves room is the whole file.
 */
static ssize_t pread_proc(Tree *t, int fd) {
        ssize_t k;

        if (!t->env_size) {
                char *b = malloc(64 * 1024);

                if (!b)
                        return -1;
                t->env = b, t->env_size = 64 * 1024;
        }
        do
                k = pread(fd, t->env, t->env_size - 1, 0);
        while (k < 0 && errno == EINTR);
        if (k < 0 || (size_t) k >= t->env_size - 1)
                return -1; /* gone, or too long for one read: the caller reads it by path */
        t->env[k] = '\0';
        return k;
}

/* The main process's stat by its open file; false when not open or unreadable. */
static bool main_stat(Tree *t, Main *m, ProcStat *st) {
        char path[64];

        if (!m->opened) {
                m->opened = true;
                snprintf(path, sizeof path, "/proc/%d/stat", (int) m->pid);
                m->stat_fd = open(path, O_RDONLY | O_CLOEXEC);
                snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int) m->pid,
                         (int) m->pid);
                /* only the fallback walks */
                if (!t->cgroup)
                        m->children_fd = open(path, O_RDONLY | O_CLOEXEC);
        }
        return m->stat_fd >= 0 && pread_proc(t, m->stat_fd) > 0 &&
               proc_parse_stat(t->env, st) == 0;
}

/* Append the pids a children file lists. */
static int push_listed(const char *text, pid_t **l, size_t *n) {
        int r = 0;

        for (const char *p = text; *p && r >= 0;) {
                char *end;
                long c = strtol(p, &end, 10);

                if (end == p)
                        break;
                if (c > 1)
                        r = push(l, n, (pid_t) c);
                p = end;
        }
        return r;
}

/*
 * Append the children of pid, from each of its threads' children file; -ENOSYS without them.
 * A process with one thread (its task directory's link count is 2 + its threads, one stat)
 * has one such file, read without listing the directory: most workers, and the cheapest walk.
 */
static int children_of(Tree *t, pid_t pid, pid_t **l, size_t *n) {
        Main *m = find_main(t, pid);
        char path[320];
        struct dirent *de;
        struct stat sb;
        ProcStat st;
        DIR *d;
        int r = 0;

        /* a main process with one thread: its files are open, its stat kept for memwatch */
        if (m && main_stat(t, m, &st)) {
                m->st = st;
                m->st_walk = t->walks;
                m->st_fresh = true;
                if (st.threads == 1 && m->children_fd >= 0 && pread_proc(t, m->children_fd) >= 0)
                        return push_listed(t->env, l, n);
        }
        snprintf(path, sizeof path, "/proc/%d/task", (int) pid);
        if (stat(path, &sb) < 0)
                return 0; /* gone */
        if (sb.st_nlink == 3) {
                snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int) pid, (int) pid);
                if (read_proc(t, path) < 0)
                        /* our own: the kernel has no such file; another: gone meanwhile */
                        return errno == ENOENT && pid == getpid() ? -ENOSYS : 0;
                return push_listed(t->env, l, n);
        }
        d = opendir(path);
        if (!d)
                return 0; /* gone */
        while (r >= 0 && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof path, "/proc/%d/task/%s/children", (int) pid, de->d_name);
                if (read_proc(t, path) < 0) {
                        if (errno == ENOENT && pid == getpid())
                                r = -ENOSYS; /* our own thread: the kernel has no such file */
                        continue;
                }
                r = push_listed(t->env, l, n);
        }
        closedir(d);
        return r;
}

static void top_free(Tree *t) {
        for (size_t k = 0; k < t->n_top; k++)
                free(t->top[k].tree);
        free(t->top);
        t->top = NULL;
        t->n_top = 0;
        t->top_valid = false;
}

/*
 * upkeepd's children, each a main process or an orphan with its UPKEEP_TREE, in t->top.  At
 * `now` (> 0), the list of an earlier call at the same `now` is used again: the samples of one
 * wake-up share one read of them (and of the orphans' environments), what changes meanwhile is
 * seen by the next.  A kill passes 0 and reads them afresh.
 */
static int top_children(Tree *t, usec_t now) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r;

        if (now > 0 && t->top_valid && t->top_at == now)
                return 0;
        top_free(t);
        r = children_of(t, getpid(), &pids, &n);
        if (r == -ENOSYS)
                t->no_children_files = true;
        if (r < 0)
                return r;
        t->top = n ? calloc(n, sizeof *t->top) : NULL;
        if (n && !t->top)
                return -ENOMEM;
        for (size_t k = 0; k < n; k++) {
                TopChild *c = &t->top[t->n_top++];

                *c = (TopChild) { .pid = pids[k], .main = is_main(t, pids[k]) };
                if (!c->main) {
                        char path[64];
                        const char *v;
                        ssize_t len;
                        size_t vl;

                        snprintf(path, sizeof path, "/proc/%d/environ", (int) pids[k]);
                        len = read_proc(t, path);
                        if (len > 0 && (v = proc_env_find(t->env, (size_t) len, PROC_TREE_VAR,
                                                          &vl)))
                                c->tree = strndup(v, vl);
                }
        }
        t->top_at = now;
        t->top_valid = now > 0;
        return 0;
}

/*
 * The CPU time of the whole process pid (every thread, those gone included), in ns, from its
 * CPU clock: one system call, no file, and it moves whenever the process ran, even for a few
 * microseconds (its /proc/PID/stat counts clock ticks).  Any process's clock can be read.
 * PROC_CLOCK_NONE when there is no such process.
 */
static uint64_t proc_clock(pid_t pid) {
        /* the kernel's MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED) */
        clockid_t id = (clockid_t) ((~(unsigned) pid << 3) | 2U);
        struct timespec ts;

        if (clock_gettime(id, &ts) < 0)
                return PROC_CLOCK_NONE;
        return (uint64_t) ts.tv_sec * 1000000000U + (uint64_t) ts.tv_nsec;
}

/* Room for clock k of the walk; false: out of memory. */
static bool clock_room(uint64_t **clocks, size_t *size, size_t k) {
        uint64_t *l;
        size_t sz;

        if (k < *size)
                return true;
        sz = MAX(k + 1, *size * 2);
        l = reallocarray(*clocks, sz, sizeof *l);
        if (!l)
                return false;
        *clocks = l;
        *size = sz;
        return true;
}

/*
 * The members of instance name (NULL: of any instance) of this run, found from upkeepd down:
 * every process a worker starts is a descendant of upkeepd (its child subreaper catches the
 * orphans).  A child of upkeepd is a main process (the instance's, or another's: skipped with
 * everything below it) or an orphan that its environment gives to an instance; everything below
 * a member is a member.  -ENOSYS without children files.
 *
 * With ret_clocks, each member's CPU clock is read just before its children are: whatever it
 * does after that read (fork, exit, fault a page in) moves its clock, which is what lets a
 * sample stand for the next ones while no clock moves (memwatch.c).
 */
static int walk_members(Tree *t, const char *name, pid_t main, usec_t now, pid_t **ret,
                        uint64_t **ret_clocks, size_t *ret_n) {
        uint64_t *clocks = NULL;
        size_t n = 0, n_clocks = 0;
        pid_t *l = NULL;
        int r;

        t->walks++;
        if (t->no_children_files)
                return -ENOSYS;
        r = top_children(t, now);
        if (r < 0)
                return r;
        for (size_t k = 0; k < t->n_top && r >= 0; k++) {
                const TopChild *c = &t->top[k];

                if (c->main ? c->pid == main : tree_is(c->tree, t->token, name))
                        r = push(&l, &n, c->pid);
        }
        for (size_t k = 0; k < n && r >= 0; k++) {
                if (ret_clocks) {
                        if (!clock_room(&clocks, &n_clocks, k)) {
                                r = -ENOMEM;
                                break;
                        }
                        clocks[k] = proc_clock(l[k]);
                }
                r = children_of(t, l[k], &l, &n);
        }
        if (r < 0) {
                /* a tree too large to list whole is no proof of anything */
                free(clocks);
                clocks = NULL;
                if (r != -E2BIG) {
                        free(l);
                        return r;
                }
        }
        *ret = l;
        *ret_n = n;
        if (ret_clocks)
                *ret_clocks = clocks;
        return 0;
}

/* The members of (token, name, main): walked down from upkeepd for this run, else scanned. */
static int members(Tree *t, const char *token, const char *name, pid_t main, pid_t **ret,
                   size_t *ret_n) {
        if (token == t->token && walk_members(t, name, main, 0, ret, NULL, ret_n) == 0)
                return 0;
        if (scan_proc(t) < 0)
                return -EIO;
        return scan_members(t, token, name, main, ret, ret_n);
}

/* Signal the members of (token, name, main); returns how many were signalled. */
static size_t signal_scan(Tree *t, const char *token, const char *name, pid_t main, int sig) {
        _cleanup_free_ pid_t *l = NULL;
        size_t n = 0;

        if (members(t, token, name, main, &l, &n) < 0)
                return 0;
        for (size_t k = 0; k < n; k++) {
                (void) kill(l[k], sig);
                if (sig != SIGKILL && sig != SIGCONT)
                        (void) kill(l[k], SIGCONT);
        }
        return n;
}

/*
 * A cgroup that cgroup.kill hit kills every child later started in it with CLONE_INTO_CGROUP
 * (seen on Linux 6.x), so it is made anew before the next spawn; while it cannot be removed
 * (still populated), its child joins it the slow way, by writing cgroup.procs.
 */
static void mark_killed(Tree *t, const char *name) {
        if (!strv_contains(t->killed, name))
                (void) strv_extend(&t->killed, name);
}

static bool renew_killed(Tree *t, const char *name, const char *dir) {
        if (!strv_contains(t->killed, name))
                return true;
        if (rmdir(dir) < 0 && errno != ENOENT)
                return false;
        strv_remove(t->killed, name);
        return true;
}

int tree_prepare(Tree *t, const char *name, char **ret_env, int *ret_fd) {
        char dir[CGROUP_PATH_MAX];
        bool fresh = true;
        int fd = -1;

        if (asprintf(ret_env, PROC_TREE_VAR "=%s/%s", t->token, name) < 0)
                return -ENOMEM;
        if (t->cgroup) {
                cgroup_instance_dir(t->cgroup, name, dir, sizeof dir);
                fresh = renew_killed(t, name, dir);
                if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                        fd = negative_errno();
                else
                        fd = cgroup_open_dir(dir);
                if (fd < 0)
                        log_msg(LOG_WARNING, name, "cannot make cgroup %s (%s): its processes "
                                "are found by their environment", dir, strerror(-fd));
        }
        *ret_fd = fd < 0 ? -1 : fd;
        return fd >= 0 && !fresh;
}

void tree_signal(Tree *t, const char *name, pid_t main, int sig) {
        char dir[CGROUP_PATH_MAX];

        if (t->cgroup) {
                cgroup_instance_dir(t->cgroup, name, dir, sizeof dir);
                if (sig == SIGKILL)
                        mark_killed(t, name);
                cgroup_signal(dir, sig);
                return;
        }
        (void) signal_scan(t, t->token, name, main, sig);
}

static bool wait_empty(const char *dir, usec_t wait, usec_t step);
static void drop_zombies(Tree *t, pid_t *l, size_t *n);

/*
 * SIGKILL everything, then wait up to KILL_WAIT until it is gone: a restart that follows at
 * once must not find the old run's port still bound.  A process forking as fast as it can
 * outruns one pass: the fallback repeats while there are some.
 */
void tree_kill(Tree *t, const char *name, pid_t main) {
        char dir[CGROUP_PATH_MAX];
        usec_t until = mono_now() + KILL_WAIT;

        if (t->cgroup) {
                cgroup_instance_dir(t->cgroup, name, dir, sizeof dir);
                /* the usual case, a main process that was alone: nothing to kill or wait for
                 * (cgroup.events says "populated 0" only some milliseconds after the exit) */
                if (cgroup_alive(dir) == 0)
                        return;
                mark_killed(t, name);
                cgroup_signal(dir, SIGKILL);
                (void) wait_empty(dir, KILL_WAIT, USEC_PER_MSEC);
                return;
        }
        for (int pass = 0;; pass++) {
                _cleanup_free_ pid_t *l = NULL;
                size_t n = 0;

                if (members(t, t->token, name, main, &l, &n) < 0)
                        return;
                drop_zombies(t, l, &n);
                if (n == 0 || mono_now() >= until)
                        return;
                for (size_t k = 0; k < n; k++)
                        (void) kill(l[k], SIGKILL);
                if (pass > 0)
                        (void) usleep(USEC_PER_MSEC);
        }
}

void tree_forget(Tree *t, const char *name) {
        char dir[CGROUP_PATH_MAX];

        if (!t->cgroup)
                return;
        cgroup_instance_dir(t->cgroup, name, dir, sizeof dir);
        (void) rmdir(dir); /* EBUSY: a successor of the same name runs in it */
}

void tree_started(Tree *t, pid_t main) {
        Main *l = reallocarray(t->mains, t->n_mains + 1, sizeof *l);

        if (l) {
                t->mains = l;
                t->mains[t->n_mains++] = (Main) { .pid = main, .stat_fd = -1, .children_fd = -1 };
        }
        t->top_valid = false;
}

void tree_ended(Tree *t, pid_t main) {
        t->top_valid = false;
        for (size_t k = 0; k < t->n_mains; k++)
                if (t->mains[k].pid == main) {
                        main_close(&t->mains[k]);
                        t->mains[k] = t->mains[--t->n_mains];
                        return;
                }
}

/* Drop the zombies of l: exited, waiting for their parent, no longer the instance's. */
static void drop_zombies(Tree *t, pid_t *l, size_t *n) {
        size_t keep = 0;

        for (size_t k = 0; k < *n; k++) {
                char path[64];
                ProcStat st;

                snprintf(path, sizeof path, "/proc/%d/stat", (int) l[k]);
                if (read_proc(t, path) > 0 && proc_parse_stat(t->env, &st) == 0 &&
                    st.state != 'Z' && st.state != 'X')
                        l[keep++] = l[k];
        }
        *n = keep;
}

static int pids(Tree *t, const char *name, pid_t main, usec_t now, bool alive, pid_t **ret,
                uint64_t **ret_clocks, size_t *ret_n) {
        char dir[CGROUP_PATH_MAX];
        int r;

        *ret = NULL;
        *ret_n = 0;
        if (ret_clocks)
                *ret_clocks = NULL;
        if (t->cgroup) {
                cgroup_instance_dir(t->cgroup, name, dir, sizeof dir);
                r = cgroup_pids(dir, ret, ret_n);
                return r == -ENOENT ? 0 : r;
        }
        if (walk_members(t, name, main, now, ret, ret_clocks, ret_n) == 0) {
                if (alive)
                        drop_zombies(t, *ret, ret_n);
                return 0;
        }
        if (!t->scanned || now < t->scan_at || now - t->scan_at >= SCAN_REUSE) {
                r = scan_proc(t);
                if (r < 0)
                        return r;
                t->scan_at = now;
        }
        return scan_members(t, t->token, name, main, ret, ret_n);
}

int tree_pids(Tree *t, const char *name, pid_t main, usec_t now, pid_t **ret, size_t *ret_n) {
        return pids(t, name, main, now, true, ret, NULL, ret_n);
}

int tree_pids_raw(Tree *t, const char *name, pid_t main, usec_t now, pid_t **ret,
                  uint64_t **ret_clocks, size_t *ret_n) {
        return pids(t, name, main, now, false, ret, ret_clocks, ret_n);
}

bool tree_clocks_unchanged(const pid_t *pids, const uint64_t *clocks, size_t n) {
        for (size_t k = 0; k < n; k++)
                if (clocks[k] == PROC_CLOCK_NONE || proc_clock(pids[k]) != clocks[k])
                        return false;
        return true;
}

bool tree_proc_stat(Tree *t, pid_t pid, ProcStat *ret) {
        Main *m = find_main(t, pid);
        char path[64];

        /* read by this walk, after the process's clock: once, by the sample that walked */
        if (m && m->st_fresh && m->st_walk == t->walks) {
                *ret = m->st;
                m->st_fresh = false;
        } else if (!m || !main_stat(t, m, ret)) {
                snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
                if (read_proc(t, path) <= 0 || proc_parse_stat(t->env, ret) < 0)
                        return false;
        }
        return ret->state != 'Z' && ret->state != 'X';
}

int tree_open_cpu_stat(Tree *t, const char *name) {
        char dir[CGROUP_PATH_MAX];

        if (!t->cgroup)
                return -ENOENT;
        cgroup_instance_dir(t->cgroup, name, dir, sizeof dir);
        return cgroup_open_cpu_stat(dir);
}

bool tree_cgroup_valid(const char *cgroup) {
        const char *last = cgroup ? strrchr(cgroup, '/') : NULL;

        return last && strncmp(cgroup, "/sys/fs/cgroup/", 15) == 0 && !strstr(cgroup, "/..") &&
               strncmp(last, "/upkeepd-", 9) == 0;
}

/* Wait up to `wait` for the cgroup at dir to empty; true when it did. */
static bool wait_empty(const char *dir, usec_t wait, usec_t step) {
        usec_t until = mono_now() + wait;

        for (;;) {
                if (cgroup_populated(dir) <= 0)
                        return true;
                if (mono_now() >= until)
                        return false;
                (void) usleep((useconds_t) step);
        }
}

void tree_signal_run(Tree *t, const char *token, const char *cgroup, const char *name, int sig) {
        char dir[CGROUP_PATH_MAX];

        if (cgroup && tree_cgroup_valid(cgroup)) {
                if (name)
                        cgroup_instance_dir(cgroup, name, dir, sizeof dir);
                else
                        snprintf(dir, sizeof dir, "%s", cgroup);
                /* the whole sub-tree: cgroup.kill reaches every cgroup below */
                cgroup_signal(dir, sig);
        }
        if (token && token[0]) {
                if (sig != SIGKILL)
                        (void) signal_scan(t, token, name, 0, sig);
                else
                        for (int pass = 0; pass < 8; pass++)
                                if (signal_scan(t, token, name, 0, SIGKILL) == 0)
                                        break;
        }
        if (sig == SIGKILL && !name && cgroup && tree_cgroup_valid(cgroup)) {
                if (!wait_empty(cgroup, EXIT_WAIT, 10 * USEC_PER_MSEC) ||
                    cgroup_remove_tree(cgroup) < 0)
                        log_warning("cannot remove cgroup %s of the previous upkeepd", cgroup);
        }
}

/*
 * The empty sub-trees of upkeepds that are gone (killed with SIGKILL, with no successor to
 * recover them through a state file) are removed: never one whose upkeepd lives (its name
 * says pid and start time), never one that holds a process.
 */
static void sweep_dead(Tree *t, const char *own) {
        DIR *d = opendir(own);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                char dir[CGROUP_PATH_MAX], path[64];
                unsigned long long start;
                ProcStat st;
                int pid;

                if (de->d_type != DT_DIR ||
                    sscanf(de->d_name, "upkeepd-%d.%llu", &pid, &start) != 2 || pid <= 0)
                        continue;
                snprintf(path, sizeof path, "/proc/%d/stat", pid);
                if (read_proc(t, path) > 0 && proc_parse_stat(t->env, &st) == 0 &&
                    st.start_time == start)
                        continue;
                snprintf(dir, sizeof dir, "%s/%s", own, de->d_name);
                if (cgroup_populated(dir) == 0)
                        (void) cgroup_remove_tree(dir);
        }
        closedir(d);
}

/*
 * Our own sub-tree, beside upkeepd; NULL and a reason when cgroups cannot be used.  upkeepd
 * stays in the cgroup it started in unless controllers are to be handed down
 * (cglimits_setup): moving a process between cgroups waits for an RCU grace period
 * (10-15 ms), which every start and exit would pay.
 */
static int setup_cgroup(Tree *t, char *reason, size_t rlen) {
        char own[CGROUP_PATH_MAX / 2], base[CGROUP_PATH_MAX - 64];
        const char *off = getenv("UPKEEP_CGROUP");
        int r;

        if (off && strcmp(off, "off") == 0) {
                snprintf(reason, rlen, "cgroups turned off by UPKEEP_CGROUP=off");
                return -EPERM;
        }
        r = cgroup_own_dir(own, sizeof own, reason, rlen);
        if (r < 0)
                return r;
        sweep_dead(t, own);
        snprintf(base, sizeof base, "%s/upkeepd-%s", own, t->token);
        if (mkdir(base, 0755) < 0) {
                r = negative_errno();
                snprintf(reason, rlen, "cannot make a cgroup under %.200s: %s", own, strerror(-r));
                return r;
        }
        t->cgroup = strdup(base);
        if (!t->cgroup) {
                (void) cgroup_remove_tree(base);
                snprintf(reason, rlen, "out of memory");
                return -ENOMEM;
        }
        cglimits_setup(&t->limits, own, base);
        return 0;
}

int tree_new(Tree **ret) {
        Tree *t = calloc(1, sizeof(Tree));
        char path[64];
        ProcStat st = {};
        const char *f;

        if (!t)
                return -ENOMEM;
        snprintf(path, sizeof path, "/proc/%d/stat", (int) getpid());
        if (read_proc(t, path) > 0)
                (void) proc_parse_stat(t->env, &st);
        snprintf(t->token, sizeof t->token, "%d.%llu", (int) getpid(),
                 (unsigned long long) st.start_time);
        (void) setup_cgroup(t, t->why, sizeof t->why);
        /* the buffer of /proc reads (64 KiB, for environments) until the fallback needs it */
        free(t->env);
        t->env = NULL;
        t->env_size = 0;
        /* tests: the whole-/proc scan of kernels without children files (UPKEEP_FAULT) */
        f = secure_getenv("UPKEEP_FAULT");
        t->no_children_files = f && strcmp(f, "proc-children") == 0;
        *ret = t;
        return 0;
}

void tree_log_mode(const Tree *t) {
        char buf[64];

        if (t->cgroup) {
                log_info("process tracking: cgroup v2, each instance in a cgroup under %s",
                         t->cgroup);
                if (t->limits.controllers)
                        log_info("cgroup controllers: %s", cgroup_controllers_string(
                                         t->limits.controllers, buf, sizeof buf));
                else
                        log_info("cgroup controllers: none: memory-limit is enforced by "
                                 "sampling only, cpu-limit not at all");
        } else
                log_info("process tracking: environment and process tree (%s)", t->why);
}

void tree_leave(Tree *t) {
        if (!t || !t->cgroup)
                return;
        /* upkeepd is not in the sub-tree, or leaves it first: then it holds only what workers
         * left, and cgroup.kill on it cannot reach upkeepd itself.  The controllers enabled in
         * origin's subtree go first (a cgroup that gives controllers to its children holds no
         * process). */
        if (!cglimits_leave(&t->limits, t->cgroup))
                return;
        if (!wait_empty(t->cgroup, EXIT_WAIT, 10 * USEC_PER_MSEC)) {
                /* what is left dies now rather than outlives us unsupervised */
                cgroup_signal(t->cgroup, SIGKILL);
                (void) wait_empty(t->cgroup, EXIT_WAIT, 10 * USEC_PER_MSEC);
        }
        if (cgroup_remove_tree(t->cgroup) < 0)
                log_warning("cannot remove cgroup %s: %m", t->cgroup);
        free(t->cgroup);
        t->cgroup = NULL;
        t->left = true;
}

Tree *tree_free(Tree *t) {
        if (!t)
                return NULL;
        tree_leave(t);
        if (!t->left)
                /* the last sweep: what forked while its instance was being killed */
                for (int pass = 0; pass < 8; pass++)
                        if (signal_scan(t, t->token, NULL, 0, SIGKILL) == 0)
                                break;
        scan_free(t);
        top_free(t);
        for (size_t k = 0; k < t->n_mains; k++)
                main_close(&t->mains[k]);
        free(t->mains);
        free(t->env);
        strv_free(t->killed);
        cglimits_done(&t->limits);
        free(t->cgroup);
        free(t);
        return NULL;
}

unsigned tree_controllers(const Tree *t) {
        return t->cgroup ? t->limits.controllers : 0;
}

void tree_set_limits(Tree *t, const char *name, const CgValues *v) {
        char dir[CGROUP_PATH_MAX];

        if (!t->cgroup || !t->limits.controllers)
                return;
        cgroup_instance_dir(t->cgroup, name, dir, sizeof dir);
        cglimits_write(&t->limits, dir, name, v);
}

uint64_t tree_oom_kills(Tree *t, const char *name) {
        char dir[CGROUP_PATH_MAX];

        if (!t->cgroup)
                return 0;
        cgroup_instance_dir(t->cgroup, name, dir, sizeof dir);
        return cglimits_oom_kills(&t->limits, dir);
}

void tree_warn_limits(const Tree *t, const Config *c) {
        if (tree_controllers(t) & CGROUP_CPU)
                return;
        for (size_t k = 0; k < c->n_workers; k++)
                if (c->workers[k].cpu_limit > 0)
                        log_warning("worker '%s': " TREE_CPU_LIMIT_UNENFORCED,
                                    c->workers[k].name);
}
