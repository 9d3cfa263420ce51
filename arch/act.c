/* act.c - tile sigmoid unit costs. */
#include <string.h>

#include "act.h"

void act_config_from(const essim_config *cfg, const cfg_doc *doc, act_config *c)
{
    memset(c, 0, sizeof *c);
    c->count = cfg->arch.tile.sigmoid.count;
    c->power_w = cfg->arch.tile.sigmoid.power_w;
    c->leak_w = cfg->arch.tile.sigmoid.leakage_w;
    c->area_mm2 = cfg->arch.tile.sigmoid.area_mm2;
    c->clock_hz = cfg->arch.chip.clock_hz;
    c->doc = doc;
}

int act_init(act_model *m, const act_config *c, es_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    if (c->count < 1)
        return arch_fail_key(err, c->doc, "arch.tile.sigmoid.count",
                             "arch.tile.sigmoid.count must be >= 1");
    ES_TRY(arch_check_leak(c->doc, "arch.tile.sigmoid.power", "arch.tile.sigmoid.leakage",
                           c->power_w, c->leak_w, err));
    if (!(c->rate_hz > 0) || !(c->clock_hz > 0))
        return es_fail(err, ES_EINVAL, "arch.tile.sigmoid: no operating rate (tile.h sets it)");
    m->each.area_mm2 = c->area_mm2;
    m->each.power_w = c->power_w;
    m->each.leak_w = c->leak_w;
    m->op_energy_pj = arch_action_energy_pj(c->power_w, c->leak_w, c->rate_hz);
    m->op_latency_ps = sim_period_from_hz(c->clock_hz);
    return ES_OK;
}
