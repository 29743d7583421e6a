/*
 * Application errors in worker output (see errscan.h).
 *
 * A line reaches the writer framed (logline.c): "[prefix][timestamp ][stderr: ]text", a piece
 * of a line longer than max-line ending with LOGLINE_SPLIT_MARKER.  The scanner takes the text
 * back out before classifying it, and tells the classifier which pieces continue a line, so a
 * split line counts once at most.  Only the first APPERR_LINE_MAX bytes of a line are looked at.
 *
 * Most lines are no error, and looking at each one (finding its end, classifying it, running
 * the regex on it) cost more than writing it.  So a run of lines is first searched as a whole
 * with one prefilter expression (JIT, multi-line) that finds every line that could count:
 * one holding '{' (json-level), the traceback header, the split marker, or a match of the
 * worker's own expression (its ^ and $ match at each line's start and end, as they do for one
 * line).  Only those lines, and the lines of a traceback block, go through errscan_line(); a
 * line the prefilter finds for nothing is only looked at again.  When upkeep frames lines
 * (timestamps, the stderr mark, the stdout prefix) and there is an expression, the expression
 * might be anchored at the worker's text, which the framing moves: every line goes through
 * errscan_line() then.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errscan.h"
#include "logline.h"
#include "macro.h"
#include "pcre2-dl.h"

struct ErrScan {
        AppErrorRules rules;
        AppErrorState state;
        pcre2_code *re;
        pcre2_match_data *md;
        bool fast;               /* runs of lines go through the prefilter */
        pcre2_code *pre;         /* the expression, multi-line; NULL: none */
        pcre2_match_data *pre_md;
        bool pre_jit;
        bool timestamps, mark;
        bool in_split;           /* the last piece ended with the split marker */
        size_t prefix_len;
        char prefix[96];
};

/*
 * The prefilter (see the top): the worker's expression again, multi-line, for runs of lines;
 * `fast` false when every line must be looked at.
 */
static void prefilter_new(ErrScan *e, const ErrorsConfig *cfg) {
        PCRE2_SIZE offset;
        int err;

        if (cfg->match && (e->timestamps || e->mark || e->prefix_len > 0))
                return;
        if (cfg->match) {
                e->pre = pcre2_compile((PCRE2_SPTR) cfg->match, PCRE2_ZERO_TERMINATED,
                                       PCRE2_MULTILINE, &err, &offset, NULL);
                if (!e->pre)
                        return;
                e->pre_jit = pcre2_jit_compile(e->pre, PCRE2_JIT_COMPLETE) == 0;
                e->pre_md = pcre2_match_data_create(1, NULL);
                if (!e->pre_md)
                        return;
        }
        e->fast = true;
}

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
        /* the configuration's check loaded PCRE2 already (config.c): this cannot fail then */
        if (cfg->match && pcre2_dl_load()) {
                free(e);
                return -ELIBACC;
        }
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
        prefilter_new(e, cfg);
        *ret = e;
        return 0;
}

ErrScan *errscan_free(ErrScan *e) {
        if (!e)
                return NULL;
        /* PCRE2 is loaded only when there is an expression (pcre2-dl.h) */
        if (e->pre_md)
                pcre2_match_data_free(e->pre_md);
        if (e->pre)
                pcre2_code_free(e->pre);
        if (e->md)
                pcre2_match_data_free(e->md);
        if (e->re)
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

/* A place in p[0..len) from `from` on where a line that could count is, or len: one search per
 * rule, each the fastest there is for it (memchr, memmem, the JIT). */
enum { FIND_SPLIT, FIND_JSON, FIND_TRACEBACK, FIND_MATCH, _FIND_MAX };

static size_t find(ErrScan *e, int what, const char *p, size_t len, size_t from) {
        static const char marker[] = LOGLINE_SPLIT_MARKER, header[] = APPERR_TRACEBACK_HEADER;
        const char *f = NULL;
        int r;

        switch (what) {
        case FIND_SPLIT:
                f = memmem(p + from, len - from, marker, sizeof marker - 1);
                break;
        case FIND_JSON:
                f = e->rules.json_level ? memchr(p + from, '{', len - from) : NULL;
                break;
        case FIND_TRACEBACK:
                f = e->rules.traceback ? memmem(p + from, len - from, header, sizeof header - 1)
                                       : NULL;
                break;
        default:
                if (!e->pre)
                        return len;
                r = e->pre_jit ? pcre2_jit_match(e->pre, (PCRE2_SPTR) p, len, from, 0, e->pre_md,
                                                 NULL)
                               : pcre2_match(e->pre, (PCRE2_SPTR) p, len, from, 0, e->pre_md,
                                             NULL);
                return r < 0 ? len : MIN((size_t) pcre2_get_ovector_pointer(e->pre_md)[0], len);
        }
        return f ? (size_t) (f - p) : len;
}

bool errscan_span(ErrScan *e, const char *p, size_t len, ErrScanResults *res) {
        size_t next[_FIND_MAX], at = 0;
        bool found = false;
        const char *nl;

        for (int k = 0; k < _FIND_MAX; k++)
                next[k] = SIZE_MAX; /* not searched yet */
        while (at < len) {
                /* outside a traceback and a split line, the lines no search finds are nothing
                 * (and change nothing of the state but `counted`) */
                if (e->fast && e->state.tb == TB_OUTSIDE && !e->in_split) {
                        size_t cand = len;

                        for (int k = 0; k < _FIND_MAX; k++) {
                                if (next[k] == SIZE_MAX || next[k] < at)
                                        next[k] = find(e, k, p, len, at);
                                cand = MIN(cand, next[k]);
                        }
                        if (cand > at) {
                                nl = memrchr(p + at, '\n', cand - at);
                                if (nl) {
                                        e->state.counted = false;
                                        at = (size_t) (nl - p) + 1;
                                }
                        }
                        if (at >= len || cand == len)
                                break;
                }
                nl = memchr(p + at, '\n', len - at);
                if (!nl)
                        break; /* cannot happen: len ends with a line's end */
                found |= errscan_line(e, p + at, (size_t) (nl - p) - at, res) != APPERR_NONE;
                at = (size_t) (nl - p) + 1;
        }
        return found;
}
