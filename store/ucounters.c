/*
 * Per-(user, key) counters (ucounters.h): a hash map from (user, key padded
 * with NULs) to a PN-counter, and a second from user to how many of the
 * user's keys each region has a component in (the origin's bound and the
 * table's per-user bound read it in O(1)).  Invariant: a pair's counter has
 * at least one region, and users[u].own[r] is the number of u's pairs whose
 * counter has a component of r; own_all[r] the same over every user.
 */
#include "store/ucounters.h"

#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "store/bytes.h"
#include "store/hmap.h"
#include "tidal/errors.h"

#define UC_HASH_SEED 0x55436f756e746572ull /* "UCounter" */

typedef struct uc_key {
    uint64_t user;
    tidal_ucounter_key k;
} uc_key;

typedef struct uc_slot {
    uc_key key;
    tidal_pncounter c;
} uc_slot;

typedef struct uc_user {
    uint64_t user;
    uint32_t keys;
    uint32_t own[TIDAL_REGIONS_MAX];
} uc_user;

struct tidal_ucounters {
    tidal_hmap pairs; /* uc_key -> uc_slot */
    tidal_hmap users; /* user -> uc_user */
    uint64_t own_all[TIDAL_REGIONS_MAX];
};

bool
tidal_ucounters_key_valid(const char *key)
{
    if (key == NULL) {
        return false;
    }
    size_t n = strnlen(key, TIDAL_USER_COUNTER_KEY_BYTES_MAX + 1);
    return n >= 1 && n <= TIDAL_USER_COUNTER_KEY_BYTES_MAX;
}

/* The table key of (user, key); false if key is not valid. */
static bool
make_key(tidal_entity_id user, const char *key, uc_key *out)
{
    if (!tidal_ucounters_key_valid(key)) {
        return false;
    }
    memset(out, 0, sizeof(*out));
    out->user = user;
    memcpy(out->k.s, key, strlen(key));
    return true;
}

int
tidal_ucounters_open(tidal_ucounters **out)
{
    tidal_ucounters *t = tidal__malloc(sizeof(*t));
    if (t == NULL) {
        return TIDAL_ENOMEM;
    }
    memset(t, 0, sizeof(*t));
    tidal_hmap_init(&t->pairs, sizeof(uc_slot), sizeof(uc_key));
    tidal_hmap_init(&t->users, sizeof(uc_user), sizeof(uint64_t));
    *out = t;
    return 0;
}

void
tidal_ucounters_close(tidal_ucounters *t)
{
    if (t == NULL) {
        return;
    }
    size_t cur = 0;
    uc_slot *s;
    while ((s = tidal_hmap_next(&t->pairs, &cur)) != NULL) {
        tidal_pncounter_fini(&s->c);
    }
    tidal_hmap_fini(&t->pairs);
    tidal_hmap_fini(&t->users);
    tidal__free(t);
}

static const uc_slot *
find(const tidal_ucounters *t, tidal_entity_id user, const char *key)
{
    uc_key k;
    return make_key(user, key, &k) ? tidal_hmap_find(&t->pairs, &k) : NULL;
}

int64_t
tidal_ucounters_value(const tidal_ucounters *t, tidal_entity_id user, const char *key)
{
    const uc_slot *s = find(t, user, key);
    return s != NULL ? tidal_pncounter_value(&s->c) : 0;
}

bool
tidal_ucounters_component(const tidal_ucounters *t, tidal_entity_id user, const char *key,
                          tidal_region_id region, uint64_t *p, uint64_t *n)
{
    const uc_slot *s = find(t, user, key);
    *p = *n = 0;
    if (s != NULL && region < TIDAL_REGIONS_MAX) {
        tidal_pncounter_get(&s->c, region, p, n);
    }
    return *p != 0 || *n != 0;
}

/* The exact value of c with region's component taken as (p, n). */
static __int128
value_with(const tidal_pncounter *c, tidal_region_id region, uint64_t p, uint64_t n)
{
    __int128 v = (__int128)p - (__int128)n;
    for (tidal_region_id r = 0; r < TIDAL_REGIONS_MAX; r++) {
        uint64_t rp = 0, rn = 0;
        if (r != region) {
            if (c != NULL) {
                tidal_pncounter_get(c, r, &rp, &rn);
            }
            v += (__int128)rp - (__int128)rn;
        }
    }
    return v;
}

