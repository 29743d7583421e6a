/*
 * Line framing (see logline.h).
 *
 * Two paths.  Undecorated output (no prefix, timestamp or tag) is copied in bulk: one memrchr
 * per window of max_line + 1 bytes finds the last line end in it, and every line ending inside
 * such a window is at most max_line long, so whole runs of short lines move with one memcpy and
 * no per-line work.  Decorated output needs a per-line memchr anyway.
 */
#include <stdio.h>
#include <string.h>

#include "logline.h"
#include "macro.h"

static size_t out_free(const LineOut *o) {
        return o->cap[0] + o->cap[1] - o->used;
}

static void out_put(LineOut *o, const char *p, size_t n) {
        if (n > 0 && o->used < o->cap[0]) {
                size_t k = MIN(n, o->cap[0] - o->used);

                memcpy(o->seg[0] + o->used, p, k);
                p += k;
                n -= k;
                o->used += k;
        }
        if (n > 0) {
                memcpy(o->seg[1] + (o->used - o->cap[0]), p, n);
                o->used += n;
        }
}

size_t logline_framed_size(const LineFormat *f, size_t len) {
        return f->prefix_len + f->stamp_len + f->tag_len + len + 1;
}

static bool emit(const LineFormat *f, const char *text, size_t len, bool split, LineOut *out) {
        size_t need = logline_framed_size(f, len) + (split ? strlen(LOGLINE_SPLIT_MARKER) : 0);

        if (need > out_free(out))
                return false;
        out_put(out, f->prefix, f->prefix_len);
        out_put(out, f->stamp, f->stamp_len);
        out_put(out, f->tag, f->tag_len);
        out_put(out, text, len);
        if (split)
                out_put(out, LOGLINE_SPLIT_MARKER, strlen(LOGLINE_SPLIT_MARKER));
        out_put(out, "\n", 1);
        return true;
}

bool logline_emit(const LineFormat *f, const char *text, size_t len, LineOut *out) {
        return emit(f, text, len, false, out);
}

size_t logline_utf8_cut(const char *s, size_t max) {
        /* s[max] starts the next piece: back off over at most 3 continuation bytes */
        for (size_t k = max; k > 0 && k + 4 > max; k--)
                if (((unsigned char) s[k] & 0xC0) != 0x80)
                        return k;
        return max;
}

void logline_frame(const LineFormat *f, const char *in, size_t len, bool eof, LineOut *out,
                   LineResult *ret) {
        bool raw = f->prefix_len == 0 && f->stamp_len == 0 && f->tag_len == 0;
        size_t p = 0;

        *ret = (LineResult) {};
        while (p < len) {
                size_t rest = len - p, window = MIN(rest, f->max_line + 1);
                const char *nl;

                if (raw) {
                        size_t room = out_free(out);

                        nl = memrchr(in + p, '\n', window);
                        if (nl && (size_t) (nl - (in + p)) >= room)
                                /* not everything fits: the last line end that does */
                                nl = room > 0 ? memrchr(in + p, '\n', room) : NULL;
                        if (nl) {
                                size_t k = (size_t) (nl - (in + p)) + 1;

                                out_put(out, in + p, k);
                                p += k;
                                continue;
                        }
                        if (memchr(in + p, '\n', window)) {
                                ret->full = true;
                                break;
                        }
                } else {
                        nl = memchr(in + p, '\n', window);
                        if (nl) {
                                size_t k = (size_t) (nl - (in + p));

                                if (!emit(f, in + p, k, false, out)) {
                                        ret->full = true;
                                        break;
                                }
                                p += k + 1;
                                continue;
                        }
                }

                /* no line end within max_line + 1 bytes: an over-long line, or a partial one */
                if (rest > f->max_line) {
                        size_t cut = logline_utf8_cut(in + p, f->max_line);

                        if (!emit(f, in + p, cut, true, out)) {
                                ret->full = true;
                                break;
                        }
                        p += cut;
                } else if (eof) {
                        if (!emit(f, in + p, rest, false, out)) {
                                ret->full = true;
                                break;
                        }
                        p = len;
                } else
                        break;
        }
        ret->consumed = p;
}

size_t logline_timestamp(char *buf, const struct tm *tm, unsigned msec) {
        long off = tm->tm_gmtoff / 60;
        size_t n;

        n = strftime(buf, LOGLINE_TIMESTAMP_MAX, "%Y-%m-%dT%H:%M:%S", tm);
        n += (size_t) snprintf(buf + n, LOGLINE_TIMESTAMP_MAX - n, ".%03u%c%02ld:%02ld",
                               msec % 1000, off < 0 ? '-' : '+', (off < 0 ? -off : off) / 60,
                               (off < 0 ? -off : off) % 60);
        return MIN(n, (size_t) LOGLINE_TIMESTAMP_MAX - 1);
}
