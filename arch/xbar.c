/* xbar.c - crossbar read and row-write costs. */
#include <string.h>

#include "xbar.h"

void xbar_config_from(const essim_config *cfg, const cfg_doc *doc, xbar_config *c)
{
    memset(c, 0, sizeof *c);
    c->rows = cfg->arch.xbar.rows;
    c->cols = cfg->arch.xbar.cols;
    c->read_power_w = cfg->arch.xbar.read_power_w;
    c->leak_w = cfg->arch.xbar.leakage_w;
    c->area_mm2 = cfg->arch.xbar.area_mm2;
    c->cycle_ps = cfg->arch.chip.xbar_cycle_ps;
    c->doc = doc;
}

int xbar_init(xbar_model *m, const xbar_config *c, const cell_model *cell, const wdrv_model *wd,
              es_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    if (c->rows < 1 || c->cols < 1)
        return arch_fail_key(err, c->doc, c->rows < 1 ? "arch.xbar.rows" : "arch.xbar.cols",
                             "a crossbar needs at least one row and one column");
    if (!(c->cycle_ps > 0))
        return arch_fail_key(err, c->doc, "arch.chip.xbar_cycle",
                             "arch.chip.xbar_cycle must be > 0");
    ES_TRY(arch_check_leak(c->doc, "arch.xbar.read_power", "arch.xbar.leakage", c->read_power_w,
                           c->leak_w, err));
    m->cost.area_mm2 = c->area_mm2;
    m->cost.power_w = c->read_power_w;
    m->cost.leak_w = c->leak_w;
    /* W x ps = pJ */
    m->read_energy_pj = (c->read_power_w - c->leak_w) * c->cycle_ps;
    m->read_latency_ps = arch_ps(c->cycle_ps);
    double cells = (double)c->rows * (double)c->cols;
    m->cell_read_energy_pj = cells * cell->read_energy_pj;
    m->cell_write_energy_pj = cell->write_energy_pj + cell->pulses * wd->cfg.pulse_energy_pj;
    m->row_write_energy_pj = (double)c->cols * m->cell_write_energy_pj;
    m->row_write_latency_ps = cell->write_latency_ps;
    /* pJ / ps = W */
    m->write_power_w =
        m->row_write_latency_ps ? m->row_write_energy_pj / (double)m->row_write_latency_ps : 0.0;
    return ES_OK;
}

double xbar_row_write_energy_pj(const xbar_model *m, uint64_t cells)
{
    return (double)cells * m->cell_write_energy_pj;
}
