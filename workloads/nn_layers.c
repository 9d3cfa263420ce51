/* nn_layers.c - float32 layer kernels (forward and backward) and the im2col + sgemm
 * convolution backend. See nn_layers.h for the layouts and conventions. */
#include "nn_layers.h"

#include <math.h>
#include <string.h>

#include "nn_dnnl.h"
#include "nn_direct.h"
#include "nn_gemm.h"
#include "nn_par.h"

/* ---- small reductions -------------------------------------------------------------------
 * Eight independent float partial sums: the compiler may not reorder a single float
 * accumulator (no -ffast-math), so without them a plane sum is one long dependency chain.
 * Planes are short (<= a few thousand elements), so float partials lose nothing that
 * matters; callers add the per-plane results in double. */

NN_SIMD static double sum_f(const float *x, size_t n)
{
    float a[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            a[j] += x[i + j];
    double s = 0.0;
    for (; i < n; i++)
        s += x[i];
    for (int j = 0; j < 8; j++)
        s += a[j];
    return s;
}

/* sum of (x - m)^2 */
static double sqdev_f(const float *x, size_t n, float m)
{
    float a[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            float d = x[i + j] - m;
            a[j] += d * d;
        }
    double s = 0.0;
    for (; i < n; i++) {
        double d = (double)x[i] - m;
        s += d * d;
    }
    for (int j = 0; j < 8; j++)
        s += a[j];
    return s;
}

/* sum of dy * (x - m) */
static double dotdev_f(const float *dy, const float *x, size_t n, float m)
{
    float a[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            a[j] += dy[i + j] * (x[i + j] - m);
    double s = 0.0;
    for (; i < n; i++)
        s += (double)dy[i] * ((double)x[i] - m);
    for (int j = 0; j < 8; j++)
        s += a[j];
    return s;
}

/* ---- element-wise helpers -----------------------------------------------------------------
 * Written as fixed blocks of 8 read into locals before anything is stored: at -O2 GCC only
 * vectorises loops that need no runtime alias check and no scalar epilogue, and such a block
 * is exactly that (the tail loop stays scalar). Results are bit-identical to the plain loop;
 * a branchy scalar ReLU over random signs was one of the largest costs of a ResNet step. */

#define VB 16

/* y[i] = a x[i] + b */
NN_SIMD static void axpb_f(const float *x, float a, float b, float *y, size_t n)
{
    size_t i = 0;
    for (; i + VB <= n; i += VB) {
        float t[VB];
        for (int j = 0; j < VB; j++)
            t[j] = x[i + j];
        for (int j = 0; j < VB; j++)
            y[i + j] = t[j] * a + b;
    }
    for (; i < n; i++)
        y[i] = x[i] * a + b;
}

/* y[i] += x[i] */
static inline __attribute__((always_inline)) void add_f(float *y, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + VB <= n; i += VB) {
        float t[VB], u[VB];
        for (int j = 0; j < VB; j++)
            t[j] = x[i + j];
        for (int j = 0; j < VB; j++)
            u[j] = y[i + j];
        for (int j = 0; j < VB; j++)
            y[i + j] = u[j] + t[j];
    }
    for (; i < n; i++)
        y[i] += x[i];
}

/* y[i] = x[i] (short rows: cheaper inline than a memcpy call) */
static inline __attribute__((always_inline)) void copy_f(float *y, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + VB <= n; i += VB) {
        float t[VB];
        for (int j = 0; j < VB; j++)
            t[j] = x[i + j];
        for (int j = 0; j < VB; j++)
            y[i + j] = t[j];
    }
    for (; i < n; i++)
        y[i] = x[i];
}

int nn_window_out(int in, int k, int stride, int pad)
{
    if (in <= 0 || k <= 0 || stride <= 0 || pad < 0 || in + 2 * pad < k) return 0;
    return (in + 2 * pad - k) / stride + 1;
}

/* ---- convolution ----------------------------------------------------------------------- */

int nn_conv_desc_init(nn_conv_desc *d, int cin, int h, int w, int cout, int k, int stride, int pad,
                      int bias, es_err *err)
{
    memset(d, 0, sizeof *d);
    if (cin <= 0 || h <= 0 || w <= 0)
        return es_fail(err, ES_ECONFIG, "conv: input %dx%dx%d is empty", cin, h, w);
    if (cout <= 0) return es_fail(err, ES_ECONFIG, "conv: out_channels %d must be > 0", cout);
    if (k <= 0) return es_fail(err, ES_ECONFIG, "conv: kernel %d must be > 0", k);
    if (stride <= 0) return es_fail(err, ES_ECONFIG, "conv: stride %d must be > 0", stride);
    if (pad < 0 || pad >= k)
        return es_fail(err, ES_ECONFIG, "conv: padding %d must be in [0, kernel %d)", pad, k);
    if (h + 2 * pad < k || w + 2 * pad < k)
        return es_fail(err, ES_ECONFIG,
                       "conv: kernel %dx%d does not fit the %dx%d input with padding %d", k, k, h,
                       w, pad);
    d->cin = cin;
    d->h = h;
    d->w = w;
    d->cout = cout;
    d->k = k;
    d->stride = stride;
    d->pad = pad;
    d->ho = nn_window_out(h, k, stride, pad);
    d->wo = nn_window_out(w, k, stride, pad);
    d->bias = bias ? 1 : 0;
    return ES_OK;
}

