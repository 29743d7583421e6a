/*
 * Unit tests of the pure parts of log rotation and output capture: archive names and the
 * rotation plan (lib/rotate.h), where a write is cut to honour max-size, time boundaries,
 * line framing with timestamps, stderr marks, prefixes and the split marker
 * (lib/logline.h), and the `log` settings with their worker overrides and file:line errors
 * (config/logconf.h through conf_load()).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conffile.h"
#include "config.h"
#include "logline.h"
#include "macro.h"
#include "rotate.h"

/* ---- names and plans ---------------------------------------------------------------------- */

static void test_names(void **state) {
        char buf[64];

        (void) state;
        assert_int_equal(rotate_name(buf, sizeof buf, "/l/api/api.log", 0, false), 0);
        assert_string_equal(buf, "/l/api/api.log");
        assert_int_equal(rotate_name(buf, sizeof buf, "/l/api/api.log", 3, false), 0);
        assert_string_equal(buf, "/l/api/api.log.3");
        assert_int_equal(rotate_name(buf, sizeof buf, "/l/api/api-2.log", 12, true), 0);
        assert_string_equal(buf, "/l/api/api-2.log.12.gz");
        assert_int_equal(rotate_name(buf, 8, "/l/api/api.log", 1, false), -ENAMETOOLONG);
}

static void test_parse_names(void **state) {
        unsigned idx;
        bool gz;

        (void) state;
        assert_int_equal(rotate_parse_name("api.log", "api.log.1", &idx, &gz), 0);
        assert_int_equal(idx, 1);
        assert_false(gz);
        assert_int_equal(rotate_parse_name("api.log", "api.log.27.gz", &idx, &gz), 0);
        assert_int_equal(idx, 27);
        assert_true(gz);
        /* not archives of api.log */
        assert_int_equal(rotate_parse_name("api.log", "api.log", &idx, &gz), -EINVAL);
        assert_int_equal(rotate_parse_name("api.log", "api.log.0", &idx, &gz), -EINVAL);
        assert_int_equal(rotate_parse_name("api.log", "api.log.01", &idx, &gz), -EINVAL);
        assert_int_equal(rotate_parse_name("api.log", "api.log.1.gz.tmp", &idx, &gz), -EINVAL);
        assert_int_equal(rotate_parse_name("api.log", "api.log.x", &idx, &gz), -EINVAL);
        assert_int_equal(rotate_parse_name("api.log", "api-1.log.1", &idx, &gz), -EINVAL);
        assert_int_equal(rotate_parse_name("api.log", "api.log.1.bz2", &idx, &gz), -EINVAL);
        assert_int_equal(rotate_parse_name("api.log", "api.log.999999999", &idx, &gz), -EINVAL);
}

/* Run a plan on a pretend directory: present[i] bit 1 = plain archive i, bit 2 = .gz. */
static void simulate(unsigned keep, unsigned highest, unsigned *present, size_t n) {
        RotateOp ops[64];
        size_t k = rotate_plan(keep, highest, ops, ELEMENTSOF(ops));

        assert_true(k <= ELEMENTSOF(ops));
        for (size_t i = 0; i < k; i++) {
                unsigned bit = ops[i].gz ? 2 : 1;

                assert_true(ops[i].from < n);
                if (ops[i].type == ROTATE_UNLINK)
                        present[ops[i].from] &= ~bit;
                else {
                        assert_int_equal(ops[i].type, ROTATE_RENAME);
                        assert_int_equal(ops[i].to, ops[i].from + 1);
                        assert_true(ops[i].to < n);
                        /* a rename never lands on a file the plan still needs */
                        assert_false(present[ops[i].to] & bit);
                        if (present[ops[i].from] & bit) {
                                present[ops[i].from] &= ~bit;
                                present[ops[i].to] |= bit;
                        }
                }
        }
}

