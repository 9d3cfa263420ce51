/* sweep.c - sweep files, point expansion and validation, running one point in a child
 * process, and the results table with its Pareto front. The scheduling (local pool, MPI)
 * lives in the command layer; everything here is deterministic in the point index. */
#include "config.h"

#include "sweep.h"

#include "sbuf.h"
#include "statcsv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ctype.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rng.h"
#include "trace.h"
#include "map_trace.h"
#include "trace_hdr.h"

#define SW_MAX_POINTS 10000000u

/* snprintf that truncates silently (paths and messages are bounded; a truncated one fails
 * later with a clear error rather than here). */
static void fmt_to(char *buf, size_t len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void fmt_to(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* ---- the sweep ------------------------------------------------------------------------ */

/* One swept key: its values, and which dimension of the point grid picks among them. */
typedef struct sw_column {
    char *key;
    int dim;
    size_t n;
    char **set;              /* value as written after "KEY=" (a YAML flow node) */
    char **show;             /* value as shown in the results */
    const cfg_node **origin; /* where each value comes from (for error messages) */
} sw_column;

/* One override of the base, with where it was written. */
typedef struct sw_set {
    char *text;             /* "key=value" */
    const cfg_node *origin; /* NULL for --set */
} sw_set;

struct sw_sweep {
    cfg_doc *doc; /* the sweep file itself (nodes stay valid for messages) */
    char *path;
    char *command;
    char *trace;
    uint64_t seed;
    int seed_swept;
    char *base_text; /* "version: 1\ninclude: [...]" loaded relative to the sweep file */
    sw_set *base_sets;
    size_t nbase_sets;
    sw_column *cols;
    size_t ncols;
    size_t ndims;
    size_t dim_size[64];
    size_t npoints;
    char **metrics; /* explicit list, or NULL for the defaults */
    size_t nmetrics;
    char **obj_metric;
    int *obj_goal;
    size_t nobj;
    char (*hash)[17]; /* per point, after sw_validate */
    /* command: simulate, after sw_validate: which points replay the trace and which, their
     * crossbar geometry differing from the trace's, train again with `essim run`. */
    char *trace_yaml;     /* the trace's recorded configuration (the recipe to train with) */
    unsigned char *train; /* per point: 1 trains again, 0 replays */
    char **reason;        /* per point: why it trains again (map_check_trace), else NULL */
    size_t ntrain;
    uint64_t trace_seed; /* the seed the trace was recorded with */
};

static const char *const default_metrics[] = {
    "hw.time_s",
    "hw.energy_j",
    "hw.energy_j_by_phase.forward",
    "hw.energy_j_by_phase.backward",
    "hw.energy_j_by_phase.gradient",
    "hw.energy_j_by_phase.update",
    "hw.area_mm2",
    "hw.power_w_avg",
    "train.test_accuracy_final",
    "writes.mean",
    "writes.max",
    "lifetime.runs_to_first_failure",
};
static const struct {
    const char *metric;
    int goal;
} default_objectives[] = {
    {"hw.time_s", SW_GOAL_MIN},
    {"hw.energy_j", SW_GOAL_MIN},
    {"lifetime.runs_to_first_failure", SW_GOAL_MAX},
    {"train.test_accuracy_final", SW_GOAL_MAX},
};

void sw_destroy(sw_sweep *sw)
{
    if (!sw) return;
    for (size_t k = 0; k < sw->ncols; k++) {
        sw_column *c = &sw->cols[k];
        for (size_t j = 0; j < c->n; j++) {
            free(c->set[j]);
            free(c->show[j]);
        }
        free(c->key);
        free(c->set);
        free(c->show);
        free(c->origin);
    }
    free(sw->cols);
    for (size_t k = 0; k < sw->nbase_sets; k++)
        free(sw->base_sets[k].text);
    free(sw->base_sets);
    for (size_t k = 0; k < sw->nmetrics; k++)
        free(sw->metrics[k]);
    free(sw->metrics);
    for (size_t k = 0; k < sw->nobj; k++)
        free(sw->obj_metric[k]);
    free(sw->obj_metric);
    free(sw->obj_goal);
    free(sw->hash);
    for (size_t i = 0; sw->reason && i < sw->npoints; i++)
        free(sw->reason[i]);
    free(sw->reason);
    free(sw->train);
    free(sw->trace_yaml);
    free(sw->base_text);
    free(sw->path);
    free(sw->command);
    free(sw->trace);
    cfg_doc_destroy(sw->doc);
    free(sw);
}

size_t sw_point_count(const sw_sweep *sw)
{
    return sw->npoints;
}
size_t sw_column_count(const sw_sweep *sw)
{
    return sw->ncols;
}
const char *sw_column_key(const sw_sweep *sw, size_t k)
{
    return sw->cols[k].key;
}
const char *sw_command(const sw_sweep *sw)
{
    return sw->command;
}
const char *sw_trace(const sw_sweep *sw)
{
    return sw->trace;
}
uint64_t sw_seed(const sw_sweep *sw)
{
    return sw->seed;
}
const char *sw_path(const sw_sweep *sw)
{
    return sw->path;
}
int sw_seed_swept(const sw_sweep *sw)
{
    return sw->seed_swept;
}
int sw_point_trains(const sw_sweep *sw, size_t i)
{
    return sw->train ? sw->train[i] : 0;
}
const char *sw_point_mode(const sw_sweep *sw, size_t i)
{
    if (strcmp(sw->command, "simulate")) return NULL;
    return sw_point_trains(sw, i) ? "train" : "replay";
}
const char *sw_point_mode_reason(const sw_sweep *sw, size_t i)
{
    return sw->reason ? sw->reason[i] : NULL;
}
size_t sw_train_count(const sw_sweep *sw)
{
    return sw->ntrain;
}
const char *sw_point_command(const sw_sweep *sw, size_t i)
{
    return sw_point_trains(sw, i) ? "run" : sw->command;
}
void sw_mode_summary(const sw_sweep *sw, char *buf, size_t len)
{
    buf[0] = '\0';
    if (strcmp(sw->command, "simulate")) return;
    size_t t = sw->ntrain;
    fmt_to(buf, len, "; %zu replayed, %zu trained again%s", sw->npoints - t, t,
           t ? " (geometry differs from the trace)" : "");
}

/* Digit of point i in dimension d (the last dimension varies fastest). */
static size_t point_digit(const sw_sweep *sw, size_t i, int d)
{
    size_t stride = 1;
    for (size_t e = sw->ndims; e-- > (size_t)d + 1;)
        stride *= sw->dim_size[e];
    return (i / stride) % sw->dim_size[d];
}

const char *sw_point_value(const sw_sweep *sw, size_t i, size_t k)
{
    const sw_column *c = &sw->cols[k];
    return c->show[point_digit(sw, i, c->dim)];
}

uint64_t sw_derive_seed(uint64_t sweep_seed, uint64_t index)
{
    rng_stream r;
    rng_init_indexed(&r, sweep_seed, "sweep", index);
    return rng_u64(&r) >> 11; /* the schema's seed range is [0, 2^53) */
}

uint64_t sw_point_seed(const sw_sweep *sw, size_t i)
{
    if (!sw->seed_swept && sw_point_trains(sw, i)) return sw->trace_seed;
    if (sw->seed_swept) {
        for (size_t k = 0; k < sw->ncols; k++)
            if (!strcmp(sw->cols[k].key, "seed"))
                return strtoull(sw_point_value(sw, i, k), NULL, 10);
    }
    return sw_derive_seed(sw->seed, i);
}

const char *sw_point_hash(const sw_sweep *sw, size_t i)
{
    return sw->hash ? sw->hash[i] : "";
}

void sw_point_describe(const sw_sweep *sw, size_t i, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < sw->ncols && n < len; k++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s=%s", k ? ", " : "", sw->cols[k].key,
                              sw_point_value(sw, i, k));
    if (sw->ncols == 0) fmt_to(buf, len, "base configuration");
}

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

static void flow_text(sbuf *b, const cfg_node *n)
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
            flow_text(b, n->items[i]);
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
            flow_text(b, n->items[i]);
        }
        sb_puts(b, "}");
    }
}

