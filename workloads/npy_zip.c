/* npy_zip.c - .npz archives: a minimal zip writer (stored or raw-deflate members, CRC-32,
 * local headers, central directory) and a reader for what NumPy's zipfile writes (stored or
 * deflated, ZIP64 extra fields included). Members are .npy images handled by npy.c. */
#define _POSIX_C_SOURCE 200809L
#include "npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define ZIP_LOCAL_SIG     0x04034b50u
#define ZIP_CENTRAL_SIG   0x02014b50u
#define ZIP_EOCD_SIG      0x06054b50u
#define ZIP64_EOCD_SIG    0x06064b50u
#define ZIP64_LOCATOR_SIG 0x07064b50u
#define ZIP_STORED        0
#define ZIP_DEFLATED      8
/* 1980-01-01 00:00, the earliest DOS date: a fixed timestamp keeps archives reproducible. */
#define ZIP_DOS_DATE 0x0021
#define ZIP_DOS_TIME 0x0000

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v & 0xffff);
    put16(p + 2, v >> 16);
}

static uint32_t get16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
    return get16(p) | get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}


/* ---- writer ----------------------------------------------------------------------------- */

typedef struct zentry {
    char *name; /* full member name, "conv1.weight.npy" */
    uint32_t crc, csize, usize, offset;
    uint16_t method;
} zentry;

struct npy_npz_writer {
    es_atomic_file af;
    char *path;
    int deflate;
    int failed; /* a write went wrong: the file is inconsistent and commit must refuse */
    uint64_t pos;
    zentry *e;
    size_t n, cap;
};

int npy_npz_create(const char *path, int deflate, npy_npz_writer **out, es_err *err)
{
    *out = NULL;
    npy_npz_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = es_strdup(path))) {
        free(w);
        return es_fail(err, ES_ENOMEM, "out of memory");
    }
    int rc = es_atomic_open(&w->af, path, err);
    if (rc < 0) {
        free(w->path);
        free(w);
        return rc;
    }
    w->deflate = deflate != 0;
    *out = w;
    return ES_OK;
}

static void free_entries(zentry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].name);
    free(e);
}

void npy_npz_abort(npy_npz_writer *w)
{
    if (!w) return;
    es_atomic_abort(&w->af);
    free_entries(w->e, w->n);
    free(w->path);
    free(w);
}

/* Raw deflate (no zlib/gzip wrapper), as zip method 8 requires. */
static int deflate_raw(const uint8_t *in, size_t n, uint8_t **out, size_t *outn, const char *what,
                       es_err *err)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return es_fail_at(err, ES_ENOMEM, what, 0, 0, "deflateInit2 failed");
    size_t cap = (size_t)deflateBound(&s, (uLong)n) + 64;
    uint8_t *b = malloc(cap);
    if (!b) {
        deflateEnd(&s);
        return es_fail_at(err, ES_ENOMEM, what, 0, 0, "out of memory");
    }
    s.next_in = (Bytef *)(uintptr_t)in; /* zlib's API is not const-correct */
    s.avail_in = (uInt)n;
    s.next_out = b;
    s.avail_out = (uInt)cap;
    int zr = deflate(&s, Z_FINISH);
    size_t produced = (size_t)s.total_out;
    deflateEnd(&s);
    if (zr != Z_STREAM_END) {
        free(b);
        return es_fail_at(err, ES_EIO, what, 0, 0, "deflate failed (%d)", zr);
    }
    *out = b;
    *outn = produced;
    return ES_OK;
}

static int write_bytes(npy_npz_writer *w, const void *p, size_t n, es_err *err)
{
    if (n && fwrite(p, 1, n, w->af.fp) != n) {
        w->failed = 1;
        return es_fail_at(err, ES_EIO, w->path, 0, 0, "write failed: %s", strerror(errno));
    }
    w->pos += n;
    return ES_OK;
}

static int name_is(const char *full, const char *key)
{
    return strcmp(full, key) == 0;
}