/* Output columns ox whose input column ox*s - pad + kx lies inside [0, w): [*lo, *hi). */
static void valid_cols(int kx, int pad, int s, int w, int wo, int *lo, int *hi)
{
    int off = kx - pad;
    int l = off >= 0 ? 0 : (-off + s - 1) / s;
    int h = w - off <= 0 ? 0 : (w - off - 1) / s + 1;
    if (l > wo) l = wo;
    if (h > wo) h = wo;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

NN_SIMD void nn_im2col(const nn_conv_desc *d, const float *x, float *col, size_t ldcol)
{
    const int k = d->k, s = d->stride, p = d->pad, h = d->h, w = d->w, ho = d->ho, wo = d->wo;
    for (int c = 0; c < d->cin; c++) {
        const float *xc = x + (size_t)c * h * w;
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                float *row = col + ((size_t)(c * k + ky) * k + kx) * ldcol;
                int lo, hi;
                valid_cols(kx, p, s, w, wo, &lo, &hi);
                for (int oy = 0; oy < ho; oy++) {
                    float *r = row + (size_t)oy * wo;
                    int iy = oy * s - p + ky;
                    if (iy < 0 || iy >= h) {
                        memset(r, 0, (size_t)wo * sizeof *r);
                        continue;
                    }
                    const float *xr = xc + (size_t)iy * w;
                    for (int ox = 0; ox < lo; ox++)
                        r[ox] = 0.0f;
                    if (s == 1) {
                        if (hi > lo) copy_f(r + lo, xr + lo + kx - p, (size_t)(hi - lo));
                    } else {
                        for (int ox = lo; ox < hi; ox++)
                            r[ox] = xr[ox * s + kx - p];
                    }
                    for (int ox = hi; ox < wo; ox++)
                        r[ox] = 0.0f;
                }
            }
    }
}

NN_SIMD void nn_col2im_add(const nn_conv_desc *d, const float *col, size_t ldcol, float *x)
{
    const int k = d->k, s = d->stride, p = d->pad, h = d->h, w = d->w, ho = d->ho, wo = d->wo;
    for (int c = 0; c < d->cin; c++) {
        float *xc = x + (size_t)c * h * w;
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                const float *row = col + ((size_t)(c * k + ky) * k + kx) * ldcol;
                int lo, hi;
                valid_cols(kx, p, s, w, wo, &lo, &hi);
                for (int oy = 0; oy < ho; oy++) {
                    int iy = oy * s - p + ky;
                    if (iy < 0 || iy >= h) continue;
                    const float *r = row + (size_t)oy * wo;
                    float *xr = xc + (size_t)iy * w + kx - p;
                    if (s == 1) {
                        if (hi > lo) add_f(xr + lo, r + lo, (size_t)(hi - lo));
                    } else
                        for (int ox = lo; ox < hi; ox++)
                            xr[ox * s] += r[ox];
                }
            }
    }
}

/* The gemm backend unrolls a chunk of images side by side: col is K x (nc P) with
 * K = cin k k and P = ho wo, so one sgemm covers the chunk (large, well-threaded products
 * instead of one small product per image), and the weight gradient is a single product with
 * the batch folded into its inner dimension. tmp (cout x nc P) is the output in that
 * channel-major order; it is reshuffled to NCHW in contiguous runs of P. The chunk is capped
 * so col + tmp stay near NN_GEMM_SCRATCH_BUDGET floats (64 MiB): the whole batch for
 * ResNet-20 at 128 x 28 x 28, a few images per chunk for wide VGG layers. */
#define NN_GEMM_SCRATCH_BUDGET ((size_t)16 << 20)

static size_t gemm_floats_per_image(const nn_conv_desc *d)
{
    return ((size_t)d->cin * d->k * d->k + (size_t)d->cout) * (size_t)d->ho * d->wo;
}

static int gemm_chunk(const nn_conv_desc *d, int n)
{
    size_t c = NN_GEMM_SCRATCH_BUDGET / gemm_floats_per_image(d);
    if (c < 1) c = 1;
    if (c > (size_t)n) c = (size_t)n;
    return (int)c;
}

static size_t gemm_scratch_floats(const nn_conv_desc *d, int n)
{
    if (nn_direct_ok(d)) return nn_direct_scratch_floats(d, n);
    return n <= 0 ? 0 : gemm_floats_per_image(d) * (size_t)gemm_chunk(d, n);
}

