/* ds_internal.h - helpers shared by the dataset loaders (ds_idx.c, ds_cifar.c, ds_synth.c)
 * and ds_dataset.c: allocation, zlib reads that turn every failure into a message naming the
 * file, and the directory search. Not part of the public API. */
#ifndef ES_DS_INTERNAL_H
#define ES_DS_INTERNAL_H

#include <zlib.h>

#include "ds_dataset.h"

#define DS_PATH_MAX 4096

/* A dataset with room for n images of c x h x w (ds->n = n; pixels and labels
 * uninitialised, lut allocated); NULL if out of memory or the size overflows. Large pixel
 * arrays are placed on transparent huge pages where the system offers them. */
ds_dataset *ds_alloc(const char *name, size_t n, int c, int h, int w, int classes);

/* Reallocate the pixel and label arrays for `cap` images (cap >= ds->n); ds->n is unchanged.
 * Loaders that learn the count while reading track their capacity with it. */
int ds_reserve(ds_dataset *ds, size_t cap);

/* Compute the split's statistics and build the normalisation table. */
int ds_finish(ds_dataset *ds, es_err *err);

/* Open a file, plain or gzipped, for reading with a large buffer. ES_EIO names the file. */
int ds_gz_open(const char *path, gzFile *out, es_err *err);

/* Read up to len bytes; *got receives how many arrived. A short count with ES_OK means the
 * end of the data; a gzip stream that ends early or fails its checks is ES_EFORMAT, an OS
 * read failure ES_EIO. `offset` (the uncompressed position of buf) goes into messages. */
int ds_gz_read(gzFile gz, const char *path, void *buf, size_t len, size_t offset, size_t *got,
               es_err *err);

/* After the last expected byte: confirm the data ends here. Reading past the end is what makes
 * zlib check the gzip trailer (CRC-32 and length), so this is where corruption of the final
 * block shows up. Extra bytes are ES_EFORMAT ("`what` ends at offset ..."). */
int ds_gz_expect_end(gzFile gz, const char *path, size_t offset, const char *what, es_err *err);

/* Path of `base` inside `dirpath`, plain if it exists, else "<base>.gz" if that exists, else
 * the plain name (so a later open reports the missing file by its plain name). Returns 1 if
 * either exists. */
int ds_pick_file(const char *dirpath, const char *base, char *out, size_t outsz);

/* Resolve a dataset's directory by the search order documented in ds_dataset.h; `probe` is
 * the file whose presence selects a directory. */
int ds_find_dir(const char *dataset, const char *subdir, const char *default_dir, const char *dir,
                const char *probe, char *out, size_t outsz, es_err *err);

#endif
