/* stats.c - the statistics registry (entries kept sorted by name), the formula compiler
 * and evaluator, and the stats.txt / stats.json / stats.csv writers. Models register and
 * update entries while they run; the command layer dumps them at the end. See stats.h. */
#define _POSIX_C_SOURCE 200809L
#include "stats.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- data ------------------------------------------------------------------------------ */

/* A formula is compiled once into postfix order; references stay names, resolved at each
 * evaluation, so a formula may name a stat registered after it. */
typedef enum { OP_NUM, OP_REF, OP_NEG, OP_ADD, OP_SUB, OP_MUL, OP_DIV } fop_kind;

typedef struct fop {
    fop_kind kind;
    double num; /* OP_NUM */
    char *ref;  /* OP_REF: "name" or "name::field" */
} fop;

struct stat_entry {
    stat_kind kind;
    char *name;
    char *unit;
    char *desc;
    union {
        double scalar;
        char *str;
        struct {
            size_t n;
            double *v;
            char **names; /* NULL when elements are known by index */
        } vec;
        struct {
            double lo, hi;
            size_t nbins;
            double *bins;
            double under, over;
            double w, mean, m2; /* weighted running moments (West 1979) */
            double min, max;
        } hist;
        struct {
            char *expr;
            fop *ops;
            size_t nops;
            size_t stack; /* deepest evaluation stack the postfix program needs */
        } formula;
    } u;
};

/* Entries sorted by name with strcmp. Every character allowed in a name sorts after '.',
 * so byte order equals component-wise order: all names under one dotted prefix are
 * contiguous, which is what lets the JSON writer nest in a single pass and lets a prefix
 * conflict be found by looking at one neighbour. */
struct stat_registry {
    stat_entry **v;
    size_t n, cap;
};

static const char empty_str[] = "";

/* ---- names ----------------------------------------------------------------------------- */

static int is_word(int c)
{
    /* ASCII only, independent of the locale. */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int is_alpha_(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int check_name(const char *name, es_err *err)
{
    if (!name || !*name) return es_fail(err, ES_EINVAL, "stat name is empty");
    size_t len = strlen(name);
    if (len > STAT_NAME_MAX)
        return es_fail(err, ES_EINVAL, "stat name '%.40s...' is longer than %d bytes", name,
                       STAT_NAME_MAX);
    if (!is_alpha_((unsigned char)name[0]))
        return es_fail(err, ES_EINVAL, "stat name '%s' must start with a letter or '_'", name);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '.') {
            if (name[i + 1] == '.' || name[i + 1] == '\0')
                return es_fail(err, ES_EINVAL, "stat name '%s' has an empty component", name);
        } else if (!is_word(c)) {
            if (c < 0x20 || c >= 0x7f)
                return es_fail(err, ES_EINVAL, "stat name '%s' has invalid byte 0x%02x", name, c);
            return es_fail(err, ES_EINVAL,
                           "stat name '%s' has invalid character '%c' (use [A-Za-z0-9_] and dots)",
                           name, c);
        }
    }
    if (strcmp(name, "meta") == 0 || strncmp(name, "meta.", 5) == 0)
        return es_fail(err, ES_EINVAL,
                       "stat name '%s' is reserved ('meta' holds the run metadata in stats.json)",
                       name);
    return ES_OK;
}

/* Unit and description each end up on one line of stats.txt. */
static int check_text(const char *name, const char *what, const char *s, es_err *err)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return es_fail(err, ES_EINVAL, "stat '%s': %s contains a control character", name,
                           what);
    return ES_OK;
}

static int check_elem(const char *vname, const char *elem, es_err *err)
{
    if (!elem || !*elem)
        return es_fail(err, ES_EINVAL, "vector '%s': element name is empty", vname);
    if (strlen(elem) > STAT_ELEM_MAX)
        return es_fail(err, ES_EINVAL, "vector '%s': element name '%.20s...' is longer than %d",
                       vname, elem, STAT_ELEM_MAX);
    /* Element names are layer names too ("layers.0.conv1"), so dots and dashes are allowed;
     * they never nest (an element is one JSON key) and "::" still splits a reference. */
    for (const char *p = elem; *p; p++)
        if (!is_word((unsigned char)*p) && *p != '.' && *p != '-')
            return es_fail(err, ES_EINVAL,
                           "vector '%s': element name '%s' must use only [A-Za-z0-9_.-]", vname,
                           elem);
    if (strcmp(elem, "total") == 0)
        return es_fail(err, ES_EINVAL, "vector '%s': element name 'total' is reserved for the sum",
                       vname);
    return ES_OK;
}

