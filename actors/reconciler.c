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
 * ENTRIES messages of at most ENTRIES_BYTES_MAX each.
 *
 * Periodic rounds are a safety net for what shipping cannot bring.  While
 * shipping between two regions is in flight, their states differ by what is
 * on its way, and a round would exchange all of it: under a write burst,
 * most of the state every period (bench_memory: 0.4 to 0.6 million entries a
 * round, and a follower stalled long enough by the merges to be sent its
 * window again).  So a periodic round runs between two regions only when each
 * has acknowledged the other's whole log, as each knows from its own
 * shipper (in_step): no periodic digest goes to a peer still being shipped
 * to, and none is answered from one.  Rounds on demand always run.
 *
 * After merging a session, its HWM rises to the highest seqno below which it
 * has every signal, and held writes for it are drained (state.c).
 *
 * Sessions past the retention are no part of a digest, and go in entries as
 * tombstones (KIND_TOMB); an entry of a session freed here is dropped
 * (state.c, tidal__state_merge_session; docs/design.md, "Ended sessions").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/internal.h"
#include "store/hlc.h"
#include "base/hash.h"

#define ENTRIES_BYTES_MAX (512u << 10)
#define ENTRY_BYTES_MAX 65536u

/* KIND_TOMB: a session past the retention (retention.c), freed or not yet:
 * its id and end stamp, sent only with the entries of a bucket that differs
 * - it ends a peer's copy that missed the end - and never in a digest. */
enum { KIND_HARDNEG = 1, KIND_SIGNALS = 2, KIND_SESSION = 3, KIND_TOMB = 4 };

struct digest {
    uint64_t *h;
    uint32_t n; /* power of two */
};

static uint64_t
key_hardneg(tidal_entity_id user, tidal_entity_id item)
{
    return tidal_mix64(tidal_mix64(user ^ 0x68617264ull) ^ item);
}

static uint64_t
key_signals(tidal_entity_id item, const char *type)
{
    uint64_t h = tidal_mix64(item ^ 0x7369676eull);
    for (const char *p = type; *p; p++) {
        h = tidal_mix64(h ^ (uint8_t)*p);
    }
    return h;
}

static uint64_t
key_session(const tidal_session_id *id)
{
    return tidal_mix64(tidal_mix64(id->hi ^ 0x73657373ull) ^ id->lo);
}

/* Calls fn for every entry with its kind, key hash and entry hash.  Caller
 * holds state_lock. */
typedef void (*entry_fn)(void *arg, int kind, uint64_t key, uint64_t hash, const void *ref);

struct sig_ref {
    tidal_entity_id item;
    uint16_t type;
};

static void
each_entry(tidal_region *r, entry_fn fn, void *arg, bool tombs)
{
    uint64_t cutoff = tidal__retention_cutoff(r);
    size_t cur = 0;
    tidal_hardneg_entry he;
    while (tidal_hardneg_next(r->state.hardneg, &cur, &he)) {
        fn(arg, KIND_HARDNEG, key_hardneg(he.user, he.item), tidal_hardneg_entry_hash(&he), &he);
    }
    cur = 0;
    struct sig_ref sr;
    while (tidal_signals_next(r->state.signals, &cur, &sr.item, &sr.type)) {
        uint64_t h;
        const char *name = tidal_sigtypes_name(r->state.types, sr.type);
        if (name != NULL && tidal_signals_entry_hash(r->state.signals, sr.item, sr.type, &h) == 0) {
            fn(arg, KIND_SIGNALS, key_signals(sr.item, name), h, &sr);
        }
    }
    cur = 0;
    tidal_session_id sid;
    while (tidal_sessions_next(r->state.sessions, &cur, &sid)) {
        uint64_t h;
        if (tidal_sessions_expired(r->state.sessions, &sid, cutoff)) {
            if (tombs) { /* not freed yet: goes as the tombstone it will be */
                fn(arg, KIND_TOMB, key_session(&sid), 0, &sid);
            }
        } else if (tidal_sessions_entry_hash(r->state.sessions, &sid, &h) == 0) {
            fn(arg, KIND_SESSION, key_session(&sid), h, &sid);
        }
    }
    cur = 0;
    while (tombs && tidal_sessions_next_tomb(r->state.sessions, &cur, &sid)) {
        fn(arg, KIND_TOMB, key_session(&sid), 0, &sid);
    }
}

static void
digest_add(void *arg, int kind, uint64_t key, uint64_t hash, const void *ref)
{
    (void)ref;
    struct digest *d = arg;
    d->h[key & (d->n - 1)] ^= tidal_mix64(hash ^ (uint64_t)kind);
}

static size_t
entry_count(tidal_region *r)
{
    return tidal_hardneg_count(r->state.hardneg) + tidal_signals_entries(r->state.signals) +
           tidal_sessions_count(r->state.sessions);
}