int npy_npz_add(npy_npz_writer *w, const char *name, npy_dtype dtype, const void *data, int ndim,
                const uint64_t *shape, es_err *err)
{
    if (!w || !name || !*name) return es_fail(err, ES_EINVAL, "npy_npz_add: no member name");
    if (w->failed)
        return es_fail_at(err, ES_ESTATE, w->path, 0, 0, "an earlier write failed; abort it");
    size_t nl = strlen(name);
    int has_ext = nl >= 4 && strcmp(name + nl - 4, ".npy") == 0;
    size_t fl = nl + (has_ext ? 0 : 4);
    if (fl > 0xffff) return es_fail(err, ES_EINVAL, "npz member name too long");
    char *full = malloc(fl + 1);
    if (!full) return es_fail(err, ES_ENOMEM, "out of memory");
    snprintf(full, fl + 1, "%s%s", name, has_ext ? "" : ".npy");
    for (size_t i = 0; i < w->n; i++)
        if (name_is(w->e[i].name, full)) {
            int rc = es_fail_at(err, ES_EINVAL, w->path, 0, 0, "duplicate member '%s'", full);
            free(full);
            return rc;
        }
    if (w->n >= 0xffff) {
        free(full);
        return es_fail_at(err, ES_EINVAL, w->path, 0, 0,
                          "more than 65535 members (ZIP64 is not "
                          "written)");
    }
    if (w->n == w->cap) {
        size_t nc = w->cap ? 2 * w->cap : 16;
        zentry *ne = realloc(w->e, nc * sizeof *ne);
        if (!ne) {
            free(full);
            return es_fail(err, ES_ENOMEM, "out of memory");
        }
        w->e = ne;
        w->cap = nc;
    }

    uint8_t *npy = NULL, *packed = NULL;
    size_t nlen = 0, plen = 0;
    int rc = npy_encode(dtype, data, ndim, shape, &npy, &nlen, err);
    if (rc < 0) {
        free(full);
        return rc;
    }
    if (w->deflate) {
        rc = deflate_raw(npy, nlen, &packed, &plen, w->path, err);
        if (rc < 0) goto out;
    }
    const uint8_t *payload = w->deflate ? packed : npy;
    size_t psize = w->deflate ? plen : nlen;
    /* Without ZIP64 records every size and offset must fit in 32 bits. */
    if (nlen > 0xfffffffful || w->pos + 30 + fl + psize > 0xfffffffful) {
        rc = es_fail_at(err, ES_EINVAL, w->path, 0, 0,
                        "archive would exceed 4 GiB at member '%s' (ZIP64 is not written)", full);
        goto out;
    }
    zentry *e = &w->e[w->n];
    e->crc = es_crc32(0, npy, nlen);
    e->csize = (uint32_t)psize;
    e->usize = (uint32_t)nlen;
    e->offset = (uint32_t)w->pos;
    e->method = w->deflate ? ZIP_DEFLATED : ZIP_STORED;
    uint8_t lh[30];
    put32(lh, ZIP_LOCAL_SIG);
    put16(lh + 4, 20); /* version needed: 2.0 (deflate) */
    put16(lh + 6, 0);  /* flags: sizes are known up front, no data descriptor */
    put16(lh + 8, e->method);
    put16(lh + 10, ZIP_DOS_TIME);
    put16(lh + 12, ZIP_DOS_DATE);
    put32(lh + 14, e->crc);
    put32(lh + 18, e->csize);
    put32(lh + 22, e->usize);
    put16(lh + 26, (uint32_t)fl);
    put16(lh + 28, 0);
    rc = write_bytes(w, lh, sizeof lh, err);
    if (rc == ES_OK) rc = write_bytes(w, full, fl, err);
    if (rc == ES_OK) rc = write_bytes(w, payload, psize, err);
    if (rc < 0) goto out;
    e->name = full;
    full = NULL;
    w->n++;
out:
    free(full);
    free(npy);
    free(packed);
    return rc;
}

