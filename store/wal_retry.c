/*
 * A log the disk refused (wal.h, "When the disk refuses").
 *
 * A failed write or sync only notes the failure, under the lock
 * (tidal__wal_fail, wal_segment.c): from then on the log refuses appends.
 * What follows runs here:
 *   tell    the operator log (TIDAL-DISK-ERROR) and on_disk, without the
 *           lock, with the LSNs at risk: those appended and not durable when
 *           the disk failed, which the log keeps in memory (its cache never
 *           evicts a batch before a sync covered it: wal_read.c).  Only then
 *           do their waiters get TIDAL_EIO, so that a region can take what
 *           they wrote out of sight (actors/pending.c) before any writer
 *           hears of the failure;
 *   reset   a retry's first step: the files cut back to where the last good
 *           sync left them - segments created since removed (they held only
 *           batches no sync covered), the newest one's partial bytes cut -
 *           and written_lsn rewound to durable_lsn;
 * then the sync thread writes the tail again and syncs it as in any round
 * (wal_sync.c), and a retry that failed nothing ends the refusal:
 * TIDAL-DISK-RECOVERED, and on_disk again.
 *   probe   a retry with no batch to write again - always under NONE,
 *           whose batches are durable once written, so a refused append
 *           leaves nothing at risk - would prove nothing by a cut alone: it
 *           writes a page of zeroes after the last batch and cuts it off
 *           again.  Only a probe the disk took ends the refusal.
 * NONE has no sync thread: its retry runs on the appender (an append after
 * the spacing below) or in tidal_wal_wait_retry, which waits for that
 * spacing first.
 *
 * Why everything above the last good sync is written again, and not only
 * what the failed call covered: after a failed fdatasync Linux may have
 * dropped the dirty pages and cleared the error, so a later sync that
 * succeeds says nothing about them (PostgreSQL's "fsyncgate", 2018).  The
 * memory copy is the one to trust.  Nothing is renumbered: each batch goes
 * back where its LSN puts it, so the files end as they would have had the
 * disk never refused, and no LSN is skipped (peers apply an origin's LSNs
 * strictly in order: a hole would stall them for good) or given twice.
 *
 * Retries: TIDAL__WAL_RETRY_MS_MIN after the failure, the wait doubling up
 * to TIDAL__WAL_RETRY_MS_MAX while the disk keeps refusing, so a full disk
 * costs a few cut-and-write attempts a second; a refused append or
 * tidal_wal_wait_retry brings the next one forward, never closer than
 * TIDAL__WAL_RETRY_MS_MIN after the last, so that a writer whose space came
 * back is served at once and a flood of writers does not hammer the disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/time.h"
#include "store/wal_state.h"

uint64_t
tidal__wal_mono_ns(void)
{
    struct timespec now;

    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

int
tidal__wal_append_failed(tidal_wal *w, const char *what)
{
    w->ev_errno = errno;
    w->ev_what = what;
    w->ev_errors++;
    w->ev_due = true;
    w->stats.disk_errors++;
    w->append_fails++;
    return TIDAL_EIO;
}

/* The operator log's line for an event (without the lock).  A refusal is
 * logged when it starts and then at powers of two of its failed retries,
 * refused appends of INTERVAL at powers of two in a row, a
 * recovery always: a full disk must not flood the log, and its end must
 * always be seen. */
static void
log_event(const tidal_wal *w, const tidal_wal_disk_event *ev, const char *what, int e,
          uint64_t stall_fails, uint64_t append_fails)
{
    const char *where = w->dir != NULL ? w->dir : "memory";
    unsigned o = w->opts.origin;
    unsigned s = w->opts.shard;

    if (ev->recovered) {
        tidal__log(TIDAL_EVENT_DISK_RECOVERED, 1,
                   "log of origin %u shard %u in %s: written again; LSNs %llu..%llu durable; "
                   "appends taken again",
                   o, s, where, (unsigned long long)ev->first, (unsigned long long)ev->last);
        return;
    }
    if (ev->refusing && ev->first == 0) {
        /* NONE: a batch takes its LSNs once written whole, the refused one
         * took none, so no LSN can be torn */
        tidal__log(TIDAL_EVENT_DISK_ERROR, stall_fails,
                   "log of origin %u shard %u in %s: %s failed: %s (%llu so far); no LSN at "
                   "risk; appends refused (TIDAL_EIO) until a retry sees the disk take bytes "
                   "again",
                   o, s, where, what, strerror(e), (unsigned long long)stall_fails);
        return;
    }
    if (ev->refusing) {
        tidal__log(TIDAL_EVENT_DISK_ERROR, stall_fails,
                   "log of origin %u shard %u in %s: %s failed: %s (%llu so far); LSNs "
                   "%llu..%llu at risk, kept in memory; appends refused (TIDAL_EIO) until they "
                   "are written again",
                   o, s, where, what, strerror(e), (unsigned long long)stall_fails,
                   (unsigned long long)ev->first, (unsigned long long)ev->last);
        return;
    }
    tidal__log(TIDAL_EVENT_DISK_ERROR, append_fails,
               "log of origin %u shard %u in %s: %s failed: %s (%llu in a row); nothing at risk, "
               "the next append tries again",
               o, s, where, what, strerror(e), (unsigned long long)append_fails);
}

