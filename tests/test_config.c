/* test_config.c - configuration: units, schema binding, every error path with its
 * file:line:col, includes and presets, --set, the dump as a valid input, the reference,
 * and the progress reporter. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "progress.h"
#include "tap.h"

static char *write_tmp(const char *name, const char *text)
{
    static char path[4][512];
    static int slot;
    char *p = path[slot++ % 4];
    snprintf(p, 512, "%s/%s", tap_tmpdir(), name);
    FILE *fp = fopen(p, "w");
    fputs(text, fp);
    fclose(fp);
    return p;
}

/* Load text as file `name` and bind; returns status, message in err. */
static int load_bind(const char *name, const char *text, essim_config *cfg, es_err *err)
{
    cfg_doc *doc = NULL;
    es_err_clear(err);
    int rc = cfg_doc_load(write_tmp(name, text), &doc, err);
    if (rc == ES_OK) rc = cfg_bind(doc, cfg, err);
    cfg_doc_destroy(doc);
    return rc;
}

static void test_units(void)
{
    struct {
        const char *text;
        cfg_dim dim;
        double want;
    } ok[] = {
        {"100ns", CFG_DIM_TIME, 100000.0},   {"1.5 us", CFG_DIM_TIME, 1.5e6},
        {"2s", CFG_DIM_TIME, 2e12},          {"1.28GHz", CFG_DIM_FREQ, 1.28e9},
        {"16mW", CFG_DIM_POWER, 0.016},      {"10uW", CFG_DIM_POWER, 1e-5},
        {"0.5pJ", CFG_DIM_ENERGY, 0.5},      {"21.1nJ", CFG_DIM_ENERGY, 21100.0},
        {"64KiB", CFG_DIM_SIZE, 65536.0},    {"2KB", CFG_DIM_SIZE, 2048.0},
        {"0.0096mm2", CFG_DIM_AREA, 0.0096}, {"25um2", CFG_DIM_AREA, 25e-6},
        {"2V", CFG_DIM_VOLTAGE, 2.0},        {"6kOhm", CFG_DIM_RESISTANCE, 6000.0},
        {"10fF", CFG_DIM_CAPACITANCE, 1e-14}, {"6.4GB/s", CFG_DIM_BANDWIDTH, 6.4e9},
        {"0", CFG_DIM_TIME, 0.0},
    };
    for (size_t i = 0; i < ES_ARRAY_LEN(ok); i++) {
        double v = -1;
        es_err err;
        es_err_clear(&err);
        int rc = cfg_parse_quantity(ok[i].text, ok[i].dim, &v, &err);
        CHECK_MSG(rc == ES_OK && fabs(v - ok[i].want) <= 1e-12 * fabs(ok[i].want),
                  "parse %s -> %g (want %g) %s", ok[i].text, v, ok[i].want, err.msg);
    }
    const char *bad[] = {"100", "100nV", "fast", "", "1e999ns", "nanns"};
    for (size_t i = 0; i < ES_ARRAY_LEN(bad); i++) {
        double v;
        es_err err;
        es_err_clear(&err);
        CHECK_MSG(cfg_parse_quantity(bad[i], CFG_DIM_TIME, &v, &err) == ES_ECONFIG && err.msg[0],
                  "'%s' rejected: %s", bad[i], err.msg);
    }
    es_err err;
    double v;
    cfg_parse_quantity("3mW", CFG_DIM_TIME, &v, &err);
    CHECK_CONTAINS(err.msg, "that is a power, expected a time");
}

static void test_format_roundtrip(void)
{
    /* Every formatted quantity parses back to the same double, for awkward values too. */
    double vals[] = {100000.0, 781.25, 0.083, 1.28e9, 0.0012, 25e-6, 1e-14, 65536.0,
                     3.0, 1.0 / 3.0, 123456789.123, 6e-21, 7.5e15};
    for (int d = CFG_DIM_TIME; d < CFG_DIM_COUNT_; d++) {
        for (size_t i = 0; i < ES_ARRAY_LEN(vals); i++) {
            char buf[64];
            double back = -1;
            cfg_format_quantity(vals[i], (cfg_dim)d, buf, sizeof buf);
            int rc = cfg_parse_quantity(buf, (cfg_dim)d, &back, NULL);
            CHECK_MSG(rc == ES_OK && back == vals[i], "%s %.17g -> '%s' -> %.17g",
                      cfg_dim_name((cfg_dim)d), vals[i], buf, back);
        }
    }
    char buf[64];
    cfg_format_quantity(100000.0, CFG_DIM_TIME, buf, sizeof buf);
    CHECK_STR(buf, "100ns");
    cfg_format_quantity(0.083, CFG_DIM_AREA, buf, sizeof buf);
    CHECK_STR(buf, "0.083mm2");
    cfg_format_real(100.0, buf, sizeof buf);
    CHECK_STR(buf, "100");
    cfg_format_real(1e20, buf, sizeof buf);
    CHECK_STR(buf, "1e20");
}

