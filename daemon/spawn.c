/*
 * Spawning one process (see spawn.h): everything that can be checked is checked by the caller
 * before fork (user, group, env-file, log file), so the child only does syscalls between fork
 * and exec: its instance's cgroup, a new session (its own process group), clean signal state,
 * stdio, credentials, directory, umask, exec.  The child is created with clone(CLONE_VM | CLONE_VFORK), see
 * clone_child().
 * When one of those fails the child writes {stage, errno} to a close-on-exec pipe and exits 127;
 * the caller reads that record when it reaps the child, so a failed exec is a spawn error with
 * a reason, never a mystery exit code.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/sched.h>
#include <unistd.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif

#include "listen.h"
#include "macro.h"
#include "spawn.h"

typedef struct SpawnError {
        int stage;
        int error;
} SpawnError;

static const char *const stage_names[_SPAWN_STAGE_MAX] = {
        [SPAWN_SETSID] = "setsid",   [SPAWN_STDIO] = "stdio",   [SPAWN_GROUPS] = "setgroups",
        [SPAWN_SETGID] = "setgid",   [SPAWN_SETUID] = "setuid", [SPAWN_CHDIR] = "chdir",
        [SPAWN_RLIMIT] = "setrlimit",
        [SPAWN_FDS] = "sockets",
        [SPAWN_EXEC] = "exec",       [SPAWN_CGROUP] = "cgroup",
};

const char *spawn_stage_to_string(SpawnStage s) {
        return s >= 0 && s < _SPAWN_STAGE_MAX ? stage_names[s] : NULL;
}

typedef struct ChildArgs {
        const SpawnSpec *spec;
        int errpipe;
        bool in_cgroup;           /* clone3 started it in the cgroup already */
} ChildArgs;

static _Noreturn void child_fail(int errpipe, int stage) {
        SpawnError e = { .stage = stage, .error = errno };

        (void) !write(errpipe, &e, sizeof e);
        _exit(127);
}

/* The child's pid, in decimal, where the parent left room for it (no allocation, no libc
 * formatting: we run on the parent's memory). */
static void write_pid(char *slot) {
        char digits[12];
        int n = 0;

        for (unsigned long v = (unsigned long) getpid(); v > 0 || n == 0; v /= 10)
                digits[n++] = (char) ('0' + v % 10);
        for (int k = 0; k < n; k++)
                slot[k] = digits[n - 1 - k];
        slot[n] = '\0';
}

/* The readiness descriptor at the number the worker expects, kept across exec; errpipe moves
 * out of its way first.  Returns where errpipe is now. */
static int give_extra_fd(const SpawnSpec *sp, int extra_fd, int errpipe) {
        if (errpipe == sp->extra_target) {
                errpipe = fcntl(errpipe, F_DUPFD_CLOEXEC, sp->extra_target + 1);
                if (errpipe < 0)
                        _exit(127);
        }
        if (extra_fd == sp->extra_target) {
                if (fcntl(extra_fd, F_SETFD, 0) < 0)
                        child_fail(errpipe, SPAWN_STDIO);
        } else if (dup2(extra_fd, sp->extra_target) < 0)
                child_fail(errpipe, SPAWN_STDIO);
        return errpipe;
}

/*
 * The held sockets as descriptors 3, 4, ... without close-on-exec.  A source may sit where a
 * target goes (or where the error pipe is): everything is first moved above the targets.
 */
static int pass_fds(const SpawnSpec *sp, int *errpipe) {
        int tmp[SPAWN_MAX_FDS], above = LISTEN_FDS_START + (int) sp->n_fds;

        if (sp->n_fds > SPAWN_MAX_FDS) {
                errno = EMFILE;
                return -1;
        }
        int ep = fcntl(*errpipe, F_DUPFD_CLOEXEC, above);

        if (ep < 0)
                return -1;
        *errpipe = ep;
        for (size_t k = 0; k < sp->n_fds; k++)
                if ((tmp[k] = fcntl(sp->fds[k], F_DUPFD_CLOEXEC, above)) < 0)
                        return -1;
        for (size_t k = 0; k < sp->n_fds; k++)
                if (dup2(tmp[k], LISTEN_FDS_START + (int) k) < 0)
                        return -1;
        return 0;
}

/*
 * Runs in the child between clone and exec, on its own stack but in upkeepd's memory
 * (CLONE_VM): system calls only, nothing that allocates or takes a lock.
 */
