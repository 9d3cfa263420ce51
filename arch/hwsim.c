/* hwsim.c - event-driven execution of training iterations on the chip (see hwsim.h): each
 * lowered op's chunks of vectors flow through its stages as events, reserving tile, IMA, NoC
 * and off-chip resources; the update phase's write sessions occupy the write drivers. The
 * ops are lowered in hwsim_lower.c; totals, checkpoints and statistics are in hwsim_stats.c. */
#include "hwsim_internal.h"
#include "wpol.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ------------------------------------------------------------------------------ */

static const char *const energy_names[HW_NE] = {
    "xbar",        "dac",          "sh",          "adc",          "ima_sa",
    "ima_reg",     "tile_sa",      "activation",  "maxpool",      "edram",
    "bus",         "gu",           "noc",         "offchip",      "write",
    "residual",    "leakage_ima",  "leakage_tile", "leakage_gu",  "leakage_noc",
    "leakage_chip", "leakage_residual", "wakeup"};
static const char *const cause_names[HW_NC] = {
    "edram", "bus", "crossbar", "adc",       "tile_sa",   "activation", "maxpool",
    "gu",    "noc", "offchip",  "wdrv_tile", "wdrv_chip", "write_wait"};

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
    const wpol_ops *p = wpol_find_name(cfg_choice_name("policy.name", cfg->policy.name));
    o->residual = cfg->policy.residual || (p && p->residual);
    o->residual_bits = cfg->arch.gu.residual_bits;
    o->pulses = cfg->arch.cell.update == CFG_UPD_PULSE;
    o->max_pulses = cfg->arch.cell.pulse.max_pulses;
}

void hw_tl_event(hw_sim *h, const char *name, const char *cat, uint64_t pid, uint64_t tid,
                     sim_time start, sim_time dur)
{
    if (!h->tl_on || !h->tl) return;
    fprintf(h->tl,
            "%s\n{\"name\":\"%s\",\"cat\":\"%s\",\"ph\":\"X\",\"ts\":%.6f,\"dur\":%.6f,"
            "\"pid\":%" PRIu64 ",\"tid\":%" PRIu64 "}",
            h->tl_first ? "" : ",", name, cat, (double)start * 1e-6, (double)dur * 1e-6, pid, tid);
    h->tl_first = 0;
}

/* Thread ids of the timeline: per tile resources 0..RK_NTILE-1, IMAs 100 + layer, write
 * drivers 50; the NoC and the off-chip link are process `tiles`. */
static const char *const rk_names[RK_NTILE] = {"edram",      "bus",     "tile_sa",
                                               "activation", "maxpool", "gu"};

static int sched(hw_sim *h, sim_time when, sim_handler fn, uint64_t data)
{
    if (!sim_schedule_at(h->k, when, 0, fn, h, data)) {
        if (!h->fail) h->fail = sim_last_error(h->k) ? sim_last_error(h->k) : ES_ERANGE;
        sim_stop(h->k);
        return -1;
    }
    return 0;
}

static void ev_stage(sim_kernel *k, void *arg, uint64_t data);
static void ev_chunk_done(sim_kernel *k, void *arg, uint64_t data);
static void ev_img_done(sim_kernel *k, void *arg, uint64_t data);
static void ev_issue_next(sim_kernel *k, void *arg, uint64_t data);
static void ev_release(sim_kernel *k, void *arg, uint64_t data);
static void ev_session_done(sim_kernel *k, void *arg, uint64_t data);
static void ev_psum(sim_kernel *k, void *arg, uint64_t data);

/* Broadcast image img of op o to the copies on other tiles (hwsim_noc.c) now; it can issue
 * when the last share has arrived. ready[img]: 0 waiting for its input, 1 input here, 2 sent. */
static void send_input(hw_sim *h, hw_op *o, uint32_t img)
{
    sim_time now = sim_now(h->k), t = now;
    for (int f = 0; f < o->nbcast; f++) {
        sim_time a = hw_noc_send(h, o, o->bcast[f].src, o->bcast[f].dst,
                                 (uint64_t)o->bcast[f].bytes, now);
        if (a > t) t = a;
    }
    o->ready[img] = 2;
    o->ready_at[img] = t;
}

/* Issue op oi's next image if its input is here. The broadcast runs one image ahead (the
 * copies' input buffers are double-buffered): image b + 1's is sent when b can issue. */
