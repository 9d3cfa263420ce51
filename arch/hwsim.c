/* hwsim.c - event-driven execution of training iterations on the chip (see hwsim.h). */
#include "hwsim.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_kernel.h"

/* ---- names ------------------------------------------------------------------------------ */

static const char *const energy_names[HW_NE] = {
    "xbar", "dac",  "sh",  "adc", "ima_sa", "ima_reg", "tile_sa", "activation", "maxpool",
    "edram", "bus", "gu", "noc", "offchip", "write",   "leakage"};
static const char *const cause_names[HW_NC] = {
    "edram", "bus", "crossbar", "adc", "tile_sa", "activation", "maxpool",
    "gu", "noc", "offchip", "wdrv_tile", "wdrv_chip", "write_wait"};

const char *hw_energy_name(int e)
{
    return e >= 0 && e < HW_NE ? energy_names[e] : "?";
}

const char *hw_cause_name(int c)
{
    return c >= 0 && c < HW_NC ? cause_names[c] : "?";
}

void hw_options_from(const essim_config *cfg, hw_options *o)
{
    memset(o, 0, sizeof *o);
    o->detail = cfg->sim.detail;
    o->chunk = (uint64_t)cfg->sim.chunk;
    o->overlap_writes = cfg->sim.overlap_writes;
    o->timeline_iterations = (uint64_t)cfg->sim.timeline_iterations;
}

/* ---- structures ------------------------------------------------------------------------- */

/* Per-tile resources. */
enum { RK_EDRAM, RK_BUS, RK_TSA, RK_ACT, RK_POOL, RK_GU, RK_NTILE };
/* Stage kinds. */
enum { SK_TILE, SK_IMA, SK_OFFCHIP };

typedef struct hw_res {
    sim_time free;
    sim_time busy;
    uint32_t owner; /* op of the last reservation + 1 (0: none): waiting behind one's own op's
                       earlier chunks is the op's serial work, not a stall */
} hw_res;

typedef struct hw_stage {
    uint8_t kind, rk, cause;
    uint32_t t0, nt;      /* tiles (SK_TILE) */
    uint32_t layer;       /* SK_IMA */
    double occ_per_vec;   /* ps of one vector, on each reserved resource */
    double stall_per_vec; /* ADC throttling attributed per vector (SK_IMA) */
    sim_time lat;         /* after the stage, not holding the resource */
} hw_stage;

#define HW_MAX_STAGES 6

typedef struct hw_op {
    int phase, kind, layer, node;
    uint32_t tile, ntiles;
    uint64_t vpi;     /* work items per image (vectors; 1 for digital ops) */
    uint64_t chunk;   /* items per chunk */
    uint32_t nchunks; /* per image */
    hw_stage st[HW_MAX_STAGES];
    int nst;
    int xfer;         /* NoC transfer after each image */
    uint32_t xfer_dst;
    uint64_t xfer_bytes;
    int dep;          /* op of the same image this waits for, -1 none */
    int barrier;      /* waits for the forward barrier */
    int *succ;
    int nsucc;
    double energy[HW_NE]; /* pJ per iteration */
    char name[64];
    /* run state */
    uint32_t *done_chunks; /* per image */
    uint8_t *ready;        /* per image */
    uint32_t next_img;
    int issuing;
    uint32_t imgs_done;
} hw_op;

typedef struct hw_session {
    uint32_t layer, tile;
    uint64_t slot;
    uint64_t rows;
    sim_time release;
    uint8_t blocked; /* cause if it had to wait */
} hw_session;

typedef struct hw_layer {
    const map_layer *L;
    uint64_t positions;
    uint64_t *blk_pos;   /* per block: position index (col tile x row tiles + row tile) */
    uint32_t *blk_rows;  /* per block: rows written on each of its crossbars */
    uint32_t *blk_cells; /* per block: cells written */
    uint64_t *counts;    /* per block: writes so far */
    uint64_t *pos_rows;  /* scratch: rows per position this iteration */
    int pending;         /* compute ops of this layer still running (backward, gradient) */
    int pending_init;
    size_t sess0, nsess; /* this iteration's write sessions of the layer: sess[sess0 ..) */
    sim_time ready_rel;  /* fast mode: release time relative to the iteration start */
    hw_res ima;          /* the layer's IMAs, in lockstep */
} hw_layer;

struct hw_sim {
    const chip_model *chip;
    const map_plan *plan;
    hw_options opt;
    int batch;
    uint64_t tiles;
    uint64_t xbars_per_tile; /* crossbar slots per tile: slot / xbars_per_tile is the tile */
    hw_op *ops;
    size_t nops;
    hw_layer *layers;
    size_t nlayers;
    hw_res *tres;     /* tiles x RK_NTILE */
    hw_res offchip;
    hw_res *links;    /* routers x 4 */
    sim_kernel *k;
    double leak_w; /* static power counted (see arch.chip.power_gating) */
    int *barrier_ops;
    int nbarrier;
    uint64_t fwd_jobs, fwd_jobs_done; /* (op, image) pairs of the forward phase */
    uint64_t comp_jobs, comp_jobs_done;
    sim_time t0;                 /* iteration start */
    sim_time fwd_end, bwd_end, grad_end, comp_end;
    int compute_done;
    /* writes */
    hw_session *sess;
    size_t nsess, sess_cap;
    size_t *tq_head, *tq_len;    /* per tile FIFO (indices into qbuf) */
    size_t **tq;                 /* per tile queue storage */
    size_t *tq_cap;
    uint64_t *wfree_tile;
    uint64_t wfree_chip;
    uint64_t *act; /* tiles with queued sessions, in the order they got work */
    size_t nact;
    size_t sess_done;
    sim_time writes_end;
    /* cached compute (fast mode) */
    int have_compute;
    sim_time c_fwd, c_bwd, c_grad, c_comp;
    double c_stall[HW_NC];
    uint64_t c_events;
    /* per-iteration scratch results */
    double it_stall[HW_NC];
    double it_write_busy;
    /* totals */
    hw_totals tot;
    double e_phase_dyn[LOP_NPHASE][HW_NE]; /* pJ per iteration, compute */
    /* timeline */
    FILE *tl;
    char *tl_path, *tl_tmp;
    uint64_t tl_iters;
    int tl_first;
    int tl_on; /* recording this iteration */
    int fail;  /* ES_* from inside a handler */
};

/* ---- helpers ---------------------------------------------------------------------------- */

static sim_time ps_round(double ps)
{
    return arch_ps(ps);
}

static void tl_event(hw_sim *h, const char *name, const char *cat, uint64_t pid, uint64_t tid,
                     sim_time start, sim_time dur)
{
    if (!h->tl_on || !h->tl) return;
    fprintf(h->tl, "%s\n{\"name\":\"%s\",\"cat\":\"%s\",\"ph\":\"X\",\"ts\":%.6f,\"dur\":%.6f,"
                   "\"pid\":%" PRIu64 ",\"tid\":%" PRIu64 "}",
            h->tl_first ? "" : ",", name, cat, (double)start * 1e-6, (double)dur * 1e-6, pid,
            tid);
    h->tl_first = 0;
}

/* Thread ids of the timeline: per tile resources 0..RK_NTILE-1, IMAs 100 + layer, write
 * drivers 50; the NoC and the off-chip link are process `tiles`. */
static const char *const rk_names[RK_NTILE] = {"edram", "bus", "tile_sa", "activation",
                                               "maxpool", "gu"};

static int sched(hw_sim *h, sim_time when, sim_handler fn, uint64_t data)
{
    if (!sim_schedule_at(h->k, when, 0, fn, h, data)) {
        if (!h->fail) h->fail = sim_last_error(h->k) ? sim_last_error(h->k) : ES_ERANGE;
        sim_stop(h->k);
        return -1;
    }
    return 0;
}

/* job data: op 20 bits | image 20 | chunk 20 | stage 4 */
static uint64_t job(uint64_t op, uint64_t img, uint64_t chunk, uint64_t st)
{
    return op << 44 | img << 24 | chunk << 4 | st;
}

static void ev_stage(sim_kernel *k, void *arg, uint64_t data);
static void ev_chunk_done(sim_kernel *k, void *arg, uint64_t data);
static void ev_img_done(sim_kernel *k, void *arg, uint64_t data);
static void ev_issue_next(sim_kernel *k, void *arg, uint64_t data);
static void ev_release(sim_kernel *k, void *arg, uint64_t data);
static void ev_session_done(sim_kernel *k, void *arg, uint64_t data);

