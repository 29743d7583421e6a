/*
 * A configuration file as upkeepd loads it: read once, recognised as upkeep's native format or
 * as a supervisord.conf, and in the second case translated once (supervisord.h), its warnings
 * kept for the caller to print.  config.h's conf_load() then parses the native text.  This is
 * the only part that knows both formats; config.c knows nothing of supervisord.
 */
#pragma once

#include <stddef.h>

#include "config.h"

typedef struct ConfFile {
        char *path;     /* the file as named: Config.path, read again at each reload */
        char *name;     /* what errors in the text call it: path, or "PATH (converted)" */
        char *text;     /* native configuration text */
        char *warnings; /* the import's "file:line: ..." lines; "" for a native file */
} ConfFile;

/*
 * Read `path` and make native text of it.  On failure returns a negative errno and puts the
 * "file[:line]: ..." error in *ret_errors (caller frees); *ret is untouched.
 */
int conf_file_read(const char *path, ConfFile *ret, char **ret_errors);
/* The same on `size` bytes already read from `path` (the fuzzers' way in). */
int conf_file_from_text(const char *path, const char *data, size_t size, ConfFile *ret,
                        char **ret_errors);
void conf_file_done(ConfFile *f);

/*
 * conf_file_read() then conf_load(): what upkeepd does at start and at each reload.  The
 * import's warnings go to *ret_warnings when it is not NULL ("" when none; caller frees).
 */
int conf_load_file(const char *path, Config **ret, char **ret_warnings, char **ret_errors);
