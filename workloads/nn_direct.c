/* nn_direct.c - direct convolution for small stride-1 layers (LeNet-5's conv1 and conv2):
 * no im2col. The input is copied once into a zero-padded buffer, and the output is computed a
 * row at a time, 16 output columns per vector, for a block of output channels held in
 * registers, over a flat list of taps (ci, ky, kx). The data gradient is the same kernel on the
 * error padded by k - 1 - pad with the weights transposed and flipped; the weight gradient
 * keeps a block of output channels x taps of vector accumulators over the whole batch, summed
 * across lanes once at the end.
 *
 * Every sum runs in an order fixed by the shapes alone (not the thread count or the ISA clone:
 * products and sums are rounded separately, as -std=c11 builds without contraction), so two
 * runs give the same bits. The order differs from im2col + sgemm's, so the results agree with
 * the gemm backend to float32 rounding, not bit for bit (tests/workloads/test_direct.c). */
#include "nn_direct.h"

#include <string.h>

#include "es_common.h"

#define VL 16 /* floats per vector */

/* The kernels are AVX-512 with fused multiply-add (one rounding per product-and-sum), compiled
 * for that target whatever the build's baseline, and used only where the CPU has it
 * (nn_direct_ok); elsewhere the gemm backend does these layers. */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define HAVE_DIRECT 1
#include <immintrin.h>
#define DT __attribute__((target("avx512f,fma")))
#define DI static inline __attribute__((always_inline, target("avx512f,fma")))
typedef __m512 vf;

DI vf ld(const float *p)
{
    return _mm512_loadu_ps(p);
}

DI vf splat(float s)
{
    return _mm512_set1_ps(s);
}

DI vf zero(void)
{
    return _mm512_setzero_ps();
}

/* acc + a b, rounded once */
DI vf fma_(vf a, vf b, vf acc)
{
    return _mm512_fmadd_ps(a, b, acc);
}

/* The register blocks' loops have constant trip counts once inlined: unroll them completely,
 * so their accumulators live in registers. */
#define UNROLL _Pragma("GCC unroll 8")

/* output columns per row, in vectors (direct only where this is 1 or 2) */
static int row_vectors(int wo)
{
    return (wo + VL - 1) / VL;
}

/* Row stride of a padded plane: the padded width, or enough for the last vector's overread. */
static int padded_stride(int wpad, int k, int nv)
{
    int s = nv * VL + k - 1;
    if (s < wpad) s = wpad;
    return (s + 15) & ~15;
}

static int direct_enabled = NN_DIRECT_CONV | NN_DIRECT_POOL;

void nn_direct_set_enabled(int mask)
{
    direct_enabled = mask;
}

static int nn_direct_cpu(void)
{
    static int cpu = -1;
    if (cpu < 0) {
        __builtin_cpu_init();
        cpu = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
    }
    return cpu;
}

int nn_direct_ok(const nn_conv_desc *d)
{
    if (!nn_direct_cpu() || !(direct_enabled & NN_DIRECT_CONV)) return 0;
    if (d->stride != 1 || d->src_layout != NN_LAYOUT_NCHW || d->dst_layout != NN_LAYOUT_NCHW)
        return 0;
    const int nv = row_vectors(d->wo), nvx = row_vectors(d->w);
    /* vectors of 16 columns waste little: at least 10 of 16 lanes in use, also for the data
     * gradient's rows (w wide); small enough products that im2col would dominate */
    if (nv > 2 || nvx > 2 || d->wo * 16 < nv * VL * 10 || d->w * 16 < nvx * VL * 10) return 0;
    return (long)d->cin * d->k * d->k <= 160 && d->cout <= 32;
}

/* floats of one image's padded input (forward, weight gradient) or padded error (data
 * gradient), whichever is larger, plus the transposed weights and the lane-padded error rows */
