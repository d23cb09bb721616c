/*
 * A session's entry in parts (session.h, tidal_sessions_entry_encode_part):
 * how a session too big for one reconciliation entry travels.
 *
 * A session holds up to TIDAL_SESSION_SIGNALS_MAX signals (2 MiB), and an
 * entry that travels is bounded far below that (TIDAL_REPL_ENTRY_BYTES_MAX).
 * A part is an entry of the very format of session_codec.c - the session's
 * fixed fields, whole, and a run of its signals by seqno with the names that
 * run uses - so it is checked and merged as any entry: the format asks for
 * strictly increasing seqnos, never for all of them.  The merge takes the
 * union of the signals and the CRDT rules of the fixed fields, so the parts
 * of one session merged in any order, any number of times, with any other
 * copies in between, give what merging the whole entry gives.
 *
 * The parts are cut greedily: each holds as many signals, from where the
 * previous one ended, as fit in the caller's bound.  One signal always fits
 * any bound that holds the fixed fields plus one signal with the longest
 * name, so a session always travels.
 */
#include <string.h>

#include "store/session.h"
#include "store/session_internal.h"
#include "tidal/errors.h"

/* Bytes of an entry's fixed fields (session_codec.c's table): through the
 * flags, the end stamp when ended, and the two counts. */
#define PART_FIXED_BYTES 72u
#define PART_END_BYTES 14u
#define PART_COUNTS_BYTES (2u + 4u)
#define PART_SIGNAL_BYTES 32u
#define PART_STAMP_BYTES 14u /* a stamped signal's HLC (session_codec.c) */

/* The index of the first signal of s at or after seqno from. */
static size_t
first_from(const tidal__sess_slot *s, uint64_t from)
{
    size_t lo = 0, hi = s->nsig;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->sig[mid].seqno < from) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The end of the longest run of signals from i0 whose part fits cap bytes:
 * i0 itself if not even one does.  A part with a stamped signal carries a
 * stamp for each of its signals (session_codec.c), so the size counts
 * them once the run holds one. */
static size_t
run_end(const tidal_sessions *t, const tidal__sess_slot *s, size_t i0, size_t cap)
{
    uint8_t seen[TIDAL_SIGTYPES_MAX / 8 + 1];
    size_t fixed = PART_FIXED_BYTES + (s->ended ? PART_END_BYTES : 0) + PART_COUNTS_BYTES;
    size_t names = 0, n = 0;
    bool stamped = false;
    size_t i = i0;

    memset(seen, 0, sizeof(seen));
    for (; i < s->nsig; i++) {
        uint16_t type = s->sig[i].type;
        bool fresh = (seen[type / 8] & (1u << (type % 8))) == 0;
        size_t name = fresh ? 1 + strlen(tidal_sigtypes_name(t->types, type)) : 0;
        bool st = stamped || tidal__sess_range_stamped(s, i, i + 1);
        size_t per = PART_SIGNAL_BYTES + (st ? PART_STAMP_BYTES : 0);
        if (fixed + names + name + (n + 1) * per > cap) {
            break;
        }
        names += name;
        n++;
        stamped = st;
        if (fresh) {
            seen[type / 8] |= (uint8_t)(1u << (type % 8));
        }
    }
    return i;
}

int
tidal_sessions_entry_encode_part(const tidal_sessions *t, const tidal_session_id *id,
                                 uint64_t *from, uint8_t *buf, size_t cap, size_t *len)
{
    const tidal__sess_slot *s = tidal_hmap_find(&t->map, id);
    tidal__wr w;

    if (s == NULL) {
        return TIDAL_ENOENT;
    }
    size_t i0 = first_from(s, *from);
    size_t i1 = run_end(t, s, i0, cap);
    if (i1 == i0 && i0 < s->nsig) {
        *len = 0;
        return TIDAL_ETOOBIG; /* not one signal fits: nothing written */
    }
    tidal__wr_init(&w, buf, cap, NULL);
    tidal__sess_entry_write(t, s, i0, i1, &w);
    int rv = tidal__wr_finish(&w, len);
    if (rv == 0) {
        *from = i1 < s->nsig ? s->sig[i1].seqno : 0;
    }
    return rv;
}
