/*
 * Unit tests of the pure parsers (include/parse.h): durations, sizes, fractions, signals,
 * command-line splitting and duration formatting.  Each table row is one user-written value
 * and what the parser must make of it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "parse.h"

static void test_duration_valid(void **state) {
        static const struct {
                const char *s;
                usec_t want;
        } cases[] = {
                { "500ms", 500 * USEC_PER_MSEC },
                { "10s", 10 * USEC_PER_SEC },
                { "5m", 5 * USEC_PER_MINUTE },
                { "1h", USEC_PER_HOUR },
                { "1d", USEC_PER_DAY },
                { "2d", 2 * USEC_PER_DAY },
                { "1h30m", USEC_PER_HOUR + 30 * USEC_PER_MINUTE },
                { "1h 30m", USEC_PER_HOUR + 30 * USEC_PER_MINUTE },
                { "1m30s500ms", 90 * USEC_PER_SEC + 500 * USEC_PER_MSEC },
                { "250us", 250 },
                { "7", 7 * USEC_PER_SEC },
                { "0", 0 },
                { "0s", 0 },
                { "  10s  ", 10 * USEC_PER_SEC },
                { "18446744073709551615us", UINT64_MAX },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                usec_t d = 12345;

                if (parse_duration(cases[i].s, &d) != 0 || d != cases[i].want) {
                        print_error("parse_duration(\"%s\"): %llu, expected %llu\n",
                                    cases[i].s, (unsigned long long) d,
                                    (unsigned long long) cases[i].want);
                        fail();
                }
        }
}

static void test_duration_invalid(void **state) {
        static const struct {
                const char *s;
                int want;
        } cases[] = {
                { "", -EINVAL },
                { "   ", -EINVAL },
                { "abc", -EINVAL },
                { "s", -EINVAL },
                { "10x", -EINVAL },
                { "-1s", -EINVAL },
                { "+1s", -EINVAL },
                /* no fractions: "1.5s" is written "1s500ms" */
                { "1.5s", -EINVAL },
                { "10sec", -EINVAL },
                { "5min", -EINVAL },
                { "5 m", -EINVAL },
                /* a bare number is seconds only as the whole value: "1h30" is ambiguous */
                { "1h30", -EINVAL },
                { "0x10s", -EINVAL },
                { "18446744073709551616", -ERANGE },
                { "18446744073709551616us", -ERANGE },
                { "18446744073709551615s", -ERANGE },
                { "213503982335d", -ERANGE },
                { "18446744073709551615us1us", -ERANGE },
                { "5124095576h5124095576h", -ERANGE },
        };

        (void) state;
        assert_int_equal(parse_duration(NULL, &(usec_t) { 0 }), -EINVAL);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                usec_t d = 4242;
                int r = parse_duration(cases[i].s, &d);

                /* the result is written only on success */
                if (r != cases[i].want || d != 4242) {
                        print_error("parse_duration(\"%s\"): %d, expected %d\n", cases[i].s, r,
                                    cases[i].want);
                        fail();
                }
        }
}

static void test_size(void **state) {
        static const struct {
                const char *s;
                int ret;
                uint64_t want;
        } cases[] = {
                { "512", 0, 512 },
                { "0", 0, 0 },
                { "64K", 0, 64 << 10 },
                { "64k", 0, 64 << 10 },
                { "10M", 0, 10ULL << 20 },
                { "1G", 0, 1ULL << 30 },
                { "2T", 0, 2ULL << 40 },
                { "10MB", 0, 10ULL << 20 },
                { "10MiB", 0, 10ULL << 20 },
                { "10mb", 0, 10ULL << 20 },
                { "16KiB", 0, 16 << 10 },
                { "100B", 0, 100 },
                { "10Q", -EINVAL, 0 },
                { "M", -EINVAL, 0 },
                { "", -EINVAL, 0 },
                { "-1", -EINVAL, 0 },
                { " 10", -EINVAL, 0 },
                { "10 M", -EINVAL, 0 },
                { "10iB", -EINVAL, 0 },
                { "10MM", -EINVAL, 0 },
                { "1.5M", -EINVAL, 0 },
                { "16777216T", -ERANGE, 0 },
                { "99999999999999999999", -ERANGE, 0 },
        };

        (void) state;
        assert_int_equal(parse_size(NULL, &(uint64_t) { 0 }), -EINVAL);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t v = 4242;
                int r = parse_size(cases[i].s, &v);

                if (r != cases[i].ret || v != (r == 0 ? cases[i].want : 4242)) {
                        print_error("parse_size(\"%s\"): %d %llu, expected %d %llu\n",
                                    cases[i].s, r, (unsigned long long) v, cases[i].ret,
                                    (unsigned long long) cases[i].want);
                        fail();
                }
        }
}

