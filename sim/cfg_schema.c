/* cfg_schema.c - binds a cfg_doc to an essim_config through the schema table: defaults,
 * typed parsing with units and bounds, unknown-key detection (with a suggestion), the
 * effective-configuration dump, its hash and the generated reference. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "sbuf.h"

const cfg_key *cfg_schema_find(const char *path)
{
    size_t n;
    const cfg_key *k = cfg_schema(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(k[i].path, path) == 0) return &k[i];
    return NULL;
}

static void *field(essim_config *cfg, const cfg_key *k) { return (char *)cfg + k->offset; }
static const void *cfield(const essim_config *cfg, const cfg_key *k)
{
    return (const char *)cfg + k->offset;
}

/* ---- scalar parsing -------------------------------------------------------------------- */

static int parse_int(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end != s && *end == '\0' && errno == 0) {
        *out = v;
        return 1;
    }
    /* Accept 1e6 and 1_000_000 when the value is integral. */
    char buf[64];
    size_t j = 0;
    for (const char *p = s; *p && j + 1 < sizeof buf; p++)
        if (*p != '_') buf[j++] = *p;
    buf[j] = '\0';
    errno = 0;
    double d = strtod(buf, &end);
    if (end == buf || *end || errno || !isfinite(d) || d != floor(d) || fabs(d) > 9.2e18) return 0;
    *out = (int64_t)d;
    return 1;
}

static int parse_real(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v)) return 0;
    if (*end == '%' && end[1] == '\0') {
        *out = v / 100.0;
        return 1;
    }
    if (*end) return 0;
    *out = v;
    return 1;
}

static int parse_bool(const char *s, int *out)
{
    static const char *t[] = {"true", "yes", "on", "True", "TRUE", "Yes", "On"};
    static const char *f[] = {"false", "no", "off", "False", "FALSE", "No", "Off"};
    for (size_t i = 0; i < ES_ARRAY_LEN(t); i++) {
        if (!strcmp(s, t[i])) return *out = 1, 1;
        if (!strcmp(s, f[i])) return *out = 0, 1;
    }
    return 0;
}

static int enum_index(const char *choices, const char *s)
{
    int idx = 0;
    size_t sl = strlen(s);
    for (const char *p = choices;; idx++) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == sl && !strncmp(p, s, l)) return idx;
        if (!bar) return -1;
        p = bar + 1;
    }
}

static void enum_name(const char *choices, int idx, char *buf, size_t len)
{
    const char *p = choices;
    for (int i = 0; i < idx && p; i++) {
        p = strchr(p, '|');
        if (p) p++;
    }
    if (!p) {
        snprintf(buf, len, "?");
        return;
    }
    const char *bar = strchr(p, '|');
    snprintf(buf, len, "%.*s", (int)(bar ? (size_t)(bar - p) : strlen(p)), p);
}

const char *cfg_choice_name(const char *path, int idx)
{
    /* Interned copies, so callers get a string that lives as long as the program; there are
     * only as many as the schema has choices, and the table grows with them. */
    static char **names;
    static size_t used, cap;
    const cfg_key *k = cfg_schema_find(path);
    if (!k || k->type != CFG_T_ENUM) return "?";
    char buf[128];
    enum_name(k->choices, idx, buf, sizeof buf);
    for (size_t i = 0; i < used; i++)
        if (!strcmp(names[i], buf)) return names[i];
    if (used == cap) {
        size_t c = cap ? 2 * cap : 32;
        char **t = realloc(names, c * sizeof *t);
        if (!t) return "?"; /* out of memory: callers print it, nothing decides on it */
        names = t;
        cap = c;
    }
    char *s = es_strdup(buf);
    if (!s) return "?";
    names[used] = s;
    return names[used++];
}

int cfg_choice_index(const char *path, const char *name)
{
    const cfg_key *k = cfg_schema_find(path);
    return k && k->type == CFG_T_ENUM && name ? enum_index(k->choices, name) : -1;
}

static void fmt_bound(const cfg_key *k, double v, char *buf, size_t len)
{
    if (k->type == CFG_T_QTY)
        cfg_format_quantity(v, k->dim, buf, len);
    else
        cfg_format_real(v, buf, len);
}

