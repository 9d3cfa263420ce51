/* sh.h - the sample-and-hold that captures one crossbar column's current at the end of a read
 * cycle and holds it while the shared ADC converts the columns one after another. The IMA has
 * one per column of every crossbar (xbars x cols).
 *   sample_energy = (power - leakage) x cycle     one column, one read cycle
 *   latency: within the read cycle (0 extra)
 * Area and power are per sample-and-hold. */
#ifndef ES_SH_H
#define ES_SH_H

#include "arch_util.h"

typedef struct sh_config {
    double power_w;
    double leak_w;
    double area_mm2;
    double cycle_ps;
    const cfg_doc *doc;
} sh_config;

typedef struct sh_model {
    sh_config cfg;
    arch_cost cost;          /* one sample-and-hold */
    double sample_energy_pj; /* one column, one read cycle */
} sh_model;

void sh_config_from(const essim_config *cfg, const cfg_doc *doc, sh_config *c);
int sh_init(sh_model *m, const sh_config *c, es_err *err);

#endif
