/* cmd_run.c - `essim run`: training and the hardware together. The network trains for real
 * (workloads/train.h) with the write policy deciding every iteration's crossbar writes; each
 * iteration is executed on the modelled chip (arch/hwsim.h) and every write wears the cells
 * (arch/wear.h), whose failures change the weights the network trains with. With --repeat N
 * the same chip trains N times: wear carries over from run to run.
 *
 * With no configuration file, `essim run` runs the preset run-default.yaml: LeNet-5 on
 * Fashion-MNIST with ESSENCE (rho 0.1) for 5 epochs on isaac-train. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chip.h"
#include "cli.h"
#include "lop_compile.h"
#include "hwsim.h"
#include "nn_net.h"
#include "train.h"
#include "wear.h"
#include "wctl.h"

typedef struct run_ctx {
    const essim_config *cfg;
    const cfg_doc *doc;
    const char *timeline;
    chip_model chip;
    map_plan *plan;
    lop_stream *ops;
    hw_sim *hw;
    wear_model *wear;
    const uint8_t **masks;
    size_t nlayers;
    uint64_t runs; /* runs started on this chip */
    uint64_t failed_before;
} run_ctx;

static int run_begin(void *vctx, const essim_config *cfg, nn_net *net, const map_plan *tplan,
                     es_err *err)
{
    run_ctx *c = vctx;
    (void)tplan;
    c->runs++;
    if (!c->hw) {
        map_config mc;
        map_config_from(cfg, &mc);
        ES_TRY(chip_from_config(&c->chip, cfg, c->doc, err));
        ES_TRY(lop_map_net(&mc, net, &c->plan, err));
        ES_TRY(lop_compile(c->plan, net, (int)cfg->train.batch, &c->ops, err));
        size_t nops;
        const lop_op *ops = lop_ops(c->ops, &nops);
        hw_options ho;
        hw_options_from(cfg, &ho);
        ho.timeline = c->timeline;
        ES_TRY(hw_create(&c->chip, c->plan, ops, nops, (int)cfg->train.batch, &ho, &c->hw, err));
        ES_TRY(wear_create(cfg, c->plan, &c->wear, err));
        c->nlayers = map_num_layers(c->plan);
        c->masks = calloc(c->nlayers ? c->nlayers : 1, sizeof *c->masks);
        if (!c->masks) return es_fail(err, ES_ENOMEM, "out of memory");
    } else {
        hw_reset_totals(c->hw);
    }
    c->failed_before = wear_failed_cells(c->wear, (size_t)-1);
    /* Cells that failed in earlier runs hold their levels from the start. */
    size_t l = 0;
    for (int i = 0; i < nn_net_num_params(net); i++) {
        const nn_param *p = nn_net_param(net, i);
        if (!p->trainable || !p->mapped) continue;
        if (l < c->nlayers) wear_apply(c->wear, l, p->data);
        l++;
    }
    return ES_OK;
}

static void run_layer_written(void *vctx, const wctl *ws, size_t l, float *w, size_t numel,
                              const uint64_t *psum, const uint32_t *pmax)
{
    run_ctx *c = vctx;
    (void)numel;
    /* incremental pulses: the chip charges this write by them (the arrays exist from
       hw_create, so this cannot fail for a mapped layer) */
    if (psum && pmax) hw_set_pulses(c->hw, l, psum, pmax, NULL);
    /* with pulses the cells wear by them: a block by its most-pulsed weight's count */
    if (pmax)
        wear_record_n(c->wear, l, wctl_mask(ws, l, NULL), pmax);
    else
        wear_record(c->wear, l, wctl_mask(ws, l, NULL));
    if (wear_failed_cells(c->wear, l)) wear_apply(c->wear, l, w);
}

static int run_iteration(void *vctx, const wctl *ws, uint64_t it, int images, es_err *err)
{
    run_ctx *c = vctx;
    (void)it;
    for (size_t l = 0; l < c->nlayers; l++)
        c->masks[l] = wctl_mask(ws, l, NULL);
    return hw_iteration_n(c->hw, c->masks, 0, images, err);
}

