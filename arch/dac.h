/* dac.h - the 1-bit DAC that drives one crossbar row with one input bit per read cycle (ISAAC
 * streams inputs bit-serially, so a DAC is a row driver). The IMA has one per row of every
 * crossbar (xbars x rows).
 *   drive_energy = (power - leakage) x cycle      one row driven for one read cycle
 *   latency: within the read cycle (0 extra)
 * Area and power are per DAC. */
#ifndef ES_DAC_H
#define ES_DAC_H

#include "arch_util.h"

typedef struct dac_config {
    double power_w; /* driving every read cycle */
    double leak_w;
    double area_mm2;
    double cycle_ps; /* crossbar read cycle */
    const cfg_doc *doc;
} dac_config;

typedef struct dac_model {
    dac_config cfg;
    arch_cost cost;         /* one DAC */
    double drive_energy_pj; /* one row, one read cycle */
} dac_model;

void dac_config_from(const essim_config *cfg, const cfg_doc *doc, dac_config *c);
int dac_init(dac_model *m, const dac_config *c, es_err *err);

#endif
