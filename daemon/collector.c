/*
 * What upkeepd exposes to Prometheus (see collector.h).  Labels are worker and instance, plus
 * the one label a family is about (state, status, reason, kind, severity, sink, result):
 * never a pid, an exit code or a command line, whose values would make a new series each run.
 *
 * The per-instance figures are one table: a new one (memory, CPU) is a row and a getter.  States,
 * health classes, event kinds and restart reasons are iterated from their enums, so a new one
 * shows up without a change here.
 */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "alerts.h"
#include "clock.h"
#include "collector.h"
#include "escalate.h"
#include "looptime.h"
#include "memwatch.h"
#include "metrics.h"
#include "output.h"
#include "proto.h"
#include "supervisor.h"

typedef struct Now {
        usec_t mono, real;
} Now;

/* One figure of an instance: false when it has none now (the sample is left out). */
typedef bool (*InstanceGetter)(const InstanceView *v, const Now *now, double *ret);

static bool get_up(const InstanceView *v, const Now *now, double *ret) {
        (void) now;
        *ret = v->state == STATE_RUNNING;
        return true;
}

static bool get_start_time(const InstanceView *v, const Now *now, double *ret) {
        if (v->pid <= 0 || v->started_at == 0 || v->started_at > now->mono)
                return false;
        *ret = usec_to_seconds_ms(now->real - (now->mono - v->started_at));
        return true;
}

static bool get_backoff(const InstanceView *v, const Now *now, double *ret) {
        *ret = v->state == STATE_BACKOFF && v->next_retry_at > now->mono
                       ? usec_to_seconds_ms(v->next_retry_at - now->mono)
                       : 0;
        return true;
}

/* FATAL is where the supervisor opens the circuit (SupObserver.circuit_opened) */
static bool get_circuit_open(const InstanceView *v, const Now *now, double *ret) {
        (void) now;
        *ret = v->state == STATE_FATAL;
        return true;
}

/* Sampled only for workers with memory-limit, memory-warn or cpu-warn (memwatch.c). */
static bool get_memory(const InstanceView *v, const Now *now, double *ret) {
        (void) now;
        if (v->pid <= 0 || !v->mem || !v->mem->sampled)
                return false;
        *ret = (double) v->mem->bytes;
        return true;
}

static bool get_cpu(const InstanceView *v, const Now *now, double *ret) {
        (void) now;
        if (v->pid <= 0 || !v->mem || !v->mem->sampled)
                return false;
        *ret = v->mem->cpu_s;
        return true;
}

static const struct {
        const char *name, *help;
        MetricType type;
        InstanceGetter get;
} instance_figures[] = {
        { "upkeep_worker_up", "Whether the instance is RUNNING (1) or not (0).", METRIC_GAUGE,
          get_up },
        { "upkeep_worker_start_time_seconds",
          "When the instance's current process was started, in seconds since the Unix epoch.",
          METRIC_GAUGE, get_start_time },
        { "upkeep_worker_backoff_seconds",
          "Seconds until the next restart of an instance in BACKOFF, else 0.", METRIC_GAUGE,
          get_backoff },
        { "upkeep_worker_circuit_open",
          "Whether the instance gave up (FATAL, circuit open) (1) or not (0).", METRIC_GAUGE,
          get_circuit_open },
        { "upkeep_worker_memory_bytes",
          "Memory of the instance's whole process tree at the last sample (PSS, bytes).",
          METRIC_GAUGE, get_memory },
        { "upkeep_worker_cpu_seconds_total",
          "CPU time of the instance's process tree at the last sample, in seconds.",
          METRIC_COUNTER, get_cpu },
};

/* One instance, read once per scrape. */
typedef struct Row {
        const Worker *worker;
        const Instance *inst;
        InstanceView v;
        MetricLabel labels[METRIC_MAX_LABELS]; /* worker, instance, and room for one more */
} Row;

typedef struct Collect {
        MetricSet set;
        Supervisor *sup;
        Now now;
        Row *rows;
        size_t n_rows;
} Collect;

static int read_rows(Collect *c) {
        size_t n, total = 0;
        Worker *const *wks = sup_workers(c->sup, &n);

        for (size_t w = 0; w < n; w++)
                total += worker_n_instances(wks[w]);
        c->rows = calloc(total, sizeof(Row));
        if (!c->rows && total > 0)
                return -1;
        for (size_t w = 0; w < n; w++)
                for (unsigned k = 0; k < worker_n_instances(wks[w]); k++) {
                        Row *r = &c->rows[c->n_rows++];

                        r->worker = wks[w];
                        r->inst = worker_instance(wks[w], k);
                        sup_instance_view(r->inst, &r->v);
                        r->labels[0] = (MetricLabel) { "worker", worker_config(wks[w])->name };
                        r->labels[1] = (MetricLabel) { "instance", r->v.name };
                }
        return 0;
}

