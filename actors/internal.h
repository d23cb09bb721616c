/*
 * Internals of the actor layer: regions, their actors and the cluster.
 *
 * One region = one runtime (node) with three socket-backed actors and many
 * virtual ones:
 *   region-<id>      owns the replicated state; applies peers' batches in LSN
 *                    order per origin (follower path, apply.c); takes writes
 *                    that are not about a session (hide, unhide)
 *   region-<id>/sid  session actors (virtual, key = 16-byte session id):
 *                    hand a session's home over and order the writes that
 *                    wait for it (session.c); writes at the home are made on
 *                    the caller's thread, as if by this actor
 *   shipper-<id>     retransmits what peers have not acknowledged, catches up
 *                    lagging peers from the WAL, releases acknowledged segments
 *   reconciler-<id>  exchanges state digests with peers (reconciler.c)
 *
 * Write path (one mailbox hop to visibility, two for a session write that
 * moves the session's home): the caller's own thread writes a hide or
 * unhide, and a session write when this region is the session's home
 * (client.c); a session write elsewhere is an ask to the session's actor
 * (a hop), which has the home hand the session over first; a remote
 * client's write reaches the region actor or the session actor (a hop).
 * The writer applies the write to the state and appends it to the region's
 * WAL (write.c) - under SYNC with a directory the apply waits for the sync
 * that makes it durable (pending.c), so no read sees a write the disk could
 * still refuse.  Then the batch is shipped (ship.c) - the last hop:
 *
 * Shipping has one owner.  Everything that is sent to a peer of this
 * region's log - batches, retransmits, the base of a released log - is sent
 * by one sequence in ship.c, under r->ship.lock, as the shipper actor
 * ("shipper-<id>"), whoever runs it: the writer whose batch became durable
 * at once (ephemeral, NONE: it keeps the single hop), the WAL's sync thread
 * after a sync (SYNC, INTERVAL: a peer never sees a batch its origin could
 * still lose, so LSNs are never reused after a crash), or the shipper actor
 * on its tick and on each ACK.  A caller that finds the sequence running
 * leaves its batch to the one running it.  So batches leave in LSN order,
 * under the shipper's name and message ids whoever triggered them, and
 * fault rules on "shipper-<id>" hit every one of them.  The client's call
 * waits for durability on its own thread, never in a handler.
 *
 * Released logs: an ephemeral origin releases the batches every peer that
 * holds its log has acknowledged, which bounds its memory; a peer cut off
 * while writes wait for room lets go of it (shipper.c, "Holding the log").
 * (A region with a directory keeps its whole log: it rebuilds its state
 * from it on open, and there is no snapshot to rebuild from instead.
 * Deleting acknowledged segments, as an earlier version did, emptied the
 * state of a region reopened after them.)  A peer that needs released ones
 * (it joined later, was let go, or came back without what it had
 * acknowledged) cannot get them by shipping: the origin's shipper sends it
 * an ACK message of its own (from "shipper-<o>" to "region-<p>", applied_lsn
 * = the LSN before the oldest batch kept), the peer's follower path moves
 * its applied LSN of that origin there and asks its reconciler for a round,
 * which brings it the state of what it skipped; shipping goes on from the
 * oldest batch kept.  The published watermark does not move past the
 * skipped range until such a round with the origin has completed
 * (watermark.c, "Gaps"), and a region with a directory logs what the round
 * merged (reconciled.c).
 *
 * Owners and lock order (acquire left before right, never the reverse):
 *     cb_lock -> ship.lock -> a WAL's lock; ship.lock -> runtime locks
 *     state.lock -> a WAL's lock
 *     peers.lock, wm.lock and learn.lock are leaves.
 *   state.lock and ship.lock are never held together: a writer appends and
 *   applies under state.lock, lets go, then ships.
 *   struct tidal_region names each part's owner.  No lock of this layer is
 *   held while waiting for the disk (a WAL never syncs under its lock), and
 *   none while calling into a handler.  The one lock held while sending is
 *   ship.lock (ship.c: so that batches leave in LSN order); a send never
 *   waits for room there.
 */
#ifndef TIDAL_ACTORS_INTERNAL_H
#define TIDAL_ACTORS_INTERNAL_H

#include "actors/region_parts.h"

/* A deliberate ignore of a call marked warn_unused_result (a cast to void
 * does not silence gcc); the reason is written beside each use. */
