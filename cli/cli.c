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
