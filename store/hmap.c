/*
 * The hash map (hmap.h): linear probing over inline entries, tags in a byte
 * array after the entries, backward-shift deletion.
 *
 * Invariant: every entry sits at or after its home slot (hash & mask), with
 * no empty slot between home and entry (cyclically).  Lookups stop at the
 * first empty slot; removal restores the invariant by moving each following
 * entry of the cluster back into the hole when its home allows it.  The load
 * stays below 4/5, so there is always an empty slot and every probe ends.
 */
#include "store/hmap.h"

#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/hash.h"
#include "tidal/errors.h"

#define HMAP_SEED 0x243f6a8885a308d3ull
#define HMAP_CAP_MIN 8u
#define TAG_EMPTY 0u

static uint64_t
key_hash(const tidal_hmap *m, const void *key)
{
    return tidal_hash64(key, m->key_bytes, HMAP_SEED);
}

static uint8_t
tag_of(uint64_t h)
{
    return (uint8_t)(0x80u | (h >> 57));
}

static uint8_t *
slot_at(const tidal_hmap *m, size_t i)
{
    return m->slots + i * m->entry_bytes;
}

static uint8_t *
tags(const tidal_hmap *m)
{
    return m->slots + m->cap * m->entry_bytes;
}

/* True if count entries fit in cap slots under the 4/5 load bound. */
static bool
fits(size_t count, size_t cap)
{
    return count <= cap / 5 * 4 + (cap % 5) * 4 / 5;
}

void
tidal_hmap_init(tidal_hmap *m, size_t entry_bytes, size_t key_bytes)
{
    /* The sizes come from sizeof in the owner. */
    TIDAL_ASSERT(key_bytes > 0);
    TIDAL_ASSERT(key_bytes <= entry_bytes);
    TIDAL_ASSERT(entry_bytes <= UINT32_MAX);
    m->slots = NULL;
    m->cap = 0;
    m->count = 0;
    m->entry_bytes = (uint32_t)entry_bytes;
    m->key_bytes = (uint32_t)key_bytes;
}

void
tidal_hmap_fini(tidal_hmap *m)
{
    tidal__free(m->slots);
    m->slots = NULL;
    m->cap = 0;
    m->count = 0;
}

/* Index of the entry with this key, or of the empty slot where it would go. */
static size_t
probe(const tidal_hmap *m, const void *key, uint64_t h, bool *found)
{
    size_t mask = m->cap - 1;
    uint8_t tag = tag_of(h);
    const uint8_t *t = tags(m);

    for (size_t i = h & mask;; i = (i + 1) & mask) {
        if (t[i] == TAG_EMPTY) {
            *found = false;
            return i;
        }
        if (t[i] == tag && memcmp(slot_at(m, i), key, m->key_bytes) == 0) {
            *found = true;
            return i;
        }
    }
}

void *
tidal_hmap_find(const tidal_hmap *m, const void *key)
{
    bool found;
    size_t i;

    if (m->count == 0) {
        return NULL;
    }
    i = probe(m, key, key_hash(m, key), &found);
    return found ? slot_at(m, i) : NULL;
}

/* Moves every entry into a new array of new_cap slots.  On TIDAL_ENOMEM the
 * map is unchanged. */
static int
resize(tidal_hmap *m, size_t new_cap)
{
    tidal_hmap n = *m;
    size_t bytes;

    if (new_cap > SIZE_MAX / ((size_t)m->entry_bytes + 1)) {
        return TIDAL_ELIMIT;
    }
    bytes = new_cap * ((size_t)m->entry_bytes + 1);
    n.slots = tidal__malloc(bytes);
    if (n.slots == NULL) {
        return TIDAL_ENOMEM;
    }
    n.cap = new_cap;
    memset(tags(&n), TAG_EMPTY, new_cap);
    for (size_t i = 0; i < m->cap; i++) {
        bool found;
        const uint8_t *e;
        uint64_t h;
        size_t j;

        if (tags(m)[i] == TAG_EMPTY) {
            continue;
        }
        e = slot_at(m, i);
        h = key_hash(m, e);
        j = probe(&n, e, h, &found);
        memcpy(slot_at(&n, j), e, m->entry_bytes);
        tags(&n)[j] = tag_of(h);
    }
    tidal__free(m->slots);
    *m = n;
    return 0;
}

