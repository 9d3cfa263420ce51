/* test_map.c - crossbar mapping (arch/map) and the layer-op stream (workloads/lop_compile):
 * placement counts against hand-computed values for LeNet-5 and ResNet-20 in every slicing /
 * encoding mode, block enumeration and its memory runs against a brute-force enumeration,
 * the bulk norm / apply sweeps, op counts of one conv and one fc layer, and the errors. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "lop_compile.h"
#include "nn_presets.h"
#include "rng.h"
#include "tap.h"
#include "map.h"

/* ISAAC's organisation (168 tiles x 12 IMAs x 8 crossbars) with the given crossbar. */
static map_config mcfg(int64_t rows, int64_t cols, int64_t bpc, int slicing, int encoding, int gran)
{
    map_config mc;
    memset(&mc, 0, sizeof mc);
    mc.rows = rows;
    mc.cols = cols;
    mc.bits_per_cell = bpc;
    mc.weight_bits = 16;
    mc.input_bits = 16;
    mc.slicing = slicing;
    mc.encoding = encoding;
    mc.granularity = gran;
    mc.xbars_per_ima = 8;
    mc.imas_per_tile = 12;
    mc.tiles = 168;
    mc.require_fit = 1;
    return mc;
}

static nn_net *preset(const char *name)
{
    nn_net *net = NULL;
    es_err err;
    es_err_clear(&err);
    if (nn_preset_create(name, (nn_shape){1, 28, 28}, 10, &net, &err) < 0) return NULL;
    return net;
}

/* One mapping case: per-layer crossbars and blocks, and the totals. */
typedef struct map_case {
    const char *what;
    map_config mc;
    uint64_t xbars[20], blocks[20];
    uint64_t total_xbars, total_imas, total_tiles, total_blocks;
} map_case;

static void check_case(const nn_net *net, const map_case *c, size_t nlayers)
{
    map_plan *plan = NULL;
    es_err err;
    es_err_clear(&err);
    if (!CHECK_MSG(lop_map_net(&c->mc, net, &plan, &err) == ES_OK, "%s: maps (%s)", c->what,
                   err.msg))
        return;
    CHECK_UINT(map_num_layers(plan), nlayers);
    int all = 1;
    for (size_t i = 0; i < nlayers && i < map_num_layers(plan); i++) {
        const map_layer *L = map_layer_at(plan, i);
        if (L->xbars != c->xbars[i] || L->blocks != c->blocks[i]) {
            CHECK_MSG(0, "%s: layer %zu (%s): %llu crossbars %llu blocks, want %llu and %llu",
                      c->what, i, L->name, (unsigned long long)L->xbars,
                      (unsigned long long)L->blocks, (unsigned long long)c->xbars[i],
                      (unsigned long long)c->blocks[i]);
            all = 0;
        }
    }
    CHECK_MSG(all, "%s: per-layer crossbars and blocks", c->what);
    const map_totals *t = map_plan_totals(plan);
    CHECK_MSG(t->xbars == c->total_xbars, "%s: %llu crossbars, want %llu", c->what,
              (unsigned long long)t->xbars, (unsigned long long)c->total_xbars);
    CHECK_MSG(t->imas == c->total_imas, "%s: %llu IMAs, want %llu", c->what,
              (unsigned long long)t->imas, (unsigned long long)c->total_imas);
    CHECK_MSG(t->tiles == c->total_tiles, "%s: %llu tiles, want %llu", c->what,
              (unsigned long long)t->tiles, (unsigned long long)c->total_tiles);
    CHECK_MSG(t->blocks == c->total_blocks, "%s: %llu blocks, want %llu", c->what,
              (unsigned long long)t->blocks, (unsigned long long)c->total_blocks);
    CHECK(t->fits);
    map_destroy(plan);
}

/* LeNet-5 on 1x28x28: conv1 K = 1*5*5 = 25, N = 6; conv2 K = 6*5*5 = 150, N = 16;
 * fc1 K = 16*5*5 = 400, N = 120; fc2 K = 120, N = 84; fc3 K = 84, N = 10. 61,470 weights. */
