/*
 * Unit tests of the user and group lookups (lib/userdb.c), against the users every system has:
 * root (uid 0, group 0) exists, a name nobody uses does not.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "macro.h"
#include "userdb.h"

#define NO_SUCH_NAME "upkeep-no-such-name-7f3a"

static void test_user(void **state) {
        uid_t uid = 1234;
        gid_t gid = 1234;

        (void) state;
        assert_int_equal(userdb_user("root", &uid, &gid), 0);
        assert_int_equal(uid, 0);
        assert_int_equal(gid, 0);
        uid = 1234;
        assert_int_equal(userdb_user(NO_SUCH_NAME, &uid, &gid), -ESRCH);
        assert_int_equal(uid, 1234);
}

static void test_group(void **state) {
        gid_t gid = 1234;

        (void) state;
        assert_int_equal(userdb_group("root", &gid), 0);
        assert_int_equal(gid, 0);
        gid = 1234;
        assert_int_equal(userdb_group(NO_SUCH_NAME, &gid), -ESRCH);
        assert_int_equal(gid, 1234);
}

static void test_groups(void **state) {
        gid_t groups[64];
        int n = (int) ELEMENTSOF(groups);
        bool has_gid = false;

        (void) state;
        assert_int_equal(userdb_groups("root", 0, groups, &n), 0);
        assert_true(n >= 1);
        for (int k = 0; k < n; k++)
                has_gid = has_gid || groups[k] == 0;
        assert_true(has_gid);
        /* the given gid is always one of them: no room for it is too little room */
        n = 0;
        assert_int_equal(userdb_groups("root", 0, groups, &n), -E2BIG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_user),
                cmocka_unit_test(test_group),
                cmocka_unit_test(test_groups),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
