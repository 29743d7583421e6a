/*
 * What an application error looks like in a worker's output (errors { } of a worker): the
 * classification of one line of output, in order, against the rules a worker declared.
 *
 *   traceback   a Python "Traceback (most recent call last):" block counts once, at its first
 *               line, however many lines follow (indented frames, the exception line, chained
 *               "During handling of the above exception..." tracebacks); no other rule sees
 *               those lines;
 *   json-level  a JSON object line whose "level", "levelname" or "severity" is error, critical
 *               or fatal (any case), or pino's 50 and 60;
 *   match       a regular expression (PCRE2, in daemon/): the caller matches the lines this
 *               part says are still candidates (APPERR_CANDIDATE).
 *
 * Pure: no allocation of its own but jansson's for a line that passed a cheap pre-check, no
 * I/O.  The caller gives lines without their '\n' and tells when a line continues the last
 * (a piece after a max-line split): a continuation never counts again.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef enum AppErrorKind {
        APPERR_NONE,
        APPERR_JSON_LEVEL,
        APPERR_TRACEBACK,
        APPERR_MATCH,
        _APPERR_MAX,
        APPERR_CANDIDATE = _APPERR_MAX, /* nothing yet: the caller's regex decides */
} AppErrorKind;

typedef struct AppErrorRules {
        bool json_level;
        bool traceback;
        bool match;        /* the caller has a regex */
} AppErrorRules;

typedef enum TracebackState {
        TB_OUTSIDE,
        TB_FRAMES,         /* after the header: indented frames until the exception line */
        TB_AFTER,          /* after the exception line: a chained traceback may follow */
} TracebackState;

typedef struct AppErrorState {
        TracebackState tb;
        bool counted;      /* the line being continued (max-line pieces) was counted already */
} AppErrorState;

#define APPERR_TRACEBACK_HEADER "Traceback (most recent call last):"

/* Longest part of a line that is looked at: enough for any log line's level and message. */
#define APPERR_LINE_MAX 8192

AppErrorKind apperr_classify(AppErrorState *st, const AppErrorRules *r, const char *line,
                             size_t len, bool continuation);
/* The level a JSON line declares is an error (json-level alone, for tests). */
bool apperr_json_level(const char *line, size_t len);

const char *apperr_kind_to_string(AppErrorKind k);
