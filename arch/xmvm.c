/* xmvm.c - integer crossbar matrix-vector products with bit-serial inputs, sliced weights and
 * finite ADCs; see xmvm.h for the arithmetic. Weights and inputs are packed as bit planes per
 * row chunk so one column sum of one slice is a few popcounts. */
#include "xmvm.h"

#include <stdlib.h>
#include <string.h>
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(ES_SANITIZERS)
#include <immintrin.h>
#endif

typedef struct xmvm_mat xmvm_mat_t;
typedef void (*chunk_bit_fn)(const xmvm_mat_t *w, int ch, int j, const uint64_t *xj, int32_t pj,
                             int neg_j, int64_t *restrict acc, int32_t *restrict sum);

static chunk_bit_fn pick_chunk_bit(void);

struct xmvm_mat {
    chunk_bit_fn chunk_bit;
    xmvm_config c;
    int m, k;
    int chunks, words; /* row chunks (crossbars along K), uint64 words per chunk */
    int groups, slices, planes; /* signs (1 or 2), slices per sign, bit planes per chunk */
    int shift;
    int64_t maxcode;
    uint64_t *bits;  /* [chunk][plane][word][m]: the loops over m are the vector loops */
    int32_t *flip;   /* [chunk][group * slices + slice][m], 0 or 1 */
};

int xmvm_config_check(const xmvm_config *c, es_err *err)
{
    if (c->rows < 1 || c->rows > 8192)
        return es_fail(err, ES_ECONFIG, "crossbar rows %d out of range [1, 8192]", c->rows);
    if (c->weight_bits < 2 || c->weight_bits > 31)
        return es_fail(err, ES_ECONFIG, "weight bits %d out of range [2, 31]", c->weight_bits);
    if (c->bits_per_cell < 1 || c->bits_per_cell > 8)
        return es_fail(err, ES_ECONFIG, "bits per cell %d out of range [1, 8]", c->bits_per_cell);
    if (c->input_bits < 1 || c->input_bits > 31)
        return es_fail(err, ES_ECONFIG, "input bits %d out of range [1, 31]", c->input_bits);
    if (c->adc_bits < 1 || c->adc_bits > 30)
        return es_fail(err, ES_ECONFIG, "ADC bits %d out of range [1, 30]", c->adc_bits);
    if (c->adc_shift < -1 || c->adc_shift > 30)
        return es_fail(err, ES_ECONFIG, "ADC shift %d out of range [-1, 30]", c->adc_shift);
    if (c->adc_shift > 0 && c->adc_bits + c->adc_shift > 31)
        return es_fail(err, ES_ECONFIG, "ADC bits %d with step 2^%d exceed 31 bits", c->adc_bits,
                       c->adc_shift);
    return ES_OK;
}

int xmvm_slices(const xmvm_config *c)
{
    const int mag = c->differential ? c->weight_bits - 1 : c->weight_bits;
    return (mag + c->bits_per_cell - 1) / c->bits_per_cell;
}

int64_t xmvm_column_max(const xmvm_config *c)
{
    const int64_t full = (int64_t)c->rows * ((1 << c->bits_per_cell) - 1);
    return !c->differential && c->flip ? full / 2 : full;
}

static int64_t half_step(int s)
{
    return s ? (int64_t)1 << (s - 1) : 0;
}

int xmvm_adc_shift(const xmvm_config *c)
{
    if (c->adc_shift >= 0) return c->adc_shift;
    const int64_t cmax = xmvm_column_max(c), codes = ((int64_t)1 << c->adc_bits) - 1;
    int s = 0;
    while (((cmax + half_step(s)) >> s) > codes) s++;
    return s;
}

int xmvm_adc_exact(const xmvm_config *c)
{
    return xmvm_adc_shift(c) == 0 && xmvm_column_max(c) <= ((int64_t)1 << c->adc_bits) - 1;
}

static inline int64_t adc(int64_t s, int shift, int64_t maxcode)
{
    int64_t code = (s + half_step(shift)) >> shift;
    return (code > maxcode ? maxcode : code) * ((int64_t)1 << shift); /* s may be negative */
}