static void try_issue(hw_sim *h, size_t oi)
{
    hw_op *o = &h->ops[oi];
    if (o->issuing || o->next_img >= (uint32_t)h->batch || !o->ready[o->next_img]) return;
    o->issuing = 1;
    sched(h, sim_now(h->k), ev_stage, job(oi, o->next_img, 0, 0));
}

/* Reserve stage s of op o for a chunk of n items arriving now; returns when it leaves. */
static sim_time reserve(hw_sim *h, hw_op *o, const hw_stage *s, uint64_t n, sim_time now,
                        sim_time *hold_end)
{
    sim_time occ = ps_round(s->occ_per_vec * (double)n);
    sim_time start = now;
    uint32_t me = (uint32_t)(o - h->ops) + 1;
    int foreign = 0;
    if (s->kind == SK_TILE) {
        for (uint32_t i = 0; i < s->nt; i++) {
            hw_res *r = &h->tres[(size_t)(s->t0 + i) * RK_NTILE + s->rk];
            if (r->free > start) start = r->free, foreign = r->owner != me;
        }
        for (uint32_t i = 0; i < s->nt; i++) {
            hw_res *r = &h->tres[(size_t)(s->t0 + i) * RK_NTILE + s->rk];
            r->free = start + occ;
            r->busy += occ;
            r->owner = me;
            if (h->tl_on && occ) tl_event(h, o->name, lop_phase_name(o->phase), s->t0 + i, s->rk,
                                          start, occ);
        }
    } else {
        hw_res *r = s->kind == SK_IMA ? &h->layers[s->layer].ima : &h->offchip;
        if (r->free > start) start = r->free, foreign = r->owner != me;
        r->free = start + occ;
        r->busy += occ;
        r->owner = me;
        if (h->tl_on && occ) {
            if (s->kind == SK_IMA)
                tl_event(h, o->name, lop_phase_name(o->phase), o->tile, 100 + s->layer, start, occ);
            else
                tl_event(h, o->name, "offchip", h->tiles, 1, start, occ);
        }
    }
    if (foreign) h->it_stall[s->cause] += (double)(start - now);
    if (s->stall_per_vec > 0) h->it_stall[HW_C_ADC] += s->stall_per_vec * (double)n;
    *hold_end = start + occ;
    return start + occ + s->lat;
}

static uint64_t chunk_items(const hw_op *o, uint64_t c)
{
    uint64_t first = c * o->chunk;
    uint64_t left = o->vpi - first;
    return left < o->chunk ? left : o->chunk;
}

static void ev_stage(sim_kernel *k, void *arg, uint64_t data)
{
    hw_sim *h = arg;
    uint64_t oi = data >> 44, img = (data >> 24) & 0xFFFFF, c = (data >> 4) & 0xFFFFF,
             st = data & 0xF;
    hw_op *o = &h->ops[oi];
    sim_time now = sim_now(k), hold;
    uint64_t n = chunk_items(o, c);
    sim_time out = reserve(h, o, &o->st[st], n, now, &hold);
    if (st == 0) {
        if (c + 1 < o->nchunks)
            sched(h, hold, ev_stage, job(oi, img, c + 1, 0));
        else
            sched(h, hold, ev_issue_next, oi);
    }
    if ((int)st + 1 < o->nst)
        sched(h, out, ev_stage, job(oi, img, c, st + 1));
    else
        sched(h, out, ev_chunk_done, job(oi, img, c, st));
}

static void ev_issue_next(sim_kernel *k, void *arg, uint64_t data)
{
    (void)k;
    hw_sim *h = arg;
    hw_op *o = &h->ops[data];
    o->issuing = 0;
    o->next_img++;
    try_issue(h, data);
}

/* Wormhole transfer of `bytes` from tile a to tile b starting now; returns the tail's arrival. */
static sim_time noc_send(hw_sim *h, const char *name, uint64_t a, uint64_t b, uint64_t bytes,
                         sim_time now)
{
    const noc_model *nm = &h->chip->noc;
    uint64_t c = (uint64_t)nm->cfg.tiles_per_router;
    uint64_t ra = a / c, rb = b / c, X = nm->grid_x;
    uint64_t flits = noc_flits(nm, bytes);
    double flit_ps = (double)nm->cfg.link.flit_bits / 8.0 / nm->link.bandwidth_bps * 1e12;
    sim_time fl = ps_round(flit_ps * (double)flits), fl1 = ps_round(flit_ps);
    sim_time head = now;
    uint64_t x = ra % X, y = ra / X, tx = rb % X, ty = rb / X;
    while (x != tx || y != ty) {
        int dir;
        uint64_t r = y * X + x;
        if (x < tx) dir = 0, x++;
        else if (x > tx) dir = 1, x--;
        else if (y < ty) dir = 2, y++;
        else dir = 3, y--;
        hw_res *l = &h->links[r * 4 + (uint64_t)dir];
        sim_time arrive = head + nm->router.latency_ps, start = arrive;
        if (l->free > start) start = l->free;
        h->it_stall[HW_C_NOC] += (double)(start - arrive);
        l->free = start + fl;
        l->busy += fl;
        if (h->tl_on) tl_event(h, name, "noc", h->tiles, 10 + r * 4 + (uint64_t)dir, start, fl);
        head = start + nm->link.latency_ps;
    }
    return head + nm->router.latency_ps + (flits ? (flits - 1) * fl1 : 0);
}

static void ev_chunk_done(sim_kernel *k, void *arg, uint64_t data)
{
    hw_sim *h = arg;
    uint64_t oi = data >> 44, img = (data >> 24) & 0xFFFFF;
    hw_op *o = &h->ops[oi];
    if (++o->done_chunks[img] < o->nchunks) return;
    sim_time now = sim_now(k);
    if (o->xfer) {
        sim_time t = noc_send(h, o->name, o->tile, o->xfer_dst, o->xfer_bytes, now);
        sched(h, t, ev_img_done, job(oi, img, 0, 0));
    } else {
        ev_img_done(k, arg, job(oi, img, 0, 0));
    }
}

static void release_layer(hw_sim *h, size_t l);

static void ev_img_done(sim_kernel *k, void *arg, uint64_t data)
{
    hw_sim *h = arg;
    uint64_t oi = data >> 44, img = (data >> 24) & 0xFFFFF;
    hw_op *o = &h->ops[oi];
    sim_time now = sim_now(k);
    o->imgs_done++;
    for (int i = 0; i < o->nsucc; i++) {
        hw_op *s = &h->ops[o->succ[i]];
        s->ready[img] = 1;
        try_issue(h, (size_t)o->succ[i]);
    }
    h->comp_jobs_done++;
    if (o->phase == LOP_FORWARD) {
        if (++h->fwd_jobs_done == h->fwd_jobs) {
            h->fwd_end = now;
            for (int i = 0; i < h->nbarrier; i++) {
                hw_op *b = &h->ops[h->barrier_ops[i]];
                memset(b->ready, 1, (size_t)h->batch);
                try_issue(h, (size_t)h->barrier_ops[i]);
            }
        }
    } else if (o->phase == LOP_BACKWARD) {
        if (now > h->bwd_end) h->bwd_end = now;
    } else if (o->phase == LOP_GRADIENT) {
        if (now > h->grad_end) h->grad_end = now;
    }
    if (o->imgs_done == (uint32_t)h->batch && o->layer >= 0 &&
        (o->phase == LOP_BACKWARD || o->phase == LOP_GRADIENT)) {
        hw_layer *L = &h->layers[o->layer];
        if (--L->pending == 0) {
            L->ready_rel = now - h->t0;
            if (h->opt.overlap_writes) release_layer(h, (size_t)o->layer);
        }
    }
    if (h->comp_jobs_done == h->comp_jobs) {
        h->comp_end = now;
        h->compute_done = 1;
        if (h->fwd_end == h->t0 && h->fwd_jobs == 0) h->fwd_end = now;
        if (!h->opt.overlap_writes)
            for (size_t l = 0; l < h->nlayers; l++) release_layer(h, l);
    }
}

/* ---- writes ----------------------------------------------------------------------------- */

