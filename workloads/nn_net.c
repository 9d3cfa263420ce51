/* nn_net.c - the network object: builder with shape inference, buffer planning, forward and
 * backward over the node list, parameter initialisation. See nn_net.h for the contract.
 *
 * Nodes are stored in creation order, and every node reads only earlier nodes, so the list
 * is already a topological order: forward walks it up, backward walks it down. */
#include "nn_net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

enum { ROLE_WEIGHT, ROLE_BIAS, ROLE_BN_GAMMA, ROLE_BN_BETA, ROLE_BN_MEAN, ROLE_BN_VAR };

typedef struct param_rec {
    nn_param pub; /* first member: nn_net_param hands out &rec->pub */
    int role;
} param_rec;

typedef struct nn_node {
    nn_op op;
    char name[NN_NAME_MAX + 1];
    int nin, in[2];
    nn_shape out;
    int k, stride, pad, bias;
    nn_conv_desc conv;
    void *bstate;                   /* conv backend state (from prepare) */
    int pw, pb, prm, prv;           /* parameter indices or -1 (BN: gamma, beta, mean, var) */
    float momentum, eps;            /* BN */
    float *save_mean, *save_invstd; /* BN, per channel */
    /* plan, from nn_net_finalize */
    int nconsumers, last_consumer;
    int in_place;  /* ReLU writing over its producer's buffer */
    int want_grad; /* dL/d(out) is needed: a parameter at or upstream of this node */
    int accum[2];  /* backward adds into input s's gradient (another consumer wrote it first) */
    int slot;      /* gradient slot, -1 when no gradient is needed */
    /* buffers, from nn_net_reserve */
    float *own;  /* activation buffer owned by this node (NULL when in place) */
    float *act;  /* the activation: own, or the producer's buffer when in place */
    float *grad; /* dL/d(act), a shared slot */
    int32_t *argmax;
} nn_node;

struct nn_net {
    nn_node *nodes;
    int nnodes, node_cap;
    int tip;
    param_rec *params;
    int nparams, param_cap;
    int finalized;
    int classes;
    nn_init_opts init;
    const nn_conv_backend *backend;
    /* gradient slots: buffers shared by nodes whose gradients are never live together */
    int nslots;
    size_t *slot_sample; /* floats per sample */
    float **slot_buf;
    /* runtime */
    int capacity;
    float *scratch;
    float *probs;
    const float *x;
    const int32_t *labels;
    int n, training, can_backward;
};

/* 64-byte aligned (whole cache lines, full-width vector loads), zeroed. */
static void *xalloc(size_t bytes)
{
    size_t sz = (bytes + 63) & ~(size_t)63;
    if (sz == 0) sz = 64;
    void *p = aligned_alloc(64, sz);
    if (p) memset(p, 0, sz);
    return p;
}

const char *nn_op_name(nn_op op)
{
    switch (op) {
    case NN_OP_INPUT: return "input";
    case NN_OP_CONV: return "conv";
    case NN_OP_BN: return "bn";
    case NN_OP_RELU: return "relu";
    case NN_OP_MAXPOOL: return "maxpool";
    case NN_OP_AVGPOOL: return "avgpool";
    case NN_OP_GAP: return "gap";
    case NN_OP_FLATTEN: return "flatten";
    case NN_OP_FC: return "fc";
    case NN_OP_ADD: return "add";
    case NN_OP_SHORTCUT_A: return "shortcut_a";
    }
    return "?";
}

static const char *shape_str(nn_shape s, char *buf, size_t len)
{
    snprintf(buf, len, "%dx%dx%d", s.c, s.h, s.w);
    return buf;
}

/* ---- creation and destruction ------------------------------------------------------------- */

int nn_net_create(nn_shape in, nn_net **out, es_err *err)
{
    *out = NULL;
    if (in.c <= 0 || in.h <= 0 || in.w <= 0)
        return es_fail(err, ES_ECONFIG, "network input shape %dx%dx%d is empty", in.c, in.h, in.w);
    nn_net *net = calloc(1, sizeof *net);
    if (!net) return es_fail(err, ES_ENOMEM, "out of memory creating a network");
    net->node_cap = 16;
    net->nodes = calloc((size_t)net->node_cap, sizeof *net->nodes);
    if (!net->nodes) {
        free(net);
        return es_fail(err, ES_ENOMEM, "out of memory creating a network");
    }
    nn_node *d = &net->nodes[0];
    d->op = NN_OP_INPUT;
    strcpy(d->name, "input");
    d->out = in;
    d->pw = d->pb = d->prm = d->prv = -1;
    d->slot = -1;
    net->nnodes = 1;
    net->tip = 0;
    net->init.conv = NN_INIT_KAIMING_FAN_IN;
    net->init.fc = NN_INIT_TORCH_DEFAULT;
    net->backend = &nn_conv_backend_gemm;
    *out = net;
    return ES_OK;
}