static int
prepare_limits(const tidal_ucounters *t, tidal_entity_id user, tidal_region_id region,
               const struct tidal_ucounters_floor *f)
{
    const uc_user *u = tidal_hmap_find(&t->users, &user);
    uint64_t user_own = (u != NULL ? u->own[region] : 0) + f->own_pending_user;
    uint64_t all_own = t->own_all[region] + f->own_pending_all;
    if (user_own >= TIDAL_USER_COUNTER_KEYS_ORIGIN_MAX ||
        all_own >= TIDAL_USER_COUNTERS_ORIGIN_MAX) {
        return TIDAL_ELIMIT;
    }
    return 0;
}

int
tidal_ucounters_prepare(const tidal_ucounters *t, tidal_entity_id user, const char *key,
                        tidal_region_id region, int64_t delta,
                        const struct tidal_ucounters_floor *floor, uint64_t *p, uint64_t *n)
{
    static const struct tidal_ucounters_floor none = {0};
    const struct tidal_ucounters_floor *f = floor != NULL ? floor : &none;
    if (!tidal_ucounters_key_valid(key) || region >= TIDAL_REGIONS_MAX || delta == 0) {
        return TIDAL_EINVAL;
    }
    const uc_slot *s = find(t, user, key);
    uint64_t bp = 0, bn = 0;
    if (s != NULL) {
        tidal_pncounter_get(&s->c, region, &bp, &bn);
    }
    bool own = bp != 0 || bn != 0 || f->known;
    bp = bp > f->p ? bp : f->p;
    bn = bn > f->n ? bn : f->n;
    int rv = own ? 0 : prepare_limits(t, user, region, f);
    if (rv != 0) {
        return rv;
    }
    /* the magnitude of INT64_MIN is 2^63, which a uint64_t holds */
    uint64_t mag = delta > 0 ? (uint64_t)delta : (uint64_t)0 - (uint64_t)delta;
    uint64_t *grow = delta > 0 ? &bp : &bn;
    if (*grow > UINT64_MAX - mag) {
        return TIDAL_ETOOBIG;
    }
    __int128 v = value_with(s != NULL ? &s->c : NULL, region, bp, bn) + delta;
    if (v > INT64_MAX || v < INT64_MIN) {
        return TIDAL_ETOOBIG;
    }
    *grow += mag;
    *p = bp;
    *n = bn;
    return 0;
}

/* The slot of (user, key), created (with its user's room checked) if need
 * be; *created says which.  TIDAL_ELIMIT (the table's bounds),
 * TIDAL_ENOMEM; on error nothing is changed. */
static int
slot_for(tidal_ucounters *t, const uc_key *k, uc_slot **out, bool *created)
{
    uc_slot *s = tidal_hmap_find(&t->pairs, k);
    *created = false;
    if (s != NULL) {
        *out = s;
        return 0;
    }
    const uc_user *u = tidal_hmap_find(&t->users, &k->user);
    if ((u != NULL && u->keys >= TIDAL_USER_COUNTER_KEYS_MAX) ||
        tidal_hmap_count(&t->pairs) >= TIDAL_USER_COUNTERS_MAX) {
        return TIDAL_ELIMIT;
    }
    /* both maps grown first, so that neither upsert below can fail */
    int rv = tidal_hmap_reserve(&t->pairs, tidal_hmap_count(&t->pairs) + 1);
    rv = rv != 0 ? rv : tidal_hmap_reserve(&t->users, tidal_hmap_count(&t->users) + 1);
    if (rv != 0) {
        return rv;
    }
    void *e;
    bool c;
    rv = tidal_hmap_upsert(&t->users, &k->user, &e, &c);
    TIDAL_ASSERT(rv == 0);
    ((uc_user *)e)->keys++;
    rv = tidal_hmap_upsert(&t->pairs, k, &e, &c);
    TIDAL_ASSERT(rv == 0);
    tidal_pncounter_init(&((uc_slot *)e)->c);
    *out = e;
    *created = true;
    return 0;
}

