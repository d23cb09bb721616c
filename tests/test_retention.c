/*
 * Ended sessions past the retention (docs/design.md, "Ended sessions"): a
 * session that ended more than opts.session_retention_ms ago is freed in
 * every region, and reads and writes of it get TIDAL_ENOENT; live sessions
 * and sessions within the retention stay; digests agree before and after;
 * reconciliation never brings a freed session back, and ends a copy that
 * missed its end; a region reopened from its directory does not bring it
 * back either - recovery replays it and frees it before the open returns,
 * whatever order its logs replay in.
 *
 * Stamps are the test's own where it can: an END written through a
 * client's WRITE to the session's actor carries the stamp the client chose
 * (a past one is always taken), so "ended two hours ago" needs no waiting.
 * Only the sweep (time making a session expire) is waited for, on a
 * condition with a deadline.
 */
#include "messages/msg_repl.h"
#include "messages/record.h"
#include "messages/types.h"
#include "repl_helpers.h"

TIDAL_SUITE(retention);

#define HOUR_NS (3600ull * 1000000000ull)
#define DEADLINE_MS 30000u

static void
sid_bytes(tidal_session_id s, uint8_t out[16])
{
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(s.hi >> (56 - 8 * i));
        out[8 + i] = (uint8_t)(s.lo >> (56 - 8 * i));
    }
}

/* Asks r's actor of session s, as a client of r, to end it with the stamp
 * wall_ns; returns the write's answer. */
static int
end_at(tidal_region *r, tidal_session_id s, uint64_t wall_ns)
{
    static uint64_t req = 0x5e5510;
    tidal_runtime *rt = tidal_region_runtime(r);
    char name[TIDAL_NAME_BYTES_MAX];
    snprintf(name, sizeof(name), "region-%u", tidal_region_id_of(r));
    tidal_actor a;
    tidal_addr owner, to;
    uint8_t key[16];
    sid_bytes(s, key);
    TIDAL_PASS(tidal_lookup(rt, name, &a));
    TIDAL_PASS(tidal_actor_addr(rt, a, &owner));
    TIDAL_PASS(tidal_addr_virtual(&to, &owner, key, 16));
    tidal_record rec = {.kind = TIDAL_REC_SESSION_END,
                        .hlc = {.wall_ns = wall_ns, .node_id = tidal_region_id_of(r)}};
    memcpy(rec.sid, key, 16);
    tidal_buf rb, mb;
    tidal_buf_init(&rb);
    tidal_buf_init(&mb);
    TIDAL_PASS(tidal_record_encode(&rec, &rb));
    tidal_msg_write w = {.req_id = ++req, .record = {rb.data, (uint32_t)rb.len}};
    TIDAL_PASS(tidal_msg_write_encode(&w, &mb));
    tidal_reply reply = {0};
    TIDAL_PASS(tidal_ask(rt, &to, TIDAL_MSG_WRITE, mb.data, (uint32_t)mb.len, DEADLINE_MS, &reply));
    tidal_msg_write_result res;
    cr_assert_eq(reply.type, TIDAL_MSG_WRITE_RESULT);
    TIDAL_PASS(tidal_msg_write_result_decode(reply.payload, reply.len, &res, NULL));
    tidal_reply_free(&reply);
    tidal_buf_fini(&rb);
    tidal_buf_fini(&mb);
    return (int)res.code;
}

/* Ends s in r two hours ago: past the default retention at once. */
static void
end_long_ago(tidal_region *r, tidal_session_id s)
{
    TIDAL_PASS(end_at(r, s, repl_now_ns() - 2 * HOUR_NS));
}

static bool
gone(tidal_region *r, tidal_session_id s)
{
    tidal_session_view v;
    return tidal_get_session(r, s, &v) == TIDAL_ENOENT;
}

/* Asserts s is held by r, ended or not as said. */
static void
assert_held(tidal_region *r, tidal_session_id s, bool ended)
{
    tidal_session_view v;
    TIDAL_PASS(tidal_get_session(r, s, &v));
    cr_assert_eq(v.ended, ended, "region %u: a session %s", tidal_region_id_of(r),
                 ended ? "ended is live" : "never ended has ended");
}

/* Asserts every read and write of s in r gets TIDAL_ENOENT. */
static void
assert_freed(tidal_region *r, tidal_session_id s)
{
    tidal_session_view v;
    tidal_signal_view sig[4];
    size_t n = 0;
    TIDAL_FAIL(tidal_get_session(r, s, &v), TIDAL_ENOENT);
    TIDAL_FAIL(tidal_session_signals(r, s, sig, 4, &n), TIDAL_ENOENT);
    TIDAL_FAIL(tidal_signal_in_session(r, s, "view", 1, 1.0, repl_now_ns()), TIDAL_ENOENT);
    TIDAL_FAIL(tidal_end_session(r, s), TIDAL_ENOENT);
}