static int check_bounds(const cfg_key *k, double v, const cfg_node *n, es_err *err)
{
    if ((k->has_min && v < k->min) || (k->has_max && v > k->max)) {
        char lo[64] = "-inf", hi[64] = "inf", got[64];
        if (k->has_min) fmt_bound(k, k->min, lo, sizeof lo);
        if (k->has_max) fmt_bound(k, k->max, hi, sizeof hi);
        fmt_bound(k, v, got, sizeof got);
        return es_fail_at(err, ES_ECONFIG, n->file, n->line, n->col,
                          "%s = %s is out of range [%s, %s]", k->path, got, lo, hi);
    }
    return ES_OK;
}

/* Parse one numeric scalar for key k (also used for list elements and map values). */
static int parse_number(const cfg_key *k, const cfg_node *n, double *out, int want_int,
                        es_err *err)
{
    if (n->kind != CFG_SCALAR)
        return es_fail_at(err, ES_ECONFIG, n->file, n->line, n->col, "%s: expected %s, got a %s",
                          k->path, want_int ? "an integer" : "a number",
                          n->kind == CFG_MAP ? "mapping" : "list");
    if (k->type == CFG_T_QTY) {
        es_err uerr;
        es_err_clear(&uerr);
        if (cfg_parse_quantity(n->text, k->dim, out, &uerr) < 0)
            return es_fail_at(err, ES_ECONFIG, n->file, n->line, n->col, "%s: %s", k->path,
                              uerr.msg);
    } else if (want_int) {
        int64_t v;
        if (!parse_int(n->text, &v))
            return es_fail_at(err, ES_ECONFIG, n->file, n->line, n->col,
                              "%s: expected an integer, got '%s'", k->path, n->text);
        *out = (double)v;
    } else if (!parse_real(n->text, out)) {
        return es_fail_at(err, ES_ECONFIG, n->file, n->line, n->col,
                          "%s: expected a number, got '%s'", k->path, n->text);
    }
    return check_bounds(k, *out, n, err);
}

static void free_value(essim_config *cfg, const cfg_key *k)
{
    void *f = field(cfg, k);
    switch (k->type) {
    case CFG_T_STRING:
        free(*(char **)f);
        *(char **)f = NULL;
        break;
    case CFG_T_INT_LIST: {
        cfg_int_list *l = f;
        free(l->v);
        memset(l, 0, sizeof *l);
        break;
    }
    case CFG_T_REAL_MAP: {
        cfg_real_map *m = f;
        for (size_t i = 0; i < m->n; i++) free(m->key[i]);
        free(m->key);
        free(m->v);
        memset(m, 0, sizeof *m);
        break;
    }
    default: break;
    }
}

