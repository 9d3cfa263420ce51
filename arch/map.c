/* map.c - placement of mapped layers on crossbars / IMAs / tiles and the block
 * enumeration the write policy works on. See map.h for the geometry and the block order;
 * everything here is integer arithmetic on that definition. */
#include "config.h"

#include "map.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct map_plan {
    map_config cfg;
    map_geometry geo;
    map_layer *layers;
    size_t nlayers;
    map_totals totals;
};

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

void map_config_from(const essim_config *cfg, map_config *mc)
{
    memset(mc, 0, sizeof *mc);
    mc->rows = cfg->arch.xbar.rows;
    mc->cols = cfg->arch.xbar.cols;
    mc->bits_per_cell = cfg->arch.xbar.bits_per_cell;
    mc->weight_bits = cfg->arch.xbar.weight_bits;
    mc->input_bits = cfg->arch.xbar.input_bits;
    mc->slicing = cfg->arch.xbar.slicing;
    mc->encoding = cfg->arch.xbar.encoding;
    mc->granularity = cfg->policy.granularity;
    mc->xbars_per_ima = cfg->arch.ima.xbars;
    mc->imas_per_tile = cfg->arch.tile.imas;
    mc->tiles = cfg->arch.chip.tiles;
    /* ISAAC keeps every weight resident: streaming weights in would rewrite cells for every
     * batch, which is exactly the wear this simulator measures. */
    mc->require_fit = 1;
    mc->replication = cfg->arch.map.replication;
    mc->copies = &cfg->arch.map.copies;
}

const char *map_granularity_name(int granularity)
{
    switch (granularity) {
    case CFG_GRAN_ROW: return "row";
    case CFG_GRAN_CROSSBAR: return "crossbar";
    case CFG_GRAN_WEIGHT: return "weight";
    default: return "?";
    }
}

int map_geometry_derive(const map_config *mc, map_geometry *geo, es_err *err)
{
    memset(geo, 0, sizeof *geo);
    /* The schema already bounds these; a hand-filled map_config (tests, tools) may not. */
    if (mc->rows < 1 || mc->cols < 1 || mc->bits_per_cell < 1 || mc->weight_bits < 1 ||
        mc->input_bits < 1 || mc->xbars_per_ima < 1 || mc->imas_per_tile < 1 || mc->tiles < 1)
        return es_fail(err, ES_ECONFIG,
                       "crossbar geometry and chip organisation must be positive (rows %lld, "
                       "cols %lld, bits_per_cell %lld, weight_bits %lld, input_bits %lld, "
                       "xbars/IMA %lld, IMAs/tile %lld, tiles %lld)",
                       (long long)mc->rows, (long long)mc->cols, (long long)mc->bits_per_cell,
                       (long long)mc->weight_bits, (long long)mc->input_bits,
                       (long long)mc->xbars_per_ima, (long long)mc->imas_per_tile,
                       (long long)mc->tiles);
    if (mc->slicing != CFG_SLICE_ACROSS && mc->slicing != CFG_SLICE_WITHIN)
        return es_fail(err, ES_ECONFIG, "unknown arch.xbar.slicing %d", mc->slicing);
    if (mc->encoding != CFG_ENC_OFFSET && mc->encoding != CFG_ENC_DIFFERENTIAL)
        return es_fail(err, ES_ECONFIG, "unknown arch.xbar.encoding %d", mc->encoding);
    if (mc->granularity != CFG_GRAN_ROW && mc->granularity != CFG_GRAN_CROSSBAR &&
        mc->granularity != CFG_GRAN_WEIGHT)
        return es_fail(err, ES_ECONFIG, "unknown policy.granularity %d", mc->granularity);
    uint64_t S = ceil_div((uint64_t)mc->weight_bits, (uint64_t)mc->bits_per_cell);
    uint64_t P = mc->encoding == CFG_ENC_DIFFERENTIAL ? 2 : 1;
    uint64_t cols = (uint64_t)mc->cols;
    uint64_t per_weight = mc->slicing == CFG_SLICE_WITHIN ? S * P : P;
    if (cols < per_weight) {
        if (mc->slicing == CFG_SLICE_WITHIN)
            return es_fail(err, ES_ECONFIG,
                           "with arch.xbar.slicing: within one weight takes %llu columns (%llu "
                           "slices x %llu cell%s) but arch.xbar.cols = %llu: raise arch.xbar.cols "
                           "to at least %llu, raise arch.xbar.bits_per_cell, or use "
                           "arch.xbar.slicing: across",
                           (unsigned long long)per_weight, (unsigned long long)S,
                           (unsigned long long)P, P > 1 ? "s" : "", (unsigned long long)cols,
                           (unsigned long long)per_weight);
        return es_fail(err, ES_ECONFIG,
                       "arch.xbar.cols = %llu cannot hold a differential pair (2 columns per "
                       "weight slice): raise arch.xbar.cols to at least 2 or use "
                       "arch.xbar.encoding: offset",
                       (unsigned long long)cols);
    }
    geo->slices = S;
    geo->cells_per_slice = P;
    geo->weights_per_row = cols / per_weight;
    geo->xbars_per_pos = mc->slicing == CFG_SLICE_ACROSS ? S : 1;
    geo->cells_per_xbar = (uint64_t)mc->rows * cols;
    return ES_OK;
}

