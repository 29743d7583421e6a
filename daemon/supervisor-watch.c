/*
 * What watches a running instance for the supervisor: its health probes, the memory and CPU
 * samples of its tree (memwatch.c), its cgroup's limits (cgroup controllers) and whether the
 * kernel's OOM killer ended it, and their settings after a (re)configuration.  Part of the
 * supervisor, beside supervisor.c, with its structures; the verdicts go back through
 * instance_dispatch() and instance_count_event().
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "cgvalues.h"
#include "log.h"
#include "looptime.h"
#include "output.h"
#include "parse.h"
#include "proctree.h"
#include "supervisor.h"
#include "supervisor-impl.h"

static void on_probe_count(void *userdata, EventKind k) {
        instance_count_event(userdata, k);
}

static void on_probe_report(void *userdata, const ProbeVerdict *v) {
        Instance *i = userdata;

        if (v->good && i->state == STATE_STARTING &&
            (i->worker->cfg->ready == WREADY_AUTO || i->worker->cfg->ready == WREADY_HEALTHY))
                instance_dispatch(i, EV_HEALTHY);
        else if (v->unhealthy) {
                i->restart_cause = RESTART_HEALTH;
                output_freeze(i->log_output, i->name, "failed probes", &i->last_output);
                i->output_frozen = true;
                instance_dispatch(i, EV_UNHEALTHY);
        }
}

static bool on_probe_starting(void *userdata) {
        const Instance *i = userdata;

        return i->state == STATE_STARTING;
}

static ProbeSpec *probe_spec(Instance *i, ProbeSpec *ret) {
        *ret = (ProbeSpec) {
                .name = i->name,
                .index = i->index,
                .health = &i->worker->cfg->health,
                .event = i->worker->sup->event,
                .http = i->worker->sup->http,
                .count = on_probe_count,
                .report = on_probe_report,
                .starting = on_probe_starting,
                .userdata = i,
        };
        return ret;
}

/* Memory samples of a start never count: STARTING, or within its health start-period. */
static bool on_memory_starting(void *userdata) {
        const Instance *i = userdata;
        usec_t ran = loop_now(i->worker->sup->event) - i->started_at;

        return i->state != STATE_RUNNING || ran < i->worker->cfg->health.start_period;
}

/* Another instance of i's worker on its way down or up (a roll's spare included), or NULL. */
static const Instance *sibling_restarting(const Instance *i) {
        const Worker *w = i->worker;

        for (unsigned k = 0; k < w->n_instances; k++) {
                const Instance *o = &w->instances[k];

                if (o != i && (o->state == STATE_STARTING || o->state == STATE_STOPPING ||
                               o->state == STATE_BACKOFF))
                        return o;
        }
        return NULL;
}

/* The tree stayed over memory-limit (memwatch.c): memory-action, counted as a memory event. */
static void on_memory_over(void *userdata, const char *note) {
        Instance *i = userdata;
        const WorkerConfig *w = i->worker->cfg;
        MemoryAction a = w->memory_action;
        const Instance *busy = a == MEMORY_RESTART ? sibling_restarting(i) : NULL;

        if (busy && i->state == STATE_RUNNING) {
                /*
                 * Memory restarts of a worker's instances go one at a time, as a roll does, so
                 * the others keep serving: this one stays over the limit, and is judged again
                 * after memory-for more samples.
                 */
                log_fields(LOG_NOTICE, i->name, "memory-wait",
                           LOG_KV(LF_I("memory_bytes", i->mem->bytes),
                                  LF_I("memory_limit_bytes", w->memory_limit)),
                           "%s: the restart waits until %s is ready (%s)", note, busy->name,
                           state_to_string(busy->state));
                return;
        }

        snprintf(i->mem->note, sizeof i->mem->note, "%s%s: %s",
                 a == MEMORY_RESTART ? "restarted" : a == MEMORY_SIGNAL ? "sent " : "alert",
                 a == MEMORY_SIGNAL ? SIGNAL_LABEL(w->memory_signal) : "", note);
        log_fields(LOG_WARNING, i->name, "memory",
                   LOG_KV(LF_I("memory_bytes", i->mem->bytes),
                          LF_I("memory_limit_bytes", w->memory_limit)), "%s", i->mem->note);
        instance_count_event(i, EVK_MEMORY);
        if (a == MEMORY_SIGNAL)
                instance_signal(i, w->memory_signal);
        else if (a == MEMORY_RESTART && i->state == STATE_RUNNING) {
                i->why = i->mem->note;
                i->restart_cause = RESTART_MEMORY;
                output_freeze(i->log_output, i->name, "the memory limit", &i->last_output);
                i->output_frozen = true;
                instance_dispatch(i, EV_UNHEALTHY); /* through stop and backoff, as a failed probe */
                i->why = NULL;
        }
}

