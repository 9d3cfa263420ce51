/* test_trace.c - the layer-op trace (traces/trace.h): round trips of masks at every density
 * and in every input form across many chunks, the header, seeking, bounded reader memory,
 * atomic and in-place writing, resuming, every kind of damage with its message and the exact
 * intact prefix in salvage mode, and the compressed size against the entropy of the masks. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "es_common.h"
#include "rng.h"
#include "tap.h"
#include "trace.h"

/* CHECK_INT evaluates its arguments twice; calls with side effects go through this. */
#define CHECK_RC(call, want)                                                                       \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        CHECK_MSG(rc_ == (want), "%s == %s (%d vs %d)", #call, #want, rc_, (int)(want));           \
    } while (0)




static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- a small header ------------------------------------------------------------------------ */

static const uint32_t small_g[] = {1, 13, 64, 200, 1000, 4099};
static const char *const small_names[] = {"conv1", "conv2", "l.3", "fc1", "fc2", "big"};

static trace_layer small_layers[ES_ARRAY_LEN(small_g)];

static trace_header small_header(uint32_t nl)
{
    trace_header h;
    memset(&h, 0, sizeof h);
    for (uint32_t l = 0; l < nl; l++) {
        memset(&small_layers[l], 0, sizeof small_layers[l]);
        small_layers[l].name = small_names[l];
        small_layers[l].blocks = small_g[l];
        small_layers[l].k_rows = small_g[l];
        small_layers[l].n_cols = 8;
    }
    h.producer = "test_trace";
    h.network = "net";
    h.dataset = "synthetic";
    h.seed = 7;
    memcpy(h.config_hash, "0123456789abcdef", 17);
    h.config_yaml = "version: 1\n";
    h.n_layers = nl;
    h.layers = small_layers;
    return h;
}

/* Layer offsets of the test's per-block flags: one array over all layers. */
static uint32_t total_blocks(uint32_t nl)
{
    uint32_t t = 0;
    for (uint32_t l = 0; l < nl; l++)
        t += small_g[l];
    return t;
}

/* Iteration i's values and masks, reproducible from (seed, i) alone so the reader side can
 * regenerate them instead of keeping every mask. */
static trace_iter iter_of(uint64_t i)
{
    trace_iter it;
    it.iteration = 5 + 3 * i; /* not consecutive on purpose */
    it.epoch = (uint32_t)(i / 37);
    it.lr = 0.1 / (1.0 + (double)i);
    it.loss = (float)(2.5 - 0.001 * (double)i);
    return it;
}

static void masks_of(uint64_t seed, uint64_t i, double rho, uint32_t nl, uint8_t *flags)
{
    rng_stream r;
    rng_init_indexed(&r, seed, "test/masks", i);
    for (uint32_t j = 0, t = total_blocks(nl); j < t; j++)
        flags[j] = (uint8_t)(rho >= 1.0 || rng_uniform(&r) < rho);
}

/* Hand flags to the writer as bits, flags or indices (by iteration), or as the none/every
 * form when the mask allows it. */
typedef struct mask_bufs {
    uint8_t *bits[ES_ARRAY_LEN(small_g)];
    uint32_t *idx[ES_ARRAY_LEN(small_g)];
    trace_mask m[ES_ARRAY_LEN(small_g)];
} mask_bufs;

static void mask_bufs_init(mask_bufs *b)
{
    for (size_t l = 0; l < ES_ARRAY_LEN(small_g); l++) {
        b->bits[l] = calloc((small_g[l] + 7) / 8, 1);
        b->idx[l] = calloc(small_g[l], sizeof(uint32_t));
    }
}

static void mask_bufs_free(mask_bufs *b)
{
    for (size_t l = 0; l < ES_ARRAY_LEN(small_g); l++) {
        free(b->bits[l]);
        free(b->idx[l]);
    }
}

static void fill_masks(mask_bufs *b, const uint8_t *flags, uint32_t nl, uint64_t i)
{
    const uint8_t *f = flags;
    for (uint32_t l = 0; l < nl; l++) {
        uint32_t g = small_g[l], c = 0;
        trace_mask *m = &b->m[l];
        memset(m, 0, sizeof *m);
        for (uint32_t j = 0; j < g; j++)
            c += f[j];
        int form = (int)((i + l) % 4);
        if (form == 3 && (c == 0 || c == g)) {
            m->count = c;
        } else if (form == 0 || form == 3) {
            memset(b->bits[l], 0, (g + 7) / 8);
            for (uint32_t j = 0; j < g; j++)
                if (f[j]) b->bits[l][j >> 3] |= (uint8_t)(1u << (j & 7));
            m->bits = b->bits[l];
        } else if (form == 1) {
            m->flags = f;
        } else {
            uint32_t n = 0;
            for (uint32_t j = 0; j < g; j++)
                if (f[j]) b->idx[l][n++] = j;
            m->indices = b->idx[l];
            m->count = n;
        }
        f += g;
    }
}

/* Write n iterations of seed/rho masks over the first nl small layers. */
static int write_trace(const char *path, const trace_writer_options *o, uint32_t nl, uint64_t n,
                       uint64_t seed, double rho, const uint64_t *max_count)
{
    trace_header h = small_header(nl);
    trace_writer *w;
    es_err err;
    if (trace_writer_create(path, &h, o, &w, &err) < 0) {
        CHECK_MSG(0, "create: %s", err.msg);
        return -1;
    }
    uint8_t *flags = malloc(total_blocks(nl));
    mask_bufs b;
    mask_bufs_init(&b);
    int rc = 0;
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        masks_of(seed, i, rho, nl, flags);
        fill_masks(&b, flags, nl, i);
        trace_iter it = iter_of(i);
        rc = trace_writer_append(w, &it, b.m, &err);
        if (rc < 0) CHECK_MSG(0, "append: %s", err.msg);
    }
    if (rc == 0) {
        rc = trace_writer_close(w, max_count, &err);
        if (rc < 0) CHECK_MSG(0, "close: %s", err.msg);
    } else {
        trace_writer_abort(w);
    }
    mask_bufs_free(&b);
    free(flags);
    return rc;
}

/* Read everything and compare with the regenerated masks. Returns records read, or -1. */
static long read_back(const char *path, int salvage, uint32_t nl, uint64_t seed, double rho,
                      long *mismatches, es_err *err)
{
    trace_reader_options o = {salvage};
    trace_reader *r;
    if (trace_reader_open(path, &o, &r, err) < 0) return -1;
    uint8_t *flags = malloc(total_blocks(nl));
    trace_record rec;
    long n = 0, bad = 0;
    int rc;
    while ((rc = trace_reader_next(r, &rec, err)) > 0) {
        trace_iter want = iter_of((uint64_t)n);
        masks_of(seed, (uint64_t)n, rho, nl, flags);
        if (rec.iteration != want.iteration || rec.epoch != want.epoch || rec.lr != want.lr ||
            rec.loss != want.loss)
            bad++;
        const uint8_t *f = flags;
        for (uint32_t l = 0; l < nl; l++) {
            uint32_t c = 0;
            for (uint32_t j = 0; j < small_g[l]; j++) {
                int bit = rec.masks[l][j >> 3] >> (j & 7) & 1;
                bad += bit != f[j];
                c += f[j];
            }
            bad += rec.counts[l] != c;
            /* bits past G stay zero */
            if (small_g[l] & 7) bad += (rec.masks[l][small_g[l] >> 3] >> (small_g[l] & 7)) != 0;
            f += small_g[l];
        }
        n++;
    }
    free(flags);
    *mismatches = bad;
    trace_reader_close(r);
    return rc < 0 ? -1 : n;
}

/* ---- round trips ---------------------------------------------------------------------------- */

