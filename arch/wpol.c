/* wpol.c - the policy registry and the pieces shared by the probability-based policies:
 * the density solve, keep probabilities with the endurance factors, and the unbiased draw.
 * The definitions follow essence.md (our reconstruction of ESSENCE; see the user guide). */
#include "wpol.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

extern const wpol_ops wpol_sgd, wpol_threshold, wpol_ssgp, wpol_essence, wpol_essence_aggr;

/* The registry; the order is the order of policy.name's choices in sim/cfg_sections.c. */
static const wpol_ops *const policies[] = {&wpol_sgd, &wpol_threshold, &wpol_ssgp, &wpol_essence,
                                           &wpol_essence_aggr};

size_t wpol_count(void)
{
    return ES_ARRAY_LEN(policies);
}

const wpol_ops *wpol_at(size_t i)
{
    return i < ES_ARRAY_LEN(policies) ? policies[i] : NULL;
}

const wpol_ops *wpol_find_name(const char *name)
{
    for (size_t i = 0; name && i < ES_ARRAY_LEN(policies); i++)
        if (!strcmp(policies[i]->name, name)) return policies[i];
    return NULL;
}

/* Expected number of kept blocks at threshold tau. */
static double expected_kept(const double *a, const double *b, size_t n, double tau)
{
    double s = 0;
    for (size_t g = 0; g < n; g++) {
        double p = a[g] >= tau ? 1.0 : a[g] / tau;
        s += b ? p * b[g] : p;
    }
    return s;
}

double wpol_solve_tau(const double *a, const double *b, size_t n, double target)
{
    double reachable = 0, amax = 0;
    for (size_t g = 0; g < n; g++) {
        if (a[g] > 0) reachable += b ? b[g] : 1.0;
        if (a[g] > amax) amax = a[g];
    }
    if (amax <= 0 || target >= reachable) return 0.0;
    if (target <= 0) return INFINITY;
    /* E(tau) is continuous and non-increasing in tau. For tau >= amax no block saturates and
     * E(tau) = sum(a b) / tau exactly; below amax, bisect on [lo, amax] with
     * E(lo) >= target >= E(amax). */
    double hi = amax, lo = amax;
    if (expected_kept(a, b, n, hi) > target) {
        /* Larger tau: E = sum(a b)/tau once tau >= amax, so solve it directly. */
        double sab = 0;
        for (size_t g = 0; g < n; g++) sab += a[g] * (b ? b[g] : 1.0);
        return sab / target;
    }
    do {
        lo *= 0.5;
    } while (lo > 0 && expected_kept(a, b, n, lo) < target);
    for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
        double mid = 0.5 * (lo + hi);
        if (expected_kept(a, b, n, mid) >= target)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

void wpol_probabilities(const double *a, const double *b, size_t n, double tau, double *p)
{
    for (size_t g = 0; g < n; g++) {
        double bg = b ? b[g] : 1.0;
        if (a[g] <= 0)
            p[g] = 0;
        else if (tau <= 0 || a[g] >= tau)
            p[g] = bg;
        else
            p[g] = a[g] / tau * bg;
    }
}

void wpol_draw(const double *p, size_t n, double p_min, rng_stream *rng, uint8_t *keep,
               float *scale)
{
    for (size_t g = 0; g < n; g++) {
        /* Blocks kept for sure or never kept draw nothing, so the stream stays aligned
         * across policies only where probabilities match (documented, not relied on). */
        int k = p[g] >= 1.0 ? 1 : p[g] <= 0.0 ? 0 : rng_uniform(rng) < p[g];
        keep[g] = (uint8_t)k;
        scale[g] = k ? (float)(1.0 / (p[g] > p_min ? p[g] : p_min)) : 0.0f;
    }
}

double wpol_density(const essim_config *cfg, const char *name, const wpol_iter *it, int aggressive)
{
    double rho = cfg->policy.density;
    const cfg_real_map *m = &cfg->policy.layers;
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->key[i], name)) rho = m->v[i];
    if (aggressive && cfg->policy.schedule == CFG_PSCHED_STEP)
        rho *= pow(cfg->policy.kappa, it->milestones_passed);
    return rho;
}

/* ---- probability-based policies --------------------------------------------------------- */

typedef struct prob_state {
    const essim_config *cfg;
    const wpol_layer *layers;
    size_t nlayers;
    wpol_prob_config pc;
    double *a, *b, *p; /* scratch, sized for the largest layer */
} prob_state;

int wpol_prob_create(const essim_config *cfg, const wpol_layer *layers, size_t nlayers,
                     const wpol_prob_config *pc, void **state, es_err *err)
{
    prob_state *s = calloc(1, sizeof *s);
    size_t maxg = 1;
    for (size_t l = 0; l < nlayers; l++) maxg = ES_MAX(maxg, layers[l].nblocks);
    if (s) {
        s->a = malloc(maxg * sizeof *s->a);
        s->b = malloc(maxg * sizeof *s->b);
        s->p = malloc(maxg * sizeof *s->p);
    }
    if (!s || !s->a || !s->b || !s->p) {
        wpol_prob_destroy(s);
        return es_fail(err, ES_ENOMEM, "out of memory");
    }
    s->cfg = cfg;
    s->layers = layers;
    s->nlayers = nlayers;
    s->pc = *pc;
    *state = s;
    return ES_OK;
}

void wpol_prob_destroy(void *state)
{
    prob_state *s = state;
    if (!s) return;
    free(s->a);
    free(s->b);
    free(s->p);
    free(s);
}

void wpol_prob_decide(void *state, size_t l, const wpol_iter *it, const double *norm,
                      uint8_t *keep, float *scale, rng_stream *rng)
{
    prob_state *s = state;
    const essim_config *cfg = s->cfg;
    const wpol_layer *L = &s->layers[l];
    size_t n = L->nblocks;
    double lambda = cfg->policy.lambda, cbar = L->mean_count > 1.0 ? L->mean_count : 1.0;
    double B = cfg->policy.budget, gam = cfg->policy.budget_gamma;
    int use_b = s->pc.endurance == CFG_ENDUR_BUDGET;
    double mean_n = 0;
    for (size_t g = 0; g < n; g++) {
        double ng = norm[g];
        if (cfg->policy.normalize && L->block_size[g]) ng /= sqrt((double)L->block_size[g]);
        mean_n += ng;
        /* Relative endurance: the block's own threshold is tau (1 + lambda c / c-bar), i.e.
         * its importance is divided by that factor. */
        double f = s->pc.endurance == CFG_ENDUR_RELATIVE ? 1.0 + lambda * (double)L->count[g] / cbar
                                                          : 1.0;
        s->a[g] = ng / f;
        if (use_b) {
            double x = 1.0 - (double)L->count[g] / B;
            s->b[g] = x > 0 ? pow(x, gam) : 0.0;
        }
    }
    mean_n = n ? mean_n / (double)n : 0;
    double tau;
    if (cfg->policy.tau_scale > 0) {
        tau = cfg->policy.tau_scale * mean_n;
        if (tau <= 0) tau = INFINITY; /* all norms zero: nothing to write */
    } else {
        double rho = wpol_density(cfg, L->name, it, s->pc.aggressive);
        tau = wpol_solve_tau(s->a, use_b ? s->b : NULL, n, rho * (double)n);
    }
    wpol_probabilities(s->a, use_b ? s->b : NULL, n, tau, s->p);
    wpol_draw(s->p, n, cfg->policy.p_min, rng, keep, scale);
}
