/* pool.h - the tile's max-pool units: one op compares one output element into its pooling
 * window's running maximum. The published power is at full activity,
 * rate_hz ops per second per unit, which tile.h derives from the IMAs' output rate:
 *   op_energy  = (power - leakage) / rate_hz
 *   op_latency = one cycle of arch.chip.clock
 * Area and power are per unit; arch.tile.maxpool.count units per tile. */
#ifndef ES_POOL_H
#define ES_POOL_H

#include <stdint.h>

#include "arch_util.h"

typedef struct pool_config {
    int64_t count;
    double power_w, leak_w, area_mm2;
    double clock_hz;
    double rate_hz; /* ops per second per unit at full activity: set by tile.h */
    const cfg_doc *doc;
} pool_config;

typedef struct pool_model {
    pool_config cfg;
    arch_cost each; /* one unit */
    double op_energy_pj;
    sim_time op_latency_ps;
} pool_model;

void pool_config_from(const essim_config *cfg, const cfg_doc *doc, pool_config *c);
int pool_init(pool_model *m, const pool_config *c, es_err *err);

#endif
