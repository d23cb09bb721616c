/*
 * The region API callers use (include/tidal/region.h).  Writes are made on
 * the caller's own thread whenever they can be: no mailbox hop before the one
 * that ships the batch to the peers.
 *   hide, unhide   need no ordering but the state lock's: always here
 *                  (tidal__write_local, as the region actor does for a remote
 *                  client's TIDAL_MSG_WRITE)
 *   session start, signal, end
 *                  here when this region is the session's home; the check,
 *                  the seqno and the append are one hold of the state lock
 *                  (session.c, session_gate), so a write here and one by the
 *                  session's actor (a remote client's, or a queued one) never
 *                  take the same seqno.  Otherwise an ask to the session's
 *                  actor, which has the home hand the session over first; the
 *                  ask carries a random idempotency key, so a copy of it (the
 *                  fault layer duplicates) is answered with the first result
 *                  (store/idem.h) instead of being applied twice.
 * Either way the caller then waits, on its own thread, until the write is
 * durable under the region's policy - and first, when this region's memory
 * log is full, for the room its peers' acknowledgements make, or when the
 * disk refused its log, for one retry of it (write.c here, ask_write for a
 * write refused by the session's actor, which never waits: region.h,
 * "Backpressure").  Once durable, what waited for the sync is applied
 * (actors/pending.c: under SYNC a write is seen once durable), so a read
 * after the call sees the write.  TIDAL_EIO from the wait: the disk refused
 * the batch; it is not acknowledged and not seen, and the region writes it
 * again when the disk takes writes again (store/wal_retry.c) - so it may
 * still take effect, as after TIDAL_ETIMEDOUT.
 *
 * Reads take the state lock and copy out; they see every write applied here.
 *
 * Retrieve's scoring: an item's score is the sum, over every signal type, of
 * its count in the last hour, plus a tenth of its count in the last 24 hours,
 * plus a hundredth of its count in the last 7 days - recent interest first,
 * older interest as a tie-breaker.  Items hidden for the user are dropped;
 * items with no signals score 0 and keep the callers' order among themselves,
 * after every item that has signals.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/internal.h"
#include "base/log.h"
#include "base/random.h"
#include "base/time.h"
#include "store/hlc.h"

/* One ask of `to` to write the encoded record rb, under a new idempotency
 * key, waiting at most timeout_ms for the answer. */
static int
ask_once(tidal_region *r, const tidal_addr *to, const tidal_buf *rb, uint32_t timeout_ms,
         tidal_msg_write_result *res)
{
    tidal_buf mb;
    tidal_buf_init(&mb);
    tidal_msg_write w = {.req_id = tidal__random_id(), .record = {rb->data, (uint32_t)rb->len}};
    int rv = tidal_msg_write_encode(&w, &mb);
    tidal_reply reply = {0};
    if (rv == 0) {
        rv = tidal_ask(r->rt, to, TIDAL_MSG_WRITE, mb.data, (uint32_t)mb.len, timeout_ms, &reply);
    }
    tidal_buf_fini(&mb);
    if (rv != 0) {
        return rv;
    }
    rv = tidal_msg_write_result_decode(reply.payload, reply.len, res, NULL);
    tidal_reply_free(&reply);
    return rv != 0 ? TIDAL_ECORRUPT : 0;
}

/* Waits, on the caller's thread, for the room a refused write of `len` record
 * bytes needs, until end_ms: for the log's release when it is full, else
 * (the session actor's queue was full, or another writer took the room)
 * backoff_ms, which doubles up to 64 ms. */
static void
wait_for_room(tidal_region *r, size_t len, uint64_t end_ms, uint32_t *backoff_ms)
{
    uint64_t now = tidal_elapsed_ms(r->rt);
    uint32_t left = now < end_ms ? (uint32_t)(end_ms - now) : 0;
    size_t need = TIDAL_BATCH_HEADER_BYTES + len;
    if (tidal_wal_wait_room(r->wal, need, 0) != 0) {
        TIDAL_IGNORE(tidal__wait_room(r, need, left)); /* timed out: the caller stops */
        return;
    }
    uint32_t ms = *backoff_ms < left ? *backoff_ms : left;
    uint64_t until = now + ms;
    while (tidal_runtime_block(r->rt, NULL, NULL, until) == 0) {
        /* a backoff: sleep it out (in a simulation, run it out) */
    }
    *backoff_ms = *backoff_ms < 64 ? *backoff_ms * 2 : 64;
}

/* Waits for lsn of this region's log to be durable, then applies what waited
 * for it (read-your-writes).  0 or the wait's error. */
static int
wait_acked(tidal_region *r, uint64_t lsn)
{
    int rv = tidal_wal_wait_durable(r->wal, lsn, r->opts.write_timeout_ms);
    if (rv == 0) {
        tidal__pending_catch_up(r);
    }
    return rv;
}

/* What a write returns, after counting and reporting a refusal for a reason
 * an operator must see (tidal/log.h): a full log past write_timeout_ms, a
 * failed disk, a limit, memory.  A caller's bad argument is not reported. */
