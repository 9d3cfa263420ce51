/* test_hwsim.c - the event-driven execution (arch/hwsim.h): write scheduling against times,
 * waits and energies worked out by hand, the compute energy against the op counts times the
 * components' per-action energies, the fast mode (compute simulated once, chunks of vectors)
 * against the full detail (every iteration, one event per vector) within 0.1%, the simulated
 * compute time against the analytic pipeline bound on a contention-free chip within 1%,
 * block counts and heat maps, determinism and the timeline file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chip.h"
#include "lop_compile.h"
#include "hwsim.h"
#include "nn_presets.h"
#include "rng.h"
#include "stats.h"
#include "wear.h"
#include "tap.h"

#define CHECK_REL(a, b, rel) CHECK_NEAR((a), (b), fabs((double)(b)) * (rel) + 1e-300)

typedef struct fixture {
    essim_config cfg;
    chip_model chip;
    nn_net *net;
    map_plan *plan;
    lop_stream *ops;
    hw_sim *hw;
} fixture;

static void fx_free(fixture *f)
{
    hw_destroy(f->hw);
    lop_destroy(f->ops);
    map_destroy(f->plan);
    nn_net_destroy(f->net);
    cfg_free(&f->cfg);
}

/* Defaults (= isaac-train) with the assignments in sets, a preset network on 1x28x28. */
static int fx_make(fixture *f, const char *net, int batch, const char *const *sets, int nsets,
                   const char *timeline)
{
    memset(f, 0, sizeof *f);
    es_err err;
    cfg_doc *doc = NULL;
    int rc = cfg_doc_create_empty(&doc, &err);
    for (int i = 0; rc == ES_OK && i < nsets; i++)
        rc = cfg_doc_set(doc, sets[i], &err);
    if (rc == ES_OK) rc = cfg_bind(doc, &f->cfg, &err);
    cfg_doc_destroy(doc);
    if (rc == ES_OK) rc = chip_from_config(&f->chip, &f->cfg, NULL, &err);
    if (rc == ES_OK) rc = nn_preset_create(net, (nn_shape){1, 28, 28}, 10, &f->net, &err);
    map_config mc;
    map_config_from(&f->cfg, &mc);
    if (rc == ES_OK) rc = lop_map_net(&mc, f->net, &f->plan, &err);
    if (rc == ES_OK) rc = lop_compile(f->plan, f->net, batch, &f->ops, &err);
    if (rc == ES_OK) {
        size_t n;
        const lop_op *ops = lop_ops(f->ops, &n);
        hw_options o;
        hw_options_from(&f->cfg, &o);
        o.timeline = timeline;
        rc = hw_create(&f->chip, f->plan, ops, n, batch, &o, &f->hw, &err);
    }
    if (!CHECK_MSG(rc == ES_OK, "fixture %s: %s", net, rc == ES_OK ? "" : err.msg)) return -1;
    return 0;
}

/* Per-layer byte masks drawn with probability p from stream (name, it). */
static uint8_t **masks_draw(const map_plan *plan, double p, uint64_t it)
{
    size_t n = map_num_layers(plan);
    uint8_t **m = calloc(n, sizeof *m);
    rng_stream r;
    rng_init_indexed(&r, 7, "test-masks", it);
    for (size_t l = 0; l < n; l++) {
        const map_layer *L = map_layer_at(plan, l);
        m[l] = malloc(L->blocks);
        for (uint64_t g = 0; g < L->blocks; g++)
            m[l][g] = rng_uniform(&r) < p;
    }
    return m;
}

static void masks_free(uint8_t **m, size_t n)
{
    for (size_t l = 0; l < n; l++)
        free(m[l]);
    free(m);
}

/* ---- writes by hand ---------------------------------------------------------------------- */

/* One 256 x 16 layer on 128 x 128 crossbars, 16-bit weights as 8 slices of 2-bit cells
 * (offset encoding): 2 row tiles x 1 col tile x 8 slices = 16 crossbars on 2 IMAs of tile 0.
 * The stream has only the update op, so the iteration is its writes. Rows 0-9 (row tile 0)
 * and 128-132 (row tile 1) are written: 8 crossbars x 10 rows and 8 crossbars x 5 rows. */
