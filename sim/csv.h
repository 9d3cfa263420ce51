/* csv.h - reading CSV files as ESSIM's commands write them (RFC 4180: quoted fields, doubled
 * quotes, CRLF or LF), with the line of every row kept for messages. Used by the report (the
 * outputs of runs and sweeps) and the sweep's results (each point's stats.csv, statcsv.h). */
#ifndef ES_CSV_H
#define ES_CSV_H

#include <stddef.h>

#include "es_common.h"

typedef struct csv_row { /* one record */
    size_t n;
    char **f;
    unsigned char *quoted; /* whether field i was written in quotes */
    int line;
} csv_row;

typedef struct csv_doc { /* every record of a file, the header row first */
    size_t n, cap;
    csv_row *rows;
} csv_doc;

/* Parse text (len bytes) into rows of fields. Blank lines are skipped, and lines starting
 * with '#' too when skip_comments. Errors (ES_EFORMAT) name path and line. */
int csv_parse(const char *path, const char *text, size_t len, int skip_comments, csv_doc *d,
              es_err *err);
/* es_read_file + csv_parse. */
int csv_load(const char *path, int skip_comments, csv_doc *d, es_err *err);
void csv_free(csv_doc *d); /* leaves d empty */
/* Column of `name` in the header row, or -1. */
int csv_col(const csv_doc *d, const char *name);
/* Field c of row r, "" when absent; csv_num: the field as a number, NaN when it is not one. */
const char *csv_get(const csv_doc *d, size_t r, int c);
double csv_num(const csv_doc *d, size_t r, int c);
/* Parse a whole string as a number ("nan", "inf", "-inf" included): 1 and *v, or 0. */
int csv_parse_num(const char *s, double *v);

#endif
