/*
 * Users and groups by name (see userdb.h).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>

#include "userdb.h"

#define ENTRY_BUFFER 4096

int userdb_user(const char *name, uid_t *ret_uid, gid_t *ret_gid) {
        char buf[ENTRY_BUFFER];
        struct passwd pw, *found = NULL;
        int r;

        r = getpwnam_r(name, &pw, buf, sizeof buf, &found);
        if (r != 0)
                return -r;
        if (!found)
                return -ESRCH;
        *ret_uid = pw.pw_uid;
        *ret_gid = pw.pw_gid;
        return 0;
}

int userdb_group(const char *name, gid_t *ret_gid) {
        char buf[ENTRY_BUFFER];
        struct group gr, *found = NULL;
        int r;

        r = getgrnam_r(name, &gr, buf, sizeof buf, &found);
        if (r != 0)
                return -r;
        if (!found)
                return -ESRCH;
        *ret_gid = gr.gr_gid;
        return 0;
}

int userdb_groups(const char *user, gid_t gid, gid_t *groups, int *n) {
        return getgrouplist(user, gid, groups, n) < 0 ? -E2BIG : 0;
}
