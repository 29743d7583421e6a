/*
 * Unit tests of the status answer (lib/statusjson.c) against the schema of man/upkeepctl.1
 * (JSON OUTPUT, status): every member, its type, its null cases, and the head of the line that
 * upkeepctl reads without parsing (PROTO_STATUS_HEAD).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <string.h>

#include "macro.h"
#include "proto.h"
#include "statusjson.h"

#define S(x) ((usec_t) (x) * USEC_PER_SEC)

static json_t *member(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        if (!v) {
                print_error("member %s missing\n", key);
                fail();
        }
        return v;
}

static void assert_keys(json_t *o, const char *const *keys) {
        size_t n = 0;

        assert_true(json_is_object(o));
        for (; keys[n]; n++)
                (void) member(o, keys[n]);
        assert_int_equal(json_object_size(o), n);
}

static json_t *output(void) {
        return json_pack("{s:s, s:i, s:i, s:i, s:b}", "file", "/var/log/upkeep/w.log",
                         "bytes_written", 12, "bytes_dropped", 0, "write_errors", 0, "failing",
                         0);
}

static void test_instance_running(void **state) {
        static const char *const keys[] = { "name", "index", "state", "state_since_s",
                                            "restarts", "attempt", "pid", "uptime_s",
                                            "last_exit", "next_retry_s", "reason", "health",
                                            "output", "notify_status", "pids", "memory", NULL };
        /* the tree as proctree.c lists it, the main pid anywhere in it */
        static const pid_t tree[] = { 4300, 4242, 4301 };
        StatusInstance i = {
                .name = "web:1", .index = 1, .state = STATE_RUNNING, .state_since = S(90),
                .started_at = S(88), .restarts = 2, .attempt = 0, .pid = 4242,
                .has_exited = true, .exit_signal = SIGKILL, .output = output(),
                .pids = tree, .n_pids = 3,
                .watched = true, .sampled = true, .memory_bytes = 530 << 20, .cpu_s = 12.5, .cpu_percent = 3.0,
                .memory_limit = 512 << 20, .memory_is_pss = true, .pss_known = true,
                .pss_bytes = 530 << 20, .pss_at = S(96),
                .memory_action = "restarted: memory 530M over limit 512M for 30s",
        };
        json_t *mem;
        json_t *o;

        (void) state;
        o = status_instance_json(&i, S(100));
        assert_keys(o, keys);
        assert_string_equal(json_string_value(member(o, "name")), "web:1");
        assert_int_equal(json_integer_value(member(o, "index")), 1);
        assert_string_equal(json_string_value(member(o, "state")), "RUNNING");
        assert_true(json_real_value(member(o, "state_since_s")) == 10.0);
        assert_int_equal(json_integer_value(member(o, "restarts")), 2);
        assert_int_equal(json_integer_value(member(o, "attempt")), 0);
        assert_int_equal(json_integer_value(member(o, "pid")), 4242);
        /* the main pid first, each pid once */
        assert_int_equal(json_array_size(member(o, "pids")), 3);
        assert_int_equal(json_integer_value(json_array_get(member(o, "pids"), 0)), 4242);
        assert_int_equal(json_integer_value(json_array_get(member(o, "pids"), 1)), 4300);
        assert_int_equal(json_integer_value(json_array_get(member(o, "pids"), 2)), 4301);
        assert_true(json_real_value(member(o, "uptime_s")) == 12.0);
        /* bytes and seconds; what is not configured is null */
        mem = member(o, "memory");
        assert_int_equal(json_integer_value(member(mem, "bytes")), 530 << 20);
        /* what the figure is: PSS here; the last PSS read and its age */
        assert_string_equal(json_string_value(member(mem, "measure")), "pss");
        assert_int_equal(json_integer_value(member(mem, "pss_bytes")), 530 << 20);
        assert_true(json_real_value(member(mem, "pss_age_s")) == 4.0);
        assert_true(json_real_value(member(mem, "cpu_s")) == 12.5);
        assert_true(json_real_value(member(mem, "cpu_percent")) == 3.0);
        assert_int_equal(json_integer_value(member(mem, "limit_bytes")), 512 << 20);
        assert_true(json_is_null(member(mem, "warn_bytes")));
        assert_string_equal(json_string_value(member(mem, "last_action")),
                            "restarted: memory 530M over limit 512M for 30s");
        /* a signal by its name without SIG */
        assert_string_equal(json_string_value(member(member(o, "last_exit"), "signal")), "KILL");
        assert_int_equal(json_object_size(member(o, "last_exit")), 1);
        assert_true(json_is_null(member(o, "next_retry_s")));
        assert_true(json_is_null(member(o, "reason")));
        assert_true(json_is_null(member(o, "notify_status")));
        assert_true(json_is_null(member(o, "health")));
        assert_string_equal(json_string_value(member(member(o, "output"), "file")),
                            "/var/log/upkeep/w.log");
        json_decref(o);
        /* under warn and limit: the RSS, said so; no PSS read yet: null */
        i.memory_is_pss = false;
        i.pss_known = false;
        i.output = output(); /* the answer took the first one */
        o = status_instance_json(&i, S(100));
        mem = member(o, "memory");
        assert_string_equal(json_string_value(member(mem, "measure")), "rss");
        assert_true(json_is_null(member(mem, "pss_bytes")));
        assert_true(json_is_null(member(mem, "pss_age_s")));
        json_decref(o);
}