static size_t xp_floats(const nn_conv_desc *d)
{
    const int nv = row_vectors(d->wo), nvx = row_vectors(d->w);
    const size_t fx = (size_t)d->cin * (d->h + 2 * d->pad + 1) *
                      padded_stride(d->w + 2 * d->pad, d->k, nv);
    const int q = d->k - 1 - d->pad;
    const size_t fd = (size_t)d->cout * (d->ho + 2 * q + 1) * padded_stride(d->wo + 2 * q, d->k, nvx);
    return fx > fd ? fx : fd;
}

/* the tap offsets (ints) at the start of the scratch: the larger of the forward's and the
 * data gradient's tap lists, plus alignment */
static size_t offset_floats(const nn_conv_desc *d)
{
    const size_t c = (size_t)ES_MAX(d->cin, d->cout);
    return (c * d->k * d->k + 15) & ~(size_t)15;
}

size_t nn_direct_scratch_floats(const nn_conv_desc *d, int n)
{
    if (n <= 0) return 0;
    const size_t taps = (size_t)d->cin * d->k * d->k;
    const size_t dyrow = (size_t)d->cout * d->ho * row_vectors(d->wo) * VL;
    /* all n padded inputs (the weight gradient sweeps the batch per block), all n lane-padded
     * errors, the flipped weights and the tap offsets */
    return (size_t)n * (xp_floats(d) + dyrow) + taps * d->cout + offset_floats(d) + 64;
}

/* Copy one image's c planes of h x w into a zero-filled buffer of planes hp x ws, each plane
 * offset by p rows and p columns. */
/* dst[0..ws) = zeros with src[0..w) at dst + p (ws a multiple of VL, p + w <= ws): vector
 * stores and masked loads, instead of a memset and a memcpy call per short row. */
DI void pad_row(float *dst, const float *src, int w, int p, int ws)
{
    for (int j = 0; j < ws; j += VL)
        _mm512_storeu_ps(dst + j, zero());
    for (int j = 0; j < w; j += VL) {
        const __mmask16 m = w - j >= VL ? (__mmask16)0xFFFF : (__mmask16)((1u << (w - j)) - 1u);
        _mm512_mask_storeu_ps(dst + p + j, m, _mm512_maskz_loadu_ps(m, src + j));
    }
}

DT static void pad_planes(const float *x, int c, int h, int w, int p, int hp, int ws, float *xp)
{
    for (int ci = 0; ci < c; ci++) {
        float *pl = xp + (size_t)ci * hp * ws;
        for (int y = 0; y < hp; y++)
            if (y < p || y >= p + h)
                for (int j = 0; j < ws; j += VL)
                    _mm512_storeu_ps(pl + (size_t)y * ws + j, zero());
            else
                pad_row(pl + (size_t)y * ws, x + ((size_t)ci * h + y - p) * w, w, p, ws);
    }
}

/* The same into a buffer that already holds a padded image of this shape: only the data
 * moves (the zeros around it are already there). */
DT static void repad_planes(const float *x, int c, int h, int w, int p, int hp, int ws, float *xp)
{
    for (int ci = 0; ci < c; ci++)
        for (int y = 0; y < h; y++) {
            float *dst = xp + ((size_t)ci * hp + y + p) * ws + p;
            const float *src = x + ((size_t)ci * h + y) * w;
            for (int j = 0; j < w; j += VL) {
                const __mmask16 m =
                    w - j >= VL ? (__mmask16)0xFFFF : (__mmask16)((1u << (w - j)) - 1u);
                _mm512_mask_storeu_ps(dst + j, m, _mm512_maskz_loadu_ps(m, src + j));
            }
        }
}

/* One image's error, lane-padded: rows of nv VL floats, zeros past wo. */
DT static void lane_rows(const float *dy, int c, int ho, int wo, int nv, float *dl)
{
    for (int r = 0; r < c * ho; r++)
        pad_row(dl + (size_t)r * nv * VL, dy + (size_t)r * wo, wo, 0, nv * VL);
}

/* y[co][oy][0..wo) (+)= bias[co] + sum over taps (ci, ky, kx) of w[co][ci][ky][kx]
 * xp[ci][oy + ky][ox + kx], for a block of CB output channels and NV vectors per row. Only the
 * rows ky that land on data (padded rows [p, p + h)) are summed: the others add zeros. */