/* Compare a NUL-terminated name with the first klen bytes of key, as strcmp would compare
 * name with that prefix on its own. */
static int cmp_n(const char *name, const char *key, size_t klen)
{
    int c = strncmp(name, key, klen);
    if (c) return c;
    return name[klen] != '\0';
}

/* Index of the first entry whose name is >= key[0..klen). */
static size_t lower_bound(const stat_registry *r, const char *key, size_t klen)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_n(r->v[mid]->name, key, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static stat_entry *find_n(const stat_registry *r, const char *key, size_t klen)
{
    size_t i = lower_bound(r, key, klen);
    if (i < r->n && cmp_n(r->v[i]->name, key, klen) == 0) return r->v[i];
    return NULL;
}

/* ---- registry ----------------------------------------------------------------------- */

int stat_registry_create(stat_registry **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? ES_OK : ES_ENOMEM;
}

static void entry_free(stat_entry *e)
{
    if (!e) return;
    switch (e->kind) {
    case STAT_SCALAR: break;
    case STAT_STRING: free(e->u.str); break;
    case STAT_VECTOR:
        free(e->u.vec.v);
        if (e->u.vec.names)
            for (size_t i = 0; i < e->u.vec.n; i++)
                free(e->u.vec.names[i]);
        free(e->u.vec.names);
        break;
    case STAT_HISTOGRAM: free(e->u.hist.bins); break;
    case STAT_FORMULA:
        free(e->u.formula.expr);
        for (size_t i = 0; i < e->u.formula.nops; i++)
            free(e->u.formula.ops[i].ref);
        free(e->u.formula.ops);
        break;
    }
    free(e->name);
    free(e->unit);
    free(e->desc);
    free(e);
}

void stat_registry_destroy(stat_registry *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++)
        entry_free(r->v[i]);
    free(r->v);
    free(r);
}

/* Validate a new entry's name and texts against the registry and allocate its common
 * part; *pos receives where it will be inserted. The kind-specific part is filled by the
 * caller, which then calls entry_insert (nothing else may register in between). */
static stat_entry *entry_new(stat_registry *r, stat_kind kind, const char *name, const char *unit,
                             const char *desc, size_t *pos, es_err *err)
{
    assert(r);
    if (!unit) unit = "";
    if (!desc) desc = "";
    if (check_name(name, err) < 0) return NULL;
    if (check_text(name, "unit", unit, err) < 0 || check_text(name, "description", desc, err) < 0)
        return NULL;
    size_t len = strlen(name);
    size_t i = lower_bound(r, name, len);
    if (i < r->n && strcmp(r->v[i]->name, name) == 0) {
        es_fail(err, ES_EINVAL, "stat '%s' is already registered", name);
        return NULL;
    }
    /* A longer name under this one sorts right after it (see struct stat_registry). */
    if (i < r->n && strncmp(r->v[i]->name, name, len) == 0 && r->v[i]->name[len] == '.') {
        es_fail(err, ES_EINVAL,
                "stat '%s' conflicts with '%s': one name may not be a dotted prefix of another "
                "(stats.json nests by dots)",
                name, r->v[i]->name);
        return NULL;
    }
    for (size_t k = 0; k < len; k++) {
        if (name[k] != '.') continue;
        const stat_entry *p = find_n(r, name, k);
        if (p) {
            es_fail(err, ES_EINVAL,
                    "stat '%s' conflicts with '%s': one name may not be a dotted prefix of "
                    "another (stats.json nests by dots)",
                    name, p->name);
            return NULL;
        }
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        stat_entry **v = realloc(r->v, cap * sizeof *v);
        if (!v) goto nomem;
        r->v = v;
        r->cap = cap;
    }
    stat_entry *e = calloc(1, sizeof *e);
    if (!e) goto nomem;
    e->kind = kind;
    e->name = es_strdup(name);
    e->unit = es_strdup(unit);
    e->desc = es_strdup(desc);
    if (!e->name || !e->unit || !e->desc) {
        free(e->name);
        free(e->unit);
        free(e->desc);
        free(e);
        goto nomem;
    }
    *pos = i;
    return e;
nomem:
    es_fail(err, ES_ENOMEM, "out of memory registering stat '%s'", name);
    return NULL;
}

