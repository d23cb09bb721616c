/*
 * Reading the log back: the in-memory cache of recent batches,
 * tidal_wal_read, tidal_wal_release, and waiting for room in an ephemeral
 * log (tidal_wal_wait_room).
 *
 * The cache keeps the newest batches, whole and verbatim, up to memory_bytes
 * (an ephemeral log keeps every batch until it is released, and its append
 * refuses to pass the bound: EFULL; a release wakes those waiting for
 * room).  A reader that keeps up (the shipper sending new batches to its
 * peers) finds them there; one that lags reads the segment files.  The cache
 * holds a contiguous range of LSNs ending at next_lsn - 1, and every batch
 * not yet written to the files (write_behind): readers find those there.
 *
 * A reader copies a cached batch out under the lock and calls its callback
 * without it, so a slow callback never holds up appends.  Segment files are
 * read without the lock: a segment's bytes up to the read limit (for the
 * live segment, no further than written_lsn) were written before the limit
 * was taken and never change after (only the last segment's end grows, past
 * the limit), and a segment released meanwhile stays readable through an fd
 * opened before its unlink.
 *
 * What is readable: LSNs from oldest_lsn (the first LSN of the oldest
 * segment kept, or of the oldest cached batch of an ephemeral log) to the
 * limit taken when tidal_wal_read starts, but the holes a salvage left
 * (w->man.holes, wal_lost.c): a read steps over them, so the batches it
 * delivers may jump there.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "base/time.h"
#include "store/wal_state.h"

#define cache_at tidal__wal_cache_at

static void
cache_drop_oldest(struct tidal__wal_cache *c)
{
    struct tidal__wal_entry *e = cache_at(c, 0);

    c->bytes -= e->len;
    c->head = (c->head + 1) & (c->cap - 1);
    c->n--;
    free(e);
}

int
tidal__wal_cache_reserve(tidal_wal *w)
{
    struct tidal__wal_cache *c = &w->cache;
    struct tidal__wal_entry **ring;
    size_t cap;

    if (c->n < c->cap) {
        return 0;
    }
    cap = c->cap != 0 ? c->cap * 2 : 64;
    ring = malloc(cap * sizeof(*ring));
    if (ring == NULL) {
        return TIDAL_ENOMEM;
    }
    for (size_t i = 0; i < c->n; i++) {
        ring[i] = cache_at(c, i);
    }
    free(c->ring);
    c->ring = ring;
    c->cap = cap;
    c->head = 0;
    return 0;
}

void
tidal__wal_cache_put(tidal_wal *w, struct tidal__wal_entry *e)
{
    struct tidal__wal_cache *c = &w->cache;

    TIDAL_ASSERT(c->n < c->cap);
    c->ring[(c->head + c->n) & (c->cap - 1)] = e;
    c->n++;
    c->bytes += e->len;
    tidal__wal_cache_trim(w);
}

void
tidal__wal_cache_trim(tidal_wal *w)
{
    struct tidal__wal_cache *c = &w->cache;

    /* Dropping from the oldest keeps the cache a range ending at
     * next_lsn - 1 (empty, once a batch bigger than the bound is durable).
     * Not durable is not droppable: a retry writes it again from here
     * after the disk refused it (wal_retry.c). */
    while (w->dir != NULL && c->n > 0 && c->bytes > w->opts.memory_bytes &&
           cache_at(c, 0)->first_lsn + cache_at(c, 0)->count - 1 <= w->durable_lsn) {
        cache_drop_oldest(c);
    }
}

void
tidal__wal_cache_free(struct tidal__wal_cache *c)
{
    while (c->n > 0) {
        cache_drop_oldest(c);
    }
    free(c->ring);
    memset(c, 0, sizeof(*c));
}

