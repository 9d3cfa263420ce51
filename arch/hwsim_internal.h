/* hwsim_internal.h - what the parts of the hardware simulator share (not a public header;
 * hwsim.h is the API): the lowered ops (stages with per-vector costs on tile, IMA and
 * off-chip resources), the layers' write sessions and the simulator's state. hwsim_lower.c
 * builds them from the layer-op stream, hwsim.c runs them as events, hwsim_stats.c reports. */
#ifndef ES_HWSIM_INTERNAL_H
#define ES_HWSIM_INTERNAL_H

#include <stdio.h>

#include "arch_util.h"
#include "hwsim.h"
#include "sim_kernel.h"
#include "spill.h"

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
    uint8_t spill;        /* SK_OFFCHIP moving kept activations (spill.h) */
    uint32_t t0, nt;      /* tiles (SK_TILE) */
    uint32_t layer;       /* SK_IMA */
    double occ_per_vec;   /* ps of one vector, on each reserved resource */
    double stall_per_vec; /* ADC throttling attributed per vector (SK_IMA) */
    sim_time lat;         /* after the stage, not holding the resource */
} hw_stage;

#define HW_MAX_STAGES 8

/* NoC traffic other than the hand-over between ops (hwsim_noc.c): a flow from tile src to
 * tile dst of `bytes` per image (broadcast) or per vector (partial sums). */
typedef struct hw_flow {
    uint32_t src, dst;
    double bytes;
} hw_flow;

typedef struct hw_op {
    int phase, kind, layer, node;
    uint32_t tile, ntiles;
    uint64_t vpi;     /* work items per image (vectors; 1 for digital ops) */
    uint64_t chunk;   /* items per chunk */
    uint32_t nchunks; /* per image */
    hw_stage st[HW_MAX_STAGES];
    int nst;
    int xfer; /* NoC transfer after each image */
    uint32_t xfer_dst;
    uint64_t xfer_bytes;
    hw_flow *bcast; /* the image's input to the copies on other tiles, before it issues */
    hw_flow *psum;  /* partial sums to the summing tile, after each chunk's crossbar reads */
    int nbcast, npsum;
    int dep;     /* op of the same image this waits for, -1 none */
    int barrier; /* waits for the forward barrier */
    int *succ;
    int nsucc;
    double energy[HW_NE]; /* pJ per iteration */
    char name[64];
    /* run state */
    uint32_t *done_chunks; /* per image */
    uint8_t *ready;        /* per image */
    sim_time *ready_at;    /* per image: when its broadcast has arrived */
    uint32_t next_img;
    int issuing;
    uint32_t imgs_done;
} hw_op;

/* A write session, or a group of `mult` identical ones: the same rows on the same slice of
 * consecutive copies of a layer that sit in one tile. A group starts when driver sets are
 * free, takes k = min(mult, free sets in the tile, free budget in the chip) of them and runs
 * its sessions in ceil(mult / k) rounds on those k sets, holding them until the last round
 * ends: one event for the group. With one copy (mult 1) this is the single session. */
typedef struct hw_session {
    uint32_t layer, tile;
    uint64_t slot;
    uint64_t rows;
    sim_time dur; /* one session: its rows' write time (pulse counts or program-and-verify) */
    sim_time release;
    uint32_t mult, left; /* sessions in the group; those not started yet */
    uint8_t blocked;     /* cause if it had to wait */
} hw_session;

/* One write group of a position: its first crossbar slot, its tile and its sessions. */
typedef struct hw_group {
    uint64_t slot;
    uint32_t tile, mult;
} hw_group;

