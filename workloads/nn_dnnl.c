/* nn_dnnl.c - convolutions through oneDNN's C API (see nn_dnnl.h). One state per conv layer
 * holds, per batch size, the forward / backward-data / backward-weights primitives, their
 * weight layouts and a scratchpad; activations are passed by pointer (memory objects whose
 * handle is set per call), never copied. */
#include "nn_dnnl.h"

#ifdef ES_HAVE_DNNL

#include <dnnl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* One engine and stream for the process: oneDNN's CPU engine is stateless apart from its
 * kernel cache, and the OpenMP runtime executes primitives synchronously on the caller. */
static dnnl_engine_t dn_engine;
static dnnl_stream_t dn_stream;
static int dn_init_ok;
static pthread_once_t dn_once = PTHREAD_ONCE_INIT;

static void dn_init(void)
{
    if (dnnl_engine_create(&dn_engine, dnnl_cpu, 0) != dnnl_success) return;
    if (dnnl_stream_create(&dn_stream, dn_engine, dnnl_stream_default_flags) != dnnl_success)
        return;
    dn_init_ok = 1;
}

/* Primitives for one batch size. */
typedef struct dn_set {
    int n; /* 0: empty */
    dnnl_primitive_t fwd, bwdd, bwdw;
    dnnl_primitive_t re_wf, re_wd, re_dw; /* user w -> fwd w, user w -> bwdd w, bwdw dw -> user */
    dnnl_memory_t src, dst, diff_src, diff_dst; /* handles set per call */
    dnnl_memory_t w_user, dw_user, bias, dbias; /* handles set per call */
    dnnl_memory_t wf, wd, dw;                   /* own blocked copies, or NULL when = user */
    dnnl_memory_t sp_f, sp_d, sp_w;             /* scratchpads (one buffer) */
    void *sp;
} dn_set;

#define DN_SETS 2

typedef struct dn_state {
    nn_conv_desc d;
    int gemm; /* NCHW in and out: the im2col + sgemm backend does this layer */
    dn_set set[DN_SETS];
    int next; /* set to evict next */
} dn_state;

static void mem_free(dnnl_memory_t *m)
{
    if (*m) dnnl_memory_destroy(*m);
    *m = NULL;
}

static void prim_free(dnnl_primitive_t *p)
{
    if (*p) dnnl_primitive_destroy(*p);
    *p = NULL;
}

static void set_free(dn_set *s)
{
    prim_free(&s->fwd);
    prim_free(&s->bwdd);
    prim_free(&s->bwdw);
    prim_free(&s->re_wf);
    prim_free(&s->re_wd);
    prim_free(&s->re_dw);
    dnnl_memory_t *m[] = {&s->src,  &s->dst,   &s->diff_src, &s->diff_dst, &s->w_user,
                          &s->dw_user, &s->bias, &s->dbias,  &s->wf,       &s->wd,
                          &s->dw,     &s->sp_f, &s->sp_d,    &s->sp_w};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        mem_free(m[i]);
    free(s->sp);
    memset(s, 0, sizeof *s);
}

static dnnl_format_tag_t tag_of(nn_layout l)
{
    return l == NN_LAYOUT_B16 ? dnnl_nChw16c : dnnl_nchw;
}

/* A memory object over md with no data yet (the handle is set per call). */
static int mem_none(dnnl_memory_t *m, const dnnl_memory_desc_t *md)
{
    return dnnl_memory_create(m, md, dn_engine, DNNL_MEMORY_NONE) == dnnl_success ? 0 : -1;
}

/* When the primitive wants weights in another layout than the user's, an owned buffer in its
 * layout and a reorder between the two (from user to it when to_prim, else back). */
