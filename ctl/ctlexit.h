/*
 * upkeepctl's exit statuses (man/upkeepctl.1, EXIT STATUS), shared by its commands.
 */
#pragma once

#include "proto.h"

enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,      /* a command failed, or the daemon answered with an error */
        EXIT_USAGE = 2,
        EXIT_NOT_RUNNING = 3, /* status: some instance shown is not RUNNING */
        EXIT_UNREACHABLE = 4, /* no daemon to talk to, or no such name */
};

/* The exit status for an error answer, chosen by its code. */
static inline int ctl_exit_for_error(ProtoError e) {
        switch (e) {
        case PROTO_E_NO_SUCH_PROCESS:
                return EXIT_UNREACHABLE;
        default:
                return EXIT_FAILED;
        }
}