int
tidal_hmap_reserve(tidal_hmap *m, size_t n)
{
    size_t cap = m->cap != 0 ? m->cap : HMAP_CAP_MIN;

    if (n == 0 || (m->cap > 0 && fits(n, m->cap))) {
        return 0;
    }
    while (!fits(n, cap)) {
        if (cap > SIZE_MAX / 2) {
            return TIDAL_ELIMIT;
        }
        cap *= 2;
    }
    return cap == m->cap ? 0 : resize(m, cap);
}

int
tidal_hmap_upsert(tidal_hmap *m, const void *key, void **entry, bool *created)
{
    uint64_t h = key_hash(m, key);
    bool found = false;
    size_t i = 0;
    uint8_t *e;

    if (m->cap > 0) {
        i = probe(m, key, h, &found);
        if (found) {
            *entry = slot_at(m, i);
            *created = false;
            return 0;
        }
    }
    if (m->cap == 0 || !fits(m->count + 1, m->cap)) {
        int rv = tidal_hmap_reserve(m, m->count + 1);
        if (rv != 0) {
            return rv;
        }
        i = probe(m, key, h, &found);
    }
    e = slot_at(m, i);
    memset(e, 0, m->entry_bytes);
    memcpy(e, key, m->key_bytes);
    tags(m)[i] = tag_of(h);
    m->count++;
    *entry = e;
    *created = true;
    return 0;
}

/* Empties slot i and shifts back the entries after it whose home slot lets
 * them move (backward-shift deletion). */
static void
remove_at(tidal_hmap *m, size_t i)
{
    size_t mask = m->cap - 1;
    uint8_t *t = tags(m);

    for (size_t j = (i + 1) & mask; t[j] != TAG_EMPTY; j = (j + 1) & mask) {
        size_t home = key_hash(m, slot_at(m, j)) & mask;
        /* The entry at j may fill the hole at i when its home is not in the
         * cyclic range (i, j]: moving it keeps home..slot free of holes. */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            memcpy(slot_at(m, i), slot_at(m, j), m->entry_bytes);
            t[i] = t[j];
            i = j;
        }
    }
    t[i] = TAG_EMPTY;
    m->count--;
}

void
tidal_hmap_remove_entry(tidal_hmap *m, void *entry)
{
    size_t i = (size_t)((uint8_t *)entry - m->slots) / m->entry_bytes;
    remove_at(m, i);
}

bool
tidal_hmap_remove(tidal_hmap *m, const void *key)
{
    void *e = tidal_hmap_find(m, key);

    if (e == NULL) {
        return false;
    }
    tidal_hmap_remove_entry(m, e);
    return true;
}

void *
tidal_hmap_next(const tidal_hmap *m, size_t *cursor)
{
    for (size_t i = *cursor; i < m->cap; i++) {
        if (tags(m)[i] != TAG_EMPTY) {
            *cursor = i + 1;
            return slot_at(m, i);
        }
    }
    *cursor = m->cap;
    return NULL;
}

void
tidal_hmap_retain(tidal_hmap *m, bool (*keep)(void *entry, void *arg), void *arg)
{
    size_t mask = m->cap - 1;
    size_t start = 0;

    if (m->count == 0) {
        return;
    }
    /* Start just after an empty slot: a removal only shifts entries of its own
     * cluster, which ends before that slot, back into positions not yet
     * visited (the hole and after), so re-examining the hole after a removal
     * visits every entry exactly once. */
    while (tags(m)[start] != TAG_EMPTY) {
        start++;
    }
    for (size_t k = 1; k < m->cap;) {
        size_t i = (start + k) & mask;
        if (tags(m)[i] == TAG_EMPTY || keep(slot_at(m, i), arg)) {
            k++;
        } else {
            remove_at(m, i);
        }
    }
}

size_t
tidal_hmap_count(const tidal_hmap *m)
{
    return m->count;
}

size_t
tidal_hmap_memory_bytes(const tidal_hmap *m)
{
    return m->cap * ((size_t)m->entry_bytes + 1);
}
