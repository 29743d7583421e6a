/*
 * Pure parsers for user-written values (see include/parse.h).  No I/O, no logging: the
 * configuration code and upkeepctl call these and attach file:line or argument context.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "parse.h"

static const struct {
        const char *suffix;
        usec_t usec;
} duration_units[] = {
        /* longest suffixes first so "ms" is not read as "m" followed by garbage */
        { "us", 1 },
        { "ms", USEC_PER_MSEC },
        { "s", USEC_PER_SEC },
        { "m", USEC_PER_MINUTE },
        { "h", USEC_PER_HOUR },
        { "d", USEC_PER_DAY },
};

int parse_duration(const char *s, usec_t *ret) {
        usec_t total = 0;
        const char *p = s;
        bool any = false;

        if (!s)
                return -EINVAL;
        while (isspace((unsigned char) *p))
                p++;
        if (!*p)
                return -EINVAL;

        while (*p) {
                char *end;
                unsigned long long n;
                usec_t unit = 0;
                size_t ulen = 0;

                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                errno = 0;
                n = strtoull(p, &end, 10);
                if (errno == ERANGE)
                        return -ERANGE;
                for (size_t i = 0; i < ELEMENTSOF(duration_units); i++) {
                        size_t l = strlen(duration_units[i].suffix);
                        if (strncmp(end, duration_units[i].suffix, l) == 0 && l > ulen &&
                            !isalpha((unsigned char) end[l])) {
                                unit = duration_units[i].usec;
                                ulen = l;
                        }
                }
                if (ulen == 0) {
                        /* a bare number is seconds, and only as the whole value */
                        if (any || (*end && !isspace((unsigned char) *end)))
                                return -EINVAL;
                        unit = USEC_PER_SEC;
                }
                if (n > UINT64_MAX / unit || total > UINT64_MAX - n * unit)
                        return -ERANGE;
                total += n * unit;
                any = true;
                p = end + ulen;
                while (isspace((unsigned char) *p))
                        p++;
        }
        *ret = total;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long n;
        uint64_t mult = 1;

        if (!s || !isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        n = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        switch (toupper((unsigned char) *end)) {
        case 'K': mult = 1ULL << 10; end++; break;
        case 'M': mult = 1ULL << 20; end++; break;
        case 'G': mult = 1ULL << 30; end++; break;
        case 'T': mult = 1ULL << 40; end++; break;
        default: break;
        }
        if (mult > 1 && *end == 'i')
                end++;
        if (toupper((unsigned char) *end) == 'B')
                end++;
        if (*end)
                return -EINVAL;
        if (n > UINT64_MAX / mult)
                return -ERANGE;
        *ret = n * mult;
        return 0;
}

int parse_fraction(const char *s, double *ret) {
        char *end;
        double v;

        if (!s || !*s)
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno == ERANGE || end == s || !isfinite(v))
                return -EINVAL;
        if (*end == '%') {
                v /= 100.0;
                end++;
        }
        if (*end)
                return -EINVAL;
        if (v < 0.0 || v > 1.0)
                return -ERANGE;
        *ret = v;
        return 0;
}

