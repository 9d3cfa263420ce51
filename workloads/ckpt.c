/* ckpt.c - checkpoint container; see ckpt.h for the layout. The whole file is read into
 * memory on load: checkpoints hold one network's weights and optimizer state (megabytes). */
#include "ckpt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { T_F32 = 1, T_F64 = 2, T_U64 = 3, T_BYTES = 4 };
static const size_t type_size[] = {0, 4, 8, 8, 1};

struct ckpt_writer {
    es_atomic_file af;
    uint32_t crc;
    uint32_t count;
    int failed;
};

static void w_bytes(ckpt_writer *w, const void *p, size_t n)
{
    if (w->failed || n == 0) return;
    if (fwrite(p, 1, n, w->af.fp) != n) {
        w->failed = 1;
        return;
    }
    w->crc = es_crc32(w->crc, p, n);
}

static void w_u32(ckpt_writer *w, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    w_bytes(w, b, 4);
}

static void w_u64(ckpt_writer *w, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    w_bytes(w, b, 8);
}

int ckpt_begin(const char *path, ckpt_writer **out, es_err *err)
{
    ckpt_writer *w = calloc(1, sizeof *w);
    if (!w) return es_fail(err, ES_ENOMEM, "out of memory");
    int rc = es_atomic_open(&w->af, path, err);
    if (rc < 0) {
        free(w);
        return rc;
    }
    w->crc = 0;
    w_bytes(w, "ESSIMCKP", 8);
    w_u32(w, 1);
    *out = w;
    return ES_OK;
}

static void put(ckpt_writer *w, const char *name, int type, const void *v, size_t n)
{
    if (!w) return;
    size_t nl = strlen(name);
    if (nl > 65535) {
        w->failed = 1;
        return;
    }
    unsigned char h[3] = {(unsigned char)nl, (unsigned char)(nl >> 8), (unsigned char)type};
    w_bytes(w, h, 2);
    w_bytes(w, name, nl);
    w_bytes(w, h + 2, 1);
    w_u64(w, n);
    w_bytes(w, v, n * type_size[type]); /* host is little-endian (x86-64, aarch64) */
    w->count++;
}

void ckpt_put_f32(ckpt_writer *w, const char *name, const float *v, size_t n) { put(w, name, T_F32, v, n); }
void ckpt_put_f64(ckpt_writer *w, const char *name, const double *v, size_t n) { put(w, name, T_F64, v, n); }
void ckpt_put_u64(ckpt_writer *w, const char *name, const uint64_t *v, size_t n) { put(w, name, T_U64, v, n); }
void ckpt_put_bytes(ckpt_writer *w, const char *name, const void *v, size_t n) { put(w, name, T_BYTES, v, n); }

void ckpt_abort(ckpt_writer *w)
{
    if (!w) return;
    es_atomic_abort(&w->af);
    free(w);
}

int ckpt_commit(ckpt_writer *w, es_err *err)
{
    /* Trailer: record count (covered by the CRC), CRC, end marker. */
    w_u32(w, w->count);
    uint32_t crc = w->crc;
    unsigned char t[8] = {(unsigned char)crc, (unsigned char)(crc >> 8), (unsigned char)(crc >> 16),
                          (unsigned char)(crc >> 24), 'E', 'N', 'D', 'C'};
    if (!w->failed && fwrite(t, 1, 8, w->af.fp) != 8) w->failed = 1;
    if (w->failed) {
        int e = errno;
        es_fail(err, ES_EIO, "%s: write failed: %s", w->af.path, strerror(e));
        ckpt_abort(w);
        return ES_EIO;
    }
    int rc = es_atomic_commit(&w->af, err);
    free(w);
    return rc;
}

/* ---- reading ------------------------------------------------------------------------------ */

typedef struct rec {
    char *name;
    int type;
    uint64_t count;
    const unsigned char *data;
} rec;

struct ckpt {
    unsigned char *buf;
    size_t len;
    rec *recs;
    uint32_t nrec;
    char *path;
};