static void test_fraction(void **state) {
        static const struct {
                const char *s;
                int ret;
                double want;
        } cases[] = {
                { "10%", 0, 0.1 },
                { "0.1", 0, 0.1 },
                { "0%", 0, 0.0 },
                { "100%", 0, 1.0 },
                { "1", 0, 1.0 },
                { "0", 0, 0.0 },
                { "12.5%", 0, 0.125 },
                { "150%", -ERANGE, 0 },
                { "1.5", -ERANGE, 0 },
                { "-1%", -ERANGE, 0 },
                { "-0.1", -ERANGE, 0 },
                { "", -EINVAL, 0 },
                { "%", -EINVAL, 0 },
                { "abc", -EINVAL, 0 },
                { "10%%", -EINVAL, 0 },
                { "10 %", -EINVAL, 0 },
                { "10%x", -EINVAL, 0 },
                { "nan", -EINVAL, 0 },
                { "inf", -EINVAL, 0 },
                { "1e999", -EINVAL, 0 },
        };

        (void) state;
        assert_int_equal(parse_fraction(NULL, &(double) { 0 }), -EINVAL);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                double v = 42.0;
                int r = parse_fraction(cases[i].s, &v);

                if (r != cases[i].ret || fabs(v - (r == 0 ? cases[i].want : 42.0)) > 1e-12) {
                        print_error("parse_fraction(\"%s\"): %d %g, expected %d %g\n",
                                    cases[i].s, r, v, cases[i].ret, cases[i].want);
                        fail();
                }
        }
}

static void test_umask(void **state) {
        static const struct {
                const char *s;
                int r;
                unsigned v;
        } cases[] = {
                { "022", 0, 022 }, { "0", 0, 0 }, { "777", 0, 0777 }, { "0077", 0, 077 },
                { "7", 0, 07 }, { "1000", -EINVAL, 0 }, { "00022", -EINVAL, 0 },
                { "", -EINVAL, 0 }, { "8", -EINVAL, 0 }, { "-1", -EINVAL, 0 },
                { "+22", -EINVAL, 0 }, { " 22", -EINVAL, 0 }, { "22 ", -EINVAL, 0 },
                { "0x1f", -EINVAL, 0 }, { "0o22", -EINVAL, 0 },
        };
        unsigned v;

        (void) state;
        assert_int_equal(parse_umask(NULL, &v), -EINVAL);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                v = 12345;
                if (parse_umask(cases[i].s, &v) != cases[i].r ||
                    (cases[i].r == 0 && v != cases[i].v)) {
                        print_error("parse_umask(\"%s\"): got %o, expected %d %o\n", cases[i].s,
                                    v, cases[i].r, cases[i].v);
                        fail();
                }
        }
}

static void test_signal(void **state) {
        static const struct {
                const char *s;
                int ret;
                int want;
        } cases[] = {
                { "TERM", 0, SIGTERM },
                { "SIGTERM", 0, SIGTERM },
                { "sigint", 0, SIGINT },
                { "SigHup", 0, SIGHUP },
                { "int", 0, SIGINT },
                { "KILL", 0, SIGKILL },
                { "USR1", 0, SIGUSR1 },
                { "WINCH", 0, SIGWINCH },
                { "9", 0, 9 },
                { "15", 0, 15 },
                { "NOPE", -EINVAL, 0 },
                { "SIG", -EINVAL, 0 },
                { "SIGSIGTERM", -EINVAL, 0 },
                { "", -EINVAL, 0 },
                { "0", -EINVAL, 0 },
                { "99", -EINVAL, 0 },
                { "-9", -EINVAL, 0 },
                { "9x", -EINVAL, 0 },
                { " TERM", -EINVAL, 0 },
                { "99999999999999999999", -EINVAL, 0 },
        };
        char nsig[16];
        int v;

        (void) state;
        assert_int_equal(parse_signal(NULL, &v), -EINVAL);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int r;

                v = 4242;
                r = parse_signal(cases[i].s, &v);
                if (r != cases[i].ret || v != (r == 0 ? cases[i].want : 4242)) {
                        print_error("parse_signal(\"%s\"): %d %d, expected %d %d\n",
                                    cases[i].s, r, v, cases[i].ret, cases[i].want);
                        fail();
                }
        }

        /* numbers are accepted up to the last real-time signal, and no further */
        snprintf(nsig, sizeof nsig, "%d", NSIG - 1);
        assert_int_equal(parse_signal(nsig, &v), 0);
        assert_int_equal(v, NSIG - 1);
        snprintf(nsig, sizeof nsig, "%d", NSIG);
        assert_int_equal(parse_signal(nsig, &v), -EINVAL);
}

