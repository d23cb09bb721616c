/*
 * The write-ahead log: one log per (origin region, shard), made of segment
 * files of batches.  Pure storage: no messaging, libc + pthreads only.
 *
 * A region writes its own writes to its own logs (origin = itself) and keeps
 * a verbatim copy of every peer's batches it applied in logs named by that
 * peer (origin = the peer), so that after a crash it recovers both its own
 * writes and what it had applied from others, with the dedup state (the
 * applied LSN per origin and shard) that guards them.
 *
 * Files: <dir>/wal/shard-SSSS/rOOOO-LLLLLLLLLLLLLLLL.seg, fixed-width hex
 * (shard, origin region, first LSN of the segment), so names sort in LSN order.
 * A segment is a sequence of batches; a batch is a header v2 (batch.h)
 * followed by its payload of `count` msgpack records.  LSNs number records:
 * a batch with first LSN F and count C holds F .. F+C-1, and the next batch of
 * the log starts at F+C.  The first LSN of a log is 1.
 *
 * Durability policies (tidal_wal_opts.durability):
 *   SYNC      a batch is durable once an fdatasync covering it returned.  Group
 *             commit: the append only queues the batch; the sync thread writes
 *             every queued batch with one pwritev, then syncs, so concurrent
 *             appenders share syncs (and a pipelined appender's whole window
 *             shares one: wal_sync.c).  A kill -9 can lose batches not yet
 *             durable, never a durable one.
 *   INTERVAL  a background sync every interval_ms; durable after that sync.
 *   NONE      durable as soon as written to the file (no sync).
 *   dir NULL  ephemeral: memory only; durable at once; nothing survives close.
 *             Its batches stay in memory until tidal_wal_release (every peer has
 *             them), up to memory_bytes: past it an append is refused with
 *             TIDAL_EFULL - backpressure, not a failure: room comes back with the
 *             next release, and tidal_wal_wait_room waits for it.
 * Appends never wait for the disk - no sync, not even at a segment roll-over,
 * which the sync thread syncs later: the caller learns durability through
 * tidal_wal_durable_lsn, tidal_wal_wait_durable, or the on_durable callback
 * (called from the WAL's sync thread), so many writes can be in flight.
 *
 * When the disk refuses (wal_retry.c): a write or sync that fails (ENOSPC,
 * EIO) never fails the log for good.
 *   SYNC and INTERVAL  the batches not yet durable stay in memory, the log
 *             refuses appends (TIDAL_EIO) and tells on_disk which LSNs are at
 *             risk, then its waiters (TIDAL_EIO).  The sync thread tries
 *             again - after 10 ms, doubling up to 1 s, and at once (but not
 *             more often than every 10 ms) when an append is refused or
 *             tidal_wal_wait_retry asks: it cuts the files back to the end
 *             of the last good sync and writes every batch above it again
 *             from memory, then syncs.  A sync that failed proves nothing
 *             about the pages it covered (Linux may drop them and clear the
 *             error: PostgreSQL's "fsyncgate", 2018), so nothing it covered
 *             is trusted: all of it is written again.  Once that sync
 *             returns, the batches are durable (on_durable, waiters), the
 *             log takes appends again and on_disk hears of the recovery.  No
 *             LSN is skipped or given twice.
 *   NONE      an append writes its batch itself, its one contact with the
 *             disk: one that fails is refused (TIDAL_EIO), its partial
 *             bytes cut off, and the log refuses appends from then on, with
 *             no LSN at risk (a batch takes its LSNs once written whole;
 *             what was written before is durable by NONE's meaning), until
 *             a retry - by an append, or tidal_wal_wait_retry - has cut the
 *             file and seen the disk take a probe page (wal_retry.c).
 *   INTERVAL  a failed write of an append is refused alone (cut off, no
 *             LSN taken; the next interval sync tells if the disk still
 *             fails); a failed interval sync is the SYNC case above.
 * Only what cannot be retried fails the log for good (TIDAL_EIO to every
 * later call): the memory copy of a batch to write again is gone.
 *
 * Files also: <dir>/wal/shard-SSSS/rOOOO.manifest, the log's manifest
 * (wal_manifest.c): the first LSN of its oldest and newest segments, the
 * highest LSN known durable, and the LSNs a salvage gave up.  It is written
 * at open, after a roll-over, a release and a clean close, never per batch.
 * Segments and the manifest are 0600, directories 0700.
 *
 * Recovery (tidal_wal_open on a directory with segments): scans every
 * segment of the log in LSN order and verifies each batch (header, CRC32C,
 * LSN continuity, origin and shard equal to the file's name), then checks
 * the segments against the manifest, which can tell a lost segment from a
 * log that is merely short.  Decisions:
 *   | what is found                                   | decision                    |
 *   |-------------------------------------------------|-----------------------------|
 *   | clean end of the last segment                   | ok                          |
 *   | last segment ends inside a batch (torn tail)    | truncate at the batch start,|
 *   |                                                 | report bytes + segment      |
 *   | last batch of the last segment fails its CRC    | truncate it, report         |
 *   | a bad batch followed by more data, or in a      | TIDAL_ECORRUPT: open fails, |
 *   |   segment that is not the last                  | report says where           |
 *   | version-1 or unknown-version header             | TIDAL_EVERSION: open fails  |
 *   | LSN gap between batches, or a batch whose       | TIDAL_ECORRUPT              |
 *   |   origin/shard is not the file's                |                             |
 *   | a gap between segments (LSNs in no segment)     | TIDAL_ECORRUPT; salvage: a  |
 *   |   that is not a hole an earlier salvage kept    |   hole, both sides kept     |
 *   | the oldest segment the manifest names missing   | TIDAL_ECORRUPT; salvage:    |
 *   |                                                 |   the log starts later      |
 *   | the newest segment the manifest names missing,  | TIDAL_ECORRUPT; salvage:    |
 *   |   or the newest ends below the manifest's       |   SKIP: a hole up to that   |
 *   |   highest durable LSN (emptied, cut short), or  |   LSN, appends above it;    |
 *   |   every segment missing                         |   REFILL: appends go on     |
 *   |                                                 |   after what is left        |
 *   | a manifest with bad bytes                       | TIDAL_ECORRUPT; salvage:    |
 *   |                                                 |   set aside, log unchecked  |
 *   | a manifest of another version                   | TIDAL_EVERSION, even under  |
 *   |                                                 |   salvage                   |
 *   | no manifest (a new log, or one made before      | ok (only the gap check      |
 *   |   manifests)                                    |   applies); one is made     |
 * "Followed by more data" means a valid batch of this log starts later in the
 * file; a zero-filled or garbled tail with none is truncated like a torn one
 * (wal_recover.c has the full table, wal_lost.c the manifest's).
 * Nothing after a truncation point is ever applied, and whatever a salvage
 * gives up is reported (tidal_wal_recovery.lost_*).
 *
 * Thread safety: every function may be called from any thread, concurrently,
 * except tidal_wal_close (last, alone); appends are serialised by the log's
 * lock.
 */
