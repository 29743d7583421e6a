/* The dependency graph of the configuration: see confafter.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "confafter.h"
#include "depgraph.h"
#include "macro.h"

/*
 * Where each worker's `after` was set: the graph is checked once every worker is known, after
 * the parse, and its errors point there.  Reset by every conf_load().
 */
typedef struct AfterLine {
        char *worker;
        unsigned line;
} AfterLine;

static AfterLine *after_lines;
static size_t n_after_lines;

void conf_after_clear(void) {
        for (size_t k = 0; k < n_after_lines; k++)
                free(after_lines[k].worker);
        free(after_lines);
        after_lines = NULL;
        n_after_lines = 0;
}

unsigned conf_after_line(const char *worker) {
        for (size_t k = n_after_lines; k > 0; k--)
                if (strcmp(after_lines[k - 1].worker, worker) == 0)
                        return after_lines[k - 1].line;
        return 0;
}

/* Each entry is "name" or "name:condition"; the names are checked once every worker is known. */
int conf_after_validate(cfg_t *cfg, cfg_opt_t *opt) {
        AfterLine *l;

        for (unsigned i = 0; i < cfg_opt_size(opt); i++) {
                const char *s = cfg_opt_getnstr(opt, i), *err;
                DepEntry e;

                if (dep_parse(s, &e, &err) < 0) {
                        cfg_error(cfg, "%s: entry %u '%s': %s, expected \"worker\" or "
                                  "\"worker:ready\", \"worker:started\", \"worker:completed\", "
                                  "each optionally with \":bind\"", opt->name, i + 1, s, err);
                        return -1;
                }
        }
        l = reallocarray(after_lines, n_after_lines + 1, sizeof *l);
        if (!l)
                return -1;
        after_lines = l;
        l[n_after_lines] = (AfterLine) { strdup(cfg_title(cfg) ?: ""), (unsigned) cfg->line };
        if (!l[n_after_lines].worker)
                return -1;
        n_after_lines++;
        return 0;
}

/* A worker of `after` that is not configured, or itself: the first one, or NULL. */
static const char *unknown_dep(const Config *c, const WorkerConfig *w, size_t *ret_self) {
        for (size_t k = 0; k < w->n_after; k++) {
                const WorkerConfig *d = conf_find_worker(c, w->after[k].name);

                if (!d)
                        return w->after[k].name;
                if (d == w) {
                        *ret_self = k;
                        return w->after[k].name;
                }
        }
        return NULL;
}

/* "a after b after a": the cycle found, as the error names it. */
static void print_cycle(FILE *cfg_errors, const Config *c, const char *shown,
                        const size_t *path, int len) {
        const WorkerConfig *first = &c->workers[path[0]];

        fprintf(cfg_errors, "%s:%u: worker '%s': dependency cycle: ", shown, first->after_line,
                first->name);
        for (int k = 0; k < len; k++)
                fprintf(cfg_errors, "%s after ", c->workers[path[k]].name);
        fprintf(cfg_errors, "%s, expected `after` to form no cycle\n", first->name);
}

/* The dependency graph, once every worker is known: names that exist, no self, no cycle. */
int conf_after_check(const Config *c, const char *shown, FILE *cfg_errors) {
        _cleanup_free_ size_t *edges = NULL, *n_edges = NULL, *path = NULL;
        _cleanup_free_ const size_t **rows = NULL;
        size_t total = 0, self = SIZE_MAX;
        int len;

        for (size_t w = 0; w < c->n_workers; w++) {
                const WorkerConfig *wc = &c->workers[w];
                const char *bad = unknown_dep(c, wc, &self);

                if (bad && self != SIZE_MAX) {
                        fprintf(cfg_errors, "%s:%u: worker '%s': after names itself, expected "
                                "other workers\n", shown, wc->after_line, wc->name);
                        return -EINVAL;
                }
                if (bad) {
                        fprintf(cfg_errors, "%s:%u: worker '%s': after names '%s', which is not "
                                "configured, expected the name of a worker section\n", shown,
                                wc->after_line, wc->name, bad);
                        return -EINVAL;
                }
                total += wc->n_after;
        }
        if (total == 0)
                return 0;
        edges = calloc(total + 1, sizeof(size_t));
        n_edges = calloc(c->n_workers + 1, sizeof(size_t));
        rows = calloc(c->n_workers + 1, sizeof(size_t *));
        path = calloc(c->n_workers + 1, sizeof(size_t));
        if (!edges || !n_edges || !rows || !path)
                return -ENOMEM;
        total = 0;
        for (size_t w = 0; w < c->n_workers; w++) {
                rows[w] = edges + total;
                n_edges[w] = c->workers[w].n_after;
                for (size_t k = 0; k < c->workers[w].n_after; k++)
                        edges[total++] = (size_t) (conf_find_worker(c, c->workers[w].after[k].name) -
                                                   c->workers);
        }
        len = dep_find_cycle(&(DepGraph) { .n = c->n_workers, .edges = rows, .n_edges = n_edges },
                             path);
        if (len < 0)
                return len;
        if (len > 0) {
                print_cycle(cfg_errors, c, shown, path, len);
                return -EINVAL;
        }
        return 0;
}

