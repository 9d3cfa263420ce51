/* test_train.c - the trainer: learning-rate schedules against hand-computed values,
 * checkpoint files (round trip and every corruption), network descriptions (values and
 * errors with line:column), and the interrupted-vs-uninterrupted check: a run stopped at
 * arbitrary iterations and resumed ends byte-identical to one that never stopped. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "ckpt.h"
#include "netdesc.h"
#include "tap.h"
#include "train.h"




static void test_lr_schedule(void)
{
    essim_config cfg;
    es_err err;
    cfg_defaults(&cfg, &err);
    cfg.train.lr = 0.1;
    cfg.train.epochs = 10;
    CHECK_NEAR(train_lr_at(&cfg, 0, 100), 0.1, 0);
    CHECK_NEAR(train_lr_at(&cfg, 999, 100), 0.1, 0);
    cfg.train.schedule = CFG_SCHED_STEP;
    int64_t ms[2] = {3, 6};
    cfg.train.milestones.n = 2;
    cfg.train.milestones.v = ms;
    cfg.train.gamma = 0.1;
    CHECK_NEAR(train_lr_at(&cfg, 299, 100), 0.1, 1e-15);  /* epoch 2 */
    CHECK_NEAR(train_lr_at(&cfg, 300, 100), 0.01, 1e-15); /* epoch 3 */
    CHECK_NEAR(train_lr_at(&cfg, 650, 100), 0.001, 1e-15);
    cfg.train.schedule = CFG_SCHED_COSINE;
    CHECK_NEAR(train_lr_at(&cfg, 0, 100), 0.1, 1e-15);
    CHECK_NEAR(train_lr_at(&cfg, 500, 100), 0.05, 1e-12); /* half way: lr/2 */
    CHECK_NEAR(train_lr_at(&cfg, 999, 100), 0.5 * 0.1 * (1 + cos(M_PI * 999 / 1000)), 1e-15);
    cfg.train.warmup_epochs = 2; /* 200 warm-up iterations: lr (t+1)/200 */
    CHECK_NEAR(train_lr_at(&cfg, 0, 100), 0.1 / 200, 1e-15);
    CHECK_NEAR(train_lr_at(&cfg, 99, 100), 0.05, 1e-15);
    CHECK_NEAR(train_lr_at(&cfg, 200, 100), 0.1, 1e-15); /* cosine starts after warm-up */
    CHECK_NEAR(train_lr_at(&cfg, 600, 100), 0.05, 1e-12);
    cfg.train.milestones.n = 0;
    cfg.train.milestones.v = NULL;
    cfg_free(&cfg);
}

