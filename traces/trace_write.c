/* trace_write.c - the trace writer: records -> per-chunk zlib streams in sections with CRC-32,
 * the footer, and resuming an interrupted trace (the reader's state handed to a writer). */
#define _POSIX_C_SOURCE 200809L
#include "trace_internal.h"

#include <errno.h>
#include <stdlib.h>

static uint8_t *bb_grow(bbuf *b, size_t n)
{
    if (b->oom) return NULL;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    uint8_t *q = b->p + b->len;
    b->len += n;
    return q;
}
static void bb_u8(bbuf *b, uint8_t v)
{
    uint8_t *q = bb_grow(b, 1);
    if (q) *q = v;
}
static void bb_u32(bbuf *b, uint32_t v)
{
    uint8_t *q = bb_grow(b, 4);
    if (q) put_u32(q, v);
}
static void bb_u64(bbuf *b, uint64_t v)
{
    uint8_t *q = bb_grow(b, 8);
    if (q) put_u64(q, v);
}
static void bb_bytes(bbuf *b, const void *s, size_t n)
{
    uint8_t *q = bb_grow(b, n);
    if (q && n) memcpy(q, s, n);
}
static void bb_str(bbuf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    bb_u32(b, (uint32_t)n);
    bb_bytes(b, s, n);
}

static int header_encode(const trace_header *h, uint32_t flags, uint32_t chunk_bytes,
                         uint32_t chunk_records, bbuf *b)
{
    bb_bytes(b, FILE_MAGIC, 8);
    uint8_t *v = bb_grow(b, 4);
    if (v) {
        put_u16(v, TRACE_VERSION_MAJOR);
        put_u16(v + 2, TRACE_VERSION_MINOR);
    }
    bb_u32(b, flags);
    bb_u32(b, 0); /* body length, patched below */
    bb_str(b, h->producer);
    bb_str(b, h->network);
    bb_str(b, h->dataset);
    bb_u64(b, h->seed);
    bb_bytes(b, h->config_hash, 16);
    bb_u32(b, chunk_bytes);
    bb_u32(b, chunk_records);
    bb_str(b, h->config_yaml);
    bb_u32(b, h->n_layers);
    for (uint32_t l = 0; l < h->n_layers; l++) {
        const trace_layer *L = &h->layers[l];
        bb_str(b, L->name);
        bb_u32(b, L->k_rows);
        bb_u32(b, L->n_cols);
        bb_u32(b, L->row_tiles);
        bb_u32(b, L->col_tiles);
        bb_u32(b, L->slices);
        bb_u32(b, L->cells_per_slice);
        bb_u32(b, L->n_w);
        bb_u8(b, L->granularity);
        bb_u32(b, L->blocks);
        bb_u32(b, L->crossbars);
    }
    bb_u32(b, h->n_kinds);
    for (uint32_t i = 0; i < h->n_kinds; i++)
        bb_str(b, h->kind_names[i]);
    bb_u32(b, h->n_count_names);
    for (uint32_t i = 0; i < h->n_count_names; i++)
        bb_str(b, h->count_names[i]);
    bb_u32(b, h->n_ops);
    for (uint32_t i = 0; i < h->n_ops; i++) {
        const trace_op *o = &h->ops[i];
        bb_u32(b, o->layer);
        bb_u8(b, o->phase);
        bb_u8(b, o->kind);
        bb_u8(b, o->n);
        for (unsigned j = 0; j < o->n; j++)
            bb_u64(b, o->counts[j]);
    }
    bb_u64(b, h->epoch_images); /* 2.1 */
    if (b->oom) return ES_ENOMEM;
    if (b->len - HDR_PREFIX > MAX_HEADER_BODY) return ES_ERANGE;
    put_u32(b->p + 16, (uint32_t)(b->len - HDR_PREFIX));
    bb_u32(b, trace_crc32(b->p, b->len));
    return b->oom ? ES_ENOMEM : ES_OK;
}

/* ---- writer ------------------------------------------------------------------------------ */

static int wr_io(trace_writer *w, es_err *err)
{
    w->failed = 1;
    return es_fail(err, ES_EIO, "%s: write failed: %s", w->tmp ? w->tmp : w->path, strerror(errno));
}

