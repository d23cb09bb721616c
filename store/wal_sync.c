/*
 * Durability: the sync thread, the durable LSN and waiting for it, the next
 * LSN and the counters.
 *
 * Group commit (SYNC).  Appends queue their batch under the log's lock and
 * return at once.  The sync thread loops:
 *   call on_durable(durable_lsn) without the lock if it moved;
 *   under the lock, wait until something appended is not durable yet;
 *   linger (below); write every queued batch (tidal__wal_write_pending); note
 *   target = written_lsn, the live segment's fd and the segments rolled
 *   away from since the last round; drop the lock;
 *   fdatasync each of those and fd (and the directory, if a segment was
 *   created), while appends keep arriving;
 *   under the lock, durable_lsn = target; wake the waiters.
 * While one fdatasync runs, later appends pile up, and the next round covers
 * them all: one sync per round however many threads append.  target is safe
 * because every batch up to it was written before the snapshot, either into
 * the fd being synced or into a segment rolled away from before it, which
 * the same round syncs.  No sync runs under the log's lock, so an appender
 * (and whatever locks its caller holds) never waits for the disk.
 * Linger: a round that made k LSNs durable released writers that were
 * waiting for them, and they append again at once.  If fewer than k are
 * queued when the next round would start, the thread waits for k, at most an
 * eighth of the last fdatasync's time and 0.5 ms (appends wake it when k
 * are there).
 * Without it a pipelined writer with a window of W batches alternates
 * rounds of a few and of W minus a few: W/2 per sync.  Measured with one
 * writer, W = 64, 1-record batches (bench_wal): 32 -> 63 batches per sync,
 * 131-167k -> 238-250k records/s.  A quarter of the sync instead of an
 * eighth gave the same to one writer but cost 4 writers a tenth: their
 * refill competes for 2 cores and the linger ran out more often.
 *
 * INTERVAL: the same round, started by a timer every interval_ms (if anything
 * is pending) instead of by appends.
 * NONE and ephemeral: an append marks its own batch durable.  The thread runs
 * only if on_durable is set, to deliver it from one thread in increasing
 * order.
 * On close the thread makes a last round (sync and on_durable) and exits.
 *
 * A failed write or fdatasync makes the log refuse appends: durable_lsn
 * stops there, the failure is told (on_disk, then the waiters get
 * TIDAL_EIO), and the thread retries on a timer, or sooner when asked
 * (wal_retry.c): it cuts the files back to the end of the last good sync
 * and makes a round that writes every batch above it again from memory -
 * never trusting the pages a failed fsync covered, which Linux may have
 * dropped (PostgreSQL's "fsyncgate", 2018) - and syncs them.  A retry that
 * fails nothing ends the refusal.
 */
#include <errno.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "base/time.h"
#include "store/wal_state.h"

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

/* The most batches one pwritev takes (IOV_MAX is 1024 on Linux). */
#define WRITE_IOV_MAX 256

int
tidal__wal_write_pending(tidal_wal *w)
{
    struct tidal__wal_cache *c = &w->cache;
    size_t i = c->n;
    int rc = 0;

    while (i > 0 && tidal__wal_cache_at(c, i - 1)->first_lsn > w->written_lsn) {
        i--;
    }
    while (i < c->n && rc == 0) {
        struct iovec iov[WRITE_IOV_MAX];
        struct tidal__wal_entry *last = NULL;
        struct tidal__wal_seg *seg;
        uint64_t bytes = 0;
        int n = 0;

        rc = tidal__wal_seg_roll_if_full(w, tidal__wal_cache_at(c, i)->len);
        if (rc != 0) {
            rc = tidal__wal_fail(w, "creating a segment");
            break;
        }
        seg = &w->segs[w->nsegs - 1];
        /* the first batch fits (the roll made room, or the segment is
         * empty); the next ones while the segment stays within its size */
        while (i < c->n && n < WRITE_IOV_MAX) {
            struct tidal__wal_entry *e = tidal__wal_cache_at(c, i);
            if (n > 0 && seg->size + bytes + e->len > w->opts.segment_bytes) {
                break;
            }
            iov[n].iov_base = e->bytes;
            iov[n].iov_len = e->len;
            bytes += e->len;
            last = e;
            n++;
            i++;
        }
        int e = tidal__wal_pwritev_all(w, w->fd, iov, n, seg->size);
        if (e != 0) {
            /* whole batches only, at once (a retry cuts it again) */
            errno = e;
            rc = tidal__wal_fail(w, "write");
            (void)tidal__io_ftruncate(w, w->fd, seg->size);
            break;
        }
        seg->size += bytes;
        w->written_lsn = last->first_lsn + last->count - 1;
        w->queued_bytes -= bytes;
        if (w->room_waiters > 0) {
            pthread_cond_broadcast(&w->durable_cv);
        }
    }
    if (rc != 0) {
        return TIDAL_EIO; /* told by the sync thread (wal_retry.c) */
    }
    tidal__wal_cache_trim(w);
    return 0;
}