#define TIDAL_IGNORE(expr)                                                                 \
    do {                                                                                   \
        if ((expr) != 0) {                                                                 \
        }                                                                                  \
    } while (0)

/* Arms the actor's next tick.  A closing runtime refuses new timers
 * (TIDAL_ECLOSED): that is not the actor failing, and reporting it as a
 * handler failure would have the actor restarted (and, as its init cannot
 * arm a timer either, stopped) in the middle of the close. */
static inline int
tidal__tick_after(tidal_ctx *ctx, uint32_t ms)
{
    int rv = tidal_ctx_timer(ctx, ms, TIDAL_MSG_TICK, NULL, 0);
    return rv == TIDAL_ECLOSED ? 0 : rv;
}

/* ---- state.c: the replicated state, always under state_lock ---- */
int tidal__state_open(tidal_region *r);
void tidal__state_close(tidal_region *r);
/* Applies one record that came in origin's log (this region's own for its
 * writes).  Caller holds state_lock. */
int tidal__state_apply(tidal_region *r, const tidal_record *rec, uint16_t origin);
/* Applies a record that is in a log already (a peer's batch, recovery, an
 * origin's own write after its append): total.  Out of memory aborts the
 * process (the restart replays the log); any other failure is a broken
 * rule - reported, counted and skipped rather than stalling every record
 * behind it.  Caller holds state_lock.  Cannot fail. */
void tidal__state_apply_logged(tidal_region *r, const tidal_record *rec, uint16_t origin);
/* Frees a held record already taken off its session's list, and uncounts
 * it (held.c).  Caller holds state_lock.  Cannot fail. */
void tidal__state_unhold(tidal_region *r, struct tidal__held_write *w);
int tidal__state_fill_signal(tidal_region *r, tidal_record *rec);
int tidal__state_session_merged(tidal_region *r, const tidal_session_id *sid);
/* Caller's thread, state.lock not held: waits until this region has applied
 * sid's signals up to seqno (its HWM reached it: a read sees them) or the
 * session is gone here, up to timeout_ms.  0 or TIDAL_ETIMEDOUT. */
int tidal__state_wait_seen(tidal_region *r, const uint8_t sid[16], uint64_t seqno,
                           uint32_t timeout_ms);
/* Merges a peer's reconciliation entry of a session, or a tombstone (the
 * encodings of store/session.h), under the retention rule (docs/design.md,
 * "Ended sessions"): an entry of a session freed here is dropped, and one
 * that is expired, or makes the session expired, frees it.  Caller holds
 * state_lock.  0, or the store's code (bad input, a full table, memory). */
int tidal__state_merge_session(tidal_region *r, const uint8_t *entry, size_t len);
int tidal__state_merge_tomb(tidal_region *r, const uint8_t *entry, size_t len);
uint64_t tidal__state_digest(tidal_region *r);

/* ---- retention.c: ended sessions freed past the retention ---- */
/* Sessions (then tombstones) the region actor's sweep examines per tick,
 * in one hold of state_lock: about a millisecond's work at most. */
#define TIDAL_SWEEP_PER_TICK 4096u
/* The wall time (ns) before which an ended session is expired now (past the
 * retention); 0 when the region keeps every session.  Cannot fail. */
uint64_t tidal__retention_cutoff(const tidal_region *r);
/* True if a session held here, whose fields are info, is expired now: for
 * every reader and writer it is gone, freed or not yet.  Cannot fail. */
bool tidal__retention_expired(const tidal_region *r, const tidal_session_state *info);
/* Frees session sid now if it is expired (its signals, HWM and held
 * writes), leaving its tombstone.  Caller holds state_lock.  Cannot fail:
 * with no memory for the tombstone, the sweep frees it later. */
void tidal__retention_check(tidal_region *r, const tidal_session_id *sid);
/* Records that sid, a session not held here, ended at `ended`: its
 * tombstone, and its held writes dropped.  Caller holds state_lock.
 * TIDAL_ENOMEM (nothing changed). */
int tidal__retention_bury(tidal_region *r, const tidal_session_id *sid, const tidal_hlc *ended);
/* Counts a record or entry of a freed session dropped.  Cannot fail. */
void tidal__retention_dropped(tidal_region *r);
/* The region actor's tick: starts a pass of the sweep when one is due,
 * and runs one slice of it (TIDAL_SWEEP_PER_TICK).  Takes state_lock. */
