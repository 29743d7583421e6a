/*
 * Unit tests of upkeepctl logs' file following (ctl/ctllogs.c, included here for its static
 * functions), with fstat() failing on demand: an error must not leak the descriptor that was
 * opened, neither when a file is first opened nor when it is opened again after a rotation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int fstat_error; /* > 0: fstat() fails with it */

static int test_fstat(int fd, struct stat *st) {
        if (fstat_error > 0) {
                errno = fstat_error;
                return -1;
        }
        return fstat(fd, st);
}

#define fstat test_fstat
#include "ctllogs.c"
#undef fstat

static unsigned open_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        unsigned n = 0;

        assert_non_null(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

static char dir[] = "/tmp/test_ctllogs.XXXXXX";
static char path[sizeof dir + 16], rotated[sizeof dir + 16];

static void write_file(const char *p, const char *text) {
        FILE *f = fopen(p, "w");

        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static int setup(void **state) {
        (void) state;
        if (!mkdtemp(dir))
                return -1;
        snprintf(path, sizeof path, "%s/w.log", dir);
        snprintf(rotated, sizeof rotated, "%s/w.log.1", dir);
        return 0;
}

static int teardown(void **state) {
        (void) state;
        (void) unlink(path);
        (void) unlink(rotated);
        return rmdir(dir);
}

static void test_open_fstat_fails(void **state) {
        Follow f = { .name = "w", .path = path, .fd = -1 };
        unsigned before;

        (void) state;
        write_file(path, "one\n");
        before = open_fds();
        fstat_error = EIO;
        assert_int_equal(follow_open(&f), -EIO);
        fstat_error = 0;
        assert_int_equal(f.fd, -1);
        assert_int_equal(open_fds(), before);

        assert_int_equal(follow_open(&f), 0);
        assert_true(f.fd >= 0);
        assert_int_equal(open_fds(), before + 1);
        close(f.fd);
}

static void test_reopen_after_rotation_fstat_fails(void **state) {
        Follow f = { .name = "w", .path = path, .fd = -1 };
        unsigned before;

        (void) state;
        write_file(path, "");
        before = open_fds();
        assert_int_equal(follow_open(&f), 0);
        /* rotated: the old file renamed away, a new one at the path */
        assert_int_equal(rename(path, rotated), 0);
        write_file(path, "");
        fstat_error = EIO;
        follow_step(&f);
        fstat_error = 0;
        assert_int_equal(f.fd, -1);
        assert_int_equal(open_fds(), before);
        /* and the next round opens the new file */
        follow_step(&f);
        assert_true(f.fd >= 0);
        assert_int_equal(open_fds(), before + 1);
        close(f.fd);
        free(f.partial);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_open_fstat_fails),
                cmocka_unit_test(test_reopen_after_rotation_fstat_fails),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
