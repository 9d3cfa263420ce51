/* test_nn_dnnl.c - the fast paths of the training engine against the reference ones: the oneDNN
 * convolution backend against the im2col + sgemm backend on random shapes (forward, backward
 * data with and without accumulation, backward weights and bias; NCHW and blocked layouts),
 * its run-to-run determinism; the layout-generic, threaded, ReLU-fused batch norm, the blocked
 * shortcut and pooling, and the fused addition + ReLU against the plain NCHW kernels; whole
 * networks on both backends. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_dnnl.h"
#include "nn_gemm.h"
#include "nn_layers.h"
#include "nn_net.h"
#include "nn_presets.h"
#include "rng.h"
#include "tap.h"

static void fill(rng_stream *r, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * rng_uniform_f(r);
}

static float *falloc(size_t n)
{
    return calloc(n ? n : 1, sizeof(float));
}

/* max |a - b| / (1 + max |b|) */
static double rel_err(const float *a, const float *b, size_t n)
{
    double worst = 0.0, scale = 1.0;
    for (size_t i = 0; i < n; i++)
        if (fabs(b[i]) > scale) scale = fabs(b[i]);
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= worst)) worst = isnan(e) ? INFINITY : e;
    }
    return worst / scale;
}

/* Convert an n x c x hw tensor to `lay` (a copy for NCHW). */
static float *to_layout(const float *x, int n, int c, int hw, nn_layout lay)
{
    float *y = falloc((size_t)n * c * hw);
    if (lay == NN_LAYOUT_B16)
        nn_nchw_to_b16(x, n, c, hw, y);
    else
        memcpy(y, x, (size_t)n * c * hw * sizeof *y);
    return y;
}

static void from_layout(float *x, int n, int c, int hw, nn_layout lay)
{
    if (lay != NN_LAYOUT_B16) return;
    float *t = falloc((size_t)n * c * hw);
    nn_b16_to_nchw(x, n, c, hw, t);
    memcpy(x, t, (size_t)n * c * hw * sizeof *x);
    free(t);
}

static void t_layout_roundtrip(void)
{
    rng_stream r;
    rng_init(&r, 1, "test.dnnl.layout");
    const int n = 3, c = 32, hw = 5;
    float *x = falloc((size_t)n * c * hw), *b = falloc((size_t)n * c * hw);
    fill(&r, x, (size_t)n * c * hw, -1, 1);
    nn_nchw_to_b16(x, n, c, hw, b);
    /* element (n 2, c 17, q 3) sits in block 1, lane 1 */
    CHECK(b[((2 * 2 + 1) * hw + 3) * 16 + 1] == x[(2 * c + 17) * hw + 3]);
    float *back = to_layout(b, n, c, hw, NN_LAYOUT_NCHW);
    from_layout(back, n, c, hw, NN_LAYOUT_NCHW);
    nn_b16_to_nchw(b, n, c, hw, back);
    CHECK(memcmp(back, x, (size_t)n * c * hw * sizeof *x) == 0);
    free(x);
    free(b);
    free(back);
}

/* ---- oneDNN convolution against im2col + sgemm --------------------------------------------- */

#ifdef ES_HAVE_DNNL
typedef struct conv_run {
    float *y, *dx, *dw, *db;
} conv_run;

static void conv_run_free(conv_run *o)
{
    free(o->y);
    free(o->dx);
    free(o->dw);
    free(o->db);
}

/* Forward and backward (dx accumulated onto dx0 when accum) with backend be, activations in
 * the given layouts; results returned in NCHW. */
static int conv_run_once(const nn_conv_backend *be, nn_conv_desc d, nn_layout ls, nn_layout ld,
                         int n, const float *x, const float *w, const float *b, const float *dy,
                         const float *dx0, int accum, conv_run *o)
{
    const int hwi = d.h * d.w, hwo = d.ho * d.wo;
    const size_t ys = (size_t)n * d.cout * hwo;
    d.src_layout = ls;
    d.dst_layout = ld;
    void *st = NULL;
    if (be->prepare && be->prepare(&d, n, &st, NULL) < 0) return -1;
    float *scratch = falloc(be->scratch_floats(&d, n));
    float *xl = to_layout(x, n, d.cin, hwi, ls), *dyl = to_layout(dy, n, d.cout, hwo, ld);
    o->y = falloc(ys);
    o->dx = to_layout(dx0, n, d.cin, hwi, ls);
    o->dw = falloc((size_t)d.cout * d.cin * d.k * d.k);
    o->db = falloc((size_t)d.cout);
    int rc = be->forward(st, &d, n, xl, w, d.bias ? b : NULL, o->y, scratch);
    if (rc == ES_OK)
        rc = be->backward(st, &d, n, xl, w, dyl, o->dx, accum, o->dw, d.bias ? o->db : NULL,
                          scratch);
    from_layout(o->y, n, d.cout, hwo, ld);
    from_layout(o->dx, n, d.cin, hwi, ls);
    if (be->release) be->release(st);
    free(scratch);
    free(xl);
    free(dyl);
    return rc;
}