/* Value as shown in results: a scalar's text, anything else as flow text. */
static char *show_text(const cfg_node *n)
{
    if (n->kind == CFG_SCALAR) return es_strdup(n->text);
    sbuf b = {0};
    flow_text(&b, n);
    return sb_take(&b);
}

static char *set_text(const cfg_node *n)
{
    sbuf b = {0};
    flow_text(&b, n);
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
        fmt_to(buf, len, "%lld", (long long)llround(v));
    else if (key && key->type == CFG_T_QTY)
        cfg_format_quantity(v, key->dim, buf, len);
    else
        fmt_to(buf, len, "%.12g", v);
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
        if (span > SW_MAX_POINTS) return es_fail(err, ES_ECONFIG, "range has too many values");
        cnt = (size_t)floor(span + 1e-9) + 1;
    } else {
        if (count < 1) return es_fail(err, ES_ECONFIG, "a range needs 'step' or 'count' >= 1");
        if (count > (int64_t)SW_MAX_POINTS)
            return es_fail(err, ES_ECONFIG, "range has too many values");
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
                fmt_to(buf, sizeof buf, "%lld", (long long)llround(x));
            else if (keys[a] && keys[a]->type == CFG_T_QTY)
                cfg_format_quantity(x, keys[a]->dim, buf, sizeof buf);
            else
                fmt_to(buf, sizeof buf, "%.6g", x);
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
            fmt_to(path, sizeof path, "%s.%s", prefix, n->keys[i]);
            ES_TRY(flatten(sw, path, n->items[i], n->key_nodes[i], err));
        }
        if (n->n == 0) return fail_node(err, n, "empty section '%s' in base", prefix);
        return ES_OK;
    }
    sbuf b = {0};
    sb_printf(&b, "%s=", prefix);
    flow_text(&b, n);
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
        fmt_to(out, len, "%s", rel);
    else
        fmt_to(out, len, "%.*s/%s", (int)(slash - base), base, rel);
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
        if (sw->npoints > SW_MAX_POINTS / sw->dim_size[d])
            return fail_node(err, root, "the sweep has more than %u points", SW_MAX_POINTS);
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

/* ---- point configurations ------------------------------------------------------------------ */

/* A --set error names "--set KEY=VALUE" as its file: point it at the sweep file instead. */
static void relocate_error(es_err *err, const char *set, const cfg_node *origin)
{
    if (!err || !origin || origin->line <= 0) return;
    char prefix[600];
    fmt_to(prefix, sizeof prefix, "--set %s: ", set);
    size_t pl = strlen(prefix);
    if (strncmp(err->msg, prefix, pl) != 0) return;
    char rest[sizeof err->msg];
    fmt_to(rest, sizeof rest, "%s", err->msg + pl);
    fmt_to(err->msg, sizeof err->msg, "%s:%d:%d: %s", origin->file, origin->line, origin->col,
           rest);
}

static int apply_set(cfg_doc *doc, const char *set, const cfg_node *origin, es_err *err)
{
    int rc = cfg_doc_set(doc, set, err);
    if (rc < 0) relocate_error(err, set, origin);
    return rc;
}

/* Keys a point that trains again takes from its own configuration rather than from the
 * trace's: the hardware (arch.*), the simulator's settings (sim.*), the block granularity
 * (part of the crossbar geometry the write masks are laid out in) and the host's thread
 * count (each point of a sweep shares the machine with -j others). */
static int own_key(const char *path)
{
    return !strncmp(path, "arch.", 5) || !strncmp(path, "sim.", 4) ||
           !strcmp(path, "policy.granularity") || !strcmp(path, "threads");
}

/* The node at dotted `path` below a mapping, or NULL. */
static const cfg_node *node_at(const cfg_node *n, const char *path)
{
    char seg[256];
    while (n && *path) {
        const char *dot = strchr(path, '.');
        size_t l = dot ? (size_t)(dot - path) : strlen(path);
        if (l >= sizeof seg || n->kind != CFG_MAP) return NULL;
        memcpy(seg, path, l);
        seg[l] = '\0';
        n = cfg_map_get(n, seg);
        path += l + (dot ? 1 : 0);
    }
    return n;
}

