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

#include "nn_gemm.h"
#include "nn_par.h"
#include "nn_xbar.h"
#include "rng.h"

/* Batch-parallel execution: at most this many slices of a batch run side by side. */
#define NN_MAX_SLICES 8
/* ... and only when every slice has at least this many samples. */
#define NN_MIN_SLICE 8

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
    int relu_fused; /* BN or addition applying the in-place ReLU that follows it */
    int fused;      /* that ReLU: nothing left to do (its gradient slot is the producer's) */
    int relu_in;    /* max pooling applying the fused ReLU before it (nn_maxpool_relu_*) */
    int grad_alias; /* >= 0: this node's gradient is that node's (an addition's two equal
                       input gradients, written once: see nn_net_finalize) */
    nn_layout lay;  /* layout of the activation and its gradient, from nn_net_reserve */
    int want_grad; /* dL/d(out) is needed: a parameter at or upstream of this node */
    int accum[2];  /* backward adds into input s's gradient (another consumer wrote it first) */
    int slot;      /* gradient slot, -1 when no gradient is needed */
    /* buffers, from nn_net_reserve */
    float *own;  /* activation buffer owned by this node (NULL when in place) */
    float *act;  /* the activation: own, or the producer's buffer when in place */
    float *grad; /* dL/d(act), a shared slot */
    int32_t *argmax;
    /* accuracy model (nn_xbar.h), conv and fc nodes, from nn_net_reserve */
    nn_conv_desc xdesc; /* the layer as a convolution (fc: 1 x 1 over a 1 x 1 image) */
    float *wq;          /* quantized weights q s_w */
    float wscale;       /* s_w */
    int32_t *wi;        /* bit-exact: the integers q */
    xmvm_mat *xf, *xt;  /* bit-exact: W and W^T on crossbars */
    nn_xcells *cells;   /* quantized with cell errors: the weights' cells */
    double prof[2];     /* nn_net_set_profile: host seconds in forward, backward (slice 0) */
} nn_node;

struct nn_net {
    nn_node *nodes;
    int nnodes, node_cap;
    int tip;
    param_rec *params;
    int nparams, param_cap;
    uint64_t param_bytes; /* values and gradients of every parameter so far */
    /* node names by hash (node index + 1; 0 empty), so a description of 10^5 layers is not
     * checked for duplicates in quadratic time; NULL until the first add, or after a rollback */
    int *name_tab;
    size_t name_cap;
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
    double *bn_work; /* NN_BN_WORK_DOUBLES for the widest batch norm */
    /* batch-parallel mode (networks without batch norm whose convolutions may run on slices of
     * the batch concurrently): each thread runs the whole network on its slice of the batch
     * with single-threaded kernels, instead of every layer being split between threads */
    int par_ok;          /* the network qualifies */
    int par_threads;     /* slices the buffers below were sized for */
    size_t slice_scratch; /* floats of convolution scratch per slice */
    int slice_cap;       /* samples per slice the gradient slots are cut into */
    float **par_grad;    /* [par_threads - 1]: parameter gradients of slices 1.. */
    size_t *par_off;     /* offset of parameter i in those */
    int slices;          /* of the last forward: 1 = serial */
    float *probs;
    const float *x;
    const int32_t *labels;
    int n, training, can_backward;
    /* accuracy model: NN_XBAR_IDEAL leaves every path above as it is */
    nn_xbar_config xbar;
    float *xq;        /* quantized inputs (forward) or errors (backward), capacity x xq_sample */
    size_t xq_sample; /* floats per sample: the largest crossbar-layer input or output */
    float *xs;        /* per-sample scales */
    uint8_t *xsg;     /* per-sample sign modes */
    uint64_t xreads;  /* crossbar read passes so far: the index of the cell streams */
    int profile;      /* time every node (nn_net_set_profile) */
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
    net->backend = nn_conv_backend_default();
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
        free(d->wq);
        free(d->wi);
        xmvm_mat_destroy(d->xf);
        xmvm_mat_destroy(d->xt);
        nn_xcells_destroy(d->cells);
        d->cells = NULL;
        d->wq = NULL;
        d->wi = NULL;
        d->xf = d->xt = NULL;
    }
    free(net->xq);
    free(net->xs);
    free(net->xsg);
    net->xq = net->xs = NULL;
    net->xsg = NULL;
    for (int s = 0; s < net->nslots && net->slot_buf; s++) {
        free(net->slot_buf[s]);
        net->slot_buf[s] = NULL;
    }
    free(net->scratch);
    free(net->probs);
    free(net->bn_work);
    net->scratch = net->probs = NULL;
    net->bn_work = NULL;
    for (int t = 0; net->par_grad && t < net->par_threads - 1; t++)
        free(net->par_grad[t]);
    free(net->par_grad);
    free(net->par_off);
    net->par_grad = NULL;
    net->par_off = NULL;
    net->par_ok = 0;
    net->par_threads = 1;
    net->slices = 1;
    net->capacity = 0;
    net->can_backward = 0;
}

