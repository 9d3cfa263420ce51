/* nn_layers.h - float32 layer kernels of the training engine, forward and backward.
 * Plain functions over caller-owned arrays (no allocation, no state of their own), so the
 * network object (nn_net.h) can plan every buffer once per batch size and the tests can check
 * each kernel alone. Tensors are NCHW, batch-major, contiguous: element (n, c, y, x) of an
 * N x C x H x W tensor is at ((n * C + c) * H + y) * W + x. Convolutions go through a backend
 * table (nn_conv_backend) so the im2col + sgemm implementation here can be swapped (oneDNN)
 * behind the same layer API.
 *
 * Backward conventions: `accum` = 0 overwrites the input gradient dx, 1 adds to it (a tensor
 * read by several layers sums their gradients). Parameter gradients are always overwritten
 * (each parameter belongs to exactly one layer). */
#ifndef NN_LAYERS_H
#define NN_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "es_common.h"

/* Shape of one sample (channels, height, width). A flat vector of n features is n x 1 x 1. */
typedef struct nn_shape {
    int c, h, w;
} nn_shape;

/* Elements of one sample of shape s. */
static inline size_t nn_shape_size(nn_shape s)
{
    return (size_t)s.c * (size_t)s.h * (size_t)s.w;
}

/* Output length of a convolution or pooling window sweep: floor((in + 2 pad - k) / stride) + 1,
 * or 0 when the window does not fit even once. */
int nn_window_out(int in, int k, int stride, int pad);

/* ---- activation layouts --------------------------------------------------------------------- */

/* How a network stores an activation tensor. NCHW is the default everywhere. NN_LAYOUT_B16 is
 * oneDNN's nChw16c for C a multiple of 16: N x (C/16) x H x W x 16, i.e. element (n, c, y, x)
 * at (((n * C/16 + c/16) * H + y) * W + x) * 16 + c % 16. A network keeps it end to end between
 * the layers that accept it (convolution when the backend does, batch norm, ReLU, addition,
 * option-A shortcut, global average pooling) so a blocked convolution backend needs no
 * reorders; element-wise layers do not care which layout they see. A flat tensor (H = W = 1)
 * is the same array in both layouts. */
typedef enum { NN_LAYOUT_NCHW = 0, NN_LAYOUT_B16 = 1 } nn_layout;

#define NN_B16 16

/* Convert one batch between the layouts (c % 16 == 0 for B16; src and dst must not overlap). */
void nn_nchw_to_b16(const float *x, int n, int c, int hw, float *y);
void nn_b16_to_nchw(const float *x, int n, int c, int hw, float *y);

/* ---- convolution -------------------------------------------------------------------------- */

/* Geometry of one 2-D convolution (square kernel, same stride and padding in both axes). */
typedef struct nn_conv_desc {
    int cin, h, w; /* input sample */
    int cout, k;   /* output channels, kernel side */
    int stride, pad;
    int ho, wo; /* output plane, filled by nn_conv_desc_init */
    int bias;   /* 1 if the layer has a bias vector */
    /* layouts of x / dx and of y / dy (nn_conv_desc_init: NCHW; a network sets them before
     * prepare, only to layouts the backend lists in its `layouts` mask) */
    nn_layout src_layout, dst_layout;
} nn_conv_desc;

/* Fill d and check it: all sizes positive, pad >= 0, pad < k, and the kernel fits the padded
 * input. Returns ES_OK or ES_ECONFIG with a message naming the offending size. */
int nn_conv_desc_init(nn_conv_desc *d, int cin, int h, int w, int cout, int k, int stride, int pad,
                      int bias, es_err *err);

/* Weight layout (as PyTorch): cout x cin x k x k, i.e. a cout x (cin k k) row-major matrix;
 * bias: cout. */

