/*
 * The state file: what must survive upkeepd itself being killed.
 *
 * It records, for each instance with a process, its pid (which is also its process group id,
 * unless adopted through MAINPID=) and the process start time from /proc/PID/stat, plus the
 * instances an operator stopped, and what names every process of the run (proctree.h): its
 * token and cgroup sub-tree.  A leftover instance's tree gets the stop signal with its group,
 * and SIGKILL with it; when the recovery ends, whatever is left of the previous run (escapees
 * of a main process that was gone already) is killed and its cgroups removed.  It is rewritten (write to a temporary file, then rename) 1 ms after the first change of a burst,
 * once for the whole burst (the StateFile observes the supervisor's record_changed).
 *
 * At start-up, before any worker is started, the previous run's file is read: every recorded
 * process that still exists with the same start time is a leftover of a upkeepd that died
 * without stopping its workers.  Its group gets the worker's stop-signal, then SIGKILL after
 * the stop-timeout; only when all of them are gone do the new workers start, so a worker never
 * runs twice and nothing is orphaned.  A pid that now belongs to another process (different
 * start time) is left alone.
 *
 * The file lives beside the control socket, in a directory another user may be able to write
 * (a badly chosen socket path), and upkeepd runs as root: nothing here follows a symlink or
 * opens anything but a regular file.  The temporary is created with O_EXCL|O_NOFOLLOW relative
 * to the directory's descriptor (a stale one is unlinked first, which does not follow either),
 * then renamed into place, which replaces a symlink instead of writing through it.  Reading
 * takes only a regular file of ours that nobody else may write, without following a symlink,
 * of bounded size.
 *
 * Until every leftover is gone, nothing starts (sup_command() queues starts) and every rewrite
 * of the file still lists the leftovers: a upkeepd killed meanwhile hands them on.  A SIGTERM
 * in that window kills them (SIGKILL, no longer their stop-timeout) and waits a bounded time;
 * one that survives even that stays in the file for the next upkeepd.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "children.h"
#include "log.h"
#include "logfile.h"
#include "looptime.h"
#include "parse.h"
#include "proctree.h"
#include "statefile.h"
#include "supervisor.h"

#define STATE_VERSION 1
/* a few hundred bytes per instance: far above any real file, and a bound on what we read */
#define STATE_SIZE_MAX (16U * 1024 * 1024)
/* how long a SIGTERM of upkeepd waits for leftovers it SIGKILLed to go */
#define RECOVERY_KILL_WAIT (5 * USEC_PER_SEC)

typedef struct Leftover {
        pid_t pid;
        char *name;
        uint64_t start_time;
        bool alive;             /* watched by the child registry until it is gone */
        usec_t deadline;        /* SIGKILL then: its worker's stop-timeout after the signal */
} Leftover;

typedef struct StateRecovery StateRecovery;

struct StateFile {
        Supervisor *sup;
        char *path;
        sd_event_source *writer; /* saves the file 1 ms after the first change of a burst */
        StateRecovery *recovery; /* leftovers of a previous upkeepd still being stopped */
};

struct StateRecovery {
        Supervisor *sup;
        StateFile *file;
        Leftover *left;
        size_t n_left, n_alive;
        sd_event_source *timer;
        void (*done)(Supervisor *s);
        bool killing;           /* upkeepd is stopping: SIGKILL sent, waiting a bounded time */
        char *tree_token;       /* the previous run's process tree (proctree.h): its token */
        char *tree_cgroup;      /* and its cgroup sub-tree, NULL: none */
};

/* Field 22 of /proc/PID/stat: start time in clock ticks since boot; 0 when unknown. */
uint64_t statefile_process_start_time(pid_t pid) {
        char path[64], buf[1024], *p;
        unsigned long long start = 0;
        ssize_t n;
        int fd;

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        /* the command name may contain spaces and parentheses: skip past the last ')' */
        p = strrchr(buf, ')');
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
                                "%*d %*d %*d %llu", &start) != 1)
                return 0;
        return start;
}

/* The instance as the state file has it; its process's start time is read once, here. */
static void instance_record(Instance *inst, InstanceView *ret) {
        sup_instance_view(inst, ret);
        if (ret->pid > 0 && ret->pid_start_time == 0) {
                sup_instance_set_start_time(inst, statefile_process_start_time(ret->pid));
                sup_instance_view(inst, ret);
        }
}

