/* rng.c - xoshiro256** streams keyed by (seed, name). See rng.h for the contract. */
#include "rng.h"

#include <math.h>
#include <string.h>

#include "es_common.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void seed_from(rng_stream *r, uint64_t key)
{
    uint64_t x = key;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1; /* all-zero state is absorbing */
    r->has_spare = 0;
    r->spare = 0.0;
}

void rng_init(rng_stream *r, uint64_t seed, const char *name)
{
    uint64_t h = es_fnv1a64(name, strlen(name), ES_FNV1A64_INIT);
    uint64_t x = seed;
    seed_from(r, h ^ splitmix64(&x));
}

void rng_init_indexed(rng_stream *r, uint64_t seed, const char *name, uint64_t index)
{
    uint64_t h = es_fnv1a64(name, strlen(name), ES_FNV1A64_INIT);
    h = es_fnv1a64("/", 1, h);
    h = es_fnv1a64(&index, sizeof index, h);
    uint64_t x = seed;
    seed_from(r, h ^ splitmix64(&x));
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_u64(rng_stream *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rng_uniform(rng_stream *r) { return (double)(rng_u64(r) >> 11) * 0x1.0p-53; }

float rng_uniform_f(rng_stream *r) { return (float)(rng_u64(r) >> 40) * 0x1.0p-24f; }

uint64_t rng_below(rng_stream *r, uint64_t n)
{
    unsigned __int128 m = (unsigned __int128)rng_u64(r) * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = (0 - n) % n;
        while (l < t) {
            m = (unsigned __int128)rng_u64(r) * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double rng_normal(rng_stream *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u, v, s;
    do {
        u = 2.0 * rng_uniform(r) - 1.0;
        v = 2.0 * rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = sqrt(-2.0 * log(s) / s);
    r->spare = v * f;
    r->has_spare = 1;
    return u * f;
}

int rng_bernoulli(rng_stream *r, double p)
{
    if (p >= 1.0) return 1;
    if (p <= 0.0) return 0;
    return rng_uniform(r) < p;
}

void rng_shuffle_u32(rng_stream *r, uint32_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rng_below(r, i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}