/* A convolution implementation. All pointers to data are borrowed for the call only.
 * `scratch` is shared by every layer of a network (it never carries data between calls); it
 * holds at least scratch_floats(d, n) floats.
 *   prepare   (may be NULL) build per-layer state for batches of up to max_n images; called
 *             once per layer whenever the network's batch capacity changes, never in a step.
 *   release   (may be NULL) free that state; NULL state is fine.
 *   forward   y = conv(x, w) + b  (b NULL when !d->bias); y is n x cout x ho x wo.
 *   backward  dw = dL/dw, db = dL/db (db NULL when !d->bias), and, when dx is non-NULL,
 *             dx = dL/dx (accum as above). Needs the forward input x again. Data and weight
 *             gradients are one call so an implementation can share the unrolled input and
 *             the reshaped dy between them.
 * forward and backward return ES_OK, or a negative es_status when a backend that builds
 * kernels lazily (oneDNN, for a batch size it has not seen) fails to. */
typedef struct nn_conv_backend {
    int version; /* NN_CONV_BACKEND_VERSION */
    const char *name;
    unsigned layouts; /* bit (1u << nn_layout) for every layout forward/backward accept */
    unsigned flags;   /* NN_CONV_SLICES */
    size_t (*scratch_floats)(const nn_conv_desc *d, int n);
    int (*prepare)(const nn_conv_desc *d, int max_n, void **state, es_err *err);
    void (*release)(void *state);
    int (*forward)(void *state, const nn_conv_desc *d, int n, const float *x, const float *w,
                   const float *b, float *y, float *scratch);
    int (*backward)(void *state, const nn_conv_desc *d, int n, const float *x, const float *w,
                    const float *dy, float *dx, int accum, float *dw, float *db, float *scratch);
} nn_conv_backend;

#define NN_CONV_BACKEND_VERSION 2

/* Backend flag: for layers with NCHW input and output, forward and backward may run at the
 * same time from several threads on disjoint slices of a batch (each with its own scratch),
 * calling nn_sgemm single-threaded. Networks use it for batch-parallel execution. */
#define NN_CONV_SLICES 1u

/* im2col + sgemm over a chunk of the batch (as many images as fit a scratch budget of about
 * 16 Mi floats, at least one): one sgemm per chunk for the forward pass, one for the weight
 * gradient and one for the data gradient (then col2im). */
extern const nn_conv_backend nn_conv_backend_gemm;

/* The backend a new network uses: oneDNN (nn_dnnl.h) when the build has it, else gemm. */
const nn_conv_backend *nn_conv_backend_default(void);
/* A backend by name ("gemm", "dnnl"), or NULL when unknown or not built in. */
const nn_conv_backend *nn_conv_backend_find(const char *name);

/* Unroll one image x (cin x h x w) into the (cin k k) x (ho wo) column matrix used by the gemm
 * backend: row (c, ky, kx), column (oy, ox) holds x[c][oy s - pad + ky][ox s - pad + kx] or 0
 * outside the image. Rows are ldcol floats apart (ldcol >= ho wo), so several images can sit
 * side by side in one matrix. */
void nn_im2col(const nn_conv_desc *d, const float *x, float *col, size_t ldcol);
/* The adjoint of nn_im2col: adds every column entry back onto the image position it came from. */
void nn_col2im_add(const nn_conv_desc *d, const float *col, size_t ldcol, float *x);

/* ---- batch normalisation (per channel over N, H, W) ---------------------------------------- */

/* Training mode: normalise with the batch mean and biased variance, y = gamma xhat + beta;
 * save_mean / save_invstd (C each) receive the statistics the backward pass needs; running
 * statistics are updated as r = (1 - momentum) r + momentum b, with the unbiased variance for
 * running_var (PyTorch semantics; momentum 0.1, eps 1e-5 are PyTorch's defaults). */
void nn_bn_forward_train(const float *x, int n, int c, int hw, const float *gamma,
                         const float *beta, float momentum, float eps, float *running_mean,
                         float *running_var, float *y, float *save_mean, float *save_invstd);
