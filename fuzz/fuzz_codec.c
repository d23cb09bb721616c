/*
 * libFuzzer target for the store's entry codecs, what reconciliation carries
 * between regions: a session (store/session_codec.c), an (item, signal type)
 * count state (store/signals_codec.c), a hard-negative pair
 * (store/hardneg.c), the PN-counter inside the signal state
 * (store/pncounter.c) and a (user, key) counter (store/ucounters.c).
 * These decoders read another region's bytes with their own little-endian
 * reader, not msgpack.
 *
 * Input: the first byte selects the codec (bits 0-1: session, signals,
 * hard negative, PN-counter; bit 3 set: a (user, key) counter whatever
 * bits 0-1 say); for signals, bit 2 merges at a fixed recent `now` (so that
 * old buckets expire) instead of at 0 (nothing expires).  The rest is one
 * entry.
 *
 * What must hold for any input (a failure aborts):
 *  - decode / merge returns 0 or a TIDAL_E* code, and a refused entry leaves
 *    a fresh table empty ("on error the table is unchanged");
 *  - the formats are canonical: an entry that merges into a fresh table
 *    encodes back to exactly its input bytes (signals: when nothing expired;
 *    with expiry, to bytes that merge to the same state);
 *  - merging is idempotent: the same entry again changes neither the digest
 *    nor the encoding;
 *  - type ids are local: the entry merged into a table whose types table
 *    gave other ids to the same names has the same digest and encoding;
 *  - what a table holds keeps its invariants (a session's signals sorted by
 *    seqno, below next_seqno; the table's digest is its one entry's hash).
 *
 * tidal__fuzz_codec_one returns the decode or merge result;
 * tests/test_fuzz_codec.c replays fuzz/corpus/codec through it.
 */
#include "fuzz/fuzz_common.h"
#include "store/hardneg.h"
#include "store/pncounter.h"
#include "store/session.h"
#include "store/signals.h"
#include "store/sigtypes.h"
#include "store/ucounters.h"

int tidal__fuzz_codec_one(const uint8_t *data, size_t size);

#define CODEC_SESSION 0u
#define CODEC_SIGNALS 1u
#define CODEC_HARDNEG 2u
#define CODEC_PNCOUNTER 3u
#define FLAG_NOW 0x04u
#define FLAG_UCOUNTER 0x08u

/* 2023-11-14, in ns: a `now` with minutes and hours well past bucket 0. */
#define FUZZ_NOW_NS 1700000000000000000ull

/* A types table that gives names other ids than a fresh one does. */
static tidal_sigtypes *
types_shifted(void)
{
    static const char *const names[] = {"zzz", "view", "like", "a", "skip"};
    tidal_sigtypes *t = NULL;
    uint16_t id;

    FUZZ_CHECK(tidal_sigtypes_open(&t) == 0);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        FUZZ_CHECK(tidal_sigtypes_intern(t, names[i], &id) == 0);
    }
    return t;
}

/* A buffer of len bytes for an entry's encoding: a canonical encoding of
 * what len input bytes made is never longer (else ETOOBIG fails a check). */
static uint8_t *
enc_buf(size_t len)
{
    uint8_t *b = malloc(len != 0 ? len : 1);
    FUZZ_CHECK(b != NULL);
    return b;
}

static void
session_invariants(const tidal_sessions *t, const tidal_session_id *id)
{
    tidal_session_state st;
    const tidal_session_signal *sig = NULL;
    size_t n = 0;
    uint64_t h = 0;

    FUZZ_CHECK(tidal_sessions_get(t, id, &st) == 0);
    FUZZ_CHECK(st.home < TIDAL_REGIONS_MAX);
    FUZZ_CHECK(st.handover_seqno >= 1 && st.handover_seqno <= st.next_seqno);
    FUZZ_CHECK(tidal_sessions_signals(t, id, &sig, &n) == 0 && n == st.signals);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(sig[i].seqno >= 1 && sig[i].seqno < st.next_seqno);
        FUZZ_CHECK(i == 0 || sig[i - 1].seqno < sig[i].seqno);
        FUZZ_CHECK(sig[i].origin < TIDAL_REGIONS_MAX);
    }
    FUZZ_CHECK(tidal_sessions_entry_hash(t, id, &h) == 0 && h == tidal_sessions_digest(t));
}