int sw_train_config(const char *trace_yaml, const char *trace_name, const essim_config *point,
                    char *const *overrides, size_t noverrides, essim_config *cfg, cfg_doc **doc_out,
                    es_err *err)
{
    char *dump = NULL;
    size_t dlen = 0;
    cfg_doc *pdoc = NULL, *doc = NULL;
    if (doc_out) *doc_out = NULL;
    /* The point's values as its dump writes them: a value read back is the same value. */
    FILE *mf = open_memstream(&dump, &dlen);
    if (!mf) return es_fail(err, ES_ENOMEM, "out of memory");
    int dr = cfg_dump(point, mf);
    int rc = fclose(mf) != 0 || dr < 0 ? es_fail(err, ES_ENOMEM, "out of memory") : ES_OK;
    if (rc == ES_OK) rc = cfg_doc_load_string(dump, "the point's configuration", &pdoc, err);
    if (rc == ES_OK)
        rc = cfg_doc_load_string(trace_yaml ? trace_yaml : "version: 1\n", trace_name, &doc, err);
    size_t nkeys = 0;
    const cfg_key *keys = cfg_schema(&nkeys);
    for (size_t k = 0; rc == ES_OK && k < nkeys; k++) {
        if (!own_key(keys[k].path)) continue;
        const cfg_node *n = node_at(cfg_doc_root(pdoc), keys[k].path);
        if (!n) {
            rc = es_fail(err, ES_EINVAL, "'%s' is missing from the point's configuration dump",
                         keys[k].path);
            break;
        }
        sbuf b = {0};
        sb_printf(&b, "%s=", keys[k].path);
        flow_text(&b, n);
        char *set = sb_take(&b);
        rc = set ? cfg_doc_set(doc, set, err) : es_fail(err, ES_ENOMEM, "out of memory");
        free(set);
    }
    for (size_t k = 0; rc == ES_OK && k < noverrides; k++)
        rc = cfg_doc_set(doc, overrides[k], err);
    if (rc == ES_OK) rc = cfg_bind(doc, cfg, err);
    free(dump);
    cfg_doc_destroy(pdoc);
    if (rc == ES_OK && doc_out)
        *doc_out = doc;
    else
        cfg_doc_destroy(doc);
    return rc;
}

/* Find which override of point i (SIZE_MAX: of the base) a bind error names. */
static void relocate_point_error(const sw_sweep *sw, size_t i, es_err *err)
{
    for (size_t k = 0; k < sw->nbase_sets; k++)
        relocate_error(err, sw->base_sets[k].text, sw->base_sets[k].origin);
    for (size_t k = 0; i != SIZE_MAX && k < sw->ncols; k++) {
        const sw_column *c = &sw->cols[k];
        size_t d = point_digit(sw, i, c->dim);
        char s[600];
        fmt_to(s, sizeof s, "%s=%s", c->key, c->set[d]);
        relocate_error(err, s, c->origin[d]);
    }
}

/* sw_validate's decision for one point of a simulate sweep: can it replay the trace? */
typedef struct replay_check {
    const trace_header *th;
    const essim_config *tcfg;
    const char *name; /* the trace in messages: its file name, so results name no folders */
    int train;        /* out: 1 when the geometry differs (why.msg says how) */
    es_err why;
} replay_check;

/* "key=value" of every swept key at point i (what a point that trains again applies on top
 * of the trace's configuration and its own hardware). */
static char **axis_sets(const sw_sweep *sw, size_t i)
{
    char **v = calloc(sw->ncols + 1, sizeof *v);
    for (size_t k = 0; v && k < sw->ncols; k++) {
        const sw_column *c = &sw->cols[k];
        size_t d = point_digit(sw, i, c->dim);
        size_t len = strlen(c->key) + strlen(c->set[d]) + 2;
        if (!(v[k] = malloc(len))) {
            for (size_t j = 0; j < k; j++)
                free(v[j]);
            free(v);
            return NULL;
        }
        fmt_to(v[k], len, "%s=%s", c->key, c->set[d]);
    }
    return v;
}

/* The configuration a point of a simulate sweep that trains again runs with (own: its own
 * bound configuration), checked like every point's. */
static int bind_train(const sw_sweep *sw, size_t i, const essim_config *own, essim_config *cfg,
                      sw_check_fn check, es_err *err)
{
    char **sets = axis_sets(sw, i);
    if (!sets) return es_fail(err, ES_ENOMEM, "out of memory");
    cfg_doc *doc = NULL;
    int rc = sw_train_config(sw->trace_yaml, sw->trace, own, sets, sw->ncols, cfg, &doc, err);
    if (rc == ES_OK && check && (rc = check(cfg, doc, err)) < 0) cfg_free(cfg);
    if (rc < 0) relocate_point_error(sw, i, err);
    cfg_doc_destroy(doc);
    for (size_t k = 0; k < sw->ncols; k++)
        free(sets[k]);
    free(sets);
    return rc;
}

/* The configuration point i runs with (SIZE_MAX: the base with the --set overrides only),
 * bound into cfg: its own document (base, --set, axes, seed), or, for a point of a simulate
 * sweep that trains again, the merge of bind_train. With rp, decide that first (sw_validate).
 * On a bind error the message is relocated to the sweep file where it can be. */
static int bind_point(const sw_sweep *sw, size_t i, essim_config *cfg, sw_check_fn check,
                      replay_check *rp, es_err *err)
{
    cfg_doc *doc = NULL;
    int rc = cfg_doc_load_string(sw->base_text, sw->path, &doc, err);
    for (size_t k = 0; rc == ES_OK && k < sw->nbase_sets; k++)
        rc = apply_set(doc, sw->base_sets[k].text, sw->base_sets[k].origin, err);
    char seedset[64];
    if (i != SIZE_MAX) {
        for (size_t k = 0; rc == ES_OK && k < sw->ncols; k++) {
            const sw_column *c = &sw->cols[k];
            size_t d = point_digit(sw, i, c->dim);
            size_t len = strlen(c->key) + strlen(c->set[d]) + 2;
            char *s = malloc(len);
            if (!s) {
                rc = es_fail(err, ES_ENOMEM, "out of memory");
                break;
            }
            fmt_to(s, len, "%s=%s", c->key, c->set[d]);
            rc = apply_set(doc, s, c->origin[d], err);
            free(s);
        }
        if (rc == ES_OK && !sw->seed_swept) {
            fmt_to(seedset, sizeof seedset, "seed=%llu",
                   (unsigned long long)sw_derive_seed(sw->seed, i));
            rc = cfg_doc_set(doc, seedset, err);
        }
    }
    if (rc == ES_OK) {
        rc = cfg_bind(doc, cfg, err);
        if (rc == ES_OK && check && (rc = check(cfg, doc, err)) < 0) cfg_free(cfg);
        if (rc < 0) relocate_point_error(sw, i, err);
    }
    cfg_doc_destroy(doc);
    if (rc < 0 || i == SIZE_MAX) return rc;
    int train = sw_point_trains(sw, i);
    if (rp) {
        es_err_clear(&rp->why);
        rp->train = 0;
        int cr = map_check_trace(rp->th, rp->name, rp->tcfg, cfg, NULL, &rp->why);
        if (cr == ES_ECONFIG) {
            train = rp->train = 1;
        } else if (cr < 0) {
            cfg_free(cfg);
            return es_fail(err, cr, "%s", rp->why.msg);
        }
    }
    if (!train) return ES_OK;
    essim_config own = *cfg;
    rc = bind_train(sw, i, &own, cfg, check, err);
    cfg_free(&own);
    return rc;
}

