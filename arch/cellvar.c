/* cellvar.c - programming error and read noise of ReRAM cells, in level steps; see cellvar.h. */
#include "cellvar.h"

#include <math.h>
#include <stdlib.h>

int cellvar_ideal(const cellvar_config *c)
{
    return c->program_sigma <= 0.0 && c->read_sigma <= 0.0;
}

double cellvar_g0(const cellvar_config *c)
{
    const double L = (double)((1 << c->bits_per_cell) - 1);
    return c->on_off > 1.0 ? L / (c->on_off - 1.0) : 0.0;
}

void cellvar_program(const cellvar_config *c, const uint8_t *lv, uint8_t *prev, float *err,
                     size_t n, rng_stream *r)
{
    for (size_t i = 0; i < n; i++) {
        if (lv[i] == prev[i]) continue;
        prev[i] = lv[i];
        err[i] = c->program_sigma > 0.0 ? (float)(c->program_sigma * rng_normal(r)) : 0.0f;
    }
}

void cellvar_read(const cellvar_config *c, const uint8_t *lv, const float *err, size_t n,
                  rng_stream *r, float *out)
{
    const double g0 = cellvar_g0(c);
    for (size_t i = 0; i < n; i++) {
        double v = (double)lv[i] + (double)err[i];
        if (c->read_sigma > 0.0) v += c->read_sigma * (g0 + (double)lv[i]) * rng_normal(r);
        out[i] = (float)v;
    }
}

struct cellpulse {
    cellpulse_config c;
    size_t n;
    float *dw, *wmax, *stuck_at; /* per device */
    uint8_t *stuck;
};

/* Largest height of the normalised curve (1 - e^(-p/a)) / (1 - e^(-1/a)) above the line p on
 * [0, 1], a > 0: at p_m where the slope is 1, e^(-p_m / a) = a q with q = 1 - e^(-1/a). Falls
 * from 1 (a -> 0) to 0 (a -> infinity). */
static double nl_maxdev(double a)
{
    const double q = -expm1(-1.0 / a), pstar = -a * log(a * q);
    return (1.0 - a * q) / q - pstar;
}

double cellpulse_nl_a(double nl)
{
    /* the largest perpendicular distance from the diagonal is 0.07 |NL|: a height above the
       line of 0.07 sqrt 2 |NL| */
    double want = 0.07 * M_SQRT2 * fabs(nl);
    if (fabs(nl) < 1e-6) return 0.0;
    if (want > 0.999) want = 0.999;
    double lo = log(1e-6), hi = log(1e7); /* bisection on log a: maxdev falls with a */
    for (int i = 0; i < 200; i++) {
        const double mid = 0.5 * (lo + hi);
        if (nl_maxdev(exp(mid)) > want)
            lo = mid;
        else
            hi = mid;
    }
    const double a = exp(0.5 * (lo + hi));
    return nl < 0 ? -a : a;
}

int cellpulse_create(const cellpulse_config *c, size_t n, rng_stream *r, cellpulse **out)
{
    cellpulse *p = calloc(1, sizeof *p);
    if (!p) return ES_ENOMEM;
    p->c = *c;
    p->n = n;
    p->dw = malloc((n ? n : 1) * sizeof *p->dw);
    p->wmax = malloc((n ? n : 1) * sizeof *p->wmax);
    p->stuck_at = malloc((n ? n : 1) * sizeof *p->stuck_at);
    p->stuck = malloc(n ? n : 1);
    if (!p->dw || !p->wmax || !p->stuck_at || !p->stuck) {
        cellpulse_destroy(p);
        return ES_ENOMEM;
    }
    if (c->model == CELLPULSE_NEUROSIM) {
        /* per device: A of potentiation in dw, of depression in wmax (in pulses), from labels
           moved by one device-to-device draw */
        const double L = c->levels > 0 ? (double)c->levels : 1.0;
        const double a_ltp = cellpulse_nl_a(c->nl_ltp) * L, a_ltd = cellpulse_nl_a(c->nl_ltd) * L;
        for (size_t i = 0; i < n; i++) {
            if (c->nl_d2d > 0.0) {
                const double xi = c->nl_d2d * rng_normal(r);
                p->dw[i] = (float)(cellpulse_nl_a(c->nl_ltp + xi) * L);
                p->wmax[i] = (float)(cellpulse_nl_a(c->nl_ltd + xi) * L);
            } else {
                p->dw[i] = (float)a_ltp;
                p->wmax[i] = (float)a_ltd;
            }
            p->stuck[i] = (uint8_t)(c->corrupt > 0.0 && rng_uniform(r) < c->corrupt);
            p->stuck_at[i] = (float)(2.0 * rng_uniform(r) - 1.0);
        }
        *out = p;
        return ES_OK;
    }
    for (size_t i = 0; i < n; i++) {
        const double d = c->dw_min * exp(c->d2d * rng_normal(r));
        const double m = 1.0 + c->w_max_d2d * rng_normal(r);
        p->dw[i] = (float)(d > 0.0 ? d : 0.0);
        p->wmax[i] = (float)(m > 0.05 ? m : 0.05);
        p->stuck[i] = (uint8_t)(c->corrupt > 0.0 && rng_uniform(r) < c->corrupt);
        p->stuck_at[i] = (float)((2.0 * rng_uniform(r) - 1.0) * p->wmax[i]);
    }
    *out = p;
    return ES_OK;
}

