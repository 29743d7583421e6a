/*
 * bench-stamp: the smallest worker the benchmarks can time.  At start it appends
 * "<pid> <CLOCK_MONOTONIC ns>\n" to the file named by its first argument (one write, O_APPEND,
 * so a hundred of them can share the file), then sleeps until a signal ends it; with a second
 * argument N it exits with status N at once instead (a crash loop).
 *
 * When $BENCH_STAMP is set, the file and the exit status come from $BENCH_STAMP and $BENCH_EXIT
 * and the arguments are ignored, so a service directory's ./run (runit, s6, which passes the
 * service's name as an argument) can be a symbolic link to this binary and nothing else runs
 * between the supervisor's exec and the stamp.  With $BENCH_NOTIFY_FD set it then writes a newline
 * to that descriptor (s6's readiness notification, notification-fd); with $BENCH_SD_NOTIFY set,
 * it sends READY=1 to $NOTIFY_SOCKET (sd_notify's protocol, by hand: the binary is static).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* READY=1 to $NOTIFY_SOCKET; "@name" is an abstract address. */
static void sd_ready(void) {
        const char *addr = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t len;
        int fd;

        if (!addr || !*addr || strlen(addr) >= sizeof sa.sun_path)
                return;
        len = strlen(addr);
        memcpy(sa.sun_path, addr, len);
        if (sa.sun_path[0] == '@')
                sa.sun_path[0] = '\0';
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return;
        (void) sendto(fd, "READY=1", 7, 0, (struct sockaddr *) &sa,
                      (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len));
        close(fd);
}

int main(int argc, char **argv) {
        struct timespec ts;
        const char *path, *code;
        char line[64];
        int fd, n;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        path = getenv("BENCH_STAMP");
        code = path ? getenv("BENCH_EXIT") : argc >= 3 ? argv[2] : NULL;
        if (!path)
                path = argc >= 2 ? argv[1] : NULL;
        if (!path || !*path)
                return 2;
        n = snprintf(line, sizeof line, "%d %lld\n", (int) getpid(),
                     (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec);
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, line, (size_t) n) != n)
                return 1;
        close(fd);
        if (getenv("BENCH_NOTIFY_FD")) {
                int nfd = atoi(getenv("BENCH_NOTIFY_FD"));

                if (write(nfd, "\n", 1) == 1)
                        close(nfd);
        }
        if (getenv("BENCH_SD_NOTIFY"))
                sd_ready();
        if (code && *code)
                return atoi(code);
        for (;;)
                pause();
}
