/* test_datasets.c - the dataset loaders (IDX plain and gzipped, CIFAR-10/100 binary) on small
 * files written here, every loader error, synthetic data, batch normalisation, augmentation,
 * epoch order, and the real Fashion-MNIST when it is installed. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "ds_dataset.h"
#include "es_common.h"
#include "rng.h"
#include "tap.h"

/* tap.h has no skip primitive, and tap_check scrubs '#' from its message but not from the
 * file name it prints, so the directive goes there: the line reads
 * "ok N - test: skipped (file) # SKIP reason (:line)", which tap-driver.sh counts as a skip. */
#define TAP_SKIP(reason) tap_skip(reason)

/* CHECK_INT evaluates its arguments twice; calls with side effects go through this. */
#define CHECK_RC(call, want)                                                                       \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        CHECK_MSG(rc_ == (want), "%s == %s (%d vs %d)", #call, #want, rc_, (int)(want));           \
    } while (0)

/* ---- helpers ------------------------------------------------------------------------- */


static void mkdirs(const char *rel)
{
    es_err e;
    es_mkdir_p(tap_path(rel), &e);
}

static void write_plain(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) return;
    if (len) fwrite(data, 1, len, fp);
    fclose(fp);
}

static void write_gz(const char *path, const void *data, size_t len)
{
    gzFile gz = gzopen(path, "wb");
    if (!gz) return;
    if (len) gzwrite(gz, data, (unsigned)len);
    gzclose(gz);
}


static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Pixel of the small IDX test set: distinct for every (image, y, x). */
#define IDX_N 3
#define IDX_H 4
#define IDX_W 5
static uint8_t idx_pixel(size_t i, int y, int x)
{
    return (uint8_t)(7 + 80 * i + 13 * (size_t)y + 2 * (size_t)x);
}
static const uint8_t idx_labels[IDX_N] = {0, 9, 4};

/* An IDX image file of n images (pixels from idx_pixel), with a chosen magic; *len set. */
static uint8_t *make_idx_images(uint32_t magic, uint32_t n, size_t *len)
{
    size_t img = IDX_H * IDX_W;
    uint8_t *b = malloc(16 + n * img);
    be32(b, magic);
    be32(b + 4, n);
    be32(b + 8, IDX_H);
    be32(b + 12, IDX_W);
    for (size_t i = 0; i < n; i++)
        for (int y = 0; y < IDX_H; y++)
            for (int x = 0; x < IDX_W; x++)
                b[16 + i * img + (size_t)y * IDX_W + (size_t)x] = idx_pixel(i, y, x);
    *len = 16 + n * img;
    return b;
}

static uint8_t *make_idx_labels(uint32_t n, const uint8_t *labels, size_t *len)
{
    uint8_t *b = malloc(8 + n);
    be32(b, 0x00000801);
    be32(b + 4, n);
    memcpy(b + 8, labels, n);
    *len = 8 + n;
    return b;
}

/* Write the standard train/test IDX pair into directory rel (train and t10k get the same
 * content), gzipped or plain. */
static void write_idx_set(const char *rel, int gz)
{
    char p[1024];
    size_t li, ll;
    uint8_t *im = make_idx_images(0x00000803, IDX_N, &li);
    uint8_t *lb = make_idx_labels(IDX_N, idx_labels, &ll);
    mkdirs(rel);
    const char *pf[2] = {"train", "t10k"};
    for (int s = 0; s < 2; s++) {
        snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte%s", tap_path(rel), pf[s], gz ? ".gz" : "");
        (gz ? write_gz : write_plain)(p, im, li);
        snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte%s", tap_path(rel), pf[s], gz ? ".gz" : "");
        (gz ? write_gz : write_plain)(p, lb, ll);
    }
    free(im);
    free(lb);
}

static void check_idx_content(const ds_dataset *ds)
{
    if (!CHECK(ds != NULL)) return;
    CHECK_UINT(ds->n, IDX_N);
    CHECK_INT(ds->c, 1);
    CHECK_INT(ds->h, IDX_H);
    CHECK_INT(ds->w, IDX_W);
    CHECK_INT(ds->classes, 10);
    int bad = 0;
    for (size_t i = 0; i < IDX_N; i++)
        for (int y = 0; y < IDX_H; y++)
            for (int x = 0; x < IDX_W; x++)
                bad += ds->images[i * IDX_H * IDX_W + (size_t)y * IDX_W + (size_t)x] !=
                       idx_pixel(i, y, x);
    CHECK_MSG(bad == 0, "%d pixels differ", bad);
    for (size_t i = 0; i < IDX_N; i++)
        CHECK_INT(ds->labels[i], idx_labels[i]);
}

/* ---- IDX ----------------------------------------------------------------------------- */

