/*
 * The state of one log, shared by the WAL's files (wal.h is the contract).
 * The files, each calling only those below it:
 *   wal_append.c   the append path (tidal_wal_append, tidal_wal_append_batch)
 *   wal.c          options, open/close, storing the manifest after a change
 *   wal_sync.c     the sync thread (group commit, and under SYNC the writes:
 *                  write-behind), durable LSN, waiting, when to retry, stats
 *   wal_retry.c    a log the disk refused: telling on_disk and the waiters,
 *                  cutting the files back to the last good sync so that the
 *                  tail can be written again, tidal_wal_wait_retry
 *   wal_recover.c  the recovery scan and its torn-tail decisions
 *   wal_lost.c     recovery's checks against the manifest: lost segments,
 *                  refused or salvaged
 *   wal_read.c     the in-memory cache of recent batches, tidal_wal_read,
 *                  tidal_wal_release
 *   wal_manifest.c the manifest file (which segments the log had, the LSNs
 *                  lost to a salvage), read at open, written when the
 *                  segments change
 *   wal_segment.c  segment names, directories, creating, rolling and
 *                  retiring segment files, noting a failed write or sync
 *   wal_scan.c     the buffered batch scanner used by recovery and readers
 *   wal_clock.c    the log's time and its callers' waits: its own
 *                  (CLOCK_MONOTONIC, condvars) or its driver's; asking the
 *                  driver for a turn
 * Every change to the files goes through w->io (wal_io.h, wal_io.c: the
 * system calls by default), through the tidal__io_* calls below.
 * And, beside them, wal_list.c: tidal_wal_list, the logs of a directory
 * from file names; above wal_sync.c, wal_turn.c: tidal_wal_turn, the sync
 * thread's work done on a driver's turn (wal.h, tidal_wal_driver).
 * A driven log has no thread: has_thread means "a sync thread, or the
 * driver's turns", and everything the thread does, a turn does, on
 * whichever thread the driver runs it.
 *
 * Lock order: man_lock -> lock.  man_lock only serialises writes of the
 * manifest file (once per roll-over, release, open and clean close), which
 * copy what to write under lock and write it without.  Nothing slow
 * runs under it except the writes (a write() of the batch being appended
 * under INTERVAL and NONE; under SYNC one pwritev per round, by the sync
 * thread) and, after the disk refused one, a retry's cut of the files and
 * its writes of the tail (wal_retry.c).  No sync runs under it: every fdatasync and fsync is the sync
 * thread's, without the lock (the live segment, the segments rolled away
 * from, the directory after a segment was created; wal_sync.c), so an
 * appender - and whatever locks its caller holds - never waits for the disk.
 * Reads of segment files and every user callback run without it too.
 *
 * File descriptors: a retired segment's fd (one the log has rolled away
 * from) belongs to the sync thread's next round, which syncs it and then
 * closes it; without a sync thread a retired fd is closed at once.
 */
#ifndef TIDAL_STORE_WAL_STATE_H
#define TIDAL_STORE_WAL_STATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/assert.h"
#include "store/wal.h"
#include "store/wal_io.h"

/* "r0001-0000000000000001.seg": origin, '-', first LSN, ".seg", NUL. */
#define TIDAL__WAL_SEG_NAME_BYTES 27u
/* "shard-0000", NUL. */
#define TIDAL__WAL_SHARD_DIR_BYTES 11u
/* The scanner's read size: large enough that a replay is a few big reads. */
#define TIDAL__WAL_READ_BYTES (1u << 20)
/* "r0001.manifest", NUL (wal_manifest.c). */
#define TIDAL__WAL_MANIFEST_NAME_BYTES 15u
/* Ranges of LSNs a salvage gave up that a log may keep between segments. */
#define TIDAL__WAL_HOLES_MAX 16u

/* One batch kept in memory: its header and payload, verbatim. */
struct tidal__wal_entry {
    uint64_t first_lsn;
    uint32_t count;
    uint32_t len; /* header + payload */
    uint8_t bytes[];
};

/* Recent batches, oldest first, in a ring of pointers that grows by
 * doubling.  bytes counts the batches' lengths (headers included). */
struct tidal__wal_cache {
    struct tidal__wal_entry **ring;
    size_t cap;  /* a power of two, or 0 before the first insert */
    size_t head; /* index of the oldest */
    size_t n;
    uint64_t bytes;
};

