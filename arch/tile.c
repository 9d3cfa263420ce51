/* tile.c - the tile: composition, full-activity rates of its shared parts, roll-up lines. */
#include <string.h>

#include "tile.h"

void tile_config_from(const essim_config *cfg, const cfg_doc *doc, tile_config *c)
{
    memset(c, 0, sizeof *c);
    c->imas = cfg->arch.tile.imas;
    c->training = cfg->arch.training;
    ima_config_from(cfg, doc, &c->ima);
    edram_config_from(cfg, doc, &c->edram);
    bus_config_from(cfg, doc, &c->bus);
    dunit_config_from(cfg, doc, &cfg->arch.tile.sa, "arch.tile.sa", &c->sa);
    reg_config_tile_out(cfg, doc, &c->out_reg);
    dunit_config_from(cfg, doc, &cfg->arch.tile.sigmoid, "arch.tile.sigmoid", &c->act);
    dunit_config_from(cfg, doc, &cfg->arch.tile.maxpool, "arch.tile.maxpool", &c->pool);
    gu_config_from(cfg, doc, &c->gu);
    wdrv_config_from(cfg, doc, &c->wdrv);
    c->doc = doc;
}

int tile_init(tile_model *m, const tile_config *c, es_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    if (c->imas < 1)
        return arch_fail_key(err, c->doc, "arch.tile.imas", "arch.tile.imas must be >= 1");
    /* An inference chip has no write drivers, but the crossbar's write figures are still
     * derived (for reports); a zero budget is only an error when the chip trains. */
    wdrv_config wc = c->wdrv;
    if (!c->training) {
        if (wc.per_tile < 1) wc.per_tile = 1;
        if (wc.per_chip < 1) wc.per_chip = 1;
    }
    ES_TRY(wdrv_init(&m->wdrv, &wc, err));
    ES_TRY(ima_init(&m->ima, &c->ima, &m->wdrv, err));

    const ima_model *im = &m->ima;
    double imas = (double)c->imas, interval_s = (double)im->mvm_interval_ps * 1e-12;
    m->outputs_per_s = imas * im->outputs_per_mvm / interval_s;
    double fill = (double)im->xbars * (double)c->ima.xbar.rows * (double)c->ima.input_bits / 8.0;
    double out = im->outputs_per_mvm * (double)im->out_bytes;
    m->traffic_bps = imas * (fill + out) / interval_s;

    edram_config ec = c->edram;
    ec.traffic_bps = m->traffic_bps;
    ES_TRY(edram_init(&m->edram, &ec, err));
    bus_config bc = c->bus;
    bc.traffic_bps = m->traffic_bps;
    ES_TRY(bus_init(&m->bus, &bc, err));
    dunit_config sc = c->sa;
    sc.rate_hz = m->outputs_per_s / (double)(sc.count > 0 ? sc.count : 1);
    ES_TRY(dunit_init(&m->sa, &sc, err));
    reg_config oc = c->out_reg;
    oc.bandwidth_bps = 2.0 * (double)im->out_bytes * m->outputs_per_s;
    ES_TRY(reg_init(&m->out_reg, &oc, err));
    dunit_config ac = c->act;
    ac.rate_hz = m->outputs_per_s / (double)(ac.count > 0 ? ac.count : 1);
    ES_TRY(dunit_init(&m->act, &ac, err));
    dunit_config pc = c->pool;
    pc.rate_hz = m->outputs_per_s / (double)(pc.count > 0 ? pc.count : 1);
    ES_TRY(dunit_init(&m->pool, &pc, err));
    if (c->training) ES_TRY(gu_init(&m->gu, &c->gu, err));

    arch_part *p = m->part;
    arch_part_set(p++, "ima", imas, im->cost, "%llu crossbars each", (unsigned long long)im->xbars);
    arch_part_set(p++, "edram", 1, m->edram.cost, "eDRAM buffer %g KiB, %llu banks x %lld bits",
                  c->edram.size / 1024.0, (unsigned long long)m->edram.ports,
                  (long long)c->edram.width_bits);
    arch_part_set(p++, "bus", 1, m->bus.cost, "eDRAM-to-IMA bus, %lld wires",
                  (long long)c->bus.wires);
    arch_part_set(p++, "sa", (double)sc.count, m->sa.each, "shift-and-add across IMAs");
    arch_part_set(p++, "out_reg", 1, m->out_reg.cost, "output register %g B", c->out_reg.size);
    arch_part_set(p++, "sigmoid", (double)ac.count, m->act.each, "activation unit");
    arch_part_set(p++, "maxpool", (double)pc.count, m->pool.each, "max-pool unit");
    if (c->training) {
        arch_part_set(p++, "gu", 1, m->gu.cost, "gradient unit: %lld MACs/cycle, %g KiB SRAM",
                      (long long)c->gu.macs, c->gu.sram_size / 1024.0);
        arch_part_set(p++, "wdrv", (double)m->wdrv.cfg.per_tile, m->wdrv.set,
                      "write-driver sets (static; write power at chip level)");
    }
    m->nparts = (size_t)(p - m->part);
    arch_part_basis(&m->part[TILE_PART_IMA], "sum of its parts");
    if (c->edram.size != c->edram.cal_size)
        arch_part_basis(&m->part[TILE_PART_EDRAM], "scaled from %g KiB: energy x%.4g, area x%.4g",
                        c->edram.cal_size / 1024.0, m->edram.energy_factor, m->edram.area_factor);
    else
        arch_part_basis(&m->part[TILE_PART_EDRAM], "given at %g KiB", c->edram.cal_size / 1024.0);
    if (c->out_reg.size != c->out_reg.cal_size)
        arch_part_basis(&m->part[TILE_PART_OUT_REG], "scaled from %g B: energy x%.4g, area x%.4g",
                        c->out_reg.cal_size, m->out_reg.energy_factor, m->out_reg.area_factor);
    else
        arch_part_basis(&m->part[TILE_PART_OUT_REG], "given at %g B", c->out_reg.cal_size);
    for (size_t i = 0; i < m->nparts; i++)
        arch_cost_add(&m->cost, m->part[i].total);
    return ES_OK;
}
