/*
 * Unit tests of the sd_notify datagram parser and of who may send one (lib/sdnotify.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "sdnotify.h"

static void parse(const char *s, SdNotify *m, int want) {
        assert_int_equal(sd_notify_parse(s, strlen(s), m), want);
}

static void test_ready_and_status(void **state) {
        SdNotify m;

        (void) state;
        parse("READY=1\nSTATUS=Ready to accept connections tcp", &m, 0);
        assert_true(m.ready);
        assert_true(m.has_status);
        assert_string_equal(m.status, "Ready to accept connections tcp");
        assert_false(m.watchdog || m.stopping || m.reloading || m.watchdog_trigger);
        assert_int_equal(m.mainpid, 0);
        parse("READY=0\nREADY=", &m, 0);
        assert_false(m.ready);
        parse("STATUS=a\tb\x01" "c\n", &m, 0);
        assert_string_equal(m.status, "a?b?c");
        parse("", &m, -EINVAL);
        parse("garbage\n\n", &m, -EINVAL);
        /* not NUL-terminated: only n bytes are read */
        assert_int_equal(sd_notify_parse("READY=1X", 7, &m), 0);
        assert_true(m.ready);
}

static void test_other_keys(void **state) {
        SdNotify m;
        char big[1000];

        (void) state;
        parse("WATCHDOG=1\nSTOPPING=1\nRELOADING=1\nMONOTONIC_USEC=5\nX_Y=z", &m, 0);
        assert_true(m.watchdog && m.stopping && m.reloading);
        parse("WATCHDOG=trigger", &m, 0);
        assert_true(m.watchdog_trigger);
        assert_false(m.watchdog);
        parse("MAINPID=4242", &m, 0);
        assert_int_equal(m.mainpid, 4242);
        parse("MAINPID=-1", &m, 0);
        assert_int_equal(m.mainpid, 0);
        parse("MAINPID=12345678901", &m, 0);
        assert_int_equal(m.mainpid, 0);
        parse("MAINPID=12x", &m, 0);
        assert_int_equal(m.mainpid, 0);
        memset(big, 'a', sizeof big);
        memcpy(big, "STATUS=", 7);
        assert_int_equal(sd_notify_parse(big, sizeof big, &m), 0);
        assert_int_equal(strlen(m.status), sizeof m.status - 1);
}

static void test_sender(void **state) {
        const pid_t chain[] = { 300, 200, 1 };

        (void) state;
        assert_true(sd_notify_sender_ok(200, 200, 200, NULL, 0));  /* the main process */
        assert_true(sd_notify_sender_ok(200, 400, 200, NULL, 0));  /* in its session */
        assert_true(sd_notify_sender_ok(200, 400, 400, chain, 3)); /* a descendant */
        assert_false(sd_notify_sender_ok(200, 400, 400, chain, 1));
        assert_false(sd_notify_sender_ok(200, 400, 1, NULL, 0));   /* anybody else */
        assert_false(sd_notify_sender_ok(0, 0, 0, NULL, 0));
}

static void test_mainpid(void **state) {
        (void) state;
        assert_int_equal(sd_notify_mainpid(0, 200, 50, true), SD_MAINPID_NONE);   /* none */
        assert_int_equal(sd_notify_mainpid(200, 200, 50, true), SD_MAINPID_NONE); /* already */
        assert_int_equal(sd_notify_mainpid(300, 200, 50, true), SD_MAINPID_ADOPT);
        assert_int_equal(sd_notify_mainpid(300, 200, 50, false), SD_MAINPID_FOREIGN);
        /* never upkeepd itself or init, whatever the tree says */
        assert_int_equal(sd_notify_mainpid(50, 200, 50, true), SD_MAINPID_SELF);
        assert_int_equal(sd_notify_mainpid(1, 200, 50, true), SD_MAINPID_SELF);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ready_and_status),
                cmocka_unit_test(test_other_keys),
                cmocka_unit_test(test_sender),
                cmocka_unit_test(test_mainpid),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
