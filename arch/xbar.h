/* xbar.h - one ReRAM crossbar of rows x cols cells: the cost of a read cycle (all rows driven
 * by one input bit, all columns settled) and of programming one row segment, and its area.
 * The IMA (ima.h) adds the periphery (DACs, sample-and-holds, ADCs, shift-and-add); the
 * cell (cell.h) and the write drivers (wdrv.h) give the write figures.
 *
 * Read energy follows the geometry and the cell, calibrated at a published crossbar
 * (arch.xbar.cal.*: ISAAC's 128 x 128 read of 30 pJ, with the NeuroSim cell it is assumed
 * to have):
 *   physics(R, C, V, G, t) = R x C x V^2 x (G t + 2 C_pitch)   every cell conducts for the pulse;
 *                             a word line and a bit line segment of C_pitch per cell are charged
 *   k              = cal.read_energy / physics(cal.rows, cal.cols, cal.V, cal.G_mean, cal.t)
 *   read_energy    = k x physics(rows, cols, cell V_r, cell G_mean, cell t_r)    one read cycle
 *   area, leakage  = (given at cal.rows x cal.cols) x rows x cols / (cal.rows x cal.cols)
 *   power          = read_energy / cycle + leakage       (reading every cycle)
 *   read_latency   = cycle                                (arch.chip.xbar_cycle)
 * k absorbs what the ideal formula leaves out (input bits that are 0, the weights' spread of
 * conductances, the sensing scheme); it stays fixed while the geometry and cell vary. 
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
    double leak_w;   /* at the calibration geometry */
    double area_mm2; /* at the calibration geometry */
    int64_t cal_rows, cal_cols;
    double cal_read_energy_pj;
    double cal_read_voltage_v, cal_read_pulse_ps, cal_r_on_ohm, cal_r_off_ohm;
    double cycle_ps; /* crossbar read cycle */
    const cfg_doc *doc;
} xbar_config;

typedef struct xbar_model {
    xbar_config cfg;
    arch_cost cost;        /* one crossbar */
    double read_energy_pj; /* one read cycle: read_scale x physics_read_energy_pj */
    double physics_read_energy_pj; /* the uncalibrated formula at this geometry and cell */
    double read_scale;             /* k, fitted at the calibration point */
    double geometry_factor;        /* rows x cols / (cal.rows x cal.cols) */
    int at_calibration;            /* geometry and cell are the calibration point's */
    sim_time read_latency_ps;
    double cell_read_energy_pj;  /* rows x cols x cell read pulse: physics estimate */
    double cell_write_energy_pj; /* one cell written, with its drivers */
    double row_write_energy_pj;  /* a full row of cols cells */
    sim_time row_write_latency_ps;
    double write_power_w; /* while one crossbar writes full rows back to back */
    /* one incremental pulse (arch.cell.update pulse): a cell's pulse with its driver, no
       verify; a row's cells pulse in parallel for arch.cell.write_pulse */
    double pulse_cell_energy_pj;
    sim_time pulse_latency_ps;
} xbar_model;

/* The uncalibrated read energy (pJ) of a rows x cols array: rows x cols x V^2 x (G t + 2 C). */
double xbar_physics_read_pj(double rows, double cols, double v, double g_mean_s, double pulse_ps,
                            double pitch_cap_f);
void xbar_config_from(const essim_config *cfg, const cfg_doc *doc, xbar_config *c);
/* cell and wd are read during the call only. */
int xbar_init(xbar_model *m, const xbar_config *c, const cell_model *cell, const wdrv_model *wd,
              es_err *err);
/* Energy (pJ) to program `cells` cells of one row segment: cells x cell_write_energy. */
double xbar_row_write_energy_pj(const xbar_model *m, uint64_t cells);

#endif
