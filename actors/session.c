/*
 * Session actors: one virtual actor per live session on each region's socket
 * (key = the 16-byte session id), activated by the first message for it.
 * A session's writes at its home are made on the caller's thread
 * (client.c) - or by this actor, for a remote client or a write that waited
 * for a handover - and each takes its seqno in the same hold of the state
 * lock as its append (session_gate.c), so the two kinds of writers share one
 * order.  Writes elsewhere come to this actor, which has the home hand the
 * session over.
 *
 * Roaming (the home moves).  A write reaching region B for a session whose
 * home is A:
 *   1. B's session actor queues the write and sends HANDOVER_REQ(sid, B) to A's.
 *   2. A's session actor, if A is still the home, writes SESSION_HOME(home B,
 *      next seqno N) to A's log - from then on A takes no write for it - and
 *      answers HANDOVER(sid, N).  Otherwise it answers ESTATE (also when the
 *      home already moved to B: B learns it from A's log) and B asks again,
 *      of the home its state then names.
 *   3. B, if its state still names the home it asked under (below), writes
 *      SESSION_HOME(home B, next N) to its own log and runs the queued
 *      writes with seqnos N, N+1, ... (so too when A's log brought this
 *      grant first; named home by another move, it only runs them).  Every
 *      region applies a session's signals in seqno order (state.c holds a
 *      later one until the gap fills), so nothing is lost, duplicated or
 *      reordered, whichever log reaches it first.  B's own signal N is held
 *      too until A's seqnos below it reach B: a caller's thread waits for
 *      that before it returns (seen.c), so that a read at B sees the write
 *      it acknowledged.
 * The single-home rule (docs/design.md): a region becomes the home only
 * through a grant it can trust to be current - the giver's HOME record, or
 * the answer to a request made under the home entry (home, stamp, handover
 * seqno) its state still names - and a home that gave the session away
 * grants it no more.  Else two homes go on from one seqno, the merge keeps
 * the greater signal under it, and an acknowledged one is lost
 * (tests/test_handover_race.c).  So the request's correlation id holds,
 * retries included, only while B's state names the entry it asked under,
 * and B takes only the answer to the request in progress, while that entry
 * is unchanged: not a late copy after the session reached B through A's log
 * and went back to A.  And A answers no request of a region it gave the
 * session to: a retry of the granted request looks like one made after B
 * gave it back to A, whose own grant from B may be on its way.
 * B re-sends its request every TIDAL_HANDOVER_RETRY_MS until answered (a
 * dropped message or a partition only delays the handover; a write waiting
 * meanwhile times out on the client side and can be retried with the same
 * idempotency key).  A region that does not know the session yet (its start
 * has not replicated) answers TIDAL_ENOENT.
 */
#include <stdlib.h>
#include <string.h>

#include "actors/internal.h"
#include "store/hlc.h"

struct queued_write {
    tidal_reply_to to;
    uint64_t req_id;
    tidal_record rec;
};

/* The home our state named when we asked (home, the stamp and seqno of its
 * last change): an answer counts only while the state still names it. */
struct asked_under {
    tidal_region_id home;
    tidal_hlc stamp;
    uint64_t handover_seqno;
};

struct sess {
    tidal_region *r;
    uint8_t sid[16];
    tidal_session_id id;
    bool handing_over;
    uint64_t corr; /* correlation id of the handover in progress: answers carry it */
    uint64_t asked_ms;
    tidal_region_id asked_home; /* the region asked: only its answer counts */
    struct asked_under under;   /* what our state named then */
    struct queued_write *queue;
    uint32_t queued;
};

static int
sess_init(tidal_ctx *ctx, void *arg, void **state)
{
    uint32_t klen;
    const uint8_t *key = tidal_ctx_key(ctx, &klen);
    if (klen != 16) {
        return TIDAL_EINVAL;
    }
    struct sess *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return TIDAL_ENOMEM;
    }
    s->r = arg;
    memcpy(s->sid, key, 16);
    tidal__sid_from_bytes(key, &s->id);
    *state = s;
    return 0;
}

static void
sess_fini(void *state, void *arg)
{
    (void)arg;
    struct sess *s = state;
    if (s != NULL) {
        free(s->queue); /* their clients time out and may retry */
        free(s);
    }
}

static void
remember(tidal_region *r, uint64_t req_id, int code, uint64_t lsn)
{
    if (req_id == 0) {
        return;
    }
    tidal_idem_key k = {0, req_id};
    tidal_idem_result res = {code, lsn};
    pthread_mutex_lock(&r->state.lock);
    /* best effort (ENOMEM, a full table): the key is simply not remembered */
    TIDAL_IGNORE(tidal_idem_put(r->state.idem, &k, &res, tidal_now(r->rt).wall_ns));
    pthread_mutex_unlock(&r->state.lock);
}

