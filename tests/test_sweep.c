/* test_sweep.c - sweep files: axis expansion (grid, zip, ranges, log counts, random samples)
 * against hand-written lists, per-point seeds independent of order, per-point
 * configurations, the configuration of a replay point that trains again, the Pareto front
 * on a hand-made set, and sweep-file errors with line:column. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep.h"
#include "tap.h"

/* Load a sweep from text; NULL (and a failed check) on error. */
static sw_sweep *load(const char *text)
{
    sw_sweep *sw = NULL;
    es_err err;
    es_err_clear(&err);
    if (!CHECK_MSG(sw_load_string(text, "t.yaml", NULL, 0, &sw, &err) == ES_OK, "load: %s",
                   err.msg))
        return NULL;
    return sw;
}

/* The values of column k over all points, joined by spaces. */
static const char *column(const sw_sweep *sw, size_t k)
{
    static char buf[4096];
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sw_point_count(sw); i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? " " : "",
                              sw_point_value(sw, i, k));
    return buf;
}

/* The error message of loading (and validating) text; "" when it loads fine. */
static const char *load_error(const char *text)
{
    static es_err err;
    sw_sweep *sw = NULL;
    es_err_clear(&err);
    int rc = sw_load_string(text, "t.yaml", NULL, 0, &sw, &err);
    if (rc == ES_OK) rc = sw_validate(sw, NULL, &err);
    sw_destroy(sw);
    if (rc == ES_OK) return "";
    CHECK_INT(rc, ES_ECONFIG);
    return err.msg;
}

static void test_grid(void)
{
    sw_sweep *sw = load("version: 1\ncommand: train\naxes:\n"
                        "  - key: arch.xbar.rows\n    values: [64, 128]\n"
                        "  - key: policy.name\n    values: [sgd, ssgp, essence]\n");
    if (!sw) return;
    CHECK_UINT(sw_point_count(sw), 6);
    CHECK_UINT(sw_column_count(sw), 2);
    CHECK_STR(sw_column_key(sw, 0), "arch.xbar.rows");
    /* the first axis varies slowest, like nested loops in the order written */
    CHECK_STR(column(sw, 0), "64 64 64 128 128 128");
    CHECK_STR(column(sw, 1), "sgd ssgp essence sgd ssgp essence");
    CHECK_STR(sw_command(sw), "train");
    sw_destroy(sw);
}

static void test_zip(void)
{
    sw_sweep *sw = load("version: 1\ncommand: train\naxes:\n"
                        "  - key: arch.xbar.rows\n    values: [64, 128, 256]\n    mode: zip\n"
                        "  - key: policy.density\n    values: [0.1, 0.2]\n"
                        "  - key: arch.xbar.cols\n    values: [32, 64, 128]\n    mode: zip\n");
    if (!sw) return;
    CHECK_UINT(sw_point_count(sw), 6);
    CHECK_STR(column(sw, 0), "64 64 128 128 256 256");
    CHECK_STR(column(sw, 1), "0.1 0.2 0.1 0.2 0.1 0.2");
    CHECK_STR(column(sw, 2), "32 32 64 64 128 128");
    sw_destroy(sw);
    CHECK_CONTAINS(
        load_error("version: 1\ncommand: train\naxes:\n"
                   "  - key: arch.xbar.rows\n    values: [64, 128]\n    mode: zip\n"
                   "  - key: arch.xbar.cols\n    values: [32, 64, 128]\n    mode: zip\n"),
        "t.yaml:7:10: error: zip axis 'arch.xbar.cols' has 3 values but zip axis "
        "'arch.xbar.rows' has 2");
}

