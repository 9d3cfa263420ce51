/* nn_sgd.h - stochastic gradient descent with momentum, Nesterov and weight decay, with
 * PyTorch's torch.optim.SGD semantics (dampening 0):
 *     g' = g + wd w          (L2 weight decay folded into the gradient)
 *     v  = m v + g'          (v starts at 0, so the first step has v = g')
 *     U  = lr v              (Nesterov: U = lr (g' + m v))
 *     w  = w - U
 * The step comes in two pieces, "compute U" and "apply U", because the write-policy
 * controller decides which crossbar row blocks of a mapped weight's U are actually written:
 * the optimizer state (v) always advances, in digital memory, while the weights change only
 * where the policy writes. nn_sgd_step does both, densely, for every parameter.
 *
 * Weight decay: with decay_digital = 1 (the default) every trainable parameter is decayed,
 * biases and batch-norm gamma/beta included, exactly as torch.optim.SGD(model.parameters(),
 * weight_decay=wd) does (what ../shared/bench/pytorch_peer.py runs); with 0 only mapped
 * weights are. Batch-norm running statistics are buffers and never touched. */
#ifndef NN_SGD_H
#define NN_SGD_H

#include <stddef.h>

#include "es_common.h"
#include "nn_net.h"

typedef struct nn_sgd nn_sgd;

typedef struct nn_sgd_config {
    float lr;
    float momentum;     /* 0: plain SGD */
    float weight_decay; /* >= 0 */
    int nesterov;       /* 1 needs momentum > 0 */
    int decay_digital;  /* 1: decay biases and BN parameters too (PyTorch); 0: mapped only */
} nn_sgd_config;

/* lr 0.1, momentum 0.9, weight decay 0, no Nesterov, decay_digital 1. */
void nn_sgd_config_default(nn_sgd_config *cfg);

/* An optimizer over every trainable parameter of net (borrowed; it must outlive the
 * optimizer and be finalized). Velocities start at zero. ES_ECONFIG for a negative rate,
 * momentum outside [0, 1), negative decay, or Nesterov without momentum; ES_ENOMEM. */
int nn_sgd_create(const nn_sgd_config *cfg, nn_net *net, nn_sgd **out, es_err *err);
void nn_sgd_destroy(nn_sgd *opt);

/* The learning rate of the next steps (schedules call this between steps). */
void nn_sgd_set_lr(nn_sgd *opt, float lr);
float nn_sgd_lr(const nn_sgd *opt);

/* Piece 1, for parameter i of the network (nn_net_param index): advance its velocity with its
 * current gradient and write the update U (numel floats, the parameter's own layout) such that
 * the new weights are w - U. Weights are not touched. Call at most once per parameter and
 * step. ES_EINVAL for a buffer or an unknown index. */
int nn_sgd_compute_update(nn_sgd *opt, int param, float *update);
/* Piece 2: w[i] -= scale * update[i] for i < n. The policy applies the blocks it writes
 * (scale 1, or 1/p for an unbiased rescaled update); unwritten weights keep their values. */
void nn_sgd_apply_update(float *w, const float *update, size_t n, float scale);
/* Both pieces for every trainable parameter, fused (no update buffer): a dense SGD step. */
void nn_sgd_step(nn_sgd *opt);

/* The velocity of parameter i (numel floats; NULL for buffers), to save and restore it. */
float *nn_sgd_velocity(nn_sgd *opt, int param);

#endif
