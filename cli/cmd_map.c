/* cmd_map.c - `essim map`: where a network's weights go on the configured chip (crossbars,
 * IMAs, tiles, utilisation, write-policy blocks per layer), optionally with the layer-op
 * stream of one training iteration; as a table or as JSON. Needs no dataset files: the input
 * shape and class count come from the dataset's name. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lop_compile.h"
#include "netdesc.h"
#include "map.h"

static void map_usage(FILE *fp)
{
    fprintf(fp,
            "usage: essim map [CONFIG.yaml] [options]\n"
            "\n"
            "Place a network's weight matrices (K = fan-in rows x N = output channels) on the\n"
            "configured crossbars and print, per layer: row tiles x column tiles x weight\n"
            "slices, crossbars, cell utilisation, the write-policy blocks and the cells of\n"
            "the largest block; then the totals (crossbars, IMAs, tiles).\n"
            "\n"
            "options (each of the first four is a shorthand for --set):\n"
            "  --network NAME|FILE   train.network: a preset or a network description (YAML);\n"
            "                        presets: %s\n"
            "  --dataset NAME        train.dataset (input shape and class count only; no\n"
            "                        files are read): fashion-mnist, mnist, cifar10, cifar100,\n"
            "                        synthetic\n"
            "  --granularity G       policy.granularity: row, crossbar, weight\n"
            "  --batch N             train.batch, for --ops\n"
            "  -s, --set KEY=VALUE   any configuration key, e.g. --set arch.xbar.rows=256\n"
            "  --ops                 also print the layer-op stream of one training iteration\n"
            "  --allow-overflow      print the placement even when the network does not fit\n"
            "                        on the chip (normally an error)\n"
            "  --json                machine-readable output\n"
            "  -h, --help            this help\n"
            "\n"
            "Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error (including\n"
            "a network that does not fit).\n",
            cli_networks());
}

enum { O_NETWORK = 256, O_DATASET, O_GRAN, O_BATCH, O_JSON, O_OPS, O_OVERFLOW };

/* JSON string with the escapes RFC 8259 requires. */
static void json_str(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(fp, "\\%c", c);
        else if (c < 0x20)
            fprintf(fp, "\\u%04x", c);
        else
            fputc(c, fp);
    }
    fputc('"', fp);
}

static void json_real(FILE *fp, double v)
{
    char buf[64];
    cfg_format_real(v, buf, sizeof buf);
    fputs(buf, fp);
}

typedef struct map_view {
    const essim_config *cfg;
    const char *net_name;
    const char *dataset;
    nn_shape in;
    int classes;
    const map_plan *plan;
    const lop_stream *ops;
    const nn_net *net;
} map_view;

static unsigned long long U(uint64_t v)
{
    return (unsigned long long)v;
}

