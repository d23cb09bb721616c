/*
 * libFuzzer target for the reconciler's merge: the entries of an ENTRIES
 * message (messages/msg_repl.h) merged into a region's tables, as
 * actors/reconciler.c on_entries does.  The dispatch there (merge_entry:
 * a kind byte, then the store's decoder and merge) is static in the actor
 * layer, so this target repeats it, five lines, and calls the same store
 * functions on fresh tables: tidal_hardneg_entry_decode + _entry_merge,
 * tidal_signals_entry_merge, tidal_sessions_entry_merge.
 *
 * Input: [flags u8][now u64 LE][entries].  `now` is the wall clock the
 * signal merges expire buckets against.  flags bit 0 clear: the entries are
 * an ENTRIES payload, decoded with tidal_msg_entries_decode; set: they are
 * bare [length u16 LE][entry] pairs, a shorter way for the fuzzer to reach
 * the store's decoders.
 *
 * What must hold for any input (a failure aborts):
 *  - every merge returns 0 or a TIDAL_E* code;
 *  - idempotence: merging the same entries a second time gives each the
 *    same result and leaves all three digests (hard negatives, signals,
 *    sessions) as they were;
 *  - transfer: every entry the merged tables hold encodes (as the
 *    reconciler's send_entries does) and merges without error into fresh
 *    tables whose types table gives other ids, and those have the same
 *    digests: what one region sends, another rebuilds;
 *  - commutativity: when every entry merged, merging them in the reverse
 *    order into fresh tables merges every one and gives the same digests;
 *  - convergence: when every entry merged, two replicas that each merged
 *    half of them, one then sending the other every entry it holds, end
 *    with the same digests;
 *  - every session's signals stay sorted by seqno, below its next seqno.
 *
 * tidal__fuzz_merge_one returns the decoder's result, else the first
 * merge's failure, else 0; tests/test_fuzz_merge.c replays
 * fuzz/corpus/merge.
 */
#include "fuzz/fuzz_common.h"
#include "messages/msg_repl.h"
#include "store/hardneg.h"
#include "store/session.h"
#include "store/signals.h"
#include "store/sigtypes.h"

int tidal__fuzz_merge_one(const uint8_t *data, size_t size);

/* The reconciler's entry kinds (actors/reconciler.c) and its bound on one
 * entry's encoding. */
enum { KIND_HARDNEG = 1, KIND_SIGNALS = 2, KIND_SESSION = 3 };
#define ENTRY_BYTES_MAX 65536u
#define FLAG_RAW 0x01u
#define HEAD_BYTES 9u
#define ENTRIES_MAX 1024u

struct tables {
    tidal_sigtypes *types;
    tidal_hardneg *hardneg;
    tidal_signals *signals;
    tidal_sessions *sessions;
};

struct digests {
    uint64_t hardneg, signals, sessions;
};

/* Fresh tables; shifted gives names other ids than a fresh types table. */
static void
tables_open(struct tables *t, bool shifted)
{
    static const char *const names[] = {"zzz", "view", "like", "a"};
    uint16_t id;

    memset(t, 0, sizeof(*t));
    FUZZ_CHECK(tidal_sigtypes_open(&t->types) == 0);
    for (size_t i = 0; shifted && i < sizeof(names) / sizeof(names[0]); i++) {
        FUZZ_CHECK(tidal_sigtypes_intern(t->types, names[i], &id) == 0);
    }
    FUZZ_CHECK(tidal_hardneg_open(&t->hardneg) == 0);
    FUZZ_CHECK(tidal_signals_open(t->types, &t->signals) == 0);
    FUZZ_CHECK(tidal_sessions_open(t->types, &t->sessions) == 0);
}

static void
tables_close(struct tables *t)
{
    tidal_sessions_close(t->sessions);
    tidal_signals_close(t->signals);
    tidal_hardneg_close(t->hardneg);
    tidal_sigtypes_close(t->types);
}

