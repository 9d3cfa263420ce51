/* trace_internal.h - what the trace format's common code, reader and writer share (not a public
 * header: traces/trace.h is the API): the format's constants and limits, byte and varint
 * coding, the reader's and writer's state (resuming a trace moves one into the other). */
#ifndef ES_TRACE_INTERNAL_H
#define ES_TRACE_INTERNAL_H

#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "trace.h"

/* ---- format constants ---------------------------------------------------------------------- */

static const char FILE_MAGIC[8] = {'E', 'S', 'S', 'I', 'M', 'T', 'R', 'C'};
static const char END_MAGIC[8] = {'E', 'S', 'S', 'I', 'M', 'E', 'N', 'D'};
static const char CHUNK_MAGIC[4] = {'C', 'H', 'N', 'K'};
static const char FOOT_MAGIC[4] = {'F', 'O', 'O', 'T'};

enum {
    HDR_PREFIX = 20,   /* magic, version, flags, body length */
    CHUNK_HDR = 44,    /* magic .. header CRC */
    TRAILER = 16,      /* footer offset, end magic */
    REC_FIXED = 24,    /* 1.x: a record's fixed fields: iteration, epoch, lr, loss */
    MAX_FIXED = 4096,  /* 1.x: fixed-record size a reader accepts (later minor versions grow it) */
    V1_CLOSE = 4,      /* 1.x: the fixed-record size word that closes a chunk's data */
    V2_CLOSE = 16,     /* 2.x: the four section sizes that close a chunk's data */
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
#define MAX_EPOCH_IMAGES  ((uint64_t)1 << 40) /* images per epoch a header may claim */
#define MAX_CHUNK_BYTES   (1u << 30)
#define MAX_CHUNK_RECORDS (1u << 20)
#define MAX_TOTAL_BLOCKS  (1ull << 34)
/* The fuzz build (tests/fuzz, -DES_FUZZ_NO_CRC) accepts any CRC, so mutated input reaches the
 * decoders behind the checks instead of stopping at them. Never defined in a normal build. */
#ifdef ES_FUZZ_NO_CRC
#define CRC_MATCHES(stored, computed) ((void)(stored), (void)(computed), 1)
#else
#define CRC_MATCHES(stored, computed) ((stored) == (computed))
#endif
/* A layer's block count against its geometry, and the total against ESSIM_MAX_TRACE_BLOCKS
 * (a header claiming 2^31 blocks would otherwise make every reader zero-fill gigabytes). */
int trace_layer_check(const trace_layer *L, const char *path, es_err *err);
int trace_blocks_check(uint64_t total, const char *path, es_err *err);

/* ---- little-endian bytes and varints ------------------------------------------------------- */

static inline void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* LEB128: 7 bits per byte, low bits first, high bit set on all but the last byte. */
static inline size_t put_varint(uint8_t *p, uint64_t v)
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
static inline size_t get_varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
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

static inline size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline size_t bitmap_bytes(uint32_t g)
{
    return ((size_t)g + 7) / 8;
}

/* The bits of the last mask byte that lie past G (must be zero). */
static inline uint8_t tail_mask(uint32_t g)
{
    return (g & 7) ? (uint8_t)(0xffu << (g & 7)) : 0;
}

/* CRC-32 of zlib, gzip and PNG over p[0..n). */
static inline uint32_t trace_crc32(const uint8_t *p, size_t n)
{
    return es_crc32(0, p, n);
}
/* Set bits in p[0..n). */
uint32_t trace_popcount(const uint8_t *p, size_t n);
/* Largest masks of one record, and largest chunk holding one record (see trace.c). */
uint64_t trace_masks_bound(const uint32_t *g, uint32_t n_layers);
uint64_t trace_record_bound(const uint32_t *g, uint32_t n_layers);
/* Is h 16 lower-case hex digits (a configuration hash)? */
int trace_hex16(const char *h);
/* A header the writer can encode (names, counts and sizes in range). */
int trace_header_validate(const trace_header *h, es_err *err);

/* ---- a growable byte buffer (header and footer encoding) ---------------------------------- */

typedef struct bbuf {
    uint8_t *p;
    size_t len, cap;
    int oom;
} bbuf;

/* ---- the reader's allocator: every byte it holds is counted (stats, the memory test) ------- */

typedef struct trace_mem {
    size_t now, peak;
} trace_mem;

typedef union mem_hdr {
    size_t n;
    max_align_t align;
} mem_hdr;

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

/* The writer's state for a header, before its file is opened (trace_writer_create and
 * trace_writer_resume), and its release. */
int trace_writer_alloc(const trace_header *h, const char *path, const trace_writer_options *opt,
                       uint32_t chunk_bytes, uint32_t chunk_records, trace_writer **out,
                       es_err *err);
void trace_writer_free(trace_writer *w);

#endif