static void test_defaults_and_schema(void)
{
    essim_config cfg;
    es_err err;
    CHECK(cfg_defaults(&cfg, &err) == ES_OK);
    CHECK_INT(cfg.version, 1);
    CHECK_INT(cfg.arch.xbar.rows, 128);
    CHECK_INT(cfg.arch.chip.tiles, 168);
    CHECK_NEAR(cfg.arch.chip.xbar_cycle_ps, 100000.0, 0);
    CHECK_NEAR(cfg.arch.edram.size, 65536.0, 0);
    CHECK_NEAR(cfg.arch.adc.sample_rate_hz, 1.28e9, 0);
    CHECK_STR(cfg.arch.name, "isaac-train");
    /* The built-in defaults are parsed once per process and kept: a binding owns its values,
       so changing and freeing one leaves the next the same. */
    char h1[17], h2[17];
    cfg_hash(&cfg, h1);
    free(cfg.arch.name);
    cfg.arch.name = es_strdup("changed");
    cfg.arch.xbar.rows = 7;
    cfg_free(&cfg);
    essim_config again;
    CHECK(cfg_defaults(&again, &err) == ES_OK);
    cfg_hash(&again, h2);
    CHECK_STR(h2, h1);
    CHECK_STR(again.arch.name, "isaac-train");
    CHECK_INT(again.arch.xbar.rows, 128);
    cfg_free(&again);
    /* Sections are contiguous in the table (the dump depends on it) and paths unique. */
    size_t n;
    const cfg_key *k = cfg_schema(&n);
    int contiguous = 1, unique = 1;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            if (!strcmp(k[i].path, k[j].path)) unique = 0;
            const char *di = strrchr(k[i].path, '.'), *dj = strrchr(k[j].path, '.');
            size_t li = di ? (size_t)(di - k[i].path) : 0, lj = dj ? (size_t)(dj - k[j].path) : 0;
            if (j > i + 1 && li && li == lj && !strncmp(k[i].path, k[j].path, li)) {
                const char *dm = strrchr(k[j - 1].path, '.');
                size_t lm = dm ? (size_t)(dm - k[j - 1].path) : 0;
                if (lm != li || strncmp(k[j - 1].path, k[i].path, li)) contiguous = 0;
            }
        }
        CHECK_MSG(k[i].help && *k[i].help, "%s has help", k[i].path);
    }
    CHECK(unique);
    CHECK(contiguous);
}

static void test_bind_values(void)
{
    essim_config cfg;
    es_err err;
    int rc = load_bind("ok.yaml",
                       "version: 1\nseed: 42\narch:\n  xbar:\n    rows: 256\n    cols: 1_024\n"
                       "  adc:\n    sample_rate: 500MHz\n  cell:\n    endurance_mean: 1e6\n"
                       "    endurance_sigma_log10: 50%\n",
                       &cfg, &err);
    if (!CHECK_MSG(rc == ES_OK, "bind ok.yaml: %s", err.msg)) return;
    CHECK_INT(cfg.seed, 42);
    CHECK_INT(cfg.arch.xbar.rows, 256);
    CHECK_INT(cfg.arch.xbar.cols, 1024);
    CHECK_NEAR(cfg.arch.adc.sample_rate_hz, 5e8, 0);
    CHECK_NEAR(cfg.arch.cell.endurance_mean, 1e6, 0);
    CHECK_NEAR(cfg.arch.cell.endurance_sigma_log10, 0.5, 1e-15);
    CHECK_INT(cfg.arch.xbar.bits_per_cell, 2); /* default kept */
    cfg_free(&cfg);
}

