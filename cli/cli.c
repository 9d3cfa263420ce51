/* cli.c - what the commands share (cli.h): loading a configuration with its --set overrides,
 * option parsing helpers, exit codes and error reports, the help text's list of networks. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nn_presets.h"

int cli_exit_code(int status)
{
    if (status >= 0) return CLI_EXIT_OK;
    return (status == ES_ECONFIG || status == ES_EUSAGE) ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
}

int cli_report(const es_err *err)
{
    fprintf(stderr, "essim: %s\n", err->msg[0] ? err->msg : es_strerror(err->code));
    return cli_exit_code(err->code ? err->code : ES_EIO);
}

int cli_load_config_doc(const char *file, char *const *sets, int nsets, essim_config *cfg,
                        cfg_doc **doc_out, es_err *err)
{
    cfg_doc *doc = NULL;
    int rc = file ? cfg_doc_load(file, &doc, err) : cfg_doc_create_empty(&doc, err);
    for (int i = 0; rc == ES_OK && i < nsets; i++) rc = cfg_doc_set(doc, sets[i], err);
    if (rc == ES_OK) rc = cfg_bind(doc, cfg, err);
    if (rc == ES_OK && doc_out)
        *doc_out = doc;
    else
        cfg_doc_destroy(doc);
    return rc;
}

char *cli_assignment(const char *key, const char *value, int list)
{
    size_t len = strlen(key) + strlen(value) + 4;
    char *s = malloc(len);
    if (s) snprintf(s, len, list ? "%s=[%s]" : "%s=%s", key, value);
    return s;
}

static const struct {
    const char *name, *key;
    int flag, list; /* no argument (true); the value is a list */
} recipe[] = {
    {"network", "train.network", 0, 0},          {"dataset", "train.dataset", 0, 0},
    {"data-dir", "train.data_dir", 0, 0},        {"epochs", "train.epochs", 0, 0},
    {"batch", "train.batch", 0, 0},              {"lr", "train.lr", 0, 0},
    {"momentum", "train.momentum", 0, 0},        {"weight-decay", "train.weight_decay", 0, 0},
    {"nesterov", "train.nesterov", 1, 0},        {"schedule", "train.schedule", 0, 0},
    {"milestones", "train.milestones", 0, 1},    {"warmup", "train.warmup_epochs", 0, 0},
    {"seed", "seed", 0, 0},                      {"threads", "threads", 0, 0},
    {"policy", "policy.name", 0, 0},             {"density", "policy.density", 0, 0},
    {"checkpoint-every", "train.checkpoint_every", 0, 0},
};

_Static_assert(ES_ARRAY_LEN(recipe) <= CLI_RECIPE_MAX, "raise CLI_RECIPE_MAX");

size_t cli_recipe_count(void)
{
    return ES_ARRAY_LEN(recipe);
}

void cli_recipe_options(struct option *opts, size_t *n)
{
    for (size_t i = 0; i < ES_ARRAY_LEN(recipe); i++)
        opts[(*n)++] = (struct option){recipe[i].name,
                                       recipe[i].flag ? no_argument : required_argument, NULL,
                                       CLI_RECIPE + (int)i};
}

char *cli_recipe_assignment(int code, const char *arg)
{
    if (code < CLI_RECIPE || code >= CLI_RECIPE + (int)ES_ARRAY_LEN(recipe)) return (char *)-1;
    const size_t i = (size_t)(code - CLI_RECIPE);
    return cli_assignment(recipe[i].key, recipe[i].flag ? "true" : arg, recipe[i].list);
}

const char *cli_recipe_help(void)
{
    return "recipe (each is a shorthand for --set KEY=VALUE):\n"
           "  --network NAME|FILE   a preset or a network description (YAML)\n"
           "  --dataset NAME        fashion-mnist, mnist, cifar10, cifar100, synthetic\n"
           "  --data-dir DIR        where the dataset files are\n"
           "  --epochs N  --batch N  --lr X  --momentum X  --weight-decay X  --nesterov\n"
           "  --schedule constant|step|cosine  --milestones E1,E2,...  --warmup N\n"
           "  --seed N              global seed                         [1]\n"
           "  --threads N           BLAS threads (results reproducible per thread count)\n"
           "  --policy NAME         write policy: sgd, threshold, ssgp (No Endurance),\n"
           "                        essence, essence-aggressive\n"
           "  --density RHO         expected fraction of blocks written  [0.1]\n"
           "                        (other parameters: --set policy.KEY=VALUE)\n"
           "  --checkpoint-every N  save a checkpoint every N iterations (and each epoch)\n";
}

int cli_uint_arg(const char *cmd, const char *opt, const char *arg, uint64_t lo, uint64_t hi,
                 uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = *arg >= '0' && *arg <= '9' ? strtoull(arg, &end, 10) : 0;
    if (*arg >= '0' && *arg <= '9' && !*end && errno == 0 && v >= lo && v <= hi) {
        *out = v;
        return 0;
    }
    if (hi == UINT64_MAX && lo == 0)
        fprintf(stderr, "essim %s: %s needs a non-negative integer, not '%s'\n", cmd, opt, arg);
    else if (hi == UINT64_MAX)
        fprintf(stderr, "essim %s: %s needs an integer of at least %llu, not '%s'\n", cmd, opt,
                (unsigned long long)lo, arg);
    else
        fprintf(stderr, "essim %s: %s needs an integer from %llu to %llu, not '%s'\n", cmd, opt,
                (unsigned long long)lo, (unsigned long long)hi, arg);
    return CLI_EXIT_USAGE;
}

int cli_load_config(const char *file, char *const *sets, int nsets, essim_config *cfg,
                    es_err *err)
{
    return cli_load_config_doc(file, sets, nsets, cfg, NULL, err);
}


const char *cli_networks(void)
{
    static char list[256];
    if (!list[0]) nn_preset_list(list, sizeof list, ", ");
    return list;
}
