/*
 * Sampling one instance's tree (see memwatch.h).  A process that exits between the listing and
 * the read is simply not counted: no /proc read error is ever logged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "children.h"
#include "log.h"
#include "macro.h"
#include "looptime.h"
#include "memwatch.h"
#include "parse.h"
#include "proctable.h"
#include "proctree.h"

static ssize_t read_text(const char *path, char *buf, size_t len) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        size_t n = 0;

        if (fd < 0)
                return -1;
        while (n < len - 1) {
                ssize_t k = read(fd, buf + n, len - 1 - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = '\0';
        return (ssize_t) n;
}

/* A tree that did not run keeps its figures for this many samples after a full one (see
 * memwatch_sample): a minute at the default memory-interval. */
#define QUIET_SAMPLES 5U

static uint64_t page_size(void) {
        static uint64_t size;

        if (!size)
                size = (uint64_t) sysconf(_SC_PAGESIZE);
        return size;
}

static unsigned cpus(void) {
        static unsigned n;

        /* every CPU the kernel may keep a share of an RSS counter on, online or not */
        if (!n)
                n = (unsigned) MAX(sysconf(_SC_NPROCESSORS_CONF), 1L);
        return n;
}

/* One process's stat: CPU ticks, RSS, threads; false when it is gone or a zombie. */
static bool stat_process(MemWatch *m, pid_t pid, ProcStat *st) {
        return tree_proc_stat(m->spec.tree, pid, st);
}

/* One process's PSS; false without smaps_rollup (Linux < 4.14) or when it is gone. */
static bool pss_process(pid_t pid, uint64_t *ret) {
        char path[64], buf[4096];
        uint64_t rss;

        snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int) pid);
        return read_text(path, buf, sizeof buf) > 0 && proc_parse_rollup(buf, ret, &rss) == 0;
}

static void set_cpu(MemWatch *m, double cpu, bool from_cgroup, usec_t now) {
        m->cpu_pct = m->sampled && m->cpu_cgroup == from_cgroup && now > m->sampled_at &&
                                     cpu >= m->cpu_s
                             ? 100.0 * (cpu - m->cpu_s) / ((double) (now - m->sampled_at) / 1e6)
                             : 0.0;
        m->cpu_s = cpu;
        m->cpu_cgroup = from_cgroup;
}

/* The processes of the last full sample and their clocks: no longer a proof. */
static void forget_walk(MemWatch *m) {
        free(m->walk);
        free(m->clocks);
        m->walk = NULL;
        m->clocks = NULL;
        m->n_walk = 0;
}

/*
 * Every process of the tree: its stat (CPU, RSS), and its PSS only where the RSS bound says
 * the tree may be over memory-warn or memory-limit, or until one is read after the run's
 * start (a PSS figure from the start).  The figure is then the PSS, else the RSS: the bound proved it
 * under both, and PSS <= RSS.
 */
