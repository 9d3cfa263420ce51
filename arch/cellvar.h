/* cellvar.h - what a ReRAM cell holds and gives back, as opposed to what it was asked to hold:
 * the residual error of a program-and-verify write and the noise of every read, in units of
 * one level step dG = (G_on - G_off) / (2^bits_per_cell - 1). The accuracy models
 * (workloads/nn_xbar.c, accuracy.model quantized) read crossbar weights through it.
 *
 *   programmed level  l + e,  e ~ N(0, program_sigma), drawn when the cell's target level
 *                     changes (program-and-verify stops within a tolerance of the target;
 *                     the error stays until the next write of the cell);
 *   read level        l + e + n,  n ~ N(0, read_sigma (g0 + l)), one draw per cell and read,
 *                     where g0 = G_off / dG = L / (r_off / r_on - 1): read noise proportional
 *                     to the conductance (so a finite on/off ratio makes level 0 noisy too);
 *                     the G_off every cell adds is a constant per input and is removed by the
 *                     reference column, as the offset encoding's bias is.
 * All draws come from the streams the caller passes (rng.h: named and seeded). */
#ifndef ES_CELLVAR_H
#define ES_CELLVAR_H

#include <stddef.h>
#include <stdint.h>

#include "es_common.h"
#include "rng.h"

typedef struct cellvar_config {
    int bits_per_cell;
    double program_sigma; /* in level steps */
    double read_sigma;    /* relative to the conductance */
    double on_off;        /* r_off / r_on (> 1) */
} cellvar_config;

/* True when the cells add no error (both sigmas zero). */
int cellvar_ideal(const cellvar_config *c);
/* G_off in level steps. */
double cellvar_g0(const cellvar_config *c);
/* Program n cells to levels lv: where lv differs from prev (prev 0xff: never programmed),
 * draw a new error into err and set prev = lv. */
void cellvar_program(const cellvar_config *c, const uint8_t *lv, uint8_t *prev, float *err,
                     size_t n, rng_stream *r);
/* Read n cells: out = lv + err + read noise. */
void cellvar_read(const cellvar_config *c, const uint8_t *lv, const float *err, size_t n,
                  rng_stream *r, float *out);

/* ---- incremental-pulse updates (arch.cell.update pulse) --------------------------------------
 * A cell pair per weight behaves as aihwkit's soft-bounds device: on a weight w in
 * [-w_max, w_max] (device units; the layer's weights are scaled onto them), one up pulse adds
 * dw_up (1 - w / w_max), one down pulse subtracts dw_down (1 + w / w_max): the response
 * saturates towards the bounds (nonlinearity) and up and down steps differ (asymmetry),
 *     dw_up = dw (1 + up_down),  dw_down = dw (1 - up_down);
 * each device's dw = dw_min exp(d2d xi) (log-normal) and w_max = 1 + w_max_d2d xi are drawn once
 * (device-to-device), each pulse's step is scaled by (1 + c2c xi) (cycle-to-cycle); a fraction
 * `corrupt` of the devices is stuck at a random weight. An update of dW asks for |dW| / dw_min
 * pulses, stochastically rounded, and they are applied one by one. */
typedef struct cellpulse_config {
    double dw_min;    /* nominal step, in units of w_max */
    double up_down;   /* asymmetry */
    double c2c;       /* relative sigma of one pulse's step */
    double d2d;       /* sigma of log(dw) across devices */
    double w_max_d2d; /* sigma of a device's bound */
    double corrupt;   /* fraction of stuck devices */
    int max_pulses;   /* cap per update (the write driver's longest train) */
    /* the response (CELLPULSE_*); for CELLPULSE_NEUROSIM the labels, their device-to-device
       sigma and the pulses across the range (dw_min, up_down, d2d, w_max_d2d unused; c2c is
       NeuroSim's additive sigma) */
    int model;
    double nl_ltp, nl_ltd, nl_d2d;
    int levels;
} cellpulse_config;

enum { CELLPULSE_SOFTBOUNDS, CELLPULSE_NEUROSIM };

/* ---- DNN+NeuroSim V2.1's exponential response (model CELLPULSE_NEUROSIM) ---------------------
 * A weight w in [-1, 1] sits at pulse P in [0, L] (L = levels) of the curve
 *     W(P) = B (1 - exp(-P / A)) - 1,   B = 2 / (1 - exp(-L / A)),
 * with A = a(NL) L for the direction of the update (nl_ltp when w grows, nl_ltd when it
 * shrinks): a(NL) is the a whose normalised curve (1 - e^(-p/a)) / (1 - e^(-1/a)) on the unit
 * square comes at most 0.07 |NL| from its diagonal (perpendicular distance: NeuroSim's
 * nonlinearity label; V2.1's table of a by NL follows from this to 1e-6), negative for a
 * negative label (a convex curve); |NL| < 1e-6 is the line. An update of dW moves the weight rint(dW L / 2) pulses along the curve from its
 * current P (clamped to [0, L]), then adds 2 c2c N(0, 1) if it moved and clamps to [-1, 1],
 * as V2.1's training (utee/wage_quantizer.py QG and W) does. */
/* a(NL) (0 for |NL| < 1e-6, the line); ES_EINVAL-free: |NL| is clamped below 10.1. */
double cellpulse_nl_a(double nl);

typedef struct cellpulse cellpulse;

/* The devices of n weights, drawn from `r` (stream "cell.devices/<layer>"). */
int cellpulse_create(const cellpulse_config *c, size_t n, rng_stream *r, cellpulse **out);
void cellpulse_destroy(cellpulse *p);
/* Move n weights (device units) from w_old towards w_old + dw by pulses; the result in w.
 * Stuck devices return their stuck value. Returns the number of pulses fired; with k (may be
 * NULL) also each weight's (0 for a stuck device). */
uint64_t cellpulse_update(cellpulse *p, const float *w_old, const float *dw, float *w, size_t n,
                          rng_stream *r, uint32_t *k);
/* A device's bound and step (tests). */
void cellpulse_device(const cellpulse *p, size_t i, double *dw, double *w_max, int *stuck);

#endif
