/*
 * Signals' stamps (tidal_signal_view.stamp): the origin's HLC at each
 * signal's write, carried by the SESSION_SIGNAL record (messages/record.h)
 * and by session entries (store/session_codec.c, the stamped flag).  The
 * same stamp in every region, after recovery from the WAL, and through an
 * entry merge; a record or entry of the old format (no stamp) decodes with
 * stamp 0, and a stamped copy of a signal wins over it in a merge; the
 * decoders refuse a stamp that is all zero where one must be.
 */
#include "repl_helpers.h"
#include "messages/record.h"
#include "store/session.h"

TIDAL_SUITE(signal_stamps);

#define SIGS 5

static bool
zero(const tidal_hlc *h)
{
    return h->wall_ns == 0 && h->logical == 0 && h->node_id == 0;
}

/* Reads the session's SIGS signals from r. */
static void
read_views(tidal_region *r, tidal_session_id s, tidal_signal_view *v)
{
    size_t n = 0;
    TIDAL_PASS(tidal_session_signals(r, s, v, SIGS, &n));
    cr_assert_eq(n, SIGS);
}

/* Stamps are set, strictly increasing at one origin, each between the
 * region's clock before and after its write. */
static void
assert_fresh_stamps(const tidal_signal_view *v, const uint64_t *before, const uint64_t *after)
{
    for (int i = 0; i < SIGS; i++) {
        cr_assert(!zero(&v[i].stamp), "signal %d has no stamp", i);
        cr_assert(v[i].stamp.wall_ns >= before[i] && v[i].stamp.wall_ns <= after[i],
                  "signal %d: stamp %llu outside its write [%llu, %llu]", i,
                  (unsigned long long)v[i].stamp.wall_ns, (unsigned long long)before[i],
                  (unsigned long long)after[i]);
        cr_assert(i == 0 || tidal_hlc_compare(&v[i - 1].stamp, &v[i].stamp) < 0,
                  "stamps %d and %d not increasing", i - 1, i);
    }
}

static void
assert_same_stamps(const tidal_signal_view *a, const tidal_signal_view *b, const char *where)
{
    for (int i = 0; i < SIGS; i++) {
        cr_assert(a[i].seqno == b[i].seqno && tidal_hlc_compare(&a[i].stamp, &b[i].stamp) == 0,
                  "%s: signal %d's stamp differs", where, i);
    }
}

/* Writes SIGS signals at r, recording the clock around each. */
static void
write_signals(tidal_region *r, tidal_session_id s, uint64_t *before, uint64_t *after)
{
    for (int i = 0; i < SIGS; i++) {
        before[i] = repl_now_ns();
        TIDAL_PASS(tidal_signal_in_session(r, s, "view", 10 + (tidal_entity_id)i, 1.0,
                                           before[i]));
        after[i] = repl_now_ns();
    }
}

Test(signal_stamps, the_origins_stamp_is_replicated_and_survives_a_roam)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x57a0);
    repl_open_ephemeral(&e, 2);
    tidal_session_id s;
    uint64_t before[SIGS], after[SIGS];
    TIDAL_PASS(tidal_start_session(e.r[0], 1, NULL, &s));
    write_signals(e.r[0], s, before, after);
    repl_wait_converged(&e);
    tidal_signal_view at0[SIGS], at1[SIGS];
    read_views(e.r[0], s, at0);
    read_views(e.r[1], s, at1);
    assert_fresh_stamps(at0, before, after);
    assert_same_stamps(at0, at1, "region 1");
    /* roams to region 1: the next signal is region 1's, stamped there */
    uint64_t b = repl_now_ns();
    TIDAL_PASS(tidal_signal_in_session(e.r[1], s, "like", 99, 1.0, b));
    uint64_t a = repl_now_ns();
    repl_wait_converged(&e);
    tidal_signal_view all[SIGS + 1];
    size_t n = 0;
    for (int r = 0; r < 2; r++) {
        TIDAL_PASS(tidal_session_signals(e.r[r], s, all, SIGS + 1, &n));
        cr_assert(n == SIGS + 1 && all[SIGS].origin == 1);
        cr_assert(all[SIGS].stamp.wall_ns >= b && all[SIGS].stamp.wall_ns <= a);
    }
    tidal_signal_view r0[SIGS + 1];
    TIDAL_PASS(tidal_session_signals(e.r[0], s, r0, SIGS + 1, &n));
    cr_assert(tidal_hlc_compare(&r0[SIGS].stamp, &all[SIGS].stamp) == 0);
    repl_close(&e);
}

