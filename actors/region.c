/*
 * The region actor ("region-<id>"): owner of the replicated state and of the
 * session actors, follower path for peers' batches, writer of the writes that
 * are not about a session (hide, unhide).
 *
 * Its tick (every TIDAL_ACK_DELAY_MS) acknowledges what it applied, or made
 * durable in a copy, since the last ACK to each origin (apply.c, "Delayed
 * ACKs"; the first tick acknowledges every peer, whatever this region
 * holds), asks the reconciler again for a round while an origin's log base
 * left a gap in the watermark (apply.c, tidal__gap_ask_round), once a
 * minute expires old signal buckets, and runs a slice of the sweep that
 * frees ended sessions past the retention (retention.c: at most
 * TIDAL_SWEEP_PER_TICK sessions per hold of the state lock).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/internal.h"

static int
region_init(tidal_ctx *ctx, void *arg, void **state)
{
    *state = arg;
    return tidal__tick_after(ctx, TIDAL_ACK_DELAY_MS);
}

/* Answers a write (region.c's writes carry no seqno).  A sender that did not
 * ask gets nothing. */
static void
reply_result(tidal_ctx *ctx, const tidal_msg *msg, int code, uint64_t lsn)
{
    tidal_reply_to to;
    if (tidal_msg_reply_to(msg, &to) == 0) {
        tidal__reply_write_result(ctx, &to, code, 0, lsn);
    }
}

/* A remote client's hide or unhide.  Session writes go to session actors:
 * one here is misdirected (answered TIDAL_EINVAL). */
static int
on_write(tidal_ctx *ctx, tidal_region *r, const tidal_msg *msg)
{
    tidal_msg_write m;
    tidal_record rec;
    uint64_t lsn = 0;
    if (tidal__write_decode(r, ctx, msg, &m, &rec) != 0) {
        return 0;
    }
    if (rec.kind != TIDAL_REC_HIDE && rec.kind != TIDAL_REC_UNHIDE) {
        tidal__write_reject(r, ctx, msg, TIDAL_REGION_REJECT_WRITE_MISDIRECTED, NULL, TIDAL_EINVAL);
        return 0;
    }
    int rv = tidal__write_local(r, ctx, &rec, 1, &lsn);
    reply_result(ctx, msg, rv, lsn);
    return 0;
}

static void
on_peer(tidal_region *r, const tidal_msg *msg)
{
    tidal_msg_peer p;
    tidal_decode_err err = {0};
    if (tidal_msg_peer_decode(msg->payload, msg->len, &p, &err) != 0) {
        tidal__region_reject(r, TIDAL_REGION_REJECT_PEER_DECODE, msg, &err);
    } else if (tidal__peer_set(r, &p) != 0) {
        tidal__region_reject(r, TIDAL_REGION_REJECT_PEER_INVALID, msg, NULL);
    }
}

static int
on_tick(tidal_ctx *ctx, tidal_region *r)
{
    /* the first tick tells every peer's shipper what this incarnation has (a
     * region that restarted with less than it had acknowledged is re-shipped
     * without waiting for the peer's next write) */
    tidal__send_acks_owed(r, ctx, !r->follow.announced);
    r->follow.announced = true;
    for (tidal_region_id o = 0; o < TIDAL_REGIONS_MAX; o++) {
        if (o != r->id) {
            tidal__gap_ask_round(r, ctx, o, false); /* a gap still open: apply.c */
        }
    }
    uint64_t now = tidal_now(r->rt).wall_ns;
    if (now / 1000000u - r->follow.expired_ms >= TIDAL_EXPIRE_EVERY_MS) {
        /* a pass visits every (item, type): once a minute, not every tick.
         * It only frees memory: what the state holds follows the data, not
         * this clock (store/signals.h, the keep rule) */
        r->follow.expired_ms = now / 1000000u;
        pthread_mutex_lock(&r->state.lock);
        tidal_signals_expire(r->state.signals);
        pthread_mutex_unlock(&r->state.lock);
    }
    tidal__retention_tick(r);
    return tidal__tick_after(ctx, TIDAL_ACK_DELAY_MS);
}

static int
region_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    tidal_region *r = state;
    if (!tidal__admit(r, TIDAL__ACTOR_REGION, msg)) {
        return 0;
    }
    switch (msg->type) {
    case TIDAL_MSG_BATCH:
        /* a bad batch from a peer is rejected there; a local failure (of the
         * log copy) is not ours to restart for: the shipper resends */
        TIDAL_IGNORE(tidal__apply_batch(r, ctx, msg));
        return 0;
    case TIDAL_MSG_PEER:
        on_peer(r, msg);
        return 0;
    case TIDAL_MSG_ACK:
        tidal__apply_log_base(r, ctx, msg); /* from an origin's shipper: apply.c */
        return 0;
    case TIDAL_MSG_WRITE:
        return on_write(ctx, r, msg);
    case TIDAL_MSG_TICK:
        return on_tick(ctx, r);
    default:
        tidal__region_reject(r, TIDAL_REGION_REJECT_MSG_TYPE, msg, NULL);
        return 0;
    }
}

const tidal_behaviour tidal__region_behaviour = {.init = region_init, .handle = region_handle};
