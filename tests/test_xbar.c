/* test_xbar.c - the accuracy models (issue 13): the packed crossbar arithmetic (xmvm.h) against
 * its plain reference over random layers, ADC resolutions, encodings and slicings; exactness
 * when the ADC cannot clip; quantization helpers; and through a network, quantized == bit-exact
 * where the ADC cannot clip and float holds the sums, ideal untouched, determinism. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cellvar.h"
#include "nn_net.h"
#include "nn_xbar.h"
#include "rng.h"
#include "tap.h"
#include "xmvm.h"

static int32_t rnd_in(rng_stream *r, int64_t lo, int64_t hi)
{
    return (int32_t)(lo + (int64_t)rng_below(r, (uint64_t)(hi - lo + 1)));
}

/* One random case: packed kernel == reference; returns 1 when equal. */
static int g_level = -1; /* kernel version under test (-1: the CPU's pick) */

static int one_case(rng_stream *r, const xmvm_config *c, int m, int k, int is_signed, int64_t *dot_err)
{
    const int64_t qmax = ((int64_t)1 << (c->weight_bits - 1)) - 1;
    int32_t *q = malloc((size_t)m * k * sizeof *q), *x = malloc((size_t)k * sizeof *x);
    int64_t *y = malloc((size_t)m * sizeof *y), *z = malloc((size_t)m * sizeof *z);
    /* weights: sometimes small (most slices zero), sometimes full range */
    const int64_t wr = rng_below(r, 2) ? qmax : (qmax > 8 ? qmax / 8 : qmax);
    for (int i = 0; i < m * k; i++) q[i] = rnd_in(r, -wr, wr);
    const int ib = c->input_bits;
    for (int i = 0; i < k; i++)
        x[i] = is_signed ? rnd_in(r, -((int64_t)1 << (ib - 1)), ((int64_t)1 << (ib - 1)) - 1)
                         : rnd_in(r, 0, ((int64_t)1 << ib) - 1);
    xmvm_mat *w = NULL;
    int ok = xmvm_mat_create(c, m, k, &w, NULL) == ES_OK;
    if (ok) {
        uint64_t *work = malloc(xmvm_work_words(w) * sizeof *work);
        xmvm_mat_set(w, q, (size_t)k, 1);
        if (g_level >= 0 && !xmvm_mat_use(w, g_level)) ok = 0;
        xmvm_run(w, x, is_signed, work, y);
        xmvm_reference(c, q, m, k, x, is_signed, z);
        for (int i = 0; i < m; i++) ok &= y[i] == z[i];
        if (dot_err) {
            *dot_err = 0;
            for (int i = 0; i < m; i++) {
                int64_t d = 0;
                for (int j = 0; j < k; j++) d += (int64_t)q[(size_t)i * k + j] * x[j];
                *dot_err += llabs(d - y[i]);
            }
        }
        free(work);
    }
    xmvm_mat_destroy(w);
    free(q);
    free(x);
    free(y);
    free(z);
    return ok;
}

static void t_kernel_vs_reference(void)
{
    rng_stream r;
    rng_init(&r, 13, "test_xbar.kernel");
    static const int adc_bits[] = {1, 3, 5, 6, 8, 12};
    static const int shifts[] = {-1, 0, 2};
    int cases = 0, bad = 0;
    for (int enc = 0; enc < 2; enc++)
        for (size_t a = 0; a < ES_ARRAY_LEN(adc_bits); a++)
            for (size_t s = 0; s < ES_ARRAY_LEN(shifts); s++)
                for (int rep = 0; rep < 6; rep++) {
                    xmvm_config c = {0};
                    c.rows = (int[]){16, 32, 64, 100, 128, 200}[rep];
                    c.weight_bits = (int[]){4, 8, 16, 5, 9, 16}[rep];
                    c.bits_per_cell = (int[]){1, 2, 2, 3, 4, 2}[rep];
                    c.input_bits = (int[]){1, 4, 8, 3, 6, 16}[rep];
                    c.adc_bits = adc_bits[a];
                    c.adc_shift = shifts[s];
                    c.differential = enc;
                    c.flip = rep % 2 == 0;
                    const int m = 1 + (int)rng_below(&r, 6), k = 1 + (int)rng_below(&r, 300);
                    for (int sg = 0; sg < 2; sg++) {
                        cases++;
                        if (!one_case(&r, &c, m, k, sg, NULL)) {
                            bad++;
                            CHECK_MSG(0, "mismatch: enc %d adc %d shift %d rows %d wb %d bpc %d ib %d "
                                         "m %d k %d signed %d", enc, c.adc_bits, c.adc_shift, c.rows,
                                      c.weight_bits, c.bits_per_cell, c.input_bits, m, k, sg);
                        }
                    }
                }
    CHECK_INT(bad, 0);
    CHECK(cases == 2 * 6 * 3 * 6 * 2);
}

