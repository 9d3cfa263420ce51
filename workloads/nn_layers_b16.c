/* nn_layers_b16.c - the layer kernels a network runs between oneDNN convolutions: batch norm
 * over either layout (threaded, with a fused ReLU), and the option-A shortcut, global average
 * pooling and layout conversions of the blocked layout (NN_LAYOUT_B16, see nn_layers.h).
 *
 * Batch norm works on "planes": one image's channel (NCHW, 1 lane) or one image's block of 16
 * channels (B16, 16 interleaved lanes), hw pixels each. Every plane's partial statistics are
 * computed independently (in parallel) and combined serially in image order, in double, so the
 * results are the same for any thread count. */
#include "nn_layers.h"

#include <math.h>
#include <string.h>

#include "nn_par.h"

#define L16 NN_B16

/* ---- layout conversions ------------------------------------------------------------------- */

void nn_nchw_to_b16(const float *x, int n, int c, int hw, float *y)
{
    const int cb = c / L16;
    for (int i = 0; i < n; i++)
        for (int b = 0; b < cb; b++) {
            float *yb = y + ((size_t)i * cb + b) * hw * L16;
            const float *xb = x + ((size_t)i * c + (size_t)b * L16) * hw;
            for (int q = 0; q < hw; q++)
                for (int l = 0; l < L16; l++)
                    yb[(size_t)q * L16 + l] = xb[(size_t)l * hw + q];
        }
}

void nn_b16_to_nchw(const float *x, int n, int c, int hw, float *y)
{
    const int cb = c / L16;
    for (int i = 0; i < n; i++)
        for (int b = 0; b < cb; b++) {
            const float *xb = x + ((size_t)i * cb + b) * hw * L16;
            float *yb = y + ((size_t)i * c + (size_t)b * L16) * hw;
            for (int q = 0; q < hw; q++)
                for (int l = 0; l < L16; l++)
                    yb[(size_t)l * hw + q] = xb[(size_t)q * L16 + l];
        }
}

/* ---- per-plane reductions ----------------------------------------------------------------
 * Float partial sums inside a plane (a few thousand elements at most: two independent
 * accumulators per lane for B16, eight for NCHW, so the loops vectorise without -ffast-math),
 * double across planes. */

/* Lane sums of a plane: out[l] = sum_q f(p[q L + l]). */
NN_SIMD static void plane_sum(const float *p, int hw, int lanes, double *out)
{
    if (lanes == L16) {
        float a[L16] = {0}, b[L16] = {0};
        int q = 0;
        for (; q + 2 <= hw; q += 2) {
            const float *r = p + (size_t)q * L16;
            for (int l = 0; l < L16; l++) {
                a[l] += r[l];
                b[l] += r[L16 + l];
            }
        }
        for (; q < hw; q++)
            for (int l = 0; l < L16; l++)
                a[l] += p[(size_t)q * L16 + l];
        for (int l = 0; l < L16; l++)
            out[l] = (double)a[l] + (double)b[l];
    } else {
        float a[8] = {0};
        int q = 0;
        for (; q + 8 <= hw; q += 8)
            for (int j = 0; j < 8; j++)
                a[j] += p[q + j];
        double s = 0.0;
        for (; q < hw; q++)
            s += p[q];
        for (int j = 0; j < 8; j++)
            s += a[j];
        out[0] = s;
    }
}

/* out[l] = sum_q (p[q L + l] - m[l])^2 */
NN_SIMD static void plane_sqdev(const float *p, int hw, int lanes, const float *m, double *out)
{
    if (lanes == L16) {
        float a[L16] = {0}, b[L16] = {0};
        int q = 0;
        for (; q + 2 <= hw; q += 2) {
            const float *r = p + (size_t)q * L16;
            for (int l = 0; l < L16; l++) {
                float d0 = r[l] - m[l], d1 = r[L16 + l] - m[l];
                a[l] += d0 * d0;
                b[l] += d1 * d1;
            }
        }
        for (; q < hw; q++)
            for (int l = 0; l < L16; l++) {
                float d = p[(size_t)q * L16 + l] - m[l];
                a[l] += d * d;
            }
        for (int l = 0; l < L16; l++)
            out[l] = (double)a[l] + (double)b[l];
    } else {
        float a[8] = {0};
        const float m0 = m[0];
        int q = 0;
        for (; q + 8 <= hw; q += 8)
            for (int j = 0; j < 8; j++) {
                float d = p[q + j] - m0;
                a[j] += d * d;
            }
        double s = 0.0;
        for (; q < hw; q++) {
            double d = (double)p[q] - m0;
            s += d * d;
        }
        for (int j = 0; j < 8; j++)
            s += a[j];
        out[0] = s;
    }
}

