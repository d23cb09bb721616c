/*
 * The shipper ("shipper-<id>"): makes every peer catch up with this region's
 * own log.
 *
 * Per peer it keeps the highest LSN acknowledged (acked) and the highest sent
 * (sent_upto).  On each tick, and when woken (by a writer that could not
 * ship its batch, or by the WAL's sync thread when a sync made more durable
 * than it ships itself, tidal__ship_durable):
 *   - durable batches above both sent_upto and the ship mark (internal.h:
 *     those the writers did not ship inline) are sent, and the mark is
 *     raised to what every peer has now been sent;
 *   - if acked has not moved for TIDAL_SHIP_RTO_MS while batches above it are
 *     durable, everything from acked + 1 is sent again (lost or dropped
 *     batches, a peer that restarted, a new peer: it starts at acked = 0);
 *     the same at once, without doubling the wait, after a writer's inline
 *     send failed (ship_lost).
 * At most TIDAL_SHIP_TICK_BYTES_MAX per peer per round; the rest follows on the
 * next ticks.  Batches come from the WAL: memory while recent, segments after.
 *
 * Send window.  Nothing that starts more than TIDAL_SHIP_WINDOW_LSNS past a
 * peer's ACK is sent to it - by the shipper, a retransmit, a writer or the
 * sync thread (their claims stop at r->ship_limit, the lowest window end of
 * the peers that hold the log) - and every ACK that moves a window ships
 * what it opened at once.  Without it, writers faster than a peer put the
 * whole memory log in the peer's mailbox: its ticks, and so its ACKs,
 * waited seconds behind it; retransmits of what it had not acknowledged yet
 * doubled the queue; a hold timed out on a peer that was only busy.
 *
 * Quiet peers.  A peer behind us that has acknowledged nothing for
 * TIDAL_SHIP_QUIET_MS (cut off, stopped) must not hold the others back: its
 * window would close r->ship_limit, and the ship mark (internal.h) could
 * not pass what it was sent, so writers would stop shipping inline to every
 * peer.  It becomes quiet (a bit of r->ship_quiet, set by quiet_stalled):
 * left out of the limit and the mark, and skipped by the writers' and the
 * sync thread's sends; the shipper alone feeds it, from what it was sent,
 * within its window.  It rejoins (ship_all) once it acknowledges again and
 * has been sent up to the mark.  A writer that read the bit just before it
 * cleared skips it once: the peer holds what follows, and its retransmit
 * brings the batch.
 *
 * Holding the log (ephemeral regions; one with a directory keeps its whole
 * log: internal.h).  The batches a peer has not acknowledged are kept for
 * it: the log is released up to the lowest ACK of the peers that hold it
 * (release_held), which bounds memory, and a write past the bound waits for
 * room (region.h, "Backpressure").  A peer holds the log until it has
 * acknowledged nothing for opts.peer_hold_ms while writes wait for room
 * (tidal_wal_wants_room).  Then it lets go (let_go_stalled, counted in
 * peers_let_go): the log is released past it and the writes go on.  It is
 * shipped what is kept as before; its next resend finds its batches gone, so
 * it is told where the log starts and reconciles the rest (internal.h,
 * "Released logs").  Its first ACK of progress makes it hold the log again.
 * With no peer holding the log (none known, or every one let go), what is
 * durable is released at once.  A slow peer acknowledges on each of its
 * ticks, so it holds the log and slows the writers down; only a peer that is
 * cut off or stopped lets go.
 */
#include <string.h>

#include "actors/internal.h"
#include "base/time.h"

struct send_ctx {
    tidal_region *r;
    tidal_ctx *ctx; /* NULL: the sync thread sends as the shipper */
    const tidal_addr *to;
    uint64_t upto; /* sends no batch that starts past it */
    size_t bytes;
    uint64_t last;
};