static void test_writes_by_hand(void)
{
    static const struct {
        const char *per_tile, *per_chip;
        double rows_time;  /* iteration time in row-write latencies */
        double rows_waits; /* sum of session waits in row-write latencies */
        int cause;
    } cases[] = {
        /* 2 at a time in the tile: the 10-row sessions in pairs at 0,10,20,30, the 5-row ones
           at 40,45,50,55: end 60; waits 2(0+10+20+30) + 2(40+45+50+55) = 500 */
        {"arch.wdrv.per_tile=2", "arch.wdrv.per_chip=64", 60, 500, HW_C_WDRV_TILE},
        /* all 16 at once: the longest session, no waiting */
        {"arch.wdrv.per_tile=16", "arch.wdrv.per_chip=64", 10, 0, HW_C_WDRV_TILE},
        /* one at a time chip-wide: 8 x 10 + 8 x 5 = 120 rows in a row; the k-th 10-row session
           waits 10 k, the k-th 5-row one 80 + 5 k: 10 x 28 + 8 x 80 + 5 x 28 = 1060 */
        {"arch.wdrv.per_tile=16", "arch.wdrv.per_chip=1", 120, 1060, HW_C_WDRV_CHIP},
    };
    for (size_t c = 0; c < ES_ARRAY_LEN(cases); c++) {
        essim_config cfg;
        es_err err;
        cfg_doc *doc = NULL;
        int rc = cfg_doc_create_empty(&doc, &err);
        if (rc == ES_OK) rc = cfg_doc_set(doc, cases[c].per_tile, &err);
        if (rc == ES_OK) rc = cfg_doc_set(doc, cases[c].per_chip, &err);
        if (rc == ES_OK) rc = cfg_bind(doc, &cfg, &err);
        cfg_doc_destroy(doc);
        chip_model chip;
        if (!CHECK_MSG(rc == ES_OK && chip_from_config(&chip, &cfg, NULL, &err) == ES_OK, "%s",
                       err.msg))
            return;
        map_config mc;
        map_config_from(&cfg, &mc);
        map_layer_spec spec = {"w", 256, 16, 0};
        map_plan *plan = NULL;
        CHECK(map_create(&mc, &spec, 1, &plan, &err) == ES_OK);
        const map_layer *L = map_layer_at(plan, 0);
        CHECK_UINT(L->xbars, 16);
        CHECK_UINT(L->blocks, 256);
        lop_op op;
        memset(&op, 0, sizeof op);
        op.layer = 0;
        op.phase = LOP_UPDATE;
        op.kind = LOP_WRITE;
        hw_options o;
        hw_options_from(&cfg, &o);
        hw_sim *h = NULL;
        if (!CHECK_MSG(hw_create(&chip, plan, &op, 1, 4, &o, &h, &err) == ES_OK, "%s", err.msg)) {
            map_destroy(plan);
            cfg_free(&cfg);
            return;
        }
        uint8_t mask[256] = {0};
        for (int r = 0; r < 10; r++)
            mask[r] = 1;
        for (int r = 128; r < 133; r++)
            mask[r] = 1;
        const uint8_t *masks[1] = {mask};
        CHECK(hw_iteration(h, masks, 0, &err) == ES_OK);
        hw_totals t;
        hw_get_totals(h, &t);
        double row_s = (double)chip.tile.ima.xbar.row_write_latency_ps * 1e-12;
        /* 4 pulses x (50 ns write + 2 ns verify) */
        CHECK_REL(row_s, 4 * 52e-9, 1e-9);
        CHECK_REL(t.time_s, cases[c].rows_time * row_s, 1e-9);
        CHECK_REL(t.time_s_by_phase[LOP_UPDATE], cases[c].rows_time * row_s, 1e-9);
        CHECK_REL(t.stall_s_by_cause[cases[c].cause] + 1e-30, cases[c].rows_waits * row_s + 1e-30,
                  1e-9);
        CHECK_REL(t.write_busy_s, 120 * row_s, 1e-9);
        CHECK_UINT(t.row_writes, 120);
        /* 15 blocks of 16 weights x 8 slices x 1 cell */
        CHECK_UINT(t.cells_written, 15 * 16 * 8);
        CHECK_REL(t.energy_j_by_component[HW_E_WRITE],
                  15 * 16 * 8 * chip.tile.ima.xbar.cell_write_energy_pj * 1e-12, 1e-9);
        /* power gating: only the writing tile (without its IMAs, which do not read, and its
           gradient unit, which has no work) and its router are on; the chip-level rest too */
        double tile_w = chip.tile.cost.leak_w -
                        (double)chip.tile.cfg.imas * chip.tile.ima.cost.leak_w -
                        chip.tile.gu.cost.leak_w;
        double router_w = chip.part[CHIP_PART_NOC].total.leak_w / (double)chip.noc.routers;
        double rest_w = chip.cost.leak_w - (double)chip.cfg.tiles * chip.tile.cost.leak_w -
                        chip.part[CHIP_PART_NOC].total.leak_w;
        CHECK_REL(t.energy_j_by_component[HW_E_LEAK_TILE], tile_w * t.time_s, 1e-9);
        CHECK_REL(t.energy_j_by_component[HW_E_LEAK_NOC], router_w * t.time_s, 1e-9);
        CHECK(fabs(t.energy_j_by_component[HW_E_LEAK_CHIP] - rest_w * t.time_s) <=
              1e-9 * t.energy_j);
        CHECK(t.energy_j_by_component[HW_E_LEAK_IMA] == 0 && t.energy_j_by_component[HW_E_LEAK_GU] == 0);
        CHECK_REL(t.energy_j_idle, (tile_w + router_w + rest_w) * t.time_s, 1e-9);
        CHECK_REL(t.energy_j, t.energy_j_by_component[HW_E_WRITE] + t.energy_j_idle, 1e-9);
        const uint64_t *cnt = hw_block_counts(h, 0);
        CHECK(cnt[0] == 1 && cnt[9] == 1 && cnt[10] == 0 && cnt[132] == 1 && cnt[133] == 0);
        /* a second iteration with no mask writes nothing and takes no time */
        const uint8_t *none[1] = {NULL};
        CHECK(hw_iteration(h, none, 0, &err) == ES_OK);
        hw_totals t2;
        hw_get_totals(h, &t2);
        CHECK_REL(t2.time_s, t.time_s, 1e-12);
        CHECK_UINT(t2.iterations, 2);
        hw_destroy(h);
        map_destroy(plan);
        cfg_free(&cfg);
    }
}

/* ---- compute energy against the counts --------------------------------------------------- */

static void test_compute_energy(void)
{
    fixture f;
    if (fx_make(&f, "lenet5", 4, NULL, 0, NULL) < 0) return;
    es_err err;
    CHECK(hw_iteration(f.hw, NULL, 0, &err) == ES_OK);
    hw_totals t;
    hw_get_totals(f.hw, &t);
    uint64_t fw[LOP_NCOUNT], bw[LOP_NCOUNT], gr[LOP_NCOUNT];
    lop_totals(f.ops, LOP_FORWARD, fw);
    lop_totals(f.ops, LOP_BACKWARD, bw);
    lop_totals(f.ops, LOP_GRADIENT, gr);
    const ima_model *im = &f.chip.tile.ima;
    const tile_model *tm = &f.chip.tile;
    double reads = (double)(fw[LOP_C_XBAR_READS] + bw[LOP_C_XBAR_READS]);
    double conv = (double)(fw[LOP_C_ADC_CONVERSIONS] + bw[LOP_C_ADC_CONVERSIONS]);
    CHECK_REL(t.energy_j_by_component[HW_E_XBAR], reads * im->xbar.read_energy_pj * 1e-12, 1e-9);
    CHECK_REL(t.energy_j_by_component[HW_E_ADC], conv * im->adc.conversion_energy_pj * 1e-12, 1e-9);
    CHECK_REL(t.energy_j_by_component[HW_E_SH], conv * im->sh.sample_energy_pj * 1e-12, 1e-9);
    CHECK_REL(t.energy_j_by_component[HW_E_IMA_SA],
              (double)(fw[LOP_C_SHIFT_ADDS] + bw[LOP_C_SHIFT_ADDS]) * im->sa.op_energy_pj * 1e-12,
              1e-9);
    CHECK_REL(t.energy_j_by_component[HW_E_GU],
              ((double)gr[LOP_C_MACS] * tm->gu.cfg.mac_energy_pj +
               (double)(gr[LOP_C_BUFFER_READ_BYTES] + gr[LOP_C_BUFFER_WRITE_BYTES]) *
                   tm->gu.cfg.sram_energy_pj) *
                  1e-12,
              1e-9);
    CHECK(t.energy_j_by_component[HW_E_WRITE] == 0);
    /* phases and components add up to the total */
    double sp = 0, sc = 0;
    for (int p = 0; p < LOP_NPHASE; p++)
        sp += t.energy_j_by_phase[p];
    for (int c = 0; c < HW_NE; c++)
        sc += t.energy_j_by_component[c];
    CHECK_REL(sp, t.energy_j, 1e-9);
    CHECK_REL(sc, t.energy_j, 1e-9);
    double st = 0;
    for (int p = 0; p < LOP_NPHASE; p++)
        st += t.time_s_by_phase[p];
    CHECK_REL(st, t.time_s, 1e-9);
    /* the forward phase is at least conv1's crossbar time: 4 images x ceil(784 vectors /
       copies) x 16 bits x 100 ns (ADCs keep up) */
    const map_layer *c1 = map_layer_at(f.plan, 0);
    CHECK_UINT(c1->positions, 784);
    CHECK(t.time_s_by_phase[LOP_FORWARD] >= 4 * (double)map_vector_times(c1) * 16 * 100e-9);
    fx_free(&f);
}

