/*
 * Pure parsers for the values a user writes: durations, sizes, percentages, signal names and
 * command lines.  They never log and never allocate except where a result is returned; the
 * caller turns a negative errno into a message with the position it knows about.
 */
#pragma once

#include <stddef.h>
#include "macro.h"
#include "strv.h"

/* "500ms", "10s", "5m", "1h", "2d", "1h30m", "250us"; a bare number means seconds. */
int parse_duration(const char *s, usec_t *ret);
/* "512", "64K", "10M", "1G" (powers of 1024; an optional trailing "B" or "iB" is accepted). */
int parse_size(const char *s, uint64_t *ret);
/* "10%" or "0.1"; the result is a fraction in [0, 1]. */
int parse_fraction(const char *s, double *ret);
/* A umask: 1 to 4 octal digits, at most 0777 ("022", "0077"). */
int parse_umask(const char *s, unsigned *ret);
/* "TERM", "SIGTERM", "sigterm", "15", or a real-time one: "RTMIN+3", "SIGRTMAX-2", "RTMIN". */
int parse_signal(const char *s, int *ret);
/* The short name of a signal in the table ("TERM"), or NULL for any other. */
const char *signal_to_name(int sig);

/*
 * The name under which a signal is shown everywhere (status, the JSON "signal" field, logs,
 * alerts): the table's short name ("TERM"), "RTMIN+N" or "RTMAX-N" for a real-time signal, or
 * else its decimal number ("16").  Never NULL; parse_signal() reads every such name back.  The
 * result is either static or written into buf.
 */
#define SIGNAL_NAME_MAX 24
const char *signal_name(int sig, char buf[static SIGNAL_NAME_MAX]);
/* The same for running text: "SIGTERM", "SIGRTMIN+3", or "signal 16" for a bare number. */
#define SIGNAL_LABEL_MAX (SIGNAL_NAME_MAX + 8)
const char *signal_label(int sig, char buf[static SIGNAL_LABEL_MAX]);
/* Both with a buffer that lives until the end of the enclosing block (a compound literal). */
#define SIGNAL_NAME(sig) signal_name((sig), (char[SIGNAL_NAME_MAX]) {})
#define SIGNAL_LABEL(sig) signal_label((sig), (char[SIGNAL_LABEL_MAX]) {})

/*
 * Split a command line into argv the way a POSIX shell splits words, without any expansion:
 * blanks separate words, '...' is literal, "..." honours \" \\ \$ \` and backslash-newline,
 * a backslash outside quotes escapes the next character.  On a syntax error returns -EINVAL and
 * sets *ret_error to a static description.
 */
int argv_split(const char *line, char ***ret, const char **ret_error);

/* Render a duration compactly for humans: "350ms", "4.2s", "3m12s", "2h05m", "3d04h". */
char *format_duration(char *buf, size_t len, usec_t d);

/* Replace %i by the instance number and %% by %, in a command argument or a URL. */
char *expand_instance(const char *tmpl, unsigned index);

/*
 * The configuration text with its comments blanked out, newlines kept (see parse.c).  -EINVAL
 * for a '/' '*' comment that is never closed, with the line it opens on in *ret_line.
 */
int conf_strip_comments(const char *text, char **ret, unsigned *ret_line);
