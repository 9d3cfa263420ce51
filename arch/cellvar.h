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

#endif
