/*
 * Spawning one instance: everything that can be checked is checked in upkeepd before fork (user,
 * group, env-file, log file), so the child only does syscalls between fork and exec: a new
 * session (its own process group), clean signal state, stdio, credentials, directory, exec.
 * The child is created with clone(CLONE_VM | CLONE_VFORK), see clone_child().
 * When one of those fails the child writes {stage, errno} to a close-on-exec pipe and exits 127;
 * upkeepd reads that record when it reaps the child, so a failed exec is a spawn error with a
 * reason, never a mystery exit code.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif

#include "envfile.h"
#include "log.h"
#include "logs.h"
#include "parse.h"
#include "supervisor.h"

extern char **environ;

typedef struct SpawnError {
        int stage;
        int error;
} SpawnError;

enum {
        STAGE_SETSID,
        STAGE_STDIO,
        STAGE_GROUPS,
        STAGE_SETGID,
        STAGE_SETUID,
        STAGE_CHDIR,
        STAGE_RLIMIT,
        STAGE_EXEC,
};

static const char *const stage_names[] = {
        [STAGE_SETSID] = "setsid",   [STAGE_STDIO] = "stdio",   [STAGE_GROUPS] = "setgroups",
        [STAGE_SETGID] = "setgid",   [STAGE_SETUID] = "setuid", [STAGE_CHDIR] = "chdir",
        [STAGE_RLIMIT] = "setrlimit",
        [STAGE_EXEC] = "exec",
};

/* Variables that belong to upkeepd's own manager and must never reach a worker. */
static bool env_is_stripped(const char *kv) {
        static const char *const prefixes[] = {
                "NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=", "LISTEN_PID=",
                "LISTEN_FDS=",    "LISTEN_FDNAMES=",
        };
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                if (strncmp(kv, prefixes[i], strlen(prefixes[i])) == 0)
                        return true;
        return false;
}

/*
 * The worker's environment: upkeepd's own (minus what belongs to its manager), then the
 * env-file, then environment =, then UPKEEP_*; a later "KEY=" replaces an earlier one.  An
 * env-file of up to 1 MiB holds some 180 000 names: merged by replacing in a list, that was a
 * quadratic scan which held the loop for a minute at each spawn.  Sorted by key, then by place,
 * the last of each key is the one kept, in O(n log n).
 */
typedef struct EnvEntry {
        const char *kv;
        size_t klen; /* up to '=' or the end: kv[klen] is '=' or NUL, part of the key */
        size_t pos;
} EnvEntry;

static int env_entry_cmp(const void *a, const void *b) {
        const EnvEntry *x = a, *y = b;
        int c = memcmp(x->kv, y->kv, MIN(x->klen, y->klen) + 1);

        if (c != 0)
                return c;
        return x->pos < y->pos ? -1 : x->pos > y->pos;
}

typedef struct EnvList {
        EnvEntry *e;
        size_t n, cap;
} EnvList;

static int env_add(EnvList *l, const char *kv) {
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 64;
                EnvEntry *ne = reallocarray(l->e, cap, sizeof(EnvEntry));

                if (!ne)
                        return -ENOMEM;
                l->e = ne;
                l->cap = cap;
        }
        l->e[l->n] = (EnvEntry) { .kv = kv, .klen = strcspn(kv, "="), .pos = l->n };
        l->n++;
        return 0;
}

static int env_add_all(EnvList *l, char *const *kvs) {
        int r;

        for (char *const *e = kvs; e && *e; e++)
                if ((r = env_add(l, *e)) < 0)
                        return r;
        return 0;
}

