/* cmd_config.c - `essim config show|check|reference|area-power`: the effective configuration
 * (itself a valid input file), validation of a file, the schema reference, and the hardware's
 * area and power roll-up (arch/chip.h) with its peak throughput. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chip.h"
#include "cli.h"

static void config_usage(FILE *fp)
{
    fprintf(fp,
            "usage: essim config show [FILE] [--set KEY=VALUE]...\n"
            "       essim config check FILE [--set KEY=VALUE]...\n"
            "       essim config reference [--markdown]\n"
            "       essim config area-power [FILE] [--set KEY=VALUE]... [--json]\n"
            "\n"
            "  show       print the effective configuration: the built-in defaults, then FILE\n"
            "             (with its include:/preset: files), then the --set overrides. The\n"
            "             output is itself a valid configuration file.\n"
            "  check      validate FILE; prints 'FILE: ok' and the config hash\n"
            "  reference  every key with its type, unit, range, default and description\n"
            "  area-power the hardware's area and power per level (IMA, tile, chip) and its\n"
            "             peak throughput (one MAC = 2 ops); power is at full activity,\n"
            "             leakage its static part\n"
            "\n"
            "options:\n"
            "  -s, --set KEY=VALUE  override one key, e.g. --set arch.xbar.rows=256\n"
            "  -o, --output FILE    (show) write to FILE atomically instead of stdout\n"
            "      --markdown       (reference) write a Markdown table\n"
            "      --json           (area-power) write JSON: total.area_mm2, total.power_w,\n"
            "                       ima.*, tile.*, chip.*, peak.*\n"
            "  -h, --help           this help\n"
            "\n"
            "Values carry units: 100ns, 1.28GHz, 16mW, 0.5pJ, 64KiB, 0.0096mm2, 2V, 6kOhm.\n"
            "Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.\n");
}

/* ---- area-power ------------------------------------------------------------------------ */

static void json_string(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(fp, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(fp, "\\u%04x", *p);
        else
            fputc(*p, fp);
    }
    fputc('"', fp);
}

static void json_cost(FILE *fp, const arch_cost *c)
{
    fprintf(fp, "\"area_mm2\": %.12g, \"power_w\": %.12g, \"leakage_w\": %.12g", c->area_mm2,
            c->power_w, c->leak_w);
}

static void print_json(FILE *fp, const chip_model *m, const char *hash)
{
    chip_rollup_row rows[CHIP_ROLLUP_MAX];
    size_t n = chip_rollup(m, rows, CHIP_ROLLUP_MAX);
    fprintf(fp, "{\n  \"name\": ");
    json_string(fp, m->cfg.name);
    fprintf(fp, ",\n  \"config_hash\": \"%s\",\n  \"training\": %s,\n  \"total\": {", hash,
            m->cfg.training ? "true" : "false");
    json_cost(fp, &m->cost);
    fprintf(fp, "}");
    const char *level = "";
    for (size_t i = 0; i < n; i++) {
        if (strcmp(level, rows[i].level)) {
            if (*level) {
                if (!strcmp(level, "tile")) {
                    fprintf(fp, ",\n    \"with_router_share\": {");
                    json_cost(fp, &m->tile_with_router);
                    fprintf(fp, "}");
                }
                fprintf(fp, "\n  }");
            }
            level = rows[i].level;
            fprintf(fp, ",\n  \"%s\": {", level);
        } else {
            fprintf(fp, ",");
        }
        const arch_part *p = rows[i].part;
        fprintf(fp, "\n    ");
        json_string(fp, p->name);
        fprintf(fp, ": {\"count\": %.12g, ", p->count);
        json_cost(fp, &p->total);
        fprintf(fp, ", \"spec\": ");
        json_string(fp, p->spec);
        fprintf(fp, ", \"basis\": ");
        json_string(fp, p->basis);
        fprintf(fp, "}");
    }
    fprintf(fp, "\n  }");
    double tops = m->peak_ops_per_s / 1e12;
    fprintf(fp,
            ",\n  \"peak\": {\"macs_per_s\": %.12g, \"ops_per_s\": %.12g, \"tops\": %.12g, "
            "\"tops_per_w\": %.12g, \"tops_per_mm2\": %.12g, \"mvm_interval_ps\": %llu, "
            "\"macs_per_mvm\": %.12g, \"mvm_latency_ps\": %llu, \"mvm_energy_pj\": %.12g}",
            m->peak_macs_per_s, m->peak_ops_per_s, tops, tops / m->cost.power_w,
            tops / m->cost.area_mm2, (unsigned long long)m->tile.ima.mvm_interval_ps,
            m->tile.ima.macs_per_mvm, (unsigned long long)m->tile.ima.mvm_latency_ps,
            m->tile.ima.mvm_energy_pj);
    const xbar_model *x = &m->tile.ima.xbar;
    fprintf(fp,
            ",\n  \"write\": {\"concurrency\": %llu, \"power_w\": %.12g, "
            "\"row_latency_ps\": %llu, \"row_energy_pj\": %.12g, \"cell_energy_pj\": %.12g}\n}\n",
            (unsigned long long)m->write_concurrency, m->write_power_w,
            (unsigned long long)x->row_write_latency_ps, x->row_write_energy_pj,
            x->cell_write_energy_pj);
}

