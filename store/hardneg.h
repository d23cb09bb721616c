/*
 * The hard-negative set: per (user, item), the greatest hide stamp and the
 * greatest unhide stamp seen, and whether the item is hidden from the user.
 *
 * Rule ("union semantics", docs/design.md): an item is hidden iff a hide exists
 * and no unhide is strictly greater in (wall, logical).  Only (wall, logical)
 * decides: on equal (wall, logical) a hide wins whatever the node ids, so a
 * hide and an unhide issued "at the same time" in two regions leave the item
 * hidden everywhere.
 *
 * Stamps are stored exactly as given (hide_item_with_ts passes the caller's
 * stamp).  Each of the two fields keeps the maximum by the full triple
 * (wall, logical, node id) of what it has seen: the node id only makes the
 * stored state deterministic, it never changes the answer of hidden().  The
 * state of an entry is thus a pair of max registers, so applying any set of
 * hides and unhides in any order, any number of times, or merging replicas
 * that saw parts of it, gives the same state and the same answer.
 *
 * Entries are never removed: an unhidden entry is the tombstone that keeps a
 * late-arriving older hide from hiding the item again.
 *
 * An opaque table; not thread-safe (callers lock).
 */
#ifndef TIDAL_STORE_HARDNEG_H
#define TIDAL_STORE_HARDNEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/shard.h"
#include "tidal/hlc.h"

/* Bytes of an entry's encoding: version, ids, flags, two stamps. */
#define TIDAL_HARDNEG_ENTRY_BYTES_MAX (1 + 8 + 8 + 1 + 2 * 14)

/* Current version of the entry encoding. */
#define TIDAL_HARDNEG_ENTRY_VERSION 1

typedef struct tidal_hardneg tidal_hardneg;

/* One (user, item) entry as a value: for iteration, encoding and merging. */
typedef struct tidal_hardneg_entry {
    tidal_entity_id user;
    tidal_entity_id item;
    bool has_hide;    /* a hide was seen; hide is its greatest stamp */
    bool has_unhide;  /* an unhide was seen; unhide is its greatest stamp */
    tidal_hlc hide;   /* meaningful only with has_hide (zero otherwise) */
    tidal_hlc unhide; /* meaningful only with has_unhide (zero otherwise) */
} tidal_hardneg_entry;

/* An empty set in *out.  TIDAL_ENOMEM (nothing allocated). */
int tidal_hardneg_open(tidal_hardneg **out) __attribute__((warn_unused_result));

/* Frees the set.  Accepts NULL. */
void tidal_hardneg_close(tidal_hardneg *h);

/* Records a hide of item for user with stamp ts.  TIDAL_ENOMEM leaves the set
 * unchanged. */
int tidal_hardneg_hide(tidal_hardneg *h, tidal_entity_id user, tidal_entity_id item,
                       const tidal_hlc *ts) __attribute__((warn_unused_result));

/* Records an unhide.  TIDAL_ENOMEM leaves the set unchanged. */
int tidal_hardneg_unhide(tidal_hardneg *h, tidal_entity_id user, tidal_entity_id item,
                         const tidal_hlc *ts) __attribute__((warn_unused_result));

/* True iff item is hidden from user (rule above).  Cannot fail. */
bool tidal_hardneg_hidden(const tidal_hardneg *h, tidal_entity_id user, tidal_entity_id item);

/* The entry of (user, item) in *out; false (out untouched) if there is none.
 * Cannot fail. */
bool tidal_hardneg_get(const tidal_hardneg *h, tidal_entity_id user, tidal_entity_id item,
                       tidal_hardneg_entry *out);

/* Entries in the set.  Cannot fail. */
size_t tidal_hardneg_count(const tidal_hardneg *h);

/* Bytes the set has allocated (table included).  Cannot fail. */
size_t tidal_hardneg_memory_bytes(const tidal_hardneg *h);

/* Iteration for reconciliation: start with *cursor = 0; each call fills *out
 * with the next entry and returns true, false at the end.  The set must not
 * change during an iteration.  The order is not meaningful.  Cannot fail. */
bool tidal_hardneg_next(const tidal_hardneg *h, size_t *cursor, tidal_hardneg_entry *out);

/* The sum (mod 2^64) of every entry's hash: equal sets have equal digests in
 * every region, whatever their history.  Cannot fail. */
uint64_t tidal_hardneg_digest(const tidal_hardneg *h);

/* The rule above applied to one entry.  Cannot fail. */
bool tidal_hardneg_entry_hidden(const tidal_hardneg_entry *e);

/* A stable hash of the entry: the hash (store/hash.h) of its encoding.
 * Cannot fail. */
uint64_t tidal_hardneg_entry_hash(const tidal_hardneg_entry *e);

/* Merges an entry (from another replica) into the set: each stamp field takes
 * the maximum by the full triple.  TIDAL_EINVAL for an entry with neither
 * field, TIDAL_ENOMEM; on error the set is unchanged. */
int tidal_hardneg_entry_merge(tidal_hardneg *h, const tidal_hardneg_entry *e)
    __attribute__((warn_unused_result));

/* Encodes an entry; *len gets the size written, or needed on TIDAL_ETOOBIG.
 * TIDAL_EINVAL for an entry with neither field.  Format, little-endian:
 *   offset size  field
 *   0      1     version (TIDAL_HARDNEG_ENTRY_VERSION)
 *   1      8     user
 *   9      8     item
 *   17     1     flags: bit 0 has hide, bit 1 has unhide; other bits zero
 *   18     14    hide stamp (wall u64, logical u32, node u16), if bit 0
 *   ..     14    unhide stamp, if bit 1
 * Valid if and only if: the version is known (else TIDAL_EVERSION), the flags
 * have no unknown bit and at least one known bit (else TIDAL_ECORRUPT), and
 * the input is exactly 18 + 14 per flag bit long (TIDAL_ETRUNCATED /
 * TIDAL_ETRAILING).  Fields that are absent encode as nothing, so equal
 * entries have equal encodings. */
int tidal_hardneg_entry_encode(const tidal_hardneg_entry *e, uint8_t *buf, size_t cap, size_t *len)
    __attribute__((warn_unused_result));

/* Decodes an entry: the codes of the rules above; on error *e is unchanged. */
int tidal_hardneg_entry_decode(const uint8_t *buf, size_t len, tidal_hardneg_entry *e)
    __attribute__((warn_unused_result));

#endif /* TIDAL_STORE_HARDNEG_H */
