/* arch_util.h - what every hardware component model of arch/ shares: the area / power /
 * leakage triple that the roll-up adds up, the roll-up line of one part of a level, the
 * conversion of a published power figure into an energy per action, and configuration errors
 * that point at the YAML key to change. Sits under every component model (cell, xbar, adc, ...,
 * tile, chip); depends only on sim/.
 *
 * Units everywhere in arch/: area in mm^2, power in W, energy in pJ (double), time in integer
 * picoseconds (sim_time), sizes in bytes, rates in actions per second. Two identities make the
 * arithmetic short: W x ps = pJ, and V^2 x S x ps = pJ.
 *
 * How power figures become energies. Published component tables (ISAAC's Table I and those
 * that follow it) give a power at full activity. A component model splits it into leakage
 * (static, always drawn) and dynamic power, and charges the dynamic part per action:
 *     energy per action = (power - leakage) / (actions per second at full activity).
 * So a component busy at its full rate draws exactly its published power, and the roll-up of
 * published powers is the chip's peak power. */
#ifndef ES_ARCH_UTIL_H
#define ES_ARCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "es_common.h"
#include "sim_kernel.h"

/* Area, power at full activity (dynamic + leakage) and leakage of one thing. */
typedef struct arch_cost {
    double area_mm2;
    double power_w;
    double leak_w;
} arch_cost;

/* c scaled by n copies. */
arch_cost arch_cost_times(arch_cost c, double n);
/* *acc += c, field by field. */
void arch_cost_add(arch_cost *acc, arch_cost c);

/* One line of a level's roll-up: `count` copies of a part costing `each`. name and spec are
 * copied into the struct, so a part outlives the configuration it was built from. */
typedef struct arch_part {
    char name[24];   /* "adc", "edram", ... */
    char spec[96];   /* short human description: "8-bit sar, 1.28 GS/s, 128 columns each" */
    char basis[96];  /* how its cost was obtained: "given", "calibrated at ...", "scaled ..." */
    double count;    /* copies at this level (may be fractional for shares) */
    arch_cost each;  /* one copy */
    arch_cost total; /* count x each */
} arch_part;

/* Fill a part (spec is a printf format; NULL for none). */
void arch_part_set(arch_part *p, const char *name, double count, arch_cost each, const char *spec,
                   ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* Say how p's cost was obtained (printf format): "given" (the published figure as
 * configured), "calibrated at ISAAC 128x128 (k = 0.0437)", "scaled from 2 KiB: ...".
 * arch_part_set leaves it "given". */
void arch_part_basis(arch_part *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The size law of registers and buffers (arch.sizing): (size / cal_size)^exponent, 1 when
 * either size is not > 0. */
double arch_size_factor(double size, double cal_size, double exponent);

/* Dynamic energy (pJ) per action of a component drawing power_w at full activity, leak_w of it
 * static, performing rate_hz actions per second at full activity: (power - leak) / rate.
 * 0 when rate_hz is not > 0. */
double arch_action_energy_pj(double power_w, double leak_w, double rate_hz);

/* Picoseconds as a sim_time, rounded to nearest; negative or NaN gives 0, huge saturates. */
sim_time arch_ps(double ps);

/* Record a configuration error about key `path` ("arch.adc.cols_per_adc") and return
 * ES_ECONFIG. When doc holds the key (from a file or a --set), the message starts with the
 * value's "file:line:col: error: "; otherwise it is the bare message. doc may be NULL. */
int arch_fail_key(es_err *err, const cfg_doc *doc, const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* A power figure and its static part must satisfy 0 <= leakage <= power: else an error at
 * leak_key ("arch.adc.leakage") that also names power_key. Returns ES_OK or ES_ECONFIG. */
int arch_check_leak(const cfg_doc *doc, const char *power_key, const char *leak_key, double power_w,
                    double leak_w, es_err *err);

#endif
