/* train.c - the training loop behind `essim train` and `essim run`: data, network,
 * optimizer, schedule, evaluation, checkpoints, outputs. See train.h for the contract. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "lop_compile.h"
#include "wctl.h"
#include "map.h"
#include "ds_dataset.h"
#include "netdesc.h"
#include "nn_gemm.h"
#include "nn_net.h"
#include "nn_sgd.h"
#include "nn_xbar.h"
#include "cellvar.h"
#include "npy.h"
#include "progress.h"
#include "rng.h"
#include "trace.h"
#include "trace_hdr.h"
#include "train.h"

/* Columns of one epoch's row in epochs.csv (and in the checkpoint). */
enum { EC_EPOCH, EC_ITERS, EC_LR, EC_TRAIN_LOSS, EC_TRAIN_ACC, EC_TEST_LOSS, EC_TEST_ACC,
       EC_SECONDS, EC_COUNT };

typedef struct trainer {
    const essim_config *cfg;
    const train_options *opt;
    ds_dataset *train, *test;
    size_t ntrain, ntest;
    nn_net *net;
    nn_sgd *sgd;
    map_plan *plan;  /* the mapped layers on crossbars (row blocks) */
    wctl *ws;    /* the write-policy controller */
    float *ubuf;     /* one parameter's update */
    /* arch.cell.update pulse: per mapped layer, its devices and weight range; the weights
     * before the write */
    cellpulse **pulse;
    float *pulse_range;
    float *wold;
    uint64_t pulses; /* fired so far (checkpointed) */
    uint32_t *pk;    /* scratch: each weight's pulses in this write */
    uint64_t *bsum;  /* scratch: per block of the layer, the pulses and the most on a weight */
    uint32_t *bmax;
    trace_hdr th;    /* the trace header (when tracing) */
    trace_writer *tw;
    double trace_s; /* host seconds spent in the trace writer (this process) */
    trace_mask *tmasks;
    char net_name[128];
    char hash[17];
    int classes;
    size_t sample; /* floats per sample */
    int batch;
    uint64_t iters_per_epoch, total_iters;
    float *x;
    int32_t *labels;
    uint32_t *perm;     /* this epoch's training order */
    uint32_t *eval_idx; /* one evaluation batch's test indices */
    /* progress of the run, all saved in checkpoints */
    uint64_t next_iter;   /* the next iteration to run (global, 0-based) */
    double ep_loss_sum;   /* sum over samples of the loss, this epoch so far */
    uint64_t ep_correct, ep_seen;
    double *epoch_rows;   /* epochs x EC_COUNT */
    int epochs_done;
    double best_acc;
    double host_seconds_before; /* host time spent before a resume */
    double ep_host_start;
    char ckpt_path[4096];
    char trace_file[4200]; /* where the trace is written: TRACE.part until the run ends */
} trainer;

/* ---- schedule ----------------------------------------------------------------------------- */

double train_lr_at(const essim_config *cfg, uint64_t t, uint64_t iters_per_epoch)
{
    double lr = cfg->train.lr;
    uint64_t warm = (uint64_t)cfg->train.warmup_epochs * iters_per_epoch;
    if (t < warm) return lr * (double)(t + 1) / (double)warm;
    uint64_t epoch = iters_per_epoch ? t / iters_per_epoch : 0;
    switch (cfg->train.schedule) {
    case CFG_SCHED_STEP:
        for (size_t i = 0; i < cfg->train.milestones.n; i++)
            if ((int64_t)epoch >= cfg->train.milestones.v[i]) lr *= cfg->train.gamma;
        return lr;
    case CFG_SCHED_COSINE: {
        uint64_t total = (uint64_t)cfg->train.epochs * iters_per_epoch;
        double span = total > warm ? (double)(total - warm) : 1.0;
        return 0.5 * lr * (1.0 + cos(M_PI * (double)(t - warm) / span));
    }
    default: return lr;
    }
}

/* ---- data and network ----------------------------------------------------------------------- */

static int load_data(trainer *t, es_err *err)
{
    const essim_config *cfg = t->cfg;
    const char *name = cfg_choice_name("train.dataset", cfg->train.dataset);
    if (!strcmp(name, "synthetic")) {
        ds_synth_config sc = {(size_t)cfg->train.synthetic_train, 1, 28, 28, 10,
                              (uint64_t)cfg->seed, DS_TRAIN, 30.0f};
        ES_TRY(ds_synth_create(&sc, &t->train, err));
        sc.n = (size_t)cfg->train.synthetic_test;
        sc.split = DS_TEST;
        ES_TRY(ds_synth_create(&sc, &t->test, err));
        ES_TRY(ds_set_norm(t->test, t->train->mean, t->train->std, err));
    } else {
        const char *dir = cfg->train.data_dir && cfg->train.data_dir[0] ? cfg->train.data_dir : NULL;
        ES_TRY(ds_load_splits(name, dir, &t->train, &t->test, err));
    }
    t->ntrain = t->train->n;
    t->ntest = t->test->n;
    if (cfg->train.train_limit > 0 && (size_t)cfg->train.train_limit < t->ntrain)
        t->ntrain = (size_t)cfg->train.train_limit;
    if (cfg->train.test_limit > 0 && (size_t)cfg->train.test_limit < t->ntest)
        t->ntest = (size_t)cfg->train.test_limit;
    t->classes = t->train->classes;
    return ES_OK;
}

/* "(6, 1, 5, 5)" from either a file's shape (u64) or a parameter's (int). */
static void shape_str(char *s, size_t len, int ndim, const uint64_t *u, const int *v)
{
    size_t k = (size_t)snprintf(s, len, "(");
    for (int d = 0; d < ndim && k < len; d++)
        k += (size_t)snprintf(s + k, len - k, "%s%llu", d ? ", " : "",
                              u ? (unsigned long long)u[d] : (unsigned long long)v[d]);
    if (k < len) snprintf(s + k, len - k, "%s)", ndim == 1 ? "," : "");
}

