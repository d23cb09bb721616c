/*
 * An open-addressing hash map of fixed-size entries stored inline: the one
 * map behind every table of store/ (hard negatives, signals, sessions, HWMs,
 * idempotency keys, signal types).
 *
 * An entry is entry_bytes long and begins with its key (key_bytes, compared
 * with memcmp and hashed with tidal_hash64, so a key must have no padding).
 * Entries live in one array next to a byte of tag per slot (0: empty, else
 * 0x80 | the hash's top 7 bits, which rejects most mismatches without
 * touching the entry).  Linear probing; removal shifts the following entries
 * back instead of leaving tombstones, so lookups never slow down with churn.
 * The table grows by doubling when it would pass 4/5 full and never shrinks.
 *
 * Entries move when the table grows or when a neighbour is removed, so they
 * must be relocatable with memcpy (no pointers into themselves), and a
 * pointer to an entry is valid only until the next upsert, reserve or remove.
 * Iteration order is the slot order: it depends on the history of the table,
 * so anything compared between regions must not depend on it.
 *
 * The struct is embedded in its owner, which locks (store/ has no threads).
 */
#ifndef TIDAL_STORE_HMAP_H
#define TIDAL_STORE_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tidal_hmap {
    uint8_t *slots;       /* cap * entry_bytes, then cap tag bytes; NULL when cap is 0 */
    size_t cap;           /* 0 or a power of two */
    size_t count;         /* entries in use */
    uint32_t entry_bytes; /* size of one entry, key included */
    uint32_t key_bytes;   /* size of the key at the start of each entry */
} tidal_hmap;

/* Initialises an empty map (no allocation).  entry_bytes must be a multiple
 * of the entries' alignment (sizeof of the entry struct is) and key_bytes in
 * 1..entry_bytes; asserted.  Cannot fail. */
void tidal_hmap_init(tidal_hmap *m, size_t entry_bytes, size_t key_bytes);

/* Frees the map's memory (not what entries point to: the owner frees that
 * first).  The map is empty afterwards and may be used again.  Cannot fail. */
void tidal_hmap_fini(tidal_hmap *m);

/* The entry with this key, or NULL.  Cannot fail. */
void *tidal_hmap_find(const tidal_hmap *m, const void *key);

/* Finds the entry with this key or inserts one: *entry points at it and
 * *created says which; a created entry is zero apart from its key.
 * TIDAL_ENOMEM if the table had to grow and could not: nothing changed. */
int tidal_hmap_upsert(tidal_hmap *m, const void *key, void **entry, bool *created)
    __attribute__((warn_unused_result));

/* Makes room for n entries in all, so that upserts up to that count cannot
 * fail.  TIDAL_ENOMEM (nothing changed) or TIDAL_ELIMIT if n is absurd. */
int tidal_hmap_reserve(tidal_hmap *m, size_t n) __attribute__((warn_unused_result));

/* Removes the entry at this pointer (from find, upsert or next).  Other
 * entries may move.  Cannot fail. */
void tidal_hmap_remove_entry(tidal_hmap *m, void *entry);

/* Removes the entry with this key; false if there was none.  Cannot fail. */
bool tidal_hmap_remove(tidal_hmap *m, const void *key);

/* Iteration: start with *cursor = 0; each call returns the next entry, or NULL
 * at the end.  The entries may be changed in place but the map must not be
 * upserted into or removed from meanwhile (use retain).  *cursor is the slot
 * after the entry returned, so a caller that removes that entry can look at
 * its slot again (*cursor - 1: removal shifts later entries back into it).
 * Cannot fail. */
void *tidal_hmap_next(const tidal_hmap *m, size_t *cursor);

/* Calls keep(entry, arg) once for every entry and removes those for which it
 * returns false (keep frees what such an entry owns).  keep must not touch
 * the map.  Cannot fail. */
void tidal_hmap_retain(tidal_hmap *m, bool (*keep)(void *entry, void *arg), void *arg);

/* Entries in the map.  Cannot fail. */
size_t tidal_hmap_count(const tidal_hmap *m);

/* Bytes the map has allocated (slots and tags).  Cannot fail. */
size_t tidal_hmap_memory_bytes(const tidal_hmap *m);

#endif /* TIDAL_STORE_HMAP_H */
