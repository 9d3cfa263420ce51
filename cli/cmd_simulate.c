/* cmd_simulate.c - `essim simulate --trace FILE [--config ARCH.yaml]`: replay a recorded
 * layer-op trace (docs/trace-format.md) on a hardware configuration. The trace fixes the
 * workload (op template, batch, per-iteration write masks); the configuration gives the chip.
 * Replaying on another chip needs the same crossbar geometry (rows, columns, bits per cell,
 * weight bits, input bits, slicing, encoding, block granularity): otherwise the masks would
 * name blocks that do not exist, and the command refuses, naming the field. The trace is
 * streamed: memory does not grow with its length. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chip.h"
#include "cli.h"
#include "lop_compile.h"
#include "hwsim.h"
#include "progress.h"
#include "stats.h"
#include "trace.h"
#include "map_trace.h"
#include "trace_hdr.h"
#include "wear.h"

static void sim_usage(FILE *fp)
{
    fprintf(fp,
            "usage: essim simulate --trace FILE [--config ARCH.yaml] [options]\n"
            "\n"
            "Replay a layer-op trace (from 'essim train --trace', 'essim run --trace' or\n"
            "'essim trace synth') on a hardware configuration: time, energy and stalls by\n"
            "phase and component, wear and lifetime. Without --config the trace's own\n"
            "configuration is used. The crossbar geometry must match the trace's.\n"
            "\n"
            "  -t, --trace FILE      the trace to replay (required)\n"
            "  -c, --config FILE     hardware configuration (e.g. configs/neurosim-v2.yaml)\n"
            "  -s, --set KEY=VALUE   any configuration key (see 'essim config reference')\n"
            "  -o, --out DIR         output folder                   [essim-out/simulate]\n"
            "  -n, --iterations N    replay only the first N iterations\n"
            "  --timeline FILE       Chrome trace-event JSON of the first iterations\n"
            "  --detail              sim.detail=full: one event per vector, no reuse (slow)\n"
            "  --salvage             replay the intact prefix of a damaged trace\n"
            "  -q, --quiet           no progress;  --progress: progress even when not a tty\n"
            "  -h, --help\n"
            "\n"
            "Outputs: stats.json/.txt/.csv (hw.*, writes.*, lifetime.*), heatmap-LAYER.csv.\n"
            "Exit status: 0 ok, 1 runtime failure or damaged trace, 2 usage, configuration or\n"
            "geometry mismatch.\n");
}

typedef struct sim_state {
    trace_reader *tr;
    essim_config tcfg;
    int tcfg_ok;
    map_plan *plan;
    lop_op *ops;
    size_t nops;
    chip_model chip;
    hw_sim *hw;
    wear_model *wear;
} sim_state;

static void sim_state_free(sim_state *s)
{
    hw_destroy(s->hw);
    wear_destroy(s->wear);
    map_destroy(s->plan);
    free(s->ops);
    if (s->tcfg_ok) cfg_free(&s->tcfg);
    trace_reader_close(s->tr);
}

static int find_name(const char *const *names, uint32_t n, const char *want)
{
    for (uint32_t i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], want) == 0) return (int)i;
    return -1;
}

/* The op template of the trace as lop_op records (kinds and counts matched by name). */
static int ops_from_trace(const trace_header *th, const char *path, sim_state *s, es_err *err)
{
    s->nops = th->n_ops;
    s->ops = calloc(th->n_ops ? th->n_ops : 1, sizeof *s->ops);
    if (!s->ops) return es_fail(err, ES_ENOMEM, "out of memory");
    int cmap[LOP_NCOUNT];
    for (int j = 0; j < LOP_NCOUNT; j++)
        cmap[j] = find_name(th->count_names, th->n_count_names, lop_count_name(j));
    for (uint32_t i = 0; i < th->n_ops; i++) {
        const trace_op *t = &th->ops[i];
        lop_op *o = &s->ops[i];
        const char *kn = t->kind < th->n_kinds ? th->kind_names[t->kind] : "?";
        int kind = -1;
        for (int k = 0; k < LOP_NKIND; k++)
            if (strcmp(lop_kind_name(k), kn) == 0) kind = k;
        if (kind < 0 || t->phase >= LOP_NPHASE)
            return es_fail(err, ES_EFORMAT, "%s: op %u has kind '%s' (phase %u), which this "
                           "version of essim does not model", path, i, kn, t->phase);
        if (t->layer != TRACE_NO_LAYER && t->layer >= th->n_layers)
            return es_fail(err, ES_EFORMAT, "%s: op %u names layer %u of %u", path, i, t->layer,
                           th->n_layers);
        o->layer = t->layer == TRACE_NO_LAYER ? -1 : (int32_t)t->layer;
        o->node = -1;
        o->phase = t->phase;
        o->kind = (uint8_t)kind;
        for (int j = 0; j < LOP_NCOUNT; j++)
            if (cmap[j] >= 0 && (uint32_t)cmap[j] < t->n) o->n[j] = t->counts[cmap[j]];
    }
    return ES_OK;
}

