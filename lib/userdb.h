/*
 * Users and groups by name, from the system's databases (NSS: /etc/passwd and /etc/group, or
 * whatever nsswitch.conf adds).  Looked up by upkeepd, where a failure can be said properly,
 * never in a forked child.  Each returns 0, -ESRCH when there is no such name, or the error of
 * the lookup itself (negative errno).  The entries are read with a 4 KiB buffer.
 */
#pragma once

#include <sys/types.h>

/* The user's uid and primary group. */
int userdb_user(const char *name, uid_t *ret_uid, gid_t *ret_gid);
int userdb_group(const char *name, gid_t *ret_gid);
/*
 * The groups of `user` with `gid` among them (getgrouplist()) into groups[], which holds *n; on
 * return *n is how many there are.  -E2BIG when they do not fit.
 */
int userdb_groups(const char *user, gid_t gid, gid_t *groups, int *n);