/* Fills everything but the chip placement. */
static void place_layer(const map_config *mc, const map_geometry *geo, const map_layer_spec *sp,
                        map_layer *L)
{
    uint64_t rows = (uint64_t)mc->rows, nw = geo->weights_per_row;
    L->k = sp->k;
    L->n = sp->n;
    L->positions = sp->positions ? sp->positions : 1;
    L->copies = 1;
    L->rows = rows;
    L->weights_per_row = nw;
    L->slices = geo->slices;
    L->cells_per_slice = geo->cells_per_slice;
    L->row_tiles = ceil_div(sp->k, rows);
    L->col_tiles = ceil_div(sp->n, nw);
    L->xbars_per_pos = geo->xbars_per_pos;
    L->xbars = L->row_tiles * L->col_tiles * L->xbars_per_pos;
    L->cells_used = sp->k * sp->n * geo->slices * geo->cells_per_slice;
    L->utilisation = (double)L->cells_used / ((double)L->xbars * (double)geo->cells_per_xbar);
    L->granularity = mc->granularity;
    switch (mc->granularity) {
    case CFG_GRAN_ROW:
        L->blocks = sp->k * L->col_tiles;
        L->block_weights_max = ES_MIN(nw, sp->n);
        break;
    case CFG_GRAN_CROSSBAR:
        L->blocks = L->row_tiles * L->col_tiles;
        L->block_weights_max = ES_MIN(rows, sp->k) * ES_MIN(nw, sp->n);
        break;
    default:
        L->blocks = sp->k * sp->n;
        L->block_weights_max = 1;
        break;
    }
}

uint64_t map_vector_times(const map_layer *L)
{
    return ceil_div(L->positions, L->copies);
}

/* The copies of every layer (map.h, "Replication"). Layers are placed with one copy and
 * imas_per_copy set. */
