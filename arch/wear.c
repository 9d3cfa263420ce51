/* wear.c - per-cell endurance, failures from per-block write counts, their effect on the
 * functional weights and the exact lifetime quantiles. The equations are in wear.h. */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cell.h"
#include "rng.h"
#include "wear.h"

/* The smaller of two endurances (never NaN): a compare, where fminf is a library call that
 * also orders NaNs. */
static inline float min_f(float a, float b)
{
    return b < a ? b : a;
}

enum { CELL_FAILED = 1, CELL_STUCK_HIGH = 2 };

typedef struct wear_layer {
    const map_layer *map;
    uint64_t cells;       /* K N x pw */
    uint64_t pw;          /* cells per weight: copies x S x P (wear.h, "Copies") */
    float *endur;         /* per cell */
    uint8_t *state;       /* per cell: CELL_FAILED | CELL_STUCK_HIGH */
    uint64_t *count;      /* per block: writes */
    float *min_healthy;   /* per block: smallest endurance of its healthy cells (+inf: none) */
    uint64_t *failed_blk; /* per block: failed cells */
    uint64_t failed;
    float scale; /* R of the last wear_apply that saw a healthy weight (0: none yet) */
} wear_layer;

struct wear_model {
    const map_plan *plan;
    size_t nl;
    wear_layer *ls;
    uint64_t S, P, bpc, wb; /* slices, cells per slice, bits per cell, weight bits */
    int levels;             /* L = 2^bpc */
    int differential;
    int model; /* CFG_WEAR_* */
    double slope, g_on, g_off;
    double endurance_mean, sigma;
};

/* ---- creation ------------------------------------------------------------------------- */

static int check_config(const essim_config *cfg, const map_config *mc, es_err *err)
{
    const double mean = cfg->arch.cell.endurance_mean, sigma = cfg->arch.cell.endurance_sigma_log10;
    if (!(mean >= 1) || !isfinite(mean))
        return es_fail(err, ES_ECONFIG, "arch.cell.endurance_mean = %g: must be finite and >= 1",
                       mean);
    if (!(sigma >= 0) || !isfinite(sigma))
        return es_fail(err, ES_ECONFIG, "arch.cell.endurance_sigma_log10 = %g: must be >= 0",
                       sigma);
    if (cfg->arch.wear.model != CFG_WEAR_SUDDEN && cfg->arch.wear.model != CFG_WEAR_GRADUAL)
        return es_fail(err, ES_ECONFIG, "arch.wear.model = %d: unknown (sudden or gradual)",
                       cfg->arch.wear.model);
    if (!(cfg->arch.wear.stuck_high >= 0 && cfg->arch.wear.stuck_high <= 1))
        return es_fail(err, ES_ECONFIG, "arch.wear.stuck_high = %g: must be in [0, 1]",
                       cfg->arch.wear.stuck_high);
    if (!(cfg->arch.wear.gradual_slope >= 0) || !isfinite(cfg->arch.wear.gradual_slope))
        return es_fail(err, ES_ECONFIG, "arch.wear.gradual_slope = %g: must be finite and >= 0",
                       cfg->arch.wear.gradual_slope);
    /* Q = 2^(wb-1) - 1 must be >= 1 to scale by; 62 keeps the digit sums exact in int64. */
    if (mc->weight_bits < 2 || mc->weight_bits > 62)
        return es_fail(err, ES_ECONFIG,
                       "arch.xbar.weight_bits = %lld: the wear model needs 2 to 62 bits",
                       (long long)mc->weight_bits);
    if (mc->bits_per_cell < 1 || mc->bits_per_cell > 16)
        return es_fail(err, ES_ECONFIG,
                       "arch.xbar.bits_per_cell = %lld: a cell stores 1 to 16 bits",
                       (long long)mc->bits_per_cell);
    return ES_OK;
}

