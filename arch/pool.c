/* pool.c - tile maxpool unit costs. */
#include <string.h>

#include "pool.h"

void pool_config_from(const essim_config *cfg, const cfg_doc *doc, pool_config *c)
{
    memset(c, 0, sizeof *c);
    c->count = cfg->arch.tile.maxpool.count;
    c->power_w = cfg->arch.tile.maxpool.power_w;
    c->leak_w = cfg->arch.tile.maxpool.leakage_w;
    c->area_mm2 = cfg->arch.tile.maxpool.area_mm2;
    c->clock_hz = cfg->arch.chip.clock_hz;
    c->doc = doc;
}

int pool_init(pool_model *m, const pool_config *c, es_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    if (c->count < 1)
        return arch_fail_key(err, c->doc, "arch.tile.maxpool.count",
                             "arch.tile.maxpool.count must be >= 1");
    ES_TRY(arch_check_leak(c->doc, "arch.tile.maxpool.power", "arch.tile.maxpool.leakage",
                           c->power_w, c->leak_w, err));
    if (!(c->rate_hz > 0) || !(c->clock_hz > 0))
        return es_fail(err, ES_EINVAL, "arch.tile.maxpool: no operating rate (tile.h sets it)");
    m->each.area_mm2 = c->area_mm2;
    m->each.power_w = c->power_w;
    m->each.leak_w = c->leak_w;
    m->op_energy_pj = arch_action_energy_pj(c->power_w, c->leak_w, c->rate_hz);
    m->op_latency_ps = sim_period_from_hz(c->clock_hz);
    return ES_OK;
}
