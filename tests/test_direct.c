/* test_direct.c - the direct convolution and 2 x 2 pooling kernels (workloads/nn_direct.c)
 * against references computed here in double precision and against the portable paths they
 * replace (im2col + sgemm, the scalar pooling loops), on random shapes: forward, data gradient
 * (written and accumulated), weight and bias gradients; the same bits on a second run; and the
 * ReLU folded into max pooling giving the same bits as a ReLU followed by pooling, through a
 * whole network's forward and backward. On a CPU without AVX-512 the kernels are not used and
 * the comparisons with the portable paths are skipped. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "es_common.h"
#include "nn_direct.h"
#include "nn_layers.h"
#include "nn_net.h"
#include "nn_presets.h"
#include "tap.h"

static uint64_t rs = 0x9E3779B97F4A7C15ull;

static double urand(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (double)(rs >> 11) / 9007199254740992.0;
}

static void fill(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (float)(2.0 * urand() - 1.0);
}

static float *fbuf(size_t n)
{
    float *p = aligned_alloc(64, ((n * sizeof(float)) + 63) & ~(size_t)63);
    if (p) memset(p, 0, n * sizeof(float));
    return p;
}

/* |a - b| within tol times the magnitude sum of the terms (mag) plus a floor */
static int close_to(double a, double b, double mag)
{
    return fabs(a - b) <= 1e-5 * mag + 1e-6;
}

typedef struct shape {
    int cin, h, w, cout, k, pad, n;
} shape;

/* LeNet-5's two layers, then edge cases: block remainders of output channels (1, 5, 7, 9,
 * 17), tap counts not a multiple of 4, k = 3 and 5 with every padding, one and two vectors
 * per row, rows of 10..32 columns */
static const shape shapes[] = {
    {1, 28, 28, 6, 5, 2, 5},  {6, 14, 14, 16, 5, 0, 4}, {1, 12, 12, 1, 3, 1, 3},
    {3, 16, 16, 5, 3, 0, 2},  {2, 24, 24, 7, 5, 1, 2},  {4, 13, 13, 9, 3, 2, 3},
    {2, 30, 30, 17, 3, 1, 2}, {5, 11, 11, 3, 5, 4, 2},  {1, 32, 32, 4, 1, 0, 2},
    {2, 24, 24, 12, 5, 3, 1},
};

static void conv_ref(const nn_conv_desc *d, int n, const float *x, const float *w,
                     const float *dy, double *y, double *ymag, double *dx, double *dxmag,
                     double *dw, double *dwmag)
{
    const int k = d->k;
    memset(y, 0, sizeof(double) * n * d->cout * d->ho * d->wo);
    memset(ymag, 0, sizeof(double) * n * d->cout * d->ho * d->wo);
    memset(dx, 0, sizeof(double) * n * d->cin * d->h * d->w);
    memset(dxmag, 0, sizeof(double) * n * d->cin * d->h * d->w);
    memset(dw, 0, sizeof(double) * d->cout * d->cin * k * k);
    memset(dwmag, 0, sizeof(double) * d->cout * d->cin * k * k);
    for (int i = 0; i < n; i++)
        for (int co = 0; co < d->cout; co++)
            for (int oy = 0; oy < d->ho; oy++)
                for (int ox = 0; ox < d->wo; ox++) {
                    const size_t yi = (((size_t)i * d->cout + co) * d->ho + oy) * d->wo + ox;
                    for (int ci = 0; ci < d->cin; ci++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                const int iy = oy - d->pad + ky, ix = ox - d->pad + kx;
                                if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) continue;
                                const size_t xi = (((size_t)i * d->cin + ci) * d->h + iy) * d->w + ix;
                                const size_t wi = (((size_t)co * d->cin + ci) * k + ky) * k + kx;
                                y[yi] += (double)x[xi] * w[wi];
                                ymag[yi] += fabs((double)x[xi] * w[wi]);
                                dx[xi] += (double)dy[yi] * w[wi];
                                dxmag[xi] += fabs((double)dy[yi] * w[wi]);
                                dw[wi] += (double)dy[yi] * x[xi];
                                dwmag[wi] += fabs((double)dy[yi] * x[xi]);
                            }
                }
}