static void t_idx_plain(void)
{
    write_idx_set("plain", 0);
    ds_dataset *ds = NULL;
    es_err e;
    int rc = ds_load_idx(tap_path("plain/train-images-idx3-ubyte"),
                         tap_path("plain/train-labels-idx1-ubyte"), 10, "tiny", &ds, &e);
    CHECK_MSG(rc == ES_OK, "load: %s", rc ? e.msg : "");
    check_idx_content(ds);
    if (ds) CHECK_STR(ds->name, "tiny");
    /* Statistics by hand: population mean and std of all pixels, in units of x/255. */
    double s1 = 0, s2 = 0, cnt = IDX_N * IDX_H * IDX_W;
    for (size_t i = 0; i < IDX_N; i++)
        for (int y = 0; y < IDX_H; y++)
            for (int x = 0; x < IDX_W; x++) {
                double v = idx_pixel(i, y, x) / 255.0;
                s1 += v;
                s2 += v * v;
            }
    double m = s1 / cnt, sd = sqrt(s2 / cnt - m * m);
    if (ds) {
        CHECK_NEAR(ds->mean[0], m, 1e-6);
        CHECK_NEAR(ds->std[0], sd, 1e-6);
    }
    ds_destroy(ds);
    ds_destroy(NULL);
}

static void t_idx_gzip(void)
{
    write_idx_set("gz", 1);
    write_idx_set("plain", 0); /* for the mixed case */
    ds_dataset *ds = NULL;
    es_err e;
    int rc = ds_load_idx(tap_path("gz/train-images-idx3-ubyte.gz"),
                         tap_path("gz/train-labels-idx1-ubyte.gz"), 10, "tiny", &ds, &e);
    CHECK_MSG(rc == ES_OK, "load: %s", rc ? e.msg : "");
    check_idx_content(ds);
    ds_destroy(ds);
    /* Mixed: gzipped images, plain labels. */
    ds = NULL;
    rc = ds_load_idx(tap_path("gz/train-images-idx3-ubyte.gz"), tap_path("plain/train-labels-idx1-ubyte"),
                     10, "tiny", &ds, &e);
    CHECK_MSG(rc == ES_OK, "load: %s", rc ? e.msg : "");
    check_idx_content(ds);
    ds_destroy(ds);
}

static void t_idx_search(void)
{
    /* dir argument: the directory itself, or its fashion-mnist subdirectory. */
    write_idx_set("root/fashion-mnist", 1);
    es_err e;
    ds_dataset *ds = NULL;
    int rc = ds_load_fashion_mnist(tap_path("root"), DS_TRAIN, &ds, &e);
    CHECK_MSG(rc == ES_OK, "dir/fashion-mnist: %s", rc ? e.msg : "");
    check_idx_content(ds);
    if (ds) CHECK_STR(ds->name, "fashion-mnist/train");
    ds_destroy(ds);
    ds = NULL;
    rc = ds_load_fashion_mnist(tap_path("root/fashion-mnist"), DS_TEST, &ds, &e);
    CHECK_MSG(rc == ES_OK, "dir: %s", rc ? e.msg : "");
    if (ds) CHECK_STR(ds->name, "fashion-mnist/test");
    ds_destroy(ds);

    /* ESSIM_DATA_DIR, through the by-name entry point; the test split gets the training
     * split's normalisation. */
    const char *old = getenv("ESSIM_DATA_DIR");
    char *saved = old ? es_strdup(old) : NULL;
    setenv("ESSIM_DATA_DIR", tap_path("root"), 1);
    ds_dataset *tr = NULL, *te = NULL;
    rc = ds_load_splits("fashion-mnist", NULL, &tr, &te, &e);
    CHECK_MSG(rc == ES_OK, "ESSIM_DATA_DIR: %s", rc ? e.msg : "");
    check_idx_content(tr);
    check_idx_content(te);
    if (tr && te) {
        CHECK(te->mean[0] == tr->mean[0] && te->std[0] == tr->std[0]);
        CHECK(te->lut[200] == tr->lut[200]);
    }
    ds_destroy(tr);
    ds_destroy(te);

    /* An explicit directory never falls back; the message names the missing file. */
    mkdirs("empty");
    ds = NULL;
    rc = ds_load("fashion-mnist", tap_path("empty"), DS_TRAIN, &ds, &e);
    CHECK_INT(rc, ES_EIO);
    CHECK(ds == NULL);
    CHECK_CONTAINS(e.msg, "train-images-idx3-ubyte");
    CHECK_CONTAINS(e.msg, tap_path("empty"));
    /* MNIST has no system default: with ESSIM_DATA_DIR empty of it, it is not found. */
    rc = ds_load("mnist", NULL, DS_TEST, &ds, &e);
    CHECK_INT(rc, ES_EIO);
    CHECK_CONTAINS(e.msg, "t10k-images-idx3-ubyte");
    CHECK_CONTAINS(e.msg, "ESSIM_DATA_DIR");
    rc = ds_load("imagenet", NULL, DS_TRAIN, &ds, &e);
    CHECK_INT(rc, ES_EINVAL);
    if (saved) {
        setenv("ESSIM_DATA_DIR", saved, 1);
        free(saved);
    } else {
        unsetenv("ESSIM_DATA_DIR");
    }
}

/* Load images file `ip` with labels `lp` and expect failure code `code` whose message names
 * `named` and contains `text`. */
