/*
 * A region's state as reconciliation entries (reconcile.h): a hard-negative
 * pair, an (item, signal type) count state, a session, or a (user, key)
 * counter (never in parts: TIDAL_UCOUNTER_ENTRY_BYTES_MAX fits one), each hashed by its
 * key into a bucket; the digest of the buckets; the entries of chosen
 * buckets, encoded to travel (a big session or signal state in parts:
 * reconcile.h, "Parts"); and the merge of a peer's entry.
 *
 * A merge says whether it changed the state: the hash of this region's
 * entry of the same key before and after.  Only a change is worth logging
 * (reconciled.c): a round exchanges whole buckets, most of whose entries
 * both sides already hold.  The key is read from the entry's encoding before
 * the merge (its layout is the store's: the version checks below fail the
 * build if it moves); an entry whose key cannot be read counts as a change
 * if it merges, which logs too much, never too little.
 */
#include <stdlib.h>
#include <string.h>

#include "actors/reconcile.h"
#include "base/hash.h"
#include "store/bytes.h"

_Static_assert(TIDAL_SIGNALS_ENTRY_VERSION == 1 && TIDAL_SESSION_ENTRY_VERSION == 1,
               "entry_key reads the key at version 1's offsets: check them");

static uint64_t
key_hardneg(tidal_entity_id user, tidal_entity_id item)
{
    return tidal_mix64(tidal_mix64(user ^ 0x68617264ull) ^ item);
}

static uint64_t
key_signals(tidal_entity_id item, const char *type)
{
    uint64_t h = tidal_mix64(item ^ 0x7369676eull);
    for (const char *p = type; *p; p++) {
        h = tidal_mix64(h ^ (uint8_t)*p);
    }
    return h;
}

static uint64_t
key_ucounter(tidal_entity_id user, const char *key)
{
    uint64_t h = tidal_mix64(user ^ 0x75636e74ull);
    for (const char *p = key; *p; p++) {
        h = tidal_mix64(h ^ (uint8_t)*p);
    }
    return h;
}

_Static_assert(TIDAL_UCOUNTER_ENTRY_BYTES_MAX <= TIDAL__ENTRY_BYTES_MAX,
               "a (user, key) counter travels whole");

/* A (user, key) pair, as each_entry hands it to fn. */
struct uc_ref {
    tidal_entity_id user;
    tidal_ucounter_key key;
};

static uint64_t
key_session(const tidal_session_id *id)
{
    return tidal_mix64(tidal_mix64(id->hi ^ 0x73657373ull) ^ id->lo);
}

/* Calls fn for every entry with its kind, key hash and entry hash.  Caller
 * holds state.lock. */
typedef void (*entry_fn)(void *arg, int kind, uint64_t key, uint64_t hash, const void *ref);

struct sig_ref {
    tidal_entity_id item;
    uint16_t type;
};

/* Calls fn for every entry.  Sessions past the retention are no part of a
 * digest (they are gone for every reader, freed or not yet); with tombs,
 * they and the tombstones of those freed go as KIND_TOMB entries, which end
 * a peer's copy that missed the end (docs/design.md, "Ended sessions"). */