static void test_signal_names(void **state) {
        unsigned named = 0;

        (void) state;
        assert_string_equal(signal_to_name(SIGTERM), "TERM");
        assert_string_equal(signal_to_name(SIGKILL), "KILL");
        assert_string_equal(signal_to_name(SIGHUP), "HUP");
        assert_null(signal_to_name(0));
        assert_null(signal_to_name(-1));
        assert_null(signal_to_name(NSIG));

        /* every name given out is parsed back to the same number, bare or with SIG */
        for (int sig = 1; sig < NSIG; sig++) {
                const char *name = signal_to_name(sig);
                char full[32];
                int v = 0;

                if (!name)
                        continue;
                named++;
                assert_int_equal(parse_signal(name, &v), 0);
                assert_int_equal(v, sig);
                snprintf(full, sizeof full, "SIG%s", name);
                assert_int_equal(parse_signal(full, &v), 0);
                assert_int_equal(v, sig);
        }
        assert_true(named >= 30);
}

/*
 * Every signal 1..64 has a name that parse_signal() reads back: the table's, RTMIN+N/RTMAX-N
 * in the real-time range (as kill -l names them), or the number (16, and glibc's 32 and 33).
 */
static void test_signal_name_every_signal(void **state) {
        char buf[SIGNAL_NAME_MAX], label[SIGNAL_LABEL_MAX], want[SIGNAL_LABEL_MAX];

        (void) state;
        assert_true(NSIG - 1 >= 64);
        for (int sig = 1; sig <= 64; sig++) {
                const char *name = signal_name(sig, buf);
                int v = 0;

                assert_non_null(name);
                assert_true(name[0] != '\0' && strlen(name) < SIGNAL_NAME_MAX);
                assert_int_equal(parse_signal(name, &v), 0);
                assert_int_equal(v, sig);
                if (signal_to_name(sig))
                        assert_string_equal(name, signal_to_name(sig));
                else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
                        assert_true(strncmp(name, "RTM", 3) == 0);
                else {
                        snprintf(want, sizeof want, "%d", sig);
                        assert_string_equal(name, want);
                }
                /* the label: SIG before a name, "signal " before a number */
                signal_label(sig, label);
                if (name[0] >= '0' && name[0] <= '9')
                        snprintf(want, sizeof want, "signal %s", name);
                else {
                        snprintf(want, sizeof want, "SIG%s", name);
                        assert_int_equal(parse_signal(label, &v), 0);
                        assert_int_equal(v, sig);
                }
                assert_string_equal(label, want);
        }
        assert_string_equal(signal_name(16, buf), "16");
        assert_string_equal(SIGNAL_LABEL(16), "signal 16");
        assert_string_equal(SIGNAL_NAME(SIGTERM), "TERM");
        assert_string_equal(SIGNAL_LABEL(SIGTERM), "SIGTERM");
        assert_string_equal(SIGNAL_NAME(SIGRTMIN), "RTMIN");
        assert_string_equal(SIGNAL_NAME(SIGRTMIN + 3), "RTMIN+3");
        assert_string_equal(SIGNAL_LABEL(SIGRTMIN + 3), "SIGRTMIN+3");
        assert_string_equal(SIGNAL_NAME(SIGRTMAX), "RTMAX");
        assert_string_equal(SIGNAL_NAME(SIGRTMAX - 2), "RTMAX-2");
        /* outside 1..NSIG-1 a number too, never NULL */
        assert_string_equal(SIGNAL_NAME(0), "0");
        assert_string_equal(SIGNAL_NAME(-1), "-1");
        assert_string_equal(SIGNAL_LABEL(-1), "signal -1");
        assert_string_equal(SIGNAL_NAME(INT_MIN), "-2147483648");
}