static void expect_idx_error(const char *ip, const char *lp, int code, const char *named,
                             const char *text)
{
    ds_dataset *ds = NULL;
    es_err e;
    es_err_clear(&e);
    int rc = ds_load_idx(ip, lp, 10, "bad", &ds, &e);
    CHECK_MSG(rc == code, "%s: code %d, expected %d (%s)", text, rc, code, e.msg);
    CHECK(ds == NULL);
    CHECK_CONTAINS(e.msg, named);
    CHECK_CONTAINS(e.msg, text);
    ds_destroy(ds);
}

static void t_idx_errors(void)
{
    mkdirs("err");
    size_t li, ll;
    uint8_t *im = make_idx_images(0x00000803, IDX_N, &li);
    uint8_t *lb = make_idx_labels(IDX_N, idx_labels, &ll);
    char good_i[1024], good_l[1024];
    snprintf(good_i, sizeof good_i, "%s", tap_path("err/good-images"));
    snprintf(good_l, sizeof good_l, "%s", tap_path("err/good-labels"));
    write_plain(good_i, im, li);
    write_plain(good_l, lb, ll);

    /* missing file */
    expect_idx_error(tap_path("err/nothing-here"), good_l, ES_EIO, tap_path("err/nothing-here"),
                     "cannot open");
    expect_idx_error(good_i, tap_path("err/no-labels"), ES_EIO, tap_path("err/no-labels"), "cannot open");

    /* wrong magic number */
    const char *p = tap_path("err/magic");
    uint8_t *b = make_idx_images(0x12345678, IDX_N, &li);
    write_plain(p, b, li);
    free(b);
    expect_idx_error(p, good_l, ES_EFORMAT, p, "bad magic number 0x12345678");

    /* wrong dimension count: a 2-dimensional IDX file, and a label file given as images */
    p = tap_path("err/dims");
    b = make_idx_images(0x00000802, IDX_N, &li);
    write_plain(p, b, li);
    free(b);
    expect_idx_error(p, good_l, ES_EFORMAT, p, "has 2 dimensions");
    expect_idx_error(good_l, good_l, ES_EFORMAT, good_l,
                     "has 1 dimension (magic 0x00000801), expected 3");
    expect_idx_error(good_i, good_i, ES_EFORMAT, good_i, "has 3 dimensions");

    /* header cut short */
    p = tap_path("err/short");
    write_plain(p, im, 10);
    expect_idx_error(p, good_l, ES_EFORMAT, p, "truncated");

    /* truncated pixel data, plain (caught from the size before reading) and gzipped */
    p = tap_path("err/trunc");
    write_plain(p, im, li - 25);
    expect_idx_error(p, good_l, ES_EFORMAT, p, "truncated");
    p = tap_path("err/trunc.gz");
    write_gz(p, im, li - 25);
    expect_idx_error(p, good_l, ES_EFORMAT, p, "image 1 is incomplete");

    /* trailing bytes beyond what the header promises */
    p = tap_path("err/long");
    uint8_t *lng = calloc(1, li + 3);
    memcpy(lng, im, li);
    write_plain(p, lng, li + 3);
    free(lng);
    expect_idx_error(p, good_l, ES_EFORMAT, p, "unexpected data after offset 76");

    /* labels out of range */
    static const uint8_t badlab[IDX_N] = {3, 10, 1};
    p = tap_path("err/badlabels");
    b = make_idx_labels(IDX_N, badlab, &ll);
    write_plain(p, b, ll);
    free(b);
    expect_idx_error(good_i, p, ES_EFORMAT, p, "label 10 of record 1 (byte offset 9)");

    /* different counts: the message names both files */
    p = tap_path("err/twolabels");
    b = make_idx_labels(2, idx_labels, &ll);
    write_plain(p, b, ll);
    free(b);
    expect_idx_error(good_i, p, ES_EFORMAT, good_i, "3 images");
    expect_idx_error(good_i, p, ES_EFORMAT, p, "has 2 labels");

    /* truncated label file (header says 3) */
    p = tap_path("err/shortlabels");
    b = make_idx_labels(IDX_N, idx_labels, &ll);
    write_plain(p, b, ll - 1);
    free(b);
    expect_idx_error(good_i, p, ES_EFORMAT, p, "truncated");

    /* a gzip file cut in the middle of its compressed stream */
    const char *gzp = tap_path("err/full.gz");
    write_gz(gzp, im, li);
    size_t gl;
    uint8_t *gzb = tap_read_file(gzp, &gl);
    p = tap_path("err/cut.gz");
    write_plain(p, gzb, gl / 2);
    expect_idx_error(p, good_l, ES_EFORMAT, p, "truncated gzip stream");
    /* only the 8-byte trailer missing: all data decompresses, the end check catches it */
    write_plain(p, gzb, gl - 8);
    expect_idx_error(p, good_l, ES_EFORMAT, p, "truncated gzip stream");

    /* gzip corruption: a wrong CRC-32 in the trailer (zlib: "incorrect data check") */
    p = tap_path("err/crc.gz");
    gzb[gl - 8] ^= 0x5a;
    write_plain(p, gzb, gl);
    expect_idx_error(p, good_l, ES_EFORMAT, p, "incorrect data check");
    free(gzb);

    /* The same on a file larger than zlib's input buffer, where the CRC is only checked once
     * all pixels have been delivered: the end-of-data check must catch it. */
    enum { BIGN = 600 };
    size_t bl = 16 + (size_t)BIGN * 784;
    uint8_t *big = malloc(bl), biglab[BIGN];
    be32(big, 0x00000803);
    be32(big + 4, BIGN);
    be32(big + 8, 28);
    be32(big + 12, 28);
    rng_stream r;
    rng_init(&r, 5, "bigcrc");
    for (size_t i = 16; i < bl; i++)
        big[i] = (uint8_t)rng_u64(&r); /* incompressible */
    for (int i = 0; i < BIGN; i++)
        biglab[i] = (uint8_t)(i % 10);
    char bigl[1024];
    snprintf(bigl, sizeof bigl, "%s", tap_path("err/big-labels"));
    b = make_idx_labels(BIGN, biglab, &ll);
    write_plain(bigl, b, ll);
    free(b);
    p = tap_path("err/big.gz");
    write_gz(p, big, bl);
    ds_dataset *ds = NULL;
    es_err e;
    CHECK_RC(ds_load_idx(p, bigl, 10, "big", &ds, &e), ES_OK);
    ds_destroy(ds);
    gzb = tap_read_file(p, &gl);
    CHECK_MSG(gl > 400000, "compressed size %zu", gl);
    gzb[gl - 6] ^= 0x01;
    write_plain(p, gzb, gl);
    expect_idx_error(p, bigl, ES_EFORMAT, p, "incorrect data check");
    free(gzb);
    free(big);
    free(im);
    free(lb);
}

