/*
 * The shipper actor ("shipper-<id>"): takes its peers' ACKs, retransmits what
 * they have not acknowledged, lets stalled peers go and releases what every
 * holding peer has; it runs the shipping sequence (ship.c) on each tick and
 * ACK, and whatever writers and the sync thread left to it.
 *
 * Retransmits.  If acked has not moved for rto_ms while batches above it are
 * durable, the peer's sent_upto falls back to acked and the round sends
 * everything after it again (lost or dropped batches, a peer that
 * restarted, a new peer: it starts at acked = 0).  The wait starts at
 * TIDAL_SHIP_RTO_MS and doubles on every retransmit without progress, up to
 * TIDAL_SHIP_RTO_MAX_MS, so a partitioned peer costs a resend a second.  A
 * send refused (a full link or mailbox) leaves sent_upto at the last batch
 * that went; the next round goes on from there.
 *
 * Holding the log (ephemeral regions; one with a directory keeps its whole
 * log: internal.h).  The batches a peer has not acknowledged are kept for
 * it: the log is released up to the lowest ACK of the peers that hold it
 * (release_held), which bounds memory, and a write past the bound waits for
 * room (region.h, "Backpressure").  A peer holds the log until it has
 * acknowledged nothing for opts.peer_hold_ms while writes wait for room
 * (tidal_wal_wants_room).  Then it lets go (let_go_stalled, counted in
 * peers_let_go): the log is released past it and the writes go on.  Its
 * next send finds its batches gone, so it is told where the log starts and
 * reconciles the rest (internal.h, "Released logs").  Its first ACK of
 * progress makes it hold the log again.  With no peer holding the log
 * (none known, or every one let go), what is durable is released at once.
 */
#include <string.h>

#include "actors/internal.h"
#include "base/time.h"

/* The lowest ACK of the peers that hold the log; none if there is none. */
static uint64_t
lowest_ack(tidal_region *r, uint64_t none)
{
    uint64_t low = none;
    for (tidal_region_id i = 0; i < TIDAL_REGIONS_MAX; i++) {
        struct tidal__ship_peer *sp = &r->ship.peer[i];
        uint64_t acked = atomic_load(&sp->acked);
        if (i != r->id && tidal__peer_known(r, i) && !sp->let_go && acked < low) {
            low = acked;
        }
    }
    return low;
}

/* The shipper actor: releases what every peer that holds the log has
 * acknowledged: all that is durable when none does ("Holding the log").
 * Ephemeral regions only. */
static void
release_held(tidal_region *r)
{
    if (r->opts.dir != NULL) {
        return; /* its log is its state on disk: kept whole (internal.h) */
    }
    uint64_t upto = lowest_ack(r, tidal_wal_durable_lsn(r->wal));
    if (upto > 0) {
        TIDAL_IGNORE(tidal_wal_release(r->wal, upto + 1));
    }
}

/* The shipper actor: starts the clocks of a peer seen for the first time
 * (its wait for progress starts now, not at the epoch: else all that is in
 * flight would be resent at once), and restarts them for a peer that has
 * everything durable (nothing to hold or resend for it). */
static void
note_peers(tidal_region *r, uint64_t now, uint64_t durable)
{
    for (tidal_region_id i = 0; i < TIDAL_REGIONS_MAX; i++) {
        struct tidal__ship_peer *sp = &r->ship.peer[i];
        if (i == r->id || !tidal__peer_known(r, i)) {
            continue;
        }
        if (sp->rto_ms == 0 || atomic_load(&sp->acked) >= durable) {
            sp->rto_ms = TIDAL_SHIP_RTO_MS;
            sp->last_progress_ms = now;
            sp->acked_ms = now;
        }
    }
}

/* The shipper actor: lets go every peer behind durable that has
 * acknowledged nothing for peer_hold_ms while writes wait for room
 * ("Holding the log"). */
static void
let_go_stalled(tidal_region *r, uint64_t now, uint64_t durable)
{
    if (r->opts.dir != NULL || r->opts.peer_hold_ms == UINT32_MAX ||
        !tidal_wal_wants_room(r->wal)) {
        return;
    }
    for (tidal_region_id i = 0; i < TIDAL_REGIONS_MAX; i++) {
        struct tidal__ship_peer *sp = &r->ship.peer[i];
        if (i != r->id && !sp->let_go && sp->rto_ms != 0 && atomic_load(&sp->acked) < durable &&
            now - sp->acked_ms >= r->opts.peer_hold_ms && tidal__peer_known(r, i)) {
            sp->let_go = true;
            atomic_fetch_add(&r->st_let_go, 1);
        }
    }
}

/* The shipper actor, holding ship.lock: every peer whose ACK has not moved
 * for its rto_ms while it lacks durable batches is sent them again from its
 * ACK ("Retransmits"). */
static void
retransmit_stalled(tidal_region *r, uint64_t now, uint64_t durable)
{
    for (tidal_region_id i = 0; i < TIDAL_REGIONS_MAX; i++) {
        struct tidal__ship_peer *sp = &r->ship.peer[i];
        uint64_t acked = atomic_load(&sp->acked);
        if (sp->rto_ms != 0 && acked < durable && now - sp->last_progress_ms >= sp->rto_ms) {
            sp->sent_upto = acked;
            sp->last_progress_ms = now;
            sp->rto_ms = sp->rto_ms * 2 < TIDAL_SHIP_RTO_MAX_MS ? sp->rto_ms * 2
                                                               : TIDAL_SHIP_RTO_MAX_MS;
        }
    }
}

