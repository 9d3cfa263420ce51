/* stats_write.c - the writers of the statistics registry: stats.txt (gem5's layout),
 * stats.json (nested by dotted name, with a meta object), stats.csv, and stat_dump_dir, which
 * replaces all three at once. */
#define _POSIX_C_SOURCE 200809L
#include "stats_internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- shared writer helpers ----------------------------------------------------------------- */

char *stat_format_number(char buf[32], double v)
{
    if (isnan(v)) {
        strcpy(buf, "nan");
    } else if (isinf(v)) {
        strcpy(buf, v > 0 ? "inf" : "-inf");
    } else if (v == trunc(v) && fabs(v) < 0x1p53) {
        /* Counts are the common case; "1200" reads better than "1200.0000000000000" and
         * is exact. The cast also folds -0 into "0". */
        snprintf(buf, 32, "%lld", (long long)v);
    } else {
        /* %.17g always round-trips but prints 0.1 as 0.10000000000000001; the shortest
         * precision that reads back exactly is just as exact and readable. printf and
         * strtod are correctly rounded, so the choice is the same on every run. For a normal
         * double, %.15g already is the shortest form when 15 digits suffice (DBL_DIG);
         * subnormals carry fewer significant bits, so for them the search starts at 1. */
        for (int prec = fabs(v) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
            snprintf(buf, 32, "%.*g", prec, v);
            if (strtod(buf, NULL) == v) break;
        }
    }
    return buf;
}

/* Evaluate every formula once, before any output, so an error leaves the stream untouched
 * and every writer of a dump sees the same values. vals[i] is entry i's value (formulas
 * only). */
static int eval_all(const stat_registry *r, double **vals, es_err *err)
{
    *vals = calloc(r->n + 1, sizeof **vals);
    if (!*vals) return es_fail(err, ES_ENOMEM, "out of memory evaluating statistics");
    stat_eval_ctx c = {.r = r, .err = err};
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i]->kind != STAT_FORMULA) continue;
        int rc = stat_eval_(&c, r->v[i], &(*vals)[i]);
        if (rc < 0) {
            free(*vals);
            *vals = NULL;
            return rc;
        }
    }
    return ES_OK;
}

static double entry_number(const stat_entry *e, const double *vals, size_t i)
{
    return e->kind == STAT_FORMULA ? vals[i] : e->u.scalar;
}

static void bucket_label(char *buf, size_t size, const stat_entry *e, size_t i)
{
    char a[32], b[32];
    snprintf(buf, size, "%s-%s", stat_format_number(a, stat_hist_edge_(e, i)),
             stat_format_number(b, stat_hist_edge_(e, i + 1)));
}

/* Length of the decoded UTF-8 sequence starting at p if it is valid (shortest form, no
 * surrogates, at most U+10FFFF), else 0. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (p[1] < lo || p[1] > hi) return 0;
    for (size_t k = 2; k < n; k++)
        if (p[k] < 0x80 || p[k] > 0xBF) return 0;
    return n;
}

/* Write s as a JSON string literal (quotes included) to f, or only measure it when f is
 * NULL. Returns the number of bytes. */
static size_t json_string(FILE *f, const char *s)
{
    size_t len = 2;
    if (f) fputc('"', f);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        char esc[8];
        const char *out;
        size_t n, adv = 1;
        switch (*p) {
        case '"': out = "\\\""; break;
        case '\\': out = "\\\\"; break;
        case '\n': out = "\\n"; break;
        case '\r': out = "\\r"; break;
        case '\t': out = "\\t"; break;
        case '\b': out = "\\b"; break;
        case '\f': out = "\\f"; break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                out = esc;
            } else if ((adv = utf8_len(p)) == 0) {
                out = "\\ufffd";
                adv = 1;
            } else {
                out = NULL; /* a valid character: copied as is */
            }
        }
        n = out ? strlen(out) : adv;
        if (!out) out = (const char *)p;
        if (f) fwrite(out, 1, n, f);
        len += n;
        p += adv;
    }
    if (f) fputc('"', f);
    return len;
}