void nn_net_destroy(nn_net *net)
{
    if (!net) return;
    free_runtime(net);
    free(net->name_tab);
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

static size_t name_slot(const nn_net *net, const char *name)
{
    size_t h = (size_t)es_fnv1a64(name, strlen(name), ES_FNV1A64_INIT) & (net->name_cap - 1);
    while (net->name_tab[h] && strcmp(net->nodes[net->name_tab[h] - 1].name, name))
        h = (h + 1) & (net->name_cap - 1);
    return h;
}

/* Enter node i (its name set) into the table, rebuilding it from all nodes when it is
 * missing or half full; on no memory the table goes and check_name searches linearly. */
static void name_add(nn_net *net, int i)
{
    if (!net->name_tab || 2 * (size_t)(i + 1) > net->name_cap) {
        size_t cap = 64;
        while (cap < 4 * (size_t)(i + 1)) cap *= 2;
        free(net->name_tab);
        net->name_tab = calloc(cap, sizeof *net->name_tab);
        net->name_cap = net->name_tab ? cap : 0;
        if (!net->name_tab) return;
        for (int j = 0; j < i; j++) net->name_tab[name_slot(net, net->nodes[j].name)] = j + 1;
    }
    net->name_tab[name_slot(net, net->nodes[i].name)] = i + 1;
}

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
    int dup = 0;
    if (net->name_tab && net->name_cap)
        dup = net->name_tab[name_slot(net, name)] != 0;
    else
        for (int i = 0; i < net->nnodes && !dup; i++) dup = strcmp(net->nodes[i].name, name) == 0;
    if (dup) return es_fail(err, ES_EINVAL, "duplicate layer name \"%s\"", name);
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
    name_add(net, net->nnodes);
    net->tip = net->nnodes++;
    return net->tip;
}

/* Undo parameters created for a node that failed to commit. */
static void drop_params(nn_net *net, int keep)
{
    while (net->nparams > keep) {
        param_rec *r = &net->params[--net->nparams];
        net->param_bytes -= (uint64_t)r->pub.numel * sizeof(float) * (r->pub.trainable ? 2 : 1);
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
    /* A description file of a few bytes can ask for a layer of 10^6 outputs: say how much it
     * would take, and stop, before allocating it (the budget is an environment variable). */
    uint64_t bytes = (uint64_t)numel * sizeof(float) * (r->pub.trainable ? 2 : 1);
    uint64_t max = es_limit(ES_LIMIT_PARAM_BYTES, (uint64_t)256 << 20);
    if (numel > SIZE_MAX / 8 || net->param_bytes + bytes > max)
        return es_fail(err, ES_ERANGE,
                       "parameter %s (%zu values) takes the network's parameters and their "
                       "gradients to %llu MB, more than the limit of %llu MB (set %s to raise it)",
                       name, numel, (unsigned long long)((net->param_bytes + bytes) >> 20),
                       (unsigned long long)(max >> 20), ES_LIMIT_PARAM_BYTES);
    r->pub.name = es_strdup(name);
    r->pub.data = xalloc(numel * sizeof(float));
    r->pub.grad = r->pub.trainable ? xalloc(numel * sizeof(float)) : NULL;
    if (!r->pub.name || !r->pub.data || (r->pub.trainable && !r->pub.grad)) {
        free((char *)r->pub.name);
        free(r->pub.data);
        free(r->pub.grad);
        return es_fail(err, ES_ENOMEM, "out of memory for parameter %s", name);
    }
    net->param_bytes += bytes;
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
    free(net->name_tab); /* rebuilt from the nodes that remain at the next add */
    net->name_tab = NULL;
    net->name_cap = 0;
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
        /* a producer with a fused ReLU shares the ReLU's slot (assigned below) */
        if (!net->nodes[i].want_grad || net->nodes[i].relu_fused) continue;
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
        /* a fused ReLU's slot lives on until its producer's backward has read it */
        slot_free_after[best] = last - (net->nodes[i].fused ? net->nodes[i].in[0] : i);
        net->nodes[i].slot = best;
    }
    for (int i = 1; i <= last; i++)
        if (net->nodes[i].fused) net->nodes[net->nodes[i].in[0]].slot = net->nodes[i].slot;
    free(order);
    free(birth);
    free(slot_free_after);
    return ES_OK;
}

static int fusions = 1;

