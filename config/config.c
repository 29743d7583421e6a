/*
 * Configuration parsing with libconfuse (see config.h).
 *
 * Every typed value (durations, sizes, fractions, signals, policies) is an integer or float
 * option with a parse callback, so it is converted exactly once, while libconfuse still knows the
 * line it came from; a bad value is reported as "file:line: ..." through our error function.
 * Unknown keys and sections are errors (libconfuse's default), reported with the keys that
 * would have been accepted.  After the parse the tree is copied into a plain Config (confcopy.c)
 * and the libconfuse tree is dropped, so nothing else depends on libconfuse.
 */
#include <confuse.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "confcopy.h"
#include "config.h"
#include "confstash.h"
#include "memjudge.h"
#include "parse.h"

/* libconfuse's error callback carries no user pointer; parsing is single-threaded. */
static FILE *cfg_errors;
static unsigned cfg_n_errors;
static const char *cfg_display_name; /* the file being parsed from a buffer */

static void append_valid_keys(cfg_t *cfg) {
        const char *sep = "";

        fputs(" (expected one of:", cfg_errors);
        for (cfg_opt_t *o = cfg->opts; o && o->name; o++) {
                fprintf(cfg_errors, "%s %s", sep, o->name);
                sep = ",";
        }
        fputc(')', cfg_errors);
}

/* libconfuse's own messages, completed with what was expected. */
static const struct {
        const char *prefix, *hint;
} confuse_hints[] = {
        { "found duplicate title", ", expected each worker and notify name once" },
        { "invalid boolean value", ", expected true or false" },
        { "invalid integer value", ", expected a whole number" },
        { "invalid floating point value", ", expected a number such as 2 or 1.5" },
        { "missing title for section", ", expected a name after the section keyword" },
        { "missing equal sign", ", expected '=' and a value" },
        { "premature end of file", ", expected a closing '}'" },
        { "unexpected token", ", expected 'key = value' or 'section { ... }'" },
        { "unexpected end of file", ", expected a closing '}'" },
};

static void error_func(cfg_t *cfg, const char *fmt, va_list ap) {
        if (!cfg_errors)
                return;
        cfg_n_errors++;
        if (cfg && (cfg_display_name || cfg->filename))
                fprintf(cfg_errors, "%s:%d: ", cfg_display_name ?: cfg->filename, cfg->line);
        vfprintf(cfg_errors, fmt, ap);
        /* libconfuse says what was wrong: also say what would have been right */
        if (cfg && strncmp(fmt, "no such option", 14) == 0)
                append_valid_keys(cfg);
        else
                for (size_t i = 0; i < ELEMENTSOF(confuse_hints); i++)
                        if (strncmp(fmt, confuse_hints[i].prefix,
                                    strlen(confuse_hints[i].prefix)) == 0) {
                                fputs(confuse_hints[i].hint, cfg_errors);
                                break;
                        }
        fputc('\n', cfg_errors);
}

static SectionStash stash_workers, stash_sinks;

/* Limits per duration key: a value outside them is a configuration error, not a surprise later. */
static const struct {
        const char *key;
        usec_t min, max;
} duration_limits[] = {
        { "stop-timeout", 0, CFG_MAX_STOP_TIMEOUT },
        { "start-secs", 0, CFG_MAX_START_SECS },
        { "backoff", 0, USEC_PER_DAY },
        { "max-delay", 0, 7 * USEC_PER_DAY },
        { "reset-after", 0, 365 * USEC_PER_DAY },
        { "retry-after", 0, 7 * USEC_PER_DAY },
        { "interval", 100 * USEC_PER_MSEC, USEC_PER_DAY },
        { "timeout", 10 * USEC_PER_MSEC, USEC_PER_HOUR },
        { "start-period", 0, USEC_PER_DAY },
        { "start-interval", 100 * USEC_PER_MSEC, USEC_PER_DAY },
        { "within", USEC_PER_SEC, USEC_PER_HOUR },
        { "repeat", 0, 30 * USEC_PER_DAY },
        { "resolve-after", 0, USEC_PER_DAY },
        { "resend", USEC_PER_SEC, USEC_PER_HOUR },
        { "memory-interval", 100 * USEC_PER_MSEC, USEC_PER_HOUR },
        { "cpu-for", USEC_PER_SEC, USEC_PER_DAY },
};