static void print_text(FILE *fp, const chip_model *m, const char *hash)
{
    chip_rollup_row rows[CHIP_ROLLUP_MAX];
    size_t n = chip_rollup(m, rows, CHIP_ROLLUP_MAX);
    fprintf(fp, "area and power roll-up of '%s' (config hash %s)\n", m->cfg.name, hash);
    fprintf(fp, "power is at full activity (the published figure); leakage is its static part\n\n");
    fprintf(fp, "%-5s %-10s %8s %12s %12s %12s  %s\n", "level", "component", "count", "area_mm2",
            "power_w", "leakage_w", "spec");
    for (size_t i = 0; i < n; i++) {
        const arch_part *p = rows[i].part;
        int total = !strcmp(p->name, "total");
        if (total)
            fprintf(fp, "%-5s %-10s %8s %12s %12s %12s\n", "", "", "", "------------",
                    "------------", "------------");
        fprintf(fp, "%-5s %-10s %8.6g %12.6g %12.6g %12.6g", rows[i].level, p->name, p->count,
                p->total.area_mm2, p->total.power_w, p->total.leak_w);
        fprintf(fp, *p->spec ? "  %s\n" : "%s\n", p->spec);
        if (total) fputc('\n', fp);
    }
    /* Where each part's cost comes from: the formulas of arch/ and their calibration points. */
    fprintf(fp, "how each cost was obtained (given: the configured figure; calibrated: a formula\n"
                "fitted to a published figure at the calibration point; scaled: that formula\n"
                "away from it):\n");
    for (size_t i = 0; i < n; i++) {
        const arch_part *p = rows[i].part;
        if (strcmp(p->name, "total")) fprintf(fp, "  %-5s %-10s %s\n", rows[i].level, p->name, p->basis);
    }
    fprintf(fp, "calibrated keys: arch.xbar.cal.* (read energy and area at %lldx%lld), arch.adc.fom\n"
                "(preset default: ISAAC's 8-bit 1.28 GS/s SAR), arch.dac.drive_energy, and the\n"
                "register / eDRAM figures at their cal_size (arch.sizing scales them)\n\n",
            (long long)m->cfg.tile.ima.xbar.cal_rows, (long long)m->cfg.tile.ima.xbar.cal_cols);
    const ima_model *im = &m->tile.ima;
    fprintf(fp, "one MVM on an IMA (%llu crossbars, %g-bit inputs): %.6g ns, %.6g nJ\n",
            (unsigned long long)im->xbars, (double)im->cfg.input_bits,
            (double)im->mvm_latency_ps / 1e3, im->mvm_energy_pj / 1e3);
    fprintf(fp, "tile with its router share: %.6g mm2, %.6g W\n", m->tile_with_router.area_mm2,
            m->tile_with_router.power_w);
    fprintf(fp, "total: %.6g mm2, %.6g W\n", m->cost.area_mm2, m->cost.power_w);
    double tops = m->peak_ops_per_s / 1e12;
    fprintf(fp,
            "peak throughput: %.6g Tops/s = %.6g MAC/s x 2 ops (%lld tiles x %lld IMAs, each "
            "%.6g MACs every %.6g ns)\n",
            tops, m->peak_macs_per_s, (long long)m->cfg.tiles, (long long)m->cfg.tile.imas,
            im->macs_per_mvm, (double)im->mvm_interval_ps / 1e3);
    fprintf(fp, "efficiency at peak: %.6g Tops/s/W, %.6g Tops/s/mm2\n", tops / m->cost.power_w,
            tops / m->cost.area_mm2);
    if (m->cfg.training) {
        const xbar_model *x = &im->xbar;
        fprintf(fp,
                "writes: one row of %lld cells in %.6g ns, %.6g pJ (%.6g pJ per cell); %llu "
                "crossbars at once, %.6g W\n",
                (long long)m->cfg.tile.ima.xbar.cols, (double)x->row_write_latency_ps / 1e3,
                x->row_write_energy_pj, x->cell_write_energy_pj,
                (unsigned long long)m->write_concurrency, m->write_power_w);
    }
}

