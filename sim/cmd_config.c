/* cmd_config.c - `essim config show|check|reference`: the effective configuration (itself a
 * valid input file), validation of a file, and the schema reference. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void config_usage(FILE *fp)
{
    fprintf(fp,
            "usage: essim config show [FILE] [--set KEY=VALUE]...\n"
            "       essim config check FILE [--set KEY=VALUE]...\n"
            "       essim config reference [--markdown]\n"
            "\n"
            "  show       print the effective configuration: the built-in defaults, then FILE\n"
            "             (with its include:/preset: files), then the --set overrides. The\n"
            "             output is itself a valid configuration file.\n"
            "  check      validate FILE; prints 'FILE: ok' and the config hash\n"
            "  reference  every key with its type, unit, range, default and description\n"
            "\n"
            "options:\n"
            "  -s, --set KEY=VALUE  override one key, e.g. --set arch.xbar.rows=256\n"
            "  -o, --output FILE    (show) write to FILE atomically instead of stdout\n"
            "      --markdown       (reference) write a Markdown table\n"
            "  -h, --help           this help\n"
            "\n"
            "Values carry units: 100ns, 1.28GHz, 16mW, 0.5pJ, 64KiB, 0.0096mm2, 2V, 6kOhm.\n"
            "Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.\n");
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
    if (cli_load_config(file, sets, nsets, &cfg, &err) < 0) {
        free(sets);
        return cli_report(&err);
    }
    if (is_check) {
        char hash[17];
        cfg_hash(&cfg, hash);
        printf("%s: ok (config hash %s)\n", file, hash);
    } else if (output) {
        es_atomic_file af;
        if (es_atomic_open(&af, output, &err) < 0 || cfg_dump(&cfg, af.fp) < 0 ||
            es_atomic_commit(&af, &err) < 0) {
            if (af.fp) es_atomic_abort(&af);
            rc = cli_report(&err);
        }
    } else if (cfg_dump(&cfg, stdout) < 0) {
        rc = CLI_EXIT_FAIL;
    }
    cfg_free(&cfg);
    free(sets);
    return rc;
}
