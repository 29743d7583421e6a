/*
 * supervisord.conf import (see supervisord.h): reads supervisord's INI dialect with inih and
 * writes upkeep's native configuration text, so config.c stays the only place that knows what a
 * valid configuration is.
 *
 * Reading reproduces supervisord's parser (Python's RawConfigParser with inline comments and
 * strict=False) rather than inih's: ';' and '#' start a comment at the start of a line or after
 * whitespace (inside quotes too, so a command can be truncated, as supervisord truncates it);
 * keys are case-insensitive and sections are not; a line indented deeper than its key continues
 * the value; sections repeated in several files are merged and the last value of a key wins.
 * inih does the splitting.  Our reader feeds it one physical line at a time, so it knows the
 * line number without INI_HANDLER_LINENO (a build-time choice of the library), sees each section
 * header (inih reports none, and an empty section would otherwise go unseen), and notices the
 * two places where inih and Python disagree: an indented key or header after an indented key
 * (Python compares indentation, inih only looks for some) is a new key or section here.
 *
 * Values then go through supervisord's %-expansion (%(here)s, %(program_name)s,
 * %(process_num)02d, %(ENV_X)s, ...), and each [program:x] becomes one native worker, or one
 * per process when its processes differ in a way upkeep's instances cannot express.  Keys and
 * sections without a native equivalent become "file:line: ..." warnings; values supervisord
 * would refuse are errors.  Invariant: the text we return is valid for config.c, because every
 * value is checked here with the same parsers (argv_split, parse_signal) and limits.
 *
 * [include] is followed from the main file only, as supervisord does; an [include] in an
 * included file is reported and ignored instead of silently running more programs than
 * supervisord would.
 */
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <strings.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "config.h"
#include "defaults.h"
#include "parse.h"
#include "supervisord.h"

#define SUN_PATH_MAX (sizeof(((struct sockaddr_un *) NULL)->sun_path) - 1)

/* longer lines are refused, not split: inih would cut them and read the rest as a new line */
#define SVD_MAX_LINE 65536
#define SVD_MAX_NAME 64
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

static void *mfree(void *p) {
        free(p);
        return NULL;
}

static const char *file_name(const Parser *p, unsigned file) {
        return file < p->n_files ? p->files[file] : "?";
}

static int fail(Parser *p, int err, unsigned file, unsigned line, const char *fmt, ...)
        _printf_(5, 6);

/* Record the first error only: the rest usually follow from it. */
static int fail(Parser *p, int err, unsigned file, unsigned line, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int r;

        if (p->err < 0)
                return p->err;
        p->err = err;
        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0) {
                msg = NULL;
                p->err = -ENOMEM;
                return p->err;
        }
        if (err == -ENOMEM)
                r = asprintf(&p->error, "out of memory");
        else if (file == NO_FILE)
                r = asprintf(&p->error, "%s", msg);
        else if (line == 0)
                r = asprintf(&p->error, "%s: %s", file_name(p, file), msg);
        else
                r = asprintf(&p->error, "%s:%u: %s", file_name(p, file), line, msg);
        if (r < 0)
                p->error = NULL;
        return err;
}

static void warn(Parser *p, unsigned file, unsigned line, const char *fmt, ...) _printf_(4, 5);

static void add_warning(Parser *p, unsigned file, unsigned line, const char *prefix,
                        const char *fmt, va_list ap) {
        _cleanup_free_ char *msg = NULL;
        Warning *nw;

        if (vasprintf(&msg, fmt, ap) < 0) {
                msg = NULL;
                (void) fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
                return;
        }
        nw = realloc(p->warnings, (p->n_warnings + 1) * sizeof(Warning));
        if (!nw) {
                (void) fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
                return;
        }
        p->warnings = nw;
        nw = &p->warnings[p->n_warnings];
        *nw = (Warning) { .file = file, .line = line, .seq = p->n_warnings };
        if (asprintf(&nw->text, "%s:%u: %s%s", file_name(p, file), line, prefix, msg) < 0) {
                nw->text = NULL;
                (void) fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
                return;
        }
        p->n_warnings++;
}

static void warn(Parser *p, unsigned file, unsigned line, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        add_warning(p, file, line, "", fmt, ap);
        va_end(ap);
}

static int warn_key(Parser *p, const Section *s, const Key *k, const char *fmt, ...)
        _printf_(4, 5);

/* A warning about one key: "file:line: [section] key=value: what happens instead". */
static int warn_key(Parser *p, const Section *s, const Key *k, const char *fmt, ...) {
        _cleanup_free_ char *prefix = NULL;
        va_list ap;

        if (asprintf(&prefix, "[%s] %s: ", s->name, k->name) < 0) {
                prefix = NULL;
                return fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        }
        va_start(ap, fmt);
        add_warning(p, k->file, k->line, prefix, fmt, ap);
        va_end(ap);
        return 0;
}

/* ---- reading: the line reader and inih's handler ---- */

static bool is_comment_start(char c) {
        return c == ';' || c == '#';
}

/* The first of `chars`, or an inline comment (';' or '#' after whitespace), or the end. */
static char *find_chars_or_comment(char *s, const char *chars) {
        bool was_space = false;

        for (; *s; s++) {
                if (chars && strchr(chars, *s))
                        break;
                if (was_space && is_comment_start(*s))
                        break;
                was_space = isspace((unsigned char) *s);
        }
        return s;
}

static Section *find_section(Parser *p, const char *name) {
        for (size_t i = 0; i < p->n_sections; i++)
                if (strcmp(p->sections[i].name, name) == 0)
                        return &p->sections[i];
        return NULL;
}

static const Key *find_key(const Section *s, const char *name) {
        for (size_t i = 0; i < s->n_keys; i++)
                if (strcmp(s->keys[i].name, name) == 0)
                        return &s->keys[i];
        return NULL;
}

static int enter_section(Parser *p, const char *start, size_t len) {
        _cleanup_free_ char *name = strndup(start, len);
        Section *s, *ns;

        if (!name)
                return fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        p->have_key = false;
        p->last_key = -1;
        p->skip_section = false;
        if (p->included && strcmp(name, "include") == 0) {
                warn(p, p->file, p->lineno, "[include] in an included file is not followed "
                     "(supervisord reads [include] from the main file only), ignoring");
                p->skip_section = true;
                p->cur = -1;
                return 0;
        }
        s = find_section(p, name);
        if (!s) {
                ns = realloc(p->sections, (p->n_sections + 1) * sizeof(Section));
                if (!ns)
                        return fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
                p->sections = ns;
                s = &p->sections[p->n_sections++];
                *s = (Section) { .name = TAKE_PTR(name), .file = p->file, .line = p->lineno };
        }
        p->cur = s - p->sections;
        return 0;
}

/*
 * Classify the physical line just read, the way Python's configparser would, and note what
 * inih will make of it (see the top of the file).  Section headers are entered here.
 */
