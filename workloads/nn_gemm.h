/* nn_gemm.h - the single-precision matrix product every layer of the training engine calls.
 * One interface, two implementations: OpenBLAS cblas_sgemm when the build found it
 * (ES_HAVE_BLAS), else a portable cache-blocked C kernel. Both are always compiled so the
 * tests can check the portable one. Sits at the bottom of workloads/: depends on nothing. */
#ifndef NN_GEMM_H
#define NN_GEMM_H

/* Transpose flags for nn_sgemm. */
enum { NN_NOTRANS = 0, NN_TRANS = 1 };

/* C = alpha * op(A) * op(B) + beta * C, every matrix row-major (BLAS CblasRowMajor
 * semantics). op(A) is m x k, op(B) is k x n, C is m x n. lda/ldb/ldc are the row strides
 * of the matrices as stored: A is m x k (lda >= k) when transa == NN_NOTRANS, else k x m
 * (lda >= m); likewise B. beta == 0 overwrites C without reading it (NaNs in C do not
 * propagate). m, n or k of 0 is fine. Not reentrant-safe with respect to the thread count
 * only: the call itself may be made from several threads. */
void nn_sgemm(int transa, int transb, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc);

/* The portable blocked kernel behind nn_sgemm when OpenBLAS is absent; same contract.
 * Exposed so tests (and a user comparing backends) can call it directly. Single-threaded. */
void nn_sgemm_portable(int transa, int transb, int m, int n, int k, float alpha, const float *a,
                       int lda, const float *b, int ldb, float beta, float *c, int ldc);

/* "openblas" or "portable": the implementation nn_sgemm uses in this build. */
const char *nn_gemm_backend_name(void);

/* Number of threads the engine may use (n >= 1): OpenBLAS's, and the OpenMP runtime's that
 * runs the layer loops and oneDNN (set from the calling thread). No effect on the portable
 * kernel. Results are deterministic for a given thread count. */
void nn_gemm_set_threads(int n);

/* Make nn_sgemm single-threaded (for calls from several threads at once, each on its own
 * data) until nn_gemm_serial_end(the returned value) restores the previous setting. */
int nn_gemm_serial_begin(void);
void nn_gemm_serial_end(int saved);

#endif
