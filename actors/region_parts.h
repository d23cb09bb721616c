/*
 * The parts of a region, one per owner, and the constants they are sized
 * by.  Who owns each part, and the order their locks are taken in, is in
 * actors/internal.h's header comment; the functions that work on them are
 * declared there.  Included by internal.h only.
 */
#ifndef TIDAL_ACTORS_REGION_PARTS_H
#define TIDAL_ACTORS_REGION_PARTS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "messages/msg_repl.h"
#include "messages/record.h"
#include "store/hardneg.h"
#include "store/ucounters.h"
#include "store/hmap.h"
#include "store/hwm.h"
#include "store/idem.h"
#include "store/pncounter.h"
#include "store/session.h"
#include "store/signals.h"
#include "store/sigtypes.h"
#include "store/wal.h"
#include "tidal/region.h"


/* A follower acknowledges the batches it applies on its region's tick, this
 * often, or at once when TIDAL_ACK_EVERY_BATCHES are owed to one origin
 * (apply.c, "Delayed ACKs"). */
#define TIDAL_ACK_DELAY_MS 20u
#define TIDAL_ACK_EVERY_BATCHES 256u
/* Retransmit a peer's unacknowledged batches after this long without progress
 * (well above TIDAL_ACK_DELAY_MS, so an ACK that is merely waiting for the
 * follower's tick causes no resend); the wait doubles on every
 * retransmit without progress, up to TIDAL_SHIP_RTO_MAX_MS, so a partitioned
 * peer costs a resend a second, not twenty. */
#define TIDAL_SHIP_RTO_MS 100u
#define TIDAL_SHIP_RTO_MAX_MS 1000u
/* Expired signal buckets are dropped this often (store/signals.h: a minute's
 * resolution is all the windows need). */
#define TIDAL_EXPIRE_EVERY_MS 60000u
/* The shipper's tick. */
#define TIDAL_SHIP_TICK_MS 20u
_Static_assert(TIDAL_SHIP_WINDOW_LSNS >= 4 * TIDAL_ACK_EVERY_BATCHES,
               "an ACK at once every TIDAL_ACK_EVERY_BATCHES keeps the window moving");
/* While a log base's gap is open (watermark.c, "Gaps"), the region actor
 * asks for a round again after this long, doubling up to the max. */
#define TIDAL_GAP_ASK_MS 100u
#define TIDAL_GAP_ASK_MAX_MS 1000u
/* A session actor re-asks for a handover after this long. */
#define TIDAL_HANDOVER_RETRY_MS 100u
/* Defaults of tidal_region_opts.write_timeout_ms and .peer_hold_ms (shipper.c,
 * "Holding the log").  A hold well above TIDAL_SHIP_RTO_MAX_MS: a peer that is
 * merely slow acknowledges on every tick of its own (TIDAL_ACK_DELAY_MS). */
#define TIDAL_WRITE_TIMEOUT_MS_DEFAULT 10000u
#define TIDAL_PEER_HOLD_MS_DEFAULT 1000u

/* Application message types of the actor layer (>= 1000 would be user
 * space; these are tidal's own, in messages/types.h). */

struct tidal__peer {
    bool known;
    tidal_addr region;
    tidal_addr shipper;
    tidal_addr reconciler;
};

/* A session write held because an earlier seqno has not been applied yet. */
struct tidal__held_write {
    struct tidal__held_write *next;
    uint16_t origin; /* the log it came in (held.c bounds each origin's) */
    tidal_record rec;
};

/* Held session writes per session (an entry of region->state.held). */
struct tidal__held_session {
    uint8_t sid[16];                /* hmap key */
    struct tidal__held_write *list; /* sorted by seqno */
    uint32_t n;
};

/* A batch held until the gap before it fills. */
struct tidal__held_batch {
    struct tidal__held_batch *next;
    uint64_t first_lsn;
    uint32_t len;
    uint8_t bytes[];
};

/* What shipping knows of one peer (ship.c, shipper.c).  acked is written by
 * the shipper actor (it takes the ACKs) and read by rounds without a lock,
 * so an ACK never waits for a round; sent_upto belongs to whoever holds
 * ship.lock; the rest is the shipper actor's alone. */
