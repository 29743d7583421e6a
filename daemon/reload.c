/*
 * A reload: the new configuration is matched against the running workers by name (the plan,
 * lib/reloadplan.c); a worker whose process settings changed is stopped and started anew, a
 * removed one stopped, a new one started, every other one runs on with its new settings.
 *
 * The switch cannot fail half-way: everything it needs is reserved first, and the workers it
 * builds have not run when a later allocation fails, so they are freed and the running
 * configuration stays.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"
#include "log.h"
#include "proctree.h"
#include "reload.h"
#include "reloadplan.h"
#include "rolling.h"
#include "sockets.h"
#include "strv.h"

/* Settings that shape the process itself: changing one means a new process. */
static bool process_changed(const WorkerConfig *a, const WorkerConfig *b) {
        return !streq_ptr(a->command, b->command) || !streq_ptr(a->directory, b->directory) ||
               a->umask != b->umask ||
               !streq_ptr(a->user, b->user) || !streq_ptr(a->group, b->group) ||
               !streq_ptr(a->env_file, b->env_file) ||
               !strv_equal(a->environment, b->environment) || a->instances != b->instances ||
               !streq_ptr(a->log_dir, b->log_dir) || !streq_ptr(a->log_file, b->log_file) ||
               a->limit_nproc != b->limit_nproc ||
               a->limit_nofile != b->limit_nofile ||
               /* its descriptors: which sockets, and where each listens */
               !strv_equal(a->sockets, b->sockets) ||
               !strv_equal(a->socket_addresses, b->socket_addresses) ||
               !streq_ptr(a->stdin_socket, b->stdin_socket) ||
               !streq_ptr(a->stdin_socket_address, b->stdin_socket_address) ||
               /* rolling { surge }: whether it has a spare instance slot */
               a->rolling.surge != b->rolling.surge;
}

/*
 * A worker of several instances whose process settings changed, but neither how many
 * instances it has nor where their output goes, is kept and rolled (rolling.c): its instances
 * take the new settings at their next start, one at a time, and it keeps serving.
 */
static bool rolls(const WorkerConfig *a, const WorkerConfig *b) {
        return a->instances == b->instances && a->instances > 1 &&
               a->rolling.surge == b->rolling.surge &&
               streq_ptr(a->log_dir, b->log_dir) && streq_ptr(a->log_file, b->log_file);
}

void reload_summary_done(ReloadSummary *r) {
        strv_free(r->added);
        strv_free(r->removed);
        strv_free(r->restarted);
        strv_free(r->kept);
        *r = (ReloadSummary) {};
}

typedef struct Reload {
        Supervisor *sup;
        Worker *const *workers;  /* the running worker table */
        size_t n_workers;
        Config *config;          /* the new one */
        ReloadPlan plan;
        Worker **next;           /* the new worker table, in the new configuration's order */
        bool *roll;              /* per new worker: kept, but rolled to its new settings */
        const WorkerConfig **prev; /* per rolled worker: its settings before, for --abort */
} Reload;

static void reload_done(Reload *rl) {
        reload_plan_done(&rl->plan);
        free(rl->next);
        free(rl->roll);
        free(rl->prev);
}

static bool same_process(size_t o, size_t n, void *userdata) {
        Reload *rl = userdata;

        const WorkerConfig *a = worker_config(rl->workers[o]), *b = &rl->config->workers[n];

        return !process_changed(a, b) || rolls(a, b);
}

static int reload_plan_make(Reload *rl) {
        _cleanup_free_ const char **old = calloc(rl->n_workers + 1, sizeof(char *));
        _cleanup_free_ const char **next = calloc(rl->config->n_workers + 1, sizeof(char *));

        if (!old || !next)
                return -ENOMEM;
        for (size_t w = 0; w < rl->n_workers; w++)
                old[w] = worker_config(rl->workers[w])->name;
        for (size_t w = 0; w < rl->config->n_workers; w++)
                next[w] = rl->config->workers[w].name;
        return reload_plan(old, rl->n_workers, next, rl->config->n_workers, same_process, rl,
                           &rl->plan);
}

/* Build the new worker table: the kept workers themselves, new ones for the rest. */
static int reload_build(Reload *rl) {
        size_t n = rl->config->n_workers;
        int r;

        rl->next = calloc(n + 1, sizeof(Worker *));
        rl->roll = calloc(n + 1, sizeof(bool));
        rl->prev = calloc(n + 1, sizeof(WorkerConfig *));
        if (!rl->next || !rl->roll || !rl->prev)
                return -ENOMEM;
        for (size_t k = 0; k < n; k++) {
                Worker *old = rl->plan.from[k] != RELOAD_NONE ? rl->workers[rl->plan.from[k]]
                                                              : NULL;

                if (rl->plan.next[k] == RELOAD_KEEP) {
                        rl->next[k] = old;
                        continue;
                }
                r = worker_new(rl->sup, &rl->config->workers[k], &rl->next[k]);
                if (r < 0) {
                        /* free only what this reload created: none of it has run */
                        for (size_t j = 0; j < k; j++)
                                if (rl->plan.next[j] != RELOAD_KEEP)
                                        worker_free(rl->next[j]);
                        return r;
                }
                if (old)
                        worker_succeed(rl->next[k], old);
        }
        return 0;
}

