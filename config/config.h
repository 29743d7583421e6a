/*
 * The configuration: native text parsed once by libconfuse into an immutable Config snapshot
 * (confmodel.h).  Values are typed and range-checked during the parse, so every error carries
 * the file and line of the value that caused it.
 */
#pragma once

#include "confmodel.h"

/*
 * Parse the native configuration `text` (conffile.h reads a file and converts a supervisord.conf
 * into it).  `path` is the file it came from (Config.path); `name`, when not NULL, is what errors
 * call it instead ("PATH (converted)").  On failure returns a negative errno and puts one or more
 * lines of the form "name:line: what was wrong, what was expected" in *ret_errors (caller
 * frees).
 */
int conf_load(const char *text, const char *path, const char *name, Config **ret,
              char **ret_errors);
