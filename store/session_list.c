/*
 * Every session of the table in pages ordered by id (session.h, "Sessions
 * in pages"): what an export walks, a page at a time, with memory bounded
 * by its page whatever the table holds.
 *
 * The table is a hash map with no order, so a page is picked by one pass
 * over every slot: the max smallest ids above the caller's cursor, kept in
 * the caller's own array as a max-heap (its root the greatest kept, the
 * one a smaller id replaces), then sorted.  No allocation, so nothing to
 * fail; the cost is the pass, O(N log max) for N sessions held, per page.
 * An ordered index would make a page cost its size, but would be kept on
 * every start and free for a read that only exports call; the pass is the
 * honest price until a caller needs more (the header says it).
 */
#include <stdlib.h>

#include "store/session.h"
#include "store/session_internal.h"

static bool
before(const tidal_session_id *a, const tidal_session_id *b)
{
    return tidal_session_id_compare(a, b) < 0;
}

/* Restores the max-heap h[0, n) below i.  Cannot fail. */
static void
sift_down(tidal_session_id *h, size_t n, size_t i)
{
    for (;;) {
        size_t big = i, l = 2 * i + 1, r = l + 1;
        if (l < n && before(&h[big], &h[l])) {
            big = l;
        }
        if (r < n && before(&h[big], &h[r])) {
            big = r;
        }
        if (big == i) {
            return;
        }
        tidal_session_id t = h[i];
        h[i] = h[big];
        h[big] = t;
        i = big;
    }
}

/* Adds id to the max-heap h[0, *n), which holds at most max.  Cannot fail. */
static void
keep_smallest(tidal_session_id *h, size_t *n, size_t max, const tidal_session_id *id)
{
    if (*n < max) {
        size_t i = (*n)++;
        h[i] = *id;
        while (i > 0 && before(&h[(i - 1) / 2], &h[i])) {
            tidal_session_id t = h[i];
            h[i] = h[(i - 1) / 2];
            h[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    } else if (max > 0 && before(id, &h[0])) {
        h[0] = *id;
        sift_down(h, *n, 0);
    }
}

static int
by_id(const void *a, const void *b)
{
    return tidal_session_id_compare(a, b);
}

void
tidal_sessions_page(const tidal_sessions *t, const tidal_session_id *after, uint64_t cutoff_ns,
                    tidal_session_id *out, size_t max, size_t *n)
{
    const tidal__sess_slot *s;
    size_t cursor = 0, kept = 0, count = 0;

    while ((s = tidal_hmap_next(&t->map, &cursor)) != NULL) {
        if (s->ended && s->ended_stamp.wall_ns < cutoff_ns) {
            continue; /* expired: gone to readers, freed yet or not */
        }
        if (after != NULL && tidal_session_id_compare(&s->id, after) <= 0) {
            continue;
        }
        count++;
        keep_smallest(out, &kept, max, &s->id);
    }
    if (kept > 0) { /* out may be NULL when max is 0 */
        qsort(out, kept, sizeof(*out), by_id);
    }
    *n = count;
}
