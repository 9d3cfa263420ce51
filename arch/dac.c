/* dac.c - row DAC costs by resolution (see dac.h). */
#include <math.h>
#include <string.h>

#include "dac.h"

void dac_config_from(const essim_config *cfg, const cfg_doc *doc, dac_config *c)
{
    memset(c, 0, sizeof *c);
    c->bits = cfg->arch.dac.bits;
    c->drive_energy_pj = cfg->arch.dac.drive_energy_pj;
    c->leak_w = cfg->arch.dac.leakage_w;
    c->area_mm2 = cfg->arch.dac.area_mm2;
    c->cycle_ps = cfg->arch.chip.xbar_cycle_ps;
    c->doc = doc;
}

int dac_init(dac_model *m, const dac_config *c, es_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    if (c->bits < 1 || c->bits > 16)
        return arch_fail_key(err, c->doc, "arch.dac.bits", "arch.dac.bits must be 1 to 16");
    if (!(c->drive_energy_pj >= 0) || !(c->leak_w >= 0))
        return arch_fail_key(err, c->doc, "arch.dac.drive_energy",
                             "arch.dac.drive_energy and arch.dac.leakage must be >= 0");
    if (!(c->cycle_ps > 0))
        return arch_fail_key(err, c->doc, "arch.chip.xbar_cycle",
                             "arch.chip.xbar_cycle must be > 0");
    m->units = ldexp(1.0, (int)c->bits) - 1.0;
    m->drive_energy_pj = m->units * c->drive_energy_pj;
    m->cost.area_mm2 = m->units * c->area_mm2;
    m->cost.leak_w = m->units * c->leak_w;
    m->cost.power_w = m->drive_energy_pj / c->cycle_ps + m->cost.leak_w; /* pJ / ps = W */
    return ES_OK;
}

void dac_set_cycle(dac_model *m, double cycle_ps)
{
    if (cycle_ps > 0) m->cost.power_w = m->drive_energy_pj / cycle_ps + m->cost.leak_w;
}
