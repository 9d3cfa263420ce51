/* wpol_essence.c - ESSENCE as we reconstruct it (essence.md): structured stochastic gradient
 * pruning whose per-block threshold grows with the block's update count (policy.endurance:
 * relative, or budget), with the layer threshold solved so the expected density stays
 * policy.density; only which blocks are written changes, which lowers the maximum count. */
#include "wpol.h"

static int essence_create(const essim_config *cfg, const wpol_layer *layers, size_t nlayers,
                          void **state, es_err *err)
{
    wpol_prob_config pc = {cfg->policy.endurance, 0};
    return wpol_prob_create(cfg, layers, nlayers, &pc, state, err);
}

const wpol_ops wpol_essence = {WPOL_VERSION,       "essence",       0, essence_create,
                               wpol_prob_destroy, wpol_prob_decide};
