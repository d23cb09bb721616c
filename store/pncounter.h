/*
 * A PN-counter: a counter that every region increments and decrements on its
 * own, and that merges with any other replica's copy in any order.
 *
 * State: per region r, P[r] (the sum of r's positive deltas) and N[r] (the
 * sum of the magnitudes of r's negative deltas); both only grow.  The value
 * is sum P - sum N.  Merge takes the per-region maximum of P and of N, which
 * is commutative, associative and idempotent, so replicas that have seen the
 * same increments (directly or through merges) have equal states, whatever
 * the order and however often they merged.  A region only ever adds to its
 * own component: region r's P and N are written by r's events alone.
 *
 * Representation: sparse, because most counters are touched by 1-3 regions.
 * One region is kept inline (24 bytes, no allocation); more regions live in a
 * heap array of exactly as many entries as regions, sorted by region.
 * Invariant: no stored entry has P = N = 0, so equal states have equal
 * representations (and encodings).
 *
 * The 32-bit `tag` is never read or written by these functions (apart from
 * init, which zeroes it): it fills what would be padding, and a container
 * may keep a key there (store/signals.c keeps the bucket number).
 *
 * Not thread-safe: callers lock.
 */
#ifndef TIDAL_STORE_PNCOUNTER_H
#define TIDAL_STORE_PNCOUNTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/bytes.h"
#include "store/shard.h"
#include "tidal/limits.h"

/* Bytes of the largest encoding: the count and every region's entry. */
#define TIDAL_PNCOUNTER_ENCODED_BYTES_MAX (1 + TIDAL_REGIONS_MAX * 18)

typedef struct tidal_pn_entry {
    uint64_t p;             /* sum of the region's positive deltas */
    uint64_t n;             /* sum of the magnitudes of its negative deltas */
    tidal_region_id region; /* < TIDAL_REGIONS_MAX */
} tidal_pn_entry;

/* A flat value: tidal_pncounter_init before use, tidal_pncounter_fini after.
 * The fields are private; they are here so counters can be embedded. */
typedef struct tidal_pncounter {
    union {
        struct {
            uint64_t p, n;
        } one;                /* cap == 0, len == 1: the only entry */
        tidal_pn_entry *many; /* cap > 0: len entries sorted by region */
    } u;
    tidal_region_id region; /* the inline entry's region */
    uint8_t len;            /* regions with a non-zero entry */
    uint8_t cap;            /* heap entries allocated; 0 when inline */
    uint32_t tag;           /* the container's; see the file comment */
} tidal_pncounter;

/* An empty counter (value 0, no allocation).  Cannot fail. */
void tidal_pncounter_init(tidal_pncounter *c);

/* Frees what the counter owns; it is empty afterwards.  Cannot fail. */
void tidal_pncounter_fini(tidal_pncounter *c);

/* Adds delta to region's component: a positive delta to P, a negative one's
 * magnitude to N; 0 changes nothing.  TIDAL_EINVAL for a region outside
 * 0..TIDAL_REGIONS_MAX-1, TIDAL_ELIMIT if P or N would pass UINT64_MAX,
 * TIDAL_ENOMEM; on error nothing is changed. */
int tidal_pncounter_add(tidal_pncounter *c, tidal_region_id region, int64_t delta)
    __attribute__((warn_unused_result));

/* Raises region's P to at least p and its N to at least n: a merge with the
 * one-region state (region, p, n), for records that carry a component's value
 * instead of a delta.  (0, 0) changes nothing.  TIDAL_EINVAL for a bad
 * region, TIDAL_ENOMEM; on error nothing is changed. */
int tidal_pncounter_raise(tidal_pncounter *c, tidal_region_id region, uint64_t p, uint64_t n)
    __attribute__((warn_unused_result));

/* Allocates now whatever a later add or raise for region would need, so that such an
 * add can fail only with TIDAL_ELIMIT and such a raise cannot fail (callers
 * updating several counters at once use it to change all or none).  The value is unchanged.
 * TIDAL_EINVAL for a bad region, TIDAL_ENOMEM (nothing changed). */
int tidal_pncounter_reserve(tidal_pncounter *c, tidal_region_id region)
    __attribute__((warn_unused_result));

