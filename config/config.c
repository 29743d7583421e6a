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
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "confafter.h"
#include "confcopy.h"
#include "config.h"
#include "confstash.h"
#include "confvalue.h"
#include "listen.h"
#include "pcre2-dl.h"
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

/* A worker's readiness: started, healthy, notify, fd:N or log:REGEX (compiled here once, so a
 * bad pattern is an error of the file, with PCRE2's reason). */
static int validate_worker_ready(cfg_t *cfg, cfg_opt_t *opt) {
        const char *s = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1), *regex, *why;
        PCRE2_UCHAR msg[160];
        PCRE2_SIZE at;
        pcre2_code *re;
        WorkerReady kind;
        int fd, err;

        if (worker_ready_parse(s, &kind, &fd, &regex) < 0) {
                cfg_error(cfg, "%s: unknown value '%s', expected started, healthy, notify, "
                          "fd:N (N from 3 to 255) or \"log:REGEX\"", opt->name, s);
                return -1;
        }
        if (kind != WREADY_LOG)
                return 0;
        if ((why = pcre2_dl_load())) {
                cfg_error(cfg, "%s: %s, needed for \"log:REGEX\"", opt->name, why);
                return -1;
        }
        re = pcre2_compile((PCRE2_SPTR) regex, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &at, NULL);
        if (!re) {
                (void) pcre2_get_error_message(err, msg, sizeof msg);
                cfg_error(cfg, "%s: invalid pattern '%s' at offset %zu: %s, expected a PCRE2 "
                          "regular expression", opt->name, regex, (size_t) at, (char *) msg);
                return -1;
        }
        pcre2_code_free(re);
        return 0;
}

/* The kind of the worker's `ready`, already checked; WREADY_AUTO when it is not set. */
static WorkerReady ready_kind(cfg_t *w) {
        const char *s = cfg_getstr(w, "ready"), *regex;
        WorkerReady kind = WREADY_AUTO;
        int fd;

        if (s)
                (void) worker_ready_parse(s, &kind, &fd, &regex);
        return kind;
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
        if (cfg_getint(n, "output-lines") < 0 ||
            cfg_getint(n, "output-lines") > CFG_TAIL_MAX_LINES) {
                cfg_error(cfg, "notify '%s': output-lines %ld is out of range, expected 0 (all "
                          "that were kept) to %d", cfg_title(n), cfg_getint(n, "output-lines"),
                          CFG_TAIL_MAX_LINES);
                return -1;
        }
        return conf_stash_take(cfg, opt, &stash_sinks, "notify");
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

/* restart clean-exit: exit codes 0 to 255 and signal names */
static int validate_clean_exit(cfg_t *cfg, cfg_opt_t *opt) {
        CleanExits c;

        for (unsigned i = 0; i < cfg_opt_size(opt); i++)
                if (clean_exits_add(&c, cfg_opt_getnstr(opt, i)) < 0) {
                        cfg_error(cfg, "%s: invalid entry '%s', expected an exit code 0 to 255 or "
                                  "a signal name like TERM", opt->name, cfg_opt_getnstr(opt, i));
                        return -1;
                }
        return 0;
}

/* status-field: a JSON pointer health_classify() can follow */
static int validate_status_field(cfg_t *cfg, cfg_opt_t *opt) {
        const char *s = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);

        if (health_field_valid(s) && strlen(s) < 256)
                return 0;
        cfg_error(cfg, "%s: invalid JSON pointer '%s', expected \"\" or /key/key... (RFC 6901: "
                  "~0 for '~', ~1 for '/')", opt->name, s);
        return -1;
}

/* status-words: each a word of 1 to 64 characters */
static int validate_status_words(cfg_t *cfg, cfg_opt_t *opt) {
        for (unsigned i = 0; i < cfg_opt_size(opt); i++) {
                const char *s = cfg_opt_getnstr(opt, i);
                size_t n = strlen(s);

                if (n == 0 || n > 64) {
                        cfg_error(cfg, "status-words %s: invalid word '%s', expected 1 to 64 "
                                  "characters", opt->name, s);
                        return -1;
                }
        }
        return 0;
}

/* errors { match }: compiled once here to say what is wrong and where; upkeepd compiles it
 * again (with the JIT) for each output. */