#ifndef TIDAL_STORE_WAL_H
#define TIDAL_STORE_WAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/batch.h"
#include "tidal/errors.h"
#include "tidal/limits.h"

typedef enum tidal_durability {
    TIDAL_DURABILITY_SYNC = 0, /* the default: acknowledged after fdatasync */
    TIDAL_DURABILITY_INTERVAL = 1,
    TIDAL_DURABILITY_NONE = 2,
} tidal_durability;

/* Called from the WAL's sync thread (with a driver: its turn) when the
 * durable LSN advances.  Must not call back into this WAL's append or
 * close. */
typedef void (*tidal_wal_durable_fn)(void *arg, uint64_t durable_lsn);

/* What the disk did to a log (on_disk). */
typedef struct tidal_wal_disk_event {
    uint64_t errors;  /* writes and syncs that failed since the last event */
    bool refusing;    /* the log refuses appends (TIDAL_EIO) until it has written
                         first..last again; false with errors: only a failed
                         append was refused, nothing else is at risk */
    bool recovered;   /* first..last were written again and are durable: the
                         log takes appends again */
    uint64_t first;   /* the LSNs appended and not durable when the disk failed, */
    uint64_t last;    /* kept in memory to be written again (0, 0: none) */
} tidal_wal_disk_event;

