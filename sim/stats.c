/* stats.c - the statistics registry: entries kept sorted by name, registering, looking up and
 * updating them. Formulas are compiled and evaluated in stats_formula.c, and stats.txt /
 * stats.json / stats.csv written by stats_write.c. Models register and update entries while
 * they run; the command layer dumps them at the end. See stats.h. */
#define _POSIX_C_SOURCE 200809L
#include "stats_internal.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- data ------------------------------------------------------------------------------ */

static const char empty_str[] = "";

/* ---- names ----------------------------------------------------------------------------- */

int stat_is_word_(int c)
{
    /* ASCII only, independent of the locale. */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int stat_is_alpha_(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

int stat_check_name_(const char *name, es_err *err)
{
    if (!name || !*name) return es_fail(err, ES_EINVAL, "stat name is empty");
    size_t len = strlen(name);
    if (len > STAT_NAME_MAX)
        return es_fail(err, ES_EINVAL, "stat name '%.40s...' is longer than %d bytes", name,
                       STAT_NAME_MAX);
    if (!stat_is_alpha_((unsigned char)name[0]))
        return es_fail(err, ES_EINVAL, "stat name '%s' must start with a letter or '_'", name);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '.') {
            if (name[i + 1] == '.' || name[i + 1] == '\0')
                return es_fail(err, ES_EINVAL, "stat name '%s' has an empty component", name);
        } else if (!stat_is_word_(c)) {
            if (c < 0x20 || c >= 0x7f)
                return es_fail(err, ES_EINVAL, "stat name '%s' has invalid byte 0x%02x", name, c);
            return es_fail(err, ES_EINVAL,
                           "stat name '%s' has invalid character '%c' (use [A-Za-z0-9_] and dots)",
                           name, c);
        }
    }
    if (strcmp(name, "meta") == 0 || strncmp(name, "meta.", 5) == 0)
        return es_fail(err, ES_EINVAL,
                       "stat name '%s' is reserved ('meta' holds the run metadata in stats.json)",
                       name);
    return ES_OK;
}

/* Unit and description each end up on one line of stats.txt. */
static int check_text(const char *name, const char *what, const char *s, es_err *err)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return es_fail(err, ES_EINVAL, "stat '%s': %s contains a control character", name,
                           what);
    return ES_OK;
}

static int check_elem(const char *vname, const char *elem, es_err *err)
{
    if (!elem || !*elem)
        return es_fail(err, ES_EINVAL, "vector '%s': element name is empty", vname);
    if (strlen(elem) > STAT_ELEM_MAX)
        return es_fail(err, ES_EINVAL, "vector '%s': element name '%.20s...' is longer than %d",
                       vname, elem, STAT_ELEM_MAX);
    /* Element names are layer names too ("layers.0.conv1"), so dots and dashes are allowed;
     * they never nest (an element is one JSON key) and "::" still splits a reference. */
    for (const char *p = elem; *p; p++)
        if (!stat_is_word_((unsigned char)*p) && *p != '.' && *p != '-')
            return es_fail(err, ES_EINVAL,
                           "vector '%s': element name '%s' must use only [A-Za-z0-9_.-]", vname,
                           elem);
    if (strcmp(elem, "total") == 0)
        return es_fail(err, ES_EINVAL, "vector '%s': element name 'total' is reserved for the sum",
                       vname);
    return ES_OK;
}

/* Compare a NUL-terminated name with the first klen bytes of key, as strcmp would compare
 * name with that prefix on its own. */
static int cmp_n(const char *name, const char *key, size_t klen)
{
    int c = strncmp(name, key, klen);
    if (c) return c;
    return name[klen] != '\0';
}