/* ---- fast against full detail ------------------------------------------------------------- */

static void run_iters(fixture *f, int iters, double p, hw_totals *t)
{
    es_err err;
    size_t nl = map_num_layers(f->plan);
    for (int it = 0; it < iters; it++) {
        uint8_t **m = masks_draw(f->plan, p, (uint64_t)it);
        CHECK_MSG(hw_iteration(f->hw, (const uint8_t *const *)m, 0, &err) == ES_OK, "iteration %d",
                  it);
        masks_free(m, nl);
    }
    hw_get_totals(f->hw, t);
}

static void test_fast_vs_full(void)
{
    /* One copy per layer, where the compute events dominate and the shortcut saves the most;
     * then the balanced mapping, whose write sessions (one per copy) are the same in both
     * modes and make most of the events. */
    static const char *fast[] = {"sim.detail=fast", "sim.chunk=32", "arch.map.replication=none"};
    static const char *full[] = {"sim.detail=full", "arch.map.replication=none"};
    static const char *fast_ser[] = {"sim.detail=fast", "sim.chunk=32", "sim.overlap_writes=false",
                                     "arch.wdrv.per_tile=1", "arch.map.replication=none"};
    static const char *full_ser[] = {"sim.detail=full", "sim.overlap_writes=false",
                                     "arch.wdrv.per_tile=1", "arch.map.replication=none"};
    static const char *fast_bal[] = {"sim.detail=fast", "sim.chunk=32"};
    static const char *full_bal[] = {"sim.detail=full"};
    /* activations that overflow a small eDRAM: off-chip stages per chunk or per vector */
    static const char *fast_sp[] = {"sim.detail=fast", "sim.chunk=32", "arch.map.replication=none",
                                    "arch.edram.size=2KiB"};
    static const char *full_sp[] = {"sim.detail=full", "arch.map.replication=none",
                                    "arch.edram.size=2KiB"};
    struct {
        const char *const *a, *const *b;
        int na, nb;
        double events_ratio; /* full's events over fast's, at least */
    } cases[] = {
        {fast, full, 3, 2, 20},
        {fast_ser, full_ser, 5, 4, 20},
        {fast_bal, full_bal, 2, 1, 3},
        {fast_sp, full_sp, 4, 3, 20}};
    for (size_t c = 0; c < ES_ARRAY_LEN(cases); c++) {
        fixture a, b;
        if (fx_make(&a, "lenet5", 8, cases[c].a, cases[c].na, NULL) < 0) return;
        if (fx_make(&b, "lenet5", 8, cases[c].b, cases[c].nb, NULL) < 0) {
            fx_free(&a);
            return;
        }
        hw_totals ta, tb;
        run_iters(&a, 3, 0.3, &ta);
        run_iters(&b, 3, 0.3, &tb);
        CHECK_MSG(fabs(ta.time_s / tb.time_s - 1) < 1e-3,
                  "case %zu: fast time %.9g s vs full %.9g s", c, ta.time_s, tb.time_s);
        CHECK_MSG(fabs(ta.energy_j / tb.energy_j - 1) < 1e-3,
                  "case %zu: fast energy %.9g J vs full %.9g J", c, ta.energy_j, tb.energy_j);
        for (int p = 0; p < LOP_NPHASE; p++)
            CHECK_MSG(fabs(ta.time_s_by_phase[p] - tb.time_s_by_phase[p]) <= 1e-3 * tb.time_s,
                      "case %zu phase %d: %.9g vs %.9g", c, p, ta.time_s_by_phase[p],
                      tb.time_s_by_phase[p]);
        /* the writes themselves are identical */
        CHECK_UINT(ta.row_writes, tb.row_writes);
        CHECK_REL(ta.energy_j_by_component[HW_E_WRITE], tb.energy_j_by_component[HW_E_WRITE],
                  1e-12);
        CHECK_REL(ta.write_busy_s, tb.write_busy_s, 1e-12);
        /* and the shortcut is a shortcut */
        CHECK_MSG((double)tb.events > cases[c].events_ratio * (double)ta.events,
                  "events: full %llu, fast %llu", (unsigned long long)tb.events,
                  (unsigned long long)ta.events);
        fx_free(&a);
        fx_free(&b);
    }
}

/* ---- the analytic pipeline bound ---------------------------------------------------------- */

static void test_pipeline_bound(void)
{
    /* One IMA per tile: every layer on its own tiles, so no two ops share a tile's units.
     * They can still share router ports: the MLP's fc1 spans 14 tiles, and its input going
     * out to them takes the router ports its ReLU's hand-over to fc2 takes too. The bound
     * times each op alone, so there it may be off by that NoC contention (measured: 1.5%),
     * and the NoC stalls say how much; nothing else contends. */
    static const char *sets[] = {"arch.tile.imas=1", "sim.chunk=16"};
    static const char *nets[] = {"lenet5", "mlp"};
    static const double tol[] = {0.01, 0.02};
    for (size_t n = 0; n < ES_ARRAY_LEN(nets); n++) {
        fixture f;
        if (fx_make(&f, nets[n], 16, sets, 2, NULL) < 0) return;
        es_err err;
        CHECK(hw_iteration(f.hw, NULL, 0, &err) == ES_OK);
        hw_totals t;
        hw_get_totals(f.hw, &t);
        double bound = hw_pipeline_bound_s(f.hw);
        CHECK_MSG(fabs(t.time_s / bound - 1) < tol[n], "%s: simulated %.9g s, bound %.9g s",
                  nets[n], t.time_s, bound);
        double contention = 0;
        for (int c = 0; c < HW_NC; c++)
            if (c != HW_C_ADC && c != HW_C_NOC) contention += t.stall_s_by_cause[c];
        CHECK_MSG(contention < 0.01 * t.time_s, "%s: contention %.3g s", nets[n], contention);
        if (n == 0)
            CHECK_MSG(t.stall_s_by_cause[HW_C_NOC] < 0.01 * t.time_s, "%s: NoC contention %.3g s",
                      nets[n], t.stall_s_by_cause[HW_C_NOC]);
        fx_free(&f);
    }
}

/* ---- determinism, heat maps, timeline ------------------------------------------------------ */