void trace_writer_free(trace_writer *w)
{
    if (!w) return;
    if (w->zinit) deflateEnd(&w->zs);
    if (w->names)
        for (uint32_t l = 0; l < w->n_layers; l++)
            free(w->names[l]);
    if (w->counts)
        for (uint32_t l = 0; l < w->n_layers; l++)
            free(w->counts[l]);
    free(w->names);
    free(w->counts);
    free(w->layer_at);
    free(w->cnts);
    free(w->writes);
    free(w->g);
    free(w->rec);
    for (int k = 0; k < 3; k++)
        free(w->sec[k].p);
    free(w->cols.p);
    free(w->c_it);
    free(w->c_ep);
    free(w->c_lr);
    free(w->c_loss);
    free(w->comp);
    free(w->path);
    free(w->tmp);
    free(w);
}

/* Allocate everything but the file; shared by create and resume. */
int trace_writer_alloc(const trace_header *h, const char *path, const trace_writer_options *opt,
                       uint32_t chunk_bytes, uint32_t chunk_records, trace_writer **out,
                       es_err *err)
{
    trace_writer *w = calloc(1, sizeof *w);
    if (!w) return es_fail(err, ES_ENOMEM, "out of memory");
    w->n_layers = h->n_layers;
    w->chunk_bytes = chunk_bytes;
    w->chunk_records = chunk_records;
    w->path = es_strdup(path);
    w->g = calloc(h->n_layers, sizeof *w->g);
    w->names = calloc(h->n_layers, sizeof *w->names);
    w->counts = calloc(h->n_layers, sizeof *w->counts);
    w->writes = calloc(h->n_layers, sizeof *w->writes);
    w->layer_at = calloc(h->n_layers, sizeof *w->layer_at);
    w->cnts = calloc(h->n_layers, sizeof *w->cnts);
    if (!w->path || !w->g || !w->names || !w->counts || !w->writes || !w->layer_at || !w->cnts)
        goto oom;
    if (!(opt && opt->direct)) {
        /* Not es_atomic_open: its temporary carries the process id, and trace_writer_resume
         * in a restarted process must find the file a crashed one left. */
        size_t n = strlen(path) + 6;
        w->tmp = malloc(n);
        if (!w->tmp) goto oom;
        snprintf(w->tmp, n, "%s.part", path);
    }
    for (uint32_t l = 0; l < h->n_layers; l++) {
        w->g[l] = h->layers[l].blocks;
        w->names[l] = es_strdup(h->layers[l].name);
        w->counts[l] = calloc(w->g[l], sizeof **w->counts);
        if (!w->names[l] || !w->counts[l]) goto oom;
    }
    uint64_t rb = trace_record_bound(w->g, w->n_layers);
    if (rb > MAX_CHUNK_BYTES) {
        trace_writer_free(w);
        return es_fail(err, ES_EINVAL, "trace: records of %llu bytes are too large",
                       (unsigned long long)rb);
    }
    w->rec_cap = (size_t)trace_masks_bound(w->g, w->n_layers);
    w->rec = malloc(w->rec_cap);
    w->c_it = malloc((size_t)chunk_records * sizeof *w->c_it);
    w->c_ep = malloc((size_t)chunk_records * sizeof *w->c_ep);
    w->c_lr = malloc((size_t)chunk_records * sizeof *w->c_lr);
    w->c_loss = malloc((size_t)chunk_records * sizeof *w->c_loss);
    /* Level 4 is the lowest that honours Z_FILTERED (1-3 use deflate_fast, which ignores the
     * strategy); above it the ratio on masks does not improve but bitmaps take twice as long. */
    int level = opt && opt->level ? opt->level : 4;
    if (level < 1 || level > 9) {
        trace_writer_free(w);
        return es_fail(err, ES_EINVAL, "trace: zlib level %d is not in 1..9", level);
    }
    /* Z_FILTERED: deflate keeps only matches of 6 bytes or more. Masks drawn at random make
     * many accidental 3-5 byte matches that cost more than the literals they replace (1.15x
     * the entropy at rho = 0.1 with the default strategy, 1.05x with this), while long repeats -
     * identical masks on consecutive iterations, runs of 0xff - are still found. */
    if (!w->rec || !w->c_it || !w->c_ep || !w->c_lr || !w->c_loss ||
        deflateInit2(&w->zs, level, Z_DEFLATED, 15, 8, Z_FILTERED) != Z_OK)
        goto oom;
    w->zinit = 1;
    w->comp_cap = deflateBound(&w->zs, ES_MAX(chunk_bytes, (uLong)rb)) + 64;
    w->comp = malloc(w->comp_cap);
    if (!w->comp) goto oom;
    w->first = w->last = TRACE_NO_COUNT;
    *out = w;
    return ES_OK;
oom:
    trace_writer_free(w);
    return es_fail(err, ES_ENOMEM, "out of memory");
}

