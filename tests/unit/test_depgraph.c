/*
 * Unit tests of the dependency decisions (lib/depgraph.h): `after` entries, cycles (with the
 * nodes named in order), when a dependency is met, and when a stop may proceed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>

#include "depgraph.h"

static void test_parse(void **state) {
        const char *err = NULL;
        DepEntry e;

        (void) state;
        assert_int_equal(dep_parse("redis", &e, &err), 0);
        assert_int_equal(e.len, 5);
        assert_int_equal(e.cond, DEP_READY);
        assert_false(e.bind);
        assert_int_equal(dep_parse("migrate:completed", &e, &err), 0);
        assert_int_equal(e.len, 7);
        assert_int_equal(e.cond, DEP_COMPLETED);
        assert_int_equal(dep_parse("x:started", &e, &err), 0);
        assert_int_equal(e.len, 1);
        assert_int_equal(e.cond, DEP_STARTED);
        assert_int_equal(dep_parse("x:ready", &e, &err), 0);
        assert_int_equal(e.cond, DEP_READY);
        assert_int_equal(dep_parse("redis:bind", &e, &err), 0);
        assert_int_equal(e.len, 5);
        assert_int_equal(e.cond, DEP_READY);
        assert_true(e.bind);
        assert_int_equal(dep_parse("redis:bind:started", &e, &err), 0);
        assert_true(e.bind);
        assert_int_equal(e.cond, DEP_STARTED);
        assert_int_equal(dep_parse("redis:started:bind", &e, &err), 0);
        assert_true(e.bind);
        assert_int_equal(dep_parse("redis:bind:bind", &e, &err), -EINVAL);
        assert_int_equal(dep_parse("redis:ready:started", &e, &err), -EINVAL);
        assert_int_equal(dep_parse("x:2", &e, &err), -EINVAL);
        assert_string_equal(err, "unknown or repeated condition");
        assert_int_equal(dep_parse("x:", &e, &err), -EINVAL);
        assert_int_equal(dep_parse("x:bind:", &e, &err), -EINVAL);
        assert_int_equal(dep_parse(":ready", &e, &err), -EINVAL);
        assert_string_equal(err, "empty worker name");
        assert_int_equal(dep_parse("", &e, &err), -EINVAL);
        assert_string_equal(dep_cond_to_string(DEP_COMPLETED), "completed");
        assert_string_equal(dep_cond_to_string(_DEP_COND_MAX), "unknown");
}

/* Up to 8 nodes, edges given as strings of node digits: "1" means "comes after node 1". */
typedef struct Graph {
        size_t e[8][8], n_e[8];
        const size_t *rows[8];
        DepGraph g;
} Graph;

static DepGraph *graph(Graph *t, size_t n, const char *const *edges) {
        for (size_t k = 0; k < n; k++) {
                t->n_e[k] = 0;
                for (const char *p = edges[k]; *p; p++)
                        t->e[k][t->n_e[k]++] = (size_t) (*p - '0');
                t->rows[k] = t->e[k];
        }
        t->g = (DepGraph) { .n = n, .edges = t->rows, .n_edges = t->n_e };
        return &t->g;
}

static void test_no_cycle(void **state) {
        Graph t;
        size_t path[8];
        /* 0 migrate; 1 api after 0; 2 worker after 1; 3 redis; 4 after 1 and 3 */
        const char *const e[] = { "", "0", "1", "", "13" };

        (void) state;
        assert_int_equal(dep_find_cycle(graph(&t, 5, e), path), 0);
}

static void test_self_cycle(void **state) {
        Graph t;
        size_t path[8];
        const char *const e[] = { "", "1" };

        (void) state;
        assert_int_equal(dep_find_cycle(graph(&t, 2, e), path), 1);
        assert_int_equal(path[0], 1);
}

