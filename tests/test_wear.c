/* test_wear.c - the wear model on hand-made layers: the endurance draws follow the lognormal
 * of cell.h, cells fail exactly when their block's count passes the endurance, failed cells
 * turn weights into hand-computed values (offset and differential, stuck low / high, gradual)
 * and leave all other weights bit for bit, failures depend only on the seed, the gradual
 * window narrows with more writes, the lifetime statistics match hand-computed values and a
 * brute-force sort, and nonsense configurations are rejected. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "rng.h"
#include "stats.h"
#include "tap.h"
#include "wear.h"
#include "map.h"

/* Defaults with 8-bit weights on 2-bit cells (S = 4), the given encoding and granularity. */
static void base_cfg(essim_config *cfg, int encoding, int granularity)
{
    es_err err;
    cfg_defaults(cfg, &err);
    cfg->arch.xbar.weight_bits = 8;
    cfg->arch.xbar.bits_per_cell = 2;
    cfg->arch.xbar.encoding = encoding;
    cfg->policy.granularity = granularity;
}

static map_plan *make_plan(const essim_config *cfg, const map_layer_spec *specs, size_t n)
{
    map_config mc;
    map_config_from(cfg, &mc);
    mc.require_fit = 0;
    map_plan *plan = NULL;
    es_err err;
    if (map_create(&mc, specs, n, &plan, &err) < 0) return NULL;
    return plan;
}

static const map_layer_spec small_spec[1] = {{"small", 4, 3, 0}};

/* ---- endurance draws ------------------------------------------------------------------- */

static void test_endurance_distribution(void)
{
    essim_config cfg;
    base_cfg(&cfg, CFG_ENC_OFFSET, CFG_GRAN_ROW);
    cfg.arch.cell.endurance_mean = 1e6;
    cfg.arch.cell.endurance_sigma_log10 = 0.4;
    map_layer_spec specs[2] = {{"a", 100, 256, 0}, {"b", 10, 20, 0}};
    map_plan *plan = make_plan(&cfg, specs, 2);
    wear_model *w = NULL;
    es_err err;
    if (!CHECK(plan && wear_create(&cfg, plan, &w, &err) == ES_OK)) return;
    uint64_t n = 0;
    const float *e = wear_endurance(w, 0, &n);
    CHECK_UINT(n, 100 * 256 * 4);
    CHECK_UINT(wear_cells(w, 0), n);
    CHECK_UINT(wear_cells(w, (size_t)-1), n + 10 * 20 * 4);
    double s = 0, s2 = 0, se = 0;
    for (uint64_t i = 0; i < n; i++) {
        double x = log10((double)e[i]);
        s += x;
        s2 += x * x;
        se += e[i];
    }
    double mean = s / (double)n, sd = sqrt(s2 / (double)n - mean * mean);
    double mu = 6.0 - 0.4 * 0.4 * log(10.0) / 2.0; /* 5.8158 */
    /* Standard errors: 0.4 / sqrt(n) = 0.002 for the mean, 0.4 / sqrt(2n) = 0.0014 for the
     * sd; E/mean has sd sqrt(exp((0.4 ln 10)^2) - 1) = 1.16, so 0.0057 relative. ~4 SE. */
    CHECK_NEAR(mean, mu, 0.008);
    CHECK_NEAR(sd, 0.4, 0.006);
    CHECK_NEAR(se / (double)n / 1e6, 1.0, 0.025);
    /* The second layer draws from its own stream. */
    const float *e1 = wear_endurance(w, 1, NULL);
    CHECK(e1 && memcmp(e1, e, 16 * sizeof *e) != 0);
    wear_destroy(w);
    map_destroy(plan);
    cfg_free(&cfg);
}

/* ---- failure threshold ----------------------------------------------------------------- */