static void t_dnnl_vs_gemm(void)
{
    /* cin, h, w, cout, k, stride, pad, bias, n */
    static const int cases[][9] = {
        {1, 28, 28, 16, 3, 1, 1, 0, 4}, {16, 12, 12, 16, 3, 1, 1, 0, 3},
        {16, 14, 14, 32, 3, 2, 1, 0, 2}, {32, 7, 7, 64, 3, 2, 1, 0, 2},
        {64, 7, 7, 64, 3, 1, 1, 0, 2},  {3, 9, 11, 6, 5, 1, 2, 1, 3},
        {6, 14, 14, 16, 5, 1, 0, 1, 2}, {5, 8, 7, 7, 3, 2, 0, 1, 2},
        {16, 6, 6, 16, 1, 2, 0, 0, 5},  {32, 5, 5, 16, 3, 1, 1, 1, 2},
    };
    rng_stream r;
    rng_init(&r, 2, "test.dnnl.conv");
    for (size_t t = 0; t < ES_ARRAY_LEN(cases); t++) {
        const int *c = cases[t];
        nn_conv_desc d;
        if (!CHECK_INT(nn_conv_desc_init(&d, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], NULL),
                       ES_OK))
            continue;
        const int n = c[8];
        const size_t xs = (size_t)n * d.cin * d.h * d.w, ys = (size_t)n * d.cout * d.ho * d.wo,
                     ws = (size_t)d.cout * d.cin * d.k * d.k;
        float *x = falloc(xs), *w = falloc(ws), *b = falloc((size_t)d.cout), *dy = falloc(ys),
              *dx0 = falloc(xs);
        fill(&r, x, xs, -1, 1);
        fill(&r, w, ws, -0.5f, 0.5f);
        fill(&r, b, (size_t)d.cout, -1, 1);
        fill(&r, dy, ys, -1, 1);
        fill(&r, dx0, xs, -1, 1);
        for (int accum = 0; accum < 2; accum++) {
            conv_run ref = {0}, got = {0};
            conv_run_once(&nn_conv_backend_gemm, d, NN_LAYOUT_NCHW, NN_LAYOUT_NCHW, n, x, w, b, dy,
                          dx0, accum, &ref);
            /* every layout combination the shape allows */
            for (int ls = 0; ls < 2; ls++)
                for (int ld = 0; ld < 2; ld++) {
                    if ((ls && d.cin % 16) || (ld && d.cout % 16)) continue;
                    memset(&got, 0, sizeof got);
                    int rc = conv_run_once(&nn_conv_backend_dnnl, d, (nn_layout)ls, (nn_layout)ld,
                                           n, x, w, b, dy, dx0, accum, &got);
                    CHECK_MSG(rc == ES_OK && rel_err(got.y, ref.y, ys) < 1e-5 &&
                                  rel_err(got.dx, ref.dx, xs) < 1e-5 &&
                                  rel_err(got.dw, ref.dw, ws) < 1e-5 &&
                                  (!d.bias || rel_err(got.db, ref.db, (size_t)d.cout) < 1e-5),
                              "case %zu (%dx%dx%d -> %d, k%d s%d p%d b%d), layouts %d/%d, accum "
                              "%d: y %g dx %g dw %g db %g",
                              t, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], ls, ld, accum,
                              rel_err(got.y, ref.y, ys), rel_err(got.dx, ref.dx, xs),
                              rel_err(got.dw, ref.dw, ws), rel_err(got.db, ref.db, (size_t)d.cout));
                    conv_run_free(&got);
                }
            conv_run_free(&ref);
        }
        free(x);
        free(w);
        free(b);
        free(dy);
        free(dx0);
    }
}

