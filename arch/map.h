/* map.h - weight mapping: where every mapped layer's unrolled weight matrix W (K rows =
 * fan-in on the wordlines, N columns = output channels on the bitlines) lives on the chip's
 * crossbars, IMAs and tiles, and how it is cut into the blocks the write policy decides on.
 * First half of the compiler (workloads/lop_compile.h builds the layer list from a network and
 * adds the layer-op stream); the write-policy controller and the architecture model read it.
 *
 * Geometry (S = weight slices, P = cells per slice, n_w = weights one crossbar row holds):
 *   S = ceil(weight_bits / bits_per_cell);  P = 2 (differential pair) or 1 (offset);
 *   slicing across (ISAAC): every slice on its own crossbar at the same position,
 *       n_w = floor(cols / P), crossbars = row_tiles x col_tiles x S;
 *   slicing within: the S slices side by side in one row,
 *       n_w = floor(cols / (S P)), crossbars = row_tiles x col_tiles;
 *   row_tiles = ceil(K / rows), col_tiles = ceil(N / n_w).
 *
 * Blocks, and where they are in weight memory. A block is always a rectangle of W,
 * W[row0 : row0 + nrows, col0 : col0 + ncols]. Weight memory is the nn_param layout, W
 * transposed: W[r][c] is data[c * K + r]. So a block is `ncols` contiguous runs of `nrows`
 * floats, the first at data0 = col0 * K + row0, one every `stride` = K floats:
 *
 *     for (uint64_t i = 0; i < b.ncols; i++)
 *         for (uint64_t r = 0; r < b.nrows; r++) use(data[b.data0 + i * b.stride + r]);
 *
 *   row (default): block g = j K + r is W[r, j n_w : min(N, (j+1) n_w)], i.e. data[c K + r]
 *       for c in [j n_w, min(N, (j+1) n_w)): one weight per run, a strided set. G = K x
 *       col_tiles. Blocks of one column tile are contiguous and ordered by row, so the blocks
 *       of crossbar (row tile t, col tile j) are g in [j K + t rows, j K + min(K, (t+1) rows)),
 *       and a sweep of data in memory order walks the per-block arrays sequentially.
 *   crossbar: block g = j row_tiles + t is the whole tile (t, j): rows_in_tile x cols_in_tile;
 *       G = row_tiles x col_tiles.
 *   weight: block g = c K + r is the single weight W[r][c] = data[g]; G = K x N.
 * For bulk work (per-block norms of an update, a masked update) use map_block_norms2 and
 * map_blocks_apply: one pass over memory in order, no per-block index arithmetic. */
#ifndef ES_MAP_H
#define ES_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "es_common.h"

/* What the mapper needs from the configuration. Fill it with map_config_from (then change
 * fields if you like) or by hand in tests. */
typedef struct map_config {
    int64_t rows, cols;         /* crossbar wordlines, bitlines */
    int64_t bits_per_cell;      /* bits stored per cell */
    int64_t weight_bits;        /* bits per weight */
    int64_t input_bits;         /* bits per input, streamed one per crossbar read */
    int slicing;                /* CFG_SLICE_ACROSS | CFG_SLICE_WITHIN */
    int encoding;               /* CFG_ENC_OFFSET | CFG_ENC_DIFFERENTIAL */
    int granularity;            /* CFG_GRAN_ROW | CFG_GRAN_CROSSBAR | CFG_GRAN_WEIGHT */
    int64_t xbars_per_ima;      /* arch.ima.xbars */
    int64_t imas_per_tile;      /* arch.tile.imas */
    int64_t tiles;              /* arch.chip.tiles */
    int require_fit;            /* 1 (default): every weight must be resident on the chip, as in
                                   ISAAC; 0: plan anyway and report totals.fits = 0 */
    int replication;            /* CFG_REPL_NONE | CFG_REPL_BALANCE | CFG_REPL_LIST (see below) */
    const cfg_real_map *copies; /* CFG_REPL_LIST: copies per layer name (borrowed) */
} map_config;

