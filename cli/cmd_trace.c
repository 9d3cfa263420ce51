/* cmd_trace.c - `essim trace info|verify|dump|synth`: look inside a layer-op trace (the
 * header, the layer table, totals, size), check every CRC and the footer, print records as
 * text, and write synthetic traces for tests and benchmarks. The format is traces/trace.h and
 * docs/trace-format.md. */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lop_compile.h"
#include "netdesc.h"
#include "trace.h"
#include "trace_hdr.h"
#include "map.h"

static void trace_usage(FILE *fp)
{
    fprintf(
        fp,
        "usage: essim trace info FILE [--salvage] [--config] [--ops]\n"
        "       essim trace verify FILE\n"
        "       essim trace dump FILE [--iterations A:B] [--layer NAME] [--counts] [--salvage]\n"
        "       essim trace synth OUT [options]   (synthetic traces for tests, benchmarks)\n"
        "\n"
        "  info    the header (network, dataset, seed, config hash), the mapped layers with\n"
        "          their write totals, the iteration count, compression ratio and bytes per\n"
        "          iteration\n"
        "  verify  read everything: every chunk's CRC, every record, the footer against the\n"
        "          records; prints 'FILE: ok' or what is damaged, naming chunk and iterations\n"
        "  dump    records as text: iteration, epoch, lr, loss, then per layer the written\n"
        "          count and the written block indices (runs as A-B)\n"
        "\n"
        "options:\n"
        "  --salvage          read the intact prefix of a truncated or damaged trace, then\n"
        "                     report the damage on stderr (exit 0 if the prefix was read)\n"
        "  --iterations A:B   (dump) iterations A to B inclusive; A: and :B are open-ended\n"
        "  --layer NAME       (dump) only this layer\n"
        "  --counts           (dump) written counts only, no indices\n"
        "  --config           (info) also print the recorded configuration (YAML)\n"
        "  --ops              (info) also print the op template\n"
        "  -h, --help         this help; 'essim trace synth --help' for synth\n"
        "\n"
        "Exit status: 0 ok, 1 damaged or unreadable trace, 2 usage error.\n");
}

static void synth_usage(FILE *fp)
{
    fprintf(fp,
            "usage: essim trace synth OUT [options]\n"
            "\n"
            "Write a trace with i.i.d. Bernoulli write masks (each block written with probability\n"
            "--density, independently) over a network's layer table, timing only the trace\n"
            "writer. For tests and benchmarks; not a training run.\n"
            "\n"
            "  --network NAME      a preset or a network file: layer shapes mapped with the crossbar\n"
            "                      geometry of the configuration                [resnet20]\n"
            "  --blocks G1,G2,...  instead: one layer per value with that many blocks\n"
            "  --iterations N      [500]         --density R   [0.1]   --seed S   [1]\n"
            "  --input bits|flags|indices        the mask form handed to the writer [bits]\n"
            "  --direct            write OUT in place (no OUT.part + rename)\n"
            "  --stop-after N      stop after N iterations as a crash would (no footer)\n"
            "  --flush-every N     end a chunk every N iterations (as at checkpoints)\n"
            "  --chunk-bytes N  --chunk-records N  --level N   writer settings\n"
            "  -s, --set KEY=VALUE configuration override, e.g. arch.xbar.slicing=within\n"
            "  -q, --quiet         no summary\n"
            "\n"
            "Prints the file size, bytes per iteration, the compressed size against the entropy\n"
            "of the masks (G x T x H(R) bits) and the writer's time per iteration.\n");
}

static int open_reader(const char *path, int salvage, trace_reader **r)
{
    es_err err;
    es_err_clear(&err);
    trace_reader_options o = {salvage};
    if (trace_reader_open(path, &o, r, &err) < 0) return -cli_report(&err);
    return 0;
}

static void print_size(FILE *fp, double b)
{
    if (b >= 10 * 1048576.0)
        fprintf(fp, "%.1f MiB", b / 1048576.0);
    else if (b >= 10 * 1024.0)
        fprintf(fp, "%.1f KiB", b / 1024.0);
    else
        fprintf(fp, "%.0f bytes", b);
}

static double h2(double p)
{
    if (p <= 0 || p >= 1) return 0;
    return -(p * log2(p) + (1 - p) * log2(1 - p));
}