static int replicate(const map_config *mc, map_plan *p, es_err *err)
{
    if (mc->replication == CFG_REPL_LIST && mc->copies) {
        for (size_t j = 0; j < mc->copies->n; j++) {
            double v = mc->copies->v[j];
            size_t i = 0;
            while (i < p->nlayers && strcmp(p->layers[i].name, mc->copies->key[j]))
                i++;
            if (i == p->nlayers)
                return es_fail(err, ES_ECONFIG,
                               "arch.map.copies names layer '%s', which the network does not "
                               "have",
                               mc->copies->key[j]);
            if (!(v >= 1) || v != (double)(uint64_t)v || v > 1e6)
                return es_fail(err, ES_ECONFIG,
                               "arch.map.copies: %s = %g is not a whole number of copies >= 1",
                               mc->copies->key[j], v);
            p->layers[i].copies = (uint64_t)v;
        }
        return ES_OK;
    }
    if (mc->replication != CFG_REPL_BALANCE) return ES_OK;
    uint64_t chip_imas = (uint64_t)mc->tiles * (uint64_t)mc->imas_per_tile, used = 0;
    for (size_t i = 0; i < p->nlayers; i++)
        used += p->layers[i].imas_per_copy;
    for (;;) {
        /* The bottleneck: the largest stage time, the earliest layer on a tie. */
        size_t b = 0;
        for (size_t i = 1; i < p->nlayers; i++)
            if (map_vector_times(&p->layers[i]) > map_vector_times(&p->layers[b])) b = i;
        if (!p->nlayers) break;
        map_layer *L = &p->layers[b];
        uint64_t now = map_vector_times(L);
        if (now <= 1) break;
        /* The fewest copies that take a vector time off: ceil(P / r) <= now - 1. */
        uint64_t r = ceil_div(L->positions, now - 1);
        uint64_t cost = (r - L->copies) * L->imas_per_copy;
        if (used + cost > chip_imas) break;
        used += cost;
        L->copies = r;
    }
    return ES_OK;
}

int map_create(const map_config *mc, const map_layer_spec *specs, size_t n, map_plan **out,
               es_err *err)
{
    *out = NULL;
    map_geometry geo;
    ES_TRY(map_geometry_derive(mc, &geo, err));
    for (size_t i = 0; i < n; i++)
        if (specs[i].k == 0 || specs[i].n == 0)
            return es_fail(err, ES_EINVAL, "layer '%s' has an empty weight matrix (%llu x %llu)",
                           specs[i].name ? specs[i].name : "?", (unsigned long long)specs[i].k,
                           (unsigned long long)specs[i].n);
    map_plan *p = calloc(1, sizeof *p);
    if (!p) goto nomem;
    p->cfg = *mc;
    p->geo = geo;
    p->layers = calloc(n ? n : 1, sizeof *p->layers);
    if (!p->layers) goto nomem;
    p->nlayers = n;
    uint64_t xpi = (uint64_t)mc->xbars_per_ima, ipt = (uint64_t)mc->imas_per_tile;
    uint64_t ima = 0;
    map_totals *t = &p->totals;
    for (size_t i = 0; i < n; i++) {
        map_layer *L = &p->layers[i];
        L->name = es_strdup(specs[i].name ? specs[i].name : "");
        if (!L->name) goto nomem;
        place_layer(mc, &geo, &specs[i], L);
        L->imas_per_copy = ceil_div(L->xbars, xpi);
        L->copy_slots = L->imas_per_copy * xpi;
    }
    int rc = replicate(mc, p, err);
    if (rc < 0) {
        map_destroy(p);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        map_layer *L = &p->layers[i];
        /* A fresh IMA per layer: an IMA's crossbars are fed from one input register and
         * share its ADCs, so two layers in one IMA would contend for them and break the
         * layer pipeline. Tiles are shared; their eDRAM and bus serve several IMAs anyway. */
        L->ima0 = ima;
        L->imas = L->copies * L->imas_per_copy;
        L->xbar0 = ima * xpi;
        L->tile0 = ima / ipt;
        L->tiles = (ima + L->imas - 1) / ipt - L->tile0 + 1;
        ima += L->imas;
        t->weights += L->k * L->n;
        t->xbars += L->copies * L->xbars;
        t->cells_used += L->copies * L->cells_used;
        t->blocks += L->blocks;
        t->copies += L->copies;
    }
    t->layers = n;
    t->imas = ima;
    t->tiles = ceil_div(ima, ipt);
    t->utilisation =
        t->xbars ? (double)t->cells_used / ((double)t->xbars * (double)geo.cells_per_xbar) : 0;
    t->chip_xbars = (uint64_t)mc->tiles * ipt * xpi;
    t->fits = t->tiles <= (uint64_t)mc->tiles;
    if (!t->fits && mc->require_fit) {
        es_fail(err, ES_ECONFIG,
                "network needs %llu crossbars (in %llu IMAs of %llu: each layer starts on a "
                "fresh IMA), the chip has %llu (arch.chip.tiles x arch.tile.imas x "
                "arch.ima.xbars = %llu x %llu x %llu): raise arch.chip.tiles to at least %llu "
                "(or use larger crossbars or more bits per cell)",
                (unsigned long long)t->xbars, (unsigned long long)t->imas, (unsigned long long)xpi,
                (unsigned long long)t->chip_xbars, (unsigned long long)mc->tiles,
                (unsigned long long)ipt, (unsigned long long)xpi, (unsigned long long)t->tiles);
        map_destroy(p);
        return ES_ECONFIG;
    }
    *out = p;
    return ES_OK;
nomem:
    map_destroy(p);
    return es_fail(err, ES_ENOMEM, "out of memory placing %zu layers", n);
}