static void free_runtime(nn_net *net)
{
    for (int i = 0; i < net->nnodes; i++) {
        nn_node *d = &net->nodes[i];
        if (d->op == NN_OP_CONV && d->bstate && net->backend->release)
            net->backend->release(d->bstate);
        d->bstate = NULL;
        free(d->own);
        free(d->argmax);
        d->own = d->act = d->grad = NULL;
        d->argmax = NULL;
    }
    for (int s = 0; s < net->nslots && net->slot_buf; s++) {
        free(net->slot_buf[s]);
        net->slot_buf[s] = NULL;
    }
    free(net->scratch);
    free(net->probs);
    net->scratch = net->probs = NULL;
    net->capacity = 0;
    net->can_backward = 0;
}

void nn_net_destroy(nn_net *net)
{
    if (!net) return;
    free_runtime(net);
    for (int i = 0; i < net->nnodes; i++) {
        free(net->nodes[i].save_mean);
        free(net->nodes[i].save_invstd);
    }
    for (int i = 0; i < net->nparams; i++) {
        free((char *)net->params[i].pub.name);
        free(net->params[i].pub.data);
        free(net->params[i].pub.grad);
    }
    free(net->params);
    free(net->nodes);
    free(net->slot_sample);
    free(net->slot_buf);
    free(net);
}

/* ---- building ----------------------------------------------------------------------------- */

static int check_name(const nn_net *net, const char *name, es_err *err)
{
    size_t len = strlen(name);
    if (len == 0 || len > NN_NAME_MAX)
        return es_fail(err, ES_EINVAL, "layer name \"%s\" must have 1 to %d characters", name,
                       NN_NAME_MAX);
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.' || *p == '-'))
            return es_fail(err, ES_EINVAL,
                           "layer name \"%s\": only letters, digits, '_', '.' and '-' allowed",
                           name);
    for (int i = 0; i < net->nnodes; i++)
        if (strcmp(net->nodes[i].name, name) == 0)
            return es_fail(err, ES_EINVAL, "duplicate layer name \"%s\"", name);
    return ES_OK;
}

/* Common part of every add: state and input checks, name, a zeroed node (not yet counted:
 * the caller commits it with commit_node once its parameters exist). */
static int begin_node(nn_net *net, nn_op op, const char *name, nn_node **out, es_err *err)
{
    *out = NULL;
    if (!net) return es_fail(err, ES_EINVAL, "no network");
    if (net->finalized)
        return es_fail(err, ES_ESTATE, "cannot add a %s layer: the network is finalized",
                       nn_op_name(op));
    char autoname[32];
    if (!name) {
        snprintf(autoname, sizeof autoname, "%s%d", nn_op_name(op), net->nnodes);
        name = autoname;
    }
    ES_TRY(check_name(net, name, err));
    if (net->nnodes == net->node_cap) {
        int cap = net->node_cap * 2;
        nn_node *nodes = realloc(net->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) return es_fail(err, ES_ENOMEM, "out of memory adding layer \"%s\"", name);
        net->nodes = nodes;
        net->node_cap = cap;
    }
    nn_node *d = &net->nodes[net->nnodes];
    memset(d, 0, sizeof *d);
    d->op = op;
    strcpy(d->name, name);
    d->nin = 1;
    d->in[0] = d->in[1] = net->tip;
    d->pw = d->pb = d->prm = d->prv = -1;
    d->slot = -1;
    *out = d;
    return ES_OK;
}

static int commit_node(nn_net *net)
{
    net->tip = net->nnodes++;
    return net->tip;
}

/* Undo parameters created for a node that failed to commit. */
static void drop_params(nn_net *net, int keep)
{
    while (net->nparams > keep) {
        param_rec *r = &net->params[--net->nparams];
        free((char *)r->pub.name);
        free(r->pub.data);
        free(r->pub.grad);
    }
}

static int new_param(nn_net *net, const nn_node *d, const char *suffix, int role, int ndim,
                     const int *shape, es_err *err)
{
    if (net->nparams == net->param_cap) {
        int cap = net->param_cap ? net->param_cap * 2 : 32;
        param_rec *p = realloc(net->params, (size_t)cap * sizeof *p);
        if (!p) return es_fail(err, ES_ENOMEM, "out of memory adding layer \"%s\"", d->name);
        net->params = p;
        net->param_cap = cap;
    }
    param_rec *r = &net->params[net->nparams];
    memset(r, 0, sizeof *r);
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        r->pub.shape[i] = shape[i];
        numel *= (size_t)shape[i];
    }
    char name[NN_NAME_MAX + 32];
    snprintf(name, sizeof name, "%s.%s", d->name, suffix);
    r->role = role;
    r->pub.ndim = ndim;
    r->pub.numel = numel;
    r->pub.node = net->nnodes;
    r->pub.trainable = role != ROLE_BN_MEAN && role != ROLE_BN_VAR;
    r->pub.mapped = role == ROLE_WEIGHT;
    if (r->pub.mapped) {
        r->pub.cols = shape[0];
        r->pub.rows = (int)(numel / (size_t)shape[0]);
    }
    r->pub.name = es_strdup(name);
    r->pub.data = xalloc(numel * sizeof(float));
    r->pub.grad = r->pub.trainable ? xalloc(numel * sizeof(float)) : NULL;
    if (!r->pub.name || !r->pub.data || (r->pub.trainable && !r->pub.grad)) {
        free((char *)r->pub.name);
        free(r->pub.data);
        free(r->pub.grad);
        return es_fail(err, ES_ENOMEM, "out of memory for parameter %s", name);
    }
    return net->nparams++;
}