static long long file_size(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return -1;
    fseek(fp, 0, SEEK_END);
    long long n = ftell(fp);
    fclose(fp);
    return n;
}

/* Totals for info: from the footer, or (salvage without a footer) from reading the records. */
typedef struct info_totals {
    uint64_t records, first, last, chunks, raw, comp;
    uint64_t *writes, *maxc, *touched;
    const uint64_t *caller_max;
} info_totals;

static int cmd_info(const char *path, int salvage, int show_config, int show_ops)
{
    trace_reader *r;
    int rc = open_reader(path, salvage, &r);
    if (rc) return -rc;
    const trace_header *h = trace_reader_header(r);
    const trace_footer *f = trace_reader_footer(r);
    uint32_t nl = h->n_layers;
    info_totals t = {0};
    t.writes = calloc(nl, sizeof *t.writes);
    t.maxc = calloc(nl, sizeof *t.maxc);
    t.touched = calloc(nl, sizeof *t.touched);
    if (!t.writes || !t.maxc || !t.touched) {
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    const char *damage = NULL;
    if (f) {
        t.records = f->records;
        t.first = f->first_iteration;
        t.last = f->last_iteration;
        t.chunks = f->chunks;
        t.raw = f->raw_bytes;
        t.comp = f->compressed_bytes;
        memcpy(t.writes, f->writes, nl * sizeof *t.writes);
        memcpy(t.maxc, f->max_trace, nl * sizeof *t.maxc);
        memcpy(t.touched, f->touched, nl * sizeof *t.touched);
        t.caller_max = f->max_count;
    } else {
        /* No footer: salvage what the chunks hold. */
        trace_record rec;
        es_err err;
        es_err_clear(&err);
        int n;
        uint64_t last_chunk = UINT64_MAX;
        while ((n = trace_reader_next(r, &rec, &err)) > 0) {
            if (t.records == 0) t.first = rec.iteration;
            t.last = rec.iteration;
            t.records++;
            for (uint32_t l = 0; l < nl; l++)
                t.writes[l] += rec.counts[l];
            if (rec.chunk != last_chunk) t.chunks++;
            last_chunk = rec.chunk;
        }
        if (n < 0) {
            rc = cli_report(&err);
            goto done;
        }
        for (uint32_t l = 0; l < nl; l++) {
            const uint32_t *bc = trace_reader_block_counts(r, l);
            for (uint32_t i = 0; i < h->layers[l].blocks; i++) {
                t.maxc[l] = ES_MAX(t.maxc[l], bc[i]);
                t.touched[l] += bc[i] != 0;
            }
        }
        damage = trace_reader_damage(r);
        trace_reader_stats st;
        trace_reader_stats_get(r, &st);
        t.raw = st.raw_bytes;
        t.comp = st.compressed_bytes;
    }
    long long fsize = file_size(path);
    uint64_t gtot = 0, xbars = 0;
    for (uint32_t l = 0; l < nl; l++) {
        gtot += h->layers[l].blocks;
        xbars += h->layers[l].crossbars;
    }
    printf("file         %s: %lld bytes, trace format %u.%u, %s\n", path, fsize, h->version_major,
           h->version_minor,
           f        ? "complete"
           : damage ? "damaged (salvaged)"
                    : "no footer");
    if (damage) printf("damage       %s\n", damage);
    printf("producer     %s%s\n", h->producer,
           h->flags & TRACE_FLAG_DIRECT ? " (written in place)" : "");
    printf("network      %s\n", h->network[0] ? h->network : "-");
    printf("dataset      %s\n", h->dataset[0] ? h->dataset : "-");
    printf("seed         %llu\n", (unsigned long long)h->seed);
    if (h->epoch_images)
        printf("images       %llu per epoch (a replay charges each epoch's last iteration its "
               "share)\n",
               (unsigned long long)h->epoch_images);
    else
        printf("images       not recorded (every iteration a full batch)\n");
    printf("config hash  %s (%zu bytes of configuration; --config prints it)\n", h->config_hash,
           strlen(h->config_yaml));
    if (t.records)
        printf("iterations   %llu (%llu-%llu) in %llu chunks\n", (unsigned long long)t.records,
               (unsigned long long)t.first, (unsigned long long)t.last,
               (unsigned long long)t.chunks);
    else
        printf("iterations   0\n");
    printf("chunking     at most %u bytes or %u iterations per chunk\n", h->chunk_bytes_max,
           h->chunk_records_max);
    /* Compressed size against the entropy of i.i.d. masks with each layer's observed density:
     * what a perfect coder would need if the masks carried no structure. */
    double ent = 0;
    for (uint32_t l = 0; l < nl; l++) {
        double cells = (double)h->layers[l].blocks * (double)t.records;
        if (cells > 0) ent += cells * h2((double)t.writes[l] / cells) / 8;
    }
    printf("size         header ");
    print_size(stdout, (double)h->header_bytes);
    if (t.comp) {
        printf(", chunks ");
        print_size(stdout, (double)t.comp);
        printf(" compressed from ");
        print_size(stdout, (double)t.raw);
        printf(" (ratio %.2f)", (double)t.raw / (double)t.comp);
    }
    printf("\n");
    if (t.records) {
        printf("per iteration %.1f bytes in the file, %.1f compressed record bytes",
               (double)(fsize - (long long)h->header_bytes) / (double)t.records,
               (double)t.comp / (double)t.records);
        if (ent > 0 && t.comp) printf("; %.3fx the i.i.d. mask entropy", (double)t.comp / ent);
        printf("\n");
    }
    if (f)
        printf("encodings    none %llu, all %llu, bitmap %llu, sparse %llu (layer masks)\n",
               (unsigned long long)f->encodings[0], (unsigned long long)f->encodings[1],
               (unsigned long long)f->encodings[2], (unsigned long long)f->encodings[3]);
    printf("layers       %u mapped, %llu blocks, %llu crossbars\n", nl, (unsigned long long)gtot,
           (unsigned long long)xbars);
    size_t w = 4;
    for (uint32_t l = 0; l < nl; l++)
        w = ES_MAX(w, strlen(h->layers[l].name));
    printf("  %-*s %6s %6s %5s %5s %6s %5s %5s %-8s %7s %6s %12s %8s %7s %7s", (int)w, "name", "K",
           "N", "rtile", "ctile", "slices", "cells", "n_w", "gran", "blocks", "xbars", "writes",
           "density", "max", "touched");
    printf("%s\n", t.caller_max ? " max(caller)" : "");
    for (uint32_t l = 0; l < nl; l++) {
        const trace_layer *L = &h->layers[l];
        double dens = t.records ? (double)t.writes[l] / ((double)L->blocks * (double)t.records) : 0;
        printf("  %-*s %6u %6u %5u %5u %6u %5u %5u %-8s %7u %6u %12llu %8.4f %7llu %7llu", (int)w,
               L->name, L->k_rows, L->n_cols, L->row_tiles, L->col_tiles, L->slices,
               L->cells_per_slice, L->n_w, trace_granularity_name(L->granularity), L->blocks,
               L->crossbars, (unsigned long long)t.writes[l], dens, (unsigned long long)t.maxc[l],
               (unsigned long long)t.touched[l]);
        if (t.caller_max) {
            if (t.caller_max[l] == TRACE_NO_COUNT)
                printf(" %11s", "-");
            else
                printf(" %11llu", (unsigned long long)t.caller_max[l]);
        }
        printf("\n");
    }
    printf("op template  %u ops; kinds:", h->n_ops);
    for (uint32_t i = 0; i < h->n_kinds; i++)
        printf(" %s", h->kind_names[i]);
    printf("; counts:");
    for (uint32_t i = 0; i < h->n_count_names; i++)
        printf(" %s", h->count_names[i]);
    printf("\n");
    if (show_ops) {
        for (uint32_t i = 0; i < h->n_ops; i++) {
            const trace_op *o = &h->ops[i];
            printf("  %-*s %-8s %-14s", (int)w,
                   o->layer == TRACE_NO_LAYER ? "-" : h->layers[o->layer].name,
                   trace_phase_name(o->phase), h->kind_names[o->kind]);
            for (unsigned j = 0; j < o->n; j++)
                printf(" %s=%llu", h->count_names[j], (unsigned long long)o->counts[j]);
            printf("\n");
        }
    }
    if (show_config) printf("--- configuration\n%s", h->config_yaml);
    if (damage) fprintf(stderr, "essim: salvaged: %s\n", damage);
    rc = CLI_EXIT_OK;
done:
    free(t.writes);
    free(t.maxc);
    free(t.touched);
    trace_reader_close(r);
    return rc;
}

static int cmd_verify(const char *path)
{
    trace_reader *r;
    int rc = open_reader(path, 0, &r);
    if (rc) return -rc;
    trace_record rec;
    es_err err;
    es_err_clear(&err);
    int n;
    while ((n = trace_reader_next(r, &rec, &err)) > 0) {
    }
    if (n < 0) {
        rc = cli_report(&err);
    } else {
        const trace_footer *f = trace_reader_footer(r);
        printf("%s: ok: %llu iterations in %u chunks; every CRC, record and footer total "
               "checks out\n",
               path, (unsigned long long)f->records, f->chunks);
        rc = CLI_EXIT_OK;
    }
    trace_reader_close(r);
    return rc;
}

/* Parse "A:B", "A:", ":B" or "A" (inclusive). */
static int parse_range(const char *s, uint64_t *a, uint64_t *b)
{
    char *end;
    *a = 0;
    *b = UINT64_MAX;
    const char *colon = strchr(s, ':');
    if (!colon) {
        *a = *b = strtoull(s, &end, 10);
        return *s && !*end ? 0 : -1;
    }
    if (colon != s) {
        *a = strtoull(s, &end, 10);
        if (end != colon) return -1;
    }
    if (colon[1]) {
        *b = strtoull(colon + 1, &end, 10);
        if (*end) return -1;
    }
    return *a <= *b ? 0 : -1;
}

static int cmd_dump(const char *path, int salvage, const char *range, const char *layer,
                    int counts_only)
{
    uint64_t a = 0, b = UINT64_MAX;
    if (range && parse_range(range, &a, &b) < 0) {
        fprintf(stderr,
                "essim trace dump: --iterations wants A:B, A:, :B or A (A <= B), not '%s'\n",
                range);
        return CLI_EXIT_USAGE;
    }
    trace_reader *r;
    int rc = open_reader(path, salvage, &r);
    if (rc) return -rc;
    const trace_header *h = trace_reader_header(r);
    int64_t only = -1;
    if (layer) {
        for (uint32_t l = 0; l < h->n_layers; l++)
            if (!strcmp(h->layers[l].name, layer)) only = l;
        if (only < 0) {
            fprintf(stderr, "essim trace dump: no layer '%s' in %s (layers:", layer, path);
            for (uint32_t l = 0; l < h->n_layers; l++)
                fprintf(stderr, " %s", h->layers[l].name);
            fprintf(stderr, ")\n");
            trace_reader_close(r);
            return CLI_EXIT_USAGE;
        }
    }
    es_err err;
    es_err_clear(&err);
    int n = 0;
    if (a > 0) n = trace_reader_seek(r, a, &err);
    trace_record rec;
    while (n >= 0 && (n = trace_reader_next(r, &rec, &err)) > 0 && rec.iteration <= b) {
        printf("iteration %llu  epoch %u  lr %.9g  loss %.9g\n", (unsigned long long)rec.iteration,
               rec.epoch, rec.lr, (double)rec.loss);
        for (uint32_t l = 0; l < h->n_layers; l++) {
            if (only >= 0 && (int64_t)l != only) continue;
            uint32_t g = h->layers[l].blocks;
            printf("  %s %u/%u", h->layers[l].name, rec.counts[l], g);
            if (!counts_only && rec.counts[l]) {
                printf(":");
                const uint8_t *m = rec.masks[l];
                for (uint32_t i = trace_mask_next(m, g, 0); i < g;) {
                    uint32_t j = i;
                    while (j + 1 < g && (m[(j + 1) >> 3] >> ((j + 1) & 7) & 1))
                        j++;
                    if (j > i)
                        printf(" %u-%u", i, j);
                    else
                        printf(" %u", i);
                    i = trace_mask_next(m, g, j + 1);
                }
            }
            printf("\n");
        }
    }
    if (n < 0) {
        fflush(stdout);
        rc = cli_report(&err);
    } else {
        if (trace_reader_damage(r))
            fprintf(stderr, "essim: salvaged: %s\n", trace_reader_damage(r));
        rc = CLI_EXIT_OK;
    }
    trace_reader_close(r);
    return rc;
}

/* ---- synth ------------------------------------------------------------------------------- */

/* The header of a synthetic trace: the configured network's layers, placement and op
 * template (trace_hdr.h, as `essim train --trace` writes them), or bare layers of the given
 * block counts. Everything lives in *sh until synth_header_free. */
typedef struct synth_header {
    trace_hdr th;
    nn_net *net;
    map_plan *plan;
    trace_layer *layers; /* bare layers only */
    char (*names)[24];
} synth_header;

static void synth_header_free(synth_header *sh)
{
    trace_hdr_free(&sh->th);
    map_destroy(sh->plan);
    nn_net_destroy(sh->net);
    free(sh->layers);
    free(sh->names);
}

/* blocks: NULL for the network's own layers, or "G1,G2,..." for bare layers of those sizes
 * (no shapes, no op template). */
static int synth_header_build(const essim_config *cfg, const char *blocks, uint64_t seed,
                              synth_header *sh, es_err *err)
{
    memset(sh, 0, sizeof *sh);
    char producer[64], net_name[256] = "synthetic";
    snprintf(producer, sizeof producer, "essim %s (trace synth)", PACKAGE_VERSION);
    if (!blocks) {
        nn_shape in;
        int classes;
        if (lop_dataset_shape(cfg->train.dataset, &in, &classes) < 0)
            return es_fail(err, ES_ECONFIG, "train.dataset: no shape known");
        map_config mc;
        map_config_from(cfg, &mc);
        mc.require_fit = 0; /* a trace does not care whether the chip holds every layer */
        ES_TRY(netdesc_build(cfg->train.network, in, classes, seed, &sh->net, net_name,
                        sizeof net_name, err));
        ES_TRY(lop_map_net(&mc, sh->net, &sh->plan, err));
        ES_TRY(lop_trace_hdr(&sh->th, cfg, sh->net, sh->plan, net_name, producer, err));
        sh->th.h.seed = seed;
        return ES_OK;
    }
    uint32_t nl = 0;
    for (const char *p = blocks; *p; p++)
        nl += *p == ',';
    nl++;
    sh->layers = calloc(nl, sizeof *sh->layers);
    sh->names = calloc(nl, sizeof *sh->names);
    if (!sh->layers || !sh->names) return es_fail(err, ES_ENOMEM, "out of memory");
    const char *p = blocks;
    for (uint32_t l = 0; l < nl; l++) {
        char *end;
        unsigned long long g = strtoull(p, &end, 10);
        if (end == p || *p == '-' || g == 0 || g > UINT32_MAX || (*end && *end != ','))
            return es_fail(err, ES_EUSAGE, "--blocks wants positive counts G1,G2,..., not '%s'",
                           blocks);
        snprintf(sh->names[l], sizeof sh->names[l], "layer%u", l);
        sh->layers[l].name = sh->names[l];
        sh->layers[l].blocks = (uint32_t)g;
        sh->layers[l].granularity = (uint8_t)cfg->policy.granularity;
        p = *end ? end + 1 : end;
    }
    ES_TRY(trace_hdr_build_config(&sh->th, cfg, net_name, producer, err));
    sh->th.h.seed = seed;
    sh->th.h.n_layers = nl;
    sh->th.h.layers = sh->layers;
    return ES_OK;
}

static int parse_u64(const char *opt, const char *s, uint64_t *v)
{
    return cli_uint_arg("trace synth", opt, s, 0, UINT64_MAX, v) ? -1 : 0;
}

enum {
    S_NETWORK = 256,
    S_DATASET,
    S_BLOCKS,
    S_ITERS,
    S_DENSITY,
    S_SEED,
    S_INPUT,
    S_DIRECT,
    S_STOP,
    S_FLUSH,
    S_CBYTES,
    S_CRECS,
    S_LEVEL
};

static int cmd_synth(int argc, char **argv)
{
    static const struct option opts[] = {{"network", required_argument, NULL, S_NETWORK},
                                         {"dataset", required_argument, NULL, S_DATASET},
                                         {"blocks", required_argument, NULL, S_BLOCKS},
                                         {"iterations", required_argument, NULL, S_ITERS},
                                         {"density", required_argument, NULL, S_DENSITY},
                                         {"seed", required_argument, NULL, S_SEED},
                                         {"input", required_argument, NULL, S_INPUT},
                                         {"direct", no_argument, NULL, S_DIRECT},
                                         {"stop-after", required_argument, NULL, S_STOP},
                                         {"flush-every", required_argument, NULL, S_FLUSH},
                                         {"chunk-bytes", required_argument, NULL, S_CBYTES},
                                         {"chunk-records", required_argument, NULL, S_CRECS},
                                         {"level", required_argument, NULL, S_LEVEL},
                                         {"set", required_argument, NULL, 's'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *blocks = NULL;
    trace_synth_options so = {500, 0.1, 1, 0, 0, 0, 0};
    trace_writer_options wo = {0};
    /* --network/--dataset become --set overrides, in order with the explicit ones. */
    char **sets = calloc((size_t)argc + 1, sizeof *sets);
    char owned[2][300];
    int nsets = 0, quiet = 0, c, rc = 0;
    uint64_t v;
    if (!sets) return CLI_EXIT_FAIL;
    optind = 1;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "s:qh", opts, NULL)) != -1) {
        switch (c) {
        case S_NETWORK:
        case S_DATASET: {
            char *o = owned[c == S_DATASET];
            snprintf(o, sizeof owned[0], "train.%s=%s", c == S_DATASET ? "dataset" : "network",
                     optarg);
            sets[nsets++] = o;
            break;
        }
        case S_BLOCKS: blocks = optarg; break;
        case S_ITERS: rc = parse_u64("--iterations", optarg, &so.iterations); break;
        case S_SEED: rc = parse_u64("--seed", optarg, &so.seed); break;
        case S_STOP: rc = parse_u64("--stop-after", optarg, &so.stop_after); break;
        case S_FLUSH: rc = parse_u64("--flush-every", optarg, &so.flush_every); break;
        case S_CBYTES:
            rc = parse_u64("--chunk-bytes", optarg, &v);
            wo.chunk_bytes = (uint32_t)ES_MIN(v, UINT32_MAX);
            break;
        case S_CRECS:
            rc = parse_u64("--chunk-records", optarg, &v);
            wo.chunk_records = (uint32_t)ES_MIN(v, UINT32_MAX);
            break;
        case S_LEVEL:
            rc = parse_u64("--level", optarg, &v);
            wo.level = (int)ES_MIN(v, 100);
            break;
        case S_DENSITY: {
            char *end;
            so.density = strtod(optarg, &end);
            if (*end || !(so.density >= 0 && so.density <= 1)) {
                fprintf(stderr, "essim trace synth: --density wants a number in [0, 1]\n");
                rc = -1;
            }
            break;
        }
        case S_INPUT:
            so.input = !strcmp(optarg, "bits")      ? 0
                       : !strcmp(optarg, "flags")   ? 1
                       : !strcmp(optarg, "indices") ? 2
                                                    : -1;
            if (so.input < 0) {
                fprintf(stderr, "essim trace synth: --input is bits, flags or indices\n");
                rc = -1;
            }
            break;
        case S_DIRECT: wo.direct = 1; break;
        case 's': sets[nsets++] = optarg; break;
        case 'q': quiet = 1; break;
        case 'h':
            synth_usage(stdout);
            free(sets);
            return CLI_EXIT_OK;
        default:
            fprintf(stderr, "essim trace synth: unknown or incomplete option '%s'\n",
                    argv[optind - 1]);
            rc = -1;
        }
    }
    if (rc == 0 && argc - optind != 1) {
        fprintf(stderr, "essim trace synth: expected exactly one output file\n");
        rc = -1;
    }
    if (rc) {
        free(sets);
        return CLI_EXIT_USAGE;
    }
    const char *out = argv[optind];
    essim_config cfg;
    es_err err;
    es_err_clear(&err);
    rc = cli_load_config(NULL, sets, nsets, &cfg, &err);
    free(sets);
    if (rc < 0) return cli_report(&err);
    synth_header sh;
    trace_synth_result res;
    if (synth_header_build(&cfg, blocks, so.seed, &sh, &err) < 0 ||
        trace_synth(out, &sh.th.h, &wo, &so, &res, &err) < 0) {
        rc = cli_report(&err);
    } else {
        rc = CLI_EXIT_OK;
    }
    if (rc == CLI_EXIT_OK && !quiet) {
        uint64_t g = 0;
        for (uint32_t l = 0; l < sh.th.h.n_layers; l++)
            g += sh.th.h.layers[l].blocks;
        if (so.stop_after && so.stop_after < so.iterations) {
            printf("stopped writing %s after %llu iterations without a footer, as a crash would\n",
                   out, (unsigned long long)so.stop_after);
        } else {
            double it = res.iterations ? (double)res.iterations : 1;
            printf("wrote %s: %s, %llu iterations, %u layers, %llu blocks, density %g\n", out,
                   sh.th.h.network, (unsigned long long)res.iterations, sh.th.h.n_layers,
                   (unsigned long long)g, so.density);
            printf("size: %llu bytes, %.1f bytes/iteration; records %llu bytes, compressed %llu "
                   "(%.2fx)\n",
                   (unsigned long long)res.file_bytes, (double)res.file_bytes / it,
                   (unsigned long long)res.raw_bytes, (unsigned long long)res.compressed_bytes,
                   res.compressed_bytes ? (double)res.raw_bytes / (double)res.compressed_bytes : 0);
            if (res.entropy_bytes > 0)
                printf("entropy: G x T x H(%g) = %.0f bytes; compressed/entropy = %.3f\n",
                       so.density, res.entropy_bytes,
                       (double)res.compressed_bytes / res.entropy_bytes);
            printf("writer: %.1f us/iteration (%.3f s in all)\n", 1e6 * res.append_seconds / it,
                   res.append_seconds);
        }
    }
    synth_header_free(&sh);
    cfg_free(&cfg);
    return rc;
}

