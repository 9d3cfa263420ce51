/* trace.h - the layer-op trace: what the write-policy controller decided while a network
 * trained (per iteration, per mapped layer, which row blocks were written), with the mapping
 * and op template needed to replay it on other hardware. Written by `essim train --trace`,
 * read by `essim simulate --trace` and `essim trace`. Format: docs/trace-format.md.
 *
 * The file is a header, then chunks (each an independent zlib stream of iteration records
 * with its own CRC-32; in format 2.0 a chunk's data is four sections - tags and counts,
 * sparse gaps, bitmaps, scalar columns - each deflated with its own Huffman tables), then a
 * footer with totals. Writer and reader each hold one chunk at a time, so traces of ~100k
 * iterations stream in bounded memory. The reader also reads format 1.0. Depends only on
 * sim/ (es_common) and zlib. */
#ifndef ES_TRACE_H
#define ES_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "es_common.h"

/* The format this build writes; it reads 1.x and 2.x. */
#define TRACE_VERSION_MAJOR 2
#define TRACE_VERSION_MINOR 1

/* Default chunking: a chunk ends when its uncompressed records would pass chunk_bytes or it
 * holds chunk_records iterations, whichever comes first (see docs/trace-format.md for why). */
#define TRACE_DEFAULT_CHUNK_BYTES   (1u << 20)
#define TRACE_DEFAULT_CHUNK_RECORDS 1024u

/* "Not given" for the caller's per-layer maximum update count in the footer. */
#define TRACE_NO_COUNT UINT64_MAX

/* Structure unit of the write masks (as policy.granularity). */
typedef enum {
    TRACE_GRAN_ROW = 0,
    TRACE_GRAN_CROSSBAR = 1,
    TRACE_GRAN_WEIGHT = 2
} trace_granularity;

/* Phase of an op template record. */
typedef enum {
    TRACE_PHASE_FORWARD = 0,
    TRACE_PHASE_BACKWARD = 1,
    TRACE_PHASE_GRADIENT = 2,
    TRACE_PHASE_UPDATE = 3
} trace_phase;

/* One mapped layer of the mapping table. */
typedef struct trace_layer {
    const char *name;         /* unique, non-empty */
    uint32_t k_rows, n_cols;  /* unrolled weight matrix: K wordlines x N bitlines */
    uint32_t row_tiles;       /* crossbar tiles along K */
    uint32_t col_tiles;       /* crossbar tiles along N */
    uint32_t slices;          /* bit slices per weight */
    uint32_t cells_per_slice; /* cells holding one slice of one weight (2 = differential) */
    uint32_t n_w;             /* weights per crossbar row */
    uint8_t granularity;      /* trace_granularity */
    uint32_t blocks;          /* G_l: bits in this layer's write mask, >= 1 */
    uint32_t crossbars;       /* crossbars the layer occupies */
} trace_layer;

/* One op template record: a generic (layer, phase, kind, counts) row. The kind and the
 * meaning of count j are named by the header's kind_names and count_names tables, so the
 * compiler that produces the template can evolve without a format change. */
#define TRACE_NO_LAYER UINT32_MAX /* an op of the digital units, not of a mapped layer */

typedef struct trace_op {
    uint32_t layer;         /* index into the layer table, or TRACE_NO_LAYER */
    uint8_t phase;          /* trace_phase */
    uint8_t kind;           /* index into kind_names */
    uint8_t n;              /* counts given; count j is named count_names[j] */
    const uint64_t *counts; /* n values */
} trace_op;

/* Everything the header records. The writer copies it (borrowed pointers only during
 * trace_writer_create); the reader owns the one it returns. */
typedef struct trace_header {
    uint16_t version_major, version_minor; /* filled by the reader; ignored by the writer */
    uint32_t flags;                        /* filled by the reader: TRACE_FLAG_* */
    const char *producer;                  /* e.g. "essim 0.1.0"; NULL = "" */
    const char *network, *dataset;         /* NULL = "" */
    uint64_t seed;
    char config_hash[17];    /* 16 lower-case hex digits (cfg_hash) and a NUL */
    const char *config_yaml; /* the full effective configuration (cfg_dump); NULL = "" */
    uint32_t n_layers;
    const trace_layer *layers;
    uint32_t n_kinds;
    const char *const *kind_names;
    uint32_t n_count_names;
    const char *const *count_names;
    uint32_t n_ops;
    const trace_op *ops;
    /* training images per epoch (format 2.1): with train.batch B, iteration i holds B images
     * except the last of each epoch, which holds the rest (trace_iteration_images); 0 =
     * unknown (format 2.0, synthetic traces): every iteration holds B */
    uint64_t epoch_images;
    /* filled by the reader: the writer's chunk limits (largest uncompressed chunk, most
     * records per chunk) and the file offset of the first chunk */
    uint32_t chunk_bytes_max, chunk_records_max;
    uint64_t header_bytes;
} trace_header;

#define TRACE_FLAG_DIRECT 1u /* written in place (trace_writer_options.direct) */

