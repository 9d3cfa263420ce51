/* sh.c - sample-and-hold costs. */
#include <string.h>

#include "sh.h"

void sh_config_from(const essim_config *cfg, const cfg_doc *doc, sh_config *c)
{
    memset(c, 0, sizeof *c);
    c->power_w = cfg->arch.sh.power_w;
    c->leak_w = cfg->arch.sh.leakage_w;
    c->area_mm2 = cfg->arch.sh.area_mm2;
    c->cycle_ps = cfg->arch.chip.xbar_cycle_ps;
    c->doc = doc;
}

int sh_init(sh_model *m, const sh_config *c, es_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    ES_TRY(arch_check_leak(c->doc, "arch.sh.power", "arch.sh.leakage", c->power_w, c->leak_w, err));
    m->cost.area_mm2 = c->area_mm2;
    m->cost.power_w = c->power_w;
    m->cost.leak_w = c->leak_w;
    m->sample_energy_pj = (c->power_w - c->leak_w) * c->cycle_ps; /* W x ps = pJ */
    return ES_OK;
}