static int
send_one(void *arg, const uint8_t *batch, size_t len)
{
    struct send_ctx *sc = arg;
    tidal_batch_header h;
    if (tidal_batch_decode(batch, len, &h, NULL, NULL, 0) != 0) {
        return 1; /* the WAL verified it: cannot happen; stop rather than send garbage */
    }
    if (h.first_lsn > sc->upto) {
        return 1;
    }
    tidal_msg_batch m = {.origin = sc->r->id, .shard = sc->r->opts.shard_id,
                         .batch = {batch, (uint32_t)len}};
    tidal_buf b;
    tidal_buf_init(&b);
    int rv = tidal_msg_batch_encode(&m, &b);
    if (rv == 0) {
        rv = tidal__send_msg(sc->r, sc->ctx, &sc->r->shipper_addr, sc->to, TIDAL_MSG_BATCH, &b);
    }
    tidal_buf_fini(&b);
    if (rv != 0) {
        return 1; /* link or mailbox full: the rest goes next round */
    }
    atomic_fetch_add(&sc->r->st_shipped, 1);
    if (sc->ctx == NULL) {
        atomic_fetch_add(&sc->r->st_shipped_at_sync, 1);
    }
    sc->last = h.first_lsn + h.count - 1;
    sc->bytes += len;
    return sc->bytes >= TIDAL_SHIP_TICK_BYTES_MAX ? 1 : 0;
}

static int
stop_at_first(void *arg, const uint8_t *batch, size_t len)
{
    (void)arg;
    (void)batch;
    (void)len;
    return 1;
}

/* The lowest LSN in [lo, hi] the log can still be read from (reads below it
 * fail with ENOENT); hi if none below it. */