static stat_entry *entry_insert(stat_registry *r, stat_entry *e, size_t pos)
{
    assert(r->n < r->cap && pos <= r->n);
    memmove(r->v + pos + 1, r->v + pos, (r->n - pos) * sizeof *r->v);
    r->v[pos] = e;
    r->n++;
    return e;
}

stat_entry *stat_register_scalar(stat_registry *r, const char *name, const char *unit,
                                 const char *desc, es_err *err)
{
    size_t pos;
    stat_entry *e = entry_new(r, STAT_SCALAR, name, unit, desc, &pos, err);
    if (!e) return NULL;
    e->u.scalar = 0.0;
    return entry_insert(r, e, pos);
}

stat_entry *stat_register_string(stat_registry *r, const char *name, const char *unit,
                                 const char *desc, es_err *err)
{
    size_t pos;
    stat_entry *e = entry_new(r, STAT_STRING, name, unit, desc, &pos, err);
    if (!e) return NULL;
    e->u.str = NULL; /* read as "" */
    return entry_insert(r, e, pos);
}

stat_entry *stat_register_vector(stat_registry *r, const char *name, const char *unit,
                                 const char *desc, size_t n, const char *const *elem_names,
                                 es_err *err)
{
    if (n == 0) {
        es_fail(err, ES_EINVAL, "vector '%s' must have at least one element", name ? name : "");
        return NULL;
    }
    if (elem_names) {
        for (size_t i = 0; i < n; i++) {
            if (check_elem(name ? name : "", elem_names[i], err) < 0) return NULL;
            /* Quadratic, but vectors are short and this runs once at build time. */
            for (size_t j = 0; j < i; j++)
                if (strcmp(elem_names[i], elem_names[j]) == 0) {
                    es_fail(err, ES_EINVAL, "vector '%s': element name '%s' appears twice",
                            name ? name : "", elem_names[i]);
                    return NULL;
                }
        }
    }
    size_t pos;
    stat_entry *e = entry_new(r, STAT_VECTOR, name, unit, desc, &pos, err);
    if (!e) return NULL;
    e->u.vec.n = n;
    e->u.vec.v = calloc(n, sizeof *e->u.vec.v);
    if (!e->u.vec.v) goto nomem;
    if (elem_names) {
        e->u.vec.names = calloc(n, sizeof *e->u.vec.names);
        if (!e->u.vec.names) goto nomem;
        for (size_t i = 0; i < n; i++)
            if (!(e->u.vec.names[i] = es_strdup(elem_names[i]))) goto nomem;
    }
    return entry_insert(r, e, pos);
nomem:
    entry_free(e);
    es_fail(err, ES_ENOMEM, "out of memory registering stat '%s'", name);
    return NULL;
}

stat_entry *stat_register_histogram(stat_registry *r, const char *name, const char *unit,
                                    const char *desc, double lo, double hi, size_t nbins,
                                    es_err *err)
{
    const char *nm = name ? name : "";
    if (!isfinite(lo) || !isfinite(hi) || !(lo < hi) || !isfinite(hi - lo)) {
        es_fail(err, ES_EINVAL, "histogram '%s': range [%g, %g) must be finite with lo < hi", nm,
                lo, hi);
        return NULL;
    }
    if (nbins < 1 || nbins > ((size_t)1 << 20)) {
        es_fail(err, ES_EINVAL, "histogram '%s': %zu buckets (must be 1 .. %zu)", nm, nbins,
                (size_t)1 << 20);
        return NULL;
    }
    size_t pos;
    stat_entry *e = entry_new(r, STAT_HISTOGRAM, name, unit, desc, &pos, err);
    if (!e) return NULL;
    e->u.hist.lo = lo;
    e->u.hist.hi = hi;
    e->u.hist.nbins = nbins;
    e->u.hist.bins = calloc(nbins, sizeof *e->u.hist.bins);
    if (!e->u.hist.bins) {
        entry_free(e);
        es_fail(err, ES_ENOMEM, "out of memory registering stat '%s'", name);
        return NULL;
    }
    return entry_insert(r, e, pos);
}

/* ---- formula compiler --------------------------------------------------------------------
 * Recursive descent, one function per precedence level:
 *   expr  := term (('+' | '-') term)*
 *   term  := unary (('*' | '/') unary)*
 *   unary := ('-' | '+') unary | primary
 *   prim  := number | reference | '(' expr ')'
 * Output is postfix, which needs no tree and evaluates with a small stack. */

