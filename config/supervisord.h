/*
 * supervisord.conf import: a translator from supervisord's INI dialect to upkeep's native
 * configuration text, which config.c then parses like any other file.  Pure apart from
 * reading the file and the files its [include] names; it never logs.
 */
#pragma once

#include <stdbool.h>

/*
 * Is this file a supervisord.conf?  True when its first section header, after blank lines and
 * comments, is one supervisord knows: [supervisord], [program:x], [group:x], [include],
 * [unix_http_server], [inet_http_server], [supervisorctl], [rpcinterface:x],
 * [eventlistener:x], [fcgi-program:x] or [ctlplugin:x].  A native file never starts with '['.
 * False when the file cannot be read.
 */
bool svd_detect(const char *path);

/*
 * Translate `path` (and the files its [include] section names) into native configuration text.
 * On success returns 0, *ret_text is the text and *ret_warnings holds one "file:line: ..." line
 * per key or section that has no native equivalent (an empty string when there is none).  On
 * failure returns a negative errno, *ret_text is untouched and *ret_warnings holds the
 * "file:line: ..." error.  The caller frees both.
 */
int svd_convert(const char *path, char **ret_text, char **ret_warnings);