int npy_npz_commit(npy_npz_writer *w, es_err *err)
{
    if (!w) return es_fail(err, ES_EINVAL, "npy_npz_commit: NULL writer");
    int rc = ES_OK;
    if (w->failed) {
        rc = es_fail_at(err, ES_ESTATE, w->path, 0, 0, "an earlier write failed");
        goto fail;
    }
    uint64_t cd_start = w->pos;
    for (size_t i = 0; i < w->n && rc == ES_OK; i++) {
        const zentry *e = &w->e[i];
        size_t fl = strlen(e->name);
        uint8_t ch[46];
        put32(ch, ZIP_CENTRAL_SIG);
        put16(ch + 4, 3u << 8 | 20); /* made by: Unix, zip 2.0 (so permissions apply) */
        put16(ch + 6, 20);
        put16(ch + 8, 0);
        put16(ch + 10, e->method);
        put16(ch + 12, ZIP_DOS_TIME);
        put16(ch + 14, ZIP_DOS_DATE);
        put32(ch + 16, e->crc);
        put32(ch + 20, e->csize);
        put32(ch + 24, e->usize);
        put16(ch + 28, (uint32_t)fl);
        put16(ch + 30, 0);              /* extra */
        put16(ch + 32, 0);              /* comment */
        put16(ch + 34, 0);              /* disk */
        put16(ch + 36, 0);              /* internal attributes */
        put32(ch + 38, 0100644u << 16); /* external: regular file, rw-r--r-- */
        put32(ch + 42, e->offset);
        rc = write_bytes(w, ch, sizeof ch, err);
        if (rc == ES_OK) rc = write_bytes(w, e->name, fl, err);
    }
    if (rc < 0) goto fail;
    uint64_t cd_size = w->pos - cd_start;
    if (w->pos + 22 > 0xfffffffful) {
        rc = es_fail_at(err, ES_EINVAL, w->path, 0, 0,
                        "archive exceeds 4 GiB (ZIP64 is not "
                        "written)");
        goto fail;
    }
    uint8_t eocd[22];
    put32(eocd, ZIP_EOCD_SIG);
    put16(eocd + 4, 0);
    put16(eocd + 6, 0);
    put16(eocd + 8, (uint32_t)w->n);
    put16(eocd + 10, (uint32_t)w->n);
    put32(eocd + 12, (uint32_t)cd_size);
    put32(eocd + 16, (uint32_t)cd_start);
    put16(eocd + 20, 0);
    rc = write_bytes(w, eocd, sizeof eocd, err);
    if (rc < 0) goto fail;
    rc = es_atomic_commit(&w->af, err);
    free_entries(w->e, w->n);
    free(w->path);
    free(w);
    return rc;
fail:
    npy_npz_abort(w);
    return rc;
}

/* ---- reader ----------------------------------------------------------------------------- */

typedef struct rentry {
    char *name; /* full member name */
    char *key;  /* without ".npy" */
    uint64_t csize, usize, offset;
    uint32_t crc;
    uint16_t method, flags;
} rentry;

struct npy_npz {
    char *path;
    uint8_t *buf;
    size_t len;
    rentry *e;
    size_t n;
};

void npy_npz_close(npy_npz *z)
{
    if (!z) return;
    for (size_t i = 0; i < z->n; i++) {
        free(z->e[i].name);
        free(z->e[i].key);
    }
    free(z->e);
    free(z->buf);
    free(z->path);
    free(z);
}

size_t npy_npz_count(const npy_npz *z)
{
    return z ? z->n : 0;
}

const char *npy_npz_name(const npy_npz *z, size_t i)
{
    return z && i < z->n ? z->e[i].key : NULL;
}

static int read_whole(const char *path, uint8_t **buf, size_t *len, es_err *err)
{
    return es_read_input(path, ".npz archive", es_limit(ES_LIMIT_BINARY_BYTES, (uint64_t)4 << 30),
                         ES_LIMIT_BINARY_BYTES, buf, len, err);
}

/* Apply a ZIP64 extended-information extra field (id 1): it holds, in this order, only the
 * fields whose 32-bit value is 0xffffffff. Python's zipfile writes it when sizes or offsets
 * need it. */
static int apply_zip64(const uint8_t *x, size_t xl, rentry *e, uint32_t usize32, uint32_t csize32,
                       uint32_t off32)
{
    size_t i = 0;
    while (i + 4 <= xl) {
        uint32_t id = get16(x + i), sz = get16(x + i + 2);
        if (i + 4 + sz > xl) return -1;
        if (id == 1) {
            const uint8_t *p = x + i + 4, *end = p + sz;
            if (usize32 == 0xffffffffu) {
                if (p + 8 > end) return -1;
                e->usize = get64(p);
                p += 8;
            }
            if (csize32 == 0xffffffffu) {
                if (p + 8 > end) return -1;
                e->csize = get64(p);
                p += 8;
            }
            if (off32 == 0xffffffffu) {
                if (p + 8 > end) return -1;
                e->offset = get64(p);
            }
        }
        i += 4 + sz;
    }
    return 0;
}

