/*
 * Outbound links: one sending end per destination URL (an nng push socket,
 * or a simulated one: the carrier, internal.h), shared by every sender of
 * the runtime, with natural batching.
 *
 * At most one frame is in flight per link.  Envelopes enqueued while it is
 * in flight are packed into the next frame, which leaves as soon as the
 * previous send completes: a lone message goes out at once, and under load
 * frames fill up to TIDAL_COALESCE_ENVELOPES_MAX envelopes or
 * TIDAL_COALESCE_BYTES_MAX bytes.  A handler "corks" the links it sends on,
 * so everything one handler call sends to one socket leaves in one frame when
 * it returns.
 *
 * How a frame leaves is the carrier's (carrier_nng.c, sim_net.c).
 *
 * Bounds: a link holds at most TIDAL_LINK_ENVELOPES_MAX envelopes (and
 * TIDAL_LINK_FRAMES_MAX sealed frames); past that a sender waits up to its
 * timeout, or from a handler fails at once with TIDAL_EFULL.  A link whose
 * peer is down keeps its frames (nng redials every 10..1000 ms) until room
 * runs out, or until the peer has been unreachable for link_hold_ms (the
 * carrier's "Holding"; then they are dead letters, PEER_GONE); one with
 * none, down for a while, is parked (links.c).
 *
 * Frame header layout: runtime/internal.h.  The runtime's table of links
 * (opened on first use, quieted and closed with the runtime) is links.c.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/time.h"
#include "runtime/internal.h"

/* Moves the frame being filled into the send ring as an nng message (one
 * copy per frame).  TIDAL_ENOMEM if the message cannot be allocated: the
 * envelopes stay in fill and go with the next seal. */
static int
seal_locked(struct tidal__link *l)
{
    if (l->fill_n == 0) {
        return 0;
    }
    TIDAL_ASSERT(l->full_count < TIDAL_LINK_FRAMES_MAX);
    nng_msg *m;
    if (nng_msg_alloc(&m, l->fill.len) != 0) {
        return TIDAL_ENOMEM;
    }
    memcpy(nng_msg_body(m), l->fill.data, l->fill.len);
    uint32_t slot = (l->full_head + l->full_count) % TIDAL_LINK_FRAMES_MAX;
    l->full[slot] = m;
    l->full_n_env[slot] = l->fill_n;
    l->full_count++;
    tidal_buf_reset(&l->fill);
    l->fill_n = 0;
    return 0;
}

/* The next frame to send if the link is idle and uncorked, else NULL.  Marks
 * it in flight. */
static nng_msg *
next_frame_locked(struct tidal__link *l)
{
    if (l->inflight_n != 0 || l->corked != 0 || l->closing) {
        return NULL;
    }
    if (l->full_count == 0 && (seal_locked(l) != 0 || l->full_count == 0)) {
        return NULL;
    }
    nng_msg *m = l->full[l->full_head];
    l->inflight_n = l->full_n_env[l->full_head];
    l->full_head = (l->full_head + 1) % TIDAL_LINK_FRAMES_MAX;
    l->full_count--;
    return m;
}

/* At most half full, in envelopes and in frames: room for a sender woken by
 * tidal_ctx_when_room (room.c).  Caller holds l->lock. */
static bool
half_empty_locked(const struct tidal__link *l)
{
    return l->queued <= TIDAL_LINK_ENVELOPES_MAX / 2 &&
           l->full_count + l->stages <= TIDAL_LINK_FRAMES_MAX / 2;
}

/* Room was given back: wake-ups for as much as it takes (room.c), a
 * coalesced frame's worth each.  Caller holds l->lock. */
static void
room_given_locked(struct tidal__link *l)
{
    if (l->room.head != NULL && half_empty_locked(l)) {
        tidal__room_give(&l->room, l->rt, TIDAL_LINK_ENVELOPES_MAX - l->queued,
                         TIDAL_COALESCE_ENVELOPES_MAX, l->queued == 0);
    }
}

/* n envelopes of room were taken.  Caller holds l->lock. */
static void
room_taken_locked(struct tidal__link *l, uint32_t n)
{
    l->queued += n;
    tidal__room_taken(&l->room, n);
}

int
tidal__link_when_room(struct tidal__link *l, tidal__timer_fn fn, void *arg,
                      void (*free_arg)(void *arg))
{
    pthread_mutex_lock(&l->lock);
    int rv = tidal__room_wait(&l->room, l->rt, l->closing || half_empty_locked(l),
                              TIDAL_COALESCE_ENVELOPES_MAX, fn, arg, free_arg);
    pthread_mutex_unlock(&l->lock);
    return rv;
}