#define FORMULA_MAX_NEST 100

typedef struct fparser {
    const char *name; /* the formula's stat name, for messages */
    const char *s;
    size_t pos;
    fop *ops;
    size_t n, cap;
    size_t depth, max_depth; /* evaluation stack depth after the ops so far */
    int nest;
    es_err *err;
} fparser;

static int fp_fail(fparser *p, const char *what)
{
    return es_fail(p->err, ES_EINVAL, "formula '%s' = \"%s\": column %zu: %s", p->name, p->s,
                   p->pos + 1, what);
}

static void fp_skip(fparser *p)
{
    while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t')
        p->pos++;
}

static int fp_emit(fparser *p, fop_kind kind, double num, char *ref)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        fop *v = realloc(p->ops, cap * sizeof *v);
        if (!v) {
            free(ref);
            return es_fail(p->err, ES_ENOMEM, "out of memory compiling formula '%s'", p->name);
        }
        p->ops = v;
        p->cap = cap;
    }
    p->ops[p->n++] = (fop){.kind = kind, .num = num, .ref = ref};
    if (kind == OP_NUM || kind == OP_REF) {
        if (++p->depth > p->max_depth) p->max_depth = p->depth;
    } else if (kind != OP_NEG) {
        p->depth--;
    }
    return ES_OK;
}

static int fp_expr(fparser *p);

static int fp_number(fparser *p)
{
    const char *s = p->s;
    size_t b = p->pos, i = b;
    while (s[i] >= '0' && s[i] <= '9')
        i++;
    if (s[i] == '.') {
        i++;
        while (s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (s[i] == 'e' || s[i] == 'E') {
        size_t j = i + 1;
        if (s[j] == '+' || s[j] == '-') j++;
        if (!(s[j] >= '0' && s[j] <= '9')) {
            p->pos = i;
            return fp_fail(p, "malformed number (exponent without digits)");
        }
        while (s[j] >= '0' && s[j] <= '9')
            j++;
        i = j;
    }
    if (is_word((unsigned char)s[i]) || s[i] == '.') {
        p->pos = i;
        return fp_fail(p, "malformed number");
    }
    char buf[128];
    if (i - b >= sizeof buf) return fp_fail(p, "number too long");
    memcpy(buf, s + b, i - b);
    buf[i - b] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v)) return fp_fail(p, "number out of range");
    p->pos = i;
    return fp_emit(p, OP_NUM, v, NULL);
}

static int fp_reference(fparser *p)
{
    const char *s = p->s;
    size_t b = p->pos, i = b;
    while (is_word((unsigned char)s[i]) || s[i] == '.')
        i++;
    size_t name_end = i;
    if (s[i] == ':' && s[i + 1] == ':') {
        i += 2;
        if (!is_word((unsigned char)s[i])) {
            p->pos = i;
            return fp_fail(p, "expected a field name after '::'");
        }
        while (is_word((unsigned char)s[i]))
            i++;
    }
    char *ref = malloc(i - b + 1);
    if (!ref) return es_fail(p->err, ES_ENOMEM, "out of memory compiling formula '%s'", p->name);
    memcpy(ref, s + b, i - b);
    ref[i - b] = '\0';
    /* Check the name part now so that "a..b" is reported with its column, not later as an
     * unknown stat. */
    es_err sub;
    ref[name_end - b] = '\0';
    int rc = check_name(ref, &sub);
    if (i != name_end) ref[name_end - b] = ':';
    if (rc < 0) {
        free(ref);
        return fp_fail(p, sub.msg);
    }
    p->pos = i;
    return fp_emit(p, OP_REF, 0.0, ref);
}