/* Same inputs, same thread count: byte-identical outputs and gradients (the weight gradient is
 * a reduction over the batch, split between threads). Also after the backend has switched to
 * another batch size and back. */
static void t_dnnl_deterministic(void)
{
    nn_conv_desc d;
    nn_conv_desc_init(&d, 16, 14, 14, 32, 3, 1, 1, 1, NULL);
    d.src_layout = d.dst_layout = NN_LAYOUT_B16;
    const int n = 16;
    const size_t xs = (size_t)n * 16 * 196, ys = (size_t)n * 32 * 196, ws = 32 * 16 * 9;
    rng_stream r;
    rng_init(&r, 3, "test.dnnl.det");
    float *x = falloc(xs), *w = falloc(ws), *b = falloc(32), *dy = falloc(ys);
    fill(&r, x, xs, -1, 1);
    fill(&r, w, ws, -1, 1);
    fill(&r, dy, ys, -1, 1);
    void *st = NULL;
    if (!CHECK_INT(nn_conv_backend_dnnl.prepare(&d, n, &st, NULL), ES_OK)) return;
    float *scratch = falloc(nn_conv_backend_dnnl.scratch_floats(&d, n));
    float *out[2][4];
    for (int rep = 0; rep < 2; rep++) {
        float *y = falloc(ys), *dx = falloc(xs), *dw = falloc(ws), *db = falloc(32);
        if (rep == 1) { /* run another batch size in between */
            float *y2 = falloc(ys);
            nn_conv_backend_dnnl.forward(st, &d, n / 2, x, w, b, y2, scratch);
            nn_conv_backend_dnnl.forward(st, &d, n / 4, x, w, b, y2, scratch);
            free(y2);
        }
        CHECK_INT(nn_conv_backend_dnnl.forward(st, &d, n, x, w, b, y, scratch), ES_OK);
        CHECK_INT(nn_conv_backend_dnnl.backward(st, &d, n, x, w, dy, dx, 0, dw, db, scratch), ES_OK);
        out[rep][0] = y;
        out[rep][1] = dx;
        out[rep][2] = dw;
        out[rep][3] = db;
    }
    const size_t len[4] = {ys, xs, ws, 32};
    for (int k = 0; k < 4; k++)
        CHECK_MSG(memcmp(out[0][k], out[1][k], len[k] * sizeof(float)) == 0,
                  "output %d identical across runs", k);
    for (int rep = 0; rep < 2; rep++)
        for (int k = 0; k < 4; k++)
            free(out[rep][k]);
    nn_conv_backend_dnnl.release(st);
    free(scratch);
    free(x);
    free(w);
    free(b);
    free(dy);
}
#endif

/* ---- batch norm, shortcut, pooling, fused add + ReLU ---------------------------------------- */

