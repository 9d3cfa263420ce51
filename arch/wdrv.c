/* wdrv.c - write-driver sets and the write concurrency budget. */
#include <string.h>

#include "wdrv.h"

void wdrv_config_from(const essim_config *cfg, const cfg_doc *doc, wdrv_config *c)
{
    memset(c, 0, sizeof *c);
    c->per_tile = cfg->arch.wdrv.per_tile;
    c->per_chip = cfg->arch.wdrv.per_chip;
    c->pulse_energy_pj = cfg->arch.wdrv.pulse_energy_pj;
    c->area_mm2 = cfg->arch.wdrv.area_mm2;
    c->leak_w = cfg->arch.wdrv.leakage_w;
    c->doc = doc;
}

int wdrv_init(wdrv_model *m, const wdrv_config *c, es_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    if (c->per_tile < 1)
        return arch_fail_key(err, c->doc, "arch.wdrv.per_tile",
                             "arch.wdrv.per_tile = %lld: a write budget of zero means no "
                             "crossbar can ever be written; set it to at least 1 (write-driver "
                             "sets per tile), or set arch.training: false for an inference chip",
                             (long long)c->per_tile);
    if (c->per_chip < 1)
        return arch_fail_key(err, c->doc, "arch.wdrv.per_chip",
                             "arch.wdrv.per_chip = %lld: a write budget of zero means no "
                             "crossbar can ever be written; set it to at least 1 (crossbars "
                             "writing at once on the chip), or set arch.training: false",
                             (long long)c->per_chip);
    if (!(c->pulse_energy_pj >= 0) || !(c->area_mm2 >= 0) || !(c->leak_w >= 0))
        return arch_fail_key(err, c->doc, "arch.wdrv",
                             "arch.wdrv: energies, areas and leakage "
                             "must be >= 0");
    m->set.area_mm2 = c->area_mm2;
    m->set.power_w = c->leak_w;
    m->set.leak_w = c->leak_w;
    m->tile = arch_cost_times(m->set, (double)c->per_tile);
    return ES_OK;
}

uint64_t wdrv_chip_concurrency(const wdrv_model *m, uint64_t tiles)
{
    uint64_t per_tiles = tiles * (uint64_t)m->cfg.per_tile;
    return ES_MIN((uint64_t)m->cfg.per_chip, per_tiles);
}
