/*
 * The shipping sequence: the one way this region's log is sent to its peers
 * (the shipper actor, shipper.c, drives it on ticks and ACKs).
 *
 * One owner.  Every batch, retransmit and base of a released log leaves
 * through ship_round, under r->ship.lock, as "shipper-<id>" with the
 * shipper's own message ids, whichever thread runs it (internal.h, "Shipping
 * has one owner"):
 *   - a writer whose batch became durable at once (ephemeral, NONE), right
 *     after its append: the single hop from a write to a peer;
 *   - the WAL's sync thread after a sync (SYNC, INTERVAL);
 *   - the shipper actor on its tick and on every ACK.
 * tidal__ship_now takes the lock only if it is free: a caller that finds a
 * round running sets r->ship.again and leaves, and the holder runs another
 * round before it lets go.  So no writer ever waits for another's sends,
 * every batch durable before a round ends is sent by someone, and batches
 * reach each peer in LSN order.
 *
 * Per peer (struct tidal__ship_peer) the sequence keeps the highest LSN
 * acknowledged (acked) and sent (sent_upto).  A round sends each peer the
 * durable batches after its sent_upto and within its window; writers and the
 * sync thread send at most TIDAL_SHIP_DURABLE_RECORDS_MAX LSNs per peer
 * (the next write or sync is not kept waiting) and wake the shipper actor
 * for the rest.  Batches come from the WAL: memory while recent, segments
 * after; each is read once per round and sent to every peer that lacks it.
 *
 * Send window.  Nothing that starts more than TIDAL_SHIP_WINDOW_LSNS past a
 * peer's ACK is sent to it, and every ACK that moves the window ships what
 * it opened at once.  Without it, writers faster than a peer would put the
 * whole memory log in the peer's mailbox, its ACKs would wait seconds
 * behind it, and retransmits of what it had not reached yet would double the
 * queue.  Each peer has its own window, so a peer that is cut off holds no
 * other peer back.
 */
#include <string.h>

#include "actors/internal.h"
#include "base/time.h"

/* One peer a round sends to. */
struct target {
    tidal_region_id p;
    tidal_addr to;
    uint64_t from;  /* the first LSN it lacks */
    uint64_t upto;  /* sends it no batch that starts past this (its window) */
    uint64_t end;   /* ... nor one that ends past this (the caller's budget) */
    uint64_t last;  /* the last LSN sent to it in this round */
    size_t bytes;   /* sent to it in this round */
    bool stopped;   /* refused, or its bytes for the round are spent */
};

struct round {
    tidal_region *r;
    enum tidal__ship_by by;
    struct target t[TIDAL_REGIONS_MAX];
    uint32_t n;
};

void
tidal__ship_init(tidal_region *r)
{
    pthread_mutex_init(&r->ship.lock, NULL);
    atomic_init(&r->ship.again, false);
    atomic_init(&r->ship.kicked, false);
}

void
tidal__ship_fini(tidal_region *r)
{
    pthread_mutex_destroy(&r->ship.lock);
}

uint64_t
tidal__ship_sent_upto(tidal_region *r, tidal_region_id p)
{
    if (p >= TIDAL_REGIONS_MAX) {
        return 0;
    }
    pthread_mutex_lock(&r->ship.lock);
    uint64_t sent = r->ship.peer[p].sent_upto;
    uint64_t acked = atomic_load(&r->ship.peer[p].acked);
    pthread_mutex_unlock(&r->ship.lock);
    return sent > acked ? sent : acked; /* what it acknowledged was sent */
}

/* Sends one BATCH message as the shipper, from any thread; never waits. */
static int
send_batch(tidal_region *r, const tidal_addr *to, const tidal_buf *msg)
{
    return tidal_send_as_actor(r->rt, &r->shipper_addr, to, TIDAL_MSG_BATCH, msg->data,
                               (uint32_t)msg->len, 0);
}

/* tidal_wal_read's callback: sends one batch to every target that lacks it.
 * Returns non-zero to stop: every target is done. */