static int cb_duration(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        char lo[32], hi[32];
        usec_t d;
        int r;

        r = parse_duration(value, &d);
        if (r < 0) {
                cfg_error(cfg, "%s: invalid duration '%s', expected a number with a unit "
                          "(us, ms, s, m, h, d), e.g. 500ms, 10s, 5m",
                          opt->name, value);
                return -1;
        }
        for (size_t i = 0; i < ELEMENTSOF(duration_limits); i++)
                if (strcmp(duration_limits[i].key, opt->name) == 0 &&
                    (d < duration_limits[i].min || d > duration_limits[i].max)) {
                        cfg_error(cfg, "%s: %s is out of range, expected %s to %s", opt->name, value,
                                  format_duration(lo, sizeof lo, duration_limits[i].min),
                                  format_duration(hi, sizeof hi, duration_limits[i].max));
                        return -1;
                }
        *(long *) result = (long) d;
        return 0;
}

static int cb_signal(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        int sig;

        if (parse_signal(value, &sig) < 0) {
                cfg_error(cfg, "%s: unknown signal '%s', expected a name like TERM, INT, QUIT, "
                          "HUP or a number", opt->name, value);
                return -1;
        }
        *(long *) result = sig;
        return 0;
}

static int cb_policy(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        long v = restart_policy_from_string(value);

        if (v >= 0) {
                *(long *) result = v;
                return 0;
        }
        cfg_error(cfg, "%s: unknown policy '%s', expected always, on-failure or never", opt->name,
                  value);
        return -1;
}

static int cb_fraction(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        double f;

        if (parse_fraction(value, &f) < 0) {
                cfg_error(cfg, "%s: invalid value '%s', expected a percentage from 0%% to 100%%",
                          opt->name, value);
                return -1;
        }
        *(double *) result = f;
        return 0;
}

static int cb_degraded(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        long v = degraded_policy_from_string(value);

        if (v >= 0) {
                *(long *) result = v;
                return 0;
        }
        cfg_error(cfg, "%s: unknown value '%s', expected ignore, alert or restart", opt->name,
                  value);
        return -1;
}

static int cb_ready(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        if (strcmp(value, "started") == 0)
                *(long *) result = READY_STARTED;
        else if (strcmp(value, "healthy") == 0)
                *(long *) result = READY_HEALTHY;
        else {
                cfg_error(cfg, "%s: unknown value '%s', expected started or healthy", opt->name,
                          value);
                return -1;
        }
        return 0;
}

static int cb_sink_type(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        long v = sink_type_from_string(value);

        if (v >= 0) {
                *(long *) result = v;
                return 0;
        }
        cfg_error(cfg, "%s: unknown type '%s', expected log, exec, webhook, slack or "
                  "alertmanager", opt->name, value);
        return -1;
}

static int cb_severity(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        Severity sv = severity_from_string(value);

        if (sv <= SEV_NONE) {
                cfg_error(cfg, "%s: unknown severity '%s', expected warning, critical or fatal",
                          opt->name, value);
                return -1;
        }
        *(long *) result = sv;
        return 0;
}

static int cb_event(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        EventKind k = event_kind_from_string(value);

        if (strcmp(value, "gave-up") == 0)
                *(long *) result = ALERT_EVENT_GAVE_UP;
        else if (k != _EVK_INVALID)
                *(long *) result = k;
        else {
                cfg_error(cfg, "%s: unknown event '%s', expected exit, crash, health-failure, "
                          "timeout, restart, degraded or gave-up", opt->name, value);
                return -1;
        }
        return 0;
}

