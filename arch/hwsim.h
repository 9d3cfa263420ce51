/* hwsim.h - the event-driven execution of training iterations on the modelled chip: the
 * layer-op stream of traces/lop.h (live from `essim run`, or from a trace in `essim
 * simulate`) run on the chip of chip.h with the placement of map.h, time coming from
 * events on shared resources, energy from the components' per-action figures.
 *
 * Jobs. Every op of the stream is executed per input image of the mini-batch (B images), and
 * an op with input vectors (mvm, mvm_transposed, gradient) per chunk of at most `chunk` of the
 * image's vectors (sim.chunk; sim.detail full uses 1, one event per vector). A job passes its
 * stages in order; each stage reserves a resource first come, first served at the time the
 * job arrives there, holds it for the job's occupancy, and hands the job on after the stage's
 * latency. Stages by kind (per chunk of n vectors, counts per vector from the op record):
 *   mvm / mvm_transposed:  [off-chip link: the network input, first forward op only]
 *                          eDRAM read (buffer_read_bytes)  -> eDRAM-to-IMA bus (same bytes)
 *                          -> the layer's IMAs (n x reads per vector and crossbar position /
 *                             crossbars per position x read_cycle; all the layer's IMAs work
 *                             in lockstep, each on its own positions)
 *                          -> tile shift-and-add (psum_adds, when the layer has row tiles
 *                             to add)  -> eDRAM write (buffer_write_bytes)
 *                          (a layer whose copies span tiles: after the IMAs, the chunk's
 *                          partial sums cross the NoC to the summing tiles first, hwsim_noc.c)
 *   gradient:              eDRAM read -> the gradient units of the layer's tiles (macs)
 *   activation / norm:     eDRAM read -> activation units (elements) -> eDRAM write
 *   pool:                  eDRAM read -> max-pool units -> eDRAM write
 *   eltwise:               eDRAM read -> tile shift-and-add (elements) -> eDRAM write
 * A stage on a layer that spans several tiles reserves that resource on every one of them
 * with its share of the work, all starting together. Digital ops run on the tile of the
 * mapped op before them in their phase (the producer's tile). When an image's last chunk of
 * an op is done and the next op of the phase sits on another tile, the image's output
 * (act_out_bytes / B) crosses the NoC: wormhole, XY routes over the concentrated mesh, each
 * router output port on the route (the link it drives; the ejection port at the end)
 * reserved for the message's flits from the head's arrival (noc.h figures). A replicated
 * layer's image first goes from its first tile to its copies' tiles (broadcast; the image
 * issues when the last share has arrived). hwsim_noc.c has the traffic model.
 *
 * Buffer capacity (spill.h): the activations the backward pass needs are kept in the eDRAM
 * of their layer's tiles; what does not fit costs an off-chip stage at the end of the
 * forward op that keeps it (written out) and one at the start of the op that needs it
 * (gradient, or the digital op's backward: read back), on the off-chip links with their
 * bandwidth, latency and energy per byte.
 *
 * Dependencies. Within a phase the ops form a chain per image in stream order (the
 * compiler's dependency order; branches of a residual block are serialised per image, while
 * different images overlap: op k works on image b + 1 while op k + 1 works on image b). An
 * op issues its images in order, one chunk after the other as its first stage frees. The
 * backward phase starts when the whole batch's forward is done (batch normalisation needs the
 * batch's statistics). The gradient op of layer l waits for the error at l's output: the
 * backward op before l's transposed read in the chain (the last backward op when l has none).
 *
 * Writes. The policy's kept blocks (a mask per layer) become row writes: a block of row r of
 * position (row tile, col tile) is one row segment on each of the position's crossbars. A
 * crossbar's rows are programmed one at a time (cell.h's write latency each; with incremental
 * pulses, the block's most pulses on one weight times the pulse: hw_set_pulses); a write-driver
 * set stays with one crossbar until its rows are done ("session"). At most arch.wdrv.per_tile
 * sessions run at once in a tile and arch.wdrv.per_chip in the chip; sessions wait FIFO per
 * tile. A layer's sessions are released when its gradient and transposed reads are complete
 * (sim.overlap_writes) or when the iteration's compute is complete; the next iteration starts
 * when every write is done (weights are written once per batch).
 *
 * Reuse (sim.detail fast). The compute phases of every iteration are identical in time and
 * energy (the same ops on the same resources), and writes use only the drivers and the
 * crossbars of layers whose compute is over, so they cannot perturb compute. The fast mode
 * simulates the compute phases once and keeps their end, every layer's release time, the
 * stalls and the energy; each iteration then simulates only its write sessions. sim.detail
 * full simulates every iteration whole, one event per vector; the tests check that both agree
 * within 0.1% on time and energy.
 *
 * Partial batches (hw_iteration_n). The last mini-batch of an epoch may hold b < B images: its
 * compute runs the same op stream for b images (jobs, chunks, transfers and stalls of b
 * images, simulated; fast mode keeps that compute apart, for the last b seen), and its dynamic
 * compute energy and its IMAs' and gradient units' busy leakage are b / B of the full batch's
 * (every one of those is per image: reads, conversions, MACs, bytes, spills), except the
 * gradient units' write-out of the weight gradients, once per batch. Writes do not depend
 * on b. The spill plan stays the full batch's: a partial batch spills its images'
 * share of it, although fewer images might fit the eDRAM (an overestimate, small when the
 * partial batch is rare).
 *
 * Residual buffer (hw_options.residual). A write policy that keeps a digital residual per
 * weight (policy.residual's error feedback, threshold training) needs a buffer of one value
 * of arch.gu.residual_bits per mapped weight (not per copy: the copies get the same writes),
 * an SRAM with the gradient unit's per-byte energy, area and leakage. It is always powered
 * (it holds state from one iteration to the next): its leakage runs through every interval.
 * Each iteration adds every weight's update to it (a read and a write per value) and reads
 * out and clears the written blocks' values (a read and a write each), charged to the update
 * interval; its time is taken as hidden (LeNet-5: 246 KB per iteration spread over the
 * tiles' SRAM ports, well under a microsecond). Its area is added to hw.area_mm2.
 *
 * Time by phase partitions each iteration: forward = until the forward barrier, backward =
 * until the last backward job, gradient = until the last gradient job (0 when hidden behind
 * backward), update = the rest (write time not hidden behind compute). Energy by phase: each
 * op's dynamic energy in its phase, writes in update, and the leakage of each interval.
 *
 * Leakage (static power, every unit's from its own arch.*.leakage key). Without power gating
 * every unit of the chip leaks all the time. With arch.chip.power_gating, per interval of
 * the time partition: a tile is on when ops of the interval run on it (the backward interval
 * counts the weight-gradient ops, which run beside the backward reads; the update interval
 * the tiles with write sessions this iteration), a router when one of its tiles is on or a
 * message between consecutive ops of the interval crosses it (XY route); an IMA leaks only
 * while it reads (its share of the layer's read occupancy: analytical, not per event) and
 * wakes once per read op; a tile's gradient unit likewise leaks only while it computes (its
 * share of the layer's gradient occupancy) and wakes once per gradient op; the off-chip links and the chip-level rest always. An interval that turns on tiles or
 * routers the previous interval (cyclically) had off pays arch.chip.wakeup_time once (added
 * to it) and, per woken unit, its leakage over arch.chip.wakeup_breakeven. The tiles keep
 * their eDRAM powered while on; a tile that is off holds no activation the iteration still
 * needs (its layers have no work left in the iteration). hw.energy_j_idle is the static and
 * wake-up part, hw.energy_j_busy the rest. Stalls (hw.stall_s_by_cause.*) are job-seconds: the time work was ready but
 * waited for a resource held by other work, by resource; "adc" is the read-cycle time beyond
 * the crossbar cycle when the ADCs cannot keep up; "write_wait" the time the next iteration
 * waits for writes after compute is done.
 *
 * Units: time in ps (sim_time), energy in pJ inside, J and s in the statistics. */
