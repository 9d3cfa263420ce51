/* test_net.c - the network object, presets and optimizer: shape inference and its errors,
 * parameter names, flags and counts of the presets, initialisation, whole-network gradients
 * against finite differences (residual blocks A and B, BN in training and inference mode,
 * pooling, fc), SGD semantics, and a short deterministic training run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_net.h"
#include "nn_presets.h"
#include "nn_sgd.h"
#include "rng.h"
#include "tap.h"

static void fill(rng_stream *r, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * rng_uniform_f(r);
}

static const nn_param *param(const nn_net *net, const char *name)
{
    return nn_net_param(net, nn_net_param_find(net, name));
}

/* ---- building ------------------------------------------------------------------------------- */

static void t_shapes(void)
{
    nn_net *net;
    if (!CHECK_INT(nn_preset_lenet5((nn_shape){1, 28, 28}, 10, &net, NULL), ES_OK)) return;
    static const struct {
        const char *name;
        nn_shape s;
    } want[] = {{"conv1", {6, 28, 28}}, {"pool1", {6, 14, 14}},   {"conv2", {16, 10, 10}},
                {"pool2", {16, 5, 5}},  {"flatten", {400, 1, 1}}, {"fc3", {10, 1, 1}}};
    for (size_t i = 0; i < ES_ARRAY_LEN(want); i++) {
        int found = 0;
        for (int j = 0; j < nn_net_num_nodes(net); j++) {
            nn_node_info info;
            nn_net_node_info(net, j, &info);
            if (strcmp(info.name, want[i].name) != 0) continue;
            found = 1;
            CHECK_MSG(info.out_shape.c == want[i].s.c && info.out_shape.h == want[i].s.h &&
                          info.out_shape.w == want[i].s.w,
                      "%s is %dx%dx%d", want[i].name, info.out_shape.c, info.out_shape.h,
                      info.out_shape.w);
        }
        CHECK_MSG(found, "node %s exists", want[i].name);
    }
    CHECK_INT(nn_net_classes(net), 10);
    nn_net_destroy(net);

    /* ResNet-20: 19 conv + 1 fc mapped layers; the first stride-2 block halves the map */
    if (!CHECK_INT(nn_preset_create("resnet20", (nn_shape){1, 28, 28}, 10, &net, NULL), ES_OK))
        return;
    int convs = 0, fcs = 0, shortcuts = 0;
    for (int j = 0; j < nn_net_num_nodes(net); j++) {
        nn_node_info info;
        nn_net_node_info(net, j, &info);
        convs += info.op == NN_OP_CONV;
        fcs += info.op == NN_OP_FC;
        shortcuts += info.op == NN_OP_SHORTCUT_A;
        if (strcmp(info.name, "layers.3.conv1") == 0) {
            CHECK(info.in_shape.c == 16 && info.in_shape.h == 28);
            CHECK(info.out_shape.c == 32 && info.out_shape.h == 14 && info.out_shape.w == 14);
            CHECK(info.k == 3 && info.stride == 2 && info.pad == 1 && !info.bias);
            CHECK(info.weight_param == nn_net_param_find(net, "layers.3.conv1.weight"));
        }
        if (strcmp(info.name, "layers.6.conv1") == 0) CHECK_INT(info.out_shape.h, 7);
    }
    CHECK_INT(convs, 19);
    CHECK_INT(fcs, 1);
    CHECK_INT(shortcuts, 2);
    nn_net_destroy(net);
}