static void print_text(const map_view *v)
{
    const map_config *mc = map_plan_config(v->plan);
    const map_geometry *g = map_plan_geometry(v->plan);
    const map_totals *t = map_plan_totals(v->plan);
    size_t nl = map_num_layers(v->plan);
    printf("network %s on %s (input %dx%dx%d, %d classes), architecture %s\n", v->net_name,
           v->dataset, v->in.c, v->in.h, v->in.w, v->classes, v->cfg->arch.name);
    printf("crossbars %lldx%lld, %lld bit%s/cell, %lld-bit weights in %llu slice%s %s, %s "
           "encoding (%llu cell%s per slice): %llu weights per crossbar row\n",
           (long long)mc->rows, (long long)mc->cols, (long long)mc->bits_per_cell,
           mc->bits_per_cell > 1 ? "s" : "", (long long)mc->weight_bits, U(g->slices),
           g->slices > 1 ? "s" : "",
           mc->slicing == CFG_SLICE_ACROSS ? "across crossbars" : "within a row",
           mc->encoding == CFG_ENC_DIFFERENTIAL ? "differential" : "offset", U(g->cells_per_slice),
           g->cells_per_slice > 1 ? "s" : "", U(g->weights_per_row));
    printf("chip: %lld tiles x %lld IMAs x %lld crossbars = %llu crossbars; %s blocks\n\n",
           (long long)mc->tiles, (long long)mc->imas_per_tile, (long long)mc->xbars_per_ima,
           U(t->chip_xbars), map_granularity_name(mc->granularity));
    int w = 5;
    for (size_t i = 0; i < nl; i++) {
        int l = (int)strlen(map_layer_at(v->plan, i)->name);
        if (l > w) w = l;
    }
    /* The pipeline: each layer's stage in vector times per image, ceil(vectors / copies);
     * the slowest stage bounds the forward pass's throughput. */
    uint64_t stage_sum = 0, stage_max = 0;
    for (size_t i = 0; i < nl; i++) {
        uint64_t s = map_vector_times(map_layer_at(v->plan, i));
        stage_sum += s;
        stage_max = s > stage_max ? s : stage_max;
    }
    printf("%-*s %6s %6s %9s %9s %6s %6s %7s %8s %11s %6s %7s %6s %5s %s\n", w, "layer", "K", "N",
           "row_tiles", "col_tiles", "slices", "xbars", "util", "blocks", "cells/block", "copies",
           "vectors", "stage", "IMAs", "tiles");
    for (size_t i = 0; i < nl; i++) {
        const map_layer *L = map_layer_at(v->plan, i);
        printf("%-*s %6llu %6llu %9llu %9llu %6llu %6llu %6.2f%% %8llu %11llu %6llu %7llu %5.1f%% "
               "%5llu %llu-%llu\n",
               w, L->name, U(L->k), U(L->n), U(L->row_tiles), U(L->col_tiles), U(L->slices),
               U(L->xbars), 100 * L->utilisation, U(L->blocks), U(map_block_cells(L, 0)),
               U(L->copies), U(L->positions),
               stage_sum ? 100.0 * (double)map_vector_times(L) / (double)stage_sum : 0.0,
               U(L->imas), U(L->tile0), U(L->tile0 + L->tiles - 1));
    }
    printf("(copies: replicas of the layer's weights, arch.map.replication = %s; vectors: input "
           "vectors per image; stage: the layer's share of the forward pipeline, ceil(vectors / "
           "copies) = %llu vector times at the slowest)\n",
           cfg_choice_name("arch.map.replication", mc->replication), U(stage_max));
    printf("\ntotal: %llu crossbars in %llu IMAs on %llu tile%s (the chip has %lld tiles, %llu "
           "crossbars: %.2f%% used), utilisation %.2f%%, %llu %s blocks, %llu weights\n",
           U(t->xbars), U(t->imas), U(t->tiles), t->tiles == 1 ? "" : "s", (long long)mc->tiles,
           U(t->chip_xbars), 100.0 * (double)t->xbars / (double)t->chip_xbars, 100 * t->utilisation,
           U(t->blocks), map_granularity_name(mc->granularity), U(t->weights));
    if (!t->fits)
        printf("does not fit: needs %llu tiles, the chip has %lld (arch.chip.tiles)\n", U(t->tiles),
               (long long)mc->tiles);
    if (!v->ops) return;
    size_t n;
    const lop_op *ops = lop_ops(v->ops, &n);
    printf("\nlayer-op stream of one training iteration, batch %d (%zu records):\n",
           lop_batch(v->ops), n);
    for (size_t i = 0; i < n; i++) {
        nn_node_info info;
        nn_net_node_info(v->net, ops[i].node, &info);
        printf("%-8s %-14s %-*s", lop_phase_name(ops[i].phase), lop_kind_name(ops[i].kind), w,
               info.name);
        for (int k = 0; k < LOP_NCOUNT; k++)
            if (ops[i].n[k]) printf(" %s=%llu", lop_count_name(k), U(ops[i].n[k]));
        printf("\n");
    }
    static const int additive[] = {
        LOP_C_MVMS,   LOP_C_XBAR_READS, LOP_C_ADC_CONVERSIONS,   LOP_C_PSUM_ADDS,
        LOP_C_MACS,   LOP_C_ELEMENTS,   LOP_C_BUFFER_READ_BYTES, LOP_C_BUFFER_WRITE_BYTES,
        LOP_C_BLOCKS, LOP_C_CELLS};
    for (int p = 0; p < LOP_NPHASE; p++) {
        uint64_t tot[LOP_NCOUNT];
        lop_totals(v->ops, p, tot);
        printf("%s total:", lop_phase_name(p));
        for (size_t k = 0; k < ES_ARRAY_LEN(additive); k++)
            if (tot[additive[k]])
                printf(" %s=%llu", lop_count_name(additive[k]), U(tot[additive[k]]));
        printf("\n");
    }
}

