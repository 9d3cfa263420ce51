/* sweep_internal.h - what the parts of the sweep share (not a public header; sweep.h is the
 * API): the loaded sweep (sweep_load.c parses it, sweep.c binds its points, sweep_run.c runs
 * one point in a child process, sweep_results.c writes the results and the Pareto front). */
#ifndef ES_SWEEP_INTERNAL_H
#define ES_SWEEP_INTERNAL_H

#include <stddef.h>

#include "sbuf.h"
#include "sweep.h"

#define SW_MAX_POINTS 10000000u /* hard bound; the working limit is sw_max_points() */
/* Points (and values of one axis) a sweep may have: ESSIM_MAX_SWEEP_POINTS, default 10^6,
 * at most SW_MAX_POINTS. Checked before anything is expanded. */
size_t sw_max_points(void);

typedef struct sw_column {
    char *key;
    int dim;
    size_t n;
    char **set;              /* value as written after "KEY=" (a YAML flow node) */
    char **show;             /* value as shown in the results */
    const cfg_node **origin; /* where each value comes from (for error messages) */
} sw_column;

/* One override of the base, with where it was written. */
typedef struct sw_set {
    char *text;             /* "key=value" */
    const cfg_node *origin; /* NULL for --set */
} sw_set;

struct sw_sweep {
    cfg_doc *doc; /* the sweep file itself (nodes stay valid for messages) */
    char *path;
    char *command;
    char *trace;
    uint64_t seed;
    int seed_swept;
    char *base_text; /* "version: 1\ninclude: [...]" loaded relative to the sweep file */
    sw_set *base_sets;
    size_t nbase_sets;
    sw_column *cols;
    size_t ncols;
    size_t ndims;
    size_t dim_size[64];
    size_t npoints;
    char **metrics; /* explicit list, or NULL for the defaults */
    size_t nmetrics;
    char **obj_metric;
    int *obj_goal;
    size_t nobj;
    char (*hash)[17]; /* per point, after sw_validate */
    /* command: simulate, after sw_validate: which points replay the trace and which, their
     * crossbar geometry differing from the trace's, train again with `essim run`. */
    char *trace_yaml;     /* the trace's recorded configuration (the recipe to train with) */
    unsigned char *train; /* per point: 1 trains again, 0 replays */
    char **reason;        /* per point: why it trains again (map_check_trace), else NULL */
    size_t ntrain;
    uint64_t trace_seed; /* the seed the trace was recorded with */
};

static const char *const default_metrics[] = {
    "hw.time_s",
    "hw.energy_j",
    "hw.energy_j_by_phase.forward",
    "hw.energy_j_by_phase.backward",
    "hw.energy_j_by_phase.gradient",
    "hw.energy_j_by_phase.update",
    "hw.area_mm2",
    "hw.power_w_avg",
    "train.test_accuracy_final",
    "writes.mean",
    "writes.max",
    "lifetime.runs_to_first_failure",
};
static const struct {
    const char *metric;
    int goal;
} default_objectives[] = {
    {"hw.time_s", SW_GOAL_MIN},
    {"hw.energy_j", SW_GOAL_MIN},
    {"lifetime.runs_to_first_failure", SW_GOAL_MAX},
    {"train.test_accuracy_final", SW_GOAL_MAX},
};

/* snprintf that truncates silently (paths and messages are bounded; a truncated one fails
 * later with a clear error rather than here). */
void sw_fmt(char *buf, size_t len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void sw_flow_text(sbuf *b, const cfg_node *n);
void sw_point_name(size_t i, char *buf, size_t len);
char *sw_slurp(const char *path, size_t *len);
char *sw_json_string(const char *json, const char *key);
long sw_json_int(const char *json, const char *key, long def);

#endif