static void t_lenet5(void)
{
    nn_net *net = preset("lenet5");
    if (!CHECK(net)) return;
    static map_case cases[5];
    /* ISAAC 128x128, 2 bits/cell, 16-bit weights: S = 16/2 = 8 slices.
     * across + offset: P = 1, n_w = 128/1 = 128; every N <= 128 so col_tiles = 1.
     *   row_tiles: conv1 ceil(25/128)=1, conv2 ceil(150/128)=2, fc1 ceil(400/128)=4, fc2 1, fc3 1
     *   crossbars = RT x 1 x 8: 8, 16, 32, 8, 8 = 72; IMAs (8 crossbars each, fresh per
     *   layer) 1+2+4+1+1 = 9 -> ceil(9/12) = 1 tile. Row blocks G = K x 1: 25+150+400+120+84
     *   = 779. */
    cases[0] = (map_case){"lenet5 across offset",
                          mcfg(128, 128, 2, CFG_SLICE_ACROSS, CFG_ENC_OFFSET, CFG_GRAN_ROW),
                          {8, 16, 32, 8, 8},
                          {25, 150, 400, 120, 84},
                          72,
                          9,
                          1,
                          779};
    /* across + differential: P = 2, n_w = 128/2 = 64. col_tiles: conv1 1, conv2 1,
     *   fc1 ceil(120/64) = 2, fc2 ceil(84/64) = 2, fc3 1.
     *   crossbars = RT x CT x 8: 8, 16, 4*2*8 = 64, 1*2*8 = 16, 8 = 112;
     *   IMAs 1+2+8+2+1 = 14 -> ceil(14/12) = 2 tiles; blocks 25+150+400*2+120*2+84 = 1299. */
    cases[1] = (map_case){"lenet5 across differential",
                          mcfg(128, 128, 2, CFG_SLICE_ACROSS, CFG_ENC_DIFFERENTIAL, CFG_GRAN_ROW),
                          {8, 16, 64, 16, 8},
                          {25, 150, 800, 240, 84},
                          112,
                          14,
                          2,
                          1299};
    /* within + offset: n_w = floor(128 / (8*1)) = 16. col_tiles: conv1 ceil(6/16) = 1,
     *   conv2 1, fc1 ceil(120/16) = 8, fc2 ceil(84/16) = 6, fc3 1.
     *   crossbars = RT x CT: 1, 2, 4*8 = 32, 6, 1 = 42; IMAs 1+1+4+1+1 = 8 -> 1 tile;
     *   blocks 25 + 150 + 400*8 + 120*6 + 84 = 4179. */
    cases[2] = (map_case){"lenet5 within offset",
                          mcfg(128, 128, 2, CFG_SLICE_WITHIN, CFG_ENC_OFFSET, CFG_GRAN_ROW),
                          {1, 2, 32, 6, 1},
                          {25, 150, 3200, 720, 84},
                          42,
                          8,
                          1,
                          4179};
    /* within + differential: n_w = floor(128 / (8*2)) = 8. col_tiles: conv1 1,
     *   conv2 ceil(16/8) = 2, fc1 ceil(120/8) = 15, fc2 ceil(84/8) = 11, fc3 ceil(10/8) = 2.
     *   crossbars: 1, 2*2 = 4, 4*15 = 60, 11, 2 = 78; IMAs 1+1+ceil(60/8)=8 +2+1 = 13 -> 2
     *   tiles; blocks 25 + 150*2 + 400*15 + 120*11 + 84*2 = 25+300+6000+1320+168 = 7813. */
    cases[3] = (map_case){"lenet5 within differential",
                          mcfg(128, 128, 2, CFG_SLICE_WITHIN, CFG_ENC_DIFFERENTIAL, CFG_GRAN_ROW),
                          {1, 4, 60, 11, 2},
                          {25, 300, 6000, 1320, 168},
                          78,
                          13,
                          2,
                          7813};
    /* 256x256, 1 bit/cell: S = 16; across + offset: n_w = 256, col_tiles 1 everywhere;
     *   row_tiles: 1, 1, ceil(400/256) = 2, 1, 1 -> crossbars 16, 16, 32, 16, 16 = 96;
     *   IMAs 2+2+4+2+2 = 12 -> 1 tile; blocks 779 as in the first case. */
    cases[4] = (map_case){"lenet5 256x256 1b across offset",
                          mcfg(256, 256, 1, CFG_SLICE_ACROSS, CFG_ENC_OFFSET, CFG_GRAN_ROW),
                          {16, 16, 32, 16, 16},
                          {25, 150, 400, 120, 84},
                          96,
                          12,
                          1,
                          779};
    for (size_t i = 0; i < ES_ARRAY_LEN(cases); i++)
        check_case(net, &cases[i], 5);

    /* Utilisation and placement details of the first case. fc1: cells 400*120*8*1 = 384000 of
     * 32 * 128*128 = 524288 -> 0.732421875. Total: 61470*8 = 491760 of 72*16384 = 1179648.
     * IMAs: conv1 0, conv2 1-2, fc1 3-6, fc2 7, fc3 8. */
    map_plan *plan = NULL;
    es_err err;
    es_err_clear(&err);
    map_config mc = cases[0].mc;
    if (CHECK(lop_map_net(&mc, net, &plan, &err) == ES_OK)) {
        const map_layer *fc1 = map_layer_at(plan, 2), *conv2 = map_layer_at(plan, 1);
        CHECK_STR(fc1->name, "fc1");
        CHECK_UINT(fc1->k, 400);
        CHECK_UINT(fc1->n, 120);
        CHECK_NEAR(fc1->utilisation, 384000.0 / 524288.0, 1e-12);
        CHECK_NEAR(map_plan_totals(plan)->utilisation, 491760.0 / 1179648.0, 1e-12);
        CHECK_UINT(map_plan_totals(plan)->weights, 61470);
        CHECK_UINT(fc1->ima0, 3);
        CHECK_UINT(fc1->imas, 4);
        CHECK_UINT(fc1->xbar0, 24);
        CHECK_UINT(map_layer_at(plan, 4)->ima0, 8);
        /* conv2 starts at IMA 1 = slot 8; position (row tile 1, col tile 0) is the second,
         * its slice 3 is slot 8 + 1*8 + 3 = 19. */
        CHECK_UINT(map_xbar_slot(conv2, 1, 0, 3), 19);
        CHECK(map_layer_at(plan, 5) == NULL);
        map_destroy(plan);
    }
    nn_net_destroy(net);
}

/* ResNet-20 option A on 1x28x28 (19 convs + fc): conv K = 1*3*3 = 9, N = 16; stage 1: six
 * convs K = 16*9 = 144, N = 16; stage 2: layers.3.conv1 K = 144, N = 32, then five convs
 * K = 32*9 = 288, N = 32; stage 3: layers.6.conv1 K = 288, N = 64, then five K = 64*9 = 576,
 * N = 64; fc K = 64, N = 10. 268,048 mapped weights. */
