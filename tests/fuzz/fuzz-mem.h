/*
 * For the harnesses of the configuration parsers (conf_load, svd_convert_text): the input is
 * parsed from memory as if it were the file `fuzz_path`, in a private directory made at start-up
 * and removed at exit.  Nothing is written per input.
 *
 * A supervisord.conf may [include] files by glob pattern relative to its own directory or
 * absolute.  Left alone, the fuzzer soon writes a pattern that globs its way into /proc and /dev
 * (/dev/zero never ends, /proc/kmsg blocks).  So an input that names "include" may not contain a
 * '/' or a '%' (the expansions %(here)s and %(ENV_X)s make paths): its patterns then only match
 * inside the private directory, which holds one small supervisord.conf to be included (the input
 * itself is not there to be found).
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
static char fuzz_path[sizeof fuzz_dir + 32];
static char fuzz_included[sizeof fuzz_dir + 32];

static void fuzz_mem_cleanup(void) {
        unlink(fuzz_included);
        rmdir(fuzz_dir);
}

static void fuzz_mem_init(const char *name) {
        static const char included[] = "[program:inc]\ncommand=/bin/inc %(program_name)s\n"
                                       "[include]\nfiles=*.conf\n";
        FILE *f;

        if (!mkdtemp(fuzz_dir)) {
                perror("mkdtemp");
                abort();
        }
        snprintf(fuzz_path, sizeof fuzz_path, "%s/%s", fuzz_dir, name);
        snprintf(fuzz_included, sizeof fuzz_included, "%s/included.conf", fuzz_dir);
        atexit(fuzz_mem_cleanup);
        f = fopen(fuzz_included, "we");
        if (!f || fputs(included, f) < 0 || fclose(f) != 0) {
                perror(fuzz_included);
                abort();
        }
        /* nothing for %(ENV_X)s to find; the sanitizers read their options already */
        clearenv();
}

static bool fuzz_mem_allowed(const uint8_t *data, size_t size) {
        return !(memmem(data, size, "include", 7) &&
                 (memchr(data, '/', size) || memchr(data, '%', size)));
}
