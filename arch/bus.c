/* bus.c - eDRAM-to-IMA bus costs. */
#include <string.h>

#include "bus.h"

void bus_config_from(const essim_config *cfg, const cfg_doc *doc, bus_config *c)
{
    memset(c, 0, sizeof *c);
    c->wires = cfg->arch.bus.wires;
    c->power_w = cfg->arch.bus.power_w;
    c->leak_w = cfg->arch.bus.leakage_w;
    c->area_mm2 = cfg->arch.bus.area_mm2;
    c->clock_hz = cfg->arch.chip.clock_hz;
    c->doc = doc;
}

int bus_init(bus_model *m, const bus_config *c, es_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    if (c->wires < 1)
        return arch_fail_key(err, c->doc, "arch.bus.wires", "arch.bus.wires must be >= 1");
    ES_TRY(
        arch_check_leak(c->doc, "arch.bus.power", "arch.bus.leakage", c->power_w, c->leak_w, err));
    if (!(c->traffic_bps > 0) || !(c->clock_hz > 0))
        return es_fail(err, ES_EINVAL, "arch.bus: no operating traffic (tile.h sets it)");
    m->cost.area_mm2 = c->area_mm2;
    m->cost.power_w = c->power_w;
    m->cost.leak_w = c->leak_w;
    m->bandwidth_bps = (double)c->wires / 8.0 * c->clock_hz;
    m->byte_energy_pj = arch_action_energy_pj(c->power_w, c->leak_w, c->traffic_bps);
    m->cycle_ps = sim_period_from_hz(c->clock_hz);
    return ES_OK;
}

sim_time bus_transfer_ps(const bus_model *m, uint64_t bytes)
{
    uint64_t w = (uint64_t)m->cfg.wires;
    return (bytes * 8 + w - 1) / w * m->cycle_ps;
}