static int validate_rule(cfg_t *cfg, cfg_opt_t *opt) {
        cfg_t *r = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
        Severity sv = severity_from_string(cfg_title(r));

        if (sv <= SEV_NONE) {
                cfg_error(cfg, "rule '%s': unknown severity, expected rule warning, rule critical "
                          "or rule fatal", cfg_title(r));
                return -1;
        }
        if (cfg_getint(r, "count") < 1 || cfg_getint(r, "count") > 100000) {
                cfg_error(cfg, "rule %s: count %ld is out of range, expected 1 to 100000",
                          cfg_title(r), cfg_getint(r, "count"));
                return -1;
        }
        return 0;
}

static int validate_sink(cfg_t *cfg, cfg_opt_t *opt) {
        cfg_t *n = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
        long type = cfg_getint(n, "type");

        if ((type == SINK_WEBHOOK || type == SINK_SLACK || type == SINK_ALERTMANAGER) &&
            !cfg_getstr(n, "url")) {
                cfg_error(cfg, "notify '%s': type %s needs 'url', expected the endpoint's URL",
                          cfg_title(n), sink_type_to_string((SinkType) type));
                return -1;
        }
        if (type == SINK_EXEC && !cfg_getstr(n, "command")) {
                cfg_error(cfg, "notify '%s': type exec needs 'command', expected the program to "
                          "run", cfg_title(n));
                return -1;
        }
        if (cfg_getint(n, "queue") < 1 || cfg_getint(n, "queue") > 100000) {
                cfg_error(cfg, "notify '%s': queue %ld is out of range, expected 1 to 100000",
                          cfg_title(n), cfg_getint(n, "queue"));
                return -1;
        }
        return conf_stash_take(cfg, opt, &stash_sinks, "notify");
}

static int cb_mode(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        char *end;
        long m = strtol(value, &end, 8);

        if (*end || m < 0 || m > 0777 || (m & 0600) != 0600) {
                cfg_error(cfg, "%s: invalid mode '%s', expected octal permissions that include "
                          "0600, e.g. 0660", opt->name, value);
                return -1;
        }
        *(long *) result = m;
        return 0;
}

static int cb_umask(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        unsigned m;

        if (parse_umask(value, &m) < 0) {
                cfg_error(cfg, "%s: invalid umask '%s', expected 1 to 4 octal digits up to 0777, "
                          "e.g. \"022\"", opt->name, value);
                return -1;
        }
        *(long *) result = (long) m;
        return 0;
}

static int cb_others(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        if (strcmp(value, "read") == 0)
                *(long *) result = 1;
        else if (strcmp(value, "none") == 0)
                *(long *) result = 0;
        else {
                cfg_error(cfg, "%s: unknown value '%s', expected read or none", opt->name, value);
                return -1;
        }
        return 0;
}

static int cb_size(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        uint64_t v;

        if (parse_size(value, &v) < 0 || v < 1 || v > (1ULL << 30)) {
                cfg_error(cfg, "%s: invalid size '%s', expected 1 to 1G with an optional unit "
                          "(K, M, G), e.g. 16K", opt->name, value);
                return -1;
        }
        *(long *) result = (long) v;
        return 0;
}

/* memory-limit, memory-warn: 1M up to the machine's memory (above it, it never acts). */
static int cb_memory(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        uint64_t v, machine = (uint64_t) sysconf(_SC_PHYS_PAGES) * (uint64_t) sysconf(_SC_PAGESIZE);
        char hi[32];

        if (parse_size(value, &v) < 0 || v < CFG_MEMORY_MIN || v > machine) {
                cfg_error(cfg, "%s: invalid or out of range '%s', expected a size from 1M to "
                          "this machine's memory (%s) with a unit (K, M, G), e.g. 512M",
                          opt->name, value, format_bytes(hi, sizeof hi, machine));
                return -1;
        }
        *(long *) result = (long) v;
        return 0;
}

/* cpu-warn: "90%" of one CPU, up to every CPU of the machine ("400%" with 4). */
static int cb_cpu(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result) {
        long max = 100 * sysconf(_SC_NPROCESSORS_ONLN);
        char *end;
        double v;

        errno = 0;
        v = strtod(value, &end);
        if (errno || end == value || strcmp(end, "%") != 0 || !(v >= 1) || v > (double) max) {
                cfg_error(cfg, "%s: invalid value '%s', expected a percentage of one CPU from 1%% "
                          "to %ld%% (every CPU of this machine), e.g. 90%%", opt->name, value, max);
                return -1;
        }
        *(double *) result = v;
        return 0;
}