/* The instances, and a spare (rolling { surge }), whose process is ours as much */
static unsigned worker_slots(const Worker *w) {
        return worker_n_instances(w) + (worker_spare(w) != NULL);
}

static json_t *statefile_json(StateFile *f) {
        json_t *insts = json_array();
        size_t n;
        Worker *const *workers = sup_workers(f->sup, &n);

        for (size_t w = 0; w < n; w++)
                for (unsigned k = 0; k < worker_slots(workers[w]); k++) {
                        InstanceView i;

                        instance_record(worker_instance(workers[w], k), &i);
                        if (i.pid <= 0 && !i.admin_stopped)
                                continue;
                        json_array_append_new(
                                insts, json_pack("{s:s, s:i, s:I, s:b}", "name", i.name, "pid",
                                                 (json_int_t) (i.pid > 0 ? i.pid : 0),
                                                 "start_time",
                                                 (json_int_t) (i.pid > 0 ? i.pid_start_time : 0),
                                                 "admin_stopped", i.admin_stopped));
                }
        /* processes of removed or replaced workers are ours until they are gone */
        workers = sup_retiring(f->sup, &n);
        for (size_t w = 0; w < n; w++)
                for (unsigned k = 0; k < worker_slots(workers[w]); k++) {
                        InstanceView i;

                        sup_instance_view(worker_instance(workers[w], k), &i);
                        if (i.pid <= 0)
                                continue;
                        json_array_append_new(
                                insts, json_pack("{s:s, s:i, s:I, s:b}", "name", i.name, "pid",
                                                 (json_int_t) i.pid, "start_time",
                                                 (json_int_t) i.pid_start_time, "admin_stopped",
                                                 false));
                }
        /* leftovers of the previous run not yet gone: still somebody's to stop */
        for (size_t k = 0; f->recovery && k < f->recovery->n_left; k++) {
                const Leftover *l = &f->recovery->left[k];
                if (!l->alive)
                        continue;
                json_array_append_new(
                        insts, json_pack("{s:s, s:i, s:I, s:b}", "name", l->name ?: "?", "pid",
                                         (json_int_t) l->pid, "start_time",
                                         (json_int_t) l->start_time, "admin_stopped", false));
        }
        /* what names every process of this run, escapees included (proctree.h) */
        return json_pack("{s:i, s:i, s:o, s:s, s:s?}", "version", STATE_VERSION, "upkeepd_pid",
                         (json_int_t) getpid(), "instances", insts, "tree",
                         tree_token(sup_tree(f->sup)), "cgroup", tree_cgroup(sup_tree(f->sup)));
}

/* "dir/base" into an open descriptor of dir and a pointer to base inside path. */
static int open_parent(const char *path, const char **ret_base) {
        const char *slash = strrchr(path, '/');
        _cleanup_free_ char *dir = NULL;
        int fd;

        if (!slash)
                dir = strdup(".");
        else
                dir = slash == path ? strdup("/") : strndup(path, (size_t) (slash - path));
        if (!dir)
                return -ENOMEM;
        if (!(slash ? slash + 1 : path)[0])
                return -EISDIR;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        *ret_base = slash ? slash + 1 : path;
        return fd;
}

static int statefile_write(const char *path, const char *data) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int dfd = -1, fd = -1;
        const char *base;
        struct stat st;
        int r;

        dfd = open_parent(path, &base);
        if (dfd < 0)
                return dfd;
        if (asprintf(&tmp, "%s.tmp", base) < 0)
                return -ENOMEM;
        /* a stale temporary, or something planted under its name: the name, never its target */
        if (unlinkat(dfd, tmp, 0) < 0 && errno != ENOENT)
                return negative_errno();
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                r = negative_errno();
        else if (!S_ISREG(st.st_mode))
                r = -EBADFD;
        else
                r = logfile_write_full(fd, data, strlen(data));
        if (r >= 0 && close(TAKE_FD(fd)) < 0)
                r = negative_errno();
        if (r >= 0 && renameat(dfd, tmp, dfd, base) < 0)
                r = negative_errno();
        if (r < 0)
                (void) unlinkat(dfd, tmp, 0);
        return r;
}

