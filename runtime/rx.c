/*
 * The receive path of a socket-backed actor, whatever carried the frame
 * (carrier_nng.c, sim_net.c): the frame check, strict decoding, duplicate
 * detection (dupwin.c) and routing to mailboxes.
 *
 * A carrier hands an actor's frames here one at a time, in arrival order.
 * A frame is decoded whole before any envelope is delivered: an invalid
 * frame (internal.h states the rules) is rejected with a counted, logged
 * reason and changes nothing.  tidal checks the frame size itself because
 * inproc ignores NNG_OPT_RECVMAXSZ.
 *
 * Backpressure: a carrier stops handing frames over while queued_n
 * (received, not yet handled) is at the bound (tidal__rx_should_pause);
 * handling resumes it (the carrier's rx_resume_locked).
 *
 * Settling.  nng 1.5.2's stream transports (ipc, tcp, tls+tcp) read a
 * message in two steps, its length and then its body; a connection closed
 * between the two loses the body's read without a word, and nng_close then
 * waits for ever (docs/dependencies.md).  A close under traffic - a region
 * closed while its peers replicate to it - hit that in the test suite.  So
 * before a receiving end that the carrier says may be mid-message closes,
 * it settles: it cancels its pending receive and takes no frame more.
 * nng's pull protocol reads a connection's next message only once the
 * previous one was taken, so a busy connection parks the message it is
 * reading and then reads nothing; after TIDAL__RX_SETTLE_MS the close finds
 * none mid-message, unless a quiet connection's (or a new one's) peer
 * begins a message in the close's own instant.  New connections are not
 * refused: closing them in nng's ADD_PRE callback made the peer's dialer
 * churn, and the peer crashed in nng_send_aio (`tidal check --scenario
 * crash-restart --transport ipc`: 9 seeds in 15).  That crash was nng's push
 * protocol freeing a dropped connection it still listed as ready, repaired
 * since in link_pipes.c; the refusal was not brought back, as 800 closes
 * under traffic did not hang without it.  What is parked is lost
 * with the socket, as any frame still arriving at a close always was.  A
 * stop settles its one actor; a runtime's close settles every actor first
 * and waits once (spawn.c, tidal__actors_stop_all).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/internal.h"

static int
reject_reason(int code)
{
    switch (code) {
    case TIDAL_ETRUNCATED:
        return TIDAL_REJECT_TRUNCATED;
    case TIDAL_EVERSION:
        return TIDAL_REJECT_VERSION;
    case TIDAL_ETYPE:
        return TIDAL_REJECT_TYPE;
    case TIDAL_EFIELD:
        return TIDAL_REJECT_FIELD;
    case TIDAL_ETOOBIG:
        return TIDAL_REJECT_TOOBIG;
    case TIDAL_ELENGTH:
        return TIDAL_REJECT_LENGTH;
    case TIDAL_ETRAILING:
        return TIDAL_REJECT_TRAILING;
    default:
        return TIDAL_REJECT_OTHER;
    }
}

/* Decodes every envelope of a frame into act->scratch.  Returns the count, or
 * 0 after counting a rejection. */
static uint32_t
decode_frame(struct tidal__actor *act, const uint8_t *body, size_t len, uint64_t *uid_out)
{
    tidal_runtime *rt = act->rt;
    if (len > TIDAL_FRAME_BYTES_MAX) {
        tidal__reject(rt, TIDAL_REJECT_FRAME_TOOBIG, NULL, act->url);
        return 0;
    }
    if (len <= TIDAL_FRAME_HEADER_BYTES || memcmp(body, TIDAL_FRAME_MAGIC, 4) != 0 ||
        body[4] != TIDAL_FRAME_VERSION || body[5] != 0 || body[6] != 0 || body[7] != 0) {
        tidal__reject(rt, TIDAL_REJECT_FRAME_HEADER, NULL, act->url);
        return 0;
    }
    uint64_t uid = 0;
    for (int i = 7; i >= 0; i--) {
        uid = (uid << 8) | body[8 + i];
    }
    *uid_out = uid;
    size_t off = TIDAL_FRAME_HEADER_BYTES;
    uint32_t n = 0;
    while (off < len) {
        if (n == TIDAL_FRAME_ENVELOPES_MAX) {
            tidal__reject(rt, TIDAL_REJECT_FRAME_COUNT, NULL, act->url);
            return 0;
        }
        if (n == act->scratch_cap) {
            uint32_t ncap = n ? n * 2 : 64;
            struct tidal__item *s = realloc(act->scratch, ncap * sizeof(*s));
            if (s == NULL) {
                tidal__reject(rt, TIDAL_REJECT_OTHER, NULL, act->url);
                return 0;
            }
            act->scratch = s;
            act->scratch_cap = ncap;
        }
        size_t used;
        tidal_decode_err err = {0};
        int rv = tidal_envelope_decode_one(body + off, len - off, &used, &act->scratch[n].env,
                                           &err);
        if (rv != 0) {
            err.offset += off;
            tidal__reject(rt, reject_reason(rv), &err, act->url);
            return 0;
        }
        off += used;
        n++;
    }
    return n;
}