static void test_signal_parse_realtime(void **state) {
        static const char *const bad[] = {
                "RTMIN-1", "RTMAX+1", "RTMIN+", "RTMAX-", "RTMIN+x", "RTMIN3", "RTMIN+3x",
                "RTMIN++3", "RTMIN+-3", "RTMIN+ 3", "RTMI", "RT", "RTMIN+99",
                "RTMIN+99999999999999999999", "SIGRTMAX-99",
        };
        int v;

        (void) state;
        assert_int_equal(parse_signal("RTMIN", &v), 0);
        assert_int_equal(v, SIGRTMIN);
        assert_int_equal(parse_signal("sigrtmin+3", &v), 0);
        assert_int_equal(v, SIGRTMIN + 3);
        assert_int_equal(parse_signal("SIGRTMAX", &v), 0);
        assert_int_equal(v, SIGRTMAX);
        assert_int_equal(parse_signal("RTMAX-2", &v), 0);
        assert_int_equal(v, SIGRTMAX - 2);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                v = 4242;
                if (parse_signal(bad[i], &v) != -EINVAL || v != 4242) {
                        print_error("parse_signal(\"%s\") accepted: %d\n", bad[i], v);
                        fail();
                }
        }
}

/* A command line and the argv it must give; NULL ends want[]. */
typedef struct SplitCase {
        const char *line;
        const char *want[6];
} SplitCase;

static void check_split(const SplitCase *c) {
        _cleanup_strv_free_ char **argv = NULL;
        const char *err = NULL;
        size_t n = 0;

        if (argv_split(c->line, &argv, &err) != 0) {
                print_error("argv_split(\"%s\"): %s\n", c->line, err);
                fail();
        }
        assert_non_null(argv);
        while (c->want[n])
                n++;
        assert_int_equal(strv_length(argv), n);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(argv[i], c->want[i]);
        assert_null(argv[n]);
}

static void test_argv_split(void **state) {
        static const SplitCase cases[] = {
                { "/bin/true", { "/bin/true" } },
                { "a b c", { "a", "b", "c" } },
                { "  a \t\t b\t", { "a", "b" } },
                { "a\nb", { "a", "b" } },
                /* single quotes: everything literal */
                { "sh -c 'echo hello  world'", { "sh", "-c", "echo hello  world" } },
                { "'a\\b' '\"x\"'", { "a\\b", "\"x\"" } },
                /* double quotes: \" \\ \$ \` are escapes, any other backslash is kept */
                { "\"a \\\" b\"", { "a \" b" } },
                { "\"a\\\\b\"", { "a\\b" } },
                { "\"\\$HOME \\`x\\`\"", { "$HOME `x`" } },
                { "\"a\\nb\"", { "a\\nb" } },
                { "\"a\\\nb\"", { "ab" } },
                { "\"$HOME\"", { "$HOME" } },
                /* backslash outside quotes escapes the next character */
                { "a\\ b c", { "a b", "c" } },
                { "\\'x \\\"y \\\\z", { "'x", "\"y", "\\z" } },
                { "a\\\nb", { "ab" } },
                /* adjacent quoted and unquoted parts make one word */
                { "a'b c'd\"e f\"g", { "ab cde fg" } },
                /* an empty quoted string is an argument */
                { "printf ''", { "printf", "" } },
                { "a '' b \"\"", { "a", "", "b", "" } },
                { "''", { "" } },
                /* no expansion of any kind */
                { "echo $HOME ~ * %i", { "echo", "$HOME", "~", "*", "%i" } },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                check_split(&cases[i]);
}

static void test_argv_split_errors(void **state) {
        static const struct {
                const char *line;
                const char *error;
        } cases[] = {
                { "sh -c 'echo", "unterminated single quote" },
                { "'", "unterminated single quote" },
                { "echo \"abc", "unterminated double quote" },
                { "echo \"abc\\\"", "unterminated double quote" },
                { "echo \"abc\\", "unterminated double quote" },
                { "", "empty command" },
                { "  \t ", "empty command" },
                { "echo abc\\", "trailing backslash" },
                { "\\", "trailing backslash" },
        };
        char **sentinel = (char **) &sentinel;

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char **argv = sentinel;
                const char *err = NULL;

                if (argv_split(cases[i].line, &argv, &err) != -EINVAL) {
                        print_error("argv_split(\"%s\") succeeded\n", cases[i].line);
                        fail();
                }
                assert_non_null(err);
                assert_string_equal(err, cases[i].error);
                /* the result is written only on success */
                assert_ptr_equal(argv, sentinel);
        }

        {
                char **argv = sentinel;
                const char *err = NULL;

                assert_int_equal(argv_split(NULL, &argv, &err), -EINVAL);
                assert_string_equal(err, "empty command");
                assert_ptr_equal(argv, sentinel);
        }
}