int statefile_save(StateFile *f) {
        _cleanup_free_ char *data = NULL;
        json_t *j;
        int r;

        if (!f || !f->path)
                return 0;
        j = statefile_json(f);
        if (!j)
                return -ENOMEM;
        data = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        r = data ? statefile_write(f->path, data) : -ENOMEM;
        if (r < 0) {
                log_warning("cannot write the state file %s: %s, a crash of upkeepd now could "
                            "leave workers behind", f->path, strerror(-r));
                return r;
        }
        return 0;
}

/*
 * What is wrong with a parsed file, or NULL when it is one we wrote: an object of our version
 * whose instances are a list of objects, each with a name and an integer pid and start time.
 * Anything else (a crash cannot produce it, the rename is atomic) is a file we do not
 * understand, ignored as a whole rather than half-applied.
 */
static const char *statefile_check(json_t *root) {
        static char why[80];
        json_t *insts, *e;
        size_t k;

        if (!json_is_object(root))
                return "not a JSON object";
        if (json_integer_value(json_object_get(root, "version")) != STATE_VERSION) {
                snprintf(why, sizeof why, "version %" JSON_INTEGER_FORMAT ", expected %d",
                         json_integer_value(json_object_get(root, "version")), STATE_VERSION);
                return why;
        }
        insts = json_object_get(root, "instances");
        if (!json_is_array(insts))
                return "no list of instances";
        json_array_foreach(insts, k, e)
                if (!json_is_string(json_object_get(e, "name")) ||
                    !json_is_integer(json_object_get(e, "pid")) ||
                    !json_is_integer(json_object_get(e, "start_time"))) {
                        snprintf(why, sizeof why, "entry %zu has no name, pid or start_time", k);
                        return why;
                }
        return NULL;
}

/*
 * The bytes of the file at path, when it is a regular file of ours nobody else may write, of
 * bounded size, and no symbolic link; otherwise why not.  No file at all: NULL and *ret NULL.
 */
