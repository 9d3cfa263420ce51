/* sweep_load.c - reading a sweep file: the base configuration, axes (lists, ranges, zips),
 * random points, metrics and objectives, each error at file:line:column. */
#include "config.h"

#include "sweep_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rng.h"
#include "trace.h"

/* ---- parsing helpers -------------------------------------------------------------------- */

static int fail_node(es_err *err, const cfg_node *n, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int fail_node(es_err *err, const cfg_node *n, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return es_fail_at(err, ES_ECONFIG, n->file, n->line, n->col, "%s", msg);
}

/* Position of the key of map entry `key` (better than the value for "unknown key"). */
static const cfg_node *key_node(const cfg_node *map, const char *key)
{
    for (size_t i = 0; i < map->n; i++)
        if (!strcmp(map->keys[i], key)) return map->key_nodes[i];
    return map;
}

static int need_scalar(const cfg_node *n, const char *what, es_err *err)
{
    if (n->kind != CFG_SCALAR) return fail_node(err, n, "%s must be a single value", what);
    return ES_OK;
}

static int parse_bool(const cfg_node *n, const char *what, int *out, es_err *err)
{
    ES_TRY(need_scalar(n, what, err));
    const char *t = n->text;
    if (!strcmp(t, "true") || !strcmp(t, "yes") || !strcmp(t, "on"))
        *out = 1;
    else if (!strcmp(t, "false") || !strcmp(t, "no") || !strcmp(t, "off"))
        *out = 0;
    else
        return fail_node(err, n, "%s must be true or false, not '%s'", what, t);
    return ES_OK;
}

static int parse_int(const cfg_node *n, const char *what, int64_t lo, int64_t hi, int64_t *out,
                     es_err *err)
{
    ES_TRY(need_scalar(n, what, err));
    char *end;
    errno = 0;
    long long v = strtoll(n->text, &end, 10);
    if (!n->text[0] || *end || errno)
        return fail_node(err, n, "%s must be an integer, not '%s'", what, n->text);
    if (v < lo || v > hi)
        return fail_node(err, n, "%s = %lld is out of range [%lld, %lld]", what, v, (long long)lo,
                         (long long)hi);
    *out = v;
    return ES_OK;
}

/* A number for key `key`: a quantity with a unit for CFG_T_QTY keys, else a plain number. */
static int parse_number(const cfg_node *n, const cfg_key *key, const char *what, double *out,
                        es_err *err)
{
    ES_TRY(need_scalar(n, what, err));
    if (key && key->type == CFG_T_QTY) {
        es_err e2;
        es_err_clear(&e2);
        if (cfg_parse_quantity(n->text, key->dim, out, &e2) < 0)
            return fail_node(err, n, "%s: %s", what, e2.msg);
        return ES_OK;
    }
    char *end;
    errno = 0;
    double v = strtod(n->text, &end);
    if (!n->text[0] || *end || errno || !isfinite(v))
        return fail_node(err, n, "%s must be a number, not '%s'", what, n->text);
    *out = v;
    return ES_OK;
}

/* Write a node as one-line YAML flow text (what cfg_doc_set parses back). */
static int plain_safe(const char *t)
{
    if (!*t) return 0;
    if (strchr("-?:,[]{}#&*!|>'\"%@`", t[0]) || isspace((unsigned char)t[0])) {
        /* a leading '-' is fine for numbers */
        if (!(t[0] == '-' && t[1] && (isdigit((unsigned char)t[1]) || t[1] == '.'))) return 0;
    }
    for (const char *c = t; *c; c++)
        if (strchr(",[]{}#\n\t", *c) || (*c == ':' && (c[1] == ' ' || !c[1]))) return 0;
    size_t l = strlen(t);
    return !isspace((unsigned char)t[l - 1]);
}

void sw_flow_text(sbuf *b, const cfg_node *n)
{
    if (n->kind == CFG_SCALAR) {
        if (n->quoted || !plain_safe(n->text))
            sb_json_str(b, n->text);
        else
            sb_puts(b, n->text);
    } else if (n->kind == CFG_SEQ) {
        sb_puts(b, "[");
        for (size_t i = 0; i < n->n; i++) {
            if (i) sb_puts(b, ", ");
            sw_flow_text(b, n->items[i]);
        }
        sb_puts(b, "]");
    } else {
        sb_puts(b, "{");
        for (size_t i = 0; i < n->n; i++) {
            if (i) sb_puts(b, ", ");
            if (plain_safe(n->keys[i]))
                sb_puts(b, n->keys[i]);
            else
                sb_json_str(b, n->keys[i]);
            sb_puts(b, ": ");
            sw_flow_text(b, n->items[i]);
        }
        sb_puts(b, "}");
    }
}

/* Value as shown in results: a scalar's text, anything else as flow text. */
static char *show_text(const cfg_node *n)
{
    if (n->kind == CFG_SCALAR) return es_strdup(n->text);
    sbuf b = {0};
    sw_flow_text(&b, n);
    return sb_take(&b);
}

static char *set_text(const cfg_node *n)
{
    sbuf b = {0};
    sw_flow_text(&b, n);
    return sb_take(&b);
}

/* A configuration key a sweep may set: a schema key, or an entry of a name->real map key
 * (policy.layers.conv1). */
static const cfg_key *sweep_key(const char *path)
{
    const cfg_key *k = cfg_schema_find(path);
    if (k) return k;
    const char *dot = strrchr(path, '.');
    if (!dot || !dot[1]) return NULL;
    char parent[256];
    if ((size_t)(dot - path) >= sizeof parent) return NULL;
    memcpy(parent, path, (size_t)(dot - path));
    parent[dot - path] = '\0';
    k = cfg_schema_find(parent);
    return k && k->type == CFG_T_REAL_MAP ? k : NULL;
}

static void format_value(double v, const cfg_key *key, int integer, char *buf, size_t len)
{
    if (integer)
        sw_fmt(buf, len, "%lld", (long long)llround(v));
    else if (key && key->type == CFG_T_QTY)
        cfg_format_quantity(v, key->dim, buf, len);
    else
        sw_fmt(buf, len, "%.12g", v);
}

size_t sw_max_points(void)
{
    uint64_t m = es_limit(ES_LIMIT_SWEEP_POINTS, 1000000);
    return (size_t)(m < 1 ? 1 : m > SW_MAX_POINTS ? SW_MAX_POINTS : m);
}

static int too_many(es_err *err, const char *what, double n)
{
    return es_fail(err, ES_ECONFIG,
                   "%s has %.0f values, more than the limit of %zu points (set %s to raise it, "
                   "up to %u)",
                   what, n, sw_max_points(), ES_LIMIT_SWEEP_POINTS, SW_MAX_POINTS);
}

int sw_range_expand(double from, double to, double step, int64_t count, int logscale, int integer,
                    double **vals, size_t *n, es_err *err)
{
    *vals = NULL;
    *n = 0;
    size_t cnt;
    if (!isfinite(from) || !isfinite(to))
        return es_fail(err, ES_ECONFIG, "range bounds must be finite");
    if (step != 0) {
        if (logscale)
            return es_fail(err, ES_ECONFIG, "a logarithmic range needs 'count', not 'step'");
        double span = (to - from) / step;
        if (span < -1e-9)
            return es_fail(err, ES_ECONFIG, "step %g never reaches 'to' from 'from'", step);
        if (span + 1 > (double)sw_max_points()) return too_many(err, "the range", floor(span) + 1);
        cnt = (size_t)floor(span + 1e-9) + 1;
    } else {
        if (count < 1) return es_fail(err, ES_ECONFIG, "a range needs 'step' or 'count' >= 1");
        if (count > (int64_t)sw_max_points()) return too_many(err, "the range", (double)count);
        if (logscale && (from <= 0 || to <= 0))
            return es_fail(err, ES_ECONFIG, "a logarithmic range needs positive 'from' and 'to'");
        cnt = (size_t)count;
    }
    double *v = malloc(cnt * sizeof *v);
    if (!v) return es_fail(err, ES_ENOMEM, "out of memory");
    size_t m = 0;
    for (size_t k = 0; k < cnt; k++) {
        double x;
        if (step != 0)
            x = from + (double)k * step;
        else if (cnt == 1)
            x = from;
        else if (k == cnt - 1)
            x = to;
        else if (logscale)
            x = exp(log(from) + (log(to) - log(from)) * (double)k / (double)(cnt - 1));
        else
            x = from + (to - from) * (double)k / (double)(cnt - 1);
        if (integer) x = (double)llround(x);
        if (integer && m > 0 && v[m - 1] == x) continue;
        v[m++] = x;
    }
    *vals = v;
    *n = m;
    return ES_OK;
}

/* ---- loading ------------------------------------------------------------------------------ */

static int add_column(sw_sweep *sw, const char *key, const cfg_node *where, int dim, size_t n,
                      sw_column **out, es_err *err)
{
    for (size_t k = 0; k < sw->ncols; k++)
        if (!strcmp(sw->cols[k].key, key)) return fail_node(err, where, "'%s' is swept twice", key);
    sw_column *nc = realloc(sw->cols, (sw->ncols + 1) * sizeof *nc);
    if (!nc) return es_fail(err, ES_ENOMEM, "out of memory");
    sw->cols = nc;
    sw_column *c = &sw->cols[sw->ncols];
    memset(c, 0, sizeof *c);
    c->key = es_strdup(key);
    c->dim = dim;
    c->set = calloc(n ? n : 1, sizeof *c->set);
    c->show = calloc(n ? n : 1, sizeof *c->show);
    c->origin = calloc(n ? n : 1, sizeof *c->origin);
    sw->ncols++;
    if (!c->key || !c->set || !c->show || !c->origin)
        return es_fail(err, ES_ENOMEM, "out of memory");
    if (!strcmp(key, "seed")) sw->seed_swept = 1;
    *out = c;
    return ES_OK;
}

/* Append value j of a column from its text (numbers generated by ranges and samples). */
static int column_value(sw_column *c, size_t j, const char *text, const cfg_node *origin,
                        es_err *err)
{
    c->show[j] = es_strdup(text);
    cfg_node tmp = {0};
    tmp.kind = CFG_SCALAR;
    tmp.text = (char *)text;
    c->set[j] = set_text(&tmp);
    c->origin[j] = origin;
    if (!c->show[j] || !c->set[j]) return es_fail(err, ES_ENOMEM, "out of memory");
    c->n = j + 1;
    return ES_OK;
}

static int new_dim(sw_sweep *sw, size_t size, const cfg_node *where, es_err *err)
{
    if (sw->ndims >= ES_ARRAY_LEN(sw->dim_size))
        return fail_node(err, where, "too many axes (at most %zu)", ES_ARRAY_LEN(sw->dim_size));
    sw->dim_size[sw->ndims] = size;
    return (int)sw->ndims++;
}

/* Expand `range:` of an axis on key `key` into *vals (malloc'ed, *n of them), formatted. */
static int parse_range(const cfg_node *r, const char *key, const cfg_key *ck, char ***vals,
                       size_t *n_out, es_err *err)
{
    double from = 0, to = 0, step = 0;
    int64_t count = 0;
    int logscale = 0, has_from = 0, has_to = 0, has_step = 0, has_count = 0;
    if (r->kind != CFG_MAP)
        return fail_node(err, r, "range must be a mapping {from, to, step} or {from, to, count}");
    if (!ck || !(ck->type == CFG_T_INT || ck->type == CFG_T_REAL || ck->type == CFG_T_QTY ||
                 ck->type == CFG_T_REAL_MAP))
        return fail_node(err, r, "a range needs a numeric key; '%s' is not one (use values:)", key);
    const cfg_key *numkey = ck->type == CFG_T_REAL_MAP ? NULL : ck;
    int integer = ck->type == CFG_T_INT;
    for (size_t i = 0; i < r->n; i++) {
        const char *k = r->keys[i];
        const cfg_node *v = r->items[i];
        int rc = ES_OK;
        if (!strcmp(k, "from"))
            has_from = 1, rc = parse_number(v, numkey, "range.from", &from, err);
        else if (!strcmp(k, "to"))
            has_to = 1, rc = parse_number(v, numkey, "range.to", &to, err);
        else if (!strcmp(k, "step"))
            has_step = 1, rc = parse_number(v, numkey, "range.step", &step, err);
        else if (!strcmp(k, "count"))
            has_count = 1, rc = parse_int(v, "range.count", 1, SW_MAX_POINTS, &count, err);
        else if (!strcmp(k, "log"))
            rc = parse_bool(v, "range.log", &logscale, err);
        else
            return fail_node(err, r->key_nodes[i],
                             "unknown range key '%s' (expected from, to, step, count, log)", k);
        if (rc < 0) return rc;
    }
    if (!has_from || !has_to) return fail_node(err, r, "range needs 'from' and 'to'");
    if (has_step == has_count)
        return fail_node(err, r, "range needs exactly one of 'step' and 'count'");
    if (has_step && step == 0)
        return fail_node(err, key_node(r, "step"), "range.step must not be 0");
    double *v = NULL;
    size_t n = 0;
    es_err e2;
    es_err_clear(&e2);
    if (sw_range_expand(from, to, has_step ? step : 0, count, logscale, integer, &v, &n, &e2) < 0)
        return fail_node(err, r, "%s", e2.msg);
    char **out = calloc(n ? n : 1, sizeof *out);
    int rc = out ? ES_OK : es_fail(err, ES_ENOMEM, "out of memory");
    for (size_t j = 0; j < n && rc == ES_OK; j++) {
        char buf[64];
        format_value(v[j], numkey, integer, buf, sizeof buf);
        if (!(out[j] = es_strdup(buf))) rc = es_fail(err, ES_ENOMEM, "out of memory");
    }
    free(v);
    if (rc < 0) {
        for (size_t j = 0; out && j < n; j++)
            free(out[j]);
        free(out);
        return rc;
    }
    *vals = out;
    *n_out = n;
    return ES_OK;
}

static int parse_axes(sw_sweep *sw, const cfg_node *axes, es_err *err)
{
    int zip_dim = -1;
    size_t zip_n = 0;
    const char *zip_key = NULL;
    if (axes->kind != CFG_SEQ)
        return fail_node(err, axes, "axes must be a list of {key, values|range}");
    for (size_t a = 0; a < axes->n; a++) {
        const cfg_node *ax = axes->items[a];
        if (ax->kind != CFG_MAP)
            return fail_node(err, ax, "an axis must be a mapping {key, values|range, mode}");
        const cfg_node *kn = cfg_map_get(ax, "key"), *vals = cfg_map_get(ax, "values");
        const cfg_node *range = cfg_map_get(ax, "range"), *mode = cfg_map_get(ax, "mode");
        for (size_t i = 0; i < ax->n; i++)
            if (strcmp(ax->keys[i], "key") && strcmp(ax->keys[i], "values") &&
                strcmp(ax->keys[i], "range") && strcmp(ax->keys[i], "mode"))
                return fail_node(err, ax->key_nodes[i],
                                 "unknown axis key '%s' (expected key, values, range, mode)",
                                 ax->keys[i]);
        if (!kn) return fail_node(err, ax, "axis without 'key'");
        ES_TRY(need_scalar(kn, "key", err));
        const cfg_key *ck = sweep_key(kn->text);
        if (!ck)
            return fail_node(
                err, kn, "unknown configuration key '%s' (see 'essim config reference')", kn->text);
        if (!vals == !range)
            return fail_node(err, ax, "axis '%s' needs exactly one of 'values' and 'range'",
                             kn->text);
        int zip = 0;
        if (mode) {
            ES_TRY(need_scalar(mode, "mode", err));
            if (!strcmp(mode->text, "zip"))
                zip = 1;
            else if (strcmp(mode->text, "grid"))
                return fail_node(err, mode, "mode must be grid or zip, not '%s'", mode->text);
        }
        size_t n = 0;
        char **rv = NULL;
        if (vals) {
            if (vals->kind != CFG_SEQ || vals->n == 0)
                return fail_node(err, vals, "values must be a non-empty list");
            n = vals->n;
        } else {
            ES_TRY(parse_range(range, kn->text, ck, &rv, &n, err));
        }
        sw_column *c;
        int rc = add_column(sw, kn->text, kn, -1, n, &c, err);
        for (size_t j = 0; j < n && rc == ES_OK; j++) {
            if (vals) {
                c->show[j] = show_text(vals->items[j]);
                c->set[j] = set_text(vals->items[j]);
                c->origin[j] = vals->items[j];
                if (!c->show[j] || !c->set[j]) rc = es_fail(err, ES_ENOMEM, "out of memory");
                c->n = j + 1;
            } else {
                rc = column_value(c, j, rv[j], range, err);
            }
        }
        for (size_t j = 0; rv && j < n; j++)
            free(rv[j]);
        free(rv);
        if (rc < 0) return rc;
        if (zip) {
            if (zip_dim < 0) {
                zip_dim = new_dim(sw, n, ax, err);
                if (zip_dim < 0) return zip_dim;
                zip_n = n;
                zip_key = c->key;
            } else if (n != zip_n) {
                return fail_node(err, kn,
                                 "zip axis '%s' has %zu values but zip axis '%s' has %zu; "
                                 "zipped axes need the same length",
                                 kn->text, n, zip_key, zip_n);
            }
            c->dim = zip_dim;
        } else {
            c->dim = new_dim(sw, n, ax, err);
            if (c->dim < 0) return c->dim;
        }
    }
    return ES_OK;
}

/* `random: {samples: N, axes: [{key, min, max, log}]}`: N samples drawn from the sweep seed
 * (sample j from stream "sweep.random" indexed j, one uniform per axis in order), crossed
 * with the other axes as one more dimension. */
static int parse_random(sw_sweep *sw, const cfg_node *r, es_err *err)
{
    if (r->kind != CFG_MAP) return fail_node(err, r, "random must be a mapping {samples, axes}");
    const cfg_node *sn = cfg_map_get(r, "samples"), *axes = cfg_map_get(r, "axes");
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->keys[i], "samples") && strcmp(r->keys[i], "axes"))
            return fail_node(err, r->key_nodes[i],
                             "unknown random key '%s' (expected samples, axes)", r->keys[i]);
    if (!sn || !axes) return fail_node(err, r, "random needs 'samples' and 'axes'");
    int64_t samples;
    ES_TRY(parse_int(sn, "random.samples", 1, SW_MAX_POINTS, &samples, err));
    if ((uint64_t)samples > sw_max_points()) {
        too_many(err, "random.samples", (double)samples);
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        return fail_node(err, sn, "%s", why);
    }
    if (axes->kind != CFG_SEQ || axes->n == 0)
        return fail_node(err, axes, "random.axes must be a non-empty list of {key, min, max, log}");
    int dim = new_dim(sw, (size_t)samples, r, err);
    if (dim < 0) return dim;
    size_t first = sw->ncols, na = axes->n;
    double *lo = calloc(na, sizeof *lo), *hi = calloc(na, sizeof *hi);
    int *lg = calloc(na, sizeof *lg), *integer = calloc(na, sizeof *integer);
    const cfg_key **keys = calloc(na, sizeof *keys);
    int rc = lo && hi && lg && integer && keys ? ES_OK : es_fail(err, ES_ENOMEM, "out of memory");
    for (size_t a = 0; a < na && rc == ES_OK; a++) {
        const cfg_node *ax = axes->items[a];
        if (ax->kind != CFG_MAP) {
            rc = fail_node(err, ax, "a random axis must be a mapping {key, min, max, log}");
            break;
        }
        const cfg_node *kn = cfg_map_get(ax, "key"), *mn = cfg_map_get(ax, "min");
        const cfg_node *mx = cfg_map_get(ax, "max"), *ln = cfg_map_get(ax, "log");
        for (size_t i = 0; i < ax->n && rc == ES_OK; i++)
            if (strcmp(ax->keys[i], "key") && strcmp(ax->keys[i], "min") &&
                strcmp(ax->keys[i], "max") && strcmp(ax->keys[i], "log"))
                rc = fail_node(err, ax->key_nodes[i],
                               "unknown random axis key '%s' (expected key, min, max, log)",
                               ax->keys[i]);
        if (rc < 0) break;
        if (!kn || !mn || !mx) {
            rc = fail_node(err, ax, "a random axis needs 'key', 'min' and 'max'");
            break;
        }
        if ((rc = need_scalar(kn, "key", err)) < 0) break;
        const cfg_key *ck = sweep_key(kn->text);
        if (!ck) {
            rc = fail_node(err, kn, "unknown configuration key '%s' (see 'essim config reference')",
                           kn->text);
            break;
        }
        if (!(ck->type == CFG_T_INT || ck->type == CFG_T_REAL || ck->type == CFG_T_QTY ||
              ck->type == CFG_T_REAL_MAP)) {
            rc = fail_node(err, kn, "random values need a numeric key; '%s' is not one", kn->text);
            break;
        }
        keys[a] = ck->type == CFG_T_REAL_MAP ? NULL : ck;
        integer[a] = ck->type == CFG_T_INT;
        if ((rc = parse_number(mn, keys[a], "min", &lo[a], err)) < 0) break;
        if ((rc = parse_number(mx, keys[a], "max", &hi[a], err)) < 0) break;
        if (ln && (rc = parse_bool(ln, "log", &lg[a], err)) < 0) break;
        if (hi[a] < lo[a]) {
            rc = fail_node(err, mx, "max must not be below min");
            break;
        }
        if (lg[a] && lo[a] <= 0) {
            rc = fail_node(err, mn, "a logarithmic random axis needs min > 0");
            break;
        }
        sw_column *c;
        rc = add_column(sw, kn->text, kn, dim, (size_t)samples, &c, err);
    }
    for (int64_t j = 0; j < samples && rc == ES_OK; j++) {
        rng_stream rs;
        rng_init_indexed(&rs, sw->seed, "sweep.random", (uint64_t)j);
        for (size_t a = 0; a < na && rc == ES_OK; a++) {
            double u = rng_uniform(&rs), x;
            if (lg[a])
                x = exp(log(lo[a]) + u * (log(hi[a]) - log(lo[a])));
            else if (integer[a])
                x = ES_MIN(hi[a], floor(lo[a] + u * (floor(hi[a]) - ceil(lo[a]) + 1)));
            else
                x = lo[a] + u * (hi[a] - lo[a]);
            char buf[64];
            if (integer[a])
                sw_fmt(buf, sizeof buf, "%lld", (long long)llround(x));
            else if (keys[a] && keys[a]->type == CFG_T_QTY)
                cfg_format_quantity(x, keys[a]->dim, buf, sizeof buf);
            else
                sw_fmt(buf, sizeof buf, "%.6g", x);
            rc = column_value(&sw->cols[first + a], (size_t)j, buf, axes->items[a], err);
        }
    }
    free(lo);
    free(hi);
    free(lg);
    free(integer);
    free(keys);
    return rc;
}