/* The last entry of each key, in the order they were added, as a new NULL-terminated list. */
static int env_merge(EnvList *l, char ***ret) {
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_free_ bool *keep = NULL;
        size_t n = 0;

        env = calloc(l->n + 1, sizeof(char *));
        keep = calloc(l->n + 1, sizeof(bool));
        if (!env || !keep)
                return -ENOMEM;
        qsort(l->e, l->n, sizeof(EnvEntry), env_entry_cmp);
        for (size_t k = 0; k < l->n; k++)
                /* the next one, if any, is the same key from a later source: it wins */
                keep[l->e[k].pos] = k + 1 == l->n || l->e[k].klen != l->e[k + 1].klen ||
                                    memcmp(l->e[k].kv, l->e[k + 1].kv, l->e[k].klen + 1) != 0;
        /* back to the order of addition (pos is the index it was added at) */
        for (size_t k = 0; k < l->n; k++)
                while (l->e[k].pos != k) {
                        EnvEntry t = l->e[l->e[k].pos];

                        l->e[l->e[k].pos] = l->e[k];
                        l->e[k] = t;
                }
        for (size_t k = 0; k < l->n; k++) {
                if (!keep[k])
                        continue;
                env[n] = strdup(l->e[k].kv);
                if (!env[n])
                        return -ENOMEM;
                n++;
        }
        *ret = TAKE_PTR(env);
        return 0;
}

static int build_env(Instance *i, char ***ret, char *reason, size_t len) {
        const WorkerConfig *w = i->worker->cfg;
        _cleanup_strv_free_ char **file_env = NULL;
        char buf[128], idx[64];
        EnvList l = {};
        int r;

        for (char **e = environ; e && *e; e++)
                if (!env_is_stripped(*e) && (r = env_add(&l, *e)) < 0)
                        goto out;
        if (w->env_file) {
                struct stat st;

                /* secrets live there: say so when every local user can read them */
                if (stat(w->env_file, &st) == 0 && (st.st_mode & S_IROTH) && !i->worker->env_warned) {
                        log_msg(LOG_WARNING, i->name, "env-file %s is readable by every user, "
                                "run: chmod o-r %s", w->env_file, w->env_file);
                        i->worker->env_warned = true;
                }
                r = envfile_read(w->env_file, &file_env, reason, len);
                if (r < 0)
                        goto out;
                if ((r = env_add_all(&l, file_env)) < 0)
                        goto out;
        }
        if ((r = env_add_all(&l, w->environment)) < 0)
                goto out;
        snprintf(buf, sizeof buf, "UPKEEP_WORKER=%s", w->name);
        snprintf(idx, sizeof idx, "UPKEEP_INSTANCE=%u", i->index);
        if ((r = env_add(&l, buf)) < 0 || (r = env_add(&l, idx)) < 0)
                goto out;
        r = env_merge(&l, ret);
out:
        free(l.e);
        return r;
}

typedef struct Credentials {
        bool change;
        uid_t uid;
        gid_t gid;
        gid_t groups[256];
        int n_groups;
        char home[256];
} Credentials;

/* Resolve user and group names in upkeepd, where a failure can be reported properly. */
static int resolve_credentials(const WorkerConfig *w, Credentials *c, char *reason, size_t len) {
        char buf[4096];
        struct passwd pw, *pwp = NULL;
        struct group gr, *grp = NULL;
        int r;

        *c = (Credentials) { .change = false };
        if (!w->user && !w->group)
                return 0;
        c->change = true;
        c->uid = getuid();
        c->gid = getgid();
        if (w->user) {
                r = getpwnam_r(w->user, &pw, buf, sizeof buf, &pwp);
                if (r != 0 || !pwp) {
                        snprintf(reason, len, "user '%s' not found", w->user);
                        return -ESRCH;
                }
                c->uid = pw.pw_uid;
                c->gid = pw.pw_gid;
                snprintf(c->home, sizeof c->home, "%s", pw.pw_dir);
        }
        if (w->group) {
                r = getgrnam_r(w->group, &gr, buf, sizeof buf, &grp);
                if (r != 0 || !grp) {
                        snprintf(reason, len, "group '%s' not found", w->group);
                        return -ESRCH;
                }
                c->gid = gr.gr_gid;
        }
        c->n_groups = (int) ELEMENTSOF(c->groups);
        if (w->user) {
                if (getgrouplist(w->user, c->gid, c->groups, &c->n_groups) < 0) {
                        snprintf(reason, len, "user '%s' is in too many groups", w->user);
                        return -E2BIG;
                }
        } else {
                c->groups[0] = c->gid;
                c->n_groups = 1;
        }
        return 0;
}