int cmd_trace(int argc, char **argv)
{
    if (argc < 2) {
        trace_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        trace_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(sub, "synth")) return cmd_synth(argc - 1, argv + 1);
    int is_info = !strcmp(sub, "info"), is_verify = !strcmp(sub, "verify");
    int is_dump = !strcmp(sub, "dump");
    if (!is_info && !is_verify && !is_dump) {
        fprintf(stderr, "essim trace: unknown subcommand '%s'; see 'essim trace --help'\n", sub);
        return CLI_EXIT_USAGE;
    }
    enum { O_SALVAGE = 256, O_ITERS, O_LAYER, O_COUNTS, O_CONFIG, O_OPS };
    static const struct option opts[] = {{"salvage", no_argument, NULL, O_SALVAGE},
                                         {"iterations", required_argument, NULL, O_ITERS},
                                         {"layer", required_argument, NULL, O_LAYER},
                                         {"counts", no_argument, NULL, O_COUNTS},
                                         {"config", no_argument, NULL, O_CONFIG},
                                         {"ops", no_argument, NULL, O_OPS},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int salvage = 0, counts_only = 0, show_config = 0, show_ops = 0, c;
    const char *range = NULL, *layer = NULL;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        int ok = 1;
        switch (c) {
        case O_SALVAGE:
            salvage = 1;
            ok = !is_verify;
            break;
        case O_ITERS:
            range = optarg;
            ok = is_dump;
            break;
        case O_LAYER:
            layer = optarg;
            ok = is_dump;
            break;
        case O_COUNTS:
            counts_only = 1;
            ok = is_dump;
            break;
        case O_CONFIG:
            show_config = 1;
            ok = is_info;
            break;
        case O_OPS:
            show_ops = 1;
            ok = is_info;
            break;
        case 'h': trace_usage(stdout); return CLI_EXIT_OK;
        default:
            fprintf(stderr, "essim trace %s: unknown or incomplete option '%s'\n", sub,
                    argv[optind]);
            return CLI_EXIT_USAGE;
        }
        if (!ok) {
            fprintf(stderr,
                    "essim trace %s: option '%s' does not apply; see 'essim trace --help'\n", sub,
                    argv[optind]);
            return CLI_EXIT_USAGE;
        }
    }
    if (argc - 1 - optind != 1) {
        fprintf(stderr, "essim trace %s: expected exactly one trace file\n", sub);
        return CLI_EXIT_USAGE;
    }
    const char *path = argv[1 + optind];
    if (is_info) return cmd_info(path, salvage, show_config, show_ops);
    if (is_verify) return cmd_verify(path);
    return cmd_dump(path, salvage, range, layer, counts_only);
}
