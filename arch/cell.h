/* cell.h - the ReRAM cell: conductance levels, read and write pulses, program-and-verify
 * writes and endurance. The crossbar model (xbar.h) prices reads and row writes from it; the
 * wear model draws every cell's endurance from it. Alternatives, selected by `arch.cell.impl`,
 * are one file each behind cell_ops:
 *   rram-neurosim (cell_neurosim.c)  physics, NeuroSim's write-energy model:
 *       levels L = 2^bits_per_cell, G_l = G_off + (G_on - G_off) l / (L - 1),  G = 1/R;
 *       C_line = line_cells x wire_cap  (the line one pulse charges: a crossbar column);
 *       write pulse on level l:  E_w(l) = V_w^2 (G_l t_w + C_line)             (1T1R: no
 *                                                                   half-select terms);
 *       read (or verify) pulse:  E_r = V_r^2 (G_mean t_r + C_line),  G_mean = (G_on + G_off)/2;
 *       a cell write is `pulses` program-and-verify iterations, each a write pulse and a
 *       verify read:  E_cell = pulses x (E_w(mean) + E_r),  E_w(mean) = V_w^2 (G_mean t_w +
 *       C_line) since E_w is linear in l;
 *       a row segment is written with all its cells in parallel: t_row = pulses x (t_w + t_r).
 *   rram-puma (cell_puma.c)  puma-simulator's lumped constants for a whole crossbar write with
 *       its periphery: E_cell = cell_write, t_row = row_write, pulses = 1, no verify; reads as
 *       rram-neurosim.
 * Endurance is lognormal: log10(E) ~ N(mu, sigma) with sigma = endurance_sigma_log10 and mu
 * chosen so that the mean of E is endurance_mean: mu = log10(mean) - sigma^2 ln(10) / 2.
 *
 * Energies in pJ (V^2 x S x ps = pJ; V^2 x F x 1e12 = pJ), times in ps. */
#ifndef ES_CELL_H
#define ES_CELL_H

#include <stddef.h>
#include <stdint.h>

#include "arch_util.h"
#include "cfg.h"
#include "es_common.h"
#include "sim_kernel.h"

typedef struct cell_config {
    const char *impl;      /* implementation name, e.g. "rram-neurosim" (borrowed) */
    int64_t bits_per_cell; /* levels = 2^bits_per_cell */
    int64_t line_cells;    /* cells along the line one pulse charges (crossbar rows) */
    double read_voltage_v, read_pulse_ps;
    double write_voltage_v, write_pulse_ps;
    double r_on_ohm, r_off_ohm;
    double write_pulses;   /* mean program-and-verify iterations per cell write (>= 1) */
    double wire_cap_f;     /* line capacitance per cell pitch */
    double endurance_mean; /* mean write cycles before failure */
    double endurance_sigma_log10;
    double puma_row_write_ps;  /* rram-puma only */
    double puma_cell_write_pj; /* rram-puma only */
    const cfg_doc *doc;        /* for error positions; may be NULL (borrowed) */
} cell_config;

typedef struct cell_model cell_model;

#define CELL_OPS_VERSION 1

/* One cell implementation. */
typedef struct cell_ops {
    int version; /* CELL_OPS_VERSION */
    const char *name;
    const char *summary;
    /* Check the implementation's parameters and fill pulses, pulse_energy_pj,
     * verify_energy_pj, write_energy_pj and write_latency_ps of m (everything else is set). */
    int (*derive)(cell_model *m, es_err *err);
    /* Energy (pJ) of one write pulse on a cell at conductance level `level` (0 = G_off). */
    double (*pulse_energy_pj)(const cell_model *m, int level);
} cell_ops;

/* The derived figures; read-only after cell_init. */
struct cell_model {
    cell_config cfg;
    const cell_ops *ops;
    int levels;                /* 2^bits_per_cell */
    double g_on_s, g_off_s;    /* 1 / r_on, 1 / r_off */
    double g_mean_s;           /* (g_on + g_off) / 2 */
    double line_cap_f;         /* line_cells x wire_cap_f */
    double read_energy_pj;     /* one read pulse of one cell: V_r^2 (G_mean t_r + C_line) */
    double pulses;             /* mean pulses per cell write */
    double pulse_energy_pj;    /* mean write pulse energy over the levels */
    double verify_energy_pj;   /* one verify read of one cell */
    double write_energy_pj;    /* one cell write: pulses x (pulse + verify) */
    sim_time write_latency_ps; /* one row segment, cells in parallel: pulses x (t_w + t_r) */
    double endurance_mu_log10, endurance_sigma_log10;
    double endurance_mu_log2, endurance_sigma_log2; /* the same in log2: exp2 is cheaper */
};

/* The cell parameters of a bound configuration (arch.cell.*, arch.xbar.bits_per_cell and
 * arch.xbar.rows as the line length). doc may be NULL. */
void cell_config_from(const essim_config *cfg, const cfg_doc *doc, cell_config *c);

/* Check c and derive the model. ES_ECONFIG naming the key to change: an unknown impl (the
 * message lists the known ones), r_off <= r_on, zero pulse widths or voltages, fewer than one
 * pulse per write. c is copied (impl and doc stay borrowed). */
int cell_init(cell_model *m, const cell_config *c, es_err *err);

/* Conductance (S) of level l, 0 <= l < levels (clamped). */
double cell_level_conductance(const cell_model *m, int level);
/* Energy (pJ) of one write pulse on a cell at level l (the implementation's formula). */
double cell_pulse_energy_pj(const cell_model *m, int level);
/* Endurance (write cycles) of a cell whose standard-normal draw is z:
 * 10^(mu + sigma z). The wear model passes z from its own seeded stream. */
double cell_endurance(const cell_model *m, double z);

/* The implementations, by name (NULL if unknown), and by index for listing. */
const cell_ops *cell_impl_find(const char *name);
size_t cell_impl_count(void);
const cell_ops *cell_impl_at(size_t i);

extern const cell_ops cell_rram_neurosim_ops;
extern const cell_ops cell_rram_puma_ops;

#endif