void nn_net_set_fusions(int on)
{
    fusions = on ? 1 : 0;
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
        /* ... and when that producer is a batch norm or an addition, the producer applies it
         * (one pass over the tensor instead of two, forward and backward) */
        d->fused = d->in_place && (p->op == NN_OP_BN || p->op == NN_OP_ADD) && p->want_grad;
        /* ... and when its only consumer is a max pooling, the pooling applies it (max and
         * ReLU commute: the same values and gradients, without a pass over the larger
         * tensor each way) */
        nn_node *c = d->nconsumers == 1 ? &net->nodes[d->last_consumer] : NULL;
        if (fusions && !d->fused && d->in_place && p->want_grad && c &&
            c->op == NN_OP_MAXPOOL) {
            d->fused = 1;
            c->relu_in = 1;
        }
        if (d->fused) net->nodes[d->in[0]].relu_fused = 1;
    }
    for (int j = 1; j <= last; j++)
        net->nodes[j].grad_alias = -1;
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
    /* An addition y = a + b (+ ReLU) gives a and b the same gradient. When b's gradient slot
     * is first written by this addition and stays untouched until a's backward has read it
     * (b comes before a, and no node between a and the addition reads b), a reads it there:
     * one tensor written instead of two. */
    for (int j = 1; fusions && j <= last; j++) {
        nn_node *d = &net->nodes[j];
        if (d->op != NN_OP_ADD) continue;
        const int ia = d->in[0], ib = d->in[1];
        nn_node *pa = &net->nodes[ia], *pb = &net->nodes[ib];
        if (ia == ib || ib >= ia || !pa->want_grad || !pb->want_grad || pa->nconsumers != 1 ||
            d->accum[1] || pa->relu_fused || pa->fused || pb->op == NN_OP_INPUT)
            continue;
        int clear = 1;
        for (int k = ia + 1; k < j && clear; k++)
            for (int s2 = 0; s2 < net->nodes[k].nin; s2++)
                clear &= net->nodes[k].in[s2] != ib;
        if (clear) pa->grad_alias = ib;
    }
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

int nn_net_set_xbar(nn_net *net, const nn_xbar_config *c, es_err *err)
{
    if (c->model != NN_XBAR_IDEAL) ES_TRY(xmvm_config_check(&c->xc, err));
    if (c->model == NN_XBAR_BIT_EXACT && !cellvar_ideal(&c->cells))
        return es_fail(err, ES_ECONFIG,
                       "cell programming error and read noise need accuracy.model quantized "
                       "(the bit-exact kernel sums integer levels)");
    free_runtime(net);
    net->xbar = *c;
    net->xreads = 0; /* fresh cells: their streams start again */
    return ES_OK;
}

/* ---- buffers ----------------------------------------------------------------------------- */

/* Node kinds that can keep the blocked layout (their own kernels exist for it). */
static int b16_kind(nn_op op)
{
    return op == NN_OP_CONV || op == NN_OP_BN || op == NN_OP_RELU || op == NN_OP_ADD ||
           op == NN_OP_SHORTCUT_A;
}

/* Choose each activation's layout: blocked when the backend takes it, the channel count is a
 * multiple of 16 (no padded lanes), the node's inputs are blocked too (convolutions excepted:
 * they read either) and every consumer reads blocked input (convolutions, global average
 * pooling, and blocked element-wise / batch-norm / shortcut nodes). Pooling, flatten and fully
 * connected layers read NCHW, so a tensor feeding them stays NCHW. */
static void plan_layouts(nn_net *net)
{
    const int b16 = ((net->backend->layouts >> NN_LAYOUT_B16) & 1) &&
                    net->xbar.model != NN_XBAR_BIT_EXACT; /* its kernels are NCHW */
    for (int j = 0; j < net->nnodes; j++) {
        nn_node *d = &net->nodes[j];
        d->lay = b16 && j > 0 && b16_kind(d->op) && d->out.c % NN_B16 == 0 &&
                         (d->op == NN_OP_CONV || d->out.h * d->out.w > 1)
                     ? NN_LAYOUT_B16
                     : NN_LAYOUT_NCHW;
    }
    for (int changed = 1; changed;) {
        changed = 0;
        for (int j = 1; j < net->nnodes; j++) {
            nn_node *d = &net->nodes[j];
            if (d->lay != NN_LAYOUT_B16) continue;
            int ok = 1;
            if (d->op != NN_OP_CONV)
                for (int s = 0; s < d->nin; s++)
                    ok &= net->nodes[d->in[s]].lay == NN_LAYOUT_B16;
            for (int k = j + 1; k < net->nnodes && ok; k++) {
                const nn_node *c = &net->nodes[k];
                for (int s = 0; s < c->nin; s++)
                    if (c->in[s] == j && c->op != NN_OP_CONV && c->op != NN_OP_GAP &&
                        c->lay != NN_LAYOUT_B16)
                        ok = 0;
            }
            if (!ok) {
                d->lay = NN_LAYOUT_NCHW;
                changed = 1;
            }
        }
    }
    for (int j = 1; j < net->nnodes; j++) {
        nn_node *d = &net->nodes[j];
        if (d->op != NN_OP_CONV) continue;
        d->conv.src_layout = net->nodes[d->in[0]].lay;
        d->conv.dst_layout = d->lay;
    }
}

/* The accuracy model's buffers: quantized weights per crossbar layer (and, bit-exact, W and
 * W^T on crossbars), quantized vectors and per-sample scales for n samples. */