void cellpulse_destroy(cellpulse *p)
{
    if (!p) return;
    free(p->dw);
    free(p->wmax);
    free(p->stuck_at);
    free(p->stuck);
    free(p);
}

void cellpulse_device(const cellpulse *p, size_t i, double *dw, double *w_max, int *stuck)
{
    *dw = p->dw[i];
    *w_max = p->wmax[i];
    *stuck = p->stuck[i];
}

/* One weight along NeuroSim's curve of A pulses (0: the line) by k pulses; L levels. */
static double neurosim_move(double w, double A, int64_t k, double L)
{
    if (w > 1.0) w = 1.0;
    if (w < -1.0) w = -1.0;
    double P;
    if (A == 0.0) {
        P = (w + 1.0) * 0.5 * L + (double)k;
        if (P < 0.0) P = 0.0;
        if (P > L) P = L;
        return 2.0 * P / L - 1.0;
    }
    const double B = 2.0 / -expm1(-L / A);
    P = -A * log1p(-(w + 1.0) / B) + (double)k;
    if (P < 0.0) P = 0.0;
    if (P > L) P = L;
    return -B * expm1(-P / A) - 1.0;
}

static uint64_t update_neurosim(cellpulse *p, const float *w_old, const float *dw, float *w,
                                size_t n, rng_stream *r, uint32_t *kout)
{
    const cellpulse_config *c = &p->c;
    const double L = (double)c->levels;
    uint64_t fired = 0;
    for (size_t i = 0; i < n && i < p->n; i++) {
        if (kout) kout[i] = 0;
        if (p->stuck[i]) {
            w[i] = p->stuck_at[i];
            continue;
        }
        double k = rint((double)dw[i] * L * 0.5);
        if (!(k == k)) k = 0; /* a NaN update fires nothing (the trainer reports the NaN) */
        if (k > c->max_pulses) k = c->max_pulses;
        if (k < -c->max_pulses) k = -c->max_pulses;
        double v = w_old[i];
        if (k != 0.0) {
            v = neurosim_move(v, k > 0 ? (double)p->dw[i] : (double)p->wmax[i], (int64_t)k, L);
            if (c->c2c > 0.0) v += 2.0 * c->c2c * rng_normal(r);
            fired += (uint64_t)fabs(k);
            if (kout) kout[i] = (uint32_t)fabs(k);
        }
        if (v > 1.0) v = 1.0;
        if (v < -1.0) v = -1.0;
        w[i] = (float)v;
    }
    return fired;
}

uint64_t cellpulse_update(cellpulse *p, const float *w_old, const float *dw, float *w, size_t n,
                          rng_stream *r, uint32_t *kout)
{
    const cellpulse_config *c = &p->c;
    if (c->model == CELLPULSE_NEUROSIM) return update_neurosim(p, w_old, dw, w, n, r, kout);
    uint64_t fired = 0;
    for (size_t i = 0; i < n && i < p->n; i++) {
        if (kout) kout[i] = 0;
        if (p->stuck[i]) {
            w[i] = p->stuck_at[i];
            continue;
        }
        double want = fabs((double)dw[i]) / c->dw_min;
        if (!(want <= (double)c->max_pulses)) want = want == want ? (double)c->max_pulses : 0.0;
        int64_t k = (int64_t)want;
        if (rng_uniform(r) < want - (double)k) k++;
        if (k > c->max_pulses) k = c->max_pulses;
        const double m = p->wmax[i], up = dw[i] > 0.0f;
        const double step = p->dw[i] * (up ? 1.0 + c->up_down : 1.0 - c->up_down);
        double v = w_old[i];
        if (v > m) v = m;
        if (v < -m) v = -m;
        for (int64_t j = 0; j < k; j++) {
            const double s = step * (c->c2c > 0.0 ? 1.0 + c->c2c * rng_normal(r) : 1.0);
            v += up ? s * (1.0 - v / m) : -s * (1.0 + v / m);
            if (v > m) v = m;
            if (v < -m) v = -m;
        }
        w[i] = (float)v;
        fired += (uint64_t)k;
        if (kout) kout[i] = (uint32_t)k;
    }
    return fired;
}
