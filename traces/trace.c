/* trace.c - the trace format (docs/trace-format.md), what its reader (trace_read.c) and
 * writer (trace_write.c) share: mask helpers, names, size bounds and the header's validation.
 * Sits between the trainer (which writes) and the replay/`essim trace` tools (which read). */
#include "trace_internal.h"


uint32_t trace_popcount(const uint8_t *p, size_t n)
{
    uint32_t c = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        c += (uint32_t)__builtin_popcountll(w);
    }
    for (; i < n; i++)
        c += (uint32_t)__builtin_popcount(p[i]);
    return c;
}

uint32_t trace_mask_next(const uint8_t *bits, uint32_t g, uint32_t from)
{
    if (from >= g) return g;
    uint32_t i = from >> 3;
    unsigned b = bits[i] & (0xffu << (from & 7));
    size_t nb = bitmap_bytes(g);
    while (!b) {
        /* Skip zero words eight bytes at a time: masks at rho = 0.1 are mostly zero bytes. */
        i++;
        while ((size_t)i + 8 <= nb) {
            uint64_t w;
            memcpy(&w, bits + i, 8);
            if (w) break;
            i += 8;
        }
        if (i >= nb) return g;
        b = bits[i];
    }
    uint32_t idx = i * 8 + (uint32_t)__builtin_ctz(b);
    return idx < g ? idx : g;
}

const char *trace_phase_name(int phase)
{
    static const char *const names[] = {"forward", "backward", "gradient", "update"};
    return phase >= 0 && phase < 4 ? names[phase] : "?";
}

const char *trace_granularity_name(int gran)
{
    static const char *const names[] = {"row", "crossbar", "weight"};
    return gran >= 0 && gran < 3 ? names[gran] : "?";
}

/* Largest masks of one record: per layer a tag, a count and the bitmap (sparse is only
 * chosen when smaller). */
uint64_t trace_masks_bound(const uint32_t *g, uint32_t n_layers)
{
    uint64_t b = 0;
    for (uint32_t l = 0; l < n_layers; l++)
        b += 1 + 5 + bitmap_bytes(g[l]);
    return b;
}

/* Largest chunk holding one record: its masks, its fixed fields and the words that close
 * the chunk's data (the larger of the 1.x and 2.x layouts). A chunk is never larger than this
 * or the writer's chunk size, whichever is larger. */
uint64_t trace_record_bound(const uint32_t *g, uint32_t n_layers)
{
    return trace_masks_bound(g, n_layers) + ES_MAX(REC_FIXED + V1_CLOSE, V2_FIXED_MAX + V2_CLOSE);
}