DI void rows_block(const float *xp, int ws, int cin, int k, int p, int h, int hp, const float *w,
                   const float *b, int ho, int wo, float *y, int accum, const int CB, const int NV)
{
    const size_t taps = (size_t)cin * k * k;
    for (int oy = 0; oy < ho; oy++) {
        vf acc[16][2];
        UNROLL
        for (int c = 0; c < CB; c++)
            UNROLL
            for (int v = 0; v < NV; v++)
                acc[c][v] = zero();
        const int klo = ES_MAX(0, p - oy), khi = ES_MIN(k, p + h - oy);
        for (int ci = 0; ci < cin; ci++)
            for (int ky = klo; ky < khi; ky++) {
                const float *row = xp + ((size_t)ci * hp + oy + ky) * ws;
                const float *wr = w + ((size_t)ci * k + ky) * k;
                for (int kx = 0; kx < k; kx++) {
                    vf xv[2];
                    UNROLL
                    for (int v = 0; v < NV; v++)
                        xv[v] = ld(row + kx + v * VL);
                    UNROLL
                    for (int c = 0; c < CB; c++) {
                        const vf wv = splat(wr[(size_t)c * taps + kx]);
                        UNROLL
                        for (int v = 0; v < NV; v++)
                            acc[c][v] = fma_(wv, xv[v], acc[c][v]);
                    }
                }
            }
        UNROLL
        for (int c = 0; c < CB; c++) {
            float out[2 * VL];
            memcpy(out, &acc[c][0], (size_t)NV * sizeof(vf));
            float *yr = y + ((size_t)c * ho + oy) * wo;
            const float bc = b ? b[c] : 0.0f;
            if (accum)
                for (int x = 0; x < wo; x++)
                    yr[x] += out[x] + bc;
            else
                for (int x = 0; x < wo; x++)
                    yr[x] = out[x] + bc;
        }
    }
}

#define ROWS(cb, nv)                                                                            \
    case cb:                                                                                    \
        rows_block(xp, ws, cin, k, p, h, hp, w + (size_t)c0 * cin * k * k, b ? b + c0 : NULL,  \
                   ho, wo, y + (size_t)c0 * ho * wo, accum, cb, nv);                            \
        break

/* One image: all cout output planes (ho x wo) from the padded input (cin planes of hp x ws,
 * data in rows [p, p + h)). */
DT static void conv_rows(const float *xp, int ws, int cin, int k, int p, int h, int hp, int cout,
                         const float *w, const float *b, int ho, int wo, float *y, int accum)
{
    const int nv = row_vectors(wo);
    const int CBMAX = nv == 1 ? 8 : 6;
    for (int c0 = 0; c0 < cout; c0 += CBMAX) {
        const int cb = ES_MIN(CBMAX, cout - c0);
        if (nv == 1) {
            switch (cb) {
                ROWS(16, 1); ROWS(15, 1); ROWS(14, 1); ROWS(13, 1); ROWS(12, 1); ROWS(11, 1);
                ROWS(10, 1); ROWS(9, 1); ROWS(8, 1); ROWS(7, 1); ROWS(6, 1); ROWS(5, 1);
                ROWS(4, 1); ROWS(3, 1); ROWS(2, 1); ROWS(1, 1);
            }
        } else {
            switch (cb) {
                ROWS(8, 2); ROWS(7, 2); ROWS(6, 2); ROWS(5, 2); ROWS(4, 2); ROWS(3, 2);
                ROWS(2, 2); ROWS(1, 2);
            }
        }
    }
}

/* Tap offsets into a padded input of planes hp x ws: ((ci hp) + ky) ws + kx. */
static void tap_offsets(int cin, int k, int hp, int ws, int *off)
{
    int t = 0;
    for (int ci = 0; ci < cin; ci++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++)
                off[t++] = (ci * hp + ky) * ws + kx;
}

