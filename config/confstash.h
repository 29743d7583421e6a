/*
 * The stash of closed worker and notify sections while config.c parses.
 *
 * Worker and notify sections cost time linear in their number.  libconfuse 3.3 looks for an
 * earlier section of the same title each time a titled section opens (cfg_setopt() walks
 * opt->values with strcmp(), CFGF_NO_TITLE_DUPES or not), so 25 000 one-line workers took
 * seconds and a reload supervised nothing meanwhile.  So each section, once closed and valid,
 * is moved from libconfuse's list into a stash (the list it walks stays empty), its name
 * checked in a hash set, and conf_load() puts every section back (conf_stash_restore())
 * before it reads the tree or frees it.  values and nvalues are public fields of cfg_opt_t;
 * libconfuse appends to them with realloc() and frees them in cfg_free_value(), both of which
 * accept the array each step leaves.
 */
#pragma once

#include <confuse.h>
#include <stddef.h>

typedef struct NameSlot {
        const char *name;       /* the section's title, owned by the stashed section */
        unsigned line;          /* where that section closed */
} NameSlot;

typedef struct SectionStash {
        cfg_opt_t *opt;         /* libconfuse's option for these sections, once one closed */
        cfg_value_t **values;   /* closed sections in file order, with room for one more */
        size_t n, cap;
        NameSlot *set;          /* open addressing, power-of-two size, at most half full */
        size_t set_size;
} SectionStash;

/*
 * Take the section that just closed (the last of opt's values) into the stash: 0, or -1 after
 * cfg_error() for a name seen before (or no memory).  `what` names the section in the error.
 */
int conf_stash_take(cfg_t *cfg, cfg_opt_t *opt, SectionStash *st, const char *what);
/* Give libconfuse back every stashed section, in file order, then empty the stash. */
void conf_stash_restore(SectionStash *st);