/* Flatten inline base values into "a.b.c=value" overrides (a name->real map or a list is
 * one value). */
static int add_base_set(sw_sweep *sw, const char *text, const cfg_node *origin, es_err *err)
{
    sw_set *ns = realloc(sw->base_sets, (sw->nbase_sets + 1) * sizeof *ns);
    if (!ns) return es_fail(err, ES_ENOMEM, "out of memory");
    sw->base_sets = ns;
    ns[sw->nbase_sets].text = es_strdup(text);
    ns[sw->nbase_sets].origin = origin;
    if (!ns[sw->nbase_sets].text) return es_fail(err, ES_ENOMEM, "out of memory");
    sw->nbase_sets++;
    return ES_OK;
}

static int flatten(sw_sweep *sw, const char *prefix, const cfg_node *n, const cfg_node *where,
                   es_err *err)
{
    if (n->kind == CFG_MAP && !cfg_schema_find(prefix)) {
        for (size_t i = 0; i < n->n; i++) {
            char path[512];
            sw_fmt(path, sizeof path, "%s.%s", prefix, n->keys[i]);
            ES_TRY(flatten(sw, path, n->items[i], n->key_nodes[i], err));
        }
        if (n->n == 0) return fail_node(err, n, "empty section '%s' in base", prefix);
        return ES_OK;
    }
    sbuf b = {0};
    sb_printf(&b, "%s=", prefix);
    sw_flow_text(&b, n);
    char *t = sb_take(&b);
    if (!t) return es_fail(err, ES_ENOMEM, "out of memory");
    int rc = add_base_set(sw, t, n->line > 0 ? n : where, err);
    free(t);
    return rc;
}