static int weights_bridge(const dnnl_memory_desc_t *user, const dnnl_memory_desc_t *prim,
                          int to_prim, dnnl_memory_t *own, dnnl_primitive_t *re)
{
    if (dnnl_memory_desc_equal(user, prim)) return 0;
    if (dnnl_memory_create(own, prim, dn_engine, DNNL_MEMORY_ALLOCATE) != dnnl_success) return -1;
    dnnl_primitive_desc_t pd;
    const dnnl_memory_desc_t *a = to_prim ? user : prim, *b = to_prim ? prim : user;
    if (dnnl_reorder_primitive_desc_create(&pd, a, dn_engine, b, dn_engine, NULL) != dnnl_success)
        return -1;
    dnnl_status_t st = dnnl_primitive_create(re, pd);
    dnnl_primitive_desc_destroy(pd);
    return st == dnnl_success ? 0 : -1;
}

static int set_build(dn_set *s, const nn_conv_desc *d, int n)
{
    const dnnl_dims_t sdims = {n, d->cin, d->h, d->w}, ddims = {n, d->cout, d->ho, d->wo},
                      wdims = {d->cout, d->cin, d->k, d->k}, bdims = {d->cout},
                      strides = {d->stride, d->stride}, pl = {d->pad, d->pad},
                      pr = {(d->ho - 1) * d->stride + d->k - d->h - d->pad,
                            (d->wo - 1) * d->stride + d->k - d->w - d->pad};
    dnnl_memory_desc_t smd, dmd, wuser, wany, bmd;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t fpd = NULL, dpd = NULL, wpd = NULL;
    dnnl_convolution_desc_t cd;
    int rc = -1;
    memset(s, 0, sizeof *s);
    s->n = n;
    if (dnnl_memory_desc_init_by_tag(&smd, 4, sdims, dnnl_f32, tag_of(d->src_layout)) ||
        dnnl_memory_desc_init_by_tag(&dmd, 4, ddims, dnnl_f32, tag_of(d->dst_layout)) ||
        dnnl_memory_desc_init_by_tag(&wuser, 4, wdims, dnnl_f32, dnnl_oihw) ||
        dnnl_memory_desc_init_by_tag(&wany, 4, wdims, dnnl_f32, dnnl_format_tag_any) ||
        dnnl_memory_desc_init_by_tag(&bmd, 1, bdims, dnnl_f32, dnnl_x))
        goto done;
    if (dnnl_primitive_attr_create(&attr) ||
        dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user))
        goto done;
    /* forward */
    if (dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct,
                                           &smd, &wany, d->bias ? &bmd : NULL, &dmd, strides, pl,
                                           pr) ||
        dnnl_primitive_desc_create(&fpd, &cd, attr, dn_engine, NULL) ||
        dnnl_primitive_create(&s->fwd, fpd))
        goto done;
    if (weights_bridge(&wuser, dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0), 1,
                       &s->wf, &s->re_wf))
        goto done;
    /* backward data */
    if (dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &smd, &wany, &dmd,
                                                 strides, pl, pr) ||
        dnnl_primitive_desc_create(&dpd, &cd, attr, dn_engine, fpd) ||
        dnnl_primitive_create(&s->bwdd, dpd))
        goto done;
    if (weights_bridge(&wuser, dnnl_primitive_desc_query_md(dpd, dnnl_query_weights_md, 0), 1,
                       &s->wd, &s->re_wd))
        goto done;
    /* backward weights */
    if (dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &smd, &wany,
                                                    d->bias ? &bmd : NULL, &dmd, strides, pl,
                                                    pr) ||
        dnnl_primitive_desc_create(&wpd, &cd, attr, dn_engine, fpd) ||
        dnnl_primitive_create(&s->bwdw, wpd))
        goto done;
    if (weights_bridge(&wuser, dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_weights_md, 0),
                       0, &s->dw, &s->re_dw))
        goto done;
    /* activations and user tensors: the layouts were fixed above, so the primitives' memory
     * descriptors are exactly smd / dmd / wuser / bmd */
    if (mem_none(&s->src, &smd) || mem_none(&s->diff_src, &smd) || mem_none(&s->dst, &dmd) ||
        mem_none(&s->diff_dst, &dmd) || mem_none(&s->w_user, &wuser) ||
        mem_none(&s->dw_user, &wuser) || mem_none(&s->bias, &bmd) || mem_none(&s->dbias, &bmd))
        goto done;
    const dnnl_memory_desc_t *spf = dnnl_primitive_desc_query_md(fpd, dnnl_query_scratchpad_md, 0),
                             *spd = dnnl_primitive_desc_query_md(dpd, dnnl_query_scratchpad_md, 0),
                             *spw = dnnl_primitive_desc_query_md(wpd, dnnl_query_scratchpad_md, 0);
    size_t sz = dnnl_memory_desc_get_size(spf);
    if (dnnl_memory_desc_get_size(spd) > sz) sz = dnnl_memory_desc_get_size(spd);
    if (dnnl_memory_desc_get_size(spw) > sz) sz = dnnl_memory_desc_get_size(spw);
    s->sp = aligned_alloc(64, (sz + 63) / 64 * 64 + 64);
    if (!s->sp) goto done;
    if (dnnl_memory_create(&s->sp_f, spf, dn_engine, s->sp) ||
        dnnl_memory_create(&s->sp_d, spd, dn_engine, s->sp) ||
        dnnl_memory_create(&s->sp_w, spw, dn_engine, s->sp))
        goto done;
    rc = 0;