static int resolve_chunking(const trace_writer_options *opt, uint32_t *bytes, uint32_t *records,
                            es_err *err)
{
    *bytes = opt && opt->chunk_bytes ? opt->chunk_bytes : TRACE_DEFAULT_CHUNK_BYTES;
    *records = opt && opt->chunk_records ? opt->chunk_records : TRACE_DEFAULT_CHUNK_RECORDS;
    if (*bytes < 4096 || *bytes > MAX_CHUNK_BYTES)
        return es_fail(err, ES_EINVAL, "trace: chunk size %u is not in [4096, %u]", *bytes,
                       MAX_CHUNK_BYTES);
    if (*records > MAX_CHUNK_RECORDS)
        return es_fail(err, ES_EINVAL, "trace: %u iterations per chunk (at most %u)", *records,
                       MAX_CHUNK_RECORDS);
    return ES_OK;
}

int trace_writer_create(const char *path, const trace_header *hdr, const trace_writer_options *opt,
                        trace_writer **out, es_err *err)
{
    *out = NULL;
    uint32_t cb, cr;
    ES_TRY(trace_header_validate(hdr, err));
    ES_TRY(resolve_chunking(opt, &cb, &cr, err));
    trace_writer *w;
    ES_TRY(trace_writer_alloc(hdr, path, opt, cb, cr, &w, err));
    bbuf b = {0};
    int rc = header_encode(hdr, opt && opt->direct ? TRACE_FLAG_DIRECT : 0, cb, cr, &b);
    if (rc < 0) {
        free(b.p);
        trace_writer_free(w);
        return es_fail(err, rc, "trace: %s",
                       rc == ES_ERANGE ? "the header is too large" : "out of memory");
    }
    const char *file = w->tmp ? w->tmp : path;
    w->fp = fopen(file, "wb");
    if (!w->fp) {
        rc = es_fail(err, ES_EIO, "%s: cannot create: %s", file, strerror(errno));
        free(b.p);
        trace_writer_free(w);
        return rc;
    }
    if (fwrite(b.p, 1, b.len, w->fp) != b.len || fflush(w->fp) != 0) {
        rc = wr_io(w, err);
        free(b.p);
        trace_writer_abort(w);
        return rc;
    }
    free(b.p);
    *out = w;
    return ES_OK;
}

/* Feed len bytes to deflate with the given flush (Z_NO_FLUSH, Z_BLOCK or Z_FINISH), growing
 * the output buffer when it fills. */
static int zfeed(trace_writer *w, const uint8_t *p, size_t len, int flush, es_err *err)
{
    w->zs.next_in = (Bytef *)p;
    w->zs.avail_in = (uInt)len;
    for (;;) {
        if (w->zs.avail_out == 0) {
            size_t used = w->comp_cap;
            uint8_t *q = realloc(w->comp, w->comp_cap * 2);
            if (!q) {
                w->failed = 1;
                return es_fail(err, ES_ENOMEM, "out of memory");
            }
            w->comp = q;
            w->comp_cap *= 2;
            w->zs.next_out = w->comp + used;
            w->zs.avail_out = (uInt)(w->comp_cap - used);
        }
        int zr = deflate(&w->zs, flush);
        if (zr == Z_STREAM_ERROR) {
            w->failed = 1;
            return es_fail(err, ES_EIO, "trace: zlib: deflate failed");
        }
        if (flush == Z_FINISH ? zr == Z_STREAM_END : w->zs.avail_in == 0 && w->zs.avail_out != 0)
            return ES_OK;
    }
}