static void test_ranges(void)
{
    sw_sweep *sw = load("version: 1\ncommand: train\naxes:\n"
                        "  - key: policy.density\n    range: {from: 0.05, to: 0.2, step: 0.05}\n"
                        "    mode: zip\n"
                        "  - key: arch.adc.bits\n    range: {from: 4, to: 10, count: 4}\n"
                        "    mode: zip\n");
    if (!sw) return;
    CHECK_STR(column(sw, 0), "0.05 0.1 0.15 0.2");
    CHECK_STR(column(sw, 1), "4 6 8 10");
    sw_destroy(sw);
    sw = load(
        "version: 1\ncommand: train\naxes:\n"
        "  - key: arch.cell.endurance_mean\n    range: {from: 1e6, to: 1e9, count: 4, log: true}\n"
        "  - key: arch.xbar.rows\n    range: {from: 512, to: 64, count: 4, log: true}\n");
    if (!sw) return;
    CHECK_UINT(sw_point_count(sw), 16);
    CHECK_STR(sw_point_value(sw, 0, 0), "1000000");
    CHECK_STR(sw_point_value(sw, 4, 0), "10000000");
    CHECK_STR(sw_point_value(sw, 8, 0), "100000000");
    CHECK_STR(sw_point_value(sw, 12, 0), "1000000000");
    CHECK_STR(sw_point_value(sw, 0, 1), "512");
    CHECK_STR(sw_point_value(sw, 1, 1), "256");
    CHECK_STR(sw_point_value(sw, 2, 1), "128");
    CHECK_STR(sw_point_value(sw, 3, 1), "64");
    sw_destroy(sw);
    /* a descending step, a quantity with units */
    sw = load("version: 1\ncommand: train\naxes:\n"
              "  - key: train.batch\n    range: {from: 64, to: 16, step: -16}\n"
              "  - key: arch.chip.xbar_cycle\n    range: {from: 50ns, to: 100ns, count: 2}\n");
    if (!sw) return;
    CHECK_UINT(sw_point_count(sw), 8);
    CHECK_STR(sw_point_value(sw, 0, 0), "64");
    CHECK_STR(sw_point_value(sw, 6, 0), "16");
    CHECK_STR(sw_point_value(sw, 0, 1), "50ns");
    CHECK_STR(sw_point_value(sw, 1, 1), "100ns");
    sw_destroy(sw);
    /* integer rounding drops repeats */
    double *v = NULL;
    size_t n = 0;
    CHECK_INT(sw_range_expand(1, 3, 0, 5, 0, 1, &v, &n, NULL), ES_OK);
    if (CHECK_UINT(n, 3)) CHECK(v[0] == 1 && v[1] == 2 && v[2] == 3);
    free(v);
    CHECK_INT(sw_range_expand(0, 1, 0.25, 0, 0, 0, &v, &n, NULL), ES_OK);
    if (CHECK_UINT(n, 5)) CHECK_NEAR(v[4], 1.0, 1e-12);
    free(v);
    CHECK_INT(sw_range_expand(0, 1, -0.25, 0, 0, 0, &v, &n, NULL), ES_ECONFIG);
    CHECK_INT(sw_range_expand(0, 10, 0, 3, 1, 0, &v, &n, NULL), ES_ECONFIG); /* log from 0 */
}

static void test_seeds(void)
{
    uint64_t fwd[64], rev[64];
    for (int i = 0; i < 64; i++)
        fwd[i] = sw_derive_seed(7, (uint64_t)i);
    for (int i = 63; i >= 0; i--)
        rev[i] = sw_derive_seed(7, (uint64_t)i);
    int same = 1, distinct = 1, small = 1;
    for (int i = 0; i < 64; i++) {
        same &= fwd[i] == rev[i];
        small &= fwd[i] < (1ULL << 53);
        for (int j = 0; j < i; j++)
            distinct &= fwd[i] != fwd[j];
    }
    CHECK(same);
    CHECK(distinct);
    CHECK(small);
    CHECK(sw_derive_seed(8, 0) != sw_derive_seed(7, 0));
    /* a point's configuration carries its derived seed, whatever else is evaluated first */
    sw_sweep *sw = load("version: 1\ncommand: train\nseed: 7\naxes:\n"
                        "  - key: policy.density\n    values: [0.1, 0.2, 0.3]\n");
    if (!sw) return;
    essim_config a, b;
    CHECK_INT(sw_point_config(sw, 2, &a, NULL), ES_OK);
    CHECK_INT(sw_point_config(sw, 0, &b, NULL), ES_OK);
    CHECK_UINT((uint64_t)a.seed, fwd[2]);
    CHECK_UINT((uint64_t)b.seed, fwd[0]);
    CHECK_UINT(sw_point_seed(sw, 1), fwd[1]);
    CHECK_NEAR(a.policy.density, 0.3, 1e-12);
    cfg_free(&a);
    cfg_free(&b);
    sw_destroy(sw);
    /* sweeping `seed` explicitly uses the swept values */
    sw = load("version: 1\ncommand: train\naxes:\n  - key: seed\n    values: [5, 9]\n");
    if (!sw) return;
    CHECK(sw_seed_swept(sw));
    CHECK_UINT(sw_point_seed(sw, 1), 9);
    CHECK_INT(sw_point_config(sw, 1, &a, NULL), ES_OK);
    CHECK_INT(a.seed, 9);
    cfg_free(&a);
    sw_destroy(sw);
}