void
tidal__wal_tell(tidal_wal *w)
{
    tidal_wal_disk_event ev = {.errors = w->ev_errors, .refusing = w->stalled,
                               .recovered = w->ev_recovered, .first = w->risk_first,
                               .last = w->risk_last};
    const char *what = w->ev_what != NULL ? w->ev_what : "write";
    int e = w->ev_errno;
    uint64_t stall_fails = w->stall_fails;
    uint64_t append_fails = w->append_fails;

    if (w->stalled && w->retry_at_ns == 0) {
        /* the first retry of this refusal */
        w->retry_ms = TIDAL__WAL_RETRY_MS_MIN;
        w->retry_at_ns = tidal__wal_now_ns(w) + TIDAL__WAL_RETRY_MS_MIN * 1000000ull;
    }
    if (ev.recovered && !w->stalled) {
        w->risk_first = w->risk_last = 0;
    }
    w->ev_due = false;
    w->ev_errors = 0;
    w->ev_recovered = false;
    pthread_mutex_unlock(&w->lock);
    if (ev.errors > 0 || ev.recovered) {
        log_event(w, &ev, what, e, stall_fails, append_fails);
    }
    if (w->opts.on_disk != NULL) {
        w->opts.on_disk(w->opts.on_disk_arg, &ev);
    }
    pthread_mutex_lock(&w->lock);
    if (w->stalled) {
        /* after on_disk: a waiter that hears of the failure finds what its
         * batch did already out of sight */
        w->failed = TIDAL_EIO;
        pthread_cond_broadcast(&w->durable_cv);
    }
}

int
tidal__wal_reset_tail(tidal_wal *w)
{
    const struct tidal__wal_cache *c = &w->cache;
    char name[TIDAL__WAL_SEG_NAME_BYTES];
    size_t k = w->nsegs;

    while (k > 0 && w->segs[k - 1].first_lsn != w->synced_seg) {
        k--;
    }
    /* every batch above durable_lsn must still be in memory (wal_read.c
     * keeps it so), or there is nothing to write it again from */
    bool kept = w->next_lsn - 1 == w->durable_lsn ||
                (c->n > 0 && tidal__wal_cache_at(c, 0)->first_lsn <= w->durable_lsn + 1);
    if (k == 0 || !kept) {
        w->for_good = true;
        errno = ENOENT;
        return tidal__wal_fail(w, "finding the tail to write again");
    }
    k--;
    /* the fds rolled away from since the last good sync hold nothing it
     * covered: closed unsynced, their files go below or are cut */
    tidal__wal_seg_close_retired(w);
    if (k + 1 < w->nsegs || w->fd < 0) {
        if (w->fd >= 0) {
            tidal__io_close(w, w->fd);
            w->fd = -1;
        }
        while (w->nsegs > k + 1) {
            tidal__wal_seg_name(name, w->opts.origin, w->segs[w->nsegs - 1].first_lsn);
            if (tidal__io_unlinkat(w, w->dirfd, name) != 0 && errno != ENOENT) {
                return tidal__wal_fail(w, "removing a segment to write it again");
            }
            w->nsegs--;
        }
        w->stats.segments_live = w->nsegs;
        tidal__wal_seg_name(name, w->opts.origin, w->segs[k].first_lsn);
        int fd = tidal__io_openat(w, w->dirfd, name, O_RDWR | O_CLOEXEC, 0);
        if (fd < 0) {
            return tidal__wal_fail(w, "opening a segment to write it again");
        }
        w->fd = fd;
    }
    if (tidal__io_ftruncate(w, w->fd, w->synced_size) != 0) {
        return tidal__wal_fail(w, "cutting a segment back");
    }
    /* the removed names must be gone for good before anything written
     * again counts as durable: the next round fsyncs the directory */
    w->dir_unsynced = w->sync_fds;
    w->segs[k].size = w->synced_size;
    w->written_lsn = w->durable_lsn;
    w->queued_bytes = 0;
    for (size_t i = 0; i < c->n; i++) {
        const struct tidal__wal_entry *e = tidal__wal_cache_at(c, i);
        if (e->first_lsn > w->durable_lsn) {
            w->queued_bytes += e->len;
        }
    }
    return 0;
}

