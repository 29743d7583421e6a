/*
 * Opening log files safely (see logfile.h).
 *
 * upkeepd writes worker output as root into log-dir/<worker>/, a directory a worker's user may
 * be given write access to.  So every file there is opened relative to the directory's fd (a
 * directory swapped for a symlink after we opened it is not followed), with O_NOFOLLOW (a log
 * swapped for a symlink would make root append to any file), non-blocking (a FIFO without a
 * reader fails with ENXIO instead of holding the writer thread, and with it every other file,
 * in open(2) forever), and it must be a regular file with no other link.  Temporaries are
 * made with O_EXCL.  A refused file is a failing file like a full disk: its worker's output is
 * held (or dropped) and retried, no other worker is affected.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logfile.h"
#include "macro.h"

static int mkdir_p(const char *path, mode_t mode) {
        char buf[PATH_MAX];
        size_t l = strlen(path);

        if (l == 0 || l >= sizeof buf)
                return -ENAMETOOLONG;
        memcpy(buf, path, l + 1);
        for (char *p = buf + 1; *p; p++)
                if (*p == '/') {
                        *p = '\0';
                        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                                return negative_errno();
                        *p = '/';
                }
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

/* A regular file, linked once: anything else at a log's name was put there by someone else. */
static int check_regular(int fd) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EMEDIUMTYPE;
        if (st.st_nlink > 1)
                return -EMLINK;
        return 0;
}

int logfile_open_strict(int dfd, const char *name, int flags, mode_t mode) {
        _cleanup_close_ int fd = openat(dfd, name, flags | O_NOFOLLOW | O_NONBLOCK, mode);
        int r;

        if (fd < 0)
                return errno == ENXIO ? -EMEDIUMTYPE : -errno; /* ENXIO: FIFO, socket, device */
        r = check_regular(fd);
        if (r < 0)
                return r;
        /* regular files ignore O_NONBLOCK; clear it anyway so the descriptor is plain */
        if (fcntl(fd, F_SETFL, flags & O_APPEND) < 0)
                return -errno;
        return TAKE_FD(fd);
}

const char *logfile_strerror(int err) {
        switch (err) {
        case ELOOP:
                return "it is a symbolic link, not followed";
        case EMEDIUMTYPE:
                return "it is not a regular file";
        case EMLINK:
                return "it has other hard links";
        default:
                return strerror(err);
        }
}

/*
 * The directory `dir`.  Its parents (log-dir) are the administrator's and followed as they are,
 * made when missing; with own_dir its last component (<worker>) is upkeepd's: made when
 * missing (by upkeepd, so owned by upkeepd's user, mode 0755 less the umask), never followed.
 */
int logfile_open_dir(const char *dir, bool own_dir, int *ret_dfd) {
        _cleanup_close_ int pfd = -1;
        const char *slash = strrchr(dir, '/'), *last;
        char parent[PATH_MAX];
        struct stat st;
        int fd, r;

        if (!own_dir || !slash || slash[1] == '\0') {
                fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                *ret_dfd = fd;
                return 0;
        }
        last = slash + 1;
        if ((size_t) (slash - dir) >= sizeof parent)
                return -ENAMETOOLONG;
        memcpy(parent, dir, (size_t) (slash - dir));
        parent[slash == dir ? 1 : slash - dir] = '\0';
        pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0 && errno == ENOENT) {
                r = mkdir_p(parent, 0755);
                if (r < 0)
                        return r;
                pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (pfd < 0)
                return -errno;
        if (mkdirat(pfd, last, 0755) < 0 && errno != EEXIST)
                return -errno;
        fd = openat(pfd, last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                if (fstatat(pfd, last, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                        return -ELOOP;
                return r;
        }
        *ret_dfd = fd;
        return 0;
}

int logfile_open_at(int dfd, const char *base, bool own_dir) {
        int fd;

        if (own_dir)
                return logfile_open_strict(dfd, base, LOGFILE_FLAGS, 0640);
        /* upkeepd's own log-file: a path root chose, opened as it always was */
        fd = openat(dfd, base, LOGFILE_FLAGS, 0640);
        return fd < 0 ? -errno : fd;
}

int logfile_open(const char *dir, const char *base, bool own_dir, int *ret_dfd) {
        _cleanup_close_ int dfd = -1;
        int fd, r;

        r = logfile_open_dir(dir, own_dir, &dfd);
        if (r < 0)
                return r;
        fd = logfile_open_at(dfd, base, own_dir);
        if (fd < 0)
                return fd;
        *ret_dfd = TAKE_FD(dfd);
        return fd;
}

int logfile_write_full(int fd, const void *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                p = (const char *) p + k;
                n -= (size_t) k;
        }
        return 0;
}
