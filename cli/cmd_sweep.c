/* cmd_sweep.c - `essim sweep FILE`: expand a sweep file into design points, validate all of
 * them, then run each point (one forked child per point, at most -j at once, or across
 * ranks under mpirun) and write DIR/results.csv, results.json and sweep.json. Points run
 * the essim command in-process, so a point's outputs are exactly those of the command. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chip.h"
#include "cli.h"
#include "lop_compile.h"
#include "netdesc.h"
#include "progress.h"
#include "sweep.h"

static void sweep_usage(FILE *fp)
{
    fprintf(fp, "usage: essim sweep FILE [options]\n"
                "\n"
                "Run every design point of a sweep file (a base configuration plus axes; see\n"
                "docs/sweeps.md) and write one row per point, with the Pareto front marked, to\n"
                "DIR/results.csv and DIR/results.json. Each point runs in its own folder\n"
                "DIR/points/NNNN; a rerun skips the points already finished.\n"
                "\n"
                "options:\n"
                "  -j, --jobs N          points run at once on this machine   [1]\n"
                "  -o, --out DIR         output folder                       [essim-out/sweep]\n"
                "  -n, --dry-run         validate every point and list them; run nothing\n"
                "  -s, --set KEY=VALUE   override a configuration key for every point (below the\n"
                "                        axes, which win)\n"
                "  -q, --quiet           no progress;  --progress: progress even when not a tty\n"
                "  -h, --help\n"
                "\n"
                "Under mpirun (built with Open MPI), rank 0 hands out points and the other ranks\n"
                "run them: mpirun -np N essim sweep FILE --out DIR (DIR on a shared file system).\n"
                "\n"
                "Exit status: 0 every point succeeded, 1 some point failed (the others still\n"
                "ran; see the status and error columns), 2 usage or sweep-file error.\n");
}

/* Points that run the hardware model must describe a buildable chip: catch impossible
 * combinations (columns per ADC not dividing the columns, ...) before anything runs. */
static int hw_check(const essim_config *cfg, const cfg_doc *doc, es_err *err)
{
    chip_model *m = malloc(sizeof *m);
    if (!m) return es_fail(err, ES_ENOMEM, "out of memory");
    int rc = chip_from_config(m, cfg, doc, err);
    free(m);
    return rc;
}

static sw_command_fn command_fn(const char *name)
{
    if (!strcmp(name, "train")) return cmd_train;
    if (!strcmp(name, "run")) return cmd_run;
    if (!strcmp(name, "simulate")) return cmd_simulate;
    return NULL;
}

/* What a point's child calls: the command named by argv[0] ("run" for a point of a simulate
 * sweep that trains again). */
static int point_command(int argc, char **argv)
{
    sw_command_fn fn = command_fn(argv[0]);
    if (!fn) {
        fprintf(stderr, "essim: command '%s' is not built into this essim\n", argv[0]);
        return CLI_EXIT_USAGE;
    }
    return fn(argc, argv);
}

