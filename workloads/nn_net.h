/* nn_net.h - a trainable network: layers built programmatically into a small graph (a chain
 * with residual branches), shape inference, named parameters and gradients, forward (logits
 * and softmax cross-entropy loss) and backward. Sits above nn_layers.h; the optimizer
 * (nn_sgd.h), the presets (nn_presets.h), the trainer and the crossbar compiler use it.
 *
 * Life cycle:
 *   nn_net_create(input shape)  ->  nn_add_* ...  ->  nn_net_finalize
 *   -> nn_net_init_params(seed) -> nn_net_reserve(batch) (optional; forward does it on demand)
 *   -> per step: nn_net_forward(x, n, labels, training) ; nn_net_backward ; optimizer step.
 * Every buffer of a step (activations, gradients, the convolution scratch) is allocated by
 * nn_net_reserve for a batch capacity; a step with n <= capacity never allocates, except that
 * the oneDNN convolution backend builds its kernels on first use of a batch size other than the
 * capacity (and keeps the last two).
 *
 * Execution and threads (nn_gemm_set_threads): nn_net_reserve lays activations out in oneDNN's
 * blocked layout where the backend takes it (see nn_layout), and fuses a ReLU into the batch
 * norm or addition before it. A network without batch norm whose convolutions are all NCHW
 * (LeNet-5) runs batch-parallel: each thread runs the whole network on its slice of the batch
 * with single-threaded kernels (decided at nn_net_reserve from the thread count then). Same
 * seed, inputs and thread count give byte-identical results.
 *
 * Parameters are named like PyTorch's state_dict ("conv1.weight", "layers.0.bn1.bias",
 * "fc.bias", "bn.running_mean") and flagged `mapped` when they are conv / fc weight matrices,
 * the tensors that live in ReRAM crossbars; biases, batch-norm parameters and statistics are
 * digital. */
#ifndef NN_NET_H
#define NN_NET_H

#include <stddef.h>
#include <stdint.h>

#include "es_common.h"
#include "nn_layers.h"

typedef struct nn_net nn_net;

/* Longest layer name (bytes, without the NUL); parameter names add ".running_mean" at most. */
#define NN_NAME_MAX 95

typedef enum {
    NN_OP_INPUT, /* node 0: the batch given to nn_net_forward */
    NN_OP_CONV,  /* 2-D convolution, square kernel */
    NN_OP_BN,    /* batch normalisation over (N, H, W) per channel */
    NN_OP_RELU,
    NN_OP_MAXPOOL,
    NN_OP_AVGPOOL,
    NN_OP_GAP,        /* global average pooling: C x H x W -> C x 1 x 1 */
    NN_OP_FLATTEN,    /* C x H x W -> (C H W) x 1 x 1 */
    NN_OP_FC,         /* fully connected; needs a flat (C x 1 x 1) input */
    NN_OP_ADD,        /* element-wise sum of two nodes of equal shape (residual addition) */
    NN_OP_SHORTCUT_A, /* option-A shortcut: strided subsample + zero-padded channels */
} nn_op;

/* Residual shortcut kinds for nn_add_basic_block. */
typedef enum {
    NN_SHORTCUT_A, /* parameter-free: x[:, :, ::s, ::s] with zero channels (He et al. CIFAR) */
    NN_SHORTCUT_B, /* projection: 1x1 conv (stride s, no bias) + batch norm */
} nn_shortcut;

/* Weight initialisations (biases always use PyTorch's default, uniform(+-1/sqrt(fan_in));
 * batch norm starts at gamma = 1, beta = 0, running mean 0, running variance 1). */
typedef enum {
    NN_INIT_KAIMING_FAN_IN,  /* normal(0, sqrt(2 / fan_in)), fan_in = cin k k (or in) */
    NN_INIT_KAIMING_FAN_OUT, /* normal(0, sqrt(2 / fan_out)), fan_out = cout k k (or out) */
    NN_INIT_TORCH_DEFAULT,   /* uniform(+-1/sqrt(fan_in)): PyTorch's default for Conv2d, Linear */
} nn_init_kind;

typedef struct nn_init_opts {
    nn_init_kind conv; /* default NN_INIT_KAIMING_FAN_IN */
    nn_init_kind fc;   /* default NN_INIT_TORCH_DEFAULT */
} nn_init_opts;

/* One parameter or buffer. Owned by the network; the pointer and the arrays stay valid until
 * nn_net_destroy (the array of descriptors may move while layers are still being added). */
