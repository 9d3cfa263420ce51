/* lop.h - the layer-op records: the template of operations one training iteration makes the
 * chip execute (per layer and phase, with their sizes). workloads/lop_compile.h builds the
 * stream from a network; arch/ runs it, live or from a trace; traces/ stores it.
 *
 * The stream is a flat array of lop_op records, each with a fixed set of LOP_NCOUNT unsigned
 * 64-bit counts named by lop_count_name(), so a trace stores it as a table. Order: every
 * forward record in network order, then the backward records in reverse order, then the
 * gradient records (reverse order), then the update records (network order). Within a phase
 * this is the dependency order; how phases overlap is the architecture model's business.
 *
 * What each kind counts (B = batch, P_o = output positions Ho Wo of a conv, 1 for fc, V = B P_o
 * input vectors, K x N the layer's W, RT/CT row/col tiles, S slices, P cells per slice,
 * I = input_bits; bytes are ceil(elements x I / 8): activations and errors travel at input_bits
 * precision, weights and gradients at weight_bits):
 *   mvm (forward): V vectors of K elements go to each of the layer's crossbars (its row
 *       tile's share), bit-serially: mvms = V x crossbars, xbar_reads = mvms x I;
 *       adc_conversions = V x I x RT x N x S x P (every used bitline is converted once per
 *       read; a differential pair is two bitlines, subtracted after conversion);
 *       shift_adds = adc_conversions (each converted value is shifted by its input-bit and
 *       slice weight and accumulated); psum_adds = V x N x (RT - 1) (row tiles' partial sums);
 *       buffer_read_bytes = V K (unrolled input vectors, eDRAM -> IMA input registers),
 *       buffer_write_bytes = V N (outputs -> eDRAM); act_in_bytes / act_out_bytes = the input /
 *       output feature maps, what travels between the producer's and this layer's tiles.
 *   mvm_transposed (backward, every mapped layer with a mapped layer upstream): V error
 *       vectors of N elements drive the columns, the rows are sensed. A row mixes every
 *       column, so the S slices are read one after another even within one crossbar:
 *       mvms = V x RT x CT x S, xbar_reads = mvms x I, adc_conversions = V x I x S x CT x K
 *       (a differential pair is driven with +/- inputs, so a row needs one conversion);
 *       psum_adds = V x K x (CT - 1); elements = V x K for a conv (col2im accumulation into
 *       the input error map), 0 for fc; buffer bytes: V N read, V K written.
 *   gradient (digital gradient unit): macs = V x K x N; buffer_read_bytes = V (K + N) at I
 *       bits (unrolled activations and output errors), buffer_write_bytes = K N at weight_bits.
 *   write (update): blocks = G, weights_per_block / cells_per_block / row_writes_per_block of
 *       the largest block (cells = weights x S x P), cells = K N S P; which blocks are written
 *       comes per iteration from the policy, exact per-block sizes from map.h.
 *   activation / pool / batchnorm / eltwise (the tile's digital units, for ReLU, max/average/
 *       global pooling, batch normalisation, residual addition and option-A shortcuts):
 *       elements = B x the elements read (both inputs of an addition; only the kept positions
 *       of a strided shortcut); backward: B x the input-error elements produced. Flatten is a
 *       reshape and has no record; the loss and softmax (B x classes) are left out: they are
 *       negligible next to the layers. Digital nodes with no mapped layer upstream have no
 *       backward record (nothing needs their error). */
#ifndef ES_LOP_H
#define ES_LOP_H

#include <stdint.h>

typedef enum { LOP_FORWARD, LOP_BACKWARD, LOP_GRADIENT, LOP_UPDATE, LOP_NPHASE } lop_phase;

typedef enum {
    LOP_MVM,        /* crossbar read, rows driven (forward) */
    LOP_MVM_T,      /* crossbar read, columns driven (error propagation) */
    LOP_GRAD,       /* weight gradient in the digital gradient unit */
    LOP_WRITE,      /* crossbar programming of the blocks the policy picks */
    LOP_ACTIVATION, /* ReLU */
    LOP_POOL,       /* max / average / global average pooling */
    LOP_NORM,       /* batch normalisation */
    LOP_ELTWISE,    /* residual addition, option-A shortcut */
    LOP_NKIND
} lop_kind;

/* The counts of a record (unused ones are 0). The order is part of the trace format: append,
 * never reorder. */
typedef enum {
    LOP_C_VECTORS,       /* input vectors per crossbar (mvm, mvm_transposed, gradient) */
    LOP_C_VECTOR_LEN,    /* elements per input vector (K forward, N backward) */
    LOP_C_OUTPUT_LEN,    /* elements produced per vector (N forward, K backward) */
    LOP_C_INPUT_BITS,    /* bits per input element, one per crossbar read */
    LOP_C_WEIGHT_SLICES, /* S */
    LOP_C_XBARS,         /* crossbars of the layer */
    LOP_C_MVMS,          /* vector x crossbar (x slice, transposed) products */
    LOP_C_XBAR_READS,    /* crossbar read cycles: mvms x input bits */
    LOP_C_ADC_CONVERSIONS,
    LOP_C_SHIFT_ADDS,
    LOP_C_PSUM_ADDS, /* digital partial-sum additions across tiles */
    LOP_C_BUFFER_READ_BYTES,
    LOP_C_BUFFER_WRITE_BYTES,
    LOP_C_ACT_IN_BYTES,  /* feature map (or error map) received */
    LOP_C_ACT_OUT_BYTES, /* feature map (or error map) produced */
    LOP_C_MACS,          /* gradient unit multiply-accumulates */
    LOP_C_ELEMENTS,      /* digital element operations */
    LOP_C_BLOCKS,        /* update: blocks of the layer, G */
    LOP_C_WEIGHTS_PER_BLOCK,
    LOP_C_CELLS_PER_BLOCK,
    LOP_C_ROW_WRITES_PER_BLOCK,
    LOP_C_CELLS, /* update: cells holding the layer's weights */
    LOP_NCOUNT
} lop_count;

typedef struct lop_op {
    int32_t layer; /* index into the map_plan's layers, -1 for a digital node */
    int32_t node;  /* nn_net node index */
    uint8_t phase; /* lop_phase */
    uint8_t kind;  /* lop_kind */
    uint64_t n[LOP_NCOUNT];
} lop_op;

/* Names for reports and traces: "forward"..., "mvm"..., "vectors"... ("?" if unknown). */
const char *lop_phase_name(int phase);
const char *lop_kind_name(int kind);
const char *lop_count_name(int count);

#endif