/* Store node n as the value of key k. */
static int bind_value(essim_config *cfg, const cfg_key *k, const cfg_node *n, es_err *err)
{
    void *f = field(cfg, k);
    double d;
    switch (k->type) {
    case CFG_T_INT:
        ES_TRY(parse_number(k, n, &d, 1, err));
        *(int64_t *)f = (int64_t)d;
        return ES_OK;
    case CFG_T_REAL:
    case CFG_T_QTY:
        ES_TRY(parse_number(k, n, &d, 0, err));
        *(double *)f = d;
        return ES_OK;
    case CFG_T_BOOL:
        if (n->kind != CFG_SCALAR || !parse_bool(n->text, (int *)f))
            return es_fail_at(err, ES_ECONFIG, n->file, n->line, n->col,
                              "%s: expected true or false, got '%s'", k->path,
                              n->kind == CFG_SCALAR ? n->text : "a collection");
        return ES_OK;
    case CFG_T_STRING: {
        if (n->kind != CFG_SCALAR)
            return es_fail_at(err, ES_ECONFIG, n->file, n->line, n->col,
                              "%s: expected a string", k->path);
        char *s = es_strdup(n->text);
        if (!s) return es_fail(err, ES_ENOMEM, "out of memory");
        free(*(char **)f);
        *(char **)f = s;
        return ES_OK;
    }
    case CFG_T_ENUM: {
        int idx = n->kind == CFG_SCALAR ? enum_index(k->choices, n->text) : -1;
        if (idx < 0) {
            char choices[256];
            snprintf(choices, sizeof choices, "%s", k->choices);
            for (char *p = choices; *p; p++)
                if (*p == '|') *p = ',';
            return es_fail_at(err, ES_ECONFIG, n->file, n->line, n->col,
                              "%s: '%s' is not one of: %s", k->path,
                              n->kind == CFG_SCALAR ? n->text : "a collection", choices);
        }
        *(int *)f = idx;
        return ES_OK;
    }
    case CFG_T_INT_LIST: {
        if (n->kind != CFG_SEQ)
            return es_fail_at(err, ES_ECONFIG, n->file, n->line, n->col,
                              "%s: expected a list of integers like [30, 60]", k->path);
        int64_t *v = n->n ? malloc(n->n * sizeof *v) : NULL;
        if (n->n && !v) return es_fail(err, ES_ENOMEM, "out of memory");
        for (size_t i = 0; i < n->n; i++) {
            int rc = parse_number(k, n->items[i], &d, 1, err);
            if (rc < 0) {
                free(v);
                return rc;
            }
            v[i] = (int64_t)d;
        }
        free_value(cfg, k);
        ((cfg_int_list *)f)->n = n->n;
        ((cfg_int_list *)f)->v = v;
        return ES_OK;
    }
    case CFG_T_REAL_MAP: {
        if (n->kind != CFG_MAP)
            return es_fail_at(err, ES_ECONFIG, n->file, n->line, n->col,
                              "%s: expected a mapping like {conv1: 0.3}", k->path);
        cfg_real_map m = {0};
        m.key = calloc(n->n ? n->n : 1, sizeof *m.key);
        m.v = calloc(n->n ? n->n : 1, sizeof *m.v);
        if (!m.key || !m.v) {
            free(m.key);
            free(m.v);
            return es_fail(err, ES_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n->n; i++, m.n++) {
            int rc = parse_number(k, n->items[i], &m.v[i], 0, err);
            if (rc == ES_OK && !(m.key[i] = es_strdup(n->keys[i])))
                rc = es_fail(err, ES_ENOMEM, "out of memory");
            if (rc < 0) {
                for (size_t j = 0; j < m.n; j++) free(m.key[j]);
                free(m.key);
                free(m.v);
                return rc;
            }
        }
        free_value(cfg, k);
        *(cfg_real_map *)f = m;
        return ES_OK;
    }
    }
    return es_fail(err, ES_EINVAL, "bad schema type");
}

void cfg_free(essim_config *cfg)
{
    size_t n;
    const cfg_key *k = cfg_schema(&n);
    for (size_t i = 0; i < n; i++) free_value(cfg, &k[i]);
}

/* Defaults are written as in a file, so they go through the same parser: one document with
   a value v<i> per key. It is parsed once per process and kept (read-only from then on):
   binding runs for every command, sweep point and fuzz input (under ASan the `set` fuzzer ran
   6x faster with the parse kept; the gain in a normal build is not measured). */
static cfg_doc *defaults_doc;
static int defaults_rc;
static char defaults_msg[sizeof ((es_err *)0)->msg];
static pthread_once_t defaults_once = PTHREAD_ONCE_INIT;

static void parse_defaults(void)
{
    size_t n;
    const cfg_key *k = cfg_schema(&n);
    sbuf y = {0};
    sb_puts(&y, "version: 1\n");
    for (size_t i = 0; i < n; i++) sb_printf(&y, "v%zu: %s\n", i, k[i].def);
    char *yaml = sb_take(&y);
    if (!yaml) {
        defaults_rc = ES_ENOMEM;
        snprintf(defaults_msg, sizeof defaults_msg, "out of memory");
        return;
    }
    es_err derr;
    es_err_clear(&derr);
    defaults_rc = cfg_doc_load_string(yaml, "(built-in default)", &defaults_doc, &derr);
    free(yaml);
    if (defaults_rc < 0) snprintf(defaults_msg, sizeof defaults_msg, "%s", derr.msg);
}

int cfg_defaults(essim_config *cfg, es_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    size_t n;
    const cfg_key *k = cfg_schema(&n);
    pthread_once(&defaults_once, parse_defaults);
    if (defaults_rc < 0) return es_fail(err, defaults_rc, "bad built-in defaults: %s", defaults_msg);
    const cfg_node *root = cfg_doc_root(defaults_doc);
    es_err derr;
    es_err_clear(&derr);
    int rc = ES_OK;
    for (size_t i = 0; i < n && rc == ES_OK; i++) {
        char name[32];
        snprintf(name, sizeof name, "v%zu", i);
        /* the values are in document order after `version` (a look-up by name would make
           this quadratic in the number of keys) */
        const cfg_node *v = root->kind == CFG_MAP && i + 1 < root->n &&
                                    strcmp(root->keys[i + 1], name) == 0
                                ? root->items[i + 1]
                                : cfg_map_get(root, name);
        rc = bind_value(cfg, &k[i], v, &derr);
        if (rc < 0) rc = es_fail(err, rc, "bad built-in default for %s: %s", k[i].path, derr.msg);
    }
    if (rc < 0) cfg_free(cfg);
    return rc < 0 ? rc : ES_OK;
}

/* ---- unknown keys ------------------------------------------------------------------------ */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return 99;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++) d[i][0] = i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = ES_MIN(c, ES_MIN(del, ins));
        }
    return d[la][lb];
}