/* The session's entry in this region's state, copied under the lock. */
static int
state_of(const struct sess *s, tidal_session_state *info)
{
    pthread_mutex_lock(&s->r->state.lock);
    int rv = tidal_sessions_get(s->r->state.sessions, &s->id, info);
    pthread_mutex_unlock(&s->r->state.lock);
    return rv;
}

static bool
still_under(const struct asked_under *u, const tidal_session_state *info)
{
    return u->home == info->home && u->handover_seqno == info->handover_seqno &&
           tidal_hlc_compare(&u->stamp, &info->home_stamp) == 0;
}

/* Asks info->home, the home our state names, for the session.  A retry
 * keeps the correlation id while the state names the same home as when we
 * first asked; once it names another (the home came here through the log
 * and went on, or moved elsewhere) the request is a new one, so that no
 * answer to the old one counts any more. */
static void
ask_handover(tidal_ctx *ctx, struct sess *s, const tidal_session_state *info)
{
    tidal_region *r = s->r;
    tidal_region_id home = info->home;
    struct tidal__peer peer;
    if (!s->handing_over || !still_under(&s->under, info)) {
        s->corr = atomic_fetch_add(&r->handover_corr, 1);
    }
    s->handing_over = true;
    s->asked_ms = tidal_now(r->rt).wall_ns / 1000000u;
    s->asked_home = home;
    s->under = (struct asked_under){info->home, info->home_stamp, info->handover_seqno};
    if (tidal__peer_get(r, home, &peer)) {
        tidal_addr to;
        tidal_msg_handover_req m = {.to_region = r->id};
        memcpy(m.sid, s->sid, 16);
        tidal_buf b;
        tidal_buf_init(&b);
        if (tidal_addr_virtual(&to, &peer.region, s->sid, 16) == 0 &&
            tidal_msg_handover_req_encode(&m, &b) == 0) {
            TIDAL_IGNORE(
                tidal_ctx_ask(ctx, &to, TIDAL_MSG_HANDOVER_REQ, b.data, (uint32_t)b.len, s->corr));
        }
        tidal_buf_fini(&b);
    }
    /* asks again unless answered first */
    TIDAL_IGNORE(tidal__tick_after(ctx, TIDAL_HANDOVER_RETRY_MS));
}

/* Runs one write at this region if it is the session's home.  Returns 1
 * when the write must wait for a handover. */
static int
run_write(tidal_ctx *ctx, struct sess *s, const tidal_reply_to *to, uint64_t req_id,
          tidal_record *rec)
{
    tidal_region *r = s->r;
    uint64_t lsn = 0;
    int rv;
    while ((rv = tidal__session_write(r, ctx, rec, &lsn)) == TIDAL__SESSION_ELSEWHERE) {
        tidal_session_state info;
        if (state_of(s, &info) == 0 && info.home != r->id) {
            if (!s->handing_over) {
                ask_handover(ctx, s, &info);
            }
            return 1;
        }
        /* the home came back here meanwhile: write again */
    }
    if (rv == TIDAL__SESSION_STARTED) {
        tidal__reply_write_result(ctx, to, 0, 0, 0); /* already started: idempotent */
        return 0;
    }
    tidal__reply_write_result(ctx, to, rv, rv == 0 ? rec->seqno : 0, lsn);
    remember(r, req_id, rv, lsn);
    return 0;
}

static void
enqueue(tidal_ctx *ctx, struct sess *s, const tidal_reply_to *to, uint64_t req_id,
        const tidal_record *rec)
{
    if (s->queued == TIDAL_HANDOVER_QUEUE_MAX) {
        tidal__reply_write_result(ctx, to, TIDAL_EFULL, 0, 0);
        return;
    }
    struct queued_write *q = realloc(s->queue, (s->queued + 1) * sizeof(*q));
    if (q == NULL) {
        tidal__reply_write_result(ctx, to, TIDAL_ENOMEM, 0, 0);
        return;
    }
    s->queue = q;
    q[s->queued++] = (struct queued_write){*to, req_id, *rec};
}

/* Runs the queued writes in order, stopping at one that must wait again. */
static void
run_queue(tidal_ctx *ctx, struct sess *s)
{
    uint32_t done = 0;
    while (done < s->queued &&
           run_write(ctx, s, &s->queue[done].to, s->queue[done].req_id, &s->queue[done].rec) ==
               0) {
        done++;
    }
    memmove(s->queue, s->queue + done, (s->queued - done) * sizeof(*s->queue));
    s->queued -= done;
}

