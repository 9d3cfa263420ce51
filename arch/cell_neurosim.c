/* cell_neurosim.c - `arch.cell.impl: rram-neurosim`: the write cost of a 1T1R ReRAM cell from
 * its physics, as NeuroSim models it: each pulse dissipates V^2 G t in the cell and V^2 C in
 * the line it charges; a write is a number of program-and-verify iterations. See cell.h. */
#include "cell.h"

static double pulse_energy(const cell_model *m, int level)
{
    double v = m->cfg.write_voltage_v;
    return v * v *
           (cell_level_conductance(m, level) * m->cfg.write_pulse_ps + m->line_cap_f * 1e12);
}

static int derive(cell_model *m, es_err *err)
{
    const cell_config *c = &m->cfg;
    if (!(c->write_voltage_v > 0) || !(c->write_pulse_ps > 0))
        return arch_fail_key(err, c->doc,
                             c->write_voltage_v > 0 ? "arch.cell.write_pulse"
                                                    : "arch.cell.write_voltage",
                             "arch.cell.write_voltage and arch.cell.write_pulse must be > 0 "
                             "for rram-neurosim: a cell cannot be programmed without them");
    if (!(c->write_pulses >= 1))
        return arch_fail_key(err, c->doc, "arch.cell.write_pulses",
                             "arch.cell.write_pulses = %g: a write takes at least one pulse",
                             c->write_pulses);
    m->pulses = c->write_pulses;
    /* E_w is linear in the level, so its mean over uniformly used levels is E_w at G_mean. */
    double v = c->write_voltage_v;
    m->pulse_energy_pj = v * v * (m->g_mean_s * c->write_pulse_ps + m->line_cap_f * 1e12);
    m->verify_energy_pj = m->read_energy_pj;
    m->write_energy_pj = m->pulses * (m->pulse_energy_pj + m->verify_energy_pj);
    m->write_latency_ps = arch_ps(m->pulses * (c->write_pulse_ps + c->read_pulse_ps));
    return ES_OK;
}

const cell_ops cell_rram_neurosim_ops = {
    CELL_OPS_VERSION, "rram-neurosim",
    "V^2 G t per write pulse plus V^2 C_wire, program-and-verify (NeuroSim write-energy model)",
    derive, pulse_energy};