static void test_heatmap_and_timeline(void)
{
    const char *tl = tap_path("timeline.json");
    fixture f;
    static const char *sets[] = {"sim.timeline_iterations=2"};
    if (fx_make(&f, "lenet5", 2, sets, 1, tl) < 0) return;
    hw_totals t;
    run_iters(&f, 3, 0.5, &t);
    es_err err;
    CHECK(hw_finish(f.hw, &err) == ES_OK);
    char *js = tap_read_file(tl, NULL);
    CHECK(js && strncmp(js, "{\"displayTimeUnit\"", 18) == 0);
    CHECK(js && strstr(js, "\"ph\":\"X\"") && strstr(js, "\"cat\":\"write\"") &&
          strstr(js, "\"cat\":\"forward\"") && strstr(js, "thread_name"));
    CHECK(js && strstr(js + strlen(js) - 4, "]}"));
    free(js);
    /* heat map of the first layer: K lines, col_tiles columns, the block counts */
    const char *dir = tap_path("heat");
    CHECK(es_mkdir_p(dir, &err) == ES_OK);
    CHECK(hw_write_heatmaps(f.hw, dir, &err) == ES_OK);
    const map_layer *L = map_layer_at(f.plan, 1);
    char path[1024];
    snprintf(path, sizeof path, "%s/heatmap-%s.csv", dir, L->name);
    char *csv = tap_read_file(path, NULL);
    const uint64_t *cnt = hw_block_counts(f.hw, 1);
    if (CHECK(csv != NULL)) {
        char *line = strchr(csv, '\n') + 1; /* after the comment */
        int ok = 1;
        uint64_t rows = 0;
        for (uint64_t r = 0; r < L->k && line && *line; r++, rows++) {
            char *end = strchr(line, '\n');
            for (uint64_t j = 0; j < L->col_tiles; j++) {
                unsigned long long v = strtoull(line, &line, 10);
                if (v != cnt[map_row_block(L, r, j)]) ok = 0;
                if (*line == ',') line++;
            }
            line = end ? end + 1 : NULL;
        }
        CHECK_MSG(ok, "heat map values are the block counts");
        CHECK_UINT(rows, L->k);
    }
    free(csv);
    /* the same masks give the same totals in a second executor */
    fixture g;
    if (fx_make(&g, "lenet5", 2, NULL, 0, NULL) == 0) {
        hw_totals t2;
        run_iters(&g, 3, 0.5, &t2);
        CHECK(t2.time_s == t.time_s && t2.energy_j == t.energy_j);
        fx_free(&g);
    }
    fx_free(&f);
}

/* ---- replication ---------------------------------------------------------------------------- */

/* Copies take their share of the vectors: LeNet-5's forward pass is bound by conv1 (784
 * vectors per image against conv2's 100), so 4 copies of conv1 cut it by about 4 (196 vector
 * times, still the slowest); and every copy of a written block is written and worn. */
static void test_replication(void)
{
    static const char *one[] = {"arch.map.replication=none"};
    static const char *four[] = {"arch.map.replication=list", "arch.map.copies={conv1: 4}"};
    fixture a, b;
    if (fx_make(&a, "lenet5", 4, one, 1, NULL) < 0) return;
    if (fx_make(&b, "lenet5", 4, four, 2, NULL) < 0) {
        fx_free(&a);
        return;
    }
    CHECK_UINT(map_layer_at(b.plan, 0)->copies, 4);
    CHECK_UINT(map_layer_at(b.plan, 0)->imas, 4);
    CHECK_UINT(map_layer_at(b.plan, 1)->copies, 1);
    es_err err;
    CHECK(hw_iteration(a.hw, NULL, 0, &err) == ES_OK);
    CHECK(hw_iteration(b.hw, NULL, 0, &err) == ES_OK);
    hw_totals ta, tb;
    hw_get_totals(a.hw, &ta);
    hw_get_totals(b.hw, &tb);
    double ratio = ta.time_s_by_phase[LOP_FORWARD] / tb.time_s_by_phase[LOP_FORWARD];
    CHECK_MSG(ratio > 3.6 && ratio < 4.01, "forward %.6g s with one copy, %.6g s with 4: %.4gx",
              ta.time_s_by_phase[LOP_FORWARD], tb.time_s_by_phase[LOP_FORWARD], ratio);
    /* the same crossbar work, so the same dynamic crossbar and ADC energy */
    CHECK_REL(ta.energy_j_by_component[HW_E_XBAR], tb.energy_j_by_component[HW_E_XBAR], 1e-12);
    CHECK_REL(ta.energy_j_by_component[HW_E_ADC], tb.energy_j_by_component[HW_E_ADC], 1e-12);
    /* writes: conv1's blocks 0..4 (rows 0-4 of its one position) on 8 slices, in 4 copies */
    uint8_t m0[25] = {1, 1, 1, 1, 1};
    const uint8_t *masks[5] = {m0, NULL, NULL, NULL, NULL};
    hw_totals a1, b1;
    CHECK(hw_iteration(a.hw, masks, 0, &err) == ES_OK);
    CHECK(hw_iteration(b.hw, masks, 0, &err) == ES_OK);
    hw_get_totals(a.hw, &a1);
    hw_get_totals(b.hw, &b1);
    CHECK_UINT(a1.row_writes - ta.row_writes, 5 * 8);
    CHECK_UINT(b1.row_writes - tb.row_writes, 4 * 5 * 8);
    CHECK_UINT(b1.cells_written - tb.cells_written, 4 * (a1.cells_written - ta.cells_written));
    CHECK_REL(b1.energy_j_by_component[HW_E_WRITE], 4 * a1.energy_j_by_component[HW_E_WRITE],
              1e-12);
    /* the policy's count is per logical block */
    CHECK_UINT(hw_block_counts(b.hw, 0)[0], 1);
    /* the wear model holds every copy's cells, each with its own endurance */
    wear_model *wa = NULL, *wb = NULL;
    CHECK(wear_create(&a.cfg, a.plan, &wa, &err) == ES_OK);
    CHECK(wear_create(&b.cfg, b.plan, &wb, &err) == ES_OK);
    if (wa && wb) {
        CHECK_UINT(wear_cells(wb, 0), 4 * wear_cells(wa, 0));
        CHECK_UINT(wear_cells(wb, 1), wear_cells(wa, 1));
    }
    wear_destroy(wa);
    wear_destroy(wb);
    fx_free(&a);
    fx_free(&b);
}

/* Power gating: LeNet-5 with one copy per layer sits on tile 0, so router 0 is the only one
 * on; without gating all 42 leak. The IMAs leak only while they read, the gradient units only
 * while they compute. */
