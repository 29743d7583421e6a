/*
 * supervisord.conf import: the INI reader (see svdini.h).
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "svdini.h"
#include "svdvalue.h"

/* longer lines are refused, not split: inih would cut them and read the rest as a new line */
#define SVD_MAX_LINE 65536

const char *svd_file_name(const Parser *p, unsigned file) {
        return file < p->n_files ? p->files[file] : "?";
}

/* Record the first error only: the rest usually follow from it. */
int svd_fail(Parser *p, int err, unsigned file, unsigned line, const char *fmt, ...) {
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
                r = asprintf(&p->error, "%s: %s", svd_file_name(p, file), msg);
        else
                r = asprintf(&p->error, "%s:%u: %s", svd_file_name(p, file), line, msg);
        if (r < 0)
                p->error = NULL;
        return err;
}

static void add_warning(Parser *p, unsigned file, unsigned line, const char *prefix,
                        const char *fmt, va_list ap) {
        _cleanup_free_ char *msg = NULL;
        Warning *nw;

        if (vasprintf(&msg, fmt, ap) < 0) {
                msg = NULL;
                (void) svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
                return;
        }
        nw = realloc(p->warnings, (p->n_warnings + 1) * sizeof(Warning));
        if (!nw) {
                (void) svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
                return;
        }
        p->warnings = nw;
        nw = &p->warnings[p->n_warnings];
        *nw = (Warning) { .file = file, .line = line, .seq = p->n_warnings };
        if (asprintf(&nw->text, "%s:%u: %s%s", svd_file_name(p, file), line, prefix, msg) < 0) {
                nw->text = NULL;
                (void) svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
                return;
        }
        p->n_warnings++;
}

void svd_warn(Parser *p, unsigned file, unsigned line, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        add_warning(p, file, line, "", fmt, ap);
        va_end(ap);
}

/* A warning about one key: "file:line: [section] key=value: what happens instead". */
int svd_warn_key(Parser *p, const Section *s, const Key *k, const char *fmt, ...) {
        _cleanup_free_ char *prefix = NULL;
        va_list ap;

        if (asprintf(&prefix, "[%s] %s: ", s->name, k->name) < 0) {
                prefix = NULL;
                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        }
        va_start(ap, fmt);
        add_warning(p, k->file, k->line, prefix, fmt, ap);
        va_end(ap);
        return 0;
}


/* ---- reading: the line reader and inih's handler ---- */


/* The first of `chars`, or an inline comment (';' or '#' after whitespace), or the end. */
static char *find_chars_or_comment(char *s, const char *chars) {
        bool was_space = false;

        for (; *s; s++) {
                if (chars && strchr(chars, *s))
                        break;
                if (was_space && svd_is_comment_start(*s))
                        break;
                was_space = isspace((unsigned char) *s);
        }
        return s;
}

Section *svd_find_section(Parser *p, const char *name) {
        for (size_t i = 0; i < p->n_sections; i++)
                if (strcmp(p->sections[i].name, name) == 0)
                        return &p->sections[i];
        return NULL;
}

const Key *svd_find_key(const Section *s, const char *name) {
        for (size_t i = 0; i < s->n_keys; i++)
                if (strcmp(s->keys[i].name, name) == 0)
                        return &s->keys[i];
        return NULL;
}