/* The peer stayed unreachable past link_hold_ms: every frame queued behind
 * the one in flight, sealed or filling, goes to dead letters too.  Room that
 * stages hold stays theirs: what they move in later waits its own hold.
 * Caller holds l->lock. */
static uint32_t
drop_queued_locked(struct tidal__link *l)
{
    uint32_t n = 0;
    for (; l->full_count > 0; l->full_count--) {
        nng_msg_free(l->full[l->full_head]);
        n += l->full_n_env[l->full_head];
        l->full_head = (l->full_head + 1) % TIDAL_LINK_FRAMES_MAX;
    }
    n += l->fill_n;
    l->fill_n = 0;
    tidal_buf_reset(&l->fill);
    TIDAL_ASSERT(l->queued >= n);
    l->queued -= n;
    tidal__dead(l->rt, TIDAL_DEAD_PEER_GONE, n);
    return n;
}

/* Tells the operator that l gave up `gone` messages (TIDAL-PEER-GONE), on
 * the 1st, 2nd, 4th ... hold this runtime gives up.  No lock held: the
 * application's log callback runs here. */
static void
log_gave_up(struct tidal__link *l, uint64_t gone)
{
    tidal_runtime *rt = l->rt;
    uint64_t nth = atomic_fetch_add(&rt->st_links_gave_up, 1) + 1;
    tidal__log(TIDAL_EVENT_PEER_GONE, nth,
               "%s: no connection to %s for at least %u ms: %" PRIu64
               " messages given up (dead letters PEER_GONE); holds given up so far: %" PRIu64,
               rt->name, l->url, rt->link_hold_ms, gone, nth);
}

/* The frame in flight is done (rv: 0, or the carrier's failure as a tidal
 * code; on failure the carrier freed the frame).  TIDAL_ETIMEDOUT: the
 * peer stayed unreachable past link_hold_ms, and every frame queued goes to
 * dead letters with it (PEER_GONE).  Returns the next frame to send, marked
 * in flight, or NULL.  Called by the carrier. */
nng_msg *
tidal__link_frame_done(struct tidal__link *l, int rv)
{
    tidal_runtime *rt = l->rt;
    uint64_t gone = 0;
    pthread_mutex_lock(&l->lock);
    if (rv == TIDAL_ETIMEDOUT) {
        tidal__dead(rt, TIDAL_DEAD_PEER_GONE, l->inflight_n);
        gone = l->inflight_n;
    } else if (rv != 0) {
        tidal__dead(rt, TIDAL_DEAD_LINK_FAILED, l->inflight_n);
    } else {
        atomic_fetch_add(&rt->st_frames_sent, 1);
    }
    l->queued -= l->inflight_n;
    l->inflight_n = 0;
    if (rv == TIDAL_ETIMEDOUT) {
        gone += drop_queued_locked(l);
    }
    if (l->waiters > 0) {
        pthread_cond_broadcast(&l->cond);
    }
    room_given_locked(l);
    nng_msg *m = rv == TIDAL_ECLOSED ? NULL : next_frame_locked(l);
    pthread_mutex_unlock(&l->lock);
    if (rv == TIDAL_ETIMEDOUT) {
        log_gave_up(l, gone);
    }
    return m;
}

/* Starts a frame in fill: the 16-byte header (layout in internal.h). */
static int
new_frame(struct tidal__link *l)
{
    TIDAL_ASSERT(!atomic_load(&l->parked)); /* its senders made it ready (lock_ready) */
    uint8_t h[TIDAL_FRAME_HEADER_BYTES];
    tidal__frame_header(h, l->self ? l->rt->self_token : l->rt->uid);
    tidal_buf_reset(&l->fill);
    return tidal_buf_append(&l->fill, h, sizeof(h));
}

/* True if one more envelope fits: under the envelope bound, and a frame
 * slot left for the seal it may cause besides one for each stage holding
 * room (a stage's envelopes seal at most one frame when they move in).
 * Caller holds l->lock. */
static bool
has_room_locked(const struct tidal__link *l)
{
    return l->queued < TIDAL_LINK_ENVELOPES_MAX &&
           l->full_count + l->stages < TIDAL_LINK_FRAMES_MAX - 1;
}

/* Waits for room for one envelope.  Caller holds l->lock. */
static int
wait_room_locked(struct tidal__link *l, uint32_t timeout_ms)
{
    if (has_room_locked(l)) {
        return l->closing ? TIDAL_ECLOSED : 0;
    }
    if (timeout_ms == 0) {
        return TIDAL_EFULL;
    }
    struct timespec dl = tidal_deadline(CLOCK_REALTIME, timeout_ms);
    tidal_runtime *rt = l->rt;
    uint64_t dl_ms = tidal__now_ms(rt) + timeout_ms;
    l->waiters++;
    while (!l->closing && !has_room_locked(l)) {
        if (tidal__block(rt, &l->cond, &l->lock, &dl, dl_ms) != 0) {
            break;
        }
    }
    l->waiters--;
    if (l->closing) {
        return TIDAL_ECLOSED;
    }
    return has_room_locked(l) ? 0 : TIDAL_EFULL;
}