void tidal__retention_tick(tidal_region *r);
/* The retention's fields of the stats.  Takes state_lock. */
void tidal__retention_stats(tidal_region *r, tidal_region_stats *out);

/* ---- peerfile.c: the regions a region was ever a peer of ---- */
int tidal__peerfile_load(tidal_region *r);
void tidal__peerfile_add(tidal_region *r, uint32_t mask);

/* ---- write.c: a write at its origin ---- */
/* TIDAL_ESKEW if a client's stamp in rec (a hide's or unhide's hlc, a
 * signal's ts_ns) is more than opts.max_skew_ns ahead of the wall clock;
 * else 0.  Every write checks it before anything else. */
int tidal__stamp_check(tidal_region *r, const tidal_record *rec);
int tidal__write_local(tidal_region *r, tidal_ctx *ctx, tidal_record *recs, uint32_t n,
                       uint64_t *lsn);
/* The same for hides and unhides stamped by the caller (the _with_ts
 * calls): stored as given, so not refused by the clock fence. */
int tidal__write_given(tidal_region *r, tidal_record *recs, uint32_t n, uint64_t *lsn);
/* Waits on the caller's thread, up to left_ms, for room for a batch of len
 * bytes in the region's log (tidal_wal_wait_room's results).  In a
 * simulation the log's own wait would block the one thread that must make
 * the room: the simulation runs until there is room instead. */
int tidal__wait_room(tidal_region *r, size_t len, uint32_t left_ms);
/* Decides, under state_lock and in the same hold as the append, whether a
 * write goes on (0; it may fill in the record) or not (what the write then
 * returns, with nothing applied).  Called again with undo set, in the same
 * hold, when a write it let go on failed after all. */
typedef int (*tidal__write_gate)(tidal_region *r, tidal_record *rec, bool undo);
int tidal__write_gated(tidal_region *r, tidal_ctx *ctx, tidal_record *rec, tidal__write_gate gate,
                       uint64_t *lsn);

void tidal__reply_write_result(tidal_ctx *ctx, const tidal_reply_to *to, int code, uint64_t seqno,
                               uint64_t lsn);
/* Rejects a client's WRITE (reject.c) and, if the sender asked, answers it
 * with code, never a success.  Cannot fail. */
void tidal__write_reject(tidal_region *r, tidal_ctx *ctx, const tidal_msg *msg, int reason,
                         const tidal_decode_err *err, int code);
/* Decodes a client's WRITE and its record.  On error the write is rejected
 * (WRITE_DECODE, answered with the decoder's code, such as TIDAL_ETRUNCATED
 * or TIDAL_EFIELD) and that code returned. */
int tidal__write_decode(tidal_region *r, tidal_ctx *ctx, const tidal_msg *msg, tidal_msg_write *m,
                        tidal_record *rec) TIDAL_WARN_UNUSED;

/* ---- held.c: the bound on held session records ---- */
/* Follower path: true if a batch of origin (its payload, count records)
 * may be taken: the origin's records held here and the batch's that may be
 * held stay within the bound, or none of the origin's is held.  Takes
 * state.lock.  Cannot fail. */
bool tidal__held_admits(tidal_region *r, uint16_t origin, const uint8_t *payload, size_t len,
                        uint32_t count);
/* A batch of origin at first_lsn was not taken for the bound: counted and
 * logged (rate-limited).  Takes state.lock.  Cannot fail. */
void tidal__held_paused(tidal_region *r, uint16_t origin, uint64_t first_lsn);
/* For tests: the bound this region applies (0: TIDAL_HELD_RECORDS_MAX), a
 * small one being reachable.  Takes state.lock.  Cannot fail. */
void tidal__held_max_set(tidal_region *r, uint32_t max);
/* Records held here now, every origin's.  Takes state.lock.  Cannot fail. */
uint64_t tidal__held_total(tidal_region *r);

/* ---- apply.c: the follower path ---- */
int tidal__apply_batch(tidal_region *r, tidal_ctx *ctx, const tidal_msg *msg);
int tidal__apply_payload(tidal_region *r, const uint8_t *payload, size_t len, uint32_t count,
                         uint16_t origin);
void tidal__apply_log_base(tidal_region *r, tidal_ctx *ctx, const tidal_msg *msg);
void tidal__gap_ask_round(tidal_region *r, tidal_ctx *ctx, uint16_t origin, bool first);
void tidal__send_ack(tidal_region *r, tidal_ctx *ctx, uint16_t origin);
void tidal__send_acks_owed(tidal_region *r, tidal_ctx *ctx, bool all);

