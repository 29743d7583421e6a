/*
 * Rotation renames and the compression thread (see logarchive.h).
 *
 * Rotation never copies: rename the archives up, rename the file to .1; the writer then opens a
 * new file and closes the old one.  Compression runs on its own thread at a low priority, one
 * archive at a time, through a temporary made with O_EXCL and renamed into place, so a crash
 * leaves either the archive or its .gz, and at most a .gz.tmp that the next rotation removes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "logarchive.h"
#include "logfile.h"
#include "macro.h"
#include "rotate.h"

#define GZ_CHUNK (256 * 1024)

typedef struct Job {
        struct Job *next;
        void *userdata;
        int dfd;                  /* the log's directory, our own copy */
        char *src, *dst, *tmp;    /* names in it */
} Job;

static struct {
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        Job *jobs, *jobs_tail;
        bool stop;
        atomic_bool abort;
        archive_done_t done;
} C = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

/* The highest archive index present, removing leftovers of an interrupted compression. */
static unsigned scan_archives(int dfd, const char *base) {
        int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        unsigned highest = 0, idx;
        size_t bl = strlen(base);
        bool gz;

        if (!d) {
                if (fd >= 0)
                        close(fd);
                return 0;
        }
        while ((de = readdir(d))) {
                size_t l = strlen(de->d_name);

                if (rotate_parse_name(base, de->d_name, &idx, &gz) == 0)
                        highest = MAX(highest, idx);
                else if (l > bl + 8 && strncmp(de->d_name, base, bl) == 0 &&
                         strcmp(de->d_name + l - 7, ".gz.tmp") == 0)
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        }
        closedir(d);
        return highest;
}

int archive_shift(int dfd, const char *base, unsigned keep) {
        _cleanup_free_ RotateOp *ops = NULL;
        char from[NAME_MAX + 1], to[NAME_MAX + 1];
        unsigned highest = scan_archives(dfd, base);
        size_t n = rotate_plan(keep, highest, NULL, 0);

        ops = calloc(n, sizeof(RotateOp));
        if (!ops)
                return -ENOMEM;
        (void) rotate_plan(keep, highest, ops, n);
        for (size_t k = 0; k < n; k++) {
                int r;

                if (rotate_name(from, sizeof from, base, ops[k].from, ops[k].gz) < 0 ||
                    rotate_name(to, sizeof to, base, ops[k].to, ops[k].gz) < 0)
                        return -ENAMETOOLONG;
                /* in the directory we opened: a symlink swapped in for it is not followed */
                r = ops[k].type == ROTATE_RENAME ? renameat(dfd, from, dfd, to)
                                                 : unlinkat(dfd, from, 0);
                if (r < 0 && errno != ENOENT && ops[k].from == 0)
                        return -errno; /* the file itself stays: try again later */
        }
        return 0;
}

