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
 *
 * Every view here starts each run at the keep rule's floor (signals.h,
 * tidal__sig_floor): a bucket the rule left out but expire has not freed
 * yet is no part of an encoding, a hash or the digest, and a merge first
 * counts the remote entry's newest buckets, then skips what falls below.
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

tidal__sig_runs
tidal__sig_live(const tidal_signals *s, const tidal__sig_slot *slot)
{
    size_t used = (size_t)slot->nmin + slot->nhour;
    tidal__sig_runs lr;

    lr.m0 = tidal__sig_lower_bound(slot->b, 0, slot->nmin, tidal__sig_floor(s, 0));
    lr.h0 = tidal__sig_lower_bound(slot->b, slot->nmin, used, tidal__sig_floor(s, 1));
    lr.nmin = slot->nmin - lr.m0;
    lr.nhour = used - lr.h0;
    return lr;
}

static void
write_run(const tidal__sig_slot *slot, size_t from, size_t n, tidal__wr *w)
{
    for (size_t i = from; i < from + n; i++) {
        tidal__wr_u32(w, slot->b[i].tag);
        tidal__pncounter_write(&slot->b[i], w);
    }
}

void
tidal__sig_entry_write(const tidal_signals *s, const tidal__sig_slot *slot,
                       const tidal__sig_runs *lr, tidal__wr *w)
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
    tidal__wr_u16(w, (uint16_t)lr->nmin);
    tidal__wr_u16(w, (uint16_t)lr->nhour);
    write_run(slot, lr->m0, lr->nmin, w);
    write_run(slot, lr->h0, lr->nhour, w);
}

/* The hash of the kept part of a slot; false if the rule keeps none of it. */
static bool
slot_hash(const tidal_signals *s, const tidal__sig_slot *slot, uint64_t *out)
{
    tidal__sig_runs lr = tidal__sig_live(s, slot);
    tidal_hasher h;
    tidal__wr w;

    if (lr.nmin + lr.nhour == 0) {
        return false;
    }
    tidal_hasher_init(&h, SIG_HASH_SEED);
    tidal__wr_init(&w, NULL, 0, &h);
    tidal__sig_entry_write(s, slot, &lr, &w);
    *out = tidal_hasher_final(&h);
    return true;
}

int
tidal_signals_entry_hash(const tidal_signals *s, tidal_entity_id item, uint16_t type, uint64_t *out)
{
    tidal__sig_key key = {.item = item, .type = type};
    const tidal__sig_slot *slot = tidal_hmap_find(&s->map, &key);

    if (slot == NULL || !slot_hash(s, slot, out)) {
        return TIDAL_ENOENT;
    }
    return 0;
}

uint64_t
tidal_signals_digest(const tidal_signals *s)
{
    const tidal__sig_slot *slot;
    size_t cursor = 0;
    uint64_t sum = 0, h;

    while ((slot = tidal_hmap_next(&s->map, &cursor)) != NULL) {
        if (slot_hash(s, slot, &h)) {
            sum += h;
        }
    }
    return sum;
}

