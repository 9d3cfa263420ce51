/* trace_read.c - the streaming trace reader: header and footer parsing, chunk loading and
 * mask decoding, its damage reports and salvage mode, seeking; every byte it holds counted. */
#define _POSIX_C_SOURCE 200809L
#include "trace_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>


/* Every block the reader holds is counted (its size in a header before it). Zeroed blocks come
   from calloc, not malloc + memset: a layer's block arrays are sized by the header (up to 2^24
   blocks in a bare layer, 78 MB), and a large calloc is fresh zero pages touched only where
   records set them; memset touched every page, which made opening a trace whose header claims
   many blocks cost up to 0.6 s even when it then failed at the footer. */
static void *mem_get(trace_mem *m, size_t n, int zeroed)
{
    size_t bytes = sizeof(mem_hdr) + (n ? n : 1);
    mem_hdr *h = zeroed ? calloc(1, bytes) : malloc(bytes);
    if (!h) return NULL;
    h->n = n;
    m->now += n;
    if (m->now > m->peak) m->peak = m->now;
    return h + 1;
}

static void *mem_alloc(trace_mem *m, size_t n)
{
    return mem_get(m, n, 0);
}

static void *mem_calloc(trace_mem *m, size_t n)
{
    return mem_get(m, n, 1);
}

static void mem_free(trace_mem *m, void *p)
{
    if (!p) return;
    mem_hdr *h = (mem_hdr *)p - 1;
    m->now -= h->n;
    free(h);
}

static voidpf zmem_alloc(voidpf opaque, uInt items, uInt size)
{
    return mem_alloc(opaque, (size_t)items * size);
}

static void zmem_free(voidpf opaque, voidpf p)
{
    mem_free(opaque, p);
}

/* ---- reader ------------------------------------------------------------------------------ */

static int rd_io(trace_reader *r, es_err *err)
{
    return es_fail(err, ES_EIO, "%s: read failed: %s", r->path, strerror(errno));
}

/* Read exactly n bytes at the current position; returns the count actually read (short at
 * EOF), or -1 on an I/O error. */
static long rd_bytes(trace_reader *r, void *dst, size_t n)
{
    size_t got = fread(dst, 1, n, r->fp);
    if (got < n && ferror(r->fp)) return -1;
    r->pos += got;
    return (long)got;
}

static int rd_seek(trace_reader *r, uint64_t off)
{
    if (fseeko(r->fp, (off_t)off, SEEK_SET) != 0) return -1;
    r->pos = off;
    return 0;
}

/* "; the first N iterations (A-B) are intact" - what a damage message says survives. */
static void intact_phrase(const trace_reader *r, char *buf, size_t len)
{
    if (r->seeked)
        snprintf(buf, len, "%s", "");
    else if (r->records == 0)
        snprintf(buf, len, "; no iteration is intact");
    else
        snprintf(buf, len, "; the first %llu iterations (%llu-%llu) are intact",
                 (unsigned long long)r->records, (unsigned long long)r->first,
                 (unsigned long long)r->last);
}

/* Damage found while streaming: in salvage mode it ends the stream (return 0) and is kept
 * for trace_reader_damage; otherwise it is the error. Either way the message names the file,
 * the place (chunk, iterations) and what survives. */
