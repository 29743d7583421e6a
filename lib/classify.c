/*
 * Health answer classifier (see classify.h).  The status word vocabulary is the union of the
 * IETF health-check draft (pass/warn/fail), Spring Boot (UP/DOWN), ASP.NET Core
 * (Healthy/Degraded/Unhealthy) and the common FastAPI shape {"status": "healthy"}.  A status
 * code of 400 or more wins over any body; a body we cannot read never makes a worker unhealthy,
 * as with Kubernetes, which ignores bodies altogether.
 */
#include <ctype.h>
#include <jansson.h>
#include <string.h>
#include <strings.h>

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

static const struct {
        const char *word;
        HealthClass class;
} words[] = {
        { "pass", HEALTH_HEALTHY },      { "ok", HEALTH_HEALTHY },
        { "up", HEALTH_HEALTHY },        { "healthy", HEALTH_HEALTHY },
        { "warn", HEALTH_DEGRADED },     { "degraded", HEALTH_DEGRADED },
        { "fail", HEALTH_UNHEALTHY },    { "down", HEALTH_UNHEALTHY },
        { "unhealthy", HEALTH_UNHEALTHY }, { "error", HEALTH_UNHEALTHY },
};

static HealthClass classify_word(const char *w, size_t len) {
        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if (strlen(words[i].word) == len && strncasecmp(words[i].word, w, len) == 0)
                        return words[i].class;
        return _HEALTH_INVALID;
}

static HealthClass from_word(HealthClass c, const char **ret_reason) {
        switch (c) {
        case HEALTH_DEGRADED:
                *ret_reason = "status says degraded";
                return c;
        case HEALTH_UNHEALTHY:
                *ret_reason = "status says unhealthy";
                return c;
        default:
                *ret_reason = NULL;
                return HEALTH_HEALTHY;
        }
}

HealthClass health_classify(long http_code, const char *body, size_t len, bool truncated,
                            const char **ret_reason) {
        json_t *root, *st;
        HealthClass c = _HEALTH_INVALID;

        if (http_code >= 400 || http_code < 200) {
                *ret_reason = http_code >= 500 ? "HTTP server error"
                              : http_code >= 400 ? "HTTP client error"
                                                 : "no valid HTTP status";
                return HEALTH_UNHEALTHY;
        }
        *ret_reason = NULL;
        if (truncated || !body || len == 0)
                return HEALTH_HEALTHY;

        root = json_loadb(body, len, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, NULL);
        if (root) {
                st = json_is_object(root) ? json_object_get(root, "status") : NULL;
                if (json_is_string(st))
                        c = classify_word(json_string_value(st), json_string_length(st));
                json_decref(root);
                return from_word(c, ret_reason);
        }

        /* a bare word, as ASP.NET Core's default writer sends */
        while (len > 0 && isspace((unsigned char) body[len - 1]))
                len--;
        while (len > 0 && isspace((unsigned char) *body))
                body++, len--;
        return from_word(classify_word(body, len), ret_reason);
}
