/*
 * The top k items of one signal type by windowed count (signals.h's
 * windows): "popular in this region".
 *
 * No index: each call scans every (item, type) slot of the state once,
 * counts the slots of the type asked for in the window, and keeps the k
 * best in a bounded min-heap.  Cost: O(E + M log k) time for E slots (all
 * types) and M slots of the type, O(k) memory (the caller's array), under
 * whatever lock the caller holds for the state.  A window rolls with the
 * reader's clock alone, so an index kept on apply would still have to
 * re-rank on every read (counts fall as buckets leave the window without
 * any event); the scan is exact by construction.
 */
#ifndef TIDAL_STORE_SIGNALS_TOP_H
#define TIDAL_STORE_SIGNALS_TOP_H

#include <stddef.h>
#include <stdint.h>

#include "store/signals.h"

/* One ranked item. */
typedef struct tidal_signals_ranked {
    tidal_entity_id item;
    int64_t count; /* its windowed count, > 0 */
} tidal_signals_ranked;

/* Writes into out (room for k) the at most k items with the greatest count
 * of type in window at now_ns, greatest first, ties by smaller item id;
 * items whose count is 0 or less (nothing in the window) are not ranked.
 * *n gets how many were written.  k 0 writes nothing.  TIDAL_EINVAL for an
 * unknown window (nothing written, *n untouched). */
int tidal_signals_top(const tidal_signals *s, uint16_t type, tidal_sigwindow window,
                      uint64_t now_ns, size_t k, tidal_signals_ranked *out, size_t *n)
    __attribute__((warn_unused_result));

#endif /* TIDAL_STORE_SIGNALS_TOP_H */
