/* wpol_ssgp.c - "No Endurance": structured stochastic gradient pruning without the endurance
 * term (essence.md steps 2-6 with lambda = 0): keep block g with p = min(1, n_g / tau), tau
 * solved per layer for the density, written with the unbiased update U_g / max(p, p_min). */
#include "wpol.h"

static int ssgp_create(const essim_config *cfg, const wpol_layer *layers, size_t nlayers,
                       void **state, es_err *err)
{
    wpol_prob_config pc = {CFG_ENDUR_NONE, 0};
    return wpol_prob_create(cfg, layers, nlayers, &pc, state, err);
}

const wpol_ops wpol_ssgp = {WPOL_VERSION,       "ssgp",          0, ssgp_create,
                            wpol_prob_destroy, wpol_prob_decide};