/* A configuration hash as the format stores it: 16 lower-case hex digits. */
int trace_hex16(const char *h)
{
    for (int i = 0; i < 16; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f'))) return 0;
    return h[16] == '\0';
}

/* ---- header ------------------------------------------------------------------------------ */

int trace_layer_check(const trace_layer *L, const char *path, es_err *err)
{
    /* A layer with its geometry (K, N and tiles: every layer ESSIM maps) has exactly as many
     * blocks as its granularity gives; bare layers (trace synth --blocks, hand-made headers)
     * have nothing to check against, the total limit still applies. */
    if (!L->k_rows || !L->n_cols || !L->row_tiles || !L->col_tiles) return ES_OK;
    uint64_t k = L->k_rows, n = L->n_cols, want;
    switch (L->granularity) {
    case TRACE_GRAN_ROW: want = k * L->col_tiles; break;
    case TRACE_GRAN_CROSSBAR: want = (uint64_t)L->row_tiles * L->col_tiles; break;
    default: want = k * n; break;
    }
    if (L->n_w && L->col_tiles != (n + L->n_w - 1) / L->n_w)
        return es_fail(err, ES_EFORMAT,
                       "%s: bad header: layer %s has %u column tiles, its %llu columns of %u "
                       "weights make %llu",
                       path, L->name, L->col_tiles, (unsigned long long)n, L->n_w,
                       (unsigned long long)((n + L->n_w - 1) / L->n_w));
    if (L->blocks != want)
        return es_fail(err, ES_EFORMAT,
                       "%s: bad header: layer %s claims %u blocks, its geometry (%llu x %llu, %u x "
                       "%u tiles, %s granularity) makes %llu",
                       path, L->name, L->blocks, (unsigned long long)k, (unsigned long long)n,
                       L->row_tiles, L->col_tiles, trace_granularity_name(L->granularity),
                       (unsigned long long)want);
    return ES_OK;
}

int trace_blocks_check(uint64_t total, const char *path, es_err *err)
{
    uint64_t max = es_limit(ES_LIMIT_TRACE_BLOCKS, (uint64_t)1 << 24);
    if (max > MAX_TOTAL_BLOCKS) max = MAX_TOTAL_BLOCKS;
    if (total > max)
        return es_fail(err, ES_ERANGE,
                       "%s: %llu mask blocks in all, more than the limit of %llu (reading it "
                       "needs about %llu MB; set %s to raise the limit)",
                       path, (unsigned long long)total, (unsigned long long)max,
                       (unsigned long long)(total * 16 >> 20), ES_LIMIT_TRACE_BLOCKS);
    return ES_OK;
}

int trace_header_validate(const trace_header *h, es_err *err)
{
    if (!trace_hex16(h->config_hash))
        return es_fail(err, ES_EINVAL, "trace: config hash '%.16s' is not 16 lower-case hex digits",
                       h->config_hash);
    if (h->n_layers == 0 || !h->layers)
        return es_fail(err, ES_EINVAL, "trace: the layer table is empty");
    if (h->n_layers > MAX_LAYERS)
        return es_fail(err, ES_EINVAL, "trace: %u layers (at most %u)", h->n_layers, MAX_LAYERS);
    if (h->epoch_images > MAX_EPOCH_IMAGES)
        return es_fail(err, ES_EINVAL, "trace: %llu images per epoch (at most 2^40)",
                       (unsigned long long)h->epoch_images);
    uint64_t total = 0;
    for (uint32_t l = 0; l < h->n_layers; l++) {
        const trace_layer *L = &h->layers[l];
        if (!L->name || !L->name[0])
            return es_fail(err, ES_EINVAL, "trace: layer %u has no name", l);
        if (L->blocks == 0)
            return es_fail(err, ES_EINVAL, "trace: layer %s has no blocks", L->name);
        if (L->granularity > TRACE_GRAN_WEIGHT)
            return es_fail(err, ES_EINVAL, "trace: layer %s: bad granularity %u", L->name,
                           L->granularity);
        for (uint32_t m = 0; m < l; m++)
            if (!strcmp(h->layers[m].name, L->name))
                return es_fail(err, ES_EINVAL, "trace: layer name %s appears twice", L->name);
        total += L->blocks;
    }
    ES_TRY(trace_blocks_check(total, "trace", err));
    if (h->n_kinds > 256) return es_fail(err, ES_EINVAL, "trace: more than 256 op kinds");
    if (h->n_count_names > 255) return es_fail(err, ES_EINVAL, "trace: more than 255 count names");
    if ((h->n_kinds && !h->kind_names) || (h->n_count_names && !h->count_names) ||
        (h->n_ops && !h->ops))
        return es_fail(err, ES_EINVAL, "trace: a header table is missing");
    for (uint32_t i = 0; i < h->n_kinds; i++)
        if (!h->kind_names[i]) return es_fail(err, ES_EINVAL, "trace: op kind %u has no name", i);
    for (uint32_t i = 0; i < h->n_count_names; i++)
        if (!h->count_names[i]) return es_fail(err, ES_EINVAL, "trace: count %u has no name", i);
    if (h->n_ops > MAX_OPS) return es_fail(err, ES_EINVAL, "trace: too many ops");
    for (uint32_t i = 0; i < h->n_ops; i++) {
        const trace_op *o = &h->ops[i];
        if ((o->layer >= h->n_layers && o->layer != TRACE_NO_LAYER) ||
            o->phase > TRACE_PHASE_UPDATE || o->kind >= h->n_kinds || o->n > h->n_count_names ||
            (o->n && !o->counts))
            return es_fail(err, ES_EINVAL,
                           "trace: op %u (layer %u, phase %u, kind %u, %u counts) is out of range",
                           i, o->layer, o->phase, o->kind, o->n);
    }
    return ES_OK;
}

/* The whole header: prefix, body, CRC (docs/trace-format.md, "Header"). */

uint64_t trace_iteration_images(uint64_t epoch_images, uint64_t batch, uint64_t iteration)
{
    if (!epoch_images || !batch) return batch;
    const uint64_t ipe = epoch_images / batch + (epoch_images % batch != 0);
    return iteration % ipe == ipe - 1 ? epoch_images - (ipe - 1) * batch : batch;
}
