/* edram.c - eDRAM buffer costs. */
#include <string.h>

#include "edram.h"

void edram_config_from(const essim_config *cfg, const cfg_doc *doc, edram_config *c)
{
    memset(c, 0, sizeof *c);
    c->size = cfg->arch.edram.size;
    c->cal_size = cfg->arch.edram.cal_size;
    c->energy_exp = cfg->arch.sizing.energy_exponent;
    c->area_exp = cfg->arch.sizing.area_exponent;
    c->banks = cfg->arch.edram.banks;
    c->width_bits = cfg->arch.edram.width_bits;
    c->power_w = cfg->arch.edram.power_w;
    c->leak_w = cfg->arch.edram.leakage_w;
    c->area_mm2 = cfg->arch.edram.area_mm2;
    c->latency_ps = cfg->arch.edram.latency_ps;
    c->clock_hz = cfg->arch.chip.clock_hz;
    c->doc = doc;
}

int edram_init(edram_model *m, const edram_config *c, es_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    if (c->banks < 1)
        return arch_fail_key(err, c->doc, "arch.edram.banks", "arch.edram.banks must be >= 1");
    if (c->width_bits < 8 || c->width_bits % 8)
        return arch_fail_key(err, c->doc, "arch.edram.width_bits",
                             "arch.edram.width_bits = %lld: use a whole number of bytes (>= 8)",
                             (long long)c->width_bits);
    ES_TRY(arch_check_leak(c->doc, "arch.edram.power", "arch.edram.leakage", c->power_w, c->leak_w,
                           err));
    if (!(c->traffic_bps > 0) || !(c->clock_hz > 0))
        return es_fail(err, ES_EINVAL, "arch.edram: no operating traffic (tile.h sets it)");
    /* Given at cal_size; the size law as for registers (reg.h). */
    m->energy_factor = arch_size_factor(c->size, c->cal_size, c->energy_exp);
    m->area_factor = arch_size_factor(c->size, c->cal_size, c->area_exp);
    m->cost.area_mm2 = c->area_mm2 * m->area_factor;
    m->cost.leak_w = c->leak_w * m->area_factor;
    m->cost.power_w = (c->power_w - c->leak_w) * m->energy_factor + m->cost.leak_w;
    m->ports = (uint64_t)c->banks;
    m->access_bytes = (double)c->width_bits / 8.0;
    m->byte_energy_pj = arch_action_energy_pj(m->cost.power_w, m->cost.leak_w, c->traffic_bps);
    m->access_energy_pj = m->access_bytes * m->byte_energy_pj;
    m->peak_bandwidth_bps = (double)c->banks * m->access_bytes * c->clock_hz;
    m->access_latency_ps = arch_ps(c->latency_ps);
    return ES_OK;
}