static void
cork_locked(struct tidal__link *l, struct tidal__cork *cork)
{
    if (cork == NULL) {
        return;
    }
    for (uint32_t i = 0; i < cork->n; i++) {
        if (cork->links[i] == l) {
            return;
        }
    }
    if (cork->n < sizeof(cork->links) / sizeof(cork->links[0])) {
        cork->links[cork->n++] = l;
        l->corked++;
    }
}

/* Takes l->lock once l is open: a parked link (links.c, Parking) is opened
 * again first, without the lock.  0 with the lock held, or why it could not
 * be opened. */
static int
lock_ready(struct tidal__link *l)
{
    for (;;) {
        int rv = tidal__link_ready(l);
        if (rv != 0) {
            return rv;
        }
        pthread_mutex_lock(&l->lock);
        if (!atomic_load(&l->parked)) {
            return 0;
        }
        pthread_mutex_unlock(&l->lock); /* parked again meanwhile */
    }
}

/* Appends one envelope (encoded from e, or the already-encoded raw bytes) to
 * the link.  A corked sender (a handler, a send batch) never waits.  On
 * error nothing was queued. */
static int
link_append(struct tidal__link *l, const tidal_envelope *e, const uint8_t *raw, size_t rawlen,
            uint32_t timeout_ms, struct tidal__cork *cork)
{
    int rv = lock_ready(l);
    if (rv != 0) {
        return rv;
    }
    rv = wait_room_locked(l, cork != NULL ? 0 : timeout_ms);
    if (rv != 0) {
        pthread_mutex_unlock(&l->lock);
        return rv;
    }
    if (l->fill_n == 0 && (rv = new_frame(l)) != 0) {
        pthread_mutex_unlock(&l->lock);
        return rv;
    }
    rv = raw != NULL ? tidal_buf_append(&l->fill, raw, rawlen) : tidal_envelope_encode(e, &l->fill);
    if (rv != 0) {
        pthread_mutex_unlock(&l->lock);
        return rv;
    }
    l->fill_n++;
    room_taken_locked(l, 1);
    if (l->fill_n >= TIDAL_COALESCE_ENVELOPES_MAX || l->fill.len >= TIDAL_COALESCE_BYTES_MAX) {
        (void)seal_locked(l); /* on ENOMEM the frame keeps filling; next seal retries */
    }
    cork_locked(l, cork);
    nng_msg *m = next_frame_locked(l);
    pthread_mutex_unlock(&l->lock);
    if (m != NULL) {
        l->rt->carrier->link_send(l, m);
    }
    return 0;
}

int
tidal__link_enqueue(struct tidal__link *l, const tidal_envelope *e, uint32_t timeout_ms,
                    struct tidal__cork *cork)
{
    return link_append(l, e, NULL, 0, timeout_ms, cork);
}

int
tidal__link_enqueue_raw(struct tidal__link *l, const uint8_t *bytes, size_t len,
                        struct tidal__cork *cork)
{
    return link_append(l, NULL, bytes, len, 0, cork);
}

/* ---- stages ---------------------------------------------------------------
 *
 * A handler's second and later sends in a row to one link are encoded into
 * its context's stage with no lock held, and move into the link's frame
 * together: when the stage is full, when the handler sends elsewhere, and
 * when it returns (before its cork's flush).  A thousand handlers on
 * sixteen workers sending to one sink then take the link's lock once per
 * TIDAL__STAGE_ENVELOPES_MAX envelopes, not once per envelope.
 *
 * Room: a stage takes room for up to TIDAL__STAGE_ENVELOPES_MAX envelopes
 * at once (counted in queued, so the bounds hold as if they were in the
 * frame) and one frame slot (stages), and gives back what it did not use
 * when it moves in.  At most TIDAL__STAGE_BYTES_MAX bytes and that many
 * envelopes, below the coalescing bounds, so moving in seals at most one
 * frame. */

_Static_assert(TIDAL__STAGE_ENVELOPES_MAX < TIDAL_COALESCE_ENVELOPES_MAX, "one seal per stage");
_Static_assert(TIDAL__STAGE_BYTES_MAX < TIDAL_COALESCE_BYTES_MAX, "one seal per stage");

/* Moves st's envelopes into l's frame and gives back the room it did not
 * use.  An envelope the frame cannot take (memory) is dead-lettered, as
 * a frame that cannot be sent.  Caller holds l->lock. */
