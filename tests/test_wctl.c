/* test_wctl.c - the write-policy controller on hand-made layers: dropped blocks keep their weights
 * bit for bit, kept blocks get exactly w - u / max(p, p_min), SGD writes everything, the
 * threshold residual accumulates and is written whole, state round-trips through save and
 * restore, and the writes.* / lifetime.* statistics match hand-computed values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "rng.h"
#include "stats.h"
#include "tap.h"
#include "wctl.h"
#include "map.h"

/* Two layers: 10 x 300 (3 column tiles of 128 at ISAAC's geometry: 30 row blocks) and
 * 4 x 20 (4 row blocks of 20). */
static map_plan *make_plan(const essim_config *cfg)
{
    map_config mc;
    map_config_from(cfg, &mc);
    mc.require_fit = 0;
    map_layer_spec specs[2] = {{"big", 10, 300, 0}, {"small", 4, 20, 0}};
    map_plan *plan = NULL;
    es_err err;
    if (map_create(&mc, specs, 2, &plan, &err) < 0) return NULL;
    return plan;
}

static void fill(float *a, size_t n, uint64_t seed, float scale)
{
    rng_stream r;
    rng_init(&r, seed, "fill");
    for (size_t i = 0; i < n; i++) a[i] = scale * (float)rng_normal(&r);
}

static void test_masked_write(void)
{
    essim_config cfg;
    es_err err;
    cfg_defaults(&cfg, &err);
    cfg.policy.name = cfg_choice_index("policy.name", "essence");
    cfg.policy.density = 0.3;
    map_plan *plan = make_plan(&cfg);
    wctl *ws = NULL;
    if (!CHECK(plan && wctl_create(&cfg, plan, &ws, &err) == ES_OK)) return;
    CHECK_INT(wctl_num_layers(ws), 2);
    const map_layer *L = map_layer_at(plan, 0);
    CHECK_UINT(L->blocks, 30);
    float u[3000], w[3000], w0[3000], uc[3000];
    fill(u, 3000, 1, 0.01f);
    fill(w, 3000, 2, 1.0f);
    memcpy(w0, w, sizeof w);
    memcpy(uc, u, sizeof u);
    wctl_begin(ws, 0, 0);
    wctl_layer(ws, 0, u, w);
    uint64_t nb;
    const uint8_t *keep = wctl_mask(ws, 0, &nb);
    CHECK_UINT(nb, 30);
    /* The probabilities the policy used: p = min(1, n_g / tau) with tau solved for 9 blocks. */
    double norm[30] = {0};
    for (uint64_t c = 0; c < 300; c++)
        for (uint64_t r = 0; r < 10; r++) {
            double x = uc[c * 10 + r];
            norm[map_block_of(L, r, c)] += x * x;
        }
    for (int g = 0; g < 30; g++) norm[g] = sqrt(norm[g]);
    double tau = 0;
    {
        /* Solve sum min(1, n/tau) = 9 independently by bisection. */
        double lo = 1e-9, hi = 1e3;
        for (int i = 0; i < 200; i++) {
            double mid = 0.5 * (lo + hi), e = 0;
            for (int g = 0; g < 30; g++) e += fmin(1.0, norm[g] / mid);
            if (e > 9) lo = mid; else hi = mid;
        }
        tau = 0.5 * (lo + hi);
    }
    int untouched = 1, exact = 1, kept = 0;
    for (uint64_t c = 0; c < 300; c++)
        for (uint64_t r = 0; r < 10; r++) {
            size_t i = (size_t)(c * 10 + r);
            uint64_t g = map_block_of(L, r, c);
            if (!keep[g]) {
                untouched &= memcmp(&w[i], &w0[i], sizeof(float)) == 0;
            } else {
                double p = fmin(1.0, norm[g] / tau), s = 1.0 / fmax(p, cfg.policy.p_min);
                exact &= fabs((double)w[i] - ((double)w0[i] - s * uc[i])) < 1e-5;
            }
        }
    for (int g = 0; g < 30; g++) kept += keep[g];
    CHECK(untouched);
    CHECK(exact);
    CHECK(kept > 0 && kept < 30);
    CHECK_UINT(wctl_written(ws, 0), (uint64_t)kept);
    const uint64_t *cnt = wctl_counts(ws, 0);
    int counts_ok = 1;
    for (int g = 0; g < 30; g++) counts_ok &= cnt[g] == keep[g];
    CHECK(counts_ok);
    wctl_destroy(ws);
    map_destroy(plan);
    cfg_free(&cfg);
}

