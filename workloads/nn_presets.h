/* nn_presets.h - the built-in networks of the study, each built for an input shape (1x28x28
 * Fashion-MNIST, 3x32x32 CIFAR, ...) and a class count. Every builder returns a finalized
 * network with its initialisation options set but its parameters still zero: call
 * nn_net_init_params(net, seed) next. Layer names follow the PyTorch module that defines each
 * network, so exported weights load into it by name. */
#ifndef NN_PRESETS_H
#define NN_PRESETS_H

#include "es_common.h"
#include "nn_net.h"

/* LeNet-5 as ../shared/bench/pytorch_peer.py: conv1 6@5x5 pad 2, ReLU, maxpool 2, conv2
 * 16@5x5, ReLU, maxpool 2, flatten, fc1 120, ReLU, fc2 84, ReLU, fc3 classes; all with bias.
 * 61,706 parameters for 1x28x28 and 10 classes. Init: Kaiming-normal (fan_in) conv, PyTorch
 * default fc. (The peer leaves its conv layers at PyTorch's default uniform too; set
 * NN_INIT_TORCH_DEFAULT for conv with nn_net_set_init to match it exactly.) */
int nn_preset_lenet5(nn_shape in, int classes, nn_net **out, es_err *err);

/* CIFAR ResNet (He et al. 2016, section 4.2) of depth 6n + 2 (20, 32, 56, 110...): conv 16@3x3
 * (no bias), bn, ReLU, three stages of n basic blocks with 16, 32, 64 channels (stride 2 at
 * the first block of stages 2 and 3), global average pooling, fc classes (bias). Names as
 * pytorch_peer.py's ResNet20: "conv", "bn", "layers.<i>.conv1" ... "layers.<i>.bn2",
 * option B shortcuts "layers.<i>.shortcut.0/1", "fc". Init: Kaiming-normal (fan_in) for conv
 * and fc, as the peer. ResNet-20 option A has 269,434 parameters for 1x28x28 and 10 classes
 * (269,722 for 3x32x32); option B (projection) 272,474 for 3x32x32.
 * ES_ECONFIG for a depth that is not 6n + 2. */
int nn_preset_resnet(int depth, nn_shortcut sc, nn_shape in, int classes, nn_net **out,
                     es_err *err);

/* VGG-8 as in DNN+NeuroSim V2.1 (Training_pytorch/cifar/model.py, the network of its
 * on-chip training study): conv 128, 128, maxpool, 256, 256, maxpool, 512, 512, maxpool
 * (3x3, padding 1, no bias, ReLU after each conv; 2x2 pooling), flatten, fc 1024 (no bias),
 * ReLU, fc classes (no bias); no batch norm. Names as that module: "features.0",
 * "features.2", "features.5", "features.7", "features.10", "features.12", "classifier.0",
 * "classifier.2". 12,973,440 parameters for 3x32x32 and 10 classes (fc1 has 8192 inputs);
 * 1x28x28 gives a 512x3x3 map (fc1 4608 inputs, 9,301,120 parameters). Init: Kaiming-normal
 * (fan_in) conv, PyTorch default fc. */
int nn_preset_vgg8(nn_shape in, int classes, nn_net **out, es_err *err);

/* Multi-layer perceptron: flatten, then "fc1".."fc<nh>" with ReLU for each of the nh hidden
 * sizes, then "fc<nh+1>" with `classes` outputs; all with bias, PyTorch default init.
 * nn_preset_create("mlp") uses hidden = {256, 128}: 235,146 parameters for 1x28x28, 10 classes. */
int nn_preset_mlp(nn_shape in, const int *hidden, int nh, int classes, nn_net **out, es_err *err);

/* By name: "lenet5", "resnet20", "resnet32", "resnet56" (option A), "resnet20b" (option B),
 * "vgg8", "mlp". ES_ECONFIG naming the known presets for an unknown name. */
int nn_preset_create(const char *name, nn_shape in, int classes, nn_net **out, es_err *err);
/* The names nn_preset_create accepts: how many, the i-th (NULL past the end), and all of them
 * joined by sep into buf (for help texts and messages). */
size_t nn_preset_count(void);
const char *nn_preset_name(size_t i);
void nn_preset_list(char *buf, size_t len, const char *sep);

#endif
