/* nn_par.h - the training engine's thread-level parallelism: OpenMP work-sharing pragmas that
 * compile away in a build without OpenMP. Every parallel loop of the engine writes disjoint
 * outputs or per-item partial results that are then reduced serially in a fixed order, so the
 * results never depend on the scheduling (and, for the layer kernels, not on the thread count). */
#ifndef NN_PAR_H
#define NN_PAR_H

#ifdef _OPENMP
#include <omp.h>
#define NN_PRAGMA(x) _Pragma(#x)
/* A static-schedule parallel for over the next loop when cond holds. */
#define NN_PAR_FOR_IF(cond) NN_PRAGMA(omp parallel for schedule(static) if (cond))
static inline int nn_par_threads(void)
{
    return omp_get_max_threads();
}
#else
#define NN_PAR_FOR_IF(cond)
static inline int nn_par_threads(void)
{
    return 1;
}
#endif

/* Hot memory-bound kernels get an AVX-512 clone picked at load time (the build's baseline is
 * plain x86-64). Without -ffast-math and with -std=c11 (no FMA contraction) every clone
 * computes bit-identical results. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && __GNUC__ >= 11 &&        \
    !defined(ES_SANITIZERS)
#define NN_SIMD __attribute__((target_clones("arch=x86-64-v4", "default")))
#else
#define NN_SIMD
#endif

/* Element-wise loops shorter than this stay on one thread (a fork costs a few microseconds). */
#define NN_PAR_MIN_ELEMS ((size_t)1 << 15)

#endif