void nn_direct_forward(const nn_conv_desc *d, int n, const float *x, const float *w,
                       const float *b, float *y, float *scratch)
{
    const int nv = row_vectors(d->wo);
    const int hp = d->h + 2 * d->pad + 1, ws = padded_stride(d->w + 2 * d->pad, d->k, nv);
    float *xp = scratch + offset_floats(d);
    const size_t xs = (size_t)d->cin * d->h * d->w, ys = (size_t)d->cout * d->ho * d->wo;
    for (int i = 0; i < n; i++) {
        (i ? repad_planes : pad_planes)(x + i * xs, d->cin, d->h, d->w, d->pad, hp, ws, xp);
        conv_rows(xp, ws, d->cin, d->k, d->pad, d->h, hp, d->cout, w, d->bias ? b : NULL, d->ho,
                  d->wo, y + i * ys, 0);
    }
}

/* Weight-gradient block: acc[c][j] sums, over every image, row and column, dy[c] times the
 * input at tap t0 + j. dyl rows are lane-padded (NV VL floats, zeros past wo). */
DI void dw_block(
    int n, const float *xp, size_t xps, int ws, const int *off, int t0, const float *dyl,
    size_t dys, int ho, int c0, int taps, float *dw, const int CB, const int TG, const int NV)
{
    vf acc[4][4];
    UNROLL
    for (int c = 0; c < CB; c++)
        UNROLL
        for (int j = 0; j < TG; j++)
            acc[c][j] = zero();
    for (int i = 0; i < n; i++)
        for (int oy = 0; oy < ho; oy++) {
            const float *row = xp + i * xps + (size_t)oy * ws;
            UNROLL
            for (int v = 0; v < NV; v++) {
                vf dv[4], xv[4];
                UNROLL
                for (int c = 0; c < CB; c++)
                    dv[c] = ld(dyl + i * dys + ((size_t)(c0 + c) * ho + oy) * NV * VL + v * VL);
                UNROLL
                for (int j = 0; j < TG; j++)
                    xv[j] = ld(row + off[t0 + j] + v * VL);
                UNROLL
                for (int c = 0; c < CB; c++)
                    UNROLL
                    for (int j = 0; j < TG; j++)
                        acc[c][j] = fma_(dv[c], xv[j], acc[c][j]);
            }
        }
    UNROLL
    for (int c = 0; c < CB; c++)
        UNROLL
        for (int j = 0; j < TG; j++) {
            float l[VL];
            memcpy(l, &acc[c][j], sizeof l);
            /* lanes summed pairwise in a fixed tree */
            for (int s = VL / 2; s > 0; s /= 2)
                for (int q = 0; q < s; q++)
                    l[q] += l[q + s];
            dw[(size_t)(c0 + c) * taps + t0 + j] = l[0];
        }
}

#define DWB(cb, tg, nv)                                                                         \
    dw_block(n, xp, xps, ws, off, t0, dyl, dys, ho, c0, taps, dw, cb, tg, nv)

#define DWT(cb, tg)                                                                             \
    case (cb) * 8 + (tg):                                                                      \
        if (nv == 1)                                                                            \
            DWB(cb, tg, 1);                                                                     \
        else                                                                                    \
            DWB(cb, tg, 2);                                                                     \
        break
#define DWC(cb) DWT(cb, 1); DWT(cb, 2); DWT(cb, 3); DWT(cb, 4)

DT static void conv_dw(int n, const float *xp, size_t xps, int ws, const int *off, int taps,
                       const float *dyl, size_t dys, int cout, int ho, int nv, float *dw)
{
    for (int c0 = 0; c0 < cout; c0 += 4) {
        const int cb = ES_MIN(4, cout - c0);
        for (int t0 = 0; t0 < taps; t0 += 4) {
            const int tg = ES_MIN(4, taps - t0);
            switch (cb * 8 + tg) {
                DWC(1);
                DWC(2);
                DWC(3);
                DWC(4);
            }
        }
    }
}

/* db[c]: the sum of dy over every image's plane c (P values), in double: 8 lanes over the
 * plane in images' order, then the lanes pairwise. */
