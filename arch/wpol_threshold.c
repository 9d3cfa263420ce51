/* wpol_threshold.c - threshold training (after Xia et al., DAC 2017): a block is written when
 * the norm of its accumulated update (this iteration's update plus the digital residual of
 * the updates not yet written) exceeds policy.threshold x the layer's mean accumulated norm;
 * the scheduler then writes the whole accumulated update and clears the residual. */
#include <stdlib.h>

#include "wpol.h"

typedef struct thr_state {
    const wpol_layer *layers;
    double threshold;
} thr_state;

static int thr_create(const essim_config *cfg, const wpol_layer *layers, size_t nlayers,
                      void **state, es_err *err)
{
    thr_state *s = malloc(sizeof *s);
    if (!s) return es_fail(err, ES_ENOMEM, "out of memory");
    s->layers = layers;
    s->threshold = cfg->policy.threshold;
    *state = s;
    return ES_OK;
}

static void thr_destroy(void *state) { free(state); }

static void thr_decide(void *state, size_t l, const wpol_iter *it, const double *norm,
                       uint8_t *keep, float *scale, rng_stream *rng)
{
    const thr_state *s = state;
    size_t n = s->layers[l].nblocks;
    double mean = 0;
    for (size_t g = 0; g < n; g++) mean += norm[g];
    mean = n ? mean / (double)n : 0;
    double t = s->threshold * mean;
    for (size_t g = 0; g < n; g++) {
        keep[g] = norm[g] > 0 && norm[g] >= t;
        scale[g] = keep[g] ? 1.0f : 0.0f;
    }
}

const wpol_ops wpol_threshold = {WPOL_VERSION, "threshold", 1, thr_create, thr_destroy,
                                 thr_decide};
