/*
 * String vectors: NULL-terminated arrays of strings, as argv and environ are.
 *
 * The one ownership rule: a strv owns its array and every string in it, all from malloc(); NULL
 * is the empty list; strv_free() releases both.  Functions that add a string say whether they
 * copy it (strv_extend) or take it (strv_consume: taken also on failure, so that a caller never
 * frees a string it handed over).  A list that only borrows its strings is not a strv (use
 * `const char **` and free() for those).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

void strv_free(char **l);
static inline void strv_freep(char ***l) {
        strv_free(*l);
}
#define _cleanup_strv_free_ __attribute__((cleanup(strv_freep)))

size_t strv_length(char *const *l);
/* Append s to *l, taking it (freed on failure, and NULL gives -ENOMEM): 0 or -ENOMEM. */
int strv_consume(char ***l, char *s);
/* Append a copy of s to *l: 0 or -ENOMEM; *l is unchanged on failure. */
int strv_extend(char ***l, const char *s);
/* Same length and the same strings in the same order (NULL equals the empty list). */
bool strv_equal(char *const *a, char *const *b);
/* s is one of the strings of l. */
bool strv_contains(char *const *l, const char *s);
/* Free and take out every string of l equal to s, keeping the order of the others. */
void strv_remove(char **l, const char *s);

/* Both NULL, or both strings and equal. */
static inline bool streq_ptr(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}