static int
refused(tidal_region *r, int rv)
{
    if (rv == TIDAL_EFULL || rv == TIDAL_EIO || rv == TIDAL_ELIMIT || rv == TIDAL_ENOMEM ||
        rv == TIDAL_ETIMEDOUT || rv == TIDAL_ESKEW) {
        uint64_t n = atomic_fetch_add(&r->st_refused, 1) + 1;
        tidal__log(TIDAL_EVENT_WRITE_REFUSED, n,
                   "region %u: write refused: %s (%" PRIu64 " so far)", r->id, tidal_strerror(rv),
                   n);
    }
    return rv;
}

/* Asks `to` to write rec and waits for it to be durable.  A refusal for room
 * (TIDAL_EFULL: this region's log is full, or the session actor's queue) is
 * asked again once there is room, until write_timeout_ms has passed, and a
 * refusal because the disk failed (TIDAL_EIO) once after a retry of the log
 * that worked - under a new key: the refused ask wrote nothing, and its key
 * remembers the refusal (store/idem.h). */
static int
ask_write(tidal_region *r, const tidal_addr *to, const tidal_record *rec, uint64_t *seqno)
{
    tidal_buf rb;
    tidal_buf_init(&rb);
    int rv = tidal_record_encode(rec, &rb);
    uint64_t end_ms = tidal_elapsed_ms(r->rt) + r->opts.write_timeout_ms;
    uint32_t backoff_ms = 1;
    bool waited = false, retried = false;
    tidal_msg_write_result res = {0};
    while (rv == 0) {
        uint64_t now = tidal_elapsed_ms(r->rt);
        rv = ask_once(r, to, &rb, now < end_ms ? (uint32_t)(end_ms - now) : 1, &res);
        if (rv == 0 && res.code == TIDAL_EIO && !retried) {
            retried = true;
            now = tidal_elapsed_ms(r->rt);
            if (tidal_wal_wait_retry(r->wal, now < end_ms ? (uint32_t)(end_ms - now) : 0) == 0) {
                continue;
            }
        }
        if (rv != 0 || res.code != TIDAL_EFULL || tidal_elapsed_ms(r->rt) >= end_ms) {
            break;
        }
        if (!waited) {
            waited = true;
            atomic_fetch_add(&r->st_room_waits, 1); /* once per call, as it starts */
        }
        wait_for_room(r, rb.len, end_ms, &backoff_ms);
    }
    tidal_buf_fini(&rb);
    if (rv != 0) {
        return rv;
    }
    if (res.code != 0) {
        return (int)res.code;
    }
    *seqno = res.seqno;
    return res.lsn == 0 ? 0 : wait_acked(r, res.lsn);
}

static int
session_addr(tidal_region *r, const uint8_t sid[16], tidal_addr *out)
{
    return tidal_addr_virtual(out, &r->region_addr, sid, 16);
}

/* A session write: on this thread when this region is the session's home,
 * else an ask to the session's actor here, which has the home hand the
 * session over first.  A signal is then waited for until a read here sees
 * it: behind a handover, the old home's seqnos below it may not have
 * arrived yet (seen.c). */
static int
session_write_once(tidal_region *r, tidal_record *rec)
{
    uint64_t lsn = 0, seqno = rec->seqno;
    int rv = tidal__session_write(r, NULL, rec, &lsn);
    if (rv == TIDAL__SESSION_ELSEWHERE) {
        tidal_addr to;
        rv = session_addr(r, rec->sid, &to);
        rv = rv != 0 ? rv : ask_write(r, &to, rec, &seqno);
    } else if (rv == TIDAL__SESSION_STARTED) {
        return 0;
    } else {
        seqno = rec->seqno;
        rv = rv != 0 ? rv : wait_acked(r, lsn);
    }
    if (rv != 0 || rec->kind != TIDAL_REC_SESSION_SIGNAL) {
        return rv;
    }
    return tidal__state_wait_seen(r, rec->sid, seqno, r->opts.write_timeout_ms);
}

static int
session_write(tidal_region *r, tidal_record *rec)
{
    return refused(r, session_write_once(r, rec));
}

int
tidal_start_session(tidal_region *r, tidal_entity_id user, const tidal_session_opts *opts,
                    tidal_session_id *out)
{
    (void)opts;
    if (r == NULL || out == NULL) {
        return TIDAL_EINVAL;
    }
    tidal_session_id sid;
    int rv = tidal_session_id_new(&sid);
    if (rv != 0) {
        return rv;
    }
    tidal_record rec = {.kind = TIDAL_REC_SESSION_START, .user = user, .region = r->id,
                        .hlc = tidal_now(r->rt)};
    tidal__sid_to_bytes(&sid, rec.sid);
    if ((rv = session_write(r, &rec)) != 0) {
        return rv;
    }
    *out = sid;
    return 0;
}

