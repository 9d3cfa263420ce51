/* test_layers.c - the training engine's kernels: sgemm (OpenBLAS and the portable fallback)
 * against a naive product, convolution against hand-computed values and a direct loop, and
 * every backward pass against central finite differences of a scalar objective. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_gemm.h"
#include "nn_layers.h"
#include "rng.h"
#include "tap.h"

static void fill(rng_stream *r, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * rng_uniform_f(r);
}

static float *falloc(size_t n)
{
    return calloc(n ? n : 1, sizeof(float));
}

/* ---- sgemm ----------------------------------------------------------------------------------- */

typedef void (*gemm_fn)(int, int, int, int, int, float, const float *, int, const float *, int,
                        float, float *, int);

/* Largest |C - naive| / (1 + |naive|) over random products of every transpose combination,
 * odd sizes, padded leading dimensions, and sizes past the portable kernel's blocks. */
static double gemm_worst(gemm_fn f, rng_stream *r)
{
    static const int dims[][3] = {{1, 1, 1},      {3, 5, 7},   {17, 9, 33},   {64, 64, 64},
                                  {70, 260, 130}, {5, 300, 2}, {129, 7, 257}, {4, 8, 0}};
    double worst = 0.0;
    for (size_t t = 0; t < ES_ARRAY_LEN(dims); t++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                const int m = dims[t][0], n = dims[t][1], k = dims[t][2];
                const int ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
                const int lda = ac + 3, ldb = bc + 1, ldc = n + 2;
                float *a = falloc((size_t)ar * lda), *b = falloc((size_t)br * ldb);
                float *c = falloc((size_t)m * ldc);
                double *ref = calloc((size_t)m * n + 1, sizeof *ref);
                fill(r, a, (size_t)ar * lda, -1, 1);
                fill(r, b, (size_t)br * ldb, -1, 1);
                fill(r, c, (size_t)m * ldc, -1, 1);
                const float alpha = 0.75f, beta = (t % 3 == 0) ? 0.0f : -0.5f;
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        double s = 0.0;
                        for (int p = 0; p < k; p++) {
                            double av = ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                            double bv = tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                            s += av * bv;
                        }
                        ref[(size_t)i * n + j] = alpha * s + beta * c[(size_t)i * ldc + j];
                    }
                if (beta == 0.0f && m > 0 && n > 0) c[0] = NAN; /* beta 0 must not read C */
                float *pad = falloc((size_t)m * ldc);
                memcpy(pad, c, (size_t)m * ldc * sizeof *c);
                f(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        double e = fabs(c[(size_t)i * ldc + j] - ref[(size_t)i * n + j]) /
                                   (1.0 + fabs(ref[(size_t)i * n + j]));
                        if (!(e <= worst)) worst = isnan(e) ? INFINITY : e;
                    }
                /* the padding columns of C are never written */
                for (int i = 0; i < m; i++)
                    for (int j = n; j < ldc; j++)
                        if (c[(size_t)i * ldc + j] != pad[(size_t)i * ldc + j]) worst = INFINITY;
                free(pad);
                free(a);
                free(b);
                free(c);
                free(ref);
            }
    return worst;
}

static void t_gemm_portable(void)
{
    rng_stream r;
    rng_init(&r, 1, "test.gemm");
    double w = gemm_worst(nn_sgemm_portable, &r);
    CHECK_MSG(w < 1e-5, "portable sgemm vs naive: worst relative error %g", w);
}

static void t_gemm_dispatch(void)
{
    rng_stream r;
    rng_init(&r, 2, "test.gemm");
    double w = gemm_worst(nn_sgemm, &r);
    CHECK_MSG(w < 1e-5, "nn_sgemm (%s) vs naive: worst relative error %g", nn_gemm_backend_name(),
              w);
#ifdef ES_HAVE_BLAS
    CHECK_STR(nn_gemm_backend_name(), "openblas");
#else
    CHECK_STR(nn_gemm_backend_name(), "portable");
#endif
}

/* ---- convolution: hand-computed, and against a direct loop ------------------------------------
 */

