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
            "recipe (each is a shorthand for --set train.KEY=VALUE):\n"
            "  --network NAME|FILE   a preset or a network description (YAML)  [lenet5]\n"
            "                        presets: %s\n"
            "  --dataset NAME        fashion-mnist, mnist, cifar10, cifar100, synthetic\n"
            "  --data-dir DIR        where the dataset files are\n"
            "  --epochs N  --batch N  --lr X  --momentum X  --weight-decay X  --nesterov\n"
            "  --schedule constant|step|cosine  --milestones E1,E2,...  --warmup N\n"
            "  --seed N              global seed                         [1]\n"
            "  --threads N           BLAS threads (results reproducible per thread count)\n"
            "  -s, --set KEY=VALUE   any configuration key (see 'essim config reference')\n"
            "\n"
            "write policy (which crossbar row blocks are reprogrammed each iteration):\n"
            "  --policy NAME         sgd, threshold, ssgp (No Endurance), essence,\n"
            "                        essence-aggressive                  [sgd]\n"
            "  --density RHO         expected fraction of blocks written  [0.1]\n"
            "                        (other parameters: --set policy.KEY=VALUE)\n"
            "\n"
            "outputs and restarts:\n"
            "  -o, --out DIR         output folder                       [essim-out/train]\n"
            "  --checkpoint FILE     checkpoint file          [OUT/checkpoint.ckpt]\n"
            "  --checkpoint-every N  save a checkpoint every N iterations (and each epoch)\n"
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
            cli_networks());
}

enum {
    O_NETWORK = 256, O_DATASET, O_DATADIR, O_EPOCHS, O_BATCH, O_LR, O_MOMENTUM, O_WD, O_NESTEROV,
    O_SCHEDULE, O_MILESTONES, O_WARMUP, O_SEED, O_THREADS, O_CKPT, O_CKPT_EVERY, O_RESUME,
    O_IMPORT, O_STOP_AFTER, O_PROGRESS, O_POLICY, O_DENSITY, O_TRACE
};

int cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {
        {"network", required_argument, NULL, O_NETWORK},
        {"dataset", required_argument, NULL, O_DATASET},
        {"data-dir", required_argument, NULL, O_DATADIR},
        {"epochs", required_argument, NULL, O_EPOCHS},
        {"batch", required_argument, NULL, O_BATCH},
        {"lr", required_argument, NULL, O_LR},
        {"momentum", required_argument, NULL, O_MOMENTUM},
        {"weight-decay", required_argument, NULL, O_WD},
        {"nesterov", no_argument, NULL, O_NESTEROV},
        {"schedule", required_argument, NULL, O_SCHEDULE},
        {"milestones", required_argument, NULL, O_MILESTONES},
        {"warmup", required_argument, NULL, O_WARMUP},
        {"seed", required_argument, NULL, O_SEED},
        {"threads", required_argument, NULL, O_THREADS},
        {"set", required_argument, NULL, 's'},
        {"out", required_argument, NULL, 'o'},
        {"checkpoint", required_argument, NULL, O_CKPT},
        {"checkpoint-every", required_argument, NULL, O_CKPT_EVERY},
        {"resume", no_argument, NULL, O_RESUME},
        {"import-weights", required_argument, NULL, O_IMPORT},
        {"stop-after", required_argument, NULL, O_STOP_AFTER},
        {"quiet", no_argument, NULL, 'q'},
        {"progress", no_argument, NULL, O_PROGRESS},
        {"policy", required_argument, NULL, O_POLICY},
        {"density", required_argument, NULL, O_DENSITY},
        {"trace", required_argument, NULL, O_TRACE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    static const char *keys[] = {
        [O_NETWORK - O_NETWORK] = "train.network",    [O_DATASET - O_NETWORK] = "train.dataset",
        [O_DATADIR - O_NETWORK] = "train.data_dir",   [O_EPOCHS - O_NETWORK] = "train.epochs",
        [O_BATCH - O_NETWORK] = "train.batch",        [O_LR - O_NETWORK] = "train.lr",
        [O_MOMENTUM - O_NETWORK] = "train.momentum",  [O_WD - O_NETWORK] = "train.weight_decay",
        [O_NESTEROV - O_NETWORK] = "train.nesterov",  [O_SCHEDULE - O_NETWORK] = "train.schedule",
        [O_MILESTONES - O_NETWORK] = "train.milestones",
        [O_WARMUP - O_NETWORK] = "train.warmup_epochs", [O_SEED - O_NETWORK] = "seed",
        [O_THREADS - O_NETWORK] = "threads",
        [O_CKPT_EVERY - O_NETWORK] = "train.checkpoint_every",
        [O_POLICY - O_NETWORK] = "policy.name",       [O_DENSITY - O_NETWORK] = "policy.density",
    };
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
        if (c >= O_NETWORK && c < O_NETWORK + (int)ES_ARRAY_LEN(keys) && keys[c - O_NETWORK]) {
            char *s = cli_assignment(keys[c - O_NETWORK], c == O_NESTEROV ? "true" : optarg,
                                     c == O_MILESTONES);
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