/* Called without the log's lock when a write or sync failed or the log
 * recovered.  A log that starts refusing calls it before its waiters hear
 * of the failure, from its sync thread, or (NONE, no sync thread) from the
 * appender, whose caller may hold its own locks.  A failed append of
 * INTERVAL or NONE calls it from the appender too.  Must not call into this
 * WAL but tidal_wal_durable_lsn and the stats. */
typedef void (*tidal_wal_disk_fn)(void *arg, const tidal_wal_disk_event *ev);

/* Bounds of the options (range-checked on open: TIDAL_EINVAL); the largest
 * are in tidal/limits.h. */
#define TIDAL_WAL_MEMORY_BYTES_MIN TIDAL_BATCH_HEADER_BYTES /* one empty batch fits */
_Static_assert(TIDAL_WAL_MEMORY_BYTES_MIN <= TIDAL_WAL_MEMORY_BYTES_DEFAULT, "default in range");

/* What tidal_wal_open does with a log that lost segments or LSNs (the
 * checks of wal_lost.c: a missing oldest or newest segment, an emptied or
 * cut newest one, a gap between segments, an unreadable manifest).  Bad
 * bytes inside a segment are refused whatever it says. */
typedef enum tidal_wal_salvage {
    TIDAL_WAL_SALVAGE_OFF = 0,    /* refuse to open: TIDAL_ECORRUPT (the default) */
    TIDAL_WAL_SALVAGE_SKIP = 1,   /* open what is left; appends continue above the
                                     highest LSN the manifest knows was used, so an
                                     LSN is never given twice (the origin's own log:
                                     its peers may hold the lost LSNs) */
    TIDAL_WAL_SALVAGE_REFILL = 2, /* open what is left; appends continue after it
                                     (a copy of a peer's log, which that peer
                                     sends again from there) */
} tidal_wal_salvage;

/* Who runs a log's sync work in place of its sync thread: a layer above
 * that runs everything on an executor of its own (a simulation's one
 * thread, include/tidal/sim.h).  With a driver the log starts no thread:
 * it asks the driver for a turn (tidal_wal_turn) when sync work is wanted,
 * and at what time - at once under SYNC (group commit: every batch
 * appended before the turn runs shares its sync), interval_ms after the
 * first batch not yet synced under INTERVAL, when a retry is due after the
 * disk refused - and every wait of a caller (tidal_wal_wait_durable,
 * _wait_room, _wait_retry) goes through block, so that the executor can
 * run that turn meanwhile.  Every time the log reads (deadlines, retries,
 * INTERVAL's period) is now_ms's.  SYNC's linger (wal_sync.c) is for real
 * threads and is left out.  The callbacks must not call into the log but
 * as said.  tidal_wal_close and _abandon call none of them (the last turn
 * runs on the closing thread), so the driver's executor may be closed
 * before the log. */
