/* test_wpol.c - write policies on synthetic block norms: the density solve, the expected
 * written fraction, unbiasedness of the rescaled update, the endurance term lowering the
 * maximum count at the same mean, the aggressive schedule, per-layer densities, threshold. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "tap.h"
#include "wpol.h"

static void test_solve_tau(void)
{
    rng_stream r;
    rng_init(&r, 1, "test");
    enum { N = 2000 };
    static double a[N], b[N];
    for (int trial = 0; trial < 20; trial++) {
        for (int g = 0; g < N; g++) {
            a[g] = g % 7 == 0 ? 0.0 : exp(2.0 * rng_normal(&r)); /* heavy-tailed, some zeros */
            b[g] = rng_uniform(&r);
        }
        double target = (0.01 + 0.3 * rng_uniform(&r)) * N;
        const double *bb = trial % 2 ? b : NULL;
        double tau = wpol_solve_tau(a, bb, N, target);
        double e = 0;
        for (int g = 0; g < N; g++) e += fmin(1.0, a[g] / tau) * (bb ? bb[g] : 1.0);
        if (!CHECK_MSG(tau > 0 && fabs(e - target) <= 1e-9 * target,
                       "trial %d: E(tau) = %.12g, target %.12g", trial, e, target))
            return;
    }
    /* Unreachable target: every nonzero block kept with probability b. */
    double z[4] = {0, 1, 2, 0};
    CHECK(wpol_solve_tau(z, NULL, 4, 2.0) == 0.0);
    double p[4];
    wpol_probabilities(z, NULL, 4, 0.0, p);
    CHECK(p[0] == 0 && p[1] == 1 && p[2] == 1 && p[3] == 0);
    double zero[3] = {0, 0, 0};
    CHECK(wpol_solve_tau(zero, NULL, 3, 1.0) == 0.0);
    /* Hand case: a = {4, 1, 1, 1, 1}, target 2: tau = 4 gives 1 + 4/4 = 2. */
    double h[5] = {4, 1, 1, 1, 1};
    CHECK_NEAR(wpol_solve_tau(h, NULL, 5, 2.0), 4.0, 1e-12);
    /* target 1.5 needs tau > amax: sum a / tau = 8 / tau = 1.5. */
    CHECK_NEAR(wpol_solve_tau(h, NULL, 5, 1.5), 8.0 / 1.5, 1e-12);
}

/* A one-layer policy instance over n blocks of size 16. */
typedef struct one_layer {
    wpol_layer layer;
    uint32_t *size;
    uint64_t *count;
    const wpol_ops *ops;
    void *state;
} one_layer;

static int make_layer(one_layer *o, const essim_config *cfg, size_t n)
{
    o->size = malloc(n * sizeof *o->size);
    o->count = calloc(n, sizeof *o->count);
    for (size_t g = 0; g < n; g++) o->size[g] = 16;
    o->layer = (wpol_layer){"conv1", n, o->size, o->count, 0.0};
    o->ops = wpol_find_name(cfg_choice_name("policy.name", cfg->policy.name));
    es_err err;
    return o->ops->create(cfg, &o->layer, 1, &o->state, &err);
}

static void free_layer(one_layer *o)
{
    o->ops->destroy(o->state);
    free(o->size);
    free(o->count);
}

/* One iteration: decide and count the kept blocks. */
static size_t step(one_layer *o, uint64_t it, const double *norm, uint8_t *keep, float *scale)
{
    rng_stream r;
    rng_init_indexed(&r, 7, "policy", it);
    wpol_iter wi = {it, 0, 0};
    o->ops->decide(o->state, 0, &wi, norm, keep, scale, &r);
    size_t kept = 0;
    double total = 0;
    for (size_t g = 0; g < o->layer.nblocks; g++) {
        kept += keep[g];
        o->count[g] += keep[g];
        total += (double)o->count[g];
    }
    o->layer.mean_count = total / (double)o->layer.nblocks;
    return kept;
}