bool archive_uncompressed(int dfd, const char *base) {
        char p[PATH_MAX];
        struct stat st;

        return snprintf(p, sizeof p, "%s.1", base) < (int) sizeof p &&
               fstatat(dfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/* The temporary, made with O_EXCL; one left by an interrupted run is removed first
 * (scan_archives removes those too). */
static int open_tmp(int dfd, const char *tmp, mode_t mode) {
        int fd = logfile_open_strict(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL, mode);

        if (fd != -EEXIST)
                return fd;
        (void) unlinkat(dfd, tmp, 0);
        return logfile_open_strict(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL, mode);
}

/* Deflate `in` into `out` up to its end: 0, a negative errno, or -ECANCELED at stop. */
static int deflate_fd(z_stream *z, int in, int out, char *ibuf, char *obuf) {
        int r = 0, flush = Z_NO_FLUSH;

        while (flush != Z_FINISH) {
                ssize_t n;

                if (atomic_load(&C.abort))
                        return -ECANCELED;
                n = read(in, ibuf, GZ_CHUNK);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
                z->next_in = (Bytef *) ibuf;
                z->avail_in = (uInt) n;
                do {
                        z->next_out = (Bytef *) obuf;
                        z->avail_out = GZ_CHUNK;
                        (void) deflate(z, flush);
                        r = logfile_write_full(out, obuf, GZ_CHUNK - z->avail_out);
                } while (r == 0 && z->avail_out == 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The archive `src` gzipped into `dst` through `tmp`, all of them names in the directory dfd. */
static int gzip_file(int dfd, const char *src, const char *dst, const char *tmp, char *ibuf,
                     char *obuf) {
        _cleanup_close_ int in = -1, out = -1;
        z_stream z = {};
        struct stat st;
        int r;

        in = logfile_open_strict(dfd, src, O_RDONLY, 0);
        if (in < 0)
                return in == -ENOENT ? 0 : in;
        if (fstat(in, &st) < 0)
                return -errno;
        out = open_tmp(dfd, tmp, st.st_mode & 0666);
        if (out < 0)
                return out;
        if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK) {
                (void) unlinkat(dfd, tmp, 0);
                return -ENOMEM;
        }
        r = deflate_fd(&z, in, out, ibuf, obuf);
        deflateEnd(&z);
        if (r == 0 && close(TAKE_FD(out)) < 0)
                r = -errno;
        if (r == 0 && renameat(dfd, tmp, dfd, dst) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(dfd, tmp, 0);
                return r;
        }
        (void) unlinkat(dfd, src, 0);
        return 0;
}

static void job_free(Job *j) {
        if (!j)
                return;
        if (j->dfd >= 0)
                close(j->dfd);
        free(j->src);
        free(j->dst);
        free(j->tmp);
        free(j);
}

static void *compress_main(void *userdata) {
        _cleanup_free_ char *ibuf = malloc(GZ_CHUNK), *obuf = malloc(GZ_CHUNK);

        (void) userdata;
        /* the archives can wait: keep the CPU for the workers and the loop */
        (void) setpriority(PRIO_PROCESS, (id_t) gettid(), 10);
        pthread_mutex_lock(&C.lock);
        for (;;) {
                Job *j;
                int r;

                while (!C.jobs && !C.stop)
                        pthread_cond_wait(&C.cond, &C.lock);
                if (!C.jobs)
                        break;
                j = C.jobs;
                C.jobs = j->next;
                if (!C.jobs)
                        C.jobs_tail = NULL;
                pthread_mutex_unlock(&C.lock);

                r = ibuf && obuf ? gzip_file(j->dfd, j->src, j->dst, j->tmp, ibuf, obuf) : -ENOMEM;
                C.done(j->userdata, j->src, r);
                job_free(j);
                pthread_mutex_lock(&C.lock);
        }
        pthread_mutex_unlock(&C.lock);
        return NULL;
}

int archive_compress(int dfd, const char *base, void *userdata) {
        Job *j = calloc(1, sizeof(Job));

        if (j)
                j->dfd = dfd >= 0 ? fcntl(dfd, F_DUPFD_CLOEXEC, 3) : -1;
        if (!j || j->dfd < 0 || asprintf(&j->src, "%s.1", base) < 0 ||
            asprintf(&j->dst, "%s.1.gz", base) < 0 || asprintf(&j->tmp, "%s.1.gz.tmp", base) < 0) {
                job_free(j);
                return -ENOMEM;
        }
        j->userdata = userdata;
        pthread_mutex_lock(&C.lock);
        if (C.jobs_tail)
                C.jobs_tail->next = j;
        else
                C.jobs = j;
        C.jobs_tail = j;
        pthread_cond_signal(&C.cond);
        pthread_mutex_unlock(&C.lock);
        return 0;
}

int archive_start(archive_done_t done) {
        int r;

        C.done = done;
        C.stop = false;
        atomic_store(&C.abort, false);
        r = -pthread_create(&C.thread, NULL, compress_main, NULL);
        if (r < 0)
                return r;
        (void) pthread_setname_np(C.thread, "upkeepd-gzip");
        return 0;
}

void archive_stop(void) {
        pthread_mutex_lock(&C.lock);
        C.stop = true;
        atomic_store(&C.abort, true);
        pthread_cond_signal(&C.cond);
        pthread_mutex_unlock(&C.lock);
        pthread_join(C.thread, NULL);
}