static void tq_push(hw_sim *h, uint64_t t, size_t si)
{
    if (h->tq_head[t] + h->tq_len[t] >= h->tq_cap[t]) {
        if (h->tq_head[t] > 0) {
            memmove(h->tq[t], h->tq[t] + h->tq_head[t], h->tq_len[t] * sizeof(size_t));
            h->tq_head[t] = 0;
        }
        if (h->tq_len[t] >= h->tq_cap[t]) {
            size_t nc = h->tq_cap[t] ? 2 * h->tq_cap[t] : 64;
            size_t *q = realloc(h->tq[t], nc * sizeof *q);
            if (!q) {
                h->fail = ES_ENOMEM;
                sim_stop(h->k);
                return;
            }
            h->tq[t] = q;
            h->tq_cap[t] = nc;
        }
    }
    if (h->tq_len[t] == 0) h->act[h->nact++] = t;
    h->tq[t][h->tq_head[t] + h->tq_len[t]++] = si;
}

static void start_session(hw_sim *h, size_t si, sim_time now)
{
    hw_session *s = &h->sess[si];
    const ima_model *im = &h->chip->tile.ima;
    sim_time dur = (sim_time)s->rows * im->xbar.row_write_latency_ps;
    h->wfree_tile[s->tile]--;
    h->wfree_chip--;
    if (now > s->release) h->it_stall[s->blocked] += (double)(now - s->release);
    h->it_write_busy += (double)dur;
    if (h->tl_on) tl_event(h, h->layers[s->layer].L->name, "write", s->tile, 50, now, dur);
    sched(h, now + dur, ev_session_done, si);
}

static void drain_tile(hw_sim *h, uint64_t t, int blocked_by_tile, sim_time now)
{
    while (h->tq_len[t] > 0 && h->wfree_tile[t] > 0 && h->wfree_chip > 0) {
        size_t si = h->tq[t][h->tq_head[t]];
        h->tq_head[t]++;
        h->tq_len[t]--;
        /* A session that waited was held up by its tile's drivers when they were all busy
           until a session of its own tile ended just now, else by the chip's budget. */
        h->sess[si].blocked = blocked_by_tile ? HW_C_WDRV_TILE : HW_C_WDRV_CHIP;
        start_session(h, si, now);
    }
}

/* Start what the driver budget allows: tile `first` first (when it has queued work), then
 * the tiles with queued sessions in the order they got work. */
static void dispatch(hw_sim *h, uint64_t first, int first_full, sim_time now)
{
    if (first < h->tiles && h->tq_len[first] > 0) drain_tile(h, first, first_full, now);
    size_t k = 0;
    for (size_t i = 0; i < h->nact; i++) {
        uint64_t t = h->act[i];
        if (h->wfree_chip > 0 && t != first) drain_tile(h, t, 0, now);
        if (h->tq_len[t] > 0) h->act[k++] = t;
    }
    h->nact = k;
}

static void release_layer(hw_sim *h, size_t l)
{
    sim_time now = sim_now(h->k);
    const hw_layer *L = &h->layers[l];
    for (size_t i = L->sess0; i < L->sess0 + L->nsess; i++) {
        h->sess[i].release = now;
        tq_push(h, h->sess[i].tile, i);
    }
    if (L->nsess) dispatch(h, h->sess[L->sess0].tile, 0, now);
}

static void ev_release(sim_kernel *k, void *arg, uint64_t data)
{
    (void)k;
    release_layer(arg, (size_t)data);
}

static void ev_session_done(sim_kernel *k, void *arg, uint64_t data)
{
    hw_sim *h = arg;
    hw_session *s = &h->sess[data];
    sim_time now = sim_now(k);
    int full = h->wfree_tile[s->tile] == 0;
    h->wfree_tile[s->tile]++;
    h->wfree_chip++;
    h->sess_done++;
    if (now > h->writes_end) h->writes_end = now;
    dispatch(h, s->tile, full, now);
}

static void ev_noop(sim_kernel *k, void *arg, uint64_t data)
{
    (void)k, (void)arg, (void)data;
}

/* Build this iteration's write sessions from the masks. */
static int build_sessions(hw_sim *h, const uint8_t *const *masks, int packed, uint64_t *cells)
{
    h->nsess = 0;
    *cells = 0;
    for (size_t l = 0; l < h->nlayers; l++) {
        hw_layer *L = &h->layers[l];
        const uint8_t *m = masks ? masks[l] : NULL;
        L->sess0 = h->nsess;
        L->nsess = 0;
        if (!m) continue;
        uint64_t G = L->L->blocks;
        memset(L->pos_rows, 0, L->positions * sizeof *L->pos_rows);
        uint64_t any = 0;
        for (uint64_t g = 0; g < G; g++) {
            int on = packed ? (m[g >> 3] >> (g & 7)) & 1 : m[g] != 0;
            if (!on) {
                if (packed && (g & 7) == 0 && g + 8 <= G && m[g >> 3] == 0) g += 7;
                continue;
            }
            L->counts[g]++;
            L->pos_rows[L->blk_pos[g]] += L->blk_rows[g];
            *cells += L->blk_cells[g];
            any = 1;
        }
        if (!any) continue;
        for (uint64_t p = 0; p < L->positions; p++) {
            if (!L->pos_rows[p]) continue;
            uint64_t rt = p % L->L->row_tiles, ct = p / L->L->row_tiles;
            for (uint64_t s = 0; s < L->L->xbars_per_pos; s++) {
                if (h->nsess == h->sess_cap) {
                    size_t nc = h->sess_cap ? 2 * h->sess_cap : 256;
                    hw_session *ns = realloc(h->sess, nc * sizeof *ns);
                    if (!ns) return ES_ENOMEM;
                    h->sess = ns;
                    h->sess_cap = nc;
                }
                uint64_t slot = map_xbar_slot(L->L, rt, ct, s);
                hw_session *se = &h->sess[h->nsess++];
                L->nsess++;
                se->layer = (uint32_t)l;
                se->tile = (uint32_t)(slot / h->xbars_per_tile);
                se->slot = slot;
                se->rows = L->pos_rows[p];
                se->release = 0;
                se->blocked = HW_C_WDRV_TILE;
                h->tot.row_writes += se->rows;
            }
        }
    }
    return ES_OK;
}

/* ---- construction ----------------------------------------------------------------------- */

static double per_vec(uint64_t total, uint64_t vectors)
{
    return vectors ? (double)total / (double)vectors : 0.0;
}

static void add_tile_stage(hw_op *o, int rk, int cause, uint32_t t0, uint32_t nt, double occ_total,
                           sim_time lat)
{
    if (!(occ_total > 0)) return;
    hw_stage *s = &o->st[o->nst++];
    s->kind = SK_TILE;
    s->rk = (uint8_t)rk;
    s->cause = (uint8_t)cause;
    s->t0 = t0;
    s->nt = nt;
    s->occ_per_vec = occ_total / (double)nt;
    s->lat = lat;
}

