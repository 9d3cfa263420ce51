/* adc.c - the ADC model's common part: parameters, sharing checks, timing and the registry. */
#include <string.h>

#include "adc.h"

/* The registry: a new ADC model is one file (adc_NAME.c) and its entry here (and its name among
 * the choices of arch.adc.impl in sim/cfg_sections.c; test_arch checks that the two agree). */
extern const adc_ops adc_sar_ops, adc_flash_ops;
static const adc_ops *const impls[] = {&adc_sar_ops, &adc_flash_ops};

const adc_ops *adc_impl_find(const char *name)
{
    for (size_t i = 0; name && i < ES_ARRAY_LEN(impls); i++)
        if (!strcmp(impls[i]->name, name)) return impls[i];
    return NULL;
}

size_t adc_impl_count(void)
{
    return ES_ARRAY_LEN(impls);
}

const adc_ops *adc_impl_at(size_t i)
{
    return i < ES_ARRAY_LEN(impls) ? impls[i] : NULL;
}

void adc_config_from(const essim_config *cfg, const cfg_doc *doc, adc_config *c)
{
    memset(c, 0, sizeof *c);
    c->impl = cfg_choice_name("arch.adc.impl", cfg->arch.adc.impl);
    c->bits = cfg->arch.adc.bits;
    c->sample_rate_hz = cfg->arch.adc.sample_rate_hz;
    c->cols_per_adc = cfg->arch.adc.cols_per_adc;
    c->xbar_cols = cfg->arch.xbar.cols;
    c->fom_pj = cfg->arch.adc.fom_pj;
    c->leak_w = cfg->arch.adc.leakage_w;
    c->area_mm2 = cfg->arch.adc.area_mm2;
    c->ref_bits = cfg->arch.adc.ref_bits;
    c->comparator_energy_pj = cfg->arch.adc.flash.comparator_energy_pj;
    c->comparator_area_mm2 = cfg->arch.adc.flash.comparator_area_mm2;
    c->comparator_leak_w = cfg->arch.adc.flash.comparator_leakage_w;
    c->doc = doc;
}

/* A few divisors of n to suggest, e.g. "128, 64, 32, 16 or 8". */
static void divisors(int64_t n, char *buf, size_t len)
{
    int64_t d[5];
    int k = 0;
    for (int64_t v = n; v >= 1 && k < 5; v--)
        if (n % v == 0) d[k++] = v;
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < k && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%lld",
                              i == 0       ? ""
                              : i == k - 1 ? " or "
                                           : ", ",
                              (long long)d[i]);
}

int adc_init(adc_model *m, const adc_config *c, es_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    m->ops = adc_impl_find(c->impl);
    if (!m->ops || m->ops->version != ADC_OPS_VERSION) {
        char known[128] = "";
        size_t n = 0;
        for (size_t i = 0; i < ES_ARRAY_LEN(impls) && n < sizeof known; i++)
            n += (size_t)snprintf(known + n, sizeof known - n, "%s%s", i ? ", " : "",
                                  impls[i]->name);
        return arch_fail_key(err, c->doc, "arch.adc.impl",
                             "arch.adc.impl: unknown ADC model '%s' (known: %s)",
                             c->impl ? c->impl : "(none)", known);
    }
    char sugg[96];
    divisors(c->xbar_cols, sugg, sizeof sugg);
    if (c->cols_per_adc < 1)
        return arch_fail_key(err, c->doc, "arch.adc.cols_per_adc",
                             "arch.adc.cols_per_adc = %lld leaves the crossbars with zero ADCs: "
                             "set it to a divisor of arch.xbar.cols = %lld (%s; ISAAC: one ADC "
                             "per crossbar, NeuroSim: 8)",
                             (long long)c->cols_per_adc, (long long)c->xbar_cols, sugg);
    if (c->xbar_cols % c->cols_per_adc != 0)
        return arch_fail_key(err, c->doc, "arch.adc.cols_per_adc",
                             "arch.adc.cols_per_adc = %lld does not divide arch.xbar.cols = %lld "
                             "(an ADC serves columns of one crossbar): use %s",
                             (long long)c->cols_per_adc, (long long)c->xbar_cols, sugg);
    if (c->bits < 1 || c->bits > 16)
        return arch_fail_key(err, c->doc, "arch.adc.bits", "arch.adc.bits must be 1 to 16");
    if (!(c->sample_rate_hz > 0))
        return arch_fail_key(err, c->doc, "arch.adc.sample_rate",
                             "arch.adc.sample_rate must be > 0");
    m->per_xbar = (uint64_t)(c->xbar_cols / c->cols_per_adc);
    m->conversion_latency_ps = arch_ps(1e12 / c->sample_rate_hz);
    m->xbar_read_time_ps = arch_ps((double)c->cols_per_adc * 1e12 / c->sample_rate_hz);
    return m->ops->derive(m, err);
}

double adc_conversion_energy_pj(const adc_model *m, int bits)
{
    if (bits < 1) bits = 1;
    if (bits > m->cfg.bits) bits = (int)m->cfg.bits;
    return m->ops->energy_pj(m, bits);
}
