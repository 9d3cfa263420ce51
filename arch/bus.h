/* bus.h - the tile's eDRAM-to-IMA bus: `wires` data wires, one bit each per cycle of
 * arch.chip.clock. The published power is at the tile's full-activity traffic traffic_bps
 * (the same bytes the eDRAM moves, tile.h):
 *   bandwidth   = wires / 8 x clock                     bytes per second
 *   byte_energy = (power - leakage) / traffic_bps
 *   transfer_latency(n bytes) = ceil(8 n / wires) cycles
 * One bus per tile; the hardware simulator (hwsim.c) reserves it as a shared tile resource. */
#ifndef ES_BUS_H
#define ES_BUS_H

#include <stdint.h>

#include "arch_util.h"

typedef struct bus_config {
    int64_t wires;
    double power_w, leak_w, area_mm2;
    double clock_hz;
    double traffic_bps; /* set by tile.h */
    const cfg_doc *doc;
} bus_config;

typedef struct bus_model {
    bus_config cfg;
    arch_cost cost;
    double bandwidth_bps;
    double byte_energy_pj;
    sim_time cycle_ps;
} bus_model;

void bus_config_from(const essim_config *cfg, const cfg_doc *doc, bus_config *c);
int bus_init(bus_model *m, const bus_config *c, es_err *err);
/* Time to move n bytes over the bus: ceil(8 n / wires) cycles. */
sim_time bus_transfer_ps(const bus_model *m, uint64_t bytes);

#endif
