/* train.h - the training loop: a network (preset or description) on a dataset with the
 * configured recipe (SGD with momentum / Nesterov / weight decay, step / cosine schedules with
 * linear warm-up, seeded shuffling and augmentation), per-epoch evaluation, checkpoints that
 * resume byte-identically, and the statistics `essim train` writes.
 *
 * Every random draw is derived from (seed, purpose, epoch or iteration) — the epoch order from
 * ("shuffle", epoch), the augmentation of iteration t from ("augment", t) — so a run resumed
 * from a checkpoint at any iteration sees exactly the draws of an uninterrupted run. */
#ifndef ES_TRAIN_H
#define ES_TRAIN_H

#include <stdint.h>

#include "cfg.h"
#include "es_common.h"
#include "stats.h"

struct nn_net;
struct map_plan;
struct wctl;

/* What `essim run` hangs on the training loop (the hardware model and the wear model). Every
 * member may be NULL. */
typedef struct train_hooks {
    void *ctx;
    /* After setup: the network and its mapping are known; the weights are initialised (and may
     * be changed here, e.g. by cells that failed in an earlier run). */
    int (*begin)(void *ctx, const essim_config *cfg, struct nn_net *net,
                 const struct map_plan *plan, es_err *err);
    /* Mapped layer l (plan order) was just written by the write policy (wctl_mask(ws, l) is this
     * iteration's decision); w (numel floats) are its functional weights, which the hook may
     * change (failed cells). With incremental pulses (arch.cell.update pulse) psum and pmax
     * give per block of the layer the pulses its weights took and the most one of them took;
     * NULL otherwise. */
    void (*layer_written)(void *ctx, const struct wctl *ws, size_t l, float *w, size_t numel,
                          const uint64_t *psum, const uint32_t *pmax);
    /* After every iteration's write step; images: the mini-batch's images (fewer than
     * train.batch in an epoch's partial last batch). */
    int (*iteration)(void *ctx, const struct wctl *ws, uint64_t it, int images, es_err *err);
    /* Add statistics before they are written. */
    int (*stats)(void *ctx, stat_registry *r, es_err *err);
    /* Events the hook's simulation executed (for meta), may be NULL. */
    uint64_t (*events)(void *ctx);
    /* Simulated seconds so far (for meta.sim_seconds_per_host_second), may be NULL. */
    double (*sim_seconds)(void *ctx);
    int no_ws_lifetime; /* the hook reports lifetime.* itself */
    /* Checkpoints: save the hook's state as named arrays next to the trainer's, and on
     * --resume restore it, after begin, from the same checkpoint (es_common.h). */
    void (*save)(void *ctx, es_put_fn put, void *pctx);
    int (*restore)(void *ctx, es_get_fn get, void *gctx, es_err *err);
} train_hooks;

typedef struct train_options {
    const char *out_dir;        /* where stats, epochs.csv and weights.npz go (created) */
    const char *checkpoint;     /* checkpoint file (NULL: <out_dir>/checkpoint.ckpt) */
    int resume;                 /* continue from the checkpoint */
    int progress_mode;          /* CFG_PROGRESS_* */
    const char *import_weights; /* .npz of initial weights (NULL: initialise from the seed) */
    uint64_t stop_after;        /* testing: stop (with a checkpoint) after this many
                                   iterations in total; 0 = run to the end */
    const char *command_line;   /* for stats meta */
    const char *trace;          /* write the layer-op trace here (NULL: none); written in place
                                   so an interrupted run leaves a readable prefix and --resume
                                   continues it */
    const train_hooks *hooks;      /* NULL: none */
} train_options;

typedef struct train_result {
    uint64_t iterations;       /* completed in total (including before a resume) */
    int epochs_done;
    double test_accuracy_final; /* fraction in [0,1] */
    double test_accuracy_best;
    double train_loss_final;
    double images_per_s;       /* training images per host second (this process) */
    int stopped_early;         /* stop_after was reached */
    double writes_mean;        /* mean update count per mapped weight */
    double writes_max;         /* maximum block update count */
    double host_seconds;       /* this process's training loop, host time */
    double trace_write_seconds; /* of which in the trace writer (with --trace) */
} train_result;

/* Run (or resume) training as configured; write the outputs into opt->out_dir. Returns
 * ES_OK, or an error with a message (ES_ECONFIG for configuration problems such as an
 * unknown network or a checkpoint from another configuration, ES_EIO / ES_EFORMAT for files). */
int train_run(const essim_config *cfg, const train_options *opt, train_result *res, es_err *err);

/* The learning rate at iteration t (0-based) of a run with `iters_per_epoch` iterations per
 * epoch, following cfg->train (schedule, milestones, gamma, warm-up). Exposed for tests. */
double train_lr_at(const essim_config *cfg, uint64_t t, uint64_t iters_per_epoch);

#endif
