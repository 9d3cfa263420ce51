/* test_npy.c - .npy and .npz files: round trips of every dtype and shape, header layout and
 * parsing, every error, atomic replacement, and interoperability with the real NumPy (when
 * /usr/bin/python3 has it) in both directions. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "es_common.h"
#include "npy.h"
#include "tap.h"

/* See test_datasets.c: tap_check prints the file name unscrubbed, so the SKIP directive
 * travels there. */
#define TAP_SKIP(reason) tap_skip(reason)

/* CHECK_INT evaluates its arguments twice; calls with side effects go through this. */
#define CHECK_RC(call, want)                                                                       \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        CHECK_MSG(rc_ == (want), "%s == %s (%d vs %d)", #call, #want, rc_, (int)(want));           \
    } while (0)

#ifndef PYTHON /* overridable to exercise the skip path */
#define PYTHON "/usr/bin/python3"
#endif




/* A .npy file with a hand-written header (version 1.0, padded to 64) and raw data. */
static void write_npy_raw(const char *path, const char *header, const void *data, size_t n)
{
    size_t hl = strlen(header) + 1;
    size_t pad = (64 - (10 + hl) % 64) % 64;
    size_t total = 10 + hl + pad + n;
    uint8_t *b = malloc(total);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (uint8_t)((hl + pad) & 0xff);
    b[9] = (uint8_t)((hl + pad) >> 8);
    memcpy(b + 10, header, hl - 1);
    memset(b + 10 + hl - 1, ' ', pad);
    b[10 + hl - 1 + pad] = '\n';
    if (n) memcpy(b + 10 + hl + pad, data, n);
    tap_write_file(path, b, total);
    free(b);
}

/* ---- .npy ---------------------------------------------------------------------------- */

