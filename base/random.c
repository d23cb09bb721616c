/* The random source (random.h). */
#include "base/random.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>

#include "base/hash.h"
#include "base/time.h"
#include "tidal/errors.h"

static atomic_bool seeded;
static atomic_uint_least64_t seed_key;
static atomic_uint_least64_t draws; /* of the seeded source, or fallback ids */

void
tidal__random_seed(uint64_t seed)
{
    atomic_store(&seed_key, seed);
    atomic_store(&draws, 0);
    atomic_store(&seeded, true);
}

void
tidal__random_unseed(void)
{
    atomic_store(&seeded, false);
}

/* The n-th word of the seeded source. */
static uint64_t
seeded_word(uint64_t n)
{
    return tidal_mix64(atomic_load(&seed_key) ^ tidal_mix64(n * TIDAL_HASH_GOLDEN + 1));
}

int
tidal__random(void *out, size_t n)
{
    uint8_t *p = out;

    if (atomic_load(&seeded)) {
        while (n > 0) {
            uint64_t w = seeded_word(atomic_fetch_add(&draws, 1));
            size_t k = n < sizeof(w) ? n : sizeof(w);
            memcpy(p, &w, k);
            p += k;
            n -= k;
        }
        return 0;
    }
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            return TIDAL_EIO;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

uint64_t
tidal__random_id(void)
{
    uint64_t v = 0;

    while (v == 0) {
        if (tidal__random(&v, sizeof(v)) != 0) {
            /* unique, not secret: the clock and a process-wide counter */
            v = tidal_mix64(tidal_monotonic_ms() ^ tidal_mix64(atomic_fetch_add(&draws, 1)));
        }
    }
    return v;
}