static int enter_section(Parser *p, const char *start, size_t len) {
        _cleanup_free_ char *name = strndup(start, len);
        Section *s, *ns;

        if (!name)
                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        p->have_key = false;
        p->last_key = -1;
        p->skip_section = false;
        if (p->included && strcmp(name, "include") == 0) {
                svd_warn(p, p->file, p->lineno, "[include] in an included file is not followed "
                         "(supervisord reads [include] from the main file only), ignoring");
                p->skip_section = true;
                p->cur = -1;
                return 0;
        }
        s = svd_find_section(p, name);
        if (!s) {
                ns = realloc(p->sections, (p->n_sections + 1) * sizeof(Section));
                if (!ns)
                        return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
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
        if (*start == '\0' || svd_is_comment_start(*start))
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
                        (void) svd_fail(p, -EINVAL, p->file, p->lineno,
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
                                (void) svd_fail(p, errno > 0 ? -errno : -EIO, p->file, 0,
                                                "cannot read: %s",
                                                strerror(errno > 0 ? errno : EIO));
                        return NULL;
                }
                p->len = (size_t) l;
                p->pos = 0;
                p->lineno++;
                if (p->len > SVD_MAX_LINE - 16) {
                        (void) svd_fail(p, -EINVAL, p->file, p->lineno,
                                        "line too long, expected at most %d characters",
                                        SVD_MAX_LINE - 16);
                        return NULL;
                }
                if (strlen(p->buf) != p->len) {
                        (void) svd_fail(p, -EINVAL, p->file, p->lineno, "NUL byte in the line");
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
                if (was_space && svd_is_comment_start(*v))
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
                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
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
                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        s->keys = nk;
        s->keys[s->n_keys] = (Key) {
                .name = TAKE_PTR(lname), .value = TAKE_PTR(v), .file = p->file, .line = p->lineno,
                .cut = comment_in_quotes(p->buf),
        };
        p->last_key = (ssize_t) s->n_keys++;
        return 0;
}

/* A line indented deeper than its key: the value goes on, after a newline. */
static int continue_value(Parser *p, const char *value) {
        _cleanup_free_ char *joined = NULL;
        Key *k;

        if (p->cur < 0 || p->last_key < 0)
                return 1;
        k = &p->sections[p->cur].keys[p->last_key];
        if (asprintf(&joined, "%s\n%s", k->value, value) < 0) {
                joined = NULL;
                (void) svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
                return 0;
        }
        free(k->value);
        k->value = TAKE_PTR(joined);
        return 1;
}

/* An indented key after an indented key: inih passes the whole line, split here. */
static int split_key(Parser *p, char *line) {
        char *sep = line + strcspn(line, "=:");

        if (!*sep) {
                (void) svd_fail(p, -EINVAL, p->file, p->lineno,
                                "expected 'key = value', '[section]' or a comment");
                return 0;
        }
        *sep = '\0';
        return set_key(p, svd_strip(line), svd_strip(sep + 1)) < 0 ? 0 : 1;
}

/* inih's handler.  Returns 0 (an error for inih) only after recording our own message. */
static int on_value(void *user, const char *section, const char *name, const char *value) {
        Parser *p = user;
        bool was_cont = p->inih_cont;
        _cleanup_free_ char *copy = NULL;

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
                        (void) svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
                        return 0;
                }
                *find_chars_or_comment(copy, NULL) = '\0';
                value = svd_strip(copy);
        }

        switch (p->kind) {
        case LINE_HEADER:
                return 1; /* an indented header that inih took for a continuation */
        case LINE_CONT:
                return continue_value(p, value);
        case LINE_KEY:
                break;
        default:
                return 1;
        }

        if (p->cur < 0) {
                (void) svd_fail(p, -EINVAL, p->file, p->lineno,
                                "'%s' is outside of any section, expected a [section] header "
                                "first", name);
                return 0;
        }
        p->have_key = true;
        if (was_cont)
                return split_key(p, copy);
        return set_key(p, name, value) < 0 ? 0 : 1;
}

static int add_file(Parser *p, const char *path, unsigned *ret) {
        char **nf = realloc(p->files, (p->n_files + 1) * sizeof(char *));

        if (!nf)
                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        p->files = nf;
        p->files[p->n_files] = strdup(path);
        if (!p->files[p->n_files])
                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        *ret = (unsigned) p->n_files++;
        return 0;
}

/* inih's knobs, which are process-wide variables in Debian's build. */
typedef struct InihKnobs {
        char *inline_prefixes, *start_prefixes;
        bool multiline, inline_comments, use_stack, allow_realloc, stop_on_first_error;
        bool no_value;
        int max_line;
} InihKnobs;