static uint64_t
oldest_kept(tidal_region *r, uint64_t lo, uint64_t hi)
{
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (tidal_wal_read(r->wal, mid, false, stop_at_first, NULL) == TIDAL_ENOENT) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Tells the peer our log now starts after base for it (internal.h,
 * "Released logs"). */
static void
send_base(tidal_ctx *ctx, tidal_region *r, const struct tidal__peer *peer, uint64_t base)
{
    tidal_msg_ack a = {.origin = r->id, .shard = r->opts.shard_id, .applied_lsn = base};
    tidal_buf b;
    tidal_buf_init(&b);
    if (tidal_msg_ack_encode(&a, &b) == 0) {
        /* lost or refused: the next round without progress sends it again */
        TIDAL_IGNORE(tidal_ctx_send(ctx, &peer->region, TIDAL_MSG_ACK, b.data, (uint32_t)b.len));
    }
    tidal_buf_fini(&b);
}

/* Ships what peer p lacks; returns the LSN up to which p has been sent
 * everything (for the ship mark). */
static uint64_t
ship_peer(tidal_ctx *ctx, tidal_region *r, tidal_region_id p, const struct tidal__peer *peer,
          uint64_t now, bool lost)
{
    struct tidal__shipper_peer *sp = &r->ship[p];
    uint64_t durable = tidal_wal_durable_lsn(r->wal);
    /* the mark covers a peer only if the writers send to it ("Quiet peers") */
    uint64_t mark = tidal__ship_quiet(r, p) ? 0 : atomic_load(&r->ship_mark);
    uint64_t covered = sp->sent_upto > mark ? sp->sent_upto : mark;
    covered = sp->acked > covered ? sp->acked : covered;
    if (sp->rto_ms == 0) {
        /* first sight of this peer: the wait for progress starts now, not
         * at the epoch (else all that is in flight would be resent at once) */
        sp->rto_ms = TIDAL_SHIP_RTO_MS;
        sp->last_progress_ms = now;
        sp->acked_ms = tidal_monotonic_ms();
    }
    if (sp->acked >= durable) {
        sp->last_progress_ms = now;
        sp->acked_ms = tidal_monotonic_ms(); /* caught up: nothing to hold for it */
        sp->rto_ms = TIDAL_SHIP_RTO_MS;
        return covered;
    }
    uint64_t from;
    if (lost) {
        from = sp->acked + 1; /* a writer's inline send failed: resend now */
    } else if (now - sp->last_progress_ms >= sp->rto_ms) {
        from = sp->acked + 1; /* no progress: resend what is unacknowledged */
        sp->last_progress_ms = now;
        sp->rto_ms = sp->rto_ms * 2 < TIDAL_SHIP_RTO_MAX_MS ? sp->rto_ms * 2
                                                           : TIDAL_SHIP_RTO_MAX_MS;
    } else {
        if (covered >= durable) {
            return covered; /* everything durable is on its way */
        }
        from = covered + 1;
    }
    struct send_ctx sc = {.r = r, .ctx = ctx, .to = &peer->region,
                          .upto = sp->acked + TIDAL_SHIP_WINDOW_LSNS};
    int rv = from <= sc.upto ? tidal_wal_read(r->wal, from, false, send_one, &sc) : 0;
    if (rv == TIDAL_ENOENT) {
        /* released before this peer acknowledged: it skips what is gone (the
         * reconciler brings it that state) and goes on from what is kept */
        uint64_t base = oldest_kept(r, from, durable + 1) - 1;
        send_base(ctx, r, peer, base);
        sc.upto = base + TIDAL_SHIP_WINDOW_LSNS;
        (void)tidal_wal_read(r->wal, base + 1, false, send_one, &sc);
    }
    if (sc.last > sp->sent_upto) {
        sp->sent_upto = sc.last;
    }
    /* a resend that stopped short covers only what it sent (and what was
     * covered before, which it sent again) */
    return sp->sent_upto > covered ? sp->sent_upto : covered;
}

/* The lowest ACK of the peers that hold the log (and, with quiet_too false,
 * are not quiet); none if there is no such peer. */
static uint64_t
lowest_ack(tidal_region *r, bool quiet_too, uint64_t none)
{
    uint64_t low = none;
    for (tidal_region_id i = 0; i < TIDAL_REGIONS_MAX; i++) {
        struct tidal__peer peer;
        if (i != r->id && tidal__peer_get(r, i, &peer) && !r->ship[i].let_go &&
            (quiet_too || !tidal__ship_quiet(r, i)) && r->ship[i].acked < low) {
            low = r->ship[i].acked;
        }
    }
    return low;
}

/* True if peer p, seen by ship_peer and behind durable, has acknowledged
 * nothing for ms. */
static bool
silent_for(tidal_region *r, tidal_region_id p, uint64_t durable, uint64_t now_ms, uint64_t ms)
{
    struct tidal__peer peer;
    const struct tidal__shipper_peer *sp = &r->ship[p];
    return p != r->id && tidal__peer_get(r, p, &peer) && sp->rto_ms != 0 &&
           sp->acked < durable && now_ms - sp->acked_ms >= ms;
}

/* Releases what every peer that holds the log has acknowledged: all that is
 * durable when none does ("Holding the log").  Ephemeral regions only. */
static void
release_held(tidal_region *r)
{
    if (r->opts.dir != NULL) {
        return; /* its log is its state on disk: kept whole (internal.h) */
    }
    uint64_t upto = lowest_ack(r, true, tidal_wal_durable_lsn(r->wal));
    if (upto > 0) {
        TIDAL_IGNORE(tidal_wal_release(r->wal, upto + 1));
    }
}

/* Makes quiet every peer behind us that has acknowledged nothing for
 * TIDAL_SHIP_QUIET_MS ("Quiet peers"); what the writers sent it up to the
 * mark counts as sent. */
static void
quiet_stalled(tidal_region *r)
{
    uint64_t now = tidal_monotonic_ms(), durable = tidal_wal_durable_lsn(r->wal);
    uint64_t mark = atomic_load(&r->ship_mark);
    for (tidal_region_id i = 0; i < TIDAL_REGIONS_MAX; i++) {
        if (!tidal__ship_quiet(r, i) && silent_for(r, i, durable, now, TIDAL_SHIP_QUIET_MS)) {
            struct tidal__shipper_peer *sp = &r->ship[i];
            sp->sent_upto = sp->sent_upto > mark ? sp->sent_upto : mark;
            atomic_fetch_or(&r->ship_quiet, 1u << i);
        }
    }
}

/* Sets r->ship_limit to the lowest window end of the peers that hold the
 * log and are not quiet ("Send window"); none: no limit. */
static void
window_update(tidal_region *r)
{
    uint64_t low = lowest_ack(r, false, UINT64_MAX);
    atomic_store(&r->ship_limit, low == UINT64_MAX ? UINT64_MAX : low + TIDAL_SHIP_WINDOW_LSNS);
}

/* Lets go every peer that has acknowledged nothing for peer_hold_ms while
 * writes wait for room ("Holding the log"). */
static void
let_go_stalled(tidal_region *r)
{
    if (r->opts.dir != NULL || r->opts.peer_hold_ms == UINT32_MAX ||
        !tidal_wal_wants_room(r->wal)) {
        return;
    }
    uint64_t now = tidal_monotonic_ms(), durable = tidal_wal_durable_lsn(r->wal);
    for (tidal_region_id i = 0; i < TIDAL_REGIONS_MAX; i++) {
        if (!r->ship[i].let_go && silent_for(r, i, durable, now, r->opts.peer_hold_ms)) {
            r->ship[i].let_go = true;
            atomic_fetch_add(&r->st_let_go, 1);
        }
    }
}

static void
ship_all(tidal_ctx *ctx, tidal_region *r)
{
    uint64_t now = tidal_now(r->rt).wall_ns / 1000000u;
    bool lost = atomic_exchange(&r->ship_lost, false);
    uint64_t all = UINT64_MAX; /* every peer but the quiet has been sent up to it */
    uint64_t covered[TIDAL_REGIONS_MAX] = {0};
    for (tidal_region_id p = 0; p < TIDAL_REGIONS_MAX; p++) {
        struct tidal__peer peer;
        if (p != r->id && tidal__peer_get(r, p, &peer)) {
            covered[p] = ship_peer(ctx, r, p, &peer, now, lost);
            all = !tidal__ship_quiet(r, p) && covered[p] < all ? covered[p] : all;
        }
    }
    if (all != UINT64_MAX) {
        tidal__ship_raise(r, all);
    }
    /* a quiet peer that answers again and has been sent up to the mark is
     * sent by the writers again */
    uint64_t mark = atomic_load(&r->ship_mark), mono = tidal_monotonic_ms();
    for (tidal_region_id p = 0; p < TIDAL_REGIONS_MAX; p++) {
        if (tidal__ship_quiet(r, p) && covered[p] >= mark &&
            mono - r->ship[p].acked_ms < TIDAL_SHIP_QUIET_MS) {
            atomic_fetch_and(&r->ship_quiet, ~(1u << p));
        }
    }
}

/* The peer whose region actor sent msg; TIDAL_REGIONS_MAX if none. */
static tidal_region_id
peer_of_sender(tidal_region *r, const tidal_msg *msg)
{
    for (tidal_region_id i = 0; i < TIDAL_REGIONS_MAX; i++) {
        struct tidal__peer peer;
        if (tidal__peer_get(r, i, &peer) && msg->from_name_len == strlen(peer.region.name) &&
            memcmp(msg->from_name, peer.region.name, msg->from_name_len) == 0) {
            return i;
        }
    }
    return TIDAL_REGIONS_MAX;
}

/* A peer's ACK of our log.  Rejected (counted, nothing moved): one that does
 * not decode, is about another origin's log, comes from no peer's region
 * actor, or acknowledges more than this region has made durable - nothing
 * is sent before it is durable (internal.h), so that much was never sent,
 * and believing it would release what the peer lacks. */
static void
on_ack(tidal_ctx *ctx, tidal_region *r, const tidal_msg *msg)
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
    tidal_region_id p = peer_of_sender(r, msg);
    if (p == TIDAL_REGIONS_MAX) {
        tidal__region_reject(r, TIDAL_REGION_REJECT_SENDER_MISMATCH, msg, NULL);
        return;
    }
    uint64_t durable = tidal_wal_durable_lsn(r->wal);
    if (a.applied_lsn > durable) {
        err = (tidal_decode_err){.code = TIDAL_EFIELD, .what = "ack.applied_lsn",
                                 .expected = durable, .actual = a.applied_lsn};
        tidal__region_reject(r, TIDAL_REGION_REJECT_ACK_BEYOND_SENT, msg, &err);
        return;
    }
    struct tidal__shipper_peer *sp = &r->ship[p];
    bool progress = a.applied_lsn > sp->acked;
    if (progress) {
        sp->acked = a.applied_lsn;
        sp->last_progress_ms = tidal_now(r->rt).wall_ns / 1000000u;
        sp->acked_ms = tidal_monotonic_ms();
        sp->rto_ms = TIDAL_SHIP_RTO_MS; /* progress: back to the base wait */
        sp->let_go = false;             /* back: it holds the log again */
        atomic_store(&r->st_acked[p], a.applied_lsn);
    } else if (a.applied_lsn < sp->acked) {
        /* the peer lost what it had acknowledged (restarted without it): resend */
        sp->acked = a.applied_lsn;
        sp->sent_upto = a.applied_lsn;
        atomic_store(&r->st_acked[p], a.applied_lsn);
    }
    window_update(r); /* before shipping: a writer that saw it closed is shipped here */
    if (progress) {
        ship_all(ctx, r); /* what the moved window opened ("Send window") */
    }
    release_held(r);
}