static void t_conv_hand(void)
{
    /* x[i][j] = 4i + j on a 4x4 plane; a "plus" kernel sums the centre and its 4 neighbours */
    float x[16], w[9] = {0, 1, 0, 1, 1, 1, 0, 1, 0}, b = 1.0f, y[4];
    for (int i = 0; i < 16; i++)
        x[i] = (float)i;
    nn_conv_desc d;
    float scratch[64];
    CHECK_INT(nn_conv_desc_init(&d, 1, 4, 4, 1, 3, 1, 0, 1, NULL), ES_OK);
    CHECK_INT(d.ho, 2);
    CHECK_INT(d.wo, 2);
    CHECK(nn_conv_backend_gemm.scratch_floats(&d, 1) <= ES_ARRAY_LEN(scratch));
    nn_conv_backend_gemm.forward(NULL, &d, 1, x, w, &b, y, scratch);
    /* a linear field: the plus sum is 5 x centre; centres 5, 6, 9, 10, plus bias 1 */
    CHECK_NEAR(y[0], 26, 1e-5);
    CHECK_NEAR(y[1], 31, 1e-5);
    CHECK_NEAR(y[2], 46, 1e-5);
    CHECK_NEAR(y[3], 51, 1e-5);
    /* stride 2, padding 1, no bias: centres (0,0) (0,2) (2,0) (2,2), zeros outside */
    CHECK_INT(nn_conv_desc_init(&d, 1, 4, 4, 1, 3, 2, 1, 0, NULL), ES_OK);
    CHECK_INT(d.ho, 2);
    nn_conv_backend_gemm.forward(NULL, &d, 1, x, w, NULL, y, scratch);
    CHECK_NEAR(y[0], 0 + 1 + 4, 1e-5);
    CHECK_NEAR(y[1], 2 + 1 + 3 + 6, 1e-5);
    CHECK_NEAR(y[2], 8 + 4 + 12 + 9, 1e-5);
    CHECK_NEAR(y[3], 5 * 10, 1e-5);
}

static double direct_conv_at(const nn_conv_desc *d, const float *x, const float *w, const float *b,
                             int n, int co, int oy, int ox)
{
    double s = b ? b[co] : 0.0;
    for (int ci = 0; ci < d->cin; ci++)
        for (int ky = 0; ky < d->k; ky++)
            for (int kx = 0; kx < d->k; kx++) {
                int iy = oy * d->stride - d->pad + ky, ix = ox * d->stride - d->pad + kx;
                if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) continue;
                s += (double)x[(((size_t)n * d->cin + ci) * d->h + iy) * d->w + ix] *
                     w[(((size_t)co * d->cin + ci) * d->k + ky) * d->k + kx];
            }
    return s;
}

