/* hwsim_noc.c - the on-chip network traffic of the hardware simulator beyond the hand-over
 * between ops: a layer's input vectors broadcast to its weight copies on other tiles, partial
 * sums of a copy whose crossbars span tiles sent to the tile that adds them, and the transfer
 * itself with contention for every router's output ports. hwsim_lower.c builds the ops,
 * hwsim.c schedules the transfers these functions time.
 *
 * Broadcast (mvm and mvm_transposed of a layer on more than one tile): the input vectors are
 * split over the r copies, so copy c needs its share of the image's input map,
 * act_in_bytes / (B r) (the first act_in % r copies one byte more; the halo rows a
 * convolution window shares with the neighbouring share are not counted), and a tile holding
 * part of a copy's crossbars needs the part of that share its crossbars read: the fraction
 * of the K rows (forward; of the N columns backward) of the positions it holds, rounded up.
 * The map arrives at the layer's first tile (copy 0's, where the op runs); every other tile
 * gets its parts in one message. An image's messages are sent one image ahead (when the image
 * before it can issue: the tiles double-buffer their input), and the image issues when the
 * last one has arrived.
 *
 * Partial sums (per copy; a vector goes to one copy, so a flow carries 1/r of them): forward,
 * the row tiles of a column tile are added on the tile of row tile 0; every other tile holding
 * row tiles of that column tile adds its own first and sends one partial output of the column
 * tile's columns (outputs x out_bytes per vector). Backward, the same across column tiles of a
 * row tile (rows x out_bytes per vector). Sent per chunk after its crossbar reads; the chunk
 * goes on to the tile's shift-and-add when the last flow has arrived. A position's slices are
 * taken to sit on the tile of its first slice.
 *
 * Ports: router r has 4 mesh output ports (+x, -x, +y, -y, each driving one link) and one
 * ejection port per local tile. A message holds each port on its route for its flits, one flit
 * per flit time of the link (flit_bits at arch.chip.clock), first come first served, from
 * when its head arrives there (after the router's pipeline latency). hw.noc.port_wait_s sums
 * every wait for a port busy with another message; the part spent behind other ops' messages
 * is a NoC stall (hw.stall_s_by_cause.noc), as for the other resources (waiting behind one's
 * own op's earlier messages is its serial work). */
#include "hwsim_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t slot_tile(const hw_sim *h, const map_layer *L, uint64_t c, uint64_t rt,
                          uint64_t ct)
{
    return map_xbar_slot_copy(L, c, rt, ct, 0) / h->xbars_per_tile;
}

/* Add `bytes` to flow (src, dst) of the list, creating it. */
static int flow_add(hw_flow **fl, int *n, uint64_t src, uint64_t dst, double bytes)
{
    for (int i = 0; i < *n; i++)
        if ((*fl)[i].src == src && (*fl)[i].dst == dst) {
            (*fl)[i].bytes += bytes;
            return ES_OK;
        }
    if ((*n & (*n - 1)) == 0) { /* grow at powers of two */
        hw_flow *g = realloc(*fl, (size_t)(*n ? 2 * *n : 1) * sizeof *g);
        if (!g) return ES_ENOMEM;
        *fl = g;
    }
    (*fl)[(*n)++] = (hw_flow){(uint32_t)src, (uint32_t)dst, bytes};
    return ES_OK;
}

/* Bytes of the partial sums of a chunk of n vectors on a flow of bpv bytes per vector. */
static uint64_t psum_bytes(double bpv, uint64_t n)
{
    return (uint64_t)ceil(bpv * (double)n - 1e-9);
}

/* Rows (forward) or columns (backward) of W the marked row (column) tiles hold. */
static uint64_t marked_units(const map_layer *L, const uint8_t *mark, uint64_t n, int fwd)
{
    uint64_t w = fwd ? L->rows : L->weights_per_row, hi = fwd ? L->k : L->n, u = 0;
    for (uint64_t i = 0; i < n; i++)
        if (mark[i]) u += (i + 1) * w <= hi ? w : hi - i * w;
    return u;
}

/* The input flows of op o: copy c's share of the image's input map goes to the tiles that
 * hold its crossbars, each the part its crossbars read (its rows forward, its columns
 * backward, of K or N). */