static void test_random(void)
{
    const char *text = "version: 1\ncommand: train\nseed: 3\naxes:\n"
                       "  - key: policy.name\n    values: [sgd, essence]\n"
                       "random:\n  samples: 5\n  axes:\n"
                       "    - {key: policy.density, min: 0.01, max: 0.5, log: true}\n"
                       "    - {key: arch.xbar.rows, min: 32, max: 256}\n";
    sw_sweep *a = load(text), *b = load(text);
    if (!a || !b) {
        sw_destroy(a);
        sw_destroy(b);
        return;
    }
    CHECK_UINT(sw_point_count(a), 10);
    CHECK_UINT(sw_column_count(a), 3);
    int same = 1, in_range = 1, ints = 1, shared = 1;
    for (size_t i = 0; i < 10; i++) {
        for (size_t k = 0; k < 3; k++)
            same &= !strcmp(sw_point_value(a, i, k), sw_point_value(b, i, k));
        double d = atof(sw_point_value(a, i, 1));
        long r = atol(sw_point_value(a, i, 2));
        in_range &= d >= 0.01 && d <= 0.5 && r >= 32 && r <= 256;
        ints &= strspn(sw_point_value(a, i, 2), "0123456789") == strlen(sw_point_value(a, i, 2));
        /* sample j is the same for every grid point (common random numbers) */
        if (i >= 5) shared &= !strcmp(sw_point_value(a, i, 1), sw_point_value(a, i - 5, 1));
    }
    CHECK(same);
    CHECK(in_range);
    CHECK(ints);
    CHECK(shared);
    CHECK(strcmp(sw_point_value(a, 0, 1), sw_point_value(a, 1, 1)) != 0);
    sw_destroy(a);
    sw_destroy(b);
}

static void test_base_and_sets(void)
{
    char *sets[] = {"train.batch=16", "train.epochs=4"};
    sw_sweep *sw = NULL;
    es_err err;
    es_err_clear(&err);
    int rc = sw_load_string("version: 1\ncommand: train\nbase:\n  train:\n    epochs: 3\n"
                            "    dataset: synthetic\n    milestones: [1, 2]\n"
                            "  policy: {name: essence}\n"
                            "axes:\n  - key: train.batch\n    values: [8, 32]\n",
                            "t.yaml", sets, 2, &sw, &err);
    if (!CHECK_MSG(rc == ES_OK, "%s", err.msg)) return;
    CHECK_INT(sw_validate(sw, NULL, &err), ES_OK);
    essim_config c;
    if (CHECK_INT(sw_point_config(sw, 1, &c, &err), ES_OK)) {
        CHECK_INT(c.train.epochs, 4); /* --set over the base */
        CHECK_INT(c.train.batch, 32); /* the axis over --set */
        CHECK_INT(c.train.dataset, CFG_DS_SYNTHETIC);
        CHECK_INT(c.policy.name, cfg_choice_index("policy.name", "essence"));
        CHECK_UINT(c.train.milestones.n, 2);
        cfg_free(&c);
    }
    CHECK(strlen(sw_point_hash(sw, 0)) == 16);
    CHECK(strcmp(sw_point_hash(sw, 0), sw_point_hash(sw, 1)) != 0);
    sw_destroy(sw);
}

