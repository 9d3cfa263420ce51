/* stats.h - the statistics registry: named scalars, strings, vectors, histograms and
 * formulas that every model registers at build time and updates while it runs, and the
 * writers that turn them into stats.txt (gem5 layout), stats.json and stats.csv at the end
 * of a run. Sits in sim/ beside the kernel; depends only on es_common. */
#ifndef ES_STATS_H
#define ES_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "es_common.h"

typedef struct stat_registry stat_registry;
/* One registered statistic. Owned by its registry; the pointer stays valid until the
 * registry is destroyed, so models keep it and update through it without lookups. */
typedef struct stat_entry stat_entry;

typedef enum {
    STAT_SCALAR,    /* one double */
    STAT_STRING,    /* one string ("train.network" = "lenet5") */
    STAT_VECTOR,    /* n doubles, optionally with element names, plus their total */
    STAT_HISTOGRAM, /* weighted samples in fixed bins [lo, hi) plus under/overflow */
    STAT_FORMULA,   /* arithmetic over other stats, evaluated when read or written */
} stat_kind;

/* Longest stat name and vector element name accepted (bytes, without the NUL). */
#define STAT_NAME_MAX 200
#define STAT_ELEM_MAX 64

/* ---- registry ------------------------------------------------------------------------ */

/* Create an empty registry. Returns ES_OK or ES_ENOMEM. Not thread-safe: one registry
 * per simulator, updated from the thread that runs it. */
int stat_registry_create(stat_registry **out);
/* Free the registry and every entry in it. NULL is fine. */
void stat_registry_destroy(stat_registry *r);

/* ---- registration ---------------------------------------------------------------------
 * Every registration takes a dotted name, a unit (NULL or "" for none, e.g. "J", "s",
 * "writes") and a one-line description (NULL or ""), and returns the new entry, or NULL
 * with a message in err (ES_EINVAL for a bad or conflicting name or argument, ES_ENOMEM).
 *
 * Names: components of [A-Za-z0-9_] joined by single dots, starting with a letter or '_',
 * at most STAT_NAME_MAX bytes, e.g. "hw.energy_j_by_phase", "hw.tile.3.writes". The
 * first component "meta" is reserved for the run metadata in stats.json. Because
 * stats.json nests by dots, no name may be a dotted prefix of another: "a.b" and "a.b.c"
 * cannot both exist (but "a.b" and "a.bc" can). Duplicates are rejected.
 * Unit and description may not contain control characters (they are one line in
 * stats.txt). New entries start at zero (empty string, empty histogram). */

stat_entry *stat_register_scalar(stat_registry *r, const char *name, const char *unit,
                                 const char *desc, es_err *err);
stat_entry *stat_register_string(stat_registry *r, const char *name, const char *unit,
                                 const char *desc, es_err *err);
/* A vector of n >= 1 elements. elem_names is NULL (elements are known by index 0..n-1)
 * or an array of n distinct names of [A-Za-z0-9_.-] (layer names), none of them "total" (that name is
 * the sum in every report). The names are copied. */
stat_entry *stat_register_vector(stat_registry *r, const char *name, const char *unit,
                                 const char *desc, size_t n, const char *const *elem_names,
                                 es_err *err);
/* A histogram of nbins (1 .. 1<<20) equal buckets over [lo, hi) (finite, lo < hi);
 * samples below lo count as underflow, at or above hi as overflow. */
stat_entry *stat_register_histogram(stat_registry *r, const char *name, const char *unit,
                                    const char *desc, double lo, double hi, size_t nbins,
                                    es_err *err);