static int fp_unary(fparser *p)
{
    fp_skip(p);
    char c = p->s[p->pos];
    if (c == '-' || c == '+') {
        if (++p->nest > FORMULA_MAX_NEST) return fp_fail(p, "nested too deeply");
        p->pos++;
        ES_TRY(fp_unary(p));
        p->nest--;
        return c == '-' ? fp_emit(p, OP_NEG, 0.0, NULL) : ES_OK;
    }
    if (c == '(') {
        if (++p->nest > FORMULA_MAX_NEST) return fp_fail(p, "nested too deeply");
        p->pos++;
        ES_TRY(fp_expr(p));
        fp_skip(p);
        if (p->s[p->pos] != ')') return fp_fail(p, "expected ')'");
        p->pos++;
        p->nest--;
        return ES_OK;
    }
    if ((c >= '0' && c <= '9') || (c == '.' && p->s[p->pos + 1] >= '0' && p->s[p->pos + 1] <= '9'))
        return fp_number(p);
    if (is_alpha_((unsigned char)c)) return fp_reference(p);
    if (c == '\0') return fp_fail(p, "unexpected end, expected a number, a stat name or '('");
    return fp_fail(p, "expected a number, a stat name or '('");
}

static int fp_term(fparser *p)
{
    ES_TRY(fp_unary(p));
    for (;;) {
        fp_skip(p);
        char c = p->s[p->pos];
        if (c != '*' && c != '/') return ES_OK;
        p->pos++;
        ES_TRY(fp_unary(p));
        ES_TRY(fp_emit(p, c == '*' ? OP_MUL : OP_DIV, 0.0, NULL));
    }
}

static int fp_expr(fparser *p)
{
    ES_TRY(fp_term(p));
    for (;;) {
        fp_skip(p);
        char c = p->s[p->pos];
        if (c != '+' && c != '-') return ES_OK;
        p->pos++;
        ES_TRY(fp_term(p));
        ES_TRY(fp_emit(p, c == '+' ? OP_ADD : OP_SUB, 0.0, NULL));
    }
}

stat_entry *stat_register_formula(stat_registry *r, const char *name, const char *unit,
                                  const char *desc, const char *expr, es_err *err)
{
    if (!expr) {
        es_fail(err, ES_EINVAL, "formula '%s' has no expression", name ? name : "");
        return NULL;
    }
    if (check_name(name, err) < 0) return NULL;
    /* Compile before touching the registry, so a syntax error registers nothing. */
    fparser p = {.name = name, .s = expr, .err = err};
    int rc = fp_expr(&p);
    if (rc == ES_OK) {
        fp_skip(&p);
        if (p.s[p.pos] == ')')
            rc = fp_fail(&p, "unbalanced ')'");
        else if (p.s[p.pos] != '\0')
            rc = fp_fail(&p, "expected an operator (+ - * /)");
    }
    if (rc == ES_OK) assert(p.depth == 1);
    size_t pos;
    stat_entry *e = NULL;
    if (rc == ES_OK) e = entry_new(r, STAT_FORMULA, name, unit, desc, &pos, err);
    if (e) {
        e->u.formula.ops = p.ops;
        e->u.formula.nops = p.n;
        e->u.formula.stack = p.max_depth;
        p.ops = NULL;
        p.n = 0;
        e->u.formula.expr = es_strdup(expr);
        if (!e->u.formula.expr) {
            entry_free(e);
            e = NULL;
            es_fail(err, ES_ENOMEM, "out of memory registering stat '%s'", name);
        }
    }
    for (size_t i = 0; i < p.n; i++)
        free(p.ops[i].ref);
    free(p.ops);
    return e ? entry_insert(r, e, pos) : NULL;
}

/* ---- lookup and evaluation ------------------------------------------------------------- */

stat_entry *stat_find(const stat_registry *r, const char *name)
{
    return name ? find_n(r, name, strlen(name)) : NULL;
}

stat_kind stat_kind_of(const stat_entry *e)
{
    return e->kind;
}

const char *stat_name(const stat_entry *e)
{
    return e->name;
}

const char *stat_unit(const stat_entry *e)
{
    return e->unit;
}

const char *stat_desc(const stat_entry *e)
{
    return e->desc;
}

/* Formulas may refer to formulas; the chain of formulas being evaluated is kept so that
 * a cycle is reported (with its path) instead of recursing forever, and its length is
 * capped so a long legitimate chain cannot exhaust the C stack. */
#define EVAL_MAX_DEPTH 64

typedef struct eval_ctx {
    const stat_registry *r;
    const stat_entry *chain[EVAL_MAX_DEPTH];
    int depth;
    es_err *err;
} eval_ctx;

static int eval_formula(eval_ctx *c, const stat_entry *e, double *out);

static double hist_stdev(const stat_entry *e)
{
    if (!(e->u.hist.w > 0)) return NAN;
    double var = e->u.hist.m2 / e->u.hist.w;
    return var > 0 ? sqrt(var) : 0.0;
}

