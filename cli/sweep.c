/* sweep.c - a loaded sweep and its points: the accessors, each point's value, seed and hash,
 * and binding a point to a complete configuration (the base, the axes, its own seed) with
 * its validation. Parsing is in sweep_load.c, running in sweep_run.c, results in
 * sweep_results.c; the scheduling (local pool, MPI) lives in the commands. Everything here is
 * deterministic in the point index. */
#include "config.h"

#include "sweep_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "map_trace.h"
#include "rng.h"
#include "trace.h"
#include "trace_hdr.h"

void sw_fmt(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* ---- the sweep ------------------------------------------------------------------------ */

/* One swept key: its values, and which dimension of the point grid picks among them. */
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
    sw_fmt(buf, len, "; %zu replayed, %zu trained again%s", sw->npoints - t, t,
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
    if (sw->ncols == 0) sw_fmt(buf, len, "base configuration");
}

/* ---- point configurations ------------------------------------------------------------------ */

/* A --set error names "--set KEY=VALUE" as its file: point it at the sweep file instead. */
static void relocate_error(es_err *err, const char *set, const cfg_node *origin)
{
    if (!err || !origin || origin->line <= 0) return;
    char prefix[600];
    sw_fmt(prefix, sizeof prefix, "--set %s: ", set);
    size_t pl = strlen(prefix);
    if (strncmp(err->msg, prefix, pl) != 0) return;
    char rest[sizeof err->msg];
    sw_fmt(rest, sizeof rest, "%s", err->msg + pl);
    sw_fmt(err->msg, sizeof err->msg, "%s:%d:%d: %s", origin->file, origin->line, origin->col,
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
        sw_flow_text(&b, n);
        char *set = sb_take(&b);
        rc = set ? cfg_doc_set(doc, set, err) : es_fail(err, ES_ENOMEM, "out of memory");
        free(set);
    }
    for (size_t k = 0; rc == ES_OK && k < noverrides; k++)
        rc = cfg_doc_set(doc, overrides[k], err);
    if (rc == ES_OK) rc = cfg_bind_recorded(doc, cfg, err); /* the trace's recorded keys */
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
        sw_fmt(s, sizeof s, "%s=%s", c->key, c->set[d]);
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
        sw_fmt(v[k], len, "%s=%s", c->key, c->set[d]);
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
            sw_fmt(s, len, "%s=%s", c->key, c->set[d]);
            rc = apply_set(doc, s, c->origin[d], err);
            free(s);
        }
        if (rc == ES_OK && !sw->seed_swept) {
            sw_fmt(seedset, sizeof seedset, "seed=%llu",
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
    if (rc == ES_OK) rc = cfg_bind_recorded(doc, tcfg, &e2);
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
