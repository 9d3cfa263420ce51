/* npy.c - the .npy format: encoding a header dict and raw little-endian data, and parsing the
 * header as the small Python literal it is. The .npz archive layer is in npy_zip.c. */
#define _POSIX_C_SOURCE 200809L
#include "npy.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* .npy stores little-endian data and we copy it as is. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c assumes a little-endian host"
#endif

#define NPY_MAGIC     "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN     64

size_t npy_dtype_size(npy_dtype dtype)
{
    switch (dtype) {
    case NPY_F32: return 4;
    case NPY_F64: return 8;
    case NPY_I64: return 8;
    case NPY_U8: return 1;
    }
    return 0;
}

const char *npy_dtype_descr(npy_dtype dtype)
{
    switch (dtype) {
    case NPY_F32: return "<f4";
    case NPY_F64: return "<f8";
    case NPY_I64: return "<i8";
    case NPY_U8: return "|u1";
    }
    return "?";
}

void npy_array_free(npy_array *a)
{
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* Element count of a shape, or 0 with *overflow set if it does not fit in size_t bytes. */
static size_t shape_count(int ndim, const uint64_t *shape, size_t elem, int *overflow)
{
    size_t n = 1;
    *overflow = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] && n > SIZE_MAX / elem / shape[d]) {
            *overflow = 1;
            return 0;
        }
        n *= (size_t)shape[d];
    }
    return n;
}

/* ---- writing ---------------------------------------------------------------------------- */

int npy_encode(npy_dtype dtype, const void *data, int ndim, const uint64_t *shape, uint8_t **buf,
               size_t *len, es_err *err)
{
    *buf = NULL;
    *len = 0;
    size_t elem = npy_dtype_size(dtype);
    if (!elem) return es_fail(err, ES_EINVAL, "npy: unknown dtype %d", (int)dtype);
    if (ndim < 0 || ndim > NPY_MAX_DIMS || (ndim > 0 && !shape))
        return es_fail(err, ES_EINVAL, "npy: %d dimensions (0..%d allowed)", ndim, NPY_MAX_DIMS);
    int ovf;
    size_t count = shape_count(ndim, shape, elem, &ovf);
    if (ovf) return es_fail(err, ES_EINVAL, "npy: array too large");
    if (count && !data) return es_fail(err, ES_EINVAL, "npy: NULL data");

    /* The dict as NumPy writes it (keys sorted, Python reprs); a 1-tuple needs its comma. */
    char hdr[128 + NPY_MAX_DIMS * 24 + NPY_ALIGN];
    size_t h =
        (size_t)snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                         npy_dtype_descr(dtype));
    for (int d = 0; d < ndim; d++)
        h += (size_t)snprintf(hdr + h, sizeof hdr - h, "%s%llu", d ? ", " : "",
                              (unsigned long long)shape[d]);
    h += (size_t)snprintf(hdr + h, sizeof hdr - h, "%s), }", ndim == 1 ? "," : "");
    /* Magic (6) + version (2) + length (2) + header + '\n' must be a multiple of 64, so the
     * data is aligned for memory mapping; pad with spaces before the newline. */
    size_t total = NPY_MAGIC_LEN + 4 + h + 1;
    size_t pad = (NPY_ALIGN - total % NPY_ALIGN) % NPY_ALIGN;
    memset(hdr + h, ' ', pad);
    h += pad;
    hdr[h++] = '\n';
    size_t data_bytes = count * elem, head = NPY_MAGIC_LEN + 4 + h;
    uint8_t *b = malloc(head + data_bytes);
    if (!b) return es_fail(err, ES_ENOMEM, "npy: out of memory for %zu bytes", head + data_bytes);
    memcpy(b, NPY_MAGIC, NPY_MAGIC_LEN);
    b[6] = 1; /* version 1.0: a 2-byte header length */
    b[7] = 0;
    b[8] = (uint8_t)(h & 0xff);
    b[9] = (uint8_t)(h >> 8);
    memcpy(b + 10, hdr, h);
    if (data_bytes) memcpy(b + head, data, data_bytes);
    *buf = b;
    *len = head + data_bytes;
    return ES_OK;
}

int npy_save(const char *path, npy_dtype dtype, const void *data, int ndim, const uint64_t *shape,
             es_err *err)
{
    uint8_t *buf;
    size_t len;
    ES_TRY(npy_encode(dtype, data, ndim, shape, &buf, &len, err));
    es_atomic_file af;
    int rc = es_atomic_open(&af, path, err);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    if (fwrite(buf, 1, len, af.fp) != len) {
        int e = errno;
        es_atomic_abort(&af);
        free(buf);
        return es_fail_at(err, ES_EIO, path, 0, 0, "write failed: %s", strerror(e));
    }
    free(buf);
    return es_atomic_commit(&af, err);
}

/* ---- header parsing --------------------------------------------------------------------- */

/* A cursor over the header text; the header is a Python dict literal, so the parser accepts
 * any key order, either quote style, arbitrary whitespace and trailing commas. */