typedef struct nn_param {
    const char *name; /* "conv1.weight", "layers.3.bn2.bias", "fc.bias", "bn.running_var" */
    float *data;
    float *grad; /* dL/d(data) after nn_net_backward; NULL for buffers */
    size_t numel;
    int ndim; /* shape as PyTorch's: conv weight cout x cin x k x k, fc weight out x in */
    int shape[4];
    int mapped;    /* 1: conv / fc weight, stored in ReRAM crossbars; 0: digital */
    int trainable; /* 0: a buffer (batch-norm running statistics), not optimised */
    /* mapped only: the crossbar view W (rows x cols), rows = fan-in (cin k k, or in) on the
     * wordlines, cols = output channels on the bitlines. Memory is PyTorch's layout, i.e. W
     * transposed: W[r][j] is data[j * rows + r]. 0 for digital parameters. */
    int rows, cols;
    int node; /* index of the owning layer node */
} nn_param;

/* Read-only description of one node, for the compiler and for reports. */
typedef struct nn_node_info {
    nn_op op;
    const char *name;
    int nin, in[2];    /* input node indices */
    nn_shape in_shape; /* shape of in[0] (zero for the input node) */
    nn_shape out_shape;
    int k, stride, pad; /* conv and pooling windows */
    int bias;           /* conv / fc with a bias vector */
    int weight_param;   /* index of the conv / fc weight (nn_net_param), or -1 */
} nn_node_info;

/* ---- building ---------------------------------------------------------------------------- */

/* Create a network whose samples have shape `in` (e.g. 1x28x28). Node 0 is the input and the
 * current tip. ES_ECONFIG for an empty shape, ES_ENOMEM. */
int nn_net_create(nn_shape in, nn_net **out, es_err *err);
/* Free the network and every buffer; NULL is fine. */
void nn_net_destroy(nn_net *net);

/* Each nn_add_* appends one node reading the current tip (unless said otherwise), makes it
 * the new tip and returns its node index (>= 1), or a negative es_status: ES_ECONFIG for
 * a shape mismatch or an impossible size (the message names the layer and the shapes),
 * ES_EINVAL for a duplicate or overlong name, ES_ESTATE after nn_net_finalize, ES_ENOMEM.
 * A failed add leaves the network unchanged. `name` is the layer's name, the prefix of its
 * parameter names; NULL picks "<op><node index>" (e.g. "relu7"). Parameters are created (and
 * zeroed) by the add; nn_net_init_params gives them their initial values. */
int nn_add_conv(nn_net *net, const char *name, int cout, int k, int stride, int pad, int bias,
                es_err *err);
int nn_add_bn(nn_net *net, const char *name, es_err *err); /* momentum 0.1, eps 1e-5 */
int nn_add_relu(nn_net *net, const char *name, es_err *err);
int nn_add_maxpool(nn_net *net, const char *name, int k, int stride, int pad, es_err *err);
int nn_add_avgpool(nn_net *net, const char *name, int k, int stride, int pad, es_err *err);
int nn_add_gap(nn_net *net, const char *name, es_err *err);
int nn_add_flatten(nn_net *net, const char *name, es_err *err);
int nn_add_fc(nn_net *net, const char *name, int out, int bias, es_err *err);
/* Sum of nodes a and b (any earlier nodes, same shape). */
int nn_add_sum(nn_net *net, const char *name, int a, int b, es_err *err);
/* Option-A shortcut of the tip to cout >= cin channels and the given stride. */
int nn_add_shortcut_a(nn_net *net, const char *name, int cout, int stride, es_err *err);
/* A CIFAR ResNet basic block on the tip: prefix.conv1 (3x3, stride, no bias), prefix.bn1,
 * relu, prefix.conv2 (3x3), prefix.bn2, plus the shortcut (identity when stride == 1 and the
 * channel count is kept, else option A, or option B as prefix.shortcut.0 (1x1 conv) and
 * prefix.shortcut.1 (bn)), sum, relu. Returns the final relu's node index. */
int nn_add_basic_block(nn_net *net, const char *prefix, int cout, int stride, nn_shortcut sc,
                       es_err *err);

/* The current tip (the node the next add reads). */
int nn_net_tip(const nn_net *net);
/* Make an earlier node the tip, to start a branch. ES_EINVAL for an unknown node. */
int nn_net_set_tip(nn_net *net, int node, es_err *err);
/* Output shape of a node (zero shape for an unknown index). */
nn_shape nn_net_node_shape(const nn_net *net, int node);