static void t_resnet20(void)
{
    nn_net *net = preset("resnet20");
    if (!CHECK(net)) return;
    CHECK_UINT(nn_net_mapped_total(net), 268048);
    static map_case cases[5];
    /* across + offset (n_w = 128, every N <= 128: CT = 1), S = 8: crossbars = RT x 8 with RT
     *   = ceil(K/128): K 9 -> 1, 144 -> 2, 288 -> 3, 576 -> 5, 64 -> 1.
     *   8 + 6*16 + 16 + 5*24 + 24 + 5*40 + 8 = 8+96+16+120+24+200+8 = 472 crossbars;
     *   IMAs = crossbars/8: 1 + 6*2 + 2 + 5*3 + 3 + 5*5 + 1 = 59 -> ceil(59/12) = 5 tiles;
     *   blocks = sum K = 9 + 6*144 + 144 + 5*288 + 288 + 5*576 + 64 = 5689. */
    cases[0] =
        (map_case){"resnet20 across offset",
                   mcfg(128, 128, 2, CFG_SLICE_ACROSS, CFG_ENC_OFFSET, CFG_GRAN_ROW),
                   {8, 16, 16, 16, 16, 16, 16, 16, 24, 24, 24, 24, 24, 24, 40, 40, 40, 40, 40, 8},
                   {9,   144, 144, 144, 144, 144, 144, 144, 288, 288,
                    288, 288, 288, 288, 576, 576, 576, 576, 576, 64},
                   472,
                   59,
                   5,
                   5689};
    /* across + differential: n_w = 64 still covers every N <= 64, so the same crossbars,
     * IMAs, tiles and blocks (at twice the utilisation). */
    cases[1] = cases[0];
    cases[1].what = "resnet20 across differential";
    cases[1].mc = mcfg(128, 128, 2, CFG_SLICE_ACROSS, CFG_ENC_DIFFERENTIAL, CFG_GRAN_ROW);
    /* within + offset: n_w = 16, CT = N/16: 16 -> 1, 32 -> 2, 64 -> 4, 10 -> 1.
     *   crossbars RT x CT: conv 1, stage 1 2 each (x6 = 12), layers.3.conv1 2*2 = 4, then
     *   3*2 = 6 (x5 = 30), layers.6.conv1 3*4 = 12, then 5*4 = 20 (x5 = 100), fc 1:
     *   1+12+4+30+12+100+1 = 160; IMAs: 1 + 6 + 1 + 5 + ceil(12/8)=2 + 5*ceil(20/8)=15 + 1 = 31
     *   -> 3 tiles; blocks K x CT: 9 + 6*144 + 288 + 5*576 + 1152 + 5*2304 + 64 = 16777. */
    cases[2] = (map_case){"resnet20 within offset",
                          mcfg(128, 128, 2, CFG_SLICE_WITHIN, CFG_ENC_OFFSET, CFG_GRAN_ROW),
                          {1, 2, 2, 2, 2, 2, 2, 4, 6, 6, 6, 6, 6, 12, 20, 20, 20, 20, 20, 1},
                          {9,   144, 144, 144,  144,  144,  144,  288,  576,  576,
                           576, 576, 576, 1152, 2304, 2304, 2304, 2304, 2304, 64},
                          160,
                          31,
                          3,
                          16777};
    /* within + differential: n_w = 8, CT = N/8: 16 -> 2, 32 -> 4, 64 -> 8, 10 -> 2; every
     *   crossbar count doubles: 320. IMAs: conv 1, stage 1 4 crossbars -> 1 (x6), 8 -> 1,
     *   12 -> 2 (x5), 24 -> 3, 40 -> 5 (x5), fc 1: 1+6+1+10+3+25+1 = 47 -> 4 tiles;
     *   blocks double: 2 * 16777 = 33554. */
    cases[3] = (map_case){"resnet20 within differential",
                          mcfg(128, 128, 2, CFG_SLICE_WITHIN, CFG_ENC_DIFFERENTIAL, CFG_GRAN_ROW),
                          {2, 4, 4, 4, 4, 4, 4, 8, 12, 12, 12, 12, 12, 24, 40, 40, 40, 40, 40, 2},
                          {18,   288,  288,  288,  288,  288,  288,  576,  1152, 1152,
                           1152, 1152, 1152, 2304, 4608, 4608, 4608, 4608, 4608, 128},
                          320,
                          47,
                          4,
                          33554};
    /* 256x256, 1 bit/cell, across + offset: S = 16, n_w = 256 (CT = 1), RT = ceil(K/256):
     *   9 -> 1, 144 -> 1, 288 -> 2, 576 -> 3, 64 -> 1; crossbars RT x 16:
     *   16 + 6*16 + 16 + 5*32 + 32 + 5*48 + 16 = 16+96+16+160+32+240+16 = 576; IMAs = /8:
     *   2 + 12 + 2 + 20 + 4 + 30 + 2 = 72 -> 6 tiles; blocks 5689 as the first case. */
    cases[4] =
        (map_case){"resnet20 256x256 1b across offset",
                   mcfg(256, 256, 1, CFG_SLICE_ACROSS, CFG_ENC_OFFSET, CFG_GRAN_ROW),
                   {16, 16, 16, 16, 16, 16, 16, 16, 32, 32, 32, 32, 32, 32, 48, 48, 48, 48, 48, 16},
                   {9,   144, 144, 144, 144, 144, 144, 144, 288, 288,
                    288, 288, 288, 288, 576, 576, 576, 576, 576, 64},
                   576,
                   72,
                   6,
                   5689};
    for (size_t i = 0; i < ES_ARRAY_LEN(cases); i++)
        check_case(net, &cases[i], 20);

    /* Utilisation, across + offset: 268048 weights x 8 cells of 472 x 16384 cells;
     * differential doubles the cells in the same crossbars. */
    map_plan *plan = NULL;
    es_err err;
    es_err_clear(&err);
    if (CHECK(lop_map_net(&cases[0].mc, net, &plan, &err) == ES_OK)) {
        CHECK_NEAR(map_plan_totals(plan)->utilisation, 268048.0 * 8 / (472.0 * 16384), 1e-12);
        CHECK_STR(map_layer_at(plan, 19)->name, "fc");
        map_destroy(plan);
    }
    if (CHECK(lop_map_net(&cases[1].mc, net, &plan, &err) == ES_OK)) {
        CHECK_NEAR(map_plan_totals(plan)->utilisation, 268048.0 * 16 / (472.0 * 16384), 1e-12);
        map_destroy(plan);
    }
    /* Crossbar and weight granularity, across + offset: one block per (RT, CT) position:
     * 1 + 6*2 + 2 + 5*3 + 3 + 5*5 + 1 = 59 (= the IMA count, as S = xbars/IMA = 8); one per
     * weight: 268048. */
    map_config mc = cases[0].mc;
    mc.granularity = CFG_GRAN_CROSSBAR;
    if (CHECK(lop_map_net(&mc, net, &plan, &err) == ES_OK)) {
        CHECK_UINT(map_plan_totals(plan)->blocks, 59);
        map_destroy(plan);
    }
    mc.granularity = CFG_GRAN_WEIGHT;
    if (CHECK(lop_map_net(&mc, net, &plan, &err) == ES_OK)) {
        CHECK_UINT(map_plan_totals(plan)->blocks, 268048);
        map_destroy(plan);
    }
    nn_net_destroy(net);
}

/* Brute force: owner[x] = the block holding memory index x, by the definition, enumerating
 * the blocks in their documented order with nested tile loops (no block descriptor used). */
static void brute_owner(const map_layer *L, int gran, uint64_t *owner)
{
    uint64_t K = L->k, N = L->n, nw = L->weights_per_row, rows = L->rows, b = 0;
    uint64_t RT = (K + rows - 1) / rows, CT = (N + nw - 1) / nw;
    if (gran == CFG_GRAN_WEIGHT) {
        for (uint64_t c = 0; c < N; c++)
            for (uint64_t r = 0; r < K; r++)
                owner[c * K + r] = b++;
        return;
    }
    for (uint64_t j = 0; j < CT; j++) {
        if (gran == CFG_GRAN_ROW) {
            for (uint64_t r = 0; r < K; r++, b++)
                for (uint64_t c = j * nw; c < N && c < (j + 1) * nw; c++)
                    owner[c * K + r] = b;
        } else {
            for (uint64_t t = 0; t < RT; t++, b++)
                for (uint64_t c = j * nw; c < N && c < (j + 1) * nw; c++)
                    for (uint64_t r = t * rows; r < K && r < (t + 1) * rows; r++)
                        owner[c * K + r] = b;
        }
    }
}

