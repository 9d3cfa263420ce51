/* wctl.c - the write-policy controller in the training loop; see wctl.h. */
#include "wctl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "lifetime.h"
#include "wpol.h"

typedef struct wctl_layer_state {
    const map_layer *map;
    uint64_t nblocks, numel;
    uint32_t *bsize;   /* weights per block */
    uint64_t *count;   /* writes per block */
    uint64_t *nonzero; /* iterations whose dense update of the block was not all zero */
    double weighted_sum; /* sum of count x bsize */
    float *residual;   /* digital residual: threshold training's, or policy.residual's error
                          feedback (NULL otherwise) */
    double *norm;      /* scratch: block norms */
    uint8_t *keep;
    float *scale, *apply;
    uint64_t written;  /* blocks written in the last iteration */
    uint64_t written_weights;
} wctl_layer_state;

struct wctl {
    const essim_config *cfg;
    const map_plan *plan;
    const wpol_ops *pol;
    void *pol_state;
    size_t nl;
    wctl_layer_state *ls;
    wpol_layer *wl;
    uint64_t total_weights;
    /* iteration in progress */
    wpol_iter it;
    rng_stream rng;
    uint64_t it_written_weights;
    /* history */
    uint64_t iterations;
    double *fraction;  /* per iteration: fraction of weights written */
    uint32_t *epoch_of; /* per iteration */
    uint64_t cap;
};

static void free_layer(wctl_layer_state *s)
{
    free(s->bsize);
    free(s->count);
    free(s->nonzero);
    free(s->residual);
    free(s->norm);
    free(s->keep);
    free(s->scale);
    free(s->apply);
}

void wctl_destroy(wctl *ws)
{
    if (!ws) return;
    if (ws->pol && ws->pol_state) ws->pol->destroy(ws->pol_state);
    for (size_t l = 0; l < ws->nl && ws->ls; l++) free_layer(&ws->ls[l]);
    free(ws->ls);
    free(ws->wl);
    free(ws->fraction);
    free(ws->epoch_of);
    free(ws);
}

int wctl_create(const essim_config *cfg, const map_plan *plan, wctl **out, es_err *err)
{
    wctl *ws = calloc(1, sizeof *ws);
    if (!ws) return es_fail(err, ES_ENOMEM, "out of memory");
    ws->cfg = cfg;
    ws->plan = plan;
    ws->pol = wpol_find_name(cfg_choice_name("policy.name", cfg->policy.name));
    ws->nl = map_num_layers(plan);
    ws->ls = calloc(ws->nl ? ws->nl : 1, sizeof *ws->ls);
    ws->wl = calloc(ws->nl ? ws->nl : 1, sizeof *ws->wl);
    if (!ws->pol) {
        wctl_destroy(ws);
        return es_fail(err, ES_ECONFIG, "unknown write policy %d", cfg->policy.name);
    }
    if (!ws->ls || !ws->wl) goto oom;
    for (size_t l = 0; l < ws->nl; l++) {
        wctl_layer_state *s = &ws->ls[l];
        s->map = map_layer_at(plan, l);
        s->nblocks = s->map->blocks;
        s->numel = s->map->k * s->map->n;
        size_t g = (size_t)s->nblocks;
        s->bsize = malloc(g * sizeof *s->bsize);
        s->count = calloc(g, sizeof *s->count);
        s->nonzero = calloc(g, sizeof *s->nonzero);
        s->norm = malloc(g * sizeof *s->norm);
        s->keep = calloc(g, 1);
        s->scale = malloc(g * sizeof *s->scale);
        s->apply = malloc(g * sizeof *s->apply);
        const int keeps_residual = ws->pol->residual || cfg->policy.residual;
        if (keeps_residual) s->residual = calloc((size_t)s->numel, sizeof *s->residual);
        if (!s->bsize || !s->count || !s->nonzero || !s->norm || !s->keep || !s->scale ||
            !s->apply || (keeps_residual && !s->residual))
            goto oom;
        for (uint64_t b = 0; b < s->nblocks; b++) s->bsize[b] = (uint32_t)map_block_weights(s->map, b);
        ws->total_weights += s->numel;
        ws->wl[l] = (wpol_layer){s->map->name, (size_t)s->nblocks, s->bsize, s->count, 0.0};
    }
    int rc = ws->pol->create(cfg, ws->wl, ws->nl, &ws->pol_state, err);
    if (rc < 0) {
        wctl_destroy(ws);
        return rc;
    }
    *out = ws;
    return ES_OK;
oom:
    wctl_destroy(ws);
    return es_fail(err, ES_ENOMEM, "out of memory");
}

