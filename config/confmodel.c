/*
 * The configuration's model (see confmodel.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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
        free(w->log_file);
        free(w->health.url);
        strv_free(w->health.words.healthy);
        strv_free(w->health.words.degraded);
        strv_free(w->health.words.unhealthy);
        free(w->health.words.field);
        free(w->alerts.rules);
        free(w->errors.match);
        for (size_t k = 0; k < w->n_after; k++)
                free(w->after[k].name);
        free(w->after);
        free(w->ready_log);
        strv_free(w->sockets);
        strv_free(w->socket_addresses);
        free(w->stdin_socket);
        free(w->stdin_socket_address);
}

int worker_ready_parse(const char *s, WorkerReady *ret_kind, int *ret_fd, const char **ret_regex) {
        static const char *const names[] = { "started", "healthy", "notify" };
        static const WorkerReady kinds[] = { WREADY_STARTED, WREADY_HEALTHY, WREADY_NOTIFY };
        char *end;
        long fd;

        *ret_fd = 0;
        *ret_regex = NULL;
        for (size_t k = 0; k < ELEMENTSOF(names); k++)
                if (strcmp(s, names[k]) == 0) {
                        *ret_kind = kinds[k];
                        return 0;
                }
        if (strncmp(s, "log:", 4) == 0 && s[4]) {
                *ret_kind = WREADY_LOG;
                *ret_regex = s + 4;
                return 0;
        }
        if (strncmp(s, "fd:", 3) != 0)
                return -EINVAL;
        errno = 0;
        fd = strtol(s + 3, &end, 10);
        if (errno != 0 || end == s + 3 || *end || fd < 3 || fd > 255)
                return -EINVAL;
        *ret_kind = WREADY_FD;
        *ret_fd = (int) fd;
        return 0;
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
        free(c->metrics.textfile);
        free(c->metrics.listen);
        free(c->metrics.token_file);
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

int conf_parse_listen(const char *s, struct sockaddr_storage *ret) {
        struct sockaddr_storage ss = {};
        char host[INET6_ADDRSTRLEN + 2];
        const char *colon = strrchr(s, ':');
        unsigned long port;
        size_t n;
        char *end;

        if (!colon || colon == s || !colon[1])
                return -EINVAL;
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        if (*end || errno || port == 0 || port > 65535 || !isdigit((unsigned char) colon[1]))
                return -EINVAL;
        n = (size_t) (colon - s);
        if (s[0] == '[') {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *) &ss;

                if (n < 3 || s[n - 1] != ']' || n - 2 >= sizeof host)
                        return -EINVAL;
                memcpy(host, s + 1, n - 2);
                host[n - 2] = '\0';
                a->sin6_family = AF_INET6;
                a->sin6_port = htons((uint16_t) port);
                if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
                        return -EINVAL;
        } else {
                struct sockaddr_in *a = (struct sockaddr_in *) &ss;

                if (n >= sizeof host)
                        return -EINVAL;
                memcpy(host, s, n);
                host[n] = '\0';
                a->sin_family = AF_INET;
                a->sin_port = htons((uint16_t) port);
                if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
                        return -EINVAL;
        }
        if (ret)
                *ret = ss;
        return 0;
}

const ListenConfig *conf_find_listen(const Config *c, const char *name) {
        for (size_t i = 0; i < c->n_listens; i++)
                if (strcmp(c->listens[i].name, name) == 0)
                        return &c->listens[i];
        return NULL;
}