static int stream_status(FILE *f, es_err *err)
{
    if (ferror(f)) return es_fail(err, ES_EIO, "error writing statistics");
    return ES_OK;
}

/* ---- stats.txt ------------------------------------------------------------------------------ */

#define TXT_NAME_W  50
#define TXT_VALUE_W 20

/* One line: name[::elem] padded, the value right-aligned (value NULL: the string s,
 * JSON-quoted), then "# desc (unit)". */
static void txt_line(FILE *f, const stat_entry *e, const char *elem, const char *value,
                     const char *s, int with_unit)
{
    int n = fprintf(f, "%s%s%s", e->name, elem ? "::" : "", elem ? elem : "");
    fprintf(f, "%*s ", n < TXT_NAME_W ? TXT_NAME_W - n : 0, "");
    if (value) {
        fprintf(f, "%*s", TXT_VALUE_W, value);
    } else {
        size_t len = json_string(NULL, s);
        if (len < TXT_VALUE_W) fprintf(f, "%*s", (int)(TXT_VALUE_W - len), "");
        json_string(f, s);
    }
    const char *unit = with_unit ? e->unit : "";
    if (e->desc[0] || unit[0]) {
        fputs("  #", f);
        if (e->desc[0]) fprintf(f, " %s", e->desc);
        if (unit[0]) fprintf(f, " (%s)", unit);
    }
    fputc('\n', f);
}

static void write_txt(const stat_registry *r, const double *vals, FILE *f)
{
    char num[32], label[80];
    fputs("---------- Begin Simulation Statistics ----------\n", f);
    for (size_t i = 0; i < r->n; i++) {
        const stat_entry *e = r->v[i];
        switch (e->kind) {
        case STAT_SCALAR:
        case STAT_FORMULA:
            txt_line(f, e, NULL, stat_format_number(num, entry_number(e, vals, i)), NULL, 1);
            break;
        case STAT_STRING: txt_line(f, e, NULL, NULL, stat_get_string(e), 1); break;
        case STAT_VECTOR:
            for (size_t k = 0; k < e->u.vec.n; k++) {
                const char *elem = e->u.vec.names ? e->u.vec.names[k] : label;
                if (!e->u.vec.names) snprintf(label, sizeof label, "%zu", k);
                txt_line(f, e, elem, stat_format_number(num, e->u.vec.v[k]), NULL, 1);
            }
            txt_line(f, e, "total", stat_format_number(num, stat_vec_total(e)), NULL, 1);
            break;
        case STAT_HISTOGRAM:
            /* samples, mean, stdev, min, max, underflow; buckets; overflow. Only the
             * fields measured in the stat's unit carry it. */
            for (size_t k = 0; k < 6; k++)
                txt_line(f, e, stat_hist_fields_[k],
                         stat_format_number(num, stat_hist_field_(e, k)), NULL, k >= 1 && k <= 4);
            for (size_t k = 0; k < e->u.hist.nbins; k++) {
                bucket_label(label, sizeof label, e, k);
                txt_line(f, e, label, stat_format_number(num, e->u.hist.bins[k]), NULL, 0);
            }
            txt_line(f, e, "overflow", stat_format_number(num, e->u.hist.over), NULL, 0);
            break;
        }
    }
    fputs("\n---------- End Simulation Statistics   ----------\n", f);
}

int stat_write_txt(const stat_registry *r, FILE *f, es_err *err)
{
    double *vals;
    ES_TRY(eval_all(r, &vals, err));
    write_txt(r, vals, f);
    free(vals);
    return stream_status(f, err);
}

/* ---- stats.json ------------------------------------------------------------------------ */

static const char *const meta_fixed[] = {"version",      "seed",   "config_hash", "command_line",
                                         "host_seconds", "events", "events_per_s"};

static int cmp_meta_field(const void *a, const void *b)
{
    const stat_meta_field *x = *(const stat_meta_field *const *)a;
    const stat_meta_field *y = *(const stat_meta_field *const *)b;
    return strcmp(x->key, y->key);
}