int nn_add_conv(nn_net *net, const char *name, int cout, int k, int stride, int pad, int bias,
                es_err *err)
{
    nn_node *d;
    ES_TRY(begin_node(net, NN_OP_CONV, name, &d, err));
    nn_shape in = net->nodes[net->tip].out;
    es_err sub;
    if (nn_conv_desc_init(&d->conv, in.c, in.h, in.w, cout, k, stride, pad, bias, &sub) < 0) {
        char b[48];
        return es_fail(err, ES_ECONFIG, "layer \"%s\" (input %s): %s", d->name,
                       shape_str(in, b, sizeof b), sub.msg);
    }
    d->k = k;
    d->stride = stride;
    d->pad = pad;
    d->bias = bias ? 1 : 0;
    d->out = (nn_shape){cout, d->conv.ho, d->conv.wo};
    const int keep = net->nparams;
    const int wshape[4] = {cout, in.c, k, k};
    int rc = new_param(net, d, "weight", ROLE_WEIGHT, 4, wshape, err);
    if (rc < 0) return rc;
    d->pw = rc;
    if (d->bias) {
        rc = new_param(net, d, "bias", ROLE_BIAS, 1, &cout, err);
        if (rc < 0) {
            drop_params(net, keep);
            return rc;
        }
        d->pb = rc;
    }
    return commit_node(net);
}

int nn_add_bn(nn_net *net, const char *name, es_err *err)
{
    nn_node *d;
    ES_TRY(begin_node(net, NN_OP_BN, name, &d, err));
    d->out = net->nodes[net->tip].out;
    d->momentum = 0.1f;
    d->eps = 1e-5f;
    const int c = d->out.c, keep = net->nparams;
    int idx[4];
    static const char *const suffix[4] = {"weight", "bias", "running_mean", "running_var"};
    static const int roles[4] = {ROLE_BN_GAMMA, ROLE_BN_BETA, ROLE_BN_MEAN, ROLE_BN_VAR};
    for (int i = 0; i < 4; i++) {
        int rc = new_param(net, d, suffix[i], roles[i], 1, &c, err);
        if (rc < 0) {
            drop_params(net, keep);
            return rc;
        }
        idx[i] = rc;
    }
    d->save_mean = xalloc((size_t)c * sizeof(float));
    d->save_invstd = xalloc((size_t)c * sizeof(float));
    if (!d->save_mean || !d->save_invstd) {
        free(d->save_mean);
        free(d->save_invstd);
        drop_params(net, keep);
        return es_fail(err, ES_ENOMEM, "out of memory adding layer \"%s\"", d->name);
    }
    /* running variance starts at 1 even before nn_net_init_params */
    for (int i = 0; i < c; i++)
        net->params[idx[3]].pub.data[i] = 1.0f;
    for (int i = 0; i < c; i++)
        net->params[idx[0]].pub.data[i] = 1.0f;
    d->pw = idx[0];
    d->pb = idx[1];
    d->prm = idx[2];
    d->prv = idx[3];
    return commit_node(net);
}

int nn_add_relu(nn_net *net, const char *name, es_err *err)
{
    nn_node *d;
    ES_TRY(begin_node(net, NN_OP_RELU, name, &d, err));
    d->out = net->nodes[net->tip].out;
    return commit_node(net);
}

static int add_pool(nn_net *net, nn_op op, const char *name, int k, int stride, int pad,
                    es_err *err)
{
    nn_node *d;
    ES_TRY(begin_node(net, op, name, &d, err));
    nn_shape in = net->nodes[net->tip].out;
    char b[48];
    if (k <= 0 || stride <= 0 || pad < 0 || 2 * pad > k)
        return es_fail(err, ES_ECONFIG,
                       "layer \"%s\": kernel %d and stride %d must be > 0, padding %d in [0, k/2]",
                       d->name, k, stride, pad);
    int ho = nn_window_out(in.h, k, stride, pad), wo = nn_window_out(in.w, k, stride, pad);
    if (ho <= 0 || wo <= 0)
        return es_fail(err, ES_ECONFIG, "layer \"%s\": %dx%d window does not fit the %s input",
                       d->name, k, k, shape_str(in, b, sizeof b));
    d->k = k;
    d->stride = stride;
    d->pad = pad;
    d->out = (nn_shape){in.c, ho, wo};
    return commit_node(net);
}

int nn_add_maxpool(nn_net *net, const char *name, int k, int stride, int pad, es_err *err)
{
    return add_pool(net, NN_OP_MAXPOOL, name, k, stride, pad, err);
}

int nn_add_avgpool(nn_net *net, const char *name, int k, int stride, int pad, es_err *err)
{
    return add_pool(net, NN_OP_AVGPOOL, name, k, stride, pad, err);
}

int nn_add_gap(nn_net *net, const char *name, es_err *err)
{
    nn_node *d;
    ES_TRY(begin_node(net, NN_OP_GAP, name, &d, err));
    d->out = (nn_shape){net->nodes[net->tip].out.c, 1, 1};
    return commit_node(net);
}

