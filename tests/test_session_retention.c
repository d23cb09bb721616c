/*
 * The session table's retention (store/session.h, "Retention"): which
 * sessions are expired at a cut-off, freeing one for a tombstone, the table
 * refusing to start or merge a freed session, the sweeps in slices, the
 * digest that leaves expired sessions out, and the tombstone's encoding
 * (every truncation, each broken rule).
 */
#include "tidal_test.h"

#include <string.h>

#include "store/session.h"

TIDAL_SUITE(session_retention);

#define T0 (1700000000ull * 1000000000ull)
#define SEC 1000000000ull

typedef struct fixture {
    tidal_sigtypes *types;
    tidal_sessions *t;
    uint16_t view;
} fixture;

static void
fx_open(fixture *f)
{
    TIDAL_PASS(tidal_sigtypes_open(&f->types));
    TIDAL_PASS(tidal_sigtypes_intern(f->types, "view", &f->view));
    TIDAL_PASS(tidal_sessions_open(f->types, &f->t));
}

static void
fx_close(fixture *f)
{
    tidal_sessions_close(f->t);
    tidal_sigtypes_close(f->types);
}

static tidal_hlc
at(uint64_t wall)
{
    return (tidal_hlc){.wall_ns = wall, .logical = 3, .node_id = 1};
}

/* Starts session {1, n} with k signals; ends it at end_wall unless 0. */
static tidal_session_id
session(fixture *f, uint64_t n, int k, uint64_t end_wall)
{
    tidal_session_id id = {1, n};
    tidal_hlc start = at(T0);
    TIDAL_PASS(tidal_sessions_start(f->t, &id, 100 + n, 0, &start));
    for (int i = 1; i <= k; i++) {
        tidal_session_signal g = {.seqno = (uint64_t)i, .item = 7, .ts_ns = T0, .weight = 1.0f,
                                  .type = f->view};
        TIDAL_PASS(tidal_sessions_add_signal(f->t, &id, &g));
    }
    if (end_wall != 0) {
        tidal_hlc end = at(end_wall);
        TIDAL_PASS(tidal_sessions_end(f->t, &id, &end));
    }
    return id;
}

Test(session_retention, expired_means_ended_before_the_cutoff)
{
    fixture f;
    fx_open(&f);
    tidal_session_id live = session(&f, 1, 2, 0), ended = session(&f, 2, 2, T0 + 10 * SEC);
    tidal_session_id unknown = {9, 9};
    cr_assert_not(tidal_sessions_expired(f.t, &live, UINT64_MAX));
    cr_assert_not(tidal_sessions_expired(f.t, &unknown, UINT64_MAX));
    cr_assert_not(tidal_sessions_expired(f.t, &ended, 0), "a cut-off of 0 expires nothing");
    cr_assert_not(tidal_sessions_expired(f.t, &ended, T0 + 10 * SEC), "ended at the cut-off");
    cr_assert(tidal_sessions_expired(f.t, &ended, T0 + 10 * SEC + 1));
    /* a later END stamp does not move an end back out of the past */
    tidal_hlc later = at(T0 + 100 * SEC);
    TIDAL_PASS(tidal_sessions_end(f.t, &ended, &later));
    cr_assert(tidal_sessions_expired(f.t, &ended, T0 + 10 * SEC + 1));
    fx_close(&f);
}

Test(session_retention, retire_frees_for_a_tombstone_that_nothing_revives)
{
    fixture f;
    fx_open(&f);
    tidal_session_id live = session(&f, 1, 3, 0), ended = session(&f, 2, 40, T0 + SEC);
    tidal_session_id unknown = {9, 9};
    uint8_t entry[4096];
    size_t len;
    TIDAL_PASS(tidal_sessions_entry_encode(f.t, &ended, entry, sizeof(entry), &len));
    size_t before = tidal_sessions_memory_bytes(f.t);

    TIDAL_FAIL(tidal_sessions_retire(f.t, &live), TIDAL_ESTATE);
    TIDAL_FAIL(tidal_sessions_retire(f.t, &unknown), TIDAL_ENOENT);
    cr_assert_not(tidal_sessions_tomb(f.t, &ended, NULL));
    TIDAL_PASS(tidal_sessions_retire(f.t, &ended));
    cr_assert_eq(tidal_sessions_count(f.t), 1);
    cr_assert_eq(tidal_sessions_tombs(f.t), 1);
    cr_assert_lt(tidal_sessions_memory_bytes(f.t), before, "its signals were freed");
    tidal_hlc end;
    cr_assert(tidal_sessions_tomb(f.t, &ended, &end));
    cr_assert_eq(tidal_hlc_compare(&end, &(tidal_hlc){at(T0 + SEC).wall_ns, 3, 1}), 0);
    tidal_session_state info;
    TIDAL_FAIL(tidal_sessions_get(f.t, &ended, &info), TIDAL_ENOENT);
    TIDAL_FAIL(tidal_sessions_retire(f.t, &ended), TIDAL_ENOENT);

    /* neither a start nor a copy from another replica brings it back */
    tidal_hlc start = at(T0);
    uint64_t digest = tidal_sessions_digest(f.t);
    TIDAL_FAIL(tidal_sessions_start(f.t, &ended, 102, 0, &start), TIDAL_ESTATE);
    TIDAL_FAIL(tidal_sessions_entry_merge(f.t, entry, len, NULL), TIDAL_ESTATE);
    cr_assert_eq(tidal_sessions_count(f.t), 1);
    cr_assert_eq(tidal_sessions_digest(f.t), digest);
    TIDAL_FAIL(tidal_sessions_bury(f.t, &live, &start), TIDAL_EEXIST);
    fx_close(&f);
}