static void print_json(const map_view *v)
{
    const map_config *mc = map_plan_config(v->plan);
    const map_geometry *g = map_plan_geometry(v->plan);
    const map_totals *t = map_plan_totals(v->plan);
    size_t nl = map_num_layers(v->plan);
    FILE *fp = stdout;
    fprintf(fp, "{\n  \"network\": ");
    json_str(fp, v->net_name);
    fprintf(fp, ",\n  \"dataset\": ");
    json_str(fp, v->dataset);
    fprintf(fp, ",\n  \"input\": [%d, %d, %d],\n  \"classes\": %d,\n  \"arch\": ", v->in.c, v->in.h,
            v->in.w, v->classes);
    json_str(fp, v->cfg->arch.name);
    fprintf(fp,
            ",\n  \"geometry\": {\"rows\": %lld, \"cols\": %lld, \"bits_per_cell\": %lld, "
            "\"weight_bits\": %lld, \"input_bits\": %lld, \"slicing\": \"%s\", \"encoding\": "
            "\"%s\", \"slices\": %llu, \"cells_per_slice\": %llu, \"weights_per_row\": %llu, "
            "\"xbars_per_position\": %llu, \"granularity\": \"%s\"},\n",
            (long long)mc->rows, (long long)mc->cols, (long long)mc->bits_per_cell,
            (long long)mc->weight_bits, (long long)mc->input_bits,
            mc->slicing == CFG_SLICE_ACROSS ? "across" : "within",
            mc->encoding == CFG_ENC_DIFFERENTIAL ? "differential" : "offset", U(g->slices),
            U(g->cells_per_slice), U(g->weights_per_row), U(g->xbars_per_pos),
            map_granularity_name(mc->granularity));
    fprintf(fp,
            "  \"chip\": {\"tiles\": %lld, \"imas_per_tile\": %lld, \"xbars_per_ima\": %lld, "
            "\"xbars\": %llu},\n  \"layers\": [",
            (long long)mc->tiles, (long long)mc->imas_per_tile, (long long)mc->xbars_per_ima,
            U(t->chip_xbars));
    for (size_t i = 0; i < nl; i++) {
        const map_layer *L = map_layer_at(v->plan, i);
        fprintf(fp, "%s\n    {\"name\": ", i ? "," : "");
        json_str(fp, L->name);
        fprintf(fp,
                ", \"k\": %llu, \"n\": %llu, \"row_tiles\": %llu, \"col_tiles\": %llu, "
                "\"slices\": %llu, \"xbars\": %llu, \"utilisation\": ",
                U(L->k), U(L->n), U(L->row_tiles), U(L->col_tiles), U(L->slices), U(L->xbars));
        json_real(fp, L->utilisation);
        fprintf(
            fp,
            ", \"blocks\": %llu, \"weights_per_block\": %llu, \"cells_per_block\": %llu, "
            "\"xbar0\": %llu, \"ima0\": %llu, \"imas\": %llu, \"tile0\": %llu, \"tiles\": "
            "%llu, \"copies\": %llu, \"vectors_per_image\": %llu, \"stage_vector_times\": %llu}",
            U(L->blocks), U(map_block_weights(L, 0)), U(map_block_cells(L, 0)), U(L->xbar0),
            U(L->ima0), U(L->imas), U(L->tile0), U(L->tiles), U(L->copies), U(L->positions),
            U(map_vector_times(L)));
    }
    fprintf(fp,
            "\n  ],\n  \"totals\": {\"layers\": %llu, \"weights\": %llu, \"xbars\": %llu, "
            "\"imas\": %llu, \"tiles\": %llu, \"cells_used\": %llu, \"utilisation\": ",
            U(t->layers), U(t->weights), U(t->xbars), U(t->imas), U(t->tiles), U(t->cells_used));
    json_real(fp, t->utilisation);
    fprintf(fp, ", \"blocks\": %llu, \"fits\": %s}", U(t->blocks), t->fits ? "true" : "false");
    if (v->ops) {
        size_t n;
        const lop_op *ops = lop_ops(v->ops, &n);
        fprintf(fp, ",\n  \"ops\": {\"batch\": %d, \"records\": [", lop_batch(v->ops));
        for (size_t i = 0; i < n; i++) {
            nn_node_info info;
            nn_net_node_info(v->net, ops[i].node, &info);
            fprintf(fp,
                    "%s\n    {\"phase\": \"%s\", \"kind\": \"%s\", \"layer\": %d, \"node\": %d, "
                    "\"name\": ",
                    i ? "," : "", lop_phase_name(ops[i].phase), lop_kind_name(ops[i].kind),
                    (int)ops[i].layer, (int)ops[i].node);
            json_str(fp, info.name);
            for (int k = 0; k < LOP_NCOUNT; k++)
                fprintf(fp, ", \"%s\": %llu", lop_count_name(k), U(ops[i].n[k]));
            fprintf(fp, "}");
        }
        fprintf(fp, "\n  ]}");
    }
    fprintf(fp, "\n}\n");
}