/* The local pool: at most `jobs` children at once; returns the summary. */
static int run_local(sw_sweep *sw, const char *dir, sw_command_fn fn, int jobs, int pmode,
                     sw_run_summary *s, es_err *err)
{
    size_t n = sw_point_count(sw), nt = 0;
    double t_start = es_host_seconds();
    memset(s, 0, sizeof *s);
    s->total = n;
    s->workers = jobs;
    ES_TRY(sw_out_prepare(dir, err));
    size_t *todo = malloc((n ? n : 1) * sizeof *todo);
    pid_t *pids = calloc((size_t)jobs, sizeof *pids);
    size_t *slot_idx = calloc((size_t)jobs, sizeof *slot_idx);
    double *slot_t0 = calloc((size_t)jobs, sizeof *slot_t0);
    if (!todo || !pids || !slot_idx || !slot_t0) {
        free(todo), free(pids), free(slot_idx), free(slot_t0);
        return es_fail(err, ES_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (sw_point_finished(sw, dir, i, 1))
            s->skipped++;
        else
            todo[nt++] = i;
    }
    prog_options po = {pmode, stderr, -1, 10, NULL};
    prog *p = prog_start("sweep", n, "points", &po);
    char status[128];
    size_t next = 0, running = 0, done = s->skipped;
    int rc = ES_OK;
    snprintf(status, sizeof status, "%zu skipped", s->skipped);
    prog_update(p, done, status);
    while (rc == ES_OK && (next < nt || running > 0)) {
        while (next < nt && running < (size_t)jobs) {
            int k;
            for (k = 0; k < jobs && pids[k]; k++) {
            }
            slot_t0[k] = es_host_seconds();
            slot_idx[k] = todo[next];
            rc = sw_point_spawn(sw, dir, todo[next], fn, &pids[k], err);
            if (rc < 0) break;
            next++;
            running++;
        }
        if (rc < 0 || running == 0) break;
        int st;
        pid_t pid = waitpid(-1, &st, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            rc = es_fail(err, ES_EIO, "waitpid: %s", strerror(errno));
            break;
        }
        int k;
        for (k = 0; k < jobs && pids[k] != pid; k++) {
        }
        if (k == jobs) continue; /* not one of ours */
        pids[k] = 0;
        running--;
        sw_point_result res;
        rc =
            sw_point_reap(sw, dir, slot_idx[k], pid, st, es_host_seconds() - slot_t0[k], &res, err);
        if (rc < 0) break;
        s->ran++;
        done++;
        s->point_seconds += res.seconds;
        s->cmd_seconds += res.cmd_seconds;
        if (!res.ok) {
            s->failed++;
            fprintf(stderr, "essim sweep: point %zu failed (exit %d): %s\n", slot_idx[k],
                    res.exit_code, res.error);
        }
        snprintf(status, sizeof status, "%zu failed", s->failed);
        prog_update(p, done, status);
    }
    /* On an internal error, let the children in flight finish (their folders stay valid). */
    while (running > 0) {
        int st;
        pid_t pid = waitpid(-1, &st, 0);
        if (pid < 0 && errno != EINTR) break;
        if (pid > 0) running--;
    }
    snprintf(status, sizeof status, "%zu failed", s->failed);
    prog_finish(p, status);
    s->host_seconds = es_host_seconds() - t_start;
    free(todo), free(pids), free(slot_idx), free(slot_t0);
    return rc;
}

int cmd_sweep(int argc, char **argv)
{
    static const struct option opts[] = {
        {"jobs", required_argument, NULL, 'j'}, {"out", required_argument, NULL, 'o'},
        {"dry-run", no_argument, NULL, 'n'},    {"set", required_argument, NULL, 's'},
        {"quiet", no_argument, NULL, 'q'},      {"progress", no_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    char **sets = calloc((size_t)argc + 1, sizeof *sets);
    int nsets = 0, c, rc = CLI_EXIT_OK, jobs = 1, dry = 0, quiet = 0, force = 0;
    const char *dir = "essim-out/sweep";
    if (!sets) return CLI_EXIT_FAIL;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "j:o:ns:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'j': {
            uint64_t v = 1;
            rc = cli_uint_arg("sweep", "-j (jobs)", optarg, 1, 4096, &v);
            jobs = (int)v;
            break;
        }
        case 'o': dir = optarg; break;
        case 'n': dry = 1; break;
        case 's': sets[nsets++] = optarg; break;
        case 'q': quiet = 1; break;
        case 'P': force = 1; break;
        case 'h':
            sweep_usage(stdout);
            rc = -1;
            break;
        default:
            fprintf(stderr,
                    "essim sweep: unknown or incomplete option '%s'; see 'essim sweep --help'\n",
                    argv[optind - 1]);
            rc = CLI_EXIT_USAGE;
        }
        if (rc) break;
    }
    if (rc == 0 && argc - optind != 1) {
        fprintf(stderr, "essim sweep: expected one sweep file; see 'essim sweep --help'\n");
        rc = CLI_EXIT_USAGE;
    }
    /* Under mpirun every rank loads and validates the sweep; only rank 0 speaks. */
    const char *mpi_size = getenv("OMPI_COMM_WORLD_SIZE");
    const char *mpi_rank = getenv("OMPI_COMM_WORLD_RANK");
    int under_mpi = mpi_size && atoi(mpi_size) > 1;
    int rank0 = !under_mpi || !mpi_rank || atoi(mpi_rank) == 0;
    sw_sweep *sw = NULL;
    es_err err;
    es_err_clear(&err);
    if (rc == 0 && (sw_load(argv[optind], sets, nsets, &sw, &err) < 0 ||
                    sw_validate(sw, strcmp(sw_command(sw), "train") ? hw_check : NULL, &err) < 0))
        rc = rank0 ? cli_report(&err) : cli_exit_code(err.code);
    sw_command_fn fn = sw ? command_fn(sw_command(sw)) : NULL;
    if (rc == 0 && !fn) {
        if (rank0)
            fprintf(stderr, "essim: %s: error: command '%s' is not built into this essim\n",
                    argv[optind], sw_command(sw));
        rc = CLI_EXIT_USAGE;
    }
    /* --dry-run validates what a point would read first: its network (a missing description
     * file was found only when the points ran). Each distinct network is built once. */
    if (rc == 0 && dry && rank0) {
        const char *checked = NULL;
        essim_config pc;
        for (size_t i = 0; rc == 0 && i < sw_point_count(sw); i++) {
            if (sw_point_config(sw, i, &pc, &err) < 0) {
                rc = cli_report(&err);
                break;
            }
            nn_shape in;
            int classes;
            if (pc.train.network && (!checked || strcmp(checked, pc.train.network)) &&
                lop_dataset_shape(pc.train.dataset, &in, &classes) == 0 &&
                netdesc_check(pc.train.network, in, classes, &err) < 0) {
                char why[sizeof err.msg];
                snprintf(why, sizeof why, "%s", err.msg);
                es_fail(&err, err.code, "point %zu: train.network '%.200s': %.700s", i,
                        pc.train.network, why);
                rc = cli_report(&err);
            }
            free((char *)checked);
            checked = pc.train.network ? es_strdup(pc.train.network) : NULL;
            cfg_free(&pc);
        }
        free((char *)checked);
    }
    if (rc == 0 && dry) {
        if (rank0) {
            size_t n = sw_point_count(sw);
            char modes[128] = "";
            size_t t = sw_train_count(sw);
            if (!strcmp(sw_command(sw), "simulate"))
                snprintf(modes, sizeof modes, "; %zu replay the trace, %zu train again%s", n - t, t,
                         t ? " (geometry differs from the trace)" : "");
            printf("%s: %zu point%s, command '%s', sweep seed %llu%s\n", argv[optind], n,
                   n == 1 ? "" : "s", sw_command(sw), (unsigned long long)sw_seed(sw), modes);
            for (size_t i = 0; i < n; i++) {
                char desc[1024];
                const char *mode = sw_point_mode(sw, i), *why = sw_point_mode_reason(sw, i);
                sw_point_describe(sw, i, desc, sizeof desc);
                printf("  %04zu  %s%sseed=%llu  (config %s)", i, desc,
                       sw_column_count(sw) ? ", " : " ", (unsigned long long)sw_point_seed(sw, i),
                       sw_point_hash(sw, i));
                if (mode) printf("  %s", mode);
                if (why) printf(": %s", why);
                putchar('\n');
            }
        }
        sw_destroy(sw);
        free(sets);
        return CLI_EXIT_OK;
    }
    int pmode = quiet ? CFG_PROGRESS_NEVER : force ? CFG_PROGRESS_ALWAYS : CFG_PROGRESS_AUTO;
    if (rc == 0 && under_mpi) {
#ifdef HAVE_MPI
        int handled = 0;
        int mrc = sw_mpi_main(sw, dir, point_command, pmode, &handled);
        if (handled) {
            sw_destroy(sw);
            free(sets);
            return mrc;
        }
#else
        if (rank0)
            fprintf(stderr, "essim: this essim was built without MPI; rebuild with Open MPI "
                            "installed (see scripts/setup.sh) or run 'essim sweep -j N' on one "
                            "machine\n");
        rc = CLI_EXIT_USAGE;
#endif
    }
    if (rc == 0) {
        sw_run_summary s;
        size_t failed = 0;
        if (run_local(sw, dir, point_command, jobs, pmode, &s, &err) < 0 ||
            sw_write_results(sw, dir, &failed, &err) < 0 ||
            sw_write_meta(sw, dir, "local", &s, cli_command_line(), &err) < 0) {
            rc = cli_report(&err);
        } else {
            char modes[128];
            sw_mode_summary(sw, modes, sizeof modes);
            printf("sweep: %zu points (%zu run, %zu already done), %zu failed%s; results in "
                   "%s/results.csv\n",
                   s.total, s.ran, s.skipped, failed, modes, dir);
            rc = failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
        }
    }
    sw_destroy(sw);
    free(sets);
    return rc < 0 ? CLI_EXIT_OK : rc;
}