/* The shipper actor: takes a checked ACK of peer p.  Progress needs no lock
 * (rounds read acked as it moves); a peer that lost what it had acknowledged
 * (restarted without it) is rewound under ship.lock, to be sent it again. */
static void
take_ack(tidal_region *r, tidal_region_id p, uint64_t applied)
{
    struct tidal__ship_peer *sp = &r->ship.peer[p];
    uint64_t acked = atomic_load(&sp->acked);
    if (applied > acked) {
        atomic_store(&sp->acked, applied);
        sp->last_progress_ms = tidal_elapsed_ms(r->rt);
        sp->acked_ms = sp->last_progress_ms;
        sp->rto_ms = TIDAL_SHIP_RTO_MS; /* progress: back to the base wait */
        sp->let_go = false;             /* back: it holds the log again */
        atomic_store(&r->st_acked[p], applied);
    } else if (applied < acked) {
        pthread_mutex_lock(&r->ship.lock);
        atomic_store(&sp->acked, applied);
        sp->sent_upto = applied;
        pthread_mutex_unlock(&r->ship.lock);
        atomic_store(&r->st_acked[p], applied);
    }
}

/* A peer's ACK of our log (admitted: it came through that peer's listener).
 * Rejected (counted, nothing moved): one that does not decode, is about
 * another origin's log, or acknowledges more than was ever sent to that
 * peer - by this incarnation, or by an earlier one (at most what the log
 * held when it was opened) - as believing it would release what the peer
 * lacks and make applied_lsn report LSNs never applied. */
static void
on_ack(tidal_region *r, tidal_ctx *ctx, const tidal_msg *msg)
{
    tidal_msg_ack a;
    tidal_decode_err err = {0};
    if (tidal_msg_ack_decode(msg->payload, msg->len, &a, &err) != 0) {
        tidal__region_reject(r, TIDAL_REGION_REJECT_ACK_DECODE, msg, &err);
        return;
    }
    if (a.origin != r->id) {
        tidal__region_reject(r, TIDAL_REGION_REJECT_ORIGIN_MISMATCH, msg, NULL);
        return;
    }
    /* admitted: it came through a known peer's listener */
    tidal_region_id p = tidal__via_peer(msg);
    /* after a salvage: one above the log is believed, and skipped to */
    tidal__learn_ack(r, ctx, p, a.applied_lsn, &msg->hlc);
    uint64_t sent = atomic_load(&r->ship.peer[p].sent_max);
    if (sent < r->ship.recovered_lsn) {
        sent = r->ship.recovered_lsn; /* an earlier incarnation may have sent that much */
    }
    if (a.applied_lsn > sent) {
        err = (tidal_decode_err){.code = TIDAL_EFIELD, .what = "ack.applied_lsn",
                                 .expected = sent, .actual = a.applied_lsn};
        tidal__region_reject(r, TIDAL_REGION_REJECT_ACK_BEYOND_SENT, msg, &err);
        return;
    }
    take_ack(r, p, a.applied_lsn);
    release_held(r);
    /* what a moved window opened: sent here, or by the round running now,
     * which reads the new ACK */
    atomic_store(&r->ship.again, true);
    tidal__ship_rounds(r, TIDAL__SHIP_BY_SHIPPER, 0, false);
}

/* The shipper's tick: retransmits, lets stalled peers go, ships what was
 * left to it and releases what every holding peer has. */
static void
on_tick(tidal_region *r, tidal_ctx *ctx)
{
    /* cleared first: a kick after this point sends a tick of its own */
    atomic_store(&r->ship.kicked, false);
    uint64_t now = tidal_elapsed_ms(r->rt), durable = tidal_wal_durable_lsn(r->wal);
    note_peers(r, now, durable);
    let_go_stalled(r, now, durable);
    release_held(r);
    pthread_mutex_lock(&r->ship.lock); /* waits out at most one caller's rounds */
    retransmit_stalled(r, now, durable);
    tidal__ship_rounds(r, TIDAL__SHIP_BY_SHIPPER, 0, true);
    tidal__learn_tick(r, ctx);
    tidal__clock_tick(r, ctx); /* clock.c: our wall clock to the peers */
}

static int
shipper_init(tidal_ctx *ctx, void *arg, void **state)
{
    *state = arg;
    return tidal__tick_after(ctx, TIDAL_SHIP_TICK_MS);
}

static int
shipper_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    tidal_region *r = state;
    if (!tidal__admit(r, TIDAL__ACTOR_SHIPPER, msg)) {
        return 0;
    }
    switch (msg->type) {
    case TIDAL_MSG_ACK:
        on_ack(r, ctx, msg);
        return 0;
    case TIDAL_MSG_CLOCK:
        tidal__clock_on_msg(r, msg); /* clock.c: a peer's wall clock */
        return 0;
    case TIDAL_MSG_TICK:
        on_tick(r, ctx);
        /* a wake-up (one byte) does not re-arm the timer */
        return msg->len == 0 ? tidal__tick_after(ctx, TIDAL_SHIP_TICK_MS) : 0;
    default:
        tidal__region_reject(r, TIDAL_REGION_REJECT_MSG_TYPE, msg, NULL);
        return 0;
    }
}

const tidal_behaviour tidal__shipper_behaviour = {.init = shipper_init, .handle = shipper_handle};
