/*
 * Lost segments: recovery's checks of a log's segments against its manifest
 * (wal_manifest.c), and what salvage (tidal_wal_opts.salvage) does instead
 * of refusing.  wal_recover.c scans the segments and calls these at the
 * head of the log, at each segment's start and at its end.
 *
 * What the files alone cannot show and the manifest can:
 *   | found                                     | off             | salvage             |
 *   |-------------------------------------------|-----------------|---------------------|
 *   | the oldest segment it names is missing    | TIDAL_ECORRUPT  | the log starts at   |
 *   |   (the first one found starts later)      |                 |   the first found   |
 *   | the newest segment it names is missing    | TIDAL_ECORRUPT  | SKIP: a hole up to  |
 *   | the newest segment ends below high        | TIDAL_ECORRUPT  |   high, appends go  |
 *   |   (emptied, cut short)                    |                 |   above it; REFILL: |
 *   |                                           |                 |   appends go on     |
 *   |                                           |                 |   after what is left|
 *   | every segment it names is missing         | TIDAL_ECORRUPT  | a new first segment:|
 *   |                                           |                 |   SKIP above high,  |
 *   |                                           |                 |   REFILL at oldest  |
 *   | the manifest is unreadable (bad bytes)    | TIDAL_ECORRUPT  | set aside: the log  |
 *   |                                           |                 |   opens unchecked   |
 *   | the manifest has another version          | TIDAL_EVERSION  | TIDAL_EVERSION      |
 * and, with or without a manifest (C1 of wal_recover.c):
 *   | a gap between segments, not a hole        | TIDAL_ECORRUPT  | recorded as a hole  |
 * A hole is a range of LSNs lost to a salvage, kept in the manifest:
 * recovery accepts it as a gap from then on, and tidal_wal_read skips it.
 * Whatever is lost is reported (rep->lost_*, rep->lost).  Why SKIP goes
 * above high: the origin's own log may have shipped the lost LSNs to its
 * peers, which would drop a new write given one of them as a duplicate.
 * Why REFILL does not: a copy of a peer's log must continue that log, and
 * the peer sends the lost tail again from the end of the copy.
 *
 * A log without a manifest (new, or made by a tidal before manifests) has
 * only C1 to go by; it gains a manifest when recovery is done.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "store/wal_state.h"

/* Records in rep->error "<segment> offset <at> (LSN <expected>): <why>", or
 * "<segment>: <why>" for at UINT64_MAX (a file that is not there), and
 * returns code. */
int
tidal__wal_refuse(struct tidal__wal_rec *r, const char *seg, uint64_t at, int code, const char *fmt,
                  ...)
{
    char why[192];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (at == UINT64_MAX) {
        snprintf(r->rep->error, sizeof(r->rep->error), "%s/%s: %s", r->w->shard_rel, seg, why);
    } else {
        snprintf(r->rep->error, sizeof(r->rep->error),
                 "%s/%s offset %" PRIu64 " (LSN %" PRIu64 "): %s", r->w->shard_rel, seg, at,
                 r->expected, why);
    }
    return code;
}

/* Salvage: records LSNs first..last (none if first > last) as lost, and
 * what (the file and why) in rep->lost. */
__attribute__((format(printf, 4, 5))) static void
lose(struct tidal__wal_rec *r, uint64_t first, uint64_t last, const char *fmt, ...)
{
    tidal_wal_recovery *rep = r->rep;
    size_t used = strlen(rep->lost);
    char what[192];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (first <= last) {
        uint64_t n = last - first + 1;
        /* LSNs an earlier salvage gave up are not lost again */
        for (uint32_t i = 0; i < r->w->man.nholes; i++) {
            const struct tidal__wal_hole *h = &r->w->man.holes[i];
            uint64_t lo = h->first > first ? h->first : first;
            uint64_t hi = h->last < last ? h->last : last;
            n -= lo <= hi ? hi - lo + 1 : 0;
        }
        rep->lost_first = rep->lost_lsns == 0 || first < rep->lost_first ? first : rep->lost_first;
        rep->lost_last = last > rep->lost_last ? last : rep->lost_last;
        rep->lost_lsns += n;
        snprintf(rep->lost + used, sizeof(rep->lost) - used,
                 "%sLSNs %" PRIu64 "..%" PRIu64 " lost: %s/%s", used > 0 ? "; " : "", first, last,
                 r->w->shard_rel, what);
    } else {
        snprintf(rep->lost + used, sizeof(rep->lost) - used, "%s%s/%s", used > 0 ? "; " : "",
                 r->w->shard_rel, what);
    }
}