static int build_ops(hw_sim *h, const lop_op *src, es_err *err)
{
    const chip_model *c = h->chip;
    const tile_model *tm = &c->tile;
    const ima_model *im = &tm->ima;
    uint64_t B = (uint64_t)h->batch;
    double edram_bw = tm->edram.peak_bandwidth_bps, bus_bw = tm->bus.bandwidth_bps;
    double tsa_rate = (double)tm->sa.cfg.count * tm->sa.cfg.rate_hz;
    double act_rate = (double)tm->act.cfg.count * tm->act.cfg.rate_hz;
    double pool_rate = (double)tm->pool.cfg.count * tm->pool.cfg.rate_hz;
    double gu_rate = c->cfg.training ? tm->gu.mac_rate : 0.0;
    double off_bw = (double)c->offchip.cfg.links * c->offchip.cfg.bandwidth_bps;
    double act_bytes = (double)im->out_bytes;
    double rc = (double)im->read_cycle_ps, xc = (double)im->xbar.read_latency_ps;
    sim_time ima_lat = im->mvm_latency_ps > im->mvm_interval_ps
                           ? im->mvm_latency_ps - im->mvm_interval_ps
                           : 0;
    sim_time elat = tm->edram.access_latency_ps;
    int first_fwd = 1;

    for (size_t i = 0; i < h->nops; i++) {
        const lop_op *p = &src[i];
        hw_op *o = &h->ops[i];
        o->phase = p->phase;
        o->kind = p->kind;
        o->layer = p->layer;
        o->node = p->node;
        o->dep = -1;
        if (p->layer >= 0) {
            if ((size_t)p->layer >= h->nlayers)
                return es_fail(err, ES_EINVAL, "op %zu names layer %d of a %zu-layer mapping", i,
                               p->layer, h->nlayers);
            const map_layer *L = h->layers[p->layer].L;
            o->tile = (uint32_t)L->tile0;
            o->ntiles = (uint32_t)(L->tiles ? L->tiles : 1);
            snprintf(o->name, sizeof o->name, "%s %s", L->name, lop_kind_name(p->kind));
        } else {
            snprintf(o->name, sizeof o->name, "%s #%d", lop_kind_name(p->kind), p->node);
            o->ntiles = 1;
        }
        const uint64_t *n = p->n;
        if (p->kind == LOP_MVM || p->kind == LOP_MVM_T || p->kind == LOP_GRAD) {
            uint64_t V = n[LOP_C_VECTORS];
            if (V % B)
                return es_fail(err, ES_EINVAL, "op %zu (%s): %" PRIu64
                               " vectors is not a multiple of the batch %" PRIu64,
                               i, o->name, V, B);
            o->vpi = V / B ? V / B : 1;
        } else {
            o->vpi = 1;
        }
        o->chunk = h->opt.detail == CFG_DETAIL_FULL ? 1 : (h->opt.chunk ? h->opt.chunk : 1);
        if (o->vpi == 1) o->chunk = 1;
        if (o->chunk > o->vpi) o->chunk = o->vpi;
        o->nchunks = (uint32_t)((o->vpi + o->chunk - 1) / o->chunk);
        if ((uint64_t)o->nchunks >= (1u << 20) || B >= (1u << 20) || h->nops >= (1u << 20))
            return es_fail(err, ES_ERANGE, "op %s: %u events per image is too many; raise sim.chunk",
                           o->name, o->nchunks);
    }
    /* Home tiles of digital ops: the mapped op before them in the phase (else after). */
    for (int ph = 0; ph < LOP_NPHASE; ph++) {
        int last = -1;
        for (size_t i = 0; i < h->nops; i++) {
            hw_op *o = &h->ops[i];
            if (o->phase != ph) continue;
            if (o->layer >= 0) last = (int)o->tile;
            else if (last >= 0) o->tile = (uint32_t)last;
            else o->tile = UINT32_MAX;
        }
        int next = 0;
        for (size_t i = h->nops; i-- > 0;) {
            hw_op *o = &h->ops[i];
            if (o->phase != ph) continue;
            if (o->layer >= 0) next = (int)o->tile;
            else if (o->tile == UINT32_MAX) o->tile = (uint32_t)next;
        }
    }
    /* Stages and energies. */
    for (size_t i = 0; i < h->nops; i++) {
        const lop_op *p = &src[i];
        const uint64_t *n = p->n;
        hw_op *o = &h->ops[i];
        double *e = o->energy;
        uint64_t V = o->vpi * B;
        double rd = (double)n[LOP_C_BUFFER_READ_BYTES], wr = (double)n[LOP_C_BUFFER_WRITE_BYTES];
        double rd_v = per_vec((uint64_t)rd, V) * 1e12, wr_v = per_vec((uint64_t)wr, V) * 1e12;
        uint32_t t0 = o->tile, nt = o->ntiles;
        if (p->phase == LOP_UPDATE) continue; /* writes are sessions, not jobs */
        if (p->phase == LOP_FORWARD && first_fwd) {
            first_fwd = 0;
            double in = (double)n[LOP_C_ACT_IN_BYTES];
            if (in > 0 && off_bw > 0) {
                hw_stage *s = &o->st[o->nst++];
                s->kind = SK_OFFCHIP;
                s->cause = HW_C_OFFCHIP;
                s->occ_per_vec = in / (double)V / off_bw * 1e12;
                s->lat = arch_ps(c->offchip.cfg.latency_ps);
                e[HW_E_OFFCHIP] += in * c->offchip.byte_energy_pj;
            }
        }
        switch (p->kind) {
        case LOP_MVM:
        case LOP_MVM_T: {
            const map_layer *L = h->layers[p->layer].L;
            double reads = (double)n[LOP_C_XBAR_READS];
            double reads_v = reads / (double)V / (double)L->xbars; /* per vector and crossbar */
            add_tile_stage(o, RK_EDRAM, HW_C_EDRAM, t0, nt, rd_v / edram_bw, elat);
            add_tile_stage(o, RK_BUS, HW_C_BUS, t0, nt, rd_v / bus_bw, 0);
            hw_stage *s = &o->st[o->nst++];
            s->kind = SK_IMA;
            s->cause = HW_C_CROSSBAR;
            s->layer = (uint32_t)p->layer;
            s->occ_per_vec = reads_v * rc;
            s->stall_per_vec = rc > xc ? reads_v * (rc - xc) : 0.0;
            s->lat = ima_lat;
            if (n[LOP_C_PSUM_ADDS] && tsa_rate > 0)
                add_tile_stage(o, RK_TSA, HW_C_TILE_SA, t0, nt,
                               per_vec(n[LOP_C_PSUM_ADDS], V) / tsa_rate * 1e12,
                               tm->sa.op_latency_ps);
            add_tile_stage(o, RK_EDRAM, HW_C_EDRAM, t0, nt, wr_v / edram_bw, elat);
            double drive = p->kind == LOP_MVM
                               ? (double)n[LOP_C_VECTOR_LEN] / (double)L->row_tiles
                               : (double)n[LOP_C_VECTOR_LEN] * (double)L->cells_per_slice /
                                     (double)L->col_tiles;
            e[HW_E_XBAR] += reads * im->xbar.read_energy_pj;
            e[HW_E_DAC] += reads * drive * im->dac.drive_energy_pj;
            e[HW_E_SH] += (double)n[LOP_C_ADC_CONVERSIONS] * im->sh.sample_energy_pj;
            e[HW_E_ADC] += (double)n[LOP_C_ADC_CONVERSIONS] * im->adc.conversion_energy_pj;
            e[HW_E_IMA_SA] += (double)n[LOP_C_SHIFT_ADDS] * im->sa.op_energy_pj;
            e[HW_E_IMA_REG] += reads * (im->in_reg_bytes_per_read * im->in_reg.byte_energy_pj +
                                        im->out_reg_bytes_per_read * im->out_reg.byte_energy_pj);
            e[HW_E_TILE_SA] += (double)n[LOP_C_PSUM_ADDS] * tm->sa.op_energy_pj;
            e[HW_E_EDRAM] += (rd + wr) * tm->edram.byte_energy_pj;
            e[HW_E_BUS] += rd * tm->bus.byte_energy_pj;
            break;
        }
        case LOP_GRAD: {
            if (!(gu_rate > 0))
                return es_fail(err, ES_ECONFIG,
                               "the op stream has weight-gradient work but the chip has no "
                               "gradient unit: set arch.training: true");
            add_tile_stage(o, RK_EDRAM, HW_C_EDRAM, t0, nt, rd_v / edram_bw, elat);
            add_tile_stage(o, RK_GU, HW_C_GU, t0, nt,
                           per_vec(n[LOP_C_MACS], V) / gu_rate * 1e12, tm->gu.mac_latency_ps);
            e[HW_E_GU] += (double)n[LOP_C_MACS] * tm->gu.cfg.mac_energy_pj +
                          (rd + wr) * tm->gu.cfg.sram_energy_pj;
            e[HW_E_EDRAM] += rd * tm->edram.byte_energy_pj;
            break;
        }
        default: {
            double el = (double)n[LOP_C_ELEMENTS] / (double)B; /* per image */
            int rk, cause, ek;
            double rate;
            const dunit_model *u;
            if (p->kind == LOP_POOL) rk = RK_POOL, cause = HW_C_POOL, ek = HW_E_POOL, rate = pool_rate, u = &tm->pool;
            else if (p->kind == LOP_ELTWISE) rk = RK_TSA, cause = HW_C_TILE_SA, ek = HW_E_TILE_SA, rate = tsa_rate, u = &tm->sa;
            else rk = RK_ACT, cause = HW_C_ACT, ek = HW_E_ACT, rate = act_rate, u = &tm->act;
            double bytes = el * act_bytes;
            add_tile_stage(o, RK_EDRAM, HW_C_EDRAM, t0, 1, bytes / edram_bw * 1e12, elat);
            if (rate > 0) add_tile_stage(o, rk, cause, t0, 1, el / rate * 1e12, u->op_latency_ps);
            add_tile_stage(o, RK_EDRAM, HW_C_EDRAM, t0, 1, bytes / edram_bw * 1e12, elat);
            e[ek] += (double)n[LOP_C_ELEMENTS] * u->op_energy_pj;
            e[HW_E_EDRAM] += 2.0 * (double)n[LOP_C_ELEMENTS] * act_bytes * tm->edram.byte_energy_pj;
            break;
        }
        }
        if (o->nst == 0) { /* nothing to do costs one eDRAM touch of zero length */
            hw_stage *s = &o->st[o->nst++];
            s->kind = SK_TILE;
            s->rk = RK_EDRAM;
            s->cause = HW_C_EDRAM;
            s->t0 = t0;
            s->nt = 1;
        }
    }
    /* Chains, transfers, the barrier, gradient dependencies. */
    int prev[LOP_NPHASE] = {-1, -1, -1, -1};
    int last_bwd = -1;
    for (size_t i = 0; i < h->nops; i++) {
        hw_op *o = &h->ops[i];
        if (o->phase == LOP_FORWARD || o->phase == LOP_BACKWARD) {
            o->dep = prev[o->phase];
            if (o->phase == LOP_BACKWARD && o->dep < 0) o->barrier = 1;
            if (o->dep >= 0) {
                hw_op *d = &h->ops[o->dep];
                if (d->tile != o->tile) {
                    d->xfer = 1;
                    d->xfer_dst = o->tile;
                    uint64_t b = src[o->dep].n[LOP_C_ACT_OUT_BYTES];
                    if (!b) b = src[o->dep].n[LOP_C_BUFFER_WRITE_BYTES];
                    d->xfer_bytes = b / (uint64_t)h->batch;
                    if (!d->xfer_bytes) d->xfer_bytes = 1;
                }
            }
            prev[o->phase] = (int)i;
            if (o->phase == LOP_BACKWARD) last_bwd = (int)i;
        }
    }
    for (size_t i = 0; i < h->nops; i++) {
        hw_op *o = &h->ops[i];
        if (o->phase != LOP_GRADIENT) continue;
        int dep = -2;
        for (size_t j = 0; j < h->nops; j++) {
            hw_op *b = &h->ops[j];
            if (b->phase == LOP_BACKWARD && b->kind == LOP_MVM_T && b->layer == o->layer) {
                dep = b->dep; /* the op before l's transposed read */
                break;
            }
        }
        if (dep == -2) dep = last_bwd;
        if (dep < 0) o->barrier = 1;
        else o->dep = dep;
    }
    /* Successor lists and counters. */
    for (size_t i = 0; i < h->nops; i++)
        if (h->ops[i].dep >= 0) h->ops[h->ops[i].dep].nsucc++;
    for (size_t i = 0; i < h->nops; i++) {
        hw_op *o = &h->ops[i];
        if (o->nsucc && !(o->succ = calloc((size_t)o->nsucc, sizeof(int))))
            return es_fail(err, ES_ENOMEM, "out of memory");
        o->nsucc = 0;
        if (o->phase != LOP_UPDATE) {
            if (!(o->done_chunks = calloc((size_t)h->batch, sizeof(uint32_t))) ||
                !(o->ready = calloc((size_t)h->batch, 1)))
                return es_fail(err, ES_ENOMEM, "out of memory");
        }
    }
    for (size_t i = 0; i < h->nops; i++) {
        hw_op *o = &h->ops[i];
        if (o->dep >= 0) {
            hw_op *d = &h->ops[o->dep];
            d->succ[d->nsucc++] = (int)i;
        }
        if (o->barrier) h->nbarrier++;
        if (o->phase == LOP_UPDATE) continue;
        h->comp_jobs += B;
        if (o->phase == LOP_FORWARD) h->fwd_jobs += B;
        if (o->layer >= 0 && (o->phase == LOP_BACKWARD || o->phase == LOP_GRADIENT))
            h->layers[o->layer].pending_init++;
        for (int k = 0; k < HW_NE; k++) h->e_phase_dyn[o->phase][k] += o->energy[k];
        if (o->xfer) {
            double ne = noc_transfer_energy_pj(&h->chip->noc, o->tile, o->xfer_dst, o->xfer_bytes);
            o->energy[HW_E_NOC] += ne * (double)B;
            h->e_phase_dyn[o->phase][HW_E_NOC] += ne * (double)B;
        }
    }
    if (h->nbarrier && !(h->barrier_ops = calloc((size_t)h->nbarrier, sizeof(int))))
        return es_fail(err, ES_ENOMEM, "out of memory");
    h->nbarrier = 0;
    for (size_t i = 0; i < h->nops; i++)
        if (h->ops[i].barrier) h->barrier_ops[h->nbarrier++] = (int)i;
    return ES_OK;
}