static void t_conv_random(void)
{
    rng_stream r;
    rng_init(&r, 3, "test.conv");
    double worst_y = 0, worst_dx = 0, worst_dw = 0, worst_db = 0;
    for (int t = 0; t < 25; t++) {
        int cin = 1 + (int)rng_below(&r, 4), cout = 1 + (int)rng_below(&r, 5);
        int k = 1 + (int)rng_below(&r, 4), stride = 1 + (int)rng_below(&r, 3);
        int pad = (int)rng_below(&r, (uint64_t)k), n = 1 + (int)rng_below(&r, 3);
        int h = k + (int)rng_below(&r, 6), w = k + (int)rng_below(&r, 7), bias = t % 2;
        nn_conv_desc d;
        if (!CHECK_INT(nn_conv_desc_init(&d, cin, h, w, cout, k, stride, pad, bias, NULL), ES_OK))
            return;
        size_t nx = (size_t)n * cin * h * w, nw = (size_t)cout * cin * k * k,
               ny = (size_t)n * cout * d.ho * d.wo;
        float *x = falloc(nx), *wt = falloc(nw), *b = falloc(cout), *y = falloc(ny);
        float *dy = falloc(ny), *dx = falloc(nx), *dw = falloc(nw), *db = falloc(cout);
        float *scratch = falloc(nn_conv_backend_gemm.scratch_floats(&d, n));
        fill(&r, x, nx, -1, 1);
        fill(&r, wt, nw, -1, 1);
        fill(&r, b, cout, -1, 1);
        fill(&r, dy, ny, -1, 1);
        nn_conv_backend_gemm.forward(NULL, &d, n, x, wt, bias ? b : NULL, y, scratch);
        /* accum = 1 on a dx holding 0.5 everywhere checks the accumulate path */
        for (size_t i = 0; i < nx; i++)
            dx[i] = 0.5f;
        nn_conv_backend_gemm.backward(NULL, &d, n, x, wt, dy, dx, 1, dw, bias ? db : NULL, scratch);
        double *rdx = calloc(nx, sizeof *rdx), *rdw = calloc(nw, sizeof *rdw);
        double *rdb = calloc((size_t)cout, sizeof *rdb);
        for (int i = 0; i < n; i++)
            for (int co = 0; co < cout; co++)
                for (int oy = 0; oy < d.ho; oy++)
                    for (int ox = 0; ox < d.wo; ox++) {
                        size_t yi = (((size_t)i * cout + co) * d.ho + oy) * d.wo + ox;
                        double ref = direct_conv_at(&d, x, wt, bias ? b : NULL, i, co, oy, ox);
                        worst_y = fmax(worst_y, fabs(y[yi] - ref));
                        const double g = dy[yi];
                        rdb[co] += g;
                        for (int ci = 0; ci < cin; ci++)
                            for (int ky = 0; ky < k; ky++)
                                for (int kx = 0; kx < k; kx++) {
                                    int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                    size_t xi = (((size_t)i * cin + ci) * h + iy) * w + ix;
                                    size_t wi = (((size_t)co * cin + ci) * k + ky) * k + kx;
                                    rdx[xi] += g * wt[wi];
                                    rdw[wi] += g * x[xi];
                                }
                    }
        for (size_t i = 0; i < nx; i++)
            worst_dx = fmax(worst_dx, fabs(dx[i] - 0.5 - rdx[i]));
        for (size_t i = 0; i < nw; i++)
            worst_dw = fmax(worst_dw, fabs(dw[i] - rdw[i]));
        if (bias)
            for (int i = 0; i < cout; i++)
                worst_db = fmax(worst_db, fabs(db[i] - rdb[i]));
        free(x), free(wt), free(b), free(y), free(dy), free(dx), free(dw), free(db);
        free(scratch), free(rdx), free(rdw), free(rdb);
    }
    CHECK_MSG(worst_y < 1e-4, "im2col conv vs direct: worst |dy| %g", worst_y);
    CHECK_MSG(worst_dx < 1e-4, "conv dx (accumulated) vs direct adjoint: worst %g", worst_dx);
    CHECK_MSG(worst_dw < 1e-4, "conv dw vs direct: worst %g", worst_dw);
    CHECK_MSG(worst_db < 1e-4, "conv db vs direct: worst %g", worst_db);
}

static void t_conv_desc_errors(void)
{
    nn_conv_desc d;
    es_err e;
    CHECK_INT(nn_conv_desc_init(&d, 3, 4, 4, 8, 7, 1, 1, 0, &e), ES_ECONFIG);
    CHECK_CONTAINS(e.msg, "does not fit");
    CHECK_INT(nn_conv_desc_init(&d, 3, 4, 4, 8, 3, 0, 1, 0, &e), ES_ECONFIG);
    CHECK_CONTAINS(e.msg, "stride");
    CHECK_INT(nn_conv_desc_init(&d, 3, 4, 4, 8, 3, 1, 3, 0, &e), ES_ECONFIG);
    CHECK_CONTAINS(e.msg, "padding");
    CHECK_INT(nn_conv_desc_init(&d, 3, 4, 4, 0, 3, 1, 1, 0, &e), ES_ECONFIG);
    CHECK_INT(nn_window_out(28, 2, 2, 0), 14);
    CHECK_INT(nn_window_out(7, 2, 2, 0), 3);
    CHECK_INT(nn_window_out(1, 3, 1, 0), 0);
}

/* ---- finite differences -----------------------------------------------------------------------
 */

enum { K_CONV, K_BN, K_RELU, K_MAXPOOL, K_AVGPOOL, K_GAP, K_FC, K_SHORTCUT_A, K_ADD };

/* One layer under test: its inputs, parameters and output, and a random weighting r of the
 * output. The objective is L = sum r . y in double, so dL/dy = r. */
typedef struct fd_ctx {
    int kind, n, c, h, w, k, stride, pad, out, training;
    nn_conv_desc cd;
    float *x, *x2, *wt, *b, *rm, *rv, *sm, *si, *y, *r, *scratch;
    int32_t *am;
    size_t ny;
} fd_ctx;

