/* ds_synth.c - a seeded synthetic dataset for tests and quick runs: smooth random class
 * prototypes plus brightness jitter and pixel noise, so a small network has something real to
 * learn without any files. */
#include "ds_internal.h"

#include <math.h>
#include <stdlib.h>

/* Coarse grid of random values that a prototype is interpolated from; 4x4 gives blobs a
 * convolution sees at any image size, and enough freedom that classes differ everywhere. */
#define SYNTH_GRID 4
/* Maximum per-image brightness offset, in pixel units. */
#define SYNTH_JITTER 20.0

/* One approximately standard normal number from one 64-bit draw: the sum of four 16-bit
 * uniforms (Irwin-Hall, mean 2, variance 1/3) rescaled. Cheaper than the polar method by an
 * order of magnitude, and the tails do not matter for pixel noise that is clamped anyway. */
static double approx_normal(rng_stream *r)
{
    uint64_t x = rng_u64(r);
    double s = 0.0;
    for (int j = 0; j < 4; j++)
        s += ((double)((x >> (16 * j)) & 0xffff) + 0.5) / 65536.0;
    return (s - 2.0) * 1.7320508075688772;
}

static void make_prototype(rng_stream *r, float *dst, int h, int w)
{
    double grid[SYNTH_GRID][SYNTH_GRID];
    for (int i = 0; i < SYNTH_GRID; i++)
        for (int j = 0; j < SYNTH_GRID; j++)
            grid[i][j] = 255.0 * rng_uniform(r);
    for (int y = 0; y < h; y++) {
        double gy = h > 1 ? (double)y * (SYNTH_GRID - 1) / (h - 1) : 0.0;
        int y0 = ES_MIN((int)gy, SYNTH_GRID - 2);
        double fy = gy - y0;
        for (int x = 0; x < w; x++) {
            double gx = w > 1 ? (double)x * (SYNTH_GRID - 1) / (w - 1) : 0.0;
            int x0 = ES_MIN((int)gx, SYNTH_GRID - 2);
            double fx = gx - x0;
            double v = (1 - fy) * ((1 - fx) * grid[y0][x0] + fx * grid[y0][x0 + 1]) +
                       fy * ((1 - fx) * grid[y0 + 1][x0] + fx * grid[y0 + 1][x0 + 1]);
            dst[(size_t)y * (size_t)w + (size_t)x] = (float)v;
        }
    }
}

int ds_synth_create(const ds_synth_config *cfg, ds_dataset **out, es_err *err)
{
    *out = NULL;
    if (!cfg) return es_fail(err, ES_EINVAL, "ds_synth_create: NULL configuration");
    if (cfg->c < 1 || cfg->c > DS_MAX_CHANNELS || cfg->h < 1 || cfg->h > 4096 || cfg->w < 1 ||
        cfg->w > 4096)
        return es_fail(err, ES_EINVAL,
                       "synthetic dataset: shape %dx%dx%d out of range (channels 1..%d, sides "
                       "1..4096)",
                       cfg->c, cfg->h, cfg->w, DS_MAX_CHANNELS);
    if (cfg->classes < 2 || cfg->classes > 65535)
        return es_fail(err, ES_EINVAL, "synthetic dataset: %d classes (need 2..65535)",
                       cfg->classes);
    if (!(cfg->noise >= 0.0f) || !isfinite(cfg->noise))
        return es_fail(err, ES_EINVAL, "synthetic dataset: noise %g must be finite and >= 0",
                       (double)cfg->noise);
    char name[64];
    snprintf(name, sizeof name, "synthetic/%s", cfg->split == DS_TRAIN ? "train" : "test");
    ds_dataset *ds = ds_alloc(name, cfg->n, cfg->c, cfg->h, cfg->w, cfg->classes);
    size_t img = (size_t)cfg->c * (size_t)cfg->h * (size_t)cfg->w, hw = img / (size_t)cfg->c;
    float *proto = NULL;
    if (ds && (size_t)cfg->classes <= SIZE_MAX / sizeof(float) / img)
        proto = malloc((size_t)cfg->classes * img * sizeof(float));
    if (!ds || !proto) {
        free(proto);
        ds_destroy(ds);
        return es_fail(err, ES_ENOMEM, "synthetic dataset: out of memory for %zu images", cfg->n);
    }
    /* Prototypes come from their own stream so both splits share them. */
    rng_stream pr, sr;
    rng_init(&pr, cfg->seed, "ds_synth/prototype");
    for (int k = 0; k < cfg->classes; k++)
        for (int ch = 0; ch < cfg->c; ch++)
            make_prototype(&pr, proto + (size_t)k * img + (size_t)ch * hw, cfg->h, cfg->w);
    rng_init_indexed(&sr, cfg->seed, "ds_synth/sample", (uint64_t)cfg->split);
    const double noise = cfg->noise;
    for (size_t i = 0; i < cfg->n; i++) {
        uint16_t label = (uint16_t)rng_below(&sr, (uint64_t)cfg->classes);
        double offset = SYNTH_JITTER * (2.0 * rng_uniform(&sr) - 1.0);
        const float *p = proto + (size_t)label * img;
        uint8_t *dst = ds->images + i * img;
        ds->labels[i] = label;
        for (size_t k = 0; k < img; k++) {
            double v = p[k] + offset;
            if (noise > 0.0) v += noise * approx_normal(&sr);
            v = floor(v + 0.5);
            dst[k] = (uint8_t)(v < 0.0 ? 0.0 : v > 255.0 ? 255.0 : v);
        }
    }
    free(proto);
    int rc = ds_finish(ds, err);
    if (rc < 0) {
        ds_destroy(ds);
        return rc;
    }
    *out = ds;
    return ES_OK;
}