static void resolve_relative(const char *base, const char *rel, char *out, size_t len)
{
    const char *slash = strrchr(base, '/');
    if (rel[0] == '/' || !slash)
        sw_fmt(out, len, "%s", rel);
    else
        sw_fmt(out, len, "%.*s/%s", (int)(slash - base), base, rel);
}

static int base_file(sw_sweep *sw, sbuf *text, const char *what, const cfg_node *v, es_err *err)
{
    size_t count = v->kind == CFG_SEQ ? v->n : 1;
    if (v->kind == CFG_MAP) return fail_node(err, v, "%s expects a name or a list of names", what);
    sb_printf(text, "%s: [", what);
    for (size_t k = 0; k < count; k++) {
        const cfg_node *item = v->kind == CFG_SEQ ? v->items[k] : v;
        if (item->kind != CFG_SCALAR || !item->text[0])
            return fail_node(err, item, "%s expects a name or a list of names", what);
        char path[PATH_MAX];
        if (!strcmp(what, "include")) {
            resolve_relative(sw->path, item->text, path, sizeof path);
            if (access(path, R_OK) != 0)
                return fail_node(err, item, "cannot read base configuration '%s': %s", path,
                                 strerror(errno));
        } else if (!cfg_find_preset(item->text, path, sizeof path)) {
            return fail_node(err, item, "unknown preset '%s'", item->text);
        }
        if (k) sb_puts(text, ", ");
        sb_json_str(text, item->text);
    }
    sb_puts(text, "]\n");
    return ES_OK;
}