static void fd_forward(fd_ctx *c)
{
    switch (c->kind) {
    case K_CONV:
        nn_conv_backend_gemm.forward(NULL, &c->cd, c->n, c->x, c->wt, c->b, c->y, c->scratch);
        break;
    case K_BN:
        if (c->training)
            nn_bn_forward_train(c->x, c->n, c->c, c->h * c->w, c->wt, c->b, 0.1f, 1e-5f, c->rm,
                                c->rv, c->y, c->sm, c->si);
        else
            nn_bn_forward_infer(c->x, c->n, c->c, c->h * c->w, c->wt, c->b, 1e-5f, c->rm, c->rv,
                                c->y, c->sm, c->si);
        break;
    case K_RELU: nn_relu_forward(c->x, c->y, c->ny); break;
    case K_MAXPOOL:
        nn_maxpool_forward(c->x, c->n, c->c, c->h, c->w, c->k, c->stride, c->pad, c->y, c->am);
        break;
    case K_AVGPOOL:
        nn_avgpool_forward(c->x, c->n, c->c, c->h, c->w, c->k, c->stride, c->pad, c->y);
        break;
    case K_GAP: nn_gap_forward(c->x, c->n, c->c, c->h * c->w, c->y); break;
    case K_FC: nn_fc_forward(c->x, c->n, c->c, c->wt, c->b, c->out, c->y); break;
    case K_SHORTCUT_A:
        nn_shortcut_a_forward(c->x, c->n, c->c, c->h, c->w, c->out, c->stride, c->y);
        break;
    case K_ADD: nn_add_forward(c->x, c->x2, c->y, c->ny); break;
    }
}

static double fd_objective(void *p)
{
    fd_ctx *c = p;
    fd_forward(c);
    double s = 0.0;
    for (size_t i = 0; i < c->ny; i++)
        s += (double)c->r[i] * c->y[i];
    return s;
}

/* Worst |analytic - numeric| / (atol + rtol |numeric|) over up to `checks` entries of v
 * (all when fewer): <= 1 passes. The step actually taken in float is used as the divisor. */
static double fd_worst(double (*f)(void *), void *ctx, float *v, const float *g, size_t n,
                       double eps, double atol, double rtol, size_t checks)
{
    double worst = 0.0;
    size_t step = n > checks ? n / checks : 1;
    for (size_t i = 0; i < n; i += step) {
        const float save = v[i];
        v[i] = (float)(save + eps);
        const double dp = (double)v[i] - save, lp = f(ctx);
        v[i] = (float)(save - eps);
        const double dm = (double)v[i] - save, lm = f(ctx);
        v[i] = save;
        const double num = (lp - lm) / (dp - dm);
        const double e = fabs(num - g[i]) / (atol + rtol * fabs(num));
        if (!(e <= worst)) worst = isnan(e) ? INFINITY : e;
    }
    f(ctx); /* leave the forward state as it was at the unperturbed point */
    return worst;
}

#define FD_CHECK(ctx, v, g, n, what)                                                               \
    do {                                                                                           \
        double w_ = fd_worst(fd_objective, (ctx), (v), (g), (n), 1e-2, 2e-3, 1e-2, 200);           \
        CHECK_MSG(w_ <= 1.0, "%s: worst normalised finite-difference error %g", (what), w_);       \
    } while (0)

