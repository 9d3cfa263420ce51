/* bench_train.c - training throughput of ESSIM's engine, measured like the PyTorch peer
 * (../shared/bench/pytorch_peer.py --mode throughput): the same networks, batch sizes and
 * recipes on Fashion-MNIST, forward + backward + SGD step, 10 warm-up iterations, then N
 * timed iterations. Prints one JSON line with images/s and peak RSS. Not a test: run it
 * through bench/bench_train.sh, which runs the peer in the same invocation and prints ratios.
 *
 *   bench_train --model lenet|resnet20 [--threads 2] [--iters N] [--warmup 10]
 *               [--conv gemm|dnnl] (default: the build's default convolution backend)
 *               [--without direct-conv|vector-pool|folds|nothing] (one speed-up off)
 *               [--profile] (then per layer: forward and backward milliseconds per iteration,
 *               of the first slice in batch-parallel mode, on stderr; the timers cost a
 *               little, so images/s of a profiled run is not the figure to quote) */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "ds_dataset.h"
#include "es_common.h"
#include "nn_direct.h"
#include "nn_gemm.h"
#include "nn_layers.h"
#include "nn_net.h"
#include "nn_presets.h"
#include "nn_sgd.h"

int main(int argc, char **argv)
{
    const char *model = "lenet";
    int threads = 2, iters = -1, warmup = 10, profile = 0;
    int direct = NN_DIRECT_CONV | NN_DIRECT_POOL;
    const nn_conv_backend *conv = nn_conv_backend_default();
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc)
            iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc)
            warmup = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--profile"))
            profile = 1;
        else if (!strcmp(argv[i], "--without") && i + 1 < argc) {
            /* switch one speed-up off, to measure what it contributes (bench_ablation.sh) */
            const char *w = argv[++i];
            if (!strcmp(w, "direct-conv"))
                direct &= ~NN_DIRECT_CONV;
            else if (!strcmp(w, "vector-pool"))
                direct &= ~NN_DIRECT_POOL;
            else if (!strcmp(w, "folds"))
                nn_net_set_fusions(0);
            else if (strcmp(w, "nothing")) {
                fprintf(stderr, "bench_train: --without direct-conv|vector-pool|folds|nothing\n");
                return 2;
            }
        }
        else if (!strcmp(argv[i], "--conv") && i + 1 < argc && nn_conv_backend_find(argv[i + 1]))
            conv = nn_conv_backend_find(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_train --model lenet|resnet20 [--threads N] [--iters N] "
                            "[--warmup N] [--conv gemm|dnnl] [--profile] "
                            "[--without direct-conv|vector-pool|folds|nothing]\n");
            return 2;
        }
    }
    nn_direct_set_enabled(direct);
    int is_lenet = !strcmp(model, "lenet");
    const char *preset = is_lenet ? "lenet5" : "resnet20";
    int batch = is_lenet ? 64 : 128;
    if (iters < 0) iters = is_lenet ? 200 : 20;
    es_err err;
    ds_dataset *train = NULL, *test = NULL;
    if (ds_load_splits("fashion-mnist", NULL, &train, &test, &err) < 0) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 1;
    }
    nn_gemm_set_threads(threads);
    nn_net *net = NULL;
    nn_shape in = {1, 28, 28};
    if (nn_preset_create(preset, in, 10, &net, &err) < 0) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 1;
    }
    if (nn_net_set_conv_backend(net, conv, &err) < 0) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 1;
    }
    nn_net_init_params(net, 0);
    nn_sgd_config sc;
    nn_sgd_config_default(&sc);
    sc.lr = is_lenet ? 0.05f : 0.1f;
    sc.momentum = 0.9f;
    sc.weight_decay = is_lenet ? 0.0f : 1e-4f;
    nn_sgd *sgd = NULL;
    if (nn_sgd_create(&sc, net, &sgd, &err) < 0 || nn_net_reserve(net, batch, &err) < 0) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 1;
    }
    uint32_t *perm = malloc(train->n * sizeof *perm);
    float *x = malloc((size_t)batch * 784 * sizeof *x);
    int32_t *labels = malloc((size_t)batch * sizeof *labels);
    ds_epoch_order(0, 0, perm, train->n);
    double t0 = 0, loss = 0, sgd_s = 0, fill_s = 0;
    for (int it = 0; it < warmup + iters; it++) {
        if (it == warmup) {
            t0 = es_host_seconds();
            nn_net_set_profile(net, profile);
            sgd_s = fill_s = 0;
        }
        double ta = es_host_seconds();
        size_t start = ((size_t)it * (size_t)batch) % (train->n - (size_t)batch);
        if (ds_batch_fill(train, perm + start, (size_t)batch, NULL, NULL, x, labels, &err) < 0 ||
            (fill_s += es_host_seconds() - ta, 0) || nn_net_forward(net, x, batch, labels, 1, &loss, &err) < 0 ||
            nn_net_backward(net, &err) < 0) {
            fprintf(stderr, "bench_train: %s\n", err.msg);
            return 1;
        }
        double tb = es_host_seconds();
        nn_sgd_step(sgd);
        sgd_s += es_host_seconds() - tb;
    }
    double dt = es_host_seconds() - t0;
    if (profile) {
        double tf = 0, tbk = 0;
        fprintf(stderr, "%-10s %-8s %9s %9s\n", "node", "op", "fwd_ms", "bwd_ms");
        for (int i = 1; i < nn_net_num_nodes(net); i++) {
            nn_node_info ni;
            double f, b;
            nn_net_node_info(net, i, &ni);
            nn_net_profile(net, i, &f, &b);
            tf += f;
            tbk += b;
            fprintf(stderr, "%-10s %-8s %9.3f %9.3f\n", ni.name, nn_op_name(ni.op),
                    f / iters * 1e3, b / iters * 1e3);
        }
        fprintf(stderr, "%-10s %-8s %9.3f %9.3f\n", "layers", "", tf / iters * 1e3,
                tbk / iters * 1e3);
        fprintf(stderr, "%-10s %-8s %9.3f\n%-10s %-8s %9.3f\n%-10s %-8s %9.3f\n", "batch", "fill",
                fill_s / iters * 1e3, "sgd", "step", sgd_s / iters * 1e3, "total", "",
                dt / iters * 1e3);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"model\": \"%s\", \"engine\": \"essim\", \"threads\": %d, \"batch\": %d, "
           "\"iters\": %d, \"train_img_s\": %.1f, \"train_ms_per_iter\": %.3f, "
           "\"loss\": %.9g, \"gemm\": \"%s\", \"conv\": \"%s\", \"maxrss_kb\": %ld}\n",
           model, threads, batch, iters, (double)iters * batch / dt, dt / iters * 1e3, loss,
           nn_gemm_backend_name(), conv->name, ru.ru_maxrss);
    free(perm);
    free(x);
    free(labels);
    nn_sgd_destroy(sgd);
    nn_net_destroy(net);
    ds_destroy(train);
    ds_destroy(test);
    return 0;
}
