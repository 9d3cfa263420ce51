/* hwsim_stats.c - what the hardware simulator reports: totals by phase, component and cause,
 * its checkpoint state, the closed-form pipeline bound, the hw.* statistics and the heat maps
 * of per-block write counts. */
#include "hwsim_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void hw_reset_totals(hw_sim *h)
{
    double ct = h->tot.compute_time_s;
    memset(&h->tot, 0, sizeof h->tot);
    h->tot.compute_time_s = ct;
}

void hw_get_totals(const hw_sim *h, hw_totals *t)
{
    *t = h->tot;
    double it = (double)t->images / (double)h->batch; /* full batches' worth */
    t->spill_kept_bytes = h->spill->kept;
    t->spill_bytes = h->spill->spilled;
    t->spill_time_s = h->spill_ps * it * 1e-12;
    for (int k = 0; k < HW_NOC_NKIND; k++)
        t->noc_bytes[k] = h->noc_bytes[k] * it;
    t->residual_area_mm2 = h->residual_area_mm2;
}

/* The fixed-size part of the state: totals and the cached compute, in this order. */
enum { HWS_U64 = 11, HWS_F64 = 3 + 2 * LOP_NPHASE + HW_NE + 2 * HW_NC + 4 };

static void state_pack(const hw_sim *h, uint64_t *u, double *f)
{
    const hw_totals *T = &h->tot;
    size_t i = 0, j = 0;
    u[i++] = T->iterations, u[i++] = T->row_writes, u[i++] = T->cells_written;
    u[i++] = T->events, u[i++] = (uint64_t)h->have_compute, u[i++] = h->c_fwd;
    u[i++] = h->c_bwd, u[i++] = h->c_grad, u[i++] = h->c_comp, u[i++] = T->wakeups;
    u[i++] = T->images;
    f[j++] = T->time_s, f[j++] = T->energy_j, f[j++] = T->energy_j_idle;
    for (int p = 0; p < LOP_NPHASE; p++)
        f[j++] = T->time_s_by_phase[p];
    for (int p = 0; p < LOP_NPHASE; p++)
        f[j++] = T->energy_j_by_phase[p];
    for (int c = 0; c < HW_NE; c++)
        f[j++] = T->energy_j_by_component[c];
    for (int c = 0; c < HW_NC; c++)
        f[j++] = T->stall_s_by_cause[c];
    for (int c = 0; c < HW_NC; c++)
        f[j++] = h->c_stall[c];
    f[j++] = T->write_busy_s, f[j++] = T->compute_time_s;
    f[j++] = T->noc_port_wait_s, f[j++] = h->c_port_wait;
}

static void state_unpack(hw_sim *h, const uint64_t *u, const double *f)
{
    hw_totals *T = &h->tot;
    size_t i = 0, j = 0;
    T->iterations = u[i++], T->row_writes = u[i++], T->cells_written = u[i++];
    T->events = u[i++], h->have_compute = u[i++] != 0, h->c_fwd = u[i++];
    h->c_bwd = u[i++], h->c_grad = u[i++], h->c_comp = u[i++], T->wakeups = u[i++];
    T->images = u[i++];
    T->time_s = f[j++], T->energy_j = f[j++], T->energy_j_idle = f[j++];
    for (int p = 0; p < LOP_NPHASE; p++)
        T->time_s_by_phase[p] = f[j++];
    for (int p = 0; p < LOP_NPHASE; p++)
        T->energy_j_by_phase[p] = f[j++];
    for (int c = 0; c < HW_NE; c++)
        T->energy_j_by_component[c] = f[j++];
    for (int c = 0; c < HW_NC; c++)
        T->stall_s_by_cause[c] = f[j++];
    for (int c = 0; c < HW_NC; c++)
        h->c_stall[c] = f[j++];
    T->write_busy_s = f[j++], T->compute_time_s = f[j++];
    T->noc_port_wait_s = f[j++], h->c_port_wait = f[j++];
}