struct tidal__ship_peer {
    atomic_uint_least64_t acked; /* highest of our LSNs the peer applied */
    uint64_t sent_upto;          /* ship.lock: highest LSN sent (below acked: acked) */
    atomic_uint_least64_t sent_max; /* highest LSN ever sent by this incarnation: written
                                       by rounds (ship.lock), read by the ACK check */
    uint64_t last_progress_ms;   /* monotonic: last ACK progress or retransmit */
    uint64_t acked_ms;           /* monotonic: last ACK progress, or last caught up */
    uint32_t rto_ms;             /* retransmit wait, doubling; 0 until first seen */
    bool let_go;                 /* no longer holds the log ("Holding the log") */
};

/* Shipping's state, owned by ship.c (and shipper.c, its actor): whoever holds lock ships. */
struct tidal__ship {
    pthread_mutex_t lock;
    atomic_bool again;  /* a round was asked for while one ran: the holder runs another */
    atomic_bool kicked; /* a wake-up tick is on its way to the shipper actor */
    struct tidal__ship_peer peer[TIDAL_REGIONS_MAX];
    uint64_t recovered_lsn; /* the last LSN of the log when opened: what earlier
                               incarnations may have sent (set before any actor runs;
                               raised by the shipper actor when the log skips to
                               what a peer applied: learn.c) */
};

/* Learning from the peers after a salvage of the own log (learn.c).  on,
 * introduced and the condvar are shared (lock: a leaf); the rest is the
 * shipper actor's. */
struct tidal__learn {
    pthread_mutex_t lock;
    pthread_cond_t cond;    /* CLOCK_MONOTONIC: writers wait here for the end */
    atomic_bool on;         /* writes wait (caller's thread) or get TIDAL_EBUSY */
    atomic_bool introduced; /* the open has introduced the region to its peers */
    atomic_uint configured; /* bit p: a peer to hear from (the cluster's regions
                               ever opened, the copies' origins), set before
                               introduced */
    uint32_t heard;         /* bit p: peer p ACKed since the open */
    uint64_t until_ms;      /* monotonic: the end whoever was heard (salvage_wait_ms);
                               0 = none: every peer must answer */
    uint64_t probed_ms;     /* monotonic: the last probe */
    tidal_hlc fresh_after;  /* an ACK stamped at or before it may have been sent
                               before the open: it is believed, not counted */
};

/* The clock fence (clock.c).  lead_ns and heard_ms are written by the
 * shipper actor (it takes the peers' CLOCK messages) and read by writers
 * without a lock; sent_ms is the shipper actor's alone; fenced is written by
 * whoever evaluates the verdict, the shipper or a writer. */
struct tidal__clock {
    atomic_int_least64_t lead_ns[TIDAL_REGIONS_MAX]; /* our wall at its arrival minus the
                                                        wall peer p's latest CLOCK carried */
    atomic_uint_least64_t heard_ms[TIDAL_REGIONS_MAX]; /* monotonic: that arrival; 0 never */
    uint64_t sent_ms[TIDAL_REGIONS_MAX]; /* monotonic: our last CLOCK to p */
    atomic_bool fenced;                  /* the verdict: writes we would stamp are refused */
    atomic_uint_least64_t refused;       /* writes refused for it (stats.writes_fenced) */
    atomic_uint_least64_t turns;         /* verdict changes, for the log's rate limit */
};

/* The replicated state: store/ tables and the session writes held for an
 * earlier seqno.  Owner: whoever holds lock - a writer (write.c), the
 * follower path (apply.c), the reconciler, a reader (read.c). */