/* sdy[l] = sum g, sdyx[l] = sum g (x - m[l]) with g = dy, or 0 where the fused ReLU's output
 * was not positive: where x ra[l] + rb[l], the forward's affine computed with the same
 * operations, is not (ra NULL: no ReLU). Recomputing the mask from x, which is read anyway,
 * saves reading the output. */
NN_SIMD static void plane_dstats(const float *dy, const float *x, const float *ra, const float *rb,
                                 int hw, int lanes, const float *m, double *sdy, double *sdyx)
{
    if (lanes == L16) {
        float a[L16] = {0}, a2[L16] = {0};
        for (int q = 0; q < hw; q++) {
            const size_t o = (size_t)q * L16;
            float g[L16], v[L16];
            for (int l = 0; l < L16; l++)
                g[l] = dy[o + l];
            if (ra)
                for (int l = 0; l < L16; l++)
                    g[l] = x[o + l] * ra[l] + rb[l] > 0.0f ? g[l] : 0.0f;
            for (int l = 0; l < L16; l++)
                v[l] = x[o + l] - m[l];
            for (int l = 0; l < L16; l++) {
                a[l] += g[l];
                a2[l] += g[l] * v[l];
            }
        }
        for (int l = 0; l < L16; l++) {
            sdy[l] = a[l];
            sdyx[l] = a2[l];
        }
    } else {
        float a[8] = {0}, a2[8] = {0};
        const float m0 = m[0], ra0 = ra ? ra[0] : 0.0f, rb0 = ra ? rb[0] : 0.0f;
        int q = 0;
        for (; q + 8 <= hw; q += 8) {
            float g[8], v[8];
            for (int j = 0; j < 8; j++)
                g[j] = dy[q + j];
            if (ra)
                for (int j = 0; j < 8; j++)
                    g[j] = x[q + j] * ra0 + rb0 > 0.0f ? g[j] : 0.0f;
            for (int j = 0; j < 8; j++)
                v[j] = x[q + j] - m0;
            for (int j = 0; j < 8; j++) {
                a[j] += g[j];
                a2[j] += g[j] * v[j];
            }
        }
        double s = 0.0, t = 0.0;
        for (; q < hw; q++) {
            float g = dy[q];
            if (ra && !(x[q] * ra0 + rb0 > 0.0f)) g = 0.0f;
            s += g;
            t += (double)g * ((double)x[q] - m0);
        }
        for (int j = 0; j < 8; j++) {
            s += a[j];
            t += a2[j];
        }
        sdy[0] = s;
        sdyx[0] = t;
    }
}

/* y = a x + b per lane, then max(., 0) when relu. */
NN_SIMD static void plane_affine(const float *x, int hw, int lanes, const float *a, const float *b, int relu,
                         float *y)
{
    if (lanes == L16) {
        for (int q = 0; q < hw; q++) {
            const float *r = x + (size_t)q * L16;
            float *o = y + (size_t)q * L16;
            float t[L16];
            for (int l = 0; l < L16; l++)
                t[l] = r[l] * a[l] + b[l];
            if (relu)
                for (int l = 0; l < L16; l++)
                    t[l] = t[l] > 0.0f ? t[l] : 0.0f;
            for (int l = 0; l < L16; l++)
                o[l] = t[l];
        }
    } else {
        const float a0 = a[0], b0 = b[0];
        int q = 0;
        for (; q + 8 <= hw; q += 8) {
            float t[8];
            for (int j = 0; j < 8; j++)
                t[j] = x[q + j] * a0 + b0;
            if (relu)
                for (int j = 0; j < 8; j++)
                    t[j] = t[j] > 0.0f ? t[j] : 0.0f;
            for (int j = 0; j < 8; j++)
                y[q + j] = t[j];
        }
        for (; q < hw; q++) {
            float t = x[q] * a0 + b0;
            y[q] = relu && !(t > 0.0f) ? 0.0f : t;
        }
    }
}

/* dx (+)= a g + b x + c0 per lane, g masked by the fused ReLU as in plane_dstats. The
 * coefficients are copied to locals first: dx could alias them as far as the compiler knows,
 * which kept the blocked loop scalar. */
