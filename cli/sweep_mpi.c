/* sweep_mpi.c - `essim sweep` under mpirun (compiled only with HAVE_MPI). Rank 0 is the
 * coordinator: it cleans the output folder, decides which points still need to run, hands
 * out one point index per request and writes the results. Every other rank loops: report
 * the last point (and ask for the next), run it in a forked child (so a crashing point
 * cannot take the rank down), repeat. Two messages per point; the point outputs travel
 * through the shared output folder, so the results are the same rows as the local pool. */
#include "config.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "progress.h"
#include "sweep.h"

enum { TAG_REPORT = 1, TAG_WORK = 2 };

/* A worker's report: the point it just ran (-1 for the first request) and its outcome. */
typedef struct mpi_report {
    double index, ok, exit_code, seconds, cmd_seconds;
} mpi_report;

static int coordinator(sw_sweep *sw, const char *dir, int size, int pmode, sw_run_summary *s,
                       es_err *err)
{
    size_t n = sw_point_count(sw), nt = 0, next = 0;
    double t0 = es_host_seconds();
    memset(s, 0, sizeof *s);
    s->total = n;
    s->workers = size - 1;
    int rc = sw_out_prepare(dir, err);
    size_t *todo = malloc((n ? n : 1) * sizeof *todo);
    if (!todo && rc == ES_OK) rc = es_fail(err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; rc == ES_OK && i < n; i++) {
        if (sw_point_finished(sw, dir, i, 1))
            s->skipped++;
        else
            todo[nt++] = i;
    }
    /* Even after a failure every worker must get its stop message. */
    if (rc < 0) nt = 0;
    prog_options po = {pmode, stderr, -1, 10, NULL};
    prog *p = prog_start("sweep", n, "points", &po);
    char status[128];
    size_t done = s->skipped;
    int active = size - 1;
    while (active > 0) {
        int flag = 0;
        MPI_Status st;
        /* Poll instead of blocking: a blocking receive spins a core in Open MPI, and the
         * coordinator usually shares its node with workers. */
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_REPORT, MPI_COMM_WORLD, &flag, &st);
        if (!flag) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
            continue;
        }
        double tb = es_host_seconds();
        mpi_report r;
        MPI_Recv(&r, 5, MPI_DOUBLE, st.MPI_SOURCE, TAG_REPORT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        s->messages++;
        if (r.index >= 0) {
            s->ran++;
            done++;
            s->point_seconds += r.seconds;
            s->cmd_seconds += r.cmd_seconds;
            if (!r.ok) {
                s->failed++;
                fprintf(stderr,
                        "essim sweep: point %.0f failed (exit %.0f) on rank %d; see "
                        "%s/points/%04.0f/log.txt\n",
                        r.index, r.exit_code, st.MPI_SOURCE, dir, r.index);
            }
            snprintf(status, sizeof status, "%zu failed", s->failed);
            prog_update(p, done, status);
        }
        long long work = next < nt ? (long long)todo[next++] : -1;
        MPI_Send(&work, 1, MPI_LONG_LONG, st.MPI_SOURCE, TAG_WORK, MPI_COMM_WORLD);
        s->messages++;
        s->coord_seconds += es_host_seconds() - tb;
        if (work < 0) active--;
    }
    snprintf(status, sizeof status, "%zu failed", s->failed);
    prog_finish(p, status);
    s->host_seconds = es_host_seconds() - t0;
    free(todo);
    return rc;
}

static void worker(sw_sweep *sw, const char *dir, sw_command_fn fn)
{
    mpi_report r = {-1, 0, 0, 0, 0};
    for (;;) {
        long long work;
        MPI_Send(&r, 5, MPI_DOUBLE, 0, TAG_REPORT, MPI_COMM_WORLD);
        MPI_Recv(&work, 1, MPI_LONG_LONG, 0, TAG_WORK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (work < 0) break;
        sw_point_result res;
        es_err err;
        es_err_clear(&err);
        if (sw_point_run(sw, dir, (size_t)work, fn, &res, &err) < 0) {
            fprintf(stderr, "essim: %s\n", err.msg);
            memset(&res, 0, sizeof res);
            res.exit_code = 1;
        }
        r.index = (double)work;
        r.ok = res.ok;
        r.exit_code = res.exit_code;
        r.seconds = res.seconds;
        r.cmd_seconds = res.cmd_seconds;
    }
}

int sw_mpi_main(sw_sweep *sw, const char *dir, sw_command_fn fn, int progress_mode, int *handled)
{
    int rank = 0, size = 1, rc = CLI_EXIT_OK;
    MPI_Init(NULL, NULL);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size < 2) {
        /* One rank: nothing to hand out; the caller runs the local pool. */
        MPI_Finalize();
        *handled = 0;
        return CLI_EXIT_OK;
    }
    *handled = 1;
    if (rank == 0) {
        sw_run_summary s;
        size_t failed = 0;
        es_err err;
        es_err_clear(&err);
        if (coordinator(sw, dir, size, progress_mode, &s, &err) < 0 ||
            sw_write_results(sw, dir, &failed, &err) < 0 ||
            sw_write_meta(sw, dir, "mpi", &s, cli_command_line(), &err) < 0) {
            rc = cli_report(&err);
        } else {
            char modes[128];
            sw_mode_summary(sw, modes, sizeof modes);
            printf("sweep: %zu points (%zu run, %zu already done) on %d MPI workers, %zu failed%s; "
                   "results in %s/results.csv\n",
                   s.total, s.ran, s.skipped, size - 1, failed, modes, dir);
            rc = failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
        }
    } else {
        worker(sw, dir, fn);
    }
    fflush(NULL);
    MPI_Finalize();
    return rc;
}