static void classify_line(Parser *p) {
        char *line = p->buf, *start, *end;
        size_t indent;

        if (p->lineno == 1 && p->len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
                line += 3;
        for (start = line; *start && isspace((unsigned char) *start); start++)
                ;
        indent = (size_t) (start - line);
        p->kind = LINE_OTHER;
        p->inih_cont = false;
        if (*start == '\0' || is_comment_start(*start))
                return;
        p->inih_cont = p->inih_prev && start > p->buf;

        if (p->have_key && indent > p->key_indent) {
                p->kind = LINE_CONT;
                return;
        }
        if (*start == '[') {
                if (!p->inih_cont) {
                        /* inih's header rule: up to the first ']' before any comment */
                        end = find_chars_or_comment(start + 1, "]");
                        if (*end == ']')
                                p->inih_prev = false;
                }
                end = find_chars_or_comment(start, NULL);
                while (end > start && end[-1] != ']')
                        end--;
                if (end - start < 3) {
                        (void) fail(p, -EINVAL, p->file, p->lineno,
                                    "invalid section header, expected [name]");
                        return;
                }
                p->kind = LINE_HEADER;
                (void) enter_section(p, start + 1, (size_t) (end - start - 2));
                return;
        }
        p->kind = LINE_KEY;
        p->key_indent = indent;
}

/* An ini_reader: hands inih the current physical line, in pieces if its buffer is short. */
static char *read_line(char *str, int num, void *stream) {
        Parser *p = stream;
        ssize_t l;
        size_t n;

        if (p->err < 0 || num < 2)
                return NULL;
        if (p->pos >= p->len) {
                errno = 0;
                l = getline(&p->buf, &p->cap, p->f);
                if (l < 0) {
                        if (ferror(p->f))
                                (void) fail(p, errno > 0 ? -errno : -EIO, p->file, 0,
                                            "cannot read: %s", strerror(errno > 0 ? errno : EIO));
                        return NULL;
                }
                p->len = (size_t) l;
                p->pos = 0;
                p->lineno++;
                if (p->len > SVD_MAX_LINE - 16) {
                        (void) fail(p, -EINVAL, p->file, p->lineno,
                                    "line too long, expected at most %d characters",
                                    SVD_MAX_LINE - 16);
                        return NULL;
                }
                if (strlen(p->buf) != p->len) {
                        (void) fail(p, -EINVAL, p->file, p->lineno, "NUL byte in the line");
                        return NULL;
                }
                classify_line(p);
                if (p->err < 0)
                        return NULL;
        }
        n = MIN((size_t) num - 1, p->len - p->pos);
        memcpy(str, p->buf + p->pos, n);
        str[n] = '\0';
        p->pos += n;
        return str;
}

static bool has_control(const char *s) {
        for (; *s; s++)
                if (iscntrl((unsigned char) *s))
                        return true;
        return false;
}

static char *strip(char *s) {
        char *e;

        while (isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = '\0';
        return s;
}

/*
 * Did an inline comment start inside quotes on this line?  supervisord cuts the value there all
 * the same (its documentation says so), and so do we; the quote left open then makes the value
 * an error, which we explain with this.
 */
static bool comment_in_quotes(const char *line) {
        const char *v = line + strcspn(line, "=:");
        bool was_space = false;
        char quote = 0;

        if (!*v)
                return false;
        for (v++; *v && *v != '\n'; v++) {
                if (was_space && is_comment_start(*v))
                        return quote != 0;
                if (*v == '\\' && quote != '\'' && v[1] && v[1] != '\n')
                        v++;
                else if (quote && *v == quote)
                        quote = 0;
                else if (!quote && (*v == '"' || *v == '\''))
                        quote = *v;
                was_space = isspace((unsigned char) *v);
        }
        return false;
}

static int set_key(Parser *p, const char *name, const char *value) {
        Section *s = &p->sections[p->cur];
        _cleanup_free_ char *lname = strdup(name), *v = strdup(value);
        Key *nk;

        if (!lname || !v)
                return fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        for (char *c = lname; *c; c++)
                *c = (char) tolower((unsigned char) *c);
        for (size_t i = 0; i < s->n_keys; i++)
                if (strcmp(s->keys[i].name, lname) == 0) {
                        /* strict=False: the last one wins, wherever it was */
                        free(s->keys[i].value);
                        s->keys[i].value = TAKE_PTR(v);
                        s->keys[i].file = p->file;
                        s->keys[i].line = p->lineno;
                        s->keys[i].cut = comment_in_quotes(p->buf);
                        p->last_key = (ssize_t) i;
                        return 0;
                }
        nk = realloc(s->keys, (s->n_keys + 1) * sizeof(Key));
        if (!nk)
                return fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        s->keys = nk;
        s->keys[s->n_keys] = (Key) {
                .name = TAKE_PTR(lname), .value = TAKE_PTR(v), .file = p->file, .line = p->lineno,
                .cut = comment_in_quotes(p->buf),
        };
        p->last_key = (ssize_t) s->n_keys++;
        return 0;
}

/* inih's handler.  Returns 0 (an error for inih) only after recording our own message. */
static int on_value(void *user, const char *section, const char *name, const char *value) {
        Parser *p = user;
        bool was_cont = p->inih_cont;
        _cleanup_free_ char *copy = NULL;
        Key *k;
        char *n;

        (void) section; /* inih truncates names to 49 characters: ours are whole */
        if (p->err < 0)
                return 0;
        if (!was_cont)
                p->inih_prev = true;
        if (p->skip_section)
                return 1;
        if (was_cont) {
                /* inih 55 keeps inline comments on continuation lines: drop them here */
                copy = strdup(value);
                if (!copy) {
                        (void) fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
                        return 0;
                }
                *find_chars_or_comment(copy, NULL) = '\0';
                value = strip(copy);
        }

        switch (p->kind) {
        case LINE_HEADER:
                return 1; /* an indented header that inih took for a continuation */
        case LINE_CONT: {
                _cleanup_free_ char *joined = NULL;

                if (p->cur < 0 || p->last_key < 0)
                        return 1;
                k = &p->sections[p->cur].keys[p->last_key];
                if (asprintf(&joined, "%s\n%s", k->value, value) < 0) {
                        joined = NULL;
                        (void) fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
                        return 0;
                }
                free(k->value);
                k->value = TAKE_PTR(joined);
                return 1;
        }
        case LINE_KEY:
                break;
        default:
                return 1;
        }

        if (p->cur < 0) {
                (void) fail(p, -EINVAL, p->file, p->lineno,
                            "'%s' is outside of any section, expected a [section] header first",
                            name);
                return 0;
        }
        p->have_key = true;
        if (was_cont) {
                /* an indented key after an indented key: inih passes the whole line */
                char *sep = copy + strcspn(copy, "=:");

                if (!*sep) {
                        (void) fail(p, -EINVAL, p->file, p->lineno,
                                    "expected 'key = value', '[section]' or a comment");
                        return 0;
                }
                *sep = '\0';
                n = strip(copy);
                return set_key(p, n, strip(sep + 1)) < 0 ? 0 : 1;
        }
        return set_key(p, name, value) < 0 ? 0 : 1;
}

static int add_file(Parser *p, const char *path, unsigned *ret) {
        char **nf = realloc(p->files, (p->n_files + 1) * sizeof(char *));

        if (!nf)
                return fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        p->files = nf;
        p->files[p->n_files] = strdup(path);
        if (!p->files[p->n_files])
                return fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        *ret = (unsigned) p->n_files++;
        return 0;
}

/*
 * Read one file into the merged sections.  inih's knobs are process-wide variables in Debian's
 * build: set for supervisord's rules, restored afterwards.
 */
static int parse_file(Parser *p, const char *path, const char *data, size_t size, bool included,
                      unsigned from_file, unsigned from_line) {
        char *saved_inline = ini_inline_comment_prefixes, *saved_start = ini_start_comment_prefixes;
        bool saved_ml = ini_allow_multiline, saved_ic = ini_allow_inline_comments;
        bool saved_stack = ini_use_stack, saved_realloc = ini_allow_realloc;
        bool saved_stop = ini_stop_on_first_error, saved_nv = ini_allow_no_value;
        int saved_max = ini_max_line;
        static char comment_prefixes[] = ";#";
        unsigned file = NO_FILE;
        int r;

        r = add_file(p, path, &file);
        if (r < 0)
                return r;
        p->f = data ? fmemopen((void *) data, size, "r") : fopen(path, "re");
        if (!p->f) {
                r = negative_errno();
                if (!included)
                        return fail(p, r, file, 0, "cannot read: %s", strerror(-r));
                /* supervisord skips an included file it cannot open */
                warn(p, from_file, from_line, "[include] files: cannot read %s: %s, ignoring",
                     path, strerror(-r));
                return 0;
        }
        p->file = file;
        p->included = included;
        p->len = p->pos = 0;
        p->lineno = 0;
        p->inih_prev = p->have_key = p->skip_section = false;
        p->cur = p->last_key = -1;

        ini_inline_comment_prefixes = comment_prefixes;
        ini_start_comment_prefixes = comment_prefixes;
        ini_allow_multiline = true;
        ini_allow_inline_comments = true;
        ini_use_stack = false;
        ini_allow_realloc = true;
        ini_max_line = SVD_MAX_LINE;
        ini_stop_on_first_error = true;
        ini_allow_no_value = false;
        r = ini_parse_stream(read_line, p, on_value, p);
        ini_inline_comment_prefixes = saved_inline;
        ini_start_comment_prefixes = saved_start;
        ini_allow_multiline = saved_ml;
        ini_allow_inline_comments = saved_ic;
        ini_use_stack = saved_stack;
        ini_allow_realloc = saved_realloc;
        ini_max_line = saved_max;
        ini_stop_on_first_error = saved_stop;
        ini_allow_no_value = saved_nv;

        fclose(p->f);
        p->f = NULL;
        if (p->err < 0)
                return p->err;
        if (r == -2)
                return fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        if (r != 0)
                return fail(p, -EINVAL, file, r > 0 ? (unsigned) r : 0,
                            "expected 'key = value', '[section]' or a comment");
        return 0;
}

/* ---- values ---- */

static bool streq_ci(const char *a, const char *b) {
        return strcasecmp(a, b) == 0;
}

/* supervisord's boolean: true/false, yes/no, on/off, 1/0, in any case. */
static int parse_bool(const char *s, bool *ret) {
        static const char *const yes[] = { "true", "yes", "on", "1" };
        static const char *const no[] = { "false", "no", "off", "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (streq_ci(s, yes[i])) {
                        *ret = true;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (streq_ci(s, no[i])) {
                        *ret = false;
                        return 0;
                }
        return -EINVAL;
}

static int parse_long(const char *s, long *ret) {
        char *end;
        long v;

        while (isspace((unsigned char) *s))
                s++;
        if (!*s)
                return -EINVAL;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        while (isspace((unsigned char) *end))
                end++;
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* supervisord's byte_size: a number with an optional KB, MB or GB suffix (1024-based). */
static int parse_byte_size(const char *s, uint64_t *ret) {
        static const struct {
                const char *suffix;
                uint64_t mult;
        } units[] = { { "KB", 1ULL << 10 }, { "MB", 1ULL << 20 }, { "GB", 1ULL << 30 } };
        _cleanup_free_ char *copy = strdup(s);
        uint64_t mult = 1;
        char *v, *end;
        size_t l;
        unsigned long long n;

        if (!copy)
                return -ENOMEM;
        v = strip(copy);
        l = strlen(v);
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (l > 2 && streq_ci(v + l - 2, units[i].suffix)) {
                        v[l - 2] = '\0';
                        mult = units[i].mult;
                        break;
                }
        if (!isdigit((unsigned char) *v))
                return -EINVAL;
        errno = 0;
        n = strtoull(v, &end, 10);
        if (errno == ERANGE || *end)
                return -EINVAL;
        *ret = n * mult;
        return 0;
}

typedef struct Expander {
        const char *here;
        const char *program_name, *group_name;
        bool have_num;        /* process_num and numprocs are defined */
        long process_num, numprocs;
        bool marker;          /* a plain %(process_num)d becomes upkeep's %i */
        bool escape;          /* a literal '%' in the result becomes "%%" (see expand_instance) */
        char *const *env;     /* the program's environment=, "NAME=value" */
        char *const *env2;    /* [supervisord] environment= */
} Expander;

static const char *env_lookup(char *const *env, const char *name) {
        size_t l = strlen(name);

        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], name, l) == 0 && env[i][l] == '=')
                        return env[i] + l + 1;
        return NULL;
}

static const char *host_node_name(void) {
        static struct utsname u;
        static bool done;

        if (!done) {
                if (uname(&u) < 0)
                        snprintf(u.nodename, sizeof u.nodename, "localhost");
                done = true;
        }
        return u.nodename;
}

static void put_escaped(FILE *o, const char *s, bool escape) {
        for (; *s; s++) {
                if (*s == '%' && escape)
                        fputc('%', o);
                fputc(*s, o);
        }
}

/*
 * supervisord's expansion: Python's "%(name)s" % mapping, with flags, width and precision
 * ("%(process_num)02d"), "%%" for a literal '%', and a hard error for an unknown name or a
 * stray '%', as supervisord reports them.  On error *ret_error is a static description.
 */
static int expand(const Expander *x, const char *s, char **ret, char *err, size_t errlen) {
        _cleanup_free_ char *out = NULL;
        size_t outlen = 0;
        FILE *o = open_memstream(&out, &outlen);
        int r = 0;

        if (!o)
                return -ENOMEM;
        for (const char *p = s; *p && r == 0;) {
                const char *close, *q, *sval = NULL;
                char name[256], fmt[32], flags[8] = "", conv;
                unsigned nflags = 0;
                long width = -1, prec = -1, ival = 0;
                bool is_int = false;
                size_t nl;

                if (*p != '%') {
                        fputc(*p++, o);
                        continue;
                }
                if (p[1] == '%') {
                        put_escaped(o, "%", x->escape);
                        p += 2;
                        continue;
                }
                if (p[1] != '(' || !(close = strchr(p + 2, ')'))) {
                        /* a position, not the text: environment values may be secrets */
                        snprintf(err, errlen, "badly formatted '%%' at character %zu, expected "
                                 "%%(name)s, or %%%% for a literal '%%'", (size_t) (p - s) + 1);
                        r = -EINVAL;
                        break;
                }
                nl = (size_t) (close - (p + 2));
                if (nl >= sizeof name) {
                        snprintf(err, errlen, "name too long at character %zu",
                                 (size_t) (p - s) + 1);
                        r = -EINVAL;
                        break;
                }
                memcpy(name, p + 2, nl);
                name[nl] = '\0';
                q = close + 1;
                while (*q && strchr("#0- +", *q) && nflags < sizeof flags - 1)
                        flags[nflags++] = *q++;
                flags[nflags] = '\0';
                if (isdigit((unsigned char) *q))
                        width = strtol(q, (char **) &q, 10);
                if (*q == '.' && isdigit((unsigned char) q[1]))
                        prec = strtol(q + 1, (char **) &q, 10);
                while (*q && strchr("hlL", *q))
                        q++;
                conv = *q;
                if (!conv || !strchr("sdiuxXo", conv) || width > 999 || prec > 999) {
                        snprintf(err, errlen, "badly formatted \"%%(%.64s)%.4s\", expected a "
                                 "conversion like s or d", name, close + 1);
                        r = -EINVAL;
                        break;
                }
                p = q + 1;

                if (strcmp(name, "here") == 0 && x->here)
                        sval = x->here;
                else if (strcmp(name, "program_name") == 0 && x->program_name)
                        sval = x->program_name;
                else if (strcmp(name, "group_name") == 0 && x->group_name)
                        sval = x->group_name;
                else if (strcmp(name, "host_node_name") == 0)
                        sval = host_node_name();
                else if (strcmp(name, "process_num") == 0 && x->have_num)
                        is_int = true, ival = x->process_num;
                else if (strcmp(name, "numprocs") == 0 && x->have_num)
                        is_int = true, ival = x->numprocs;
                else if (strncmp(name, "ENV_", 4) == 0 &&
                         ((sval = env_lookup(x->env, name + 4)) ||
                          (sval = env_lookup(x->env2, name + 4)) || (sval = getenv(name + 4))))
                        ;
                else {
                        snprintf(err, errlen, "cannot expand %%(%.64s): unknown name, expected "
                                 "here, program_name, group_name, host_node_name, process_num, "
                                 "numprocs or ENV_<variable>", name);
                        r = -EINVAL;
                        break;
                }

                if (x->marker && strcmp(name, "process_num") == 0 && !flags[0] && width < 0 &&
                    prec < 0 && strchr("sdiu", conv)) {
                        fputs("%i", o);
                        continue;
                }
                if (conv == 's') {
                        char num[32];
                        _cleanup_free_ char *v = NULL;

                        if (is_int) {
                                snprintf(num, sizeof num, "%ld", ival);
                                sval = num;
                        }
                        snprintf(fmt, sizeof fmt, "%%%s*.*s", strchr(flags, '-') ? "-" : "");
                        if (asprintf(&v, fmt, (int) MAX(width, 0),
                                     prec < 0 ? INT_MAX : (int) prec, sval) < 0) {
                                v = NULL;
                                r = -ENOMEM;
                                break;
                        }
                        put_escaped(o, v, x->escape);
                } else {
                        _cleanup_free_ char *v = NULL;

                        if (!is_int) {
                                snprintf(err, errlen, "%%(%.64s)%c needs a number, and %.64s is "
                                         "not one", name, conv, name);
                                r = -EINVAL;
                                break;
                        }
                        /* no precision unless given: it would cancel the '0' flag */
                        snprintf(fmt, sizeof fmt, "%%%s*.*l%c", flags,
                                 conv == 'i' || conv == 'u' ? 'd' : conv);
                        if (prec < 0)
                                memmove(fmt + 1 + nflags + 1, fmt + 1 + nflags + 3,
                                        strlen(fmt + 1 + nflags + 3) + 1);
                        if ((prec < 0 ? asprintf(&v, fmt, (int) MAX(width, 0), ival)
                                      : asprintf(&v, fmt, (int) MAX(width, 0), (int) prec,
                                                 ival)) < 0) {
                                v = NULL;
                                r = -ENOMEM;
                                break;
                        }
                        put_escaped(o, v, x->escape);
                }
        }
        if (fclose(o) != 0 && r == 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(out);
        return 0;
}

static int strv_push(char ***l, char *s) {
        size_t n = strv_length(*l);
        char **nl;

        if (!s)
                return -ENOMEM;
        nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl) {
                free(s);
                return -ENOMEM;
        }
        nl[n] = s;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

/* Set NAME=value in a "NAME=value" list, replacing an earlier NAME. */
static int env_set(char ***env, const char *name, const char *value) {
        size_t l = strlen(name);
        char *s;

        if (asprintf(&s, "%s=%s", name, value) < 0)
                return -ENOMEM;
        for (size_t i = 0; *env && (*env)[i]; i++)
                if (strncmp((*env)[i], name, l) == 0 && (*env)[i][l] == '=') {
                        free((*env)[i]);
                        (*env)[i] = s;
                        return 0;
                }
        return strv_push(env, s);
}

static bool is_word_char(char c) {
        return isalnum((unsigned char) c) || (unsigned char) c >= 0x80 ||
               (c && strchr("_/.+-():", c));
}

/*
 * supervisord's environment syntax, KEY="val",KEY2=val2: a non-POSIX shlex whose tokens are
 * taken three at a time (key, '=', value) with one separator token skipped between triples,
 * and quotes stripped from the ends of the value.  Reproduced token for token, oddities
 * included: in `A=x y` the "y" is skipped as a separator (we warn, naming A), and an unquoted
 * value with a character outside [A-Za-z0-9_/.+-():] ends early, which supervisord reports as
 * an error.
 */
static int parse_environment(const char *s, char ***env, char *err, size_t errlen,
                             char **ret_skipped) {
        _cleanup_strv_free_ char **tok = NULL;
        size_t n;
        int r;

        for (const char *p = s; *p;) {
                const char *b = p;

                if (isspace((unsigned char) *p)) {
                        p++;
                        continue;
                }
                if (*p == '#') { /* shlex's comment: to the end of the line */
                        p += strcspn(p, "\n");
                        continue;
                }
                if (*p == '"' || *p == '\'') {
                        const char *e = strchr(p + 1, *p);
                        if (!e) {
                                snprintf(err, errlen, "environment: no closing quotation");
                                return -EINVAL;
                        }
                        p = e + 1;
                } else if (is_word_char(*p)) {
                        /* in a word, quotes are word characters (non-POSIX shlex) */
                        while (*p && (is_word_char(*p) || *p == '"' || *p == '\'')) {
                                if (*p == '#') /* cannot happen: '#' is not a word char */
                                        break;
                                p++;
                        }
                } else
                        p++; /* any other character is a token by itself */
                r = strv_push(&tok, strndup(b, (size_t) (p - b)));
                if (r < 0)
                        return r;
        }

        n = strv_length(tok);
        for (size_t i = 0; i < n; i += 4) {
                char *v;
                size_t vl;

                if (i + 3 > n || strcmp(tok[i + 1], "=") != 0) {
                        snprintf(err, errlen, "environment: unexpected end of key/value pairs, "
                                 "expected KEY=\"value\",KEY2=\"value2\" (quote values that "
                                 "contain other characters than letters, digits and _/.+-():)");
                        return -EINVAL;
                }
                /* supervisord takes any token as a name, `=` included ("A=1,B==x" names "="),
                 * which no environment can hold: refused, without echoing the text */
                if (!*tok[i] || strchr(tok[i], '=')) {
                        snprintf(err, errlen, "environment: pair %zu has no usable name (empty "
                                 "or containing '='), expected KEY=\"value\",KEY2=\"value2\"",
                                 i / 4 + 1);
                        return -EINVAL;
                }
                v = tok[i + 2];
                while (*v == '"' || *v == '\'')
                        v++;
                vl = strlen(v);
                while (vl > 0 && (v[vl - 1] == '"' || v[vl - 1] == '\''))
                        v[--vl] = '\0';
                r = env_set(env, tok[i], v);
                if (r < 0)
                        return r;
                if (i + 3 < n && strcmp(tok[i + 3], ",") != 0 && ret_skipped && !*ret_skipped)
                        *ret_skipped = strdup(tok[i]); /* the name: the word may be a secret */
        }
        return 0;
}

/* ---- translation ---- */

typedef enum KeyUse {
        USE_NATIVE,    /* translated */
        USE_SILENT,    /* no equivalent needed (upkeep always signals the group) */
        USE_UNLESS_0,  /* unsupported unless it keeps supervisord's default: false or 0 */
        USE_UNSUPPORTED,
} KeyUse;

static const struct {
        const char *name;
        KeyUse use;
} program_keys[] = {
        { "command", USE_NATIVE },
        { "process_name", USE_NATIVE },
        { "numprocs", USE_NATIVE },
        { "numprocs_start", USE_NATIVE },
        { "priority", USE_NATIVE },
        { "autostart", USE_NATIVE },
        { "autorestart", USE_NATIVE },
        { "startsecs", USE_NATIVE },
        { "startretries", USE_NATIVE },
        { "exitcodes", USE_NATIVE },
        { "stopsignal", USE_NATIVE },
        { "stopwaitsecs", USE_NATIVE },
        { "stopasgroup", USE_SILENT },
        { "killasgroup", USE_SILENT },
        { "user", USE_NATIVE },
        { "directory", USE_NATIVE },
        { "environment", USE_NATIVE },
        { "redirect_stderr", USE_NATIVE },
        { "stdout_logfile", USE_NATIVE },
        { "stderr_logfile", USE_NATIVE },
        { "stdout_logfile_maxbytes", USE_NATIVE },
        { "stdout_logfile_backups", USE_NATIVE },
        { "stderr_logfile_maxbytes", USE_NATIVE },
        { "stderr_logfile_backups", USE_NATIVE },
        { "stdout_capture_maxbytes", USE_UNLESS_0 },
        { "stderr_capture_maxbytes", USE_UNLESS_0 },
        { "stdout_events_enabled", USE_UNLESS_0 },
        { "stderr_events_enabled", USE_UNLESS_0 },
        { "stdout_syslog", USE_UNLESS_0 },
        { "stderr_syslog", USE_UNLESS_0 },
        { "serverurl", USE_NATIVE },
        { "umask", USE_UNSUPPORTED },
};

static const char *const supervisord_keys[] = {
        "logfile", "logfile_maxbytes", "logfile_backups", "loglevel", "pidfile", "umask",
        "nodaemon", "silent", "minfds", "minprocs", "nocleanup", "childlogdir", "user",
        "directory", "strip_ansi", "environment", "identifier",
};

static size_t edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b), prev[65], cur[65];

        if (la > 64 || lb > 64)
                return SIZE_MAX;
        for (size_t j = 0; j <= lb; j++)
                prev[j] = j;
        for (size_t i = 1; i <= la; i++) {
                cur[0] = i;
                for (size_t j = 1; j <= lb; j++)
                        cur[j] = MIN(MIN(prev[j] + 1, cur[j - 1] + 1),
                                     prev[j - 1] + (a[i - 1] != b[j - 1]));
                memcpy(prev, cur, sizeof prev);
        }
        return prev[lb];
}

