/* nn_xbar.c - quantization to the crossbars' fixed-point formats and the bit-exact conv / fc
 * kernels over xmvm.h; see nn_xbar.h. nn_net.c calls these for its conv and fc nodes when the
 * accuracy model is not ideal. */
#include "nn_xbar.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_par.h"

float nn_xq_scale(float maxabs, double qmax)
{
    if (!(maxabs > 0.0f) || !isfinite(maxabs)) return 1.0f;
    if (qmax < 1.0) qmax = 1.0;
    int e;
    frexp((double)maxabs / qmax, &e); /* maxabs / qmax in [2^(e-1), 2^e) */
    double s = ldexp(1.0, e);
    while ((double)maxabs > qmax * s) s *= 2.0;
    while (s > 0x1p-120 && (double)maxabs <= qmax * s * 0.5) s *= 0.5;
    return (float)s;
}

/* One sample: its largest magnitude and whether it has a negative value. */
NN_SIMD static float sample_range(const float *x, size_t per, int *neg)
{
    float mx = 0.0f, mn = 0.0f;
    for (size_t e = 0; e < per; e++) {
        const float a = fabsf(x[e]);
        mx = a > mx ? a : mx;
        mn = x[e] < mn ? x[e] : mn;
    }
    *neg = mn < 0.0f;
    return mx;
}

/* y = clamp(round(x / s), lo, hi) s; s is a power of two, so x (1/s) is exact. */
NN_SIMD static void fake_quant(const float *x, size_t len, float s, float lo, float hi, float *y)
{
    const float inv = 1.0f / s;
    for (size_t e = 0; e < len; e++) {
        float q = rintf(x[e] * inv);
        q = q < lo ? lo : q;
        q = q > hi ? hi : q;
        y[e] = q * s;
    }
}

void nn_xq_samples(const float *x, int n, size_t per, int bits, float *y, float *scale,
                   uint8_t *is_signed)
{
    NN_PAR_FOR_IF((size_t)n * per >= NN_PAR_MIN_ELEMS && n > 1)
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * per;
        int neg;
        const float mx = sample_range(xi, per, &neg);
        const double top = neg ? ldexp(1.0, bits - 1) - 1.0 : ldexp(1.0, bits) - 1.0;
        const float s = nn_xq_scale(mx, top);
        const float lo = neg ? -(float)ldexp(1.0, bits - 1) : 0.0f, hi = (float)top;
        fake_quant(xi, per, s, lo, hi, y + (size_t)i * per);
        scale[i] = s;
        is_signed[i] = (uint8_t)neg;
    }
}

/* A fake-quantized value back to its integer (exact: v = q s with s a power of two). */
static int32_t to_int(float v, float s)
{
    const float q = v / s;
    if (!(q == q)) return 0;
    if (q >= 2147483647.0f) return INT32_MAX;
    if (q <= -2147483648.0f) return INT32_MIN;
    return (int32_t)q;
}

float nn_xq_weights(const float *w, size_t len, int bits, float *wq, int32_t *qi)
{
    float mx = 0.0f;
    for (size_t e = 0; e < len; e++) {
        const float a = fabsf(w[e]);
        if (a > mx) mx = a;
    }
    const double top = ldexp(1.0, bits - 1) - 1.0;
    const float s = nn_xq_scale(mx, top);
    fake_quant(w, len, s, -(float)top, (float)top, wq);
    if (qi)
        for (size_t e = 0; e < len; e++) qi[e] = to_int(wq[e], s);
    return s;
}

struct nn_xcells {
    size_t numel, per; /* weights, cells per weight */
    uint8_t *lv, *prev;
    float *err, *rd;
};

int nn_xcells_create(size_t numel, const xmvm_config *xc, nn_xcells **out, es_err *err)
{
    nn_xcells *c = calloc(1, sizeof *c);
    if (!c) return es_fail(err, ES_ENOMEM, "out of memory");
    c->numel = numel;
    c->per = (size_t)xmvm_slices(xc) * (xc->differential ? 2 : 1);
    const size_t n = numel * c->per;
    c->lv = malloc(n ? n : 1);
    c->prev = malloc(n ? n : 1);
    c->err = calloc(n ? n : 1, sizeof *c->err);
    c->rd = malloc((n ? n : 1) * sizeof *c->rd);
    if (!c->lv || !c->prev || !c->err || !c->rd) {
        nn_xcells_destroy(c);
        return es_fail(err, ES_ENOMEM, "out of memory for the cells of %zu weights", numel);
    }
    memset(c->prev, 0xff, n);
    *out = c;
    return ES_OK;
}

void nn_xcells_destroy(nn_xcells *c)
{
    if (!c) return;
    free(c->lv);
    free(c->prev);
    free(c->err);
    free(c->rd);
    free(c);
}

