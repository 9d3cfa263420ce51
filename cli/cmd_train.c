/* cmd_train.c - `essim train`: train a network on a dataset with the configured recipe and
 * write stats, a per-epoch CSV, the weights (.npz) and checkpoints into --out. Every option is
 * a shorthand for a --set of the configuration key it names, so it is validated by the
 * schema like everything else. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "train.h"

static void train_usage(FILE *fp)
{
    fprintf(fp,
            "usage: essim train [CONFIG.yaml] [options]\n"
            "\n"
            "Train a network for real (float32, in C) and write stats.json, stats.txt,\n"
            "stats.csv, epochs.csv, iterations.csv and weights.npz into the output folder.\n"
            "\n"
            "%s"
            "  -s, --set KEY=VALUE   any configuration key (see 'essim config reference')\n"
            "  network presets: %s\n"
            "\n"
            "outputs and restarts:\n"
            "  -o, --out DIR         output folder                       [essim-out/train]\n"
            "  --checkpoint FILE     checkpoint file          [OUT/checkpoint.ckpt]\n"
            "  --resume              continue from the checkpoint; ends byte-identical to an\n"
            "                        uninterrupted run (same seed, same thread count)\n"
            "  --import-weights F    start from the weights in F (.npz, names as exported)\n"
            "  --trace FILE          record the layer-op trace (write masks per iteration) for\n"
            "                        replay on other hardware; see docs/trace-format.md\n"
            "  --stop-after N        stop after N iterations in total, with a checkpoint\n"
            "  -q, --quiet           no progress;  --progress: progress even when not a tty\n"
            "  -h, --help\n"
            "\n"
            "Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.\n",
            cli_recipe_help(), cli_networks());
}

enum { O_CKPT = 256, O_RESUME, O_IMPORT, O_STOP_AFTER, O_PROGRESS, O_TRACE };

int cmd_train(int argc, char **argv)
{
    static const struct option own[] = {
        {"set", required_argument, NULL, 's'},
        {"out", required_argument, NULL, 'o'},
        {"checkpoint", required_argument, NULL, O_CKPT},
        {"resume", no_argument, NULL, O_RESUME},
        {"import-weights", required_argument, NULL, O_IMPORT},
        {"stop-after", required_argument, NULL, O_STOP_AFTER},
        {"quiet", no_argument, NULL, 'q'},
        {"progress", no_argument, NULL, O_PROGRESS},
        {"trace", required_argument, NULL, O_TRACE},
        {"help", no_argument, NULL, 'h'}};
    struct option opts[ES_ARRAY_LEN(own) + CLI_RECIPE_MAX + 1] = {{0}};
    size_t nopt = 0;
    for (size_t i = 0; i < ES_ARRAY_LEN(own); i++) opts[nopt++] = own[i];
    cli_recipe_options(opts, &nopt); /* the rest stays zero: the end */
    /* Each shorthand becomes one "KEY=VALUE" string, kept in order with the --set ones. */
    char **sets = calloc((size_t)argc + 1, sizeof *sets);
    char **owned = calloc((size_t)argc + 1, sizeof *owned);
    int nsets = 0, nowned = 0, c, rc = CLI_EXIT_OK;
    train_options to = {"essim-out/train", NULL, 0, CFG_PROGRESS_AUTO, NULL, 0, cli_command_line(),
                     NULL, NULL};
    int quiet = 0, force = 0;
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
        case 'o': to.out_dir = optarg; break;
        case O_CKPT: to.checkpoint = optarg; break;
        case O_RESUME: to.resume = 1; break;
        case O_IMPORT: to.import_weights = optarg; break;
        case O_TRACE: to.trace = optarg; break;
        case O_STOP_AFTER:
            rc = cli_uint_arg("train", "--stop-after", optarg, 1, UINT64_MAX, &to.stop_after);
            break;
        case 'q': quiet = 1; break;
        case O_PROGRESS: force = 1; break;
        case 'h':
            train_usage(stdout);
            rc = -1;
            break;
        default:
            fprintf(stderr, "essim train: unknown or incomplete option '%s'; see 'essim train --help'\n",
                    argv[optind - 1]);
            rc = CLI_EXIT_USAGE;
        }
        if (rc) break;
    }
    if (rc == 0 && argc - optind > 1) {
        fprintf(stderr, "essim train: expected at most one configuration file\n");
        rc = CLI_EXIT_USAGE;
    }
    essim_config cfg;
    es_err err;
    es_err_clear(&err);
    int loaded = 0;
    if (rc == 0) {
        if (cli_load_config(optind < argc ? argv[optind] : NULL, sets, nsets, &cfg, &err) < 0)
            rc = cli_report(&err);
        else
            loaded = 1;
    }
    if (rc == 0) {
        to.progress_mode = quiet ? CFG_PROGRESS_NEVER : force ? CFG_PROGRESS_ALWAYS : cfg.sim.progress;
        train_result res;
        if (train_run(&cfg, &to, &res, &err) < 0) {
            rc = cli_report(&err);
        } else if (res.stopped_early) {
            printf("stopped after %llu iterations; resume with --resume (checkpoint in %s)\n",
                   (unsigned long long)res.iterations, to.checkpoint ? to.checkpoint : to.out_dir);
        } else {
            printf("trained %s on %s: %d epochs, %llu iterations, %.0f images/s\n",
                   cfg.train.network, cfg_choice_name("train.dataset", cfg.train.dataset),
                   res.epochs_done, (unsigned long long)res.iterations, res.images_per_s);
            printf("test accuracy: final %.2f%%, best %.2f%%; final training loss %.4f\n",
                   100 * res.test_accuracy_final, 100 * res.test_accuracy_best,
                   res.train_loss_final);
            printf("writes (%s): mean %.1f, max %.0f per weight over %llu iterations; savings "
                   "vs SGD %.2fx mean, %.2fx max; lifetime %.3g runs to first failure\n",
                   cfg_choice_name("policy.name", cfg.policy.name), res.writes_mean,
                   res.writes_max, (unsigned long long)res.iterations,
                   res.writes_mean > 0 ? (double)res.iterations / res.writes_mean : 0.0,
                   res.writes_max > 0 ? (double)res.iterations / res.writes_max : 0.0,
                   res.writes_max > 0 ? cfg.arch.cell.endurance_mean / res.writes_max : 0.0);
            printf("outputs: %s/{stats.json,stats.txt,stats.csv,epochs.csv,iterations.csv,"
                   "weights.npz}\n",
                   to.out_dir);
            struct stat tst;
            if (to.trace && stat(to.trace, &tst) == 0 && res.iterations > 0)
                printf("trace: %s, %lld bytes for %llu iterations; writing it took %.2f%% of "
                       "the training time\n",
                       to.trace, (long long)tst.st_size, (unsigned long long)res.iterations,
                       res.host_seconds > 0 ? 100 * res.trace_write_seconds / res.host_seconds
                                            : 0.0);
        }
    }
    if (loaded) cfg_free(&cfg);
    for (int i = 0; i < nowned; i++) free(owned[i]);
    free(owned);
    free(sets);
    return rc < 0 ? CLI_EXIT_OK : rc;
}