int nn_add_flatten(nn_net *net, const char *name, es_err *err)
{
    nn_node *d;
    ES_TRY(begin_node(net, NN_OP_FLATTEN, name, &d, err));
    d->out = (nn_shape){(int)nn_shape_size(net->nodes[net->tip].out), 1, 1};
    return commit_node(net);
}

int nn_add_fc(nn_net *net, const char *name, int out, int bias, es_err *err)
{
    nn_node *d;
    ES_TRY(begin_node(net, NN_OP_FC, name, &d, err));
    nn_shape in = net->nodes[net->tip].out;
    char b[48];
    if (in.h != 1 || in.w != 1)
        return es_fail(err, ES_ECONFIG,
                       "layer \"%s\": fully connected needs a flat input, got %s from \"%s\" "
                       "(add flatten or gap first)",
                       d->name, shape_str(in, b, sizeof b), net->nodes[net->tip].name);
    if (out <= 0) return es_fail(err, ES_ECONFIG, "layer \"%s\": %d outputs", d->name, out);
    d->bias = bias ? 1 : 0;
    d->out = (nn_shape){out, 1, 1};
    const int keep = net->nparams;
    const int wshape[2] = {out, in.c};
    int rc = new_param(net, d, "weight", ROLE_WEIGHT, 2, wshape, err);
    if (rc < 0) return rc;
    d->pw = rc;
    if (d->bias) {
        rc = new_param(net, d, "bias", ROLE_BIAS, 1, &out, err);
        if (rc < 0) {
            drop_params(net, keep);
            return rc;
        }
        d->pb = rc;
    }
    return commit_node(net);
}

int nn_add_sum(nn_net *net, const char *name, int a, int b, es_err *err)
{
    nn_node *d;
    ES_TRY(begin_node(net, NN_OP_ADD, name, &d, err));
    if (a < 0 || a >= net->nnodes || b < 0 || b >= net->nnodes)
        return es_fail(err, ES_EINVAL, "layer \"%s\": input nodes %d, %d (have %d)", d->name, a, b,
                       net->nnodes);
    nn_shape sa = net->nodes[a].out, sb = net->nodes[b].out;
    if (sa.c != sb.c || sa.h != sb.h || sa.w != sb.w) {
        char b1[48], b2[48];
        return es_fail(err, ES_ECONFIG, "layer \"%s\": cannot add \"%s\" (%s) and \"%s\" (%s)",
                       d->name, net->nodes[a].name, shape_str(sa, b1, sizeof b1),
                       net->nodes[b].name, shape_str(sb, b2, sizeof b2));
    }
    d->nin = 2;
    d->in[0] = a;
    d->in[1] = b;
    d->out = sa;
    return commit_node(net);
}

int nn_add_shortcut_a(nn_net *net, const char *name, int cout, int stride, es_err *err)
{
    nn_node *d;
    ES_TRY(begin_node(net, NN_OP_SHORTCUT_A, name, &d, err));
    nn_shape in = net->nodes[net->tip].out;
    if (stride <= 0 || cout < in.c)
        return es_fail(err, ES_ECONFIG,
                       "layer \"%s\": option-A shortcut needs stride > 0 (got %d) and "
                       "out_channels >= in_channels (%d < %d)",
                       d->name, stride, cout, in.c);
    d->stride = stride;
    d->out = (nn_shape){cout, (in.h - 1) / stride + 1, (in.w - 1) / stride + 1};
    return commit_node(net);
}

int nn_add_basic_block(nn_net *net, const char *prefix, int cout, int stride, nn_shortcut sc,
                       es_err *err)
{
    if (!net || !prefix) return es_fail(err, ES_EINVAL, "basic block: no network or prefix");
    char nm[NN_NAME_MAX + 32];
    const int start_nodes = net->nnodes, start_params = net->nparams;
    const int in = net->tip;
    const nn_shape ins = net->nodes[in].out;
    int rc, main_out, short_out = in;
#define BB_NAME(suffix) (snprintf(nm, sizeof nm, "%s.%s", prefix, suffix), nm)
#define BB_TRY(expr)                                                                               \
    do {                                                                                           \
        if ((rc = (expr)) < 0) goto fail;                                                          \
    } while (0)
    BB_TRY(nn_add_conv(net, BB_NAME("conv1"), cout, 3, stride, 1, 0, err));
    BB_TRY(nn_add_bn(net, BB_NAME("bn1"), err));
    BB_TRY(nn_add_relu(net, BB_NAME("relu1"), err));
    BB_TRY(nn_add_conv(net, BB_NAME("conv2"), cout, 3, 1, 1, 0, err));
    BB_TRY(main_out = nn_add_bn(net, BB_NAME("bn2"), err));
    if (stride != 1 || cout != ins.c) {
        net->tip = in;
        if (sc == NN_SHORTCUT_A) {
            BB_TRY(short_out = nn_add_shortcut_a(net, BB_NAME("shortcut"), cout, stride, err));
        } else {
            BB_TRY(nn_add_conv(net, BB_NAME("shortcut.0"), cout, 1, stride, 0, 0, err));
            BB_TRY(short_out = nn_add_bn(net, BB_NAME("shortcut.1"), err));
        }
    }
    BB_TRY(nn_add_sum(net, BB_NAME("add"), main_out, short_out, err));
    BB_TRY(nn_add_relu(net, BB_NAME("relu2"), err));
    return rc;
#undef BB_NAME
#undef BB_TRY
fail:
    /* roll back the nodes of this block so a failed add leaves the network as it was */
    drop_params(net, start_params);
    for (int i = start_nodes; i < net->nnodes; i++) {
        free(net->nodes[i].save_mean);
        free(net->nodes[i].save_invstd);
    }
    net->nnodes = start_nodes;
    net->tip = in;
    return rc;
}

