/* wpol_essence_aggr.c - "aggressive tuning" on top of ESSENCE, our definition (the paper gives
 * no details): the density target is multiplied by policy.kappa at every learning-rate
 * milestone (train.milestones), and per-layer densities (policy.layers) protect sensitive
 * layers. */
#include "wpol.h"

static int aggr_create(const essim_config *cfg, const wpol_layer *layers, size_t nlayers,
                       void **state, es_err *err)
{
    wpol_prob_config pc = {cfg->policy.endurance, 1};
    return wpol_prob_create(cfg, layers, nlayers, &pc, state, err);
}

const wpol_ops wpol_essence_aggr = {WPOL_VERSION,       "essence-aggressive", 0, aggr_create,
                                    wpol_prob_destroy, wpol_prob_decide};