/* One segment file of the log; its name follows from (origin, first_lsn). */
struct tidal__wal_seg {
    uint64_t first_lsn;
    uint64_t size; /* bytes of whole batches in it (the live one's write offset) */
};

/* LSNs first..last, lost and accepted as lost by a salvage: in no segment. */
struct tidal__wal_hole {
    uint64_t first;
    uint64_t last;
};

/* What a log's manifest says (wal_manifest.c has the file's format). */
struct tidal__wal_manifest {
    uint64_t oldest; /* first LSN of the oldest segment kept */
    uint64_t newest; /* first LSN of the newest segment (its name) */
    uint64_t high;   /* every LSN up to it was durable once; the highest LSN used
                        that the manifest knows of (it lags the log) */
    uint32_t nholes;
    struct tidal__wal_hole holes[TIDAL__WAL_HOLES_MAX]; /* by first LSN, above oldest */
};

struct tidal_wal {
    /* Set at open, then read-only. */
    tidal_wal_opts opts; /* defaults applied; opts.dir points at dir */
    char *dir;           /* copy of the region directory; NULL if ephemeral */
    char shard_rel[24];  /* "wal/shard-SSSS", for messages */
    int dirfd;           /* the shard directory; -1 if ephemeral */
    bool sync_fds;       /* SYNC or INTERVAL on disk: the log calls fdatasync */
    bool has_thread;     /* a sync thread runs, or the driver's turns stand for it
                            (sync_fds, or on_durable set) */
    bool driven;         /* opts.driver was given: driver is its copy */
    tidal_wal_driver driver;
    tidal_wal_io io;     /* every change to the files goes through it (wal_io.h) */
    bool write_behind;   /* SYNC on disk: the sync thread writes the batches */
    pthread_t thread;

    pthread_mutex_t man_lock;              /* serialises manifest writes; taken before lock */
    struct tidal__wal_manifest man_stored; /* under man_lock (or at open): what the file says */
    bool man_on_disk;                      /* under man_lock (or at open): the file exists */

    pthread_mutex_t lock;
    pthread_cond_t work_cv;    /* the sync thread waits here for work */
    pthread_cond_t durable_cv; /* tidal_wal_wait_durable waits here */

    /* Everything below is under lock. */
    uint64_t next_lsn;           /* the LSN the next append gets */
    uint64_t written_lsn;        /* every LSN up to it is in the files (on disk:
                                    next_lsn - 1 but under write_behind) */
    uint64_t queued_bytes;       /* write_behind: bytes of the batches above it */
    uint32_t room_waiters;       /* appends waiting for queued_bytes to fall (SYNC), or
                                    callers of tidal_wal_wait_room (ephemeral) */
    bool refused_full;           /* ephemeral: an append was refused with EFULL since
                                    the last release that freed anything */
    uint64_t durable_lsn;        /* highest durable LSN */
    uint64_t notified_lsn;       /* last value given to on_durable */
    uint64_t oldest_lsn;         /* lowest LSN still readable */
    int fd;                      /* the live segment; -1 if ephemeral */
    struct tidal__wal_seg *segs; /* oldest first; the last is the live one */
    size_t nsegs;
    size_t segs_cap;
    int *retired; /* fds rolled away from: the sync thread syncs, then closes them */
    size_t nretired;
    size_t retired_cap;
    int failed; /* 0, or TIDAL_EIO: what appends and waiters get (wal_retry.c) */
    bool stalled;    /* a write or sync failed: appends refused until a retry */
    bool for_good;   /* the failure cannot be retried: failed stays */
    bool ev_due;     /* an on_disk event (and its log line) is to be told */
    bool ev_recovered; /* ...and it is the recovery */
    uint64_t ev_errors; /* failures not yet told */
    int ev_errno;       /* the last failure: errno and what failed, for the log */
    const char *ev_what;
    uint64_t risk_first, risk_last; /* not durable when the disk failed (0, 0: none) */
    uint64_t synced_seg;  /* the segment (its first LSN) where the last good sync's */
    uint64_t synced_size; /* data ends, and its size then: a retry cuts back to it */
    uint64_t retry_ms;    /* the wait before the next retry: doubles up to a cap */
    uint64_t retry_at_ns; /* monotonic: when the sync thread retries (0: none planned) */
    uint64_t retry_last_ns; /* monotonic: when the last retry ended */
    uint64_t retry_gen;   /* retries done (tidal_wal_wait_retry waits for one) */
    uint64_t stall_fails; /* failures in this refusal (logged at powers of two) */
    uint64_t append_fails; /* appends refused in a row for their own failed write */
    bool dir_unsynced; /* a new segment's name awaits the sync thread's fsync of dirfd */
    bool closing;
    bool thread_idle; /* the sync thread waits on work_cv for appends */
    bool lingering;   /* the sync thread waits for linger_want pending LSNs */
    uint64_t linger_want;
    uint64_t last_round_lsns; /* LSNs the last sync round made durable */
    uint64_t sync_ns;         /* how long the last fdatasync took */
    uint32_t waiters; /* threads in tidal_wal_wait_durable */
    bool turn_asked;         /* driven: a turn was asked for, at turn_at_ms */
    uint64_t turn_at_ms;
    uint64_t interval_at_ms; /* driven INTERVAL: when the pending batches' sync is due */
    struct tidal__wal_cache cache;
    tidal_wal_stats stats;
    struct tidal__wal_manifest man; /* what the manifest is to say next; its holes
                                       are the ones readers skip */
    bool man_roll;                  /* NONE: a roll-over since the manifest was stored */
};

