/* test_stats.c - the statistics registry: arithmetic of every stat kind, formulas, name
 * rules, the exact text of stats.txt / stats.json / stats.csv for a small registry,
 * independence from registration order, JSON escaping (checked by re-parsing with a tiny
 * parser below) and stat_dump_dir's all-or-nothing behaviour. */
#define _POSIX_C_SOURCE 200809L
#include "stats.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"

/* ---- helpers ------------------------------------------------------------------------------ */

enum { OUT_TXT, OUT_JSON, OUT_CSV };

/* Run one writer into memory; returns the text (caller frees), NULL when the writer
 * failed, in which case *rc/err say why and *len tells how much it wrote anyway. */
static char *render(const stat_registry *r, int which, const stat_meta *meta, int *rc, es_err *err,
                    size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) return NULL;
    es_err local;
    if (!err) err = &local;
    es_err_clear(err);
    int c;
    if (which == OUT_TXT)
        c = stat_write_txt(r, f, err);
    else if (which == OUT_JSON)
        c = stat_write_json(r, meta, f, err);
    else
        c = stat_write_csv(r, f, err);
    fclose(f);
    if (rc) *rc = c;
    if (len) *len = n;
    if (c != ES_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (n + 1 >= cap) {
            cap = cap ? 2 * cap : 4096;
            char *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
        }
        buf[n++] = (char)c;
    }
    fclose(f);
    if (!buf && !(buf = malloc(1))) return NULL;
    buf[n] = '\0';
    return buf;
}

/* Number of directory entries whose name contains needle (-1 if dir cannot be read). */
static int count_entries(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strstr(de->d_name, needle)) n++;
    closedir(d);
    return n;
}

/* tap.h's CHECK_INT evaluates its arguments twice; calls with side effects go through
 * this instead. */
static int check_rc(int got, int want, const char *expr, int line)
{
    return tap_check(got == want, __FILE__, line, "%s == %d (got %d)", expr, want, got);
}
#define CHECK_RC(call, want) check_rc((call), (want), #call, __LINE__)

static double value_of(const stat_registry *r, const char *ref)
{
    double v = -12345.0;
    es_err err;
    if (stat_value(r, ref, &v, &err) != ES_OK) {
        CHECK_MSG(0, "stat_value(%s): %s", ref, err.msg);
        return -12345.0;
    }
    return v;
}

/* ---- a tiny JSON parser (just enough to validate our output and look values up) -------- */

typedef struct jres {
    int found;
    char type; /* 'n' number, 's' string, 'z' null, 'o' object, 'a' array, 'b' boolean */
    double num;
    char str[512];
} jres;

static void j_ws(const char **p)
{
    while (**p == ' ' || **p == '\n' || **p == '\t' || **p == '\r')
        (*p)++;
}

static void j_put_utf8(char *out, size_t *n, size_t cap, unsigned cp)
{
    unsigned char b[4];
    size_t k;
    if (cp < 0x80)
        b[0] = (unsigned char)cp, k = 1;
    else if (cp < 0x800)
        b[0] = (unsigned char)(0xC0 | cp >> 6), b[1] = (unsigned char)(0x80 | (cp & 0x3F)), k = 2;
    else
        b[0] = (unsigned char)(0xE0 | cp >> 12), b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F)),
        b[2] = (unsigned char)(0x80 | (cp & 0x3F)), k = 3;
    for (size_t i = 0; i < k && *n + 1 < cap; i++)
        out[(*n)++] = (char)b[i];
}

/* Parse a string at *p into out (decoded, NUL-terminated). Returns 0 on a syntax error,
 * which includes raw control characters: JSON requires them escaped. */
static int j_string(const char **p, char *out, size_t cap)
{
    size_t n = 0;
    if (**p != '"') return 0;
    (*p)++;
    for (;;) {
        unsigned char c = (unsigned char)**p;
        if (c == '\0' || c < 0x20) return 0;
        (*p)++;
        if (c == '"') break;
        if (c != '\\') {
            if (n + 1 < cap) out[n++] = (char)c;
            continue;
        }
        char e = *(*p)++;
        switch (e) {
        case '"': c = '"'; break;
        case '\\': c = '\\'; break;
        case '/': c = '/'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u': {
            unsigned cp = 0;
            for (int i = 0; i < 4; i++) {
                char h = *(*p)++;
                cp <<= 4;
                if (h >= '0' && h <= '9')
                    cp |= (unsigned)(h - '0');
                else if (h >= 'a' && h <= 'f')
                    cp |= (unsigned)(h - 'a' + 10);
                else if (h >= 'A' && h <= 'F')
                    cp |= (unsigned)(h - 'A' + 10);
                else
                    return 0;
            }
            j_put_utf8(out, &n, cap, cp);
            continue;
        }
        default: return 0;
        }
        if (n + 1 < cap) out[n++] = (char)c;
    }
    out[n] = '\0';
    return 1;
}

static int j_digits(const char **p)
{
    if (!(**p >= '0' && **p <= '9')) return 0;
    while (**p >= '0' && **p <= '9')
        (*p)++;
    return 1;
}

/* Strict JSON number grammar: no "nan", "inf", leading '+' or bare '.'. */
static int j_number(const char **p, double *out)
{
    const char *b = *p;
    if (**p == '-') (*p)++;
    if (**p == '0')
        (*p)++;
    else if (!j_digits(p))
        return 0;
    if (**p == '.') {
        (*p)++;
        if (!j_digits(p)) return 0;
    }
    if (**p == 'e' || **p == 'E') {
        (*p)++;
        if (**p == '+' || **p == '-') (*p)++;
        if (!j_digits(p)) return 0;
    }
    *out = strtod(b, NULL);
    return 1;
}

/* Match the first component of path (up to '.' or end) against key. */
static int j_comp_eq(const char *path, const char *key, const char **rest)
{
    size_t n = strcspn(path, ".");
    if (strlen(key) != n || strncmp(path, key, n) != 0) return 0;
    *rest = path[n] == '.' ? path + n + 1 : path + n;
    return 1;
}

/* Parse one value; when path is not NULL, look for the member it names ("" = this value).
 * Returns 0 on a syntax error. */