void wctl_begin(wctl *ws, uint64_t iteration, int epoch)
{
    int passed = 0;
    const cfg_int_list *m = &ws->cfg->train.milestones;
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i] <= epoch) passed++;
    ws->it = (wpol_iter){iteration, epoch, passed};
    rng_init_indexed(&ws->rng, (uint64_t)ws->cfg->seed, "policy", iteration);
    ws->it_written_weights = 0;
}

void wctl_layer(wctl *ws, size_t l, float *u, float *w)
{
    wctl_layer_state *s = &ws->ls[l];
    const map_layer *L = s->map;
    uint64_t G = s->nblocks;
    /* "Skip zeros" SGD would write a block whenever its dense update is not all zero. */
    map_block_norms2(L, u, s->norm);
    for (uint64_t g = 0; g < G; g++) s->nonzero[g] += s->norm[g] > 0;
    float *v = u;
    if (s->residual) {
        /* Threshold training: the candidate is the update plus what was not written yet. */
        for (uint64_t i = 0; i < s->numel; i++) s->residual[i] += u[i];
        v = s->residual;
        map_block_norms2(L, v, s->norm);
    }
    for (uint64_t g = 0; g < G; g++) s->norm[g] = sqrt(s->norm[g]);
    ws->pol->decide(ws->pol_state, l, &ws->it, s->norm, s->keep, s->scale, &ws->rng);
    uint64_t written = 0, ww = 0;
    for (uint64_t g = 0; g < G; g++) {
        int k = s->keep[g] != 0;
        /* error feedback writes the kept blocks unscaled: what is not written stays in the
         * residual, so written + residual = the dense updates exactly (Stich et al. 2018) */
        s->apply[g] = k ? (ws->cfg->policy.residual ? -1.0f : -s->scale[g]) : 0.0f;
        if (k) {
            s->count[g]++;
            written++;
            ww += s->bsize[g];
        }
    }
    map_blocks_apply(L, s->apply, v, w);
    if (s->residual) {
        /* Written blocks leave the residual: r - 1 * r = 0 exactly. */
        for (uint64_t g = 0; g < G; g++) s->apply[g] = s->keep[g] ? -1.0f : 0.0f;
        map_blocks_apply(L, s->apply, s->residual, s->residual);
    }
    s->written = written;
    s->written_weights = ww;
    s->weighted_sum += (double)ww;
    ws->wl[l].mean_count = s->numel ? s->weighted_sum / (double)s->numel : 0.0;
    ws->it_written_weights += ww;
}

/* Make room for `need` iterations of history (doubling). */
static int reserve_history(wctl *ws, uint64_t need)
{
    if (need <= ws->cap) return ES_OK;
    /* a count from a file may be anything: doubling past it must not wrap to 0 and spin */
    if (need > (uint64_t)(SIZE_MAX / 2 / sizeof(double))) return ES_ENOMEM;
    uint64_t cap = ws->cap ? ws->cap : 1024;
    while (cap < need) cap = cap > need / 2 ? need : cap * 2;
    double *f = realloc(ws->fraction, (size_t)cap * sizeof *f);
    if (!f) return ES_ENOMEM;
    ws->fraction = f;
    uint32_t *e = realloc(ws->epoch_of, (size_t)cap * sizeof *e);
    if (!e) return ES_ENOMEM;
    ws->epoch_of = e;
    ws->cap = cap;
    return ES_OK;
}

void wctl_end(wctl *ws)
{
    if (reserve_history(ws, ws->iterations + 1) < 0) return; /* a report, not run state */
    ws->fraction[ws->iterations] =
        ws->total_weights ? (double)ws->it_written_weights / (double)ws->total_weights : 0.0;
    ws->epoch_of[ws->iterations] = (uint32_t)ws->it.epoch;
    ws->iterations++;
}

