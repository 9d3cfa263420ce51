/* link.h - one unidirectional on-chip link between neighbouring routers: flit_bits wires, one
 * flit per cycle of arch.chip.clock, `cycles` cycles to cross.
 *   flit_energy = arch.noc.link_energy                    one flit over one link
 *   bandwidth   = flit_bits / 8 x clock                   bytes per second
 *   latency     = cycles / clock
 *   power at full activity = flit_energy x clock (no area or leakage of its own: wires over
 *   the tiles) */
#ifndef ES_LINK_H
#define ES_LINK_H

#include <stdint.h>

#include "arch_util.h"

typedef struct link_config {
    int64_t flit_bits;
    int64_t cycles;
    double clock_hz;
    double flit_energy_pj;
    const cfg_doc *doc;
} link_config;

typedef struct link_model {
    link_config cfg;
    arch_cost cost;
    double flit_energy_pj;
    double bandwidth_bps;
    sim_time latency_ps;
} link_model;

void link_config_from(const essim_config *cfg, const cfg_doc *doc, link_config *c);
int link_init(link_model *m, const link_config *c, es_err *err);

#endif