static int j_value(const char **p, const char *path, jres *res, int depth)
{
    if (depth > 200) return 0;
    j_ws(p);
    int target = path && !*path;
    char c = **p;
    if (target) {
        res->found = 1;
        res->type = c == '{' ? 'o' : c == '[' ? 'a' : c == '"' ? 's' : c == 'n' ? 'z' : 'n';
        if (c == 't' || c == 'f') res->type = 'b';
    }
    if (c == '{') {
        (*p)++;
        j_ws(p);
        if (**p == '}') {
            (*p)++;
            return 1;
        }
        for (;;) {
            char key[512];
            j_ws(p);
            if (!j_string(p, key, sizeof key)) return 0;
            j_ws(p);
            if (*(*p)++ != ':') return 0;
            const char *rest = NULL;
            int hit = path && *path && j_comp_eq(path, key, &rest);
            if (!j_value(p, hit ? rest : NULL, res, depth + 1)) return 0;
            j_ws(p);
            if (**p == ',') {
                (*p)++;
                continue;
            }
            if (*(*p)++ != '}') return 0;
            return 1;
        }
    }
    if (c == '[') {
        (*p)++;
        j_ws(p);
        if (**p == ']') {
            (*p)++;
            return 1;
        }
        for (int idx = 0;; idx++) {
            char key[16];
            snprintf(key, sizeof key, "%d", idx);
            const char *rest = NULL;
            int hit = path && *path && j_comp_eq(path, key, &rest);
            if (!j_value(p, hit ? rest : NULL, res, depth + 1)) return 0;
            j_ws(p);
            if (**p == ',') {
                (*p)++;
                continue;
            }
            if (*(*p)++ != ']') return 0;
            return 1;
        }
    }
    if (c == '"') {
        char tmp[512];
        if (!j_string(p, target ? res->str : tmp, target ? sizeof res->str : sizeof tmp)) return 0;
        return 1;
    }
    if (strncmp(*p, "null", 4) == 0) return (*p += 4), 1;
    if (strncmp(*p, "true", 4) == 0) return (*p += 4), 1;
    if (strncmp(*p, "false", 5) == 0) return (*p += 5), 1;
    double v;
    if (!j_number(p, &v)) return 0;
    if (target) res->num = v;
    return 1;
}

/* Validate a whole document and look up a dotted path in it (path may be NULL). */
static int json_check(const char *text, const char *path, jres *res)
{
    jres dummy;
    if (!res) res = &dummy;
    memset(res, 0, sizeof *res);
    const char *p = text;
    if (!j_value(&p, path, res, 0)) return 0;
    j_ws(&p);
    return *p == '\0';
}

static double json_num(const char *text, const char *path)
{
    jres res;
    if (!json_check(text, path, &res) || !res.found || res.type != 'n') return -12345.0;
    return res.num;
}

/* ---- kinds ------------------------------------------------------------------------------- */

