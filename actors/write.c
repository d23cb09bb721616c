/*
 * A write at its origin: applied to the state, appended to the region's WAL
 * as one batch, and - if the WAL says it is durable at once - shipped to
 * every peer by the shipping sequence on the writer's own thread, a handler
 * or a hide's caller (ship.c: the last mailbox hop before a peer can read
 * it).  Under SYNC and INTERVAL the WAL's sync thread ships it once a sync
 * has made it durable.
 *
 * The append and the apply happen under state_lock, so the WAL's LSN order is
 * the order the state saw; the append comes first, so a write the WAL refused
 * never reaches the state.  Under SYNC with a directory the apply waits for
 * the sync that makes the batch durable (pending.c): a write is not seen
 * before it is acknowledged, so one the disk refuses is never seen until a
 * retry has made it durable after all.  A write the WAL refuses for room
 * (an ephemeral log full of batches its peers have not acknowledged) waits
 * for room outside the lock and is made again, on a caller's thread; a
 * handler gets TIDAL_EFULL at once (region.h, "Backpressure").  So does a
 * write refused because the disk failed (TIDAL_EIO, the log refusing
 * appends until it has written its tail again): a caller's thread asks for
 * one retry and writes again if it worked; a handler's refusal asks for it
 * too, and is answered TIDAL_EIO at once.
 */
#include <string.h>

#include "actors/internal.h"
#include "tidal/sim.h"
#include "base/time.h"
#include "store/hlc.h"

/* Answers a write with its result.  A client gone or full loses its answer
 * and times out.  Cannot fail. */
void
tidal__reply_write_result(tidal_ctx *ctx, const tidal_reply_to *to, int code, uint64_t seqno,
                          uint64_t lsn)
{
    tidal_msg_write_result res = {.code = (uint32_t)code, .seqno = seqno, .lsn = lsn};
    tidal_buf b;
    tidal_buf_init(&b);
    if (tidal_msg_write_result_encode(&res, &b) == 0) {
        TIDAL_IGNORE(tidal_ctx_reply_to(ctx, to, TIDAL_MSG_WRITE_RESULT, b.data, (uint32_t)b.len));
    }
    tidal_buf_fini(&b);
}

void
tidal__write_reject(tidal_region *r, tidal_ctx *ctx, const tidal_msg *msg, int reason,
                    const tidal_decode_err *err, int code)
{
    tidal_reply_to to;
    tidal__region_reject(r, reason, msg, err);
    if (tidal_msg_reply_to(msg, &to) == 0) {
        tidal__reply_write_result(ctx, &to, code, 0, 0);
    }
}

int
tidal__write_decode(tidal_region *r, tidal_ctx *ctx, const tidal_msg *msg, tidal_msg_write *m,
                    tidal_record *rec)
{
    tidal_decode_err err = {0};
    int rv = tidal_msg_write_decode(msg->payload, msg->len, m, &err);
    rv = rv != 0 ? rv : tidal_record_decode_exact(m->record.ptr, m->record.len, rec, &err);
    if (rv != 0) {
        tidal__write_reject(r, ctx, msg, TIDAL_REGION_REJECT_WRITE_DECODE, &err, rv);
    }
    return rv;
}

int
tidal__stamp_check(tidal_region *r, const tidal_record *rec)
{
    uint64_t limit = tidal_wall_ns(r->rt) + r->opts.max_skew_ns;
    bool client = rec->kind == TIDAL_REC_HIDE || rec->kind == TIDAL_REC_UNHIDE;
    if ((client && rec->hlc.wall_ns > limit) ||
        (rec->kind == TIDAL_REC_SESSION_SIGNAL && rec->ts_ns > limit)) {
        return TIDAL_ESKEW;
    }
    return 0;
}

/* The batch's stamp range.  Signals are stamped here, each with a reading
 * of the clock of its own (the origin's HLC at the write: the stamp a
 * signal's readers see, unique per origin), so the range covers them.  A
 * USER_COUNTER has no stamp of its own: the clock's reading is its range. */
static void
hlc_range(tidal_region *r, tidal_record *recs, uint32_t n, tidal_hlc *min, tidal_hlc *max)
{
    tidal_hlc now = tidal_now(r->rt);
    *min = *max = now;
    for (uint32_t i = 0; i < n; i++) {
        if (recs[i].kind == TIDAL_REC_SESSION_SIGNAL) {
            recs[i].hlc = i == 0 ? now : tidal_now(r->rt);
        }
        if (recs[i].kind == TIDAL_REC_USER_COUNTER) {
            continue;
        }
        if (tidal_hlc_compare(&recs[i].hlc, min) < 0) {
            *min = recs[i].hlc;
        }
        if (tidal_hlc_compare(&recs[i].hlc, max) > 0) {
            *max = recs[i].hlc;
        }
    }
}