static void test_long_cycle(void **state) {
        Graph t;
        size_t path[8];
        /* 0 after 1 after 2 after 3 after 1: the cycle is 1 -> 2 -> 3, not 0 */
        const char *const e[] = { "1", "2", "3", "1", "" };

        (void) state;
        assert_int_equal(dep_find_cycle(graph(&t, 5, e), path), 3);
        assert_int_equal(path[0], 1);
        assert_int_equal(path[1], 2);
        assert_int_equal(path[2], 3);
}

/* A diamond is not a cycle, even though node 3 is reached twice. */
static void test_diamond(void **state) {
        Graph t;
        size_t path[8];
        const char *const e[] = { "12", "3", "3", "" };

        (void) state;
        assert_int_equal(dep_find_cycle(graph(&t, 4, e), path), 0);
}

/* A chain longer than any recursion would like: found without growing the stack. */
static void test_long_chain(void **state) {
        enum { N = 20000 };
        size_t *edge = calloc(N, sizeof(size_t)), *n_e = calloc(N, sizeof(size_t));
        const size_t **rows = calloc(N, sizeof(size_t *));
        size_t *path = calloc(N, sizeof(size_t));
        DepGraph g = { .n = N, .edges = rows, .n_edges = n_e };

        (void) state;
        assert_non_null(edge);
        assert_non_null(n_e);
        assert_non_null(rows);
        assert_non_null(path);
        for (size_t k = 0; k < N; k++) {
                edge[k] = k + 1;
                rows[k] = &edge[k];
                n_e[k] = k + 1 < N;
        }
        assert_int_equal(dep_find_cycle(&g, path), 0);
        n_e[N - 1] = 1;
        edge[N - 1] = 0;
        assert_int_equal(dep_find_cycle(&g, path), N);
        free(edge);
        free(n_e);
        free(rows);
        free(path);
}

static void test_met(void **state) {
        DepFacts f = { .state = STATE_STARTING };

        (void) state;
        assert_false(dep_met(DEP_READY, &f));
        assert_true(dep_met(DEP_STARTED, &f));
        assert_false(dep_met(DEP_COMPLETED, &f));
        f.state = STATE_RUNNING;
        assert_true(dep_met(DEP_READY, &f));
        f.state = STATE_BACKOFF;
        assert_false(dep_met(DEP_READY, &f));
        assert_false(dep_met(DEP_STARTED, &f));
        f.state = STATE_WAITING;
        assert_false(dep_met(DEP_STARTED, &f));
        /* a oneshot is ready when it has done its work, and only then */
        f = (DepFacts) { .state = STATE_RUNNING, .oneshot = true };
        assert_false(dep_met(DEP_READY, &f));
        f = (DepFacts) { .state = STATE_EXITED, .oneshot = true, .exited_ok = true };
        assert_true(dep_met(DEP_READY, &f));
        assert_true(dep_met(DEP_COMPLETED, &f));
        assert_true(dep_met(DEP_STARTED, &f));
        f.exited_ok = false;
        assert_false(dep_met(DEP_READY, &f));
        assert_false(dep_met(DEP_COMPLETED, &f));
        f.state = STATE_FATAL;
        assert_false(dep_met(DEP_READY, &f));
}

static void test_may_stop(void **state) {
        DepDependent d[3] = {
                { .has_process = true, .stopping = false }, /* runs on: does not hold */
                { .has_process = false, .stopping = true }, /* gone already */
                { .has_process = true, .stopping = true },  /* still stopping: holds */
        };

        (void) state;
        assert_true(dep_may_stop(NULL, 0));
        assert_true(dep_may_stop(d, 2));
        assert_false(dep_may_stop(d, 3));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_no_cycle),
                cmocka_unit_test(test_self_cycle),
                cmocka_unit_test(test_long_cycle),
                cmocka_unit_test(test_diamond),
                cmocka_unit_test(test_long_chain),
                cmocka_unit_test(test_met),
                cmocka_unit_test(test_may_stop),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