static void t_shape_errors(void)
{
    nn_net *net;
    es_err e;
    if (!CHECK_INT(nn_net_create((nn_shape){3, 8, 8}, &net, NULL), ES_OK)) return;
    int conv = nn_add_conv(net, "conv1", 4, 3, 1, 1, 1, NULL);
    CHECK_INT(conv, 1);
    const int nodes = nn_net_num_nodes(net), params = nn_net_num_params(net);

    CHECK_INT(nn_add_fc(net, "fc", 10, 1, &e), ES_ECONFIG);
    CHECK_CONTAINS(e.msg, "flat");
    CHECK_CONTAINS(e.msg, "4x8x8");
    CHECK_INT(nn_add_conv(net, "big", 4, 11, 1, 1, 0, &e), ES_ECONFIG);
    CHECK_CONTAINS(e.msg, "big");
    CHECK_CONTAINS(e.msg, "does not fit");
    CHECK_INT(nn_add_maxpool(net, "pool", 9, 9, 0, &e), ES_ECONFIG);
    CHECK_CONTAINS(e.msg, "window");
    CHECK_INT(nn_add_shortcut_a(net, "sc", 2, 2, &e), ES_ECONFIG);
    CHECK_INT(nn_add_conv(net, "conv1", 4, 3, 1, 1, 1, &e), ES_EINVAL);
    CHECK_CONTAINS(e.msg, "duplicate");
    CHECK_INT(nn_add_conv(net, "bad name", 4, 3, 1, 1, 1, &e), ES_EINVAL);
    int pool = nn_add_maxpool(net, "pool", 2, 2, 0, NULL);
    CHECK_INT(nn_add_sum(net, "add", conv, pool, &e), ES_ECONFIG);
    CHECK_CONTAINS(e.msg, "4x8x8");
    CHECK_CONTAINS(e.msg, "4x4x4");
    /* failed adds left nothing behind (the pool is the only node added since) */
    CHECK_INT(nn_net_num_nodes(net), nodes + 1);
    CHECK_INT(nn_net_num_params(net), params);
    CHECK_INT(nn_net_tip(net), pool);
    /* a spatial output cannot be the network output */
    CHECK_INT(nn_net_finalize(net, &e), ES_ECONFIG);
    CHECK_CONTAINS(e.msg, "flat");
    /* a dangling branch is reported */
    CHECK_INT(nn_net_set_tip(net, conv, NULL), ES_OK);
    CHECK(nn_add_gap(net, NULL, NULL) > 0);
    CHECK(nn_add_fc(net, "fc", 3, 1, NULL) > 0);
    CHECK_INT(nn_net_finalize(net, &e), ES_ECONFIG);
    CHECK_CONTAINS(e.msg, "\"pool\"");
    CHECK_CONTAINS(e.msg, "never used");
    nn_net_destroy(net);

    /* after finalize, no more layers */
    if (!CHECK_INT(nn_preset_create("mlp", (nn_shape){1, 4, 4}, 3, &net, NULL), ES_OK)) return;
    CHECK_INT(nn_add_relu(net, NULL, &e), ES_ESTATE);
    CHECK_INT(nn_net_backward(net, &e), ES_ESTATE);
    nn_net_destroy(net);
    CHECK_INT(nn_preset_create("resnet21", (nn_shape){1, 28, 28}, 10, &net, &e), ES_ECONFIG);
    CHECK_CONTAINS(e.msg, "resnet20");
    CHECK_INT(nn_preset_resnet(21, NN_SHORTCUT_A, (nn_shape){1, 28, 28}, 10, &net, &e), ES_ECONFIG);
    CHECK_CONTAINS(e.msg, "6n + 2");
    /* LeNet-5 cannot take a 1x8x8 input: the second conv no longer fits */
    CHECK_INT(nn_preset_lenet5((nn_shape){1, 8, 8}, 10, &net, &e), ES_ECONFIG);
    CHECK_CONTAINS(e.msg, "conv2");
    CHECK(net == NULL);
    /* a residual block that fails half way (a name clash at its sum) rolls back completely */
    nn_net_create((nn_shape){2, 4, 4}, &net, NULL);
    CHECK_INT(nn_add_relu(net, "b.add", NULL), 1);
    CHECK_INT(nn_add_basic_block(net, "b", 4, 1, NN_SHORTCUT_B, &e), ES_EINVAL);
    CHECK_CONTAINS(e.msg, "b.add");
    CHECK_INT(nn_net_num_nodes(net), 2);
    CHECK_INT(nn_net_num_params(net), 0);
    CHECK_INT(nn_net_tip(net), 1);
    CHECK(nn_add_basic_block(net, "c", 4, 1, NN_SHORTCUT_B, &e) > 0);
    CHECK_INT(nn_net_num_nodes(net), 2 + 9);
    nn_net_destroy(net);
}

/* ---- parameters and presets ------------------------------------------------------------------ */

static void t_params(void)
{
    nn_net *net;
    if (!CHECK_INT(nn_preset_create("resnet20", (nn_shape){1, 28, 28}, 10, &net, NULL), ES_OK))
        return;
    const nn_param *p = nn_net_param(net, 0);
    CHECK_STR(p->name, "conv.weight");
    CHECK(p->mapped && p->trainable && p->grad);
    CHECK(p->ndim == 4 && p->shape[0] == 16 && p->shape[1] == 1 && p->shape[2] == 3);
    CHECK(p->rows == 9 && p->cols == 16);
    p = param(net, "layers.3.conv1.weight");
    CHECK(p && p->mapped && p->rows == 16 * 9 && p->cols == 32 && p->numel == 16 * 9 * 32);
    p = param(net, "layers.0.bn1.weight");
    CHECK(p && !p->mapped && p->trainable && p->numel == 16);
    p = param(net, "layers.8.bn2.bias");
    CHECK(p && !p->mapped && p->trainable && p->numel == 64);
    p = param(net, "bn.running_var");
    CHECK(p && !p->trainable && !p->grad && p->data[0] == 1.0f);
    p = param(net, "fc.weight");
    CHECK(p && p->mapped && p->rows == 64 && p->cols == 10 && p->ndim == 2);
    p = param(net, "fc.bias");
    CHECK(p && !p->mapped && p->numel == 10);
    CHECK(param(net, "layers.0.conv1.bias") == NULL);
    CHECK_INT(nn_net_param_find(net, "nope"), -1);
    /* mapped = 19 conv weights + fc weight */
    int mapped = 0;
    for (int i = 0; i < nn_net_num_params(net); i++)
        mapped += nn_net_param(net, i)->mapped;
    CHECK_INT(mapped, 20);
    /* everything but fc.bias and the BN gamma/beta (2 x 688 channels) */
    CHECK_UINT(nn_net_mapped_total(net), 269434 - 10 - 2 * 688);
    nn_net_destroy(net);

    nn_preset_lenet5((nn_shape){1, 28, 28}, 10, &net, NULL);
    static const char *const names[] = {"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                                        "fc1.weight",   "fc1.bias",   "fc2.weight",   "fc2.bias",
                                        "fc3.weight",   "fc3.bias"};
    CHECK_INT(nn_net_num_params(net), 10);
    for (int i = 0; i < 10 && i < nn_net_num_params(net); i++) {
        CHECK_STR(nn_net_param(net, i)->name, names[i]);
        CHECK_INT(nn_net_param(net, i)->mapped, i % 2 == 0);
    }
    CHECK(param(net, "fc1.weight")->rows == 400 && param(net, "fc1.weight")->cols == 120);
    nn_net_destroy(net);
}