static int parse_directory(npy_npz *z, es_err *err)
{
    const uint8_t *b = z->buf;
    size_t len = z->len;
    const char *path = z->path;
    if (len < 22)
        return es_fail_at(err, ES_EFORMAT, path, 0, 0, "not a zip archive (%zu bytes)", len);
    /* The end-of-central-directory record is last, followed by a comment of up to 64 KiB. */
    size_t eocd = SIZE_MAX;
    size_t lo = len >= 22 + 0xffff ? len - 22 - 0xffff : 0;
    for (size_t i = len - 22 + 1; i-- > lo;)
        if (get32(b + i) == ZIP_EOCD_SIG) {
            eocd = i;
            break;
        }
    if (eocd == SIZE_MAX)
        return es_fail_at(err, ES_EFORMAT, path, 0, 0,
                          "not a zip archive: no end-of-central-directory record");
    uint64_t count = get16(b + eocd + 10), cd_size = get32(b + eocd + 12),
             cd_off = get32(b + eocd + 16);
    if ((count == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu) && eocd >= 20 &&
        get32(b + eocd - 20) == ZIP64_LOCATOR_SIG) {
        uint64_t z64 = get64(b + eocd - 20 + 8);
        if (z64 + 56 > len || get32(b + z64) != ZIP64_EOCD_SIG)
            return es_fail_at(err, ES_EFORMAT, path, 0, 0, "bad ZIP64 end record");
        count = get64(b + z64 + 32);
        cd_size = get64(b + z64 + 40);
        cd_off = get64(b + z64 + 48);
    }
    if (cd_off > len || cd_size > len - cd_off)
        return es_fail_at(err, ES_EFORMAT, path, 0, 0,
                          "truncated zip archive: the central directory (offset %llu, %llu "
                          "bytes) lies beyond the end of the file (%zu bytes)",
                          (unsigned long long)cd_off, (unsigned long long)cd_size, len);
    if (count > cd_size / 46)
        return es_fail_at(err, ES_EFORMAT, path, 0, 0, "corrupt zip directory (%llu entries)",
                          (unsigned long long)count);
    z->e = calloc(count ? (size_t)count : 1, sizeof *z->e);
    if (!z->e) return es_fail_at(err, ES_ENOMEM, path, 0, 0, "out of memory");
    size_t p = (size_t)cd_off, end = (size_t)(cd_off + cd_size);
    for (uint64_t i = 0; i < count; i++) {
        if (p + 46 > end || get32(b + p) != ZIP_CENTRAL_SIG)
            return es_fail_at(err, ES_EFORMAT, path, 0, 0,
                              "corrupt zip directory at entry %llu (offset %zu)",
                              (unsigned long long)i, p);
        size_t nl = get16(b + p + 28), xl = get16(b + p + 30), cl = get16(b + p + 32);
        if (p + 46 + nl + xl + cl > end)
            return es_fail_at(err, ES_EFORMAT, path, 0, 0,
                              "corrupt zip directory at entry %llu (offset %zu)",
                              (unsigned long long)i, p);
        rentry *e = &z->e[z->n];
        e->flags = (uint16_t)get16(b + p + 8);
        e->method = (uint16_t)get16(b + p + 10);
        e->crc = get32(b + p + 16);
        uint32_t cs = get32(b + p + 20), us = get32(b + p + 24), off = get32(b + p + 42);
        e->csize = cs;
        e->usize = us;
        e->offset = off;
        if (apply_zip64(b + p + 46 + nl, xl, e, us, cs, off) < 0)
            return es_fail_at(err, ES_EFORMAT, path, 0, 0, "corrupt extra field in zip entry %llu",
                              (unsigned long long)i);
        e->name = malloc(nl + 1);
        e->key = malloc(nl + 1);
        if (!e->name || !e->key) {
            free(e->name);
            free(e->key);
            return es_fail_at(err, ES_ENOMEM, path, 0, 0, "out of memory");
        }
        memcpy(e->name, b + p + 46, nl);
        e->name[nl] = '\0';
        memcpy(e->key, e->name, nl + 1);
        if (nl >= 4 && strcmp(e->key + nl - 4, ".npy") == 0) e->key[nl - 4] = '\0';
        z->n++;
        p += 46 + nl + xl + cl;
    }
    return ES_OK;
}

int npy_npz_open(const char *path, npy_npz **out, es_err *err)
{
    *out = NULL;
    npy_npz *z = calloc(1, sizeof *z);
    if (!z || !(z->path = es_strdup(path))) {
        free(z);
        return es_fail(err, ES_ENOMEM, "out of memory");
    }
    int rc = read_whole(path, &z->buf, &z->len, err);
    if (rc == ES_OK) rc = parse_directory(z, err);
    if (rc < 0) {
        npy_npz_close(z);
        return rc;
    }
    *out = z;
    return ES_OK;
}