/* ---- the file-system seam (wal_io.h), as the log's calls ------------------- */

static inline int
tidal__io_openat(tidal_wal *w, int dirfd, const char *name, int flags, mode_t mode)
{
    return w->io.openat(w->io.arg, dirfd, name, flags, mode);
}

static inline int
tidal__io_close(tidal_wal *w, int fd)
{
    return w->io.close(w->io.arg, fd);
}

static inline int
tidal__io_fdatasync(tidal_wal *w, int fd)
{
    return w->io.fdatasync(w->io.arg, fd);
}

static inline int
tidal__io_fsync(tidal_wal *w, int fd)
{
    return w->io.fsync(w->io.arg, fd);
}

static inline int
tidal__io_ftruncate(tidal_wal *w, int fd, uint64_t len)
{
    return w->io.ftruncate(w->io.arg, fd, (off_t)len);
}

static inline int
tidal__io_renameat(tidal_wal *w, int dirfd, const char *from, const char *to)
{
    return w->io.renameat(w->io.arg, dirfd, from, to);
}

static inline int
tidal__io_unlinkat(tidal_wal *w, int dirfd, const char *name)
{
    return w->io.unlinkat(w->io.arg, dirfd, name);
}

/* ---- wal_segment.c ---------------------------------------------------------- */

/* Writes the file name of the segment of origin starting at first_lsn into
 * out (TIDAL__WAL_SEG_NAME_BYTES).  Cannot fail. */
void tidal__wal_seg_name(char *out, uint16_t origin, uint64_t first_lsn);

/* Parses a segment file name strictly (lower-case hex, fixed width).  False
 * if name is not one; *origin and *first_lsn are then untouched. */
bool tidal__wal_seg_parse(const char *name, uint16_t *origin, uint64_t *first_lsn);

/* Parses "shard-SSSS" strictly.  False if name is not one. */
bool tidal__wal_shard_parse(const char *name, uint16_t *shard);

/* Creates <dir>/wal/shard-SSSS as needed (fsyncing each parent of a new
 * directory when sync is set) and opens it into *dirfd.  TIDAL_EIO on a file
 * system error (directories already made stay). */
int tidal__wal_dir_open(const char *dir, uint16_t shard, bool sync, int *dirfd)
    __attribute__((warn_unused_result));

/* Lists w's segments (its origin's names in the shard directory) into
 * w->segs, sorted by first LSN.  TIDAL_EIO or TIDAL_ENOMEM; on error w->segs
 * is left empty. */
int tidal__wal_seg_list(tidal_wal *w) __attribute__((warn_unused_result));

/* Appends {first_lsn, size} to w->segs.  TIDAL_ENOMEM leaves it unchanged. */
int tidal__wal_seg_push(tidal_wal *w, uint64_t first_lsn, uint64_t size)
    __attribute__((warn_unused_result));

