/* sweep.h - design-space sweeps: a sweep file (base configuration + axes) expanded into
 * numbered design points, each point run as one essim command in its own directory, and
 * the results (one row per point, Pareto front marked) assembled from those directories.
 *
 * Data flow: sw_load() parses the sweep YAML (through cfg_doc, so every error carries
 * file:line:col) and expands the axes; sw_validate() binds every point's configuration
 * (base, then --set overrides, then the point's axis values and seed) before anything
 * runs, and for replay sweeps decides which points replay the trace and which train again
 * (their crossbar geometry differing from the trace's); the command layer (cmd_sweep.c,
 * sweep_mpi.c) schedules sw_point_spawn() / sw_point_reap() on a local process pool or over
 * MPI; sw_write_results() reads the finished point directories and writes results.csv and
 * results.json. Results depend only on the sweep and the point outputs, never on scheduling
 * or host time. */
#ifndef ES_SWEEP_H
#define ES_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cfg.h"
#include "es_common.h"

typedef struct sw_sweep sw_sweep;

/* An essim command as the command layer implements it (cmd_train, ...). Points are run with
 * argv[0] = the command's name: "run" for the points of a simulate sweep that train again,
 * so the function given to sw_point_spawn() dispatches on it. */
typedef int (*sw_command_fn)(int argc, char **argv);

enum { SW_GOAL_MIN = -1, SW_GOAL_MAX = 1 };

/* Load and expand a sweep file. `sets` (nsets of "KEY=VALUE", may be NULL) apply to every
 * point on top of the base configuration and below the axes. Errors in the file are
 * ES_ECONFIG with "file:line:col: error: ...". Points are not validated yet. */
int sw_load(const char *path, char *const *sets, int nsets, sw_sweep **out, es_err *err);
/* Same from text; `name` is the file name used in messages and for relative paths. */
int sw_load_string(const char *text, const char *name, char *const *sets, int nsets, sw_sweep **out,
                   es_err *err);
void sw_destroy(sw_sweep *sw);

/* A further check of a bound point configuration (the command layer builds the hardware
 * model with it); doc places messages at the key's position. Returns ES_OK or an error. */
typedef int (*sw_check_fn)(const essim_config *cfg, const cfg_doc *doc, es_err *err);

/* Bind every point's configuration, run `check` on it (may be NULL) and remember its config
 * hash. The first invalid point is reported as "point N (key=value, ...): <where>: error:
 * ..." (ES_ECONFIG). For command: simulate it also opens the trace and decides each point's
 * mode: a point whose configuration can replay the trace (map_check_trace) replays it; a point
 * whose crossbar geometry differs trains again with `essim run` on the configuration of
 * sw_train_config() (which `check` then sees, and whose hash is the point's). */
int sw_validate(sw_sweep *sw, sw_check_fn check, es_err *err);

/* The configuration a point of a simulate sweep trains again with. Lowest precedence first:
 * the trace's recorded configuration trace_yaml (named trace_name in messages: the training
 * recipe, network, dataset, policy and seed); then, from the point's own effective
 * configuration `point`, every key under arch. and sim., policy.granularity and threads; then
 * `overrides` in order ("KEY=VALUE": the point's axis values, whatever their key, a swept seed
 * included). Bound into *cfg (cfg_free it); *doc_out (may be NULL) gets the document, which
 * the caller destroys. */
int sw_train_config(const char *trace_yaml, const char *trace_name, const essim_config *point,
                    char *const *overrides, size_t noverrides, essim_config *cfg, cfg_doc **doc_out,
                    es_err *err);

/* After sw_validate of a simulate sweep: 1 when point i trains again, 0 when it replays (0
 * for the other commands). */
int sw_point_trains(const sw_sweep *sw, size_t i);
/* "replay" or "train" for the points of a simulate sweep, NULL for the other commands. */
const char *sw_point_mode(const sw_sweep *sw, size_t i);
/* Why point i trains again (map_check_trace's message, naming the trace by its file name),
 * NULL when it replays. */
const char *sw_point_mode_reason(const sw_sweep *sw, size_t i);
/* How many points train again. */
size_t sw_train_count(const sw_sweep *sw);
/* The command point i runs: sw_command(), or "run" for a point that trains again. */
const char *sw_point_command(const sw_sweep *sw, size_t i);
/* "; N replayed, M trained again (geometry differs from the trace)" for a simulate sweep
 * (the end of the summary line), "" for the other commands. */
void sw_mode_summary(const sw_sweep *sw, char *buf, size_t len);

size_t sw_point_count(const sw_sweep *sw);
/* The swept keys (axes, then random axes), in column order. */
size_t sw_column_count(const sw_sweep *sw);
const char *sw_column_key(const sw_sweep *sw, size_t k);
/* Value of column k at point i, as it appears in the results ("64", "0.1", "sgd"). */
const char *sw_point_value(const sw_sweep *sw, size_t i, size_t k);
/* The seed the point runs with: derived from the sweep seed and i, unless `seed` is swept
 * (then the swept value) or the point trains again in a simulate sweep (then the trace's). */
uint64_t sw_point_seed(const sw_sweep *sw, size_t i);
/* Whether `seed` is one of the swept keys. */
int sw_seed_swept(const sw_sweep *sw);
/* The seed of point `index` of a sweep with seed `sweep_seed`: the first 53 bits of random
 * stream "sweep" indexed by `index`. Depends on nothing else, so it is the same however
 * the points are scheduled. */
