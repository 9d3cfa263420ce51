/* nn_sgd.c - SGD with momentum / Nesterov / weight decay, as two pieces (compute the update,
 * apply it) and as a fused dense step. See nn_sgd.h for the equations. */
#include "nn_sgd.h"

#include <stdlib.h>
#include <string.h>

#include "nn_par.h"

struct nn_sgd {
    nn_sgd_config cfg;
    nn_net *net;
    int nparams;
    float **vel; /* per parameter, NULL for buffers */
};

void nn_sgd_config_default(nn_sgd_config *cfg)
{
    cfg->lr = 0.1f;
    cfg->momentum = 0.9f;
    cfg->weight_decay = 0.0f;
    cfg->nesterov = 0;
    cfg->decay_digital = 1;
}

int nn_sgd_create(const nn_sgd_config *cfg, nn_net *net, nn_sgd **out, es_err *err)
{
    *out = NULL;
    if (!(cfg->lr >= 0.0f))
        return es_fail(err, ES_ECONFIG, "sgd: learning rate %g must be >= 0", (double)cfg->lr);
    if (!(cfg->momentum >= 0.0f && cfg->momentum < 1.0f))
        return es_fail(err, ES_ECONFIG, "sgd: momentum %g must be in [0, 1)",
                       (double)cfg->momentum);
    if (!(cfg->weight_decay >= 0.0f))
        return es_fail(err, ES_ECONFIG, "sgd: weight decay %g must be >= 0",
                       (double)cfg->weight_decay);
    if (cfg->nesterov && cfg->momentum <= 0.0f)
        return es_fail(err, ES_ECONFIG, "sgd: Nesterov momentum needs momentum > 0");
    nn_sgd *o = calloc(1, sizeof *o);
    if (!o) return es_fail(err, ES_ENOMEM, "out of memory creating the optimizer");
    o->cfg = *cfg;
    o->net = net;
    o->nparams = nn_net_num_params(net);
    o->vel = calloc((size_t)(o->nparams ? o->nparams : 1), sizeof *o->vel);
    if (!o->vel) goto nomem;
    for (int i = 0; i < o->nparams; i++) {
        const nn_param *p = nn_net_param(net, i);
        if (!p->trainable) continue;
        o->vel[i] = calloc(p->numel ? p->numel : 1, sizeof(float));
        if (!o->vel[i]) goto nomem;
    }
    *out = o;
    return ES_OK;
nomem:
    nn_sgd_destroy(o);
    return es_fail(err, ES_ENOMEM, "out of memory creating the optimizer");
}

void nn_sgd_destroy(nn_sgd *opt)
{
    if (!opt) return;
    for (int i = 0; opt->vel && i < opt->nparams; i++)
        free(opt->vel[i]);
    free(opt->vel);
    free(opt);
}

void nn_sgd_set_lr(nn_sgd *opt, float lr)
{
    opt->cfg.lr = lr;
}

float nn_sgd_lr(const nn_sgd *opt)
{
    return opt->cfg.lr;
}

static float decay_of(const nn_sgd *opt, const nn_param *p)
{
    return (p->mapped || opt->cfg.decay_digital) ? opt->cfg.weight_decay : 0.0f;
}

int nn_sgd_compute_update(nn_sgd *opt, int param, float *update)
{
    const nn_param *p = nn_net_param(opt->net, param);
    if (!p || !p->trainable || param >= opt->nparams)
        return es_fail(NULL, ES_EINVAL, "sgd: parameter %d is not trainable", param);
    const float lr = opt->cfg.lr, m = opt->cfg.momentum, wd = decay_of(opt, p);
    const float *w = p->data, *g = p->grad;
    float *v = opt->vel[param];
    if (opt->cfg.nesterov) {
        for (size_t i = 0; i < p->numel; i++) {
            float gi = g[i] + wd * w[i];
            v[i] = m * v[i] + gi;
            update[i] = lr * (gi + m * v[i]);
        }
    } else {
        for (size_t i = 0; i < p->numel; i++) {
            v[i] = m * v[i] + (g[i] + wd * w[i]);
            update[i] = lr * v[i];
        }
    }
    return ES_OK;
}

void nn_sgd_apply_update(float *w, const float *update, size_t n, float scale)
{
    if (scale == 1.0f)
        for (size_t i = 0; i < n; i++)
            w[i] -= update[i];
    else
        for (size_t i = 0; i < n; i++)
            w[i] -= scale * update[i];
}

/* The step for elements [e0, e1) of parameter k. */
static void step_range(nn_sgd *opt, int k, size_t e0, size_t e1)
{
    const float lr = opt->cfg.lr, m = opt->cfg.momentum;
    const nn_param *p = nn_net_param(opt->net, k);
    const float wd = decay_of(opt, p);
    float *w = p->data, *v = opt->vel[k];
    const float *g = p->grad;
    /* same arithmetic, in the same order, as compute_update + apply_update, so a policy
     * that writes everything reproduces the dense step bit for bit */
    if (opt->cfg.nesterov) {
        for (size_t i = e0; i < e1; i++) {
            float gi = g[i] + wd * w[i];
            v[i] = m * v[i] + gi;
            w[i] -= lr * (gi + m * v[i]);
        }
    } else {
        for (size_t i = e0; i < e1; i++) {
            v[i] = m * v[i] + (g[i] + wd * w[i]);
            w[i] -= lr * v[i];
        }
    }
}

/* Elements [lo, hi) of the trainable parameters laid end to end. */
static void step_span(nn_sgd *opt, size_t lo, size_t hi)
{
    size_t a = 0;
    for (int k = 0; k < opt->nparams && a < hi; k++) {
        const nn_param *p = nn_net_param(opt->net, k);
        if (!p->trainable) continue;
        const size_t b = a + p->numel;
        if (b > lo) step_range(opt, k, (lo > a ? lo : a) - a, (hi < b ? hi : b) - a);
        a = b;
    }
}

void nn_sgd_step(nn_sgd *opt)
{
    size_t total = 0;
    for (int k = 0; k < opt->nparams; k++) {
        const nn_param *p = nn_net_param(opt->net, k);
        if (p->trainable) total += p->numel;
    }
    /* every element's update is independent: the threads take equal spans (the same bits
     * for any thread count) */
    const int T = nn_par_threads();
    if (T > 1 && total >= NN_PAR_MIN_ELEMS) {
#ifdef _OPENMP
#pragma omp parallel num_threads(T)
        {
            const size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
            step_span(opt, total * t / nt, total * (t + 1) / nt);
        }
        return;
#endif
    }
    step_span(opt, 0, total);
}

float *nn_sgd_velocity(nn_sgd *opt, int param)
{
    return param >= 0 && param < opt->nparams ? opt->vel[param] : NULL;
}
