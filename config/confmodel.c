/*
 * The configuration's model (see confmodel.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "confmodel.h"
#include "parse.h"
#include "strv.h"

static const char *const policy_names[_RESTART_MAX] = {
        [RESTART_ALWAYS] = "always",
        [RESTART_ON_FAILURE] = "on-failure",
        [RESTART_NEVER] = "never",
};

const char *restart_policy_to_string(RestartPolicy p) {
        return p >= 0 && p < _RESTART_MAX ? policy_names[p] : "unknown";
}

static const char *const degraded_names[_DEGRADED_MAX] = {
        [DEGRADED_IGNORE] = "ignore",
        [DEGRADED_ALERT] = "alert",
        [DEGRADED_RESTART] = "restart",
};

static const char *const sink_names[_SINK_MAX] = {
        [SINK_LOG] = "log",         [SINK_EXEC] = "exec",
        [SINK_WEBHOOK] = "webhook", [SINK_SLACK] = "slack",
        [SINK_ALERTMANAGER] = "alertmanager",
};

const char *sink_type_to_string(SinkType t) {
        return t >= 0 && t < _SINK_MAX ? sink_names[t] : "unknown";
}

/* The index of `s` in `names` (of `n`), or -EINVAL. */
static int lookup_name(const char *const *names, int n, const char *s) {
        for (int i = 0; i < n; i++)
                if (strcmp(s, names[i]) == 0)
                        return i;
        return -EINVAL;
}

RestartPolicy restart_policy_from_string(const char *s) {
        return lookup_name(policy_names, _RESTART_MAX, s);
}

DegradedPolicy degraded_policy_from_string(const char *s) {
        return lookup_name(degraded_names, _DEGRADED_MAX, s);
}

SinkType sink_type_from_string(const char *s) {
        return lookup_name(sink_names, _SINK_MAX, s);
}

const char *degraded_policy_to_string(DegradedPolicy p) {
        return p >= 0 && p < _DEGRADED_MAX ? degraded_names[p] : "unknown";
}

int conf_parse_give_up(const char *s, unsigned *ret_count, usec_t *ret_within) {
        char *end;
        unsigned long n;
        usec_t w;

        while (isspace((unsigned char) *s))
                s++;
        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        n = strtoul(s, &end, 10);
        if (n < 1 || n > CFG_MAX_GIVE_UP)
                return -ERANGE;
        while (isspace((unsigned char) *end))
                end++;
        if (strncmp(end, "in", 2) != 0 || !isspace((unsigned char) end[2]))
                return -EINVAL;
        if (parse_duration(end + 3, &w) < 0)
                return -EINVAL;
        if (w < USEC_PER_SEC || w > 7 * USEC_PER_DAY)
                return -ERANGE;
        *ret_count = (unsigned) n;
        *ret_within = w;
        return 0;
}

static void worker_config_done(WorkerConfig *w) {
        free(w->name);
        free(w->command);
        strv_free(w->argv);
        free(w->directory);
        free(w->user);
        free(w->group);
        free(w->env_file);
        strv_free(w->environment);
        free(w->log_dir);
        free(w->health.url);
        free(w->alerts.rules);
        strv_free(w->sockets);
        strv_free(w->socket_addresses);
        free(w->stdin_socket);
        free(w->stdin_socket_address);
}

Config *conf_free(Config *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_workers; i++)
                worker_config_done(&c->workers[i]);
        free(c->workers);
        for (size_t i = 0; i < c->n_sinks; i++) {
                free(c->sinks[i].name);
                free(c->sinks[i].url);
                strv_free(c->sinks[i].argv);
        }
        free(c->sinks);
        for (size_t i = 0; i < c->n_listens; i++) {
                free(c->listens[i].name);
                free(c->listens[i].address);
                free(c->listens[i].owner);
        }
        free(c->listens);
        free(c->path);
        free(c->log_dir);
        free(c->log_file);
        free(c->socket);
        free(c->state_file);
        free(c->socket_group);
        free(c);
        return NULL;
}

bool conf_needs_http(const Config *c) {
        for (size_t i = 0; i < c->n_workers; i++)
                if (c->workers[i].health.url)
                        return true;
        for (size_t i = 0; i < c->n_sinks; i++)
                if (c->sinks[i].url)
                        return true;
        return false;
}

const WorkerConfig *conf_find_worker(const Config *c, const char *name) {
        for (size_t i = 0; i < c->n_workers; i++)
                if (strcmp(c->workers[i].name, name) == 0)
                        return &c->workers[i];
        return NULL;
}

const ListenConfig *conf_find_listen(const Config *c, const char *name) {
        for (size_t i = 0; i < c->n_listens; i++)
                if (strcmp(c->listens[i].name, name) == 0)
                        return &c->listens[i];
        return NULL;
}
