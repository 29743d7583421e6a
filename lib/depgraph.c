/*
 * Dependencies between workers (see depgraph.h).  The cycle search is an iterative depth-first
 * walk with three colours, so a long chain of workers does not grow the C stack.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "depgraph.h"

static const char *const cond_names[_DEP_COND_MAX] = {
        [DEP_READY] = "ready",
        [DEP_STARTED] = "started",
        [DEP_COMPLETED] = "completed",
};

const char *dep_cond_to_string(DepCond c) {
        return c >= 0 && c < _DEP_COND_MAX ? cond_names[c] : "unknown";
}

/* One word after a ':' (len bytes at w): a condition, or bind; false if unknown or repeated. */
static bool parse_word(const char *w, size_t len, DepEntry *e, bool *cond_seen) {
        if (len == 4 && memcmp(w, "bind", 4) == 0 && !e->bind)
                return (e->bind = true);
        for (int c = 0; c < _DEP_COND_MAX; c++)
                if (len == strlen(cond_names[c]) && memcmp(w, cond_names[c], len) == 0 &&
                    !*cond_seen) {
                        e->cond = (DepCond) c;
                        return (*cond_seen = true);
                }
        return false;
}

int dep_parse(const char *s, DepEntry *ret, const char **ret_err) {
        const char *colon = strchr(s, ':');
        bool cond_seen = false;

        *ret = (DepEntry) { .len = colon ? (size_t) (colon - s) : strlen(s), .cond = DEP_READY };
        if (ret->len == 0) {
                *ret_err = "empty worker name";
                return -EINVAL;
        }
        while (colon) {
                const char *w = colon + 1, *next = strchr(w, ':');
                size_t len = next ? (size_t) (next - w) : strlen(w);

                if (!parse_word(w, len, ret, &cond_seen)) {
                        *ret_err = "unknown or repeated condition";
                        return -EINVAL;
                }
                colon = next;
        }
        return 0;
}

enum { WHITE, GREY, BLACK };

int dep_find_cycle(const DepGraph *g, size_t *path) {
        unsigned char *colour = calloc(g->n + 1, 1);
        size_t *next = calloc(g->n + 1, sizeof(size_t)); /* the next edge to follow, per node */
        size_t depth, len = 0;

        if (!colour || !next) {
                free(colour);
                free(next);
                return -ENOMEM;
        }
        for (size_t root = 0; root < g->n && len == 0; root++) {
                if (colour[root] != WHITE)
                        continue;
                /* path[0 .. depth - 1] is the walk from root: its nodes are GREY */
                depth = 0;
                path[depth++] = root;
                colour[root] = GREY;
                while (depth > 0 && len == 0) {
                        size_t k = path[depth - 1];

                        if (next[k] == g->n_edges[k]) {
                                colour[k] = BLACK;
                                depth--;
                                continue;
                        }
                        size_t d = g->edges[k][next[k]++];

                        if (colour[d] == GREY) {
                                /* d is on the walk: the cycle is from d to k */
                                size_t from = 0;

                                while (path[from] != d)
                                        from++;
                                len = depth - from;
                                memmove(path, path + from, len * sizeof(size_t));
                        } else if (colour[d] == WHITE) {
                                colour[d] = GREY;
                                path[depth++] = d;
                        }
                }
        }
        free(colour);
        free(next);
        return (int) len;
}

bool dep_met(DepCond c, const DepFacts *f) {
        bool completed = f->state == STATE_EXITED && f->exited_ok;

        switch (c) {
        case DEP_READY:
                /* a oneshot is ready once it has done its work */
                return f->oneshot ? completed : f->state == STATE_RUNNING;
        case DEP_STARTED:
                return f->state == STATE_STARTING || f->state == STATE_RUNNING || completed;
        case DEP_COMPLETED:
                return completed;
        default:
                return false;
        }
}

bool dep_may_stop(const DepDependent *dependents, size_t n) {
        for (size_t k = 0; k < n; k++)
                if (dependents[k].has_process && dependents[k].stopping)
                        return false;
        return true;
}
