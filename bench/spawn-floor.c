/*
 * spawn-floor: what starting a process costs on this machine, without any supervisor.  Spawns
 * PROGRAM STAMPFILE with posix_spawn N times and prints, one per line, the milliseconds from
 * just before the spawn to the CLOCK_MONOTONIC stamp the program writes at its start.  The
 * restart-latency benchmark reports this floor beside the supervisors' figures.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
        int n;

        if (argc != 4)
                return 2;
        n = atoi(argv[3]);
        for (int k = 0; k < n; k++) {
                char *args[] = { argv[1], argv[2], NULL };
                struct timespec t;
                long long t0, stamp = 0;
                pid_t pid;
                int p;

                unlink(argv[2]);
                clock_gettime(CLOCK_MONOTONIC, &t);
                t0 = t.tv_sec * 1000000000LL + t.tv_nsec;
                if (posix_spawn(&pid, argv[1], NULL, NULL, args, environ) != 0)
                        return 1;
                for (int tries = 0; tries < 100000; tries++) {
                        FILE *f = fopen(argv[2], "r");
                        if (f) {
                                int ok = fscanf(f, "%d %lld", &p, &stamp) == 2;
                                fclose(f);
                                if (ok)
                                        break;
                        }
                        usleep(100);
                }
                printf("%.3f\n", (double) (stamp - t0) / 1e6);
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
        }
        return 0;
}