static void test_threshold(void)
{
    essim_config cfg;
    base_cfg(&cfg, CFG_ENC_OFFSET, CFG_GRAN_ROW);
    cfg.arch.cell.endurance_mean = 5;
    cfg.arch.cell.endurance_sigma_log10 = 0;
    map_plan *plan = make_plan(&cfg, small_spec, 1);
    wear_model *w = NULL;
    es_err err;
    if (!CHECK(plan && wear_create(&cfg, plan, &w, &err) == ES_OK)) return;
    /* Row granularity, one column tile: block g = row g, 3 weights x 4 slices = 12 cells. */
    CHECK_UINT(map_layer_at(plan, 0)->blocks, 4);
    CHECK_UINT(wear_cells(w, 0), 48);
    const uint8_t m02[4] = {1, 0, 1, 0}, m0[4] = {1, 0, 0, 0}, m012[4] = {1, 1, 1, 0};
    uint64_t f = 0;
    for (int i = 0; i < 5; i++)
        f += wear_record(w, 0, m02);
    CHECK_UINT(f, 0);
    CHECK_UINT(wear_failed_cells(w, 0), 0);
    CHECK_UINT(wear_record(w, 0, m0), 12); /* block 0's 6th write */
    CHECK_UINT(wear_failed_cells(w, 0), 12);
    /* Block 0 again (nothing left to fail), block 1 its 1st write, block 2 its 6th. */
    CHECK_UINT(wear_record(w, 0, m012), 12);
    CHECK_UINT(wear_failed_cells(w, (size_t)-1), 24);
    const uint64_t *cnt = wear_counts(w, 0);
    CHECK(cnt[0] == 7 && cnt[1] == 1 && cnt[2] == 6 && cnt[3] == 0);
    /* Exactly the cells of rows 0 and 2: cell = ((c K + r) S + s). */
    int ok = 1;
    for (uint64_t c = 0; c < 3; c++)
        for (uint64_t r = 0; r < 4; r++)
            for (uint64_t s = 0; s < 4; s++)
                ok &= wear_cell_failed(w, 0, (c * 4 + r) * 4 + s) == (r == 0 || r == 2);
    CHECK(ok);
    /* Restoring the counts rebuilds the same failures. */
    uint64_t saved[4];
    memcpy(saved, cnt, sizeof saved);
    const uint64_t zero[4] = {0};
    wear_set_counts(w, 0, zero);
    CHECK_UINT(wear_failed_cells(w, 0), 0);
    wear_set_counts(w, 0, saved);
    CHECK_UINT(wear_failed_cells(w, 0), 24);
    CHECK(wear_cell_failed(w, 0, 2 * 4) && !wear_cell_failed(w, 0, 1 * 4));
    wear_destroy(w);
    map_destroy(plan);
    cfg_free(&cfg);
}

/* ---- effect on the weights ----------------------------------------------------------- */

/* The small layer with row 0 = {0.5, -0.25, 1.0} and W[1][1] = -2 (R = 2: the scale is
 * the largest magnitude, here a negative healthy weight). */
static void small_weights(float *wt)
{
    for (int i = 0; i < 12; i++)
        wt[i] = 0.05f * (float)i - 0.3f;
    wt[0 * 4 + 0] = 0.5f;
    wt[1 * 4 + 0] = -0.25f;
    wt[2 * 4 + 0] = 1.0f;
    wt[1 * 4 + 1] = -2.0f;
}

/* Row 0 written twice with endurance 1: its cells fail; apply; return the new weights. */
static int worn_row0(essim_config *cfg, float *wt, wear_model **keep, map_plan **keep_plan)
{
    cfg->arch.cell.endurance_mean = 1;
    cfg->arch.cell.endurance_sigma_log10 = 0;
    map_plan *plan = make_plan(cfg, small_spec, 1);
    wear_model *w = NULL;
    es_err err;
    if (!plan || wear_create(cfg, plan, &w, &err) < 0) {
        map_destroy(plan);
        return 0;
    }
    const uint8_t m0[4] = {1, 0, 0, 0};
    small_weights(wt);
    float before[12];
    memcpy(before, wt, sizeof before);
    wear_apply(w, 0, wt); /* nothing failed yet: no change */
    int same = !memcmp(before, wt, sizeof before);
    wear_record(w, 0, m0);
    wear_record(w, 0, m0);
    int failed = wear_failed_cells(w, 0) == 3 * 4 * (cfg->arch.xbar.encoding ? 2 : 1);
    wear_apply(w, 0, wt);
    /* Rows 1..3 bit for bit. */
    for (int c = 0; c < 3; c++)
        for (int r = 1; r < 4; r++)
            same &= !memcmp(&before[c * 4 + r], &wt[c * 4 + r], 4);
    if (keep) {
        *keep = w;
        *keep_plan = plan;
    } else {
        wear_destroy(w);
        map_destroy(plan);
    }
    return same && failed;
}