/* True for a record a client may have this session's actor write: a start,
 * signal or end of this very session.  (A HOME record is the session's own
 * doing, never a client's: one would hand the session away.) */
static bool
client_record(const struct sess *s, const tidal_record *rec)
{
    return (rec->kind == TIDAL_REC_SESSION_START || rec->kind == TIDAL_REC_SESSION_SIGNAL ||
            rec->kind == TIDAL_REC_SESSION_END) &&
           memcmp(rec->sid, s->sid, 16) == 0;
}

static int
on_write(tidal_ctx *ctx, struct sess *s, const tidal_msg *msg)
{
    tidal_msg_write m;
    tidal_record rec;
    tidal_reply_to to;
    if (tidal__write_decode(s->r, ctx, msg, &m, &rec) != 0) {
        return 0;
    }
    if (!client_record(s, &rec)) {
        tidal__write_reject(s->r, ctx, msg, TIDAL_REGION_REJECT_WRITE_MISDIRECTED, NULL,
                            TIDAL_EINVAL);
        return 0;
    }
    if (tidal_msg_reply_to(msg, &to) != 0) {
        return 0; /* unanswerable: a write whose result nobody can learn is not made */
    }
    if (m.req_id != 0) {
        tidal_idem_key k = {0, m.req_id};
        tidal_idem_result res;
        pthread_mutex_lock(&s->r->state.lock);
        bool seen = tidal_idem_check(s->r->state.idem, &k, tidal_now(s->r->rt).wall_ns, &res);
        pthread_mutex_unlock(&s->r->state.lock);
        if (seen) {
            tidal__reply_write_result(ctx, &to, res.code, 0, res.value);
            return 0;
        }
    }
    if (s->queued > 0 || run_write(ctx, s, &to, m.req_id, &rec) != 0) {
        enqueue(ctx, s, &to, m.req_id, &rec);
    }
    return 0;
}

static void
answer_handover(tidal_ctx *ctx, struct sess *s, const tidal_msg *msg, uint64_t next, int code)
{
    tidal_msg_handover h = {.next_seqno = next, .code = (uint32_t)code};
    memcpy(h.sid, s->sid, 16);
    struct tidal__peer peer;
    tidal_msg_handover_req req;
    if (tidal_msg_handover_req_decode(msg->payload, msg->len, &req, NULL) != 0 ||
        !tidal__peer_get(s->r, req.to_region, &peer)) {
        return;
    }
    /* a reply, with the request's correlation id, to the asking session's
     * actor - at the address it listens at for this region, not the one
     * its request names (its own listener would not take it from us) */
    tidal_reply_to to = {.corr = msg->corr};
    if (tidal_addr_virtual(&to.addr, &peer.region, s->sid, 16) != 0) {
        return;
    }
    tidal_buf b;
    tidal_buf_init(&b);
    if (tidal_msg_handover_encode(&h, &b) == 0) {
        TIDAL_IGNORE(tidal_ctx_reply_to(ctx, &to, TIDAL_MSG_HANDOVER, b.data, (uint32_t)b.len));
    }
    tidal_buf_fini(&b);
}

/* The old home is asked to hand the session over. */
static int
on_handover_req(tidal_ctx *ctx, struct sess *s, const tidal_msg *msg)
{
    tidal_region *r = s->r;
    tidal_msg_handover_req req;
    tidal_decode_err err = {0};
    if (tidal_msg_handover_req_decode(msg->payload, msg->len, &req, &err) != 0) {
        tidal__region_reject(r, TIDAL_REGION_REJECT_HANDOVER_DECODE, msg, &err);
        return 0;
    }
    if (memcmp(req.sid, s->sid, 16) != 0 || req.to_region >= TIDAL_REGIONS_MAX) {
        tidal__region_reject(r, TIDAL_REGION_REJECT_HANDOVER_MISDIRECTED, msg, NULL);
        return 0;
    }
    if (req.to_region != tidal__via_peer(msg)) {
        /* a region asks for itself only, through its own listener */
        tidal__region_reject(r, TIDAL_REGION_REJECT_ORIGIN_MISMATCH, msg, NULL);
        return 0;
    }
    tidal_session_state info;
    int rv = state_of(s, &info);
    if (rv != 0 || tidal__retention_expired(r, &info)) {
        answer_handover(ctx, s, msg, 0, TIDAL_ENOENT); /* unknown, or gone (retention.c) */
    } else if (info.home != r->id) {
        /* moved elsewhere - or to the asker already, which our log tells:
         * a home that gave the session away grants it no more (above) */
        answer_handover(ctx, s, msg, 0, TIDAL_ESTATE);
    } else {
        /* the next seqno is read where the HOME record is written: a caller
         * writing a signal here meanwhile cannot take it too */
        tidal_record home = {.kind = TIDAL_REC_SESSION_HOME, .region = req.to_region,
                             .hlc = tidal_now(r->rt)};
        memcpy(home.sid, s->sid, 16);
        uint64_t lsn;
        rv = tidal__session_write(r, ctx, &home, &lsn);
        if (rv == TIDAL__SESSION_ELSEWHERE) {
            answer_handover(ctx, s, msg, 0, TIDAL_ESTATE); /* moved meanwhile: ask again */
        } else {
            answer_handover(ctx, s, msg, rv == 0 ? home.seqno : 0, rv);
        }
    }
    return 0;
}

