/*
 * The seed corpora of the fuzz targets, made by tidal's own encoders
 * (fuzz/seeds.c, fuzz/seeds_store.c, fuzz/seeds_wal.c; the envelope's come
 * from fuzz/make_seeds.py).
 *
 *   fuzz_seeds DIR           writes DIR/<target>/<seed> for every seed
 *   fuzz_seeds --check DIR   compares every seed with DIR/<target>/<seed>
 *                            and fails if one is missing or differs
 *
 * ctest runs the check against fuzz/corpus, so a change to an encoder that
 * is not followed by `build/fuzz_seeds fuzz/corpus` fails the suite: the
 * seeds stay what the encoders write today.  Seeds are deterministic: fixed
 * ids, stamps and times, and entries encoded by key, never in a hash
 * table's order.
 *
 * Names follow tests/fuzz_replay.h: valid-* must give 0, bad-<CODE>-* must
 * fail with TIDAL_<CODE>.
 */
#ifndef TIDAL_FUZZ_SEEDS_H
#define TIDAL_FUZZ_SEEDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "messages/buf.h"

/* 2023-11-14 22:13:20 UTC in ns, the `now` of signal seeds. */
#define SEEDS_NOW_NS 1700000000000000000ull

struct seeds {
    const char *root;
    bool check;
    int written;
    int failed;
};

/* Writes (or checks) root/target/name: prefix_len bytes of prefix, then
 * len bytes of p. */
void seed_put(struct seeds *s, const char *target, const char *name, const void *prefix,
              size_t prefix_len, const void *p, size_t len);

/* Exits with a message when a step that cannot fail failed. */
void seeds_must(int rv, const char *what);

/* Appends the encoding of a sample record of each kind in kinds (n of them;
 * the seqno grows with the index) to out. */
void seeds_records(tidal_buf *out, const uint8_t *kinds, size_t n);

/* Every record kind, in number order. */
extern const uint8_t seeds_all_kinds[7];

/* Appends a batch (header + payload) of origin/shard starting at LSN first
 * and holding the count records of payload. */
void seeds_batch(tidal_buf *out, uint16_t origin, uint16_t shard, uint64_t first,
                 const tidal_buf *payload, uint32_t count);

/* The reconciler's entries (kind byte + a store entry), made from real
 * tables: hard negatives, signal states, sessions.  Each out[i] is
 * initialised and filled; returns how many (at most max). */
size_t seeds_store_entries(tidal_buf *out, size_t max);

/* The seeds of fuzz_codec, fuzz_merge and fuzz_recover. */
void seeds_codec(struct seeds *s);
void seeds_merge(struct seeds *s);
void seeds_recover(struct seeds *s);

#endif /* TIDAL_FUZZ_SEEDS_H */