static void test_apply_sudden(void)
{
    /* q = round(w / 2 x 127) = 32, -16, 64. Offset: every cell stuck at 0 gives u = 0,
     * q' = -128; at 3 gives u = 255, q' = 127. Differential: both cells of a slice at the same
     * level cancel: q' = 0. w' = q' x 2 / 127. */
    static const struct {
        int enc;
        double high;
        float want;
    } cases[] = {{CFG_ENC_OFFSET, 0, (float)(-128.0 * 2 / 127.0)},
                 {CFG_ENC_OFFSET, 1, 2.0f},
                 {CFG_ENC_DIFFERENTIAL, 0, 0.0f},
                 {CFG_ENC_DIFFERENTIAL, 1, 0.0f}};
    for (size_t k = 0; k < ES_ARRAY_LEN(cases); k++) {
        essim_config cfg;
        base_cfg(&cfg, cases[k].enc, CFG_GRAN_ROW);
        cfg.arch.wear.model = CFG_WEAR_SUDDEN;
        cfg.arch.wear.stuck_high = cases[k].high;
        float wt[12];
        CHECK_MSG(worn_row0(&cfg, wt, NULL, NULL), "case %zu: failures, others bit for bit", k);
        CHECK_MSG(wt[0] == cases[k].want && wt[4] == cases[k].want && wt[8] == cases[k].want,
                  "case %zu: %.9g %.9g %.9g, want %.9g", k, wt[0], wt[4], wt[8],
                  (double)cases[k].want);
        cfg_free(&cfg);
    }
}

/* A mix of stuck levels, against the digits worked out from each cell's stuck level. */
static void test_apply_mixed(void)
{
    essim_config cfg;
    base_cfg(&cfg, CFG_ENC_OFFSET, CFG_GRAN_ROW);
    cfg.arch.wear.stuck_high = 0.5;
    cfg.seed = 11;
    float wt[12];
    wear_model *w = NULL;
    map_plan *plan = NULL;
    if (!CHECK(worn_row0(&cfg, wt, &w, &plan))) return;
    int ok = 1, nhigh = 0;
    for (int c = 0; c < 3; c++) {
        double u = 0;
        for (int s = 0; s < 4; s++) {
            int lv = wear_cell_stuck_level(w, 0, (uint64_t)(c * 4 + 0) * 4 + (uint64_t)s);
            nhigh += lv == 3;
            u += lv * ldexp(1.0, 2 * s);
        }
        ok &= wt[c * 4] == (float)((u - 128) * 2.0 / 127.0);
    }
    CHECK(ok);
    CHECK(nhigh > 0 && nhigh < 12); /* a real mix (seed 11) */
    wear_destroy(w);
    map_destroy(plan);
    cfg_free(&cfg);
}

static void test_apply_gradual(void)
{
    for (int enc = 0; enc < 2; enc++) {
        essim_config cfg;
        base_cfg(&cfg, enc ? CFG_ENC_DIFFERENTIAL : CFG_ENC_OFFSET, CFG_GRAN_ROW);
        cfg.arch.wear.model = CFG_WEAR_GRADUAL;
        cfg.arch.wear.gradual_slope = 1;
        cfg.arch.cell.r_on_ohm = 1e3;
        cfg.arch.cell.r_off_ohm = 1e6;
        float wt[12];
        wear_model *w = NULL;
        map_plan *plan = NULL;
        if (!CHECK(worn_row0(&cfg, wt, &w, &plan))) continue;
        /* n / E = 2, slope 1: G_top = G_on / 2, t = 3 (G_on/2 - G_off) / (G_on - G_off). */
        double gon = 1e-3, goff = 1e-6, t = 3 * (gon / 2 - goff) / (gon - goff);
        CHECK_NEAR(wear_cell_window_top(w, 0, 0), t, 1e-12);
        CHECK_NEAR(wear_cell_window_top(w, 0, 4 * (enc ? 2 : 1)), 3.0, 0); /* row 1: healthy */
        double want[3];
        /* q = 32, -16, 64 (R = 2). */
        if (!enc) {
            /* u = 160 = digits (0,0,2,2) -> (0,0,t,t); 112 = (0,0,3,1) -> (0,0,t,1);
             * 192 = (0,0,0,3) -> (0,0,0,t). */
            want[0] = 80 * t - 128;
            want[1] = 16 * t + 64 - 128;
            want[2] = 64 * t - 128;
        } else {
            /* 32 = + (0,0,2,0) -> 16 t; -16 = - (0,0,1,0): below t; 64 = + (0,0,0,1). */
            want[0] = 16 * t;
            want[1] = -16;
            want[2] = 64;
        }
        for (int c = 0; c < 3; c++)
            /* Within a float rounding: the digit sum may round differently from want. */
            CHECK_MSG(fabs(wt[c * 4] - want[c] * 2 / 127.0) < 2e-7, "enc %d col %d: %.9g vs %.9g",
                      enc, c, wt[c * 4], want[c] * 2 / 127.0);
        wear_destroy(w);
        map_destroy(plan);
        cfg_free(&cfg);
    }
}

