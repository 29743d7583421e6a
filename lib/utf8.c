/*
 * UTF-8 made safe for JSON (see utf8.h): one decoder step, and what is built on it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "utf8.h"

/*
 * Unicode's table of well-formed sequences (Table 3-7): the second byte's range depends on
 * the lead byte (this excludes overlongs, surrogates and anything above U+10FFFF), the third
 * and fourth are plain continuation bytes.  Counting how many bytes matched the table before
 * the first mismatch gives the maximal subpart directly.
 */
size_t utf8_sequence(const char *s, size_t n, bool *ret_valid) {
        const uint8_t *p = (const uint8_t *) s;
        uint8_t b = p[0], lo = 0x80, hi = 0xBF;
        size_t need, k;

        if (b < 0x80) {
                *ret_valid = true;
                return 1;
        }
        if (b >= 0xC2 && b <= 0xDF)
                need = 2;
        else if (b >= 0xE0 && b <= 0xEF) {
                need = 3;
                if (b == 0xE0)
                        lo = 0xA0;
                else if (b == 0xED)
                        hi = 0x9F;
        } else if (b >= 0xF0 && b <= 0xF4) {
                need = 4;
                if (b == 0xF0)
                        lo = 0x90;
                else if (b == 0xF4)
                        hi = 0x8F;
        } else {
                *ret_valid = false;
                return 1;
        }
        for (k = 1; k < need; k++) {
                if (k >= n || p[k] < lo || p[k] > hi) {
                        *ret_valid = false;
                        return k;
                }
                lo = 0x80, hi = 0xBF;
        }
        *ret_valid = true;
        return need;
}

bool utf8_is_valid(const char *s, size_t n) {
        for (size_t i = 0; i < n;) {
                bool valid;

                i += utf8_sequence(s + i, n - i, &valid);
                if (!valid)
                        return false;
        }
        return true;
}

size_t utf8_sanitized_len(const char *s, size_t n) {
        size_t out = 0;

        for (size_t i = 0; i < n;) {
                bool valid;
                size_t k = utf8_sequence(s + i, n - i, &valid);

                out += valid ? k : strlen(UTF8_REPLACEMENT);
                i += k;
        }
        return out;
}

char *utf8_sanitize(const char *s, size_t n, size_t *ret_len) {
        size_t len = utf8_sanitized_len(s, n), o = 0;
        char *r = malloc(len + 1);

        if (!r)
                return NULL;
        for (size_t i = 0; i < n;) {
                bool valid;
                size_t k = utf8_sequence(s + i, n - i, &valid);

                if (valid)
                        memcpy(r + o, s + i, k), o += k;
                else
                        memcpy(r + o, UTF8_REPLACEMENT, 3), o += 3;
                i += k;
        }
        r[o] = '\0';
        if (ret_len)
                *ret_len = o;
        return r;
}

size_t utf8_json_escape(char *buf, size_t len, size_t n, const char *s) {
        size_t left = strlen(s);

        while (left > 0 && n + 8 < len) {
                unsigned char c = (unsigned char) *s;
                bool valid;
                size_t k = utf8_sequence(s, left, &valid);

                if (!valid)
                        memcpy(buf + n, UTF8_REPLACEMENT, 3), n += 3;
                else if (c == '"' || c == '\\') {
                        buf[n++] = '\\';
                        buf[n++] = (char) c;
                } else if (c == '\n')
                        buf[n++] = '\\', buf[n++] = 'n';
                else if (c == '\t')
                        buf[n++] = '\\', buf[n++] = 't';
                else if (c < 0x20 || c == 0x7f)
                        n += (size_t) snprintf(buf + n, len - n, "\\u%04x", c);
                else
                        memcpy(buf + n, s, k), n += k;
                s += k;
                left -= k;
        }
        return n;
}

json_t *utf8_json_string(const char *s) {
        _cleanup_free_ char *clean = NULL;
        size_t n = strlen(s), len;

        if (utf8_is_valid(s, n))
                return json_stringn_nocheck(s, n);
        clean = utf8_sanitize(s, n, &len);
        return clean ? json_stringn_nocheck(clean, len) : NULL;
}