/* the table above, then random shapes that the direct kernels take (drawn with the test's
 * fixed-seed generator, so the same ones every run) */
#define NRANDOM 8

static shape shape_at(size_t s)
{
    if (s < ES_ARRAY_LEN(shapes)) return shapes[s];
    for (;;) {
        shape r;
        r.k = 1 + 2 * (int)(urand() * 3);          /* 1, 3, 5 */
        r.pad = (int)(urand() * r.k);              /* 0 .. k - 1 */
        r.h = 10 + (int)(urand() * 23);            /* 10 .. 32 */
        r.w = 10 + (int)(urand() * 23);
        r.cin = 1 + (int)(urand() * 6);
        r.cout = 1 + (int)(urand() * 20);
        r.n = 1 + (int)(urand() * 3);
        nn_conv_desc d;
        if (nn_conv_desc_init(&d, r.cin, r.h, r.w, r.cout, r.k, 1, r.pad, 1, NULL) != ES_OK)
            continue;
        nn_direct_set_enabled(NN_DIRECT_CONV | NN_DIRECT_POOL);
        if (nn_direct_ok(&d)) return r;
        if (!nn_direct_ok(&(nn_conv_desc){.cin = 1, .h = 28, .w = 28, .cout = 6, .k = 5,
                                           .stride = 1, .pad = 2, .ho = 28, .wo = 28}))
            return r; /* no AVX-512 here: the caller skips */
    }
}