static void t_npy_roundtrip(void)
{
    es_err e;
    float f[6] = {1.5f, -2.25f, 0.0f, 3.0e-8f, 1e30f, -7.0f};
    const uint64_t s23[2] = {2, 3};
    const char *p = tap_path("f.npy");
    CHECK_RC(npy_save(p, NPY_F32, f, 2, s23, &e), ES_OK);

    /* Header layout: magic, version 1.0, the dict, spaces, '\n', data at a multiple of 64. */
    size_t len;
    uint8_t *raw = tap_read_file(p, &len);
    if (!CHECK(raw && len > 10)) return;
    CHECK(memcmp(raw, "\x93NUMPY\x01\x00", 8) == 0);
    size_t hl = raw[8] | (size_t)raw[9] << 8;
    CHECK_UINT((10 + hl) % 64, 0);
    CHECK_UINT(len, 10 + hl + sizeof f);
    const char *want = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    CHECK(memcmp(raw + 10, want, strlen(want)) == 0);
    CHECK(raw[10 + hl - 1] == '\n');
    CHECK(raw[10 + strlen(want)] == ' ');
    CHECK(memcmp(raw + 10 + hl, f, sizeof f) == 0);
    free(raw);

    npy_array a;
    CHECK_RC(npy_load(p, &a, &e), ES_OK);
    CHECK_INT(a.dtype, NPY_F32);
    CHECK_INT(a.ndim, 2);
    CHECK_UINT(a.shape[0], 2);
    CHECK_UINT(a.shape[1], 3);
    CHECK_UINT(a.count, 6);
    CHECK(a.data && memcmp(a.data, f, sizeof f) == 0);
    npy_array_free(&a);
    npy_array_free(NULL);

    /* int64, 1-d: the shape needs its trailing comma */
    int64_t iv[4] = {-5, 0, 7, (int64_t)1 << 40};
    const uint64_t s4[1] = {4};
    p = tap_path("i.npy");
    CHECK_RC(npy_save(p, NPY_I64, iv, 1, s4, &e), ES_OK);
    raw = tap_read_file(p, &len);
    CHECK(raw && strstr((const char *)raw + 10, "'shape': (4,), }") != NULL);
    CHECK(raw && strstr((const char *)raw + 10, "'descr': '<i8'") != NULL);
    free(raw);
    CHECK_RC(npy_load(p, &a, &e), ES_OK);
    CHECK_INT(a.dtype, NPY_I64);
    CHECK(a.ndim == 1 && a.shape[0] == 4 && a.data && memcmp(a.data, iv, sizeof iv) == 0);
    npy_array_free(&a);

    /* uint8, 3-d */
    uint8_t u[2 * 3 * 4];
    for (int i = 0; i < 24; i++)
        u[i] = (uint8_t)(i * 11);
    const uint64_t s234[3] = {2, 3, 4};
    p = tap_path("u.npy");
    CHECK_RC(npy_save(p, NPY_U8, u, 3, s234, &e), ES_OK);
    CHECK_RC(npy_load(p, &a, &e), ES_OK);
    CHECK_INT(a.dtype, NPY_U8);
    CHECK(a.ndim == 3 && a.shape[2] == 4 && a.count == 24);
    CHECK(a.data && memcmp(a.data, u, sizeof u) == 0);
    npy_array_free(&a);

    /* scalar: shape () */
    float sc = 2.5f;
    p = tap_path("s.npy");
    CHECK_RC(npy_save(p, NPY_F32, &sc, 0, NULL, &e), ES_OK);
    raw = tap_read_file(p, &len);
    CHECK(raw && strstr((const char *)raw + 10, "'shape': (), }") != NULL);
    free(raw);
    CHECK_RC(npy_load(p, &a, &e), ES_OK);
    CHECK(a.ndim == 0 && a.count == 1 && a.data && ((float *)a.data)[0] == 2.5f);
    npy_array_free(&a);

    /* empty array, shape (0, 3) */
    const uint64_t s03[2] = {0, 3};
    p = tap_path("empty.npy");
    CHECK_RC(npy_save(p, NPY_F32, NULL, 2, s03, &e), ES_OK);
    CHECK_RC(npy_load(p, &a, &e), ES_OK);
    CHECK(a.ndim == 2 && a.shape[0] == 0 && a.shape[1] == 3 && a.count == 0);
    npy_array_free(&a);

    /* float64 is read as float32 */
    double d[3] = {0.125, -1.0e10, 3.14159265358979};
    const uint64_t s3[1] = {3};
    p = tap_path("d.npy");
    CHECK_RC(npy_save(p, NPY_F64, d, 1, s3, &e), ES_OK);
    CHECK_RC(npy_load(p, &a, &e), ES_OK);
    CHECK_INT(a.dtype, NPY_F32);
    CHECK_INT(a.file_dtype, NPY_F64);
    if (CHECK(a.data && a.count == 3)) {
        const float *g = a.data;
        CHECK(g[0] == 0.125f && g[1] == (float)-1.0e10 && g[2] == (float)3.14159265358979);
    }
    npy_array_free(&a);

    /* every header length lands on a 64-byte boundary (a zero first dimension keeps the
     * arrays empty while the other dimensions vary the header's length) */
    int aligned = 1;
    for (int nd = 1; nd <= NPY_MAX_DIMS; nd++) {
        uint64_t sh[NPY_MAX_DIMS];
        sh[0] = 0;
        for (int k = 1; k < nd; k++)
            sh[k] = (uint64_t)(k * 7919) % 100000;
        uint8_t *buf;
        size_t bl;
        if (npy_encode(NPY_U8, NULL, nd, sh, &buf, &bl, &e) != ES_OK) {
            aligned = 0;
            continue;
        }
        size_t h = buf[8] | (size_t)buf[9] << 8;
        aligned &= (10 + h) % 64 == 0 && buf[10 + h - 1] == '\n' && bl == 10 + h;
        free(buf);
    }
    CHECK(aligned);
}