static int gemm_forward(void *state, const nn_conv_desc *d, int n, const float *x, const float *w,
                         const float *b, float *y, float *scratch)
{
    (void)state;
    if (nn_direct_ok(d)) {
        nn_direct_forward(d, n, x, w, b, y, scratch);
        return ES_OK;
    }
    const int K = d->cin * d->k * d->k, P = d->ho * d->wo, chunk = gemm_chunk(d, n);
    const size_t xs = (size_t)d->cin * d->h * d->w, ys = (size_t)d->cout * P;
    for (int n0 = 0; n0 < n; n0 += chunk) {
        const int nc = ES_MIN(chunk, n - n0);
        const size_t ld = (size_t)nc * P;
        float *col = scratch, *tmp = scratch + (size_t)K * ld;
        for (int i = 0; i < nc; i++)
            nn_im2col(d, x + (size_t)(n0 + i) * xs, col + (size_t)i * P, ld);
        nn_sgemm(NN_NOTRANS, NN_NOTRANS, d->cout, (int)ld, K, 1.0f, w, K, col, (int)ld, 0.0f, tmp,
                 (int)ld);
        for (int i = 0; i < nc; i++)
            for (int c = 0; c < d->cout; c++) {
                float *dst = y + (size_t)(n0 + i) * ys + (size_t)c * P;
                const float *src = tmp + (size_t)c * ld + (size_t)i * P;
                axpb_f(src, 1.0f, b ? b[c] : 0.0f, dst, (size_t)P);
            }
    }
    return ES_OK;
}

static int gemm_backward(void *state, const nn_conv_desc *d, int n, const float *x, const float *w,
                          const float *dy, float *dx, int accum, float *dw, float *db,
                          float *scratch)
{
    (void)state;
    if (nn_direct_ok(d)) {
        nn_direct_backward(d, n, x, w, dy, dx, accum, dw, db, scratch);
        return ES_OK;
    }
    const int K = d->cin * d->k * d->k, P = d->ho * d->wo, chunk = gemm_chunk(d, n);
    const size_t xs = (size_t)d->cin * d->h * d->w, ys = (size_t)d->cout * P;
    if (db) memset(db, 0, (size_t)d->cout * sizeof *db);
    if (n <= 0) memset(dw, 0, (size_t)d->cout * K * sizeof *dw);
    for (int n0 = 0; n0 < n; n0 += chunk) {
        const int nc = ES_MIN(chunk, n - n0);
        const size_t ld = (size_t)nc * P;
        float *col = scratch, *tmp = scratch + (size_t)K * ld;
        for (int i = 0; i < nc; i++)
            for (int c = 0; c < d->cout; c++)
                memcpy(tmp + (size_t)c * ld + (size_t)i * P,
                       dy + (size_t)(n0 + i) * ys + (size_t)c * P, (size_t)P * sizeof *tmp);
        if (db)
            for (int c = 0; c < d->cout; c++)
                db[c] += (float)sum_f(tmp + (size_t)c * ld, ld);
        for (int i = 0; i < nc; i++)
            nn_im2col(d, x + (size_t)(n0 + i) * xs, col + (size_t)i * P, ld);
        nn_sgemm(NN_NOTRANS, NN_TRANS, d->cout, K, (int)ld, 1.0f, tmp, (int)ld, col, (int)ld,
                 n0 == 0 ? 0.0f : 1.0f, dw, K);
        if (!dx) continue;
        /* col is free again: reuse it for the unrolled data gradient */
        nn_sgemm(NN_TRANS, NN_NOTRANS, K, (int)ld, d->cout, 1.0f, w, K, tmp, (int)ld, 0.0f, col,
                 (int)ld);
        for (int i = 0; i < nc; i++) {
            float *dxi = dx + (size_t)(n0 + i) * xs;
            if (!accum) memset(dxi, 0, xs * sizeof *dxi);
            nn_col2im_add(d, col + (size_t)i * P, ld, dxi);
        }
    }
    return ES_OK;
}

const nn_conv_backend nn_conv_backend_gemm = {
    .version = NN_CONV_BACKEND_VERSION,
    .name = "gemm",
    .layouts = 1u << NN_LAYOUT_NCHW,
    .flags = NN_CONV_SLICES,
    .scratch_floats = gemm_scratch_floats,
    .prepare = NULL,
    .release = NULL,
    .forward = gemm_forward,
    .backward = gemm_backward,
};

const nn_conv_backend *nn_conv_backend_default(void)
{
#ifdef ES_HAVE_DNNL
    return &nn_conv_backend_dnnl;
#else
    return &nn_conv_backend_gemm;
#endif
}