static void test_checkpoint_file(void)
{
    es_err err;
    ckpt_writer *w = NULL;
    const char *path = tap_path("c.ckpt");
    float f[5] = {1, 2, 3, 4.5f, -1};
    uint64_t u[2] = {7, 1ULL << 60};
    double d[1] = {0.125};
    if (!CHECK(ckpt_begin(path, &w, &err) == ES_OK)) return;
    ckpt_put_f32(w, "w", f, 5);
    ckpt_put_u64(w, "u", u, 2);
    ckpt_put_f64(w, "d", d, 1);
    ckpt_put_bytes(w, "s", "hello", 5);
    CHECK(ckpt_commit(w, &err) == ES_OK);
    ckpt *c = NULL;
    if (!CHECK_MSG(ckpt_load(path, &c, &err) == ES_OK, "%s", err.msg)) return;
    float f2[5];
    uint64_t u2[2];
    double d2[1];
    char s2[5];
    CHECK(ckpt_get_f32(c, "w", f2, 5, &err) == ES_OK && !memcmp(f, f2, sizeof f));
    CHECK(ckpt_get_u64(c, "u", u2, 2, &err) == ES_OK && u2[1] == (1ULL << 60));
    CHECK(ckpt_get_f64(c, "d", d2, 1, &err) == ES_OK && d2[0] == 0.125);
    CHECK(ckpt_get_bytes(c, "s", s2, 5, &err) == ES_OK && !memcmp(s2, "hello", 5));
    CHECK(ckpt_get_f32(c, "w", f2, 4, &err) == ES_EFORMAT); /* wrong count */
    CHECK_CONTAINS(err.msg, "record 'w' has 5 elements");
    CHECK(ckpt_get_f64(c, "w", d2, 5, &err) == ES_EFORMAT); /* wrong type */
    CHECK(ckpt_get_f32(c, "nope", f2, 1, &err) == ES_EFORMAT);
    CHECK_CONTAINS(err.msg, "no record 'nope'");
    CHECK_UINT(ckpt_count(c, "u"), 2);
    ckpt_free(c);

    /* Corruptions: one flipped byte, truncation, garbage, a missing file. */
    size_t len;
    char *bytes = tap_read_file(path, &len);
    char *bad = malloc(len);
    memcpy(bad, bytes, len);
    bad[20] ^= 0x40;
    FILE *fp = fopen(tap_path("flip.ckpt"), "wb");
    fwrite(bad, 1, len, fp);
    fclose(fp);
    CHECK(ckpt_load(tap_path("flip.ckpt"), &c, &err) == ES_EFORMAT);
    CHECK_CONTAINS(err.msg, "CRC mismatch");
    fp = fopen(tap_path("trunc.ckpt"), "wb");
    fwrite(bytes, 1, len - 10, fp);
    fclose(fp);
    CHECK(ckpt_load(tap_path("trunc.ckpt"), &c, &err) == ES_EFORMAT);
    CHECK_CONTAINS(err.msg, "truncated");
    tap_write_text(tap_path("junk.ckpt"), "this is not a checkpoint at all, really");
    CHECK(ckpt_load(tap_path("junk.ckpt"), &c, &err) == ES_EFORMAT);
    CHECK_CONTAINS(err.msg, "bad magic");
    CHECK(ckpt_load(tap_path("missing.ckpt"), &c, &err) == ES_EIO);
    free(bad);
    free(bytes);
    /* An aborted writer leaves nothing behind and keeps the old file. */
    CHECK(ckpt_begin(path, &w, &err) == ES_OK);
    ckpt_put_f32(w, "w", f, 2);
    ckpt_abort(w);
    CHECK(ckpt_load(path, &c, &err) == ES_OK);
    CHECK_UINT(ckpt_count(c, "w"), 5);
    ckpt_free(c);
}

static int build_desc(const char *name, const char *text, nn_net **net, char *netname, es_err *err)
{
    const char *p = tap_path(name);
    tap_write_text(p, text);
    nn_shape in = {1, 28, 28};
    es_err_clear(err);
    return netdesc_build(p, in, 10, 1, net, netname, 64, err);
}

static void check_desc_error(const char *name, const char *text, const char *loc, const char *msg)
{
    nn_net *net = NULL;
    es_err err;
    char nn[64];
    int rc = build_desc(name, text, &net, nn, &err);
    CHECK_MSG(rc == ES_ECONFIG, "%s rejected (rc %d)", name, rc);
    char want[700];
    snprintf(want, sizeof want, "%s:%s", tap_path(name), loc);
    CHECK_MSG(!strncmp(err.msg, want, strlen(want)), "'%s' starts with '%s'", err.msg, want);
    CHECK_CONTAINS(err.msg, msg);
    nn_net_destroy(net);
}