NN_SIMD static void plane_dx(const float *dy, const float *x, const float *ra, const float *rb,
                             int hw, int lanes, const float *a, const float *b, const float *c0,
                             int accum, float *dx)
{
    const size_t len = (size_t)hw * lanes;
    if (lanes == L16) {
        float al[L16], bl[L16], cl[L16], ral[L16], rbl[L16];
        for (int l = 0; l < L16; l++) {
            al[l] = a[l];
            bl[l] = b[l];
            cl[l] = c0[l];
            ral[l] = ra ? ra[l] : 0.0f;
            rbl[l] = ra ? rb[l] : 0.0f;
        }
        const int relu = ra != NULL;
        for (size_t q = 0; q < len; q += L16) {
            float g[L16], o[L16];
            for (int l = 0; l < L16; l++)
                g[l] = dy[q + l];
            if (relu)
                for (int l = 0; l < L16; l++)
                    g[l] = x[q + l] * ral[l] + rbl[l] > 0.0f ? g[l] : 0.0f;
            for (int l = 0; l < L16; l++)
                o[l] = al[l] * g[l] + bl[l] * x[q + l] + cl[l];
            if (accum)
                for (int l = 0; l < L16; l++)
                    dx[q + l] += o[l];
            else /* 0 + o, as the accumulating form with dx = 0: -0 becomes +0, same bits */
                for (int l = 0; l < L16; l++)
                    dx[q + l] = 0.0f + o[l];
        }
    } else {
        const float a0 = a[0], b0 = b[0], k0 = c0[0], ra0 = ra ? ra[0] : 0.0f,
                    rb0 = ra ? rb[0] : 0.0f;
        size_t q = 0;
        for (; q + 8 <= len; q += 8) {
            float g[8], v[8], o[8];
            for (int j = 0; j < 8; j++)
                g[j] = dy[q + j];
            if (ra)
                for (int j = 0; j < 8; j++)
                    g[j] = x[q + j] * ra0 + rb0 > 0.0f ? g[j] : 0.0f;
            for (int j = 0; j < 8; j++)
                v[j] = x[q + j];
            for (int j = 0; j < 8; j++)
                o[j] = accum ? dx[q + j] : 0.0f;
            for (int j = 0; j < 8; j++)
                dx[q + j] = o[j] + (a0 * g[j] + b0 * v[j] + k0);
        }
        for (; q < len; q++) {
            float g = dy[q];
            if (ra && !(x[q] * ra0 + rb0 > 0.0f)) g = 0.0f;
            dx[q] = (accum ? dx[q] : 0.0f) + (a0 * g + b0 * x[q] + k0);
        }
    }
}

/* ---- batch normalisation, either layout --------------------------------------------------- */

static int lanes_of(nn_layout lay)
{
    return lay == NN_LAYOUT_B16 ? L16 : 1;
}

void nn_bn_forward_train_ex(const float *x, int n, int c, int hw, nn_layout lay,
                            const float *gamma, const float *beta, float momentum, float eps,
                            float *running_mean, float *running_var, float *y, float *save_mean,
                            float *save_invstd, int relu, double *work)
{
    const int L = lanes_of(lay), P = c / L;
    const size_t planes = (size_t)n * P, plen = (size_t)hw * L, nc = (size_t)n * c;
    double *pmean = work, *pm2 = work + nc;
    /* per plane: its lane means, then the squared deviations from them (in cache) */
    NN_PAR_FOR_IF(planes * plen >= NN_PAR_MIN_ELEMS)
    for (size_t pl = 0; pl < planes; pl++) {
        const size_t i = pl / (size_t)P, p = pl % (size_t)P;
        const float *xp = x + pl * plen;
        double s[L16];
        float m[L16];
        plane_sum(xp, hw, L, s);
        for (int l = 0; l < L; l++) {
            m[l] = (float)(s[l] / hw);
            pmean[i * c + p * L + l] = m[l];
        }
        plane_sqdev(xp, hw, L, m, pm2 + i * c + p * L);
    }
    /* combine the planes in image order (Chan et al.'s pairwise update, equal counts) */
    const double m = (double)n * hw;
    for (int ch = 0; ch < c; ch++) {
        double s = 0.0;
        for (int i = 0; i < n; i++)
            s += pmean[(size_t)i * c + ch];
        const double mean = s / n;
        double v = 0.0;
        for (int i = 0; i < n; i++) {
            const double d = pmean[(size_t)i * c + ch] - mean;
            v += pm2[(size_t)i * c + ch] + (double)hw * d * d;
        }
        const double var = v / m;
        const float invstd = (float)(1.0 / sqrt(var + eps));
        save_mean[ch] = (float)mean;
        save_invstd[ch] = invstd;
        const double unbiased = m > 1 ? var * m / (m - 1) : var;
        running_mean[ch] = (1.0f - momentum) * running_mean[ch] + momentum * (float)mean;
        running_var[ch] = (float)((1.0 - momentum) * running_var[ch] + momentum * unbiased);
    }
    NN_PAR_FOR_IF(planes * plen >= NN_PAR_MIN_ELEMS)
    for (size_t pl = 0; pl < planes; pl++) {
        const size_t p = pl % (size_t)P;
        float a[L16], b[L16];
        for (int l = 0; l < L; l++) {
            const size_t ch = p * L + l;
            a[l] = gamma[ch] * save_invstd[ch];
            b[l] = beta[ch] - save_mean[ch] * a[l];
        }
        plane_affine(x + pl * plen, hw, L, a, b, relu, y + pl * plen);
    }
}

