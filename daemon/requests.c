/*
 * What each control request does (see requests.h): the supervisor read into a status answer,
 * commands passed to it, and every failure turned into an error answer with its code.  The
 * connections themselves are control.c's.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "alerts.h"
#include "collector.h"
#include "deps.h"
#include "log.h"
#include "looptime.h"
#include "output.h"
#include "parse.h"
#include "proctree.h"
#include "proto.h"
#include "reload.h"
#include "requests.h"
#include "rolling.h"
#include "statusjson.h"
#include "utf8.h"

static StatusProbe status_probe(const Probe *p) {
        return (StatusProbe) {
                .state = p->state,
                .consecutive_failures = p->fails,
                .sent = p->sent,
                .answered = p->answered,
                .skipped = p->skipped,
                .has_last = p->has_last,
                .last_at = p->last_at,
                .last_latency = p->last_latency,
                .last_code = p->last_code,
                .last_class = p->last_class,
                .last_reason = p->last_reason,
        };
}

static json_t *instance_json(Supervisor *sup, const Instance *inst, usec_t t) {
        _cleanup_free_ pid_t *pids = NULL;
        OutputSpec spec = {};
        StatusProbe probe;
        InstanceView i;
        size_t n_pids = 0;
        char waiting[320];

        sup_instance_view(inst, &i);
        probe = status_probe(i.probe);
        if (i.state == STATE_WAITING) {
                /* what it waits for, now: that one's state and retry time move on */
                deps_describe(sup, inst, t, waiting, sizeof waiting);
                i.reason = waiting;
        }
        /* unreadable (out of memory, cgroupfs gone): the main process alone */
        if (i.pid > 0)
                (void) tree_pids(sup_tree(sup), i.name, i.pid, t, &pids, &n_pids);
        return status_instance_json(&(StatusInstance) {
                                            .name = i.name,
                                            .index = i.index,
                                            .state = i.state,
                                            .state_since = i.state_since,
                                            .started_at = i.started_at,
                                            .next_retry_at = i.next_retry_at,
                                            .restarts = i.restarts,
                                            .attempt = i.attempt,
                                            .pid = i.pid,
                                            .has_exited = i.has_exited,
                                            .exit_code = i.exit_code,
                                            .exit_signal = i.exit_signal,
                                            .exit_oom = i.exit_oom,
                                            .reason = i.reason,
                                            .last_output = i.last_output,
                                            .notify_status = i.notify_status,
                                            .probe = i.probe->url ? &probe : NULL,
                                            .pids = pids,
                                            .n_pids = n_pids,
                                            .watched = memwatch_wanted(i.cfg),
                                            .sampled = i.pid > 0 && i.mem->sampled,
                                            .memory_bytes = i.mem->bytes,
                                            .memory_is_pss = i.mem->is_pss,
                                            .pss_known = i.mem->pss_known,
                                            .pss_bytes = i.mem->pss_bytes,
                                            .pss_at = i.mem->pss_at,
                                            .cpu_s = i.mem->cpu_s,
                                            .cpu_percent = i.mem->cpu_pct,
                                            .memory_limit = i.cfg->memory_limit,
                                            .memory_warn = i.cfg->memory_warn,
                                            .memory_over = i.mem->judge.over,
                                            .memory_action = i.mem->note,
                                            .output = output_json(i.log_output,
                                                                      sup_output_spec(inst, &spec)),
                                    },
                                    t);
}

static json_t *worker_json(Worker *wk, json_t *instances, usec_t t) {
        const WorkerConfig *c = worker_config(wk);
        StatusWorker sw = {
                .name = c->name,
                .policy = restart_policy_to_string(c->policy),
                .autostart = c->autostart,
                .required = c->required,
        };

        for (int k = 0; k < _EVK_MAX; k++) {
                for (int n = 0; n < WIN_N_SPANS; n++)
                        sw.events[k][n] = worker_events(wk, (EventKind) k, t, win_spans[n]);
                sw.events_total[k] = worker_events_total(wk, (EventKind) k);
        }
        json_t *j = status_worker_json(&sw, instances);
        char buf[512];
        const char *roll = roll_describe(c->name, buf, sizeof buf);

        if (j && roll)
                json_object_set_new(j, "rolling", json_string(roll));
        return j;
}

