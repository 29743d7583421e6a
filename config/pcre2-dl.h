/*
 * PCRE2, loaded with dlopen() at the first pattern of a configuration (errors { match },
 * ready = "log:REGEX"): linked, it cost every upkeepd some 90 KiB of resident memory whether
 * a pattern was configured or not.  Code that uses it includes this header instead of
 * <pcre2.h>, calls pcre2_dl_load() before its first pattern, and then the usual names, which
 * resolve through the table below.
 */
#pragma once

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

typedef struct Pcre2Functions {
        __typeof__(&pcre2_compile) compile;
        __typeof__(&pcre2_code_free) code_free;
        __typeof__(&pcre2_get_error_message) get_error_message;
        __typeof__(&pcre2_jit_compile) jit_compile;
        __typeof__(&pcre2_jit_match) jit_match;
        __typeof__(&pcre2_match) match;
        __typeof__(&pcre2_match_data_create) match_data_create;
        __typeof__(&pcre2_match_data_create_from_pattern) match_data_create_from_pattern;
        __typeof__(&pcre2_match_data_free) match_data_free;
        __typeof__(&pcre2_get_ovector_pointer) get_ovector_pointer;
} Pcre2Functions;

extern Pcre2Functions pcre2_fn;

/* Load libpcre2-8 (once): NULL, or why it cannot be (dlerror()'s text, or a missing symbol). */
const char *pcre2_dl_load(void);

#undef pcre2_compile
#undef pcre2_code_free
#undef pcre2_get_error_message
#undef pcre2_jit_compile
#undef pcre2_jit_match
#undef pcre2_match
#undef pcre2_match_data_create
#undef pcre2_match_data_create_from_pattern
#undef pcre2_match_data_free
#undef pcre2_get_ovector_pointer
#define pcre2_compile (*pcre2_fn.compile)
#define pcre2_code_free (*pcre2_fn.code_free)
#define pcre2_get_error_message (*pcre2_fn.get_error_message)
#define pcre2_jit_compile (*pcre2_fn.jit_compile)
#define pcre2_jit_match (*pcre2_fn.jit_match)
#define pcre2_match (*pcre2_fn.match)
#define pcre2_match_data_create (*pcre2_fn.match_data_create)
#define pcre2_match_data_create_from_pattern (*pcre2_fn.match_data_create_from_pattern)
#define pcre2_match_data_free (*pcre2_fn.match_data_free)
#define pcre2_get_ovector_pointer (*pcre2_fn.get_ovector_pointer)