/* Creates the segment file starting at w->next_lsn, makes it the live one and
 * pushes it on w->segs; under sync_fds the directory is fsynced.  Used at
 * open for an empty log.  TIDAL_EIO or TIDAL_ENOMEM; on error no file is
 * left behind and w is unchanged. */
int tidal__wal_seg_create(tidal_wal *w) __attribute__((warn_unused_result));

/* Called under lock before writing a batch of len bytes: rolls over to a new
 * segment if the live one is not empty and len would take it past
 * segment_bytes.  Under sync_fds the old segment is fdatasynced first, so a
 * segment that is not the last one is always complete on disk.  On error
 * (TIDAL_EIO, errno saying why, or TIDAL_ENOMEM) the log is unchanged and
 * the caller decides what the failure does: a refused append (INTERVAL,
 * NONE), or a refusal until a retry (SYNC's writes). */
int tidal__wal_seg_roll_if_full(tidal_wal *w, size_t len) __attribute__((warn_unused_result));

/* Under lock: hands the fd of a segment the log left to the sync thread,
 * which syncs it in its next round before anything in it counts as
 * durable, then closes it; closes it at once with no sync thread.  Cannot
 * fail. */
void tidal__wal_seg_retire(tidal_wal *w, int fd);

/* Under lock, at close: closes the fds the log rolled away from that no
 * sync round took (the log failed, or there is no sync thread).  Cannot
 * fail. */
void tidal__wal_seg_close_retired(tidal_wal *w);

/* Writes all of buf at off through w's seam, retrying short writes and
 * EINTR.  0 or errno. */
int tidal__wal_pwrite_all(tidal_wal *w, int fd, const void *buf, size_t len, uint64_t off);

/* Under lock, after a write or sync that failed (what names it, errno says
 * why): counts it and makes the log refuse appends until a retry has
 * written its tail again (wal_retry.c); the failure is told later, by
 * tidal__wal_tell, without the lock.  Returns TIDAL_EIO. */
int tidal__wal_fail(tidal_wal *w, const char *what);

/* The same for n iovecs (which it may change).  0 or errno. */
struct iovec;
int tidal__wal_pwritev_all(tidal_wal *w, int fd, struct iovec *iov, int n, uint64_t off);

/* ---- wal_scan.c ---- */
/* Reads batches out of one segment file in large reads. */
struct tidal__wal_scan {
    int fd;
    uint8_t *buf;
    size_t cap;
    size_t start; /* buf[start..end) are bytes not yet consumed */
    size_t end;
    uint64_t off; /* file offset of buf[start] */
    bool eof;     /* read() returned 0 */
};

/* Starts a scan of fd from offset 0.  TIDAL_ENOMEM. */
int tidal__wal_scan_init(struct tidal__wal_scan *s, int fd) __attribute__((warn_unused_result));

/* Frees the scan's buffer (not the fd).  Accepts a zeroed scan. */
void tidal__wal_scan_fini(struct tidal__wal_scan *s);

/* The next batch: 0 with *batch and *len pointing into the scan's buffer (valid
 * until the next call), *h decoded and *at its file offset; 1 at a clean end
 * of file; else the decoder's code for the bytes at *at (TIDAL_ETRUNCATED if
 * the file ends inside a batch), with the reason in detail, or TIDAL_EIO /
 * TIDAL_ENOMEM. */
int tidal__wal_scan_next(struct tidal__wal_scan *s, const uint8_t **batch, size_t *len,
                         tidal_batch_header *h, uint64_t *at, char *detail, size_t detail_cap);

/* ---- wal_manifest.c ----------------------------------------------------------- */

/* Writes the manifest's file name for origin into out
 * (TIDAL__WAL_MANIFEST_NAME_BYTES).  Cannot fail. */
void tidal__wal_manifest_name(char *out, uint16_t origin);

/* Parses a manifest file name strictly.  False if name is not one. */
bool tidal__wal_manifest_parse(const char *name, uint16_t *origin);

/* Reads w's manifest (w->dirfd set) into *m.  0 with *found false if there
 * is none; TIDAL_ECORRUPT (bad bytes, another log's), TIDAL_EVERSION (a
 * version this tidal does not read) or TIDAL_EIO, with why in err. */
int tidal__wal_manifest_load(tidal_wal *w, struct tidal__wal_manifest *m, bool *found, char *err,
                             size_t cap) __attribute__((warn_unused_result));

