/* report_internal.h - what the parts of `essim report` share (not a public header; report.h is
 * the API): the page being built, the gnuplot driver (gplot.c), a run's outputs and their
 * sections (report_run.c), a sweep's results and their sections (report_sweep.c), and the
 * HTML and number helpers (report.c). */
#ifndef ES_REPORT_INTERNAL_H
#define ES_REPORT_INTERNAL_H

#include <stddef.h>
#include <stdio.h>

#include "csv.h"
#include "es_common.h"
#include "report.h"
#include "sbuf.h"
#include "statcsv.h"

/* ---- gnuplot (gplot.c): one script for every plot, run once, PNGs embedded ------------- */

typedef struct gplot {
    char *tmp;   /* private temporary folder */
    sbuf script; /* one script drawing every plot */
    int nplots, ndata;
} gplot;

/* The colour map of heat maps (viridis), a line for the script. */
extern const char gplot_palette[];

int gplot_open(gplot *g, es_err *err);
void gplot_close(gplot *g);
FILE *gplot_data(gplot *g, char *path, size_t cap);
int gplot_plot(gplot *g, sbuf *html, int w, int h, const char *alt, const char *caption);
int gplot_run(gplot *g, const char *gnuplot, es_err *err);
int gplot_embed(const gplot *g, const sbuf *html, FILE *out, es_err *err);

/* ---- the page and its helpers (report.c) ------------------------------------------------ */

typedef struct rep_ctx {
    sbuf html;
    gplot gp;
    const char *dir;
} rep_ctx;

void rep_html(sbuf *b, const char *s);
void rep_gpstr(sbuf *b, const char *s);
char *rep_path(const char *a, const char *b);
int rep_file_exists(const char *dir, const char *name);
void rep_fmt_g(char *buf, size_t n, double v);
void rep_td_num(sbuf *h, double v, const char *unit);
void rep_td_pct(sbuf *h, double frac);
void rep_note(sbuf *h, const char *text);
void rep_section_open(rep_ctx *c, const char *id, const char *title);
void rep_section_close(rep_ctx *c);

/* ---- a run's outputs and their sections (report_run.c) --------------------------------- */

typedef struct rep_hmap {
    char *name;
    size_t rows, cols;
    double *v; /* rows x cols, row-major: write counts (cumulative over the chip's runs) */
} rep_hmap;

typedef struct rep_run {
    char *dir;
    int k; /* run number in a repeated run, 0 for a single run */
    statcsv st;
    csv_doc ep;
    int has_ep;
    csv_doc it; /* iterations.csv: the written fraction per iteration */
    int has_it;
    size_t nh;
    rep_hmap *h;
} rep_run;

void rep_run_free(rep_run *r);
int rep_run_load(const char *dir, int k, rep_run *r, es_err *err);
void rep_sec_summary(rep_ctx *c, const rep_run *runs, size_t nr);
void rep_sec_energy(rep_ctx *c, const rep_run *r);
void rep_sec_time(rep_ctx *c, const rep_run *r);
void rep_sec_writes(rep_ctx *c, const rep_run *r);
void rep_sec_heatmaps(rep_ctx *c, const rep_run *r);
void rep_sec_lifetime(rep_ctx *c, const rep_run *r);
void rep_sec_training(rep_ctx *c, const rep_run *runs, size_t nr);
void rep_sec_config(rep_ctx *c, const rep_run *r);
void rep_sec_repeat(rep_ctx *c, const csv_doc *rep);

/* ---- a sweep's results and their sections (report_sweep.c) ----------------------------- */

typedef struct rep_sweep {
    csv_doc res; /* results.csv, row 0 the header */
    int c_index, c_status, c_pareto, c_error;
    size_t naxes, nmet;
    int *axes, *mets; /* column numbers */
    char *command;
} rep_sweep;

void rep_sweep_free(rep_sweep *s);
int rep_sweep_load(const char *dir, rep_sweep *s, es_err *err);
void rep_sweep_summary(rep_ctx *c, const rep_sweep *s);
void rep_sweep_table(rep_ctx *c, const rep_sweep *s);
void rep_sweep_pareto(rep_ctx *c, const rep_sweep *s);
void rep_sweep_axes(rep_ctx *c, const rep_sweep *s);

#endif