static size_t preset_count(const char *name, nn_shape in, int classes, int buffers)
{
    nn_net *net;
    es_err e;
    if (nn_preset_create(name, in, classes, &net, &e) < 0) {
        CHECK_MSG(0, "preset %s: %s", name, e.msg);
        return 0;
    }
    size_t n = nn_net_param_total(net, buffers);
    nn_net_destroy(net);
    return n;
}

static void t_preset_counts(void)
{
    const nn_shape mnist = {1, 28, 28}, cifar = {3, 32, 32};
    CHECK_UINT(preset_count("lenet5", mnist, 10, 0), 61706);
    /* pytorch_peer.py's ResNet20 (option A, 1 input channel) */
    CHECK_UINT(preset_count("resnet20", mnist, 10, 0), 269434);
    /* the published CIFAR counts: 0.27M, 0.46M, 0.85M (He et al. Table 6, option A) */
    CHECK_UINT(preset_count("resnet20", cifar, 10, 0), 269722);
    CHECK_UINT(preset_count("resnet32", cifar, 10, 0), 464154);
    CHECK_UINT(preset_count("resnet56", cifar, 10, 0), 853018);
    /* with projection (option B) shortcuts: 272,474 */
    CHECK_UINT(preset_count("resnet20b", cifar, 10, 0), 272474);
    /* BN running statistics: 2 per BN channel (19 BN layers: 16 + 6*16 + 6*32 + 6*64 = 688) */
    CHECK_UINT(preset_count("resnet20", mnist, 10, 1), 269434 + 2 * 688);
    CHECK_UINT(preset_count("resnet20", mnist, 100, 0), 269434 + 90 * 65);
    CHECK_UINT(preset_count("vgg8", cifar, 10, 0), 12973440);
    CHECK_UINT(preset_count("vgg8", mnist, 10, 0),
               12973440 - 27 * 128 + 9 * 128 - 8192 * 1024 + 4608 * 1024);
    CHECK_UINT(preset_count("mlp", mnist, 10, 0), 235146);
    /* the name table lists exactly what nn_preset_create accepts */
    for (size_t i = 0; i < nn_preset_count(); i++)
        CHECK_MSG(preset_count(nn_preset_name(i), cifar, 10, 0) > 0, "preset %s builds",
                  nn_preset_name(i));
    CHECK_INT(nn_preset_count(), 7);
    CHECK(nn_preset_name(nn_preset_count()) == NULL);
    char list[256];
    nn_preset_list(list, sizeof list, ", ");
    CHECK_STR(list, "lenet5, resnet20, resnet32, resnet56, resnet20b, vgg8, mlp");
}

