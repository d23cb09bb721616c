/*
 * Per-(user, key) counters: for each pair a PN-counter (store/pncounter.h)
 * with a component per region, the state behind tidal_user_counter_add and
 * tidal_user_counter_get (region.h) - a bandit's success and failure counts
 * that follow a user from region to region.
 *
 * A region only adds to its own component, and a USER_COUNTER record
 * carries that component's value after the write (messages/record.h), so
 * applying one is a max-merge per origin (tidal_ucounters_raise), as a
 * signal's p_minute is: replays, duplicates and reconciliation never count
 * anything twice.  An entry (a pair's whole counter) merges the same way.
 *
 * Bounds (limits.h, "Per-(user, key) counters").  The origin's rule
 * (tidal_ucounters_prepare) refuses, before the log, a write that would give
 * the origin a component in a new pair once it has components in
 * TIDAL_USER_COUNTER_KEYS_ORIGIN_MAX of the user's keys or
 * TIDAL_USER_COUNTERS_ORIGIN_MAX pairs in all; the table's own bounds
 * (TIDAL_USER_COUNTER_KEYS_MAX, TIDAL_USER_COUNTERS_MAX), which raise and
 * merge keep, are then never met by what any origin logged.  Pairs are never
 * removed: a component only grows, and a pair that went away would come back
 * at its next merge.
 *
 * Keys: 1..TIDAL_USER_COUNTER_KEY_BYTES_MAX bytes, no NUL.  Functions take a
 * NUL-terminated key; one that is not valid is TIDAL_EINVAL.
 *
 * An opaque table; not thread-safe (callers lock).
 */
#ifndef TIDAL_STORE_UCOUNTERS_H
#define TIDAL_STORE_UCOUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/pncounter.h"
#include "store/shard.h"
#include "tidal/limits.h"

/* Current version of the entry encoding. */
#define TIDAL_UCOUNTER_ENTRY_VERSION 1

/* Bytes of the largest entry: version, user, key length, key, counter. */
#define TIDAL_UCOUNTER_ENTRY_BYTES_MAX                                                             \
    (1u + 8u + 1u + TIDAL_USER_COUNTER_KEY_BYTES_MAX + TIDAL_PNCOUNTER_ENCODED_BYTES_MAX)

typedef struct tidal_ucounters tidal_ucounters;

/* A key as the table keeps it: its bytes, NUL padded. */
typedef struct tidal_ucounter_key {
    char s[TIDAL_USER_COUNTER_KEY_BYTES_MAX + 1];
} tidal_ucounter_key;

/* True if key is a valid key (length 1..TIDAL_USER_COUNTER_KEY_BYTES_MAX,
 * NUL-terminated).  NULL is not.  Cannot fail. */
bool tidal_ucounters_key_valid(const char *key);

/* An empty table in *out.  TIDAL_ENOMEM (nothing allocated). */
int tidal_ucounters_open(tidal_ucounters **out) __attribute__((warn_unused_result));

/* Frees the table.  Accepts NULL. */
void tidal_ucounters_close(tidal_ucounters *t);

/* The pair's value (sum P - sum N as region.h's tidal_user_counter_get
 * reads it): 0 for a pair the table does not hold or a key not valid.
 * Cannot fail. */
int64_t tidal_ucounters_value(const tidal_ucounters *t, tidal_entity_id user, const char *key);

/* The origin's rule, before the log: what region's component of (user, key)
 * becomes after adding delta, in *p and *n, with base_p / base_n (may be
 * larger than the table's, for writes logged and not applied yet; 0, 0 for
 * none) as the component's floor.  new_own says whether the component is new
 * for a bound not seen in the table (writes not applied yet that create
 * components: own_pending_user, own_pending_all).  Nothing is changed.
 * TIDAL_EINVAL for a key not valid, a region out of range or delta 0;
 * TIDAL_ELIMIT if the component is new and region already has
 * TIDAL_USER_COUNTER_KEYS_ORIGIN_MAX of the user's keys or
 * TIDAL_USER_COUNTERS_ORIGIN_MAX pairs; TIDAL_ETOOBIG if the component would
 * pass UINT64_MAX or the value as this table sees it would leave int64_t. */