/* Close the graph: the tip becomes the output (it must be flat, C x 1 x 1: C is the class
 * count) and every other node must feed a later one. Plans buffer reuse. ES_ECONFIG with a
 * message otherwise. After this, no more adds. */
int nn_net_finalize(nn_net *net, es_err *err);
/* Plan folds that change no result bit (on by default) for networks finalized from now on: a
 * ReLU folded into the max pooling that is its only consumer, and an addition's two equal
 * input gradients written once. Off only to measure or test them. */
void nn_net_set_fusions(int on);

/* Initialisation used by nn_net_init_params (presets set their own; see nn_presets.h). */
void nn_net_set_init(nn_net *net, const nn_init_opts *opts);
/* Draw every parameter's initial value. Each parameter has its own random stream, named
 * "nn.init/<parameter name>" under `seed` (see rng.h), so adding a layer never changes the
 * initial values of another. Resets batch-norm statistics. */
void nn_net_init_params(nn_net *net, uint64_t seed);

/* Use another convolution implementation for every conv layer (before nn_net_reserve, or it
 * is re-reserved). The table is borrowed and must outlive the network. */
int nn_net_set_conv_backend(nn_net *net, const nn_conv_backend *backend, es_err *err);

struct nn_xbar_config;
/* Run the conv and fc layers under an accuracy model (nn_xbar.h; copied). NN_XBAR_IDEAL, the
 * default, is the float32 path. Re-reserves like nn_net_set_conv_backend. ES_ECONFIG when
 * the crossbar numbers are out of range. */
int nn_net_set_xbar(nn_net *net, const struct nn_xbar_config *c, es_err *err);

/* ---- running ----------------------------------------------------------------------------- */

/* Allocate every buffer for batches of up to max_n samples (a no-op when the capacity is
 * already enough). ES_ESTATE before finalize, ES_ENOMEM. */
int nn_net_reserve(nn_net *net, int max_n, es_err *err);

/* Forward pass over n samples x (n x C x H x W, NCHW), borrowed until the next forward (the
 * backward pass reads it again). training = 1 uses batch statistics in batch norm and updates
 * the running statistics; 0 uses the running statistics. labels (n values in [0, classes))
 * may be NULL: no loss then, and no backward. *loss (may be NULL) receives the mean softmax
 * cross-entropy. Reserves on demand when n exceeds the capacity (an allocation, and every
 * buffer grows: evaluate a large test set in batches of the training size instead). */
int nn_net_forward(nn_net *net, const float *x, int n, const int32_t *labels, int training,
                   double *loss, es_err *err);
/* Backward pass of the last forward (which had labels): fills every trainable parameter's
 * grad (overwritten, not accumulated). ES_ESTATE without such a forward. */
int nn_net_backward(nn_net *net, es_err *err);

/* Per-node host time (bench_train --profile): when on, every forward and backward pass adds
 * each node's wall time (of the first slice, in batch-parallel mode) to its counters; turning
 * it on or off resets them. nn_net_profile reads node i's seconds; -1 when i is out of range. */
void nn_net_set_profile(nn_net *net, int on);
int nn_net_profile(const nn_net *net, int i, double *fwd_s, double *bwd_s);

/* Logits of the last forward (n x classes), valid until the next forward. */
const float *nn_net_logits(const nn_net *net);
int nn_net_classes(const nn_net *net);
nn_shape nn_net_input_shape(const nn_net *net);

/* ---- parameters and structure --------------------------------------------------------------- */

int nn_net_num_params(const nn_net *net);
/* Parameter i in creation order (layer order; weight, bias; BN: weight (gamma), bias (beta),
 * running_mean, running_var), or NULL. */
const nn_param *nn_net_param(const nn_net *net, int i);
/* Index of the parameter with that name, or -1. */
int nn_net_param_find(const nn_net *net, const char *name);
/* Scalars in all trainable parameters (what PyTorch's sum(p.numel() for p in parameters())
 * counts); with buffers = 1, batch-norm running statistics too. */
size_t nn_net_param_total(const nn_net *net, int buffers);
/* Scalars in the mapped (crossbar) weights only. */
size_t nn_net_mapped_total(const nn_net *net);

int nn_net_num_nodes(const nn_net *net);
/* Describe node i. ES_EINVAL for an unknown index. */
int nn_net_node_info(const nn_net *net, int i, nn_node_info *out);
/* "conv", "bn", "relu", ... */
const char *nn_op_name(nn_op op);

#endif