static int import_weights(trainer *t, const char *path, es_err *err)
{
    npy_npz *z = NULL;
    ES_TRY(npy_npz_open(path, &z, err));
    int rc = ES_OK;
    for (int i = 0; rc == ES_OK && i < nn_net_num_params(t->net); i++) {
        const nn_param *p = nn_net_param(t->net, i);
        npy_array a;
        memset(&a, 0, sizeof a);
        rc = npy_npz_read(z, p->name, &a, err);
        if (rc < 0) break;
        /* The shape, not only the count: a transposed fully-connected weight has the same
         * number of values and would be accepted as nonsense. */
        int same = a.ndim == p->ndim;
        for (int d = 0; same && d < p->ndim; d++) same = a.shape[d] == (uint64_t)p->shape[d];
        if (a.dtype != NPY_F32 || a.count != p->numel || !same) {
            char want[96], got[96];
            shape_str(want, sizeof want, p->ndim, NULL, p->shape);
            shape_str(got, sizeof got, a.ndim, a.shape, NULL);
            rc = es_fail(err, ES_EFORMAT,
                         "%s: member '%s' has shape %s (%s), the network's parameter has shape "
                         "%s (float32)",
                         path, p->name, got, npy_dtype_descr(a.file_dtype), want);
        } else
            memcpy(p->data, a.data, p->numel * sizeof(float));
        npy_array_free(&a);
    }
    npy_npz_close(z);
    return rc;
}

static int export_weights(const trainer *t, const char *path, es_err *err)
{
    npy_npz_writer *w = NULL;
    ES_TRY(npy_npz_create(path, 0, &w, err));
    for (int i = 0; i < nn_net_num_params(t->net); i++) {
        const nn_param *p = nn_net_param(t->net, i);
        uint64_t shape[4];
        for (int d = 0; d < p->ndim; d++) shape[d] = (uint64_t)p->shape[d];
        int rc = npy_npz_add(w, p->name, NPY_F32, p->data, p->ndim, shape, err);
        if (rc < 0) {
            npy_npz_abort(w);
            return rc;
        }
    }
    return npy_npz_commit(w, err);
}

/* ---- checkpoints ---------------------------------------------------------------------------- */

static void ckpt_put_adapter(void *ctx, const char *name, const uint64_t *u64, const float *f32,
                             const double *f64, size_t n)
{
    if (u64) ckpt_put_u64(ctx, name, u64, n);
    if (f32) ckpt_put_f32(ctx, name, f32, n);
    if (f64) ckpt_put_f64(ctx, name, f64, n);
}

typedef struct get_ctx {
    const ckpt *c;
    es_err *err;
} get_ctx;

static int ckpt_get_adapter(void *ctx, const char *name, uint64_t *u64, float *f32, double *f64,
                            size_t n)
{
    get_ctx *g = ctx;
    if (u64) return ckpt_get_u64(g->c, name, u64, n, g->err);
    if (f32) return ckpt_get_f32(g->c, name, f32, n, g->err);
    return ckpt_get_f64(g->c, name, f64, n, g->err);
}

static int save_checkpoint(trainer *t, double host_now, es_err *err)
{
    /* The trace's complete chunks must reach exactly this iteration, so a resume can
     * continue it byte-identically. */
    if (t->tw) ES_TRY(trace_writer_flush(t->tw, err));
    ckpt_writer *w = NULL;
    ES_TRY(ckpt_begin(t->ckpt_path, &w, err));
    ckpt_put_bytes(w, "config_hash", t->hash, 16);
    uint64_t state[4] = {t->next_iter, (uint64_t)t->epochs_done, t->ep_correct, t->ep_seen};
    ckpt_put_u64(w, "state", state, 4);
    double dstate[3] = {t->ep_loss_sum, t->best_acc,
                        t->host_seconds_before + (host_now - t->ep_host_start)};
    ckpt_put_f64(w, "dstate", dstate, 3);
    ckpt_put_f64(w, "epoch_rows", t->epoch_rows, (size_t)t->epochs_done * EC_COUNT);
    char name[256];
    for (int i = 0; i < nn_net_num_params(t->net); i++) {
        const nn_param *p = nn_net_param(t->net, i);
        snprintf(name, sizeof name, "param/%s", p->name);
        ckpt_put_f32(w, name, p->data, p->numel);
        const float *v = nn_sgd_velocity(t->sgd, i);
        if (v) {
            snprintf(name, sizeof name, "velocity/%s", p->name);
            ckpt_put_f32(w, name, v, p->numel);
        }
    }
    wctl_save(t->ws, ckpt_put_adapter, w);
    if (t->pulse) ckpt_put_u64(w, "pulses", &t->pulses, 1);
    const train_hooks *hk = t->opt->hooks;
    if (hk && hk->save) hk->save(hk->ctx, ckpt_put_adapter, w);
    return ckpt_commit(w, err);
}

/* The components' restore checks say "checkpoint: ..." without knowing the file: name it. */
static void name_checkpoint(es_err *err, const char *path)
{
    static const char pfx[] = "checkpoint: ";
    if (!err || strncmp(err->msg, pfx, sizeof pfx - 1)) return;
    char why[sizeof err->msg];
    snprintf(why, sizeof why, "%s", err->msg + sizeof pfx - 1);
    es_fail(err, err->code, "%s: %.900s", path, why);
}

/* Restore the trainer from its checkpoint; the loaded checkpoint is handed back in *out (for
 * the hooks' state, restored once they have begun), or freed on failure. */