static int build_layers(hw_sim *h, es_err *err)
{
    for (size_t l = 0; l < h->nlayers; l++) {
        hw_layer *L = &h->layers[l];
        const map_layer *ml = map_layer_at(h->plan, l);
        L->L = ml;
        L->positions = ml->row_tiles * ml->col_tiles;
        uint64_t last = ml->xbar0 + ml->xbars - 1;
        if (last / h->xbars_per_tile >= h->tiles)
            return es_fail(err, ES_ECONFIG,
                           "layer %s needs crossbars up to tile %" PRIu64 " but the chip has %" PRIu64
                           " tiles: raise arch.chip.tiles or use larger crossbars",
                           ml->name, last / h->xbars_per_tile, h->tiles);
        uint64_t G = ml->blocks;
        L->blk_pos = malloc(G * sizeof *L->blk_pos);
        L->blk_rows = malloc(G * sizeof *L->blk_rows);
        L->blk_cells = malloc(G * sizeof *L->blk_cells);
        L->counts = calloc(G, sizeof *L->counts);
        L->pos_rows = calloc(L->positions, sizeof *L->pos_rows);
        if (!L->blk_pos || !L->blk_rows || !L->blk_cells || !L->counts || !L->pos_rows)
            return es_fail(err, ES_ENOMEM, "out of memory for layer %s's blocks", ml->name);
        for (uint64_t g = 0; g < G; g++) {
            map_block b;
            map_block_get(ml, g, &b);
            L->blk_pos[g] = b.col_tile * ml->row_tiles + b.row_tile;
            L->blk_rows[g] = (uint32_t)b.nrows;
            L->blk_cells[g] = (uint32_t)map_block_cells(ml, g);
        }
    }
    return ES_OK;
}

int hw_create(const chip_model *chip, const map_plan *plan, const lop_op *ops, size_t nops,
              int batch, const hw_options *opt, hw_sim **out, es_err *err)
{
    *out = NULL;
    if (batch < 1) return es_fail(err, ES_EINVAL, "batch %d", batch);
    hw_sim *h = calloc(1, sizeof *h);
    if (!h) return es_fail(err, ES_ENOMEM, "out of memory");
    h->chip = chip;
    h->plan = plan;
    h->opt = *opt;
    h->batch = batch;
    h->tiles = (uint64_t)chip->cfg.tiles;
    h->xbars_per_tile = (uint64_t)chip->cfg.tile.imas * (uint64_t)chip->cfg.tile.ima.xbars;
    h->nops = nops;
    h->nlayers = map_num_layers(plan);
    const map_totals *mt = map_plan_totals(plan);
    int rc = ES_OK;
    if (!mt->fits) {
        rc = es_fail(err, ES_ECONFIG,
                     "the network needs %" PRIu64 " IMAs but the chip has %" PRIu64
                     " (%" PRIu64 " tiles x %" PRId64 "): raise arch.chip.tiles or arch.tile.imas",
                     mt->imas, h->tiles * (uint64_t)chip->cfg.tile.imas, h->tiles,
                     chip->cfg.tile.imas);
        goto fail;
    }
    const noc_model *nm = &chip->noc;
    h->ops = calloc(nops ? nops : 1, sizeof *h->ops);
    h->layers = calloc(h->nlayers ? h->nlayers : 1, sizeof *h->layers);
    h->tres = calloc(h->tiles * RK_NTILE, sizeof *h->tres);
    h->links = calloc(nm->grid_x * nm->grid_y * 4, sizeof *h->links);
    h->tq = calloc(h->tiles, sizeof *h->tq);
    h->tq_head = calloc(h->tiles, sizeof *h->tq_head);
    h->tq_len = calloc(h->tiles, sizeof *h->tq_len);
    h->tq_cap = calloc(h->tiles, sizeof *h->tq_cap);
    h->wfree_tile = calloc(h->tiles, sizeof *h->wfree_tile);
    h->act = calloc(h->tiles, sizeof *h->act);
    if (!h->act || !h->ops || !h->layers || !h->tres || !h->links || !h->tq || !h->tq_head || !h->tq_len ||
        !h->tq_cap || !h->wfree_tile) {
        rc = es_fail(err, ES_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = build_layers(h, err)) < 0) goto fail;
    h->leak_w = chip->cost.leak_w; /* tiles, NoC, off-chip, write drivers */
    if (chip->cfg.power_gating) {
        double used = (double)mt->tiles;
        h->leak_w -= ((double)h->tiles - used) * chip->tile.cost.leak_w;
        if (h->leak_w < 0) h->leak_w = 0;
    }
    if ((rc = build_ops(h, ops, err)) < 0) goto fail;
    if ((rc = sim_kernel_create(NULL, &h->k)) < 0) {
        rc = es_fail(err, rc, "cannot create the event kernel");
        goto fail;
    }
    if (opt->timeline) {
        size_t n = strlen(opt->timeline);
        h->tl_path = malloc(n + 1);
        h->tl_tmp = malloc(n + 32);
        if (!h->tl_path || !h->tl_tmp) {
            rc = es_fail(err, ES_ENOMEM, "out of memory");
            goto fail;
        }
        memcpy(h->tl_path, opt->timeline, n + 1);
        snprintf(h->tl_tmp, n + 32, "%s.tmp", opt->timeline);
        h->tl = fopen(h->tl_tmp, "w");
        if (!h->tl) {
            rc = es_fail(err, ES_EIO, "%s: cannot create: %s", h->tl_tmp, strerror(errno));
            goto fail;
        }
        fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", h->tl);
        h->tl_first = 1;
        h->tl_iters = opt->timeline_iterations ? opt->timeline_iterations : 1;
    }
    *out = h;
    return ES_OK;
fail:
    hw_destroy(h);
    return rc;
}

