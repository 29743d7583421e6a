/*
 * Parsing what /proc and cgroupfs say about processes, and giving each process its instance
 * (see proctable.h).  Every input is text read by someone else, perhaps cut short, perhaps from
 * a process that exited meanwhile: nothing here trusts its shape.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proctable.h"

int proc_parse_stat(const char *buf, ProcStat *ret) {
        const char *p = strrchr(buf, ')');
        unsigned long long ut, st, start, rss;
        unsigned threads;
        int pid, ppid;
        char state;

        if (!p || sscanf(buf, "%d", &pid) != 1)
                return -EINVAL;
        /* fields 3..24: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
         * utime stime cutime cstime priority nice threads itrealvalue starttime vsize rss */
        if (sscanf(p + 1, " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
                          "%u %*d %llu %*u %llu", &state, &ppid, &ut, &st, &threads, &start,
                          &rss) != 7)
                return -EINVAL;
        *ret = (ProcStat) { .pid = pid, .ppid = ppid, .state = state, .utime = ut, .stime = st,
                            .start_time = start, .rss_pages = rss,
                            .threads = threads };
        return 0;
}

const char *proc_env_find(const char *env, size_t len, const char *key, size_t *ret_len) {
        size_t kl = strlen(key);

        for (size_t at = 0; at < len;) {
                const char *s = env + at;
                const char *end = memchr(s, '\0', len - at);
                size_t sl = end ? (size_t) (end - s) : len - at;

                if (sl > kl && memcmp(s, key, kl) == 0 && s[kl] == '=') {
                        *ret_len = sl - kl - 1;
                        return s + kl + 1;
                }
                at += sl + 1;
        }
        return NULL;
}

bool proc_env_is_tree(const char *env, size_t len, const char *token, const char *name) {
        size_t vl, tl = strlen(token);
        const char *v = proc_env_find(env, len, PROC_TREE_VAR, &vl);

        if (!v || vl <= tl || memcmp(v, token, tl) != 0 || v[tl] != '/')
                return false;
        if (!name)
                return true;
        return vl - tl - 1 == strlen(name) && memcmp(v + tl + 1, name, vl - tl - 1) == 0;
}

int proc_parse_cgroup(const char *buf, char *ret, size_t len) {
        for (const char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
                const char *end;
                size_t n;

                if (strncmp(l, "0::", 3) != 0)
                        continue;
                l += 3;
                end = strchr(l, '\n');
                n = end ? (size_t) (end - l) : strlen(l);
                if (n == 0 || n >= len || l[0] != '/')
                        return -EINVAL;
                memcpy(ret, l, n);
                ret[n] = '\0';
                return 0;
        }
        return -ENOENT;
}

int cgroup_parse_populated(const char *buf) {
        for (const char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
                if (strncmp(l, "populated ", 10) == 0)
                        return l[10] == '1' ? 1 : l[10] == '0' ? 0 : -EINVAL;
        return -EINVAL;
}

int proc_parse_rollup(const char *buf, uint64_t *ret_pss, uint64_t *ret_rss) {
        bool has_rss = false, has_pss = false;
        uint64_t pss = 0, rss = 0;

        for (const char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
                unsigned long long kb;

                if (sscanf(l, "Rss: %llu kB", &kb) == 1)
                        rss = kb * 1024, has_rss = true;
                else if (sscanf(l, "Pss: %llu kB", &kb) == 1)
                        pss = kb * 1024, has_pss = true;
        }
        if (!has_rss)
                return -EINVAL;
        *ret_rss = rss;
        *ret_pss = has_pss ? pss : rss;
        return 0;
}

static int entry_cmp(const void *a, const void *b) {
        const ProcEntry *x = a, *y = b;

        return (x->pid > y->pid) - (x->pid < y->pid);
}

static ProcEntry *entry_find(ProcEntry *procs, size_t n, pid_t pid) {
        ProcEntry key = { .pid = pid };

        return bsearch(&key, procs, n, sizeof *procs, entry_cmp);
}

void proc_attribute(ProcEntry *procs, size_t n, const pid_t *roots, size_t n_roots) {
        bool changed = true;

        if (n == 0)
                return; /* procs may be NULL, which qsort() must not get */
        qsort(procs, n, sizeof *procs, entry_cmp);
        for (size_t k = 0; k < n; k++) {
                procs[k].owner = procs[k].env_owner;
                for (size_t r = 0; r < n_roots; r++)
                        if (roots[r] > 0 && roots[r] == procs[k].pid)
                                procs[k].owner = (int) r;
        }
        /* down the tree, one generation per pass: a parent's owner reaches its descendants;
         * bounded by the depth of the tree, and a cycle (pid reuse between reads) changes
         * nothing once every member has an owner */
        for (size_t pass = 0; changed && pass < n; pass++) {
                changed = false;
                for (size_t k = 0; k < n; k++) {
                        ProcEntry *p;

                        if (procs[k].owner >= 0 || procs[k].ppid <= 1)
                                continue;
                        p = entry_find(procs, n, procs[k].ppid);
                        if (p && p->owner >= 0) {
                                procs[k].owner = p->owner;
                                changed = true;
                        }
                }
        }
}
