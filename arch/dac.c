/* dac.c - 1-bit row DAC costs. */
#include <string.h>

#include "dac.h"

void dac_config_from(const essim_config *cfg, const cfg_doc *doc, dac_config *c)
{
    memset(c, 0, sizeof *c);
    c->power_w = cfg->arch.dac.power_w;
    c->leak_w = cfg->arch.dac.leakage_w;
    c->area_mm2 = cfg->arch.dac.area_mm2;
    c->cycle_ps = cfg->arch.chip.xbar_cycle_ps;
    c->doc = doc;
}

int dac_init(dac_model *m, const dac_config *c, es_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    ES_TRY(
        arch_check_leak(c->doc, "arch.dac.power", "arch.dac.leakage", c->power_w, c->leak_w, err));
    m->cost.area_mm2 = c->area_mm2;
    m->cost.power_w = c->power_w;
    m->cost.leak_w = c->leak_w;
    m->drive_energy_pj = (c->power_w - c->leak_w) * c->cycle_ps; /* W x ps = pJ */
    return ES_OK;
}
