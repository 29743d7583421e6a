/*
 * The supervisor's side of a spawn (see launch.h): everything that needs the configuration, the
 * user database or worker output is done here, before spawn.c forks, so that a failure is a
 * spawn error with a reason and the child only makes system calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envfile.h"
#include "launch.h"
#include "listen.h"
#include "log.h"
#include "output.h"
#include "parse.h"
#include "sockets.h"
#include "spawn.h"
#include "userdb.h"

extern char **environ;

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

/*
 * A worker with sockets gets LISTEN_FDS, LISTEN_FDNAMES and a LISTEN_PID the child fills in
 * (see listen_pid_slot()), after everything else: they are upkeepd's to say.
 */
static int listen_env(const WorkerConfig *w, EnvList *l, char ***vars) {
        _cleanup_free_ char *names = NULL;
        char *s;
        int r;

        if (!w->sockets || !w->sockets[0])
                return 0;
        if (listen_fdnames(w->sockets, &names) < 0 ||
            asprintf(&s, "LISTEN_FDS=%zu", strv_length(w->sockets)) < 0 ||
            (r = strv_consume(vars, s)) < 0 ||
            asprintf(&s, "LISTEN_FDNAMES=%s", names) < 0 || (r = strv_consume(vars, s)) < 0 ||
            (r = strv_extend(vars, "LISTEN_PID=")) < 0)
                return -ENOMEM;
        return env_add_all(l, *vars);
}

/* The LISTEN_PID entry of env, grown to hold any pid, for the child to fill in; NULL: none. */
static char *listen_pid_slot(char **env) {
        for (char **e = env; e && *e; e++)
                if (strncmp(*e, "LISTEN_PID=", 11) == 0) {
                        char *slot = realloc(*e, LISTEN_PID_MAX);

                        if (slot)
                                *e = slot;
                        return slot;
                }
        return NULL;
}