static int32_t clamp32(int64_t v, int64_t lo, int64_t hi)
{
    return (int32_t)(v < lo ? lo : v > hi ? hi : v);
}

/* Stored level of slice s of sign group g for weight q. */
static int level(const xmvm_config *c, int32_t q, int g, int s)
{
    const int L = (1 << c->bits_per_cell) - 1;
    int64_t u;
    if (c->differential)
        u = g == 0 ? (q > 0 ? q : 0) : (q < 0 ? -(int64_t)q : 0);
    else
        u = (int64_t)q + ((int64_t)1 << (c->weight_bits - 1));
    return (int)((u >> (s * c->bits_per_cell)) & L);
}

int xmvm_mat_create(const xmvm_config *c, int m, int k, xmvm_mat **out, es_err *err)
{
    ES_TRY(xmvm_config_check(c, err));
    if (m < 1 || k < 1) return es_fail(err, ES_EINVAL, "crossbar matrix %d x %d is empty", m, k);
    xmvm_mat *w = calloc(1, sizeof *w);
    if (!w) return es_fail(err, ES_ENOMEM, "out of memory");
    w->c = *c;
    w->m = m;
    w->k = k;
    w->chunks = (k + c->rows - 1) / c->rows;
    w->words = (ES_MIN(c->rows, k) + 63) / 64;
    w->groups = c->differential ? 2 : 1;
    w->slices = xmvm_slices(c);
    w->planes = w->groups * w->slices * c->bits_per_cell;
    w->shift = xmvm_adc_shift(c);
    w->maxcode = ((int64_t)1 << c->adc_bits) - 1;
    w->chunk_bit = pick_chunk_bit();
    const size_t cells = (size_t)m * (size_t)w->chunks;
    w->bits = calloc(cells * (size_t)w->planes * (size_t)w->words, sizeof *w->bits);
    w->flip = calloc(cells * (size_t)(w->groups * w->slices), sizeof *w->flip);
    if (!w->bits || !w->flip) {
        xmvm_mat_destroy(w);
        return es_fail(err, ES_ENOMEM, "out of memory packing a %d x %d crossbar matrix", m, k);
    }
    *out = w;
    return ES_OK;
}

void xmvm_mat_destroy(xmvm_mat *w)
{
    if (!w) return;
    free(w->bits);
    free(w->flip);
    free(w);
}

void xmvm_mat_set(xmvm_mat *w, const int32_t *q, size_t rs, size_t cs)
{
    const xmvm_config *c = &w->c;
    const int L = (1 << c->bits_per_cell) - 1, R = c->rows, bpc = c->bits_per_cell;
    const int gs = w->groups * w->slices;
    const int64_t qmax = ((int64_t)1 << (c->weight_bits - 1)) - 1;
    memset(w->bits, 0, (size_t)w->m * w->chunks * w->planes * w->words * sizeof *w->bits);
    for (int r = 0; r < w->m; r++)
        for (int ch = 0; ch < w->chunks; ch++) {
            const int i0 = ch * R, i1 = ES_MIN(w->k, i0 + R);
            const size_t M = (size_t)w->m;
            int32_t *fl = w->flip + (size_t)ch * gs * M + r; /* stride M */
            uint64_t *base = w->bits + (size_t)ch * w->planes * w->words * M + r; /* stride M */
            int64_t sum[2 * 32] = {0};
            for (int i = i0; i < i1; i++) {
                const int32_t qi = clamp32(q[r * rs + i * cs], -qmax, qmax);
                for (int g = 0; g < w->groups; g++)
                    for (int s = 0; s < w->slices; s++) sum[g * w->slices + s] += level(c, qi, g, s);
            }
            for (int t = 0; t < gs; t++)
                fl[t * M] = !c->differential && c->flip && 2 * sum[t] > (int64_t)(i1 - i0) * L;
            for (int i = i0; i < i1; i++) {
                const int32_t qi = clamp32(q[r * rs + i * cs], -qmax, qmax);
                const int off = i - i0;
                for (int g = 0; g < w->groups; g++)
                    for (int s = 0; s < w->slices; s++) {
                        const int t = g * w->slices + s;
                        int v = level(c, qi, g, s);
                        if (fl[t * M]) v = L - v;
                        for (int b = 0; b < bpc; b++)
                            if ((v >> b) & 1)
                                base[((size_t)(t * bpc + b) * w->words + off / 64) * M] |=
                                    (uint64_t)1 << (off % 64);
                    }
            }
        }
}