int nn_net_tip(const nn_net *net)
{
    return net->tip;
}

int nn_net_set_tip(nn_net *net, int node, es_err *err)
{
    if (net->finalized) return es_fail(err, ES_ESTATE, "the network is finalized");
    if (node < 0 || node >= net->nnodes)
        return es_fail(err, ES_EINVAL, "no node %d (have %d)", node, net->nnodes);
    net->tip = node;
    return ES_OK;
}

nn_shape nn_net_node_shape(const nn_net *net, int node)
{
    if (!net || node < 0 || node >= net->nnodes) return (nn_shape){0, 0, 0};
    return net->nodes[node].out;
}

/* ---- finalize: the buffer plan ------------------------------------------------------------ */

/* Gradient buffers are shared between nodes whose gradients are never live at the same time.
 * In backward time t(j) = last - j, node i's gradient is first written by its last consumer
 * (or by the loss, t = -1, for the output) and last read by i itself: the closed interval
 * [t(last_consumer(i)), t(i)]. Intervals are packed greedily in order of birth into slots,
 * best fit by size; a slot is free for a new interval once its occupant died strictly
 * earlier. For a chain this is two slots ping-ponging; residual branches add a third. */
static int plan_grad_slots(nn_net *net, es_err *err)
{
    const int last = net->nnodes - 1;
    int *order = malloc((size_t)net->nnodes * sizeof *order);
    int *birth = malloc((size_t)net->nnodes * sizeof *birth);
    int *slot_free_after = malloc((size_t)net->nnodes * sizeof *slot_free_after);
    net->slot_sample = calloc((size_t)net->nnodes, sizeof *net->slot_sample);
    net->slot_buf = calloc((size_t)net->nnodes, sizeof *net->slot_buf);
    if (!order || !birth || !slot_free_after || !net->slot_sample || !net->slot_buf) {
        free(order);
        free(birth);
        free(slot_free_after);
        return es_fail(err, ES_ENOMEM, "out of memory planning the network");
    }
    int count = 0;
    for (int i = last; i >= 1; i--) {
        if (!net->nodes[i].want_grad) continue;
        birth[i] = i == last ? -1 : last - net->nodes[i].last_consumer;
        order[count++] = i;
    }
    /* stable insertion sort by birth (counts are small) */
    for (int a = 1; a < count; a++) {
        int v = order[a], b = a - 1;
        while (b >= 0 && birth[order[b]] > birth[v]) {
            order[b + 1] = order[b];
            b--;
        }
        order[b + 1] = v;
    }
    net->nslots = 0;
    for (int a = 0; a < count; a++) {
        const int i = order[a];
        const size_t need = nn_shape_size(net->nodes[i].out);
        int best = -1;
        for (int s = 0; s < net->nslots; s++) {
            if (slot_free_after[s] >= birth[i]) continue;
            if (best < 0) {
                best = s;
                continue;
            }
            size_t bs = net->slot_sample[best], ss = net->slot_sample[s];
            /* prefer the smallest slot that fits, else the largest (least growth) */
            if (ss >= need ? (bs < need || ss < bs) : (bs < need && ss > bs)) best = s;
        }
        if (best < 0) best = net->nslots++;
        if (net->slot_sample[best] < need) net->slot_sample[best] = need;
        slot_free_after[best] = last - i;
        net->nodes[i].slot = best;
    }
    free(order);
    free(birth);
    free(slot_free_after);
    return ES_OK;
}

