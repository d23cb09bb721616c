/*
 * The follower path: a peer's batches applied exactly once, in LSN order per
 * origin.
 *
 *   batch ends at or below applied_lsn[origin]   duplicate: dropped, counted, re-acked
 *   batch starts at applied_lsn[origin] + 1      applied (copied to the origin's log
 *                                                here first, when the region has a
 *                                                directory), then held successors -
 *                                                unless the origin's session records
 *                                                held here are at their bound: then
 *                                                not taken, not acked (held.c)
 *   batch starts later                           held (bounded) until the gap fills;
 *                                                a copy of one already held is a
 *                                                duplicate: dropped, counted
 * Every batch is verified - its header and CRC (store/batch.h), the origin it
 * claims, every record - before anything is done with it (applied, held,
 * copied to this region's log of the origin, answered): a bad batch is
 * rejected whole, counted by reason (reject.c), and changes nothing.  (It
 * was once copied to the log before its records were decoded: a region
 * with a directory then kept garbage in its copy, took no later batch of
 * that origin, and refused to reopen.)  The origin's shipper gets an
 * ACK of the highest LSN applied (and durable here, for a region with a
 * directory), from which it resumes after a reconnect or a restart.
 *
 * Delayed ACKs.  An in-order batch only makes an ACK owed; the region's tick
 * (every TIDAL_ACK_DELAY_MS) sends each origin an ACK that would say more
 * than the last one, and the batch that makes TIDAL_ACK_EVERY_BATCHES owed
 * sends it at once (which bounds what an ephemeral origin keeps in memory
 * under load).  A duplicate is answered at once (its origin is resending),
 * and so is the batch that opens a gap, but not those that arrive behind it
 * (held, or dropped when the held list is full): concurrent writers at the
 * origin send in any order, and before the send window (ship.c) one
 * answer per batch behind a gap made 0.3 to 0.47 ACKs per batch under load
 * (bench_memory), for nothing the origin acts on.  Acking every batch as it
 * was applied put an nng send here, and the origin's receive and handler
 * there, right when the readers woken by the batch needed the 2 cores:
 * bench_visibility's ipc and tcp hides took ~40 us more at p50 and p99 with
 * it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/internal.h"
#include "base/time.h"
#include "store/sigtypes.h"

/* A record the batch's origin could not have written: a signal whose type
 * name the state would refuse (after part of the batch was applied), or a
 * signal or USER_COUNTER whose counter components are another region's.
 * *reason and *err say why; off is the record's offset. */
static bool
record_foreign(const tidal_record *rec, uint16_t origin, size_t off, int *reason,
               tidal_decode_err *err)
{
    if (rec->kind != TIDAL_REC_SESSION_SIGNAL && rec->kind != TIDAL_REC_USER_COUNTER) {
        return false;
    }
    if (rec->kind == TIDAL_REC_SESSION_SIGNAL &&
        !tidal_sigtypes_name_valid(rec->type, strlen(rec->type))) {
        *reason = TIDAL_REGION_REJECT_BATCH_RECORDS;
        *err = (tidal_decode_err){.code = TIDAL_EFIELD, .what = "record.type", .offset = off};
        return true;
    }
    if (rec->region != origin) {
        *reason = TIDAL_REGION_REJECT_ORIGIN_MISMATCH;
        *err = (tidal_decode_err){.code = TIDAL_EFIELD, .what = "record.origin", .offset = off,
                                  .expected = origin, .actual = rec->region};
        return true;
    }
    return false;
}

/* Decodes every record of a payload: exactly count of them, nothing after.
 * With origin (a peer's batch; NULL: this region's own logs, on recovery),
 * each must be one that origin could have written (record_foreign).  On
 * false, *reason and *err (offsets from the payload's start) say why. */