static void test_sgd_and_stats(void)
{
    essim_config cfg;
    es_err err;
    cfg_defaults(&cfg, &err);
    cfg.policy.name = cfg_choice_index("policy.name", "sgd");
    cfg.arch.cell.endurance_mean = 1000;
    map_plan *plan = make_plan(&cfg);
    wctl *ws = NULL;
    if (!CHECK(plan && wctl_create(&cfg, plan, &ws, &err) == ES_OK)) return;
    float u0[3000], u1[80], w0[3000], w1[80];
    memset(w0, 0, sizeof w0);
    memset(w1, 0, sizeof w1);
    for (uint64_t it = 0; it < 5; it++) {
        wctl_begin(ws, it, 0);
        for (int i = 0; i < 3000; i++) u0[i] = 1.0f;
        for (int i = 0; i < 80; i++) u1[i] = i < 20 ? 0.0f : 1.0f; /* column 0 of small: zero */
        wctl_layer(ws, 0, u0, w0);
        wctl_layer(ws, 1, u1, w1);
        wctl_end(ws);
    }
    CHECK(w0[0] == -5.0f && w0[2999] == -5.0f && w1[79] == -5.0f);
    wctl_summary s;
    wctl_summarise(ws, (size_t)-1, &s);
    CHECK_NEAR(s.mean, 5.0, 0);
    CHECK_UINT(s.max, 5);
    CHECK_NEAR(s.std, 0.0, 1e-12);
    /* small's blocks are rows r = 0..3 covering columns 0..19, so every block has nonzero
     * entries: skip-zeros SGD writes them too. */
    CHECK_NEAR(s.nonzero_mean, 5.0, 0);
    stat_registry *r = NULL;
    stat_registry_create(&r);
    CHECK(wctl_stats(ws, r, &err) == ES_OK);
    double v;
    CHECK(stat_value(r, "writes.savings_mean_vs_sgd", &v, &err) == ES_OK && v == 1.0);
    CHECK(stat_value(r, "writes.blocks", &v, &err) == ES_OK && v == 34);
    CHECK(stat_value(r, "lifetime.runs_to_first_failure", &v, &err) == ES_OK && v == 200.0);
    CHECK(stat_value(r, "writes.fraction_mean", &v, &err) == ES_OK && v == 1.0);
    CHECK(stat_value(r, "writes.layer.mean::small", &v, &err) == ES_OK && v == 5.0);
    stat_registry_destroy(r);
    wctl_destroy(ws);
    map_destroy(plan);
    cfg_free(&cfg);
}

/* Counts by hand: weighted mean and percentiles over blocks of different sizes. */
static void test_summary_weights(void)
{
    essim_config cfg;
    es_err err;
    cfg_defaults(&cfg, &err);
    cfg.policy.name = cfg_choice_index("policy.name", "threshold");
    cfg.policy.threshold = 1.0;
    map_plan *plan = make_plan(&cfg);
    wctl *ws = NULL;
    if (!CHECK(plan && wctl_create(&cfg, plan, &ws, &err) == ES_OK)) return;
    /* Layer small (4 blocks of 20 weights, block r = row r): row 0 gets a big update, the
     * others small; threshold 1 x mean norm writes row 0 only, the others accumulate. */
    float w[80], u[80];
    memset(w, 0, sizeof w);
    float u3000[3000], w3000[3000];
    memset(w3000, 0, sizeof w3000);
    for (int it = 0; it < 3; it++) {
        for (int c = 0; c < 20; c++)
            for (int rr = 0; rr < 4; rr++) u[c * 4 + rr] = rr == 0 ? 1.0f : 0.1f;
        for (int i = 0; i < 3000; i++) u3000[i] = 0.0f;
        wctl_begin(ws, (uint64_t)it, 0);
        wctl_layer(ws, 0, u3000, w3000);
        wctl_layer(ws, 1, u, w);
        wctl_end(ws);
    }
    const uint64_t *cnt = wctl_counts(ws, 1);
    CHECK(cnt[0] == 3 && cnt[1] == 0 && cnt[2] == 0 && cnt[3] == 0);
    CHECK(w[0] == -3.0f && w[1] == 0.0f); /* row 1 is still in the residual */
    /* Layer big never changes: zero updates are never written. */
    CHECK(wctl_counts(ws, 0)[0] == 0);
    wctl_summary s;
    wctl_summarise(ws, 1, &s);
    CHECK_NEAR(s.mean, 3.0 * 20 / 80, 1e-12); /* 20 of 80 weights written 3 times */
    CHECK_UINT(s.max, 3);
    CHECK_NEAR(s.p50, 0, 0);
    CHECK_NEAR(s.p90, 3, 0);
    /* Now make row 1 big enough: it is written with its whole accumulated update. */
    for (int c = 0; c < 20; c++)
        for (int rr = 0; rr < 4; rr++) u[c * 4 + rr] = rr == 1 ? 5.0f : 0.0f;
    wctl_begin(ws, 3, 0);
    wctl_layer(ws, 0, u3000, w3000);
    wctl_layer(ws, 1, u, w);
    wctl_end(ws);
    CHECK_NEAR(w[1], -(0.3 + 5.0), 1e-5);
    wctl_destroy(ws);
    map_destroy(plan);
    cfg_free(&cfg);
}

