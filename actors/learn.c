/*
 * Learning from the peers: a region whose own log lost LSNs to a salvage
 * (logs.c: the open found its newest segment, or durable batches, gone)
 * takes no write until its peers have told it how far they applied its
 * log.
 *
 * Why.  Salvage continues the own log above the manifest's high, the
 * highest LSN it knows was used (store/wal_lost.c).  But high lags the
 * log - by up to a segment, or to the last clean close - and the LSNs
 * above it may have been durable and shipped before the loss.  A peer
 * applies each origin's batches strictly in LSN order and drops what is at
 * or below its applied LSN as a duplicate: a new write given one of those
 * LSNs would be dropped by every peer that had them, silently.
 *
 * How.  Every peer answers the region's shipper with an ACK of its applied
 * LSN of this origin: to the duplicates the first rounds resend it (a
 * reopened origin knows nothing acknowledged), and to a probe - a log base
 * at LSN 0, which moves no peer and which apply.c answers with its ACK -
 * sent every TIDAL_SHIP_RTO_MS to each known peer not heard from yet.
 * While learning, the shipper takes an ACK above its log's last LSN (else
 * refused as ACK-BEYOND-SENT, shipper.c) as the truth: the log skips to it
 * (tidal_wal_skip_to: the LSNs between become a hole, recorded in the
 * manifest), so new writes get LSNs above everything any peer applied.
 * Learning ends when every peer the region has has ACKed once after the
 * open; then the
 * reconciler is asked for a round (the peers hold the state the lost LSNs
 * carried), and writes are taken again.  Its peers: every region opened in
 * this cluster since it was made (one that is closed now included: it is
 * probed once it opens again), every origin whose log it keeps a copy of,
 * every region its peers file names (peerfile.c: every region it was ever
 * a peer of, in any process), and every peer introduced since.  A peer
 * below the hole is stepped over it by the shipping sequence with a log
 * base at the hole's end (ship.c) and reconciles the rest, like a peer of
 * a released log.
 *
 * After the open.  An ACK the peer sent before a crash, to the region's
 * earlier incarnation, can still be in flight, and it may say less than
 * the peer has applied since: ending on it would give those LSNs again.
 * An ACK is taken as sent after the open only if its stamp (the peer's
 * HLC when it sent it) is past the region's wall clock at the open plus
 * max_skew_ns: from a peer whose clock keeps within that budget (clock.c
 * fences one that does not) an earlier ACK cannot carry such a stamp, and
 * the answer to a probe sent after that instant always does (the peer's
 * HLC passes the probe's stamp on receipt).  An earlier ACK is still
 * believed - an LSN it names was applied - but not counted: learning
 * takes at least max_skew_ns.
 *
 * Writes meanwhile: a caller's thread waits for the end, up to
 * write_timeout_ms (then TIDAL_ETIMEDOUT, nothing written); a handler (a
 * remote client's write, a session actor's) gets TIDAL_EBUSY at once.
 *
 * A peer that is down therefore holds the region's writes until it is back
 * (the default: no LSN is ever given twice).  opts.salvage_wait_ms, when
 * set, ends learning that long after the open whoever answered: the
 * operator log names the peers not heard from, and one of them that had
 * applied LSNs above every answering peer's drops the writes made at
 * those LSNs as duplicates (its ACKs above the log are refused as
 * ACK-BEYOND-SENT and logged), and gets that state back only from
 * reconciliation.  An operator who knows a peer is down for long chooses
 * between the two.
 *
 * Threads: on, introduced and the waiters' condvar are shared (lock, a
 * leaf); the rest is the shipper actor's.  The skip appends nothing but
 * must not race an append: it runs under state.lock, where writes append,
 * and no write passes tidal__learn_wait while on is set.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "actors/internal.h"
#include "base/log.h"
#include "base/time.h"

void
tidal__learn_init(tidal_region *r)
{
    pthread_mutex_init(&r->learn.lock, NULL);
    TIDAL_IGNORE(tidal_cond_init_monotonic(&r->learn.cond)); /* a plain init cannot fail */
    atomic_init(&r->learn.on, false);
    atomic_init(&r->learn.introduced, false);
}

void
tidal__learn_fini(tidal_region *r)
{
    pthread_cond_destroy(&r->learn.cond);
    pthread_mutex_destroy(&r->learn.lock);
}

void
tidal__learn_start(tidal_region *r)
{
    uint32_t wait = r->opts.salvage_wait_ms;
    r->learn.until_ms = wait == 0 ? 0 : tidal_elapsed_ms(r->rt) + wait;
    r->learn.fresh_after = (tidal_hlc){.wall_ns = tidal_wall_ns(r->rt) + r->opts.max_skew_ns};
    atomic_store(&r->learn.on, true);
}