static void test_plan_shifts(void **state) {
        /* current file, then .1.gz .2.gz .3 present, keep 3 */
        unsigned p[8] = { 1, 2, 2, 1, 0, 0, 0, 0 };

        (void) state;
        simulate(3, 3, p, ELEMENTSOF(p));
        assert_int_equal(p[0], 0);      /* the current file moved away */
        assert_int_equal(p[1], 1);      /* it is archive 1 now (compressed later) */
        assert_int_equal(p[2], 2);      /* old .1.gz */
        assert_int_equal(p[3], 2);      /* old .2.gz; the old .3 is gone */
        assert_int_equal(p[4], 0);
}

static void test_plan_trims_after_keep_shrank(void **state) {
        unsigned p[10] = { 1, 1, 1, 1, 1, 1, 1, 0, 0, 0 };

        (void) state;
        simulate(2, 6, p, ELEMENTSOF(p));
        assert_int_equal(p[0], 0);
        assert_int_equal(p[1], 1);
        assert_int_equal(p[2], 1);
        for (unsigned i = 3; i < ELEMENTSOF(p); i++)
                assert_int_equal(p[i], 0);
}

static void test_plan_first_rotation_and_keep_zero(void **state) {
        unsigned p[4] = { 1, 0, 0, 0 };
        RotateOp ops[4];

        (void) state;
        simulate(5, 0, p, ELEMENTSOF(p));
        assert_int_equal(p[0], 0);
        assert_int_equal(p[1], 1);

        /* keep = 0: the file is simply deleted, with any archive */
        assert_int_equal(rotate_plan(0, 0, ops, ELEMENTSOF(ops)), 1);
        assert_int_equal(ops[0].type, ROTATE_UNLINK);
        assert_int_equal(ops[0].from, 0);
        unsigned q[4] = { 1, 1, 2, 0 };
        simulate(0, 2, q, ELEMENTSOF(q));
        assert_int_equal(q[0] | q[1] | q[2] | q[3], 0);
}

static void test_plan_size_query(void **state) {
        (void) state;
        /* called with no room first, as the writer does, to size the array */
        assert_int_equal(rotate_plan(1000, 1000, NULL, 0), 2 + 2 * 999 + 1);
        assert_int_equal(rotate_plan(3, 0, NULL, 0), 1);
}

/* ---- where a write is cut ------------------------------------------------------------------ */

static void test_cut_fits(void **state) {
        bool rot;

        (void) state;
        assert_int_equal(rotate_cut("a\nb\n", 4, NULL, 0, 0, 0, &rot), 4);
        assert_false(rot);
        assert_int_equal(rotate_cut("a\nb\n", 4, NULL, 0, 96, 100, &rot), 4);
        assert_false(rot);
}

static void test_cut_at_line_end(void **state) {
        const char *d = "aaaa\nbbbb\ncccc\n";
        bool rot;

        (void) state;
        /* 90 + 15 > 100: only what ends within the 10 free bytes goes, then rotate */
        assert_int_equal(rotate_cut(d, 15, NULL, 0, 90, 100, &rot), 10);
        assert_false(rot);
        assert_int_equal(rotate_cut(d + 10, 5, NULL, 0, 100, 100, &rot), 0);
        assert_true(rot);
        /* no whole line fits in what is left: rotate first */
        assert_int_equal(rotate_cut(d, 15, NULL, 0, 97, 100, &rot), 0);
        assert_true(rot);
}

static void test_cut_across_the_ring_end(void **state) {
        bool rot;

        (void) state;
        /* "aa\nbb" + "b\ncc\n": the last line end within 7 bytes is in the second region */
        assert_int_equal(rotate_cut("aa\nbb", 5, "b\ncc\n", 5, 0, 7, &rot), 7);
        assert_false(rot);
        assert_int_equal(rotate_cut("aa\nbb", 5, "b\ncc\n", 5, 0, 6, &rot), 3);
        assert_int_equal(rotate_cut("aa\nbb", 5, "b\ncc\n", 5, 0, 2, &rot), 3);
}