static int parse_base(sw_sweep *sw, const cfg_node *base, es_err *err)
{
    sbuf text = {0};
    int rc = ES_OK;
    sb_puts(&text, "version: 1\n");
    if (base && base->kind == CFG_SCALAR) {
        rc = base_file(sw, &text, "include", base, err);
    } else if (base && base->kind == CFG_MAP) {
        for (size_t i = 0; i < base->n && rc == ES_OK; i++) {
            const char *k = base->keys[i];
            if (!strcmp(k, "include") || !strcmp(k, "preset"))
                rc = base_file(sw, &text, k, base->items[i], err);
            else if (!strcmp(k, "version"))
                rc = fail_node(err, base->key_nodes[i],
                               "'version' belongs at the top of the sweep file");
            else
                rc = flatten(sw, k, base->items[i], base->key_nodes[i], err);
        }
    } else if (base) {
        rc = fail_node(err, base, "base must be a configuration file name or a mapping of values");
    }
    sw->base_text = sb_take(&text);
    if (rc == ES_OK && !sw->base_text) rc = es_fail(err, ES_ENOMEM, "out of memory");
    return rc;
}

static int parse_metrics(sw_sweep *sw, const cfg_node *m, es_err *err)
{
    if (m->kind != CFG_SEQ || m->n == 0)
        return fail_node(err, m, "metrics must be a non-empty list of statistic names");
    sw->metrics = calloc(m->n, sizeof *sw->metrics);
    if (!sw->metrics) return es_fail(err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->n; i++) {
        ES_TRY(need_scalar(m->items[i], "a metric", err));
        if (!m->items[i]->text[0]) return fail_node(err, m->items[i], "empty metric name");
        for (size_t j = 0; j < i; j++)
            if (!strcmp(sw->metrics[j], m->items[i]->text))
                return fail_node(err, m->items[i], "metric '%s' listed twice", m->items[i]->text);
        if (!(sw->metrics[i] = es_strdup(m->items[i]->text)))
            return es_fail(err, ES_ENOMEM, "out of memory");
        sw->nmetrics = i + 1;
    }
    return ES_OK;
}

