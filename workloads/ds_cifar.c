/* ds_cifar.c - the CIFAR-10 and CIFAR-100 binary-version loaders: fixed-size records of label
 * byte(s) and 3x32x32 planar pixels (R plane, G plane, B plane, each row-major), read plain or
 * gzipped into a ds_dataset. */
#define _POSIX_C_SOURCE 200809L
#include "ds_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CIFAR_PIXELS 3072

/* Records are read in chunks of this many into one reused buffer: the record count is only
 * known once a file ends, and a reused buffer avoids faulting in a fresh copy of every file. */
#define CHUNK_RECORDS 512

typedef struct cifar_fmt {
    int label_bytes;                /* 1 (CIFAR-10: label) or 2 (CIFAR-100: coarse, fine) */
    const int *label_limits;        /* per label byte: values must be below this */
    const char *const *label_names; /* per label byte, for messages */
} cifar_fmt;

/* Append the records of one file to ds, whose arrays have room for *cap images. The last
 * label byte is the one kept, the others are only range-checked. */
static int load_file(ds_dataset *ds, size_t *cap, const char *path, const cifar_fmt *fmt,
                     uint8_t *buf, size_t chunk, es_err *err)
{
    gzFile gz;
    ES_TRY(ds_gz_open(path, &gz, err));
    const int lb = fmt->label_bytes;
    const size_t rec = (size_t)lb + CIFAR_PIXELS, want = chunk * rec;
    size_t offset = 0, record = 0;
    int rc = ES_OK;
    for (;;) {
        size_t got;
        rc = ds_gz_read(gz, path, buf, want, offset, &got, err);
        if (rc < 0) break;
        size_t nrec = got / rec;
        if (got % rec) { /* only possible at the end of the file */
            rc = es_fail_at(err, ES_EFORMAT, path, 0, 0,
                            "truncated: %zu bytes is not a whole number of %zu-byte records; "
                            "record %zu (offset %zu) has only %zu bytes",
                            offset + got, rec, record + nrec, offset + nrec * rec, got % rec);
            break;
        }
        for (size_t r = 0; r < nrec && rc == ES_OK; r++) {
            const uint8_t *p = buf + r * rec;
            for (int k = 0; k < lb; k++)
                if (p[k] >= fmt->label_limits[k]) {
                    rc = es_fail_at(err, ES_EFORMAT, path, 0, 0,
                                    "%s label %u of record %zu (offset %zu) is out of range: "
                                    "there are %d classes",
                                    fmt->label_names[k], p[k], record + r,
                                    offset + r * rec + (size_t)k, fmt->label_limits[k]);
                    break;
                }
        }
        if (rc < 0) break;
        if (ds->n + nrec > *cap) {
            size_t ncap = ES_MAX(2 * *cap, ds->n + nrec);
            if (ds_reserve(ds, ncap) < 0) {
                rc = es_fail_at(err, ES_ENOMEM, path, 0, 0, "out of memory for %zu images", ncap);
                break;
            }
            *cap = ncap;
        }
        for (size_t r = 0; r < nrec; r++) {
            const uint8_t *p = buf + r * rec;
            ds->labels[ds->n + r] = p[lb - 1];
            memcpy(ds->images + (ds->n + r) * CIFAR_PIXELS, p + lb, CIFAR_PIXELS);
        }
        ds->n += nrec;
        offset += got;
        record += nrec;
        if (got < want) break;
    }
    if (rc == ES_OK && record == 0)
        rc = es_fail_at(err, ES_EFORMAT, path, 0, 0, "empty file: no %zu-byte records", rec);
    gzclose(gz);
    return rc;
}

static int load_cifar(const char *dataset, const char *subdir, const char *dir, ds_split split,
                      const char *const *files, size_t nfiles, const cifar_fmt *fmt,
                      ds_dataset **out, es_err *err)
{
    char d[DS_PATH_MAX], path[DS_PATH_MAX + 64], name[64];
    *out = NULL;
    ES_TRY(ds_find_dir(dataset, subdir, NULL, dir, files[0], d, sizeof d, err));
    snprintf(name, sizeof name, "%s/%s", dataset, split == DS_TRAIN ? "train" : "test");
    /* Size the arrays once from the file sizes (CIFAR pixels barely compress, so twice the
     * size of a .gz is a safe guess); load_file grows them if the guess falls short. */
    const size_t rec = (size_t)fmt->label_bytes + CIFAR_PIXELS;
    size_t cap = 0;
    for (size_t f = 0; f < nfiles; f++) {
        struct stat st;
        ds_pick_file(d, files[f], path, sizeof path);
        size_t pl = strlen(path);
        if (stat(path, &st) == 0 && st.st_size > 0)
            cap += (size_t)st.st_size / rec * (pl > 3 && !strcmp(path + pl - 3, ".gz") ? 2 : 1);
    }
    ds_dataset *ds = ds_alloc(name, cap, 3, 32, 32, fmt->label_limits[fmt->label_bytes - 1]);
    /* the chunk buffer: no larger than the files can fill (a short file gets a short one) */
    const size_t chunk = ES_MIN((size_t)CHUNK_RECORDS, cap + 1);
    uint8_t *buf = malloc(chunk * rec);
    int rc = ES_OK;
    if (!ds || !buf) {
        rc = es_fail(err, ES_ENOMEM, "%s: out of memory for %zu images", dataset, cap);
        goto fail;
    }
    ds->n = 0;
    for (size_t f = 0; f < nfiles; f++) {
        ds_pick_file(d, files[f], path, sizeof path);
        rc = load_file(ds, &cap, path, fmt, buf, chunk, err);
        if (rc < 0) goto fail;
    }
    if (cap > ds->n && ds_reserve(ds, ds->n) < 0) {
        rc = es_fail(err, ES_ENOMEM, "%s: out of memory", dataset);
        goto fail;
    }
    rc = ds_finish(ds, err);
    if (rc < 0) goto fail;
    free(buf);
    *out = ds;
    return ES_OK;
fail:
    free(buf);
    ds_destroy(ds);
    return rc;
}

int ds_load_cifar10(const char *dir, ds_split split, ds_dataset **out, es_err *err)
{
    static const char *const train[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                        "data_batch_4.bin", "data_batch_5.bin"};
    static const char *const test[] = {"test_batch.bin"};
    static const int limits[] = {10};
    static const char *const names[] = {"CIFAR-10"};
    static const cifar_fmt fmt = {1, limits, names};
    return load_cifar("cifar10", "cifar-10-batches-bin", dir, split,
                      split == DS_TRAIN ? train : test, split == DS_TRAIN ? 5 : 1, &fmt, out, err);
}

int ds_load_cifar100(const char *dir, ds_split split, ds_dataset **out, es_err *err)
{
    static const char *const train[] = {"train.bin"};
    static const char *const test[] = {"test.bin"};
    static const int limits[] = {20, 100};
    static const char *const names[] = {"coarse", "fine"};
    static const cifar_fmt fmt = {2, limits, names};
    return load_cifar("cifar100", "cifar-100-binary", dir, split, split == DS_TRAIN ? train : test,
                      1, &fmt, out, err);
}