/* Save / restore through a small in-memory store. */
typedef struct store {
    char name[16][32];
    double *f64[16];
    float *f32[16];
    uint64_t *u64[16];
    size_t n[16];
    int count;
} store;

static void put(void *ctx, const char *name, const uint64_t *u64, const float *f32,
                const double *f64, size_t n)
{
    store *s = ctx;
    int i = s->count++;
    snprintf(s->name[i], 32, "%s", name);
    s->n[i] = n;
    s->u64[i] = u64 ? memcpy(malloc(n * 8 + 8), u64, n * 8) : NULL;
    s->f32[i] = f32 ? memcpy(malloc(n * 4 + 8), f32, n * 4) : NULL;
    s->f64[i] = f64 ? memcpy(malloc(n * 8 + 8), f64, n * 8) : NULL;
}

static int get(void *ctx, const char *name, uint64_t *u64, float *f32, double *f64, size_t n)
{
    store *s = ctx;
    for (int i = 0; i < s->count; i++) {
        if (strcmp(s->name[i], name) || s->n[i] != n) continue;
        if (u64 && s->u64[i]) memcpy(u64, s->u64[i], n * 8);
        if (f32 && s->f32[i]) memcpy(f32, s->f32[i], n * 4);
        if (f64 && s->f64[i]) memcpy(f64, s->f64[i], n * 8);
        return ES_OK;
    }
    return ES_EFORMAT;
}

static void run_iters(wctl *ws, uint64_t from, uint64_t to, float *w0, float *w1)
{
    float u0[3000], u1[80];
    for (uint64_t it = from; it < to; it++) {
        fill(u0, 3000, 100 + it, 0.01f);
        fill(u1, 80, 200 + it, 0.01f);
        wctl_begin(ws, it, (int)(it / 4));
        wctl_layer(ws, 0, u0, w0);
        wctl_layer(ws, 1, u1, w1);
        wctl_end(ws);
    }
}

static void test_save_restore(void)
{
    essim_config cfg;
    es_err err;
    cfg_defaults(&cfg, &err);
    cfg.policy.name = cfg_choice_index("policy.name", "essence");
    map_plan *plan = make_plan(&cfg);
    wctl *a = NULL, *b = NULL;
    if (!CHECK(plan && wctl_create(&cfg, plan, &a, &err) == ES_OK &&
               wctl_create(&cfg, plan, &b, &err) == ES_OK))
        return;
    static float wa0[3000], wa1[80], wb0[3000], wb1[80];
    run_iters(a, 0, 12, wa0, wa1);
    run_iters(b, 0, 5, wb0, wb1);
    store st;
    memset(&st, 0, sizeof st);
    wctl_save(b, put, &st);
    wctl_destroy(b);
    CHECK(wctl_create(&cfg, plan, &b, &err) == ES_OK);
    CHECK(wctl_restore(b, 5, get, &st, &err) == ES_OK);
    run_iters(b, 5, 12, wb0, wb1);
    CHECK(!memcmp(wa0, wb0, sizeof wa0) && !memcmp(wa1, wb1, sizeof wa1));
    CHECK(!memcmp(wctl_counts(a, 0), wctl_counts(b, 0), 30 * sizeof(uint64_t)));
    uint64_t na, nb;
    const double *fa = wctl_fraction_series(a, &na), *fb = wctl_fraction_series(b, &nb);
    CHECK(na == 12 && nb == 12 && !memcmp(fa, fb, 12 * sizeof(double)));
    CHECK(wctl_restore(b, 5, get, &(store){0}, &err) == ES_EFORMAT);
    for (int i = 0; i < st.count; i++) {
        free(st.u64[i]);
        free(st.f32[i]);
        free(st.f64[i]);
    }
    wctl_destroy(a);
    wctl_destroy(b);
    map_destroy(plan);
    cfg_free(&cfg);
}

int main(int argc, char **argv)
{
    static const tap_test tests[] = {
        {"masked_write", test_masked_write},
        {"sgd_and_stats", test_sgd_and_stats},
        {"summary_weights", test_summary_weights},
        {"save_restore", test_save_restore},
    };
    return tap_main(tests, ES_ARRAY_LEN(tests), argc, argv);
}