static int build_input(hw_sim *h, hw_op *o, const map_layer *L, uint64_t img, int fwd,
                       uint8_t *mark)
{
    const uint64_t r = L->copies, nm = fwd ? L->row_tiles : L->col_tiles, all = fwd ? L->k : L->n;
    for (uint64_t c = 0; c < r; c++) {
        uint64_t share = img / r + (c < img % r), cur = slot_tile(h, L, c, 0, 0);
        memset(mark, 0, nm);
        for (uint64_t ct = 0; ct <= L->col_tiles; ct++)
            for (uint64_t rt = 0; rt < L->row_tiles; rt++) {
                int end = ct == L->col_tiles;
                uint64_t t = end ? UINT64_MAX : slot_tile(h, L, c, rt, ct);
                if (t != cur) { /* the positions of tile cur are complete */
                    uint64_t b = (share * marked_units(L, mark, nm, fwd) + all - 1) / all;
                    if (cur != o->tile && b &&
                        flow_add(&o->bcast, &o->nbcast, o->tile, cur, (double)b) < 0)
                        return ES_ENOMEM;
                    memset(mark, 0, nm);
                    cur = t;
                }
                if (end) break;
                mark[fwd ? rt : ct] = 1;
            }
    }
    return ES_OK;
}

static int build_op(hw_sim *h, hw_op *o, const lop_op *p)
{
    const map_layer *L = h->layers[o->layer].L;
    const uint64_t r = L->copies, B = (uint64_t)h->batch;
    const double ob = (double)h->chip->tile.ima.out_bytes;
    const int fwd = o->kind == LOP_MVM;
    if (L->tiles > 1) {
        uint64_t nm = L->row_tiles > L->col_tiles ? L->row_tiles : L->col_tiles;
        uint8_t *mark = malloc(nm);
        if (!mark) return ES_ENOMEM;
        int rc = build_input(h, o, L, p->n[LOP_C_ACT_IN_BYTES] / B, fwd, mark);
        free(mark);
        if (rc < 0) return rc;
    }
    const uint64_t outer = fwd ? L->col_tiles : L->row_tiles;
    const uint64_t inner = fwd ? L->row_tiles : L->col_tiles;
    for (uint64_t c = 0; c < r; c++)
        for (uint64_t a = 0; a < outer; a++) {
            uint64_t sum = fwd ? slot_tile(h, L, c, 0, a) : slot_tile(h, L, c, a, 0), last = sum;
            /* outputs of this column tile (rows of this row tile) */
            uint64_t w = fwd ? L->weights_per_row : L->rows, lo = a * w;
            uint64_t hi = fwd ? L->n : L->k;
            uint64_t width = lo + w < hi ? w : hi - lo;
            for (uint64_t b = 1; b < inner; b++) {
                uint64_t t = fwd ? slot_tile(h, L, c, b, a) : slot_tile(h, L, c, a, b);
                if (t == sum || t == last) continue; /* added on its own tile first */
                last = t;
                if (flow_add(&o->psum, &o->npsum, t, sum, (double)width * ob / (double)r) < 0)
                    return ES_ENOMEM;
            }
        }
    return ES_OK;
}

int hw_noc_build(hw_sim *h, const lop_op *src, es_err *err)
{
    const noc_model *nm = &h->chip->noc;
    const uint64_t B = (uint64_t)h->batch;
    h->nports = 4 + (uint64_t)nm->cfg.tiles_per_router;
    h->ports = calloc(nm->grid_x * nm->grid_y * h->nports, sizeof *h->ports);
    if (!h->ports) return es_fail(err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; i < h->nops; i++) {
        hw_op *o = &h->ops[i];
        if (o->phase == LOP_UPDATE) continue;
        double e = 0;
        if (o->xfer) h->noc_bytes[HW_NOC_ACT] += (double)o->xfer_bytes * (double)B;
        if ((o->kind == LOP_MVM || o->kind == LOP_MVM_T) && o->layer >= 0) {
            if (build_op(h, o, &src[i]) < 0) return es_fail(err, ES_ENOMEM, "out of memory");
            for (int f = 0; f < o->nbcast; f++) {
                uint64_t b = (uint64_t)o->bcast[f].bytes;
                e += noc_transfer_energy_pj(nm, o->bcast[f].src, o->bcast[f].dst, b) * (double)B;
                h->noc_bytes[HW_NOC_BCAST] += (double)b * (double)B;
            }
            /* per image: nchunks - 1 full chunks and the last one */
            uint64_t lastn = o->vpi - (uint64_t)(o->nchunks - 1) * o->chunk;
            for (int f = 0; f < o->npsum; f++) {
                const hw_flow *fl = &o->psum[f];
                uint64_t bf = psum_bytes(fl->bytes, o->chunk), bl = psum_bytes(fl->bytes, lastn);
                double fe = noc_flit_energy_pj(nm, fl->src, fl->dst);
                e += fe * (double)B *
                     ((double)(o->nchunks - 1) * (double)noc_flits(nm, bf) +
                      (double)noc_flits(nm, bl));
                h->noc_bytes[HW_NOC_PSUM] +=
                    (double)B * ((double)(o->nchunks - 1) * (double)bf + (double)bl);
            }
        }
        o->energy[HW_E_NOC] += e;
        h->e_phase_dyn[o->phase][HW_E_NOC] += e;
    }
    return ES_OK;
}