static void test_power_gating(void)
{
    static const char *on[] = {"arch.map.replication=none"};
    static const char *off[] = {"arch.map.replication=none", "arch.chip.power_gating=false"};
    fixture a, b;
    if (fx_make(&a, "lenet5", 4, on, 1, NULL) < 0) return;
    if (fx_make(&b, "lenet5", 4, off, 2, NULL) < 0) {
        fx_free(&a);
        return;
    }
    es_err err;
    CHECK(hw_iteration(a.hw, NULL, 0, &err) == ES_OK);
    CHECK(hw_iteration(b.hw, NULL, 0, &err) == ES_OK);
    hw_totals ta, tb;
    hw_get_totals(a.hw, &ta);
    hw_get_totals(b.hw, &tb);
    CHECK_UINT(map_plan_totals(a.plan)->tiles, 1);
    CHECK_REL(ta.time_s, tb.time_s, 1e-12); /* nothing wakes: one tile all along */
    CHECK_UINT(ta.wakeups, 0);
    uint64_t routers = a.chip.noc.routers;
    CHECK_UINT(routers, 42);
    CHECK_REL(tb.energy_j_by_component[HW_E_LEAK_NOC],
              (double)routers * ta.energy_j_by_component[HW_E_LEAK_NOC], 1e-9);
    double router_w = a.chip.part[CHIP_PART_NOC].total.leak_w / (double)routers;
    CHECK_REL(ta.energy_j_by_component[HW_E_LEAK_NOC], router_w * ta.time_s, 1e-9);
    /* IMAs: every IMA of the chip all the time, against the reading time of the used ones */
    double ima_w = a.chip.tile.ima.cost.leak_w;
    CHECK_REL(tb.energy_j_by_component[HW_E_LEAK_IMA],
              ima_w * (double)a.chip.cfg.tiles * (double)a.chip.tile.cfg.imas * tb.time_s, 1e-9);
    CHECK(ta.energy_j_by_component[HW_E_LEAK_IMA] > 0 &&
          ta.energy_j_by_component[HW_E_LEAK_IMA] < ima_w * 9 * ta.time_s);
    /* gradient units: every tile's all the time, against the time they compute, which is
       the weight-gradient MACs (K N positions batch per layer) over the unit's rate */
    double gu_w = a.chip.tile.gu.cost.leak_w, macs = 0;
    for (size_t l = 0; l < map_num_layers(a.plan); l++) {
        const map_layer *L = map_layer_at(a.plan, l);
        macs += (double)L->k * (double)L->n * (double)L->positions * 4.0;
    }
    CHECK(gu_w > 0);
    CHECK_REL(ta.energy_j_by_component[HW_E_LEAK_GU], gu_w * macs / a.chip.tile.gu.mac_rate,
              1e-9);
    CHECK_REL(tb.energy_j_by_component[HW_E_LEAK_GU],
              gu_w * (double)a.chip.cfg.tiles * tb.time_s, 1e-9);
    /* the dynamic energy is the same */
    CHECK_REL(ta.energy_j - ta.energy_j_idle, tb.energy_j - tb.energy_j_idle, 1e-9);
    CHECK(ta.energy_j_idle < tb.energy_j_idle);
    fx_free(&a);
    fx_free(&b);
}


/* A partial batch: 2 images through a batch-4 executor cost what a batch-2 executor charges
 * for its batch (same writes; neither spills), in both detail modes; the full batch's cached
 * compute is unharmed by the partial one in between; 0 and 5 images are refused. */
static void test_partial_batch(void)
{
    for (int mode = 0; mode < 2; mode++) {
        const char *sets[] = {mode ? "sim.detail=full" : "sim.detail=fast"};
        fixture a, b;
        if (fx_make(&a, "lenet5", 4, sets, 1, NULL) < 0) return;
        if (fx_make(&b, "lenet5", 2, sets, 1, NULL) < 0) {
            fx_free(&a);
            return;
        }
        size_t nl = map_num_layers(a.plan);
        es_err err;
        hw_totals t0, t1, t2, t3, tb;
        uint8_t **m = masks_draw(a.plan, 0.3, 1);
        CHECK(hw_iteration_n(a.hw, (const uint8_t *const *)m, 0, 4, &err) == ES_OK);
        hw_get_totals(a.hw, &t0);
        CHECK(hw_iteration_n(a.hw, (const uint8_t *const *)m, 0, 2, &err) == ES_OK);
        hw_get_totals(a.hw, &t1);
        CHECK(hw_iteration_n(a.hw, (const uint8_t *const *)m, 0, 2, &err) == ES_OK);
        hw_get_totals(a.hw, &t2);
        CHECK(hw_iteration(a.hw, (const uint8_t *const *)m, 0, &err) == ES_OK);
        hw_get_totals(a.hw, &t3);
        CHECK(hw_iteration(b.hw, (const uint8_t *const *)m, 0, &err) == ES_OK);
        hw_get_totals(b.hw, &tb);
        CHECK(t0.spill_bytes == 0 && tb.spill_bytes == 0);
        CHECK_UINT(t3.images, 4 + 2 + 2 + 4);
        CHECK_UINT(tb.images, 2);
        double dt1 = t1.time_s - t0.time_s, de1 = t1.energy_j - t0.energy_j;
        CHECK_REL(dt1, tb.time_s, 1e-9);
        CHECK_REL(de1, tb.energy_j, 1e-9);
        CHECK_REL(t1.energy_j_idle - t0.energy_j_idle, tb.energy_j_idle, 1e-9);
        CHECK(dt1 < t0.time_s && de1 < t0.energy_j);
        /* the second partial batch and the next full one repeat their first */
        CHECK_REL(t2.time_s - t1.time_s, dt1, 1e-12);
        CHECK_REL(t2.energy_j - t1.energy_j, de1, 1e-12);
        CHECK_REL(t3.time_s - t2.time_s, t0.time_s, 1e-12);
        CHECK_REL(t3.energy_j - t2.energy_j, t0.energy_j, 1e-12);
        /* per-iteration traffic totals count images, not iterations */
        for (int k = 0; k < HW_NOC_NKIND; k++)
            CHECK_REL(t3.noc_bytes[k], 3.0 * t0.noc_bytes[k], 1e-12);
        CHECK(hw_iteration_n(a.hw, NULL, 0, 0, &err) == ES_EINVAL);
        CHECK(hw_iteration_n(a.hw, NULL, 0, 5, &err) == ES_EINVAL);
        masks_free(m, nl);
        fx_free(&a);
        fx_free(&b);
    }
}

/* The residual buffer of error feedback: 4 bytes per logical weight (LeNet-5: 61,470), its
 * leakage all the time, and per iteration every value added and the written ones read out
 * and cleared, at the gradient unit's SRAM energy per byte; nothing else changes. */