/* Every property of the block enumeration on one layer. */
static void check_blocks(const map_config *mc, uint64_t K, uint64_t N, const char *what)
{
    map_layer_spec spec = {what, K, N, 0};
    map_plan *plan = NULL;
    es_err err;
    es_err_clear(&err);
    if (!CHECK_MSG(map_create(mc, &spec, 1, &plan, &err) == ES_OK, "%s: map_create (%s)", what,
                   err.msg))
        return;
    const map_layer *L = map_layer_at(plan, 0);
    uint64_t nw = L->weights_per_row, RT = L->row_tiles, CT = L->col_tiles;
    uint64_t want = mc->granularity == CFG_GRAN_ROW        ? K * CT
                    : mc->granularity == CFG_GRAN_CROSSBAR ? RT * CT
                                                           : K * N;
    CHECK_MSG(L->blocks == want, "%s %s: %llu blocks, want %llu", what,
              map_granularity_name(mc->granularity), (unsigned long long)L->blocks,
              (unsigned long long)want);
    uint32_t *seen = calloc(K * N, sizeof *seen);
    uint64_t *owner = malloc(K * N * sizeof *owner), *count = calloc(L->blocks, sizeof *count);
    float *u = malloc(K * N * sizeof *u), *w1 = malloc(K * N * sizeof *w1);
    float *w2 = malloc(K * N * sizeof *w2), *scale = malloc(L->blocks * sizeof *scale);
    double *norm = malloc(L->blocks * sizeof *norm), *bnorm = calloc(L->blocks, sizeof *bnorm);
    if (!seen || !owner || !count || !u || !w1 || !w2 || !scale || !norm || !bnorm) goto done;
    brute_owner(L, mc->granularity, owner);
    for (uint64_t x = 0; x < K * N; x++)
        count[owner[x]]++;
    uint64_t sum = 0, max_w = 0;
    int ok_span = 1, ok_roundtrip = 1, ok_brute = 1, ok_size = 1, ok_tile = 1;
    for (uint64_t g = 0; g < L->blocks; g++) {
        map_block b;
        if (map_block_get(L, g, &b) < 0) {
            ok_span = 0;
            break;
        }
        uint64_t m = 0;
        for (uint64_t i = 0; i < b.ncols; i++)
            for (uint64_t r = 0; r < b.nrows; r++) {
                uint64_t x = b.data0 + i * b.stride + r;
                if (x >= K * N) {
                    ok_span = 0;
                    continue;
                }
                seen[x]++;
                m++;
                if (owner[x] != g) ok_brute = 0;
                /* the weight at x is W[x % K][x / K]; its block must be g */
                if (map_block_of(L, x % K, x / K) != g) ok_roundtrip = 0;
            }
        if (m != map_block_weights(L, g) || m != b.nrows * b.ncols) ok_size = 0;
        if (map_block_cells(L, g) != m * L->slices * L->cells_per_slice) ok_size = 0;
        if (b.row_tile != b.row0 / L->rows || b.col_tile != b.col0 / nw) ok_tile = 0;
        if (mc->granularity == CFG_GRAN_ROW && map_row_block(L, b.row0, b.col_tile) != g)
            ok_roundtrip = 0;
        if (count[g] != m) ok_brute = 0; /* with "each weight once": the same set */
        sum += m;
        if (m > max_w) max_w = m;
    }
    int once = 1;
    for (uint64_t x = 0; x < K * N; x++)
        once &= seen[x] == 1;
    CHECK_MSG(ok_span, "%s %s: block runs stay inside the matrix", what,
              map_granularity_name(mc->granularity));
    CHECK_MSG(sum == K * N, "%s %s: block sizes sum to K x N (%llu vs %llu)", what,
              map_granularity_name(mc->granularity), (unsigned long long)sum,
              (unsigned long long)(K * N));
    CHECK_MSG(once, "%s %s: every weight in exactly one block", what,
              map_granularity_name(mc->granularity));
    CHECK_MSG(ok_roundtrip, "%s %s: block index <-> weight / (row, col tile) round trips", what,
              map_granularity_name(mc->granularity));
    CHECK_MSG(ok_brute, "%s %s: memory runs agree with the brute-force enumeration", what,
              map_granularity_name(mc->granularity));
    CHECK_MSG(ok_size && ok_tile, "%s %s: block sizes, cells and tiles", what,
              map_granularity_name(mc->granularity));
    CHECK_MSG(max_w == L->block_weights_max, "%s %s: largest block %llu weights (layer says %llu)",
              what, map_granularity_name(mc->granularity), (unsigned long long)max_w,
              (unsigned long long)L->block_weights_max);
    {
        map_block b;
        CHECK(map_block_get(L, L->blocks, &b) == ES_ERANGE);
    }

    /* Bulk sweeps against the per-block definition. */
    rng_stream rs;
    rng_init(&rs, 7, "test_map/u");
    for (uint64_t x = 0; x < K * N; x++) {
        u[x] = (float)(rng_uniform(&rs) * 2 - 1);
        w1[x] = w2[x] = (float)rng_uniform(&rs);
    }
    map_block_norms2(L, u, norm);
    for (uint64_t x = 0; x < K * N; x++)
        bnorm[owner[x]] += (double)u[x] * (double)u[x];
    int ok_norm = 1;
    for (uint64_t g = 0; g < L->blocks; g++) {
        if (fabs(bnorm[g] - norm[g]) > 1e-9 * (1 + bnorm[g])) ok_norm = 0;
        /* a third of the blocks dropped, the rest rescaled */
        scale[g] = g % 3 == 0 ? 0.0f : (float)(1.0 + (double)(g % 7));
    }
    CHECK_MSG(ok_norm, "%s %s: block norms agree with a per-block sum", what,
              map_granularity_name(mc->granularity));
    /* a dropped block's weights stay bit for bit even where u is not finite */
    map_block b0;
    map_block_get(L, 0, &b0);
    u[b0.data0] = NAN;
    map_blocks_apply(L, scale, u, w1);
    for (uint64_t g = 0; g < L->blocks; g++)
        if (scale[g] != 0.0f) map_block_axpy(L, g, scale[g], u, w2);
    CHECK_MSG(memcmp(w1, w2, K * N * sizeof *w1) == 0,
              "%s %s: masked sweep == per-block axpy, dropped blocks untouched", what,
              map_granularity_name(mc->granularity));
done:
    free(seen);
    free(owner);
    free(count);
    free(bnorm);
    free(u);
    free(w1);
    free(w2);
    free(scale);
    free(norm);
    map_destroy(plan);
}