static void
start_with_signals(tidal_region *r, tidal_entity_id user, int signals, tidal_session_id *out)
{
    TIDAL_PASS(tidal_start_session(r, user, NULL, out));
    for (int i = 0; i < signals; i++) {
        TIDAL_PASS(tidal_signal_in_session(r, *out, "view", 900 + (tidal_entity_id)i, 1.0,
                                           repl_now_ns()));
    }
}

static bool
applied_all_of(tidal_region *r, tidal_region *origin)
{
    uint64_t last = repl_stats(origin).last_lsn;
    return repl_stats(r).applied_lsn[tidal_region_id_of(origin)] >= last;
}

/* Two regions: a session that ended long ago is freed in both; a session
 * ended now and a live one stay; the signals' counts, which are the items',
 * stay; digests are equal before and after, and a reconciliation round
 * changes nothing. */
Test(retention, ended_long_ago_freed_in_every_region)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x7e7e01);
    repl_open_ephemeral(&e, 2);
    tidal_session_id old, recent, live;
    start_with_signals(e.r[0], 1, 3, &old);
    start_with_signals(e.r[0], 2, 2, &recent);
    start_with_signals(e.r[0], 3, 1, &live);
    repl_wait_converged(&e);
    cr_assert_eq(repl_stats(e.r[1]).sessions, 3);
    int64_t views = repl_count(e.r[1], 900, "view");

    end_long_ago(e.r[0], old);
    TIDAL_PASS(tidal_end_session(e.r[0], recent));
    cr_assert(gone(e.r[0], old), "freed at once where its END was written");
    repl_wait_converged(&e); /* digests equal after */
    for (int i = 0; i < 2; i++) {
        tidal_region *r = e.r[i];
        assert_freed(r, old);
        assert_held(r, recent, true);
        assert_held(r, live, false);
        tidal_region_stats st = repl_stats(r);
        cr_assert_eq(st.sessions, 2, "region %d holds %llu sessions", i,
                     (unsigned long long)st.sessions);
        cr_assert_eq(st.sessions_freed, 1);
        cr_assert_eq(st.session_tombstones, 1);
        cr_assert_eq(repl_count(r, 900, "view"), views, "the items' counts stay");
    }

    uint64_t rounds = repl_stats(e.r[0]).reconcile_rounds;
    TIDAL_PASS(tidal_region_reconcile(e.r[0]));
    TIDAL_PASS(tidal_region_reconcile(e.r[1]));
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(e.r[0]).reconcile_rounds > rounds, DEADLINE_MS));
    repl_wait_converged(&e);
    for (int i = 0; i < 2; i++) {
        cr_assert(gone(e.r[i], old), "region %d: a round brought it back", i);
        cr_assert_eq(repl_stats(e.r[i]).sessions, 2);
    }
    repl_close(&e);
}

static bool
both_gone(repl_env *e, tidal_session_id s)
{
    return gone(e->r[0], s) && gone(e->r[1], s);
}

/* Region 1 misses the ENDs (region 0's batches to it are dropped), so it
 * holds live copies of sessions region 0 has freed.  A round started by
 * either side ends them there (the tombstone travels with its bucket's
 * entries); region 0 drops the live copy it is sent instead of merging it
 * back.  When the batches flow again, the ENDs find tombstones and drop. */
