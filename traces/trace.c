/* trace.c - the trace format (docs/trace-format.md): header and footer encoding, the writer
 * (records -> per-chunk zlib streams with CRC-32), the streaming reader with its damage
 * reports and salvage mode, and resuming an interrupted trace. Sits between the trainer (which
 * writes) and the replay/`essim trace` tools (which read). */
#define _POSIX_C_SOURCE 200809L
#include "trace.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include <zlib.h>

/* ---- format constants ---------------------------------------------------------------------- */

static const char FILE_MAGIC[8] = {'E', 'S', 'S', 'I', 'M', 'T', 'R', 'C'};
static const char END_MAGIC[8] = {'E', 'S', 'S', 'I', 'M', 'E', 'N', 'D'};
static const char CHUNK_MAGIC[4] = {'C', 'H', 'N', 'K'};
static const char FOOT_MAGIC[4] = {'F', 'O', 'O', 'T'};

enum {
    HDR_PREFIX = 20,  /* magic, version, flags, body length */
    CHUNK_HDR = 44,   /* magic .. header CRC */
    TRAILER = 16,     /* footer offset, end magic */
    REC_FIXED = 24,   /* 1.x: a record's fixed fields: iteration, epoch, lr, loss */
    MAX_FIXED = 4096, /* 1.x: fixed-record size a reader accepts (later minor versions grow it) */
    V1_CLOSE = 4,     /* 1.x: the fixed-record size word that closes a chunk's data */
    V2_CLOSE = 16,    /* 2.x: the four section sizes that close a chunk's data */
    V2_FIXED_MIN = 14, /* 2.x: fewest column bytes of a record (two 1-byte varints, 12 bytes) */
    V2_FIXED_MAX = 32, /* 2.x: most column bytes of a record (two 10-byte varints, 12 bytes) */
    ENC_NONE = 0,
    ENC_ALL = 1,
    ENC_BITMAP = 2,
    ENC_SPARSE = 3,
};

/* Sanity limits a reader applies before allocating anything a damaged length asks for. */
#define MAX_HEADER_BODY   (256u << 20)
#define MAX_LAYERS        65536u
#define MAX_OPS           (16u << 20)
#define MAX_CHUNK_BYTES   (1u << 30)
#define MAX_CHUNK_RECORDS (1u << 20)
#define MAX_TOTAL_BLOCKS  (1ull << 34)

