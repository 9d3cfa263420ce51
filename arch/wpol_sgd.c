/* wpol_sgd.c - dense SGD: every block is written every iteration, unscaled (the baseline of
 * every savings figure). */
#include <stdlib.h>

#include "wpol.h"

typedef struct sgd_state {
    const wpol_layer *layers;
} sgd_state;

static int sgd_create(const essim_config *cfg, const wpol_layer *layers, size_t nlayers,
                      void **state, es_err *err)
{
    sgd_state *s = malloc(sizeof *s);
    if (!s) return es_fail(err, ES_ENOMEM, "out of memory");
    s->layers = layers;
    *state = s;
    return ES_OK;
}

static void sgd_destroy(void *state) { free(state); }

static void sgd_decide(void *state, size_t l, const wpol_iter *it, const double *norm,
                       uint8_t *keep, float *scale, rng_stream *rng)
{
    const sgd_state *s = state;
    for (size_t g = 0; g < s->layers[l].nblocks; g++) {
        keep[g] = 1;
        scale[g] = 1.0f;
    }
}

const wpol_ops wpol_sgd = {WPOL_VERSION, "sgd", 0, sgd_create, sgd_destroy, sgd_decide};