static void test_cut_long_line_alone(void **state) {
        char line[300];
        bool rot;

        (void) state;
        memset(line, 'x', sizeof line);
        line[199] = '\n';
        line[299] = '\n';
        /* a fresh file and a first line of 200 bytes over a 100-byte limit: written whole */
        assert_int_equal(rotate_cut(line, 300, NULL, 0, 0, 100, &rot), 200);
        assert_false(rot);
        /* and then nothing more goes into that file */
        assert_int_equal(rotate_cut(line + 200, 100, NULL, 0, 200, 100, &rot), 0);
        assert_true(rot);
        /* a partial line (EOF without '\n') in a fresh file: everything */
        assert_int_equal(rotate_cut("xxxxxxxx", 8, NULL, 0, 0, 4, &rot), 8);
}

static void test_time_boundaries(void **state) {
        const usec_t day = USEC_PER_DAY, h = USEC_PER_HOUR;
        usec_t t = 19000 * day + 15 * h + 123;   /* 15:00 UTC, some day */

        (void) state;
        assert_int_equal(rotate_next_boundary(t, 0, day), 19001 * day);
        /* UTC+2: local midnight is 22:00 UTC */
        assert_int_equal(rotate_next_boundary(t, 2 * 3600, day), 19000 * day + 22 * h);
        /* UTC-5: local midnight is 05:00 UTC, the next one tomorrow */
        assert_int_equal(rotate_next_boundary(t, -5 * 3600, day), 19001 * day + 5 * h);
        assert_int_equal(rotate_next_boundary(t, 0, h), 19000 * day + 16 * h);
        /* exactly on a boundary: the next one */
        assert_int_equal(rotate_next_boundary(19000 * day, 0, day), 19001 * day);
        assert_true(rotate_next_boundary(t, 0, 0) == USEC_INFINITY);
}

/* ---- framing ------------------------------------------------------------------------------- */

typedef struct Framed {
        char buf[4096];
        LineOut out;
        LineResult res;
} Framed;

static void frame(Framed *f, const LineFormat *fmt, const char *in, bool eof, size_t cap) {
        memset(f->buf, 0, sizeof f->buf);
        f->out = (LineOut) { .seg = { f->buf, NULL }, .cap = { cap, 0 } };
        logline_frame(fmt, in, strlen(in), eof, &f->out, &f->res);
        f->buf[f->out.used] = '\0';
}

static void test_raw_whole_lines(void **state) {
        LineFormat fmt = { .max_line = 100 };
        Framed f;

        (void) state;
        frame(&f, &fmt, "one\ntwo\nthr", false, 4000);
        assert_string_equal(f.buf, "one\ntwo\n");
        assert_int_equal(f.res.consumed, 8);  /* "thr" waits for the rest of its line */
        assert_false(f.res.full);
        frame(&f, &fmt, "one\ntwo\nthr", true, 4000);
        assert_string_equal(f.buf, "one\ntwo\nthr\n");  /* at EOF, with a '\n' added */
        assert_int_equal(f.res.consumed, 11);
        /* only whole lines, never a part of one, when the output is short */
        frame(&f, &fmt, "one\ntwo\nthree\n", false, 9);
        assert_string_equal(f.buf, "one\ntwo\n");
        assert_true(f.res.full);
        frame(&f, &fmt, "one\ntwo\n", false, 2);
        assert_string_equal(f.buf, "");
        assert_int_equal(f.res.consumed, 0);
        assert_true(f.res.full);
}

static void test_decorated_lines(void **state) {
        const char *stamp = "2024-05-01T12:34:56.789+02:00 ";
        LineFormat fmt = {
                .max_line = 100,
                .prefix = "api:1 | ", .prefix_len = 8,
                .stamp = stamp, .stamp_len = strlen(stamp),
                .tag = LOGLINE_STDERR_TAG, .tag_len = strlen(LOGLINE_STDERR_TAG),
        };
        Framed f;

        (void) state;
        frame(&f, &fmt, "boom\n\nx", false, 4000);
        assert_string_equal(f.buf, "api:1 | 2024-05-01T12:34:56.789+02:00 stderr: boom\n"
                                   "api:1 | 2024-05-01T12:34:56.789+02:00 stderr: \n");
        assert_int_equal(f.res.consumed, 6);
        assert_int_equal(logline_framed_size(&fmt, 4), strlen(f.buf) / 2 + 2);
}