/* Its instances, and its spare (rolling { surge }) while that runs: the one after them. */
static unsigned shown_instances(const Worker *w) {
        Instance *spare = worker_spare(w);
        InstanceView v;

        if (!spare)
                return worker_n_instances(w);
        sup_instance_view(spare, &v);
        return worker_n_instances(w) + (v.pid > 0);
}

/* The workers and instances that `name` (a worker or an instance; NULL: all) names. */
static json_t *status_json(Supervisor *sup, const char *name, ProtoError *ret_error) {
        json_t *workers = json_array();
        unsigned not_running = 0;
        usec_t t = 0;
        size_t n;
        Worker *const *wks = sup_workers(sup, &n);

        t = loop_now(sup_event(sup));
        for (size_t w = 0; w < n; w++) {
                Worker *wk = wks[w];
                json_t *insts = json_array();
                bool match = !name || strcmp(name, worker_config(wk)->name) == 0;

                for (unsigned k = 0; k < shown_instances(wk); k++) {
                        const Instance *i = worker_instance(wk, k);
                        InstanceView v;

                        if (!match && strcmp(name, sup_instance_name(i)) != 0)
                                continue;
                        sup_instance_view(i, &v);
                        json_array_append_new(insts, instance_json(sup, i, t));
                        not_running += status_not_running(v.state);
                }
                if (json_array_size(insts) == 0) {
                        json_decref(insts);
                        continue;
                }
                json_array_append_new(workers, worker_json(wk, insts, t));
        }
        if (name && json_array_size(workers) == 0) {
                json_decref(workers);
                *ret_error = PROTO_E_NO_SUCH_PROCESS;
                return NULL;
        }
        return status_answer_json(&(StatusDaemon) {
                                          .version = UPKEEP_VERSION,
                                          .pid = getpid(),
                                          .started_at = sup_started_at(sup),
                                          .config = sup_config(sup)->path,
                                          .orphans_reaped = sup_orphans_reaped(sup),
                                          .shutting_down = sup_shutting_down(sup),
                                  },
                                  t, not_running, workers);
}

static const char *const done_words[_EV_MAX] = {
        [EV_START] = "started",
        [EV_STOP] = "stopped",
        [EV_RESTART] = "restarted",
};

static json_t *command_json(Supervisor *sup, FsmEvent ev, const char *name, ProtoError *ret_error) {
        _cleanup_free_ Instance **l = NULL;
        json_t *results;
        size_t n;

        if (sup_shutting_down(sup)) {
                *ret_error = PROTO_E_SHUTTING_DOWN;
                return NULL;
        }
        if (sup_find_instances(sup, name, &l, &n) < 0) {
                *ret_error = PROTO_E_NO_SUCH_PROCESS;
                return NULL;
        }
        results = json_array();
        for (size_t k = 0; k < n; k++) {
                FsmReply r = sup_command(l[k], ev);
                /* while a previous upkeepd's processes are stopped, a start only waits for that */
                const char *done = sup_recovering(sup) && ev != EV_STOP ? "queued"
                                                                        : done_words[ev];
                const char *iname = sup_instance_name(l[k]);
                InstanceView v;

                /* started, but for the workers it comes after: say so */
                sup_instance_view(l[k], &v);
                if (ev != EV_STOP && v.state == STATE_WAITING)
                        done = "waiting";

                if (r == REPLY_OK)
                        json_array_append_new(results, json_pack("{s:s, s:b, s:s}", "name",
                                                                 iname, "ok", 1, "result",
                                                                 done));
                else
                        json_array_append_new(results,
                                              json_pack("{s:s, s:b, s:s}", "name", iname,
                                                        "ok", 0, "error", fsm_reply_to_string(r)));
        }
        return json_pack("{s:b, s:o}", "ok", 1, "results", results);
}