/* The cached batch holding lsn, or NULL.  Under lock. */
static const struct tidal__wal_entry *
cache_find(const struct tidal__wal_cache *c, uint64_t lsn)
{
    size_t lo = 0;
    size_t hi = c->n;

    if (c->n == 0 || lsn < cache_at(c, 0)->first_lsn) {
        return NULL;
    }
    /* Batches hold at least one LSN each, so the one holding lsn is at most
     * lsn - first LSN entries in: with one-record batches (the common case)
     * exactly there, found without a search - a search of a full cache
     * walks twenty entries scattered over memory. */
    uint64_t most = lsn - cache_at(c, 0)->first_lsn;
    if (most < c->n) {
        const struct tidal__wal_entry *e = cache_at(c, (size_t)most);
        if (lsn - e->first_lsn < e->count) {
            return e;
        }
        hi = (size_t)most + 1;
    }
    /* The last batch whose first LSN is <= lsn. */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (cache_at(c, mid)->first_lsn <= lsn) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    const struct tidal__wal_entry *e = cache_at(c, lo);
    return lsn - e->first_lsn < e->count ? e : NULL;
}

/* Where a read stands. */
struct reader {
    tidal_wal *w;
    uint64_t lsn;   /* the next LSN to deliver */
    uint64_t limit; /* deliver batches starting at or below this */
    int (*fn)(void *arg, const uint8_t *batch, size_t len);
    void *arg;
    uint8_t *copy; /* a cached batch copied out of the lock: small, or grown */
    size_t copy_cap;
    uint8_t small[512]; /* most batches fit: no allocation per read */
};

/* Delivers batches of the segment starting at first (ending before end),
 * from r->lsn on, verifying each as recovery does.  Without the lock.
 * Returns fn's non-zero value, TIDAL_ENOENT if the file was released, the
 * decoder's code or TIDAL_ECORRUPT if the file disagrees, or TIDAL_EIO /
 * TIDAL_ENOMEM; r->lsn is past the last batch delivered. */
static int
read_segment(struct reader *r, uint64_t first, uint64_t end, uint64_t upto)
{
    char name[TIDAL__WAL_SEG_NAME_BYTES];
    struct tidal__wal_scan s;
    uint64_t expected = first;
    int fd;
    int rc;

    tidal__wal_seg_name(name, r->w->opts.origin, first);
    fd = openat(r->w->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? TIDAL_ENOENT : TIDAL_EIO;
    }
    rc = tidal__wal_scan_init(&s, fd);
    if (rc != 0) {
        goto fail_fd;
    }
    while (expected <= upto) {
        const uint8_t *b;
        tidal_batch_header h;
        uint64_t at;
        size_t len;

        rc = tidal__wal_scan_next(&s, &b, &len, &h, &at, NULL, 0);
        if (rc == 1) {
            /* The file ended before the limit and before the next segment:
             * bytes that were there at open are gone. */
            rc = expected < end ? TIDAL_ECORRUPT : 0;
            break;
        }
        if (rc != 0) {
            break;
        }
        if (h.first_lsn != expected || h.origin != r->w->opts.origin ||
            h.shard != r->w->opts.shard) {
            rc = TIDAL_ECORRUPT;
            break;
        }
        expected += h.count;
        if (expected <= r->lsn) {
            continue;
        }
        rc = r->fn(r->arg, b, len);
        r->lsn = expected;
        if (rc != 0) {
            break;
        }
    }
    tidal__wal_scan_fini(&s);
fail_fd:
    close(fd);
    return rc;
}

/* One step of a read: delivers the cached batch holding r->lsn, or reads the
 * segment holding it.  Takes and drops the lock.  Errors as read_segment,
 * and TIDAL_ENOENT if r->lsn was released. */
