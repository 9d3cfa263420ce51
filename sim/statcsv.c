/* statcsv.c - see statcsv.h. */
#include "statcsv.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void statcsv_free(statcsv *s)
{
    csv_free(&s->doc);
    free(s->r);
    memset(s, 0, sizeof *s);
}

static int stat_name_ok(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.') return 0;
    return 1;
}

int statcsv_load(const char *path, statcsv *s, es_err *err)
{
    memset(s, 0, sizeof *s);
    ES_TRY(csv_load(path, 0, &s->doc, err));
    const csv_doc *d = &s->doc;
    int rc = ES_OK;
    if (!d->n) {
        rc = es_fail(err, ES_EFORMAT, "%s: empty file, not a stats.csv of essim", path);
        goto fail;
    }
    const csv_row *h = &d->rows[0];
    if (h->n != 4 || strcmp(h->f[0], "name") || strcmp(h->f[1], "element") ||
        strcmp(h->f[2], "value") || strcmp(h->f[3], "unit")) {
        rc = es_fail(err, ES_EFORMAT,
                     "%s:%d: header is not 'name,element,value,unit': not a stats.csv of essim",
                     path, h->line);
        goto fail;
    }
    s->r = calloc(d->n, sizeof *s->r);
    if (!s->r) {
        rc = es_fail(err, ES_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 1; i < d->n; i++) {
        const csv_row *row = &d->rows[i];
        if (row->n != 4) {
            rc = es_fail(err, ES_EFORMAT, "%s:%d: %zu fields, want 4 (name,element,value,unit)",
                         path, row->line, row->n);
            goto fail;
        }
        if (!stat_name_ok(row->f[0])) {
            rc = es_fail(err, ES_EFORMAT, "%s:%d: '%.60s' is not a statistic name", path, row->line,
                         row->f[0]);
            goto fail;
        }
        statcsv_row *r = &s->r[s->n++];
        r->name = row->f[0];
        r->elem = row->f[1];
        r->val = row->f[2];
        r->unit = row->f[3];
        r->is_str = row->quoted[2];
        r->num = NAN;
        if (!r->is_str && !csv_parse_num(r->val, &r->num)) {
            rc = es_fail(err, ES_EFORMAT, "%s:%d: value '%.60s' of %s is not a number", path,
                         row->line, r->val, r->name);
            goto fail;
        }
    }
    return ES_OK;
fail:
    statcsv_free(s);
    return rc;
}

const statcsv_row *statcsv_get(const statcsv *s, const char *name, const char *elem)
{
    if (!s) return NULL;
    if (!elem) elem = "";
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->r[i].name, name) && !strcmp(s->r[i].elem, elem)) return &s->r[i];
    return NULL;
}

/* A scalar, or a vector's total; NaN when absent. */
double statcsv_num(const statcsv *s, const char *name)
{
    const statcsv_row *r = statcsv_get(s, name, NULL);
    if (!r) r = statcsv_get(s, name, "total");
    return r && !r->is_str ? r->num : NAN;
}

double statcsv_el(const statcsv *s, const char *name, const char *elem)
{
    const statcsv_row *r = statcsv_get(s, name, elem);
    return r && !r->is_str ? r->num : NAN;
}

const char *statcsv_str(const statcsv *s, const char *name)
{
    const statcsv_row *r = statcsv_get(s, name, NULL);
    return r ? r->val : NULL;
}

/* Rows of vector `name` other than its total, in file order: returns how many, *first the
 * index of the first (they are consecutive in stats.csv). */
size_t statcsv_elems(const statcsv *s, const char *name, size_t *first)
{
    size_t n = 0;
    for (size_t i = 0; s && i < s->n; i++) {
        if (strcmp(s->r[i].name, name) || !s->r[i].elem[0] || !strcmp(s->r[i].elem, "total"))
            continue;
        if (!n) *first = i;
        n++;
    }
    return n;
}

/* The value text of (the first nlen bytes of name, elem). */
static const char *find_n(const statcsv *s, const char *name, size_t nlen, const char *elem)
{
    for (size_t i = 0; s && i < s->n; i++) {
        const statcsv_row *r = &s->r[i];
        if (strlen(r->name) == nlen && !strncmp(r->name, name, nlen) && !strcmp(r->elem, elem))
            return r->val;
    }
    return NULL;
}

const char *statcsv_metric(const statcsv *s, const char *m)
{
    const char *sep = strstr(m, "::"), *v;
    if (sep) return find_n(s, m, (size_t)(sep - m), sep + 2);
    size_t l = strlen(m);
    if ((v = find_n(s, m, l, ""))) return v;
    if ((v = find_n(s, m, l, "total"))) return v;
    const char *dot = strrchr(m, '.');
    if (dot) return find_n(s, m, (size_t)(dot - m), dot + 1);
    return NULL;
}
