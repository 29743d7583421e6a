/*
 * ready = "log:REGEX" (see readylog.h).  The pattern is compiled once per run of an instance
 * and matched against each line until one matches; a line that is not valid UTF-8 is matched
 * without the UTF check failing it (PCRE2_NO_UTF_CHECK is not given: an invalid line simply
 * does not match).
 */
#include <stdlib.h>

#include "pcre2-dl.h"
#include "readylog.h"

struct ReadyLog {
        pcre2_code *re;
        pcre2_match_data *md;
};

ReadyLog *readylog_new(const char *pattern) {
        ReadyLog *l = calloc(1, sizeof(ReadyLog));
        PCRE2_SIZE at;
        int err;

        /* the configuration's check loaded PCRE2 already (config.c) */
        if (!l || pcre2_dl_load()) {
                free(l);
                return NULL;
        }
        l->re = pcre2_compile((PCRE2_SPTR) pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &at,
                              NULL);
        if (l->re)
                l->md = pcre2_match_data_create_from_pattern(l->re, NULL);
        if (!l->md)
                return readylog_free(l);
        return l;
}

ReadyLog *readylog_free(ReadyLog *l) {
        if (!l)
                return NULL;
        if (l->md)
                pcre2_match_data_free(l->md);
        if (l->re)
                pcre2_code_free(l->re);
        free(l);
        return NULL;
}

bool readylog_match(ReadyLog *l, const char *line, size_t len) {
        return pcre2_match(l->re, (PCRE2_SPTR) line, len, 0, 0, l->md, NULL) >= 0;
}