int sw_point_config(const sw_sweep *sw, size_t i, essim_config *cfg, es_err *err)
{
    if (i >= sw->npoints) return es_fail(err, ES_EINVAL, "point %zu out of range", i);
    return bind_point(sw, i, cfg, NULL, NULL, err);
}

/* Forget what an earlier sw_validate decided. */
static void forget_points(sw_sweep *sw)
{
    for (size_t i = 0; sw->reason && i < sw->npoints; i++)
        free(sw->reason[i]);
    free(sw->reason);
    free(sw->train);
    free(sw->hash);
    sw->reason = NULL;
    sw->train = NULL;
    sw->hash = NULL;
    sw->ntrain = 0;
}

/* Open the trace of a simulate sweep and bind its recorded configuration into tcfg. */
static int open_trace(sw_sweep *sw, trace_reader **tr, essim_config *tcfg, es_err *err)
{
    ES_TRY(trace_reader_open(sw->trace, NULL, tr, err));
    const trace_header *th = trace_reader_header(*tr);
    if (th->n_layers == 0)
        return es_fail(err, ES_ECONFIG,
                       "%s: the trace has no mapped layers to replay (a trace of bare synthetic "
                       "layers cannot be swept)",
                       sw->trace);
    free(sw->trace_yaml);
    sw->trace_yaml = es_strdup(th->config_yaml ? th->config_yaml : "version: 1\n");
    if (!sw->trace_yaml) return es_fail(err, ES_ENOMEM, "out of memory");
    cfg_doc *doc = NULL;
    es_err e2;
    es_err_clear(&e2);
    int rc = cfg_doc_load_string(sw->trace_yaml, sw->trace, &doc, &e2);
    if (rc == ES_OK) rc = cfg_bind(doc, tcfg, &e2);
    cfg_doc_destroy(doc);
    if (rc < 0)
        return es_fail(err, rc, "%s: the trace's recorded configuration does not load: %s",
                       sw->trace, e2.msg);
    sw->trace_seed = (uint64_t)tcfg->seed;
    return ES_OK;
}

int sw_validate(sw_sweep *sw, sw_check_fn check, es_err *err)
{
    essim_config cfg;
    forget_points(sw);
    int rc = bind_point(sw, SIZE_MAX, &cfg, NULL, NULL, err);
    if (rc < 0) return rc;
    cfg_free(&cfg);
    sw->hash = calloc(sw->npoints, sizeof *sw->hash);
    if (!sw->hash) return es_fail(err, ES_ENOMEM, "out of memory");
    trace_reader *tr = NULL;
    essim_config tcfg;
    int tcfg_ok = 0;
    replay_check rp, *rpp = NULL;
    if (sw->trace) {
        rc = open_trace(sw, &tr, &tcfg, err);
        tcfg_ok = rc == ES_OK;
        sw->train = calloc(sw->npoints, sizeof *sw->train);
        sw->reason = calloc(sw->npoints, sizeof *sw->reason);
        if (rc == ES_OK && (!sw->train || !sw->reason))
            rc = es_fail(err, ES_ENOMEM, "out of memory");
        const char *slash = strrchr(sw->trace, '/');
        memset(&rp, 0, sizeof rp);
        rp.th = tr ? trace_reader_header(tr) : NULL;
        rp.tcfg = &tcfg;
        rp.name = slash ? slash + 1 : sw->trace;
        rpp = &rp;
    }
    for (size_t i = 0; rc == ES_OK && i < sw->npoints; i++) {
        es_err e2;
        es_err_clear(&e2);
        rc = bind_point(sw, i, &cfg, check, rpp, &e2);
        if (rc < 0) {
            char desc[512];
            sw_point_describe(sw, i, desc, sizeof desc);
            es_fail(err, rc, "point %zu (%s): %s", i, desc, e2.msg);
            break;
        }
        if (rpp && rp.train) {
            sw->train[i] = 1;
            sw->ntrain++;
            if (!(sw->reason[i] = es_strdup(rp.why.msg)))
                rc = es_fail(err, ES_ENOMEM, "out of memory");
        }
        cfg_hash(&cfg, sw->hash[i]);
        cfg_free(&cfg);
    }
    if (tcfg_ok) cfg_free(&tcfg);
    trace_reader_close(tr);
    if (rc < 0) forget_points(sw);
    return rc;
}

/* ---- running points -------------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void point_name(size_t i, char *buf, size_t len)
{
    fmt_to(buf, len, "%04zu", i);
}

int sw_out_prepare(const char *dir, es_err *err)
{
    char path[PATH_MAX];
    fmt_to(path, sizeof path, "%s/points", dir);
    ES_TRY(es_mkdir_p(path, err));
    DIR *d = opendir(path);
    if (!d) return es_fail(err, ES_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct dirent *e;
    int rc = ES_OK;
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, ".tmp-")) continue;
        char p[PATH_MAX];
        fmt_to(p, sizeof p, "%s/%s", path, e->d_name);
        if (rm_rf(p) != 0) rc = es_fail(err, ES_EIO, "%s: cannot remove: %s", p, strerror(errno));
    }
    closedir(d);
    return rc;
}

static char *slurp(const char *path, size_t *len)
{
    char *text = NULL;
    es_err ignore = {0};
    return es_read_file(path, &text, len, &ignore) == ES_OK ? text : NULL;
}

/* The string value of "key": "..." in a JSON object we wrote ourselves (escapes limited to
 * \" \\ \n \t \uXXXX below 0x80). NULL when absent or null. */