static void t_blocks(void)
{
    static const int grans[] = {CFG_GRAN_ROW, CFG_GRAN_CROSSBAR, CFG_GRAN_WEIGHT};
    for (size_t i = 0; i < ES_ARRAY_LEN(grans); i++) {
        /* ISAAC across offset: n_w = 128; K = 300 gives row tiles of 128, 128, 44 and N = 150
         * column tiles of 128 and 22: edge tiles in both directions. */
        map_config mc = mcfg(128, 128, 2, CFG_SLICE_ACROSS, CFG_ENC_OFFSET, grans[i]);
        check_blocks(&mc, 300, 150, "300x150 across offset");
        /* within differential: n_w = 8; N = 84 -> 10 full column tiles and one of 4. */
        mc = mcfg(128, 128, 2, CFG_SLICE_WITHIN, CFG_ENC_DIFFERENTIAL, grans[i]);
        check_blocks(&mc, 120, 84, "120x84 within differential");
        /* a tiny crossbar so every dimension has several tiles: 5x6 cells, differential,
         * across: n_w = 3, K = 13 -> RT 3 (5, 5, 3), N = 7 -> CT 3 (3, 3, 1). */
        mc = mcfg(5, 6, 4, CFG_SLICE_ACROSS, CFG_ENC_DIFFERENTIAL, grans[i]);
        check_blocks(&mc, 13, 7, "13x7 on 5x6");
        /* a single weight */
        check_blocks(&mc, 1, 1, "1x1");
    }
    /* Row granularity: (r, j) -> j K + r and back; row writes S per block across, 1 within. */
    map_config mc = mcfg(128, 128, 2, CFG_SLICE_ACROSS, CFG_ENC_OFFSET, CFG_GRAN_ROW);
    map_layer_spec spec = {"l", 300, 150, 0};
    map_plan *plan = NULL;
    es_err err;
    es_err_clear(&err);
    if (CHECK(map_create(&mc, &spec, 1, &plan, &err) == ES_OK)) {
        const map_layer *L = map_layer_at(plan, 0);
        map_block b;
        CHECK_UINT(map_row_block(L, 7, 1), 1 * 300 + 7);
        CHECK(map_block_get(L, 307, &b) == ES_OK);
        CHECK_UINT(b.row0, 7);
        CHECK_UINT(b.col_tile, 1);
        CHECK_UINT(b.col0, 128);
        CHECK_UINT(b.ncols, 22); /* edge tile: 150 - 128 */
        CHECK_UINT(b.data0, 128 * 300 + 7);
        CHECK_UINT(b.stride, 300);
        CHECK_UINT(map_block_weights(L, 7), 128);
        CHECK_UINT(map_block_cells(L, 307), 22 * 8);
        CHECK_UINT(map_block_row_writes(L, 0), 8);
        map_destroy(plan);
    }
    mc.slicing = CFG_SLICE_WITHIN;
    mc.granularity = CFG_GRAN_CROSSBAR;
    if (CHECK(map_create(&mc, &spec, 1, &plan, &err) == ES_OK)) {
        /* n_w = 16; crossbar block 0 = rows 0..127 x cols 0..15: 128 row writes of one row */
        CHECK_UINT(map_block_row_writes(map_layer_at(plan, 0), 0), 128);
        CHECK_UINT(map_block_weights(map_layer_at(plan, 0), 0), 128 * 16);
        map_destroy(plan);
    }
}

static const lop_op *find_op(const lop_op *ops, size_t n, int node, int phase)
{
    for (size_t i = 0; i < n; i++)
        if (ops[i].node == node && ops[i].phase == phase) return &ops[i];
    return NULL;
}

#define CHECK_OP(op, count, want)                                                                  \
    CHECK_MSG((op)->n[count] == (uint64_t)(want), "%s %s: %s = %llu, want %llu",                   \
              lop_phase_name((op)->phase), lop_kind_name((op)->kind), lop_count_name(count),       \
              (unsigned long long)(op)->n[count], (unsigned long long)(want))

