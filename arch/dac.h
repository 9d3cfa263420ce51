/* dac.h - the DAC that drives one crossbar row with input bits each read cycle (ISAAC streams
 * inputs bit-serially, so a 1-bit DAC is a row driver). The IMA has one per row of every
 * crossbar (xbars x rows). A b-bit DAC is priced as 2^b - 1 unit drivers (thermometer-coded;
 * a 1-bit DAC is one), each costing the 1-bit figures:
 *   units          = 2^bits - 1
 *   drive_energy   = units x arch.dac.drive_energy     one row, one read cycle
 *   area, leakage  = units x (1-bit area, leakage)
 *   power          = drive_energy / read cycle + leakage   (driving every read cycle; the IMA
 *                                                           sets its read cycle)
 *   latency: within the read cycle (0 extra)
 * The op stream applies one input bit per read cycle (traces/lop.h): bits > 1 prices a wider
 * DAC but does not shorten an MVM. Area and power are per DAC. */
#ifndef ES_DAC_H
#define ES_DAC_H

#include "arch_util.h"

typedef struct dac_config {
    int64_t bits;
    double drive_energy_pj; /* 1-bit, one drive */
    double leak_w;          /* 1-bit */
    double area_mm2;        /* 1-bit */
    double cycle_ps;        /* crossbar read cycle */
    const cfg_doc *doc;
} dac_config;

typedef struct dac_model {
    dac_config cfg;
    double units;           /* 2^bits - 1 */
    arch_cost cost;         /* one DAC */
    double drive_energy_pj; /* one row, one read cycle */
} dac_model;

void dac_config_from(const essim_config *cfg, const cfg_doc *doc, dac_config *c);
int dac_init(dac_model *m, const dac_config *c, es_err *err);
/* Full activity at the IMA's read cycle (ps): power = drive_energy / cycle + leakage. */
void dac_set_cycle(dac_model *m, double cycle_ps);

#endif