static void t_fd_conv(void)
{
    rng_stream r;
    rng_init(&r, 4, "test.fd.conv");
    /* stride 2 with padding, with and without bias; stride 1 with a 1x1 kernel */
    static const int cases[][7] = {
        {2, 3, 7, 6, 3, 2, 1}, {3, 4, 5, 5, 3, 1, 1}, {3, 2, 4, 4, 1, 1, 0}};
    for (size_t t = 0; t < ES_ARRAY_LEN(cases); t++) {
        fd_ctx c = {.kind = K_CONV, .n = 2};
        const int cin = cases[t][0], cout = cases[t][1], bias = t != 1;
        nn_conv_desc_init(&c.cd, cin, cases[t][2], cases[t][3], cout, cases[t][4], cases[t][5],
                          cases[t][6], bias, NULL);
        size_t nx = (size_t)c.n * cin * c.cd.h * c.cd.w, nw = (size_t)cout * cin * c.cd.k * c.cd.k;
        c.ny = (size_t)c.n * cout * c.cd.ho * c.cd.wo;
        c.x = falloc(nx), c.wt = falloc(nw), c.b = bias ? falloc(cout) : NULL;
        c.y = falloc(c.ny), c.r = falloc(c.ny);
        c.scratch = falloc(nn_conv_backend_gemm.scratch_floats(&c.cd, c.n));
        float *dx = falloc(nx), *dw = falloc(nw), *db = falloc(cout);
        fill(&r, c.x, nx, -1, 1);
        fill(&r, c.wt, nw, -1, 1);
        if (c.b) fill(&r, c.b, cout, -1, 1);
        fill(&r, c.r, c.ny, -1, 1);
        fd_forward(&c);
        nn_conv_backend_gemm.backward(NULL, &c.cd, c.n, c.x, c.wt, c.r, dx, 0, dw, c.b ? db : NULL,
                                      c.scratch);
        FD_CHECK(&c, c.x, dx, nx, bias ? "conv dx (bias)" : "conv dx (no bias)");
        FD_CHECK(&c, c.wt, dw, nw, "conv dw");
        if (c.b) FD_CHECK(&c, c.b, db, cout, "conv db");
        free(c.x), free(c.wt), free(c.b), free(c.y), free(c.r), free(c.scratch);
        free(dx), free(dw), free(db);
    }
}

static void t_fd_bn(void)
{
    rng_stream r;
    rng_init(&r, 5, "test.fd.bn");
    for (int training = 1; training >= 0; training--) {
        fd_ctx c = {.kind = K_BN, .n = 3, .c = 4, .h = 3, .w = 2, .training = training};
        size_t nx = (size_t)c.n * c.c * c.h * c.w;
        c.ny = nx;
        c.x = falloc(nx), c.y = falloc(nx), c.r = falloc(nx);
        c.wt = falloc(c.c), c.b = falloc(c.c), c.rm = falloc(c.c), c.rv = falloc(c.c);
        c.sm = falloc(c.c), c.si = falloc(c.c);
        float *dx = falloc(nx), *dg = falloc(c.c), *dbeta = falloc(c.c);
        fill(&r, c.x, nx, -2, 3); /* a non-zero mean exercises the mean's gradient */
        fill(&r, c.wt, c.c, 0.5f, 1.5f);
        fill(&r, c.b, c.c, -1, 1);
        fill(&r, c.rm, c.c, -0.5f, 0.5f);
        fill(&r, c.rv, c.c, 0.5f, 2.0f);
        fill(&r, c.r, nx, -1, 1);
        fd_forward(&c);
        nn_bn_backward(c.x, c.r, c.n, c.c, c.h * c.w, c.wt, c.sm, c.si, training, dx, 0, dg, dbeta);
        FD_CHECK(&c, c.x, dx, nx, training ? "bn (training) dx" : "bn (inference) dx");
        FD_CHECK(&c, c.wt, dg, c.c, "bn dgamma");
        FD_CHECK(&c, c.b, dbeta, c.c, "bn dbeta");
        free(c.x), free(c.y), free(c.r), free(c.wt), free(c.b), free(c.rm), free(c.rv);
        free(c.sm), free(c.si), free(dx), free(dg), free(dbeta);
    }
}

static void t_bn_values(void)
{
    /* one channel, values 1..4: mean 2.5, biased variance 1.25, unbiased 5/3 */
    float x[4] = {1, 2, 3, 4}, y[4], g = 2.0f, b = 0.5f, rm = 0.0f, rv = 1.0f, sm, si;
    nn_bn_forward_train(x, 2, 1, 2, &g, &b, 0.1f, 0.0f, &rm, &rv, y, &sm, &si);
    CHECK_NEAR(sm, 2.5, 1e-6);
    CHECK_NEAR(si, 1.0 / sqrt(1.25), 1e-6);
    CHECK_NEAR(y[0], 2.0 * (1 - 2.5) / sqrt(1.25) + 0.5, 1e-5);
    CHECK_NEAR(y[3], 2.0 * (4 - 2.5) / sqrt(1.25) + 0.5, 1e-5);
    CHECK_NEAR(rm, 0.25, 1e-6);
    CHECK_NEAR(rv, 0.9 + 0.1 * 5.0 / 3.0, 1e-6);
    nn_bn_forward_infer(x, 2, 1, 2, &g, &b, 0.0f, &rm, &rv, y, &sm, &si);
    CHECK_NEAR(y[1], 2.0 * (2 - 0.25) / sqrt(0.9 + 0.5 / 3.0) + 0.5, 1e-5);
}

