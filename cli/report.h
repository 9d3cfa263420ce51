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

#endif
