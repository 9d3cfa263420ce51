/* ds_dataset.c - the dataset object, its normalisation, the directory search, loading by name,
 * and the per-step batch filler and epoch order. File formats live in ds_idx.c and ds_cifar.c,
 * synthetic data in ds_synth.c. */
#define _POSIX_C_SOURCE 200809L
#include "ds_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

/* ---- the object ------------------------------------------------------------------------ */

/* Pixel arrays are the big allocation of a run (150 MB for CIFAR-10) and are touched all over
 * on every step. On 4 KiB pages, first-touch page faults were a third of CIFAR's load time on
 * a virtual machine, and random batch gathers miss the TLB; 2 MiB pages fix both. Only a hint:
 * without THP support this is an ordinary allocation. The result is released with free(). */
static void *alloc_pixels(size_t bytes)
{
    const size_t huge = (size_t)2 << 20;
#if defined(MADV_HUGEPAGE)
    if (bytes >= 4 * huge) {
        void *p = NULL;
        if (posix_memalign(&p, huge, bytes) != 0) return NULL;
        madvise(p, bytes, MADV_HUGEPAGE);
        return p;
    }
#else
    (void)huge;
#endif
    return malloc(bytes ? bytes : 1);
}

ds_dataset *ds_alloc(const char *name, size_t n, int c, int h, int w, int classes)
{
    if (c <= 0 || c > DS_MAX_CHANNELS || h <= 0 || w <= 0) return NULL;
    size_t img = (size_t)c * (size_t)h * (size_t)w;
    if (n > SIZE_MAX / img || n > SIZE_MAX / sizeof(uint16_t)) return NULL;
    ds_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return NULL;
    snprintf(ds->name, sizeof ds->name, "%s", name ? name : "");
    ds->n = n;
    ds->c = c;
    ds->h = h;
    ds->w = w;
    ds->classes = classes;
    ds->images = alloc_pixels(n * img);
    /* malloc(0) may return NULL; an empty split is still a valid object. */
    ds->labels = malloc(n ? n * sizeof(uint16_t) : 1);
    ds->lut = malloc((size_t)c * 256 * sizeof(float));
    if (!ds->images || !ds->labels || !ds->lut) {
        ds_destroy(ds);
        return NULL;
    }
    for (int ch = 0; ch < c; ch++) {
        ds->mean[ch] = 0.0f;
        ds->std[ch] = 1.0f;
    }
    return ds;
}

int ds_reserve(ds_dataset *ds, size_t cap)
{
    size_t img = ds_image_bytes(ds);
    if (cap < ds->n || cap > SIZE_MAX / img || cap > SIZE_MAX / sizeof(uint16_t)) return ES_ENOMEM;
    uint8_t *im = realloc(ds->images, cap ? cap * img : 1);
    if (!im) return ES_ENOMEM;
    ds->images = im;
    uint16_t *lb = realloc(ds->labels, cap ? cap * sizeof(uint16_t) : 1);
    if (!lb) return ES_ENOMEM;
    ds->labels = lb;
    return ES_OK;
}

void ds_destroy(ds_dataset *ds)
{
    if (!ds) return;
    free(ds->images);
    free(ds->labels);
    free(ds->lut);
    free(ds);
}

void ds_compute_stats(const ds_dataset *ds, float *mean, float *std)
{
    size_t hw = (size_t)ds->h * (size_t)ds->w, img = ds_image_bytes(ds);
    for (int ch = 0; ch < ds->c; ch++) {
        /* A histogram makes the sums exact and the pass cheap; four interleaved histograms
         * keep consecutive equal pixels (common: black backgrounds) from serialising on one
         * counter. */
        uint64_t hist[4][256];
        memset(hist, 0, sizeof hist);
        for (size_t i = 0; i < ds->n; i++) {
            const uint8_t *p = ds->images + i * img + (size_t)ch * hw;
            size_t k = 0;
            for (; k + 4 <= hw; k += 4) {
                hist[0][p[k]]++;
                hist[1][p[k + 1]]++;
                hist[2][p[k + 2]]++;
                hist[3][p[k + 3]]++;
            }
            for (; k < hw; k++)
                hist[0][p[k]]++;
        }
        double cnt = 0.0, s1 = 0.0, s2 = 0.0;
        for (int v = 0; v < 256; v++) {
            double h = (double)(hist[0][v] + hist[1][v] + hist[2][v] + hist[3][v]);
            cnt += h;
            s1 += h * v;
            s2 += h * v * v;
        }
        double m = cnt > 0 ? s1 / cnt : 0.0;
        double var = cnt > 0 ? s2 / cnt - m * m : 0.0;
        mean[ch] = (float)(m / 255.0);
        /* A constant channel has no spread; 1 keeps the normalisation a plain shift. */
        std[ch] = var > 0 ? (float)(sqrt(var) / 255.0) : 1.0f;
    }
}