/* Is `prefix` a section (some key starts with "prefix.")? */
static int is_section(const char *prefix)
{
    size_t n, pl = strlen(prefix);
    const cfg_key *k = cfg_schema(&n);
    for (size_t i = 0; i < n; i++)
        if (!strncmp(k[i].path, prefix, pl) && k[i].path[pl] == '.') return 1;
    return 0;
}

static int unknown_key(const char *section, const char *key, const cfg_node *kn, es_err *err)
{
    /* Suggest the closest sibling name. */
    size_t n, sl = strlen(section);
    const cfg_key *k = cfg_schema(&n);
    const char *best = NULL;
    size_t bestd = 3;
    char sib[128], bestbuf[128] = "";
    for (size_t i = 0; i < n; i++) {
        const char *p = k[i].path;
        if (sl && (strncmp(p, section, sl) || p[sl] != '.')) continue;
        const char *rest = sl ? p + sl + 1 : p;
        const char *dot = strchr(rest, '.');
        snprintf(sib, sizeof sib, "%.*s", (int)(dot ? (size_t)(dot - rest) : strlen(rest)), rest);
        size_t d = edit_distance(key, sib);
        if (d < bestd) {
            bestd = d;
            snprintf(bestbuf, sizeof bestbuf, "%s", sib);
            best = bestbuf;
        }
    }
    if (best)
        return es_fail_at(err, ES_ECONFIG, kn->file, kn->line, kn->col,
                          "unknown key '%s'%s%s (did you mean '%s'?)", key, sl ? " in section " : "",
                          sl ? section : "", best);
    return es_fail_at(err, ES_ECONFIG, kn->file, kn->line, kn->col, "unknown key '%s'%s%s", key,
                      sl ? " in section " : "", sl ? section : "");
}

/* Keys that existed and were replaced. A file that sets one is told what replaced it; a
 * configuration recorded by an older ESSIM (a trace's header) binds without them. */
static const struct {
    const char *path, *instead;
} retired[] = {
    {"arch.xbar.read_power", "arch.xbar.cal.read_energy (the crossbar's read energy at the "
                             "arch.xbar.cal.* calibration point; power follows the read cycle)"},
    {"arch.adc.power", "arch.adc.fom (energy per conversion step: a conversion costs fom x "
                       "2^bits, power = that x sample rate + leakage)"},
    {"arch.adc.power_bits", "arch.adc.ref_bits"},
    {"arch.dac.power", "arch.dac.drive_energy (energy of one row drive; power follows the read "
                       "cycle)"},
};

static const char *retired_instead(const char *path)
{
    for (size_t i = 0; i < ES_ARRAY_LEN(retired); i++)
        if (!strcmp(retired[i].path, path)) return retired[i].instead;
    return NULL;
}

static int bind_map(essim_config *cfg, const cfg_node *map, const char *prefix, int recorded,
                    es_err *err)
{
    for (size_t i = 0; i < map->n; i++) {
        char path[256];
        if (*prefix)
            snprintf(path, sizeof path, "%s.%s", prefix, map->keys[i]);
        else
            snprintf(path, sizeof path, "%s", map->keys[i]);
        const cfg_key *k = cfg_schema_find(path);
        const cfg_node *v = map->items[i];
        if (k) {
            ES_TRY(bind_value(cfg, k, v, err));
        } else if (is_section(path)) {
            if (v->kind != CFG_MAP)
                return es_fail_at(err, ES_ECONFIG, v->file, v->line, v->col,
                                  "'%s' is a section: expected a mapping of keys", path);
            ES_TRY(bind_map(cfg, v, path, recorded, err));
        } else if (retired_instead(path)) {
            if (!recorded)
                return es_fail_at(err, ES_ECONFIG, map->key_nodes[i]->file,
                                  map->key_nodes[i]->line, map->key_nodes[i]->col,
                                  "'%s' was replaced (issue 12, component costs that follow "
                                  "the geometry): use %s",
                                  path, retired_instead(path));
        } else {
            return unknown_key(prefix, map->keys[i], map->key_nodes[i], err);
        }
    }
    return ES_OK;
}

