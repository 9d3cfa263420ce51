/* sbuf.c - see sbuf.h. */
#include "sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_common.h"

void sb_putn(sbuf *b, const char *p, size_t n)
{
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 64;
        while (c < b->n + n + 1)
            c *= 2;
        char *t = realloc(b->s, c);
        if (!t) {
            b->oom = 1;
            return;
        }
        b->s = t;
        b->cap = c;
    }
    memcpy(b->s + b->n, p, n);
    b->n += n;
    b->s[b->n] = 0;
}

void sb_puts(sbuf *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

void sb_printf(sbuf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (k < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)k < sizeof small) {
        sb_putn(b, small, (size_t)k);
        return;
    }
    char *big = malloc((size_t)k + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)k + 1, fmt, ap);
    va_end(ap);
    sb_putn(b, big, (size_t)k);
    free(big);
}

void sb_json_str(sbuf *b, const char *s)
{
    sb_puts(b, "\"");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            char e[3] = {'\\', (char)*c, 0};
            sb_puts(b, e);
        } else if (*c == '\n') {
            sb_puts(b, "\\n");
        } else if (*c == '\t') {
            sb_puts(b, "\\t");
        } else if (*c < 0x20 || *c == 0x7f) {
            sb_printf(b, "\\u%04x", *c);
        } else {
            sb_putn(b, (const char *)c, 1);
        }
    }
    sb_puts(b, "\"");
}

void sb_clear(sbuf *b)
{
    b->n = 0;
    if (b->s) b->s[0] = 0;
}

char *sb_take(sbuf *b)
{
    char *s = b->oom ? NULL : b->s ? b->s : es_strdup("");
    if (b->oom) free(b->s);
    memset(b, 0, sizeof *b);
    return s;
}

void sb_free(sbuf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}
