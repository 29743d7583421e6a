/*
 * The sockets upkeepd holds for its workers (listen sections): bound once when upkeepd starts,
 * kept open across every restart, crash and reload of the workers that use them, so that a
 * connection arriving while no instance accepts waits in the backlog instead of being refused.
 * One registry per upkeepd; the launch of an instance asks it for descriptors by name.
 */
#pragma once

#include <stddef.h>

#include "config.h"

/* Bind every listen section of c.  On failure nothing stays bound and *err names the address
 * and, where /proc shows it, the process that holds it. */
int sockets_open(const Config *c, char *err, size_t len);
/* A reload to c: sockets whose address is unchanged are kept, new or moved ones bound, removed
 * ones closed.  On failure nothing changed. */
int sockets_apply(const Config *c, char *err, size_t len);
/* The held descriptor of socket name (close-on-exec), or -1. */
int sockets_fd(const char *name);
void sockets_close_all(void);
/* --check-config: can every address be bound now?  An address held by an upkeepd (the one
 * running this configuration) is fine. */
int sockets_check(const Config *c, char *err, size_t len);
