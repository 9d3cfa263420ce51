/* es_common.c - error records, host time, hashing and atomic file replacement shared by
 * every module. */
#define _POSIX_C_SOURCE 200809L
#include "es_common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

const char *es_strerror(int code)
{
    switch (code) {
    case ES_OK: return "success";
    case ES_ENOMEM: return "out of memory";
    case ES_EIO: return "I/O error";
    case ES_ECONFIG: return "configuration error";
    case ES_EFORMAT: return "malformed input";
    case ES_EINVAL: return "invalid argument";
    case ES_ERANGE: return "value out of range";
    case ES_ESTATE: return "invalid state";
    case ES_EUSAGE: return "usage error";
    default: return "unknown error";
    }
}

void es_err_clear(es_err *err)
{
    if (!err) return;
    err->code = ES_OK;
    err->msg[0] = '\0';
}

int es_fail(es_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int es_fail_at(es_err *err, int code, const char *file, int line, int col, const char *fmt, ...)
{
    if (err) {
        size_t n;
        if (line > 0 && col > 0)
            n = (size_t)snprintf(err->msg, sizeof err->msg, "%s:%d:%d: error: ", file, line, col);
        else if (line > 0)
            n = (size_t)snprintf(err->msg, sizeof err->msg, "%s:%d: error: ", file, line);
        else
            n = (size_t)snprintf(err->msg, sizeof err->msg, "%s: error: ", file);
        if (n < sizeof err->msg) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err->msg + n, sizeof err->msg - n, fmt, ap);
            va_end(ap);
        }
        err->code = code;
    }
    return code;
}

char *es_strdup(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

double es_host_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

uint32_t es_crc32(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    uLong c = crc;
    while (n) { /* zlib counts in uInt: feed it in pieces */
        uInt k = (uInt)ES_MIN(n, (size_t)1 << 30);
        c = crc32(c, b, k);
        b += k;
        n -= k;
    }
    return (uint32_t)c;
}

uint64_t es_fnv1a64(const void *data, size_t len, uint64_t h)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

int es_atomic_open(es_atomic_file *af, const char *path, es_err *err)
{
    memset(af, 0, sizeof *af);
    size_t n = strlen(path) + 32;
    af->path = es_strdup(path);
    af->tmp = malloc(n);
    if (!af->path || !af->tmp) {
        free(af->path);
        free(af->tmp);
        memset(af, 0, sizeof *af);
        return es_fail(err, ES_ENOMEM, "out of memory");
    }
    snprintf(af->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    af->fp = fopen(af->tmp, "wb");
    if (!af->fp) {
        int e = errno;
        es_fail(err, ES_EIO, "%s: cannot create: %s", af->tmp, strerror(e));
        free(af->path);
        free(af->tmp);
        memset(af, 0, sizeof *af);
        return ES_EIO;
    }
    return ES_OK;
}

int es_atomic_commit(es_atomic_file *af, es_err *err)
{
    int rc = ES_OK;
    if (!af->fp) return es_fail(err, ES_ESTATE, "atomic file not open");
    if (fflush(af->fp) != 0 || ferror(af->fp) || fsync(fileno(af->fp)) != 0) {
        rc = es_fail(err, ES_EIO, "%s: write failed: %s", af->path, strerror(errno));
        fclose(af->fp);
        remove(af->tmp);
    } else if (fclose(af->fp) != 0) {
        rc = es_fail(err, ES_EIO, "%s: close failed: %s", af->path, strerror(errno));
        remove(af->tmp);
    } else if (rename(af->tmp, af->path) != 0) {
        rc = es_fail(err, ES_EIO, "%s: rename failed: %s", af->path, strerror(errno));
        remove(af->tmp);
    }
    free(af->path);
    free(af->tmp);
    memset(af, 0, sizeof *af);
    return rc;
}

void es_atomic_abort(es_atomic_file *af)
{
    if (!af || !af->fp) return;
    fclose(af->fp);
    remove(af->tmp);
    free(af->path);
    free(af->tmp);
    memset(af, 0, sizeof *af);
}

int es_mkdir_p(const char *path, es_err *err)
{
    char *p = es_strdup(path);
    if (!p) return es_fail(err, ES_ENOMEM, "out of memory");
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                int e = errno;
                es_fail(err, ES_EIO, "%s: cannot create directory: %s", p, strerror(e));
                free(p);
                return ES_EIO;
            }
            *s = c;
            if (c == '\0') break;
        }
    }
    struct stat st;
    int ok = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    free(p);
    if (!ok) return es_fail(err, ES_EIO, "%s: not a directory", path);
    return ES_OK;
}

