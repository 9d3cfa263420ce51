/* offchip.c - off-chip link costs. */
#include <string.h>

#include "offchip.h"

void offchip_config_from(const essim_config *cfg, const cfg_doc *doc, offchip_config *c)
{
    memset(c, 0, sizeof *c);
    c->links = cfg->arch.offchip.links;
    c->bandwidth_bps = cfg->arch.offchip.bandwidth_bps;
    c->power_w = cfg->arch.offchip.power_w;
    c->leak_w = cfg->arch.offchip.leakage_w;
    c->area_mm2 = cfg->arch.offchip.area_mm2;
    c->latency_ps = cfg->arch.offchip.latency_ps;
    c->packet_bytes = cfg->arch.offchip.packet_bytes;
    c->doc = doc;
}

int offchip_init(offchip_model *m, const offchip_config *c, es_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    if (c->links < 0)
        return arch_fail_key(err, c->doc, "arch.offchip.links", "arch.offchip.links must be >= 0");
    if (!(c->bandwidth_bps > 0) || !(c->packet_bytes >= 1))
        return arch_fail_key(err, c->doc, "arch.offchip.bandwidth",
                             "arch.offchip.bandwidth and arch.offchip.packet must be > 0");
    ES_TRY(arch_check_leak(c->doc, "arch.offchip.power", "arch.offchip.leakage", c->power_w,
                           c->leak_w, err));
    m->each.area_mm2 = c->area_mm2;
    m->each.power_w = c->power_w;
    m->each.leak_w = c->leak_w;
    m->cost = arch_cost_times(m->each, (double)c->links);
    m->byte_energy_pj = arch_action_energy_pj(c->power_w, c->leak_w, c->bandwidth_bps);
    m->bit_energy_pj = m->byte_energy_pj / 8.0;
    return ES_OK;
}

sim_time offchip_transfer_ps(const offchip_model *m, uint64_t bytes)
{
    uint64_t p = (uint64_t)m->cfg.packet_bytes;
    return (bytes + p - 1) / p * arch_ps(m->cfg.latency_ps);
}