static int load_checkpoint(trainer *t, ckpt **out, es_err *err)
{
    ckpt *c = NULL;
    *out = NULL;
    ES_TRY(ckpt_load(t->ckpt_path, &c, err));
    char hash[17] = {0};
    int rc = ckpt_get_bytes(c, "config_hash", hash, 16, err);
    if (rc == ES_OK && strcmp(hash, t->hash))
        rc = es_fail(err, ES_ECONFIG,
                     "%s was written by a run with another configuration (config hash %s, this "
                     "run %s); resume with the same configuration",
                     t->ckpt_path, hash, t->hash);
    uint64_t state[4];
    double dstate[3];
    if (rc == ES_OK) rc = ckpt_get_u64(c, "state", state, 4, err);
    if (rc == ES_OK) rc = ckpt_get_f64(c, "dstate", dstate, 3, err);
    /* The CRC only says the bytes are as written: each value is checked against the
     * configuration and the others before it is used. */
    if (rc == ES_OK && state[1] > (uint64_t)t->cfg->train.epochs)
        rc = es_fail(err, ES_EFORMAT, "%s: inconsistent epoch count", t->ckpt_path);
    if (rc == ES_OK && (state[0] > t->total_iters || state[1] != state[0] / t->iters_per_epoch))
        rc = es_fail(err, ES_EFORMAT,
                     "%s: next iteration %llu and %llu epochs done do not fit this run (%llu "
                     "iterations of %llu per epoch)",
                     t->ckpt_path, (unsigned long long)state[0], (unsigned long long)state[1],
                     (unsigned long long)t->total_iters, (unsigned long long)t->iters_per_epoch);
    if (rc == ES_OK && (state[3] > t->ntrain || state[2] > state[3]))
        rc = es_fail(err, ES_EFORMAT,
                     "%s: %llu correct of %llu images seen this epoch (the epoch has %zu)",
                     t->ckpt_path, (unsigned long long)state[2], (unsigned long long)state[3],
                     t->ntrain);
    if (rc == ES_OK && !(isfinite(dstate[0]) && dstate[0] >= 0 && dstate[1] >= 0 &&
                         dstate[1] <= 1 && isfinite(dstate[2]) && dstate[2] >= 0))
        rc = es_fail(err, ES_EFORMAT,
                     "%s: loss sum %g, best accuracy %g or host seconds %g out of range",
                     t->ckpt_path, dstate[0], dstate[1], dstate[2]);
    if (rc == ES_OK) {
        t->next_iter = state[0];
        t->epochs_done = (int)state[1];
        t->ep_correct = state[2];
        t->ep_seen = state[3];
        t->ep_loss_sum = dstate[0];
        t->best_acc = dstate[1];
        t->host_seconds_before = dstate[2];
        rc = ckpt_get_f64(c, "epoch_rows", t->epoch_rows, (size_t)t->epochs_done * EC_COUNT, err);
        for (size_t i = 0; rc == ES_OK && i < (size_t)t->epochs_done * EC_COUNT; i++)
            if (!isfinite(t->epoch_rows[i]))
                rc = es_fail(err, ES_EFORMAT, "%s: epoch %zu's row holds %g", t->ckpt_path,
                             i / EC_COUNT + 1, t->epoch_rows[i]);
    }
    char name[256];
    for (int i = 0; rc == ES_OK && i < nn_net_num_params(t->net); i++) {
        const nn_param *p = nn_net_param(t->net, i);
        snprintf(name, sizeof name, "param/%s", p->name);
        rc = ckpt_get_f32(c, name, p->data, p->numel, err);
        float *v = nn_sgd_velocity(t->sgd, i);
        if (rc == ES_OK && v) {
            snprintf(name, sizeof name, "velocity/%s", p->name);
            rc = ckpt_get_f32(c, name, v, p->numel, err);
        }
        for (size_t k = 0; rc == ES_OK && k < p->numel; k++)
            if (!isfinite(p->data[k]) || (v && !isfinite(v[k])))
                rc = es_fail(err, ES_EFORMAT, "%s: parameter %s holds %g at %zu", t->ckpt_path,
                             p->name, !isfinite(p->data[k]) ? (double)p->data[k] : (double)v[k], k);
    }
    if (rc == ES_OK) {
        get_ctx g = {c, err};
        rc = wctl_restore(t->ws, t->next_iter, ckpt_get_adapter, &g, err);
        if (rc < 0) name_checkpoint(err, t->ckpt_path);
    }
    if (rc == ES_OK && t->pulse) rc = ckpt_get_u64(c, "pulses", &t->pulses, 1, err);
    if (rc == ES_OK)
        *out = c;
    else
        ckpt_free(c);
    return rc;
}

/* ---- evaluation and outputs ------------------------------------------------------------------ */

static int evaluate(trainer *t, double *loss_out, double *acc_out, es_err *err)
{
    double loss_sum = 0;
    uint64_t correct = 0;
    for (size_t start = 0; start < t->ntest; start += (size_t)t->batch) {
        size_t n = ES_MIN((size_t)t->batch, t->ntest - start);
        for (size_t i = 0; i < n; i++) t->eval_idx[i] = (uint32_t)(start + i);
        ES_TRY(ds_batch_fill(t->test, t->eval_idx, n, NULL, NULL, t->x, t->labels, err));
        double loss = 0;
        ES_TRY(nn_net_forward(t->net, t->x, (int)n, t->labels, 0, &loss, err));
        loss_sum += loss * (double)n;
        correct += (uint64_t)nn_count_correct(nn_net_logits(t->net), t->labels, (int)n, t->classes);
    }
    *loss_out = t->ntest ? loss_sum / (double)t->ntest : 0;
    *acc_out = t->ntest ? (double)correct / (double)t->ntest : 0;
    return ES_OK;
}

/* The effective configuration of the run (a valid input file), next to its results. */
static int write_config_yaml(const trainer *t, es_err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/config.yaml", t->opt->out_dir);
    return cfg_dump_file(t->cfg, path, err);
}

static int write_epochs_csv(const trainer *t, es_err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/epochs.csv", t->opt->out_dir);
    es_atomic_file af;
    ES_TRY(es_atomic_open(&af, path, err));
    fprintf(af.fp, "epoch,iterations,lr,train_loss,train_accuracy,test_loss,test_accuracy,seconds\n");
    for (int e = 0; e < t->epochs_done; e++) {
        const double *r = &t->epoch_rows[(size_t)e * EC_COUNT];
        fprintf(af.fp, "%d,%.0f,%.9g,%.9g,%.6f,%.9g,%.6f,%.3f\n", (int)r[EC_EPOCH], r[EC_ITERS],
                r[EC_LR], r[EC_TRAIN_LOSS], r[EC_TRAIN_ACC], r[EC_TEST_LOSS], r[EC_TEST_ACC],
                r[EC_SECONDS]);
    }
    return es_atomic_commit(&af, err);
}

/* iterations.csv: per iteration its epoch, learning rate and the fraction of mapped weights
 * the write policy wrote (kept by the write-policy controller, so it survives a resume). */
