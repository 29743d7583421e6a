/*
 * supervisord.conf import: supervisord's value syntax (see svdvalue.h).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "strv.h"
#include "svdvalue.h"

bool svd_has_control(const char *s) {
        for (; *s; s++)
                if (iscntrl((unsigned char) *s))
                        return true;
        return false;
}

char *svd_strip(char *s) {
        char *e;

        while (isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = '\0';
        return s;
}

/* supervisord's boolean: true/false, yes/no, on/off, 1/0, in any case. */
int svd_parse_bool(const char *s, bool *ret) {
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

/* The digits at s in `base`, then only blanks: 0, -EINVAL or -ERANGE. */
static int parse_number_tail(const char *s, int base, long *ret) {
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, base);
        if (errno == ERANGE)
                return -ERANGE;
        while (isspace((unsigned char) *end))
                end++;
        if (end == s || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int svd_parse_long(const char *s, long *ret) {
        while (isspace((unsigned char) *s))
                s++;
        if (!*s)
                return -EINVAL;
        return parse_number_tail(s, 10, ret);
}

int svd_parse_octal(const char *s, long *ret) {
        while (isspace((unsigned char) *s))
                s++;
        if (*s == '+')
                s++;
        if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
                s += 2;
        /* strtol would take a second sign or blanks here, Python does not */
        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        return parse_number_tail(s, 8, ret);
}

/* supervisord's byte_size: a number with an optional KB, MB or GB suffix (1024-based). */
int svd_parse_byte_size(const char *s, uint64_t *ret) {
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
        v = svd_strip(copy);
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

int svd_env_set(char ***env, const char *name, const char *value) {
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
        return strv_consume(env, s);
}

static bool is_word_char(char c) {
        return isalnum((unsigned char) c) || (unsigned char) c >= 0x80 ||
               (c && strchr("_/.+-():", c));
}

/* shlex's tokens: words, quoted strings (quotes kept), and any other character alone. */
static int tokenize(const char *s, char ***ret, char *err, size_t errlen) {
        _cleanup_strv_free_ char **tok = NULL;
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
                        while (*p && (is_word_char(*p) || *p == '"' || *p == '\''))
                                p++;
                } else
                        p++; /* any other character is a token by itself */
                r = strv_consume(&tok, strndup(b, (size_t) (p - b)));
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(tok);
        return 0;
}

/* A value token without the quotes at its ends, in place. */
static char *unquote(char *v) {
        size_t vl;

        while (*v == '"' || *v == '\'')
                v++;
        vl = strlen(v);
        while (vl > 0 && (v[vl - 1] == '"' || v[vl - 1] == '\''))
                v[--vl] = '\0';
        return v;
}

/*
 * supervisord's environment syntax, KEY="val",KEY2=val2: a non-POSIX shlex whose tokens are
 * taken three at a time (key, '=', value) with one separator token skipped between triples,
 * and quotes stripped from the ends of the value.  Reproduced token for token, oddities
 * included: in `A=x y` the "y" is skipped as a separator (we warn, naming A), and an unquoted
 * value with a character outside [A-Za-z0-9_/.+-():] ends early, which supervisord reports as
 * an error.
 */
int svd_parse_environment(const char *s, char ***env, char *err, size_t errlen,
                          char **ret_skipped) {
        _cleanup_strv_free_ char **tok = NULL;
        size_t n;
        int r;

        r = tokenize(s, &tok, err, errlen);
        if (r < 0)
                return r;
        n = strv_length(tok);
        for (size_t i = 0; i < n; i += 4) {
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
                r = svd_env_set(env, tok[i], unquote(tok[i + 2]));
                if (r < 0)
                        return r;
                if (i + 3 < n && strcmp(tok[i + 3], ",") != 0 && ret_skipped && !*ret_skipped)
                        *ret_skipped = strdup(tok[i]); /* the name: the word may be a secret */
        }
        return 0;
}

char *svd_dir_of(const char *path) {
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
