/* hwsim_lower.c - lowering the layer-op stream onto the chip: every op becomes stages with a
 * per-vector cost on the resources it occupies (tile units, the layer's IMAs, the off-chip
 * link), from the component models of chip.h; the layers' blocks and their write costs. The
 * simulator is created and destroyed here; hwsim.c runs it. */
#include "hwsim_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

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

/* An off-chip transfer of spilled activations (spill.h), ps per vector on the link. */
static void add_spill_stage(hw_sim *h, hw_op *o, double occ_per_vec)
{
    hw_stage *s = &o->st[o->nst++];
    s->kind = SK_OFFCHIP;
    s->cause = HW_C_OFFCHIP;
    s->spill = 1;
    s->occ_per_vec = occ_per_vec;
    s->lat = arch_ps(h->chip->offchip.cfg.latency_ps);
}

/* One iteration's spill transfers: per chunk, its link time and the latency. */
static void spill_time(hw_sim *h)
{
    for (size_t i = 0; i < h->nops; i++) {
        const hw_op *o = &h->ops[i];
        for (int k = 0; k < o->nst; k++) {
            const hw_stage *s = &o->st[k];
            if (!s->spill) continue;
            uint64_t lastn = o->vpi - (uint64_t)(o->nchunks - 1) * o->chunk;
            double img = (double)(o->nchunks - 1) *
                             (double)(ps_round(s->occ_per_vec * (double)o->chunk) + s->lat) +
                         (double)(ps_round(s->occ_per_vec * (double)lastn) + s->lat);
            h->spill_ps += img * (double)h->batch;
        }
    }
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
    sim_time ima_lat =
        im->mvm_latency_ps > im->mvm_interval_ps ? im->mvm_latency_ps - im->mvm_interval_ps : 0;
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
                return es_fail(err, ES_EINVAL,
                               "op %zu (%s): %" PRIu64
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
            return es_fail(err, ES_ERANGE,
                           "op %s: %u events per image is too many; raise sim.chunk", o->name,
                           o->nchunks);
    }
    /* Home tiles of digital ops: the tiles of the mapped op before them in the phase (else
       after), where its outputs are: a layer spread over several tiles (its copies, or many
       crossbars) has them post-processed in each of those tiles. */
    for (int ph = 0; ph < LOP_NPHASE; ph++) {
        int last = -1;
        uint32_t last_nt = 1;
        for (size_t i = 0; i < h->nops; i++) {
            hw_op *o = &h->ops[i];
            if (o->phase != ph) continue;
            if (o->layer >= 0) {
                last = (int)o->tile;
                last_nt = o->ntiles;
            } else if (last >= 0) {
                o->tile = (uint32_t)last;
                o->ntiles = last_nt;
            } else {
                o->tile = UINT32_MAX;
            }
        }
        int next = 0;
        uint32_t next_nt = 1;
        for (size_t i = h->nops; i-- > 0;) {
            hw_op *o = &h->ops[i];
            if (o->phase != ph) continue;
            if (o->layer >= 0) {
                next = (int)o->tile;
                next_nt = o->ntiles;
            } else if (o->tile == UINT32_MAX) {
                o->tile = (uint32_t)next;
                o->ntiles = next_nt;
            }
        }
    }
    /* Kept activations that overflow the eDRAM (spill.h): the forward op writes them off chip
       after its work (its last stage), the op that needs them reads them back first. */
    const spill_plan *sp = h->spill;
    uint64_t *readback = calloc(h->nops ? h->nops : 1, sizeof *readback);
    if (!readback) return es_fail(err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; i < h->nops; i++)
        if (sp->op_spilled[i] && sp->op_reader[i] >= 0)
            readback[sp->op_reader[i]] += sp->op_spilled[i];
    if (sp->spilled && !(off_bw > 0)) {
        free(readback);
        return es_fail(err, ES_ECONFIG,
                       "%" PRIu64 " bytes of kept activations do not fit the eDRAM and the chip "
                       "has no off-chip link: raise arch.edram.size or arch.offchip.links",
                       sp->spilled);
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
        if (readback[i]) {
            add_spill_stage(h, o, (double)readback[i] / (double)V / off_bw * 1e12);
            e[HW_E_OFFCHIP] += (double)readback[i] * c->offchip.byte_energy_pj;
        }
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
            h->xbar_macs += (double)n[LOP_C_VECTORS] * (double)n[LOP_C_VECTOR_LEN] *
                            (double)n[LOP_C_OUTPUT_LEN];
            double reads_v = reads / (double)V / (double)L->xbars; /* per vector and crossbar */
            add_tile_stage(o, RK_EDRAM, HW_C_EDRAM, t0, nt, rd_v / edram_bw, elat);
            add_tile_stage(o, RK_BUS, HW_C_BUS, t0, nt, rd_v / bus_bw, 0);
            hw_stage *s = &o->st[o->nst++];
            s->kind = SK_IMA;
            s->cause = HW_C_CROSSBAR;
            s->layer = (uint32_t)p->layer;
            /* r copies read r vectors at once: a chunk of n vectors holds the layer's IMAs
             * for n / r vector times (the copies share the chunk's vectors). */
            double r = (double)L->copies;
            s->occ_per_vec = reads_v * rc / r;
            s->stall_per_vec = rc > xc ? reads_v * (rc - xc) / r : 0.0;
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
            add_tile_stage(o, RK_GU, HW_C_GU, t0, nt, per_vec(n[LOP_C_MACS], V) / gu_rate * 1e12,
                           tm->gu.mac_latency_ps);
            /* the gradient's write-out (wr: K N weights) is once per batch, the rest per image */
            e[HW_E_GU] += (double)n[LOP_C_MACS] * tm->gu.cfg.mac_energy_pj +
                          rd * tm->gu.cfg.sram_energy_pj;
            h->e_phase_fix[p->phase][HW_E_GU] += wr * tm->gu.cfg.sram_energy_pj;
            e[HW_E_EDRAM] += rd * tm->edram.byte_energy_pj;
            break;
        }
        default: {
            double el = (double)n[LOP_C_ELEMENTS] / (double)B; /* per image */
            int rk, cause, ek;
            double rate;
            const dunit_model *u;
            if (p->kind == LOP_POOL)
                rk = RK_POOL, cause = HW_C_POOL, ek = HW_E_POOL, rate = pool_rate, u = &tm->pool;
            else if (p->kind == LOP_ELTWISE)
                rk = RK_TSA, cause = HW_C_TILE_SA, ek = HW_E_TILE_SA, rate = tsa_rate, u = &tm->sa;
            else
                rk = RK_ACT, cause = HW_C_ACT, ek = HW_E_ACT, rate = act_rate, u = &tm->act;
            double bytes = el * act_bytes;
            add_tile_stage(o, RK_EDRAM, HW_C_EDRAM, t0, nt, bytes / edram_bw * 1e12, elat);
            if (rate > 0) add_tile_stage(o, rk, cause, t0, nt, el / rate * 1e12, u->op_latency_ps);
            add_tile_stage(o, RK_EDRAM, HW_C_EDRAM, t0, nt, bytes / edram_bw * 1e12, elat);
            e[ek] += (double)n[LOP_C_ELEMENTS] * u->op_energy_pj;
            e[HW_E_EDRAM] += 2.0 * (double)n[LOP_C_ELEMENTS] * act_bytes * tm->edram.byte_energy_pj;
            break;
        }
        }
        if (sp->op_spilled[i]) {
            add_spill_stage(h, o, (double)sp->op_spilled[i] / (double)V / off_bw * 1e12);
            e[HW_E_OFFCHIP] += (double)sp->op_spilled[i] * c->offchip.byte_energy_pj;
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
    free(readback);
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
        if (dep < 0)
            o->barrier = 1;
        else
            o->dep = dep;
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
                !(o->ready = calloc((size_t)h->batch, 1)) ||
                !(o->ready_at = calloc((size_t)h->batch, sizeof(sim_time))))
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
        for (int k = 0; k < HW_NE; k++)
            h->e_phase_dyn[o->phase][k] += o->energy[k];
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
        uint64_t last = ml->xbar0 + (ml->copies - 1) * ml->copy_slots + ml->xbars - 1;
        if (last / h->xbars_per_tile >= h->tiles)
            return es_fail(err, ES_ECONFIG,
                           "layer %s needs crossbars up to tile %" PRIu64
                           " but the chip has %" PRIu64
                           " tiles: raise arch.chip.tiles or use larger crossbars",
                           ml->name, last / h->xbars_per_tile, h->tiles);
        uint64_t G = ml->blocks;
        L->blk_pos = malloc(G * sizeof *L->blk_pos);
        L->blk_rows = malloc(G * sizeof *L->blk_rows);
        L->blk_cells = malloc(G * sizeof *L->blk_cells);
        L->counts = calloc(G, sizeof *L->counts);
        L->pos_rows = calloc(L->positions, sizeof *L->pos_rows);
        L->pos_dur = calloc(L->positions, sizeof *L->pos_dur);
        if (h->opt.pulses) { /* hw_set_pulses fills them */
            L->blk_psum = calloc(G ? G : 1, sizeof *L->blk_psum);
            L->blk_pmax = calloc(G ? G : 1, sizeof *L->blk_pmax);
            if (!L->blk_psum || !L->blk_pmax)
                return es_fail(err, ES_ENOMEM, "out of memory for layer %s's blocks", ml->name);
        }
        if (!L->blk_pos || !L->blk_rows || !L->blk_cells || !L->counts || !L->pos_rows ||
            !L->pos_dur)
            return es_fail(err, ES_ENOMEM, "out of memory for layer %s's blocks", ml->name);
        for (uint64_t g = 0; g < G; g++) {
            map_block b;
            map_block_get(ml, g, &b);
            L->blk_pos[g] = b.col_tile * ml->row_tiles + b.row_tile;
            L->blk_rows[g] = (uint32_t)b.nrows;
            L->blk_cells[g] = (uint32_t)map_block_cells(ml, g);
        }
        /* Write groups per position: its crossbars, every slice of every copy (copy-major),
           in runs that sit in one tile (hw_session). */
        const uint64_t S = ml->xbars_per_pos, nj = ml->copies * S;
        L->grp_off = malloc((L->positions + 1) * sizeof *L->grp_off);
        if (!L->grp_off) return es_fail(err, ES_ENOMEM, "out of memory for layer %s", ml->name);
        size_t cap = 0, n = 0;
        for (uint64_t p = 0; p < L->positions; p++) {
            uint64_t rt = p % ml->row_tiles, ct = p / ml->row_tiles;
            L->grp_off[p] = n;
            for (uint64_t j = 0; j < nj;) {
                uint64_t slot = map_xbar_slot_copy(ml, j / S, rt, ct, j % S);
                uint64_t tile = slot / h->xbars_per_tile, run = 1;
                while (j + run < nj && run < UINT32_MAX &&
                       map_xbar_slot_copy(ml, (j + run) / S, rt, ct, (j + run) % S) /
                               h->xbars_per_tile ==
                           tile)
                    run++;
                if (n == cap) {
                    cap = cap ? 2 * cap : 16;
                    hw_group *g = realloc(L->grp, cap * sizeof *g);
                    if (!g) return es_fail(err, ES_ENOMEM, "out of memory for layer %s", ml->name);
                    L->grp = g;
                }
                L->grp[n++] = (hw_group){slot, (uint32_t)tile, (uint32_t)run};
                j += run;
            }
        }
        L->grp_off[L->positions] = n;
    }
    return ES_OK;
}

