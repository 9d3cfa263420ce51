/* ima.c - the IMA: composition of crossbars and periphery, full-activity rates, MVM timing and
 * energy, and its roll-up lines. */
#include <string.h>

#include "ima.h"

void ima_config_from(const essim_config *cfg, const cfg_doc *doc, ima_config *c)
{
    memset(c, 0, sizeof *c);
    c->xbars = cfg->arch.ima.xbars;
    c->input_bits = cfg->arch.xbar.input_bits;
    map_config_from(cfg, &c->map);
    cell_config_from(cfg, doc, &c->cell);
    xbar_config_from(cfg, doc, &c->xbar);
    dac_config_from(cfg, doc, &c->dac);
    sh_config_from(cfg, doc, &c->sh);
    adc_config_from(cfg, doc, &c->adc);
    dunit_config_from(cfg, doc, &cfg->arch.ima.sa, "arch.ima.sa", &c->sa);
    reg_config_ima_in(cfg, doc, &c->in_reg);
    reg_config_ima_out(cfg, doc, &c->out_reg);
    c->doc = doc;
}

int ima_init(ima_model *m, const ima_config *c, const wdrv_model *wd, es_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    if (c->xbars < 1)
        return arch_fail_key(err, c->doc, "arch.ima.xbars", "arch.ima.xbars must be >= 1");
    if (c->input_bits < 1)
        return arch_fail_key(err, c->doc, "arch.xbar.input_bits",
                             "arch.xbar.input_bits must be >= 1");
    ES_TRY(map_geometry_derive(&c->map, &m->geo, err));
    ES_TRY(cell_init(&m->cell, &c->cell, err));
    ES_TRY(xbar_init(&m->xbar, &c->xbar, &m->cell, wd, err));
    ES_TRY(dac_init(&m->dac, &c->dac, err));
    ES_TRY(sh_init(&m->sh, &c->sh, err));
    ES_TRY(adc_init(&m->adc, &c->adc, err));

    uint64_t rows = (uint64_t)c->xbar.rows, cols = (uint64_t)c->xbar.cols;
    m->xbars = (uint64_t)c->xbars;
    m->dacs = m->xbars * rows;
    m->shs = m->xbars * cols;
    m->adcs = m->xbars * m->adc.per_xbar;
    m->positions = (double)m->xbars / (double)m->geo.xbars_per_pos;
    m->macs_per_mvm = m->positions * (double)rows * (double)m->geo.weights_per_row;
    m->outputs_per_mvm = m->positions * (double)m->geo.weights_per_row;
    m->out_bytes = ((uint64_t)c->input_bits + 7) / 8;

    /* The ADCs convert read i while read i + 1 settles, so whichever is slower sets the pace. */
    m->read_cycle_ps = ES_MAX(m->xbar.read_latency_ps, m->adc.xbar_read_time_ps);
    m->mvm_interval_ps = (sim_time)c->input_bits * m->read_cycle_ps;
    /* Full activity of the crossbars and DACs: one read per read cycle. */
    m->xbar.cost.power_w = m->xbar.read_energy_pj / (double)m->read_cycle_ps + m->xbar.cost.leak_w;
    dac_set_cycle(&m->dac, (double)m->read_cycle_ps);

    /* Full activity: every crossbar reads every read cycle. */
    double reads_per_s = 1e12 / (double)m->read_cycle_ps * (double)m->xbars;
    m->in_reg_bytes_per_read = 2.0 * (double)rows / 8.0;
    m->out_reg_bytes_per_read = (double)cols * 2.0 * (double)m->out_bytes;
    dunit_config sac = c->sa;
    sac.rate_hz = reads_per_s * (double)cols / (double)(sac.count > 0 ? sac.count : 1);
    ES_TRY(dunit_init(&m->sa, &sac, err));
    reg_config irc = c->in_reg, orc = c->out_reg;
    irc.bandwidth_bps = reads_per_s * m->in_reg_bytes_per_read;
    orc.bandwidth_bps = reads_per_s * m->out_reg_bytes_per_read;
    ES_TRY(reg_init(&m->in_reg, &irc, err));
    ES_TRY(reg_init(&m->out_reg, &orc, err));
    m->sas = (uint64_t)sac.count;
    m->mvm_latency_ps = (sim_time)(c->input_bits + 1) * m->read_cycle_ps + m->sa.op_latency_ps;

    m->read_energy_pj =
        m->xbar.read_energy_pj + (double)rows * m->dac.drive_energy_pj +
        (double)cols * m->sh.sample_energy_pj + (double)cols * m->adc.conversion_energy_pj +
        (double)cols * m->sa.op_energy_pj + m->in_reg_bytes_per_read * m->in_reg.byte_energy_pj +
        m->out_reg_bytes_per_read * m->out_reg.byte_energy_pj;
    m->mvm_energy_pj = (double)c->input_bits * (double)m->xbars * m->read_energy_pj;

    const adc_config *a = &c->adc;
    arch_part_set(&m->part[IMA_PART_ADC], "adc", (double)m->adcs, m->adc.cost,
                  "%lld-bit %s, %.4g GS/s, %lld columns each", (long long)a->bits, a->impl,
                  a->sample_rate_hz / 1e9, (long long)a->cols_per_adc);
    arch_part_set(&m->part[IMA_PART_DAC], "dac", (double)m->dacs, m->dac.cost,
                  "1-bit, one per crossbar row");
    arch_part_set(&m->part[IMA_PART_SH], "sh", (double)m->shs, m->sh.cost,
                  "sample-and-hold, one per column");
    arch_part_set(&m->part[IMA_PART_XBAR], "xbar", (double)m->xbars, m->xbar.cost,
                  "%lld x %lld, %lld bits/cell, %s", (long long)rows, (long long)cols,
                  (long long)c->map.bits_per_cell, c->cell.impl);
    arch_part_set(&m->part[IMA_PART_SA], "sa", (double)m->sas, m->sa.each, "shift-and-add");
    arch_part_set(&m->part[IMA_PART_IN_REG], "in_reg", 1, m->in_reg.cost, "input register %g B",
                  c->in_reg.size);
    arch_part_set(&m->part[IMA_PART_OUT_REG], "out_reg", 1, m->out_reg.cost, "output register %g B",
                  c->out_reg.size);
    if (a->impl && !strcmp(a->impl, "sar"))
        arch_part_basis(&m->part[IMA_PART_ADC],
                        "Walden: fom %.4g fJ x 2^%lld = %.4g pJ/conversion x rate", a->fom_pj * 1e3,
                        (long long)a->bits, m->adc.conversion_energy_pj);
    else
        arch_part_basis(&m->part[IMA_PART_ADC], "%s: %.4g pJ/conversion x rate", a->impl,
                        m->adc.conversion_energy_pj);
    arch_part_basis(&m->part[IMA_PART_DAC], "%lld-bit = %g x 1-bit drive %.4g pJ (given)",
                    (long long)c->dac.bits, m->dac.units, c->dac.drive_energy_pj);
    const xbar_config *xc = &c->xbar;
    if (m->xbar.at_calibration)
        arch_part_basis(&m->part[IMA_PART_XBAR], "calibrated at %lldx%lld, %.4g pJ/read (k = %.4g)",
                        (long long)xc->cal_rows, (long long)xc->cal_cols, xc->cal_read_energy_pj,
                        m->xbar.read_scale);
    else
        arch_part_basis(&m->part[IMA_PART_XBAR],
                        "scaled from %lldx%lld calibration: %.4g pJ/read (k = %.4g), area x%.4g",
                        (long long)xc->cal_rows, (long long)xc->cal_cols, m->xbar.read_energy_pj,
                        m->xbar.read_scale, m->xbar.geometry_factor);
    const reg_model *rg[2] = {&m->in_reg, &m->out_reg};
    for (int i = 0; i < 2; i++) {
        arch_part *p = &m->part[i ? IMA_PART_OUT_REG : IMA_PART_IN_REG];
        if (rg[i]->cfg.size == rg[i]->cfg.cal_size)
            arch_part_basis(p, "given at %g B", rg[i]->cfg.cal_size);
        else
            arch_part_basis(p, "scaled from %g B: energy x%.4g, area x%.4g", rg[i]->cfg.cal_size,
                            rg[i]->energy_factor, rg[i]->area_factor);
    }
    for (int i = 0; i < IMA_NPARTS; i++)
        arch_cost_add(&m->cost, m->part[i].total);
    return ES_OK;
}
