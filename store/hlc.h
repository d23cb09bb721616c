/*
 * The hybrid logical clock (pure state, no locking, no messaging).
 *
 * Invariants:
 *  - Every stamp returned by tidal_hlc_now or tidal_hlc_update on one clock is
 *    strictly greater, in the total order (wall, logical, node id), than every
 *    stamp that clock returned before, even when the wall clock goes backwards.
 *  - After tidal_hlc_update(remote) succeeds, the clock's last stamp is greater
 *    than remote in (wall, logical): causality holds across nodes.
 *  - A remote stamp whose wall time is more than max_skew_ns ahead of the local
 *    wall clock is refused with TIDAL_ESKEW and changes nothing, so one node
 *    with a wild clock cannot drag every other node's clock into the future.
 *  - When logical would overflow, wall advances by 1 ns and logical restarts at
 *    0 (the order stays strict).
 * The clock is not thread-safe: the runtime's clock service wraps it in a lock.
 */
#ifndef TIDAL_STORE_HLC_H
#define TIDAL_STORE_HLC_H

#include <stdint.h>

#include "tidal/hlc.h"

/* Default tolerance for a remote clock ahead of ours: 500 ms. */
#define TIDAL_HLC_SKEW_NS_DEFAULT (500ull * 1000 * 1000)

/* Reads the wall clock in ns since the epoch.  Tests inject their own. */
typedef uint64_t (*tidal_hlc_wall_fn)(void *arg);

typedef struct tidal_hlc_clock {
    tidal_hlc last;           /* the greatest stamp issued or observed so far */
    uint64_t max_skew_ns;     /* tolerance for remote stamps ahead of the wall clock */
    tidal_hlc_wall_fn wall;   /* wall clock source */
    void *wall_arg;           /* argument for wall */
} tidal_hlc_clock;

/* Initialises a clock for node_id.  max_skew_ns 0 means the default (500 ms);
 * wall NULL means CLOCK_REALTIME.  Cannot fail. */
void tidal_hlc_clock_init(tidal_hlc_clock *c, uint16_t node_id, uint64_t max_skew_ns,
                          tidal_hlc_wall_fn wall, void *wall_arg);

/* A new stamp for a local event, strictly greater than any before.  Cannot fail. */
tidal_hlc tidal_hlc_now(tidal_hlc_clock *c);

/* Merges a stamp received from another node and returns, in *out, a new local
 * stamp greater than both the remote one and any issued before.
 * TIDAL_ESKEW if remote is more than max_skew_ns ahead of the wall clock;
 * on error nothing is changed and *out is untouched. */
int tidal_hlc_update(tidal_hlc_clock *c, const tidal_hlc *remote, tidal_hlc *out)
    __attribute__((warn_unused_result));

/* Advances the clock past ts without the skew check (a stamp the caller chose
 * on purpose, such as hide_item_with_ts).  Cannot fail. */
void tidal_hlc_observe(tidal_hlc_clock *c, const tidal_hlc *ts);

/* The wall clock in ns since the epoch (CLOCK_REALTIME).  Cannot fail. */
uint64_t tidal_hlc_wall_now(void *unused);

#endif /* TIDAL_STORE_HLC_H */