static void collect_instance_figures(Collect *c) {
        for (size_t t = 0; t < ELEMENTSOF(instance_figures); t++) {
                MetricFamily f = metrics_family(&c->set, instance_figures[t].name,
                                                 instance_figures[t].type,
                                                 instance_figures[t].help);

                for (size_t k = 0; k < c->n_rows; k++) {
                        Row *r = &c->rows[k];
                        double value;

                        if (instance_figures[t].get(&r->v, &c->now, &value))
                                metrics_sample(&c->set, &f, NULL, value, r->labels, 2);
                }
        }
}

static void collect_states(Collect *c) {
        MetricFamily f = metrics_family(&c->set, "upkeep_worker_state", METRIC_GAUGE,
                                         "The instance's state: 1 for the one it is in.");

        for (size_t k = 0; k < c->n_rows; k++) {
                Row *r = &c->rows[k];

                for (int s = 0; s < _STATE_MAX; s++) {
                        r->labels[2] = (MetricLabel) { "state", state_to_string((InstanceState) s) };
                        metrics_sample(&c->set, &f, NULL, r->v.state == s, r->labels, 3);
                }
        }
}

/* Probed instances only: one-hot health, and the latency histogram. */
static void collect_health(Collect *c) {
        MetricFamily f = metrics_family(&c->set, "upkeep_worker_health", METRIC_GAUGE,
                                         "The health of a probed instance: 1 for its status.");
        MetricFamily h;

        for (size_t k = 0; k < c->n_rows; k++) {
                Row *r = &c->rows[k];

                if (!r->v.probe->url)
                        continue;
                for (int hc = 0; hc < _HEALTH_MAX; hc++) {
                        r->labels[2] = (MetricLabel) { "status",
                                                       health_class_to_string((HealthClass) hc) };
                        metrics_sample(&c->set, &f, NULL, r->v.probe->state == hc, r->labels, 3);
                }
        }
        h = metrics_family(&c->set, "upkeep_health_probe_duration_seconds", METRIC_HISTOGRAM,
                           "How long health probes took to answer, since upkeepd started.");
        for (size_t k = 0; k < c->n_rows; k++)
                if (c->rows[k].v.probe->url && c->rows[k].v.probe->latency)
                        metrics_histogram(&c->set, &h, c->rows[k].v.probe->latency,
                                          c->rows[k].labels, 2);
}

static void collect_restarts(Collect *c) {
        MetricFamily f = metrics_family(&c->set, "upkeep_worker_restarts_total", METRIC_COUNTER,
                                         "Restarts of the instance since upkeepd started, by "
                                         "reason.");

        for (size_t k = 0; k < c->n_rows; k++) {
                Row *r = &c->rows[k];

                for (int why = 0; why < _RESTART_REASON_MAX; why++) {
                        r->labels[2] = (MetricLabel) {
                                "reason", restart_reason_to_string((RestartReason) why)
                        };
                        metrics_sample(&c->set, &f, NULL, (double) r->v.restarts_by[why],
                                       r->labels, 3);
                }
        }
}

/* Per worker: its event windows' totals. */
static void collect_events(Collect *c) {
        MetricFamily f = metrics_family(&c->set, "upkeep_worker_events_total", METRIC_COUNTER,
                                         "Events of the worker since upkeepd started, by kind.");
        size_t n;
        Worker *const *wks = sup_workers(c->sup, &n);

        for (size_t w = 0; w < n; w++)
                for (int k = 0; k < _EVK_MAX; k++) {
                        MetricLabel l[2] = {
                                { "worker", worker_config(wks[w])->name },
                                { "kind", event_kind_to_string((EventKind) k) },
                        };

                        metrics_sample(&c->set, &f, NULL,
                                       (double) worker_events_total(wks[w], (EventKind) k), l, 2);
                }
}

/* The bytes of the instance's output written to and dropped before its log file. */
static void collect_logs(Collect *c) {
        MetricFamily f = metrics_family(&c->set, "upkeep_log_bytes_total", METRIC_COUNTER,
                                        "Bytes of the instance's output written to its log "
                                        "file (shared by the instances of one file).");

        for (size_t k = 0; k < c->n_rows; k++)
                metrics_sample(&c->set, &f, NULL,
                               (double) output_bytes_written(c->rows[k].v.log_output),
                               c->rows[k].labels, 2);
        f = metrics_family(&c->set, "upkeep_log_bytes_dropped_total", METRIC_COUNTER,
                           "Bytes of the instance's output dropped because its log file could "
                           "not keep up.");
        for (size_t k = 0; k < c->n_rows; k++)
                metrics_sample(&c->set, &f, NULL,
                               (double) output_bytes_dropped(c->rows[k].v.log_output),
                               c->rows[k].labels, 2);
}

