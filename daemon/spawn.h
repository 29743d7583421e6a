/*
 * Spawning one process from a plain description: no configuration, no logs, no supervisor.
 * The caller resolves names, builds the environment and owns the descriptors it hands over.
 */
#pragma once

/* <spawn.h> (posix_spawn) resolves to this file through -Idaemon: pass it on. */
#include_next <spawn.h>

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef enum SpawnStage {
        SPAWN_SETSID,
        SPAWN_STDIO,
        SPAWN_GROUPS,
        SPAWN_SETGID,
        SPAWN_SETUID,
        SPAWN_CHDIR,
        SPAWN_RLIMIT,
        SPAWN_FDS,
        SPAWN_EXEC,
        SPAWN_CGROUP,
        _SPAWN_STAGE_MAX,
} SpawnStage;

typedef struct SpawnSpec {
        char *const *argv;        /* argv[0] is looked up in the PATH of envp (execvpe) */
        char *const *envp;
        bool set_credentials;     /* else the child keeps upkeepd's */
        uid_t uid;
        gid_t gid;
        const gid_t *groups;      /* supplementary groups, set with the credentials */
        size_t n_groups;
        const char *directory;    /* NULL: upkeepd's */
        int umask;                /* -1: upkeepd's */
        unsigned long limit_nproc, limit_nofile; /* 0: inherited */
        int stdout_fd, stderr_fd; /* stdin is /dev/null; these stay the caller's */
        int extra_fd;             /* given to the worker as extra_target (ready = fd:N) ... */
        int extra_target;         /* ... when > 2; 0: none */
        char *pid_slot;           /* in an envp string: the child writes its pid there (WATCHDOG_PID=),
                                   * room for 10 digits and a NUL; NULL: none */
        bool use_stdin_fd;        /* stdin_fd (a held socket, the caller's) instead of /dev/null */
        int stdin_fd;
        /* held sockets, passed as descriptors 3, 4, ... (they stay the caller's) */
        const int *fds;
        size_t n_fds;             /* at most SPAWN_MAX_FDS */
        /* an entry of envp, LISTEN_PID_MAX bytes: the child writes "LISTEN_PID=<its pid>"
         * there just before exec (its pid is known only then); NULL: none */
        char *listen_pid;
        bool join_cgroup;         /* start in the cgroup whose directory cgroup_fd is */
        int cgroup_fd;
        bool cgroup_by_write;     /* join by writing its cgroup.procs, not by clone3 */
} SpawnSpec;

#define SPAWN_MAX_FDS 64

/*
 * Start the process in a session (and process group) of its own with a clean signal state.
 * *ret_errpipe is the read end (non-blocking) on which the child reports a failure before
 * exec; spawn_read_error() reads it once the child has ended.
 */
int spawn_process(const SpawnSpec *spec, pid_t *ret_pid, int *ret_errpipe);
/* The failure the child reported before exec: true with its stage and errno, if any. */
bool spawn_read_error(int errpipe, SpawnStage *ret_stage, int *ret_errno);
const char *spawn_stage_to_string(SpawnStage s);