void map_destroy(map_plan *plan)
{
    if (!plan) return;
    if (plan->layers)
        for (size_t i = 0; i < plan->nlayers; i++)
            free(plan->layers[i].name);
    free(plan->layers);
    free(plan);
}

size_t map_num_layers(const map_plan *plan)
{
    return plan->nlayers;
}

const map_layer *map_layer_at(const map_plan *plan, size_t i)
{
    return i < plan->nlayers ? &plan->layers[i] : NULL;
}

const map_totals *map_plan_totals(const map_plan *plan)
{
    return &plan->totals;
}

const map_geometry *map_plan_geometry(const map_plan *plan)
{
    return &plan->geo;
}

const map_config *map_plan_config(const map_plan *plan)
{
    return &plan->cfg;
}

/* ---- blocks ------------------------------------------------------------------------------ */

int map_block_get(const map_layer *L, uint64_t g, map_block *b)
{
    if (g >= L->blocks)
        return es_fail(NULL, ES_ERANGE, "block %llu of %llu", (unsigned long long)g,
                       (unsigned long long)L->blocks);
    uint64_t K = L->k, nw = L->weights_per_row;
    switch (L->granularity) {
    case CFG_GRAN_ROW:
        b->row0 = g % K;
        b->nrows = 1;
        b->col_tile = g / K;
        b->col0 = b->col_tile * nw;
        b->ncols = ES_MIN(nw, L->n - b->col0);
        b->row_tile = b->row0 / L->rows;
        break;
    case CFG_GRAN_CROSSBAR:
        b->row_tile = g % L->row_tiles;
        b->col_tile = g / L->row_tiles;
        b->row0 = b->row_tile * L->rows;
        b->nrows = ES_MIN(L->rows, K - b->row0);
        b->col0 = b->col_tile * nw;
        b->ncols = ES_MIN(nw, L->n - b->col0);
        break;
    default:
        b->row0 = g % K;
        b->col0 = g / K;
        b->nrows = b->ncols = 1;
        b->row_tile = b->row0 / L->rows;
        b->col_tile = b->col0 / nw;
        break;
    }
    b->data0 = b->col0 * K + b->row0;
    b->stride = K;
    return ES_OK;
}

uint64_t map_block_of(const map_layer *L, uint64_t row, uint64_t col)
{
    assert(row < L->k && col < L->n);
    uint64_t j = col / L->weights_per_row;
    switch (L->granularity) {
    case CFG_GRAN_ROW: return j * L->k + row;
    case CFG_GRAN_CROSSBAR: return j * L->row_tiles + row / L->rows;
    default: return col * L->k + row;
    }
}

uint64_t map_row_block(const map_layer *L, uint64_t row, uint64_t col_tile)
{
    return map_block_of(L, row, col_tile * L->weights_per_row);
}

uint64_t map_block_weights(const map_layer *L, uint64_t g)
{
    map_block b;
    if (map_block_get(L, g, &b) < 0) return 0;
    return b.nrows * b.ncols;
}

uint64_t map_block_cells(const map_layer *L, uint64_t g)
{
    return map_block_weights(L, g) * L->slices * L->cells_per_slice;
}

uint64_t map_block_row_writes(const map_layer *L, uint64_t g)
{
    map_block b;
    if (map_block_get(L, g, &b) < 0) return 0;
    /* Within slicing, the weight granularity also costs one row segment: the cells of one
     * weight are side by side in a single row. */
    return b.nrows * L->xbars_per_pos;
}

