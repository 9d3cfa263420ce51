/* router.c - router costs. */
#include <string.h>

#include "router.h"

void router_config_from(const essim_config *cfg, const cfg_doc *doc, router_config *c)
{
    memset(c, 0, sizeof *c);
    c->flit_bits = cfg->arch.noc.flit_bits;
    c->ports = cfg->arch.noc.ports;
    c->cycles = cfg->arch.noc.router_cycles;
    c->clock_hz = cfg->arch.chip.clock_hz;
    c->power_w = cfg->arch.noc.router_power_w;
    c->leak_w = cfg->arch.noc.router_leakage_w;
    c->area_mm2 = cfg->arch.noc.router_area_mm2;
    c->doc = doc;
}

int router_init(router_model *m, const router_config *c, es_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    if (c->ports < 1 || c->flit_bits < 1)
        return arch_fail_key(err, c->doc, "arch.noc.ports",
                             "a router needs at least one port and one flit bit");
    ES_TRY(arch_check_leak(c->doc, "arch.noc.router_power", "arch.noc.router_leakage", c->power_w,
                           c->leak_w, err));
    m->cost.area_mm2 = c->area_mm2;
    m->cost.power_w = c->power_w;
    m->cost.leak_w = c->leak_w;
    m->flit_energy_pj =
        arch_action_energy_pj(c->power_w, c->leak_w, (double)c->ports * c->clock_hz);
    m->latency_ps = (sim_time)c->cycles * sim_period_from_hz(c->clock_hz);
    return ES_OK;
}