static int
digest_make(tidal_region *r, uint32_t n, struct digest *d)
{
    d->n = n;
    d->h = calloc(n, sizeof(uint64_t));
    if (d->h == NULL) {
        return TIDAL_ENOMEM;
    }
    pthread_mutex_lock(&r->state.lock);
    each_entry(r, digest_add, d, false);
    pthread_mutex_unlock(&r->state.lock);
    return 0;
}

/* Entries of the chosen buckets, encoded as [kind byte, entry bytes]. */
struct picked {
    tidal_region *r;
    const uint8_t *want; /* bitmap of n bits */
    uint32_t n;
    tidal_buf bytes;
    uint32_t *ends; /* end offset of each entry */
    uint32_t count, cap;
    int rv;
};

static void
pick(void *arg, int kind, uint64_t key, uint64_t hash, const void *ref)
{
    (void)hash;
    struct picked *p = arg;
    uint32_t b = (uint32_t)(key & (p->n - 1));
    if (p->rv != 0 || (p->want[b / 8] & (1u << (b % 8))) == 0) {
        return;
    }
    if (p->count == p->cap) {
        uint32_t ncap = p->cap ? p->cap * 2 : 256;
        uint32_t *e = realloc(p->ends, ncap * sizeof(*e));
        if (e == NULL) {
            p->rv = TIDAL_ENOMEM;
            return;
        }
        p->ends = e;
        p->cap = ncap;
    }
    if ((p->rv = tidal_buf_reserve(&p->bytes, ENTRY_BYTES_MAX + 1)) != 0) {
        return;
    }
    uint8_t *at = p->bytes.data + p->bytes.len;
    size_t len = 0;
    at[0] = (uint8_t)kind;
    switch (kind) {
    case KIND_HARDNEG:
        p->rv = tidal_hardneg_entry_encode(ref, at + 1, ENTRY_BYTES_MAX, &len);
        break;
    case KIND_SIGNALS: {
        const struct sig_ref *sr = ref;
        p->rv = tidal_signals_entry_encode(p->r->state.signals, sr->item, sr->type, at + 1,
                                           ENTRY_BYTES_MAX, &len);
        break;
    }
    case KIND_TOMB:
        p->rv =
            tidal_sessions_tomb_encode(p->r->state.sessions, ref, at + 1, ENTRY_BYTES_MAX, &len);
        break;
    default:
        p->rv =
            tidal_sessions_entry_encode(p->r->state.sessions, ref, at + 1, ENTRY_BYTES_MAX, &len);
        break;
    }
    if (p->rv == TIDAL_ETOOBIG || p->rv == TIDAL_EINVAL) {
        p->rv = 0; /* an entry too big to travel is left to the batches */
        return;
    }
    if (p->rv == 0) {
        p->bytes.len += len + 1;
        p->ends[p->count++] = (uint32_t)p->bytes.len;
    }
}

/* Sends our entries of the `want` buckets to `to`, in messages of at most
 * ENTRIES_BYTES_MAX, the first carrying ask (may be empty). */
static int
send_entries(tidal_ctx *ctx, tidal_region *r, const tidal_addr *to, uint64_t round,
             const uint8_t *want, uint32_t n, const uint8_t *ask, uint32_t ask_len)
{
    struct picked p = {.r = r, .want = want, .n = n};
    tidal_buf_init(&p.bytes);
    pthread_mutex_lock(&r->state.lock);
    each_entry(r, pick, &p, true);
    pthread_mutex_unlock(&r->state.lock);
    int rv = p.rv;
    tidal_view *views = calloc(p.count ? p.count : 1, sizeof(*views));
    uint32_t i = 0;
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
                               .last = i == p.count, .count = i - start, .entries = views};
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
    free(p.ends);
    tidal_buf_fini(&p.bytes);
    return views == NULL ? TIDAL_ENOMEM : rv;
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

/* A peer's digest: answer with our entries of the differing buckets. */
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
    if (!reconciler_of(r, msg, m.from, &peer) || (!m.on_demand && !in_step(r, m.from))) {
        return 0;
    }
    uint32_t n = m.hashes.len / 8;
    struct digest own;
    if (digest_make(r, n, &own) != 0) {
        return 0;
    }
    uint8_t *diff = calloc(n / 8 ? n / 8 : 1, 1);
    bool any = false;
    for (uint32_t b = 0; diff != NULL && b < n; b++) {
        uint64_t theirs;
        memcpy(&theirs, m.hashes.ptr + 8 * b, 8);
        if (theirs != own.h[b]) {
            diff[b / 8] |= (uint8_t)(1u << (b % 8));
            any = true;
        }
    }
    if (any) {
        (void)send_entries(ctx, r, &peer.reconciler, m.round, diff, n, diff, n / 8 ? n / 8 : 1);
    }
    free(diff);
    free(own.h);
    return 0;
}

/* The codes of the store's entry decoders that mean bad input (the others:
 * a table full, no memory). */
static bool
bad_entry(int code)
{
    return code == TIDAL_ETRUNCATED || code == TIDAL_ECORRUPT || code == TIDAL_EVERSION ||
           code == TIDAL_ETRAILING || code == TIDAL_EINVAL || code == TIDAL_EEXIST;
}

