/* lop_compile.c - network -> mapped-layer list -> layer-op stream. The formulas of every count
 * are written down once, in traces/lop.h; this file follows them node by node. */
#include "config.h"

#include "lop_compile.h"

#include "map_trace.h"

#include <stdlib.h>
#include <string.h>

struct lop_stream {
    lop_op *ops;
    size_t n, cap;
    int batch;
};

int lop_dataset_shape(int dataset, nn_shape *in, int *classes)
{
    /* The same shapes the loaders produce (and the trainer's synthetic set); a table here so
     * that mapping a network never has to read the images. */
    switch (dataset) {
    case CFG_DS_FASHION_MNIST:
    case CFG_DS_MNIST:
    case CFG_DS_SYNTHETIC:
        *in = (nn_shape){1, 28, 28};
        *classes = 10;
        return ES_OK;
    case CFG_DS_CIFAR10:
        *in = (nn_shape){3, 32, 32};
        *classes = 10;
        return ES_OK;
    case CFG_DS_CIFAR100:
        *in = (nn_shape){3, 32, 32};
        *classes = 100;
        return ES_OK;
    default: return ES_EINVAL;
    }
}

int lop_layer_specs(const nn_net *net, map_layer_spec **specs, size_t *n, es_err *err)
{
    int np = nn_net_num_params(net);
    size_t count = 0;
    *specs = NULL;
    *n = 0;
    for (int i = 0; i < np; i++)
        count += nn_net_param(net, i)->mapped ? 1 : 0;
    map_layer_spec *s = calloc(count ? count : 1, sizeof *s);
    if (!s) return es_fail(err, ES_ENOMEM, "out of memory listing mapped layers");
    size_t k = 0;
    for (int i = 0; i < np; i++) {
        const nn_param *p = nn_net_param(net, i);
        if (!p->mapped) continue;
        nn_node_info info;
        if (nn_net_node_info(net, p->node, &info) < 0) {
            free(s);
            return es_fail(err, ES_EINVAL, "parameter %s has no node", p->name);
        }
        s[k].name = info.name;
        s[k].k = (uint64_t)p->rows;
        s[k].n = (uint64_t)p->cols;
        s[k].positions = info.op == NN_OP_CONV
                             ? (uint64_t)info.out_shape.h * (uint64_t)info.out_shape.w
                             : 1;
        k++;
    }
    *specs = s;
    *n = count;
    return ES_OK;
}

int lop_map_net(const map_config *mc, const nn_net *net, map_plan **out, es_err *err)
{
    map_layer_spec *specs;
    size_t n;
    *out = NULL;
    ES_TRY(lop_layer_specs(net, &specs, &n, err));
    int rc = map_create(mc, specs, n, out, err);
    free(specs);
    return rc;
}

/* ---- the stream ------------------------------------------------------------------------- */

static lop_op *push(lop_stream *s, int layer, int node, int phase, int kind)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        lop_op *ops = realloc(s->ops, cap * sizeof *ops);
        if (!ops) return NULL;
        s->ops = ops;
        s->cap = cap;
    }
    lop_op *op = &s->ops[s->n++];
    memset(op, 0, sizeof *op);
    op->layer = layer;
    op->node = node;
    op->phase = (uint8_t)phase;
    op->kind = (uint8_t)kind;
    return op;
}

static uint64_t bytes_of(uint64_t elements, uint64_t bits)
{
    return (elements * bits + 7) / 8;
}

/* What the compiler needs per node, gathered once. */
typedef struct node_ctx {
    nn_node_info info;
    int layer;    /* mapped layer index or -1 */
    int upstream; /* a mapped layer lies before this node's input: its error is needed */
} node_ctx;

static int digital_kind(nn_op op)
{
    switch (op) {
    case NN_OP_RELU: return LOP_ACTIVATION;
    case NN_OP_MAXPOOL:
    case NN_OP_AVGPOOL:
    case NN_OP_GAP: return LOP_POOL;
    case NN_OP_BN: return LOP_NORM;
    case NN_OP_ADD:
    case NN_OP_SHORTCUT_A: return LOP_ELTWISE;
    default: return -1; /* input, flatten: no work */
    }
}

