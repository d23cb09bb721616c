/*
 * Signal state (signals.h): apply, windowed counts and expiry.  Encoding,
 * hashing and merging of entries are in signals_codec.c; the layout is in
 * signals_internal.h.
 *
 * Old buckets go by the keep rule of signals.h, measured from the newest
 * minute and hour bucket the state ever stored (s->top), never from a clock:
 * a region's clock and the moment it applied or expired must not show in
 * what it digests or sends.  Every view of the state - counts, components,
 * hashes, encodings, merges - starts at tidal__sig_floor, so a bucket the
 * rule dropped is gone at once for all of them; expire only frees its
 * memory, and running it or not changes nothing a peer or a reader can see.
 *
 * apply and observe change all or nothing: they first make every allocation
 * they may need (the slot, room in the bucket array, room in the two
 * counters) and check for overflow, then insert the buckets and add or raise,
 * which cannot fail.  On a failure only the slot created is undone; extra
 * capacity is harmless.
 */
#include "store/signals.h"

#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "store/signals_internal.h"
#include "tidal/errors.h"

int
tidal_signals_open(tidal_sigtypes *types, tidal_signals **out)
{
    tidal_signals *s = tidal__malloc(sizeof(*s));

    if (s == NULL) {
        return TIDAL_ENOMEM;
    }
    tidal_hmap_init(&s->map, sizeof(tidal__sig_slot), TIDAL__SIG_KEY_BYTES);
    s->types = types;
    s->top[0] = 0;
    s->top[1] = 0;
    *out = s;
    return 0;
}

static void
slot_free(tidal__sig_slot *slot)
{
    for (size_t i = 0; i < (size_t)slot->nmin + slot->nhour; i++) {
        tidal_pncounter_fini(&slot->b[i]);
    }
    tidal__free(slot->b);
    slot->b = NULL;
    slot->nmin = 0;
    slot->nhour = 0;
    slot->cap = 0;
}

void
tidal_signals_close(tidal_signals *s)
{
    tidal__sig_slot *slot;
    size_t cursor = 0;

    if (s == NULL) {
        return;
    }
    while ((slot = tidal_hmap_next(&s->map, &cursor)) != NULL) {
        slot_free(slot);
    }
    tidal_hmap_fini(&s->map);
    tidal__free(s);
}