static int child_exec(void *userdata) {
        const ChildArgs *a = userdata;
        const SpawnSpec *sp = a->spec;
        int errpipe = a->errpipe, extra_fd = sp->extra_fd;
        sigset_t empty;
        int nullfd;

        /* handled signals are reset by exec itself, ignored ones are not: SIGPIPE is the only
         * signal upkeepd ignores (everything else is read through signalfd) */
        sigemptyset(&empty);
        signal(SIGPIPE, SIG_DFL);
        sigprocmask(SIG_SETMASK, &empty, NULL);

        /* first, while we still have upkeepd's credentials: everything from here on, and all
         * the worker starts, is in the instance's cgroup */
        if (sp->join_cgroup && !a->in_cgroup) {
                int procs = openat(sp->cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);

                if (procs < 0 || write(procs, "0", 1) < 0)
                        child_fail(errpipe, SPAWN_CGROUP);
                (void) close(procs);
        }
        if (setsid() < 0)
                child_fail(errpipe, SPAWN_SETSID);

        nullfd = sp->use_stdin_fd ? sp->stdin_fd : open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (nullfd < 0 || dup2(nullfd, STDIN_FILENO) < 0 ||
            dup2(sp->stdout_fd, STDOUT_FILENO) < 0 || dup2(sp->stderr_fd, STDERR_FILENO) < 0)
                child_fail(errpipe, SPAWN_STDIO);

        /* limits before the user switch: RLIMIT_NPROC then counts the worker's user */
        if (sp->limit_nproc > 0 &&
            setrlimit(RLIMIT_NPROC, &(struct rlimit) { sp->limit_nproc, sp->limit_nproc }) < 0)
                child_fail(errpipe, SPAWN_RLIMIT);
        if (sp->limit_nofile > 0 &&
            setrlimit(RLIMIT_NOFILE, &(struct rlimit) { sp->limit_nofile, sp->limit_nofile }) < 0)
                child_fail(errpipe, SPAWN_RLIMIT);

        if (sp->set_credentials) {
                if (setgroups(sp->n_groups, sp->groups) < 0)
                        child_fail(errpipe, SPAWN_GROUPS);
                if (setresgid(sp->gid, sp->gid, sp->gid) < 0)
                        child_fail(errpipe, SPAWN_SETGID);
                if (setresuid(sp->uid, sp->uid, sp->uid) < 0)
                        child_fail(errpipe, SPAWN_SETUID);
        }
        if (sp->directory && chdir(sp->directory) < 0)
                child_fail(errpipe, SPAWN_CHDIR);
        if (sp->umask >= 0)
                (void) umask((mode_t) sp->umask); /* cannot fail */
        /* the ready = fd:N pipe out of the way of the held sockets (N is above them) */
        if (sp->extra_target > 2 && sp->n_fds > 0 &&
            (extra_fd = fcntl(extra_fd, F_DUPFD_CLOEXEC, LISTEN_FDS_START + (int) sp->n_fds)) < 0)
                child_fail(errpipe, SPAWN_FDS);
        if (sp->n_fds > 0 && pass_fds(sp, &errpipe) < 0)
                child_fail(errpipe, SPAWN_FDS);

        /*
         * Nothing of upkeepd's beyond stdio may reach the worker: libcurl opens its sockets
         * (probe connections, its wake-up socketpair) without O_CLOEXEC.  A worker holding a
         * probe connection would keep it open after curl closed it.  Best effort: before
         * Linux 5.11 this fails and only our own descriptors are close-on-exec.
         */
        (void) close_range(LISTEN_FDS_START + (unsigned) sp->n_fds, ~0U, CLOSE_RANGE_CLOEXEC);
        if (sp->extra_target > 2)
                errpipe = give_extra_fd(sp, extra_fd, errpipe);
        if (sp->pid_slot)
                write_pid(sp->pid_slot);
        /* for sd_listen_fds(): the sockets are this process's, not those of a child it
         * starts with the same environment (which, without LISTEN_PID, would take them) */
        if (sp->listen_pid)
                listen_format_pid(sp->listen_pid, getpid());
        execvpe(sp->argv[0], sp->argv, sp->envp);
        child_fail(errpipe, SPAWN_EXEC);
}

/*
 * The child shares our memory until it execs (CLONE_VM | CLONE_VFORK, as posix_spawn does), so
 * starting a worker costs no page-table copy however large upkeepd is, and we are suspended for
 * just the few system calls above.  One stack serves every spawn: we are single-threaded and
 * CLONE_VFORK keeps us waiting until the child has left it.
 */
