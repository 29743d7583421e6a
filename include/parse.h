/*
 * Pure parsers for the values a user writes: durations, sizes, percentages, signal names and
 * command lines.  They never log and never allocate except where a result is returned; the
 * caller turns a negative errno into a message with the position it knows about.
 */
#pragma once

#include <stddef.h>
#include "macro.h"

/* "500ms", "10s", "5m", "1h", "2d", "1h30m", "250us"; a bare number means seconds. */
int parse_duration(const char *s, usec_t *ret);
/* "512", "64K", "10M", "1G" (powers of 1024; an optional trailing "B" or "iB" is accepted). */
int parse_size(const char *s, uint64_t *ret);
/* "10%" or "0.1"; the result is a fraction in [0, 1]. */
int parse_fraction(const char *s, double *ret);
/* "TERM", "SIGTERM", "sigterm" or "15". */
int parse_signal(const char *s, int *ret);
/* The short name of a signal ("TERM"), or NULL when unknown. */
const char *signal_to_name(int sig);

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