static int run_stats(void *vctx, stat_registry *r, es_err *err)
{
    run_ctx *c = vctx;
    ES_TRY(hw_stats(c->hw, r, err));
    ES_TRY(wear_stats(c->wear, c->runs, r, err));
    stat_entry *e = stat_register_scalar(r, "lifetime.cells_failed_this_run", "",
                                         "cells that failed during this run", err);
    if (!e) return err && err->code ? err->code : ES_ENOMEM;
    stat_set(e, (double)(wear_failed_cells(c->wear, (size_t)-1) - c->failed_before));
    return ES_OK;
}

/* Checkpoints carry the chip's state too (train.checkpoint_every, --resume): the simulator's
 * totals, counts and cached compute, the wear counts, and which run of the chip this is. */
static void run_save(void *vctx, es_put_fn put, void *pctx)
{
    run_ctx *c = vctx;
    hw_save(c->hw, put, pctx);
    wear_save(c->wear, put, pctx);
    uint64_t st[2] = {c->runs, c->failed_before};
    put(pctx, "run/state", st, NULL, NULL, 2);
}

/* A crafted checkpoint with a valid CRC could carry NaN or a simulated time of years: the
 * totals must be finite, not negative, and the phase and component breakdowns must add up to
 * the totals they break down (as every iteration keeps them). */
static int sums_to(double total, const double *part, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += part[i];
    return fabs(s - total) <= 1e-6 * fabs(total) + 1e-12;
}

static int check_hw_state(const hw_sim *hw, es_err *err)
{
    hw_totals t;
    hw_get_totals(hw, &t);
    const double *f[] = {&t.time_s, &t.energy_j, &t.write_busy_s, &t.compute_time_s};
    int ok = 1;
    for (size_t i = 0; i < ES_ARRAY_LEN(f); i++) ok &= isfinite(*f[i]) && *f[i] >= 0;
    for (int p = 0; p < LOP_NPHASE; p++)
        ok &= isfinite(t.time_s_by_phase[p]) && t.time_s_by_phase[p] >= 0 &&
              isfinite(t.energy_j_by_phase[p]) && t.energy_j_by_phase[p] >= 0;
    for (int k = 0; k < HW_NE; k++)
        ok &= isfinite(t.energy_j_by_component[k]) && t.energy_j_by_component[k] >= 0;
    for (int k = 0; k < HW_NC; k++) ok &= isfinite(t.stall_s_by_cause[k]) && t.stall_s_by_cause[k] >= 0;
    if (!ok)
        return es_fail(err, ES_EFORMAT,
                       "checkpoint: the chip state holds a negative, infinite or NaN total");
    if (!sums_to(t.time_s, t.time_s_by_phase, LOP_NPHASE) ||
        !sums_to(t.energy_j, t.energy_j_by_phase, LOP_NPHASE))
        return es_fail(err, ES_EFORMAT,
                       "checkpoint: the chip state's simulated time %g s or energy %g J is not "
                       "the sum of its phases",
                       t.time_s, t.energy_j);
    return ES_OK;
}

static int run_restore(void *vctx, es_get_fn get, void *gctx, es_err *err)
{
    run_ctx *c = vctx;
    uint64_t st[2];
    int rc = get(gctx, "run/state", st, NULL, NULL, 2);
    if (rc < 0) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        return es_fail(err, ES_EFORMAT, "%s (no chip state: a checkpoint of essim train?)", why);
    }
    ES_TRY(hw_restore(c->hw, get, gctx, err));
    ES_TRY(check_hw_state(c->hw, err));
    /* The chip executes every training iteration: its count must be the trainer's. */
    uint64_t ts[4];
    hw_totals tot;
    hw_get_totals(c->hw, &tot);
    if (get(gctx, "state", ts, NULL, NULL, 4) == 0 && tot.iterations != ts[0])
        return es_fail(err, ES_EFORMAT,
                       "checkpoint: the chip state counts %llu iterations, the training %llu",
                       (unsigned long long)tot.iterations, (unsigned long long)ts[0]);
    ES_TRY(wear_restore(c->wear, get, gctx, err));
    c->runs = st[0];
    c->failed_before = st[1];
    return ES_OK;
}

