/*
 * Reconciliation's parts, shared by the files that make it up:
 *   entries.c     a region's state seen as entries: their buckets and the
 *                 digest of them, the entries of chosen buckets, and the
 *                 merge of one entry from a peer (which says whether it
 *                 changed anything)
 *   reconciled.c  the reconciled log: what merges changed, kept on disk by a
 *                 region with a directory and merged again when it reopens
 *   reconciler.c  the reconciler actor: rounds, answers, completed rounds
 * (calls go reconciler.c -> reconciled.c -> entries.c; cluster.c opens and
 * closes the reconciled log).
 *
 * An entry travels, and is logged, as [kind byte, the store's encoding of
 * it] (store/hardneg.h, store/signals.h, store/session.h, store/ucounters.h).
 *
 * Parts.  An entry travels in at most TIDAL__ENTRY_BYTES_MAX bytes, and a
 * session (up to TIDAL_SESSION_SIGNALS_MAX signals, 2 MiB) or a signal
 * state (230 buckets of up to 16 PN entries) can be bigger.  Such an entry
 * is sent as parts, each an entry of the same format with a run of the
 * session's signals by seqno (its fixed fields whole) or of the state's
 * kept buckets (store/session_parts.c, store/signals_parts.c).  The merges
 * are joins - a union of signals by seqno, field-wise rules; a per-region
 * maximum per bucket under a floor that only rises - so the parts merge,
 * and replay from the reconciled log, in any order to what the whole entry
 * gives.  An entry is never left out for its size: the batches it was once
 * "left to" are gone from a released log, and a follower let go would
 * never get it (docs/design.md, "Entries in parts").
 */
#ifndef TIDAL_ACTORS_RECONCILE_H
#define TIDAL_ACTORS_RECONCILE_H

#include "actors/internal.h"

/* TIDAL__ENTRY_TOMB: a session past the retention (retention.c), freed or
 * not yet: its id and end stamp, sent only with the entries of a bucket that
 * differs - it ends a peer's copy that missed the end - never in a digest. */
enum {
    TIDAL__ENTRY_HARDNEG = 1,
    TIDAL__ENTRY_SIGNALS = 2,
    TIDAL__ENTRY_SESSION = 3,
    TIDAL__ENTRY_TOMB = 4,
    TIDAL__ENTRY_UCOUNTER = 5 /* a (user, key) counter: store/ucounters.h, always whole */
};

/* The largest encoding that travels: with its kind byte, one ENTRIES
 * element. */
#define TIDAL__ENTRY_BYTES_MAX (TIDAL_REPL_ENTRY_BYTES_MAX - 1u)

/* ---- entries.c ---- */

/* Bucket hashes of a region's state: n a power of two.  covers[o] is the
 * follower's position in origin o's log (wm.position) read under the same
 * hold of the state lock: the hashed state holds at least that much of each
 * log, since a position is published only after its batch's effect
 * (apply.c).  A log base counts: past it, the rest comes by reconciliation. */
struct tidal__digest {
    uint64_t *h;
    uint32_t n;
    uint64_t covers[TIDAL_REGIONS_MAX];
};

/* Entries of the region's state now (state.lock taken inside).  Cannot
 * fail. */
size_t tidal__entries_count(tidal_region *r);

/* The digest of the region's state over n buckets (state.lock taken
 * inside).  0 or TIDAL_ENOMEM. */
int tidal__digest_make(tidal_region *r, uint32_t n, struct tidal__digest *d);

/* The entries of the buckets set in want (a bitmap of n bits), encoded one
 * after another; ends[i] is where entry i ends. */
struct tidal__picked {
    tidal_buf bytes;
    uint32_t *ends;
    uint32_t count;
    bool whole; /* none was left out (could not be encoded even in parts) */
};

/* Fills *p (state.lock taken inside); want NULL: no entry.  0 or
 * TIDAL_ENOMEM; either way tidal__picked_fini frees it. */
int tidal__entries_pick(tidal_region *r, const uint8_t *want, uint32_t n, struct tidal__picked *p);
void tidal__picked_fini(struct tidal__picked *p);

/* Merges entry e ([kind, encoding]) into the state, signals as of now (ns):
 * 0, with *changed true if the state's entry of that key is not what it was
 * (a new one, or a merge that moved it); or the code that refused it, with
 * nothing changed.  Caller holds state.lock. */
int tidal__entry_merge(tidal_region *r, tidal_view e, uint64_t now, bool *changed);

/* True for the codes of tidal__entry_merge that mean a bad entry (the
 * others: a table full, no memory - not the entry's fault).  Cannot fail. */
bool tidal__entry_bad(int code);

/* ---- reconciled.c ---- */

/* Opens the region's reconciled log (dir only; none for an ephemeral
 * region) and merges every entry it holds into the state: at open, after
 * the region's own log and its copies are replayed.  0, or the log's open
 * error (the operator log says which file). */
int tidal__reconciled_open(tidal_region *r);

/* Closes it (clean: its manifest records where it ends; else as a crash
 * leaves it).  Accepts a region without one. */
void tidal__reconciled_close(tidal_region *r, bool clean);

/* Entries of one ENTRIES message that changed the state, to be logged. */
struct tidal__reconciled_batch {
    tidal_buf bytes; /* msgpack bins, back to back */
    uint32_t count;
};

void tidal__reconciled_batch_init(struct tidal__reconciled_batch *b);
void tidal__reconciled_batch_fini(struct tidal__reconciled_batch *b);

/* Adds entry e to b; when b is full, appends it to the log first.  Caller
 * holds state.lock.  0 or what the log refused (as tidal__reconciled_flush). */
int tidal__reconciled_add(tidal_region *r, struct tidal__reconciled_batch *b, tidal_view e);

/* Appends what b holds to the reconciled log, as one batch, and empties b.
 * Caller holds state.lock.  0 (also with no log: an ephemeral region keeps
 * nothing), or the log's error (TIDAL_EFULL when a SYNC log is behind,
 * TIDAL_EIO), which the operator log reports: the entries stay merged in
 * memory but would not survive a restart. */
int tidal__reconciled_flush(tidal_region *r, struct tidal__reconciled_batch *b);

#endif /* TIDAL_ACTORS_RECONCILE_H */