/* Check the extra meta fields and return them sorted by key in *sorted (caller frees). */
static int meta_sorted(const stat_meta *m, const stat_meta_field ***sorted, es_err *err)
{
    *sorted = NULL;
    if (!m || m->n_extra == 0) return ES_OK;
    if (!m->extra) return es_fail(err, ES_EINVAL, "stats meta: n_extra set but no fields");
    const stat_meta_field **v = malloc(m->n_extra * sizeof *v);
    if (!v) return es_fail(err, ES_ENOMEM, "out of memory writing stats.json");
    for (size_t i = 0; i < m->n_extra; i++) {
        const char *k = m->extra[i].key;
        if (!k || !*k) {
            free(v);
            return es_fail(err, ES_EINVAL, "stats meta: extra field %zu has no key", i);
        }
        for (size_t j = 0; j < ES_ARRAY_LEN(meta_fixed); j++)
            if (strcmp(k, meta_fixed[j]) == 0) {
                free(v);
                return es_fail(err, ES_EINVAL, "stats meta: extra field '%s' is a fixed field", k);
            }
        v[i] = &m->extra[i];
    }
    qsort(v, m->n_extra, sizeof *v, cmp_meta_field);
    for (size_t i = 1; i < m->n_extra; i++)
        if (strcmp(v[i - 1]->key, v[i]->key) == 0) {
            es_fail(err, ES_EINVAL, "stats meta: extra field '%s' appears twice", v[i]->key);
            free(v);
            return ES_EINVAL;
        }
    *sorted = v;
    return ES_OK;
}

static void json_indent(FILE *f, int depth)
{
    for (int i = 0; i < depth; i++)
        fputs("  ", f);
}

static void json_number(FILE *f, double v)
{
    char num[32];
    fputs(isfinite(v) ? stat_format_number(num, v) : "null", f);
}

static void json_nullable(FILE *f, const char *s)
{
    if (s)
        json_string(f, s);
    else
        fputs("null", f);
}

/* Start member `key` of the object at depth-1: separator, newline, indent, key. */
static void json_key(FILE *f, int depth, int *first, const char *key, size_t klen)
{
    fputs(*first ? "\n" : ",\n", f);
    *first = 0;
    json_indent(f, depth);
    fputc('"', f);
    fwrite(key, 1, klen, f); /* names are [A-Za-z0-9_]: nothing to escape */
    fputs("\": ", f);
}

static void json_u64(FILE *f, uint64_t v)
{
    fprintf(f, "%llu", (unsigned long long)v);
}

static void write_meta(FILE *f, const stat_meta *m, const stat_meta_field *const *extra)
{
    fputs("\n  \"meta\": {\n    \"version\": ", f);
    json_nullable(f, m->version);
    fputs(",\n    \"seed\": ", f);
    json_u64(f, m->seed);
    fputs(",\n    \"config_hash\": ", f);
    json_nullable(f, m->config_hash);
    fputs(",\n    \"command_line\": ", f);
    json_nullable(f, m->command_line);
    fputs(",\n    \"host_seconds\": ", f);
    json_number(f, m->host_seconds);
    fputs(",\n    \"events\": ", f);
    json_u64(f, m->events);
    fputs(",\n    \"events_per_s\": ", f);
    json_number(f, m->host_seconds > 0 ? (double)m->events / m->host_seconds : NAN);
    for (size_t i = 0; i < m->n_extra; i++) {
        fputs(",\n    ", f);
        json_string(f, extra[i]->key);
        fputs(": ", f);
        if (extra[i]->str)
            json_string(f, extra[i]->str);
        else
            json_number(f, extra[i]->num);
    }
    fputs("\n  }", f);
}