static int write_iterations_csv(const trainer *t, es_err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/iterations.csv", t->opt->out_dir);
    uint64_t n = 0;
    const double *f = wctl_fraction_series(t->ws, &n);
    es_atomic_file af;
    ES_TRY(es_atomic_open(&af, path, err));
    fprintf(af.fp, "iteration,epoch,lr,written_fraction\n");
    for (uint64_t i = 0; i < n; i++)
        fprintf(af.fp, "%llu,%llu,%.9g,%.9g\n", (unsigned long long)i,
                (unsigned long long)(t->iters_per_epoch ? i / t->iters_per_epoch : 0),
                train_lr_at(t->cfg, i, t->iters_per_epoch), f[i]);
    return es_atomic_commit(&af, err);
}

/* Register and fill the train.* statistics, then write stats.{txt,json,csv}. */
static int write_stats(const trainer *t, const train_result *res, double host_seconds, es_err *err)
{
    stat_registry *r = NULL;
    if (stat_registry_create(&r) < 0) return es_fail(err, ES_ENOMEM, "out of memory");
    int rc = ES_OK;
    struct {
        const char *name, *unit, *desc;
        double v;
    } sc[] = {
        {"train.epochs", "", "epochs completed", (double)t->epochs_done},
        {"train.iterations", "", "optimizer steps (mini-batches) completed", (double)res->iterations},
        {"train.batch", "", "mini-batch size", (double)t->batch},
        {"train.train_images", "", "training images used per epoch", (double)t->ntrain},
        {"train.test_images", "", "test images evaluated", (double)t->ntest},
        {"train.test_accuracy_final", "", "top-1 test accuracy after the last epoch",
         res->test_accuracy_final},
        {"train.test_accuracy_best", "", "best top-1 test accuracy over the epochs",
         res->test_accuracy_best},
        {"train.train_loss_final", "", "mean training loss of the last epoch", res->train_loss_final},
        {"train.images_per_s", "1/s", "training images per host second (host-dependent)",
         res->images_per_s},
        {"train.params", "", "trainable parameters", (double)nn_net_param_total(t->net, 0)},
        {"train.mapped_weights", "", "weights stored in ReRAM crossbars (conv and fc matrices)",
         (double)nn_net_mapped_total(t->net)},
        {"train.threads", "", "BLAS threads (results are reproducible for the same count)",
         (double)t->cfg->threads},
    };
    for (size_t i = 0; rc == ES_OK && i < ES_ARRAY_LEN(sc); i++) {
        stat_entry *e = stat_register_scalar(r, sc[i].name, sc[i].unit, sc[i].desc, err);
        if (!e)
            rc = err && err->code ? err->code : ES_ENOMEM;
        else
            stat_set(e, sc[i].v);
    }
    struct {
        const char *name, *desc, *val;
    } st[] = {
        {"train.network", "network trained", t->net_name},
        {"train.dataset", "dataset", cfg_choice_name("train.dataset", t->cfg->train.dataset)},
        {"train.gemm", "matrix-product implementation", nn_gemm_backend_name()},
    };
    for (size_t i = 0; rc == ES_OK && i < ES_ARRAY_LEN(st); i++) {
        stat_entry *e = stat_register_string(r, st[i].name, "", st[i].desc, err);
        if (!e || stat_set_string(e, st[i].val) < 0) rc = es_fail(err, ES_ENOMEM, "out of memory");
    }
    /* only when a non-ideal model is on, so the ideal run's statistics stay as they were */
    if (rc == ES_OK && t->cfg->accuracy.model != CFG_ACC_IDEAL) {
        stat_entry *e = stat_register_string(r, "train.accuracy_model", "",
                                             "crossbar arithmetic in training (accuracy.model)", err);
        if (!e || stat_set_string(e, cfg_choice_name("accuracy.model", t->cfg->accuracy.model)) < 0)
            rc = es_fail(err, ES_ENOMEM, "out of memory");
    }
    if (rc == ES_OK && t->pulse) {
        stat_entry *e = stat_register_scalar(
            r, "train.write_pulses", "",
            "incremental pulses fired by the weight updates (arch.cell.update pulse)", err);
        if (!e)
            rc = err && err->code ? err->code : ES_ENOMEM;
        else
            stat_set(e, (double)t->pulses);
    }
    if (rc == ES_OK && t->epochs_done > 0) {
        stat_entry *acc = stat_register_vector(r, "train.test_accuracy_by_epoch", "",
                                               "top-1 test accuracy after each epoch",
                                               (size_t)t->epochs_done, NULL, err);
        stat_entry *loss = stat_register_vector(r, "train.train_loss_by_epoch", "",
                                                "mean training loss of each epoch",
                                                (size_t)t->epochs_done, NULL, err);
        if (!acc || !loss) rc = err && err->code ? err->code : ES_ENOMEM;
        for (int e = 0; rc == ES_OK && e < t->epochs_done; e++) {
            stat_vec_set(acc, (size_t)e, t->epoch_rows[(size_t)e * EC_COUNT + EC_TEST_ACC]);
            stat_vec_set(loss, (size_t)e, t->epoch_rows[(size_t)e * EC_COUNT + EC_TRAIN_LOSS]);
        }
    }
    const train_hooks *hk = t->opt->hooks;
    if (rc == ES_OK) rc = hk && hk->no_ws_lifetime ? wctl_stats_writes(t->ws, r, err)
                                                    : wctl_stats(t->ws, r, err);
    if (rc == ES_OK && hk && hk->stats) rc = hk->stats(hk->ctx, r, err);
    if (rc == ES_OK) {
        double ss = hk && hk->sim_seconds ? hk->sim_seconds(hk->ctx) : 0;
        stat_meta_field extra[4] = {{"threads", NULL, (double)t->cfg->threads},
                                    {"gemm", nn_gemm_backend_name(), 0}};
        size_t nx = 2;
        if (hk && hk->sim_seconds)
            extra[nx++] = (stat_meta_field){"sim_seconds_per_host_second", NULL,
                                            host_seconds > 0 ? ss / host_seconds : 0};
        /* the trace writer's share of this process's time (the goal: under 1%) */
        if (t->opt->trace) extra[nx++] = (stat_meta_field){"trace_write_seconds", NULL, t->trace_s};
        stat_meta meta = {PACKAGE_VERSION, (uint64_t)t->cfg->seed, t->hash,
                          t->opt->command_line,      host_seconds,
                          hk && hk->events ? hk->events(hk->ctx) : 0, extra, nx};
        rc = stat_dump_dir(r, &meta, t->opt->out_dir, err);
    }
    stat_registry_destroy(r);
    return rc;
}