static void t_init(void)
{
    nn_net *a, *b, *c;
    nn_preset_create("resnet20", (nn_shape){1, 28, 28}, 10, &a, NULL);
    nn_preset_create("resnet20", (nn_shape){1, 28, 28}, 10, &b, NULL);
    nn_preset_create("resnet20", (nn_shape){1, 28, 28}, 10, &c, NULL);
    nn_net_init_params(a, 42);
    nn_net_init_params(b, 42);
    nn_net_init_params(c, 43);
    int same = 1, differ = 0;
    for (int i = 0; i < nn_net_num_params(a); i++) {
        const nn_param *pa = nn_net_param(a, i), *pb = nn_net_param(b, i), *pc = nn_net_param(c, i);
        same &= memcmp(pa->data, pb->data, pa->numel * sizeof(float)) == 0;
        if (pa->mapped) differ += memcmp(pa->data, pc->data, pa->numel * sizeof(float)) != 0;
    }
    CHECK_MSG(same, "same seed, same initial parameters");
    CHECK_INT(differ, 20);
    /* Kaiming-normal, fan_in = 64 * 9: std sqrt(2/576) */
    const nn_param *w = param(a, "layers.8.conv2.weight");
    double s = 0, s2 = 0;
    for (size_t i = 0; i < w->numel; i++)
        s += w->data[i], s2 += (double)w->data[i] * w->data[i];
    double mean = s / w->numel, sd = sqrt(s2 / w->numel - mean * mean);
    CHECK_NEAR(mean, 0.0, 0.003);
    CHECK_NEAR(sd, sqrt(2.0 / 576.0), 0.002);
    CHECK(param(a, "layers.8.bn2.weight")->data[5] == 1.0f);
    CHECK(param(a, "layers.8.bn2.bias")->data[5] == 0.0f);
    nn_net_destroy(a);
    nn_net_destroy(b);
    nn_net_destroy(c);

    /* LeNet: fc weights and biases uniform within +-1/sqrt(fan_in); fan_out mode for conv */
    nn_preset_lenet5((nn_shape){1, 28, 28}, 10, &a, NULL);
    nn_net_set_init(a, &(nn_init_opts){NN_INIT_KAIMING_FAN_OUT, NN_INIT_TORCH_DEFAULT});
    nn_net_init_params(a, 7);
    const nn_param *fw = param(a, "fc1.weight"), *fb = param(a, "fc1.bias");
    float mx = 0;
    for (size_t i = 0; i < fw->numel; i++)
        mx = fmaxf(mx, fabsf(fw->data[i]));
    CHECK(mx <= 1.0f / 20.0f && mx > 0.95f / 20.0f);
    mx = 0;
    for (size_t i = 0; i < fb->numel; i++)
        mx = fmaxf(mx, fabsf(fb->data[i]));
    CHECK(mx <= 1.0f / 20.0f && mx > 0.0f);
    const nn_param *cw = param(a, "conv2.weight"); /* fan_out = 16 * 25 */
    s = s2 = 0;
    for (size_t i = 0; i < cw->numel; i++)
        s += cw->data[i], s2 += (double)cw->data[i] * cw->data[i];
    CHECK_NEAR(sqrt(s2 / cw->numel), sqrt(2.0 / 400.0), 0.006);

    /* a layer added elsewhere does not change another layer's initial values */
    nn_net_create((nn_shape){1, 28, 28}, &b, NULL);
    nn_add_conv(b, "conv0", 3, 3, 1, 1, 0, NULL);
    nn_add_conv(b, "conv1", 6, 5, 1, 2, 1, NULL);
    nn_net_init_params(b, 7);
    c = NULL;
    nn_net_create((nn_shape){3, 28, 28}, &c, NULL);
    nn_add_conv(c, "conv1", 6, 5, 1, 2, 1, NULL);
    nn_net_init_params(c, 7);
    /* conv1 of b and c have the same shape (6 x 3 x 5 x 5) and name: same values */
    const nn_param *pb1 = param(b, "conv1.weight"), *pc1 = param(c, "conv1.weight");
    CHECK(pb1->numel == pc1->numel &&
          memcmp(pb1->data, pc1->data, pb1->numel * sizeof(float)) == 0);
    nn_net_destroy(a);
    nn_net_destroy(b);
    nn_net_destroy(c);
}

/* ---- whole-network gradients ----------------------------------------------------------------- */

typedef struct net_ctx {
    nn_net *net;
    const float *x;
    const int32_t *labels;
    int n, training;
} net_ctx;

static double net_loss(net_ctx *c)
{
    double loss = NAN;
    nn_net_forward(c->net, c->x, c->n, c->labels, c->training, &loss, NULL);
    return loss;
}

/* Every trainable parameter's gradient (up to 40 entries each) against central differences
 * of the mean loss; one check per parameter. A network of ReLUs (and batch norm over a small
 * batch, which moves a whole channel when one weight moves) is only piecewise smooth: when a
 * pre-activation crosses zero inside the +-eps interval, the central difference is wrong
 * while the analytic gradient is right (it converges as eps -> 0). Such entries show
 * one-sided slopes that disagree; they are skipped (and counted: a few percent at most) so
 * the check stays sharp everywhere the loss is smooth. */