static InihKnobs inih_get(void) {
        return (InihKnobs) {
                .inline_prefixes = ini_inline_comment_prefixes,
                .start_prefixes = ini_start_comment_prefixes,
                .multiline = ini_allow_multiline,
                .inline_comments = ini_allow_inline_comments,
                .use_stack = ini_use_stack,
                .allow_realloc = ini_allow_realloc,
                .stop_on_first_error = ini_stop_on_first_error,
                .no_value = ini_allow_no_value,
                .max_line = ini_max_line,
        };
}

static void inih_set(const InihKnobs *k) {
        ini_inline_comment_prefixes = k->inline_prefixes;
        ini_start_comment_prefixes = k->start_prefixes;
        ini_allow_multiline = k->multiline;
        ini_allow_inline_comments = k->inline_comments;
        ini_use_stack = k->use_stack;
        ini_allow_realloc = k->allow_realloc;
        ini_stop_on_first_error = k->stop_on_first_error;
        ini_allow_no_value = k->no_value;
        ini_max_line = k->max_line;
}

/* inih over p->f with supervisord's rules, its knobs restored afterwards. */
static int parse_stream(Parser *p) {
        static char comment_prefixes[] = ";#";
        static const InihKnobs ours = {
                .inline_prefixes = comment_prefixes,
                .start_prefixes = comment_prefixes,
                .multiline = true,
                .inline_comments = true,
                .use_stack = false,
                .allow_realloc = true,
                .stop_on_first_error = true,
                .no_value = false,
                .max_line = SVD_MAX_LINE,
        };
        InihKnobs saved = inih_get();
        int r;

        inih_set(&ours);
        r = ini_parse_stream(read_line, p, on_value, p);
        inih_set(&saved);
        return r;
}

int svd_parse_file(Parser *p, const char *path, const char *data, size_t size, bool included,
                   unsigned from_file, unsigned from_line) {
        unsigned file = NO_FILE;
        int r;

        r = add_file(p, path, &file);
        if (r < 0)
                return r;
        p->f = data ? fmemopen((void *) data, size, "r") : fopen(path, "re");
        if (!p->f) {
                r = negative_errno();
                if (!included)
                        return svd_fail(p, r, file, 0, "cannot read: %s", strerror(-r));
                /* supervisord skips an included file it cannot open */
                svd_warn(p, from_file, from_line, "[include] files: cannot read %s: %s, ignoring",
                         path, strerror(-r));
                return 0;
        }
        p->file = file;
        p->included = included;
        p->len = p->pos = 0;
        p->lineno = 0;
        p->inih_prev = p->have_key = p->skip_section = false;
        p->cur = p->last_key = -1;

        r = parse_stream(p);
        fclose(p->f);
        p->f = NULL;
        if (p->err < 0)
                return p->err;
        if (r == -2)
                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        if (r != 0)
                return svd_fail(p, -EINVAL, file, r > 0 ? (unsigned) r : 0,
                                "expected 'key = value', '[section]' or a comment");
        return 0;
}

/* ---- unknown keys ---- */

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
                svd_warn(p, k->file, k->line, "[%s] unknown key '%s', ignoring (did you mean "
                         "'%s'?)", s->name, k->name, best);
        else
                svd_warn(p, k->file, k->line, "[%s] unknown key '%s', ignoring", s->name, k->name);
}

void svd_check_keys(Parser *p, const Section *s, const char *const *known, size_t n_known) {
        for (size_t i = 0; i < s->n_keys; i++) {
                bool found = false;

                for (size_t j = 0; j < n_known && !found; j++)
                        found = strcmp(s->keys[i].name, known[j]) == 0;
                if (!found)
                        warn_unknown_key(p, s, &s->keys[i], known, n_known);
        }
}

void svd_parser_done(Parser *p) {
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
char *svd_join_warnings(Parser *p) {
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
