/* spill.h - buffer capacity in training: which activations one iteration keeps from the
 * forward pass for the backward pass, where they sit in the tiles' eDRAM (arch.edram.size per
 * tile) and what does not fit and goes to off-chip memory. hwsim turns the spilled bytes into
 * off-chip transfers (written in the forward pass, read back in the backward pass); `essim
 * config check` and `essim map` warn with the same numbers.
 *
 * What is kept, per forward op of the stream, for the whole batch (bytes as lop.h counts
 * them, activations at input_bits):
 *   mvm (a mapped layer)   its input feature map (act_in_bytes), which the layer's weight
 *                          gradient dW = X^T dY reads in the backward pass; kept only when the
 *                          stream has the layer's gradient op
 *   activation (ReLU)      the mask of positive inputs, one bit per element read
 *   pool                   the position of each window's maximum as a one-bit mask over the
 *                          input elements (average pooling needs none; the stream does not
 *                          tell them apart, so both keep it)
 *   norm                   its input (act_in_bytes): the backward pass needs x - mean
 *   eltwise                nothing (the error passes through unchanged)
 * A digital op keeps its data only when the stream has its backward op (same node).
 *
 * Where: an op's kept bytes sit in the eDRAM of the tiles of its layer (a digital op: the
 * mapped layer before it in the forward pass, else the one after, as hwsim places it),
 * spread evenly over those tiles (the first bytes % tiles tiles take one byte more). The ops
 * are placed in forward order, first come first served: each tile's share goes into what is
 * left of that tile's arch.edram.size and the rest spills. The whole eDRAM is available for
 * kept activations; the working set that streams between layers (a few rows of a feature
 * map per tile) is not counted against it. */
#ifndef ES_SPILL_H
#define ES_SPILL_H

#include <stddef.h>
#include <stdint.h>

#include "es_common.h"
#include "lop.h"
#include "map.h"

typedef struct spill_plan {
    size_t nops, nlayers;
    uint64_t *op_kept, *op_spilled; /* per op of the stream (0 for all but forward ops) */
    int *op_layer;                  /* per op: the mapped layer whose tiles hold it, -1 none */
    int *op_reader;                 /* per op: the backward/gradient op that reads it, -1 none */
    uint64_t *layer_kept, *layer_spilled; /* per mapped layer: its own and its digital ops' */
    uint64_t kept, spilled;               /* per iteration, the whole stream */
    uint64_t capacity;                    /* eDRAM of the tiles that hold weights */
} spill_plan;

/* Plan the kept activations of one iteration's stream ops[0..nops) (batch folded into the
 * counts) of the layers of plan on tiles of edram_bytes each. ES_ENOMEM, ES_EINVAL for an op
 * naming a layer the plan does not have. */
int spill_plan_create(const map_plan *plan, const lop_op *ops, size_t nops, uint64_t edram_bytes,
                      spill_plan **out, es_err *err);
void spill_plan_destroy(spill_plan *s); /* NULL is fine */

#endif
