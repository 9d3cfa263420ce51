/* report.h - `essim report`: one self-contained HTML page for a run directory, a repeated
 * run (run-K folders and repeat.csv) or a sweep directory (results.csv). It reads only the
 * files the commands write (stats.csv, epochs.csv, heatmap-*.csv, repeat.csv,
 * results.csv/results.json), draws the plots with gnuplot run as a child process, and
 * embeds them as base64 PNG, so the page needs no network and no other file to be viewed.
 * Sits at the very end of the data flow; depends only on es_common. */
#ifndef ES_REPORT_H
#define ES_REPORT_H

#include <stddef.h>

#include "es_common.h"

typedef enum {
    REP_RUN,    /* stats.csv (and epochs.csv, heatmap-*.csv) directly in the directory */
    REP_REPEAT, /* run-1, run-2, ... and repeat.csv (essim run --repeat N) */
    REP_SWEEP,  /* results.csv and points/NNNN (essim sweep) */
} rep_kind;

/* What kind of directory dir is. ES_EIO when it cannot be read, ES_EFORMAT when it holds
 * none of stats.csv, repeat.csv, run-1/stats.csv, results.csv (with a message saying so). */
int rep_detect(const char *dir, rep_kind *kind, es_err *err);

typedef struct rep_options {
    const char *title;     /* page title; NULL: derived from the directory's contents */
    const char *gnuplot;   /* gnuplot program (a name looked up in PATH, or a path); NULL:
                              "gnuplot" */
    const char *generator; /* "essim 1.2", written in the page footer; may be NULL */
} rep_options;

/* Find the gnuplot program: prog when it contains a '/', else the first executable of that
 * name in PATH. *path_out (the caller frees it) gets the path. ES_EIO with a message that
 * says to install gnuplot-nox when there is none. */
int rep_find_gnuplot(const char *prog, char **path_out, es_err *err);

/* Write the report of dir to out (atomically: a temporary beside out renamed over it), and
 * the directory's kind to *kind_out (may be NULL). Malformed inputs are ES_EFORMAT with
 * "file:line: ..." messages; a gnuplot failure is ES_EIO with gnuplot's own message. */
int rep_write_html(const char *dir, const char *out, const rep_options *opt, rep_kind *kind_out,
                   es_err *err);

/* ---- the lifetime curve ------------------------------------------------------------------
 * Cells of a chip fall into bins of equal wear rate: `cells` cells, each written `writes`
 * times per training run. Cell endurance is lognormal as in the wear model (arch/cell.c):
 * log10 E ~ N(mu, sigma) with mu chosen so that the mean of E is endurance_mean (sigma 0:
 * every cell endures exactly endurance_mean writes). A cell has failed after R runs when
 * E < R x writes. */
typedef struct rep_wear_bin {
    double writes; /* writes per run, >= 0 */
    double cells;  /* cells in the bin, >= 0 */
} rep_wear_bin;

/* Expected fraction of all cells of the bins failed after `runs` runs (0 when there are no
 * cells). */
double rep_failed_fraction(double endurance_mean, double sigma_log10, const rep_wear_bin *bins,
                           size_t n, double runs);
/* The number of runs after which the expected failed fraction first reaches frac (0 < frac
 * <= 1); INFINITY when it never does (too few cells are written). */
double rep_runs_to_fraction(double endurance_mean, double sigma_log10, const rep_wear_bin *bins,
                            size_t n, double frac);

#endif