static int validate_memory_action(cfg_t *cfg, cfg_opt_t *opt) {
        const char *s = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);
        MemoryAction a;
        int sig;

        if (!s || memory_action_parse(s, &a, &sig) < 0) {
                cfg_error(cfg, "%s: unknown action '%s', expected restart, alert or \"signal "
                          "NAME\" (e.g. \"signal HUP\")", opt->name, s ?: "");
                return -1;
        }
        return 0;
}

static int validate_give_up(cfg_t *cfg, cfg_opt_t *opt) {
        unsigned n;
        usec_t w;

        if (conf_parse_give_up(cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1), &n, &w) < 0) {
                cfg_error(cfg, "%s: invalid value '%s', expected \"N in DURATION\" with N from 1 "
                          "to %d and a duration from 1s to 7d, e.g. \"10 in 10m\"", opt->name,
                          cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1), CFG_MAX_GIVE_UP);
                return -1;
        }
        return 0;
}

static int validate_count(cfg_t *cfg, cfg_opt_t *opt) {
        long n = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);

        if (n < 1 || n > 1000) {
                cfg_error(cfg, "%s: %ld is out of range, expected 1 to 1000", opt->name, n);
                return -1;
        }
        return 0;
}

static int validate_limit(cfg_t *cfg, cfg_opt_t *opt) {
        long n = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);

        if (n < 0 || n > 1048576) {
                cfg_error(cfg, "%s: %ld is out of range, expected 0 (inherit) to 1048576",
                          opt->name, n);
                return -1;
        }
        return 0;
}

static int validate_url(cfg_t *cfg, cfg_opt_t *opt) {
        const char *s = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);

        if (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0)
                return 0;
        if (strncmp(s, "unix:/", 6) == 0) {
                const char *colon = strchr(s + 5, ':');
                if (colon && colon[1] == '/' && colon - (s + 5) < 108)
                        return 0;
        }
        cfg_error(cfg, "%s: invalid URL '%s', expected http://HOST:PORT/PATH, https://... or "
                  "unix:/path/to.sock:/PATH", opt->name, s);
        return -1;
}

static int validate_factor(cfg_t *cfg, cfg_opt_t *opt) {
        double f = cfg_opt_getnfloat(opt, cfg_opt_size(opt) - 1);

        /* libconfuse reads with strtod(), which takes "nan" and "inf": every comparison with
         * NaN is false, so the range is written to let only real numbers through */
        if (!isfinite(f) || !(f >= 1.0 && f <= 100.0)) {
                cfg_error(cfg, "%s: %g is out of range, expected 1 to 100", opt->name, f);
                return -1;
        }
        return 0;
}

static int validate_instances(cfg_t *cfg, cfg_opt_t *opt) {
        long n = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);

        if (n < 1 || n > CFG_MAX_INSTANCES) {
                cfg_error(cfg, "%s: %ld is out of range, expected 1 to %d", opt->name, n,
                          CFG_MAX_INSTANCES);
                return -1;
        }
        return 0;
}

static int validate_command(cfg_t *cfg, cfg_opt_t *opt) {
        _cleanup_strv_free_ char **argv = NULL;
        const char *err = NULL;
        int r;

        r = argv_split(cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1), &argv, &err);
        if (r == -ENOMEM)
                return -1;
        if (r < 0) {
                cfg_error(cfg, "%s: %s, expected a program and its arguments", opt->name, err);
                return -1;
        }
        return 0;
}

static int validate_environment(cfg_t *cfg, cfg_opt_t *opt) {
        for (unsigned i = 0; i < cfg_opt_size(opt); i++) {
                const char *s = cfg_opt_getnstr(opt, i);
                const char *eq = strchr(s, '=');

                if (!eq || eq == s) {
                        cfg_error(cfg, "%s: entry %u is not an assignment, expected "
                                  "\"NAME=value\"", opt->name, i + 1);
                        return -1;
                }
        }
        return 0;
}

