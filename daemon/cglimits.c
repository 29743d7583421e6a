/*
 * The memory and cpu controllers of upkeepd's sub-tree: see cglimits.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cglimits.h"
#include "cgroup.h"
#include "log.h"
#include "strv.h"

/*
 * cgroup v2's "no internal processes" rule: own may hand controllers down only once upkeepd is
 * out of it (the root of a cgroup namespace is not exempt), so upkeepd first moves into
 * base/supervisor.  The move waits for an RCU grace period (10-15 ms), which is why it is
 * made only where controllers are offered.
 */
void cglimits_setup(CgLimits *l, const char *own, const char *base) {
        char leaf[CGROUP_PATH_MAX];
        int r = 0;

        if (cgroup_offered(own) == 0)
                return;
        snprintf(leaf, sizeof leaf, "%s/supervisor", base);
        l->origin = strdup(own);
        if (!l->origin || mkdir(leaf, 0755) < 0 || (r = cgroup_move(leaf, 0)) < 0) {
                log_warning("cgroup controllers: cannot move into %s: %s", leaf,
                            strerror(r < 0 ? -r : l->origin ? errno : ENOMEM));
                (void) rmdir(leaf);
                free(l->origin);
                l->origin = NULL;
                return;
        }
        l->controllers = cgroup_enable(own, base, &l->own_added);
}

bool cglimits_leave(CgLimits *l, const char *base) {
        if (!l->origin)
                return true;
        /* a cgroup that gives controllers to its children holds no process: out first */
        cgroup_disable(l->origin, base, l->controllers, l->own_added);
        l->controllers = l->own_added = 0;
        if (cgroup_move(l->origin, 0) < 0) {
                log_warning("cannot leave cgroup %s: %m", base);
                return false;
        }
        free(l->origin);
        l->origin = NULL;
        return true;
}

void cglimits_done(CgLimits *l) {
        free(l->origin);
        strv_free(l->limit_failed);
        *l = (CgLimits) {};
}

void cglimits_write(CgLimits *l, const char *dir, const char *name, const CgValues *v) {
        const char *file = NULL;
        int r;

        if (!l->controllers)
                return;
        r = cgroup_write_values(dir, l->controllers, v, &file);
        if (r == -ENOENT && access(dir, F_OK) < 0)
                return; /* not made yet: tree_prepare() makes it, then this runs again */
        if (r < 0 && !strv_contains(l->limit_failed, name)) {
                log_msg(LOG_WARNING, name, "cannot write %s/%s: %s", dir, file, strerror(-r));
                (void) strv_extend(&l->limit_failed, name);
        } else if (r == 0)
                strv_remove(l->limit_failed, name);
}

uint64_t cglimits_oom_kills(const CgLimits *l, const char *dir) {
        uint64_t n = 0;

        if (!(l->controllers & CGROUP_MEMORY))
                return 0;
        return cgroup_oom_kills(dir, &n) < 0 ? 0 : n;
}

unsigned cglimits_offered(void) {
        const char *off = getenv("UPKEEP_CGROUP");
        char own[CGROUP_PATH_MAX], reason[256];

        if ((off && strcmp(off, "off") == 0) ||
            cgroup_own_dir(own, sizeof own, reason, sizeof reason) < 0)
                return 0;
        return cgroup_offered(own);
}