void hw_save(const hw_sim *h, es_put_fn put, void *ctx)
{
    uint64_t u[HWS_U64];
    double f[HWS_F64];
    state_pack(h, u, f);
    put(ctx, "hw/state", u, NULL, NULL, HWS_U64);
    put(ctx, "hw/fstate", NULL, NULL, f, HWS_F64);
    /* the cached compute of the last partial batch, so a resumed run does not simulate it
       again (its events would count twice) */
    uint64_t pu[5] = {(uint64_t)h->pc.nimg, h->pc.fwd, h->pc.bwd, h->pc.grad, h->pc.comp};
    double pf[HW_NC + 1];
    memcpy(pf, h->pc.stall, sizeof h->pc.stall);
    pf[HW_NC] = h->pc.port_wait;
    put(ctx, "hw/partial", pu, NULL, NULL, 5);
    put(ctx, "hw/fpartial", NULL, NULL, pf, HW_NC + 1);
    char name[64];
    for (size_t l = 0; l < h->nlayers; l++) {
        snprintf(name, sizeof name, "hw/counts/%zu", l);
        put(ctx, name, h->layers[l].counts, NULL, NULL, (size_t)h->layers[l].L->blocks);
        snprintf(name, sizeof name, "hw/ready/%zu", l);
        uint64_t rel[2] = {h->layers[l].ready_rel, h->layers[l].ready_rel_part};
        put(ctx, name, rel, NULL, NULL, 2);
    }
}

/* What a restored state must satisfy whatever its numbers (a crafted checkpoint with a valid
 * CRC): every iteration computed 1 to B images; an executor that ran iterations has their
 * compute cached; no iteration took longer than its compute plus every row of every copy
 * written one after the other plus a wake-up per interval; the write energy is the cells
 * written times a cell's write energy. */
static int restore_plausible(const hw_sim *h, es_err *err)
{
    const hw_totals *T = &h->tot;
    const uint64_t it = T->iterations, B = (uint64_t)h->batch;
    if (T->images < it || (it && T->images / it > B) || T->images > it * B)
        return es_fail(err, ES_EFORMAT,
                       "checkpoint: the chip state counts %" PRIu64 " images in %" PRIu64
                       " iterations of at most %" PRIu64,
                       T->images, it, B);
    if (!it) return ES_OK;
    if (!h->have_compute)
        return es_fail(err, ES_EFORMAT,
                       "checkpoint: the chip state has %" PRIu64 " iterations and no compute", it);
    const map_totals *mt = map_plan_totals(h->plan);
    const ima_model *im = &h->chip->tile.ima;
    double rows = (double)mt->xbars * (double)im->xbar.cfg.rows;
    double row_ps = (double)im->xbar.row_write_latency_ps;
    if (h->opt.pulses && (double)h->opt.max_pulses * (double)im->xbar.pulse_latency_ps > row_ps)
        row_ps = (double)h->opt.max_pulses * (double)im->xbar.pulse_latency_ps;
    double tmax = (double)h->c_comp + rows * row_ps +
                  LOP_NPHASE * h->chip->cfg.wakeup_time_ps;
    if (T->time_s > (double)it * tmax * 1e-12 * (1 + 1e-9))
        return es_fail(err, ES_EFORMAT,
                       "checkpoint: the chip state's simulated time %g s is more than %" PRIu64
                       " iterations can take on this chip (%g s each at most)",
                       T->time_s, it, tmax * 1e-12);
    double ew = (double)T->cells_written * im->xbar.cell_write_energy_pj * 1e-12;
    if (!h->opt.pulses && fabs(T->energy_j_by_component[HW_E_WRITE] - ew) > 1e-9 * ew + 1e-18)
        return es_fail(err, ES_EFORMAT,
                       "checkpoint: the chip state's write energy %g J is not its %" PRIu64
                       " cells written at %g pJ each",
                       T->energy_j_by_component[HW_E_WRITE], T->cells_written,
                       im->xbar.cell_write_energy_pj);
    return ES_OK;
}