/* A formula: an expression over numeric literals and references to other stats with
 * + - * / (left-associative), unary minus/plus and parentheses, e.g.
 * "hw.energy_j / hw.time_s" or "-(a.x + 2.5e-3) * b". A reference is a stat name,
 * optionally followed by "::field":
 *   scalar or formula  NAME                  its value
 *   vector             NAME or NAME::total   the sum of its elements
 *                      NAME::ELEM            one element (ELEM is the name or the index)
 *   histogram          NAME::samples|mean|stdev|min|max|underflow|overflow
 * The syntax is checked here (ES_EINVAL with the column of the error); references are
 * resolved only when the formula is evaluated, so a formula may be registered before
 * the stats it uses. Division by zero gives NaN. An unknown reference or a cycle of
 * formulas is an error at evaluation (stat_value, the writers, stat_dump_dir). */
stat_entry *stat_register_formula(stat_registry *r, const char *name, const char *unit,
                                  const char *desc, const char *expr, es_err *err);

/* ---- lookup ---------------------------------------------------------------------------- */

/* The entry registered as exactly `name`, or NULL. */
stat_entry *stat_find(const stat_registry *r, const char *name);
stat_kind stat_kind_of(const stat_entry *e);
const char *stat_name(const stat_entry *e);
const char *stat_unit(const stat_entry *e);
const char *stat_desc(const stat_entry *e);

/* The numeric value of `ref`, written as in a formula: "NAME" for a scalar, formula or
 * vector (its total), "NAME::FIELD" for a vector element or histogram field (see
 * stat_register_formula). Evaluates formulas. Returns ES_OK, or ES_EINVAL with a message
 * (unknown stat or field, a string or bare histogram, a formula error). */
int stat_value(const stat_registry *r, const char *ref, double *out, es_err *err);

/* ---- updating ---------------------------------------------------------------------------
 * The setters are meant for hot paths: no error returns, and calling one on an entry of
 * the wrong kind (or with an index out of range) is a programming error caught by an
 * assert; with NDEBUG it is ignored. */

/* Scalars. */
void stat_set(stat_entry *e, double v);
void stat_add(stat_entry *e, double dv);
double stat_get(const stat_entry *e);

/* Strings: the text is copied (any bytes; the writers escape it). Returns ES_OK or
 * ES_ENOMEM (the old value is kept). stat_get_string never returns NULL. */
int stat_set_string(stat_entry *e, const char *s);
const char *stat_get_string(const stat_entry *e);

/* Vectors, element i in [0, stat_vec_len(e)). */
void stat_vec_set(stat_entry *e, size_t i, double v);
void stat_vec_add(stat_entry *e, size_t i, double dv);
double stat_vec_get(const stat_entry *e, size_t i);
size_t stat_vec_len(const stat_entry *e);
double stat_vec_total(const stat_entry *e);

/* Histograms: add one sample x with weight w (a count, or e.g. a duration for
 * time-weighted occupancy). x must be finite and w finite and > 0; anything else is
 * dropped and ES_EINVAL returned, so one bad value cannot poison the mean. */
int stat_hist_sample(stat_entry *e, double x, double w);

typedef struct stat_hist_info {
    double samples;   /* sum of weights, under/overflow included */
    double mean;      /* weighted mean; NaN when empty */
    double stdev;     /* weighted population standard deviation; NaN when empty */
    double min, max;  /* smallest/largest sample; NaN when empty */
    double underflow; /* weight below lo */
    double overflow;  /* weight at or above hi */
    double lo, hi;
    size_t nbins;
} stat_hist_info;
void stat_hist_get(const stat_entry *e, stat_hist_info *out);
/* Weight in bucket i, [lo + i*(hi-lo)/nbins, lo + (i+1)*(hi-lo)/nbins). */
double stat_hist_bucket(const stat_entry *e, size_t i);

/* Zero every scalar, vector and histogram (e.g. after a warm-up phase). Strings keep
 * their value; formulas follow their inputs. */
void stat_reset(stat_registry *r);

/* ---- writing ----------------------------------------------------------------------------
 * All writers list entries sorted by name (byte order), so the output depends only on
 * names and values, never on registration order. Numbers use stat_format_number. They
 * evaluate every formula before writing anything, so a formula error (returned as
 * ES_EINVAL) leaves the stream untouched; a stream error returns ES_EIO. */

