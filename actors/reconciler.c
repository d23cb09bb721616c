/*
 * The reconciler ("reconciler-<id>"): makes regions converge even when
 * batches were lost for good, by comparing state digests and exchanging only
 * what differs.
 *
 * A round, from A to each peer B:
 *   1. A sends DIGEST: every entry of its state (a hard-negative pair, an
 *      (item, signal type) count state, a session) falls in a bucket by a hash
 *      of its key; a bucket's hash is the XOR of its entries' hashes.  The
 *      bucket count is a power of two sized from A's entry count (256..65536).
 *   2. B computes the same buckets of its own state, and for the buckets that
 *      differ sends ENTRIES: its entries of those buckets, plus a bitmap
 *      asking for A's.
 *   3. A merges B's entries and answers with its own entries of the asked
 *      buckets; B merges them.  Every merge is a CRDT merge (store/), so after
 *      one round both hold the union, whatever else happened meanwhile.
 * Rounds run every reconcile_ms, and on demand (tidal_region_reconcile,
 * tidal_cluster_heal, and the round a follower asks for when an origin's log
 * was released past it: internal.h, "Released logs").  Entries travel in
 * ENTRIES messages of at most ENTRIES_BYTES_MAX each; an entry too big for
 * one ENTRIES element (a session of thousands of signals) goes as parts,
 * merged like any entry (reconcile.h, "Parts").
 *
 * Periodic rounds are a safety net for what shipping cannot bring.  While
 * shipping between two regions is in flight, their states differ by what is
 * on its way, and a round would exchange all of it: under a write burst,
 * most of the state every period (bench_memory: 0.4 to 0.6 million entries a
 * round, and a follower stalled long enough by the merges to be sent its
 * window again).  So a periodic round runs between two regions only when each
 * has acknowledged the other's whole log, as each knows from its own
 * shipper (in_step): no periodic digest goes to a peer still being shipped
 * to, and none is answered from one.  Nor is one answered that was made
 * before its sender had the answerer's whole log: it may arrive after the
 * ACKs of the batches it predates (another link), when the two are in step,
 * and its answer would send what shipping has brought since.  So a periodic
 * digest carries its sender's position in each origin's log as it hashed
 * its state (covers), and is answered only if that covers the answerer's
 * durable log.  Rounds on demand always run.
 *
 * Answers.  Every digest that is answered at all (on demand, or periodic
 * between regions in step) is answered with ENTRIES marked reply, even when
 * no bucket differs (one empty message): the region that started the round
 * learns that it is over.  The ENTRIES of one answer are numbered (part,
 * from 0), the last one says so, and each says whether the answer is whole
 * (an entry that could not be encoded, even in parts, is left out of it:
 * the limits leave none).
 *
 * Completed rounds.  A round from A with peer B completes at A when A has
 * merged all of B's answer: every part from 0 up to the last received in
 * order, each of its entries merged (none refused, as bad or for lack of
 * room) and, with a directory, logged (reconciled.c), and the answer whole.
 * A part missing or out of order (lost, reordered by a fault), a refused
 * entry or a failed log append leaves the round incomplete: no later part
 * completes it, and a later round has to.  The last PENDING_PER_PEER rounds
 * with each peer are followed at once.  A completed round that began
 * after an origin's log base fills the watermark's gap for that origin
 * (watermark.c, "Gaps"): B's answer was computed after B got A's digest,
 * so after B sent the base, and for every bucket either A's digest equalled
 * B's then or A has merged B's entries of it since.  (Equal bucket hashes
 * are taken for equal contents: an XOR of 64-bit entry hashes, which two
 * different contents share by chance once in 2^64.)
 *
 * After merging a session, its HWM rises to the highest seqno below which it
 * has every signal, and held writes for it are drained (state.c).  What a
 * merge changed is logged by a region with a directory (reconciled.c); the
 * entries, their digest and their merge are in entries.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/reconcile.h"
#include "store/hlc.h"

#define ENTRIES_BYTES_MAX (512u << 10)

/* Rounds this reconciler started with one peer are followed until they
 * complete ("Completed rounds"), this many at once: a round slower than
 * that many later ones with the same peer (periodic ones, a region's
 * repeated asks for a gap, each a second apart at most) is no longer
 * followed. */
#define PENDING_PER_PEER 8u

struct pending {
    uint64_t round;     /* 0: a free slot */
    uint64_t epoch;     /* the peer's gap epoch when the round started (watermark.c) */
    uint32_t next_part; /* the part of the answer expected next */
    bool open;          /* still able to complete */
};

/* The actor's state. */
struct reconciler {
    tidal_region *r;
    struct pending pending[TIDAL_REGIONS_MAX][PENDING_PER_PEER];
};

