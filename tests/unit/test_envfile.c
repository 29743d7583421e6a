/*
 * Unit tests of env-file reading (lib/envfile.h): the parser from a buffer, and the reader's
 * bounds.  upkeepd reads env-files on its event loop as root, so anything that could block it
 * (a FIFO), never end (/dev/zero) or eat its memory (a huge file) must be a quick error naming
 * the file, and the parser must take any bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "envfile.h"
#include "macro.h"
#include "parse.h"

static char tmpdir[] = "/tmp/uk-test-envfile-XXXXXX";
static char path[PATH_MAX];

static int setup(void **state) {
        (void) state;
        if (!mkdtemp(tmpdir))
                return -1;
        snprintf(path, sizeof path, "%s/worker.env", tmpdir);
        return 0;
}

static int teardown(void **state) {
        (void) state;
        (void) unlink(path);
        return rmdir(tmpdir);
}

static void assert_strv_equal(char **got, const char *const *want) {
        size_t k = 0;

        for (; want[k]; k++) {
                assert_non_null(got);
                assert_non_null(got[k]);
                assert_string_equal(got[k], want[k]);
        }
        assert_true(!got || !got[k]);
}

static int parse(const char *text, size_t len, char ***env, char *err, size_t errlen) {
        return envfile_parse(text, len, "x.env", env, err, errlen);
}

static void test_parse_buffer(void **state) {
        static const char text[] = "A=1\n# c\n\nexport B='two'\r\nC=\"3\"\nD=no newline";
        char **env = NULL, err[128];

        (void) state;
        assert_int_equal(parse(text, sizeof text - 1, &env, err, sizeof err), 0);
        assert_strv_equal(env, (const char *const[]) { "A=1", "B=two", "C=3", "D=no newline",
                                                       NULL });
        strv_free(env);

        /* the length is the bound, not a NUL: only "A=1" of "A=12" */
        env = NULL;
        assert_int_equal(parse("A=12", 3, &env, err, sizeof err), 0);
        assert_strv_equal(env, (const char *const[]) { "A=1", NULL });
        strv_free(env);

        env = NULL;
        assert_int_equal(parse("", 0, &env, err, sizeof err), 0);
        assert_null(env);
}

static void test_parse_nul_byte(void **state) {
        static const char text[] = "A=1\nB=2\0hunter2\n";
        char **env = NULL, err[128];

        (void) state;
        assert_int_equal(parse(text, sizeof text - 1, &env, err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "x.env:2: "));
        assert_null(strstr(err, "hunter2"));
        assert_strv_equal(env, (const char *const[]) { "A=1", NULL });
        strv_free(env);
}

static void test_parse_errors_hide_values(void **state) {
        char **env = NULL, err[128];

        (void) state;
        assert_int_equal(parse("OK=1\nhunter2\n", 13, &env, err, sizeof err), -EINVAL);
        assert_string_equal(err, "x.env:2: expected NAME=value");
        strv_free(env);
        env = NULL;
        assert_int_equal(parse("A-B=hunter2", 11, &env, err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "x.env:1: invalid variable name"));
        assert_null(strstr(err, "hunter2"));
        strv_free(env);
}

/* A FIFO with no writer: open() for reading would wait for one forever. */
static void test_read_fifo(void **state) {
        char **env = NULL, err[PATH_MAX + 64];
        time_t t0 = time(NULL);

        (void) state;
        assert_int_equal(mkfifo(path, 0600), 0);
        assert_true(envfile_read(path, &env, err, sizeof err) < 0);
        assert_non_null(strstr(err, "not a regular file"));
        assert_true(time(NULL) - t0 < 5);
        assert_null(env);
        assert_int_equal(unlink(path), 0);
}

static void test_read_devices_and_dirs(void **state) {
        static const char *const paths[] = { "/dev/zero", "/dev/null", "/tmp" };
        char **env = NULL, err[PATH_MAX + 64];

        (void) state;
        for (size_t k = 0; k < ELEMENTSOF(paths); k++) {
                assert_true(envfile_read(paths[k], &env, err, sizeof err) < 0);
                assert_non_null(strstr(err, "not a regular file"));
                assert_int_equal(strncmp(err, paths[k], strlen(paths[k])), 0);
                assert_null(env);
        }
}

/* At the limit it is read; one byte more is an error before anything is read or allocated. */
static void test_read_size_limit(void **state) {
        char **env = NULL, err[PATH_MAX + 64];
        char *big = malloc(ENVFILE_SIZE_MAX + 1);
        int fd;

        (void) state;
        assert_non_null(big);
        memcpy(big, "BIG=", 4);
        memset(big + 4, 'x', ENVFILE_SIZE_MAX - 5);
        big[ENVFILE_SIZE_MAX - 1] = '\n';
        big[ENVFILE_SIZE_MAX] = '\n';
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, big, ENVFILE_SIZE_MAX), ENVFILE_SIZE_MAX);
        assert_int_equal(envfile_read(path, &env, err, sizeof err), 0);
        assert_int_equal(strv_length(env), 1);
        assert_int_equal(strlen(env[0]), ENVFILE_SIZE_MAX - 1);
        strv_free(env);
        env = NULL;
        assert_int_equal(write(fd, "\n", 1), 1);
        close(fd);
        assert_int_equal(envfile_read(path, &env, err, sizeof err), -EFBIG);
        assert_non_null(strstr(err, "larger than 1024 KiB"));
        assert_null(env);
        free(big);
        assert_int_equal(unlink(path), 0);
}

static void test_read_unreadable(void **state) {
        char **env = NULL, err[PATH_MAX + 64];
        int fd;

        (void) state;
        /* a directory passes no stat check as a file; EISDIR-like read errors are errors too */
        assert_int_equal(envfile_read("/nonexistent/x.env", &env, err, sizeof err), -ENOENT);
        assert_non_null(strstr(err, "cannot read"));
        if (geteuid() == 0)
                return; /* root reads a mode-0 file */
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(envfile_read(path, &env, err, sizeof err), -EACCES);
        assert_int_equal(unlink(path), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_buffer),
                cmocka_unit_test(test_parse_nul_byte),
                cmocka_unit_test(test_parse_errors_hide_values),
                cmocka_unit_test(test_read_fifo),
                cmocka_unit_test(test_read_devices_and_dirs),
                cmocka_unit_test(test_read_size_limit),
                cmocka_unit_test(test_read_unreadable),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
