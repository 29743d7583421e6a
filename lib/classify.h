/*
 * Classification of one health-probe answer into healthy, degraded or unhealthy.  Pure: the
 * probe code hands over the HTTP status and the (capped) body; unit tests call it directly.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef enum HealthClass {
        HEALTH_UNKNOWN,   /* no answer yet */
        HEALTH_HEALTHY,
        HEALTH_DEGRADED,
        HEALTH_UNHEALTHY,
        _HEALTH_MAX,
        _HEALTH_INVALID = -1,
} HealthClass;

/* A reason fits in this many bytes, the NUL included. */
#define HEALTH_REASON_MAX 96

/*
 * A worker's own status words and where its answer keeps the status.  Its words are looked up
 * before the built-in ones, so they can also move a built-in word to another class.
 */
typedef struct HealthWords {
        char **healthy, **degraded, **unhealthy; /* strv, NULL: none */
        char *field;   /* a JSON pointer (RFC 6901); NULL: "/status" */
} HealthWords;

/*
 * http_code >= 400 (or below 200): unhealthy.  2xx/3xx: the status word decides, compared
 * without case and with '-' and ' ' taken as '_': the string at `field` of a JSON body, or the
 * whole body when it is not JSON (ASP.NET Core's plain-text writer).  The worker's words first,
 * then the built-in ones (healthy: pass ok up healthy ...; degraded: warn warning degraded
 * maintenance starting unknown ...; unhealthy: fail down unhealthy error critical fatal
 * unavailable out_of_service ...).  A JSON status word in neither list is degraded, the word in
 * the reason: an app's own word for a bad state must not pass for healthy.  No JSON status (and
 * no status-field configured), a status that is not a string, a plain-text body that is not a
 * known word, or a body cut at the cap: healthy.  A configured `field` absent from a JSON
 * answer: degraded.  `words` may be NULL.  `reason` (HEALTH_REASON_MAX bytes) gets a
 * description for status output, "" when healthy.
 */
HealthClass health_classify(const HealthWords *words, long http_code, const char *body,
                            size_t len, bool truncated, char reason[static HEALTH_REASON_MAX]);

/* The class of one status word (as above), or _HEALTH_INVALID for an unknown one. */
HealthClass health_word_class(const HealthWords *words, const char *w, size_t len);

/* Is `p` a JSON pointer health_classify() can follow ("" or "/a/b", ~0 and ~1 escapes only)? */
bool health_field_valid(const char *p);

const char *health_class_to_string(HealthClass c);