const nn_conv_backend *nn_conv_backend_find(const char *name)
{
    if (!name) return NULL;
    if (strcmp(name, "gemm") == 0) return &nn_conv_backend_gemm;
#ifdef ES_HAVE_DNNL
    if (strcmp(name, "dnnl") == 0) return &nn_conv_backend_dnnl;
#endif
    return NULL;
}

/* ---- batch normalisation --------------------------------------------------------------- */

void nn_bn_forward_train(const float *x, int n, int c, int hw, const float *gamma,
                         const float *beta, float momentum, float eps, float *running_mean,
                         float *running_var, float *y, float *save_mean, float *save_invstd)
{
    const size_t m = (size_t)n * hw;
    for (int ch = 0; ch < c; ch++) {
        double s = 0.0;
        for (int i = 0; i < n; i++)
            s += sum_f(x + ((size_t)i * c + ch) * hw, (size_t)hw);
        const float mean = (float)(s / (double)m);
        /* two passes: the one-pass E[x^2] - E[x]^2 cancels badly when |mean| >> std */
        double v = 0.0;
        for (int i = 0; i < n; i++)
            v += sqdev_f(x + ((size_t)i * c + ch) * hw, (size_t)hw, mean);
        const double var = v / (double)m;
        const float invstd = (float)(1.0 / sqrt(var + eps));
        const float scale = gamma[ch] * invstd, shift = beta[ch] - mean * scale;
        for (int i = 0; i < n; i++) {
            const size_t off = ((size_t)i * c + ch) * hw;
            axpb_f(x + off, scale, shift, y + off, (size_t)hw);
        }
        save_mean[ch] = mean;
        save_invstd[ch] = invstd;
        const double unbiased = m > 1 ? var * (double)m / (double)(m - 1) : var;
        running_mean[ch] = (1.0f - momentum) * running_mean[ch] + momentum * mean;
        running_var[ch] = (float)((1.0 - momentum) * running_var[ch] + momentum * unbiased);
    }
}

void nn_bn_forward_infer(const float *x, int n, int c, int hw, const float *gamma,
                         const float *beta, float eps, const float *running_mean,
                         const float *running_var, float *y, float *save_mean, float *save_invstd)
{
    for (int ch = 0; ch < c; ch++) {
        const float mean = running_mean[ch];
        const float invstd = (float)(1.0 / sqrt((double)running_var[ch] + eps));
        const float scale = gamma[ch] * invstd, shift = beta[ch] - mean * scale;
        for (int i = 0; i < n; i++) {
            const size_t off = ((size_t)i * c + ch) * hw;
            axpb_f(x + off, scale, shift, y + off, (size_t)hw);
        }
        save_mean[ch] = mean;
        save_invstd[ch] = invstd;
    }
}

void nn_bn_backward(const float *x, const float *dy, int n, int c, int hw, const float *gamma,
                    const float *save_mean, const float *save_invstd, int training, float *dx,
                    int accum, float *dgamma, float *dbeta)
{
    const size_t m = (size_t)n * hw;
    for (int ch = 0; ch < c; ch++) {
        const float mean = save_mean[ch], invstd = save_invstd[ch];
        double sdy = 0.0, sdyx = 0.0;
        for (int i = 0; i < n; i++) {
            const size_t off = ((size_t)i * c + ch) * hw;
            sdy += sum_f(dy + off, (size_t)hw);
            sdyx += dotdev_f(dy + off, x + off, (size_t)hw, mean);
        }
        const double sdy_xhat = sdyx * invstd;
        dgamma[ch] = (float)sdy_xhat;
        dbeta[ch] = (float)sdy;
        if (!dx) continue;
        /* training: dx = g invstd (dy - mean(dy) - xhat mean(dy xhat)), written as
         * a dy + b x + c0 so the inner loop is one fused multiply-add chain */
        const float a = gamma[ch] * invstd;
        float b = 0.0f, c0 = 0.0f;
        if (training) {
            b = (float)(-(double)a * invstd * sdy_xhat / (double)m);
            c0 = (float)(-(double)a * sdy / (double)m) - b * mean;
        }
        for (int i = 0; i < n; i++) {
            const size_t off = ((size_t)i * c + ch) * hw;
            const float *dyp = dy + off, *xp = x + off;
            float *dxp = dx + off;
            int q = 0;
            for (; q + VB <= hw; q += VB) {
                float g[VB], v[VB], o[VB];
                for (int j = 0; j < VB; j++)
                    g[j] = dyp[q + j];
                for (int j = 0; j < VB; j++)
                    v[j] = xp[q + j];
                for (int j = 0; j < VB; j++)
                    o[j] = accum ? dxp[q + j] : 0.0f;
                for (int j = 0; j < VB; j++)
                    dxp[q + j] = o[j] + (a * g[j] + b * v[j] + c0);
            }
            for (; q < hw; q++)
                dxp[q] = (accum ? dxp[q] : 0.0f) + (a * dyp[q] + b * xp[q] + c0);
        }
    }
}

