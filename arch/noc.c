/* noc.c - the on-chip network's common part: configuration, registry, per-transfer costs. */
#include <string.h>

#include "noc.h"

#include <stdio.h>

/* The registry: a new network model is one file (noc_NAME.c) and its entry here (and its name
 * among the choices of arch.noc.impl in sim/cfg_sections.c; test_arch checks that they agree). */
extern const noc_ops noc_cmesh_ops;
static const noc_ops *const impls[] = {&noc_cmesh_ops};

const noc_ops *noc_impl_find(const char *name)
{
    for (size_t i = 0; name && i < ES_ARRAY_LEN(impls); i++)
        if (!strcmp(impls[i]->name, name)) return impls[i];
    return NULL;
}

size_t noc_impl_count(void)
{
    return ES_ARRAY_LEN(impls);
}

const noc_ops *noc_impl_at(size_t i)
{
    return i < ES_ARRAY_LEN(impls) ? impls[i] : NULL;
}

void noc_config_from(const essim_config *cfg, const cfg_doc *doc, noc_config *c)
{
    memset(c, 0, sizeof *c);
    c->impl = cfg_choice_name("arch.noc.impl", cfg->arch.noc.impl);
    c->tiles = cfg->arch.chip.tiles;
    c->tiles_per_router = cfg->arch.noc.tiles_per_router;
    router_config_from(cfg, doc, &c->router);
    link_config_from(cfg, doc, &c->link);
    c->doc = doc;
}

int noc_init(noc_model *m, const noc_config *c, es_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    m->ops = noc_impl_find(c->impl);
    if (!m->ops || m->ops->version != NOC_OPS_VERSION) {
        char known[128] = "";
        size_t n = 0;
        for (size_t i = 0; i < ES_ARRAY_LEN(impls) && n < sizeof known; i++)
            n += (size_t)snprintf(known + n, sizeof known - n, "%s%s", i ? ", " : "",
                                  impls[i]->name);
        return arch_fail_key(err, c->doc, "arch.noc.impl",
                             "arch.noc.impl: unknown network model '%s' (known: %s)",
                             c->impl ? c->impl : "(none)", known);
    }
    if (c->tiles < 1 || c->tiles_per_router < 1)
        return arch_fail_key(err, c->doc, "arch.noc.tiles_per_router",
                             "the network needs at least one tile and one tile per router");
    ES_TRY(router_init(&m->router, &c->router, err));
    ES_TRY(link_init(&m->link, &c->link, err));
    ES_TRY(m->ops->derive(m, err));
    m->hop_energy_pj = m->router.flit_energy_pj + m->link.flit_energy_pj;
    m->hop_latency_ps = m->router.latency_ps + m->link.latency_ps;
    m->cost = arch_cost_times(m->router.cost, (double)m->routers);
    arch_cost_add(&m->cost, arch_cost_times(m->link.cost, (double)m->links));
    return ES_OK;
}

uint64_t noc_hops(const noc_model *m, uint64_t a, uint64_t b)
{
    return m->ops->hops(m, a, b);
}

double noc_flit_energy_pj(const noc_model *m, uint64_t a, uint64_t b)
{
    uint64_t h = noc_hops(m, a, b);
    return (double)(h + 1) * m->router.flit_energy_pj + (double)h * m->link.flit_energy_pj;
}

sim_time noc_flit_latency_ps(const noc_model *m, uint64_t a, uint64_t b)
{
    uint64_t h = noc_hops(m, a, b);
    return (h + 1) * m->router.latency_ps + h * m->link.latency_ps;
}

uint64_t noc_flits(const noc_model *m, uint64_t bytes)
{
    uint64_t fb = (uint64_t)m->cfg.router.flit_bits;
    return (bytes * 8 + fb - 1) / fb;
}

double noc_transfer_energy_pj(const noc_model *m, uint64_t a, uint64_t b, uint64_t bytes)
{
    return (double)noc_flits(m, bytes) * noc_flit_energy_pj(m, a, b);
}

sim_time noc_transfer_latency_ps(const noc_model *m, uint64_t a, uint64_t b, uint64_t bytes)
{
    uint64_t f = noc_flits(m, bytes);
    if (!f) return 0;
    return noc_flit_latency_ps(m, a, b) + (f - 1) * sim_period_from_hz(m->cfg.router.clock_hz);
}
