/* lifetime.h - the lifetime arithmetic, in one place. Cell endurance E is lognormal:
 * log10 E ~ N(mu, sigma) with mu chosen so that the mean of E is endurance_mean (sigma 0:
 * every cell endures exactly endurance_mean writes). A cell written w times per training run
 * lasts T = E / w runs. Users: cell.c (the endurance distribution the wear model samples),
 * wear.c (exact quantiles of T over the sampled cells), wctl.c (the deterministic figures
 * E / max, E / p99, E / p90 when no wear model runs) and cli/report.c (the expected curve of
 * failed cells against runs, from bins of equal wear rate). */
#ifndef ES_LIFETIME_H
#define ES_LIFETIME_H

#include <stddef.h>

/* mu of log10 E for a mean endurance and a spread sigma of log10 E: the mean of 10^X with
 * X ~ N(mu, s) is 10^(mu + s^2 ln(10) / 2). */
double life_mu_log10(double endurance_mean, double sigma_log10);

/* Runs a cell lasts: endurance / writes_per_run; NaN when it is never written. */
double life_runs(double endurance, double writes_per_run);

/* Probability that a cell of the distribution has failed after `writes` writes (E < writes). */
double life_p_fail(double endurance_mean, double sigma_log10, double writes);

/* Cells of a chip in bins of equal wear rate: `cells` cells, each written `writes` times per
 * training run. */
typedef struct life_bin {
    double writes; /* writes per run, >= 0 */
    double cells;  /* cells in the bin, >= 0 */
} life_bin;

/* Expected fraction of all cells of the bins failed after `runs` runs (0 when there are no
 * cells). */
double life_failed_fraction(double endurance_mean, double sigma_log10, const life_bin *bins,
                            size_t n, double runs);
/* The number of runs after which the expected failed fraction first reaches frac (0 < frac
 * <= 1); INFINITY when it never does (too few cells are written). */
double life_runs_to_fraction(double endurance_mean, double sigma_log10, const life_bin *bins,
                             size_t n, double frac);

#endif