static int
send_each(void *arg, const uint8_t *batch, size_t len)
{
    struct round *rd = arg;
    tidal_region *r = rd->r;
    tidal_batch_header h;
    if (tidal_batch_span(batch, len, &h.first_lsn, &h.count) != 0) {
        return 1; /* the WAL verified it: cannot happen; stop rather than send garbage */
    }
    tidal_msg_batch m = {.origin = r->id, .shard = r->opts.shard_id,
                         .batch = {batch, (uint32_t)len}};
    tidal_buf b;
    tidal_buf_init(&b);
    bool encoded = false, open = false;
    for (uint32_t i = 0; i < rd->n; i++) {
        struct target *t = &rd->t[i];
        if (t->stopped || h.first_lsn > t->upto || h.first_lsn + h.count - 1 > t->end) {
            t->stopped = true;
            continue;
        }
        open = true;
        if (h.first_lsn + h.count - 1 < t->from) {
            continue; /* it has this one: the read started for another peer */
        }
        if (!encoded && tidal_msg_batch_encode(&m, &b) != 0) {
            tidal_buf_fini(&b);
            return 1; /* too large to send: cannot happen for a batch the WAL took */
        }
        encoded = true;
        /* before it leaves: the peer's ACK of it may come back before this
         * round ends (a send that fails leaves it one batch high, which
         * only an honest peer's ACK could not use anyway) */
        struct tidal__ship_peer *sp = &r->ship.peer[t->p];
        if (h.first_lsn + h.count - 1 > atomic_load(&sp->sent_max)) {
            atomic_store(&sp->sent_max, h.first_lsn + h.count - 1); /* writers hold ship.lock */
        }
        if (send_batch(r, &t->to, &b) != 0) {
            t->stopped = true; /* link or mailbox full: the next round goes on */
            continue;
        }
        atomic_fetch_add(&r->st_shipped, 1);
        if (rd->by == TIDAL__SHIP_BY_SYNC) {
            atomic_fetch_add(&r->st_shipped_at_sync, 1);
        }
        t->last = h.first_lsn + h.count - 1;
        t->bytes += len;
        t->stopped = t->bytes >= TIDAL_SHIP_TICK_BYTES_MAX;
    }
    tidal_buf_fini(&b);
    return open ? 0 : 1;
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

/* Tells peer p, as the shipper, that our log now starts after base for it
 * (internal.h, "Released logs").  Lost or refused: the next round without
 * progress sends it again. */
static void
send_base(tidal_region *r, const struct target *t, uint64_t base)
{
    struct tidal__peer peer;
    tidal_msg_ack a = {.origin = r->id, .shard = r->opts.shard_id, .applied_lsn = base};
    struct tidal__ship_peer *sp = &r->ship.peer[t->p];
    if (base > atomic_load(&sp->sent_max)) {
        atomic_store(&sp->sent_max, base); /* it may acknowledge the base: as if sent */
    }
    tidal_buf b;
    tidal_buf_init(&b);
    if (tidal__peer_get(r, t->p, &peer) && tidal_msg_ack_encode(&a, &b) == 0) {
        TIDAL_IGNORE(tidal__send_msg(r, NULL, &r->shipper_addr, &peer.region, TIDAL_MSG_ACK, &b));
    }
    tidal_buf_fini(&b);
}

/* Under ship.lock: the targets of a round - every known peer that lacks a
 * durable batch within its window - at most budget LSNs each past what it
 * was sent (0: no limit).  Returns true if a budget held one back. */
static bool
round_targets(struct round *rd, uint64_t durable, uint32_t budget)
{
    tidal_region *r = rd->r;
    bool held_back = false;
    rd->n = 0;
    for (tidal_region_id p = 0; p < TIDAL_REGIONS_MAX; p++) {
        struct tidal__ship_peer *sp = &r->ship.peer[p];
        if (p == r->id || !tidal__peer_known(r, p)) {
            continue;
        }
        uint64_t acked = atomic_load(&sp->acked);
        uint64_t sent = sp->sent_upto > acked ? sp->sent_upto : acked;
        uint64_t upto = acked + TIDAL_SHIP_WINDOW_LSNS;
        upto = upto < durable ? upto : durable;
        if (sent >= upto) {
            continue;
        }
        uint64_t end = UINT64_MAX;
        if (budget != 0 && upto > sent + budget) {
            end = sent + budget; /* the rest, and a batch across it, to the shipper */
            held_back = true;
        }
        tidal_addr to;
        if (!tidal__peer_region(r, p, &to)) {
            continue;
        }
        rd->t[rd->n++] = (struct target){.p = p, .to = to, .from = sent + 1, .upto = upto,
                                         .end = end};
    }
    return held_back;
}

/* Under ship.lock: keeps target t off the holes of the log (LSNs in no
 * segment: a salvage's, or skipped to what a peer applied, learn.c).  A
 * read steps over a hole, and the peer would hold the batch after it for
 * ever (it applies in LSN order): at a hole, t is sent a log base at its
 * end instead - it skips there and reconciles the rest, as for a released
 * log - and before one, its window stops short of it. */
static void
step_over_holes(tidal_region *r, struct target *t, uint64_t durable, uint32_t budget)
{
    uint64_t first, last;
    while (tidal_wal_hole_after(r->wal, t->from - 1, &first, &last) == 0 && first <= t->from &&
           last <= durable) {
        send_base(r, t, last);
        t->last = last > t->last ? last : t->last; /* sent; resent if not acknowledged */
        t->from = last + 1;
        t->upto = last + TIDAL_SHIP_WINDOW_LSNS;
        t->upto = t->upto < durable ? t->upto : durable;
        t->end = budget == 0 ? UINT64_MAX : last + budget;
    }
    if (tidal_wal_hole_after(r->wal, t->from - 1, &first, &last) == 0 && first - 1 < t->upto) {
        t->upto = first - 1; /* up to the hole: the next round sends its base */
    }
}

/* Under ship.lock: one round (see the file's comment).  Returns true if
 * something was left for lack of budget. */
static bool
ship_round(tidal_region *r, enum tidal__ship_by by, uint32_t budget)
{
    struct round rd = {.r = r, .by = by};
    uint64_t durable = tidal_wal_durable_lsn(r->wal);
    bool held_back = round_targets(&rd, durable, budget);
    if (rd.n == 0) {
        return held_back;
    }
    uint64_t lo = UINT64_MAX;
    for (uint32_t i = 0; i < rd.n; i++) {
        step_over_holes(r, &rd.t[i], durable, budget);
        lo = rd.t[i].from < lo ? rd.t[i].from : lo;
    }
    /* one frame per peer for the round, sent before the lock goes, so that
     * the next round's batches cannot overtake this one's */
    bool batched = tidal_send_batch_begin(r->rt) == 0;
    if (tidal_wal_read(r->wal, lo, false, send_each, &rd) == TIDAL_ENOENT) {
        /* released before some peer acknowledged it: those peers skip what
         * is gone (the reconciler brings them that state) and go on from
         * what is kept */
        uint64_t oldest = oldest_kept(r, lo, durable + 1);
        for (uint32_t i = 0; i < rd.n; i++) {
            struct target *t = &rd.t[i];
            if (t->from < oldest) {
                send_base(r, t, oldest - 1);
                t->from = oldest;
                t->upto = oldest - 1 + TIDAL_SHIP_WINDOW_LSNS;
                t->upto = t->upto < durable ? t->upto : durable;
                t->end = budget == 0 ? UINT64_MAX : oldest - 1 + budget;
            }
        }
        (void)tidal_wal_read(r->wal, oldest, false, send_each, &rd);
    }
    if (batched) {
        tidal_send_batch_end(r->rt);
    }
    for (uint32_t i = 0; i < rd.n; i++) {
        struct tidal__ship_peer *sp = &r->ship.peer[rd.t[i].p];
        if (rd.t[i].last > sp->sent_upto) {
            sp->sent_upto = rd.t[i].last;
        }
    }
    return held_back;
}

/* Wakes the shipper actor unless a wake-up is already on its way
 * (ship.kicked, cleared by the shipper before it ships): a one-byte tick,
 * for which it does not re-arm its timer.  Cannot fail: a refused tick
 * clears the flag again, and the timer's tick ships. */
static void
kick(tidal_region *r)
{
    if (atomic_exchange(&r->ship.kicked, true)) {
        return;
    }
    uint8_t one = 1;
    tidal_buf t = {.data = &one, .len = 1};
    if (tidal__send_msg(r, NULL, &r->shipper_addr, &r->shipper_addr, TIDAL_MSG_TICK, &t) != 0) {
        atomic_store(&r->ship.kicked, false);
    }
}

/* Rounds one call runs, at most, while requests keep coming in: then it
 * leaves the rest to the shipper actor, so that no writer (and no handler)
 * ships for everyone else for ever under a steady load. */
#define SHIP_ROUNDS_MAX 8u

/* Runs a round, then one more for each request that came in meanwhile
 * (ship.again), at most SHIP_ROUNDS_MAX; holding ship.lock on entry if
 * locked, else taking it only if it is free.  A request made after the last
 * round, when the lock was about to go, is taken up too, so none is ever
 * lost: the holder of the lock always runs another round for it, or wakes
 * the shipper actor to.  budget as in ship_round. */
void
tidal__ship_rounds(tidal_region *r, enum tidal__ship_by by, uint32_t budget, bool locked)
{
    bool held_back = false;
    for (uint32_t rounds = 0;; rounds++) {
        if (!locked) {
            if (pthread_mutex_trylock(&r->ship.lock) != 0) {
                break; /* the holder sees ship.again and runs another round */
            }
            locked = true;
        }
        if (rounds == SHIP_ROUNDS_MAX) {
            pthread_mutex_unlock(&r->ship.lock);
            held_back = true; /* the rest to the shipper actor */
            break;
        }
        atomic_store(&r->ship.again, false);
        held_back = ship_round(r, by, budget) || held_back;
        if (atomic_load(&r->ship.again)) {
            continue; /* still holding the lock */
        }
        pthread_mutex_unlock(&r->ship.lock);
        locked = false;
        if (!atomic_load(&r->ship.again)) {
            break;
        }
    }
    if (held_back) {
        kick(r);
    }
}

void
tidal__ship_now(tidal_region *r, enum tidal__ship_by by)
{
    atomic_store(&r->ship.again, true);
    tidal__ship_rounds(r, by, TIDAL_SHIP_DURABLE_RECORDS_MAX, false);
}