static uint64_t rd(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

void ckpt_free(ckpt *c)
{
    if (!c) return;
    for (uint32_t i = 0; i < c->nrec; i++) free(c->recs[i].name);
    free(c->recs);
    free(c->buf);
    free(c->path);
    free(c);
}

static int cmp_rec_name(const void *a, const void *b)
{
    return strcmp((*(const rec *const *)a)->name, (*(const rec *const *)b)->name);
}

/* A name given twice would make which value is restored depend on the lookup order: refused. */
static int check_unique(const ckpt *c, es_err *err)
{
    if (c->nrec < 2) return ES_OK;
    const rec **v = malloc(c->nrec * sizeof *v);
    if (!v) return es_fail(err, ES_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < c->nrec; i++) v[i] = &c->recs[i];
    qsort(v, c->nrec, sizeof *v, cmp_rec_name);
    int rc = ES_OK;
    for (uint32_t i = 1; i < c->nrec && rc == ES_OK; i++)
        if (!strcmp(v[i - 1]->name, v[i]->name))
            rc = es_fail(err, ES_EFORMAT, "%s: record '%s' appears more than once", c->path,
                         v[i]->name);
    free(v);
    return rc;
}

int ckpt_load(const char *path, ckpt **out, es_err *err)
{
    ckpt *c = calloc(1, sizeof *c);
    if (!c) return es_fail(err, ES_ENOMEM, "out of memory");
    c->path = es_strdup(path);
    int rc = es_read_input(path, "checkpoint", es_limit(ES_LIMIT_BINARY_BYTES, (uint64_t)4 << 30),
                           ES_LIMIT_BINARY_BYTES, &c->buf, &c->len, err);
    if (rc == ES_OK && c->len < 24)
        rc = es_fail(err, ES_EFORMAT, "%s: not an ESSIM checkpoint (only %zu bytes)", path, c->len);
    if (rc == ES_OK && memcmp(c->buf, "ESSIMCKP", 8))
        rc = es_fail(err, ES_EFORMAT, "%s: not an ESSIM checkpoint (bad magic)", path);
    if (rc == ES_OK && rd(c->buf + 8, 4) != 1)
        rc = es_fail(err, ES_EFORMAT, "%s: unsupported checkpoint version %u", path,
                     (unsigned)rd(c->buf + 8, 4));
    if (rc == ES_OK && memcmp(c->buf + c->len - 4, "ENDC", 4))
        rc = es_fail(err, ES_EFORMAT, "%s: truncated checkpoint (no end marker)", path);
    if (rc == ES_OK) {
        size_t body = c->len - 8;
#ifndef ES_FUZZ_NO_CRC /* the fuzz build (tests/fuzz) reaches the records behind the CRC */
        if (es_crc32(0, c->buf, body) != rd(c->buf + body, 4))
#else
        if (0)
#endif
            rc = es_fail(err, ES_EFORMAT, "%s: checkpoint is corrupt (CRC mismatch)", path);
    }
    if (rc == ES_OK) {
        uint32_t n = (uint32_t)rd(c->buf + c->len - 12, 4);
        size_t off = 12, end = c->len - 12;
        if (n > (end - off) / 11 + 1) n = 0, rc = es_fail(err, ES_EFORMAT, "%s: bad record count", path);
        c->recs = calloc(n ? n : 1, sizeof *c->recs);
        if (!c->recs) rc = es_fail(err, ES_ENOMEM, "out of memory");
        for (uint32_t i = 0; rc == ES_OK && i < n; i++) {
            if (off + 2 > end) goto bad;
            size_t nl = (size_t)rd(c->buf + off, 2);
            off += 2;
            if (off + nl + 9 > end) goto bad;
            rec *r = &c->recs[i];
            r->name = malloc(nl + 1);
            if (!r->name) {
                rc = es_fail(err, ES_ENOMEM, "out of memory");
                break;
            }
            c->nrec = i + 1; /* so ckpt_free frees the name if the record turns out bad */
            memcpy(r->name, c->buf + off, nl);
            r->name[nl] = '\0';
            off += nl;
            r->type = c->buf[off++];
            r->count = rd(c->buf + off, 8);
            off += 8;
            if (r->type < T_F32 || r->type > T_BYTES) goto bad;
            if (r->count > (end - off) / type_size[r->type]) goto bad;
            r->data = c->buf + off;
            off += r->count * type_size[r->type];
            continue;
        bad:
            rc = es_fail(err, ES_EFORMAT, "%s: malformed record %u", path, i);
        }
        if (rc == ES_OK && off != end)
            rc = es_fail(err, ES_EFORMAT, "%s: trailing bytes after the last record", path);
        if (rc == ES_OK) rc = check_unique(c, err);
    }
    if (rc < 0) {
        ckpt_free(c);
        return rc;
    }
    *out = c;
    return ES_OK;
}

static int get(const ckpt *c, const char *name, int type, void *dst, size_t n, es_err *err)
{
    for (uint32_t i = 0; i < c->nrec; i++) {
        const rec *r = &c->recs[i];
        if (strcmp(r->name, name)) continue;
        if (r->type != type || r->count != n)
            return es_fail(err, ES_EFORMAT,
                           "%s: record '%s' has %llu elements of type %d, expected %zu of type %d "
                           "(was the checkpoint made with another network or configuration?)",
                           c->path, name, (unsigned long long)r->count, r->type, n, type);
        memcpy(dst, r->data, n * type_size[type]);
        return ES_OK;
    }
    return es_fail(err, ES_EFORMAT, "%s: checkpoint has no record '%s'", c->path, name);
}

int ckpt_get_f32(const ckpt *c, const char *name, float *dst, size_t n, es_err *err) { return get(c, name, T_F32, dst, n, err); }
int ckpt_get_f64(const ckpt *c, const char *name, double *dst, size_t n, es_err *err) { return get(c, name, T_F64, dst, n, err); }
int ckpt_get_u64(const ckpt *c, const char *name, uint64_t *dst, size_t n, es_err *err) { return get(c, name, T_U64, dst, n, err); }
int ckpt_get_bytes(const ckpt *c, const char *name, void *dst, size_t n, es_err *err) { return get(c, name, T_BYTES, dst, n, err); }

size_t ckpt_count(const ckpt *c, const char *name)
{
    for (uint32_t i = 0; i < c->nrec; i++)
        if (!strcmp(c->recs[i].name, name)) return (size_t)c->recs[i].count;
    return 0;
}