DT static void bias_grad(const float *dy, int n, int cout, size_t P, float *db)
{
    for (int c = 0; c < cout; c++) {
        __m512d acc = _mm512_setzero_pd();
        double tail = 0.0;
        for (int i = 0; i < n; i++) {
            const float *p = dy + ((size_t)i * cout + c) * P;
            size_t e = 0;
            for (; e + 8 <= P; e += 8)
                acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm256_loadu_ps(p + e)));
            for (; e < P; e++)
                tail += p[e];
        }
        double l[8];
        _mm512_storeu_pd(l, acc);
        for (int s = 4; s > 0; s /= 2)
            for (int q = 0; q < s; q++)
                l[q] += l[q + s];
        db[c] = (float)(l[0] + tail);
    }
}

void nn_direct_backward(const nn_conv_desc *d, int n, const float *x, const float *w,
                        const float *dy, float *dx, int accum, float *dw, float *db,
                        float *scratch)
{
    const int k = d->k, taps = d->cin * k * k, nv = row_vectors(d->wo);
    const int hp = d->h + 2 * d->pad + 1, ws = padded_stride(d->w + 2 * d->pad, k, nv);
    const size_t xs = (size_t)d->cin * d->h * d->w, P = (size_t)d->ho * d->wo,
                 ys = (size_t)d->cout * P;
    int *off = (int *)scratch;
    float *wt = scratch + offset_floats(d);
    float *xp = wt + (size_t)taps * d->cout;
    const size_t xpf = xp_floats(d), dys = (size_t)d->cout * d->ho * nv * VL;
    float *dyl = xp + (size_t)n * xpf;
    if (n <= 0) {
        memset(dw, 0, (size_t)d->cout * taps * sizeof *dw);
        if (db) memset(db, 0, (size_t)d->cout * sizeof *db);
        return;
    }
    if (db) bias_grad(dy, n, d->cout, P, db);
    /* weight gradient */
    for (int i = 0; i < n; i++) {
        pad_planes(x + i * xs, d->cin, d->h, d->w, d->pad, hp, ws, xp + i * xpf);
        lane_rows(dy + i * ys, d->cout, d->ho, d->wo, nv, dyl + i * dys);
    }
    tap_offsets(d->cin, k, hp, ws, off);
    conv_dw(n, xp, xpf, ws, off, taps, dyl, dys, d->cout, d->ho, nv, dw);
    if (!dx) return;
    /* data gradient: the error padded by q = k - 1 - pad, convolved with W transposed (cin x
     * cout) and flipped; rows of the padded error are reused image by image */
    const int q = k - 1 - d->pad, nvx = row_vectors(d->w);
    const int hq = d->ho + 2 * q + 1, wq = padded_stride(d->wo + 2 * q, k, nvx);
    for (int ci = 0; ci < d->cin; ci++)
        for (int co = 0; co < d->cout; co++)
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++)
                    wt[(((size_t)ci * d->cout + co) * k + ky) * k + kx] =
                        w[(((size_t)co * d->cin + ci) * k + (k - 1 - ky)) * k + (k - 1 - kx)];
    for (int i = 0; i < n; i++) {
        (i ? repad_planes : pad_planes)(dy + i * ys, d->cout, d->ho, d->wo, q, hq, wq, xp);
        conv_rows(xp, wq, d->cout, k, q, d->ho, hq, d->cin, wt, NULL, d->h, d->w, dx + i * xs,
                  accum);
    }
}

/* ---- 2 x 2 max pooling at stride 2 (with a folded ReLU) ---------------------------------- */

/* even and odd lanes of the 32 floats lo:hi */
DI void deinterleave(vf lo, vf hi, vf *even, vf *odd)
{
    const __m512i ie = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i io = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    *even = _mm512_permutex2var_ps(lo, ie, hi);
    *odd = _mm512_permutex2var_ps(lo, io, hi);
}

/* 32 floats with e in the even lanes and o in the odd ones */
DI void interleave(vf e, vf o, vf *lo, vf *hi)
{
    const __m512i il = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i ih = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    *lo = _mm512_permutex2var_ps(e, il, o);
    *hi = _mm512_permutex2var_ps(e, ih, o);
}