int nn_net_finalize(nn_net *net, es_err *err)
{
    if (net->finalized) return es_fail(err, ES_ESTATE, "the network is already finalized");
    const int last = net->nnodes - 1;
    char b[48];
    if (last < 1) return es_fail(err, ES_ECONFIG, "the network has no layers");
    if (net->tip != last)
        return es_fail(err, ES_ECONFIG,
                       "the output must be the last layer added (the tip is \"%s\", the last "
                       "layer \"%s\")",
                       net->nodes[net->tip].name, net->nodes[last].name);
    nn_shape o = net->nodes[last].out;
    if (o.h != 1 || o.w != 1)
        return es_fail(err, ES_ECONFIG,
                       "the output layer \"%s\" gives %s; the network must end in a flat vector "
                       "of class scores (gap or flatten, then fc)",
                       net->nodes[last].name, shape_str(o, b, sizeof b));
    for (int i = 0; i <= last; i++) {
        net->nodes[i].nconsumers = 0;
        net->nodes[i].last_consumer = -1;
    }
    for (int j = 1; j <= last; j++) {
        nn_node *d = &net->nodes[j];
        for (int s = 0; s < d->nin; s++) {
            nn_node *p = &net->nodes[d->in[s]];
            p->nconsumers++;
            p->last_consumer = j;
        }
        d->want_grad = d->pw >= 0;
        for (int s = 0; s < d->nin; s++)
            d->want_grad |= net->nodes[d->in[s]].want_grad;
    }
    for (int i = 0; i < last; i++)
        if (net->nodes[i].nconsumers == 0)
            return es_fail(err, ES_ECONFIG, "the output of layer \"%s\" is never used",
                           net->nodes[i].name);
    for (int j = 1; j <= last; j++) {
        nn_node *d = &net->nodes[j];
        const nn_node *p = &net->nodes[d->in[0]];
        /* A ReLU may overwrite its producer's output when nothing else reads it and the
         * producer's own backward does not need its output (only ReLU's does: conv, fc and
         * BN read their input, pooling its argmax). */
        d->in_place =
            d->op == NN_OP_RELU && d->in[0] != 0 && p->nconsumers == 1 && p->op != NN_OP_RELU;
    }
    int *written = calloc((size_t)net->nnodes, sizeof *written);
    if (!written) return es_fail(err, ES_ENOMEM, "out of memory planning the network");
    for (int j = last; j >= 1; j--) {
        nn_node *d = &net->nodes[j];
        for (int s = 0; s < d->nin; s++) {
            d->accum[s] = written[d->in[s]];
            written[d->in[s]] = 1;
        }
    }
    free(written);
    ES_TRY(plan_grad_slots(net, err));
    net->classes = o.c;
    net->finalized = 1;
    return ES_OK;
}

/* ---- initialisation ------------------------------------------------------------------------ */

void nn_net_set_init(nn_net *net, const nn_init_opts *opts)
{
    net->init = *opts;
}

static double fan_in_of(const nn_param *w)
{
    return (double)(w->numel / (size_t)w->shape[0]);
}

static double fan_out_of(const nn_param *w)
{
    double f = w->shape[0];
    for (int i = 2; i < w->ndim; i++)
        f *= w->shape[i];
    return f;
}

static void fill_uniform(rng_stream *r, float *x, size_t n, double bound)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((2.0 * rng_uniform(r) - 1.0) * bound);
}

void nn_net_init_params(nn_net *net, uint64_t seed)
{
    for (int i = 0; i < net->nparams; i++) {
        param_rec *r = &net->params[i];
        nn_param *p = &r->pub;
        const nn_node *d = &net->nodes[p->node];
        char sname[NN_NAME_MAX + 64];
        snprintf(sname, sizeof sname, "nn.init/%s", p->name);
        rng_stream rs;
        rng_init(&rs, seed, sname);
        switch (r->role) {
        case ROLE_WEIGHT: {
            nn_init_kind kind = d->op == NN_OP_CONV ? net->init.conv : net->init.fc;
            if (kind == NN_INIT_TORCH_DEFAULT) {
                fill_uniform(&rs, p->data, p->numel, 1.0 / sqrt(fan_in_of(p)));
            } else {
                double fan = kind == NN_INIT_KAIMING_FAN_OUT ? fan_out_of(p) : fan_in_of(p);
                double sd = sqrt(2.0 / fan);
                for (size_t q = 0; q < p->numel; q++)
                    p->data[q] = (float)(sd * rng_normal(&rs));
            }
            break;
        }
        case ROLE_BIAS:
            fill_uniform(&rs, p->data, p->numel, 1.0 / sqrt(fan_in_of(&net->params[d->pw].pub)));
            break;
        case ROLE_BN_GAMMA:
        case ROLE_BN_VAR:
            for (size_t q = 0; q < p->numel; q++)
                p->data[q] = 1.0f;
            break;
        case ROLE_BN_BETA:
        case ROLE_BN_MEAN: memset(p->data, 0, p->numel * sizeof(float)); break;
        }
        if (p->grad) memset(p->grad, 0, p->numel * sizeof(float));
    }
}

int nn_net_set_conv_backend(nn_net *net, const nn_conv_backend *backend, es_err *err)
{
    if (!backend || backend->version != NN_CONV_BACKEND_VERSION)
        return es_fail(err, ES_EINVAL, "convolution backend missing or of another version");
    free_runtime(net);
    net->backend = backend;
    return ES_OK;
}

/* ---- buffers ----------------------------------------------------------------------------- */

