/*
 * The write-ahead log: options, open and close.  wal.h is the contract; the
 * append path is wal_append.c, and the other wal_*.c files are listed in
 * wal_state.h with the lock order.
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
void
tidal__wal_store_manifest(tidal_wal *w)
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
            tidal__wal_store_manifest(w);
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