/* Mark the routers on the XY route from tile a to tile b (hwsim.c's noc_send) in on[]. */
static void mark_route(const hw_sim *h, uint64_t a, uint64_t b, uint8_t *on)
{
    const noc_model *nm = &h->chip->noc;
    uint64_t c = (uint64_t)nm->cfg.tiles_per_router, X = nm->grid_x;
    uint64_t ra = a / c, rb = b / c, x = ra % X, y = ra / X, tx = rb % X, ty = rb / X;
    on[ra] = 1;
    while (x != tx || y != ty) {
        if (x < tx)
            x++;
        else if (x > tx)
            x--;
        else if (y < ty)
            y++;
        else
            y--;
        on[y * X + x] = 1;
    }
}

/* Leakage per unit and, with power gating, the units each compute interval keeps on
 * (hwsim.h, "Leakage"): the tiles of its ops (a layer's every tile), the routers of those
 * tiles and the routers on the routes between consecutive ops; the update interval's tiles
 * are the ones with write sessions, found per iteration. */
static int build_gating(hw_sim *h, es_err *err)
{
    const chip_model *c = h->chip;
    const noc_model *nm = &c->noc;
    const uint64_t ipt = (uint64_t)c->tile.cfg.imas, tpr = (uint64_t)nm->cfg.tiles_per_router;
    h->gating = c->cfg.power_gating;
    h->nrouters = nm->grid_x * nm->grid_y;
    h->leak_ima_w = c->tile.ima.cost.leak_w;
    h->leak_gu_w = c->cfg.training ? c->tile.gu.cost.leak_w : 0.0;
    h->leak_tile_w = c->tile.cost.leak_w - (double)ipt * h->leak_ima_w - h->leak_gu_w;
    h->leak_router_w = nm->routers ? c->part[CHIP_PART_NOC].total.leak_w / (double)nm->routers : 0;
    h->leak_chip_w = c->cost.leak_w - (double)h->tiles * c->tile.cost.leak_w -
                     c->part[CHIP_PART_NOC].total.leak_w;
    if (h->leak_chip_w < 0) h->leak_chip_w = 0;
    for (int p = 0; p < LOP_NPHASE; p++) {
        h->tile_on[p] = calloc(h->tiles ? h->tiles : 1, 1);
        h->router_on[p] = calloc(h->nrouters ? h->nrouters : 1, 1);
        if (!h->tile_on[p] || !h->router_on[p]) return es_fail(err, ES_ENOMEM, "out of memory");
    }
    const double wake = c->cfg.wakeup_breakeven_ps * 1e-12;
    int last[LOP_NPHASE] = {-1, -1, -1, -1};
    for (size_t i = 0; i < h->nops; i++) {
        const hw_op *o = &h->ops[i];
        if (o->phase == LOP_UPDATE || o->tile >= h->tiles) continue;
        /* computing weight gradients: each tile's gradient unit for its share of the work,
           waking once for the op */
        if (o->kind == LOP_GRAD)
            for (int s = 0; s < o->nst; s++)
                if (o->st[s].kind == SK_TILE && o->st[s].rk == RK_GU) {
                    h->gu_busy_ps[o->phase] += (double)o->vpi * (double)h->batch *
                                               o->st[s].occ_per_vec * (double)o->st[s].nt;
                    h->gu_wake_pj[o->phase] +=
                        (double)o->st[s].nt * h->leak_gu_w * wake * 1e12;
                }
        /* the weight gradients run beside the backward reads: both keep the backward
           interval's units on */
        int iv[2] = {o->phase, o->phase == LOP_GRADIENT ? LOP_BACKWARD : -1};
        for (int k = 0; k < 2; k++) {
            if (iv[k] < 0) continue;
            for (uint64_t t = o->tile; t < o->tile + o->ntiles && t < h->tiles; t++) {
                h->tile_on[iv[k]][t] = 1;
                h->router_on[iv[k]][t / tpr] = 1;
            }
            if (last[iv[k]] >= 0 && (uint64_t)last[iv[k]] != o->tile)
                mark_route(h, (uint64_t)last[iv[k]], o->tile, h->router_on[iv[k]]);
            last[iv[k]] = (int)o->tile;
        }
        /* the routers a broadcast or partial sums cross */
        for (int f = 0; f < o->nbcast; f++)
            mark_route(h, o->bcast[f].src, o->bcast[f].dst, h->router_on[o->phase]);
        for (int f = 0; f < o->npsum; f++)
            mark_route(h, o->psum[f].src, o->psum[f].dst, h->router_on[o->phase]);
        /* reading crossbars: every IMA of the layer, for its share of the vectors */
        if ((o->kind == LOP_MVM || o->kind == LOP_MVM_T) && o->layer >= 0) {
            const map_layer *L = h->layers[o->layer].L;
            for (int s = 0; s < o->nst; s++)
                if (o->st[s].kind == SK_IMA)
                    h->ima_busy_ps[o->phase] +=
                        (double)o->vpi * (double)h->batch * o->st[s].occ_per_vec * (double)L->imas;
            /* each of the layer's IMAs wakes once for each op that reads it */
            h->ima_wake_pj += (double)L->imas * h->leak_ima_w * wake * 1e12;
        }
    }
    const map_totals *mt = map_plan_totals(h->plan);
    h->used_imas = mt->imas;
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
                     "the network needs %" PRIu64 " IMAs but the chip has %" PRIu64 " (%" PRIu64
                     " tiles x %" PRId64 "): raise arch.chip.tiles or arch.tile.imas",
                     mt->imas, h->tiles * (uint64_t)chip->cfg.tile.imas, h->tiles,
                     chip->cfg.tile.imas);
        goto fail;
    }
    h->ops = calloc(nops ? nops : 1, sizeof *h->ops);
    h->layers = calloc(h->nlayers ? h->nlayers : 1, sizeof *h->layers);
    h->tres = calloc(h->tiles * RK_NTILE, sizeof *h->tres);
    h->tq = calloc(h->tiles, sizeof *h->tq);
    h->tq_head = calloc(h->tiles, sizeof *h->tq_head);
    h->tq_len = calloc(h->tiles, sizeof *h->tq_len);
    h->tq_cap = calloc(h->tiles, sizeof *h->tq_cap);
    h->wfree_tile = calloc(h->tiles, sizeof *h->wfree_tile);
    h->act = calloc(h->tiles, sizeof *h->act);
    if (!h->act || !h->ops || !h->layers || !h->tres || !h->tq || !h->tq_head ||
        !h->tq_len || !h->tq_cap || !h->wfree_tile) {
        rc = es_fail(err, ES_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = build_layers(h, err)) < 0) goto fail;
    (void)mt;
    if ((rc = spill_plan_create(plan, ops, nops, (uint64_t)chip->tile.edram.cfg.size, &h->spill,
                                err)) < 0)
        goto fail;
    if ((rc = build_ops(h, ops, err)) < 0) goto fail;
    if ((rc = hw_noc_build(h, ops, err)) < 0) goto fail;
    spill_time(h);
    if ((rc = build_gating(h, err)) < 0) goto fail;
    /* the residual buffer (hwsim.h, "Residual buffer"): one value per mapped weight */
    if (h->opt.residual) {
        const gu_config *g = &chip->tile.gu.cfg;
        uint64_t bits = 0;
        for (size_t l = 0; l < h->nlayers; l++)
            bits += h->layers[l].L->k * h->layers[l].L->n * (uint64_t)h->opt.residual_bits;
        h->residual_bytes = (bits + 7) / 8;
        h->residual_leak_w = (double)h->residual_bytes * g->sram_leak_w;
        h->residual_area_mm2 = (double)h->residual_bytes * g->sram_area_mm2;
        h->residual_byte_pj = g->sram_energy_pj;
    }
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
        free(h->ops[i].ready_at);
        free(h->ops[i].bcast);
        free(h->ops[i].psum);
    }
    free(h->ops);
    for (size_t l = 0; h->layers && l < h->nlayers; l++) {
        hw_layer *L = &h->layers[l];
        free(L->blk_pos);
        free(L->blk_rows);
        free(L->blk_cells);
        free(L->counts);
        free(L->pos_rows);
        free(L->pos_dur);
        free(L->blk_psum);
        free(L->blk_pmax);
        free(L->grp_off);
        free(L->grp);
    }
    for (int p = 0; p < LOP_NPHASE; p++) {
        free(h->tile_on[p]);
        free(h->router_on[p]);
    }
    free(h->layers);
    free(h->tres);
    free(h->ports);
    spill_plan_destroy(h->spill);
    for (uint64_t t = 0; h->tq && t < h->tiles; t++)
        free(h->tq[t]);
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