/* ---- the loop ---------------------------------------------------------------------------- */

static void trainer_free(trainer *t)
{
    trace_writer_abort(t->tw); /* in-place mode: the complete chunks stay readable */
    trace_hdr_free(&t->th);
    free(t->tmasks);
    /* the pulse devices are per layer of the controller: free them before it */
    for (size_t l = 0; t->pulse && l < wctl_num_layers(t->ws); l++) cellpulse_destroy(t->pulse[l]);
    wctl_destroy(t->ws);
    map_destroy(t->plan);
    free(t->ubuf);
    nn_sgd_destroy(t->sgd);
    nn_net_destroy(t->net);
    ds_destroy(t->train);
    ds_destroy(t->test);
    free(t->x);
    free(t->labels);
    free(t->perm);
    free(t->eval_idx);
    free(t->epoch_rows);
    free(t->pulse);
    free(t->pulse_range);
    free(t->wold);
    free(t->pk);
    free(t->bsum);
    free(t->bmax);
}

/* Incremental-pulse devices for every mapped layer, drawn from "cell.devices/<weight name>"
 * (so a resumed run draws the same devices); the layer's largest initial |weight| maps to
 * omega w_max. */
static int setup_pulse(trainer *t, size_t maxn, es_err *err)
{
    const essim_config *cfg = t->cfg;
    const size_t nl = wctl_num_layers(t->ws);
    t->pulse = calloc(nl ? nl : 1, sizeof *t->pulse);
    t->pulse_range = calloc(nl ? nl : 1, sizeof *t->pulse_range);
    t->wold = malloc(maxn * sizeof *t->wold);
    t->pk = malloc(maxn * sizeof *t->pk);
    uint64_t maxg = 1;
    for (size_t i = 0; i < nl; i++) {
        const map_layer *ml = map_layer_at(t->plan, i);
        if (ml && ml->blocks > maxg) maxg = ml->blocks;
    }
    t->bsum = malloc(maxg * sizeof *t->bsum);
    t->bmax = malloc(maxg * sizeof *t->bmax);
    if (!t->pulse || !t->pulse_range || !t->wold || !t->pk || !t->bsum || !t->bmax)
        return es_fail(err, ES_ENOMEM, "out of memory");
    const cellpulse_config pc = {cfg->arch.cell.pulse.dw_min,
                                 cfg->arch.cell.pulse.up_down,
                                 cfg->arch.cell.pulse.c2c,
                                 cfg->arch.cell.pulse.d2d,
                                 cfg->arch.cell.pulse.w_max_d2d,
                                 cfg->arch.cell.pulse.corrupt,
                                 (int)cfg->arch.cell.pulse.max_pulses,
                                 cfg->arch.cell.pulse.model == CFG_PULSE_NEUROSIM
                                     ? CELLPULSE_NEUROSIM
                                     : CELLPULSE_SOFTBOUNDS,
                                 cfg->arch.cell.pulse.nl_ltp,
                                 cfg->arch.cell.pulse.nl_ltd,
                                 cfg->arch.cell.pulse.nl_d2d,
                                 (int)cfg->arch.cell.pulse.levels};
    size_t l = 0;
    for (int i = 0; i < nn_net_num_params(t->net) && l < nl; i++) {
        const nn_param *p = nn_net_param(t->net, i);
        if (!p->trainable || !p->mapped) continue;
        float mx = 0.0f;
        for (size_t e = 0; e < p->numel; e++) mx = fabsf(p->data[e]) > mx ? fabsf(p->data[e]) : mx;
        t->pulse_range[l] = mx > 0.0f ? mx / (float)cfg->arch.cell.pulse.omega : 1.0f;
        char name[256];
        snprintf(name, sizeof name, "cell.devices/%s", p->name);
        rng_stream r;
        rng_init(&r, (uint64_t)cfg->seed, name);
        if (cellpulse_create(&pc, p->numel, &r, &t->pulse[l]) < 0)
            return es_fail(err, ES_ENOMEM, "out of memory for the devices of %s", p->name);
        l++;
    }
    return ES_OK;
}

/* The write of mapped layer l went from wold to w (what program-and-verify would give); with
 * incremental pulses the devices move by what their pulses do instead (device units = weight /
 * range), from stream ("cell.pulse/<layer>", iteration). */
static void pulse_write(trainer *t, size_t l, const nn_param *p, uint64_t it)
{
    const float R = t->pulse_range[l];
    for (size_t e = 0; e < p->numel; e++) {
        t->ubuf[e] = (p->data[e] - t->wold[e]) / R;
        t->wold[e] /= R;
    }
    char name[256];
    snprintf(name, sizeof name, "cell.pulse/%s", p->name);
    rng_stream r;
    rng_init_indexed(&r, (uint64_t)t->cfg->seed, name, it);
    t->pulses += cellpulse_update(t->pulse[l], t->wold, t->ubuf, p->data, p->numel, &r, t->pk);
    for (size_t e = 0; e < p->numel; e++) p->data[e] *= R;
    /* per block: the pulses its weights took, and the most one took (the hardware's write
       time and energy follow them) */
    const map_layer *ml = map_layer_at(t->plan, l);
    for (uint64_t g = 0; ml && g < ml->blocks; g++) {
        map_block b;
        uint64_t sum = 0;
        uint32_t mx = 0;
        if (map_block_get(ml, g, &b) == 0)
            for (uint64_t i = 0; i < b.ncols; i++)
                for (uint64_t q = 0; q < b.nrows; q++) {
                    const uint32_t k = t->pk[b.data0 + i * b.stride + q];
                    sum += k;
                    mx = k > mx ? k : mx;
                }
        t->bsum[g] = sum;
        t->bmax[g] = mx;
    }
}