void nn_bn_forward_infer_ex(const float *x, int n, int c, int hw, nn_layout lay,
                            const float *gamma, const float *beta, float eps,
                            const float *running_mean, const float *running_var, float *y,
                            float *save_mean, float *save_invstd, int relu)
{
    const int L = lanes_of(lay), P = c / L;
    const size_t planes = (size_t)n * P, plen = (size_t)hw * L;
    for (int ch = 0; ch < c; ch++) {
        save_mean[ch] = running_mean[ch];
        save_invstd[ch] = (float)(1.0 / sqrt((double)running_var[ch] + eps));
    }
    NN_PAR_FOR_IF(planes * plen >= NN_PAR_MIN_ELEMS)
    for (size_t pl = 0; pl < planes; pl++) {
        const size_t p = pl % (size_t)P;
        float a[L16], b[L16];
        for (int l = 0; l < L; l++) {
            const size_t ch = p * L + l;
            a[l] = gamma[ch] * save_invstd[ch];
            b[l] = beta[ch] - save_mean[ch] * a[l];
        }
        plane_affine(x + pl * plen, hw, L, a, b, relu, y + pl * plen);
    }
}

void nn_bn_backward_ex(const float *x, const float *dy, const float *relu_beta, int n, int c,
                       int hw, nn_layout lay, const float *gamma, const float *save_mean,
                       const float *save_invstd, int training, float *dx, int accum,
                       float *dgamma, float *dbeta, double *work)
{
    const int L = lanes_of(lay), P = c / L;
    const size_t planes = (size_t)n * P, plen = (size_t)hw * L, nc = (size_t)n * c;
    double *psdy = work, *psdyx = work + nc;
    /* per channel coefficients of dx = a g + b x + c0, after the partials in work, then the
     * forward's affine (ra, rb) for the fused ReLU's mask */
    float *coef = (float *)(work + 2 * nc), *ra = relu_beta ? coef + 3 * c : NULL,
          *rb = relu_beta ? coef + 4 * c : NULL;
    for (int ch = 0; relu_beta && ch < c; ch++) {
        ra[ch] = gamma[ch] * save_invstd[ch];
        rb[ch] = relu_beta[ch] - save_mean[ch] * ra[ch];
    }
    NN_PAR_FOR_IF(planes * plen >= NN_PAR_MIN_ELEMS)
    for (size_t pl = 0; pl < planes; pl++) {
        const size_t i = pl / (size_t)P, p = pl % (size_t)P;
        plane_dstats(dy + pl * plen, x + pl * plen, ra ? ra + p * L : NULL, rb ? rb + p * L : NULL,
                     hw, L, save_mean + p * L, psdy + i * c + p * L, psdyx + i * c + p * L);
    }
    const double m = (double)n * hw;
    for (int ch = 0; ch < c; ch++) {
        double sdy = 0.0, sdyx = 0.0;
        for (int i = 0; i < n; i++) {
            sdy += psdy[(size_t)i * c + ch];
            sdyx += psdyx[(size_t)i * c + ch];
        }
        const float invstd = save_invstd[ch], mean = save_mean[ch];
        const double sdy_xhat = sdyx * invstd;
        dgamma[ch] = (float)sdy_xhat;
        dbeta[ch] = (float)sdy;
        const float a = gamma[ch] * invstd;
        float b = 0.0f, c0 = 0.0f;
        if (training) {
            b = (float)(-(double)a * invstd * sdy_xhat / m);
            c0 = (float)(-(double)a * sdy / m) - b * mean;
        }
        coef[ch] = a;
        coef[c + ch] = b;
        coef[2 * c + ch] = c0;
    }
    if (dx) {
        NN_PAR_FOR_IF(planes * plen >= NN_PAR_MIN_ELEMS)
        for (size_t pl = 0; pl < planes; pl++) {
            const size_t p = pl % (size_t)P;
            plane_dx(dy + pl * plen, x + pl * plen, ra ? ra + p * L : NULL, rb ? rb + p * L : NULL,
                     hw, L, coef + p * L, coef + c + p * L, coef + 2 * c + p * L, accum,
                     dx + pl * plen);
        }
    }
}