static void check_error(const char *name, const char *text, const char *want_loc,
                        const char *want_text)
{
    essim_config cfg;
    es_err err;
    int rc = load_bind(name, text, &cfg, &err);
    if (rc == ES_OK) cfg_free(&cfg);
    CHECK_MSG(rc == ES_ECONFIG, "%s rejected with ES_ECONFIG (rc %d)", name, rc);
    char loc[600];
    snprintf(loc, sizeof loc, "%s/%s", tap_tmpdir(), want_loc);
    CHECK_MSG(strncmp(err.msg, loc, strlen(loc)) == 0, "'%s' starts with '%s'", err.msg, loc);
    CHECK_CONTAINS(err.msg, want_text);
}

static void test_errors(void)
{
    check_error("unknown.yaml", "version: 1\narch:\n  xbar:\n    rowz: 128\n",
                "unknown.yaml:4:5: error: ", "unknown key 'rowz' in section arch.xbar (did you mean 'rows'?)");
    check_error("unknown_top.yaml", "version: 1\nsed: 3\n", "unknown_top.yaml:2:1: error: ",
                "did you mean 'seed'");
    check_error("badunit.yaml", "version: 1\narch:\n  chip:\n    xbar_cycle: 100nV\n",
                "badunit.yaml:4:17: error: ", "bad unit 'nV'");
    check_error("nounit.yaml", "version: 1\narch:\n  adc:\n    leakage: 16\n",
                "nounit.yaml:4:14: error: ", "missing unit");
    check_error("syntax.yaml", "version: 1\narch:\n  xbar: [1, 2\n", "syntax.yaml:4:1: error: ",
                "YAML syntax error");
    check_error("syntax2.yaml", "version: 1\narch:\n  xbar:\n    rows: 1\n   cols: 2\n",
                "syntax2.yaml:5:", "YAML syntax error");
    check_error("dup.yaml", "version: 1\nseed: 1\nseed: 2\n", "dup.yaml:3:1: error: ",
                "duplicate key 'seed' (first defined at line 2)");
    /* a map of more than 16 keys (hashed duplicate check): rows again at line 21 */
    check_error("dupbig.yaml",
                "version: 1\narch:\n  xbar:\n    rows: 128\n    cols: 128\n"
                "    a1: 1\n    a2: 1\n    a3: 1\n    a4: 1\n    a5: 1\n    a6: 1\n"
                "    a7: 1\n    a8: 1\n    a9: 1\n    a10: 1\n    a11: 1\n    a12: 1\n"
                "    a13: 1\n    a14: 1\n    a15: 1\n    rows: 64\n",
                "dupbig.yaml:21:5: error: ", "duplicate key 'rows' (first defined at line 4)");
    check_error("merge.yaml", "version: 1\nb: &b {rows: 1}\narch:\n  xbar:\n    <<: *b\n",
                "merge.yaml:5:5: error: ", "merge keys");
    check_error("range.yaml", "version: 1\narch:\n  xbar:\n    rows: 100000\n",
                "range.yaml:4:11: error: ", "out of range [1, 8192]");
    check_error("type.yaml", "version: 1\narch:\n  xbar:\n    rows: many\n",
                "type.yaml:4:11: error: ", "expected an integer, got 'many'");
    check_error("frac.yaml", "version: 1\narch:\n  xbar:\n    rows: 12.5\n",
                "frac.yaml:4:11: error: ", "expected an integer");
    check_error("section.yaml", "version: 1\narch: 3\n", "section.yaml:2:7: error: ",
                "is a section");
    check_error("enum.yaml", "version: 1\nsim:\n  progress: loud\n", "enum.yaml:3:13: error: ",
                "not one of: auto,always,never");
    check_error("noversion.yaml", "seed: 1\n", "noversion.yaml:1:1: error: ",
                "missing 'version: 1'");
    check_error("version2.yaml", "version: 2\n", "version2.yaml:1:10: error: ",
                "unsupported configuration version");
    check_error("twodocs.yaml", "version: 1\n---\nversion: 1\n", "twodocs.yaml:3:1: error: ",
                "more than one YAML document");
    check_error("cross.yaml", "version: 1\narch:\n  cell:\n    r_on: 1MOhm\n    r_off: 10kOhm\n",
                "cross.yaml:5:12: error: ", "r_off must be larger than arch.cell.r_on");
    check_error("notmap.yaml", "- 1\n- 2\n", "notmap.yaml:1:1: error: ", "must be a mapping");

    es_err err;
    cfg_doc *doc = NULL;
    CHECK(cfg_doc_load("/nonexistent/essim.yaml", &doc, &err) == ES_EIO);
    CHECK_CONTAINS(err.msg, "/nonexistent/essim.yaml: cannot open");
}