/* ---- CIFAR --------------------------------------------------------------------------- */

static uint8_t cifar_pixel(size_t rec, int ch, int k)
{
    /* Each channel covers a different range, so per-channel statistics differ. */
    return (uint8_t)(rec * 31 + (size_t)ch * 101 + ((size_t)k * 7) % (256 - 60 * (size_t)ch));
}

/* A CIFAR file of n records numbered from `first` (label bytes: label_of(rec) in the last
 * byte, coarse = fine / 5 before it for CIFAR-100). */
static uint8_t *make_cifar(size_t first, size_t n, int label_bytes, int classes, size_t *len)
{
    size_t rec = (size_t)label_bytes + 3072;
    uint8_t *b = malloc(n * rec);
    for (size_t r = 0; r < n; r++) {
        uint8_t *p = b + r * rec;
        size_t id = first + r;
        uint8_t fine = (uint8_t)((id * 7 + 3) % (size_t)classes);
        if (label_bytes == 2) p[0] = (uint8_t)(fine / 5);
        p[label_bytes - 1] = fine;
        for (int ch = 0; ch < 3; ch++)
            for (int k = 0; k < 1024; k++)
                p[label_bytes + ch * 1024 + k] = cifar_pixel(id, ch, k);
    }
    *len = n * rec;
    return b;
}

static void check_cifar(const ds_dataset *ds, size_t n, int classes)
{
    if (!CHECK(ds != NULL)) return;
    CHECK_UINT(ds->n, n);
    CHECK_INT(ds->c, 3);
    CHECK_INT(ds->h, 32);
    CHECK_INT(ds->w, 32);
    CHECK_INT(ds->classes, classes);
    int bad = 0, badl = 0;
    for (size_t r = 0; r < n && r < ds->n; r++) {
        badl += ds->labels[r] != (r * 7 + 3) % (size_t)classes;
        for (int ch = 0; ch < 3; ch++)
            for (int k = 0; k < 1024; k++)
                bad +=
                    ds->images[r * 3072 + (size_t)ch * 1024 + (size_t)k] != cifar_pixel(r, ch, k);
    }
    CHECK_MSG(bad == 0, "%d pixels differ", bad);
    CHECK_MSG(badl == 0, "%d labels differ", badl);
}

