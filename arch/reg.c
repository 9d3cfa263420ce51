/* reg.c - register costs, scaled from their calibration size (see reg.h). */
#include <stdio.h>
#include <string.h>

#include "reg.h"

static void fill(reg_config *c, const essim_config *cfg, const char *key, double size,
                 double cal_size, double p, double l, double a, double clock, const cfg_doc *doc)
{
    memset(c, 0, sizeof *c);
    c->key = key;
    c->size = size;
    c->cal_size = cal_size;
    c->energy_exp = cfg->arch.sizing.energy_exponent;
    c->area_exp = cfg->arch.sizing.area_exponent;
    c->power_w = p;
    c->leak_w = l;
    c->area_mm2 = a;
    c->clock_hz = clock;
    c->doc = doc;
}

void reg_config_ima_in(const essim_config *cfg, const cfg_doc *doc, reg_config *c)
{
    fill(c, cfg, "arch.ima.in_reg", cfg->arch.ima.in_reg.size, cfg->arch.ima.in_reg.cal_size, cfg->arch.ima.in_reg.power_w,
         cfg->arch.ima.in_reg.leakage_w, cfg->arch.ima.in_reg.area_mm2, cfg->arch.chip.clock_hz,
         doc);
}

void reg_config_ima_out(const essim_config *cfg, const cfg_doc *doc, reg_config *c)
{
    fill(c, cfg, "arch.ima.out_reg", cfg->arch.ima.out_reg.size, cfg->arch.ima.out_reg.cal_size, cfg->arch.ima.out_reg.power_w,
         cfg->arch.ima.out_reg.leakage_w, cfg->arch.ima.out_reg.area_mm2, cfg->arch.chip.clock_hz,
         doc);
}

void reg_config_tile_out(const essim_config *cfg, const cfg_doc *doc, reg_config *c)
{
    fill(c, cfg, "arch.tile.out_reg", cfg->arch.tile.out_reg.size, cfg->arch.tile.out_reg.cal_size, cfg->arch.tile.out_reg.power_w,
         cfg->arch.tile.out_reg.leakage_w, cfg->arch.tile.out_reg.area_mm2, cfg->arch.chip.clock_hz,
         doc);
}

int reg_init(reg_model *m, const reg_config *c, es_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    char pk[64], lk[64];
    snprintf(pk, sizeof pk, "%s.power", c->key);
    snprintf(lk, sizeof lk, "%s.leakage", c->key);
    ES_TRY(arch_check_leak(c->doc, pk, lk, c->power_w, c->leak_w, err));
    if (!(c->bandwidth_bps > 0) || !(c->clock_hz > 0))
        return es_fail(err, ES_EINVAL, "%s: no operating bandwidth (a composing level must set it)",
                       c->key);
    /* Given at cal_size; the size law scales the dynamic part and the rest apart. */
    m->energy_factor = arch_size_factor(c->size, c->cal_size, c->energy_exp);
    m->area_factor = arch_size_factor(c->size, c->cal_size, c->area_exp);
    m->cost.area_mm2 = c->area_mm2 * m->area_factor;
    m->cost.leak_w = c->leak_w * m->area_factor;
    m->cost.power_w = (c->power_w - c->leak_w) * m->energy_factor + m->cost.leak_w;
    m->byte_energy_pj = arch_action_energy_pj(m->cost.power_w, m->cost.leak_w, c->bandwidth_bps);
    m->access_latency_ps = sim_period_from_hz(c->clock_hz);
    return ES_OK;
}