static void warn_unknown_key(Parser *p, const Section *s, const Key *k, const char *const *known,
                             size_t n_known) {
        const char *best = NULL;
        size_t bd = 3;

        for (size_t i = 0; i < n_known; i++) {
                size_t d = edit_distance(k->name, known[i]);
                if (d < bd) {
                        bd = d;
                        best = known[i];
                }
        }
        if (best)
                warn(p, k->file, k->line, "[%s] unknown key '%s', ignoring (did you mean '%s'?)",
                     s->name, k->name, best);
        else
                warn(p, k->file, k->line, "[%s] unknown key '%s', ignoring", s->name, k->name);
}

static void check_keys(Parser *p, const Section *s, const char *const *known, size_t n_known) {
        for (size_t i = 0; i < s->n_keys; i++) {
                bool found = false;

                for (size_t j = 0; j < n_known && !found; j++)
                        found = strcmp(s->keys[i].name, known[j]) == 0;
                if (!found)
                        warn_unknown_key(p, s, &s->keys[i], known, n_known);
        }
}

static char *dir_of(const char *path) {
        _cleanup_free_ char *abs = NULL;
        char *slash, cwd[PATH_MAX];

        if (path[0] == '/')
                abs = strdup(path);
        else if (getcwd(cwd, sizeof cwd)) {
                if (asprintf(&abs, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path) < 0)
                        abs = NULL;
        } else
                abs = strdup(path);
        if (!abs)
                return NULL;
        slash = strrchr(abs, '/');
        if (!slash)
                return strdup(".");
        if (slash == abs)
                slash[1] = '\0';
        else
                *slash = '\0';
        return TAKE_PTR(abs);
}

