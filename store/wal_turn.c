/*
 * A driven log's sync work (wal.h, tidal_wal_driver): the sync thread's
 * loop (wal_sync.c) run one turn at a time, on whichever thread the driver
 * runs it - a simulation's one thread - and never waiting.
 *
 * A turn does, in the thread's order, what is due at the driver's now: the
 * disk's events first (on_disk before any waiter hears of a failure), then
 * on_durable, then a retry of a refused disk once it is due (one per turn:
 * a failed retry is due again only after its backoff), then a group-commit
 * round for what is pending - under SYNC at once, under INTERVAL once
 * interval_ms have passed since the first batch not yet synced - and it
 * goes on until nothing more is due.  What it leaves for later (an
 * INTERVAL period, a retry's backoff) it asks the driver a turn for.
 * A round still fdatasyncs the real files, without the log's lock: the
 * thread the turn runs on waits for the disk, never for another thread.
 *
 * The thread's linger is left out: it trades a few tens of microseconds
 * of a sync's start for fuller rounds between threads that append in
 * parallel, and a driven log's appenders all run before its turn.
 */
#include "store/wal_state.h"

/* Under lock: runs what is due now (the close: everything, and one retry
 * if the disk refuses).  Cannot fail. */
static void
run_due(tidal_wal *w)
{
    bool interval = w->opts.durability == TIDAL_DURABILITY_INTERVAL;
    bool retried = false;

    for (;;) {
        uint64_t now_ns = tidal__wal_now_ns(w);
        bool pending = w->sync_fds && w->failed == 0 && !w->stalled &&
                       w->next_lsn - 1 > w->durable_lsn;

        if (w->ev_due) {
            tidal__wal_tell(w);
            continue;
        }
        if (w->opts.on_durable != NULL && w->durable_lsn > w->notified_lsn) {
            tidal__wal_notify(w);
            continue;
        }
        if (w->stalled) {
            if (w->for_good || retried ||
                (!w->closing && now_ns < w->retry_at_ns)) {
                break;
            }
            retried = true;
            tidal__wal_sync_retry(w);
            continue;
        }
        if (!pending) {
            break;
        }
        if (interval && !w->closing && w->interval_at_ms == 0) {
            w->interval_at_ms = now_ns / 1000000u + w->opts.interval_ms; /* its period starts */
        }
        if (interval && !w->closing && now_ns < w->interval_at_ms * 1000000u) {
            break;
        }
        w->interval_at_ms = 0;
        tidal__wal_sync_round(w);
    }
}

void
tidal_wal_turn(tidal_wal *w)
{
    uint64_t at;

    if (w == NULL || !w->driven) {
        return;
    }
    pthread_mutex_lock(&w->lock);
    if (w->turn_asked && w->turn_at_ms <= w->driver.now_ms(w->driver.arg)) {
        w->turn_asked = false; /* this is the turn asked for */
    }
    if (w->has_thread && !w->closing) {
        run_due(w);
    }
    bool ask = tidal__wal_turn_want(w, &at);
    pthread_mutex_unlock(&w->lock);
    if (ask) {
        tidal__wal_turn_wake(w, at);
    }
}

void
tidal__wal_turn_close(tidal_wal *w)
{
    if (!w->has_thread) {
        return;
    }
    pthread_mutex_lock(&w->lock);
    /* The driver's executor may be gone (a region's runtime closes before
     * its logs): what the last turn reads of time is the monotonic clock,
     * and with closing set it waits for no period and no backoff. */
    w->driven = false;
    w->closing = true;
    run_due(w);
    pthread_mutex_unlock(&w->lock);
    w->has_thread = false; /* as after the thread's join: no more turns */
}
