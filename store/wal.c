/*
 * The write-ahead log: options, open and close, the append path.  wal.h is
 * the contract; the other wal_*.c files are listed in wal_state.h with the
 * lock order.
 *
 * The append path, the one hot path:
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
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/time.h"
#include "store/wal_state.h"

/* Copies *in into *out with defaults applied; TIDAL_EINVAL if a field is out
 * of range (wal.h). */
static int
opts_check(const tidal_wal_opts *in, tidal_wal_opts *out)
{
    *out = *in;
    if (out->durability != TIDAL_DURABILITY_SYNC && out->durability != TIDAL_DURABILITY_INTERVAL &&
        out->durability != TIDAL_DURABILITY_NONE) {
        return TIDAL_EINVAL;
    }
    if (out->interval_ms == 0) {
        out->interval_ms = TIDAL_WAL_INTERVAL_MS_DEFAULT;
    }
    if (out->interval_ms > TIDAL_WAL_INTERVAL_MS_MAX) {
        return TIDAL_EINVAL;
    }
    if (out->segment_bytes == 0) {
        out->segment_bytes = TIDAL_WAL_SEGMENT_BYTES_DEFAULT;
    }
    if (out->segment_bytes < TIDAL_WAL_SEGMENT_BYTES_MIN ||
        out->segment_bytes > TIDAL_WAL_SEGMENT_BYTES_MAX) {
        return TIDAL_EINVAL;
    }
    if (out->memory_bytes == 0) {
        out->memory_bytes = TIDAL_WAL_MEMORY_BYTES_DEFAULT;
    }
    if (out->memory_bytes < TIDAL_WAL_MEMORY_BYTES_MIN ||
        out->memory_bytes > TIDAL_WAL_MEMORY_BYTES_MAX) {
        return TIDAL_EINVAL;
    }
    if (out->dir != NULL && out->dir[0] == '\0') {
        return TIDAL_EINVAL;
    }
    if (out->driver != NULL && (out->driver->wake == NULL || out->driver->block == NULL ||
                                out->driver->now_ms == NULL)) {
        return TIDAL_EINVAL;
    }
    const tidal_wal_io *io = out->io;
    if (io != NULL && (io->openat == NULL || io->close == NULL || io->pwritev == NULL ||
                       io->fdatasync == NULL || io->fsync == NULL || io->ftruncate == NULL ||
                       io->renameat == NULL || io->unlinkat == NULL)) {
        return TIDAL_EINVAL;
    }
    return 0;
}

/* Initialises the lock and the two condvars (on CLOCK_MONOTONIC, so a wall
 * clock step cannot stretch or cut a wait).  TIDAL_ENOMEM; on error nothing
 * is left initialised. */
static int
sync_objects_init(tidal_wal *w)
{
    if (pthread_mutex_init(&w->man_lock, NULL) != 0) {
        return TIDAL_ENOMEM;
    }
    if (pthread_mutex_init(&w->lock, NULL) != 0) {
        goto fail_man_lock;
    }
    if (tidal_cond_init_monotonic(&w->work_cv) != 0) {
        goto fail_mutex;
    }
    if (tidal_cond_init_monotonic(&w->durable_cv) != 0) {
        goto fail_work_cv;
    }
    return 0;

fail_work_cv:
    pthread_cond_destroy(&w->work_cv);
fail_mutex:
    pthread_mutex_destroy(&w->lock);
fail_man_lock:
    pthread_mutex_destroy(&w->man_lock);
    return TIDAL_ENOMEM;
}

static void
sync_objects_fini(tidal_wal *w)
{
    pthread_cond_destroy(&w->durable_cv);
    pthread_cond_destroy(&w->work_cv);
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->man_lock);
}

/* Closes the files and frees what open and appends allocated (not the
 * struct or its sync objects).  Cannot fail. */
static void
release_files(tidal_wal *w)
{
    tidal__wal_seg_close_retired(w);
    if (w->fd >= 0) {
        tidal__io_close(w, w->fd);
    }
    if (w->dirfd >= 0) {
        close(w->dirfd);
    }
    tidal__wal_cache_free(&w->cache);
    free(w->retired);
    free(w->segs);
    free(w->dir);
}

