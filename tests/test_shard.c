/*
 * The shard router: results pinned across versions (they are on disk), range,
 * minimal movement when the shard count grows, and balance of sequential ids.
 */
#include "tidal_test.h"

#include <stdlib.h>

#include "store/shard.h"

TIDAL_SUITE(shard);

static const uint16_t pinned_counts[] = {1, 2, 3, 7, 16, 100, 1024, 65535};

/* Computed once by the first version and never to be regenerated: if a row
 * changes, the change broke every existing data directory. */
static const struct {
    tidal_entity_id id;
    tidal_shard_id shard[8]; /* one per pinned_counts entry */
} pinned[] = {
    {0, {0, 0, 0, 0, 0, 0, 0, 0}},
    {1, {0, 0, 0, 0, 9, 41, 120, 31815}},
    {2, {0, 0, 2, 5, 13, 13, 141, 1589}},
    {3, {0, 0, 0, 0, 9, 31, 31, 4672}},
    {42, {0, 0, 0, 0, 9, 82, 82, 36979}},
    {1000, {0, 1, 1, 5, 5, 51, 349, 42221}},
    {123456789, {0, 0, 0, 0, 0, 61, 776, 16127}},
    {0xdeadbeefull, {0, 0, 0, 4, 8, 50, 1020, 49021}},
    {1ull << 32, {0, 1, 1, 1, 14, 53, 180, 21391}},
    {1ull << 63, {0, 1, 1, 1, 12, 12, 901, 49608}},
    {UINT64_MAX - 1, {0, 0, 2, 2, 9, 9, 9, 36570}},
    {UINT64_MAX, {0, 0, 0, 3, 3, 60, 222, 10524}},
};

_Static_assert(sizeof(pinned_counts) / sizeof(pinned_counts[0]) == 8, "one column per count");

Test(shard, pinned_results_never_change)
{
    for (size_t i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++) {
        for (size_t k = 0; k < 8; k++) {
            tidal_shard_id got = tidal_shard_for(pinned[i].id, pinned_counts[k]);
            cr_assert_eq(got, pinned[i].shard[k], "shard_for(%llu, %u) = %u, pinned %u",
                         (unsigned long long)pinned[i].id, pinned_counts[k], got,
                         pinned[i].shard[k]);
        }
    }
}

Test(shard, zero_and_one_shard_give_shard_zero)
{
    for (tidal_entity_id id = 0; id < 1000; id++) {
        cr_assert_eq(tidal_shard_for(id * TIDAL_HASH_GOLDEN, 0), 0);
        cr_assert_eq(tidal_shard_for(id * TIDAL_HASH_GOLDEN, 1), 0);
    }
}

Test(shard, result_is_always_below_the_count)
{
    static const uint16_t counts[] = {2, 3, 5, 16, 17, 255, 256, 1000, 4096, 65534, 65535};
    for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
        for (tidal_entity_id id = 0; id < 20000; id++) {
            tidal_entity_id e = id * 0x2545f4914f6cdd1dull; /* ids spread over 64 bits too */
            cr_assert_lt(tidal_shard_for(id, counts[k]), counts[k]);
            cr_assert_lt(tidal_shard_for(e, counts[k]), counts[k]);
        }
    }
}

Test(shard, growing_by_one_moves_only_to_the_new_shard)
{
    enum { IDS = 100000 };
    tidal_shard_id *cur = malloc(IDS * sizeof(*cur));
    cr_assert_not_null(cur);
    for (tidal_entity_id id = 0; id < IDS; id++) {
        cur[id] = tidal_shard_for(id, 1);
    }

    for (uint16_t n = 1; n <= 64; n++) {
        size_t moved = 0;
        for (tidal_entity_id id = 0; id < IDS; id++) {
            tidal_shard_id next = tidal_shard_for(id, (uint16_t)(n + 1));
            if (next != cur[id]) {
                cr_assert_eq(next, n, "n=%u: id %llu moved %u -> %u, not to the new shard", n,
                             (unsigned long long)id, cur[id], next);
                moved++;
                cur[id] = next;
            }
        }
        double frac = (double)moved / IDS;
        double want = 1.0 / (n + 1);
        cr_assert(frac > want - 0.01 && frac < want + 0.01,
                  "n=%u -> %u: moved %.4f of keys, expected %.4f +- 0.01", n, n + 1, frac, want);
    }
    free(cur);
}

Test(shard, sequential_ids_are_balanced_over_16_shards)
{
    enum { IDS = 100000, SHARDS = 16 };
    size_t count[SHARDS] = {0};
    for (tidal_entity_id id = 0; id < IDS; id++) {
        count[tidal_shard_for(id, SHARDS)]++;
    }
    double mean = (double)IDS / SHARDS;
    for (int s = 0; s < SHARDS; s++) {
        cr_assert(count[s] > mean * 0.95 && count[s] < mean * 1.05,
                  "shard %d holds %zu ids, mean %.0f", s, count[s], mean);
    }
}