static void
each_entry(tidal_region *r, entry_fn fn, void *arg, bool tombs)
{
    uint64_t cutoff = tidal__retention_cutoff(r);
    size_t cur = 0;
    tidal_hardneg_entry he;
    while (tidal_hardneg_next(r->state.hardneg, &cur, &he)) {
        fn(arg, TIDAL__ENTRY_HARDNEG, key_hardneg(he.user, he.item), tidal_hardneg_entry_hash(&he),
           &he);
    }
    cur = 0;
    struct uc_ref ur;
    while (tidal_ucounters_next(r->state.ucounters, &cur, &ur.user, &ur.key)) {
        uint64_t h;
        if (tidal_ucounters_entry_hash(r->state.ucounters, ur.user, ur.key.s, &h) == 0) {
            fn(arg, TIDAL__ENTRY_UCOUNTER, key_ucounter(ur.user, ur.key.s), h, &ur);
        }
    }
    cur = 0;
    struct sig_ref sr;
    while (tidal_signals_next(r->state.signals, &cur, &sr.item, &sr.type)) {
        uint64_t h;
        const char *name = tidal_sigtypes_name(r->state.types, sr.type);
        if (name != NULL && tidal_signals_entry_hash(r->state.signals, sr.item, sr.type, &h) == 0) {
            fn(arg, TIDAL__ENTRY_SIGNALS, key_signals(sr.item, name), h, &sr);
        }
    }
    cur = 0;
    tidal_session_id sid;
    while (tidal_sessions_next(r->state.sessions, &cur, &sid)) {
        uint64_t h;
        if (tidal_sessions_expired(r->state.sessions, &sid, cutoff)) {
            if (tombs) { /* not freed yet: goes as the tombstone it will be */
                fn(arg, TIDAL__ENTRY_TOMB, key_session(&sid), 0, &sid);
            }
        } else if (tidal_sessions_entry_hash(r->state.sessions, &sid, &h) == 0) {
            fn(arg, TIDAL__ENTRY_SESSION, key_session(&sid), h, &sid);
        }
    }
    cur = 0;
    while (tombs && tidal_sessions_next_tomb(r->state.sessions, &cur, &sid)) {
        fn(arg, TIDAL__ENTRY_TOMB, key_session(&sid), 0, &sid);
    }
}

static void
digest_add(void *arg, int kind, uint64_t key, uint64_t hash, const void *ref)
{
    (void)ref;
    struct tidal__digest *d = arg;
    d->h[key & (d->n - 1)] ^= tidal_mix64(hash ^ (uint64_t)kind);
}

size_t
tidal__entries_count(tidal_region *r)
{
    pthread_mutex_lock(&r->state.lock);
    size_t n = tidal_hardneg_count(r->state.hardneg) + tidal_signals_entries(r->state.signals) +
               tidal_sessions_count(r->state.sessions) + tidal_ucounters_count(r->state.ucounters);
    pthread_mutex_unlock(&r->state.lock);
    return n;
}

int
tidal__digest_make(tidal_region *r, uint32_t n, struct tidal__digest *d)
{
    d->n = n;
    d->h = calloc(n, sizeof(uint64_t));
    if (d->h == NULL) {
        return TIDAL_ENOMEM;
    }
    pthread_mutex_lock(&r->state.lock);
    for (uint32_t o = 0; o < TIDAL_REGIONS_MAX; o++) {
        d->covers[o] = atomic_load(&r->wm.position[o]);
    }
    each_entry(r, digest_add, d, false);
    pthread_mutex_unlock(&r->state.lock);
    return 0;
}

/* tidal__entries_pick's walk. */
struct picking {
    tidal_region *r;
    const uint8_t *want; /* bitmap of n bits */
    uint32_t n;
    struct tidal__picked *p;
    uint32_t cap;
    int rv;
};

/* Room in *p for one more entry of up to TIDAL__ENTRY_BYTES_MAX bytes and
 * its kind: false, with k->rv set, if there is none. */
static bool
pick_room(struct picking *k)
{
    struct tidal__picked *p = k->p;
    if (p->count == k->cap) {
        uint32_t ncap = k->cap ? k->cap * 2 : 256;
        uint32_t *e = realloc(p->ends, ncap * sizeof(*e));
        if (e == NULL) {
            k->rv = TIDAL_ENOMEM;
            return false;
        }
        p->ends = e;
        k->cap = ncap;
    }
    return (k->rv = tidal_buf_reserve(&p->bytes, TIDAL__ENTRY_BYTES_MAX + 1)) == 0;
}

/* Encodes the entry at `at`, *len its size: for a session or a signal
 * state, its part from the cursor *from, which moves on (0 after the last
 * part); anything else leaves *from 0.  0 or the encoder's code. */
static int
pick_encode(struct picking *k, int kind, const void *ref, uint64_t *from, uint8_t *at, size_t *len)
{
    tidal_region *r = k->r;
    switch (kind) {
    case TIDAL__ENTRY_HARDNEG:
        return tidal_hardneg_entry_encode(ref, at, TIDAL__ENTRY_BYTES_MAX, len);
    case TIDAL__ENTRY_SIGNALS: {
        const struct sig_ref *sr = ref;
        return tidal_signals_entry_encode_part(r->state.signals, sr->item, sr->type, from, at,
                                               TIDAL__ENTRY_BYTES_MAX, len);
    }
    case TIDAL__ENTRY_UCOUNTER: {
        const struct uc_ref *ur = ref;
        return tidal_ucounters_entry_encode(r->state.ucounters, ur->user, ur->key.s, at,
                                            TIDAL__ENTRY_BYTES_MAX, len);
    }
    case TIDAL__ENTRY_TOMB:
        return tidal_sessions_tomb_encode(r->state.sessions, ref, at, TIDAL__ENTRY_BYTES_MAX, len);
    default:
        return tidal_sessions_entry_encode_part(r->state.sessions, ref, from, at,
                                                TIDAL__ENTRY_BYTES_MAX, len);
    }
}