/* Inference mode: normalise with the running statistics; also fills save_mean / save_invstd
 * (from the running statistics) so nn_bn_backward applies to this mode too. */
void nn_bn_forward_infer(const float *x, int n, int c, int hw, const float *gamma,
                         const float *beta, float eps, const float *running_mean,
                         const float *running_var, float *y, float *save_mean, float *save_invstd);
/* Backward. training = 1: through the batch statistics (the mode used by a training step);
 * training = 0: statistics are constants (after nn_bn_forward_infer). x is the forward input. */
void nn_bn_backward(const float *x, const float *dy, int n, int c, int hw, const float *gamma,
                    const float *save_mean, const float *save_invstd, int training, float *dx,
                    int accum, float *dgamma, float *dbeta);

/* Batch norm over either layout (c % 16 == 0 for B16), threaded, same semantics as the three
 * functions above; results do not depend on the thread count. relu = 1 fuses a ReLU after the
 * normalisation (y = max(bn(x), 0)); in the backward pass relu_y (non-NULL) is that fused
 * ReLU's output, dy is then the gradient of the ReLU's output and flows only where relu_y > 0.
 * work: NN_BN_WORK_DOUBLES(n, c) doubles of caller scratch. */
#define NN_BN_WORK_DOUBLES(n, c) (2 * (size_t)(n) * (size_t)(c) + 3 * (size_t)(c))
void nn_bn_forward_train_ex(const float *x, int n, int c, int hw, nn_layout lay,
                            const float *gamma, const float *beta, float momentum, float eps,
                            float *running_mean, float *running_var, float *y, float *save_mean,
                            float *save_invstd, int relu, double *work);
void nn_bn_forward_infer_ex(const float *x, int n, int c, int hw, nn_layout lay,
                            const float *gamma, const float *beta, float eps,
                            const float *running_mean, const float *running_var, float *y,
                            float *save_mean, float *save_invstd, int relu);
/* relu_beta: NULL, or beta when a ReLU followed the batch norm (relu = 1 in the forward); its
 * mask is recomputed from x as the forward computed the output, bit for bit. */
void nn_bn_backward_ex(const float *x, const float *dy, const float *relu_beta, int n, int c,
                       int hw, nn_layout lay, const float *gamma, const float *save_mean,
                       const float *save_invstd, int training, float *dx, int accum,
                       float *dgamma, float *dbeta, double *work);

/* ---- element-wise --------------------------------------------------------------------------- */

/* y = max(x, 0); x and y may be the same array. */
void nn_relu_forward(const float *x, float *y, size_t len);
/* dx = dy where y > 0, else 0 (y: the forward output). */
void nn_relu_backward(const float *y, const float *dy, float *dx, size_t len, int accum);
/* y = a + b (residual addition). */
void nn_add_forward(const float *a, const float *b, float *y, size_t len);
/* y = max(a + b, 0): an addition with its ReLU fused. */
void nn_add_relu_forward(const float *a, const float *b, float *y, size_t len);
/* Backward of a fused addition + ReLU: g = dy where y > 0, else 0; da (+)= g and, when db is
 * non-NULL, db (+)= g (accum_a, accum_b as `accum`). da may be NULL too. */
void nn_add_relu_backward(const float *y, const float *dy, float *da, int accum_a, float *db,
                          int accum_b, size_t len);
/* dx (+)= dy: the backward of addition and of flatten. */
void nn_copy_backward(const float *dy, float *dx, size_t len, int accum);

/* ---- pooling -------------------------------------------------------------------------------- */

/* Max pooling, window k, stride, zero-free padding (padded cells never win). y is
 * n x c x ho x wo (ho, wo from nn_window_out); argmax receives, per output, the index of the
 * winning input within its h x w plane. */
void nn_maxpool_forward(const float *x, int n, int c, int h, int w, int k, int stride, int pad,
                        float *y, int32_t *argmax);
void nn_maxpool_backward(const float *dy, const int32_t *argmax, int n, int c, int h, int w, int ho,
                         int wo, float *dx, int accum);