size_t xmvm_work_words(const xmvm_mat *w)
{
    /* input planes and their popcounts, then acc (int64) and sum (int32) per output */
    return (size_t)w->chunks * (size_t)w->c.input_bits * ((size_t)w->words + 1) +
           (size_t)w->m * 2;
}

/* The input's integer value, clamped, and its ib-bit pattern. */
static uint32_t input_pattern(const xmvm_config *c, int32_t x, int is_signed, int64_t *value)
{
    const int ib = c->input_bits;
    int64_t v;
    if (is_signed)
        v = clamp32(x, -((int64_t)1 << (ib - 1)), ((int64_t)1 << (ib - 1)) - 1);
    else
        v = clamp32(x, 0, ((int64_t)1 << ib) - 1);
    *value = v;
    return (uint32_t)v & (uint32_t)(((uint64_t)1 << ib) - 1);
}

/* The hot loop runs over the M columns (outputs) at once, compiled three times: with
 * AVX-512 VPOPCNTDQ (vector popcount), AVX2, and the baseline; xmvm_mat_create picks one from
 * the CPU. Integer arithmetic, so every version gives the same bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(ES_SANITIZERS)
#define XMVM_DISPATCH 1
#define XMVM_INLINE static inline __attribute__((always_inline))
#else
#define XMVM_INLINE static inline
#endif

/* One row chunk and input bit j, every slice t: sum[m] = sum_b 2^b popcount(x & plane[m]),
 * then acc[m] +-= unflip(ADC(sum[m])) << (j + slice bpc). */
XMVM_INLINE void chunk_bit_body(const xmvm_mat *w, int ch, int j, const uint64_t *xj, int32_t pj,
                                int neg_j, int64_t *restrict acc, int32_t *restrict sum)
{
    const int bpc = w->c.bits_per_cell, W = w->words, gs = w->groups * w->slices;
    const size_t M = (size_t)w->m;
    const int shift = w->shift;
    const int32_t half = shift ? 1 << (shift - 1) : 0, mc = (int32_t)w->maxcode;
    const int32_t full = ((1 << bpc) - 1) * pj;
    for (int t = 0; t < gs; t++) {
        const uint64_t *wp = w->bits + ((size_t)ch * w->planes + (size_t)t * bpc) * W * M;
        const int32_t *restrict fl = w->flip + ((size_t)ch * gs + t) * M;
        for (size_t r = 0; r < M; r++) sum[r] = 0;
        for (int b = 0; b < bpc; b++)
            for (int q = 0; q < W; q++) {
                const uint64_t xw = xj[q];
                if (!xw) continue;
                const uint64_t *restrict pl = wp + ((size_t)b * W + q) * M;
                for (size_t r = 0; r < M; r++)
                    sum[r] += (int32_t)__builtin_popcountll(xw & pl[r]) << b;
            }
        const int sh = j + (t % w->slices) * bpc;
        const int neg = neg_j ^ (t >= w->slices);
        for (size_t r = 0; r < M; r++) {
            int32_t code = (sum[r] + half) >> shift;
            code = code > mc ? mc : code;
            int32_t v = code << shift;
            v = fl[r] ? full - v : v;
            const int64_t d = (int64_t)v * ((int64_t)1 << sh); /* v may be negative */
            acc[r] += neg ? -d : d;
        }
    }
}

#define CHUNK_BIT_ARGS                                                                             \
    const xmvm_mat *w, int ch, int j, const uint64_t *xj, int32_t pj, int neg_j,                 \
        int64_t *restrict acc, int32_t *restrict sum