/* Under state_lock: runs the gate, fills signal records, encodes them into
 * payload, appends the batch to the WAL and applies it - or, when the apply
 * waits for the sync (r->defer_apply), leaves it to wait (pending.c), after
 * applying what became durable meanwhile, so that the gate decides on it.
 * *first gets its first LSN; *full says the WAL refused it for room
 * (TIDAL_EFULL).  On error, or when the gate says no, nothing was applied
 * (a gate that let the write go is undone) and that is returned. */
static int
append_apply(tidal_region *r, tidal_record *recs, uint32_t n, tidal__write_gate gate,
             tidal_hlc hmin, tidal_hlc hmax, tidal_buf *payload, uint64_t *first, bool *full)
{
    struct tidal__pending_batch *pb = NULL;
    bool defer = r->defer_apply;
    *full = false;
    pthread_mutex_lock(&r->state.lock);
    if (defer && r->pending.head != NULL) {
        tidal__pending_apply(r, tidal_wal_durable_lsn(r->wal));
    }
    int rv = defer ? tidal__pending_check(r, &recs[0]) : 0;
    rv = rv == 0 && gate != NULL ? gate(r, &recs[0], false) : rv;
    bool gated = gate != NULL && rv == 0;
    for (uint32_t i = 0; i < n && rv == 0; i++) {
        if (recs[i].kind == TIDAL_REC_SESSION_SIGNAL) {
            rv = tidal__state_fill_signal(r, &recs[i]);
            rv = rv == 0 && defer ? tidal__pending_fill(r, &recs[i]) : rv;
        }
        rv = rv != 0 ? rv : tidal_record_encode(&recs[i], payload);
    }
    if (rv == 0 && defer) {
        rv = tidal__pending_prepare(r, recs, n, &pb);
    }
    if (rv == 0) {
        rv = tidal_wal_append(r->wal, payload->data, (uint32_t)payload->len, n, hmin, hmax, first);
        *full = rv == TIDAL_EFULL;
    }
    if (rv == 0 && defer) {
        rv = tidal__pending_add(r, pb, *first);
        pb = NULL;
    }
    for (uint32_t i = 0; i < n && rv == 0 && !defer; i++) {
        /* logged: checked before the append (the gate, fill_signal) */
        tidal__state_apply_logged(r, &recs[i], r->id);
    }
    tidal__pending_discard(pb);
    if (rv != 0 && gated) {
        TIDAL_IGNORE(gate(r, &recs[0], true));
    }
    pthread_mutex_unlock(&r->state.lock);
    return rv;
}

int
tidal__wait_room(tidal_region *r, size_t len, uint32_t left_ms)
{
    if (tidal_runtime_sim(r->rt) == NULL) {
        return tidal_wal_wait_room(r->wal, len, left_ms);
    }
    uint64_t end_ms = tidal_elapsed_ms(r->rt) + left_ms;
    int rv;
    while ((rv = tidal_wal_wait_room(r->wal, len, 0)) == TIDAL_ETIMEDOUT) {
        if (tidal_runtime_block(r->rt, NULL, NULL, end_ms) != 0) {
            break;
        }
    }
    return rv;
}

/* Writes n records as one batch.  gate (may be NULL) runs first, under
 * state_lock; signal records then get their counter components.  *lsn gets
 * the batch's last LSN.  An ephemeral log that is full (its peers have not
 * acknowledged enough) makes a caller's thread (ctx NULL) wait for room and
 * write again, up to write_timeout_ms (region.h, "Backpressure"); a log that
 * refuses appends after the disk failed makes it wait for one retry and
 * write again if the retry wrote the log's tail.  A handler never waits and
 * gets TIDAL_EFULL or TIDAL_EIO.  On error, or when the gate says no,
 * nothing was applied and that is returned. */
