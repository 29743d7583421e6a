/*
 * supervisord.conf import: [fcgi-program:x] (see svdfcgi.h).  supervisord's socket= is
 * tcp://HOST:PORT or unix:///path; socket_owner= and socket_mode= apply to a unix socket,
 * socket_backlog= to either.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defaults.h"
#include "listen.h"
#include "svdexpand.h"
#include "svdfcgi.h"
#include "svdprogram.h"
#include "svdvalue.h"

/* supervisord's socket= (with %(here)s and %(program_name)s expanded, as supervisord
 * expands it) as upkeep's address, or NULL with a warning or an error said. */
static char *native_address(Parser *p, const Section *s, const Key *k, const char *name) {
        _cleanup_free_ char *v = NULL;
        Expander x = { .program_name = name };
        char *a = NULL, *val;
        const char *err;
        ListenAddress la;

        if (svd_expand_key(p, s, k, &x, &v) < 0 || !v)
                return NULL;
        val = svd_strip(v);
        if (strncmp(val, "unix://", 7) == 0)
                (void) !asprintf(&a, "unix:%s", val + 7);
        else if (strncmp(val, "tcp://localhost:", 16) == 0)
                (void) !asprintf(&a, "tcp://127.0.0.1:%s", val + 16);
        else if (strncmp(val, "tcp://*:", 8) == 0)
                (void) !asprintf(&a, "tcp://0.0.0.0:%s", val + 8);
        else
                a = strdup(val);
        if (a && (strpbrk(a, "\"\\") || svd_has_control(a))) {
                svd_warn_key(p, s, k, "a quote, backslash or control character in the address, "
                             "ignoring the program");
                free(a);
                return NULL;
        }
        if (a && listen_address_parse(a, &la, &err) < 0) {
                svd_warn_key(p, s, k, "'%s' %s, ignoring the program", val, err);
                free(a);
                return NULL;
        }
        return a;
}

/* The listen section of the program's socket, as text. */
static char *listen_text(Parser *p, const Section *s, const char *name, const char *address) {
        const Key *owner = svd_find_key(s, "socket_owner"), *mode = svd_find_key(s, "socket_mode");
        const Key *backlog = svd_find_key(s, "socket_backlog");
        bool unix_socket = strncmp(address, "unix:", 5) == 0;
        char *text = NULL;
        size_t len = 0;
        FILE *o = open_memstream(&text, &len);
        long v;

        if (!o)
                return NULL;
        fprintf(o, "# [%s] socket=: held by upkeepd, every process gets it as standard input\n",
                s->name);
        fprintf(o, "listen %s {\n    address = \"%s\"\n", name, address);
        if (backlog && svd_parse_long(svd_strip(backlog->value), &v) == 0 && v >= 1 &&
            v <= CFG_MAX_LISTEN_BACKLOG)
                fprintf(o, "    backlog = %ld\n", v);
        else if (backlog)
                svd_warn_key(p, s, backlog, "expected 1 to %d, using upkeep's default",
                             CFG_MAX_LISTEN_BACKLOG);
        if (unix_socket && mode && svd_parse_octal(svd_strip(mode->value), &v) == 0 && v >= 0 &&
            v <= 0777)
                fprintf(o, "    mode = \"%04lo\"\n", v);
        else if (mode)
                svd_warn_key(p, s, mode, "only a unix socket's octal mode is kept, ignoring");
        if (unix_socket && owner && !strpbrk(owner->value, "\"\\\n"))
                fprintf(o, "    owner = \"%s\"\n", svd_strip(owner->value));
        else if (owner)
                svd_warn_key(p, s, owner, "only a unix socket has an owner, ignoring");
        fputs("}\n", o);
        if (fclose(o) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

/* `stdin-socket = "name"` before the closing brace of a worker's text. */
static char *with_stdin_socket(const char *text, const char *name) {
        size_t cut = strlen(text);
        char *out = NULL;

        while (cut > 0 && text[cut - 1] != '}')
                cut--;
        if (cut == 0)
                return NULL;
        if (asprintf(&out, "%.*s    stdin-socket = \"%s\"\n}\n", (int) (cut - 1), text,
                     name) < 0)
                return NULL;
        return out;
}

int svd_translate_fcgi(Parser *p, const Globals *g, const Section *s, Outs *outs) {
        const Key *k = svd_find_key(s, "socket");
        const char *name = s->name + strlen("fcgi-program:");
        _cleanup_free_ char *address = NULL, *listen = NULL;
        size_t first = outs->n;
        int r;

        if (!k)
                return svd_fail(p, -EINVAL, s->file, s->line, "[%s] 'socket' is missing, "
                                "expected tcp://HOST:PORT or unix:///path", s->name);
        if (!*name || strlen(name) > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyz"
                                                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
                                                != strlen(name) ||
            strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
                svd_warn(p, s->file, s->line, "[%s] the name cannot name its socket, expected "
                         "1 to 64 letters, digits, '_', '.' or '-', ignoring the program",
                         s->name);
                return 0;
        }
        address = native_address(p, s, k, name);
        if (!address)
                return p->err < 0 ? p->err : 0;
        r = svd_translate_program(p, g, s, outs);
        if (r < 0 || outs->n == first)
                return r;
        listen = listen_text(p, s, name, address);
        if (!listen)
                return svd_fail(p, -ENOMEM, 0, 0, "out of memory");
        for (size_t i = first; i < outs->n; i++) {
                char *t = with_stdin_socket(outs->v[i].text, name), *both = NULL;

                if (t && i == first && asprintf(&both, "%s%s", listen, t) < 0)
                        both = NULL;
                if (!t || (i == first && !both)) {
                        free(t);
                        return svd_fail(p, -ENOMEM, 0, 0, "out of memory");
                }
                free(outs->v[i].text);
                outs->v[i].text = i == first ? both : t;
                if (i == first)
                        free(t);
        }
        return 0;
}
