/*
 * What a reload does to each worker, decided from the names of the old and the new workers and
 * from whether a worker's process settings changed.  Pure: the caller carries the plan out.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef enum ReloadAction {
        RELOAD_KEEP,    /* same name, same process settings: it runs on with its new settings */
        RELOAD_RESTART, /* same name, the process settings changed: stopped, then started anew */
        RELOAD_START,   /* new in the configuration */
        RELOAD_STOP,    /* no longer in the configuration */
        _RELOAD_ACTION_MAX,
} ReloadAction;

#define RELOAD_NONE ((size_t) -1)

typedef struct ReloadPlan {
        ReloadAction *next; /* per new worker: KEEP, RESTART or START */
        size_t *from;       /* per new worker: the old one it keeps or replaces, or RELOAD_NONE */
        ReloadAction *prev; /* per old worker: KEEP, RESTART (replaced) or STOP (removed) */
} ReloadPlan;

/* Would old worker o and new worker n run the same process?  Asked once per name match. */
typedef bool (*ReloadSameProcess)(size_t o, size_t n, void *userdata);

/*
 * A new worker takes the first old worker of its name not taken yet (names are unique in a
 * configuration, so that is the one).  0, or -ENOMEM; free with reload_plan_done().
 */
int reload_plan(const char *const *old_names, size_t n_old, const char *const *new_names,
                size_t n_new, ReloadSameProcess same, void *userdata, ReloadPlan *ret);
void reload_plan_done(ReloadPlan *p);