static int config_area_power(int argc, char **argv)
{
    static const struct option opts[] = {{"set", required_argument, NULL, 's'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    char **sets = calloc((size_t)argc + 1, sizeof *sets);
    int nsets = 0, json = 0, c;
    if (!sets) return CLI_EXIT_FAIL;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
        switch (c) {
        case 's': sets[nsets++] = optarg; break;
        case 'j': json = 1; break;
        case 'h':
            config_usage(stdout);
            free(sets);
            return CLI_EXIT_OK;
        default:
            fprintf(stderr, "essim config area-power: unknown or incomplete option '%s'\n",
                    argv[optind - 1]);
            free(sets);
            return CLI_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        fprintf(stderr, "essim config area-power: expected at most one FILE\n");
        free(sets);
        return CLI_EXIT_USAGE;
    }
    const char *file = optind < argc ? argv[optind] : NULL;
    es_err err;
    es_err_clear(&err);
    cfg_doc *doc = NULL;
    essim_config cfg;
    int bound = 0, rc = file ? cfg_doc_load(file, &doc, &err) : cfg_doc_create_empty(&doc, &err);
    for (int i = 0; rc == ES_OK && i < nsets; i++) rc = cfg_doc_set(doc, sets[i], &err);
    if (rc == ES_OK && (rc = cfg_bind(doc, &cfg, &err)) == ES_OK) bound = 1;
    /* The model is large and owns nothing: keep it off the stack. */
    chip_model *m = rc == ES_OK ? malloc(sizeof *m) : NULL;
    if (rc == ES_OK && !m) rc = es_fail(&err, ES_ENOMEM, "out of memory");
    /* The document stays alive so errors point at the key's file:line:col. */
    if (rc == ES_OK) rc = chip_from_config(m, &cfg, doc, &err);
    int exit_code = CLI_EXIT_OK;
    if (rc < 0) {
        exit_code = cli_report(&err);
    } else {
        char hash[17];
        cfg_hash(&cfg, hash);
        if (json)
            print_json(stdout, m, hash);
        else
            print_text(stdout, m, hash);
        if (fflush(stdout) != 0 || ferror(stdout)) exit_code = CLI_EXIT_FAIL;
    }
    free(m);
    if (bound) cfg_free(&cfg);
    cfg_doc_destroy(doc);
    free(sets);
    return exit_code;
}

int cmd_config(int argc, char **argv)
{
    if (argc < 2) {
        config_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        config_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(sub, "area-power")) return config_area_power(argc - 1, argv + 1);
    int is_show = !strcmp(sub, "show"), is_check = !strcmp(sub, "check");
    int is_ref = !strcmp(sub, "reference");
    if (!is_show && !is_check && !is_ref) {
        fprintf(stderr, "essim config: unknown subcommand '%s'; see 'essim config --help'\n", sub);
        return CLI_EXIT_USAGE;
    }
    static const struct option opts[] = {{"set", required_argument, NULL, 's'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"markdown", no_argument, NULL, 'm'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    char **sets = calloc((size_t)argc, sizeof *sets);
    int nsets = 0, markdown = 0, c;
    const char *output = NULL;
    if (!sets) return CLI_EXIT_FAIL;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc - 1, argv + 1, "s:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 's': sets[nsets++] = optarg; break;
        case 'o': output = optarg; break;
        case 'm': markdown = 1; break;
        case 'h':
            config_usage(stdout);
            free(sets);
            return CLI_EXIT_OK;
        default:
            fprintf(stderr, "essim config %s: unknown or incomplete option '%s'\n", sub,
                    argv[optind]);
            free(sets);
            return CLI_EXIT_USAGE;
        }
    }
    int nfiles = argc - 1 - optind;
    const char *file = nfiles > 0 ? argv[1 + optind] : NULL;
    int rc = CLI_EXIT_OK;
    if (is_ref) {
        if (nfiles > 0 || nsets > 0) {
            fprintf(stderr, "essim config reference: takes no file or --set\n");
            rc = CLI_EXIT_USAGE;
        } else {
            rc = cfg_reference(stdout, markdown) < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
        }
        free(sets);
        return rc;
    }
    if (nfiles > 1 || (is_check && nfiles != 1)) {
        fprintf(stderr, "essim config %s: expected %s\n", sub,
                is_check ? "exactly one FILE" : "at most one FILE");
        free(sets);
        return CLI_EXIT_USAGE;
    }
    essim_config cfg;
    es_err err;
    es_err_clear(&err);
    cfg_doc *doc = NULL;
    if (cli_load_config_doc(file, sets, nsets, &cfg, &doc, &err) < 0) {
        free(sets);
        return cli_report(&err);
    }
    if (is_check) {
        /* Beyond the schema: a chip that cannot be built (zero ADCs, columns per ADC that do
         * not divide the columns, a zero write budget...) is reported at its key. */
        chip_model *m = malloc(sizeof *m);
        int crc = m ? chip_from_config(m, &cfg, doc, &err) : es_fail(&err, ES_ENOMEM, "out of memory");
        free(m);
        if (crc < 0) {
            rc = cli_report(&err);
        } else {
            char hash[17];
            cfg_hash(&cfg, hash);
            printf("%s: ok (config hash %s)\n", file, hash);
            cli_spill_warn(&cfg, "config check");
        }
    } else if (output) {
        if (cfg_dump_file(&cfg, output, &err) < 0) rc = cli_report(&err);
    } else if (cfg_dump(&cfg, stdout) < 0) {
        rc = CLI_EXIT_FAIL;
    }
    cfg_doc_destroy(doc);
    cfg_free(&cfg);
    free(sets);
    return rc;
}
