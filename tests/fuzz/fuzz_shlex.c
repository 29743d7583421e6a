/*
 * libFuzzer harness: shlex_split() and argv_join_quoted().  Whatever shlex_split() accepts, the
 * words written quoted must come back unchanged through argv_split(), upkeep's own splitting:
 * that is what the supervisord import relies on when it rewrites a command.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "parse.h"
#include "shlex.h"
#include "strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *line = strndup((const char *) data, size), *q = NULL;
        _cleanup_strv_free_ char **words = NULL, **back = NULL;
        const char *err = NULL;
        int r;

        if (!line)
                return 0;
        r = shlex_split(line, &words, &err);
        if (r == -ENOMEM)
                return 0;
        if (r < 0) {
                if (!err || words)
                        abort();
                return 0;
        }
        if (strv_length(words) == 0)
                return 0;
        q = argv_join_quoted(words);
        if (!q)
                return 0;
        r = argv_split(q, &back, &err);
        if (r == -ENOMEM)
                return 0;
        if (r < 0 || !strv_equal(words, back))
                abort();
        return 0;
}
