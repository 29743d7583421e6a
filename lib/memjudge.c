/*
 * Memory samples into verdicts (see memjudge.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "memjudge.h"
#include "parse.h"

int memory_action_parse(const char *s, MemoryAction *ret, int *ret_signal) {
        int sig = 0;

        if (strcmp(s, "restart") == 0)
                *ret = MEMORY_RESTART;
        else if (strcmp(s, "alert") == 0)
                *ret = MEMORY_ALERT;
        else if (strncmp(s, "signal ", 7) == 0 && s[7] && parse_signal(s + 7, &sig) == 0)
                *ret = MEMORY_SIGNAL;
        else
                return -EINVAL;
        *ret_signal = sig;
        return 0;
}

MemVerdict memjudge_step(MemJudge *j, const MemLimits *l, uint64_t bytes, bool starting,
                         usec_t now) {
        if (starting) {
                /* a start may allocate its caches: neither warned about nor held against it */
                j->over = 0;
                return MEMV_NONE;
        }
        if (l->limit > 0 && bytes > l->limit) {
                if (j->over++ == 0)
                        j->over_since = now;
                if (j->over >= MAX(l->samples, 1U)) {
                        j->over = 0;
                        return MEMV_ACT;
                }
        } else
                j->over = 0;
        if (l->warn > 0 && bytes > l->warn && !j->warned) {
                j->warned = true;
                return MEMV_WARN;
        }
        if (l->warn > 0 && bytes <= l->warn && j->warned) {
                j->warned = false;
                return MEMV_WARN_CLEARED;
        }
        return MEMV_NONE;
}

bool cpujudge_step(CpuJudge *j, double percent, double warn, usec_t span, bool starting,
                   usec_t now) {
        if (starting || warn <= 0 || percent <= warn) {
                *j = (CpuJudge) {};
                return false;
        }
        if (!j->over) {
                j->over = true;
                j->since = now;
        }
        if (now - j->since < span || (j->fired_at && now - j->fired_at < span))
                return false;
        j->fired_at = now;
        return true;
}

uint64_t memjudge_rss_lag(unsigned threads, unsigned cpus, uint64_t page_size) {
        uint64_t per_thread = 64ULL * MAX(threads, 1U);
        uint64_t c = MAX(cpus, 1U), per_cpu = 3ULL * MAX(32ULL, 2 * c) * c;

        return MAX(per_thread, per_cpu) * page_size;
}

bool memjudge_need_pss(const MemLimits *l, uint64_t bound) {
        return (l->limit > 0 && bound > l->limit) || (l->warn > 0 && bound > l->warn);
}

char *format_bytes(char *buf, size_t len, uint64_t b) {
        static const char units[] = "KMGT";
        double v = (double) b;
        int u = -1;

        if (b < 1024) {
                snprintf(buf, len, "%lluB", (unsigned long long) b);
                return buf;
        }
        while (v >= 1024 && u < 3) {
                v /= 1024;
                u++;
        }
        if (v < 10 && v != (double) (uint64_t) v)
                snprintf(buf, len, "%.1f%c", v, units[u]);
        else
                snprintf(buf, len, "%.0f%c", v, units[u]);
        return buf;
}