size_t wctl_num_layers(const wctl *ws) { return ws->nl; }
const char *wctl_policy_name(const wctl *ws) { return ws->pol->name; }
uint64_t wctl_iterations(const wctl *ws) { return ws->iterations; }
uint64_t wctl_written(const wctl *ws, size_t l) { return ws->ls[l].written; }
const uint64_t *wctl_counts(const wctl *ws, size_t l) { return ws->ls[l].count; }

const uint8_t *wctl_mask(const wctl *ws, size_t l, uint64_t *nblocks)
{
    if (nblocks) *nblocks = ws->ls[l].nblocks;
    return ws->ls[l].keep;
}

const double *wctl_fraction_series(const wctl *ws, uint64_t *n)
{
    *n = ws->iterations;
    return ws->fraction;
}

/* ---- checkpoints ---------------------------------------------------------------------------- */

void wctl_save(const wctl *ws, es_put_fn put, void *ctx)
{
    char name[64];
    for (size_t l = 0; l < ws->nl; l++) {
        const wctl_layer_state *s = &ws->ls[l];
        snprintf(name, sizeof name, "ws/%zu/count", l);
        put(ctx, name, s->count, NULL, NULL, (size_t)s->nblocks);
        snprintf(name, sizeof name, "ws/%zu/nonzero", l);
        put(ctx, name, s->nonzero, NULL, NULL, (size_t)s->nblocks);
        if (s->residual) {
            snprintf(name, sizeof name, "ws/%zu/residual", l);
            put(ctx, name, NULL, s->residual, NULL, (size_t)s->numel);
        }
    }
    put(ctx, "ws/fraction", NULL, NULL, ws->fraction, (size_t)ws->iterations);
    /* Epoch tags as u64 so the checkpoint needs no fourth type. */
    uint64_t *ep = malloc(((size_t)ws->iterations + 1) * sizeof *ep);
    if (ep) {
        for (uint64_t i = 0; i < ws->iterations; i++) ep[i] = ws->epoch_of[i];
        put(ctx, "ws/epoch", ep, NULL, NULL, (size_t)ws->iterations);
        free(ep);
    }
}

/* A checkpoint's CRC says the bytes are what was written, not that they make sense: every
 * value is checked against the others before it is used (a count above the iterations, an
 * epoch tag that goes backwards, NaN), so a crafted file fails here with a message instead of
 * overflowing an array in wctl_stats or printing NaN. */