static void t_roundtrip_densities(void)
{
    static const double rhos[] = {0.001, 0.1, 0.5, 1.0};
    uint64_t enc_total[4] = {0, 0, 0, 0};
    const uint32_t nl = ES_ARRAY_LEN(small_g);
    for (size_t k = 0; k < ES_ARRAY_LEN(rhos); k++) {
        const char *p = tap_path("rt.trc");
        trace_writer_options o = {0, 4096, 64, 0};
        uint64_t maxc[ES_ARRAY_LEN(small_g)];
        for (uint32_t l = 0; l < nl; l++)
            maxc[l] = 1000 + l;
        const uint64_t n = 700;
        if (write_trace(p, &o, nl, n, 11 + k, rhos[k], maxc) < 0) return;
        es_err err;
        long bad = -1;
        long got = read_back(p, 0, nl, 11 + k, rhos[k], &bad, &err);
        CHECK_MSG(got == (long)n, "rho %g: read %ld of %llu iterations (%s)", rhos[k], got,
                  (unsigned long long)n, got < 0 ? err.msg : "");
        CHECK_MSG(bad == 0, "rho %g: every field and mask bit round-trips (%ld mismatches)",
                  rhos[k], bad);
        trace_reader *r;
        if (!CHECK(trace_reader_open(p, NULL, &r, &err) == 0)) return;
        const trace_footer *f = trace_reader_footer(r);
        CHECK_MSG(f && f->chunks > 10, "rho %g: %u chunks", rhos[k], f ? f->chunks : 0);
        CHECK_UINT(f->records, n);
        CHECK_UINT(f->first_iteration, 5);
        CHECK_UINT(f->last_iteration, 5 + 3 * (n - 1));
        for (int e = 0; e < 4; e++)
            enc_total[e] += f->encodings[e];
        /* footer totals against the test's own count */
        uint8_t *flags = malloc(total_blocks(nl));
        uint32_t *cnt = calloc(total_blocks(nl), sizeof *cnt);
        uint64_t writes[ES_ARRAY_LEN(small_g)] = {0};
        for (uint64_t i = 0; i < n; i++) {
            masks_of(11 + k, i, rhos[k], nl, flags);
            for (uint32_t j = 0, l = 0, base = 0; j < total_blocks(nl); j++) {
                while (j >= base + small_g[l])
                    base += small_g[l++];
                cnt[j] += flags[j];
                writes[l] += flags[j];
            }
        }
        trace_record rec;
        while (trace_reader_next(r, &rec, &err) > 0) {
        }
        int ok = 1;
        for (uint32_t l = 0, base = 0; l < nl; base += small_g[l], l++) {
            uint64_t mx = 0, touched = 0;
            const uint32_t *bc = trace_reader_block_counts(r, l);
            for (uint32_t j = 0; j < small_g[l]; j++) {
                mx = ES_MAX(mx, cnt[base + j]);
                touched += cnt[base + j] != 0;
                ok &= bc[j] == cnt[base + j];
            }
            ok &= f->writes[l] == writes[l] && f->max_trace[l] == mx && f->touched[l] == touched &&
                  f->max_count[l] == 1000 + l;
        }
        CHECK_MSG(ok, "rho %g: footer writes, max, touched, caller max and block counts", rhos[k]);
        trace_reader_stats st;
        trace_reader_stats_get(r, &st);
        /* chunk_bytes = 4096 bounds every chunk whose records are smaller than that */
        CHECK_MSG(st.chunk_buffer_max <= 4096, "rho %g: largest chunk %zu <= 4096 bytes", rhos[k],
                  st.chunk_buffer_max);
        free(cnt);
        free(flags);
        trace_reader_close(r);
    }
    CHECK_MSG(enc_total[0] && enc_total[1] && enc_total[2] && enc_total[3],
              "all four encodings used: none %llu, all %llu, bitmap %llu, sparse %llu",
              (unsigned long long)enc_total[0], (unsigned long long)enc_total[1],
              (unsigned long long)enc_total[2], (unsigned long long)enc_total[3]);
}

static void t_encoding_choice(void)
{
    /* One layer of 1000 blocks: bitmap = 1 + 2 + 125 bytes; sparse = 1 + count varint + one
     * gap byte per index when gaps < 128. */
    trace_layer L = {"x", 0, 0, 0, 0, 0, 0, 0, 0, 1000, 0};
    trace_header h = small_header(1);
    h.layers = &L;
    const char *p = tap_path("enc.trc");
    trace_writer *w;
    es_err err;
    if (!CHECK(trace_writer_create(p, &h, NULL, &w, &err) == 0)) return;
    static const uint32_t counts[] = {0, 1, 100, 124, 125, 126, 500, 999, 1000};
    uint32_t idx[1000];
    for (size_t k = 0; k < ES_ARRAY_LEN(counts); k++) {
        for (uint32_t j = 0; j < counts[k]; j++)
            idx[j] = j * (1000 / ES_MAX(counts[k], 1));
        if (counts[k] >= 500)
            for (uint32_t j = 0; j < counts[k]; j++)
                idx[j] = j;
        trace_mask m = {NULL, NULL, idx, counts[k]};
        trace_iter it = {k, 0, 0, 0};
        CHECK_RC(trace_writer_append(w, &it, &m, &err), 0);
    }
    CHECK_RC(trace_writer_close(w, NULL, &err), 0);
    trace_reader *r;
    if (!CHECK(trace_reader_open(p, NULL, &r, &err) == 0)) return;
    const trace_footer *f = trace_reader_footer(r);
    /* none: 0; all: 1000; sparse: 1, 100 (gap 9), 124 (gaps 7: 1+1+124 = 126 < 128);
     * bitmap: 125 and 126 (gaps 6..7 but count >= bitmap bytes), 500, 999. */
    CHECK_UINT(f->encodings[0], 1);
    CHECK_UINT(f->encodings[1], 1);
    CHECK_UINT(f->encodings[3], 3);
    CHECK_UINT(f->encodings[2], 4);
    trace_record rec;
    size_t k = 0;
    int ok = 1;
    while (trace_reader_next(r, &rec, &err) > 0)
        ok &= rec.counts[0] == counts[k++];
    CHECK(ok && k == ES_ARRAY_LEN(counts));
    trace_reader_close(r);
}

