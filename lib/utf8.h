/*
 * UTF-8 made safe for JSON (pure: no I/O, no logging).
 *
 * Strings upkeepd did not write itself (exit and spawn-failure reasons with paths and strerror
 * text, health answers, sink responses, configuration values) are bytes, not text: a path may
 * hold any byte but '/' and NUL.  JSON must be UTF-8, and jansson refuses a string that is not
 * (json_string() returns NULL, which turned a reason into null and could fail a whole answer).
 * Every such string goes into JSON through these functions, which keep valid UTF-8 as it is and
 * replace each invalid sequence by U+FFFD.
 *
 * "Invalid sequence" is the maximal subpart of Unicode's recommended practice (Unicode 15,
 * §3.9 U+FFFD substitution; the WHATWG Encoding Standard decodes the same way): a lead byte
 * and the continuation bytes that could still have made a valid character form one invalid
 * sequence and one U+FFFD; a byte that can start nothing (0x80..0xC1, 0xF5..0xFF) is one on its
 * own.  So "\xE2\x82" (a truncated euro sign) gives one U+FFFD, "\xC0\xAF" (overlong) two,
 * "\xED\xA0\x80" (a surrogate) three.  NUL is U+0000, valid: an explicit length may carry it.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define UTF8_REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD, 3 bytes */

/*
 * The length of the sequence at s[0..n) (n > 0): a whole valid character (1..4 bytes, *ret_valid
 * set), or the maximal subpart of an invalid one (1..3 bytes, *ret_valid cleared).
 */
size_t utf8_sequence(const char *s, size_t n, bool *ret_valid);

bool utf8_is_valid(const char *s, size_t n);

/* The length of s[0..n) once sanitised. */
size_t utf8_sanitized_len(const char *s, size_t n);

/*
 * s[0..n) with every invalid sequence replaced by U+FFFD, NUL-terminated, in a new allocation;
 * its length (without that NUL) in *ret_len when ret_len is not NULL.  NULL when out of memory.
 */
char *utf8_sanitize(const char *s, size_t n, size_t *ret_len);

/*
 * Append the C string s to buf[n..len) as the inside of a JSON string: '"' '\\' and control
 * characters escaped, invalid sequences as U+FFFD.  Stops before a character that would leave
 * fewer than 8 bytes free, so a cut never splits a character or an escape.  Returns the new n.
 */
size_t utf8_json_escape(char *buf, size_t len, size_t n, const char *s);

/* json_string() for a string from outside: invalid sequences as U+FFFD, never refused. */
json_t *utf8_json_string(const char *s);
