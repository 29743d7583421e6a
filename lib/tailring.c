/*
 * Crash context ring (see tailring.h).
 */
#include <string.h>

#include "macro.h"
#include "tailring.h"

void tail_init(TailRing *t, char *buf, size_t cap) {
        *t = (TailRing) { .buf = buf, .cap = buf ? cap : 0 };
}

void tail_reset(TailRing *t) {
        t->written = 0;
}

void tail_feed(TailRing *t, const char *p, size_t n) {
        size_t skip, at, first;

        if (t->cap == 0 || n == 0)
                return;
        /* only the last cap bytes of a chunk can survive it */
        skip = n > t->cap ? n - t->cap : 0;
        t->written += skip;
        p += skip;
        n -= skip;
        at = (size_t) (t->written % t->cap);
        first = MIN(n, t->cap - at);
        memcpy(t->buf + at, p, first);
        memcpy(t->buf, p + first, n - first);
        t->written += n;
}

/* The ring's bytes in order, into out (len >= cap); returns how many. */
static size_t linearize(const TailRing *t, char *out) {
        size_t have = (size_t) MIN(t->written, (uint64_t) t->cap), start;

        if (have < t->cap) {
                memcpy(out, t->buf, have);
                return have;
        }
        start = (size_t) (t->written % t->cap);
        memcpy(out, t->buf + start, t->cap - start);
        memcpy(out + t->cap - start, t->buf, start);
        return have;
}

/*
 * Where the last Python traceback in s[0..end) starts, when it starts a line, is whole in the
 * ring and what follows it fits in `room`: a traceback that ends a process is kept whole even
 * past the line count.  end (past everything) when there is none.
 */
static size_t traceback_start(const char *s, size_t end, bool wrapped, size_t room) {
        static const char header[] = TAIL_TRACEBACK_HEADER;
        const char *p = s, *found = NULL;

        while ((p = memmem(p, (size_t) (s + end - p), header, sizeof header - 1))) {
                if (p > s ? p[-1] == '\n' : !wrapped)
                        found = p;
                p++;
        }
        if (!found || (size_t) (s + end - found) > room)
                return end;
        return (size_t) (found - s);
}

size_t tail_read(const TailRing *t, unsigned lines, char *out, size_t len) {
        char tmp[t->cap + 1];
        size_t n, begin, end;
        bool wrapped = t->written > t->cap;

        if (len == 0)
                return 0;
        out[0] = '\0';
        if (lines == 0 || t->cap == 0)
                return 0;
        n = linearize(t, tmp);
        end = n;
        if (end > 0 && tmp[end - 1] == '\n')
                end--;
        if (end == 0)
                return 0;
        /* walk back over `lines` lines, within what out can hold */
        begin = end;
        for (unsigned k = 0; k < lines; k++) {
                /* past the first line, leave out the '\n' that ends the one before it */
                size_t upto = k == 0 ? begin : begin - 1;
                const char *nl = upto > 0 ? memrchr(tmp, '\n', upto) : NULL;
                size_t b = nl ? (size_t) (nl - tmp) + 1 : 0;

                if (!nl && wrapped && k > 0)
                        break;            /* a line whose start was overwritten */
                if (end - b > len - 1) {
                        if (k == 0)
                                begin = end - (len - 1); /* the last line, its end at least */
                        break;
                }
                begin = b;
                if (!nl)
                        break;
        }
        begin = MIN(begin, traceback_start(tmp, end, wrapped, len - 1));
        n = end - begin;
        memcpy(out, tmp + begin, n);
        /* the text is a C string from here on: a NUL byte the worker wrote would cut it */
        for (char *c = out; (c = memchr(c, '\0', (size_t) (out + n - c))); c++)
                *c = '?';
        out[n] = '\0';
        return n;
}

size_t tail_indent(const char *text, const char *indent, char *out, size_t len) {
        size_t ilen = strlen(indent), n = 0, lines = 1, total;
        const char *p = text;

        if (len == 0)
                return 0;
        for (const char *c = text; *c; c++)
                lines += *c == '\n';
        /* leave out the oldest lines until the rest fits, the last one always */
        total = strlen(p) + lines * ilen;
        while (total >= len && strchr(p, '\n')) {
                const char *nl = strchr(p, '\n');

                total -= (size_t) (nl + 1 - p) + ilen;
                p = nl + 1;
        }
        while (*p && n + 1 < len) {
                const char *nl = strchrnul(p, '\n');
                size_t k = MIN(ilen, len - 1 - n);

                memcpy(out + n, indent, k);
                n += k;
                k = MIN((size_t) (nl - p), len - 1 - n);
                memcpy(out + n, p, k);
                n += k;
                if (!*nl || n + 1 >= len)
                        break;
                out[n++] = '\n';
                p = nl + 1;
        }
        out[n] = '\0';
        return n;
}

const char *tail_last_lines(const char *text, unsigned lines) {
        size_t n = strlen(text);

        if (lines == 0)
                return text;
        if (n > 0 && text[n - 1] == '\n')
                n--;
        for (unsigned k = 0; k < lines; k++) {
                const char *nl = n > 0 ? memrchr(text, '\n', n) : NULL;

                if (!nl)
                        return text;
                n = (size_t) (nl - text);
                if (k + 1 == lines)
                        return nl + 1;
        }
        return text;
}
