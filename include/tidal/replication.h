/*
 * Replication (public API): faults between regions, reconciliation,
 * digests, the waits of read-your-writes across regions, and a region's
 * counters.
 * Part of the regions' API (tidal/region.h, which includes it, says what
 * regions and clusters are): every call here may be made from any thread
 * except an actor handler, and those returning int give 0 or a TIDAL_E*
 * code.
 */
#ifndef TIDAL_REPLICATION_H
#define TIDAL_REPLICATION_H

#include "tidal/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tidal/errors.h"
#include "tidal/hlc.h"
#include "tidal/types.h"
#include "tidal/fault.h"
#include "tidal/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- replication controls and state ------------------------------------ */

/* Re-sends to region `to` the last batch `from` shipped it that carried a
 * session write (the seed's replay_last_session_batch), through the
 * receiver's mailbox like a live one. */
TIDAL_API int tidal_cluster_replay_last_session_batch(tidal_cluster *c, tidal_region_id from,
                                                      tidal_region_id to) TIDAL_WARN_UNUSED;

/* Sets a fault rule on every link from region a's actors to region b's
 * (both ways if both_ways); clear with tidal_cluster_fault_clear. */
TIDAL_API int tidal_cluster_fault_set(tidal_cluster *c, tidal_region_id a, tidal_region_id b,
                                      const tidal_fault_rule *rule,
                                      int both_ways) TIDAL_WARN_UNUSED;
TIDAL_API int tidal_cluster_fault_clear(tidal_cluster *c, tidal_region_id a, tidal_region_id b,
                                        int both_ways);
/* Cuts a from b both ways. */
TIDAL_API int tidal_cluster_partition(tidal_cluster *c, tidal_region_id a,
                                      tidal_region_id b) TIDAL_WARN_UNUSED;
/* Heals every partition and fault rule, then asks every reconciler to run. */
TIDAL_API int tidal_cluster_heal(tidal_cluster *c) TIDAL_WARN_UNUSED;

/* Asks the region's reconciler to compare digests with every peer now. */
TIDAL_API int tidal_region_reconcile(tidal_region *r) TIDAL_WARN_UNUSED;

/* A digest of the region's whole replicated state: equal digests mean equal
 * state (convergence check). */
TIDAL_API uint64_t tidal_region_digest(tidal_region *r);

/* X(name, stable id, description): why a region's actors rejected a message
 * that reached them whole (the runtime's own rejections of bytes that are
 * not envelopes are tidal_stats.rejected).  A rejected message changes
 * nothing: no state, no ACK, no peer; a write that can be answered is
 * answered with an error.  Each rejection is counted here and logged, once
 * per power of two of its count (TIDAL_QUIET set: never). */
