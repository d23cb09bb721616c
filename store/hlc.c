/*
 * The hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014).
 *
 * A stamp is (wall, logical, node id).  The clock keeps the greatest stamp it
 * has issued or merged in c->last and only ever moves it forward:
 *  - now:     the wall clock if it is ahead of last.wall, else last.wall with
 *             logical + 1.  A wall clock that stalls or jumps back therefore
 *             never produces an equal or smaller stamp.
 *  - update:  the greatest of last.wall, remote.wall and the wall clock, with a
 *             logical counter that puts the result after both last and remote.
 *  - observe: update without the skew check.
 * The skew check exists because update copies a remote wall into ours: one
 * node with a wild clock would otherwise drag every node into its future, and
 * every later stamp would be stuck on logical + 1 of that wall.
 *
 * When logical is about to pass UINT32_MAX the stamp moves to wall + 1 ns,
 * logical 0, which is still strictly greater.  wall itself is not guarded
 * against passing UINT64_MAX (the year 2554): callers that accept a stamp
 * from outside reject absurd walls before they reach observe.
 *
 * Every stamp returned carries the local node id, even when its wall and
 * logical come from a remote stamp: the node id says who issued it.
 */
#include "store/hlc.h"

#include <stddef.h>
#include <time.h>

#include "tidal/errors.h"

int
tidal_hlc_compare(const tidal_hlc *a, const tidal_hlc *b)
{
    if (a->wall_ns != b->wall_ns) {
        return a->wall_ns < b->wall_ns ? -1 : 1;
    }
    if (a->logical != b->logical) {
        return a->logical < b->logical ? -1 : 1;
    }
    if (a->node_id != b->node_id) {
        return a->node_id < b->node_id ? -1 : 1;
    }
    return 0;
}

uint64_t
tidal_hlc_wall_now(void *unused)
{
    struct timespec ts;

    (void)unused;
    /* CLOCK_REALTIME cannot fail with a valid clock id and pointer. */
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec < 0) {
        /* A clock set before 1970 is nonsense; the HLC still moves forward. */
        return 0;
    }
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
tidal_hlc_clock_init(tidal_hlc_clock *c, uint16_t node_id, uint64_t max_skew_ns,
                     tidal_hlc_wall_fn wall, void *wall_arg)
{
    c->last.wall_ns = 0;
    c->last.logical = 0;
    c->last.node_id = node_id;
    c->max_skew_ns = max_skew_ns != 0 ? max_skew_ns : TIDAL_HLC_SKEW_NS_DEFAULT;
    c->wall = wall != NULL ? wall : tidal_hlc_wall_now;
    c->wall_arg = wall != NULL ? wall_arg : NULL;
}

/* The stamp (wall, logical + 1), rolling over to (wall + 1, 0) rather than
 * wrapping logical to 0, which would go backwards. */
static void
next_logical(tidal_hlc *ts, uint64_t wall, uint32_t logical)
{
    if (logical == UINT32_MAX) {
        ts->wall_ns = wall + 1;
        ts->logical = 0;
    } else {
        ts->wall_ns = wall;
        ts->logical = logical + 1;
    }
}

tidal_hlc
tidal_hlc_now(tidal_hlc_clock *c)
{
    uint64_t pt = c->wall(c->wall_arg);

    if (pt > c->last.wall_ns) {
        c->last.wall_ns = pt;
        c->last.logical = 0;
    } else {
        next_logical(&c->last, c->last.wall_ns, c->last.logical);
    }
    return c->last;
}

/* The merge shared by update and observe, given the wall clock reading pt.
 * The new wall is the greatest of the three; logical continues from whichever
 * stamps share that wall, so the result is after both last and remote. */
static void
merge(tidal_hlc_clock *c, const tidal_hlc *remote, uint64_t pt)
{
    uint64_t lw = c->last.wall_ns;
    uint64_t rw = remote->wall_ns;
    uint64_t w = lw > rw ? lw : rw;

    if (pt > w) {
        c->last.wall_ns = pt;
        c->last.logical = 0;
    } else if (lw == rw) {
        uint32_t l = c->last.logical > remote->logical ? c->last.logical : remote->logical;
        next_logical(&c->last, w, l);
    } else if (lw > rw) {
        next_logical(&c->last, lw, c->last.logical);
    } else {
        next_logical(&c->last, rw, remote->logical);
    }
}

int
tidal_hlc_update(tidal_hlc_clock *c, const tidal_hlc *remote, tidal_hlc *out)
{
    uint64_t pt = c->wall(c->wall_arg);

    /* Written as a difference so a huge max_skew_ns cannot overflow pt + skew. */
    if (remote->wall_ns > pt && remote->wall_ns - pt > c->max_skew_ns) {
        return TIDAL_ESKEW;
    }
    merge(c, remote, pt);
    *out = c->last;
    return 0;
}

void
tidal_hlc_observe(tidal_hlc_clock *c, const tidal_hlc *ts)
{
    merge(c, ts, c->wall(c->wall_arg));
}