static void t_ops(void)
{
    nn_net *net = preset("lenet5");
    if (!CHECK(net)) return;
    map_config mc = mcfg(128, 128, 2, CFG_SLICE_ACROSS, CFG_ENC_OFFSET, CFG_GRAN_ROW);
    map_plan *plan = NULL;
    lop_stream *s = NULL;
    es_err err;
    es_err_clear(&err);
    if (!CHECK(lop_map_net(&mc, net, &plan, &err) == ES_OK)) goto done;
    if (!CHECK_MSG(lop_compile(plan, net, 2, &s, &err) == ES_OK, "compile (%s)", err.msg))
        goto done;
    size_t n;
    const lop_op *ops = lop_ops(s, &n);
    /* Nodes: 1 conv1, 2 relu1, 3 pool1, 4 conv2, 5 relu2, 6 pool2, 7 flatten, 8 fc1, 9 relu3,
     * 10 fc2, 11 relu4, 12 fc3. Forward: 11 records (flatten has none); backward: every node
     * after conv1 but flatten: 10; gradient 5; update 5. */
    CHECK_UINT(n, 31);
    CHECK(find_op(ops, n, 1, LOP_BACKWARD) == NULL); /* the first mapped layer */
    CHECK(find_op(ops, n, 7, LOP_FORWARD) == NULL);  /* flatten */
    CHECK(ops[0].node == 1 && ops[0].phase == LOP_FORWARD && ops[0].kind == LOP_MVM);
    CHECK(ops[11].node == 12 && ops[11].phase == LOP_BACKWARD && ops[11].kind == LOP_MVM_T);
    CHECK(ops[n - 1].node == 12 && ops[n - 1].phase == LOP_UPDATE && ops[n - 1].kind == LOP_WRITE);

    /* conv2, batch B = 2: K = 150, N = 16, RT = 2, CT = 1, S = 8, P = 1, 16 crossbars,
     * I = 16; output 16x10x10, so V = 2 x 10 x 10 = 200 vectors. */
    const lop_op *op = find_op(ops, n, 4, LOP_FORWARD);
    if (CHECK(op && op->kind == LOP_MVM && op->layer == 1)) {
        CHECK_OP(op, LOP_C_VECTORS, 200);
        CHECK_OP(op, LOP_C_VECTOR_LEN, 150);
        CHECK_OP(op, LOP_C_XBARS, 16);
        CHECK_OP(op, LOP_C_MVMS, 200 * 16);            /* V x crossbars */
        CHECK_OP(op, LOP_C_XBAR_READS, 200 * 16 * 16); /* x 16 input bits = 51200 */
        CHECK_OP(op, LOP_C_ADC_CONVERSIONS, 819200);   /* V I RT N S P = 200*16*2*16*8 */
        CHECK_OP(op, LOP_C_SHIFT_ADDS, 819200);
        CHECK_OP(op, LOP_C_PSUM_ADDS, 3200);          /* V N (RT-1) = 200*16 */
        CHECK_OP(op, LOP_C_BUFFER_READ_BYTES, 60000); /* V K x 2 bytes = 200*150*2 */
        CHECK_OP(op, LOP_C_BUFFER_WRITE_BYTES, 6400); /* V N x 2 = 200*16*2 */
        CHECK_OP(op, LOP_C_ACT_IN_BYTES, 4704);       /* 2 x 6x14x14 x 2 */
        CHECK_OP(op, LOP_C_ACT_OUT_BYTES, 6400);      /* 2 x 16x10x10 x 2 */
        CHECK_OP(op, LOP_C_MACS, 0);
    }
    op = find_op(ops, n, 4, LOP_BACKWARD);
    if (CHECK(op && op->kind == LOP_MVM_T)) {
        CHECK_OP(op, LOP_C_VECTOR_LEN, 16);
        CHECK_OP(op, LOP_C_MVMS, 3200); /* V RT CT S = 200*2*1*8 */
        CHECK_OP(op, LOP_C_XBAR_READS, 51200);
        CHECK_OP(op, LOP_C_ADC_CONVERSIONS, 3840000); /* V I S CT K = 200*16*8*1*150 */
        CHECK_OP(op, LOP_C_PSUM_ADDS, 0);             /* CT = 1 */
        CHECK_OP(op, LOP_C_ELEMENTS, 30000);          /* col2im: V K */
        CHECK_OP(op, LOP_C_BUFFER_READ_BYTES, 6400);
        CHECK_OP(op, LOP_C_BUFFER_WRITE_BYTES, 60000);
        CHECK_OP(op, LOP_C_ACT_IN_BYTES, 6400);
        CHECK_OP(op, LOP_C_ACT_OUT_BYTES, 4704);
    }
    op = find_op(ops, n, 4, LOP_GRADIENT);
    if (CHECK(op && op->kind == LOP_GRAD)) {
        CHECK_OP(op, LOP_C_MACS, 480000);             /* V K N = 200*150*16 */
        CHECK_OP(op, LOP_C_BUFFER_READ_BYTES, 66400); /* V (K+N) x 2 = 200*166*2 */
        CHECK_OP(op, LOP_C_BUFFER_WRITE_BYTES, 4800); /* K N x 16 bits = 2400*2 */
        CHECK_OP(op, LOP_C_XBARS, 0);
    }
    op = find_op(ops, n, 4, LOP_UPDATE);
    if (CHECK(op && op->kind == LOP_WRITE)) {
        CHECK_OP(op, LOP_C_BLOCKS, 150);             /* K x CT */
        CHECK_OP(op, LOP_C_WEIGHTS_PER_BLOCK, 16);   /* min(n_w, N) */
        CHECK_OP(op, LOP_C_CELLS_PER_BLOCK, 128);    /* 16 x S 8 x P 1 */
        CHECK_OP(op, LOP_C_ROW_WRITES_PER_BLOCK, 8); /* one row on each slice crossbar */
        CHECK_OP(op, LOP_C_CELLS, 19200);            /* 150*16*8 */
    }
    /* fc1, B = 2: K = 400, N = 120, RT = 4, CT = 1, 32 crossbars, V = 2. */
    op = find_op(ops, n, 8, LOP_FORWARD);
    if (CHECK(op && op->kind == LOP_MVM)) {
        CHECK_OP(op, LOP_C_VECTORS, 2);
        CHECK_OP(op, LOP_C_MVMS, 64); /* 2 x 32 */
        CHECK_OP(op, LOP_C_XBAR_READS, 1024);
        CHECK_OP(op, LOP_C_ADC_CONVERSIONS, 122880); /* 2*16*4*120*8 */
        CHECK_OP(op, LOP_C_PSUM_ADDS, 720);          /* 2*120*3 */
        CHECK_OP(op, LOP_C_BUFFER_READ_BYTES, 1600); /* 2*400*2 */
        CHECK_OP(op, LOP_C_ACT_OUT_BYTES, 480);      /* 2*120*2 */
    }
    op = find_op(ops, n, 8, LOP_BACKWARD);
    if (CHECK(op)) {
        CHECK_OP(op, LOP_C_MVMS, 64);                /* 2*4*1*8 */
        CHECK_OP(op, LOP_C_ADC_CONVERSIONS, 102400); /* 2*16*8*1*400 */
        CHECK_OP(op, LOP_C_ELEMENTS, 0);             /* no col2im for fc */
    }
    op = find_op(ops, n, 8, LOP_GRADIENT);
    if (CHECK(op)) {
        CHECK_OP(op, LOP_C_MACS, 96000);             /* 2*400*120 */
        CHECK_OP(op, LOP_C_BUFFER_READ_BYTES, 2080); /* 2*520*2 */
    }
    op = find_op(ops, n, 8, LOP_UPDATE);
    if (CHECK(op)) {
        CHECK_OP(op, LOP_C_BLOCKS, 400);
        CHECK_OP(op, LOP_C_CELLS_PER_BLOCK, 960); /* 120*8 */
    }
    /* Digital: pool1 reads 2 x 6x28x28 = 9408 elements, writes 2 x 6x14x14; relu3 backward
     * produces 2 x 120 input errors. */
    op = find_op(ops, n, 3, LOP_FORWARD);
    if (CHECK(op && op->kind == LOP_POOL && op->layer == -1)) {
        CHECK_OP(op, LOP_C_ELEMENTS, 9408);
        CHECK_OP(op, LOP_C_ACT_OUT_BYTES, 2 * 6 * 14 * 14 * 2);
    }
    op = find_op(ops, n, 9, LOP_BACKWARD);
    if (CHECK(op && op->kind == LOP_ACTIVATION)) CHECK_OP(op, LOP_C_ELEMENTS, 240);
    uint64_t tot[LOP_NCOUNT];
    lop_totals(s, LOP_GRADIENT, tot);
    /* conv1 2*784*25*6 + conv2 480000 + fc1 96000 + fc2 2*120*84 + fc3 2*84*10 */
    CHECK_UINT(tot[LOP_C_MACS], 235200 + 480000 + 96000 + 20160 + 1680);
    lop_totals(s, LOP_UPDATE, tot);
    CHECK_UINT(tot[LOP_C_BLOCKS], 779);
    lop_destroy(s);
    s = NULL;
    map_destroy(plan);
    plan = NULL;

    /* fc1 within + differential, B = 2: n_w = 8, RT = 4, CT = 15, 60 crossbars, S 8, P 2. */
    mc = mcfg(128, 128, 2, CFG_SLICE_WITHIN, CFG_ENC_DIFFERENTIAL, CFG_GRAN_ROW);
    if (!CHECK(lop_map_net(&mc, net, &plan, &err) == ES_OK)) goto done;
    if (!CHECK(lop_compile(plan, net, 2, &s, &err) == ES_OK)) goto done;
    ops = lop_ops(s, &n);
    op = find_op(ops, n, 8, LOP_FORWARD);
    if (CHECK(op)) {
        CHECK_OP(op, LOP_C_MVMS, 120);               /* 2 x 60: one read covers all slices */
        CHECK_OP(op, LOP_C_ADC_CONVERSIONS, 245760); /* 2*16*4*120*8*2 */
        CHECK_OP(op, LOP_C_PSUM_ADDS, 720);
    }
    op = find_op(ops, n, 8, LOP_BACKWARD);
    if (CHECK(op)) {
        CHECK_OP(op, LOP_C_MVMS, 960); /* 2*4*15*8: slices one at a time */
        CHECK_OP(op, LOP_C_XBAR_READS, 15360);
        CHECK_OP(op, LOP_C_ADC_CONVERSIONS, 1536000); /* 2*16*8*15*400 */
        CHECK_OP(op, LOP_C_PSUM_ADDS, 11200);         /* 2*400*14 */
    }
    op = find_op(ops, n, 8, LOP_UPDATE);
    if (CHECK(op)) {
        CHECK_OP(op, LOP_C_BLOCKS, 6000); /* 400 x 15 */
        CHECK_OP(op, LOP_C_WEIGHTS_PER_BLOCK, 8);
        CHECK_OP(op, LOP_C_CELLS_PER_BLOCK, 128); /* 8 x 8 x 2 */
        CHECK_OP(op, LOP_C_ROW_WRITES_PER_BLOCK, 1);
        CHECK_OP(op, LOP_C_CELLS, 768000); /* 400*120*16 */
    }
done:
    lop_destroy(s);
    map_destroy(plan);
    nn_net_destroy(net);
}