/* ---- option-A shortcut, blocked ----------------------------------------------------------- */

/* Option-A shortcut in nChw16c: output channel co is input channel co - before (zero outside
 * [0, cin)), sampled at the stride. Each output block's 16 lanes come from at most two input
 * blocks: per lane, the offset of its source within an image (or -1), computed once per block,
 * then one gather per output pixel. */
void nn_shortcut_a_forward_b16(const float *x, int n, int cin, int h, int w, int cout, int stride,
                               float *y)
{
    const int ho = (h - 1) / stride + 1, wo = (w - 1) / stride + 1, before = (cout - cin) / 2;
    const int cbi = cin / L16, cbo = cout / L16;
    const size_t xplane = (size_t)h * w * L16, yplane = (size_t)ho * wo * L16;
    NN_PAR_FOR_IF((size_t)n * cout * ho * wo >= NN_PAR_MIN_ELEMS)
    for (int i = 0; i < n; i++)
        for (int b = 0; b < cbo; b++) {
            float *yb = y + ((size_t)i * cbo + b) * yplane;
            const float *xi = x + (size_t)i * cbi * xplane;
            long off[L16];
            int any = 0;
            for (int l = 0; l < L16; l++) {
                const int ci = b * L16 + l - before;
                off[l] = ci < 0 || ci >= cin ? -1 : (long)(ci / L16) * (long)xplane + ci % L16;
                any |= off[l] >= 0;
            }
            if (!any) {
                memset(yb, 0, yplane * sizeof *yb);
                continue;
            }
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    float *o = yb + ((size_t)oy * wo + ox) * L16;
                    const float *src = xi + ((size_t)oy * stride * w + (size_t)ox * stride) * L16;
                    for (int l = 0; l < L16; l++)
                        o[l] = off[l] < 0 ? 0.0f : src[off[l]];
                }
        }
}

void nn_shortcut_a_backward_b16(const float *dy, int n, int cin, int h, int w, int cout,
                                int stride, float *dx, int accum)
{
    const int ho = (h - 1) / stride + 1, wo = (w - 1) / stride + 1, before = (cout - cin) / 2;
    const int cbi = cin / L16, cbo = cout / L16;
    const size_t xplane = (size_t)h * w * L16, yplane = (size_t)ho * wo * L16;
    NN_PAR_FOR_IF((size_t)n * cin * h * w >= NN_PAR_MIN_ELEMS)
    for (int i = 0; i < n; i++) {
        float *dxi = dx + (size_t)i * cin * h * w;
        const float *dyi = dy + (size_t)i * cbo * yplane;
        if (!accum) memset(dxi, 0, (size_t)cin * h * w * sizeof *dxi);
        for (int b = 0; b < cbi; b++) {
            long off[L16]; /* every input channel has its output channel */
            for (int l = 0; l < L16; l++) {
                const int co = b * L16 + l + before;
                off[l] = (long)(co / L16) * (long)yplane + co % L16;
            }
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    float *o = dxi + (size_t)b * xplane +
                               ((size_t)oy * stride * w + (size_t)ox * stride) * L16;
                    const float *src = dyi + ((size_t)oy * wo + ox) * L16;
                    for (int l = 0; l < L16; l++)
                        o[l] += src[off[l]];
                }
        }
    }
}

/* ---- global average pooling, blocked ------------------------------------------------------ */

void nn_gap_forward_b16(const float *x, int n, int c, int hw, float *y)
{
    const int cb = c / L16;
    for (size_t pl = 0; pl < (size_t)n * cb; pl++) {
        double s[L16];
        plane_sum(x + pl * hw * L16, hw, L16, s);
        for (int l = 0; l < L16; l++)
            y[pl * L16 + l] = (float)(s[l] / hw);
    }
}

void nn_gap_backward_b16(const float *dy, int n, int c, int hw, float *dx, int accum)
{
    const int cb = c / L16;
    for (size_t pl = 0; pl < (size_t)n * cb; pl++) {
        float g[L16];
        for (int l = 0; l < L16; l++)
            g[l] = dy[pl * L16 + l] / (float)hw;
        float *d = dx + pl * hw * L16;
        for (int q = 0; q < hw; q++)
            for (int l = 0; l < L16; l++)
                d[(size_t)q * L16 + l] = (accum ? d[(size_t)q * L16 + l] : 0.0f) + g[l];
    }
}