/* Delivers one decoded envelope; a unit it makes runnable goes to *claim
 * or onto the chain *runq (queued once the frame is routed).  Caller holds
 * act->lock.  Returns false if it went to dead letters. */
static bool
route_one(struct tidal__actor *act, struct tidal__item *it, uint64_t uid, bool credited,
          struct tidal__unit **claim, struct tidal__runq_chain *runq)
{
    /* caller computed credited from the envelope flag and the frame's uid */
    tidal_runtime *rt = act->rt;
    const tidal_envelope *e = &it->env;
    if (e->to_name.len != act->name_len || memcmp(e->to_name.ptr, act->name, act->name_len)) {
        tidal__dead(rt, TIDAL_DEAD_NO_ACTOR, 1);
        return false;
    }
    if (tidal__dup_seen(act, uid, e)) {
        atomic_fetch_add(&act->st_dups, 1);
        atomic_fetch_add(&rt->st_dups, 1);
    }
    struct tidal__unit *u = &act->unit;
    uint32_t bound = UINT32_MAX; /* the owner's bound is enforced through intake */
    if (e->to_key.len > 0) {
        if (!act->has_vbeh) {
            tidal__dead(rt, TIDAL_DEAD_NO_VIRTUAL, 1);
            return false;
        }
        u = tidal__vactor_get_locked(act, e->to_key.ptr, e->to_key.len, true);
        if (u == NULL) {
            return false; /* dead-lettered by vtab.c, with its reason */
        }
        bound = act->vmailbox_max;
    }
    if (tidal__mbox_push(&u->mbox, it, bound) != 0) {
        tidal__dead(rt, TIDAL_DEAD_MAILBOX_FULL, 1);
        return false;
    }
    act->queued_n++;
    if (!credited) {
        act->intake++;
        tidal__room_taken(&act->room, 1);
    }
    if (!tidal__claim_locked(act, u)) {
        return true; /* queued or running already: it finds the envelope */
    }
    if (claim != NULL && *claim == NULL) {
        *claim = u; /* run inline by rx_cb */
    } else {
        tidal__runq_chain_add(runq, u);
    }
    return true;
}

/* The frame's connection, as tidal_msg.via says it.  Caller holds
 * act->lock. */
static uint16_t
via_locked(struct tidal__actor *act, nng_msg *msg, int tag, bool own)
{
    return own                                ? TIDAL_VIA_SELF
           : tag >= 0                         ? (uint16_t)tag
           : atomic_load(&act->peer_n) == 0 ? TIDAL_VIA_PUBLIC
                                              : tidal__via_of_pipe_locked(act, msg);
}

/* A frame that cannot be queued (no memory for its record, or the ask
 * endpoint's, whose replies complete asks and are never queued): frees it
 * and gives back the credits its envelopes carried. */
static void
frame_unqueued(struct tidal__actor *act, nng_msg *msg, struct tidal__item *items, uint32_t n,
               bool own)
{
    tidal_runtime *rt = act->rt;
    uint32_t credits = 0;
    pthread_mutex_lock(&act->lock);
    for (uint32_t i = 0; i < n; i++) {
        credits += own && (items[i].env.flags & TIDAL_ENV_F_CREDITED) != 0 &&
                   tidal__actor_take_credit(act);
    }
    pthread_mutex_unlock(&act->lock);
    if (act->is_reply_endpoint) {
        for (uint32_t i = 0; i < n; i++) {
            tidal__ask_complete(rt, &items[i].env);
        }
    } else {
        tidal__reject(rt, TIDAL_REJECT_OTHER, NULL, act->url);
    }
    nng_msg_free(msg);
    if (credits > 0) {
        pthread_mutex_lock(&act->lock);
        tidal__actor_release_intake(act, credits);
        pthread_mutex_unlock(&act->lock);
    }
}

/* Decodes and routes one frame, which it takes.  tag:
 * the connection it came through (tidal_msg.via) as its carrier knows it,
 * or -1 to ask nng for the frame's pipe; a frame carrying the runtime's
 * self token is TIDAL_VIA_SELF whatever it says.  With claim non-NULL, the
 * first idle unit it reaches is claimed into *claim instead of being
 * queued.  Cannot fail: a bad frame is rejected and counted. */