/* Under lock, before a SYNC round (write_behind): the linger of the top of
 * the file.  A round that covered no more than is pending (a lone
 * sequential writer) waits for nothing. */
#define LINGER_NS_MAX 500000u /* a slow disk's 20 ms sync does not make it 5 ms */

static void
linger(tidal_wal *w)
{
    uint64_t want = w->last_round_lsns;
    struct timespec end;

    if (!w->write_behind || w->closing || w->next_lsn - 1 - w->written_lsn >= want) {
        return;
    }
    end = tidal_deadline_ns(CLOCK_MONOTONIC,
                            w->sync_ns / 8 < LINGER_NS_MAX ? w->sync_ns / 8 : LINGER_NS_MAX);
    w->lingering = true;
    w->linger_want = want;
    while (!w->closing && w->next_lsn - 1 - w->written_lsn < want) {
        if (pthread_cond_timedwait(&w->work_cv, &w->lock, &end) == ETIMEDOUT) {
            break;
        }
    }
    w->lingering = false;
}

/* One group-commit round; drops the lock around the fdatasync.  If a write
 * or the sync fails the log refuses appends (wal_retry.c).  Also a retry's
 * round: what a reset rewound (written_lsn below next_lsn - 1, whatever the
 * policy) is written again first. */
void
tidal__wal_sync_round(tidal_wal *w)
{
    uint64_t target;
    int fd;
    int rc = 0;

    if ((w->write_behind || w->written_lsn + 1 < w->next_lsn) &&
        tidal__wal_write_pending(w) != 0) {
        return;
    }
    target = w->written_lsn;
    fd = w->fd;
    /* where the data this round makes durable ends: a retry cuts back to it */
    uint64_t synced_size = w->segs[w->nsegs - 1].size;
    /* The segments rolled away from and a new segment's name are synced in
     * this round, without the lock, before anything in them counts as
     * durable: a roll-over never makes an appender (or its caller's locks)
     * wait for the disk.  They were all made before the snapshot of target,
     * so every batch up to it is in fd or in one of them.  The round owns
     * them now: nothing else closes them under it. */
    int *retired = w->retired;
    size_t nretired = w->nretired;
    bool dir = w->dir_unsynced;
    uint64_t newest = w->segs[w->nsegs - 1].first_lsn;
    w->retired = NULL;
    w->nretired = 0;
    w->retired_cap = 0;
    w->dir_unsynced = false;
    pthread_mutex_unlock(&w->lock);
    uint64_t t0 = tidal__wal_mono_ns();
    for (size_t i = 0; i < nretired && rc == 0; i++) {
        rc = tidal__io_fdatasync(w, retired[i]);
    }
    if (rc == 0 && dir) {
        rc = tidal__io_fsync(w, w->dirfd); /* set at open, never changed */
    }
    if (rc == 0) {
        rc = tidal__io_fdatasync(w, fd);
    }
    uint64_t t1 = tidal__wal_mono_ns();
    int err = errno; /* why it failed, for the log: close may change it */
    for (size_t i = 0; i < nretired; i++) {
        tidal__io_close(w, retired[i]);
    }
    free(retired);
    errno = err;
    const char *what = "fdatasync";
    if (rc == 0 && (dir || nretired > 0)) {
        /* A roll-over: the new segment's name and first batches are durable
         * now.  The manifest names it before they are reported durable, so
         * that no acknowledged batch is in a segment it does not know of
         * (wal_manifest.c) - once per segment, never per batch. */
        pthread_mutex_lock(&w->lock);
        w->man.newest = newest > w->man.newest ? newest : w->man.newest;
        w->man.high = target > w->man.high ? target : w->man.high;
        pthread_mutex_unlock(&w->lock);
        rc = tidal__wal_manifest_store(w);
        what = "writing the manifest";
    }
    pthread_mutex_lock(&w->lock);
    w->sync_ns = t1 - t0;
    w->last_round_lsns = target > w->durable_lsn ? target - w->durable_lsn : 0;
    if (rc != 0) {
        (void)tidal__wal_fail(w, what);
        return;
    }
    w->stats.syncs++;
    w->synced_seg = newest;
    w->synced_size = synced_size;
    set_durable(w, target);
    tidal__wal_cache_trim(w); /* what this sync covered may go now */
}

/* A retry of a log that refuses appends: the files cut back to the last
 * good sync, then a round that writes the tail again (NONE: the cut is all
 * there is).  Cannot fail: a failure keeps the log refusing. */