static void t_npy_header_variants(void)
{
    es_err e;
    npy_array a;
    float f[2] = {4.0f, 5.0f};
    /* double quotes, another key order, odd whitespace, no trailing comma, 'L' suffixes */
    const char *p = tap_path("v1.npy");
    write_npy_raw(p, "{\"shape\":(2L,) ,  'fortran_order' :False,'descr':\"<f4\"}", f, sizeof f);
    CHECK_RC(npy_load(p, &a, &e), ES_OK);
    CHECK(a.ndim == 1 && a.shape[0] == 2 && a.data && ((float *)a.data)[1] == 5.0f);
    npy_array_free(&a);
    /* version 2.0: a 4-byte header length */
    const char *h = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }";
    size_t hl = strlen(h) + 1, pad = (64 - (12 + hl) % 64) % 64;
    uint8_t b[256];
    memcpy(b, "\x93NUMPY\x02\x00", 8);
    uint32_t L = (uint32_t)(hl + pad);
    b[8] = (uint8_t)L;
    b[9] = (uint8_t)(L >> 8);
    b[10] = b[11] = 0;
    memcpy(b + 12, h, hl - 1);
    memset(b + 12 + hl - 1, ' ', pad);
    b[12 + hl - 1 + pad] = '\n';
    memcpy(b + 12 + L, f, sizeof f);
    p = tap_path("v2.npy");
    tap_write_file(p, b, 12 + L + sizeof f);
    CHECK_RC(npy_load(p, &a, &e), ES_OK);
    CHECK(a.ndim == 2 && a.shape[1] == 2 && a.data && ((float *)a.data)[0] == 4.0f);
    npy_array_free(&a);
}

static void expect_npy_error(const char *name, const char *header, size_t ndata, int code,
                             const char *text)
{
    static const uint8_t zeros[64];
    const char *p = tap_path(name);
    write_npy_raw(p, header, zeros, ndata);
    npy_array a;
    es_err e;
    es_err_clear(&e);
    int rc = npy_load(p, &a, &e);
    CHECK_MSG(rc == code, "%s: code %d, expected %d (%s)", name, rc, code, e.msg);
    CHECK_CONTAINS(e.msg, p);
    CHECK_CONTAINS(e.msg, text);
    CHECK(a.data == NULL);
    npy_array_free(&a);
}

static void t_npy_errors(void)
{
    expect_npy_error("be.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8,
                     ES_EFORMAT, "unsupported dtype '>f4'");
    expect_npy_error("i4.npy", "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", 8,
                     ES_EFORMAT, "unsupported dtype '<i4'");
    expect_npy_error("rec.npy",
                     "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8,
                     ES_EFORMAT, "structured dtype");
    expect_npy_error("fo.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16,
                     ES_EFORMAT, "Fortran-order");
    expect_npy_error("short.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", 20,
                     ES_EFORMAT, "truncated data: shape (3, 2) of '<f4' needs 24 bytes");
    expect_npy_error("shortd.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 15,
                     ES_EFORMAT, "truncated data");
    expect_npy_error("nokey.npy", "{'descr': '<f4', 'shape': (2,), }", 8, ES_EFORMAT,
                     "missing key 'fortran_order'");
    expect_npy_error("extra.npy",
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1, }", 8,
                     ES_EFORMAT, "unexpected key 'x'");
    expect_npy_error("shape.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2; 3), }", 8,
                     ES_EFORMAT, "malformed .npy header");
    expect_npy_error("neg.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", 8,
                     ES_EFORMAT, "expected a dimension");
    expect_npy_error("brace.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ", 8,
                     ES_EFORMAT, "malformed .npy header");
    expect_npy_error("bool.npy", "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", 8,
                     ES_EFORMAT, "expected True or False");

    /* bad magic, truncated header, unknown version, missing file */
    npy_array a;
    es_err e;
    const char *p = tap_path("magic.npy");
    static const char zip[] = "PK\x03\x04 this is a zip";
    tap_write_file(p, zip, sizeof zip - 1);
    CHECK_RC(npy_load(p, &a, &e), ES_EFORMAT);
    CHECK_CONTAINS(e.msg, p);
    CHECK_CONTAINS(e.msg, "bad magic");
    p = tap_path("cut.npy");
    static const char cut[] = "\x93NUMPY\x01\x00\x76\x00{'descr'";
    tap_write_file(p, cut, sizeof cut - 1);
    CHECK_RC(npy_load(p, &a, &e), ES_EFORMAT);
    CHECK_CONTAINS(e.msg, "truncated .npy header");
    p = tap_path("v9.npy");
    static const char v9[] = "\x93NUMPY\x09\x00\x00\x00";
    tap_write_file(p, v9, sizeof v9 - 1);
    CHECK_RC(npy_load(p, &a, &e), ES_EFORMAT);
    CHECK_CONTAINS(e.msg, "version 9.0");
    p = tap_path("absent.npy");
    CHECK_RC(npy_load(p, &a, &e), ES_EIO);
    CHECK_CONTAINS(e.msg, p);
    /* invalid arguments to the writer */
    float f = 1.0f;
    uint64_t sh[1] = {1};
    CHECK_RC(npy_save(tap_path("bad.npy"), (npy_dtype)9, &f, 1, sh, &e), ES_EINVAL);
    CHECK_RC(npy_save(tap_path("bad.npy"), NPY_F32, &f, NPY_MAX_DIMS + 1, sh, &e), ES_EINVAL);
    CHECK(access(tap_path("bad.npy"), F_OK) != 0);
}