/* Every kernel version this machine can run gives the reference's numbers. */
static void t_kernel_versions(void)
{
    for (int level = 0; level <= 2; level++) {
        xmvm_mat *w = NULL;
        xmvm_config c = {128, 8, 2, 4, 4, 0, 0, 1};
        if (xmvm_mat_create(&c, 1, 1, &w, NULL) < 0) continue;
        const int have = xmvm_mat_use(w, level);
        xmvm_mat_destroy(w);
        if (!have) {
            tap_skip("this build or CPU lacks the kernel version");
            continue;
        }
        g_level = level;
        t_kernel_vs_reference();
        g_level = -1;
    }
}

/* With an ADC that cannot clip or round, the crossbar gives the integer dot product, for both
 * encodings; ISAAC's point (128 rows, 2-bit cells, 8-bit ADC) needs the flip for it. */
static void t_exact_adc_is_dot_product(void)
{
    rng_stream r;
    rng_init(&r, 13, "test_xbar.exact");
    xmvm_config isaac = {128, 16, 2, 16, 8, 0, 0, 1};
    CHECK_INT(xmvm_column_max(&isaac), 192);
    CHECK(xmvm_adc_exact(&isaac));
    xmvm_config noflip = isaac;
    noflip.flip = 0;
    CHECK(!xmvm_adc_exact(&noflip)); /* 384 needs 9 bits */
    noflip.adc_shift = -1;
    CHECK_INT(xmvm_adc_shift(&noflip), 1);
    xmvm_config diff = isaac;
    diff.differential = 1;
    diff.adc_bits = 9;
    CHECK(xmvm_adc_exact(&diff));
    for (int t = 0; t < 20; t++) {
        int64_t e1 = -1, e2 = -1;
        const int k = 1 + (int)rng_below(&r, 400);
        CHECK(one_case(&r, &isaac, 3, k, t % 2, &e1));
        CHECK(one_case(&r, &diff, 3, k, t % 2, &e2));
        CHECK_INT(e1, 0);
        CHECK_INT(e2, 0);
    }
    /* and with too few bits it is not exact (the test would catch a kernel ignoring the ADC) */
    xmvm_config low = isaac;
    low.adc_bits = 4;
    int64_t e = 0, total = 0;
    for (int t = 0; t < 5; t++) {
        CHECK(one_case(&r, &low, 4, 256, 0, &e));
        total += e;
    }
    CHECK(total > 0);
}

static void t_quantize(void)
{
    CHECK(nn_xq_scale(0.0f, 127) == 1.0f);
    CHECK(nn_xq_scale(1.0f, 127) == 1.0f / 64.0f); /* 127/128 < 1 <= 127/64 */
    CHECK(nn_xq_scale(127.0f, 127) == 1.0f);
    float x[6] = {0.5f, -0.25f, 0.3f, 1.0f, 2.0f, 0.0f}, y[6], s[2];
    uint8_t sg[2];
    nn_xq_samples(x, 2, 3, 4, y, s, sg);
    CHECK_INT(sg[0], 1);
    CHECK_INT(sg[1], 0);
    /* signed 4 bits: top 7, 0.5 <= 7 s -> s = 1/8; unsigned 4 bits: top 15, 2 <= 15 s -> 1/4 */
    CHECK(s[0] == 0.125f && s[1] == 0.25f);
    CHECK(y[0] == 0.5f && y[1] == -0.25f && y[2] == 0.25f); /* 0.3 / 0.125 = 2.4 -> 2 */
    CHECK(y[3] == 1.0f && y[4] == 2.0f && y[5] == 0.0f);
    float w[3] = {0.9f, -1.0f, 0.01f}, wq[3];
    int32_t qi[3];
    float ws = nn_xq_weights(w, 3, 8, wq, qi);
    CHECK(ws == 1.0f / 64.0f);
    CHECK_INT(qi[1], -64);
    CHECK_INT(qi[0], 58);
    CHECK(wq[2] == 1.0f / 64.0f);
}