void nn_xcells_weights(nn_xcells *c, const xmvm_config *xc, const cellvar_config *cv,
                       const int32_t *qi, float s, rng_stream *prog, rng_stream *rd, float *wq)
{
    const int bpc = xc->bits_per_cell, slices = xmvm_slices(xc), L = (1 << bpc) - 1;
    const int64_t off = (int64_t)1 << (xc->weight_bits - 1);
    const int groups = xc->differential ? 2 : 1;
    for (size_t e = 0; e < c->numel; e++) {
        uint8_t *lv = c->lv + e * c->per;
        for (int g = 0; g < groups; g++) {
            int64_t u;
            if (xc->differential)
                u = g == 0 ? (qi[e] > 0 ? qi[e] : 0) : (qi[e] < 0 ? -(int64_t)qi[e] : 0);
            else
                u = (int64_t)qi[e] + off;
            for (int t = 0; t < slices; t++) lv[g * slices + t] = (uint8_t)((u >> (t * bpc)) & L);
        }
    }
    const size_t n = c->numel * c->per;
    cellvar_program(cv, c->lv, c->prev, c->err, n, prog);
    cellvar_read(cv, c->lv, c->err, n, rd, c->rd);
    for (size_t e = 0; e < c->numel; e++) {
        const float *a = c->rd + e * c->per;
        double v[2] = {0.0, 0.0};
        for (int g = 0; g < groups; g++)
            for (int t = 0; t < slices; t++) v[g] += ldexp((double)a[g * slices + t], t * bpc);
        const double q = xc->differential ? v[0] - v[1] : v[0] - (double)off;
        wq[e] = (float)(q * (double)s);
    }
}

static int outside_parallel(void)
{
#ifdef _OPENMP
    return !omp_in_parallel();
#else
    return 0;
#endif
}

/* Per-sample buffers of the bit-exact kernels. */
typedef struct xwork {
    float *col;
    int32_t *v;
    int64_t *acc;
    uint64_t *work;
} xwork;

static int xwork_alloc(xwork *w, size_t col, size_t v, size_t acc, size_t words)
{
    w->col = malloc((col ? col : 1) * sizeof *w->col);
    w->v = malloc((v ? v : 1) * sizeof *w->v);
    w->acc = malloc((acc ? acc : 1) * sizeof *w->acc);
    w->work = malloc((words ? words : 1) * sizeof *w->work);
    return w->col && w->v && w->acc && w->work;
}

static void xwork_free(xwork *w)
{
    free(w->col);
    free(w->v);
    free(w->acc);
    free(w->work);
}

int nn_xbar_conv_forward(const nn_conv_desc *d, int n, const float *xq, const float *scale,
                         const uint8_t *is_signed, const xmvm_mat *w, float ws, const float *b,
                         float *y, es_err *err)
{
    const size_t K = (size_t)d->cin * d->k * d->k, P = (size_t)d->ho * d->wo;
    const size_t in = (size_t)d->cin * d->h * d->w, out = (size_t)d->cout * P;
    int fail = 0;
    NN_PAR_FOR_IF(n > 1 && outside_parallel())
    for (int i = 0; i < n; i++) {
        xwork x;
        if (!xwork_alloc(&x, K * P, K, (size_t)d->cout, xmvm_work_words(w))) {
            xwork_free(&x);
#ifdef _OPENMP
#pragma omp atomic write
#endif
            fail = 1;
            continue;
        }
        nn_im2col(d, xq + (size_t)i * in, x.col, P);
        const double s = (double)scale[i] * (double)ws;
        float *yi = y + (size_t)i * out;
        for (size_t p = 0; p < P; p++) {
            for (size_t k = 0; k < K; k++) x.v[k] = to_int(x.col[k * P + p], scale[i]);
            xmvm_run(w, x.v, is_signed[i], x.work, x.acc);
            for (int c = 0; c < d->cout; c++)
                yi[(size_t)c * P + p] = (float)((double)x.acc[c] * s) + (b ? b[c] : 0.0f);
        }
        xwork_free(&x);
    }
    if (fail) return es_fail(err, ES_ENOMEM, "out of memory in a bit-exact convolution");
    return ES_OK;
}

int nn_xbar_conv_backward_data(const nn_conv_desc *d, int n, const float *dyq,
                               const float *scale, const uint8_t *is_signed,
                               const xmvm_mat *wt, float ws, float *dx, int accum, es_err *err)
{
    const size_t K = (size_t)d->cin * d->k * d->k, P = (size_t)d->ho * d->wo;
    const size_t in = (size_t)d->cin * d->h * d->w, out = (size_t)d->cout * P;
    int fail = 0;
    NN_PAR_FOR_IF(n > 1 && outside_parallel())
    for (int i = 0; i < n; i++) {
        xwork x;
        if (!xwork_alloc(&x, K * P, (size_t)d->cout, K, xmvm_work_words(wt))) {
            xwork_free(&x);
#ifdef _OPENMP
#pragma omp atomic write
#endif
            fail = 1;
            continue;
        }
        const float *dyi = dyq + (size_t)i * out;
        const double s = (double)scale[i] * (double)ws;
        for (size_t p = 0; p < P; p++) {
            for (int c = 0; c < d->cout; c++) x.v[c] = to_int(dyi[(size_t)c * P + p], scale[i]);
            xmvm_run(wt, x.v, is_signed[i], x.work, x.acc);
            for (size_t k = 0; k < K; k++) x.col[k * P + p] = (float)((double)x.acc[k] * s);
        }
        float *dxi = dx + (size_t)i * in;
        if (!accum) memset(dxi, 0, in * sizeof *dxi);
        nn_col2im_add(d, x.col, P, dxi);
        xwork_free(&x);
    }
    if (fail) return es_fail(err, ES_ENOMEM, "out of memory in a bit-exact convolution");
    return ES_OK;
}