static char *json_string_field(const char *json, const char *key)
{
    char pat[128];
    fmt_to(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(json, pat);
    if (!p) return NULL;
    p += strlen(pat);
    if (*p != '"') return NULL;
    sbuf b = {0};
    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            char c = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
            if (*p == 'u' && isxdigit((unsigned char)p[1])) {
                c = (char)strtol((char[5]){p[1], p[2], p[3], p[4], 0}, NULL, 16);
                p += 4;
            }
            sb_putn(&b, &c, 1);
        } else {
            sb_putn(&b, p, 1);
        }
    }
    return sb_take(&b);
}

static long json_int_field(const char *json, const char *key, long def)
{
    char pat[128];
    fmt_to(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(json, pat);
    return p ? strtol(p + strlen(pat), NULL, 10) : def;
}

int sw_point_finished(const sw_sweep *sw, const char *dir, size_t i, int clean)
{
    char name[32], path[PATH_MAX], pj[PATH_MAX];
    point_name(i, name, sizeof name);
    fmt_to(path, sizeof path, "%s/points/%s", dir, name);
    fmt_to(pj, sizeof pj, "%s/point.json", path);
    char *json = slurp(pj, NULL);
    int done = 0;
    if (json) {
        char *status = json_string_field(json, "status");
        char *hash = json_string_field(json, "config_hash");
        char *cmd = json_string_field(json, "command");
        char *trace = json_string_field(json, "trace");
        done = status && !strcmp(status, "ok") && hash && !strcmp(hash, sw_point_hash(sw, i)) &&
               cmd && !strcmp(cmd, sw_point_command(sw, i)) &&
               (sw->trace ? trace && !strcmp(trace, sw->trace) : !trace);
        free(status);
        free(hash);
        free(cmd);
        free(trace);
        free(json);
    }
    if (!done && clean) rm_rf(path);
    return done;
}

/* argv of the command for a point whose folder is `pdir`. */
static int point_argv(const sw_sweep *sw, size_t i, const char *pdir, char *cfgpath, char **argv)
{
    int argc = 0;
    const char *cmd = sw_point_command(sw, i);
    argv[argc++] = (char *)cmd;
    if (!strcmp(cmd, "simulate")) argv[argc++] = "--config";
    argv[argc++] = cfgpath;
    if (!strcmp(cmd, "simulate")) {
        argv[argc++] = "--trace";
        argv[argc++] = sw->trace;
    }
    argv[argc++] = "--out";
    argv[argc++] = (char *)pdir;
    argv[argc] = NULL;
    return argc;
}

/* The child: everything goes to the point's log; returns the exit status. */
static int child_main(const sw_sweep *sw, const char *dir, size_t i, sw_command_fn fn)
{
    char name[32], pdir[PATH_MAX], path[PATH_MAX];
    point_name(i, name, sizeof name);
    fmt_to(pdir, sizeof pdir, "%s/points/%s.tmp-%ld", dir, name, (long)getpid());
    if (mkdir(pdir, 0777) != 0) {
        fprintf(stderr, "essim: %s: cannot create: %s\n", pdir, strerror(errno));
        return 1;
    }
    fmt_to(path, sizeof path, "%s/log.txt", pdir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
        fprintf(stderr, "essim: %s: cannot create: %s\n", path, strerror(errno));
        return 1;
    }
    close(fd);
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0) {
        dup2(nul, 0);
        close(nul);
    }
    essim_config cfg;
    es_err err;
    es_err_clear(&err);
    if (sw_point_config(sw, i, &cfg, &err) < 0) {
        fprintf(stderr, "essim: %s\n", err.msg);
        return 2;
    }
    char cfgpath[PATH_MAX];
    fmt_to(cfgpath, sizeof cfgpath, "%s/config.yaml", pdir);
    int bad = cfg_dump_file(&cfg, cfgpath, &err) < 0;
    cfg_free(&cfg);
    if (bad) {
        fprintf(stderr, "essim: %s\n", err.msg);
        return 1;
    }
    char *argv[12];
    int argc = point_argv(sw, i, pdir, cfgpath, argv);
    double t0 = es_host_seconds();
    int rc = fn(argc, argv);
    double t1 = es_host_seconds();
    fflush(stdout);
    fflush(stderr);
    fmt_to(path, sizeof path, "%s/.command_seconds", pdir);
    FILE *fp = fopen(path, "w");
    if (fp) {
        fprintf(fp, "%.9f\n", t1 - t0);
        fclose(fp);
    }
    return rc;
}

int sw_point_spawn(const sw_sweep *sw, const char *dir, size_t i, sw_command_fn fn, pid_t *pid,
                   es_err *err)
{
    fflush(NULL);
    pid_t p = fork();
    if (p < 0) return es_fail(err, ES_EIO, "fork: %s", strerror(errno));
    if (p == 0) {
        int rc = child_main(sw, dir, i, fn);
        fflush(NULL);
        _exit(rc & 0xff);
    }
    *pid = p;
    return ES_OK;
}

/* The last line of the log that looks like an error, with the temporary folder name
 * replaced by the final one so that the message does not depend on the pid. */
static void last_error(const char *log, const char *tmpdir, const char *name, char *out, size_t len)
{
    out[0] = '\0';
    char *text = slurp(log, NULL);
    if (!text) return;
    const char *best = NULL, *last = NULL;
    size_t best_len = 0, last_len = 0;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        size_t l = nl ? (size_t)(nl - line) : strlen(line);
        if (l > 0 && line[l - 1] == '\r') l--;
        if (l) {
            last = line;
            last_len = l;
            if (!strncmp(line, "essim", 5)) best = line, best_len = l;
        }
        if (!nl) break;
        line = nl + 1;
    }
    if (!best) best = last, best_len = last_len;
    if (best) {
        sbuf b = {0};
        char *s = strndup(best, best_len);
        const char *p = s ? s : "";
        if (!strncmp(p, "essim: ", 7)) p += 7;
        size_t tl = strlen(tmpdir);
        char rel[64];
        fmt_to(rel, sizeof rel, "points/%s", name);
        while (*p) {
            const char *hit = tl ? strstr(p, tmpdir) : NULL;
            if (!hit) {
                sb_puts(&b, p);
                break;
            }
            sb_putn(&b, p, (size_t)(hit - p));
            sb_puts(&b, rel);
            p = hit + tl;
        }
        free(s);
        char *r = sb_take(&b);
        if (r) {
            fmt_to(out, len, "%s", r);
            free(r);
        }
    }
    free(text);
}

