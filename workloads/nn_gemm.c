/* nn_gemm.c - sgemm for the training engine: OpenBLAS when present, else a blocked C kernel.
 * See nn_gemm.h for the contract. */
#include "config.h"

#include "nn_gemm.h"

#include <string.h>

#include "nn_par.h"

#ifdef ES_HAVE_BLAS
#include <cblas.h>
#endif

/* ---- portable kernel --------------------------------------------------------------------
 * GotoBLAS-style blocking: op(B) is packed in KC x NC blocks cut into NR-wide column panels,
 * op(A) in MC x KC blocks cut into MR-tall row panels, so the micro-kernel reads both
 * operands contiguously whatever the transposes, and its MR x NR accumulator stays in
 * registers (the fixed-size inner loops are what the compiler vectorises). The packed
 * blocks are padded with zeros to whole panels so the micro-kernel has no edge cases; only
 * the write-back is clipped. Pack buffers are thread-local statics: no allocation per call,
 * and concurrent calls from different threads do not share them. */

#define GEMM_MR 4
#define GEMM_NR 8
#define GEMM_KC 128
#define GEMM_MC 64
#define GEMM_NC 256

static inline int imin(int a, int b)
{
    return a < b ? a : b;
}

static _Thread_local float gemm_pack_a[GEMM_MC * GEMM_KC];
static _Thread_local float gemm_pack_b[GEMM_KC * GEMM_NC];

static void pack_b(int transb, const float *b, int ldb, int p0, int kc, int j0, int nc, float *dst)
{
    for (int jp = 0; jp < nc; jp += GEMM_NR) {
        int nr = imin(GEMM_NR, nc - jp);
        for (int p = 0; p < kc; p++) {
            float *d = dst + (size_t)jp * kc + (size_t)p * GEMM_NR;
            if (!transb) {
                const float *s = b + (size_t)(p0 + p) * ldb + j0 + jp;
                for (int jj = 0; jj < nr; jj++)
                    d[jj] = s[jj];
            } else {
                const float *s = b + (size_t)(j0 + jp) * ldb + p0 + p;
                for (int jj = 0; jj < nr; jj++)
                    d[jj] = s[(size_t)jj * ldb];
            }
            for (int jj = nr; jj < GEMM_NR; jj++)
                d[jj] = 0.0f;
        }
    }
}

static void pack_a(int transa, const float *a, int lda, int i0, int mc, int p0, int kc, float alpha,
                   float *dst)
{
    for (int ip = 0; ip < mc; ip += GEMM_MR) {
        int mr = imin(GEMM_MR, mc - ip);
        for (int p = 0; p < kc; p++) {
            float *d = dst + (size_t)ip * kc + (size_t)p * GEMM_MR;
            for (int ii = 0; ii < mr; ii++) {
                size_t i = (size_t)(i0 + ip + ii), q = (size_t)(p0 + p);
                d[ii] = alpha * (transa ? a[q * lda + i] : a[i * lda + q]);
            }
            for (int ii = mr; ii < GEMM_MR; ii++)
                d[ii] = 0.0f;
        }
    }
}

static void micro_kernel(int kc, const float *ap, const float *bp, float *c, int ldc, int mr,
                         int nr)
{
    float acc[GEMM_MR][GEMM_NR];
    memset(acc, 0, sizeof acc);
    for (int p = 0; p < kc; p++) {
        const float *av = ap + (size_t)p * GEMM_MR;
        const float *bv = bp + (size_t)p * GEMM_NR;
        for (int ii = 0; ii < GEMM_MR; ii++)
            for (int jj = 0; jj < GEMM_NR; jj++)
                acc[ii][jj] += av[ii] * bv[jj];
    }
    for (int ii = 0; ii < mr; ii++)
        for (int jj = 0; jj < nr; jj++)
            c[(size_t)ii * ldc + jj] += acc[ii][jj];
}

static void scale_c(int m, int n, float beta, float *c, int ldc)
{
    if (beta == 1.0f) return;
    for (int i = 0; i < m; i++) {
        float *row = c + (size_t)i * ldc;
        if (beta == 0.0f)
            memset(row, 0, (size_t)n * sizeof *row);
        else
            for (int j = 0; j < n; j++)
                row[j] *= beta;
    }
}

void nn_sgemm_portable(int transa, int transb, int m, int n, int k, float alpha, const float *a,
                       int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    if (m <= 0 || n <= 0) return;
    scale_c(m, n, beta, c, ldc);
    if (k <= 0 || alpha == 0.0f) return;
    for (int j0 = 0; j0 < n; j0 += GEMM_NC) {
        int nc = imin(GEMM_NC, n - j0);
        for (int p0 = 0; p0 < k; p0 += GEMM_KC) {
            int kc = imin(GEMM_KC, k - p0);
            pack_b(transb, b, ldb, p0, kc, j0, nc, gemm_pack_b);
            for (int i0 = 0; i0 < m; i0 += GEMM_MC) {
                int mc = imin(GEMM_MC, m - i0);
                pack_a(transa, a, lda, i0, mc, p0, kc, alpha, gemm_pack_a);
                for (int jp = 0; jp < nc; jp += GEMM_NR)
                    for (int ip = 0; ip < mc; ip += GEMM_MR)
                        micro_kernel(kc, gemm_pack_a + (size_t)ip * kc,
                                     gemm_pack_b + (size_t)jp * kc,
                                     c + (size_t)(i0 + ip) * ldc + j0 + jp, ldc,
                                     imin(GEMM_MR, mc - ip), imin(GEMM_NR, nc - jp));
            }
        }
    }
}

/* ---- dispatch ------------------------------------------------------------------------ */

void nn_sgemm(int transa, int transb, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc)
{
#ifdef ES_HAVE_BLAS
    if (m <= 0 || n <= 0) return;
    if (k <= 0) { /* BLAS rejects lda < 1 for empty operands; the result is only beta * C */
        scale_c(m, n, beta, c, ldc);
        return;
    }
    cblas_sgemm(CblasRowMajor, transa ? CblasTrans : CblasNoTrans,
                transb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#else
    nn_sgemm_portable(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}

const char *nn_gemm_backend_name(void)
{
#ifdef ES_HAVE_BLAS
    return "openblas";
#else
    return "portable";
#endif
}

void nn_gemm_set_threads(int n)
{
    if (n < 1) n = 1;
#ifdef ES_HAVE_BLAS
    openblas_set_num_threads(n);
#endif
#ifdef _OPENMP
    /* the engine's own loops and oneDNN's kernels run on the OpenMP runtime */
    omp_set_num_threads(n);
#endif
}

int nn_gemm_serial_begin(void)
{
#ifdef ES_HAVE_BLAS
    int saved = openblas_get_num_threads();
    if (saved != 1) openblas_set_num_threads(1);
    return saved;
#else
    return 1;
#endif
}

void nn_gemm_serial_end(int saved)
{
#ifdef ES_HAVE_BLAS
    if (saved != 1) openblas_set_num_threads(saved);
#else
    (void)saved;
#endif
}
