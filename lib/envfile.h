/*
 * Env-files: "KEY=VALUE" lines, '#' comments, an optional "export ", optional matching outer
 * quotes.  Read when a worker is spawned, from the loop: so the reading is bounded (a regular
 * file of at most ENVFILE_SIZE_MAX bytes, opened without blocking) and the parsing is pure (a
 * buffer in, assignments out), which the unit tests and the fuzzer call directly.
 */
#pragma once

#include <stddef.h>

#include "strv.h"

#define ENVFILE_SIZE_MAX (1024 * 1024)

/*
 * Parse len bytes of env-file text and append its assignments to *env (a NULL-terminated list,
 * NULL when empty).  -EINVAL on a bad line, with "path:line: what was expected" in err (never a
 * value: the line may hold a secret); what was appended before stays a valid list.
 */
int envfile_parse(const char *buf, size_t len, const char *path, char ***env, char *err,
                  size_t errlen);

/*
 * Read the env-file at path and parse it (see envfile_parse).  Anything but a regular file (a
 * FIFO would block the loop in open(), /dev/zero never ends), a file larger than
 * ENVFILE_SIZE_MAX, and any read error fail with "path: reason" in err.
 */
int envfile_read(const char *path, char ***env, char *err, size_t errlen);