static int parse_objectives(sw_sweep *sw, const cfg_node *o, es_err *err)
{
    if (o->kind != CFG_MAP)
        return fail_node(err, o, "objectives must be a mapping of metric: min|max");
    sw->obj_metric = calloc(o->n ? o->n : 1, sizeof *sw->obj_metric);
    sw->obj_goal = calloc(o->n ? o->n : 1, sizeof *sw->obj_goal);
    if (!sw->obj_metric || !sw->obj_goal) return es_fail(err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; i < o->n; i++) {
        const cfg_node *g = o->items[i];
        ES_TRY(need_scalar(g, "an objective", err));
        if (strcmp(g->text, "min") && strcmp(g->text, "max"))
            return fail_node(err, g, "objective must be min or max, not '%s'", g->text);
        if (!(sw->obj_metric[i] = es_strdup(o->keys[i])))
            return es_fail(err, ES_ENOMEM, "out of memory");
        sw->obj_goal[i] = strcmp(g->text, "min") ? SW_GOAL_MAX : SW_GOAL_MIN;
        sw->nobj = i + 1;
    }
    return ES_OK;
}

static int use_default_objectives(sw_sweep *sw, es_err *err)
{
    size_t n = ES_ARRAY_LEN(default_objectives);
    sw->obj_metric = calloc(n, sizeof *sw->obj_metric);
    sw->obj_goal = calloc(n, sizeof *sw->obj_goal);
    if (!sw->obj_metric || !sw->obj_goal) return es_fail(err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!(sw->obj_metric[i] = es_strdup(default_objectives[i].metric)))
            return es_fail(err, ES_ENOMEM, "out of memory");
        sw->obj_goal[i] = default_objectives[i].goal;
        sw->nobj = i + 1;
    }
    return ES_OK;
}