static int validate_path(cfg_t *cfg, cfg_opt_t *opt) {
        const char *s = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);

        if (!s || !*s) {
                cfg_error(cfg, "%s: empty path, expected a path", opt->name);
                return -1;
        }
        return 0;
}

/* upkeepd binds the socket at start: a path that does not fit sun_path fails there, not here. */
static int validate_socket(cfg_t *cfg, cfg_opt_t *opt) {
        const char *s = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);
        size_t max = sizeof(((struct sockaddr_un *) NULL)->sun_path) - 1;

        if (validate_path(cfg, opt) < 0)
                return -1;
        if (strlen(s) > max) {
                cfg_error(cfg, "%s: path of %zu bytes is too long for a unix socket, expected at "
                          "most %zu", opt->name, strlen(s), max);
                return -1;
        }
        return 0;
}

/*
 * A worker's name is a file name under log-dir and a word on the control socket, so it is a
 * safe path component ("." and ".." are not) and not "all", which the control commands read as
 * every worker.
 */
static bool valid_worker_name(const char *s) {
        if (!s || !*s || strlen(s) > 64 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("_.-", *s))
                        return false;
        return true;
}

/* Called by libconfuse at the end of each worker section: checks that need several keys. */
static int validate_worker(cfg_t *cfg, cfg_opt_t *opt) {
        cfg_t *w = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
        cfg_t *rs = cfg_getsec(w, "restart");

        if (strcmp(cfg_title(w), "all") == 0) {
                cfg_error(cfg, "worker 'all': the name is reserved (upkeepctl reads it as every "
                          "worker), expected another name");
                return -1;
        }
        if (!valid_worker_name(cfg_title(w))) {
                cfg_error(cfg, "worker '%s': invalid name, expected 1 to 64 letters, digits, "
                          "'_', '.' or '-', other than '.' and '..'", cfg_title(w));
                return -1;
        }
        if (!cfg_getstr(w, "command")) {
                cfg_error(cfg, "worker '%s': 'command' is missing, expected the program to run",
                          cfg_title(w));
                return -1;
        }
        if (cfg_size(w, "health") > 0 && !cfg_getstr(cfg_getsec(w, "health"), "url")) {
                cfg_error(cfg, "worker '%s': health section without 'url', expected the URL to "
                          "probe", cfg_title(w));
                return -1;
        }
        if (cfg_getint(w, "memory-limit") > 0 && cfg_getint(w, "memory-warn") >=
                                                       cfg_getint(w, "memory-limit")) {
                cfg_error(cfg, "worker '%s': memory-warn is not below memory-limit, expected "
                          "memory-warn < memory-limit", cfg_title(w));
                return -1;
        }
        if (cfg_getint(rs, "max-delay") < cfg_getint(rs, "backoff")) {
                cfg_error(cfg, "worker '%s': restart max-delay is below backoff, expected "
                          "max-delay >= backoff", cfg_title(w));
                return -1;
        }
        return conf_stash_take(cfg, opt, &stash_workers, "worker");
}

#define DURATION(name, def) CFG_INT_CB(name, (long) (def), CFGF_NONE, cb_duration)

static cfg_opt_t restart_opts[] = {
        CFG_INT_CB("policy", RESTART_ALWAYS, CFGF_NONE, cb_policy),
        DURATION("backoff", CFG_BACKOFF_INITIAL),
        CFG_FLOAT("factor", CFG_BACKOFF_FACTOR, CFGF_NONE),
        DURATION("max-delay", CFG_BACKOFF_MAX),
        CFG_FLOAT_CB("jitter", CFG_BACKOFF_JITTER, CFGF_NONE, cb_fraction),
        DURATION("reset-after", 10 * USEC_PER_MINUTE),
        CFG_STR("give-up", NULL, CFGF_NODEFAULT),
        DURATION("retry-after", 0),
        CFG_END(),
};

