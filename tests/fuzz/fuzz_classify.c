/*
 * libFuzzer harness: the health-answer classifier, health_classify().  The first three bytes
 * choose the HTTP status (0..1023) and whether the body was cut at the cap; the rest is the body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char reason[HEALTH_REASON_MAX];
        HealthClass c;
        long code;

        if (size < 3)
                return -1;
        code = ((long) data[0] << 8 | data[1]) & 1023;
        static char *custom[] = { (char *) "critical", NULL };
        static const HealthWords words = { .unhealthy = custom, .field = (char *) "/data/0/status" };

        memset(reason, 1, sizeof reason);
        c = health_classify(data[2] & 2 ? &words : NULL, code, (const char *) data + 3, size - 3,
                            data[2] & 1, reason);
        if (c != HEALTH_HEALTHY && c != HEALTH_DEGRADED && c != HEALTH_UNHEALTHY)
                abort();
        if (!memchr(reason, '\0', sizeof reason) || (c != HEALTH_HEALTHY && !reason[0]))
                abort();
        if ((code >= 400 || code < 200) && c != HEALTH_UNHEALTHY)
                abort();
        (void) health_class_to_string(c);
        return 0;
}
