/*
 * Sockets held for workers: the pure part (see listen.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "listen.h"
#include "macro.h"

static int parse_port(const char *s, unsigned *ret) {
        unsigned long v;
        char *end;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || v < 1 || v > 65535)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

static int parse_tcp(const char *s, ListenAddress *a, const char **err) {
        char host[INET6_ADDRSTRLEN + 1];
        const char *colon, *h = s;
        size_t hlen;

        *err = "expected tcp://ADDRESS:PORT with a numeric address, e.g. tcp://127.0.0.1:8000 "
               "or tcp://[::]:8000";
        if (*s == '[') {
                const char *close = strchr(s, ']');

                if (!close || close[1] != ':')
                        return -EINVAL;
                h = s + 1;
                hlen = (size_t) (close - h);
                colon = close + 1;
                a->family = LISTEN_TCP6;
        } else {
                colon = strrchr(s, ':');
                if (!colon)
                        return -EINVAL;
                hlen = (size_t) (colon - s);
                a->family = LISTEN_TCP4;
        }
        if (hlen == 0 || hlen >= sizeof host)
                return -EINVAL;
        memcpy(host, h, hlen);
        host[hlen] = '\0';
        if (parse_port(colon + 1, &a->port) < 0) {
                *err = "expected a port from 1 to 65535 after the address, e.g. "
                       "tcp://127.0.0.1:8000";
                return -EINVAL;
        }
        if (a->family == LISTEN_TCP6) {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &a->sa;

                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t) a->port);
                if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
                        return -EINVAL;
                a->sa_len = sizeof *in6;
        } else {
                struct sockaddr_in *in = (struct sockaddr_in *) &a->sa;

                in->sin_family = AF_INET;
                in->sin_port = htons((uint16_t) a->port);
                if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
                        return -EINVAL;
                a->sa_len = sizeof *in;
        }
        return 0;
}

static int parse_unix(const char *s, ListenAddress *a, const char **err) {
        struct sockaddr_un *un = (struct sockaddr_un *) &a->sa;
        size_t len = strlen(s);

        *err = "expected unix:/absolute/path of at most 107 bytes, e.g. unix:/run/app.sock";
        if (s[0] != '/' || len >= sizeof un->sun_path || len >= sizeof a->path)
                return -EINVAL;
        a->family = LISTEN_UNIX;
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, s, len + 1);
        memcpy(a->path, s, len + 1);
        a->sa_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len + 1);
        return 0;
}

int listen_address_parse(const char *s, ListenAddress *ret, const char **ret_error) {
        ListenAddress a = {};
        const char *err = "expected tcp://ADDRESS:PORT or unix:/PATH";
        int r = -EINVAL;

        if (!s)
                r = -EINVAL;
        else if (strncmp(s, "tcp://", 6) == 0)
                r = parse_tcp(s + 6, &a, &err);
        else if (strncmp(s, "unix:", 5) == 0)
                r = parse_unix(s + 5, &a, &err);
        if (r < 0) {
                if (ret_error)
                        *ret_error = err;
                return r;
        }
        *ret = a;
        return 0;
}

int listen_fdnames(char *const *names, char **ret) {
        size_t n = 0;
        char *s;

        if (!names || !names[0]) {
                *ret = NULL;
                return 0;
        }
        for (char *const *p = names; *p; p++)
                n += strlen(*p) + 1;
        s = malloc(n);
        if (!s)
                return -ENOMEM;
        s[0] = '\0';
        for (char *const *p = names; *p; p++) {
                if (p != names)
                        strcat(s, ":");
                strcat(s, *p);
        }
        *ret = s;
        return 0;
}

static long name_index(char *const *names, const char *name, size_t len) {
        for (long k = 0; names && names[k]; k++)
                if (strlen(names[k]) == len && memcmp(names[k], name, len) == 0)
                        return k;
        return -1;
}

int listen_expand_fds(const char *arg, char *const *names, char **ret, const char **ret_bad) {
        size_t cap = strlen(arg) + 1;
        char *out, *o;

        /* "{fd:X}" is at least 6 bytes and its number at most 10 digits */
        for (const char *p = arg; (p = strstr(p, "{fd:")); p++)
                cap += 10;
        out = malloc(cap);
        if (!out)
                return -ENOMEM;
        o = out;
        for (const char *p = arg; *p;) {
                const char *end;
                long k;

                if (strncmp(p, "{fd:", 4) != 0 || !(end = strchr(p + 4, '}'))) {
                        *o++ = *p++;
                        continue;
                }
                k = name_index(names, p + 4, (size_t) (end - (p + 4)));
                if (k < 0) {
                        free(out);
                        if (ret_bad)
                                *ret_bad = p + 4;
                        return -ENOENT;
                }
                o += sprintf(o, "%ld", LISTEN_FDS_START + k);
                p = end + 1;
        }
        *o = '\0';
        *ret = out;
        return 0;
}

void listen_format_pid(char *dst, pid_t pid) {
        static const char prefix[] = "LISTEN_PID=";
        char digits[24];
        size_t n = 0;
        unsigned long v = pid > 0 ? (unsigned long) pid : 0;

        do {
                digits[n++] = (char) ('0' + v % 10);
                v /= 10;
        } while (v > 0);
        memcpy(dst, prefix, sizeof prefix - 1);
        dst += sizeof prefix - 1;
        while (n > 0)
                *dst++ = digits[--n];
        *dst = '\0';
}

/*
 * "  0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000  0 12345 ..."
 * (sl, local, remote, state, tx:rx, tr:when, retrnsmt, uid, timeout, inode); 0A is LISTEN.
 */
bool listen_procnet_tcp(const char *line, unsigned port, unsigned long *ret_inode) {
        char local[80], remote[80];
        unsigned st, uid, timeout;
        unsigned long inode;
        const char *colon;
        unsigned long p;
        char *end;

        if (sscanf(line, " %*[0-9]: %79s %79s %x %*x:%*x %*x:%*x %*x %u %u %lu", local, remote,
                   &st, &uid, &timeout, &inode) != 6)
                return false;
        colon = strrchr(local, ':');
        if (!colon || st != 0x0A)
                return false;
        p = strtoul(colon + 1, &end, 16);
        if (*end || p != port)
                return false;
        *ret_inode = inode;
        return true;
}

/*
 * "0000000000000000: 00000002 00000000 00010000 0001 01 12345 /run/app.sock"
 * (Num, RefCount, Protocol, Flags, Type, St, Inode, Path); flag 0x10000 is __SO_ACCEPTCON.
 */
bool listen_procnet_unix(const char *line, const char *path, unsigned long *ret_inode) {
        unsigned long flags, inode;
        int n = 0;

        if (sscanf(line, "%*x: %*x %*x %lx %*x %*x %lu %n", &flags, &inode, &n) != 2 || n == 0)
                return false;
        if (!(flags & 0x10000) || strcspn(line + n, "\n") != strlen(path) ||
            strncmp(line + n, path, strlen(path)) != 0)
                return false;
        *ret_inode = inode;
        return true;
}