/* Writes w->man (copied under lock) as the manifest, unless the file says
 * that already: a temporary file, fdatasync, rename, fsync of the
 * directory (under sync_fds; no sync otherwise).  Called without lock.  0
 * or TIDAL_EIO, errno saying why. */
int tidal__wal_manifest_store(tidal_wal *w) __attribute__((warn_unused_result));

/* Drops the holes below m->oldest.  Cannot fail. */
void tidal__wal_manifest_trim(struct tidal__wal_manifest *m);

/* Records first..last as lost, merged with the holes it touches.
 * TIDAL_ELIMIT if TIDAL__WAL_HOLES_MAX holes are kept already. */
int tidal__wal_manifest_add_hole(struct tidal__wal_manifest *m, uint64_t first, uint64_t last)
    __attribute__((warn_unused_result));

/* The hole holding lsn, or NULL. */
const struct tidal__wal_hole *tidal__wal_hole_at(const struct tidal__wal_manifest *m, uint64_t lsn);

/* ---- wal_lost.c ---------------------------------------------------------------- */

/* Where recovery stands while it scans (wal_recover.c, wal_lost.c). */
struct tidal__wal_rec {
    tidal_wal *w;
    tidal_wal_recovery *rep;
    uint64_t expected;            /* the LSN the next batch must start at */
    struct tidal__wal_manifest m; /* the manifest as found (have_m) */
    bool have_m;
};

/* Records in rep->error "<shard dir>/<seg> offset <at> (LSN <expected>):
 * <why>", or "<shard dir>/<seg>: <why>" for at UINT64_MAX (a file that is
 * not there), and returns code. */