Test(session_retention, bury_keeps_the_first_end)
{
    fixture f;
    fx_open(&f);
    tidal_session_id id = {4, 4}, zero = {0, 0};
    tidal_hlc a = at(T0 + 5 * SEC), earlier = at(T0 + SEC), later = at(T0 + 9 * SEC), got;
    TIDAL_FAIL(tidal_sessions_bury(f.t, &zero, &a), TIDAL_EINVAL);
    TIDAL_PASS(tidal_sessions_bury(f.t, &id, &a));
    TIDAL_PASS(tidal_sessions_bury(f.t, &id, &later));
    cr_assert(tidal_sessions_tomb(f.t, &id, &got));
    cr_assert_eq(got.wall_ns, a.wall_ns);
    TIDAL_PASS(tidal_sessions_bury(f.t, &id, &earlier));
    cr_assert(tidal_sessions_tomb(f.t, &id, &got));
    cr_assert_eq(got.wall_ns, earlier.wall_ns);
    cr_assert_eq(tidal_sessions_tombs(f.t), 1);
    cr_assert_eq(tidal_sessions_count(f.t), 0);
    fx_close(&f);
}

#define MANY 3000

/* What a sweep retired: how often each session {1, n}, and in all. */
typedef struct retired_log {
    uint8_t seen[MANY + 1];
    size_t n;
} retired_log;

static void
retired_cb(void *arg, const tidal_session_id *id)
{
    retired_log *log = arg;
    cr_assert(id->hi == 1 && id->lo >= 1 && id->lo <= MANY);
    log->seen[id->lo]++;
    log->n++;
}

/* Sessions n < MANY: n % 4 == 0 live, 1 ended at the cut-off's second
 * (kept), 2 and 3 ended long before (expired).  Slices of 37: every expired
 * session is retired exactly once, over many calls, and only those. */
Test(session_retention, sweep_in_slices_retires_exactly_the_expired)
{
    fixture f;
    fx_open(&f);
    uint64_t cutoff = T0 + 100 * SEC;
    for (uint64_t n = 0; n < MANY; n++) {
        uint64_t end = n % 4 == 0 ? 0 : n % 4 == 1 ? cutoff : T0 + (n % 50) * SEC;
        (void)session(&f, n + 1, (int)(n % 5), end);
    }
    fixture g; /* the same table without the expired sessions */
    fx_open(&g);
    for (uint64_t n = 0; n < MANY; n += 4) {
        (void)session(&g, n + 1, (int)(n % 5), 0);
        (void)session(&g, n + 2, (int)((n + 1) % 5), cutoff);
    }
    cr_assert_eq(tidal_sessions_digest_at(f.t, cutoff), tidal_sessions_digest(g.t));
    cr_assert_neq(tidal_sessions_digest(f.t), tidal_sessions_digest(g.t));

    static retired_log log;
    memset(&log, 0, sizeof(log));
    size_t cursor = 0;
    int calls = 0;
    while (!tidal_sessions_sweep(f.t, cutoff, &cursor, 37, retired_cb, &log)) {
        calls++;
        cr_assert_lt(calls, 10 * MANY, "the sweep never ends");
    }
    cr_assert_gt(calls, MANY / 37 - 1, "slices, not one pass");
    cr_assert_eq(cursor, 0);
    cr_assert_eq(log.n, MANY / 2, "%zu retired", log.n);
    for (uint64_t n = 0; n < MANY; n++) {
        cr_assert_eq(log.seen[n + 1], n % 4 >= 2 ? 1 : 0, "session %llu retired %u times",
                     (unsigned long long)n, log.seen[n + 1]);
    }
    cr_assert_eq(tidal_sessions_count(f.t), MANY / 2);
    cr_assert_eq(tidal_sessions_tombs(f.t), MANY / 2);
    cr_assert_eq(tidal_sessions_digest(f.t), tidal_sessions_digest(g.t));
    /* a second pass finds nothing */
    size_t before = log.n;
    while (!tidal_sessions_sweep(f.t, cutoff, &cursor, 37, retired_cb, &log)) {
    }
    cr_assert_eq(log.n, before);

    /* tombstones: ends at T0 + 0..49 s; those before T0 + 25 s go */
    while (!tidal_sessions_sweep_tombs(f.t, T0 + 25 * SEC, &cursor, 41)) {
    }
    size_t left = 0;
    tidal_session_id id;
    size_t cur = 0;
    while (tidal_sessions_next_tomb(f.t, &cur, &id)) {
        tidal_hlc end;
        cr_assert(tidal_sessions_tomb(f.t, &id, &end));
        cr_assert_geq(end.wall_ns, T0 + 25 * SEC);
        left++;
    }
    size_t expect = 0;
    for (uint64_t n = 0; n < MANY; n++) {
        expect += n % 4 >= 2 && n % 50 >= 25;
    }
    cr_assert_eq(left, expect);
    cr_assert_eq(tidal_sessions_tombs(f.t), expect);
    fx_close(&g);
    fx_close(&f);
}