/* ---- watermark.c: the applied watermark and its waiters ---- */
void tidal__watermark_init(tidal_region *r);
void tidal__watermark_fini(tidal_region *r);
void tidal__watermark_close(tidal_region *r);
/* The follower's position of origin moved to lsn (region actor only): the
 * published watermark follows it up to an open gap's hold. */
void tidal__publish_applied(tidal_region *r, uint16_t origin, uint64_t lsn);
/* A log base is about to move origin's position past LSNs whose state has
 * not arrived (region actor only, before it publishes the base): the
 * published watermark stays where it is until a round fills the gap. */
void tidal__watermark_gap_open(tidal_region *r, uint16_t origin);
/* True while a gap of origin is open.  Lock-free.  Cannot fail. */
bool tidal__watermark_gap_pending(tidal_region *r, uint16_t origin);
/* How many gaps of origin were opened so far: a round records it when it
 * starts.  Lock-free.  Cannot fail. */
uint64_t tidal__watermark_gap_epoch(tidal_region *r, uint16_t origin);
/* A round with origin that started at epoch has completed: if no gap was
 * opened since, the gap is filled and the watermark published up to the
 * position.  Any thread.  Cannot fail. */
void tidal__watermark_gap_fill(tidal_region *r, uint16_t origin, uint64_t epoch);

/* ---- region actor, session actors, shipper, reconciler ---- */
extern const tidal_behaviour tidal__region_behaviour;
extern const tidal_behaviour tidal__session_behaviour;
/* Outcomes of tidal__session_write besides 0 and errors (never a client's) */
#define TIDAL__SESSION_ELSEWHERE 1 /* another region is the home: hand over first */
#define TIDAL__SESSION_STARTED 2   /* a start of a session that exists: nothing written */
int tidal__session_write(tidal_region *r, tidal_ctx *ctx, tidal_record *rec, uint64_t *lsn);
extern const tidal_behaviour tidal__shipper_behaviour;
extern const tidal_behaviour tidal__reconciler_behaviour;

/* ---- pending.c: own writes waiting for their sync (SYNC with a directory) ---- */
void tidal__pending_init(tidal_region *r);
void tidal__pending_fini(tidal_region *r);
/* Under state.lock, before a write's gate: TIDAL_ESTATE for a signal of a
 * session whose END waits here, else 0. */
int tidal__pending_check(tidal_region *r, const tidal_record *rec);
/* Under state.lock, after tidal__state_fill_signal: raises a signal's
 * counter components over those of the signals waiting here.  0 or the
 * types table's error. */
int tidal__pending_fill(tidal_region *r, tidal_record *rec);
/* Under state.lock, before the append: a copy of recs to wait here, with
 * room made for what it marks.  TIDAL_ENOMEM. */
int tidal__pending_prepare(tidal_region *r, const tidal_record *recs, uint32_t n,
                           struct tidal__pending_batch **out);
/* Frees a batch never added.  Accepts NULL. */
void tidal__pending_discard(struct tidal__pending_batch *b);
/* Under state.lock, after the append gave b its first LSN: b waits here
 * (owned); its START and HOME records are applied at once.  0, or the
 * apply's error (b waits all the same: it is in the log). */
int tidal__pending_add(tidal_region *r, struct tidal__pending_batch *b, uint64_t first_lsn);
/* Under state.lock: applies, in LSN order, every batch up to durable. */
void tidal__pending_apply(tidal_region *r, uint64_t durable);
/* Takes state.lock: the same up to the own log's durable LSN, for a writer
 * whose wait returned (read-your-writes).  Cannot fail. */
void tidal__pending_catch_up(tidal_region *r);
/* Under state.lock, in a USER_COUNTER's gate: what the records here say of
 * rec's (user, key) component and of this region's fresh pairs (pending.c),
 * for tidal_ucounters_prepare.  Cannot fail. */
void tidal__pending_uc_floor(tidal_region *r, const tidal_record *rec,
                             struct tidal_ucounters_floor *f);
/* Under state.lock: the disk refused the own log's LSNs from first on:
 * what their writes took at the append is given back.  Cannot fail. */
void tidal__pending_refused(tidal_region *r, uint64_t first);

