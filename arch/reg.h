/* reg.h - registers: the IMA's input register (the input vectors the DACs stream bit by bit)
 * and output register (the outputs the shift-and-add accumulates), and the tile's output
 * register (the IMAs' results before activation and the eDRAM). Priced per byte accessed;
 * the published power is at full activity, bandwidth_bps bytes per second, which the composing
 * level derives from the organisation (ima.h, tile.h). power, leakage and area are given at
 * cal_size (ISAAC's sizes); at `size` they follow the size law of arch.sizing:
 *   ef = (size / cal_size)^energy_exponent   (0.5: CACTI-like, lines grow as sqrt(capacity))
 *   af = (size / cal_size)^area_exponent     (1: the cells dominate)
 *   area' = af x area,  leakage' = af x leakage,  power' = ef x (power - leakage) + leakage'
 *   byte_energy    = (power' - leakage') / bandwidth_bps
 *   access_latency = one cycle of arch.chip.clock
 * One register per level. */
#ifndef ES_REG_H
#define ES_REG_H

#include "arch_util.h"

typedef struct reg_config {
    const char *key; /* "arch.ima.in_reg", "arch.ima.out_reg", "arch.tile.out_reg" */
    double size;     /* bytes */
    double cal_size; /* bytes: power, leakage and area are given at this size */
    double energy_exp, area_exp;
    double power_w, leak_w, area_mm2;
    double clock_hz;
    double bandwidth_bps; /* bytes per second at full activity: set by the composing level */
    const cfg_doc *doc;
} reg_config;

typedef struct reg_model {
    reg_config cfg;
    arch_cost cost;
    double energy_factor, area_factor; /* the size law at size */
    double byte_energy_pj;
    sim_time access_latency_ps;
} reg_model;

void reg_config_ima_in(const essim_config *cfg, const cfg_doc *doc, reg_config *c);
void reg_config_ima_out(const essim_config *cfg, const cfg_doc *doc, reg_config *c);
void reg_config_tile_out(const essim_config *cfg, const cfg_doc *doc, reg_config *c);
int reg_init(reg_model *m, const reg_config *c, es_err *err);

#endif
