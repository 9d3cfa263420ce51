/* nn_xbar.h - the accuracy models of the crossbar layers (accuracy.model): how a conv or fc
 * layer's products come out of ReRAM crossbars instead of float32. nn_net runs its conv and
 * fc nodes through these functions when a network's model is not `ideal`; the ideal path does
 * not touch them.
 *
 *   quantized  weights to weight_bits (one power-of-two scale per layer, symmetric), the
 *              vectors entering a crossbar (layer inputs forward, errors backward) to
 *              input_bits with one power-of-two scale per sample (unsigned when the sample has
 *              no negative value, else two's complement), then the float kernels on those
 *              values: with power-of-two scales every product is exact, and so is every sum
 *              that fits float's 24-bit mantissa (then it equals bit-exact with an ADC that
 *              cannot clip, which the tests check);
 *   bit-exact  the same quantization, then xmvm.h's integer crossbar arithmetic per vector
 *              (bit-serial inputs, weight slices, ADC per column sum, shift-and-add), forward
 *              on W and backward on W^T.
 * The weight gradient is digital in both (dy_q x^T in float; the straight-through estimator:
 * the float weights the optimizer updates are what the crossbars are programmed from). The
 * layer outputs are what shift-and-add gives, integer x power of two, held as float. */
#ifndef NN_XBAR_H
#define NN_XBAR_H

#include <stddef.h>
#include <stdint.h>

#include "es_common.h"
#include "cellvar.h"
#include "nn_layers.h"
#include "rng.h"
#include "xmvm.h"

typedef enum { NN_XBAR_IDEAL = 0, NN_XBAR_QUANTIZED = 1, NN_XBAR_BIT_EXACT = 2 } nn_xbar_model;

typedef struct nn_xbar_config {
    nn_xbar_model model;
    xmvm_config xc; /* bits, rows, ADC, encoding (quantized uses the weight and input bits) */
    cellvar_config cells; /* programming error and read noise (quantized only; zero sigmas:
                             none) */
    uint64_t seed;        /* of the streams "cell.program/<layer>" and "cell.read/<layer>" */
} nn_xbar_config;

/* The smallest power of two s with maxabs <= qmax s (1 for an all-zero or non-finite max). */
float nn_xq_scale(float maxabs, double qmax);
/* Fake-quantize n samples of `per` floats each to `bits`: y = q s with q an integer of the
 * sample's range (see above); scale[i] and is_signed[i] receive each sample's s and sign mode.
 * x and y may be the same array. */
void nn_xq_samples(const float *x, int n, size_t per, int bits, float *y, float *scale,
                   uint8_t *is_signed);
/* Quantize weights to `bits` (symmetric, one power-of-two scale, returned): wq = q s and,
 * when qi is non-NULL, the integers q. */
float nn_xq_weights(const float *w, size_t len, int bits, float *wq, int32_t *qi);

/* The cells of one layer's weights (every slice of every weight, both signs when
 * differential): their target levels, last programmed levels and programming errors. */
typedef struct nn_xcells nn_xcells;
int nn_xcells_create(size_t numel, const xmvm_config *xc, nn_xcells **out, es_err *err);
void nn_xcells_destroy(nn_xcells *c);
/* Program the integer weights qi (scale s) into the cells (new errors where a level changed,
 * from `prog`) and read them back (noise from `rd`): wq = what the crossbar multiplies with,
 * in weight units. */
void nn_xcells_weights(nn_xcells *c, const xmvm_config *xc, const cellvar_config *cv,
                       const int32_t *qi, float s, rng_stream *prog, rng_stream *rd, float *wq);

/* Bit-exact convolution (fc = a 1 x 1 convolution of a 1 x 1 image), NCHW only.
 * forward:  y = s_x s_w W x_int + b for every sample, x given fake-quantized (xq, scale,
 *           is_signed as nn_xq_samples gives them); w: W packed (cout x cin k k).
 * backward: dx (+)= s_dy s_w W^T dy_int through wt (W^T packed, cin k k x cout), col2im.
 * Threads over the samples when called outside a parallel region. ES_ENOMEM on failure. */
int nn_xbar_conv_forward(const nn_conv_desc *d, int n, const float *xq, const float *scale,
                         const uint8_t *is_signed, const xmvm_mat *w, float ws, const float *b,
                         float *y, es_err *err);
int nn_xbar_conv_backward_data(const nn_conv_desc *d, int n, const float *dyq,
                               const float *scale, const uint8_t *is_signed,
                               const xmvm_mat *wt, float ws, float *dx, int accum, es_err *err);

#endif