int sw_point_reap(const sw_sweep *sw, const char *dir, size_t i, pid_t pid, int wstatus,
                  double seconds, sw_point_result *res, es_err *err)
{
    char name[32], tmp[PATH_MAX], fin[PATH_MAX], path[PATH_MAX];
    point_name(i, name, sizeof name);
    fmt_to(tmp, sizeof tmp, "%s/points/%s.tmp-%ld", dir, name, (long)pid);
    fmt_to(fin, sizeof fin, "%s/points/%s", dir, name);
    memset(res, 0, sizeof *res);
    res->seconds = seconds;
    if (WIFEXITED(wstatus)) {
        res->exit_code = WEXITSTATUS(wstatus);
        res->ok = res->exit_code == 0;
    } else if (WIFSIGNALED(wstatus)) {
        res->exit_code = 128 + WTERMSIG(wstatus);
    } else {
        res->exit_code = 255;
    }
    struct stat st;
    if (stat(tmp, &st) != 0 && es_mkdir_p(tmp, err) < 0) return err ? err->code : ES_EIO;
    fmt_to(path, sizeof path, "%s/log.txt", tmp);
    if (!res->ok) {
        if (WIFSIGNALED(wstatus))
            fmt_to(res->error, sizeof res->error, "killed by signal %d (%s)", WTERMSIG(wstatus),
                   strsignal(WTERMSIG(wstatus)));
        else
            last_error(path, tmp, name, res->error, sizeof res->error);
        if (!res->error[0]) fmt_to(res->error, sizeof res->error, "exit status %d", res->exit_code);
    }
    fmt_to(path, sizeof path, "%s/.command_seconds", tmp);
    char *cs = slurp(path, NULL);
    if (cs) {
        res->cmd_seconds = strtod(cs, NULL);
        free(cs);
        remove(path);
    }
    /* point.json: what ran and how it ended. */
    sbuf b = {0};
    sb_printf(&b, "{\n  \"index\": %zu,\n  \"status\": \"%s\",\n  \"exit\": %d,\n  \"error\": ", i,
              res->ok ? "ok" : "failed", res->exit_code);
    if (res->ok)
        sb_puts(&b, "null");
    else
        sb_json_str(&b, res->error);
    sb_printf(&b, ",\n  \"command\": \"%s\",\n  \"trace\": ", sw_point_command(sw, i));
    if (sw->trace)
        sb_json_str(&b, sw->trace);
    else
        sb_puts(&b, "null");
    if (sw_point_mode(sw, i)) {
        sb_printf(&b, ",\n  \"mode\": \"%s\",\n  \"mode_reason\": ", sw_point_mode(sw, i));
        if (sw_point_mode_reason(sw, i))
            sb_json_str(&b, sw_point_mode_reason(sw, i));
        else
            sb_puts(&b, "null");
    }
    sb_printf(&b, ",\n  \"config_hash\": \"%s\",\n  \"seed\": %llu,\n  \"params\": {",
              sw_point_hash(sw, i), (unsigned long long)sw_point_seed(sw, i));
    for (size_t k = 0; k < sw->ncols; k++) {
        sb_puts(&b, k ? ", " : "");
        sb_json_str(&b, sw->cols[k].key);
        sb_puts(&b, ": ");
        sb_json_str(&b, sw_point_value(sw, i, k));
    }
    sb_printf(&b, "},\n  \"host_seconds\": %.6f,\n  \"command_seconds\": %.6f\n}\n", res->seconds,
              res->cmd_seconds);
    char *json = sb_take(&b);
    if (!json) return es_fail(err, ES_ENOMEM, "out of memory");
    fmt_to(path, sizeof path, "%s/point.json", tmp);
    es_atomic_file af;
    int rc = es_atomic_open(&af, path, err);
    if (rc == ES_OK) {
        fputs(json, af.fp);
        rc = es_atomic_commit(&af, err);
    }
    free(json);
    if (rc < 0) return rc;
    rm_rf(fin);
    if (rename(tmp, fin) != 0)
        return es_fail(err, ES_EIO, "rename %s -> %s: %s", tmp, fin, strerror(errno));
    return ES_OK;
}

int sw_point_run(const sw_sweep *sw, const char *dir, size_t i, sw_command_fn fn,
                 sw_point_result *res, es_err *err)
{
    double t0 = es_host_seconds();
    pid_t pid;
    ES_TRY(sw_point_spawn(sw, dir, i, fn, &pid, err));
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return es_fail(err, ES_EIO, "waitpid: %s", strerror(errno));
    return sw_point_reap(sw, dir, i, pid, st, es_host_seconds() - t0, res, err);
}

/* ---- results ------------------------------------------------------------------------------------
 */

void sw_pareto(size_t n, size_t m, const double *vals, const int *goal, int *front)
{
    for (size_t p = 0; p < n; p++) {
        front[p] = 1;
        for (size_t q = 0; q < n && front[p]; q++) {
            if (q == p) continue;
            int no_worse = 1, better = 0;
            for (size_t k = 0; k < m && no_worse; k++) {
                /* signed so that larger is better for every objective */
                double a = goal[k] == SW_GOAL_MIN ? -vals[p * m + k] : vals[p * m + k];
                double b = goal[k] == SW_GOAL_MIN ? -vals[q * m + k] : vals[q * m + k];
                if (b < a)
                    no_worse = 0;
                else if (b > a)
                    better = 1;
            }
            if (no_worse && better) front[p] = 0;
        }
    }
}

/* stats.csv rows: name, element, value (RFC 4180 fields). */
static void csv_cell(sbuf *b, const char *s)
{
    if (!s) return;
    int q = !*s ? 0
                : (strpbrk(s, ",\"\n\r") != NULL || isspace((unsigned char)s[0]) ||
                   isspace((unsigned char)s[strlen(s) - 1]));
    if (!q) {
        sb_puts(b, s);
        return;
    }
    sb_puts(b, "\"");
    for (const char *c = s; *c; c++) {
        if (*c == '"') sb_puts(b, "\"");
        sb_putn(b, c, 1);
    }
    sb_puts(b, "\"");
}

/* A JSON number as strtod would write it (no nan/inf, no leading '+', '0x' or '.'). */
static int is_json_number(const char *s)
{
    const char *p = s;
    if (*p == '-') p++;
    if (!isdigit((unsigned char)*p)) return 0;
    if (*p == '0' && isdigit((unsigned char)p[1])) return 0;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!isdigit((unsigned char)*p)) return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return *p == '\0';
}