static void test_pareto(void)
{
    /* (time: min, accuracy: max) */
    const double v[] = {1,   0.5, /* fastest */
                        2,   0.9, /* most accurate */
                        2,   0.8, /* dominated by 1 */
                        3,   0.9, /* dominated by 1 (slower, same accuracy) */
                        1,   0.5, /* equal to 0: neither dominates */
                        1.5, 0.7};
    const int goal[] = {SW_GOAL_MIN, SW_GOAL_MAX};
    int front[6];
    sw_pareto(6, 2, v, goal, front);
    CHECK_INT(front[0], 1);
    CHECK_INT(front[1], 1);
    CHECK_INT(front[2], 0);
    CHECK_INT(front[3], 0);
    CHECK_INT(front[4], 1);
    CHECK_INT(front[5], 1);
    /* maximise both: only (3, 0.9) survives */
    const int goal2[] = {SW_GOAL_MAX, SW_GOAL_MAX};
    sw_pareto(6, 2, v, goal2, front);
    CHECK(front[3] && !front[0] && !front[1] && !front[2] && !front[4] && !front[5]);
    sw_pareto(3, 0, v, goal, front);
    CHECK(front[0] && front[1] && front[2]);
}

/* A point of a simulate sweep that trains again: the trace's recipe, the point's hardware,
 * the axis values on top. */
static void test_train_config(void)
{
    const char *trace = "version: 1\nseed: 42\nthreads: 2\n"
                        "train: {epochs: 3, batch: 16, dataset: synthetic}\n"
                        "policy: {name: essence, density: 0.3, granularity: crossbar}\n"
                        "arch: {xbar: {rows: 64, cols: 64}, wdrv: {per_tile: 4}}\n"
                        "sim: {chunk: 8}\n";
    cfg_doc *pd = NULL;
    essim_config pt, c;
    es_err err;
    es_err_clear(&err);
    if (!CHECK_INT(cfg_doc_load_string("version: 1\nseed: 7\ntrain: {epochs: 1, batch: 64}\n"
                                       "policy: {name: sgd, density: 0.1, granularity: row}\n"
                                       "arch: {xbar: {rows: 256}}\n",
                                       "p.yaml", &pd, &err),
                   ES_OK) ||
        !CHECK_INT(cfg_bind(pd, &pt, &err), ES_OK)) {
        cfg_doc_destroy(pd);
        return;
    }
    char *ov[] = {"policy.density=0.05", "train.batch=8"};
    int rc = sw_train_config(trace, "t.trc", &pt, ov, 2, &c, NULL, &err);
    if (CHECK_MSG(rc == ES_OK, "%s", err.msg)) {
        /* the point's hardware, simulator settings, granularity and threads */
        CHECK_INT(c.arch.xbar.rows, 256);
        CHECK_INT(c.arch.xbar.cols, pt.arch.xbar.cols);
        CHECK_INT(c.arch.wdrv.per_tile, pt.arch.wdrv.per_tile);
        CHECK(pt.arch.wdrv.per_tile != 4);
        CHECK_INT(c.sim.chunk, pt.sim.chunk);
        CHECK_INT(c.policy.granularity, CFG_GRAN_ROW);
        CHECK_INT(c.threads, pt.threads);
        /* the trace's recipe and seed */
        CHECK_INT(c.train.epochs, 3);
        CHECK_INT(c.train.dataset, CFG_DS_SYNTHETIC);
        CHECK_INT(c.policy.name, cfg_choice_index("policy.name", "essence"));
        CHECK_INT(c.seed, 42);
        /* the axis values over both */
        CHECK_NEAR(c.policy.density, 0.05, 1e-12);
        CHECK_INT(c.train.batch, 8);
        cfg_free(&c);
    }
    /* a swept seed wins over the trace's */
    char *ov2[] = {"seed=9"};
    if (CHECK_INT(sw_train_config(trace, "t.trc", &pt, ov2, 1, &c, NULL, &err), ES_OK)) {
        CHECK_INT(c.seed, 9);
        cfg_free(&c);
    }
    /* with the point's own configuration as the trace's, the merge changes nothing: every
     * value read back from the dump is the same value */
    char *dump = NULL, h1[17], h2[17];
    size_t dlen = 0;
    FILE *mf = open_memstream(&dump, &dlen);
    if (CHECK(mf != NULL)) {
        cfg_dump(&pt, mf);
        fclose(mf);
        if (CHECK_INT(sw_train_config(dump, "t.trc", &pt, NULL, 0, &c, NULL, &err), ES_OK)) {
            cfg_hash(&pt, h1);
            cfg_hash(&c, h2);
            CHECK_STR(h2, h1);
            cfg_free(&c);
        }
        free(dump);
    }
    /* an invalid recorded configuration is reported where it is */
    rc =
        sw_train_config("version: 1\ntrain: {epochs: -1}\n", "t.trc", &pt, NULL, 0, &c, NULL, &err);
    CHECK_INT(rc, ES_ECONFIG);
    CHECK_CONTAINS(err.msg, "t.trc:2:");
    cfg_free(&pt);
    cfg_doc_destroy(pd);
}