static void bb_varint(bbuf *b, uint64_t v)
{
    uint8_t *q = bb_grow(b, varint_len(v));
    if (q) put_varint(q, v);
}

/* An epoch difference as an unsigned varint value (zigzag: 0, -1, 1, -2 ... -> 0, 1, 2, 3). */
static uint64_t zigzag(int64_t d)
{
    return ((uint64_t)d << 1) ^ (uint64_t)(d >> 63);
}

/* Build the chunk's columns, compress its four sections as one zlib stream - each section in
 * deflate blocks of its own, so that tags, gaps, bitmaps and columns each get their own
 * Huffman tables - and write the chunk out (header, payload). The next chunk starts a new
 * zlib stream: chunks are independent so any one can be read or lost alone. */
static int finish_chunk(trace_writer *w, es_err *err)
{
    if (w->ck_records == 0) return ES_OK;
    uint32_t n = w->ck_records;
    bbuf *d = &w->cols;
    d->len = 0;
    for (uint32_t i = 0; i < n; i++)
        bb_varint(d, i ? w->c_it[i] - w->c_it[i - 1] - 1 : w->c_it[0] - w->ck_first);
    for (uint32_t i = 0; i < n; i++)
        bb_varint(d, zigzag((int64_t)w->c_ep[i] - (i ? (int64_t)w->c_ep[i - 1] : 0)));
    uint8_t *q = bb_grow(d, 12 * (size_t)n);
    if (q) {
        for (uint32_t i = 0; i < n; i++) {
            uint64_t lrbits;
            uint32_t lossbits;
            memcpy(&lrbits, &w->c_lr[i], 8);
            memcpy(&lossbits, &w->c_loss[i], 4);
            for (int k = 0; k < 8; k++)
                q[(size_t)k * n + i] = (uint8_t)(lrbits >> (8 * k));
            for (int k = 0; k < 4; k++)
                q[(size_t)(8 + k) * n + i] = (uint8_t)(lossbits >> (8 * k));
        }
    }
    uint32_t dlen = (uint32_t)d->len;
    for (int k = 0; k < 3; k++)
        bb_u32(d, (uint32_t)w->sec[k].len);
    bb_u32(d, dlen);
    if (d->oom || w->sec[0].oom || w->sec[1].oom || w->sec[2].oom) {
        w->failed = 1;
        return es_fail(err, ES_ENOMEM, "out of memory");
    }
    uint64_t raw = w->sec[0].len + w->sec[1].len + w->sec[2].len + d->len;
    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
    w->zs.next_out = w->comp;
    w->zs.avail_out = (uInt)w->comp_cap;
    for (int k = 0; k < 3; k++) {
        if (!w->sec[k].len) continue;
        crc = (uint32_t)crc32(crc, w->sec[k].p, (uInt)w->sec[k].len);
        ES_TRY(zfeed(w, w->sec[k].p, w->sec[k].len, Z_BLOCK, err));
    }
    crc = (uint32_t)crc32(crc, d->p, (uInt)d->len);
    ES_TRY(zfeed(w, d->p, d->len, Z_FINISH, err));
    size_t clen = w->comp_cap - w->zs.avail_out;
    uint8_t h[CHUNK_HDR];
    memcpy(h, CHUNK_MAGIC, 4);
    put_u32(h + 4, w->ck_index);
    put_u32(h + 8, n);
    put_u64(h + 12, w->ck_first);
    put_u64(h + 20, w->ck_last);
    put_u32(h + 28, (uint32_t)clen);
    put_u32(h + 32, (uint32_t)raw);
    put_u32(h + 36, crc);
    put_u32(h + 40, trace_crc32(h, 40));
    /* One fflush per chunk: a crash then loses at most the chunk being filled. */
    if (fwrite(h, 1, CHUNK_HDR, w->fp) != CHUNK_HDR || fwrite(w->comp, 1, clen, w->fp) != clen ||
        fflush(w->fp) != 0)
        return wr_io(w, err);
    w->raw += raw;
    w->compb += clen;
    w->ck_index++;
    w->ck_records = 0;
    for (int k = 0; k < 3; k++)
        w->sec[k].len = 0;
    deflateReset(&w->zs);
    return ES_OK;
}