static void t_fd_relu_add(void)
{
    rng_stream r;
    rng_init(&r, 6, "test.fd.relu");
    fd_ctx c = {.kind = K_RELU};
    c.ny = 60;
    c.x = falloc(c.ny), c.y = falloc(c.ny), c.r = falloc(c.ny);
    float *dx = falloc(c.ny);
    for (size_t i = 0; i < c.ny; i++) { /* keep clear of the kink at 0 */
        float v = 0.05f + rng_uniform_f(&r);
        c.x[i] = (i % 3 == 0) ? -v : v;
    }
    fill(&r, c.r, c.ny, -1, 1);
    fd_forward(&c);
    nn_relu_backward(c.y, c.r, dx, c.ny, 0);
    FD_CHECK(&c, c.x, dx, c.ny, "relu dx");
    CHECK(c.y[0] == 0.0f && c.y[1] > 0.0f);
    /* addition: both inputs receive dy, accumulated onto what is there */
    c.kind = K_ADD;
    c.x2 = falloc(c.ny);
    fill(&r, c.x2, c.ny, -1, 1);
    float *dx2 = falloc(c.ny);
    for (size_t i = 0; i < c.ny; i++)
        dx2[i] = 1.0f;
    nn_copy_backward(c.r, dx, c.ny, 0);
    nn_copy_backward(c.r, dx2, c.ny, 1);
    for (size_t i = 0; i < c.ny; i++)
        dx2[i] -= 1.0f;
    FD_CHECK(&c, c.x, dx, c.ny, "add dx (first input)");
    FD_CHECK(&c, c.x2, dx2, c.ny, "add dx (second input, accumulated)");
    free(c.x), free(c.x2), free(c.y), free(c.r), free(dx), free(dx2);
}

static void t_fd_pool(void)
{
    rng_stream r;
    rng_init(&r, 7, "test.fd.pool");
    /* (kind, k, stride, pad) on a 2 x 3 x 7 x 6 input */
    static const int cases[][4] = {{K_MAXPOOL, 2, 2, 0},
                                   {K_MAXPOOL, 3, 2, 1},
                                   {K_AVGPOOL, 2, 2, 0},
                                   {K_AVGPOOL, 3, 2, 1},
                                   {K_GAP, 0, 0, 0}};
    for (size_t t = 0; t < ES_ARRAY_LEN(cases); t++) {
        fd_ctx c = {.kind = cases[t][0],
                    .n = 2,
                    .c = 3,
                    .h = 7,
                    .w = 6,
                    .k = cases[t][1],
                    .stride = cases[t][2],
                    .pad = cases[t][3]};
        size_t nx = (size_t)c.n * c.c * c.h * c.w;
        int ho = c.kind == K_GAP ? 1 : nn_window_out(c.h, c.k, c.stride, c.pad);
        int wo = c.kind == K_GAP ? 1 : nn_window_out(c.w, c.k, c.stride, c.pad);
        c.ny = (size_t)c.n * c.c * ho * wo;
        c.x = falloc(nx), c.y = falloc(c.ny), c.r = falloc(c.ny);
        c.am = calloc(c.ny, sizeof *c.am);
        float *dx = falloc(nx);
        /* distinct values (a shuffled ramp) so no max is tied within a finite-difference step */
        uint32_t *perm = malloc(nx * sizeof *perm);
        for (size_t i = 0; i < nx; i++)
            perm[i] = (uint32_t)i;
        rng_shuffle_u32(&r, perm, nx);
        for (size_t i = 0; i < nx; i++)
            c.x[i] = -1.0f + 0.1f * (float)perm[i];
        fill(&r, c.r, c.ny, -1, 1);
        fd_forward(&c);
        const char *what = "?";
        if (c.kind == K_MAXPOOL) {
            nn_maxpool_backward(c.r, c.am, c.n, c.c, c.h, c.w, ho, wo, dx, 0);
            what = c.pad ? "maxpool 3/2 pad 1 dx" : "maxpool 2/2 dx";
        } else if (c.kind == K_AVGPOOL) {
            nn_avgpool_backward(c.r, c.n, c.c, c.h, c.w, c.k, c.stride, c.pad, dx, 0);
            what = c.pad ? "avgpool 3/2 pad 1 dx" : "avgpool 2/2 dx";
        } else {
            nn_gap_backward(c.r, c.n, c.c, c.h * c.w, dx, 0);
            what = "global average pool dx";
        }
        FD_CHECK(&c, c.x, dx, nx, what);
        free(c.x), free(c.y), free(c.r), free(c.am), free(dx), free(perm);
    }
    /* hand values: 2x2 max and average pooling of a 4x4 ramp */
    float x[16], y[4], ya[4];
    int32_t am[4];
    for (int i = 0; i < 16; i++)
        x[i] = (float)i;
    x[0] = 9.5f; /* the first window's max is now at index 0 */
    nn_maxpool_forward(x, 1, 1, 4, 4, 2, 2, 0, y, am);
    CHECK(y[0] == 9.5f && am[0] == 0);
    CHECK(y[1] == 7.0f && am[1] == 7);
    CHECK(y[3] == 15.0f && am[3] == 15);
    nn_avgpool_forward(x, 1, 1, 4, 4, 2, 2, 0, ya);
    CHECK_NEAR(ya[1], (2 + 3 + 6 + 7) / 4.0, 1e-6);
}

