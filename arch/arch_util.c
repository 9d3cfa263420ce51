/* arch_util.c - cost arithmetic, roll-up parts, power-to-energy conversion and key-located
 * configuration errors shared by the component models of arch/. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arch_util.h"

arch_cost arch_cost_times(arch_cost c, double n)
{
    arch_cost r = {c.area_mm2 * n, c.power_w * n, c.leak_w * n};
    return r;
}

void arch_cost_add(arch_cost *acc, arch_cost c)
{
    acc->area_mm2 += c.area_mm2;
    acc->power_w += c.power_w;
    acc->leak_w += c.leak_w;
}

void arch_part_set(arch_part *p, const char *name, double count, arch_cost each, const char *spec,
                   ...)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    if (spec) {
        va_list ap;
        va_start(ap, spec);
        vsnprintf(p->spec, sizeof p->spec, spec, ap);
        va_end(ap);
    }
    snprintf(p->basis, sizeof p->basis, "given");
    p->count = count;
    p->each = each;
    p->total = arch_cost_times(each, count);
}

void arch_part_basis(arch_part *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->basis, sizeof p->basis, fmt, ap);
    va_end(ap);
}

double arch_size_factor(double size, double cal_size, double exponent)
{
    if (!(size > 0.0) || !(cal_size > 0.0)) return 1.0;
    return pow(size / cal_size, exponent);
}

double arch_action_energy_pj(double power_w, double leak_w, double rate_hz)
{
    if (!(rate_hz > 0.0)) return 0.0;
    /* W / (1/s) = J; x 1e12 for pJ. */
    return (power_w - leak_w) / rate_hz * 1e12;
}

sim_time arch_ps(double ps)
{
    if (!(ps > 0.0)) return 0;
    if (ps >= 1.8e19) return SIM_TIME_MAX;
    return (sim_time)(ps + 0.5);
}

/* The value node of a dotted path in the document, or NULL. */
static const cfg_node *find_key(const cfg_doc *doc, const char *path)
{
    if (!doc) return NULL;
    const cfg_node *n = cfg_doc_root(doc);
    char part[128];
    const char *p = path;
    while (n && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len >= sizeof part || n->kind != CFG_MAP) return NULL;
        memcpy(part, p, len);
        part[len] = '\0';
        n = cfg_map_get(n, part);
        p = dot ? dot + 1 : p + len;
    }
    return n;
}

int arch_fail_key(es_err *err, const cfg_doc *doc, const char *path, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const cfg_node *n = find_key(doc, path);
    if (n) return es_fail_at(err, ES_ECONFIG, n->file, n->line, n->col, "%s", msg);
    return es_fail(err, ES_ECONFIG, "%s", msg);
}

int arch_check_leak(const cfg_doc *doc, const char *power_key, const char *leak_key, double power_w,
                    double leak_w, es_err *err)
{
    if (leak_w >= 0.0 && leak_w <= power_w) return ES_OK;
    return arch_fail_key(err, doc, leak_key,
                         "%s = %g W exceeds %s = %g W: leakage is the static part of the power; "
                         "lower %s or raise %s",
                         leak_key, leak_w, power_key, power_w, leak_key, power_key);
}