static void test_split_long_line(void **state) {
        char in[64];
        LineFormat fmt = { .max_line = 10 };
        Framed f;

        (void) state;
        snprintf(in, sizeof in, "%s", "abcdefghijklmnopqrstuvwxy\nz\n");
        frame(&f, &fmt, in, false, 4000);
        assert_string_equal(f.buf, "abcdefghij" LOGLINE_SPLIT_MARKER "\n"
                                   "klmnopqrst" LOGLINE_SPLIT_MARKER "\n"
                                   "uvwxy\nz\n");
        /* exactly max_line bytes is not split */
        frame(&f, &fmt, "0123456789\n", false, 4000);
        assert_string_equal(f.buf, "0123456789\n");
        /* a partial line longer than max_line is split without waiting for its end */
        frame(&f, &fmt, "0123456789abc", false, 4000);
        assert_string_equal(f.buf, "0123456789" LOGLINE_SPLIT_MARKER "\n");
        assert_int_equal(f.res.consumed, 10);
        /* decorated lines are split the same way */
        fmt.tag = LOGLINE_STDERR_TAG;
        fmt.tag_len = strlen(LOGLINE_STDERR_TAG);
        frame(&f, &fmt, "0123456789abc\n", false, 4000);
        assert_string_equal(f.buf, "stderr: 0123456789" LOGLINE_SPLIT_MARKER "\nstderr: abc\n");
}

static void test_split_keeps_utf8(void **state) {
        /* "aaaaaaaaé..." with é (2 bytes) across the 10-byte cut: the cut moves before it */
        LineFormat fmt = { .max_line = 10 };
        Framed f;

        (void) state;
        frame(&f, &fmt, "aaaaaaaaa\xc3\xa9zz\n", false, 4000);
        assert_string_equal(f.buf, "aaaaaaaaa" LOGLINE_SPLIT_MARKER "\n\xc3\xa9zz\n");
        assert_int_equal(logline_utf8_cut("aaaaaaaaa\xc3\xa9", 10), 9);
        assert_int_equal(logline_utf8_cut("aaaaaaaaaab", 10), 10);
        /* not UTF-8 at all: cut at max */
        assert_int_equal(logline_utf8_cut("aaaaaa\x80\x80\x80\x80\x80", 10), 10);
}

static void test_two_regions(void **state) {
        char a[6], b[20];
        LineFormat fmt = { .max_line = 100, .prefix = "p | ", .prefix_len = 4 };
        LineOut out = { .seg = { a, b }, .cap = { sizeof a, sizeof b } };
        LineResult res;

        (void) state;
        logline_frame(&fmt, "xyz\nuv\n", 7, false, &out, &res);
        assert_int_equal(out.used, 15);
        assert_memory_equal(a, "p | xy", 6);
        assert_memory_equal(b, "z\np | uv\n", 9);
        assert_true(logline_emit(&fmt, "m", 1, &out));
        assert_false(logline_emit(&fmt, "too long for what is left", 25, &out));
}

static void test_timestamp_format(void **state) {
        char buf[LOGLINE_TIMESTAMP_MAX];
        struct tm tm = {
                .tm_year = 124, .tm_mon = 4, .tm_mday = 1,
                .tm_hour = 2, .tm_min = 3, .tm_sec = 4, .tm_gmtoff = 2 * 3600,
        };

        (void) state;
        assert_int_equal(logline_timestamp(buf, &tm, 7), 29);
        assert_string_equal(buf, "2024-05-01T02:03:04.007+02:00");
        tm.tm_gmtoff = -(9 * 3600 + 30 * 60);
        logline_timestamp(buf, &tm, 999);
        assert_string_equal(buf, "2024-05-01T02:03:04.999-09:30");
        tm.tm_gmtoff = 0;
        logline_timestamp(buf, &tm, 0);
        assert_string_equal(buf, "2024-05-01T02:03:04.000+00:00");
}