int hw_restore(hw_sim *h, es_get_fn get, void *ctx, es_err *err)
{
    uint64_t u[HWS_U64];
    double f[HWS_F64];
    int rc = get(ctx, "hw/state", u, NULL, NULL, HWS_U64);
    if (rc == 0) rc = get(ctx, "hw/fstate", NULL, NULL, f, HWS_F64);
    uint64_t pu[5] = {0};
    double pf[HW_NC + 1] = {0};
    if (rc == 0) rc = get(ctx, "hw/partial", pu, NULL, NULL, 5);
    if (rc == 0) rc = get(ctx, "hw/fpartial", NULL, NULL, pf, HW_NC + 1);
    char name[64];
    for (size_t l = 0; rc == 0 && l < h->nlayers; l++) {
        snprintf(name, sizeof name, "hw/counts/%zu", l);
        rc = get(ctx, name, h->layers[l].counts, NULL, NULL, (size_t)h->layers[l].L->blocks);
        snprintf(name, sizeof name, "hw/ready/%zu", l);
        uint64_t rel[2] = {0, 0};
        if (rc == 0) rc = get(ctx, name, rel, NULL, NULL, 2);
        h->layers[l].ready_rel = rel[0];
        h->layers[l].ready_rel_part = rel[1];
    }
    if (rc == 0) {
        int ok = pu[0] < (uint64_t)h->batch && pu[1] <= pu[2] && pu[2] <= pu[3] &&
                 pu[3] <= pu[4];
        for (int c = 0; c <= HW_NC; c++)
            ok &= isfinite(pf[c]) && pf[c] >= 0;
        if (!ok)
            return es_fail(err, ES_EFORMAT,
                           "checkpoint: the chip state's partial-batch compute is malformed");
        h->pc.nimg = (int)pu[0];
        h->pc.fwd = pu[1], h->pc.bwd = pu[2], h->pc.grad = pu[3], h->pc.comp = pu[4];
        memcpy(h->pc.stall, pf, sizeof h->pc.stall);
        h->pc.port_wait = pf[HW_NC];
    }
    if (rc < 0) return err && err->code ? rc : es_fail(err, rc, "hardware state: missing record");
    state_unpack(h, u, f);
    return restore_plausible(h, err);
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
    path += hw_noc_psum_latency_ps(h, o, o->chunk);
    double ports = hw_noc_port_occupancy_ps(h, o);
    if (ports > img) img = ports;
    double lat = hw_noc_bcast_latency_ps(h, o) + path + (double)(o->nchunks - 1) * big;
    if (o->xfer)
        lat += (double)noc_transfer_latency_ps(&h->chip->noc, o->tile, o->xfer_dst, o->xfer_bytes);
    *occ_img = img;
    return lat;
}

/* The busiest shared resource of a phase (forward; or backward with the gradient ops, which
 * run beside it): per image, summed over the phase's ops, for every tile unit, every layer's
 * IMAs, the off-chip links and every router output port; the largest sum, in ps. B images
 * cannot pass a phase faster than B times it, whatever the order. -1: out of memory. */