static void t_scalar_string_vector(void)
{
    stat_registry *r;
    if (!CHECK_RC(stat_registry_create(&r), ES_OK)) return;
    es_err err;
    stat_entry *s = stat_register_scalar(r, "hw.energy_j", "J", "energy", &err);
    CHECK(s != NULL);
    CHECK(stat_get(s) == 0.0);
    stat_set(s, 1.25);
    stat_add(s, 2.5);
    stat_add(s, -0.75);
    CHECK(stat_get(s) == 3.0);
    CHECK(value_of(r, "hw.energy_j") == 3.0);
    CHECK(stat_find(r, "hw.energy_j") == s);
    CHECK(stat_find(r, "hw.energy") == NULL);
    CHECK(stat_find(r, "hw") == NULL);
    CHECK_INT(stat_kind_of(s), STAT_SCALAR);
    CHECK_STR(stat_name(s), "hw.energy_j");
    CHECK_STR(stat_unit(s), "J");
    CHECK_STR(stat_desc(s), "energy");

    stat_entry *str = stat_register_string(r, "train.network", NULL, NULL, &err);
    CHECK(str != NULL);
    CHECK_STR(stat_get_string(str), "");
    CHECK_STR(stat_unit(str), "");
    CHECK_RC(stat_set_string(str, "lenet5"), ES_OK);
    CHECK_RC(stat_set_string(str, "resnet20"), ES_OK);
    CHECK_STR(stat_get_string(str), "resnet20");
    CHECK_RC(stat_value(r, "train.network", &(double){0}, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "string");

    static const char *const phases[] = {"forward", "backward", "update"};
    stat_entry *v = stat_register_vector(r, "hw.energy_by_phase", "J", "", 3, phases, &err);
    CHECK(v != NULL);
    CHECK_UINT(stat_vec_len(v), 3);
    stat_vec_set(v, 0, 1.5);
    stat_vec_add(v, 1, 2.0);
    stat_vec_add(v, 1, 0.25);
    stat_vec_add(v, 2, -0.5);
    CHECK(stat_vec_get(v, 0) == 1.5);
    CHECK(stat_vec_get(v, 1) == 2.25);
    CHECK(stat_vec_get(v, 2) == -0.5);
    CHECK(stat_vec_total(v) == 3.25);
    CHECK(value_of(r, "hw.energy_by_phase") == 3.25);
    CHECK(value_of(r, "hw.energy_by_phase::total") == 3.25);
    CHECK(value_of(r, "hw.energy_by_phase::backward") == 2.25);
    CHECK(value_of(r, "hw.energy_by_phase::2") == -0.5);
    CHECK_RC(stat_value(r, "hw.energy_by_phase::sideways", &(double){0}, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "sideways");
    CHECK_RC(stat_value(r, "hw.energy_by_phase::3", &(double){0}, &err), ES_EINVAL);

    stat_entry *u = stat_register_vector(r, "nn.layer_writes", "", "", 2, NULL, &err);
    CHECK(u != NULL);
    stat_vec_set(u, 1, 7);
    CHECK(value_of(r, "nn.layer_writes::1") == 7.0);
    CHECK(value_of(r, "nn.layer_writes::0") == 0.0);
    CHECK_RC(stat_value(r, "hw.energy_j::x", &(double){0}, &err), ES_EINVAL);
    CHECK_RC(stat_value(r, "hw.nothing", &(double){0}, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "unknown stat 'hw.nothing'");

    stat_reset(r);
    CHECK(stat_get(s) == 0.0);
    CHECK(stat_vec_total(v) == 0.0);
    CHECK_STR(stat_get_string(str), "resnet20");
    stat_registry_destroy(r);
    stat_registry_destroy(NULL);
}

static void t_histogram(void)
{
    stat_registry *r;
    if (!CHECK_RC(stat_registry_create(&r), ES_OK)) return;
    es_err err;
    stat_entry *h = stat_register_histogram(r, "xbar.writes", "writes", "", 0.0, 10.0, 5, &err);
    if (!CHECK(h != NULL)) return;
    stat_hist_info hi;
    stat_hist_get(h, &hi);
    CHECK(hi.samples == 0.0);
    CHECK(isnan(hi.mean) && isnan(hi.stdev) && isnan(hi.min) && isnan(hi.max));

    /* By hand: x = 2 (w 1), 4 (w 2), -2 (w 1, underflow), 10 (w 1, overflow: hi is
     * excluded), 0 (w 2, first bucket: lo is included). W = 7, sum wx = 18, sum wx^2 = 140,
     * mean = 18/7, variance = 140/7 - (18/7)^2 = 656/49, stdev = sqrt(656)/7. */
    CHECK_RC(stat_hist_sample(h, 2, 1), ES_OK);
    CHECK_RC(stat_hist_sample(h, 4, 2), ES_OK);
    CHECK_RC(stat_hist_sample(h, -2, 1), ES_OK);
    CHECK_RC(stat_hist_sample(h, 10, 1), ES_OK);
    CHECK_RC(stat_hist_sample(h, 0, 2), ES_OK);
    /* Rejected: they must not change anything below. */
    CHECK_RC(stat_hist_sample(h, 1, 0), ES_EINVAL);
    CHECK_RC(stat_hist_sample(h, 1, -1), ES_EINVAL);
    CHECK_RC(stat_hist_sample(h, NAN, 1), ES_EINVAL);
    CHECK_RC(stat_hist_sample(h, INFINITY, 1), ES_EINVAL);
    CHECK_RC(stat_hist_sample(h, 1, NAN), ES_EINVAL);
    stat_hist_get(h, &hi);
    CHECK(hi.samples == 7.0);
    CHECK_NEAR(hi.mean, 18.0 / 7.0, 1e-14);
    CHECK_NEAR(hi.stdev, sqrt(656.0) / 7.0, 1e-14);
    CHECK(hi.min == -2.0);
    CHECK(hi.max == 10.0);
    CHECK(hi.underflow == 1.0);
    CHECK(hi.overflow == 1.0);
    CHECK_UINT(hi.nbins, 5);
    CHECK(hi.lo == 0.0 && hi.hi == 10.0);
    CHECK(stat_hist_bucket(h, 0) == 2.0); /* [0,2): x=0 */
    CHECK(stat_hist_bucket(h, 1) == 1.0); /* [2,4): x=2 */
    CHECK(stat_hist_bucket(h, 2) == 2.0); /* [4,6): x=4 */
    CHECK(stat_hist_bucket(h, 3) == 0.0);
    CHECK(stat_hist_bucket(h, 4) == 0.0);
    CHECK_NEAR(value_of(r, "xbar.writes::mean"), 18.0 / 7.0, 1e-14);
    CHECK(value_of(r, "xbar.writes::samples") == 7.0);
    CHECK(value_of(r, "xbar.writes::underflow") == 1.0);
    CHECK(value_of(r, "xbar.writes::overflow") == 1.0);
    CHECK(value_of(r, "xbar.writes::min") == -2.0);
    CHECK_RC(stat_value(r, "xbar.writes", &(double){0}, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "xbar.writes::mean");

    /* One sample: stdev 0, not NaN (population stdev). */
    stat_entry *one = stat_register_histogram(r, "one", "", "", 0, 1, 1, &err);
    stat_hist_sample(one, 0.5, 3);
    stat_hist_get(one, &hi);
    CHECK(hi.stdev == 0.0 && hi.mean == 0.5 && hi.samples == 3.0);

    /* Samples exactly on bucket edges that are not representable (k/10) land in bucket k,
     * the bucket the printed label "k/10-(k+1)/10" says. */
    stat_entry *t = stat_register_histogram(r, "tenths", "", "", 0, 1, 10, &err);
    int all = 1;
    for (int k = 0; k < 10; k++) {
        stat_hist_sample(t, k / 10.0, 1);
        for (int b = 0; b < 10; b++)
            if (stat_hist_bucket(t, (size_t)b) != (b <= k ? 1.0 : 0.0)) all = 0;
    }
    CHECK_MSG(all, "k/10 lands in bucket k for k = 0..9");
    /* Just below an edge stays in the lower bucket, also where (x - lo) / width rounds up
     * to the edge: nextafter(0.9, 0) * 10 == 9 in doubles. */
    stat_hist_sample(t, nextafter(0.3, 0), 1);
    CHECK(stat_hist_bucket(t, 2) == 2.0);
    stat_hist_sample(t, nextafter(0.9, 0), 1);
    CHECK(stat_hist_bucket(t, 8) == 2.0);
    /* And on an edge where it rounds down: (-2.6 + 3) / 1 * 5 == 1.9999999999999996. The
     * label of bucket 2 reads "-2.6--2.4", so -2.6 belongs there. */
    stat_entry *neg = stat_register_histogram(r, "neg", "", "", -3, -2, 5, &err);
    stat_hist_sample(neg, -2.6, 1);
    CHECK(stat_hist_bucket(neg, 2) == 1.0 && stat_hist_bucket(neg, 1) == 0.0);
    stat_hist_sample(t, nextafter(1.0, 0), 1);
    CHECK(stat_hist_bucket(t, 9) == 2.0);

    /* Large offset, tiny spread: the running moments keep the variance exact where
     * sum-of-squares would cancel to garbage. */
    stat_entry *big = stat_register_histogram(r, "big", "", "", 0, 1, 1, &err);
    for (int k = 0; k < 1000; k++)
        stat_hist_sample(big, 1e9 + (k % 2 ? 1 : -1), 1);
    stat_hist_get(big, &hi);
    CHECK_NEAR(hi.mean, 1e9, 1e-6);
    CHECK_NEAR(hi.stdev, 1.0, 1e-9);
    CHECK(hi.overflow == 1000.0);

    stat_reset(r);
    stat_hist_get(h, &hi);
    CHECK(hi.samples == 0.0 && hi.underflow == 0.0 && stat_hist_bucket(h, 2) == 0.0);
    CHECK(isnan(hi.mean));
    stat_hist_sample(h, 3, 1);
    stat_hist_get(h, &hi);
    CHECK(hi.min == 3.0 && hi.max == 3.0 && hi.mean == 3.0);
    stat_registry_destroy(r);
}

/* ---- formulas -------------------------------------------------------------------------- */

static double eval_expr(stat_registry *r, const char *expr)
{
    static int k;
    char name[32];
    snprintf(name, sizeof name, "f.e%d", k++);
    es_err err;
    if (!stat_register_formula(r, name, "", "", expr, &err)) {
        CHECK_MSG(0, "formula \"%s\" rejected: %s", expr, err.msg);
        return -12345.0;
    }
    return value_of(r, name);
}

static void t_formula(void)
{
    stat_registry *r;
    if (!CHECK_RC(stat_registry_create(&r), ES_OK)) return;
    es_err err;
    stat_set(stat_register_scalar(r, "a", "", "", &err), 2);
    stat_entry *b = stat_register_scalar(r, "s.b", "", "", &err);
    stat_set(b, 3);
    stat_register_scalar(r, "s.zero", "", "", &err);
    static const char *const xy[] = {"x", "y"};
    stat_entry *v = stat_register_vector(r, "v", "", "", 2, xy, &err);
    stat_vec_set(v, 0, 1);
    stat_vec_set(v, 1, 4);
    stat_entry *h = stat_register_histogram(r, "h", "", "", 0, 4, 2, &err);
    stat_hist_sample(h, 1, 1);
    stat_hist_sample(h, 3, 3);

    CHECK(eval_expr(r, "1 + 2 * 3") == 7);
    CHECK(eval_expr(r, "(1 + 2) * 3") == 9);
    CHECK(eval_expr(r, "2 - 3 - 4") == -5); /* left-associative */
    CHECK(eval_expr(r, "8 / 2 / 2") == 2);
    CHECK(eval_expr(r, "-a * -s.b") == 6);
    CHECK(eval_expr(r, "-(a - s.b)") == 1);
    CHECK(eval_expr(r, "- -a") == 2);
    CHECK(eval_expr(r, "+a") == 2);
    CHECK(eval_expr(r, "a - -s.b") == 5);
    CHECK(eval_expr(r, "a*s.b+s.zero*a-s.b/s.b") == 5);
    CHECK(eval_expr(r, "1e3 + .5 + 2.5E-1") == 1000.75);
    CHECK(eval_expr(r, "((((a))))") == 2);
    CHECK(eval_expr(r, "\t a\t/ 4 ") == 0.5);
    CHECK(eval_expr(r, "v + v::y * v::0 - v::total") == 4);
    CHECK(eval_expr(r, "h::samples * h::mean") == 10);
    CHECK(isnan(eval_expr(r, "a / s.zero")));
    CHECK(isnan(eval_expr(r, "-a / s.zero")));
    CHECK(isnan(eval_expr(r, "s.zero / 0")));
    CHECK(isnan(eval_expr(r, "1 + a / (s.b - 3)")));

    /* Formulas over formulas, registered before what they use, evaluated when read. */
    CHECK(stat_register_formula(r, "f.twice", "", "", "f.sum * 2", &err) != NULL);
    CHECK(stat_register_formula(r, "f.sum", "", "", "a + s.b", &err) != NULL);
    CHECK(value_of(r, "f.twice") == 10);
    stat_set(b, 10);
    CHECK(value_of(r, "f.twice") == 24);
    CHECK_INT(stat_kind_of(stat_find(r, "f.sum")), STAT_FORMULA);
    stat_registry_destroy(r);
}

static void t_formula_errors(void)
{
    stat_registry *r;
    if (!CHECK_RC(stat_registry_create(&r), ES_OK)) return;
    es_err err;
    stat_register_scalar(r, "a", "", "", &err);
    stat_register_string(r, "str", "", "", &err);
    stat_register_histogram(r, "h", "", "", 0, 1, 1, &err);

    /* Syntax errors are caught at registration, with the column. */
    static const struct {
        const char *expr, *col;
    } bad[] = {
        {"", "column 1"},      {"1 +", "column 4"},         {"(1", "column 3"},
        {"1 2", "column 3"},   {"a ** 2", "column 4"},      {")", "column 1"},
        {"1)", "column 2"},    {"a..b", "empty component"}, {"a::", "column 4"},
        {"1.2.3", "column 4"}, {"1e", "column 2"},          {"2a", "column 2"},
        {"a $ 2", "column 3"}, {"1e999", "out of range"},
    };
    for (size_t i = 0; i < ES_ARRAY_LEN(bad); i++) {
        es_err_clear(&err);
        stat_entry *e = stat_register_formula(r, "bad", "", "", bad[i].expr, &err);
        CHECK_MSG(e == NULL, "\"%s\" rejected", bad[i].expr);
        CHECK_MSG(strstr(err.msg, bad[i].col) != NULL, "\"%s\": message \"%s\" has \"%s\"",
                  bad[i].expr, err.msg, bad[i].col);
    }
    CHECK(stat_find(r, "bad") == NULL);
    CHECK(stat_register_formula(r, "bad", "", "", NULL, &err) == NULL);

    /* Nesting depth is capped at registration instead of overflowing the stack. */
    char deep[512];
    memset(deep, '(', 150);
    strcpy(deep + 150, "1");
    memset(deep + 151, ')', 150);
    deep[301] = '\0';
    CHECK(stat_register_formula(r, "deep", "", "", deep, &err) == NULL);
    CHECK_CONTAINS(err.msg, "nested too deeply");
    memset(deep, '-', 300);
    strcpy(deep + 300, "1");
    CHECK(stat_register_formula(r, "deep", "", "", deep, &err) == NULL);

    /* Unknown names are found when evaluating, with the formula and the name. */
    CHECK(stat_register_formula(r, "f.rate", "", "", "a / nosuch.time_s", &err) != NULL);
    CHECK_RC(stat_value(r, "f.rate", &(double){0}, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "formula 'f.rate'");
    CHECK_CONTAINS(err.msg, "unknown stat 'nosuch.time_s'");
    /* ... and make every writer fail before writing a byte. */
    for (int w = OUT_TXT; w <= OUT_CSV; w++) {
        int rc = 0;
        size_t len = 99;
        es_err_clear(&err);
        CHECK(render(r, w, NULL, &rc, &err, &len) == NULL);
        CHECK_INT(rc, ES_EINVAL);
        CHECK_UINT(len, 0);
        CHECK_CONTAINS(err.msg, "nosuch.time_s");
    }
    stat_register_scalar(r, "nosuch.time_s", "", "", &err);
    CHECK(isnan(value_of(r, "f.rate")));

    /* Cycles are reported with their path; nothing hangs. */
    CHECK(stat_register_formula(r, "c1", "", "", "c2 + 1", &err) != NULL);
    CHECK(stat_register_formula(r, "c2", "", "", "2 * c3", &err) != NULL);
    CHECK(stat_register_formula(r, "c3", "", "", "a + c1", &err) != NULL);
    CHECK_RC(stat_value(r, "c1", &(double){0}, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "formula cycle: 'c1' -> 'c2' -> 'c3' -> 'c1'");
    CHECK(stat_register_formula(r, "self", "", "", "self", &err) != NULL);
    CHECK_RC(stat_value(r, "self", &(double){0}, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "'self' -> 'self'");

    /* Wrong kinds and fields. */
    stat_registry *r2;
    stat_registry_create(&r2);
    stat_register_scalar(r2, "a", "", "", &err);
    stat_register_string(r2, "str", "", "", &err);
    stat_register_histogram(r2, "h", "", "", 0, 1, 1, &err);
    stat_register_formula(r2, "k.str", "", "", "str + 1", &err);
    stat_register_formula(r2, "k.hist", "", "", "h * 2", &err);
    stat_register_formula(r2, "k.field", "", "", "h::median", &err);
    stat_register_formula(r2, "k.sfield", "", "", "a::x", &err);
    CHECK_RC(stat_value(r2, "k.str", &(double){0}, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "string");
    CHECK_RC(stat_value(r2, "k.hist", &(double){0}, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "histogram 'h'");
    CHECK_RC(stat_value(r2, "k.field", &(double){0}, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "'median'");
    CHECK_RC(stat_value(r2, "k.sfield", &(double){0}, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "'x'");

    /* A long chain of formulas is capped, a moderate one is fine. */
    stat_registry *r3;
    stat_registry_create(&r3);
    stat_register_formula(r3, "d0", "", "", "1", &err);
    for (int i = 1; i < 100; i++) {
        char name[16], expr[32];
        snprintf(name, sizeof name, "d%d", i);
        snprintf(expr, sizeof expr, "d%d + 1", i - 1);
        stat_register_formula(r3, name, "", "", expr, &err);
    }
    CHECK(value_of(r3, "d50") == 51);
    CHECK_RC(stat_value(r3, "d99", &(double){0}, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "levels deep");
    stat_registry_destroy(r3);
    stat_registry_destroy(r2);
    stat_registry_destroy(r);
}

/* ---- names ------------------------------------------------------------------------------ */

static void t_names(void)
{
    stat_registry *r;
    if (!CHECK_RC(stat_registry_create(&r), ES_OK)) return;
    es_err err;
    CHECK(stat_register_scalar(r, "a.b", "", "", &err) != NULL);
    CHECK(stat_register_scalar(r, "a.b", "", "", &err) == NULL);
    CHECK_CONTAINS(err.msg, "already registered");
    CHECK(stat_register_vector(r, "a.b", "", "", 1, NULL, &err) == NULL);
    CHECK(stat_register_formula(r, "a.b", "", "", "1", &err) == NULL);
    CHECK_CONTAINS(err.msg, "already registered");
    /* Dotted-prefix conflicts, both ways. */
    CHECK(stat_register_scalar(r, "a.b.c", "", "", &err) == NULL);
    CHECK_CONTAINS(err.msg, "conflicts with 'a.b'");
    CHECK(stat_register_histogram(r, "a.b.c.d", "", "", 0, 1, 1, &err) == NULL);
    CHECK_CONTAINS(err.msg, "'a.b'");
    CHECK(stat_register_string(r, "a", "", "", &err) == NULL);
    CHECK_CONTAINS(err.msg, "conflicts with 'a.b'");
    CHECK(stat_find(r, "a.b.c") == NULL && stat_find(r, "a") == NULL);
    /* Not conflicts: a common string prefix is not a dotted prefix. */
    CHECK(stat_register_scalar(r, "a.bc", "", "", &err) != NULL);
    CHECK(stat_register_scalar(r, "a.b_c", "", "", &err) != NULL);
    CHECK(stat_register_scalar(r, "a.b0", "", "", &err) != NULL);
    CHECK(stat_register_scalar(r, "ab", "", "", &err) != NULL);
    CHECK(stat_register_scalar(r, "a.a.z", "", "", &err) != NULL);
    CHECK(stat_register_scalar(r, "a.c.d", "", "", &err) != NULL);
    CHECK(stat_register_scalar(r, "a.c", "", "", &err) == NULL);
    CHECK(stat_register_scalar(r, "metadata", "", "", &err) != NULL);
    CHECK(stat_register_scalar(r, "_x.tile.0.y", "", "", &err) != NULL);

    static const char *const invalid[] = {"",     ".a",   "a.",     "a..b",  "a b", "1a",
                                          "a-b",  "meta", "meta.x", "a::b",  "a.é", "a/b",
                                          "a\tb", ".",    "x.1.",   "hw.(x)"};
    for (size_t i = 0; i < ES_ARRAY_LEN(invalid); i++) {
        es_err_clear(&err);
        CHECK_MSG(stat_register_scalar(r, invalid[i], "", "", &err) == NULL && err.msg[0],
                  "name \"%s\" rejected (%s)", invalid[i], err.msg);
    }
    CHECK(stat_register_scalar(r, NULL, "", "", &err) == NULL);
    char longname[STAT_NAME_MAX + 2];
    memset(longname, 'x', sizeof longname - 1);
    longname[STAT_NAME_MAX + 1] = '\0';
    CHECK(stat_register_scalar(r, longname, "", "", &err) == NULL);
    longname[STAT_NAME_MAX] = '\0';
    CHECK(stat_register_scalar(r, longname, "", "", &err) != NULL);

    CHECK(stat_register_scalar(r, "u.newline", "J\n", "", &err) == NULL);
    CHECK_CONTAINS(err.msg, "unit");
    CHECK(stat_register_scalar(r, "u.tab", "", "two\tcolumns", &err) == NULL);
    CHECK_CONTAINS(err.msg, "description");

    static const char *const dup[] = {"x", "y", "x"};
    static const char *const tot[] = {"x", "total"};
    static const char *const dot[] = {"x y"};
    static const char *const layer[] = {"layers.0.conv1", "fc-2"};
    static const char *const emp[] = {""};
    CHECK(stat_register_vector(r, "v.n0", "", "", 0, NULL, &err) == NULL);
    CHECK(stat_register_vector(r, "v.dup", "", "", 3, dup, &err) == NULL);
    CHECK_CONTAINS(err.msg, "twice");
    CHECK(stat_register_vector(r, "v.tot", "", "", 2, tot, &err) == NULL);
    CHECK_CONTAINS(err.msg, "total");
    CHECK(stat_register_vector(r, "v.dot", "", "", 1, dot, &err) == NULL);
    CHECK(stat_register_vector(r, "v.layer", "", "", 2, layer, &err) != NULL); /* layer names */
    CHECK(stat_register_vector(r, "v.emp", "", "", 1, emp, &err) == NULL);
    CHECK(stat_register_histogram(r, "h.rev", "", "", 1, 1, 4, &err) == NULL);
    CHECK(stat_register_histogram(r, "h.nan", "", "", NAN, 1, 4, &err) == NULL);
    CHECK(stat_register_histogram(r, "h.inf", "", "", 0, INFINITY, 4, &err) == NULL);
    CHECK(stat_register_histogram(r, "h.wide", "", "", -1e308, 1e308, 4, &err) == NULL);
    CHECK(stat_register_histogram(r, "h.zero", "", "", 0, 1, 0, &err) == NULL);
    CHECK_CONTAINS(err.msg, "buckets");
    CHECK(stat_find(r, "v.dup") == NULL && stat_find(r, "h.zero") == NULL);
    stat_registry_destroy(r);
}

/* ---- exact output -----------------------------------------------------------------------------
 */

/* The small registry whose three files are spelled out below. order != 0 registers the
 * same entries in reverse; values are set afterwards through stat_find so both registries
 * hold exactly the same data. */
static stat_registry *small_registry(int reverse)
{
    static const char *const phases[] = {"forward", "backward"};
    stat_registry *r;
    if (stat_registry_create(&r) != ES_OK) return NULL;
    es_err err;
    int ok = 1;
    for (int k = 0; k < 9; k++) {
        switch (reverse ? 8 - k : k) {
        case 0: ok &= !!stat_register_scalar(r, "hw.energy_j", "J", "Total energy", &err); break;
        case 1: ok &= !!stat_register_scalar(r, "hw.time_s", "s", "Simulated time", &err); break;
        case 2:
            ok &= !!stat_register_formula(r, "hw.power_w", "W", "Average power",
                                          "hw.energy_j / hw.time_s", &err);
            break;
        case 3:
            ok &= !!stat_register_vector(r, "hw.energy_j_by_phase", "J", "Energy by phase", 2,
                                         phases, &err);
            break;
        case 4:
            ok &= !!stat_register_vector(r, "train.loss", "", "Loss per epoch", 3, NULL, &err);
            break;
        case 5: ok &= !!stat_register_string(r, "train.network", "", "Network", &err); break;
        case 6:
            ok &= !!stat_register_histogram(r, "xbar.writes", "writes", "Writes per row", 0, 4, 2,
                                            &err);
            break;
        case 7: ok &= !!stat_register_scalar(r, "sim.events", NULL, NULL, &err); break;
        case 8:
            ok &= !!stat_register_formula(r, "hw.idle_ratio", "", "Broken ratio",
                                          "hw.energy_j * 0 / (hw.time_s - 0.25)", &err);
            break;
        }
    }
    if (!ok) {
        CHECK_MSG(0, "small registry: %s", err.msg);
        stat_registry_destroy(r);
        return NULL;
    }
    stat_set(stat_find(r, "hw.energy_j"), 1.5);
    stat_set(stat_find(r, "hw.time_s"), 0.25);
    stat_set(stat_find(r, "sim.events"), 1234);
    stat_entry *v = stat_find(r, "hw.energy_j_by_phase");
    stat_vec_set(v, 0, 1);
    stat_vec_set(v, 1, 0.5);
    stat_entry *l = stat_find(r, "train.loss");
    stat_vec_set(l, 0, 2.5);
    stat_vec_set(l, 1, 1.25);
    stat_vec_set(l, 2, 0.75);
    stat_set_string(stat_find(r, "train.network"), "lenet5");
    /* W = 16, mean 2.5, variance (2*2^2 + 2*2^2 + 12*0)/16 = 1. */
    stat_entry *h = stat_find(r, "xbar.writes");
    stat_hist_sample(h, 0.5, 2);
    stat_hist_sample(h, 4.5, 2);
    stat_hist_sample(h, 2.5, 12);
    return r;
}

static const stat_meta_field small_extra[] = {{"threads", NULL, 4}, {"host", "node1", 0}};
static const stat_meta small_meta = {
    .version = "0.1.0",
    .seed = 42,
    .config_hash = "abc123",
    .command_line = "essim run --preset lenet5",
    .host_seconds = 2.0,
    .events = 1000,
    .extra = small_extra,
    .n_extra = 2,
};

/* clang-format off */
static const char small_txt[] =
    "---------- Begin Simulation Statistics ----------\n"
    "hw.energy_j                                                         1.5  # Total energy (J)\n"
    "hw.energy_j_by_phase::forward                                         1  # Energy by phase (J)\n"
    "hw.energy_j_by_phase::backward                                      0.5  # Energy by phase (J)\n"
    "hw.energy_j_by_phase::total                                         1.5  # Energy by phase (J)\n"
    "hw.idle_ratio                                                       nan  # Broken ratio\n"
    "hw.power_w                                                            6  # Average power (W)\n"
    "hw.time_s                                                          0.25  # Simulated time (s)\n"
    "sim.events                                                         1234\n"
    "train.loss::0                                                       2.5  # Loss per epoch\n"
    "train.loss::1                                                      1.25  # Loss per epoch\n"
    "train.loss::2                                                      0.75  # Loss per epoch\n"
    "train.loss::total                                                   4.5  # Loss per epoch\n"
    "train.network                                                  \"lenet5\"  # Network\n"
    "xbar.writes::samples                                                 16  # Writes per row\n"
    "xbar.writes::mean                                                   2.5  # Writes per row (writes)\n"
    "xbar.writes::stdev                                                    1  # Writes per row (writes)\n"
    "xbar.writes::min                                                    0.5  # Writes per row (writes)\n"
    "xbar.writes::max                                                    4.5  # Writes per row (writes)\n"
    "xbar.writes::underflow                                                0  # Writes per row\n"
    "xbar.writes::0-2                                                      2  # Writes per row\n"
    "xbar.writes::2-4                                                     12  # Writes per row\n"
    "xbar.writes::overflow                                                 2  # Writes per row\n"
    "\n"
    "---------- End Simulation Statistics   ----------\n";
/* clang-format on */

static const char small_json[] = "{\n"
                                 "  \"meta\": {\n"
                                 "    \"version\": \"0.1.0\",\n"
                                 "    \"seed\": 42,\n"
                                 "    \"config_hash\": \"abc123\",\n"
                                 "    \"command_line\": \"essim run --preset lenet5\",\n"
                                 "    \"host_seconds\": 2,\n"
                                 "    \"events\": 1000,\n"
                                 "    \"events_per_s\": 500,\n"
                                 "    \"host\": \"node1\",\n"
                                 "    \"threads\": 4\n"
                                 "  },\n"
                                 "  \"hw\": {\n"
                                 "    \"energy_j\": 1.5,\n"
                                 "    \"energy_j_by_phase\": {\n"
                                 "      \"values\": {\n"
                                 "        \"forward\": 1,\n"
                                 "        \"backward\": 0.5\n"
                                 "      },\n"
                                 "      \"total\": 1.5\n"
                                 "    },\n"
                                 "    \"idle_ratio\": null,\n"
                                 "    \"power_w\": 6,\n"
                                 "    \"time_s\": 0.25\n"
                                 "  },\n"
                                 "  \"sim\": {\n"
                                 "    \"events\": 1234\n"
                                 "  },\n"
                                 "  \"train\": {\n"
                                 "    \"loss\": {\n"
                                 "      \"values\": [2.5, 1.25, 0.75],\n"
                                 "      \"total\": 4.5\n"
                                 "    },\n"
                                 "    \"network\": \"lenet5\"\n"
                                 "  },\n"
                                 "  \"xbar\": {\n"
                                 "    \"writes\": {\n"
                                 "      \"samples\": 16,\n"
                                 "      \"mean\": 2.5,\n"
                                 "      \"stdev\": 1,\n"
                                 "      \"min\": 0.5,\n"
                                 "      \"max\": 4.5,\n"
                                 "      \"lo\": 0,\n"
                                 "      \"hi\": 4,\n"
                                 "      \"underflow\": 0,\n"
                                 "      \"buckets\": [2, 12],\n"
                                 "      \"overflow\": 2\n"
                                 "    }\n"
                                 "  },\n"
                                 /* null above, never silently (issue 14) */
                                 "  \"nonfinite\": {\n"
                                 "    \"hw.idle_ratio\": \"nan\"\n"
                                 "  }\n"
                                 "}\n";

static const char small_csv[] = "name,element,value,unit\n"
                                "hw.energy_j,,1.5,J\n"
                                "hw.energy_j_by_phase,forward,1,J\n"
                                "hw.energy_j_by_phase,backward,0.5,J\n"
                                "hw.energy_j_by_phase,total,1.5,J\n"
                                "hw.idle_ratio,,nan,\n"
                                "hw.power_w,,6,W\n"
                                "hw.time_s,,0.25,s\n"
                                "sim.events,,1234,\n"
                                "train.loss,0,2.5,\n"
                                "train.loss,1,1.25,\n"
                                "train.loss,2,0.75,\n"
                                "train.loss,total,4.5,\n"
                                "train.network,,\"lenet5\",\n"
                                "xbar.writes,samples,16,\n"
                                "xbar.writes,mean,2.5,writes\n"
                                "xbar.writes,stdev,1,writes\n"
                                "xbar.writes,min,0.5,writes\n"
                                "xbar.writes,max,4.5,writes\n"
                                "xbar.writes,underflow,0,\n"
                                "xbar.writes,0-2,2,\n"
                                "xbar.writes,2-4,12,\n"
                                "xbar.writes,overflow,2,\n";

static void t_txt_exact(void)
{
    stat_registry *r = small_registry(0);
    if (!CHECK(r != NULL)) return;
    char *txt = render(r, OUT_TXT, NULL, NULL, NULL, NULL);
    if (CHECK(txt != NULL)) CHECK_STR(txt, small_txt);
    free(txt);
    stat_registry_destroy(r);
}

static void t_json_exact(void)
{
    stat_registry *r = small_registry(0);
    if (!CHECK(r != NULL)) return;
    char *json = render(r, OUT_JSON, &small_meta, NULL, NULL, NULL);
    if (CHECK(json != NULL)) {
        CHECK_STR(json, small_json);
        CHECK(json_check(json, NULL, NULL));
        CHECK(json_num(json, "hw.energy_j_by_phase.values.backward") == 0.5);
        CHECK(json_num(json, "train.loss.values.1") == 1.25);
        CHECK(json_num(json, "xbar.writes.buckets.1") == 12);
        CHECK(json_num(json, "meta.events_per_s") == 500);
        jres res;
        CHECK(json_check(json, "hw.idle_ratio", &res) && res.found && res.type == 'z');
        CHECK(json_check(json, "meta.host", &res) && res.type == 's');
        CHECK_STR(res.str, "node1");
    }
    free(json);

    /* Without meta there is no "meta" object; with host_seconds 0, events_per_s is null. */
    json = render(r, OUT_JSON, NULL, NULL, NULL, NULL);
    if (CHECK(json != NULL)) {
        CHECK(strstr(json, "meta") == NULL);
        CHECK(strncmp(json, "{\n  \"hw\": {\n", 12) == 0);
        CHECK(json_check(json, NULL, NULL));
    }
    free(json);
    stat_meta m = {.seed = UINT64_MAX};
    json = render(r, OUT_JSON, &m, NULL, NULL, NULL);
    if (CHECK(json != NULL)) {
        CHECK_CONTAINS(json, "\"version\": null,\n    \"seed\": 18446744073709551615,\n");
        CHECK_CONTAINS(json, "\"events_per_s\": null\n");
        CHECK(json_check(json, NULL, NULL));
    }
    free(json);

    /* Bad extra fields. */
    static const stat_meta_field dup[] = {{"a", "x", 0}, {"a", NULL, 1}};
    static const stat_meta_field fixed[] = {{"seed", NULL, 1}};
    static const stat_meta_field nokey[] = {{NULL, NULL, 1}};
    int rc;
    es_err err;
    m = (stat_meta){.extra = dup, .n_extra = 2};
    CHECK(render(r, OUT_JSON, &m, &rc, &err, NULL) == NULL);
    CHECK_CONTAINS(err.msg, "twice");
    m = (stat_meta){.extra = fixed, .n_extra = 1};
    CHECK(render(r, OUT_JSON, &m, &rc, &err, NULL) == NULL);
    CHECK_CONTAINS(err.msg, "'seed'");
    m = (stat_meta){.extra = nokey, .n_extra = 1};
    CHECK(render(r, OUT_JSON, &m, &rc, &err, NULL) == NULL);
    CHECK_INT(rc, ES_EINVAL);
    stat_registry_destroy(r);

    /* An empty registry is still a valid document. */
    stat_registry_create(&r);
    json = render(r, OUT_JSON, NULL, NULL, NULL, NULL);
    if (CHECK(json != NULL)) CHECK_STR(json, "{\n}\n");
    free(json);
    stat_registry_destroy(r);
}

static void t_csv_exact(void)
{
    stat_registry *r = small_registry(0);
    if (!CHECK(r != NULL)) return;
    char *csv = render(r, OUT_CSV, NULL, NULL, NULL, NULL);
    if (CHECK(csv != NULL)) CHECK_STR(csv, small_csv);
    free(csv);
    stat_registry_destroy(r);

    /* RFC 4180 quoting: string values always, other fields when they need it. */
    stat_registry_create(&r);
    es_err err;
    stat_entry *s = stat_register_string(r, "s", "a,b", "", &err);
    stat_set_string(s, "say \"hi\",\nbye \xff\xc3\xa9");
    stat_set(stat_register_scalar(r, "u", "\"q\"", "", &err), -0.0);
    csv = render(r, OUT_CSV, NULL, NULL, NULL, NULL);
    if (CHECK(csv != NULL))
        CHECK_STR(csv, "name,element,value,unit\n"
                       "s,,\"say \"\"hi\"\",\nbye \xef\xbf\xbd\xc3\xa9\",\"a,b\"\n"
                       "u,,0,\"\"\"q\"\"\"\n");
    free(csv);
    stat_registry_destroy(r);
}

static void t_order_independent(void)
{
    stat_registry *a = small_registry(0), *b = small_registry(1);
    if (!CHECK(a && b)) return;
    for (int w = OUT_TXT; w <= OUT_CSV; w++) {
        char *x = render(a, w, &small_meta, NULL, NULL, NULL);
        char *y = render(b, w, &small_meta, NULL, NULL, NULL);
        CHECK_MSG(x && y && strcmp(x, y) == 0, "writer %d: same bytes in both orders", w);
        free(x);
        free(y);
    }
    stat_registry_destroy(a);
    stat_registry_destroy(b);

    /* Many names in a scrambled order nest and sort the same as in sorted order. */
    static const char *const names[] = {"z",     "a.c.e", "b.c.d.e", "a.b",  "ab",
                                        "a.c.d", "a.f",   "b.c.d.f", "b.a",  "a_b",
                                        "a0.x",  "b.c.a", "m.n",     "a.c0", "a.c_.x"};
    size_t n = ES_ARRAY_LEN(names);
    stat_registry *fwd, *rev;
    stat_registry_create(&fwd);
    stat_registry_create(&rev);
    es_err err;
    es_err_clear(&err);
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        ok &= stat_register_scalar(fwd, names[i], "", "", &err) != NULL;
        ok &= stat_register_scalar(rev, names[(i * 7) % n], "", "", &err) != NULL;
    }
    CHECK_MSG(ok, "all names register (%s)", err.msg);
    for (size_t i = 0; i < n; i++) {
        stat_set(stat_find(fwd, names[i]), (double)i + 0.5);
        stat_set(stat_find(rev, names[i]), (double)i + 0.5);
    }
    char *x = render(fwd, OUT_JSON, NULL, NULL, NULL, NULL);
    char *y = render(rev, OUT_JSON, NULL, NULL, NULL, NULL);
    if (CHECK(x && y)) {
        CHECK_STR(x, y);
        CHECK(json_check(x, NULL, NULL));
        int all = 1;
        for (size_t i = 0; i < n; i++)
            if (json_num(x, names[i]) != (double)i + 0.5) all = 0;
        CHECK_MSG(all, "every nested value reads back at its dotted path");
    }
    free(x);
    free(y);
    stat_registry_destroy(fwd);
    stat_registry_destroy(rev);
}

/* ---- numbers and escaping ------------------------------------------------------------------- */

static void t_number_format(void)
{
    static const struct {
        double v;
        const char *s;
    } cases[] = {
        {0.0, "0"},
        {-0.0, "0"},
        {42, "42"},
        {-7, "-7"},
        {1.5, "1.5"},
        {0.1, "0.1"},
        {1.0 / 3.0, "0.3333333333333333"},
        {0.1 + 0.2, "0.30000000000000004"},
        {9007199254740991.0, "9007199254740991"},
        {9007199254740992.0, "9007199254740992"},
        {1e300, "1e+300"},
        {1e-7, "1e-07"},
        {-2.5e-310, "-2.5e-310"},
        {123456789012.0, "123456789012"},
        {NAN, "nan"},
        {INFINITY, "inf"},
        {-INFINITY, "-inf"},
    };
    char buf[32];
    for (size_t i = 0; i < ES_ARRAY_LEN(cases); i++) {
        const char *got = stat_format_number(buf, cases[i].v);
        CHECK_STR(got, cases[i].s);
    }

    /* Round trip over many bit patterns (a fixed LCG, so the test is repeatable). */
    uint64_t x = 88172645463325252ULL;
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        double v;
        memcpy(&v, &x, sizeof v);
        if (!isfinite(v)) continue;
        if (i % 3 == 0) v = (double)(int64_t)(x >> 20) / 1024.0; /* many near-integers */
        if (strtod(stat_format_number(buf, v), NULL) != v) bad++;
    }
    CHECK_INT(bad, 0);
}

static void t_json_escape(void)
{
    stat_registry *r;
    if (!CHECK_RC(stat_registry_create(&r), ES_OK)) return;
    es_err err;
    stat_entry *s = stat_register_string(r, "t.s", "", "", &err);
    /* quote, backslash, slash, newline, tab, other controls, DEL, 2/3/4-byte UTF-8, a
     * stray byte, a truncated sequence, a surrogate and an overlong encoding. */
    const char *raw = "q\"b\\s/\n\t\x01\x1f\x7f \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xff "
                      "\xc3( \xed\xa0\x80 \xc0\xaf.";
    stat_set_string(s, raw);
    stat_meta m = {.command_line = "essim run \"a b\"\\c",
                   .extra = (stat_meta_field[]){{"k\"ey", "v\x02", 0}},
                   .n_extra = 1};
    char *json = render(r, OUT_JSON, &m, NULL, NULL, NULL);
    if (!CHECK(json != NULL)) return;
    CHECK_CONTAINS(json, "\"s\": \"q\\\"b\\\\s/\\n\\t\\u0001\\u001f\x7f \xc3\xa9 \xe2\x82\xac "
                         "\xf0\x9f\x98\x80 \\ufffd \\ufffd( \\ufffd\\ufffd\\ufffd "
                         "\\ufffd\\ufffd.\"");
    CHECK_CONTAINS(json, "\"command_line\": \"essim run \\\"a b\\\"\\\\c\"");
    CHECK_CONTAINS(json, "\"k\\\"ey\": \"v\\u0002\"");
    /* The parser refuses raw control characters, so this also proves none slipped out. */
    jres res;
    CHECK(json_check(json, "t.s", &res) && res.found && res.type == 's');
    const char *decoded = "q\"b\\s/\n\t\x01\x1f\x7f \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 "
                          "\xef\xbf\xbd \xef\xbf\xbd( \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
                          "\xef\xbf\xbd\xef\xbf\xbd.";
    CHECK_STR(res.str, decoded);
    CHECK(json_check(json, "meta.command_line", &res) && res.type == 's');
    CHECK_STR(res.str, "essim run \"a b\"\\c");
    free(json);

    /* stats.txt keeps each string on its line, escaped the same way. */
    stat_set_string(s, "two\nlines \"q\"");
    char *txt = render(r, OUT_TXT, NULL, NULL, NULL, NULL);
    if (CHECK(txt != NULL)) {
        CHECK_CONTAINS(txt, "t.s ");
        CHECK_CONTAINS(txt, " \"two\\nlines \\\"q\\\"\"\n");
    }
    free(txt);
    stat_registry_destroy(r);
}

/* ---- stat_dump_dir ------------------------------------------------------------------------- */

static void t_dump_dir(void)
{
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/dump", tap_tmpdir());
    if (!CHECK(mkdir(dir, 0755) == 0)) return;
    stat_registry *r = small_registry(1);
    if (!CHECK(r != NULL)) return;
    es_err err;
    CHECK_RC(stat_dump_dir(r, &small_meta, dir, &err), ES_OK);
    static const char *const files[] = {"stats.txt", "stats.json", "stats.csv"};
    static const char *const want[] = {small_txt, small_json, small_csv};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        char *got = slurp(path);
        CHECK_MSG(got && strcmp(got, want[i]) == 0, "%s has the expected bytes", files[i]);
        free(got);
    }
    CHECK_INT(count_entries(dir, ""), 3);

    /* A formula error fails before any file is touched: old files stay, no temporaries. */
    stat_register_formula(r, "zz.bad", "", "", "nosuch * 2", &err);
    es_err_clear(&err);
    CHECK_RC(stat_dump_dir(r, &small_meta, dir, &err), ES_EINVAL);
    CHECK_CONTAINS(err.msg, "nosuch");
    CHECK_INT(count_entries(dir, ""), 3);
    snprintf(path, sizeof path, "%s/stats.csv", dir);
    char *got = slurp(path);
    CHECK(got && strcmp(got, small_csv) == 0);
    free(got);

    stat_registry *ok;
    stat_registry_create(&ok);
    stat_set(stat_register_scalar(ok, "x", "", "", &err), 1);

    /* Missing directory: an I/O error naming it, and nothing created beside it. */
    char missing[700];
    snprintf(missing, sizeof missing, "%s/missing", tap_tmpdir());
    es_err_clear(&err);
    CHECK_RC(stat_dump_dir(ok, NULL, missing, &err), ES_EIO);
    CHECK_CONTAINS(err.msg, missing);
    CHECK_INT(count_entries(tap_tmpdir(), "missing"), 0);
    CHECK_INT(count_entries(tap_tmpdir(), ".tmp."), 0);

    /* A regular file where the directory should be (fails even for root). */
    char notdir[700];
    snprintf(notdir, sizeof notdir, "%s/plainfile", tap_tmpdir());
    FILE *f = fopen(notdir, "w");
    if (f) fclose(f);
    es_err_clear(&err);
    CHECK_RC(stat_dump_dir(ok, NULL, notdir, &err), ES_EIO);
    CHECK(err.msg[0] != '\0');
    CHECK_INT(count_entries(tap_tmpdir(), ".tmp."), 0);

    /* A read-only directory (permissions do not bind root, so only as a normal user). */
    if (geteuid() != 0) {
        char ro[700];
        snprintf(ro, sizeof ro, "%s/readonly", tap_tmpdir());
        mkdir(ro, 0555);
        chmod(ro, 0555);
        es_err_clear(&err);
        CHECK_RC(stat_dump_dir(ok, NULL, ro, &err), ES_EIO);
        CHECK_CONTAINS(err.msg, "readonly");
        CHECK_INT(count_entries(ro, ""), 0);
        chmod(ro, 0755);
    } else {
        tap_skip("the read-only directory case needs a non-root user");
    }

    /* Overwriting an earlier dump replaces all three files. */
    CHECK_RC(stat_dump_dir(ok, NULL, dir, &err), ES_OK);
    snprintf(path, sizeof path, "%s/stats.csv", dir);
    got = slurp(path);
    CHECK(got && strcmp(got, "name,element,value,unit\nx,,1,\n") == 0);
    free(got);
    CHECK_INT(count_entries(dir, ""), 3);
    stat_registry_destroy(ok);
    stat_registry_destroy(r);
}

int main(int argc, char **argv)
{
    static const tap_test tests[] = {
        {"scalar_string_vector", t_scalar_string_vector},
        {"histogram", t_histogram},
        {"formula", t_formula},
        {"formula_errors", t_formula_errors},
        {"names", t_names},
        {"txt_exact", t_txt_exact},
        {"json_exact", t_json_exact},
        {"csv_exact", t_csv_exact},
        {"order_independent", t_order_independent},
        {"number_format", t_number_format},
        {"json_escape", t_json_escape},
        {"dump_dir", t_dump_dir},
    };
    return tap_main(tests, ES_ARRAY_LEN(tests), argc, argv);
}
