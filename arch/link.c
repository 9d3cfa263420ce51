/* link.c - on-chip link costs. */
#include <string.h>

#include "link.h"

void link_config_from(const essim_config *cfg, const cfg_doc *doc, link_config *c)
{
    memset(c, 0, sizeof *c);
    c->flit_bits = cfg->arch.noc.flit_bits;
    c->cycles = cfg->arch.noc.link_cycles;
    c->clock_hz = cfg->arch.chip.clock_hz;
    c->flit_energy_pj = cfg->arch.noc.link_energy_pj;
    c->doc = doc;
}

int link_init(link_model *m, const link_config *c, es_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    if (c->flit_bits < 1 || !(c->clock_hz > 0) || !(c->flit_energy_pj >= 0))
        return arch_fail_key(err, c->doc, "arch.noc.flit_bits",
                             "a link needs flit bits, a clock and a non-negative flit energy");
    m->flit_energy_pj = c->flit_energy_pj;
    m->bandwidth_bps = (double)c->flit_bits / 8.0 * c->clock_hz;
    m->latency_ps = (sim_time)c->cycles * sim_period_from_hz(c->clock_hz);
    m->cost.power_w = c->flit_energy_pj * c->clock_hz * 1e-12;
    return ES_OK;
}
