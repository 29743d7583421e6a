/*
 * supervisord.conf import: supervisord's %-expansion of values (%(here)s, %(program_name)s,
 * %(process_num)02d, %(ENV_X)s, ...), and the reading of one key's expanded value.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "svdini.h"

/* What the names of an expansion stand for; NULL or have_num false: not defined here. */
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

/*
 * Python's "%(name)s" % mapping, with flags, width and precision ("%(process_num)02d"), "%%" for
 * a literal '%', and an error for an unknown name or a stray '%', as supervisord reports them.
 * Returns 0 with *ret (caller frees), -ENOMEM, or -EINVAL with the reason in `err` (`errlen`
 * bytes), which names a position rather than quoting the value.
 */
int svd_expand(const Expander *x, const char *s, char **ret, char *err, size_t errlen);

/* Expand key `k` of `s`, %(here)s being its file's directory; an error names its file:line. */
int svd_expand_key(Parser *p, const Section *s, const Key *k, Expander *x, char **ret);
/* The expanded integer key `name` within [min, max], or `def` when it is absent. */
int svd_get_long(Parser *p, const Section *s, const char *name, long def, long min, long max,
                 Expander *x, long *ret);
/* The expanded umask key of `s` (supervisord's octal_type), or -1 when it is absent. */
int svd_get_umask(Parser *p, const Section *s, Expander *x, int *ret);
/* The expanded boolean key `name`, or `def` when it is absent. */
int svd_get_bool(Parser *p, const Section *s, const char *name, bool def, Expander *x,
                 bool *ret);