static void build_lut(ds_dataset *ds)
{
    for (int ch = 0; ch < ds->c; ch++)
        for (int v = 0; v < 256; v++)
            ds->lut[ch * 256 + v] =
                (float)(((double)v / 255.0 - (double)ds->mean[ch]) / (double)ds->std[ch]);
}

int ds_set_norm(ds_dataset *ds, const float *mean, const float *std, es_err *err)
{
    if (!ds || !mean || !std) return es_fail(err, ES_EINVAL, "ds_set_norm: NULL argument");
    for (int ch = 0; ch < ds->c; ch++)
        if (!(std[ch] > 0.0f) || !isfinite(std[ch]) || !isfinite(mean[ch]))
            return es_fail(err, ES_ERANGE,
                           "%s: normalisation of channel %d needs a finite mean "
                           "and a std > 0 (got mean %g, std %g)",
                           ds->name, ch, (double)mean[ch], (double)std[ch]);
    for (int ch = 0; ch < ds->c; ch++) {
        ds->mean[ch] = mean[ch];
        ds->std[ch] = std[ch];
    }
    build_lut(ds);
    return ES_OK;
}

int ds_finish(ds_dataset *ds, es_err *err)
{
    float mean[DS_MAX_CHANNELS], std[DS_MAX_CHANNELS];
    ds_compute_stats(ds, mean, std);
    return ds_set_norm(ds, mean, std, err);
}

/* ---- zlib reads ------------------------------------------------------------------------ */

int ds_gz_open(const char *path, gzFile *out, es_err *err)
{
    *out = NULL;
    int fd = -1;
    uint64_t size = 0;
    ES_TRY(es_open_input_fd(path, "dataset file", es_limit(ES_LIMIT_BINARY_BYTES, (uint64_t)4 << 30),
                            ES_LIMIT_BINARY_BYTES, &fd, &size, err));
    errno = 0;
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        int e = errno;
        close(fd);
        if (e == 0) return es_fail_at(err, ES_ENOMEM, path, 0, 0, "out of memory opening file");
        return es_fail_at(err, ES_EIO, path, 0, 0, "cannot open: %s", strerror(e));
    }
    /* The default 8 KiB buffer costs a system call per 8 KiB; a larger one is what makes a
     * 47 MB IDX file load in tens of milliseconds. zlib allocates three times this (input,
     * and twice for output), so a small file gets a buffer of its own size, not 768 KiB
     * (reads larger than the buffer are decompressed straight into the caller's memory). */
    unsigned want = 1u << 18;
    while (want > (1u << 13) && want / 2 >= size) want /= 2;
    gzbuffer(gz, want);
    *out = gz;
    return ES_OK;
}

static int gz_fail(gzFile gz, const char *path, size_t offset, es_err *err)
{
    int zerr = Z_OK;
    const char *zmsg = gzerror(gz, &zerr);
    switch (zerr) {
    case Z_ERRNO:
        return es_fail_at(err, ES_EIO, path, 0, 0, "read failed at offset %zu: %s", offset,
                          strerror(errno));
    case Z_BUF_ERROR:
        return es_fail_at(err, ES_EFORMAT, path, 0, 0,
                          "truncated gzip stream: the compressed data ends after %zu bytes of "
                          "output",
                          offset);
    case Z_MEM_ERROR: return es_fail_at(err, ES_ENOMEM, path, 0, 0, "out of memory in zlib");
    default: {
        /* gzerror prefixes its message with the path, which ours already carries. */
        size_t pl = strlen(path);
        if (zmsg && strncmp(zmsg, path, pl) == 0 && strncmp(zmsg + pl, ": ", 2) == 0)
            zmsg += pl + 2;
        /* No offset: zlib decompresses ahead of the reader, so where it noticed says little. */
        int crc = zmsg && strstr(zmsg, "incorrect data check");
        return es_fail_at(err, ES_EFORMAT, path, 0, 0, "corrupt gzip data (zlib: %s)%s",
                          zmsg ? zmsg : "unknown error",
                          crc ? ": the CRC-32 of the decompressed data does not match the one "
                                "stored, the file is damaged"
                              : "");
    }
    }
}

int ds_gz_read(gzFile gz, const char *path, void *buf, size_t len, size_t offset, size_t *got,
               es_err *err)
{
    size_t total = 0;
    *got = 0;
    while (total < len) {
        /* gzread counts in unsigned int and returns int. */
        unsigned chunk = (unsigned)ES_MIN(len - total, (size_t)1 << 30);
        int r = gzread(gz, (uint8_t *)buf + total, chunk);
        if (r < 0) return gz_fail(gz, path, offset + total, err);
        total += (size_t)r;
        if ((unsigned)r < chunk) {
            /* Short without an error is the end of the data; a gzip stream cut off mid-way
             * also returns short, with Z_BUF_ERROR pending. */
            int zerr = Z_OK;
            gzerror(gz, &zerr);
            if (zerr != Z_OK) return gz_fail(gz, path, offset + total, err);
            break;
        }
    }
    *got = total;
    return ES_OK;
}