/* ---- hostile input ------------------------------------------------------------------------ */

uint64_t es_limit(const char *name, uint64_t dflt)
{
    const char *s = getenv(name);
    if (!s || !*s) return dflt;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s) return dflt;
    unsigned long long mul = 1;
    switch (*end) {
    case 'k': case 'K': mul = 1ull << 10, end++; break;
    case 'm': case 'M': mul = 1ull << 20, end++; break;
    case 'g': case 'G': mul = 1ull << 30, end++; break;
    default: break;
    }
    if (*end || v > UINT64_MAX / mul) return dflt;
    return (uint64_t)(v * mul);
}

int es_open_input_fd(const char *path, const char *what, uint64_t max, const char *limit_name,
                     int *fd_out, uint64_t *size, es_err *err)
{
    *fd_out = -1;
    /* O_NONBLOCK: opening a FIFO with no writer would otherwise wait for ever. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return es_fail(err, ES_EIO, "%s: cannot open %s: %s", path, what, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return es_fail(err, ES_EIO, "%s: cannot stat the %s: %s", path, what, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return es_fail(err, ES_EIO, "%s: cannot read the %s: %s", path, what,
                       S_ISDIR(st.st_mode) ? "is a directory"
                                           : "is not a regular file (a FIFO, device or socket)");
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return es_fail(err, ES_ERANGE,
                       "%s: the %s is %llu bytes, more than the limit of %llu (set %s to raise it)",
                       path, what, (unsigned long long)st.st_size, (unsigned long long)max,
                       limit_name);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    *fd_out = fd;
    if (size) *size = (uint64_t)st.st_size;
    return ES_OK;
}

int es_open_input(const char *path, const char *what, uint64_t max, const char *limit_name,
                  FILE **fp, uint64_t *size, es_err *err)
{
    *fp = NULL;
    int fd = -1;
    ES_TRY(es_open_input_fd(path, what, max, limit_name, &fd, size, err));
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return es_fail(err, ES_ENOMEM, "out of memory");
    }
    *fp = f;
    return ES_OK;
}

int es_read_input(const char *path, const char *what, uint64_t max, const char *limit_name,
                  unsigned char **buf, size_t *len, es_err *err)
{
    *buf = NULL;
    *len = 0;
    FILE *f = NULL;
    uint64_t size = 0;
    ES_TRY(es_open_input(path, what, max, limit_name, &f, &size, err));
    unsigned char *b = malloc((size_t)size + 1);
    if (!b) {
        fclose(f);
        return es_fail(err, ES_ENOMEM, "%s: out of memory for the %s (%llu bytes)", path, what,
                       (unsigned long long)size);
    }
    /* The file may shrink or grow while we read: take what is there, up to size. */
    size_t got = fread(b, 1, (size_t)size, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        return es_fail(err, ES_EIO, "%s: read error in the %s", path, what);
    }
    b[got] = '\0';
    *buf = b;
    *len = got;
    return ES_OK;
}

int es_read_file(const char *path, char **out, size_t *len, es_err *err)
{
    /* O_NONBLOCK: a FIFO with no writer would block the open for ever */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return es_fail(err, ES_EIO, "cannot read %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        close(fd);
        return es_fail(err, ES_EIO, "cannot read %s: is a directory", path);
    }
    /* /dev/zero would be read until memory runs out, a FIFO block */
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return es_fail(err, ES_EIO, "cannot read %s: not a regular file", path);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return es_fail(err, ES_ENOMEM, "out of memory reading %s", path);
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int bad = 0;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            size_t c = cap ? cap * 2 : 65536 + 1;
            char *t = realloc(buf, c);
            if (!t) {
                fclose(f);
                free(buf);
                return es_fail(err, ES_ENOMEM, "out of memory reading %s", path);
            }
            buf = t;
            cap = c;
        }
        size_t k = fread(buf + n, 1, cap - n - 1, f);
        n += k;
        if (k == 0) {
            bad = ferror(f);
            break;
        }
    }
    fclose(f);
    if (bad) {
        free(buf);
        return es_fail(err, ES_EIO, "cannot read %s", path);
    }
    buf[n] = 0;
    *out = buf;
    if (len) *len = n;
    return ES_OK;
}