/* The value of entry i, whose key was written at `depth`. */
static void json_value(FILE *f, const stat_entry *e, const double *vals, size_t i, int depth)
{
    switch (e->kind) {
    case STAT_SCALAR:
    case STAT_FORMULA: json_number(f, entry_number(e, vals, i)); break;
    case STAT_STRING: json_string(f, stat_get_string(e)); break;
    case STAT_VECTOR: {
        fputs("{\n", f);
        json_indent(f, depth + 1);
        fputs("\"values\": ", f);
        if (e->u.vec.names) {
            fputc('{', f);
            for (size_t k = 0; k < e->u.vec.n; k++) {
                fputs(k ? ",\n" : "\n", f);
                json_indent(f, depth + 2);
                fprintf(f, "\"%s\": ", e->u.vec.names[k]);
                json_number(f, e->u.vec.v[k]);
            }
            fputc('\n', f);
            json_indent(f, depth + 1);
            fputc('}', f);
        } else {
            /* Numeric arrays stay on one line: a per-element line would bury the file. */
            fputc('[', f);
            for (size_t k = 0; k < e->u.vec.n; k++) {
                if (k) fputs(", ", f);
                json_number(f, e->u.vec.v[k]);
            }
            fputc(']', f);
        }
        fputs(",\n", f);
        json_indent(f, depth + 1);
        fputs("\"total\": ", f);
        json_number(f, stat_vec_total(e));
        fputc('\n', f);
        json_indent(f, depth);
        fputc('}', f);
        break;
    }
    case STAT_HISTOGRAM: {
        static const char *const keys[] = {"samples", "mean", "stdev", "min",
                                           "max",     "lo",   "hi",    "underflow"};
        const double v[] = {stat_hist_field_(e, 0), stat_hist_field_(e, 1), stat_hist_field_(e, 2),
                            stat_hist_field_(e, 3), stat_hist_field_(e, 4), e->u.hist.lo,
                            e->u.hist.hi,           stat_hist_field_(e, 5)};
        fputc('{', f);
        for (size_t k = 0; k < ES_ARRAY_LEN(keys); k++) {
            fputs(k ? ",\n" : "\n", f);
            json_indent(f, depth + 1);
            fprintf(f, "\"%s\": ", keys[k]);
            json_number(f, v[k]);
        }
        fputs(",\n", f);
        json_indent(f, depth + 1);
        fputs("\"buckets\": [", f);
        for (size_t k = 0; k < e->u.hist.nbins; k++) {
            if (k) fputs(", ", f);
            json_number(f, e->u.hist.bins[k]);
        }
        fputs("],\n", f);
        json_indent(f, depth + 1);
        fputs("\"overflow\": ", f);
        json_number(f, e->u.hist.over);
        fputc('\n', f);
        json_indent(f, depth);
        fputc('}', f);
        break;
    }
    }
}

static const char *nonfinite_word(double v)
{
    return isnan(v) ? "nan" : v > 0 ? "inf" : "-inf";
}

/* JSON has no NaN or infinity, so such a value is written as null; never silently: every one
 * is listed in a top-level "nonfinite" object with what it was ("nan", "inf", "-inf"), keyed
 * by the statistic's name (a vector element as NAME[ELEMENT]). Absent when all are finite. */
static void write_nonfinite(const stat_registry *r, const double *vals, FILE *f, int first)
{
    int any = 0;
    for (size_t i = 0; i < r->n; i++) {
        const stat_entry *e = r->v[i];
        size_t n = e->kind == STAT_VECTOR ? e->u.vec.n : 1;
        for (size_t k = 0; k < n; k++) {
            double v;
            if (e->kind == STAT_SCALAR || e->kind == STAT_FORMULA)
                v = entry_number(e, vals, i);
            else if (e->kind == STAT_VECTOR)
                v = e->u.vec.v[k];
            else
                continue;
            if (isfinite(v)) continue;
            fputs(any ? ",\n    " : first ? "\n  \"nonfinite\": {\n    " : ",\n  \"nonfinite\": {\n    ", f);
            any = 1;
            if (e->kind == STAT_VECTOR && e->u.vec.names)
                fprintf(f, "\"%s[%s]\": ", e->name, e->u.vec.names[k]);
            else if (e->kind == STAT_VECTOR)
                fprintf(f, "\"%s[%zu]\": ", e->name, k);
            else
                fprintf(f, "\"%s\": ", e->name);
            fprintf(f, "\"%s\"", nonfinite_word(v));
        }
    }
    if (any) fputs("\n  }", f);
}

