/* nn_presets.c - the built-in networks (LeNet-5, CIFAR ResNets, NeuroSim's VGG-8, an MLP),
 * written with the nn_net builder. See nn_presets.h for each definition and its source. */
#include "nn_presets.h"

#include <stdio.h>
#include <string.h>

/* Run one builder call; on failure free the half-built network. */
#define P_TRY(expr)                                                                                \
    do {                                                                                           \
        int p_rc_ = (expr);                                                                        \
        if (p_rc_ < 0) {                                                                           \
            nn_net_destroy(net);                                                                   \
            return p_rc_;                                                                          \
        }                                                                                          \
    } while (0)

static int check_classes(int classes, es_err *err)
{
    if (classes < 2) return es_fail(err, ES_ECONFIG, "class count %d must be >= 2", classes);
    return ES_OK;
}

int nn_preset_lenet5(nn_shape in, int classes, nn_net **out, es_err *err)
{
    nn_net *net = NULL;
    *out = NULL;
    ES_TRY(check_classes(classes, err));
    ES_TRY(nn_net_create(in, &net, err));
    P_TRY(nn_add_conv(net, "conv1", 6, 5, 1, 2, 1, err));
    P_TRY(nn_add_relu(net, "relu1", err));
    P_TRY(nn_add_maxpool(net, "pool1", 2, 2, 0, err));
    P_TRY(nn_add_conv(net, "conv2", 16, 5, 1, 0, 1, err));
    P_TRY(nn_add_relu(net, "relu2", err));
    P_TRY(nn_add_maxpool(net, "pool2", 2, 2, 0, err));
    P_TRY(nn_add_flatten(net, "flatten", err));
    P_TRY(nn_add_fc(net, "fc1", 120, 1, err));
    P_TRY(nn_add_relu(net, "relu3", err));
    P_TRY(nn_add_fc(net, "fc2", 84, 1, err));
    P_TRY(nn_add_relu(net, "relu4", err));
    P_TRY(nn_add_fc(net, "fc3", classes, 1, err));
    P_TRY(nn_net_finalize(net, err));
    nn_net_set_init(net, &(nn_init_opts){NN_INIT_KAIMING_FAN_IN, NN_INIT_TORCH_DEFAULT});
    *out = net;
    return ES_OK;
}

int nn_preset_resnet(int depth, nn_shortcut sc, nn_shape in, int classes, nn_net **out, es_err *err)
{
    nn_net *net = NULL;
    *out = NULL;
    if (depth < 8 || (depth - 2) % 6 != 0)
        return es_fail(err, ES_ECONFIG, "ResNet depth %d is not 6n + 2 (20, 32, 56, ...)", depth);
    ES_TRY(check_classes(classes, err));
    const int n = (depth - 2) / 6;
    static const int widths[3] = {16, 32, 64};
    ES_TRY(nn_net_create(in, &net, err));
    P_TRY(nn_add_conv(net, "conv", 16, 3, 1, 1, 0, err));
    P_TRY(nn_add_bn(net, "bn", err));
    P_TRY(nn_add_relu(net, "relu", err));
    int block = 0;
    for (int stage = 0; stage < 3; stage++)
        for (int i = 0; i < n; i++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "layers.%d", block++);
            int stride = (stage > 0 && i == 0) ? 2 : 1;
            P_TRY(nn_add_basic_block(net, prefix, widths[stage], stride, sc, err));
        }
    P_TRY(nn_add_gap(net, "pool", err));
    P_TRY(nn_add_fc(net, "fc", classes, 1, err));
    P_TRY(nn_net_finalize(net, err));
    nn_net_set_init(net, &(nn_init_opts){NN_INIT_KAIMING_FAN_IN, NN_INIT_KAIMING_FAN_IN});
    *out = net;
    return ES_OK;
}

