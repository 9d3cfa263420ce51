/* act.h - the tile's activation units (ISAAC's sigmoid units; ReLU costs no more): one op
 * applies the function to one output element. The published power is at full activity,
 * rate_hz ops per second per unit, which tile.h derives from the IMAs' output rate:
 *   op_energy  = (power - leakage) / rate_hz
 *   op_latency = one cycle of arch.chip.clock
 * Area and power are per unit; arch.tile.sigmoid.count units per tile. */
#ifndef ES_ACT_H
#define ES_ACT_H

#include <stdint.h>

#include "arch_util.h"

typedef struct act_config {
    int64_t count;
    double power_w, leak_w, area_mm2;
    double clock_hz;
    double rate_hz; /* ops per second per unit at full activity: set by tile.h */
    const cfg_doc *doc;
} act_config;

typedef struct act_model {
    act_config cfg;
    arch_cost each; /* one unit */
    double op_energy_pj;
    sim_time op_latency_ps;
} act_model;

void act_config_from(const essim_config *cfg, const cfg_doc *doc, act_config *c);
int act_init(act_model *m, const act_config *c, es_err *err);

#endif
