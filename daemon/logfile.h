/*
 * Opening log files safely.  upkeepd writes worker output as root into log-dir/<worker>/, a
 * directory a worker's user may be given write access to: every file there is opened relative
 * to the directory's fd, without following a symlink, without blocking, and must be a regular
 * file with one link (see logfile.c).
 */
#pragma once

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>


#define LOGFILE_FLAGS (O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY)

/*
 * Open (creating it) the log file `base` in `dir` for appending, and that directory.  With
 * own_dir, the last component of dir is made when missing and never followed, and the file
 * must be a regular file with one link, opened without following a symlink and without
 * blocking (a FIFO is refused).  Returns the file's fd and the directory's in *ret_dfd, or a
 * negative errno: ELOOP for a symlink, EMEDIUMTYPE for a file that is not regular, EMLINK for
 * one with other links (logfile_strerror() words them).
 */
int logfile_open(const char *dir, const char *base, bool own_dir, int *ret_dfd);
int logfile_open_dir(const char *dir, bool own_dir, int *ret_dfd);
/* The log file `base` in the directory dfd, opened as logfile_open() does (a rotation's new
 * file); its fd or a negative errno. */
int logfile_open_at(int dfd, const char *base, bool own_dir);
/* `name` in the directory dfd, never through a symlink, refused unless a regular file with one
 * link; the fd (flags as given, O_NONBLOCK cleared) or a negative errno as above. */
int logfile_open_strict(int dfd, const char *name, int flags, mode_t mode);
const char *logfile_strerror(int err);

/* write(2) all of it, again after EINTR and short writes. */
int logfile_write_full(int fd, const void *p, size_t n);