int ds_gz_expect_end(gzFile gz, const char *path, size_t offset, const char *what, es_err *err)
{
    uint8_t extra;
    size_t got;
    ES_TRY(ds_gz_read(gz, path, &extra, 1, offset, &got, err));
    if (got)
        return es_fail_at(err, ES_EFORMAT, path, 0, 0,
                          "unexpected data after offset %zu (the file should end after %s)", offset,
                          what);
    return ES_OK;
}

/* ---- finding files --------------------------------------------------------------------- */

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

int ds_pick_file(const char *dirpath, const char *base, char *out, size_t outsz)
{
    char gzp[DS_PATH_MAX];
    if ((size_t)snprintf(out, outsz, "%s/%s", dirpath, base) >= outsz) return 0;
    if (is_file(out)) return 1;
    if ((size_t)snprintf(gzp, sizeof gzp, "%s.gz", out) >= sizeof gzp) return 0;
    if (is_file(gzp)) {
        snprintf(out, outsz, "%s", gzp);
        return 1;
    }
    return 0;
}

int ds_find_dir(const char *dataset, const char *subdir, const char *default_dir, const char *dir,
                const char *probe, char *out, size_t outsz, es_err *err)
{
    char cand[4][DS_PATH_MAX];
    int nc = 0;
    if (dir) {
        snprintf(cand[nc++], DS_PATH_MAX, "%s", dir);
        snprintf(cand[nc++], DS_PATH_MAX, "%s/%s", dir, subdir);
    } else {
        const char *env = getenv("ESSIM_DATA_DIR");
        if (env && *env) {
            snprintf(cand[nc++], DS_PATH_MAX, "%s/%s", env, subdir);
            snprintf(cand[nc++], DS_PATH_MAX, "%s", env);
        }
        if (default_dir) snprintf(cand[nc++], DS_PATH_MAX, "%s", default_dir);
    }
    char tmp[DS_PATH_MAX];
    for (int i = 0; i < nc; i++) {
        if (ds_pick_file(cand[i], probe, tmp, sizeof tmp)) {
            if ((size_t)snprintf(out, outsz, "%s", cand[i]) >= outsz)
                return es_fail(err, ES_EINVAL, "%s: directory name too long", cand[i]);
            return ES_OK;
        }
    }
    char list[3 * DS_PATH_MAX];
    size_t len = 0;
    list[0] = '\0';
    for (int i = 0; i < nc && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", cand[i]);
    if (nc == 0)
        return es_fail(err, ES_EIO,
                       "%s: cannot find %s[.gz]: no directory given and ESSIM_DATA_DIR is not set "
                       "(put the files in $ESSIM_DATA_DIR/%s/)",
                       dataset, probe, subdir);
    return es_fail(err, ES_EIO,
                   "%s: cannot find %s[.gz]; looked in: %s (pass a directory or set "
                   "ESSIM_DATA_DIR; see ds_dataset.h for the layout)",
                   dataset, probe, list);
}

/* ---- loading by name ------------------------------------------------------------------- */

int ds_load(const char *name, const char *dir, ds_split split, ds_dataset **out, es_err *err)
{
    *out = NULL;
    if (!name) return es_fail(err, ES_EINVAL, "dataset name is NULL");
    if (strcmp(name, "fashion-mnist") == 0) return ds_load_fashion_mnist(dir, split, out, err);
    if (strcmp(name, "mnist") == 0)
        return ds_load_mnist_family("mnist", NULL, dir, split, out, err);
    if (strcmp(name, "cifar10") == 0) return ds_load_cifar10(dir, split, out, err);
    if (strcmp(name, "cifar100") == 0) return ds_load_cifar100(dir, split, out, err);
    return es_fail(err, ES_EINVAL,
                   "unknown dataset '%s' (known: fashion-mnist, mnist, cifar10, cifar100)", name);
}

int ds_load_splits(const char *name, const char *dir, ds_dataset **train, ds_dataset **test,
                   es_err *err)
{
    *train = *test = NULL;
    ds_dataset *tr = NULL, *te = NULL;
    int rc = ds_load(name, dir, DS_TRAIN, &tr, err);
    if (rc < 0) goto fail;
    rc = ds_load(name, dir, DS_TEST, &te, err);
    if (rc < 0) goto fail;
    /* A network is built for one image shape: a test split of another would be read as
     * garbage (or out of bounds) at the first evaluation. */
    if (te->c != tr->c || te->h != tr->h || te->w != tr->w || te->classes != tr->classes) {
        rc = es_fail(err, ES_EFORMAT,
                     "%s: the test images (%s) are %dx%dx%d with %d classes, the training "
                     "images (%s) %dx%dx%d with %d: the two splits must match",
                     name, te->name, te->c, te->h, te->w, te->classes, tr->name, tr->c, tr->h,
                     tr->w, tr->classes);
        goto fail;
    }
    rc = ds_set_norm(te, tr->mean, tr->std, err);
    if (rc < 0) goto fail;
    *train = tr;
    *test = te;
    return ES_OK;
fail:
    ds_destroy(tr);
    ds_destroy(te);
    return rc;
}

/* ---- batches --------------------------------------------------------------------------- */

/* One channel plane with a shift of (dy, dx) and optional mirror; pixels from outside the
 * source are `padv` (the normalised value of black). Rows are split into the padded edges and
 * the valid middle so the inner loop is a plain table lookup. */
static void fill_plane_shifted(const uint8_t *src, float *dst, const float *lut, int h, int w,
                               int dy, int dx, int flip)
{
    const float padv = lut[0];
    /* Valid output columns: unflipped sx = x + dx, flipped sx = w-1-x + dx, 0 <= sx < w. */
    int x0 = flip ? ES_MAX(0, dx) : ES_MAX(0, -dx);
    int x1 = flip ? ES_MIN(w, w + dx) : ES_MIN(w, w - dx);
    if (x1 < x0) x1 = x0;
    for (int y = 0; y < h; y++) {
        float *drow = dst + (size_t)y * (size_t)w;
        int sy = y + dy;
        if (sy < 0 || sy >= h) {
            for (int x = 0; x < w; x++)
                drow[x] = padv;
            continue;
        }
        const uint8_t *srow = src + (size_t)sy * (size_t)w;
        for (int x = 0; x < x0; x++)
            drow[x] = padv;
        if (flip) {
            const uint8_t *s = srow + (w - 1 + dx);
            for (int x = x0; x < x1; x++)
                drow[x] = lut[s[-x]];
        } else {
            const uint8_t *s = srow + dx;
            for (int x = x0; x < x1; x++)
                drow[x] = lut[s[x]];
        }
        for (int x = x1; x < w; x++)
            drow[x] = padv;
    }
}

int ds_batch_fill(const ds_dataset *ds, const uint32_t *idx, size_t count, const ds_augment *aug,
                  rng_stream *rng, float *x, int *labels, es_err *err)
{
    if (!ds || (!idx && count) || (!x && count))
        return es_fail(err, ES_EINVAL, "ds_batch_fill: NULL argument");
    if (aug && (aug->crop_pad < 0 || aug->crop_pad > 1024))
        return es_fail(err, ES_EINVAL, "ds_batch_fill: crop padding %d out of range",
                       aug->crop_pad);
    if (aug && (aug->crop_pad || aug->flip) && !rng)
        return es_fail(err, ES_EINVAL, "ds_batch_fill: augmentation needs a random stream");
    /* Check every index before drawing anything, so a failed call leaves the stream as it was. */
    for (size_t s = 0; s < count; s++)
        if (idx[s] >= ds->n)
            return es_fail(err, ES_ERANGE,
                           "%s: batch index %u (position %zu) out of range (%zu "
                           "images)",
                           ds->name, idx[s], s, ds->n);
    const size_t hw = (size_t)ds->h * (size_t)ds->w, img = ds_image_bytes(ds);
    const int pad = aug ? aug->crop_pad : 0, flip_on = aug ? aug->flip : 0;
    for (size_t s = 0; s < count; s++) {
        const uint8_t *src = ds->images + (size_t)idx[s] * img;
        float *dst = x + s * img;
        if (labels) labels[s] = ds->labels[idx[s]];
        int dy = 0, dx = 0, flip = 0;
        if (pad > 0) {
            dy = (int)rng_below(rng, 2 * (uint64_t)pad + 1) - pad;
            dx = (int)rng_below(rng, 2 * (uint64_t)pad + 1) - pad;
        }
        if (flip_on) flip = (int)rng_below(rng, 2);
        for (int ch = 0; ch < ds->c; ch++) {
            const float *lut = ds->lut + ch * 256;
            const uint8_t *sp = src + (size_t)ch * hw;
            float *dp = dst + (size_t)ch * hw;
            if (dy == 0 && dx == 0 && !flip)
                for (size_t k = 0; k < hw; k++)
                    dp[k] = lut[sp[k]];
            else
                fill_plane_shifted(sp, dp, lut, ds->h, ds->w, dy, dx, flip);
        }
    }
    return ES_OK;
}

void ds_epoch_order(uint64_t seed, uint64_t epoch, uint32_t *perm, size_t n)
{
    rng_stream r;
    rng_init_indexed(&r, seed, "shuffle", epoch);
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    rng_shuffle_u32(&r, perm, n);
}