static void sample_tree(MemWatch *m, double cg_cpu, bool cg, usec_t now) {
        const WorkerConfig *c = m->cfg;
        MemLimits l = { .limit = c->memory_limit, .warn = c->memory_warn };
        _cleanup_free_ pid_t *pids = NULL;
        _cleanup_free_ uint64_t *clocks = NULL;
        uint64_t rss = 0, bound = 0, ticks = 0, pss = 0;
        uint64_t reaped = children_reaped_orphans();
        bool has_main = false, need, all_pss = true;
        size_t n = 0, alive = 0;
        pid_t *l2;

        forget_walk(m);
        (void) tree_pids_raw(m->spec.tree, m->spec.name, m->pid, now, &pids, cg ? NULL : &clocks,
                             &n);
        /* the main process, when the tree could not list it (no cgroup of its own) */
        for (size_t k = 0; k < n; k++)
                has_main |= pids[k] == m->pid;
        if (!has_main && (l2 = reallocarray(pids, n + 1, sizeof *pids))) {
                pids = l2;
                pids[n++] = m->pid;
                /* a process without its clock: no proof */
                free(clocks);
                clocks = NULL;
        }
        /* the walk's order, clocks with it, before the dead are dropped from pids */
        if (clocks && n > 0 && (m->walk = calloc(n, sizeof *pids))) {
                memcpy(m->walk, pids, n * sizeof *pids);
                m->clocks = TAKE_PTR(clocks);
                m->n_walk = n;
        }
        for (size_t k = 0; k < n; k++) {
                ProcStat st;

                /* zombies and processes gone meanwhile are not counted */
                if (!stat_process(m, pids[k], &st))
                        continue;
                ticks += st.utime + st.stime;
                rss += st.rss_pages * page_size();
                bound += st.rss_pages * page_size() + memjudge_rss_lag(st.threads, cpus(),
                                                                       page_size());
                pids[alive++] = pids[k];
        }
        /* a first PSS from after the start: the batch may sample a run as soon as it begins */
        need = !m->pss_settled || memjudge_need_pss(&l, bound);
        for (size_t k = 0; need && k < alive; k++) {
                uint64_t b;
                ProcStat st;

                if (pss_process(pids[k], &b))
                        pss += b;
                else if (stat_process(m, pids[k], &st)) {
                        pss += st.rss_pages * page_size();
                        all_pss = false;
                }
        }
        set_cpu(m, cg ? cg_cpu : (double) ticks / (double) sysconf(_SC_CLK_TCK), cg, now);
        m->bytes = need ? pss : rss;
        m->is_pss = need && all_pss;
        if (m->is_pss) {
                m->pss_bytes = pss;
                m->pss_at = now;
                m->pss_known = true;
                m->pss_settled = !m->spec.starting(m->spec.userdata);
        }
        m->procs = (unsigned) alive;
        /*
         * The bound proved the tree under warn and limit: while it does not run, it stays so.
         * Without a cgroup, the walk's clocks say whether it ran, if every process it listed
         * was alive at its stat (read after its children were listed; a zombie's or a dead
         * process's children may have gone to upkeepd after its list was read).
         */
        m->quiet = !need && (cg || (m->walk && alive == n));
        m->reaped = reaped;
        if (!m->quiet)
                forget_walk(m);
        m->quiet_samples = 0;
}

/* Nothing of the tree ran since its last full sample (see sample_tree). */
static bool still(MemWatch *m, bool cg, uint64_t usec) {
        if (cg)
                return m->cpu_cgroup && usec == m->cg_usec;
        return !m->cpu_cgroup && m->walk && m->reaped == children_reaped_orphans() &&
               tree_clocks_unchanged(m->walk, m->clocks, m->n_walk);
}

/*
 * Where the instance has a cgroup of its own, its cpu.stat comes first: a tree that has not
 * run since a sample that proved it under warn and limit cannot have forked or faulted a page
 * in, so that sample stands (for QUIET_SAMPLES, for what the kernel does on its own, such as
 * khugepaged filling a huge page), and no process of it is read.  Without one, the CPU clocks
 * of the processes that sample listed say the same (see still()): one system call each
 * instead of a walk of the children files and a read of each stat.
 */
bool memwatch_sample(MemWatch *m, usec_t now) {
        uint64_t usec = 0;
        bool cg;

        if (m->pid <= 0)
                return false;
        /* opened once a run: each sample is then one pread */
        if (m->cpu_fd < 0 && !m->cpu_fd_tried) {
                m->cpu_fd = tree_open_cpu_stat(m->spec.tree, m->spec.name);
                m->cpu_fd_tried = true;
        }
        cg = m->cpu_fd >= 0 && cgroup_read_cpu_usec(m->cpu_fd, &usec) == 0;
        if (m->sampled && m->quiet && m->quiet_samples < QUIET_SAMPLES && still(m, cg, usec)) {
                m->quiet_samples++;
                m->cpu_pct = 0.0;
                m->sampled_at = now;
                return true;
        }
        sample_tree(m, (double) usec / 1e6, cg, now);
        m->cg_usec = usec;
        m->sampled_at = now;
        m->sampled = true;
        return true;
}