static void test_includes(void)
{
    write_tmp("base.yaml", "version: 1\nseed: 7\narch:\n  xbar:\n    rows: 64\n    cols: 64\n");
    essim_config cfg;
    es_err err;
    int rc = load_bind("child.yaml", "version: 1\ninclude: base.yaml\narch:\n  xbar:\n    cols: 32\n",
                       &cfg, &err);
    if (CHECK_MSG(rc == ES_OK, "include: %s", err.msg)) {
        CHECK_INT(cfg.seed, 7);             /* from the included file */
        CHECK_INT(cfg.arch.xbar.rows, 64);  /* deep merge keeps siblings */
        CHECK_INT(cfg.arch.xbar.cols, 32);  /* the including file overrides */
        cfg_free(&cfg);
    }
    check_error("cycle.yaml", "version: 1\ninclude: cycle.yaml\n", "cycle.yaml:2:10: error: ",
                "include cycle");
    check_error("missing_inc.yaml", "version: 1\ninclude: nothere.yaml\n",
                "missing_inc.yaml:2:10: error: ", "nothere.yaml': No such file");
    write_tmp("badinc.yaml", "version: 1\narch:\n  foo: 1\n");
    check_error("usesbad.yaml", "version: 1\ninclude: badinc.yaml\n", "badinc.yaml:3:3: error: ",
                "unknown key 'foo'");
    /* preset: found through $ESSIM_PRESET_PATH */
    write_tmp("mychip.yaml", "version: 1\narch:\n  name: mychip\n  xbar:\n    rows: 512\n");
    setenv("ESSIM_PRESET_PATH", tap_tmpdir(), 1);
    rc = load_bind("usepreset.yaml", "version: 1\npreset: mychip\n", &cfg, &err);
    if (CHECK_MSG(rc == ES_OK, "preset: %s", err.msg)) {
        CHECK_INT(cfg.arch.xbar.rows, 512);
        CHECK_STR(cfg.arch.name, "mychip");
        cfg_free(&cfg);
    }
    check_error("nopreset.yaml", "version: 1\npreset: nosuchchip\n", "nopreset.yaml:2:9: error: ",
                "unknown preset 'nosuchchip'");
    unsetenv("ESSIM_PRESET_PATH");
}

static void test_set_overrides(void)
{
    cfg_doc *doc = NULL;
    es_err err;
    essim_config cfg;
    CHECK(cfg_doc_create_empty(&doc, &err) == ES_OK);
    CHECK(cfg_doc_set(doc, "arch.xbar.rows=256", &err) == ES_OK);
    CHECK(cfg_doc_set(doc, "arch.adc.fom=10fJ", &err) == ES_OK);
    CHECK(cfg_doc_set(doc, "arch.xbar.rows=512", &err) == ES_OK); /* later wins */
    if (CHECK(cfg_bind(doc, &cfg, &err) == ES_OK)) {
        CHECK_INT(cfg.arch.xbar.rows, 512);
        CHECK_NEAR(cfg.arch.adc.fom_pj, 0.01, 1e-15);
        cfg_free(&cfg);
    }
    cfg_doc_destroy(doc);

    CHECK(cfg_doc_create_empty(&doc, &err) == ES_OK);
    CHECK(cfg_doc_set(doc, "arch.xbar.rows=abc", &err) == ES_OK);
    CHECK(cfg_bind(doc, &cfg, &err) == ES_ECONFIG);
    CHECK_CONTAINS(err.msg, "--set arch.xbar.rows=abc: error: arch.xbar.rows: expected an integer");
    cfg_doc_destroy(doc);

    CHECK(cfg_doc_create_empty(&doc, &err) == ES_OK);
    CHECK(cfg_doc_set(doc, "noequals", &err) == ES_EUSAGE);
    CHECK(cfg_doc_set(doc, "version=2", &err) == ES_EUSAGE);
    CHECK(cfg_doc_set(doc, "arch.xbar.rowz=1", &err) == ES_OK);
    CHECK(cfg_bind(doc, &cfg, &err) == ES_ECONFIG);
    CHECK_CONTAINS(err.msg, "unknown key 'rowz'");
    cfg_doc_destroy(doc);
}