#ifndef ES_HWSIM_H
#define ES_HWSIM_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "chip.h"
#include "lop.h"
#include "es_common.h"
#include "stats.h"
#include "map.h"

typedef struct hw_sim hw_sim;

/* Energy components (hw.energy_j_by_component.*). */
enum {
    HW_E_XBAR,
    HW_E_DAC,
    HW_E_SH,
    HW_E_ADC,
    HW_E_IMA_SA,
    HW_E_IMA_REG,
    HW_E_TILE_SA,
    HW_E_ACT,
    HW_E_POOL,
    HW_E_EDRAM,
    HW_E_BUS,
    HW_E_GU,
    HW_E_NOC,
    HW_E_OFFCHIP,
    HW_E_WRITE,
    HW_E_RESIDUAL,   /* the residual buffer: every update added, written blocks read and cleared */
    HW_E_LEAK_IMA,   /* IMAs' static power while they read (all the time without gating) */
    HW_E_LEAK_TILE,  /* the rest of the tiles that are on (eDRAM, bus, units, drivers) */
    HW_E_LEAK_GU,    /* gradient units' static power while they compute (all the time without gating) */
    HW_E_LEAK_NOC,   /* routers that are on */
    HW_E_LEAK_CHIP,  /* off-chip links and the chip-level rest */
    HW_E_LEAK_RESIDUAL, /* the residual buffer, always on (it holds state between iterations) */
    HW_E_WAKEUP,     /* waking gated units */
    HW_NE
};