static void relu_inplace(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static void t_bn_ex(void)
{
    static const int shapes[][3] = {{4, 16, 49}, {3, 32, 9}, {2, 48, 1}, {5, 16, 196}, {3, 5, 7}};
    rng_stream r;
    rng_init(&r, 4, "test.dnnl.bn");
    for (size_t t = 0; t < ES_ARRAY_LEN(shapes); t++) {
        const int n = shapes[t][0], c = shapes[t][1], hw = shapes[t][2];
        const size_t len = (size_t)n * c * hw;
        float *x = falloc(len), *dy = falloc(len), *g = falloc(c), *be = falloc(c),
              *dx0 = falloc(len);
        fill(&r, x, len, -2, 3);
        fill(&r, dy, len, -1, 1);
        fill(&r, g, c, 0.5f, 1.5f);
        fill(&r, be, c, -0.5f, 0.5f);
        fill(&r, dx0, len, -1, 1);
        double *work = calloc(NN_BN_WORK_DOUBLES(n, c), sizeof *work);
        for (int lay = 0; lay < 2; lay++)
            for (int relu = 0; relu < 2; relu++)
                for (int training = 0; training < 2; training++) {
                    if (lay && c % 16) continue;
                    /* reference: NCHW kernels, then ReLU; backward: ReLU mask, then BN */
                    float *yr = falloc(len), *dxr = falloc(len), *dyr = falloc(len);
                    float rm[64], rv[64], sm[64], si[64], dg[64], db[64];
                    float rm2[64], rv2[64], sm2[64], si2[64], dg2[64], db2[64];
                    for (int k = 0; k < c; k++)
                        rm[k] = rm2[k] = 0.1f * k, rv[k] = rv2[k] = 1.0f + 0.05f * k;
                    if (training)
                        nn_bn_forward_train(x, n, c, hw, g, be, 0.1f, 1e-5f, rm, rv, yr, sm, si);
                    else
                        nn_bn_forward_infer(x, n, c, hw, g, be, 1e-5f, rm, rv, yr, sm, si);
                    if (relu) relu_inplace(yr, len);
                    for (size_t i = 0; i < len; i++)
                        dyr[i] = !relu || yr[i] > 0.0f ? dy[i] : 0.0f;
                    memcpy(dxr, dx0, len * sizeof *dxr);
                    nn_bn_backward(x, dyr, n, c, hw, g, sm, si, training, dxr, relu, dg, db);
                    /* layout-generic kernels in layout lay (accumulating when relu, for
                     * coverage of both modes) */
                    float *xl = to_layout(x, n, c, hw, lay), *dyl = to_layout(dy, n, c, hw, lay),
                          *dxl = to_layout(dx0, n, c, hw, lay), *yl = falloc(len);
                    if (training)
                        nn_bn_forward_train_ex(xl, n, c, hw, lay, g, be, 0.1f, 1e-5f, rm2, rv2, yl,
                                               sm2, si2, relu, work);
                    else
                        nn_bn_forward_infer_ex(xl, n, c, hw, lay, g, be, 1e-5f, rm2, rv2, yl, sm2,
                                               si2, relu);
                    nn_bn_backward_ex(xl, dyl, relu ? be : NULL, n, c, hw, lay, g, sm2, si2,
                                      training, dxl, relu, dg2, db2, work);
                    from_layout(yl, n, c, hw, lay);
                    from_layout(dxl, n, c, hw, lay);
                    CHECK_MSG(rel_err(yl, yr, len) < 1e-5 && rel_err(dxl, dxr, len) < 1e-4 &&
                                  rel_err(dg2, dg, c) < 1e-4 && rel_err(db2, db, c) < 1e-4 &&
                                  rel_err(rm2, rm, c) < 1e-6 && rel_err(rv2, rv, c) < 1e-5 &&
                                  rel_err(si2, si, c) < 1e-5,
                              "bn %dx%dx%d layout %d relu %d training %d: y %g dx %g dgamma %g "
                              "dbeta %g",
                              n, c, hw, lay, relu, training, rel_err(yl, yr, len),
                              rel_err(dxl, dxr, len), rel_err(dg2, dg, c), rel_err(db2, db, c));
                    free(yr);
                    free(dxr);
                    free(dyr);
                    free(xl);
                    free(dyl);
                    free(dxl);
                    free(yl);
                }
        free(x);
        free(dy);
        free(g);
        free(be);
        free(dx0);
        free(work);
    }
}

static void t_shortcut_gap_b16(void)
{
    rng_stream r;
    rng_init(&r, 5, "test.dnnl.sc");
    /* cin, h, w, cout, stride */
    static const int cases[][5] = {{16, 28, 28, 32, 2}, {32, 7, 9, 64, 2}, {16, 5, 5, 16, 1},
                                   {16, 6, 6, 48, 3}};
    const int n = 3;
    for (size_t t = 0; t < ES_ARRAY_LEN(cases); t++) {
        const int cin = cases[t][0], h = cases[t][1], w = cases[t][2], cout = cases[t][3],
                  s = cases[t][4];
        const int ho = (h - 1) / s + 1, wo = (w - 1) / s + 1;
        const size_t xs = (size_t)n * cin * h * w, ys = (size_t)n * cout * ho * wo;
        float *x = falloc(xs), *dy = falloc(ys), *dx0 = falloc(xs), *y = falloc(ys),
              *dx = falloc(xs);
        fill(&r, x, xs, -1, 1);
        fill(&r, dy, ys, -1, 1);
        fill(&r, dx0, xs, -1, 1);
        nn_shortcut_a_forward(x, n, cin, h, w, cout, s, y);
        memcpy(dx, dx0, xs * sizeof *dx);
        nn_shortcut_a_backward(dy, n, cin, h, w, cout, s, dx, 1);
        float *xb = to_layout(x, n, cin, h * w, NN_LAYOUT_B16), *yb = falloc(ys),
              *dyb = to_layout(dy, n, cout, ho * wo, NN_LAYOUT_B16),
              *dxb = to_layout(dx0, n, cin, h * w, NN_LAYOUT_B16);
        nn_shortcut_a_forward_b16(xb, n, cin, h, w, cout, s, yb);
        nn_shortcut_a_backward_b16(dyb, n, cin, h, w, cout, s, dxb, 1);
        from_layout(yb, n, cout, ho * wo, NN_LAYOUT_B16);
        from_layout(dxb, n, cin, h * w, NN_LAYOUT_B16);
        CHECK_MSG(memcmp(yb, y, ys * sizeof *y) == 0 && rel_err(dxb, dx, xs) < 1e-6,
                  "shortcut %d -> %d stride %d", cin, cout, s);
        /* global average pooling of the input */
        float *g = falloc((size_t)n * cin), *gb = falloc((size_t)n * cin);
        nn_gap_forward(x, n, cin, h * w, g);
        nn_gap_forward_b16(xb, n, cin, h * w, gb);
        CHECK_MSG(rel_err(gb, g, (size_t)n * cin) < 1e-6, "gap %dx%dx%d", cin, h, w);
        memcpy(dx, dx0, xs * sizeof *dx);
        nn_gap_backward(g, n, cin, h * w, dx, 1);
        float *dxg = to_layout(dx0, n, cin, h * w, NN_LAYOUT_B16);
        nn_gap_backward_b16(g, n, cin, h * w, dxg, 1);
        from_layout(dxg, n, cin, h * w, NN_LAYOUT_B16);
        CHECK_MSG(rel_err(dxg, dx, xs) < 1e-6, "gap backward %dx%dx%d", cin, h, w);
        free(x), free(dy), free(dx0), free(y), free(dx), free(xb), free(yb), free(dyb);
        free(dxb), free(g), free(gb), free(dxg);
    }
}

static void t_add_relu(void)
{
    rng_stream r;
    rng_init(&r, 6, "test.dnnl.add");
    const size_t len = 100003; /* past the threading threshold, odd tail */
    float *a = falloc(len), *b = falloc(len), *y = falloc(len), *y2 = falloc(len),
          *dy = falloc(len), *da = falloc(len), *db = falloc(len), *da2 = falloc(len),
          *db2 = falloc(len);
    fill(&r, a, len, -1, 1);
    fill(&r, b, len, -1, 1);
    fill(&r, dy, len, -1, 1);
    fill(&r, da, len, -1, 1);
    memcpy(da2, da, len * sizeof *da);
    nn_add_forward(a, b, y, len);
    nn_relu_forward(y, y, len);
    nn_add_relu_forward(a, b, y2, len);
    CHECK(memcmp(y, y2, len * sizeof *y) == 0);
    float *g = falloc(len);
    nn_relu_backward(y, dy, g, len, 0);
    nn_copy_backward(g, da, len, 1);
    nn_copy_backward(g, db, len, 0);
    nn_add_relu_backward(y2, dy, da2, 1, db2, 0, len);
    CHECK(memcmp(da, da2, len * sizeof *da) == 0);
    CHECK(memcmp(db, db2, len * sizeof *db) == 0);
    free(a), free(b), free(y), free(y2), free(dy), free(da), free(db), free(da2), free(db2);
    free(g);
}

/* ---- whole networks ----------------------------------------------------------------------- */

/* One forward + backward of a network on backend be; returns the loss and copies of every
 * trainable gradient (concatenated). */
static double net_step(const char *preset, nn_shape in, const nn_conv_backend *be, int n,
                       float **grads, size_t *glen)
{
    nn_net *net = NULL;
    if (nn_preset_create(preset, in, 10, &net, NULL) < 0) return NAN;
    nn_net_set_conv_backend(net, be, NULL);
    nn_net_init_params(net, 21);
    rng_stream r;
    rng_init(&r, 22, "test.dnnl.net");
    const size_t xs = (size_t)n * nn_shape_size(in);
    float *x = falloc(xs);
    int32_t *labels = calloc((size_t)n, sizeof *labels);
    fill(&r, x, xs, -1, 1);
    for (int i = 0; i < n; i++)
        labels[i] = i % 10;
    double loss = NAN;
    if (nn_net_forward(net, x, n, labels, 1, &loss, NULL) < 0 || nn_net_backward(net, NULL) < 0)
        loss = NAN;
    size_t total = nn_net_param_total(net, 0), off = 0;
    *grads = falloc(total);
    for (int i = 0; i < nn_net_num_params(net); i++) {
        const nn_param *p = nn_net_param(net, i);
        if (!p->trainable) continue;
        memcpy(*grads + off, p->grad, p->numel * sizeof(float));
        off += p->numel;
    }
    *glen = total;
    nn_net_destroy(net);
    free(x);
    free(labels);
    return loss;
}

static void t_net_backends(void)
{
    static const char *const presets[] = {"resnet20", "lenet5", "resnet20b"};
    const nn_shape in[] = {{1, 12, 12}, {1, 28, 28}, {3, 8, 8}};
    const nn_conv_backend *def = nn_conv_backend_default();
    CHECK(nn_conv_backend_find("gemm") == &nn_conv_backend_gemm);
    CHECK(nn_conv_backend_find("nope") == NULL);
#ifdef ES_HAVE_DNNL
    CHECK(def == &nn_conv_backend_dnnl && nn_conv_backend_find("dnnl") == def);
#else
    CHECK(def == &nn_conv_backend_gemm && nn_conv_backend_find("dnnl") == NULL);
#endif
    for (size_t t = 0; t < ES_ARRAY_LEN(presets); t++) {
        float *g1, *g2, *g3;
        size_t n1, n2, n3;
        const double l1 = net_step(presets[t], in[t], &nn_conv_backend_gemm, 6, &g1, &n1);
        const double l2 = net_step(presets[t], in[t], def, 6, &g2, &n2);
        const double l3 = net_step(presets[t], in[t], def, 6, &g3, &n3);
        CHECK_MSG(n1 == n2 && fabs(l1 - l2) < 1e-5 && rel_err(g2, g1, n1) < 1e-3,
                  "%s: %s vs gemm: loss %.7f vs %.7f, gradients %g", presets[t], def->name, l2, l1,
                  rel_err(g2, g1, n1));
        CHECK_MSG(l2 == l3 && memcmp(g2, g3, n2 * sizeof *g2) == 0,
                  "%s: %s twice, byte-identical", presets[t], def->name);
        free(g1);
        free(g2);
        free(g3);
    }
}

/* Batch-parallel execution (LeNet-5 has no batch norm: each of 2 threads runs its half of the
 * batch) against layer-by-layer execution on 1 thread: same loss and gradients up to the order
 * of the final gradient sums; byte-identical across runs at 2 threads. */
static void t_batch_parallel(void)
{
    const nn_shape in = {1, 28, 28};
    float *g1, *g2, *g3;
    size_t n1, n2, n3;
    nn_gemm_set_threads(1);
    const double l1 = net_step("lenet5", in, nn_conv_backend_default(), 40, &g1, &n1);
    nn_gemm_set_threads(2);
    const double l2 = net_step("lenet5", in, nn_conv_backend_default(), 40, &g2, &n2);
    const double l3 = net_step("lenet5", in, nn_conv_backend_default(), 40, &g3, &n3);
    CHECK_MSG(n1 == n2 && fabs(l1 - l2) < 1e-6 && rel_err(g2, g1, n1) < 1e-5,
              "2 slices vs serial: loss %.8f vs %.8f, gradients %g", l2, l1, rel_err(g2, g1, n1));
    CHECK_MSG(l2 == l3 && memcmp(g2, g3, n2 * sizeof *g2) == 0, "2 slices twice, byte-identical");
    free(g1);
    free(g2);
    free(g3);
}

int main(int argc, char **argv)
{
    static const tap_test tests[] = {
        {"layout_roundtrip", t_layout_roundtrip},
#ifdef ES_HAVE_DNNL
        {"dnnl_vs_gemm", t_dnnl_vs_gemm},
        {"dnnl_deterministic", t_dnnl_deterministic},
#endif
        {"bn_ex", t_bn_ex},
        {"shortcut_gap_b16", t_shortcut_gap_b16},
        {"add_relu", t_add_relu},
        {"net_backends", t_net_backends},
        {"batch_parallel", t_batch_parallel},
    };
    return tap_main(tests, ES_ARRAY_LEN(tests), argc, argv);
}