static int setup(trainer *t, es_err *err)
{
    const essim_config *cfg = t->cfg;
    cfg_hash(cfg, t->hash);
    if (t->opt->checkpoint)
        snprintf(t->ckpt_path, sizeof t->ckpt_path, "%s", t->opt->checkpoint);
    else
        snprintf(t->ckpt_path, sizeof t->ckpt_path, "%s/checkpoint.ckpt", t->opt->out_dir);
    nn_gemm_set_threads((int)cfg->threads);
    ES_TRY(load_data(t, err));
    /* A batch larger than the data would allocate for images that do not exist and charge
     * the chip for computing them. */
    if ((uint64_t)cfg->train.batch > (uint64_t)t->ntrain)
        return es_fail(err, ES_ECONFIG,
                       "train.batch = %lld is larger than the %zu training images: use at most %zu",
                       (long long)cfg->train.batch, t->ntrain, t->ntrain);
    nn_shape in = {t->train->c, t->train->h, t->train->w};
    ES_TRY(netdesc_build(cfg->train.network, in, t->classes, (uint64_t)cfg->seed, &t->net, t->net_name,
                    sizeof t->net_name, err));
    if (t->opt->import_weights) ES_TRY(import_weights(t, t->opt->import_weights, err));
    if (cfg->accuracy.model != CFG_ACC_IDEAL) {
        nn_xbar_config xc = {(nn_xbar_model)cfg->accuracy.model,
                             {(int)cfg->arch.xbar.rows, (int)cfg->arch.xbar.weight_bits,
                              (int)cfg->arch.xbar.bits_per_cell, (int)cfg->arch.xbar.input_bits,
                              (int)cfg->arch.adc.bits, (int)cfg->accuracy.adc_shift,
                              cfg->arch.xbar.encoding == CFG_ENC_DIFFERENTIAL,
                              cfg->accuracy.flip},
                             {(int)cfg->arch.xbar.bits_per_cell, cfg->arch.cell.program_sigma,
                              cfg->arch.cell.read_sigma,
                              cfg->arch.cell.r_off_ohm / cfg->arch.cell.r_on_ohm},
                             (uint64_t)cfg->seed};
        ES_TRY(nn_net_set_xbar(t->net, &xc, err));
    }
    nn_sgd_config sc;
    nn_sgd_config_default(&sc);
    sc.lr = (float)cfg->train.lr;
    sc.momentum = (float)cfg->train.momentum;
    sc.weight_decay = (float)cfg->train.weight_decay;
    sc.nesterov = cfg->train.nesterov;
    ES_TRY(nn_sgd_create(&sc, t->net, &t->sgd, err));
    /* The write policy needs the crossbar geometry only: training does not require the
     * network to fit the chip (the architecture model checks that). */
    map_config mc;
    map_config_from(cfg, &mc);
    mc.require_fit = 0;
    ES_TRY(lop_map_net(&mc, t->net, &t->plan, err));
    ES_TRY(wctl_create(cfg, t->plan, &t->ws, err));
    size_t maxn = 1;
    for (int i = 0; i < nn_net_num_params(t->net); i++)
        maxn = ES_MAX(maxn, nn_net_param(t->net, i)->numel);
    t->ubuf = malloc(maxn * sizeof *t->ubuf);
    if (!t->ubuf) return es_fail(err, ES_ENOMEM, "out of memory");
    t->batch = (int)cfg->train.batch;
    t->sample = nn_shape_size(in);
    t->iters_per_epoch = (t->ntrain + (size_t)t->batch - 1) / (size_t)t->batch;
    t->total_iters = t->iters_per_epoch * (uint64_t)cfg->train.epochs;
    t->x = malloc((size_t)t->batch * t->sample * sizeof *t->x);
    t->labels = malloc((size_t)t->batch * sizeof *t->labels);
    t->perm = malloc(t->train->n * sizeof *t->perm);
    t->eval_idx = malloc((size_t)t->batch * sizeof *t->eval_idx);
    t->epoch_rows = calloc((size_t)cfg->train.epochs * EC_COUNT, sizeof *t->epoch_rows);
    if (!t->x || !t->labels || !t->perm || !t->eval_idx || !t->epoch_rows)
        return es_fail(err, ES_ENOMEM, "out of memory");
    ES_TRY(nn_net_reserve(t->net, t->batch, err));
    if (cfg->arch.cell.update == CFG_UPD_PULSE) ES_TRY(setup_pulse(t, maxn, err));
    return ES_OK;
}

static int open_trace(trainer *t, es_err *err)
{
    char producer[64];
    snprintf(producer, sizeof producer, "essim %s (train)", PACKAGE_VERSION);
    ES_TRY(lop_trace_hdr(&t->th, t->cfg, t->net, t->plan, t->net_name, producer, err));
    t->th.h.epoch_images = (uint64_t)t->ntrain; /* so a replay charges the partial batches */
    size_t nl = wctl_num_layers(t->ws);
    t->tmasks = calloc(nl ? nl : 1, sizeof *t->tmasks);
    if (!t->tmasks) return es_fail(err, ES_ENOMEM, "out of memory");
    /* Written in place (so a checkpointed run can resume it) but under TRACE.part, renamed
     * over TRACE only when the run succeeds: a run that fails or stops never changes an
     * existing trace. A resume continues TRACE.part (or, from an older ESSIM, TRACE). */
    trace_writer_options wo = {1, 0, 0, 0};
    snprintf(t->trace_file, sizeof t->trace_file, "%s.part", t->opt->trace);
    if (t->opt->resume) {
        struct stat st;
        if (stat(t->trace_file, &st) != 0)
            snprintf(t->trace_file, sizeof t->trace_file, "%s", t->opt->trace);
        return trace_writer_resume(t->trace_file, &t->th.h, &wo,
                                   t->next_iter ? t->next_iter - 1 : TRACE_NO_COUNT, &t->tw, err);
    }
    return trace_writer_create(t->trace_file, &t->th.h, &wo, &t->tw, err);
}

static int trace_iteration(trainer *t, uint64_t it, int epoch, double lr, double loss, es_err *err)
{
    for (size_t l = 0; l < wctl_num_layers(t->ws); l++) {
        t->tmasks[l] = (trace_mask){NULL, wctl_mask(t->ws, l, NULL), NULL, 0};
    }
    trace_iter ti = {it, (uint32_t)epoch, lr, (float)loss};
    double t0 = es_host_seconds();
    int rc = trace_writer_append(t->tw, &ti, t->tmasks, err);
    t->trace_s += es_host_seconds() - t0;
    return rc;
}