int
tidal__learn_wait(tidal_region *r, tidal_ctx *ctx)
{
    if (!atomic_load(&r->learn.on)) {
        return 0;
    }
    if (ctx != NULL) {
        return TIDAL_EBUSY; /* handlers never block */
    }
    uint64_t end_ms = tidal_elapsed_ms(r->rt) + r->opts.write_timeout_ms;
    int rv = 0;
    pthread_mutex_lock(&r->learn.lock);
    while (atomic_load(&r->learn.on) && rv == 0) {
        if (tidal_runtime_block(r->rt, &r->learn.cond, &r->learn.lock, end_ms) != 0) {
            rv = atomic_load(&r->learn.on) ? TIDAL_ETIMEDOUT : 0;
        }
    }
    pthread_mutex_unlock(&r->learn.lock);
    return rv;
}

/* Writes the ids of the peers in mask into out ("1, 2"). */
static void
peer_list(uint32_t mask, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (tidal_region_id p = 0; p < TIDAL_REGIONS_MAX && n < cap; p++) {
        if (mask & (1u << p)) {
            int k = snprintf(out + n, cap - n, "%s%u", n > 0 ? ", " : "", p);
            n += k > 0 ? (size_t)k : 0;
        }
    }
}

/* Shipper actor: ends learning if every peer the region has was heard from
 * (and the open has introduced it to the peers it finds), or
 * salvage_wait_ms has passed. */
static void
check_end(tidal_region *r, tidal_ctx *ctx)
{
    if (!atomic_load(&r->learn.introduced)) {
        return; /* configured is set with it */
    }
    uint32_t known =
        (uint32_t)atomic_load(&r->peers.known) | (uint32_t)atomic_load(&r->learn.configured);
    uint32_t unheard = known & ~r->learn.heard & ~(1u << r->id);
    bool waited = r->learn.until_ms != 0 && tidal_elapsed_ms(r->rt) >= r->learn.until_ms;
    if (unheard != 0 && !waited) {
        return;
    }
    if (unheard != 0) {
        char list[64];
        peer_list(unheard, list, sizeof(list));
        tidal__log(TIDAL_EVENT_LOG_SALVAGED, 1,
                   "region %u: peers %s did not say how far they applied its log within "
                   "salvage_wait_ms (%u ms): writes are taken; if one of them applied more, it "
                   "drops the writes it already has LSNs of, and gets them back only by "
                   "reconciliation",
                   r->id, list, (unsigned)r->opts.salvage_wait_ms);
    }
    pthread_mutex_lock(&r->learn.lock);
    atomic_store(&r->learn.on, false);
    pthread_cond_broadcast(&r->learn.cond);
    pthread_mutex_unlock(&r->learn.lock);
    /* the peers hold the state of what the log lost: a round brings it */
    uint8_t one = 1;
    TIDAL_IGNORE(tidal_ctx_send(ctx, &r->reconciler_addr, TIDAL_MSG_TICK, &one, 1));
}

void
tidal__learn_ack(tidal_region *r, tidal_ctx *ctx, tidal_region_id p, uint64_t applied,
                 const tidal_hlc *stamp)
{
    if (!atomic_load(&r->learn.on)) {
        return;
    }
    if (tidal_hlc_compare(stamp, &r->learn.fresh_after) > 0) {
        r->learn.heard |= 1u << p; /* sent after the open: how far p applied now */
    }
    uint64_t last = tidal_wal_next_lsn(r->wal) - 1;
    if (applied > last) {
        /* under state.lock: no write appends meanwhile (none passes
         * tidal__learn_wait now, and one that passed before the open's
         * end cannot exist: learning starts before any actor runs) */
        pthread_mutex_lock(&r->state.lock);
        int rv = tidal_wal_skip_to(r->wal, applied);
        pthread_mutex_unlock(&r->state.lock);
        if (rv == 0) {
            r->ship.recovered_lsn = applied; /* what its peers may acknowledge now: on_ack */
        }
        tidal__log(TIDAL_EVENT_LOG_SALVAGED, 1,
                   "region %u: peer %u applied its log up to LSN %" PRIu64 ", above the %" PRIu64
                   " it kept: %s",
                   r->id, p, applied, last,
                   rv == 0 ? "the LSNs between are skipped, writes go on above them"
                           : tidal_strerror(rv));
    }
    check_end(r, ctx);
}

void
tidal__learn_tick(tidal_region *r, tidal_ctx *ctx)
{
    if (!atomic_load(&r->learn.on)) {
        return;
    }
    uint64_t now = tidal_elapsed_ms(r->rt);
    if (now - r->learn.probed_ms >= TIDAL_SHIP_RTO_MS) {
        r->learn.probed_ms = now;
        tidal_msg_ack a = {.origin = r->id, .shard = r->opts.shard_id, .applied_lsn = 0};
        tidal_buf b;
        tidal_buf_init(&b);
        bool encoded = tidal_msg_ack_encode(&a, &b) == 0;
        for (tidal_region_id p = 0; p < TIDAL_REGIONS_MAX && encoded; p++) {
            struct tidal__peer peer;
            if (p != r->id && !(r->learn.heard & (1u << p)) && tidal__peer_get(r, p, &peer)) {
                /* lost: the next probe goes */
                TIDAL_IGNORE(tidal__send_msg(r, ctx, NULL, &peer.region, TIDAL_MSG_ACK, &b));
            }
        }
        tidal_buf_fini(&b);
    }
    check_end(r, ctx);
}
