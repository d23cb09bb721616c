/*
 * The applied watermark: per origin region, the highest of its LSNs up to
 * which this region holds the origin's state (r->st_applied_lsn, published),
 * and the threads blocked until it reaches an LSN (tidal_region_wait_applied).
 *
 * The follower path publishes the watermark after the batch is applied and
 * the state lock released (apply.c), so a read made after a waiter wakes
 * sees the batch.  Publishing costs one atomic store, and a broadcast only
 * while someone waits:
 *
 *   waiter                                   publisher
 *   waiters++              (seq_cst)         st_applied_lsn = lsn   (seq_cst)
 *   lock; while (st_applied_lsn < lsn) wait  if (waiters > 0) lock; broadcast
 *
 * Both orders are total, so either the publisher sees the waiter and
 * broadcasts (under the lock, which the waiter holds from its check to its
 * wait: no wake-up is lost) or the waiter's check sees the new watermark.
 *
 * Gaps.  The watermark never covers state that has not arrived.  A log
 * base (apply.c, tidal__apply_log_base) moves the follower's position of an
 * origin past LSNs it never applied: their state comes by reconciliation,
 * later.  So the base opens a gap: the published watermark is bounded by
 * the hold, what it was when the gap opened, while the position moves on
 * (the batches after the base are applied and acknowledged as usual, and
 * published only up to the hold).  The gap is filled - the hold lifted, the
 * watermark published up to the position - by the first reconciliation
 * round with that origin that completed and that started after the gap
 * opened (reconciler.c, "Completed rounds"): the origin answered a digest
 * it received after it sent the base, and when it sent the base its state
 * held every one of its writes up to the base (a write is applied where it
 * is made before its LSN can be released), so once this region has merged
 * the answer it holds them too.  Only a round with the origin itself
 * counts: another peer's answer says nothing of how much of the origin's
 * log that peer had.  Every base counts one more gap (gaps), and a round
 * fills the gap only if no base came after it started, since the state
 * skipped by the later base may be newer than its answer.  While a gap is
 * open, the region actor asks for a round again now and then (region.c),
 * so a round lost to a fault is not the end of it.
 *
 *   region actor (publish)                   reconciler (fill)
 *   position = lsn         (seq_cst)         lock; hold = none; unlock (seq_cst)
 *   raise(min(lsn, hold))                    raise(position)
 *
 * Either the region actor sees the hold lifted or the reconciler sees the
 * new position, so the watermark ends at the position either way; raise
 * only ever moves it up (a CAS), whichever of the two runs last.
 *
 * A closing region wakes its waiters with TIDAL_ECLOSED and waits for them
 * to leave before it frees anything, so a thread blocked here while another
 * closes the region does not hang and does not touch freed memory.  (A call
 * that begins after the close returned uses a freed region, as any call
 * does.)
 */
#include <errno.h>
#include <time.h>

#include "actors/internal.h"
#include "base/time.h"

void
tidal__watermark_init(tidal_region *r)
{
    (void)tidal_cond_init_monotonic(&r->wm.cond);
    pthread_mutex_init(&r->wm.lock, NULL);
    atomic_init(&r->wm.waiters, 0);
    r->wm.closed = false;
    for (uint32_t o = 0; o < TIDAL_REGIONS_MAX; o++) {
        atomic_init(&r->wm.position[o], 0);
        atomic_init(&r->wm.hold[o], UINT64_MAX);
        atomic_init(&r->wm.gaps[o], 0);
    }
}

void
tidal__watermark_fini(tidal_region *r)
{
    pthread_cond_destroy(&r->wm.cond);
    pthread_mutex_destroy(&r->wm.lock);
}

/* Wakes every waiter with TIDAL_ECLOSED and returns once none is left. */
void
tidal__watermark_close(tidal_region *r)
{
    pthread_mutex_lock(&r->wm.lock);
    r->wm.closed = true;
    pthread_cond_broadcast(&r->wm.cond);
    while (atomic_load(&r->wm.waiters) > 0) {
        pthread_cond_wait(&r->wm.cond, &r->wm.lock);
    }
    pthread_mutex_unlock(&r->wm.lock);
}