static int close_trace(trainer *t, es_err *err)
{
    size_t nl = wctl_num_layers(t->ws);
    uint64_t *mx = calloc(nl ? nl : 1, sizeof *mx);
    if (!mx) return es_fail(err, ES_ENOMEM, "out of memory");
    for (size_t l = 0; l < nl; l++) {
        uint64_t nb;
        wctl_mask(t->ws, l, &nb);
        const uint64_t *c = wctl_counts(t->ws, l);
        for (uint64_t g = 0; g < nb; g++) mx[l] = c[g] > mx[l] ? c[g] : mx[l];
    }
    double t0 = es_host_seconds();
    int rc = trace_writer_close(t->tw, mx, err);
    t->trace_s += es_host_seconds() - t0;
    t->tw = NULL;
    free(mx);
    if (rc == ES_OK && strcmp(t->trace_file, t->opt->trace) && rename(t->trace_file, t->opt->trace))
        rc = es_fail(err, ES_EIO, "%s: cannot rename %s over it: %s", t->opt->trace,
                     t->trace_file, strerror(errno));
    return rc;
}

/* Error feedback with momentum: a block written with its accumulated residual starts its
 * momentum again (momentum factor masking, Lin et al., Deep Gradient Compression, ICLR 2018),
 * or the velocity that built the residual would keep pushing the block after the write. */
static void mask_momentum(trainer *t, size_t l, int param)
{
    float *vel = nn_sgd_velocity(t->sgd, param);
    uint64_t nb;
    const uint8_t *keep = wctl_mask(t->ws, l, &nb);
    if (!vel || !keep) return;
    float *scale = malloc((nb ? nb : 1) * sizeof *scale);
    if (!scale) return; /* only a refinement of the update; skip it under memory pressure */
    for (uint64_t g = 0; g < nb; g++) scale[g] = keep[g] ? -1.0f : 0.0f;
    map_blocks_apply(map_layer_at(t->plan, l), scale, vel, vel);
    free(scale);
}

/* The update of one iteration: the optimizer forms every parameter's dense update in digital
 * periphery; digital parameters take it whole, mapped weights only on the blocks the write
 * policy programs (the rest keep their values, as the crossbars would). */
static void write_step(trainer *t, uint64_t it, int epoch)
{
    wctl_begin(t->ws, it, epoch);
    size_t l = 0;
    for (int i = 0; i < nn_net_num_params(t->net); i++) {
        const nn_param *p = nn_net_param(t->net, i);
        if (!p->trainable) continue;
        nn_sgd_compute_update(t->sgd, i, t->ubuf);
        if (p->mapped) {
            if (t->pulse) memcpy(t->wold, p->data, p->numel * sizeof *t->wold);
            wctl_layer(t->ws, l, t->ubuf, p->data);
            if (t->pulse) pulse_write(t, l, p, it);
            if (t->cfg->policy.residual) mask_momentum(t, l, i);
            const train_hooks *hk = t->opt->hooks;
            if (hk && hk->layer_written)
                hk->layer_written(hk->ctx, t->ws, l, p->data, p->numel, t->pulse ? t->bsum : NULL,
                                  t->pulse ? t->bmax : NULL);
            l++;
        } else
            nn_sgd_apply_update(p->data, t->ubuf, p->numel, 1.0f);
    }
    wctl_end(t->ws);
}

