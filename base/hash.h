/*
 * A stable 64-bit hash of bytes, for hash tables and for the digests that
 * regions compare during reconciliation.
 *
 * Stability: digests travel between regions, so the same bytes and seed must
 * give the same hash on every node, platform and compiler, forever.  Input is
 * read as little-endian 64-bit words whatever the host's byte order; never
 * change the constants or the steps (the tests pin a table of values).
 *
 * The construction: the state starts at mix64(seed ^ K); each full 8-byte
 * word w of input gives state = mix64(state ^ w); the final state is
 * mix64(mix64(state ^ tail) ^ total_length), where tail is the 0..7 bytes
 * left over, zero-padded.  mix64 is splitmix64's finaliser (a bijection on 64
 * bits).  Not cryptographic: it spreads keys well and makes accidental digest
 * collisions unlikely, but an adversary can construct collisions.
 *
 * Streaming: tidal_hasher gives exactly the same result as tidal_hash64 over
 * the concatenation of everything fed to it, however it was split.
 */
#ifndef TIDAL_BASE_HASH_H
#define TIDAL_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct tidal_hasher {
    uint64_t state;   /* after every full word absorbed */
    uint64_t pending; /* the bytes of an incomplete word, little-endian */
    uint64_t total;   /* bytes fed so far */
} tidal_hasher;

/* 2^64 / phi, splitmix64's increment: a multiplier that spreads consecutive
 * integers over the whole 64-bit range. */
#define TIDAL_HASH_GOLDEN 0x9e3779b97f4a7c15ull

/* splitmix64's finaliser (Steele, Lea and Flood, 2014): a bijection whose
 * output bits each depend on every input bit.  The one mixer of the code
 * base: shard routing, digests, fault decisions and names all use it, and
 * the first two are on disk or on the wire, so it never changes.  Cannot
 * fail. */
uint64_t tidal_mix64(uint64_t z);

/* The hash of p[0..n) with seed.  p may be NULL when n is 0.  Cannot fail. */
uint64_t tidal_hash64(const void *p, size_t n, uint64_t seed);

/* A hash of short names (actor names, URLs): FNV-1a over the bytes, folded
 * through tidal_mix64.  Stable across runs and builds, because fault
 * decisions derive link ids from it and traces are compared between runs.
 * Cannot fail. */
uint64_t tidal__hash(const void *p, size_t len, uint64_t seed);

/* Starts a streaming hash.  Cannot fail. */
void tidal_hasher_init(tidal_hasher *h, uint64_t seed);

/* Feeds p[0..n).  Cannot fail. */
void tidal_hasher_update(tidal_hasher *h, const void *p, size_t n);

/* The hash of everything fed so far; h is unchanged and may be fed more.
 * Cannot fail. */
uint64_t tidal_hasher_final(const tidal_hasher *h);

#endif /* TIDAL_BASE_HASH_H */
