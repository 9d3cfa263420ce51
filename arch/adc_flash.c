/* adc_flash.c - `arch.adc.impl: flash`: 2^bits - 1 comparators decide in parallel on every
 * conversion, so energy, area and leakage grow with 2^bits and do not shrink when fewer bits
 * matter. NeuroSim's multilevel sense amplifier is of this kind. See adc.h. */
#include <math.h>

#include "adc.h"

static double energy(const adc_model *m, int bits)
{
    (void)bits; /* every comparator fires whatever the result */
    return m->conversion_energy_pj;
}

static int derive(adc_model *m, es_err *err)
{
    const adc_config *c = &m->cfg;
    if (!(c->comparator_energy_pj >= 0) || !(c->comparator_area_mm2 >= 0) ||
        !(c->comparator_leak_w >= 0))
        return arch_fail_key(err, c->doc, "arch.adc.flash",
                             "arch.adc.flash: comparator energy, area and leakage must be >= 0");
    double n = ldexp(1.0, (int)c->bits) - 1.0;
    m->conversion_energy_pj = n * c->comparator_energy_pj;
    m->cost.area_mm2 = n * c->comparator_area_mm2;
    m->cost.leak_w = n * c->comparator_leak_w;
    /* pJ x 1/s x 1e-12 = W */
    m->cost.power_w = m->conversion_energy_pj * c->sample_rate_hz * 1e-12 + m->cost.leak_w;
    return ES_OK;
}

const adc_ops adc_flash_ops = {ADC_OPS_VERSION, "flash",
                               "2^bits - 1 comparators per conversion (flash / multilevel sense "
                               "amplifier)",
                               derive, energy};
