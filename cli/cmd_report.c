/* cmd_report.c - `essim report DIR`: the HTML report of a run, a repeated run or a sweep
 * (sim/report.h does the work; this file is the command line). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"

static void report_usage(FILE *fp)
{
    fprintf(fp,
            "usage: essim report DIR [-o REPORT.html] [--title TITLE]\n"
            "\n"
            "Write one self-contained HTML page (inline CSS, plots embedded as PNG; it needs no\n"
            "network and no other file to be viewed) about the output directory DIR of\n"
            "  essim run / simulate / train   stats.csv, epochs.csv, heatmap-LAYER.csv\n"
            "  essim run --repeat N           run-1 .. run-N and repeat.csv\n"
            "  essim sweep                    results.csv (and results.json)\n"
            "\n"
            "A run report has the sections summary, energy (by component and phase), time (by\n"
            "phase, stalls by cause), writes (histogram, per layer), heatmaps (per layer),\n"
            "lifetime (cells failed against training runs), training (accuracy and loss per\n"
            "epoch) and, for repeated runs, repeat. A sweep report has summary, results (Pareto\n"
            "points marked), pareto (energy against time, coloured by accuracy) and axes (each\n"
            "metric against each swept axis). The plots are drawn by gnuplot (Debian/Ubuntu\n"
            "package gnuplot-nox), which must be installed.\n"
            "\n"
            "  -o, --out FILE      the page to write                        [DIR/report.html]\n"
            "  -t, --title TEXT    page title                     [from the run or the folder]\n"
            "  --gnuplot PROG      gnuplot program to run                           [gnuplot]\n"
            "  -q, --quiet         do not print the path of the page\n"
            "  -h, --help\n"
            "\n"
            "Exit status: 0 ok, 1 runtime failure (DIR missing or not an essim output, a\n"
            "malformed file, gnuplot missing or failing), 2 usage error.\n");
}

enum { RP_GNUPLOT = 256 };

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"title", required_argument, NULL, 't'},
                                         {"gnuplot", required_argument, NULL, RP_GNUPLOT},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out = NULL;
    rep_options opt = {NULL, NULL, "essim " PACKAGE_VERSION};
    int c, quiet = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:t:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 't': opt.title = optarg; break;
        case RP_GNUPLOT: opt.gnuplot = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': report_usage(stdout); return CLI_EXIT_OK;
        default:
            fprintf(stderr,
                    "essim report: unknown or incomplete option '%s'; see 'essim report --help'\n",
                    argv[optind - 1]);
            return CLI_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "essim report: expected one directory (a run or a sweep); see 'essim "
                        "report --help'\n");
        return CLI_EXIT_USAGE;
    }
    const char *dir = argv[optind];
    char *def = NULL;
    if (!out) {
        size_t n = strlen(dir) + sizeof "/report.html";
        def = malloc(n);
        if (!def) return CLI_EXIT_FAIL;
        snprintf(def, n, "%s/report.html", dir);
        out = def;
    }
    es_err err;
    es_err_clear(&err);
    rep_kind kind;
    int rc = CLI_EXIT_OK;
    if (rep_write_html(dir, out, &opt, &kind, &err) < 0)
        rc = cli_report(&err);
    else if (!quiet)
        printf("essim report: %s report of %s written to %s\n",
               kind == REP_SWEEP    ? "sweep"
               : kind == REP_REPEAT ? "repeated-run"
                                    : "run",
               dir, out);
    free(def);
    return rc;
}