/*
 * restart: a worker with several instances (or each such worker, for "all") is rolled
 * (rolling.c); an instance, or a worker of one, is restarted at once as before.
 */
static json_t *command_result(const char *iname, FsmReply r, const char *done) {
        if (r == REPLY_OK)
                return json_pack("{s:s, s:b, s:s}", "name", iname, "ok", 1, "result", done);
        return json_pack("{s:s, s:b, s:s}", "name", iname, "ok", 0, "error",
                         fsm_reply_to_string(r));
}

static json_t *restart_json(Supervisor *sup, const char *name, ProtoError *ret_error) {
        bool all = strcmp(name, "all") == 0, rolls = false;
        json_t *results;
        size_t n;
        Worker *const *wks = sup_workers(sup, &n);

        for (size_t w = 0; w < n; w++)
                rolls = rolls || ((all || strcmp(worker_config(wks[w])->name, name) == 0) &&
                                  worker_n_instances(wks[w]) > 1);
        if (!rolls || sup_shutting_down(sup) || sup_recovering(sup))
                return command_json(sup, EV_RESTART, name, ret_error);
        results = json_array();
        for (size_t w = 0; w < n; w++) {
                const char *wname = worker_config(wks[w])->name;
                int r;

                if (!all && strcmp(wname, name) != 0)
                        continue;
                if (worker_n_instances(wks[w]) < 2) {
                        /* one instance: restarted at once, as an instance name is */
                        FsmReply q = sup_command(worker_instance(wks[w], 0), EV_RESTART);

                        json_array_append_new(results, command_result(
                                sup_instance_name(worker_instance(wks[w], 0)), q, "restarted"));
                        continue;
                }
                r = roll_begin(wks[w]);
                json_array_append_new(results,
                                      r >= 0 ? json_pack("{s:s, s:b, s:s}", "name", wname, "ok", 1,
                                                         "result", "rolling")
                                             : json_pack("{s:s, s:b, s:s}", "name", wname, "ok", 0,
                                                         "error", r == -EBUSY
                                                                 ? "a rolling restart is under way"
                                                                 : strerror(-r)));
        }
        return json_pack("{s:b, s:o}", "ok", 1, "results", results);
}

/* reload-worker NAME: the worker's reload-signal to each instance's main process. */
static json_t *reload_worker_json(Supervisor *sup, const char *name, ProtoError *ret_error) {
        _cleanup_free_ Instance **l = NULL;
        json_t *results;
        size_t n;

        if (sup_find_instances(sup, name, &l, &n) < 0) {
                *ret_error = PROTO_E_NO_SUCH_PROCESS;
                return NULL;
        }
        results = json_array();
        for (size_t k = 0; k < n; k++) {
                InstanceView v;
                const char *err = NULL;

                sup_instance_view(l[k], &v);
                if (v.cfg->reload_signal <= 0)
                        err = "no reload-signal configured";
                else if (v.pid <= 0 || v.state == STATE_STOPPING)
                        err = "not running";
                else if (kill(v.pid, v.cfg->reload_signal) < 0)
                        err = strerror(errno);
                else
                        log_msg(LOG_INFO, v.name, "sent %s (reload-worker)",
                                SIGNAL_LABEL(v.cfg->reload_signal));
                json_array_append_new(results,
                                      err ? json_pack("{s:s, s:b, s:s}", "name", v.name, "ok", 0,
                                                      "error", err)
                                          : json_pack("{s:s, s:b, s:s}", "name", v.name, "ok", 1,
                                                      "result", "signalled"));
        }
        return json_pack("{s:b, s:o}", "ok", 1, "results", results);
}

