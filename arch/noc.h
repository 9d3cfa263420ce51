/* noc.h - the on-chip network between tiles: routers (router.h) joined by links (link.h).
 * Alternatives, selected by `arch.noc.impl`, are one file each behind noc_ops:
 *   cmesh (noc_cmesh.c)  ISAAC's concentrated mesh: tiles_per_router (c) tiles share a
 *       router; R = ceil(tiles / c) routers on an X x Y grid, X = ceil(sqrt(R)),
 *       Y = ceil(R / X), router r at (r mod X, r div X); tile t on router t div c;
 *       neighbours joined by a pair of unidirectional links; XY routing, so
 *       hops(a, b) = |dx| + |dy| link traversals and hops + 1 router traversals.
 *       Every router needs c local ports plus one per neighbour: ports >= c + max degree.
 * For a flit from tile a to tile b (h = hops(a, b)):
 *   flit_energy  = (h + 1) x router.flit_energy + h x link.flit_energy
 *   flit_latency = (h + 1) x router.latency + h x link.latency        (no contention)
 *   transfer of n bytes = ceil(8 n / flit_bits) flits: energy x flits, latency
 *                         flit_latency + (flits - 1) cycles (one flit per cycle behind)
 * One hop (a router and the link out of it): hop_energy = router.flit_energy +
 * link.flit_energy, hop_latency = router.latency + link.latency.
 * avg_hops is the mean of hops(a, b) over independent uniformly chosen tiles a, b (the
 * expectation of |dx| needs only the x-marginal of tiles over the grid, likewise y).
 * Costs: routers x router + links x link (at full activity). */
#ifndef ES_NOC_H
#define ES_NOC_H

#include <stddef.h>
#include <stdint.h>

#include "arch_util.h"
#include "link.h"
#include "router.h"

typedef struct noc_config {
    const char *impl; /* "cmesh" (borrowed) */
    int64_t tiles;
    int64_t tiles_per_router;
    router_config router;
    link_config link;
    const cfg_doc *doc;
} noc_config;

typedef struct noc_model noc_model;

#define NOC_OPS_VERSION 1

typedef struct noc_ops {
    int version; /* NOC_OPS_VERSION */
    const char *name;
    const char *summary;
    /* Fill routers, links, the grid, max_degree and avg_hops; check the router ports. */
    int (*derive)(noc_model *m, es_err *err);
    /* Link traversals from tile a to tile b (a, b < tiles). */
    uint64_t (*hops)(const noc_model *m, uint64_t a, uint64_t b);
} noc_ops;

struct noc_model {
    noc_config cfg;
    const noc_ops *ops;
    router_model router;
    link_model link;
    uint64_t routers, links;
    uint64_t grid_x, grid_y;
    uint64_t max_degree; /* most mesh neighbours of any router */
    double avg_hops;
    double hop_energy_pj; /* one flit through one router and one link */
    sim_time hop_latency_ps;
    arch_cost cost; /* routers and links */
};

void noc_config_from(const essim_config *cfg, const cfg_doc *doc, noc_config *c);
int noc_init(noc_model *m, const noc_config *c, es_err *err);

uint64_t noc_hops(const noc_model *m, uint64_t a, uint64_t b);
double noc_flit_energy_pj(const noc_model *m, uint64_t a, uint64_t b);
sim_time noc_flit_latency_ps(const noc_model *m, uint64_t a, uint64_t b);
/* flits of n bytes: ceil(8 n / flit_bits) */
uint64_t noc_flits(const noc_model *m, uint64_t bytes);
double noc_transfer_energy_pj(const noc_model *m, uint64_t a, uint64_t b, uint64_t bytes);
sim_time noc_transfer_latency_ps(const noc_model *m, uint64_t a, uint64_t b, uint64_t bytes);

const noc_ops *noc_impl_find(const char *name);
size_t noc_impl_count(void);
const noc_ops *noc_impl_at(size_t i);

extern const noc_ops noc_cmesh_ops;

#endif