static const struct {
        const char *name;
        int sig;
} signal_names[] = {
        { "HUP", SIGHUP },   { "INT", SIGINT },   { "QUIT", SIGQUIT }, { "ILL", SIGILL },
        { "TRAP", SIGTRAP }, { "ABRT", SIGABRT }, { "BUS", SIGBUS },   { "FPE", SIGFPE },
        { "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
        { "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM }, { "CHLD", SIGCHLD },
        { "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN },
        { "TTOU", SIGTTOU }, { "URG", SIGURG },   { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
        { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
        { "PWR", SIGPWR },   { "SYS", SIGSYS },
};

/* "RTMIN", "RTMIN+N", "RTMAX", "RTMAX-N" (after any "SIG"), inside the real-time range. */
static int parse_rt_signal(const char *s, int *ret) {
        int base, sign;
        long n = 0;

        if (strncasecmp(s, "RTMIN", 5) == 0)
                base = SIGRTMIN, sign = 1;
        else if (strncasecmp(s, "RTMAX", 5) == 0)
                base = SIGRTMAX, sign = -1;
        else
                return -EINVAL;
        s += 5;
        if (*s) {
                char *end;

                if (*s != (sign > 0 ? '+' : '-') || !isdigit((unsigned char) s[1]))
                        return -EINVAL;
                errno = 0;
                n = strtol(s + 1, &end, 10);
                if (*end || errno || n > SIGRTMAX - SIGRTMIN)
                        return -EINVAL;
        }
        *ret = base + sign * (int) n;
        return 0;
}

int parse_umask(const char *s, unsigned *ret) {
        unsigned v = 0;
        size_t n;

        if (!s)
                return -EINVAL;
        /* digits only: strtol would take blanks, a sign or "0x", none of which a umask has */
        n = strspn(s, "01234567");
        if (n == 0 || n > 4 || s[n])
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                v = v * 8 + (unsigned) (s[i] - '0');
        if (v > 0777)
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_signal(const char *s, int *ret) {
        if (!s || !*s)
                return -EINVAL;
        if (isdigit((unsigned char) *s)) {
                char *end;
                long n = strtol(s, &end, 10);
                if (*end || n <= 0 || n >= NSIG)
                        return -EINVAL;
                *ret = (int) n;
                return 0;
        }
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 0; i < ELEMENTSOF(signal_names); i++)
                if (strcasecmp(s, signal_names[i].name) == 0) {
                        *ret = signal_names[i].sig;
                        return 0;
                }
        return parse_rt_signal(s, ret);
}

const char *signal_to_name(int sig) {
        for (size_t i = 0; i < ELEMENTSOF(signal_names); i++)
                if (signal_names[i].sig == sig)
                        return signal_names[i].name;
        return NULL;
}

/*
 * Real-time signals are named as kill -l and bash name them: the lower half of the range from
 * SIGRTMIN ("RTMIN", "RTMIN+1" ... "RTMIN+15" with glibc's 34..64), the upper half from
 * SIGRTMAX ("RTMAX-14" ... "RTMAX").  SIGRTMIN is glibc's (it keeps 32 and 33 for itself),
 * read at run time as the C library requires; 32 and 33 have no name and stay numbers.
 */
const char *signal_name(int sig, char buf[static SIGNAL_NAME_MAX]) {
        const char *name = signal_to_name(sig);
        int lo = SIGRTMIN, hi = SIGRTMAX;

        if (name)
                return name;
        if (sig >= lo && sig <= hi) {
                int up = sig - lo, down = hi - sig;

                if (up == 0)
                        return "RTMIN";
                if (down == 0)
                        return "RTMAX";
                if (up <= (hi - lo) / 2)
                        snprintf(buf, SIGNAL_NAME_MAX, "RTMIN+%d", up);
                else
                        snprintf(buf, SIGNAL_NAME_MAX, "RTMAX-%d", down);
                return buf;
        }
        snprintf(buf, SIGNAL_NAME_MAX, "%d", sig);
        return buf;
}

/* "SIGTERM", "SIGRTMIN+3", and for a signal known only by its number "signal 16". */
const char *signal_label(int sig, char buf[static SIGNAL_LABEL_MAX]) {
        char name[SIGNAL_NAME_MAX];
        const char *n = signal_name(sig, name);

        snprintf(buf, SIGNAL_LABEL_MAX, "%s%s", isdigit((unsigned char) n[0]) || n[0] == '-'
                                                        ? "signal " : "SIG", n);
        return buf;
}

/*
 * The word being built grows in a buffer as long as the line, which bounds every word; argv
 * grows as words complete.  Quoting rules are the POSIX shell's minus all expansions, so what
 * a user copies from a terminal behaves the same, but nothing is ever interpreted.
 */
/* A "..." part of a word, *p on its opening quote: its text appended, *p past its end. */
static int double_quoted(const char **pp, char *word, size_t *wlen) {
        const char *p = *pp + 1;

        for (;;) {
                if (*p == '\0')
                        return -EINVAL;
                if (*p == '"')
                        break;
                if (*p == '\\' && p[1] && strchr("\"\\$`\n", p[1])) {
                        if (p[1] != '\n')
                                word[(*wlen)++] = p[1];
                        p += 2;
                        continue;
                }
                word[(*wlen)++] = *p++;
        }
        *pp = p + 1;
        return 0;
}

/*
 * One part of a word at *p: a quoted string, an escaped character or a plain one, appended to
 * word, *p moved past it.  NULL, or what is wrong.
 */
static const char *word_part(const char **pp, char *word, size_t *wlen) {
        const char *p = *pp, *e;

        switch (*p) {
        case '\'':
                e = strchr(p + 1, '\'');
                if (!e)
                        return "unterminated single quote";
                memcpy(word + *wlen, p + 1, (size_t) (e - p - 1));
                *wlen += (size_t) (e - p - 1);
                *pp = e + 1;
                return NULL;
        case '"':
                return double_quoted(pp, word, wlen) < 0 ? "unterminated double quote" : NULL;
        case '\\':
                if (p[1] == '\0')
                        return "trailing backslash";
                if (p[1] != '\n')
                        word[(*wlen)++] = p[1];
                *pp = p + 2;
                return NULL;
        default:
                word[(*wlen)++] = *p;
                *pp = p + 1;
                return NULL;
        }
}

int argv_split(const char *line, char ***ret, const char **ret_error) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *word = NULL;
        size_t wlen = 0;
        bool in_word = false;
        const char *p = line, *err;

        if (!line) {
                *ret_error = "empty command";
                return -EINVAL;
        }
        /* every word is at most as long as the line */
        word = malloc(strlen(line) + 1);
        if (!word)
                return -ENOMEM;
        for (;;) {
                char c = *p;

                if (c == '\0' || c == ' ' || c == '\t' || c == '\n') {
                        if (in_word && strv_consume(&argv, strndup(word, wlen)) < 0)
                                return -ENOMEM;
                        in_word = false;
                        wlen = 0;
                        if (c == '\0')
                                break;
                        p++;
                        continue;
                }
                in_word = true;
                err = word_part(&p, word, &wlen);
                if (err) {
                        *ret_error = err;
                        return -EINVAL;
                }
        }
        if (!argv) {
                *ret_error = "empty command";
                return -EINVAL;
        }
        *ret = TAKE_PTR(argv);
        return 0;
}

char *format_duration(char *buf, size_t len, usec_t d) {
        if (d == USEC_INFINITY)
                snprintf(buf, len, "never");
        else if (d < USEC_PER_SEC)
                snprintf(buf, len, "%llums", (unsigned long long) (d / USEC_PER_MSEC));
        else if (d < USEC_PER_MINUTE)
                snprintf(buf, len, "%.1fs", usec_to_seconds(d));
        else if (d < USEC_PER_HOUR)
                snprintf(buf, len, "%llum%02llus", (unsigned long long) (d / USEC_PER_MINUTE),
                         (unsigned long long) (d % USEC_PER_MINUTE / USEC_PER_SEC));
        else if (d < USEC_PER_DAY)
                snprintf(buf, len, "%lluh%02llum", (unsigned long long) (d / USEC_PER_HOUR),
                         (unsigned long long) (d % USEC_PER_HOUR / USEC_PER_MINUTE));
        else
                snprintf(buf, len, "%llud%02lluh", (unsigned long long) (d / USEC_PER_DAY),
                         (unsigned long long) (d % USEC_PER_DAY / USEC_PER_HOUR));
        return buf;
}

char *expand_instance(const char *tmpl, unsigned index) {
        char *out, *o;
        size_t n = 0;

        /* each %i grows to at most 10 digits */
        for (const char *p = tmpl; *p; p++)
                n += (*p == '%') ? 10 : 1;
        out = malloc(n + 1);
        if (!out)
                return NULL;
        o = out;
        for (const char *p = tmpl; *p; p++) {
                if (p[0] == '%' && p[1] == 'i') {
                        o += sprintf(o, "%u", index);
                        p++;
                } else if (p[0] == '%' && p[1] == '%') {
                        *o++ = '%';
                        p++;
                } else
                        *o++ = *p;
        }
        *o = '\0';
        return out;
}

/*
 * libconfuse 3.3 (Debian 12) counts every comment as one or two extra lines, so its error
 * messages point below the real line.  Blanking comments out before the parse (keeping every
 * newline) gives it nothing to miscount.  The rules are libconfuse's own: outside "..." and
 * '...' (in both, a backslash escapes the next character), '#' and '//' run to the end of the
 * line and '/ *' ... '* /' may span lines.
 * A '/ *' that is never closed is an error, not a comment to the end of the file: blanking the
 * rest would silently drop every worker below it (and a reload would stop them).
 */
int conf_strip_comments(const char *text, char **ret, unsigned *ret_line) {
        _cleanup_free_ char *out = strdup(text);
        unsigned line = 1;
        char quote = 0, *o;

        if (!out)
                return -ENOMEM;
        for (o = out; *o; o++) {
                if (*o == '\n')
                        line++;
                if (quote) {
                        /* libconfuse's lexer escapes the next character in both kinds */
                        if (*o == '\\' && o[1]) {
                                o++;
                                if (*o == '\n')
                                        line++;
                        } else if (*o == quote)
                                quote = 0;
                        continue;
                }
                if (*o == '"' || *o == '\'') {
                        quote = *o;
                } else if (*o == '#' || (o[0] == '/' && o[1] == '/')) {
                        while (*o && *o != '\n')
                                *o++ = ' ';
                        if (!*o)
                                break;
                        line++;
                } else if (o[0] == '/' && o[1] == '*') {
                        unsigned start = line;

                        while (*o && !(o[0] == '*' && o[1] == '/')) {
                                if (*o != '\n')
                                        *o = ' ';
                                else
                                        line++;
                                o++;
                        }
                        if (!*o) {
                                *ret_line = start;
                                return -EINVAL;
                        }
                        o[0] = o[1] = ' ';
                        o++;
                }
        }
        *ret = TAKE_PTR(out);
        return 0;
}