/* Undoes slot_for's creation of s (the counter is still empty). */
static void
slot_unmake(tidal_ucounters *t, uc_slot *s)
{
    uc_user *u = tidal_hmap_find(&t->users, &s->key.user);
    if (u != NULL && --u->keys == 0) {
        tidal_hmap_remove_entry(&t->users, u);
    }
    tidal_hmap_remove_entry(&t->pairs, s);
}

/* Counts the components of c that `before` did not have (invariant above). */
static void
count_new_own(tidal_ucounters *t, uint64_t user, const bool before[TIDAL_REGIONS_MAX],
              const tidal_pncounter *c)
{
    uc_user *u = tidal_hmap_find(&t->users, &user);
    for (tidal_region_id r = 0; r < TIDAL_REGIONS_MAX; r++) {
        uint64_t p, n;
        tidal_pncounter_get(c, r, &p, &n);
        if (!before[r] && (p != 0 || n != 0)) {
            u->own[r]++;
            t->own_all[r]++;
        }
    }
}

static void
has_regions(const tidal_pncounter *c, bool out[TIDAL_REGIONS_MAX])
{
    for (tidal_region_id r = 0; r < TIDAL_REGIONS_MAX; r++) {
        uint64_t p, n;
        tidal_pncounter_get(c, r, &p, &n);
        out[r] = p != 0 || n != 0;
    }
}

/* Merges src into the slot of k (created if need be): all or nothing. */
static int
merge_into(tidal_ucounters *t, const uc_key *k, const tidal_pncounter *src, bool *changed)
{
    uc_slot *s;
    bool created, before[TIDAL_REGIONS_MAX];
    int rv = slot_for(t, k, &s, &created);
    if (rv != 0) {
        return rv;
    }
    if ((rv = tidal_pncounter_reserve_merge(&s->c, src)) != 0) {
        if (created) {
            slot_unmake(t, s);
        }
        return rv;
    }
    has_regions(&s->c, before);
    uint64_t h0 = created ? 0 : tidal_pncounter_hash(&s->c);
    rv = tidal_pncounter_merge(&s->c, src);
    TIDAL_ASSERT(rv == 0); /* reserved: cannot fail */
    count_new_own(t, k->user, before, &s->c);
    *changed = created || tidal_pncounter_hash(&s->c) != h0;
    return 0;
}

int
tidal_ucounters_raise(tidal_ucounters *t, tidal_entity_id user, const char *key,
                      tidal_region_id region, uint64_t p, uint64_t n)
{
    uc_key k;
    if (!make_key(user, key, &k) || region >= TIDAL_REGIONS_MAX) {
        return TIDAL_EINVAL;
    }
    if (p == 0 && n == 0) {
        return 0;
    }
    tidal_pncounter one;
    tidal_pncounter_init(&one);
    int rv = tidal_pncounter_raise(&one, region, p, n); /* inline: no allocation */
    bool changed;
    rv = rv != 0 ? rv : merge_into(t, &k, &one, &changed);
    tidal_pncounter_fini(&one);
    return rv;
}

size_t
tidal_ucounters_count(const tidal_ucounters *t)
{
    return tidal_hmap_count(&t->pairs);
}

size_t
tidal_ucounters_user_keys(const tidal_ucounters *t, tidal_entity_id user)
{
    const uc_user *u = tidal_hmap_find(&t->users, &user);
    return u != NULL ? u->keys : 0;
}

bool
tidal_ucounters_next(const tidal_ucounters *t, size_t *cursor, tidal_entity_id *user,
                     tidal_ucounter_key *key)
{
    const uc_slot *s = tidal_hmap_next(&t->pairs, cursor);
    if (s == NULL) {
        return false;
    }
    *user = s->key.user;
    *key = s->key.k;
    return true;
}