int
tidal__wal_probe(tidal_wal *w)
{
    static const uint8_t zeroes[TIDAL__WAL_PROBE_BYTES];
    uint64_t at = w->synced_size;

    if (w->fd < 0) {
        errno = EBADF;
        return tidal__wal_fail(w, "probing the disk");
    }
    int err = tidal__wal_pwrite_all(w, w->fd, zeroes, sizeof(zeroes), at);
    /* cut whether or not it was all taken: the file ends with whole batches */
    if (tidal__io_ftruncate(w, w->fd, at) != 0) {
        return tidal__wal_fail(w, "cutting the probe off");
    }
    if (err != 0) {
        errno = err;
        return tidal__wal_fail(w, "probing the disk");
    }
    return 0;
}

void
tidal__wal_retry_here(tidal_wal *w)
{
    /* a failure keeps the log refusing, and was noted to be told */
    if (!w->for_good && tidal__wal_reset_tail(w) == 0 && tidal__wal_probe(w) == 0) {
        tidal__wal_recovered(w);
    }
    tidal__wal_retried(w);
}

void
tidal__wal_recovered(tidal_wal *w)
{
    w->stalled = false;
    w->failed = 0;
    w->stall_fails = 0;
    w->retry_ms = 0;
    w->retry_at_ns = 0;
    w->stats.disk_recoveries++;
    w->ev_recovered = true;
    w->ev_due = true;
}

void
tidal__wal_retried(tidal_wal *w)
{
    uint64_t now = tidal__wal_now_ns(w);

    w->retry_gen++;
    w->retry_last_ns = now;
    pthread_cond_broadcast(&w->durable_cv); /* tidal_wal_wait_retry */
    if (w->stalled) {
        w->retry_ms = w->retry_ms * 2 < TIDAL__WAL_RETRY_MS_MAX ? w->retry_ms * 2
                                                                : TIDAL__WAL_RETRY_MS_MAX;
        if (w->retry_ms < TIDAL__WAL_RETRY_MS_MIN) {
            w->retry_ms = TIDAL__WAL_RETRY_MS_MIN;
        }
        w->retry_at_ns = now + w->retry_ms * 1000000ull;
    }
}

bool
tidal__wal_retry_soon(tidal_wal *w)
{
    uint64_t soonest = w->retry_last_ns + TIDAL__WAL_RETRY_MS_MIN * 1000000ull;

    if (!w->stalled || w->for_good || !w->has_thread || w->retry_at_ns <= soonest) {
        return false;
    }
    w->retry_at_ns = soonest;
    return true;
}

int
tidal_wal_wait_retry(tidal_wal *w, uint32_t timeout_ms)
{
    uint64_t end;
    int rc = 0;

    if (w == NULL) {
        return TIDAL_EINVAL;
    }
    end = tidal__wal_deadline_ns(w, timeout_ms);
    pthread_mutex_lock(&w->lock);
    if (!w->stalled) {
        rc = w->failed != 0 ? w->failed : TIDAL_ESTATE;
        pthread_mutex_unlock(&w->lock);
        return rc;
    }
    if (!w->has_thread) {
        /* NONE: no thread to retry; the caller runs it, once the last one
         * is TIDAL__WAL_RETRY_MS_MIN old (a flood of writers must not
         * hammer a full disk) */
        uint64_t soonest = w->retry_last_ns + TIDAL__WAL_RETRY_MS_MIN * 1000000ull;
        uint64_t until = end;
        bool late = soonest > until;
        until = late ? until : soonest;
        uint64_t gen = w->retry_gen;
        while (w->stalled && !w->for_good && w->retry_gen == gen &&
               tidal__wal_now_ns(w) < until) {
            if (tidal__wal_wait(w, &w->durable_cv, until) == TIDAL_ETIMEDOUT &&
                tidal__wal_now_ns(w) < until) {
                /* a driver that cannot wait on this thread (inside one of
                 * its events): as a deadline that passed */
                late = true;
                break;
            }
        }
        if (late && w->stalled && w->retry_gen == gen) {
            rc = TIDAL_ETIMEDOUT; /* no retry may run before the caller's deadline */
        }
        if (rc == 0 && w->stalled && w->retry_gen == gen) {
            tidal__wal_retry_here(w);
        }
        if (w->ev_due) {
            tidal__wal_tell(w);
        }
        rc = rc == 0 && w->stalled ? TIDAL_EIO : rc;
        pthread_mutex_unlock(&w->lock);
        return rc;
    }
    uint64_t gen = w->retry_gen;
    if (tidal__wal_retry_soon(w)) {
        pthread_cond_signal(&w->work_cv); /* driven: the wait asks for the turn */
    }
    while (w->stalled && !w->for_good && w->retry_gen == gen) {
        if (tidal__wal_wait(w, &w->durable_cv, end) == TIDAL_ETIMEDOUT) {
            rc = TIDAL_ETIMEDOUT;
            break;
        }
    }
    if (rc == 0 && w->stalled) {
        rc = TIDAL_EIO;
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}
