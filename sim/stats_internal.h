/* stats_internal.h - what the statistics registry (stats.c), its formula compiler and evaluator
 * (stats_formula.c) and its writers (stats_write.c) share; not a public header (stats.h is). */
#ifndef ES_STATS_INTERNAL_H
#define ES_STATS_INTERNAL_H

#include <stddef.h>

#include "stats.h"

#define EVAL_MAX_DEPTH 64 /* formulas nested in formulas, at most */

/* The fields of a histogram, by index: stat_hist_field_(e, k) is field k's value. */
#define STAT_HIST_NFIELDS 7
extern const char *const stat_hist_fields_[STAT_HIST_NFIELDS];

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

typedef struct stat_eval_ctx {
    const stat_registry *r;
    const stat_entry *chain[EVAL_MAX_DEPTH];
    int depth;
    es_err *err;
} stat_eval_ctx;

/* Helpers shared by the three files; each is described where it is defined. */
int stat_is_word_(int c);
int stat_is_alpha_(int c);
int stat_check_name_(const char *name, es_err *err);
stat_entry *stat_find_n_(const stat_registry *r, const char *key, size_t klen);
void stat_entry_free_(stat_entry *e);
stat_entry *stat_entry_new_(stat_registry *r, stat_kind kind, const char *name, const char *unit,
                            const char *desc, size_t *pos, es_err *err);
stat_entry *stat_entry_insert_(stat_registry *r, stat_entry *e, size_t pos);
double stat_hist_field_(const stat_entry *e, size_t k);
int stat_eval_(stat_eval_ctx *c, const stat_entry *e, double *out);

double stat_hist_edge_(const stat_entry *e, size_t i);

#endif