static bool
payload_valid(const uint8_t *payload, size_t len, uint32_t count, const uint16_t *origin,
              int *reason, tidal_decode_err *err)
{
    size_t off = 0;
    *reason = TIDAL_REGION_REJECT_BATCH_RECORDS;
    for (uint32_t i = 0; i < count; i++) {
        tidal_record rec;
        size_t used;
        if (tidal_record_decode_one(payload + off, len - off, &used, &rec, err) != 0) {
            err->offset += off;
            return false;
        }
        if (origin != NULL && record_foreign(&rec, *origin, off, reason, err)) {
            return false;
        }
        off += used;
    }
    if (off != len) {
        *err = (tidal_decode_err){.code = TIDAL_ETRAILING, .what = "batch.payload",
                                  .offset = off, .expected = off, .actual = len};
        return false;
    }
    return true;
}

/* Applies a payload payload_valid accepted, of origin's log.  Caller holds
 * state_lock. */
static int
payload_apply(tidal_region *r, const uint8_t *payload, size_t len, uint32_t count, uint16_t origin)
{
    size_t off = 0;
    for (uint32_t i = 0; i < count; i++) {
        tidal_record rec;
        size_t used;
        int rv = tidal_record_decode_one(payload + off, len - off, &used, &rec, NULL);
        if (rv != 0) {
            return rv; /* payload_valid decoded it: cannot happen */
        }
        tidal__state_apply_logged(r, &rec, origin);
        off += used;
    }
    return 0;
}

/* Decodes every record of a payload, then applies them.  Caller holds
 * state_lock.  On a decoding error nothing is applied. */
int
tidal__apply_payload(tidal_region *r, const uint8_t *payload, size_t len, uint32_t count,
                     uint16_t origin)
{
    tidal_decode_err err = {0};
    int reason;
    return payload_valid(payload, len, count, NULL, &reason, &err)
               ? payload_apply(r, payload, len, count, origin)
               : err.code;
}

/* What an ACK to origin says: the highest of its LSNs applied here and, for
 * a region with a directory, durable in the copy. */
static uint64_t
ack_lsn(tidal_region *r, uint16_t origin)
{
    uint64_t lsn = r->follow.applied_lsn[origin];
    if (r->peer_wal[origin] != NULL) {
        uint64_t durable = tidal_wal_durable_lsn(r->peer_wal[origin]);
        lsn = durable < lsn ? durable : lsn;
    }
    return lsn;
}

/* Sends origin's shipper an ACK now.  Cannot fail: a lost ACK is sent again
 * by the next tick that has more to say, or in answer to the resend it
 * causes. */
void
tidal__send_ack(tidal_region *r, tidal_ctx *ctx, uint16_t origin)
{
    struct tidal__peer peer;
    if (!tidal__peer_get(r, origin, &peer)) {
        return;
    }
    tidal_msg_ack a = {.origin = origin, .shard = 0, .applied_lsn = ack_lsn(r, origin)};
    tidal_buf b;
    tidal_buf_init(&b);
    if (tidal_msg_ack_encode(&a, &b) == 0 &&
        tidal__send_msg(r, ctx, NULL, &peer.shipper, TIDAL_MSG_ACK, &b) == 0) {
        r->follow.ack_sent[origin] = a.applied_lsn;
        r->follow.ack_owed[origin] = 0;
        atomic_fetch_add(&r->st_acks, 1);
    }
    tidal_buf_fini(&b);
}

/* The tick's ACKs: to each origin whose ACK would say more than the last
 * one sent (all: to every known peer, whatever this region holds). */
void
tidal__send_acks_owed(tidal_region *r, tidal_ctx *ctx, bool all)
{
    for (tidal_region_id o = 0; o < TIDAL_REGIONS_MAX; o++) {
        if (o != r->id && (all || ack_lsn(r, o) > r->follow.ack_sent[o])) {
            tidal__send_ack(r, ctx, o);
        }
    }
}

/* Applies a verified in-order batch (batch_valid).  Returns 0 or why it
 * was refused: TIDAL_EBUSY when the origin's session records held here
 * are at their bound (held.c: nothing done, it waits to be sent again),
 * else this region's log copy failed. */