/* Where to follow a new round with peer p: a slot that is done with, else
 * the oldest round's. */
static struct pending *
pending_slot(struct reconciler *rc, tidal_region_id p)
{
    struct pending *slot = &rc->pending[p][0];
    for (uint32_t i = 0; i < PENDING_PER_PEER; i++) {
        struct pending *pd = &rc->pending[p][i];
        if (!pd->open) {
            return pd;
        }
        if (pd->round < slot->round) {
            slot = pd;
        }
    }
    return slot;
}

/* The open round `round` with peer p, or NULL. */
static struct pending *
pending_find(struct reconciler *rc, tidal_region_id p, uint64_t round)
{
    for (uint32_t i = 0; i < PENDING_PER_PEER; i++) {
        struct pending *pd = &rc->pending[p][i];
        if (pd->open && pd->round == round) {
            return pd;
        }
    }
    return NULL;
}

/* Sends our entries of the `want` buckets (NULL: none) to `to`, as the
 * answer to round (reply: to its digest), in messages of at most
 * ENTRIES_BYTES_MAX numbered from 0, the first carrying ask (may be empty).
 * 0, or why not all of it went. */
static int
send_entries(tidal_ctx *ctx, tidal_region *r, const tidal_addr *to, uint64_t round, bool reply,
             const uint8_t *want, uint32_t n, const uint8_t *ask, uint32_t ask_len)
{
    struct tidal__picked p;
    int rv = tidal__entries_pick(r, want, n, &p);
    tidal_view *views = calloc(p.count ? p.count : 1, sizeof(*views));
    uint32_t i = 0, part = 0;
    bool first = true;
    while (rv == 0 && views != NULL && (i < p.count || first)) {
        uint32_t start = i, bytes = 0;
        while (i < p.count && i - start < TIDAL_REPL_ENTRIES_MAX && bytes < ENTRIES_BYTES_MAX) {
            uint32_t from = i == 0 ? 0 : p.ends[i - 1];
            views[i - start] = (tidal_view){p.bytes.data + from, p.ends[i] - from};
            bytes += p.ends[i] - from;
            i++;
        }
        tidal_msg_entries m = {.from = r->id, .round = round,
                               .want = {first ? ask : NULL, first ? ask_len : 0},
                               .last = i == p.count, .reply = reply, .part = part++,
                               .whole = p.whole, .count = i - start, .entries = views};
        tidal_buf b;
        tidal_buf_init(&b);
        rv = tidal_msg_entries_encode(&m, &b);
        if (rv == 0) {
            rv = tidal_ctx_send(ctx, to, TIDAL_MSG_ENTRIES, b.data, (uint32_t)b.len);
            atomic_fetch_add(&r->st_rbytes, b.len);
        }
        tidal_buf_fini(&b);
        first = false;
    }
    free(views);
    tidal__picked_fini(&p);
    return views == NULL && rv == 0 ? TIDAL_ENOMEM : rv;
}

/* True, with its addresses in *peer, if msg, which says it is from region
 * `from`, is from a peer's reconciler.  Else it is rejected: a region that
 * is this one, out of range or unknown (ORIGIN_MISMATCH), or a sender that
 * is not that region's reconciler (SENDER_MISMATCH). */
static bool
reconciler_of(tidal_region *r, const tidal_msg *msg, uint16_t from, struct tidal__peer *peer)
{
    char name[TIDAL_NAME_BYTES_MAX];
    if (from == r->id || from != tidal__via_peer(msg) || !tidal__peer_get(r, from, peer)) {
        tidal__region_reject(r, TIDAL_REGION_REJECT_ORIGIN_MISMATCH, msg, NULL);
        return false;
    }
    int n = snprintf(name, sizeof(name), "reconciler-%u", from);
    if (msg->from_name_len != (uint32_t)n || memcmp(msg->from_name, name, (size_t)n) != 0) {
        tidal__region_reject(r, TIDAL_REGION_REJECT_SENDER_MISMATCH, msg, NULL);
        return false;
    }
    return true;
}

/* True when peer p has acknowledged all of this region's durable log: no
 * shipping from here to it is in flight ("Periodic rounds"). */
static bool
in_step(tidal_region *r, tidal_region_id p)
{
    return atomic_load(&r->st_acked[p]) >= tidal_wal_durable_lsn(r->wal);
}

/* True when a periodic digest may be answered: both in step now, and the
 * digest itself made once its sender had our whole log ("Periodic
 * rounds").  A digest without covers (an older region's) is judged by the
 * first alone. */
static bool
answerable(tidal_region *r, const tidal_msg_digest *m)
{
    if (!in_step(r, m->from)) {
        return false;
    }
    return m->ncovers == 0 ||
           (r->id < m->ncovers && m->covers[r->id] >= tidal_wal_durable_lsn(r->wal));
}