int tidal__wal_refuse(struct tidal__wal_rec *r, const char *seg, uint64_t at, int code,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Reads the manifest into r->m and w->man (wal_lost.c's table).  0, or the
 * refusal's code with rep->error set. */
int tidal__wal_lost_manifest(struct tidal__wal_rec *r) __attribute__((warn_unused_result));

/* No segment is left of a log with a manifest: refuses, or under salvage
 * creates the first segment again (w->fd).  0 or the refusal's code. */
int tidal__wal_lost_all(struct tidal__wal_rec *r) __attribute__((warn_unused_result));

/* Before the scan: the oldest segment the manifest names is there.  0 or
 * the refusal's code. */
int tidal__wal_lost_head(struct tidal__wal_rec *r) __attribute__((warn_unused_result));

/* C1 for segment i (named seg): it starts at r->expected, or after holes
 * recorded there (r->expected moves past them); a gap refuses, or under
 * salvage becomes a hole.  0 or the refusal's code. */
int tidal__wal_lost_gap(struct tidal__wal_rec *r, size_t i, const char *seg)
    __attribute__((warn_unused_result));

/* After the scan: the newest segment the manifest names is there and holds
 * every LSN it says was durable; under SKIP a lost tail becomes a hole and a
 * new live segment starts above it (r->expected moves there).  0 or the
 * refusal's code. */
int tidal__wal_lost_tail(struct tidal__wal_rec *r) __attribute__((warn_unused_result));

/* ---- wal_recover.c ------------------------------------------------------------ */

/* Recovers w's log from its directory (w->dirfd set, w->segs empty): fills
 * w->segs, next_lsn, durable_lsn, oldest_lsn, opens the live segment into
 * w->fd, creating the first segment of an empty log.  rep (not NULL) gets
 * the report.  On error w->fd stays -1 and rep->error says why. */
int tidal__wal_recover(tidal_wal *w, tidal_wal_recovery *rep) __attribute__((warn_unused_result));

/* ---- wal_retry.c --------------------------------------------------------------- */

/* The retry waits, doubling from the first to the cap; a refused append or
 * tidal_wal_wait_retry brings the next one forward, but never closer than
 * the first wait after the last one. */
#define TIDAL__WAL_RETRY_MS_MIN 10u
#define TIDAL__WAL_RETRY_MS_MAX 1000u

/* Under lock: an append whose own write failed under INTERVAL (what, errno)
 * and was cut off the file: counted and told, nothing else at risk (the
 * next interval sync touches the disk and refuses if it fails).  Under
 * NONE a failed append makes the log refuse instead (tidal__wal_fail):
 * its appends are its only contact with the disk.  Returns TIDAL_EIO. */
int tidal__wal_append_failed(tidal_wal *w, const char *what);

/* Under lock, with ev_due set: tells it - the operator log, then on_disk,
 * without the lock; a log that refuses appends then fails its waiters
 * (failed = TIDAL_EIO).  Cannot fail. */
void tidal__wal_tell(tidal_wal *w);

/* Under lock, before a retry: cuts the files back to where the last good
 * sync left them (synced_seg, synced_size: later segments removed, the
 * partial bytes cut) and rewinds written_lsn to durable_lsn, so that the
 * next writes put every batch above it again from memory.  0, or TIDAL_EIO
 * with the log still refusing (retry later) or failed for good. */
int tidal__wal_reset_tail(tidal_wal *w) __attribute__((warn_unused_result));

/* What a retry that has no batch to write again writes instead, to see
 * that the disk takes bytes: one page of zeroes after the last batch, cut
 * off again at once (a crash between the two leaves a zero-filled tail,
 * which recovery cuts as a torn one).  A page: the least a filesystem
 * allocates, so a probe that fits shows the disk has a block to give. */
#define TIDAL__WAL_PROBE_BYTES 4096u

/* Under lock, after tidal__wal_reset_tail, when nothing is above
 * durable_lsn to write again: writes the probe and cuts it off.  0, or
 * TIDAL_EIO with the log still refusing (tidal__wal_fail). */
int tidal__wal_probe(tidal_wal *w) __attribute__((warn_unused_result));

/* Under lock, a log with no sync thread (NONE) that refuses appends: the
 * retry, run by tidal_wal_wait_retry or an append - the files cut back,
 * then the probe; a retry that failed nothing ends the refusal.  Cannot
 * fail: a failure keeps the log refusing. */
void tidal__wal_retry_here(tidal_wal *w);

/* Under lock, after a retry that failed nothing: the log takes appends
 * again, and the recovery is to be told.  Cannot fail. */
void tidal__wal_recovered(tidal_wal *w);

/* Under lock, after a retry: counts it, wakes tidal_wal_wait_retry, and if
 * the log still refuses, schedules the next one (doubling).  Cannot fail. */
void tidal__wal_retried(tidal_wal *w);

/* Under lock: asks the sync thread for a retry soon (a refused append).
 * True if it must be woken (tidal__wal_sync_wake, or signal under lock).
 * Cannot fail. */
bool tidal__wal_retry_soon(tidal_wal *w);

/* Monotonic nanoseconds.  Cannot fail. */
uint64_t tidal__wal_mono_ns(void);

/* ---- wal_turn.c ---------------------------------------------------------------- */

/* A driven log's close: a last turn (a sync under SYNC and INTERVAL, a last
 * on_durable call, one last retry of a refused disk), as the thread's last
 * round.  Cannot fail. */
void tidal__wal_turn_close(tidal_wal *w);

/* ---- wal_sync.c --------------------------------------------------------------- */

/* Starts the sync thread.  TIDAL_ENOMEM if the thread cannot be created. */
int tidal__wal_sync_start(tidal_wal *w) __attribute__((warn_unused_result));
/* wal.c: stores the manifest after an append that rolled over under NONE,
 * or at a clean close; a failure is counted and logged, refuses nothing. */
void tidal__wal_store_manifest(tidal_wal *w);

/* Tells the sync thread to finish (a last sync under SYNC and INTERVAL, a
 * last on_durable call) and joins it.  Cannot fail. */
void tidal__wal_sync_stop(tidal_wal *w);

/* Under lock, after an append advanced next_lsn: marks it durable at once
 * (NONE, ephemeral) and wakes its waiters.  Returns true if the sync thread
 * must be woken (tidal__wal_sync_wake, after unlocking).  Cannot fail. */
bool tidal__wal_sync_appended(tidal_wal *w);

/* Wakes the sync thread.  Called without the lock.  Cannot fail. */
void tidal__wal_sync_wake(tidal_wal *w);

/* Under lock: one group-commit round (written, synced without the lock,
 * durable_lsn raised, waiters woken).  A failure makes the log refuse
 * appends (wal_retry.c).  Cannot fail otherwise. */
void tidal__wal_sync_round(tidal_wal *w);

/* Under lock: a retry of a log that refuses appends (the files cut back,
 * the tail written and synced again).  Cannot fail: a failure keeps the
 * log refusing. */
void tidal__wal_sync_retry(tidal_wal *w);

/* Under lock: calls on_durable with the durable LSN, without the lock
 * around the call.  Cannot fail. */
void tidal__wal_notify(tidal_wal *w);

/* Under write_behind, from the sync thread, under lock: writes every cached
 * batch above written_lsn to the segments (rolling over as needed), a
 * segment's worth per pwritev, and raises written_lsn.  On a failed write
 * the log is failed (TIDAL_EIO) and its waiters woken.  0 or TIDAL_EIO (or
 * a roll-over's code). */
int tidal__wal_write_pending(tidal_wal *w) __attribute__((warn_unused_result));

/* ---- wal_read.c --------------------------------------------------------------- */

/* Makes room in the cache's ring for one more batch, so that the put after
 * a successful write cannot fail.  Under lock.  TIDAL_ENOMEM changes nothing. */
int tidal__wal_cache_reserve(tidal_wal *w) __attribute__((warn_unused_result));

/* Adds e to the cache (taking ownership; room reserved), then trims it.
 * Under lock.  Cannot fail. */
void tidal__wal_cache_put(tidal_wal *w, struct tidal__wal_entry *e);

/* For an on-disk log, evicts the oldest batches while the cache is over
 * memory_bytes, but never one not yet durable (under write_behind the cache
 * is the only copy of those until the sync thread writes them, and until
 * a sync covers them it is the copy a retry writes again after the disk
 * refused them; a batch larger than the bound goes once durable).  Under
 * lock.  Cannot fail. */
void tidal__wal_cache_trim(tidal_wal *w);

/* The i-th cached batch, oldest first.  Under lock. */
static inline struct tidal__wal_entry *
tidal__wal_cache_at(const struct tidal__wal_cache *c, size_t i)
{
    return c->ring[(c->head + i) & (c->cap - 1)];
}

/* Frees every cached batch.  Cannot fail. */
void tidal__wal_cache_free(struct tidal__wal_cache *c);

/* Under lock: true if, under SYNC, a batch of len bytes would put more than
 * memory_bytes of appended batches ahead of the sync thread's writes (a
 * batch always fits an empty queue).  Such an append is refused with
 * TIDAL_EFULL, never waited for: tidal_wal_wait_room waits for room without
 * the caller's locks. */
static inline bool
tidal__wal_queue_full(const tidal_wal *w, size_t len)
{
    return w->write_behind && w->queued_bytes > 0 && w->queued_bytes + len > w->opts.memory_bytes;
}

/* ---- wal_clock.c --------------------------------------------------------------- */

/* The log's clock in nanoseconds: CLOCK_MONOTONIC, or the driver's now_ms
 * (in whole milliseconds).  Retries are timed on it.  Cannot fail. */
uint64_t tidal__wal_now_ns(const tidal_wal *w);

/* tidal__wal_now_ns + timeout_ms, saturating.  Cannot fail. */
uint64_t tidal__wal_deadline_ns(const tidal_wal *w, uint64_t timeout_ms);

/* Under lock, for a caller's wait: waits on cv until it is signalled or
 * deadline_ns (tidal__wal_now_ns's clock) passes; may return early (check
 * again).  With a driver, its block (which may run the log's turn on this
 * very thread), after asking for the turn it wants.  0, or
 * TIDAL_ETIMEDOUT once the deadline has passed. */
int tidal__wal_wait(tidal_wal *w, pthread_cond_t *cv, uint64_t deadline_ns);

/* Under lock, driven: whether to ask the driver for a turn - the log has
 * work due (or due later: *at_ms says when) that no turn asked for covers.
 * If so it is noted as asked, and the caller calls tidal__wal_turn_wake
 * with *at_ms after unlocking.  Cannot fail. */
bool tidal__wal_turn_want(tidal_wal *w, uint64_t *at_ms);

/* Without lock, driven: asks the driver for the turn at at_ms; on the
 * driver's refusal the turn is no longer noted as asked (the next append,
 * wait or turn asks again).  Cannot fail. */
void tidal__wal_turn_wake(tidal_wal *w, uint64_t at_ms);

#endif /* TIDAL_STORE_WAL_STATE_H */
