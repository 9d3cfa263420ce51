/* ckpt.h - checkpoint files: a flat list of named, typed arrays with a CRC-32 over the whole
 * file, written atomically (temporary file + rename), so a run killed at any moment leaves
 * either the previous checkpoint or the new one, never a torn file.
 *
 * Layout (little-endian): "ESSIMCKP", u32 version (1), then per record u16 name length, name
 * bytes, u8 type (1 f32, 2 f64, 3 u64, 4 bytes), u64 element count, the elements; then the
 * trailer: u32 record count, u32 CRC-32 (zlib) of every preceding byte, "ENDC". */
#ifndef ES_CKPT_H
#define ES_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "es_common.h"

typedef struct ckpt_writer ckpt_writer;
typedef struct ckpt ckpt;

/* Start writing `path` (a temporary next to it; nothing replaces path until commit). */
int ckpt_begin(const char *path, ckpt_writer **out, es_err *err);
/* Append records; names are unique within a file (the caller's responsibility). Errors are
 * remembered and reported by ckpt_commit. */
void ckpt_put_f32(ckpt_writer *w, const char *name, const float *v, size_t n);
void ckpt_put_f64(ckpt_writer *w, const char *name, const double *v, size_t n);
void ckpt_put_u64(ckpt_writer *w, const char *name, const uint64_t *v, size_t n);
void ckpt_put_bytes(ckpt_writer *w, const char *name, const void *v, size_t n);
/* Finish: trailer, fsync, rename over path. Frees w whatever happens. */
int ckpt_commit(ckpt_writer *w, es_err *err);
/* Abandon: remove the temporary, free w. NULL is fine. */
void ckpt_abort(ckpt_writer *w);

/* Read and verify a whole checkpoint (magic, version, CRC, record bounds). ES_EIO if it
 * cannot be read, ES_EFORMAT (naming the file and what is wrong) if it is damaged. */
int ckpt_load(const char *path, ckpt **out, es_err *err);
void ckpt_free(ckpt *c);
/* Copy record `name` into dst, which holds exactly n elements of the record's type.
 * ES_EFORMAT if the record is missing or has another type or count. */
int ckpt_get_f32(const ckpt *c, const char *name, float *dst, size_t n, es_err *err);
int ckpt_get_f64(const ckpt *c, const char *name, double *dst, size_t n, es_err *err);
int ckpt_get_u64(const ckpt *c, const char *name, uint64_t *dst, size_t n, es_err *err);
int ckpt_get_bytes(const ckpt *c, const char *name, void *dst, size_t n, es_err *err);
/* Element count of a record, or 0 if absent. */
size_t ckpt_count(const ckpt *c, const char *name);

#endif
