/*
 * Unit tests of lib/utf8.h: the decoder step against Unicode's table of well-formed
 * sequences and its maximal-subpart rule, the sanitiser (valid text untouched, one U+FFFD per
 * maximal subpart), the JSON escaping of upkeepd's own log, and the jansson string built from
 * bytes jansson itself would refuse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "utf8.h"

#define R UTF8_REPLACEMENT

typedef struct Case {
        const char *in;
        size_t in_len;          /* 0: strlen(in) */
        const char *want;       /* sanitised */
        size_t want_len;        /* 0: strlen(want) */
} Case;

static const Case cases[] = {
        /* valid: kept byte for byte */
        { "", 0, "", 0 },
        { "plain ascii", 0, "plain ascii", 0 },
        { "caf\xC3\xA9", 0, "caf\xC3\xA9", 0 },                     /* 2 bytes, U+00E9 */
        { "\xE2\x82\xAC 5", 0, "\xE2\x82\xAC 5", 0 },               /* 3 bytes, U+20AC */
        { "\xF0\x9F\x98\x80", 0, "\xF0\x9F\x98\x80", 0 },           /* 4 bytes, U+1F600 */
        { "\xC2\x80\xDF\xBF", 0, "\xC2\x80\xDF\xBF", 0 },           /* U+0080, U+07FF */
        { "\xE0\xA0\x80\xEF\xBF\xBF", 0, "\xE0\xA0\x80\xEF\xBF\xBF", 0 }, /* U+0800, U+FFFF */
        { "\xED\x9F\xBF\xEE\x80\x80", 0, "\xED\x9F\xBF\xEE\x80\x80", 0 }, /* around surrogates */
        { "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF", 0, "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF", 0 },
        { R, 0, R, 0 },                                             /* U+FFFD itself */
        /* NUL is U+0000: kept when the length says it is there */
        { "a\0b", 3, "a\0b", 3 },
        { "\0", 1, "\0", 1 },
        /* bytes that start nothing: one U+FFFD each */
        { "\xFF", 0, R, 0 },
        { "a\xFF" "b", 0, "a" R "b", 0 },
        { "\xFE\xFF", 0, R R, 0 },
        { "\x80", 0, R, 0 },                                        /* lone continuation */
        { "\x80\xBF\x80", 0, R R R, 0 },
        { "\xC0\xAF", 0, R R, 0 },                                  /* overlong '/' */
        { "\xC1\xBF", 0, R R, 0 },
        { "\xE0\x80\xAF", 0, R R R, 0 },                            /* overlong, 3 bytes */
        { "\xF0\x80\x80\xAF", 0, R R R R, 0 },                      /* overlong, 4 bytes */
        { "\xF5\x80\x80\x80", 0, R R R R, 0 },                      /* above U+10FFFF */
        { "\xF4\x90\x80\x80", 0, R R R R, 0 },                      /* U+110000 */
        { "\xED\xA0\x80", 0, R R R, 0 },                            /* surrogate U+D800 */
        { "\xED\xBF\xBF", 0, R R R, 0 },                            /* surrogate U+DFFF */
        { "\xED\xA0\x80\xED\xB0\x80", 0, R R R R R R, 0 },          /* a CESU-8 pair */
        /* truncated: the maximal subpart is one U+FFFD */
        { "\xC3", 0, R, 0 },
        { "\xE2\x82", 0, R, 0 },
        { "\xE2\x82x", 0, R "x", 0 },
        { "\xF0\x9F\x98", 0, R, 0 },
        { "\xF0\x9F\x98 ok", 0, R " ok", 0 },
        { "\xF0\x9F\xC3\xA9", 0, R "\xC3\xA9", 0 },                 /* cut by a valid char */
        { "\xE2\x82\xE2\x82\xAC", 0, R "\xE2\x82\xAC", 0 },
        { "\xE2\x82\0x", 4, R "\0x", 5 },                           /* cut by a NUL */
        /* Unicode 15 table 3-8's example: 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64 */
        { "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64", 0,
          "a" R R R "b" R "c" R R "d", 0 },
        /* a path with a Latin-1 byte, as the spawn-failure reasons carry them */
        { "chdir /nonexistent/\xE9t\xE9: No such file", 0,
          "chdir /nonexistent/" R "t" R ": No such file", 0 },
};

static void test_sanitize(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const Case *c = &cases[i];
                size_t in_len = c->in_len ?: strlen(c->in);
                size_t want_len = c->want_len ?: strlen(c->want);
                _cleanup_free_ char *got = NULL;
                size_t len = 4242;
                bool same = strcmp(c->in, c->want) == 0 && in_len == want_len &&
                            memcmp(c->in, c->want, in_len) == 0;

                got = utf8_sanitize(c->in, in_len, &len);
                assert_non_null(got);
                if (len != want_len || memcmp(got, c->want, want_len) != 0 || got[len] != '\0') {
                        print_error("case %zu: sanitised to %zu bytes, expected %zu\n", i, len,
                                    want_len);
                        fail();
                }
                assert_int_equal(utf8_sanitized_len(c->in, in_len), want_len);
                assert_int_equal(utf8_is_valid(c->in, in_len), same);
                /* the result is valid, and sanitising it again changes nothing */
                assert_true(utf8_is_valid(got, len));
        }
}

