/*
 * ready = "log:REGEX": a compiled PCRE2 pattern and the match of one output line against it.
 * Its own module, so the rest of the readiness knows nothing of PCRE2.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct ReadyLog ReadyLog;

/* NULL when out of memory or the pattern does not compile (the configuration checked it). */
ReadyLog *readylog_new(const char *pattern);
ReadyLog *readylog_free(ReadyLog *l);
/* Does this line (len bytes, no newline) match? */
bool readylog_match(ReadyLog *l, const char *line, size_t len);