/* Index of the first entry whose name is >= key[0..klen). */
static size_t lower_bound(const stat_registry *r, const char *key, size_t klen)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_n(r->v[mid]->name, key, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

stat_entry *stat_find_n_(const stat_registry *r, const char *key, size_t klen)
{
    size_t i = lower_bound(r, key, klen);
    if (i < r->n && cmp_n(r->v[i]->name, key, klen) == 0) return r->v[i];
    return NULL;
}

/* ---- registry ----------------------------------------------------------------------- */

int stat_registry_create(stat_registry **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? ES_OK : ES_ENOMEM;
}

void stat_entry_free_(stat_entry *e)
{
    if (!e) return;
    switch (e->kind) {
    case STAT_SCALAR: break;
    case STAT_STRING: free(e->u.str); break;
    case STAT_VECTOR:
        free(e->u.vec.v);
        if (e->u.vec.names)
            for (size_t i = 0; i < e->u.vec.n; i++)
                free(e->u.vec.names[i]);
        free(e->u.vec.names);
        break;
    case STAT_HISTOGRAM: free(e->u.hist.bins); break;
    case STAT_FORMULA:
        free(e->u.formula.expr);
        for (size_t i = 0; i < e->u.formula.nops; i++)
            free(e->u.formula.ops[i].ref);
        free(e->u.formula.ops);
        break;
    }
    free(e->name);
    free(e->unit);
    free(e->desc);
    free(e);
}

void stat_registry_destroy(stat_registry *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++)
        stat_entry_free_(r->v[i]);
    free(r->v);
    free(r);
}

/* Validate a new entry's name and texts against the registry and allocate its common
 * part; *pos receives where it will be inserted. The kind-specific part is filled by the
 * caller, which then calls stat_entry_insert_ (nothing else may register in between). */
stat_entry *stat_entry_new_(stat_registry *r, stat_kind kind, const char *name, const char *unit,
                            const char *desc, size_t *pos, es_err *err)
{
    assert(r);
    if (!unit) unit = "";
    if (!desc) desc = "";
    if (stat_check_name_(name, err) < 0) return NULL;
    if (check_text(name, "unit", unit, err) < 0 || check_text(name, "description", desc, err) < 0)
        return NULL;
    size_t len = strlen(name);
    size_t i = lower_bound(r, name, len);
    if (i < r->n && strcmp(r->v[i]->name, name) == 0) {
        es_fail(err, ES_EINVAL, "stat '%s' is already registered", name);
        return NULL;
    }
    /* A longer name under this one sorts right after it (see struct stat_registry). */
    if (i < r->n && strncmp(r->v[i]->name, name, len) == 0 && r->v[i]->name[len] == '.') {
        es_fail(err, ES_EINVAL,
                "stat '%s' conflicts with '%s': one name may not be a dotted prefix of another "
                "(stats.json nests by dots)",
                name, r->v[i]->name);
        return NULL;
    }
    for (size_t k = 0; k < len; k++) {
        if (name[k] != '.') continue;
        const stat_entry *p = stat_find_n_(r, name, k);
        if (p) {
            es_fail(err, ES_EINVAL,
                    "stat '%s' conflicts with '%s': one name may not be a dotted prefix of "
                    "another (stats.json nests by dots)",
                    name, p->name);
            return NULL;
        }
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        stat_entry **v = realloc(r->v, cap * sizeof *v);
        if (!v) goto nomem;
        r->v = v;
        r->cap = cap;
    }
    stat_entry *e = calloc(1, sizeof *e);
    if (!e) goto nomem;
    e->kind = kind;
    e->name = es_strdup(name);
    e->unit = es_strdup(unit);
    e->desc = es_strdup(desc);
    if (!e->name || !e->unit || !e->desc) {
        free(e->name);
        free(e->unit);
        free(e->desc);
        free(e);
        goto nomem;
    }
    *pos = i;
    return e;
nomem:
    es_fail(err, ES_ENOMEM, "out of memory registering stat '%s'", name);
    return NULL;
}

stat_entry *stat_entry_insert_(stat_registry *r, stat_entry *e, size_t pos)
{
    assert(r->n < r->cap && pos <= r->n);
    memmove(r->v + pos + 1, r->v + pos, (r->n - pos) * sizeof *r->v);
    r->v[pos] = e;
    r->n++;
    return e;
}

