/*
 * supervisord.conf import: supervisord's value syntax, as its datatypes.py reads values
 * (booleans, integers, byte sizes, the environment= list), and the string helpers the
 * importer's other parts share.  Pure: no Parser, no messages but into `err`.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <strings.h>

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline bool streq_ci(const char *a, const char *b) {
        return strcasecmp(a, b) == 0;
}

/* `s` without leading white space, its trailing white space cut off in place. */
char *svd_strip(char *s);
bool svd_has_control(const char *s);

/* true/false, yes/no, on/off, 1/0, in any case: 0 or -EINVAL. */
int svd_parse_bool(const char *s, bool *ret);
/* A decimal integer, white space around it allowed: 0, -EINVAL or -ERANGE. */
int svd_parse_long(const char *s, long *ret);
/* An octal integer as Python's int(s, 8) reads it: white space, "+" and "0o" allowed. */
int svd_parse_octal(const char *s, long *ret);
/* A number with an optional KB, MB or GB suffix (1024-based): 0, -EINVAL or -ENOMEM. */
int svd_parse_byte_size(const char *s, uint64_t *ret);

/* Set NAME=value in a "NAME=value" list, replacing an earlier NAME: 0 or -ENOMEM. */
int svd_env_set(char ***env, const char *name, const char *value);
/*
 * Add supervisord's environment= value `s` (KEY="val",KEY2=val2) to the "NAME=value" list *env.
 * On -EINVAL `err` says why without quoting a value (values may be secrets).  *ret_skipped, when
 * not yet set, takes the name of the first value cut at a blank (see svdvalue.c).
 */
int svd_parse_environment(const char *s, char ***env, char *err, size_t errlen,
                          char **ret_skipped);

/* The absolute directory of `path` (relative to the working directory), or NULL: no memory. */
char *svd_dir_of(const char *path);
