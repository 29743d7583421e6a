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

/*
 * http_code >= 400: unhealthy.  2xx/3xx: the JSON body's "status" (or a bare-word body) decides,
 * case-insensitively: pass|ok|up|healthy -> healthy; warn|degraded -> degraded;
 * fail|down|unhealthy|error -> unhealthy; anything else, no JSON, no status, or a body cut at the
 * cap -> healthy.  *ret_reason is a static description for status output.
 */
HealthClass health_classify(long http_code, const char *body, size_t len, bool truncated,
                            const char **ret_reason);

const char *health_class_to_string(HealthClass c);