static int rd_damage(trace_reader *r, es_err *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int rd_damage(trace_reader *r, es_err *err, const char *fmt, ...)
{
    char what[600], intact[160], msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    intact_phrase(r, intact, sizeof intact);
    int salvageable = !r->seeked && r->records > 0;
    snprintf(msg, sizeof msg, "%s: %s%s%s", r->path, what, intact,
             r->salvage || !salvageable ? "" : " (use --salvage to read them)");
    if (r->salvage) {
        free(r->damage);
        r->damage = es_strdup(msg);
        r->state = RS_DONE;
        return 0;
    }
    r->state = RS_FAILED;
    return es_fail(err, ES_EFORMAT, "%s", msg);
}

/* "chunk 12 (iterations 4096-4447)" */
static const char *ck_name(const chunk_info *c, char *buf, size_t len)
{
    snprintf(buf, len, "chunk %u (iterations %llu-%llu)", c->index, (unsigned long long)c->first,
             (unsigned long long)c->last);
    return buf;
}

/* A bounded reader over a header or footer body. */
typedef struct cur {
    const uint8_t *p, *end;
    int bad;
} cur;

static const uint8_t *cur_take(cur *c, size_t n)
{
    if (c->bad || (size_t)(c->end - c->p) < n) {
        c->bad = 1;
        return NULL;
    }
    const uint8_t *q = c->p;
    c->p += n;
    return q;
}
static uint8_t cur_u8(cur *c)
{
    const uint8_t *q = cur_take(c, 1);
    return q ? *q : 0;
}
static uint32_t cur_u32(cur *c)
{
    const uint8_t *q = cur_take(c, 4);
    return q ? get_u32(q) : 0;
}
static uint64_t cur_u64(cur *c)
{
    const uint8_t *q = cur_take(c, 8);
    return q ? get_u64(q) : 0;
}

/* Copy a length-prefixed string into the string block at *sp (which has room: the block is
 * as large as the body, and every string's bytes come from the body). */
static const char *cur_str(cur *c, char **sp)
{
    uint32_t n = cur_u32(c);
    const uint8_t *q = cur_take(c, n);
    if (!q) return "";
    char *s = *sp;
    memcpy(s, q, n);
    s[n] = '\0';
    *sp += n + 1;
    return s;
}

static int header_parse(trace_reader *r, const uint8_t *body, size_t n, es_err *err)
{
    cur c = {body, body + n, 0};
    /* Strings: at most n bytes of text plus one NUL per string; a string costs 4 length bytes,
     * so n + n/4 + 8 always suffices. */
    r->strings = mem_alloc(&r->mem, n + n / 4 + 8);
    if (!r->strings) return es_fail(err, ES_ENOMEM, "out of memory");
    char *sp = r->strings;
    trace_header *h = &r->hdr;
    h->producer = cur_str(&c, &sp);
    h->network = cur_str(&c, &sp);
    h->dataset = cur_str(&c, &sp);
    h->seed = cur_u64(&c);
    const uint8_t *hash = cur_take(&c, 16);
    if (hash) memcpy(h->config_hash, hash, 16);
    h->config_hash[16] = '\0';
    h->chunk_bytes_max = cur_u32(&c);
    h->chunk_records_max = cur_u32(&c);
    h->config_yaml = cur_str(&c, &sp);
    h->n_layers = cur_u32(&c);
    if (c.bad) goto bad;
    if (h->n_layers == 0 || h->n_layers > MAX_LAYERS || (size_t)(c.end - c.p) < h->n_layers * 41ull)
        return es_fail(err, ES_EFORMAT, "%s: bad header: %u layers", r->path, h->n_layers);
    r->layers = mem_calloc(&r->mem, h->n_layers * sizeof *r->layers);
    r->g = mem_calloc(&r->mem, h->n_layers * sizeof *r->g);
    if (!r->layers || !r->g) return es_fail(err, ES_ENOMEM, "out of memory");
    uint64_t total = 0;
    for (uint32_t l = 0; l < h->n_layers; l++) {
        trace_layer *L = &r->layers[l];
        L->name = cur_str(&c, &sp);
        L->k_rows = cur_u32(&c);
        L->n_cols = cur_u32(&c);
        L->row_tiles = cur_u32(&c);
        L->col_tiles = cur_u32(&c);
        L->slices = cur_u32(&c);
        L->cells_per_slice = cur_u32(&c);
        L->n_w = cur_u32(&c);
        L->granularity = cur_u8(&c);
        L->blocks = cur_u32(&c);
        L->crossbars = cur_u32(&c);
        if (c.bad) goto bad;
        if (L->blocks == 0)
            return es_fail(err, ES_EFORMAT, "%s: bad header: layer %s has no blocks", r->path,
                           L->name);
        if (L->granularity > TRACE_GRAN_WEIGHT)
            return es_fail(err, ES_EFORMAT, "%s: bad header: layer %s: bad granularity %u",
                           r->path, L->name, L->granularity);
        ES_TRY(trace_layer_check(L, r->path, err));
        r->g[l] = L->blocks;
        total += L->blocks;
    }
    ES_TRY(trace_blocks_check(total, r->path, err));
    h->layers = r->layers;
    h->n_kinds = cur_u32(&c);
    if (c.bad || h->n_kinds > 256 || (size_t)(c.end - c.p) < h->n_kinds * 4ull) goto bad;
    r->kind_names = mem_calloc(&r->mem, (h->n_kinds + 1) * sizeof *r->kind_names);
    if (!r->kind_names) return es_fail(err, ES_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < h->n_kinds; i++)
        r->kind_names[i] = cur_str(&c, &sp);
    h->kind_names = r->kind_names;
    h->n_count_names = cur_u32(&c);
    if (c.bad || h->n_count_names > 255 || (size_t)(c.end - c.p) < h->n_count_names * 4ull)
        goto bad;
    r->count_names = mem_calloc(&r->mem, (h->n_count_names + 1) * sizeof *r->count_names);
    if (!r->count_names) return es_fail(err, ES_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < h->n_count_names; i++)
        r->count_names[i] = cur_str(&c, &sp);
    h->count_names = r->count_names;
    h->n_ops = cur_u32(&c);
    if (c.bad || h->n_ops > MAX_OPS || (size_t)(c.end - c.p) < h->n_ops * 7ull) goto bad;
    /* Counts: every u64 takes 8 body bytes, so the remaining body bounds their number. */
    size_t max_counts = (size_t)(c.end - c.p) / 8 + 1;
    r->ops = mem_calloc(&r->mem, (h->n_ops + 1) * sizeof *r->ops);
    r->op_counts = mem_calloc(&r->mem, max_counts * sizeof *r->op_counts);
    if (!r->ops || !r->op_counts) return es_fail(err, ES_ENOMEM, "out of memory");
    size_t used = 0;
    for (uint32_t i = 0; i < h->n_ops; i++) {
        trace_op *o = &r->ops[i];
        o->layer = cur_u32(&c);
        o->phase = cur_u8(&c);
        o->kind = cur_u8(&c);
        o->n = cur_u8(&c);
        if (c.bad) goto bad;
        if ((o->layer >= h->n_layers && o->layer != TRACE_NO_LAYER) ||
            o->phase > TRACE_PHASE_UPDATE || o->kind >= h->n_kinds || o->n > h->n_count_names ||
            used + o->n > max_counts)
            return es_fail(err, ES_EFORMAT, "%s: bad header: op %u is out of range", r->path, i);
        o->counts = r->op_counts + used;
        for (unsigned j = 0; j < o->n; j++)
            r->op_counts[used++] = cur_u64(&c);
    }
    h->ops = r->ops;
    if (c.bad) goto bad;
    h->epoch_images = 0;
    if (r->major == 2 && h->version_minor >= 1) {
        h->epoch_images = cur_u64(&c);
        if (c.bad) goto bad;
        if (h->epoch_images > MAX_EPOCH_IMAGES)
            return es_fail(err, ES_EFORMAT, "%s: bad header: %" PRIu64 " images per epoch",
                           r->path, h->epoch_images);
    }
    /* Bytes left over belong to a newer minor version: ignored by design. */
    if (!trace_hex16(h->config_hash))
        return es_fail(err, ES_EFORMAT, "%s: bad header: config hash is not 16 hex digits",
                       r->path);
    if (h->chunk_bytes_max == 0 || h->chunk_bytes_max > MAX_CHUNK_BYTES ||
        h->chunk_records_max == 0 || h->chunk_records_max > MAX_CHUNK_RECORDS)
        return es_fail(err, ES_EFORMAT, "%s: bad header: chunk limits %u bytes, %u records",
                       r->path, h->chunk_bytes_max, h->chunk_records_max);
    uint64_t rb = trace_record_bound(r->g, h->n_layers);
    r->chunk_limit = ES_MAX((uint64_t)h->chunk_bytes_max, rb);
    if (r->chunk_limit > MAX_CHUNK_BYTES)
        return es_fail(err, ES_EFORMAT, "%s: bad header: records of %llu bytes are too large",
                       r->path, (unsigned long long)rb);
    return ES_OK;
bad:
    return es_fail(err, ES_EFORMAT, "%s: bad header: a field runs past the header's end", r->path);
}

static int read_header(trace_reader *r, es_err *err)
{
    uint8_t pre[HDR_PREFIX];
    long got = rd_bytes(r, pre, sizeof pre);
    if (got < 0) return rd_io(r, err);
    if (got >= 8 && memcmp(pre, FILE_MAGIC, 8) != 0)
        return es_fail(err, ES_EFORMAT, "%s: not an ESSIM trace (bad magic)", r->path);
    if (got < HDR_PREFIX)
        return es_fail(err, ES_EFORMAT, "%s: truncated in the header (file has %ld bytes)", r->path,
                       got);
    unsigned major = get_u16(pre + 8), minor = get_u16(pre + 10);
    if (major < 1 || major > TRACE_VERSION_MAJOR)
        return es_fail(err, ES_EFORMAT,
                       "%s: trace format version %u.%u is not supported (this build reads 1.x "
                       "to %d.x)",
                       r->path, major, minor, TRACE_VERSION_MAJOR);
    r->major = major;
    r->hdr.version_major = (uint16_t)major;
    r->hdr.version_minor = (uint16_t)minor;
    r->hdr.flags = get_u32(pre + 12);
    uint32_t blen = get_u32(pre + 16);
    if (blen > MAX_HEADER_BODY || (uint64_t)HDR_PREFIX + blen + 4 > r->file_size) {
        if (blen <= MAX_HEADER_BODY)
            return es_fail(err, ES_EFORMAT,
                           "%s: truncated in the header (file has %llu bytes, header needs %llu)",
                           r->path, (unsigned long long)r->file_size,
                           (unsigned long long)HDR_PREFIX + blen + 4);
        return es_fail(err, ES_EFORMAT, "%s: bad header length %u", r->path, blen);
    }
    uint8_t *buf = mem_alloc(&r->mem, (size_t)blen + HDR_PREFIX + 4);
    if (!buf) return es_fail(err, ES_ENOMEM, "out of memory");
    memcpy(buf, pre, HDR_PREFIX);
    got = rd_bytes(r, buf + HDR_PREFIX, (size_t)blen + 4);
    int rc = ES_OK;
    if (got < 0)
        rc = rd_io(r, err);
    else if ((size_t)got < (size_t)blen + 4)
        rc = es_fail(err, ES_EFORMAT, "%s: truncated in the header", r->path);
    else if (!CRC_MATCHES(get_u32(buf + HDR_PREFIX + blen), trace_crc32(buf, (size_t)HDR_PREFIX + blen)))
        rc = es_fail(err, ES_EFORMAT, "%s: header CRC mismatch (the header is corrupt)", r->path);
    else
        rc = header_parse(r, buf + HDR_PREFIX, blen, err);
    mem_free(&r->mem, buf);
    r->hdr.header_bytes = (uint64_t)HDR_PREFIX + blen + 4;
    return rc;
}

/* Parse a footer body (after "FOOT" and its length) into r->foot. */
static int footer_parse(trace_reader *r, const uint8_t *body, size_t n, char *why, size_t wlen)
{
    cur c = {body, body + n, 0};
    trace_footer *f = &r->foot;
    f->records = cur_u64(&c);
    f->first_iteration = cur_u64(&c);
    f->last_iteration = cur_u64(&c);
    f->chunks = cur_u32(&c);
    f->raw_bytes = cur_u64(&c);
    f->compressed_bytes = cur_u64(&c);
    for (int i = 0; i < 4; i++)
        f->encodings[i] = cur_u64(&c);
    uint32_t nl = cur_u32(&c);
    if (c.bad || nl != r->hdr.n_layers) {
        snprintf(why, wlen, "footer is malformed (%u layers, header has %u)", nl, r->hdr.n_layers);
        return -1;
    }
    if (!r->foot_arrays) {
        r->foot_arrays = mem_alloc(&r->mem, 4 * (size_t)nl * sizeof *r->foot_arrays);
        if (!r->foot_arrays) {
            snprintf(why, wlen, "out of memory");
            return -1;
        }
    }
    uint64_t *a = r->foot_arrays;
    for (uint32_t l = 0; l < nl; l++) {
        a[l] = cur_u64(&c);
        a[nl + l] = cur_u64(&c);
        a[2 * nl + l] = cur_u64(&c);
        a[3 * nl + l] = cur_u64(&c);
    }
    if (c.bad) {
        snprintf(why, wlen, "footer is malformed (shorter than its layer table)");
        return -1;
    }
    f->writes = a;
    f->max_trace = a + nl;
    f->touched = a + 2 * nl;
    f->max_count = a + 3 * nl;
    r->have_footer = 1;
    return 0;
}

/* Read the footer at `off` (its "FOOT" magic) and the trailer after it; the file must end
 * there. Returns 0, or -1 with a description in why. */
static int read_footer_at(trace_reader *r, uint64_t off, char *why, size_t wlen)
{
    uint8_t pre[8];
    if (rd_seek(r, off) != 0 || rd_bytes(r, pre, 8) != 8) {
        snprintf(why, wlen, "truncated in the footer");
        return -1;
    }
    if (memcmp(pre, FOOT_MAGIC, 4) != 0) {
        snprintf(why, wlen, "bad footer magic at offset %llu", (unsigned long long)off);
        return -1;
    }
    uint32_t blen = get_u32(pre + 4);
    if (off + 8 + (uint64_t)blen + 4 + TRAILER > r->file_size) {
        snprintf(why, wlen, "truncated in the footer");
        return -1;
    }
    uint8_t *buf = mem_alloc(&r->mem, (size_t)blen + 12);
    if (!buf) {
        snprintf(why, wlen, "out of memory");
        return -1;
    }
    memcpy(buf, pre, 8);
    int rc = -1;
    uint8_t tr[TRAILER];
    if (rd_bytes(r, buf + 8, (size_t)blen + 4) != (long)blen + 4 ||
        rd_bytes(r, tr, TRAILER) != TRAILER)
        snprintf(why, wlen, "truncated in the footer");
    else if (!CRC_MATCHES(get_u32(buf + 8 + blen), trace_crc32(buf, (size_t)blen + 8)))
        snprintf(why, wlen, "footer CRC mismatch (the footer is corrupt)");
    else if (memcmp(tr + 8, END_MAGIC, 8) != 0 || get_u64(tr) != off)
        snprintf(why, wlen, "bad trailer after the footer");
    else if (r->pos != r->file_size)
        snprintf(why, wlen, "%llu bytes after the end of the trace",
                 (unsigned long long)(r->file_size - r->pos));
    else
        rc = footer_parse(r, buf + 8, blen, why, wlen);
    mem_free(&r->mem, buf);
    return rc;
}

static void free_chunk_buffers(trace_reader *r)
{
    mem_free(&r->mem, r->cbuf);
    mem_free(&r->mem, r->ubuf);
    r->cbuf = r->ubuf = NULL;
    r->in_chunk = 0;
}

/* Read the chunk header at r->pos into *c. Returns 1 for a chunk, 0 when the footer magic is
 * there (r->pos left at it), or the rd_damage result (0 in salvage mode, <0 otherwise) with
 * r->state changed; callers tell the cases apart by r->state. */
static int read_chunk_header(trace_reader *r, chunk_info *c, es_err *err)
{
    uint8_t h[CHUNK_HDR];
    uint64_t at = r->pos;
    long got = rd_bytes(r, h, 4);
    if (got < 0) return rd_io(r, err);
    char prev[64];
    if (r->have_prev)
        snprintf(prev, sizeof prev, "after iteration %llu", (unsigned long long)r->prev_last);
    else
        snprintf(prev, sizeof prev, "before the first iteration");
    if (got == 0 && r->next_chunk == 0)
        return rd_damage(r, err, "truncated after the header (no chunk, no footer)");
    if (got == 0)
        return rd_damage(r, err, "truncated after chunk %u (the footer is missing)",
                         r->next_chunk - 1);
    if (got == 4 && !memcmp(h, FOOT_MAGIC, 4)) {
        r->pos = at;
        return 0;
    }
    if (got < 4 || memcmp(h, CHUNK_MAGIC, 4) != 0) {
        if (got < 4) return rd_damage(r, err, "truncated in chunk %u %s", r->next_chunk, prev);
        return rd_damage(r, err, "chunk %u at offset %llu (%s): bad chunk magic (corrupt data)",
                         r->next_chunk, (unsigned long long)at, prev);
    }
    got = rd_bytes(r, h + 4, CHUNK_HDR - 4);
    if (got < 0) return rd_io(r, err);
    if (got < CHUNK_HDR - 4)
        return rd_damage(r, err, "truncated in chunk %u %s", r->next_chunk, prev);
    if (!CRC_MATCHES(get_u32(h + 40), trace_crc32(h, 40)))
        return rd_damage(r, err, "chunk %u at offset %llu (%s): chunk header CRC mismatch",
                         r->next_chunk, (unsigned long long)at, prev);
    /* Messages name a chunk by its position in the file; the stored index must agree. */
    uint32_t stored = get_u32(h + 4);
    c->index = r->next_chunk;
    c->records = get_u32(h + 8);
    c->first = get_u64(h + 12);
    c->last = get_u64(h + 20);
    c->csize = get_u32(h + 28);
    c->usize = get_u32(h + 32);
    c->crc = get_u32(h + 36);
    char nm[96];
    ck_name(c, nm, sizeof nm);
    if (stored != r->next_chunk)
        return rd_damage(r, err, "%s: its header says it is chunk %u (out of order)", nm, stored);
    if (c->records == 0 || c->records > r->hdr.chunk_records_max || c->last < c->first ||
        c->last - c->first < c->records - 1 || (r->have_prev && c->first <= r->prev_last))
        return rd_damage(r, err, "%s: bad record count or iteration range (%u records)", nm,
                         c->records);
    /* Every record takes at least its fixed fields and one tag byte per layer, and zlib
     * cannot shrink data by more than about 1032:1 - so a length that breaks either is
     * damage, caught before it sizes an allocation. */
    uint64_t min_rec = (r->major == 1 ? REC_FIXED : V2_FIXED_MIN) + r->hdr.n_layers;
    uint32_t close = r->major == 1 ? V1_CLOSE : V2_CLOSE;
    if (c->usize > r->chunk_limit || (uint64_t)c->usize < c->records * min_rec + close ||
        c->csize < 8 || (uint64_t)c->csize > compressBound(c->usize) + 64 ||
        (uint64_t)c->usize > (uint64_t)c->csize * 1040)
        return rd_damage(r, err, "%s: bad lengths (compressed %u, uncompressed %u, limit %llu)", nm,
                         c->csize, c->usize, (unsigned long long)r->chunk_limit);
    if (r->pos + c->csize > r->file_size)
        return rd_damage(r, err, "truncated in chunk %u %s", c->index, prev);
    return 1;
}

/* Where a record's masks are read from: tags and counts at *a, sparse gaps at *b, bitmaps at
 * *c, each with its end. In a 1.x chunk the three point at one cursor (a record is tag, count
 * and payload in a row); in 2.x they are the chunk's three mask sections. */
typedef struct mcur {
    const uint8_t **a, **b, **c;
    const uint8_t *ae, *be, *ce;
} mcur;

static mcur reader_mcur(trace_reader *r)
{
    mcur m;
    if (r->major == 1) {
        m.a = m.b = m.c = &r->ma;
        m.ae = m.be = m.ce = r->mae;
    } else {
        m.a = &r->ma, m.b = &r->mb, m.c = &r->mc;
        m.ae = r->mae, m.be = r->mbe, m.ce = r->mce;
    }
    return m;
}

/* Step over one record's masks (structure only: tags, counts, lengths); 0, or -1 if they do
 * not fit their sections. */
static int skip_record(const trace_reader *r, mcur *m)
{
    for (uint32_t l = 0; l < r->hdr.n_layers; l++) {
        if (*m->a >= m->ae) return -1;
        uint8_t enc = *(*m->a)++;
        if (enc == ENC_NONE || enc == ENC_ALL) continue;
        if (enc != ENC_BITMAP && enc != ENC_SPARSE) return -1;
        uint64_t cnt;
        size_t k = get_varint(*m->a, m->ae, &cnt);
        if (!k || cnt == 0 || cnt > r->g[l]) return -1;
        *m->a += k;
        if (enc == ENC_BITMAP) {
            if ((size_t)(m->ce - *m->c) < bitmap_bytes(r->g[l])) return -1;
            *m->c += bitmap_bytes(r->g[l]);
        } else {
            const uint8_t *p = *m->b;
            for (uint64_t j = 0; j < cnt; j++) {
                /* a varint ends at the first byte below 0x80 */
                const uint8_t *q = p;
                while (q < m->be && (*q & 0x80) && q - p < 10)
                    q++;
                if (q >= m->be || (*q & 0x80)) return -1;
                p = q + 1;
            }
            *m->b = p;
        }
    }
    return 0;
}

/* A 1.x chunk's data: the masks of every record, then the fixed-field table and its record
 * size. Check the table and walk the masks once, so a chunk whose records do not tile the
 * space exactly is rejected before any of its records is handed out. */
static int layout_v1(trace_reader *r, const char *nm, es_err *err)
{
    const chunk_info *c = &r->ck;
    const uint8_t *end = r->ubuf + c->usize;
    uint32_t fsize = get_u32(end - 4);
    if (fsize < REC_FIXED || fsize > MAX_FIXED ||
        (uint64_t)fsize * c->records > (uint64_t)c->usize - 4)
        return rd_damage(r, err, "%s: bad fixed-record size %u", nm, fsize);
    const uint8_t *fixed = end - 4 - (size_t)fsize * c->records;
    r->ma = r->ubuf;
    r->mae = fixed;
    mcur m = reader_mcur(r);
    uint64_t prev = 0;
    for (uint32_t i = 0; i < c->records; i++) {
        uint64_t it = get_u64(fixed + (size_t)i * fsize);
        if (i && it <= prev)
            return rd_damage(r, err, "%s: record %u (iteration %llu) is out of order", nm, i,
                             (unsigned long long)it);
        if ((i == 0 && it != c->first) || (i == c->records - 1 && it != c->last))
            return rd_damage(r, err, "%s: its records do not start and end at those iterations",
                             nm);
        prev = it;
        if (skip_record(r, &m) != 0)
            return rd_damage(r, err, "%s: the masks of record %u (iteration %llu) are malformed",
                             nm, i, (unsigned long long)it);
    }
    if (r->ma != fixed)
        return rd_damage(r, err, "%s: %ld bytes between its last mask and its fixed fields", nm,
                         (long)(fixed - r->ma));
    r->ma = r->ubuf;
    r->fixed = fixed;
    r->fsize = fsize;
    return 1;
}

/* A 2.x chunk's data: four sections - tags and counts, sparse gaps, bitmaps, fixed columns -
 * then their four sizes. Check the sizes and the columns, and walk the masks once. */
static int layout_v2(trace_reader *r, const char *nm, es_err *err)
{
    const chunk_info *c = &r->ck;
    const uint8_t *end = r->ubuf + c->usize;
    uint32_t sz[4];
    for (int k = 0; k < 4; k++)
        sz[k] = get_u32(end - V2_CLOSE + 4 * k);
    if ((uint64_t)sz[0] + sz[1] + sz[2] + sz[3] + V2_CLOSE != c->usize)
        return rd_damage(r, err,
                         "%s: its section sizes (%u, %u, %u, %u) do not add up to its %u "
                         "bytes",
                         nm, sz[0], sz[1], sz[2], sz[3], c->usize);
    const uint8_t *sa = r->ubuf, *sb = sa + sz[0], *sc = sb + sz[1], *sd = sc + sz[2],
                  *se = sd + sz[3];
    r->ma = sa, r->mae = sb, r->mb = sb, r->mbe = sc, r->mc = sc, r->mce = sd;
    mcur m = reader_mcur(r);
    /* the iteration column, walked together with the masks */
    const uint8_t *q = sd;
    uint64_t it = 0;
    for (uint32_t i = 0; i < c->records; i++) {
        uint64_t d, base = i ? it + 1 : c->first;
        size_t k = get_varint(q, se, &d);
        if (!k || d > UINT64_MAX - base || (i && it == UINT64_MAX))
            return rd_damage(r, err, "%s: its iteration column is malformed at record %u", nm, i);
        q += k;
        it = base + d;
        if ((i == 0 && it != c->first) || (i == c->records - 1 && it != c->last))
            return rd_damage(r, err, "%s: its records do not start and end at those iterations",
                             nm);
        if (skip_record(r, &m) != 0)
            return rd_damage(r, err, "%s: the masks of record %u (iteration %llu) are malformed",
                             nm, i, (unsigned long long)it);
    }
    if (r->ma != sb || r->mb != sc || r->mc != sd)
        return rd_damage(r, err, "%s: %ld, %ld and %ld bytes left over in its mask sections", nm,
                         (long)(sb - r->ma), (long)(sc - r->mb), (long)(sd - r->mc));
    r->itc = sd;
    r->ite = r->epc = q;
    int64_t ep = 0;
    for (uint32_t i = 0; i < c->records; i++) {
        uint64_t z;
        size_t k = get_varint(q, se, &z);
        ep += (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
        if (!k || z > UINT32_MAX * 2ull + 1 || ep < 0 || ep > (int64_t)UINT32_MAX)
            return rd_damage(r, err, "%s: its epoch column is malformed at record %u", nm, i);
        q += k;
    }
    r->epe = q;
    /* Column bytes past the four columns belong to a newer minor version: ignored by design. */
    if ((uint64_t)(se - q) < 12ull * c->records)
        return rd_damage(r, err, "%s: its learning-rate and loss columns are short", nm);
    r->lrc = q;
    r->lossc = q + 8ull * c->records;
    r->ma = sa, r->mb = sb, r->mc = sc;
    r->prev_it = 0;
    r->prev_ep = 0;
    return 1;
}

/* The iteration of the record next() returns next (the chunk is loaded, records remain). */
static uint64_t next_iteration(const trace_reader *r)
{
    if (r->major == 1) return get_u64(r->fixed + (size_t)r->rec_in_chunk * r->fsize);
    uint64_t d = 0;
    get_varint(r->itc, r->ite, &d); /* layout_v2 checked the column */
    return (r->rec_in_chunk ? r->prev_it + 1 : r->ck.first) + d;
}

/* Take the next record's fixed fields (iteration, epoch, lr, loss) into rec. */
static void take_fixed(trace_reader *r, trace_record *rec)
{
    size_t i = r->rec_in_chunk;
    if (r->major == 1) {
        const uint8_t *f = r->fixed + i * r->fsize;
        rec->iteration = get_u64(f);
        rec->epoch = get_u32(f + 8);
        uint64_t lrbits = get_u64(f + 12);
        uint32_t lossbits = get_u32(f + 20);
        memcpy(&rec->lr, &lrbits, 8);
        memcpy(&rec->loss, &lossbits, 4);
        /* Fixed-record bytes past REC_FIXED belong to a newer minor version: ignored. */
        return;
    }
    uint64_t d = 0, z = 0;
    r->itc += get_varint(r->itc, r->ite, &d); /* layout_v2 checked the column */
    rec->iteration = (i ? r->prev_it + 1 : r->ck.first) + d;
    r->epc += get_varint(r->epc, r->epe, &z);
    rec->epoch = (uint32_t)((int64_t)r->prev_ep + ((int64_t)(z >> 1) ^ -(int64_t)(z & 1)));
    size_t n = r->ck.records;
    uint64_t lrbits = 0;
    uint32_t lossbits = 0;
    for (int k = 0; k < 8; k++)
        lrbits |= (uint64_t)r->lrc[k * n + i] << (8 * k);
    for (int k = 0; k < 4; k++)
        lossbits |= (uint32_t)r->lossc[k * n + i] << (8 * k);
    memcpy(&rec->lr, &lrbits, 8);
    memcpy(&rec->loss, &lossbits, 4);
    r->prev_it = rec->iteration;
    r->prev_ep = rec->epoch;
}

/* Decompress and check the chunk whose header is in r->ck; r->pos is at its payload. */
static int load_chunk(trace_reader *r, es_err *err)
{
    chunk_info *c = &r->ck;
    char nm[96];
    ck_name(c, nm, sizeof nm);
    free_chunk_buffers(r);
    r->cbuf = mem_alloc(&r->mem, c->csize);
    r->ubuf = mem_alloc(&r->mem, c->usize);
    if (!r->cbuf || !r->ubuf) return es_fail(err, ES_ENOMEM, "out of memory");
    if (c->usize > r->ucap_max) r->ucap_max = c->usize;
    long got = rd_bytes(r, r->cbuf, c->csize);
    if (got < 0) return rd_io(r, err);
    if ((uint32_t)got < c->csize) {
        char prev[64];
        snprintf(prev, sizeof prev, "after iteration %llu", (unsigned long long)r->prev_last);
        return rd_damage(r, err, "truncated in chunk %u %s", c->index,
                         r->have_prev ? prev : "before the first iteration");
    }
    r->chunk_end = r->pos;
    if (!r->zinit) {
        r->zs.zalloc = zmem_alloc;
        r->zs.zfree = zmem_free;
        r->zs.opaque = &r->mem;
        if (inflateInit(&r->zs) != Z_OK) return es_fail(err, ES_ENOMEM, "zlib: inflateInit failed");
        r->zinit = 1;
    } else {
        inflateReset(&r->zs);
    }
    r->zs.next_in = r->cbuf;
    r->zs.avail_in = c->csize;
    r->zs.next_out = r->ubuf;
    r->zs.avail_out = c->usize;
    int zr = inflate(&r->zs, Z_FINISH);
    uLong produced = r->zs.total_out;
    /* The compressed buffer is no longer needed: drop it before the records are handed out,
     * so the reader holds one uncompressed chunk at a time. */
    mem_free(&r->mem, r->cbuf);
    r->cbuf = NULL;
    if (zr != Z_STREAM_END) {
        if (zr == Z_BUF_ERROR && r->zs.avail_out == 0)
            return rd_damage(r, err,
                             "%s: corrupt compressed data (it inflates past the %u bytes its "
                             "header says)",
                             nm, c->usize);
        return rd_damage(r, err, "%s: corrupt compressed data (zlib: %s)", nm,
                         r->zs.msg ? r->zs.msg : zError(zr));
    }
    if (produced != c->usize)
        return rd_damage(r, err, "%s: decompressed to %lu bytes, its header says %u", nm,
                         (unsigned long)produced, c->usize);
    if (r->zs.avail_in != 0)
        return rd_damage(r, err, "%s: %u bytes after the end of its zlib stream", nm,
                         r->zs.avail_in);
    uint32_t crc = trace_crc32(r->ubuf, c->usize);
    if (!CRC_MATCHES(c->crc, crc))
        return rd_damage(r, err, "%s: CRC mismatch (stored 0x%08x, computed 0x%08x)", nm, c->crc,
                         crc);
    int rc = r->major == 1 ? layout_v1(r, nm, err) : layout_v2(r, nm, err);
    if (rc < 0 || r->state != RS_CHUNKS) return rc;
    r->recs_left = c->records;
    r->rec_in_chunk = 0;
    r->in_chunk = 1;
    r->next_chunk = c->index + 1;
    r->prev_last = c->last;
    r->have_prev = 1;
    return 1;
}

/* Decode one layer's mask at the cursors mc into r->masks[l] and r->counts[l]; returns 0 or
 * -1 with why filled. Counting is left to the caller, once the whole record has decoded. */
static int decode_mask(trace_reader *r, uint32_t l, mcur *mc, uint8_t *enc_out, char *why,
                       size_t wlen)
{
    const uint8_t *p = *mc->a, *end = mc->ae;
    uint32_t g = r->g[l];
    size_t nb = bitmap_bytes(g);
    uint8_t *m = r->masks[l];
    if (p >= end) {
        snprintf(why, wlen, "ends before its mask");
        return -1;
    }
    uint8_t enc = *p++;
    *enc_out = enc;
    *mc->a = p;
    uint64_t cnt = 0;
    if (enc == ENC_NONE) {
        memset(m, 0, nb);
    } else if (enc == ENC_ALL) {
        memset(m, 0xff, nb);
        m[nb - 1] &= (uint8_t)~tail_mask(g);
        cnt = g;
    } else if (enc == ENC_BITMAP || enc == ENC_SPARSE) {
        size_t k = get_varint(p, end, &cnt);
        if (!k || cnt == 0 || cnt > g) {
            snprintf(why, wlen, "bad written count");
            return -1;
        }
        p += k;
        *mc->a = p; /* tag and count taken; the payload is in the gap or bitmap section */
        if (enc == ENC_BITMAP) {
            p = *mc->c, end = mc->ce;
            if ((size_t)(end - p) < nb) {
                snprintf(why, wlen, "bitmap runs past the record");
                return -1;
            }
            memcpy(m, p, nb);
            p += nb;
            *mc->c = p;
            if (m[nb - 1] & tail_mask(g)) {
                snprintf(why, wlen, "bitmap has bits past block %u", g - 1);
                return -1;
            }
            if (trace_popcount(m, nb) != cnt) {
                snprintf(why, wlen, "bitmap holds %u blocks, its count says %llu",
                         trace_popcount(m, nb), (unsigned long long)cnt);
                return -1;
            }
        } else {
            p = *mc->b, end = mc->be;
            memset(m, 0, nb);
            uint64_t idx = 0;
            for (uint64_t j = 0; j < cnt; j++) {
                uint64_t d;
                size_t kk = get_varint(p, end, &d);
                if (!kk) {
                    snprintf(why, wlen, "index list runs past the record");
                    return -1;
                }
                p += kk;
                uint64_t next = j ? idx + 1 : 0;  /* the smallest index this gap can give */
                if (next >= g || d >= g - next) { /* tested so that next + d cannot wrap */
                    snprintf(why, wlen, "block index %llu out of range (%u blocks)",
                             (unsigned long long)(d > UINT64_MAX - next ? UINT64_MAX : next + d),
                             g);
                    return -1;
                }
                idx = next + d;
                m[idx >> 3] |= (uint8_t)(1u << (idx & 7));
            }
            *mc->b = p;
        }
    } else {
        snprintf(why, wlen, "unknown mask encoding %u", enc);
        return -1;
    }
    r->counts[l] = (uint32_t)cnt;
    return 0;
}

/* Compare what next() returned with the footer; called once the footer is reached. */
static int check_footer(trace_reader *r, es_err *err)
{
    const trace_footer *f = &r->foot;
    uint32_t nl = r->hdr.n_layers;
    if (f->chunks != r->next_chunk)
        return rd_damage(r, err, "the footer says %u chunks, the file holds %u", f->chunks,
                         r->next_chunk);
    if (r->seeked) return ES_OK;
    uint64_t first = r->records ? r->first : TRACE_NO_COUNT;
    uint64_t last = r->records ? r->last : TRACE_NO_COUNT;
    if (f->records != r->records || f->first_iteration != first || f->last_iteration != last)
        return rd_damage(r, err,
                         "the footer says %llu iterations (%llu-%llu), the chunks hold %llu",
                         (unsigned long long)f->records, (unsigned long long)f->first_iteration,
                         (unsigned long long)f->last_iteration, (unsigned long long)r->records);
    if (f->raw_bytes != r->raw || f->compressed_bytes != r->comp)
        return rd_damage(r, err, "the footer's byte totals disagree with the chunks");
    for (int i = 0; i < 4; i++)
        if (f->encodings[i] != r->enc[i])
            return rd_damage(r, err, "the footer's encoding counts disagree with the records");
    for (uint32_t l = 0; l < nl; l++) {
        uint64_t mx = 0, touched = 0;
        for (uint32_t i = 0; i < r->g[l]; i++) {
            mx = ES_MAX(mx, r->block_counts[l][i]);
            touched += r->block_counts[l][i] != 0;
        }
        const char *nm = r->layers[l].name;
        if (f->writes[l] != r->writes[l])
            return rd_damage(r, err, "the footer says layer %s has %llu writes, the records %llu",
                             nm, (unsigned long long)f->writes[l],
                             (unsigned long long)r->writes[l]);
        if (f->max_trace[l] != mx || f->touched[l] != touched)
            return rd_damage(r, err,
                             "the footer's max count or written blocks for layer %s "
                             "disagree with the records",
                             nm);
        if (f->max_count[l] != TRACE_NO_COUNT && f->max_count[l] < mx)
            return rd_damage(r, err,
                             "the footer's max update count %llu for layer %s is below the %llu "
                             "the records show",
                             (unsigned long long)f->max_count[l], nm, (unsigned long long)mx);
    }
    return ES_OK;
}

/* Reached the footer magic while streaming: parse it and check it. */
static int finish_stream(trace_reader *r, es_err *err)
{
    char why[256];
    if (read_footer_at(r, r->pos, why, sizeof why) != 0) return rd_damage(r, err, "%s", why);
    int rc = check_footer(r, err);
    if (r->state == RS_CHUNKS) r->state = RS_DONE;
    return rc;
}

static int next_chunk(trace_reader *r, es_err *err)
{
    free_chunk_buffers(r);
    int rc = read_chunk_header(r, &r->ck, err);
    if (rc < 0 || r->state != RS_CHUNKS) return rc < 0 ? rc : 0;
    if (rc == 0) {
        rc = finish_stream(r, err);
        return rc < 0 ? rc : 0;
    }
    rc = load_chunk(r, err);
    if (rc < 0 || r->state != RS_CHUNKS) return rc < 0 ? rc : 0;
    r->chunks_done++;
    r->raw += r->ck.usize;
    r->comp += r->ck.csize;
    return 1;
}

int trace_reader_next(trace_reader *r, trace_record *rec, es_err *err)
{
    if (r->state == RS_FAILED) return es_fail(err, ES_ESTATE, "%s: the reader failed", r->path);
    while (r->state == RS_CHUNKS && (!r->in_chunk || r->recs_left == 0)) {
        int rc = next_chunk(r, err);
        if (rc < 0) return rc;
    }
    if (r->state != RS_CHUNKS) return 0;
    take_fixed(r, rec);
    mcur mc = reader_mcur(r);
    for (uint32_t l = 0; l < r->hdr.n_layers; l++) {
        char why[160], nm[96];
        if (decode_mask(r, l, &mc, &r->encs[l], why, sizeof why) != 0)
            return rd_damage(r, err, "%s: iteration %llu, layer %s: %s",
                             ck_name(&r->ck, nm, sizeof nm), (unsigned long long)rec->iteration,
                             r->layers[l].name, why);
    }
    /* The record is whole: only now does it count (a salvaged prefix counts exactly). */
    for (uint32_t l = 0; l < r->hdr.n_layers; l++) {
        uint32_t g = r->g[l], *bc = r->block_counts[l];
        const uint8_t *m = r->masks[l];
        r->enc[r->encs[l]]++;
        r->writes[l] += r->counts[l];
        if (r->counts[l] == g)
            for (uint32_t i = 0; i < g; i++)
                bc[i]++;
        else if (r->counts[l])
            for (uint32_t i = trace_mask_next(m, g, 0); i < g; i = trace_mask_next(m, g, i + 1))
                bc[i]++;
    }
    r->recs_left--;
    r->rec_in_chunk++;
    if (r->records == 0) r->first = rec->iteration;
    r->last = rec->iteration;
    r->records++;
    rec->masks = (const uint8_t *const *)r->masks;
    rec->counts = r->counts;
    rec->chunk = r->ck.index;
    return 1;
}

/* Without the footer, find where the file stops being a trace: stream it in salvage mode (on
 * this error path only) so the message can say exactly which prefix is intact. */
static void diagnose(const char *path, es_err *err)
{
    trace_reader_options o = {1};
    trace_reader *s = NULL;
    es_err e2;
    es_err_clear(&e2);
    if (trace_reader_open(path, &o, &s, &e2) < 0) return;
    trace_record rec;
    while (trace_reader_next(s, &rec, &e2) > 0) {
    }
    const char *d = trace_reader_damage(s);
    if (d) {
        int salvageable = s->records > 0;
        es_fail(err, ES_EFORMAT, "%s%s", d, salvageable ? " (use --salvage to read them)" : "");
    }
    trace_reader_close(s);
}

int trace_reader_open(const char *path, const trace_reader_options *opt, trace_reader **out,
                      es_err *err)
{
    *out = NULL;
    trace_reader *r = calloc(1, sizeof *r);
    if (!r) return es_fail(err, ES_ENOMEM, "out of memory");
    r->salvage = opt ? opt->salvage : 0;
    r->path = es_strdup(path);
    int rc = ES_OK;
    if (!r->path) {
        rc = es_fail(err, ES_ENOMEM, "out of memory");
        goto fail;
    }
    /* a regular file only: a FIFO would block, a device never end; the size from fstat */
    rc = es_open_input(path, "trace", UINT64_MAX, "", &r->fp, &r->file_size, err);
    if (rc < 0) goto fail;
    rc = read_header(r, err);
    if (rc < 0) goto fail;
    uint32_t nl = r->hdr.n_layers;
    r->masks = mem_calloc(&r->mem, nl * sizeof *r->masks);
    r->block_counts = mem_calloc(&r->mem, nl * sizeof *r->block_counts);
    r->counts = mem_calloc(&r->mem, nl * sizeof *r->counts);
    r->encs = mem_calloc(&r->mem, nl);
    r->writes = mem_calloc(&r->mem, nl * sizeof *r->writes);
    if (!r->masks || !r->block_counts || !r->counts || !r->encs || !r->writes) {
        rc = es_fail(err, ES_ENOMEM, "out of memory");
        goto fail;
    }
    for (uint32_t l = 0; l < nl; l++) {
        r->masks[l] = mem_calloc(&r->mem, bitmap_bytes(r->g[l]));
        r->block_counts[l] = mem_calloc(&r->mem, (size_t)r->g[l] * sizeof **r->block_counts);
        if (!r->masks[l] || !r->block_counts[l]) {
            rc = es_fail(err, ES_ENOMEM, "out of memory");
            goto fail;
        }
    }
    /* The footer from the end of the file: a complete trace has one; without it a normal
     * open fails now (not hours into a replay), with the intact prefix named. */
    char why[256] = "the footer is missing";
    int ok = 0;
    if (r->file_size >= r->hdr.header_bytes + TRAILER) {
        uint8_t tr[TRAILER];
        if (rd_seek(r, r->file_size - TRAILER) == 0 && rd_bytes(r, tr, TRAILER) == TRAILER &&
            !memcmp(tr + 8, END_MAGIC, 8) && get_u64(tr) >= r->hdr.header_bytes &&
            get_u64(tr) < r->file_size - TRAILER)
            ok = read_footer_at(r, get_u64(tr), why, sizeof why) == 0;
    }
    if (!ok) r->have_footer = 0;
    if (!ok && !r->salvage) {
        rc = es_fail(err, ES_EFORMAT, "%s: %s", path, why);
        diagnose(path, err);
        goto fail;
    }
    if (rd_seek(r, r->hdr.header_bytes) != 0) {
        rc = rd_io(r, err);
        goto fail;
    }
    r->state = RS_CHUNKS;
    *out = r;
    return ES_OK;
fail:
    trace_reader_close(r);
    return rc;
}

const trace_header *trace_reader_header(const trace_reader *r)
{
    return &r->hdr;
}

const trace_footer *trace_reader_footer(const trace_reader *r)
{
    return r->have_footer ? &r->foot : NULL;
}

const char *trace_reader_damage(const trace_reader *r)
{
    return r->damage;
}

const uint32_t *trace_reader_block_counts(const trace_reader *r, uint32_t layer)
{
    return layer < r->hdr.n_layers ? r->block_counts[layer] : NULL;
}

void trace_reader_stats_get(const trace_reader *r, trace_reader_stats *st)
{
    st->chunks_read = r->chunks_done;
    st->records_read = r->records;
    st->bytes_read = r->pos;
    st->raw_bytes = r->raw;
    st->compressed_bytes = r->comp;
    st->memory = r->mem.now;
    st->peak = r->mem.peak;
    st->chunk_buffer_max = r->ucap_max;
}

/* The iteration of the next record of the loaded chunk. */
int trace_reader_seek(trace_reader *r, uint64_t iteration, es_err *err)
{
    if (r->state == RS_FAILED) return es_fail(err, ES_ESTATE, "%s: the reader failed", r->path);
    r->seeked = 1;
    /* Already inside the right chunk and not past the target: skip records forward. */
    int here = r->state == RS_CHUNKS && r->in_chunk && r->recs_left > 0 &&
               r->ck.last >= iteration && next_iteration(r) <= iteration;
    if (!here) {
        free_chunk_buffers(r);
        if (rd_seek(r, r->hdr.header_bytes) != 0) return rd_io(r, err);
        r->state = RS_CHUNKS;
        r->next_chunk = 0;
        r->have_prev = 0;
        for (;;) {
            int rc = read_chunk_header(r, &r->ck, err);
            if (rc < 0) return rc;
            if (r->state != RS_CHUNKS) return ES_OK;
            if (rc == 0) { /* at the footer: nothing at or after the target */
                r->state = RS_DONE;
                return ES_OK;
            }
            if (r->ck.last >= iteration) break;
            if (rd_seek(r, r->pos + r->ck.csize) != 0) return rd_io(r, err);
            r->next_chunk = r->ck.index + 1;
            r->prev_last = r->ck.last;
            r->have_prev = 1;
        }
        int rc = load_chunk(r, err);
        if (rc < 0) return rc;
        if (r->state != RS_CHUNKS) return ES_OK;
        r->chunks_done++;
    }
    while (r->recs_left > 0) {
        if (next_iteration(r) >= iteration) break;
        trace_record skipped;
        take_fixed(r, &skipped);
        mcur mc = reader_mcur(r);
        skip_record(r, &mc); /* load_chunk walked the masks: cannot fail */
        r->recs_left--;
        r->rec_in_chunk++;
    }
    return ES_OK;
}

void trace_reader_close(trace_reader *r)
{
    if (!r) return;
    if (r->fp) fclose(r->fp);
    if (r->zinit) inflateEnd(&r->zs);
    free_chunk_buffers(r);
    if (r->masks)
        for (uint32_t l = 0; l < r->hdr.n_layers; l++)
            mem_free(&r->mem, r->masks[l]);
    if (r->block_counts)
        for (uint32_t l = 0; l < r->hdr.n_layers; l++)
            mem_free(&r->mem, r->block_counts[l]);
    mem_free(&r->mem, r->masks);
    mem_free(&r->mem, r->block_counts);
    mem_free(&r->mem, r->counts);
    mem_free(&r->mem, r->encs);
    mem_free(&r->mem, r->writes);
    mem_free(&r->mem, r->foot_arrays);
    mem_free(&r->mem, r->strings);
    mem_free(&r->mem, r->layers);
    mem_free(&r->mem, r->g);
    mem_free(&r->mem, r->kind_names);
    mem_free(&r->mem, r->count_names);
    mem_free(&r->mem, r->ops);
    mem_free(&r->mem, r->op_counts);
    free(r->damage);
    free(r->path);
    free(r);
}