/* The gradual window of a failed cell only closes with more writes. */
static void test_gradual_monotone(void)
{
    essim_config cfg;
    base_cfg(&cfg, CFG_ENC_DIFFERENTIAL, CFG_GRAN_ROW);
    cfg.arch.wear.model = CFG_WEAR_GRADUAL;
    cfg.arch.cell.endurance_mean = 10;
    cfg.arch.cell.endurance_sigma_log10 = 0.3;
    map_plan *plan = make_plan(&cfg, small_spec, 1);
    wear_model *w = NULL;
    es_err err;
    if (!CHECK(plan && wear_create(&cfg, plan, &w, &err) == ES_OK)) return;
    const uint8_t all[4] = {1, 1, 1, 1};
    uint64_t nc = wear_cells(w, 0);
    double prev[96], first[96];
    for (uint64_t c = 0; c < nc; c++)
        prev[c] = first[c] = wear_cell_window_top(w, 0, c);
    int mono = 1;
    float wt[12], last_pos = INFINITY;
    int wmono = 1;
    for (int n = 1; n <= 3000; n++) {
        wear_record(w, 0, all);
        for (uint64_t c = 0; c < nc; c++) {
            double t = wear_cell_window_top(w, 0, c);
            mono &= t <= prev[c];
            prev[c] = t;
        }
        if (n % 100 == 0) {
            /* All weights 1.0 but one -1 (keeps R = 1): the worn positive value shrinks. */
            for (int i = 0; i < 12; i++)
                wt[i] = 1.0f;
            wt[11] = -1.0f;
            wear_apply(w, 0, wt);
            wmono &= wt[0] <= last_pos;
            last_pos = wt[0];
        }
    }
    CHECK(mono);
    CHECK(wmono);
    CHECK_UINT(wear_failed_cells(w, 0), nc);
    int narrowed = 1;
    for (uint64_t c = 0; c < nc; c++)
        narrowed &= first[c] == 3.0 && prev[c] < 3.0;
    CHECK(narrowed);
    CHECK(last_pos < 1.0f);
    wear_destroy(w);
    map_destroy(plan);
    cfg_free(&cfg);
}

/* ---- determinism ----------------------------------------------------------------------- */

static void failure_set(int64_t seed, uint8_t *out, uint64_t *n)
{
    essim_config cfg;
    base_cfg(&cfg, CFG_ENC_DIFFERENTIAL, CFG_GRAN_ROW);
    cfg.seed = seed;
    cfg.arch.cell.endurance_mean = 20;
    cfg.arch.cell.endurance_sigma_log10 = 0.4;
    map_layer_spec specs[1] = {{"l", 16, 10, 0}};
    map_plan *plan = make_plan(&cfg, specs, 1);
    wear_model *w = NULL;
    es_err err;
    *n = 0;
    if (!plan || wear_create(&cfg, plan, &w, &err) < 0) return;
    uint8_t mask[16];
    for (int it = 0; it < 20; it++) {
        for (int g = 0; g < 16; g++)
            mask[g] = (uint8_t)((g + it) % 3 != 0);
        wear_record(w, 0, mask);
    }
    *n = wear_cells(w, 0);
    for (uint64_t c = 0; c < *n; c++)
        out[c] = (uint8_t)wear_cell_failed(w, 0, c);
    wear_destroy(w);
    map_destroy(plan);
    cfg_free(&cfg);
}

