/*
 * A signal state entry in parts (signals.h, tidal_signals_entry_encode_part):
 * how an (item, type) whose kept buckets pass one reconciliation entry's
 * bound travels.
 *
 * The keep rule holds at most 61 minute and 169 hour buckets, but a bucket
 * carries one 18-byte PN entry per region that wrote to it: an item written
 * every minute in all 16 regions takes ~67 KB, past
 * TIDAL_REPL_ENTRY_BYTES_MAX.  A part is an entry of the format of signals.h
 * whose buckets are a run of the kept ones - the minute buckets in order,
 * then the hour buckets - so it is checked and merged as any entry.  The
 * merge is a join: per bucket and region the maximum, and the keep rule's
 * floor from the newest bucket ever counted.  So the parts of one entry,
 * merged in any order and any number of times, give what the whole entry
 * gives (a part of old buckets merged first is cut by the floor once the
 * part with the newest arrives, as the whole entry's floor would have cut
 * it at once).
 *
 * The parts are cut greedily: each holds as many buckets as fit the bound,
 * from where the previous one ended.  The cursor is a bucket, not an index,
 * so it means the same after the table changed: kind << 32 | number, 0 for
 * the first (minute bucket 0 is the first there can be).
 */
#include <string.h>

#include "store/signals.h"
#include "store/signals_internal.h"
#include "tidal/errors.h"

/* Bytes of an entry before its buckets, less the name; of a bucket, less
 * its PN entries; of a PN entry (signals.h, pncounter.h). */
#define PART_HEAD_BYTES (1u + 8u + 1u + 2u + 2u)
#define PART_BUCKET_BYTES (4u + 1u)
#define PART_PN_BYTES (2u + 8u + 8u)

/* The kept bucket at index i of the kept sequence (minutes, then hours). */
static const tidal_pncounter *
kept_at(const tidal__sig_slot *slot, const tidal__sig_runs *lr, size_t i)
{
    return i < lr->nmin ? &slot->b[lr->m0 + i] : &slot->b[lr->h0 + (i - lr->nmin)];
}

/* The index in the kept sequence of the first bucket at or after cursor. */
static size_t
first_from(const tidal__sig_slot *slot, const tidal__sig_runs *lr, uint64_t cursor)
{
    uint32_t number = (uint32_t)cursor;
    if ((cursor >> 32) == 0) {
        return tidal__sig_lower_bound(slot->b, lr->m0, lr->m0 + lr->nmin, number) - lr->m0;
    }
    return lr->nmin + tidal__sig_lower_bound(slot->b, lr->h0, lr->h0 + lr->nhour, number) - lr->h0;
}

int
tidal_signals_entry_encode_part(const tidal_signals *s, tidal_entity_id item, uint16_t type,
                                uint64_t *from, uint8_t *buf, size_t cap, size_t *len)
{
    tidal__sig_key key = {.item = item, .type = type};
    const tidal__sig_slot *slot = tidal_hmap_find(&s->map, &key);
    const char *name = slot != NULL ? tidal_sigtypes_name(s->types, type) : NULL;
    if (slot == NULL || name == NULL) {
        return TIDAL_ENOENT;
    }
    tidal__sig_runs lr = tidal__sig_live(s, slot);
    size_t kept = lr.nmin + lr.nhour, i0 = first_from(slot, &lr, *from), i1 = i0;
    if (i0 >= kept) {
        return TIDAL_ENOENT; /* the keep rule left it nothing (from there) */
    }
    size_t bytes = PART_HEAD_BYTES + strlen(name);
    while (i1 < kept) {
        size_t more =
            PART_BUCKET_BYTES + PART_PN_BYTES * tidal_pncounter_regions(kept_at(slot, &lr, i1));
        if (bytes + more > cap) {
            break;
        }
        bytes += more;
        i1++;
    }
    if (i1 == i0) {
        *len = 0;
        return TIDAL_ETOOBIG; /* not one bucket fits: nothing written */
    }
    /* the part's runs: [i0, i1) of the kept sequence, split at the hours */
    tidal__sig_runs part = {.m0 = lr.m0 + i0, .h0 = lr.h0};
    part.nmin = i0 < lr.nmin ? (i1 < lr.nmin ? i1 : lr.nmin) - i0 : 0;
    if (i1 > lr.nmin) {
        size_t h = i0 > lr.nmin ? i0 - lr.nmin : 0;
        part.h0 = lr.h0 + h;
        part.nhour = i1 - lr.nmin - h;
    }
    tidal__wr w;
    tidal__wr_init(&w, buf, cap, NULL);
    tidal__sig_entry_write(s, slot, &part, &w);
    int rv = tidal__wr_finish(&w, len);
    if (rv == 0) {
        const tidal_pncounter *next = i1 < kept ? kept_at(slot, &lr, i1) : NULL;
        *from = next == NULL ? 0 : (uint64_t)(i1 >= lr.nmin) << 32 | next->tag;
    }
    return rv;
}
