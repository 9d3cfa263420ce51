/* lifetime.c - see lifetime.h. */
#include "lifetime.h"

#include <math.h>

double life_mu_log10(double endurance_mean, double sigma_log10)
{
    return log10(endurance_mean) - sigma_log10 * sigma_log10 * log(10.0) / 2.0;
}

double life_runs(double endurance, double writes_per_run)
{
    return writes_per_run > 0 ? endurance / writes_per_run : NAN;
}

double life_p_fail(double mean, double sigma, double x)
{
    if (!(x > 0)) return 0;
    if (!(sigma > 0)) return mean < x ? 1 : 0;
    double z = (log10(x) - life_mu_log10(mean, sigma)) / sigma;
    return 0.5 * erfc(-z / sqrt(2.0));
}

double life_failed_fraction(double endurance_mean, double sigma_log10, const life_bin *bins,
                            size_t n, double runs)
{
    double tot = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        tot += bins[i].cells;
        failed += bins[i].cells * life_p_fail(endurance_mean, sigma_log10, runs * bins[i].writes);
    }
    return tot > 0 ? failed / tot : 0;
}

double life_runs_to_fraction(double endurance_mean, double sigma_log10, const life_bin *bins,
                             size_t n, double frac)
{
    double tot = 0, written = 0, wmin = INFINITY, wmax = 0;
    for (size_t i = 0; i < n; i++) {
        tot += bins[i].cells;
        if (bins[i].writes > 0 && bins[i].cells > 0) {
            written += bins[i].cells;
            wmin = fmin(wmin, bins[i].writes);
            wmax = fmax(wmax, bins[i].writes);
        }
    }
    /* Even after infinitely many runs only the written cells fail. */
    if (!(tot > 0) || written < frac * tot * (1 - 1e-12) || !(wmax > 0)) return INFINITY;
    const double s = sigma_log10 > 0 ? sigma_log10 : 0;
    const double mu = life_mu_log10(endurance_mean, s);
    double lo = mu - 12 * s - log10(wmax) - 1, hi = mu + 12 * s - log10(wmin) + 1;
    if (life_failed_fraction(endurance_mean, s, bins, n, pow(10, hi)) < frac) return INFINITY;
    for (int it = 0; it < 200 && hi - lo > 1e-12; it++) {
        double mid = 0.5 * (lo + hi);
        if (life_failed_fraction(endurance_mean, s, bins, n, pow(10, mid)) >= frac)
            hi = mid;
        else
            lo = mid;
    }
    return pow(10, hi);
}