int cmd_map(int argc, char **argv)
{
    static const struct option opts[] = {{"network", required_argument, NULL, O_NETWORK},
                                         {"dataset", required_argument, NULL, O_DATASET},
                                         {"granularity", required_argument, NULL, O_GRAN},
                                         {"batch", required_argument, NULL, O_BATCH},
                                         {"set", required_argument, NULL, 's'},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"ops", no_argument, NULL, O_OPS},
                                         {"allow-overflow", no_argument, NULL, O_OVERFLOW},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    static const char *const keys[] = {"train.network", "train.dataset", "policy.granularity",
                                       "train.batch"};
    char **sets = calloc((size_t)argc + 1, sizeof *sets);
    char **owned = calloc((size_t)argc + 1, sizeof *owned);
    int nsets = 0, nowned = 0, c, rc = CLI_EXIT_OK, json = 0, want_ops = 0, overflow = 0;
    if (!sets || !owned) {
        free(sets);
        free(owned);
        return CLI_EXIT_FAIL;
    }
    optind = 1;
    opterr = 0;
    while (rc == CLI_EXIT_OK && (c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
        switch (c) {
        case O_NETWORK:
        case O_DATASET:
        case O_GRAN:
        case O_BATCH: {
            /* Shorthands become --set strings, so the schema validates them like the rest. */
            char *s = cli_assignment(keys[c - O_NETWORK], optarg, 0);
            if (!s) {
                rc = CLI_EXIT_FAIL;
                break;
            }
            owned[nowned++] = s;
            sets[nsets++] = s;
            break;
        }
        case 's': sets[nsets++] = optarg; break;
        case O_JSON: json = 1; break;
        case O_OPS: want_ops = 1; break;
        case O_OVERFLOW: overflow = 1; break;
        case 'h':
            map_usage(stdout);
            rc = -1;
            break;
        default:
            fprintf(stderr,
                    "essim map: unknown or incomplete option '%s'; see 'essim map --help'\n",
                    argv[optind - 1]);
            rc = CLI_EXIT_USAGE;
        }
    }
    if (rc == CLI_EXIT_OK && argc - optind > 1) {
        fprintf(stderr, "essim map: expected at most one configuration file\n");
        rc = CLI_EXIT_USAGE;
    }
    essim_config cfg;
    es_err err;
    es_err_clear(&err);
    int loaded = 0;
    nn_net *net = NULL;
    map_plan *plan = NULL;
    lop_stream *ops = NULL;
    if (rc == CLI_EXIT_OK) {
        if (cli_load_config(optind < argc ? argv[optind] : NULL, sets, nsets, &cfg, &err) < 0)
            rc = cli_report(&err);
        else
            loaded = 1;
    }
    map_view v;
    memset(&v, 0, sizeof v);
    char net_name[256] = "";
    if (rc == CLI_EXIT_OK) {
        v.cfg = &cfg;
        v.dataset = cfg_choice_name("train.dataset", cfg.train.dataset);
        if (lop_dataset_shape(cfg.train.dataset, &v.in, &v.classes) < 0) {
            es_fail(&err, ES_ECONFIG, "train.dataset: no shape known for '%s'", v.dataset);
            rc = cli_report(&err);
        }
    }
    if (rc == CLI_EXIT_OK) {
        map_config mc;
        map_config_from(&cfg, &mc);
        mc.require_fit = !overflow;
        if (netdesc_build(cfg.train.network, v.in, v.classes, (uint64_t)cfg.seed, &net, net_name,
                          sizeof net_name, &err) < 0 ||
            lop_map_net(&mc, net, &plan, &err) < 0 ||
            (want_ops && lop_compile(plan, net, (int)cfg.train.batch, &ops, &err) < 0))
            rc = cli_report(&err);
    }
    if (rc == CLI_EXIT_OK) {
        v.net_name = net_name;
        v.plan = plan;
        v.ops = ops;
        v.net = net;
        if (json)
            print_json(&v);
        else
            print_text(&v);
        if (fflush(stdout) != 0) rc = CLI_EXIT_FAIL;
        cli_spill_warn(&cfg, "map");
    }
    lop_destroy(ops);
    map_destroy(plan);
    nn_net_destroy(net);
    if (loaded) cfg_free(&cfg);
    for (int i = 0; i < nowned; i++)
        free(owned[i]);
    free(owned);
    free(sets);
    return rc < 0 ? CLI_EXIT_OK : rc;
}