static int reserve_xbar(nn_net *net, size_t n)
{
    size_t per = 1;
    for (int i = 1; i < net->nnodes; i++) {
        nn_node *d = &net->nodes[i];
        if (d->op != NN_OP_CONV && d->op != NN_OP_FC) continue;
        const nn_shape is = net->nodes[d->in[0]].out;
        per = ES_MAX(per, ES_MAX(nn_shape_size(is), nn_shape_size(d->out)));
        if (d->op == NN_OP_CONV)
            d->xdesc = d->conv;
        else if (nn_conv_desc_init(&d->xdesc, is.c, 1, 1, d->out.c, 1, 1, 0, d->bias, NULL) < 0)
            return ES_EINVAL;
        const int K = d->xdesc.cin * d->xdesc.k * d->xdesc.k, M = d->xdesc.cout;
        const size_t numel = (size_t)K * M;
        if (!(d->wq = xalloc(numel * sizeof *d->wq))) return ES_ENOMEM;
        const int noisy = !cellvar_ideal(&net->xbar.cells);
        if (noisy && nn_xcells_create(numel, &net->xbar.xc, &d->cells, NULL) < 0)
            return ES_ENOMEM;
        if (noisy && !(d->wi = xalloc(numel * sizeof *d->wi))) return ES_ENOMEM;
        if (net->xbar.model == NN_XBAR_BIT_EXACT) {
            if (!(d->wi = xalloc(numel * sizeof *d->wi))) return ES_ENOMEM;
            if (xmvm_mat_create(&net->xbar.xc, M, K, &d->xf, NULL) < 0 ||
                xmvm_mat_create(&net->xbar.xc, K, M, &d->xt, NULL) < 0)
                return ES_ENOMEM;
        }
    }
    net->xq_sample = per;
    net->xq = xalloc(n * per * sizeof *net->xq);
    net->xs = xalloc(n * sizeof *net->xs);
    net->xsg = xalloc(n);
    return net->xq && net->xs && net->xsg ? ES_OK : ES_ENOMEM;
}