static int parse_sweep(sw_sweep *sw, char *const *sets, int nsets, es_err *err)
{
    const cfg_node *root = cfg_doc_root(sw->doc);
    static const char *const known[] = {"version", "name",    "description", "base",
                                        "command", "trace",   "seed",        "axes",
                                        "random",  "metrics", "objectives"};
    for (size_t i = 0; i < root->n; i++) {
        size_t k;
        for (k = 0; k < ES_ARRAY_LEN(known); k++)
            if (!strcmp(root->keys[i], known[k])) break;
        if (k == ES_ARRAY_LEN(known))
            return fail_node(err, root->key_nodes[i],
                             "unknown sweep key '%s' (expected version, name, description, base, "
                             "command, trace, seed, axes, random, metrics, objectives)",
                             root->keys[i]);
    }
    const cfg_node *n;
    sw->seed = 1;
    if ((n = cfg_map_get(root, "seed"))) {
        int64_t s;
        ES_TRY(parse_int(n, "seed", 0, 9007199254740991LL, &s, err));
        sw->seed = (uint64_t)s;
    }
    const char *cmd = "run";
    const cfg_node *cmdn = cfg_map_get(root, "command");
    if (cmdn) {
        ES_TRY(need_scalar(cmdn, "command", err));
        cmd = cmdn->text;
        if (strcmp(cmd, "run") && strcmp(cmd, "train") && strcmp(cmd, "simulate"))
            return fail_node(err, cmdn, "command must be run, train or simulate, not '%s'", cmd);
    }
    if (!(sw->command = es_strdup(cmd))) return es_fail(err, ES_ENOMEM, "out of memory");
    const cfg_node *tn = cfg_map_get(root, "trace");
    if (!strcmp(cmd, "simulate")) {
        if (!tn)
            return fail_node(err, cmdn, "command: simulate needs 'trace:' (the trace to replay)");
        ES_TRY(need_scalar(tn, "trace", err));
        char path[PATH_MAX];
        resolve_relative(sw->path, tn->text, path, sizeof path);
        if (access(path, R_OK) != 0)
            return fail_node(err, tn, "cannot read trace '%s': %s", path, strerror(errno));
        if (!(sw->trace = es_strdup(path))) return es_fail(err, ES_ENOMEM, "out of memory");
    } else if (tn) {
        return fail_node(err, key_node(root, "trace"),
                         "'trace' is only used with command: simulate");
    }
    ES_TRY(parse_base(sw, cfg_map_get(root, "base"), err));
    for (int i = 0; i < nsets; i++)
        ES_TRY(add_base_set(sw, sets[i], NULL, err));
    if ((n = cfg_map_get(root, "axes"))) ES_TRY(parse_axes(sw, n, err));
    if ((n = cfg_map_get(root, "random"))) ES_TRY(parse_random(sw, n, err));
    if ((n = cfg_map_get(root, "metrics"))) ES_TRY(parse_metrics(sw, n, err));
    if ((n = cfg_map_get(root, "objectives")))
        ES_TRY(parse_objectives(sw, n, err));
    else
        ES_TRY(use_default_objectives(sw, err));
    /* Point count: the product of the dimensions. */
    sw->npoints = 1;
    for (size_t d = 0; d < sw->ndims; d++) {
        if (sw->dim_size[d] == 0) return fail_node(err, root, "an axis has no values");
        if (sw->npoints > sw_max_points() / sw->dim_size[d])
            return fail_node(err, root,
                             "the sweep has more than %zu points (set %s to raise the limit)",
                             sw_max_points(), ES_LIMIT_SWEEP_POINTS);
        sw->npoints *= sw->dim_size[d];
    }
    return ES_OK;
}