static const char *const hist_fields[] = {"samples", "mean",      "stdev",   "min",
                                          "max",     "underflow", "overflow"};

static double hist_field(const stat_entry *e, size_t k)
{
    int empty = !(e->u.hist.w > 0);
    switch (k) {
    case 0: return e->u.hist.w;
    case 1: return empty ? NAN : e->u.hist.mean;
    case 2: return hist_stdev(e);
    case 3: return empty ? NAN : e->u.hist.min;
    case 4: return empty ? NAN : e->u.hist.max;
    case 5: return e->u.hist.under;
    default: return e->u.hist.over;
    }
}

/* Value of a reference "name" or "name::field"; from is the formula that holds it (NULL
 * when called from stat_value), for the message. */
static int resolve(eval_ctx *c, const stat_entry *from, const char *ref, double *out)
{
    char ctx[STAT_NAME_MAX + 64];
    if (from)
        snprintf(ctx, sizeof ctx, "formula '%s': ", from->name);
    else
        ctx[0] = '\0';
    const char *sep = strstr(ref, "::");
    size_t nlen = sep ? (size_t)(sep - ref) : strlen(ref);
    const char *field = sep ? sep + 2 : NULL;
    const stat_entry *e = find_n(c->r, ref, nlen);
    if (!e) return es_fail(c->err, ES_EINVAL, "%sunknown stat '%.*s'", ctx, (int)nlen, ref);
    switch (e->kind) {
    case STAT_SCALAR:
        if (field) break;
        *out = e->u.scalar;
        return ES_OK;
    case STAT_FORMULA:
        if (field) break;
        return eval_formula(c, e, out);
    case STAT_STRING:
        return es_fail(c->err, ES_EINVAL, "%s'%s' is a string stat, not a number", ctx, e->name);
    case STAT_VECTOR:
        if (!field || strcmp(field, "total") == 0) {
            *out = stat_vec_total(e);
            return ES_OK;
        }
        if (e->u.vec.names)
            for (size_t i = 0; i < e->u.vec.n; i++)
                if (strcmp(e->u.vec.names[i], field) == 0) {
                    *out = e->u.vec.v[i];
                    return ES_OK;
                }
        if (field[0] >= '0' && field[0] <= '9' && strlen(field) < 12) {
            char *end;
            unsigned long long i = strtoull(field, &end, 10);
            if (*end == '\0' && i < e->u.vec.n) {
                *out = e->u.vec.v[i];
                return ES_OK;
            }
        }
        break;
    case STAT_HISTOGRAM:
        if (!field)
            return es_fail(c->err, ES_EINVAL,
                           "%shistogram '%s' has no single value; use %s::mean, ::samples, "
                           "::stdev, ::min, ::max, ::underflow or ::overflow",
                           ctx, e->name, e->name);
        for (size_t k = 0; k < ES_ARRAY_LEN(hist_fields); k++)
            if (strcmp(field, hist_fields[k]) == 0) {
                *out = hist_field(e, k);
                return ES_OK;
            }
        break;
    }
    return es_fail(c->err, ES_EINVAL, "%sstat '%s' has no element or field '%s'", ctx, e->name,
                   field);
}

static double apply_binary(fop_kind kind, double a, double b)
{
    switch (kind) {
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    default:
        assert(kind == OP_DIV);
        /* x/0 is NaN even for x != 0: a rate over an empty interval has no value, and an
         * infinity would read as a real (huge) result in reports. */
        return b == 0.0 ? NAN : a / b;
    }
}