static void t_cifar10(void)
{
    static const size_t counts[5] = {2, 1, 1, 1, 3};
    char p[1024];
    size_t first = 0, len;
    mkdirs("data/cifar-10-batches-bin");
    for (int f = 0; f < 5; f++) {
        uint8_t *b = make_cifar(first, counts[f], 1, 10, &len);
        snprintf(p, sizeof p, "%s/data_batch_%d.bin%s", tap_path("data/cifar-10-batches-bin"), f + 1,
                 f == 2 ? ".gz" : "");
        (f == 2 ? write_gz : write_plain)(p, b, len);
        free(b);
        first += counts[f];
    }
    uint8_t *b = make_cifar(0, 2, 1, 10, &len);
    write_plain(tap_path("data/cifar-10-batches-bin/test_batch.bin"), b, len);
    free(b);

    es_err e;
    ds_dataset *tr = NULL, *te = NULL;
    int rc = ds_load_cifar10(tap_path("data"), DS_TRAIN, &tr, &e);
    CHECK_MSG(rc == ES_OK, "train: %s", rc ? e.msg : "");
    check_cifar(tr, 8, 10);
    if (tr) {
        CHECK_STR(tr->name, "cifar10/train");
        /* Per-channel statistics by hand for channel 2. */
        double s1 = 0, s2 = 0;
        for (size_t r = 0; r < 8; r++)
            for (int k = 0; k < 1024; k++) {
                double v = cifar_pixel(r, 2, k) / 255.0;
                s1 += v;
                s2 += v * v;
            }
        double m = s1 / 8192, sd = sqrt(s2 / 8192 - m * m);
        CHECK_NEAR(tr->mean[2], m, 1e-6);
        CHECK_NEAR(tr->std[2], sd, 1e-6);
        CHECK(tr->mean[0] != tr->mean[2]);
    }
    /* By name through ESSIM_DATA_DIR. */
    const char *old = getenv("ESSIM_DATA_DIR");
    char *saved = old ? es_strdup(old) : NULL;
    setenv("ESSIM_DATA_DIR", tap_path("data"), 1);
    rc = ds_load("cifar10", NULL, DS_TEST, &te, &e);
    CHECK_MSG(rc == ES_OK, "test: %s", rc ? e.msg : "");
    check_cifar(te, 2, 10);
    if (saved) {
        setenv("ESSIM_DATA_DIR", saved, 1);
        free(saved);
    } else {
        unsetenv("ESSIM_DATA_DIR");
    }
    ds_destroy(tr);
    ds_destroy(te);

    /* A gzipped batch that compresses far below its size: the loader's guess from the file
     * size is short, so it reads in small chunks and grows its arrays, record for record the
     * same. Only the .gz exists, so it is the one picked. */
    mkdirs("c10gz");
    b = make_cifar(0, 1100, 1, 10, &len);
    write_gz(tap_path("c10gz/test_batch.bin.gz"), b, len);
    free(b);
    struct stat gst;
    CHECK(stat(tap_path("c10gz/test_batch.bin.gz"), &gst) == 0 && (size_t)gst.st_size * 4 < len);
    rc = ds_load_cifar10(tap_path("c10gz"), DS_TEST, &te, &e);
    CHECK_MSG(rc == ES_OK, "gz: %s", rc ? e.msg : "");
    check_cifar(te, 1100, 10);
    ds_destroy(te);
    te = NULL;

    /* Errors, each naming the file. */
    char dir[900];
    snprintf(dir, sizeof dir, "%s", tap_path("c10bad"));
    mkdirs("c10bad");
    b = make_cifar(0, 2, 1, 10, &len);
    write_plain(tap_path("c10bad/test_batch.bin"), b, len - 100);
    te = NULL;
    rc = ds_load_cifar10(dir, DS_TEST, &te, &e);
    CHECK_INT(rc, ES_EFORMAT);
    CHECK(te == NULL);
    CHECK_CONTAINS(e.msg, tap_path("c10bad/test_batch.bin"));
    CHECK_CONTAINS(e.msg, "truncated");
    CHECK_CONTAINS(e.msg, "record 1 (offset 3073)");
    b[3073] = 10; /* label of record 1 */
    write_plain(tap_path("c10bad/test_batch.bin"), b, len);
    rc = ds_load_cifar10(dir, DS_TEST, &te, &e);
    CHECK_INT(rc, ES_EFORMAT);
    CHECK_CONTAINS(e.msg, tap_path("c10bad/test_batch.bin"));
    CHECK_CONTAINS(e.msg, "label 10 of record 1");
    write_plain(tap_path("c10bad/test_batch.bin"), b, 0);
    rc = ds_load_cifar10(dir, DS_TEST, &te, &e);
    CHECK_INT(rc, ES_EFORMAT);
    CHECK_CONTAINS(e.msg, "empty file");
    /* a missing batch among present ones */
    b[3073] = 1;
    for (int f = 1; f <= 5; f++) {
        if (f == 4) continue;
        snprintf(p, sizeof p, "%s/data_batch_%d.bin", dir, f);
        write_plain(p, b, len);
    }
    rc = ds_load_cifar10(dir, DS_TRAIN, &tr, &e);
    CHECK_INT(rc, ES_EIO);
    CHECK_CONTAINS(e.msg, "data_batch_4.bin");
    CHECK_CONTAINS(e.msg, "cannot open");
    free(b);
}

