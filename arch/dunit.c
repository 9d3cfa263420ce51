/* dunit.c - simple digital units (shift-and-add, activation, max-pool); see dunit.h. */
#include <stdio.h>
#include <string.h>

#include "dunit.h"

void dunit_config_from(const essim_config *cfg, const cfg_doc *doc, const cfg_unit *u,
                       const char *key, dunit_config *c)
{
    memset(c, 0, sizeof *c);
    c->key = key;
    c->count = u->count;
    c->power_w = u->power_w;
    c->leak_w = u->leakage_w;
    c->area_mm2 = u->area_mm2;
    c->clock_hz = cfg->arch.chip.clock_hz;
    c->doc = doc;
}

int dunit_init(dunit_model *m, const dunit_config *c, es_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    char key[64];
    snprintf(key, sizeof key, "%s.count", c->key);
    if (c->count < 1) return arch_fail_key(err, c->doc, key, "%s must be >= 1", key);
    char pk[64], lk[64];
    snprintf(pk, sizeof pk, "%s.power", c->key);
    snprintf(lk, sizeof lk, "%s.leakage", c->key);
    ES_TRY(arch_check_leak(c->doc, pk, lk, c->power_w, c->leak_w, err));
    if (!(c->rate_hz > 0) || !(c->clock_hz > 0))
        return es_fail(err, ES_EINVAL, "%s: no operating rate (a composing level must set it)",
                       c->key);
    m->each.area_mm2 = c->area_mm2;
    m->each.power_w = c->power_w;
    m->each.leak_w = c->leak_w;
    m->op_energy_pj = arch_action_energy_pj(c->power_w, c->leak_w, c->rate_hz);
    m->op_latency_ps = sim_period_from_hz(c->clock_hz);
    return ES_OK;
}