#define TIDAL_REGION_REJECT_MAP(X)                                                                 \
    X(BATCH_DECODE, "TIDAL-REGION-BATCH-DECODE", "BATCH message undecodable")                      \
    X(BATCH_TRUNCATED, "TIDAL-REGION-BATCH-TRUNCATED",                                             \
      "batch shorter than its header or its declared payload")                                     \
    X(BATCH_VERSION, "TIDAL-REGION-BATCH-VERSION", "batch header of another version")              \
    X(BATCH_CORRUPT, "TIDAL-REGION-BATCH-CORRUPT",                                                 \
      "batch header breaks a rule of its format, or bytes follow the batch")                       \
    X(BATCH_CRC, "TIDAL-REGION-BATCH-CRC", "batch checksum mismatch")                              \
    X(BATCH_RECORDS, "TIDAL-REGION-BATCH-RECORDS",                                                 \
      "batch checksum right, records undecodable, not `count` of them, or not applicable")         \
    X(ORIGIN_MISMATCH, "TIDAL-REGION-ORIGIN-MISMATCH",                                             \
      "claims a region it cannot: out of range, this one, unknown, or another than the "           \
      "batch or ACK it carries")                                                                   \
    X(SENDER_MISMATCH, "TIDAL-REGION-SENDER-MISMATCH",                                             \
      "sent by an actor that does not speak for the region it names")                              \
    X(ACK_DECODE, "TIDAL-REGION-ACK-DECODE", "ACK message undecodable")                            \
    X(ACK_BEYOND_SENT, "TIDAL-REGION-ACK-BEYOND-SENT", "ACK of an LSN never sent to that peer")    \
    X(WRITE_DECODE, "TIDAL-REGION-WRITE-DECODE", "WRITE message or its record undecodable")        \
    X(WRITE_MISDIRECTED, "TIDAL-REGION-WRITE-MISDIRECTED",                                         \
      "a record kind this actor does not write, or another session's record")                      \
    X(HANDOVER_DECODE, "TIDAL-REGION-HANDOVER-DECODE",                                             \
      "HANDOVER_REQ or HANDOVER message undecodable")                                              \
    X(HANDOVER_MISDIRECTED, "TIDAL-REGION-HANDOVER-MISDIRECTED",                                   \
      "names another session than its actor's, or a region out of range")                          \
    X(DIGEST_DECODE, "TIDAL-REGION-DIGEST-DECODE", "DIGEST message undecodable")                   \
    X(ENTRIES_DECODE, "TIDAL-REGION-ENTRIES-DECODE", "ENTRIES message undecodable")                \
    X(ENTRY_DECODE, "TIDAL-REGION-ENTRY-DECODE",                                                   \
      "one reconciliation entry undecodable or of an unknown kind (the others merge)")             \
    X(PEER_DECODE, "TIDAL-REGION-PEER-DECODE", "PEER message undecodable")                         \
    X(PEER_INVALID, "TIDAL-REGION-PEER-INVALID",                                                   \
      "PEER naming this region, one out of range, or a URL that is no address")                    \
    X(MSG_TYPE, "TIDAL-REGION-MSG-TYPE", "a message type this actor does not take")                \
    X(UNAUTHENTICATED, "TIDAL-REGION-UNAUTHENTICATED",                                             \
      "came through a connection that may not send it: a peer's message off that peer's "          \
      "listener, or the region's own (a tick, a PEER) from outside")                               \
    X(CLOCK_DECODE, "TIDAL-REGION-CLOCK-DECODE", "CLOCK message undecodable")

enum tidal_region_reject_reason {
#define TIDAL__REGION_REJECT_ENUM(name, id, desc) TIDAL_REGION_REJECT_##name,
    TIDAL_REGION_REJECT_MAP(TIDAL__REGION_REJECT_ENUM)
#undef TIDAL__REGION_REJECT_ENUM
        TIDAL_REGION_REJECT_COUNT
};

/* The stable id of a reason ("TIDAL-REGION-BATCH-CRC"); "?" out of range.
 * Cannot fail. */
TIDAL_API const char *tidal_region_reject_id(int reason);

