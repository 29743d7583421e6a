/*
 * The control requests: one request line in, its answer out (see requests.c).  The command
 * table and the error codes are in proto.h.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "supervisor.h"

typedef struct Alerts Alerts;

/*
 * The answer to one request line (without its newline), never NULL but when out of memory:
 * about sup and its alerts.
 * may_command: the peer may use the commands that change something (root, upkeepd's user,
 * socket-group); uid is named when one is refused.
 */
json_t *request_answer(Supervisor *sup, Alerts *alerts, const char *line, size_t len,
                       bool may_command, uid_t uid);