typedef struct tidal_wal_driver {
    /* Asks for one call of tidal_wal_turn(w) at at_ms (now_ms's clock) or
     * later, on a thread that holds none of the locks the log's callbacks
     * take, and never concurrently with another call into w.  Called
     * without the log's lock, by an appender (whose caller may hold its
     * own locks), a turn or a waiter; it must only schedule.  A turn that
     * finds nothing due does nothing, so a driver may run turns more often
     * than asked (one timer for all of a region's logs).  0, or an error:
     * then the log asks again at its next append, wait or turn. */
    int (*wake)(void *arg, uint64_t at_ms);
    /* Blocks the caller, holding lock (the log's), which it releases
     * meanwhile, until cond may have been signalled or deadline_ms has
     * passed: 0 to check again, TIDAL_ETIMEDOUT once the deadline has
     * passed.  tidal_runtime_block's contract (cond is CLOCK_MONOTONIC). */
    int (*block)(void *arg, pthread_cond_t *cond, pthread_mutex_t *lock, uint64_t deadline_ms);
    /* Elapsed milliseconds; may be called under the log's lock, so takes
     * no lock but a leaf. */
    uint64_t (*now_ms)(void *arg);
    void *arg;
} tidal_wal_driver;

typedef struct tidal_wal_opts {
    const char *dir;                 /* region directory; NULL = ephemeral (memory only) */
    uint16_t origin;                 /* origin region of this log's batches */
    uint16_t shard;                  /* shard of this log */
    tidal_durability durability;     /* 0 = SYNC */
    uint32_t interval_ms;            /* INTERVAL period; 0 = 10 ms; at most 60 s */
    uint64_t segment_bytes;          /* roll over past this size; 0 = 64 MiB; 4 KiB..1 GiB */
    uint64_t memory_bytes;           /* recent batches kept in memory for readers;
                                        0 = 64 MiB; at least one header, at most 1 TiB
                                        (ephemeral logs keep everything up to this bound
                                        and refuse appends past it: EFULL; under SYNC an
                                        append waits while this much is appended and not
                                        yet written) */
    tidal_wal_durable_fn on_durable; /* NULL = none */
    void *on_durable_arg;
    tidal_wal_salvage salvage; /* 0 = refuse a log that lost LSNs */
    tidal_wal_disk_fn on_disk; /* NULL = none: the failures are only logged */
    void *on_disk_arg;
    const tidal_wal_driver *driver; /* NULL = a sync thread of the log's own (as
                                       needed); else copied, all three callbacks
                                       set (TIDAL_EINVAL otherwise) */
    const struct tidal_wal_io *io;  /* NULL = the system calls; else every change
                                       the log makes to its files goes through
                                       this table (store/wal_io.h), copied by
                                       the open; all of its functions set
                                       (TIDAL_EINVAL otherwise) */
} tidal_wal_opts;

/* What recovery found. */
typedef struct tidal_wal_recovery {
    uint64_t batches;            /* batches replayed */
    uint64_t records;            /* records in them */
    uint64_t next_lsn;           /* the LSN the next append gets */
    uint64_t truncated_bytes;    /* torn or corrupt tail removed (0 if none) */
    uint64_t truncated_offset;   /* where the segment was cut (valid if truncated_bytes) */
    char truncated_segment[256]; /* file name of the truncated segment, "" if none */
    char truncated_reason[160];  /* why: the decoder's reason (field, expected, actual) */
    char error[256];             /* on failure: which file, offset, why; "" on success */
    /* Salvage (opts.salvage) only: what the log lost.  LSNs first..last
     * are the lowest and highest lost, lsns how many (ranges may lie apart:
     * lost[] lists each, with the files); all 0 if nothing was lost. */
    uint64_t lost_first;
    uint64_t lost_last;
    uint64_t lost_lsns;
    char lost[384];        /* each loss: files, LSNs, why; "" if none */
    bool manifest_created; /* the log had no manifest (new, or written by a tidal
                              before manifests): one was made */
} tidal_wal_recovery;

typedef struct tidal_wal tidal_wal;

/* Opens (creating directories as needed) or recovers the log.  *rep (may be
 * NULL) reports what recovery did.  TIDAL_EINVAL for bad options, TIDAL_EIO
 * for a file system error, TIDAL_ECORRUPT / TIDAL_EVERSION as in the table
 * above.  On error nothing is left open (a truncation already done stays). */
int tidal_wal_open(const tidal_wal_opts *opts, tidal_wal **out, tidal_wal_recovery *rep)
    __attribute__((warn_unused_result));

