/*
 * Unit tests of alert rule matching (lib/alertrule.h) over windows filled here: a rule holds
 * when its count is reached within its window; the highest severity wins and is described by
 * the first rule of that severity; a rule that does not hold leaves no trace in the result.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "alertrule.h"

#define T0 (1000 * USEC_PER_HOUR)
#define S(n) ((usec_t) (n) * USEC_PER_SEC)
#define M(n) ((usec_t) (n) * USEC_PER_MINUTE)

static Window win;

static AlertFacts facts(usec_t now) {
        return (AlertFacts) { .window = &win, .now = now };
}

static void crashes(unsigned n, usec_t at) {
        for (unsigned i = 0; i < n; i++)
                win_add(&win, EVK_CRASH, at);
}

static void test_no_rules_no_events(void **state) {
        static const AlertRule rules[] = {
                { SEV_WARNING, EVK_CRASH, 1, M(1) },
        };
        AlertFacts f = facts(T0);
        AlertMatch m;

        (void) state;
        win_init(&win, T0);
        alert_match(NULL, 0, &f, &m);
        assert_int_equal(m.severity, SEV_NONE);
        assert_string_equal(m.summary, "");
        alert_match(rules, ELEMENTSOF(rules), &f, &m);
        assert_int_equal(m.severity, SEV_NONE);
        assert_null(m.instance);
        /* no window yet: nothing counted */
        f.window = NULL;
        alert_match(rules, ELEMENTSOF(rules), &f, &m);
        assert_int_equal(m.severity, SEV_NONE);
}

/* Every count from 0 to 6 against thresholds 1, 3 and 5: the exact edge of each. */
static void test_threshold_edges(void **state) {
        static const AlertRule rules[] = {
                { SEV_WARNING, EVK_CRASH, 1, M(1) },
                { SEV_CRITICAL, EVK_CRASH, 3, M(1) },
                { SEV_FATAL, EVK_CRASH, 5, M(1) },
        };
        static const Severity want[] = { SEV_NONE, SEV_WARNING, SEV_WARNING, SEV_CRITICAL,
                                         SEV_CRITICAL, SEV_FATAL, SEV_FATAL };

        (void) state;
        for (unsigned n = 0; n < ELEMENTSOF(want); n++) {
                AlertFacts f = facts(T0 + S(10));
                AlertMatch m;

                win_init(&win, T0);
                crashes(n, T0 + S(5));
                alert_match(rules, ELEMENTSOF(rules), &f, &m);
                assert_int_equal(m.severity, want[n]);
        }
}

static void test_summary_and_window(void **state) {
        static const AlertRule rules[] = {
                { SEV_WARNING, EVK_RESTART, 2, M(10) },
                { SEV_CRITICAL, EVK_CRASH, 3, M(1) },
        };
        AlertFacts f;
        AlertMatch m;

        (void) state;
        win_init(&win, T0);
        crashes(3, T0);
        win_add(&win, EVK_RESTART, T0);
        win_add(&win, EVK_RESTART, T0 + M(2));
        /* the crashes are two minutes old: out of the 1m window */
        f = facts(T0 + M(2));
        alert_match(rules, ELEMENTSOF(rules), &f, &m);
        assert_int_equal(m.severity, SEV_WARNING);
        assert_string_equal(m.summary, "2 restarts within 10m00s");
        assert_null(m.instance);
        /* one restart: the singular */
        static const AlertRule one[] = { { SEV_WARNING, EVK_RESTART, 1, M(1) } };
        alert_match(one, 1, &f, &m);
        assert_string_equal(m.summary, "1 restart within 1m00s");
}

/* A higher rule that does not hold must not overwrite what the lower one that holds says. */
static void test_failed_rule_leaves_no_trace(void **state) {
        static const AlertRule rules[] = {
                { SEV_WARNING, EVK_CRASH, 1, M(1) },
                { SEV_CRITICAL, ALERT_EVENT_GAVE_UP, 2, 0 },
                { SEV_FATAL, EVK_CRASH, 10, M(1) },
        };
        AlertFacts f;
        AlertMatch m;

        (void) state;
        win_init(&win, T0);
        crashes(1, T0);
        f = facts(T0);
        f.gave_up = 1;
        f.gave_up_instance = "api:2";
        f.gave_up_reason = "exited with code 3";
        alert_match(rules, ELEMENTSOF(rules), &f, &m);
        assert_int_equal(m.severity, SEV_WARNING);
        assert_string_equal(m.summary, "1 crash within 1m00s");
        assert_null(m.instance);
}

static void test_gave_up(void **state) {
        static const AlertRule rules[] = {
                { SEV_WARNING, EVK_CRASH, 1, M(1) },
                { SEV_FATAL, ALERT_EVENT_GAVE_UP, 1, 0 },
        };
        AlertFacts f;
        AlertMatch m;

        (void) state;
        win_init(&win, T0);
        crashes(4, T0);
        f = facts(T0);
        f.gave_up = 1;
        f.gave_up_instance = "api:2";
        f.gave_up_reason = "exited with code 3";
        alert_match(rules, ELEMENTSOF(rules), &f, &m);
        assert_int_equal(m.severity, SEV_FATAL);
        assert_string_equal(m.instance, "api:2");
        assert_string_equal(m.summary, "exited with code 3");
        /* no reason known */
        f.gave_up_reason = "";
        alert_match(rules, ELEMENTSOF(rules), &f, &m);
        assert_string_equal(m.summary, "gave up");
        /* a long reason is cut, never overflows */
        char reason[400];
        memset(reason, 'x', sizeof reason - 1);
        reason[sizeof reason - 1] = '\0';
        f.gave_up_reason = reason;
        alert_match(rules, ELEMENTSOF(rules), &f, &m);
        assert_int_equal(strlen(m.summary), 150);
}

/* Of two rules of the same severity that hold, the first describes the match. */
static void test_first_of_equal_severity(void **state) {
        static const AlertRule rules[] = {
                { SEV_CRITICAL, EVK_EXIT, 2, M(1) },
                { SEV_CRITICAL, EVK_CRASH, 1, M(1) },
        };
        AlertFacts f;
        AlertMatch m;

        (void) state;
        win_init(&win, T0);
        crashes(1, T0);
        win_add(&win, EVK_EXIT, T0);
        win_add(&win, EVK_EXIT, T0);
        f = facts(T0);
        alert_match(rules, ELEMENTSOF(rules), &f, &m);
        assert_int_equal(m.severity, SEV_CRITICAL);
        assert_string_equal(m.summary, "2 exits within 1m00s");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_no_rules_no_events),
                cmocka_unit_test(test_threshold_edges),
                cmocka_unit_test(test_summary_and_window),
                cmocka_unit_test(test_failed_rule_leaves_no_trace),
                cmocka_unit_test(test_gave_up),
                cmocka_unit_test(test_first_of_equal_severity),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