/* Everything about a program that does not depend on the process number. */
typedef struct Program {
        const Section *sec;
        const char *name;       /* after "program:" */
        long numprocs, numprocs_start, priority, startsecs, startretries, stopwaitsecs;
        bool autostart, redirect_stderr;
        RestartPolicy policy;
        int stop_signal;
        const char *default_user; /* [supervisord] user */
        const char *log_stream;   /* "stdout" or "stderr": the one upkeep's single log follows */
        uint64_t log_max;         /* its *_logfile_maxbytes, in upkeep's limits */
        long log_keep;            /* its *_logfile_backups, likewise */
} Program;

/* What one process of a program becomes. */
typedef struct Proc {
        char *name;      /* process_name, expanded */
        char *command;   /* native: '%' doubled, and %i when rendered with the marker */
        char *directory, *user;
        char **env;
        char *log_dir;   /* NULL: upkeep's default */
        char *log_note;  /* where log_dir came from, for a comment */
        bool rotate;     /* supervisord rotates this output: say how, in a log section */
} Proc;

static void proc_done(Proc *pr) {
        free(pr->name);
        free(pr->command);
        free(pr->directory);
        free(pr->user);
        strv_free(pr->env);
        free(pr->log_dir);
        free(pr->log_note);
        *pr = (Proc) {};
}

typedef struct Globals {
        char *socket;
        const Key *socket_key;
        long socket_mode;      /* with socket: chmod, or supervisord's default 0700 */
        const Key *mode_key;
        char *socket_group;    /* the group of chown=user:group */
        char *log_dir;
        const Key *log_dir_key;
        char *logfile;
        char *user;
        char **env;
} Globals;

static void globals_done(Globals *g) {
        free(g->socket);
        free(g->socket_group);
        free(g->log_dir);
        free(g->logfile);
        free(g->user);
        strv_free(g->env);
}

/* Expand one key of a section; an error names the key's file and line. */
static int expand_key(Parser *p, const Section *s, const Key *k, Expander *x, char **ret) {
        _cleanup_free_ char *here = dir_of(file_name(p, k->file));
        char err[512];
        int r;

        if (!here)
                return fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        x->here = here;
        r = expand(x, k->value, ret, err, sizeof err);
        x->here = NULL;
        if (r == -ENOMEM)
                return fail(p, r, NO_FILE, 0, "out of memory");
        if (r < 0)
                return fail(p, r, k->file, k->line, "[%s] %s: %s", s->name, k->name, err);
        return 0;
}

/* An expanded integer key, or `def` when the key is absent. */
static int get_long(Parser *p, const Section *s, const char *name, long def, long min, long max,
                    Expander *x, long *ret) {
        const Key *k = find_key(s, name);
        _cleanup_free_ char *v = NULL;
        int r;

        if (!k) {
                *ret = def;
                return 0;
        }
        r = expand_key(p, s, k, x, &v);
        if (r < 0)
                return r;
        if (parse_long(v, ret) < 0 || *ret < min || *ret > max)
                return fail(p, -EINVAL, k->file, k->line, "[%s] %s: invalid value '%s', "
                            "expected an integer from %ld to %ld", s->name, name, v, min, max);
        return 0;
}

static int get_bool(Parser *p, const Section *s, const char *name, bool def, Expander *x,
                    bool *ret) {
        const Key *k = find_key(s, name);
        _cleanup_free_ char *v = NULL;
        int r;

        if (!k) {
                *ret = def;
                return 0;
        }
        r = expand_key(p, s, k, x, &v);
        if (r < 0)
                return r;
        if (parse_bool(strip(v), ret) < 0)
                return fail(p, -EINVAL, k->file, k->line, "[%s] %s: invalid value '%s', "
                            "expected true or false", s->name, name, v);
        return 0;
}

/* 1 for a path to supervisord's own stdout, 2 for its stderr, 0 for anything else. */
static int std_stream(const char *v) {
        static const char *const out[] = { "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1" };
        static const char *const err[] = { "/dev/stderr", "/dev/fd/2", "/proc/self/fd/2" };

        for (size_t i = 0; i < ELEMENTSOF(out); i++) {
                if (strcmp(v, out[i]) == 0)
                        return 1;
                if (strcmp(v, err[i]) == 0)
                        return 2;
        }
        return 0;
}

static bool is_auto_or_none(const char *v) {
        return streq_ci(v, "AUTO") || streq_ci(v, "NONE") || streq_ci(v, "OFF");
}

/*
 * Render process number `num` of a program.  With `marker`, a plain %(process_num)d in the
 * command becomes %i, so the result can stand for every instance.  Warnings are given once per
 * program, on its first rendering (`first`).
 */
static int render_proc(Parser *p, const Program *pg, const Globals *g, long num, bool marker,
                       bool first, Proc *ret) {
        const Section *s = pg->sec;
        Expander x = {
                .program_name = pg->name,
                .group_name = s->group ?: pg->name,
                .have_num = true,
                .process_num = num,
                .numprocs = pg->numprocs,
                .env2 = g->env,
        };
        _cleanup_strv_free_ char **penv = NULL, **argv = NULL;
        _cleanup_free_ char *v = NULL, *out_log = NULL, *skipped = NULL;
        const Key *k;
        const char *argv_err = NULL;
        char err[512];
        Proc pr = {};
        int r;

        /* environment first: other values may use its keys as %(ENV_X)s */
        k = find_key(s, "environment");
        if (k) {
                r = expand_key(p, s, k, &x, &v);
                if (r < 0)
                        goto fail;
                r = parse_environment(v, &penv, err, sizeof err, &skipped);
                if (r == -ENOMEM) {
                        r = fail(p, r, NO_FILE, 0, "out of memory");
                        goto fail;
                }
                if (r < 0) {
                        r = fail(p, r, k->file, k->line, "[%s] %s%s", s->name, err, k->cut ?
                                 " (supervisord ends the line at ' ;' or ' #', inside quotes too)"
                                 : "");
                        goto fail;
                }
                if (skipped && first)
                        warn_key(p, s, k, "the unquoted value of %s ends at a blank and the "
                                 "next word is dropped, as supervisord drops it", skipped);
                v = mfree(v);
        }
        x.env = penv;
        for (size_t i = 0; g->env && g->env[i]; i++)
                if (strv_push(&pr.env, strdup(g->env[i])) < 0)
                        goto oom;
        for (size_t i = 0; penv && penv[i]; i++) {
                char *eq = strchr(penv[i], '=');

                *eq = '\0';
                r = env_set(&pr.env, penv[i], eq + 1);
                *eq = '=';
                if (r < 0)
                        goto oom;
        }

        k = find_key(s, "process_name");
        if (k) {
                r = expand_key(p, s, k, &x, &pr.name);
                if (r < 0)
                        goto fail;
                /* as supervisord does: surrounding white space (a value continued on the next
                 * line starts with a newline) is dropped, the rest must be one plain word */
                {
                        char *t = strip(pr.name);
                        memmove(pr.name, t, strlen(t) + 1);
                }
                if (!pr.name[0] || strpbrk(pr.name, " :/") || has_control(pr.name)) {
                        r = fail(p, -EINVAL, k->file, k->line, "[%s] process_name: invalid name "
                                 "'%s', expected no space, ':' or '/'", s->name,
                                 has_control(pr.name) ? "(with control characters)" : pr.name);
                        goto fail;
                }
        } else if (!(pr.name = strdup(pg->name)))
                goto oom;

        k = find_key(s, "command");
        x.marker = marker;
        x.escape = true;
        r = expand_key(p, s, k, &x, &pr.command);
        x.marker = x.escape = false;
        if (r < 0)
                goto fail;
        /* the text config.c will split: refuse here, with the INI position, what it would refuse */
        r = argv_split(pr.command, &argv, &argv_err);
        if (r == -ENOMEM)
                goto oom;
        if (r < 0 || strv_length(argv) == 0) {
                r = fail(p, -EINVAL, k->file, k->line, "[%s] command: %s%s, expected a program "
                         "and its arguments", s->name, r < 0 ? argv_err : "empty command",
                         k->cut ? " (supervisord ends the line at ' ;' or ' #', inside quotes "
                         "too)" : "");
                goto fail;
        }

        k = find_key(s, "directory");
        if (k) {
                r = expand_key(p, s, k, &x, &pr.directory);
                if (r < 0)
                        goto fail;
                if (!pr.directory[0])
                        pr.directory = mfree(pr.directory);
        }
        k = find_key(s, "user");
        if (k) {
                r = expand_key(p, s, k, &x, &pr.user);
                if (r < 0)
                        goto fail;
        } else if (pg->default_user && !(pr.user = strdup(pg->default_user)))
                goto oom;
        if (pr.user && !pr.user[0])
                pr.user = mfree(pr.user);

        /* output: upkeep keeps stdout and stderr in one file per instance, under log-dir */
        k = find_key(s, strcmp(pg->log_stream, "stdout") == 0 ? "stdout_logfile"
                                                              : "stderr_logfile");
        pr.rotate = !k || streq_ci(k->value, "AUTO"); /* NONE: supervisord keeps nothing */
        if (k && !is_auto_or_none(k->value)) {
                r = expand_key(p, s, k, &x, &out_log);
                if (r < 0)
                        goto fail;
                if (std_stream(out_log) > 0) {
                        /* the container pattern: log-dir = "-" is upkeepd's stdout, unrotated */
                        if (std_stream(out_log) == 2 && first)
                                warn_key(p, s, k, "%s: upkeep writes it to its standard output, "
                                         "not its standard error", out_log);
                        pr.log_dir = strdup("-");
                        if (!pr.log_dir ||
                            asprintf(&pr.log_note, "%s=%s", k->name, out_log) < 0) {
                                pr.log_note = NULL;
                                goto oom;
                        }
                } else if (streq_ci(out_log, "syslog") || strncmp(out_log, "/dev/", 5) == 0 ||
                           strncmp(out_log, "/proc/", 6) == 0) {
                        /* supervisord rotates no device, and never the container's stdout */
                        if (first)
                                warn_key(p, s, k, "%s: upkeep writes output to files only, "
                                         "using the default log-dir and rotation", out_log);
                } else {
                        pr.rotate = true;
                        pr.log_dir = dir_of(out_log);
                        if (!pr.log_dir)
                                goto oom;
                        if (asprintf(&pr.log_note, "%s=%s", k->name, out_log) < 0) {
                                pr.log_note = NULL;
                                goto oom;
                        }
                }
        }

        *ret = pr;
        return 0;
oom:
        r = fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
fail:
        proc_done(&pr);
        return r;
}