uint64_t sw_derive_seed(uint64_t sweep_seed, uint64_t index);
/* The point's effective configuration, the one it runs with (for a point that trains again,
 * sw_train_config's; the caller cfg_free()s it). */
int sw_point_config(const sw_sweep *sw, size_t i, essim_config *cfg, es_err *err);
/* Config hash of point i (after sw_validate), "" before. */
const char *sw_point_hash(const sw_sweep *sw, size_t i);
/* "key=value, key=value" of point i into buf. */
void sw_point_describe(const sw_sweep *sw, size_t i, char *buf, size_t len);

/* The command each point runs ("run", "train", "simulate") and, for simulate, the trace
 * (resolved against the sweep file's folder; NULL otherwise). */
const char *sw_command(const sw_sweep *sw);
const char *sw_trace(const sw_sweep *sw);
uint64_t sw_seed(const sw_sweep *sw);
const char *sw_path(const sw_sweep *sw);

/* ---- running points --------------------------------------------------------------------
 * Layout of the output folder DIR:
 *   DIR/points/NNNN/          a finished point: config.yaml, point.json, log.txt and the
 *                             command's own outputs (stats.csv, ...)
 *   DIR/points/NNNN.tmp-PID/  a point in flight (renamed to NNNN when it ends)
 *   DIR/results.csv, results.json, sweep.json */

/* Create DIR/points and remove leftover DIR/points/ *.tmp-* folders of killed runs. */
int sw_out_prepare(const char *dir, es_err *err);
/* 1 when DIR/points/NNNN holds a successful run of exactly point i (same config hash,
 * command (sw_point_command) and trace), else 0. A stale or failed folder is removed when
 * `clean` != 0. */
int sw_point_finished(const sw_sweep *sw, const char *dir, size_t i, int clean);

typedef struct sw_point_result {
    int ok;             /* 1 when the command exited 0 */
    int exit_code;      /* exit status, or 128 + signal number */
    double seconds;     /* host seconds from spawn to reap */
    double cmd_seconds; /* host seconds inside the command (measured by the child) */
    char error[512];    /* last error line of a failed point ("" when ok) */
} sw_point_result;

/* Fork a child that runs point i into DIR/points/NNNN.tmp-<child pid>: it writes the
 * effective configuration, sends stdout/stderr to log.txt and calls fn with
 * "train|run <dir>/config.yaml --out <dir>" or "simulate --config <dir>/config.yaml
 * --trace TRACE --out <dir>" (a point that trains again: "run <dir>/config.yaml --out <dir>").
 * The parent gets the child's pid and returns at once. */
int sw_point_spawn(const sw_sweep *sw, const char *dir, size_t i, sw_command_fn fn, pid_t *pid,
                   es_err *err);
/* After waitpid() gave `wstatus` for the child `pid` of point i: record the outcome in
 * point.json and rename the folder to its final name. */
int sw_point_reap(const sw_sweep *sw, const char *dir, size_t i, pid_t pid, int wstatus,
                  double seconds, sw_point_result *res, es_err *err);
/* Spawn, wait and reap in one call (MPI workers). */
int sw_point_run(const sw_sweep *sw, const char *dir, size_t i, sw_command_fn fn,
                 sw_point_result *res, es_err *err);

/* ---- results ------------------------------------------------------------------------- */

/* Read every point folder and write DIR/results.csv and DIR/results.json atomically.
 * *nfailed gets the number of points that did not finish successfully. */
int sw_write_results(const sw_sweep *sw, const char *dir, size_t *nfailed, es_err *err);

/* Pareto front: vals holds n points of m objectives (row-major, vals[p*m + k]); goal[k] is
 * SW_GOAL_MIN or SW_GOAL_MAX. front[p] = 1 when no other point is at least as good in
 * every objective and better in one. With m == 0 every point is on the front. */
void sw_pareto(size_t n, size_t m, const double *vals, const int *goal, int *front);

/* Expand a numeric range. Either step != 0 (from, from+step, ... up to `to` inclusive) or
 * count >= 1 (count values from `from` to `to`, evenly spaced, or geometrically when
 * logscale != 0). integer != 0 rounds to integers and drops repeats. *vals is malloc'ed. */
int sw_range_expand(double from, double to, double step, int64_t count, int logscale, int integer,
                    double **vals, size_t *n, es_err *err);

/* ---- MPI (sweep_mpi.c, only when built with HAVE_MPI) ----------------------------------- */

typedef struct sw_run_summary {
    size_t total, ran, skipped, failed;
    double host_seconds;  /* wall time of the whole execution */
    double point_seconds; /* sum of the points' spawn-to-reap times */
    double cmd_seconds;   /* sum of the time spent inside the commands */
    int workers;
    uint64_t messages;    /* coordinator messages sent and received (MPI) */
    double coord_seconds; /* coordinator time spent serving requests (MPI) */
} sw_run_summary;

/* Run the sweep under mpirun: rank 0 hands out point indices and writes the results,
 * the other ranks run points. Returns the command's exit code (0, 1 or 2) on every rank. */
int sw_mpi_main(sw_sweep *sw, const char *dir, sw_command_fn fn, int progress_mode, int *handled);

/* Write DIR/sweep.json: host timings and counts of one execution (not part of the
 * results, which stay byte-identical between runs). */
int sw_write_meta(const sw_sweep *sw, const char *dir, const char *mode, const sw_run_summary *s,
                  const char *command_line, es_err *err);

#endif