static void t_cifar100(void)
{
    size_t len;
    mkdirs("data/cifar-100-binary");
    uint8_t *b = make_cifar(0, 5, 2, 100, &len);
    write_gz(tap_path("data/cifar-100-binary/train.bin.gz"), b, len);
    es_err e;
    ds_dataset *ds = NULL;
    int rc = ds_load_cifar100(tap_path("data"), DS_TRAIN, &ds, &e);
    CHECK_MSG(rc == ES_OK, "train: %s", rc ? e.msg : "");
    check_cifar(ds, 5, 100);
    if (ds) CHECK_STR(ds->name, "cifar100/train");
    ds_destroy(ds);
    ds = NULL;
    const char *tp = tap_path("data/cifar-100-binary/test.bin");
    b[2 * 3074 + 1] = 100; /* fine label of record 2 */
    write_plain(tp, b, len);
    rc = ds_load("cifar100", tap_path("data/cifar-100-binary"), DS_TEST, &ds, &e);
    CHECK_INT(rc, ES_EFORMAT);
    CHECK_CONTAINS(e.msg, tp);
    CHECK_CONTAINS(e.msg, "fine label 100 of record 2 (offset 6149)");
    b[2 * 3074 + 1] = 99;
    b[3 * 3074] = 20; /* coarse label of record 3 */
    write_plain(tp, b, len);
    rc = ds_load("cifar100", tap_path("data/cifar-100-binary"), DS_TEST, &ds, &e);
    CHECK_INT(rc, ES_EFORMAT);
    CHECK_CONTAINS(e.msg, "coarse label 20 of record 3");
    free(b);
}

/* ---- synthetic ----------------------------------------------------------------------- */

static void t_synth(void)
{
    ds_synth_config cfg = {.n = 2000,
                           .c = 2,
                           .h = 10,
                           .w = 9,
                           .classes = 7,
                           .seed = 42,
                           .split = DS_TRAIN,
                           .noise = 30.0f};
    ds_dataset *a = NULL, *b = NULL, *c = NULL, *t = NULL;
    es_err e;
    CHECK_RC(ds_synth_create(&cfg, &a, &e), ES_OK);
    CHECK_RC(ds_synth_create(&cfg, &b, &e), ES_OK);
    cfg.seed = 43;
    CHECK_RC(ds_synth_create(&cfg, &c, &e), ES_OK);
    cfg.seed = 42;
    cfg.split = DS_TEST;
    cfg.n = 500;
    CHECK_RC(ds_synth_create(&cfg, &t, &e), ES_OK);
    if (!a || !b || !c || !t) goto out;
    size_t img = ds_image_bytes(a);
    CHECK_UINT(img, 180);
    CHECK(memcmp(a->images, b->images, a->n * img) == 0);
    CHECK(memcmp(a->labels, b->labels, a->n * sizeof *a->labels) == 0);
    CHECK(memcmp(a->images, c->images, a->n * img) != 0);
    CHECK(memcmp(a->images, t->images, t->n * img) != 0);
    CHECK_STR(t->name, "synthetic/test");
    size_t per[7] = {0};
    int inrange = 1;
    for (size_t i = 0; i < a->n; i++) {
        if (a->labels[i] >= 7)
            inrange = 0;
        else
            per[a->labels[i]]++;
    }
    CHECK(inrange);
    for (int k = 0; k < 7; k++)
        CHECK_MSG(per[k] > 200, "class %d has %zu samples", k, per[k]);
    /* Learnable: a nearest-class-mean classifier fitted on train does well on test. */
    double *mean = calloc(7 * img, sizeof *mean);
    for (size_t i = 0; i < a->n; i++)
        for (size_t k = 0; k < img; k++)
            mean[a->labels[i] * img + k] += a->images[i * img + k] / (double)per[a->labels[i]];
    size_t right = 0;
    for (size_t i = 0; i < t->n; i++) {
        double best = 1e300;
        int arg = -1;
        for (int cl = 0; cl < 7; cl++) {
            double d = 0;
            for (size_t k = 0; k < img; k++) {
                double v = t->images[i * img + k] - mean[cl * img + k];
                d += v * v;
            }
            if (d < best) best = d, arg = cl;
        }
        right += arg == t->labels[i];
    }
    free(mean);
    CHECK_MSG(right >= 0.9 * (double)t->n, "nearest-mean accuracy %zu/%zu", right, t->n);
    /* Bad configurations. */
    ds_dataset *z = NULL;
    cfg.classes = 1;
    CHECK_RC(ds_synth_create(&cfg, &z, &e), ES_EINVAL);
    cfg.classes = 7;
    cfg.c = 0;
    CHECK_RC(ds_synth_create(&cfg, &z, &e), ES_EINVAL);
    CHECK(z == NULL);
out:
    ds_destroy(a);
    ds_destroy(b);
    ds_destroy(c);
    ds_destroy(t);
}

/* ---- batches ------------------------------------------------------------------------- */

static ds_dataset *load_tiny(void)
{
    write_idx_set("batch", 0);
    ds_dataset *ds = NULL;
    es_err e;
    ds_load_idx(tap_path("batch/train-images-idx3-ubyte"), tap_path("batch/train-labels-idx1-ubyte"), 10,
                "tiny", &ds, &e);
    return ds;
}

