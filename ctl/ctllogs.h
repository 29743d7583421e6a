/*
 * upkeepctl logs: the daemon only says which file holds an instance's output ("logfile"
 * request); reading, tailing and following across rotations is done here, on the files.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

typedef int (*ctl_roundtrip_fn)(const char *socket, json_t *req, json_t **ret);

/* upkeepctl logs NAME [-n N] [-f] | logs --reopen; argv[0] is the first word after "logs". */
int ctl_logs(const char *socket, int argc, char **argv, bool json, ctl_roundtrip_fn roundtrip);