static void json_value(sbuf *b, const char *s)
{
    if (!s)
        sb_puts(b, "null");
    else if (is_json_number(s))
        sb_puts(b, s);
    else if (!strcmp(s, "nan") || !strcmp(s, "inf") || !strcmp(s, "-inf"))
        sb_puts(b, "null");
    else
        sb_json_str(b, s);
}

typedef struct point_row {
    int state; /* 0 ok, 1 failed, 2 missing */
    int exit_code;
    char *error;
    statcsv stats;
} point_row;

static int write_atomic(const char *path, const char *text, es_err *err)
{
    es_atomic_file af;
    ES_TRY(es_atomic_open(&af, path, err));
    if (fputs(text, af.fp) == EOF) {
        es_atomic_abort(&af);
        return es_fail(err, ES_EIO, "%s: write error", path);
    }
    return es_atomic_commit(&af, err);
}

int sw_write_results(const sw_sweep *sw, const char *dir, size_t *nfailed, es_err *err)
{
    size_t n = sw->npoints, nok = 0, failed = 0;
    point_row *rows = calloc(n ? n : 1, sizeof *rows);
    if (!rows) return es_fail(err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char name[32], path[PATH_MAX];
        point_name(i, name, sizeof name);
        fmt_to(path, sizeof path, "%s/points/%s/point.json", dir, name);
        char *json = slurp(path, NULL);
        point_row *r = &rows[i];
        if (!json) {
            r->state = 2;
            r->exit_code = -1;
            r->error = es_strdup("not run");
            failed++;
            continue;
        }
        char *status = json_string_field(json, "status");
        r->state = status && !strcmp(status, "ok") ? 0 : 1;
        r->exit_code = (int)json_int_field(json, "exit", -1);
        r->error = json_string_field(json, "error");
        free(status);
        free(json);
        if (r->state == 0) {
            fmt_to(path, sizeof path, "%s/points/%s/stats.csv", dir, name);
            es_err ignore = {0}; /* unreadable statistics show as missing metrics */
            (void)statcsv_load(path, &r->stats, &ignore);
            nok++;
        } else {
            failed++;
        }
    }
    /* Metric columns: the explicit list, or each default present in some successful point;
     * plus explicit objectives' metrics. */
    size_t ncand = 0, nmet = 0;
    const char *cand[64 + ES_ARRAY_LEN(default_metrics)];
    if (sw->metrics) {
        for (size_t k = 0; k < sw->nmetrics && ncand < 64; k++)
            cand[ncand++] = sw->metrics[k];
    } else {
        for (size_t k = 0; k < ES_ARRAY_LEN(default_metrics); k++)
            cand[ncand++] = default_metrics[k];
    }
    for (size_t k = 0; k < sw->nobj && ncand < ES_ARRAY_LEN(cand); k++) {
        size_t j;
        for (j = 0; j < ncand; j++)
            if (!strcmp(cand[j], sw->obj_metric[k])) break;
        if (j == ncand) cand[ncand++] = sw->obj_metric[k];
    }
    const char *met[ES_ARRAY_LEN(cand)];
    for (size_t k = 0; k < ncand; k++) {
        int present = sw->metrics != NULL && k < sw->nmetrics;
        for (size_t i = 0; i < n && !present; i++)
            if (rows[i].state == 0 && statcsv_metric(&rows[i].stats, cand[k])) present = 1;
        if (present) met[nmet++] = cand[k];
    }
    /* Objectives: those measured (as finite numbers) on every successful point. */
    size_t nobj = 0;
    size_t obj_col[64];
    int goal[64];
    for (size_t k = 0; k < sw->nobj && nobj < 64; k++) {
        size_t c;
        for (c = 0; c < nmet; c++)
            if (!strcmp(met[c], sw->obj_metric[k])) break;
        if (c == nmet || nok == 0) continue;
        int all = 1;
        for (size_t i = 0; i < n && all; i++) {
            if (rows[i].state) continue;
            const char *v = statcsv_metric(&rows[i].stats, met[c]);
            char *end;
            double x = v ? strtod(v, &end) : NAN;
            if (!v || *end || !isfinite(x)) all = 0;
        }
        if (all) {
            obj_col[nobj] = c;
            goal[nobj++] = sw->obj_goal[k];
        }
    }
    double *vals = calloc(nok * (nobj ? nobj : 1) + 1, sizeof *vals);
    int *front = calloc(nok + 1, sizeof *front);
    int rc = vals && front ? ES_OK : es_fail(err, ES_ENOMEM, "out of memory");
    if (rc == ES_OK) {
        size_t p = 0;
        for (size_t i = 0; i < n; i++) {
            if (rows[i].state) continue;
            for (size_t k = 0; k < nobj; k++)
                vals[p * nobj + k] = strtod(statcsv_metric(&rows[i].stats, met[obj_col[k]]), NULL);
            p++;
        }
        sw_pareto(nok, nobj, vals, goal, front);
    }
    /* results.csv */
    sbuf csv = {0}, js = {0};
    int modes = !strcmp(sw->command, "simulate");
    sb_puts(&csv, modes ? "index,status,exit,mode" : "index,status,exit");
    for (size_t k = 0; k < sw->ncols; k++) {
        sb_puts(&csv, ",");
        csv_cell(&csv, sw->cols[k].key);
    }
    if (!sw->seed_swept) sb_puts(&csv, ",seed");
    for (size_t k = 0; k < nmet; k++) {
        sb_puts(&csv, ",");
        csv_cell(&csv, met[k]);
    }
    sb_puts(&csv, ",pareto,error\n");
    /* results.json */
    sb_printf(
        &js,
        "{\n  \"command\": \"%s\",\n  \"seed\": %llu,\n  \"points\": %zu,\n  \"failed\": %zu,\n",
        sw->command, (unsigned long long)sw->seed, n, failed);
    if (modes)
        sb_printf(&js, "  \"replayed\": %zu,\n  \"trained_again\": %zu,\n", n - sw->ntrain,
                  sw->ntrain);
    sb_puts(&js, "  \"columns\": [");
    for (size_t k = 0; k < sw->ncols; k++) {
        sb_puts(&js, k ? ", " : "");
        sb_json_str(&js, sw->cols[k].key);
    }
    sb_puts(&js, "],\n  \"metrics\": [");
    for (size_t k = 0; k < nmet; k++) {
        sb_puts(&js, k ? ", " : "");
        sb_json_str(&js, met[k]);
    }
    sb_puts(&js, "],\n  \"objectives\": [");
    for (size_t k = 0; k < nobj; k++) {
        sb_puts(&js, k ? ", " : "");
        sb_puts(&js, "{\"metric\": ");
        sb_json_str(&js, met[obj_col[k]]);
        sb_printf(&js, ", \"goal\": \"%s\"}", goal[k] == SW_GOAL_MIN ? "min" : "max");
    }
    sb_puts(&js, "],\n  \"rows\": [");
    size_t p = 0;
    for (size_t i = 0; i < n && rc == ES_OK; i++) {
        point_row *r = &rows[i];
        static const char *const state[] = {"ok", "failed", "missing"};
        int on_front = r->state == 0 && front[p];
        if (r->state == 0) p++;
        char num[32];
        sb_printf(&csv, "%zu,%s,", i, state[r->state]);
        if (r->exit_code >= 0) sb_printf(&csv, "%d", r->exit_code);
        sb_printf(&js, "%s\n    {\"index\": %zu, \"status\": \"%s\", \"exit\": ", i ? "," : "", i,
                  state[r->state]);
        if (r->exit_code >= 0)
            sb_printf(&js, "%d", r->exit_code);
        else
            sb_puts(&js, "null");
        if (modes) {
            /* decided by sw_validate, so a point that never ran has its mode too */
            const char *why = sw_point_mode_reason(sw, i);
            sb_printf(&csv, ",%s", sw_point_mode(sw, i));
            sb_printf(&js, ", \"mode\": \"%s\", \"mode_reason\": ", sw_point_mode(sw, i));
            if (why)
                sb_json_str(&js, why);
            else
                sb_puts(&js, "null");
        }
        sb_puts(&js, ", \"params\": {");
        for (size_t k = 0; k < sw->ncols; k++) {
            sb_puts(&csv, ",");
            csv_cell(&csv, sw_point_value(sw, i, k));
            sb_puts(&js, k ? ", " : "");
            sb_json_str(&js, sw->cols[k].key);
            sb_puts(&js, ": ");
            json_value(&js, sw_point_value(sw, i, k));
        }
        fmt_to(num, sizeof num, "%llu", (unsigned long long)sw_point_seed(sw, i));
        if (!sw->seed_swept) sb_printf(&csv, ",%s", num);
        sb_printf(&js, "}, \"seed\": %s, \"metrics\": {", num);
        for (size_t k = 0; k < nmet; k++) {
            const char *v = r->state == 0 ? statcsv_metric(&r->stats, met[k]) : NULL;
            sb_puts(&csv, ",");
            csv_cell(&csv, v);
            sb_puts(&js, k ? ", " : "");
            sb_json_str(&js, met[k]);
            sb_puts(&js, ": ");
            json_value(&js, v);
        }
        sb_printf(&csv, ",%s,", r->state ? "" : on_front ? "1" : "0");
        csv_cell(&csv, r->state ? r->error : NULL);
        sb_puts(&csv, "\n");
        sb_printf(&js, "}, \"pareto\": %s, \"error\": ",
                  r->state   ? "null"
                  : on_front ? "true"
                             : "false");
        if (r->state && r->error)
            sb_json_str(&js, r->error);
        else
            sb_puts(&js, "null");
        sb_puts(&js, "}");
    }
    sb_puts(&js, "\n  ]\n}\n");
    char *csv_text = sb_take(&csv), *js_text = sb_take(&js);
    if (rc == ES_OK && (!csv_text || !js_text)) rc = es_fail(err, ES_ENOMEM, "out of memory");
    char path[PATH_MAX];
    if (rc == ES_OK) {
        fmt_to(path, sizeof path, "%s/results.csv", dir);
        rc = write_atomic(path, csv_text, err);
    }
    if (rc == ES_OK) {
        fmt_to(path, sizeof path, "%s/results.json", dir);
        rc = write_atomic(path, js_text, err);
    }
    free(csv_text);
    free(js_text);
    free(vals);
    free(front);
    for (size_t i = 0; i < n; i++) {
        free(rows[i].error);
        statcsv_free(&rows[i].stats);
    }
    free(rows);
    if (nfailed) *nfailed = failed;
    return rc;
}

