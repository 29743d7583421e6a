/*
 * libFuzzer harness: lib/proctable.c, what upkeepd reads of /proc and cgroupfs (text written by
 * the kernel, but read while processes exit, so perhaps cut anywhere).  The first byte chooses
 * the parser; the rest is its input.  For proc_attribute(), the input is a table of
 * (pid, ppid, env_owner) byte triples and every owner must come out in range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proctable.h"

static void attribute(const uint8_t *d, size_t n) {
        ProcEntry e[64];
        pid_t roots[4] = { 1 + (n > 0 ? d[0] % 8 : 0), 3, 0, 9 };
        size_t k = 0;

        for (; k < 64 && 3 * k + 2 < n; k++)
                e[k] = (ProcEntry) { .pid = d[3 * k] % 32, .ppid = d[3 * k + 1] % 32,
                                     .env_owner = (int) (d[3 * k + 2] % 5) - 1 };
        proc_attribute(e, k, roots, 4);
        for (size_t j = 0; j < k; j++)
                if (e[j].owner < -1 || e[j].owner >= 4)
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s, path[64];
        uint64_t a, b;
        ProcStat st;
        size_t vl;

        if (size < 1)
                return -1;
        s = malloc(size);
        if (!s)
                return 0;
        memcpy(s, data + 1, size - 1);
        s[size - 1] = '\0';
        switch (data[0] % 6) {
        case 0: (void) proc_parse_stat(s, &st); break;
        case 1:
                if (proc_env_find(s, size - 1, "UPKEEP_TREE", &vl) && vl > size)
                        abort();
                (void) proc_env_is_tree(s, size - 1, "1.2", data[0] & 8 ? "w" : NULL);
                break;
        case 2:
                if (proc_parse_cgroup(s, path, sizeof path) == 0 && strlen(path) >= sizeof path)
                        abort();
                break;
        case 3: (void) cgroup_parse_populated(s); break;
        case 4:
                if (proc_parse_rollup(s, &a, &b) == 0 && !strstr(s, "Rss:"))
                        abort();
                break;
        default: attribute(data + 1, size - 1); break;
        }
        free(s);
        return 0;
}