/* Derived geometry, the same for every layer. */
typedef struct map_geometry {
    uint64_t slices;          /* S */
    uint64_t cells_per_slice; /* P */
    uint64_t weights_per_row; /* n_w */
    uint64_t xbars_per_pos;   /* crossbars per (row tile, col tile): S across, 1 within */
    uint64_t cells_per_xbar;  /* rows x cols */
} map_geometry;

/* One layer to place: K = fan-in (rows of W), N = output channels (columns of W), and the
 * input vectors one image sends through it in the forward pass (output positions Ho x Wo of
 * a convolution, 1 for a fully-connected layer; 0 is taken as 1): what balancing weighs. */
typedef struct map_layer_spec {
    const char *name; /* copied */
    uint64_t k, n;
    uint64_t positions;
} map_layer_spec;

/* One placed layer (read-only; owned by the plan). Physical crossbar slots are numbered
 * chip-wide as slot = (tile * imas_per_tile + ima_in_tile) * xbars_per_ima + xbar_in_ima, so
 * slot / xbars_per_ima is the IMA and that / imas_per_tile the tile. Every layer starts on a
 * fresh IMA (its crossbars share the IMA's input register, ADCs and shift-and-add); layers
 * may share a tile. */
typedef struct map_layer {
    char *name;
    uint64_t k, n;
    uint64_t rows;            /* crossbar rows (copied from the config for the block code) */
    uint64_t weights_per_row; /* n_w */
    uint64_t slices, cells_per_slice;
    uint64_t row_tiles, col_tiles;
    uint64_t xbars_per_pos; /* crossbars per (row tile, col tile): S across, 1 within */
    uint64_t xbars;         /* row_tiles x col_tiles x xbars_per_pos */
    uint64_t cells_used;    /* K N S P */
    double utilisation;     /* cells_used / (xbars x rows x cols) */
    uint64_t xbar0;      /* physical slot of the layer's first crossbar (= ima0 x xbars_per_ima) */
    uint64_t ima0, imas; /* first IMA, IMAs allocated: copies x imas_per_copy */
    uint64_t tile0, tiles;      /* first tile, tiles the layer touches (all its copies) */
    uint64_t positions;         /* input vectors per image in the forward pass (>= 1) */
    uint64_t copies;            /* replicas of the weights, each on its own IMAs (>= 1) */
    uint64_t imas_per_copy;     /* ceil(xbars / xbars_per_ima) */
    uint64_t copy_slots;        /* crossbar slots from one copy to the next */
    int granularity;            /* CFG_GRAN_* */
    uint64_t blocks;            /* G */
    uint64_t block_weights_max; /* weights in the largest block (edge blocks may be smaller) */
} map_layer;

typedef struct map_totals {
    uint64_t layers;
    uint64_t weights;    /* sum of K N */
    uint64_t xbars;      /* crossbars holding weights, every copy counted */
    uint64_t imas;       /* IMAs allocated (each copy of a layer rounds up to whole IMAs) */
    uint64_t tiles;      /* tiles touched: ceil(imas / imas_per_tile) */
    uint64_t copies;     /* sum over layers of their copies (= layers without replication) */
    uint64_t cells_used; /* K N S P summed over layers and copies */
    double utilisation;  /* cells_used / (xbars x rows x cols) */
    uint64_t blocks;     /* sum of G */
    uint64_t chip_xbars; /* tiles x imas_per_tile x xbars_per_ima of the configuration */
    int fits;            /* imas fit in the chip's tiles */
} map_totals;

/* Block b of a layer: the rectangle of W it covers, its crossbar position and its memory
 * runs (see the top of this file). */
typedef struct map_block {
    uint64_t row0, nrows, col0, ncols;
    uint64_t row_tile, col_tile;
    uint64_t data0, stride; /* runs of nrows floats at data0 + i * stride, i < ncols */
} map_block;

typedef struct map_plan map_plan;

/* The mapping-relevant part of a bound configuration; require_fit = 1. */
void map_config_from(const essim_config *cfg, map_config *mc);
/* Check a map_config and derive its geometry. ES_ECONFIG naming the arch.xbar key to change
 * when a crossbar row cannot hold a single weight. */
int map_geometry_derive(const map_config *mc, map_geometry *geo, es_err *err);

