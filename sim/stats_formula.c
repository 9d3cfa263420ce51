/* stats_formula.c - formulas over other statistics: compiled once into postfix order, their
 * references kept as names and resolved at each evaluation, so a formula may name a statistic
 * registered after it. */
#include "stats_internal.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    if (stat_is_word_((unsigned char)s[i]) || s[i] == '.') {
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
    while (stat_is_word_((unsigned char)s[i]) || s[i] == '.')
        i++;
    size_t name_end = i;
    if (s[i] == ':' && s[i + 1] == ':') {
        i += 2;
        if (!stat_is_word_((unsigned char)s[i])) {
            p->pos = i;
            return fp_fail(p, "expected a field name after '::'");
        }
        while (stat_is_word_((unsigned char)s[i]))
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
    int rc = stat_check_name_(ref, &sub);
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
    if (stat_is_alpha_((unsigned char)c)) return fp_reference(p);
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
    if (stat_check_name_(name, err) < 0) return NULL;
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
    if (rc == ES_OK) e = stat_entry_new_(r, STAT_FORMULA, name, unit, desc, &pos, err);
    if (e) {
        e->u.formula.ops = p.ops;
        e->u.formula.nops = p.n;
        e->u.formula.stack = p.max_depth;
        p.ops = NULL;
        p.n = 0;
        e->u.formula.expr = es_strdup(expr);
        if (!e->u.formula.expr) {
            stat_entry_free_(e);
            e = NULL;
            es_fail(err, ES_ENOMEM, "out of memory registering stat '%s'", name);
        }
    }
    for (size_t i = 0; i < p.n; i++)
        free(p.ops[i].ref);
    free(p.ops);
    return e ? stat_entry_insert_(r, e, pos) : NULL;
}

/* Value of a reference "name" or "name::field"; from is the formula that holds it (NULL
 * when called from stat_value), for the message. */
static int resolve(stat_eval_ctx *c, const stat_entry *from, const char *ref, double *out)
{
    char ctx[STAT_NAME_MAX + 64];
    if (from)
        snprintf(ctx, sizeof ctx, "formula '%s': ", from->name);
    else
        ctx[0] = '\0';
    const char *sep = strstr(ref, "::");
    size_t nlen = sep ? (size_t)(sep - ref) : strlen(ref);
    const char *field = sep ? sep + 2 : NULL;
    const stat_entry *e = stat_find_n_(c->r, ref, nlen);
    if (!e) return es_fail(c->err, ES_EINVAL, "%sunknown stat '%.*s'", ctx, (int)nlen, ref);
    switch (e->kind) {
    case STAT_SCALAR:
        if (field) break;
        *out = e->u.scalar;
        return ES_OK;
    case STAT_FORMULA:
        if (field) break;
        return stat_eval_(c, e, out);
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
        for (size_t k = 0; k < ES_ARRAY_LEN(stat_hist_fields_); k++)
            if (strcmp(field, stat_hist_fields_[k]) == 0) {
                *out = stat_hist_field_(e, k);
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

int stat_eval_(stat_eval_ctx *c, const stat_entry *e, double *out)
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
    stat_eval_ctx c = {.r = r, .err = err};
    return resolve(&c, NULL, ref, out);
}
