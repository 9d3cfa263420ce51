/* csv.c - see csv.h. */
#include "csv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

int csv_parse_num(const char *s, double *v)
{
    if (!s || !*s) return 0;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end) return 0;
    *v = x;
    return 1;
}

void csv_free(csv_doc *d)
{
    for (size_t r = 0; r < d->n; r++) {
        for (size_t i = 0; i < d->rows[r].n; i++)
            free(d->rows[r].f[i]);
        free(d->rows[r].f);
        free(d->rows[r].quoted);
    }
    free(d->rows);
    memset(d, 0, sizeof *d);
}

static int csv_add_field(csv_row *row, size_t *cap, const char *p, size_t n, int quoted)
{
    if (row->n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        char **f = realloc(row->f, c * sizeof *f);
        if (!f) return ES_ENOMEM;
        row->f = f;
        unsigned char *q = realloc(row->quoted, c);
        if (!q) return ES_ENOMEM;
        row->quoted = q;
        *cap = c;
    }
    char *s = malloc(n + 1);
    if (!s) return ES_ENOMEM;
    memcpy(s, p, n);
    s[n] = 0;
    row->f[row->n] = s;
    row->quoted[row->n] = (unsigned char)quoted;
    row->n++;
    return ES_OK;
}

/* Parse text (len bytes) into rows of fields. Blank lines are skipped, and lines starting
 * with '#' too when skip_comments. Errors name path and line. */
int csv_parse(const char *path, const char *text, size_t len, int skip_comments, csv_doc *d,
              es_err *err)
{
    memset(d, 0, sizeof *d);
    if (memchr(text, 0, len))
        return es_fail(err, ES_EFORMAT, "%s: binary data (a NUL byte), not a CSV file", path);
    size_t i = 0;
    int line = 1;
    sbuf fld = {0};
    while (i < len) {
        if (text[i] == '\n' || (text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')) {
            i += text[i] == '\r' ? 2 : 1;
            line++;
            continue;
        }
        if (skip_comments && text[i] == '#') {
            while (i < len && text[i] != '\n')
                i++;
            continue;
        }
        if (d->n == d->cap) {
            size_t c = d->cap ? d->cap * 2 : 64;
            csv_row *r = realloc(d->rows, c * sizeof *r);
            if (!r) goto oom;
            d->rows = r;
            d->cap = c;
        }
        csv_row *row = &d->rows[d->n++];
        memset(row, 0, sizeof *row);
        row->line = line;
        size_t fcap = 0;
        for (;;) { /* one field per iteration */
            int quoted = 0;
            fld.n = 0;
            if (fld.s) fld.s[0] = 0;
            if (i < len && text[i] == '"') {
                quoted = 1;
                i++;
                for (;;) {
                    if (i >= len) {
                        free(fld.s);
                        return es_fail(err, ES_EFORMAT, "%s:%d: unterminated quoted field", path,
                                       row->line);
                    }
                    if (text[i] == '"') {
                        if (i + 1 < len && text[i + 1] == '"') {
                            sb_putn(&fld, "\"", 1);
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    if (text[i] == '\n') line++;
                    sb_putn(&fld, text + i, 1);
                    i++;
                }
                if (i < len && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
                    free(fld.s);
                    return es_fail(err, ES_EFORMAT, "%s:%d: text after a closing quote", path,
                                   line);
                }
            } else {
                size_t j = i;
                while (j < len && text[j] != ',' && text[j] != '\n' && text[j] != '\r')
                    j++;
                sb_putn(&fld, text + i, j - i);
                i = j;
            }
            if (fld.oom || csv_add_field(row, &fcap, fld.s ? fld.s : "", fld.n, quoted) < 0)
                goto oom;
            if (i < len && text[i] == ',') {
                i++;
                continue;
            }
            if (i < len && text[i] == '\r') i++;
            break; /* end of line (consumed by the outer loop) or of text */
        }
    }
    free(fld.s);
    return ES_OK;
oom:
    free(fld.s);
    return es_fail(err, ES_ENOMEM, "out of memory reading %s", path);
}

int csv_load(const char *path, int skip_comments, csv_doc *d, es_err *err)
{
    char *text;
    size_t len;
    memset(d, 0, sizeof *d);
    ES_TRY(es_read_file(path, &text, &len, err));
    int rc = csv_parse(path, text, len, skip_comments, d, err);
    free(text);
    if (rc < 0) csv_free(d);
    return rc;
}

/* Column of `name` in the header row, or -1. */
int csv_col(const csv_doc *d, const char *name)
{
    if (!d->n) return -1;
    for (size_t i = 0; i < d->rows[0].n; i++)
        if (!strcmp(d->rows[0].f[i], name)) return (int)i;
    return -1;
}

const char *csv_get(const csv_doc *d, size_t r, int c)
{
    if (c < 0 || r >= d->n || (size_t)c >= d->rows[r].n) return "";
    return d->rows[r].f[c];
}

double csv_num(const csv_doc *d, size_t r, int c)
{
    double v;
    return csv_parse_num(csv_get(d, r, c), &v) ? v : NAN;
}
