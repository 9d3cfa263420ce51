/* edram.h - the tile's eDRAM buffer: it holds the feature maps between layers and feeds the
 * IMAs' input registers over the bus. `banks` ports, each one access of width_bits per cycle of
 * arch.chip.clock. The published power is at the tile's full-activity traffic traffic_bps
 * (bytes per second, derived by tile.h from the IMAs: input-register fills plus outputs):
 * power, leakage and area are given at cal_size and follow the size law of reg.h at `size`
 * (power' = ef x dynamic + af x leakage, area' = af x area):
 *   access_bytes   = width_bits / 8
 *   byte_energy    = (power' - leakage') / traffic_bps
 *   access_energy  = access_bytes x byte_energy
 *   peak_bandwidth = banks x access_bytes x clock          the ports' capacity (bytes/s)
 *   access_latency = arch.edram.latency
 * Item 3 models the banks as `ports` shared resources. */
#ifndef ES_EDRAM_H
#define ES_EDRAM_H

#include <stdint.h>

#include "arch_util.h"

typedef struct edram_config {
    double size; /* bytes */
    double cal_size; /* bytes: power, leakage and area are given at this size */
    double energy_exp, area_exp;
    int64_t banks;
    int64_t width_bits;
    double power_w, leak_w, area_mm2;
    double latency_ps;
    double clock_hz;
    double traffic_bps; /* full-activity traffic: set by tile.h */
    const cfg_doc *doc;
} edram_config;

typedef struct edram_model {
    edram_config cfg;
    arch_cost cost;
    double energy_factor, area_factor; /* the size law at size */
    uint64_t ports; /* banks */
    double access_bytes;
    double byte_energy_pj, access_energy_pj;
    double peak_bandwidth_bps;
    sim_time access_latency_ps;
} edram_model;

void edram_config_from(const essim_config *cfg, const cfg_doc *doc, edram_config *c);
int edram_init(edram_model *m, const edram_config *c, es_err *err);

#endif