/* A peer's digest: answer with our entries of the differing buckets, asking
 * for theirs - or, if none differs, with an empty answer ("Answers"). */
static int
on_digest(tidal_ctx *ctx, tidal_region *r, const tidal_msg *msg)
{
    tidal_msg_digest m;
    struct tidal__peer peer;
    tidal_decode_err err = {0};
    if (tidal_msg_digest_decode(msg->payload, msg->len, &m, &err) != 0) {
        tidal__region_reject(r, TIDAL_REGION_REJECT_DIGEST_DECODE, msg, &err);
        return 0;
    }
    if (!reconciler_of(r, msg, m.from, &peer) || (!m.on_demand && !answerable(r, &m))) {
        return 0;
    }
    uint32_t n = m.hashes.len / 8;
    struct tidal__digest own;
    if (tidal__digest_make(r, n, &own) != 0) {
        return 0;
    }
    uint32_t diff_len = n / 8 ? n / 8 : 1;
    uint8_t *diff = calloc(diff_len, 1);
    bool any = false;
    for (uint32_t b = 0; diff != NULL && b < n; b++) {
        uint64_t theirs;
        memcpy(&theirs, m.hashes.ptr + 8 * b, 8);
        if (theirs != own.h[b]) {
            diff[b / 8] |= (uint8_t)(1u << (b % 8));
            any = true;
        }
    }
    if (diff != NULL) {
        /* no answer at all if we could not compare: never "nothing differs" */
        (void)send_entries(ctx, r, &peer.reconciler, m.round, true, any ? diff : NULL, n,
                           any ? diff : NULL, any ? diff_len : 0);
    }
    free(diff);
    free(own.h);
    return 0;
}

/* One ENTRIES message of peer p's answer to our round: counts it towards
 * the round's completion, and fills p's gap if that completes it
 * ("Completed rounds").  merged: every entry of it merged and logged. */
static void
answer_part(struct reconciler *rc, tidal_region_id p, const tidal_msg_entries *m, bool merged)
{
    struct pending *pd = pending_find(rc, p, m->round);
    if (pd == NULL || m->part < pd->next_part) {
        return; /* a round not followed, or a copy of a part already counted */
    }
    if (m->part > pd->next_part || !merged || !m->whole) {
        pd->open = false; /* a part lost or late, or state not taken: incomplete */
        return;
    }
    pd->next_part++;
    if (m->last) {
        pd->open = false;
        atomic_fetch_add(&rc->r->st_rounds_done, 1);
        if (tidal__watermark_gap_pending(rc->r, p)) {
            tidal__watermark_gap_fill(rc->r, p, pd->epoch);
        }
    }
}

/* Merges the entries of m (state.lock held), logging those that changed
 * the state.  True if every one merged and was logged. */
static bool
merge_all(tidal_region *r, const tidal_msg *msg, const tidal_msg_entries *m)
{
    uint64_t now = tidal_wall_ns(r->rt);
    struct tidal__reconciled_batch log;
    tidal__reconciled_batch_init(&log);
    bool all = true;
    size_t cur = 0;
    tidal_view e;
    while (tidal_msg_entries_next(m, &cur, &e) == 0) {
        bool changed = false;
        int rv = tidal__entry_merge(r, e, now, &changed);
        if (rv != 0 && tidal__entry_bad(rv)) {
            tidal_decode_err err = {.code = rv, .what = "entries.entry",
                                    .offset = (size_t)(e.ptr - msg->payload)};
            tidal__region_reject(r, TIDAL_REGION_REJECT_ENTRY_DECODE, msg, &err);
        }
        /* each entry is a CRDT state of its own: the others merge all the
         * same; one refused for lack of room is left to the next round */
        all = all && rv == 0;
        if (rv == 0 && changed && tidal__reconciled_add(r, &log, e) != 0) {
            all = false;
        }
    }
    if (tidal__reconciled_flush(r, &log) != 0) {
        all = false;
    }
    tidal__reconciled_batch_fini(&log);
    return all;
}

/* A peer's entries: merge them; if it asked for ours, send them. */
static int
on_entries(tidal_ctx *ctx, struct reconciler *rc, const tidal_msg *msg)
{
    tidal_region *r = rc->r;
    tidal_msg_entries m;
    struct tidal__peer peer;
    tidal_decode_err err = {0};
    if (tidal_msg_entries_decode(msg->payload, msg->len, &m, &err) != 0) {
        tidal__region_reject(r, TIDAL_REGION_REJECT_ENTRIES_DECODE, msg, &err);
        return 0;
    }
    if (!reconciler_of(r, msg, m.from, &peer)) {
        return 0;
    }
    pthread_mutex_lock(&r->state.lock);
    bool merged = merge_all(r, msg, &m);
    /* counted before the lock is let go: whoever reads the merged state
     * (under the lock) sees the entries counted */
    atomic_fetch_add(&r->st_rentries, m.count);
    pthread_mutex_unlock(&r->state.lock);
    if (m.reply) {
        answer_part(rc, m.from, &m, merged);
    }
    if (m.want.len > 0) {
        uint32_t n = m.want.len * 8;
        (void)send_entries(ctx, r, &peer.reconciler, m.round, false, m.want.ptr, n, NULL, 0);
    }
    return 0;
}