typedef struct ChildArgs {
        const Instance *instance;
        const Credentials *cred;
        char **argv, **env;
        int out_w, err_w, errpipe;
} ChildArgs;

static _Noreturn void child_fail(int errpipe, int stage) {
        SpawnError e = { .stage = stage, .error = errno };

        (void) !write(errpipe, &e, sizeof e);
        _exit(127);
}

/*
 * Runs in the child between clone and exec, on its own stack but in upkeepd's memory
 * (CLONE_VM): system calls only, nothing that allocates or takes a lock.
 */
static int child_exec(void *userdata) {
        const ChildArgs *a = userdata;
        const Instance *i = a->instance;
        const Credentials *c = a->cred;
        const WorkerConfig *w = i->worker->cfg;
        int out_w = a->out_w, err_w = a->err_w, errpipe = a->errpipe;
        sigset_t empty;
        int nullfd;

        /* handled signals are reset by exec itself, ignored ones are not: SIGPIPE is the only
         * signal upkeepd ignores (everything else is read through signalfd) */
        sigemptyset(&empty);
        signal(SIGPIPE, SIG_DFL);
        sigprocmask(SIG_SETMASK, &empty, NULL);

        if (setsid() < 0)
                child_fail(errpipe, STAGE_SETSID);

        nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (nullfd < 0 || dup2(nullfd, STDIN_FILENO) < 0 || dup2(out_w, STDOUT_FILENO) < 0 ||
            dup2(err_w, STDERR_FILENO) < 0)
                child_fail(errpipe, STAGE_STDIO);

        /* limits before the user switch: RLIMIT_NPROC then counts the worker's user */
        if (w->limit_nproc > 0 &&
            setrlimit(RLIMIT_NPROC, &(struct rlimit) { w->limit_nproc, w->limit_nproc }) < 0)
                child_fail(errpipe, STAGE_RLIMIT);
        if (w->limit_nofile > 0 &&
            setrlimit(RLIMIT_NOFILE, &(struct rlimit) { w->limit_nofile, w->limit_nofile }) < 0)
                child_fail(errpipe, STAGE_RLIMIT);

        if (c->change) {
                if (setgroups((size_t) c->n_groups, c->groups) < 0)
                        child_fail(errpipe, STAGE_GROUPS);
                if (setresgid(c->gid, c->gid, c->gid) < 0)
                        child_fail(errpipe, STAGE_SETGID);
                if (setresuid(c->uid, c->uid, c->uid) < 0)
                        child_fail(errpipe, STAGE_SETUID);
        }
        if (w->directory && chdir(w->directory) < 0)
                child_fail(errpipe, STAGE_CHDIR);

        /*
         * Nothing of upkeepd's beyond stdio may reach the worker: libcurl opens its sockets
         * (probe connections, its wake-up socketpair) without O_CLOEXEC.  A worker holding a
         * probe connection would keep it open after curl closed it.  Best effort: before
         * Linux 5.11 this fails and only our own descriptors are close-on-exec.
         */
        (void) close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
        execvpe(a->argv[0], a->argv, a->env);
        child_fail(errpipe, STAGE_EXEC);
}

/*
 * The child shares our memory until it execs (CLONE_VM | CLONE_VFORK, as posix_spawn does), so
 * starting a worker costs no page-table copy however large upkeepd is, and we are suspended for
 * just the few system calls above.  One stack serves every spawn: we are single-threaded and
 * CLONE_VFORK keeps us waiting until the child has left it.
 */
