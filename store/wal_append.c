/*
 * The write-ahead log's append path, the one hot path (wal.h is the
 * contract, wal_state.h lists the other files and the lock order):
 *   outside the lock: check the arguments, allocate the batch's memory copy
 *     and copy the payload into it (the same bytes serve the file, the cache
 *     and readers);
 *   under the lock: take the LSN, encode the header (its CRC covers the
 *     payload), and, but under SYNC, roll over if the segment is full and
 *     write() the whole batch with one pwrite at the segment's end; put it
 *     in the cache, advance next_lsn;
 *   after the lock: wake the sync thread if it sleeps (driven: ask the
 *     driver for a turn, if none is asked for already: wal_clock.c).
 * Under SYNC (write_behind) the sync thread writes instead: each round it
 * writes every batch above written_lsn with one pwritev per segment
 * (tidal__wal_write_pending, wal_sync.c), under the lock, then syncs.  An
 * append is then a copy and a few stores, so one writer with many batches
 * in flight fills a round's window before the round starts (a write() per
 * append left the first few batches of each round alone in it), and the
 * lock (which a region holds under its state lock) is held for no syscall.  A
 * kill -9 loses the batches not yet written, none of them durable, so
 * none acknowledged.  INTERVAL and NONE write on append, as a kill -9
 * must not lose what NONE calls durable.
 * Either way the file is a sequence of whole batches in LSN order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/wal_state.h"

/* A memory copy for a batch of len bytes.  NULL if out of memory. */
static struct tidal__wal_entry *
entry_new(size_t len)
{
    struct tidal__wal_entry *e = malloc(sizeof(*e) + len);

    if (e != NULL) {
        e->len = (uint32_t)len;
    }
    return e;
}

/* Under lock: writes e (header encoded, first_lsn == next_lsn) to the live
 * segment, caches it and advances next_lsn.  *wake says whether to wake the
 * sync thread, *store whether to store the manifest (a roll-over under
 * NONE).  On error nothing is appended and e is still the caller's. */
static int
commit(tidal_wal *w, struct tidal__wal_entry *e, bool *wake, bool *store)
{
    int rc;

    if (w->stalled && !w->has_thread &&
        tidal__wal_now_ns(w) >= w->retry_last_ns + TIDAL__WAL_RETRY_MS_MIN * 1000000ull) {
        tidal__wal_retry_here(w); /* NONE: no thread retries, the appender does */
    }
    if (w->failed != 0 || w->stalled) {
        *wake = tidal__wal_retry_soon(w); /* refused: asks for the retry */
        return TIDAL_EIO;
    }
    if (w->dir == NULL && e->len > w->opts.memory_bytes) {
        return TIDAL_ETOOBIG; /* would never fit, whatever is released */
    }
    if (w->dir == NULL && w->cache.bytes + e->len > w->opts.memory_bytes) {
        w->refused_full = true;
        w->stats.refused_full++;
        return TIDAL_EFULL;
    }
    if (tidal__wal_queue_full(w, e->len)) {
        /* SYNC: the disk is behind by memory_bytes.  Refused, not waited
         * for: an appender may hold its caller's locks (tidal_wal_wait_room
         * waits without them) */
        w->stats.refused_full++;
        return TIDAL_EFULL;
    }
    rc = tidal__wal_cache_reserve(w);
    if (rc != 0) {
        return rc;
    }
    if (w->dir != NULL && !w->write_behind) {
        struct tidal__wal_seg *seg;
        rc = tidal__wal_seg_roll_if_full(w, e->len);
        if (rc != 0) {
            /* nothing written: this append alone is refused */
            if (rc != TIDAL_EIO) {
                return rc;
            }
            return w->sync_fds ? tidal__wal_append_failed(w, "creating a segment")
                               : tidal__wal_fail(w, "creating a segment");
        }
        seg = &w->segs[w->nsegs - 1];
        int err = tidal__wal_pwrite_all(w, w->fd, e->bytes, e->len, seg->size);
        if (err != 0) {
            /* Cut the partial write off so the file stays whole batches.
             * INTERVAL: then only this append is refused, the next one tries
             * the disk again (the interval sync will tell if it is still
             * failing).  NONE: its appends are all it asks of the disk, so
             * the log refuses until a retry saw the disk take bytes again
             * (wal_retry.c).  Until a cut succeeds, nothing more goes in. */
            bool cut = tidal__io_ftruncate(w, w->fd, seg->size) == 0;
            errno = err;
            return cut && w->sync_fds ? tidal__wal_append_failed(w, "write")
                                      : tidal__wal_fail(w, "write");
        }
        seg->size += e->len;
        if (!w->sync_fds) {
            w->synced_seg = seg->first_lsn; /* NONE: written is durable */
            w->synced_size = seg->size;
        }
    }
    w->append_fails = 0;
    w->next_lsn = e->first_lsn + e->count;
    if (!w->write_behind) {
        w->written_lsn = w->next_lsn - 1;
        if (w->man_roll) {
            /* NONE rolled over: written is durable, and the new segment
             * holds this batch; the appender stores it after the lock */
            w->man.newest = w->segs[w->nsegs - 1].first_lsn;
            w->man.high = w->written_lsn;
            *store = true;
        }
    } else {
        w->queued_bytes += e->len;
        if (w->queued_bytes > w->stats.queued_max) {
            w->stats.queued_max = w->queued_bytes;
        }
    }
    w->stats.appends++;
    w->stats.bytes += e->len;
    tidal__wal_cache_put(w, e);
    *wake = tidal__wal_sync_appended(w);
    return 0;
}