static void check_net_grads(net_ctx *c, const char *what)
{
    double loss0 = 0.0;
    es_err e;
    if (!CHECK_INT(nn_net_forward(c->net, c->x, c->n, c->labels, c->training, &loss0, &e), ES_OK))
        return;
    if (!CHECK_INT(nn_net_backward(c->net, &e), ES_OK)) return;
    const int np = nn_net_num_params(c->net);
    float **g = calloc((size_t)np, sizeof *g);
    for (int i = 0; i < np; i++) {
        const nn_param *p = nn_net_param(c->net, i);
        if (!p->trainable) continue;
        g[i] = malloc(p->numel * sizeof(float));
        memcpy(g[i], p->grad, p->numel * sizeof(float));
    }
    const double eps = 1e-3, atol = 5e-4, rtol = 2e-2;
    int checked = 0, skipped = 0;
    for (int i = 0; i < np; i++) {
        const nn_param *p = nn_net_param(c->net, i);
        if (!p->trainable) continue;
        double worst = 0.0;
        size_t step = p->numel > 40 ? p->numel / 40 : 1;
        for (size_t q = 0; q < p->numel; q += step) {
            const float save = p->data[q];
            p->data[q] = (float)(save + eps);
            const double dp = (double)p->data[q] - save, lp = net_loss(c);
            p->data[q] = (float)(save - eps);
            const double dm = (double)p->data[q] - save, lm = net_loss(c);
            p->data[q] = save;
            const double num = (lp - lm) / (dp - dm);
            const double tol = atol + rtol * fabs(num);
            checked++;
            if (fabs((lp - loss0) / dp - (lm - loss0) / dm) > tol) {
                skipped++;
                continue;
            }
            const double err = fabs(num - g[i][q]) / tol;
            if (!(err <= worst)) worst = isnan(err) ? INFINITY : err;
        }
        CHECK_MSG(worst <= 1.0, "%s: %s gradient, worst normalised error %g", what, p->name, worst);
    }
    CHECK_MSG(skipped * 10 <= checked, "%s: %d of %d entries skipped as non-smooth", what, skipped,
              checked);
    for (int i = 0; i < np; i++)
        free(g[i]);
    free(g);
}

static void t_fd_net_residual(void)
{
    /* conv (bias) - bn - relu - block A (stride 2, 4 -> 6) - block B (stride 2, 6 -> 8) -
     * identity block - gap - fc */
    nn_net *net;
    es_err e;
    nn_net_create((nn_shape){2, 7, 6}, &net, NULL);
    CHECK(nn_add_conv(net, "conv", 4, 3, 1, 1, 1, &e) > 0);
    CHECK(nn_add_bn(net, "bn", &e) > 0);
    CHECK(nn_add_relu(net, NULL, &e) > 0);
    CHECK(nn_add_basic_block(net, "a", 6, 2, NN_SHORTCUT_A, &e) > 0);
    CHECK(nn_add_basic_block(net, "b", 8, 2, NN_SHORTCUT_B, &e) > 0);
    CHECK(nn_add_basic_block(net, "c", 8, 1, NN_SHORTCUT_A, &e) > 0);
    CHECK(nn_add_gap(net, NULL, &e) > 0);
    CHECK(nn_add_fc(net, "fc", 3, 1, &e) > 0);
    if (!CHECK_INT(nn_net_finalize(net, &e), ES_OK)) return;
    CHECK(param(net, "b.shortcut.0.weight") && param(net, "b.shortcut.1.bias"));
    CHECK(param(net, "a.shortcut.0.weight") == NULL);
    nn_net_init_params(net, 11);
    rng_stream r;
    rng_init(&r, 12, "test.net.fd");
    const int n = 4;
    float *x = malloc((size_t)n * 2 * 7 * 6 * sizeof *x);
    fill(&r, x, (size_t)n * 2 * 7 * 6, -1, 1);
    const int32_t labels[4] = {0, 2, 1, 2};
    net_ctx c = {net, x, labels, n, 1};
    check_net_grads(&c, "residual net (training)");
    c.training = 0; /* inference-mode batch norm: statistics are constants */
    check_net_grads(&c, "residual net (inference)");
    nn_net_destroy(net);
    free(x);
}

static void t_fd_net_blocked(void)
{
    /* 16 and 32 channels: with oneDNN the activations after the first convolution stay in the
     * 16-channel blocked layout, batch norm + ReLU and add + ReLU run fused; the gradients of
     * that path against central differences, in training and inference mode. */
    nn_net *net;
    es_err e;
    nn_net_create((nn_shape){2, 6, 6}, &net, NULL);
    CHECK(nn_add_conv(net, "conv", 16, 3, 1, 1, 0, &e) > 0);
    CHECK(nn_add_bn(net, "bn", &e) > 0);
    CHECK(nn_add_relu(net, NULL, &e) > 0);
    CHECK(nn_add_basic_block(net, "a", 16, 1, NN_SHORTCUT_A, &e) > 0);
    CHECK(nn_add_basic_block(net, "b", 32, 2, NN_SHORTCUT_A, &e) > 0);
    CHECK(nn_add_gap(net, NULL, &e) > 0);
    CHECK(nn_add_fc(net, "fc", 3, 1, &e) > 0);
    if (!CHECK_INT(nn_net_finalize(net, &e), ES_OK)) return;
    nn_net_init_params(net, 21);
    rng_stream r;
    rng_init(&r, 22, "test.net.fd");
    const int n = 4;
    float *x = malloc((size_t)n * 2 * 36 * sizeof *x);
    fill(&r, x, (size_t)n * 2 * 36, -1, 1);
    const int32_t labels[4] = {2, 0, 1, 1};
    net_ctx c = {net, x, labels, n, 1};
    check_net_grads(&c, "16/32-channel residual net (training)");
    c.training = 0;
    check_net_grads(&c, "16/32-channel residual net (inference)");
    nn_net_destroy(net);
    free(x);
}