/* the first n of 16 lanes (none for n <= 0) */
DI __mmask16 mask_of(int n)
{
    return n <= 0 ? (__mmask16)0 : n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

DT static void pool_fwd_planes(const float *x, size_t planes, int w, int ho, int wo, int relu,
                               float *y, int32_t *argmax)
{
    const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const size_t hw = (size_t)2 * ho * w, pw = (size_t)ho * wo;
    for (size_t pl = 0; pl < planes; pl++)
        for (int oy = 0; oy < ho; oy++) {
            const float *r0 = x + pl * hw + (size_t)(2 * oy) * w, *r1 = r0 + w;
            float *yr = y + pl * pw + (size_t)oy * wo;
            int32_t *ar = argmax + pl * pw + (size_t)oy * wo;
            for (int ox = 0; ox < wo; ox += 16) {
                const int m = ES_MIN(16, wo - ox);
                const __mmask16 ml = mask_of(2 * m), mh = mask_of(2 * m - 16), mo = mask_of(m);
                vf a, b, c, d;
                deinterleave(_mm512_maskz_loadu_ps(ml, r0 + 2 * ox),
                             _mm512_maskz_loadu_ps(mh, r0 + 2 * ox + 16), &a, &b);
                deinterleave(_mm512_maskz_loadu_ps(ml, r1 + 2 * ox),
                             _mm512_maskz_loadu_ps(mh, r1 + 2 * ox + 16), &c, &d);
                /* first maximum wins: a later cell only when strictly greater */
                vf best = a;
                __m512i bi = _mm512_setzero_si512();
                __mmask16 g = _mm512_cmp_ps_mask(b, best, _CMP_GT_OQ);
                best = _mm512_mask_blend_ps(g, best, b);
                bi = _mm512_mask_blend_epi32(g, bi, _mm512_set1_epi32(1));
                g = _mm512_cmp_ps_mask(c, best, _CMP_GT_OQ);
                best = _mm512_mask_blend_ps(g, best, c);
                bi = _mm512_mask_blend_epi32(g, bi, _mm512_set1_epi32(w));
                g = _mm512_cmp_ps_mask(d, best, _CMP_GT_OQ);
                best = _mm512_mask_blend_ps(g, best, d);
                bi = _mm512_mask_blend_epi32(g, bi, _mm512_set1_epi32(w + 1));
                if (relu) {
                    /* best > 0 ? best : +0 */
                    const __mmask16 pos = _mm512_cmp_ps_mask(best, zero(), _CMP_GT_OQ);
                    best = _mm512_maskz_mov_ps(pos, best);
                }
                const __m512i idx = _mm512_add_epi32(
                    _mm512_add_epi32(_mm512_set1_epi32(2 * oy * w + 2 * ox),
                                     _mm512_slli_epi32(iota, 1)),
                    bi);
                _mm512_mask_storeu_ps(yr + ox, mo, best);
                _mm512_mask_storeu_epi32(ar + ox, mo, idx);
            }
        }
}

DT static void pool_bwd_planes(const float *dy, const int32_t *argmax, const float *y,
                               size_t planes, int w, int ho, int wo, float *dx)
{
    const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const size_t hw = (size_t)2 * ho * w, pw = (size_t)ho * wo;
    for (size_t pl = 0; pl < planes; pl++)
        for (int oy = 0; oy < ho; oy++) {
            float *d0 = dx + pl * hw + (size_t)(2 * oy) * w, *d1 = d0 + w;
            const size_t q = pl * pw + (size_t)oy * wo;
            for (int ox = 0; ox < wo; ox += 16) {
                const int m = ES_MIN(16, wo - ox);
                const __mmask16 mo = mask_of(m), ml = mask_of(2 * m), mh = mask_of(2 * m - 16);
                vf gv = _mm512_maskz_loadu_ps(mo, dy + q + ox);
                if (y) {
                    const __mmask16 pos =
                        _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(mo, y + q + ox), zero(), _CMP_GT_OQ);
                    gv = _mm512_maskz_mov_ps(pos, gv);
                }
                /* the winner's offset within its window: 0, 1, w or w + 1 */
                const __m512i rel = _mm512_sub_epi32(
                    _mm512_maskz_loadu_epi32(mo, argmax + q + ox),
                    _mm512_add_epi32(_mm512_set1_epi32(2 * oy * w + 2 * ox),
                                     _mm512_slli_epi32(iota, 1)));
                const vf e0 = _mm512_maskz_mov_ps(
                    _mm512_cmpeq_epi32_mask(rel, _mm512_setzero_si512()), gv);
                const vf o0 = _mm512_maskz_mov_ps(
                    _mm512_cmpeq_epi32_mask(rel, _mm512_set1_epi32(1)), gv);
                const vf e1 = _mm512_maskz_mov_ps(
                    _mm512_cmpeq_epi32_mask(rel, _mm512_set1_epi32(w)), gv);
                const vf o1 = _mm512_maskz_mov_ps(
                    _mm512_cmpeq_epi32_mask(rel, _mm512_set1_epi32(w + 1)), gv);
                vf lo, hi;
                interleave(e0, o0, &lo, &hi);
                _mm512_mask_storeu_ps(d0 + 2 * ox, ml, lo);
                _mm512_mask_storeu_ps(d0 + 2 * ox + 16, mh, hi);
                interleave(e1, o1, &lo, &hi);
                _mm512_mask_storeu_ps(d1 + 2 * ox, ml, lo);
                _mm512_mask_storeu_ps(d1 + 2 * ox + 16, mh, hi);
            }
        }
}