static cfg_opt_t health_opts[] = {
        CFG_STR("url", NULL, CFGF_NODEFAULT),
        DURATION("interval", 10 * USEC_PER_SEC),
        DURATION("timeout", 2 * USEC_PER_SEC),
        DURATION("start-period", 0),
        DURATION("start-interval", USEC_PER_SEC),
        CFG_INT("failures", 3, CFGF_NONE),
        CFG_INT("successes", 1, CFGF_NONE),
        CFG_INT_CB("degraded", DEGRADED_ALERT, CFGF_NONE, cb_degraded),
        CFG_INT_CB("max-body", 16 * 1024, CFGF_NONE, cb_size),
        CFG_END(),
};

static cfg_opt_t rule_opts[] = {
        CFG_INT_CB("event", EVK_RESTART, CFGF_NONE, cb_event),
        CFG_INT("count", 1, CFGF_NONE),
        DURATION("within", 5 * USEC_PER_MINUTE),
        CFG_END(),
};

static cfg_opt_t alerts_opts[] = {
        CFG_SEC("rule", rule_opts, CFGF_MULTI | CFGF_TITLE),
        DURATION("repeat", CFG_ALERT_REPEAT),
        DURATION("resolve-after", CFG_ALERT_RESOLVE_AFTER),
        CFG_END(),
};

static cfg_opt_t notify_opts[] = {
        CFG_INT_CB("type", SINK_LOG, CFGF_NONE, cb_sink_type),
        CFG_STR("url", NULL, CFGF_NODEFAULT),
        CFG_STR("command", NULL, CFGF_NODEFAULT),
        CFG_INT_CB("min-severity", SEV_WARNING, CFGF_NONE, cb_severity),
        DURATION("timeout", 10 * USEC_PER_SEC),
        CFG_INT("queue", 100, CFGF_NONE),
        DURATION("resend", USEC_PER_MINUTE),
        CFG_END(),
};

static cfg_opt_t worker_opts[] = {
        CFG_STR("command", NULL, CFGF_NODEFAULT),
        CFG_STR("directory", NULL, CFGF_NODEFAULT),
        CFG_INT_CB("umask", -1, CFGF_NONE, cb_umask), /* -1: upkeepd's */
        CFG_STR("user", NULL, CFGF_NODEFAULT),
        CFG_STR("group", NULL, CFGF_NODEFAULT),
        CFG_STR("env-file", NULL, CFGF_NODEFAULT),
        CFG_STR_LIST("environment", "{}", CFGF_NONE),
        CFG_INT("instances", 1, CFGF_NONE),
        CFG_BOOL("autostart", cfg_true, CFGF_NONE),
        CFG_INT_CB("stop-signal", 15, CFGF_NONE, cb_signal),
        DURATION("stop-timeout", 10 * USEC_PER_SEC),
        DURATION("start-secs", USEC_PER_SEC),
        CFG_BOOL("required", cfg_false, CFGF_NONE),
        CFG_INT("limit-nproc", 0, CFGF_NONE),
        CFG_INT("limit-nofile", 0, CFGF_NONE),
        CFG_STR("log-dir", NULL, CFGF_NODEFAULT),
        CFG_INT_CB("memory-limit", 0, CFGF_NONE, cb_memory),
        CFG_INT_CB("memory-warn", 0, CFGF_NONE, cb_memory),
        DURATION("memory-interval", CFG_MEMORY_INTERVAL),
        CFG_INT("memory-for", CFG_MEMORY_FOR, CFGF_NONE),
        CFG_STR("memory-action", "restart", CFGF_NONE),
        CFG_FLOAT_CB("cpu-warn", 0, CFGF_NONE, cb_cpu),
        DURATION("cpu-for", CFG_CPU_FOR),
        CFG_SEC("log", logconf_worker_opts, CFGF_NODEFAULT),
        CFG_SEC("restart", restart_opts, CFGF_NONE),
        CFG_SEC("health", health_opts, CFGF_NODEFAULT),
        CFG_SEC("alerts", alerts_opts, CFGF_NODEFAULT),
        CFG_END(),
};