static int
apply_in_order(tidal_region *r, uint16_t origin, const tidal_batch_header *h,
               const uint8_t *batch, size_t len)
{
    int rv;
    if (!tidal__held_admits(r, origin, batch + TIDAL_BATCH_HEADER_BYTES, h->payload_len,
                            h->count)) {
        return TIDAL_EBUSY;
    }
    if (r->opts.dir != NULL && r->peer_wal[origin] == NULL && !r->follow.copy_off[origin] &&
        (rv = tidal__open_log(r, origin, h->shard, &r->peer_wal[origin])) != 0) {
        return rv;
    }
    if (r->peer_wal[origin] != NULL &&
        (rv = tidal_wal_append_batch(r->peer_wal[origin], batch, len)) != 0) {
        return rv;
    }
    pthread_mutex_lock(&r->state.lock);
    rv = payload_apply(r, batch + TIDAL_BATCH_HEADER_BYTES, h->payload_len, h->count, origin);
    if (rv == 0) {
        /* counted before the state lock lets a reader see what it did, and so
         * before it is published: whoever sees the batch's effect or the
         * watermark sees it counted */
        atomic_fetch_add(&r->st_applied, 1);
    }
    pthread_mutex_unlock(&r->state.lock);
    if (rv != 0) {
        return rv;
    }
    r->follow.applied_lsn[origin] = h->first_lsn + h->count - 1;
    tidal__publish_applied(r, origin, r->follow.applied_lsn[origin]);
    return 0;
}

static void
hold_batch(tidal_region *r, uint16_t origin, uint64_t first, const uint8_t *batch, size_t len)
{
    struct tidal__held_batch **pp = &r->follow.held_batches[origin];
    while (*pp != NULL && (*pp)->first_lsn < first) {
        pp = &(*pp)->next;
    }
    if (*pp != NULL && (*pp)->first_lsn == first) {
        atomic_fetch_add(&r->st_dup_batches, 1); /* already held: a duplicate */
        return;
    }
    if (r->follow.held_count[origin] >= TIDAL_HELD_BATCHES_MAX) {
        return; /* no room: the shipper will resend it */
    }
    struct tidal__held_batch *hb = malloc(sizeof(*hb) + len);
    if (hb == NULL) {
        return;
    }
    hb->first_lsn = first;
    hb->len = (uint32_t)len;
    memcpy(hb->bytes, batch, len);
    hb->next = *pp;
    *pp = hb;
    r->follow.held_count[origin]++;
    atomic_fetch_add(&r->st_held, 1);
}

/* Applies held batches that became next in line, up to one that must
 * wait for the origin's held session records to drain (held.c): that one
 * stays held. */
static void
drain_held(tidal_region *r, uint16_t origin)
{
    struct tidal__held_batch *hb;
    while ((hb = r->follow.held_batches[origin]) != NULL &&
           hb->first_lsn <= r->follow.applied_lsn[origin] + 1) {
        tidal_batch_header h;
        if (hb->first_lsn == r->follow.applied_lsn[origin] + 1 &&
            tidal_batch_decode(hb->bytes, hb->len, &h, NULL, NULL, 0) == 0 &&
            apply_in_order(r, origin, &h, hb->bytes, hb->len) == TIDAL_EBUSY) {
            tidal__held_paused(r, origin, hb->first_lsn);
            return;
        }
        r->follow.held_batches[origin] = hb->next;
        r->follow.held_count[origin]--;
        free(hb);
    }
}

/* The reason to reject a batch tidal_batch_decode refused with code. */
static int
batch_reason(int code)
{
    switch (code) {
    case TIDAL_ETRUNCATED:
        return TIDAL_REGION_REJECT_BATCH_TRUNCATED;
    case TIDAL_EVERSION:
        return TIDAL_REGION_REJECT_BATCH_VERSION;
    case TIDAL_ECRC:
        return TIDAL_REGION_REJECT_BATCH_CRC;
    default:
        return TIDAL_REGION_REJECT_BATCH_CORRUPT;
    }
}