/* A small network with every crossbar kind: conv (padding, stride), conv, fc, fc. */
static nn_net *small_net(void)
{
    nn_net *net = NULL;
    es_err e;
    nn_shape in = {2, 9, 9};
    if (nn_net_create(in, &net, &e) < 0) return NULL;
    int rc = nn_add_conv(net, "c1", 5, 3, 1, 1, 0, &e);
    if (rc >= 0) rc = nn_add_relu(net, "r1", &e);
    if (rc >= 0) rc = nn_add_conv(net, "c2", 6, 3, 2, 0, 0, &e);
    if (rc >= 0) rc = nn_add_relu(net, "r2", &e);
    if (rc >= 0) rc = nn_add_flatten(net, "f", &e);
    if (rc >= 0) rc = nn_add_fc(net, "fc1", 12, 0, &e);
    if (rc >= 0) rc = nn_add_relu(net, "r3", &e);
    if (rc >= 0) rc = nn_add_fc(net, "fc2", 4, 0, &e);
    if (rc >= 0) rc = nn_net_finalize(net, &e);
    if (rc < 0) {
        nn_net_destroy(net);
        return NULL;
    }
    nn_net_init_params(net, 7);
    return net;
}

/* Forward + backward of a batch; logits and every gradient into out (sized by the caller). */
static size_t run_net(nn_net *net, const nn_xbar_config *xc, const float *x, const int32_t *lab,
                      int n, float *out)
{
    es_err e;
    if (xc && nn_net_set_xbar(net, xc, &e) < 0) return 0;
    double loss;
    if (nn_net_forward(net, x, n, lab, 1, &loss, &e) < 0) return 0;
    if (nn_net_backward(net, &e) < 0) return 0;
    size_t o = 0;
    const float *z = nn_net_logits(net);
    for (int i = 0; i < n * nn_net_classes(net); i++) out[o++] = z[i];
    for (int p = 0; p < nn_net_num_params(net); p++) {
        const nn_param *pp = nn_net_param(net, p);
        if (!pp->trainable) continue;
        memcpy(out + o, pp->grad, pp->numel * sizeof *out);
        o += pp->numel;
    }
    return o;
}