static void test_residual_buffer(void)
{
    static const char *on[] = {"policy.residual=true"};
    fixture a, b;
    if (fx_make(&a, "lenet5", 4, on, 1, NULL) < 0) return;
    if (fx_make(&b, "lenet5", 4, NULL, 0, NULL) < 0) {
        fx_free(&a);
        return;
    }
    size_t nl = map_num_layers(a.plan);
    uint8_t **m = masks_draw(a.plan, 0.3, 2);
    double wrote = 0;
    for (size_t l = 0; l < nl; l++) {
        const map_layer *L = map_layer_at(a.plan, l);
        for (uint64_t g = 0; g < L->blocks; g++)
            if (m[l][g]) wrote += (double)map_block_weights(L, g);
    }
    es_err err;
    hw_totals ta, tb;
    CHECK(hw_iteration(a.hw, (const uint8_t *const *)m, 0, &err) == ES_OK);
    CHECK(hw_iteration(b.hw, (const uint8_t *const *)m, 0, &err) == ES_OK);
    hw_get_totals(a.hw, &ta);
    hw_get_totals(b.hw, &tb);
    const gu_config *g = &a.chip.tile.gu.cfg;
    const double bytes = 61470.0 * 4;
    CHECK_REL(ta.residual_area_mm2, bytes * g->sram_area_mm2, 1e-12);
    CHECK(tb.residual_area_mm2 == 0);
    CHECK_REL(ta.time_s, tb.time_s, 1e-12);
    CHECK_REL(ta.energy_j_by_component[HW_E_LEAK_RESIDUAL], bytes * g->sram_leak_w * ta.time_s,
              1e-9);
    CHECK_REL(ta.energy_j_by_component[HW_E_RESIDUAL],
              2.0 * (bytes + 4.0 * wrote) * g->sram_energy_pj * 1e-12, 1e-9);
    CHECK(tb.energy_j_by_component[HW_E_RESIDUAL] == 0 &&
          tb.energy_j_by_component[HW_E_LEAK_RESIDUAL] == 0);
    CHECK_REL(ta.energy_j - tb.energy_j,
              ta.energy_j_by_component[HW_E_RESIDUAL] +
                  ta.energy_j_by_component[HW_E_LEAK_RESIDUAL],
              1e-9);
    CHECK_REL(ta.energy_j_idle - tb.energy_j_idle, ta.energy_j_by_component[HW_E_LEAK_RESIDUAL],
              1e-9);
    /* threshold training keeps a residual too; SGD does not */
    essim_config c = a.cfg;
    hw_options o;
    c.policy.residual = 0;
    c.policy.name = cfg_choice_index("policy.name", "threshold");
    hw_options_from(&c, &o);
    CHECK_INT(o.residual, 1);
    c.policy.name = b.cfg.policy.name;
    hw_options_from(&c, &o);
    CHECK_INT(o.residual, 0);
    masks_free(m, nl);
    fx_free(&a);
    fx_free(&b);
}

/* Incremental-pulse writes: with each block's pulses given (sum 3 per weight, at most 5 on
 * one), a row segment takes 5 pulses of arch.cell.write_pulse on every crossbar of the block's
 * position in every copy, and the energy is the pulses times the cells of a weight (slices,
 * copies) times a cell pulse with its driver; the next iteration, given none, is
 * program-and-verify again. */
static void test_pulse_writes(void)
{
    static const char *on[] = {"arch.cell.update=pulse"};
    fixture a;
    if (fx_make(&a, "lenet5", 4, on, 1, NULL) < 0) return;
    const xbar_model *xm = &a.chip.tile.ima.xbar;
    size_t nl = map_num_layers(a.plan);
    uint8_t **m = masks_draw(a.plan, 0.3, 3);
    double busy_p = 0, e_p = 0, busy_v = 0, e_v = 0;
    es_err err;
    for (size_t l = 0; l < nl; l++) {
        const map_layer *L = map_layer_at(a.plan, l);
        uint64_t *sum = malloc(L->blocks * sizeof *sum);
        uint32_t *mx = malloc(L->blocks * sizeof *mx);
        for (uint64_t g = 0; g < L->blocks; g++) {
            sum[g] = 3 * map_block_weights(L, g);
            mx[g] = 5;
            if (!m[l][g]) continue;
            map_block b;
            map_block_get(L, g, &b);
            const double xb = (double)L->xbars_per_pos * (double)L->copies;
            busy_p += (double)b.nrows * 5.0 * (double)xm->pulse_latency_ps * 1e-12 * xb;
            busy_v += (double)b.nrows * (double)xm->row_write_latency_ps * 1e-12 * xb;
            const double cpw = (double)(L->slices * L->cells_per_slice * L->copies);
            e_p += (double)sum[g] * cpw * xm->pulse_cell_energy_pj * 1e-12;
            e_v += (double)map_block_weights(L, g) * cpw * xm->cell_write_energy_pj * 1e-12;
        }
        CHECK(hw_set_pulses(a.hw, l, sum, mx, &err) == ES_OK);
        free(sum);
        free(mx);
    }
    CHECK(hw_set_pulses(a.hw, nl, NULL, NULL, &err) == ES_EINVAL);
    hw_totals t1, t2;
    CHECK(hw_iteration(a.hw, (const uint8_t *const *)m, 0, &err) == ES_OK);
    hw_get_totals(a.hw, &t1);
    CHECK_REL(t1.write_busy_s, busy_p, 1e-9);
    CHECK_REL(t1.energy_j_by_component[HW_E_WRITE], e_p, 1e-9);
    CHECK(hw_iteration(a.hw, (const uint8_t *const *)m, 0, &err) == ES_OK);
    hw_get_totals(a.hw, &t2);
    CHECK_REL(t2.write_busy_s - t1.write_busy_s, busy_v, 1e-9);
    CHECK_REL(t2.energy_j_by_component[HW_E_WRITE] - t1.energy_j_by_component[HW_E_WRITE], e_v,
              1e-9);
    CHECK(busy_p != busy_v && e_p != e_v);
    masks_free(m, nl);
    fx_free(&a);
}

/* ---- buffer capacity and NoC traffic by hand --------------------------------------------- */

/* A bound configuration (isaac-train defaults with sets), its chip and a plan of one layer. */
typedef struct hand {
    essim_config cfg;
    chip_model chip;
    map_plan *plan;
    hw_sim *h;
} hand;

static int hand_make(hand *x, const char *const *sets, int nsets, map_layer_spec spec,
                     const lop_op *ops, size_t nops)
{
    memset(x, 0, sizeof *x);
    es_err err;
    cfg_doc *doc = NULL;
    int rc = cfg_doc_create_empty(&doc, &err);
    for (int i = 0; rc == ES_OK && i < nsets; i++)
        rc = cfg_doc_set(doc, sets[i], &err);
    if (rc == ES_OK) rc = cfg_bind(doc, &x->cfg, &err);
    cfg_doc_destroy(doc);
    if (rc == ES_OK) rc = chip_from_config(&x->chip, &x->cfg, NULL, &err);
    map_config mc;
    if (rc == ES_OK) {
        map_config_from(&x->cfg, &mc);
        rc = map_create(&mc, &spec, 1, &x->plan, &err);
    }
    if (rc == ES_OK) {
        hw_options o;
        hw_options_from(&x->cfg, &o);
        rc = hw_create(&x->chip, x->plan, ops, nops, 1, &o, &x->h, &err);
    }
    if (!CHECK_MSG(rc == ES_OK, "hand fixture: %s", rc == ES_OK ? "" : err.msg)) return -1;
    return 0;
}

static void hand_free(hand *x)
{
    hw_destroy(x->h);
    map_destroy(x->plan);
    cfg_free(&x->cfg);
}

