/* cell.c - the ReRAM cell model's common part: parameters from the configuration, checks,
 * conductance levels, read energy, endurance, and the registry of implementations. */
#include <math.h>
#include <string.h>

#include "cell.h"
#include "lifetime.h"

/* The registry: a new cell model is one file (cell_NAME.c) and its entry here (and its name among
 * the choices of arch.cell.impl in sim/cfg_sections.c; test_arch checks that they agree). */
extern const cell_ops cell_rram_neurosim_ops, cell_rram_puma_ops;
static const cell_ops *const impls[] = {&cell_rram_neurosim_ops, &cell_rram_puma_ops};

const cell_ops *cell_impl_find(const char *name)
{
    for (size_t i = 0; name && i < ES_ARRAY_LEN(impls); i++)
        if (!strcmp(impls[i]->name, name)) return impls[i];
    return NULL;
}

size_t cell_impl_count(void)
{
    return ES_ARRAY_LEN(impls);
}

const cell_ops *cell_impl_at(size_t i)
{
    return i < ES_ARRAY_LEN(impls) ? impls[i] : NULL;
}

void cell_config_from(const essim_config *cfg, const cfg_doc *doc, cell_config *c)
{
    memset(c, 0, sizeof *c);
    c->impl = cfg_choice_name("arch.cell.impl", cfg->arch.cell.impl);
    c->bits_per_cell = cfg->arch.xbar.bits_per_cell;
    c->line_cells = cfg->arch.xbar.rows;
    c->read_voltage_v = cfg->arch.cell.read_voltage_v;
    c->read_pulse_ps = cfg->arch.cell.read_pulse_ps;
    c->write_voltage_v = cfg->arch.cell.write_voltage_v;
    c->write_pulse_ps = cfg->arch.cell.write_pulse_ps;
    c->r_on_ohm = cfg->arch.cell.r_on_ohm;
    c->r_off_ohm = cfg->arch.cell.r_off_ohm;
    c->write_pulses = cfg->arch.cell.write_pulses;
    c->wire_cap_f = cfg->arch.cell.wire_cap_f;
    c->endurance_mean = cfg->arch.cell.endurance_mean;
    c->endurance_sigma_log10 = cfg->arch.cell.endurance_sigma_log10;
    c->puma_row_write_ps = cfg->arch.cell.puma.row_write_ps;
    c->puma_cell_write_pj = cfg->arch.cell.puma.cell_write_pj;
    c->doc = doc;
}

int cell_init(cell_model *m, const cell_config *c, es_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    m->ops = cell_impl_find(c->impl);
    if (!m->ops || m->ops->version != CELL_OPS_VERSION) {
        char known[128] = "";
        size_t n = 0;
        for (size_t i = 0; i < ES_ARRAY_LEN(impls) && n < sizeof known; i++)
            n += (size_t)snprintf(known + n, sizeof known - n, "%s%s", i ? ", " : "",
                                  impls[i]->name);
        return arch_fail_key(err, c->doc, "arch.cell.impl",
                             "arch.cell.impl: unknown cell model '%s' (known: %s)",
                             c->impl ? c->impl : "(none)", known);
    }
    if (c->bits_per_cell < 1 || c->bits_per_cell > 16)
        return arch_fail_key(err, c->doc, "arch.xbar.bits_per_cell",
                             "arch.xbar.bits_per_cell = %lld: a cell stores 1 to 16 bits",
                             (long long)c->bits_per_cell);
    if (!(c->r_on_ohm > 0) || !(c->r_off_ohm > c->r_on_ohm))
        return arch_fail_key(err, c->doc, "arch.cell.r_off",
                             "arch.cell.r_off must be larger than arch.cell.r_on (> 0)");
    if (!(c->read_voltage_v > 0) || !(c->read_pulse_ps > 0))
        return arch_fail_key(
            err, c->doc, c->read_voltage_v > 0 ? "arch.cell.read_pulse" : "arch.cell.read_voltage",
            "arch.cell.read_voltage and arch.cell.read_pulse must be > 0: a "
            "cell cannot be read (or verified) without them");
    if (!(c->endurance_mean >= 1) || !(c->endurance_sigma_log10 >= 0))
        return arch_fail_key(err, c->doc, "arch.cell.endurance_mean",
                             "arch.cell.endurance_mean must be >= 1 and "
                             "arch.cell.endurance_sigma_log10 >= 0");
    m->levels = 1 << c->bits_per_cell;
    m->g_on_s = 1.0 / c->r_on_ohm;
    m->g_off_s = 1.0 / c->r_off_ohm;
    m->g_mean_s = 0.5 * (m->g_on_s + m->g_off_s);
    m->line_cap_f = (double)c->line_cells * c->wire_cap_f;
    /* V^2 x S x ps is pJ; V^2 x F is J, hence the 1e12. */
    m->read_energy_pj = c->read_voltage_v * c->read_voltage_v *
                        (m->g_mean_s * c->read_pulse_ps + m->line_cap_f * 1e12);
    m->endurance_sigma_log10 = c->endurance_sigma_log10;
    m->endurance_mu_log10 = life_mu_log10(c->endurance_mean, c->endurance_sigma_log10);
    m->endurance_mu_log2 = m->endurance_mu_log10 * 3.321928094887362347870; /* log2 10 */
    m->endurance_sigma_log2 = m->endurance_sigma_log10 * 3.321928094887362347870;
    return m->ops->derive(m, err);
}

double cell_level_conductance(const cell_model *m, int level)
{
    if (level < 0) level = 0;
    if (level > m->levels - 1) level = m->levels - 1;
    return m->g_off_s + (m->g_on_s - m->g_off_s) * (double)level / (double)(m->levels - 1);
}

double cell_pulse_energy_pj(const cell_model *m, int level)
{
    return m->ops->pulse_energy_pj(m, level);
}

/* 10^(mu + sigma z) as 2^(mu' + sigma' z): the same value to a few units in the last place of a
 * double (the wear model keeps it as a float), at a third of pow's cost for the millions of
 * cells a replicated chip draws. */
double cell_endurance(const cell_model *m, double z)
{
    return exp2(m->endurance_mu_log2 + m->endurance_sigma_log2 * z);
}