/* NoC traffic by kind (hw.noc.bytes_*). */
enum { HW_NOC_ACT, HW_NOC_BCAST, HW_NOC_PSUM, HW_NOC_NKIND };

/* Stall causes (hw.stall_s_by_cause.*). */
enum {
    HW_C_EDRAM,
    HW_C_BUS,
    HW_C_CROSSBAR,
    HW_C_ADC,
    HW_C_TILE_SA,
    HW_C_ACT,
    HW_C_POOL,
    HW_C_GU,
    HW_C_NOC,
    HW_C_OFFCHIP,
    HW_C_WDRV_TILE,
    HW_C_WDRV_CHIP,
    HW_C_WRITE_WAIT,
    HW_NC
};

const char *hw_energy_name(int e);
const char *hw_cause_name(int c);

typedef struct hw_options {
    int detail;          /* CFG_DETAIL_* */
    uint64_t chunk;      /* vectors per compute event (fast); full uses 1 */
    int overlap_writes;  /* see the top of this file */
    const char *timeline; /* Chrome trace-event JSON file, or NULL */
    uint64_t timeline_iterations;
    int pulses;           /* arch.cell.update pulse: writes may be charged by their pulses */
    int64_t max_pulses;   /* then the longest train of one update (arch.cell.pulse.max_pulses) */
    int residual;         /* the write policy keeps a digital residual per weight */
    int64_t residual_bits; /* its bits per weight (arch.gu.residual_bits) */
} hw_options;

/* Options from cfg->sim, and the residual buffer from cfg->policy (policy.residual, or a
 * policy that keeps a residual: threshold) and arch.gu.residual_bits. */
void hw_options_from(const essim_config *cfg, hw_options *o);

/* An executor for one op stream (ops[0..nops), batch B) of the layers of plan on chip. chip,
 * plan and ops are borrowed and must outlive the executor; ops[i].layer indexes plan's layers.
 * ES_ECONFIG when the plan does not fit the chip or a layer's crossbars are not all on the
 * chip; ES_ENOMEM; ES_EIO when the timeline cannot be created. */
int hw_create(const chip_model *chip, const map_plan *plan, const lop_op *ops, size_t nops,
              int batch, const hw_options *opt, hw_sim **out, es_err *err);
void hw_destroy(hw_sim *h); /* NULL is fine; removes an unfinished timeline's temp file */

/* Execute one iteration whose write masks are masks[l] for every layer l of the plan: one
 * byte per block (nonzero = written) or, with packed, the trace's bitmap (bit g & 7 of byte
 * g >> 3). A NULL mask means no block of that layer is written. ES_ERANGE when simulated time
 * would overflow, ES_ENOMEM. */
int hw_iteration(hw_sim *h, const uint8_t *const *masks, int packed, es_err *err);
/* Incremental-pulse writes (arch.cell.update pulse): the next iteration charges layer l's
 * written blocks by their pulses instead of program-and-verify: sum[g] pulses on block g's
 * weights, max[g] the most on one of them (G = the layer's blocks each). A row segment then
 * takes max[g] x arch.cell.write_pulse (the row's cells pulse together, no verify) and each
 * pulse costs every cell of the weight (slices, cells per slice, copies) a pulse and its
 * driver (cell pulse energy + arch.wdrv.pulse_energy). Layers without pulses for the
 * iteration (a replayed trace records none) keep program-and-verify (`essim run` also wears
 * the cells by the pulses: wear_record_n). ES_EINVAL for a layer out of range, ES_ENOMEM. */
int hw_set_pulses(hw_sim *h, size_t l, const uint64_t *sum, const uint32_t *max, es_err *err);
/* The same for an iteration of `images` images, 1 <= images <= B (a partial last batch of an
 * epoch; see "Partial batches" above). ES_EINVAL outside that range. */
int hw_iteration_n(hw_sim *h, const uint8_t *const *masks, int packed, int images, es_err *err);