static void t_fd_net_cnn(void)
{
    /* conv (stride 2, pad 1, no bias) - relu - maxpool - conv - avgpool (pad) - flatten - fc -
     * relu - fc */
    nn_net *net;
    es_err e;
    nn_net_create((nn_shape){1, 11, 10}, &net, NULL);
    CHECK(nn_add_conv(net, "c1", 5, 3, 2, 1, 0, &e) > 0);
    CHECK(nn_add_relu(net, NULL, &e) > 0);
    CHECK(nn_add_maxpool(net, NULL, 2, 1, 0, &e) > 0);
    CHECK(nn_add_conv(net, "c2", 4, 2, 1, 0, 1, &e) > 0);
    CHECK(nn_add_avgpool(net, NULL, 2, 2, 1, &e) > 0);
    CHECK(nn_add_flatten(net, NULL, &e) > 0);
    CHECK(nn_add_fc(net, "f1", 7, 1, &e) > 0);
    CHECK(nn_add_relu(net, NULL, &e) > 0);
    CHECK(nn_add_fc(net, "f2", 4, 0, &e) > 0);
    if (!CHECK_INT(nn_net_finalize(net, &e), ES_OK)) return;
    nn_net_init_params(net, 5);
    rng_stream r;
    rng_init(&r, 13, "test.net.fd");
    const int n = 3;
    float *x = malloc((size_t)n * 110 * sizeof *x);
    fill(&r, x, (size_t)n * 110, -1, 1);
    const int32_t labels[3] = {3, 0, 1};
    net_ctx c = {net, x, labels, n, 1};
    check_net_grads(&c, "cnn");
    nn_net_destroy(net);
    free(x);
}