Test(signal_stamps, recovery_from_the_wal_keeps_them)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x57a1);
    tidal_region *r = repl_open_region(&e, 0, true, TIDAL_SYNC);
    tidal_session_id s;
    uint64_t before[SIGS], after[SIGS];
    TIDAL_PASS(tidal_start_session(r, 1, NULL, &s));
    write_signals(r, s, before, after);
    tidal_signal_view was[SIGS], now[SIGS];
    read_views(r, s, was);
    assert_fresh_stamps(was, before, after);
    TIDAL_PASS(tidal_region_close(r));
    r = repl_open_region(&e, 0, true, TIDAL_SYNC);
    read_views(r, s, now);
    assert_same_stamps(was, now, "reopened");
    repl_close(&e);
}

/* A table with session {1, 1} of SIGS signals; stamped ones get stamp
 * (1000 + seqno, seqno, 3), the others none. */
static tidal_sessions *
table(tidal_sigtypes *ty, bool stamped)
{
    tidal_sessions *t;
    uint16_t view;
    tidal_session_id id = {1, 1};
    tidal_hlc st = {500, 0, 3};
    TIDAL_PASS(tidal_sigtypes_intern(ty, "view", &view));
    TIDAL_PASS(tidal_sessions_open(ty, &t));
    TIDAL_PASS(tidal_sessions_start(t, &id, 7, 0, &st));
    for (uint64_t q = 1; q <= SIGS; q++) {
        tidal_session_signal g = {.seqno = q, .item = q, .ts_ns = 100 * q, .weight = 1.0f,
                                  .type = view, .origin = 0};
        if (stamped) {
            g.stamp = (tidal_hlc){1000 + q, (uint32_t)q, 3};
        }
        TIDAL_PASS(tidal_sessions_add_signal(t, &id, &g));
    }
    return t;
}

static size_t
encode(tidal_sessions *t, uint8_t *buf, size_t cap)
{
    tidal_session_id id = {1, 1};
    size_t len = 0;
    TIDAL_PASS(tidal_sessions_entry_encode(t, &id, buf, cap, &len));
    return len;
}

static void
assert_table_stamps(tidal_sessions *t, bool stamped)
{
    tidal_session_id id = {1, 1};
    const tidal_session_signal *g;
    size_t n;
    TIDAL_PASS(tidal_sessions_signals(t, &id, &g, &n));
    cr_assert_eq(n, SIGS);
    for (size_t i = 0; i < n; i++) {
        tidal_hlc want = stamped ? (tidal_hlc){1001 + i, (uint32_t)(1 + i), 3} : (tidal_hlc){0};
        cr_assert(tidal_hlc_compare(&g[i].stamp, &want) == 0, "signal %zu's stamp", i);
    }
}