static int
fuzz_session(const uint8_t *p, size_t len)
{
    tidal_sigtypes *ty = NULL;
    tidal_sigtypes *ty2 = types_shifted();
    tidal_sessions *t = NULL;
    tidal_sessions *t2 = NULL;
    tidal_session_id id;
    tidal_session_id id2;
    uint8_t *enc = NULL;
    size_t elen = 0;

    FUZZ_CHECK(tidal_sigtypes_open(&ty) == 0);
    FUZZ_CHECK(tidal_sessions_open(ty, &t) == 0);
    FUZZ_CHECK(tidal_sessions_open(ty2, &t2) == 0);
    int rv = tidal_sessions_entry_merge(t, p, len, &id);
    FUZZ_CHECK(fuzz_code_ok(rv));
    if (rv != 0) {
        FUZZ_CHECK(tidal_sessions_count(t) == 0);
        goto done;
    }
    FUZZ_CHECK(tidal_sessions_count(t) == 1);
    session_invariants(t, &id);
    enc = enc_buf(len);
    FUZZ_CHECK(tidal_sessions_entry_encode(t, &id, enc, len, &elen) == 0);
    FUZZ_CHECK(fuzz_bytes_same(enc, elen, p, len));
    uint64_t digest = tidal_sessions_digest(t);

    /* Again: nothing changes. */
    FUZZ_CHECK(tidal_sessions_entry_merge(t, p, len, &id2) == 0);
    FUZZ_CHECK(memcmp(&id, &id2, sizeof(id)) == 0);
    FUZZ_CHECK(tidal_sessions_count(t) == 1 && tidal_sessions_digest(t) == digest);
    session_invariants(t, &id);

    /* Into a table with other type ids: the same state. */
    FUZZ_CHECK(tidal_sessions_entry_merge(t2, p, len, &id2) == 0);
    FUZZ_CHECK(tidal_sessions_digest(t2) == digest);
    FUZZ_CHECK(tidal_sessions_entry_encode(t2, &id2, enc, len, &elen) == 0);
    FUZZ_CHECK(fuzz_bytes_same(enc, elen, p, len));
done:
    free(enc);
    tidal_sessions_close(t2);
    tidal_sessions_close(t);
    tidal_sigtypes_close(ty2);
    tidal_sigtypes_close(ty);
    return rv;
}