static void test_density_and_unbiased(void)
{
    essim_config cfg;
    es_err err;
    cfg_defaults(&cfg, &err);
    cfg.policy.name = cfg_choice_index("policy.name", "ssgp");
    cfg.policy.density = 0.1;
    enum { G = 1000, T = 3000 };
    one_layer o;
    if (!CHECK(make_layer(&o, &cfg, G) == ES_OK)) return;
    static double norm[G], ks[G];
    static uint8_t keep[G];
    static float scale[G];
    rng_stream r;
    rng_init(&r, 3, "norms");
    for (int g = 0; g < G; g++) norm[g] = 0.05 + exp(rng_normal(&r)); /* fixed over iterations */
    double kept_total = 0;
    for (uint64_t it = 0; it < T; it++) {
        kept_total += (double)step(&o, it, norm, keep, scale);
        for (int g = 0; g < G; g++) ks[g] += keep[g] * (double)scale[g];
    }
    /* Expected fraction rho: sd of the mean of T x G Bernoulli draws is tiny. */
    double frac = kept_total / ((double)T * G);
    CHECK_NEAR(frac, 0.1, 0.003);
    /* Unbiased: E[keep / p] = 1 for every block whose p >= p_min. */
    double tau = wpol_solve_tau(norm, NULL, G, 0.1 * G);
    int biased = 0, checked = 0;
    for (int g = 0; g < G; g++) {
        double p = fmin(1.0, norm[g] / tau);
        if (p < 0.02) continue;
        checked++;
        double mean = ks[g] / T, sd = sqrt((1 - p) / (p * T));
        if (fabs(mean - 1.0) > 5 * sd + 1e-9) biased++;
    }
    CHECK_MSG(checked > 100 && biased == 0, "%d of %d blocks biased", biased, checked);
    /* Mean rescaled update equals the dense update over the layer (weighted by norms). */
    double dense = 0, est = 0;
    for (int g = 0; g < G; g++) {
        dense += norm[g];
        est += norm[g] * ks[g] / T;
    }
    CHECK_NEAR(est / dense, 1.0, 0.01);
    free_layer(&o);
    cfg_free(&cfg);
}

static void test_endurance_lowers_max(void)
{
    /* Norms with persistent structure: a few blocks are always large. No Endurance writes
     * them almost every iteration; ESSENCE spreads the writes at the same mean. */
    enum { G = 500, T = 1000 };
    static double norm[G];
    static uint8_t keep[G];
    static float scale[G];
    rng_stream r;
    uint64_t maxc[2] = {0, 0};
    double mean[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        essim_config cfg;
        es_err err;
        cfg_defaults(&cfg, &err);
        cfg.policy.name = k == 0 ? cfg_choice_index("policy.name", "ssgp") : cfg_choice_index("policy.name", "essence");
        cfg.policy.density = 0.1;
        cfg.policy.lambda = 2.0;
        one_layer o;
        make_layer(&o, &cfg, G);
        for (uint64_t it = 0; it < T; it++) {
            rng_init_indexed(&r, 11, "norms", it);
            for (int g = 0; g < G; g++)
                norm[g] = (g < 25 ? 10.0 : 1.0) * (0.5 + rng_uniform(&r));
            step(&o, it, norm, keep, scale);
        }
        for (int g = 0; g < G; g++) {
            maxc[k] = o.count[g] > maxc[k] ? o.count[g] : maxc[k];
            mean[k] += (double)o.count[g] / G;
        }
        free_layer(&o);
        cfg_free(&cfg);
    }
    CHECK_NEAR(mean[0], 0.1 * T, 0.01 * T);
    CHECK_NEAR(mean[1], 0.1 * T, 0.01 * T); /* same density */
    CHECK_MSG(maxc[1] * 2 < maxc[0], "max count: essence %llu vs ssgp %llu",
              (unsigned long long)maxc[1], (unsigned long long)maxc[0]);
}

