/* ds_idx.c - the IDX loader (MNIST, Fashion-MNIST): a big-endian header of magic and
 * dimensions followed by unsigned bytes, read plain or gzipped through zlib into a ds_dataset. */
#define _POSIX_C_SOURCE 200809L
#include "ds_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Open an IDX file and read its header: magic 0x000008NN (unsigned bytes, NN dimensions) and
 * NN big-endian uint32 sizes. */
static int idx_open(const char *path, int want_ndim, const char *kind, gzFile *gz, uint32_t *dims,
                    es_err *err)
{
    uint8_t hdr[4 + 4 * 3];
    size_t got;
    ES_TRY(ds_gz_open(path, gz, err));
    int rc = ds_gz_read(*gz, path, hdr, 4, 0, &got, err);
    if (rc < 0) goto fail;
    if (got < 4) {
        rc = es_fail_at(err, ES_EFORMAT, path, 0, 0,
                        "truncated: %zu bytes, too short for an IDX header", got);
        goto fail;
    }
    uint32_t magic = be32(hdr), want = 0x00000800u | (uint32_t)want_ndim;
    if (hdr[0] != 0 || hdr[1] != 0 || hdr[2] != 0x08) {
        rc = es_fail_at(err, ES_EFORMAT, path, 0, 0,
                        "bad magic number 0x%08x (expected 0x%08x for an IDX %s file of unsigned "
                        "bytes)",
                        magic, want, kind);
        goto fail;
    }
    if (hdr[3] != want_ndim) {
        rc = es_fail_at(err, ES_EFORMAT, path, 0, 0,
                        "IDX file has %d dimension%s (magic 0x%08x), expected %d for %s", hdr[3],
                        hdr[3] == 1 ? "" : "s", magic, want_ndim, kind);
        goto fail;
    }
    rc = ds_gz_read(*gz, path, hdr + 4, 4 * (size_t)want_ndim, 4, &got, err);
    if (rc < 0) goto fail;
    if (got < 4 * (size_t)want_ndim) {
        rc = es_fail_at(err, ES_EFORMAT, path, 0, 0,
                        "truncated: the IDX header needs %d bytes, the file has %zu",
                        4 + 4 * want_ndim, 4 + got);
        goto fail;
    }
    for (int d = 0; d < want_ndim; d++) {
        dims[d] = be32(hdr + 4 + 4 * d);
        if (dims[d] == 0) {
            rc = es_fail_at(err, ES_EFORMAT, path, 0, 0, "dimension %d of the IDX header is 0", d);
            goto fail;
        }
    }
    return ES_OK;
fail:
    gzclose(*gz);
    *gz = NULL;
    return rc;
}

/* For a plain (not gzipped) file the size is known before reading, so a truncated file is
 * reported before allocating what its header promises. */
static int check_plain_size(gzFile gz, const char *path, size_t header, size_t need,
                            const char *what, es_err *err)
{
    struct stat st;
    if (!gzdirect(gz) || stat(path, &st) != 0) return ES_OK;
    size_t have = (size_t)st.st_size > header ? (size_t)st.st_size - header : 0;
    if (have < need)
        return es_fail_at(err, ES_EFORMAT, path, 0, 0,
                          "truncated: the header promises %s (%zu bytes after the %zu-byte "
                          "header), the file holds %zu",
                          what, need, header, have);
    return ES_OK;
}

