/* test_residual.c - policy.residual (error feedback, issue 13): a dropped block's update stays in
 * the digital residual and joins its next write, kept blocks are written unscaled, so over any
 * number of iterations written + residual = the dense updates; the same seed gives the same
 * writes. Updates are multiples of 2^-12 so every float sum here is exact. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "map.h"
#include "rng.h"
#include "tap.h"
#include "wctl.h"

enum { K = 10, N = 300, NUMEL = K * N, ITERS = 40 };

static map_plan *make_plan(const essim_config *cfg)
{
    map_config mc;
    map_config_from(cfg, &mc);
    mc.require_fit = 0;
    map_layer_spec spec = {"big", K, N, 0};
    map_plan *plan = NULL;
    es_err err;
    if (map_create(&mc, &spec, 1, &plan, &err) < 0) return NULL;
    return plan;
}

typedef struct grab {
    float *residual;
} grab;

static void grab_put(void *ctx, const char *name, const uint64_t *u64, const float *f32,
                     const double *f64, size_t n)
{
    (void)u64;
    (void)f64;
    grab *g = ctx;
    if (f32 && strstr(name, "residual") && n == NUMEL) memcpy(g->residual, f32, n * sizeof *f32);
}

/* Run ITERS iterations of ESSENCE at rho 0.1; returns the final weights in w and the residual
 * in r, the dense sum in dense; the number of block writes. */
static uint64_t run(int residual, uint64_t seed, float *w, float *r, float *dense)
{
    essim_config cfg;
    es_err err;
    cfg_defaults(&cfg, &err);
    cfg.seed = (int64_t)seed;
    cfg.policy.name = cfg_choice_index("policy.name", "essence");
    cfg.policy.density = 0.1;
    cfg.policy.residual = residual;
    map_plan *plan = make_plan(&cfg);
    wctl *ws = NULL;
    if (!plan || wctl_create(&cfg, plan, &ws, &err) < 0) {
        map_destroy(plan);
        cfg_free(&cfg);
        return 0;
    }
    rng_stream rs;
    rng_init(&rs, 5, "test_residual.updates");
    static float u[NUMEL];
    memset(w, 0, NUMEL * sizeof *w);
    memset(dense, 0, NUMEL * sizeof *dense);
    uint64_t writes = 0;
    for (int it = 0; it < ITERS; it++) {
        for (int i = 0; i < NUMEL; i++) {
            u[i] = (float)((int)rng_below(&rs, 257) - 128) / 4096.0f;
            dense[i] += u[i];
        }
        wctl_begin(ws, (uint64_t)it, 0);
        wctl_layer(ws, 0, u, w);
        writes += wctl_written(ws, 0);
        wctl_end(ws);
    }
    grab g = {r};
    memset(r, 0, NUMEL * sizeof *r);
    wctl_save(ws, grab_put, &g);
    wctl_destroy(ws);
    map_destroy(plan);
    cfg_free(&cfg);
    return writes;
}

static void t_conservation(void)
{
    static float w[NUMEL], r[NUMEL], dense[NUMEL], w2[NUMEL], r2[NUMEL], d2[NUMEL];
    const uint64_t writes = run(1, 1, w, r, dense);
    CHECK(writes > 0);
    /* about rho of the 30 blocks per iteration */
    CHECK(writes > ITERS * 30 * 0.05 && writes < ITERS * 30 * 0.2);
    size_t bad = 0, held = 0;
    for (int i = 0; i < NUMEL; i++) {
        /* the weights move by -written: written + residual == dense */
        bad += (-w[i]) + r[i] != dense[i];
        held += r[i] != 0.0f;
    }
    CHECK_UINT(bad, 0);
    CHECK(held > 0); /* something is still waiting in the buffer */
    /* same seed, same writes and residual */
    const uint64_t again = run(1, 1, w2, r2, d2);
    CHECK_UINT(again, writes);
    CHECK(!memcmp(w, w2, sizeof w) && !memcmp(r, r2, sizeof r));
    /* without error feedback there is no residual and the sum is not conserved */
    run(0, 1, w2, r2, d2);
    size_t off = 0, any_r = 0;
    for (int i = 0; i < NUMEL; i++) {
        off += -w2[i] != d2[i];
        any_r += r2[i] != 0.0f;
    }
    CHECK(off > 0);
    CHECK_UINT(any_r, 0);
}

int main(int argc, char **argv)
{
    static const tap_test tests[] = {
        {"conservation", t_conservation},
    };
    return tap_main(tests, ES_ARRAY_LEN(tests), argc, argv);
}