static void t_errors(void)
{
    nn_net *net = preset("resnet20");
    if (!CHECK(net)) return;
    es_err err;
    es_err_clear(&err);
    map_plan *plan = NULL;
    /* 4 tiles x 12 IMAs x 8 = 384 crossbars; ResNet-20 needs 472 in 59 IMAs -> 5 tiles. */
    map_config mc = mcfg(128, 128, 2, CFG_SLICE_ACROSS, CFG_ENC_OFFSET, CFG_GRAN_ROW);
    mc.tiles = 4;
    es_err_clear(&err);
    CHECK_INT(lop_map_net(&mc, net, &plan, &err), ES_ECONFIG);
    CHECK(plan == NULL);
    CHECK_CONTAINS(err.msg, "network needs 472 crossbars (in 59 IMAs of 8: each layer starts on "
                            "a fresh IMA), the chip has 384 (arch.chip.tiles x arch.tile.imas x "
                            "arch.ima.xbars = 4 x 12 x 8): raise arch.chip.tiles to at least 5");
    mc.tiles = 5; /* exactly enough */
    CHECK_INT(lop_map_net(&mc, net, &plan, &err), ES_OK);
    map_destroy(plan);
    mc.tiles = 4;
    mc.require_fit = 0;
    if (CHECK_INT(lop_map_net(&mc, net, &plan, &err), ES_OK)) {
        CHECK(!map_plan_totals(plan)->fits);
        CHECK_UINT(map_plan_totals(plan)->tiles, 5);
    }
    map_destroy(plan);
    plan = NULL;
    /* within: 8 slices x 2 cells = 16 columns per weight > 8 columns */
    mc = mcfg(128, 8, 2, CFG_SLICE_WITHIN, CFG_ENC_DIFFERENTIAL, CFG_GRAN_ROW);
    CHECK_INT(lop_map_net(&mc, net, &plan, &err), ES_ECONFIG);
    CHECK_CONTAINS(err.msg, "one weight takes 16 columns (8 slices x 2 cells) but "
                            "arch.xbar.cols = 8: raise arch.xbar.cols to at least 16");
    mc = mcfg(128, 1, 2, CFG_SLICE_ACROSS, CFG_ENC_DIFFERENTIAL, CFG_GRAN_ROW);
    CHECK_INT(lop_map_net(&mc, net, &plan, &err), ES_ECONFIG);
    CHECK_CONTAINS(err.msg, "arch.xbar.encoding: offset");
    map_layer_spec bad = {"empty", 0, 4, 0};
    mc = mcfg(128, 128, 2, CFG_SLICE_ACROSS, CFG_ENC_OFFSET, CFG_GRAN_ROW);
    CHECK_INT(map_create(&mc, &bad, 1, &plan, &err), ES_EINVAL);
    /* A plan of another network does not compile. */
    nn_net *lenet = preset("lenet5");
    lop_stream *s = NULL;
    if (CHECK(lenet) && CHECK(lop_map_net(&mc, lenet, &plan, &err) == ES_OK)) {
        CHECK_INT(lop_compile(plan, net, 4, &s, &err), ES_EINVAL);
        CHECK_CONTAINS(err.msg, "does not match the network");
        CHECK_INT(lop_compile(plan, lenet, 0, &s, &err), ES_EINVAL);
        CHECK(s == NULL);
    }
    map_destroy(plan);
    nn_net_destroy(lenet);
    nn_net_destroy(net);
}

static void t_config_and_names(void)
{
    essim_config cfg;
    es_err err;
    es_err_clear(&err);
    if (!CHECK(cfg_defaults(&cfg, &err) == ES_OK)) return;
    map_config mc;
    map_config_from(&cfg, &mc);
    /* the defaults are ISAAC */
    CHECK(mc.rows == 128 && mc.cols == 128 && mc.bits_per_cell == 2 && mc.weight_bits == 16);
    CHECK(mc.slicing == CFG_SLICE_ACROSS && mc.encoding == CFG_ENC_OFFSET);
    CHECK(mc.granularity == CFG_GRAN_ROW && mc.require_fit == 1);
    CHECK(mc.xbars_per_ima == 8 && mc.imas_per_tile == 12 && mc.tiles == 168);
    map_geometry geo;
    CHECK(map_geometry_derive(&mc, &geo, &err) == ES_OK);
    CHECK(geo.slices == 8 && geo.cells_per_slice == 1 && geo.weights_per_row == 128);
    cfg_free(&cfg);

    nn_shape in;
    int classes;
    CHECK(lop_dataset_shape(CFG_DS_SYNTHETIC, &in, &classes) == ES_OK && in.c == 1 && in.h == 28 &&
          in.w == 28 && classes == 10);
    CHECK(lop_dataset_shape(CFG_DS_FASHION_MNIST, &in, &classes) == ES_OK && in.c == 1 &&
          classes == 10);
    CHECK(lop_dataset_shape(CFG_DS_CIFAR10, &in, &classes) == ES_OK && in.c == 3 && in.h == 32 &&
          classes == 10);
    CHECK(lop_dataset_shape(CFG_DS_CIFAR100, &in, &classes) == ES_OK && in.c == 3 &&
          classes == 100);
    CHECK(lop_dataset_shape(99, &in, &classes) == ES_EINVAL);
    int named = 1;
    for (int k = 0; k < LOP_NCOUNT; k++)
        named &= strcmp(lop_count_name(k), "?") != 0;
    CHECK_MSG(named, "every count has a name");
    CHECK_STR(lop_count_name(LOP_C_ADC_CONVERSIONS), "adc_conversions");
    CHECK_STR(lop_phase_name(LOP_GRADIENT), "gradient");
    CHECK_STR(lop_kind_name(LOP_MVM_T), "mvm_transposed");
    CHECK_STR(lop_count_name(LOP_NCOUNT), "?");
    CHECK_STR(map_granularity_name(CFG_GRAN_CROSSBAR), "crossbar");
}