/* Run one iteration (no writes) and read statistic `name`. */
static double hand_stat(hand *x, const char *name, hw_totals *t)
{
    es_err err;
    if (t) {
        CHECK(hw_iteration(x->h, NULL, 0, &err) == ES_OK);
        hw_get_totals(x->h, t);
    }
    stat_registry *r = NULL;
    double v = NAN;
    if (stat_registry_create(&r) == ES_OK && hw_stats(x->h, r, &err) == ES_OK)
        CHECK_MSG(stat_value(r, name, &v, &err) == ES_OK, "%s", name);
    stat_registry_destroy(r);
    return v;
}

/* A forward mvm op of layer 0: `vectors` input vectors of `len` per image, `out` outputs,
 * `bytes` of input map. */
static void fwd_mvm(lop_op *op, uint64_t vectors, uint64_t len, uint64_t out, uint64_t bytes)
{
    memset(op, 0, sizeof *op);
    op->phase = LOP_FORWARD, op->kind = LOP_MVM;
    op->n[LOP_C_VECTORS] = vectors, op->n[LOP_C_VECTOR_LEN] = len, op->n[LOP_C_OUTPUT_LEN] = out;
    op->n[LOP_C_ACT_IN_BYTES] = bytes;
}

/* One 256 x 16 fully-connected layer on tile 0, batch 1: its forward op receives a 4,096-byte
 * input, which its gradient op needs in the backward pass. With 1KiB of eDRAM per tile,
 * 3,072 bytes spill: written off chip after the forward op, read back before the gradient,
 * each 3,072 B / 6.4 GB/s + 5 ns = 485 ns on the one link, both on the critical path. */
static void test_spill_by_hand(void)
{
    lop_op ops[2];
    memset(ops, 0, sizeof ops);
    fwd_mvm(&ops[0], 1, 256, 16, 4096);
    ops[1].phase = LOP_GRADIENT, ops[1].kind = LOP_GRAD;
    ops[1].n[LOP_C_VECTORS] = 1, ops[1].n[LOP_C_MACS] = 256 * 16;
    map_layer_spec spec = {"fc", 256, 16, 0};
    static const char *small[] = {"arch.offchip.links=1", "arch.edram.size=1KiB"};
    static const char *big[] = {"arch.offchip.links=1", "arch.edram.size=64KiB"};
    hand a, b;
    if (hand_make(&a, small, 2, spec, ops, 2) < 0) return;
    if (hand_make(&b, big, 2, spec, ops, 2) < 0) {
        hand_free(&a);
        return;
    }
    hw_totals ta, tb;
    CHECK_REL(hand_stat(&a, "hw.spill_bytes", &ta), 3072, 1e-12);
    CHECK_REL(hand_stat(&a, "hw.spill.fc.bytes", NULL), 3072, 1e-12);
    CHECK_REL(hand_stat(&a, "hw.spill_kept_bytes", NULL), 4096, 1e-12);
    CHECK_REL(hand_stat(&a, "hw.spill_capacity_bytes", NULL), 1024, 1e-12);
    double one = 3072 / 6.4e9 + 5e-9;
    CHECK_REL(hand_stat(&a, "hw.spill_time_s", NULL), 2 * one, 1e-9);
    CHECK(hand_stat(&b, "hw.spill_bytes", &tb) == 0);
    CHECK(hand_stat(&b, "hw.spill_time_s", NULL) == 0);
    /* the transfers are on the critical path: exactly their time is added */
    CHECK_REL(ta.time_s - tb.time_s, 2 * one, 1e-6);
    CHECK_REL(ta.time_s_by_phase[LOP_FORWARD] - tb.time_s_by_phase[LOP_FORWARD], one, 1e-6);
    /* and their energy: the network input (4,096 B) plus 2 x 3,072 B over the link */
    double bpj = a.chip.offchip.byte_energy_pj;
    CHECK_REL(ta.energy_j_by_component[HW_E_OFFCHIP], (4096 + 2 * 3072) * bpj * 1e-12, 1e-9);
    CHECK_REL(tb.energy_j_by_component[HW_E_OFFCHIP], 4096 * bpj * 1e-12, 1e-9);
    hand_free(&a);
    hand_free(&b);
}

/* A 384 x 16 layer on tiles of one IMA: its three row tiles (8 slices each) sit on tiles 0, 1
 * and 2, all on router 0. Its 768-byte input arrives at tile 0, which sends tiles 1 and 2 the
 * third each of it their rows read (256 bytes, to two different ejection ports: no wait).
 * Row tiles 1 and 2 send their partial sums, 16 outputs x 2 bytes = 32 bytes = 8 flits each,
 * to tile 0 at the same time: both want router 0's ejection port to tile 0, so the second
 * waits exactly one message, 8 flit times. */
static void test_psum_and_ports(void)
{
    lop_op op;
    fwd_mvm(&op, 1, 384, 16, 768);
    map_layer_spec spec = {"fc", 384, 16, 0};
    static const char *sets[] = {"arch.tile.imas=1", "arch.map.replication=none"};
    hand x;
    if (hand_make(&x, sets, 2, spec, &op, 1) < 0) return;
    const map_layer *L = map_layer_at(x.plan, 0);
    CHECK_UINT(L->row_tiles, 3);
    CHECK_UINT(L->tiles, 3);
    CHECK_UINT(x.chip.tile.ima.out_bytes, 2);
    hw_totals t;
    CHECK_REL(hand_stat(&x, "hw.noc.bytes_psum", &t), 64, 1e-12);
    CHECK_REL(hand_stat(&x, "hw.noc.bytes_broadcast", NULL), 512, 1e-12);
    const noc_model *nm = &x.chip.noc;
    double flit_s = (double)nm->cfg.link.flit_bits / 8.0 / nm->link.bandwidth_bps;
    CHECK_UINT(noc_flits(nm, 32), 8);
    CHECK_REL(t.noc_port_wait_s, 8 * flit_s, 1e-6);
    CHECK_REL(hand_stat(&x, "hw.noc.port_wait_s", NULL), 8 * flit_s, 1e-6);
    /* one op's own messages: serial work, not a stall */
    CHECK(t.stall_s_by_cause[HW_C_NOC] == 0);
    double e_pj = noc_transfer_energy_pj(nm, 1, 0, 32) + noc_transfer_energy_pj(nm, 0, 1, 256);
    CHECK_REL(t.energy_j_by_component[HW_E_NOC], 2e-12 * e_pj, 1e-9);
    hand_free(&x);
}

/* A 128 x 16 layer with 4 input vectors per image in three copies, one per tile (tiles of one
 * IMA): the image's 300-byte input map arrives at tile 0 and each other copy gets its share,
 * 100 bytes, before the image issues: 200 bytes broadcast, on different ejection ports. */