static struct digests
tables_digests(const struct tables *t)
{
    return (struct digests){tidal_hardneg_digest(t->hardneg), tidal_signals_digest(t->signals),
                            tidal_sessions_digest(t->sessions)};
}

static bool
digests_same(struct digests a, struct digests b)
{
    return a.hardneg == b.hardneg && a.signals == b.signals && a.sessions == b.sessions;
}

/* actors/reconciler.c merge_entry, less the actor's own follow-up (the
 * session's HWM) and its filter of the codes. */
static int
merge_entry(struct tables *t, const uint8_t *e, size_t len, uint64_t now)
{
    tidal_hardneg_entry he;
    tidal_entity_id item;
    tidal_session_id id;
    uint16_t type;
    int rv;

    if (len < 2) {
        return TIDAL_ETRUNCATED;
    }
    switch (e[0]) {
    case KIND_HARDNEG:
        if ((rv = tidal_hardneg_entry_decode(e + 1, len - 1, &he)) == 0) {
            rv = tidal_hardneg_entry_merge(t->hardneg, &he);
        }
        return rv;
    case KIND_SIGNALS:
        return tidal_signals_entry_merge(t->signals, e + 1, len - 1, now, &item, &type);
    case KIND_SESSION:
        return tidal_sessions_entry_merge(t->sessions, e + 1, len - 1, &id);
    default:
        return TIDAL_ETYPE;
    }
}

/* Every entry of `from`, encoded as the reconciler sends it, merged into
 * `to`: each must merge. */
static void
transfer(const struct tables *from, struct tables *to, uint64_t now)
{
    uint8_t *buf = malloc(1 + ENTRY_BYTES_MAX);
    size_t cur = 0;
    size_t len = 0;
    tidal_hardneg_entry he;
    tidal_entity_id item;
    uint16_t type;
    tidal_session_id id;

    FUZZ_CHECK(buf != NULL);
    buf[0] = KIND_HARDNEG;
    while (tidal_hardneg_next(from->hardneg, &cur, &he)) {
        FUZZ_CHECK(tidal_hardneg_entry_encode(&he, buf + 1, ENTRY_BYTES_MAX, &len) == 0);
        FUZZ_CHECK(merge_entry(to, buf, len + 1, now) == 0);
    }
    buf[0] = KIND_SIGNALS;
    cur = 0;
    while (tidal_signals_next(from->signals, &cur, &item, &type)) {
        int rv =
            tidal_signals_entry_encode(from->signals, item, type, buf + 1, ENTRY_BYTES_MAX, &len);
        if (rv == TIDAL_ETOOBIG || rv == TIDAL_ENOENT) {
            /* too big for one entry (the reconciler sends parts), or the
             * keep rule left it no bucket (in no digest: nothing to send) */
            continue;
        }
        FUZZ_CHECK(rv == 0);
        FUZZ_CHECK(merge_entry(to, buf, len + 1, now) == 0);
    }
    buf[0] = KIND_SESSION;
    cur = 0;
    while (tidal_sessions_next(from->sessions, &cur, &id)) {
        int rv = tidal_sessions_entry_encode(from->sessions, &id, buf + 1, ENTRY_BYTES_MAX, &len);
        if (rv == TIDAL_ETOOBIG) {
            continue;
        }
        FUZZ_CHECK(rv == 0);
        FUZZ_CHECK(merge_entry(to, buf, len + 1, now) == 0);
    }
    free(buf);
}

static void
sessions_sorted(const struct tables *t)
{
    size_t cur = 0;
    tidal_session_id id;

    while (tidal_sessions_next(t->sessions, &cur, &id)) {
        tidal_session_state st;
        const tidal_session_signal *sig = NULL;
        size_t n = 0;
        FUZZ_CHECK(tidal_sessions_get(t->sessions, &id, &st) == 0);
        FUZZ_CHECK(tidal_sessions_signals(t->sessions, &id, &sig, &n) == 0 && n == st.signals);
        for (size_t i = 0; i < n; i++) {
            FUZZ_CHECK(sig[i].seqno >= 1 && sig[i].seqno < st.next_seqno);
            FUZZ_CHECK(i == 0 || sig[i - 1].seqno < sig[i].seqno);
        }
    }
}