/* Writes the name of w's segment starting at lsn into out; returns out. */
static const char *
seg_of(const tidal_wal *w, uint64_t lsn, char out[TIDAL__WAL_SEG_NAME_BYTES])
{
    tidal__wal_seg_name(out, w->opts.origin, lsn);
    return out;
}

/* C1 for segment i (named seg): it starts at r->expected, or after holes
 * a salvage recorded there.  A gap (LSNs in no segment) refuses the open,
 * or, under salvage, becomes a hole. */
int
tidal__wal_lost_gap(struct tidal__wal_rec *r, size_t i, const char *seg)
{
    tidal_wal *w = r->w;
    uint64_t first = w->segs[i].first_lsn;
    const struct tidal__wal_hole *h;
    char missing[TIDAL__WAL_SEG_NAME_BYTES];

    while (first > r->expected && (h = tidal__wal_hole_at(&w->man, r->expected)) != NULL) {
        r->expected = h->last + 1; /* lost to an earlier salvage, knowingly */
    }
    if (first == r->expected) {
        return 0;
    }
    if (first < r->expected) {
        return tidal__wal_refuse(r, seg, 0, TIDAL_ECORRUPT,
                                 "segment starts at LSN %" PRIu64 ", inside the one before it",
                                 first);
    }
    seg_of(w, r->expected, missing);
    if (w->opts.salvage == TIDAL_WAL_SALVAGE_OFF) {
        return tidal__wal_refuse(r, seg, 0, TIDAL_ECORRUPT,
                                 "a gap: LSNs %" PRIu64 "..%" PRIu64
                                 " are in no segment (%s is missing, "
                                 "or the segment before it was cut short)",
                                 r->expected, first - 1, missing);
    }
    lose(r, r->expected, first - 1, "%s missing, or the segment before it cut short", missing);
    if (tidal__wal_manifest_add_hole(&w->man, r->expected, first - 1) != 0) {
        return tidal__wal_refuse(r, seg, 0, TIDAL_ELIMIT, "a gap, and %u holes are kept already",
                                 TIDAL__WAL_HOLES_MAX);
    }
    r->expected = first;
    return 0;
}

/* Reads the manifest into r->m.  A corrupt one refuses the open, or under
 * salvage is set aside (then nothing can be checked against it); a version
 * this tidal does not read is refused even under salvage: it may say what
 * this one cannot see. */
int
tidal__wal_lost_manifest(struct tidal__wal_rec *r)
{
    char name[TIDAL__WAL_MANIFEST_NAME_BYTES];
    char why[160];
    int rc = tidal__wal_manifest_load(r->w, &r->m, &r->have_m, why, sizeof(why));

    tidal__wal_manifest_name(name, r->w->opts.origin);
    if (rc == TIDAL_ECORRUPT && r->w->opts.salvage != TIDAL_WAL_SALVAGE_OFF) {
        r->have_m = false;
        lose(r, 1, 0, "%s: %s: set aside, so no lost segment could be told", name, why);
        return 0;
    }
    if (rc != 0) {
        return tidal__wal_refuse(r, name, UINT64_MAX, rc, "%s", why);
    }
    if (r->have_m) {
        r->w->man = r->m;
        tidal__wal_manifest_trim(&r->w->man);
        r->w->man_stored = r->m; /* an open that changes nothing rewrites nothing */
        r->w->man_on_disk = true;
    }
    return 0;
}

/* Every segment the manifest names is gone.  Refused, or under salvage the
 * log starts again: above every LSN it knew of (SKIP), or where it started
 * (REFILL). */
int
tidal__wal_lost_all(struct tidal__wal_rec *r)
{
    tidal_wal *w = r->w;
    char seg[TIDAL__WAL_SEG_NAME_BYTES];
    uint64_t next;

    seg_of(w, r->m.newest, seg);
    if (w->opts.salvage == TIDAL_WAL_SALVAGE_OFF) {
        return tidal__wal_refuse(r, seg, UINT64_MAX, TIDAL_ECORRUPT,
                                 "missing, with every other segment of the log (the manifest says "
                                 "segments from LSN %" PRIu64 ", LSNs up to %" PRIu64 " durable)",
                                 r->m.oldest, r->m.high);
    }
    lose(r, r->m.oldest, r->m.high, "%s missing, the newest, with every other segment", seg);
    next = w->opts.salvage == TIDAL_WAL_SALVAGE_SKIP ? r->m.high + 1 : r->m.oldest;
    w->man.nholes = 0;
    w->written_lsn = next - 1;
    return tidal__wal_seg_create(w);
}