/* Ports by index (router x nports + port): the chip's, or a private table of the ports one
 * op's messages touch (for the pipeline bound, which times an op alone). */
typedef struct port_table {
    hw_sim *h; /* the chip's ports when non-NULL */
    uint64_t *key;
    hw_res *res;
    size_t n, cap;
} port_table;

static hw_res *port_at(port_table *pt, uint64_t k)
{
    if (pt->h) return &pt->h->ports[k];
    for (size_t i = 0; i < pt->n; i++)
        if (pt->key[i] == k) return &pt->res[i];
    if (pt->n == pt->cap) {
        size_t nc = pt->cap ? 2 * pt->cap : 16;
        uint64_t *nk = realloc(pt->key, nc * sizeof *nk);
        if (!nk) return NULL;
        pt->key = nk;
        hw_res *nr = realloc(pt->res, nc * sizeof *nr);
        if (!nr) return NULL;
        pt->res = nr;
        pt->cap = nc;
    }
    pt->key[pt->n] = k;
    pt->res[pt->n] = (hw_res){0, 0, 0};
    return &pt->res[pt->n++];
}

/* Walk the XY route from tile a to tile b starting at now, reserving every output port on it
 * in pt; returns the tail's arrival. With the chip's ports, waits count as port waits and
 * (behind other ops) stalls, and the timeline records the hops. */
static sim_time route(const hw_sim *hc, port_table *pt, const hw_op *o, uint64_t a, uint64_t b,
                      uint64_t bytes, sim_time now)
{
    hw_sim *h = pt->h;
    uint32_t me = (uint32_t)(o - hc->ops) + 1;
    const noc_model *nm = &hc->chip->noc;
    uint64_t c = (uint64_t)nm->cfg.tiles_per_router;
    uint64_t ra = a / c, rb = b / c, X = nm->grid_x;
    uint64_t flits = noc_flits(nm, bytes);
    double flit_ps = (double)nm->cfg.link.flit_bits / 8.0 / nm->link.bandwidth_bps * 1e12;
    sim_time fl = ps_round(flit_ps * (double)flits), fl1 = ps_round(flit_ps);
    sim_time head = now;
    uint64_t x = ra % X, y = ra / X, tx = rb % X, ty = rb / X;
    for (;;) {
        uint64_t r = y * X + x, port;
        if (x < tx)
            port = 0;
        else if (x > tx)
            port = 1;
        else if (y < ty)
            port = 2;
        else if (y > ty)
            port = 3;
        else
            port = 4 + b % c; /* ejection to the destination tile */
        sim_time arrive = head + nm->router.latency_ps, start = arrive;
        hw_res *p = port_at(pt, r * hc->nports + port);
        if (p) {
            if (p->free > start) start = p->free;
            if (h) {
                h->it_port_wait += (double)(start - arrive);
                if (p->owner != me) h->it_stall[HW_C_NOC] += (double)(start - arrive);
            }
            p->owner = me;
            p->free = start + fl;
            p->busy += fl;
        }
        if (h && h->tl_on)
            hw_tl_event(h, o->name, "noc", h->tiles, 10 + r * h->nports + port, start, fl);
        if (port >= 4) return start + (flits ? (flits - 1) * fl1 : 0);
        x += port == 0, x -= port == 1, y += port == 2, y -= port == 3;
        head = start + nm->link.latency_ps;
    }
}