/* Adds the entry of a wanted bucket to the picked ones: a session or a
 * signal state as as many parts as it needs (reconcile.h, "Parts"), a
 * hard negative or a tombstone as one entry. */
static void
pick(void *arg, int kind, uint64_t key, uint64_t hash, const void *ref)
{
    (void)hash;
    struct picking *k = arg;
    struct tidal__picked *p = k->p;
    uint32_t b = (uint32_t)(key & (k->n - 1));
    if (k->rv != 0 || (k->want[b / 8] & (1u << (b % 8))) == 0) {
        return;
    }
    uint64_t from = 0;
    do {
        if (!pick_room(k)) {
            return;
        }
        uint8_t *at = p->bytes.data + p->bytes.len;
        size_t len = 0;
        at[0] = (uint8_t)kind;
        k->rv = pick_encode(k, kind, ref, &from, at + 1, &len);
        if (k->rv == TIDAL_ENOENT) {
            /* a signal state whose buckets the keep rule all left below
             * its floor (store/signals.h), not freed yet: it is in no
             * digest, so there is nothing of it to send */
            k->rv = 0;
            return;
        }
        if (k->rv == TIDAL_ETOOBIG || k->rv == TIDAL_EINVAL) {
            /* not even one signal or bucket fits a part: the limits leave
             * none, but the answer then says it is not whole, and the
             * round does not complete (reconciler.c) */
            k->rv = 0;
            p->whole = false;
            return;
        }
        if (k->rv != 0) {
            return;
        }
        p->bytes.len += len + 1;
        p->ends[p->count++] = (uint32_t)p->bytes.len;
    } while (from != 0); /* only sessions and signal states come in parts */
}

int
tidal__entries_pick(tidal_region *r, const uint8_t *want, uint32_t n, struct tidal__picked *p)
{
    memset(p, 0, sizeof(*p));
    tidal_buf_init(&p->bytes);
    p->whole = true;
    if (want == NULL) {
        return 0; /* nothing asked for: not even a walk */
    }
    struct picking k = {.r = r, .want = want, .n = n, .p = p};
    pthread_mutex_lock(&r->state.lock);
    each_entry(r, pick, &k, true);
    pthread_mutex_unlock(&r->state.lock);
    return k.rv;
}

void
tidal__picked_fini(struct tidal__picked *p)
{
    free(p->ends);
    tidal_buf_fini(&p->bytes);
}

bool
tidal__entry_bad(int code)
{
    return code == TIDAL_ETRUNCATED || code == TIDAL_ECORRUPT || code == TIDAL_EVERSION ||
           code == TIDAL_ETRAILING || code == TIDAL_EINVAL || code == TIDAL_EEXIST ||
           code == TIDAL_ETYPE;
}

/* The key of a signals or session entry, read from its encoding (version
 * 1: store/signals.h, store/session_codec.c); false if it cannot be. */
static bool
signals_key(const uint8_t *b, size_t len, tidal_entity_id *item, char name[256])
{
    tidal__rd rd;
    uint8_t version, n;
    const uint8_t *p;
    tidal__rd_init(&rd, b, len);
    if (tidal__rd_u8(&rd, &version) != 0 || version != TIDAL_SIGNALS_ENTRY_VERSION ||
        tidal__rd_u64(&rd, item) != 0 || tidal__rd_u8(&rd, &n) != 0 ||
        tidal__rd_bytes(&rd, &p, n) != 0) {
        return false;
    }
    memcpy(name, p, n);
    name[n] = '\0';
    return true;
}