static void test_instance_backoff(void **state) {
        StatusInstance i = {
                .name = "w", .state = STATE_BACKOFF, .state_since = S(99),
                .next_retry_at = S(100) + 300 * USEC_PER_MSEC, .restarts = 3, .attempt = 3,
                .has_exited = true, .exit_code = 1, .reason = "exited too quickly",
        };
        json_t *o;

        (void) state;
        o = status_instance_json(&i, S(100));
        assert_true(json_is_null(member(o, "pid")));
        assert_int_equal(json_array_size(member(o, "pids")), 0);
        /* memory not watched: null */
        assert_true(json_is_null(member(o, "memory")));
        assert_true(json_is_null(member(o, "uptime_s")));
        assert_int_equal(json_integer_value(member(member(o, "last_exit"), "code")), 1);
        assert_int_equal(json_object_size(member(o, "last_exit")), 1);
        assert_true(json_real_value(member(o, "next_retry_s")) == 0.3);
        assert_string_equal(json_string_value(member(o, "reason")), "exited too quickly");
        /* no output known: null, not a missing member */
        assert_true(json_is_null(member(o, "output")));
        json_decref(o);

        /* a bad end with its crash context, not UTF-8 at the end */
        i.last_output = "Traceback (most recent call last):\nValueError: x\xff";
        o = status_instance_json(&i, S(100));
        assert_int_equal(json_object_size(member(o, "last_exit")), 2);
        assert_string_equal(json_string_value(member(member(o, "last_exit"), "output")),
                            "Traceback (most recent call last):\nValueError: x\xef\xbf\xbd");
        json_decref(o);

        /* a retry that is due shows 0, never a negative time */
        i.next_retry_at = S(50);
        o = status_instance_json(&i, S(100));
        assert_true(json_is_real(member(o, "next_retry_s")));
        assert_true(json_real_value(member(o, "next_retry_s")) == 0.0);
        json_decref(o);

        /* never an exit yet, no reason: null; a clock read before state_since: 0, not 2^64 */
        i = (StatusInstance) { .name = "w", .state = STATE_STOPPED, .state_since = S(101),
                               .reason = "" };
        o = status_instance_json(&i, S(100));
        assert_true(json_is_null(member(o, "last_exit")));
        assert_true(json_is_null(member(o, "reason")));
        assert_true(json_is_null(member(o, "next_retry_s")));
        assert_true(json_real_value(member(o, "state_since_s")) == 0.0);
        json_decref(o);
}

/* The kernel's OOM killer: "oom": true beside the signal; never on another end. */
static void test_instance_oom(void **state) {
        StatusInstance i = {
                .name = "w", .state = STATE_BACKOFF, .state_since = S(99), .reason = "",
                .has_exited = true, .exit_signal = SIGKILL, .exit_oom = true,
        };
        json_t *o, *last;

        (void) state;
        o = status_instance_json(&i, S(100));
        last = member(o, "last_exit");
        assert_string_equal(json_string_value(member(last, "signal")), "KILL");
        assert_true(json_is_true(member(last, "oom")));
        assert_int_equal(json_object_size(last), 2);
        json_decref(o);

        i.exit_oom = false;
        o = status_instance_json(&i, S(100));
        assert_null(json_object_get(member(o, "last_exit"), "oom"));
        json_decref(o);
}

