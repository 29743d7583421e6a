/*
 * Sockets upkeepd holds for its workers (listen sections): the address syntax, the descriptor
 * numbers and LISTEN_* values a worker gets, {fd:NAME} in a command, and reading the lines of
 * /proc/net/{tcp,tcp6,unix} the caller has read, to name who holds an address.  Pure: the
 * caller binds, reads files and logs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* The first descriptor a worker's sockets get, as systemd's SD_LISTEN_FDS_START. */
#define LISTEN_FDS_START 3
/* room for "LISTEN_PID=" and the longest pid */
#define LISTEN_PID_MAX (sizeof("LISTEN_PID=") + 20)

typedef enum ListenFamily {
        LISTEN_TCP4,
        LISTEN_TCP6,
        LISTEN_UNIX,
} ListenFamily;

typedef struct ListenAddress {
        ListenFamily family;
        struct sockaddr_storage sa; /* ready for bind() */
        socklen_t sa_len;
        unsigned port;              /* TCP */
        char path[108];             /* unix: the file */
} ListenAddress;

/*
 * "tcp://127.0.0.1:8000", "tcp://[::1]:8000", "tcp://0.0.0.0:80", "tcp://[::]:8000" (numeric
 * addresses only: a name would be resolved once, at start, and silently go stale) or
 * "unix:/run/app.sock" (an absolute path that fits sun_path).  -EINVAL with a static
 * description of what was expected in *ret_error.
 */
int listen_address_parse(const char *s, ListenAddress *ret, const char **ret_error);

/*
 * The value of LISTEN_FDNAMES for these socket names: "web:admin".  NULL for none; -ENOMEM.
 */
int listen_fdnames(char *const *names, char **ret);

/*
 * Replace each {fd:NAME} in arg by the descriptor the worker gets for socket NAME (names in
 * the order of its sockets list: the first is LISTEN_FDS_START).  -ENOENT when NAME is not in
 * names, with the name's start in *ret_bad (pointing into arg); -ENOMEM.
 */
int listen_expand_fds(const char *arg, char *const *names, char **ret, const char **ret_bad);

/*
 * Write "LISTEN_PID=<pid>" into dst (at least LISTEN_PID_MAX bytes): no allocation, no locale,
 * so a child may call it between clone and exec.
 */
void listen_format_pid(char *dst, pid_t pid);

/*
 * One line of /proc/net/tcp or /proc/net/tcp6: true if it is a listening socket on that port,
 * with its inode in *ret_inode.
 */
bool listen_procnet_tcp(const char *line, unsigned port, unsigned long *ret_inode);
/* One line of /proc/net/unix: true if it is a listening socket bound to path. */
bool listen_procnet_unix(const char *line, const char *path, unsigned long *ret_inode);