int
tidal_signal_in_session(tidal_region *r, tidal_session_id s, const char *type,
                        tidal_entity_id item, double weight, uint64_t ts_ns)
{
    size_t tlen = type != NULL ? strnlen(type, TIDAL_SIGNAL_TYPE_BYTES_MAX + 1) : 0;
    if (r == NULL || tlen == 0 || tlen > TIDAL_SIGNAL_TYPE_BYTES_MAX ||
        !tidal_sigtypes_name_valid(type, tlen) || weight != weight) {
        return TIDAL_EINVAL;
    }
    tidal_record rec = {.kind = TIDAL_REC_SESSION_SIGNAL, .item = item, .weight = weight,
                        .ts_ns = ts_ns, .seqno = 1 /* assigned by the home */};
    memcpy(rec.type, type, tlen);
    tidal__sid_to_bytes(&s, rec.sid);
    return session_write(r, &rec);
}

int
tidal_end_session(tidal_region *r, tidal_session_id s)
{
    if (r == NULL) {
        return TIDAL_EINVAL;
    }
    tidal_record rec = {.kind = TIDAL_REC_SESSION_END, .hlc = tidal_now(r->rt)};
    tidal__sid_to_bytes(&s, rec.sid);
    return session_write(r, &rec);
}

/* A hide or unhide stamped ts: by the caller (given: the _with_ts calls,
 * not fenced by the clock) or by the region's clock. */
static int
hide_write(tidal_region *r, uint8_t kind, tidal_entity_id user, tidal_entity_id item,
           tidal_hlc ts, bool given)
{
    if (r == NULL) {
        return TIDAL_EINVAL;
    }
    tidal_record rec = {.kind = kind, .user = user, .item = item, .hlc = ts};
    uint64_t lsn = 0;
    /* a given stamp is checked before our clock passes it; our own stamp is
     * checked, after the clock fence, by the write */
    int rv = given ? tidal__stamp_check(r, &rec) : 0;
    if (rv != 0) {
        return refused(r, rv);
    }
    tidal_clock_observe(r->rt, &ts); /* the stamp is stored as given; our clock passes it */
    rv = given ? tidal__write_given(r, &rec, 1, &lsn) : tidal__write_local(r, NULL, &rec, 1, &lsn);
    if (rv == 0) {
        rv = wait_acked(r, lsn);
    }
    return refused(r, rv);
}

int
tidal_hide_item_with_ts(tidal_region *r, tidal_entity_id user, tidal_entity_id item, tidal_hlc ts)
{
    return hide_write(r, TIDAL_REC_HIDE, user, item, ts, true);
}

int
tidal_unhide_item_with_ts(tidal_region *r, tidal_entity_id user, tidal_entity_id item,
                          tidal_hlc ts)
{
    return hide_write(r, TIDAL_REC_UNHIDE, user, item, ts, true);
}

int
tidal_hide_item(tidal_region *r, tidal_entity_id user, tidal_entity_id item)
{
    return r == NULL ? TIDAL_EINVAL
                     : hide_write(r, TIDAL_REC_HIDE, user, item, tidal_now(r->rt), false);
}

int
tidal_unhide_item(tidal_region *r, tidal_entity_id user, tidal_entity_id item)
{
    return r == NULL ? TIDAL_EINVAL
                     : hide_write(r, TIDAL_REC_UNHIDE, user, item, tidal_now(r->rt), false);
}

/* A USER_COUNTER's gate (write.c), under state.lock: the origin's rule
 * (store/ucounters.h) on the state and the records waiting for their sync,
 * and the record's component after the write.  Changes nothing but rec, so
 * undo has nothing to give back; a write made again (a full log) runs it
 * again from rec->delta. */
static int
user_counter_gate(tidal_region *r, tidal_record *rec, bool undo)
{
    struct tidal_ucounters_floor f;
    if (undo) {
        return 0;
    }
    tidal__pending_uc_floor(r, rec, &f);
    return tidal_ucounters_prepare(r->state.ucounters, rec->user, rec->key, r->id, rec->delta, &f,
                                   &rec->cp, &rec->cn);
}

int
tidal_user_counter_add(tidal_region *r, tidal_entity_id user, const char *key, int64_t delta)
{
    if (r == NULL || !tidal_ucounters_key_valid(key)) {
        return TIDAL_EINVAL;
    }
    if (delta == 0) {
        return 0; /* nothing to count: nothing logged, no pair made */
    }
    tidal_record rec = {
        .kind = TIDAL_REC_USER_COUNTER, .user = user, .region = r->id, .delta = delta};
    memcpy(rec.key, key, strlen(key));
    uint64_t lsn = 0;
    int rv = tidal__write_gated(r, NULL, &rec, user_counter_gate, &lsn);
    if (rv == 0) {
        rv = wait_acked(r, lsn);
    }
    return refused(r, rv);
}

int
tidal_user_counter_get(tidal_region *r, tidal_entity_id user, const char *key, int64_t *out)
{
    if (r == NULL || out == NULL || !tidal_ucounters_key_valid(key)) {
        return TIDAL_EINVAL;
    }
    tidal__pending_catch_up(r); /* what became durable is seen (pending.c) */
    pthread_mutex_lock(&r->state.lock);
    *out = tidal_ucounters_value(r->state.ucounters, user, key);
    pthread_mutex_unlock(&r->state.lock);
    return 0;
}