/* Moves origin's published watermark up to lsn (never down) and wakes the
 * waiters if it moved. */
static void
raise_to(tidal_region *r, uint16_t origin, uint64_t lsn)
{
    uint64_t cur = atomic_load(&r->st_applied_lsn[origin]);
    while (cur < lsn && !atomic_compare_exchange_weak(&r->st_applied_lsn[origin], &cur, lsn)) {
    }
    if (cur < lsn && atomic_load(&r->wm.waiters) > 0) {
        pthread_mutex_lock(&r->wm.lock);
        pthread_cond_broadcast(&r->wm.cond);
        pthread_mutex_unlock(&r->wm.lock);
    }
}

void
tidal__publish_applied(tidal_region *r, uint16_t origin, uint64_t lsn)
{
    atomic_store(&r->wm.position[origin], lsn);
    uint64_t hold = atomic_load(&r->wm.hold[origin]);
    raise_to(r, origin, lsn < hold ? lsn : hold);
}

void
tidal__watermark_gap_open(tidal_region *r, uint16_t origin)
{
    pthread_mutex_lock(&r->wm.lock);
    atomic_fetch_add(&r->wm.gaps[origin], 1);
    if (atomic_load(&r->wm.hold[origin]) == UINT64_MAX) {
        /* an open gap keeps its hold: the earlier range has not arrived either */
        atomic_store(&r->wm.hold[origin], atomic_load(&r->wm.position[origin]));
    }
    pthread_mutex_unlock(&r->wm.lock);
}

bool
tidal__watermark_gap_pending(tidal_region *r, uint16_t origin)
{
    return atomic_load(&r->wm.hold[origin]) != UINT64_MAX;
}

uint64_t
tidal__watermark_gap_epoch(tidal_region *r, uint16_t origin)
{
    return atomic_load(&r->wm.gaps[origin]);
}

void
tidal__watermark_gap_fill(tidal_region *r, uint16_t origin, uint64_t epoch)
{
    pthread_mutex_lock(&r->wm.lock);
    bool filled = atomic_load(&r->wm.gaps[origin]) == epoch &&
                  atomic_load(&r->wm.hold[origin]) != UINT64_MAX;
    if (filled) {
        atomic_store(&r->wm.hold[origin], UINT64_MAX);
    }
    pthread_mutex_unlock(&r->wm.lock);
    if (filled) {
        raise_to(r, origin, atomic_load(&r->wm.position[origin]));
    }
}

int
tidal_region_wait_applied(tidal_region *r, tidal_region_id origin, uint64_t lsn,
                          uint32_t timeout_ms)
{
    if (r == NULL || origin >= TIDAL_REGIONS_MAX || origin == r->id) {
        return TIDAL_EINVAL;
    }
    if (atomic_load(&r->st_applied_lsn[origin]) >= lsn) {
        return 0; /* no lock on the fast path */
    }
    if (timeout_ms == 0) {
        return TIDAL_ETIMEDOUT;
    }
    uint64_t until_ms = tidal_elapsed_ms(r->rt) + timeout_ms;
    int rv = 0;
    atomic_fetch_add(&r->wm.waiters, 1);
    pthread_mutex_lock(&r->wm.lock);
    while (atomic_load(&r->st_applied_lsn[origin]) < lsn) {
        if (r->wm.closed) {
            rv = TIDAL_ECLOSED;
            break;
        }
        if (tidal_runtime_block(r->rt, &r->wm.cond, &r->wm.lock, until_ms) != 0) {
            rv = atomic_load(&r->st_applied_lsn[origin]) >= lsn ? 0 : TIDAL_ETIMEDOUT;
            break;
        }
    }
    if (atomic_fetch_sub(&r->wm.waiters, 1) == 1 && r->wm.closed) {
        pthread_cond_broadcast(&r->wm.cond); /* the close waits for the last one */
    }
    pthread_mutex_unlock(&r->wm.lock);
    return rv;
}
