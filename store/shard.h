/*
 * The shard router: which shard of a region owns an entity.
 *
 * tidal_shard_for is Lamping and Veach's jump consistent hash ("A Fast,
 * Minimal Memory, Consistent Hash Algorithm", 2014) applied to a 64-bit mix
 * of the entity id.  It needs no table and no state: the shard is a pure
 * function of (entity id, shard count).
 *
 * Stability: the result is on disk (WAL segments live under their shard's
 * directory, and replicated batches name their shard), so the same inputs
 * must give the same shard forever, on every platform and compiler.  Never
 * change the mix, the jump generator or the arithmetic; the tests pin a table
 * of results to catch it.  The arithmetic is integer-only for that reason:
 * the paper's double division can round differently where a compiler keeps
 * excess precision (x87), and one different shard is a lost entity.
 *
 * Growth: when the count goes from n to n + 1, an expected 1/(n + 1) of the
 * entities move, and every one of them moves to the new shard n; no entity
 * moves between the old shards.  (The jumps of one key are a fixed increasing
 * sequence; the shard is the last jump below the count, so raising the count
 * to n + 1 changes it only for keys that have a jump exactly at n.)  Shrinking
 * from n + 1 to n moves exactly the entities of shard n, spread over the rest.
 *
 * The mix (splitmix64's finaliser) matters because entity ids are often
 * sequential: the jump generator alone would give neighbouring ids correlated
 * sequences.
 */
#ifndef TIDAL_STORE_SHARD_H
#define TIDAL_STORE_SHARD_H

#include <stdint.h>

#include "tidal/types.h"

/* tidal_shard_id, tidal_region_id, tidal_entity_id: the public tidal/types.h */

/* The shard, in [0, shard_count), that owns entity_id.  shard_count must be
 * at least 1; 0 is treated as 1 (every entity on shard 0) rather than
 * dividing the keys among no shards.  Cannot fail. */
tidal_shard_id tidal_shard_for(tidal_entity_id entity_id, uint16_t shard_count);

#endif /* TIDAL_STORE_SHARD_H */