/* Cross-key rules the per-key bounds cannot express. */
static int validate(const essim_config *cfg, const cfg_doc *doc, es_err *err)
{
    const cfg_node *root = cfg_doc_root(doc);
    const cfg_node *cell = cfg_map_get(cfg_map_get(root, "arch"), "cell");
    const cfg_node *at = cfg_map_get(cell, "r_off");
    if (!at) at = cfg_map_get(cell, "r_on");
    if (cfg->arch.cell.r_off_ohm <= cfg->arch.cell.r_on_ohm) {
        if (at)
            return es_fail_at(err, ES_ECONFIG, at->file, at->line, at->col,
                              "arch.cell.r_off must be larger than arch.cell.r_on");
        return es_fail(err, ES_ECONFIG, "arch.cell.r_off must be larger than arch.cell.r_on");
    }
    return ES_OK;
}

static int bind(const cfg_doc *doc, essim_config *cfg, int recorded, es_err *err)
{
    ES_TRY(cfg_defaults(cfg, err));
    const cfg_node *root = cfg_doc_root(doc);
    int rc = ES_OK;
    if (root && root->kind == CFG_MAP) rc = bind_map(cfg, root, "", recorded, err);
    if (rc == ES_OK) rc = validate(cfg, doc, err);
    if (rc < 0) cfg_free(cfg);
    return rc;
}

int cfg_bind(const cfg_doc *doc, essim_config *cfg, es_err *err)
{
    return bind(doc, cfg, 0, err);
}

int cfg_bind_recorded(const cfg_doc *doc, essim_config *cfg, es_err *err)
{
    return bind(doc, cfg, 1, err);
}

/* ---- dump, hash and reference ------------------------------------------------------------ */

/* YAML double-quoted form of a string. */
static void put_string(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(fp, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(fp, "\\x%02x", *p);
        else
            fputc(*p, fp);
    }
    fputc('"', fp);
}

/* Text of a key's value as it would be written in a file. */
static void put_value(FILE *fp, const essim_config *cfg, const cfg_key *k)
{
    const void *f = cfield(cfg, k);
    char buf[128];
    switch (k->type) {
    case CFG_T_INT: fprintf(fp, "%lld", (long long)*(const int64_t *)f); break;
    case CFG_T_REAL:
        cfg_format_real(*(const double *)f, buf, sizeof buf);
        fputs(buf, fp);
        break;
    case CFG_T_QTY:
        cfg_format_quantity(*(const double *)f, k->dim, buf, sizeof buf);
        fputs(buf, fp);
        break;
    case CFG_T_BOOL: fputs(*(const int *)f ? "true" : "false", fp); break;
    case CFG_T_STRING: put_string(fp, *(char *const *)f ? *(char *const *)f : ""); break;
    case CFG_T_ENUM:
        enum_name(k->choices, *(const int *)f, buf, sizeof buf);
        fputs(buf, fp);
        break;
    case CFG_T_INT_LIST: {
        const cfg_int_list *l = f;
        fputc('[', fp);
        for (size_t i = 0; i < l->n; i++) fprintf(fp, "%s%lld", i ? ", " : "", (long long)l->v[i]);
        fputc(']', fp);
        break;
    }
    case CFG_T_REAL_MAP: {
        const cfg_real_map *m = f;
        fputc('{', fp);
        for (size_t i = 0; i < m->n; i++) {
            cfg_format_real(m->v[i], buf, sizeof buf);
            fprintf(fp, "%s", i ? ", " : "");
            put_string(fp, m->key[i]);
            fprintf(fp, ": %s", buf);
        }
        fputc('}', fp);
        break;
    }
    }
}

/* Number of leading dotted components two paths share. */
static int common_depth(const char *a, const char *b)
{
    int d = 0;
    for (;;) {
        const char *da = strchr(a, '.'), *db = strchr(b, '.');
        if (!da || !db) return d;
        if (da - a != db - b || strncmp(a, b, (size_t)(da - a))) return d;
        d++;
        a = da + 1;
        b = db + 1;
    }
}