static int count_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *de; (de = readdir(d));)
        n += strstr(de->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static void t_npy_atomic(void)
{
    es_err e;
    float a[2] = {1, 2}, b[3] = {3, 4, 5};
    uint64_t s2[1] = {2}, s3[1] = {3};
    const char *p = tap_path("atomic.npy");
    CHECK_RC(npy_save(p, NPY_F32, a, 1, s2, &e), ES_OK);
    CHECK_RC(npy_save(p, NPY_F32, b, 1, s3, &e), ES_OK);
    npy_array r;
    CHECK_RC(npy_load(p, &r, &e), ES_OK);
    CHECK(r.count == 3 && r.data && ((float *)r.data)[2] == 5.0f);
    npy_array_free(&r);
    CHECK_INT(count_temp_files(tap_tmpdir()), 0);
    p = tap_path("no/such/dir/x.npy");
    CHECK_RC(npy_save(p, NPY_F32, a, 1, s2, &e), ES_EIO);
    CHECK_CONTAINS(e.msg, "no/such/dir/x.npy");
}

/* ---- .npz ---------------------------------------------------------------------------- */

static float conv_w[2 * 3 * 3 * 3];
static float conv_b[2] = {0.5f, -0.25f};
static int64_t steps = 123456789012LL;
static uint8_t mask[5] = {1, 0, 1, 1, 0};
static float big[20000];

static void fill_arrays(void)
{
    for (size_t i = 0; i < ES_ARRAY_LEN(conv_w); i++)
        conv_w[i] = (float)i * 0.125f - 3.0f;
    for (size_t i = 0; i < ES_ARRAY_LEN(big); i++)
        big[i] = (float)(i % 97) * 0.5f;
}

static int write_npz(const char *path, int deflate, es_err *e)
{
    static const uint64_t sw[4] = {2, 3, 3, 3}, sb[1] = {2}, sm[1] = {5}, sg[2] = {100, 200};
    npy_npz_writer *w;
    ES_TRY(npy_npz_create(path, deflate, &w, e));
    int rc = npy_npz_add(w, "conv1.weight", NPY_F32, conv_w, 4, sw, e);
    if (rc == ES_OK) rc = npy_npz_add(w, "conv1.bias", NPY_F32, conv_b, 1, sb, e);
    if (rc == ES_OK) rc = npy_npz_add(w, "steps.npy", NPY_I64, &steps, 0, NULL, e);
    if (rc == ES_OK) rc = npy_npz_add(w, "mask", NPY_U8, mask, 1, sm, e);
    if (rc == ES_OK) rc = npy_npz_add(w, "big", NPY_F32, big, 2, sg, e);
    if (rc < 0) {
        npy_npz_abort(w);
        return rc;
    }
    return npy_npz_commit(w, e);
}

static void check_npz(const char *path)
{
    es_err e;
    npy_npz *z = NULL;
    int rc = npy_npz_open(path, &z, &e);
    if (!CHECK_MSG(rc == ES_OK, "open %s: %s", path, rc ? e.msg : "")) return;
    CHECK_UINT(npy_npz_count(z), 5);
    static const char *names[5] = {"conv1.weight", "conv1.bias", "steps", "mask", "big"};
    for (size_t i = 0; i < 5; i++) {
        const char *n = npy_npz_name(z, i);
        CHECK(n && strcmp(n, names[i]) == 0);
    }
    CHECK(npy_npz_name(z, 5) == NULL);
    npy_array a;
    CHECK_RC(npy_npz_read(z, "conv1.weight", &a, &e), ES_OK);
    CHECK(a.dtype == NPY_F32 && a.ndim == 4 && a.shape[0] == 2 && a.shape[3] == 3);
    CHECK(a.data && memcmp(a.data, conv_w, sizeof conv_w) == 0);
    npy_array_free(&a);
    CHECK_RC(npy_npz_read(z, "conv1.bias.npy", &a, &e), ES_OK); /* full member name works too */
    CHECK(a.count == 2 && a.data && memcmp(a.data, conv_b, sizeof conv_b) == 0);
    npy_array_free(&a);
    CHECK_RC(npy_npz_read(z, "steps", &a, &e), ES_OK);
    CHECK(a.dtype == NPY_I64 && a.ndim == 0 && a.data && *(int64_t *)a.data == steps);
    npy_array_free(&a);
    CHECK_RC(npy_npz_read(z, "mask", &a, &e), ES_OK);
    CHECK(a.dtype == NPY_U8 && a.data && memcmp(a.data, mask, 5) == 0);
    npy_array_free(&a);
    CHECK_RC(npy_npz_read(z, "big", &a, &e), ES_OK);
    CHECK(a.count == 20000 && a.data && memcmp(a.data, big, sizeof big) == 0);
    npy_array_free(&a);
    CHECK_RC(npy_npz_read(z, "fc.weight", &a, &e), ES_EFORMAT);
    CHECK_CONTAINS(e.msg, path);
    CHECK_CONTAINS(e.msg, "no member 'fc.weight'");
    npy_npz_close(z);
}

static void t_npz_roundtrip(void)
{
    fill_arrays();
    es_err e;
    const char *ps = tap_path("stored.npz"), *pd = tap_path("deflated.npz");
    CHECK_RC(write_npz(ps, 0, &e), ES_OK);
    CHECK_RC(write_npz(pd, 1, &e), ES_OK);
    check_npz(ps);
    check_npz(pd);
    size_t ls, ld, ls2;
    uint8_t *bs = tap_read_file(ps, &ls), *bd = tap_read_file(pd, &ld);
    CHECK_MSG(ld < ls / 2, "deflated %zu bytes vs stored %zu", ld, ls);
    /* stored members: the .npy bytes sit in the archive verbatim, with their 64-byte header */
    CHECK(bs && ls > 30 && memcmp(bs, "PK\x03\x04", 4) == 0 && bs[8] == 0);
    CHECK(bd && ld > 30 && bd[8] == 8);
    /* deterministic: the same arrays give the same bytes */
    const char *ps2 = tap_path("stored2.npz");
    CHECK_RC(write_npz(ps2, 0, &e), ES_OK);
    uint8_t *bs2 = tap_read_file(ps2, &ls2);
    CHECK(bs && bs2 && ls == ls2 && memcmp(bs, bs2, ls) == 0);
    free(bs2);

    /* a duplicate member is refused and the archive stays usable; abort leaves nothing */
    npy_npz_writer *w;
    const char *pa = tap_path("aborted.npz");
    CHECK_RC(npy_npz_create(pa, 0, &w, &e), ES_OK);
    uint64_t sb[1] = {2};
    CHECK_RC(npy_npz_add(w, "x", NPY_F32, conv_b, 1, sb, &e), ES_OK);
    CHECK_RC(npy_npz_add(w, "x.npy", NPY_F32, conv_b, 1, sb, &e), ES_EINVAL);
    CHECK_CONTAINS(e.msg, "duplicate member 'x.npy'");
    npy_npz_abort(w);
    npy_npz_abort(NULL);
    CHECK(access(pa, F_OK) != 0);
    CHECK_INT(count_temp_files(tap_tmpdir()), 0);

    /* corruption: a flipped data byte in a stored member fails its CRC */
    npy_npz *z;
    npy_array a;
    const char *pc = tap_path("corrupt.npz");
    if (bs && ls > 200) {
        bs[30 + strlen("conv1.weight.npy") + 64 + 5] ^= 0x40;
        tap_write_file(pc, bs, ls);
        CHECK_RC(npy_npz_open(pc, &z, &e), ES_OK);
        CHECK_RC(npy_npz_read(z, "conv1.weight", &a, &e), ES_EFORMAT);
        CHECK_CONTAINS(e.msg, pc);
        CHECK_CONTAINS(e.msg, "conv1.weight.npy");
        CHECK_CONTAINS(e.msg, "CRC-32 mismatch");
        CHECK_RC(npy_npz_read(z, "conv1.bias", &a, &e), ES_OK); /* the others still read */
        npy_array_free(&a);
        npy_npz_close(z);
        /* cut off: no end record */
        tap_write_file(pc, bs, ls - 30);
        CHECK_RC(npy_npz_open(pc, &z, &e), ES_EFORMAT);
        CHECK_CONTAINS(e.msg, pc);
        CHECK_CONTAINS(e.msg, "end-of-central-directory");
    }
    /* deflated data damaged in the middle of the big member */
    if (bd && ld > 400) {
        /* the first "big.npy" is the member's local header; its data follows the name */
        size_t at = 0;
        for (size_t i = 0; i + 7 < ld && !at; i++)
            if (memcmp(bd + i, "big.npy", 7) == 0) at = i + 7;
        for (size_t i = at + 20; at && i < at + 36; i++)
            bd[i] ^= 0xff;
        tap_write_file(pc, bd, ld);
        if (npy_npz_open(pc, &z, &e) == ES_OK) {
            CHECK_RC(npy_npz_read(z, "big", &a, &e), ES_EFORMAT);
            CHECK_CONTAINS(e.msg, "big.npy");
            npy_npz_close(z);
        } else {
            CHECK_CONTAINS(e.msg, pc);
        }
    }
    CHECK_RC(npy_npz_open(tap_path("none.npz"), &z, &e), ES_EIO);
    const uint64_t s2[1] = {2};
    CHECK_RC(npy_save(tap_path("notzip.npy"), NPY_F32, conv_b, 1, s2, &e), ES_OK);
    CHECK_RC(npy_npz_open(tap_path("notzip.npy"), &z, &e), ES_EFORMAT); /* not a zip */
    npy_npz_close(NULL);
    free(bs);
    free(bd);
}

/* ---- interoperability with NumPy ----------------------------------------------------- */

static int have_numpy(void)
{
    if (access(PYTHON, X_OK) != 0) return 0;
    return system(PYTHON " -c 'import numpy' >/dev/null 2>&1") == 0;
}

/* The checksum the Python side prints: sum of byte[i] * (i + 1) modulo 2^64. */
static uint64_t checksum(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += (uint64_t)b[i] * (uint64_t)(i + 1);
    return s;
}

/* Run a command and capture its standard output. */
static int run_capture(const char *cmd, char *out, size_t outsz)
{
    FILE *fp = popen(cmd, "r");
    if (!fp) return -1;
    size_t n = fread(out, 1, outsz - 1, fp);
    out[n] = '\0';
    return pclose(fp);
}

static void t_npz_numpy_reads_ours(void)
{
    if (!have_numpy()) {
        TAP_SKIP(PYTHON " with numpy not available");
        return;
    }
    fill_arrays();
    es_err e;
    const char *paths[2] = {tap_path("to_numpy_stored.npz"), tap_path("to_numpy_deflated.npz")};
    char want[2048];
    snprintf(want, sizeof want,
             "conv1.weight <f4 [2x3x3x3] %llu\n"
             "conv1.bias <f4 [2] %llu\n"
             "steps <i8 [] %llu\n"
             "mask |u1 [5] %llu\n"
             "big <f4 [100x200] %llu\n",
             (unsigned long long)checksum(conv_w, sizeof conv_w),
             (unsigned long long)checksum(conv_b, sizeof conv_b),
             (unsigned long long)checksum(&steps, sizeof steps),
             (unsigned long long)checksum(mask, sizeof mask),
             (unsigned long long)checksum(big, sizeof big));
    for (int k = 0; k < 2; k++) {
        CHECK_RC(write_npz(paths[k], k, &e), ES_OK);
        char cmd[2048], out[4096];
        snprintf(cmd, sizeof cmd,
                 PYTHON
                 " -c 'import numpy as np, sys\n"
                 "z = np.load(sys.argv[1])\n"
                 "for k in z.files:\n"
                 "    a = z[k]\n"
                 "    b = np.frombuffer(a.tobytes(), np.uint8).astype(np.uint64)\n"
                 "    s = int((b * np.arange(1, b.size + 1, dtype=np.uint64)).sum())\n"
                 "    print(k, a.dtype.str, \"[\" + \"x\".join(map(str, a.shape)) + \"]\", s)\n"
                 "' '%s' 2>&1",
                 paths[k]);
        int st = run_capture(cmd, out, sizeof out);
        CHECK_MSG(st == 0, "python exit status %d: %s", st, out);
        CHECK_MSG(strcmp(out, want) == 0, "numpy sees [%s], expected [%s]", out, want);
    }
    /* a single .npy as well, through np.load */
    char cmd[2048], out[512];
    const char *p = tap_path("to_numpy.npy");
    const uint64_t s2[2] = {2, 3};
    const float f[6] = {1.5f, -2.25f, 0.0f, 4.0f, 8.5f, -7.0f};
    CHECK_RC(npy_save(p, NPY_F32, f, 2, s2, &e), ES_OK);
    snprintf(cmd, sizeof cmd,
             PYTHON " -c 'import numpy as np, sys; a = np.load(sys.argv[1]); "
                    "print(a.dtype.str, a.shape, a.flags.c_contiguous, a.tolist())' '%s' 2>&1",
             p);
    CHECK_RC(run_capture(cmd, out, sizeof out), 0);
    CHECK_STR(out, "<f4 (2, 3) True [[1.5, -2.25, 0.0], [4.0, 8.5, -7.0]]\n");
}

static void t_npz_we_read_numpys(void)
{
    if (!have_numpy()) {
        TAP_SKIP(PYTHON " with numpy not available");
        return;
    }
    char cmd[2048], out[1024];
    snprintf(cmd, sizeof cmd,
             PYTHON " -c 'import numpy as np, sys\n"
                    "d = sys.argv[1]\n"
                    "a = np.arange(24, dtype=np.float32).reshape(2, 3, 4) * 0.25 - 1\n"
                    "b = np.arange(6, dtype=np.float64).reshape(3, 2) / 8\n"
                    "c = np.array([-5, 0, 7, 1 << 40], dtype=np.int64)\n"
                    "u = (np.arange(10) * 25).astype(np.uint8)\n"
                    "g = (np.arange(50000) %% 89).astype(np.float32)\n"
                    "arrs = dict(a=a, b=b, c=c, u=u, s=np.float32(2.5), g=g)\n"
                    "np.savez(d + \"/py.npz\", **arrs)\n"
                    "np.savez_compressed(d + \"/pyc.npz\", **arrs)\n"
                    "np.save(d + \"/py_a.npy\", a)\n"
                    "np.save(d + \"/py_f.npy\", np.asfortranarray(b))\n"
                    "np.save(d + \"/py_e.npy\", np.zeros((0, 3), np.float32))\n"
                    "np.save(d + \"/py_i4.npy\", c.astype(np.int32))\n"
                    "' '%s' 2>&1",
             tap_tmpdir());
    int st = run_capture(cmd, out, sizeof out);
    if (!CHECK_MSG(st == 0, "python exit status %d: %s", st, out)) return;

    es_err e;
    const char *arch[2] = {tap_path("py.npz"), tap_path("pyc.npz")};
    for (int k = 0; k < 2; k++) {
        npy_npz *z = NULL;
        int rc = npy_npz_open(arch[k], &z, &e);
        if (!CHECK_MSG(rc == ES_OK, "open %s: %s", arch[k], rc ? e.msg : "")) continue;
        CHECK_UINT(npy_npz_count(z), 6);
        npy_array a;
        rc = npy_npz_read(z, "a", &a, &e);
        CHECK_MSG(rc == ES_OK, "a: %s", rc ? e.msg : "");
        if (rc == ES_OK) {
            int ok = a.dtype == NPY_F32 && a.ndim == 3 && a.shape[0] == 2 && a.shape[2] == 4;
            for (size_t i = 0; ok && i < 24; i++)
                ok = ((float *)a.data)[i] == i * 0.25f - 1;
            CHECK_MSG(ok, "%s: a", arch[k]);
        }
        npy_array_free(&a);
        rc = npy_npz_read(z, "b", &a, &e);
        CHECK_MSG(rc == ES_OK, "b: %s", rc ? e.msg : "");
        if (rc == ES_OK) {
            int ok = a.dtype == NPY_F32 && a.file_dtype == NPY_F64 && a.ndim == 2 &&
                     a.shape[0] == 3 && a.shape[1] == 2;
            for (size_t i = 0; ok && i < 6; i++)
                ok = ((float *)a.data)[i] == i / 8.0f;
            CHECK_MSG(ok, "%s: b (float64 read as float32)", arch[k]);
        }
        npy_array_free(&a);
        rc = npy_npz_read(z, "c", &a, &e);
        CHECK_MSG(rc == ES_OK, "c: %s", rc ? e.msg : "");
        if (rc == ES_OK) {
            const int64_t *c = a.data;
            CHECK(a.dtype == NPY_I64 && a.count == 4 && c[0] == -5 && c[3] == (int64_t)1 << 40);
        }
        npy_array_free(&a);
        rc = npy_npz_read(z, "u", &a, &e);
        CHECK_MSG(rc == ES_OK, "u: %s", rc ? e.msg : "");
        if (rc == ES_OK) CHECK(a.dtype == NPY_U8 && ((uint8_t *)a.data)[9] == 225);
        npy_array_free(&a);
        rc = npy_npz_read(z, "s", &a, &e);
        CHECK_MSG(rc == ES_OK, "s: %s", rc ? e.msg : "");
        if (rc == ES_OK) CHECK(a.ndim == 0 && a.count == 1 && ((float *)a.data)[0] == 2.5f);
        npy_array_free(&a);
        rc = npy_npz_read(z, "g", &a, &e);
        CHECK_MSG(rc == ES_OK, "g: %s", rc ? e.msg : "");
        if (rc == ES_OK) {
            int ok = a.count == 50000;
            for (size_t i = 0; ok && i < 50000; i++)
                ok = ((float *)a.data)[i] == (float)(i % 89);
            CHECK_MSG(ok, "%s: g", arch[k]);
        }
        npy_array_free(&a);
        npy_npz_close(z);
    }
    npy_array a;
    CHECK_RC(npy_load(tap_path("py_a.npy"), &a, &e), ES_OK);
    CHECK(a.ndim == 3 && a.count == 24 && a.data && ((float *)a.data)[23] == 23 * 0.25f - 1);
    npy_array_free(&a);
    CHECK_RC(npy_load(tap_path("py_e.npy"), &a, &e), ES_OK);
    CHECK(a.ndim == 2 && a.count == 0 && a.shape[1] == 3);
    npy_array_free(&a);
    CHECK_RC(npy_load(tap_path("py_f.npy"), &a, &e), ES_EFORMAT);
    CHECK_CONTAINS(e.msg, "Fortran-order");
    CHECK_CONTAINS(e.msg, "py_f.npy");
    CHECK_RC(npy_load(tap_path("py_i4.npy"), &a, &e), ES_EFORMAT);
    CHECK_CONTAINS(e.msg, "unsupported dtype '<i4'");
}

int main(int argc, char **argv)
{
    static const tap_test tests[] = {
        {"npy_roundtrip", t_npy_roundtrip},
        {"npy_header_variants", t_npy_header_variants},
        {"npy_errors", t_npy_errors},
        {"npy_atomic", t_npy_atomic},
        {"npz_roundtrip", t_npz_roundtrip},
        {"npz_numpy_reads_ours", t_npz_numpy_reads_ours},
        {"npz_we_read_numpys", t_npz_we_read_numpys},
    };
    return tap_main(tests, ES_ARRAY_LEN(tests), argc, argv);
}