int nn_net_reserve(nn_net *net, int max_n, es_err *err)
{
    if (!net->finalized) return es_fail(err, ES_ESTATE, "finalize the network before running it");
    if (max_n <= 0) return es_fail(err, ES_EINVAL, "batch size %d must be > 0", max_n);
    if (max_n <= net->capacity) return ES_OK;
    free_runtime(net);
    const size_t n = (size_t)max_n;
    size_t scratch = 0;
    for (int i = 1; i < net->nnodes; i++) {
        nn_node *d = &net->nodes[i];
        const size_t len = n * nn_shape_size(d->out);
        if (d->in_place) {
            d->act = net->nodes[d->in[0]].act;
        } else {
            d->own = xalloc(len * sizeof(float));
            if (!d->own) goto nomem;
            d->act = d->own;
        }
        if (d->op == NN_OP_MAXPOOL) {
            d->argmax = xalloc(len * sizeof(int32_t));
            if (!d->argmax) goto nomem;
        }
        if (d->op == NN_OP_CONV) {
            size_t s = net->backend->scratch_floats(&d->conv, max_n);
            if (s > scratch) scratch = s;
            if (net->backend->prepare) {
                int rc = net->backend->prepare(&d->conv, max_n, &d->bstate, err);
                if (rc < 0) {
                    free_runtime(net);
                    return rc;
                }
            }
        }
    }
    for (int s = 0; s < net->nslots; s++) {
        net->slot_buf[s] = xalloc(n * net->slot_sample[s] * sizeof(float));
        if (!net->slot_buf[s]) goto nomem;
    }
    for (int i = 1; i < net->nnodes; i++)
        if (net->nodes[i].slot >= 0) net->nodes[i].grad = net->slot_buf[net->nodes[i].slot];
    net->scratch = xalloc(scratch * sizeof(float));
    net->probs = xalloc(n * (size_t)net->classes * sizeof(float));
    if (!net->scratch || !net->probs) goto nomem;
    net->capacity = max_n;
    return ES_OK;
nomem:
    free_runtime(net);
    return es_fail(err, ES_ENOMEM, "out of memory reserving buffers for batch %d", max_n);
}

/* ---- forward and backward ------------------------------------------------------------------ */

static const float *act_of(const nn_net *net, int i)
{
    return i == 0 ? net->x : net->nodes[i].act;
}

static float *pdata(nn_net *net, int i)
{
    return i >= 0 ? net->params[i].pub.data : NULL;
}

static float *pgrad(nn_net *net, int i)
{
    return i >= 0 ? net->params[i].pub.grad : NULL;
}

int nn_net_forward(nn_net *net, const float *x, int n, const int32_t *labels, int training,
                   double *loss, es_err *err)
{
    if (!net->finalized) return es_fail(err, ES_ESTATE, "finalize the network before running it");
    if (n <= 0 || !x) return es_fail(err, ES_EINVAL, "forward: empty batch");
    if (n > net->capacity) ES_TRY(nn_net_reserve(net, n, err));
    net->x = x;
    net->n = n;
    net->training = training ? 1 : 0;
    net->can_backward = 0;
    for (int j = 1; j < net->nnodes; j++) {
        nn_node *d = &net->nodes[j];
        const float *in = act_of(net, d->in[0]);
        const nn_shape is = net->nodes[d->in[0]].out;
        const size_t len = (size_t)n * nn_shape_size(d->out);
        switch (d->op) {
        case NN_OP_CONV:
            net->backend->forward(d->bstate, &d->conv, n, in, pdata(net, d->pw), pdata(net, d->pb),
                                  d->act, net->scratch);
            break;
        case NN_OP_BN:
            if (net->training)
                nn_bn_forward_train(in, n, is.c, is.h * is.w, pdata(net, d->pw), pdata(net, d->pb),
                                    d->momentum, d->eps, pdata(net, d->prm), pdata(net, d->prv),
                                    d->act, d->save_mean, d->save_invstd);
            else
                nn_bn_forward_infer(in, n, is.c, is.h * is.w, pdata(net, d->pw), pdata(net, d->pb),
                                    d->eps, pdata(net, d->prm), pdata(net, d->prv), d->act,
                                    d->save_mean, d->save_invstd);
            break;
        case NN_OP_RELU: nn_relu_forward(in, d->act, len); break;
        case NN_OP_MAXPOOL:
            nn_maxpool_forward(in, n, is.c, is.h, is.w, d->k, d->stride, d->pad, d->act, d->argmax);
            break;
        case NN_OP_AVGPOOL:
            nn_avgpool_forward(in, n, is.c, is.h, is.w, d->k, d->stride, d->pad, d->act);
            break;
        case NN_OP_GAP: nn_gap_forward(in, n, is.c, is.h * is.w, d->act); break;
        case NN_OP_FLATTEN: memcpy(d->act, in, len * sizeof(float)); break;
        case NN_OP_FC:
            nn_fc_forward(in, n, is.c, pdata(net, d->pw), pdata(net, d->pb), d->out.c, d->act);
            break;
        case NN_OP_ADD: nn_add_forward(in, act_of(net, d->in[1]), d->act, len); break;
        case NN_OP_SHORTCUT_A:
            nn_shortcut_a_forward(in, n, is.c, is.h, is.w, d->out.c, d->stride, d->act);
            break;
        case NN_OP_INPUT: break;
        }
    }
    if (labels) {
        double l = 0.0;
        ES_TRY(nn_softmax_xent_forward(net->nodes[net->nnodes - 1].act, labels, n, net->classes,
                                       net->probs, &l, err));
        if (loss) *loss = l;
        net->labels = labels;
        net->can_backward = 1;
    } else if (loss) {
        *loss = 0.0;
    }
    return ES_OK;
}