void hw_destroy(hw_sim *h)
{
    if (!h) return;
    if (h->tl) {
        fclose(h->tl);
        remove(h->tl_tmp);
    }
    free(h->tl_path);
    free(h->tl_tmp);
    for (size_t i = 0; h->ops && i < h->nops; i++) {
        free(h->ops[i].succ);
        free(h->ops[i].done_chunks);
        free(h->ops[i].ready);
    }
    free(h->ops);
    for (size_t l = 0; h->layers && l < h->nlayers; l++) {
        hw_layer *L = &h->layers[l];
        free(L->blk_pos);
        free(L->blk_rows);
        free(L->blk_cells);
        free(L->counts);
        free(L->pos_rows);
    }
    free(h->layers);
    free(h->tres);
    free(h->links);
    for (uint64_t t = 0; h->tq && t < h->tiles; t++) free(h->tq[t]);
    free(h->tq);
    free(h->tq_head);
    free(h->tq_len);
    free(h->tq_cap);
    free(h->wfree_tile);
    free(h->act);
    free(h->barrier_ops);
    free(h->sess);
    sim_kernel_destroy(h->k);
    free(h);
}

/* ---- one iteration ---------------------------------------------------------------------- */

static void reset_compute(hw_sim *h)
{
    for (size_t i = 0; i < h->nops; i++) {
        hw_op *o = &h->ops[i];
        if (o->phase == LOP_UPDATE) continue;
        memset(o->done_chunks, 0, (size_t)h->batch * sizeof(uint32_t));
        memset(o->ready, 0, (size_t)h->batch);
        o->next_img = 0;
        o->issuing = 0;
        o->imgs_done = 0;
    }
    for (size_t l = 0; l < h->nlayers; l++) h->layers[l].pending = h->layers[l].pending_init;
    h->fwd_jobs_done = 0;
    h->comp_jobs_done = 0;
}

int hw_iteration(hw_sim *h, const uint8_t *const *masks, int packed, es_err *err)
{
    uint64_t cells = 0;
    int rc = build_sessions(h, masks, packed, &cells);
    if (rc < 0) return es_fail(err, rc, "out of memory for write sessions");
    sim_kernel *k = h->k;
    sim_time t0 = sim_now(k);
    uint64_t ev0 = sim_events_executed(k);
    h->t0 = t0;
    h->tl_on = h->tl && h->tot.iterations < h->tl_iters;
    memset(h->it_stall, 0, sizeof h->it_stall);
    h->it_write_busy = 0;
    h->sess_done = 0;
    h->writes_end = t0;
    for (uint64_t t = 0; t < h->tiles; t++) {
        h->wfree_tile[t] = h->chip->cfg.tile.wdrv.per_tile > 0
                               ? (uint64_t)h->chip->cfg.tile.wdrv.per_tile
                               : 1;
        h->tq_head[t] = h->tq_len[t] = 0;
    }
    h->nact = 0;
    h->wfree_chip = h->chip->write_concurrency ? h->chip->write_concurrency : 1;
    int sim_compute = h->opt.detail == CFG_DETAIL_FULL || !h->have_compute;
    sim_time fwd, bwd, grad, comp;
    if (sim_compute) {
        reset_compute(h);
        h->fwd_end = h->bwd_end = h->grad_end = h->comp_end = t0;
        h->compute_done = 0;
        if (h->comp_jobs == 0) h->compute_done = 1;
        for (size_t i = 0; i < h->nops; i++) {
            hw_op *o = &h->ops[i];
            if (o->phase == LOP_FORWARD && o->dep < 0 && !o->barrier) {
                memset(o->ready, 1, (size_t)h->batch);
                try_issue(h, i);
            }
        }
        if (h->fwd_jobs == 0)
            for (int i = 0; i < h->nbarrier; i++) {
                memset(h->ops[h->barrier_ops[i]].ready, 1, (size_t)h->batch);
                try_issue(h, (size_t)h->barrier_ops[i]);
            }
        if (h->compute_done)
            for (size_t l = 0; l < h->nlayers; l++) release_layer(h, l);
    } else {
        /* Replay the cached compute: release the layers' writes at their times. */
        h->compute_done = 0;
        for (size_t l = 0; l < h->nlayers; l++) {
            sim_time rel = h->opt.overlap_writes ? h->layers[l].ready_rel : h->c_comp;
            if (sched(h, t0 + rel, ev_release, l) < 0) break;
        }
        h->comp_end = t0 + h->c_comp;
    }
    if (!h->fail) {
        sim_run_limits lim = SIM_RUN_LIMITS_NONE;
        rc = sim_run(k, &lim);
        if (rc < 0 && !h->fail) h->fail = rc;
    }
    if (!h->fail && h->sess_done != h->nsess) h->fail = ES_ESTATE;
    if (h->fail) {
        int f = h->fail;
        h->fail = 0;
        return es_fail(err, f, "hardware simulation failed in iteration %" PRIu64 " (%s)",
                       h->tot.iterations, f == ES_ENOMEM ? "out of memory" : "time overflow");
    }
    if (sim_compute) {
        fwd = h->fwd_end - t0;
        bwd = (h->bwd_end > h->fwd_end ? h->bwd_end : h->fwd_end) - t0;
        grad = (h->grad_end > t0 + bwd ? h->grad_end - t0 : bwd);
        comp = h->comp_end - t0;
        if (!h->have_compute) {
            h->have_compute = 1;
            h->c_fwd = fwd, h->c_bwd = bwd, h->c_grad = grad, h->c_comp = comp;
            /* compute stalls are those of a compute-only pass: write stalls kept apart */
            for (int c = 0; c < HW_NC; c++)
                if (c != HW_C_WDRV_TILE && c != HW_C_WDRV_CHIP) h->c_stall[c] = h->it_stall[c];
            h->tot.compute_time_s = (double)comp * 1e-12;
        }
    } else {
        fwd = h->c_fwd, bwd = h->c_bwd, grad = h->c_grad, comp = h->c_comp;
        for (int c = 0; c < HW_NC; c++) h->it_stall[c] += h->c_stall[c];
    }
    sim_time end = t0 + comp;
    if (h->writes_end > end) {
        h->it_stall[HW_C_WRITE_WAIT] += (double)(h->writes_end - end);
        end = h->writes_end;
    }
    /* Keep time monotonic for the next iteration's events. */
    if (sim_now(k) < end) {
        /* advance the kernel's clock with an empty event */
        sim_run_limits lim = SIM_RUN_LIMITS_NONE;
        if (!sim_schedule_at(k, end, 0, ev_noop, NULL, 0))
            return es_fail(err, ES_ERANGE, "simulated time overflow");
        sim_run(k, &lim);
    }
    sim_time dt = end - t0;
    double ph_t[LOP_NPHASE] = {(double)fwd, (double)(bwd - fwd), (double)(grad - bwd),
                               (double)(dt - grad)};
    hw_totals *T = &h->tot;
    double leak_pj = h->leak_w * (double)dt; /* W x ps = pJ */
    double write_pj = (double)cells * h->chip->tile.ima.xbar.cell_write_energy_pj;
    for (int p = 0; p < LOP_NPHASE; p++) {
        double e = 0;
        for (int c = 0; c < HW_NE; c++) {
            e += h->e_phase_dyn[p][c];
            T->energy_j_by_component[c] += h->e_phase_dyn[p][c] * 1e-12;
        }
        if (p == LOP_UPDATE) e += write_pj;
        e += dt > 0 ? leak_pj * ph_t[p] / (double)dt : 0.0;
        T->energy_j_by_phase[p] += e * 1e-12;
        T->energy_j += e * 1e-12;
        T->time_s_by_phase[p] += ph_t[p] * 1e-12;
    }
    T->energy_j_by_component[HW_E_WRITE] += write_pj * 1e-12;
    T->energy_j_by_component[HW_E_LEAKAGE] += leak_pj * 1e-12;
    for (int c = 0; c < HW_NC; c++) T->stall_s_by_cause[c] += h->it_stall[c] * 1e-12;
    T->write_busy_s += h->it_write_busy * 1e-12;
    T->cells_written += cells;
    T->time_s += (double)dt * 1e-12;
    T->iterations++;
    T->events += sim_events_executed(k) - ev0;
    return ES_OK;
}