/* True if adding delta to region would pass UINT64_MAX.  Cannot fail. */
bool tidal_pncounter_would_overflow(const tidal_pncounter *c, tidal_region_id region,
                                    int64_t delta);

/* sum P - sum N, computed modulo 2^64 and read as a two's complement int64
 * (exact whenever the true value fits in an int64).  Cannot fail. */
int64_t tidal_pncounter_value(const tidal_pncounter *c);

/* Region's P and N (0, 0 if the region never counted).  Cannot fail. */
void tidal_pncounter_get(const tidal_pncounter *c, tidal_region_id region, uint64_t *p,
                         uint64_t *n);

/* Regions with an entry.  Cannot fail. */
size_t tidal_pncounter_regions(const tidal_pncounter *c);

/* dst = merge(dst, src): per-region max of P and of N.  TIDAL_ENOMEM leaves
 * dst unchanged. */
int tidal_pncounter_merge(tidal_pncounter *dst, const tidal_pncounter *src)
    __attribute__((warn_unused_result));

/* Allocates now whatever tidal_pncounter_merge(dst, src) would need, so that
 * the merge then cannot fail (for containers merging many counters all or
 * nothing).  dst's state is unchanged.  TIDAL_ENOMEM (nothing changed). */
int tidal_pncounter_reserve_merge(tidal_pncounter *dst, const tidal_pncounter *src)
    __attribute__((warn_unused_result));

/* dst = a copy of src (dst must be initialised; its old state is freed).
 * TIDAL_ENOMEM leaves dst unchanged. */
int tidal_pncounter_copy(tidal_pncounter *dst, const tidal_pncounter *src)
    __attribute__((warn_unused_result));

/* True if the two states are equal (not just their values).  Cannot fail. */
bool tidal_pncounter_equal(const tidal_pncounter *a, const tidal_pncounter *b);

/* A stable 64-bit digest of the state: the hash (store/hash.h) of its
 * encoding, so equal states have equal hashes in every region.  Cannot fail. */
uint64_t tidal_pncounter_hash(const tidal_pncounter *c);

/* Heap bytes the counter owns (beyond sizeof(tidal_pncounter)).  Cannot fail. */
size_t tidal_pncounter_heap_bytes(const tidal_pncounter *c);

/* Encodes the state into buf[0..cap); *len gets the size written, or needed
 * on TIDAL_ETOOBIG (at most TIDAL_PNCOUNTER_ENCODED_BYTES_MAX).  Format, all
 * integers little-endian:
 *   offset      size  field
 *   0           1     count of entries, 0..TIDAL_REGIONS_MAX
 *   1 + 18*i    2     region of entry i
 *   3 + 18*i    8     P
 *   11 + 18*i   8     N
 * Valid if and only if: the count is at most TIDAL_REGIONS_MAX, the regions
 * are strictly increasing and below TIDAL_REGIONS_MAX, no entry has P = N = 0,
 * and the input holds exactly 1 + 18 * count bytes.  There is no version
 * byte: the format is a value embedded in versioned containers (signals
 * entries, messages), which change their version when this changes. */
int tidal_pncounter_encode(const tidal_pncounter *c, uint8_t *buf, size_t cap, size_t *len)
    __attribute__((warn_unused_result));

/* Decodes buf[0..len) into c (initialised; its old state is replaced only on
 * success).  TIDAL_ETRUNCATED if the input ends early, TIDAL_ECORRUPT if it
 * breaks a rule above, TIDAL_ETRAILING if bytes are left over, TIDAL_ENOMEM;
 * on error c is unchanged. */
int tidal_pncounter_decode(tidal_pncounter *c, const uint8_t *buf, size_t len)
    __attribute__((warn_unused_result));

/* For containers: the same encoding written to / read from a cursor.  The
 * write cannot fail (the writer counts what did not fit).  The read consumes
 * exactly one counter, returns the codes of tidal_pncounter_decode but
 * TIDAL_ETRAILING, and on error leaves c and the cursor unchanged. */
void tidal__pncounter_write(const tidal_pncounter *c, tidal__wr *w);
int tidal__pncounter_read(tidal_pncounter *c, tidal__rd *r) __attribute__((warn_unused_result));

#endif /* TIDAL_STORE_PNCOUNTER_H */