static int inflate_raw(const uint8_t *in, size_t n, uint8_t *out, size_t outn, const char *path,
                       const char *member, es_err *err)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, -15) != Z_OK)
        return es_fail_at(err, ES_ENOMEM, path, 0, 0, "inflateInit2 failed");
    s.next_in = (Bytef *)(uintptr_t)in;
    s.avail_in = (uInt)n;
    s.next_out = out;
    s.avail_out = (uInt)outn;
    int zr = inflate(&s, Z_FINISH);
    size_t produced = (size_t)s.total_out;
    inflateEnd(&s);
    if (zr != Z_STREAM_END || produced != outn)
        return es_fail_at(err, ES_EFORMAT, path, 0, 0,
                          "member '%s': corrupt deflate data (%s; %zu of %zu bytes)", member,
                          zr == Z_DATA_ERROR ? "invalid stream" : "ends early", produced, outn);
    return ES_OK;
}

int npy_npz_read(const npy_npz *z, const char *name, npy_array *out, es_err *err)
{
    memset(out, 0, sizeof *out);
    if (!z || !name) return es_fail(err, ES_EINVAL, "npy_npz_read: NULL argument");
    const rentry *e = NULL;
    for (size_t i = 0; i < z->n && !e; i++)
        if (strcmp(z->e[i].key, name) == 0 || strcmp(z->e[i].name, name) == 0) e = &z->e[i];
    if (!e) return es_fail_at(err, ES_EFORMAT, z->path, 0, 0, "no member '%s'", name);
    if (e->flags & 1)
        return es_fail_at(err, ES_EFORMAT, z->path, 0, 0, "member '%s' is encrypted", e->name);
    if (e->method != ZIP_STORED && e->method != ZIP_DEFLATED)
        return es_fail_at(err, ES_EFORMAT, z->path, 0, 0,
                          "member '%s': compression method %u is not supported (stored and "
                          "deflate are)",
                          e->name, e->method);
    /* The local header repeats the name and may carry a different extra field; only its
     * lengths matter here, the sizes come from the central directory (NumPy's zipfile puts
     * 0xffffffff placeholders in the local header). */
    const uint8_t *b = z->buf;
    if (e->offset > z->len || z->len - e->offset < 30 || get32(b + e->offset) != ZIP_LOCAL_SIG)
        return es_fail_at(err, ES_EFORMAT, z->path, 0, 0,
                          "member '%s': no local header at offset %llu", e->name,
                          (unsigned long long)e->offset);
    uint64_t data = e->offset + 30 + get16(b + e->offset + 26) + get16(b + e->offset + 28);
    if (data > z->len || e->csize > z->len - data)
        return es_fail_at(err, ES_EFORMAT, z->path, 0, 0,
                          "member '%s' is truncated: %llu bytes at offset %llu, the archive has "
                          "%zu",
                          e->name, (unsigned long long)e->csize, (unsigned long long)data, z->len);
    if (e->method == ZIP_STORED && e->csize != e->usize)
        return es_fail_at(err, ES_EFORMAT, z->path, 0, 0,
                          "member '%s': stored sizes disagree (%llu vs %llu)", e->name,
                          (unsigned long long)e->csize, (unsigned long long)e->usize);
    if (e->usize > SIZE_MAX / 2 || e->usize > 0xffffffffu || e->csize > 0xffffffffu)
        return es_fail_at(err, ES_EFORMAT, z->path, 0, 0, "member '%s' is too large", e->name);
    /* deflate expands at most 1032:1, so a larger claim is a lie told before allocating */
    if (e->method == ZIP_DEFLATED && e->usize > e->csize * 1032 + 1024)
        return es_fail_at(err, ES_EFORMAT, z->path, 0, 0,
                          "member '%s' claims %llu bytes from %llu compressed, more than deflate "
                          "can produce",
                          e->name, (unsigned long long)e->usize, (unsigned long long)e->csize);
    const uint8_t *raw = b + data;
    uint8_t *tmp = NULL;
    if (e->method == ZIP_DEFLATED) {
        tmp = malloc(e->usize ? (size_t)e->usize : 1);
        if (!tmp) return es_fail_at(err, ES_ENOMEM, z->path, 0, 0, "out of memory");
        int rc = inflate_raw(raw, (size_t)e->csize, tmp, (size_t)e->usize, z->path, e->name, err);
        if (rc < 0) {
            free(tmp);
            return rc;
        }
        raw = tmp;
    }
    int rc = ES_OK;
    uint32_t crc = es_crc32(0, raw, (size_t)e->usize);
    char what[1024];
    snprintf(what, sizeof what, "%s:%s", z->path, e->name);
    if (crc != e->crc)
        rc = es_fail_at(err, ES_EFORMAT, what, 0, 0,
                        "CRC-32 mismatch (0x%08x computed, 0x%08x recorded): the member is "
                        "corrupt",
                        crc, e->crc);
    else
        rc = npy_decode(raw, (size_t)e->usize, what, out, err);
    free(tmp);
    return rc;
}