static void
stage_move_locked(struct tidal__link *l, struct tidal__stage *st)
{
    TIDAL_ASSERT(st->link == l);
    TIDAL_ASSERT(st->n <= st->room);
    TIDAL_ASSERT(l->stages > 0);
    uint32_t lost = 0;
    for (uint32_t i = 0, start = 0; i < st->n; start = st->ends[i], i++) {
        if ((l->fill_n == 0 && new_frame(l) != 0) ||
            tidal_buf_append(&l->fill, st->buf.data + start, st->ends[i] - start) != 0) {
            lost++;
            continue;
        }
        l->fill_n++;
        bool over = l->fill_n >= TIDAL_COALESCE_ENVELOPES_MAX ||
                    l->fill.len >= TIDAL_COALESCE_BYTES_MAX;
        if (over && l->full_count < TIDAL_LINK_FRAMES_MAX) {
            (void)seal_locked(l); /* on ENOMEM the frame keeps filling; next seal retries */
        }
    }
    uint32_t unused = st->room - st->n + lost;
    TIDAL_ASSERT(l->queued >= unused);
    l->queued -= unused;
    l->stages--;
    if (unused > 0 && l->waiters > 0) {
        pthread_cond_broadcast(&l->cond);
    }
    if (unused > 0) {
        room_given_locked(l);
    }
    if (lost > 0) {
        tidal__dead(l->rt, TIDAL_DEAD_LINK_FAILED, lost);
    }
    st->link = NULL;
    st->n = 0;
    st->room = 0;
    tidal_buf_reset(&st->buf);
}

/* Moves what st holds into its link's frame (the send is the cork's).
 * Cannot fail. */
void
tidal__stage_flush(struct tidal__stage *st)
{
    struct tidal__link *l = st->link;
    if (l == NULL) {
        return;
    }
    pthread_mutex_lock(&l->lock);
    stage_move_locked(l, st);
    pthread_mutex_unlock(&l->lock);
}

/* Encodes e into st for l: what st held for another link moves there
 * first, and when st has no room left its envelopes move in and it takes
 * more.  A handler's send: it never waits (TIDAL_EFULL when the link is
 * full).  On error nothing of e was staged. */
int
tidal__link_stage(struct tidal__link *l, struct tidal__stage *st, const tidal_envelope *e,
                  struct tidal__cork *cork)
{
    if (st->link != NULL && (st->link != l || st->buf.len >= TIDAL__STAGE_BYTES_MAX)) {
        tidal__stage_flush(st);
    }
    if (st->link == NULL || st->n == st->room) {
        /* a stage holding room keeps l from parking: only a new one may find
         * it parked */
        int rv = 0;
        if (st->link == NULL) {
            rv = lock_ready(l);
        } else {
            pthread_mutex_lock(&l->lock);
        }
        if (rv != 0) {
            return rv;
        }
        if (st->link != NULL) {
            stage_move_locked(l, st);
        }
        rv = wait_room_locked(l, 0); /* a handler's send never waits */
        if (rv != 0) {
            pthread_mutex_unlock(&l->lock);
            return rv;
        }
        uint32_t free_n = TIDAL_LINK_ENVELOPES_MAX - l->queued;
        st->room = free_n < TIDAL__STAGE_ENVELOPES_MAX ? free_n : TIDAL__STAGE_ENVELOPES_MAX;
        st->link = l;
        room_taken_locked(l, st->room);
        l->stages++;
        cork_locked(l, cork);
        pthread_mutex_unlock(&l->lock);
    }
    size_t before = st->buf.len;
    int rv = tidal_envelope_encode(e, &st->buf); /* on error buf is unchanged */
    if (rv != 0) {
        return rv;
    }
    TIDAL_ASSERT(st->buf.len - before <= TIDAL__STAGE_BYTES_MAX);
    st->ends[st->n++] = (uint32_t)st->buf.len;
    return 0;
}

/* Sends what a cork held back, link by link.  Cannot fail. */
void
tidal__cork_flush(struct tidal__cork *cork)
{
    for (uint32_t i = 0; i < cork->n; i++) {
        tidal__link_uncork(cork->links[i]);
    }
    cork->n = 0;
}

/* A corked sender (a handler that returned, a send batch that ended) is done
 * with l: send what it queued.  Cannot fail. */
void
tidal__link_uncork(struct tidal__link *l)
{
    pthread_mutex_lock(&l->lock);
    TIDAL_ASSERT(l->corked > 0);
    l->corked--;
    nng_msg *m = next_frame_locked(l);
    pthread_mutex_unlock(&l->lock);
    if (m != NULL) {
        l->rt->carrier->link_send(l, m);
    }
}
