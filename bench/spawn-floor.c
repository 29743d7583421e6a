/*
 * spawn-floor: what starting a process costs on this machine, without any supervisor.
 *
 *   spawn-floor PROGRAM STAMPFILE N            posix_spawn PROGRAM STAMPFILE N times; prints,
 *                                              one per line, the milliseconds from just before
 *                                              the spawn to the CLOCK_MONOTONIC stamp the
 *                                              program writes at its start
 *   spawn-floor PROGRAM STAMPFILE N respawn    the least a supervisor can do on a restart: with
 *                                              the program running, SIGKILL it, wait for its
 *                                              pidfd, reap it, posix_spawn it again; prints the
 *                                              milliseconds from just before the kill to the new
 *                                              process's stamp
 *
 * The restart-latency benchmark reports both beside the supervisors' figures.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long now_ns(void) {
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* The stamp the program wrote at exec, waiting for it at most 10 s; -1 if none came. */
static long long wait_stamp(const char *path) {
        for (int tries = 0; tries < 100000; tries++) {
                FILE *f = fopen(path, "r");
                long long stamp;
                int p;

                if (f) {
                        int ok = fscanf(f, "%d %lld", &p, &stamp) == 2;
                        fclose(f);
                        if (ok)
                                return stamp;
                }
                usleep(100);
        }
        return -1;
}

static pid_t spawn(char *program, char *stamp) {
        char *args[] = { program, stamp, NULL };
        pid_t pid;

        unlink(stamp);
        return posix_spawn(&pid, program, NULL, NULL, args, environ) == 0 ? pid : -1;
}

int main(int argc, char **argv) {
        int n;
        bool respawn;
        pid_t pid;

        if (argc < 4 || argc > 5 || (argc == 5 && strcmp(argv[4], "respawn") != 0))
                return 2;
        n = atoi(argv[3]);
        respawn = argc == 5;
        if (respawn) {
                pid = spawn(argv[1], argv[2]);
                if (pid < 0 || wait_stamp(argv[2]) < 0)
                        return 1;
        }
        for (int k = 0; k < n; k++) {
                long long t0, stamp;

                if (respawn) {
                        struct pollfd pfd = { .events = POLLIN };

                        pfd.fd = (int) syscall(SYS_pidfd_open, pid, 0);
                        if (pfd.fd < 0)
                                return 1;
                        usleep(100000); /* let it settle, as the benchmark does */
                        t0 = now_ns();
                        kill(pid, SIGKILL);
                        if (poll(&pfd, 1, 10000) != 1)
                                return 1;
                        close(pfd.fd);
                        waitpid(pid, NULL, 0);
                        pid = spawn(argv[1], argv[2]);
                } else {
                        t0 = now_ns();
                        pid = spawn(argv[1], argv[2]);
                }
                if (pid < 0)
                        return 1;
                stamp = wait_stamp(argv[2]);
                if (stamp < 0)
                        return 1;
                printf("%.3f\n", (double) (stamp - t0) / 1e6);
                if (!respawn) {
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                }
        }
        if (respawn) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
        }
        return 0;
}