struct tidal__region_state {
    pthread_mutex_t lock;
    tidal_sigtypes *types;
    uint32_t types_brought; /* types this region's own writes brought in (limits.h) */
    tidal_signals *signals;
    tidal_sessions *sessions;
    tidal_hardneg *hardneg;
    tidal_ucounters *ucounters; /* per-(user, key) counters */
    tidal_hwm *hwm;
    tidal_idem *idem;
    tidal_hmap held; /* struct tidal__held_session by sid */
    pthread_cond_t seen_cv; /* CLOCK_MONOTONIC, with lock: a session's HWM may have
                               risen (tidal__state_wait_seen) */
    uint32_t seen_waiters;  /* threads waiting on seen_cv */
    uint32_t held_of[TIDAL_REGIONS_MAX]; /* records in held, by origin (held.c) */
    uint32_t held_max; /* TIDAL_HELD_RECORDS_MAX, or a test's (held.c) */
};

/* This region's own writes not yet durable, under SYNC with a directory
 * (pending.c): applied once a sync covered them.  Owner: whoever holds
 * state.lock. */
struct tidal__pending_batch;
struct tidal__pending {
    struct tidal__pending_batch *head, *tail; /* LSN order */
    tidal_hmap marks; /* what writes in flight decide on: see pending.c */
};

/* The follower path.  Owner: the region actor, alone (apply.c, region.c):
 * no lock. */
struct tidal__follow {
    uint64_t applied_lsn[TIDAL_REGIONS_MAX];
    bool copy_off[TIDAL_REGIONS_MAX];     /* the origin's log moved past our copy: no copy */
    uint64_t ack_sent[TIDAL_REGIONS_MAX]; /* the last ACK sent to each origin */
    uint32_t ack_owed[TIDAL_REGIONS_MAX]; /* batches applied since then */
    bool announced;                       /* the first tick acknowledged every peer */
    uint64_t expired_ms;                  /* when signal buckets were last expired */
    struct tidal__held_batch *held_batches[TIDAL_REGIONS_MAX];
    uint32_t held_count[TIDAL_REGIONS_MAX];
    /* an origin's gap (watermark.c, "Gaps") still open: when a round was
     * last asked for it, and the wait before asking again (doubling) */
    uint64_t gap_asked_ms[TIDAL_REGIONS_MAX];
    uint32_t gap_wait_ms[TIDAL_REGIONS_MAX];
};

/* The sweep of ended sessions past the retention (retention.c).  Owner: the
 * region actor, alone (its tick): no lock. */
struct tidal__sweep {
    size_t cursor;      /* in the sessions, then in the tombstones */
    bool running;       /* a pass is under way */
    bool tombs;         /* ... and is at its second part, the tombstones */
    uint64_t pass_ms;   /* monotonic: when the last pass started */
};

/* The peer table (peers.c).  Owner: whoever holds lock, a leaf; known
 * mirrors the known flags for lock-free checks (a peer, once known, stays
 * known). */
struct tidal__peers {
    pthread_mutex_t lock;
    struct tidal__peer of[TIDAL_REGIONS_MAX];
    atomic_uint_least32_t known; /* bit p: of[p].known */
};

/* The published watermark's inputs, and the threads blocked in
 * tidal_region_wait_applied (watermark.c).  Owner: whoever holds lock, a
 * leaf; position is written by the region actor alone, hold and gaps under
 * lock, and all three are read without it. */
struct tidal__watermark {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    atomic_uint waiters; /* blocked or about to block */
    bool closed;         /* the region is closing: waiters leave */
    /* per origin: the follower's position (follow.applied_lsn, log bases
     * included), the published watermark's bound while the state of a
     * released range has not arrived (UINT64_MAX: none), and how many log
     * bases opened such a gap ("Gaps", watermark.c) */
    atomic_uint_least64_t position[TIDAL_REGIONS_MAX];
    atomic_uint_least64_t hold[TIDAL_REGIONS_MAX];
    atomic_uint_least64_t gaps[TIDAL_REGIONS_MAX];
};

/* A region: one part per owner (the lock order is at the top of this
 * file). */
struct tidal_region {
    /* set at open, then read-only */
    tidal_cluster *cluster;
    tidal_region_opts opts;
    char dir[256];
    int dirlock; /* the flock on dir/LOCK while open (store/dirlock.h); -1: none */
    tidal_region_id id;
    tidal_runtime *rt;
    tidal_addr region_addr, shipper_addr, reconciler_addr;
    /* In a simulation, with a directory: the disk every log of the region
     * writes through (tidal/sim.h, "The disk"); NULL otherwise.  Made at
     * open, resolved by a crash or forgotten by a clean close (cluster.c). */
    struct tidal__simdisk *disk;