/* Ships what a sync made durable, up to lsn, on the WAL's sync thread
 * (tidal__on_durable), as from the shipper: one mailbox hop less between a
 * durable write and a peer.  Only a few records right after the ship mark,
 * claimed as a writer claims its batch (internal.h, "Ship mark"): a large
 * group is left to the shipper, so that the next sync does not wait for its
 * sends.  Returns false when the shipper must ship (not claimed, too many,
 * or a send refused: ship_lost). */
bool
tidal__ship_durable(tidal_region *r, uint64_t lsn)
{
    uint64_t mark = atomic_load(&r->ship_mark);
    if (mark >= lsn) {
        return true; /* its writers shipped it (durable at once), or the shipper did */
    }
    if (lsn - mark > TIDAL_SHIP_DURABLE_RECORDS_MAX || !tidal__ship_claim(r, mark + 1, lsn)) {
        return false;
    }
    bool lost = false;
    for (tidal_region_id p = 0; p < TIDAL_REGIONS_MAX; p++) {
        struct tidal__peer peer;
        if (!tidal__ship_inline_to(r, p, &peer)) {
            continue;
        }
        struct send_ctx sc = {.r = r, .to = &peer.region, .upto = lsn};
        int rv = tidal_wal_read(r->wal, mark + 1, false, send_one, &sc);
        lost = lost || (rv != 0 && rv != 1) || sc.last < lsn;
    }
    if (lost) {
        atomic_store(&r->ship_lost, true); /* resent from the peers' ACKs */
    }
    return !lost;
}

