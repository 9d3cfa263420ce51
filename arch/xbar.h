/* xbar.h - one ReRAM crossbar of rows x cols cells: the cost of a read cycle (all rows driven
 * by one input bit, all columns settled) and of programming one row segment, and its area.
 * The IMA (ima.h) adds the periphery (DACs, sample-and-holds, ADCs, shift-and-add); the
 * cell (cell.h) and the write drivers (wdrv.h) give the write figures.
 *
 *   read_energy    = (read_power - leakage) x cycle      one read cycle (ISAAC style: the
 *                                                         published power is one read per cycle)
 *   read_latency   = cycle                                (arch.chip.xbar_cycle)
 *   cell_write_energy = cell.write_energy + cell.pulses x wdrv.pulse_energy
 *   row_write_energy(n cells) = n x cell_write_energy
 *   row_write_latency = cell.write_latency = pulses x (t_write + t_verify)   cells in parallel
 *   write_power    = cols x cell_write_energy / row_write_latency           one crossbar writing
 *   cell_read_energy = rows x cols x cell.read_energy    (physics estimate, for comparison)
 * Area and power are per crossbar. */
#ifndef ES_XBAR_H
#define ES_XBAR_H

#include <stdint.h>

#include "arch_util.h"
#include "cell.h"
#include "wdrv.h"

typedef struct xbar_config {
    int64_t rows, cols;
    double read_power_w; /* reading every cycle */
    double leak_w;
    double area_mm2;
    double cycle_ps; /* crossbar read cycle */
    const cfg_doc *doc;
} xbar_config;

typedef struct xbar_model {
    xbar_config cfg;
    arch_cost cost;        /* one crossbar */
    double read_energy_pj; /* one read cycle */
    sim_time read_latency_ps;
    double cell_read_energy_pj;  /* rows x cols x cell read pulse: physics estimate */
    double cell_write_energy_pj; /* one cell written, with its drivers */
    double row_write_energy_pj;  /* a full row of cols cells */
    sim_time row_write_latency_ps;
    double write_power_w; /* while one crossbar writes full rows back to back */
} xbar_model;

void xbar_config_from(const essim_config *cfg, const cfg_doc *doc, xbar_config *c);
/* cell and wd are read during the call only. */
int xbar_init(xbar_model *m, const xbar_config *c, const cell_model *cell, const wdrv_model *wd,
              es_err *err);
/* Energy (pJ) to program `cells` cells of one row segment: cells x cell_write_energy. */
double xbar_row_write_energy_pj(const xbar_model *m, uint64_t cells);

#endif