Test(session_retention, tombstone_encoding)
{
    fixture f;
    fx_open(&f);
    tidal_session_id freed = session(&f, 1, 1, T0 + SEC), ended = session(&f, 2, 1, T0 + 2 * SEC);
    tidal_session_id live = session(&f, 3, 1, 0), unknown = {9, 9}, id;
    TIDAL_PASS(tidal_sessions_retire(f.t, &freed));
    uint8_t buf[64];
    size_t len;
    tidal_hlc end;

    TIDAL_PASS(tidal_sessions_tomb_encode(f.t, &freed, buf, sizeof(buf), &len));
    cr_assert_eq(len, TIDAL_SESSION_TOMB_BYTES);
    TIDAL_PASS(tidal_sessions_tomb_decode(buf, len, &id, &end));
    cr_assert(id.hi == freed.hi && id.lo == freed.lo);
    cr_assert_eq(tidal_hlc_compare(&end, &(tidal_hlc){T0 + SEC, 3, 1}), 0);
    /* an ended session held: the tombstone it will leave */
    TIDAL_PASS(tidal_sessions_tomb_encode(f.t, &ended, buf, sizeof(buf), &len));
    TIDAL_PASS(tidal_sessions_tomb_decode(buf, len, &id, &end));
    cr_assert(id.lo == ended.lo && end.wall_ns == T0 + 2 * SEC);
    TIDAL_FAIL(tidal_sessions_tomb_encode(f.t, &live, buf, sizeof(buf), &len), TIDAL_ENOENT);
    TIDAL_FAIL(tidal_sessions_tomb_encode(f.t, &unknown, buf, sizeof(buf), &len), TIDAL_ENOENT);
    TIDAL_FAIL(tidal_sessions_tomb_encode(f.t, &freed, buf, 30, &len), TIDAL_ETOOBIG);
    cr_assert_eq(len, TIDAL_SESSION_TOMB_BYTES);

    TIDAL_PASS(tidal_sessions_tomb_encode(f.t, &freed, buf, sizeof(buf), &len));
    for (size_t cut = 0; cut < len; cut++) {
        TIDAL_FAIL(tidal_sessions_tomb_decode(cut ? buf : NULL, cut, &id, &end),
                   TIDAL_ETRUNCATED);
    }
    TIDAL_FAIL(tidal_sessions_tomb_decode(buf, len + 1, &id, &end), TIDAL_ETRAILING);
    buf[0] = 2;
    TIDAL_FAIL(tidal_sessions_tomb_decode(buf, len, &id, &end), TIDAL_EVERSION);
    buf[0] = TIDAL_SESSION_TOMB_VERSION;
    memset(buf + 1, 0, 16);
    TIDAL_FAIL(tidal_sessions_tomb_decode(buf, len, &id, &end), TIDAL_ECORRUPT);
    fx_close(&f);
}

Test(session_retention, peek_reads_the_id_and_the_end)
{
    fixture f;
    fx_open(&f);
    tidal_session_id ended = session(&f, 1, 3, T0 + 7 * SEC), live = session(&f, 2, 0, 0), id;
    uint8_t buf[4096];
    size_t len;
    bool is_ended;
    tidal_hlc end;
    TIDAL_PASS(tidal_sessions_entry_encode(f.t, &ended, buf, sizeof(buf), &len));
    TIDAL_PASS(tidal_sessions_entry_peek(buf, len, &id, &is_ended, &end));
    cr_assert(id.lo == ended.lo && is_ended && end.wall_ns == T0 + 7 * SEC);
    TIDAL_FAIL(tidal_sessions_entry_peek(buf, 40, &id, &is_ended, &end), TIDAL_ETRUNCATED);
    buf[0] = 9;
    TIDAL_FAIL(tidal_sessions_entry_peek(buf, len, &id, &is_ended, &end), TIDAL_EVERSION);
    TIDAL_PASS(tidal_sessions_entry_encode(f.t, &live, buf, sizeof(buf), &len));
    TIDAL_PASS(tidal_sessions_entry_peek(buf, len, &id, &is_ended, &end));
    cr_assert(id.lo == live.lo && !is_ended && end.wall_ns == 0);
    fx_close(&f);
}