int sw_write_meta(const sw_sweep *sw, const char *dir, const char *mode, const sw_run_summary *s,
                  const char *command_line, es_err *err)
{
    sbuf b = {0};
    double overhead = s->ran && s->workers == 1 && !strcmp(mode, "local")
                          ? (s->host_seconds - s->cmd_seconds) / (double)s->ran
                          : (s->ran ? (s->point_seconds - s->cmd_seconds) / (double)s->ran : 0);
    sb_puts(&b, "{\n  \"version\": \"" PACKAGE_VERSION "\",\n  \"command_line\": ");
    sb_json_str(&b, command_line ? command_line : "");
    sb_puts(&b, ",\n  \"sweep\": ");
    sb_json_str(&b, sw->path);
    sb_printf(&b,
              ",\n  \"mode\": \"%s\",\n  \"workers\": %d,\n  \"points\": %zu,\n  \"ran\": %zu,\n"
              "  \"skipped\": %zu,\n  \"failed\": %zu,\n  \"host_seconds\": %.6f,\n"
              "  \"point_seconds\": %.6f,\n  \"command_seconds\": %.6f,\n"
              "  \"overhead_ms_per_point\": %.3f,\n  \"points_per_second\": %.4f,\n"
              "  \"coordinator_messages\": %llu,\n  \"coordinator_us_per_request\": %.2f\n}\n",
              mode, s->workers, s->total, s->ran, s->skipped, s->failed, s->host_seconds,
              s->point_seconds, s->cmd_seconds, 1000 * overhead,
              s->host_seconds > 0 ? (double)s->ran / s->host_seconds : 0.0,
              (unsigned long long)s->messages,
              s->messages ? 2e6 * s->coord_seconds / (double)s->messages : 0.0);
    char *text = sb_take(&b);
    if (!text) return es_fail(err, ES_ENOMEM, "out of memory");
    char path[PATH_MAX];
    fmt_to(path, sizeof path, "%s/sweep.json", dir);
    int rc = write_atomic(path, text, err);
    free(text);
    return rc;
}