int nn_net_reserve(nn_net *net, int max_n, es_err *err)
{
    if (!net->finalized) return es_fail(err, ES_ESTATE, "finalize the network before running it");
    if (max_n <= 0) return es_fail(err, ES_EINVAL, "batch size %d must be > 0", max_n);
    if (max_n <= net->capacity) return ES_OK;
    free_runtime(net);
    plan_layouts(net);
    const size_t n = (size_t)max_n;
    size_t scratch = 0, bn_work = 0;
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
        if (d->op == NN_OP_BN && NN_BN_WORK_DOUBLES(n, d->out.c) > bn_work)
            bn_work = NN_BN_WORK_DOUBLES(n, d->out.c);
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
    if (net->xbar.model != NN_XBAR_IDEAL && reserve_xbar(net, n) < 0) goto nomem;
    /* batch-parallel mode: no batch norm (it couples the samples), every convolution NCHW on a
     * backend that allows concurrent calls on slices */
    net->par_ok = nn_par_threads() > 1 && (net->backend->flags & NN_CONV_SLICES);
    for (int i = 1; i < net->nnodes && net->par_ok; i++) {
        const nn_node *d = &net->nodes[i];
        if (d->op == NN_OP_BN ||
            (d->op == NN_OP_CONV &&
             (d->conv.src_layout != NN_LAYOUT_NCHW || d->conv.dst_layout != NN_LAYOUT_NCHW)))
            net->par_ok = 0;
    }
    if (net->par_ok) {
        const int T = ES_MIN(nn_par_threads(), NN_MAX_SLICES);
        const int per = (max_n + T - 1) / T;
        net->slice_cap = per;
        size_t ss = 0, total = 0;
        for (int i = 1; i < net->nnodes; i++)
            if (net->nodes[i].op == NN_OP_CONV) {
                size_t v = net->backend->scratch_floats(&net->nodes[i].conv, per);
                if (v > ss) ss = v;
            }
        net->slice_scratch = (ss + 15) & ~(size_t)15;
        if (net->slice_scratch * T > scratch) scratch = net->slice_scratch * T;
        net->par_off = calloc((size_t)net->nparams + 1, sizeof *net->par_off);
        net->par_grad = calloc((size_t)T, sizeof *net->par_grad);
        if (!net->par_off || !net->par_grad) goto nomem;
        net->par_threads = T;
        for (int i = 0; i < net->nparams; i++) {
            net->par_off[i] = total;
            if (net->params[i].pub.trainable) total += (net->params[i].pub.numel + 15) & ~(size_t)15;
        }
        for (int t = 0; t < T - 1; t++)
            if (!(net->par_grad[t] = xalloc(total * sizeof(float)))) goto nomem;
    }
    const size_t slot_n = net->par_ok ? ES_MAX(n, (size_t)net->par_threads * net->slice_cap) : n;
    for (int s = 0; s < net->nslots; s++) {
        net->slot_buf[s] = xalloc(slot_n * net->slot_sample[s] * sizeof(float));
        if (!net->slot_buf[s]) goto nomem;
    }
    for (int i = 1; i < net->nnodes; i++)
        if (net->nodes[i].slot >= 0) net->nodes[i].grad = net->slot_buf[net->nodes[i].slot];
    net->scratch = xalloc(scratch * sizeof(float));
    net->probs = xalloc(n * (size_t)net->classes * sizeof(float));
    net->bn_work = xalloc((bn_work ? bn_work : 1) * sizeof(double));
    if (!net->scratch || !net->probs || !net->bn_work) goto nomem;
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

/* Parameter i's gradient as written by slice t. */
static float *pgrad_t(nn_net *net, int t, int i)
{
    if (i < 0) return NULL;
    return t == 0 ? net->params[i].pub.grad : net->par_grad[t - 1] + net->par_off[i];
}

/* Node i's activation from sample n0 on. */
static const float *sl_act(const nn_net *net, int i, int n0)
{
    return act_of(net, i) + (size_t)n0 * nn_shape_size(net->nodes[i].out);
}

/* Slices a batch of n runs in: the thread count the buffers were planned for, when the network
 * qualifies, that many threads are available and every slice gets NN_MIN_SLICE samples; else
 * 1 (layer by layer, threaded inside the layers). */
static int slices_for(const nn_net *net, int n)
{
    const int T = net->par_threads;
    if (!net->par_ok || T < 2 || nn_par_threads() < T || n / T < NN_MIN_SLICE) return 1;
    return T;
}

/* Node d's gradient for slice t starting at sample n0. Gradient slots are shared by nodes of
 * different sizes, so in batch-parallel mode each slice owns a fixed region of every slot
 * (slice_cap samples of the slot's largest size): slices never touch each other's regions,
 * whichever layer each of them is at. */
static float *sl_grad(const nn_net *net, const nn_node *d, int t, int n0)
{
    if (net->slices > 1)
        return net->slot_buf[d->slot] + (size_t)t * net->slice_cap * net->slot_sample[d->slot];
    return d->grad + (size_t)n0 * nn_shape_size(d->out);
}

static int slice_start(int n, int T, int t)
{
    return (int)((long long)n * t / T);
}

static int slice_index(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static float *slice_scratch(nn_net *net, int t)
{
    return net->scratch + (size_t)t * net->slice_scratch;
}

/* Program this forward pass's weights: quantize every crossbar layer's weights (bit-exact:
 * and pack W and W^T). Serial, before any slice runs. */
static void program_xbar(nn_net *net)
{
    for (int i = 1; i < net->nnodes; i++) {
        nn_node *d = &net->nodes[i];
        if (d->op != NN_OP_CONV && d->op != NN_OP_FC) continue;
        const size_t K = (size_t)d->xdesc.cin * d->xdesc.k * d->xdesc.k;
        d->wscale = nn_xq_weights(pdata(net, d->pw), K * (size_t)d->xdesc.cout,
                                  net->xbar.xc.weight_bits, d->wq, d->wi);
        if (d->xf) {
            xmvm_mat_set(d->xf, d->wi, K, 1);
            xmvm_mat_set(d->xt, d->wi, 1, K);
        }
        if (d->cells) {
            char name[NN_NAME_MAX + 32];
            rng_stream prog, rd;
            snprintf(name, sizeof name, "cell.program/%s", d->name);
            rng_init_indexed(&prog, net->xbar.seed, name, net->xreads);
            snprintf(name, sizeof name, "cell.read/%s", d->name);
            rng_init_indexed(&rd, net->xbar.seed, name, net->xreads);
            nn_xcells_weights(d->cells, &net->xbar.xc, &net->xbar.cells, d->wi, d->wscale, &prog,
                              &rd, d->wq);
        }
    }
    net->xreads++;
}

/* A conv or fc node's forward pass under the accuracy model, samples [n0, n0 + n). */
static int xbar_forward(nn_net *net, nn_node *d, int n0, int n, const float *in, float *out,
                        float *scratch, es_err *err)
{
    const nn_shape is = net->nodes[d->in[0]].out;
    float *xq = net->xq + (size_t)n0 * net->xq_sample, *xs = net->xs + n0;
    uint8_t *sg = net->xsg + n0;
    nn_xq_samples(in, n, nn_shape_size(is), net->xbar.xc.input_bits, xq, xs, sg);
    const float *b = pdata(net, d->pb);
    if (net->xbar.model == NN_XBAR_BIT_EXACT)
        return nn_xbar_conv_forward(&d->xdesc, n, xq, xs, sg, d->xf, d->wscale, b, out, err);
    if (d->op == NN_OP_FC) {
        nn_fc_forward(xq, n, is.c, d->wq, b, d->out.c, out);
        return ES_OK;
    }
    if (net->backend->forward(d->bstate, &d->conv, n, xq, d->wq, b, out, scratch) < 0)
        return es_fail(err, ES_ENOMEM, "layer \"%s\": the %s convolution failed", d->name,
                       net->backend->name);
    return ES_OK;
}

/* Its backward pass: the errors dy enter the transposed crossbars quantized; the weight
 * gradient is digital (dy_q x^T). */
static int xbar_backward(nn_net *net, nn_node *d, int t, int n0, int n, const float *in,
                         const float *dy, float *dx, float *scratch, es_err *err)
{
    const nn_shape is = net->nodes[d->in[0]].out;
    float *dq = net->xq + (size_t)n0 * net->xq_sample, *xs = net->xs + n0;
    uint8_t *sg = net->xsg + n0;
    nn_xq_samples(dy, n, nn_shape_size(d->out), net->xbar.xc.input_bits, dq, xs, sg);
    const int exact = net->xbar.model == NN_XBAR_BIT_EXACT;
    float *fdx = exact ? NULL : dx;
    if (d->op == NN_OP_FC)
        nn_fc_backward(in, dq, n, is.c, d->wq, d->out.c, fdx, d->accum[0], pgrad_t(net, t, d->pw),
                       pgrad_t(net, t, d->pb));
    else if (net->backend->backward(d->bstate, &d->conv, n, in, d->wq, dq, fdx, d->accum[0],
                                    pgrad_t(net, t, d->pw), pgrad_t(net, t, d->pb), scratch) < 0)
        return es_fail(err, ES_ENOMEM, "layer \"%s\": the %s convolution failed", d->name,
                       net->backend->name);
    if (exact && dx)
        return nn_xbar_conv_backward_data(&d->xdesc, n, dq, xs, sg, d->xt, d->wscale, dx,
                                          d->accum[0], err);
    return ES_OK;
}

/* Forward over samples [n0, n0 + n) of the batch (every buffer offset accordingly), with its
 * own convolution scratch: the whole batch, or one thread's slice in batch-parallel mode.
 * *loss_sum (labels only) receives the slice's summed cross-entropy. */
static int forward_slice(nn_net *net, int n0, int n, float *scratch, const int32_t *labels,
                         double *loss_sum, es_err *err)
{
    const int prof = net->profile && n0 == 0;
    for (int j = 1; j < net->nnodes; j++) {
        nn_node *d = &net->nodes[j];
        const double t0 = prof ? es_host_seconds() : 0.0;
        const float *in = sl_act(net, d->in[0], n0);
        float *out = d->act + (size_t)n0 * nn_shape_size(d->out);
        const nn_shape is = net->nodes[d->in[0]].out;
        const size_t len = (size_t)n * nn_shape_size(d->out);
        switch (d->op) {
        case NN_OP_CONV:
            if (net->xbar.model != NN_XBAR_IDEAL) {
                ES_TRY(xbar_forward(net, d, n0, n, in, out, scratch, err));
                break;
            }
            if (net->backend->forward(d->bstate, &d->conv, n, in, pdata(net, d->pw),
                                      pdata(net, d->pb), out, scratch) < 0)
                return es_fail(err, ES_ENOMEM, "layer \"%s\": the %s convolution failed",
                               d->name, net->backend->name);
            break;
        case NN_OP_BN:
            if (net->training)
                nn_bn_forward_train_ex(in, n, is.c, is.h * is.w, d->lay, pdata(net, d->pw),
                                       pdata(net, d->pb), d->momentum, d->eps, pdata(net, d->prm),
                                       pdata(net, d->prv), out, d->save_mean, d->save_invstd,
                                       d->relu_fused, net->bn_work);
            else
                nn_bn_forward_infer_ex(in, n, is.c, is.h * is.w, d->lay, pdata(net, d->pw),
                                       pdata(net, d->pb), d->eps, pdata(net, d->prm),
                                       pdata(net, d->prv), out, d->save_mean, d->save_invstd,
                                       d->relu_fused);
            break;
        case NN_OP_RELU:
            if (!d->fused) nn_relu_forward(in, out, len);
            break;
        case NN_OP_MAXPOOL:
            nn_maxpool_relu_forward(in, n, is.c, is.h, is.w, d->k, d->stride, d->pad, d->relu_in,
                                    out, d->argmax + (size_t)n0 * nn_shape_size(d->out));
            break;
        case NN_OP_AVGPOOL:
            nn_avgpool_forward(in, n, is.c, is.h, is.w, d->k, d->stride, d->pad, out);
            break;
        case NN_OP_GAP:
            if (net->nodes[d->in[0]].lay == NN_LAYOUT_B16)
                nn_gap_forward_b16(in, n, is.c, is.h * is.w, out);
            else
                nn_gap_forward(in, n, is.c, is.h * is.w, out);
            break;
        case NN_OP_FLATTEN: memcpy(out, in, len * sizeof(float)); break;
        case NN_OP_FC:
            if (net->xbar.model != NN_XBAR_IDEAL) {
                ES_TRY(xbar_forward(net, d, n0, n, in, out, scratch, err));
                break;
            }
            nn_fc_forward(in, n, is.c, pdata(net, d->pw), pdata(net, d->pb), d->out.c, out);
            break;
        case NN_OP_ADD:
            if (d->relu_fused)
                nn_add_relu_forward(in, sl_act(net, d->in[1], n0), out, len);
            else
                nn_add_forward(in, sl_act(net, d->in[1], n0), out, len);
            break;
        case NN_OP_SHORTCUT_A:
            if (d->lay == NN_LAYOUT_B16)
                nn_shortcut_a_forward_b16(in, n, is.c, is.h, is.w, d->out.c, d->stride, out);
            else
                nn_shortcut_a_forward(in, n, is.c, is.h, is.w, d->out.c, d->stride, out);
            break;
        case NN_OP_INPUT: break;
        }
        if (prof) d->prof[0] += es_host_seconds() - t0;
    }
    if (labels) {
        const nn_node *o = &net->nodes[net->nnodes - 1];
        const size_t off = (size_t)n0 * net->classes;
        double l = 0.0;
        ES_TRY(nn_softmax_xent_forward(o->act + off, labels + n0, n, net->classes,
                                       net->probs + off, &l, err));
        *loss_sum = l * n;
    }
    return ES_OK;
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
    if (net->xbar.model != NN_XBAR_IDEAL) program_xbar(net);
    const int T = slices_for(net, n);
    double lsum[NN_MAX_SLICES] = {0};
    int rc = ES_OK;
    if (T > 1) {
        int rcs[NN_MAX_SLICES] = {0};
        es_err errs[NN_MAX_SLICES];
        const int saved = nn_gemm_serial_begin();
#ifdef _OPENMP
#pragma omp parallel num_threads(T)
#endif
        {
            const int t = slice_index();
            if (t < T)
                rcs[t] = forward_slice(net, slice_start(n, T, t), slice_start(n, T, t + 1) -
                                       slice_start(n, T, t), slice_scratch(net, t), labels,
                                       &lsum[t], &errs[t]);
        }
        nn_gemm_serial_end(saved);
        for (int t = 0; t < T && rc == ES_OK; t++)
            if (rcs[t] < 0) {
                rc = rcs[t];
                if (err) *err = errs[t];
            }
    } else {
        rc = forward_slice(net, 0, n, net->scratch, labels, &lsum[0], err);
    }
    if (rc < 0) return rc;
    if (labels) {
        double l = 0.0;
        for (int t = 0; t < (T > 1 ? T : 1); t++)
            l += lsum[t];
        if (loss) *loss = l / n;
        net->labels = labels;
        net->can_backward = 1;
        net->slices = T;
    } else if (loss) {
        *loss = 0.0;
    }
    return ES_OK;
}

/* Backward over samples [n0, n0 + n) of a batch of ntot; slice t's parameter gradients go to
 * the parameters (t = 0) or to that slice's private copies, summed afterwards. */
static int backward_slice(nn_net *net, int n0, int n, int ntot, int t, float *scratch, es_err *err)
{
    const int last = net->nnodes - 1;
    {
        /* softmax cross-entropy: dlogits = (probs - onehot(label)) / ntot */
        const int k = net->classes;
        const float inv = 1.0f / (float)ntot;
        const float *pr = net->probs + (size_t)n0 * k;
        float *dl = sl_grad(net, &net->nodes[last], t, n0);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < k; j++)
                dl[(size_t)i * k + j] = pr[(size_t)i * k + j] * inv;
            dl[(size_t)i * k + net->labels[n0 + i]] -= inv;
        }
    }
    const int prof = net->profile && t == 0;
    for (int j = last; j >= 1; j--) {
        nn_node *d = &net->nodes[j];
        if (!d->want_grad) continue;
        const double t0 = prof ? es_host_seconds() : 0.0;
        const int i0 = d->in[0];
        const nn_node *p0 = &net->nodes[i0];
        const nn_shape is = p0->out;
        const size_t oo = (size_t)n0 * nn_shape_size(d->out);
        float *dx = p0->want_grad ? sl_grad(net, p0, t, n0) : NULL;
        const float *in = sl_act(net, i0, n0),
                    *dy = sl_grad(net, d->grad_alias >= 0 ? &net->nodes[d->grad_alias] : d, t, n0);
        const float *act = d->act + oo;
        const size_t len = (size_t)n * nn_shape_size(d->out);
        switch (d->op) {
        case NN_OP_CONV:
            if (net->xbar.model != NN_XBAR_IDEAL) {
                ES_TRY(xbar_backward(net, d, t, n0, n, in, dy, dx, scratch, err));
                break;
            }
            if (net->backend->backward(d->bstate, &d->conv, n, in, pdata(net, d->pw), dy, dx,
                                       d->accum[0], pgrad_t(net, t, d->pw), pgrad_t(net, t, d->pb),
                                       scratch) < 0)
                return es_fail(err, ES_ENOMEM, "layer \"%s\": the %s convolution failed",
                               d->name, net->backend->name);
            break;
        case NN_OP_BN:
            nn_bn_backward_ex(in, dy, d->relu_fused ? pdata(net, d->pb) : NULL, n, is.c,
                              is.h * is.w, d->lay,
                              pdata(net, d->pw), d->save_mean, d->save_invstd, net->training, dx,
                              d->accum[0], pgrad_t(net, t, d->pw), pgrad_t(net, t, d->pb), net->bn_work);
            break;
        case NN_OP_RELU:
            if (dx && !d->fused) nn_relu_backward(act, dy, dx, len, d->accum[0]);
            break;
        case NN_OP_MAXPOOL:
            if (dx)
                nn_maxpool_relu_backward(dy, d->argmax + oo, d->relu_in ? act : NULL, n, is.c,
                                         is.h, is.w, d->out.h, d->out.w, dx,
                                    d->accum[0]);
            break;
        case NN_OP_AVGPOOL:
            if (dx)
                nn_avgpool_backward(dy, n, is.c, is.h, is.w, d->k, d->stride, d->pad, dx,
                                    d->accum[0]);
            break;
        case NN_OP_GAP:
            if (dx && p0->lay == NN_LAYOUT_B16)
                nn_gap_backward_b16(dy, n, is.c, is.h * is.w, dx, d->accum[0]);
            else if (dx)
                nn_gap_backward(dy, n, is.c, is.h * is.w, dx, d->accum[0]);
            break;
        case NN_OP_FLATTEN:
            if (dx) nn_copy_backward(dy, dx, len, d->accum[0]);
            break;
        case NN_OP_FC:
            if (net->xbar.model != NN_XBAR_IDEAL) {
                ES_TRY(xbar_backward(net, d, t, n0, n, in, dy, dx, scratch, err));
                break;
            }
            nn_fc_backward(in, dy, n, is.c, pdata(net, d->pw), d->out.c, dx, d->accum[0],
                           pgrad_t(net, t, d->pw), pgrad_t(net, t, d->pb));
            break;
        case NN_OP_ADD: {
            const nn_node *pa = &net->nodes[d->in[0]], *pb = &net->nodes[d->in[1]];
            float *da = pa->want_grad && pa->grad_alias < 0 ? sl_grad(net, pa, t, n0) : NULL,
                  *db = pb->want_grad ? sl_grad(net, pb, t, n0) : NULL;
            if (d->relu_fused)
                nn_add_relu_backward(act, dy, da, d->accum[0], db, d->accum[1], len);
            else {
                if (da) nn_copy_backward(dy, da, len, d->accum[0]);
                if (db) nn_copy_backward(dy, db, len, d->accum[1]);
            }
            break;
        }
        case NN_OP_SHORTCUT_A:
            if (dx && d->lay == NN_LAYOUT_B16)
                nn_shortcut_a_backward_b16(dy, n, is.c, is.h, is.w, d->out.c, d->stride, dx,
                                           d->accum[0]);
            else if (dx)
                nn_shortcut_a_backward(dy, n, is.c, is.h, is.w, d->out.c, d->stride, dx,
                                       d->accum[0]);
            break;
        case NN_OP_INPUT: break;
        }
        if (prof) d->prof[1] += es_host_seconds() - t0;
    }
    return ES_OK;
}

