/* noc_cmesh.c - `arch.noc.impl: cmesh`: ISAAC's concentrated mesh (tiles_per_router tiles per
 * router, routers on a near-square grid, XY routing). See noc.h for the formulas. */
#include <math.h>
#include <stdlib.h>

#include "noc.h"

static uint64_t absdiff(uint64_t a, uint64_t b)
{
    return a > b ? a - b : b - a;
}

static uint64_t hops(const noc_model *m, uint64_t a, uint64_t b)
{
    uint64_t c = (uint64_t)m->cfg.tiles_per_router;
    uint64_t ra = a / c, rb = b / c;
    return absdiff(ra % m->grid_x, rb % m->grid_x) + absdiff(ra / m->grid_x, rb / m->grid_x);
}

/* E|i - j| for i, j drawn independently from the weights w[0..n) (summing to 1). */
static double mean_distance(const double *w, uint64_t n)
{
    double s = 0.0;
    for (uint64_t i = 0; i < n; i++)
        for (uint64_t j = 0; j < n; j++)
            s += w[i] * w[j] * (double)absdiff(i, j);
    return s;
}

static int derive(noc_model *m, es_err *err)
{
    uint64_t tiles = (uint64_t)m->cfg.tiles, c = (uint64_t)m->cfg.tiles_per_router;
    uint64_t r = (tiles + c - 1) / c;
    uint64_t x = (uint64_t)ceil(sqrt((double)r));
    while (x * x < r)
        x++; /* guard against sqrt rounding */
    while (x > 1 && (x - 1) * (x - 1) >= r)
        x--;
    uint64_t y = (r + x - 1) / x;
    m->routers = r;
    m->grid_x = x;
    m->grid_y = y;
    /* Links and degrees of the routers actually placed (the last row may be partial). */
    uint64_t links = 0, maxdeg = 0;
    for (uint64_t i = 0; i < r; i++) {
        uint64_t ix = i % x, deg = 0;
        if (ix + 1 < x && i + 1 < r) links += 2;
        if (i + x < r) links += 2;
        deg += (ix > 0) + (ix + 1 < x && i + 1 < r) + (i >= x) + (i + x < r);
        if (deg > maxdeg) maxdeg = deg;
    }
    m->links = links;
    m->max_degree = maxdeg;
    uint64_t need = c + maxdeg;
    if ((uint64_t)m->cfg.router.ports < need)
        return arch_fail_key(err, m->cfg.doc, "arch.noc.ports",
                             "arch.noc.ports = %lld is too few for a concentrated-mesh router "
                             "with %llu tiles and %llu mesh neighbours: raise arch.noc.ports to "
                             "at least %llu or lower arch.noc.tiles_per_router",
                             (long long)m->cfg.router.ports, (unsigned long long)c,
                             (unsigned long long)maxdeg, (unsigned long long)need);
    /* Mean hops for uniform random tile pairs: x and y distances separately, each from the
     * marginal share of tiles in each grid column (row). */
    double *wx = calloc((size_t)x, sizeof *wx), *wy = calloc((size_t)y, sizeof *wy);
    if (!wx || !wy) {
        free(wx);
        free(wy);
        return es_fail(err, ES_ENOMEM, "out of memory");
    }
    for (uint64_t i = 0; i < r; i++) {
        uint64_t here = (i + 1 < r) ? c : tiles - (r - 1) * c;
        wx[i % x] += (double)here / (double)tiles;
        wy[i / x] += (double)here / (double)tiles;
    }
    m->avg_hops = mean_distance(wx, x) + mean_distance(wy, y);
    free(wx);
    free(wy);
    return ES_OK;
}

const noc_ops noc_cmesh_ops = {NOC_OPS_VERSION, "cmesh", "concentrated mesh, XY routing (ISAAC)",
                               derive, hops};