typedef struct hp {
    const char *s, *end;
    const char *what;
    const char *start;
    es_err *err;
} hp;

static void hp_ws(hp *p)
{
    while (p->s < p->end && isspace((unsigned char)*p->s))
        p->s++;
}

static int hp_fail(hp *p, const char *msg)
{
    return es_fail_at(p->err, ES_EFORMAT, p->what, 0, 0,
                      "malformed .npy header: %s at header offset %ld", msg,
                      (long)(p->s - p->start));
}

static int hp_char(hp *p, char c)
{
    hp_ws(p);
    if (p->s < p->end && *p->s == c) {
        p->s++;
        return 1;
    }
    return 0;
}

/* A quoted string (no escapes: NumPy never writes any in these headers). */
static int hp_string(hp *p, char *out, size_t outsz)
{
    hp_ws(p);
    if (p->s >= p->end || (*p->s != '\'' && *p->s != '"')) return hp_fail(p, "expected a string");
    char q = *p->s++;
    const char *b = p->s;
    while (p->s < p->end && *p->s != q)
        p->s++;
    if (p->s >= p->end) return hp_fail(p, "unterminated string");
    size_t n = (size_t)(p->s - b);
    p->s++;
    if (n >= outsz) return hp_fail(p, "string too long");
    memcpy(out, b, n);
    out[n] = '\0';
    return ES_OK;
}

static int hp_bool(hp *p, int *v)
{
    hp_ws(p);
    size_t left = (size_t)(p->end - p->s);
    if (left >= 4 && memcmp(p->s, "True", 4) == 0) {
        p->s += 4;
        *v = 1;
    } else if (left >= 5 && memcmp(p->s, "False", 5) == 0) {
        p->s += 5;
        *v = 0;
    } else {
        return hp_fail(p, "expected True or False");
    }
    return ES_OK;
}

/* A tuple of non-negative integers: (), (n,), (a, b), with optional Python 2 'L' suffixes. */
static int hp_shape(hp *p, int *ndim, uint64_t *shape)
{
    *ndim = 0;
    if (!hp_char(p, '(')) return hp_fail(p, "expected a shape tuple");
    for (;;) {
        if (hp_char(p, ')')) return ES_OK;
        hp_ws(p);
        if (p->s >= p->end || !isdigit((unsigned char)*p->s))
            return hp_fail(p, "expected a dimension");
        uint64_t v = 0;
        while (p->s < p->end && isdigit((unsigned char)*p->s)) {
            unsigned dgt = (unsigned)(*p->s++ - '0');
            if (v > (UINT64_MAX - dgt) / 10) return hp_fail(p, "dimension too large");
            v = v * 10 + dgt;
        }
        if (p->s < p->end && (*p->s == 'L' || *p->s == 'l')) p->s++;
        if (*ndim >= NPY_MAX_DIMS) return hp_fail(p, "too many dimensions");
        shape[(*ndim)++] = v;
        if (hp_char(p, ',')) continue;
        if (hp_char(p, ')')) return ES_OK;
        return hp_fail(p, "expected ',' or ')' in the shape");
    }
}

static int parse_descr(const char *d, npy_dtype *out)
{
    static const struct {
        const char *descr;
        npy_dtype t;
    } map[] = {{"<f4", NPY_F32}, {"<f8", NPY_F64}, {"<i8", NPY_I64}, {"|u1", NPY_U8}};
    for (size_t i = 0; i < ES_ARRAY_LEN(map); i++)
        if (strcmp(d, map[i].descr) == 0) {
            *out = map[i].t;
            return 1;
        }
    return 0;
}

static int parse_header(const char *text, size_t len, const char *what, npy_array *out, es_err *err)
{
    hp p = {text, text + len, what, text, err};
    int have_descr = 0, have_fortran = 0, have_shape = 0, fortran = 0;
    char descr[64];
    if (!hp_char(&p, '{')) return hp_fail(&p, "expected '{'");
    for (;;) {
        if (hp_char(&p, '}')) break;
        char key[32];
        ES_TRY(hp_string(&p, key, sizeof key));
        if (!hp_char(&p, ':')) return hp_fail(&p, "expected ':'");
        hp_ws(&p);
        if (strcmp(key, "descr") == 0) {
            if (p.s < p.end && *p.s == '[')
                return es_fail_at(err, ES_EFORMAT, what, 0, 0,
                                  "unsupported dtype: a structured dtype (supported: '<f4', "
                                  "'<f8', '<i8', '|u1')");
            ES_TRY(hp_string(&p, descr, sizeof descr));
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            ES_TRY(hp_bool(&p, &fortran));
            have_fortran = 1;
        } else if (strcmp(key, "shape") == 0) {
            ES_TRY(hp_shape(&p, &out->ndim, out->shape));
            have_shape = 1;
        } else {
            /* NumPy rejects unknown keys too; accepting them would hide a format we do not
             * understand. */
            return es_fail_at(err, ES_EFORMAT, what, 0, 0,
                              "malformed .npy header: unexpected key '%s'", key);
        }
        if (hp_char(&p, ',')) continue;
        if (hp_char(&p, '}')) break;
        return hp_fail(&p, "expected ',' or '}'");
    }
    hp_ws(&p);
    if (p.s != p.end) return hp_fail(&p, "unexpected text after the dict");
    if (!have_descr || !have_fortran || !have_shape)
        return es_fail_at(err, ES_EFORMAT, what, 0, 0, "malformed .npy header: missing key '%s'",
                          !have_descr     ? "descr"
                          : !have_fortran ? "fortran_order"
                                          : "shape");
    if (!parse_descr(descr, &out->file_dtype))
        return es_fail_at(err, ES_EFORMAT, what, 0, 0,
                          "unsupported dtype '%s' (supported: '<f4', '<f8', '<i8', '|u1')", descr);
    if (fortran)
        return es_fail_at(err, ES_EFORMAT, what, 0, 0,
                          "Fortran-order arrays are not supported (save a C-order array, e.g. "
                          "numpy.ascontiguousarray)");
    return ES_OK;
}