/* restart NAME --continue | --abort */
static json_t *roll_control_json(Supervisor *sup, const char *name, bool resume,
                                 ProtoError *ret_error) {
        bool known = false;
        size_t n;
        Worker *const *wks = sup_workers(sup, &n);
        bool back = false;
        int r;

        for (size_t w = 0; w < n; w++)
                known = known || strcmp(worker_config(wks[w])->name, name) == 0;
        if (!known) {
                *ret_error = PROTO_E_NO_SUCH_PROCESS;
                return NULL;
        }
        r = resume ? roll_resume(name) : roll_abort_back(name, &back);
        if (r < 0)
                return json_pack("{s:b, s:[{s:s, s:b, s:s}]}", "ok", 1, "results", "name", name,
                                 "ok", 0, "error",
                                 r == -ENOENT   ? "no rolling restart"
                                 : r == -EINVAL ? "the roll is not paused"
                                                : strerror(-r));
        return json_pack("{s:b, s:[{s:s, s:b, s:s}]}", "ok", 1, "results", "name", name, "ok", 1,
                         "result", resume ? "continued"
                                   : back ? "aborted, rolling back to the previous settings"
                                          : "aborted (a restart: nothing to roll back)");
}

static json_t *strv_json(char **l) {
        json_t *a = json_array();

        for (char **p = l; p && *p; p++)
                json_array_append_new(a, json_string(*p));
        return a;
}

static json_t *reload_json(Supervisor *sup, ProtoError *ret_error, char **ret_detail) {
        ReloadSummary sum;
        json_t *ans;

        if (sup_shutting_down(sup)) {
                *ret_error = PROTO_E_SHUTTING_DOWN;
                return NULL;
        }
        if (sup_reload_file(sup, &sum, ret_detail) < 0) {
                *ret_error = PROTO_E_RELOAD_FAILED;
                return NULL;
        }
        ans = json_pack("{s:b, s:o, s:o, s:o, s:o}", "ok", 1, "added", strv_json(sum.added),
                        "removed", strv_json(sum.removed), "restarted", strv_json(sum.restarted),
                        "kept", strv_json(sum.kept));
        reload_summary_done(&sum);
        return ans;
}

static json_t *failing_json(const InstanceView *i) {
        return json_pack("{s:s, s:s, s:s}", "name", i->name, "state", state_to_string(i->state),
                         "health", health_class_to_string(i->probe->state));
}

/* RUNNING, and healthy when probed: what a container HEALTHCHECK wants to know. */
static json_t *health_check_json(Supervisor *sup) {
        json_t *bad = json_array();
        bool any_required = false;
        size_t n;
        Worker *const *wks = sup_workers(sup, &n);

        for (size_t w = 0; w < n; w++)
                any_required = any_required || worker_config(wks[w])->required;
        for (size_t w = 0; w < n; w++) {
                Worker *wk = wks[w];
                if (any_required && !worker_config(wk)->required)
                        continue;
                for (unsigned k = 0; k < worker_n_instances(wk); k++) {
                        InstanceView i;

                        sup_instance_view(worker_instance(wk, k), &i);
                        if (status_health_failing(i.state, i.probe->url, i.probe->state,
                                                  i.admin_stopped, any_required))
                                json_array_append_new(bad, failing_json(&i));
                }
        }
        return json_pack("{s:b, s:b, s:s, s:o}", "ok", 1, "healthy", json_array_size(bad) == 0,
                         "scope", any_required ? "required" : "all", "failing", bad);
}

/* {"ok": true, "files": [{"name", "path"}]}: the file of each instance of `name`. */
static json_t *logfile_json(Supervisor *sup, const char *name, ProtoError *ret_error) {
        _cleanup_free_ Instance **l = NULL;
        json_t *files;
        size_t n;

        if (sup_find_instances(sup, name, &l, &n) < 0) {
                *ret_error = PROTO_E_NO_SUCH_PROCESS;
                return NULL;
        }
        files = json_array();
        for (size_t k = 0; k < n; k++) {
                OutputSpec spec = {};

                json_array_append_new(files, output_file_json(sup_output_spec(l[k], &spec)));
        }
        return json_pack("{s:b, s:o}", "ok", 1, "files", files);
}

static json_t *alerts_test_json(Alerts *alerts, const char *sink, ProtoError *ret_error) {
        if (alerts_test(alerts, sink) < 0) {
                *ret_error = PROTO_E_NO_SUCH_SINK;
                return NULL;
        }
        return json_pack("{s:b, s:s}", "ok", 1, "result", "queued");
}