stat_entry *stat_register_scalar(stat_registry *r, const char *name, const char *unit,
                                 const char *desc, es_err *err)
{
    size_t pos;
    stat_entry *e = stat_entry_new_(r, STAT_SCALAR, name, unit, desc, &pos, err);
    if (!e) return NULL;
    e->u.scalar = 0.0;
    return stat_entry_insert_(r, e, pos);
}

stat_entry *stat_register_string(stat_registry *r, const char *name, const char *unit,
                                 const char *desc, es_err *err)
{
    size_t pos;
    stat_entry *e = stat_entry_new_(r, STAT_STRING, name, unit, desc, &pos, err);
    if (!e) return NULL;
    e->u.str = NULL; /* read as "" */
    return stat_entry_insert_(r, e, pos);
}

stat_entry *stat_register_vector(stat_registry *r, const char *name, const char *unit,
                                 const char *desc, size_t n, const char *const *elem_names,
                                 es_err *err)
{
    if (n == 0) {
        es_fail(err, ES_EINVAL, "vector '%s' must have at least one element", name ? name : "");
        return NULL;
    }
    if (elem_names) {
        for (size_t i = 0; i < n; i++) {
            if (check_elem(name ? name : "", elem_names[i], err) < 0) return NULL;
            /* Quadratic, but vectors are short and this runs once at build time. */
            for (size_t j = 0; j < i; j++)
                if (strcmp(elem_names[i], elem_names[j]) == 0) {
                    es_fail(err, ES_EINVAL, "vector '%s': element name '%s' appears twice",
                            name ? name : "", elem_names[i]);
                    return NULL;
                }
        }
    }
    size_t pos;
    stat_entry *e = stat_entry_new_(r, STAT_VECTOR, name, unit, desc, &pos, err);
    if (!e) return NULL;
    e->u.vec.n = n;
    e->u.vec.v = calloc(n, sizeof *e->u.vec.v);
    if (!e->u.vec.v) goto nomem;
    if (elem_names) {
        e->u.vec.names = calloc(n, sizeof *e->u.vec.names);
        if (!e->u.vec.names) goto nomem;
        for (size_t i = 0; i < n; i++)
            if (!(e->u.vec.names[i] = es_strdup(elem_names[i]))) goto nomem;
    }
    return stat_entry_insert_(r, e, pos);
nomem:
    stat_entry_free_(e);
    es_fail(err, ES_ENOMEM, "out of memory registering stat '%s'", name);
    return NULL;
}

stat_entry *stat_register_histogram(stat_registry *r, const char *name, const char *unit,
                                    const char *desc, double lo, double hi, size_t nbins,
                                    es_err *err)
{
    const char *nm = name ? name : "";
    if (!isfinite(lo) || !isfinite(hi) || !(lo < hi) || !isfinite(hi - lo)) {
        es_fail(err, ES_EINVAL, "histogram '%s': range [%g, %g) must be finite with lo < hi", nm,
                lo, hi);
        return NULL;
    }
    if (nbins < 1 || nbins > ((size_t)1 << 20)) {
        es_fail(err, ES_EINVAL, "histogram '%s': %zu buckets (must be 1 .. %zu)", nm, nbins,
                (size_t)1 << 20);
        return NULL;
    }
    size_t pos;
    stat_entry *e = stat_entry_new_(r, STAT_HISTOGRAM, name, unit, desc, &pos, err);
    if (!e) return NULL;
    e->u.hist.lo = lo;
    e->u.hist.hi = hi;
    e->u.hist.nbins = nbins;
    e->u.hist.bins = calloc(nbins, sizeof *e->u.hist.bins);
    if (!e->u.hist.bins) {
        stat_entry_free_(e);
        es_fail(err, ES_ENOMEM, "out of memory registering stat '%s'", name);
        return NULL;
    }
    return stat_entry_insert_(r, e, pos);
}

/* ---- lookup and evaluation ------------------------------------------------------------- */

stat_entry *stat_find(const stat_registry *r, const char *name)
{
    return name ? stat_find_n_(r, name, strlen(name)) : NULL;
}

