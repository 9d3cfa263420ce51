/* wear.h - cell wear and lifetime: every mapped cell's endurance, which cells have failed
 * after the writes the scheduler made, what the failed cells do to the weights the functional
 * model trains with, and the lifetime.* statistics. Sits in arch/ beside the write-policy controller
 * (wctl.h), which hands it each iteration's keep masks; it sees the mapping (map.h)
 * and float weight arrays, never the network.
 *
 * Cells. A layer's K x N weights each have S slices of b = bits_per_cell bits and P cells per
 * slice (P = 2: differential pair, p = 0 the positive and p = 1 the negative cell; P = 1:
 * offset encoding); L = 2^b levels. Cell numbering in a layer follows weight memory
 * (W[r][c] = data[i], i = c K + r, see map.h):  cell = ((i C + k) S + s) P + p,  slice s = 0
 * the least significant, k < C the copy (C = the layer's copies, map.h "Replication"; with
 * one copy this is (i S + s) P + p).
 *
 * Copies. Every copy of a block is written when the block is, so the copies share its count;
 * each copy's cells draw their own endurance, so lifetime follows the weakest copy. The
 * functional model keeps one value per weight: a digit whose cell has failed in any copy
 * takes that copy's failure (the first failed copy in copy order). This is the pessimistic
 * choice: the chip would send each input vector to one copy, so a failure in one copy
 * corrupts only that copy's share of the vectors; ESSIM does not track that split and
 * charges the failure to all of them. S, P, b, weight_bits and the encoding are the plan's (map_plan_config),
 * so they always agree with the mapping.
 *
 * Endurance. Cell c's endurance E_c is drawn once, at creation, from cell.h's lognormal:
 * log10 E_c = mu + sigma z_c, z_c ~ N(0, 1), mu = log10(mean) - sigma^2 ln(10) / 2, so the
 * mean of E_c is arch.cell.endurance_mean (sigma = 0: E_c = the mean exactly). With it each
 * cell draws u_c ~ U[0, 1): it sticks at level L-1 (highest conductance) if u_c <
 * arch.wear.stuck_high, else at level 0. Both come from stream ("wear", layer) of the seed,
 * z then u for each cell in cell order, so the draws do not depend on stuck_high, on the
 * wear model or on any other stream.
 *
 * Counts are per block, not per cell: all cells of a block are programmed together
 * (map_block_cells), so they share one write count n_g. Cell c of block g fails on the write
 * that makes n_g > E_c and stays failed. A block keeps the smallest endurance among its
 * healthy cells, so a write costs O(1) until that minimum is passed; only then are the
 * block's cells visited. The failure set is a function of (seed, counts) alone.
 *
 * Effect on the weights (wear_apply), per layer:
 *   R = max |w| over the layer's weights that hold no failed cell (a digital per-layer
 *       scale; the worn weights must not feed back into it), or the last such R when every
 *       weight holds a failed cell (the max over all weights if there was none yet);
 *   every weight holding at least one failed cell is quantized to weight_bits wb:
 *       Q = 2^(wb-1) - 1,  q = round(w / R x Q) (half away from zero), clamped to
 *       [-2^(wb-1), Q];
 *   and split into digits d_s = floor(v / 2^(s b)) mod L of
 *       offset:        v = u = q + 2^(wb-1)           (one cell per slice),
 *       differential:  v = max(q, 0) for p = 0 and max(-q, 0) for p = 1;
 *   each failed cell's digit d becomes
 *       sudden:   its stuck level (0 or L-1), whatever was programmed;
 *       gradual:  min(d, t_c), t_c = (L-1) (G_on (n_g / E_c)^-k - G_off) / (G_on - G_off)
 *                 clamped to [0, L-1]: the highest level still reachable, with G = 1/R the
 *                 cell's on/off conductances and k = arch.wear.gradual_slope. This is the
 *                 Lammie, Rahimi Azghadi and Ielmini (Semicond. Sci. Technol. 36, 2021)
 *                 endurance picture: past the threshold, log10 R_on rises linearly in
 *                 log10(cycles) (k decades per decade) and the window closes from the top;
 *                 t_c is continuous (read as an analog conductance); stuck levels are unused;
 *   and the weight is rebuilt: offset q' = sum_s d_s 2^(s b) - 2^(wb-1), differential
 *   q' = sum_s (d_s,0 - d_s,1) 2^(s b), w' = (float)(q' R / Q). The top slice may hold more
 *   bits than wb needs; a stuck-high cell there raises q' past Q, as the shift-and-add would.
 * Weights with no failed cell are not touched at all (bit for bit); with no failed cell in a
 * layer, or when R is not a finite number > 0, wear_apply changes nothing.
 *
 * Lifetime (wear_stats): with `runs` training runs behind the counts, block g is written
 * n_g / runs times per run, so cell c of block g fails after T_c = E_c / (n_g / runs) runs
 * (+inf for a block never written). Runs to first failure = min_c T_c; to 1% and 10% of the
 * cells failed = the k-th smallest T_c with k = ceil(cells / 100), ceil(cells / 10) (+inf
 * when fewer than k cells were ever written). Exact, in a few passes over the cells and a
 * small amount of memory. */