int hw_finish(hw_sim *h, es_err *err)
{
    if (!h->tl) return ES_OK;
    /* Name the processes and threads used. */
    for (uint64_t t = 0; t <= h->tiles; t++) {
        fprintf(h->tl, ",\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%" PRIu64
                       ",\"args\":{\"name\":\"%s%" PRIu64 "\"}}",
                t, t == h->tiles ? "noc and off-chip " : "tile ", t == h->tiles ? 0 : t);
        if (t == h->tiles) break;
        for (int r = 0; r < RK_NTILE; r++)
            fprintf(h->tl, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%" PRIu64
                           ",\"tid\":%d,\"args\":{\"name\":\"%s\"}}",
                    t, r, rk_names[r]);
        fprintf(h->tl, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%" PRIu64
                       ",\"tid\":50,\"args\":{\"name\":\"write drivers\"}}", t);
    }
    for (size_t l = 0; l < h->nlayers; l++)
        fprintf(h->tl, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%" PRIu64
                       ",\"tid\":%zu,\"args\":{\"name\":\"IMAs of %s\"}}",
                h->layers[l].L->tile0, 100 + l, h->layers[l].L->name);
    fputs("\n]}\n", h->tl);
    int bad = ferror(h->tl);
    if (fclose(h->tl) != 0) bad = 1;
    h->tl = NULL;
    if (bad) {
        remove(h->tl_tmp);
        return es_fail(err, ES_EIO, "%s: write error", h->tl_tmp);
    }
    if (rename(h->tl_tmp, h->tl_path) != 0) {
        int e = errno;
        remove(h->tl_tmp);
        return es_fail(err, ES_EIO, "%s: cannot rename into place: %s", h->tl_path, strerror(e));
    }
    return ES_OK;
}

void hw_reset_totals(hw_sim *h)
{
    double ct = h->tot.compute_time_s;
    memset(&h->tot, 0, sizeof h->tot);
    h->tot.compute_time_s = ct;
}

void hw_get_totals(const hw_sim *h, hw_totals *t)
{
    *t = h->tot;
}

/* The fixed-size part of the state: totals and the cached compute, in this order. */
enum { HWS_U64 = 9, HWS_F64 = 2 + 2 * LOP_NPHASE + HW_NE + 2 * HW_NC + 2 };

static void state_pack(const hw_sim *h, uint64_t *u, double *f)
{
    const hw_totals *T = &h->tot;
    size_t i = 0, j = 0;
    u[i++] = T->iterations, u[i++] = T->row_writes, u[i++] = T->cells_written;
    u[i++] = T->events, u[i++] = (uint64_t)h->have_compute, u[i++] = h->c_fwd;
    u[i++] = h->c_bwd, u[i++] = h->c_grad, u[i++] = h->c_comp;
    f[j++] = T->time_s, f[j++] = T->energy_j;
    for (int p = 0; p < LOP_NPHASE; p++) f[j++] = T->time_s_by_phase[p];
    for (int p = 0; p < LOP_NPHASE; p++) f[j++] = T->energy_j_by_phase[p];
    for (int c = 0; c < HW_NE; c++) f[j++] = T->energy_j_by_component[c];
    for (int c = 0; c < HW_NC; c++) f[j++] = T->stall_s_by_cause[c];
    for (int c = 0; c < HW_NC; c++) f[j++] = h->c_stall[c];
    f[j++] = T->write_busy_s, f[j++] = T->compute_time_s;
}

static void state_unpack(hw_sim *h, const uint64_t *u, const double *f)
{
    hw_totals *T = &h->tot;
    size_t i = 0, j = 0;
    T->iterations = u[i++], T->row_writes = u[i++], T->cells_written = u[i++];
    T->events = u[i++], h->have_compute = u[i++] != 0, h->c_fwd = u[i++];
    h->c_bwd = u[i++], h->c_grad = u[i++], h->c_comp = u[i++];
    T->time_s = f[j++], T->energy_j = f[j++];
    for (int p = 0; p < LOP_NPHASE; p++) T->time_s_by_phase[p] = f[j++];
    for (int p = 0; p < LOP_NPHASE; p++) T->energy_j_by_phase[p] = f[j++];
    for (int c = 0; c < HW_NE; c++) T->energy_j_by_component[c] = f[j++];
    for (int c = 0; c < HW_NC; c++) T->stall_s_by_cause[c] = f[j++];
    for (int c = 0; c < HW_NC; c++) h->c_stall[c] = f[j++];
    T->write_busy_s = f[j++], T->compute_time_s = f[j++];
}

void hw_save(const hw_sim *h, es_put_fn put, void *ctx)
{
    uint64_t u[HWS_U64];
    double f[HWS_F64];
    state_pack(h, u, f);
    put(ctx, "hw/state", u, NULL, NULL, HWS_U64);
    put(ctx, "hw/fstate", NULL, NULL, f, HWS_F64);
    char name[64];
    for (size_t l = 0; l < h->nlayers; l++) {
        snprintf(name, sizeof name, "hw/counts/%zu", l);
        put(ctx, name, h->layers[l].counts, NULL, NULL, (size_t)h->layers[l].L->blocks);
        snprintf(name, sizeof name, "hw/ready/%zu", l);
        uint64_t rel = h->layers[l].ready_rel;
        put(ctx, name, &rel, NULL, NULL, 1);
    }
}

int hw_restore(hw_sim *h, es_get_fn get, void *ctx, es_err *err)
{
    uint64_t u[HWS_U64];
    double f[HWS_F64];
    int rc = get(ctx, "hw/state", u, NULL, NULL, HWS_U64);
    if (rc == 0) rc = get(ctx, "hw/fstate", NULL, NULL, f, HWS_F64);
    char name[64];
    for (size_t l = 0; rc == 0 && l < h->nlayers; l++) {
        snprintf(name, sizeof name, "hw/counts/%zu", l);
        rc = get(ctx, name, h->layers[l].counts, NULL, NULL, (size_t)h->layers[l].L->blocks);
        snprintf(name, sizeof name, "hw/ready/%zu", l);
        uint64_t rel = 0;
        if (rc == 0) rc = get(ctx, name, &rel, NULL, NULL, 1);
        h->layers[l].ready_rel = rel;
    }
    if (rc < 0) return err && err->code ? rc : es_fail(err, rc, "hardware state: missing record");
    state_unpack(h, u, f);
    return ES_OK;
}

const uint64_t *hw_block_counts(const hw_sim *h, size_t l)
{
    return l < h->nlayers ? h->layers[l].counts : NULL;
}