static void test_broadcast(void)
{
    lop_op op;
    fwd_mvm(&op, 4, 128, 16, 300);
    map_layer_spec spec = {"c", 128, 16, 4};
    static const char *sets[] = {"arch.tile.imas=1", "arch.map.replication=list",
                                 "arch.map.copies={c: 3}"};
    hand x;
    if (hand_make(&x, sets, 3, spec, &op, 1) < 0) return;
    CHECK_UINT(map_layer_at(x.plan, 0)->copies, 3);
    CHECK_UINT(map_layer_at(x.plan, 0)->tiles, 3);
    hw_totals t;
    CHECK_REL(hand_stat(&x, "hw.noc.bytes_broadcast", &t), 200, 1e-12);
    CHECK(hand_stat(&x, "hw.noc.bytes_psum", NULL) == 0);
    CHECK(t.noc_port_wait_s == 0);
    const noc_model *nm = &x.chip.noc;
    CHECK_REL(t.energy_j_by_component[HW_E_NOC],
              (noc_transfer_energy_pj(nm, 0, 1, 100) + noc_transfer_energy_pj(nm, 0, 2, 100)) *
                  1e-12,
              1e-9);
    hand_free(&x);
}

/* A real network that overflows a small eDRAM: the layers' spills add up, every spilled byte
 * is kept, and the spills cost time. */
static void test_spill_lenet(void)
{
    static const char *small[] = {"arch.map.replication=none", "arch.edram.size=4KiB"};
    static const char *big[] = {"arch.map.replication=none", "arch.edram.size=64MiB"};
    hand a = {0}, b = {0};
    fixture fa, fb;
    if (fx_make(&fa, "lenet5", 8, small, 2, NULL) < 0) return;
    if (fx_make(&fb, "lenet5", 8, big, 2, NULL) < 0) {
        fx_free(&fa);
        return;
    }
    a.h = fa.hw, b.h = fb.hw;
    hw_totals ta, tb;
    double sp = hand_stat(&a, "hw.spill_bytes", &ta);
    double kept = hand_stat(&a, "hw.spill_kept_bytes", NULL);
    double cap = hand_stat(&a, "hw.spill_capacity_bytes", NULL);
    CHECK(sp >= kept - cap && sp <= kept && sp > 0);
    double sum = 0;
    char name[64];
    for (size_t l = 0; l < map_num_layers(fa.plan); l++) {
        snprintf(name, sizeof name, "hw.spill.%s.bytes", map_layer_at(fa.plan, l)->name);
        sum += hand_stat(&a, name, NULL);
    }
    CHECK_REL(sum, sp, 1e-12);
    CHECK(hand_stat(&b, "hw.spill_bytes", &tb) == 0);
    CHECK_REL(hand_stat(&b, "hw.spill_kept_bytes", NULL), kept, 1e-12);
    CHECK(ta.time_s > tb.time_s);
    CHECK(ta.stall_s_by_cause[HW_C_OFFCHIP] >= tb.stall_s_by_cause[HW_C_OFFCHIP]);
    fx_free(&fa);
    fx_free(&fb);
}

static void test_errors(void)
{
    /* a network that does not fit the chip */
    static const char *tiny[] = {"arch.chip.tiles=1", "arch.tile.imas=1"};
    fixture f;
    memset(&f, 0, sizeof f);
    es_err err;
    cfg_doc *doc = NULL;
    int rc = cfg_doc_create_empty(&doc, &err);
    for (int i = 0; rc == ES_OK && i < 2; i++)
        rc = cfg_doc_set(doc, tiny[i], &err);
    if (rc == ES_OK) rc = cfg_bind(doc, &f.cfg, &err);
    cfg_doc_destroy(doc);
    if (rc == ES_OK) rc = chip_from_config(&f.chip, &f.cfg, NULL, &err);
    if (rc == ES_OK) rc = nn_preset_create("lenet5", (nn_shape){1, 28, 28}, 10, &f.net, &err);
    map_config mc;
    map_config_from(&f.cfg, &mc);
    mc.require_fit = 0;
    if (rc == ES_OK) rc = lop_map_net(&mc, f.net, &f.plan, &err);
    if (rc == ES_OK) rc = lop_compile(f.plan, f.net, 2, &f.ops, &err);
    if (CHECK(rc == ES_OK)) {
        size_t n;
        const lop_op *ops = lop_ops(f.ops, &n);
        hw_options o;
        hw_options_from(&f.cfg, &o);
        CHECK(hw_create(&f.chip, f.plan, ops, n, 2, &o, &f.hw, &err) == ES_ECONFIG);
        CHECK_CONTAINS(err.msg, "arch.chip.tiles");
        CHECK(f.hw == NULL);
    }
    fx_free(&f);
    fixture g;
    memset(&g, 0, sizeof g);
    CHECK(cfg_defaults(&g.cfg, &err) == ES_OK);
    CHECK(chip_from_config(&g.chip, &g.cfg, NULL, &err) == ES_OK);
    CHECK(nn_preset_create("lenet5", (nn_shape){1, 28, 28}, 10, &g.net, &err) == ES_OK);
    map_config_from(&g.cfg, &mc);
    CHECK(lop_map_net(&mc, g.net, &g.plan, &err) == ES_OK);
    CHECK(lop_compile(g.plan, g.net, 2, &g.ops, &err) == ES_OK);
    /* a timeline that cannot be created */
    size_t n;
    const lop_op *ops = lop_ops(g.ops, &n);
    hw_options o;
    hw_options_from(&g.cfg, &o);
    o.timeline = "/nonexistent-dir/x/timeline.json";
    CHECK(hw_create(&g.chip, g.plan, ops, n, 2, &o, &g.hw, &err) == ES_EIO);
    CHECK_CONTAINS(err.msg, "/nonexistent-dir/x/timeline.json");
    /* a batch the op stream was not compiled for */
    o.timeline = NULL;
    CHECK(hw_create(&g.chip, g.plan, ops, n, 3, &o, &g.hw, &err) == ES_EINVAL);
    fx_free(&g);
}

int main(int argc, char **argv)
{
    static const tap_test tests[] = {
        {"writes_by_hand", test_writes_by_hand},
        {"compute_energy", test_compute_energy},
        {"fast_vs_full", test_fast_vs_full},
        {"pipeline_bound", test_pipeline_bound},
        {"heatmap_and_timeline", test_heatmap_and_timeline},
        {"replication", test_replication},
        {"power_gating", test_power_gating},
        {"partial_batch", test_partial_batch},
        {"residual_buffer", test_residual_buffer},
        {"pulse_writes", test_pulse_writes},
        {"errors", test_errors},
        {"spill_by_hand", test_spill_by_hand},
        {"psum_and_ports", test_psum_and_ports},
        {"broadcast", test_broadcast},
        {"spill_lenet", test_spill_lenet},
    };
    return tap_main(tests, ES_ARRAY_LEN(tests), argc, argv);
}