static int build_env(const LaunchSpec *i, char ***ret, char *reason, size_t len) {
        const WorkerConfig *w = i->cfg;
        _cleanup_strv_free_ char **file_env = NULL;
        char buf[128], idx[64], **listen_vars = NULL;
        EnvList l = {};
        int r;

        for (char **e = environ; e && *e; e++)
                if (!env_is_stripped(*e) && (r = env_add(&l, *e)) < 0)
                        goto out;
        if (w->env_file) {
                struct stat st;

                /* secrets live there: say so when every local user can read them */
                if (stat(w->env_file, &st) == 0 && (st.st_mode & S_IROTH) && !*i->env_warned) {
                        log_msg(LOG_WARNING, i->name, "env-file %s is readable by every user, "
                                "run: chmod o-r %s", w->env_file, w->env_file);
                        *i->env_warned = true;
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
        if (i->extra_env && (r = env_add_all(&l, i->extra_env)) < 0)
                goto out;
        if ((r = listen_env(w, &l, &listen_vars)) < 0)
                goto out;
        if (i->tree_env && (r = env_add(&l, i->tree_env)) < 0)
                goto out;
        r = env_merge(&l, ret);
out:
        strv_free(listen_vars);
        free(l.e);
        return r;
}

typedef struct Credentials {
        bool change;
        uid_t uid;
        gid_t gid;
        gid_t groups[256];
        int n_groups;
} Credentials;

/* Resolve user and group names in upkeepd, where a failure can be reported properly. */
static int resolve_credentials(const WorkerConfig *w, Credentials *c, char *reason, size_t len) {
        *c = (Credentials) { .change = false };
        if (!w->user && !w->group)
                return 0;
        c->change = true;
        c->uid = getuid();
        c->gid = getgid();
        if (w->user && userdb_user(w->user, &c->uid, &c->gid) < 0) {
                snprintf(reason, len, "user '%s' not found", w->user);
                return -ESRCH;
        }
        if (w->group && userdb_group(w->group, &c->gid) < 0) {
                snprintf(reason, len, "group '%s' not found", w->group);
                return -ESRCH;
        }
        c->n_groups = (int) ELEMENTSOF(c->groups);
        if (w->user) {
                if (userdb_groups(w->user, c->gid, c->groups, &c->n_groups) < 0) {
                        snprintf(reason, len, "user '%s' is in too many groups", w->user);
                        return -E2BIG;
                }
        } else {
                c->groups[0] = c->gid;
                c->n_groups = 1;
        }
        return 0;
}

/*
 * Tests make one step fail on purpose with UPKEEP_FAULT=<point>: an error path that no
 * configuration can reach is still exercised by the integration tests.
 */
static bool fault(const char *point) {
        const char *f = secure_getenv("UPKEEP_FAULT");

        return f && strcmp(f, point) == 0;
}

/* %i, then {fd:NAME} (checked against the worker's sockets by the parse). */
static char *expand_arg(const WorkerConfig *w, const char *arg, unsigned index) {
        _cleanup_free_ char *a = expand_instance(arg, index);
        char *x = NULL;

        if (!a || !w->sockets || !w->sockets[0])
                return TAKE_PTR(a);
        if (listen_expand_fds(a, w->sockets, &x, NULL) == -ENOENT)
                return TAKE_PTR(a);
        return x;
}

static int build_argv(const LaunchSpec *i, char ***ret) {
        const WorkerConfig *w = i->cfg;
        char **argv = calloc(strv_length(w->argv) + 1, sizeof(char *));

        for (size_t k = 0; argv && w->argv[k]; k++)
                if (!(argv[k] = expand_arg(w, w->argv[k], i->index))) {
                        strv_free(argv);
                        return -ENOMEM;
                }
        if (!argv)
                return -ENOMEM;
        *ret = argv;
        return 0;
}

/*
 * stdout and stderr pipes whose read ends go to worker output before the child exists: a
 * worker never starts with an output nobody reads (its first write would get EPIPE).
 */
static int attach_output(const LaunchSpec *i, int *ret_out_w, int *ret_err_w, char *reason,
                         size_t len) {
        _cleanup_close_ int out_r = -1, out_w = -1, err_r = -1, err_w = -1;
        const LogConfig *log = &i->cfg->log;
        sd_event *e = i->event;
        int p[2], r;

        if (pipe2(p, O_CLOEXEC) < 0)
                goto fail_errno;
        out_r = p[0], out_w = p[1];
        if (pipe2(p, O_CLOEXEC) < 0)
                goto fail_errno;
        err_r = p[0], err_w = p[1];
        r = output_attach(e, *i->log_output, log, out_r, false);
        if (r >= 0 && i->line_watch)
                output_watch(out_r, i->line_watch, i->line_data);
        if (r >= 0)
                out_r = -1; /* taken over: EOF ends the stream once every writer is gone */
        if (r >= 0)
                r = fault("output-attach") ? -EMFILE
                                           : output_attach(e, *i->log_output, log, err_r, true);
        if (r >= 0 && i->line_watch)
                output_watch(err_r, i->line_watch, i->line_data);
        if (r >= 0)
                err_r = -1;
        if (r < 0) {
                snprintf(reason, len, "cannot read the worker's output: %s", strerror(-r));
                return r;
        }
        *ret_out_w = TAKE_FD(out_w);
        *ret_err_w = TAKE_FD(err_w);
        return 0;

fail_errno:
        r = negative_errno();
        snprintf(reason, len, "cannot spawn: %s", strerror(-r));
        return r;
}

/* WATCHDOG_PID= is the child's own pid, only known in the child: spawn writes it there. */
static char *pid_slot(char **env) {
        for (char **e = env; e && *e; e++)
                if (strncmp(*e, "WATCHDOG_PID=", 13) == 0 && strlen(*e) >= 13 + 10)
                        return *e + 13;
        return NULL;
}

/* The held descriptors of the worker's sockets, in the order of its list. */
static int held_fds(const WorkerConfig *w, int fds[static SPAWN_MAX_FDS], size_t *ret_n,
                    char *reason, size_t len) {
        size_t n = strv_length(w->sockets);

        if (n > SPAWN_MAX_FDS) {
                snprintf(reason, len, "more than %d sockets", SPAWN_MAX_FDS);
                return -E2BIG;
        }
        for (size_t k = 0; k < n; k++) {
                fds[k] = sockets_fd(w->sockets[k]);
                if (fds[k] < 0) {
                        snprintf(reason, len, "socket '%s' is not held", w->sockets[k]);
                        return -ENOENT;
                }
        }
        *ret_n = n;
        return 0;
}

int launch_instance(const LaunchSpec *i, pid_t *ret_pid, int *ret_errpipe, char *reason,
                    size_t len) {
        const WorkerConfig *w = i->cfg;
        _cleanup_strv_free_ char **env = NULL, **argv = NULL;
        _cleanup_close_ int out_w = -1, err_w = -1;
        int fds[SPAWN_MAX_FDS];
        size_t n_fds = 0;
        int stdin_fd = -1;
        char *listen_pid = NULL;
        Credentials cred;
        int r;

        r = resolve_credentials(w, &cred, reason, len);
        if (r < 0)
                return r;
        r = held_fds(w, fds, &n_fds, reason, len);
        if (r < 0)
                return r;
        if (w->stdin_socket && (stdin_fd = sockets_fd(w->stdin_socket)) < 0) {
                snprintf(reason, len, "socket '%s' is not held", w->stdin_socket);
                return -ENOENT;
        }
        r = build_env(i, &env, reason, len);
        if (r >= 0)
                r = build_argv(i, &argv);
        if (r >= 0 && n_fds > 0 && !(listen_pid = listen_pid_slot(env)))
                r = -ENOMEM;
        if (r == -ENOMEM)
                snprintf(reason, len, "out of memory");
        if (r < 0)
                return r;
        r = output_prepare(i->log_output, i->output, reason, len);
        if (r < 0)
                return r;
        r = attach_output(i, &out_w, &err_w, reason, len);
        if (r < 0)
                return r;
        r = spawn_process(&(SpawnSpec) {
                                  .pid_slot = pid_slot(env),
                                  .argv = argv, .envp = env,
                                  .set_credentials = cred.change, .uid = cred.uid,
                                  .gid = cred.gid, .groups = cred.groups,
                                  .n_groups = (size_t) cred.n_groups,
                                  .directory = w->directory,
                                  .umask = w->umask,
                                  .limit_nproc = (unsigned long) MAX(w->limit_nproc, 0),
                                  .limit_nofile = (unsigned long) MAX(w->limit_nofile, 0),
                                  .stdout_fd = out_w, .stderr_fd = err_w,
                                  .extra_fd = i->ready_fd,
                                  .extra_target = w->ready == WREADY_FD ? w->ready_fd : 0,
                                  .use_stdin_fd = stdin_fd >= 0, .stdin_fd = stdin_fd,
                                  .fds = fds, .n_fds = n_fds, .listen_pid = listen_pid,
                                  .join_cgroup = i->cgroup_fd && *i->cgroup_fd >= 0,
                                  .cgroup_fd = i->cgroup_fd ? *i->cgroup_fd : -1,
                                  .cgroup_by_write = i->cgroup_by_write,
                          }, ret_pid, ret_errpipe);
        if (r < 0)
                snprintf(reason, len, "cannot spawn: %s", strerror(-r));
        /* the parent keeps only the read ends, attached to worker output */
        return r;
}

bool launch_read_error(const WorkerConfig *w, int errpipe, char *reason, size_t len) {
        const char *what = "";
        SpawnStage stage;
        int error;

        if (!spawn_read_error(errpipe, &stage, &error))
                return false;
        if (stage == SPAWN_EXEC)
                what = w->argv[0];
        else if (stage == SPAWN_CHDIR)
                what = w->directory;
        else if (stage == SPAWN_SETUID || stage == SPAWN_GROUPS)
                what = w->user ?: "";
        else if (stage == SPAWN_SETGID)
                what = w->group ?: w->user ?: "";
        snprintf(reason, len, "spawn error: %s %s: %s", spawn_stage_to_string(stage), what,
                 strerror(error));
        return true;
}
