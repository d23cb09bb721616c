/*
 * Recovery: the scan tidal_wal_open runs over a log's segments, and what it
 * decides when the bytes are not a clean sequence of batches.
 *
 * Every segment of the log (its origin's names in the shard directory) is
 * read in LSN order, every batch decoded and CRC-checked (batch.h rules
 * 1..6), and then checked for continuity, which the CRC cannot see (a
 * misplaced but intact batch has a good CRC), as Postgres checks its
 * prev-link:
 *   C1. the first segment's first batch starts at the LSN in its name, and
 *       each later segment's name is the LSN after the previous segment's
 *       last batch;
 *   C2. each batch's first LSN is the previous batch's first LSN + count;
 *   C3. each batch's origin and shard are the ones the file's name and
 *       directory say.
 *
 * Decisions (wal.h has the contract; this is the full table):
 *   | found                                            | decision                   |
 *   |--------------------------------------------------|----------------------------|
 *   | clean end of the last segment                    | ok                         |
 *   | last segment ends inside a batch (torn tail)     | truncate at the batch      |
 *   |   (ETRUNCATED: header or payload cut short)      |   start, report            |
 *   | last segment: a batch fails magic, rule 4 or its | truncate at the batch      |
 *   |   CRC, and no valid batch of this log follows    |   start, report            |
 *   |   (a full-length bad last batch; a zero-filled   |                            |
 *   |   tail left by a power loss)                     |                            |
 *   | same, but a valid batch of this log follows it   | TIDAL_ECORRUPT             |
 *   | any bad batch in a segment that is not the last  | TIDAL_ECORRUPT             |
 *   | version-1 or unknown-version header, anywhere    | TIDAL_EVERSION             |
 *   | C1, C2 or C3 broken by an intact batch           | TIDAL_ECORRUPT             |
 *   | a segment that is not the last is empty          | TIDAL_ECORRUPT (C1 breaks) |
 *   | the last segment is empty                        | ok: appends go into it,    |
 *   |                                                  |   unless the manifest says |
 *   |                                                  |   it held durable LSNs     |
 * and the checks against the manifest (which segments the log had, how far
 * it was durable), with what salvage does instead: wal_lost.c.  A gap of C1
 * a salvage kept (a hole) is no gap.
 * "A valid batch of this log follows" means: at some later offset of the
 * file, bytes decode as a whole batch (CRC included) with this log's origin
 * and shard and a first LSN at or above the bad batch's expected one.  It is
 * what tells a corrupt batch in the middle (whose length field may itself be
 * corrupt, so the end of the file can look like a torn tail) from a torn or
 * garbled tail.  A crash of the process (kill -9) can only leave a prefix of
 * the last write; only a power loss can leave later pages without earlier
 * ones, and then the later batch was never reported durable either: recovery
 * still refuses it (ECORRUPT), because from the bytes alone that looks the
 * same as a corrupt batch in the middle of durable data.
 *
 * Nothing after a truncation point is applied: the file is cut there, the
 * cut fsynced, and appends continue at that offset with the LSN after the
 * last good batch.
 *
 * Once recovered (finish), the live segment is synced if the log now ends
 * past the manifest's highest durable LSN, and the manifest is written if
 * it says something new: the log's first and newest segments, that end, the
 * holes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/wal_state.h"

/* The window find_valid_after reads: any batch starting in its first
 * TIDAL__WAL_READ_BYTES bytes fits whole in it. */
#define WINDOW_BYTES                                                                               \
    (TIDAL__WAL_READ_BYTES + TIDAL_BATCH_HEADER_BYTES + TIDAL_BATCH_PAYLOAD_BYTES_MAX)

/* Reads len bytes at off unless the file ends first.  *got gets the count.
 * 0 or TIDAL_EIO. */