static int eval_formula(eval_ctx *c, const stat_entry *e, double *out)
{
    for (int i = 0; i < c->depth; i++) {
        if (c->chain[i] != e) continue;
        char path[768];
        size_t n = 0;
        for (int k = i; k < c->depth && n < sizeof path; k++)
            n += (size_t)snprintf(path + n, sizeof path - n, "'%s' -> ", c->chain[k]->name);
        if (n < sizeof path) snprintf(path + n, sizeof path - n, "'%s'", e->name);
        return es_fail(c->err, ES_EINVAL, "formula cycle: %s", path);
    }
    if (c->depth == EVAL_MAX_DEPTH)
        return es_fail(c->err, ES_EINVAL,
                       "formula '%s': formulas refer to formulas more than %d levels deep", e->name,
                       EVAL_MAX_DEPTH);
    c->chain[c->depth++] = e;

    double local[32];
    double *st = local;
    if (e->u.formula.stack > ES_ARRAY_LEN(local)) {
        st = malloc(e->u.formula.stack * sizeof *st);
        if (!st) {
            c->depth--;
            return es_fail(c->err, ES_ENOMEM, "out of memory evaluating formula '%s'", e->name);
        }
    }
    int rc = ES_OK;
    size_t sp = 0;
    for (size_t i = 0; i < e->u.formula.nops && rc == ES_OK; i++) {
        const fop *op = &e->u.formula.ops[i];
        switch (op->kind) {
        case OP_NUM: st[sp++] = op->num; break;
        case OP_REF: rc = resolve(c, e, op->ref, &st[sp++]); break;
        case OP_NEG: st[sp - 1] = -st[sp - 1]; break;
        default:
            sp--;
            st[sp - 1] = apply_binary(op->kind, st[sp - 1], st[sp]);
            break;
        }
        assert(sp <= e->u.formula.stack);
    }
    if (rc == ES_OK) {
        assert(sp == 1);
        *out = st[0];
    }
    if (st != local) free(st);
    c->depth--;
    return rc;
}

int stat_value(const stat_registry *r, const char *ref, double *out, es_err *err)
{
    if (!ref) return es_fail(err, ES_EINVAL, "stat_value: no name");
    eval_ctx c = {.r = r, .err = err};
    return resolve(&c, NULL, ref, out);
}

/* ---- updating ------------------------------------------------------------------------ */

void stat_set(stat_entry *e, double v)
{
    assert(e && e->kind == STAT_SCALAR);
    if (e->kind == STAT_SCALAR) e->u.scalar = v;
}

void stat_add(stat_entry *e, double dv)
{
    assert(e && e->kind == STAT_SCALAR);
    if (e->kind == STAT_SCALAR) e->u.scalar += dv;
}

double stat_get(const stat_entry *e)
{
    assert(e && e->kind == STAT_SCALAR);
    return e->kind == STAT_SCALAR ? e->u.scalar : NAN;
}

int stat_set_string(stat_entry *e, const char *s)
{
    assert(e && e->kind == STAT_STRING);
    if (e->kind != STAT_STRING) return ES_EINVAL;
    char *c = es_strdup(s ? s : "");
    if (!c) return ES_ENOMEM;
    free(e->u.str);
    e->u.str = c;
    return ES_OK;
}

const char *stat_get_string(const stat_entry *e)
{
    assert(e && e->kind == STAT_STRING);
    return e->kind == STAT_STRING && e->u.str ? e->u.str : empty_str;
}

void stat_vec_set(stat_entry *e, size_t i, double v)
{
    assert(e && e->kind == STAT_VECTOR && i < e->u.vec.n);
    if (e->kind == STAT_VECTOR && i < e->u.vec.n) e->u.vec.v[i] = v;
}

void stat_vec_add(stat_entry *e, size_t i, double dv)
{
    assert(e && e->kind == STAT_VECTOR && i < e->u.vec.n);
    if (e->kind == STAT_VECTOR && i < e->u.vec.n) e->u.vec.v[i] += dv;
}

double stat_vec_get(const stat_entry *e, size_t i)
{
    assert(e && e->kind == STAT_VECTOR && i < e->u.vec.n);
    return e->kind == STAT_VECTOR && i < e->u.vec.n ? e->u.vec.v[i] : NAN;
}

size_t stat_vec_len(const stat_entry *e)
{
    assert(e && e->kind == STAT_VECTOR);
    return e->kind == STAT_VECTOR ? e->u.vec.n : 0;
}

double stat_vec_total(const stat_entry *e)
{
    assert(e && e->kind == STAT_VECTOR);
    if (e->kind != STAT_VECTOR) return NAN;
    double t = 0.0;
    for (size_t i = 0; i < e->u.vec.n; i++)
        t += e->u.vec.v[i];
    return t;
}

/* Lower edge of bucket i (i == nbins gives hi). Bucketing and the bucket labels both use
 * this, so a sample exactly on a printed edge lands in the bucket that edge opens. */
static double hist_edge(const stat_entry *e, size_t i)
{
    if (i >= e->u.hist.nbins) return e->u.hist.hi;
    return e->u.hist.lo + (e->u.hist.hi - e->u.hist.lo) * (double)i / (double)e->u.hist.nbins;
}