int
tidal_wal_open(const tidal_wal_opts *opts, tidal_wal **out, tidal_wal_recovery *rep)
{
    tidal_wal_recovery scratch;
    tidal_wal *w;
    int rc;

    if (rep == NULL) {
        rep = &scratch;
    }
    memset(rep, 0, sizeof(*rep));
    if (opts == NULL || out == NULL) {
        return TIDAL_EINVAL;
    }
    w = calloc(1, sizeof(*w));
    if (w == NULL) {
        return TIDAL_ENOMEM;
    }
    w->fd = -1;
    w->dirfd = -1;
    w->io = tidal_wal_io_posix;
    rc = opts_check(opts, &w->opts);
    if (rc != 0) {
        snprintf(rep->error, sizeof(rep->error), "invalid options");
        goto fail_alloc;
    }
    if (w->opts.io != NULL) {
        w->io = *w->opts.io;
        w->opts.io = &w->io;
    }
    if (w->opts.driver != NULL) {
        w->driver = *w->opts.driver;
        w->opts.driver = &w->driver;
        w->driven = true;
    }
    snprintf(w->shard_rel, sizeof(w->shard_rel), "wal/shard-%04x", (unsigned)w->opts.shard);
    rc = sync_objects_init(w);
    if (rc != 0) {
        goto fail_alloc;
    }
    w->next_lsn = 1;
    w->oldest_lsn = 1;
    if (w->opts.dir != NULL) {
        w->dir = strdup(w->opts.dir);
        if (w->dir == NULL) {
            rc = TIDAL_ENOMEM;
            goto fail_files;
        }
        w->opts.dir = w->dir;
        w->sync_fds = w->opts.durability != TIDAL_DURABILITY_NONE;
        w->write_behind = w->opts.durability == TIDAL_DURABILITY_SYNC;
        rc = tidal__wal_dir_open(w->dir, w->opts.shard, w->sync_fds, &w->dirfd);
        if (rc != 0) {
            snprintf(rep->error, sizeof(rep->error), "%s: cannot create or open: %s", w->shard_rel,
                     strerror(errno));
            goto fail_files;
        }
        rc = tidal__wal_recover(w, rep);
        if (rc != 0) {
            goto fail_files;
        }
        /* everything recovered is on disk: a retry never cuts below it */
        w->synced_seg = w->segs[w->nsegs - 1].first_lsn;
        w->synced_size = w->segs[w->nsegs - 1].size;
    }
    rep->next_lsn = w->next_lsn;
    if (w->sync_fds || w->opts.on_durable != NULL) {
        rc = tidal__wal_sync_start(w);
        if (rc != 0) {
            goto fail_files;
        }
    }
    *out = w;
    return 0;

fail_files:
    release_files(w);
    sync_objects_fini(w);
fail_alloc:
    free(w);
    return rc;
}

/* Stores the manifest after an append that rolled over under NONE, or at
 * a clean close.  A failure is counted and logged but refuses nothing: the
 * batches are in their segments, and a manifest that lags only knows less
 * (the next roll-over, or close, stores it again; a newest segment it does
 * not name yet opens as a roll-over it missed: wal_lost.c). */
static void
store_manifest(tidal_wal *w)
{
    if (tidal__wal_manifest_store(w) != 0) {
        pthread_mutex_lock(&w->lock);
        (void)tidal__wal_append_failed(w, "writing the manifest");
        w->append_fails = 0; /* not an append's: each is logged */
        w->man_roll = !w->sync_fds; /* NONE: again after the next append */
        bool wake = w->has_thread;
        if (!wake) {
            tidal__wal_tell(w);
        }
        pthread_mutex_unlock(&w->lock);
        if (wake) {
            tidal__wal_sync_wake(w); /* it tells, and retries */
        }
    }
}

/* Closes w; clean: the manifest says where the log ends (wal.h). */
static void
close_log(tidal_wal *w, bool clean)
{
    if (w == NULL) {
        return;
    }
    if (w->driven) {
        tidal__wal_turn_close(w);
    } else {
        tidal__wal_sync_stop(w);
    }
    if (clean && w->dir != NULL) {
        /* After the last sync round: everything up to durable_lsn is on
         * disk, in segments whose names are (under SYNC and INTERVAL).  So
         * a newest segment found emptied or cut below it on the next open
         * lost acknowledged writes. */
        pthread_mutex_lock(&w->lock);
        bool ok = w->failed == 0;
        if (ok) {
            w->man.newest = w->segs[w->nsegs - 1].first_lsn;
            w->man.high = w->durable_lsn > w->man.high ? w->durable_lsn : w->man.high;
        }
        pthread_mutex_unlock(&w->lock);
        if (ok) {
            store_manifest(w);
        }
    }
    release_files(w);
    sync_objects_fini(w);
    free(w);
}

void
tidal_wal_close(tidal_wal *w)
{
    close_log(w, true);
}

void
tidal_wal_abandon(tidal_wal *w)
{
    close_log(w, false);
}

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
        store_manifest(w); /* the batch is in whatever this does */
    }
    *first_lsn = h.first_lsn;
    return 0;
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
        store_manifest(w);
    }
    return 0;
}

