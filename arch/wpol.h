/* wpol.h - write policies: which crossbar row blocks of a mapped layer are reprogrammed this
 * iteration (essence.md). A policy is a const table of functions (SQLite-style, versioned),
 * one file each (wpol_sgd.c, wpol_threshold.c, wpol_ssgp.c, wpol_essence.c,
 * wpol_essence_aggr.c), selected by name. It sees only numbers: per block the importance
 * (the L2 norm of the block's update, or of update + residual), the block size and the
 * block's update count so far; it returns per block a keep flag and the scale the kept
 * update is written with. The write-policy controller (wctl.h) computes the norms, applies the
 * writes and keeps the counts, so the policy never touches weights.
 *
 * Adding a policy: write wpol_NAME.c with a `const wpol_ops wpol_NAME` table, add it to the
 * registry in wpol.c and its name to the choices of policy.name in sim/cfg_sections.c (the
 * configuration layer cannot see arch/; test_wpol checks that the two lists agree). */
#ifndef ES_WPOL_H
#define ES_WPOL_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "es_common.h"
#include "rng.h"

#define WPOL_VERSION 1

/* One mapped layer as the policy sees it (borrowed from the scheduler, valid for the
 * policy's lifetime; count changes as blocks are written). */
typedef struct wpol_layer {
    const char *name;
    size_t nblocks;
    const uint32_t *block_size; /* weights per block */
    const uint64_t *count;      /* writes per block so far */
    double mean_count;          /* weight-weighted mean of count (the layer's c-bar) */
} wpol_layer;

/* Per-iteration context. */
typedef struct wpol_iter {
    uint64_t iteration;   /* 0-based global iteration */
    int epoch;            /* 0-based */
    int milestones_passed; /* learning-rate milestones at or before this epoch */
} wpol_iter;

typedef struct wpol_ops {
    int version; /* WPOL_VERSION */
    const char *name;
    /* 1: the scheduler keeps a digital residual per weight: unwritten updates accumulate and
     * the importance is the norm of update + residual (threshold training). */
    int residual;
    int (*create)(const essim_config *cfg, const wpol_layer *layers, size_t nlayers,
                  void **state, es_err *err);
    void (*destroy)(void *state);
    /* Decide layer l: norm[g] (>= 0) for each block; fill keep[g] (0/1) and scale[g]
     * (multiplier of the written update, 1 when unscaled). rng is the policy's stream for
     * this iteration (draw in block order). */
    void (*decide)(void *state, size_t l, const wpol_iter *it, const double *norm,
                   uint8_t *keep, float *scale, rng_stream *rng);
} wpol_ops;

/* The policy named `name` ("essence", ...), or NULL: the configuration's is
 * wpol_find_name(cfg_choice_name("policy.name", cfg->policy.name)). */
const wpol_ops *wpol_find_name(const char *name);
/* The registry, for tests and help texts: how many policies, the i-th (NULL past the end). */
size_t wpol_count(void);
const wpol_ops *wpol_at(size_t i);

/* ---- shared pieces of the probability-based policies (ssgp, essence, aggressive) ---------- */

/* Solve for tau such that sum_g min(1, a[g] / tau) * b[g] = target (b may be NULL for all
 * ones), with a[g] >= 0, b[g] in [0, 1]. Returns tau > 0, or 0 when the target cannot be
 * reached by any tau (target >= sum of b over blocks with a > 0: every such block is kept
 * with probability b) — then callers use p = b for a > 0. Bisection to full precision;
 * O(G) per step. */
double wpol_solve_tau(const double *a, const double *b, size_t n, double target);

/* Keep probabilities p[g] = min(1, a[g] / tau) * b[g] (tau 0: p = b where a > 0, else 0). */
void wpol_probabilities(const double *a, const double *b, size_t n, double tau, double *p);

/* Draw keep[g] ~ Bernoulli(p[g]) in block order and set scale[g] = 1 / max(p[g], p_min)
 * for kept blocks (unbiased rescaling with the amplification capped at 1 / p_min). */
void wpol_draw(const double *p, size_t n, double p_min, rng_stream *rng, uint8_t *keep,
               float *scale);

/* The density target of layer `name` at this iteration: policy.layers[name] if given, else
 * policy.density; times kappa^milestones_passed when `aggressive`. */
double wpol_density(const essim_config *cfg, const char *name, const wpol_iter *it,
                    int aggressive);

/* Common state of the probability-based policies (used by wpol_ssgp.c, wpol_essence.c,
 * wpol_essence_aggr.c): endurance term, density schedule. */
typedef struct wpol_prob_config {
    int endurance;  /* CFG_ENDUR_*; ssgp forces CFG_ENDUR_NONE */
    int aggressive; /* apply the density schedule */
} wpol_prob_config;
int wpol_prob_create(const essim_config *cfg, const wpol_layer *layers, size_t nlayers,
                     const wpol_prob_config *pc, void **state, es_err *err);
void wpol_prob_destroy(void *state);
void wpol_prob_decide(void *state, size_t l, const wpol_iter *it, const double *norm,
                      uint8_t *keep, float *scale, rng_stream *rng);

#endif
