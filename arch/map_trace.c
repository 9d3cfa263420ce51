/* map_trace.c - see map_trace.h. */
#include "map_trace.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int map_trace_layers(trace_hdr *th, const map_plan *plan, es_err *err)
{
    uint32_t nl = (uint32_t)map_num_layers(plan);
    th->layers = calloc(nl ? nl : 1, sizeof *th->layers);
    if (!th->layers) return es_fail(err, ES_ENOMEM, "out of memory");
    for (uint32_t l = 0; l < nl; l++) {
        const map_layer *M = map_layer_at(plan, l);
        trace_layer *L = &th->layers[l];
        if (M->blocks > UINT32_MAX || M->k > UINT32_MAX || M->n > UINT32_MAX ||
            M->xbars > UINT32_MAX)
            return es_fail(err, ES_ERANGE, "layer %s is too large for a trace", M->name);
        L->name = M->name;
        L->k_rows = (uint32_t)M->k;
        L->n_cols = (uint32_t)M->n;
        L->row_tiles = (uint32_t)M->row_tiles;
        L->col_tiles = (uint32_t)M->col_tiles;
        L->slices = (uint32_t)M->slices;
        L->cells_per_slice = (uint32_t)M->cells_per_slice;
        L->n_w = (uint32_t)M->weights_per_row;
        L->granularity = (uint8_t)M->granularity;
        L->blocks = (uint32_t)M->blocks;
        L->crossbars = (uint32_t)M->xbars;
    }
    th->h.n_layers = nl;
    th->h.layers = th->layers;
    return ES_OK;
}

/* ---- replay compatibility ----------------------------------------------------------- */

/* The keys that fix the crossbar geometry of a trace. */
static const char *const geometry_keys[] = {
    "arch.xbar.rows",       "arch.xbar.cols",    "arch.xbar.bits_per_cell", "arch.xbar.weight_bits",
    "arch.xbar.input_bits", "arch.xbar.slicing", "arch.xbar.encoding",      "policy.granularity",
};

static int64_t geo_value(const essim_config *c, size_t i)
{
    switch (i) {
    case 0: return c->arch.xbar.rows;
    case 1: return c->arch.xbar.cols;
    case 2: return c->arch.xbar.bits_per_cell;
    case 3: return c->arch.xbar.weight_bits;
    case 4: return c->arch.xbar.input_bits;
    case 5: return c->arch.xbar.slicing;
    case 6: return c->arch.xbar.encoding;
    default: return c->policy.granularity;
    }
}

/* Names the configuration keys that differ from the trace's: "arch.xbar.rows is 256 here,
 * 128 in the trace". */
static void geometry_diff(const essim_config *cfg, const essim_config *tcfg, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = 0;
    for (size_t i = 0; i < ES_ARRAY_LEN(geometry_keys); i++) {
        int64_t a = geo_value(cfg, i), b = geo_value(tcfg, i);
        if (a == b) continue;
        char va[32], vb[32];
        if (i >= 5) {
            snprintf(va, sizeof va, "%s", cfg_choice_name(geometry_keys[i], (int)a));
            snprintf(vb, sizeof vb, "%s", cfg_choice_name(geometry_keys[i], (int)b));
        } else {
            snprintf(va, sizeof va, "%" PRId64, a);
            snprintf(vb, sizeof vb, "%" PRId64, b);
        }
        len +=
            (size_t)snprintf(buf + len, len < n ? n - len : 0, "%s%s is %s here, %s in the trace",
                             len ? "; " : "", geometry_keys[i], va, vb);
        if (len >= n) break;
    }
}

int map_check_trace(const trace_header *th, const char *path, const essim_config *tcfg,
                    const essim_config *cfg, map_plan **plan_out, es_err *err)
{
    if (plan_out) *plan_out = NULL;
    if (th->n_layers == 0)
        return es_fail(err, ES_ECONFIG, "%s: the trace has no mapped layers to replay", path);
    map_layer_spec *specs = calloc(th->n_layers, sizeof *specs);
    if (!specs) return es_fail(err, ES_ENOMEM, "out of memory");
    for (uint32_t l = 0; l < th->n_layers; l++) {
        specs[l].name = th->layers[l].name;
        specs[l].k = th->layers[l].k_rows;
        specs[l].n = th->layers[l].n_cols;
    }
    /* Input vectors per image (what replication balances): the forward read's vectors over
     * the recorded batch. */
    uint64_t B = tcfg->train.batch > 0 ? (uint64_t)tcfg->train.batch : 1;
    for (uint32_t i = 0; i < th->n_ops; i++) {
        const trace_op *o = &th->ops[i];
        if (o->layer < th->n_layers && o->kind == LOP_MVM && o->phase == LOP_FORWARD &&
            o->n > LOP_C_VECTORS)
            specs[o->layer].positions = o->counts[LOP_C_VECTORS] / B;
    }
    map_config mc;
    map_config_from(cfg, &mc);
    map_plan *plan = NULL;
    int rc = map_create(&mc, specs, th->n_layers, &plan, err);
    free(specs);
    for (uint32_t l = 0; rc == ES_OK && l < th->n_layers; l++) {
        const trace_layer *t = &th->layers[l];
        const map_layer *L = map_layer_at(plan, l);
        const char *field = NULL;
        uint64_t tv = 0, cv = 0;
#define GEO(f, a, b)                                                                               \
    if (!field && (uint64_t)(a) != (uint64_t)(b)) field = f, tv = (uint64_t)(a), cv = (uint64_t)(b)
        GEO("row_tiles", t->row_tiles, L->row_tiles);
        GEO("col_tiles", t->col_tiles, L->col_tiles);
        GEO("slices", t->slices, L->slices);
        GEO("cells_per_slice", t->cells_per_slice, L->cells_per_slice);
        GEO("n_w", t->n_w, L->weights_per_row);
        GEO("granularity", t->granularity, L->granularity);
        GEO("blocks", t->blocks, L->blocks);
        GEO("crossbars", t->crossbars, L->xbars);
        GEO("input_bits", tcfg->arch.xbar.input_bits, cfg->arch.xbar.input_bits);
#undef GEO
        if (field) {
            char diff[512];
            geometry_diff(cfg, tcfg, diff, sizeof diff);
            rc = es_fail(err, ES_ECONFIG,
                         "%s: layer %s was recorded with %s %" PRIu64
                         " but this configuration gives %" PRIu64 "%s%s%s; replay needs the "
                         "trace's crossbar geometry (train again for a new geometry)",
                         path, t->name, field, tv, cv, diff[0] ? " (" : "", diff,
                         diff[0] ? ")" : "");
        }
    }
    if (rc == ES_OK && plan_out)
        *plan_out = plan;
    else
        map_destroy(plan);
    return rc;
}
