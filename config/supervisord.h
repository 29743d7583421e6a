/*
 * supervisord.conf import: a translator from supervisord's INI dialect to upkeep's native
 * configuration text, which config.c then parses like any other.  Pure apart from reading the
 * file (unless its text is given) and the files its [include] names; it never logs.  Callers
 * that load a configuration go through conffile.h, which detects and converts once.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * Is this file a supervisord.conf?  True when its first section header, after blank lines and
 * comments, is one supervisord knows: [supervisord], [program:x], [group:x], [include],
 * [unix_http_server], [inet_http_server], [supervisorctl], [rpcinterface:x],
 * [eventlistener:x], [fcgi-program:x] or [ctlplugin:x].  A native file never starts with '['.
 * False when the file cannot be read.
 */
bool svd_detect(const char *path);
/* The same, on the `size` bytes of a file's text. */
bool svd_detect_text(const char *data, size_t size);

/*
 * Translate `path` (and the files its [include] section names) into native configuration text.
 * On success returns 0, *ret_text is the text and *ret_warnings holds one "file:line: ..." line
 * per key or section that has no native equivalent (an empty string when there is none).  On
 * failure returns a negative errno, *ret_text is untouched and *ret_warnings holds the
 * "file:line: ..." error.  The caller frees both.
 */
int svd_convert(const char *path, char **ret_text, char **ret_warnings);
/*
 * The same, with the main file's text given (`size` bytes, NULs included) instead of read from
 * `path`, which still names it in messages and is where %(here)s and relative [include]
 * patterns start from.
 */
int svd_convert_text(const char *path, const char *data, size_t size, char **ret_text,
                     char **ret_warnings);