static void test_format_duration(void **state) {
        static const struct {
                usec_t d;
                const char *want;
        } cases[] = {
                { 0, "0ms" },
                { 999, "0ms" },
                { 350 * USEC_PER_MSEC, "350ms" },
                { 999 * USEC_PER_MSEC, "999ms" },
                { USEC_PER_SEC, "1.0s" },
                { 4200 * USEC_PER_MSEC, "4.2s" },
                { 59 * USEC_PER_SEC, "59.0s" },
                { USEC_PER_MINUTE, "1m00s" },
                { 3 * USEC_PER_MINUTE + 12 * USEC_PER_SEC, "3m12s" },
                { USEC_PER_HOUR - 1, "59m59s" },
                { USEC_PER_HOUR, "1h00m" },
                { 2 * USEC_PER_HOUR + 5 * USEC_PER_MINUTE, "2h05m" },
                { USEC_PER_DAY, "1d00h" },
                { 3 * USEC_PER_DAY + 4 * USEC_PER_HOUR, "3d04h" },
                { 7 * USEC_PER_DAY, "7d00h" },
                { USEC_INFINITY, "never" },
        };
        char buf[32];

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                memset(buf, 'x', sizeof buf);
                assert_ptr_equal(format_duration(buf, sizeof buf, cases[i].d), buf);
                assert_string_equal(buf, cases[i].want);
        }

        /* a short buffer truncates and stays terminated */
        memset(buf, 'x', sizeof buf);
        format_duration(buf, 4, 2 * USEC_PER_HOUR + 5 * USEC_PER_MINUTE);
        assert_string_equal(buf, "2h0");
        assert_int_equal(buf[4], 'x');
}

/* Every duration format_duration() prints at whole units is one parse_duration() accepts. */
static void test_format_parse_round_trip(void **state) {
        static const usec_t values[] = {
                0, 350 * USEC_PER_MSEC, 3 * USEC_PER_MINUTE + 12 * USEC_PER_SEC,
                2 * USEC_PER_HOUR + 5 * USEC_PER_MINUTE, 3 * USEC_PER_DAY + 4 * USEC_PER_HOUR,
        };
        char buf[32];

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                usec_t d;

                format_duration(buf, sizeof buf, values[i]);
                assert_int_equal(parse_duration(buf, &d), 0);
                assert_int_equal(d, values[i]);
        }
}

static void test_expand_instance(void **state) {
        static const struct {
                const char *tmpl;
                unsigned index;
                const char *want;
        } cases[] = {
                { "worker --port 80%i", 3, "worker --port 803" },
                { "%i%i", 12, "1212" },
                { "100%%", 0, "100%" },
                { "%%i", 7, "%i" },
                { "no template", 1, "no template" },
                { "trailing %", 1, "trailing %" },
                { "", 1, "" },
                { "%i", 4294967295U, "4294967295" },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *s = expand_instance(cases[i].tmpl, cases[i].index);

                assert_non_null(s);
                assert_string_equal(s, cases[i].want);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_duration_valid),
                cmocka_unit_test(test_duration_invalid),
                cmocka_unit_test(test_size),
                cmocka_unit_test(test_fraction),
                cmocka_unit_test(test_umask),
                cmocka_unit_test(test_signal),
                cmocka_unit_test(test_signal_names),
                cmocka_unit_test(test_signal_name_every_signal),
                cmocka_unit_test(test_signal_parse_realtime),
                cmocka_unit_test(test_argv_split),
                cmocka_unit_test(test_argv_split_errors),
                cmocka_unit_test(test_format_duration),
                cmocka_unit_test(test_format_parse_round_trip),
                cmocka_unit_test(test_expand_instance),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