static int validate_match(cfg_t *cfg, cfg_opt_t *opt) {
        const char *s = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1), *why;
        PCRE2_UCHAR msg[160];
        PCRE2_SIZE offset;
        pcre2_code *re;
        int err;

        if ((why = pcre2_dl_load())) {
                cfg_error(cfg, "%s: %s, needed for a regular expression", opt->name, why);
                return -1;
        }
        re = pcre2_compile((PCRE2_SPTR) s, PCRE2_ZERO_TERMINATED, 0, &err, &offset, NULL);
        if (re) {
                pcre2_code_free(re);
                return 0;
        }
        pcre2_get_error_message(err, msg, sizeof msg);
        cfg_error(cfg, "%s: invalid regular expression '%s' at offset %zu: %s, expected a "
                  "PCRE2 pattern, e.g. \"ERROR|CRITICAL\"", opt->name, s, (size_t) offset,
                  (const char *) msg);
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

/* a worker's log-file: an absolute path to a file, not a directory */
static int validate_worker_log_file(cfg_t *cfg, cfg_opt_t *opt) {
        const char *s = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);
        size_t n = s ? strlen(s) : 0;

        if (n < 2 || s[0] != '/' || s[n - 1] == '/' || n >= PATH_MAX / 2) {
                cfg_error(cfg, "%s: invalid path '%s', expected the absolute path of a file",
                          opt->name, s ? s : "");
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

/* "ADDRESS:PORT": an IPv4 address, or an IPv6 one in brackets, and a port 1..65535. */
static int validate_listen(cfg_t *cfg, cfg_opt_t *opt) {
        const char *s = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);

        if (!s || conf_parse_listen(s, NULL) < 0) {
                cfg_error(cfg, "%s: invalid address '%s', expected ADDRESS:PORT, e.g. "
                          "127.0.0.1:9310 or [::1]:9310", opt->name, s ? s : "");
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
        if (ready_kind(w) == WREADY_HEALTHY && cfg_size(w, "health") == 0) {
                cfg_error(cfg, "worker '%s': ready = healthy without a health section, expected "
                          "a health section or another ready", cfg_title(w));
                return -1;
        }
        if (cfg_getint(w, "watchdog") > 0 && ready_kind(w) != WREADY_NOTIFY) {
                cfg_error(cfg, "worker '%s': watchdog without ready = notify, expected ready = "
                          "notify (WATCHDOG=1 comes over its NOTIFY_SOCKET)", cfg_title(w));
                return -1;
        }
        if (ready_kind(w) == WREADY_FD && cfg_size(w, "sockets") > 0) {
                const char *regex;
                WorkerReady kind;
                int fd;

                (void) worker_ready_parse(cfg_getstr(w, "ready"), &kind, &fd, &regex);
                if (fd < 3 + (int) cfg_size(w, "sockets")) {
                        cfg_error(cfg, "worker '%s': ready = fd:%d is a descriptor its sockets "
                                  "take (3 to %u), expected fd:%u or above", cfg_title(w), fd,
                                  2 + cfg_size(w, "sockets"), 3 + cfg_size(w, "sockets"));
                        return -1;
                }
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

/* Called at the end of each listen section. */
static int validate_listen_section(cfg_t *cfg, cfg_opt_t *opt) {
        cfg_t *l = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
        const char *addr = cfg_getstr(l, "address"), *err = NULL;
        long backlog = cfg_getint(l, "backlog");
        ListenAddress a;

        if (!valid_worker_name(cfg_title(l))) {
                cfg_error(cfg, "listen '%s': invalid name, expected 1 to 64 letters, digits, "
                          "'_', '.' or '-'", cfg_title(l));
                return -1;
        }
        if (!addr) {
                cfg_error(cfg, "listen '%s': 'address' is missing, expected "
                          "\"tcp://127.0.0.1:8000\" or \"unix:/run/app.sock\"", cfg_title(l));
                return -1;
        }
        if (listen_address_parse(addr, &a, &err) < 0) {
                cfg_error(cfg, "listen '%s': invalid address '%s', %s", cfg_title(l), addr, err);
                return -1;
        }
        if (backlog < 1 || backlog > CFG_MAX_LISTEN_BACKLOG) {
                cfg_error(cfg, "listen '%s': backlog %ld is out of range, expected 1 to %d",
                          cfg_title(l), backlog, CFG_MAX_LISTEN_BACKLOG);
                return -1;
        }
        if (a.family != LISTEN_UNIX && (cfg_getstr(l, "owner") ||
                                        cfg_getint(l, "mode") != CFG_LISTEN_MODE)) {
                cfg_error(cfg, "listen '%s': mode and owner are a socket file's, expected them "
                          "only with a unix: address", cfg_title(l));
                return -1;
        }
        return 0;
}

#define DURATION(name, def) CFG_INT_CB(name, (long) (def), CFGF_NONE, cb_duration)

/* 0 is off; a period under a second would restart a worker before it could serve. */
static int validate_every(cfg_t *cfg, cfg_opt_t *opt) {
        long v = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);

        if (v != 0 && v < (long) USEC_PER_SEC) {
                cfg_error(cfg, "%s: too short, expected 0 (off) or 1s to 365d", opt->name);
                return -1;
        }
        return 0;
}

static int validate_rolling(cfg_t *cfg, cfg_opt_t *opt) {
        cfg_t *r = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
        long mu = cfg_getint(r, "max-unavailable"), surge = cfg_getint(r, "surge");

        if (mu < 1 || mu > CFG_MAX_INSTANCES) {
                cfg_error(cfg, "rolling: max-unavailable %ld is out of range, expected 1 to %d",
                          mu, CFG_MAX_INSTANCES);
                return -1;
        }
        if (cfg_getint(r, "ready-timeout") < (long) (100 * USEC_PER_MSEC)) {
                cfg_error(cfg, "rolling: ready-timeout is out of range, expected 100ms to 1d");
                return -1;
        }
        if (surge != 0 && surge != 1) {
                cfg_error(cfg, "rolling: surge %ld is out of range, expected 0 or 1 (one spare "
                          "instance started before the others are replaced)", surge);
                return -1;
        }
        return 0;
}

static cfg_opt_t rolling_opts[] = {
        CFG_INT("max-unavailable", CFG_ROLL_MAX_UNAVAILABLE, CFGF_NONE),
        CFG_INT("surge", 0, CFGF_NONE),
        DURATION("ready-timeout", CFG_ROLL_READY_TIMEOUT),
        CFG_INT_CB("on-failure", ROLL_FAILURE_PAUSE, CFGF_NONE, cb_on_failure),
        CFG_END(),
};

static cfg_opt_t listen_opts[] = {
        CFG_STR("address", NULL, CFGF_NODEFAULT),
        CFG_INT("backlog", CFG_LISTEN_BACKLOG, CFGF_NONE),
        CFG_INT_CB("mode", CFG_LISTEN_MODE, CFGF_NONE, cb_listen_mode),
        CFG_STR("owner", NULL, CFGF_NODEFAULT),
        CFG_END(),
};

static cfg_opt_t restart_opts[] = {
        CFG_INT_CB("policy", RESTART_ALWAYS, CFGF_NONE, cb_policy),
        DURATION("backoff", CFG_BACKOFF_INITIAL),
        CFG_FLOAT("factor", CFG_BACKOFF_FACTOR, CFGF_NONE),
        DURATION("max-delay", CFG_BACKOFF_MAX),
        CFG_FLOAT_CB("jitter", CFG_BACKOFF_JITTER, CFGF_NONE, cb_fraction),
        DURATION("reset-after", 10 * USEC_PER_MINUTE),
        CFG_STR("give-up", NULL, CFGF_NODEFAULT),
        DURATION("retry-after", 0),
        CFG_STR_LIST("clean-exit", NULL, CFGF_NODEFAULT),
        CFG_END(),
};

/* a worker's own status words, by the class each means: libconfuse keys are fixed names */
static cfg_opt_t status_words_opts[] = {
        CFG_STR_LIST("healthy", NULL, CFGF_NODEFAULT),
        CFG_STR_LIST("degraded", NULL, CFGF_NODEFAULT),
        CFG_STR_LIST("unhealthy", NULL, CFGF_NODEFAULT),
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
        CFG_STR("status-field", NULL, CFGF_NODEFAULT),
        CFG_SEC("status-words", status_words_opts, CFGF_NODEFAULT),
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
        CFG_BOOL("output", cfg_true, CFGF_NONE),
        CFG_INT("output-lines", 0, CFGF_NONE),
        CFG_END(),
};

static cfg_opt_t errors_opts[] = {
        CFG_BOOL("json-level", cfg_true, CFGF_NONE),
        CFG_BOOL("traceback", cfg_true, CFGF_NONE),
        CFG_STR("match", NULL, CFGF_NODEFAULT),
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
        CFG_STR_LIST("after", "{}", CFGF_NONE),
        CFG_INT_CB("type", 0, CFGF_NONE, cb_type), /* 1: oneshot */
        DURATION("wait-timeout", 0),
        CFG_STR("ready", NULL, CFGF_NODEFAULT), /* started, healthy, notify, fd:N, log:REGEX */
        DURATION("ready-timeout", CFG_READY_TIMEOUT),
        DURATION("watchdog", 0),
        CFG_INT("limit-nproc", 0, CFGF_NONE),
        CFG_INT("limit-nofile", 0, CFGF_NONE),
        CFG_STR_LIST("sockets", "{}", CFGF_NONE),
        CFG_STR("stdin-socket", NULL, CFGF_NODEFAULT),
        DURATION("restart-every", 0),
        CFG_INT_CB("reload-signal", 0, CFGF_NONE, cb_signal),
        CFG_STR("log-dir", NULL, CFGF_NODEFAULT),
        CFG_STR("log-file", NULL, CFGF_NODEFAULT),
        CFG_INT_CB("memory-limit", 0, CFGF_NONE, cb_memory),
        CFG_INT_CB("memory-warn", 0, CFGF_NONE, cb_memory),
        DURATION("memory-interval", CFG_MEMORY_INTERVAL),
        CFG_INT("memory-for", CFG_MEMORY_FOR, CFGF_NONE),
        CFG_STR("memory-action", "restart", CFGF_NONE),
        CFG_FLOAT_CB("cpu-warn", 0, CFGF_NONE, cb_cpu),
        DURATION("cpu-for", CFG_CPU_FOR),
        CFG_FLOAT_CB("cpu-limit", 0, CFGF_NONE, cb_cpu),
        CFG_SEC("log", logconf_worker_opts, CFGF_NODEFAULT),
        CFG_SEC("restart", restart_opts, CFGF_NONE),
        CFG_SEC("health", health_opts, CFGF_NODEFAULT),
        CFG_SEC("alerts", alerts_opts, CFGF_NODEFAULT),
        CFG_SEC("errors", errors_opts, CFGF_NODEFAULT),
        CFG_SEC("rolling", rolling_opts, CFGF_NONE),
        CFG_END(),
};

static cfg_opt_t metrics_opts[] = {
        CFG_STR("textfile", NULL, CFGF_NODEFAULT),
        CFG_INT_CB("textfile-interval", (long) CFG_METRICS_INTERVAL, CFGF_NONE, cb_duration),
        CFG_STR("listen", NULL, CFGF_NODEFAULT),
        CFG_STR("token-file", NULL, CFGF_NODEFAULT),
        CFG_BOOL("sample-all", cfg_false, CFGF_NONE),
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
        CFG_SEC("metrics", metrics_opts, CFGF_NODEFAULT),
        CFG_SEC("listen", listen_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
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
        cfg_set_validate_func(cfg, "worker|after", conf_after_validate);
        cfg_set_validate_func(cfg, "worker|ready", validate_worker_ready);
        cfg_set_validate_func(cfg, "worker|instances", validate_instances);
        cfg_set_validate_func(cfg, "worker|directory", validate_path);
        cfg_set_validate_func(cfg, "worker|env-file", validate_path);
        cfg_set_validate_func(cfg, "worker|log-dir", validate_path);
        cfg_set_validate_func(cfg, "worker|log-file", validate_worker_log_file);
        cfg_set_validate_func(cfg, "worker|restart|factor", validate_factor);
        cfg_set_validate_func(cfg, "worker|restart|give-up", validate_give_up);
        cfg_set_validate_func(cfg, "worker|restart|clean-exit", validate_clean_exit);
        cfg_set_validate_func(cfg, "worker|health|url", validate_url);
        cfg_set_validate_func(cfg, "worker|errors|match", validate_match);
        cfg_set_validate_func(cfg, "worker|health|failures", validate_count);
        cfg_set_validate_func(cfg, "worker|health|status-field", validate_status_field);
        cfg_set_validate_func(cfg, "worker|health|status-words|healthy", validate_status_words);
        cfg_set_validate_func(cfg, "worker|health|status-words|degraded", validate_status_words);
        cfg_set_validate_func(cfg, "worker|health|status-words|unhealthy",
                              validate_status_words);
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
        cfg_set_validate_func(cfg, "metrics|listen", validate_listen);
        cfg_set_validate_func(cfg, "metrics|textfile", validate_path);
        cfg_set_validate_func(cfg, "metrics|token-file", validate_path);
        cfg_set_validate_func(cfg, "listen", validate_listen_section);
        cfg_set_validate_func(cfg, "worker|rolling", validate_rolling);
        cfg_set_validate_func(cfg, "worker|restart-every", validate_every);
        return cfg;
}

static bool listed(char *const *l, const char *s) {
        for (; l && *l; l++)
                if (strcmp(*l, s) == 0)
                        return true;
        return false;
}

/* A worker's {fd:NAME} references: each names one of its sockets. */
static int check_fd_references(cfg_t *w, const char *name, char **sockets) {
        _cleanup_strv_free_ char **argv = NULL;
        const char *err, *bad;

        if (argv_split(cfg_getstr(w, "command"), &argv, &err) < 0)
                return 0; /* reported by validate_command */
        for (char **a = argv; *a; a++) {
                _cleanup_free_ char *x = NULL;

                if (listen_expand_fds(*a, sockets, &x, &bad) == -ENOENT) {
                        fprintf(cfg_errors, "%s:%d: worker '%s': {fd:%.*s} in command, expected "
                                "the name of one of its sockets (sockets = [...])\n", name,
                                w->line, cfg_title(w), (int) strcspn(bad, "}"), bad);
                        return -EINVAL;
                }
        }
        return 0;
}

/*
 * Each name in a worker's sockets list is a listen section (which may come anywhere in the
 * file, so this is checked once the whole file is parsed), named once.
 */
static int check_sockets(cfg_t *cfg, const char *name) {
        for (unsigned i = 0; i < cfg_size(cfg, "worker"); i++) {
                cfg_t *w = cfg_getnsec(cfg, "worker", i);
                _cleanup_strv_free_ char **sockets = NULL;
                unsigned n = cfg_size(w, "sockets");

                if (n > CFG_MAX_SOCKETS) {
                        fprintf(cfg_errors, "%s:%d: worker '%s': %u sockets, expected at most "
                                "%d\n", name, w->line, cfg_title(w), n, CFG_MAX_SOCKETS);
                        return -EINVAL;
                }
                for (unsigned k = 0; k < n; k++) {
                        const char *s = cfg_getnstr(w, "sockets", k);

                        if (!cfg_gettsec(cfg, "listen", s)) {
                                fprintf(cfg_errors, "%s:%d: worker '%s': sockets: no listen "
                                        "section '%s', expected the name of a listen section\n",
                                        name, w->line, cfg_title(w), s);
                                return -EINVAL;
                        }
                        if (listed(sockets, s)) {
                                fprintf(cfg_errors, "%s:%d: worker '%s': sockets: '%s' twice, "
                                        "expected each socket once\n", name, w->line,
                                        cfg_title(w), s);
                                return -EINVAL;
                        }
                        if (strv_extend(&sockets, s) < 0)
                                return -ENOMEM;
                }
                /* without sockets, "{fd:" is the command's own text (and stays as it is) */
                if (n > 0 && check_fd_references(w, name, sockets) < 0)
                        return -EINVAL;
                if (cfg_getstr(w, "stdin-socket") &&
                    !cfg_gettsec(cfg, "listen", cfg_getstr(w, "stdin-socket"))) {
                        fprintf(cfg_errors, "%s:%d: worker '%s': stdin-socket: no listen "
                                "section '%s', expected the name of a listen section\n", name,
                                w->line, cfg_title(w), cfg_getstr(w, "stdin-socket"));
                        return -EINVAL;
                }
        }
        return 0;
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
        return check_sockets(cfg, name);
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
        if (r >= 0) {
                for (size_t w = 0; w < (*ret)->n_workers; w++)
                        (*ret)->workers[w].after_line = conf_after_line((*ret)->workers[w].name);
                r = conf_after_check(*ret, name ?: path, cfg_errors);
                if (r < 0)
                        *ret = conf_free(*ret);
        }
        conf_after_clear();
        if (cfg)
                cfg_free(cfg);
        fclose(cfg_errors);
        cfg_errors = NULL;
        if (r < 0 && ret_errors)
                *ret_errors = TAKE_PTR(errbuf);
        return r < 0 ? r : 0;
}
