/*
 * Durability: the sync thread, the durable LSN and waiting for it.
 *
 * Group commit (SYNC).  Appends write() under the log's lock and return at
 * once.  The sync thread loops:
 *   under the lock, wait until something written is not durable yet;
 *   note target = next_lsn - 1 and the live segment's fd; drop the lock;
 *   fdatasync(fd), while appends keep arriving;
 *   under the lock, durable_lsn = target; wake the waiters;
 *   call on_durable(target) without the lock.
 * While one fdatasync runs, later appends pile up, and the next round covers
 * them all: one sync per round however many threads append.  target is safe
 * because every batch up to it had been written (its write() returned) before
 * the snapshot, either into the fd being synced or into an older segment,
 * which the roll-over synced before leaving it (wal_segment.c).
 *
 * INTERVAL: the same round, started by a timer every interval_ms (if anything
 * is pending) instead of by appends.
 * NONE and ephemeral: an append marks its own batch durable.  The thread runs
 * only if on_durable is set, to deliver it from one thread in increasing
 * order.
 * On close the thread makes a last round (sync and on_durable) and exits.
 *
 * A failed fdatasync fails the log (TIDAL_EIO) for good: after a failed
 * fsync Linux may have dropped the dirty pages and cleared the error, so a
 * retry that succeeds proves nothing (PostgreSQL's "fsyncgate", 2018).
 * durable_lsn stops there and waiters get TIDAL_EIO.
 */
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "store/deadline.h"
#include "store/wal_internal.h"

static bool
passed(const struct timespec *t)
{
    struct timespec now;

    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* Under lock: raises durable_lsn to lsn and wakes its waiters.  Cannot fail. */
static void
set_durable(tidal_wal *w, uint64_t lsn)
{
    if (lsn > w->durable_lsn) {
        w->durable_lsn = lsn;
        if (w->waiters > 0) {
            pthread_cond_broadcast(&w->durable_cv);
        }
    }
}

/* Under lock: closes the fds rolled away from (already synced by the roll).
 * Cannot fail. */
static void
close_retired(tidal_wal *w)
{
    for (size_t i = 0; i < w->nretired; i++) {
        close(w->retired[i]);
    }
    w->nretired = 0;
}

/* One group-commit round; drops the lock around the fdatasync.  If the sync
 * fails the log is failed (TIDAL_EIO) and its waiters woken. */
static void
sync_round(tidal_wal *w)
{
    uint64_t target = w->next_lsn - 1;
    int fd = w->fd;
    int rc;

    pthread_mutex_unlock(&w->lock);
    rc = fdatasync(fd);
    pthread_mutex_lock(&w->lock);
    if (rc != 0) {
        w->failed = TIDAL_EIO;
        pthread_cond_broadcast(&w->durable_cv);
        return;
    }
    w->stats.syncs++;
    set_durable(w, target);
}

/* Calls on_durable with the durable LSN; drops the lock around the call.
 * Cannot fail. */
static void
notify(tidal_wal *w)
{
    uint64_t lsn = w->durable_lsn;

    w->notified_lsn = lsn;
    pthread_mutex_unlock(&w->lock);
    w->opts.on_durable(w->opts.on_durable_arg, lsn);
    pthread_mutex_lock(&w->lock);
}

static void *
sync_main(void *arg)
{
    tidal_wal *w = arg;
    bool interval = w->opts.durability == TIDAL_DURABILITY_INTERVAL;
    struct timespec tick = tidal_deadline(CLOCK_MONOTONIC, w->opts.interval_ms);

    pthread_mutex_lock(&w->lock);
    for (;;) {
        bool pending = w->sync_fds && w->failed == 0 && w->next_lsn - 1 > w->durable_lsn;
        bool due = !interval || w->closing || passed(&tick);

        close_retired(w);
        if (interval && passed(&tick)) {
            tick = tidal_deadline(CLOCK_MONOTONIC, w->opts.interval_ms);
        }
        if (pending && due) {
            sync_round(w);
            continue;
        }
        if (w->opts.on_durable != NULL && w->durable_lsn > w->notified_lsn) {
            notify(w);
            continue;
        }
        if (w->closing) {
            break;
        }
        if (interval) {
            (void)pthread_cond_timedwait(&w->work_cv, &w->lock, &tick);
        } else {
            w->thread_idle = true;
            pthread_cond_wait(&w->work_cv, &w->lock);
            w->thread_idle = false;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int
tidal__wal_sync_start(tidal_wal *w)
{
    if (pthread_create(&w->thread, NULL, sync_main, w) != 0) {
        return TIDAL_ENOMEM;
    }
    w->has_thread = true;
    return 0;
}

void
tidal__wal_sync_stop(tidal_wal *w)
{
    if (!w->has_thread) {
        return;
    }
    pthread_mutex_lock(&w->lock);
    w->closing = true;
    pthread_cond_signal(&w->work_cv);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    w->has_thread = false;
}

bool
tidal__wal_sync_appended(tidal_wal *w)
{
    if (!w->sync_fds) {
        set_durable(w, w->next_lsn - 1);
    }
    if (!w->has_thread || !w->thread_idle) {
        return false;
    }
    /* SYNC: there is a sync to run.  NONE, ephemeral: an on_durable to call.
     * INTERVAL: the timer starts the sync. */
    return w->opts.durability != TIDAL_DURABILITY_INTERVAL;
}

void
tidal__wal_sync_wake(tidal_wal *w)
{
    pthread_cond_signal(&w->work_cv);
}

void
tidal__wal_sync_retire(tidal_wal *w, int fd)
{
    if (w->sync_fds && w->has_thread) {
        if (w->nretired == w->retired_cap) {
            size_t cap = w->retired_cap != 0 ? w->retired_cap * 2 : 4;
            int *r = realloc(w->retired, cap * sizeof(*r));
            if (r == NULL) {
                close(fd);
                return;
            }
            w->retired = r;
            w->retired_cap = cap;
        }
        w->retired[w->nretired++] = fd;
        return;
    }
    close(fd);
}

uint64_t
tidal_wal_durable_lsn(tidal_wal *w)
{
    uint64_t lsn;

    pthread_mutex_lock(&w->lock);
    lsn = w->durable_lsn;
    pthread_mutex_unlock(&w->lock);
    return lsn;
}

int
tidal_wal_wait_durable(tidal_wal *w, uint64_t lsn, uint32_t timeout_ms)
{
    struct timespec end;
    int rc = 0;

    pthread_mutex_lock(&w->lock);
    if (lsn <= w->durable_lsn) {
        pthread_mutex_unlock(&w->lock);
        return 0;
    }
    end = tidal_deadline(CLOCK_MONOTONIC, timeout_ms);
    w->waiters++;
    while (w->durable_lsn < lsn) {
        if (w->failed != 0) {
            rc = w->failed;
            break;
        }
        if (pthread_cond_timedwait(&w->durable_cv, &w->lock, &end) == ETIMEDOUT) {
            rc = w->durable_lsn >= lsn ? 0 : TIDAL_ETIMEDOUT;
            break;
        }
    }
    w->waiters--;
    pthread_mutex_unlock(&w->lock);
    return rc;
}
