/* rng.h - named, seeded random streams.
 * A stream's state is derived from (global seed, stream name) alone, so adding a stream
 * somewhere never changes the sequence of another. Generator: xoshiro256** seeded through
 * SplitMix64 from an FNV-1a hash of the name mixed with the seed. Plain value type: copy it
 * to checkpoint it. */
#ifndef ES_RNG_H
#define ES_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct rng_stream {
    uint64_t s[4];
    /* Cached second normal variate from the polar method (has_spare != 0). */
    double spare;
    int has_spare;
} rng_stream;

/* Initialise stream `name` of global seed `seed`. */
void rng_init(rng_stream *r, uint64_t seed, const char *name);
/* Derive a child stream: same as rng_init(seed, "<parent>/<index>") but from a parent's
 * name and an integer, for per-item streams (per sweep point, per layer...). */
void rng_init_indexed(rng_stream *r, uint64_t seed, const char *name, uint64_t index);

uint64_t rng_u64(rng_stream *r);
/* Uniform in [0, 1) with 53 random bits. */
double rng_uniform(rng_stream *r);
/* Uniform in [0, 1) as float with 24 random bits. */
float rng_uniform_f(rng_stream *r);
/* Uniform integer in [0, n), unbiased (Lemire's method). n must be > 0. */
uint64_t rng_below(rng_stream *r, uint64_t n);
/* Standard normal (Marsaglia polar method). */
double rng_normal(rng_stream *r);
/* 1 with probability p (p clamped to [0,1]). */
int rng_bernoulli(rng_stream *r, double p);
/* Fisher-Yates shuffle of n uint32 indices. */
void rng_shuffle_u32(rng_stream *r, uint32_t *a, size_t n);

#endif
