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

#include "log.h"
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

/* One process: its PSS (RSS without smaps_rollup) and CPU ticks; false when it is gone. */
static bool sample_process(pid_t pid, uint64_t *bytes, uint64_t *ticks) {
        char path[64], buf[4096];
        uint64_t pss, rss;
        ProcStat st;

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        if (read_text(path, buf, sizeof buf) <= 0 || proc_parse_stat(buf, &st) < 0 ||
            st.state == 'Z' || st.state == 'X')
                return false;
        *ticks = st.utime + st.stime;
        snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int) pid);
        if (read_text(path, buf, sizeof buf) > 0 && proc_parse_rollup(buf, &pss, &rss) == 0)
                *bytes = pss;
        else
                *bytes = st.rss_pages * (uint64_t) sysconf(_SC_PAGESIZE);
        return true;
}

bool memwatch_sample(MemWatch *m, usec_t now) {
        _cleanup_free_ pid_t *pids = NULL;
        uint64_t bytes = 0, ticks = 0;
        bool has_main = false;
        unsigned procs = 0;
        size_t n = 0;
        double cpu;

        if (m->pid <= 0)
                return false;
        /* zombies are skipped below, where each process's stat is read anyway */
        (void) tree_pids_raw(m->spec.tree, m->spec.name, m->pid, now, &pids, &n);
        for (size_t k = 0; k <= n; k++) {
                /* the main process, when the tree could not list it (no cgroup of its own) */
                pid_t p = k < n ? pids[k] : (has_main ? 0 : m->pid);
                uint64_t b, t;

                if (p <= 0)
                        continue;
                has_main |= p == m->pid;
                if (!sample_process(p, &b, &t))
                        continue;
                bytes += b;
                ticks += t;
                procs++;
        }
        cpu = (double) ticks / (double) sysconf(_SC_CLK_TCK);
        m->cpu_pct = m->sampled && now > m->sampled_at && cpu >= m->cpu_s
                             ? 100.0 * (cpu - m->cpu_s) / ((double) (now - m->sampled_at) / 1e6)
                             : 0.0;
        m->bytes = bytes;
        m->procs = procs;
        m->cpu_s = cpu;
        m->sampled_at = now;
        m->sampled = true;
        return true;
}

static bool memwatch_wanted_memory(const WorkerConfig *cfg);

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

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        MemWatch *m = userdata;

        (void) src;
        /* the callback may end the process (restart): sample, judge, then re-arm if still on */
        if (memwatch_sample(m, usec))
                judge(m, usec);
        if (m->timer && m->pid > 0) {
                (void) sd_event_source_set_time(m->timer, usec + m->cfg->memory_interval);
                (void) sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT);
        }
        return 0;
}

static bool memwatch_wanted_memory(const WorkerConfig *cfg) {
        return cfg->memory_limit > 0 || cfg->memory_warn > 0;
}

bool memwatch_wanted(const WorkerConfig *cfg) {
        return memwatch_wanted_memory(cfg) || cfg->cpu_warn > 0;
}

static void arm(MemWatch *m) {
        usec_t now = loop_now(m->spec.event);
        int r;

        if (m->pid <= 0 || !memwatch_wanted(m->cfg)) {
                m->timer = sd_event_source_disable_unref(m->timer);
                return;
        }
        if (!m->timer) {
                /* a tenth of the interval of slack: samples of many workers wake us together */
                r = sd_event_add_time(m->spec.event, &m->timer, CLOCK_MONOTONIC,
                                      now + m->cfg->memory_interval, m->cfg->memory_interval / 10,
                                      on_timer, m);
                if (r < 0) {
                        log_msg(LOG_ERR, m->spec.name, "cannot sample memory: %s", strerror(-r));
                        return;
                }
                (void) sd_event_source_set_description(m->timer, "memory-sample");
        }
        (void) sd_event_source_set_time(m->timer, now + m->cfg->memory_interval);
        (void) sd_event_source_set_time_accuracy(m->timer, m->cfg->memory_interval / 10);
        (void) sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT);
}

void memwatch_init(MemWatch *m, const MemWatchSpec *spec, const WorkerConfig *cfg) {
        *m = (MemWatch) { .spec = *spec, .cfg = cfg };
}

void memwatch_configure(MemWatch *m, const WorkerConfig *cfg) {
        m->cfg = cfg;
        arm(m);
}

void memwatch_begin(MemWatch *m, pid_t pid) {
        m->pid = pid;
        m->sampled = false;
        m->judge = (MemJudge) {};
        m->cpu = (CpuJudge) {};
        arm(m);
}

void memwatch_end(MemWatch *m) {
        m->pid = 0;
        m->sampled = false;
        m->timer = sd_event_source_disable_unref(m->timer);
}

void memwatch_done(MemWatch *m) {
        memwatch_end(m);
}
