/* cell_puma.c - `arch.cell.impl: rram-puma`: puma-simulator's lumped write constants. puma
 * prices a whole 128 x 128 crossbar write (10.97us, 21.1nJ with periphery); we spread it over
 * rows (latency) and cells (energy), one "pulse" per cell and no separate verify. See cell.h. */
#include "cell.h"

static double pulse_energy(const cell_model *m, int level)
{
    (void)level; /* the constant is an average over whatever the cells held */
    return m->cfg.puma_cell_write_pj;
}

static int derive(cell_model *m, es_err *err)
{
    const cell_config *c = &m->cfg;
    if (!(c->puma_row_write_ps > 0))
        return arch_fail_key(err, c->doc, "arch.cell.puma.row_write",
                             "arch.cell.puma.row_write must be > 0 for rram-puma");
    if (!(c->puma_cell_write_pj >= 0))
        return arch_fail_key(err, c->doc, "arch.cell.puma.cell_write",
                             "arch.cell.puma.cell_write must be >= 0");
    m->pulses = 1.0;
    m->pulse_energy_pj = c->puma_cell_write_pj;
    m->verify_energy_pj = 0.0;
    m->write_energy_pj = c->puma_cell_write_pj;
    m->write_latency_ps = arch_ps(c->puma_row_write_ps);
    return ES_OK;
}

const cell_ops cell_rram_puma_ops = {
    CELL_OPS_VERSION, "rram-puma",
    "puma-simulator's whole-crossbar write constants spread per row and per cell", derive,
    pulse_energy};