void nn_net_set_profile(nn_net *net, int on)
{
    net->profile = on ? 1 : 0;
    for (int i = 0; i < net->nnodes; i++)
        net->nodes[i].prof[0] = net->nodes[i].prof[1] = 0.0;
}

int nn_net_profile(const nn_net *net, int i, double *fwd_s, double *bwd_s)
{
    if (i < 0 || i >= net->nnodes) return -1;
    *fwd_s = net->nodes[i].prof[0];
    *bwd_s = net->nodes[i].prof[1];
    return 0;
}

/* Slice 0's parameter gradients plus the other slices', in slice order, for the elements
 * [lo, hi) of the parameters laid end to end (par_off); each element's sum is the same
 * whichever thread does it. */
static void reduce_slices(nn_net *net, int T, size_t lo, size_t hi)
{
    for (int i = 0; i < net->nparams; i++) {
        nn_param *p = &net->params[i].pub;
        const size_t a = net->par_off[i], b = a + p->numel;
        if (!p->trainable || b <= lo || a >= hi) continue;
        const size_t e0 = (lo > a ? lo : a) - a, e1 = (hi < b ? hi : b) - a;
        for (int sl = 1; sl < T; sl++) {
            const float *q = net->par_grad[sl - 1] + a;
            for (size_t e = e0; e < e1; e++)
                p->grad[e] += q[e];
        }
    }
}

