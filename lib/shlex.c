/*
 * shlex.split() in POSIX mode (see shlex.h): the state machine of CPython's
 * shlex.read_token() with whitespace_split=True and no commenters, in its own states.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "shlex.h"
#include "strv.h"

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A "..." part, *pp past the opening quote: a backslash escapes only '"' and '\'. */
static const char *double_quoted(const char **pp, char *word, size_t *wlen) {
        const char *p = *pp;

        for (;; p++) {
                if (*p == '\0')
                        return "No closing quotation";
                if (*p == '"')
                        break;
                if (*p == '\\') {
                        if (p[1] == '\0')
                                return "No escaped character";
                        if (p[1] != '"' && p[1] != '\\')
                                word[(*wlen)++] = '\\';
                        p++;
                }
                word[(*wlen)++] = *p;
        }
        *pp = p + 1;
        return NULL;
}

int shlex_split(const char *line, char ***ret, const char **ret_error) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *word = NULL;
        const char *p = line;
        size_t wlen = 0;
        bool in_word = false;

        word = malloc(strlen(line) + 1);
        if (!word)
                return -ENOMEM;
        for (;;) {
                const char *e, *err;

                if (*p == '\0' || is_blank(*p)) {
                        /* a word ends; '' alone is a word too (shlex's `quoted`) */
                        if (in_word && strv_consume(&argv, strndup(word, wlen)) < 0)
                                return -ENOMEM;
                        in_word = false;
                        wlen = 0;
                        if (*p == '\0')
                                break;
                        p++;
                        continue;
                }
                in_word = true;
                switch (*p) {
                case '\'':
                        e = strchr(p + 1, '\'');
                        if (!e) {
                                *ret_error = "No closing quotation";
                                return -EINVAL;
                        }
                        memcpy(word + wlen, p + 1, (size_t) (e - p - 1));
                        wlen += (size_t) (e - p - 1);
                        p = e + 1;
                        break;
                case '"':
                        p++;
                        err = double_quoted(&p, word, &wlen);
                        if (err) {
                                *ret_error = err;
                                return -EINVAL;
                        }
                        break;
                case '\\':
                        /* any character, a newline included, taken as it is */
                        if (p[1] == '\0') {
                                *ret_error = "No escaped character";
                                return -EINVAL;
                        }
                        word[wlen++] = p[1];
                        p += 2;
                        break;
                default:
                        word[wlen++] = *p++;
                }
        }
        if (!argv && !(argv = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(argv);
        return 0;
}

/* Can argv_split() read this word bare? */
static bool plain_word(const char *w) {
        return *w && !strpbrk(w, " \t\r\n\v\f'\"\\");
}

char *argv_join_quoted(char *const *argv) {
        size_t n = 1;
        char *out, *o;

        for (char *const *a = argv; a && *a; a++)
                n += 4 * strlen(*a) + 3; /* each ' as '\'' (4), two quotes, a space */
        o = out = malloc(n);
        if (!out)
                return NULL;
        for (char *const *a = argv; a && *a; a++) {
                if (a != argv)
                        *o++ = ' ';
                if (plain_word(*a)) {
                        o = stpcpy(o, *a);
                        continue;
                }
                *o++ = '\'';
                for (const char *c = *a; *c; c++)
                        if (*c == '\'')
                                o = stpcpy(o, "'\\''");
                        else
                                *o++ = *c;
                *o++ = '\'';
        }
        *o = '\0';
        return out;
}
