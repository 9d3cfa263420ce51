/* offchip.h - the off-chip links (ISAAC: 4 HyperTransport links) to DRAM and other chips.
 * The published power is at full bandwidth:
 *   byte_energy  = (power - leakage) / bandwidth        bit_energy = byte_energy / 8
 *   transfer_latency(n bytes) = ceil(n / packet) x latency   on one link (puma: 5ns per
 *                                                             32-byte packet at 6.4GB/s)
 * Costs: links x (area, power, leakage) per link. */
#ifndef ES_OFFCHIP_H
#define ES_OFFCHIP_H

#include <stdint.h>

#include "arch_util.h"

typedef struct offchip_config {
    int64_t links;
    double bandwidth_bps;             /* per link */
    double power_w, leak_w, area_mm2; /* per link */
    double latency_ps;                /* per packet */
    double packet_bytes;
    const cfg_doc *doc;
} offchip_config;

typedef struct offchip_model {
    offchip_config cfg;
    arch_cost each; /* one link */
    arch_cost cost; /* all links */
    double byte_energy_pj, bit_energy_pj;
} offchip_model;

void offchip_config_from(const essim_config *cfg, const cfg_doc *doc, offchip_config *c);
int offchip_init(offchip_model *m, const offchip_config *c, es_err *err);
sim_time offchip_transfer_ps(const offchip_model *m, uint64_t bytes);

#endif