static int emit_mapped(lop_stream *s, const map_plan *plan, const node_ctx *nc, int node, int phase)
{
    const map_layer *L = map_layer_at(plan, (size_t)nc->layer);
    const map_config *mc = map_plan_config(plan);
    uint64_t B = (uint64_t)s->batch, I = (uint64_t)mc->input_bits;
    uint64_t K = L->k, N = L->n, S = L->slices, P = L->cells_per_slice;
    uint64_t RT = L->row_tiles, CT = L->col_tiles;
    uint64_t pos = nc->info.op == NN_OP_CONV
                       ? (uint64_t)nc->info.out_shape.h * (uint64_t)nc->info.out_shape.w
                       : 1;
    uint64_t V = B * pos;
    uint64_t in_el = B * nn_shape_size(nc->info.in_shape);
    uint64_t out_el = B * nn_shape_size(nc->info.out_shape);
    int kind = phase == LOP_FORWARD    ? LOP_MVM
               : phase == LOP_BACKWARD ? LOP_MVM_T
               : phase == LOP_GRADIENT ? LOP_GRAD
                                       : LOP_WRITE;
    lop_op *op = push(s, nc->layer, node, phase, kind);
    if (!op) return ES_ENOMEM;
    uint64_t *c = op->n;
    if (phase != LOP_GRADIENT) {
        c[LOP_C_WEIGHT_SLICES] = S;
        c[LOP_C_XBARS] = L->xbars;
    }
    switch (phase) {
    case LOP_FORWARD:
        c[LOP_C_VECTORS] = V;
        c[LOP_C_VECTOR_LEN] = K;
        c[LOP_C_OUTPUT_LEN] = N;
        c[LOP_C_INPUT_BITS] = I;
        c[LOP_C_MVMS] = V * L->xbars;
        c[LOP_C_XBAR_READS] = V * L->xbars * I;
        c[LOP_C_ADC_CONVERSIONS] = V * I * RT * N * S * P;
        c[LOP_C_SHIFT_ADDS] = c[LOP_C_ADC_CONVERSIONS];
        c[LOP_C_PSUM_ADDS] = V * N * (RT - 1);
        c[LOP_C_BUFFER_READ_BYTES] = bytes_of(V * K, I);
        c[LOP_C_BUFFER_WRITE_BYTES] = bytes_of(V * N, I);
        c[LOP_C_ACT_IN_BYTES] = bytes_of(in_el, I);
        c[LOP_C_ACT_OUT_BYTES] = bytes_of(out_el, I);
        break;
    case LOP_BACKWARD:
        c[LOP_C_VECTORS] = V;
        c[LOP_C_VECTOR_LEN] = N;
        c[LOP_C_OUTPUT_LEN] = K;
        c[LOP_C_INPUT_BITS] = I;
        c[LOP_C_MVMS] = V * RT * CT * S;
        c[LOP_C_XBAR_READS] = V * RT * CT * S * I;
        c[LOP_C_ADC_CONVERSIONS] = V * I * S * CT * K;
        c[LOP_C_SHIFT_ADDS] = c[LOP_C_ADC_CONVERSIONS];
        c[LOP_C_PSUM_ADDS] = V * K * (CT - 1);
        c[LOP_C_ELEMENTS] = nc->info.op == NN_OP_CONV ? V * K : 0;
        c[LOP_C_BUFFER_READ_BYTES] = bytes_of(V * N, I);
        c[LOP_C_BUFFER_WRITE_BYTES] = bytes_of(V * K, I);
        c[LOP_C_ACT_IN_BYTES] = bytes_of(out_el, I);
        c[LOP_C_ACT_OUT_BYTES] = bytes_of(in_el, I);
        break;
    case LOP_GRADIENT:
        c[LOP_C_VECTORS] = V;
        c[LOP_C_VECTOR_LEN] = K;
        c[LOP_C_OUTPUT_LEN] = N;
        c[LOP_C_MACS] = V * K * N;
        c[LOP_C_BUFFER_READ_BYTES] = bytes_of(V * (K + N), I);
        c[LOP_C_BUFFER_WRITE_BYTES] = bytes_of(K * N, (uint64_t)mc->weight_bits);
        break;
    default: {
        /* The largest block is block 0 in every granularity (edge tiles only shrink). */
        uint64_t g_max = map_block_weights(L, 0), rows_max = map_block_row_writes(L, 0);
        c[LOP_C_BLOCKS] = L->blocks;
        c[LOP_C_WEIGHTS_PER_BLOCK] = g_max;
        c[LOP_C_CELLS_PER_BLOCK] = g_max * S * P;
        c[LOP_C_ROW_WRITES_PER_BLOCK] = rows_max;
        c[LOP_C_CELLS] = L->cells_used;
        break;
    }
    }
    return ES_OK;
}