/* ---- element-wise ----------------------------------------------------------------------- */

NN_SIMD static void relu_fwd_1(const float *x, float *y, size_t len)
{
    size_t i = 0;
    for (; i + VB <= len; i += VB) {
        float t[VB];
        for (int j = 0; j < VB; j++)
            t[j] = x[i + j];
        for (int j = 0; j < VB; j++)
            y[i + j] = t[j] > 0.0f ? t[j] : 0.0f;
    }
    for (; i < len; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

NN_SIMD static void relu_bwd_1(const float *y, const float *dy, float *dx, size_t len, int accum)
{
    size_t i = 0;
    for (; i + VB <= len; i += VB) {
        float t[VB], g[VB], o[VB];
        for (int j = 0; j < VB; j++)
            t[j] = y[i + j];
        for (int j = 0; j < VB; j++)
            g[j] = dy[i + j];
        for (int j = 0; j < VB; j++)
            o[j] = accum ? dx[i + j] : 0.0f;
        for (int j = 0; j < VB; j++)
            dx[i + j] = o[j] + (t[j] > 0.0f ? g[j] : 0.0f);
    }
    for (; i < len; i++)
        dx[i] = (accum ? dx[i] : 0.0f) + (y[i] > 0.0f ? dy[i] : 0.0f);
}

NN_SIMD static void add_fwd_1(const float *a, const float *b, float *y, size_t len)
{
    size_t i = 0;
    for (; i + VB <= len; i += VB) {
        float t[VB], u[VB];
        for (int j = 0; j < VB; j++)
            t[j] = a[i + j];
        for (int j = 0; j < VB; j++)
            u[j] = b[i + j];
        for (int j = 0; j < VB; j++)
            y[i + j] = t[j] + u[j];
    }
    for (; i < len; i++)
        y[i] = a[i] + b[i];
}

NN_SIMD static void copy_bwd_1(const float *dy, float *dx, size_t len, int accum)
{
    if (accum)
        add_f(dx, dy, len);
    else if (dx != dy)
        memcpy(dx, dy, len * sizeof *dx);
}

NN_SIMD static void add_relu_fwd_1(const float *a, const float *b, float *y, size_t len)
{
    size_t i = 0;
    for (; i + VB <= len; i += VB) {
        float t[VB], u[VB];
        for (int j = 0; j < VB; j++)
            t[j] = a[i + j];
        for (int j = 0; j < VB; j++)
            u[j] = b[i + j];
        for (int j = 0; j < VB; j++) {
            float v = t[j] + u[j];
            y[i + j] = v > 0.0f ? v : 0.0f;
        }
    }
    for (; i < len; i++) {
        float v = a[i] + b[i];
        y[i] = v > 0.0f ? v : 0.0f;
    }
}

NN_SIMD static void add_relu_bwd_1(const float *y, const float *dy, float *da, int accum_a, float *db,
                           int accum_b, size_t len)
{
    size_t i = 0;
    for (; i + VB <= len; i += VB) {
        float t[VB], g[VB], o[VB];
        for (int j = 0; j < VB; j++)
            t[j] = y[i + j];
        for (int j = 0; j < VB; j++)
            g[j] = dy[i + j];
        for (int j = 0; j < VB; j++)
            g[j] = t[j] > 0.0f ? g[j] : 0.0f;
        if (da) {
            for (int j = 0; j < VB; j++)
                o[j] = accum_a ? da[i + j] : 0.0f;
            for (int j = 0; j < VB; j++)
                da[i + j] = o[j] + g[j];
        }
        if (db) {
            for (int j = 0; j < VB; j++)
                o[j] = accum_b ? db[i + j] : 0.0f;
            for (int j = 0; j < VB; j++)
                db[i + j] = o[j] + g[j];
        }
    }
    for (; i < len; i++) {
        float g = y[i] > 0.0f ? dy[i] : 0.0f;
        if (da) da[i] = (accum_a ? da[i] : 0.0f) + g;
        if (db) db[i] = (accum_b ? db[i] : 0.0f) + g;
    }
}

/* Element-wise loops split into chunks of whole cache lines, one per thread at a time. */
#define EW_CHUNK ((size_t)1 << 14)
#define EW_FOR(len, call)                                                                          \
    do {                                                                                           \
        const size_t ew_n_ = (len), ew_chunks_ = (ew_n_ + EW_CHUNK - 1) / EW_CHUNK;                \
        NN_PAR_FOR_IF(ew_n_ >= NN_PAR_MIN_ELEMS)                                                   \
        for (size_t ew_c_ = 0; ew_c_ < ew_chunks_; ew_c_++) {                                      \
            const size_t o = ew_c_ * EW_CHUNK, m = ES_MIN(EW_CHUNK, ew_n_ - o);                    \
            call;                                                                                  \
        }                                                                                          \
    } while (0)

void nn_relu_forward(const float *x, float *y, size_t len)
{
    EW_FOR(len, relu_fwd_1(x + o, y + o, m));
}

void nn_relu_backward(const float *y, const float *dy, float *dx, size_t len, int accum)
{
    EW_FOR(len, relu_bwd_1(y + o, dy + o, dx + o, m, accum));
}

void nn_add_forward(const float *a, const float *b, float *y, size_t len)
{
    EW_FOR(len, add_fwd_1(a + o, b + o, y + o, m));
}

void nn_copy_backward(const float *dy, float *dx, size_t len, int accum)
{
    EW_FOR(len, copy_bwd_1(dy + o, dx + o, m, accum));
}

void nn_add_relu_forward(const float *a, const float *b, float *y, size_t len)
{
    EW_FOR(len, add_relu_fwd_1(a + o, b + o, y + o, m));
}

void nn_add_relu_backward(const float *y, const float *dy, float *da, int accum_a, float *db,
                          int accum_b, size_t len)
{
    EW_FOR(len, add_relu_bwd_1(y + o, dy + o, da ? da + o : NULL, accum_a, db ? db + o : NULL,
                               accum_b, m));
}

/* ---- pooling ---------------------------------------------------------------------------- */

/* Input rows/columns [*lo, *hi) covered by window o of a pooling sweep. */
static void window_range(int o, int k, int s, int pad, int in, int *lo, int *hi)
{
    int a = o * s - pad, b = a + k;
    *lo = a < 0 ? 0 : a;
    *hi = b > in ? in : b;
}

/* 2 x 2 windows at stride 2 without padding (LeNet's and VGG's pooling): two input rows give
 * one output row, no window clipping. The same first-maximum rule as the general path. */
NN_SIMD static void maxpool_2x2(const float *xp, int h, int w, int ho, int wo, int relu, float *yp,
                                int32_t *ap)
{
    for (int oy = 0; oy < ho; oy++) {
        const float *r0 = xp + (size_t)(2 * oy) * w, *r1 = r0 + w;
        float *yr = yp + (size_t)oy * wo;
        int32_t *ar = ap + (size_t)oy * wo;
        const int32_t base = 2 * oy * w;
        /* the portable path (nn_direct_maxpool2_forward runs where the CPU has AVX-512) */
        for (int ox = 0; ox < wo; ox++) {
            const float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
            float best = a;
            int32_t bi = 0;
            bi = b > best ? 1 : bi;
            best = b > best ? b : best;
            bi = c > best ? w : bi;
            best = c > best ? c : best;
            bi = d > best ? w + 1 : bi;
            best = d > best ? d : best;
            const float r = best > 0.0f ? best : 0.0f;
            yr[ox] = relu ? r : best;
            ar[ox] = base + 2 * ox + bi;
        }
    }
    (void)h;
}

void nn_maxpool_relu_forward(const float *x, int n, int c, int h, int w, int k, int stride,
                             int pad, int relu, float *y, int32_t *argmax)
{
    const int ho = nn_window_out(h, k, stride, pad), wo = nn_window_out(w, k, stride, pad);
    const int quad = k == 2 && stride == 2 && pad == 0;
    if (quad && h == 2 * ho && w == 2 * wo &&
        nn_direct_maxpool2_forward(x, (size_t)n * c, h, w, relu, y, argmax))
        return;
    for (size_t pl = 0; pl < (size_t)n * c; pl++) {
        const float *xp = x + pl * h * w;
        float *yp = y + pl * ho * wo;
        int32_t *ap = argmax + pl * ho * wo;
        if (quad) {
            maxpool_2x2(xp, h, w, ho, wo, relu, yp, ap);
            continue;
        }
        for (int oy = 0; oy < ho; oy++) {
            int y0, y1;
            window_range(oy, k, stride, pad, h, &y0, &y1);
            for (int ox = 0; ox < wo; ox++) {
                int x0, x1;
                window_range(ox, k, stride, pad, w, &x0, &x1);
                /* start from a real cell so a NaN input still yields a valid index */
                int32_t bi = y0 * w + x0;
                float best = xp[bi];
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++) {
                        float v = xp[iy * w + ix];
                        if (v > best) {
                            best = v;
                            bi = iy * w + ix;
                        }
                    }
                yp[oy * wo + ox] = relu ? (best > 0.0f ? best : 0.0f) : best;
                ap[oy * wo + ox] = bi;
            }
        }
    }
}

void nn_maxpool_forward(const float *x, int n, int c, int h, int w, int k, int stride, int pad,
                        float *y, int32_t *argmax)
{
    nn_maxpool_relu_forward(x, n, c, h, w, k, stride, pad, 0, y, argmax);
}

/* One plane of the tiled case: each input cell gets its window's error if it is the winner
 * (and, with y, the output is positive), else zero; two input rows per output row. The
 * portable path: nn_direct_maxpool2_backward runs where the CPU has AVX-512. */
NN_SIMD static void maxunpool_2x2(const float *dyp, const int32_t *ap, const float *yp, int w,
                                  int ho, int wo, float *dxp)
{
    for (int oy = 0; oy < ho; oy++) {
        float *d0 = dxp + (size_t)(2 * oy) * w, *d1 = d0 + w;
        const int32_t base = 2 * oy * w;
        for (int ox = 0; ox < wo; ox++) {
            const int q = oy * wo + ox;
            const float g = yp ? (yp[q] > 0.0f ? dyp[q] : 0.0f) : dyp[q];
            const int32_t i = ap[q] - base - 2 * ox;
            d0[2 * ox] = i == 0 ? g : 0.0f;
            d0[2 * ox + 1] = i == 1 ? g : 0.0f;
            d1[2 * ox] = i == w ? g : 0.0f;
            d1[2 * ox + 1] = i == w + 1 ? g : 0.0f;
        }
    }
}

void nn_maxpool_relu_backward(const float *dy, const int32_t *argmax, const float *y, int n, int c,
                              int h, int w, int ho, int wo, float *dx, int accum)
{
    /* non-overlapping windows that tile the plane (2 x 2 at stride 2, even sides): every input
     * cell is written once, the winner with its error and the others with zero, no memset */
    const int tiled = !accum && h == 2 * ho && w == 2 * wo;
    if (tiled && nn_direct_maxpool2_backward(dy, argmax, y, (size_t)n * c, h, w, dx)) return;
    for (size_t pl = 0; pl < (size_t)n * c; pl++) {
        float *dxp = dx + pl * h * w;
        const float *dyp = dy + pl * ho * wo;
        const float *yp = y ? y + pl * ho * wo : NULL;
        const int32_t *ap = argmax + pl * ho * wo;
        if (tiled) {
            maxunpool_2x2(dyp, ap, yp, w, ho, wo, dxp);
            continue;
        }
        if (!accum) memset(dxp, 0, (size_t)h * w * sizeof *dxp);
        for (int q = 0; q < ho * wo; q++)
            dxp[ap[q]] += yp && !(yp[q] > 0.0f) ? 0.0f : dyp[q];
    }
}

void nn_maxpool_backward(const float *dy, const int32_t *argmax, int n, int c, int h, int w, int ho,
                         int wo, float *dx, int accum)
{
    nn_maxpool_relu_backward(dy, argmax, NULL, n, c, h, w, ho, wo, dx, accum);
}

void nn_avgpool_forward(const float *x, int n, int c, int h, int w, int k, int stride, int pad,
                        float *y)
{
    const int ho = nn_window_out(h, k, stride, pad), wo = nn_window_out(w, k, stride, pad);
    const float inv = 1.0f / (float)(k * k);
    for (size_t pl = 0; pl < (size_t)n * c; pl++) {
        const float *xp = x + pl * h * w;
        float *yp = y + pl * ho * wo;
        for (int oy = 0; oy < ho; oy++) {
            int y0, y1;
            window_range(oy, k, stride, pad, h, &y0, &y1);
            for (int ox = 0; ox < wo; ox++) {
                int x0, x1;
                window_range(ox, k, stride, pad, w, &x0, &x1);
                float s = 0.0f;
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++)
                        s += xp[iy * w + ix];
                yp[oy * wo + ox] = s * inv;
            }
        }
    }
}