static void test_network_description(void)
{
    nn_net *net = NULL;
    es_err err;
    char name[64];
    int rc = build_desc("small.yaml",
                        "version: 1\nnetwork:\n  name: small\n  layers:\n"
                        "    - conv: {name: c1, out: 4, kernel: 3, pad: 1, bias: false}\n"
                        "    - bn\n    - relu\n    - maxpool: {kernel: 2}\n"
                        "    - block: {name: b1, out: 8, stride: 2}\n"
                        "    - gap\n    - fc: {name: fc, out: classes}\n",
                        &net, name, &err);
    if (CHECK_MSG(rc == ES_OK, "%s", err.msg)) {
        CHECK_STR(name, "small");
        /* c1 36 + bn 8 + b1.conv1 4*8*9=288 + bn 16 + conv2 8*8*9=576 + bn 16 + fc 8*10+10 */
        CHECK_UINT(nn_net_param_total(net, 0), 36 + 8 + 288 + 16 + 576 + 16 + 90);
        CHECK(nn_net_param_find(net, "b1.conv2.weight") >= 0);
        CHECK_INT(nn_net_classes(net), 10);
    }
    nn_net_destroy(net);
    check_desc_error("kind.yaml", "version: 1\nnetwork:\n  layers:\n    - conv: {out: 4, kernel: 3}\n    - softplus\n    - fc: {out: classes}\n",
                     "5:7: error: ", "unknown layer kind 'softplus'");
    check_desc_error("opt.yaml", "version: 1\nnetwork:\n  layers:\n    - conv: {out: 4, kernal: 3}\n",
                     "4:22: error: ", "unknown option 'kernal'");
    check_desc_error("need.yaml", "version: 1\nnetwork:\n  layers:\n    - conv: {out: 4}\n",
                     "4:7: error: ", "needs option 'kernel'");
    check_desc_error("shape.yaml", "version: 1\nnetwork:\n  layers:\n    - flatten\n    - conv: {out: 4, kernel: 5}\n    - fc: {out: classes}\n",
                     "5:7: error: ", "layer 'conv'");
    check_desc_error("classes.yaml", "version: 1\nnetwork:\n  layers:\n    - flatten\n    - fc: {out: 7}\n",
                     "4:5: error: ", "ends with 7 outputs but the dataset has 10 classes");
    check_desc_error("int.yaml", "version: 1\nnetwork:\n  layers:\n    - conv: {out: four, kernel: 3}\n",
                     "4:19: error: ", "must be an integer");
    check_desc_error("top.yaml", "version: 1\nnetwrk: {}\n", "2:1: error: ", "unknown key 'netwrk'");
    nn_shape in = {1, 28, 28};
    CHECK(netdesc_build("nosuchnet", in, 10, 1, &net, name, sizeof name, &err) == ES_ECONFIG);
    CHECK_CONTAINS(err.msg, "lenet5");
}

/* Train the synthetic task with the given stop points; returns the output directory. */
static int run_training(const char *out, const uint64_t *stops, int nstops, int64_t limit,
                        es_err *err)
{
    essim_config cfg;
    cfg_defaults(&cfg, err);
    cfg.train.dataset = CFG_DS_SYNTHETIC;
    cfg.train.synthetic_train = 320;
    cfg.train.synthetic_test = 100;
    cfg.train.train_limit = limit;
    cfg.train.epochs = 3;
    cfg.train.batch = 32;
    cfg.train.lr = 0.02;
    cfg.train.schedule = CFG_SCHED_COSINE;
    /* A small network with batch norm and a residual block, so their state is checkpointed. */
    const char *desc = tap_path("resume-net.yaml");
    tap_write_text(desc, "version: 1\nnetwork:\n  layers:\n"
                     "    - conv: {out: 8, kernel: 3, stride: 2, pad: 1, bias: false}\n"
                     "    - bn\n    - relu\n    - block: {out: 16, stride: 2}\n"
                     "    - gap\n    - fc: {out: classes}\n");
    free(cfg.train.network);
    cfg.train.network = strdup(desc);
    cfg.sim.progress = CFG_PROGRESS_NEVER;
    train_options o = {out, NULL, 0, CFG_PROGRESS_NEVER, NULL, 0, "test", NULL, NULL};
    train_result res;
    int rc = ES_OK;
    for (int i = 0; i <= nstops && rc == ES_OK; i++) {
        o.stop_after = i < nstops ? stops[i] : 0;
        o.resume = i > 0;
        rc = train_run(&cfg, &o, &res, err);
        if (rc == ES_OK && i < nstops && !res.stopped_early) rc = ES_ESTATE;
    }
    cfg_free(&cfg);
    return rc;
}

/* stats.json without the host-time fields. */
static char *stats_sans_host(const char *dir)
{
    char p[700];
    snprintf(p, sizeof p, "%s/stats.json", dir);
    char *s = tap_read_file(p, NULL);
    if (!s) return NULL;
    char *out = malloc(strlen(s) + 1), *o = out;
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
        if (strstr(line, "\"host_seconds\"") || strstr(line, "\"events_per_s\"") ||
            strstr(line, "\"images_per_s\""))
            continue;
        o += sprintf(o, "%s\n", line);
    }
    free(s);
    return out;
}