struct tidal_ucounters_floor {
    uint64_t p, n;             /* the component's floor (0, 0: the table's) */
    bool known;                /* a write not applied yet has the component */
    uint32_t own_pending_user; /* such writes' new components of this user */
    uint32_t own_pending_all;  /* of every user */
};
int tidal_ucounters_prepare(const tidal_ucounters *t, tidal_entity_id user, const char *key,
                            tidal_region_id region, int64_t delta,
                            const struct tidal_ucounters_floor *floor, uint64_t *p, uint64_t *n)
    __attribute__((warn_unused_result));

/* Raises region's component of (user, key) to at least (p, n): applying a
 * USER_COUNTER record.  TIDAL_EINVAL for a key not valid or a bad region;
 * TIDAL_ELIMIT if the pair is new and the table holds
 * TIDAL_USER_COUNTER_KEYS_MAX keys of the user or TIDAL_USER_COUNTERS_MAX
 * pairs (no origin's logged record meets it: see above); TIDAL_ENOMEM.  On
 * error nothing is changed; (0, 0) changes nothing. */
int tidal_ucounters_raise(tidal_ucounters *t, tidal_entity_id user, const char *key,
                          tidal_region_id region, uint64_t p, uint64_t n)
    __attribute__((warn_unused_result));

/* Region's component of (user, key) in *p, *n (0, 0 if none), and whether
 * region has one (false for an unknown pair).  Cannot fail. */
bool tidal_ucounters_component(const tidal_ucounters *t, tidal_entity_id user, const char *key,
                               tidal_region_id region, uint64_t *p, uint64_t *n);

/* Pairs in the table, and those of one user.  Cannot fail. */
size_t tidal_ucounters_count(const tidal_ucounters *t);
size_t tidal_ucounters_user_keys(const tidal_ucounters *t, tidal_entity_id user);

/* Iteration: start with *cursor = 0; each call gives the next pair and
 * returns true, false at the end.  The table must not change meanwhile.
 * Cannot fail. */
bool tidal_ucounters_next(const tidal_ucounters *t, size_t *cursor, tidal_entity_id *user,
                          tidal_ucounter_key *key);

/* The pair's entry hash (of its encoding, store/hash.h) in *h: 0, or
 * TIDAL_ENOENT for a pair the table does not hold. */
int tidal_ucounters_entry_hash(const tidal_ucounters *t, tidal_entity_id user, const char *key,
                               uint64_t *h) __attribute__((warn_unused_result));

/* The sum (mod 2^64) of every pair's entry hash: equal tables have equal
 * digests in every region.  Cannot fail. */
uint64_t tidal_ucounters_digest(const tidal_ucounters *t);

/* Encodes (user, key)'s entry; *len gets the size written, or needed on
 * TIDAL_ETOOBIG.  TIDAL_ENOENT for a pair the table does not hold.  Format,
 * little-endian:
 *   offset   size     field
 *   0        1        version (TIDAL_UCOUNTER_ENTRY_VERSION)
 *   1        8        user
 *   9        1        key length k, 1..TIDAL_USER_COUNTER_KEY_BYTES_MAX
 *   10       k        key bytes, no NUL
 *   10+k     ..       the PN-counter (store/pncounter.h), at least one region
 * Valid if and only if: the version is known (else TIDAL_EVERSION), the key
 * is valid and the counter is valid with at least one region (else
 * TIDAL_ECORRUPT), and nothing follows (TIDAL_ETRUNCATED /
 * TIDAL_ETRAILING).  Never more than TIDAL_UCOUNTER_ENTRY_BYTES_MAX bytes:
 * an entry always travels whole, never in parts. */
int tidal_ucounters_entry_encode(const tidal_ucounters *t, tidal_entity_id user, const char *key,
                                 uint8_t *buf, size_t cap, size_t *len)
    __attribute__((warn_unused_result));

/* Reads the pair an entry is about without merging it: the codes above.
 * Cannot change anything. */
int tidal_ucounters_entry_peek(const uint8_t *buf, size_t len, tidal_entity_id *user,
                               tidal_ucounter_key *key) __attribute__((warn_unused_result));

/* Merges an entry (from another replica): each region's component takes
 * the maximum.  *changed says whether the table's entry moved.  The codes
 * of the format above, TIDAL_ELIMIT as raise for a new pair, TIDAL_ENOMEM;
 * on error nothing is changed. */
int tidal_ucounters_entry_merge(tidal_ucounters *t, const uint8_t *buf, size_t len, bool *changed)
    __attribute__((warn_unused_result));

#endif /* TIDAL_STORE_UCOUNTERS_H */