void nn_avgpool_backward(const float *dy, int n, int c, int h, int w, int k, int stride, int pad,
                         float *dx, int accum)
{
    const int ho = nn_window_out(h, k, stride, pad), wo = nn_window_out(w, k, stride, pad);
    const float inv = 1.0f / (float)(k * k);
    for (size_t pl = 0; pl < (size_t)n * c; pl++) {
        float *dxp = dx + pl * h * w;
        const float *dyp = dy + pl * ho * wo;
        if (!accum) memset(dxp, 0, (size_t)h * w * sizeof *dxp);
        for (int oy = 0; oy < ho; oy++) {
            int y0, y1;
            window_range(oy, k, stride, pad, h, &y0, &y1);
            for (int ox = 0; ox < wo; ox++) {
                int x0, x1;
                window_range(ox, k, stride, pad, w, &x0, &x1);
                const float g = dyp[oy * wo + ox] * inv;
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++)
                        dxp[iy * w + ix] += g;
            }
        }
    }
}

void nn_gap_forward(const float *x, int n, int c, int hw, float *y)
{
    for (size_t pl = 0; pl < (size_t)n * c; pl++)
        y[pl] = (float)(sum_f(x + pl * hw, (size_t)hw) / hw);
}

void nn_gap_backward(const float *dy, int n, int c, int hw, float *dx, int accum)
{
    for (size_t pl = 0; pl < (size_t)n * c; pl++) {
        const float g = dy[pl] / (float)hw;
        float *dxp = dx + pl * hw;
        if (accum)
            for (int q = 0; q < hw; q++)
                dxp[q] += g;
        else
            for (int q = 0; q < hw; q++)
                dxp[q] = g;
    }
}

