/* router.h - one router of the on-chip network: `ports` ports of flit_bits, a pipeline of
 * `cycles` cycles of arch.chip.clock. The published power is at full activity, every port
 * forwarding one flit per cycle:
 *   flit_energy = (power - leakage) / (ports x clock)      one flit through the router
 *   latency     = cycles / clock                           one flit, no contention */
#ifndef ES_ROUTER_H
#define ES_ROUTER_H

#include <stdint.h>

#include "arch_util.h"

typedef struct router_config {
    int64_t flit_bits;
    int64_t ports;
    int64_t cycles;
    double clock_hz;
    double power_w, leak_w, area_mm2;
    const cfg_doc *doc;
} router_config;

typedef struct router_model {
    router_config cfg;
    arch_cost cost;
    double flit_energy_pj;
    sim_time latency_ps;
} router_model;

void router_config_from(const essim_config *cfg, const cfg_doc *doc, router_config *c);
int router_init(router_model *m, const router_config *c, es_err *err);

#endif