static void t_net_models(void)
{
    enum { N = 6 };
    rng_stream r;
    rng_init(&r, 13, "test_xbar.net");
    float x[N * 2 * 81];
    int32_t lab[N];
    for (size_t i = 0; i < ES_ARRAY_LEN(x); i++) x[i] = 2.0f * rng_uniform_f(&r) - 1.0f;
    for (int i = 0; i < N; i++) lab[i] = (int32_t)rng_below(&r, 4);
    static float a[20000], b[20000], c[20000], d[20000];
    nn_net *n1 = small_net(), *n2 = small_net(), *n3 = small_net(), *n4 = small_net();
    if (!CHECK(n1 && n2 && n3 && n4)) return;
    /* ideal set explicitly == never set */
    nn_xbar_config ideal = {NN_XBAR_IDEAL, {128, 16, 2, 16, 8, -1, 0, 1}, {2, 0, 0, 10}, 1};
    size_t la = run_net(n1, NULL, x, lab, N, a), lb = run_net(n2, &ideal, x, lab, N, b);
    CHECK(la > 0 && la == lb && !memcmp(a, b, la * sizeof *a));
    /* quantized == bit-exact where the ADC cannot clip (8-bit weights and inputs: every sum
     * fits float's mantissa) */
    nn_xbar_config q = {NN_XBAR_QUANTIZED, {32, 8, 2, 8, 8, 0, 0, 1}, {2, 0, 0, 10}, 1}, be = q;
    be.model = NN_XBAR_BIT_EXACT;
    CHECK(xmvm_adc_exact(&be.xc));
    size_t lq = run_net(n3, &q, x, lab, N, c), le = run_net(n4, &be, x, lab, N, d);
    CHECK(lq == la && le == la);
    size_t diff = 0;
    for (size_t i = 0; i < lq; i++) diff += c[i] != d[i];
    CHECK_UINT(diff, 0);
    /* and the quantized model is not the ideal one */
    size_t moved = 0;
    for (size_t i = 0; i < lq; i++) moved += c[i] != a[i];
    CHECK(moved > 0);
    /* the same with differential cells */
    q.xc.differential = be.xc.differential = 1;
    q.xc.adc_bits = be.xc.adc_bits = 7;
    CHECK(xmvm_adc_exact(&be.xc));
    lq = run_net(n3, &q, x, lab, N, c);
    le = run_net(n4, &be, x, lab, N, d);
    diff = 0;
    for (size_t i = 0; i < lq; i++) diff += c[i] != d[i];
    CHECK(lq > 0 && le == lq);
    CHECK_UINT(diff, 0);
    /* a 3-bit ADC moves the bit-exact result away from quantized; the same run twice gives
     * the same bytes */
    be.xc.adc_bits = 3;
    be.xc.adc_shift = -1;
    le = run_net(n4, &be, x, lab, N, d);
    diff = 0;
    for (size_t i = 0; i < le; i++) diff += c[i] != d[i];
    CHECK(diff > 0);
    size_t l2 = run_net(n4, &be, x, lab, N, b);
    CHECK(l2 == le && !memcmp(b, d, le * sizeof *b));
    nn_net_destroy(n1);
    nn_net_destroy(n2);
    nn_net_destroy(n3);
    nn_net_destroy(n4);
}

/* Cell statistics against their parameters: programming error N(0, program_sigma) drawn only
 * when a level changes, read noise N(0, read_sigma (g0 + l)) with g0 from the on/off ratio. */
static void t_cell_statistics(void)
{
    enum { NC = 200000 };
    cellvar_config cv = {2, 0.1, 0.05, 10.0};
    CHECK_NEAR(cellvar_g0(&cv), 3.0 / 9.0, 1e-12);
    uint8_t *lv = malloc(NC), *prev = malloc(NC);
    float *err = calloc(NC, sizeof *err), *rd = malloc(NC * sizeof *rd), *e0 = malloc(NC * sizeof *e0);
    memset(prev, 0xff, NC);
    memset(lv, 2, NC);
    rng_stream r;
    rng_init(&r, 13, "cell.program/test");
    cellvar_program(&cv, lv, prev, err, NC, &r);
    double m = 0, m2 = 0;
    for (int i = 0; i < NC; i++) {
        m += err[i];
        m2 += (double)err[i] * err[i];
    }
    m /= NC;
    CHECK_NEAR(m, 0.0, 0.002);
    CHECK_NEAR(sqrt(m2 / NC - m * m), 0.1, 0.002);
    /* reprogramming the same levels keeps the errors; changed levels get new ones */
    memcpy(e0, err, NC * sizeof *e0);
    for (int i = 0; i < NC; i += 2) lv[i] = 1;
    cellvar_program(&cv, lv, prev, err, NC, &r);
    int kept = 1, redrawn = 0;
    for (int i = 0; i < NC; i++) {
        if (i % 2) kept &= err[i] == e0[i];
        else redrawn += err[i] != e0[i];
    }
    CHECK(kept);
    CHECK_INT(redrawn, NC / 2);
    /* read noise: sigma = read_sigma (g0 + l) per level */
    rng_init(&r, 13, "cell.read/test");
    cellvar_read(&cv, lv, err, NC, &r, rd);
    double s1[2] = {0}, s2[2] = {0};
    for (int i = 0; i < NC; i++) {
        const double n = (double)rd[i] - lv[i] - err[i];
        s1[i % 2] += n;
        s2[i % 2] += n * n;
    }
    const double half = NC / 2;
    CHECK_NEAR(s1[0] / half, 0.0, 0.003);
    CHECK_NEAR(sqrt(s2[0] / half), 0.05 * (1.0 / 3.0 + 1.0), 0.002); /* level 1 */
    CHECK_NEAR(sqrt(s2[1] / half), 0.05 * (1.0 / 3.0 + 2.0), 0.003); /* level 2 */
    free(lv);
    free(prev);
    free(err);
    free(rd);
    free(e0);
}