/* Draw layer l's cells and set up its blocks. */
static int layer_init(wear_model *w, const cell_model *cm, uint64_t seed, double stuck_high,
                      size_t l, es_err *err)
{
    wear_layer *wl = &w->ls[l];
    const map_layer *L = map_layer_at(w->plan, l);
    wl->map = L;
    wl->pw = L->copies * w->S * w->P;
    uint64_t per_weight = wl->pw;
    if (L->k != 0 && L->n > UINT64_MAX / L->k / per_weight)
        return es_fail(err, ES_ENOMEM, "layer '%s': too many cells", L->name);
    wl->cells = L->k * L->n * per_weight;
    if (wl->cells > SIZE_MAX / sizeof(float) || L->blocks > SIZE_MAX / sizeof(uint64_t))
        return es_fail(err, ES_ENOMEM, "layer '%s': too many cells", L->name);
    size_t nc = (size_t)wl->cells, nb = (size_t)L->blocks;
    wl->endur = malloc((nc ? nc : 1) * sizeof *wl->endur);
    wl->state = malloc(nc ? nc : 1);
    wl->count = calloc(nb ? nb : 1, sizeof *wl->count);
    wl->min_healthy = malloc((nb ? nb : 1) * sizeof *wl->min_healthy);
    wl->failed_blk = calloc(nb ? nb : 1, sizeof *wl->failed_blk);
    if (!wl->endur || !wl->state || !wl->count || !wl->min_healthy || !wl->failed_blk)
        return es_fail(err, ES_ENOMEM, "out of memory for the wear state of layer '%s'", L->name);

    rng_stream r;
    rng_init_indexed(&r, seed, "wear", (uint64_t)l);
    const int exact = cm->endurance_sigma_log10 == 0;
    for (size_t c = 0; c < nc; c++) {
        double z = rng_normal(&r);
        double u = rng_uniform(&r);
        /* sigma = 0: the mean itself, not 10^log10(mean), which may round below it. */
        double e = exact ? cm->cfg.endurance_mean : cell_endurance(cm, z);
        wl->endur[c] = (float)e;
        wl->state[c] = u < stuck_high ? CELL_STUCK_HIGH : 0;
    }
    /* Block minima, in one sweep over memory through the block rectangles. */
    for (uint64_t g = 0; g < L->blocks; g++) {
        map_block b;
        map_block_get(L, g, &b);
        float m = INFINITY;
        for (uint64_t i = 0; i < b.ncols; i++)
            for (uint64_t rr = 0; rr < b.nrows; rr++) {
                uint64_t c0 = (b.data0 + i * b.stride + rr) * per_weight;
                for (uint64_t j = 0; j < per_weight; j++)
                    m = min_f(m, wl->endur[c0 + j]);
            }
        wl->min_healthy[g] = m;
    }
    return ES_OK;
}

int wear_create(const essim_config *cfg, const map_plan *plan, wear_model **out, es_err *err)
{
    if (!out) return es_fail(err, ES_EINVAL, "wear_create: NULL output");
    *out = NULL;
    if (!cfg || !plan) return es_fail(err, ES_EINVAL, "wear_create: NULL configuration or plan");
    const map_config *mc = map_plan_config(plan);
    const map_geometry *geo = map_plan_geometry(plan);
    ES_TRY(check_config(cfg, mc, err));
    cell_config cc;
    cell_config_from(cfg, NULL, &cc);
    cc.bits_per_cell = mc->bits_per_cell;
    cell_model cm;
    ES_TRY(cell_init(&cm, &cc, err));

    wear_model *w = calloc(1, sizeof *w);
    if (!w) return es_fail(err, ES_ENOMEM, "out of memory");
    w->plan = plan;
    w->S = geo->slices;
    w->P = geo->cells_per_slice;
    w->bpc = (uint64_t)mc->bits_per_cell;
    w->wb = (uint64_t)mc->weight_bits;
    w->levels = 1 << mc->bits_per_cell;
    w->differential = mc->encoding == CFG_ENC_DIFFERENTIAL;
    w->model = cfg->arch.wear.model;
    w->slope = cfg->arch.wear.gradual_slope;
    w->g_on = cm.g_on_s;
    w->g_off = cm.g_off_s;
    w->endurance_mean = cfg->arch.cell.endurance_mean;
    w->sigma = cfg->arch.cell.endurance_sigma_log10;
    w->nl = map_num_layers(plan);
    w->ls = calloc(w->nl ? w->nl : 1, sizeof *w->ls);
    if (!w->ls) {
        free(w);
        return es_fail(err, ES_ENOMEM, "out of memory");
    }
    for (size_t l = 0; l < w->nl; l++) {
        int rc = layer_init(w, &cm, (uint64_t)cfg->seed, cfg->arch.wear.stuck_high, l, err);
        if (rc < 0) {
            wear_destroy(w);
            return rc;
        }
    }
    *out = w;
    return ES_OK;
}

void wear_destroy(wear_model *w)
{
    if (!w) return;
    for (size_t l = 0; l < w->nl; l++) {
        free(w->ls[l].endur);
        free(w->ls[l].state);
        free(w->ls[l].count);
        free(w->ls[l].min_healthy);
        free(w->ls[l].failed_blk);
    }
    free(w->ls);
    free(w);
}

