/*
 * Signal state entries for reconciliation (signals.h): encoding, hashing and
 * merging one (item, type) with another replica's copy.  The format table is
 * in signals.h, beside tidal_signals_entry_encode.
 *
 * A merge is done in two phases so that it changes all or nothing: phase 1
 * decodes and validates the whole input, interns the name, counts the union
 * of the buckets, allocates the new bucket array and reserves room in every
 * local counter that will absorb a remote one; phase 2 builds the merged run
 * into the new array, which cannot fail.  Local counters move into the new
 * array bitwise; remote ones that have no local twin move too.
 */
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "store/bytes.h"
#include "store/signals.h"
#include "store/signals_internal.h"
#include "tidal/errors.h"

#define SIG_HASH_SEED 0x5369676e616c7321ull /* "Signals!" */

/* The fewest bytes a bucket takes: number, count, one region's entry. */
#define SIG_BUCKET_BYTES_MIN (4u + 1u + 18u)

static void
entry_write(const tidal_signals *s, const tidal__sig_slot *slot, tidal__wr *w)
{
    const char *name = tidal_sigtypes_name(s->types, slot->type);
    size_t len;

    /* apply and merge only store types the table knows. */
    TIDAL_ASSERT(name != NULL);
    len = strlen(name);
    tidal__wr_u8(w, TIDAL_SIGNALS_ENTRY_VERSION);
    tidal__wr_u64(w, slot->item);
    tidal__wr_u8(w, (uint8_t)len);
    tidal__wr_bytes(w, name, len);
    tidal__wr_u16(w, slot->nmin);
    tidal__wr_u16(w, slot->nhour);
    for (size_t i = 0; i < (size_t)slot->nmin + slot->nhour; i++) {
        tidal__wr_u32(w, slot->b[i].tag);
        tidal__pncounter_write(&slot->b[i], w);
    }
}

static uint64_t
slot_hash(const tidal_signals *s, const tidal__sig_slot *slot)
{
    tidal_hasher h;
    tidal__wr w;

    tidal_hasher_init(&h, SIG_HASH_SEED);
    tidal__wr_init(&w, NULL, 0, &h);
    entry_write(s, slot, &w);
    return tidal_hasher_final(&h);
}

int
tidal_signals_entry_hash(const tidal_signals *s, tidal_entity_id item, uint16_t type, uint64_t *out)
{
    tidal__sig_key key = {.item = item, .type = type};
    const tidal__sig_slot *slot = tidal_hmap_find(&s->map, &key);

    if (slot == NULL) {
        return TIDAL_ENOENT;
    }
    *out = slot_hash(s, slot);
    return 0;
}

uint64_t
tidal_signals_digest(const tidal_signals *s)
{
    const tidal__sig_slot *slot;
    size_t cursor = 0;
    uint64_t sum = 0;

    while ((slot = tidal_hmap_next(&s->map, &cursor)) != NULL) {
        sum += slot_hash(s, slot);
    }
    return sum;
}

int
tidal_signals_entry_encode(const tidal_signals *s, tidal_entity_id item, uint16_t type,
                           uint8_t *buf, size_t cap, size_t *len)
{
    tidal__sig_key key = {.item = item, .type = type};
    const tidal__sig_slot *slot = tidal_hmap_find(&s->map, &key);
    tidal__wr w;

    if (slot == NULL) {
        return TIDAL_ENOENT;
    }
    tidal__wr_init(&w, buf, cap, NULL);
    entry_write(s, slot, &w);
    return tidal__wr_finish(&w, len);
}

/* A decoded remote entry. */
typedef struct remote_entry {
    uint64_t item;
    const uint8_t *name; /* into the input */
    uint8_t name_len;
    uint16_t nmin;
    uint16_t nhour;
    tidal_pncounter *b; /* nmin + nhour counters, tag = bucket number */
} remote_entry;

static void
remote_free(remote_entry *re)
{
    if (re->b == NULL) {
        return;
    }
    for (size_t i = 0; i < (size_t)re->nmin + re->nhour; i++) {
        tidal_pncounter_fini(&re->b[i]);
    }
    tidal__free(re->b);
    re->b = NULL;
}