int ds_load_idx(const char *images_path, const char *labels_path, int classes, const char *name,
                ds_dataset **out, es_err *err)
{
    *out = NULL;
    if (!images_path || !labels_path) return es_fail(err, ES_EINVAL, "ds_load_idx: NULL path");
    if (classes <= 0 || classes > 65535)
        return es_fail(err, ES_EINVAL, "ds_load_idx: %d classes", classes);
    gzFile gi = NULL, gl = NULL;
    ds_dataset *ds = NULL;
    uint32_t idims[3], ldims[1];
    uint8_t *pix = NULL;
    char what[128];
    size_t got;
    int rc = idx_open(images_path, 3, "image", &gi, idims, err);
    if (rc < 0) goto fail;
    rc = idx_open(labels_path, 1, "label", &gl, ldims, err);
    if (rc < 0) goto fail;
    if (idims[0] != ldims[0]) {
        rc = es_fail_at(err, ES_EFORMAT, images_path, 0, 0,
                        "%u images, but the label file %s has %u labels", idims[0], labels_path,
                        ldims[0]);
        goto fail;
    }
    size_t n = idims[0], h = idims[1], w = idims[2];
    if (h > 65535 || w > 65535) {
        rc = es_fail_at(err, ES_EFORMAT, images_path, 0, 0, "image size %zux%zu is implausible", h,
                        w);
        goto fail;
    }
    size_t img = h * w;
    if (n > SIZE_MAX / img) {
        rc = es_fail_at(err, ES_EFORMAT, images_path, 0, 0, "%zu images of %zux%zu overflow memory",
                        n, h, w);
        goto fail;
    }
    size_t need = n * img;
    snprintf(what, sizeof what, "%zu images of %zux%zu", n, h, w);
    rc = check_plain_size(gi, images_path, 16, need, what, err);
    if (rc < 0) goto fail;
    snprintf(what, sizeof what, "%zu labels", n);
    rc = check_plain_size(gl, labels_path, 8, n, what, err);
    if (rc < 0) goto fail;

    /* A gzipped file's size says nothing about what it holds: read the images into a buffer
     * that grows with what actually arrives, so a 160-byte file claiming 2^31 images fails as
     * truncated after reading its few bytes instead of asking for gigabytes first. */
    pix = NULL;
    size_t cap = 0;
    got = 0;
    while (got < need) {
        if (got == cap) {
            size_t ncap = cap ? (cap > need / 2 ? need : 2 * cap) : ES_MIN(need, (size_t)1 << 24);
            uint8_t *nb = realloc(pix, ncap);
            if (!nb) {
                rc = es_fail_at(err, ES_ENOMEM, images_path, 0, 0,
                                "out of memory for %zu bytes of images (the header promises %zu "
                                "images of %zux%zu)",
                                ncap, n, h, w);
                goto fail;
            }
            pix = nb;
            cap = ncap;
        }
        size_t part = 0, want = cap - got;
        rc = ds_gz_read(gi, images_path, pix + got, want, 16 + got, &part, err);
        if (rc < 0) goto fail;
        got += part;
        if (part < want) break; /* short read: the data ended */
    }
    if (got < need) {
        rc = es_fail_at(err, ES_EFORMAT, images_path, 0, 0,
                        "truncated: the header promises %zu images of %zux%zu (%zu bytes), the "
                        "file holds %zu; image %zu is incomplete",
                        n, h, w, need, got, got / img);
        goto fail;
    }
    ds = ds_alloc(name, 0, 1, (int)h, (int)w, classes);
    uint16_t *lab = malloc(n ? n * sizeof *lab : 1);
    if (!ds || !lab) {
        free(lab);
        rc = es_fail_at(err, ES_ENOMEM, images_path, 0, 0,
                        "out of memory for %zu images of %zux%zu", n, h, w);
        goto fail;
    }
    free(ds->images);
    free(ds->labels);
    ds->images = pix;
    ds->labels = lab;
    ds->n = n;
    pix = NULL;
    snprintf(what, sizeof what, "%zu images", n);
    rc = ds_gz_expect_end(gi, images_path, 16 + need, what, err);
    if (rc < 0) goto fail;

    /* Labels arrive as bytes: read them into the front of the uint16 array and widen from the
     * back, which never overwrites a byte before it is used (2i >= i). */
    uint8_t *lb = (uint8_t *)ds->labels;
    rc = ds_gz_read(gl, labels_path, lb, n, 8, &got, err);
    if (rc < 0) goto fail;
    if (got < n) {
        rc = es_fail_at(err, ES_EFORMAT, labels_path, 0, 0,
                        "truncated: the header promises %zu labels, the file holds %zu", n, got);
        goto fail;
    }
    snprintf(what, sizeof what, "%zu labels", n);
    rc = ds_gz_expect_end(gl, labels_path, 8 + n, what, err);
    if (rc < 0) goto fail;
    for (size_t i = n; i-- > 0;)
        ds->labels[i] = lb[i];
    for (size_t i = 0; i < n; i++) {
        if (ds->labels[i] >= classes) {
            rc = es_fail_at(err, ES_EFORMAT, labels_path, 0, 0,
                            "label %u of record %zu (byte offset %zu) is out of range: the "
                            "dataset has %d classes",
                            ds->labels[i], i, 8 + i, classes);
            goto fail;
        }
    }
    gzclose(gi);
    gzclose(gl);
    gi = gl = NULL;
    rc = ds_finish(ds, err);
    if (rc < 0) goto fail;
    *out = ds;
    return ES_OK;
fail:
    free(pix);
    if (gi) gzclose(gi);
    if (gl) gzclose(gl);
    ds_destroy(ds);
    return rc;
}

int ds_load_mnist_family(const char *subdir, const char *default_dir, const char *dir,
                         ds_split split, ds_dataset **out, es_err *err)
{
    *out = NULL;
    const char *pfx = split == DS_TRAIN ? "train" : "t10k";
    char images_base[64], labels_base[64], d[DS_PATH_MAX];
    char ipath[DS_PATH_MAX + 64], lpath[DS_PATH_MAX + 64], name[64];
    snprintf(images_base, sizeof images_base, "%s-images-idx3-ubyte", pfx);
    snprintf(labels_base, sizeof labels_base, "%s-labels-idx1-ubyte", pfx);
    ES_TRY(ds_find_dir(subdir, subdir, default_dir, dir, images_base, d, sizeof d, err));
    ds_pick_file(d, images_base, ipath, sizeof ipath);
    ds_pick_file(d, labels_base, lpath, sizeof lpath);
    snprintf(name, sizeof name, "%s/%s", subdir, split == DS_TRAIN ? "train" : "test");
    return ds_load_idx(ipath, lpath, 10, name, out, err);
}

int ds_load_fashion_mnist(const char *dir, ds_split split, ds_dataset **out, es_err *err)
{
    return ds_load_mnist_family("fashion-mnist", DS_FASHION_MNIST_DIR, dir, split, out, err);
}
