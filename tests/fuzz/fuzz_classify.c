/*
 * libFuzzer harness: the health-answer classifier, health_classify().  The first three bytes
 * choose the HTTP status (0..1023) and whether the body was cut at the cap; the rest is the body.
 */
#include <stdint.h>
#include <stdlib.h>

#include "classify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *reason = (const char *) 1;
        HealthClass c;
        long code;

        if (size < 3)
                return -1;
        code = ((long) data[0] << 8 | data[1]) & 1023;
        c = health_classify(code, (const char *) data + 3, size - 3, data[2] & 1, &reason);
        if (c != HEALTH_HEALTHY && c != HEALTH_DEGRADED && c != HEALTH_UNHEALTHY)
                abort();
        if (reason == (const char *) 1 || (c != HEALTH_HEALTHY && !reason))
                abort();
        if ((code >= 400 || code < 200) && c != HEALTH_UNHEALTHY)
                abort();
        (void) health_class_to_string(c);
        return 0;
}