static void t_fd_fc(void)
{
    rng_stream r;
    rng_init(&r, 8, "test.fd.fc");
    for (int bias = 0; bias < 2; bias++) {
        fd_ctx c = {.kind = K_FC, .n = 4, .c = 7, .out = 5};
        size_t nx = (size_t)c.n * c.c, nw = (size_t)c.out * c.c;
        c.ny = (size_t)c.n * c.out;
        c.x = falloc(nx), c.wt = falloc(nw), c.b = bias ? falloc(c.out) : NULL;
        c.y = falloc(c.ny), c.r = falloc(c.ny);
        float *dx = falloc(nx), *dw = falloc(nw), *db = falloc(c.out);
        fill(&r, c.x, nx, -1, 1);
        fill(&r, c.wt, nw, -1, 1);
        if (c.b) fill(&r, c.b, c.out, -1, 1);
        fill(&r, c.r, c.ny, -1, 1);
        fd_forward(&c);
        nn_fc_backward(c.x, c.r, c.n, c.c, c.wt, c.out, dx, 0, dw, c.b ? db : NULL);
        FD_CHECK(&c, c.x, dx, nx, "fc dx");
        FD_CHECK(&c, c.wt, dw, nw, "fc dw");
        if (c.b) FD_CHECK(&c, c.b, db, c.out, "fc db");
        /* y[0][0] by hand */
        double s = c.b ? c.b[0] : 0.0;
        for (int i = 0; i < c.c; i++)
            s += (double)c.x[i] * c.wt[i];
        CHECK_NEAR(c.y[0], s, 1e-5);
        free(c.x), free(c.wt), free(c.b), free(c.y), free(c.r), free(dx), free(dw), free(db);
    }
}

static void t_fd_shortcut_a(void)
{
    rng_stream r;
    rng_init(&r, 9, "test.fd.sc");
    fd_ctx c = {.kind = K_SHORTCUT_A, .n = 2, .c = 3, .h = 5, .w = 4, .out = 8, .stride = 2};
    const int ho = 3, wo = 2;
    size_t nx = (size_t)c.n * c.c * c.h * c.w;
    c.ny = (size_t)c.n * c.out * ho * wo;
    c.x = falloc(nx), c.y = falloc(c.ny), c.r = falloc(c.ny);
    float *dx = falloc(nx);
    fill(&r, c.x, nx, -1, 1);
    fill(&r, c.r, c.ny, -1, 1);
    fd_forward(&c);
    nn_shortcut_a_backward(c.r, c.n, c.c, c.h, c.w, c.out, c.stride, dx, 0);
    FD_CHECK(&c, c.x, dx, nx, "option-A shortcut dx");
    /* layout: 8 - 3 = 5 pad channels, 2 before, 3 after; sample 1, channel 2 is input channel 0 */
    const float *y1 = c.y + (size_t)(1 * c.out + 2) * ho * wo;
    const float *x1 = c.x + (size_t)(1 * c.c + 0) * c.h * c.w;
    CHECK(y1[0] == x1[0] && y1[1] == x1[2] && y1[2] == x1[2 * 4] && y1[5] == x1[4 * 4 + 2]);
    int zeros = 1;
    for (int q = 0; q < ho * wo; q++)
        zeros &= c.y[(size_t)(1 * ho * wo) + q] == 0.0f;
    for (int q = 0; q < ho * wo; q++)
        zeros &= c.y[(size_t)(7 * ho * wo) + q] == 0.0f;
    CHECK_MSG(zeros, "padded channels are zero");
    free(c.x), free(c.y), free(c.r), free(dx);
}