static int
read_step(struct reader *r)
{
    tidal_wal *w = r->w;
    const struct tidal__wal_entry *e;
    uint64_t first;
    uint64_t end = UINT64_MAX;
    uint64_t upto = r->limit;
    size_t i;

    pthread_mutex_lock(&w->lock);
    if (r->lsn < w->oldest_lsn) {
        pthread_mutex_unlock(&w->lock);
        return TIDAL_ENOENT;
    }
    const struct tidal__wal_hole *h = tidal__wal_hole_at(&w->man, r->lsn);
    if (h != NULL) {
        r->lsn = h->last + 1; /* lost to a salvage: in no segment */
        pthread_mutex_unlock(&w->lock);
        return 0;
    }
    e = cache_find(&w->cache, r->lsn);
    if (e != NULL) {
        size_t len = e->len;
        uint8_t *to = r->small;
        if (len > sizeof(r->small) && len > r->copy_cap) {
            uint8_t *p = realloc(r->copy, len);
            if (p == NULL) {
                pthread_mutex_unlock(&w->lock);
                return TIDAL_ENOMEM;
            }
            r->copy = p;
            r->copy_cap = len;
        }
        if (len > sizeof(r->small)) {
            to = r->copy;
        }
        memcpy(to, e->bytes, len);
        r->lsn = e->first_lsn + e->count;
        pthread_mutex_unlock(&w->lock);
        return r->fn(r->arg, to, len);
    }
    if (w->nsegs == 0) {
        /* Ephemeral: everything from oldest_lsn on is cached. */
        pthread_mutex_unlock(&w->lock);
        return TIDAL_ENOENT;
    }
    i = w->nsegs - 1;
    while (i > 0 && w->segs[i].first_lsn > r->lsn) {
        i--;
    }
    first = w->segs[i].first_lsn;
    if (i + 1 < w->nsegs) {
        end = w->segs[i + 1].first_lsn;
        for (uint32_t k = 0; k < w->man.nholes; k++) {
            if (w->man.holes[k].first > first && w->man.holes[k].first < end) {
                end = w->man.holes[k].first; /* the segment ends where a hole starts */
                break;
            }
        }
    } else if (upto > w->written_lsn) {
        upto = w->written_lsn; /* the rest is cached, not yet in the file */
    }
    pthread_mutex_unlock(&w->lock);
    return read_segment(r, first, end, upto);
}

int
tidal_wal_read(tidal_wal *w, uint64_t from_lsn, bool include_volatile,
               int (*fn)(void *arg, const uint8_t *batch, size_t len), void *arg)
{
    struct reader r = {.w = w, .lsn = from_lsn, .fn = fn, .arg = arg};
    int rc = 0;

    if (w == NULL || fn == NULL) {
        return TIDAL_EINVAL;
    }
    pthread_mutex_lock(&w->lock);
    if (r.lsn == 0) {
        r.lsn = w->oldest_lsn; /* whatever the log still holds */
    }
    r.limit = include_volatile ? w->next_lsn - 1 : w->durable_lsn;
    if (r.lsn < w->oldest_lsn) {
        rc = TIDAL_ENOENT;
    }
    pthread_mutex_unlock(&w->lock);
    while (rc == 0 && r.lsn <= r.limit) {
        uint64_t before = r.lsn;
        rc = read_step(&r);
        if (rc == 0 && r.lsn == before) {
            rc = TIDAL_ECORRUPT; /* no progress: the files disagree with the index */
        }
    }
    free(r.copy);
    return rc;
}