int cmd_simulate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"trace", required_argument, NULL, 't'},     {"config", required_argument, NULL, 'c'},
        {"set", required_argument, NULL, 's'},       {"out", required_argument, NULL, 'o'},
        {"iterations", required_argument, NULL, 'n'}, {"timeline", required_argument, NULL, 'T'},
        {"detail", no_argument, NULL, 'D'},          {"salvage", no_argument, NULL, 'S'},
        {"quiet", no_argument, NULL, 'q'},           {"progress", no_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0}};
    char **sets = calloc((size_t)argc + 2, sizeof *sets);
    int nsets = 0, c, rc = CLI_EXIT_OK, quiet = 0, force = 0, salvage = 0;
    const char *out = "essim-out/simulate", *path = NULL, *file = NULL, *timeline = NULL;
    uint64_t limit = 0;
    if (!sets) return CLI_EXIT_FAIL;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "t:c:s:o:n:qh", opts, NULL)) != -1) {
        switch (c) {
        case 't': path = optarg; break;
        case 'c': file = optarg; break;
        case 's': sets[nsets++] = optarg; break;
        case 'o': out = optarg; break;
        case 'T': timeline = optarg; break;
        case 'D': sets[nsets++] = "sim.detail=full"; break;
        case 'S': salvage = 1; break;
        case 'n': rc = cli_uint_arg("simulate", "--iterations", optarg, 1, UINT64_MAX, &limit); break;
        case 'q': quiet = 1; break;
        case 'P': force = 1; break;
        case 'h':
            sim_usage(stdout);
            rc = -1;
            break;
        default:
            fprintf(stderr, "essim simulate: unknown or incomplete option '%s'; see 'essim "
                            "simulate --help'\n", argv[optind - 1]);
            rc = CLI_EXIT_USAGE;
        }
        if (rc) break;
    }
    if (rc == 0 && optind < argc) {
        if (!file && argc - optind == 1) {
            file = argv[optind];
        } else {
            fprintf(stderr, "essim simulate: unexpected argument '%s'\n", argv[optind]);
            rc = CLI_EXIT_USAGE;
        }
    }
    if (rc == 0 && !path) {
        fprintf(stderr, "essim simulate: --trace FILE is required; see 'essim simulate --help'\n");
        rc = CLI_EXIT_USAGE;
    }
    sim_state s;
    memset(&s, 0, sizeof s);
    es_err err;
    es_err_clear(&err);
    essim_config cfg;
    cfg_doc *doc = NULL, *tdoc = NULL;
    int loaded = 0;
    double h0 = es_host_seconds();
    if (rc == 0) {
        trace_reader_options ro = {salvage};
        if (trace_reader_open(path, &ro, &s.tr, &err) < 0) rc = cli_report(&err);
    }
    const trace_header *th = rc == 0 ? trace_reader_header(s.tr) : NULL;
    if (rc == 0) {
        /* The trace's own configuration: the workload (batch) and the reference geometry. */
        if (cfg_doc_load_string(th->config_yaml ? th->config_yaml : "version: 1\n", path, &tdoc,
                                &err) < 0 ||
            cfg_bind_recorded(tdoc, &s.tcfg, &err) < 0) {
            fprintf(stderr, "essim simulate: %s: the trace's recorded configuration does not "
                            "load: %s\n", path, err.msg);
            rc = CLI_EXIT_FAIL;
        } else {
            s.tcfg_ok = 1;
        }
    }
    if (rc == 0) {
        int lr;
        if (file) {
            lr = cli_load_config_doc(file, sets, nsets, &cfg, &doc, &err);
        } else {
            lr = cfg_doc_load_string(th->config_yaml ? th->config_yaml : "version: 1\n", path,
                                     &doc, &err);
            for (int i = 0; lr == ES_OK && i < nsets; i++) lr = cfg_doc_set(doc, sets[i], &err);
            if (lr == ES_OK) lr = cfg_bind_recorded(doc, &cfg, &err);
        }
        if (lr < 0) rc = cli_report(&err);
        else loaded = 1;
    }
    if (rc == 0 && !cfg.arch.training) {
        fprintf(stderr, "essim simulate: the configuration's chip has no training units "
                        "(arch.training is false); a training trace needs them\n");
        rc = CLI_EXIT_USAGE;
    }
    if (rc == 0 && th->n_layers == 0) {
        fprintf(stderr, "essim simulate: %s: the trace has no mapped layers to replay\n", path);
        rc = CLI_EXIT_USAGE;
    }
    /* Place the trace's layers on this configuration and compare the geometry. */
    if (rc == 0) {
        int cr = map_check_trace(th, path, &s.tcfg, &cfg, &s.plan, &err);
        if (cr == ES_ECONFIG) {
            fprintf(stderr, "essim simulate: %s\n", err.msg);
            rc = CLI_EXIT_USAGE;
        } else if (cr < 0) {
            rc = cli_report(&err);
        }
    }
    if (rc == 0 && ops_from_trace(th, path, &s, &err) < 0) rc = cli_report(&err);
    if (rc == 0 && chip_from_config(&s.chip, &cfg, doc, &err) < 0) rc = cli_report(&err);
    if (rc == 0) {
        hw_options ho;
        hw_options_from(&cfg, &ho);
        ho.timeline = timeline;
        { /* the recorded run's write policy decides whether a residual buffer was kept */
            hw_options rec;
            hw_options_from(&s.tcfg, &rec);
            ho.residual = rec.residual;
        }
        if (hw_create(&s.chip, s.plan, s.ops, s.nops, (int)s.tcfg.train.batch, &ho, &s.hw, &err) <
                0 ||
            wear_create(&cfg, s.plan, &s.wear, &err) < 0)
            rc = cli_report(&err);
    }
    if (rc == 0) rc = es_mkdir_p(out, &err) < 0 ? cli_report(&err) : 0;
    /* Replay. */
    uint64_t iters = 0, total = 0;
    const trace_footer *tf = rc == 0 ? trace_reader_footer(s.tr) : NULL;
    if (tf) total = tf->records;
    if (limit && (!total || limit < total)) total = limit;
    prog_options po = {quiet ? CFG_PROGRESS_NEVER : force ? CFG_PROGRESS_ALWAYS : cfg.sim.progress,
                       NULL, -1, 10.0, NULL};
    prog *pg = rc == 0 ? prog_start("simulate", total, "it", &po) : NULL;
    double r0 = es_host_seconds();
    while (rc == 0 && (!limit || iters < limit)) {
        trace_record rec;
        int n = trace_reader_next(s.tr, &rec, &err);
        if (n < 0) {
            rc = cli_report(&err);
            break;
        }
        if (n == 0) break;
        /* a trace of format 2.1 says how many images each iteration computed */
        uint64_t images = trace_iteration_images(th->epoch_images, (uint64_t)s.tcfg.train.batch,
                                                 rec.iteration);
        if (hw_iteration_n(s.hw, rec.masks, 1, (int)images, &err) < 0) {
            rc = cli_report(&err);
            break;
        }
        for (uint32_t l = 0; l < th->n_layers; l++)
            if (rec.counts[l]) wear_record_bits(s.wear, l, rec.masks[l]);
        iters++;
        if (pg && (iters & 255) == 0) prog_update(pg, iters, NULL);
    }
    double replay_s = es_host_seconds() - r0;
    prog_finish(pg, NULL);
    if (rc == 0 && salvage && trace_reader_damage(s.tr))
        fprintf(stderr, "essim simulate: %s: replayed the intact prefix (%" PRIu64
                        " iterations); %s\n", path, iters, trace_reader_damage(s.tr));
    hw_totals t;
    if (rc == 0) hw_get_totals(s.hw, &t);
    if (rc == 0 && hw_finish(s.hw, &err) < 0) rc = cli_report(&err);
    if (rc == 0 && hw_write_heatmaps(s.hw, out, &err) < 0) rc = cli_report(&err);
    if (rc == 0) { /* the effective configuration, next to the results */
        char cpath[4200];
        snprintf(cpath, sizeof cpath, "%s/config.yaml", out);
        if (cfg_dump_file(&cfg, cpath, &err) < 0) rc = cli_report(&err);
    }
    if (rc == 0) {
        stat_registry *r = NULL;
        int sr = stat_registry_create(&r);
        if (sr == ES_OK) sr = hw_stats(s.hw, r, &err);
        /* writes.* from the replayed masks (weights-weighted, as writes.mean of essim train) */
        double wsum = 0, weights = 0;
        uint64_t wmax = 0;
        for (size_t l = 0; sr == ES_OK && l < th->n_layers; l++) {
            const map_layer *L = map_layer_at(s.plan, l);
            const uint64_t *cnt = hw_block_counts(s.hw, l);
            for (uint64_t g = 0; g < L->blocks; g++) {
                double w = (double)map_block_weights(L, g);
                wsum += (double)cnt[g] * w;
                weights += w;
                if (cnt[g] > wmax) wmax = cnt[g];
            }
        }
        struct {
            const char *name, *unit, *desc;
            double v;
        } ws[] = {
            {"writes.iterations", "", "iterations replayed", (double)iters},
            {"writes.mean", "writes", "mean update count per weight position",
             weights > 0 ? wsum / weights : 0},
            {"writes.max", "writes", "largest block update count", (double)wmax},
            {"writes.savings_mean_vs_sgd", "", "iterations / mean",
             wsum > 0 ? (double)iters * weights / wsum : 0},
            {"writes.savings_max_vs_sgd", "", "iterations / max",
             wmax ? (double)iters / (double)wmax : 0},
            {"replay.iterations_per_host_s", "it/s", "iterations replayed per host second",
             replay_s > 0 ? (double)iters / replay_s : 0},
        };
        for (size_t i = 0; sr == ES_OK && i < ES_ARRAY_LEN(ws); i++) {
            stat_entry *e = stat_register_scalar(r, ws[i].name, ws[i].unit, ws[i].desc, &err);
            if (!e) sr = err.code ? err.code : ES_ENOMEM;
            else stat_set(e, ws[i].v);
        }
        if (sr == ES_OK) sr = wear_stats(s.wear, 1, r, &err);
        double host = es_host_seconds() - h0;
        char hash[17];
        cfg_hash(&cfg, hash);
        stat_meta_field extra[] = {
            {"sim_seconds_per_host_second", NULL, host > 0 ? t.time_s / host : 0},
            {"trace", path, 0},
        };
        stat_meta meta = {PACKAGE_VERSION, (uint64_t)cfg.seed, hash, cli_command_line(), host,
                          t.events, extra, ES_ARRAY_LEN(extra)};
        if (sr == ES_OK) sr = stat_dump_dir(r, &meta, out, &err);
        stat_registry_destroy(r);
        if (sr < 0) rc = cli_report(&err);
    }
    if (rc == 0) {
        printf("essim simulate: %s (%s, %" PRIu64 " iterations) on %s\n", path,
               th->network ? th->network : "?", iters, cfg.arch.name);
        cli_map_summary(stdout, s.plan);
        cli_hw_summary(stdout, &t, s.chip.cost.area_mm2 + t.residual_area_mm2);
        printf("  replay      %.3g s host, %.0f iterations/s, %.3g events (%.3g events/s)\n",
               replay_s, replay_s > 0 ? (double)iters / replay_s : 0.0, (double)t.events,
               replay_s > 0 ? (double)t.events / replay_s : 0.0);
        printf("  outputs     %s/{stats.json,stats.txt,stats.csv,heatmap-*.csv}\n", out);
        if (timeline) printf("  timeline    %s (open in https://ui.perfetto.dev)\n", timeline);
    }
    sim_state_free(&s);
    if (loaded) cfg_free(&cfg);
    cfg_doc_destroy(doc);
    cfg_doc_destroy(tdoc);
    free(sets);
    return rc < 0 ? CLI_EXIT_OK : rc;
}
