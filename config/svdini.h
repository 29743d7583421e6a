/*
 * supervisord.conf import: the INI reader.  It reproduces supervisord's parser (Python's
 * RawConfigParser with inline comments and strict=False) rather than inih's: ';' and '#' start a
 * comment at the start of a line or after whitespace (inside quotes too, so a command can be
 * truncated, as supervisord truncates it); keys are case-insensitive and sections are not; a
 * line indented deeper than its key continues the value; sections repeated in several files are
 * merged and the last value of a key wins.
 *
 * inih does the splitting.  Our reader feeds it one physical line at a time, so it knows the
 * line number without INI_HANDLER_LINENO (a build-time choice of the library), sees each section
 * header (inih reports none, and an empty section would otherwise go unseen), and notices the
 * two places where inih and Python disagree: an indented key or header after an indented key
 * (Python compares indentation, inih only looks for some) is a new key or section here.
 *
 * The Parser also keeps the import's first error and its warnings, which every layer above
 * reports through svd_fail() and svd_warn().
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "macro.h"

/* the file of a message that names none (out of memory, a count over all files) */
#define NO_FILE UINT_MAX

typedef struct Key {
        char *name; /* lowercased, as Python's optionxform does */
        char *value;
        unsigned file, line;
        bool cut; /* an inline comment started inside quotes and cut the value short */
} Key;

typedef struct Section {
        char *name;
        unsigned file, line; /* where it first appeared */
        Key *keys;
        size_t n_keys;
        char *group; /* [program:x] only: the [group:y] that lists it... */
        long group_priority; /* ...and that group's priority */
} Section;

/* Warnings are sorted by file and line before they are returned. */
typedef struct Warning {
        unsigned file, line;
        size_t seq;
        char *text;
} Warning;

typedef enum LineKind {
        LINE_OTHER,  /* blank, comment, or not understood (inih reports the error) */
        LINE_CONT,   /* continues the previous key's value */
        LINE_KEY,
        LINE_HEADER,
} LineKind;

typedef struct Parser {
        char **files; /* every file read, as opened; Key.file indexes it */
        size_t n_files;
        Section *sections;
        size_t n_sections;

        /* the file being read */
        FILE *f;
        unsigned file;
        bool included;
        char *buf;
        size_t cap, len, pos;
        unsigned lineno;
        LineKind kind;
        bool inih_cont;     /* inih takes this line for a continuation and passes it whole */
        bool inih_prev;     /* inih has a previous key (its prev_name) */
        bool have_key;      /* Python has a previous key in this section */
        size_t key_indent;  /* ... and this is its indentation */
        ssize_t cur;        /* the section being read, -1 before the first or when skipped */
        ssize_t last_key;
        bool skip_section;

        Warning *warnings;
        size_t n_warnings;
        char *error;
        int err;
} Parser;

static inline bool svd_is_comment_start(char c) {
        return c == ';' || c == '#';
}

/* The name of file number `file` as it was opened, or "?". */
const char *svd_file_name(const Parser *p, unsigned file);

/*
 * Record an error as "file:line: message" (just "file: message" for line 0, the message alone
 * for NO_FILE) and return `err`.  Only the first is kept: the rest usually follow from it.
 */
int svd_fail(Parser *p, int err, unsigned file, unsigned line, const char *fmt, ...)
        _printf_(5, 6);
/* Record a warning "file:line: message". */
void svd_warn(Parser *p, unsigned file, unsigned line, const char *fmt, ...) _printf_(4, 5);
/* A warning about one key: "file:line: [section] key: message".  0, or -ENOMEM recorded. */
int svd_warn_key(Parser *p, const Section *s, const Key *k, const char *fmt, ...)
        _printf_(4, 5);

Section *svd_find_section(Parser *p, const char *name);
const Key *svd_find_key(const Section *s, const char *name);
/* Warn about each key of `s` not in `known`, suggesting the nearest known name. */
void svd_check_keys(Parser *p, const Section *s, const char *const *known, size_t n_known);

/*
 * Read one file into the merged sections: `data` (of `size` bytes) when given, else the file
 * `path`.  An included file (`included`) that cannot be opened is a warning at the [include]
 * line (`from_file`, `from_line`), as supervisord skips it; an [include] inside one is ignored.
 */
int svd_parse_file(Parser *p, const char *path, const char *data, size_t size, bool included,
                   unsigned from_file, unsigned from_line);

/* The warnings in file order, one per line ("" when none), or NULL when out of memory. */
char *svd_join_warnings(Parser *p);
void svd_parser_done(Parser *p);
