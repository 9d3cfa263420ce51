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
#define CHECK_INT(a, b)                                                                            \
    tap_check((long long)(a) == (long long)(b), __FILE__, __LINE__, "%s == %s (%lld vs %lld)", #a,  \
              #b, (long long)(a), (long long)(b))
#define CHECK_UINT(a, b)                                                                           \
    tap_check((unsigned long long)(a) == (unsigned long long)(b), __FILE__, __LINE__,              \
              "%s == %s (%llu vs %llu)", #a, #b, (unsigned long long)(a),                          \
              (unsigned long long)(b))
#define CHECK_NEAR(a, b, tol)                                                                      \
    tap_check(fabs((double)(a) - (double)(b)) <= (tol), __FILE__, __LINE__,                        \
              "%s ~= %s (%.10g vs %.10g, tol %g)", #a, #b, (double)(a), (double)(b), (double)(tol))
#define CHECK_STR(a, b)                                                                            \
    tap_check(strcmp((a), (b)) == 0, __FILE__, __LINE__, "%s == %s (\"%s\" vs \"%s\")", #a, #b,     \
              (a), (b))
#define CHECK_CONTAINS(hay, needle)                                                                \
    tap_check(strstr((hay), (needle)) != NULL, __FILE__, __LINE__, "\"%s\" contains \"%s\"",       \
              (hay), (needle))

/* A scratch directory unique to this test program run (created on first use, under
 * $TMPDIR or /tmp); tests put their files there. */
const char *tap_tmpdir(void);

#endif