/* ---- replication ----------------------------------------------------------------------- */

/* The copies of every layer of `net` (input `in`) on mc, against want[] (nl layers). */
static void check_copies(const char *what, const map_config *mc, const char *net_name, nn_shape in,
                         const uint64_t *want, size_t nl, uint64_t want_imas)
{
    nn_net *net = NULL;
    es_err err;
    es_err_clear(&err);
    if (!CHECK(nn_preset_create(net_name, in, 10, &net, &err) == ES_OK)) return;
    map_plan *plan = NULL;
    if (CHECK_MSG(lop_map_net(mc, net, &plan, &err) == ES_OK, "%s: maps (%s)", what, err.msg)) {
        CHECK_UINT(map_num_layers(plan), nl);
        uint64_t imas = 0, copies = 0;
        for (size_t i = 0; i < nl && i < map_num_layers(plan); i++) {
            const map_layer *L = map_layer_at(plan, i);
            CHECK_MSG(L->copies == want[i], "%s: %s has %llu copies, want %llu", what, L->name,
                      (unsigned long long)L->copies, (unsigned long long)want[i]);
            CHECK_UINT(L->imas, L->copies * L->imas_per_copy);
            imas += L->imas;
            copies += L->copies;
        }
        CHECK_UINT(map_plan_totals(plan)->imas, imas);
        CHECK_UINT(map_plan_totals(plan)->imas, want_imas);
        CHECK_UINT(map_plan_totals(plan)->copies, copies);
        /* copies sit on consecutive IMAs: copy c of a crossbar is c x copy_slots further on */
        const map_layer *L = map_layer_at(plan, 0);
        if (L->copies > 1)
            CHECK_UINT(map_xbar_slot_copy(L, L->copies - 1, 0, 0, 0),
                       L->xbar0 + (L->copies - 1) * L->imas_per_copy * 8);
    }
    map_destroy(plan);
    nn_net_destroy(net);
}

static void t_replication(void)
{
    map_config mc = mcfg(128, 128, 2, CFG_SLICE_ACROSS, CFG_ENC_OFFSET, CFG_GRAN_ROW);
    const nn_shape mnist = {1, 28, 28}, cifar = {3, 32, 32};
    /* LeNet-5 on 28x28 at 128x128: conv1 has 28 x 28 = 784 output positions (padding 2) on
     * one IMA per copy, conv2 10 x 10 = 100 on two, the fc layers one vector each. The chip's
     * 2016 IMAs are enough for every layer to take one vector time: 784 + 100 copies, 784 +
     * 200 + 4 + 1 + 1 = 990 IMAs. */
    mc.replication = CFG_REPL_BALANCE;
    check_copies("lenet5 balance", &mc, "lenet5", mnist, (uint64_t[]){784, 100, 1, 1, 1}, 5, 990);
    /* On 20 tiles (240 IMAs) the stage time T must satisfy ceil(784/T) + 2 ceil(100/T) + 6 <=
     * 240: T = 4 needs 196 + 50 + 6 = 252, T = 5 needs 157 + 40 + 6 = 203. Greedy reaches
     * T = 5 and stops when conv1's step to 4 (39 more IMAs) no longer fits. */
    mc.tiles = 20;
    check_copies("lenet5 balance, 20 tiles", &mc, "lenet5", mnist, (uint64_t[]){157, 20, 1, 1, 1},
                 5, 203);
    mc.tiles = 168;
    /* ResNet-20 on 32x32 (IMAs per copy: K = 27 -> 1, 144 -> 2, 288 -> 3, 576 -> 5; vectors
     * 1024 / 256 / 64 by stage). T = 9 needs 114 + 6 x 228 + (2 + 15) x 29 + (3 + 25) x 8 + 1
     * = 2200 > 2016 IMAs; T = 10 needs 103 + 6 x 206 + 17 x 26 + 28 x 7 + 1 = 1978. From
     * there the greedy lowers conv (11 IMAs) and layers.0.conv1 (22) to 9 stage times, and
     * layers.0.conv2's step (22 more) would need 2033: it stops at 2011. */
    uint64_t r20[20] = {114, 114, 103, 103, 103, 103, 103, 26, 26, 26,
                        26,  26,  26,  7,   7,   7,   7,   7,  7,  1};
    check_copies("resnet20 balance", &mc, "resnet20", cifar, r20, 20, 2011);
    /* none: one copy each; list: the named layers' copies */
    mc.replication = CFG_REPL_NONE;
    check_copies("lenet5 none", &mc, "lenet5", mnist, (uint64_t[]){1, 1, 1, 1, 1}, 5, 9);
    cfg_real_map list = {2, (char *[]){"conv2", "conv1"}, (double[]){3, 8}};
    mc.replication = CFG_REPL_LIST;
    mc.copies = &list;
    check_copies("lenet5 list", &mc, "lenet5", mnist, (uint64_t[]){8, 3, 1, 1, 1}, 5, 20);
    /* a list naming a layer the network lacks, or a fraction of a copy, is refused */
    nn_net *net = preset("lenet5");
    map_plan *plan = NULL;
    es_err err;
    es_err_clear(&err);
    cfg_real_map bad = {1, (char *[]){"conv9"}, (double[]){2}};
    mc.copies = &bad;
    CHECK_INT(lop_map_net(&mc, net, &plan, &err), ES_ECONFIG);
    CHECK_CONTAINS(err.msg, "arch.map.copies names layer 'conv9'");
    cfg_real_map frac = {1, (char *[]){"conv1"}, (double[]){2.5}};
    mc.copies = &frac;
    CHECK_INT(lop_map_net(&mc, net, &plan, &err), ES_ECONFIG);
    CHECK_CONTAINS(err.msg, "conv1 = 2.5 is not a whole number");
    nn_net_destroy(net);
}

int main(int argc, char **argv)
{
    static const tap_test tests[] = {
        {"lenet5", t_lenet5},           {"resnet20", t_resnet20},
        {"blocks", t_blocks},           {"ops", t_ops},
        {"errors", t_errors},           {"config_and_names", t_config_and_names},
        {"replication", t_replication},
    };
    return tap_main(tests, ES_ARRAY_LEN(tests), argc, argv);
}