static void chunk_bit_base(CHUNK_BIT_ARGS)
{
    chunk_bit_body(w, ch, j, xj, pj, neg_j, acc, sum);
}
#ifdef XMVM_DISPATCH
__attribute__((target("avx2,popcnt,bmi2"))) static void chunk_bit_avx2(CHUNK_BIT_ARGS)
{
    chunk_bit_body(w, ch, j, xj, pj, neg_j, acc, sum);
}
/* The same with explicit AVX-512 vectors: 8 columns per step, the last step masked. */
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512vpopcntdq,avx2,popcnt,bmi2")))
static void chunk_bit_avx512(CHUNK_BIT_ARGS)
{
    (void)sum;
    const int bpc = w->c.bits_per_cell, W = w->words, gs = w->groups * w->slices;
    const size_t M = (size_t)w->m;
    const int shift = w->shift;
    const __m512i half = _mm512_set1_epi64(shift ? (int64_t)1 << (shift - 1) : 0);
    const __m512i mc = _mm512_set1_epi64(w->maxcode);
    const __m512i full = _mm512_set1_epi64((int64_t)((1 << bpc) - 1) * pj);
    const __m128i cshift = _mm_cvtsi32_si128(shift);
    for (int t = 0; t < gs; t++) {
        const uint64_t *wp = w->bits + ((size_t)ch * w->planes + (size_t)t * bpc) * W * M;
        const int32_t *fl = w->flip + ((size_t)ch * gs + t) * M;
        const __m128i csh = _mm_cvtsi32_si128(j + (t % w->slices) * bpc);
        const int neg = neg_j ^ (t >= w->slices);
        for (size_t r = 0; r < M; r += 8) {
            const __mmask8 m8 = M - r >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (M - r)) - 1);
            __m512i sv = _mm512_setzero_si512();
            for (int b = 0; b < bpc; b++)
                for (int q = 0; q < W; q++) {
                    const uint64_t xw = xj[q];
                    if (!xw) continue;
                    const __m512i pv = _mm512_maskz_loadu_epi64(m8, wp + ((size_t)b * W + q) * M + r);
                    __m512i pc = _mm512_popcnt_epi64(_mm512_and_si512(pv, _mm512_set1_epi64((long long)xw)));
                    sv = _mm512_add_epi64(sv, _mm512_sll_epi64(pc, _mm_cvtsi32_si128(b)));
                }
            __m512i code = _mm512_srl_epi64(_mm512_add_epi64(sv, half), cshift);
            code = _mm512_min_epi64(code, mc);
            __m512i v = _mm512_sll_epi64(code, cshift);
            const __m256i f = _mm256_maskz_loadu_epi32(m8, fl + r);
            const __mmask8 fm = _mm256_cmpneq_epi32_mask(f, _mm256_setzero_si256());
            v = _mm512_mask_sub_epi64(v, fm, full, v);
            const __m512i d = _mm512_sll_epi64(v, csh);
            __m512i a = _mm512_maskz_loadu_epi64(m8, acc + r);
            a = neg ? _mm512_sub_epi64(a, d) : _mm512_add_epi64(a, d);
            _mm512_mask_storeu_epi64(acc + r, m8, a);
        }
    }
}
#endif

int xmvm_mat_use(xmvm_mat *w, int level)
{
    switch (level) {
    case 0: w->chunk_bit = chunk_bit_base; return 1;
#ifdef XMVM_DISPATCH
    case 1:
        __builtin_cpu_init();
        if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("bmi2")) return 0;
        w->chunk_bit = chunk_bit_avx2;
        return 1;
    case 2:
        __builtin_cpu_init();
        if (!__builtin_cpu_supports("avx512vpopcntdq") || !__builtin_cpu_supports("avx512vl") ||
            !__builtin_cpu_supports("avx512bw") || !__builtin_cpu_supports("avx512dq"))
            return 0;
        w->chunk_bit = chunk_bit_avx512;
        return 1;
#endif
    default: return 0;
    }
}

static chunk_bit_fn pick_chunk_bit(void)
{
#ifdef XMVM_DISPATCH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
        return chunk_bit_avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt") &&
        __builtin_cpu_supports("bmi2"))
        return chunk_bit_avx2;
#endif
    return chunk_bit_base;
}