/* Under lock, after commit: a failure or recovery the append found is told
 * here if the log has no sync thread (NONE), else by that thread: returns
 * true if it must be woken for it. */
static bool
tell_after_commit(tidal_wal *w)
{
    if (!w->ev_due) {
        return false;
    }
    if (w->has_thread) {
        return true;
    }
    tidal__wal_tell(w);
    return false;
}

/* The end of an append, entered with w->lock held: tells and wakes the
 * sync thread, drops the lock, frees the entry of a commit that failed (rc)
 * and stores the manifest if the commit asked for it (store: the batch is
 * in whatever that stores).  Returns rc. */
static int
after_commit_unlock(tidal_wal *w, struct tidal__wal_entry *e, int rc, bool wake, bool store)
{
    wake = tell_after_commit(w) || wake;
    pthread_mutex_unlock(&w->lock);
    if (wake) {
        tidal__wal_sync_wake(w);
    }
    if (rc != 0) {
        free(e);
        return rc;
    }
    if (store) {
        tidal__wal_store_manifest(w);
    }
    return 0;
}

int
tidal_wal_append(tidal_wal *w, const uint8_t *payload, uint32_t len, uint32_t count,
                 tidal_hlc hlc_min, tidal_hlc hlc_max, uint64_t *first_lsn)
{
    struct tidal__wal_entry *e;
    tidal_batch_header h;
    bool wake = false;
    bool store = false;
    int rc;

    if (w == NULL || first_lsn == NULL || (payload == NULL && len != 0) || count == 0 ||
        tidal_hlc_compare(&hlc_min, &hlc_max) > 0) {
        return TIDAL_EINVAL;
    }
    if (len > TIDAL_BATCH_PAYLOAD_BYTES_MAX || count > TIDAL_BATCH_RECORDS_MAX) {
        return TIDAL_ETOOBIG;
    }
    e = entry_new(TIDAL_BATCH_HEADER_BYTES + (size_t)len);
    if (e == NULL) {
        return TIDAL_ENOMEM;
    }
    if (len != 0) {
        memcpy(e->bytes + TIDAL_BATCH_HEADER_BYTES, payload, len);
    }
    memset(&h, 0, sizeof(h));
    h.origin = w->opts.origin;
    h.shard = w->opts.shard;
    h.count = count;
    h.payload_len = len;
    h.hlc_min = hlc_min;
    h.hlc_max = hlc_max;
    e->count = count;

    pthread_mutex_lock(&w->lock);
    h.first_lsn = w->next_lsn;
    e->first_lsn = h.first_lsn;
    /* Only an LSN overflow can break rule 4 here: the rest was checked. */
    rc = tidal_batch_header_encode(&h, e->bytes + TIDAL_BATCH_HEADER_BYTES, e->bytes);
    if (rc == 0) {
        rc = commit(w, e, &wake, &store);
    }
    rc = after_commit_unlock(w, e, rc, wake, store);
    if (rc == 0) {
        *first_lsn = h.first_lsn;
    }
    return rc;
}

/* Verifies a received batch against rules 1..6 and this log's origin and
 * shard; 0 or the code tidal_wal_append_batch returns. */
static int
check_received(const tidal_wal *w, const uint8_t *batch, size_t len, tidal_batch_header *h)
{
    size_t total;
    int rc = tidal_batch_decode(batch, len, h, &total, NULL, 0);

    if (rc != 0) {
        return rc;
    }
    if (total != len) {
        return TIDAL_ECORRUPT;
    }
    if (h->origin != w->opts.origin || h->shard != w->opts.shard) {
        return TIDAL_EINVAL;
    }
    return 0;
}

int
tidal_wal_append_batch(tidal_wal *w, const uint8_t *batch, size_t len)
{
    struct tidal__wal_entry *e = NULL;
    tidal_batch_header h;
    bool wake = false;
    bool store = false;
    int rc;

    if (w == NULL || batch == NULL) {
        return TIDAL_EINVAL;
    }
    rc = check_received(w, batch, len, &h);
    if (rc == 0) {
        e = entry_new(len);
        if (e == NULL) {
            return TIDAL_ENOMEM;
        }
        memcpy(e->bytes, batch, len);
        e->first_lsn = h.first_lsn;
        e->count = h.count;
    }

    pthread_mutex_lock(&w->lock);
    if (rc == 0) {
        rc = h.first_lsn == w->next_lsn ? commit(w, e, &wake, &store) : TIDAL_ESTATE;
    }
    if (rc != 0 && rc != TIDAL_EIO && rc != TIDAL_ENOMEM && rc != TIDAL_EFULL) {
        w->stats.rejected++;
    }
    return after_commit_unlock(w, e, rc, wake, store);
}