/* Through a network: programming errors are sticky (two reads without read noise agree), read
 * noise differs per read, the same seed gives the same bytes, and the weights seen are within a
 * few sigma of the quantized ones. */
static void t_net_cells(void)
{
    enum { N = 4 };
    rng_stream r;
    rng_init(&r, 13, "test_xbar.cells");
    float x[N * 2 * 81];
    int32_t lab[N];
    for (size_t i = 0; i < ES_ARRAY_LEN(x); i++) x[i] = 2.0f * rng_uniform_f(&r) - 1.0f;
    for (int i = 0; i < N; i++) lab[i] = (int32_t)rng_below(&r, 4);
    static float a[20000], b[20000], c[20000];
    nn_net *n1 = small_net(), *n2 = small_net();
    if (!CHECK(n1 && n2)) return;
    nn_xbar_config q = {NN_XBAR_QUANTIZED, {128, 8, 2, 8, 8, -1, 0, 1}, {2, 0.2, 0.0, 10.0}, 3};
    size_t la = run_net(n1, &q, x, lab, N, a);
    size_t lb = run_net(n1, NULL, x, lab, N, b); /* second read of the same cells */
    CHECK(la > 0 && la == lb && !memcmp(a, b, la * sizeof *a));
    q.cells.read_sigma = 0.05;
    la = run_net(n1, &q, x, lab, N, a);
    lb = run_net(n1, NULL, x, lab, N, b);
    CHECK(la == lb && memcmp(a, b, la * sizeof *a) != 0);
    size_t lc = run_net(n2, &q, x, lab, N, c); /* another network, same seed: same bytes */
    CHECK(lc == la && !memcmp(a, c, la * sizeof *a));
    /* bit-exact refuses cell noise */
    q.model = NN_XBAR_BIT_EXACT;
    es_err e;
    CHECK_INT(nn_net_set_xbar(n2, &q, &e), ES_ECONFIG);
    nn_net_destroy(n1);
    nn_net_destroy(n2);
}

/* NeuroSim's exponential response: a(NL) against V2.1's table (utee/wage_quantizer.py,
 * GetParamA: NL 0.5, 1, 1.46, 1.75), the potentiation and depression curves pulse by pulse
 * against W(P) = B (1 - e^(-P/A)) - 1, rounding to whole pulses, the line for NL = 0, the
 * bounds, and the additive cycle-to-cycle sigma. */