/* The sparse form of a mask at p: varint count, first index, then the gaps minus one. Stops
 * and returns NULL as soon as it would reach `limit` (then the bitmap is no larger). */
static uint8_t *encode_sparse(const trace_mask *m, uint32_t g, uint64_t cnt, uint8_t *p,
                              const uint8_t *limit)
{
    p += put_varint(p, cnt);
    uint64_t prev = 0, j = 0;
    uint32_t i = 0, q = 0;
    for (;;) {
        uint64_t idx;
        if (m->indices) {
            if (q == m->count) break;
            idx = m->indices[q++];
        } else if (m->bits) {
            i = trace_mask_next(m->bits, g, j ? (uint32_t)prev + 1 : 0);
            if (i >= g) break;
            idx = i;
        } else {
            while (i < g && !m->flags[i])
                i++;
            if (i >= g) break;
            idx = i++;
        }
        uint64_t gap = j ? idx - prev - 1 : idx;
        if (p + varint_len(gap) >= limit) return NULL;
        p += put_varint(p, gap);
        prev = idx;
        j++;
    }
    return p;
}

/* Encode layer l's mask at *pp (room: 1 + 5 + ceil(G/8) bytes): none or all when the count
 * says so, else the sparse list if it is strictly smaller than the bitmap, else the bitmap.
 * Validates the mask first, so a rejected record writes nothing. */
static int encode_mask(trace_writer *w, uint32_t l, const trace_mask *m, uint8_t **pp,
                       uint8_t *enc_out, uint32_t *count_out, es_err *err)
{
    uint32_t g = w->g[l];
    size_t nb = bitmap_bytes(g);
    uint8_t *p = *pp;
    const char *nm = w->names[l];
    uint64_t cnt = 0;
    if ((m->bits != NULL) + (m->flags != NULL) + (m->indices != NULL) > 1)
        return es_fail(err, ES_EINVAL, "trace: layer %s: give bits, flags or indices, not several",
                       nm);
    if (m->bits) {
        if (m->bits[nb - 1] & tail_mask(g))
            return es_fail(err, ES_EINVAL, "trace: layer %s: mask has bits past block %u", nm,
                           g - 1);
        cnt = trace_popcount(m->bits, nb);
    } else if (m->flags) {
        for (uint32_t i = 0; i < g; i++)
            cnt += m->flags[i] != 0;
    } else {
        cnt = m->count;
        if (m->indices) {
            for (uint32_t j = 0; j < m->count; j++)
                if (m->indices[j] >= g || (j && m->indices[j] <= m->indices[j - 1]))
                    return es_fail(err, ES_EINVAL,
                                   "trace: layer %s: index %u (position %u) is out of range or "
                                   "out of order",
                                   nm, m->indices[j], j);
        } else if (cnt != 0 && cnt != g) {
            return es_fail(err, ES_EINVAL, "trace: layer %s: %llu blocks written but no mask given",
                           nm, (unsigned long long)cnt);
        }
    }
    *count_out = (uint32_t)cnt;
    uint8_t enc = cnt == 0 ? ENC_NONE : cnt == g ? ENC_ALL : ENC_SPARSE;
    *p++ = enc;
    if (enc == ENC_SPARSE) {
        /* Every index costs at least a byte, so with more indices than bitmap bytes the
         * sparse form cannot win: skip the attempt. */
        uint8_t *q = cnt < nb ? encode_sparse(m, g, cnt, p, p + varint_len(cnt) + nb) : NULL;
        if (q) {
            p = q;
        } else {
            enc = ENC_BITMAP;
            p[-1] = ENC_BITMAP;
            p += put_varint(p, cnt);
            if (m->bits) {
                memcpy(p, m->bits, nb);
            } else {
                memset(p, 0, nb);
                if (m->indices) {
                    for (uint32_t q2 = 0; q2 < m->count; q2++)
                        p[m->indices[q2] >> 3] |= (uint8_t)(1u << (m->indices[q2] & 7));
                } else {
                    for (uint32_t i = 0; i < g; i++)
                        if (m->flags[i]) p[i >> 3] |= (uint8_t)(1u << (i & 7));
                }
            }
            p += nb;
        }
    }
    *enc_out = enc;
    *pp = p;
    return ES_OK;
}