/* Format v so that strtod reads back exactly v: integral values below 2^53 in magnitude
 * as integers ("42", never "-0"), others in the shortest of %.15g/%.16g/%.17g that
 * round-trips, non-finite as "nan", "inf", "-inf". buf needs 32 bytes; returns buf. */
char *stat_format_number(char buf[32], double v);

/* stats.txt in gem5's layout: a "Begin Simulation Statistics" line, one line per value
 * ("name  value  # description (unit)"; vectors as name::ELEM lines then name::total,
 * histograms as name::samples, ::mean, ::stdev, ::min, ::max, ::underflow, one
 * name::LO-HI line per bucket, ::overflow), a blank line and the "End" line.
 * Strings are written double-quoted with JSON escapes so each stays on one line. */
int stat_write_txt(const stat_registry *r, FILE *f, es_err *err);

/* One metadata field beyond the fixed ones: a string when str != NULL, else num. */
typedef struct stat_meta_field {
    const char *key;
    const char *str;
    double num;
} stat_meta_field;

/* Run metadata written as the "meta" object of stats.json. Strings may be NULL (written
 * as null). events_per_s is derived as events / host_seconds (null when host_seconds is
 * not > 0). Host time varies between identical runs: compare stats.json files after
 * removing meta.host_seconds and meta.events_per_s. */
typedef struct stat_meta {
    const char *version;          /* program version, e.g. PACKAGE_VERSION */
    uint64_t seed;                /* global random seed */
    const char *config_hash;      /* hash of the effective configuration */
    const char *command_line;     /* the command as typed */
    double host_seconds;          /* wall-clock run time */
    uint64_t events;              /* simulation events executed */
    const stat_meta_field *extra; /* n_extra more fields, written sorted by key after the */
    size_t n_extra;               /* fixed ones; keys must be distinct and not fixed ones */
} stat_meta;

/* stats.json: one object, 2-space indented. "meta" comes first (omitted when meta is
 * NULL), then the stats nested by the dots of their names, keys sorted:
 *   scalar/formula  number (null for NaN or infinity)      string  JSON string
 *   vector          {"values": {"ELEM": x, ...} or [x, ...], "total": t}
 *   histogram       {"samples", "mean", "stdev", "min", "max", "lo", "hi",
 *                    "underflow", "buckets": [w, ...], "overflow"}
 * Strings are escaped (quote, backslash, control characters); valid UTF-8 passes through
 * and invalid bytes become U+FFFD so the file is always valid JSON. ES_EINVAL for bad
 * meta extra keys. */
int stat_write_json(const stat_registry *r, const stat_meta *meta, FILE *f, es_err *err);

/* stats.csv in long format: header "name,element,value,unit", then one row per scalar,
 * string and formula (element empty), per vector element and total (element = name or
 * index, then "total"), per histogram field and bucket (element = field name or "LO-HI";
 * the unit only on fields measured in it: mean, stdev, min, max). String values are
 * always double-quoted (invalid UTF-8 in them becomes U+FFFD), other fields quoted only
 * when they need it (RFC 4180 rules, "\n" line ends). NaN is "nan". */
int stat_write_csv(const stat_registry *r, FILE *f, es_err *err);

/* Write stats.txt, stats.json and stats.csv into the existing directory dir (it is not
 * created). Each file is written to a temporary beside it, and the three are renamed into
 * place only after all of them were written and flushed, so a failure (missing or
 * unwritable directory, formula error, full disk) leaves no partial file and no
 * temporary, and files from an earlier dump stay as they were. Returns ES_OK, ES_EINVAL
 * or ES_EIO with a message. */
int stat_dump_dir(const stat_registry *r, const stat_meta *meta, const char *dir, es_err *err);

#endif