static int pool_ok(int h, int w, int ho, int wo)
{
    return nn_direct_cpu() && (direct_enabled & NN_DIRECT_POOL) && h == 2 * ho && w == 2 * wo;
}

int nn_direct_maxpool2_forward(const float *x, size_t planes, int h, int w, int relu, float *y,
                               int32_t *argmax)
{
    if (!pool_ok(h, w, h / 2, w / 2)) return 0;
    pool_fwd_planes(x, planes, w, h / 2, w / 2, relu, y, argmax);
    return 1;
}

int nn_direct_maxpool2_backward(const float *dy, const int32_t *argmax, const float *y,
                                size_t planes, int h, int w, float *dx)
{
    if (!pool_ok(h, w, h / 2, w / 2)) return 0;
    pool_bwd_planes(dy, argmax, y, planes, w, h / 2, w / 2, dx);
    return 1;
}

#else /* no x86-64 AVX-512 build: the gemm backend does every layer */

int nn_direct_maxpool2_forward(const float *x, size_t planes, int h, int w, int relu, float *y,
                               int32_t *argmax)
{
    (void)x, (void)planes, (void)h, (void)w, (void)relu, (void)y, (void)argmax;
    return 0;
}

int nn_direct_maxpool2_backward(const float *dy, const int32_t *argmax, const float *y,
                                size_t planes, int h, int w, float *dx)
{
    (void)dy, (void)argmax, (void)y, (void)planes, (void)h, (void)w, (void)dx;
    return 0;
}

void nn_direct_set_enabled(int mask)
{
    (void)mask;
}

int nn_direct_ok(const nn_conv_desc *d)
{
    (void)d;
    return 0;
}

size_t nn_direct_scratch_floats(const nn_conv_desc *d, int n)
{
    (void)d;
    (void)n;
    return 0;
}

void nn_direct_forward(const nn_conv_desc *d, int n, const float *x, const float *w,
                       const float *b, float *y, float *scratch)
{
    (void)d, (void)n, (void)x, (void)w, (void)b, (void)y, (void)scratch;
}

void nn_direct_backward(const nn_conv_desc *d, int n, const float *x, const float *w,
                        const float *dy, float *dx, int accum, float *dw, float *db,
                        float *scratch)
{
    (void)d, (void)n, (void)x, (void)w, (void)dy, (void)dx, (void)accum, (void)dw, (void)db;
    (void)scratch;
}
#endif