static void test_instance_health(void **state) {
        static const char *const keys[] = { "state", "consecutive_failures", "probes_sent",
                                            "probes_answered", "probes_skipped", "last", NULL };
        static const char *const last_keys[] = { "at_unix_s", "latency_ms", "http_code", "class",
                                                 "reason", NULL };
        StatusProbe p = { .state = HEALTH_UNKNOWN, .sent = 1 };
        StatusInstance i = { .name = "w", .state = STATE_STARTING, .pid = 7, .probe = &p };
        json_t *o, *h;

        (void) state;
        o = status_instance_json(&i, S(1));
        h = member(o, "health");
        assert_keys(h, keys);
        assert_string_equal(json_string_value(member(h, "state")), "unknown");
        assert_true(json_is_null(member(h, "last")));
        json_decref(o);

        p = (StatusProbe) { .state = HEALTH_UNHEALTHY, .consecutive_failures = 3, .sent = 9,
                            .answered = 8, .skipped = 1, .has_last = true,
                            .last_at = S(1700000000), .last_latency = 2500,
                            .last_code = 503, .last_class = HEALTH_UNHEALTHY,
                            /* not UTF-8: replaced, the answer stays valid */
                            .last_reason = "HTTP 503: \xff" };
        o = status_instance_json(&i, S(1));
        h = member(o, "health");
        assert_string_equal(json_string_value(member(h, "state")), "unhealthy");
        assert_int_equal(json_integer_value(member(h, "consecutive_failures")), 3);
        assert_int_equal(json_integer_value(member(h, "probes_sent")), 9);
        assert_int_equal(json_integer_value(member(h, "probes_answered")), 8);
        assert_int_equal(json_integer_value(member(h, "probes_skipped")), 1);
        assert_keys(member(h, "last"), last_keys);
        assert_true(json_real_value(member(member(h, "last"), "at_unix_s")) == 1700000000.0);
        assert_true(json_real_value(member(member(h, "last"), "latency_ms")) == 2.5);
        assert_int_equal(json_integer_value(member(member(h, "last"), "http_code")), 503);
        assert_string_equal(json_string_value(member(member(h, "last"), "class")), "unhealthy");
        assert_string_equal(json_string_value(member(member(h, "last"), "reason")),
                            "HTTP 503: \xef\xbf\xbd");
        json_decref(o);
}

static void test_worker(void **state) {
        static const char *const keys[] = { "name", "policy", "autostart", "required", "events",
                                            "instances", NULL };
        static const char *const spans[] = { "1m", "5m", "15m", "1h", "total", NULL };
        StatusWorker w = { .name = "flaky", .policy = "on-failure", .autostart = true };
        json_t *o, *ev;

        (void) state;
        w.events[EVK_CRASH][1] = 2;
        w.events_total[EVK_CRASH] = 3;
        o = status_worker_json(&w, json_array());
        assert_keys(o, keys);
        assert_string_equal(json_string_value(member(o, "policy")), "on-failure");
        assert_true(json_is_true(member(o, "autostart")));
        assert_true(json_is_false(member(o, "required")));
        assert_true(json_is_array(member(o, "instances")));
        ev = member(o, "events");
        assert_int_equal(json_object_size(ev), _EVK_MAX);
        for (int k = 0; k < _EVK_MAX; k++)
                assert_keys(member(ev, event_kind_to_string((EventKind) k)), spans);
        (void) member(ev, "health-failure");
        assert_int_equal(json_integer_value(member(member(ev, "crash"), "5m")), 2);
        assert_int_equal(json_integer_value(member(member(ev, "crash"), "total")), 3);
        assert_int_equal(json_integer_value(member(member(ev, "exit"), "1h")), 0);
        json_decref(o);
}

/* The whole answer: its members, and the head upkeepctl reads the exit status from. */
static void test_answer(void **state) {
        static const char *const keys[] = { "ok", "not_running", "version", "daemon", "workers",
                                            NULL };
        static const char *const daemon_keys[] = { "version", "pid", "uptime_s", "config",
                                                   "orphans_reaped", "shutting_down", NULL };
        StatusDaemon d = { .version = UPKEEP_VERSION, .pid = 17653, .started_at = S(10),
                           .config = "/etc/upkeep/upkeep.conf", .orphans_reaped = 4 };
        StatusWorker w = { .name = "w", .policy = "always" };
        StatusInstance i = { .name = "w", .state = STATE_FATAL };
        json_t *workers = json_array(), *insts = json_array(), *ans;
        char *line;
        unsigned n = 99;

        (void) state;
        json_array_append_new(insts, status_instance_json(&i, S(20)));
        json_array_append_new(workers, status_worker_json(&w, insts));
        ans = status_answer_json(&d, S(20), status_not_running(i.state), workers);
        assert_keys(ans, keys);
        assert_true(json_is_true(member(ans, "ok")));
        assert_int_equal(json_integer_value(member(ans, "version")), PROTO_VERSION);
        assert_keys(member(ans, "daemon"), daemon_keys);
        assert_true(json_real_value(member(member(ans, "daemon"), "uptime_s")) == 10.0);
        assert_string_equal(json_string_value(member(member(ans, "daemon"), "config")),
                            "/etc/upkeep/upkeep.conf");
        assert_int_equal(json_integer_value(member(member(ans, "daemon"), "orphans_reaped")), 4);
        assert_true(json_is_false(member(member(ans, "daemon"), "shutting_down")));
        assert_int_equal(json_array_size(member(ans, "workers")), 1);

        line = json_dumps(ans, JSON_COMPACT);
        assert_non_null(line);
        assert_memory_equal(line, PROTO_STATUS_HEAD, strlen(PROTO_STATUS_HEAD));
        assert_int_equal(proto_status_not_running(line, strlen(line), &n), 0);
        assert_int_equal(n, 1);
        free(line);
        json_decref(ans);

        assert_true(status_not_running(STATE_STARTING));
        assert_true(status_not_running(STATE_BACKOFF));
        assert_false(status_not_running(STATE_RUNNING));
}