done:
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (dpd) dnnl_primitive_desc_destroy(dpd);
    if (wpd) dnnl_primitive_desc_destroy(wpd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (rc < 0) set_free(s);
    return rc;
}

static void dn_release(void *state)
{
    dn_state *st = state;
    if (!st) return;
    for (int i = 0; i < DN_SETS; i++)
        set_free(&st->set[i]);
    free(st);
}

static int dn_prepare(const nn_conv_desc *d, int max_n, void **state, es_err *err)
{
    *state = NULL;
    pthread_once(&dn_once, dn_init);
    if (!dn_init_ok) return es_fail(err, ES_EINVAL, "oneDNN: cannot create a CPU engine");
    dn_state *st = calloc(1, sizeof *st);
    if (!st) return es_fail(err, ES_ENOMEM, "oneDNN: out of memory");
    st->d = *d;
    /* oneDNN 2.6 has no fast kernels for NCHW activations of few channels (it falls back on
     * its own im2col + gemm, measured 1.5x slower than ours on LeNet-5): keep such layers on the
     * gemm backend, which is also safe to call concurrently on slices of a batch */
    st->gemm = d->src_layout == NN_LAYOUT_NCHW && d->dst_layout == NN_LAYOUT_NCHW;
    if (st->gemm) {
        *state = st;
        return ES_OK;
    }
    if (set_build(&st->set[0], d, max_n) < 0) {
        free(st);
        return es_fail(err, ES_ENOMEM,
                       "oneDNN: cannot build the convolution %dx%dx%d -> %d, k %d, stride %d",
                       d->cin, d->h, d->w, d->cout, d->k, d->stride);
    }
    st->next = 1;
    *state = st;
    return ES_OK;
}

/* The primitives for batch size n: cached, or built now over the least recently built set. */
static dn_set *set_for(dn_state *st, int n)
{
    for (int i = 0; i < DN_SETS; i++)
        if (st->set[i].n == n) return &st->set[i];
    dn_set *s = &st->set[st->next];
    st->next = (st->next + 1) % DN_SETS;
    set_free(s);
    return set_build(s, &st->d, n) < 0 ? NULL : s;
}

static int exec(dnnl_primitive_t p, int nargs, const dnnl_exec_arg_t *args)
{
    return dnnl_primitive_execute(p, dn_stream, nargs, args) == dnnl_success ? ES_OK : ES_EINVAL;
}

/* Set a memory handle; oneDNN never writes through the source operands, hence the cast. */
static void handle(dnnl_memory_t m, const void *p)
{
    dnnl_memory_set_data_handle(m, (void *)(uintptr_t)p);
}

static int reorder(dnnl_primitive_t re, dnnl_memory_t from, dnnl_memory_t to)
{
    const dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    return exec(re, 2, a);
}