/* ---- recording writes ---------------------------------------------------------------- */

/* Fail every healthy cell of block g with endurance below its count; recompute the block's
 * healthy minimum. Returns the cells that failed. */
static uint64_t fail_block(const wear_model *w, wear_layer *wl, uint64_t g)
{
    map_block b;
    map_block_get(wl->map, g, &b);
    const uint64_t per_weight = wl->pw;
    const double n = (double)wl->count[g];
    uint64_t failed = 0;
    float m = INFINITY;
    for (uint64_t i = 0; i < b.ncols; i++)
        for (uint64_t r = 0; r < b.nrows; r++) {
            uint64_t c0 = (b.data0 + i * b.stride + r) * per_weight;
            for (uint64_t c = c0; c < c0 + per_weight; c++) {
                if (wl->state[c] & CELL_FAILED) continue;
                if (n > (double)wl->endur[c]) {
                    wl->state[c] |= CELL_FAILED;
                    failed++;
                } else {
                    m = min_f(m, wl->endur[c]);
                }
            }
        }
    wl->min_healthy[g] = m;
    wl->failed_blk[g] += failed;
    wl->failed += failed;
    return failed;
}

/* k more writes (or pulses) of block g; returns the cells that failed with them. */
static inline uint64_t record_block_k(wear_model *w, wear_layer *wl, uint64_t g, uint64_t k)
{
    uint64_t n = wl->count[g] += k;
    return (double)n > (double)wl->min_healthy[g] ? fail_block(w, wl, g) : 0;
}

static inline uint64_t record_block(wear_model *w, wear_layer *wl, uint64_t g)
{
    return record_block_k(w, wl, g, 1);
}

uint64_t wear_record_n(wear_model *w, size_t l, const uint8_t *mask, const uint32_t *n)
{
    assert(w && l < w->nl && mask && n);
    if (!w || l >= w->nl || !mask || !n) return 0;
    wear_layer *wl = &w->ls[l];
    uint64_t failed = 0;
    for (uint64_t g = 0; g < wl->map->blocks; g++)
        if (mask[g] && n[g]) failed += record_block_k(w, wl, g, n[g]);
    return failed;
}

uint64_t wear_record(wear_model *w, size_t l, const uint8_t *mask)
{
    assert(w && l < w->nl && mask);
    if (!w || l >= w->nl || !mask) return 0;
    wear_layer *wl = &w->ls[l];
    uint64_t failed = 0;
    for (uint64_t g = 0; g < wl->map->blocks; g++)
        if (mask[g]) failed += record_block(w, wl, g);
    return failed;
}

uint64_t wear_record_bits(wear_model *w, size_t l, const uint8_t *bits)
{
    assert(w && l < w->nl && bits);
    if (!w || l >= w->nl || !bits) return 0;
    wear_layer *wl = &w->ls[l];
    const uint64_t G = wl->map->blocks;
    uint64_t failed = 0;
    for (uint64_t i = 0; i < (G + 7) / 8; i++)
        for (unsigned b = bits[i]; b; b &= b - 1) {
            uint64_t g = i * 8 + (uint64_t)__builtin_ctz(b);
            if (g < G) failed += record_block(w, wl, g);
        }
    return failed;
}

void wear_set_counts(wear_model *w, size_t l, const uint64_t *counts)
{
    assert(w && l < w->nl && counts);
    if (!w || l >= w->nl || !counts) return;
    wear_layer *wl = &w->ls[l];
    const uint64_t per_weight = wl->pw;
    for (uint64_t c = 0; c < wl->cells; c++)
        wl->state[c] &= (uint8_t)~CELL_FAILED;
    wl->failed = 0;
    for (uint64_t g = 0; g < wl->map->blocks; g++) {
        wl->count[g] = counts[g];
        wl->failed_blk[g] = 0;
        /* Every cell is healthy again: the minimum over all of them, then fail_block. */
        map_block b;
        map_block_get(wl->map, g, &b);
        float m = INFINITY;
        for (uint64_t i = 0; i < b.ncols; i++)
            for (uint64_t r = 0; r < b.nrows; r++) {
                uint64_t c0 = (b.data0 + i * b.stride + r) * per_weight;
                for (uint64_t j = 0; j < per_weight; j++)
                    m = min_f(m, wl->endur[c0 + j]);
            }
        wl->min_healthy[g] = m;
        if ((double)counts[g] > (double)m) fail_block(w, wl, g);
    }
}