/* ---- settings ------------------------------------------------------------------------------ */

static char tmpdir[] = "/tmp/upkeep-test-logs-XXXXXX";
static char conf_path[PATH_MAX];

static int group_setup(void **state) {
        (void) state;
        if (!mkdtemp(tmpdir))
                return -1;
        snprintf(conf_path, sizeof conf_path, "%s/upkeep.conf", tmpdir);
        return 0;
}

static int group_teardown(void **state) {
        (void) state;
        return rmdir(tmpdir) < 0 ? -1 : 0;
}

static int load(const char *text, Config **ret, char **ret_errors) {
        FILE *f = fopen(conf_path, "we");
        int r;

        assert_non_null(f);
        assert_true(fputs(text, f) >= 0);
        assert_int_equal(fclose(f), 0);
        r = conf_load_file(conf_path, ret, NULL, ret_errors);
        assert_int_equal(unlink(conf_path), 0);
        return r;
}

static void test_settings_and_overrides(void **state) {
        Config *c = NULL;
        char *errors = NULL;

        (void) state;
        assert_int_equal(load("log-format = json\n"
                              "log-level = warning\n"
                              "log-file = \"/tmp/x/upkeepd.log\"\n"
                              "log { max-size = 64K keep = 3 compress = true stderr = mark }\n"
                              "worker a { command = \"/bin/true\"\n"
                              "           log { keep = 7 timestamps = true overflow = drop\n"
                              "                 rotate-every = 1d buffer-size = 1M } }\n"
                              "worker b { command = \"/bin/true\" }\n",
                              &c, &errors),
                         0);
        assert_null(errors);
        assert_int_equal(c->log_format, LOG_FORMAT_JSON);
        assert_int_equal(c->log_level, LOG_WARNING);
        assert_string_equal(c->log_file, "/tmp/x/upkeepd.log");
        assert_int_equal(c->log.max_size, 64 * 1024);
        assert_int_equal(c->log.keep, 3);
        /* a: its own keys, the rest from the top level */
        assert_int_equal(c->workers[0].log.keep, 7);
        assert_true(c->workers[0].log.timestamps);
        assert_int_equal(c->workers[0].log.overflow, OVERFLOW_DROP);
        assert_int_equal(c->workers[0].log.rotate_every, USEC_PER_DAY);
        assert_int_equal(c->workers[0].log.buffer_size, 1024 * 1024);
        assert_int_equal(c->workers[0].log.max_size, 64 * 1024);
        assert_true(c->workers[0].log.compress);
        assert_int_equal(c->workers[0].log.stderr_mode, STDERR_MARK);
        /* b: all from the top level */
        assert_int_equal(c->workers[1].log.keep, 3);
        assert_false(c->workers[1].log.timestamps);
        assert_int_equal(c->workers[1].log.overflow, OVERFLOW_BLOCK);
        assert_int_equal(c->workers[1].log.buffer_size, 1024 * 1024);
        conf_free(c);
}

