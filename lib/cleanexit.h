/*
 * Which ends of a process the on-failure restart policy counts as clean: a set of exit codes and
 * a set of signals.  The default is exit code 0 and death by SIGHUP, SIGINT, SIGTERM or SIGPIPE
 * (how a process asked to stop usually ends); supervisord's autorestart=unexpected is the set of
 * its exitcodes and no signal at all.  Pure: the configuration fills it, the supervisor asks it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct CleanExits {
        uint64_t codes[4];   /* bit n of codes[n / 64]: exit code n (0 to 255) is clean */
        uint64_t signals[2]; /* bit n of signals[n / 64]: death by signal n (1 to 127) is clean */
} CleanExits;

/* The default set: exit code 0; SIGHUP, SIGINT, SIGTERM, SIGPIPE. */
void clean_exits_default(CleanExits *c);
/* The empty set (every end is a failure). */
void clean_exits_none(CleanExits *c);
/*
 * Add one entry: a decimal exit code 0 to 255 ("0", "2"), or a signal by name ("TERM",
 * "SIGTERM", "RTMIN+1"; a bare number is always an exit code).  0 or -EINVAL.
 */
int clean_exits_add(CleanExits *c, const char *entry);
/* Is this end clean?  signal != 0: killed by it; else exited with code. */
bool clean_exits_test(const CleanExits *c, int code, int signal);