static int dump_body(const essim_config *cfg, FILE *fp)
{
    size_t n;
    const cfg_key *k = cfg_schema(&n);
    const char *prev = "";
    for (size_t i = 0; i < n; i++) {
        const char *p = k[i].path;
        int depth = common_depth(prev, p);
        /* Skip the shared sections, open the new ones. */
        const char *s = p;
        for (int d = 0; d < depth; d++) s = strchr(s, '.') + 1;
        int level = depth;
        for (const char *dot; (dot = strchr(s, '.')); s = dot + 1, level++)
            fprintf(fp, "%*s%.*s:\n", 2 * level, "", (int)(dot - s), s);
        fprintf(fp, "%*s%s: ", 2 * level, "", s);
        put_value(fp, cfg, &k[i]);
        fputc('\n', fp);
        prev = p;
    }
    return ferror(fp) ? ES_EIO : ES_OK;
}

int cfg_dump(const essim_config *cfg, FILE *fp)
{
    char hash[17];
    cfg_hash(cfg, hash);
    fprintf(fp, "# ESSIM effective configuration (config hash %s)\n", hash);
    return dump_body(cfg, fp);
}

void cfg_hash(const essim_config *cfg, char out[17])
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    uint64_t h = ES_FNV1A64_INIT;
    if (fp) {
        dump_body(cfg, fp);
        fclose(fp);
        h = es_fnv1a64(buf, len, h);
        free(buf);
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static const char *type_name(const cfg_key *k)
{
    switch (k->type) {
    case CFG_T_BOOL: return "bool";
    case CFG_T_INT: return "integer";
    case CFG_T_REAL: return "number";
    case CFG_T_QTY: return cfg_dim_name(k->dim);
    case CFG_T_STRING: return "string";
    case CFG_T_ENUM: return "choice";
    case CFG_T_INT_LIST: return "integer list";
    case CFG_T_REAL_MAP: return "name: number map";
    }
    return "?";
}

int cfg_reference(FILE *fp, int markdown)
{
    size_t n;
    const cfg_key *k = cfg_schema(&n);
    if (markdown)
        fprintf(fp, "| key | type | unit | range | default | description |\n"
                    "|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < n; i++) {
        char lo[64] = "", hi[64] = "", range[160] = "";
        if (k[i].type == CFG_T_ENUM) {
            snprintf(range, sizeof range, "%s", k[i].choices);
            if (markdown)
                for (char *p = range; *p; p++)
                    if (*p == '|') *p = ',';
        } else if (k[i].has_min || k[i].has_max) {
            if (k[i].has_min) fmt_bound(&k[i], k[i].min, lo, sizeof lo);
            if (k[i].has_max) fmt_bound(&k[i], k[i].max, hi, sizeof hi);
            snprintf(range, sizeof range, "[%s, %s]", k[i].has_min ? lo : "-inf",
                     k[i].has_max ? hi : "inf");
        }
        const char *unit = k[i].type == CFG_T_QTY ? cfg_dim_unit(k[i].dim) : "";
        if (markdown) {
            fprintf(fp, "| `%s` | %s | %s | %s | `%s` | ", k[i].path, type_name(&k[i]), unit,
                    range, k[i].def);
            for (const char *p = k[i].help; *p; p++) /* a | would end the table cell */
                if (*p == '|')
                    fputs("\\|", fp);
                else
                    fputc(*p, fp);
            fputs(" |\n", fp);
        } else
            fprintf(fp, "%s\n    type: %s%s%s%s%s\n    default: %s\n    %s\n\n", k[i].path,
                    type_name(&k[i]), *unit ? "  unit: " : "", unit, *range ? "  range: " : "",
                    range, k[i].def, k[i].help);
    }
    return ferror(fp) ? ES_EIO : ES_OK;
}

int cfg_dump_file(const essim_config *cfg, const char *path, es_err *err)
{
    es_atomic_file af;
    ES_TRY(es_atomic_open(&af, path, err));
    if (cfg_dump(cfg, af.fp) < 0) {
        es_atomic_abort(&af);
        return es_fail(err, ES_EIO, "%s: cannot write the configuration", path);
    }
    return es_atomic_commit(&af, err);
}