static double phase_max_load(const hw_sim *h, int fwd)
{
    const size_t nt = (size_t)h->tiles * RK_NTILE, np = (size_t)h->nrouters * h->nports;
    double *tile = calloc(nt ? nt : 1, sizeof *tile), *ima = calloc(h->nlayers + 1, sizeof *ima);
    double *port = calloc(np ? np : 1, sizeof *port), off = 0, best = 0;
    if (!tile || !ima || !port) {
        free(tile), free(ima), free(port);
        return -1;
    }
    for (size_t i = 0; i < h->nops; i++) {
        const hw_op *o = &h->ops[i];
        if (o->phase == LOP_UPDATE || (o->phase == LOP_FORWARD) != fwd) continue;
        for (int s = 0; s < o->nst; s++) {
            const hw_stage *st = &o->st[s];
            double img = st->occ_per_vec * (double)o->vpi;
            if (st->kind == SK_TILE)
                for (uint64_t t = st->t0; t < (uint64_t)st->t0 + st->nt && t < h->tiles; t++)
                    tile[t * RK_NTILE + st->rk] += img;
            else if (st->kind == SK_IMA && st->layer < h->nlayers)
                ima[st->layer] += img;
            else if (st->kind == SK_OFFCHIP)
                off += img;
        }
        hw_noc_add_port_load(h, o, port);
    }
    best = off;
    for (size_t i = 0; i < nt; i++)
        best = tile[i] > best ? tile[i] : best;
    for (size_t i = 0; i < h->nlayers; i++)
        best = ima[i] > best ? ima[i] : best;
    for (size_t i = 0; i < np; i++)
        best = port[i] > best ? port[i] : best;
    free(tile), free(ima), free(port);
    return best;
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
            if (o->dep >= 0)
                f0 = first[o->dep], l0 = last[o->dep], s0 = smax[o->dep];
            else if (o->barrier)
                f0 = l0 = fwd_end;
            first[i] = f0 + D;
            smax[i] = S > s0 ? S : s0;
            /* the last image leaves the slowest op so far (S) behind the first by (B-1) S */
            double a = l0 + D, b = f0 + D + B1 * S;
            last[i] = a > b ? a : b;
            if (last[i] > end) end = last[i];
        }
        /* and no faster than its busiest shared resource allows */
        double load = phase_max_load(h, pass == 0);
        if (load < 0) {
            end = NAN;
            break;
        }
        double floor_end = (pass == 0 ? 0.0 : fwd_end) + (double)h->batch * load;
        if (floor_end > end) end = floor_end;
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
    ES_TRY(put(r, "hw.area_mm2", "mm2",
               "chip area (with the residual buffer when the write policy keeps one)",
               h->chip->cost.area_mm2 + h->residual_area_mm2, err));
    if (h->opt.residual) {
        ES_TRY(put(r, "hw.residual.bytes", "B",
                   "residual buffer: one value of arch.gu.residual_bits per mapped weight",
                   (double)h->residual_bytes, err));
        ES_TRY(put(r, "hw.residual.area_mm2", "mm2",
                   "residual buffer area (bytes x arch.gu.sram_area)", h->residual_area_mm2,
                   err));
        ES_TRY(put(r, "hw.residual.leakage_w", "W",
                   "residual buffer static power (bytes x arch.gu.sram_leakage), always on",
                   h->residual_leak_w, err));
    }
    ES_TRY(put(r, "hw.power_w_avg", "W", "energy / time",
               T->time_s > 0 ? T->energy_j / T->time_s : 0.0, err));
    ES_TRY(put(r, "hw.peak_tops", "Tops/s", "peak throughput (one MAC = 2 ops)",
               h->chip->peak_ops_per_s * 1e-12, err));
    double tpi = T->time_s / it;
    double achieved = tpi > 0 ? 2.0 * h->xbar_macs / tpi : 0.0;
    ES_TRY(put(r, "hw.achieved_tops", "Tops/s",
               "crossbar work of an iteration (forward and transposed reads, 2 ops per MAC) over "
               "its simulated time",
               achieved * 1e-12, err));
    ES_TRY(put(r, "hw.achieved_fraction_of_peak", "", "hw.achieved_tops / hw.peak_tops",
               h->chip->peak_ops_per_s > 0 ? achieved / h->chip->peak_ops_per_s : 0.0, err));
    {
        const map_totals *mt = map_plan_totals(h->plan);
        ES_TRY(put(r, "hw.map.copies", "",
                   "weight copies, summed over layers (arch.map.replication)", (double)mt->copies,
                   err));
        ES_TRY(put(r, "hw.map.imas", "", "IMAs holding weights, every copy counted",
                   (double)mt->imas, err));
        ES_TRY(put(r, "hw.map.tiles", "", "tiles holding weights", (double)mt->tiles, err));
    }
    {
        const spill_plan *sp = h->spill;
        ES_TRY(put(r, "hw.spill_kept_bytes", "B",
                   "activations one iteration keeps for the backward pass (arch/spill.h)",
                   (double)sp->kept, err));
        ES_TRY(put(r, "hw.spill_capacity_bytes", "B",
                   "eDRAM of the tiles holding weights (arch.edram.size each)",
                   (double)sp->capacity, err));
        ES_TRY(put(r, "hw.spill_bytes", "B",
                   "kept activations of one iteration that do not fit their tiles' eDRAM: "
                   "written off chip in the forward pass, read back in the backward pass",
                   (double)sp->spilled, err));
        ES_TRY(put(r, "hw.spill_time_s", "s",
                   "off-chip link time of the spill transfers of every iteration (per transfer: "
                   "bytes / bandwidth + latency; hw.stall_s_by_cause.offchip has the waits)",
                   h->spill_ps * (double)T->images / (double)h->batch * 1e-12, err));
        for (size_t l = 0; l < h->nlayers; l++) {
            snprintf(name, sizeof name, "hw.spill.%s.bytes", h->layers[l].L->name);
            ES_TRY(put(r, name, "B",
                       "one iteration's kept activations of the layer (its input, its digital "
                       "ops' masks) that spill off chip",
                       (double)sp->layer_spilled[l], err));
        }
        static const char *const kinds[HW_NOC_NKIND][2] = {
            {"activation", "feature and error maps handed from one op's tiles to the next's"},
            {"broadcast", "input vectors sent to a layer's weight copies on other tiles"},
            {"psum", "partial sums sent to the tile that adds a layer's row (column) tiles"}};
        for (int k = 0; k < HW_NOC_NKIND; k++) {
            snprintf(name, sizeof name, "hw.noc.bytes_%s", kinds[k][0]);
            ES_TRY(put(r, name, "B", kinds[k][1], h->noc_bytes[k] * (double)T->iterations, err));
        }
        ES_TRY(put(r, "hw.noc.port_wait_s", "s",
                   "job-seconds messages waited for a router output port held by another "
                   "message (hw.stall_s_by_cause.noc: the part behind other ops' messages)",
                   T->noc_port_wait_s, err));
    }
    ES_TRY(put(r, "hw.energy_j_idle", "J",
               "static energy: the leakage of the units that are on, and their wake-ups "
               "(hw.energy_j_by_component.leakage_* and wakeup)",
               T->energy_j_idle, err));
    ES_TRY(put(r, "hw.energy_j_busy", "J", "energy of the work itself: hw.energy_j - idle",
               T->energy_j - T->energy_j_idle, err));
    ES_TRY(put(r, "hw.leakage_fraction", "", "hw.energy_j_idle / hw.energy_j",
               T->energy_j > 0 ? T->energy_j_idle / T->energy_j : 0.0, err));
    ES_TRY(put(r, "hw.wakeups", "", "tiles and routers woken from power gating", (double)T->wakeups,
               err));
    ES_TRY(put(r, "hw.iterations", "", "iterations simulated", (double)T->iterations, err));
    ES_TRY(put(r, "hw.images", "",
               "images the iterations computed (a partial last batch of an epoch counts its "
               "images)",
               (double)T->images, err));
    ES_TRY(put(r, "hw.time_s_per_iteration", "s", "mean simulated time per iteration",
               T->time_s / it, err));
    ES_TRY(put(r, "hw.compute_time_s_per_iteration", "s",
               "one iteration's compute phases (forward to the last gradient job)",
               T->compute_time_s, err));
    ES_TRY(put(r, "hw.compute_bound_s_per_iteration", "s",
               "analytic pipeline bound of the compute phases (no contention, see hwsim.h)",
               hw_pipeline_bound_s(h), err));
    ES_TRY(put(r, "hw.energy_j_per_iteration", "J", "mean energy per iteration", T->energy_j / it,
               err));
    ES_TRY(put(r, "hw.write_busy_s", "s", "write-session time summed over crossbars",
               T->write_busy_s, err));
    ES_TRY(put(r, "hw.row_writes", "", "crossbar row segments programmed", (double)T->row_writes,
               err));
    ES_TRY(put(r, "hw.cells_written", "", "cells programmed", (double)T->cells_written, err));
    ES_TRY(
        put(r, "hw.events", "", "events executed by the hardware model", (double)T->events, err));
    ES_TRY(put(r, "hw.chunk", "", "input vectors per compute event",
               h->opt.detail == CFG_DETAIL_FULL ? 1.0 : (double)h->opt.chunk, err));
    stat_entry *d = stat_register_string(r, "hw.detail", "", "sim.detail", err);
    if (!d || stat_set_string(d, h->opt.detail == CFG_DETAIL_FULL ? "full" : "fast") < 0)
        return err && err->code ? err->code : ES_ENOMEM;
    for (int c = 0; c < HW_NE; c++) {
        snprintf(name, sizeof name, "hw.energy_j_by_component.%s", hw_energy_name(c));
        ES_TRY(put(r, name, "J", "energy of one component kind", T->energy_j_by_component[c], err));
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
        snprintf(name, sizeof name, "hw.stall_s_by_cause.%s", hw_cause_name(c));
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
        fprintf(f,
                "# write counts of layer %s: one line per weight row (K = %" PRIu64
                "), one column per column tile (%" PRIu64 "); crossbar row tile = row / %" PRIu64
                "; value = the most writes any cell of that row segment took\n",
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