/* Results so far. */
typedef struct hw_totals {
    uint64_t iterations;
    uint64_t images;      /* images the iterations computed (iterations x B, less partial ones) */
    double time_s;
    double energy_j;
    double time_s_by_phase[LOP_NPHASE];
    double energy_j_by_phase[LOP_NPHASE];
    double energy_j_by_component[HW_NE];
    double energy_j_idle; /* static power and wake-ups (the HW_E_LEAK_* and HW_E_WAKEUP parts) */
    uint64_t wakeups;     /* tiles and routers woken from gating */
    double stall_s_by_cause[HW_NC];
    double write_busy_s;       /* sum of write-session durations */
    double noc_port_wait_s;    /* messages waiting for router output ports (hwsim_noc.c) */
    uint64_t row_writes, cells_written;
    uint64_t events;           /* events executed */
    double compute_time_s;     /* one iteration's compute phases (forward to last gradient) */
    /* derived by hw_get_totals from the plan of the op stream (spill.h, hwsim_noc.c): */
    uint64_t spill_kept_bytes, spill_bytes; /* per iteration: activations kept, spilled */
    double spill_time_s;                    /* the spills' link time, every iteration */
    double noc_bytes[HW_NOC_NKIND];         /* NoC bytes by kind, every iteration */
    double residual_area_mm2;               /* the residual buffer's (hwsim.h), else 0 */
} hw_totals;
void hw_get_totals(const hw_sim *h, hw_totals *t);
/* Start the totals afresh (a new training run on the same chip); block counts and the
 * cached compute stay. */
void hw_reset_totals(hw_sim *h);

/* The simulator's state between iterations (totals, per-block counts, the cached compute of
 * fast mode) as named arrays, for checkpoints (es_put_fn / es_get_fn in es_common.h). A
 * simulator restored into one built from the same configuration and mapping continues exactly
 * as the saved one would have. The timeline is not part of it. */
void hw_save(const hw_sim *h, es_put_fn put, void *ctx);
int hw_restore(hw_sim *h, es_get_fn get, void *ctx, es_err *err);

/* Per-block write counts of layer l seen by hw_iteration (NULL when out of range). */
const uint64_t *hw_block_counts(const hw_sim *h, size_t l);

/* The analytic pipeline bound of one iteration's compute phases, in s: per phase chain, op k
 * takes D_k for one image alone (its broadcast, its chunks behind its busiest stage, the last
 * chunk's path with its partial sums, the NoC transfer) and occupies its busiest resource S_k
 * per image (a stage's, or a router port's with its own messages), so image b leaves op k
 * at max(leave(k-1, B-1) + D_k, leave(k-1, 0) + D_k + (B-1) max_{j<=k} S_j); backward starts
 * at the forward's end, gradient ops hang off their backward op. And a phase (forward;
 * backward with the gradient ops) lasts at least B times the per-image load of its busiest
 * shared resource, summed over the phase's ops (a tile unit, a layer's IMAs, the off-chip
 * links, a router output port). Equal to the simulated compute time when no two ops contend
 * for a resource (validation/README.md); above it, the difference is what the order of the
 * contending work costs (e.g. wormhole messages holding ports while they wait for the next). */
double hw_pipeline_bound_s(const hw_sim *h);

/* Register hw.* statistics: hw.time_s, hw.energy_j, hw.area_mm2, hw.power_w_avg,
 * hw.peak_tops, hw.energy_j_by_component.*, hw.energy_j_by_phase.*, hw.time_s_by_phase.*,
 * hw.stall_s_by_cause.*, hw.iterations, hw.images, hw.time_s_per_iteration, hw.write_busy_s,
 * hw.row_writes, hw.cells_written, hw.events, hw.detail, hw.chunk, hw.spill_* and
 * hw.spill.LAYER.bytes (spill.h), hw.noc.bytes_activation|broadcast|psum and
 * hw.noc.port_wait_s. */
int hw_stats(const hw_sim *h, stat_registry *r, es_err *err);

/* Write the heat maps: one CSV per layer in dir ("heatmap-<layer>.csv"), a matrix with one
 * line per weight row r (K lines) and one column per column tile: the write count of the
 * crossbar row segment (row r, col tile j) = the most writes any of its cells took. Comment
 * lines (#) say what the layer's crossbars are. Atomic per file. */
int hw_write_heatmaps(const hw_sim *h, const char *dir, es_err *err);

/* Close the timeline (rename into place). Call after the last iteration; idempotent. */
int hw_finish(hw_sim *h, es_err *err);

#endif