uint64_t map_xbar_slot(const map_layer *L, uint64_t row_tile, uint64_t col_tile, uint64_t slice)
{
    assert(row_tile < L->row_tiles && col_tile < L->col_tiles && slice < L->xbars_per_pos);
    return L->xbar0 + (col_tile * L->row_tiles + row_tile) * L->xbars_per_pos + slice;
}

uint64_t map_xbar_slot_copy(const map_layer *L, uint64_t copy, uint64_t row_tile, uint64_t col_tile,
                            uint64_t slice)
{
    assert(copy < L->copies);
    return map_xbar_slot(L, row_tile, col_tile, slice) + copy * L->copy_slots;
}

/* The bulk functions walk the weights in memory order (column c of W is the contiguous run
 * data[c K .. c K + K)) so the update, the weights and the per-block arrays all stream; with
 * row granularity the blocks of a column tile are indexed j K + r, i.e. the run maps onto
 * the contiguous slice norm2[j K .. j K + K). */
void map_block_norms2(const map_layer *L, const float *u, double *norm2)
{
    uint64_t K = L->k, N = L->n, nw = L->weights_per_row;
    switch (L->granularity) {
    case CFG_GRAN_ROW:
        memset(norm2, 0, L->blocks * sizeof *norm2);
        for (uint64_t c = 0; c < N; c++) {
            double *dst = norm2 + (c / nw) * K;
            const float *src = u + c * K;
            for (uint64_t r = 0; r < K; r++)
                dst[r] += (double)src[r] * (double)src[r];
        }
        break;
    case CFG_GRAN_CROSSBAR:
        memset(norm2, 0, L->blocks * sizeof *norm2);
        for (uint64_t c = 0; c < N; c++) {
            double *dst = norm2 + (c / nw) * L->row_tiles;
            const float *src = u + c * K;
            for (uint64_t t = 0; t < L->row_tiles; t++) {
                uint64_t r1 = ES_MIN(K, (t + 1) * L->rows);
                double s = 0;
                for (uint64_t r = t * L->rows; r < r1; r++)
                    s += (double)src[r] * (double)src[r];
                dst[t] += s;
            }
        }
        break;
    default:
        for (uint64_t i = 0; i < K * N; i++)
            norm2[i] = (double)u[i] * (double)u[i];
        break;
    }
}

void map_block_axpy(const map_layer *L, uint64_t g, float alpha, const float *u, float *w)
{
    map_block b;
    if (map_block_get(L, g, &b) < 0) return;
    for (uint64_t i = 0; i < b.ncols; i++) {
        uint64_t base = b.data0 + i * b.stride;
        for (uint64_t r = 0; r < b.nrows; r++)
            w[base + r] += alpha * u[base + r];
    }
}

void map_blocks_apply(const map_layer *L, const float *scale, const float *u, float *w)
{
    uint64_t K = L->k, N = L->n, nw = L->weights_per_row;
    switch (L->granularity) {
    case CFG_GRAN_ROW:
        for (uint64_t c = 0; c < N; c++) {
            const float *sc = scale + (c / nw) * K;
            for (uint64_t r = 0; r < K; r++)
                if (sc[r] != 0.0f) w[c * K + r] += sc[r] * u[c * K + r];
        }
        break;
    case CFG_GRAN_CROSSBAR:
        for (uint64_t c = 0; c < N; c++) {
            const float *sc = scale + (c / nw) * L->row_tiles;
            for (uint64_t t = 0; t < L->row_tiles; t++) {
                if (sc[t] == 0.0f) continue;
                uint64_t r1 = ES_MIN(K, (t + 1) * L->rows);
                for (uint64_t r = t * L->rows; r < r1; r++)
                    w[c * K + r] += sc[t] * u[c * K + r];
            }
        }
        break;
    default:
        for (uint64_t i = 0; i < K * N; i++)
            if (scale[i] != 0.0f) w[i] += scale[i] * u[i];
        break;
    }
}