stat_kind stat_kind_of(const stat_entry *e)
{
    return e->kind;
}

const char *stat_name(const stat_entry *e)
{
    return e->name;
}

const char *stat_unit(const stat_entry *e)
{
    return e->unit;
}

const char *stat_desc(const stat_entry *e)
{
    return e->desc;
}

/* Formulas may refer to formulas; the chain of formulas being evaluated is kept so that
 * a cycle is reported (with its path) instead of recursing forever, and its length is
 * capped so a long legitimate chain cannot exhaust the C stack. */

static double hist_stdev(const stat_entry *e)
{
    if (!(e->u.hist.w > 0)) return NAN;
    double var = e->u.hist.m2 / e->u.hist.w;
    return var > 0 ? sqrt(var) : 0.0;
}

const char *const stat_hist_fields_[STAT_HIST_NFIELDS] = {"samples", "mean",      "stdev",   "min",
                                                          "max",     "underflow", "overflow"};

double stat_hist_field_(const stat_entry *e, size_t k)
{
    int empty = !(e->u.hist.w > 0);
    switch (k) {
    case 0: return e->u.hist.w;
    case 1: return empty ? NAN : e->u.hist.mean;
    case 2: return hist_stdev(e);
    case 3: return empty ? NAN : e->u.hist.min;
    case 4: return empty ? NAN : e->u.hist.max;
    case 5: return e->u.hist.under;
    default: return e->u.hist.over;
    }
}

/* ---- updating ------------------------------------------------------------------------ */

void stat_set(stat_entry *e, double v)
{
    assert(e && e->kind == STAT_SCALAR);
    if (e->kind == STAT_SCALAR) e->u.scalar = v;
}

void stat_add(stat_entry *e, double dv)
{
    assert(e && e->kind == STAT_SCALAR);
    if (e->kind == STAT_SCALAR) e->u.scalar += dv;
}

double stat_get(const stat_entry *e)
{
    assert(e && e->kind == STAT_SCALAR);
    return e->kind == STAT_SCALAR ? e->u.scalar : NAN;
}

int stat_set_string(stat_entry *e, const char *s)
{
    assert(e && e->kind == STAT_STRING);
    if (e->kind != STAT_STRING) return ES_EINVAL;
    char *c = es_strdup(s ? s : "");
    if (!c) return ES_ENOMEM;
    free(e->u.str);
    e->u.str = c;
    return ES_OK;
}

const char *stat_get_string(const stat_entry *e)
{
    assert(e && e->kind == STAT_STRING);
    return e->kind == STAT_STRING && e->u.str ? e->u.str : empty_str;
}

void stat_vec_set(stat_entry *e, size_t i, double v)
{
    assert(e && e->kind == STAT_VECTOR && i < e->u.vec.n);
    if (e->kind == STAT_VECTOR && i < e->u.vec.n) e->u.vec.v[i] = v;
}

void stat_vec_add(stat_entry *e, size_t i, double dv)
{
    assert(e && e->kind == STAT_VECTOR && i < e->u.vec.n);
    if (e->kind == STAT_VECTOR && i < e->u.vec.n) e->u.vec.v[i] += dv;
}

double stat_vec_get(const stat_entry *e, size_t i)
{
    assert(e && e->kind == STAT_VECTOR && i < e->u.vec.n);
    return e->kind == STAT_VECTOR && i < e->u.vec.n ? e->u.vec.v[i] : NAN;
}

size_t stat_vec_len(const stat_entry *e)
{
    assert(e && e->kind == STAT_VECTOR);
    return e->kind == STAT_VECTOR ? e->u.vec.n : 0;
}

double stat_vec_total(const stat_entry *e)
{
    assert(e && e->kind == STAT_VECTOR);
    if (e->kind != STAT_VECTOR) return NAN;
    double t = 0.0;
    for (size_t i = 0; i < e->u.vec.n; i++)
        t += e->u.vec.v[i];
    return t;
}

/* Lower edge of bucket i (i == nbins gives hi). Bucketing and the bucket labels both use
 * this, so a sample exactly on a printed edge lands in the bucket that edge opens. */
