/* cli.h - shared pieces of the `essim` command layer: exit codes, the command table entry,
 * configuration loading with --set overrides, and error printing. Only this layer prints to
 * stdout or decides exit codes. */
#ifndef ES_CLI_H
#define ES_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "cfg.h"
#include "es_common.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} cli_command;

/* Load FILE (or only defaults when file is NULL), apply the --set overrides, bind. */
int cli_load_config(const char *file, char *const *sets, int nsets, essim_config *cfg,
                    es_err *err);
/* The same, keeping the document (for errors that point at a key's file:line:col later);
 * *doc_out is set only on success and is the caller's to cfg_doc_destroy. */
int cli_load_config_doc(const char *file, char *const *sets, int nsets, essim_config *cfg,
                        cfg_doc **doc_out, es_err *err);
/* A command-line shorthand as the --set assignment it stands for: "KEY=VALUE", or
 * "KEY=[VALUE]" for a list; malloc'ed (NULL when out of memory). */
char *cli_assignment(const char *key, const char *value, int list);

/* The training recipe's shorthands, shared by `essim train` and `essim run` (--network,
 * --dataset, --data-dir, --epochs, --batch, --lr, --momentum, --weight-decay, --nesterov,
 * --schedule, --milestones, --warmup, --seed, --threads, --policy, --density,
 * --checkpoint-every), each a --set KEY=VALUE. Their getopt codes are CLI_RECIPE + i. */
enum { CLI_RECIPE = 1000, CLI_RECIPE_MAX = 31 /* at most this many shorthands */ };
/* Append the recipe's options to opts (which has room: cli_recipe_count() more) at *n. */
void cli_recipe_options(struct option *opts, size_t *n);
size_t cli_recipe_count(void);
/* For a getopt code: the assignment it stands for (malloc'ed; NULL when out of memory), or
 * (char *)-1 when the code is not a recipe shorthand. */
char *cli_recipe_assignment(int code, const char *arg);
/* The recipe's lines of a help text. */
const char *cli_recipe_help(void);
/* An integer option argument in [lo, hi] (decimal, no sign): 0, or CLI_EXIT_USAGE after
 * "essim CMD: OPT needs an integer from LO to HI, not 'ARG'" on stderr (with hi = UINT64_MAX:
 * "of at least LO", or "a non-negative integer" for lo = 0). A sign is refused: strtoull
 * would take "-1" for 2^64 - 1. */
int cli_uint_arg(const char *cmd, const char *opt, const char *arg, uint64_t lo, uint64_t hi,
                 uint64_t *out);
/* Print "essim: <message>" to stderr and return the exit code for the error's status
 * (2 for configuration and usage errors, 1 otherwise). */
int cli_report(const es_err *err);
/* Exit code for an es_status. */
int cli_exit_code(int status);
/* The command line as one string (for stats meta); valid after main() stored it. */
const char *cli_command_line(void);
/* The network presets, "lenet5, resnet20, ...", for help texts (from nn_presets.h). */
const char *cli_networks(void);

int cmd_config(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_run(int argc, char **argv);
/* The short hardware summary of `essim run` and `essim simulate` (cmd_run.c). */
struct hw_totals;
void cli_hw_summary(FILE *fp, const struct hw_totals *t, double area_mm2);
/* The placement in one line: crossbars, IMAs, tiles, the copies of replicated layers. */
struct map_plan;
void cli_map_summary(FILE *fp, const struct map_plan *plan);
/* Warn on stderr ("essim CMD: warning: ...", with the numbers) when one training iteration of
 * cfg's network and batch keeps more activations than the eDRAM of the tiles holding them
 * (arch/spill.h). Quiet when there is no spill, for a chip without training units, or when
 * the network, mapping or op stream cannot be built (the caller reports those itself). */
void cli_spill_warn(const essim_config *cfg, const char *cmd);
int cmd_simulate(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_report(int argc, char **argv);

#endif