/* Old workers removed or replaced stop, and are freed once their processes are gone. */
static void reload_retire(Reload *rl, ReloadSummary *sum) {
        for (size_t w = 0; w < rl->n_workers; w++) {
                Worker *old = rl->workers[w];
                const char *name = worker_config(old)->name;
                ReloadAction a = rl->plan.prev[w];

                if (a == RELOAD_KEEP)
                        continue;
                if (a == RELOAD_STOP)
                        (void) strv_extend(&sum->removed, name);
                log_info("%s: %s", name,
                         a == RELOAD_RESTART ? "process settings changed, restarting it"
                                             : "removed from the configuration, stopping it");
                worker_retire(old);
        }
}

/* Kept workers take their new settings; the summary lists every new worker. */
static void reload_adopt(Reload *rl, ReloadSummary *sum) {
        for (size_t k = 0; k < rl->config->n_workers; k++) {
                Worker *w = rl->next[k];
                const WorkerConfig *wc = &rl->config->workers[k];

                switch (rl->plan.next[k]) {
                case RELOAD_KEEP:
                        rl->roll[k] = process_changed(worker_config(w), wc);
                        rl->prev[k] = worker_config(w);
                        worker_reconfigure(w, wc);
                        if (rl->roll[k])
                                log_info("%s: process settings changed, rolling restart",
                                         wc->name);
                        (void) strv_extend(rl->roll[k] ? &sum->restarted : &sum->kept,
                                           wc->name);
                        break;
                case RELOAD_RESTART:
                        (void) strv_extend(&sum->restarted, wc->name);
                        break;
                default:
                        (void) strv_extend(&sum->added, wc->name);
                        log_info("%s: added to the configuration", wc->name);
                        break;
                }
        }
}

int sup_reload(Supervisor *s, Config *config, ReloadSummary *sum) {
        _cleanup_(reload_done) Reload rl = { .sup = s, .config = config };
        Worker *const *workers;
        size_t n;
        int r;

        *sum = (ReloadSummary) {};
        rl.workers = sup_workers(s, &rl.n_workers);
        r = sup_reserve(s, config);
        if (r >= 0)
                r = reload_plan_make(&rl);
        if (r >= 0)
                r = reload_build(&rl);
        if (r < 0)
                return r;
        reload_retire(&rl, sum);
        reload_adopt(&rl, sum);
        sup_switch(s, config, TAKE_PTR(rl.next));
        workers = sup_workers(s, &n);
        for (size_t k = 0; k < n; k++)
                if (rl.plan.next[k] != RELOAD_KEEP)
                        worker_start(workers[k]); /* waits if it has a predecessor */
        for (size_t k = 0; k < n; k++)
                if (rl.roll[k]) {
                        /* a roll to the previous settings under way gives way to this one */
                        (void) roll_stop(worker_config(workers[k])->name);
                        if (roll_begin_reload(workers[k], rl.prev[k]) < 0)
                                log_error("%s: cannot begin the rolling restart",
                                          worker_config(workers[k])->name);
                }
        return 0;
}

int sup_reload_file(Supervisor *s, ReloadSummary *sum, char **ret_errors) {
        const char *path = sup_config(s)->path;
        Config *config = NULL;
        char err[512];
        int r;

        log_info("reloading %s", path);
        r = conf_load_file(path, &config, NULL, ret_errors);
        if (r < 0) {
                if (*ret_errors)
                        (*ret_errors)[strcspn(*ret_errors, "\n")] = '\0';
                log_error("reload failed, keeping the running configuration: %s",
                          *ret_errors ?: "invalid configuration");
                return r;
        }
        r = sockets_apply(config, err, sizeof err);
        if (r < 0) {
                log_error("reload failed, keeping the running configuration: %s", err);
                *ret_errors = strdup(err);
                conf_free(config);
                return r;
        }
        sup_reload_begins(s);
        r = sup_reload(s, config, sum);
        if (r < 0) {
                conf_free(config);
                log_error("reload failed: %s, keeping the running configuration", strerror(-r));
        } else
                tree_warn_limits(sup_tree(s), sup_config(s));
        sup_reload_ends(s);
        /* parsing leaves the heap full of holes: give their pages back (glibc) */
        (void) malloc_trim(0);
        return r;
}

