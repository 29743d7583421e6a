/*
 * Application error classification (see apperror.h).
 */
#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "apperror.h"
#include "macro.h"

static const char *const kind_names[_APPERR_MAX] = {
        [APPERR_NONE] = "none",
        [APPERR_JSON_LEVEL] = "json-level",
        [APPERR_TRACEBACK] = "traceback",
        [APPERR_MATCH] = "match",
};

const char *apperr_kind_to_string(AppErrorKind k) {
        return k >= 0 && k < _APPERR_MAX ? kind_names[k] : "unknown";
}

static bool starts_with(const char *s, size_t len, const char *prefix) {
        size_t n = strlen(prefix);

        return len >= n && memcmp(s, prefix, n) == 0;
}

static bool error_word(const char *s) {
        return strcasecmp(s, "error") == 0 || strcasecmp(s, "critical") == 0 ||
               strcasecmp(s, "fatal") == 0 || strcasecmp(s, "err") == 0 ||
               strcasecmp(s, "crit") == 0;
}

static bool error_level(json_t *v) {
        if (json_is_string(v))
                return error_word(json_string_value(v));
        /* pino: 50 error, 60 fatal */
        if (json_is_integer(v))
                return json_integer_value(v) == 50 || json_integer_value(v) == 60;
        return false;
}

bool apperr_json_level(const char *line, size_t len) {
        static const char *const keys[] = { "level", "levelname", "severity" };
        json_t *j;
        bool found = false;

        /* cheap pre-check before any parse: an object that names one of the keys */
        while (len > 0 && (*line == ' ' || *line == '\t')) {
                line++;
                len--;
        }
        if (len < 2 || line[0] != '{' || len > APPERR_LINE_MAX)
                return false;
        if (!memmem(line, len, "\"level", 6) && !memmem(line, len, "\"severity\"", 10))
                return false;
        j = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(j)) {
                json_decref(j);
                return false;
        }
        for (size_t k = 0; k < ELEMENTSOF(keys) && !found; k++)
                found = error_level(json_object_get(j, keys[k]));
        json_decref(j);
        return found;
}

/* A line of a traceback block after its header: the rest of the block, or not. */
static bool traceback_goes_on(AppErrorState *st, const char *line, size_t len) {
        if (st->tb == TB_FRAMES) {
                /* frames and their source lines are indented; the exception line is not */
                if (len > 0 && (line[0] == ' ' || line[0] == '\t'))
                        return true;
                st->tb = TB_AFTER;
                return true;
        }
        /* after the exception line: a chained traceback, or the end of the block */
        if (len == 0 || starts_with(line, len, "During handling of the above exception") ||
            starts_with(line, len, "The above exception was the direct cause"))
                return true;
        if (starts_with(line, len, APPERR_TRACEBACK_HEADER)) {
                st->tb = TB_FRAMES;
                return true;
        }
        st->tb = TB_OUTSIDE;
        return false;
}

AppErrorKind apperr_classify(AppErrorState *st, const AppErrorRules *r, const char *line,
                             size_t len, bool continuation) {
        AppErrorKind k = APPERR_NONE;

        if (continuation) {
                if (st->counted)
                        return APPERR_NONE;
        } else
                st->counted = false;
        len = MIN(len, (size_t) APPERR_LINE_MAX);
        if (r->traceback && !continuation) {
                if (st->tb != TB_OUTSIDE && traceback_goes_on(st, line, len))
                        return APPERR_NONE;
                if (starts_with(line, len, APPERR_TRACEBACK_HEADER)) {
                        st->tb = TB_FRAMES;
                        st->counted = true;
                        return APPERR_TRACEBACK;
                }
        }
        if (r->json_level && !continuation && apperr_json_level(line, len))
                k = APPERR_JSON_LEVEL;
        else if (r->match)
                k = APPERR_CANDIDATE;
        st->counted = k == APPERR_JSON_LEVEL;
        return k;
}