static void t_runtime(void)
{
    nn_net *net;
    es_err e;
    nn_preset_create("lenet5", (nn_shape){1, 28, 28}, 10, &net, NULL);
    nn_net_init_params(net, 1);
    CHECK_INT(nn_net_reserve(net, 8, &e), ES_OK);
    rng_stream r;
    rng_init(&r, 14, "test.net.runtime");
    float *x = malloc(8 * 784 * sizeof *x);
    fill(&r, x, 8 * 784, 0, 1);
    const int32_t labels[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    double l8 = 0, l3 = 0, l3b = 0;
    CHECK_INT(nn_net_forward(net, x, 8, labels, 1, &l8, &e), ES_OK);
    const float *logits = nn_net_logits(net);
    float first[10];
    memcpy(first, logits, sizeof first);
    /* a smaller batch reuses the same buffers; sample 0's logits do not depend on the rest
     * (no batch norm in LeNet) */
    CHECK_INT(nn_net_forward(net, x, 3, labels, 1, &l3, &e), ES_OK);
    CHECK(nn_net_logits(net) == logits);
    double diff = 0;
    for (int q = 0; q < 10; q++)
        diff = fmax(diff, fabs(first[q] - nn_net_logits(net)[q]));
    CHECK_MSG(diff < 1e-5, "sample 0's logits move by %g with the batch size", diff);
    CHECK_INT(nn_net_forward(net, x, 3, labels, 0, &l3b, &e), ES_OK);
    CHECK(l3 == l3b);
    CHECK(l8 > 1.0 && l8 < 5.0);
    /* no labels: logits only, and backward refuses */
    CHECK_INT(nn_net_forward(net, x, 2, NULL, 0, NULL, &e), ES_OK);
    CHECK_INT(nn_net_backward(net, &e), ES_ESTATE);
    /* a bad label is reported by forward */
    const int32_t bad[2] = {0, 10};
    CHECK_INT(nn_net_forward(net, x, 2, bad, 1, &l3, &e), ES_ERANGE);
    nn_net_destroy(net);
    free(x);
}

/* ---- optimizer ----------------------------------------------------------------------------- */

static void t_sgd(void)
{
    nn_net *net;
    nn_sgd *opt;
    es_err e;
    /* a 2 -> 1 fc layer (weight mapped, bias digital) gives hand-checkable updates */
    nn_net_create((nn_shape){2, 1, 1}, &net, NULL);
    nn_add_fc(net, "fc", 2, 1, NULL);
    nn_net_finalize(net, NULL);
    nn_param *w = (nn_param *)param(net, "fc.weight"), *b = (nn_param *)param(net, "fc.bias");
    nn_sgd_config cfg;
    nn_sgd_config_default(&cfg);
    cfg.lr = 0.5f;
    cfg.momentum = 0.5f;
    cfg.weight_decay = 0.1f;
    cfg.decay_digital = 0;
    CHECK_INT(nn_sgd_create(&cfg, net, &opt, &e), ES_OK);
    w->data[0] = 1.0f;
    b->data[0] = 1.0f;
    w->grad[0] = 2.0f;
    b->grad[0] = 2.0f;
    float u[4];
    const int wi = nn_net_param_find(net, "fc.weight"), bi = nn_net_param_find(net, "fc.bias");
    /* step 1: v = g + wd w = 2.1 ; U = 1.05 ; bias undecayed: v = 2, U = 1 */
    CHECK_INT(nn_sgd_compute_update(opt, wi, u), ES_OK);
    CHECK_NEAR(u[0], 1.05, 1e-6);
    CHECK(w->data[0] == 1.0f); /* computing U does not touch the weights */
    nn_sgd_apply_update(w->data, u, 1, 1.0f);
    CHECK_NEAR(w->data[0], -0.05, 1e-6);
    nn_sgd_compute_update(opt, bi, u);
    CHECK_NEAR(u[0], 1.0, 1e-6);
    /* step 2 with the same gradient: v = 0.5 * 2.1 + (2 + 0.1 * -0.05) = 3.045 */
    nn_sgd_compute_update(opt, wi, u);
    CHECK_NEAR(u[0], 0.5 * 3.045, 1e-6);
    CHECK_NEAR(nn_sgd_velocity(opt, wi)[0], 3.045, 1e-6);
    nn_sgd_apply_update(w->data, u, 1, 2.0f); /* rescaled write (1/p with p = 0.5) */
    CHECK_NEAR(w->data[0], -0.05 - 3.045, 1e-5);
    CHECK_INT(nn_sgd_compute_update(opt, 99, u), ES_EINVAL);
    nn_sgd_destroy(opt);

    /* Nesterov: U = lr (g' + m v) */
    cfg.nesterov = 1;
    cfg.decay_digital = 1;
    CHECK_INT(nn_sgd_create(&cfg, net, &opt, &e), ES_OK);
    w->data[0] = 1.0f;
    b->data[0] = 1.0f;
    nn_sgd_compute_update(opt, wi, u); /* g' = 2.1, v = 2.1, U = 0.5 (2.1 + 1.05) */
    CHECK_NEAR(u[0], 0.5 * 3.15, 1e-6);
    nn_sgd_compute_update(opt, bi, u); /* bias decayed now: same numbers */
    CHECK_NEAR(u[0], 0.5 * 3.15, 1e-6);
    nn_sgd_destroy(opt);
    cfg.momentum = 0.0f;
    CHECK_INT(nn_sgd_create(&cfg, net, &opt, &e), ES_ECONFIG);
    CHECK_CONTAINS(e.msg, "Nesterov");
    nn_net_destroy(net);
}

/* ---- training sanity ---------------------------------------------------------------------- */

/* Four classes of 1x8x8 images: a fixed random +-1 prototype per class plus unit noise. */
static void make_batch(rng_stream *r, const float *protos, float *x, int32_t *y, int n)
{
    for (int i = 0; i < n; i++) {
        y[i] = (int32_t)rng_below(r, 4);
        for (int q = 0; q < 64; q++)
            x[(size_t)i * 64 + q] = 0.8f * protos[y[i] * 64 + q] + (float)rng_normal(r);
    }
}

/* Trains a small CNN for `steps` steps; returns the final loss on fresh data and fills the
 * accuracy; leaves the network in *out. */
static double train_small(int steps, int nesterov, double *acc, nn_net **out)
{
    nn_net *net;
    nn_sgd *opt;
    es_err e;
    nn_net_create((nn_shape){1, 8, 8}, &net, NULL);
    nn_add_conv(net, "conv", 6, 3, 1, 1, 0, NULL);
    nn_add_bn(net, "bn", NULL);
    nn_add_relu(net, NULL, NULL);
    nn_add_maxpool(net, NULL, 2, 2, 0, NULL);
    nn_add_flatten(net, NULL, NULL);
    nn_add_fc(net, "fc", 4, 1, NULL);
    nn_net_finalize(net, NULL);
    nn_net_init_params(net, 2024);
    nn_sgd_config cfg;
    nn_sgd_config_default(&cfg);
    cfg.lr = 0.05f;
    cfg.weight_decay = 1e-4f;
    cfg.nesterov = nesterov;
    nn_sgd_create(&cfg, net, &opt, NULL);
    rng_stream data, pr;
    rng_init(&data, 1, "test.train.data");
    rng_init(&pr, 1, "test.train.protos");
    float protos[4 * 64], x[32 * 64];
    int32_t y[32];
    for (int q = 0; q < 4 * 64; q++)
        protos[q] = rng_bernoulli(&pr, 0.5) ? 1.0f : -1.0f;
    double loss = 0;
    for (int s = 0; s < steps; s++) {
        make_batch(&data, protos, x, y, 32);
        if (nn_net_forward(net, x, 32, y, 1, &loss, &e) < 0 || nn_net_backward(net, &e) < 0) {
            CHECK_MSG(0, "training step %d: %s", s, e.msg);
            break;
        }
        nn_sgd_step(opt);
    }
    int correct = 0;
    double total = 0;
    for (int t = 0; t < 4; t++) {
        make_batch(&data, protos, x, y, 32);
        nn_net_forward(net, x, 32, y, 0, &loss, NULL);
        total += loss;
        correct += nn_count_correct(nn_net_logits(net), y, 32, 4);
    }
    *acc = correct / 128.0;
    nn_sgd_destroy(opt);
    *out = net;
    return total / 4;
}

static void t_train_sanity(void)
{
    nn_net *a, *b;
    double acc_a, acc_b;
    double la = train_small(300, 0, &acc_a, &a);
    double lb = train_small(300, 0, &acc_b, &b);
    CHECK_MSG(la < 0.1, "held-out loss after 300 steps %g", la);
    CHECK_MSG(acc_a >= 0.95, "held-out accuracy %g", acc_a);
    int same = la == lb;
    for (int i = 0; i < nn_net_num_params(a); i++) {
        const nn_param *pa = nn_net_param(a, i), *pb = nn_net_param(b, i);
        same &= memcmp(pa->data, pb->data, pa->numel * sizeof(float)) == 0;
    }
    CHECK_MSG(same, "two runs give bit-identical parameters and loss");
    nn_net_destroy(a);
    nn_net_destroy(b);
    double ln = train_small(300, 1, &acc_a, &a);
    CHECK_MSG(ln < 0.1, "Nesterov: held-out loss %g", ln);
    nn_net_destroy(a);
}

/* The split step (compute U, apply U) reproduces the fused dense step bit for bit. */
static void t_sgd_split_equals_step(void)
{
    nn_net *a, *b;
    nn_sgd *oa, *ob;
    nn_preset_create("resnet20", (nn_shape){1, 8, 8}, 10, &a, NULL);
    nn_preset_create("resnet20", (nn_shape){1, 8, 8}, 10, &b, NULL);
    nn_net_init_params(a, 3);
    nn_net_init_params(b, 3);
    nn_sgd_config cfg;
    nn_sgd_config_default(&cfg);
    cfg.weight_decay = 5e-4f;
    nn_sgd_create(&cfg, a, &oa, NULL);
    nn_sgd_create(&cfg, b, &ob, NULL);
    rng_stream r;
    rng_init(&r, 15, "test.sgd.split");
    float x[4 * 64];
    const int32_t y[4] = {1, 2, 3, 4};
    float *u = malloc(64 * 64 * 9 * sizeof *u);
    for (int s = 0; s < 3; s++) {
        fill(&r, x, 4 * 64, -1, 1);
        nn_net_forward(a, x, 4, y, 1, NULL, NULL);
        nn_net_backward(a, NULL);
        nn_net_forward(b, x, 4, y, 1, NULL, NULL);
        nn_net_backward(b, NULL);
        nn_sgd_step(oa);
        for (int i = 0; i < nn_net_num_params(b); i++) {
            const nn_param *p = nn_net_param(b, i);
            if (!p->trainable) continue;
            nn_sgd_compute_update(ob, i, u);
            nn_sgd_apply_update(p->data, u, p->numel, 1.0f);
        }
    }
    int same = 1;
    for (int i = 0; i < nn_net_num_params(a); i++) {
        const nn_param *pa = nn_net_param(a, i), *pb = nn_net_param(b, i);
        same &= memcmp(pa->data, pb->data, pa->numel * sizeof(float)) == 0;
    }
    CHECK_MSG(same, "compute + apply == nn_sgd_step, bit for bit, over 3 steps");
    free(u);
    nn_sgd_destroy(oa);
    nn_sgd_destroy(ob);
    nn_net_destroy(a);
    nn_net_destroy(b);
}

int main(int argc, char **argv)
{
    static const tap_test tests[] = {
        {"shapes", t_shapes},
        {"shape_errors", t_shape_errors},
        {"params", t_params},
        {"preset_counts", t_preset_counts},
        {"init", t_init},
        {"fd_net_residual", t_fd_net_residual},
        {"fd_net_cnn", t_fd_net_cnn},
        {"fd_net_blocked", t_fd_net_blocked},
        {"runtime", t_runtime},
        {"sgd", t_sgd},
        {"sgd_split_equals_step", t_sgd_split_equals_step},
        {"train_sanity", t_train_sanity},
    };
    return tap_main(tests, ES_ARRAY_LEN(tests), argc, argv);
}