static uint64_t run_events(void *vctx)
{
    run_ctx *c = vctx;
    hw_totals t;
    if (!c->hw) return 0;
    hw_get_totals(c->hw, &t);
    return t.events;
}

static double run_sim_seconds(void *vctx)
{
    run_ctx *c = vctx;
    hw_totals t;
    if (!c->hw) return 0;
    hw_get_totals(c->hw, &t);
    return t.time_s;
}

static void run_free(run_ctx *c)
{
    hw_destroy(c->hw);
    wear_destroy(c->wear);
    lop_destroy(c->ops);
    map_destroy(c->plan);
    free(c->masks);
}

static void fmt_runs(char *buf, size_t n, double v)
{
    if (!isfinite(v))
        snprintf(buf, n, "never (no cell written)");
    else
        snprintf(buf, n, "%.3g runs", v);
}

/* The short human-readable summary of a run on the hardware. */
void cli_map_summary(FILE *fp, const map_plan *plan)
{
    const map_totals *mt = map_plan_totals(plan);
    fprintf(fp,
            "  mapping     %llu crossbars in %llu IMAs on %llu tiles (%.1f%% of the chip's "
            "crossbars), %llu weight copies",
            (unsigned long long)mt->xbars, (unsigned long long)mt->imas,
            (unsigned long long)mt->tiles,
            mt->chip_xbars ? 100.0 * (double)mt->xbars / (double)mt->chip_xbars : 0.0,
            (unsigned long long)mt->copies);
    int shown = 0;
    for (size_t l = 0; l < map_num_layers(plan); l++) {
        const map_layer *L = map_layer_at(plan, l);
        if (L->copies < 2) continue;
        fprintf(fp, "%s %s x%llu", shown++ ? "," : ":", L->name, (unsigned long long)L->copies);
        if (shown == 6) {
            fputs(", ...", fp);
            break;
        }
    }
    fputc('\n', fp);
}

void cli_hw_summary(FILE *fp, const hw_totals *t, double area_mm2)
{
    static const char *const ph[LOP_NPHASE] = {"forward", "backward", "gradient", "update"};
    double T = t->time_s > 0 ? t->time_s : 1, E = t->energy_j > 0 ? t->energy_j : 1;
    fprintf(fp, "  time        %.4g s simulated, %.4g ms per iteration:", t->time_s,
            t->iterations ? 1e3 * t->time_s / (double)t->iterations : 0.0);
    for (int p = 0; p < LOP_NPHASE; p++)
        fprintf(fp, "%s %s %.1f%%", p ? "," : "", ph[p], 100 * t->time_s_by_phase[p] / T);
    fprintf(fp, "\n  energy      %.4g J (%.4g W average on %.4g mm^2):", t->energy_j,
            t->time_s > 0 ? t->energy_j / t->time_s : 0.0, area_mm2);
    for (int p = 0; p < LOP_NPHASE; p++)
        fprintf(fp, "%s %s %.1f%%", p ? "," : "", ph[p], 100 * t->energy_j_by_phase[p] / E);
    int top[3] = {-1, -1, -1};
    for (int c = 0; c < HW_NE; c++)
        for (int k = 0; k < 3; k++)
            if (top[k] < 0 || t->energy_j_by_component[c] > t->energy_j_by_component[top[k]]) {
                for (int j = 2; j > k; j--)
                    top[j] = top[j - 1];
                top[k] = c;
                break;
            }
    fprintf(fp, "\n              largest: ");
    for (int k = 0; k < 3 && top[k] >= 0; k++)
        fprintf(fp, "%s%s %.1f%%", k ? ", " : "", hw_energy_name(top[k]),
                100 * t->energy_j_by_component[top[k]] / E);
    int sc = -1;
    for (int c = 0; c < HW_NC; c++)
        if (sc < 0 || t->stall_s_by_cause[c] > t->stall_s_by_cause[sc]) sc = c;
    fprintf(fp,
            "\n  writes      %" PRIu64 " row segments, %.4g s of driver time; update phase "
            "%.4g J",
            t->row_writes, t->write_busy_s, t->energy_j_by_phase[LOP_UPDATE]);
    if (sc >= 0 && t->stall_s_by_cause[sc] > 0)
        fprintf(fp, "\n  stalls      most: %s (%.4g job-s)", hw_cause_name(sc),
                t->stall_s_by_cause[sc]);
    double it = t->iterations ? (double)t->iterations : 1.0;
    fprintf(fp,
            "\n  buffers     %.4g MB kept per iteration, %.4g MB of it spilled off chip "
            "(%.4g s link time); NoC %.4g MB per iteration (broadcast %.4g, partial sums %.4g)",
            1e-6 * (double)t->spill_kept_bytes, 1e-6 * (double)t->spill_bytes, t->spill_time_s,
            1e-6 * (t->noc_bytes[HW_NOC_ACT] + t->noc_bytes[HW_NOC_BCAST] +
                    t->noc_bytes[HW_NOC_PSUM]) / it,
            1e-6 * t->noc_bytes[HW_NOC_BCAST] / it, 1e-6 * t->noc_bytes[HW_NOC_PSUM] / it);
    fputc('\n', fp);
}