void
tidal__wal_sync_retry(tidal_wal *w)
{
    uint64_t errors = w->stats.disk_errors;

    if (tidal__wal_reset_tail(w) == 0) {
        /* nothing to write again (NONE, or a tail all synced): the probe
         * shows the disk takes bytes again */
        bool empty = w->written_lsn == w->next_lsn - 1;
        if (empty ? tidal__wal_probe(w) == 0 && w->sync_fds : w->sync_fds) {
            tidal__wal_sync_round(w);
        }
    }
    if (w->stats.disk_errors == errors) {
        tidal__wal_recovered(w);
    }
    tidal__wal_retried(w);
}

/* The sync thread's turn while the log refuses appends: the retry when it
 * is due (and one last at close), else a wait for it.  False when the
 * thread is to exit. */
static bool
stalled_turn(tidal_wal *w, bool *close_tried)
{
    if (w->for_good) {
        if (w->closing) {
            return false;
        }
        pthread_cond_wait(&w->work_cv, &w->lock);
        return true;
    }
    if (w->closing ? !*close_tried : tidal__wal_now_ns(w) >= w->retry_at_ns) {
        *close_tried = w->closing;
        tidal__wal_sync_retry(w);
        return true;
    }
    if (w->closing) {
        return false;
    }
    struct timespec at = {.tv_sec = (time_t)(w->retry_at_ns / 1000000000u),
                          .tv_nsec = (long)(w->retry_at_ns % 1000000000u)};
    (void)pthread_cond_timedwait(&w->work_cv, &w->lock, &at);
    return true;
}

void
tidal__wal_notify(tidal_wal *w)
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

    /* its lingers are tens of microseconds: the default 50 us slack would
     * double them */
    (void)prctl(PR_SET_TIMERSLACK, 1000ul, 0, 0, 0);
    struct timespec tick = tidal_deadline(CLOCK_MONOTONIC, w->opts.interval_ms);

    bool close_tried = false;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        bool pending = w->sync_fds && w->failed == 0 && !w->stalled &&
                       w->next_lsn - 1 > w->durable_lsn;
        bool due = !interval || w->closing || passed(&tick);

        if (interval && passed(&tick)) {
            tick = tidal_deadline(CLOCK_MONOTONIC, w->opts.interval_ms);
        }
        /* a failure or a recovery is told first: the waiters of a refused
         * tail hear of it only once on_disk has */
        if (w->ev_due) {
            tidal__wal_tell(w);
            continue;
        }
        /* on_durable first: under a steady load there is always a round
         * to run, and the shipper must not wait for a lull */
        if (w->opts.on_durable != NULL && w->durable_lsn > w->notified_lsn) {
            tidal__wal_notify(w);
            continue;
        }
        if (w->stalled) {
            if (!stalled_turn(w, &close_tried)) {
                break;
            }
            continue;
        }
        if (pending && due) {
            linger(w);
            tidal__wal_sync_round(w);
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
    if (w->driven) {
        w->has_thread = true; /* its turns stand for the thread (wal_turn.c) */
        return 0;
    }
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
    if (w->driven) {
        return true; /* the wake asks the driver for a turn if none is asked */
    }
    if (w->lingering) {
        return w->next_lsn - 1 - w->written_lsn >= w->linger_want;
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
    uint64_t at;

    if (!w->driven) {
        pthread_cond_signal(&w->work_cv);
        return;
    }
    pthread_mutex_lock(&w->lock);
    bool ask = tidal__wal_turn_want(w, &at);
    pthread_mutex_unlock(&w->lock);
    if (ask) {
        tidal__wal_turn_wake(w, at);
    }
}


uint64_t
tidal_wal_next_lsn(tidal_wal *w)
{
    uint64_t lsn;

    pthread_mutex_lock(&w->lock);
    lsn = w->next_lsn;
    pthread_mutex_unlock(&w->lock);
    return lsn;
}

void
tidal_wal_stats_get(tidal_wal *w, tidal_wal_stats *out)
{
    pthread_mutex_lock(&w->lock);
    *out = w->stats;
    out->refusing = w->stalled;
    out->at_risk_first = w->stalled ? w->risk_first : 0;
    out->at_risk_last = w->stalled ? w->risk_last : 0;
    pthread_mutex_unlock(&w->lock);
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
    uint64_t end;
    int rc = 0;

    pthread_mutex_lock(&w->lock);
    if (lsn <= w->durable_lsn) {
        pthread_mutex_unlock(&w->lock);
        return 0;
    }
    end = tidal__wal_deadline_ns(w, timeout_ms);
    w->waiters++;
    while (w->durable_lsn < lsn) {
        if (w->failed != 0) {
            rc = w->failed;
            break;
        }
        if (tidal__wal_wait(w, &w->durable_cv, end) == TIDAL_ETIMEDOUT) {
            rc = w->durable_lsn >= lsn ? 0 : TIDAL_ETIMEDOUT;
            break;
        }
    }
    w->waiters--;
    pthread_mutex_unlock(&w->lock);
    return rc;
}