static int
fuzz_signals(const uint8_t *p, size_t len, uint64_t now)
{
    tidal_sigtypes *ty = NULL;
    tidal_sigtypes *ty2 = types_shifted();
    tidal_signals *s = NULL;
    tidal_signals *s2 = NULL;
    tidal_entity_id item = 0, item2 = 0;
    uint16_t type = 0, type2 = 0;
    uint8_t *enc = NULL;
    uint8_t *enc2 = NULL;
    size_t elen = 0, elen2 = 0;
    uint64_t h = 0;

    FUZZ_CHECK(tidal_sigtypes_open(&ty) == 0);
    FUZZ_CHECK(tidal_signals_open(ty, &s) == 0);
    FUZZ_CHECK(tidal_signals_open(ty2, &s2) == 0);
    int rv = tidal_signals_entry_merge(s, p, len, now, &item, &type);
    FUZZ_CHECK(fuzz_code_ok(rv));
    if (rv != 0 || tidal_signals_entries(s) == 0) {
        /* refused, or every bucket had expired: nothing was kept */
        FUZZ_CHECK(tidal_signals_entries(s) == 0 && tidal_signals_digest(s) == 0);
        goto done;
    }
    FUZZ_CHECK(tidal_signals_entries(s) == 1);
    FUZZ_CHECK(tidal_sigtypes_name(ty, type) != NULL);
    FUZZ_CHECK(tidal_signals_entry_hash(s, item, type, &h) == 0 && h == tidal_signals_digest(s));
    enc = enc_buf(len);
    FUZZ_CHECK(tidal_signals_entry_encode(s, item, type, enc, len, &elen) == 0);
    if (elen == len) {
        /* the keep rule dropped nothing (store/signals.h): the same bytes */
        FUZZ_CHECK(fuzz_bytes_same(enc, elen, p, len));
    }
    uint64_t digest = tidal_signals_digest(s);

    /* Again: nothing changes. */
    FUZZ_CHECK(tidal_signals_entry_merge(s, p, len, now, &item2, &type2) == 0);
    FUZZ_CHECK(item2 == item && type2 == type);
    FUZZ_CHECK(tidal_signals_entries(s) == 1 && tidal_signals_digest(s) == digest);

    /* Into a table with other type ids: the same state, the same bytes. */
    FUZZ_CHECK(tidal_signals_entry_merge(s2, p, len, now, &item2, &type2) == 0);
    FUZZ_CHECK(item2 == item && tidal_signals_digest(s2) == digest);
    enc2 = enc_buf(len);
    FUZZ_CHECK(tidal_signals_entry_encode(s2, item2, type2, enc2, len, &elen2) == 0);
    FUZZ_CHECK(fuzz_bytes_same(enc2, elen2, enc, elen));
done:
    free(enc2);
    free(enc);
    tidal_signals_close(s2);
    tidal_signals_close(s);
    tidal_sigtypes_close(ty2);
    tidal_sigtypes_close(ty);
    return rv;
}

static bool
hlc_same(const tidal_hlc *a, const tidal_hlc *b)
{
    return a->wall_ns == b->wall_ns && a->logical == b->logical && a->node_id == b->node_id;
}

static int
fuzz_hardneg(const uint8_t *p, size_t len)
{
    tidal_hardneg_entry e;
    tidal_hardneg_entry got;
    tidal_hardneg *h = NULL;
    uint8_t buf[TIDAL_HARDNEG_ENTRY_BYTES_MAX];
    size_t elen = 0;

    memset(&e, 0, sizeof(e));
    int rv = tidal_hardneg_entry_decode(p, len, &e);
    FUZZ_CHECK(fuzz_code_ok(rv));
    if (rv != 0) {
        return rv;
    }
    FUZZ_CHECK(e.has_hide || e.has_unhide);
    FUZZ_CHECK(tidal_hardneg_entry_encode(&e, buf, sizeof(buf), &elen) == 0);
    FUZZ_CHECK(fuzz_bytes_same(buf, elen, p, len));
    FUZZ_CHECK(tidal_hardneg_open(&h) == 0);
    FUZZ_CHECK(tidal_hardneg_entry_merge(h, &e) == 0);
    FUZZ_CHECK(tidal_hardneg_entry_merge(h, &e) == 0);
    FUZZ_CHECK(tidal_hardneg_count(h) == 1);
    FUZZ_CHECK(tidal_hardneg_get(h, e.user, e.item, &got));
    FUZZ_CHECK(got.has_hide == e.has_hide && got.has_unhide == e.has_unhide);
    FUZZ_CHECK(!e.has_hide || hlc_same(&got.hide, &e.hide));
    FUZZ_CHECK(!e.has_unhide || hlc_same(&got.unhide, &e.unhide));
    FUZZ_CHECK(tidal_hardneg_digest(h) == tidal_hardneg_entry_hash(&e));
    FUZZ_CHECK(tidal_hardneg_hidden(h, e.user, e.item) == tidal_hardneg_entry_hidden(&e));
    tidal_hardneg_close(h);
    return 0;
}