static void run_usage(FILE *fp)
{
    fprintf(fp,
            "usage: essim run [CONFIG.yaml] [options]\n"
            "\n"
            "Train a network for real while executing every iteration on the modelled chip:\n"
            "time, energy and stalls by phase and component, the writes each policy makes,\n"
            "cell wear (failed cells change the weights the network trains with) and lifetime.\n"
            "Without CONFIG it runs the preset run-default.yaml: LeNet-5 on Fashion-MNIST with\n"
            "ESSENCE (rho 0.1), 5 epochs, on isaac-train (about 15 s).\n"
            "\n"
            "%s"
            "  -s, --set KEY=VALUE   any configuration key (see 'essim config reference')\n"
            "\n"
            "chip, outputs and restarts:\n"
            "  -o, --out DIR         output folder                        [essim-out/run]\n"
            "  --repeat N            train N times on the same chip (wear carries over);\n"
            "                        run k writes into DIR/run-k, DIR/repeat.csv lists them\n"
            "  --margin POINTS       with --repeat: report the first run whose accuracy is\n"
            "                        more than POINTS below run 1's             [1]\n"
            "  --trace FILE          also record the layer-op trace (first run)\n"
            "  --timeline FILE       Chrome trace-event JSON of the first iterations\n"
            "                        (sim.timeline_iterations), for Perfetto / chrome://tracing\n"
            "  --detail              sim.detail=full: one event per vector, no reuse (slow)\n"
            "                        (--checkpoint-every saves the chip and wear state too,\n"
            "                        in DIR/checkpoint.ckpt)\n"
            "  --resume              continue an interrupted run from its checkpoint; ends\n"
            "                        byte-identical to an uninterrupted run (not with --repeat\n"
            "                        or --timeline)\n"
            "  --stop-after N        stop after N iterations, with a checkpoint\n"
            "  -q, --quiet           no progress;  --progress: progress even when not a tty\n"
            "  -h, --help\n"
            "\n"
            "Outputs: stats.json/.txt/.csv (train.*, writes.*, hw.*, lifetime.*), epochs.csv,\n"
            "iterations.csv (written fraction per iteration), weights.npz, heatmap-LAYER.csv\n"
            "(write counts per crossbar row segment).\n"
            "Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.\n",
            cli_recipe_help());
}

enum { R_REPEAT = 256, R_TRACE, R_TIMELINE, R_DETAIL, R_PROGRESS, R_MARGIN, R_RESUME, R_STOP_AFTER };