/* The per-iteration values of a record. */
typedef struct trace_iter {
    uint64_t iteration; /* strictly increasing within a trace */
    uint32_t epoch;
    double lr;
    float loss;
} trace_iter;

/* One layer's write mask for trace_writer_append: set exactly one of the three forms, or
 * none of them for "no block written" (count 0) or "every block" (count == blocks).
 *   bits:    packed bitmap, ceil(G/8) bytes, block g is bit (g & 7) of byte g >> 3; bits past
 *            G in the last byte must be zero
 *   flags:   one byte per block, nonzero = written
 *   indices: `count` block indices, strictly increasing, each < G */
typedef struct trace_mask {
    const uint8_t *bits;
    const uint8_t *flags;
    const uint32_t *indices;
    uint32_t count; /* for indices (and for the none/every form); ignored for bits/flags */
} trace_mask;

/* ---- writer ------------------------------------------------------------------------------ */

typedef struct trace_writer trace_writer;

typedef struct trace_writer_options {
    /* 0 (default): write "<path>.part", fsync and rename it over path on close, so path never
     * holds a half trace; a crash leaves <path>.part, whose complete chunks are readable in
     * salvage mode. 1: write path itself (a crash leaves a truncated trace under the final
     * name, readable in salvage mode). Either way every finished chunk is flushed to the OS. */
    int direct;
    uint32_t chunk_bytes;   /* 0 = TRACE_DEFAULT_CHUNK_BYTES; at least 4096 */
    uint32_t chunk_records; /* 0 = TRACE_DEFAULT_CHUNK_RECORDS */
    int level;              /* zlib level 1..9; 0 = 4 */
} trace_writer_options;

/* Create the trace at `path` and write its header. hdr is validated (layer names unique, G >= 1,
 * ops naming existing layers/kinds/counts, a 16-hex-digit config hash) and copied. opt may be
 * NULL (defaults). ES_EINVAL for a bad header, ES_EIO if the file cannot be created. */
int trace_writer_create(const char *path, const trace_header *hdr, const trace_writer_options *opt,
                        trace_writer **out, es_err *err);

/* Append one iteration: masks has one entry per layer, in layer-table order. Picks the smaller
 * encoding per layer; ends the chunk when it is full. ES_EINVAL (nothing written) for an index
 * out of range or out of order, bits past G, or an iteration not above the previous one. */
int trace_writer_append(trace_writer *w, const trace_iter *it, const trace_mask *masks,
                        es_err *err);

/* End the current chunk now (no-op if it is empty), so everything appended so far is on disk
 * as complete chunks. Call it right before saving a training checkpoint: then
 * trace_writer_resume can continue the trace from that checkpoint, byte-identical to an
 * uninterrupted run that flushed at the same iterations. */
int trace_writer_flush(trace_writer *w, es_err *err);

/* Finish: last chunk, footer (totals computed by the writer; max_count = the caller's
 * per-layer maximum update count, which may include writes before the trace began, or NULL
 * for "not given"), fsync, and the rename in the default mode. Frees w whatever happens. */
int trace_writer_close(trace_writer *w, const uint64_t *max_count, es_err *err);

/* Abandon: discard unfinished records and free w (NULL is fine). The default mode removes
 * "<path>.part"; direct mode leaves the complete chunks already in path. */
void trace_writer_abort(trace_writer *w);

/* Continue an interrupted trace (the file a crash or trace_writer_abort left: "<path>.part",
 * or path with opt->direct) after `last_iteration`, which must end a complete chunk (see
 * trace_writer_flush). Everything after it is cut off; the header must match hdr (network,
 * config hash, layer table). last_iteration = TRACE_NO_COUNT keeps no iteration at all.
 * ES_EFORMAT with a message if the trace cannot be continued there. */
int trace_writer_resume(const char *path, const trace_header *hdr, const trace_writer_options *opt,
                        uint64_t last_iteration, trace_writer **out, es_err *err);

/* Iterations appended so far (including those a resume kept). */
uint64_t trace_writer_records(const trace_writer *w);

/* ---- reader ------------------------------------------------------------------------------ */

typedef struct trace_reader trace_reader;

typedef struct trace_reader_options {
    /* 0: open fails unless the file is complete (footer present), and any damage is an error
     * naming the chunk and iterations. 1 (salvage): open needs only an intact header; next()
     * returns exactly the intact prefix, then 0, and trace_reader_damage() says what is wrong. */
    int salvage;
} trace_reader_options;

/* The footer's totals (per-layer arrays have n_layers entries). */
typedef struct trace_footer {
    uint64_t records;                         /* iterations recorded */
    uint64_t first_iteration, last_iteration; /* TRACE_NO_COUNT when records == 0 */
    uint32_t chunks;
    uint64_t raw_bytes;        /* uncompressed bytes of all chunks */
    uint64_t compressed_bytes; /* compressed payload bytes of all chunks */
    uint64_t encodings[4];     /* layer masks stored as none, all, bitmap, sparse */
    const uint64_t *writes;    /* per layer: blocks written, summed over iterations */
    const uint64_t *max_trace; /* per layer: the most often written block's count in this trace */
    const uint64_t *touched;   /* per layer: blocks written at least once */
    const uint64_t *max_count; /* per layer: the caller's value, or TRACE_NO_COUNT */
} trace_footer;