/* Closes the log: waits for the sync thread, syncs under SYNC and INTERVAL
 * (so everything appended before the call is durable after it, unless the log
 * has failed), records in the manifest that the log ends there (a clean
 * close), frees everything.  No other call on w may run concurrently or
 * follow.  Accepts NULL. */
void tidal_wal_close(tidal_wal *w);

/* The same, but leaves the manifest as a crash would (as of the last open,
 * roll-over or release), for tidal_region_crash and for tests that stand for
 * a process that died: its files must recover as after a kill -9.  Accepts
 * NULL. */
void tidal_wal_abandon(tidal_wal *w);

/* For a log opened with a driver: does on the caller's thread what the
 * sync thread's loop does, as far as it is due at now_ms - tells the
 * disk's events (on_disk), calls on_durable, writes and fdatasyncs what is
 * pending (SYNC; INTERVAL once its period has passed since the first batch
 * not yet synced), raises the durable LSN and wakes its waiters, retries
 * the disk when a retry is due - without ever waiting; then asks the
 * driver for the next turn if work remains for later.  Called as the
 * driver's contract says (wake); on_durable and on_disk run on this thread,
 * without the log's lock.  Does nothing for a log without a driver, or
 * with nothing due.  Cannot fail: a failed write or sync makes the log
 * refuse appends, as on the thread. */
void tidal_wal_turn(tidal_wal *w);

/* Appends one batch of `count` records (payload: the records' msgpack bytes,
 * back to back) as the origin: assigns LSNs.  *first_lsn gets the batch's first
 * LSN.  hlc_min/hlc_max go into the header.  TIDAL_ETOOBIG if the payload
 * exceeds TIDAL_BATCH_PAYLOAD_BYTES_MAX (or, ephemeral, the batch alone exceeds
 * memory_bytes), TIDAL_EFULL if an ephemeral log is full, or a SYNC log has
 * memory_bytes of batches its sync thread has not written yet (backpressure:
 * tidal_wal_wait_room waits for room, then append again), TIDAL_EIO if
 * the write failed (INTERVAL: only this append is refused; NONE: the log
 * refuses appends from then on until a retry) or the log
 * refuses appends after a failure until it has written its tail again
 * (tidal_wal_wait_retry; the refusal asks for a retry), TIDAL_EINVAL for
 * count 0 or hlc_min > hlc_max.  Never waits for the disk, so it may be
 * called under locks readers need.  Under SYNC a write error surfaces
 * later, to the waiters of the batches it covered.  On error nothing is
 * appended. */
int tidal_wal_append(tidal_wal *w, const uint8_t *payload, uint32_t len, uint32_t count,
                     tidal_hlc hlc_min, tidal_hlc hlc_max, uint64_t *first_lsn)
    __attribute__((warn_unused_result));

/* Appends a batch received from its origin, verbatim (header + payload).
 * Verifies it (batch.h) and that its origin and shard are this log's and its
 * first LSN is exactly the next LSN: TIDAL_ECORRUPT / TIDAL_ECRC /
 * TIDAL_EVERSION / TIDAL_ETRUNCATED for a bad batch (bytes after the batch
 * count as corrupt), TIDAL_EINVAL if it is another log's (origin or shard),
 * TIDAL_ESTATE for a discontinuity (a gap or a repeat).  On error nothing is
 * written.  Otherwise as tidal_wal_append. */
int tidal_wal_append_batch(tidal_wal *w, const uint8_t *batch, size_t len)
    __attribute__((warn_unused_result));