/* ---- effect on the weights ---------------------------------------------------------- */

/* Highest level cell c of a block written n times can reach (wear.h, gradual). */
static double window_top(const wear_model *w, double n, double e)
{
    const double top = (double)(w->levels - 1);
    if (w->model != CFG_WEAR_GRADUAL || !(n > e)) return top;
    double g = w->g_on * pow(n / e, -w->slope);
    double t = top * (g - w->g_off) / (w->g_on - w->g_off);
    return t < 0 ? 0 : t > top ? top : t;
}

/* The failed-cell version of one weight x whose cells start at c0 (some of them failed). */
static float worn_weight(const wear_model *w, const wear_layer *wl, uint64_t c0, double n, float x,
                         double R)
{
    const int64_t half = (int64_t)1 << (w->wb - 1), Q = half - 1;
    const uint64_t mask = (uint64_t)w->levels - 1;
    double qd = round((double)x / R * (double)Q);
    int64_t q = qd >= (double)Q ? Q : qd <= (double)-half ? -half : (int64_t)qd;
    uint64_t v[2];
    if (w->differential) {
        v[0] = q > 0 ? (uint64_t)q : 0;
        v[1] = q < 0 ? (uint64_t)-q : 0;
    } else {
        v[0] = (uint64_t)(q + half);
        v[1] = 0;
    }
    double qp = 0;
    const uint64_t sp = w->S * w->P; /* cells of one copy of the weight */
    for (uint64_t s = 0; s < w->S; s++) {
        double place = ldexp(1.0, (int)(s * w->bpc));
        for (uint64_t p = 0; p < w->P; p++) {
            double d = (double)((v[p] >> (s * w->bpc)) & mask);
            /* The copies compute with their own cells; the functional model keeps one value,
             * the pessimistic one: a digit whose cell failed in any copy takes that copy's
             * failure (the first such copy), wear.h "Copies". */
            for (uint64_t r = 0; r < wl->map->copies; r++) {
                uint64_t c = c0 + r * sp + s * w->P + p;
                if (!(wl->state[c] & CELL_FAILED)) continue;
                if (w->model == CFG_WEAR_GRADUAL)
                    d = fmin(d, window_top(w, n, (double)wl->endur[c]));
                else
                    d = (wl->state[c] & CELL_STUCK_HIGH) ? (double)mask : 0.0;
                break;
            }
            qp += (p == 1 ? -d : d) * place;
        }
    }
    if (!w->differential) qp -= (double)half;
    return (float)(qp * R / (double)Q);
}

/* 1 if weight idx of the layer holds a failed cell. */
static int weight_failed(const wear_model *w, const wear_layer *wl, uint64_t idx)
{
    uint64_t per_weight = wl->pw, c0 = idx * per_weight;
    for (uint64_t j = 0; j < per_weight; j++)
        if (wl->state[c0 + j] & CELL_FAILED) return 1;
    return 0;
}

void wear_apply(wear_model *w, size_t l, float *weights)
{
    assert(w && l < w->nl && weights);
    if (!w || l >= w->nl || !weights) return;
    wear_layer *wl = &w->ls[l];
    if (!wl->failed) return;
    const map_layer *L = wl->map;
    const uint64_t nw = L->k * L->n, per_weight = wl->pw;
    /* The scale comes from the healthy weights: the worn ones carry what their stuck cells
       impose, which must not feed back into the scale (it would grow without bound). */
    float R = 0;
    for (uint64_t g = 0; g < L->blocks; g++) {
        map_block b;
        map_block_get(L, g, &b);
        int blk_failed = wl->failed_blk[g] != 0;
        for (uint64_t i = 0; i < b.ncols; i++)
            for (uint64_t r = 0; r < b.nrows; r++) {
                uint64_t idx = b.data0 + i * b.stride + r;
                if (blk_failed && weight_failed(w, wl, idx)) continue;
                R = fmaxf(R, fabsf(weights[idx])); /* fmaxf skips NaN */
            }
    }
    if (R > 0 && isfinite(R)) {
        wl->scale = R;
    } else if (wl->scale > 0) {
        R = wl->scale;
    } else { /* every weight worn before any scale was seen: the whole layer's */
        for (uint64_t i = 0; i < nw; i++)
            R = fmaxf(R, fabsf(weights[i]));
        wl->scale = R;
    }
    if (!(R > 0) || !isfinite(R)) return;
    for (uint64_t g = 0; g < L->blocks; g++) {
        if (!wl->failed_blk[g]) continue;
        map_block b;
        map_block_get(L, g, &b);
        const double n = (double)wl->count[g];
        for (uint64_t i = 0; i < b.ncols; i++)
            for (uint64_t r = 0; r < b.nrows; r++) {
                uint64_t idx = b.data0 + i * b.stride + r, c0 = idx * per_weight;
                int any = 0;
                for (uint64_t j = 0; j < per_weight && !any; j++)
                    any = wl->state[c0 + j] & CELL_FAILED;
                if (any) weights[idx] = worn_weight(w, wl, c0, n, weights[idx], (double)R);
            }
    }
}