/* Verifies a peer's batch before anything is done with it - applied, held,
 * copied to the origin's log here or answered as a duplicate: its header
 * and CRC (store/batch.h), the origin it claims against the message's, and
 * every record (payload_valid).  On false, *reason and *err (offsets from
 * the batch's start; what = detail, for a header) say why. */
static bool
batch_valid(tidal_region *r, tidal_region_id peer, const tidal_msg_batch *m,
            tidal_batch_header *h, int *reason, tidal_decode_err *err, char *detail, size_t cap)
{
    size_t total;
    int rv = tidal_batch_decode(m->batch.ptr, m->batch.len, h, &total, detail, cap);
    if (rv != 0) {
        *reason = batch_reason(rv);
        *err = (tidal_decode_err){.code = rv, .what = detail};
        return false;
    }
    if (total != m->batch.len) {
        *reason = TIDAL_REGION_REJECT_BATCH_CORRUPT;
        *err = (tidal_decode_err){.code = TIDAL_ETRAILING, .what = "batch", .offset = total,
                                  .expected = total, .actual = m->batch.len};
        return false;
    }
    if (m->origin >= TIDAL_REGIONS_MAX || m->origin == r->id || h->origin != m->origin ||
        m->origin != peer) {
        *reason = TIDAL_REGION_REJECT_ORIGIN_MISMATCH;
        *err = (tidal_decode_err){.code = TIDAL_EFIELD, .what = "batch.origin", .offset = 8,
                                  .expected = m->origin, .actual = h->origin};
        return false;
    }
    if (!payload_valid(m->batch.ptr + TIDAL_BATCH_HEADER_BYTES, h->payload_len, h->count,
                       &m->origin, reason, err)) {
        err->offset += TIDAL_BATCH_HEADER_BYTES;
        return false;
    }
    return true;
}

/* A BATCH from a peer (region actor only).  A batch that is not valid is
 * rejected whole: counted, nothing applied, held or copied, no ACK. */
int
tidal__apply_batch(tidal_region *r, tidal_ctx *ctx, const tidal_msg *msg)
{
    tidal_msg_batch m;
    tidal_batch_header h;
    tidal_decode_err err = {0};
    char detail[160] = "";
    int reason, rv;
    if ((rv = tidal_msg_batch_decode(msg->payload, msg->len, &m, &err)) != 0) {
        tidal__region_reject(r, TIDAL_REGION_REJECT_BATCH_DECODE, msg, &err);
        return 0;
    }
    /* admitted: it came through a peer's listener, and only that peer's own
     * batches may (batch_valid) */
    if (!batch_valid(r, tidal__via_peer(msg), &m, &h, &reason, &err, detail, sizeof(detail))) {
        tidal__region_reject(r, reason, msg, &err);
        return 0;
    }
    uint16_t origin = m.origin;
    const uint8_t *batch = m.batch.ptr;
    size_t len = m.batch.len;
    uint64_t last = h.first_lsn + h.count - 1;
    if (h.first_lsn == r->follow.applied_lsn[origin] + 1) {
        if ((rv = apply_in_order(r, origin, &h, batch, len)) == TIDAL_EBUSY) {
            tidal__held_paused(r, origin, h.first_lsn);
            return 0; /* no ACK: its shipper sends it again (held.c) */
        }
        if (rv != 0) {
            return rv;
        }
        drain_held(r, origin);
        if (++r->follow.ack_owed[origin] < TIDAL_ACK_EVERY_BATCHES) {
            return 0; /* acknowledged by the tick: "Delayed ACKs" above */
        }
    } else if (last <= r->follow.applied_lsn[origin]) {
        atomic_fetch_add(&r->st_dup_batches, 1);
    } else if (h.first_lsn > r->follow.applied_lsn[origin] + 1) {
        bool opens_gap = r->follow.held_count[origin] == 0;
        hold_batch(r, origin, h.first_lsn, batch, len);
        if (!opens_gap) {
            return 0; /* answered when the gap opened */
        }
    } else {
        atomic_fetch_add(&r->st_dup_batches, 1); /* overlaps: batches never split */
    }
    tidal__send_ack(r, ctx, origin);
    return 0;
}