/* The same with a ReLU on its input folded in (relu = 1): max and ReLU commute, so
 * y = max(0, max of the window) and the argmax is the raw input's, which gives the same values
 * and gradients, bit for bit, as a ReLU followed by the pooling. Backward with y (the pooled
 * output): an output whose y is not positive passes no gradient. */
void nn_maxpool_relu_forward(const float *x, int n, int c, int h, int w, int k, int stride,
                             int pad, int relu, float *y, int32_t *argmax);
void nn_maxpool_relu_backward(const float *dy, const int32_t *argmax, const float *y, int n, int c,
                              int h, int w, int ho, int wo, float *dx, int accum);
/* Average pooling; padded cells count as zeros in the k x k divisor (PyTorch's default
 * count_include_pad). */
void nn_avgpool_forward(const float *x, int n, int c, int h, int w, int k, int stride, int pad,
                        float *y);
void nn_avgpool_backward(const float *dy, int n, int c, int h, int w, int k, int stride, int pad,
                         float *dx, int accum);
/* Global average pooling: y (n x c) is the mean of each h w plane. */
void nn_gap_forward(const float *x, int n, int c, int hw, float *y);
void nn_gap_backward(const float *dy, int n, int c, int hw, float *dx, int accum);

/* ---- fully connected ------------------------------------------------------------------------ */

/* y (n x out) = x (n x in) w^T + b; w is out x in (PyTorch layout), b may be NULL. */
void nn_fc_forward(const float *x, int n, int in, const float *w, const float *b, int out,
                   float *y);
/* dw = dy^T x, db = column sums of dy (db may be NULL), dx (+)= dy w when dx is non-NULL. */
void nn_fc_backward(const float *x, const float *dy, int n, int in, const float *w, int out,
                    float *dx, int accum, float *dw, float *db);

/* ---- option-A residual shortcut (He et al. 2016, CIFAR ResNets) ----------------------------- */

/* y = x[:, :, ::stride, ::stride] with the channels zero-padded from cin to cout:
 * (cout - cin) / 2 zero channels before, the rest after (as pytorch_peer.py). y is
 * n x cout x ho x wo with ho = (h - 1) / stride + 1, wo likewise. */
void nn_shortcut_a_forward(const float *x, int n, int cin, int h, int w, int cout, int stride,
                           float *y);
void nn_shortcut_a_backward(const float *dy, int n, int cin, int h, int w, int cout, int stride,
                            float *dx, int accum);

/* The same on the blocked layout (cin, cout multiples of 16). */
void nn_shortcut_a_forward_b16(const float *x, int n, int cin, int h, int w, int cout, int stride,
                               float *y);
void nn_shortcut_a_backward_b16(const float *dy, int n, int cin, int h, int w, int cout,
                                int stride, float *dx, int accum);
/* Global average pooling of a blocked tensor (y, dy: n x c, as for NCHW). */
void nn_gap_forward_b16(const float *x, int n, int c, int hw, float *y);
void nn_gap_backward_b16(const float *dy, int n, int c, int hw, float *dx, int accum);

/* ---- loss and accuracy ---------------------------------------------------------------------- */

/* Softmax cross-entropy, mean over the batch: probs (n x k) receives the softmax of logits
 * (max-subtracted, so large logits do not overflow), *loss the mean of -log p[label]
 * accumulated in double. Labels must be in [0, k): returns ES_ERANGE naming the first
 * offending sample otherwise. */
int nn_softmax_xent_forward(const float *logits, const int32_t *labels, int n, int k, float *probs,
                            double *loss, es_err *err);
/* dlogits = (probs - onehot(label)) / n. */
void nn_softmax_xent_backward(const float *probs, const int32_t *labels, int n, int k,
                              float *dlogits);
/* Samples whose largest logit (first one on ties) is at their label. */
int nn_count_correct(const float *logits, const int32_t *labels, int n, int k);

#endif