static void collect_alerts(Collect *c, Alerts *alerts) {
        MetricFamily fir = metrics_family(&c->set, "upkeep_alerts_firing", METRIC_GAUGE,
                                           "Workers whose alert is firing, by severity.");
        MetricFamily del;
        static const char *const results[] = { "sent", "failed", "dropped" };
        json_t *all = alerts ? alerts_json(alerts) : NULL, *active, *sinks, *x;
        size_t i;

        active = json_object_get(all, "active");
        for (int s = SEV_NONE + 1; s < _SEV_MAX; s++) {
                const char *name = severity_to_string((Severity) s);
                unsigned count = 0;

                json_array_foreach(active, i, x)
                        count += strcmp(json_string_value(json_object_get(x, "severity")) ?: "",
                                        name) == 0;
                metrics_sample(&c->set, &fir, NULL, count,
                               (MetricLabel[]) { { "severity", name } }, 1);
        }
        del = metrics_family(&c->set, "upkeep_alert_deliveries_total", METRIC_COUNTER,
                             "Notifications per sink since upkeepd started, by result.");
        sinks = json_object_get(all, "sinks");
        json_array_foreach(sinks, i, x)
                for (size_t r = 0; r < ELEMENTSOF(results); r++)
                        metrics_sample(&c->set, &del, NULL,
                                       (double) json_integer_value(json_object_get(x, results[r])),
                                       (MetricLabel[]) {
                                               { "sink", json_string_value(json_object_get(x, "name")) },
                                               { "result", results[r] },
                                       },
                                       2);
        json_decref(all);
}

/* ---- upkeepd itself, as Prometheus' own clients report a process ------------------------------ */

static int read_file(const char *path, char *buf, size_t size) {
        FILE *f = fopen(path, "re");
        size_t n;

        if (!f)
                return -1;
        n = fread(buf, 1, size - 1, f);
        fclose(f);
        buf[n] = '\0';
        return 0;
}

static double boot_time(void) {
        char buf[4096], *p;

        if (read_file("/proc/stat", buf, sizeof buf) < 0 || !(p = strstr(buf, "\nbtime ")))
                return 0;
        return strtod(p + 7, NULL);
}

static unsigned open_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        unsigned n = 0;

        if (!d)
                return 0;
        while ((de = readdir(d)))
                n += de->d_name[0] != '.';
        closedir(d);
        return n > 0 ? n - 1 : 0; /* not the directory's own */
}

static void gauge(Collect *c, const char *name, MetricType type, const char *help, double v) {
        MetricFamily f = metrics_family(&c->set, name, type, help);

        metrics_sample(&c->set, &f, NULL, v, NULL, 0);
}

static void collect_process(Collect *c) {
        unsigned long long utime = 0, stime = 0, start = 0, vsize = 0;
        long rss = 0, tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
        char buf[1024], *p;
        struct rlimit rl;

        /* the fields after the command name, which may hold anything but ends at the last ')' */
        if (read_file("/proc/self/stat", buf, sizeof buf) == 0 && (p = strrchr(buf, ')')))
                (void) sscanf(p + 2,
                              "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d "
                              "%*d %*d %*d %*d %llu %llu %ld",
                              &utime, &stime, &start, &vsize, &rss);
        if (tick <= 0)
                tick = 100;
        gauge(c, "process_cpu_seconds_total", METRIC_COUNTER,
              "Total user and system CPU time spent in seconds.", (double) (utime + stime) / tick);
        gauge(c, "process_resident_memory_bytes", METRIC_GAUGE, "Resident memory size in bytes.",
              (double) rss * page);
        gauge(c, "process_virtual_memory_bytes", METRIC_GAUGE, "Virtual memory size in bytes.",
              (double) vsize);
        gauge(c, "process_start_time_seconds", METRIC_GAUGE,
              "Start time of the process since unix epoch in seconds.",
              boot_time() + (double) start / tick);
        gauge(c, "process_open_fds", METRIC_GAUGE, "Number of open file descriptors.",
              open_fds());
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
                gauge(c, "process_max_fds", METRIC_GAUGE,
                      "Maximum number of open file descriptors.", (double) rl.rlim_cur);
}

char *collector_text(Supervisor *sup, Alerts *alerts, size_t *ret_len) {
        Collect c = {
                .sup = sup,
                .now = { .mono = loop_now(sup_event(sup)), .real = clock_real_usec() },
        };
        char *text = NULL;
        MetricFamily info;

        if (read_rows(&c) < 0)
                return NULL;
        info = metrics_family(&c.set, "upkeep_build_info", METRIC_GAUGE,
                              "upkeep's version, as a label; always 1.");
        metrics_sample(&c.set, &info, NULL, 1, (MetricLabel[]) { { "version", UPKEEP_VERSION } }, 1);
        collect_instance_figures(&c);
        collect_states(&c);
        collect_health(&c);
        collect_restarts(&c);
        collect_events(&c);
        collect_logs(&c);
        collect_alerts(&c, alerts);
        collect_process(&c);
        text = metrics_render(&c.set, ret_len);
        metrics_set_done(&c.set);
        free(c.rows);
        return text;
}
