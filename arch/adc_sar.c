/* adc_sar.c - `arch.adc.impl: sar`: a successive-approximation ADC given by its measured power
 * and area at its sample rate and a reference resolution (ISAAC's 8-bit, 1.28 GS/s SAR),
 * scaled to the configured bits by the Walden figure of merit. One comparison per bit, so a
 * conversion that needs fewer bits costs proportionally less. See adc.h. */
#include "adc.h"

#include <math.h>

static double energy(const adc_model *m, int bits)
{
    return m->conversion_energy_pj * (double)bits / (double)m->cfg.bits;
}

static int derive(adc_model *m, es_err *err)
{
    const adc_config *c = &m->cfg;
    ES_TRY(
        arch_check_leak(c->doc, "arch.adc.power", "arch.adc.leakage", c->power_w, c->leak_w, err));
    double f = ldexp(1.0, (int)(c->bits - (c->power_bits > 0 ? c->power_bits : c->bits)));
    m->cost.area_mm2 = f * c->area_mm2;
    m->cost.power_w = f * c->power_w;
    m->cost.leak_w = f * c->leak_w;
    m->conversion_energy_pj =
        arch_action_energy_pj(m->cost.power_w, m->cost.leak_w, c->sample_rate_hz);
    return ES_OK;
}

const adc_ops adc_sar_ops = {ADC_OPS_VERSION, "sar",
                             "successive approximation: measured power / sample rate per "
                             "conversion",
                             derive, energy};