static int
pread_full(int fd, uint8_t *buf, size_t len, uint64_t off, size_t *got)
{
    size_t n = 0;

    while (n < len) {
        ssize_t r = pread(fd, buf + n, len - n, (off_t)(off + n));
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return TIDAL_EIO;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    *got = n;
    return 0;
}

/* True if bytes at buf decode as a whole batch of w's log at or above LSN
 * expected. */
static bool
is_valid_batch_of(const tidal_wal *w, const uint8_t *buf, size_t len, uint64_t expected)
{
    tidal_batch_header h;
    size_t total;

    return tidal_batch_decode(buf, len, &h, &total, NULL, 0) == 0 && h.origin == w->opts.origin &&
           h.shard == w->opts.shard && h.first_lsn >= expected;
}

/* Looks for a valid batch of w's log starting anywhere in (from, size) of
 * the file.  *found gets its offset, or UINT64_MAX if there is none.  0,
 * TIDAL_EIO or TIDAL_ENOMEM. */
static int
find_valid_after(const tidal_wal *w, int fd, uint64_t from, uint64_t size, uint64_t expected,
                 uint64_t *found)
{
    uint8_t *buf = malloc(WINDOW_BYTES);
    uint64_t pos = from + 1;
    int rc = 0;

    if (buf == NULL) {
        return TIDAL_ENOMEM;
    }
    *found = UINT64_MAX;
    while (pos + TIDAL_BATCH_HEADER_BYTES <= size) {
        size_t n;
        size_t scan_end;
        const uint8_t *p = buf;

        rc = pread_full(fd, buf, WINDOW_BYTES, pos, &n);
        if (rc != 0) {
            break;
        }
        /* Unless the window reaches the end of the file, look only at starts
         * whose whole batch is inside it; the next window covers the rest. */
        scan_end = pos + n >= size ? n : TIDAL__WAL_READ_BYTES;
        while ((p = memmem(p, n - (size_t)(p - buf), TIDAL_BATCH_MAGIC, 4)) != NULL &&
               (size_t)(p - buf) < scan_end) {
            if (is_valid_batch_of(w, p, n - (size_t)(p - buf), expected)) {
                *found = pos + (uint64_t)(p - buf);
                goto done;
            }
            p++;
        }
        if (pos + n >= size || n == 0) {
            break;
        }
        pos += TIDAL__WAL_READ_BYTES;
    }
done:
    free(buf);
    return rc;
}

/* C2 and C3 for an intact batch.  NULL if they hold, else why not (in buf). */
static const char *
discontinuity(const struct tidal__wal_rec *r, const tidal_batch_header *h, char *buf, size_t cap)
{
    if (h->origin != r->w->opts.origin) {
        snprintf(buf, cap, "origin: expected %u (file name), got %u", r->w->opts.origin, h->origin);
        return buf;
    }
    if (h->shard != r->w->opts.shard) {
        snprintf(buf, cap, "shard: expected %u (directory), got %u", r->w->opts.shard, h->shard);
        return buf;
    }
    if (h->first_lsn != r->expected) {
        snprintf(buf, cap,
                 "first LSN: expected %" PRIu64 ", got %" PRIu64 " (batches out of sequence)",
                 r->expected, h->first_lsn);
        return buf;
    }
    return NULL;
}

/* A bad batch at `at` in segment seg (its fd and size): decides per the table
 * between truncating (0) and refusing.  code and detail are the decoder's. */
static int
bad_batch(struct tidal__wal_rec *r, const char *seg, int fd, bool last, uint64_t at, uint64_t size,
          int code, const char *detail)
{
    uint64_t follows;
    int rc;

    if (code == TIDAL_EVERSION) {
        return tidal__wal_refuse(r, seg, at, TIDAL_EVERSION, "%s", detail);
    }
    if (!last) {
        return tidal__wal_refuse(r, seg, at, TIDAL_ECORRUPT,
                                 "%s; in a segment that is not the last", detail);
    }
    rc = find_valid_after(r->w, fd, at, size, r->expected, &follows);
    if (rc != 0) {
        return tidal__wal_refuse(r, seg, at, rc, "%s; read failed looking past it", detail);
    }
    if (follows != UINT64_MAX) {
        return tidal__wal_refuse(r, seg, at, TIDAL_ECORRUPT,
                                 "%s; followed by a valid batch at offset %" PRIu64, detail,
                                 follows);
    }
    if (tidal__io_ftruncate(r->w, fd, at) != 0 || tidal__io_fsync(r->w, fd) != 0) {
        return tidal__wal_refuse(r, seg, at, TIDAL_EIO, "%s; truncating failed: %s", detail,
                                 strerror(errno));
    }
    r->w->stats.syncs++;
    r->rep->truncated_bytes = size - at;
    r->rep->truncated_offset = at;
    snprintf(r->rep->truncated_segment, sizeof(r->rep->truncated_segment), "%s", seg);
    snprintf(r->rep->truncated_reason, sizeof(r->rep->truncated_reason), "%s", detail);
    return 0;
}

/* Scans segment i, advancing r->expected past its batches; the last segment
 * may be truncated and stays open as the live one (w->fd).  On error the
 * file is closed and rep->error says why. */
static int
recover_segment(struct tidal__wal_rec *r, size_t i)
{
    tidal_wal *w = r->w;
    bool last = i + 1 == w->nsegs;
    char seg[TIDAL__WAL_SEG_NAME_BYTES];
    char detail[160];
    struct tidal__wal_scan s;
    struct stat st;
    uint64_t at = 0;
    int fd;
    int rc;

    tidal__wal_seg_name(seg, w->opts.origin, w->segs[i].first_lsn);
    rc = tidal__wal_lost_gap(r, i, seg);
    if (rc != 0) {
        return rc;
    }
    fd = tidal__io_openat(w, w->dirfd, seg, (last ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
    if (fd < 0 || fstat(fd, &st) != 0) {
        rc = tidal__wal_refuse(r, seg, 0, TIDAL_EIO, "open: %s", strerror(errno));
        goto fail_fd;
    }
    if ((st.st_mode & 0177) != 0) {
        /* made by a tidal that created segments 0644: narrowed, best
         * effort (the file is readable either way) */
        (void)fchmod(fd, 0600);
    }
    rc = tidal__wal_scan_init(&s, fd);
    if (rc != 0) {
        goto fail_fd;
    }
    for (;;) {
        const uint8_t *b;
        tidal_batch_header h;
        size_t len;
        const char *why;

        rc = tidal__wal_scan_next(&s, &b, &len, &h, &at, detail, sizeof(detail));
        if (rc == 1) {
            rc = 0;
            break;
        }
        if (rc == TIDAL_EIO || rc == TIDAL_ENOMEM) {
            rc = tidal__wal_refuse(r, seg, at, rc, "read failed");
            break;
        }
        if (rc != 0) {
            rc = bad_batch(r, seg, fd, last, at, (uint64_t)st.st_size, rc, detail);
            break;
        }
        why = discontinuity(r, &h, detail, sizeof(detail));
        if (why != NULL) {
            rc = tidal__wal_refuse(r, seg, at, TIDAL_ECORRUPT, "%s", why);
            break;
        }
        r->expected += h.count;
        r->rep->batches++;
        r->rep->records += h.count;
    }
    tidal__wal_scan_fini(&s);
    if (rc != 0) {
        goto fail_fd;
    }
    w->segs[i].size = at;
    if (last) {
        w->fd = fd;
    } else {
        tidal__io_close(w, fd);
    }
    return 0;

fail_fd:
    if (fd >= 0) {
        tidal__io_close(w, fd);
    }
    return rc;
}

/* The log is recovered: makes what the manifest is to call durable durable,
 * and writes the manifest if it says something new. */
static int
finish(struct tidal__wal_rec *r)
{
    tidal_wal *w = r->w;
    uint64_t end = r->expected - 1;

    if (w->sync_fds && end > (r->have_m ? r->m.high : 0)) {
        if (tidal__io_fdatasync(w, w->fd) != 0) {
            char seg[TIDAL__WAL_SEG_NAME_BYTES];
            tidal__wal_seg_name(seg, w->opts.origin, w->segs[w->nsegs - 1].first_lsn);
            return tidal__wal_refuse(r, seg, UINT64_MAX, TIDAL_EIO, "fdatasync: %s",
                                     strerror(errno));
        }
        w->stats.syncs++;
    }
    w->next_lsn = r->expected;
    w->written_lsn = end;
    w->durable_lsn = end;
    w->notified_lsn = end;
    w->oldest_lsn = w->segs[0].first_lsn;
    w->stats.segments_live = w->nsegs;
    w->man.oldest = w->segs[0].first_lsn;
    w->man.newest = w->segs[w->nsegs - 1].first_lsn;
    w->man.high = end;
    tidal__wal_manifest_trim(&w->man);
    while (w->man.nholes > 0 && w->man.holes[w->man.nholes - 1].first > end) {
        w->man.nholes--; /* REFILL: above what is left, where appends go on */
    }
    r->rep->next_lsn = r->expected;
    r->rep->manifest_created = !r->have_m;
    if (tidal__wal_manifest_store(w) != 0) {
        char name[TIDAL__WAL_MANIFEST_NAME_BYTES];
        tidal__wal_manifest_name(name, w->opts.origin);
        return tidal__wal_refuse(r, name, UINT64_MAX, TIDAL_EIO, "cannot write: %s",
                                 strerror(errno));
    }
    return 0;
}

int
tidal__wal_recover(tidal_wal *w, tidal_wal_recovery *rep)
{
    struct tidal__wal_rec r = {.w = w, .rep = rep, .expected = 1};
    int rc;

    rc = tidal__wal_seg_list(w);
    if (rc != 0) {
        snprintf(rep->error, sizeof(rep->error), "%s: cannot list segments", w->shard_rel);
        return rc;
    }
    rc = tidal__wal_lost_manifest(&r);
    if (rc != 0) {
        return rc;
    }
    if (w->nsegs == 0) {
        if (r.have_m) {
            rc = tidal__wal_lost_all(&r);
        } else {
            w->written_lsn = 0; /* a new log: its first segment starts at LSN 1 */
            rc = tidal__wal_seg_create(w);
        }
        if (rc != 0 && rep->error[0] == '\0') {
            snprintf(rep->error, sizeof(rep->error), "%s: cannot create the first segment",
                     w->shard_rel);
        }
        r.expected = w->written_lsn + 1;
    } else if (w->segs[0].first_lsn == 0) {
        char seg[TIDAL__WAL_SEG_NAME_BYTES];
        tidal__wal_seg_name(seg, w->opts.origin, 0);
        return tidal__wal_refuse(&r, seg, 0, TIDAL_ECORRUPT,
                                 "segment named with LSN 0 (LSNs start at 1)");
    } else {
        r.expected = w->segs[0].first_lsn;
        rc = tidal__wal_lost_head(&r);
        for (size_t i = 0; i < w->nsegs && rc == 0; i++) {
            rc = recover_segment(&r, i);
        }
        if (rc == 0) {
            rc = tidal__wal_lost_tail(&r);
        }
    }
    if (rc == 0) {
        rc = finish(&r);
    }
    if (rc != 0 && w->fd >= 0) {
        tidal__io_close(w, w->fd);
        w->fd = -1;
    }
    return rc;
}
