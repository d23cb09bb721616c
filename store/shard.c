/*
 * The shard router: jump consistent hash over a mixed entity id.  The why of
 * it, its stability promise and its behaviour when the shard count changes
 * are in shard.h.  Every constant below is part of the on-disk format.
 */
#include "store/shard.h"

#include "base/hash.h"

tidal_shard_id
tidal_shard_for(tidal_entity_id entity_id, uint16_t shard_count)
{
    /* mixed first, so that ids 1, 2, 3... land on unrelated shards */
    uint64_t key = tidal_mix64(entity_id);
    uint64_t b = 0;
    uint64_t j = 0;

    /* The paper's loop: from bucket b the key's next jump lands on
     * floor((b + 1) * 2^31 / (r + 1)) for a 31-bit pseudo-random r, which is
     * always above b.  Computed exactly in integers: (b + 1) < 2^16, so the
     * product stays below 2^47. */
    while (j < shard_count) {
        b = j;
        key = key * 2862933555777941757ull + 1;
        j = ((b + 1) << 31) / ((key >> 33) + 1);
    }
    return (tidal_shard_id)b;
}
