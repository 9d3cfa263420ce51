/* sbuf.h - a growable string: append bytes, text, printf output or a JSON string; an
 * allocation failure is remembered (oom) and later appends do nothing, so a writer checks
 * once at the end. Used by the sweep, the report and the CSV reader. */
#ifndef ES_SBUF_H
#define ES_SBUF_H

#include <stddef.h>

typedef struct sbuf {
    char *s;       /* NUL-terminated text, NULL while empty */
    size_t n, cap; /* length and allocated bytes */
    int oom;       /* an append failed: the text is incomplete */
} sbuf;            /* zero-initialise: sbuf b = {0}; */

void sb_putn(sbuf *b, const char *p, size_t n);
void sb_puts(sbuf *b, const char *s);
void sb_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* s as a double-quoted JSON string (also a valid YAML double-quoted scalar). */
void sb_json_str(sbuf *b, const char *s);
/* Empty the text, keep the allocation. */
void sb_clear(sbuf *b);
/* The text, owned by the caller ("" when nothing was appended), or NULL after an allocation
 * failure; b is left empty either way. */
char *sb_take(sbuf *b);
void sb_free(sbuf *b);

#endif