/* Replication (arch.map.replication). A layer of P input vectors per image and r copies
 * handles r vectors at once, so its pipeline stage takes ceil(P / r) vector times, whatever
 * its size (all its crossbars read each vector in parallel). none: r = 1. list: r from
 * mc->copies (unlisted layers 1; a layer named there must exist). balance: start from r = 1
 * and, greedily, give the layer with the largest ceil(P / r) (the earliest on a tie) the
 * fewest extra copies that lower it, while the chip has the IMAs for them; stop when that
 * layer cannot be sped up (r = P, or too few IMAs left). Copies of a layer sit on
 * consecutive IMAs: copy c of the layer's crossbars starts at slot xbar0 + c x imas_per_copy
 * x xbars_per_ima. The blocks (and the write policy) are per logical layer: writing a block
 * writes it in every copy.
 *
 * Place the layers, in order, on the chip. ES_ECONFIG when the geometry is impossible or
 * (require_fit) the network does not fit, with a message that says what to raise;
 * ES_EINVAL for a layer with K or N of 0; ES_ENOMEM. specs is read, not kept. */
int map_create(const map_config *mc, const map_layer_spec *specs, size_t n, map_plan **out,
               es_err *err);
void map_destroy(map_plan *plan); /* NULL is fine */

size_t map_num_layers(const map_plan *plan);
const map_layer *map_layer_at(const map_plan *plan, size_t i); /* NULL if out of range */
const map_totals *map_plan_totals(const map_plan *plan);
const map_geometry *map_plan_geometry(const map_plan *plan);
const map_config *map_plan_config(const map_plan *plan);

/* "row", "crossbar", "weight". */
const char *map_granularity_name(int granularity);

/* ---- blocks ---------------------------------------------------------------------------- */

/* Describe block g (0 <= g < L->blocks). ES_ERANGE otherwise. */
int map_block_get(const map_layer *L, uint64_t g, map_block *b);
/* The block holding weight W[row][col] (row < K, col < N). */
uint64_t map_block_of(const map_layer *L, uint64_t row, uint64_t col);
/* Row granularity's (row, col tile) -> block index, j K + r (for any granularity: the
 * block holding W[row][col_tile n_w]). */
uint64_t map_row_block(const map_layer *L, uint64_t row, uint64_t col_tile);
/* Weights in block g (nrows x ncols) and the cells rewritten when it is written
 * (weights x S x P: every slice, both cells of a differential pair). */
uint64_t map_block_weights(const map_layer *L, uint64_t g);
uint64_t map_block_cells(const map_layer *L, uint64_t g);
/* Crossbar row segments programmed to write block g: its rows x (S across, 1 within). */
uint64_t map_block_row_writes(const map_layer *L, uint64_t g);

/* Physical slot of the crossbar holding slice s (across: s < S; within: s = 0) of
 * position (row_tile, col_tile). Crossbars of one position are adjacent, positions ordered
 * col tile major, so the slices of a position share an IMA when S divides xbars_per_ima. */
uint64_t map_xbar_slot(const map_layer *L, uint64_t row_tile, uint64_t col_tile, uint64_t slice);
/* The same crossbar in copy `copy` (< L->copies) of the layer. */
uint64_t map_xbar_slot_copy(const map_layer *L, uint64_t copy, uint64_t row_tile, uint64_t col_tile,
                            uint64_t slice);
/* The layer's pipeline stage in vector times per image: ceil(positions / copies). */
uint64_t map_vector_times(const map_layer *L);

/* norm2[g] = sum over block g of u[i]^2, for every block; u is K x N in weight memory layout,
 * norm2 has L->blocks entries (overwritten). One pass in memory order, doubles. */
void map_block_norms2(const map_layer *L, const float *u, double *norm2);
/* w[i] += alpha * u[i] over block g. */
void map_block_axpy(const map_layer *L, uint64_t g, float alpha, const float *u, float *w);
/* w[i] += scale[block of i] * u[i] for every weight, one pass in memory order; a block with
 * scale exactly 0 is not touched at all (a dropped block keeps its weights bit for bit). */
void map_blocks_apply(const map_layer *L, const float *scale, const float *u, float *w);

#endif