#ifndef ES_WEAR_H
#define ES_WEAR_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "es_common.h"
#include "stats.h"
#include "map.h"

typedef struct wear_model wear_model;

/* Wear state for the layers of plan (borrowed, must outlive the model), from cfg (read, not
 * kept): arch.cell.endurance_mean, arch.cell.endurance_sigma_log10, arch.cell.r_on / r_off
 * (gradual), arch.wear.model, arch.wear.stuck_high, arch.wear.gradual_slope and seed; the cell
 * geometry from the plan. ES_ECONFIG naming the key for a value out of range (endurance_mean
 * < 1, sigma < 0, stuck_high outside [0, 1], an unknown model, a negative slope, weight_bits
 * < 2, or what cell.h rejects); ES_EINVAL for a NULL argument; ES_ENOMEM. Memory: 5 bytes per
 * cell plus 20 per block. */
int wear_create(const essim_config *cfg, const map_plan *plan, wear_model **out, es_err *err);
void wear_destroy(wear_model *w); /* NULL is fine */

/* Layer l was written this iteration: mask has one byte per block (0/1), exactly what
 * wctl_mask() gives. Every cell of a kept block gets one more write; cells whose count passes
 * their endurance fail. Returns the number of cells that failed in this call. O(blocks) with
 * O(1) per kept block, except when a block's weakest healthy cell fails (then O(its cells)). */
uint64_t wear_record(wear_model *w, size_t l, const uint8_t *mask);
/* Incremental pulses (arch.cell.update pulse): every cell of a kept block g takes n[g] more
 * units of wear (the pulses of the block's most-pulsed weight; 0: none), so endurance is
 * counted in pulses. */
uint64_t wear_record_n(wear_model *w, size_t l, const uint8_t *mask, const uint32_t *n);
/* The same for a packed mask (block g is bit g mod 8 of byte g / 8, as in a trace record):
 * O(set bits) plus a pass over the bytes. */
uint64_t wear_record_bits(wear_model *w, size_t l, const uint8_t *bits);

/* The wear state as named arrays, for checkpoints (es_put_fn / es_get_fn in es_common.h):
 * per layer the block write counts and the scale of the last wear_apply.
 * The cells' endurance and stuck levels come from the seed, and a cell has failed exactly
 * when its block's count passed its endurance, so these rebuild the whole state
 * (wear_set_counts) in a model created from the same configuration and mapping. */
void wear_save(const wear_model *w, es_put_fn put, void *ctx);
int wear_restore(wear_model *w, es_get_fn get, void *ctx, es_err *err);

/* Impose layer l's failed cells on the functional weights (K x N, weight memory layout of
 * map.h: W[r][c] = data[c K + r]), as described at the top of this file. Only weights
 * holding a failed cell may change; all others stay bit for bit. One pass over the layer for
 * R, then only the blocks with failed cells. */
void wear_apply(wear_model *w, size_t l, float *weights);

/* Failed and total cells of layer l, or of every layer for l = (size_t)-1 (0 out of range). */
uint64_t wear_failed_cells(const wear_model *w, size_t l);
uint64_t wear_cells(const wear_model *w, size_t l);

/* lifetime.* statistics in r (see the top of this file for the definitions):
 *   lifetime.endurance_mean, .endurance_sigma_log10, .cells, .cells_failed, .failed_fraction,
 *   .runs_recorded (max(runs, 1)), .runs_to_first_failure, .runs_to_1pct_failed,
 *   .runs_to_10pct_failed (+inf when never: "inf" in stats.txt/csv, null in stats.json), and
 *   vectors by layer name lifetime.by_layer.cells, .cells_failed, .runs_to_first_failure.
 * `runs` is the number of training runs the recorded counts stand for (0 counts as 1).
 * A scalar of these names that is already registered (wctl_stats registers mean-endurance
 * estimates of four of them) is overwritten with the wear model's per-cell value, so call
 * wear_stats after wctl_stats. ES_EINVAL (name clash with another kind), ES_ENOMEM. */
int wear_stats(const wear_model *w, uint64_t runs, stat_registry *r, es_err *err);

/* ---- inspection (tests, reports, checkpoints) ------------------------------------------ */

size_t wear_num_layers(const wear_model *w);
/* Layer l's per-cell endurances (cell order above; *ncells set when not NULL) and per-block
 * write counts (map_layer.blocks of them). NULL for l out of range. */
const float *wear_endurance(const wear_model *w, size_t l, uint64_t *ncells);
const uint64_t *wear_counts(const wear_model *w, size_t l);
/* Cell `cell` of layer l: 1 if failed; the level it sticks at (0 or L-1, drawn even while it
 * is healthy); the highest level it can still reach (L-1 while healthy or with the sudden
 * model; t_c above with the gradual one). */
int wear_cell_failed(const wear_model *w, size_t l, uint64_t cell);
int wear_cell_stuck_level(const wear_model *w, size_t l, uint64_t cell);
double wear_cell_window_top(const wear_model *w, size_t l, uint64_t cell);
/* Replace layer l's counts (e.g. from a checkpoint) and recompute its failures from them:
 * the state is then exactly what recording writes up to those counts would have left. */
void wear_set_counts(wear_model *w, size_t l, const uint64_t *counts);

#endif