/* Waits until a batch of len bytes (header included) fits: for an ephemeral
 * log, memory_bytes beside the batches kept, that is until tidal_wal_release
 * has dropped enough of them; for a SYNC log, memory_bytes of batches not
 * yet written, until the sync thread has written enough.  0 when it fits (at
 * once for INTERVAL and NONE, which never refuse an append for room; another
 * appender may still take the room first: append, and wait again on
 * TIDAL_EFULL); TIDAL_ETIMEDOUT after timeout_ms (0 only checks);
 * TIDAL_ETOOBIG if len alone exceeds an ephemeral memory_bytes (it never
 * fits); the log's failure (TIDAL_EIO) if it fails meanwhile; TIDAL_EINVAL
 * for a NULL log.  While an ephemeral log's caller waits,
 * tidal_wal_wants_room is true.  Never call it from an actor handler
 * (handlers never block), nor under a lock that a release needs. */
int tidal_wal_wait_room(tidal_wal *w, size_t len, uint32_t timeout_ms)
    __attribute__((warn_unused_result));

/* True for an ephemeral log while an appender waits in tidal_wal_wait_room,
 * or when an append was refused with TIDAL_EFULL and no release has freed
 * anything since: whoever decides what to release (the shipper) knows that
 * a writer is held up.  Always false for a log on disk.  Cannot fail. */
bool tidal_wal_wants_room(tidal_wal *w);

/* The LSN the next append gets (1 for an empty log). */
uint64_t tidal_wal_next_lsn(tidal_wal *w);

/* The highest LSN that is durable under the log's policy (0 if none). */
uint64_t tidal_wal_durable_lsn(tidal_wal *w);

/* Waits until lsn is durable, or timeout_ms passes (TIDAL_ETIMEDOUT), or the
 * log fails (TIDAL_EIO: lsn was not durable when the disk refused it; the
 * log keeps it and makes it durable if a retry succeeds, unless closed
 * first).  Never call it from an actor handler (handlers never block). */
int tidal_wal_wait_durable(tidal_wal *w, uint64_t lsn, uint32_t timeout_ms);

/* For a log that refuses appends after a failed write or sync: asks for a
 * retry now (at most one per 10 ms) and waits for it.  0 once the log takes
 * appends again; TIDAL_EIO if the retry failed too, or the log failed for
 * good; TIDAL_ETIMEDOUT after timeout_ms; TIDAL_ESTATE at once if the log
 * does not refuse appends (an INTERVAL append's own failed write is not
 * retried: append again).  Under NONE, with no sync thread, the retry runs
 * on the caller, once the last one is 10 ms old.  Never call it from an actor handler, nor under a lock the
 * sync thread's on_disk or on_durable takes. */
int tidal_wal_wait_retry(tidal_wal *w, uint32_t timeout_ms);

/* Reads batches, in order, starting with the batch that contains from_lsn,
 * from memory when still there and from the segments otherwise.  fn gets each
 * whole batch (header + payload, verified) and returns 0 to go on or non-zero
 * to stop (that value is returned).  Reads only up to the LSN durable when the
 * call started (a reader never sees a batch that could still be lost), unless
 * include_volatile is set.  TIDAL_ENOENT if from_lsn is below the oldest
 * batch kept (removed by tidal_wal_release, or by hand); from_lsn 0 reads
 * from the oldest batch kept, whatever it is.
 * Batches read back from a segment are verified again (CRC and continuity):
 * TIDAL_ECORRUPT / TIDAL_ECRC if the file changed under the log.  The
 * batch pointer is valid during the call only; fn must not call
 * tidal_wal_close. */
int tidal_wal_read(tidal_wal *w, uint64_t from_lsn, bool include_volatile,
                   int (*fn)(void *arg, const uint8_t *batch, size_t len), void *arg);

/* Lets the log delete whole segments whose every LSN is below lsn (every peer
 * has applied them).  The segment being written is never deleted.  Returns
 * how many segment files were removed.  An ephemeral log drops the batches
 * wholly below lsn from memory instead (and returns 0), which makes room for
 * appends again and wakes tidal_wal_wait_room.  Cannot fail. */
uint32_t tidal_wal_release(tidal_wal *w, uint64_t lsn);

