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
    (void)tidal_cond_init_monotonic(&r->wait_cond);
    pthread_mutex_init(&r->wait_lock, NULL);
    atomic_init(&r->waiters, 0);
    r->wait_closed = false;
}

void
tidal__watermark_fini(tidal_region *r)
{
    pthread_cond_destroy(&r->wait_cond);
    pthread_mutex_destroy(&r->wait_lock);
}

/* Wakes every waiter with TIDAL_ECLOSED and returns once none is left. */
void
tidal__watermark_close(tidal_region *r)
{
    pthread_mutex_lock(&r->wait_lock);
    r->wait_closed = true;
    pthread_cond_broadcast(&r->wait_cond);
    while (atomic_load(&r->waiters) > 0) {
        pthread_cond_wait(&r->wait_cond, &r->wait_lock);
    }
    pthread_mutex_unlock(&r->wait_lock);
}

void
tidal__publish_applied(tidal_region *r, uint16_t origin, uint64_t lsn)
{
    atomic_store(&r->st_applied_lsn[origin], lsn);
    if (atomic_load(&r->waiters) > 0) {
        pthread_mutex_lock(&r->wait_lock);
        pthread_cond_broadcast(&r->wait_cond);
        pthread_mutex_unlock(&r->wait_lock);
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
    atomic_fetch_add(&r->waiters, 1);
    pthread_mutex_lock(&r->wait_lock);
    while (atomic_load(&r->st_applied_lsn[origin]) < lsn) {
        if (r->wait_closed) {
            rv = TIDAL_ECLOSED;
            break;
        }
        if (pthread_cond_timedwait(&r->wait_cond, &r->wait_lock, &until) == ETIMEDOUT) {
            rv = atomic_load(&r->st_applied_lsn[origin]) >= lsn ? 0 : TIDAL_ETIMEDOUT;
            break;
        }
    }
    if (atomic_fetch_sub(&r->waiters, 1) == 1 && r->wait_closed) {
        pthread_cond_broadcast(&r->wait_cond); /* the close waits for the last one */
    }
    pthread_mutex_unlock(&r->wait_lock);
    return rv;
}
