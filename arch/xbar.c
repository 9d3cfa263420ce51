/* xbar.c - crossbar read and row-write costs: the read energy from the array's physics,
 * calibrated at a published crossbar (see xbar.h). */
#include <string.h>

#include "xbar.h"

void xbar_config_from(const essim_config *cfg, const cfg_doc *doc, xbar_config *c)
{
    memset(c, 0, sizeof *c);
    c->rows = cfg->arch.xbar.rows;
    c->cols = cfg->arch.xbar.cols;
    c->leak_w = cfg->arch.xbar.leakage_w;
    c->area_mm2 = cfg->arch.xbar.area_mm2;
    c->cal_rows = cfg->arch.xbar.cal.rows;
    c->cal_cols = cfg->arch.xbar.cal.cols;
    c->cal_read_energy_pj = cfg->arch.xbar.cal.read_energy_pj;
    c->cal_read_voltage_v = cfg->arch.xbar.cal.read_voltage_v;
    c->cal_read_pulse_ps = cfg->arch.xbar.cal.read_pulse_ps;
    c->cal_r_on_ohm = cfg->arch.xbar.cal.r_on_ohm;
    c->cal_r_off_ohm = cfg->arch.xbar.cal.r_off_ohm;
    c->cycle_ps = cfg->arch.chip.xbar_cycle_ps;
    c->doc = doc;
}

double xbar_physics_read_pj(double rows, double cols, double v, double g_mean_s, double pulse_ps,
                            double pitch_cap_f)
{
    /* V^2 x S x ps = pJ; V^2 x F x 1e12 = pJ. */
    return rows * cols * v * v * (g_mean_s * pulse_ps + 2.0 * pitch_cap_f * 1e12);
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
    if (c->cal_rows < 1 || c->cal_cols < 1)
        return arch_fail_key(err, c->doc, "arch.xbar.cal.rows",
                             "arch.xbar.cal.rows and cal.cols must be >= 1");
    if (!(c->cal_r_on_ohm > 0) || !(c->cal_r_off_ohm >= c->cal_r_on_ohm))
        return arch_fail_key(err, c->doc, "arch.xbar.cal.r_off",
                             "arch.xbar.cal.r_off must be >= arch.xbar.cal.r_on (> 0)");
    if (!(c->leak_w >= 0))
        return arch_fail_key(err, c->doc, "arch.xbar.leakage", "arch.xbar.leakage must be >= 0");

    /* The calibration: k makes the formula give the published read at the published point,
     * with this configuration's line capacitance (a property of the process, not the cell). */
    double wire = cell->cfg.wire_cap_f;
    double g_cal = 0.5 * (1.0 / c->cal_r_on_ohm + 1.0 / c->cal_r_off_ohm);
    double e_cal = xbar_physics_read_pj((double)c->cal_rows, (double)c->cal_cols,
                                        c->cal_read_voltage_v, g_cal, c->cal_read_pulse_ps, wire);
    m->read_scale = e_cal > 0 ? c->cal_read_energy_pj / e_cal : 0.0;
    m->physics_read_energy_pj =
        xbar_physics_read_pj((double)c->rows, (double)c->cols, cell->cfg.read_voltage_v,
                             cell->g_mean_s, cell->cfg.read_pulse_ps, wire);
    m->read_energy_pj = m->read_scale * m->physics_read_energy_pj;
    m->geometry_factor =
        (double)c->rows * (double)c->cols / ((double)c->cal_rows * (double)c->cal_cols);
    m->at_calibration = c->rows == c->cal_rows && c->cols == c->cal_cols &&
                        cell->cfg.read_voltage_v == c->cal_read_voltage_v &&
                        cell->cfg.read_pulse_ps == c->cal_read_pulse_ps &&
                        cell->cfg.r_on_ohm == c->cal_r_on_ohm &&
                        cell->cfg.r_off_ohm == c->cal_r_off_ohm;

    /* Cells (and their access devices) leak and take room in proportion to their number. */
    m->cost.area_mm2 = c->area_mm2 * m->geometry_factor;
    m->cost.leak_w = c->leak_w * m->geometry_factor;
    /* pJ / ps = W */
    m->cost.power_w = m->read_energy_pj / c->cycle_ps + m->cost.leak_w;
    m->read_latency_ps = arch_ps(c->cycle_ps);
    double cells = (double)c->rows * (double)c->cols;
    m->cell_read_energy_pj = cells * cell->read_energy_pj;
    m->cell_write_energy_pj = cell->write_energy_pj + cell->pulses * wd->cfg.pulse_energy_pj;
    m->row_write_energy_pj = (double)c->cols * m->cell_write_energy_pj;
    m->row_write_latency_ps = cell->write_latency_ps;
    m->pulse_cell_energy_pj = cell->pulse_energy_pj + wd->cfg.pulse_energy_pj;
    m->pulse_latency_ps = arch_ps(cell->cfg.write_pulse_ps);
    /* pJ / ps = W */
    m->write_power_w =
        m->row_write_latency_ps ? m->row_write_energy_pj / (double)m->row_write_latency_ps : 0.0;
    return ES_OK;
}

double xbar_row_write_energy_pj(const xbar_model *m, uint64_t cells)
{
    return (double)cells * m->cell_write_energy_pj;
}
