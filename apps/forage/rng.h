/*
 * A seeded pseudo-random source and the samplers forage needs: uniform,
 * normal, Gamma (Marsaglia-Tsang) and Beta (two Gammas).
 *
 * xoshiro256** seeded through splitmix64: the same seed gives the same stream
 * on every platform, so a simulation or a generated catalogue is reproducible
 * from its seed alone.  A stream is a plain value owned by its caller; there
 * is no global state (no rand()).
 */
#ifndef FORAGE_RNG_H
#define FORAGE_RNG_H

#include <stdint.h>

typedef struct forage_rng {
    uint64_t s[4];
} forage_rng;

/* Seeds a stream.  Any seed is valid, 0 included.  Cannot fail. */
void forage_rng_seed(forage_rng *r, uint64_t seed);

/* A stream derived from seed and a stream number, independent of the others
 * in practice: one per purpose (users, outcomes, policy) keeps a change in
 * one consumer from shifting another's draws.  Cannot fail. */
void forage_rng_seed2(forage_rng *r, uint64_t seed, uint64_t stream);

/* 64 random bits.  Cannot fail. */
uint64_t forage_rng_next(forage_rng *r);

/* Uniform in [0, 1), 53 bits.  Cannot fail. */
double forage_rng_uniform(forage_rng *r);

/* Uniform in [0, n) without modulo bias; n > 0.  Cannot fail. */
uint64_t forage_rng_below(forage_rng *r, uint64_t n);

/* Standard normal (Marsaglia's polar method).  Cannot fail. */
double forage_rng_normal(forage_rng *r);

/* Gamma(shape, 1), shape > 0: Marsaglia and Tsang (2000) for shape >= 1,
 * and for shape < 1 the boost Gamma(shape + 1) * U^(1/shape).  Cannot fail. */
double forage_rng_gamma(forage_rng *r, double shape);

/* Beta(a, b), a, b > 0, as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).
 * Cannot fail. */
double forage_rng_beta(forage_rng *r, double a, double b);

#endif /* FORAGE_RNG_H */
