/*
 * supervisord.conf import: supervisord's %-expansion of values (see svdexpand.h).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "macro.h"
#include "svdexpand.h"
#include "svdvalue.h"

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

/* With `escape`, a '%' becomes "%%" (the command is native text, where '%' is special). */
static void put_escaped(FILE *o, const char *s, bool escape) {
        for (; *s; s++) {
                if (*s == '%' && escape)
                        fputc('%', o);
                fputc(*s, o);
        }
}

/* One "%(name)<flags><width>.<precision><conversion>", as Python's % operator reads it. */
typedef struct Spec {
        char name[256];
        char flags[8];
        unsigned nflags;
        long width, prec;  /* -1 when not given */
        char conv;
        const char *end;   /* past the conversion */
} Spec;

/* Read the spec at `p`, a '%' not followed by another; `s` is the value, for positions. */
static int parse_spec(const char *s, const char *p, Spec *sp, char *err, size_t errlen) {
        const char *close, *q;
        size_t nl;

        *sp = (Spec) { .width = -1, .prec = -1 };
        if (p[1] != '(' || !(close = strchr(p + 2, ')'))) {
                /* a position, not the text: environment values may be secrets */
                snprintf(err, errlen, "badly formatted '%%' at character %zu, expected "
                         "%%(name)s, or %%%% for a literal '%%'", (size_t) (p - s) + 1);
                return -EINVAL;
        }
        nl = (size_t) (close - (p + 2));
        if (nl >= sizeof sp->name) {
                snprintf(err, errlen, "name too long at character %zu", (size_t) (p - s) + 1);
                return -EINVAL;
        }
        memcpy(sp->name, p + 2, nl);
        sp->name[nl] = '\0';
        q = close + 1;
        while (*q && strchr("#0- +", *q) && sp->nflags < sizeof sp->flags - 1)
                sp->flags[sp->nflags++] = *q++;
        if (isdigit((unsigned char) *q))
                sp->width = strtol(q, (char **) &q, 10);
        if (*q == '.' && isdigit((unsigned char) q[1]))
                sp->prec = strtol(q + 1, (char **) &q, 10);
        while (*q && strchr("hlL", *q))
                q++;
        sp->conv = *q;
        if (!sp->conv || !strchr("sdiuxXo", sp->conv) || sp->width > 999 || sp->prec > 999) {
                snprintf(err, errlen, "badly formatted \"%%(%.64s)%.4s\", expected a "
                         "conversion like s or d", sp->name, close + 1);
                return -EINVAL;
        }
        sp->end = q + 1;
        return 0;
}

/* What `name` stands for: 0 and a string, 1 and a number, or -ENOENT. */
static int lookup(const Expander *x, const char *name, const char **ret_s, long *ret_i) {
        const char *v = NULL;

        if (strcmp(name, "process_num") == 0 && x->have_num) {
                *ret_i = x->process_num;
                return 1;
        }
        if (strcmp(name, "numprocs") == 0 && x->have_num) {
                *ret_i = x->numprocs;
                return 1;
        }
        if (strcmp(name, "here") == 0)
                v = x->here;
        else if (strcmp(name, "program_name") == 0)
                v = x->program_name;
        else if (strcmp(name, "group_name") == 0)
                v = x->group_name;
        else if (strcmp(name, "host_node_name") == 0)
                v = host_node_name();
        else if (strncmp(name, "ENV_", 4) == 0)
                v = env_lookup(x->env, name + 4) ?: env_lookup(x->env2, name + 4)
                                                 ?: getenv(name + 4);
        if (!v)
                return -ENOENT;
        *ret_s = v;
        return 0;
}