static pid_t clone_child(ChildArgs *a) {
        static char stack[64 * 1024] __attribute__((aligned(16)));

#ifdef __SANITIZE_ADDRESS__
        /* a child that ended in _exit() left AddressSanitizer's marks on the shared stack */
        ASAN_UNPOISON_MEMORY_REGION(stack, sizeof stack);
#endif
        return clone(child_exec, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, a);
}

int spawn_instance(Instance *i, pid_t *ret_pid, int *ret_errpipe, char *reason, size_t len) {
        const WorkerConfig *w = i->worker->cfg;
        _cleanup_strv_free_ char **env = NULL, **argv = NULL;
        _cleanup_close_ int out_r = -1, out_w = -1, err_r = -1, err_w = -1, ep_r = -1, ep_w = -1;
        Credentials cred;
        int p[2], r;
        pid_t pid;

        r = resolve_credentials(w, &cred, reason, len);
        if (r < 0)
                return r;
        r = build_env(i, &env, reason, len);
        if (r == -ENOMEM)
                snprintf(reason, len, "out of memory");
        if (r < 0)
                return r;
        argv = calloc(strv_length(w->argv) + 1, sizeof(char *));
        for (size_t k = 0; argv && w->argv[k]; k++)
                if (!(argv[k] = expand_instance(w->argv[k], i->index))) {
                        strv_free(TAKE_PTR(argv));
                        break;
                }
        if (!argv) {
                snprintf(reason, len, "out of memory");
                return -ENOMEM;
        }
        r = logs_prepare(&i->log_output, sup_output_spec(i, &(OutputSpec) {}), reason, len);
        if (r < 0)
                return r;

        if (pipe2(p, O_CLOEXEC) < 0)
                goto fail_errno;
        out_r = p[0], out_w = p[1];
        if (pipe2(p, O_CLOEXEC) < 0)
                goto fail_errno;
        err_r = p[0], err_w = p[1];
        if (pipe2(p, O_CLOEXEC) < 0)
                goto fail_errno;
        ep_r = p[0], ep_w = p[1];

        pid = clone_child(&(ChildArgs) { .instance = i, .cred = &cred, .argv = argv, .env = env,
                                         .out_w = out_w, .err_w = err_w, .errpipe = ep_w });
        if (pid < 0)
                goto fail_errno;

        /* the parent keeps only the read ends; EOF on them means every writer is gone */
        r = logs_attach(i->worker->sup->event, i->log_output, &w->log, out_r, false);
        if (r >= 0)
                out_r = -1;
        r = logs_attach(i->worker->sup->event, i->log_output, &w->log, err_r, true);
        if (r >= 0)
                err_r = -1;
        (void) fcntl(ep_r, F_SETFL, O_NONBLOCK);
        *ret_errpipe = TAKE_FD(ep_r);
        *ret_pid = pid;
        return 0;

fail_errno:
        r = negative_errno();
        snprintf(reason, len, "cannot spawn: %s", strerror(-r));
        return r;
}

bool spawn_read_error(const Instance *i, char *reason, size_t len) {
        const WorkerConfig *w = i->worker->cfg;
        const char *what = "";
        SpawnError e;

        if (i->errpipe < 0 || read(i->errpipe, &e, sizeof e) != (ssize_t) sizeof e)
                return false;
        if (e.stage < 0 || e.stage > STAGE_EXEC)
                e.stage = STAGE_EXEC;
        if (e.stage == STAGE_EXEC)
                what = w->argv[0];
        else if (e.stage == STAGE_CHDIR)
                what = w->directory;
        else if (e.stage == STAGE_SETUID || e.stage == STAGE_GROUPS)
                what = w->user ?: "";
        else if (e.stage == STAGE_SETGID)
                what = w->group ?: w->user ?: "";
        snprintf(reason, len, "spawn error: %s %s: %s", stage_names[e.stage], what,
                 strerror(e.error));
        return true;
}
