/* tap.c - TAP output for the test programs; see tap.h. */
#define _POSIX_C_SOURCE 200809L
#include "tap.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

static int tap_count, tap_failed;
static const char *tap_current;

int tap_check(int cond, const char *file, int line, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '#') *p = ' ';
    tap_count++;
    if (!cond) tap_failed++;
    printf("%s %d - %s: %s (%s:%d)\n", cond ? "ok" : "not ok", tap_count, tap_current, buf, file,
           line);
    fflush(stdout);
    return cond;
}

int tap_check_int(long long a, long long b, const char *sa, const char *sb, const char *file,
                  int line)
{
    return tap_check(a == b, file, line, "%s == %s (%lld vs %lld)", sa, sb, a, b);
}

int tap_check_uint(unsigned long long a, unsigned long long b, const char *sa, const char *sb,
                   const char *file, int line)
{
    return tap_check(a == b, file, line, "%s == %s (%llu vs %llu)", sa, sb, a, b);
}

int tap_check_near(double a, double b, double tol, const char *sa, const char *sb,
                   const char *file, int line)
{
    return tap_check(fabs(a - b) <= tol, file, line, "%s ~= %s (%.10g vs %.10g, tol %g)", sa, sb,
                     a, b, tol);
}

int tap_check_str(const char *a, const char *b, const char *sa, const char *sb, const char *file,
                  int line)
{
    int ok = a && b && strcmp(a, b) == 0;
    return tap_check(ok, file, line, "%s == %s (\"%s\" vs \"%s\")", sa, sb, a ? a : "(null)",
                     b ? b : "(null)");
}

int tap_check_contains(const char *hay, const char *needle, const char *file, int line)
{
    int ok = hay && needle && strstr(hay, needle) != NULL;
    return tap_check(ok, file, line, "\"%s\" contains \"%s\"", hay ? hay : "(null)", needle);
}

void tap_skip(const char *reason)
{
    tap_count++;
    printf("ok %d - %s: %s # SKIP\n", tap_count, tap_current, reason);
    fflush(stdout);
}

static char tap_dir[512];

const char *tap_tmpdir(void)
{
    if (!tap_dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(tap_dir, sizeof tap_dir, "%s/essim-test-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tap_dir)) {
            perror("mkdtemp");
            exit(99);
        }
    }
    return tap_dir;
}

const char *tap_path(const char *rel)
{
    static char buf[16][1024];
    static int k;
    char *p = buf[k++ % 16];
    snprintf(p, sizeof buf[0], "%s/%s", tap_tmpdir(), rel);
    return p;
}

void *tap_read_file(const char *path, size_t *len)
{
    if (len) *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    for (size_t got; b && (got = fread(b + n, 1, cap - n, fp)) > 0;) {
        n += got;
        if (n == cap) {
            char *nb = realloc(b, 2 * cap + 1);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
    }
    fclose(fp);
    if (!b) return NULL;
    b[n] = '\0';
    if (len) *len = n;
    return b;
}

void tap_write_file(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) return;
    if (n) fwrite(data, 1, n, fp);
    fclose(fp);
}

void tap_write_text(const char *path, const char *text) { tap_write_file(path, text, strlen(text)); }

int tap_main(const tap_test *tests, size_t n, int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    for (size_t i = 0; i < n; i++) {
        if (filter && !strstr(tests[i].name, filter)) continue;
        tap_current = tests[i].name;
        printf("# %s\n", tests[i].name);
        int before = tap_count;
        tests[i].fn();
        if (tap_count == before) tap_check(0, __FILE__, __LINE__, "test made no checks");
    }
    printf("1..%d\n", tap_count);
    if (tap_dir[0]) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tap_dir);
        if (!tap_failed && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tap_dir);
    }
    return tap_failed ? 1 : 0;
}