static const char *statefile_read(const char *path, char **ret, size_t *ret_n) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        size_t n = 0;

        *ret = NULL;
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? NULL : errno == ELOOP ? "a symbolic link" : strerror(errno);
        if (fstat(fd, &st) < 0)
                return strerror(errno);
        if (!S_ISREG(st.st_mode))
                return "not a regular file";
        if (st.st_uid != geteuid())
                return "owned by another user";
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                /* ours, but whoever can write it could name any process group to kill */
                return "writable by other users";
        if ((size_t) st.st_size > STATE_SIZE_MAX)
                return "larger than 16 MiB";
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return strerror(ENOMEM);
        while (n <= (size_t) st.st_size) {
                ssize_t k = read(fd, buf + n, (size_t) st.st_size + 1 - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return strerror(errno);
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        if (n > (size_t) st.st_size)
                return "growing while read";
        *ret = TAKE_PTR(buf);
        *ret_n = n;
        return NULL;
}

/*
 * The previous run's file, or NULL (there is none, or it is not one we can trust: then no
 * leftover is stopped, and the next save replaces it).
 */
static json_t *statefile_load(const char *path) {
        _cleanup_free_ char *buf = NULL;
        const char *why;
        json_error_t jerr;
        json_t *root = NULL;
        size_t n = 0;

        why = statefile_read(path, &buf, &n);
        if (!why && !buf)
                return NULL;
        if (!why) {
                root = n > 0 ? json_loadb(buf, n, 0, &jerr) : NULL;
                why = !root ? (n > 0 ? jerr.text : "empty") : statefile_check(root);
        }
        if (why) {
                log_warning("state file %s: %s, ignoring it: workers of a previous upkeepd, if "
                            "any, are not stopped", path, why);
                json_decref(root);
                return NULL;
        }
        return root;
}

static void recovery_free(StateRecovery *rc) {
        for (size_t k = 0; k < rc->n_left; k++) {
                free(rc->left[k].name);
                if (rc->left[k].alive)
                        children_forget(sup_children(rc->sup), rc->left[k].pid);
        }
        sd_event_source_disable_unref(rc->timer);
        free(rc->left);
        free(rc->tree_token);
        free(rc->tree_cgroup);
        free(rc);
}

static void recovery_finish(StateRecovery *rc) {
        Supervisor *s = rc->sup;
        void (*done)(Supervisor *) = rc->done;

        rc->file->recovery = NULL;
        sup_set_recovery(s, false);
        /* whatever of the previous run is still there (escapees of an instance whose main
         * process was gone already) goes too, and its cgroups with it */
        tree_signal_run(sup_tree(s), rc->tree_token, rc->tree_cgroup, NULL, SIGKILL);
        recovery_free(rc);
        done(s);
}

static void on_leftover_exit(pid_t pid, const siginfo_t *si, void *userdata) {
        StateRecovery *rc = userdata;

        (void) si;
        for (size_t k = 0; k < rc->n_left; k++)
                if (rc->left[k].alive && rc->left[k].pid == pid) {
                        /* the leader is gone: nothing of its group or tree may stay either */
                        (void) kill(-rc->left[k].pid, SIGKILL);
                        tree_signal_run(sup_tree(rc->sup), rc->tree_token, rc->tree_cgroup,
                                        rc->left[k].name, SIGKILL);
                        log_info("leftover process %d of the previous upkeepd is gone",
                                 (int) rc->left[k].pid);
                        rc->left[k].alive = false;
                        rc->n_alive--;
                }
        if (rc->n_alive == 0)
                recovery_finish(rc);
}

/* Arm the timer for the earliest deadline of a leftover still alive and not yet killed. */
static void recovery_arm(StateRecovery *rc) {
        usec_t next = USEC_INFINITY;

        for (size_t k = 0; k < rc->n_left; k++)
                if (rc->left[k].alive && rc->left[k].deadline < next)
                        next = rc->left[k].deadline;
        if (next == USEC_INFINITY)
                return;
        (void) sd_event_source_set_time(rc->timer, next);
        (void) sd_event_source_set_enabled(rc->timer, SD_EVENT_ONESHOT);
}

static int on_recovery_timeout(sd_event_source *src, uint64_t usec, void *userdata) {
        StateRecovery *rc = userdata;

        (void) src;
        if (rc->killing) {
                /* stuck even after SIGKILL (D state): they stay in the state file, kept by the
                 * save at exit, for the next upkeepd to stop */
                for (size_t k = 0; k < rc->n_left; k++)
                        if (rc->left[k].alive)
                                log_error("leftover process %d of the previous upkeepd is still "
                                          "there after SIGKILL, exiting: it stays in the state "
                                          "file", (int) rc->left[k].pid);
                sup_set_failed(rc->sup);
                (void) sd_event_exit(sup_event(rc->sup), 0);
                return 0;
        }
        for (size_t k = 0; k < rc->n_left; k++)
                if (rc->left[k].alive && rc->left[k].deadline <= usec) {
                        log_warning("leftover process %d did not stop in time, sending SIGKILL",
                                    (int) rc->left[k].pid);
                        (void) kill(-rc->left[k].pid, SIGKILL);
                        (void) kill(rc->left[k].pid, SIGKILL);
                        tree_signal_run(sup_tree(rc->sup), rc->tree_token, rc->tree_cgroup,
                                        rc->left[k].name, SIGKILL);
                        rc->left[k].deadline = USEC_INFINITY;
                }
        recovery_arm(rc);
        return 0;
}

/* Stop one recorded process if it is still the one we started. */
static int stop_leftover(StateRecovery *rc, json_t *e) {
        Supervisor *s = rc->sup;
        json_int_t pid = json_integer_value(json_object_get(e, "pid"));
        json_int_t start = json_integer_value(json_object_get(e, "start_time"));
        const char *name = json_string_value(json_object_get(e, "name"));
        const WorkerConfig *w = name ? sup_instance_config(s, name) : NULL;
        int sig = w ? w->stop_signal : SIGTERM;
        Leftover *l;
        int r;

        /* a pid_t is an int: 2^32 + 1 cut down to one would be kill(-1), every process */
        if (pid <= 1 || pid > INT_MAX || pid == getpid() || start <= 0 ||
            statefile_process_start_time((pid_t) pid) != (uint64_t) start)
                return 0;
        r = children_watch(sup_children(s), (pid_t) pid, CHILD_FOREIGN, on_leftover_exit, rc);
        if (r == -ENOSYS) {
                /* no pidfds: the group gets SIGKILL at once, nothing to wait for */
                log_notice("%s: process %d left by a previous upkeepd, killing its group",
                           name ?: "?", (int) pid);
                (void) kill(-(pid_t) pid, SIGKILL);
                return 0;
        }
        if (r == -ESRCH)
                return 0; /* exited meanwhile */
        if (r < 0) {
                /* cannot watch it: it must not run beside the new workers */
                log_warning("%s: process %d left by a previous upkeepd cannot be watched (%s), "
                            "killing its group", name ?: "?", (int) pid, strerror(-r));
                (void) kill(-(pid_t) pid, SIGKILL);
                return 0;
        }
        l = &rc->left[rc->n_left++];
        *l = (Leftover) { .pid = (pid_t) pid, .name = name ? strdup(name) : NULL,
                          .start_time = (uint64_t) start, .alive = true };
        rc->n_alive++;
        /* the worker's own stop-timeout; 10 s for one no longer configured */
        l->deadline = loop_now(sd_event_source_get_event(rc->timer)) +
                      (w ? w->stop_timeout : 10 * USEC_PER_SEC);
        log_notice("%s: process %d left by a previous upkeepd, stopping its group with %s",
                   name ?: "?", (int) l->pid, SIGNAL_LABEL(sig));
        (void) kill(-l->pid, sig);
        (void) kill(-l->pid, SIGCONT);
        /* an adopted main process (MAINPID=) need not lead a group: itself too */
        (void) kill(l->pid, sig);
        (void) kill(l->pid, SIGCONT);
        tree_signal_run(sup_tree(s), rc->tree_token, rc->tree_cgroup, l->name, sig);
        return 0;
}

int statefile_recover(StateFile *f, void (*done)(Supervisor *s)) {
        Supervisor *s = f->sup;
        json_t *root, *insts, *e;
        StateRecovery *rc;
        size_t k;
        int r;

        root = f->path ? statefile_load(f->path) : NULL;
        insts = json_object_get(root, "instances");
        if (!json_is_array(insts) || json_array_size(insts) == 0) {
                /* no main process left, but perhaps what escaped one */
                tree_signal_run(sup_tree(s), json_string_value(json_object_get(root, "tree")),
                                json_string_value(json_object_get(root, "cgroup")), NULL,
                                SIGKILL);
                json_decref(root);
                done(s);
                return 0;
        }
        rc = calloc(1, sizeof(StateRecovery));
        if (rc)
                rc->left = calloc(json_array_size(insts), sizeof(Leftover));
        if (!rc || !rc->left) {
                free(rc);
                json_decref(root);
                return -ENOMEM;
        }
        rc->sup = s;
        rc->file = f;
        rc->done = done;
        if (json_is_string(json_object_get(root, "tree")))
                rc->tree_token = strdup(json_string_value(json_object_get(root, "tree")));
        if (json_is_string(json_object_get(root, "cgroup")))
                rc->tree_cgroup = strdup(json_string_value(json_object_get(root, "cgroup")));
        r = sd_event_add_time(sup_event(s), &rc->timer, CLOCK_MONOTONIC, USEC_INFINITY,
                              USEC_PER_MSEC, on_recovery_timeout, rc);
        if (r < 0) {
                recovery_free(rc);
                json_decref(root);
                return r;
        }
        json_array_foreach(insts, k, e) {
                const char *name = json_string_value(json_object_get(e, "name"));

                if (name && json_is_true(json_object_get(e, "admin_stopped")))
                        sup_restore_operator_stop(s, name);
                (void) stop_leftover(rc, e);
        }
        json_decref(root);
        if (rc->n_alive == 0) {
                tree_signal_run(sup_tree(s), rc->tree_token, rc->tree_cgroup, NULL, SIGKILL);
                recovery_free(rc);
                done(s);
                return 0;
        }
        f->recovery = rc;
        sup_set_recovery(s, true);
        recovery_arm(rc);
        return 0;
}

/* After the leftovers, when upkeepd was asked to stop meanwhile: stop as sup_shutdown() would. */
static void recovery_done_stopping(Supervisor *s) {
        if (sup_all_down(s))
                (void) sd_event_exit(sup_event(s), 0);
}

/*
 * upkeepd is stopping during the recovery: SIGKILL the leftovers, exit when they are gone, or
 * after a bounded wait with the survivors kept in the state file.
 */
static void statefile_recovery_kill(StateFile *f) {
        StateRecovery *rc = f->recovery;
        usec_t t = 0;

        if (!rc || rc->killing)
                return;
        rc->killing = true;
        rc->done = recovery_done_stopping;
        log_notice("stopping while %zu process%s of the previous upkeepd %s still running: "
                   "killing them", rc->n_alive, rc->n_alive == 1 ? "" : "es",
                   rc->n_alive == 1 ? "is" : "are");
        t = loop_now(sup_event(f->sup));
        for (size_t k = 0; k < rc->n_left; k++)
                if (rc->left[k].alive) {
                        (void) kill(-rc->left[k].pid, SIGKILL);
                        (void) kill(rc->left[k].pid, SIGKILL);
                        rc->left[k].deadline = t + RECOVERY_KILL_WAIT;
                }
        tree_signal_run(sup_tree(f->sup), rc->tree_token, rc->tree_cgroup, NULL, SIGKILL);
        recovery_arm(rc);
}

static void statefile_recovery_abort(StateFile *f) {
        if (!f->recovery)
                return;
        recovery_free(f->recovery);
        f->recovery = NULL;
        sup_set_recovery(f->sup, false);
}

static int on_writer(sd_event_source *src, uint64_t usec, void *userdata) {
        (void) src, (void) usec;
        (void) statefile_save(userdata);
        return 0;
}

/*
 * Written 1 ms after the first change of a burst, once for the whole burst, and after the work
 * of the moment: a restart of delay 0 spawns before the file is rewritten (a rename over the old
 * file costs up to a millisecond on ext4), and the new pid is in it.
 */
static void on_record_changed(void *userdata) {
        StateFile *f = userdata;
        int enabled = SD_EVENT_OFF;
        usec_t t = 0;

        if (sd_event_source_get_enabled(f->writer, &enabled) >= 0 && enabled != SD_EVENT_OFF)
                return;
        t = loop_now(sup_event(f->sup));
        (void) sd_event_source_set_time(f->writer, t + USEC_PER_MSEC);
        (void) sd_event_source_set_enabled(f->writer, SD_EVENT_ONESHOT);
}

static void on_stopping(void *userdata) {
        StateFile *f = userdata;

        statefile_recovery_kill(f);
}

static const SupObserver statefile_observer = {
        .record_changed = on_record_changed,
        .stopping = on_stopping,
};

int statefile_new(Supervisor *s, const char *path, StateFile **ret) {
        StateFile *f = calloc(1, sizeof(StateFile));
        int r;

        if (!f)
                return -ENOMEM;
        f->sup = s;
        f->path = path ? strdup(path) : NULL;
        if (path && !f->path)
                return statefile_free(f), -ENOMEM;
        r = sd_event_add_time(sup_event(s), &f->writer, CLOCK_MONOTONIC, USEC_INFINITY,
                              USEC_PER_MSEC, on_writer, f);
        if (r < 0)
                return statefile_free(f), r;
        (void) sd_event_source_set_enabled(f->writer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(f->writer, "state-writer");
        r = sup_observe(s, &statefile_observer, f);
        if (r < 0)
                return statefile_free(f), r;
        *ret = f;
        return 0;
}

StateFile *statefile_free(StateFile *f) {
        if (!f)
                return NULL;
        statefile_recovery_abort(f);
        sd_event_source_disable_unref(f->writer);
        free(f->path);
        free(f);
        return NULL;
}

char *statefile_default_path(const char *socket) {
        size_t l = strlen(socket);
        char *p;

        if (l > 5 && strcmp(socket + l - 5, ".sock") == 0)
                l -= 5;
        if (asprintf(&p, "%.*s.state", (int) l, socket) < 0)
                return NULL;
        return p;
}