/* Count the writes of one encoded mask per block (after the whole record is valid, so a
 * rejected record leaves the counters alone). */
static void count_blocks(trace_writer *w, uint32_t l, const uint8_t *enc_at)
{
    uint32_t g = w->g[l], *bc = w->counts[l];
    const uint8_t *p = enc_at;
    uint8_t enc = *p++;
    if (enc == ENC_ALL) {
        for (uint32_t i = 0; i < g; i++)
            bc[i]++;
    } else if (enc == ENC_BITMAP) {
        uint64_t cnt = 0;
        p += get_varint(p, p + 10, &cnt);
        for (uint32_t i = trace_mask_next(p, g, 0); i < g; i = trace_mask_next(p, g, i + 1))
            bc[i]++;
    } else if (enc == ENC_SPARSE) {
        uint64_t cnt = 0, idx = 0, d = 0;
        p += get_varint(p, p + 10, &cnt);
        for (uint64_t j = 0; j < cnt; j++) {
            p += get_varint(p, p + 10, &d);
            idx = j ? idx + d + 1 : d;
            bc[idx]++;
        }
    }
}

int trace_writer_append(trace_writer *w, const trace_iter *it, const trace_mask *masks, es_err *err)
{
    if (w->failed) return es_fail(err, ES_ESTATE, "%s: an earlier write failed", w->path);
    if (w->records && it->iteration <= w->last)
        return es_fail(err, ES_EINVAL, "trace: iteration %llu does not follow iteration %llu",
                       (unsigned long long)it->iteration, (unsigned long long)w->last);
    uint8_t *p = w->rec;
    uint64_t encs[4] = {0, 0, 0, 0};
    for (uint32_t l = 0; l < w->n_layers; l++) {
        uint8_t e = ENC_NONE;
        w->layer_at[l] = p;
        ES_TRY(encode_mask(w, l, &masks[l], &p, &e, &w->cnts[l], err));
        encs[e]++;
    }
    size_t len = (size_t)(p - w->rec);
    /* A chunk ends before the record that would take its data past chunk_bytes (counting the
     * record's columns and the section sizes that close the data), or when it holds
     * chunk_records. */
    if (w->ck_records > 0) {
        uint32_t pe = w->c_ep[w->ck_records - 1];
        uint64_t cols = varint_len(it->iteration - w->ck_last - 1) +
                        varint_len(zigzag((int64_t)it->epoch - pe)) + 12;
        uint64_t total =
            w->sec[0].len + w->sec[1].len + w->sec[2].len + len + w->ck_cols + cols + V2_CLOSE;
        if (total > w->chunk_bytes || w->ck_records >= w->chunk_records)
            ES_TRY(finish_chunk(w, err));
    }
    if (w->ck_records == 0) {
        w->ck_first = it->iteration;
        w->ck_cols = 0;
    }
    uint32_t i = w->ck_records;
    w->ck_cols += varint_len(i ? it->iteration - w->ck_last - 1 : 0) +
                  varint_len(zigzag((int64_t)it->epoch - (i ? (int64_t)w->c_ep[i - 1] : 0))) + 12;
    /* The record's masks go to the chunk's sections: tags and counts to the first, the sparse
     * gaps to the second, bitmaps to the third (docs/trace-format.md, "Chunks"). */
    for (uint32_t l = 0; l < w->n_layers; l++) {
        const uint8_t *at = w->layer_at[l], *to = l + 1 < w->n_layers ? w->layer_at[l + 1] : p;
        size_t head = *at == ENC_BITMAP || *at == ENC_SPARSE ? 1 + varint_len(w->cnts[l]) : 1;
        bb_bytes(&w->sec[0], at, head);
        if (*at == ENC_SPARSE) bb_bytes(&w->sec[1], at + head, (size_t)(to - at) - head);
        if (*at == ENC_BITMAP) bb_bytes(&w->sec[2], at + head, (size_t)(to - at) - head);
    }
    if (w->sec[0].oom || w->sec[1].oom || w->sec[2].oom) {
        w->failed = 1;
        return es_fail(err, ES_ENOMEM, "out of memory");
    }
    w->c_it[i] = it->iteration;
    w->c_ep[i] = it->epoch;
    w->c_lr[i] = it->lr;
    w->c_loss[i] = it->loss;
    w->ck_records++;
    w->ck_last = it->iteration;
    if (w->records == 0) w->first = it->iteration;
    w->last = it->iteration;
    w->records++;
    for (int e = 0; e < 4; e++)
        w->enc[e] += encs[e];
    for (uint32_t l = 0; l < w->n_layers; l++) {
        w->writes[l] += w->cnts[l];
        count_blocks(w, l, w->layer_at[l]);
    }
    return ES_OK;
}