/* Reads the buckets of an entry whose header is already read. */
static int
read_buckets(tidal__rd *r, remote_entry *re)
{
    size_t n = (size_t)re->nmin + re->nhour;
    int rv;

    if (n == 0 || n > TIDAL_SIGNALS_BUCKETS_MAX) {
        return TIDAL_ECORRUPT;
    }
    /* Check the count against the input before allocating for it. */
    if (tidal__rd_left(r) / SIG_BUCKET_BYTES_MIN < n) {
        return TIDAL_ETRUNCATED;
    }
    re->b = tidal__calloc(n, sizeof(*re->b));
    if (re->b == NULL) {
        return TIDAL_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t tag;
        if ((rv = tidal__rd_u32(r, &tag)) != 0 || (rv = tidal__pncounter_read(&re->b[i], r)) != 0) {
            return rv;
        }
        re->b[i].tag = tag;
        if (tidal_pncounter_regions(&re->b[i]) == 0) {
            return TIDAL_ECORRUPT;
        }
        /* Strictly increasing within each run (i == nmin starts the hours). */
        if (i > 0 && i != re->nmin && tag <= re->b[i - 1].tag) {
            return TIDAL_ECORRUPT;
        }
    }
    return tidal__rd_end(r);
}

/* Decodes and validates a whole entry.  On error *re owns nothing. */
static int
entry_read(const uint8_t *buf, size_t len, remote_entry *re)
{
    uint8_t version;
    tidal__rd r;
    int rv;

    memset(re, 0, sizeof(*re));
    tidal__rd_init(&r, buf, len);
    if ((rv = tidal__rd_u8(&r, &version)) != 0) {
        return rv;
    }
    if (version != TIDAL_SIGNALS_ENTRY_VERSION) {
        return TIDAL_EVERSION;
    }
    if ((rv = tidal__rd_u64(&r, &re->item)) != 0 || (rv = tidal__rd_u8(&r, &re->name_len)) != 0) {
        return rv;
    }
    if (re->name_len == 0 || re->name_len >= TIDAL_SIGTYPE_NAME_BYTES_MAX) {
        return TIDAL_ECORRUPT;
    }
    if ((rv = tidal__rd_bytes(&r, &re->name, re->name_len)) != 0) {
        return rv;
    }
    if (!tidal_sigtypes_name_valid((const char *)re->name, re->name_len)) {
        return TIDAL_ECORRUPT;
    }
    if ((rv = tidal__rd_u16(&r, &re->nmin)) != 0 || (rv = tidal__rd_u16(&r, &re->nhour)) != 0) {
        return rv;
    }
    if ((rv = read_buckets(&r, re)) != 0) {
        remote_free(re);
        return rv;
    }
    return 0;
}

/* Buckets in the union of the runs a[alo, ahi) and b[blo, bhi) (by number);
 * *pairs counts those in both. */
static size_t
union_count(const tidal_pncounter *a, size_t alo, size_t ahi, const tidal_pncounter *b, size_t blo,
            size_t bhi)
{
    size_t n = 0;

    while (alo < ahi || blo < bhi) {
        if (blo == bhi || (alo < ahi && a[alo].tag < b[blo].tag)) {
            alo++;
        } else if (alo == ahi || b[blo].tag < a[alo].tag) {
            blo++;
        } else {
            alo++;
            blo++;
        }
        n++;
    }
    return n;
}

/* Reserves, in each local counter with a remote twin, what merging it needs. */
static int
reserve_pairs(tidal_pncounter *a, size_t alo, size_t ahi, const tidal_pncounter *b, size_t blo,
              size_t bhi)
{
    int rv;

    while (alo < ahi && blo < bhi) {
        if (a[alo].tag < b[blo].tag) {
            alo++;
        } else if (b[blo].tag < a[alo].tag) {
            blo++;
        } else {
            if ((rv = tidal_pncounter_reserve_merge(&a[alo], &b[blo])) != 0) {
                return rv;
            }
            alo++;
            blo++;
        }
    }
    return 0;
}

/* Phase 2 for one run: writes the union into out[0..) and returns its length.
 * Moved remote counters are reset so that freeing the remote entry skips
 * them.  Cannot fail (everything was reserved). */