void
tidal__rx_frame(struct tidal__actor *act, nng_msg *msg, int tag, struct tidal__unit **claim)
{
    tidal_runtime *rt = act->rt;
    uint64_t uid = 0;
    uint32_t n = decode_frame(act, nng_msg_body(msg), nng_msg_len(msg), &uid);
    bool own = uid == rt->self_token;
    if (n == 0) {
        nng_msg_free(msg);
        return;
    }
    atomic_fetch_add(&rt->st_frames_received, 1);
    struct tidal__item *items = act->scratch;
    struct tidal__frame *f = act->is_reply_endpoint ? NULL : malloc(sizeof(*f));
    if (f == NULL) {
        frame_unqueued(act, msg, items, n, own);
        return;
    }
    f->msg = msg;
    atomic_init(&f->refs, n + 1); /* +1 for this function */
    uint32_t delivered = 0, lost_credit = 0;
    struct tidal__runq_chain runq = {0};
    /* one locked section for the frame: credits, duplicates, mailboxes */
    pthread_mutex_lock(&act->lock);
    uint16_t via = via_locked(act, msg, tag, own);
    for (uint32_t i = 0; i < n; i++) {
        struct tidal__item *it = &items[i];
        /* which envelopes arrive on a reservation of this very actor */
        bool credited = own && (it->env.flags & TIDAL_ENV_F_CREDITED) != 0 &&
                        tidal__actor_take_credit(act);
        it->via = via;
        it->credited = credited;
        it->frame = f;
        if (!act->stopping && route_one(act, it, uid, credited, claim, &runq)) {
            delivered++;
        } else {
            if (act->stopping) {
                tidal__dead(rt, TIDAL_DEAD_STOPPED, 1);
            }
            lost_credit += credited;
            atomic_fetch_sub(&f->refs, 1);
        }
    }
    /* the frame's units join the run queue at once: one run-queue lock and
     * one wake-up for a frame to a thousand virtual actors */
    tidal__runq_push_locked(act, &runq);
    if (lost_credit > 0) {
        tidal__actor_release_intake(act, lost_credit);
    }
    /* counted before a worker can pop them: received never lags handled */
    atomic_fetch_add(&rt->st_received, delivered);
    atomic_fetch_add(&act->st_received, delivered);
    pthread_mutex_unlock(&act->lock);
    tidal__frame_unref(f);
}

/* After a frame: true if the carrier must stop handing frames over until
 * rx_resume_locked (queued_n at the bound), and marks the actor paused.
 * Caller holds act->lock and has checked rx_closed. */
bool
tidal__rx_should_pause_locked(struct tidal__actor *act)
{
    if (act->queued_n >= act->intake_max) {
        act->rx_paused = true;
    }
    return act->rx_paused;
}

/* Opens the actor's receiving end at url through the runtime's carrier
 * (resolved into act->url, so a tcp port the OS chose is known before init
 * runs).  Nothing is received until tidal__rx_begin.  On error nothing is
 * left open. */
int
tidal__rx_listen(struct tidal__actor *act, const char *url)
{
    return act->rt->carrier->listen(act, url);
}

/* Starts delivering frames.  On error the receiving end is closed. */
int
tidal__rx_begin(struct tidal__actor *act)
{
    return act->rt->carrier->rx_begin(act);
}

/* Starts settling act's receiving end (above), if its carrier and transport
 * need it.  True if this call started it: the caller then waits,
 * tidal__rx_settle_wait, before tidal__rx_stop.  Cannot fail. */
bool
tidal__rx_settle(struct tidal__actor *act)
{
    const struct tidal__carrier *c = act->rt->carrier;
    pthread_mutex_lock(&act->lock);
    bool wait = !act->rx_settling && !act->rx_closed && !act->rx_stopping &&
                c->rx_settle_locked != NULL && c->rx_settle_locked(act);
    pthread_mutex_unlock(&act->lock);
    return wait;
}

/* Gives settling connections their time.  Cannot fail. */
void
tidal__rx_settle_wait(void)
{
    struct timespec t = {0, (long)TIDAL__RX_SETTLE_MS * 1000000L};
    while (nanosleep(&t, &t) != 0) {
    }
}

/* Settles (unless a runtime's close did already), closes the receiving end
 * and waits until no frame is being handed over.  Safe to call twice and
 * from two threads at once (close and a supervision stop can race): the
 * first caller tears down, a second waits until it is done.  Never called
 * from a carrier's callback. */
void
tidal__rx_stop(struct tidal__actor *act)
{
    if (tidal__rx_settle(act)) {
        tidal__rx_settle_wait();
    }
    pthread_mutex_lock(&act->lock);
    if (act->rx_stopping) {
        while (!act->rx_stopped) {
            pthread_cond_wait(&act->cond, &act->lock);
        }
        pthread_mutex_unlock(&act->lock);
        return;
    }
    act->rx_stopping = true;
    bool was_closed = act->rx_closed;
    act->rx_closed = true;
    pthread_mutex_unlock(&act->lock);
    act->rt->carrier->rx_stop(act, was_closed);
    pthread_mutex_lock(&act->lock);
    act->rx_stopped = true;
    pthread_cond_broadcast(&act->cond);
    pthread_mutex_unlock(&act->lock);
}