/* ---- logs.c: the region's own log and its copies of its peers' ---- */
/* Opens the log of origin (this region's own, or a copy of a peer's),
 * reporting a truncated tail or a refused log to the operator log. */
int tidal__open_log(tidal_region *r, uint16_t origin, uint16_t shard, tidal_wal **out);
/* Opens the region's reconciled log, <dir>/reconciled (dir only). */
int tidal__open_reconciled_log(tidal_region *r, tidal_wal **out);
/* The own log's sync thread after a sync: ships what it made durable. */
void tidal__on_durable(void *arg, uint64_t lsn);

/* ---- ship.c: the one shipping sequence (shipper.c: its actor) ---- */
/* Who runs a round: a writer, the WAL's sync thread, the shipper actor. */
enum tidal__ship_by { TIDAL__SHIP_BY_WRITER, TIDAL__SHIP_BY_SYNC, TIDAL__SHIP_BY_SHIPPER };
void tidal__ship_init(tidal_region *r);
void tidal__ship_fini(tidal_region *r);
/* Ships what is durable and every peer lacks, on the calling thread, at most
 * TIDAL_SHIP_DURABLE_RECORDS_MAX LSNs per peer (more is left to the shipper
 * actor, woken for it); or, if a round is running, leaves it to that one.
 * Never waits.  Cannot fail: what could not go is resent from the ACKs. */
void tidal__ship_now(tidal_region *r, enum tidal__ship_by by);
/* Runs rounds while requests come in (at most a few, then the shipper actor
 * is woken for the rest), holding ship.lock on entry if locked, else taking
 * it only if it is free; returns with it released.  budget: LSNs per peer
 * (0: no limit). */
void tidal__ship_rounds(tidal_region *r, enum tidal__ship_by by, uint32_t budget, bool locked);
/* The highest LSN sent to peer p (for tests and stats).  Cannot fail. */
uint64_t tidal__ship_sent_upto(tidal_region *r, tidal_region_id p);

/* ---- introduce.c: how two regions become peers ---- */
/* Makes r and every other open region of c peers.  Caller holds c->lock. */
void tidal__introduce(tidal_cluster *c, tidal_region *r);
/* Region self's TLS identity trusting region other: paths into p; NULL
 * unless the cluster is tls+tcp://. */
struct tidal__tls_paths {
    char key[256], peer[256], name[32];
    tidal_tls_opts opts;
};
const tidal_tls_opts *tidal__tls_for(const tidal_cluster *c, tidal_region_id self,
                                     tidal_region_id other, struct tidal__tls_paths *p);

/* ---- learn.c: learning from the peers after a salvage ---- */
void tidal__learn_init(tidal_region *r);
void tidal__learn_fini(tidal_region *r);
/* At open, before any actor runs: the own log lost LSNs; writes wait until
 * the peers were heard from.  Cannot fail. */
void tidal__learn_start(tidal_region *r);
/* Before a write: 0 if writes are taken; while learning, TIDAL_EBUSY for a
 * handler (ctx), else waits up to write_timeout_ms (TIDAL_ETIMEDOUT). */
int tidal__learn_wait(tidal_region *r, tidal_ctx *ctx);
/* Shipper actor, before it checks an ACK of peer p stamped `stamp`: while
 * learning, skips the log to applied if that is above its last LSN (takes
 * state.lock), and counts p as heard if the stamp shows the ACK was sent
 * after the open (learn.c).  Cannot fail: a refused skip is logged. */
void tidal__learn_ack(tidal_region *r, tidal_ctx *ctx, tidal_region_id p, uint64_t applied,
                      const tidal_hlc *stamp);
/* Shipper actor's tick: probes the peers not heard from, ends learning
 * when due.  Cannot fail. */
void tidal__learn_tick(tidal_region *r, tidal_ctx *ctx);

/* ---- clock.c: offsets from the peers' clocks, and the fence ---- */
/* Shipper actor's tick: sends each known peer its CLOCK when one is due
 * (TIDAL_CLOCK_BEAT_MS).  Cannot fail: a refused send goes next tick. */
void tidal__clock_tick(tidal_region *r, tidal_ctx *ctx);
/* Shipper actor: a peer's CLOCK (admitted): a new estimate of that peer,
 * and the verdict evaluated again.  One that does not decode is rejected
 * (CLOCK_DECODE) and changes nothing.  Cannot fail. */