static int format_string(const Spec *sp, const char *v, char **ret) {
        char fmt[32];

        snprintf(fmt, sizeof fmt, "%%%s*.*s", strchr(sp->flags, '-') ? "-" : "");
        if (asprintf(ret, fmt, (int) MAX(sp->width, 0), sp->prec < 0 ? INT_MAX : (int) sp->prec,
                     v) < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

static int format_number(const Spec *sp, long v, char **ret) {
        char fmt[32];
        int r;

        snprintf(fmt, sizeof fmt, "%%%s*.*l%c", sp->flags,
                 sp->conv == 'i' || sp->conv == 'u' ? 'd' : sp->conv);
        /* no precision unless given: it would cancel the '0' flag */
        if (sp->prec < 0) {
                memmove(fmt + 1 + sp->nflags + 1, fmt + 1 + sp->nflags + 3,
                        strlen(fmt + 1 + sp->nflags + 3) + 1);
                r = asprintf(ret, fmt, (int) MAX(sp->width, 0), v);
        } else
                r = asprintf(ret, fmt, (int) MAX(sp->width, 0), (int) sp->prec, v);
        if (r < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* Expand the spec at *pp into `o` and move *pp past it. */
static int expand_spec(const Expander *x, const char *s, const char **pp, FILE *o, char *err,
                       size_t errlen) {
        _cleanup_free_ char *v = NULL;
        const char *sval = NULL;
        char num[32];
        long ival = 0;
        Spec sp;
        int r;

        r = parse_spec(s, *pp, &sp, err, errlen);
        if (r < 0)
                return r;
        r = lookup(x, sp.name, &sval, &ival);
        if (r < 0) {
                snprintf(err, errlen, "cannot expand %%(%.64s): unknown name, expected here, "
                         "program_name, group_name, host_node_name, process_num, numprocs or "
                         "ENV_<variable>", sp.name);
                return -EINVAL;
        }
        *pp = sp.end;
        if (x->marker && strcmp(sp.name, "process_num") == 0 && !sp.flags[0] && sp.width < 0 &&
            sp.prec < 0 && strchr("sdiu", sp.conv)) {
                fputs("%i", o);
                return 0;
        }
        if (sp.conv == 's') {
                if (r == 1) {
                        snprintf(num, sizeof num, "%ld", ival);
                        sval = num;
                }
                r = format_string(&sp, sval, &v);
        } else if (r == 0) {
                snprintf(err, errlen, "%%(%.64s)%c needs a number, and %.64s is not one",
                         sp.name, sp.conv, sp.name);
                return -EINVAL;
        } else
                r = format_number(&sp, ival, &v);
        if (r < 0)
                return r;
        put_escaped(o, v, x->escape);
        return 0;
}

int svd_expand(const Expander *x, const char *s, char **ret, char *err, size_t errlen) {
        _cleanup_free_ char *out = NULL;
        size_t outlen = 0;
        FILE *o = open_memstream(&out, &outlen);
        int r = 0;

        if (!o)
                return -ENOMEM;
        for (const char *p = s; *p && r == 0;) {
                if (*p != '%')
                        fputc(*p++, o);
                else if (p[1] == '%') {
                        put_escaped(o, "%", x->escape);
                        p += 2;
                } else
                        r = expand_spec(x, s, &p, o, err, errlen);
        }
        if (fclose(o) != 0 && r == 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(out);
        return 0;
}

/* Expand one key of a section; an error names the key's file and line. */
int svd_expand_key(Parser *p, const Section *s, const Key *k, Expander *x, char **ret) {
        _cleanup_free_ char *here = svd_dir_of(svd_file_name(p, k->file));
        char err[512];
        int r;

        if (!here)
                return svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
        x->here = here;
        r = svd_expand(x, k->value, ret, err, sizeof err);
        x->here = NULL;
        if (r == -ENOMEM)
                return svd_fail(p, r, NO_FILE, 0, "out of memory");
        if (r < 0)
                return svd_fail(p, r, k->file, k->line, "[%s] %s: %s", s->name, k->name, err);
        return 0;
}

/* An expanded integer key, or `def` when the key is absent. */
int svd_get_long(Parser *p, const Section *s, const char *name, long def, long min, long max,
                 Expander *x, long *ret) {
        const Key *k = svd_find_key(s, name);
        _cleanup_free_ char *v = NULL;
        int r;

        if (!k) {
                *ret = def;
                return 0;
        }
        r = svd_expand_key(p, s, k, x, &v);
        if (r < 0)
                return r;
        if (svd_parse_long(v, ret) < 0 || *ret < min || *ret > max)
                return svd_fail(p, -EINVAL, k->file, k->line, "[%s] %s: invalid value '%s', "
                                "expected an integer from %ld to %ld", s->name, name, v, min, max);
        return 0;
}

int svd_get_umask(Parser *p, const Section *s, Expander *x, int *ret) {
        const Key *k = svd_find_key(s, "umask");
        _cleanup_free_ char *v = NULL;
        long m;
        int r;

        *ret = -1;
        if (!k)
                return 0;
        r = svd_expand_key(p, s, k, x, &v);
        if (r < 0)
                return r;
        if (svd_parse_octal(v, &m) < 0 || m > 0777)
                return svd_fail(p, -EINVAL, k->file, k->line, "[%s] umask: invalid value '%s', "
                                "expected an octal umask from 0 to 777, e.g. 022", s->name, v);
        *ret = (int) m;
        return 0;
}

int svd_get_bool(Parser *p, const Section *s, const char *name, bool def, Expander *x,
                 bool *ret) {
        const Key *k = svd_find_key(s, name);
        _cleanup_free_ char *v = NULL;
        int r;

        if (!k) {
                *ret = def;
                return 0;
        }
        r = svd_expand_key(p, s, k, x, &v);
        if (r < 0)
                return r;
        if (svd_parse_bool(svd_strip(v), ret) < 0)
                return svd_fail(p, -EINVAL, k->file, k->line, "[%s] %s: invalid value '%s', "
                                "expected true or false", s->name, name, v);
        return 0;
}