sim_time hw_noc_send(hw_sim *h, const hw_op *o, uint64_t a, uint64_t b, uint64_t bytes,
                     sim_time now)
{
    port_table pt = {h, NULL, NULL, 0, 0};
    return route(h, &pt, o, a, b, bytes, now);
}

double hw_noc_port_occupancy_ps(const hw_sim *h, const hw_op *o)
{
    /* one image's messages on a private table: each port's busy time is its load */
    port_table pt = {NULL, NULL, NULL, 0, 0};
    uint64_t lastn = o->vpi - (uint64_t)(o->nchunks - 1) * o->chunk;
    for (int f = 0; f < o->nbcast; f++)
        route(h, &pt, o, o->bcast[f].src, o->bcast[f].dst, (uint64_t)o->bcast[f].bytes, 0);
    for (uint32_t c = 0; c < o->nchunks; c++)
        for (int f = 0; f < o->npsum; f++)
            route(h, &pt, o, o->psum[f].src, o->psum[f].dst,
                  psum_bytes(o->psum[f].bytes, c + 1 < o->nchunks ? o->chunk : lastn), 0);
    if (o->xfer) route(h, &pt, o, o->tile, o->xfer_dst, o->xfer_bytes, 0);
    double best = 0;
    for (size_t i = 0; i < pt.n; i++)
        if ((double)pt.res[i].busy > best) best = (double)pt.res[i].busy;
    free(pt.key);
    free(pt.res);
    return best;
}

/* When the last of op o's messages (broadcast, or the partial sums of a chunk of n vectors)
 * arrives, sent together at time 0 with only each other to contend with. */
static double alone_ps(const hw_sim *h, const hw_op *o, int psum, uint64_t n)
{
    port_table pt = {NULL, NULL, NULL, 0, 0};
    sim_time end = 0;
    int nf = psum ? o->npsum : o->nbcast;
    for (int f = 0; f < nf; f++) {
        const hw_flow *fl = psum ? &o->psum[f] : &o->bcast[f];
        uint64_t b = psum ? psum_bytes(fl->bytes, n) : (uint64_t)fl->bytes;
        sim_time t = route(h, &pt, o, fl->src, fl->dst, b, 0);
        if (t > end) end = t;
    }
    free(pt.key);
    free(pt.res);
    return (double)end;
}

double hw_noc_bcast_latency_ps(const hw_sim *h, const hw_op *o)
{
    return alone_ps(h, o, 0, 0);
}

double hw_noc_psum_latency_ps(const hw_sim *h, const hw_op *o, uint64_t n)
{
    return alone_ps(h, o, 1, n);
}

/* Add one message's flit time to every output port on its XY route (no timing). */
static void route_load(const hw_sim *h, double *load, uint64_t a, uint64_t b, uint64_t bytes)
{
    const noc_model *nm = &h->chip->noc;
    uint64_t c = (uint64_t)nm->cfg.tiles_per_router;
    uint64_t ra = a / c, rb = b / c, X = nm->grid_x;
    double flit_ps = (double)nm->cfg.link.flit_bits / 8.0 / nm->link.bandwidth_bps * 1e12;
    double fl = (double)ps_round(flit_ps * (double)noc_flits(nm, bytes));
    uint64_t x = ra % X, y = ra / X, tx = rb % X, ty = rb / X;
    for (;;) {
        uint64_t r = y * X + x, port = x < tx ? 0 : x > tx ? 1 : y < ty ? 2 : y > ty ? 3 : 4 + b % c;
        load[r * h->nports + port] += fl;
        if (port >= 4) return;
        x += port == 0, x -= port == 1, y += port == 2, y -= port == 3;
    }
}

void hw_noc_add_port_load(const hw_sim *h, const hw_op *o, double *load)
{
    uint64_t lastn = o->vpi - (uint64_t)(o->nchunks - 1) * o->chunk;
    for (int f = 0; f < o->nbcast; f++)
        route_load(h, load, o->bcast[f].src, o->bcast[f].dst, (uint64_t)o->bcast[f].bytes);
    for (uint32_t c = 0; c < o->nchunks; c++)
        for (int f = 0; f < o->npsum; f++)
            route_load(h, load, o->psum[f].src, o->psum[f].dst,
                       psum_bytes(o->psum[f].bytes, c + 1 < o->nchunks ? o->chunk : lastn));
    if (o->xfer) route_load(h, load, o->tile, o->xfer_dst, o->xfer_bytes);
}
