/*
 * The seeds of fuzz_codec and fuzz_merge (fuzz/seeds.h): entries encoded by
 * the store's own tables - hard negatives, signal states and sessions built
 * through their ordinary operations, then encoded by key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/seeds.h"
#include "messages/msg_repl.h"
#include "store/hardneg.h"
#include "store/pncounter.h"
#include "store/session.h"
#include "store/signals.h"
#include "store/sigtypes.h"
#include "store/ucounters.h"
#include "tidal/errors.h"

/* The reconciler's entry kinds (actors/reconciler.c). */
enum { KIND_HARDNEG = 1, KIND_SIGNALS = 2, KIND_SESSION = 3 };

#define MINUTE_NS 60000000000ull
#define ENTRY_CAP 4096u

struct tables {
    tidal_sigtypes *types;
    tidal_hardneg *hardneg;
    tidal_signals *signals;
    tidal_sessions *sessions;
    uint16_t view, like;
};

static const tidal_session_id sid_a = {0x5e55104e01020304ull, 0x05060708090a0b0cull};
static const tidal_session_id sid_b = {0x5e55104e0000beefull, 0x1ull};

static void
tables_open(struct tables *t)
{
    seeds_must(tidal_sigtypes_open(&t->types), "types");
    seeds_must(tidal_sigtypes_intern(t->types, "view", &t->view), "view");
    seeds_must(tidal_sigtypes_intern(t->types, "like", &t->like), "like");
    seeds_must(tidal_hardneg_open(&t->hardneg), "hardneg");
    seeds_must(tidal_signals_open(t->types, &t->signals), "signals");
    seeds_must(tidal_sessions_open(t->types, &t->sessions), "sessions");
}

static void
tables_close(struct tables *t)
{
    tidal_sessions_close(t->sessions);
    tidal_signals_close(t->signals);
    tidal_hardneg_close(t->hardneg);
    tidal_sigtypes_close(t->types);
}

static tidal_hlc
stamp(uint32_t logical, uint16_t node)
{
    return (tidal_hlc){SEEDS_NOW_NS - 10 * MINUTE_NS, logical, node};
}

/* A session of user at home 1 with nsig signals (seqnos 1..nsig) of
 * alternating types and origins. */
static void
session_add(struct tables *t, const tidal_session_id *id, tidal_entity_id user, uint32_t nsig)
{
    tidal_hlc st = stamp(1, 1);
    seeds_must(tidal_sessions_start(t->sessions, id, user, 1, &st), "start");
    for (uint32_t i = 0; i < nsig; i++) {
        uint64_t seqno;
        seeds_must(tidal_sessions_assign_seqno(t->sessions, id, &seqno), "seqno");
        tidal_session_signal g = {.seqno = seqno,
                                  .item = 70 + i,
                                  .ts_ns = SEEDS_NOW_NS - (5 - i) * MINUTE_NS,
                                  .weight = 0.5f + (float)i,
                                  .type = i % 2 ? t->like : t->view,
                                  .origin = (uint16_t)(i % 2)};
        seeds_must(tidal_sessions_add_signal(t->sessions, id, &g), "signal");
    }
}

/* Events for item 77: views from regions 1 and 2 in the last hours, one
 * nine days old (expired at SEEDS_NOW_NS), and a like taken back. */
static void
signals_add(struct tables *t)
{
    seeds_must(tidal_signals_apply(t->signals, 77, t->view, 1, 1, SEEDS_NOW_NS - 30 * MINUTE_NS),
               "apply");
    seeds_must(tidal_signals_apply(t->signals, 77, t->view, 2, 2, SEEDS_NOW_NS - 95 * MINUTE_NS),
               "apply");
    seeds_must(
        tidal_signals_apply(t->signals, 77, t->view, 2, 1, SEEDS_NOW_NS - 9 * 24 * 60 * MINUTE_NS),
        "apply");
    seeds_must(tidal_signals_apply(t->signals, 77, t->like, 1, 1, SEEDS_NOW_NS - MINUTE_NS),
               "apply");
    seeds_must(tidal_signals_apply(t->signals, 77, t->like, 1, -1, SEEDS_NOW_NS - MINUTE_NS),
               "apply");
    seeds_must(tidal_signals_apply(t->signals, 77, t->like, 3, 4, SEEDS_NOW_NS), "apply");
}

