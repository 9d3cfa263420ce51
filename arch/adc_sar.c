/* adc_sar.c - `arch.adc.impl: sar`: a successive-approximation ADC priced by the Walden figure
 * of merit: energy per conversion = fom x 2^bits, power = that x sample rate + leakage (so the
 * power follows the sample rate and the energy per conversion does not); leakage and area
 * given at a reference resolution (ISAAC's 8-bit SAR) and doubling per bit. One comparison per
 * bit, so a conversion that needs fewer bits costs proportionally less. See adc.h. */
#include "adc.h"

#include <math.h>

static double energy(const adc_model *m, int bits)
{
    return m->conversion_energy_pj * (double)bits / (double)m->cfg.bits;
}

static int derive(adc_model *m, es_err *err)
{
    const adc_config *c = &m->cfg;
    if (!(c->fom_pj >= 0))
        return arch_fail_key(err, c->doc, "arch.adc.fom", "arch.adc.fom must be >= 0");
    if (!(c->leak_w >= 0))
        return arch_fail_key(err, c->doc, "arch.adc.leakage", "arch.adc.leakage must be >= 0");
    double f = ldexp(1.0, (int)(c->bits - (c->ref_bits > 0 ? c->ref_bits : c->bits)));
    m->conversion_energy_pj = c->fom_pj * ldexp(1.0, (int)c->bits);
    m->cost.area_mm2 = f * c->area_mm2;
    m->cost.leak_w = f * c->leak_w;
    /* pJ x 1/s x 1e-12 = W */
    m->cost.power_w = m->conversion_energy_pj * c->sample_rate_hz * 1e-12 + m->cost.leak_w;
    return ES_OK;
}

const adc_ops adc_sar_ops = {ADC_OPS_VERSION, "sar",
                             "successive approximation: Walden figure of merit x 2^bits per "
                             "conversion",
                             derive, energy};
