/* gu.c - weight-gradient unit costs. */
#include <string.h>

#include "gu.h"

void gu_config_from(const essim_config *cfg, const cfg_doc *doc, gu_config *c)
{
    memset(c, 0, sizeof *c);
    c->macs = cfg->arch.gu.macs;
    c->clock_hz = cfg->arch.chip.clock_hz;
    c->mac_energy_pj = cfg->arch.gu.mac_energy_pj;
    c->mac_area_mm2 = cfg->arch.gu.mac_area_mm2;
    c->mac_leak_w = cfg->arch.gu.mac_leakage_w;
    c->sram_size = cfg->arch.gu.sram_size;
    c->sram_width = cfg->arch.gu.sram_width;
    c->sram_energy_pj = cfg->arch.gu.sram_energy_pj;
    c->sram_area_mm2 = cfg->arch.gu.sram_area_mm2;
    c->sram_leak_w = cfg->arch.gu.sram_leakage_w;
    c->doc = doc;
}

int gu_init(gu_model *m, const gu_config *c, es_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    if (c->macs < 1)
        return arch_fail_key(err, c->doc, "arch.gu.macs",
                             "arch.gu.macs = %lld: the gradient unit needs at least one MAC",
                             (long long)c->macs);
    if (c->sram_width < 1)
        return arch_fail_key(err, c->doc, "arch.gu.sram_width", "arch.gu.sram_width must be >= 1");
    if (!(c->clock_hz > 0))
        return arch_fail_key(err, c->doc, "arch.chip.clock", "arch.chip.clock must be > 0");
    m->mac_rate = (double)c->macs * c->clock_hz;
    m->sram_bandwidth_bps = (double)c->sram_width * c->clock_hz;
    m->mac_latency_ps = sim_period_from_hz(c->clock_hz);
    m->cost.area_mm2 = (double)c->macs * c->mac_area_mm2 + c->sram_size * c->sram_area_mm2;
    m->cost.leak_w = (double)c->macs * c->mac_leak_w + c->sram_size * c->sram_leak_w;
    /* 1/s x pJ x 1e-12 = W */
    m->cost.power_w =
        (m->mac_rate * c->mac_energy_pj + m->sram_bandwidth_bps * c->sram_energy_pj) * 1e-12 +
        m->cost.leak_w;
    return ES_OK;
}

sim_time gu_macs_ps(const gu_model *m, uint64_t n)
{
    uint64_t w = (uint64_t)m->cfg.macs;
    return (n + w - 1) / w * m->mac_latency_ps;
}