/* The tables every seed starts from. */
static void
tables_fill(struct tables *t)
{
    tidal_hlc h1 = stamp(1, 1), h2 = stamp(2, 2);
    seeds_must(tidal_hardneg_hide(t->hardneg, 1001, 77, &h1), "hide");
    seeds_must(tidal_hardneg_unhide(t->hardneg, 1001, 77, &h2), "unhide");
    seeds_must(tidal_hardneg_hide(t->hardneg, 1001, 78, &h2), "hide");
    signals_add(t);
    session_add(t, &sid_a, 1001, 3);
}

/* Appends kind (unless 0) and the encoding of one entry to out. */
static void
put_hardneg(const struct tables *t, tidal_entity_id user, tidal_entity_id item, uint8_t kind,
            tidal_buf *out)
{
    tidal_hardneg_entry e;
    size_t len = 0;
    if (!tidal_hardneg_get(t->hardneg, user, item, &e)) {
        seeds_must(TIDAL_ENOENT, "hardneg entry");
    }
    seeds_must(tidal_buf_reserve(out, 1 + TIDAL_HARDNEG_ENTRY_BYTES_MAX), "buf");
    if (kind != 0) {
        out->data[out->len++] = kind;
    }
    seeds_must(
        tidal_hardneg_entry_encode(&e, out->data + out->len, TIDAL_HARDNEG_ENTRY_BYTES_MAX, &len),
        "hardneg encode");
    out->len += len;
}

static void
put_signals(const struct tables *t, tidal_entity_id item, uint16_t type, uint8_t kind,
            tidal_buf *out)
{
    size_t len = 0;
    seeds_must(tidal_buf_reserve(out, 1 + ENTRY_CAP), "buf");
    if (kind != 0) {
        out->data[out->len++] = kind;
    }
    seeds_must(
        tidal_signals_entry_encode(t->signals, item, type, out->data + out->len, ENTRY_CAP, &len),
        "signals encode");
    out->len += len;
}

static void
put_session(const struct tables *t, const tidal_session_id *id, uint8_t kind, tidal_buf *out)
{
    size_t len = 0;
    seeds_must(tidal_buf_reserve(out, 1 + ENTRY_CAP), "buf");
    if (kind != 0) {
        out->data[out->len++] = kind;
    }
    seeds_must(tidal_sessions_entry_encode(t->sessions, id, out->data + out->len, ENTRY_CAP, &len),
               "session encode");
    out->len += len;
}

size_t
seeds_store_entries(tidal_buf *out, size_t max)
{
    struct tables t;
    size_t n = 0;

    tables_open(&t);
    tables_fill(&t);
    for (size_t i = 0; i < max && i < 5; i++) {
        tidal_buf_init(&out[i]);
    }
    if (max >= 5) {
        put_hardneg(&t, 1001, 77, KIND_HARDNEG, &out[n++]);
        put_hardneg(&t, 1001, 78, KIND_HARDNEG, &out[n++]);
        put_signals(&t, 77, t.view, KIND_SIGNALS, &out[n++]);
        put_signals(&t, 77, t.like, KIND_SIGNALS, &out[n++]);
        put_session(&t, &sid_a, KIND_SESSION, &out[n++]);
    }
    tables_close(&t);
    return n;
}

/* ---- fuzz_codec ------------------------------------------------------------------ */

static void
codec_put(struct seeds *s, const char *name, uint8_t sel, const tidal_buf *b, size_t cut)
{
    seed_put(s, "codec", name, &sel, 1, b->data, b->len - cut);
}

/* A (user, key) counter of three regions: selector bit 3. */
static void
seeds_codec_ucounter(struct seeds *s)
{
    tidal_ucounters *u = NULL;
    uint8_t enc[TIDAL_UCOUNTER_ENTRY_BYTES_MAX];
    size_t len = 0;
    const uint8_t sel = 0x08;
    seeds_must(tidal_ucounters_open(&u), "ucounters open");
    seeds_must(tidal_ucounters_raise(u, 1001, "source-news", 0, 12, 5), "raise");
    seeds_must(tidal_ucounters_raise(u, 1001, "source-news", 2, 0, 7), "raise");
    seeds_must(tidal_ucounters_raise(u, 1001, "source-news", 9, 40, 0), "raise");
    seeds_must(tidal_ucounters_entry_encode(u, 1001, "source-news", enc, sizeof(enc), &len),
               "ucounter encode");
    seed_put(s, "codec", "valid-ucounter-three.bin", &sel, 1, enc, len);
    seed_put(s, "codec", "bad-ETRUNCATED-ucounter.bin", &sel, 1, enc, len - 1);
    enc[9] = 0; /* an empty key */
    seed_put(s, "codec", "bad-ECORRUPT-ucounter-key.bin", &sel, 1, enc, len);
    enc[9] = 11;
    enc[0] = 2;
    seed_put(s, "codec", "bad-EVERSION-ucounter.bin", &sel, 1, enc, len);
    tidal_ucounters_close(u);
}

