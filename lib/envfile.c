/*
 * Env-files (see envfile.h).
 *
 * envfile_read() runs on the event loop each time a worker with an env-file is spawned, as root.
 * Nothing in it may wait: the path is checked with stat() before open() so a FIFO or a device is
 * never opened at all (opening a FIFO for reading blocks until a writer comes; opening some
 * devices has side effects), then opened with O_NONBLOCK in case it was swapped for one between
 * the two calls, and fstat() must agree that it is the same regular file.  A symlink is followed:
 * the path is root's choice in the configuration, and secret mounts are commonly symlinks.
 * Reading stops one byte past ENVFILE_SIZE_MAX, so a file that grows while read cannot make us
 * allocate more.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envfile.h"
#include "macro.h"

/* Remove matching outer quotes, as shells and dotenv loaders do. */
static char *unquote(char *v) {
        size_t l = strlen(v);

        if (l >= 2 && (v[0] == '"' || v[0] == '\'') && v[l - 1] == v[0]) {
                v[l - 1] = '\0';
                return v + 1;
        }
        return v;
}

/* One line, NUL-terminated and without its newline, in a buffer of our own. */
static int parse_line(char *s, const char *path, unsigned lineno, char ***env, size_t *n,
                      size_t *cap, char *err, size_t errlen) {
        char *eq, *val, **ne;

        s[strcspn(s, "\r")] = '\0';
        while (isspace((unsigned char) *s))
                s++;
        if (*s == '\0' || *s == '#')
                return 0;
        if (strncmp(s, "export ", 7) == 0)
                s += 7;
        eq = strchr(s, '=');
        if (!eq || eq == s) {
                /* the line may hold a secret: name only the place */
                snprintf(err, errlen, "%s:%u: expected NAME=value", path, lineno);
                return -EINVAL;
        }
        *eq = '\0';
        for (char *k = s; *k; k++)
                if (!isalnum((unsigned char) *k) && *k != '_') {
                        snprintf(err, errlen, "%s:%u: invalid variable name, expected letters, "
                                 "digits and '_'", path, lineno);
                        return -EINVAL;
                }
        val = unquote(eq + 1);
        if (*n + 2 > *cap) {
                /* doubling: a 1 MiB file has some 180 000 lines, and growing by one slot per
                 * line copied the list at each (quadratic, a minute on the loop) */
                size_t c = MAX(*cap * 2, *n + 2);

                ne = reallocarray(*env, c, sizeof(char *));
                if (!ne)
                        return -ENOMEM;
                *env = ne;
                *cap = c;
        }
        ne = *env;
        if (asprintf(&ne[*n], "%s=%s", s, val) < 0) {
                ne[*n] = NULL;
                return -ENOMEM;
        }
        ne[++*n] = NULL;
        return 0;
}

int envfile_parse(const char *buf, size_t len, const char *path, char ***env, char *err,
                  size_t errlen) {
        size_t n = 0, cap;
        unsigned lineno = 0;

        if (errlen > 0)
                err[0] = '\0';
        for (char **e = *env; e && *e; e++)
                n++;
        cap = *env ? n + 1 : 0; /* what the list is known to hold */
        while (len > 0) {
                const char *nl = memchr(buf, '\n', len);
                size_t l = nl ? (size_t) (nl - buf) : len;
                _cleanup_free_ char *line = NULL;
                int r;

                lineno++;
                if (memchr(buf, '\0', l)) {
                        snprintf(err, errlen, "%s:%u: expected text, found a NUL byte", path,
                                 lineno);
                        return -EINVAL;
                }
                line = strndup(buf, l);
                if (!line)
                        return -ENOMEM;
                r = parse_line(line, path, lineno, env, &n, &cap, err, errlen);
                if (r < 0)
                        return r;
                buf += nl ? l + 1 : l;
                len -= nl ? l + 1 : l;
        }
        return 0;
}

int envfile_read(const char *path, char ***env, char *err, size_t errlen) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st, fst;
        size_t n = 0;

        if (stat(path, &st) < 0) {
                int r = negative_errno();
                snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                snprintf(err, errlen, "%s: cannot read: not a regular file", path);
                return -EBADFD;
        }
        fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &fst) < 0) {
                int r = negative_errno();
                snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-r));
                return r;
        }
        if (!S_ISREG(fst.st_mode) || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
                snprintf(err, errlen, "%s: cannot read: not a regular file", path);
                return -EBADFD;
        }
        if (fst.st_size > ENVFILE_SIZE_MAX) {
                snprintf(err, errlen, "%s: cannot read: larger than %u KiB", path,
                         ENVFILE_SIZE_MAX / 1024);
                return -EFBIG;
        }
        buf = malloc((size_t) fst.st_size + 1);
        if (!buf)
                return -ENOMEM;
        /* one byte more than stat said: a file that grew meanwhile is noticed, never followed */
        for (;;) {
                ssize_t k;

                if (n > (size_t) fst.st_size) {
                        snprintf(err, errlen, "%s: cannot read: changed while read", path);
                        return -EBUSY;
                }
                k = read(fd, buf + n, (size_t) fst.st_size + 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        int r = negative_errno();
                        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-r));
                        return r;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        return envfile_parse(buf, n, path, env, err, errlen);
}