static void t_pulse_neurosim(void)
{
    CHECK_NEAR(cellpulse_nl_a(0.5), 2.519877, 2e-6 * 2.52);
    CHECK_NEAR(cellpulse_nl_a(1.0), 1.251653, 2e-6 * 1.25);
    CHECK_NEAR(cellpulse_nl_a(1.46), 0.848677, 2e-6);
    CHECK_NEAR(cellpulse_nl_a(1.75), 0.702081, 2e-6);
    CHECK_NEAR(cellpulse_nl_a(-1.0), -1.251653, 2e-6 * 1.25);
    CHECK(cellpulse_nl_a(0.0) == 0.0);
    rng_stream r;
    rng_init(&r, 17, "cell.devices/neurosim");
    cellpulse_config c = {0};
    c.model = CELLPULSE_NEUROSIM;
    c.nl_ltp = 1.75;
    c.nl_ltd = 1.46;
    c.levels = 32;
    c.max_pulses = 1000;
    cellpulse *p = NULL;
    if (!CHECK(cellpulse_create(&c, 1, &r, &p) == ES_OK)) return;
    const double L = 32, Ap = 0.702081 * L, Ad = 0.848677 * L;
    const double Bp = 2.0 / (1.0 - exp(-L / Ap)), Bd = 2.0 / (1.0 - exp(-L / Ad));
    float w = -1.0f, step = (float)(2.0 / L), o;
    double worst = 0;
    for (int j = 1; j <= 32; j++) { /* one pulse at a time up from the lowest conductance */
        CHECK_UINT(cellpulse_update(p, &w, &step, &o, 1, &r, NULL), 1);
        worst = fmax(worst, fabs(o - (Bp * (1.0 - exp(-j / Ap)) - 1.0)));
        w = o;
    }
    CHECK_MSG(worst < 2e-6, "potentiation follows the curve (worst %g)", worst);
    CHECK_NEAR(w, 1.0, 1e-6);
    float down = -step;
    worst = 0;
    for (int j = 1; j <= 32; j++) { /* and down from the highest, on the depression curve */
        cellpulse_update(p, &w, &down, &o, 1, &r, NULL);
        worst = fmax(worst, fabs(o - (Bd * (1.0 - exp(-(L - j) / Ad)) - 1.0)));
        w = o;
    }
    CHECK_MSG(worst < 2e-6, "depression follows the curve (worst %g)", worst);
    CHECK_NEAR(w, -1.0, 1e-6);
    /* whole pulses: 0.48 of a step fires none, 0.64 one; the bound holds */
    float w0 = 0.0f, small = (float)(0.48 * 2.0 / L), more = (float)(0.64 * 2.0 / L);
    CHECK_UINT(cellpulse_update(p, &w0, &small, &o, 1, &r, NULL), 0);
    CHECK(o == 0.0f);
    CHECK_UINT(cellpulse_update(p, &w0, &more, &o, 1, &r, NULL), 1);
    CHECK(o > 0.0f);
    float nan_dw = NAN;
    CHECK_UINT(cellpulse_update(p, &w0, &nan_dw, &o, 1, &r, NULL), 0); /* no pulse, no UB */
    CHECK(o == 0.0f);
    float hi = 0.99f, ten = (float)(10 * 2.0 / L);
    CHECK_UINT(cellpulse_update(p, &hi, &ten, &o, 1, &r, NULL), 10);
    CHECK(o == 1.0f);
    cellpulse_destroy(p);
    /* NL = 0: the line, 2 / L per pulse */
    c.nl_ltp = c.nl_ltd = 0.0;
    if (!CHECK(cellpulse_create(&c, 1, &r, &p) == ES_OK)) return;
    float three = (float)(3 * 2.0 / L);
    cellpulse_update(p, &w0, &three, &o, 1, &r, NULL);
    CHECK_NEAR(o, 3 * 2.0 / L, 1e-7);
    cellpulse_destroy(p);
    /* cycle-to-cycle: every moved weight gets 2 c2c N(0, 1) */
    enum { ND = 20000 };
    c.c2c = 0.01;
    if (!CHECK(cellpulse_create(&c, ND, &r, &p) == ES_OK)) return;
    float *a = calloc(ND, sizeof *a), *d = malloc(ND * sizeof *d), *q = malloc(ND * sizeof *q);
    for (int i = 0; i < ND; i++) d[i] = step;
    CHECK_UINT(cellpulse_update(p, a, d, q, ND, &r, NULL), ND);
    double s1 = 0, s2 = 0;
    for (int i = 0; i < ND; i++) {
        const double x = q[i] - 2.0 / L;
        s1 += x;
        s2 += x * x;
    }
    const double mean = s1 / ND, sd = sqrt(s2 / ND - mean * mean);
    CHECK_NEAR(mean, 0.0, 4 * 0.02 / sqrt(ND));
    CHECK_NEAR(sd, 0.02, 0.02 * 0.03);
    free(a), free(d), free(q);
    cellpulse_destroy(p);
}

/* Incremental pulses: the soft-bounds response curve against its closed form, asymmetry,
 * stochastic rounding of the pulse count, and the statistics of c2c, d2d and stuck devices. */