int
tidal_signals_entry_encode(const tidal_signals *s, tidal_entity_id item, uint16_t type,
                           uint8_t *buf, size_t cap, size_t *len)
{
    tidal__sig_key key = {.item = item, .type = type};
    const tidal__sig_slot *slot = tidal_hmap_find(&s->map, &key);
    tidal__sig_runs lr;
    tidal__wr w;

    if (slot == NULL) {
        return TIDAL_ENOENT;
    }
    lr = tidal__sig_live(s, slot);
    if (lr.nmin + lr.nhour == 0) {
        return TIDAL_ENOENT; /* the keep rule left it nothing */
    }
    tidal__wr_init(&w, buf, cap, NULL);
    tidal__sig_entry_write(s, slot, &lr, &w);
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

/* Where each kind of a merge starts and ends: the remote run re->b[rlo,
 * rhi) (what is not too far ahead, from the floor on), the local run
 * slot->b[llo, lhi) (from the floor on), and the kind's new top. */
typedef struct merge_span {
    size_t rlo[2], rhi[2], llo[2], lhi[2];
    uint64_t top[2];
} merge_span;

/* The spans of a merge at now_ns: remote buckets more than one bucket ahead
 * of now are left for a later round (as a record stamped ahead of the
 * tolerance is refused), so that no peer's bucket can raise the floor past
 * what a reader's window needs; the rest first raise the top, then the
 * floor applies to both sides.  Cannot fail. */
static void
merge_spans(const tidal_signals *s, const tidal__sig_slot *slot, const remote_entry *re,
            uint64_t now_ns, merge_span *sp)
{
    size_t rb[3] = {0, re->nmin, (size_t)re->nmin + re->nhour};
    size_t lb[3] = {0, slot->nmin, (size_t)slot->nmin + slot->nhour};
    uint64_t ahead[2] = {now_ns / TIDAL_SIGNALS_MINUTE_NS + 2, now_ns / TIDAL_SIGNALS_HOUR_NS + 2};
    uint64_t held[2] = {TIDAL_SIGNALS_MINUTES_HELD, TIDAL_SIGNALS_HOURS_HELD};

    for (int k = 0; k < 2; k++) {
        /* the bucket numbers of a 64-bit now fit in 32 bits, with room */
        size_t hi = tidal__sig_lower_bound(re->b, rb[k], rb[k + 1], (uint32_t)ahead[k]);
        sp->top[k] = s->top[k];
        if (hi > rb[k] && (uint64_t)re->b[hi - 1].tag + 1 > sp->top[k]) {
            sp->top[k] = (uint64_t)re->b[hi - 1].tag + 1;
        }
        uint32_t low = (uint32_t)(sp->top[k] > held[k] ? sp->top[k] - held[k] : 0);
        sp->rlo[k] = tidal__sig_lower_bound(re->b, rb[k], hi, low);
        sp->rhi[k] = hi;
        sp->llo[k] = tidal__sig_lower_bound(slot->b, lb[k], lb[k + 1], low);
        sp->lhi[k] = lb[k + 1];
    }
}

/* Frees the local buckets below the floor (a prefix of each run), which the
 * merged array does not take.  Cannot fail. */
static void
drop_below(tidal__sig_slot *slot, const merge_span *sp)
{
    for (size_t i = 0; i < sp->llo[0]; i++) {
        tidal_pncounter_fini(&slot->b[i]);
    }
    for (size_t i = slot->nmin; i < sp->llo[1]; i++) {
        tidal_pncounter_fini(&slot->b[i]);
    }
}

/* Merges what the keep rule keeps of re into the slot (created says whether
 * the slot is new, to be removed on failure or when nothing is merged). */
static int
merge_into(tidal_signals *s, tidal__sig_slot *slot, bool created, remote_entry *re, uint64_t now_ns)
{
    merge_span sp;
    tidal_pncounter *nb;
    size_t n[2];
    int rv;

    merge_spans(s, slot, re, now_ns, &sp);
    if (sp.rlo[0] == sp.rhi[0] && sp.rlo[1] == sp.rhi[1]) {
        /* Every remote bucket is below the floor, or too far ahead for
         * now: nothing to merge. */
        if (created) {
            tidal_hmap_remove_entry(&s->map, slot);
        }
        return 0;
    }
    for (int k = 0; k < 2; k++) {
        n[k] = union_count(slot->b, sp.llo[k], sp.lhi[k], re->b, sp.rlo[k], sp.rhi[k]);
    }
    if (n[0] + n[1] > TIDAL_SIGNALS_BUCKETS_MAX) {
        rv = TIDAL_ELIMIT;
        goto fail_slot;
    }
    nb = tidal__malloc((n[0] + n[1]) * sizeof(*nb));
    if (nb == NULL) {
        rv = TIDAL_ENOMEM;
        goto fail_slot;
    }
    for (int k = 0; k < 2; k++) {
        rv = reserve_pairs(slot->b, sp.llo[k], sp.lhi[k], re->b, sp.rlo[k], sp.rhi[k]);
        if (rv != 0) {
            goto fail_array;
        }
    }
    drop_below(slot, &sp);
    merge_run(nb, slot->b, sp.llo[0], sp.lhi[0], re->b, sp.rlo[0], sp.rhi[0]);
    merge_run(nb + n[0], slot->b, sp.llo[1], sp.lhi[1], re->b, sp.rlo[1], sp.rhi[1]);
    tidal__free(slot->b);
    slot->b = nb;
    slot->nmin = (uint16_t)n[0];
    slot->nhour = (uint16_t)n[1];
    slot->cap = (uint16_t)(n[0] + n[1]);
    s->top[0] = sp.top[0];
    s->top[1] = sp.top[1];
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