int trace_writer_flush(trace_writer *w, es_err *err)
{
    if (w->failed) return es_fail(err, ES_ESTATE, "%s: an earlier write failed", w->path);
    return finish_chunk(w, err);
}

uint64_t trace_writer_records(const trace_writer *w)
{
    return w->records;
}

static int write_footer(trace_writer *w, const uint64_t *max_count, es_err *err)
{
    bbuf b = {0};
    bb_bytes(&b, FOOT_MAGIC, 4);
    bb_u32(&b, 0);
    bb_u64(&b, w->records);
    bb_u64(&b, w->first);
    bb_u64(&b, w->last);
    bb_u32(&b, w->ck_index);
    bb_u64(&b, w->raw);
    bb_u64(&b, w->compb);
    for (int i = 0; i < 4; i++)
        bb_u64(&b, w->enc[i]);
    bb_u32(&b, w->n_layers);
    for (uint32_t l = 0; l < w->n_layers; l++) {
        uint64_t mx = 0, touched = 0;
        for (uint32_t i = 0; i < w->g[l]; i++) {
            mx = ES_MAX(mx, w->counts[l][i]);
            touched += w->counts[l][i] != 0;
        }
        bb_u64(&b, w->writes[l]);
        bb_u64(&b, mx);
        bb_u64(&b, touched);
        bb_u64(&b, max_count ? max_count[l] : TRACE_NO_COUNT);
    }
    if (b.oom) {
        free(b.p);
        return es_fail(err, ES_ENOMEM, "out of memory");
    }
    put_u32(b.p + 4, (uint32_t)(b.len - 8));
    bb_u32(&b, trace_crc32(b.p, b.len));
    off_t off = ftello(w->fp);
    bb_u64(&b, (uint64_t)off);
    bb_bytes(&b, END_MAGIC, 8);
    int rc = ES_OK;
    if (b.oom)
        rc = es_fail(err, ES_ENOMEM, "out of memory");
    else if (off < 0 || fwrite(b.p, 1, b.len, w->fp) != b.len)
        rc = wr_io(w, err);
    free(b.p);
    return rc;
}

int trace_writer_close(trace_writer *w, const uint64_t *max_count, es_err *err)
{
    if (!w) return ES_OK;
    int rc = w->failed ? es_fail(err, ES_ESTATE, "%s: an earlier write failed", w->path) : ES_OK;
    if (rc == ES_OK) rc = finish_chunk(w, err);
    if (rc == ES_OK) rc = write_footer(w, max_count, err);
    if (rc == ES_OK && (fflush(w->fp) != 0 || fsync(fileno(w->fp)) != 0)) rc = wr_io(w, err);
    if (rc == ES_OK) {
        int cr = fclose(w->fp);
        w->fp = NULL;
        if (cr != 0) rc = wr_io(w, err);
    }
    if (rc == ES_OK && w->tmp && rename(w->tmp, w->path) != 0)
        rc = es_fail(err, ES_EIO, "%s: rename failed: %s", w->path, strerror(errno));
    if (rc < 0) {
        trace_writer_abort(w);
        return rc;
    }
    trace_writer_free(w);
    return ES_OK;
}

void trace_writer_abort(trace_writer *w)
{
    if (!w) return;
    if (w->fp) fclose(w->fp);
    if (w->tmp) remove(w->tmp);
    trace_writer_free(w);
}