/* Merges one entry.  Returns 0, or the code that rejects it (it changed
 * nothing; the message's other entries are merged all the same: each is a
 * CRDT state of its own).  A merge refused for lack of room is not the
 * entry's fault: left to the next round. */
static int
merge_entry(tidal_region *r, tidal_view e, uint64_t now)
{
    if (e.len < 2) {
        return TIDAL_ETRUNCATED;
    }
    const uint8_t *b = e.ptr + 1;
    size_t len = e.len - 1;
    int rv;
    switch (e.ptr[0]) {
    case KIND_HARDNEG: {
        tidal_hardneg_entry he;
        if ((rv = tidal_hardneg_entry_decode(b, len, &he)) == 0) {
            rv = tidal_hardneg_entry_merge(r->state.hardneg, &he);
        }
        break;
    }
    case KIND_SIGNALS: {
        tidal_entity_id item;
        uint16_t type;
        rv = tidal_signals_entry_merge(r->state.signals, b, len, now, &item, &type);
        break;
    }
    case KIND_SESSION:
        rv = tidal__state_merge_session(r, b, len); /* under the retention rule */
        break;
    case KIND_TOMB:
        rv = tidal__state_merge_tomb(r, b, len);
        break;
    default:
        return TIDAL_ETYPE; /* a kind of a newer peer's: the batches bring its state */
    }
    return bad_entry(rv) ? rv : 0;
}

/* A peer's entries: merge them; if it asked for ours, send them. */
static int
on_entries(tidal_ctx *ctx, tidal_region *r, const tidal_msg *msg)
{
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
    uint64_t now = tidal_hlc_wall_now(NULL);
    size_t cur = 0;
    tidal_view e;
    pthread_mutex_lock(&r->state.lock);
    while (tidal_msg_entries_next(&m, &cur, &e) == 0) {
        int rv = merge_entry(r, e, now);
        if (rv != 0) {
            err = (tidal_decode_err){.code = rv, .what = "entries.entry",
                                     .offset = (size_t)(e.ptr - msg->payload)};
            tidal__region_reject(r, TIDAL_REGION_REJECT_ENTRY_DECODE, msg, &err);
        }
    }
    pthread_mutex_unlock(&r->state.lock);
    atomic_fetch_add(&r->st_rentries, m.count);
    if (m.want.len > 0) {
        uint32_t n = m.want.len * 8;
        (void)send_entries(ctx, r, &peer.reconciler, m.round, m.want.ptr, n, NULL, 0);
    }
    return 0;
}

/* Starts a round with every known peer (periodic: every one in step). */
static void
round_start(tidal_ctx *ctx, tidal_region *r, bool on_demand)
{
    bool to[TIDAL_REGIONS_MAX] = {false}, any = false;
    for (tidal_region_id p = 0; p < TIDAL_REGIONS_MAX; p++) {
        struct tidal__peer peer;
        to[p] = p != r->id && tidal__peer_get(r, p, &peer) && (on_demand || in_step(r, p));
        any = any || to[p];
    }
    if (!any) {
        return; /* nothing to compare yet: not even a digest is made */
    }
    pthread_mutex_lock(&r->state.lock);
    size_t count = entry_count(r);
    pthread_mutex_unlock(&r->state.lock);
    uint32_t n = 256;
    while (n < count / 2 && n < TIDAL_REPL_DIGEST_BUCKETS_MAX) {
        n *= 2;
    }
    struct digest d;
    if (digest_make(r, n, &d) != 0) {
        return;
    }
    uint64_t round = atomic_fetch_add(&r->st_rounds, 1) + 1;
    tidal_msg_digest m = {.from = r->id, .round = round,
                          .hashes = {(const uint8_t *)d.h, n * 8}, .on_demand = on_demand};
    tidal_buf b;
    tidal_buf_init(&b);
    if (tidal_msg_digest_encode(&m, &b) == 0) {
        for (tidal_region_id p = 0; p < TIDAL_REGIONS_MAX; p++) {
            struct tidal__peer peer;
            if (to[p] && tidal__peer_get(r, p, &peer) &&
                tidal_ctx_send(ctx, &peer.reconciler, TIDAL_MSG_DIGEST, b.data,
                               (uint32_t)b.len) == 0) {
                atomic_fetch_add(&r->st_rbytes, b.len);
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
    *state = r;
    return period_of(r) == UINT32_MAX ? 0 : tidal__tick_after(ctx, period_of(r));
}

static int
reconciler_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    tidal_region *r = state;
    if (!tidal__admit(r, TIDAL__ACTOR_RECONCILER, msg)) {
        return 0;
    }
    switch (msg->type) {
    case TIDAL_MSG_DIGEST:
        return on_digest(ctx, r, msg);
    case TIDAL_MSG_ENTRIES:
        return on_entries(ctx, r, msg);
    case TIDAL_MSG_TICK:
        round_start(ctx, r, msg->len == 1);
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

const tidal_behaviour tidal__reconciler_behaviour = {.init = reconciler_init,
                                                     .handle = reconciler_handle};
