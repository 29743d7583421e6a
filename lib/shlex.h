/*
 * Python's shlex.split() (POSIX mode, no comments), as supervisord splits a program's command,
 * and the quoting that makes argv_split() (parse.h) read a word back unchanged.  The two rules
 * differ: inside "..." shlex keeps a backslash before anything but '"' and '\' (so "\$HOME" is
 * \$HOME, where a shell gives $HOME), a backslash-newline outside quotes is a newline, and a
 * carriage return separates words.  Pure.
 */
#pragma once

/*
 * Split `line` into a strv as shlex.split(line) does.  0, -ENOMEM, or -EINVAL with *ret_error
 * set to shlex's own message ("No closing quotation", "No escaped character").
 */
int shlex_split(const char *line, char ***ret, const char **ret_error);

/* The words joined by spaces, each quoted where argv_split() needs it.  NULL: out of memory. */
char *argv_join_quoted(char *const *argv);