static void t_batch_norm(void)
{
    ds_dataset *ds = load_tiny();
    if (!CHECK(ds != NULL)) return;
    es_err e;
    const float mean[1] = {0.5f}, sd[1] = {0.25f};
    CHECK_RC(ds_set_norm(ds, mean, sd, &e), ES_OK);
    const uint32_t idx[4] = {2, 0, 2, 1};
    float x[4 * IDX_H * IDX_W];
    int y[4];
    CHECK_RC(ds_batch_fill(ds, idx, 4, NULL, NULL, x, y, &e), ES_OK);
    double maxerr = 0;
    for (int s = 0; s < 4; s++)
        for (int yy = 0; yy < IDX_H; yy++)
            for (int xx = 0; xx < IDX_W; xx++) {
                double want = (idx_pixel(idx[s], yy, xx) / 255.0 - 0.5) / 0.25;
                double got = x[s * IDX_H * IDX_W + yy * IDX_W + xx];
                maxerr = fmax(maxerr, fabs(got - want));
            }
    CHECK_NEAR(maxerr, 0.0, 1e-6);
    /* one value written out: image 0, pixel (1, 2) = 7 + 13 + 4 = 24 -> (24/255 - .5)/.25 */
    CHECK_NEAR(x[1 * IDX_H * IDX_W + 1 * IDX_W + 2], (24.0 / 255.0 - 0.5) * 4.0, 1e-6);
    CHECK_INT(y[0], 4);
    CHECK_INT(y[1], 0);
    CHECK_INT(y[3], 9);
    /* errors: an index out of range, augmentation without a stream, a zero std */
    const uint32_t bad[2] = {0, 3};
    CHECK_RC(ds_batch_fill(ds, bad, 2, NULL, NULL, x, y, &e), ES_ERANGE);
    CHECK_CONTAINS(e.msg, "index 3");
    ds_augment aug = {2, 1};
    CHECK_RC(ds_batch_fill(ds, idx, 1, &aug, NULL, x, y, &e), ES_EINVAL);
    const float zero[1] = {0.0f};
    CHECK_RC(ds_set_norm(ds, mean, zero, &e), ES_ERANGE);
    ds_destroy(ds);
}

/* The documented augmentation, written the plain way: pixel value (0..255, or 0 for padding)
 * at output (y, x) of image i. */
static int aug_expect(size_t i, int y, int x, int oy, int ox, int f, int pad)
{
    int xs = f ? IDX_W - 1 - x : x;
    int sy = y + oy - pad, sx = xs + ox - pad;
    if (sy < 0 || sy >= IDX_H || sx < 0 || sx >= IDX_W) return 0;
    return idx_pixel(i, sy, sx);
}

static void check_augment(ds_dataset *ds, int pad, int flip)
{
    /* Identity normalisation scaled so x*255 is the raw pixel value. */
    const float mean[1] = {0.0f}, sd[1] = {1.0f};
    es_err e;
    ds_set_norm(ds, mean, sd, &e);
    enum { B = 40 };
    uint32_t idx[B];
    for (int s = 0; s < B; s++)
        idx[s] = (uint32_t)(s % IDX_N);
    float x[B * IDX_H * IDX_W];
    rng_stream r, replica;
    rng_init(&r, 7, "augment-test");
    replica = r;
    ds_augment aug = {pad, flip};
    CHECK_RC(ds_batch_fill(ds, idx, B, &aug, &r, x, NULL, &e), ES_OK);
    int bad = 0, flips = 0, shifted = 0;
    for (int s = 0; s < B; s++) {
        int oy = pad, ox = pad, f = 0;
        if (pad > 0) {
            oy = (int)rng_below(&replica, 2 * (uint64_t)pad + 1);
            ox = (int)rng_below(&replica, 2 * (uint64_t)pad + 1);
        }
        if (flip) f = (int)rng_below(&replica, 2);
        flips += f;
        shifted += oy != pad || ox != pad;
        for (int yy = 0; yy < IDX_H; yy++)
            for (int xx = 0; xx < IDX_W; xx++) {
                double got = x[s * IDX_H * IDX_W + yy * IDX_W + xx] * 255.0;
                bad += fabs(got - aug_expect(idx[s], yy, xx, oy, ox, f, pad)) > 1e-3;
            }
    }
    CHECK_MSG(bad == 0, "pad %d flip %d: %d pixels differ", pad, flip, bad);
    CHECK(memcmp(&r, &replica, sizeof r) == 0); /* the same number of draws */
    if (flip) CHECK_MSG(flips > 5 && flips < B - 5, "%d of %d flipped", flips, B);
    if (pad) CHECK_MSG(shifted > B / 2, "%d of %d shifted", shifted, B);
}

