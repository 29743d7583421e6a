/*
 * libFuzzer harness: the application error classifier, apperr_classify(), and the crash context
 * ring, tail_feed()/tail_read().  The input is cut into lines at '\n' and each line classified
 * in turn with the rules the first byte chooses (continuations when the second byte's bits say
 * so); the same bytes go through a small tail ring in chunks the third byte sizes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apperror.h"
#include "tailring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        AppErrorState st = {};
        AppErrorRules r;
        char ring[97], out[130];
        const char *p, *end;
        TailRing t;
        size_t chunk;
        unsigned k = 0;

        if (size < 3)
                return -1;
        r = (AppErrorRules) { .json_level = data[0] & 1, .traceback = data[0] & 2,
                              .match = data[0] & 4 };
        chunk = 1 + data[2] % 64;
        p = (const char *) data + 3;
        end = (const char *) data + size;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t len = nl ? (size_t) (nl - p) : (size_t) (end - p);
                AppErrorKind c = apperr_classify(&st, &r, p, len, (data[1] >> (k++ % 8)) & 1);

                if (c < APPERR_NONE || c > APPERR_CANDIDATE)
                        abort();
                if (c == APPERR_CANDIDATE && !r.match)
                        abort();
                if (c == APPERR_JSON_LEVEL && !r.json_level)
                        abort();
                if (c == APPERR_TRACEBACK && !r.traceback)
                        abort();
                p += len + 1;
        }
        tail_init(&t, ring, sizeof ring);
        for (p = (const char *) data + 3; p < end; p += chunk)
                tail_feed(&t, p, (size_t) (end - p) < chunk ? (size_t) (end - p) : chunk);
        if (tail_read(&t, data[1] % 8, out, sizeof out) != strlen(out))
                abort();
        if (strlen(tail_last_lines(out, data[0] >> 4)) > strlen(out))
                abort();
        return 0;
}