/* ---- fully connected -------------------------------------------------------------------- */

void nn_fc_forward(const float *x, int n, int in, const float *w, const float *b, int out, float *y)
{
    nn_sgemm(NN_NOTRANS, NN_TRANS, n, out, in, 1.0f, x, in, w, in, 0.0f, y, out);
    if (b)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < out; j++)
                y[(size_t)i * out + j] += b[j];
}

void nn_fc_backward(const float *x, const float *dy, int n, int in, const float *w, int out,
                    float *dx, int accum, float *dw, float *db)
{
    nn_sgemm(NN_TRANS, NN_NOTRANS, out, in, n, 1.0f, dy, out, x, in, 0.0f, dw, in);
    if (db) {
        memset(db, 0, (size_t)out * sizeof *db);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < out; j++)
                db[j] += dy[(size_t)i * out + j];
    }
    if (dx)
        nn_sgemm(NN_NOTRANS, NN_NOTRANS, n, in, out, 1.0f, dy, out, w, in, accum ? 1.0f : 0.0f, dx,
                 in);
}

/* ---- option-A shortcut ------------------------------------------------------------------ */

void nn_shortcut_a_forward(const float *x, int n, int cin, int h, int w, int cout, int stride,
                           float *y)
{
    const int ho = (h - 1) / stride + 1, wo = (w - 1) / stride + 1, before = (cout - cin) / 2;
    for (int i = 0; i < n; i++)
        for (int co = 0; co < cout; co++) {
            float *yp = y + ((size_t)i * cout + co) * ho * wo;
            const int ci = co - before;
            if (ci < 0 || ci >= cin) {
                memset(yp, 0, (size_t)ho * wo * sizeof *yp);
                continue;
            }
            const float *xp = x + ((size_t)i * cin + ci) * h * w;
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    yp[oy * wo + ox] = xp[(size_t)oy * stride * w + (size_t)ox * stride];
        }
}