/* Starts a round with every known peer (periodic: every one in step). */
static void
round_start(tidal_ctx *ctx, struct reconciler *rc, bool on_demand)
{
    tidal_region *r = rc->r;
    bool to[TIDAL_REGIONS_MAX] = {false}, any = false;
    for (tidal_region_id p = 0; p < TIDAL_REGIONS_MAX; p++) {
        struct tidal__peer peer;
        to[p] = p != r->id && tidal__peer_get(r, p, &peer) && (on_demand || in_step(r, p));
        any = any || to[p];
    }
    if (!any) {
        return; /* nothing to compare yet: not even a digest is made */
    }
    size_t count = tidal__entries_count(r);
    uint32_t n = 256;
    while (n < count / 2 && n < TIDAL_REPL_DIGEST_BUCKETS_MAX) {
        n *= 2;
    }
    struct tidal__digest d;
    if (tidal__digest_make(r, n, &d) != 0) {
        return;
    }
    uint64_t round = atomic_fetch_add(&r->st_rounds, 1) + 1;
    tidal_msg_digest m = {.from = r->id, .round = round,
                          .hashes = {(const uint8_t *)d.h, n * 8}, .on_demand = on_demand,
                          .ncovers = on_demand ? 0 : TIDAL_REGIONS_MAX};
    memcpy(m.covers, d.covers, sizeof(m.covers));
    tidal_buf b;
    tidal_buf_init(&b);
    if (tidal_msg_digest_encode(&m, &b) == 0) {
        for (tidal_region_id p = 0; p < TIDAL_REGIONS_MAX; p++) {
            struct tidal__peer peer;
            if (!to[p] || !tidal__peer_get(r, p, &peer)) {
                continue;
            }
            /* the epoch is read before the digest leaves: a gap it names
             * was opened before the peer can have answered */
            struct pending *pd = pending_slot(rc, p);
            *pd = (struct pending){.round = round, .open = true,
                                   .epoch = tidal__watermark_gap_epoch(r, p)};
            if (tidal_ctx_send(ctx, &peer.reconciler, TIDAL_MSG_DIGEST, b.data,
                               (uint32_t)b.len) == 0) {
                atomic_fetch_add(&r->st_rbytes, b.len);
            } else {
                pd->open = false;
            }
        }
    }
    tidal_buf_fini(&b);
    free(d.h);
}

static uint32_t
period_of(const tidal_region *r)
{
    return r->opts.reconcile_ms == 0 ? 1000u : r->opts.reconcile_ms;
}

static int
reconciler_init(tidal_ctx *ctx, void *arg, void **state)
{
    tidal_region *r = arg;
    struct reconciler *rc = calloc(1, sizeof(*rc));
    if (rc == NULL) {
        return TIDAL_ENOMEM;
    }
    rc->r = r;
    int rv = period_of(r) == UINT32_MAX ? 0 : tidal__tick_after(ctx, period_of(r));
    if (rv != 0) {
        free(rc); /* a failed init's state is not the runtime's to fini */
        return rv;
    }
    *state = rc;
    return 0;
}

static void
reconciler_fini(void *state, void *arg)
{
    (void)arg;
    free(state);
}

static int
reconciler_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    struct reconciler *rc = state;
    tidal_region *r = rc->r;
    if (!tidal__admit(r, TIDAL__ACTOR_RECONCILER, msg)) {
        return 0;
    }
    switch (msg->type) {
    case TIDAL_MSG_DIGEST:
        return on_digest(ctx, r, msg);
    case TIDAL_MSG_ENTRIES:
        return on_entries(ctx, rc, msg);
    case TIDAL_MSG_TICK:
        round_start(ctx, rc, msg->len == 1);
        /* a one-byte tick is an on-demand round: the timer keeps its own pace */
        if (msg->len == 0 && period_of(r) != UINT32_MAX) {
            return tidal__tick_after(ctx, period_of(r));
        }
        return 0;
    default:
        tidal__region_reject(r, TIDAL_REGION_REJECT_MSG_TYPE, msg, NULL);
        return 0;
    }
}

const tidal_behaviour tidal__reconciler_behaviour = {
    .init = reconciler_init, .handle = reconciler_handle, .fini = reconciler_fini};