size_t
tidal__sig_lower_bound(const tidal_pncounter *b, size_t lo, size_t hi, uint32_t n)
{
    /* Most events land in the newest bucket: check the end first. */
    if (hi > lo && b[hi - 1].tag < n) {
        return hi;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b[mid].tag < n) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

uint32_t
tidal__sig_floor(const tidal_signals *s, int kind)
{
    uint64_t held = kind == 0 ? TIDAL_SIGNALS_MINUTES_HELD : TIDAL_SIGNALS_HOURS_HELD;

    /* top = newest + 1: keep newest - (held - 1) .. newest */
    return (uint32_t)(s->top[kind] > held ? s->top[kind] - held : 0);
}

void
tidal__sig_saw(tidal_signals *s, int kind, uint32_t n)
{
    if ((uint64_t)n + 1 > s->top[kind]) {
        s->top[kind] = (uint64_t)n + 1;
    }
}

/* Makes room for n buckets in the slot's array.  TIDAL_ENOMEM: unchanged. */
static int
slot_grow(tidal__sig_slot *slot, size_t n)
{
    size_t cap;
    tidal_pncounter *b;

    if (n <= slot->cap) {
        return 0;
    }
    /* Exact for the few buckets most items have, then by half again. */
    cap = n < 4 ? n : n + n / 2;
    cap = cap > TIDAL_SIGNALS_BUCKETS_MAX ? TIDAL_SIGNALS_BUCKETS_MAX : cap;
    b = tidal__realloc(slot->b, cap * sizeof(*b));
    if (b == NULL) {
        return TIDAL_ENOMEM;
    }
    slot->b = b;
    slot->cap = (uint16_t)cap;
    return 0;
}

/* Inserts an empty bucket numbered n at index i (room already made). */
static void
bucket_insert(tidal__sig_slot *slot, size_t i, uint32_t n)
{
    size_t used = (size_t)slot->nmin + slot->nhour;

    memmove(&slot->b[i + 1], &slot->b[i], (used - i) * sizeof(slot->b[0]));
    tidal_pncounter_init(&slot->b[i]);
    slot->b[i].tag = n;
}

/* One event's change to region's component of its two buckets: add delta
 * (apply), or raise P to p[MINUTE] / p[HOUR] (observe; 0 skips a bucket). */
enum { MINUTE = 0, HOUR = 1 };

typedef struct sig_update {
    tidal_region_id region;
    bool raise;
    int64_t delta;
    uint64_t p[2];
    uint32_t bucket[2]; /* the minute and hour numbers of the event */
} sig_update;

/* Where the update lands in a slot: for each kind, whether it is touched,
 * the bucket's index and whether the bucket must be created. */
typedef struct sig_place {
    bool use[2];
    bool create[2];
    size_t at[2];
} sig_place;

/* The fallible half of an update: finds the buckets, makes room for the new
 * ones in the slot and for region in the existing ones, and checks for
 * overflow.  On error nothing but capacity changed. */
static int
update_prepare(tidal__sig_slot *slot, const sig_update *u, sig_place *pl)
{
    size_t used = (size_t)slot->nmin + slot->nhour;
    size_t lo[2] = {0, slot->nmin}, hi[2] = {slot->nmin, used};
    size_t need = used;
    int rv;

    for (int k = MINUTE; k <= HOUR; k++) {
        if (!pl->use[k]) {
            continue;
        }
        pl->at[k] = tidal__sig_lower_bound(slot->b, lo[k], hi[k], u->bucket[k]);
        pl->create[k] = pl->at[k] == hi[k] || slot->b[pl->at[k]].tag != u->bucket[k];
        need += pl->create[k];
        if (!pl->create[k] && !u->raise &&
            tidal_pncounter_would_overflow(&slot->b[pl->at[k]], u->region, u->delta)) {
            return TIDAL_ELIMIT;
        }
    }
    if (need > TIDAL_SIGNALS_BUCKETS_MAX) {
        return TIDAL_ELIMIT;
    }
    if ((rv = slot_grow(slot, need)) != 0) {
        return rv;
    }
    for (int k = MINUTE; k <= HOUR; k++) {
        if (pl->use[k] && !pl->create[k] &&
            (rv = tidal_pncounter_reserve(&slot->b[pl->at[k]], u->region)) != 0) {
            return rv;
        }
    }
    return 0;
}

/* The half that cannot fail. */
static void
update_commit(tidal_signals *s, tidal__sig_slot *slot, const sig_update *u, sig_place *pl)
{
    int rv;

    /* The hour bucket goes in first: it sits after every minute bucket, so
     * inserting it does not move the minute index. */
    if (pl->use[HOUR] && pl->create[HOUR]) {
        bucket_insert(slot, pl->at[HOUR], u->bucket[HOUR]);
        slot->nhour++;
    }
    if (pl->use[MINUTE] && pl->create[MINUTE]) {
        bucket_insert(slot, pl->at[MINUTE], u->bucket[MINUTE]);
        slot->nmin++;
        pl->at[HOUR]++;
    }
    for (int k = MINUTE; k <= HOUR; k++) {
        if (!pl->use[k]) {
            continue;
        }
        if (u->raise) {
            rv = tidal_pncounter_raise(&slot->b[pl->at[k]], u->region, u->p[k], 0);
        } else {
            rv = tidal_pncounter_add(&slot->b[pl->at[k]], u->region, u->delta);
        }
        TIDAL_ASSERT(rv == 0);
        tidal__sig_saw(s, k, u->bucket[k]);
    }
}

static bool expire_slot(void *entry, void *arg);

static int
update(tidal_signals *s, tidal_entity_id item, uint16_t type, sig_update *u, uint64_t ts_ns)
{
    tidal__sig_key key = {.item = item, .type = type};
    tidal__sig_slot *slot;
    sig_place pl = {.use = {!u->raise || u->p[MINUTE] != 0, !u->raise || u->p[HOUR] != 0}};
    bool created;
    int rv;

    if (u->region >= TIDAL_REGIONS_MAX || tidal_sigtypes_name(s->types, type) == NULL) {
        return TIDAL_EINVAL;
    }
    u->bucket[MINUTE] = (uint32_t)(ts_ns / TIDAL_SIGNALS_MINUTE_NS);
    u->bucket[HOUR] = (uint32_t)(ts_ns / TIDAL_SIGNALS_HOUR_NS);
    for (int k = MINUTE; k <= HOUR; k++) {
        /* the keep rule: a bucket already older than it is no part of the
         * state, here or in any replica that applied the newer event */
        pl.use[k] = pl.use[k] && u->bucket[k] >= tidal__sig_floor(s, k);
    }
    if ((!u->raise && u->delta == 0) || (!pl.use[MINUTE] && !pl.use[HOUR])) {
        return 0;
    }
    if ((rv = tidal_hmap_upsert(&s->map, &key, (void **)&slot, &created)) != 0) {
        return rv;
    }
    /* Free what the rule left out of this slot first, so that a slot holds
     * at most the 230 buckets the rule keeps when it takes an event: the
     * bucket limit then never depends on when expire last ran.  A slot left
     * empty is as good as a new one. */
    uint32_t floors[2] = {tidal__sig_floor(s, MINUTE), tidal__sig_floor(s, HOUR)};
    created = !expire_slot(slot, floors) || created;
    if ((rv = update_prepare(slot, u, &pl)) != 0) {
        if (created) {
            tidal_hmap_remove_entry(&s->map, slot);
        }
        return rv;
    }
    update_commit(s, slot, u, &pl);
    return 0;
}

int
tidal_signals_apply(tidal_signals *s, tidal_entity_id item, uint16_t type, tidal_region_id region,
                    int64_t delta, uint64_t ts_ns)
{
    sig_update u = {.region = region, .raise = false, .delta = delta};

    return update(s, item, type, &u, ts_ns);
}

int
tidal_signals_observe(tidal_signals *s, tidal_entity_id item, uint16_t type, tidal_region_id region,
                      uint64_t ts_ns, uint64_t p_minute, uint64_t p_hour)
{
    sig_update u = {.region = region, .raise = true, .p = {p_minute, p_hour}};

    return update(s, item, type, &u, ts_ns);
}

int
tidal_signals_room(const tidal_signals *s, tidal_entity_id item, uint16_t type, uint64_t ts_ns)
{
    tidal__sig_key key = {.item = item, .type = type};
    const tidal__sig_slot *slot = tidal_hmap_find(&s->map, &key);
    uint32_t m = (uint32_t)(ts_ns / TIDAL_SIGNALS_MINUTE_NS);
    uint32_t h = (uint32_t)(ts_ns / TIDAL_SIGNALS_HOUR_NS);
    if (slot == NULL) {
        return 0; /* two buckets */
    }
    /* the buckets the keep rule still keeps: those it left out are freed by
     * the next expire, and every replica leaves them out alike */
    size_t used = (size_t)slot->nmin + slot->nhour;
    size_t m0 = tidal__sig_lower_bound(slot->b, 0, slot->nmin, tidal__sig_floor(s, MINUTE));
    size_t h0 = tidal__sig_lower_bound(slot->b, slot->nmin, used, tidal__sig_floor(s, HOUR));
    size_t mi = tidal__sig_lower_bound(slot->b, m0, slot->nmin, m);
    size_t hi = tidal__sig_lower_bound(slot->b, h0, used, h);
    size_t need = (slot->nmin - m0) + (used - h0) +
                  (m >= tidal__sig_floor(s, MINUTE) && (mi == slot->nmin || slot->b[mi].tag != m)) +
                  (h >= tidal__sig_floor(s, HOUR) && (hi == used || slot->b[hi].tag != h));
    return need <= TIDAL_SIGNALS_BUCKETS_ORIGIN_MAX ? 0 : TIDAL_ELIMIT;
}

int
tidal_signals_component(const tidal_signals *s, tidal_entity_id item, uint16_t type,
                        tidal_region_id region, uint64_t ts_ns, uint64_t *p_minute,
                        uint64_t *p_hour)
{
    tidal__sig_key key = {.item = item, .type = type};
    const tidal__sig_slot *slot = tidal_hmap_find(&s->map, &key);
    uint32_t m = (uint32_t)(ts_ns / TIDAL_SIGNALS_MINUTE_NS);
    uint32_t h = (uint32_t)(ts_ns / TIDAL_SIGNALS_HOUR_NS);
    uint64_t n;

    if (region >= TIDAL_REGIONS_MAX) {
        return TIDAL_EINVAL;
    }
    *p_minute = 0;
    *p_hour = 0;
    if (slot != NULL) {
        size_t used = (size_t)slot->nmin + slot->nhour;
        size_t mi = tidal__sig_lower_bound(slot->b, 0, slot->nmin, m);
        size_t hi = tidal__sig_lower_bound(slot->b, slot->nmin, used, h);
        /* a bucket the keep rule left out holds nothing, freed or not */
        if (mi < slot->nmin && slot->b[mi].tag == m && m >= tidal__sig_floor(s, MINUTE)) {
            tidal_pncounter_get(&slot->b[mi], region, p_minute, &n);
        }
        if (hi < used && slot->b[hi].tag == h && h >= tidal__sig_floor(s, HOUR)) {
            tidal_pncounter_get(&slot->b[hi], region, p_hour, &n);
        }
    }
    return 0;
}

/* The sum of the values of b[lo, hi) numbered first .. last, modulo 2^64. */
static uint64_t
sum_range(const tidal_pncounter *b, size_t lo, size_t hi, uint32_t first, uint64_t last)
{
    uint64_t sum = 0;

    for (size_t i = tidal__sig_lower_bound(b, lo, hi, first); i < hi && b[i].tag <= last; i++) {
        sum += (uint64_t)tidal_pncounter_value(&b[i]);
    }
    return sum;
}

int64_t
tidal__sig_slot_count(const tidal_signals *s, const tidal__sig_slot *slot, tidal_sigwindow window,
                      uint64_t now_ns)
{
    uint64_t nm = now_ns / TIDAL_SIGNALS_MINUTE_NS;
    uint64_t nh = now_ns / TIDAL_SIGNALS_HOUR_NS;
    uint64_t sum;

    /* A window starts at its first bucket or the keep rule's floor, the
     * later: the floor is below the window's start unless the state holds
     * an event stamped more than a bucket ahead of now (signals.h).  Bucket
     * numbers of any 64-bit stamp fit in 32 bits. */
    bool minutes = window == TIDAL_SIGWINDOW_1H;
    uint64_t last = minutes ? nm : nh;
    uint64_t span = minutes ? TIDAL_SIGNALS_MINUTES_KEPT
                            : window == TIDAL_SIGWINDOW_24H ? 24 : TIDAL_SIGNALS_HOURS_KEPT;
    uint64_t first = last >= span - 1 ? last - (span - 1) : 0;
    uint32_t low = tidal__sig_floor(s, minutes ? MINUTE : HOUR);
    first = first > low ? first : low;
    if (minutes) {
        sum = sum_range(slot->b, 0, slot->nmin, (uint32_t)first, last);
    } else {
        sum = sum_range(slot->b, slot->nmin, (size_t)slot->nmin + slot->nhour, (uint32_t)first,
                        last);
    }
    return sum <= INT64_MAX ? (int64_t)sum : -(int64_t)(~sum) - 1;
}

int
tidal_signals_count(const tidal_signals *s, tidal_entity_id item, uint16_t type,
                    tidal_sigwindow window, uint64_t now_ns, int64_t *out)
{
    tidal__sig_key key = {.item = item, .type = type};
    const tidal__sig_slot *slot;

    if (window != TIDAL_SIGWINDOW_1H && window != TIDAL_SIGWINDOW_24H &&
        window != TIDAL_SIGWINDOW_7D) {
        return TIDAL_EINVAL;
    }
    slot = tidal_hmap_find(&s->map, &key);
    *out = slot != NULL ? tidal__sig_slot_count(s, slot, window, now_ns) : 0;
    return 0;
}

/* Frees the slot's buckets below the keep rule's floors (a prefix of each
 * run); false when none is left, after freeing the array. */
static bool
expire_slot(void *entry, void *arg)
{
    const uint32_t *floors = arg; /* minute, hour */
    tidal__sig_slot *slot = entry;
    size_t used = (size_t)slot->nmin + slot->nhour;
    size_t dm = tidal__sig_lower_bound(slot->b, 0, slot->nmin, floors[MINUTE]);
    size_t dh = tidal__sig_lower_bound(slot->b, slot->nmin, used, floors[HOUR]) - slot->nmin;
    size_t left;

    if (dm == 0 && dh == 0) {
        return used > 0;
    }
    for (size_t i = 0; i < dm; i++) {
        tidal_pncounter_fini(&slot->b[i]);
    }
    for (size_t i = 0; i < dh; i++) {
        tidal_pncounter_fini(&slot->b[slot->nmin + i]);
    }
    /* Close both gaps: minutes dm.. to 0, hours nmin+dh.. after them. */
    memmove(&slot->b[0], &slot->b[dm], (slot->nmin - dm) * sizeof(slot->b[0]));
    memmove(&slot->b[slot->nmin - dm], &slot->b[slot->nmin + dh],
            (slot->nhour - dh) * sizeof(slot->b[0]));
    slot->nmin = (uint16_t)(slot->nmin - dm);
    slot->nhour = (uint16_t)(slot->nhour - dh);
    left = (size_t)slot->nmin + slot->nhour;
    if (left == 0) {
        slot_free(slot);
        return false;
    }
    if (left <= slot->cap / 2) {
        /* Give back half-empty arrays; a failed shrink keeps the old one. */
        tidal_pncounter *b = tidal__realloc(slot->b, left * sizeof(*b));
        if (b != NULL) {
            slot->b = b;
            slot->cap = (uint16_t)left;
        }
    }
    return true;
}

void
tidal_signals_expire(tidal_signals *s)
{
    uint32_t floors[2] = {tidal__sig_floor(s, MINUTE), tidal__sig_floor(s, HOUR)};

    tidal_hmap_retain(&s->map, expire_slot, floors);
}

size_t
tidal_signals_entries(const tidal_signals *s)
{
    return tidal_hmap_count(&s->map);
}

size_t
tidal_signals_buckets(const tidal_signals *s)
{
    const tidal__sig_slot *slot;
    size_t cursor = 0;
    size_t n = 0;

    while ((slot = tidal_hmap_next(&s->map, &cursor)) != NULL) {
        n += (size_t)slot->nmin + slot->nhour;
    }
    return n;
}

size_t
tidal_signals_memory_bytes(const tidal_signals *s)
{
    const tidal__sig_slot *slot;
    size_t cursor = 0;
    size_t bytes = sizeof(*s) + tidal_hmap_memory_bytes(&s->map);

    while ((slot = tidal_hmap_next(&s->map, &cursor)) != NULL) {
        bytes += (size_t)slot->cap * sizeof(tidal_pncounter);
        for (size_t i = 0; i < (size_t)slot->nmin + slot->nhour; i++) {
            bytes += tidal_pncounter_heap_bytes(&slot->b[i]);
        }
    }
    return bytes;
}

bool
tidal_signals_next(const tidal_signals *s, size_t *cursor, tidal_entity_id *item, uint16_t *type)
{
    const tidal__sig_slot *slot = tidal_hmap_next(&s->map, cursor);

    if (slot == NULL) {
        return false;
    }
    *item = slot->item;
    *type = slot->type;
    return true;
}
