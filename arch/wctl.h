/* wctl.h - the write-policy controller: every iteration, for every mapped layer, it
 * takes the optimizer's dense update U (computed in digital periphery), asks the write policy
 * (wpol.h) which blocks to program, writes those blocks into the weights the functional model
 * uses (so the network trains with exactly what the crossbars would hold), and keeps the
 * per-block update counts, the "skip zeros" counts, the digital residual of threshold
 * training and the written fraction per iteration. It also turns the counts into the writes.*
 * and lifetime.* statistics.
 *
 * Sits in arch/, below the trainer: it sees float arrays and the mapping (map.h), never
 * the network or the optimizer. Random draws come from stream ("policy", iteration) of the
 * seed, so a resumed run draws exactly what an uninterrupted one would. */
#ifndef ES_WCTL_H
#define ES_WCTL_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "es_common.h"
#include "stats.h"
#include "map.h"

typedef struct wctl wctl;

/* A scheduler for the layers of `plan` (borrowed; it must outlive the scheduler) with the
 * policy cfg->policy.name. cfg is borrowed too. */
int wctl_create(const essim_config *cfg, const map_plan *plan, wctl **out, es_err *err);
void wctl_destroy(wctl *ws);

/* Start iteration `iteration` (0-based, global) of epoch `epoch` (0-based). */
void wctl_begin(wctl *ws, uint64_t iteration, int epoch);
/* Layer l of this iteration: u is the dense update (K x N in weight memory layout, as
 * nn_sgd_compute_update gives it; the new weights would be w - u). Decides, then writes
 * w -= scale_g u_g on the kept blocks only. u is used as scratch and left unspecified. */
void wctl_layer(wctl *ws, size_t l, float *u, float *w);
/* Close the iteration (records its written fraction). */
void wctl_end(wctl *ws);

size_t wctl_num_layers(const wctl *ws);
const char *wctl_policy_name(const wctl *ws);
/* The keep mask (one byte per block, 0/1) of layer l from the last wctl_layer call. */
const uint8_t *wctl_mask(const wctl *ws, size_t l, uint64_t *nblocks);
/* Written blocks of layer l in the last iteration. */
uint64_t wctl_written(const wctl *ws, size_t l);
/* Per-block write counts of layer l. */
const uint64_t *wctl_counts(const wctl *ws, size_t l);
/* Iterations completed. */
uint64_t wctl_iterations(const wctl *ws);
/* Fraction of weights written in iteration i (i < wctl_iterations), and the overall series. */
const double *wctl_fraction_series(const wctl *ws, uint64_t *n);

/* The scheduler's whole state as named arrays, for checkpoints (es_put_fn / es_get_fn in
 * es_common.h). */
void wctl_save(const wctl *ws, es_put_fn put, void *ctx);
/* Every restored value is checked (counts <= iterations, fractions in [0, 1], epoch tags from
 * 0 rising by at most 1 and below train.epochs, finite residuals): ES_EFORMAT with a message
 * in err otherwise. */
int wctl_restore(wctl *ws, uint64_t iterations, es_get_fn get, void *ctx, es_err *err);

/* Summary of one set of counts (per weight position: each block's count weighs as many
 * weights as the block holds). */
typedef struct wctl_summary {
    double mean, std;
    uint64_t max;
    double p50, p90, p99, p999;
    double nonzero_mean; /* mean of the "skip zeros" SGD counts */
    uint64_t weights, blocks;
} wctl_summary;
/* Layer l, or every layer together for l = (size_t)-1. */
void wctl_summarise(const wctl *ws, size_t l, wctl_summary *s);

/* Register and fill writes.* (policy, blocks, mean, max, p50..p999, std, savings against
 * dense and skip-zeros SGD, per layer, histogram, written fraction) and lifetime.* (runs to
 * first failure = E / max count, to 1% and 10% of cells = E / p99, E / p90, for the mean
 * endurance E = arch.cell.endurance_mean) in r. */
int wctl_stats(const wctl *ws, stat_registry *r, es_err *err);
/* The same without lifetime.* (when the wear model of wear.h reports it per cell). */
int wctl_stats_writes(const wctl *ws, stat_registry *r, es_err *err);

#endif