/* A name has at most STAT_NAME_MAX/2 + 1 components. */
#define JSON_MAX_LEVELS (STAT_NAME_MAX / 2 + 2)

static void write_json(const stat_registry *r, const double *vals, const stat_meta *meta,
                       const stat_meta_field *const *extra, FILE *f)
{
    /* open[k] is the name prefix (up to, not including, a dot) of the object open at
     * level k + 1; first[k] tells whether the object at level k has no member yet. */
    const char *open_name = NULL;
    size_t open_len[JSON_MAX_LEVELS];
    int first[JSON_MAX_LEVELS + 1];
    int nopen = 0;

    fputc('{', f);
    first[0] = 1;
    if (meta) {
        write_meta(f, meta, extra);
        first[0] = 0;
    }
    for (size_t i = 0; i < r->n; i++) {
        const stat_entry *e = r->v[i];
        const char *name = e->name;
        /* dots[k] is the index of the name's k-th dot: the end of its k-th component. */
        size_t dots[JSON_MAX_LEVELS];
        int ndots = 0;
        for (size_t k = 0; name[k]; k++)
            if (name[k] == '.') dots[ndots++] = k;
        /* Keep the open objects this name shares (same prefix up to the same dot). */
        int common = 0;
        while (common < nopen && common < ndots && open_len[common] == dots[common] &&
               strncmp(open_name, name, dots[common]) == 0)
            common++;
        while (nopen > common) {
            fputc('\n', f);
            json_indent(f, nopen);
            fputc('}', f);
            nopen--;
        }
        for (int k = nopen; k < ndots; k++) {
            size_t start = k ? dots[k - 1] + 1 : 0;
            json_key(f, k + 1, &first[k], name + start, dots[k] - start);
            fputc('{', f);
            open_len[k] = dots[k];
            first[k + 1] = 1;
            nopen++;
        }
        open_name = name;
        size_t start = ndots ? dots[ndots - 1] + 1 : 0;
        json_key(f, ndots + 1, &first[ndots], name + start, strlen(name + start));
        json_value(f, e, vals, i, ndots + 1);
    }
    while (nopen > 0) {
        fputc('\n', f);
        json_indent(f, nopen);
        fputc('}', f);
        nopen--;
    }
    write_nonfinite(r, vals, f, first[0]);
    fputs("\n}\n", f);
}

int stat_write_json(const stat_registry *r, const stat_meta *meta, FILE *f, es_err *err)
{
    const stat_meta_field **extra;
    ES_TRY(meta_sorted(meta, &extra, err));
    double *vals;
    int rc = eval_all(r, &vals, err);
    if (rc == ES_OK) {
        write_json(r, vals, meta, extra, f);
        rc = stream_status(f, err);
    }
    free(vals);
    free(extra);
    return rc;
}

/* ---- stats.csv ----------------------------------------------------------------------------- */

/* One field. String values (force_quotes) are always quoted and have invalid UTF-8
 * replaced by U+FFFD, as in stats.json, so CSV readers that decode UTF-8 never fail. */
static void csv_field(FILE *f, const char *s, int force_quotes)
{
    if (!force_quotes && !strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = utf8_len(p);
        if (n == 0) {
            fputs("\xef\xbf\xbd", f);
            p++;
            continue;
        }
        if (*p == '"') fputc('"', f);
        fwrite(p, 1, n, f);
        p += n;
    }
    fputc('"', f);
}

static void csv_row(FILE *f, const char *name, const char *elem, const char *value,
                    int value_is_string, const char *unit)
{
    fputs(name, f);
    fputc(',', f);
    csv_field(f, elem ? elem : "", 0);
    fputc(',', f);
    csv_field(f, value, value_is_string);
    fputc(',', f);
    csv_field(f, unit, 0);
    fputc('\n', f);
}

