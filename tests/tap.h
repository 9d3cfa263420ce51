/* tap.h - a small TAP producer for ESSIM's test programs (run by automake's tap-driver.sh).
 * Each test program has a table of named test functions; every check prints one TAP line,
 * so a failing check names the test, file and line. */
#ifndef ES_TAP_H
#define ES_TAP_H

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct tap_test {
    const char *name;
    void (*fn)(void);
} tap_test;

/* Runs every test of the table (or only those whose name contains argv[1]), prints the
 * plan at the end and returns the exit status (0 if all checks passed). */
int tap_main(const tap_test *tests, size_t n, int argc, char **argv);

/* Record one check. Returns cond so callers can bail out: if (!CHECK(x)) return; */
int tap_check(int cond, const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#define CHECK(cond) tap_check(!!(cond), __FILE__, __LINE__, "%s", #cond)
#define CHECK_MSG(cond, ...) tap_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
/* The comparison macros evaluate each argument exactly once (through these functions). */
int tap_check_int(long long a, long long b, const char *sa, const char *sb, const char *file,
                  int line);
int tap_check_uint(unsigned long long a, unsigned long long b, const char *sa, const char *sb,
                   const char *file, int line);
int tap_check_near(double a, double b, double tol, const char *sa, const char *sb,
                   const char *file, int line);
int tap_check_str(const char *a, const char *b, const char *sa, const char *sb, const char *file,
                  int line);
int tap_check_contains(const char *hay, const char *needle, const char *file, int line);

#define CHECK_INT(a, b) tap_check_int((long long)(a), (long long)(b), #a, #b, __FILE__, __LINE__)
#define CHECK_UINT(a, b)                                                                           \
    tap_check_uint((unsigned long long)(a), (unsigned long long)(b), #a, #b, __FILE__, __LINE__)
#define CHECK_NEAR(a, b, tol)                                                                      \
    tap_check_near((double)(a), (double)(b), (double)(tol), #a, #b, __FILE__, __LINE__)
#define CHECK_STR(a, b) tap_check_str((a), (b), #a, #b, __FILE__, __LINE__)
#define CHECK_CONTAINS(hay, needle) tap_check_contains((hay), (needle), __FILE__, __LINE__)

/* Record a skipped check ("ok N - test: reason # SKIP"), counted as a skip by the driver. */
void tap_skip(const char *reason);

/* Test files: tap_path("x.yaml") is "<tap_tmpdir()>/x.yaml" (16 rotating buffers, so a
 * few may be live at once); tap_read_file returns the whole file, NUL-terminated, malloc'ed
 * (NULL if unreadable; *len may be NULL); tap_write_file / tap_write_text replace a file. */
const char *tap_path(const char *rel);
void *tap_read_file(const char *path, size_t *len);
void tap_write_file(const char *path, const void *data, size_t n);
void tap_write_text(const char *path, const char *text);

/* A scratch directory unique to this test program run (created on first use, under
 * $TMPDIR or /tmp); tests put their files there. */
const char *tap_tmpdir(void);

#endif