/* {"ok": true, "text": ...}; NULL (out of memory) leaves *ret_error as it is. */
static json_t *metrics_json(Supervisor *sup, Alerts *alerts) {
        _cleanup_free_ char *text = NULL;
        size_t len;

        text = collector_text(sup, alerts, &len);
        if (!text)
                return NULL;
        return json_pack("{s:b, s:s%}", "ok", 1, "text", text, len);
}

/* A request that passed the checks of the command table; NULL with *ret_error set on failure. */
static json_t *serve(Supervisor *sup, Alerts *alerts, ProtoCmd cmd, const char *name,
                     ProtoError *ret_error, char **ret_detail) {
        json_t *ans;

        switch (cmd) {
        case PROTO_CMD_STATUS:
                return status_json(sup, name, ret_error);
        case PROTO_CMD_START:
                return command_json(sup, EV_START, name, ret_error);
        case PROTO_CMD_STOP:
                return command_json(sup, EV_STOP, name, ret_error);
        case PROTO_CMD_RESTART:
                return restart_json(sup, name, ret_error);
        case PROTO_CMD_RESTART_ALL_AT_ONCE:
                return command_json(sup, EV_RESTART, name, ret_error);
        case PROTO_CMD_RELOAD_WORKER:
                return reload_worker_json(sup, name, ret_error);
        case PROTO_CMD_RESTART_CONTINUE:
        case PROTO_CMD_RESTART_ABORT:
                return roll_control_json(sup, name, cmd == PROTO_CMD_RESTART_CONTINUE, ret_error);
        case PROTO_CMD_RELOAD:
                return reload_json(sup, ret_error, ret_detail);
        case PROTO_CMD_HEALTH:
                return health_check_json(sup);
        case PROTO_CMD_ALERTS:
                ans = alerts_json(alerts);
                if (ans)
                        json_object_set_new(ans, "ok", json_true());
                return ans;
        case PROTO_CMD_ALERTS_TEST:
                return alerts_test_json(alerts, name, ret_error);
        case PROTO_CMD_LOGFILE:
                return logfile_json(sup, name, ret_error);
        case PROTO_CMD_REOPEN_LOGS:
                return output_reopen_json();
        case PROTO_CMD_METRICS:
                return metrics_json(sup, alerts);
        default:
                *ret_error = PROTO_E_UNKNOWN_COMMAND;
                return NULL;
        }
}

/* Decode, check against the command table (right to command, a name), serve. */
json_t *request_answer(Supervisor *sup, Alerts *alerts, const char *line, size_t len,
                       bool may_command, uid_t uid) {
        _cleanup_(proto_request_done) ProtoRequest req = {};
        _cleanup_free_ char *detail = NULL;
        ProtoError error = PROTO_E_NO_MEMORY;
        const char *text = NULL; /* more precise than proto_error_text(error) */
        json_t *ans = NULL;
        ProtoCmd cmd;

        if (proto_decode_request(line, len, &req, &text) < 0)
                error = PROTO_E_INVALID_REQUEST;
        else if ((cmd = proto_cmd_from_string(req.cmd)) < 0)
                error = PROTO_E_UNKNOWN_COMMAND;
        else if (proto_commands[cmd].command && !may_command) {
                error = PROTO_E_PERMISSION;
                log_notice("control: uid %u may not '%s', refused", (unsigned) uid, req.cmd);
        } else if (proto_commands[cmd].name_use == PROTO_NAME_REQUIRED && !req.name) {
                error = PROTO_E_NEEDS_NAME;
                text = proto_commands[cmd].needs_name;
        } else
                ans = serve(sup, alerts, cmd, req.name, &error, &detail);

        if (!ans) {
                ans = proto_error_answer(error, text);
                if (ans && detail) {
                        /* one line: the first error of the file, with its file:line */
                        detail[strcspn(detail, "\n")] = '\0';
                        json_object_set_new(ans, "detail", utf8_json_string(detail));
                }
        }
        return ans;
}