static void t_augment(void)
{
    ds_dataset *ds = load_tiny();
    if (!CHECK(ds != NULL)) return;
    check_augment(ds, 0, 1);
    check_augment(ds, 2, 0);
    check_augment(ds, 2, 1);
    check_augment(ds, 4, 1); /* shifts beyond the 4x5 image: whole rows/columns of padding */

    /* One case by hand: flip only, image 1, row 0 reversed. */
    const float mean[1] = {0.0f}, sd[1] = {1.0f};
    es_err e;
    ds_set_norm(ds, mean, sd, &e);
    rng_stream r, probe;
    uint32_t one = 1;
    float x[IDX_H * IDX_W];
    ds_augment aug = {0, 1};
    for (uint64_t seed = 1;; seed++) { /* find a seed whose first draw flips */
        rng_init(&r, seed, "hand");
        probe = r;
        if (rng_below(&probe, 2) == 1) break;
    }
    ds_batch_fill(ds, &one, 1, &aug, &r, x, NULL, &e);
    for (int xx = 0; xx < IDX_W; xx++)
        CHECK_NEAR(x[xx] * 255.0, 87 + 2 * (IDX_W - 1 - xx), 1e-3); /* 7 + 80 + 2*(4-x) */
    /* And a crop by hand: pad 1, draws oy = 0, ox = 2 -> out(y,x) = in(y-1, x+1). */
    aug.crop_pad = 1;
    aug.flip = 0;
    for (uint64_t seed = 1;; seed++) {
        rng_init(&r, seed, "hand");
        probe = r;
        if (rng_below(&probe, 3) == 0 && rng_below(&probe, 3) == 2) break;
    }
    ds_batch_fill(ds, &one, 1, &aug, &r, x, NULL, &e);
    CHECK_NEAR(x[0], 0.0, 1e-6);                                    /* row 0 is padding */
    CHECK_NEAR(x[1 * IDX_W + 0] * 255.0, idx_pixel(1, 0, 1), 1e-3); /* (1,0) <- (0,1) */
    CHECK_NEAR(x[1 * IDX_W + IDX_W - 1], 0.0, 1e-6);                /* right edge is padding */
    ds_destroy(ds);
}

static void t_shuffle(void)
{
    enum { N = 1000 };
    static uint32_t p0[N], p0b[N], p1[N], manual[N];
    ds_epoch_order(99, 0, p0, N);
    ds_epoch_order(99, 0, p0b, N);
    ds_epoch_order(99, 1, p1, N);
    static uint8_t seen[N];
    int perm = 1;
    for (int i = 0; i < N; i++) {
        if (p0[i] >= N || seen[p0[i]])
            perm = 0;
        else
            seen[p0[i]] = 1;
    }
    CHECK(perm);
    CHECK(memcmp(p0, p0b, sizeof p0) == 0);
    CHECK(memcmp(p0, p1, sizeof p0) != 0);
    /* the documented derivation, so a resumed run can rebuild it */
    rng_stream r;
    rng_init_indexed(&r, 99, "shuffle", 1);
    for (int i = 0; i < N; i++)
        manual[i] = (uint32_t)i;
    rng_shuffle_u32(&r, manual, N);
    CHECK(memcmp(p1, manual, sizeof p1) == 0);
    int fixed = 0;
    for (int i = 0; i < N; i++)
        fixed += p0[i] == (uint32_t)i;
    CHECK_MSG(fixed < 20, "%d fixed points", fixed);
}

/* ---- the real Fashion-MNIST ---------------------------------------------------------- */

static void t_fashion_mnist(void)
{
    struct stat st;
    if (stat(DS_FASHION_MNIST_DIR, &st) != 0) {
        TAP_SKIP("Fashion-MNIST not installed in " DS_FASHION_MNIST_DIR);
        return;
    }
    ds_dataset *tr = NULL, *te = NULL;
    es_err e;
    double t0 = es_host_seconds();
    int rc = ds_load_splits("fashion-mnist", DS_FASHION_MNIST_DIR, &tr, &te, &e);
    double dt = es_host_seconds() - t0;
    if (!CHECK_MSG(rc == ES_OK, "load: %s", rc ? e.msg : "")) return;
    printf("# Fashion-MNIST train+test loaded in %.3f s\n", dt);
    CHECK_UINT(tr->n, 60000);
    CHECK_UINT(te->n, 10000);
    CHECK(tr->c == 1 && tr->h == 28 && tr->w == 28 && te->h == 28 && te->w == 28);
    CHECK_INT(tr->classes, 10);
    size_t per[10] = {0}, pert[10] = {0};
    for (size_t i = 0; i < tr->n; i++)
        per[tr->labels[i]]++;
    for (size_t i = 0; i < te->n; i++)
        pert[te->labels[i]]++;
    int balanced = 1;
    for (int k = 0; k < 10; k++)
        balanced &= per[k] == 6000 && pert[k] == 1000;
    CHECK_MSG(balanced, "6000 per class in train, 1000 in test");
    /* The well-known statistics of Fashion-MNIST's training split. */
    CHECK_NEAR(tr->mean[0], 0.2860, 5e-4);
    CHECK_NEAR(tr->std[0], 0.3530, 5e-4);
    CHECK(te->mean[0] == tr->mean[0]);
    ds_destroy(tr);
    ds_destroy(te);
}

int main(int argc, char **argv)
{
    static const tap_test tests[] = {
        {"idx_plain", t_idx_plain},
        {"idx_gzip", t_idx_gzip},
        {"idx_search", t_idx_search},
        {"idx_errors", t_idx_errors},
        {"cifar10", t_cifar10},
        {"cifar100", t_cifar100},
        {"synthetic", t_synth},
        {"batch_norm", t_batch_norm},
        {"augment", t_augment},
        {"shuffle", t_shuffle},
        {"fashion_mnist", t_fashion_mnist},
    };
    return tap_main(tests, ES_ARRAY_LEN(tests), argc, argv);
}