/* ---- checkpoints ------------------------------------------------------------------------ */

void wear_save(const wear_model *w, es_put_fn put, void *ctx)
{
    char name[64];
    for (size_t l = 0; l < w->nl; l++) {
        snprintf(name, sizeof name, "wear/counts/%zu", l);
        put(ctx, name, w->ls[l].count, NULL, NULL, (size_t)w->ls[l].map->blocks);
        snprintf(name, sizeof name, "wear/scale/%zu", l);
        put(ctx, name, NULL, &w->ls[l].scale, NULL, 1);
    }
}

int wear_restore(wear_model *w, es_get_fn get, void *ctx, es_err *err)
{
    char name[64];
    for (size_t l = 0; l < w->nl; l++) {
        wear_layer *wl = &w->ls[l];
        size_t nb = (size_t)wl->map->blocks;
        uint64_t *c = malloc((nb ? nb : 1) * sizeof *c);
        if (!c) return es_fail(err, ES_ENOMEM, "out of memory");
        snprintf(name, sizeof name, "wear/counts/%zu", l);
        int rc = get(ctx, name, c, NULL, NULL, nb);
        float scale = 0;
        snprintf(name, sizeof name, "wear/scale/%zu", l);
        if (rc == 0) rc = get(ctx, name, NULL, &scale, NULL, 1);
        if (rc == 0) {
            wear_set_counts(w, l, c);
            wl->scale = scale;
        }
        free(c);
        if (rc < 0) return err && err->code ? rc : es_fail(err, rc, "wear state: missing record");
    }
    return ES_OK;
}

/* ---- queries --------------------------------------------------------------------------- */

uint64_t wear_failed_cells(const wear_model *w, size_t l)
{
    if (!w) return 0;
    if (l == (size_t)-1) {
        uint64_t s = 0;
        for (size_t i = 0; i < w->nl; i++)
            s += w->ls[i].failed;
        return s;
    }
    return l < w->nl ? w->ls[l].failed : 0;
}

uint64_t wear_cells(const wear_model *w, size_t l)
{
    if (!w) return 0;
    if (l == (size_t)-1) {
        uint64_t s = 0;
        for (size_t i = 0; i < w->nl; i++)
            s += w->ls[i].cells;
        return s;
    }
    return l < w->nl ? w->ls[l].cells : 0;
}

size_t wear_num_layers(const wear_model *w)
{
    return w ? w->nl : 0;
}

const float *wear_endurance(const wear_model *w, size_t l, uint64_t *ncells)
{
    if (!w || l >= w->nl) return NULL;
    if (ncells) *ncells = w->ls[l].cells;
    return w->ls[l].endur;
}

const uint64_t *wear_counts(const wear_model *w, size_t l)
{
    return w && l < w->nl ? w->ls[l].count : NULL;
}

int wear_cell_failed(const wear_model *w, size_t l, uint64_t cell)
{
    if (!w || l >= w->nl || cell >= w->ls[l].cells) return 0;
    return (w->ls[l].state[cell] & CELL_FAILED) != 0;
}

int wear_cell_stuck_level(const wear_model *w, size_t l, uint64_t cell)
{
    if (!w || l >= w->nl || cell >= w->ls[l].cells) return 0;
    return (w->ls[l].state[cell] & CELL_STUCK_HIGH) ? w->levels - 1 : 0;
}

double wear_cell_window_top(const wear_model *w, size_t l, uint64_t cell)
{
    if (!w || l >= w->nl || cell >= w->ls[l].cells) return 0;
    const wear_layer *wl = &w->ls[l];
    if (!(wl->state[cell] & CELL_FAILED)) return (double)(w->levels - 1);
    uint64_t i = cell / wl->pw;
    uint64_t g = map_block_of(wl->map, i % wl->map->k, i / wl->map->k);
    return window_top(w, (double)wl->count[g], (double)wl->endur[cell]);
}