/* With a manifest: the oldest segment it names is there (or an older one,
 * whose removal failed).  Refused, or under salvage the log starts later. */
int
tidal__wal_lost_head(struct tidal__wal_rec *r)
{
    tidal_wal *w = r->w;
    uint64_t first = w->segs[0].first_lsn;
    char seg[TIDAL__WAL_SEG_NAME_BYTES];

    if (!r->have_m || first <= r->m.oldest) {
        return 0;
    }
    seg_of(w, r->m.oldest, seg);
    if (w->opts.salvage == TIDAL_WAL_SALVAGE_OFF) {
        return tidal__wal_refuse(r, seg, UINT64_MAX, TIDAL_ECORRUPT,
                                 "missing: the manifest says the log starts there, at LSN %" PRIu64
                                 "; its oldest segment now starts at LSN %" PRIu64,
                                 r->m.oldest, first);
    }
    lose(r, r->m.oldest, first - 1,
         "%s missing, the oldest segment (the log now starts at LSN %" PRIu64 ")", seg, first);
    return 0;
}

/* With a manifest: the newest segment it names is there and holds every LSN
 * it says was durable.  Refused, or under salvage: SKIP leaves the lost
 * LSNs as a hole and continues in a new segment above them; REFILL goes on
 * after what is left (and finish drops the holes above it). */
int
tidal__wal_lost_tail(struct tidal__wal_rec *r)
{
    tidal_wal *w = r->w;
    struct tidal__wal_seg *last = &w->segs[w->nsegs - 1];
    uint64_t end = r->expected - 1;
    const struct tidal__wal_hole *h;
    char seg[TIDAL__WAL_SEG_NAME_BYTES];
    char newest[TIDAL__WAL_SEG_NAME_BYTES];

    if (!r->have_m || (last->first_lsn >= r->m.newest && end >= r->m.high)) {
        return 0;
    }
    seg_of(w, last->first_lsn, seg);
    seg_of(w, r->m.newest, newest);
    if (w->opts.salvage == TIDAL_WAL_SALVAGE_OFF) {
        if (last->first_lsn < r->m.newest) {
            return tidal__wal_refuse(
                r, newest, UINT64_MAX, TIDAL_ECORRUPT,
                "missing: the manifest names it the newest segment, LSNs up to %" PRIu64
                " durable; the log now ends at LSN %" PRIu64 " in %s",
                r->m.high, end, seg);
        }
        return tidal__wal_refuse(
            r, seg, last->size, TIDAL_ECORRUPT,
            "ends at LSN %" PRIu64 " (%" PRIu64 " bytes), but the manifest says "
            "LSNs up to %" PRIu64 " were durable: the segment was emptied or cut short",
            end, last->size, r->m.high);
    }
    if (w->opts.salvage == TIDAL_WAL_SALVAGE_SKIP) {
        /* a hole after the last segment left: lost before, and known */
        while ((h = tidal__wal_hole_at(&w->man, end + 1)) != NULL) {
            end = h->last;
        }
    }
    if (last->first_lsn < r->m.newest) {
        lose(r, end + 1, r->m.high, "%s missing, the newest segment", newest);
    } else {
        lose(r, end + 1, r->m.high, "%s emptied or cut short at %" PRIu64 " bytes", seg,
             last->size);
    }
    uint64_t top = end > r->m.high ? end : r->m.high;
    if (w->opts.salvage != TIDAL_WAL_SALVAGE_SKIP || top == r->expected - 1) {
        return 0;
    }
    if (end < r->m.high && tidal__wal_manifest_add_hole(&w->man, end + 1, r->m.high) != 0) {
        return tidal__wal_refuse(r, seg, UINT64_MAX, TIDAL_ELIMIT, "%u holes are kept already",
                                 TIDAL__WAL_HOLES_MAX);
    }
    /* the next LSN is not the one after the last segment's last batch:
     * a new segment, whose name says where the log goes on */
    tidal__io_close(w, w->fd);
    w->fd = -1;
    r->expected = top + 1;
    w->written_lsn = top;
    return tidal__wal_seg_create(w);
}