static int emit_digital(lop_stream *s, uint64_t input_bits, const node_ctx *ctx, int node,
                        int phase)
{
    const node_ctx *nc = &ctx[node];
    int kind = digital_kind(nc->info.op);
    if (kind < 0) return ES_OK;
    uint64_t B = (uint64_t)s->batch;
    uint64_t out_el = B * nn_shape_size(nc->info.out_shape);
    uint64_t in_el = 0; /* every input, as read */
    for (int i = 0; i < nc->info.nin; i++)
        in_el += B * nn_shape_size(ctx[nc->info.in[i]].info.out_shape);
    uint64_t read_el = in_el;
    if (nc->info.op == NN_OP_SHORTCUT_A) /* reads only the kept (strided) positions */
        read_el = B * (uint64_t)nc->info.in_shape.c * (uint64_t)nc->info.out_shape.h *
                  (uint64_t)nc->info.out_shape.w;
    lop_op *op = push(s, -1, node, phase, kind);
    if (!op) return ES_ENOMEM;
    if (phase == LOP_FORWARD) {
        op->n[LOP_C_ELEMENTS] = read_el;
        op->n[LOP_C_ACT_IN_BYTES] = bytes_of(in_el, input_bits);
        op->n[LOP_C_ACT_OUT_BYTES] = bytes_of(out_el, input_bits);
    } else {
        op->n[LOP_C_ELEMENTS] = in_el;
        op->n[LOP_C_ACT_IN_BYTES] = bytes_of(out_el, input_bits);
        op->n[LOP_C_ACT_OUT_BYTES] = bytes_of(in_el, input_bits);
    }
    return ES_OK;
}