static void test_budget_and_schedule(void)
{
    essim_config cfg;
    es_err err;
    cfg_defaults(&cfg, &err);
    cfg.policy.name = cfg_choice_index("policy.name", "essence");
    cfg.policy.endurance = CFG_ENDUR_BUDGET;
    cfg.policy.budget = 50;
    cfg.policy.density = 0.5;
    enum { G = 100, T = 400 };
    one_layer o;
    make_layer(&o, &cfg, G);
    static double norm[G];
    static uint8_t keep[G];
    static float scale[G];
    for (int g = 0; g < G; g++) norm[g] = 1.0 + g;
    for (uint64_t it = 0; it < T; it++) step(&o, it, norm, keep, scale);
    uint64_t mx = 0;
    for (int g = 0; g < G; g++) mx = o.count[g] > mx ? o.count[g] : mx;
    CHECK_MSG(mx <= 50, "no block exceeds the budget (max %llu)", (unsigned long long)mx);
    free_layer(&o);

    wpol_iter it = {0, 0, 2};
    cfg.policy.density = 0.2;
    cfg.policy.kappa = 0.5;
    CHECK_NEAR(wpol_density(&cfg, "conv1", &it, 1), 0.05, 1e-15);
    CHECK_NEAR(wpol_density(&cfg, "conv1", &it, 0), 0.2, 1e-15);
    char *key = strdup("conv1");
    double v = 0.3;
    cfg_real_map saved = cfg.policy.layers; /* the default (empty) map, restored below */
    cfg.policy.layers = (cfg_real_map){1, &key, &v};
    CHECK_NEAR(wpol_density(&cfg, "conv1", &it, 1), 0.075, 1e-15);
    CHECK_NEAR(wpol_density(&cfg, "fc1", &it, 1), 0.05, 1e-15);
    cfg.policy.layers = saved;
    free(key);
    cfg_free(&cfg);
}

static void test_threshold_and_sgd(void)
{
    essim_config cfg;
    es_err err;
    cfg_defaults(&cfg, &err);
    cfg.policy.name = cfg_choice_index("policy.name", "threshold");
    cfg.policy.threshold = 1.0;
    one_layer o;
    make_layer(&o, &cfg, 4);
    double norm[4] = {1, 2, 3, 6}; /* mean 3: blocks 2 and 3 cross */
    uint8_t keep[4];
    float scale[4];
    CHECK(o.ops->residual == 1);
    CHECK_INT(step(&o, 0, norm, keep, scale), 2);
    CHECK(!keep[0] && !keep[1] && keep[2] && keep[3] && scale[3] == 1.0f);
    free_layer(&o);
    cfg.policy.name = cfg_choice_index("policy.name", "sgd");
    make_layer(&o, &cfg, 4);
    CHECK_INT(step(&o, 0, norm, keep, scale), 4);
    CHECK(o.ops->residual == 0);
    free_layer(&o);
    CHECK(wpol_find_name("essence") == wpol_at(3));
    CHECK(wpol_find_name("essence-aggressive") == wpol_at(4));
    CHECK(wpol_find_name("bogus") == NULL && wpol_find_name(NULL) == NULL);
    CHECK(wpol_at(wpol_count()) == NULL);
    /* the schema's choices of policy.name are the registry's names, in order */
    for (size_t i = 0; i < wpol_count(); i++) {
        CHECK_STR(cfg_choice_name("policy.name", (int)i), wpol_at(i)->name);
        CHECK_INT(cfg_choice_index("policy.name", wpol_at(i)->name), (int)i);
    }
    CHECK_INT(cfg_choice_index("policy.name", "bogus"), -1);
    CHECK_STR(cfg_choice_name("policy.name", (int)wpol_count()), "?");
    CHECK(wpol_find_name("nope") == NULL);
    cfg_free(&cfg);
}

int main(int argc, char **argv)
{
    static const tap_test tests[] = {
        {"solve_tau", test_solve_tau},
        {"density_and_unbiased", test_density_and_unbiased},
        {"endurance_lowers_max", test_endurance_lowers_max},
        {"budget_and_schedule", test_budget_and_schedule},
        {"threshold_and_sgd", test_threshold_and_sgd},
    };
    return tap_main(tests, ES_ARRAY_LEN(tests), argc, argv);
}