typedef struct hw_layer {
    const map_layer *L;
    uint64_t positions;
    uint64_t *blk_pos;   /* per block: position index (col tile x row tiles + row tile) */
    uint32_t *blk_rows;  /* per block: rows written on each of its crossbars */
    uint32_t *blk_cells; /* per block: cells written */
    uint64_t *counts;    /* per block: writes so far */
    uint64_t *pos_rows;  /* scratch: rows per position this iteration */
    sim_time *pos_dur;   /* scratch: their write time per crossbar */
    uint64_t *blk_psum;  /* per block: pulses on its weights this iteration (hw_set_pulses) */
    uint32_t *blk_pmax;  /* per block: most pulses on one of its weights */
    int have_pulses;     /* blk_psum and blk_pmax hold this iteration's */
    size_t *grp_off;     /* per position: its write groups are grp[grp_off[p] .. grp_off[p+1]) */
    hw_group *grp;
    int pending; /* compute ops of this layer still running (backward, gradient) */
    int pending_init;
    size_t sess0, nsess; /* this iteration's write sessions of the layer: sess[sess0 ..) */
    uint64_t nsess_all;  /* the sessions they stand for (a group counts its mult) */
    sim_time ready_rel;  /* fast mode: release time relative to the iteration start */
    sim_time ready_rel_part; /* the same for the cached partial batch */
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
    hw_res *tres; /* tiles x RK_NTILE */
    hw_res offchip;
    hw_res *ports;       /* routers x nports: router output ports (hwsim_noc.c) */
    uint64_t nports;     /* per router: 4 mesh directions, then one ejection port per tile */
    spill_plan *spill;   /* kept activations and what overflows the eDRAM (spill.h) */
    double spill_ps;     /* one iteration's spill transfers: link time plus latency */
    double noc_bytes[HW_NOC_NKIND]; /* one iteration's NoC bytes by kind */
    sim_kernel *k;
    /* Leakage (hwsim.h, "Leakage"): per unit, and which units are on in each interval of the
     * iteration (indexed by phase: forward; backward with gradient; gradient; update) */
    int gating;
    double leak_ima_w, leak_tile_w, leak_router_w, leak_chip_w; /* tile_w: without its IMAs
                                                                   and gradient unit */
    double leak_gu_w; /* a tile's gradient unit: on only while it computes */
    /* the residual buffer (opt.residual): bytes, static power, area, energy per byte */
    uint64_t residual_bytes;
    double residual_leak_w, residual_area_mm2, residual_byte_pj;
    uint8_t *tile_on[LOP_NPHASE], *router_on[LOP_NPHASE];
    uint64_t nrouters, used_imas;
    double ima_busy_ps[LOP_NPHASE]; /* IMA-picoseconds of reading in one iteration, by phase */
    double ima_wake_pj;             /* the IMAs' wake-ups of one iteration */
    double gu_busy_ps[LOP_NPHASE];  /* gradient-unit-picoseconds of work, by phase */
    double gu_wake_pj[LOP_NPHASE];  /* the gradient units' wake-ups, by phase */
    double xbar_macs; /* multiply-accumulates the crossbars do in one iteration (mvm, mvm_t) */
    int *barrier_ops;
    int nbarrier;
    uint64_t fwd_jobs, fwd_jobs_done; /* (op, image) pairs of the forward phase */
    uint64_t comp_jobs, comp_jobs_done;
    int nimg;                         /* images of this iteration (batch, less for a partial one) */
    uint64_t fwd_jobs_now, comp_jobs_now; /* this iteration's (op, image) pairs */
    sim_time t0; /* iteration start */
    sim_time fwd_end, bwd_end, grad_end, comp_end;
    int compute_done;
    /* writes */
    hw_session *sess;
    size_t nsess, sess_cap;
    uint64_t nsess_all;       /* sessions the nsess groups stand for */
    size_t *tq_head, *tq_len; /* per tile FIFO (indices into qbuf) */
    size_t **tq;              /* per tile queue storage */
    size_t *tq_cap;
    uint64_t *wfree_tile;
    uint64_t wfree_chip;
    uint64_t *act; /* tiles with queued sessions, in the order they got work */
    size_t nact;
    uint64_t sess_done;
    sim_time writes_end;
    /* cached compute (fast mode) */
    int have_compute;
    sim_time c_fwd, c_bwd, c_grad, c_comp;
    double c_stall[HW_NC];
    /* and of the last partial batch (its image count), not part of checkpoints: recomputed */
    struct {
        int nimg; /* 0: none */
        sim_time fwd, bwd, grad, comp;
        double stall[HW_NC], port_wait;
    } pc;
    uint64_t c_events;
    /* per-iteration scratch results */
    double it_stall[HW_NC];
    double it_write_busy;
    double it_port_wait, c_port_wait; /* NoC port waits: this iteration's, the cached compute's */
    /* totals */
    hw_totals tot;
    double e_phase_dyn[LOP_NPHASE][HW_NE]; /* pJ per iteration, compute: per image (x B) */
    double e_phase_fix[LOP_NPHASE][HW_NE]; /* pJ per iteration, compute: once per batch */
    /* timeline */
    FILE *tl;
    char *tl_path, *tl_tmp;
    uint64_t tl_iters;
    int tl_first;
    int tl_on; /* recording this iteration */
    int fail;  /* ES_* from inside a handler */
};

/* A timeline event (hwsim.c), when this iteration is recorded. */
void hw_tl_event(hw_sim *h, const char *name, const char *cat, uint64_t pid, uint64_t tid,
                 sim_time start, sim_time dur);

/* ---- NoC traffic (hwsim_noc.c) ---- */

/* The broadcast and partial-sum flows of the crossbar ops, their energy and bytes. */
int hw_noc_build(hw_sim *h, const lop_op *src, es_err *err);
/* Wormhole transfer of `bytes` from tile a to tile b starting at now, XY route, waiting for
 * each router output port (the ejection port at the end); returns the tail's arrival. */
sim_time hw_noc_send(hw_sim *h, const hw_op *o, uint64_t a, uint64_t b, uint64_t bytes,
                     sim_time now);
/* Latency of op o's broadcast (one image) and of its partial sums (one chunk of n vectors),
 * the messages contending only with each other, for the pipeline bound. */
double hw_noc_bcast_latency_ps(const hw_sim *h, const hw_op *o);
double hw_noc_psum_latency_ps(const hw_sim *h, const hw_op *o, uint64_t n);
/* The most one image of op o holds any one router port with its broadcast, partial sums and
 * hand-over to the next op (every port of every route counted). */
double hw_noc_port_occupancy_ps(const hw_sim *h, const hw_op *o);
/* Add op o's one-image port busy time (its broadcast, partial sums, hand-over) to load
 * (routers x nports, ps). */
void hw_noc_add_port_load(const hw_sim *h, const hw_op *o, double *load);

/* ---- helpers ---------------------------------------------------------------------------- */

static inline sim_time ps_round(double ps)
{
    return arch_ps(ps);
}

/* job data: op 20 bits | image 20 | chunk 20 | stage 4 */
static inline uint64_t job(uint64_t op, uint64_t img, uint64_t chunk, uint64_t st)
{
    return op << 44 | img << 24 | chunk << 4 | st;
}

#endif