int cmd_run(int argc, char **argv)
{
    static const struct option own[] = {
        {"repeat", required_argument, NULL, R_REPEAT},
        {"margin", required_argument, NULL, R_MARGIN},
        {"trace", required_argument, NULL, R_TRACE},
        {"timeline", required_argument, NULL, R_TIMELINE},
        {"detail", no_argument, NULL, R_DETAIL},
        {"resume", no_argument, NULL, R_RESUME},
        {"stop-after", required_argument, NULL, R_STOP_AFTER},
        {"set", required_argument, NULL, 's'},
        {"out", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"progress", no_argument, NULL, R_PROGRESS},
        {"help", no_argument, NULL, 'h'}};
    struct option opts[ES_ARRAY_LEN(own) + CLI_RECIPE_MAX + 1] = {{0}};
    size_t nopt = 0;
    for (size_t i = 0; i < ES_ARRAY_LEN(own); i++) opts[nopt++] = own[i];
    cli_recipe_options(opts, &nopt); /* the rest stays zero: the end */
    char **sets = calloc((size_t)argc + 2, sizeof *sets);
    char **owned = calloc((size_t)argc + 2, sizeof *owned);
    int nsets = 0, nowned = 0, c, rc = CLI_EXIT_OK, quiet = 0, force = 0;
    const char *out = "essim-out/run", *trace = NULL, *timeline = NULL;
    long repeat = 1, drop_run = 0;
    int resume = 0;
    uint64_t stop_after = 0;
    double margin = 1.0;
    if (!sets || !owned) return CLI_EXIT_FAIL;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "s:o:qh", opts, NULL)) != -1) {
        char *s = cli_recipe_assignment(c, optarg);
        if (s != (char *)-1) {
            if (!s) {
                rc = CLI_EXIT_FAIL;
                break;
            }
            owned[nowned++] = s;
            sets[nsets++] = s;
            continue;
        }
        switch (c) {
        case 's': sets[nsets++] = optarg; break;
        case 'o': out = optarg; break;
        case R_TRACE: trace = optarg; break;
        case R_TIMELINE: timeline = optarg; break;
        case R_DETAIL: sets[nsets++] = "sim.detail=full"; break;
        case R_RESUME: resume = 1; break;
        case R_STOP_AFTER:
            rc = cli_uint_arg("run", "--stop-after", optarg, 1, UINT64_MAX, &stop_after);
            break;
        case R_MARGIN: {
            char *end;
            margin = strtod(optarg, &end);
            if (*end || !(margin >= 0) || margin > 100) {
                fprintf(stderr, "essim run: --margin needs accuracy points from 0 to 100\n");
                rc = CLI_EXIT_USAGE;
            }
            break;
        }
        case R_REPEAT: {
            uint64_t v = 1;
            rc = cli_uint_arg("run", "--repeat", optarg, 1, 100000, &v);
            repeat = (long)v;
            break;
        }
        case 'q': quiet = 1; break;
        case R_PROGRESS: force = 1; break;
        case 'h':
            run_usage(stdout);
            rc = -1;
            break;
        default:
            fprintf(stderr,
                    "essim run: unknown or incomplete option '%s'; see 'essim run --help'\n",
                    argv[optind - 1]);
            rc = CLI_EXIT_USAGE;
        }
        if (rc) break;
    }
    if (rc == 0 && argc - optind > 1) {
        fprintf(stderr, "essim run: expected at most one configuration file\n");
        rc = CLI_EXIT_USAGE;
    }
    if (rc == 0 && (resume || stop_after) && repeat > 1) {
        fprintf(stderr, "essim run: --resume and --stop-after are for a single run, not with "
                        "--repeat\n");
        rc = CLI_EXIT_USAGE;
    }
    if (rc == 0 && resume && timeline) {
        fprintf(stderr, "essim run: --timeline records the first iterations, which a resumed run "
                        "does not execute again; record the timeline in a run of its own\n");
        rc = CLI_EXIT_USAGE;
    }
    /* An output that is a directory must be refused before the run, not found out after it
     * (a missing folder may still be made by -o, so only this is checked here). */
    const char *outs[] = {timeline, trace};
    for (size_t i = 0; rc == 0 && i < ES_ARRAY_LEN(outs); i++) {
        struct stat st;
        if (outs[i] && stat(outs[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            fprintf(stderr, "essim run: %s: is a directory; give a file name for --%s\n", outs[i],
                    i == 0 ? "timeline" : "trace");
            rc = CLI_EXIT_USAGE;
        }
    }
    char preset[4096];
    const char *file = optind < argc ? argv[optind] : NULL;
    if (rc == 0 && !file) {
        if (!cfg_find_preset("run-default", preset, sizeof preset)) {
            fprintf(stderr, "essim run: the preset run-default.yaml is not installed (looked in "
                            "the configs folder); give a configuration file\n");
            rc = CLI_EXIT_FAIL;
        } else {
            file = preset;
        }
    }
    essim_config cfg;
    cfg_doc *doc = NULL;
    es_err err;
    es_err_clear(&err);
    int loaded = 0;
    if (rc == 0) {
        if (cli_load_config_doc(file, sets, nsets, &cfg, &doc, &err) < 0)
            rc = cli_report(&err);
        else
            loaded = 1;
    }
    if (rc == 0 && !cfg.arch.training) {
        fprintf(stderr,
                "essim run: %s: the chip has no training units (arch.training is false); "
                "use isaac-train.yaml or set arch.training: true\n",
                file ? file : "");
        rc = CLI_EXIT_USAGE;
    }
    run_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.cfg = &cfg;
    ctx.doc = doc;
    ctx.timeline = timeline;
    train_hooks hooks = {&ctx,      run_begin,  run_layer_written, run_iteration,
                         run_stats, run_events, run_sim_seconds,   1,
                         run_save,  run_restore};
    FILE *rep = NULL;
    es_atomic_file raf;
    char dir[4200], rpath[4200];
    double acc0 = 0;
    for (long k = 1; rc == 0 && k <= repeat; k++) {
        if (repeat > 1)
            snprintf(dir, sizeof dir, "%s/run-%ld", out, k);
        else
            snprintf(dir, sizeof dir, "%s", out);
        train_options to = {dir,
                            NULL,
                            resume,
                            CFG_PROGRESS_AUTO,
                            NULL,
                            stop_after,
                            cli_command_line(),
                            k == 1 ? trace : NULL,
                            &hooks};
        to.progress_mode = quiet   ? CFG_PROGRESS_NEVER
                           : force ? CFG_PROGRESS_ALWAYS
                                   : cfg.sim.progress;
        train_result res;
        double h0 = es_host_seconds();
        if (train_run(&cfg, &to, &res, &err) < 0) {
            rc = cli_report(&err);
            break;
        }
        if (res.stopped_early) {
            printf("essim run: stopped after %" PRIu64 " iterations; continue with --resume "
                   "(checkpoint in %s)\n",
                   res.iterations, dir);
            break;
        }
        double host = es_host_seconds() - h0;
        hw_totals t;
        hw_get_totals(ctx.hw, &t);
        if (k == 1) acc0 = res.test_accuracy_final;
        if (hw_write_heatmaps(ctx.hw, dir, &err) < 0) {
            rc = cli_report(&err);
            break;
        }
        if (repeat > 1 && k == 1) {
            snprintf(rpath, sizeof rpath, "%s/repeat.csv", out);
            if (es_atomic_open(&raf, rpath, &err) < 0) {
                rc = cli_report(&err);
                break;
            }
            rep = raf.fp;
            fprintf(rep, "run,test_accuracy,accuracy_change,cells_failed,failed_fraction,"
                         "hw_time_s,hw_energy_j\n");
        }
        uint64_t failed = wear_failed_cells(ctx.wear, (size_t)-1),
                 cells = wear_cells(ctx.wear, (size_t)-1);
        if (rep)
            fprintf(rep, "%ld,%.6f,%.6f,%" PRIu64 ",%.9g,%.9g,%.9g\n", k, res.test_accuracy_final,
                    res.test_accuracy_final - acc0, failed, cells ? (double)failed / cells : 0.0,
                    t.time_s, t.energy_j);
        printf("%sessim run: %s on %s, %d epochs (%" PRIu64 " iterations), policy %s, chip %s\n",
               repeat > 1 && k > 1 ? "\n" : "", cfg.train.network,
               cfg_choice_name("train.dataset", cfg.train.dataset), res.epochs_done, res.iterations,
               cfg_choice_name("policy.name", cfg.policy.name), cfg.arch.name);
        if (repeat > 1) printf("  run         %ld of %ld on the same chip\n", k, repeat);
        printf("  accuracy    %.2f%% test (best %.2f%%)", 100 * res.test_accuracy_final,
               100 * res.test_accuracy_best);
        if (repeat > 1 && k > 1)
            printf(", %+.2f points against run 1", 100 * (res.test_accuracy_final - acc0));
        if (k > 1 && !drop_run && 100 * (acc0 - res.test_accuracy_final) > margin) drop_run = k;
        printf("\n  writes      mean %.1f, max %.0f per weight; %.2fx / %.2fx fewer than SGD "
               "(mean / max)\n",
               res.writes_mean, res.writes_max,
               res.writes_mean > 0 ? (double)res.iterations / res.writes_mean : 0.0,
               res.writes_max > 0 ? (double)res.iterations / res.writes_max : 0.0);
        cli_map_summary(stdout, ctx.plan);
        cli_hw_summary(stdout, &t, ctx.chip.cost.area_mm2 + t.residual_area_mm2);
        stat_registry *r = NULL;
        char first[64], one[64], ten[64];
        double v1 = NAN, v2 = NAN, v3 = NAN;
        if (stat_registry_create(&r) == ES_OK && wear_stats(ctx.wear, ctx.runs, r, &err) == ES_OK) {
            stat_value(r, "lifetime.runs_to_first_failure", &v1, NULL);
            stat_value(r, "lifetime.runs_to_1pct_failed", &v2, NULL);
            stat_value(r, "lifetime.runs_to_10pct_failed", &v3, NULL);
        }
        stat_registry_destroy(r);
        fmt_runs(first, sizeof first, v1);
        fmt_runs(one, sizeof one, v2);
        fmt_runs(ten, sizeof ten, v3);
        printf("  lifetime    first cell fails after %s, 1%% after %s, 10%% after %s\n"
               "              (endurance mean %.3g, sigma %.2g decades; %" PRIu64 " of %" PRIu64
               " cells failed so far)\n",
               first, one, ten, cfg.arch.cell.endurance_mean, cfg.arch.cell.endurance_sigma_log10,
               failed, cells);
        printf("  host        %.1f s, %.0f images/s; %.3g events, %.3g simulated s per host s\n",
               host, res.images_per_s, (double)t.events, host > 0 ? t.time_s / host : 0.0);
        printf("  outputs     %s/{stats.json,stats.txt,stats.csv,epochs.csv,iterations.csv,"
               "weights.npz,heatmap-*.csv}\n",
               dir);
    }
    if (rep) {
        if (rc == 0) {
            if (es_atomic_commit(&raf, &err) < 0)
                rc = cli_report(&err);
            else {
                printf("\nper run: %s/repeat.csv\n", out);
                if (drop_run)
                    printf("lifetime: accuracy fell more than %g points below run 1's in run %ld "
                           "of %ld\n",
                           margin, drop_run, repeat);
                else
                    printf("lifetime: accuracy stayed within %g points of run 1's for all %ld "
                           "runs\n",
                           margin, repeat);
            }
        } else {
            es_atomic_abort(&raf);
        }
    }
    if (rc == 0 && ctx.hw && hw_finish(ctx.hw, &err) < 0) rc = cli_report(&err);
    if (rc == 0 && timeline) printf("timeline: %s (open in https://ui.perfetto.dev)\n", timeline);
    run_free(&ctx);
    if (loaded) cfg_free(&cfg);
    cfg_doc_destroy(doc);
    for (int i = 0; i < nowned; i++)
        free(owned[i]);
    free(owned);
    free(sets);
    return rc < 0 ? CLI_EXIT_OK : rc;
}
