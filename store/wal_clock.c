/*
 * A log's time and its callers' waits: on its own, CLOCK_MONOTONIC and
 * condvars; with a driver (wal.h, tidal_wal_driver), the driver's clock and
 * block, and the turns it runs in place of the sync thread.
 *
 * A driven log asks for a turn only when one is wanted and none asked for
 * already comes soon enough (turn_asked, turn_at_ms): an appender under SYNC
 * asks for one at once, and the next hundred appenders before it runs ask
 * for nothing - they share its sync, which is group commit on one thread.
 * A waiter asks too before it blocks, so a turn the driver refused to
 * schedule is asked for again by whoever waits for it.
 */
#include <errno.h>
#include <time.h>

#include "store/wal_state.h"

uint64_t
tidal__wal_now_ns(const tidal_wal *w)
{
    struct timespec now;

    if (w->driven) {
        return w->driver.now_ms(w->driver.arg) * 1000000u;
    }
    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

uint64_t
tidal__wal_deadline_ns(const tidal_wal *w, uint64_t timeout_ms)
{
    uint64_t now = tidal__wal_now_ns(w);
    uint64_t ns = timeout_ms < UINT64_MAX / 1000000u ? timeout_ms * 1000000u : UINT64_MAX;

    return ns < UINT64_MAX - now ? now + ns : UINT64_MAX;
}

int
tidal__wal_wait(tidal_wal *w, pthread_cond_t *cv, uint64_t deadline_ns)
{
    uint64_t at;

    if (!w->driven) {
        struct timespec end = {.tv_sec = (time_t)(deadline_ns / 1000000000u),
                               .tv_nsec = (long)(deadline_ns % 1000000000u)};
        return pthread_cond_timedwait(cv, &w->lock, &end) == ETIMEDOUT ? TIDAL_ETIMEDOUT : 0;
    }
    if (tidal__wal_turn_want(w, &at)) {
        /* the caller checks its condition again after any wait */
        pthread_mutex_unlock(&w->lock);
        tidal__wal_turn_wake(w, at);
        pthread_mutex_lock(&w->lock);
    }
    /* whole milliseconds, rounded up: the wait never ends before the
     * deadline it was given */
    uint64_t ms = deadline_ns / 1000000u + (deadline_ns % 1000000u != 0);
    return w->driver.block(w->driver.arg, cv, &w->lock, ms) == TIDAL_ETIMEDOUT ? TIDAL_ETIMEDOUT
                                                                                : 0;
}

/* Under lock: when the log next has sync work (now_ms's clock), as the
 * sync thread's loop would find it; false if it has none. */
static bool
next_work(tidal_wal *w, uint64_t now, uint64_t *at)
{
    if (!w->has_thread) {
        return false; /* NONE without on_durable: the appenders do it all */
    }
    if (w->ev_due || (w->opts.on_durable != NULL && w->durable_lsn > w->notified_lsn)) {
        *at = now;
        return true;
    }
    if (w->stalled) {
        *at = w->retry_at_ns / 1000000u + (w->retry_at_ns % 1000000u != 0);
        return !w->for_good;
    }
    if (!w->sync_fds || w->failed != 0 || w->next_lsn - 1 <= w->durable_lsn) {
        return false;
    }
    if (w->opts.durability != TIDAL_DURABILITY_INTERVAL) {
        *at = now; /* SYNC: at once, and every append until then shares it */
        return true;
    }
    if (w->interval_at_ms == 0) {
        /* the period starts with the first batch not yet synced */
        w->interval_at_ms = now + w->opts.interval_ms;
    }
    *at = w->interval_at_ms;
    return true;
}

bool
tidal__wal_turn_want(tidal_wal *w, uint64_t *at_ms)
{
    uint64_t at;

    if (!w->driven || !next_work(w, w->driver.now_ms(w->driver.arg), &at)) {
        return false;
    }
    if (w->turn_asked && w->turn_at_ms <= at) {
        return false; /* a turn comes soon enough */
    }
    w->turn_asked = true;
    w->turn_at_ms = at;
    *at_ms = at;
    return true;
}

void
tidal__wal_turn_wake(tidal_wal *w, uint64_t at_ms)
{
    if (w->driver.wake(w->driver.arg, at_ms) != 0) {
        pthread_mutex_lock(&w->lock);
        if (w->turn_asked && w->turn_at_ms == at_ms) {
            w->turn_asked = false;
        }
        pthread_mutex_unlock(&w->lock);
    }
}