void
seeds_codec(struct seeds *s)
{
    struct tables t;
    tidal_buf b;
    tidal_hlc h = stamp(7, 2);

    tables_open(&t);
    tables_fill(&t);
    tidal_buf_init(&b);

    session_add(&t, &sid_b, 1002, 0);
    put_session(&t, &sid_b, 0, &b);
    codec_put(s, "valid-session-new.bin", 0, &b, 0);
    tidal_buf_reset(&b);
    put_session(&t, &sid_a, 0, &b);
    codec_put(s, "valid-session-signals.bin", 0, &b, 0);
    codec_put(s, "bad-ETRUNCATED-session.bin", 0, &b, 3);
    seeds_must(tidal_buf_append(&b, "\x00", 1), "buf");
    codec_put(s, "bad-ETRAILING-session.bin", 0, &b, 0);
    b.data[0] = 2;
    codec_put(s, "bad-EVERSION-session.bin", 0, &b, 1);
    seeds_must(tidal_sessions_set_home(t.sessions, &sid_a, 2, 4, &h, NULL), "home");
    seeds_must(tidal_sessions_end(t.sessions, &sid_a, &h), "end");
    tidal_buf_reset(&b);
    put_session(&t, &sid_a, 0, &b);
    codec_put(s, "valid-session-moved-ended.bin", 0, &b, 0);
    memset(b.data + 1, 0, 16); /* the id {0, 0} */
    codec_put(s, "bad-ECORRUPT-session-zero-id.bin", 0, &b, 0);

    tidal_buf_reset(&b);
    put_signals(&t, 77, t.view, 0, &b);
    codec_put(s, "valid-signals-view.bin", 1, &b, 0);
    codec_put(s, "valid-signals-view-now.bin", 1 | 4, &b, 0);
    tidal_buf_reset(&b);
    put_signals(&t, 77, t.like, 0, &b);
    codec_put(s, "valid-signals-like.bin", 1, &b, 0);
    b.data[11] = ' '; /* "l ke": not a type name */
    codec_put(s, "bad-ECORRUPT-signals-name.bin", 1, &b, 0);
    b.data[0] = 9;
    codec_put(s, "bad-EVERSION-signals.bin", 1, &b, 0);

    tidal_buf_reset(&b);
    put_hardneg(&t, 1001, 77, 0, &b);
    codec_put(s, "valid-hardneg-both.bin", 2, &b, 0);
    codec_put(s, "bad-ETRUNCATED-hardneg.bin", 2, &b, 1);
    tidal_buf_reset(&b);
    put_hardneg(&t, 1001, 78, 0, &b);
    codec_put(s, "valid-hardneg-hide.bin", 2, &b, 0);
    b.data[17] = 0; /* neither a hide nor an unhide */
    codec_put(s, "bad-ECORRUPT-hardneg-flags.bin", 2, &b, 14);

    tidal_pncounter c;
    uint8_t enc[TIDAL_PNCOUNTER_ENCODED_BYTES_MAX];
    size_t len = 0;
    tidal_pncounter_init(&c);
    seeds_must(tidal_pncounter_add(&c, 2, 5), "add");
    seeds_must(tidal_pncounter_encode(&c, enc, sizeof(enc), &len), "pn encode");
    seed_put(s, "codec", "valid-pncounter-one.bin", &(uint8_t){3}, 1, enc, len);
    seeds_must(tidal_pncounter_add(&c, 0, -3), "add");
    seeds_must(tidal_pncounter_add(&c, 9, 1000000), "add");
    seeds_must(tidal_pncounter_encode(&c, enc, sizeof(enc), &len), "pn encode");
    seed_put(s, "codec", "valid-pncounter-three.bin", &(uint8_t){3}, 1, enc, len);
    seed_put(s, "codec", "bad-ETRUNCATED-pncounter.bin", &(uint8_t){3}, 1, enc, len - 1);
    enc[1] = 5; /* regions 5, 2, 9: out of order */
    seed_put(s, "codec", "bad-ECORRUPT-pncounter-order.bin", &(uint8_t){3}, 1, enc, len);
    tidal_pncounter_fini(&c);
    seeds_codec_ucounter(s);

    tidal_buf_fini(&b);
    tables_close(&t);
}