static void t_conv_shapes(void)
{
    for (size_t s = 0; s < ES_ARRAY_LEN(shapes) + NRANDOM; s++) {
        const shape shv = shape_at(s), *sh = &shv;
        nn_conv_desc d;
        if (!CHECK_INT(nn_conv_desc_init(&d, sh->cin, sh->h, sh->w, sh->cout, sh->k, 1, sh->pad,
                                         1, NULL),
                       ES_OK))
            return;
        nn_direct_set_enabled(NN_DIRECT_CONV | NN_DIRECT_POOL);
        if (!nn_direct_ok(&d)) {
            tap_skip("the direct kernels do not run here (no AVX-512 or not such a layer)");
            continue;
        }
        const int n = sh->n, K = d.cin * d.k * d.k;
        const size_t nx = (size_t)n * d.cin * d.h * d.w, ny = (size_t)n * d.cout * d.ho * d.wo;
        const size_t nw = (size_t)d.cout * K;
        float *x = fbuf(nx), *w = fbuf(nw), *b = fbuf(d.cout), *dy = fbuf(ny), *y = fbuf(ny),
              *y2 = fbuf(ny), *dx = fbuf(nx), *dx2 = fbuf(nx), *dw = fbuf(nw), *dw2 = fbuf(nw),
              *db = fbuf(d.cout), *db2 = fbuf(d.cout);
        float *scr = fbuf(nn_conv_backend_gemm.scratch_floats(&d, n));
        double *ry = malloc(ny * sizeof *ry), *rym = malloc(ny * sizeof *rym),
               *rdx = malloc(nx * sizeof *rdx), *rdxm = malloc(nx * sizeof *rdxm),
               *rdw = malloc(nw * sizeof *rdw), *rdwm = malloc(nw * sizeof *rdwm);
        fill(x, nx);
        fill(w, nw);
        fill(b, d.cout);
        fill(dy, ny);
        conv_ref(&d, n, x, w, dy, ry, rym, rdx, rdxm, rdw, rdwm);
        nn_conv_backend_gemm.forward(NULL, &d, n, x, w, b, y, scr);
        nn_conv_backend_gemm.backward(NULL, &d, n, x, w, dy, dx, 0, dw, db, scr);
        int bad = 0;
        for (size_t i = 0; i < ny; i++)
            bad += !close_to(y[i], ry[i] + b[(i / ((size_t)d.ho * d.wo)) % d.cout],
                             rym[i] + fabs(b[(i / ((size_t)d.ho * d.wo)) % d.cout]));
        CHECK_MSG(bad == 0, "shape %zu: forward, %d of %zu outputs off the reference", s, bad, ny);
        bad = 0;
        for (size_t i = 0; i < nx; i++)
            bad += !close_to(dx[i], rdx[i], rdxm[i]);
        CHECK_MSG(bad == 0, "shape %zu: data gradient, %d of %zu off", s, bad, nx);
        bad = 0;
        for (size_t i = 0; i < nw; i++)
            bad += !close_to(dw[i], rdw[i], rdwm[i]);
        CHECK_MSG(bad == 0, "shape %zu: weight gradient, %d of %zu off", s, bad, nw);
        bad = 0;
        for (int c = 0; c < d.cout; c++) {
            double r = 0, m = 0;
            for (int i = 0; i < n; i++)
                for (int p = 0; p < d.ho * d.wo; p++) {
                    r += dy[((size_t)i * d.cout + c) * d.ho * d.wo + p];
                    m += fabs(dy[((size_t)i * d.cout + c) * d.ho * d.wo + p]);
                }
            bad += !close_to(db[c], r, m);
        }
        CHECK_MSG(bad == 0, "shape %zu: bias gradient, %d of %d off", s, bad, d.cout);
        /* accumulating data gradient: adds to what is there */
        for (size_t i = 0; i < nx; i++)
            dx2[i] = 0.5f;
        nn_conv_backend_gemm.backward(NULL, &d, n, x, w, dy, dx2, 1, dw2, db2, scr);
        bad = 0;
        for (size_t i = 0; i < nx; i++)
            bad += dx2[i] != dx[i] + 0.5f;
        CHECK_MSG(bad == 0, "shape %zu: accumulated data gradient, %d of %zu differ", s, bad, nx);
        /* the same bits on a second run */
        nn_conv_backend_gemm.forward(NULL, &d, n, x, w, b, y2, scr);
        nn_conv_backend_gemm.backward(NULL, &d, n, x, w, dy, dx2, 0, dw2, db2, scr);
        CHECK_MSG(!memcmp(y, y2, ny * sizeof *y) && !memcmp(dx, dx2, nx * sizeof *dx) &&
                      !memcmp(dw, dw2, nw * sizeof *dw) && !memcmp(db, db2, d.cout * sizeof *db),
                  "shape %zu: a second run gives the same bits", s);
        /* and agree with im2col + sgemm (the direct kernels off) to float rounding */
        nn_direct_set_enabled(0);
        float *scr2 = fbuf(nn_conv_backend_gemm.scratch_floats(&d, n));
        nn_conv_backend_gemm.forward(NULL, &d, n, x, w, b, y2, scr2);
        nn_conv_backend_gemm.backward(NULL, &d, n, x, w, dy, dx2, 0, dw2, db2, scr2);
        nn_direct_set_enabled(NN_DIRECT_CONV | NN_DIRECT_POOL);
        bad = 0;
        for (size_t i = 0; i < ny; i++)
            bad += !close_to(y[i], y2[i], rym[i] + 1.0);
        for (size_t i = 0; i < nx; i++)
            bad += !close_to(dx[i], dx2[i], rdxm[i]);
        for (size_t i = 0; i < nw; i++)
            bad += !close_to(dw[i], dw2[i], rdwm[i]);
        CHECK_MSG(bad == 0, "shape %zu: direct and im2col + gemm agree (%d values off)", s, bad);
        free(scr2);
        free(x), free(w), free(b), free(dy), free(y), free(y2), free(dx), free(dx2), free(dw);
        free(dw2), free(db), free(db2), free(scr), free(ry), free(rym), free(rdx), free(rdxm);
        free(rdw), free(rdwm);
    }
}