static bool has_text(const char *line, const char *text) {
        if (strstr(line, text))
                return true;
        print_error("%s not in %s\n", text, line);
        return false;
}

/*
 * Times as the line upkeepd sends them (proto_dump()): milliseconds, 3 decimals at most, still
 * JSON numbers; not the 17 digits of the nearest double (13.851796999999999).
 */
static void test_answer_times(void **state) {
        /* upkeepd up for 13.851797 s */
        const usec_t started = S(2000000) + 148203, now = started + 13851797;
        StatusDaemon d = { .version = UPKEEP_VERSION, .pid = 1, .started_at = started,
                           .config = "/etc/upkeep/upkeep.conf" };
        StatusWorker w = { .name = "w", .policy = "always" };
        StatusProbe p = { .state = HEALTH_HEALTHY, .sent = 1, .answered = 1, .has_last = true,
                          .last_at = 1700000000123456ULL, .last_latency = 2345,
                          .last_class = HEALTH_HEALTHY };
        StatusInstance run = { .name = "w:0", .state = STATE_RUNNING, .pid = 7,
                               .state_since = now - 100000, .started_at = started,
                               .probe = &p };
        StatusInstance old = { .name = "w:1", .state = STATE_RUNNING, .pid = 8,
                               .state_since = now - 1234567891234ULL,
                               .started_at = now - 1234567891234ULL };
        StatusInstance wait = { .name = "w:2", .state = STATE_BACKOFF,
                                .state_since = now - S(2), .next_retry_at = now + 312145 };
        json_t *workers = json_array(), *insts = json_array(), *ans;
        char *line;

        (void) state;
        json_array_append_new(insts, status_instance_json(&run, now));
        json_array_append_new(insts, status_instance_json(&old, now));
        json_array_append_new(insts, status_instance_json(&wait, now));
        json_array_append_new(workers, status_worker_json(&w, insts));
        ans = status_answer_json(&d, now, 1, workers);
        line = proto_dump(ans);
        assert_non_null(line);
        assert_true(has_text(line, "\"pid\":1,\"uptime_s\":13.852,"));
        assert_true(has_text(line, "\"name\":\"w:0\",\"index\":0,\"state\":\"RUNNING\","
                                   "\"state_since_s\":0.1,"));
        assert_true(has_text(line, "\"pid\":7,\"uptime_s\":13.852,"));
        assert_true(has_text(line, "\"at_unix_s\":1700000000.123,\"latency_ms\":2.345,"));
        /* large values keep all their digits */
        assert_true(has_text(line, "\"state_since_s\":1234567.891,"));
        assert_true(has_text(line, "\"pid\":8,\"uptime_s\":1234567.891,"));
        /* a whole number of seconds stays a real */
        assert_true(has_text(line, "\"state_since_s\":2.0,"));
        assert_true(has_text(line, "\"next_retry_s\":0.312,"));
        free(line);
        json_decref(ans);
}

static void test_health_failing(void **state) {
        (void) state;
        /* running: failing only when probed and unhealthy or not known yet */
        assert_false(status_health_failing(STATE_RUNNING, false, HEALTH_UNKNOWN, false, false));
        assert_false(status_health_failing(STATE_RUNNING, true, HEALTH_HEALTHY, false, false));
        assert_false(status_health_failing(STATE_RUNNING, true, HEALTH_DEGRADED, false, false));
        assert_true(status_health_failing(STATE_RUNNING, true, HEALTH_UNHEALTHY, false, false));
        assert_true(status_health_failing(STATE_RUNNING, true, HEALTH_UNKNOWN, false, false));
        /* not running: failing, unless stopped by a command outside a required-only answer */
        assert_true(status_health_failing(STATE_BACKOFF, false, HEALTH_UNKNOWN, false, false));
        assert_true(status_health_failing(STATE_STARTING, true, HEALTH_HEALTHY, false, true));
        assert_false(status_health_failing(STATE_STOPPED, false, HEALTH_UNKNOWN, true, false));
        assert_true(status_health_failing(STATE_STOPPED, false, HEALTH_UNKNOWN, true, true));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_instance_running),
                cmocka_unit_test(test_instance_backoff),
                cmocka_unit_test(test_instance_oom),
                cmocka_unit_test(test_instance_health),
                cmocka_unit_test(test_worker),
                cmocka_unit_test(test_answer),
                cmocka_unit_test(test_answer_times),
                cmocka_unit_test(test_health_failing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