/* The new home got its answer. */
static int
on_handover(tidal_ctx *ctx, struct sess *s, const tidal_msg *msg)
{
    tidal_region *r = s->r;
    tidal_msg_handover h;
    tidal_decode_err err = {0};
    if (tidal_msg_handover_decode(msg->payload, msg->len, &h, &err) != 0) {
        tidal__region_reject(r, TIDAL_REGION_REJECT_HANDOVER_DECODE, msg, &err);
        return 0;
    }
    if (memcmp(h.sid, s->sid, 16) != 0) {
        tidal__region_reject(r, TIDAL_REGION_REJECT_HANDOVER_MISDIRECTED, msg, NULL);
        return 0;
    }
    if (!s->handing_over || !msg->is_reply || msg->corr != s->corr ||
        tidal__via_peer(msg) != s->asked_home) {
        return 0; /* not the answer to the request in progress (a late copy of an old one) */
    }
    if (h.code != 0) {
        return 0; /* the retry timer asks again, of the home our state names then */
    }
    tidal_session_state info;
    int rv = state_of(s, &info);
    bool ours = rv == 0 && info.home == r->id;
    if (rv != 0 || (!still_under(&s->under, &info) &&
                    !(ours && info.handover_seqno == h.next_seqno))) {
        /* Our state moved since we asked (the home came here and went on),
         * other than by this very grant arriving first in the old home's
         * log: the answer may be older than the move.  Ours anyway: the
         * queue runs; else the timer asks anew. */
        if (ours) {
            s->handing_over = false;
            run_queue(ctx, s);
        }
        return 0;
    }
    tidal_record home = {.kind = TIDAL_REC_SESSION_HOME, .region = r->id, .seqno = h.next_seqno,
                         .hlc = tidal_now(r->rt)};
    memcpy(home.sid, s->sid, 16);
    uint64_t lsn;
    if (tidal__write_local(r, ctx, &home, 1, &lsn) != 0) {
        return 0; /* retried by the timer */
    }
    s->handing_over = false;
    run_queue(ctx, s);
    return 0;
}

static int
on_tick(tidal_ctx *ctx, struct sess *s)
{
    tidal_region *r = s->r;
    uint64_t now = tidal_now(r->rt).wall_ns / 1000000u;
    if (!s->handing_over || s->queued == 0) {
        s->handing_over = s->queued > 0 && s->handing_over;
        return 0;
    }
    if (now - s->asked_ms < TIDAL_HANDOVER_RETRY_MS) {
        return tidal__tick_after(ctx, TIDAL_HANDOVER_RETRY_MS);
    }
    /* the home may have moved meanwhile, or come back to us */
    tidal_session_state info;
    int rv = state_of(s, &info);
    if (rv != 0 || info.home == r->id || tidal__retention_expired(r, &info)) {
        /* ours again - or freed past the retention meanwhile (it was known:
         * it was its home that was asked), and the queued writes are
         * answered TIDAL_ENOENT by the gate instead of waiting for
         * passivation */
        s->handing_over = false;
        run_queue(ctx, s);
    } else {
        ask_handover(ctx, s, &info);
    }
    return 0;
}

static int
sess_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    struct sess *s = state;
    if (!tidal__admit(s->r, TIDAL__ACTOR_SESSION, msg)) {
        return 0;
    }
    switch (msg->type) {
    case TIDAL_MSG_WRITE:
        return on_write(ctx, s, msg);
    case TIDAL_MSG_HANDOVER_REQ:
        return on_handover_req(ctx, s, msg);
    case TIDAL_MSG_HANDOVER:
        return on_handover(ctx, s, msg);
    case TIDAL_MSG_TICK:
        return on_tick(ctx, s);
    default:
        tidal__region_reject(s->r, TIDAL_REGION_REJECT_MSG_TYPE, msg, NULL);
        return 0;
    }
}

const tidal_behaviour tidal__session_behaviour = {
    .init = sess_init, .handle = sess_handle, .fini = sess_fini};