/* ---- little-endian bytes and varints ------------------------------------------------------- */

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* LEB128: 7 bits per byte, low bits first, high bit set on all but the last byte. */
static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Returns bytes consumed, or 0 if the varint runs past end or is longer than 10 bytes. */
static size_t get_varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < 10 && p + i < end; i++) {
        x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (n) {
        uInt k = (uInt)ES_MIN(n, (size_t)1 << 30);
        c = crc32(c, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)c;
}

static uint32_t popcount_bytes(const uint8_t *p, size_t n)
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

static size_t bitmap_bytes(uint32_t g)
{
    return ((size_t)g + 7) / 8;
}

/* The bits of the last mask byte that lie past G (must be zero). */
static uint8_t tail_mask(uint32_t g)
{
    return (g & 7) ? (uint8_t)(0xffu << (g & 7)) : 0;
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
static uint64_t masks_bound(const uint32_t *g, uint32_t n_layers)
{
    uint64_t b = 0;
    for (uint32_t l = 0; l < n_layers; l++)
        b += 1 + 5 + bitmap_bytes(g[l]);
    return b;
}

/* Largest chunk holding one record: its masks, its fixed fields and the words that close
 * the chunk's data (the larger of the 1.x and 2.x layouts). A chunk is never larger than this
 * or the writer's chunk size, whichever is larger. */
static uint64_t record_bound(const uint32_t *g, uint32_t n_layers)
{
    return masks_bound(g, n_layers) + ES_MAX(REC_FIXED + V1_CLOSE, V2_FIXED_MAX + V2_CLOSE);
}

/* ---- a growable byte buffer (header and footer encoding) ---------------------------------- */

typedef struct bbuf {
    uint8_t *p;
    size_t len, cap;
    int oom;
} bbuf;

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

/* ---- header ------------------------------------------------------------------------------ */

static int hex16(const char *h)
{
    for (int i = 0; i < 16; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f'))) return 0;
    return h[16] == '\0';
}

static int header_validate(const trace_header *h, es_err *err)
{
    if (!hex16(h->config_hash))
        return es_fail(err, ES_EINVAL, "trace: config hash '%.16s' is not 16 lower-case hex digits",
                       h->config_hash);
    if (h->n_layers == 0 || !h->layers)
        return es_fail(err, ES_EINVAL, "trace: the layer table is empty");
    if (h->n_layers > MAX_LAYERS)
        return es_fail(err, ES_EINVAL, "trace: %u layers (at most %u)", h->n_layers, MAX_LAYERS);
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
    if (total > MAX_TOTAL_BLOCKS)
        return es_fail(err, ES_EINVAL, "trace: %llu blocks in all (too many)",
                       (unsigned long long)total);
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
    if (b->oom) return ES_ENOMEM;
    if (b->len - HDR_PREFIX > MAX_HEADER_BODY) return ES_ERANGE;
    put_u32(b->p + 16, (uint32_t)(b->len - HDR_PREFIX));
    bb_u32(b, crc32_of(b->p, b->len));
    return b->oom ? ES_ENOMEM : ES_OK;
}

/* ---- the reader's allocator: every byte it holds is counted (stats, the memory test) ------- */

typedef struct trace_mem {
    size_t now, peak;
} trace_mem;

typedef union mem_hdr {
    size_t n;
    max_align_t align;
} mem_hdr;

static void *mem_alloc(trace_mem *m, size_t n)
{
    mem_hdr *h = malloc(sizeof *h + (n ? n : 1));
    if (!h) return NULL;
    h->n = n;
    m->now += n;
    if (m->now > m->peak) m->peak = m->now;
    return h + 1;
}

static void *mem_calloc(trace_mem *m, size_t n)
{
    void *p = mem_alloc(m, n);
    if (p) memset(p, 0, n);
    return p;
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

enum { RS_CHUNKS, RS_DONE, RS_FAILED };

typedef struct chunk_info {
    uint32_t index, records, csize, usize, crc;
    uint64_t first, last;
} chunk_info;

struct trace_reader {
    trace_mem mem; /* every allocation, zlib's included (its opaque pointer) */
    FILE *fp;
    char *path;
    int salvage;
    trace_header hdr;
    /* header storage (all owned, counted) */
    char *strings; /* producer, network, dataset, config text, names: one block */
    trace_layer *layers;
    const char **kind_names, **count_names;
    trace_op *ops;
    uint64_t *op_counts;
    uint32_t *g; /* blocks per layer */
    uint64_t file_size;
    uint64_t chunk_limit; /* largest uncompressed chunk the header allows */
    /* footer */
    int have_footer;
    trace_footer foot;
    uint64_t *foot_arrays; /* 4 x n_layers */
    /* streaming state */
    int state;
    uint64_t pos; /* file offset of the next unread byte */
    uint32_t next_chunk;
    uint64_t prev_last; /* last iteration of the previous chunk */
    int have_prev;
    chunk_info ck;
    int in_chunk;
    uint8_t *cbuf, *ubuf; /* compressed and uncompressed chunk (freed between chunks) */
    size_t ucap_max;
    unsigned major; /* format major version: 1 (one mask stream, fixed table) or 2 (sections) */
    /* Mask cursors and their ends. 1.x reads tags, counts and payloads from ma alone; 2.x reads
     * tags and counts from ma, sparse gaps from mb and bitmaps from mc. */
    const uint8_t *ma, *mae, *mb, *mbe, *mc, *mce;
    const uint8_t *fixed; /* 1.x: the chunk's fixed-field table */
    uint32_t fsize;       /* 1.x: bytes per fixed record */
    /* 2.x: cursors into the iteration and epoch columns, the lr and loss byte planes, and the
     * last record taken from them */
    const uint8_t *itc, *ite, *epc, *epe, *lrc, *lossc;
    uint64_t prev_it;
    uint32_t prev_ep;
    uint32_t recs_left, rec_in_chunk;
    z_stream zs;
    int zinit;
    /* decoded record */
    uint8_t **masks;
    uint32_t *counts;
    uint8_t *encs; /* per layer: the encoding of the record being decoded */
    uint32_t **block_counts;
    /* totals over what next() returned (checked against the footer) */
    uint64_t records, first, last, raw, comp, enc[4];
    uint64_t *writes;
    uint32_t chunks_done;
    int seeked;
    uint64_t chunk_end; /* file offset right after the current/last loaded chunk */
    char *damage;
};

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
        r->g[l] = L->blocks;
        total += L->blocks;
    }
    if (total > MAX_TOTAL_BLOCKS)
        return es_fail(err, ES_EFORMAT, "%s: bad header: %llu blocks", r->path,
                       (unsigned long long)total);
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
    /* Bytes left over belong to a newer minor version: ignored by design. */
    if (!hex16(h->config_hash))
        return es_fail(err, ES_EFORMAT, "%s: bad header: config hash is not 16 hex digits",
                       r->path);
    if (h->chunk_bytes_max == 0 || h->chunk_bytes_max > MAX_CHUNK_BYTES ||
        h->chunk_records_max == 0 || h->chunk_records_max > MAX_CHUNK_RECORDS)
        return es_fail(err, ES_EFORMAT, "%s: bad header: chunk limits %u bytes, %u records",
                       r->path, h->chunk_bytes_max, h->chunk_records_max);
    uint64_t rb = record_bound(r->g, h->n_layers);
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
    else if (get_u32(buf + HDR_PREFIX + blen) != crc32_of(buf, (size_t)HDR_PREFIX + blen))
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
    else if (get_u32(buf + 8 + blen) != crc32_of(buf, (size_t)blen + 8))
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
    if (get_u32(h + 40) != crc32_of(h, 40))
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
        return rd_damage(r, err, "%s: its section sizes (%u, %u, %u, %u) do not add up to its %u "
                         "bytes", nm, sz[0], sz[1], sz[2], sz[3], c->usize);
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
    uint32_t crc = crc32_of(r->ubuf, c->usize);
    if (crc != c->crc)
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
            if (popcount_bytes(m, nb) != cnt) {
                snprintf(why, wlen, "bitmap holds %u blocks, its count says %llu",
                         popcount_bytes(m, nb), (unsigned long long)cnt);
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
    r->fp = fopen(path, "rb");
    if (!r->fp) {
        rc = es_fail(err, ES_EIO, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    if (fseeko(r->fp, 0, SEEK_END) != 0 || ftello(r->fp) < 0) {
        rc = rd_io(r, err);
        goto fail;
    }
    r->file_size = (uint64_t)ftello(r->fp);
    rewind(r->fp);
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

/* ---- writer ------------------------------------------------------------------------------ */

struct trace_writer {
    FILE *fp;
    char *path, *tmp; /* tmp: "<path>.part" in the default mode, NULL in direct mode */
    uint32_t n_layers;
    uint32_t *g;
    char **names;
    uint32_t chunk_bytes, chunk_records;
    z_stream zs;
    int zinit;
    uint8_t *rec; /* one record's encoded masks (tag, count, payload per layer, as in 1.x) */
    size_t rec_cap;
    /* The current chunk, uncompressed: its three mask sections (tags and counts, sparse gaps,
     * bitmaps), and per record the fields that become its columns when the chunk ends. */
    bbuf sec[3];
    bbuf cols; /* the columns and the section sizes, built when the chunk ends */
    uint64_t *c_it;
    uint32_t *c_ep;
    double *c_lr;
    float *c_loss;
    uint8_t *comp; /* the current chunk, compressed */
    size_t comp_cap;
    /* current chunk */
    uint32_t ck_records;
    uint64_t ck_cols, ck_first, ck_last; /* ck_cols: bytes its columns will take */
    uint32_t ck_index;
    /* totals (the footer) */
    uint64_t records, first, last, raw, compb, enc[4];
    uint64_t *writes;
    uint32_t **counts;  /* per block */
    uint8_t **layer_at; /* scratch for append: where each layer's mask starts, its count */
    uint32_t *cnts;
    int failed;
};

static int wr_io(trace_writer *w, es_err *err)
{
    w->failed = 1;
    return es_fail(err, ES_EIO, "%s: write failed: %s", w->tmp ? w->tmp : w->path, strerror(errno));
}

static void writer_free(trace_writer *w)
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
static int writer_alloc(const trace_header *h, const char *path, const trace_writer_options *opt,
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
    uint64_t rb = record_bound(w->g, w->n_layers);
    if (rb > MAX_CHUNK_BYTES) {
        writer_free(w);
        return es_fail(err, ES_EINVAL, "trace: records of %llu bytes are too large",
                       (unsigned long long)rb);
    }
    w->rec_cap = (size_t)masks_bound(w->g, w->n_layers);
    w->rec = malloc(w->rec_cap);
    w->c_it = malloc((size_t)chunk_records * sizeof *w->c_it);
    w->c_ep = malloc((size_t)chunk_records * sizeof *w->c_ep);
    w->c_lr = malloc((size_t)chunk_records * sizeof *w->c_lr);
    w->c_loss = malloc((size_t)chunk_records * sizeof *w->c_loss);
    /* Level 4 is the lowest that honours Z_FILTERED (1-3 use deflate_fast, which ignores the
     * strategy); above it the ratio on masks does not improve but bitmaps take twice as long. */
    int level = opt && opt->level ? opt->level : 4;
    if (level < 1 || level > 9) {
        writer_free(w);
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
    writer_free(w);
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
    ES_TRY(header_validate(hdr, err));
    ES_TRY(resolve_chunking(opt, &cb, &cr, err));
    trace_writer *w;
    ES_TRY(writer_alloc(hdr, path, opt, cb, cr, &w, err));
    bbuf b = {0};
    int rc = header_encode(hdr, opt && opt->direct ? TRACE_FLAG_DIRECT : 0, cb, cr, &b);
    if (rc < 0) {
        free(b.p);
        writer_free(w);
        return es_fail(err, rc, "trace: %s",
                       rc == ES_ERANGE ? "the header is too large" : "out of memory");
    }
    const char *file = w->tmp ? w->tmp : path;
    w->fp = fopen(file, "wb");
    if (!w->fp) {
        rc = es_fail(err, ES_EIO, "%s: cannot create: %s", file, strerror(errno));
        free(b.p);
        writer_free(w);
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
    put_u32(h + 40, crc32_of(h, 40));
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
        cnt = popcount_bytes(m->bits, nb);
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
        uint64_t total = w->sec[0].len + w->sec[1].len + w->sec[2].len + len + w->ck_cols + cols +
                         V2_CLOSE;
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
    bb_u32(&b, crc32_of(b.p, b.len));
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
    writer_free(w);
    return ES_OK;
}

void trace_writer_abort(trace_writer *w)
{
    if (!w) return;
    if (w->fp) fclose(w->fp);
    if (w->tmp) remove(w->tmp);
    writer_free(w);
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
    ES_TRY(header_validate(hdr, err));
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
    rc = writer_alloc(hdr, path, opt, r->hdr.chunk_bytes_max, r->hdr.chunk_records_max, &w, err);
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
    if (w) writer_free(w);
    free(file);
    return rc;
}
