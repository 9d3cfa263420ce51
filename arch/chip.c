/* chip.c - the chip: composition of tiles, network, off-chip links and write budget; the
 * area/power roll-up and the peak throughput. */
#include <string.h>

#include "chip.h"

void chip_config_from(const essim_config *cfg, const cfg_doc *doc, chip_config *c)
{
    memset(c, 0, sizeof *c);
    c->name = cfg->arch.name ? cfg->arch.name : "";
    c->tiles = cfg->arch.chip.tiles;
    c->training = cfg->arch.training;
    c->power_gating = cfg->arch.chip.power_gating;
    c->wakeup_time_ps = cfg->arch.chip.wakeup_time_ps;
    c->wakeup_breakeven_ps = cfg->arch.chip.wakeup_breakeven_ps;
    tile_config_from(cfg, doc, &c->tile);
    noc_config_from(cfg, doc, &c->noc);
    offchip_config_from(cfg, doc, &c->offchip);
    c->doc = doc;
}

int chip_init(chip_model *m, const chip_config *c, es_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    if (c->tiles < 1)
        return arch_fail_key(err, c->doc, "arch.chip.tiles", "arch.chip.tiles must be >= 1");
    ES_TRY(tile_init(&m->tile, &c->tile, err));
    ES_TRY(noc_init(&m->noc, &c->noc, err));
    ES_TRY(offchip_init(&m->offchip, &c->offchip, err));

    double tiles = (double)c->tiles;
    const noc_model *n = &m->noc;
    arch_part *p = m->part;
    arch_part_set(p++, "tiles", tiles, m->tile.cost, "%lld IMAs each", (long long)c->tile.imas);
    /* One line for the network: per router, the router and its share of the links. */
    arch_cost per_router = arch_cost_times(n->cost, 1.0 / (double)n->routers);
    arch_part_set(p++, "noc", (double)n->routers, per_router,
                  "%s %llux%llu, %lld tiles/router, %llu links, %lld-bit flits", n->ops->name,
                  (unsigned long long)n->grid_x, (unsigned long long)n->grid_y,
                  (long long)c->noc.tiles_per_router, (unsigned long long)n->links,
                  (long long)c->noc.router.flit_bits);
    arch_part_set(p++, "offchip", (double)c->offchip.links, m->offchip.each, "link at %g GB/s",
                  c->offchip.bandwidth_bps / 1e9);
    if (c->training) {
        m->write_concurrency = wdrv_chip_concurrency(&m->tile.wdrv, (uint64_t)c->tiles);
        const xbar_model *x = &m->tile.ima.xbar;
        m->write_power_w = (double)m->write_concurrency * x->write_power_w;
        arch_cost w = {0.0, x->write_power_w, 0.0};
        arch_part_set(p++, "write", (double)m->write_concurrency, w,
                      "crossbars writing at once (budget), %.4g mW each", x->write_power_w * 1e3);
    }
    m->nparts = (size_t)(p - m->part);
    arch_part_basis(&m->part[CHIP_PART_TILES], "sum of its parts");
    for (size_t i = 0; i < m->nparts; i++)
        arch_cost_add(&m->cost, m->part[i].total);

    arch_part_set(&m->ima_total, "total", 1, m->tile.ima.cost, NULL);
    arch_part_set(&m->tile_total, "total", 1, m->tile.cost, NULL);
    arch_part_set(&m->chip_total, "total", 1, m->cost, NULL);
    m->tile_with_router = m->tile.cost;
    arch_cost_add(&m->tile_with_router, arch_cost_times(n->cost, 1.0 / tiles));

    const ima_model *im = &m->tile.ima;
    m->peak_macs_per_s =
        tiles * (double)c->tile.imas * im->macs_per_mvm / ((double)im->mvm_interval_ps * 1e-12);
    m->peak_ops_per_s = 2.0 * m->peak_macs_per_s;
    return ES_OK;
}

int chip_from_config(chip_model *m, const essim_config *cfg, const cfg_doc *doc, es_err *err)
{
    chip_config c;
    chip_config_from(cfg, doc, &c);
    return chip_init(m, &c, err);
}

size_t chip_rollup(const chip_model *m, chip_rollup_row *rows, size_t cap)
{
    size_t n = 0;
#define ROW(lvl, prt)                                                                              \
    do {                                                                                           \
        if (n < cap) {                                                                             \
            rows[n].level = (lvl);                                                                 \
            rows[n].part = (prt);                                                                  \
        }                                                                                          \
        n++;                                                                                       \
    } while (0)
    for (int i = 0; i < IMA_NPARTS; i++)
        ROW("ima", &m->tile.ima.part[i]);
    ROW("ima", &m->ima_total);
    for (size_t i = 0; i < m->tile.nparts; i++)
        ROW("tile", &m->tile.part[i]);
    ROW("tile", &m->tile_total);
    for (size_t i = 0; i < m->nparts; i++)
        ROW("chip", &m->part[i]);
    ROW("chip", &m->chip_total);
#undef ROW
    return n;
}