static void test_defaults(void **state) {
        Config *c = NULL;
        char *errors = NULL;

        (void) state;
        assert_int_equal(load("worker a { command = \"/bin/true\" log { max-line = 1M } }\n"
                              "worker b { command = \"/bin/true\"\n"
                              "           log { buffer-size = 16K max-line = 64K } }\n",
                              &c, &errors),
                         0);
        assert_int_equal(c->log_format, LOG_FORMAT_AUTO);
        assert_int_equal(c->log_level, LOG_INFO);
        assert_null(c->log_file);
        assert_int_equal(c->log.max_size, 10 * 1024 * 1024);
        assert_int_equal(c->log.keep, 5);
        assert_false(c->log.compress);
        assert_int_equal(c->log.rotate_every, 0);
        /* max-line is at most half the buffer: a line must always fit */
        assert_int_equal(c->workers[0].log.max_line, 512 * 1024);
        assert_int_equal(c->workers[1].log.max_line, 8 * 1024);
        conf_free(c);
        c = NULL;
        /* "auto" may also be written out */
        assert_int_equal(load("log-format = auto\nworker a { command = \"/bin/true\" }\n", &c,
                              &errors),
                         0);
        assert_int_equal(c->log_format, LOG_FORMAT_AUTO);
        conf_free(c);
}

static void test_errors(void **state) {
        static const struct {
                const char *text;
                unsigned line;
                const char *words[3];
        } cases[] = {
                { "log-format = yaml\n", 1, { "log-format", "yaml", "text, json, journal or auto" } },
                { "\nlog-level = loud\n", 2, { "log-level", "loud", "debug, info" } },
                { "log {\n  max-size = 12Q\n}\n", 2, { "max-size", "12Q", "expected" } },
                { "log {\n  max-size = 100\n}\n", 2, { "max-size", "1K to 1T" } },
                { "log { keep = 1001 }\n", 1, { "keep", "1001", "0 to 1000" } },
                { "log { keep = -1 }\n", 1, { "keep", "expected" } },
                { "worker a {\n command = \"/bin/true\"\n log {\n  stderr = both\n }\n}\n", 4,
                  { "stderr", "both", "merge or mark" } },
                { "worker a {\n command = \"/bin/true\"\n log { overflow = spill }\n}\n", 3,
                  { "overflow", "spill", "block or drop" } },
                { "log { rotate-every = 10ms }\n", 1, { "rotate-every", "10ms", "1s" } },
                { "log { buffer-size = 1K }\n", 1, { "buffer-size", "16K to 1G" } },
                { "log { max-line = 2M }\n", 1, { "max-line", "256 to 1M" } },
                { "log { compresss = true }\n", 1, { "compresss", "expected one of:",
                                                     "compress" } },
                { "log-file = \"\"\n", 1, { "log-file", "empty path" } },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Config *c = NULL;
                _cleanup_free_ char *errors = NULL;
                char where[PATH_MAX + 16];

                assert_int_equal(load(cases[i].text, &c, &errors), -EINVAL);
                assert_null(c);
                assert_non_null(errors);
                snprintf(where, sizeof where, "%s:%u: ", conf_path, cases[i].line);
                if (strncmp(errors, where, strlen(where)) != 0)
                        fail_msg("case %zu: expected '%s...', got '%s'", i, where, errors);
                for (size_t w = 0; w < ELEMENTSOF(cases[i].words) && cases[i].words[w]; w++)
                        if (!strstr(errors, cases[i].words[w]))
                                fail_msg("case %zu: '%s' not in '%s'", i, cases[i].words[w],
                                         errors);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_parse_names),
                cmocka_unit_test(test_plan_shifts),
                cmocka_unit_test(test_plan_trims_after_keep_shrank),
                cmocka_unit_test(test_plan_first_rotation_and_keep_zero),
                cmocka_unit_test(test_plan_size_query),
                cmocka_unit_test(test_cut_fits),
                cmocka_unit_test(test_cut_at_line_end),
                cmocka_unit_test(test_cut_across_the_ring_end),
                cmocka_unit_test(test_cut_long_line_alone),
                cmocka_unit_test(test_time_boundaries),
                cmocka_unit_test(test_raw_whole_lines),
                cmocka_unit_test(test_decorated_lines),
                cmocka_unit_test(test_split_long_line),
                cmocka_unit_test(test_split_keeps_utf8),
                cmocka_unit_test(test_two_regions),
                cmocka_unit_test(test_timestamp_format),
                cmocka_unit_test(test_settings_and_overrides),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_errors),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