/* ---- fuzz_merge -------------------------------------------------------------------- */

/* One merge seed: flags, now, then ENTRIES (flags 0) or raw pairs (1). */
static void
merge_put(struct seeds *s, const char *name, uint8_t flags, uint64_t now, tidal_buf *ents, size_t n,
          size_t cut)
{
    uint8_t head[9];
    tidal_view v[16];
    tidal_buf b;

    head[0] = flags;
    for (int i = 0; i < 8; i++) {
        head[1 + i] = (uint8_t)(now >> (8 * i));
    }
    tidal_buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        v[i] = (tidal_view){ents[i].data, (uint32_t)ents[i].len};
        if (flags & 1) {
            uint8_t l[2] = {(uint8_t)ents[i].len, (uint8_t)(ents[i].len >> 8)};
            seeds_must(tidal_buf_append(&b, l, 2), "buf");
            seeds_must(tidal_buf_append(&b, ents[i].data, ents[i].len), "buf");
        }
    }
    if (!(flags & 1)) {
        tidal_msg_entries m = {
            .from = 2, .round = 9, .last = true, .count = (uint32_t)n, .entries = v};
        seeds_must(tidal_msg_entries_encode(&m, &b), "entries");
    }
    seed_put(s, "merge", name, head, sizeof(head), b.data, b.len - cut);
    tidal_buf_fini(&b);
}

void
seeds_merge(struct seeds *s)
{
    tidal_buf e[16];
    size_t n = seeds_store_entries(e, 5);
    struct tables t;

    merge_put(s, "valid-entries-all.bin", 0, SEEDS_NOW_NS, e, n, 0);
    merge_put(s, "valid-raw-all.bin", 1, SEEDS_NOW_NS, e, n, 0);
    merge_put(s, "valid-entries-all-expired.bin", 0, SEEDS_NOW_NS + 400 * 24 * 60 * MINUTE_NS, e, n,
              0);
    merge_put(s, "valid-entries-none.bin", 0, SEEDS_NOW_NS, e, 0, 0);
    merge_put(s, "bad-ETRUNCATED-entries-cut.bin", 0, SEEDS_NOW_NS, e, n, 4);

    /* Other replicas' copies of the same keys: more signals in the session,
     * later stamps, other regions' counts; merged they are the union. */
    tables_open(&t);
    tidal_hlc h3 = stamp(3, 3);
    seeds_must(tidal_hardneg_hide(t.hardneg, 1001, 77, &h3), "hide");
    seeds_must(tidal_signals_apply(t.signals, 77, t.view, 5, 6, SEEDS_NOW_NS - 30 * MINUTE_NS),
               "apply");
    session_add(&t, &sid_a, 1001, 5);
    tidal_buf_init(&e[n]);
    put_hardneg(&t, 1001, 77, KIND_HARDNEG, &e[n]);
    tidal_buf_init(&e[n + 1]);
    put_signals(&t, 77, t.view, KIND_SIGNALS, &e[n + 1]);
    tidal_buf_init(&e[n + 2]);
    put_session(&t, &sid_a, KIND_SESSION, &e[n + 2]);
    tables_close(&t);
    merge_put(s, "valid-entries-two-replicas.bin", 0, SEEDS_NOW_NS, e, n + 3, 0);

    /* The same session id for another user: the copy that comes second is
     * refused. */
    tables_open(&t);
    session_add(&t, &sid_a, 4242, 1);
    tidal_buf_init(&e[n + 3]);
    put_session(&t, &sid_a, KIND_SESSION, &e[n + 3]);
    tables_close(&t);
    merge_put(s, "bad-EEXIST-session-users.bin", 0, SEEDS_NOW_NS, &e[n + 2], 2, 0);

    tidal_buf_init(&e[n + 4]);
    seeds_must(tidal_buf_append(&e[n + 4], "\x09\x01\x02", 3), "buf");
    merge_put(s, "bad-ETYPE-entries-kind9.bin", 1, SEEDS_NOW_NS, &e[n + 4], 1, 0);
    for (size_t i = 0; i < n + 5; i++) {
        tidal_buf_fini(&e[i]);
    }
}