static bool strv_equal(char *const *a, char *const *b) {
        size_t n = strv_length(a);

        if (n != strv_length(b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (strcmp(a[i], b[i]) != 0)
                        return false;
        return true;
}

static bool streq_null(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Do two processes differ in anything but their name and command? */
static bool procs_alike(const Proc *a, const Proc *b) {
        return streq_null(a->directory, b->directory) && streq_null(a->user, b->user) &&
               strv_equal(a->env, b->env) && streq_null(a->log_dir, b->log_dir) &&
               a->rotate == b->rotate;
}

static bool valid_worker_name(const char *s) {
        size_t l = strlen(s);

        if (l == 0 || l > SVD_MAX_NAME)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("_.-", *s))
                        return false;
        return true;
}

/* A worker's rendered text, with what orders it in the output. */
/*
 * A worker's text, with what orders it: supervisord starts groups by their priority (a
 * [group:x] has its own, 999 by default; a program outside one is its own group), and the
 * processes of a group by theirs.  Ties go by name, then process number.
 */
typedef struct Out {
        char *name;
        long group_priority;
        const char *group;   /* the [group:x] name, or the program's */
        long priority;
        const char *program; /* the program's name */
        long num;
        unsigned file, line; /* its program's section */
        char *text;
} Out;

typedef struct Outs {
        Out *v;
        size_t n;
} Outs;

static void fput_quoted(FILE *o, const char *s) {
        fputc('"', o);
        for (; *s; s++)
                switch (*s) {
                case '\\': fputs("\\\\", o); break;
                case '"': fputs("\\\"", o); break;
                case '$': fputs("\\$", o); break; /* libconfuse expands ${VAR} in "..." */
                case '\n': fputs("\\n", o); break;
                case '\r': fputs("\\r", o); break;
                case '\t': fputs("\\t", o); break;
                default:
                        if ((unsigned char) *s < 0x20 || *s == 0x7f)
                                fprintf(o, "\\x%02x", (unsigned char) *s);
                        else
                                fputc(*s, o);
                }
        fputc('"', o);
}

/* A size as parse_size() reads it: the largest unit that keeps it exact. */
static void fput_size(FILE *o, uint64_t v) {
        static const char units[] = "TGMK";

        for (int i = 0; i < 4 && v > 0; i++) {
                uint64_t m = 1ULL << (10 * (4 - i));

                if (v % m == 0) {
                        fprintf(o, "%llu%c", (unsigned long long) (v / m), units[i]);
                        return;
                }
        }
        fprintf(o, "%llu", (unsigned long long) v);
}

static void fput_duration(FILE *o, long secs) {
        fprintf(o, "%lds", secs);
}

/*
 * supervisord retries a start that ends before startsecs, startretries times (so 1 + startretries
 * attempts), then goes FATAL; an exit after startsecs is restarted forever.  upkeep's give-up =
 * "N in W" refuses the restart that would follow N restarts within W, whatever their cause.
 * With N = startretries and W just long enough for N quick failures under upkeep's backoff (each
 * delay at its jittered maximum, each attempt living at most startsecs, plus 250ms of slack),
 * start failures give up after the same number of attempts, while a worker that runs past
 * start-secs before crashing needs longer than W for N restarts, so it keeps being restarted
 * (with backoff, unlike supervisord's immediate restarts).  The two overlap only for crashes
 * within about a second after start-secs.
 */
static usec_t give_up_window(long retries, long startsecs) {
        double total = 0, d = (double) CFG_BACKOFF_INITIAL;

        for (long k = 0; k < retries; k++) {
                total += MIN(d * (1.0 + CFG_BACKOFF_JITTER), (double) CFG_BACKOFF_MAX);
                d = MIN(d * CFG_BACKOFF_FACTOR, (double) CFG_BACKOFF_MAX);
        }
        total += (double) retries * (double) startsecs * (double) USEC_PER_SEC;
        total += 250.0 * (double) USEC_PER_MSEC;
        total = ceil(total / (double) USEC_PER_SEC) * (double) USEC_PER_SEC;
        return (usec_t) MIN(total, (double) (7 * USEC_PER_DAY));
}

static int render_worker(Parser *p, const Program *pg, const Proc *pr, const char *name,
                         long instances, char **ret) {
        const Section *s = pg->sec;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *o = open_memstream(&text, &len);

        if (!o)
                return fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        fprintf(o, "# [%s] %s:%u", s->name, file_name(p, s->file), s->line);
        if (strcmp(name, pr->name) != 0 && instances == 1)
                fprintf(o, ", process %s", pr->name);
        if (pg->priority != 999)
                fprintf(o, ", priority %ld", pg->priority);
        fputc('\n', o);
        fputs("worker ", o);
        fput_quoted(o, name);
        fputs(" {\n", o);
        fputs("    command      = ", o);
        fput_quoted(o, pr->command);
        fputc('\n', o);
        if (pr->directory) {
                fputs("    directory    = ", o);
                fput_quoted(o, pr->directory);
                fputc('\n', o);
        }
        if (pr->user) {
                fputs("    user         = ", o);
                fput_quoted(o, pr->user);
                fputc('\n', o);
        }
        if (pr->env && pr->env[0]) {
                fputs("    environment  = {", o);
                for (size_t i = 0; pr->env[i]; i++) {
                        fputs(i ? ", " : " ", o);
                        fput_quoted(o, pr->env[i]);
                }
                fputs(" }\n", o);
        }
        if (instances > 1)
                fprintf(o, "    instances    = %ld\n", instances);
        fprintf(o, "    autostart    = %s\n", pg->autostart ? "true" : "false");
        fprintf(o, "    stop-signal  = %s\n", signal_to_name(pg->stop_signal) ?: "");
        fputs("    stop-timeout = ", o);
        fput_duration(o, pg->stopwaitsecs);
        fputs("\n    start-secs   = ", o);
        fput_duration(o, pg->startsecs);
        fputc('\n', o);
        if (pr->log_dir) {
                fputs("    log-dir      = ", o);
                fput_quoted(o, pr->log_dir);
                fputs("   # ", o);
                /* a comment ends at the line's end: keep the note on one line */
                for (const char *c = pr->log_note; *c; c++)
                        fputc(*c == '\n' ? ' ' : *c, o);
                fputc('\n', o);
        }
        if (pr->rotate) {
                const char *st = pg->log_stream;

                fputs("    log {\n        max-size = ", o);
                fput_size(o, pg->log_max);
                fprintf(o, "   # %s_logfile_maxbytes%s\n        keep     = %ld   # "
                        "%s_logfile_backups%s\n    }\n", st,
                        find_key(s, strcmp(st, "stdout") == 0 ? "stdout_logfile_maxbytes"
                                                              : "stderr_logfile_maxbytes")
                                ? "" : ", supervisord's default",
                        pg->log_keep, st,
                        find_key(s, strcmp(st, "stdout") == 0 ? "stdout_logfile_backups"
                                                              : "stderr_logfile_backups")
                                ? "" : ", supervisord's default");
        }
        fprintf(o, "    restart {\n        policy  = %s\n", restart_policy_to_string(pg->policy));
        if (pg->policy != RESTART_NEVER && pg->startsecs > 0) {
                long n = MAX(1, MIN(pg->startretries, CFG_MAX_GIVE_UP));
                usec_t w = give_up_window(n, pg->startsecs);

                fprintf(o, "        give-up = \"%ld in %llus\"   # startretries=%ld: FATAL after "
                        "1 + %ld failed starts\n", n, (unsigned long long) (w / USEC_PER_SEC),
                        pg->startretries, n);
        }
        fputs("    }\n}\n", o);
        if (fclose(o) != 0)
                return fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        *ret = TAKE_PTR(text);
        return 0;
}

static int outs_add(Parser *p, Outs *outs, const char *name, const Program *pg, long num,
                    char *text) {
        Out *nv = realloc(outs->v, (outs->n + 1) * sizeof(Out));

        if (!nv) {
                free(text);
                return fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        }
        outs->v = nv;
        outs->v[outs->n] = (Out) {
                .name = strdup(name),
                .group_priority = pg->sec->group ? pg->sec->group_priority : pg->priority,
                .group = pg->sec->group ?: pg->name,
                .priority = pg->priority,
                .program = pg->name,
                .num = num,
                .file = pg->sec->file,
                .line = pg->sec->line,
                .text = text,
        };
        if (!outs->v[outs->n].name) {
                free(text);
                return fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        }
        outs->n++;
        return 0;
}

/* A worker name from a supervisord name: other characters become '_', with a warning. */
static int worker_name(Parser *p, const Section *s, const char *name, char **ret) {
        char *n;

        if (strlen(name) > SVD_MAX_NAME)
                return fail(p, -EINVAL, s->file, s->line, "[%s] name '%s' is longer than %d "
                            "characters, expected a shorter name", s->name, name, SVD_MAX_NAME);
        n = strdup(name);
        if (!n)
                return fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        if (!valid_worker_name(n)) {
                for (char *c = n; *c; c++)
                        if (!isalnum((unsigned char) *c) && !strchr("_.-", *c))
                                *c = '_';
                warn(p, s->file, s->line, "[%s] '%s' is not a valid worker name, using '%s'",
                     s->name, name, n);
        }
        *ret = n;
        return 0;
}

/* Warnings for the keys that have no native equivalent, given their values. */
static int check_program_keys(Parser *p, Program *pg) {
        const Section *s = pg->sec;
        const char *known[ELEMENTSOF(program_keys)];
        uint64_t sz;
        const Key *k;
        bool b;

        for (size_t i = 0; i < ELEMENTSOF(program_keys); i++)
                known[i] = program_keys[i].name;
        check_keys(p, s, known, ELEMENTSOF(known));

        for (size_t i = 0; i < ELEMENTSOF(program_keys); i++) {
                k = find_key(s, program_keys[i].name);
                if (!k)
                        continue;
                switch (program_keys[i].use) {
                case USE_UNLESS_0:
                        if ((parse_bool(strip(k->value), &b) == 0 && !b) ||
                            (parse_byte_size(k->value, &sz) == 0 && sz == 0))
                                break;
                        warn_key(p, s, k, "not supported by upkeep, ignoring");
                        break;
                case USE_UNSUPPORTED:
                        warn_key(p, s, k, "not supported by upkeep, ignoring");
                        break;
                default:
                        break;
                }
        }

        /*
         * upkeep keeps stdout and stderr in one log, rotated by one rule: the log goes where
         * stdout_logfile says unless only stderr_logfile names a file, and that stream's
         * maxbytes and backups (supervisord's defaults: 50MB, 10) rotate it.
         */
        pg->log_stream = "stdout";
        k = find_key(s, "stdout_logfile");
        if ((!k || is_auto_or_none(k->value)) && !pg->redirect_stderr &&
            (k = find_key(s, "stderr_logfile")) && !is_auto_or_none(k->value))
                pg->log_stream = "stderr";
        for (int stream = 0; stream < 2; stream++) {
                const char *pre = stream == 0 ? "stdout" : "stderr";
                bool used = strcmp(pre, pg->log_stream) == 0;
                uint64_t max = 50ULL << 20;
                long keep = 10;
                char key[64];

                snprintf(key, sizeof key, "%s_logfile_maxbytes", pre);
                k = find_key(s, key);
                if (k && parse_byte_size(k->value, &max) < 0)
                        return fail(p, -EINVAL, k->file, k->line, "[%s] %s: invalid size '%s', "
                                    "expected bytes with an optional KB, MB or GB", s->name,
                                    key, k->value);
                if (k && !used && !(stream == 1 && pg->redirect_stderr))
                        warn_key(p, s, k, "ignored: upkeep keeps one log per process, rotated "
                                 "by %s_logfile_maxbytes", pg->log_stream);
                if (used && max > 0 && max < 1024) {
                        warn_key(p, s, k, "upkeep rotates at 1K at least, using 1K");
                        max = 1024;
                } else if (used && max > (1ULL << 40)) {
                        warn_key(p, s, k, "upkeep rotates at 1T at most, using 1T");
                        max = 1ULL << 40;
                }

                snprintf(key, sizeof key, "%s_logfile_backups", pre);
                k = find_key(s, key);
                if (k && (parse_long(k->value, &keep) < 0 || keep < 0))
                        return fail(p, -EINVAL, k->file, k->line, "[%s] %s: invalid count '%s', "
                                    "expected 0 or more", s->name, key, k->value);
                if (k && !used && !(stream == 1 && pg->redirect_stderr))
                        warn_key(p, s, k, "ignored: upkeep keeps one log per process, rotated "
                                 "by %s_logfile_backups", pg->log_stream);
                if (used && keep > 1000) {
                        warn_key(p, s, k, "upkeep keeps 1000 rotated files at most, using 1000");
                        keep = 1000;
                }
                if (used) {
                        pg->log_max = max;
                        pg->log_keep = keep;
                }
        }

        k = find_key(s, "stderr_logfile");
        if (k && pg->redirect_stderr)
                warn_key(p, s, k, "ignored because redirect_stderr is true, as supervisord "
                         "ignores it");
        else if (k && !is_auto_or_none(k->value)) {
                const Key *ko = find_key(s, "stdout_logfile");

                if (!ko || strcmp(ko->value, k->value) != 0)
                        warn_key(p, s, k, "upkeep writes stdout and stderr into one log, in the "
                                 "directory of %s_logfile", pg->log_stream);
        }

        k = find_key(s, "serverurl");
        if (k && !streq_ci(strip(k->value), "AUTO"))
                warn_key(p, s, k, "not supported by upkeep, ignoring");
        return 0;
}

static int translate_program(Parser *p, const Globals *g, const Section *s, Outs *outs) {
        Program pg = {
                .sec = s,
                .name = s->name + strlen("program:"),
                .default_user = g->user,
        };
        Expander x = { .program_name = pg.name, .group_name = s->group ?: pg.name,
                       .env2 = g->env };
        _cleanup_free_ char *v = NULL, *name = NULL;
        Proc *procs = NULL;
        const Key *k;
        bool same = true;
        long n;
        int r;

        if (!pg.name[0] || strpbrk(pg.name, " :/"))
                return fail(p, -EINVAL, s->file, s->line, "[%s] invalid program name, expected "
                            "no space, ':' or '/'", s->name);
        if (!find_key(s, "command"))
                return fail(p, -EINVAL, s->file, s->line, "[%s] 'command' is missing, expected "
                            "the program to run", s->name);

        if ((r = get_long(p, s, "numprocs", 1, 0, CFG_MAX_INSTANCES, &x, &pg.numprocs)) < 0 ||
            (r = get_long(p, s, "numprocs_start", 0, 0, INT_MAX, &x, &pg.numprocs_start)) < 0 ||
            (r = get_long(p, s, "priority", 999, LONG_MIN, LONG_MAX, &x, &pg.priority)) < 0 ||
            (r = get_long(p, s, "startsecs", 1, 0, INT_MAX, &x, &pg.startsecs)) < 0 ||
            (r = get_long(p, s, "startretries", 3, 0, INT_MAX, &x, &pg.startretries)) < 0 ||
            (r = get_long(p, s, "stopwaitsecs", 10, 0, INT_MAX, &x, &pg.stopwaitsecs)) < 0 ||
            (r = get_bool(p, s, "autostart", true, &x, &pg.autostart)) < 0 ||
            (r = get_bool(p, s, "redirect_stderr", false, &x, &pg.redirect_stderr)) < 0)
                return r;

        pg.policy = RESTART_ON_FAILURE; /* autorestart=unexpected, the default */
        k = find_key(s, "autorestart");
        if (k) {
                bool b;

                r = expand_key(p, s, k, &x, &v);
                if (r < 0)
                        return r;
                if (streq_ci(strip(v), "unexpected"))
                        pg.policy = RESTART_ON_FAILURE;
                else if (parse_bool(strip(v), &b) == 0)
                        pg.policy = b ? RESTART_ALWAYS : RESTART_NEVER;
                else
                        return fail(p, -EINVAL, k->file, k->line, "[%s] autorestart: invalid "
                                    "value '%s', expected true, false or unexpected", s->name, v);
                v = mfree(v);
        }

        k = find_key(s, "exitcodes");
        if (k) {
                bool only_zero = true;
                char *tok, *save = NULL;

                r = expand_key(p, s, k, &x, &v);
                if (r < 0)
                        return r;
                for (tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                        long c;

                        if (parse_long(tok, &c) < 0 || c < 0 || c > 255)
                                return fail(p, -EINVAL, k->file, k->line, "[%s] exitcodes: "
                                            "invalid exit code '%s', expected a comma-separated "
                                            "list of 0 to 255", s->name, strip(tok));
                        if (c != 0)
                                only_zero = false;
                }
                if (!only_zero && pg.policy == RESTART_ON_FAILURE)
                        warn_key(p, s, k, "upkeep counts only exit code 0 (and SIGTERM, SIGINT, "
                                 "SIGHUP, SIGPIPE) as a clean exit, the other codes will be "
                                 "restarted");
                v = mfree(v);
        }

        pg.stop_signal = SIGTERM;
        k = find_key(s, "stopsignal");
        if (k) {
                r = expand_key(p, s, k, &x, &v);
                if (r < 0)
                        return r;
                if (parse_signal(strip(v), &pg.stop_signal) < 0 ||
                    !signal_to_name(pg.stop_signal))
                        return fail(p, -EINVAL, k->file, k->line, "[%s] stopsignal: unknown "
                                    "signal '%s', expected a name like TERM, INT, QUIT or HUP",
                                    s->name, v);
                v = mfree(v);
        }

        if (pg.startsecs * USEC_PER_SEC > CFG_MAX_START_SECS) {
                warn_key(p, s, find_key(s, "startsecs"), "%ld is longer than upkeep allows, "
                         "using %llus", pg.startsecs,
                         (unsigned long long) (CFG_MAX_START_SECS / USEC_PER_SEC));
                pg.startsecs = (long) (CFG_MAX_START_SECS / USEC_PER_SEC);
        }
        if (pg.stopwaitsecs * USEC_PER_SEC > CFG_MAX_STOP_TIMEOUT) {
                warn_key(p, s, find_key(s, "stopwaitsecs"), "%ld is longer than upkeep allows, "
                         "using %llus", pg.stopwaitsecs,
                         (unsigned long long) (CFG_MAX_STOP_TIMEOUT / USEC_PER_SEC));
                pg.stopwaitsecs = (long) (CFG_MAX_STOP_TIMEOUT / USEC_PER_SEC);
        }
        if (pg.policy != RESTART_NEVER && pg.startsecs > 0) {
                k = find_key(s, "startretries");
                if (pg.startretries == 0)
                        warn(p, k->file, k->line, "[%s] startretries: upkeep cannot give up "
                             "without one retry, using 1", s->name);
                else if (pg.startretries > CFG_MAX_GIVE_UP)
                        warn(p, k->file, k->line, "[%s] startretries: %ld is more than upkeep "
                             "counts, using %d", s->name, pg.startretries, CFG_MAX_GIVE_UP);
        }

        r = check_program_keys(p, &pg);
        if (r < 0)
                return r;

        n = pg.numprocs;
        if (n == 0) {
                warn(p, s->file, s->line, "[%s] numprocs is 0: no process, no worker", s->name);
                return 0;
        }
        k = find_key(s, "process_name");
        if (n > 1 && (!k || !strstr(k->value, "%(process_num)")))
                return fail(p, -EINVAL, k ? k->file : s->file, k ? k->line : s->line,
                            "[%s] process_name: %%(process_num) must be present within "
                            "process_name when numprocs > 1", s->name);

        /* procs[0] is rendered with the %i marker, procs[1 + j] is process start + j */
        procs = calloc((size_t) n + 1, sizeof(Proc));
        if (!procs)
                return fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        r = render_proc(p, &pg, g, pg.numprocs_start, n > 1, true, &procs[0]);
        for (long j = 0; r >= 0 && n > 1 && j < n; j++)
                r = render_proc(p, &pg, g, pg.numprocs_start + j, false, false, &procs[1 + j]);
        if (r < 0)
                goto finish;

        /*
         * One worker with instances when every process is the same apart from the number that
         * %i stands for in the command; otherwise one worker per process, named like it.
         */
        for (long j = 0; n > 1 && j < n && same; j++) {
                _cleanup_free_ char *want = expand_instance(procs[1 + j].command, 0),
                                    *got = expand_instance(procs[0].command, (unsigned) j);

                if (!want || !got) {
                        r = fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
                        goto finish;
                }
                same = strcmp(want, got) == 0 && procs_alike(&procs[1 + j], &procs[1]);
        }

        if (n == 1 || same) {
                _cleanup_free_ char *text = NULL;

                r = worker_name(p, s, pg.name, &name);
                if (r < 0)
                        goto finish;
                if (n > 1 && pg.numprocs_start != 0)
                        warn_key(p, s, find_key(s, "numprocs_start"), "upkeep numbers instances "
                                 "from 0: the processes are %s:0 to %s:%ld", name, name, n - 1);
                r = render_worker(p, &pg, &procs[0], name, n, &text);
                if (r >= 0)
                        r = outs_add(p, outs, name, &pg, pg.numprocs_start,
                                     TAKE_PTR(text));
                goto finish;
        }
        for (long j = 0; j < n; j++) {
                _cleanup_free_ char *text = NULL, *wn = NULL;

                r = worker_name(p, s, procs[1 + j].name, &wn);
                if (r >= 0)
                        r = render_worker(p, &pg, &procs[1 + j], wn, 1, &text);
                if (r >= 0)
                        r = outs_add(p, outs, wn, &pg, pg.numprocs_start + j,
                                     TAKE_PTR(text));
                if (r < 0)
                        goto finish;
        }
finish:
        for (long j = 0; j <= n; j++)
                proc_done(&procs[j]);
        free(procs);
        return r;
}

static int cmp_out(const void *a, const void *b) {
        const Out *x = a, *y = b;
        int c;

        if (x->group_priority != y->group_priority)
                return x->group_priority < y->group_priority ? -1 : 1;
        if ((c = strcmp(x->group, y->group)) != 0)
                return c;
        if (x->priority != y->priority)
                return x->priority < y->priority ? -1 : 1;
        if ((c = strcmp(x->program, y->program)) != 0)
                return c;
        return x->num < y->num ? -1 : x->num > y->num;
}

/* chmod and chown of [unix_http_server], for the socket it names. */
static int read_socket_access(Parser *p, const Section *s, Globals *g, Expander *x) {
        _cleanup_free_ char *v = NULL;
        const Key *k;
        char *end, *colon;
        int r;

        if (!g->socket)
                return 0;
        g->socket_mode = 0700; /* supervisord's default, stricter than upkeep's 0660 */
        k = find_key(s, "chmod");
        if (k) {
                r = expand_key(p, s, k, x, &v);
                if (r < 0)
                        return r;
                errno = 0;
                g->socket_mode = strtol(strip(v), &end, 8);
                if (errno || *end || end == strip(v) || g->socket_mode < 0 ||
                    g->socket_mode > 0777)
                        return fail(p, -EINVAL, k->file, k->line, "[%s] chmod: invalid mode '%s', "
                                    "expected octal permissions, e.g. 0700", s->name, v);
                g->mode_key = k;
                if ((g->socket_mode & 0600) != 0600) {
                        warn_key(p, s, k, "upkeepd needs read and write for itself, using %04lo",
                                 g->socket_mode | 0600);
                        g->socket_mode |= 0600;
                }
                v = mfree(v);
        }
        k = find_key(s, "chown");
        if (k) {
                r = expand_key(p, s, k, x, &v);
                if (r < 0)
                        return r;
                colon = strchr(v, ':');
                if (!colon || !colon[1]) {
                        warn_key(p, s, k, "upkeepd owns its socket, only a group can be given "
                                 "(chown=user:group), ignoring");
                        return 0;
                }
                if (colon > v)
                        warn_key(p, s, k, "upkeepd owns its socket, using only the group '%s'",
                                 colon + 1);
                g->socket_group = strdup(colon + 1);
                if (!g->socket_group)
                        return fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        }
        return 0;
}

static int cmp_out_name(const void *a, const void *b) {
        const Out *const *x = a, *const *y = b;
        int c = strcmp((*x)->name, (*y)->name);

        return c != 0 ? c : (*x < *y ? -1 : *x > *y);
}

/* Worker names must be unique: sorted by name, a duplicate is next to its twin. */
static int check_unique(Parser *p, const Outs *outs) {
        _cleanup_free_ const Out **v = NULL;

        if (outs->n < 2)
                return 0;
        v = calloc(outs->n, sizeof(Out *));
        if (!v)
                return fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        for (size_t i = 0; i < outs->n; i++)
                v[i] = &outs->v[i];
        qsort(v, outs->n, sizeof(Out *), cmp_out_name);
        for (size_t i = 1; i < outs->n; i++)
                if (strcmp(v[i]->name, v[i - 1]->name) == 0)
                        return fail(p, -EINVAL, v[i]->file, v[i]->line, "a process of this "
                                    "program would be the worker '%s' like one at %s:%u, "
                                    "expected unique names", v[i]->name,
                                    file_name(p, v[i - 1]->file), v[i - 1]->line);
        return 0;
}

static int read_globals(Parser *p, Globals *g) {
        Section *s;
        const Key *k;
        Expander x = {};
        int r;

        s = find_section(p, "supervisord");
        if (s) {
                check_keys(p, s, supervisord_keys, ELEMENTSOF(supervisord_keys));
                k = find_key(s, "environment");
                if (k) {
                        _cleanup_free_ char *v = NULL, *skipped = NULL;
                        char err[512];

                        r = expand_key(p, s, k, &x, &v);
                        if (r < 0)
                                return r;
                        r = parse_environment(v, &g->env, err, sizeof err, &skipped);
                        if (r == -ENOMEM)
                                return fail(p, r, NO_FILE, 0, "out of memory");
                        if (r < 0)
                                return fail(p, r, k->file, k->line, "[%s] %s", s->name, err);
                        if (skipped)
                                warn_key(p, s, k, "the unquoted value of %s ends at a blank "
                                         "and the next word is dropped, as supervisord drops "
                                         "it", skipped);
                }
                x.env2 = g->env;
                k = find_key(s, "logfile");
                if (k && (r = expand_key(p, s, k, &x, &g->logfile)) < 0)
                        return r;
                k = find_key(s, "childlogdir");
                if (k) {
                        r = expand_key(p, s, k, &x, &g->log_dir);
                        if (r < 0)
                                return r;
                        g->log_dir_key = k;
                        if (!g->log_dir[0])
                                g->log_dir = mfree(g->log_dir);
                }
                k = find_key(s, "user");
                if (k) {
                        r = expand_key(p, s, k, &x, &g->user);
                        if (r < 0)
                                return r;
                }
        }

        s = find_section(p, "unix_http_server");
        if (s) {
                static const char *const known[] = { "file", "chmod", "chown", "username",
                                                     "password" };

                check_keys(p, s, known, ELEMENTSOF(known));
                k = find_key(s, "file");
                if (k) {
                        r = expand_key(p, s, k, &x, &g->socket);
                        if (r < 0)
                                return r;
                        g->socket_key = k;
                        if (!g->socket[0])
                                g->socket = mfree(g->socket);
                        /* conf_load() refuses what a unix socket address cannot hold */
                        else if (strlen(g->socket) > SUN_PATH_MAX)
                                return fail(p, -EINVAL, k->file, k->line, "[unix_http_server] "
                                            "file: path of %zu bytes is too long for a unix "
                                            "socket, expected at most %zu", strlen(g->socket),
                                            SUN_PATH_MAX);
                }
                if ((k = find_key(s, "username")) || (k = find_key(s, "password")))
                        warn_key(p, s, k, "upkeep's control socket has no password, access is "
                                 "by its file permissions, ignoring");
                r = read_socket_access(p, s, g, &x);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* [group:x] programs=a,b: mark the programs, which keep being plain workers. */
static int read_groups(Parser *p, FILE *o) {
        for (size_t i = 0; i < p->n_sections; i++) {
                Section *s = &p->sections[i];
                static const char *const known[] = { "programs", "priority" };
                _cleanup_free_ char *list = NULL;
                const Key *k;
                char *tok, *save = NULL;
                bool any = false;
                Expander x = {};
                long priority;
                int r;

                if (strncmp(s->name, "group:", 6) != 0)
                        continue;
                check_keys(p, s, known, ELEMENTSOF(known));
                k = find_key(s, "programs");
                if (!k)
                        return fail(p, -EINVAL, s->file, s->line, "[%s] 'programs' is missing, "
                                    "expected a comma-separated list of programs", s->name);
                if (expand_key(p, s, k, &x, &list) < 0)
                        return p->err;
                r = get_long(p, s, "priority", 999, LONG_MIN, LONG_MAX, &x, &priority);
                if (r < 0)
                        return r;
                fprintf(o, "# [%s] programs =", s->name);
                for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                        _cleanup_free_ char *sec = NULL;
                        Section *ps;

                        tok = strip(tok);
                        if (!*tok)
                                continue;
                        if (asprintf(&sec, "program:%s", tok) < 0) {
                                sec = NULL;
                                return fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
                        }
                        ps = find_section(p, sec);
                        if (!ps)
                                return fail(p, -EINVAL, k->file, k->line, "[%s] names unknown "
                                            "program %s", s->name, tok);
                        free(ps->group);
                        if (!(ps->group = strdup(s->name + 6)))
                                return fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
                        ps->group_priority = priority;
                        fprintf(o, "%s %s", any ? "," : "", tok);
                        any = true;
                }
                fputs(": upkeep has no groups, these are plain workers\n", o);
        }
        return 0;
}

static int follow_include(Parser *p, const char *main_path) {
        Section *s = find_section(p, "include");
        static const char *const known[] = { "files" };
        _cleanup_free_ char *files = NULL, *base = NULL;
        const Key *k;
        Expander x = {};
        char *tok, *save = NULL;
        unsigned file, line;
        int r;

        if (!s)
                return 0;
        check_keys(p, s, known, ELEMENTSOF(known));
        k = find_key(s, "files");
        if (!k)
                return fail(p, -EINVAL, s->file, s->line, "[include] 'files' is missing, "
                            "expected the files to include");
        r = expand_key(p, s, k, &x, &files);
        if (r < 0)
                return r;
        /* s and k point into the sections, which grow while the included files are read */
        file = k->file;
        line = k->line;
        base = dir_of(main_path);
        if (!base)
                goto oom;
        for (tok = strtok_r(files, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
                _cleanup_free_ char *pattern = NULL;
                glob_t gl = {};

                if (tok[0] == '/')
                        pattern = strdup(tok);
                else if (asprintf(&pattern, "%s/%s", strcmp(base, "/") == 0 ? "" : base,
                                  tok) < 0)
                        pattern = NULL;
                if (!pattern)
                        goto oom;
                r = glob(pattern, 0, NULL, &gl);
                if (r == GLOB_NOSPACE) {
                        globfree(&gl);
                        goto oom;
                }
                if (r != 0 || gl.gl_pathc == 0) {
                        warn(p, file, line, "[include] files: no file matches %s, ignoring",
                             pattern);
                        globfree(&gl);
                        continue;
                }
                for (size_t i = 0; i < gl.gl_pathc; i++) {
                        r = parse_file(p, gl.gl_pathv[i], NULL, 0, true, file, line);
                        if (r < 0) {
                                globfree(&gl);
                                return r;
                        }
                }
                globfree(&gl);
        }
        return 0;
oom:
        return fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
}

static void warn_sections(Parser *p) {
        static const char *const ignored[] = { "supervisord", "unix_http_server", "supervisorctl",
                                               "include" };
        static const char *const ignored_prefix[] = { "rpcinterface:", "ctlplugin:", "program:",
                                                      "group:" };

        for (size_t i = 0; i < p->n_sections; i++) {
                const Section *s = &p->sections[i];
                bool known = false;

                for (size_t j = 0; j < ELEMENTSOF(ignored) && !known; j++)
                        known = strcmp(s->name, ignored[j]) == 0;
                for (size_t j = 0; j < ELEMENTSOF(ignored_prefix) && !known; j++)
                        known = strncmp(s->name, ignored_prefix[j], strlen(ignored_prefix[j])) == 0;
                if (known)
                        continue;
                if (strcmp(s->name, "inet_http_server") == 0)
                        warn(p, s->file, s->line, "[inet_http_server] upkeep serves no HTTP or "
                             "XML-RPC, only its control socket, ignoring");
                else if (strncmp(s->name, "eventlistener:", 14) == 0)
                        warn(p, s->file, s->line, "[%s] the event listener protocol is not "
                             "supported by upkeep, ignoring", s->name);
                else if (strncmp(s->name, "fcgi-program:", 13) == 0)
                        warn(p, s->file, s->line, "[%s] FastCGI programs are not supported by "
                             "upkeep, ignoring", s->name);
                else
                        warn(p, s->file, s->line, "[%s] unknown section, ignoring", s->name);
        }
}

static int write_text(Parser *p, const char *path, char **ret) {
        _cleanup_free_ char *text = NULL, *groups = NULL;
        size_t len = 0, glen = 0;
        Globals g = {};
        Outs outs = {};
        FILE *o = NULL, *go = NULL;
        int r;

        go = open_memstream(&groups, &glen);
        if (!go)
                return fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        r = read_groups(p, go);
        if (fclose(go) != 0 && r >= 0)
                r = fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        if (r < 0)
                return r;
        r = read_globals(p, &g);
        if (r < 0)
                goto finish;
        warn_sections(p);
        for (size_t i = 0; i < p->n_sections; i++)
                if (strncmp(p->sections[i].name, "program:", 8) == 0) {
                        r = translate_program(p, &g, &p->sections[i], &outs);
                        if (r < 0)
                                goto finish;
                }
        if (outs.n > CFG_MAX_WORKERS) {
                r = fail(p, -EINVAL, 0, 0, "%zu workers, expected at most %d", outs.n,
                         CFG_MAX_WORKERS);
                goto finish;
        }
        if (outs.n > 0)
                qsort(outs.v, outs.n, sizeof(Out), cmp_out);
        r = check_unique(p, &outs);
        if (r < 0)
                goto finish;

        o = open_memstream(&text, &len);
        if (!o) {
                r = fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
                goto finish;
        }
        fputs("# upkeep configuration converted from ", o);
        for (const char *c = path; *c; c++)
                fputc(*c == '\n' ? ' ' : *c, o);
        fputs(" by upkeepd --convert.\n# What upkeep does differently from supervisord: "
              "upkeepd(8), \"Importing supervisord.conf\".\n\n", o);
        if (g.socket) {
                fputs("socket  = ", o);
                fput_quoted(o, g.socket);
                fprintf(o, "   # [unix_http_server] file, %s:%u\n",
                        file_name(p, g.socket_key->file), g.socket_key->line);
                fprintf(o, "socket-mode = %04lo   # [unix_http_server] chmod%s\n", g.socket_mode,
                        g.mode_key ? "" : ", supervisord's default");
                if (g.socket_group) {
                        fputs("socket-group = ", o);
                        fput_quoted(o, g.socket_group);
                        fputs("   # [unix_http_server] chown\n", o);
                }
        }
        if (g.log_dir) {
                fputs("log-dir = ", o);
                fput_quoted(o, g.log_dir);
                fprintf(o, "   # [supervisord] childlogdir, %s:%u\n",
                        file_name(p, g.log_dir_key->file), g.log_dir_key->line);
        }
        if (g.logfile) {
                fputs("# [supervisord] logfile = ", o);
                for (const char *c = g.logfile; *c; c++)
                        fputc(*c == '\n' ? ' ' : *c, o);
                fputs(": upkeepd logs to stderr (or the journal), not to a file\n", o);
        }
        fputs(groups, o);
        for (size_t i = 0; i < outs.n; i++) {
                fputc('\n', o);
                fputs(outs.v[i].text, o);
        }
        if (fclose(o) != 0) {
                r = fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
                goto finish;
        }
        *ret = TAKE_PTR(text);
        r = 0;
finish:
        for (size_t i = 0; i < outs.n; i++) {
                free(outs.v[i].name);
                free(outs.v[i].text);
        }
        free(outs.v);
        globals_done(&g);
        return r;
}

static void parser_done(Parser *p) {
        for (size_t i = 0; i < p->n_sections; i++) {
                Section *s = &p->sections[i];

                for (size_t j = 0; j < s->n_keys; j++) {
                        free(s->keys[j].name);
                        free(s->keys[j].value);
                }
                free(s->keys);
                free(s->name);
                free(s->group);
        }
        free(p->sections);
        for (size_t i = 0; i < p->n_files; i++)
                free(p->files[i]);
        free(p->files);
        free(p->buf);
        free(p->error);
        for (size_t i = 0; i < p->n_warnings; i++)
                free(p->warnings[i].text);
        free(p->warnings);
}

static int cmp_warning(const void *a, const void *b) {
        const Warning *x = a, *y = b;

        if (x->file != y->file)
                return x->file < y->file ? -1 : 1;
        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The warnings in file order, one per line; files are numbered in the order they were read. */
static char *join_warnings(Parser *p) {
        char *buf = NULL;
        size_t len = 0;
        FILE *o = open_memstream(&buf, &len);

        if (!o)
                return NULL;
        if (p->n_warnings > 0)
                qsort(p->warnings, p->n_warnings, sizeof(Warning), cmp_warning);
        for (size_t i = 0; i < p->n_warnings; i++)
                fprintf(o, "%s\n", p->warnings[i].text);
        if (fclose(o) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* The main file is `data` (of `size` bytes) when given, else read from `path`. */
static int convert(const char *path, const char *data, size_t size, char **ret_text,
                   char **ret_warnings) {
        _cleanup_free_ char *text = NULL, *warnings = NULL;
        Parser p = { .cur = -1, .last_key = -1 };
        int r;

        r = parse_file(&p, path, data, size, false, NO_FILE, 0);
        if (r >= 0)
                r = follow_include(&p, path);
        if (r >= 0)
                r = write_text(&p, path, &text);
        if (r >= 0 && p.err < 0)
                r = p.err; /* a warning could not be recorded */
        if (r >= 0 && !(warnings = join_warnings(&p)))
                r = -ENOMEM;

        if (r < 0) {
                if (r == -ENOMEM || !p.error)
                        *ret_warnings = strdup("out of memory\n");
                else if (asprintf(ret_warnings, "%s\n", p.error) < 0)
                        *ret_warnings = NULL;
                parser_done(&p);
                return r;
        }
        parser_done(&p);
        *ret_warnings = TAKE_PTR(warnings);
        *ret_text = TAKE_PTR(text);
        return 0;
}

int svd_convert(const char *path, char **ret_text, char **ret_warnings) {
        return convert(path, NULL, 0, ret_text, ret_warnings);
}

int svd_convert_text(const char *path, const char *data, size_t size, char **ret_text,
                     char **ret_warnings) {
        return convert(path, data, size, ret_text, ret_warnings);
}

static bool detect_stream(FILE *f) {
        static const char *const names[] = { "supervisord", "include", "unix_http_server",
                                             "inet_http_server", "supervisorctl" };
        static const char *const prefixes[] = { "program:", "group:", "rpcinterface:",
                                                "eventlistener:", "fcgi-program:", "ctlplugin:" };
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        bool first = true, found = false;

        while (getline(&line, &cap, f) >= 0) {
                char *s = line, *end;

                if (first && memcmp(s, "\xef\xbb\xbf", 3) == 0)
                        s += 3;
                first = false;
                s = strip(s);
                if (!*s || is_comment_start(*s))
                        continue;
                if (*s != '[')
                        break;
                end = strchr(s, ']');
                if (!end)
                        break;
                *end = '\0';
                s++;
                for (size_t i = 0; i < ELEMENTSOF(names) && !found; i++)
                        found = strcmp(s, names[i]) == 0;
                for (size_t i = 0; i < ELEMENTSOF(prefixes) && !found; i++)
                        found = strncmp(s, prefixes[i], strlen(prefixes[i])) == 0;
                break;
        }
        fclose(f);
        return found;
}

bool svd_detect(const char *path) {
        FILE *f = fopen(path, "re");

        return f && detect_stream(f);
}

bool svd_detect_text(const char *data, size_t size) {
        FILE *f = fmemopen((void *) data, size, "r");

        return f && detect_stream(f);
}