/* ---- lifetime ---------------------------------------------------------------------------
 * T_c = E_c / (n_g / runs) for every written cell. The quantiles are order statistics over up
 * to billions of cells, so instead of sorting a copy, select_kth narrows a value range
 * [lo, hi] known to hold the k-th smallest: a histogram of the range over log T (per-bin
 * count, min, max) picks the bin that holds it, and once few enough values remain they are
 * gathered and selected exactly. Each round is one pass over the cells. */

#define SEL_BINS   4096
#define SEL_GATHER ((uint64_t)1 << 16)

typedef struct sel_pass {
    double lo, hi;     /* values considered: lo <= T <= hi */
    int log_bins;      /* bins even in ~log T (wide ranges) or in T */
    double org, scale; /* bin = (f(T) - org) x scale, f = the bits of T or identity */
    uint64_t *cnt;
    double *bmin, *bmax;
    double *buf; /* gather mode (cnt == NULL) */
    size_t nbuf;
} sel_pass;

/* A monotone stand-in for log T of a positive double: its bit pattern as an integer (the
 * exponent and mantissa, i.e. log2 T piecewise linearly, times 2^52). The selection only needs
 * bins that keep the order; the values themselves come out exact (bmin, bmax, the gather). */
static double log_bits(double t)
{
    uint64_t u;
    memcpy(&u, &t, sizeof u);
    return (double)u;
}

static void sel_visit(sel_pass *sp, double t)
{
    if (!(t >= sp->lo && t <= sp->hi)) return;
    if (!sp->cnt) {
        sp->buf[sp->nbuf++] = t;
        return;
    }
    double x = ((sp->log_bins ? log_bits(t) : t) - sp->org) * sp->scale;
    size_t b = !(x > 0) ? 0 : x >= SEL_BINS - 1 ? SEL_BINS - 1 : (size_t)x;
    if (!sp->cnt[b]++)
        sp->bmin[b] = sp->bmax[b] = t;
    else {
        if (t < sp->bmin[b]) sp->bmin[b] = t;
        if (t > sp->bmax[b]) sp->bmax[b] = t;
    }
}

