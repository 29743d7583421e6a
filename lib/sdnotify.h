/*
 * The sd_notify protocol as a worker speaks it to upkeepd (`ready = notify`): one datagram of
 * NEWLINE-separated KEY=VALUE assignments.  Pure: the caller receives the datagram and the
 * sender's credentials, and decides with what these say.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct SdNotify {
        bool ready;            /* READY=1 */
        bool stopping;         /* STOPPING=1 */
        bool reloading;        /* RELOADING=1 */
        bool watchdog;         /* WATCHDOG=1: a keep-alive */
        bool watchdog_trigger; /* WATCHDOG=trigger: fail now */
        bool has_status;
        char status[256];      /* STATUS=, printable UTF-8 only (others become '?'), cut */
        pid_t mainpid;         /* MAINPID=, > 0; 0: none or invalid */
} SdNotify;

/* Parse one datagram of n bytes (not NUL-terminated); unknown keys are ignored.  -EINVAL when
 * it holds no assignment at all. */
int sd_notify_parse(const char *buf, size_t n, SdNotify *ret);

/*
 * Is the process `pid` one of the instance whose main process is `main`?  `session` is its
 * session id (an instance runs in a session of its own, whose id is the main pid) and
 * `ancestors` its parents, nearest first, as far as they could be read.
 */
bool sd_notify_sender_ok(pid_t main, pid_t pid, pid_t session, const pid_t *ancestors,
                         size_t n);

/* What becomes of MAINPID= (see sd_notify_mainpid()). */
typedef enum SdMainPid {
        SD_MAINPID_NONE,    /* none given, or the main process already: nothing to do */
        SD_MAINPID_ADOPT,   /* the instance's main process from now on */
        SD_MAINPID_FOREIGN, /* not a process of the instance: refused */
        SD_MAINPID_SELF,    /* upkeepd itself, or init: refused */
} SdMainPid;

/*
 * MAINPID=pid for the instance whose main process is `main`, told to upkeepd (`self`): adopted
 * only when `member` (pid is one of the instance's processes, as its tree or its ancestry says).
 */
SdMainPid sd_notify_mainpid(pid_t pid, pid_t main, pid_t self, bool member);
