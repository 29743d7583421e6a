/*
 * Readiness told by a worker itself: `ready = notify` (a NOTIFY_SOCKET of the instance's own,
 * sd_notify's protocol, with the per-worker watchdog and MAINPID= adoption) and `ready = fd:N`
 * (a pipe on fd N, ready at the first newline, s6's notification-fd).  One per instance, set up before each spawn and
 * torn down when the process is gone; it knows nothing of the supervisor, which it tells
 * through callbacks.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "config.h"

typedef struct ReadySpec {
        const char *name;          /* "api" or "api:2", for log lines */
        const WorkerConfig *cfg;
        sd_event *event;
        void (*ready)(void *userdata);                   /* READY=1, or the line on fd N */
        void (*failed)(void *userdata, const char *why); /* the watchdog missed, or triggered */
        /* pid is a process of the instance, by its tree (cgroup or environment, proctree.h) */
        bool (*member)(void *userdata, pid_t pid);
        /* MAINPID=pid accepted: the instance's main process from now on; < 0 and *why when
         * it cannot be watched (then nothing changed) */
        int (*adopt)(void *userdata, pid_t pid, char *why, size_t len);
        void *userdata;
} ReadySpec;

typedef struct Readiness {
        ReadySpec spec;
        int fd;                     /* ours: the notify socket, or the pipe's read end */
        int child_fd;               /* fd:N: the write end, until the spawn took it */
        sd_event_source *io, *watchdog;
        pid_t pid;                  /* the main process, once spawned; MAINPID= may change it */
        /* ready = notify: NOTIFY_SOCKET=, WATCHDOG_USEC=, WATCHDOG_PID= and the last STATUS=,
         * allocated for a run of such a worker only (most have none: 700 bytes each saved) */
        struct ReadyText {
                char env[3][160];
                char status[256];
        } *text;
        char *envp[4];
        bool reloading, stopping;
        struct ReadyLog *log;       /* ready = "log:REGEX": until a line matched */
} Readiness;

void readiness_init(Readiness *r);
/*
 * Before a spawn: the socket or the pipe.  *ret_env (NULL-terminated, r's) goes into the
 * worker's environment, *ret_fd (or -1) to its fd N.  < 0 with *reason on failure.
 */
int readiness_begin(Readiness *r, const ReadySpec *spec, char *const **ret_env, int *ret_fd,
                    char *reason, size_t len);
/* ready = "log:REGEX": an output line of the instance (an OutputLineFn, userdata r); false
 * once it has matched. */
bool readiness_line(void *r, const char *line, size_t len);
/* The spawn succeeded: messages from now on are checked against pid's processes. */
void readiness_spawned(Readiness *r, pid_t pid);
/* The process is gone (or the spawn failed): everything closed. */
void readiness_end(Readiness *r);
/* STATUS=, RELOADING=1, STOPPING=1 as status shows them; "" none. */
const char *readiness_status(const Readiness *r);
