/* sa.h - shift-and-add units: the IMA's (one op per ADC sample: shift the converted column
 * value by its input-bit and weight-slice position and accumulate it into the output register)
 * and the tile's (one op per IMA output: add partial sums of row tiles held by different IMAs).
 * Published power is at full activity, rate_hz ops per second per unit, which the composing
 * level derives from the organisation (ima.h, tile.h):
 *   op_energy  = (power - leakage) / rate_hz
 *   op_latency = one cycle of arch.chip.clock
 * Area and power are per unit; count units at the level. */
#ifndef ES_SA_H
#define ES_SA_H

#include <stdint.h>

#include "arch_util.h"

typedef struct sa_config {
    const char *key; /* "arch.ima.sa" or "arch.tile.sa", for messages */
    int64_t count;
    double power_w, leak_w, area_mm2;
    double clock_hz;
    double rate_hz; /* ops per second per unit at full activity: set by the composing level */
    const cfg_doc *doc;
} sa_config;

typedef struct sa_model {
    sa_config cfg;
    arch_cost each; /* one unit */
    double op_energy_pj;
    sim_time op_latency_ps;
} sa_model;

void sa_config_ima(const essim_config *cfg, const cfg_doc *doc, sa_config *c);
void sa_config_tile(const essim_config *cfg, const cfg_doc *doc, sa_config *c);
int sa_init(sa_model *m, const sa_config *c, es_err *err);

#endif
