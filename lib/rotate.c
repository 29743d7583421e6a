/*
 * Log rotation arithmetic (see rotate.h).  Kept apart from the writer so the unit tests can
 * check names, plans and cut points without touching a file system.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rotate.h"

int rotate_name(char *buf, size_t len, const char *base, unsigned index, bool gz) {
        int n;

        if (index == 0)
                n = snprintf(buf, len, "%s", base);
        else
                n = snprintf(buf, len, "%s.%u%s", base, index, gz ? ".gz" : "");
        return n < 0 || (size_t) n >= len ? -ENAMETOOLONG : 0;
}

int rotate_parse_name(const char *base, const char *entry, unsigned *ret_index, bool *ret_gz) {
        size_t l = strlen(base);
        unsigned long v;
        char *end;

        if (strncmp(entry, base, l) != 0 || entry[l] != '.' || entry[l + 1] < '1' ||
            entry[l + 1] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(entry + l + 1, &end, 10);
        if (errno != 0 || v > ROTATE_MAX_INDEX)
                return -EINVAL;
        if (*end == '\0')
                *ret_gz = false;
        else if (strcmp(end, ".gz") == 0)
                *ret_gz = true;
        else
                return -EINVAL;
        *ret_index = (unsigned) v;
        return 0;
}

static void add(RotateOp *ops, size_t n, size_t *k, RotateOp op) {
        if (*k < n)
                ops[*k] = op;
        (*k)++;
}

size_t rotate_plan(unsigned keep, unsigned highest, RotateOp *ops, size_t n) {
        size_t k = 0;

        /* archives that would end up beyond keep: keep itself is about to be overwritten */
        for (unsigned i = highest; i >= MAX(keep, 1u) && i > 0; i--) {
                add(ops, n, &k, (RotateOp) { ROTATE_UNLINK, i, 0, false });
                add(ops, n, &k, (RotateOp) { ROTATE_UNLINK, i, 0, true });
        }
        for (unsigned i = MIN(highest, keep > 0 ? keep - 1 : 0); i >= 1; i--) {
                add(ops, n, &k, (RotateOp) { ROTATE_RENAME, i, i + 1, false });
                add(ops, n, &k, (RotateOp) { ROTATE_RENAME, i, i + 1, true });
        }
        if (keep > 0)
                add(ops, n, &k, (RotateOp) { ROTATE_RENAME, 0, 1, false });
        else
                add(ops, n, &k, (RotateOp) { ROTATE_UNLINK, 0, 0, false });
        return k;
}

/* The offset just past the last '\n' within the first `limit` bytes of a then b, or 0. */
static size_t last_line_end(const char *a, size_t alen, const char *b, size_t blen,
                            size_t limit) {
        const char *nl;

        if (limit > alen && blen > 0) {
                nl = memrchr(b, '\n', MIN(limit - alen, blen));
                if (nl)
                        return alen + (size_t) (nl - b) + 1;
        }
        if (alen > 0) {
                nl = memrchr(a, '\n', MIN(limit, alen));
                if (nl)
                        return (size_t) (nl - a) + 1;
        }
        return 0;
}

static size_t first_line_end(const char *a, size_t alen, const char *b, size_t blen) {
        const char *nl = alen > 0 ? memchr(a, '\n', alen) : NULL;

        if (nl)
                return (size_t) (nl - a) + 1;
        nl = blen > 0 ? memchr(b, '\n', blen) : NULL;
        return nl ? alen + (size_t) (nl - b) + 1 : alen + blen;
}

size_t rotate_cut(const char *a, size_t alen, const char *b, size_t blen, uint64_t size,
                  uint64_t max_size, bool *ret_rotate) {
        uint64_t total = (uint64_t) alen + blen;
        size_t k;

        *ret_rotate = false;
        if (max_size == 0 || size + total <= max_size)
                return (size_t) total;
        if (size < max_size) {
                k = last_line_end(a, alen, b, blen, (size_t) (max_size - size));
                if (k > 0)
                        return k;
        }
        if (size > 0) {
                *ret_rotate = true;
                return 0;
        }
        /* an empty file and a first line longer than the limit: it goes alone, whole */
        return first_line_end(a, alen, b, blen);
}

usec_t rotate_next_boundary(usec_t now, long gmtoff, usec_t period) {
        int64_t off = (int64_t) gmtoff * (int64_t) USEC_PER_SEC;
        uint64_t local = (uint64_t) ((int64_t) now + off);

        if (period == 0)
                return USEC_INFINITY;
        return (usec_t) ((int64_t) ((local / period + 1) * period) - off);
}