/* ---- reading ---------------------------------------------------------------------------- */

int npy_decode(const uint8_t *buf, size_t len, const char *what, npy_array *out, es_err *err)
{
    memset(out, 0, sizeof *out);
    if (len < NPY_MAGIC_LEN + 2 || memcmp(buf, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return es_fail_at(err, ES_EFORMAT, what, 0, 0,
                          "bad magic: not a .npy file (it must start with \\x93NUMPY)");
    int major = buf[6];
    size_t lenbytes = major == 1 ? 2 : (major == 2 || major == 3) ? 4 : 0;
    if (!lenbytes)
        return es_fail_at(err, ES_EFORMAT, what, 0, 0,
                          "unsupported .npy format version %d.%d (1.0 to 3.0 are)", major, buf[7]);
    if (len < 8 + lenbytes)
        return es_fail_at(err, ES_EFORMAT, what, 0, 0, "truncated .npy header (%zu bytes)", len);
    size_t hl = (size_t)buf[8] | (size_t)buf[9] << 8;
    if (lenbytes == 4) hl |= (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    size_t head = 8 + lenbytes + hl;
    if (hl > len || head > len)
        return es_fail_at(err, ES_EFORMAT, what, 0, 0,
                          "truncated .npy header: it claims %zu bytes, the file has %zu", hl,
                          len - 8 - lenbytes);
    ES_TRY(parse_header((const char *)buf + 8 + lenbytes, hl, what, out, err));
    size_t elem = npy_dtype_size(out->file_dtype);
    int ovf;
    size_t count = shape_count(out->ndim, out->shape, elem, &ovf);
    if (ovf) return es_fail_at(err, ES_EFORMAT, what, 0, 0, "the array shape is too large");
    size_t need = count * elem;
    if (len - head < need) {
        char shp[128];
        size_t k = (size_t)snprintf(shp, sizeof shp, "(");
        for (int d = 0; d < out->ndim && k < sizeof shp; d++)
            k += (size_t)snprintf(shp + k, sizeof shp - k, "%s%llu", d ? ", " : "",
                                  (unsigned long long)out->shape[d]);
        if (k < sizeof shp) snprintf(shp + k, sizeof shp - k, "%s)", out->ndim == 1 ? "," : "");
        return es_fail_at(err, ES_EFORMAT, what, 0, 0,
                          "truncated data: shape %s of '%s' needs %zu bytes after the %zu-byte "
                          "header, the file has %zu",
                          shp, npy_dtype_descr(out->file_dtype), need, head, len - head);
    }
    out->dtype = out->file_dtype == NPY_F64 ? NPY_F32 : out->file_dtype;
    out->count = count;
    out->data = malloc(count ? count * npy_dtype_size(out->dtype) : 1);
    if (!out->data) return es_fail_at(err, ES_ENOMEM, what, 0, 0, "out of memory");
    const uint8_t *src = buf + head;
    if (out->file_dtype == NPY_F64) {
        /* ESSIM computes in float32; PyTorch users often save float64 by accident. */
        float *dst = out->data;
        for (size_t i = 0; i < count; i++) {
            double v;
            memcpy(&v, src + 8 * i, 8);
            dst[i] = (float)v;
        }
    } else if (need) {
        memcpy(out->data, src, need);
    }
    return ES_OK;
}

int npy_load(const char *path, npy_array *out, es_err *err)
{
    memset(out, 0, sizeof *out);
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = es_read_input(path, ".npy file", es_limit(ES_LIMIT_BINARY_BYTES, (uint64_t)4 << 30),
                           ES_LIMIT_BINARY_BYTES, &buf, &len, err);
    if (rc == ES_OK) rc = npy_decode(buf, len, path, out, err);
    free(buf);
    return rc;
}