Test(retention, reconcile_ends_a_copy_that_missed_the_end)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x7e7e02);
    repl_open_ephemeral(&e, 2);
    tidal_session_id s[4], live;
    for (int k = 0; k < 4; k++) {
        start_with_signals(e.r[0], 11 + (tidal_entity_id)k, 2, &s[k]);
    }
    start_with_signals(e.r[0], 19, 2, &live);
    repl_wait_converged(&e);

    tidal_fault_rule cut = {.partition = 1};
    tidal_runtime *rt0 = tidal_region_runtime(e.r[0]);
    TIDAL_PASS(tidal_fault_set(rt0, "shipper-0", "region-1", &cut));
    for (int k = 0; k < 3; k++) {
        end_long_ago(e.r[0], s[k]);
        cr_assert(gone(e.r[0], s[k]));
        assert_held(e.r[1], s[k], false); /* the cut: region 1 never saw the END */
    }
    cr_assert_neq(tidal_region_digest(e.r[0]), tidal_region_digest(e.r[1]));

    /* a round from region 1: region 0 answers with the tombstones */
    TIDAL_PASS(tidal_region_reconcile(e.r[1]));
    bool ok = TIDAL_WAIT_UNTIL(both_gone(&e, s[0]) && both_gone(&e, s[1]) && both_gone(&e, s[2]),
                               DEADLINE_MS);
    cr_assert(ok, "region 1 still holds a session region 0 freed");
    for (int k = 0; k < 3; k++) {
        cr_assert(gone(e.r[0], s[k]), "region 0 brought back session %d", k);
    }
    cr_assert(TIDAL_WAIT_UNTIL(repl_digests_equal(e.r, 2), DEADLINE_MS));

    /* a round from region 0: region 1 sends its live copy, region 0 drops
     * it instead of merging it back, and sends the tombstone */
    end_long_ago(e.r[0], s[3]);
    assert_held(e.r[1], s[3], false);
    uint64_t dropped = repl_stats(e.r[0]).session_records_dropped;
    TIDAL_PASS(tidal_region_reconcile(e.r[0]));
    cr_assert(TIDAL_WAIT_UNTIL(gone(e.r[1], s[3]), DEADLINE_MS), "region 1 kept it");
    cr_assert(gone(e.r[0], s[3]), "region 0 merged back the live copy it was sent");
    cr_assert_gt(repl_stats(e.r[0]).session_records_dropped, dropped,
                 "region 0 was not sent the live copy");
    cr_assert(TIDAL_WAIT_UNTIL(repl_digests_equal(e.r, 2), DEADLINE_MS));
    for (int i = 0; i < 2; i++) {
        assert_held(e.r[i], live, false);
    }

    /* the batches flow again: the four ENDs find tombstones, and drop */
    uint64_t dropped1 = repl_stats(e.r[1]).session_records_dropped;
    TIDAL_PASS(tidal_fault_clear(rt0, "shipper-0", "region-1"));
    cr_assert(TIDAL_WAIT_UNTIL(applied_all_of(e.r[1], e.r[0]), DEADLINE_MS));
    cr_assert_eq(repl_stats(e.r[1]).session_records_dropped, dropped1 + 4);
    repl_wait_converged(&e);
    for (int i = 0; i < 2; i++) {
        tidal_region_stats st = repl_stats(e.r[i]);
        cr_assert_eq(st.sessions, 1, "region %d holds %llu sessions", i,
                     (unsigned long long)st.sessions);
        cr_assert_eq(st.session_tombstones, 4);
        assert_held(e.r[i], live, false);
    }
    repl_close(&e);
}

/* A region reopened from its directory replays the freed session's START,
 * signals and END; the END, past the retention, frees it before the open
 * returns: it is not brought back, even for a moment. */
Test(retention, reopened_region_does_not_bring_it_back)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x7e7e03);
    repl_open_region(&e, 0, true, TIDAL_SYNC);
    tidal_session_id old, recent, live;
    start_with_signals(e.r[0], 21, 3, &old);
    start_with_signals(e.r[0], 22, 2, &recent);
    start_with_signals(e.r[0], 23, 1, &live);
    end_long_ago(e.r[0], old);
    TIDAL_PASS(tidal_end_session(e.r[0], recent));
    assert_freed(e.r[0], old);
    uint64_t digest = tidal_region_digest(e.r[0]);

    TIDAL_PASS(tidal_region_close(e.r[0]));
    repl_open_region(&e, 0, true, TIDAL_SYNC);
    cr_assert(gone(e.r[0], old), "reopened, the region brought back a freed session");
    assert_held(e.r[0], recent, true);
    assert_held(e.r[0], live, false);
    tidal_region_stats st = repl_stats(e.r[0]);
    cr_assert_eq(st.sessions, 2);
    cr_assert_eq(st.sessions_freed, 1, "recovery freed it again");
    cr_assert_eq(st.session_tombstones, 1);
    cr_assert_eq(tidal_region_digest(e.r[0]), digest);
    assert_freed(e.r[0], old);
    repl_close(&e);
}

/* The session roams from region 0 to region 1, which ends it long ago.
 * Reopened, region 1 replays its own log first - HOME, a signal, the END,
 * for a session it does not know yet - then its copy of region 0's: START,
 * signals, HOME.  The END leaves a tombstone, and what follows drops: no
 * zombie session is started by the START that comes after its END. */