/* ---- resume ------------------------------------------------------------------------------- */

static int same_header(const trace_header *a, const trace_header *b)
{
    const char *na = a->network ? a->network : "", *nb = b->network ? b->network : "";
    if (strcmp(na, nb) || strcmp(a->config_hash, b->config_hash) || a->n_layers != b->n_layers)
        return 0;
    for (uint32_t l = 0; l < a->n_layers; l++)
        if (strcmp(a->layers[l].name, b->layers[l].name) ||
            a->layers[l].blocks != b->layers[l].blocks)
            return 0;
    return 1;
}

int trace_writer_resume(const char *path, const trace_header *hdr, const trace_writer_options *opt,
                        uint64_t last_iteration, trace_writer **out, es_err *err)
{
    *out = NULL;
    ES_TRY(trace_header_validate(hdr, err));
    int direct = opt && opt->direct;
    size_t n = strlen(path) + 6;
    char *file = malloc(n);
    if (!file) return es_fail(err, ES_ENOMEM, "out of memory");
    snprintf(file, n, direct ? "%s" : "%s.part", path);
    trace_reader_options ro = {1};
    trace_reader *r = NULL;
    trace_writer *w = NULL;
    int rc = trace_reader_open(file, &ro, &r, err);
    if (rc < 0) goto done;
    if (r->hdr.version_major != TRACE_VERSION_MAJOR) {
        rc = es_fail(err, ES_EFORMAT,
                     "%s: recorded in trace format %u.%u, and this build writes %d.x; cannot "
                     "continue it (start the trace again)",
                     file, r->hdr.version_major, r->hdr.version_minor, TRACE_VERSION_MAJOR);
        goto done;
    }
    if (!same_header(&r->hdr, hdr)) {
        rc = es_fail(err, ES_EFORMAT,
                     "%s: recorded with another network, configuration or mapping; cannot "
                     "continue it",
                     file);
        goto done;
    }
    uint64_t keep = r->hdr.header_bytes;
    if (last_iteration != TRACE_NO_COUNT) {
        trace_record rec;
        int found = 0;
        while ((rc = trace_reader_next(r, &rec, err)) > 0) {
            if (rec.iteration > last_iteration) break;
            if (rec.iteration == last_iteration) {
                found = r->recs_left == 0;
                keep = r->chunk_end;
                break;
            }
        }
        if (rc < 0) goto done;
        if (!found) {
            rc = es_fail(err, ES_EFORMAT, "%s: cannot continue after iteration %llu: %s", file,
                         (unsigned long long)last_iteration,
                         r->records && r->last >= last_iteration
                             ? "it does not end a chunk (flush the trace at checkpoints)"
                             : "the intact trace ends before it");
            goto done;
        }
    }
    rc = trace_writer_alloc(hdr, path, opt, r->hdr.chunk_bytes_max, r->hdr.chunk_records_max, &w,
                            err);
    if (rc < 0) goto done;
    if (last_iteration != TRACE_NO_COUNT) {
        w->records = r->records;
        w->first = r->first;
        w->last = r->last;
        w->raw = r->raw;
        w->compb = r->comp;
        memcpy(w->enc, r->enc, sizeof w->enc);
        w->ck_index = r->next_chunk;
        for (uint32_t l = 0; l < w->n_layers; l++) {
            w->writes[l] = r->writes[l];
            memcpy(w->counts[l], r->block_counts[l], (size_t)w->g[l] * sizeof **w->counts);
        }
    }
    trace_reader_close(r);
    r = NULL;
    if (truncate(file, (off_t)keep) != 0) {
        rc = es_fail(err, ES_EIO, "%s: cannot truncate: %s", file, strerror(errno));
        goto done;
    }
    w->fp = fopen(file, "r+b");
    if (!w->fp || fseeko(w->fp, 0, SEEK_END) != 0) {
        rc = es_fail(err, ES_EIO, "%s: cannot reopen: %s", file, strerror(errno));
        goto done;
    }
    *out = w;
    w = NULL;
    rc = ES_OK;
done:
    trace_reader_close(r);
    if (w) trace_writer_free(w);
    free(file);
    return rc;
}