static int
fuzz_pncounter(const uint8_t *p, size_t len)
{
    tidal_pncounter c;
    tidal_pncounter d;
    uint8_t buf[TIDAL_PNCOUNTER_ENCODED_BYTES_MAX];
    size_t elen = 0;

    tidal_pncounter_init(&c);
    tidal_pncounter_init(&d);
    int rv = tidal_pncounter_decode(&c, p, len);
    FUZZ_CHECK(fuzz_code_ok(rv));
    if (rv != 0) {
        FUZZ_CHECK(tidal_pncounter_regions(&c) == 0); /* unchanged: still empty */
        return rv;
    }
    FUZZ_CHECK(tidal_pncounter_encode(&c, buf, sizeof(buf), &elen) == 0);
    FUZZ_CHECK(fuzz_bytes_same(buf, elen, p, len));
    /* A merge is a max: into an empty counter it copies, into itself it
     * changes nothing. */
    FUZZ_CHECK(tidal_pncounter_merge(&d, &c) == 0 && tidal_pncounter_equal(&d, &c));
    FUZZ_CHECK(tidal_pncounter_merge(&d, &c) == 0 && tidal_pncounter_equal(&d, &c));
    FUZZ_CHECK(tidal_pncounter_hash(&d) == tidal_pncounter_hash(&c));
    tidal_pncounter_fini(&d);
    tidal_pncounter_fini(&c);
    return 0;
}

static int
fuzz_ucounter(const uint8_t *p, size_t len)
{
    tidal_ucounters *t = NULL;
    uint8_t buf[TIDAL_UCOUNTER_ENTRY_BYTES_MAX];
    size_t elen = 0, cur = 0;
    tidal_entity_id user, u2;
    tidal_ucounter_key key, k2;
    bool changed = false;
    uint64_t h = 0;

    FUZZ_CHECK(tidal_ucounters_open(&t) == 0);
    int rv = tidal_ucounters_entry_merge(t, p, len, &changed);
    FUZZ_CHECK(fuzz_code_ok(rv));
    if (rv != 0) {
        FUZZ_CHECK(tidal_ucounters_count(t) == 0 && !changed); /* unchanged */
        tidal_ucounters_close(t);
        return rv;
    }
    FUZZ_CHECK(changed && tidal_ucounters_count(t) == 1);
    FUZZ_CHECK(tidal_ucounters_entry_peek(p, len, &user, &key) == 0);
    FUZZ_CHECK(tidal_ucounters_next(t, &cur, &u2, &k2) && u2 == user);
    FUZZ_CHECK(memcmp(&k2, &key, sizeof(key)) == 0);
    FUZZ_CHECK(tidal_ucounters_entry_encode(t, user, key.s, buf, sizeof(buf), &elen) == 0);
    FUZZ_CHECK(fuzz_bytes_same(buf, elen, p, len));
    FUZZ_CHECK(tidal_ucounters_entry_merge(t, p, len, &changed) == 0 && !changed);
    FUZZ_CHECK(tidal_ucounters_entry_hash(t, user, key.s, &h) == 0);
    FUZZ_CHECK(tidal_ucounters_digest(t) == h);
    tidal_ucounters_close(t);
    return 0;
}

int
tidal__fuzz_codec_one(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    const uint8_t *p = data + 1;
    size_t len = size - 1;
    if (data[0] & FLAG_UCOUNTER) {
        return fuzz_ucounter(p, len);
    }
    switch (data[0] & 3u) {
    case CODEC_SESSION:
        return fuzz_session(p, len);
    case CODEC_SIGNALS:
        return fuzz_signals(p, len, (data[0] & FLAG_NOW) ? FUZZ_NOW_NS : 0);
    case CODEC_HARDNEG:
        return fuzz_hardneg(p, len);
    default:
        return fuzz_pncounter(p, len);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)tidal__fuzz_codec_one(data, size); /* any result is fine; only checks abort */
    return 0;
}
