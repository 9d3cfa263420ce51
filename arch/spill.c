/* spill.c - the kept activations of a training iteration against the tiles' eDRAM (see
 * spill.h): what each forward op keeps, on which tiles, and what overflows off chip. */
#include "spill.h"

#include <stdlib.h>

void spill_plan_destroy(spill_plan *s)
{
    if (!s) return;
    free(s->op_kept);
    free(s->op_spilled);
    free(s->op_layer);
    free(s->op_reader);
    free(s->layer_kept);
    free(s->layer_spilled);
    free(s);
}

/* Bytes the forward op keeps for its backward reader (spill.h). */
static uint64_t kept_bytes(const lop_op *p)
{
    switch (p->kind) {
    case LOP_MVM:
    case LOP_NORM:
        return p->n[LOP_C_ACT_IN_BYTES];
    case LOP_ACTIVATION:
    case LOP_POOL:
        return (p->n[LOP_C_ELEMENTS] + 7) / 8;
    default:
        return 0;
    }
}

int spill_plan_create(const map_plan *plan, const lop_op *ops, size_t nops, uint64_t edram_bytes,
                      spill_plan **out, es_err *err)
{
    *out = NULL;
    spill_plan *s = calloc(1, sizeof *s);
    size_t nl = map_num_layers(plan), n1 = nops ? nops : 1, l1 = nl ? nl : 1;
    uint64_t tiles = 0;
    for (size_t l = 0; l < nl; l++) {
        const map_layer *L = map_layer_at(plan, l);
        if (L->tile0 + L->tiles > tiles) tiles = L->tile0 + L->tiles;
    }
    uint64_t *free_b = calloc(tiles ? tiles : 1, sizeof *free_b);
    if (!s || !free_b || !(s->op_kept = calloc(n1, sizeof(uint64_t))) ||
        !(s->op_spilled = calloc(n1, sizeof(uint64_t))) ||
        !(s->op_layer = malloc(n1 * sizeof(int))) || !(s->op_reader = malloc(n1 * sizeof(int))) ||
        !(s->layer_kept = calloc(l1, sizeof(uint64_t))) ||
        !(s->layer_spilled = calloc(l1, sizeof(uint64_t)))) {
        free(free_b);
        spill_plan_destroy(s);
        return es_fail(err, ES_ENOMEM, "out of memory");
    }
    s->nops = nops;
    s->nlayers = nl;
    for (size_t i = 0; i < nops; i++) {
        s->op_layer[i] = -1;
        s->op_reader[i] = -1;
        if (ops[i].layer >= 0 && (size_t)ops[i].layer >= nl) {
            free(free_b);
            spill_plan_destroy(s);
            return es_fail(err, ES_EINVAL, "op %zu names layer %d of a %zu-layer mapping", i,
                           (int)ops[i].layer, nl);
        }
    }
    for (uint64_t t = 0; t < tiles; t++)
        free_b[t] = edram_bytes;
    {
        const map_totals *mt = map_plan_totals(plan);
        s->capacity = mt->tiles * edram_bytes;
    }
    /* Home layers of the forward ops: their own, else the mapped op before (after) them. */
    int last = -1;
    for (size_t i = 0; i < nops; i++) {
        if (ops[i].phase != LOP_FORWARD) continue;
        if (ops[i].layer >= 0) last = ops[i].layer;
        s->op_layer[i] = last;
    }
    int next = -1;
    for (size_t i = nops; i-- > 0;) {
        if (ops[i].phase != LOP_FORWARD) continue;
        if (ops[i].layer >= 0) next = ops[i].layer;
        if (s->op_layer[i] < 0) s->op_layer[i] = next;
    }
    /* Readers: a mapped layer's gradient op, a digital op's backward op. */
    for (size_t i = 0; i < nops; i++) {
        const lop_op *p = &ops[i];
        if (p->phase != LOP_FORWARD) continue;
        for (size_t j = 0; j < nops; j++) {
            const lop_op *q = &ops[j];
            if (p->kind == LOP_MVM ? (q->phase == LOP_GRADIENT && q->layer == p->layer)
                                   : (q->phase == LOP_BACKWARD && q->layer < 0 &&
                                      q->node == p->node)) {
                s->op_reader[i] = (int)j;
                break;
            }
        }
    }
    /* Place in forward order. */
    for (size_t i = 0; i < nops; i++) {
        int l = s->op_layer[i];
        if (ops[i].phase != LOP_FORWARD || s->op_reader[i] < 0 || l < 0) continue;
        uint64_t k = kept_bytes(&ops[i]);
        if (!k) continue;
        const map_layer *L = map_layer_at(plan, (size_t)l);
        uint64_t nt = L->tiles ? L->tiles : 1, sp = 0;
        for (uint64_t j = 0; j < nt; j++) {
            uint64_t t = L->tile0 + j;
            uint64_t share = k / nt + (j < k % nt);
            uint64_t fit = share < free_b[t] ? share : free_b[t];
            free_b[t] -= fit;
            sp += share - fit;
        }
        s->op_kept[i] = k;
        s->op_spilled[i] = sp;
        s->layer_kept[l] += k;
        s->layer_spilled[l] += sp;
        s->kept += k;
        s->spilled += sp;
    }
    free(free_b);
    *out = s;
    return ES_OK;
}
