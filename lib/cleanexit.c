/*
 * Clean ends of a process (see cleanexit.h).
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cleanexit.h"
#include "parse.h"

static void set_bit(uint64_t *bits, unsigned n) {
        bits[n / 64] |= UINT64_C(1) << (n % 64);
}

static bool get_bit(const uint64_t *bits, unsigned n) {
        return bits[n / 64] & (UINT64_C(1) << (n % 64));
}

void clean_exits_none(CleanExits *c) {
        *c = (CleanExits) {};
}

void clean_exits_default(CleanExits *c) {
        clean_exits_none(c);
        set_bit(c->codes, 0);
        set_bit(c->signals, SIGHUP);
        set_bit(c->signals, SIGINT);
        set_bit(c->signals, SIGTERM);
        set_bit(c->signals, SIGPIPE);
}

static bool all_digits(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!isdigit((unsigned char) *s))
                        return false;
        return true;
}

int clean_exits_add(CleanExits *c, const char *entry) {
        int sig;

        if (!entry)
                return -EINVAL;
        if (all_digits(entry)) {
                char *end;
                long code;

                if (strlen(entry) > 3)
                        return -EINVAL;
                code = strtol(entry, &end, 10);
                if (code > 255)
                        return -EINVAL;
                set_bit(c->codes, (unsigned) code);
                return 0;
        }
        if (parse_signal(entry, &sig) < 0 || sig <= 0 || sig >= 128)
                return -EINVAL;
        set_bit(c->signals, (unsigned) sig);
        return 0;
}

bool clean_exits_test(const CleanExits *c, int code, int signal) {
        if (signal)
                return signal > 0 && signal < 128 && get_bit(c->signals, (unsigned) signal);
        return code >= 0 && code <= 255 && get_bit(c->codes, (unsigned) code);
}