int nn_preset_vgg8(nn_shape in, int classes, nn_net **out, es_err *err)
{
    /* (channels, or 0 for a 2x2 max pool); module index as in NeuroSim's nn.Sequential, where
     * every conv is followed by a ReLU, so the names skip the ReLU and pooling indices */
    static const int cfg[9] = {128, 128, 0, 256, 256, 0, 512, 512, 0};
    nn_net *net = NULL;
    *out = NULL;
    ES_TRY(check_classes(classes, err));
    ES_TRY(nn_net_create(in, &net, err));
    int idx = 0;
    char nm[32];
    for (int i = 0; i < 9; i++) {
        if (cfg[i] == 0) {
            snprintf(nm, sizeof nm, "features.%d", idx++);
            P_TRY(nn_add_maxpool(net, nm, 2, 2, 0, err));
            continue;
        }
        snprintf(nm, sizeof nm, "features.%d", idx++);
        P_TRY(nn_add_conv(net, nm, cfg[i], 3, 1, 1, 0, err));
        snprintf(nm, sizeof nm, "features.%d", idx++);
        P_TRY(nn_add_relu(net, nm, err));
    }
    P_TRY(nn_add_flatten(net, "flatten", err));
    P_TRY(nn_add_fc(net, "classifier.0", 1024, 0, err));
    P_TRY(nn_add_relu(net, "classifier.1", err));
    P_TRY(nn_add_fc(net, "classifier.2", classes, 0, err));
    P_TRY(nn_net_finalize(net, err));
    nn_net_set_init(net, &(nn_init_opts){NN_INIT_KAIMING_FAN_IN, NN_INIT_TORCH_DEFAULT});
    *out = net;
    return ES_OK;
}

int nn_preset_mlp(nn_shape in, const int *hidden, int nh, int classes, nn_net **out, es_err *err)
{
    nn_net *net = NULL;
    *out = NULL;
    ES_TRY(check_classes(classes, err));
    if (nh < 0 || (nh > 0 && !hidden))
        return es_fail(err, ES_EINVAL, "mlp: %d hidden layers without sizes", nh);
    ES_TRY(nn_net_create(in, &net, err));
    P_TRY(nn_add_flatten(net, "flatten", err));
    char nm[32];
    for (int i = 0; i < nh; i++) {
        snprintf(nm, sizeof nm, "fc%d", i + 1);
        P_TRY(nn_add_fc(net, nm, hidden[i], 1, err));
        snprintf(nm, sizeof nm, "relu%d", i + 1);
        P_TRY(nn_add_relu(net, nm, err));
    }
    snprintf(nm, sizeof nm, "fc%d", nh + 1);
    P_TRY(nn_add_fc(net, nm, classes, 1, err));
    P_TRY(nn_net_finalize(net, err));
    nn_net_set_init(net, &(nn_init_opts){NN_INIT_KAIMING_FAN_IN, NN_INIT_TORCH_DEFAULT});
    *out = net;
    return ES_OK;
}

/* ---- the registry: a new preset is one builder above (or in its own file) and one line here */

static int build_resnet20(nn_shape in, int classes, nn_net **out, es_err *err)
{
    return nn_preset_resnet(20, NN_SHORTCUT_A, in, classes, out, err);
}
static int build_resnet32(nn_shape in, int classes, nn_net **out, es_err *err)
{
    return nn_preset_resnet(32, NN_SHORTCUT_A, in, classes, out, err);
}
static int build_resnet56(nn_shape in, int classes, nn_net **out, es_err *err)
{
    return nn_preset_resnet(56, NN_SHORTCUT_A, in, classes, out, err);
}
static int build_resnet20b(nn_shape in, int classes, nn_net **out, es_err *err)
{
    return nn_preset_resnet(20, NN_SHORTCUT_B, in, classes, out, err);
}
static int build_mlp(nn_shape in, int classes, nn_net **out, es_err *err)
{
    static const int hidden[2] = {256, 128};
    return nn_preset_mlp(in, hidden, 2, classes, out, err);
}

static const struct preset {
    const char *name;
    int (*build)(nn_shape in, int classes, nn_net **out, es_err *err);
} presets[] = {
    {"lenet5", nn_preset_lenet5},   {"resnet20", build_resnet20}, {"resnet32", build_resnet32},
    {"resnet56", build_resnet56},   {"resnet20b", build_resnet20b}, {"vgg8", nn_preset_vgg8},
    {"mlp", build_mlp},
};

size_t nn_preset_count(void)
{
    return ES_ARRAY_LEN(presets);
}

const char *nn_preset_name(size_t i)
{
    return i < ES_ARRAY_LEN(presets) ? presets[i].name : NULL;
}

void nn_preset_list(char *buf, size_t len, const char *sep)
{
    size_t o = 0;
    if (len) buf[0] = 0;
    for (size_t i = 0; i < ES_ARRAY_LEN(presets) && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? sep : "", presets[i].name);
}

int nn_preset_create(const char *name, nn_shape in, int classes, nn_net **out, es_err *err)
{
    *out = NULL;
    for (size_t i = 0; name && i < ES_ARRAY_LEN(presets); i++)
        if (!strcmp(name, presets[i].name)) return presets[i].build(in, classes, out, err);
    char known[256];
    nn_preset_list(known, sizeof known, ", ");
    return es_fail(err, ES_ECONFIG, "unknown network preset \"%s\" (known: %s)", name ? name : "",
                   known);
}
