/*
 * Items (public API): windowed signal counts, hard negatives (hide an item
 * for a user), per-(user, key) counters, and retrieval that leaves out what
 * a user hid.
 * Part of the regions' API (tidal/region.h, which includes it, says what
 * regions and clusters are): every call here may be made from any thread
 * except an actor handler, and those returning int give 0 or a TIDAL_E*
 * code.
 */
#ifndef TIDAL_ITEMS_H
#define TIDAL_ITEMS_H

#include "tidal/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tidal/errors.h"
#include "tidal/hlc.h"
#include "tidal/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- signals, hard negatives, retrieval -------------------------------- */

/* How many signals of this type the item got within the window, all regions'
 * applied here.  Unknown types count 0. */
TIDAL_API int tidal_read_windowed_count(tidal_region *r, tidal_entity_id item, const char *type,
                                        tidal_window w, int64_t *out) TIDAL_WARN_UNUSED;

/* Hides / unhides item for user with the given stamp, stored unchanged (the
 * region's clock only advances past it).  Between a hide and an unhide the
 * greater (wall, logical) wins; on equal (wall, logical) the hide wins.
 * The caller's own thread applies and logs it and ships it to every peer,
 * as from "region-<id>" (fault rules on that actor's links cover it): one
 * mailbox hop from the call to a peer's state.  Returns once it is durable
 * under the region's policy. */
TIDAL_API int tidal_hide_item_with_ts(tidal_region *r, tidal_entity_id user, tidal_entity_id item,
                                      tidal_hlc ts) TIDAL_WARN_UNUSED;
TIDAL_API int tidal_unhide_item_with_ts(tidal_region *r, tidal_entity_id user, tidal_entity_id item,
                                        tidal_hlc ts) TIDAL_WARN_UNUSED;
/* The same, stamped by the region's clock. */
TIDAL_API int tidal_hide_item(tidal_region *r, tidal_entity_id user,
                              tidal_entity_id item) TIDAL_WARN_UNUSED;
TIDAL_API int tidal_unhide_item(tidal_region *r, tidal_entity_id user,
                                tidal_entity_id item) TIDAL_WARN_UNUSED;

/* ---- per-(user, key) counters ------------------------------------------ */

/* Adds delta to the counter of (user, key): a replicated PN-counter with a
 * component per region, merged like the rest (docs/design.md, "Per-user
 * counters"), so a user who roams to another region reads there what every
 * region counted (a bandit's success and failure counts, say).
 *   r      the region; NULL is TIDAL_EINVAL.
 *   user   any id.
 *   key    1..TIDAL_USER_COUNTER_KEY_BYTES_MAX bytes, NUL-terminated
 *          (limits.h); NULL, empty or longer is TIDAL_EINVAL.
 *   delta  any int64_t; 0 returns 0 at once, after the checks above, and
 *          logs nothing.
 * The call validates, then logs, then applies: a write refused is refused
 * before the log, with nothing changed anywhere -
 *   TIDAL_ELIMIT   the pair is new to this region (it never added to it) and
 *                  this region already added to
 *                  TIDAL_USER_COUNTER_KEYS_ORIGIN_MAX of the user's keys, or
 *                  TIDAL_USER_COUNTERS_ORIGIN_MAX pairs in all (limits.h: the
 *                  bound a replica's table then never passes);
 *   TIDAL_ETOOBIG  this region's component (the sum of its positive deltas,
 *                  or of its negative ones' magnitudes) would pass
 *                  UINT64_MAX, or the value as this region sees it would
 *                  leave int64_t's range;
 *   TIDAL_EFENCED  the region's clock is fenced (clock fencing, above): it
 *                  stamps the batch, so it refuses this as its other writes;
 * and the codes of any write (TIDAL_EFULL, TIDAL_EIO, TIDAL_ETIMEDOUT,
 * TIDAL_ENOMEM).  The caller's own thread applies and logs it and ships it
 * to every peer, as a hide does.  Returns once it is durable under the
 * region's policy.  A peer applies it whatever its own counts: only the
 * origin decides. */
TIDAL_API int tidal_user_counter_add(tidal_region *r, tidal_entity_id user, const char *key,
                                     int64_t delta) TIDAL_WARN_UNUSED;

/* The value of (user, key)'s counter as this region holds it in *out: the
 * sum of every region's deltas applied here.  A key never added to reads 0.
 * The value is exact while the true sum fits an int64_t; deltas added
 * concurrently in several regions can take it past (each origin checks only
 * what it sees), and it then reads modulo 2^64.  TIDAL_EINVAL for a NULL r
 * or out, or a key not valid as above. */
TIDAL_API int tidal_user_counter_get(tidal_region *r, tidal_entity_id user, const char *key,
                                     int64_t *out) TIDAL_WARN_UNUSED;

typedef struct tidal_retrieve {
    tidal_entity_id user;
    const tidal_entity_id *candidates;
    size_t ncandidates;
    size_t limit; /* 0 = no limit */
} tidal_retrieve;

typedef struct tidal_scored_item {
    tidal_entity_id item;
    double score;
} tidal_scored_item;

/* The candidates not hidden for the user, best first (scoring: region.c's
 * header comment), at most limit; items with no signals are kept, ranked
 * last.  out must hold ncandidates entries; *n gets how many were returned. */
TIDAL_API int tidal_retrieve_items(tidal_region *r, const tidal_retrieve *q, tidal_scored_item *out,
                                   size_t *n) TIDAL_WARN_UNUSED;

/* The k items with the highest count of signals of this type within the
 * window (tidal_read_windowed_count's count: every region's signals that
 * this region has applied, read at this region's clock), best first: the
 * greater count first, equal counts by the smaller item id.  score is the
 * count.  Items with no signal of the type in the window are not listed,
 * so *n (how many were written to out, which must hold k) is below k when
 * fewer items have any; an unknown type lists nothing.  k 0 writes nothing
 * (out may then be NULL).  Hidden items are not filtered: there is no user
 * here (tidal_retrieve_items filters for one).
 * Cost: no index - a window rolls with the reader's clock, so counts
 * change without any write; each call scans every (item, type) this region
 * holds (all types), counting the ones of the type, and keeps the best k in
 * a heap: O(E + M log k) for E pairs and M of the type, under the state
 * lock (writes and reads of this region wait for it), plus O(min(k, E))
 * memory allocated per call.  Measured (benches/bench_lists, README): 2-4
 * ms for 100k items of the type among 200k pairs, k 10 or 100, on the
 * 2-vCPU test VM - a little under reading the same 100k counts one by one.
 * TIDAL_EINVAL for a NULL r, type or n, a NULL out with k > 0, or a window
 * out of range; TIDAL_ENOMEM (nothing written). */
TIDAL_API int tidal_top_items(tidal_region *r, const char *type, tidal_window w, size_t k,
                              tidal_scored_item *out, size_t *n) TIDAL_WARN_UNUSED;

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_ITEMS_H */