int wctl_restore(wctl *ws, uint64_t iterations, es_get_fn get, void *ctx, es_err *err)
{
    char name[64];
#define WCTL_BAD(...) es_fail(err, ES_EFORMAT, "checkpoint: " __VA_ARGS__)
    for (size_t l = 0; l < ws->nl; l++) {
        wctl_layer_state *s = &ws->ls[l];
        snprintf(name, sizeof name, "ws/%zu/count", l);
        ES_TRY(get(ctx, name, s->count, NULL, NULL, (size_t)s->nblocks));
        snprintf(name, sizeof name, "ws/%zu/nonzero", l);
        ES_TRY(get(ctx, name, s->nonzero, NULL, NULL, (size_t)s->nblocks));
        for (uint64_t g = 0; g < s->nblocks; g++)
            if (s->count[g] > iterations || s->nonzero[g] > iterations)
                return WCTL_BAD("block %llu of layer %zu was written %llu times (%llu nonzero) in "
                                "%llu iterations",
                                (unsigned long long)g, l, (unsigned long long)s->count[g],
                                (unsigned long long)s->nonzero[g], (unsigned long long)iterations);
        if (s->residual) {
            snprintf(name, sizeof name, "ws/%zu/residual", l);
            ES_TRY(get(ctx, name, NULL, s->residual, NULL, (size_t)s->numel));
            for (uint64_t i = 0; i < s->numel; i++)
                if (!isfinite(s->residual[i]))
                    return WCTL_BAD("residual %llu of layer %zu is %g", (unsigned long long)i, l,
                                    (double)s->residual[i]);
        }
        s->weighted_sum = 0;
        for (uint64_t g = 0; g < s->nblocks; g++) s->weighted_sum += (double)s->count[g] * s->bsize[g];
        ws->wl[l].mean_count = s->numel ? s->weighted_sum / (double)s->numel : 0.0;
    }
    if (reserve_history(ws, iterations) < 0)
        return es_fail(err, ES_ENOMEM, "checkpoint: no memory for %llu iterations of history",
                       (unsigned long long)iterations);
    ws->iterations = 0;
    if (iterations == 0) return ES_OK;
    ES_TRY(get(ctx, "ws/fraction", NULL, NULL, ws->fraction, (size_t)iterations));
    for (uint64_t i = 0; i < iterations; i++)
        if (!(ws->fraction[i] >= 0.0 && ws->fraction[i] <= 1.0))
            return WCTL_BAD("written fraction of iteration %llu is %g (not in [0, 1])",
                            (unsigned long long)i, ws->fraction[i]);
    uint64_t *ep = malloc((size_t)iterations * sizeof *ep);
    if (!ep) return es_fail(err, ES_ENOMEM, "out of memory");
    int rc = get(ctx, "ws/epoch", ep, NULL, NULL, (size_t)iterations);
    uint64_t maxep = ws->cfg->train.epochs > 0 ? (uint64_t)ws->cfg->train.epochs : 1;
    for (uint64_t i = 0; rc == ES_OK && i < iterations; i++) {
        /* epochs start at 0 and advance by at most one per iteration */
        uint64_t prev = i ? ep[i - 1] : 0;
        if (ep[i] < prev || ep[i] > prev + 1 || ep[i] >= maxep)
            rc = WCTL_BAD("iteration %llu is tagged epoch %llu after epoch %llu (of %llu)",
                          (unsigned long long)i, (unsigned long long)ep[i],
                          (unsigned long long)prev, (unsigned long long)maxep);
        else
            ws->epoch_of[i] = (uint32_t)ep[i];
    }
    free(ep);
    if (rc == ES_OK) ws->iterations = iterations;
    return rc;
#undef WCTL_BAD
}

/* ---- summaries and statistics -------------------------------------------------------------- */

typedef struct cw {
    uint64_t count;
    uint32_t weight;
} cw;

static int cmp_cw(const void *a, const void *b)
{
    uint64_t x = ((const cw *)a)->count, y = ((const cw *)b)->count;
    return x < y ? -1 : x > y;
}

/* Weighted quantile: the smallest count whose cumulative weight reaches q of the total. */
static double quantile(const cw *v, size_t n, uint64_t total, double q)
{
    double need = q * (double)total, cum = 0;
    for (size_t i = 0; i < n; i++) {
        cum += v[i].weight;
        if (cum >= need) return (double)v[i].count;
    }
    return n ? (double)v[n - 1].count : 0.0;
}

void wctl_summarise(const wctl *ws, size_t l, wctl_summary *s)
{
    memset(s, 0, sizeof *s);
    size_t lo = l == (size_t)-1 ? 0 : l, hi = l == (size_t)-1 ? ws->nl : l + 1;
    size_t n = 0;
    for (size_t i = lo; i < hi; i++) n += (size_t)ws->ls[i].nblocks;
    cw *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return;
    size_t k = 0;
    double sum = 0, sum2 = 0, nz = 0;
    for (size_t i = lo; i < hi; i++) {
        const wctl_layer_state *st = &ws->ls[i];
        for (uint64_t g = 0; g < st->nblocks; g++) {
            double c = (double)st->count[g], w = st->bsize[g];
            v[k++] = (cw){st->count[g], st->bsize[g]};
            sum += c * w;
            sum2 += c * c * w;
            nz += (double)st->nonzero[g] * w;
            s->weights += st->bsize[g];
            if (st->count[g] > s->max) s->max = st->count[g];
        }
        s->blocks += st->nblocks;
    }
    if (s->weights) {
        double W = (double)s->weights;
        s->mean = sum / W;
        double var = sum2 / W - s->mean * s->mean;
        s->std = var > 0 ? sqrt(var) : 0.0;
        s->nonzero_mean = nz / W;
        qsort(v, n, sizeof *v, cmp_cw);
        s->p50 = quantile(v, n, s->weights, 0.50);
        s->p90 = quantile(v, n, s->weights, 0.90);
        s->p99 = quantile(v, n, s->weights, 0.99);
        s->p999 = quantile(v, n, s->weights, 0.999);
    }
    free(v);
}

