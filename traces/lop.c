/* lop.c - the names of the layer-op phases, kinds and counts (see lop.h). */
#include "lop.h"

static const char *const phase_names[LOP_NPHASE] = {"forward", "backward", "gradient", "update"};
static const char *const kind_names[LOP_NKIND] = {
    "mvm", "mvm_transposed", "gradient", "write", "activation", "pool", "batchnorm", "eltwise"};
static const char *const count_names[LOP_NCOUNT] = {
    [LOP_C_VECTORS] = "vectors",
    [LOP_C_VECTOR_LEN] = "vector_len",
    [LOP_C_OUTPUT_LEN] = "output_len",
    [LOP_C_INPUT_BITS] = "input_bits",
    [LOP_C_WEIGHT_SLICES] = "weight_slices",
    [LOP_C_XBARS] = "xbars",
    [LOP_C_MVMS] = "mvms",
    [LOP_C_XBAR_READS] = "xbar_reads",
    [LOP_C_ADC_CONVERSIONS] = "adc_conversions",
    [LOP_C_SHIFT_ADDS] = "shift_adds",
    [LOP_C_PSUM_ADDS] = "psum_adds",
    [LOP_C_BUFFER_READ_BYTES] = "buffer_read_bytes",
    [LOP_C_BUFFER_WRITE_BYTES] = "buffer_write_bytes",
    [LOP_C_ACT_IN_BYTES] = "act_in_bytes",
    [LOP_C_ACT_OUT_BYTES] = "act_out_bytes",
    [LOP_C_MACS] = "macs",
    [LOP_C_ELEMENTS] = "elements",
    [LOP_C_BLOCKS] = "blocks",
    [LOP_C_WEIGHTS_PER_BLOCK] = "weights_per_block",
    [LOP_C_CELLS_PER_BLOCK] = "cells_per_block",
    [LOP_C_ROW_WRITES_PER_BLOCK] = "row_writes_per_block",
    [LOP_C_CELLS] = "cells",
};

const char *lop_phase_name(int phase)
{
    return phase >= 0 && phase < LOP_NPHASE ? phase_names[phase] : "?";
}

const char *lop_kind_name(int kind)
{
    return kind >= 0 && kind < LOP_NKIND ? kind_names[kind] : "?";
}

const char *lop_count_name(int count)
{
    return count >= 0 && count < LOP_NCOUNT ? count_names[count] : "?";
}
