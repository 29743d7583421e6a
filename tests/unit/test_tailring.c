/*
 * Unit tests of the crash context ring (lib/tailring.h): the last N lines, wrapping inside a
 * line, a last line longer than the ring, chunks bigger than the ring, and trimming a frozen
 * text to fewer lines for a sink.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tailring.h"

static void feed(TailRing *t, const char *s) {
        tail_feed(t, s, strlen(s));
}

static void test_last_lines(void **state) {
        char buf[64], out[128];
        TailRing t;

        (void) state;
        tail_init(&t, buf, sizeof buf);
        assert_int_equal(tail_read(&t, 5, out, sizeof out), 0);
        assert_string_equal(out, "");
        feed(&t, "one\ntwo\nthr");
        feed(&t, "ee\nfour\n");
        assert_int_equal(tail_read(&t, 2, out, sizeof out), strlen("three\nfour"));
        assert_string_equal(out, "three\nfour");
        tail_read(&t, 10, out, sizeof out);
        assert_string_equal(out, "one\ntwo\nthree\nfour");
        assert_int_equal(tail_read(&t, 0, out, sizeof out), 0);
        /* a last line without its '\n' (the end of a stream) */
        feed(&t, "five");
        tail_read(&t, 2, out, sizeof out);
        assert_string_equal(out, "four\nfive");
        tail_reset(&t);
        assert_int_equal(tail_read(&t, 2, out, sizeof out), 0);
}

static void test_wrap_drops_partial_first_line(void **state) {
        char buf[16], out[64];
        TailRing t;

        (void) state;
        tail_init(&t, buf, sizeof buf);
        /* 27 bytes through a 16-byte ring: "ccccc\nddd\neeee\n" survives with one 'c' lost */
        feed(&t, "aaaaaaaaaa\nbcccccc\nddd\neeee\n");
        tail_read(&t, 10, out, sizeof out);
        assert_string_equal(out, "ddd\neeee");
}

static void test_long_last_line_keeps_its_end(void **state) {
        char buf[16], out[64], small[6];
        TailRing t;

        (void) state;
        tail_init(&t, buf, sizeof buf);
        feed(&t, "x\n0123456789abcdefghijXYZ\n");
        tail_read(&t, 3, out, sizeof out);
        /* the ring holds the last 16 bytes: the end of the last line, and it is kept */
        assert_string_equal(out, "89abcdefghijXYZ");
        /* an output smaller than the line: its end */
        tail_read(&t, 3, small, sizeof small);
        assert_string_equal(small, "ijXYZ");
}

static void test_output_bound_leaves_out_older_lines(void **state) {
        char buf[64], out[12];
        TailRing t;

        (void) state;
        tail_init(&t, buf, sizeof buf);
        feed(&t, "first line\nsecond\nlast\n");
        tail_read(&t, 5, out, sizeof out);
        assert_string_equal(out, "second\nlast");
}

static void test_big_chunk_and_many_feeds(void **state) {
        char buf[32], out[64], big[1000];
        TailRing t;

        (void) state;
        tail_init(&t, buf, sizeof buf);
        memset(big, 'z', sizeof big);
        big[sizeof big - 1] = '\n';
        big[sizeof big - 6] = '\n';
        tail_feed(&t, big, sizeof big);
        tail_read(&t, 1, out, sizeof out);
        assert_string_equal(out, "zzzz");
        for (int i = 0; i < 1000; i++) {
                char line[16];
                snprintf(line, sizeof line, "line %d\n", i);
                feed(&t, line);
        }
        tail_read(&t, 3, out, sizeof out);
        assert_string_equal(out, "line 997\nline 998\nline 999");
}

static void test_traceback_whole_when_it_fits(void **state) {
        char buf[512], out[512], small[64];
        TailRing t;

        (void) state;
        tail_init(&t, buf, sizeof buf);
        feed(&t, "starting\nTraceback (most recent call last):\n");
        for (int i = 0; i < 6; i++)
                feed(&t, "  File \"a.py\", line 1\n");
        feed(&t, "ValueError: x\n");
        /* 2 lines asked for, the 8-line traceback comes whole, and nothing before it */
        tail_read(&t, 2, out, sizeof out);
        assert_true(strncmp(out, "Traceback (most recent call last):\n", 35) == 0);
        assert_non_null(strstr(out, "\nValueError: x"));
        assert_int_equal(strlen(out), 35 + 6 * 22 + 13);
        /* more lines asked for than the traceback has: those are kept too */
        tail_read(&t, 20, out, sizeof out);
        assert_true(strncmp(out, "starting\nTraceback", 18) == 0);
        /* when it does not fit: the last lines, the exception line last */
        tail_read(&t, 2, small, sizeof small);
        assert_string_equal(small, "  File \"a.py\", line 1\nValueError: x");
        /* a header inside a line is no traceback */
        tail_reset(&t);
        feed(&t, "x Traceback (most recent call last):\na\nb\n");
        tail_read(&t, 1, out, sizeof out);
        assert_string_equal(out, "b");
}

static void test_nul_bytes(void **state) {
        char buf[64], out[64];
        TailRing t;

        (void) state;
        tail_init(&t, buf, sizeof buf);
        tail_feed(&t, "a\0b\nc\0\n", 7);
        assert_int_equal(tail_read(&t, 2, out, sizeof out), 6);
        assert_string_equal(out, "a?b\nc?");
}

static void test_disabled(void **state) {
        char out[8];
        TailRing t;

        (void) state;
        tail_init(&t, NULL, 100);
        feed(&t, "boom\n");
        assert_int_equal(tail_read(&t, 5, out, sizeof out), 0);
}

static void test_last_lines_of_text(void **state) {
        (void) state;
        assert_string_equal(tail_last_lines("a\nb\nc", 2), "b\nc");
        assert_string_equal(tail_last_lines("a\nb\nc", 3), "a\nb\nc");
        assert_string_equal(tail_last_lines("a\nb\nc", 9), "a\nb\nc");
        assert_string_equal(tail_last_lines("a\nb\nc", 0), "a\nb\nc");
        assert_string_equal(tail_last_lines("a\nb\nc\n", 1), "c\n");
        assert_string_equal(tail_last_lines("", 1), "");
}

static void test_indent(void **state) {
        char out[64], small[16];

        (void) state;
        tail_indent("a\nb", "  ", out, sizeof out);
        assert_string_equal(out, "  a\n  b");
        /* older lines leave first; the last one is there */
        tail_indent("first line\nsecond\nValueError: x", "| ", small, sizeof small);
        assert_string_equal(small, "| ValueError: x");
        tail_indent("a very long last line indeed", "| ", small, sizeof small);
        assert_int_equal(strlen(small), sizeof small - 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_last_lines),
                cmocka_unit_test(test_wrap_drops_partial_first_line),
                cmocka_unit_test(test_long_last_line_keeps_its_end),
                cmocka_unit_test(test_output_bound_leaves_out_older_lines),
                cmocka_unit_test(test_big_chunk_and_many_feeds),
                cmocka_unit_test(test_traceback_whole_when_it_fits),
                cmocka_unit_test(test_nul_bytes),
                cmocka_unit_test(test_disabled),
                cmocka_unit_test(test_last_lines_of_text),
                cmocka_unit_test(test_indent),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