/* Wakes the shipper now (from a handler with ctx, or any thread with NULL):
 * a one-byte tick, for which it does not re-arm its timer. */
static int
shipper_tick(tidal_region *r, tidal_ctx *ctx)
{
    uint8_t one = 1;
    tidal_buf t = {.data = &one, .len = 1};
    return tidal__send_msg(r, ctx, NULL, &r->shipper_addr, TIDAL_MSG_TICK, &t);
}

/* Wakes the shipper unless a wake-up is already on its way (r->ship_kicked,
 * cleared by the shipper before it ships): concurrent writers that could
 * not claim their batches cost it one round, not one each.  Cannot fail: a
 * refused tick clears the flag again, and the timer's tick ships. */
void
tidal__shipper_kick(tidal_region *r, tidal_ctx *ctx)
{
    if (!atomic_exchange(&r->ship_kicked, true) && shipper_tick(r, ctx) != 0) {
        atomic_store(&r->ship_kicked, false);
    }
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
    switch (msg->type) {
    case TIDAL_MSG_ACK:
        on_ack(ctx, r, msg);
        return 0;
    case TIDAL_MSG_TICK:
        /* cleared first: a kick after this point sends a tick of its own */
        atomic_store(&r->ship_kicked, false);
        let_go_stalled(r);
        quiet_stalled(r);
        window_update(r);
        ship_all(ctx, r);
        release_held(r);
        /* a tick sent by the WAL's sync thread (len 1) does not re-arm the timer */
        return msg->len == 0 ? tidal__tick_after(ctx, TIDAL_SHIP_TICK_MS) : 0;
    default:
        tidal__region_reject(r, TIDAL_REGION_REJECT_MSG_TYPE, msg, NULL);
        return 0;
    }
}

const tidal_behaviour tidal__shipper_behaviour = {.init = shipper_init, .handle = shipper_handle};