static void test_sequence(void **state) {
        bool valid;

        (void) state;
        /* every single byte: ASCII (NUL included) is valid alone, a lead byte alone is a
         * truncated sequence, anything else starts nothing */
        for (unsigned b = 0; b < 256; b++) {
                char s[1] = { (char) b };

                assert_int_equal(utf8_sequence(s, 1, &valid), 1);
                assert_int_equal(valid, b < 0x80);
        }
        /* the length bound is honoured: the lead of a 4-byte sequence with 2 bytes given */
        assert_int_equal(utf8_sequence("\xF0\x9F\x98\x80", 2, &valid), 2);
        assert_false(valid);
        assert_int_equal(utf8_sequence("\xF0\x9F\x98\x80", 4, &valid), 4);
        assert_true(valid);

        /* exhaustively over two-byte inputs: valid exactly when a 2-byte character, and an
         * invalid subpart of 2 bytes only when the second byte could continue the lead */
        for (unsigned a = 0xC0; a < 256; a++)
                for (unsigned b = 0; b < 256; b++) {
                        char s[2] = { (char) a, (char) b };
                        size_t k = utf8_sequence(s, 2, &valid);
                        bool cont = b >= 0x80 && b <= 0xBF;
                        bool two = a >= 0xC2 && a <= 0xDF && cont;
                        bool longer = (a == 0xE0 && b >= 0xA0 && cont) ||
                                      (a >= 0xE1 && a <= 0xEC && cont) ||
                                      (a == 0xED && b <= 0x9F && cont) ||
                                      (a >= 0xEE && a <= 0xEF && cont) ||
                                      (a == 0xF0 && b >= 0x90 && cont) ||
                                      (a >= 0xF1 && a <= 0xF3 && cont) ||
                                      (a == 0xF4 && b <= 0x8F && cont);

                        assert_int_equal(valid, two);
                        assert_int_equal(k, two || longer ? 2 : 1);
                }
}

/* Every code point encodes to a sequence the decoder takes whole; surrogates do not. */
static void test_every_code_point(void **state) {
        (void) state;
        for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
                unsigned char s[4];
                size_t n;
                bool valid;

                if (cp < 0x80)
                        s[0] = (unsigned char) cp, n = 1;
                else if (cp < 0x800)
                        s[0] = (unsigned char) (0xC0 | cp >> 6),
                        s[1] = (unsigned char) (0x80 | (cp & 0x3F)), n = 2;
                else if (cp < 0x10000)
                        s[0] = (unsigned char) (0xE0 | cp >> 12),
                        s[1] = (unsigned char) (0x80 | (cp >> 6 & 0x3F)),
                        s[2] = (unsigned char) (0x80 | (cp & 0x3F)), n = 3;
                else
                        s[0] = (unsigned char) (0xF0 | cp >> 18),
                        s[1] = (unsigned char) (0x80 | (cp >> 12 & 0x3F)),
                        s[2] = (unsigned char) (0x80 | (cp >> 6 & 0x3F)),
                        s[3] = (unsigned char) (0x80 | (cp & 0x3F)), n = 4;
                if (cp >= 0xD800 && cp <= 0xDFFF) {
                        assert_false(utf8_is_valid((char *) s, n));
                        assert_int_equal(utf8_sanitized_len((char *) s, n), 9);
                        continue;
                }
                if (utf8_sequence((char *) s, n, &valid) != n || !valid) {
                        print_error("U+%04X not taken whole\n", cp);
                        fail();
                }
        }
}

static void test_json_escape(void **state) {
        char buf[64];
        size_t n;

        (void) state;
        n = utf8_json_escape(buf, sizeof buf, 0, "a\"b\\c\nd\te\x01\x7f");
        buf[n] = '\0';
        assert_string_equal(buf, "a\\\"b\\\\c\\nd\\te\\u0001\\u007f");
        n = utf8_json_escape(buf, sizeof buf, 0, "caf\xC3\xA9 \xFF \xE2\x82|\xED\xA0\x80");
        buf[n] = '\0';
        assert_string_equal(buf, "caf\xC3\xA9 " R " " R "|" R R R);

        /* a cut for room never splits a character: 4-byte ones into a small buffer */
        n = utf8_json_escape(buf, 20, 0, "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80");
        assert_true(n <= 12 && n % 4 == 0);
        assert_true(utf8_is_valid(buf, n));

        /* appends after what is there */
        memcpy(buf, "x=", 2);
        n = utf8_json_escape(buf, sizeof buf, 2, "\xC0");
        assert_int_equal(n, 5);
        assert_memory_equal(buf, "x=" R, 5);
}

static void test_json_string(void **state) {
        static const char *const in[] = { "ok", "caf\xC3\xA9", "bad \xFF byte",
                                          "cut \xE2\x82", "\xED\xA0\x80" };
        static const char *const want[] = { "ok", "caf\xC3\xA9", "bad " R " byte", "cut " R,
                                            R R R };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(in); i++) {
                json_t *j = utf8_json_string(in[i]);
                char *dump;
                json_t *back;

                assert_non_null(j);
                assert_string_equal(json_string_value(j), want[i]);
                /* what jansson writes, jansson (a strict reader) reads back */
                dump = json_dumps(j, JSON_ENCODE_ANY);
                assert_non_null(dump);
                back = json_loads(dump, JSON_DECODE_ANY, NULL);
                assert_non_null(back);
                assert_true(json_equal(j, back));
                json_decref(back);
                free(dump);
                json_decref(j);
        }
        /* the reason this exists: jansson refuses these bytes */
        assert_null(json_string("bad \xFF byte"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sanitize),
                cmocka_unit_test(test_sequence),
                cmocka_unit_test(test_every_code_point),
                cmocka_unit_test(test_json_escape),
                cmocka_unit_test(test_json_string),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
