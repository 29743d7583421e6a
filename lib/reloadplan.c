/*
 * The reload plan (see reloadplan.h).  Quadratic in the number of workers, which is small, and
 * which a reload by name needs anyway without a hash table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reloadplan.h"

void reload_plan_done(ReloadPlan *p) {
        free(p->next);
        free(p->from);
        free(p->prev);
        *p = (ReloadPlan) {};
}

static size_t match(const char *const *old_names, size_t n_old, const ReloadAction *prev,
                    const char *name) {
        for (size_t o = 0; o < n_old; o++)
                if (prev[o] == RELOAD_STOP && strcmp(old_names[o], name) == 0)
                        return o;
        return RELOAD_NONE;
}

int reload_plan(const char *const *old_names, size_t n_old, const char *const *new_names,
                size_t n_new, ReloadSameProcess same, void *userdata, ReloadPlan *ret) {
        ReloadPlan p = {
                .next = calloc(n_new + 1, sizeof(ReloadAction)),
                .from = calloc(n_new + 1, sizeof(size_t)),
                .prev = calloc(n_old + 1, sizeof(ReloadAction)),
        };

        if (!p.next || !p.from || !p.prev) {
                reload_plan_done(&p);
                return -ENOMEM;
        }
        /* every old worker is removed until a new one of its name takes it */
        for (size_t o = 0; o < n_old; o++)
                p.prev[o] = RELOAD_STOP;
        for (size_t n = 0; n < n_new; n++) {
                size_t o = match(old_names, n_old, p.prev, new_names[n]);

                p.from[n] = o;
                if (o == RELOAD_NONE)
                        p.next[n] = RELOAD_START;
                else
                        p.next[n] = p.prev[o] = same(o, n, userdata) ? RELOAD_KEEP
                                                                     : RELOAD_RESTART;
        }
        *ret = p;
        return 0;
}