int train_run(const essim_config *cfg, const train_options *opt, train_result *res, es_err *err)
{
    trainer t;
    memset(&t, 0, sizeof t);
    memset(res, 0, sizeof *res);
    t.cfg = cfg;
    t.opt = opt;
    int rc = es_mkdir_p(opt->out_dir, err);
    if (rc == ES_OK) rc = setup(&t, err);
    ckpt *resumed = NULL;
    if (rc == ES_OK && opt->resume) rc = load_checkpoint(&t, &resumed, err);
    if (rc == ES_OK && opt->trace) rc = open_trace(&t, err);
    if (rc == ES_OK && opt->hooks && opt->hooks->begin)
        rc = opt->hooks->begin(opt->hooks->ctx, cfg, t.net, t.plan, err);
    if (rc == ES_OK && resumed && opt->hooks && opt->hooks->restore) {
        get_ctx g = {resumed, err};
        rc = opt->hooks->restore(opt->hooks->ctx, ckpt_get_adapter, &g, err);
        if (rc < 0) name_checkpoint(err, t.ckpt_path);
    }
    ckpt_free(resumed);
    if (rc < 0) {
        trainer_free(&t);
        return rc;
    }
    int augment = cfg->train.augment;
    if (augment == CFG_AUG_AUTO)
        augment = (cfg->train.dataset == CFG_DS_CIFAR10 || cfg->train.dataset == CFG_DS_CIFAR100)
                      ? CFG_AUG_CROP_FLIP
                                                                        : CFG_AUG_NONE;
    ds_augment aug = {4, 1};

    double host0 = es_host_seconds();
    t.ep_host_start = host0;
    uint64_t images_here = 0;
    prog_options po = {opt->progress_mode, NULL, -1, 10.0, NULL};
    char label[160];
    snprintf(label, sizeof label, "train %s/%s", t.net_name,
             cfg_choice_name("train.dataset", cfg->train.dataset));
    prog *pg = prog_start(label, t.total_iters, "it", &po);
    if (cfg->threads > 1 && opt->progress_mode != CFG_PROGRESS_NEVER)
        fprintf(stderr, "note: %lld BLAS threads: results are reproducible only with the same "
                        "thread count\n",
                (long long)cfg->threads);

    int order_ready = 0; /* the epoch order is computed at each epoch start and after a resume */
    while (rc == ES_OK && t.next_iter < t.total_iters) {
        uint64_t it = t.next_iter;
        uint64_t epoch = it / t.iters_per_epoch, b = it % t.iters_per_epoch;
        if (b == 0) {
            t.ep_loss_sum = 0;
            t.ep_correct = t.ep_seen = 0;
        }
        /* The epoch's order is a pure function of (seed, epoch): recomputed after a resume. */
        if (b == 0 || !order_ready) {
            ds_epoch_order((uint64_t)cfg->seed, epoch, t.perm, t.train->n);
            order_ready = 1;
            if (t.ntrain < t.train->n) {
                /* With a limit, train on the first ntrain images, shuffled. */
                size_t k = 0;
                for (size_t i = 0; i < t.train->n && k < t.ntrain; i++)
                    if (t.perm[i] < t.ntrain) t.perm[k++] = t.perm[i];
            }
        }
        size_t start = (size_t)b * (size_t)t.batch;
        size_t n = ES_MIN((size_t)t.batch, t.ntrain - start);
        double lr = train_lr_at(cfg, it, t.iters_per_epoch);
        nn_sgd_set_lr(t.sgd, (float)lr);
        rng_stream arng;
        rng_init_indexed(&arng, (uint64_t)cfg->seed, "augment", it);
        rc = ds_batch_fill(t.train, t.perm + start, n, augment == CFG_AUG_CROP_FLIP ? &aug : NULL,
                           &arng, t.x, t.labels, err);
        double loss = 0;
        if (rc == ES_OK) rc = nn_net_forward(t.net, t.x, (int)n, t.labels, 1, &loss, err);
        if (rc == ES_OK) rc = nn_net_backward(t.net, err);
        if (rc < 0) break;
        if (!isfinite(loss)) {
            rc = es_fail(err, ES_ERANGE,
                         "training diverged at iteration %llu (epoch %llu): the loss is %g; "
                         "lower train.lr",
                         (unsigned long long)it, (unsigned long long)epoch + 1, loss);
            break;
        }
        t.ep_correct +=
            (uint64_t)nn_count_correct(nn_net_logits(t.net), t.labels, (int)n, t.classes);
        t.ep_seen += n;
        t.ep_loss_sum += loss * (double)n;
        write_step(&t, it, (int)epoch);
        if (opt->hooks && opt->hooks->iteration &&
            (rc = opt->hooks->iteration(opt->hooks->ctx, t.ws, it, (int)n, err)) < 0)
            break;
        if (t.tw && (rc = trace_iteration(&t, it, (int)epoch, lr, loss, err)) < 0) break;
        images_here += n;
        t.next_iter = it + 1;

        if (pg) {
            char status[128];
            double el = es_host_seconds() - host0;
            snprintf(status, sizeof status, "epoch %llu/%lld loss %.4f acc %.1f%% %.0f img/s",
                     (unsigned long long)epoch + 1, (long long)cfg->train.epochs,
                     t.ep_loss_sum / (double)t.ep_seen,
                     100.0 * (double)t.ep_correct / (double)t.ep_seen,
                     el > 0 ? (double)images_here / el : 0.0);
            prog_update(pg, t.next_iter, status);
        }

        int epoch_end = t.next_iter % t.iters_per_epoch == 0;
        if (epoch_end) {
            double tl = 0, ta = 0;
            rc = evaluate(&t, &tl, &ta, err);
            if (rc < 0) break;
            double now = es_host_seconds();
            double *row = &t.epoch_rows[(size_t)t.epochs_done * EC_COUNT];
            row[EC_EPOCH] = (double)(epoch + 1);
            row[EC_ITERS] = (double)t.next_iter;
            row[EC_LR] = lr;
            row[EC_TRAIN_LOSS] = t.ep_loss_sum / (double)t.ep_seen;
            row[EC_TRAIN_ACC] = (double)t.ep_correct / (double)t.ep_seen;
            row[EC_TEST_LOSS] = tl;
            row[EC_TEST_ACC] = ta;
            row[EC_SECONDS] = now - t.ep_host_start;
            t.host_seconds_before += now - t.ep_host_start;
            t.ep_host_start = now;
            t.epochs_done++;
            if (ta > t.best_acc) t.best_acc = ta;
            if (opt->progress_mode == CFG_PROGRESS_ALWAYS ||
                (opt->progress_mode == CFG_PROGRESS_AUTO && isatty(2)))
                fprintf(stderr, "%sepoch %d: train loss %.4f acc %.2f%%, test loss %.4f acc %.2f%%\n",
                        isatty(2) ? "\r\033[K" : "", t.epochs_done, row[EC_TRAIN_LOSS],
                        100 * row[EC_TRAIN_ACC], tl, 100 * ta);
        }
        int want_ckpt = (cfg->train.checkpoint_every > 0 &&
                         t.next_iter % (uint64_t)cfg->train.checkpoint_every == 0) ||
                        (opt->stop_after && t.next_iter == opt->stop_after) ||
                        (epoch_end && opt->checkpoint);
        if (want_ckpt) rc = save_checkpoint(&t, es_host_seconds(), err);
        if (rc == ES_OK && opt->stop_after && t.next_iter >= opt->stop_after &&
            t.next_iter < t.total_iters) {
            res->stopped_early = 1;
            break;
        }
    }
    double host_total = es_host_seconds() - host0;
    prog_finish(pg, NULL);
    if (rc == ES_OK) {
        res->iterations = t.next_iter;
        res->epochs_done = t.epochs_done;
        if (t.epochs_done > 0) {
            const double *last = &t.epoch_rows[(size_t)(t.epochs_done - 1) * EC_COUNT];
            res->test_accuracy_final = last[EC_TEST_ACC];
            res->train_loss_final = last[EC_TRAIN_LOSS];
        }
        res->test_accuracy_best = t.best_acc;
        wctl_summary wsum;
        wctl_summarise(t.ws, (size_t)-1, &wsum);
        res->writes_mean = wsum.mean;
        res->writes_max = (double)wsum.max;
        res->images_per_s = host_total > 0 ? (double)images_here / host_total : 0;
        res->host_seconds = host_total;
    }
    if (rc == ES_OK && !res->stopped_early) {
        char path[4200];
        snprintf(path, sizeof path, "%s/weights.npz", opt->out_dir);
        rc = t.tw ? close_trace(&t, err) : ES_OK;
        res->trace_write_seconds = t.trace_s;
        if (rc == ES_OK) rc = export_weights(&t, path, err);
        if (rc == ES_OK) rc = write_epochs_csv(&t, err);
        if (rc == ES_OK) rc = write_iterations_csv(&t, err);
        if (rc == ES_OK) rc = write_config_yaml(&t, err);
        if (rc == ES_OK) rc = write_stats(&t, res, t.host_seconds_before, err);
    }
    trainer_free(&t);
    return rc;
}