static void test_resume_identical(void)
{
    es_err err;
    const char *a = tap_path("run-a"), *b = tap_path("run-b");
    int rc = run_training(a, NULL, 0, 0, &err);
    if (!CHECK_MSG(rc == ES_OK, "uninterrupted run: %s", err.msg)) return;
    /* 10 iterations per epoch: stop mid-epoch, at an epoch end, and mid-epoch again. */
    uint64_t stops[3] = {3, 10, 17};
    rc = run_training(b, stops, 3, 0, &err);
    if (!CHECK_MSG(rc == ES_OK, "interrupted run: %s", err.msg)) return;
    size_t la, lb;
    char pa[700], pb[700];
    snprintf(pa, sizeof pa, "%s/weights.npz", a);
    snprintf(pb, sizeof pb, "%s/weights.npz", b);
    char *wa = tap_read_file(pa, &la), *wb = tap_read_file(pb, &lb);
    CHECK(wa && wb && la == lb && !memcmp(wa, wb, la));
    free(wa);
    free(wb);
    char *sa = stats_sans_host(a), *sb = stats_sans_host(b);
    CHECK(sa && sb && !strcmp(sa, sb));
    CHECK_CONTAINS(sa, "\"iterations\": 30");
    free(sa);
    free(sb);
    /* The same seed twice gives the same stats; a different seed different weights. */
    const char *c = tap_path("run-c");
    CHECK(run_training(c, NULL, 0, 0, &err) == ES_OK);
    char *sc = stats_sans_host(c);
    sa = stats_sans_host(a);
    CHECK(sc && sa && !strcmp(sa, sc));
    free(sa);
    free(sc);
    /* With train.train_limit (200 of 320 images: 7 iterations per epoch), resumed mid-epoch. */
    const char *d = tap_path("run-d"), *e = tap_path("run-e2");
    uint64_t stops2[2] = {4, 12};
    CHECK(run_training(d, NULL, 0, 200, &err) == ES_OK);
    CHECK(run_training(e, stops2, 2, 200, &err) == ES_OK);
    char *sd = stats_sans_host(d), *se = stats_sans_host(e);
    CHECK(sd && se && !strcmp(sd, se));
    CHECK_CONTAINS(sd, "\"iterations\": 21");
    free(sd);
    free(se);
}

static void test_resume_errors(void)
{
    essim_config cfg;
    es_err err;
    cfg_defaults(&cfg, &err);
    cfg.train.dataset = CFG_DS_SYNTHETIC;
    cfg.train.synthetic_train = 64;
    cfg.train.synthetic_test = 16;
    cfg.train.epochs = 1;
    cfg.train.batch = 16;
    train_options o = {tap_path("run-e"), NULL, 1, CFG_PROGRESS_NEVER, NULL, 0, "test", NULL, NULL};
    train_result res;
    CHECK(train_run(&cfg, &o, &res, &err) == ES_EIO); /* nothing to resume */
    CHECK_CONTAINS(err.msg, "checkpoint.ckpt: cannot open checkpoint");
    o.resume = 0;
    o.stop_after = 2;
    CHECK(train_run(&cfg, &o, &res, &err) == ES_OK && res.stopped_early);
    cfg.train.lr = 0.5; /* another configuration */
    o.resume = 1;
    o.stop_after = 0;
    CHECK(train_run(&cfg, &o, &res, &err) == ES_ECONFIG);
    CHECK_CONTAINS(err.msg, "another configuration");
    cfg_free(&cfg);
}

int main(int argc, char **argv)
{
    static const tap_test tests[] = {
        {"lr_schedule", test_lr_schedule},
        {"checkpoint_file", test_checkpoint_file},
        {"network_description", test_network_description},
        {"resume_identical", test_resume_identical},
        {"resume_errors", test_resume_errors},
    };
    return tap_main(tests, ES_ARRAY_LEN(tests), argc, argv);
}