int nn_net_backward(nn_net *net, es_err *err)
{
    if (!net->can_backward)
        return es_fail(err, ES_ESTATE, "backward needs a forward pass with labels first");
    const int n = net->n, T = net->slices;
    if (T <= 1) return backward_slice(net, 0, n, n, 0, net->scratch, err);
    int rcs[NN_MAX_SLICES] = {0};
    es_err errs[NN_MAX_SLICES];
    size_t total = 0;
    for (int i = 0; i < net->nparams; i++)
        total = ES_MAX(total, net->par_off[i] + net->params[i].pub.numel);
    const int saved = nn_gemm_serial_begin();
#ifdef _OPENMP
#pragma omp parallel num_threads(T)
#endif
    {
        const int t = slice_index();
        if (t < T)
            rcs[t] = backward_slice(net, slice_start(n, T, t),
                                    slice_start(n, T, t + 1) - slice_start(n, T, t), n, t,
                                    slice_scratch(net, t), &errs[t]);
        /* then the parameter gradients, each thread summing its share of the elements (in
         * parallel: half the cross-core traffic each, instead of one thread pulling every
         * other slice's gradients) */
#ifdef _OPENMP
#pragma omp barrier
#endif
        int ok = 1;
        for (int u = 0; u < T; u++)
            ok &= rcs[u] >= 0;
        if (ok && t < T)
            reduce_slices(net, T, total * (size_t)t / (size_t)T,
                          total * (size_t)(t + 1) / (size_t)T);
    }
    nn_gemm_serial_end(saved);
    for (int t = 0; t < T; t++)
        if (rcs[t] < 0) {
            if (err) *err = errs[t];
            return rcs[t];
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