/* The entries of the input, as views into it.  Returns the decoder's
 * result (raw framing: always 0). */
static int
entries_parse(const uint8_t *p, size_t len, bool raw, tidal_view *v, size_t *n)
{
    *n = 0;
    if (raw) {
        size_t off = 0;
        while (len - off >= 2 && *n < ENTRIES_MAX) {
            size_t elen = fuzz_le16(p + off);
            if (elen > len - off - 2) {
                break;
            }
            v[(*n)++] = (tidal_view){p + off + 2, (uint32_t)elen};
            off += 2 + elen;
        }
        return 0;
    }
    tidal_msg_entries m;
    tidal_decode_err err;
    tidal_view e;
    size_t cur = 0;
    int rv = tidal_msg_entries_decode(p, len, &m, &err);
    fuzz_check_decode(rv, &err, len);
    while (rv == 0 && *n < ENTRIES_MAX && tidal_msg_entries_next(&m, &cur, &e) == 0) {
        v[(*n)++] = e;
    }
    return rv;
}

int
tidal__fuzz_merge_one(const uint8_t *data, size_t size)
{
    static tidal_view v[ENTRIES_MAX];
    static int codes[ENTRIES_MAX];
    struct tables a, b, c;
    struct digests d;
    size_t n = 0;
    int first = 0;

    if (size < HEAD_BYTES) {
        return 0;
    }
    uint64_t now = fuzz_le64(data + 1);
    int rv = entries_parse(data + HEAD_BYTES, size - HEAD_BYTES, (data[0] & FLAG_RAW) != 0, v, &n);
    if (rv != 0) {
        return rv;
    }

    tables_open(&a, false);
    for (size_t i = 0; i < n; i++) {
        codes[i] = merge_entry(&a, v[i].ptr, v[i].len, now);
        FUZZ_CHECK(fuzz_code_ok(codes[i]));
        if (first == 0) {
            first = codes[i];
        }
    }
    sessions_sorted(&a);
    d = tables_digests(&a);

    /* Idempotence. */
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(merge_entry(&a, v[i].ptr, v[i].len, now) == codes[i]);
    }
    FUZZ_CHECK(digests_same(tables_digests(&a), d));

    /* Transfer into tables with other type ids. */
    tables_open(&b, true);
    transfer(&a, &b, now);
    FUZZ_CHECK(digests_same(tables_digests(&b), d));
    tables_close(&b);

    /* Commutativity, when every entry merged. */
    if (first == 0) {
        tables_open(&c, false);
        for (size_t i = n; i-- > 0;) {
            FUZZ_CHECK(merge_entry(&c, v[i].ptr, v[i].len, now) == 0);
        }
        FUZZ_CHECK(digests_same(tables_digests(&c), d));
        tables_close(&c);
    }

    /* Convergence, when every entry merged: two replicas that each merged
     * half the entries reconcile (one sends the other all it holds) to the
     * state of the one that merged them all. */
    if (first == 0) {
        tables_open(&b, false);
        tables_open(&c, true);
        for (size_t i = 0; i < n; i++) {
            FUZZ_CHECK(merge_entry(i < n / 2 ? &b : &c, v[i].ptr, v[i].len, now) == 0);
        }
        transfer(&b, &c, now);
        FUZZ_CHECK(digests_same(tables_digests(&c), d));
        tables_close(&c);
        tables_close(&b);
    }
    tables_close(&a);
    return first;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)tidal__fuzz_merge_one(data, size); /* any result is fine; only checks abort */
    return 0;
}
