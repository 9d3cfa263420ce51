/* npy.h - NumPy .npy and .npz files: how ESSIM exports weights so NumPy/PyTorch users can load
 * them (np.load), and imports them back. .npy is format version 1.0 on write (versions 1-3 on
 * read); .npz is a zip archive of .npy members, written stored or deflated, read either way.
 * Only little-endian, C-order arrays of float32/float64/int64/uint8 are handled. */
#ifndef ES_NPY_H
#define ES_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "es_common.h"

#define NPY_MAX_DIMS 32 /* NumPy's own limit for .npy files written by 1.x */

typedef enum {
    NPY_F32 = 0, /* '<f4' */
    NPY_F64 = 1, /* '<f8' (read as float32) */
    NPY_I64 = 2, /* '<i8' */
    NPY_U8 = 3,  /* '|u1' */
} npy_dtype;

/* An array read from a file. Owns `data`; release with npy_array_free. */
typedef struct npy_array {
    npy_dtype dtype;      /* type of `data`: NPY_F32 for '<f4' and '<f8' files, else as stored */
    npy_dtype file_dtype; /* type in the file */
    int ndim;             /* 0 for a scalar, shape () */
    uint64_t shape[NPY_MAX_DIMS];
    size_t count; /* product of the shape (1 for a scalar) */
    void *data;   /* count elements of dtype, C order */
} npy_array;

/* Bytes per element, and the NumPy descr string ("<f4", ...). */
size_t npy_dtype_size(npy_dtype dtype);
const char *npy_dtype_descr(npy_dtype dtype);

/* Free an array's data and zero it; the struct itself is the caller's. NULL is fine. */
void npy_array_free(npy_array *a);

/* ---- .npy ----------------------------------------------------------------------------- */

/* Write `data` (ndim dimensions of the given shape, C order; ndim 0 is a scalar) as a
 * version 1.0 .npy file, replacing `path` atomically (temporary file + rename). The header is
 * padded with spaces so the data starts at a multiple of 64 bytes. */
int npy_save(const char *path, npy_dtype dtype, const void *data, int ndim, const uint64_t *shape,
             es_err *err);

/* Read a .npy file into *out (zeroed first). ES_EIO if it cannot be read; ES_EFORMAT naming the
 * file for a bad magic string, unsupported dtype or version, Fortran order, a malformed header
 * or truncated data. */
int npy_load(const char *path, npy_array *out, es_err *err);

/* The same two in memory: encode allocates *buf (free it); decode reads buf[0..len) and uses
 * `what` (a file or member name) in its messages. */
int npy_encode(npy_dtype dtype, const void *data, int ndim, const uint64_t *shape, uint8_t **buf,
               size_t *len, es_err *err);
int npy_decode(const uint8_t *buf, size_t len, const char *what, npy_array *out, es_err *err);

/* ---- .npz ----------------------------------------------------------------------------- */

/* Writing: create, add one member per array, commit. Members are named "<name>.npy" (".npy"
 * is appended unless present), so np.load(path)["conv1.weight"] finds member
 * "conv1.weight.npy". The archive is written to a temporary file and renamed over `path` by
 * commit; abort (or a failed commit) leaves `path` untouched. Output is deterministic (fixed
 * timestamps), so the same arrays give the same bytes. */
typedef struct npy_npz_writer npy_npz_writer;

/* deflate: 0 stores members (np.savez), 1 compresses them (np.savez_compressed). */
int npy_npz_create(const char *path, int deflate, npy_npz_writer **out, es_err *err);
/* A duplicate name is ES_EINVAL and leaves the archive as it was. */
int npy_npz_add(npy_npz_writer *w, const char *name, npy_dtype dtype, const void *data, int ndim,
                const uint64_t *shape, es_err *err);
/* Write the central directory and rename into place. Always frees w. */
int npy_npz_commit(npy_npz_writer *w, es_err *err);
/* Discard the archive and free w; NULL is fine. */
void npy_npz_abort(npy_npz_writer *w);

/* Reading: the archive is read into memory once; members are decoded on request. */
typedef struct npy_npz npy_npz;

int npy_npz_open(const char *path, npy_npz **out, es_err *err);
/* Number of members and the i-th member's key: its name without ".npy", in archive order. */
size_t npy_npz_count(const npy_npz *z);
const char *npy_npz_name(const npy_npz *z, size_t i);
/* Read member `name` (the key, or the full member name with ".npy") into *out. A missing
 * member, a CRC mismatch or a bad .npy inside is ES_EFORMAT naming the archive and member. */
int npy_npz_read(const npy_npz *z, const char *name, npy_array *out, es_err *err);
/* Release; NULL is fine. */
void npy_npz_close(npy_npz *z);

#endif