static void on_cpu_over(void *userdata) {
        instance_count_event(userdata, EVK_CPU);
}

MemWatchSpec *instance_memwatch_spec(Instance *i, MemWatchSpec *ret) {
        *ret = (MemWatchSpec) {
                .name = i->name,
                .event = i->worker->sup->event,
                .tree = i->worker->sup->tree,
                .starting = on_memory_starting,
                .act = on_memory_over,
                .cpu = on_cpu_over,
                .userdata = i,
        };
        return ret;
}

void instance_set_limits(Instance *i, bool spawn) {
        const WorkerConfig *c = i->worker->cfg;
        Tree *t = i->worker->sup->tree;
        CgValues v;

        cg_values(c->memory_limit, c->memory_action == MEMORY_RESTART, c->cpu_limit, &v);
        tree_set_limits(t, i->name, &v);
        if (spawn)
                i->oom_kills = tree_oom_kills(t, i->name);
}

void instance_check_oom(Instance *i) {
        const WorkerConfig *c = i->worker->cfg;
        char max[32], note[sizeof ((MemWatch *) NULL)->note];

        i->exit_oom = i->exit_signal == SIGKILL &&
                      tree_oom_kills(i->worker->sup->tree, i->name) > i->oom_kills;
        if (!i->exit_oom)
                return;
        if (c->memory_limit > 0)
                snprintf(note, sizeof note, "oom: killed by the kernel at memory.max %s",
                         format_bytes(max, sizeof max, cg_memory_max(c->memory_limit)));
        else
                snprintf(note, sizeof note, "oom: killed by the kernel");
        if (i->mem)
                memcpy(i->mem->note, note, sizeof note);
        log_fields(LOG_WARNING, i->name, "memory",
                   LOG_KV(LF_I_IF(c->memory_limit > 0, "memory_max_bytes",
                                  cg_memory_max(c->memory_limit))), "%s", note);
        i->restart_cause = RESTART_MEMORY;
        instance_count_event(i, EVK_MEMORY);
}

int instance_configure(Instance *i) {
        const WorkerConfig *c = i->worker->cfg;
        bool running = i->pid > 0 && state_is_active(i->state) && i->state != STATE_STOPPING;
        int r;

        probe_done(&i->probe);
        r = probe_init(&i->probe, probe_spec(i, &(ProbeSpec) {}));
        if (r < 0)
                return r;
        if (running)
                probe_begin(&i->probe, i->started_at);
        /* allocated when the worker first asks for sampling, kept from then on (its note of the
         * last memory-action outlives the setting): most instances never need its 400 bytes */
        if (!i->mem && memwatch_wanted(c)) {
                i->mem = malloc(sizeof(MemWatch));
                if (!i->mem)
                        return -ENOMEM;
                memwatch_init(i->mem, instance_memwatch_spec(i, &(MemWatchSpec) {}), c);
                if (i->pid > 0)
                        memwatch_begin(i->mem, i->pid);
        }
        if (i->mem)
                memwatch_configure(i->mem, c);
        instance_set_limits(i, false);
        return circuit_configure(&i->circuit, c->give_up_count);
}