/* Isolated one-image latency of op o: its chunks stream through the stages behind the busiest
 * one, then the last chunk finishes its path, then the output crosses the NoC. */
static double op_image_latency(const hw_sim *h, const hw_op *o, double *occ_img)
{
    double path = 0, big = 0, img = 0;
    for (int s = 0; s < o->nst; s++) {
        double c = (double)ps_round(o->st[s].occ_per_vec * (double)o->chunk);
        path += c + (double)o->st[s].lat;
        if (c > big) big = c;
        double im = o->st[s].occ_per_vec * (double)o->vpi;
        if (im > img) img = im;
    }
    double lat = path + (double)(o->nchunks - 1) * big;
    if (o->xfer)
        lat += (double)noc_transfer_latency_ps(&h->chip->noc, o->tile, o->xfer_dst, o->xfer_bytes);
    *occ_img = img;
    return lat;
}

double hw_pipeline_bound_s(const hw_sim *h)
{
    double B1 = (double)(h->batch - 1);
    /* Chain completion times of the first and the last image at every op. */
    double *first = calloc(h->nops ? h->nops : 1, sizeof *first);
    double *last = calloc(h->nops ? h->nops : 1, sizeof *last);
    double *smax = calloc(h->nops ? h->nops : 1, sizeof *smax);
    if (!first || !last || !smax) {
        free(first), free(last), free(smax);
        return NAN;
    }
    double fwd_end = 0, end = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < h->nops; i++) {
            const hw_op *o = &h->ops[i];
            if (o->phase == LOP_UPDATE) continue;
            if ((pass == 0) != (o->phase == LOP_FORWARD)) continue;
            double S, D = op_image_latency(h, o, &S);
            double f0 = 0, l0 = 0, s0 = 0;
            if (o->dep >= 0) f0 = first[o->dep], l0 = last[o->dep], s0 = smax[o->dep];
            else if (o->barrier) f0 = l0 = fwd_end;
            first[i] = f0 + D;
            smax[i] = S > s0 ? S : s0;
            /* the last image leaves the slowest op so far (S) behind the first by (B-1) S */
            double a = l0 + D, b = f0 + D + B1 * S;
            last[i] = a > b ? a : b;
            if (last[i] > end) end = last[i];
        }
        if (pass == 0) fwd_end = end;
    }
    free(first), free(last), free(smax);
    return end * 1e-12;
}

static int put(stat_registry *r, const char *name, const char *unit, const char *desc, double v,
               es_err *err)
{
    stat_entry *e = stat_register_scalar(r, name, unit, desc, err);
    if (!e) return err && err->code ? err->code : ES_ENOMEM;
    stat_set(e, v);
    return ES_OK;
}

int hw_stats(const hw_sim *h, stat_registry *r, es_err *err)
{
    const hw_totals *T = &h->tot;
    char name[128];
    double it = T->iterations ? (double)T->iterations : 1.0;
    ES_TRY(put(r, "hw.time_s", "s", "simulated time of every iteration", T->time_s, err));
    ES_TRY(put(r, "hw.energy_j", "J", "energy of every iteration", T->energy_j, err));
    ES_TRY(put(r, "hw.area_mm2", "mm2", "chip area", h->chip->cost.area_mm2, err));
    ES_TRY(put(r, "hw.power_w_avg", "W", "energy / time",
               T->time_s > 0 ? T->energy_j / T->time_s : 0.0, err));
    ES_TRY(put(r, "hw.peak_tops", "Tops/s", "peak throughput (one MAC = 2 ops)",
               h->chip->peak_ops_per_s * 1e-12, err));
    ES_TRY(put(r, "hw.iterations", "", "iterations simulated", (double)T->iterations, err));
    ES_TRY(put(r, "hw.time_s_per_iteration", "s", "mean simulated time per iteration",
               T->time_s / it, err));
    ES_TRY(put(r, "hw.compute_time_s_per_iteration", "s",
               "one iteration's compute phases (forward to the last gradient job)",
               T->compute_time_s, err));
    ES_TRY(put(r, "hw.compute_bound_s_per_iteration", "s",
               "analytic pipeline bound of the compute phases (no contention, see hwsim.h)",
               hw_pipeline_bound_s(h), err));
    ES_TRY(put(r, "hw.energy_j_per_iteration", "J", "mean energy per iteration",
               T->energy_j / it, err));
    ES_TRY(put(r, "hw.write_busy_s", "s", "write-session time summed over crossbars",
               T->write_busy_s, err));
    ES_TRY(put(r, "hw.row_writes", "", "crossbar row segments programmed",
               (double)T->row_writes, err));
    ES_TRY(put(r, "hw.cells_written", "", "cells programmed", (double)T->cells_written, err));
    ES_TRY(put(r, "hw.events", "", "events executed by the hardware model", (double)T->events,
               err));
    ES_TRY(put(r, "hw.chunk", "", "input vectors per compute event",
               h->opt.detail == CFG_DETAIL_FULL ? 1.0 : (double)h->opt.chunk, err));
    stat_entry *d = stat_register_string(r, "hw.detail", "", "sim.detail", err);
    if (!d || stat_set_string(d, h->opt.detail == CFG_DETAIL_FULL ? "full" : "fast") < 0)
        return err && err->code ? err->code : ES_ENOMEM;
    for (int c = 0; c < HW_NE; c++) {
        snprintf(name, sizeof name, "hw.energy_j_by_component.%s", energy_names[c]);
        ES_TRY(put(r, name, "J", "energy of one component kind", T->energy_j_by_component[c],
                   err));
    }
    for (int p = 0; p < LOP_NPHASE; p++) {
        snprintf(name, sizeof name, "hw.energy_j_by_phase.%s", lop_phase_name(p));
        ES_TRY(put(r, name, "J", "energy of one phase (leakage by its time share)",
                   T->energy_j_by_phase[p], err));
        snprintf(name, sizeof name, "hw.time_s_by_phase.%s", lop_phase_name(p));
        ES_TRY(put(r, name, "s", "critical-path time of one phase (see hwsim.h)",
                   T->time_s_by_phase[p], err));
    }
    for (int c = 0; c < HW_NC; c++) {
        snprintf(name, sizeof name, "hw.stall_s_by_cause.%s", cause_names[c]);
        ES_TRY(put(r, name, "s", "job-seconds waiting for this resource", T->stall_s_by_cause[c],
                   err));
    }
    return ES_OK;
}

int hw_write_heatmaps(const hw_sim *h, const char *dir, es_err *err)
{
    size_t cap = 1024;
    char *path = malloc(cap);
    if (!path) return es_fail(err, ES_ENOMEM, "out of memory");
    int rc = ES_OK;
    for (size_t l = 0; l < h->nlayers && rc == ES_OK; l++) {
        const map_layer *L = h->layers[l].L;
        const uint64_t *cnt = h->layers[l].counts;
        snprintf(path, cap, "%s/heatmap-%s.csv", dir, L->name);
        es_atomic_file afs, *af = &afs;
        rc = es_atomic_open(af, path, err);
        if (rc < 0) break;
        FILE *f = af->fp;
        fprintf(f, "# write counts of layer %s: one line per weight row (K = %" PRIu64
                   "), one column per column tile (%" PRIu64 "); crossbar row tile = row / %"
                   PRIu64 "; value = the most writes any cell of that row segment took\n",
                L->name, L->k, L->col_tiles, L->rows);
        uint64_t *row = calloc(L->col_tiles, sizeof *row);
        if (!row) {
            es_atomic_abort(af);
            rc = es_fail(err, ES_ENOMEM, "out of memory");
            break;
        }
        for (uint64_t r0 = 0; r0 < L->k; r0++) {
            for (uint64_t j = 0; j < L->col_tiles; j++) {
                uint64_t n_w = L->weights_per_row, c0 = j * n_w;
                uint64_t c1 = c0 + n_w < L->n ? c0 + n_w : L->n, mx = 0;
                if (L->granularity == CFG_GRAN_WEIGHT) {
                    for (uint64_t c = c0; c < c1; c++) {
                        uint64_t v = cnt[map_block_of(L, r0, c)];
                        if (v > mx) mx = v;
                    }
                } else {
                    mx = cnt[map_block_of(L, r0, c0)];
                }
                row[j] = mx;
                fprintf(f, "%s%" PRIu64, j ? "," : "", mx);
            }
            fputc('\n', f);
        }
        free(row);
        rc = es_atomic_commit(af, err);
    }
    free(path);
    return rc;
}