static void test_dump_roundtrip(void)
{
    essim_config a, b;
    es_err err;
    int rc = load_bind("rt.yaml",
                       "version: 1\nseed: 99\narch:\n  name: \"odd \\\"name\\\"\"\n  chip:\n"
                       "    xbar_cycle: 781.25ps\n  adc:\n    area: 0.0096mm2\n",
                       &a, &err);
    if (!CHECK_MSG(rc == ES_OK, "%s", err.msg)) return;
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    cfg_dump(&a, fp);
    fclose(fp);
    rc = load_bind("rt2.yaml", buf, &b, &err);
    if (CHECK_MSG(rc == ES_OK, "dump reloads: %s", err.msg)) {
        char ha[17], hb[17];
        cfg_hash(&a, ha);
        cfg_hash(&b, hb);
        CHECK_STR(ha, hb);
        CHECK_STR(b.arch.name, "odd \"name\"");
        CHECK(b.arch.chip.xbar_cycle_ps == 781.25);
        CHECK(b.arch.adc.area_mm2 == 0.0096);
        CHECK_INT(b.seed, 99);
        cfg_free(&b);
    }
    CHECK_CONTAINS(buf, "  chip:\n    tiles: 168\n");
    CHECK_CONTAINS(buf, "xbar_cycle: 781.25ps\n");
    /* A change anywhere changes the hash. */
    char h1[17], h2[17];
    cfg_hash(&a, h1);
    a.arch.xbar.rows++;
    cfg_hash(&a, h2);
    CHECK(strcmp(h1, h2) != 0);
    free(buf);
    cfg_free(&a);
}

static void test_reference(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    CHECK(cfg_reference(fp, 1) == ES_OK);
    fclose(fp);
    size_t n;
    const cfg_key *k = cfg_schema(&n);
    for (size_t i = 0; i < n; i++) {
        char want[128];
        snprintf(want, sizeof want, "| `%s` |", k[i].path);
        CHECK_CONTAINS(buf, want);
    }
    CHECK_CONTAINS(buf, "| `arch.chip.xbar_cycle` | time | ps | [1ps, 1s] | `100ns` |");
    free(buf);
}

static double fake_now;
static double fake_clock(void) { return fake_now; }

static void test_progress(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    prog_options o = {CFG_PROGRESS_ALWAYS, fp, 0, 10.0, fake_clock};
    fake_now = 100.0;
    prog *p = prog_start("train", 1000, "it", &o);
    fake_now = 105.0;
    prog_update(p, 100, "loss 1.0"); /* before the interval: nothing */
    fake_now = 110.0;
    prog_update(p, 200, "loss 0.5"); /* 20 it/s, 800 left -> 40 s */
    prog_finish(p, NULL);
    fclose(fp);
    CHECK_CONTAINS(buf, "train 200/1000 it (20.0%) 20 it/s ETA 40.0s | loss 0.5\n");
    CHECK(strstr(buf, "loss 1.0") == NULL);
    free(buf);
    /* auto mode off a terminal prints nothing */
    buf = NULL;
    fp = open_memstream(&buf, &len);
    prog_options q = {CFG_PROGRESS_AUTO, fp, 0, 0.0, fake_clock};
    p = prog_start("x", 10, "it", &q);
    fake_now += 100;
    prog_update(p, 5, NULL);
    prog_finish(p, "done");
    fclose(fp);
    CHECK_INT(len, 0);
    free(buf);
    char d[32];
    prog_format_duration(3725, d, sizeof d);
    CHECK_STR(d, "1h02m");
    prog_format_duration(187, d, sizeof d);
    CHECK_STR(d, "3m07s");
}

int main(int argc, char **argv)
{
    static const tap_test tests[] = {
        {"units", test_units},
        {"format_roundtrip", test_format_roundtrip},
        {"defaults_and_schema", test_defaults_and_schema},
        {"bind_values", test_bind_values},
        {"errors", test_errors},
        {"includes", test_includes},
        {"set_overrides", test_set_overrides},
        {"dump_roundtrip", test_dump_roundtrip},
        {"reference", test_reference},
        {"progress", test_progress},
    };
    return tap_main(tests, ES_ARRAY_LEN(tests), argc, argv);
}