static bool memwatch_wanted_memory(const WorkerConfig *cfg) {
        return cfg->memory_limit > 0 || cfg->memory_warn > 0;
}

static void judge(MemWatch *m, usec_t now) {
        const WorkerConfig *c = m->cfg;
        MemLimits l = { .limit = c->memory_limit, .warn = c->memory_warn,
                        .samples = c->memory_for };
        char b[16], lim[16], d[32], note[96];

        if (cpujudge_step(&m->cpu, m->cpu_pct, c->cpu_warn, c->cpu_for,
                          m->spec.starting(m->spec.userdata), now)) {
                log_fields(LOG_WARNING, m->spec.name, "cpu",
                           LOG_KV(LF_D("cpu_percent", m->cpu_pct)),
                           "CPU %.0f%% over cpu-warn %.0f%% for %s", m->cpu_pct, c->cpu_warn,
                           format_duration(d, sizeof d, c->cpu_for));
                m->spec.cpu(m->spec.userdata);
        }
        if (!memwatch_wanted_memory(c))
                return;
        switch (memjudge_step(&m->judge, &l, m->bytes, m->spec.starting(m->spec.userdata), now)) {
        case MEMV_WARN:
                log_fields(LOG_WARNING, m->spec.name, "memory-warn",
                           LOG_KV(LF_I("memory_bytes", m->bytes),
                                  LF_I("memory_warn_bytes", c->memory_warn)),
                           "memory %s over memory-warn %s", format_bytes(b, sizeof b, m->bytes),
                           format_bytes(lim, sizeof lim, c->memory_warn));
                break;
        case MEMV_WARN_CLEARED:
                log_fields(LOG_NOTICE, m->spec.name, "memory-warn-cleared",
                           LOG_KV(LF_I("memory_bytes", m->bytes)),
                           "memory %s back under memory-warn %s",
                           format_bytes(b, sizeof b, m->bytes),
                           format_bytes(lim, sizeof lim, c->memory_warn));
                break;
        case MEMV_ACT:
                snprintf(note, sizeof note, "memory %s over limit %s for %s",
                         format_bytes(b, sizeof b, m->bytes),
                         format_bytes(lim, sizeof lim, c->memory_limit),
                         format_duration(d, sizeof d, c->memory_for * c->memory_interval));
                m->spec.act(m->spec.userdata, note);
                break;
        default:
                break;
        }
}

bool memwatch_wanted(const WorkerConfig *cfg) {
        return memwatch_wanted_memory(cfg) || cfg->cpu_warn > 0 || cfg->metrics_sampled;
}

/*
 * The instances sampled at one memory-interval share one timer: a single wake-up per interval
 * samples them all, instead of one wake-up (and a re-arm) each.  A batch lives while it has
 * members; one emptied by its own callback goes when that returns.
 */
typedef struct Batch {
        sd_event *event;
        usec_t interval;
        sd_event_source *timer;
        MemWatch **members;
        size_t n;
        bool dispatching;
} Batch;

static Batch **batches;
static size_t n_batches;

static void batch_free(Batch *b) {
        for (size_t k = 0; k < n_batches; k++)
                if (batches[k] == b) {
                        batches[k] = batches[--n_batches];
                        break;
                }
        if (n_batches == 0) {
                free(batches);
                batches = NULL;
        }
        sd_event_source_disable_unref(b->timer);
        free(b->members);
        free(b);
}

