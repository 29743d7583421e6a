/*
 * The state file: what must survive upkeepd itself being killed.
 *
 * It records, for each instance with a process, its pid (which is also its process group id)
 * and the process start time from /proc/PID/stat, plus the instances an operator stopped.  It
 * is rewritten (write to a temporary file, then rename) at most once per loop iteration, from a
 * defer source, after any state change.
 *
 * At start-up, before any worker is started, the previous run's file is read: every recorded
 * process that still exists with the same start time is a leftover of a upkeepd that died
 * without stopping its workers.  Its group gets the worker's stop-signal, then SIGKILL after
 * the stop-timeout; only when all of them are gone do the new workers start, so a worker never
 * runs twice and nothing is orphaned.  A pid that now belongs to another process (different
 * start time) is left alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "log.h"
#include "parse.h"
#include "state.h"
#include "supervisor.h"

#define STATE_VERSION 1

typedef struct Leftover {
        pid_t pid;
        int pidfd;
        sd_event_source *io;
        usec_t deadline;        /* SIGKILL then: its worker's stop-timeout after the signal */
} Leftover;

struct StateRecovery {
        Supervisor *sup;
        Leftover *left;
        size_t n_left, n_alive;
        sd_event_source *timer;
        void (*done)(Supervisor *s);
};