Test(signal_stamps, entries_carry_them_and_old_entries_decode_with_zero)
{
    tidal_sigtypes *ty;
    TIDAL_PASS(tidal_sigtypes_open(&ty));
    tidal_sessions *stamped = table(ty, true), *old = table(ty, false);
    uint8_t sbuf[1024], obuf[1024];
    size_t slen = encode(stamped, sbuf, sizeof(sbuf)), olen = encode(old, obuf, sizeof(obuf));
    /* the old layout: 32 bytes a signal, flag bit 1 clear; stamped: 46 */
    cr_assert_eq(slen, olen + SIGS * 14);
    cr_assert_eq(obuf[71] & 2, 0);
    cr_assert_eq(sbuf[71] & 2, 2);
    /* into empty tables: the stamps, or zeros */
    tidal_sessions *a, *b;
    TIDAL_PASS(tidal_sessions_open(ty, &a));
    TIDAL_PASS(tidal_sessions_open(ty, &b));
    TIDAL_PASS(tidal_sessions_entry_merge(a, sbuf, slen, NULL));
    TIDAL_PASS(tidal_sessions_entry_merge(b, obuf, olen, NULL));
    assert_table_stamps(a, true);
    assert_table_stamps(b, false);
    /* either copy over the other: the stamped one wins, in both orders */
    TIDAL_PASS(tidal_sessions_entry_merge(a, obuf, olen, NULL));
    TIDAL_PASS(tidal_sessions_entry_merge(b, sbuf, slen, NULL));
    assert_table_stamps(a, true);
    assert_table_stamps(b, true);
    cr_assert_eq(tidal_sessions_digest(a), tidal_sessions_digest(b));
    cr_assert_eq(tidal_sessions_digest(a), tidal_sessions_digest(stamped));
    /* strict: the flag with every stamp zero, a cut stamp */
    uint8_t bad[1024];
    memcpy(bad, obuf, olen);
    bad[71] |= 2;
    memset(bad + olen, 0, SIGS * 14);
    /* re-laid: the old entry's signals each followed by 14 zero bytes */
    size_t sig0 = olen - SIGS * 32;
    for (int i = SIGS - 1; i >= 0; i--) {
        memmove(bad + sig0 + (size_t)i * 46, obuf + sig0 + (size_t)i * 32, 32);
        memset(bad + sig0 + (size_t)i * 46 + 32, 0, 14);
    }
    tidal_sessions *c;
    TIDAL_PASS(tidal_sessions_open(ty, &c));
    TIDAL_FAIL(tidal_sessions_entry_merge(c, bad, slen, NULL), TIDAL_ECORRUPT);
    TIDAL_FAIL(tidal_sessions_entry_merge(c, sbuf, slen - 1, NULL), TIDAL_ETRUNCATED);
    cr_assert_eq(tidal_sessions_count(c), 0);
    tidal_sessions_close(c);
    tidal_sessions_close(a);
    tidal_sessions_close(b);
    tidal_sessions_close(old);
    tidal_sessions_close(stamped);
    tidal_sigtypes_close(ty);
}

Test(signal_stamps, records_carry_them_and_old_records_decode_with_zero)
{
    tidal_record r = {.kind = TIDAL_REC_SESSION_SIGNAL, .seqno = 4, .item = 9, .weight = 1.0,
                      .ts_ns = 77, .region = 1, .p_minute = 1, .p_hour = 1};
    memcpy(r.type, "view", 4);
    r.sid[15] = 1;
    tidal_buf old, stamped;
    tidal_buf_init(&old);
    tidal_buf_init(&stamped);
    TIDAL_PASS(tidal_record_encode(&r, &old)); /* zero stamp: the old 10 fields */
    cr_assert_eq(old.data[0], 0x90 | 10);
    r.hlc = (tidal_hlc){123456789, 5, 1};
    TIDAL_PASS(tidal_record_encode(&r, &stamped));
    cr_assert_eq(stamped.data[0], 0x90 | 11);
    tidal_record back;
    TIDAL_PASS(tidal_record_decode_exact(old.data, old.len, &back, NULL));
    cr_assert(zero(&back.hlc) && back.seqno == 4 && back.item == 9);
    TIDAL_PASS(tidal_record_decode_exact(stamped.data, stamped.len, &back, NULL));
    cr_assert(back.hlc.wall_ns == 123456789 && back.hlc.logical == 5 && back.hlc.node_id == 1);
    /* an 11th field of zeros is not how a zero stamp is written */
    uint8_t bad[128];
    size_t cut = stamped.len - 8; /* array (1), wall u32 (5), logical (1), node (1) */
    memcpy(bad, stamped.data, cut);
    static const uint8_t zeros[] = {0x93, 0, 0, 0};
    memcpy(bad + cut, zeros, sizeof(zeros));
    cr_assert_eq(stamped.data[cut], 0x93, "the stamp's array starts where expected");
    TIDAL_FAIL(tidal_record_decode_exact(bad, cut + sizeof(zeros), &back, NULL), TIDAL_EFIELD);
    tidal_buf_fini(&old);
    tidal_buf_fini(&stamped);
}
