/*
 * Health answer classifier (see classify.h).  The built-in vocabulary is the union of the IETF
 * health-check draft (pass/warn/fail), Spring Boot actuator (UP/DOWN/OUT_OF_SERVICE/UNKNOWN),
 * ASP.NET Core (Healthy/Degraded/Unhealthy), django-health-check and the words real apps put in
 * their own dicts (ok, critical, fatal, unavailable, maintenance, ...).  A status code of 400 or
 * more wins over any body; a body we cannot read never makes a worker unhealthy, as with
 * Kubernetes, which ignores bodies altogether; but a status word we do not know is degraded,
 * never silently healthy.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "macro.h"

const char *health_class_to_string(HealthClass c) {
        switch (c) {
        case HEALTH_HEALTHY: return "healthy";
        case HEALTH_DEGRADED: return "degraded";
        case HEALTH_UNHEALTHY: return "unhealthy";
        default: return "unknown";
        }
}

static const char *const builtin_healthy[] = {
        "pass", "ok", "up", "healthy", "green", "running", "ready", "alive", "good", "online",
        "available", "operational", "success", NULL,
};
static const char *const builtin_degraded[] = {
        "warn", "warning", "warnings", "degraded", "yellow", "maintenance", "starting",
        "unknown", "partial", "partial_outage", NULL,
};
static const char *const builtin_unhealthy[] = {
        "fail", "failed", "failure", "down", "unhealthy", "error", "critical", "fatal",
        "unavailable", "out_of_service", "red", "dead", "offline", "ko", "major_outage", NULL,
};

/* Same word: case aside, and '-' or ' ' as '_' (OUT_OF_SERVICE, out-of-service). */
static char fold(char c) {
        return c == '-' || c == ' ' ? '_' : (char) tolower((unsigned char) c);
}

static bool word_eq(const char *known, const char *w, size_t len) {
        size_t i;

        for (i = 0; i < len && known[i]; i++)
                if (fold(known[i]) != fold(w[i]))
                        return false;
        return i == len && !known[i];
}

static bool in_list(const char *const *l, const char *w, size_t len) {
        for (; l && *l; l++)
                if (word_eq(*l, w, len))
                        return true;
        return false;
}

HealthClass health_word_class(const HealthWords *words, const char *w, size_t len) {
        if (words) {
                if (in_list((const char *const *) words->healthy, w, len))
                        return HEALTH_HEALTHY;
                if (in_list((const char *const *) words->degraded, w, len))
                        return HEALTH_DEGRADED;
                if (in_list((const char *const *) words->unhealthy, w, len))
                        return HEALTH_UNHEALTHY;
        }
        if (in_list(builtin_healthy, w, len))
                return HEALTH_HEALTHY;
        if (in_list(builtin_degraded, w, len))
                return HEALTH_DEGRADED;
        if (in_list(builtin_unhealthy, w, len))
                return HEALTH_UNHEALTHY;
        return _HEALTH_INVALID;
}

bool health_field_valid(const char *p) {
        if (!p || (*p && *p != '/'))
                return false;
        for (; *p; p++)
                if (*p == '~' && p[1] != '0' && p[1] != '1')
                        return false;
        return true;
}

/* One reference token of a JSON pointer, unescaped (~1 is '/', ~0 is '~'), into buf. */
static const char *next_token(const char *p, char *buf, size_t size, size_t *ret_len) {
        size_t n = 0;

        for (; *p && *p != '/'; p++) {
                char c = *p;

                if (c == '~') {
                        c = p[1] == '1' ? '/' : '~';
                        p++;
                }
                if (n + 1 < size)
                        buf[n++] = c;
        }
        buf[n] = '\0';
        *ret_len = n;
        return p;
}

/* RFC 6901: follow `ptr` from `root`; NULL when a step is missing. */
static json_t *json_pointer_get(json_t *root, const char *ptr) {
        char tok[256];
        size_t len;

        while (root && *ptr == '/') {
                ptr = next_token(ptr + 1, tok, sizeof tok, &len);
                if (json_is_object(root))
                        root = json_object_getn(root, tok, len);
                else if (json_is_array(root)) {
                        char *end;
                        unsigned long i;

                        /* array indices: digits only, no leading zero (RFC 6901 section 4) */
                        if (len == 0 || !isdigit((unsigned char) tok[0]) ||
                            (tok[0] == '0' && len > 1))
                                return NULL;
                        i = strtoul(tok, &end, 10);
                        root = *end ? NULL : json_array_get(root, i);
                } else
                        return NULL;
        }
        return root;
}

/* The word as the reason shows it: at most 32 bytes, anything unprintable as '?'. */
static void quote_word(const char *w, size_t len, char *buf, size_t size) {
        size_t n = MIN(len, (size_t) 32);

        for (size_t i = 0; i < n && i + 1 < size; i++)
                buf[i] = isprint((unsigned char) w[i]) ? w[i] : '?';
        buf[MIN(n, size - 1)] = '\0';
}

static HealthClass from_word(HealthClass c, const char *w, size_t len, bool unknown_degrades,
                             char *reason) {
        char shown[40];

        quote_word(w, len, shown, sizeof shown);
        switch (c) {
        case HEALTH_HEALTHY:
                return c;
        case HEALTH_DEGRADED:
        case HEALTH_UNHEALTHY:
                snprintf(reason, HEALTH_REASON_MAX, "status says %s (\"%s\")",
                         health_class_to_string(c), shown);
                return c;
        default:
                if (!unknown_degrades)
                        return HEALTH_HEALTHY;
                snprintf(reason, HEALTH_REASON_MAX, "unknown status word \"%s\"", shown);
                return HEALTH_DEGRADED;
        }
}

static HealthClass classify_json(const HealthWords *words, json_t *root, char *reason) {
        const char *field = words && words->field ? words->field : "/status";
        json_t *st = json_pointer_get(root, field);

        if (!st) {
                if (!words || !words->field)
                        return HEALTH_HEALTHY;
                snprintf(reason, HEALTH_REASON_MAX, "no status at %.60s", field);
                return HEALTH_DEGRADED;
        }
        if (!json_is_string(st))
                return HEALTH_HEALTHY;
        return from_word(health_word_class(words, json_string_value(st), json_string_length(st)),
                         json_string_value(st), json_string_length(st), true, reason);
}

HealthClass health_classify(const HealthWords *words, long http_code, const char *body,
                            size_t len, bool truncated, char reason[static HEALTH_REASON_MAX]) {
        json_t *root;
        HealthClass c;

        reason[0] = '\0';
        if (http_code >= 400 || http_code < 200) {
                snprintf(reason, HEALTH_REASON_MAX, "%s",
                         http_code >= 500   ? "HTTP server error"
                         : http_code >= 400 ? "HTTP client error"
                                            : "no valid HTTP status");
                return HEALTH_UNHEALTHY;
        }
        if (truncated || !body || len == 0)
                return HEALTH_HEALTHY;

        root = json_loadb(body, len, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, NULL);
        if (root) {
                c = json_is_object(root) || json_is_array(root)
                            ? classify_json(words, root, reason)
                            : HEALTH_HEALTHY;
                json_decref(root);
                return c;
        }

        /* a bare word, as ASP.NET Core's default writer sends; prose is not a status */
        while (len > 0 && isspace((unsigned char) body[len - 1]))
                len--;
        while (len > 0 && isspace((unsigned char) *body))
                body++, len--;
        return from_word(health_word_class(words, body, len), body, len, false, reason);
}