void nn_shortcut_a_backward(const float *dy, int n, int cin, int h, int w, int cout, int stride,
                            float *dx, int accum)
{
    const int ho = (h - 1) / stride + 1, wo = (w - 1) / stride + 1, before = (cout - cin) / 2;
    if (!accum) memset(dx, 0, (size_t)n * cin * h * w * sizeof *dx);
    for (int i = 0; i < n; i++)
        for (int ci = 0; ci < cin; ci++) {
            const float *dyp = dy + ((size_t)i * cout + ci + before) * ho * wo;
            float *dxp = dx + ((size_t)i * cin + ci) * h * w;
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    dxp[(size_t)oy * stride * w + (size_t)ox * stride] += dyp[oy * wo + ox];
        }
}

/* ---- loss and accuracy ------------------------------------------------------------------ */

int nn_softmax_xent_forward(const float *logits, const int32_t *labels, int n, int k, float *probs,
                            double *loss, es_err *err)
{
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= k)
            return es_fail(err, ES_ERANGE, "sample %d: label %d outside [0, %d)", i, (int)labels[i],
                           k);
        const float *z = logits + (size_t)i * k;
        float *p = probs + (size_t)i * k;
        float m = z[0];
        for (int j = 1; j < k; j++)
            m = z[j] > m ? z[j] : m;
        double s = 0.0;
        for (int j = 0; j < k; j++) {
            p[j] = expf(z[j] - m);
            s += p[j];
        }
        const float inv = (float)(1.0 / s);
        for (int j = 0; j < k; j++)
            p[j] *= inv;
        /* -log softmax = log sum exp(z - m) - (z_label - m): no log of a tiny probability */
        total += log(s) - ((double)z[labels[i]] - m);
    }
    *loss = n > 0 ? total / n : 0.0;
    return ES_OK;
}

void nn_softmax_xent_backward(const float *probs, const int32_t *labels, int n, int k,
                              float *dlogits)
{
    const float inv = n > 0 ? 1.0f / (float)n : 0.0f;
    for (int i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * k;
        float *d = dlogits + (size_t)i * k;
        for (int j = 0; j < k; j++)
            d[j] = p[j] * inv;
        d[labels[i]] -= inv;
    }
}

int nn_count_correct(const float *logits, const int32_t *labels, int n, int k)
{
    int correct = 0;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * k;
        int best = 0;
        for (int j = 1; j < k; j++)
            if (z[j] > z[best]) best = j;
        correct += best == labels[i];
    }
    return correct;
}
