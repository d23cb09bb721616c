/*
 * The stable hash (hash.h).  Every constant here is part of the digests that
 * regions exchange: changing one makes every region disagree with every
 * region that has not changed it.
 */
#include "base/hash.h"

#define HASH_K TIDAL_HASH_GOLDEN
#define FNV_OFFSET 1469598103934665603ull
#define FNV_PRIME 1099511628211ull

uint64_t
tidal_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t
load_le64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

void
tidal_hasher_init(tidal_hasher *h, uint64_t seed)
{
    h->state = tidal_mix64(seed ^ HASH_K);
    h->pending = 0;
    h->total = 0;
}

void
tidal_hasher_update(tidal_hasher *h, const void *p, size_t n)
{
    const uint8_t *b = p;

    /* Finish an incomplete word byte by byte, then take whole words. */
    while (n > 0 && (h->total & 7) != 0) {
        h->pending |= (uint64_t)*b << (8 * (h->total & 7));
        b++;
        n--;
        h->total++;
        if ((h->total & 7) == 0) {
            h->state = tidal_mix64(h->state ^ h->pending);
            h->pending = 0;
        }
    }
    while (n >= 8) {
        h->state = tidal_mix64(h->state ^ load_le64(b));
        b += 8;
        n -= 8;
        h->total += 8;
    }
    while (n > 0) {
        h->pending |= (uint64_t)*b << (8 * (h->total & 7));
        b++;
        n--;
        h->total++;
    }
}

uint64_t
tidal_hasher_final(const tidal_hasher *h)
{
    return tidal_mix64(tidal_mix64(h->state ^ h->pending) ^ h->total);
}

uint64_t
tidal_hash64(const void *p, size_t n, uint64_t seed)
{
    tidal_hasher h;

    tidal_hasher_init(&h, seed);
    tidal_hasher_update(&h, p, n);
    return tidal_hasher_final(&h);
}

uint64_t
tidal__hash(const void *p, size_t len, uint64_t seed)
{
    const uint8_t *b = p;
    uint64_t h = FNV_OFFSET ^ seed;

    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= FNV_PRIME;
    }
    return tidal_mix64(h);
}