static char child_stack[64 * 1024] __attribute__((aligned(16)));

static pid_t clone_child(ChildArgs *a) {
#ifdef __SANITIZE_ADDRESS__
        /* a child that ended in _exit() left AddressSanitizer's marks on the shared stack */
        ASAN_UNPOISON_MEMORY_REGION(child_stack, sizeof child_stack);
#endif
        return clone(child_exec, child_stack + sizeof child_stack, CLONE_VM | CLONE_VFORK | SIGCHLD,
                     a);
}

/*
 * Started in its cgroup by the kernel (clone3 CLONE_INTO_CGROUP, Linux 5.7): moving a process
 * there by writing cgroup.procs waits for an RCU grace period, 8 to 15 ms here, which would be
 * most of a restart.  On x86-64 the child shares our memory and runs on child_stack, as with
 * clone() above (glibc exports no clone3(): the few instructions of its clone3.S are here);
 * elsewhere it is a vfork-like fork, its page tables copied.  -1 with errno ENOSYS or EINVAL
 * where the kernel lacks it.
 */
#if defined(__x86_64__)
static long clone3_vm(struct clone_args *ca, int (*fn)(void *), void *arg) {
        long ret;

        __asm__ volatile("syscall\n\t"
                         "test %%rax, %%rax\n\t"
                         "jnz 1f\n\t"
                         /* the child, on its own stack: fn(arg), then exit with its value */
                         "xor %%ebp, %%ebp\n\t"
                         "mov %[arg], %%rdi\n\t"
                         "call *%[fn]\n\t"
                         "mov %%eax, %%edi\n\t"
                         "mov %[exit], %%eax\n\t"
                         "syscall\n\t"
                         "hlt\n\t"
                         "1:\n\t"
                         : "=a"(ret)
                         : "a"((long) SYS_clone3), "D"(ca), "S"(sizeof *ca), [fn] "r"(fn),
                           [arg] "r"(arg), [exit] "i"(SYS_exit)
                         : "rcx", "r11", "memory");
        return ret;
}
#endif

static pid_t clone_into_cgroup(ChildArgs *a) {
        struct clone_args ca = {
                .flags = CLONE_VFORK | CLONE_INTO_CGROUP,
                .exit_signal = SIGCHLD,
                .cgroup = (uint64_t) a->spec->cgroup_fd,
        };
        long pid;

        a->in_cgroup = true;
#if defined(__x86_64__)
#ifdef __SANITIZE_ADDRESS__
        ASAN_UNPOISON_MEMORY_REGION(child_stack, sizeof child_stack);
#endif
        ca.flags |= CLONE_VM;
        ca.stack = (uint64_t) (uintptr_t) child_stack;
        ca.stack_size = sizeof child_stack;
        pid = clone3_vm(&ca, child_exec, a);
        if (pid < 0) {
                errno = (int) -pid;
                return -1;
        }
#else
        pid = syscall(SYS_clone3, &ca, sizeof ca);
        if (pid == 0) {
                (void) child_exec(a); /* does not return */
                _exit(127);
        }
#endif
        return (pid_t) pid;
}

int spawn_process(const SpawnSpec *spec, pid_t *ret_pid, int *ret_errpipe) {
        _cleanup_close_ int ep_r = -1, ep_w = -1;
        int p[2];
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        ep_r = p[0], ep_w = p[1];
        pid = -1;
        if (spec->join_cgroup && !spec->cgroup_by_write) {
                pid = clone_into_cgroup(&(ChildArgs) { .spec = spec, .errpipe = ep_w });
                if (pid < 0 && errno != ENOSYS && errno != EINVAL && errno != E2BIG)
                        return negative_errno();
        }
        if (pid < 0)
                pid = clone_child(&(ChildArgs) { .spec = spec, .errpipe = ep_w });
        if (pid < 0)
                return negative_errno();
        (void) fcntl(ep_r, F_SETFL, O_NONBLOCK);
        *ret_errpipe = TAKE_FD(ep_r);
        *ret_pid = pid;
        return 0;
}

bool spawn_read_error(int errpipe, SpawnStage *ret_stage, int *ret_errno) {
        SpawnError e;

        if (errpipe < 0 || read(errpipe, &e, sizeof e) != (ssize_t) sizeof e)
                return false;
        *ret_stage = e.stage >= 0 && e.stage < _SPAWN_STAGE_MAX ? (SpawnStage) e.stage
                                                                 : SPAWN_EXEC;
        *ret_errno = e.error;
        return true;
}
