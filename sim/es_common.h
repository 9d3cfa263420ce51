/* es_common.h - error codes, the error record every library call fills, and small helpers.
 * Sits at the bottom of the dependency order: everything in ESSIM includes it, it includes
 * nothing of ours. Library code returns an es_status and leaves a message in an es_err; only
 * the command layer prints it and picks the exit code. */
#ifndef ES_COMMON_H
#define ES_COMMON_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    ES_OK = 0,
    ES_ENOMEM = -1,  /* out of memory */
    ES_EIO = -2,     /* file system or I/O failure */
    ES_ECONFIG = -3, /* malformed or invalid configuration */
    ES_EFORMAT = -4, /* malformed input file (dataset, trace, checkpoint) */
    ES_EINVAL = -5,  /* invalid argument (a programming or usage error) */
    ES_ERANGE = -6,  /* value out of range */
    ES_ESTATE = -7,  /* operation not valid in the object's current state */
    ES_EUSAGE = -8,  /* command-line usage error */
} es_status;

/* One error record: a status and a human-readable message that already carries its
 * location ("file:line:col: error: ...") where it has one. Cheap to put on the stack. */
typedef struct es_err {
    int code;
    char msg[1024];
} es_err;

/* Returns a static description of a status code ("out of memory", ...). */
const char *es_strerror(int code);

/* Record an error and return its code, so callers can write `return es_fail(err, ...)`.
 * err may be NULL (the message is dropped). */
int es_fail(es_err *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Same, prefixed with "file:line:col: error: " (line/col are 1-based; 0 omits them). */
int es_fail_at(es_err *err, int code, const char *file, int line, int col, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

void es_err_clear(es_err *err);

#define ES_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ES_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ES_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Propagate a failure: evaluate once, return the status if it is negative. */
#define ES_TRY(expr)                                                                               \
    do {                                                                                           \
        int es_try_rc_ = (expr);                                                                   \
        if (es_try_rc_ < 0) return es_try_rc_;                                                     \
    } while (0)

/* Allocation helpers that never return NULL silently: they return NULL and the caller
 * reports ES_ENOMEM. es_xstrdup(NULL) returns NULL. */
char *es_strdup(const char *s);

/* Monotonic host time in seconds (for host-time statistics and progress only; never
 * used to decide anything the simulation computes). */
double es_host_seconds(void);

/* CRC-32 of zlib, gzip, PNG and ZIP over p[0..n), continuing crc (0 to start): traces,
 * checkpoints and .npz members. Takes any length (zlib's own takes 32-bit lengths). */
uint32_t es_crc32(uint32_t crc, const void *p, size_t n);

/* 64-bit FNV-1a over a byte string; used for configuration hashes. */
uint64_t es_fnv1a64(const void *data, size_t len, uint64_t h);
#define ES_FNV1A64_INIT 0xcbf29ce484222325ULL

/* Atomic file replacement: write to "<path>.tmp.<pid>", fsync, rename over path.
 * es_atomic_open returns a FILE* for the temporary; es_atomic_commit closes and renames it,
 * es_atomic_abort closes and removes it. */
#include <stdio.h>
typedef struct es_atomic_file {
    FILE *fp;
    char *path;
    char *tmp;
} es_atomic_file;
int es_atomic_open(es_atomic_file *af, const char *path, es_err *err);
int es_atomic_commit(es_atomic_file *af, es_err *err);
void es_atomic_abort(es_atomic_file *af);

/* ---- hostile input ----------------------------------------------------------------------
 * Every reader opens its input through es_open_input, which accepts regular files only (a
 * directory, FIFO or device is refused by name: /dev/zero would otherwise be read for ever)
 * and reports the size from fstat, so no length is ever taken from ftell on a stream. */

/* Caps on what a reader accepts, each overridable by an environment variable of the same
 * name (a number, with an optional K/M/G suffix for sizes): docs/user-guide.md lists them. */
#define ES_LIMIT_TEXT_BYTES "ESSIM_MAX_TEXT_BYTES"   /* config, include, network: 16M */
#define ES_LIMIT_BINARY_BYTES "ESSIM_MAX_INPUT_BYTES" /* checkpoint, .npz, dataset: 4G */
#define ES_LIMIT_CFG_NODES "ESSIM_MAX_CONFIG_NODES"  /* YAML nodes after aliases: 1000000 */
#define ES_LIMIT_SWEEP_POINTS "ESSIM_MAX_SWEEP_POINTS" /* points of one sweep: 1000000 */
#define ES_LIMIT_TRACE_BLOCKS "ESSIM_MAX_TRACE_BLOCKS" /* mask bits of a trace: 2^24 */
#define ES_LIMIT_PARAM_BYTES "ESSIM_MAX_PARAM_BYTES" /* network weights + gradients: 256M */
uint64_t es_limit(const char *name, uint64_t dflt);

/* Open `path` for reading (`what` names it in messages: "configuration", "checkpoint"...):
 * ES_EIO "cannot open" / "is a directory" / "is not a regular file", ES_ERANGE if larger than
 * max bytes (the message gives both sizes and the variable that raises the cap). */
int es_open_input(const char *path, const char *what, uint64_t max, const char *limit_name,
                  FILE **fp, uint64_t *size, es_err *err);
/* The same as a file descriptor (for zlib's gzdopen). */
int es_open_input_fd(const char *path, const char *what, uint64_t max, const char *limit_name,
                     int *fd, uint64_t *size, es_err *err);
/* Read a whole regular file (NUL-terminated; *len excludes the NUL) through es_open_input. */
int es_read_input(const char *path, const char *what, uint64_t max, const char *limit_name,
                  unsigned char **buf, size_t *len, es_err *err);
/* A whole file into *out (malloc'ed, NUL-terminated; *len bytes without the NUL, len may be
 * NULL). ES_EIO names the file and the reason (a directory, a missing file); ES_ENOMEM. */
int es_read_file(const char *path, char **out, size_t *len, es_err *err);

/* Create a directory and its parents (like mkdir -p). */
int es_mkdir_p(const char *path, es_err *err);

/* A component's state as named arrays, for checkpoints (the write-policy controller, the hardware
 * simulator, the wear model): save calls put once per array, exactly one of u64 / f32 / f64
 * given; restore fills each array from get, which returns < 0 for a missing or mis-sized
 * array (the restore then stops with that status). workloads/ckpt.h stores them. */
typedef void (*es_put_fn)(void *ctx, const char *name, const uint64_t *u64, const float *f32,
                          const double *f64, size_t n);
typedef int (*es_get_fn)(void *ctx, const char *name, uint64_t *u64, float *f32, double *f64,
                         size_t n);

#endif