static void t_conv_ok(void)
{
    nn_conv_desc d;
    nn_direct_set_enabled(NN_DIRECT_CONV | NN_DIRECT_POOL);
    nn_conv_desc_init(&d, 6, 14, 14, 16, 5, 1, 0, 1, NULL);
    const int lenet2 = nn_direct_ok(&d);
    nn_conv_desc_init(&d, 6, 14, 14, 16, 5, 2, 0, 1, NULL);
    CHECK(!nn_direct_ok(&d)); /* stride 2 */
    nn_conv_desc_init(&d, 16, 8, 8, 16, 3, 1, 1, 0, NULL);
    CHECK(!nn_direct_ok(&d)); /* rows of 8: half the lanes idle */
    nn_conv_desc_init(&d, 32, 14, 14, 32, 3, 1, 1, 0, NULL);
    CHECK(!nn_direct_ok(&d)); /* cin k k = 288: im2col + sgemm's */
    nn_conv_desc_init(&d, 2, 20, 20, 4, 3, 1, 0, 0, NULL);
    CHECK(!nn_direct_ok(&d)); /* rows of 18: two vectors, 18 of 32 lanes */
    nn_conv_desc_init(&d, 1, 28, 28, 6, 5, 1, 2, 1, NULL);
    if (lenet2) CHECK(nn_direct_ok(&d));
    nn_direct_set_enabled(0);
    CHECK(!nn_direct_ok(&d));
    nn_direct_set_enabled(NN_DIRECT_CONV | NN_DIRECT_POOL);
}

/* pooling: values from a small set so windows have ties, zeros and all-negative windows */
static void t_pool(void)
{
    static const int sizes[][2] = {{28, 28}, {10, 10}, {14, 6}, {34, 30}, {2, 64}, {8, 40}};
    static const float vals[] = {-2.0f, -1.0f, -0.0f, 0.0f, 0.5f, 1.0f, 3.0f};
    for (size_t s = 0; s < ES_ARRAY_LEN(sizes); s++) {
        const int h = sizes[s][0], w = sizes[s][1], n = 2, c = 3, ho = h / 2, wo = w / 2;
        const size_t nx = (size_t)n * c * h * w, ny = (size_t)n * c * ho * wo;
        float *x = fbuf(nx), *y1 = fbuf(ny), *y2 = fbuf(ny), *dy = fbuf(ny), *dx1 = fbuf(nx),
              *dx2 = fbuf(nx), *r = fbuf(nx), *yr = fbuf(ny), *dxr = fbuf(nx);
        int32_t *a1 = malloc(ny * sizeof *a1), *a2 = malloc(ny * sizeof *a2),
                *ar = malloc(ny * sizeof *ar);
        for (size_t i = 0; i < nx; i++)
            x[i] = vals[(size_t)(urand() * ES_ARRAY_LEN(vals))];
        fill(dy, ny);
        for (int relu = 0; relu <= 1; relu++) {
            nn_direct_set_enabled(NN_DIRECT_CONV | NN_DIRECT_POOL);
            nn_maxpool_relu_forward(x, n, c, h, w, 2, 2, 0, relu, y1, a1);
            nn_maxpool_relu_backward(dy, a1, relu ? y1 : NULL, n, c, h, w, ho, wo, dx1, 0);
            nn_direct_set_enabled(0);
            nn_maxpool_relu_forward(x, n, c, h, w, 2, 2, 0, relu, y2, a2);
            nn_maxpool_relu_backward(dy, a2, relu ? y2 : NULL, n, c, h, w, ho, wo, dx2, 0);
            nn_direct_set_enabled(NN_DIRECT_CONV | NN_DIRECT_POOL);
            CHECK_MSG(!memcmp(y1, y2, ny * sizeof *y1) && !memcmp(a1, a2, ny * sizeof *a1) &&
                          !memcmp(dx1, dx2, nx * sizeof *dx1),
                      "%dx%d relu %d: vector and scalar pooling give the same bits", h, w, relu);
            /* a ReLU, then the plain pooling: the same bits as the folded one */
            for (size_t i = 0; i < nx; i++)
                r[i] = x[i] > 0.0f ? x[i] : 0.0f;
            nn_maxpool_forward(relu ? r : x, n, c, h, w, 2, 2, 0, yr, ar);
            nn_maxpool_backward(dy, ar, n, c, h, w, ho, wo, dxr, 0);
            if (relu)
                for (size_t i = 0; i < nx; i++)
                    dxr[i] = r[i] > 0.0f ? dxr[i] : 0.0f;
            int same = !memcmp(y1, yr, ny * sizeof *y1);
            for (size_t i = 0; i < nx; i++)
                same &= dx1[i] == dxr[i]; /* -0 and +0 compare equal */
            CHECK_MSG(same, "%dx%d relu %d: the same as ReLU then pooling", h, w, relu);
            /* hand check of one window: the first maximum wins */
            int bad = 0;
            for (size_t q = 0; q < ny; q++) {
                const size_t pl = q / ((size_t)ho * wo);
                const int oy = (int)(q % ((size_t)ho * wo)) / wo, ox = (int)(q % wo);
                const float *p = x + pl * h * w;
                int bi = 2 * oy * w + 2 * ox;
                const int cand[4] = {bi, bi + 1, bi + w, bi + w + 1};
                for (int j = 1; j < 4; j++)
                    if (p[cand[j]] > p[bi]) bi = cand[j];
                bad += a1[q] != bi;
            }
            CHECK_MSG(bad == 0, "%dx%d: %d argmax not the first maximum", h, w, bad);
        }
        free(x), free(y1), free(y2), free(dy), free(dx1), free(dx2), free(r), free(yr);
        free(dxr), free(a1), free(a2), free(ar);
    }
}

