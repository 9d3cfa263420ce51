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
    double it = (double)t->iterations;
    t->spill_kept_bytes = h->spill->kept;
    t->spill_bytes = h->spill->spilled;
    t->spill_time_s = h->spill_ps * it * 1e-12;
    for (int k = 0; k < HW_NOC_NKIND; k++)
        t->noc_bytes[k] = h->noc_bytes[k] * it;
}

/* The fixed-size part of the state: totals and the cached compute, in this order. */
enum { HWS_U64 = 10, HWS_F64 = 3 + 2 * LOP_NPHASE + HW_NE + 2 * HW_NC + 4 };

static void state_pack(const hw_sim *h, uint64_t *u, double *f)
{
    const hw_totals *T = &h->tot;
    size_t i = 0, j = 0;
    u[i++] = T->iterations, u[i++] = T->row_writes, u[i++] = T->cells_written;
    u[i++] = T->events, u[i++] = (uint64_t)h->have_compute, u[i++] = h->c_fwd;
    u[i++] = h->c_bwd, u[i++] = h->c_grad, u[i++] = h->c_comp, u[i++] = T->wakeups;
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
    path += hw_noc_psum_latency_ps(h, o, o->chunk);
    double ports = hw_noc_port_occupancy_ps(h, o);
    if (ports > img) img = ports;
    double lat = hw_noc_bcast_latency_ps(h, o) + path + (double)(o->nchunks - 1) * big;
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
                   h->spill_ps * (double)T->iterations * 1e-12, err));
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
