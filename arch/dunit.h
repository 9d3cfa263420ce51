/* dunit.h - simple digital units that do one operation per clock cycle: the IMA's
 * shift-and-add (one op per ADC sample: shift the converted column value by its input-bit and
 * weight-slice position and accumulate it), the tile's shift-and-add (one op per IMA output:
 * add partial sums of row tiles held by different IMAs), the tile's activation units
 * (ISAAC's sigmoid; ReLU costs no more) and max-pool unit (one op per output element).
 * Published power is at full activity, rate_hz ops per second per unit, which the composing
 * level derives from the organisation (ima.h, tile.h):
 *   op_energy  = (power - leakage) / rate_hz
 *   op_latency = one cycle of arch.chip.clock
 * Area and power are per unit; count units at the level. */
#ifndef ES_DUNIT_H
#define ES_DUNIT_H

#include <stdint.h>

#include "arch_util.h"

typedef struct dunit_config {
    const char *key; /* the unit's configuration section, e.g. "arch.tile.sigmoid" */
    int64_t count;
    double power_w, leak_w, area_mm2;
    double clock_hz;
    double rate_hz; /* ops per second per unit at full activity: set by the composing level */
    const cfg_doc *doc;
} dunit_config;

typedef struct dunit_model {
    dunit_config cfg;
    arch_cost each; /* one unit */
    double op_energy_pj;
    sim_time op_latency_ps;
} dunit_model;

/* Fill c from the unit's section u of cfg (key names it, for messages; a string literal). */
void dunit_config_from(const essim_config *cfg, const cfg_doc *doc, const cfg_unit *u,
                       const char *key, dunit_config *c);
int dunit_init(dunit_model *m, const dunit_config *c, es_err *err);

#endif
