/*
 * libFuzzer harness: held sockets' parsers (lib/listen.h) on hostile input.  The input is split
 * at its first NUL: the part before is an address, a {fd:NAME} command word and a /proc/net
 * line; the part after, NUL-separated, the socket names.  An address that parses is one
 * bind() can take (a family, a length within sockaddr_storage, a port for TCP, an absolute
 * path for unix); an expansion either fails with -ENOENT pointing into the word or leaves no
 * {fd:NAME} of a known name behind.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "listen.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *buf = malloc(size + 2), *names[9] = {}, *out = NULL, pid[LISTEN_PID_MAX];
        const char *err = NULL, *bad = NULL;
        size_t n = 0, first;
        unsigned long inode;
        ListenAddress a;
        int r;

        if (!buf)
                return 0;
        memcpy(buf, data, size);
        buf[size] = buf[size + 1] = '\0';
        first = strlen(buf);
        for (char *p = buf + first + 1; p < buf + size + 1 && n < 8; p += strlen(p) + 1)
                if (*p)
                        names[n++] = p;

        r = listen_address_parse(buf, &a, &err);
        if (r < 0 && (r != -EINVAL || !err))
                abort();
        if (r == 0) {
                if (a.sa_len == 0 || a.sa_len > sizeof a.sa)
                        abort();
                if (a.family == LISTEN_UNIX && (a.path[0] != '/' || a.sa.ss_family != AF_UNIX))
                        abort();
                if (a.family != LISTEN_UNIX && (a.port < 1 || a.port > 65535))
                        abort();
        }
        r = listen_expand_fds(buf, names, &out, &bad);
        if (r == -ENOENT && (bad < buf || bad > buf + first))
                abort();
        if (r == 0) {
                for (size_t k = 0; k < n; k++) {
                        char ref[300];

                        if (strlen(names[k]) < 200 && !strchr(names[k], '}')) {
                                snprintf(ref, sizeof ref, "{fd:%s}", names[k]);
                                if (strstr(out, ref))
                                        abort();
                        }
                }
                free(out);
        } else if (r != -ENOENT && r != -ENOMEM)
                abort();
        (void) listen_procnet_tcp(buf, 8000, &inode);
        (void) listen_procnet_unix(buf, "/run/app.sock", &inode);
        listen_format_pid(pid, (pid_t) size);
        if (strncmp(pid, "LISTEN_PID=", 11) != 0)
                abort();
        free(buf);
        return 0;
}