int lop_compile(const map_plan *plan, const nn_net *net, int batch, lop_stream **out, es_err *err)
{
    *out = NULL;
    if (batch < 1) return es_fail(err, ES_EINVAL, "batch must be positive (got %d)", batch);
    int nn = nn_net_num_nodes(net);
    node_ctx *ctx = calloc((size_t)(nn > 0 ? nn : 1), sizeof *ctx);
    lop_stream *s = calloc(1, sizeof *s);
    int rc = ES_OK;
    if (!ctx || !s) goto nomem;
    s->batch = batch;
    for (int i = 0; i < nn; i++) {
        ctx[i].layer = -1;
        if (nn_net_node_info(net, i, &ctx[i].info) < 0) {
            rc = es_fail(err, ES_EINVAL, "network node %d has no description", i);
            goto fail;
        }
    }
    /* Mapped layers are numbered in parameter order, exactly as lop_layer_specs lists them,
     * so plan layer i is the i-th mapped parameter. */
    size_t nl = 0;
    for (int i = 0; i < nn_net_num_params(net); i++) {
        const nn_param *p = nn_net_param(net, i);
        if (!p->mapped) continue;
        const map_layer *L = map_layer_at(plan, nl);
        if (!L || L->k != (uint64_t)p->rows || L->n != (uint64_t)p->cols) {
            rc = es_fail(err, ES_EINVAL,
                         "the mapping does not match the network at %s (%d x %d): map it "
                         "with lop_map_net from the same network",
                         p->name, p->rows, p->cols);
            goto fail;
        }
        ctx[p->node].layer = (int)nl++;
    }
    if (nl != map_num_layers(plan)) {
        rc = es_fail(err, ES_EINVAL, "the mapping has %zu layers, the network %zu mapped layers",
                     map_num_layers(plan), nl);
        goto fail;
    }
    /* Nodes are stored after their inputs, so one forward sweep settles `upstream`. */
    for (int i = 1; i < nn; i++)
        for (int k = 0; k < ctx[i].info.nin; k++) {
            int p = ctx[i].info.in[k];
            if (ctx[p].layer >= 0 || ctx[p].upstream) ctx[i].upstream = 1;
        }
    uint64_t I = (uint64_t)map_plan_config(plan)->input_bits;
    for (int i = 1; i < nn && rc == ES_OK; i++)
        rc = ctx[i].layer >= 0 ? emit_mapped(s, plan, &ctx[i], i, LOP_FORWARD)
                               : emit_digital(s, I, ctx, i, LOP_FORWARD);
    for (int i = nn - 1; i >= 1 && rc == ES_OK; i--) {
        if (!ctx[i].upstream) continue; /* nothing before it needs its input error */
        rc = ctx[i].layer >= 0 ? emit_mapped(s, plan, &ctx[i], i, LOP_BACKWARD)
                               : emit_digital(s, I, ctx, i, LOP_BACKWARD);
    }
    for (int i = nn - 1; i >= 1 && rc == ES_OK; i--)
        if (ctx[i].layer >= 0) rc = emit_mapped(s, plan, &ctx[i], i, LOP_GRADIENT);
    for (int i = 1; i < nn && rc == ES_OK; i++)
        if (ctx[i].layer >= 0) rc = emit_mapped(s, plan, &ctx[i], i, LOP_UPDATE);
    if (rc == ES_ENOMEM) goto nomem;
    if (rc < 0) goto fail;
    free(ctx);
    *out = s;
    return ES_OK;
nomem:
    rc = es_fail(err, ES_ENOMEM, "out of memory compiling the layer-op stream");
fail:
    free(ctx);
    lop_destroy(s);
    return rc;
}

void lop_destroy(lop_stream *s)
{
    if (!s) return;
    free(s->ops);
    free(s);
}

const lop_op *lop_ops(const lop_stream *s, size_t *n)
{
    *n = s->n;
    return s->ops;
}

int lop_batch(const lop_stream *s)
{
    return s->batch;
}

void lop_totals(const lop_stream *s, int phase, uint64_t total[LOP_NCOUNT])
{
    memset(total, 0, LOP_NCOUNT * sizeof *total);
    for (size_t i = 0; i < s->n; i++) {
        if (phase >= 0 && s->ops[i].phase != phase) continue;
        for (int k = 0; k < LOP_NCOUNT; k++)
            total[k] += s->ops[i].n[k];
    }
}

int lop_trace_hdr(trace_hdr *th, const essim_config *cfg, const nn_net *net, const map_plan *plan,
                  const char *net_name, const char *producer, es_err *err)
{
    ES_TRY(trace_hdr_build_config(th, cfg, net_name, producer, err));
    lop_stream *s = NULL;
    int rc = lop_compile(plan, net, (int)cfg->train.batch, &s, err);
    if (rc == ES_OK) rc = map_trace_layers(th, plan, err);
    if (rc == ES_OK) rc = trace_hdr_set_ops(th, s->ops, s->n, err);
    lop_destroy(s);
    if (rc < 0) trace_hdr_free(th);
    return rc;
}