static void write_csv(const stat_registry *r, const double *vals, FILE *f)
{
    char num[32], label[80];
    fputs("name,element,value,unit\n", f);
    for (size_t i = 0; i < r->n; i++) {
        const stat_entry *e = r->v[i];
        switch (e->kind) {
        case STAT_SCALAR:
        case STAT_FORMULA:
            csv_row(f, e->name, NULL, stat_format_number(num, entry_number(e, vals, i)), 0,
                    e->unit);
            break;
        case STAT_STRING: csv_row(f, e->name, NULL, stat_get_string(e), 1, e->unit); break;
        case STAT_VECTOR:
            for (size_t k = 0; k < e->u.vec.n; k++) {
                if (!e->u.vec.names) snprintf(label, sizeof label, "%zu", k);
                csv_row(f, e->name, e->u.vec.names ? e->u.vec.names[k] : label,
                        stat_format_number(num, e->u.vec.v[k]), 0, e->unit);
            }
            csv_row(f, e->name, "total", stat_format_number(num, stat_vec_total(e)), 0, e->unit);
            break;
        case STAT_HISTOGRAM:
            for (size_t k = 0; k < 6; k++)
                csv_row(f, e->name, stat_hist_fields_[k],
                        stat_format_number(num, stat_hist_field_(e, k)), 0,
                        k >= 1 && k <= 4 ? e->unit : "");
            for (size_t k = 0; k < e->u.hist.nbins; k++) {
                bucket_label(label, sizeof label, e, k);
                csv_row(f, e->name, label, stat_format_number(num, e->u.hist.bins[k]), 0, "");
            }
            csv_row(f, e->name, "overflow", stat_format_number(num, e->u.hist.over), 0, "");
            break;
        }
    }
}

int stat_write_csv(const stat_registry *r, FILE *f, es_err *err)
{
    double *vals;
    ES_TRY(eval_all(r, &vals, err));
    write_csv(r, vals, f);
    free(vals);
    return stream_status(f, err);
}

/* ---- stat_dump_dir --------------------------------------------------------------------- */

int stat_dump_dir(const stat_registry *r, const stat_meta *meta, const char *dir, es_err *err)
{
    static const char *const files[3] = {"stats.txt", "stats.json", "stats.csv"};
    if (!dir || !*dir) return es_fail(err, ES_EINVAL, "stat_dump_dir: no directory");
    const stat_meta_field **extra;
    ES_TRY(meta_sorted(meta, &extra, err));
    double *vals;
    int rc = eval_all(r, &vals, err);
    if (rc < 0) {
        free(extra);
        return rc;
    }

    es_atomic_file af[3];
    memset(af, 0, sizeof af);
    es_err sub;
    es_err_clear(&sub);
    size_t nopen = 0;
    char *path = malloc(strlen(dir) + 16);
    if (!path) {
        rc = es_fail(err, ES_ENOMEM, "out of memory writing statistics");
        goto done;
    }
    for (; nopen < 3; nopen++) {
        sprintf(path, "%s/%s", dir, files[nopen]);
        if ((rc = es_atomic_open(&af[nopen], path, &sub)) < 0) {
            es_fail(err, rc, "cannot write statistics into '%s': %s", dir, sub.msg);
            goto done;
        }
    }
    write_txt(r, vals, af[0].fp);
    write_json(r, vals, meta, extra, af[1].fp);
    write_csv(r, vals, af[2].fp);
    /* Flush and sync all three before renaming any, so that what can still fail after the
     * first rename (close, rename) is as little as possible and a full disk leaves the
     * previous set of files intact. */
    for (size_t k = 0; k < 3; k++) {
        if (fflush(af[k].fp) != 0 || ferror(af[k].fp) || fsync(fileno(af[k].fp)) != 0) {
            rc = es_fail(err, ES_EIO, "cannot write statistics into '%s': %s/%s: write failed", dir,
                         dir, files[k]);
            goto done;
        }
    }
    for (size_t k = 0; k < 3; k++) {
        if ((rc = es_atomic_commit(&af[k], &sub)) < 0) {
            es_fail(err, rc, "cannot write statistics into '%s': %s", dir, sub.msg);
            goto done;
        }
    }
done:
    /* Committed files are already closed (fp NULL); abort ignores those. */
    for (size_t k = 0; k < nopen && k < 3; k++)
        es_atomic_abort(&af[k]);
    free(path);
    free(vals);
    free(extra);
    return rc;
}
