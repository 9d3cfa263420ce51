/* bench_policy.c - the cost of the write-policy controller inside a training step: ResNet-20
 * (batch 128, 1x28x28, Fashion-MNIST) or LeNet-5, forward + backward, then the update either
 * as a plain dense SGD step (the peer, nn_sgd_step) or through the write-policy controller with a
 * policy (block norms, density solve, draws, masked update). Prints both per-step times and
 * the controller's overhead as a fraction of the step. Not a test.
 *
 *   bench_policy [--model resnet20|lenet] [--policy essence] [--iters N] [--threads N] */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "lop_compile.h"
#include "ds_dataset.h"
#include "es_common.h"
#include "nn_gemm.h"
#include "nn_net.h"
#include "nn_presets.h"
#include "nn_sgd.h"
#include "wctl.h"
#include "map.h"

int main(int argc, char **argv)
{
    const char *model = "resnet20", *policy = "essence";
    int iters = 10, threads = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model")) model = argv[i + 1];
        else if (!strcmp(argv[i], "--policy")) policy = argv[i + 1];
        else if (!strcmp(argv[i], "--iters")) iters = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
    }
    int lenet = !strcmp(model, "lenet");
    int batch = lenet ? 64 : 128;
    es_err err;
    essim_config cfg;
    char set[64];
    snprintf(set, sizeof set, "policy.name=%s", policy);
    cfg_doc *doc = NULL;
    if (cfg_doc_create_empty(&doc, &err) < 0 || cfg_doc_set(doc, set, &err) < 0 ||
        cfg_bind(doc, &cfg, &err) < 0) {
        fprintf(stderr, "bench_policy: %s\n", err.msg);
        return 2;
    }
    cfg_doc_destroy(doc);
    nn_gemm_set_threads(threads);
    ds_dataset *train = NULL, *test = NULL;
    nn_net *net = NULL;
    nn_shape in = {1, 28, 28};
    if (ds_load_splits("fashion-mnist", NULL, &train, &test, &err) < 0 ||
        nn_preset_create(lenet ? "lenet5" : "resnet20", in, 10, &net, &err) < 0) {
        fprintf(stderr, "bench_policy: %s\n", err.msg);
        return 1;
    }
    nn_net_init_params(net, 1);
    nn_sgd_config sc;
    nn_sgd_config_default(&sc);
    sc.lr = 0.05f;
    nn_sgd *sgd = NULL;
    map_plan *plan = NULL;
    wctl *ws = NULL;
    map_config mc;
    map_config_from(&cfg, &mc);
    mc.require_fit = 0;
    if (nn_sgd_create(&sc, net, &sgd, &err) < 0 || lop_map_net(&mc, net, &plan, &err) < 0 ||
        wctl_create(&cfg, plan, &ws, &err) < 0 || nn_net_reserve(net, batch, &err) < 0) {
        fprintf(stderr, "bench_policy: %s\n", err.msg);
        return 1;
    }
    size_t maxn = 1;
    for (int i = 0; i < nn_net_num_params(net); i++) maxn = ES_MAX(maxn, nn_net_param(net, i)->numel);
    float *u = malloc(maxn * sizeof *u), *x = malloc((size_t)batch * 784 * sizeof *x);
    int32_t *labels = malloc((size_t)batch * sizeof *labels);
    uint32_t *perm = malloc(train->n * sizeof *perm);
    ds_epoch_order(1, 0, perm, train->n);
    double t_fb = 0, t_dense = 0, t_ws = 0, loss;
    for (int it = 0; it < 2 * iters + 4; it++) {
        int measure = it >= 4;
        int dense = it % 2 == 0; /* alternate, so both see the same machine state */
        ds_batch_fill(train, perm + (size_t)it * batch, (size_t)batch, NULL, NULL, x, labels, &err);
        double t0 = es_host_seconds();
        nn_net_forward(net, x, batch, labels, 1, &loss, &err);
        nn_net_backward(net, &err);
        double t1 = es_host_seconds();
        if (dense) {
            nn_sgd_step(sgd);
        } else {
            wctl_begin(ws, (uint64_t)it, 0);
            size_t l = 0;
            for (int i = 0; i < nn_net_num_params(net); i++) {
                const nn_param *p = nn_net_param(net, i);
                if (!p->trainable) continue;
                nn_sgd_compute_update(sgd, i, u);
                if (p->mapped)
                    wctl_layer(ws, l++, u, p->data);
                else
                    nn_sgd_apply_update(p->data, u, p->numel, 1.0f);
            }
            wctl_end(ws);
        }
        double t2 = es_host_seconds();
        if (measure) {
            t_fb += t1 - t0;
            if (dense) t_dense += t2 - t1; else t_ws += t2 - t1;
        }
    }
    double fb = t_fb / (2 * iters), d = t_dense / iters, w = t_ws / iters;
    double step = fb + d;
    printf("{\"model\": \"%s\", \"policy\": \"%s\", \"batch\": %d, \"threads\": %d, "
           "\"forward_backward_ms\": %.3f, \"dense_update_ms\": %.3f, \"controller_update_ms\": %.3f, "
           "\"overhead_fraction_of_step\": %.4f}\n",
           model, policy, batch, threads, 1e3 * fb, 1e3 * d, 1e3 * w, (w - d) / step);
    wctl_destroy(ws);
    map_destroy(plan);
    nn_sgd_destroy(sgd);
    nn_net_destroy(net);
    ds_destroy(train);
    ds_destroy(test);
    free(u);
    free(x);
    free(labels);
    free(perm);
    cfg_free(&cfg);
    return 0;
}
