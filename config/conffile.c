/*
 * Reading a configuration file (see conffile.h): the file is read whole, at most
 * CONF_MAX_TEXT bytes, then looked at once to tell a supervisord.conf from a native file.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"
#include "macro.h"
#include "supervisord.h"

#define CONF_MAX_TEXT (16 * 1024 * 1024)

static void error_msg(char **ret_errors, const char *fmt, ...) _printf_(2, 3);

static void error_msg(char **ret_errors, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(ret_errors, fmt, ap);
        va_end(ap);
        if (r < 0)
                *ret_errors = NULL;
}

/*
 * The whole file into a NUL-terminated buffer of *ret_size bytes.  The buffer grows with what is
 * read, so a small file costs a small allocation.
 */
static int read_all(const char *path, char **ret, size_t *ret_size) {
        _cleanup_free_ char *raw = NULL;
        size_t len = 0, size = 0;
        FILE *f = fopen(path, "re");
        int r = 0;

        if (!f)
                return negative_errno();
        for (;;) {
                if (len == size) {
                        char *n;
                        if (size > CONF_MAX_TEXT) {
                                r = -EFBIG;
                                break;
                        }
                        size = size ? MIN(size * 2, (size_t) CONF_MAX_TEXT + 1) : 64 * 1024;
                        n = realloc(raw, size + 1);
                        if (!n) {
                                r = -ENOMEM;
                                break;
                        }
                        raw = n;
                }
                len += fread(raw + len, 1, size - len, f);
                if (ferror(f)) {
                        r = -EIO;
                        break;
                }
                if (feof(f))
                        break;
        }
        fclose(f);
        if (r == 0 && len > CONF_MAX_TEXT)
                r = -EFBIG;
        if (r < 0)
                return r;
        raw[len] = '\0';
        *ret = TAKE_PTR(raw);
        *ret_size = len;
        return 0;
}

/* A native file is text: libconfuse would stop reading at a NUL byte, so say where it is. */
static int check_text(const char *path, const char *data, size_t size, char **ret_errors) {
        const char *nul = memchr(data, '\0', size);
        unsigned line = 1;

        if (!nul)
                return 0;
        for (const char *p = data; p < nul; p++)
                line += *p == '\n';
        error_msg(ret_errors, "%s:%u: NUL byte in the line, expected a text file\n", path, line);
        return -EINVAL;
}

/* Fill *ret from `size` bytes of `path`; `owned`, when given, is `data` to be taken over. */
static int from_text(const char *path, const char *data, size_t size, char *owned, ConfFile *ret,
                     char **ret_errors) {
        _cleanup_free_ char *own = owned, *text = NULL, *warnings = NULL;
        _cleanup_free_ char *p = strdup(path), *name = NULL;
        int r;

        if (!p)
                return -ENOMEM;
        if (svd_detect_text(data, size)) {
                r = svd_convert_text(path, data, size, &text, &warnings);
                if (r < 0) {
                        *ret_errors = TAKE_PTR(warnings);
                        return r;
                }
                if (asprintf(&name, "%s (converted)", path) < 0)
                        return -ENOMEM;
        } else {
                r = check_text(path, data, size, ret_errors);
                if (r < 0)
                        return r;
                text = own ? TAKE_PTR(own) : strndup(data, size);
                warnings = strdup("");
                name = strdup(path);
                if (!text || !warnings || !name)
                        return -ENOMEM;
        }
        *ret = (ConfFile) {
                .path = TAKE_PTR(p),
                .name = TAKE_PTR(name),
                .text = TAKE_PTR(text),
                .warnings = TAKE_PTR(warnings),
        };
        return 0;
}

int conf_file_from_text(const char *path, const char *data, size_t size, ConfFile *ret,
                        char **ret_errors) {
        return from_text(path, data, size, NULL, ret, ret_errors);
}

int conf_file_read(const char *path, ConfFile *ret, char **ret_errors) {
        char *raw = NULL;
        size_t size = 0;
        int r;

        r = read_all(path, &raw, &size);
        if (r < 0) {
                error_msg(ret_errors, "%s: cannot read: %s\n", path, strerror(-r));
                return r;
        }
        return from_text(path, raw, size, raw, ret, ret_errors);
}

void conf_file_done(ConfFile *f) {
        free(f->path);
        free(f->name);
        free(f->text);
        free(f->warnings);
        *f = (ConfFile) {};
}

int conf_load_file(const char *path, Config **ret, char **ret_warnings, char **ret_errors) {
        ConfFile f = {};
        int r;

        r = conf_file_read(path, &f, ret_errors);
        if (r < 0)
                return r;
        r = conf_load(f.text, f.path, f.name, ret, ret_errors);
        if (r >= 0 && ret_warnings)
                *ret_warnings = TAKE_PTR(f.warnings);
        conf_file_done(&f);
        return r;
}