void xmvm_run(const xmvm_mat *w, const int32_t *x, int is_signed, uint64_t *work, int64_t *y)
{
    const xmvm_config *c = &w->c;
    const int ib = c->input_bits, R = c->rows, W = w->words;
    uint64_t *planes = work, *pop = work + (size_t)w->chunks * ib * W;
    memset(planes, 0, (size_t)w->chunks * ib * W * sizeof *planes);
    int64_t sumx = 0;
    for (int i = 0; i < w->k; i++) {
        int64_t v;
        uint32_t pat = input_pattern(c, x[i], is_signed, &v);
        sumx += v;
        const int ch = i / R, off = i % R;
        uint64_t *p = planes + (size_t)ch * ib * W + off / 64;
        const uint64_t bit = (uint64_t)1 << (off % 64);
        while (pat) {
            const int j = __builtin_ctz(pat);
            p[(size_t)j * W] |= bit;
            pat &= pat - 1;
        }
    }
    for (int t = 0; t < w->chunks * ib; t++) {
        uint64_t n = 0;
        for (int q = 0; q < W; q++) n += (uint64_t)__builtin_popcountll(planes[(size_t)t * W + q]);
        pop[t] = n;
    }
    const size_t M = (size_t)w->m;
    int64_t *acc = (int64_t *)(pop + (size_t)w->chunks * ib);
    int32_t *sum = (int32_t *)(acc + M);
    memset(acc, 0, M * sizeof *acc);
    for (int ch = 0; ch < w->chunks; ch++)
        for (int j = 0; j < ib; j++) {
            const int32_t pj = (int32_t)pop[ch * ib + j];
            if (!pj) continue;
            const uint64_t *xj = planes + ((size_t)ch * ib + j) * W;
            w->chunk_bit(w, ch, j, xj, pj, is_signed && j == ib - 1, acc, sum);
        }
    if (!c->differential)
        for (size_t r = 0; r < M; r++) acc[r] -= ((int64_t)1 << (c->weight_bits - 1)) * sumx;
    memcpy(y, acc, M * sizeof *y);
}

void xmvm_reference(const xmvm_config *c, const int32_t *q, int m, int k, const int32_t *x,
                    int is_signed, int64_t *y)
{
    const int L = (1 << c->bits_per_cell) - 1, R = c->rows, ib = c->input_bits;
    const int groups = c->differential ? 2 : 1, slices = xmvm_slices(c);
    const int shift = xmvm_adc_shift(c);
    const int64_t maxcode = ((int64_t)1 << c->adc_bits) - 1;
    const int64_t qmax = ((int64_t)1 << (c->weight_bits - 1)) - 1;
    for (int r = 0; r < m; r++) {
        int64_t acc = 0, sumx = 0;
        for (int i = 0; i < k; i++) {
            int64_t v;
            input_pattern(c, x[i], is_signed, &v);
            sumx += v;
        }
        for (int i0 = 0; i0 < k; i0 += R) {
            const int i1 = ES_MIN(k, i0 + R);
            for (int g = 0; g < groups; g++)
                for (int s = 0; s < slices; s++) {
                    /* the flip of this column segment */
                    int64_t levels = 0;
                    for (int i = i0; i < i1; i++)
                        levels += level(c, clamp32(q[(size_t)r * k + i], -qmax, qmax), g, s);
                    const int flipped = !c->differential && c->flip && 2 * levels > (int64_t)(i1 - i0) * L;
                    for (int j = 0; j < ib; j++) {
                        int64_t sum = 0, ones = 0;
                        for (int i = i0; i < i1; i++) {
                            int64_t v;
                            const uint32_t pat = input_pattern(c, x[i], is_signed, &v);
                            const int xb = (pat >> j) & 1;
                            int lv = level(c, clamp32(q[(size_t)r * k + i], -qmax, qmax), g, s);
                            if (flipped) lv = L - lv;
                            sum += xb * lv;
                            ones += xb;
                        }
                        int64_t val = adc(sum, shift, maxcode);
                        if (flipped) val = L * ones - val;
                        int64_t weight = (int64_t)1 << j;
                        if (is_signed && j == ib - 1) weight = -weight;
                        weight *= (int64_t)1 << (s * c->bits_per_cell);
                        acc += (g ? -1 : 1) * weight * val;
                    }
                }
        }
        if (!c->differential) acc -= ((int64_t)1 << (c->weight_bits - 1)) * sumx;
        y[r] = acc;
    }
}