    /* The URLs this region's region actor, shipper and reconciler listen at
     * for each peer (trust.c): what that peer sends to.  Written once, when
     * the peer is first introduced; both under the cluster's lock. */
    char listen_url[TIDAL_REGIONS_MAX][3][TIDAL_URL_BYTES_MAX];
    uint8_t listening[TIDAL_REGIONS_MAX]; /* bit k: listen_url[p][k] is set */

    struct tidal__region_state state;
    struct tidal__pending pending; /* under state.lock */
    bool defer_apply; /* own writes wait for their sync to be applied (pending.c):
                         set when the own log opens, then read-only */

    /* logs: our own writes, and a durable copy of each peer's (dir only).
     * Each has its own lock (store/wal_state.h), taken under state.lock by
     * writers and the follower path, under ship.lock by rounds. */
    tidal_wal *wal;
    tidal_wal *peer_wal[TIDAL_REGIONS_MAX];
    /* dir only: what reconciliation merged (reconciled.c); under state.lock */
    tidal_wal *reconciled;

    struct tidal__follow follow;
    struct tidal__sweep sweep; /* retention.c */
    struct tidal__peers peers;
    struct tidal__ship ship; /* ship.c, shipper.c */
    struct tidal__learn learn; /* learn.c */
    uint32_t peers_ever; /* peerfile.c: bit p = region p was ever a peer (under the
                            cluster's lock) */
    struct tidal__clock clock; /* clock.c */

    /* a copy of the last batch that carried a session write, for the seed's
     * replay_last_session_batch (guarded by cb_lock) */
    tidal_buf last_session_batch;

    /* the WAL sync thread ships until close: cb_lock and cb_closed keep it
     * from a closed runtime (logs.c) */
    pthread_mutex_t cb_lock;
    bool cb_closed;

    /* correlation ids of handover requests (session.c), unique across
     * incarnations: it starts at a random value drawn at the region's open */
    atomic_uint_least64_t handover_corr;

    /* what a salvage lost of the region's own log (set at open, then
     * read-only), and how many logs lost anything (a copy may be opened
     * later, by the follower path); logs.c */
    uint64_t lost_first, lost_last, lost_lsns;
    atomic_uint logs_salvaged;

    /* counters */
    atomic_uint_least64_t st_writes, st_shipped, st_shipped_at_sync, st_applied, st_dup_batches,
        st_held, st_acks, st_seqno_dups, st_rounds, st_rentries, st_rbytes, st_room_waits,
        st_let_go, st_refused, st_apply_skipped, st_disk_errors, st_disk_recoveries,
        st_paused;
    atomic_uint_least64_t st_rounds_done; /* rounds of ours that completed (reconciler.c) */
    atomic_uint_least64_t st_sessions_freed, st_session_drops; /* retention.c */
    atomic_uint_least64_t st_acked[TIDAL_REGIONS_MAX];
    atomic_uint_least64_t st_applied_lsn[TIDAL_REGIONS_MAX];
    atomic_uint_least64_t st_rejected[TIDAL_REGION_REJECT_COUNT]; /* reject.c */

    struct tidal__watermark wm;
};

struct tidal_cluster {
    pthread_mutex_t lock;
    char url[TIDAL_URL_BYTES_MAX];
    uint64_t seed;
    uint32_t workers;
    char tls_dir[224]; /* "" unless tls+tcp:// (region.h) */
    struct tidal_sim *sim; /* the regions' runtimes run in it (tidal/sim.h); NULL = real */
    tidal_region *regions[TIDAL_REGIONS_MAX];
    uint32_t opened; /* bit i: region i was opened in this cluster (under lock):
                        a salvaged region waits for each of them (learn.c) */
};

#endif /* TIDAL_ACTORS_REGION_PARTS_H */