double stat_hist_edge_(const stat_entry *e, size_t i)
{
    if (i >= e->u.hist.nbins) return e->u.hist.hi;
    return e->u.hist.lo + (e->u.hist.hi - e->u.hist.lo) * (double)i / (double)e->u.hist.nbins;
}

int stat_hist_sample(stat_entry *e, double x, double w)
{
    assert(e && e->kind == STAT_HISTOGRAM);
    if (e->kind != STAT_HISTOGRAM) return ES_EINVAL;
    if (!isfinite(x) || !isfinite(w) || !(w > 0)) return ES_EINVAL;
    if (x < e->u.hist.lo) {
        e->u.hist.under += w;
    } else if (x >= e->u.hist.hi) {
        e->u.hist.over += w;
    } else {
        size_t nb = e->u.hist.nbins;
        double f = (x - e->u.hist.lo) / (e->u.hist.hi - e->u.hist.lo) * (double)nb;
        size_t i = f < (double)nb ? (size_t)f : nb - 1;
        /* The division can round across an edge; settle on the bucket whose edges, as
         * computed by stat_hist_edge_, hold x. */
        while (i > 0 && x < stat_hist_edge_(e, i))
            i--;
        while (i + 1 < nb && x >= stat_hist_edge_(e, i + 1))
            i++;
        e->u.hist.bins[i] += w;
    }
    /* Weighted incremental mean and second moment (West 1979): stable where the textbook
     * sum-of-squares formula cancels catastrophically for large, tightly spread samples. */
    if (e->u.hist.w == 0) {
        e->u.hist.min = e->u.hist.max = x;
    } else {
        if (x < e->u.hist.min) e->u.hist.min = x;
        if (x > e->u.hist.max) e->u.hist.max = x;
    }
    double wsum = e->u.hist.w + w;
    double delta = x - e->u.hist.mean;
    e->u.hist.mean += delta * (w / wsum);
    e->u.hist.m2 += w * delta * (x - e->u.hist.mean);
    e->u.hist.w = wsum;
    return ES_OK;
}

void stat_hist_get(const stat_entry *e, stat_hist_info *out)
{
    assert(e && e->kind == STAT_HISTOGRAM);
    memset(out, 0, sizeof *out);
    if (e->kind != STAT_HISTOGRAM) return;
    out->samples = stat_hist_field_(e, 0);
    out->mean = stat_hist_field_(e, 1);
    out->stdev = stat_hist_field_(e, 2);
    out->min = stat_hist_field_(e, 3);
    out->max = stat_hist_field_(e, 4);
    out->underflow = stat_hist_field_(e, 5);
    out->overflow = stat_hist_field_(e, 6);
    out->lo = e->u.hist.lo;
    out->hi = e->u.hist.hi;
    out->nbins = e->u.hist.nbins;
}

double stat_hist_bucket(const stat_entry *e, size_t i)
{
    assert(e && e->kind == STAT_HISTOGRAM && i < e->u.hist.nbins);
    return e->kind == STAT_HISTOGRAM && i < e->u.hist.nbins ? e->u.hist.bins[i] : NAN;
}

void stat_reset(stat_registry *r)
{
    for (size_t k = 0; k < r->n; k++) {
        stat_entry *e = r->v[k];
        switch (e->kind) {
        case STAT_SCALAR: e->u.scalar = 0.0; break;
        case STAT_VECTOR: memset(e->u.vec.v, 0, e->u.vec.n * sizeof *e->u.vec.v); break;
        case STAT_HISTOGRAM:
            memset(e->u.hist.bins, 0, e->u.hist.nbins * sizeof *e->u.hist.bins);
            e->u.hist.under = e->u.hist.over = 0.0;
            e->u.hist.w = e->u.hist.mean = e->u.hist.m2 = 0.0;
            e->u.hist.min = e->u.hist.max = 0.0;
            break;
        case STAT_STRING:
        case STAT_FORMULA: break;
        }
    }
}