static void t_pulse_devices(void)
{
    enum { ND = 100000 };
    rng_stream r;
    rng_init(&r, 13, "cell.devices/test");
    cellpulse_config clean = {0.01, 0.0, 0.0, 0.0, 0.0, 0.0, 1000, CELLPULSE_SOFTBOUNDS, 0, 0, 0, 0};
    cellpulse *p = NULL;
    if (!CHECK(cellpulse_create(&clean, 2, &r, &p) == ES_OK)) return;
    float w0[2] = {0.0f, 0.0f}, dw[2] = {0.10f, -0.25f}, w[2];
    uint64_t fired = cellpulse_update(p, w0, dw, w, 2, &r, NULL);
    CHECK_UINT(fired, 35);
    float nanw = NAN, nano;
    CHECK_UINT(cellpulse_update(p, w0, &nanw, &nano, 1, &r, NULL), 0); /* a NaN fires none */
    CHECK_NEAR(w[0], 1.0 - pow(0.99, 10), 1e-6);  /* up: w_n = 1 - (1 - dw)^n */
    CHECK_NEAR(w[1], -(1.0 - pow(0.99, 25)), 1e-6);
    cellpulse_destroy(p);
    cellpulse_config asym = clean;
    asym.up_down = 0.2;
    cellpulse_create(&asym, 2, &r, &p);
    cellpulse_update(p, w0, dw, w, 2, &r, NULL);
    CHECK_NEAR(w[0], 1.0 - pow(1.0 - 0.012, 10), 1e-6);
    CHECK_NEAR(w[1], -(1.0 - pow(1.0 - 0.008, 25)), 1e-6);
    cellpulse_destroy(p);
    /* a half step fires one pulse half of the time (on the devices that are not stuck) */
    cellpulse_config noisy = {0.01, 0.0, 0.3, 0.5, 0.2, 0.1, 1000, CELLPULSE_SOFTBOUNDS, 0, 0, 0, 0};
    if (!CHECK(cellpulse_create(&noisy, ND, &r, &p) == ES_OK)) return;
    float *a = calloc(ND, sizeof *a), *d = malloc(ND * sizeof *d), *o = malloc(ND * sizeof *o);
    for (int i = 0; i < ND; i++) d[i] = 0.005f;
    fired = cellpulse_update(p, a, d, o, ND, &r, NULL);
    CHECK_NEAR((double)fired / ND, 0.5 * 0.9, 0.01); /* stuck devices (10%) fire none */
    /* one pulse per device: the step over the device's dw has relative sigma c2c; log(dw)
     * has sigma d2d; about `corrupt` of the devices are stuck */
    for (int i = 0; i < ND; i++) d[i] = 0.01f;
    cellpulse_update(p, a, d, o, ND, &r, NULL);
    double s1 = 0, s2 = 0, l1 = 0, l2 = 0;
    int n = 0, stuck_n = 0;
    for (int i = 0; i < ND; i++) {
        double ddw, wm;
        int st;
        cellpulse_device(p, (size_t)i, &ddw, &wm, &st);
        stuck_n += st;
        if (st) continue;
        const double x = o[i] / ddw - 1.0; /* at w = 0 the step is dw (1 + c2c xi) */
        s1 += x;
        s2 += x * x;
        l1 += log(ddw / 0.01);
        l2 += log(ddw / 0.01) * log(ddw / 0.01);
        n++;
    }
    CHECK_NEAR(s1 / n, 0.0, 0.01);
    CHECK_NEAR(sqrt(s2 / n), 0.3, 0.01);
    CHECK_NEAR(sqrt(l2 / n - (l1 / n) * (l1 / n)), 0.5, 0.01);
    CHECK_NEAR((double)stuck_n / ND, 0.1, 0.005);
    free(a);
    free(d);
    free(o);
    cellpulse_destroy(p);
}

int main(int argc, char **argv)
{
    static const tap_test tests[] = {
        {"kernel_vs_reference", t_kernel_vs_reference},
        {"kernel_versions", t_kernel_versions},
        {"exact_adc_is_dot_product", t_exact_adc_is_dot_product},
        {"quantize", t_quantize},
        {"net_models", t_net_models},
        {"cell_statistics", t_cell_statistics},
        {"net_cells", t_net_cells},
        {"pulse_devices", t_pulse_devices},
        {"pulse_neurosim", t_pulse_neurosim},
    };
    return tap_main(tests, ES_ARRAY_LEN(tests), argc, argv);
}