/* An ACK from an origin's shipper: its log no longer holds what follows our
 * applied LSN (internal.h, "Released logs").  We skip to where it still
 * does and let the reconciler bring the state of what was skipped; until
 * it has, the published watermark stays below the skipped range
 * (watermark.c, "Gaps").  A copy
 * of the origin's log cannot skip (a log has no gaps): we stop copying it,
 * so after a restart this region recovers up to the copy's end and skips
 * again.  Region actor only. */
void
tidal__apply_log_base(tidal_region *r, tidal_ctx *ctx, const tidal_msg *msg)
{
    tidal_msg_ack a;
    tidal_decode_err err = {0};
    char shipper[TIDAL_NAME_BYTES_MAX];
    if (tidal_msg_ack_decode(msg->payload, msg->len, &a, &err) != 0) {
        tidal__region_reject(r, TIDAL_REGION_REJECT_ACK_DECODE, msg, &err);
        return;
    }
    if (a.origin >= TIDAL_REGIONS_MAX || a.origin == r->id || a.origin != tidal__via_peer(msg)) {
        /* only the origin speaks for its log, through its own listener */
        tidal__region_reject(r, TIDAL_REGION_REJECT_ORIGIN_MISMATCH, msg, NULL);
        return;
    }
    int n = snprintf(shipper, sizeof(shipper), "shipper-%u", a.origin);
    if (msg->from_name_len != (uint32_t)n || memcmp(msg->from_name, shipper, (size_t)n) != 0) {
        /* only the origin's shipper speaks for its log */
        tidal__region_reject(r, TIDAL_REGION_REJECT_SENDER_MISMATCH, msg, NULL);
        return;
    }
    uint16_t o = a.origin;
    if (a.applied_lsn > r->follow.applied_lsn[o]) {
        if (r->peer_wal[o] != NULL) {
            tidal_wal_close(r->peer_wal[o]);
            r->peer_wal[o] = NULL;
        }
        r->follow.copy_off[o] = r->opts.dir != NULL;
        /* the position moves (the batches after the base are taken), the
         * published watermark does not until a round fills the gap
         * (watermark.c, "Gaps") */
        tidal__watermark_gap_open(r, o);
        r->follow.applied_lsn[o] = a.applied_lsn;
        tidal__publish_applied(r, o, a.applied_lsn);
        drain_held(r, o);
        tidal__gap_ask_round(r, ctx, o, true);
    }
    tidal__send_ack(r, ctx, o);
}

/* Asks the reconciler for a round on demand for origin's open gap: now
 * (first: the base just came) or, while the gap stays open, once its wait
 * has passed, the wait doubling up to TIDAL_GAP_ASK_MAX_MS - a round lost
 * to a fault, or refused for lack of room, is asked for again.  Region
 * actor only. */
void
tidal__gap_ask_round(tidal_region *r, tidal_ctx *ctx, uint16_t origin, bool first)
{
    uint64_t now = tidal_elapsed_ms(r->rt);
    if (first) {
        r->follow.gap_wait_ms[origin] = TIDAL_GAP_ASK_MS;
    } else if (!tidal__watermark_gap_pending(r, origin) ||
               now - r->follow.gap_asked_ms[origin] < r->follow.gap_wait_ms[origin]) {
        return;
    } else {
        uint32_t w = r->follow.gap_wait_ms[origin] * 2;
        r->follow.gap_wait_ms[origin] = w < TIDAL_GAP_ASK_MAX_MS ? w : TIDAL_GAP_ASK_MAX_MS;
    }
    r->follow.gap_asked_ms[origin] = now;
    uint8_t one = 1; /* an on-demand round */
    TIDAL_IGNORE(tidal_ctx_send(ctx, &r->reconciler_addr, TIDAL_MSG_TICK, &one, 1));
}