static bool
session_key(const uint8_t *b, size_t len, tidal_session_id *id)
{
    tidal__rd rd;
    uint8_t version;
    tidal__rd_init(&rd, b, len);
    return tidal__rd_u8(&rd, &version) == 0 && version == TIDAL_SESSION_ENTRY_VERSION &&
           tidal__rd_u64(&rd, &id->hi) == 0 && tidal__rd_u64(&rd, &id->lo) == 0;
}

/* A hash of what the state holds of a key: found, and its hash. */
struct held {
    bool found;
    uint64_t hash;
};

static bool
held_differs(struct held a, struct held b)
{
    return a.found != b.found || (a.found && a.hash != b.hash);
}

static int
merge_hardneg(tidal_region *r, const uint8_t *b, size_t len, bool *changed)
{
    tidal_hardneg_entry he, old;
    int rv = tidal_hardneg_entry_decode(b, len, &he);
    if (rv != 0) {
        return rv;
    }
    struct held before = {.found = tidal_hardneg_get(r->state.hardneg, he.user, he.item, &old)};
    before.hash = before.found ? tidal_hardneg_entry_hash(&old) : 0;
    if ((rv = tidal_hardneg_entry_merge(r->state.hardneg, &he)) != 0) {
        return rv;
    }
    struct held after = {.found = tidal_hardneg_get(r->state.hardneg, he.user, he.item, &old)};
    after.hash = after.found ? tidal_hardneg_entry_hash(&old) : 0;
    *changed = held_differs(before, after);
    return 0;
}

static int
merge_signals(tidal_region *r, const uint8_t *b, size_t len, uint64_t now, bool *changed)
{
    tidal_entity_id item0 = 0, item;
    uint16_t type0 = 0, type;
    char name[256];
    bool keyed =
        signals_key(b, len, &item0, name) && tidal_sigtypes_find(r->state.types, name, &type0) == 0;
    struct held before = {0}, after = {0};
    before.found =
        keyed && tidal_signals_entry_hash(r->state.signals, item0, type0, &before.hash) == 0;
    int rv = tidal_signals_entry_merge(r->state.signals, b, len, now, &item, &type);
    if (rv != 0) {
        return rv;
    }
    after.found = tidal_signals_entry_hash(r->state.signals, item, type, &after.hash) == 0;
    /* a type unknown before the merge had no entry: before stays not found */
    bool same_key = !keyed || (item == item0 && type == type0);
    *changed = !same_key || held_differs(before, after);
    return 0;
}

static int
merge_session(tidal_region *r, const uint8_t *b, size_t len, bool *changed)
{
    tidal_session_id id0 = {0};
    bool keyed = session_key(b, len, &id0);
    struct held before = {0}, after = {0};
    before.found = keyed && tidal_sessions_entry_hash(r->state.sessions, &id0, &before.hash) == 0;
    /* under the retention rule; its HWM rises over what it now holds, and
     * writes held for it drain (state.c) */
    int rv = tidal__state_merge_session(r, b, len);
    if (rv != 0) {
        return rv;
    }
    after.found = keyed && tidal_sessions_entry_hash(r->state.sessions, &id0, &after.hash) == 0;
    *changed = !keyed || held_differs(before, after);
    return 0;
}

int
tidal__entry_merge(tidal_region *r, tidal_view e, uint64_t now, bool *changed)
{
    *changed = false;
    if (e.len < 2) {
        return TIDAL_ETRUNCATED;
    }
    const uint8_t *b = e.ptr + 1;
    size_t len = e.len - 1;
    switch (e.ptr[0]) {
    case TIDAL__ENTRY_HARDNEG:
        return merge_hardneg(r, b, len, changed);
    case TIDAL__ENTRY_SIGNALS:
        return merge_signals(r, b, len, now, changed);
    case TIDAL__ENTRY_SESSION:
        return merge_session(r, b, len, changed);
    case TIDAL__ENTRY_UCOUNTER:
        /* a per-region max: the store says whether it moved anything */
        return tidal_ucounters_entry_merge(r->state.ucounters, b, len, changed);
    case TIDAL__ENTRY_TOMB: {
        int rv = tidal__state_merge_tomb(r, b, len);
        *changed = rv == 0; /* logged: a replay frees what it freed */
        return rv;
    }
    default:
        return TIDAL_ETYPE; /* a kind of a newer peer's: the batches bring its state */
    }
}
