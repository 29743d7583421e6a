/*
 * For the harnesses whose target reads a file (conf_load, svd_convert): the input is written to
 * one file in a private directory made at start-up and removed at exit.
 *
 * A supervisord.conf may [include] files by glob pattern relative to its own directory or
 * absolute.  Left alone, the fuzzer soon writes a pattern that globs its way into /proc and /dev
 * (/dev/zero never ends, /proc/kmsg blocks).  So an input that names "include" may not contain a
 * '/' or a '%' (the expansions %(here)s and %(ENV_X)s make paths): its patterns then only match
 * inside the private directory, which holds the input file itself and nothing else.
 */
#pragma once

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[] = "/tmp/uk-fuzz-XXXXXX";
static char fuzz_path[sizeof fuzz_dir + 16];

static void fuzz_file_cleanup(void) {
        unlink(fuzz_path);
        rmdir(fuzz_dir);
}

static void fuzz_file_init(const char *name) {
        if (!mkdtemp(fuzz_dir)) {
                perror("mkdtemp");
                abort();
        }
        snprintf(fuzz_path, sizeof fuzz_path, "%s/%s", fuzz_dir, name);
        atexit(fuzz_file_cleanup);
        /* nothing for %(ENV_X)s to find; the sanitizers read their options already */
        clearenv();
}

static bool fuzz_file_allowed(const uint8_t *data, size_t size) {
        return !(memmem(data, size, "include", 7) &&
                 (memchr(data, '/', size) || memchr(data, '%', size)));
}

static void fuzz_file_write(const uint8_t *data, size_t size) {
        int fd = open(fuzz_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        if (fd < 0 || write(fd, data, size) != (ssize_t) size) {
                perror(fuzz_path);
                abort();
        }
        close(fd);
}
