/*
 * The values of an instance's cgroup files (see cgvalues.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgvalues.h"

uint64_t cg_memory_max(uint64_t memory_limit) {
        uint64_t headroom = memory_limit / 4;

        if (memory_limit == 0)
                return 0;
        if (headroom < CG_MEMORY_HEADROOM_MIN)
                headroom = CG_MEMORY_HEADROOM_MIN;
        return memory_limit > UINT64_MAX - headroom ? UINT64_MAX : memory_limit + headroom;
}

static void bytes_or_max(char *buf, size_t len, uint64_t v) {
        if (v == 0)
                snprintf(buf, len, "max");
        else
                snprintf(buf, len, "%" PRIu64, v);
}

void cg_values(uint64_t memory_limit, bool restart, double cpu_limit, CgValues *ret) {
        bytes_or_max(ret->memory_max, sizeof ret->memory_max, cg_memory_max(memory_limit));
        bytes_or_max(ret->memory_high, sizeof ret->memory_high, restart ? memory_limit : 0);
        snprintf(ret->oom_group, sizeof ret->oom_group, "%d", memory_limit > 0);
        if (cpu_limit > 0) {
                /* percent of one CPU: of the period, rounded; the kernel takes no quota under
                 * 1 ms */
                uint64_t quota = (uint64_t) (cpu_limit * (CG_CPU_PERIOD / 100) + 0.5);

                snprintf(ret->cpu_max, sizeof ret->cpu_max, "%" PRIu64 " %d",
                         quota < 1000 ? 1000 : quota, CG_CPU_PERIOD);
        } else
                snprintf(ret->cpu_max, sizeof ret->cpu_max, "max %d", CG_CPU_PERIOD);
}

/* The value of the line "key N" of a flat-keyed cgroup file; false when absent. */
static bool flat_key(const char *text, const char *key, uint64_t *ret) {
        size_t len = strlen(key);

        for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
                char *end;

                if (strncmp(l, key, len) != 0 || l[len] != ' ')
                        continue;
                errno = 0;
                *ret = strtoull(l + len + 1, &end, 10);
                return errno == 0 && end != l + len + 1 && (*end == '\n' || *end == '\0');
        }
        return false;
}

int cg_parse_oom_kills(const char *events, uint64_t *ret) {
        uint64_t kills = 0, group = 0;
        bool a = flat_key(events, "oom_kill", &kills), b = flat_key(events, "oom_group_kill", &group);

        if (!a && !b)
                return -EINVAL;
        *ret = kills + group;
        return 0;
}