static void try_issue(hw_sim *h, size_t oi)
{
    hw_op *o = &h->ops[oi];
    for (uint32_t b = o->next_img; b < o->next_img + 2 && b < (uint32_t)h->nimg; b++)
        if (o->ready[b] == 1) send_input(h, o, b);
    if (o->issuing || o->next_img >= (uint32_t)h->nimg || !o->ready[o->next_img]) return;
    o->issuing = 1;
    sim_time now = sim_now(h->k), at = o->ready_at[o->next_img];
    sched(h, at > now ? at : now, ev_stage, job(oi, o->next_img, 0, 0));
}

static void set_ready(hw_sim *h, size_t oi, uint32_t img)
{
    h->ops[oi].ready[img] = 1;
}

static void set_all_ready(hw_sim *h, size_t oi)
{
    for (uint32_t b = 0; b < (uint32_t)h->nimg; b++)
        set_ready(h, oi, b);
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
            if (h->tl_on && occ)
                hw_tl_event(h, o->name, lop_phase_name(o->phase), s->t0 + i, s->rk, start, occ);
        }
    } else {
        hw_res *r = s->kind == SK_IMA ? &h->layers[s->layer].ima : &h->offchip;
        if (r->free > start) start = r->free, foreign = r->owner != me;
        r->free = start + occ;
        r->busy += occ;
        r->owner = me;
        if (h->tl_on && occ) {
            if (s->kind == SK_IMA)
                hw_tl_event(h, o->name, lop_phase_name(o->phase), o->tile, 100 + s->layer, start,
                            occ);
            else
                hw_tl_event(h, o->name, "offchip", h->tiles, 1, start, occ);
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
    if (o->st[st].kind == SK_IMA && o->npsum)
        sched(h, out, ev_psum, data);
    else if ((int)st + 1 < o->nst)
        sched(h, out, ev_stage, job(oi, img, c, st + 1));
    else
        sched(h, out, ev_chunk_done, job(oi, img, c, st));
}

/* A chunk's crossbar reads are done: its partial sums travel to the tiles that add them
 * (hwsim_noc.c), then it goes on. */
static void ev_psum(sim_kernel *k, void *arg, uint64_t data)
{
    hw_sim *h = arg;
    uint64_t oi = data >> 44, img = (data >> 24) & 0xFFFFF, c = (data >> 4) & 0xFFFFF,
             st = data & 0xF;
    hw_op *o = &h->ops[oi];
    sim_time now = sim_now(k), t = now;
    uint64_t n = chunk_items(o, c);
    for (int f = 0; f < o->npsum; f++) {
        uint64_t b = (uint64_t)ceil(o->psum[f].bytes * (double)n - 1e-9);
        sim_time a = hw_noc_send(h, o, o->psum[f].src, o->psum[f].dst, b, now);
        if (a > t) t = a;
    }
    if ((int)st + 1 < o->nst)
        sched(h, t, ev_stage, job(oi, img, c, st + 1));
    else
        sched(h, t, ev_chunk_done, job(oi, img, c, st));
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

static void ev_chunk_done(sim_kernel *k, void *arg, uint64_t data)
{
    hw_sim *h = arg;
    uint64_t oi = data >> 44, img = (data >> 24) & 0xFFFFF;
    hw_op *o = &h->ops[oi];
    if (++o->done_chunks[img] < o->nchunks) return;
    sim_time now = sim_now(k);
    if (o->xfer) {
        sim_time t = hw_noc_send(h, o, o->tile, o->xfer_dst, o->xfer_bytes, now);
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
        set_ready(h, (size_t)o->succ[i], (uint32_t)img);
        try_issue(h, (size_t)o->succ[i]);
    }
    h->comp_jobs_done++;
    if (o->phase == LOP_FORWARD) {
        if (++h->fwd_jobs_done == h->fwd_jobs_now) {
            h->fwd_end = now;
            for (int i = 0; i < h->nbarrier; i++) {
                set_all_ready(h, (size_t)h->barrier_ops[i]);
                try_issue(h, (size_t)h->barrier_ops[i]);
            }
        }
    } else if (o->phase == LOP_BACKWARD) {
        if (now > h->bwd_end) h->bwd_end = now;
    } else if (o->phase == LOP_GRADIENT) {
        if (now > h->grad_end) h->grad_end = now;
    }
    if (o->imgs_done == (uint32_t)h->nimg && o->layer >= 0 &&
        (o->phase == LOP_BACKWARD || o->phase == LOP_GRADIENT)) {
        hw_layer *L = &h->layers[o->layer];
        if (--L->pending == 0) {
            if (h->nimg == h->batch)
                L->ready_rel = now - h->t0;
            else
                L->ready_rel_part = now - h->t0;
            if (h->opt.overlap_writes) release_layer(h, (size_t)o->layer);
        }
    }
    if (h->comp_jobs_done == h->comp_jobs_now) {
        h->comp_end = now;
        h->compute_done = 1;
        if (h->fwd_end == h->t0 && h->fwd_jobs_now == 0) h->fwd_end = now;
        if (!h->opt.overlap_writes)
            for (size_t l = 0; l < h->nlayers; l++)
                release_layer(h, l);
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

/* The event data of a started batch: the session (group) and how many of it started. */
#define BATCH_BITS 16
#define BATCH_MAX  ((1u << BATCH_BITS) - 1)

/* Start group si now on k driver sets: its `left` sessions run in rounds of k, the group
 * holding the k sets until the last round ends (one event). A session of round j waits j
 * session lengths for its drivers, a stall of `cause` (what limited k: the tile's driver
 * sets or the chip's budget). */
static void start_sessions(hw_sim *h, size_t si, uint32_t k, int cause, sim_time now)
{
    hw_session *s = &h->sess[si];
    sim_time one = s->dur;
    uint64_t n = s->left, rounds = (n + k - 1) / k;
    h->wfree_tile[s->tile] -= k;
    h->wfree_chip -= k;
    s->left = 0;
    if (now > s->release) h->it_stall[s->blocked] += (double)n * (double)(now - s->release);
    /* sum over the sessions of floor(i / k) for i < n: k (0 + 1 + ... + (rounds - 2)) plus
     * (rounds - 1) for the last, partial or full, round's n - k (rounds - 1) sessions */
    double waits = (double)k * (double)(rounds - 1) * (double)(rounds - 2) / 2.0 +
                   (double)(rounds - 1) * (double)(n - (uint64_t)k * (rounds - 1));
    if (rounds > 1) h->it_stall[cause] += waits * (double)one;
    h->it_write_busy += (double)n * (double)one;
    sim_time dur = (sim_time)rounds * one;
    if (h->tl_on) hw_tl_event(h, h->layers[s->layer].L->name, "write", s->tile, 50, now, dur);
    sched(h, now + dur, ev_session_done, ((uint64_t)si << BATCH_BITS) | k);
}

static void drain_tile(hw_sim *h, uint64_t t, int blocked_by_tile, sim_time now)
{
    while (h->tq_len[t] > 0 && h->wfree_tile[t] > 0 && h->wfree_chip > 0) {
        size_t si = h->tq[t][h->tq_head[t]];
        hw_session *s = &h->sess[si];
        uint64_t k = s->left;
        int cause = HW_C_WDRV_TILE;
        if (k > h->wfree_tile[t]) k = h->wfree_tile[t];
        if (k > h->wfree_chip) k = h->wfree_chip, cause = HW_C_WDRV_CHIP;
        if (k > BATCH_MAX) k = BATCH_MAX;
        /* A session that waited was held up by its tile's drivers when they were all busy
           until a session of its own tile ended just now, else by the chip's budget. */
        s->blocked = blocked_by_tile ? HW_C_WDRV_TILE : HW_C_WDRV_CHIP;
        h->tq_head[t]++;
        h->tq_len[t]--;
        start_sessions(h, si, (uint32_t)k, cause, now);
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
    hw_session *s = &h->sess[data >> BATCH_BITS];
    uint32_t n = (uint32_t)(data & BATCH_MAX);
    sim_time now = sim_now(k);
    int full = h->wfree_tile[s->tile] == 0;
    h->wfree_tile[s->tile] += n;
    h->wfree_chip += n;
    h->sess_done += s->mult;
    if (now > h->writes_end) h->writes_end = now;
    dispatch(h, s->tile, full, now);
}

static void ev_noop(sim_kernel *k, void *arg, uint64_t data)
{
    (void)k, (void)arg, (void)data;
}

/* Build this iteration's write sessions from the masks. */
static int build_sessions(hw_sim *h, const uint8_t *const *masks, int packed, uint64_t *cells,
                          uint64_t *weights, double *write_pj)
{
    const xbar_model *xm = &h->chip->tile.ima.xbar;
    uint64_t vcells = 0; /* cells written by program-and-verify */
    double ppj = 0;      /* energy of the incremental pulses */
    h->nsess = 0;
    h->nsess_all = 0;
    *cells = 0;
    *weights = 0;
    for (size_t l = 0; l < h->nlayers; l++) {
        hw_layer *L = &h->layers[l];
        const uint8_t *m = masks ? masks[l] : NULL;
        L->sess0 = h->nsess;
        L->nsess = 0;
        L->nsess_all = 0;
        if (!m) continue;
        uint64_t G = L->L->blocks;
        memset(L->pos_rows, 0, L->positions * sizeof *L->pos_rows);
        memset(L->pos_dur, 0, L->positions * sizeof *L->pos_dur);
        const uint64_t cpw = L->L->slices * L->L->cells_per_slice * L->L->copies;
        uint64_t any = 0;
        for (uint64_t g = 0; g < G; g++) {
            int on = packed ? (m[g >> 3] >> (g & 7)) & 1 : m[g] != 0;
            if (!on) {
                if (packed && (g & 7) == 0 && g + 8 <= G && m[g >> 3] == 0) g += 7;
                continue;
            }
            L->counts[g]++;
            L->pos_rows[L->blk_pos[g]] += L->blk_rows[g];
            *cells += L->blk_cells[g] * L->L->copies; /* every copy is written */
            if (L->have_pulses) {
                /* incremental pulses: a row's cells pulse together, as many times as its
                   weight that needs the most; every cell of a weight takes its pulses */
                L->pos_dur[L->blk_pos[g]] +=
                    (sim_time)L->blk_rows[g] * L->blk_pmax[g] * xm->pulse_latency_ps;
                ppj += (double)L->blk_psum[g] * (double)cpw * xm->pulse_cell_energy_pj;
            } else {
                L->pos_dur[L->blk_pos[g]] += (sim_time)L->blk_rows[g] * xm->row_write_latency_ps;
                vcells += L->blk_cells[g] * L->L->copies;
            }
            *weights += L->blk_cells[g] / (L->L->slices * L->L->cells_per_slice);
            any = 1;
        }
        if (!any) continue;
        for (uint64_t p = 0; p < L->positions; p++) {
            if (!L->pos_rows[p]) continue;
            for (size_t gi = L->grp_off[p]; gi < L->grp_off[p + 1]; gi++) {
                const hw_group *gr = &L->grp[gi];
                if (h->nsess == h->sess_cap) {
                    size_t nc = h->sess_cap ? 2 * h->sess_cap : 256;
                    hw_session *ns = realloc(h->sess, nc * sizeof *ns);
                    if (!ns) return ES_ENOMEM;
                    h->sess = ns;
                    h->sess_cap = nc;
                }
                hw_session *se = &h->sess[h->nsess++];
                L->nsess++;
                L->nsess_all += gr->mult;
                h->nsess_all += gr->mult;
                se->layer = (uint32_t)l;
                se->tile = gr->tile;
                se->slot = gr->slot;
                se->rows = L->pos_rows[p];
                se->dur = L->pos_dur[p];
                se->release = 0;
                se->mult = se->left = gr->mult;
                se->blocked = HW_C_WDRV_TILE;
                h->tot.row_writes += se->rows * gr->mult;
            }
        }
    }
    *write_pj = (double)vcells * xm->cell_write_energy_pj + ppj;
    for (size_t l = 0; l < h->nlayers; l++)
        h->layers[l].have_pulses = 0; /* they were this iteration's */
    return ES_OK;
}

int hw_set_pulses(hw_sim *h, size_t l, const uint64_t *sum, const uint32_t *max, es_err *err)
{
    if (l >= h->nlayers) return es_fail(err, ES_EINVAL, "hw_set_pulses: layer %zu of %zu", l, h->nlayers);
    hw_layer *L = &h->layers[l];
    const size_t G = (size_t)L->L->blocks;
    if (!L->blk_psum) {
        L->blk_psum = malloc((G ? G : 1) * sizeof *L->blk_psum);
        L->blk_pmax = malloc((G ? G : 1) * sizeof *L->blk_pmax);
        if (!L->blk_psum || !L->blk_pmax) return es_fail(err, ES_ENOMEM, "out of memory");
    }
    memcpy(L->blk_psum, sum, G * sizeof *sum);
    memcpy(L->blk_pmax, max, G * sizeof *max);
    L->have_pulses = 1;
    return ES_OK;
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
    for (size_t l = 0; l < h->nlayers; l++)
        h->layers[l].pending = h->layers[l].pending_init;
    h->fwd_jobs_done = 0;
    h->comp_jobs_done = 0;
}

int hw_iteration(hw_sim *h, const uint8_t *const *masks, int packed, es_err *err)
{
    return hw_iteration_n(h, masks, packed, h->batch, err);
}

int hw_iteration_n(hw_sim *h, const uint8_t *const *masks, int packed, int images, es_err *err)
{
    if (images < 1 || images > h->batch)
        return es_fail(err, ES_EINVAL, "hw_iteration_n: %d images in a batch of %d", images,
                       h->batch);
    const int full = images == h->batch;
    h->nimg = images;
    h->fwd_jobs_now = h->fwd_jobs / (uint64_t)h->batch * (uint64_t)images;
    h->comp_jobs_now = h->comp_jobs / (uint64_t)h->batch * (uint64_t)images;
    uint64_t cells = 0, wrote = 0;
    double write_pj = 0;
    int rc = build_sessions(h, masks, packed, &cells, &wrote, &write_pj);
    if (rc < 0) return es_fail(err, rc, "out of memory for write sessions");
    sim_kernel *k = h->k;
    sim_time t0 = sim_now(k);
    uint64_t ev0 = sim_events_executed(k);
    h->t0 = t0;
    h->tl_on = h->tl && h->tot.iterations < h->tl_iters;
    memset(h->it_stall, 0, sizeof h->it_stall);
    h->it_write_busy = 0;
    h->it_port_wait = 0;
    h->sess_done = 0;
    h->writes_end = t0;
    for (uint64_t t = 0; t < h->tiles; t++) {
        h->wfree_tile[t] =
            h->chip->cfg.tile.wdrv.per_tile > 0 ? (uint64_t)h->chip->cfg.tile.wdrv.per_tile : 1;
        h->tq_head[t] = h->tq_len[t] = 0;
    }
    h->nact = 0;
    h->wfree_chip = h->chip->write_concurrency ? h->chip->write_concurrency : 1;
    const int cached = full ? h->have_compute : h->pc.nimg == images;
    int sim_compute = h->opt.detail == CFG_DETAIL_FULL || !cached;
    sim_time fwd, bwd, grad, comp;
    if (sim_compute) {
        reset_compute(h);
        h->fwd_end = h->bwd_end = h->grad_end = h->comp_end = t0;
        h->compute_done = 0;
        if (h->comp_jobs_now == 0) h->compute_done = 1;
        for (size_t i = 0; i < h->nops; i++) {
            hw_op *o = &h->ops[i];
            if (o->phase == LOP_FORWARD && o->dep < 0 && !o->barrier) {
                set_all_ready(h, i);
                try_issue(h, i);
            }
        }
        if (h->fwd_jobs_now == 0)
            for (int i = 0; i < h->nbarrier; i++) {
                set_all_ready(h, (size_t)h->barrier_ops[i]);
                try_issue(h, (size_t)h->barrier_ops[i]);
            }
        if (h->compute_done)
            for (size_t l = 0; l < h->nlayers; l++)
                release_layer(h, l);
    } else {
        /* Replay the cached compute: release the layers' writes at their times. */
        h->compute_done = 0;
        const sim_time c_comp = full ? h->c_comp : h->pc.comp;
        for (size_t l = 0; l < h->nlayers; l++) {
            sim_time rel = !h->opt.overlap_writes ? c_comp
                           : full                 ? h->layers[l].ready_rel
                                                  : h->layers[l].ready_rel_part;
            if (sched(h, t0 + rel, ev_release, l) < 0) break;
        }
        h->comp_end = t0 + c_comp;
    }
    if (!h->fail) {
        sim_run_limits lim = SIM_RUN_LIMITS_NONE;
        rc = sim_run(k, &lim);
        if (rc < 0 && !h->fail) h->fail = rc;
    }
    if (!h->fail && h->sess_done != h->nsess_all) h->fail = ES_ESTATE;
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
        if (full && !h->have_compute) {
            h->have_compute = 1;
            h->c_fwd = fwd, h->c_bwd = bwd, h->c_grad = grad, h->c_comp = comp;
            /* compute stalls are those of a compute-only pass: write stalls kept apart */
            for (int c = 0; c < HW_NC; c++)
                if (c != HW_C_WDRV_TILE && c != HW_C_WDRV_CHIP) h->c_stall[c] = h->it_stall[c];
            h->tot.compute_time_s = (double)comp * 1e-12;
            h->c_port_wait = h->it_port_wait;
        } else if (!full && h->pc.nimg != images) {
            h->pc.nimg = images;
            h->pc.fwd = fwd, h->pc.bwd = bwd, h->pc.grad = grad, h->pc.comp = comp;
            for (int c = 0; c < HW_NC; c++)
                h->pc.stall[c] =
                    c != HW_C_WDRV_TILE && c != HW_C_WDRV_CHIP ? h->it_stall[c] : 0.0;
            h->pc.port_wait = h->it_port_wait;
        }
    } else if (full) {
        fwd = h->c_fwd, bwd = h->c_bwd, grad = h->c_grad, comp = h->c_comp;
        for (int c = 0; c < HW_NC; c++)
            h->it_stall[c] += h->c_stall[c];
        h->it_port_wait += h->c_port_wait;
    } else {
        fwd = h->pc.fwd, bwd = h->pc.bwd, grad = h->pc.grad, comp = h->pc.comp;
        for (int c = 0; c < HW_NC; c++)
            h->it_stall[c] += h->pc.stall[c];
        h->it_port_wait += h->pc.port_wait;
    }
    sim_time end = t0 + comp;
    if (h->writes_end > end) {
        h->it_stall[HW_C_WRITE_WAIT] += (double)(h->writes_end - end);
        end = h->writes_end;
    }
    /* Power gating: the update interval's units are the tiles writing this iteration; an
       interval that turns on units the one before it (cyclically) had off pays their wake-up,
       in time (at the end of the iteration: the next one waits for it) and energy. */
    double ph_t[LOP_NPHASE] = {(double)fwd, (double)(bwd - fwd), (double)(grad - bwd),
                               (double)(end - t0 - grad)};
    double wake_pj[LOP_NPHASE] = {0}, wake_ps[LOP_NPHASE] = {0};
    uint64_t non[2][LOP_NPHASE] = {{0}};
    if (h->gating) {
        uint8_t *ut = h->tile_on[LOP_UPDATE], *ur = h->router_on[LOP_UPDATE];
        memset(ut, 0, h->tiles);
        memset(ur, 0, h->nrouters);
        const uint64_t tpr = (uint64_t)h->chip->noc.cfg.tiles_per_router;
        for (size_t i = 0; i < h->nsess; i++) {
            ut[h->sess[i].tile] = 1;
            ur[h->sess[i].tile / tpr] = 1;
        }
        int prev = -1;
        for (int p = LOP_NPHASE; p-- > 0;)
            if (ph_t[p] > 0) {
                prev = p;
                break;
            }
        const double be = h->chip->cfg.wakeup_breakeven_ps;
        for (int p = 0; p < LOP_NPHASE; p++) {
            for (uint64_t t = 0; t < h->tiles; t++)
                non[0][p] += h->tile_on[p][t];
            for (uint64_t r = 0; r < h->nrouters; r++)
                non[1][p] += h->router_on[p][r];
            if (!(ph_t[p] > 0) || prev < 0) continue;
            uint64_t wt = 0, wr = 0;
            for (uint64_t t = 0; t < h->tiles; t++)
                wt += h->tile_on[p][t] && !h->tile_on[prev][t];
            for (uint64_t r = 0; r < h->nrouters; r++)
                wr += h->router_on[p][r] && !h->router_on[prev][r];
            if (wt + wr) {
                wake_pj[p] = ((double)wt * h->leak_tile_w + (double)wr * h->leak_router_w) * be;
                wake_ps[p] = h->chip->cfg.wakeup_time_ps;
                h->tot.wakeups += wt + wr;
            }
            prev = p;
        }
        for (int p = 0; p < LOP_NPHASE; p++) {
            end += (sim_time)wake_ps[p];
            ph_t[p] += (double)(sim_time)wake_ps[p];
        }
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
    hw_totals *T = &h->tot;
    const double ipt = (double)h->chip->tile.cfg.imas;
    /* a partial batch: its images' share of the batch's work (hwsim.h, "Partial batches") */
    const double share = (double)images / (double)h->batch;
    for (int p = 0; p < LOP_NPHASE; p++) {
        double e = 0, leak[HW_NE] = {0}; /* W x ps = pJ */
        if (h->gating) {
            leak[HW_E_LEAK_IMA] = h->leak_ima_w * h->ima_busy_ps[p] * share;
            leak[HW_E_LEAK_TILE] = h->leak_tile_w * (double)non[0][p] * ph_t[p];
            leak[HW_E_LEAK_GU] = h->leak_gu_w * h->gu_busy_ps[p] * share;
            leak[HW_E_LEAK_NOC] = h->leak_router_w * (double)non[1][p] * ph_t[p];
            leak[HW_E_WAKEUP] = wake_pj[p] + (p == LOP_FORWARD ? h->ima_wake_pj : 0.0) +
                                h->gu_wake_pj[p];
        } else {
            leak[HW_E_LEAK_IMA] = h->leak_ima_w * ipt * (double)h->tiles * ph_t[p];
            leak[HW_E_LEAK_TILE] = h->leak_tile_w * (double)h->tiles * ph_t[p];
            leak[HW_E_LEAK_GU] = h->leak_gu_w * (double)h->tiles * ph_t[p];
            leak[HW_E_LEAK_NOC] = h->leak_router_w * (double)h->chip->noc.routers * ph_t[p];
        }
        leak[HW_E_LEAK_CHIP] = h->leak_chip_w * ph_t[p];
        leak[HW_E_LEAK_RESIDUAL] = h->residual_leak_w * ph_t[p];
        if (p == LOP_UPDATE && h->residual_bytes > 0)
            /* every weight's update added (read, write), the written ones read out and
               cleared (read, write) */
            leak[HW_E_RESIDUAL] = 2.0 * ((double)h->residual_bytes +
                                         (double)wrote * (double)h->opt.residual_bits / 8.0) *
                                  h->residual_byte_pj;
        for (int c = 0; c < HW_NE; c++) {
            double ec = h->e_phase_dyn[p][c] * share + h->e_phase_fix[p][c] + leak[c];
            e += ec;
            T->energy_j_by_component[c] += ec * 1e-12;
            if (c >= HW_E_LEAK_IMA) T->energy_j_idle += ec * 1e-12;
        }
        if (p == LOP_UPDATE) e += write_pj;
        T->energy_j_by_phase[p] += e * 1e-12;
        T->energy_j += e * 1e-12;
        T->time_s_by_phase[p] += ph_t[p] * 1e-12;
    }
    T->energy_j_by_component[HW_E_WRITE] += write_pj * 1e-12;
    for (int c = 0; c < HW_NC; c++)
        T->stall_s_by_cause[c] += h->it_stall[c] * 1e-12;
    T->write_busy_s += h->it_write_busy * 1e-12;
    T->noc_port_wait_s += h->it_port_wait * 1e-12;
    T->cells_written += cells;
    T->time_s += (double)dt * 1e-12;
    T->iterations++;
    T->images += (uint64_t)images;
    T->events += sim_events_executed(k) - ev0;
    return ES_OK;
}

int hw_finish(hw_sim *h, es_err *err)
{
    if (!h->tl) return ES_OK;
    /* Name the processes and threads used. */
    for (uint64_t t = 0; t <= h->tiles; t++) {
        fprintf(h->tl,
                ",\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%" PRIu64
                ",\"args\":{\"name\":\"%s%" PRIu64 "\"}}",
                t, t == h->tiles ? "noc and off-chip " : "tile ", t == h->tiles ? 0 : t);
        if (t == h->tiles) break;
        for (int r = 0; r < RK_NTILE; r++)
            fprintf(h->tl,
                    ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%" PRIu64
                    ",\"tid\":%d,\"args\":{\"name\":\"%s\"}}",
                    t, r, rk_names[r]);
        fprintf(h->tl,
                ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%" PRIu64
                ",\"tid\":50,\"args\":{\"name\":\"write drivers\"}}",
                t);
    }
    for (size_t l = 0; l < h->nlayers; l++)
        fprintf(h->tl,
                ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%" PRIu64
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