static void t_header_roundtrip(void)
{
    static const uint64_t c0[] = {1, 2, 3}, c1[] = {UINT64_MAX, 0}, c2[] = {42};
    static const char *const kinds[] = {"mvm", "write", "pool"};
    static const char *const cnames[] = {"vectors", "macs", "bytes"};
    const trace_op ops[] = {
        {0, TRACE_PHASE_FORWARD, 0, 3, c0},
        {1, TRACE_PHASE_UPDATE, 1, 2, c1},
        {TRACE_NO_LAYER, TRACE_PHASE_BACKWARD, 2, 1, c2},
        {1, TRACE_PHASE_GRADIENT, 0, 0, NULL},
    };
    const trace_layer layers[] = {
        {"conv", 27, 16, 1, 2, 8, 2, 8, TRACE_GRAN_ROW, 54, 2},
        {"layers.0.conv1", 144, 16, 2, 2, 8, 2, 8, TRACE_GRAN_CROSSBAR, 4, 4},
    };
    const char *yaml = "version: 1\narch:\n  xbar:\n    rows: 128  # \xc3\xa9\n";
    trace_header h;
    memset(&h, 0, sizeof h);
    h.producer = "essim test";
    h.network = "resnet20";
    h.dataset = "cifar10";
    h.seed = 0xfedcba9876543210ull;
    memcpy(h.config_hash, "00ff00ff00ff00ff", 17);
    h.config_yaml = yaml;
    h.n_layers = 2;
    h.layers = layers;
    h.n_kinds = 3;
    h.kind_names = kinds;
    h.n_count_names = 3;
    h.count_names = cnames;
    h.n_ops = 4;
    h.ops = ops;
    h.epoch_images = 50000;
    const char *p = tap_path("hdr.trc");
    trace_writer_options o = {1, 8192, 10, 0};
    trace_writer *w;
    es_err err;
    if (!CHECK(trace_writer_create(p, &h, &o, &w, &err) == 0)) return;
    CHECK_RC(trace_writer_close(w, NULL, &err), 0);
    trace_reader *r;
    if (!CHECK(trace_reader_open(p, NULL, &r, &err) == 0)) return;
    const trace_header *g = trace_reader_header(r);
    CHECK_INT(g->version_major, TRACE_VERSION_MAJOR);
    CHECK_INT(g->version_minor, TRACE_VERSION_MINOR);
    CHECK_UINT(g->flags, TRACE_FLAG_DIRECT);
    CHECK_STR(g->producer, "essim test");
    CHECK_STR(g->network, "resnet20");
    CHECK_STR(g->dataset, "cifar10");
    CHECK_UINT(g->seed, 0xfedcba9876543210ull);
    CHECK_STR(g->config_hash, "00ff00ff00ff00ff");
    CHECK_STR(g->config_yaml, yaml);
    CHECK_UINT(g->chunk_bytes_max, 8192);
    CHECK_UINT(g->chunk_records_max, 10);
    CHECK_UINT(g->n_layers, 2);
    int ok = 1;
    for (int l = 0; l < 2; l++) {
        const trace_layer *a = &layers[l], *b = &g->layers[l];
        ok &= !strcmp(a->name, b->name) && a->k_rows == b->k_rows && a->n_cols == b->n_cols &&
              a->row_tiles == b->row_tiles && a->col_tiles == b->col_tiles &&
              a->slices == b->slices && a->cells_per_slice == b->cells_per_slice &&
              a->n_w == b->n_w && a->granularity == b->granularity && a->blocks == b->blocks &&
              a->crossbars == b->crossbars;
    }
    CHECK_MSG(ok, "layer table round-trips field by field");
    CHECK_UINT(g->n_kinds, 3);
    CHECK_STR(g->kind_names[2], "pool");
    CHECK_UINT(g->n_count_names, 3);
    CHECK_STR(g->count_names[1], "macs");
    CHECK_UINT(g->n_ops, 4);
    ok = g->n_ops == 4;
    for (uint32_t i = 0; ok && i < 4; i++) {
        ok &= g->ops[i].layer == ops[i].layer && g->ops[i].phase == ops[i].phase &&
              g->ops[i].kind == ops[i].kind && g->ops[i].n == ops[i].n;
        for (unsigned j = 0; ok && j < ops[i].n; j++)
            ok &= g->ops[i].counts[j] == ops[i].counts[j];
    }
    CHECK_MSG(ok, "op template round-trips (TRACE_NO_LAYER, n = 0, UINT64_MAX counts)");
    CHECK_UINT(g->epoch_images, 50000);
    const trace_footer *f = trace_reader_footer(r);
    CHECK(f && f->records == 0 && f->chunks == 0 && f->first_iteration == TRACE_NO_COUNT);
    CHECK(f && f->max_count[0] == TRACE_NO_COUNT);
    trace_record rec;
    CHECK_RC(trace_reader_next(r, &rec, &err), 0);
    trace_reader_close(r);

    /* The same file labelled 2.0 (its header CRC fixed): the images field is then a newer
       minor version's bytes, ignored, and the images are unknown. */
    FILE *fp = fopen(p, "r+b");
    uint8_t pre[20];
    if (!CHECK(fp && fread(pre, 1, 20, fp) == 20)) {
        if (fp) fclose(fp);
        return;
    }
    uint32_t blen = (uint32_t)pre[16] | (uint32_t)pre[17] << 8 | (uint32_t)pre[18] << 16 |
                    (uint32_t)pre[19] << 24;
    uint8_t *hb = malloc(20 + (size_t)blen);
    pre[10] = pre[11] = 0; /* minor 0 */
    memcpy(hb, pre, 20);
    int rd = hb && fread(hb + 20, 1, blen, fp) == blen;
    uint32_t crc = rd ? (uint32_t)crc32(0L, hb, 20 + (uInt)blen) : 0;
    uint8_t cb[4] = {(uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16), (uint8_t)(crc >> 24)};
    int wr = rd && fseek(fp, 0, SEEK_SET) == 0 && fwrite(pre, 1, 20, fp) == 20 &&
             fseek(fp, 20 + (long)blen, SEEK_SET) == 0 && fwrite(cb, 1, 4, fp) == 4;
    fclose(fp);
    free(hb);
    if (!CHECK(wr)) return;
    if (!CHECK(trace_reader_open(p, NULL, &r, &err) == 0)) return;
    g = trace_reader_header(r);
    CHECK_INT(g->version_minor, 0);
    CHECK_UINT(g->epoch_images, 0);
    CHECK_UINT(g->n_ops, 4);
    trace_reader_close(r);

    /* A 2.1 header claiming 2^41 images per epoch (its CRC fixed) is refused by the reader,
       and the writer will not write one. */
    fp = fopen(p, "r+b");
    uint8_t big[8] = {0, 0, 0, 0, 0, 2, 0, 0}; /* 2^41, little-endian */
    hb = malloc(20 + (size_t)blen);
    pre[10] = 1; /* minor 1 again */
    int ok2 = fp && hb && fseek(fp, 0, SEEK_SET) == 0 && fwrite(pre, 1, 20, fp) == 20 &&
              fseek(fp, 20 + (long)blen - 8, SEEK_SET) == 0 && fwrite(big, 1, 8, fp) == 8 &&
              fseek(fp, 0, SEEK_SET) == 0 && fread(hb, 1, 20 + blen, fp) == 20 + blen;
    crc = ok2 ? (uint32_t)crc32(0L, hb, 20 + (uInt)blen) : 0;
    uint8_t cb2[4] = {(uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16), (uint8_t)(crc >> 24)};
    ok2 = ok2 && fseek(fp, 20 + (long)blen, SEEK_SET) == 0 && fwrite(cb2, 1, 4, fp) == 4;
    if (fp) fclose(fp);
    free(hb);
    if (!CHECK(ok2)) return;
    CHECK_RC(trace_reader_open(p, NULL, &r, &err), ES_EFORMAT);
    CHECK_CONTAINS(err.msg, "2199023255552 images per epoch");
    h.epoch_images = (uint64_t)1 << 41;
    trace_writer *w2;
    CHECK_RC(trace_writer_create(tap_path("big.trc"), &h, NULL, &w2, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "images per epoch");
}

/* Images per iteration: full batches, the last of each epoch holding the rest. */
static void t_iteration_images(void)
{
    CHECK_UINT(trace_iteration_images(1000, 64, 0), 64);
    CHECK_UINT(trace_iteration_images(1000, 64, 14), 64);
    CHECK_UINT(trace_iteration_images(1000, 64, 15), 40); /* 1000 - 15 x 64 */
    CHECK_UINT(trace_iteration_images(1000, 64, 16), 64); /* the next epoch */
    CHECK_UINT(trace_iteration_images(1000, 64, 31), 40);
    CHECK_UINT(trace_iteration_images(960, 64, 14), 64);  /* 15 full batches */
    CHECK_UINT(trace_iteration_images(10, 64, 3), 10);    /* an epoch smaller than a batch */
    CHECK_UINT(trace_iteration_images(0, 64, 15), 64);    /* unknown */
    CHECK_UINT(trace_iteration_images(1000, 0, 15), 0);
}

static void t_header_validation(void)
{
    trace_header h = small_header(2);
    trace_writer *w;
    es_err err;
    const char *p = tap_path("bad.trc");
    memcpy(h.config_hash, "0123456789ABCDEF", 17);
    CHECK_RC(trace_writer_create(p, &h, NULL, &w, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "config hash");
    h = small_header(2);
    h.n_layers = 0;
    CHECK_RC(trace_writer_create(p, &h, NULL, &w, &err), ES_EINVAL);
    trace_layer two[2] = {{"a", 0, 0, 0, 0, 0, 0, 0, 0, 5, 0}, {"a", 0, 0, 0, 0, 0, 0, 0, 0, 5, 0}};
    h = small_header(2);
    h.layers = two;
    CHECK_RC(trace_writer_create(p, &h, NULL, &w, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "appears twice");
    two[1].name = "b";
    two[1].blocks = 0;
    CHECK_RC(trace_writer_create(p, &h, NULL, &w, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "no blocks");
    static const char *const kinds[] = {"k"};
    trace_op op = {5, 0, 0, 0, NULL};
    h = small_header(2);
    h.n_kinds = 1;
    h.kind_names = kinds;
    h.n_ops = 1;
    h.ops = &op;
    CHECK_RC(trace_writer_create(p, &h, NULL, &w, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "op 0");
    trace_writer_options o = {0, 100, 0, 0};
    h = small_header(2);
    CHECK_RC(trace_writer_create(p, &h, &o, &w, &err), ES_EINVAL);
    CHECK(!exists(p) && !exists(tap_path("bad.trc.part")));
}

static void t_append_validation(void)
{
    trace_header h = small_header(2); /* G = 1, 13 */
    const char *p = tap_path("app.trc");
    trace_writer *w;
    es_err err;
    if (!CHECK(trace_writer_create(p, &h, NULL, &w, &err) == 0)) return;
    uint32_t idx[3] = {2, 1, 5};
    uint8_t bits[2] = {0, 0x20}; /* bit 13: past G = 13 */
    uint8_t flags[13] = {0};
    trace_mask m[2] = {{NULL, NULL, NULL, 0}, {NULL, NULL, idx, 3}};
    trace_iter it = {10, 0, 0.1, 1};
    CHECK_RC(trace_writer_append(w, &it, m, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "out of order");
    idx[0] = 0;
    idx[1] = 4;
    idx[2] = 13;
    CHECK_RC(trace_writer_append(w, &it, m, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "layer conv2: index 13");
    m[1] = (trace_mask){bits, NULL, NULL, 0};
    CHECK_RC(trace_writer_append(w, &it, m, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "bits past block 12");
    m[1] = (trace_mask){NULL, NULL, NULL, 5};
    CHECK_RC(trace_writer_append(w, &it, m, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "no mask given");
    m[1] = (trace_mask){bits, flags, NULL, 0};
    CHECK_RC(trace_writer_append(w, &it, m, &err), ES_EINVAL);
    m[1] = (trace_mask){NULL, flags, NULL, 0};
    flags[3] = 7;
    CHECK_RC(trace_writer_append(w, &it, m, &err), 0);
    CHECK_RC(trace_writer_append(w, &it, m, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "iteration 10 does not follow iteration 10");
    it.iteration = 11;
    m[0].count = 1; /* every block of a 1-block layer */
    CHECK_RC(trace_writer_append(w, &it, m, &err), 0);
    uint64_t maxc[2] = {0, 0};
    CHECK_RC(trace_writer_close(w, maxc, &err), 0);
    /* the rejected records left nothing behind; a caller max below the trace's is damage */
    trace_reader *r;
    if (!CHECK(trace_reader_open(p, NULL, &r, &err) == 0)) return;
    trace_record rec;
    CHECK_RC(trace_reader_next(r, &rec, &err), 1);
    CHECK(rec.iteration == 10 && rec.counts[0] == 0 && rec.counts[1] == 1 &&
          rec.masks[1][0] == 0x08);
    CHECK_RC(trace_reader_next(r, &rec, &err), 1);
    CHECK(rec.iteration == 11 && rec.counts[0] == 1 && rec.masks[0][0] == 1);
    CHECK_RC(trace_reader_next(r, &rec, &err), ES_EFORMAT);
    CHECK_CONTAINS(err.msg, "max update count 0 for layer conv1 is below the 1");
    trace_reader_close(r);
}

static void t_mask_next(void)
{
    uint8_t m[20] = {0};
    m[0] = 0x81;
    m[17] = 0x10;
    m[19] = 0x04; /* bit 154 */
    CHECK_UINT(trace_mask_next(m, 155, 0), 0);
    CHECK_UINT(trace_mask_next(m, 155, 1), 7);
    CHECK_UINT(trace_mask_next(m, 155, 8), 140);
    CHECK_UINT(trace_mask_next(m, 155, 141), 154);
    CHECK_UINT(trace_mask_next(m, 154, 141), 154); /* none below g */
    CHECK_UINT(trace_mask_next(m, 155, 155), 155);
    CHECK_STR(trace_phase_name(TRACE_PHASE_GRADIENT), "gradient");
    CHECK_STR(trace_granularity_name(TRACE_GRAN_CROSSBAR), "crossbar");
}

static void t_seek(void)
{
    const uint32_t nl = 4;
    const char *p = tap_path("seek.trc");
    trace_writer_options o = {0, 0, 50, 0};
    if (write_trace(p, &o, nl, 400, 3, 0.2, NULL) < 0) return;
    trace_reader *r;
    es_err err;
    if (!CHECK(trace_reader_open(p, NULL, &r, &err) == 0)) return;
    trace_record rec;
    CHECK_RC(trace_reader_seek(r, iter_of(237).iteration, &err), 0);
    CHECK_RC(trace_reader_next(r, &rec, &err), 1);
    CHECK_UINT(rec.iteration, iter_of(237).iteration);
    CHECK_UINT(rec.chunk, 4);
    CHECK_RC(trace_reader_seek(r, iter_of(237).iteration + 1, &err), 0); /* between iterations */
    CHECK_RC(trace_reader_next(r, &rec, &err), 1);
    CHECK_UINT(rec.iteration, iter_of(238).iteration);
    CHECK_RC(trace_reader_seek(r, 0, &err), 0); /* backwards */
    CHECK_RC(trace_reader_next(r, &rec, &err), 1);
    CHECK_UINT(rec.iteration, 5);
    uint8_t flags[2000];
    masks_of(3, 0, 0.2, nl, flags);
    int ok = 1;
    for (uint32_t j = 0; j < 13; j++)
        ok &= (rec.masks[1][j >> 3] >> (j & 7) & 1) == flags[1 + j];
    CHECK_MSG(ok, "masks after a seek are decoded");
    CHECK_RC(trace_reader_seek(r, 1u << 30, &err), 0);
    CHECK_RC(trace_reader_next(r, &rec, &err), 0);
    trace_reader_close(r);
}

/* ---- memory ---------------------------------------------------------------------------------- */

static void t_reader_memory_bounded(void)
{
    const uint32_t nl = 6;
    trace_writer_options o = {0, 16384, 0, 0};
    const char *a = tap_path("mem_a.trc"), *b = tap_path("mem_b.trc");
    if (write_trace(a, &o, nl, 60, 5, 0.1, NULL) < 0) return;
    if (write_trace(b, &o, nl, 1200, 5, 0.1, NULL) < 0) return;
    size_t peak[2] = {0, 0}, size_b = 0;
    uint64_t chunks[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        trace_reader *r;
        es_err err;
        if (!CHECK(trace_reader_open(k ? b : a, NULL, &r, &err) == 0)) return;
        trace_record rec;
        trace_reader_stats st;
        CHECK_RC(trace_reader_next(r, &rec, &err), 1);
        trace_reader_stats_get(r, &st);
        if (k == 1) {
            uint8_t *buf = tap_read_file(b, &size_b);
            free(buf);
            /* after the first record only the header and the first chunk were read */
            CHECK_MSG(st.bytes_read < size_b / 10, "read %llu of %zu bytes for the first record",
                      (unsigned long long)st.bytes_read, size_b);
        }
        while (trace_reader_next(r, &rec, &err) > 0) {
        }
        trace_reader_stats_get(r, &st);
        peak[k] = st.peak;
        chunks[k] = st.chunks_read;
        /* header + masks + per-block counts + one chunk (<= 16 KiB) + zlib's window and state */
        size_t bound = 32 * 1024 + 5 * total_blocks(nl) + 2 * 16384 + 64 * 1024;
        CHECK_MSG(st.peak < bound, "peak %zu bytes < %zu", st.peak, bound);
        trace_reader_close(r);
    }
    CHECK_MSG(chunks[1] >= 10 * chunks[0], "%llu vs %llu chunks", (unsigned long long)chunks[1],
              (unsigned long long)chunks[0]);
    /* 20x the iterations, the same memory (to within one chunk's size variation) */
    CHECK_MSG(peak[1] <= peak[0] + 4096, "peak %zu (1200 iterations) vs %zu (60)", peak[1],
              peak[0]);
}

/* ---- atomic and in-place writing, resume -------------------------------------------------------
 */

static void t_atomic_and_direct(void)
{
    trace_header h = small_header(3);
    const char *p = tap_path("atom.trc"), *part = tap_path("atom.trc.part");
    trace_writer *w;
    es_err err;
    if (!CHECK(trace_writer_create(p, &h, NULL, &w, &err) == 0)) return;
    CHECK(!exists(p) && exists(part));
    trace_mask m[3] = {{0}, {0}, {0}};
    trace_iter it = {0, 0, 0, 0};
    CHECK_RC(trace_writer_append(w, &it, m, &err), 0);
    CHECK_UINT(trace_writer_records(w), 1);
    CHECK_RC(trace_writer_close(w, NULL, &err), 0);
    CHECK(exists(p) && !exists(part));
    /* abort removes the temporary and leaves the previous trace alone */
    size_t n0, n1;
    uint8_t *before = tap_read_file(p, &n0);
    if (!CHECK(trace_writer_create(p, &h, NULL, &w, &err) == 0)) return;
    trace_writer_abort(w);
    CHECK(!exists(part));
    uint8_t *after = tap_read_file(p, &n1);
    CHECK(n0 == n1 && !memcmp(before, after, n0));
    free(before);
    free(after);
    trace_writer_abort(NULL);
    CHECK_RC(trace_writer_close(NULL, NULL, &err), 0);
    /* direct: abort leaves the complete chunks, readable in salvage mode */
    const char *d = tap_path("direct.trc");
    trace_writer_options o = {1, 0, 10, 0};
    if (!CHECK(trace_writer_create(d, &h, &o, &w, &err) == 0)) return;
    for (uint64_t i = 0; i < 25; i++) {
        it.iteration = i;
        trace_writer_append(w, &it, m, &err);
    }
    trace_writer_abort(w);
    trace_reader *r;
    CHECK_RC(trace_reader_open(d, NULL, &r, &err), ES_EFORMAT);
    CHECK_CONTAINS(err.msg,
                   "truncated after chunk 1 (the footer is missing); "
                   "the first 20 iterations (0-19) are intact (use --salvage to read them)");
    trace_reader_options so = {1};
    if (!CHECK(trace_reader_open(d, &so, &r, &err) == 0)) return;
    trace_record rec;
    uint64_t n = 0;
    while (trace_reader_next(r, &rec, &err) > 0)
        n++;
    CHECK_UINT(n, 20);
    CHECK_CONTAINS(trace_reader_damage(r), "footer is missing");
    trace_reader_close(r);
}

/* Write iterations [0, n) of the resume test, flushing every 50, optionally stopping after
 * `stop` appends without a footer; returns 0 or -1. */
static int resume_write(trace_writer *w, uint64_t from, uint64_t n)
{
    uint8_t flags[2000];
    mask_bufs b;
    mask_bufs_init(&b);
    es_err err;
    int rc = 0;
    for (uint64_t i = from; i < n && rc == 0; i++) {
        masks_of(9, i, 0.1, 5, flags);
        fill_masks(&b, flags, 5, i);
        trace_iter it = iter_of(i);
        rc = trace_writer_append(w, &it, b.m, &err);
        if (rc == 0 && (i + 1) % 50 == 0) rc = trace_writer_flush(w, &err);
    }
    mask_bufs_free(&b);
    return rc;
}

static void t_resume(void)
{
    trace_header h = small_header(5);
    es_err err;
    trace_writer *w;
    uint64_t maxc[5] = {300, 300, 300, 300, 500};
    /* the uninterrupted run */
    const char *full = tap_path("full.trc");
    trace_writer_options o = {0, 0, 30, 0};
    if (!CHECK(trace_writer_create(full, &h, &o, &w, &err) == 0)) return;
    CHECK_RC(resume_write(w, 0, 300), 0);
    CHECK_RC(trace_writer_close(w, maxc, &err), 0);
    /* a run that crashes after 237 iterations (a child process killed without cleanup) */
    const char *p = tap_path("res.trc");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (trace_writer_create(p, &h, &o, &w, &err) < 0) _exit(1);
        resume_write(w, 0, 237);
        _exit(0); /* no close, no abort: stdio buffers and the open chunk are lost */
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(!exists(p) && exists(tap_path("res.trc.part")));
    /* not at a chunk boundary: refused */
    CHECK_RC(trace_writer_resume(p, &h, &o, iter_of(219).iteration, &w, &err), ES_EFORMAT);
    CHECK_CONTAINS(err.msg, "does not end a chunk");
    /* beyond the intact part: refused */
    CHECK_RC(trace_writer_resume(p, &h, &o, iter_of(249).iteration, &w, &err), ES_EFORMAT);
    CHECK_CONTAINS(err.msg, "ends before it");
    /* another header: refused */
    trace_header h2 = small_header(4);
    CHECK_RC(trace_writer_resume(p, &h2, &o, iter_of(199).iteration, &w, &err), ES_EFORMAT);
    CHECK_CONTAINS(err.msg, "another network");
    /* from the checkpoint at iteration 199 (flushed): continue and finish */
    if (!CHECK(trace_writer_resume(p, &h, &o, iter_of(199).iteration, &w, &err) == 0)) {
        printf("# %s\n", err.msg);
        return;
    }
    CHECK_UINT(trace_writer_records(w), 200);
    CHECK_RC(resume_write(w, 200, 300), 0);
    CHECK_RC(trace_writer_close(w, maxc, &err), 0);
    size_t na, nb;
    uint8_t *a = tap_read_file(full, &na), *b = tap_read_file(p, &nb);
    CHECK_MSG(a && b && na == nb && !memcmp(a, b, na),
              "resumed trace is byte-identical to the uninterrupted one (%zu vs %zu bytes)", nb,
              na);
    free(a);
    free(b);
    /* resuming from nothing (TRACE_NO_COUNT) in direct mode keeps only the header */
    const char *d = tap_path("res_direct.trc");
    trace_writer_options od = {1, 0, 30, 0};
    if (!CHECK(trace_writer_create(d, &h, &od, &w, &err) == 0)) return;
    resume_write(w, 0, 120);
    trace_writer_abort(w);
    if (!CHECK(trace_writer_resume(d, &h, &od, TRACE_NO_COUNT, &w, &err) == 0)) return;
    CHECK_UINT(trace_writer_records(w), 0);
    CHECK_RC(resume_write(w, 0, 300), 0);
    CHECK_RC(trace_writer_close(w, maxc, &err), 0);
    long bad = -1;
    long got = read_back(d, 0, 5, 9, 0.1, &bad, &err);
    CHECK_MSG(got == 300, "resumed from nothing: %ld iterations (%s)", got, got < 0 ? err.msg : "");
    CHECK_INT(bad, 0);
}

/* ---- damage ---------------------------------------------------------------------------------- */

/* The reference trace of the damage tests: 10 chunks of 100 iterations (0..999). */
typedef struct ref_trace {
    uint8_t *buf;
    size_t len;
    uint64_t header_bytes;
    uint64_t chunk_off[11]; /* chunk k at chunk_off[k]; chunk_off[10] = the footer */
} ref_trace;

static int ref_make(ref_trace *t)
{
    memset(t, 0, sizeof *t);
    const char *p = tap_path("ref.trc");
    trace_layer L[3] = {{"a", 0, 0, 0, 0, 0, 0, 0, 0, 13, 0},
                        {"b", 0, 0, 0, 0, 0, 0, 0, 0, 200, 0},
                        {"c", 0, 0, 0, 0, 0, 0, 0, 0, 1000, 0}};
    trace_header h = small_header(3);
    h.layers = L;
    trace_writer_options o = {0, 0, 100, 0};
    trace_synth_options so = {1000, 0.1, 4, 0, 0, 0, 0};
    trace_synth_result res;
    es_err err;
    if (trace_synth(p, &h, &o, &so, &res, &err) < 0) {
        CHECK_MSG(0, "synth: %s", err.msg);
        return -1;
    }
    t->buf = tap_read_file(p, &t->len);
    t->header_bytes = 24 + rd32(t->buf + 16);
    uint64_t off = t->header_bytes;
    for (int k = 0; k <= 10; k++) {
        t->chunk_off[k] = off;
        if (k < 10) off += 44 + rd32(t->buf + off + 28);
    }
    return CHECK(!memcmp(t->buf + t->chunk_off[10], "FOOT", 4)) ? 0 : -1;
}

/* Open `path` normally (must fail with want, or succeed and fail in next() if opened), then in
 * salvage mode, checking the number of records it returns and that the damage names want. */
static void expect_damage(const char *what, const char *path, const char *want, long intact)
{
    es_err err;
    es_err_clear(&err);
    trace_reader *r;
    trace_record rec;
    int rc = trace_reader_open(path, NULL, &r, &err);
    long n = 0;
    if (rc == 0) {
        while ((rc = trace_reader_next(r, &rec, &err)) > 0)
            n++;
        trace_reader_close(r);
    }
    CHECK_MSG(rc == ES_EFORMAT, "%s: fails (%d)", what, rc);
    CHECK_MSG(strstr(err.msg, want) != NULL, "%s: message '%s' has '%s'", what, err.msg, want);
    if (intact > 0)
        CHECK_MSG(strstr(err.msg, "(use --salvage to read them)") != NULL,
                  "%s: message suggests salvage", what);
    if (intact < 0) return; /* header damage: nothing to salvage */
    trace_reader_options so = {1};
    es_err_clear(&err);
    if (!CHECK_MSG(trace_reader_open(path, &so, &r, &err) == 0, "%s: salvage opens (%s)", what,
                   err.msg))
        return;
    n = 0;
    int ok = 1;
    while ((rc = trace_reader_next(r, &rec, &err)) > 0) {
        ok &= rec.iteration == (uint64_t)n;
        n++;
    }
    CHECK_MSG(rc == 0 && n == intact && ok,
              "%s: salvage returns exactly the %ld intact iterations (%ld)", what, intact, n);
    const char *d = trace_reader_damage(r);
    CHECK_MSG(d && strstr(d, want) && !strstr(d, "--salvage"), "%s: damage '%s'", what,
              d ? d : "(none)");
    trace_reader_close(r);
}

static void with_file(const ref_trace *t, const char *name, size_t len)
{
    tap_write_file(tap_path(name), t->buf, len);
}

static void t_truncation(void)
{
    ref_trace t;
    if (ref_make(&t) < 0) return;
    char want[256];
    with_file(&t, "tr_hdr1.trc", 10);
    expect_damage("inside the header prefix", tap_path("tr_hdr1.trc"), "truncated in the header", -1);
    with_file(&t, "tr_hdr2.trc", t.header_bytes - 3);
    expect_damage("inside the header body", tap_path("tr_hdr2.trc"), "truncated in the header", -1);
    with_file(&t, "tr_hdr3.trc", t.header_bytes);
    expect_damage("right after the header", tap_path("tr_hdr3.trc"),
                  "truncated after the header (no chunk, no footer); no iteration is intact", 0);
    with_file(&t, "tr_c0.trc", t.chunk_off[0] + 100);
    expect_damage("inside chunk 0", tap_path("tr_c0.trc"),
                  "truncated in chunk 0 before the first iteration; no iteration is intact", 0);
    with_file(&t, "tr_c7h.trc", t.chunk_off[7] + 20);
    expect_damage("inside chunk 7's header", tap_path("tr_c7h.trc"),
                  "truncated in chunk 7 after iteration 699; the first 700 iterations (0-699) are "
                  "intact",
                  700);
    with_file(&t, "tr_c7d.trc", (t.chunk_off[7] + t.chunk_off[8]) / 2);
    expect_damage("inside chunk 7's data", tap_path("tr_c7d.trc"),
                  "truncated in chunk 7 after iteration 699; the first 700 iterations (0-699) are "
                  "intact",
                  700);
    with_file(&t, "tr_c4e.trc", t.chunk_off[4]);
    expect_damage("between chunks 3 and 4", tap_path("tr_c4e.trc"),
                  "truncated after chunk 3 (the footer is missing); the first "
                  "400 iterations (0-399) are intact",
                  400);
    with_file(&t, "tr_foot.trc", t.chunk_off[10]);
    expect_damage("missing footer", tap_path("tr_foot.trc"),
                  "truncated after chunk 9 (the footer is missing); the first "
                  "1000 iterations (0-999) are intact",
                  1000);
    with_file(&t, "tr_foot2.trc", t.len - 5);
    snprintf(want, sizeof want, "truncated in the footer; the first 1000 iterations");
    expect_damage("inside the footer", tap_path("tr_foot2.trc"), want, 1000);
    free(t.buf);
}

/* Edits of a chunk's uncompressed data for rewrite_chunk: they may change its length. */
static size_t flip_last_byte(uint8_t *raw, size_t n)
{
    raw[n - 1] ^= 1; /* the size of the column section */
    return n;
}

static size_t bad_tag(uint8_t *raw, size_t n)
{
    raw[0] = 9; /* record 0, layer a */
    return n;
}

/* Replace record 0's mask of layer a (G = 13: one byte per count and per gap, two bitmap
 * bytes) by "sparse, 1 index: 200" - in the 2.x layout its tag and count open the first
 * section, its gaps the second, its bitmap the third - and fix the section sizes. */
static size_t index_past_g(uint8_t *raw, size_t n)
{
    uint32_t sz[4];
    for (int k = 0; k < 4; k++)
        sz[k] = rd32(raw + n - 16 + 4 * k);
    uint8_t tag = raw[0];
    size_t a_old = tag == 2 || tag == 3 ? 2 : 1, b_old = tag == 3 ? raw[1] : 0,
           c_old = tag == 2 ? 2 : 0;
    static const uint8_t a_new[] = {3, 1}, b_new[] = {0xc8, 0x01};
    uint8_t *out = malloc(n + 8), *q = out;
    const uint8_t *a = raw, *b = a + sz[0], *c = b + sz[1], *d = c + sz[2];
    memcpy(q, a_new, 2), q += 2;
    memcpy(q, a + a_old, sz[0] - a_old), q += sz[0] - a_old;
    memcpy(q, b_new, 2), q += 2;
    memcpy(q, b + b_old, sz[1] - b_old), q += sz[1] - b_old;
    memcpy(q, c + c_old, sz[2] - c_old), q += sz[2] - c_old;
    memcpy(q, d, sz[3]), q += sz[3];
    uint32_t nsz[4] = {(uint32_t)(sz[0] - a_old + 2), (uint32_t)(sz[1] - b_old + 2),
                       (uint32_t)(sz[2] - c_old), sz[3]};
    for (int k = 0; k < 4; k++)
        wr32(q + 4 * k, nsz[k]);
    q += 16;
    size_t len = (size_t)(q - out);
    memcpy(raw, out, len);
    free(out);
    return len;
}

/* 2.x layout edits: the four section sizes close the data; the columns are the fourth
 * section (the reference chunks hold 100 consecutive iterations, so the iteration column is
 * 100 one-byte deltas and the epoch column follows it). */
static size_t columns_at(const uint8_t *raw, size_t n)
{
    return (size_t)rd32(raw + n - 16) + rd32(raw + n - 12) + rd32(raw + n - 8);
}

static size_t bad_sizes(uint8_t *raw, size_t n)
{
    wr32(raw + n - 16, rd32(raw + n - 16) + 1);
    return n;
}

static size_t extra_gap_byte(uint8_t *raw, size_t n)
{
    size_t at = (size_t)rd32(raw + n - 16) + rd32(raw + n - 12); /* end of the gap section */
    uint32_t b = rd32(raw + n - 12);
    memmove(raw + at + 1, raw + at, n - at);
    raw[at] = 0;
    wr32(raw + n + 1 - 12, b + 1);
    return n + 1;
}

static size_t bad_first_iteration(uint8_t *raw, size_t n)
{
    raw[columns_at(raw, n)] = 5;
    return n;
}

static size_t negative_epoch(uint8_t *raw, size_t n)
{
    raw[columns_at(raw, n) + 100] = 1; /* zigzag 1 = -1: record 0's epoch would be -1 */
    return n;
}

static size_t short_columns(uint8_t *raw, size_t n)
{
    uint32_t d = rd32(raw + n - 4);
    memmove(raw + n - 17, raw + n - 16, 16);
    wr32(raw + n - 1 - 4, d - 1);
    return n - 1;
}

/* Write to `out` the reference trace with chunk k's data decompressed, edited and
 * recompressed; fix_crc: store the new data CRC (else the old one stays). */
static void rewrite_chunk(const ref_trace *t, int k, size_t (*edit)(uint8_t *, size_t), int fix_crc,
                          const char *out)
{
    const uint8_t *h = t->buf + t->chunk_off[k];
    uLongf ulen = rd32(h + 32);
    uint8_t *raw = malloc(ulen + 16);
    uncompress(raw, &ulen, h + 44, rd32(h + 28));
    size_t n = edit(raw, ulen);
    uLongf clen = compressBound(n);
    uint8_t *comp = malloc(clen);
    compress(comp, &clen, raw, n);
    size_t head = t->chunk_off[k], tail = t->len - t->chunk_off[k + 1];
    uint8_t *nb = malloc(head + 44 + clen + tail);
    memcpy(nb, t->buf, head + 44);
    wr32(nb + head + 28, (uint32_t)clen);
    wr32(nb + head + 32, (uint32_t)n);
    if (fix_crc) wr32(nb + head + 36, (uint32_t)crc32(0L, raw, (uInt)n));
    wr32(nb + head + 40, (uint32_t)crc32(0L, nb + head, 40));
    memcpy(nb + head + 44, comp, clen);
    memcpy(nb + head + 44 + clen, t->buf + t->chunk_off[k + 1], tail);
    tap_write_file(out, nb, head + 44 + clen + tail);
    free(nb);
    free(comp);
    free(raw);
}

/* Recompute a chunk header's own CRC after editing it. */
static void fix_chunk_crc(uint8_t *h)
{
    wr32(h + 40, (uint32_t)crc32(0L, h, 40));
}

static void t_corruption(void)
{
    ref_trace t;
    if (ref_make(&t) < 0) return;
    uint8_t *b = malloc(t.len + 64);
    const char *p = tap_path("bad.trc");
#define FRESH() memcpy(b, t.buf, t.len)
    /* a flipped byte in chunk 3's compressed data */
    FRESH();
    b[t.chunk_off[3] + 44 + 200] ^= 0x5a;
    tap_write_file(p, b, t.len);
    expect_damage("flipped data byte", p, "chunk 3 (iterations 300-399): ", 300);
    /* a CRC mismatch proper: chunk 5 recompressed from altered records, old CRC kept */
    rewrite_chunk(&t, 5, flip_last_byte, 0, p);
    expect_damage("CRC mismatch", p, "chunk 5 (iterations 500-599): CRC mismatch (stored 0x", 500);
    /* Chunk 4 edited, its CRC right again: records that are malformed - an unknown tag (found
     * when the chunk is loaded), an index past G (found when the record is decoded) - and 2.x
     * layout damage: sections that do not add up, a byte left over in a mask section, columns
     * that disagree with the chunk header, a negative epoch, columns cut short. */
    static const struct {
        size_t (*edit)(uint8_t *, size_t);
        const char *what, *want;
    } c4[] = {
        {bad_tag, "unknown mask tag", "the masks of record 0 (iteration 400) are malformed"},
        {index_past_g, "index past G",
         "iteration 400, layer a: block index 200 out of range (13 blocks)"},
        {bad_sizes, "section sizes", "its section sizes ("},
        {extra_gap_byte, "byte left over", "0, 1 and 0 bytes left over in its mask sections"},
        {bad_first_iteration, "iteration column",
         "its records do not start and end at those iterations"},
        {negative_epoch, "epoch column", "its epoch column is malformed at record 0"},
        {short_columns, "short columns", "its learning-rate and loss columns are short"},
    };
    for (size_t i = 0; i < ES_ARRAY_LEN(c4); i++) {
        char want[256];
        snprintf(want, sizeof want, "chunk 4 (iterations 400-499): %s", c4[i].want);
        rewrite_chunk(&t, 4, c4[i].edit, 1, p);
        expect_damage(c4[i].what, p, want, 400);
    }
    /* a flipped byte in chunk 6's header */
    FRESH();
    b[t.chunk_off[6] + 9] ^= 1;
    tap_write_file(p, b, t.len);
    expect_damage("flipped chunk header byte", p, "chunk 6 at offset", 600);
    expect_damage("flipped chunk header byte", p, "chunk header CRC mismatch", 600);
    /* a bad chunk magic */
    FRESH();
    b[t.chunk_off[2]] = 'X';
    tap_write_file(p, b, t.len);
    expect_damage("bad chunk magic", p, "chunk 2 at offset", 200);
    /* bad lengths with a valid header CRC */
    FRESH();
    wr32(b + t.chunk_off[8] + 32, 0x7fffffffu);
    fix_chunk_crc(b + t.chunk_off[8]);
    tap_write_file(p, b, t.len);
    expect_damage("bad lengths", p, "chunk 8 (iterations 800-899): bad lengths", 800);
    FRESH();
    wr32(b + t.chunk_off[8] + 28, 5);
    fix_chunk_crc(b + t.chunk_off[8]);
    tap_write_file(p, b, t.len);
    expect_damage("tiny compressed length", p, "chunk 8 (iterations 800-899): bad lengths", 800);
    /* a chunk out of order */
    FRESH();
    wr32(b + t.chunk_off[4] + 4, 9);
    fix_chunk_crc(b + t.chunk_off[4]);
    tap_write_file(p, b, t.len);
    expect_damage("chunk index", p,
                  "chunk 4 (iterations 400-499): its header says it is chunk 9 (out of order)",
                  400);
    /* the file header */
    FRESH();
    b[0] = 'X';
    tap_write_file(p, b, t.len);
    expect_damage("wrong magic", p, "not an ESSIM trace (bad magic)", -1);
    FRESH();
    b[8] = 3;
    tap_write_file(p, b, t.len);
    expect_damage("wrong version", p, "trace format version 3.1 is not supported", -1);
    FRESH();
    b[8] = 0;
    tap_write_file(p, b, t.len);
    expect_damage("version 0", p, "trace format version 0.1 is not supported", -1);
    FRESH();
    b[30] ^= 0x20;
    tap_write_file(p, b, t.len);
    expect_damage("flipped header byte", p, "header CRC mismatch", -1);
    FRESH();
    wr32(b + 16, 0xfffffff0u);
    tap_write_file(p, b, t.len);
    expect_damage("bad header length", p, "bad header length", -1);
    /* the footer */
    FRESH();
    b[t.chunk_off[10] + 12] ^= 1;
    tap_write_file(p, b, t.len);
    expect_damage("flipped footer byte", p, "footer CRC mismatch", 1000);
    {
        /* footer totals that disagree with the records (valid CRC): layer b's writes + 1 */
        FRESH();
        uint8_t *f = b + t.chunk_off[10];
        uint32_t blen = rd32(f + 4);
        size_t at = 8 + 8 + 8 + 8 + 4 + 8 + 8 + 32 + 4 + 32; /* layer 1's writes */
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
            v |= (uint64_t)f[at + i] << (8 * i);
        v++;
        for (int i = 0; i < 8; i++)
            f[at + i] = (uint8_t)(v >> (8 * i));
        wr32(f + 8 + blen, (uint32_t)crc32(0L, f, 8 + blen));
        tap_write_file(p, b, t.len);
        expect_damage("footer totals", p, "the footer says layer b has", 1000);
    }
    /* bytes after the end */
    FRESH();
    memcpy(b + t.len, "garbage", 7);
    tap_write_file(p, b, t.len + 7);
    expect_damage("trailing bytes", p, "7 bytes after the end of the trace", 1000);
    /* a directory and a missing file are I/O errors, not format errors */
    trace_reader *r;
    es_err err;
    CHECK_RC(trace_reader_open(tap_path("nonexistent.trc"), NULL, &r, &err), ES_EIO);
    CHECK_CONTAINS(err.msg, "cannot open");
#undef FRESH
    free(b);
    free(t.buf);
}

/* ---- size --------------------------------------------------------------------------------------
 */

/* Read a whole trace; returns the reader's final status (0 = complete, or in salvage mode the
 * end of the intact prefix), a hash of every record (iteration, epoch, lr, loss, counts, mask
 * bits) in *hash, and in salvage mode whether damage was reported. */
static int read_all(const char *path, int salvage, uint32_t *hash, long *records, int *damaged)
{
    es_err err;
    trace_reader *r;
    trace_reader_options o = {salvage};
    *hash = 0;
    *records = 0;
    int rc = trace_reader_open(path, &o, &r, &err);
    if (rc < 0) return rc;
    const trace_header *h = trace_reader_header(r);
    trace_record rec;
    uLong crc = crc32(0L, Z_NULL, 0);
    while ((rc = trace_reader_next(r, &rec, &err)) > 0) {
        crc = crc32(crc, (const Bytef *)&rec.iteration, sizeof rec.iteration);
        crc = crc32(crc, (const Bytef *)&rec.epoch, sizeof rec.epoch);
        crc = crc32(crc, (const Bytef *)&rec.lr, sizeof rec.lr);
        crc = crc32(crc, (const Bytef *)&rec.loss, sizeof rec.loss);
        for (uint32_t l = 0; l < h->n_layers; l++) {
            crc = crc32(crc, (const Bytef *)&rec.counts[l], sizeof rec.counts[l]);
            crc = crc32(crc, rec.masks[l], (uInt)(h->layers[l].blocks + 7) / 8);
        }
        (*records)++;
    }
    if (damaged) *damaged = trace_reader_damage(r) != NULL;
    trace_reader_close(r);
    *hash = (uint32_t)crc;
    return rc;
}

static size_t fuzz_at, fuzz_mode;
static uint8_t fuzz_xor;

/* A random edit of a chunk's uncompressed data: flip a byte, cut the data short, or insert a
 * byte (rewrite_chunk then stores the right CRC, so only the structure checks stand guard). */
static size_t fuzz_edit(uint8_t *raw, size_t n)
{
    size_t at = fuzz_at % n;
    if (fuzz_mode == 0) {
        raw[at] ^= fuzz_xor;
        return n;
    }
    if (fuzz_mode == 1) return at ? at : 1;
    memmove(raw + at + 1, raw + at, n - at); /* rewrite_chunk leaves 16 bytes of room */
    raw[at] = fuzz_xor;
    return n + 1;
}

/* Damage at random: every single-byte change of the file is either reported or harmless (the
 * records read are exactly the original ones: only deflate's padding bits can be changed
 * without notice), and a chunk whose data is changed but whose CRC is right again is either
 * rejected as malformed or read as valid records - never a crash or a read out of bounds
 * (the sanitizer build runs this too). */
static void t_fuzz(void)
{
    ref_trace t;
    if (ref_make(&t) < 0) return;
    const char *p = tap_path("fuzz.trc");
    uint32_t h0, h;
    long n0, n;
    tap_write_file(p, t.buf, t.len);
    if (!CHECK(read_all(p, 0, &h0, &n0, NULL) == 0 && n0 == 1000)) return;
    rng_stream rs;
    rng_init(&rs, 11, "test/fuzz");
    uint8_t *b = malloc(t.len);
    int flips_ok = 1, silent = 0, caught = 0;
    for (int i = 0; i < 400; i++) {
        memcpy(b, t.buf, t.len);
        size_t at = (size_t)(rng_uniform(&rs) * (double)t.len);
        b[at] ^= (uint8_t)(1 + (int)(rng_uniform(&rs) * 255));
        tap_write_file(p, b, t.len);
        int rc = read_all(p, 0, &h, &n, NULL);
        if (rc == 0) {
            silent++;
            flips_ok &= h == h0 && n == n0;
        } else {
            caught++;
            flips_ok &= rc == ES_EFORMAT;
        }
    }
    free(b);
    CHECK_MSG(flips_ok, "400 byte flips: %d reported, %d harmless (same records)", caught, silent);
    CHECK_MSG(caught >= 390, "almost every flip is reported (%d of 400)", caught);
    /* In salvage mode (the footer no longer sits where the trailer says once chunk 4 changes
     * size, so a normal open fails before any chunk is read). */
    int struct_ok = 1, rejected = 0, accepted = 0;
    for (int i = 0; i < 300; i++) {
        fuzz_at = (size_t)(rng_uniform(&rs) * 1e9);
        fuzz_mode = (size_t)(rng_uniform(&rs) * 3);
        fuzz_xor = (uint8_t)(1 + (int)(rng_uniform(&rs) * 255));
        rewrite_chunk(&t, 4, fuzz_edit, 1, p);
        int damaged = 0;
        int rc = read_all(p, 1, &h, &n, &damaged);
        /* the 4 chunks before chunk 4 are whole; the damage shows when chunk 4 is loaded, when
         * one of its records is decoded, or at the footer's totals */
        struct_ok &= rc == 0 && n >= 400;
        if (damaged)
            rejected++;
        else
            accepted++;
    }
    CHECK_MSG(struct_ok, "300 structural edits with a right CRC: %d rejected after the intact "
                         "400 iterations, %d read as other valid records",
              rejected, accepted);
    free(t.buf);
}

/* A trace written in format 1.0 (tests/data/trace-v1.0.trc, made by the 1.0 writer: LeNet-5
 * layer table, 40 iterations in chunks of 16, i.i.d. masks at density 0.2) still reads, and
 * the same records written again come out in the current format with the same content.
 * `essim trace dump` of the file against the 1.0 reader's dump is in cli_trace.sh. A 1.0
 * trace cannot be continued by this writer. */
static void t_format_1_0(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/trace-v1.0.trc", ES_SRCDIR);
    trace_reader *r;
    es_err err;
    if (!CHECK_MSG(trace_reader_open(path, NULL, &r, &err) == 0, "open: %s", err.msg)) return;
    const trace_header *h = trace_reader_header(r);
    CHECK_INT(h->version_major, 1);
    CHECK_INT(h->version_minor, 0);
    CHECK_INT(h->n_layers, 5);
    /* copy it record by record into a current-format trace */
    const char *out = tap_path("v1-again.trc");
    trace_writer_options o = {0, 0, 16, 0};
    trace_writer *w;
    if (!CHECK_MSG(trace_writer_create(out, h, &o, &w, &err) == 0, "create: %s", err.msg)) {
        trace_reader_close(r);
        return;
    }
    trace_record rec;
    int rc, n = 0;
    uint64_t writes = 0;
    trace_mask m[5];
    while ((rc = trace_reader_next(r, &rec, &err)) > 0) {
        if (n == 0) {
            CHECK_UINT(rec.iteration, 0);
            CHECK_NEAR(rec.lr, 0.1, 0);
        }
        for (int l = 0; l < 5; l++) {
            memset(&m[l], 0, sizeof m[l]);
            m[l].bits = rec.masks[l];
            writes += rec.counts[l];
        }
        trace_iter it = {rec.iteration, rec.epoch, rec.lr, rec.loss};
        CHECK(trace_writer_append(w, &it, m, &err) == 0);
        n++;
    }
    CHECK_MSG(rc == 0, "read: %s", rc < 0 ? err.msg : "");
    CHECK_INT(n, 40);
    const trace_footer *f = trace_reader_footer(r);
    uint64_t fw = 0;
    for (int l = 0; l < 5; l++)
        fw += f->writes[l];
    CHECK_UINT(writes, fw);
    CHECK(trace_writer_close(w, NULL, &err) == 0);
    /* the copy: current version, same records */
    trace_reader *r2;
    if (CHECK_MSG(trace_reader_open(out, NULL, &r2, &err) == 0, "reopen: %s", err.msg)) {
        CHECK_INT(trace_reader_header(r2)->version_major, TRACE_VERSION_MAJOR);
        trace_reader_close(r);
        CHECK(trace_reader_open(path, NULL, &r, &err) == 0);
        h = trace_reader_header(r); /* the first reader's header went with it */
        trace_record a, b;
        int same = 1, k = 0;
        while (trace_reader_next(r, &a, &err) > 0 && trace_reader_next(r2, &b, &err) > 0) {
            same &= a.iteration == b.iteration && a.epoch == b.epoch && a.lr == b.lr &&
                    a.loss == b.loss;
            for (int l = 0; l < 5; l++)
                same &= a.counts[l] == b.counts[l] &&
                        !memcmp(a.masks[l], b.masks[l], (h->layers[l].blocks + 7) / 8);
            k++;
        }
        CHECK_MSG(same && k == 40, "records equal after rewriting (%d compared)", k);
        trace_reader_close(r2);
    }
    /* resuming a 1.0 trace is refused, naming the versions */
    const char *part = tap_path("v1-resume.trc.part");
    size_t len;
    void *buf = tap_read_file(path, &len);
    tap_write_file(part, buf, len);
    free(buf);
    char base[4096];
    snprintf(base, sizeof base, "%.*s", (int)(strlen(part) - 5), part);
    trace_writer *w2 = NULL;
    CHECK(trace_writer_resume(base, trace_reader_header(r), NULL, TRACE_NO_COUNT, &w2, &err) < 0);
    CHECK_CONTAINS(err.msg, "recorded in trace format 1.0, and this build writes 2.x");
    trace_reader_close(r);
}

static void t_entropy_size(void)
{
    /* 30,000 blocks in 20 layers x 500 iterations at rho = 0.1, masks i.i.d. */
    trace_layer L[20];
    char names[20][24];
    for (int l = 0; l < 20; l++) {
        memset(&L[l], 0, sizeof L[l]);
        snprintf(names[l], sizeof names[l], "layer%d", l);
        L[l].name = names[l];
        L[l].blocks = 1500;
    }
    trace_header h = small_header(1);
    h.n_layers = 20;
    h.layers = L;
    const char *p = tap_path("entropy.trc");
    trace_synth_options so = {500, 0.1, 1, 0, 0, 0, 0};
    trace_synth_result res;
    es_err err;
    if (!CHECK(trace_synth(p, &h, NULL, &so, &res, &err) == 0)) return;
    double hb = -(0.1 * log2(0.1) + 0.9 * log2(0.9));
    double entropy = 30000.0 * 500 * hb / 8;
    CHECK_NEAR(res.entropy_bytes, entropy, 1);
    double ratio = (double)res.compressed_bytes / entropy;
    printf("# rho 0.1, 30000 blocks x 500 iterations: %llu compressed bytes, entropy %.0f, "
           "ratio %.4f; %.1f file bytes/iteration\n",
           (unsigned long long)res.compressed_bytes, entropy, ratio, (double)res.file_bytes / 500);
    CHECK_MSG(ratio <= 1.2, "compressed masks within 1.2x of the entropy (%.4f)", ratio);
    CHECK_MSG(ratio >= 1.0, "and not below it (%.4f): the masks are i.i.d.", ratio);
    /* the same at rho = 1.0 (SGD) is nearly free: one tag byte per layer and iteration */
    so.density = 1.0;
    if (!CHECK(trace_synth(p, &h, NULL, &so, &res, &err) == 0)) return;
    printf("# rho 1.0: %.1f file bytes/iteration\n", (double)res.file_bytes / 500);
    CHECK_MSG((double)res.compressed_bytes / 500 < 64, "rho 1.0: %.1f compressed bytes/iteration",
              (double)res.compressed_bytes / 500);
    /* A small layer table (LeNet-5's at ISAAC's geometry: 779 blocks, ~46 bytes of mask
     * information per iteration), where each mask is short and the tags, counts and scalars
     * weigh most. The masks alone (the trace at rho 0.1 minus the same trace at rho 0) cost
     * 1.08x their entropy in format 2.0; format 1.0's single mask stream cost 1.20x. */
    static const uint32_t lenet[5] = {25, 150, 400, 120, 84};
    for (int l = 0; l < 5; l++)
        L[l].blocks = lenet[l];
    h.n_layers = 5;
    trace_synth_options s5 = {2000, 0.0, 1, 0, 0, 0, 0};
    if (!CHECK(trace_synth(p, &h, NULL, &s5, &res, &err) == 0)) return;
    uint64_t scalars = res.compressed_bytes;
    s5.density = 0.1;
    if (!CHECK(trace_synth(p, &h, NULL, &s5, &res, &err) == 0)) return;
    double masks = (double)(res.compressed_bytes - scalars) / res.entropy_bytes;
    printf("# LeNet-5 table, rho 0.1: %.1f compressed bytes/iteration, %.1f of them scalars; masks "
           "%.4f x the entropy\n",
           (double)res.compressed_bytes / 2000, (double)scalars / 2000, masks);
    CHECK_MSG(masks <= 1.12 && masks >= 1.0, "LeNet-5 table: masks alone %.4f x the entropy",
              masks);
}

int main(int argc, char **argv)
{
    static const tap_test tests[] = {
        {"roundtrip_densities", t_roundtrip_densities},
        {"encoding_choice", t_encoding_choice},
        {"header_roundtrip", t_header_roundtrip},
        {"iteration_images", t_iteration_images},
        {"header_validation", t_header_validation},
        {"append_validation", t_append_validation},
        {"mask_next", t_mask_next},
        {"seek", t_seek},
        {"reader_memory_bounded", t_reader_memory_bounded},
        {"atomic_and_direct", t_atomic_and_direct},
        {"resume", t_resume},
        {"truncation", t_truncation},
        {"corruption", t_corruption},
        {"fuzz", t_fuzz},
        {"format_1_0", t_format_1_0},
        {"entropy_size", t_entropy_size},
    };
    return tap_main(tests, ES_ARRAY_LEN(tests), argc, argv);
}
