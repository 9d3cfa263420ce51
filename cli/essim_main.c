/* essim_main.c - the `essim` command: git-style dispatch to subcommands, --help and
 * --version at every level, documented exit codes (0 success, 1 runtime failure,
 * 2 usage or configuration error). */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static char command_line[4096];

const char *cli_command_line(void) { return command_line; }

static const cli_command commands[] = {
    {"run", cmd_run, "train on the modelled chip: time, energy, writes, wear and lifetime"},
    {"simulate", cmd_simulate, "replay a layer-op trace on a hardware configuration"},
    {"sweep", cmd_sweep, "run a design-space sweep: many points, locally (-j N) or with MPI"},
    {"report", cmd_report, "write an HTML report (tables, gnuplot plots) of a run or a sweep"},
    {"train", cmd_train, "train a network on a dataset (functional model, no hardware)"},
    {"trace", cmd_trace, "inspect, verify and dump write-policy traces (layer-op traces)"},
    {"config", cmd_config, "show, check and document configurations"},
    {"map", cmd_map, "place a network's weights on crossbars: tiles, utilisation, blocks"},
};

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: essim [--version] [--help] <command> [<args>]\n"
            "\n"
            "ESSIM simulates ReRAM processing-in-memory accelerators that train CNNs.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < ES_ARRAY_LEN(commands); i++)
        fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp, "\n'essim <command> --help' describes a command. Exit status: 0 success,\n"
                "1 runtime failure, 2 usage or configuration error. See essim(1).\n");
}

/* What a command printed must have reached its destination (`essim config show > /dev/full`
 * exited 0, or 1 without a word): the exit status says so and one line says why. */
static int stdout_status(int rc)
{
    if (fflush(stdout) == 0 && !ferror(stdout)) return rc;
    int e = errno;
    fprintf(stderr, "essim: cannot write the output: %s\n", e ? strerror(e) : "write error");
    return rc ? rc : CLI_EXIT_FAIL;
}

int main(int argc, char **argv)
{
    size_t n = 0;
    for (int i = 0; i < argc && n + 1 < sizeof command_line; i++)
        n += (size_t)snprintf(command_line + n, sizeof command_line - n, "%s%s", i ? " " : "",
                              argv[i]);
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        if (argc > 2 && strcmp(cmd, "help") == 0) {
            char *sub[] = {argv[2], "--help", NULL};
            for (size_t i = 0; i < ES_ARRAY_LEN(commands); i++)
                if (!strcmp(commands[i].name, argv[2])) return commands[i].run(2, sub);
        }
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("essim %s\n", PACKAGE_VERSION);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < ES_ARRAY_LEN(commands); i++)
        if (!strcmp(commands[i].name, cmd)) return stdout_status(commands[i].run(argc - 1, argv + 1));
    fprintf(stderr, "essim: '%s' is not an essim command; see 'essim --help'\n", cmd);
    return CLI_EXIT_USAGE;
}