static size_t dn_scratch_floats(const nn_conv_desc *d, int n)
{
    if (d->src_layout == NN_LAYOUT_NCHW && d->dst_layout == NN_LAYOUT_NCHW)
        return nn_conv_backend_gemm.scratch_floats(d, n);
    /* the data gradient of an accumulating backward goes here before it is added */
    return (size_t)n * d->cin * d->h * d->w;
}

static int dn_forward(void *state, const nn_conv_desc *d, int n, const float *x, const float *w,
                      const float *b, float *y, float *scratch)
{
    dn_state *st = state;
    if (st->gemm) return nn_conv_backend_gemm.forward(NULL, d, n, x, w, b, y, scratch);
    dn_set *s = set_for(st, n);
    if (!s) return ES_ENOMEM;
    handle(s->w_user, w);
    if (s->re_wf) ES_TRY(reorder(s->re_wf, s->w_user, s->wf));
    handle(s->src, x);
    handle(s->dst, y);
    dnnl_exec_arg_t a[5] = {{DNNL_ARG_SRC, s->src},
                            {DNNL_ARG_WEIGHTS, s->re_wf ? s->wf : s->w_user},
                            {DNNL_ARG_DST, s->dst},
                            {DNNL_ARG_SCRATCHPAD, s->sp_f},
                            {DNNL_ARG_BIAS, s->bias}};
    if (b) handle(s->bias, b);
    return exec(s->fwd, b ? 5 : 4, a);
}

static int dn_backward(void *state, const nn_conv_desc *d, int n, const float *x, const float *w,
                       const float *dy, float *dx, int accum, float *dw, float *db, float *scratch)
{
    dn_state *st = state;
    if (st->gemm)
        return nn_conv_backend_gemm.backward(NULL, d, n, x, w, dy, dx, accum, dw, db, scratch);
    dn_set *s = set_for(st, n);
    if (!s) return ES_ENOMEM;
    handle(s->src, x);
    handle(s->diff_dst, dy);
    handle(s->dw_user, dw);
    dnnl_exec_arg_t a[5] = {{DNNL_ARG_SRC, s->src},
                            {DNNL_ARG_DIFF_DST, s->diff_dst},
                            {DNNL_ARG_DIFF_WEIGHTS, s->re_dw ? s->dw : s->dw_user},
                            {DNNL_ARG_SCRATCHPAD, s->sp_w},
                            {DNNL_ARG_DIFF_BIAS, s->dbias}};
    if (db) handle(s->dbias, db);
    ES_TRY(exec(s->bwdw, db ? 5 : 4, a));
    if (s->re_dw) ES_TRY(reorder(s->re_dw, s->dw, s->dw_user));
    if (!dx) return ES_OK;
    handle(s->w_user, w);
    if (s->re_wd) ES_TRY(reorder(s->re_wd, s->w_user, s->wd));
    handle(s->diff_src, accum ? scratch : dx);
    const dnnl_exec_arg_t b[4] = {{DNNL_ARG_DIFF_DST, s->diff_dst},
                                  {DNNL_ARG_WEIGHTS, s->re_wd ? s->wd : s->w_user},
                                  {DNNL_ARG_DIFF_SRC, s->diff_src},
                                  {DNNL_ARG_SCRATCHPAD, s->sp_d}};
    ES_TRY(exec(s->bwdd, 4, b));
    if (accum) nn_copy_backward(scratch, dx, (size_t)n * d->cin * d->h * d->w, 1);
    return ES_OK;
}

const nn_conv_backend nn_conv_backend_dnnl = {
    .version = NN_CONV_BACKEND_VERSION,
    .name = "dnnl",
    .layouts = (1u << NN_LAYOUT_NCHW) | (1u << NN_LAYOUT_B16),
    .flags = NN_CONV_SLICES, /* NCHW-only layers are the gemm backend's */
    .scratch_floats = dn_scratch_floats,
    .prepare = dn_prepare,
    .release = dn_release,
    .forward = dn_forward,
    .backward = dn_backward,
};

int nn_dnnl_available(void)
{
    return 1;
}

#else

int nn_dnnl_available(void)
{
    return 0;
}

#endif