static stat_entry *scalar(stat_registry *r, const char *name, const char *unit, const char *desc,
                          double v, int *rc, es_err *err)
{
    if (*rc < 0) return NULL;
    stat_entry *e = stat_register_scalar(r, name, unit, desc, err);
    if (!e) {
        *rc = err && err->code ? err->code : ES_ENOMEM;
        return NULL;
    }
    stat_set(e, v);
    return e;
}

static double ratio(double a, double b) { return b > 0 ? a / b : NAN; }

static int wctl_stats_impl(const wctl *ws, stat_registry *r, int lifetime, es_err *err);

int wctl_stats(const wctl *ws, stat_registry *r, es_err *err)
{
    return wctl_stats_impl(ws, r, 1, err);
}

int wctl_stats_writes(const wctl *ws, stat_registry *r, es_err *err)
{
    return wctl_stats_impl(ws, r, 0, err);
}

static int wctl_stats_impl(const wctl *ws, stat_registry *r, int lifetime, es_err *err)
{
    int rc = ES_OK;
    wctl_summary all;
    wctl_summarise(ws, (size_t)-1, &all);
    double T = (double)ws->iterations;
    stat_entry *pe = stat_register_string(r, "writes.policy", "", "write policy", err);
    if (!pe || stat_set_string(pe, ws->pol->name) < 0) return err && err->code ? err->code : ES_ENOMEM;
    scalar(r, "writes.blocks", "", "blocks the policy chooses among (all mapped layers)",
           (double)all.blocks, &rc, err);
    scalar(r, "writes.weights", "", "mapped weights", (double)all.weights, &rc, err);
    scalar(r, "writes.iterations", "", "iterations with a write decision", T, &rc, err);
    scalar(r, "writes.mean", "writes", "mean update count per weight position", all.mean, &rc, err);
    scalar(r, "writes.max", "writes", "maximum update count of any block", (double)all.max, &rc, err);
    scalar(r, "writes.std", "writes", "standard deviation of the per-weight update count", all.std,
           &rc, err);
    scalar(r, "writes.p50", "writes", "median per-weight update count", all.p50, &rc, err);
    scalar(r, "writes.p90", "writes", "90th percentile of the per-weight update count", all.p90, &rc, err);
    scalar(r, "writes.p99", "writes", "99th percentile of the per-weight update count", all.p99, &rc, err);
    scalar(r, "writes.p999", "writes", "99.9th percentile of the per-weight update count", all.p999,
           &rc, err);
    scalar(r, "writes.sgd_nonzero_mean", "writes",
           "mean count 'skip zeros' SGD would have (iterations with a nonzero block update)",
           all.nonzero_mean, &rc, err);
    scalar(r, "writes.savings_mean_vs_sgd", "", "dense SGD's mean count (the iterations) / mean",
           ratio(T, all.mean), &rc, err);
    scalar(r, "writes.savings_max_vs_sgd", "", "dense SGD's max count (the iterations) / max",
           ratio(T, (double)all.max), &rc, err);
    scalar(r, "writes.savings_mean_vs_sgd_nonzero", "", "skip-zeros SGD's mean count / mean",
           ratio(all.nonzero_mean, all.mean), &rc, err);
    double frac_mean = 0;
    for (uint64_t i = 0; i < ws->iterations; i++) frac_mean += ws->fraction[i];
    scalar(r, "writes.fraction_mean", "", "mean fraction of mapped weights written per iteration",
           T > 0 ? frac_mean / T : 0.0, &rc, err);
    double E = ws->cfg->arch.cell.endurance_mean;
    if (lifetime) {
        scalar(r, "lifetime.endurance_mean", "writes", "cell endurance used for the lifetime figures",
               E, &rc, err);
        scalar(r, "lifetime.runs_to_first_failure", "runs",
               "complete training runs before the most-written cell reaches the endurance (E / max)",
               life_runs(E, (double)all.max), &rc, err);
        scalar(r, "lifetime.runs_to_1pct_failed", "runs",
               "training runs before 1% of the cells reach the endurance (E / p99)", life_runs(E, all.p99),
               &rc, err);
        scalar(r, "lifetime.runs_to_10pct_failed", "runs",
               "training runs before 10% of the cells reach the endurance (E / p90)", life_runs(E, all.p90),
               &rc, err);
    }
    if (rc < 0) return rc;

    /* Per layer: vectors with the layer names as elements. */
    const char **names = calloc(ws->nl ? ws->nl : 1, sizeof *names);
    if (!names) return es_fail(err, ES_ENOMEM, "out of memory");
    for (size_t l = 0; l < ws->nl; l++) names[l] = ws->ls[l].map->name;
    static const struct {
        const char *name, *desc;
    } per[] = {{"writes.layer.mean", "mean update count per weight, by layer"},
               {"writes.layer.max", "maximum block update count, by layer"},
               {"writes.layer.p99", "99th percentile update count, by layer"},
               {"writes.layer.std", "standard deviation of the update count, by layer"},
               {"writes.layer.blocks", "blocks, by layer"},
               {"writes.layer.savings_mean_vs_sgd", "iterations / mean count, by layer"}};
    stat_entry *pv[ES_ARRAY_LEN(per)];
    for (size_t k = 0; k < ES_ARRAY_LEN(per) && rc == ES_OK; k++) {
        pv[k] = stat_register_vector(r, per[k].name, k < 4 ? "writes" : "", per[k].desc, ws->nl,
                                     ws->nl ? names : NULL, err);
        if (!pv[k]) rc = err && err->code ? err->code : ES_ENOMEM;
    }
    for (size_t l = 0; l < ws->nl && rc == ES_OK; l++) {
        wctl_summary s;
        wctl_summarise(ws, l, &s);
        stat_vec_set(pv[0], l, s.mean);
        stat_vec_set(pv[1], l, (double)s.max);
        stat_vec_set(pv[2], l, s.p99);
        stat_vec_set(pv[3], l, s.std);
        stat_vec_set(pv[4], l, (double)s.blocks);
        stat_vec_set(pv[5], l, ratio(T, s.mean));
    }
    free(names);
    if (rc < 0) return rc;

    /* Histogram of per-weight counts over [0, max + 1). */
    size_t nb = (size_t)ES_MIN((uint64_t)50, all.max + 1);
    stat_entry *h = stat_register_histogram(r, "writes.histogram", "writes",
                                            "per-weight update counts (weighted by weights)", 0.0,
                                            (double)all.max + 1.0, nb ? nb : 1, err);
    if (!h) return err && err->code ? err->code : ES_ENOMEM;
    for (size_t l = 0; l < ws->nl; l++)
        for (uint64_t g = 0; g < ws->ls[l].nblocks; g++)
            stat_hist_sample(h, (double)ws->ls[l].count[g], ws->ls[l].bsize[g]);

    /* Written fraction by epoch. */
    uint32_t epochs = ws->iterations ? ws->epoch_of[ws->iterations - 1] + 1 : 0;
    if (epochs) {
        stat_entry *fe = stat_register_vector(r, "writes.fraction_by_epoch", "",
                                              "mean fraction of mapped weights written per "
                                              "iteration, by epoch",
                                              epochs, NULL, err);
        if (!fe) return err && err->code ? err->code : ES_ENOMEM;
        double *sum = calloc(epochs, sizeof *sum);
        uint64_t *cnt = calloc(epochs, sizeof *cnt);
        if (!sum || !cnt) {
            free(sum);
            free(cnt);
            return es_fail(err, ES_ENOMEM, "out of memory");
        }
        for (uint64_t i = 0; i < ws->iterations; i++) {
            if (ws->epoch_of[i] >= epochs) continue; /* wctl_restore refuses such tags */
            sum[ws->epoch_of[i]] += ws->fraction[i];
            cnt[ws->epoch_of[i]]++;
        }
        for (uint32_t e = 0; e < epochs; e++) stat_vec_set(fe, e, cnt[e] ? sum[e] / (double)cnt[e] : 0);
        free(sum);
        free(cnt);
    }
    return ES_OK;
}