int nn_net_backward(nn_net *net, es_err *err)
{
    if (!net->can_backward)
        return es_fail(err, ES_ESTATE, "backward needs a forward pass with labels first");
    const int n = net->n, last = net->nnodes - 1;
    nn_softmax_xent_backward(net->probs, net->labels, n, net->classes, net->nodes[last].grad);
    for (int j = last; j >= 1; j--) {
        nn_node *d = &net->nodes[j];
        if (!d->want_grad) continue;
        const int i0 = d->in[0];
        const nn_node *p0 = &net->nodes[i0];
        const nn_shape is = p0->out;
        float *dx = p0->want_grad ? p0->grad : NULL;
        const float *in = act_of(net, i0), *dy = d->grad;
        const size_t len = (size_t)n * nn_shape_size(d->out);
        switch (d->op) {
        case NN_OP_CONV:
            net->backend->backward(d->bstate, &d->conv, n, in, pdata(net, d->pw), dy, dx,
                                   d->accum[0], pgrad(net, d->pw), pgrad(net, d->pb), net->scratch);
            break;
        case NN_OP_BN:
            nn_bn_backward(in, dy, n, is.c, is.h * is.w, pdata(net, d->pw), d->save_mean,
                           d->save_invstd, net->training, dx, d->accum[0], pgrad(net, d->pw),
                           pgrad(net, d->pb));
            break;
        case NN_OP_RELU:
            if (dx) nn_relu_backward(d->act, dy, dx, len, d->accum[0]);
            break;
        case NN_OP_MAXPOOL:
            if (dx)
                nn_maxpool_backward(dy, d->argmax, n, is.c, is.h, is.w, d->out.h, d->out.w, dx,
                                    d->accum[0]);
            break;
        case NN_OP_AVGPOOL:
            if (dx)
                nn_avgpool_backward(dy, n, is.c, is.h, is.w, d->k, d->stride, d->pad, dx,
                                    d->accum[0]);
            break;
        case NN_OP_GAP:
            if (dx) nn_gap_backward(dy, n, is.c, is.h * is.w, dx, d->accum[0]);
            break;
        case NN_OP_FLATTEN:
            if (dx) nn_copy_backward(dy, dx, len, d->accum[0]);
            break;
        case NN_OP_FC:
            nn_fc_backward(in, dy, n, is.c, pdata(net, d->pw), d->out.c, dx, d->accum[0],
                           pgrad(net, d->pw), pgrad(net, d->pb));
            break;
        case NN_OP_ADD:
            for (int s = 0; s < 2; s++) {
                const nn_node *p = &net->nodes[d->in[s]];
                if (p->want_grad) nn_copy_backward(dy, p->grad, len, d->accum[s]);
            }
            break;
        case NN_OP_SHORTCUT_A:
            if (dx)
                nn_shortcut_a_backward(dy, n, is.c, is.h, is.w, d->out.c, d->stride, dx,
                                       d->accum[0]);
            break;
        case NN_OP_INPUT: break;
        }
    }
    return ES_OK;
}

const float *nn_net_logits(const nn_net *net)
{
    return net->capacity ? net->nodes[net->nnodes - 1].act : NULL;
}

int nn_net_classes(const nn_net *net)
{
    return net->classes;
}

nn_shape nn_net_input_shape(const nn_net *net)
{
    return net->nodes[0].out;
}

/* ---- parameters and structure ------------------------------------------------------------ */

int nn_net_num_params(const nn_net *net)
{
    return net->nparams;
}

const nn_param *nn_net_param(const nn_net *net, int i)
{
    return i >= 0 && i < net->nparams ? &net->params[i].pub : NULL;
}

int nn_net_param_find(const nn_net *net, const char *name)
{
    for (int i = 0; i < net->nparams; i++)
        if (strcmp(net->params[i].pub.name, name) == 0) return i;
    return -1;
}

size_t nn_net_param_total(const nn_net *net, int buffers)
{
    size_t t = 0;
    for (int i = 0; i < net->nparams; i++)
        if (buffers || net->params[i].pub.trainable) t += net->params[i].pub.numel;
    return t;
}

size_t nn_net_mapped_total(const nn_net *net)
{
    size_t t = 0;
    for (int i = 0; i < net->nparams; i++)
        if (net->params[i].pub.mapped) t += net->params[i].pub.numel;
    return t;
}

int nn_net_num_nodes(const nn_net *net)
{
    return net->nnodes;
}

int nn_net_node_info(const nn_net *net, int i, nn_node_info *out)
{
    if (i < 0 || i >= net->nnodes) return es_fail(NULL, ES_EINVAL, "no node %d", i);
    const nn_node *d = &net->nodes[i];
    memset(out, 0, sizeof *out);
    out->op = d->op;
    out->name = d->name;
    out->nin = i == 0 ? 0 : d->nin;
    out->in[0] = i == 0 ? -1 : d->in[0];
    out->in[1] = i == 0 || d->nin < 2 ? -1 : d->in[1];
    if (i > 0) out->in_shape = net->nodes[d->in[0]].out;
    out->out_shape = d->out;
    out->k = d->k;
    out->stride = d->stride;
    out->pad = d->pad;
    out->bias = d->bias;
    out->weight_param = (d->op == NN_OP_CONV || d->op == NN_OP_FC) ? d->pw : -1;
    return ES_OK;
}