static void
entry_write(const uc_slot *s, tidal__wr *w)
{
    size_t klen = strlen(s->key.k.s);
    tidal__wr_u8(w, TIDAL_UCOUNTER_ENTRY_VERSION);
    tidal__wr_u64(w, s->key.user);
    tidal__wr_u8(w, (uint8_t)klen);
    tidal__wr_bytes(w, s->key.k.s, klen);
    tidal__pncounter_write(&s->c, w);
}

static uint64_t
slot_hash(const uc_slot *s)
{
    tidal_hasher h;
    tidal__wr w;
    tidal_hasher_init(&h, UC_HASH_SEED);
    tidal__wr_init(&w, NULL, 0, &h);
    entry_write(s, &w);
    return tidal_hasher_final(&h);
}

int
tidal_ucounters_entry_hash(const tidal_ucounters *t, tidal_entity_id user, const char *key,
                           uint64_t *h)
{
    const uc_slot *s = find(t, user, key);
    if (s == NULL) {
        return TIDAL_ENOENT;
    }
    *h = slot_hash(s);
    return 0;
}

uint64_t
tidal_ucounters_digest(const tidal_ucounters *t)
{
    size_t cur = 0;
    uint64_t sum = 0;
    const uc_slot *s;
    while ((s = tidal_hmap_next(&t->pairs, &cur)) != NULL) {
        sum += slot_hash(s);
    }
    return sum;
}

int
tidal_ucounters_entry_encode(const tidal_ucounters *t, tidal_entity_id user, const char *key,
                             uint8_t *buf, size_t cap, size_t *len)
{
    const uc_slot *s = find(t, user, key);
    tidal__wr w;
    if (s == NULL) {
        return TIDAL_ENOENT;
    }
    tidal__wr_init(&w, buf, cap, NULL);
    entry_write(s, &w);
    return tidal__wr_finish(&w, len);
}

/* Reads version, user and key; rd is left at the counter. */
static int
read_head(tidal__rd *rd, uc_key *k)
{
    uint8_t version, klen;
    const uint8_t *kb;
    int rv;
    memset(k, 0, sizeof(*k));
    if ((rv = tidal__rd_u8(rd, &version)) != 0) {
        return rv;
    }
    if (version != TIDAL_UCOUNTER_ENTRY_VERSION) {
        return TIDAL_EVERSION;
    }
    if ((rv = tidal__rd_u64(rd, &k->user)) != 0 || (rv = tidal__rd_u8(rd, &klen)) != 0) {
        return rv;
    }
    if (klen == 0 || klen > TIDAL_USER_COUNTER_KEY_BYTES_MAX) {
        return TIDAL_ECORRUPT;
    }
    if ((rv = tidal__rd_bytes(rd, &kb, klen)) != 0) {
        return rv;
    }
    if (memchr(kb, '\0', klen) != NULL) {
        return TIDAL_ECORRUPT;
    }
    memcpy(k->k.s, kb, klen);
    return 0;
}

int
tidal_ucounters_entry_peek(const uint8_t *buf, size_t len, tidal_entity_id *user,
                           tidal_ucounter_key *key)
{
    tidal__rd rd;
    uc_key k;
    tidal__rd_init(&rd, buf, len);
    int rv = read_head(&rd, &k);
    if (rv == 0) {
        *user = k.user;
        *key = k.k;
    }
    return rv;
}

int
tidal_ucounters_entry_merge(tidal_ucounters *t, const uint8_t *buf, size_t len, bool *changed)
{
    tidal__rd rd;
    uc_key k;
    tidal_pncounter c;
    *changed = false;
    tidal__rd_init(&rd, buf, len);
    int rv = read_head(&rd, &k);
    if (rv != 0) {
        return rv;
    }
    tidal_pncounter_init(&c);
    rv = tidal__pncounter_read(&c, &rd);
    rv = rv != 0 ? rv : tidal__rd_end(&rd);
    if (rv == 0 && tidal_pncounter_regions(&c) == 0) {
        rv = TIDAL_ECORRUPT; /* a pair always has a component */
    }
    rv = rv != 0 ? rv : merge_into(t, &k, &c, changed);
    tidal_pncounter_fini(&c);
    return rv;
}