int stat_hist_sample(stat_entry *e, double x, double w)
{
    assert(e && e->kind == STAT_HISTOGRAM);
    if (e->kind != STAT_HISTOGRAM) return ES_EINVAL;
    if (!isfinite(x) || !isfinite(w) || !(w > 0)) return ES_EINVAL;
    if (x < e->u.hist.lo) {
        e->u.hist.under += w;
    } else if (x >= e->u.hist.hi) {
        e->u.hist.over += w;
    } else {
        size_t nb = e->u.hist.nbins;
        double f = (x - e->u.hist.lo) / (e->u.hist.hi - e->u.hist.lo) * (double)nb;
        size_t i = f < (double)nb ? (size_t)f : nb - 1;
        /* The division can round across an edge; settle on the bucket whose edges, as
         * computed by hist_edge, hold x. */
        while (i > 0 && x < hist_edge(e, i))
            i--;
        while (i + 1 < nb && x >= hist_edge(e, i + 1))
            i++;
        e->u.hist.bins[i] += w;
    }
    /* Weighted incremental mean and second moment (West 1979): stable where the textbook
     * sum-of-squares formula cancels catastrophically for large, tightly spread samples. */
    if (e->u.hist.w == 0) {
        e->u.hist.min = e->u.hist.max = x;
    } else {
        if (x < e->u.hist.min) e->u.hist.min = x;
        if (x > e->u.hist.max) e->u.hist.max = x;
    }
    double wsum = e->u.hist.w + w;
    double delta = x - e->u.hist.mean;
    e->u.hist.mean += delta * (w / wsum);
    e->u.hist.m2 += w * delta * (x - e->u.hist.mean);
    e->u.hist.w = wsum;
    return ES_OK;
}

void stat_hist_get(const stat_entry *e, stat_hist_info *out)
{
    assert(e && e->kind == STAT_HISTOGRAM);
    memset(out, 0, sizeof *out);
    if (e->kind != STAT_HISTOGRAM) return;
    out->samples = hist_field(e, 0);
    out->mean = hist_field(e, 1);
    out->stdev = hist_field(e, 2);
    out->min = hist_field(e, 3);
    out->max = hist_field(e, 4);
    out->underflow = hist_field(e, 5);
    out->overflow = hist_field(e, 6);
    out->lo = e->u.hist.lo;
    out->hi = e->u.hist.hi;
    out->nbins = e->u.hist.nbins;
}

double stat_hist_bucket(const stat_entry *e, size_t i)
{
    assert(e && e->kind == STAT_HISTOGRAM && i < e->u.hist.nbins);
    return e->kind == STAT_HISTOGRAM && i < e->u.hist.nbins ? e->u.hist.bins[i] : NAN;
}

void stat_reset(stat_registry *r)
{
    for (size_t k = 0; k < r->n; k++) {
        stat_entry *e = r->v[k];
        switch (e->kind) {
        case STAT_SCALAR: e->u.scalar = 0.0; break;
        case STAT_VECTOR: memset(e->u.vec.v, 0, e->u.vec.n * sizeof *e->u.vec.v); break;
        case STAT_HISTOGRAM:
            memset(e->u.hist.bins, 0, e->u.hist.nbins * sizeof *e->u.hist.bins);
            e->u.hist.under = e->u.hist.over = 0.0;
            e->u.hist.w = e->u.hist.mean = e->u.hist.m2 = 0.0;
            e->u.hist.min = e->u.hist.max = 0.0;
            break;
        case STAT_STRING:
        case STAT_FORMULA: break;
        }
    }
}

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
    eval_ctx c = {.r = r, .err = err};
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i]->kind != STAT_FORMULA) continue;
        int rc = eval_formula(&c, r->v[i], &(*vals)[i]);
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
    snprintf(buf, size, "%s-%s", stat_format_number(a, hist_edge(e, i)),
             stat_format_number(b, hist_edge(e, i + 1)));
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
                txt_line(f, e, hist_fields[k], stat_format_number(num, hist_field(e, k)), NULL,
                         k >= 1 && k <= 4);
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
        const double v[] = {hist_field(e, 0), hist_field(e, 1), hist_field(e, 2), hist_field(e, 3),
                            hist_field(e, 4), e->u.hist.lo,     e->u.hist.hi,     hist_field(e, 5)};
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
                csv_row(f, e->name, hist_fields[k], stat_format_number(num, hist_field(e, k)), 0,
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
