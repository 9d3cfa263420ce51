/* nn_direct.h - direct (no im2col) convolution for small stride-1 NCHW layers, such as
 * LeNet-5's: the gemm backend hands them here (nn_layers.c). Same contract as a backend's
 * forward and backward (nn_layers.h), single-threaded, safe to run concurrently on slices of a
 * batch with separate scratch. */
#ifndef NN_DIRECT_H
#define NN_DIRECT_H

#include <stddef.h>
#include <stdint.h>

#include "nn_layers.h"

/* 1 when the direct kernels do this layer: stride 1, NCHW in and out, output and input rows of
 * at most 32 columns using at least 10 of each 16 vector lanes, cin k k <= 160, cout <= 32. */
int nn_direct_ok(const nn_conv_desc *d);
/* Which of these kernels run, for every layer from now on: NN_DIRECT_CONV | NN_DIRECT_POOL
 * (the default), or fewer, for benchmarks measuring them against the portable paths, and
 * tests. Only where the CPU has AVX-512F and FMA do they run at all. */
enum { NN_DIRECT_CONV = 1, NN_DIRECT_POOL = 2 };
void nn_direct_set_enabled(int mask);
size_t nn_direct_scratch_floats(const nn_conv_desc *d, int n);
void nn_direct_forward(const nn_conv_desc *d, int n, const float *x, const float *w,
                       const float *b, float *y, float *scratch);
void nn_direct_backward(const nn_conv_desc *d, int n, const float *x, const float *w,
                        const float *dy, float *dx, int accum, float *dw, float *db,
                        float *scratch);

/* 2 x 2 max pooling at stride 2 over `planes` planes of h x w (even sides), with the ReLU
 * before it folded in (relu = 1), as nn_maxpool_relu_forward and (not accumulating)
 * nn_maxpool_relu_backward compute it, bit for bit. 0 when the CPU lacks AVX-512 or the
 * kernels are off: the caller then runs the portable loops. */
int nn_direct_maxpool2_forward(const float *x, size_t planes, int h, int w, int relu, float *y,
                               int32_t *argmax);
int nn_direct_maxpool2_backward(const float *dy, const int32_t *argmax, const float *y,
                                size_t planes, int h, int w, float *dx);

#endif