uint32_t
tidal_wal_release(tidal_wal *w, uint64_t lsn)
{
    char name[TIDAL__WAL_SEG_NAME_BYTES];
    uint64_t *gone;
    size_t k = 0;

    if (w == NULL) {
        return 0;
    }
    pthread_mutex_lock(&w->lock);
    /* Segment i holds LSNs below segs[i + 1].first_lsn; the last is live. */
    while (k + 1 < w->nsegs && w->segs[k + 1].first_lsn <= lsn) {
        k++;
    }
    gone = k > 0 ? malloc(k * sizeof(*gone)) : NULL;
    if (gone == NULL) {
        k = 0; /* nothing removed: harmless, the next release retries */
    }
    for (size_t i = 0; i < k; i++) {
        gone[i] = w->segs[i].first_lsn;
    }
    if (k > 0) {
        memmove(w->segs, w->segs + k, (w->nsegs - k) * sizeof(w->segs[0]));
        w->nsegs -= k;
        w->oldest_lsn = w->segs[0].first_lsn;
        w->stats.segments_live = w->nsegs;
        w->man.oldest = w->oldest_lsn;
        tidal__wal_manifest_trim(&w->man);
    }
    if (w->dir == NULL) {
        /* Ephemeral: drop the cached batches wholly below lsn, and tell
         * whoever waits for room. */
        size_t before = w->cache.n;
        while (w->cache.n > 0 &&
               cache_at(&w->cache, 0)->first_lsn + cache_at(&w->cache, 0)->count <= lsn) {
            cache_drop_oldest(&w->cache);
        }
        w->oldest_lsn = w->cache.n > 0 ? cache_at(&w->cache, 0)->first_lsn : w->next_lsn;
        if (w->cache.n < before) {
            w->refused_full = false;
            if (w->room_waiters > 0) {
                pthread_cond_broadcast(&w->durable_cv);
            }
        }
    }
    while (w->cache.n > 0 && cache_at(&w->cache, 0)->first_lsn < w->oldest_lsn) {
        cache_drop_oldest(&w->cache);
    }
    pthread_mutex_unlock(&w->lock);
    if (k > 0 && tidal__wal_manifest_store(w) != 0) {
        /* The manifest still names them: kept, or the next open would
         * find its oldest segment missing.  They stay out of the index (a
         * segment older than the manifest's oldest is taken as one whose
         * removal failed), and the log refuses appends as after a failed
         * write, until a retry's round stores the manifest (wal_retry.c). */
        uint64_t at;
        pthread_mutex_lock(&w->lock);
        (void)tidal__wal_fail(w, "writing the manifest");
        pthread_cond_signal(&w->work_cv); /* its sync thread tells and retries;
                                             without one, the next append */
        bool ask = tidal__wal_turn_want(w, &at); /* driven: a turn does */
        pthread_mutex_unlock(&w->lock);
        if (ask) {
            tidal__wal_turn_wake(w, at);
        }
        k = 0;
    }
    for (size_t i = 0; i < k; i++) {
        tidal__wal_seg_name(name, w->opts.origin, gone[i]);
        /* Out of the index already: a failed unlink leaves a file that the
         * next open will find and release again. */
        (void)tidal__io_unlinkat(w, w->dirfd, name);
    }
    free(gone);
    return (uint32_t)k;
}

/* Under lock: true if a batch of len bytes does not fit now (ephemeral: the
 * memory bound; SYNC: the queue of unwritten batches). */
static bool
no_room(const tidal_wal *w, size_t len)
{
    if (w->dir == NULL) {
        return w->cache.bytes + len > w->opts.memory_bytes;
    }
    return tidal__wal_queue_full(w, len);
}

int
tidal_wal_wait_room(tidal_wal *w, size_t len, uint32_t timeout_ms)
{
    uint64_t end;
    bool waited = false;
    int rc = 0;

    if (w == NULL) {
        return TIDAL_EINVAL;
    }
    if (w->dir != NULL && !w->write_behind) {
        return 0;
    }
    if (w->dir == NULL && len > w->opts.memory_bytes) {
        return TIDAL_ETOOBIG;
    }
    end = tidal__wal_deadline_ns(w, timeout_ms);
    pthread_mutex_lock(&w->lock);
    if (timeout_ms == 0) {
        /* a check, not a wait: neither counted nor seen as a want of room */
        rc = no_room(w, len) ? TIDAL_ETIMEDOUT : 0;
        pthread_mutex_unlock(&w->lock);
        return rc;
    }
    w->room_waiters++;
    /* close never runs beside a call: a release (ephemeral), the sync
     * thread's writes (SYNC), a failure or the deadline ends the wait */
    while (no_room(w, len) && w->failed == 0) {
        waited = true;
        if (tidal__wal_wait(w, &w->durable_cv, end) == TIDAL_ETIMEDOUT) {
            rc = no_room(w, len) ? TIDAL_ETIMEDOUT : 0;
            break;
        }
    }
    if (w->failed != 0) {
        rc = w->failed;
    }
    w->room_waiters--;
    if (waited) {
        w->stats.room_waits++;
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

bool
tidal_wal_wants_room(tidal_wal *w)
{
    bool wants;

    pthread_mutex_lock(&w->lock);
    wants = w->dir == NULL && (w->room_waiters > 0 || w->refused_full);
    pthread_mutex_unlock(&w->lock);
    return wants;
}
