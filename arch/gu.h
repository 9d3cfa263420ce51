/* gu.h - the tile's digital weight-gradient unit (training): an array of `macs` 16-bit MACs
 * that accumulates the outer products of output errors and input activations over a
 * mini-batch (dW = sum over the batch of x e^T), fed from an SRAM of sram_size bytes that
 * delivers sram_width bytes per cycle, all at arch.chip.clock (NeuroSim V2 computes weight
 * gradients in separate SRAM arrays the same way; PipeLayer in ReRAM instead).
 *   mac_rate       = macs x clock                MACs per second
 *   mac_energy     = arch.gu.mac_energy          per MAC (operands from the array's registers)
 *   sram_energy    = arch.gu.sram_energy         per byte read or written
 *   mac_latency    = one clock cycle (pipelined)
 *   area    = macs x mac_area + sram_size x sram_area
 *   leakage = macs x mac_leakage + sram_size x sram_leakage
 *   power   = mac_rate x mac_energy + sram_width x clock x sram_energy + leakage   (full
 *             activity: every MAC and the SRAM port busy every cycle) */
#ifndef ES_GU_H
#define ES_GU_H

#include <stdint.h>

#include "arch_util.h"

typedef struct gu_config {
    int64_t macs;
    double clock_hz;
    double mac_energy_pj, mac_area_mm2, mac_leak_w;
    double sram_size;
    int64_t sram_width;
    double sram_energy_pj, sram_area_mm2, sram_leak_w; /* per byte */
    const cfg_doc *doc;
} gu_config;

typedef struct gu_model {
    gu_config cfg;
    arch_cost cost;
    double mac_rate;           /* MACs per second */
    double sram_bandwidth_bps; /* bytes per second */
    sim_time mac_latency_ps;
} gu_model;

void gu_config_from(const essim_config *cfg, const cfg_doc *doc, gu_config *c);
int gu_init(gu_model *m, const gu_config *c, es_err *err);
/* Time for n MACs at full rate: ceil(n / macs) cycles. */
sim_time gu_macs_ps(const gu_model *m, uint64_t n);

#endif
