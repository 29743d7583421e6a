/*
 * The stash of closed sections (see confstash.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "confstash.h"
#include "macro.h"

static size_t name_hash(const char *s) {
        uint64_t h = 14695981039346656037ULL; /* FNV-1a */

        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 1099511628211ULL;
        return (size_t) h;
}

/* The slot holding `name`, or the empty one where it would go. */
static NameSlot *name_slot(NameSlot *set, size_t size, const char *name) {
        for (size_t i = name_hash(name) & (size - 1);; i = (i + 1) & (size - 1))
                if (!set[i].name || strcmp(set[i].name, name) == 0)
                        return &set[i];
}

static int name_set_grow(SectionStash *st) {
        size_t size = st->set_size ? st->set_size * 2 : 64;
        NameSlot *set = calloc(size, sizeof(NameSlot));

        if (!set)
                return -ENOMEM;
        for (size_t i = 0; i < st->set_size; i++)
                if (st->set[i].name)
                        *name_slot(set, size, st->set[i].name) = st->set[i];
        free(st->set);
        st->set = set;
        st->set_size = size;
        return 0;
}

/*
 * Take the section that just closed (the last of opt's values) into the stash.  A name seen
 * before is refused, as libconfuse's CFGF_NO_TITLE_DUPES did, at the line this one closes.
 */
int conf_stash_take(cfg_t *cfg, cfg_opt_t *opt, SectionStash *st, const char *what) {
        cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
        NameSlot *slot;

        if (st->opt && st->opt != opt)
                return 0; /* not the list conf_load() parses: leave it to libconfuse */
        if ((st->n + 1) * 2 > st->set_size && name_set_grow(st) < 0)
                return -1;
        slot = name_slot(st->set, st->set_size, cfg_title(sec));
        if (slot->name) {
                cfg_error(cfg, "%s '%s': the name is already used by the %s ending at line %u, "
                          "expected each %s name once", what, cfg_title(sec), what, slot->line,
                          what);
                return -1;
        }
        /* room for this one and for the one libconfuse may hold when conf_stash_restore() runs */
        if (st->n + 2 > st->cap) {
                size_t cap = st->cap ? st->cap * 2 : 64;
                cfg_value_t **v = reallocarray(st->values, cap, sizeof(cfg_value_t *));

                if (!v)
                        return -1;
                st->values = v;
                st->cap = cap;
        }
        st->opt = opt;
        *slot = (NameSlot) { .name = cfg_title(sec), .line = (unsigned) cfg->line };
        st->values[st->n++] = opt->values[--opt->nvalues];
        return 0;
}

/* Give libconfuse back every stashed section, in file order, then empty the stash. */
void conf_stash_restore(SectionStash *st) {
        cfg_opt_t *opt = st->opt;

        if (opt && st->n > 0) {
                /* every closed section was taken: libconfuse holds at most the one that was
                 * open when the parse stopped, and conf_stash_take() left room for it */
                for (unsigned i = 0; i < opt->nvalues && st->n < st->cap; i++)
                        st->values[st->n++] = opt->values[i];
                free(opt->values);
                opt->values = TAKE_PTR(st->values);
                opt->nvalues = (unsigned) st->n;
        }
        free(st->values);
        free(st->set);
        *st = (SectionStash) {};
}