typedef struct tidal_region_stats {
    uint64_t writes;                  /* writes originated here */
    uint64_t batches_shipped;         /* batch messages sent (retransmits included) */
    uint64_t batches_shipped_at_sync; /* of those, sent by the log's sync thread right
                                       * after the sync that made them durable */
    uint64_t batches_applied;         /* peer batches applied */
    uint64_t batches_duplicate;       /* peer batches dropped as already applied */
    uint64_t batches_held;            /* peer batches held for a gap */
    uint64_t batches_paused;          /* peer batches not taken (not applied, not
                                       * acknowledged: sent again) because their origin
                                       * had TIDAL_HELD_RECORDS_MAX session records held
                                       * here (docs/design.md, "Held records") */
    uint64_t session_records_held;    /* session records held here now: their session's
                                       * start or an earlier seqno is in a log not
                                       * applied yet */
    uint64_t acks_sent;               /* ACKs sent to peers' shippers (several batches
                                       * each: actors/apply.c, "Delayed ACKs") */
    uint64_t seqno_duplicates;        /* session writes dropped by the HWM */
    uint64_t reconcile_rounds;
    uint64_t reconcile_entries;              /* entries received from peers by reconciliation */
    uint64_t reconcile_bytes;                /* bytes sent by reconciliation */
    uint64_t applied_lsn[TIDAL_REGIONS_MAX]; /* per origin region: highest LSN up to which
                                              * the origin's state is here (a range it
                                              * released counts once reconciled) */
    uint64_t acked_lsn[TIDAL_REGIONS_MAX];   /* per peer: highest of our LSNs it acknowledged */
    uint64_t last_lsn;                       /* LSN of the latest write originated here (0: none);
                                              * unlike writes, it survives a reopen */
    uint64_t durable_lsn;                    /* highest of its LSNs durable under its policy: at
                                              * least last_lsn once a write under TIDAL_SYNC with
                                              * a directory has returned */
    uint64_t room_waits;                     /* write calls that waited for room in a full log
                                              * (counted as they start waiting) */
    uint64_t peers_let_go;   /* times a peer stopped holding the log (peer_hold_ms) */
    uint64_t writes_refused; /* writes refused for room, disk, a limit or memory (log.h) */
    uint64_t rejected[TIDAL_REGION_REJECT_COUNT]; /* messages rejected, by reason */
    uint64_t lost_first_lsn;          /* opened with opts.salvage: the lowest and highest LSN */
    uint64_t lost_last_lsn;           /* of this region's own log that were lost (0: none; */
    uint64_t lost_lsns;               /* the operator log lists each range), and how many */
    uint32_t logs_salvaged;           /* logs (its own, copies of peers') opened with a loss */
    uint64_t records_skipped;         /* logged records no rule could apply (a bug: never
                                       * expected; each goes to the operator log) */
    uint64_t sessions;                /* sessions held here: live, or ended within the
                                       * retention */
    uint64_t sessions_freed;          /* ended sessions freed here past the retention */
    uint64_t session_tombstones;      /* freed sessions remembered (id, end stamp) */
    uint64_t session_records_dropped; /* records and reconciliation entries of freed
                                       * sessions dropped on arrival */
    /* The disk (docs/wal-format.md, "When the disk refuses"): */
    uint64_t disk_errors;       /* writes and syncs of its logs (its own, copies) that
                                 * failed, retries included */
    uint64_t disk_recoveries;   /* times a log that refused writes took them again */
    uint64_t at_risk_first_lsn; /* while its own log refuses writes: the lowest and */
    uint64_t at_risk_last_lsn;  /* highest of its LSNs not durable when the disk failed
                                 * (0: none), lost if the process ends before the log
                                 * writes them again; SYNC: not acknowledged, not
                                 * visible; INTERVAL: visible, not acknowledged */
    bool disk_read_only;        /* its own log refuses writes (TIDAL_EIO) until a retry
                                 * writes them again: the disk failed */
    /* Clocks (docs/design.md, "Clocks"): */
    bool clock_fenced;                          /* the stamps this region gives are more than
                                                 * max_skew_ns ahead of a reachable peer's clock: it
                                                 * refuses the writes it would stamp (TIDAL_EFENCED,
                                                 * TIDAL-REGION-CLOCK-AHEAD) until back within; kept
                                                 * as it was while no peer is reachable */
    uint64_t writes_fenced;                     /* writes refused for it (not in writes_refused) */
    uint32_t clock_reachable;                   /* bit p: peer p's clock was heard from within
                                                 * TIDAL_CLOCK_FRESH_MS, so its estimate counts */
    int64_t clock_offset_ns[TIDAL_REGIONS_MAX]; /* per peer: how far this region's wall
                                                 * clock is ahead of p's (negative: behind), from
                                                 * p's latest CLOCK message - over the truth by that
                                                 * message's delay; 0 until heard from */
} tidal_region_stats;

TIDAL_API void tidal_region_stats_get(tidal_region *r, tidal_region_stats *out);

/* Blocks until this region has applied origin's log up to lsn (its
 * stats.applied_lsn[origin] >= lsn) or timeout_ms passes; 0 only checks.
 * A read of this region made after it returned 0 sees every write of
 * origin's up to lsn (the origin's stats.last_lsn after a write names it):
 * read-your-writes across regions.  That holds for a range the origin
 * released before this region had it too: the watermark passes such a
 * range only once a reconciliation round with the origin has brought its
 * state (actors/watermark.c, "Gaps").  Returns 0; TIDAL_ETIMEDOUT;
 * TIDAL_EINVAL for an origin out of range or this region itself;
 * TIDAL_ECLOSED if the region is closed while the call waits. */
TIDAL_API int tidal_region_wait_applied(tidal_region *r, tidal_region_id origin, uint64_t lsn,
                                        uint32_t timeout_ms) TIDAL_WARN_UNUSED;

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_REPLICATION_H */