static int
write_batch(tidal_region *r, tidal_ctx *ctx, tidal_record *recs, uint32_t n,
            tidal__write_gate gate, bool given, uint64_t *lsn)
{
    tidal_buf payload;
    tidal_buf_init(&payload);
    tidal_hlc hmin, hmax;
    uint64_t first = 0, end_ms = 0;
    bool full, room_waited = false, retried = false;
    /* a region whose clock runs ahead stamps nothing (clock.c) */
    int rv = given ? 0 : tidal__clock_fence(r);
    for (uint32_t i = 0; i < n && rv == 0; i++) {
        rv = tidal__stamp_check(r, &recs[i]);
    }
    /* after a salvage, no LSN before the peers said which ones they hold */
    rv = rv != 0 ? rv : tidal__learn_wait(r, ctx);
    if (rv != 0) {
        tidal_buf_fini(&payload);
        return rv;
    }
    for (;;) {
        hlc_range(r, recs, n, &hmin, &hmax);
        rv = append_apply(r, recs, n, gate, hmin, hmax, &payload, &first, &full);
        if (ctx != NULL || (!full && (rv != TIDAL_EIO || retried))) {
            break;
        }
        /* the gate and the counters are read again on the next try: what
         * others wrote meanwhile comes first */
        uint64_t now = tidal_elapsed_ms(r->rt);
        if (end_ms == 0) {
            end_ms = now + r->opts.write_timeout_ms;
        }
        uint32_t left = now < end_ms ? (uint32_t)(end_ms - now) : 0;
        if (full) {
            if (!room_waited) {
                room_waited = true;
                atomic_fetch_add(&r->st_room_waits, 1); /* once per call, as it starts */
            }
            int wv = left == 0 ? TIDAL_ETIMEDOUT
                               : tidal__wait_room(r, TIDAL_BATCH_HEADER_BYTES + payload.len,
                                                  left);
            if (wv != 0 && wv != TIDAL_EIO) {
                break; /* still full: TIDAL_EFULL, nothing written */
            }
            /* TIDAL_EIO: the disk failed meanwhile; the next try is refused
             * for it, and asks for the retry */
        } else {
            retried = true;
            if (tidal_wal_wait_retry(r->wal, left) != 0) {
                break; /* the disk still refuses: TIDAL_EIO, nothing written */
            }
        }
        tidal_buf_reset(&payload);
    }
    if (rv != 0) {
        tidal_buf_fini(&payload);
        return rv;
    }
    *lsn = first + n - 1;
    atomic_fetch_add(&r->st_writes, n);
    if (tidal_wal_durable_lsn(r->wal) >= *lsn) {
        tidal__ship_now(r, TIDAL__SHIP_BY_WRITER);
    }
    if (recs[0].kind != TIDAL_REC_HIDE && recs[0].kind != TIDAL_REC_UNHIDE &&
        recs[0].kind != TIDAL_REC_USER_COUNTER) {
        /* a copy for the seed's replay_last_session_batch: the batch exactly
         * as the WAL holds it, the same header re-encoded */
        tidal_batch_header h = {.origin = r->id, .shard = r->opts.shard_id, .count = n,
                                .first_lsn = first, .payload_len = (uint32_t)payload.len,
                                .hlc_min = hmin, .hlc_max = hmax};
        uint8_t hdr[TIDAL_BATCH_HEADER_BYTES];
        tidal_buf batch;
        tidal_buf_init(&batch);
        bool built = tidal_batch_header_encode(&h, payload.data, hdr) == 0 &&
                     tidal_buf_append(&batch, hdr, sizeof(hdr)) == 0 &&
                     tidal_buf_append(&batch, payload.data, payload.len) == 0;
        if (built) {
            pthread_mutex_lock(&r->cb_lock);
            tidal_buf_reset(&r->last_session_batch);
            TIDAL_IGNORE(tidal_buf_append(&r->last_session_batch, batch.data, batch.len));
            pthread_mutex_unlock(&r->cb_lock); /* ENOMEM: no replay copy, nothing else */
        }
        tidal_buf_fini(&batch);
    }
    tidal_buf_fini(&payload);
    return 0;
}

int
tidal__write_local(tidal_region *r, tidal_ctx *ctx, tidal_record *recs, uint32_t n,
                   uint64_t *lsn)
{
    return write_batch(r, ctx, recs, n, NULL, false, lsn);
}

int
tidal__write_given(tidal_region *r, tidal_record *recs, uint32_t n, uint64_t *lsn)
{
    return write_batch(r, NULL, recs, n, NULL, true, lsn);
}

int
tidal__write_gated(tidal_region *r, tidal_ctx *ctx, tidal_record *rec, tidal__write_gate gate,
                   uint64_t *lsn)
{
    return write_batch(r, ctx, rec, 1, gate, false, lsn);
}