/* One pass: feed every written cell's T into sp. */
static void sel_sweep(const wear_model *w, double runs, sel_pass *sp)
{
    for (size_t l = 0; l < w->nl; l++) {
        const wear_layer *wl = &w->ls[l];
        const uint64_t per_weight = wl->pw;
        for (uint64_t g = 0; g < wl->map->blocks; g++) {
            if (!wl->count[g]) continue;
            const double rate = (double)wl->count[g] / runs;
            /* T = E / rate is in [lo, hi] only if E is in [lo rate, hi rate] (widened by far
               more than the rounding of either side): a compare rejects most cells of a
               narrow pass before the division */
            const double elo = sp->lo * rate * (1 - 0x1p-30), ehi = sp->hi * rate * (1 + 0x1p-30);
            map_block b;
            map_block_get(wl->map, g, &b);
            for (uint64_t i = 0; i < b.ncols; i++)
                for (uint64_t r = 0; r < b.nrows; r++) {
                    uint64_t c0 = (b.data0 + i * b.stride + r) * per_weight;
                    for (uint64_t j = 0; j < per_weight; j++) {
                        const double e = (double)wl->endur[c0 + j];
                        if (e >= elo && e <= ehi) sel_visit(sp, e / rate);
                    }
                }
        }
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One histogram pass over [lo, hi] (SEL_BINS bins; lo falls in bin 0 and hi in the last). */
static void sel_hist(const wear_model *w, double runs, double lo, double hi, sel_pass *sp)
{
    memset(sp->cnt, 0, SEL_BINS * sizeof *sp->cnt);
    sp->lo = lo;
    sp->hi = hi;
    sp->log_bins = lo > 0 && hi > 2 * lo;
    sp->org = sp->log_bins ? log_bits(lo) : lo;
    sp->scale = SEL_BINS / ((sp->log_bins ? log_bits(hi) : hi) - sp->org);
    sel_sweep(w, runs, sp);
}

/* The bin of sp holding the k-th smallest: narrows [lo, hi], n and k to it. */
static void sel_narrow(const sel_pass *sp, double *lo, double *hi, uint64_t *n, uint64_t *k)
{
    size_t b = 0;
    while (*k > sp->cnt[b])
        *k -= sp->cnt[b++];
    assert(b < SEL_BINS);
    *lo = sp->bmin[b];
    *hi = sp->bmax[b];
    *n = sp->cnt[b];
}

/* The k-th smallest (1-based) of the n values in [lo, hi]; sp has the bins. */
static int select_kth(const wear_model *w, double runs, sel_pass *sp, double lo, double hi,
                      uint64_t n, uint64_t k, double *out, es_err *err)
{
    for (;;) {
        if (lo == hi) {
            *out = lo;
            return ES_OK;
        }
        if (n <= SEL_GATHER) {
            sp->buf = malloc((size_t)n * sizeof *sp->buf);
            if (!sp->buf) return es_fail(err, ES_ENOMEM, "out of memory for the lifetime quantiles");
            uint64_t *keep = sp->cnt;
            sp->cnt = NULL;
            sp->lo = lo;
            sp->hi = hi;
            sp->nbuf = 0;
            sel_sweep(w, runs, sp);
            sp->cnt = keep;
            assert(sp->nbuf == n);
            qsort(sp->buf, sp->nbuf, sizeof *sp->buf, cmp_double);
            *out = sp->buf[k - 1];
            free(sp->buf);
            sp->buf = NULL;
            return ES_OK;
        }
        /* every round drops at least one distinct value: the loop ends */
        sel_hist(w, runs, lo, hi, sp);
        sel_narrow(sp, &lo, &hi, &n, &k);
    }
}

/* The k1-th and k2-th smallest of the n values in [lo, hi] (ranks 1-based, 0 = not wanted):
 * the first histogram over the whole range serves both. */
static int select_two(const wear_model *w, double runs, double lo, double hi, uint64_t n,
                      uint64_t k1, uint64_t k2, double *out1, double *out2, es_err *err)
{
    sel_pass sp = {0};
    int rc = ES_OK;
    sp.cnt = malloc(SEL_BINS * sizeof *sp.cnt);
    sp.bmin = malloc(SEL_BINS * sizeof *sp.bmin);
    sp.bmax = malloc(SEL_BINS * sizeof *sp.bmax);
    if (!sp.cnt || !sp.bmin || !sp.bmax) {
        rc = es_fail(err, ES_ENOMEM, "out of memory for the lifetime quantiles");
        goto done;
    }
    double lo_[2] = {lo, lo}, hi_[2] = {hi, hi};
    uint64_t n_[2] = {n, n}, k_[2] = {k1, k2};
    if (lo != hi && n > SEL_GATHER) {
        sel_hist(w, runs, lo, hi, &sp);
        for (int q = 0; q < 2; q++)
            if (k_[q]) sel_narrow(&sp, &lo_[q], &hi_[q], &n_[q], &k_[q]);
    }
    double *out[2] = {out1, out2};
    for (int q = 0; q < 2 && rc == ES_OK; q++)
        if (k_[q]) rc = select_kth(w, runs, &sp, lo_[q], hi_[q], n_[q], k_[q], out[q], err);
done:
    free(sp.cnt);
    free(sp.bmin);
    free(sp.bmax);
    return rc;
}

/* Register scalar `name`, or overwrite it if a scalar of that name exists. */
static int put_scalar(stat_registry *r, const char *name, const char *unit, const char *desc,
                      double v, es_err *err)
{
    stat_entry *e = stat_find(r, name);
    if (e && stat_kind_of(e) != STAT_SCALAR)
        return es_fail(err, ES_EINVAL, "statistic %s exists and is not a scalar", name);
    if (!e) e = stat_register_scalar(r, name, unit, desc, err);
    if (!e) return err && err->code ? err->code : ES_ENOMEM;
    stat_set(e, v);
    return ES_OK;
}

int wear_stats(const wear_model *w, uint64_t runs, stat_registry *r, es_err *err)
{
    if (!w || !r) return es_fail(err, ES_EINVAL, "wear_stats: NULL argument");
    const double R = runs ? (double)runs : 1.0;
    const uint64_t cells = wear_cells(w, (size_t)-1), failed = wear_failed_cells(w, (size_t)-1);

    /* Pass 1: cells with a finite T (written, finite endurance), the overall and per-layer
     * minimum and the maximum of T. */
    double *first = malloc((w->nl ? w->nl : 1) * sizeof *first);
    if (!first) return es_fail(err, ES_ENOMEM, "out of memory");
    uint64_t finite = 0;
    double tmin = INFINITY, tmax = 0;
    for (size_t l = 0; l < w->nl; l++) {
        const wear_layer *wl = &w->ls[l];
        const uint64_t per_weight = wl->pw;
        first[l] = INFINITY;
        for (uint64_t g = 0; g < wl->map->blocks; g++) {
            if (!wl->count[g]) continue;
            /* Cells of a block share n_g: its extremes are those of E_c. */
            map_block b;
            map_block_get(wl->map, g, &b);
            float emin = INFINITY, emax = 0;
            for (uint64_t i = 0; i < b.ncols; i++)
                for (uint64_t rr = 0; rr < b.nrows; rr++) {
                    uint64_t c0 = (b.data0 + i * b.stride + rr) * per_weight;
                    for (uint64_t j = 0; j < per_weight; j++) {
                        float e = wl->endur[c0 + j];
                        if (!isfinite(e)) continue; /* float overflow at extreme sigma */
                        finite++;
                        emin = min_f(emin, e);
                        emax = fmaxf(emax, e);
                    }
                }
            const double rate = (double)wl->count[g] / R;
            first[l] = fmin(first[l], (double)emin / rate);
            if (emin <= emax) tmax = fmax(tmax, (double)emax / rate);
        }
        tmin = fmin(tmin, first[l]);
    }
    /* k-th smallest T, +inf when fewer than k cells can ever fail. */
    const uint64_t k1 = ES_MAX((cells + 99) / 100, 1), k10 = ES_MAX((cells + 9) / 10, 1);
    double t1 = INFINITY, t10 = INFINITY;
    int rc = ES_OK;
    if (finite >= k1)
        rc = select_two(w, R, tmin, tmax, finite, k1, finite >= k10 ? k10 : 0, &t1, &t10, err);

    if (rc == ES_OK)
        rc = put_scalar(r, "lifetime.endurance_mean", "writes",
                        "mean cell endurance (arch.cell.endurance_mean)", w->endurance_mean, err);
    if (rc == ES_OK)
        rc = put_scalar(r, "lifetime.endurance_sigma_log10", "",
                        "device-to-device spread of log10(endurance)", w->sigma, err);
    if (rc == ES_OK)
        rc = put_scalar(r, "lifetime.cells", "",
                        "mapped cells (weights x slices x cells/slice x copies)", (double)cells,
                        err);
    if (rc == ES_OK)
        rc = put_scalar(r, "lifetime.cells_failed", "", "cells written past their endurance",
                        (double)failed, err);
    if (rc == ES_OK)
        rc = put_scalar(r, "lifetime.failed_fraction", "", "cells_failed / cells",
                        cells ? (double)failed / (double)cells : 0.0, err);
    if (rc == ES_OK)
        rc = put_scalar(r, "lifetime.runs_recorded", "runs",
                        "training runs the recorded write counts stand for", R, err);
    if (rc == ES_OK)
        rc = put_scalar(r, "lifetime.runs_to_first_failure", "runs",
                        "training runs until the first cell fails: min over cells of "
                        "E_c / (writes per run of its block)",
                        tmin, err);
    if (rc == ES_OK)
        rc = put_scalar(r, "lifetime.runs_to_1pct_failed", "runs",
                        "training runs until 1% of the cells have failed (per-cell endurance)", t1,
                        err);
    if (rc == ES_OK)
        rc = put_scalar(r, "lifetime.runs_to_10pct_failed", "runs",
                        "training runs until 10% of the cells have failed (per-cell endurance)",
                        t10, err);

    if (rc == ES_OK && w->nl) {
        const char **names = calloc(w->nl, sizeof *names);
        if (!names) rc = es_fail(err, ES_ENOMEM, "out of memory");
        for (size_t l = 0; names && l < w->nl; l++)
            names[l] = w->ls[l].map->name;
        static const struct {
            const char *name, *unit, *desc;
        } per[] = {{"lifetime.by_layer.cells", "", "mapped cells, by layer"},
                   {"lifetime.by_layer.cells_failed", "", "failed cells, by layer"},
                   {"lifetime.by_layer.runs_to_first_failure", "runs",
                    "training runs until the layer's first cell fails, by layer"}};
        for (size_t k = 0; rc == ES_OK && k < ES_ARRAY_LEN(per); k++) {
            stat_entry *e =
                stat_register_vector(r, per[k].name, per[k].unit, per[k].desc, w->nl, names, err);
            if (!e) {
                rc = err && err->code ? err->code : ES_ENOMEM;
                break;
            }
            for (size_t l = 0; l < w->nl; l++)
                stat_vec_set(e, l,
                             k == 0   ? (double)w->ls[l].cells
                             : k == 1 ? (double)w->ls[l].failed
                                      : first[l]);
        }
        free(names);
    }
    free(first);
    return rc;
}