typedef struct xent_ctx {
    float *z, *p;
    const int32_t *labels;
    int n, k;
} xent_ctx;

static double xent_objective(void *v)
{
    xent_ctx *c = v;
    double loss = 0.0;
    nn_softmax_xent_forward(c->z, c->labels, c->n, c->k, c->p, &loss, NULL);
    return loss;
}

static void t_fd_softmax_xent(void)
{
    rng_stream r;
    rng_init(&r, 10, "test.fd.xent");
    const int32_t labels[5] = {0, 3, 2, 2, 1};
    float z[20], p[20], dz[20];
    fill(&r, z, 20, -3, 3);
    xent_ctx c = {z, p, labels, 5, 4};
    double loss = 0.0;
    CHECK_INT(nn_softmax_xent_forward(z, labels, 5, 4, p, &loss, NULL), ES_OK);
    nn_softmax_xent_backward(p, labels, 5, 4, dz);
    double w = fd_worst(xent_objective, &c, z, dz, 20, 1e-2, 1e-4, 1e-2, 20);
    CHECK_MSG(w <= 1.0, "softmax cross-entropy dlogits: worst normalised error %g", w);
    /* hand value: logits (0, ln 3) -> p = (1/4, 3/4); label 1 -> loss ln(4/3) */
    float z2[2] = {0.0f, logf(3.0f)}, p2[2];
    const int32_t l2 = 1;
    nn_softmax_xent_forward(z2, &l2, 1, 2, p2, &loss, NULL);
    CHECK_NEAR(loss, log(4.0 / 3.0), 1e-6);
    CHECK_NEAR(p2[0], 0.25, 1e-6);
    /* stability: huge logits give a finite loss */
    float z3[3] = {1000.0f, -1000.0f, 999.0f}, p3[3];
    const int32_t l3 = 2;
    nn_softmax_xent_forward(z3, &l3, 1, 3, p3, &loss, NULL);
    CHECK_NEAR(loss, log(1.0 + exp(-1.0)) + 1.0, 1e-5);
    /* a label out of range is an error that names the sample */
    es_err e;
    const int32_t bad[2] = {1, 4};
    CHECK_INT(nn_softmax_xent_forward(z, bad, 2, 4, p, &loss, &e), ES_ERANGE);
    CHECK_CONTAINS(e.msg, "sample 1");
    /* accuracy: ties go to the first index */
    const float zz[6] = {0.1f, 0.9f, 0.0f, 0.5f, 0.5f, 0.2f};
    const int32_t ll[2] = {1, 1};
    CHECK_INT(nn_count_correct(zz, ll, 2, 3), 1);
}

int main(int argc, char **argv)
{
    static const tap_test tests[] = {
        {"gemm_portable", t_gemm_portable},
        {"gemm_dispatch", t_gemm_dispatch},
        {"conv_hand", t_conv_hand},
        {"conv_random_vs_direct", t_conv_random},
        {"conv_desc_errors", t_conv_desc_errors},
        {"fd_conv", t_fd_conv},
        {"bn_values", t_bn_values},
        {"fd_bn", t_fd_bn},
        {"fd_relu_add", t_fd_relu_add},
        {"fd_pool", t_fd_pool},
        {"fd_fc", t_fd_fc},
        {"fd_shortcut_a", t_fd_shortcut_a},
        {"fd_softmax_xent", t_fd_softmax_xent},
    };
    return tap_main(tests, ES_ARRAY_LEN(tests), argc, argv);
}
