/*
 * xoshiro256** (Blackman and Vigna) and the samplers built on it.  Only the
 * uniform draw touches the state; every sampler is a function of uniforms,
 * so a stream's sequence depends on the seed and the calls alone.
 */
#include "rng.h"

#include <math.h>

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void
forage_rng_seed(forage_rng *r, uint64_t seed)
{
    forage_rng_seed2(r, seed, 0);
}

void
forage_rng_seed2(forage_rng *r, uint64_t seed, uint64_t stream)
{
    /* Mix the stream number in before expanding, so seeds (s, 1) and (s+1, 0)
     * do not share a splitmix sequence. */
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ull);
    for (int i = 0; i < 4; i++) {
        r->s[i] = splitmix64(&x);
    }
}

static inline uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t
forage_rng_next(forage_rng *r)
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

double
forage_rng_uniform(forage_rng *r)
{
    return (double)(forage_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t
forage_rng_below(forage_rng *r, uint64_t n)
{
    /* Reject the top partial block of 2^64 so every residue is equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = forage_rng_next(r);
    } while (x >= limit);
    return x % n;
}

double
forage_rng_normal(forage_rng *r)
{
    double u, v, s;
    do {
        u = 2.0 * forage_rng_uniform(r) - 1.0;
        v = 2.0 * forage_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    /* The pair's second normal is dropped: keeping it would make a draw
     * depend on the previous call, and a stream's state on more than s[]. */
    return u * sqrt(-2.0 * log(s) / s);
}

double
forage_rng_gamma(forage_rng *r, double shape)
{
    if (shape < 1.0) {
        double u = forage_rng_uniform(r);
        /* 1 - u lies in (0, 1]: pow never sees 0. */
        return forage_rng_gamma(r, shape + 1.0) * pow(1.0 - u, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0;
    double c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = forage_rng_normal(r);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = forage_rng_uniform(r);
        /* The squeeze accepts most draws without a logarithm. */
        if (u < 1.0 - 0.0331 * (x * x) * (x * x)) {
            return d * v;
        }
        if (u > 0.0 && log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) {
            return d * v;
        }
    }
}

double
forage_rng_beta(forage_rng *r, double a, double b)
{
    double x = forage_rng_gamma(r, a);
    double y = forage_rng_gamma(r, b);
    /* Both tiny (shapes far below 1) underflow to 0: call it an even split
     * rather than divide 0 by 0. */
    if (x + y == 0.0) {
        return 0.5;
    }
    return x / (x + y);
}