static size_t
merge_run(tidal_pncounter *out, tidal_pncounter *a, size_t alo, size_t ahi, tidal_pncounter *b,
          size_t blo, size_t bhi)
{
    size_t n = 0;

    while (alo < ahi || blo < bhi) {
        if (blo == bhi || (alo < ahi && a[alo].tag < b[blo].tag)) {
            out[n++] = a[alo++];
        } else if (alo == ahi || b[blo].tag < a[alo].tag) {
            out[n++] = b[blo];
            tidal_pncounter_init(&b[blo++]);
        } else {
            int rv = tidal_pncounter_merge(&a[alo], &b[blo]);
            TIDAL_ASSERT(rv == 0);
            out[n++] = a[alo++];
            blo++;
        }
    }
    return n;
}

/* Merges the live part of re into the slot (created says whether the slot is
 * new, to be removed on failure). */
static int
merge_into(tidal_signals *s, tidal__sig_slot *slot, bool created, remote_entry *re, uint64_t now_ns)
{
    size_t rm = tidal__sig_lower_bound(re->b, 0, re->nmin, tidal__sig_min_minute(now_ns));
    size_t rend = (size_t)re->nmin + re->nhour;
    size_t rh = tidal__sig_lower_bound(re->b, re->nmin, rend, tidal__sig_min_hour(now_ns));
    size_t lend = (size_t)slot->nmin + slot->nhour;
    size_t nm = union_count(slot->b, 0, slot->nmin, re->b, rm, re->nmin);
    size_t nh = union_count(slot->b, slot->nmin, lend, re->b, rh, rend);
    tidal_pncounter *nb;
    int rv;

    if (rm == re->nmin && rh == rend) {
        /* Every remote bucket had expired: nothing to merge. */
        if (created) {
            tidal_hmap_remove_entry(&s->map, slot);
        }
        return 0;
    }
    if (nm + nh > TIDAL_SIGNALS_BUCKETS_MAX) {
        rv = TIDAL_ELIMIT;
        goto fail_slot;
    }
    nb = tidal__malloc((nm + nh) * sizeof(*nb));
    if (nb == NULL) {
        rv = TIDAL_ENOMEM;
        goto fail_slot;
    }
    if ((rv = reserve_pairs(slot->b, 0, slot->nmin, re->b, rm, re->nmin)) != 0 ||
        (rv = reserve_pairs(slot->b, slot->nmin, lend, re->b, rh, rend)) != 0) {
        goto fail_array;
    }
    merge_run(nb, slot->b, 0, slot->nmin, re->b, rm, re->nmin);
    merge_run(nb + nm, slot->b, slot->nmin, lend, re->b, rh, rend);
    tidal__free(slot->b);
    slot->b = nb;
    slot->nmin = (uint16_t)nm;
    slot->nhour = (uint16_t)nh;
    slot->cap = (uint16_t)(nm + nh);
    return 0;

fail_array:
    tidal__free(nb);
fail_slot:
    if (created) {
        tidal_hmap_remove_entry(&s->map, slot);
    }
    return rv;
}

int
tidal_signals_entry_merge(tidal_signals *s, const uint8_t *buf, size_t len, uint64_t now_ns,
                          tidal_entity_id *item, uint16_t *type)
{
    tidal__sig_key key;
    tidal__sig_slot *slot;
    remote_entry re;
    bool created;
    uint16_t id;
    int rv;

    if ((rv = entry_read(buf, len, &re)) != 0) {
        return rv;
    }
    if ((rv = tidal_sigtypes_intern_n(s->types, (const char *)re.name, re.name_len, &id)) != 0) {
        goto free_remote;
    }
    memset(&key, 0, sizeof(key));
    key.item = re.item;
    key.type = id;
    if ((rv = tidal_hmap_upsert(&s->map, &key, (void **)&slot, &created)) != 0) {
        goto free_remote;
    }
    if ((rv = merge_into(s, slot, created, &re, now_ns)) != 0) {
        goto free_remote;
    }
    if (item != NULL) {
        *item = re.item;
    }
    if (type != NULL) {
        *type = id;
    }
free_remote:
    remote_free(&re);
    return rv;
}
