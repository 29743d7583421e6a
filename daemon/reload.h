/*
 * Reloading the configuration (see reload.c).
 */
#pragma once

#include "supervisor.h"

typedef struct ReloadSummary {
        char **added, **removed, **restarted, **kept;
} ReloadSummary;

/*
 * Switch to a new configuration (taken over): new workers start, removed ones stop, a worker
 * whose process-affecting settings changed is stopped and started again, every other worker
 * keeps running with its new settings.
 */
int sup_reload(Supervisor *s, Config *config, ReloadSummary *ret);
void reload_summary_done(ReloadSummary *r);
/* Parse the configuration file again and apply it; on a bad file *ret_errors says why. */
int sup_reload_file(Supervisor *s, ReloadSummary *sum, char **ret_errors);