/* Makes LSNs next .. lsn a hole and has appends continue at lsn + 1, if
 * lsn >= the next LSN (else nothing: 0).  For an origin's own log that
 * learned, after a salvage, that its peers applied LSNs above the ones it
 * kept (their copies outlived its manifest's high): a new write given one
 * of those LSNs would be dropped by them as a duplicate.  The hole is
 * recorded as a salvage's holes are (wal_lost.c): the log goes on in a new
 * segment named lsn + 1 and the manifest, naming it and the hole, is
 * stored before the call returns, so a reopen accepts the gap and
 * tidal_wal_read steps over it.  The contract: no append in flight - the
 * caller excludes its appenders for the call, and everything appended
 * before it must be durable (else TIDAL_ESTATE, nothing changed: a sync
 * round may still be writing to the live segment).  TIDAL_EINVAL for an
 * ephemeral log (nothing to record a hole in) or lsn UINT64_MAX;
 * TIDAL_ELIMIT if the log keeps as many holes as it can (16) already;
 * TIDAL_EIO if the log refuses appends, or the new segment cannot be
 * made (nothing changed), or the manifest cannot be stored: then the log
 * has skipped in memory and its next roll-over or clean close stores the
 * hole; a crash before leaves the gap to a salvage. */
int tidal_wal_skip_to(tidal_wal *w, uint64_t lsn) __attribute__((warn_unused_result));

/* The first hole (LSNs in no segment: a salvage's, or tidal_wal_skip_to's)
 * that ends above lsn: 0 with *first, *last set (*first may be at or below
 * lsn, when lsn + 1 is inside it), TIDAL_ENOENT if there is none.  A
 * reader (the shipper) that must not step over a hole unseen - a peer
 * applies batches strictly in LSN order, and holds one past a gap for
 * ever - stops before it and tells the peer where the log goes on.
 * Cannot fail otherwise. */
int tidal_wal_hole_after(tidal_wal *w, uint64_t lsn, uint64_t *first, uint64_t *last);

/* Calls fn for every (origin, shard) log present under dir/wal, with a
 * segment or a manifest (so a region can recover its peers' logs as well as
 * its own, and learns of a log whose segments are all gone), once each, in
 * (shard, origin) order.  0 (also when dir/wal does not exist), TIDAL_EINVAL,
 * TIDAL_ENOMEM or TIDAL_EIO (then fn has not been called). */
int tidal_wal_list(const char *dir, void (*fn)(void *arg, uint16_t origin, uint16_t shard),
                   void *arg);

/* Counters for tests and benchmarks. */
typedef struct tidal_wal_stats {
    uint64_t appends;       /* batches appended */
    uint64_t bytes;         /* bytes written (headers included) */
    uint64_t syncs;         /* fdatasync/fsync calls (data, directory, truncation) */
    uint64_t segments;      /* segment files this handle created since open */
    uint64_t segments_live; /* segment files present now */
    uint64_t rejected;      /* tidal_wal_append_batch refusals: bad batch, another
                               log's, or a discontinuity (the code says which) */
    uint64_t queued_max;    /* SYNC: most bytes appended and not yet written at once
                               (at most memory_bytes, or one batch) */
    uint64_t room_waits;    /* SYNC: appends that waited for the sync thread's writes;
                               ephemeral: tidal_wal_wait_room calls that waited */
    uint64_t refused_full;  /* ephemeral: appends refused with TIDAL_EFULL */
    uint64_t disk_errors;   /* writes and syncs that failed (retries included) */
    uint64_t disk_recoveries; /* times the log took appends again after refusing them */
    uint64_t at_risk_first; /* while it refuses appends: the LSNs that were not */
    uint64_t at_risk_last;  /* durable when the disk failed (0, 0: none) */
    bool refusing;          /* the log refuses appends until a retry succeeds */
} tidal_wal_stats;
/* A consistent copy of the counters.  Cannot fail. */
void tidal_wal_stats_get(tidal_wal *w, tidal_wal_stats *out);

#endif /* TIDAL_STORE_WAL_H */