Test(retention, recovery_in_any_order_leaves_no_zombie)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x7e7e04);
    repl_open_region(&e, 0, false, TIDAL_SYNC);
    repl_open_region(&e, 1, true, TIDAL_SYNC);
    tidal_session_id s, live;
    start_with_signals(e.r[0], 31, 2, &s);
    start_with_signals(e.r[0], 32, 1, &live);
    cr_assert(TIDAL_WAIT_UNTIL(applied_all_of(e.r[1], e.r[0]), DEADLINE_MS));
    TIDAL_PASS(tidal_signal_in_session(e.r[1], s, "view", 950, 1.0, repl_now_ns())); /* roams */
    cr_assert_eq(end_at(e.r[1], s, repl_now_ns() - 2 * HOUR_NS), 0);
    repl_wait_converged(&e);
    cr_assert(both_gone(&e, s));
    uint64_t digest = tidal_region_digest(e.r[0]);

    TIDAL_PASS(tidal_region_close(e.r[1]));
    repl_open_region(&e, 1, true, TIDAL_SYNC);
    cr_assert(gone(e.r[1], s), "a START replayed after its END started a zombie");
    tidal_region_stats st = repl_stats(e.r[1]);
    cr_assert_eq(st.sessions, 1);
    cr_assert_eq(st.session_tombstones, 1);
    /* region 0's START, two signals and HOME, after the tombstone */
    cr_assert_geq(st.session_records_dropped, 4);
    assert_held(e.r[1], live, false);
    cr_assert_eq(tidal_region_digest(e.r[1]), digest);
    repl_close(&e);
}

#define SWEPT 5000 /* more than one slice of the sweep (TIDAL_SWEEP_PER_TICK) */

static bool
sessions_are(repl_env *e, uint64_t n)
{
    return repl_stats(e->r[0]).sessions == n && repl_stats(e->r[1]).sessions == n;
}

static bool
tombstones_are(repl_env *e, uint64_t n)
{
    return repl_stats(e->r[0]).session_tombstones == n &&
           repl_stats(e->r[1]).session_tombstones == n;
}

/* A short retention: sessions ended now are freed by the sweep, in both
 * regions, over several slices; the live ones are never freed; and the
 * tombstones go in their turn, TIDAL_SESSION_TOMBSTONE_RETENTIONS
 * retentions after the ends. */
Test(retention, sweep_frees_past_a_short_retention_and_keeps_the_live)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x7e7e05);
    for (int i = 0; i < 2; i++) {
        tidal_region_opts o = {.region_id = (tidal_region_id)i, .session_retention_ms = 100};
        repl_open_opts(&e, &o);
    }
    tidal_session_id live[3];
    for (int i = 0; i < 3; i++) {
        start_with_signals(e.r[0], 40 + (tidal_entity_id)i, 2, &live[i]);
    }
    for (int i = 0; i < SWEPT; i++) {
        tidal_session_id s;
        TIDAL_PASS(tidal_start_session(e.r[0], 1000 + (tidal_entity_id)i, NULL, &s));
        TIDAL_PASS(tidal_end_session(e.r[0], s));
    }
    bool ok = TIDAL_WAIT_UNTIL(sessions_are(&e, 3), DEADLINE_MS);
    if (!ok) {
        repl_dump(&e);
    }
    cr_assert(ok, "the ended sessions were not all freed: %llu and %llu held",
              (unsigned long long)repl_stats(e.r[0]).sessions,
              (unsigned long long)repl_stats(e.r[1]).sessions);
    repl_wait_converged(&e);
    for (int r = 0; r < 2; r++) {
        cr_assert_eq(repl_stats(e.r[r]).sessions_freed, SWEPT);
        for (int i = 0; i < 3; i++) {
            assert_held(e.r[r], live[i], false);
        }
    }
    cr_assert(TIDAL_WAIT_UNTIL(tombstones_are(&e, 0), DEADLINE_MS), "tombstones kept");
    for (int r = 0; r < 2; r++) {
        cr_assert_eq(repl_stats(e.r[r]).sessions, 3);
        for (int i = 0; i < 3; i++) {
            assert_held(e.r[r], live[i], false);
            cr_assert_eq(repl_signals_len(e.r[r], live[i]), 2);
        }
    }
    repl_wait_converged(&e);
    repl_close(&e);
}

/* UINT32_MAX keeps every session; an END stamped further ahead than the
 * clock skew allows is refused. */
Test(retention, never_keeps_every_session_and_future_ends_are_refused)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x7e7e06);
    tidal_region_opts o = {.region_id = 0, .session_retention_ms = UINT32_MAX};
    repl_open_opts(&e, &o);
    tidal_session_id s, t;
    start_with_signals(e.r[0], 51, 1, &s);
    start_with_signals(e.r[0], 52, 1, &t);
    end_long_ago(e.r[0], s);
    assert_held(e.r[0], s, true);
    cr_assert_eq(repl_stats(e.r[0]).sessions_freed, 0);
    cr_assert_eq(end_at(e.r[0], t, repl_now_ns() + HOUR_NS), TIDAL_ESKEW);
    assert_held(e.r[0], t, false);
    repl_close(&e);
}