static cfg_opt_t root_opts[] = {
        CFG_STR("log-dir", "/var/log/upkeep", CFGF_NONE),
        CFG_STR("log-file", NULL, CFGF_NODEFAULT),
        CFG_INT_CB("log-format", LOG_FORMAT_AUTO, CFGF_NONE, logconf_cb_format),
        CFG_INT_CB("log-level", LOG_INFO, CFGF_NONE, logconf_cb_level),
        CFG_SEC("log", logconf_global_opts, CFGF_NONE),
        CFG_STR("socket", "/run/upkeep/upkeep.sock", CFGF_NONE),
        CFG_STR("state-file", NULL, CFGF_NODEFAULT),
        CFG_STR("socket-group", NULL, CFGF_NODEFAULT),
        CFG_INT_CB("socket-mode", 0660, CFGF_NONE, cb_mode),
        CFG_INT_CB("socket-others", 1, CFGF_NONE, cb_others),
        CFG_INT_CB("ready", READY_STARTED, CFGF_NONE, cb_ready),
        CFG_SEC("worker", worker_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
        CFG_SEC("alerts", alerts_opts, CFGF_NODEFAULT),
        CFG_SEC("notify", notify_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
        CFG_END(),
};

/* conf_strip_comments(), its error said against `shown`. */
static int strip_comments(const char *shown, const char *text, char **ret) {
        unsigned line = 0;
        int r;

        r = conf_strip_comments(text, ret, &line);
        if (r == -EINVAL)
                fprintf(cfg_errors, "%s:%u: unterminated comment, expected '*/' after this '/*'\n",
                        shown, line);
        return r;
}

/*
 * The line of the first worker section past CFG_MAX_WORKERS, or 0.  libconfuse builds a tree
 * of every section before conf_load() could count them, so a file of 100 000 workers would be
 * parsed whole just to be refused: this light pass over the text (comments already blanked)
 * finds `worker TITLE {` at the top level, quoted strings skipped, and stops at the first one
 * too many.  The count after the parse stays, for a section this pass does not recognise.
 */
static unsigned find_excess_worker(const char *text) {
        const char *tok[2] = {}; /* the two tokens before, at depth 0: "worker", the title */
        unsigned line = 1, tok_line[2] = {}, depth = 0, n = 0;

        for (const char *p = text; *p;) {
                const char *start = p;
                unsigned start_line = line;

                if (*p == '\n' || isspace((unsigned char) *p)) {
                        line += *p++ == '\n';
                        continue;
                }
                if (*p == '"' || *p == '\'') {
                        char q = *p++;

                        while (*p && *p != q) {
                                if (*p == '\\' && p[1])
                                        p++;
                                line += *p++ == '\n';
                        }
                        if (*p)
                                p++;
                } else if (*p == '{') {
                        if (depth == 0 && tok[0] && tok[1] && !strchr("{}=,()+", *tok[1]) &&
                            strncmp(tok[0], "worker", 6) == 0 &&
                            isspace((unsigned char) tok[0][6]) && ++n > CFG_MAX_WORKERS)
                                return tok_line[0];
                        depth++;
                        p++;
                } else if (*p == '}') {
                        depth -= depth > 0;
                        p++;
                } else if (strchr("=,()+", *p))
                        p++;
                else
                        while (*p && !isspace((unsigned char) *p) && !strchr("{}=,()\"'", *p))
                                p++;
                if (p == start)
                        p++;
                if (depth == 0) {
                        tok[0] = tok[1];
                        tok_line[0] = tok_line[1];
                        tok[1] = start;
                        tok_line[1] = start_line;
                }
        }
        return 0;
}

/* A libconfuse tree for upkeep's schema, with our error function and value checks. */
static cfg_t *new_cfg(void) {
        cfg_t *cfg = cfg_init(root_opts, CFGF_NONE);

        if (!cfg)
                return NULL;
        cfg_set_error_function(cfg, error_func);
        cfg_set_validate_func(cfg, "worker", validate_worker);
        cfg_set_validate_func(cfg, "worker|command", validate_command);
        cfg_set_validate_func(cfg, "worker|environment", validate_environment);
        cfg_set_validate_func(cfg, "worker|instances", validate_instances);
        cfg_set_validate_func(cfg, "worker|directory", validate_path);
        cfg_set_validate_func(cfg, "worker|env-file", validate_path);
        cfg_set_validate_func(cfg, "worker|log-dir", validate_path);
        cfg_set_validate_func(cfg, "worker|restart|factor", validate_factor);
        cfg_set_validate_func(cfg, "worker|restart|give-up", validate_give_up);
        cfg_set_validate_func(cfg, "worker|health|url", validate_url);
        cfg_set_validate_func(cfg, "worker|health|failures", validate_count);
        cfg_set_validate_func(cfg, "worker|limit-nproc", validate_limit);
        cfg_set_validate_func(cfg, "worker|limit-nofile", validate_limit);
        cfg_set_validate_func(cfg, "worker|memory-for", validate_count);
        cfg_set_validate_func(cfg, "worker|memory-action", validate_memory_action);
        cfg_set_validate_func(cfg, "worker|health|successes", validate_count);
        cfg_set_validate_func(cfg, "log-dir", validate_path);
        cfg_set_validate_func(cfg, "log-file", validate_path);
        cfg_set_validate_func(cfg, "socket", validate_socket);
        cfg_set_validate_func(cfg, "state-file", validate_path);
        cfg_set_validate_func(cfg, "alerts|rule", validate_rule);
        cfg_set_validate_func(cfg, "worker|alerts|rule", validate_rule);
        cfg_set_validate_func(cfg, "notify", validate_sink);
        cfg_set_validate_func(cfg, "notify|command", validate_command);
        cfg_set_validate_func(cfg, "notify|url", validate_url);
        return cfg;
}

/* Parse `raw` into `cfg`; errors go to cfg_errors as "name:line: ...". */
static int parse_text(cfg_t *cfg, const char *raw, const char *path, const char *name) {
        _cleanup_free_ char *text = NULL;
        unsigned line;
        int r;

        r = strip_comments(name, raw, &text);
        if (r < 0)
                return r;
        /* refused before libconfuse builds a tree of them all (see find_excess_worker()) */
        line = find_excess_worker(text);
        if (line > 0) {
                fprintf(cfg_errors, "%s:%u: more than %d workers, expected at most %d worker "
                        "sections\n", name, line, CFG_MAX_WORKERS, CFG_MAX_WORKERS);
                return -EINVAL;
        }
        cfg_display_name = name;
        r = cfg_parse_buf(cfg, text);
        cfg_display_name = NULL;
        conf_stash_restore(&stash_workers);
        conf_stash_restore(&stash_sinks);
        if (r != CFG_SUCCESS || cfg_n_errors > 0) {
                if (cfg_n_errors == 0)
                        fprintf(cfg_errors, "%s: invalid configuration\n", path);
                return -EINVAL;
        }
        if (cfg_size(cfg, "worker") > CFG_MAX_WORKERS) {
                fprintf(cfg_errors, "%s: %u workers, expected at most %d\n", path,
                        cfg_size(cfg, "worker"), CFG_MAX_WORKERS);
                return -EINVAL;
        }
        return 0;
}

int conf_load(const char *raw, const char *path, const char *name, Config **ret,
              char **ret_errors) {
        _cleanup_free_ char *errbuf = NULL;
        size_t errlen = 0;
        cfg_t *cfg;
        int r;

        cfg_errors = open_memstream(&errbuf, &errlen);
        if (!cfg_errors)
                return -ENOMEM;
        cfg_n_errors = 0;

        cfg = new_cfg();
        r = cfg ? parse_text(cfg, raw, path, name ?: path) : -ENOMEM;
        if (r >= 0)
                r = conf_copy(cfg, path, ret);
        if (cfg)
                cfg_free(cfg);
        fclose(cfg_errors);
        cfg_errors = NULL;
        if (r < 0 && ret_errors)
                *ret_errors = TAKE_PTR(errbuf);
        return r < 0 ? r : 0;
}