/* LeNet-5 (ReLUs folded into its poolings) and ResNet-20 (its additions' gradients written
 * once) forward and backward with the folds and without: the same loss and parameter
 * gradients, bit for bit */
static void run_net(const char *preset, int fusion, double *loss, float **grads, int *np)
{
    nn_net *net = NULL;
    es_err err;
    nn_net_set_fusions(fusion);
    int rc = nn_preset_create(preset, (nn_shape){1, 28, 28}, 10, &net, &err);
    nn_net_set_fusions(1);
    if (!CHECK_INT(rc, ES_OK)) return;
    nn_net_init_params(net, 7);
    enum { N = 16 };
    float *x = fbuf((size_t)N * 784);
    int32_t lab[N];
    uint64_t save = rs;
    rs = 12345;
    fill(x, (size_t)N * 784);
    for (int i = 0; i < N; i++)
        lab[i] = i % 10;
    rs = save;
    CHECK_INT(nn_net_forward(net, x, N, lab, 1, loss, &err), ES_OK);
    CHECK_INT(nn_net_backward(net, &err), ES_OK);
    *np = nn_net_num_params(net);
    for (int i = 0; i < *np; i++) {
        const nn_param *p = nn_net_param(net, i);
        grads[i] = calloc(p->numel, sizeof(float));
        if (p->grad) memcpy(grads[i], p->grad, p->numel * sizeof(float)); /* BN statistics: none */
    }
    free(x);
    nn_net_destroy(net);
}

static void t_fusion_same_bits(void)
{
    static const char *const nets[] = {"lenet5", "resnet20"};
    for (size_t k = 0; k < ES_ARRAY_LEN(nets); k++) {
        double l1 = 0, l2 = 0;
        float *g1[128] = {0}, *g2[128] = {0};
        int n1 = 0, n2 = 0;
        run_net(nets[k], 1, &l1, g1, &n1);
        run_net(nets[k], 0, &l2, g2, &n2);
        CHECK_INT(n1, n2);
        CHECK(n1 <= 128);
        CHECK_MSG(l1 == l2, "%s: the same loss with and without the folds", nets[k]);
        CHECK(l1 > 0.5 && l1 < 10); /* a real loss, not an empty pass */
        nn_net *net = NULL;
        nn_preset_create(nets[k], (nn_shape){1, 28, 28}, 10, &net, NULL);
        int same = 1, nonzero = 0;
        for (int i = 0; i < n1 && i < n2 && net; i++) {
            const size_t ne = nn_net_param(net, i)->numel;
            same &= !memcmp(g1[i], g2[i], ne * sizeof(float));
            for (size_t e = 0; e < ne; e++)
                nonzero += g1[i][e] != 0.0f;
        }
        CHECK_MSG(same, "%s: parameter gradients with and without the folds: the same bits",
                  nets[k]);
        CHECK(nonzero > 100);
        nn_net_destroy(net);
        for (int i = 0; i < 128; i++)
            free(g1[i]), free(g2[i]);
    }
}

int main(int argc, char **argv)
{
    static const tap_test tests[] = {
        {"conv_shapes", t_conv_shapes},
        {"conv_ok", t_conv_ok},
        {"pool", t_pool},
        {"fusion_same_bits", t_fusion_same_bits},
    };
    return tap_main(tests, ES_ARRAY_LEN(tests), argc, argv);
}