/* ---- holes made on purpose: tidal_wal_skip_to (wal.h) ---- */

int
tidal_wal_skip_to(tidal_wal *w, uint64_t lsn)
{
    struct tidal__wal_manifest m;
    bool unlinked = true;
    int rc = 0;

    if (w == NULL || lsn == UINT64_MAX) {
        return TIDAL_EINVAL;
    }
    pthread_mutex_lock(&w->lock);
    if (lsn < w->next_lsn) {
        pthread_mutex_unlock(&w->lock);
        return 0;
    }
    if (w->dir == NULL) {
        rc = TIDAL_EINVAL;
    } else if (w->failed != 0 || w->stalled) {
        rc = TIDAL_EIO;
    } else if (w->durable_lsn != w->next_lsn - 1 || w->written_lsn != w->next_lsn - 1) {
        /* a sync round may be writing or syncing the live segment now: the
         * segment cannot be left under it */
        rc = TIDAL_ESTATE;
    }
    /* an empty live segment (a salvage's, just made) holds nothing: it
     * goes, so that no segment starts inside the hole; if it was the only
     * one, the log starts above the hole instead of keeping one */
    struct tidal__wal_seg cur = w->nsegs > 0 ? w->segs[w->nsegs - 1] : (struct tidal__wal_seg){0};
    bool drop = rc == 0 && cur.size == 0 && cur.first_lsn == w->next_lsn;
    bool only = drop && w->nsegs == 1;
    m = w->man;
    if (rc == 0 && !only && tidal__wal_manifest_add_hole(&m, w->next_lsn, lsn) != 0) {
        rc = TIDAL_ELIMIT;
    }
    if (rc == 0) {
        /* a hole lies between segments (the manifest's rule): the log goes
         * on in a new one, whose name says where */
        int old = w->fd;
        uint64_t written = w->written_lsn;
        w->written_lsn = lsn;
        rc = tidal__wal_seg_create(w);
        if (rc != 0) {
            w->written_lsn = written;
            w->fd = old;
        } else {
            if (drop) {
                char name[TIDAL__WAL_SEG_NAME_BYTES];
                tidal__io_close(w, old);
                tidal__wal_seg_name(name, w->opts.origin, cur.first_lsn);
                if (tidal__io_unlinkat(w, w->dirfd, name) != 0) {
                    unlinked = false;
                }
                w->segs[w->nsegs - 2] = w->segs[w->nsegs - 1];
                w->nsegs--;
                w->stats.segments_live = w->nsegs;
            } else {
                /* everything in it is durable (checked above): the sync
                 * thread's next round, if any, syncs and closes it */
                tidal__wal_seg_retire(w, old);
            }
            if (only) {
                w->oldest_lsn = lsn + 1;
                m.oldest = lsn + 1;
                tidal__wal_manifest_trim(&m);
            }
            m.newest = lsn + 1;
            m.high = lsn > m.high ? lsn : m.high; /* a later salvage goes above it */
            w->man = m;
            w->next_lsn = lsn + 1;
            /* nothing in the hole is to wait for, nor to report durable */
            w->durable_lsn = lsn;
            w->notified_lsn = lsn;
            w->synced_seg = lsn + 1; /* a retry cuts back no further */
            w->synced_size = 0;
        }
    }
    pthread_mutex_unlock(&w->lock);
    if (rc == 0 && tidal__wal_manifest_store(w) != 0) {
        rc = TIDAL_EIO; /* w->man keeps the hole: the next store writes it */
    }
    if (rc == 0 && !unlinked) {
        rc = TIDAL_EIO; /* an empty segment is left inside the hole: a reopen refuses it */
    }
    return rc;
}

int
tidal_wal_hole_after(tidal_wal *w, uint64_t lsn, uint64_t *first, uint64_t *last)
{
    int rc = TIDAL_ENOENT;

    if (w == NULL || first == NULL || last == NULL) {
        return TIDAL_EINVAL;
    }
    pthread_mutex_lock(&w->lock);
    for (uint32_t i = 0; i < w->man.nholes; i++) {
        if (w->man.holes[i].last > lsn) {
            *first = w->man.holes[i].first;
            *last = w->man.holes[i].last;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}