void tidal__clock_on_msg(tidal_region *r, const tidal_msg *msg);
/* Before a write the region stamps itself, before anything is logged:
 * TIDAL_EFENCED (counted, reported) if the region's stamps are more than
 * its budget ahead of a reachable peer's clock - or, with none reachable,
 * if it was fenced when it last had one; else 0. */
int tidal__clock_fence(tidal_region *r);
/* The clock's fields of the stats.  Cannot fail. */
void tidal__clock_stats(tidal_region *r, tidal_region_stats *out);

/* ---- peers.c: the peer table, and sending to peers ---- */
int tidal__peer_set(tidal_region *r, const tidal_msg_peer *p) TIDAL_WARN_UNUSED;
bool tidal__peer_get(tidal_region *r, tidal_region_id id, struct tidal__peer *out);
/* Only peer id's region actor's address: the shipping sequence's need, with
 * less copied.  False if the peer is not known. */
bool tidal__peer_region(tidal_region *r, tidal_region_id id, tidal_addr *out);

/* True if peer id is known.  Lock-free.  Cannot fail. */
static inline bool
tidal__peer_known(tidal_region *r, tidal_region_id id)
{
    return id < TIDAL_REGIONS_MAX && (atomic_load(&r->peers.known) & (1u << id)) != 0;
}
_Static_assert(TIDAL_REGIONS_MAX <= 32, "tidal__peers.known has a bit per region");

/* Sends from a handler (ctx) or, with ctx NULL, from any thread on behalf
 * of the actor at `as` of r's runtime (NULL: r's region actor), on its link
 * and under its fault rules. */
int tidal__send_msg(tidal_region *r, tidal_ctx *ctx, const tidal_addr *as, const tidal_addr *to,
                    uint16_t type, const tidal_buf *payload);

/* ---- trust.c: who may send what ---- */
enum tidal__actor_kind {
    TIDAL__ACTOR_REGION = 0, /* also the index of its URLs in listen_url[p] */
    TIDAL__ACTOR_SHIPPER = 1,
    TIDAL__ACTOR_RECONCILER = 2,
    TIDAL__ACTOR_SESSION = 3
};
/* The peer tag of region id's listeners (0 is TIDAL_VIA_PUBLIC). */
#define TIDAL__PEER_TAG(id) ((uint16_t)((id) + 1u))
_Static_assert(TIDAL_REGIONS_MAX <= TIDAL_VIA_PEER_MAX, "a peer tag per region");
_Static_assert(TIDAL_PEER_LISTENERS_MAX >= TIDAL_REGIONS_MAX - 1, "a listener per peer");

/* The peer whose listener msg came through; TIDAL_REGIONS_MAX if none.
 * Cannot fail. */
static inline tidal_region_id
tidal__via_peer(const tidal_msg *msg)
{
    return msg->via >= 1 && msg->via <= TIDAL_REGIONS_MAX ? (tidal_region_id)(msg->via - 1)
                                                          : TIDAL_REGIONS_MAX;
}
/* True if msg came through a connection allowed to send its type to an
 * actor of kind; otherwise rejects it (UNAUTHENTICATED).  Cannot fail. */
bool tidal__admit(tidal_region *r, enum tidal__actor_kind kind, const tidal_msg *msg);

/* ---- reject.c: messages the region's actors refuse ---- */
/* Counts a rejection of msg (may be NULL) for reason and logs it with the
 * sender and the decoder's detail (err may be NULL), once per power of two
 * of the reason's count.  The caller changes nothing else.  Cannot fail. */
void tidal__region_reject(tidal_region *r, int reason, const tidal_msg *msg,
                          const tidal_decode_err *err);

/* ---- state.c helpers ---- */
/* A session id as the 16 big-endian bytes records and keys carry, and back. */
static inline void
tidal__sid_to_bytes(const tidal_session_id *s, uint8_t out[16])
{
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(s->hi >> (56 - 8 * i));
        out[8 + i] = (uint8_t)(s->lo >> (56 - 8 * i));
    }
}

static inline void
tidal__sid_from_bytes(const uint8_t in[16], tidal_session_id *s)
{
    s->hi = s->lo = 0;
    for (int i = 0; i < 8; i++) {
        s->hi = (s->hi << 8) | in[i];
        s->lo = (s->lo << 8) | in[8 + i];
    }
}

#endif /* TIDAL_ACTORS_INTERNAL_H */