static void test_determinism(void)
{
    static uint8_t a[1280], b[1280], c[1280];
    uint64_t na, nb, nc;
    failure_set(5, a, &na);
    failure_set(5, b, &nb);
    failure_set(6, c, &nc);
    CHECK_UINT(na, 16 * 10 * 4 * 2);
    CHECK(na == nb && na == nc);
    uint64_t fa = 0;
    for (uint64_t i = 0; i < na; i++)
        fa += a[i];
    CHECK(fa > 0 && fa < na); /* some, not all, failed: the comparison means something */
    CHECK(!memcmp(a, b, na));
    CHECK(memcmp(a, c, na) != 0);
}

/* ---- lifetime statistics ------------------------------------------------------------ */

static void test_stats_hand(void)
{
    essim_config cfg;
    base_cfg(&cfg, CFG_ENC_OFFSET, CFG_GRAN_WEIGHT);
    cfg.arch.cell.endurance_mean = 3;
    cfg.arch.cell.endurance_sigma_log10 = 0;
    map_layer_spec specs[2] = {{"a", 2, 4, 0}, {"b", 2, 2, 0}};
    map_plan *plan = make_plan(&cfg, specs, 2);
    wear_model *w = NULL;
    es_err err;
    if (!CHECK(plan && wear_create(&cfg, plan, &w, &err) == ES_OK)) return;
    /* Weight granularity: 8 + 4 blocks of 4 cells, 48 cells. Two runs: weight 0 of a written
     * 4 times (fails: 4 > 3), weight 1 twice, b's weight 3 three times. */
    uint8_t ma[8] = {0}, mb[4] = {0};
    for (int it = 0; it < 4; it++) {
        memset(ma, 0, sizeof ma);
        memset(mb, 0, sizeof mb);
        ma[0] = 1;
        ma[1] = it < 2;
        mb[3] = it < 3;
        wear_record(w, 0, ma);
        wear_record(w, 1, mb);
    }
    stat_registry *r = NULL;
    stat_registry_create(&r);
    if (!CHECK(wear_stats(w, 2, r, &err) == ES_OK)) return;
    double v;
    /* T = E / (n / runs): weight a0 3 / 2 = 1.5, a1 3 / 1 = 3, b3 3 / 1.5 = 2. Sorted:
     * 4 x 1.5, 4 x 2, 4 x 3. k(1%) = ceil(0.48) = 1 -> 1.5; k(10%) = ceil(4.8) = 5 -> 2
     * (rounding k down would give 1.5). */
    CHECK(stat_value(r, "lifetime.runs_to_first_failure", &v, &err) == ES_OK && v == 1.5);
    CHECK(stat_value(r, "lifetime.runs_to_1pct_failed", &v, &err) == ES_OK && v == 1.5);
    CHECK(stat_value(r, "lifetime.runs_to_10pct_failed", &v, &err) == ES_OK && v == 2.0);
    CHECK(stat_value(r, "lifetime.cells", &v, &err) == ES_OK && v == 48);
    CHECK(stat_value(r, "lifetime.cells_failed", &v, &err) == ES_OK && v == 4);
    CHECK(stat_value(r, "lifetime.failed_fraction", &v, &err) == ES_OK && v == 4.0 / 48);
    CHECK(stat_value(r, "lifetime.runs_recorded", &v, &err) == ES_OK && v == 2);
    CHECK(stat_value(r, "lifetime.endurance_mean", &v, &err) == ES_OK && v == 3);
    CHECK(stat_value(r, "lifetime.by_layer.runs_to_first_failure::b", &v, &err) == ES_OK &&
          v == 2.0);
    CHECK(stat_value(r, "lifetime.by_layer.cells_failed::a", &v, &err) == ES_OK && v == 4);
    CHECK(stat_value(r, "lifetime.by_layer.cells::b", &v, &err) == ES_OK && v == 16);
    stat_registry_destroy(r);

    /* A fresh model, nothing written: every figure is +inf. A scalar someone registered
     * before (wctl_stats does) is overwritten, not a clash. */
    wear_model *w2 = NULL;
    if (!CHECK(wear_create(&cfg, plan, &w2, &err) == ES_OK)) return;
    stat_registry_create(&r);
    stat_entry *pre = stat_register_scalar(r, "lifetime.runs_to_first_failure", "runs", "", &err);
    stat_set(pre, 42);
    CHECK(wear_stats(w2, 0, r, &err) == ES_OK);
    CHECK(isinf(stat_get(pre)) && stat_get(pre) > 0);
    CHECK(stat_value(r, "lifetime.runs_to_10pct_failed", &v, &err) == ES_OK && isinf(v));
    CHECK(stat_value(r, "lifetime.runs_recorded", &v, &err) == ES_OK && v == 1);
    stat_registry_destroy(r);
    wear_destroy(w2);
    wear_destroy(w);
    map_destroy(plan);
    cfg_free(&cfg);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* wear_record_bits (packed masks, as replay reads them) does exactly what wear_record does
 * with the same masks as byte flags: same counts, same failed cells, call by call. Low
 * endurance so that cells fail; layer sizes not multiples of 8 (bits past G stay clear). */
/* Wear by pulses: a kept block takes its count of units, a block with 0 none, an unkept one
 * none; cells fail once the units pass their endurance, as with writes. */
static void test_record_pulses(void)
{
    essim_config cfg;
    base_cfg(&cfg, CFG_ENC_DIFFERENTIAL, CFG_GRAN_ROW);
    cfg.arch.cell.endurance_mean = 30;
    cfg.arch.cell.endurance_sigma_log10 = 0;
    map_layer_spec specs[1] = {{"a", 4, 3, 0}};
    map_plan *plan = make_plan(&cfg, specs, 1);
    wear_model *w = NULL;
    es_err err;
    if (!CHECK(plan && wear_create(&cfg, plan, &w, &err) == ES_OK)) {
        map_destroy(plan);
        cfg_free(&cfg);
        return;
    }
    CHECK_UINT(map_layer_at(plan, 0)->blocks, 4);
    const uint8_t mask[4] = {1, 1, 0, 1};
    const uint32_t n[4] = {7, 0, 9, 31};
    CHECK_UINT(wear_record_n(w, 0, mask, n), 3 * wear_cells(w, 0) / 12); /* block 3 passes 30 */
    const uint64_t *c = wear_counts(w, 0);
    CHECK(c[0] == 7 && c[1] == 0 && c[2] == 0 && c[3] == 31);
    CHECK_UINT(wear_record_n(w, 0, mask, n), 0); /* block 0 at 14; block 3's cells failed */
    CHECK(c[0] == 14 && c[3] == 62);
    const uint32_t more[4] = {17, 0, 0, 0};
    CHECK_UINT(wear_record_n(w, 0, mask, more), wear_cells(w, 0) / 4); /* block 0 at 31 */
    wear_destroy(w);
    map_destroy(plan);
    cfg_free(&cfg);
}

static void test_record_bits(void)
{
    essim_config cfg;
    base_cfg(&cfg, CFG_ENC_DIFFERENTIAL, CFG_GRAN_ROW);
    cfg.arch.cell.endurance_mean = 30;
    cfg.arch.cell.endurance_sigma_log10 = 0.3;
    map_layer_spec specs[2] = {{"a", 37, 20, 0}, {"b", 3, 7, 0}};
    map_plan *plan = make_plan(&cfg, specs, 2);
    wear_model *wa = NULL, *wb = NULL;
    es_err err;
    if (!CHECK(plan && wear_create(&cfg, plan, &wa, &err) == ES_OK &&
               wear_create(&cfg, plan, &wb, &err) == ES_OK))
        return;
    CHECK_UINT(map_layer_at(plan, 0)->blocks, 37); /* the scratch masks below hold 64 */
    CHECK_UINT(map_layer_at(plan, 1)->blocks, 3);
    rng_stream rs;
    rng_init(&rs, 5, "masks");
    int same = 1;
    uint64_t failed = 0;
    for (int it = 0; it < 60; it++)
        for (size_t l = 0; l < 2; l++) {
            const map_layer *L = map_layer_at(plan, l);
            uint8_t flags[64], bits[8] = {0};
            for (uint64_t g = 0; g < L->blocks; g++) {
                flags[g] = (uint8_t)(rng_uniform(&rs) < 0.5);
                if (flags[g]) bits[g >> 3] |= (uint8_t)(1u << (g & 7));
            }
            uint64_t fa = wear_record(wa, l, flags), fb = wear_record_bits(wb, l, bits);
            same &= fa == fb;
            failed += fa;
        }
    for (size_t l = 0; l < 2; l++) {
        const uint64_t *ca = wear_counts(wa, l), *cb = wear_counts(wb, l);
        same &= !memcmp(ca, cb, map_layer_at(plan, l)->blocks * sizeof *ca);
        same &= wear_failed_cells(wa, l) == wear_failed_cells(wb, l);
    }
    CHECK_MSG(same, "packed and byte masks: same counts and failures");
    CHECK_MSG(failed > 0, "cells failed on the way (%llu)", (unsigned long long)failed);
    wear_destroy(wa);
    wear_destroy(wb);
    map_destroy(plan);
    cfg_free(&cfg);
}

/* Quantiles over 240000 cells (more than the selection gathers at once) against a full sort;
 * sigma 0 with equal counts exercises the all-equal case. */
static void check_quantiles(double sigma, int random_masks)
{
    essim_config cfg;
    base_cfg(&cfg, CFG_ENC_DIFFERENTIAL, CFG_GRAN_ROW);
    cfg.arch.cell.endurance_mean = 1e4;
    cfg.arch.cell.endurance_sigma_log10 = sigma;
    /* 212168 cells: k(1%) = 2122 and k(10%) = 21217 are rounded up. */
    map_layer_spec specs[3] = {{"big", 100, 250, 0}, {"other", 30, 50, 0}, {"odd", 3, 7, 0}};
    map_plan *plan = make_plan(&cfg, specs, 3);
    wear_model *w = NULL;
    es_err err;
    if (!CHECK(plan && wear_create(&cfg, plan, &w, &err) == ES_OK)) return;
    rng_stream rs;
    rng_init(&rs, 3, "masks");
    for (int it = 0; it < 50; it++)
        for (size_t l = 0; l < 3; l++) {
            const map_layer *L = map_layer_at(plan, l);
            uint8_t mask[512];
            for (uint64_t g = 0; g < L->blocks; g++)
                mask[g] = random_masks
                              ? (uint8_t)(rng_uniform(&rs) < 0.1 + 0.8 * (double)(g % 7) / 6)
                              : (uint8_t)(l == 0);
            wear_record(w, l, mask);
        }
    uint64_t total = wear_cells(w, (size_t)-1), n = 0;
    double *t = malloc(total * sizeof *t);
    for (size_t l = 0; l < 3; l++) {
        const map_layer *L = map_layer_at(plan, l);
        uint64_t nc;
        const float *e = wear_endurance(w, l, &nc);
        const uint64_t *cnt = wear_counts(w, l);
        for (uint64_t c = 0; c < nc; c++) {
            uint64_t i = c / 8, g = map_block_of(L, i % L->k, i / L->k);
            if (cnt[g]) t[n++] = (double)e[c] / ((double)cnt[g] / 3.0);
        }
    }
    qsort(t, n, sizeof *t, cmp_d);
    stat_registry *r = NULL;
    stat_registry_create(&r);
    CHECK(wear_stats(w, 3, r, &err) == ES_OK);
    double v1, v10, v0;
    stat_value(r, "lifetime.runs_to_first_failure", &v0, &err);
    stat_value(r, "lifetime.runs_to_1pct_failed", &v1, &err);
    stat_value(r, "lifetime.runs_to_10pct_failed", &v10, &err);
    uint64_t k1 = (total + 99) / 100, k10 = (total + 9) / 10;
    CHECK_UINT(total, 212168);
    CHECK_MSG(n > k10, "enough written cells (%llu)", (unsigned long long)n);
    CHECK_MSG(v0 == t[0], "first %.17g vs %.17g", v0, t[0]);
    CHECK_MSG(v1 == t[k1 - 1], "1%% %.17g vs %.17g", v1, t[k1 - 1]);
    CHECK_MSG(v10 == t[k10 - 1], "10%% %.17g vs %.17g", v10, t[k10 - 1]);
    free(t);
    stat_registry_destroy(r);
    wear_destroy(w);
    map_destroy(plan);
    cfg_free(&cfg);
}

static void test_stats_quantiles(void)
{
    check_quantiles(0.5, 1); /* distinct values: the histogram rounds */
    check_quantiles(0.0, 1); /* few distinct values, each many times */
    check_quantiles(0.0, 0); /* one value */
}

/* ---- errors ---------------------------------------------------------------------------- */

static void test_rejects(void)
{
    essim_config cfg;
    base_cfg(&cfg, CFG_ENC_OFFSET, CFG_GRAN_ROW);
    map_plan *plan = make_plan(&cfg, small_spec, 1);
    if (!CHECK(plan)) return;
    static int sentinel;
    wear_model *w = (wear_model *)(void *)&sentinel; /* must be reset to NULL on failure */
    es_err err;
    cfg.arch.cell.endurance_mean = 0.5;
    CHECK_INT(wear_create(&cfg, plan, &w, &err), ES_ECONFIG);
    CHECK(w == NULL);
    CHECK_CONTAINS(err.msg, "arch.cell.endurance_mean");
    cfg.arch.cell.endurance_mean = 1e7;
    cfg.arch.cell.endurance_sigma_log10 = -0.1;
    CHECK_INT(wear_create(&cfg, plan, &w, &err), ES_ECONFIG);
    CHECK_CONTAINS(err.msg, "endurance_sigma_log10");
    cfg.arch.cell.endurance_sigma_log10 = 0.4;
    cfg.arch.wear.stuck_high = 1.5;
    CHECK_INT(wear_create(&cfg, plan, &w, &err), ES_ECONFIG);
    CHECK_CONTAINS(err.msg, "arch.wear.stuck_high");
    cfg.arch.wear.stuck_high = 0.5;
    cfg.arch.wear.model = 7;
    CHECK_INT(wear_create(&cfg, plan, &w, &err), ES_ECONFIG);
    CHECK_CONTAINS(err.msg, "arch.wear.model");
    cfg.arch.wear.model = CFG_WEAR_GRADUAL;
    cfg.arch.wear.gradual_slope = -1;
    CHECK_INT(wear_create(&cfg, plan, &w, &err), ES_ECONFIG);
    CHECK_CONTAINS(err.msg, "arch.wear.gradual_slope");
    cfg.arch.wear.gradual_slope = 0.5;
    cfg.arch.cell.r_off_ohm = cfg.arch.cell.r_on_ohm; /* cell.h rejects it */
    CHECK_INT(wear_create(&cfg, plan, &w, &err), ES_ECONFIG);
    CHECK_CONTAINS(err.msg, "arch.cell.r_off");
    cfg.arch.cell.r_off_ohm = 1e6;
    CHECK_INT(wear_create(NULL, plan, &w, &err), ES_EINVAL);
    CHECK_INT(wear_create(&cfg, NULL, &w, &err), ES_EINVAL);
    map_destroy(plan);
    /* One-bit weights cannot be scaled by 2^(wb-1) - 1 = 0. */
    cfg.arch.xbar.weight_bits = 1;
    plan = make_plan(&cfg, small_spec, 1);
    if (CHECK(plan)) {
        CHECK_INT(wear_create(&cfg, plan, &w, &err), ES_ECONFIG);
        CHECK_CONTAINS(err.msg, "arch.xbar.weight_bits");
    }
    cfg.arch.xbar.weight_bits = 8;
    map_destroy(plan);
    plan = make_plan(&cfg, small_spec, 1);
    CHECK(plan && wear_create(&cfg, plan, &w, &err) == ES_OK && w);
    wear_destroy(w);
    wear_destroy(NULL);
    map_destroy(plan);
    cfg_free(&cfg);
}

int main(int argc, char **argv)
{
    static const tap_test tests[] = {
        {"endurance_distribution", test_endurance_distribution},
        {"threshold", test_threshold},
        {"apply_sudden", test_apply_sudden},
        {"apply_mixed", test_apply_mixed},
        {"apply_gradual", test_apply_gradual},
        {"gradual_monotone", test_gradual_monotone},
        {"determinism", test_determinism},
        {"record_bits", test_record_bits},
        {"stats_hand", test_stats_hand},
        {"stats_quantiles", test_stats_quantiles},
        {"record_pulses", test_record_pulses},
        {"rejects", test_rejects},
    };
    return tap_main(tests, ES_ARRAY_LEN(tests), argc, argv);
}
