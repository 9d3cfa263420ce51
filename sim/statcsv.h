/* statcsv.h - reading back a stats.csv that ESSIM wrote (stats.h writes it: one row per
 * scalar, string or vector element, "name,element,value,unit"), to look statistics up by name.
 * Used by the report and by the sweep's results table. */
#ifndef ES_STATCSV_H
#define ES_STATCSV_H

#include <stddef.h>

#include "csv.h"
#include "es_common.h"

typedef struct statcsv_row {
    const char *name, *elem, *val, *unit;
    double num; /* NaN for strings */
    int is_str;
} statcsv_row;

typedef struct statcsv {
    csv_doc doc;
    size_t n;
    statcsv_row *r;
} statcsv;

/* Load and check path (header, four fields a row, names, numbers): ES_EFORMAT names the line. */
int statcsv_load(const char *path, statcsv *s, es_err *err);
void statcsv_free(statcsv *s);
/* The row of (name, elem), elem NULL or "" for a scalar; NULL when absent or s is NULL. */
const statcsv_row *statcsv_get(const statcsv *s, const char *name, const char *elem);
/* A scalar, or a vector's total; NaN when absent or a string. */
double statcsv_num(const statcsv *s, const char *name);
/* An element of a vector; NaN when absent or a string. */
double statcsv_el(const statcsv *s, const char *name, const char *elem);
/* The value text of a scalar or string; NULL when absent. */
const char *statcsv_str(const statcsv *s, const char *name);
/* Rows of vector `name` other than its total, in file order: returns how many, *first the
 * index of the first (they are consecutive in stats.csv). */
size_t statcsv_elems(const statcsv *s, const char *name, size_t *first);
/* A metric's value text as sweeps name metrics: "NAME" (a scalar, string, or vector total),
 * "NAME::ELEM", or "NAME.ELEM" for a vector element (hw.energy_j_by_phase.forward); NULL when
 * absent. */
const char *statcsv_metric(const statcsv *s, const char *metric);

#endif
