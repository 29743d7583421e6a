/*
 * A parsed configuration's libconfuse tree (config.c's schema) copied into the plain Config of
 * confmodel.h, so that nothing past config.c depends on libconfuse.
 */
#pragma once

#include <confuse.h>

#include "confmodel.h"

/* The tree `cfg` of the file `path` as a new Config: 0, or -ENOMEM (argv_split()'s errors). */
int conf_copy(cfg_t *cfg, const char *path, Config **ret);