static int on_batch(sd_event_source *src, uint64_t usec, void *userdata) {
        Batch *b = userdata;

        (void) src;
        for (size_t k = 0; k < b->n; k++)
                b->members[k]->due = true;
        b->dispatching = true;
        /* a callback may end any instance (a restart, its dependents): the list changes under
         * us, so each member is sampled once by its flag, and the walk starts over on a change */
        for (size_t k = 0; k < b->n;) {
                MemWatch *m = b->members[k];

                if (!m->due) {
                        k++;
                        continue;
                }
                m->due = false;
                if (memwatch_sample(m, usec))
                        judge(m, usec);
                k = k < b->n && b->members[k] == m ? k + 1 : 0;
        }
        b->dispatching = false;
        if (b->n == 0) {
                batch_free(b);
                return 0;
        }
        (void) sd_event_source_set_time(b->timer, usec + b->interval);
        (void) sd_event_source_set_enabled(b->timer, SD_EVENT_ONESHOT);
        return 0;
}

static void leave(MemWatch *m) {
        Batch *b = m->batch;

        if (!b)
                return;
        for (size_t k = 0; k < b->n; k++)
                if (b->members[k] == m) {
                        b->members[k] = b->members[--b->n];
                        break;
                }
        m->batch = NULL;
        m->due = false;
        if (b->n == 0 && !b->dispatching)
                batch_free(b);
}

static Batch *batch_get(sd_event *e, usec_t interval) {
        Batch *b, **l;
        int r;

        for (size_t k = 0; k < n_batches; k++)
                if (batches[k]->event == e && batches[k]->interval == interval)
                        return batches[k];
        b = calloc(1, sizeof *b);
        l = b ? reallocarray(batches, n_batches + 1, sizeof *l) : NULL;
        if (!l) {
                free(b);
                return NULL;
        }
        batches = l;
        *b = (Batch) { .event = e, .interval = interval };
        /* a tenth of the interval of slack: the batches and other timers wake us together */
        r = sd_event_add_time(e, &b->timer, CLOCK_MONOTONIC, loop_now(e) + interval,
                              interval / 10, on_batch, b);
        if (r < 0) {
                free(b);
                return NULL;
        }
        (void) sd_event_source_set_description(b->timer, "memory-sample");
        batches[n_batches++] = b;
        return b;
}

static void arm(MemWatch *m) {
        MemWatch **l;
        Batch *b;

        if (m->pid <= 0 || !memwatch_wanted(m->cfg)) {
                leave(m);
                return;
        }
        if (m->batch && m->batch->interval == m->cfg->memory_interval)
                return;
        leave(m);
        b = batch_get(m->spec.event, m->cfg->memory_interval);
        l = b ? reallocarray(b->members, b->n + 1, sizeof *l) : NULL;
        if (!l) {
                log_msg(LOG_ERR, m->spec.name, "cannot sample memory: out of memory");
                if (b && b->n == 0 && !b->dispatching)
                        batch_free(b);
                return;
        }
        b->members = l;
        b->members[b->n++] = m;
        m->batch = b;
}

void memwatch_init(MemWatch *m, const MemWatchSpec *spec, const WorkerConfig *cfg) {
        *m = (MemWatch) { .spec = *spec, .cfg = cfg, .cpu_fd = -1 };
}

void memwatch_configure(MemWatch *m, const WorkerConfig *cfg) {
        m->cfg = cfg;
        /* the last sample proved the tree under the old warn and limit, not the new ones */
        m->quiet = false;
        arm(m);
}

void memwatch_begin(MemWatch *m, pid_t pid) {
        m->pid = pid;
        m->sampled = false;
        m->pss_known = m->pss_settled = false;
        m->judge = (MemJudge) {};
        m->cpu = (CpuJudge) {};
        arm(m);
}

void memwatch_end(MemWatch *m) {
        m->pid = 0;
        m->sampled = false;
        forget_walk(m);
        if (m->cpu_fd >= 0)
                (void) close(m->cpu_fd);
        m->cpu_fd = -1;
        m->cpu_fd_tried = false;
        leave(m);
}

void memwatch_done(MemWatch *m) {
        memwatch_end(m);
}
