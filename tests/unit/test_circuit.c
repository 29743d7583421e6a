/*
 * Unit tests of the circuit breaker (lib/circuit.h): the ring gives up exactly at the N-th
 * restart within W, never at N-1 or just outside W, follows a resize, and the half-open step is
 * decided over every state x state x event.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "circuit.h"

#define S USEC_PER_SEC

static void test_gives_up_at_n_within_w(void **state) {
        Circuit c = {};

        (void) state;
        assert_int_equal(circuit_configure(&c, 3), 0);
        assert_false(circuit_gives_up(&c, 1 * S, 10 * S));
        circuit_record(&c, 1 * S);
        circuit_record(&c, 2 * S);
        assert_false(circuit_gives_up(&c, 3 * S, 10 * S)); /* two restarts so far */
        circuit_record(&c, 3 * S);
        assert_true(circuit_gives_up(&c, 3 * S, 10 * S));
        assert_true(circuit_gives_up(&c, 11 * S, 10 * S));      /* the oldest exactly W ago */
        assert_false(circuit_gives_up(&c, 11 * S + 1, 10 * S)); /* just outside W */
        circuit_record(&c, 20 * S);                              /* the ring moves on */
        assert_false(circuit_gives_up(&c, 20 * S, 10 * S));
        circuit_record(&c, 21 * S);
        circuit_record(&c, 22 * S);
        assert_true(circuit_gives_up(&c, 22 * S, 10 * S));
        circuit_done(&c);
}

static void test_off_and_reset(void **state) {
        Circuit c = {};

        (void) state;
        assert_int_equal(circuit_configure(&c, 0), 0);
        circuit_record(&c, 1 * S);
        assert_false(circuit_gives_up(&c, 1 * S, 10 * S));
        assert_int_equal(circuit_configure(&c, 1), 0);
        circuit_record(&c, 1 * S);
        assert_true(circuit_gives_up(&c, 2 * S, 10 * S));
        circuit_reset(&c);
        assert_false(circuit_gives_up(&c, 2 * S, 10 * S));
        circuit_record(&c, 3 * S);
        assert_int_equal(circuit_configure(&c, 1), 0); /* same size: kept */
        assert_true(circuit_gives_up(&c, 3 * S, 10 * S));
        assert_int_equal(circuit_configure(&c, 2), 0); /* a new size starts empty */
        assert_false(circuit_gives_up(&c, 3 * S, 10 * S));
        circuit_done(&c);
        assert_null(c.times);
}

static void test_half_open_always_gives_up(void **state) {
        Circuit c = {};

        (void) state;
        c.half_open = true;
        assert_true(circuit_gives_up(&c, 1 * S, 10 * S)); /* even with the breaker off */
        circuit_reset(&c);
        assert_false(c.half_open);
}

static void test_step_over_whole_domain(void **state) {
        (void) state;
        for (int half = 0; half < 2; half++) {
                Circuit c = { .half_open = half };

                for (int o = 0; o < _STATE_MAX; o++)
                        for (int n = 0; n < _STATE_MAX; n++)
                                for (int e = 0; e < _EV_MAX; e++) {
                                        CircuitStep want = CIRCUIT_STAYS;

                                        if (o == STATE_FATAL && n == STATE_STARTING &&
                                            e == EV_TIMER)
                                                want = CIRCUIT_HALF_OPEN;
                                        else if (half && o != STATE_RUNNING &&
                                                 n == STATE_RUNNING)
                                                want = CIRCUIT_CLOSES;
                                        assert_int_equal(circuit_step(&c, o, n, e), want);
                                }
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_gives_up_at_n_within_w),
                cmocka_unit_test(test_off_and_reset),
                cmocka_unit_test(test_half_open_always_gives_up),
                cmocka_unit_test(test_step_over_whole_domain),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