/* Field 22 of /proc/PID/stat: start time in clock ticks since boot; 0 when unknown. */
uint64_t state_process_start_time(pid_t pid) {
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

static json_t *state_json(Supervisor *s) {
        json_t *insts = json_array();

        for (size_t w = 0; w < s->n_workers; w++)
                for (unsigned k = 0; k < s->workers[w]->n_instances; k++) {
                        Instance *i = &s->workers[w]->instances[k];

                        if (i->pid <= 0 && !i->admin_stopped)
                                continue;
                        if (i->pid > 0 && i->pid_start_time == 0)
                                i->pid_start_time = state_process_start_time(i->pid);
                        json_array_append_new(
                                insts, json_pack("{s:s, s:i, s:I, s:b}", "name", i->name, "pid",
                                                 (json_int_t) (i->pid > 0 ? i->pid : 0),
                                                 "start_time",
                                                 (json_int_t) (i->pid > 0 ? i->pid_start_time : 0),
                                                 "admin_stopped", i->admin_stopped));
                }
        /* processes of removed or replaced workers are ours until they are gone */
        for (size_t w = 0; w < s->n_retiring; w++)
                for (unsigned k = 0; k < s->retiring[w]->n_instances; k++) {
                        Instance *i = &s->retiring[w]->instances[k];
                        if (i->pid <= 0)
                                continue;
                        json_array_append_new(
                                insts, json_pack("{s:s, s:i, s:I, s:b}", "name", i->name, "pid",
                                                 (json_int_t) i->pid, "start_time",
                                                 (json_int_t) i->pid_start_time, "admin_stopped",
                                                 false));
                }
        return json_pack("{s:i, s:i, s:o}", "version", STATE_VERSION, "upkeepd_pid",
                         (json_int_t) getpid(), "instances", insts);
}

int state_save(Supervisor *s) {
        _cleanup_free_ char *tmp = NULL;
        json_t *j;
        int r;

        if (!s->state_path)
                return 0;
        if (asprintf(&tmp, "%s.tmp", s->state_path) < 0)
                return -ENOMEM;
        j = state_json(s);
        if (!j)
                return -ENOMEM;
        r = json_dump_file(j, tmp, JSON_COMPACT);
        json_decref(j);
        if (r < 0 || rename(tmp, s->state_path) < 0) {
                r = negative_errno();
                (void) unlink(tmp);
                log_warning("cannot write the state file %s: %s, a crash of upkeepd now could "
                            "leave workers behind", s->state_path, strerror(-r));
                return r;
        }
        return 0;
}

static Instance *instance_by_name(Supervisor *s, const char *name) {
        for (size_t w = 0; w < s->n_workers; w++)
                for (unsigned k = 0; k < s->workers[w]->n_instances; k++)
                        if (strcmp(s->workers[w]->instances[k].name, name) == 0)
                                return &s->workers[w]->instances[k];
        return NULL;
}

static void recovery_free(StateRecovery *rc) {
        for (size_t k = 0; k < rc->n_left; k++) {
                sd_event_source_disable_unref(rc->left[k].io);
                if (rc->left[k].pidfd >= 0)
                        close(rc->left[k].pidfd);
        }
        sd_event_source_disable_unref(rc->timer);
        free(rc->left);
        free(rc);
}

static void recovery_finish(StateRecovery *rc) {
        Supervisor *s = rc->sup;
        void (*done)(Supervisor *) = rc->done;

        s->recovery = NULL;
        recovery_free(rc);
        done(s);
}

static int on_leftover_exit(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        StateRecovery *rc = userdata;

        (void) fd, (void) revents;
        for (size_t k = 0; k < rc->n_left; k++)
                if (rc->left[k].io == src) {
                        /* the leader is gone: nothing of its group may stay either */
                        (void) kill(-rc->left[k].pid, SIGKILL);
                        log_info("leftover process %d of the previous upkeepd is gone",
                                 (int) rc->left[k].pid);
                        rc->left[k].io = sd_event_source_disable_unref(rc->left[k].io);
                        rc->n_alive--;
                }
        if (rc->n_alive == 0)
                recovery_finish(rc);
        return 0;
}

/* Arm the timer for the earliest deadline of a leftover still alive and not yet killed. */
static void recovery_arm(StateRecovery *rc) {
        usec_t next = USEC_INFINITY;

        for (size_t k = 0; k < rc->n_left; k++)
                if (rc->left[k].io && rc->left[k].deadline < next)
                        next = rc->left[k].deadline;
        if (next == USEC_INFINITY)
                return;
        (void) sd_event_source_set_time(rc->timer, next);
        (void) sd_event_source_set_enabled(rc->timer, SD_EVENT_ONESHOT);
}

static int on_recovery_timeout(sd_event_source *src, uint64_t usec, void *userdata) {
        StateRecovery *rc = userdata;

        (void) src;
        for (size_t k = 0; k < rc->n_left; k++)
                if (rc->left[k].io && rc->left[k].deadline <= usec) {
                        log_warning("leftover process %d did not stop in time, sending SIGKILL",
                                    (int) rc->left[k].pid);
                        (void) kill(-rc->left[k].pid, SIGKILL);
                        (void) kill(rc->left[k].pid, SIGKILL);
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
        Instance *i = name ? instance_by_name(s, name) : NULL;
        int sig = i ? i->worker->cfg->stop_signal : SIGTERM;
        Leftover *l;
        int pidfd;

        if (pid <= 1 || pid == getpid() || start <= 0 ||
            state_process_start_time((pid_t) pid) != (uint64_t) start)
                return 0;
        pidfd = pidfd_open((pid_t) pid, 0);
        if (pidfd < 0 && errno == ENOSYS) {
                /* no pidfds: the group gets SIGKILL at once, nothing to wait for */
                log_notice("%s: process %d left by a previous upkeepd, killing its group",
                           name ?: "?", (int) pid);
                (void) kill(-(pid_t) pid, SIGKILL);
                return 0;
        }
        if (pidfd < 0)
                return 0; /* exited meanwhile */
        l = &rc->left[rc->n_left++];
        *l = (Leftover) { .pid = (pid_t) pid, .pidfd = pidfd };
        if (sd_event_add_io(sd_event_source_get_event(rc->timer), &l->io, pidfd, EPOLLIN,
                            on_leftover_exit, rc) < 0) {
                (void) kill(-l->pid, SIGKILL);
                return 0;
        }
        rc->n_alive++;
        /* the worker's own stop-timeout; 10 s for one no longer configured */
        (void) sd_event_now(sd_event_source_get_event(rc->timer), CLOCK_MONOTONIC, &l->deadline);
        l->deadline += i ? i->worker->cfg->stop_timeout : 10 * USEC_PER_SEC;
        log_notice("%s: process %d left by a previous upkeepd, stopping its group with %s",
                   name ?: "?", (int) l->pid, SIGNAL_LABEL(sig));
        (void) kill(-l->pid, sig);
        (void) kill(-l->pid, SIGCONT);
        return 0;
}

int state_recover(Supervisor *s, void (*done)(Supervisor *s)) {
        json_t *root, *insts, *e;
        json_error_t jerr;
        StateRecovery *rc;
        size_t k;
        int r;

        root = s->state_path ? json_load_file(s->state_path, 0, &jerr) : NULL;
        insts = json_object_get(root, "instances");
        if (!json_is_array(insts) || json_array_size(insts) == 0) {
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
        rc->done = done;
        r = sd_event_add_time(s->event, &rc->timer, CLOCK_MONOTONIC, USEC_INFINITY, USEC_PER_MSEC,
                              on_recovery_timeout, rc);
        if (r < 0) {
                recovery_free(rc);
                json_decref(root);
                return r;
        }
        json_array_foreach(insts, k, e) {
                const char *name = json_string_value(json_object_get(e, "name"));
                Instance *i = name ? instance_by_name(s, name) : NULL;

                if (i && json_is_true(json_object_get(e, "admin_stopped")))
                        i->admin_stopped = true;
                (void) stop_leftover(rc, e);
        }
        json_decref(root);
        if (rc->n_alive == 0) {
                recovery_free(rc);
                done(s);
                return 0;
        }
        s->recovery = rc;
        recovery_arm(rc);
        return 0;
}

void state_recovery_abort(Supervisor *s) {
        if (!s->recovery)
                return;
        recovery_free(s->recovery);
        s->recovery = NULL;
}

char *state_default_path(const char *socket) {
        size_t l = strlen(socket);
        char *p;

        if (l > 5 && strcmp(socket + l - 5, ".sock") == 0)
                l -= 5;
        if (asprintf(&p, "%.*s.state", (int) l, socket) < 0)
                return NULL;
        return p;
}