/* One decoded iteration; the pointers stay valid until the next call on the reader. */
typedef struct trace_record {
    uint64_t iteration;
    uint32_t epoch;
    double lr;
    float loss;
    const uint8_t *const *masks; /* per layer: packed bitmap as trace_mask.bits */
    const uint32_t *counts;      /* per layer: blocks written */
    uint64_t chunk;              /* chunk it came from */
} trace_record;

/* Reader statistics: how much it read and held. */
typedef struct trace_reader_stats {
    uint64_t chunks_read, records_read;
    uint64_t bytes_read;       /* file bytes consumed so far */
    uint64_t raw_bytes;        /* uncompressed bytes of the chunks loaded */
    uint64_t compressed_bytes; /* their compressed bytes */
    size_t memory, peak;       /* bytes allocated by the reader (zlib included): now, at most */
    size_t chunk_buffer_max;   /* the largest uncompressed chunk buffer it held */
} trace_reader_stats;

/* Open `path`, parse and validate the header (and, unless salvaging, that the trace is
 * complete). opt may be NULL (no salvage). ES_EIO if unreadable, ES_EFORMAT with a message
 * naming the file and the damage. */
int trace_reader_open(const char *path, const trace_reader_options *opt, trace_reader **out,
                      es_err *err);

const trace_header *trace_reader_header(const trace_reader *r);

/* The footer: read at open when present (always, unless salvaging), else NULL. */
const trace_footer *trace_reader_footer(const trace_reader *r);

/* The next iteration: 1 and *rec filled, 0 at the end, or < 0 (ES_EFORMAT, ES_EIO) with a
 * message such as "t.trc: chunk 12 (iterations 4096-4447): CRC mismatch ...". At the end of a
 * complete trace it checks the footer against the records it returned (after a seek, only
 * what it can). In salvage mode damage ends the stream (0) instead. */
int trace_reader_next(trace_reader *r, trace_record *rec, es_err *err);

/* Position so that next() returns the first iteration >= `iteration`; skips whole chunks by
 * their headers without decompressing them. */
int trace_reader_seek(trace_reader *r, uint64_t iteration, es_err *err);

/* What salvage mode stopped at (after next() returned 0), or NULL if the trace is intact. */
const char *trace_reader_damage(const trace_reader *r);

/* Per-block update counts of layer l over the iterations returned so far (G_l values). */
const uint32_t *trace_reader_block_counts(const trace_reader *r, uint32_t layer);

void trace_reader_stats_get(const trace_reader *r, trace_reader_stats *st);

void trace_reader_close(trace_reader *r);

/* ---- helpers ----------------------------------------------------------------------------- */

/* Index of the first set bit >= from in a packed mask of g bits, or g if there is none. */
uint32_t trace_mask_next(const uint8_t *bits, uint32_t g, uint32_t from);

/* Static names: "forward", ... / "row", ... ("?" when out of range). */
const char *trace_phase_name(int phase);
/* Images in the record of `iteration` of a run with mini-batch `batch` and epoch_images
 * training images per epoch (trace_header.epoch_images): batch, except the last iteration of
 * each epoch, which holds the rest; batch when epoch_images or batch is 0. */
uint64_t trace_iteration_images(uint64_t epoch_images, uint64_t batch, uint64_t iteration);
const char *trace_granularity_name(int gran);

/* ---- synthetic traces (tests, benchmarks: `essim trace synth`) --------------------------- */

typedef struct trace_synth_options {
    uint64_t iterations;
    double density;       /* each block written i.i.d. with this probability */
    uint64_t seed;        /* mask stream "trace/synth" of this seed */
    int input;            /* 0 packed bits, 1 flags, 2 indices: the form given to the writer */
    uint64_t flush_every; /* trace_writer_flush every N iterations (0 = never) */
    uint64_t stop_after;  /* abandon after N iterations without a footer (0 = finish) */
    uint32_t per_epoch;   /* iterations per epoch for the epoch/lr/loss fields (0 = 391) */
} trace_synth_options;

typedef struct trace_synth_result {
    uint64_t iterations, file_bytes, compressed_bytes, raw_bytes, blocks_written;
    double append_seconds; /* host time spent inside trace_writer_append/flush/close */
    double entropy_bytes;  /* G x T x H(density) / 8 */
} trace_synth_result;

/* Write a synthetic trace with hdr's layers and i.i.d. Bernoulli masks (deterministic for a
 * seed), timing only the writer calls. */
int trace_synth(const char *path, const trace_header *hdr, const trace_writer_options *wopt,
                const trace_synth_options *sopt, trace_synth_result *res, es_err *err);

#endif
