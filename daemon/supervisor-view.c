/*
 * What the rest of upkeepd reads of the supervisor (see supervisor.h): views and accessors, and
 * the few things others may set (what the state file restores).  The supervisor's structures
 * stay private to it (supervisor-impl.h).
 */
#include <string.h>

#include "supervisor.h"
#include "supervisor-impl.h"

/* the view of an instance whose worker never asked for sampling: nothing sampled */
static const MemWatch unwatched = { .cpu_fd = -1 };

Worker *const *sup_workers(const Supervisor *s, size_t *ret_n) {
        *ret_n = s->n_workers;
        return s->workers;
}

Worker *const *sup_retiring(const Supervisor *s, size_t *ret_n) {
        *ret_n = s->n_retiring;
        return s->retiring;
}

sd_event *sup_event(const Supervisor *s) {
        return s->event;
}

const Config *sup_config(const Supervisor *s) {
        return s->config;
}

void sup_hold_configs(Supervisor *s, bool hold) {
        if (hold) {
                s->config_holds++;
                return;
        }
        if (s->config_holds > 0 && --s->config_holds == 0 && s->cleanup)
                (void) sd_event_source_set_enabled(s->cleanup, SD_EVENT_ONESHOT);
}

bool sup_old_configs_needed(const Supervisor *s) {
        const Config *c = s->config;

        if (s->config_holds > 0)
                return true;
        /* every worker's settings are the running configuration's, unless a roll put one back */
        for (size_t w = 0; w < s->n_workers; w++) {
                const WorkerConfig *wc = s->workers[w]->cfg;

                if (wc < c->workers || wc >= c->workers + c->n_workers)
                        return true;
        }
        return false;
}

struct Children *sup_children(const Supervisor *s) {
        return s->children;
}

struct Tree *sup_tree(const Supervisor *s) {
        return s->tree;
}

Http *sup_http(const Supervisor *s) {
        return s->http;
}

bool sup_shutting_down(const Supervisor *s) {
        return s->shutting_down;
}

usec_t sup_started_at(const Supervisor *s) {
        return s->started_at;
}

unsigned long sup_orphans_reaped(const Supervisor *s) {
        return s->orphans_reaped;
}

int sup_exit_code(const Supervisor *s) {
        return s->exit_code;
}

void sup_set_failed(Supervisor *s) {
        if (s->exit_code == 0)
                s->exit_code = 1;
}

void sup_set_recovery(Supervisor *s, bool recovering) {
        s->recovering = recovering;
}

bool sup_recovering(const Supervisor *s) {
        return s->recovering;
}

static Instance *instance_by_name(const Supervisor *s, const char *name) {
        for (size_t w = 0; w < s->n_workers; w++)
                for (unsigned k = 0; k < s->workers[w]->n_instances; k++)
                        if (strcmp(s->workers[w]->instances[k].name, name) == 0)
                                return &s->workers[w]->instances[k];
        return NULL;
}

void sup_restore_operator_stop(Supervisor *s, const char *name) {
        Instance *i = instance_by_name(s, name);

        if (i)
                i->admin_stopped = true;
}

const WorkerConfig *sup_instance_config(const Supervisor *s, const char *name) {
        const Instance *i = instance_by_name(s, name);

        return i ? i->worker->cfg : NULL;
}

const WorkerConfig *worker_config(const Worker *w) {
        return w->cfg;
}

unsigned worker_n_instances(const Worker *w) {
        return w->n_instances - w->spare;
}

Instance *worker_spare(const Worker *w) {
        return w->spare ? &w->instances[w->n_instances - 1] : NULL;
}

Instance *worker_instance(const Worker *w, unsigned k) {
        return &w->instances[k];
}

Window *worker_window(Worker *w) {
        return w->window;
}

bool worker_is_retiring(const Worker *w) {
        return w->retiring;
}

void sup_instance_view(const Instance *i, InstanceView *ret) {
        *ret = (InstanceView) {
                .name = i->name,
                .index = i->index,
                .cfg = i->worker->cfg,
                .state = i->state,
                .state_since = i->state_since,
                .started_at = i->started_at,
                .next_retry_at = i->next_retry_at,
                .restarts = i->restarts,
                .attempt = i->attempt,
                .pid = i->pid,
                .pid_start_time = i->pid_start_time,
                .has_exited = i->has_exited,
                .exit_code = i->exit_code,
                .exit_signal = i->exit_signal,
                .exit_oom = i->exit_oom,
                .reason = i->reason,
                .probe = &i->probe,
                .spawn_attempted = i->spawn_attempted,
                .admin_stopped = i->admin_stopped,
                .log_output = i->log_output,
                .restarts_by = i->restarts_by,
                .last_output = i->last_output,
                .stop_held = i->stop_held,
                .notify_status = i->ready ? readiness_status(i->ready) : "",
                .mem = i->mem ?: &unwatched,
        };
}

const char *sup_instance_name(const Instance *i) {
        return i->name;
}

void sup_instance_set_start_time(Instance *i, uint64_t start_time) {
        i->pid_start_time = start_time;
}

unsigned worker_events(Worker *w, EventKind k, usec_t t, usec_t within) {
        return w->window ? win_count(w->window, k, t, within) : 0;
}

uint64_t worker_events_total(const Worker *w, EventKind k) {
        return w->window ? w->window->total[k] : 0;
}
