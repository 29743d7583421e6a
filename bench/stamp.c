/*
 * bench-stamp: the smallest worker the benchmarks can time.  At start it appends
 * "<pid> <CLOCK_MONOTONIC ns>\n" to the file named by its first argument (one write, O_APPEND,
 * so a hundred of them can share the file), then sleeps until a signal ends it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
        struct timespec ts;
        char line[64];
        int fd, n;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        if (argc < 2)
                return 2;
        n = snprintf(line, sizeof line, "%d %lld\n", (int) getpid(),
                     (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec);
        fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, line, (size_t) n) != n)
                return 1;
        close(fd);
        for (;;)
                pause();
}