static int load_common(sw_sweep *sw, char *const *sets, int nsets, sw_sweep **out, es_err *err)
{
    int rc = parse_sweep(sw, sets, nsets, err);
    if (rc < 0) {
        sw_destroy(sw);
        return rc;
    }
    *out = sw;
    return ES_OK;
}

int sw_load(const char *path, char *const *sets, int nsets, sw_sweep **out, es_err *err)
{
    sw_sweep *sw = calloc(1, sizeof *sw);
    if (!sw) return es_fail(err, ES_ENOMEM, "out of memory");
    if (!(sw->path = es_strdup(path))) {
        free(sw);
        return es_fail(err, ES_ENOMEM, "out of memory");
    }
    int rc = cfg_doc_load(path, &sw->doc, err);
    if (rc < 0) {
        sw_destroy(sw);
        return rc;
    }
    return load_common(sw, sets, nsets, out, err);
}

int sw_load_string(const char *text, const char *name, char *const *sets, int nsets, sw_sweep **out,
                   es_err *err)
{
    sw_sweep *sw = calloc(1, sizeof *sw);
    if (!sw) return es_fail(err, ES_ENOMEM, "out of memory");
    if (!(sw->path = es_strdup(name))) {
        free(sw);
        return es_fail(err, ES_ENOMEM, "out of memory");
    }
    int rc = cfg_doc_load_string(text, name, &sw->doc, err);
    if (rc < 0) {
        sw_destroy(sw);
        return rc;
    }
    return load_common(sw, sets, nsets, out, err);
}
