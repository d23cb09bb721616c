/*
 * The applied watermark: per origin region, the highest of its LSNs this
 * region has applied (r->st_applied_lsn), and the threads blocked until it
 * reaches an LSN (tidal_region_wait_applied).
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

void
tidal__publish_applied(tidal_region *r, uint16_t origin, uint64_t lsn)
{
    atomic_store(&r->st_applied_lsn[origin], lsn);
    if (atomic_load(&r->wm.waiters) > 0) {
        pthread_mutex_lock(&r->wm.lock);
        pthread_cond_broadcast(&r->wm.cond);
        pthread_mutex_unlock(&r->wm.lock);
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
    struct timespec until = tidal_deadline(CLOCK_MONOTONIC, timeout_ms);
    int rv = 0;
    atomic_fetch_add(&r->wm.waiters, 1);
    pthread_mutex_lock(&r->wm.lock);
    while (atomic_load(&r->st_applied_lsn[origin]) < lsn) {
        if (r->wm.closed) {
            rv = TIDAL_ECLOSED;
            break;
        }
        if (pthread_cond_timedwait(&r->wm.cond, &r->wm.lock, &until) == ETIMEDOUT) {
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