static void test_errors(void)
{
    CHECK_CONTAINS(load_error("version: 1\ncommand: train\naxes:\n  - key: arch.xbar.nope\n"
                              "    values: [1, 2]\n"),
                   "t.yaml:4:10: error: unknown configuration key 'arch.xbar.nope'");
    CHECK_CONTAINS(load_error("version: 1\ncommand: train\naxis:\n  - key: seed\n"),
                   "t.yaml:3:1: error: unknown sweep key 'axis'");
    CHECK_CONTAINS(load_error("version: 1\ncommand: training\n"),
                   "t.yaml:2:10: error: command must be run, train or simulate");
    CHECK_CONTAINS(load_error("version: 1\ncommand: train\naxes:\n  - key: train.batch\n"
                              "    range: {from: 1, to: 4}\n"),
                   "t.yaml:5:12: error: range needs exactly one of 'step' and 'count'");
    CHECK_CONTAINS(load_error("version: 1\ncommand: train\naxes:\n  - key: policy.name\n"
                              "    range: {from: 1, to: 4, step: 1}\n"),
                   "t.yaml:5:12: error: a range needs a numeric key");
    CHECK_CONTAINS(load_error("version: 1\ncommand: train\naxes:\n  - key: train.batch\n"
                              "    values: []\n"),
                   "t.yaml:5:13: error: values must be a non-empty list");
    CHECK_CONTAINS(load_error("command: train\n"), "missing 'version: 1'");
    CHECK_CONTAINS(load_error("version: 1\ncommand: simulate\n"),
                   "t.yaml:2:10: error: command: simulate needs 'trace:'");
    CHECK_CONTAINS(load_error("version: 1\ncommand: train\nbase: nothere.yaml\n"),
                   "t.yaml:3:7: error: cannot read base configuration 'nothere.yaml'");
    CHECK_CONTAINS(load_error("version: 1\ncommand: train\naxes: [\n"), "t.yaml:");
    /* an invalid point is reported with its index, its overrides and the value's position */
    const char *e = load_error("version: 1\ncommand: train\naxes:\n  - key: policy.density\n"
                               "    values: [0.5, 2]\n");
    CHECK_CONTAINS(e, "point 1 (policy.density=2): t.yaml:5:19: error:");
    CHECK_CONTAINS(e, "policy.density");
    /* an invalid inline base value points at the base */
    e = load_error("version: 1\ncommand: train\nbase:\n  train: {epochs: -1}\n");
    CHECK_CONTAINS(e, "t.yaml:4:19: error:");
}

int main(int argc, char **argv)
{
    static const tap_test tests[] = {
        {"grid", test_grid},     {"zip", test_zip},
        {"ranges", test_ranges}, {"seeds", test_seeds},
        {"random", test_random}, {"base_and_sets", test_base_and_sets},
        {"pareto", test_pareto}, {"train_config", test_train_config},
        {"errors", test_errors},
    };
    return tap_main(tests, ES_ARRAY_LEN(tests), argc, argv);
}
