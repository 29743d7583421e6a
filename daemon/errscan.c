/*
 * Application errors in worker output (see errscan.h).
 *
 * A line reaches the writer framed (logline.c): "[prefix][timestamp ][stderr: ]text", a piece
 * of a line longer than max-line ending with LOGLINE_SPLIT_MARKER.  The scanner takes the text
 * back out before classifying it, and tells the classifier which pieces continue a line, so a
 * split line counts once at most.  Only the first APPERR_LINE_MAX bytes of a line are looked at.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "errscan.h"
#include "logline.h"
#include "macro.h"

struct ErrScan {
        AppErrorRules rules;
        AppErrorState state;
        pcre2_code *re;
        pcre2_match_data *md;
        bool timestamps, mark;
        bool in_split;           /* the last piece ended with the split marker */
        size_t prefix_len;
        char prefix[96];
};

int errscan_new(const ErrorsConfig *cfg, const LogConfig *log, const char *prefix,
                ErrScan **ret) {
        ErrScan *e;
        PCRE2_SIZE offset;
        int err;

        *ret = NULL;
        if (!cfg || !cfg->enabled)
                return 0;
        e = calloc(1, sizeof(ErrScan));
        if (!e)
                return -ENOMEM;
        e->rules = (AppErrorRules) {
                .json_level = cfg->json_level,
                .traceback = cfg->traceback,
                .match = cfg->match != NULL,
        };
        e->timestamps = log->timestamps;
        e->mark = log->stderr_mode == STDERR_MARK;
        e->prefix_len = strlen(prefix ?: "");
        if (e->prefix_len >= sizeof e->prefix)
                e->prefix_len = 0;
        memcpy(e->prefix, prefix ?: "", e->prefix_len);
        if (cfg->match) {
                e->re = pcre2_compile((PCRE2_SPTR) cfg->match, PCRE2_ZERO_TERMINATED, 0, &err,
                                      &offset, NULL);
                if (!e->re) {
                        free(e);
                        return -EINVAL;
                }
                /* the JIT is an optimisation: without it (no executable memory) it still works */
                (void) pcre2_jit_compile(e->re, PCRE2_JIT_COMPLETE);
                e->md = pcre2_match_data_create_from_pattern(e->re, NULL);
                if (!e->md) {
                        pcre2_code_free(e->re);
                        free(e);
                        return -ENOMEM;
                }
        }
        *ret = e;
        return 0;
}

ErrScan *errscan_free(ErrScan *e) {
        if (!e)
                return NULL;
        pcre2_match_data_free(e->md);
        pcre2_code_free(e->re);
        free(e);
        return NULL;
}

static bool skip(const char **p, size_t *len, const char *what, size_t n) {
        if (*len < n || memcmp(*p, what, n) != 0)
                return false;
        *p += n;
        *len -= n;
        return true;
}

/* The worker's own text of a framed line. */
static void unframe(const ErrScan *e, const char **p, size_t *len) {
        const char *sp;

        (void) skip(p, len, e->prefix, e->prefix_len);
        if (e->timestamps && (sp = memchr(*p, ' ', MIN(*len, (size_t) LOGLINE_TIMESTAMP_MAX))))
                (void) skip(p, len, *p, (size_t) (sp - *p) + 1);
        if (e->mark)
                (void) skip(p, len, LOGLINE_STDERR_TAG, strlen(LOGLINE_STDERR_TAG));
}

static void record(ErrScanResults *res, AppErrorKind k, const char *text, size_t len) {
        atomic_fetch_add(&res->count[k], 1);
        len = MIN(len, sizeof res->last - 1);
        pthread_mutex_lock(&res->lock);
        memcpy(res->last, text, len);
        res->last[len] = '\0';
        res->last_kind = k;
        pthread_mutex_unlock(&res->lock);
}

AppErrorKind errscan_line(ErrScan *e, const char *line, size_t len, ErrScanResults *res) {
        static const size_t marker_len = sizeof LOGLINE_SPLIT_MARKER - 1;
        bool continuation = e->in_split;
        AppErrorKind k;
        int r;

        e->in_split = len >= marker_len &&
                      memcmp(line + len - marker_len, LOGLINE_SPLIT_MARKER, marker_len) == 0;
        if (e->in_split)
                len -= marker_len;
        unframe(e, &line, &len);
        len = MIN(len, (size_t) APPERR_LINE_MAX);
        bool in_frames = e->state.tb == TB_FRAMES;

        k = apperr_classify(&e->state, &e->rules, line, len, continuation);
        if (in_frames && e->state.tb == TB_AFTER) {
                /* the exception line of the traceback counted at its header says the most */
                pthread_mutex_lock(&res->lock);
                memcpy(res->last, line, MIN(len, sizeof res->last - 1));
                res->last[MIN(len, sizeof res->last - 1)] = '\0';
                pthread_mutex_unlock(&res->lock);
        }
        if (k == APPERR_CANDIDATE) {
                r = pcre2_match(e->re, (PCRE2_SPTR) line, len, 0, 0, e->md, NULL);
                k = r >= 0 ? APPERR_MATCH : APPERR_NONE;
                if (k == APPERR_MATCH)
                        e->state.counted = true;
        }
        if (k != APPERR_NONE)
                record(res, k, line, len);
        return k;
}
