/*
 * Validate, then log, then apply: a write refused for a limit leaves no
 * trace - not in the state, not in the log - so the region reopens and its
 * peers go on past it.  The limit of signals in a session is decided by
 * seqno before the append (actors/session.c, session_gate), so every home
 * draws the line at the same signal.
 */
#include "repl_helpers.h"

TIDAL_SUITE(write_limits);

Test(write_limits, a_session_past_its_signal_limit_is_refused_before_the_log)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x11);
    tidal_region_opts oa = {.region_id = 0, .dir = repl_dir_of(&e, 0), .durability = TIDAL_NONE,
                            .reconcile_ms = UINT32_MAX};
    repl_open_opts(&e, &oa);
    repl_open_region(&e, 1, false, TIDAL_SYNC);
    tidal_region *a = e.r[0], *b = e.r[1];
    tidal_session_id s;
    TIDAL_PASS(tidal_start_session(a, 9, NULL, &s));
    uint64_t ts = repl_now_ns();
    for (uint32_t i = 0; i < TIDAL_SESSION_SIGNALS_MAX; i++) {
        TIDAL_PASS(tidal_signal_in_session(a, s, "view", i % 1000, 1.0, ts));
    }
    uint64_t last = repl_stats(a).last_lsn;
    TIDAL_FAIL(tidal_signal_in_session(a, s, "view", 1, 1.0, ts), TIDAL_ELIMIT);
    TIDAL_FAIL(tidal_signal_in_session(a, s, "view", 2, 1.0, ts), TIDAL_ELIMIT);
    cr_assert_eq(repl_stats(a).last_lsn, last, "a refused signal reached the log");
    cr_assert_eq(repl_stats(a).writes_refused, 2);
    TIDAL_PASS(tidal_hide_item(a, 9, 77)); /* the log goes on past it */
    TIDAL_PASS(tidal_region_wait_applied(b, 0, last + 1, REPL_DEADLINE_MS));
    cr_assert_eq(repl_signals_len(b, s), TIDAL_SESSION_SIGNALS_MAX);
    cr_assert(repl_hidden(b, 9, 77), "the peer went on past the refused signals");
    /* the log it wrote is one it reopens */
    TIDAL_PASS(tidal_region_close(a));
    e.r[0] = NULL;
    a = repl_open_opts(&e, &oa);
    cr_assert_eq(repl_stats(a).last_lsn, last + 1);
    cr_assert_eq(repl_signals_len(a, s), TIDAL_SESSION_SIGNALS_MAX);
    cr_assert(repl_hidden(a, 9, 77));
    repl_close(&e);
}

/* A client's stamp from the future: further ahead than max_skew_ns it is
 * refused before anything is written - it would win every later write, and
 * carried on the region's clock it would have its peers refuse its
 * messages.  Past stamps are taken; so is one within the skew. */
Test(write_limits, stamps_too_far_ahead_are_refused)
{
    setenv("TIDAL_QUIET", "1", 1);
    const uint64_t skew = 200ull * 1000 * 1000;
    repl_env e;
    repl_cluster(&e, "inproc", 0x12);
    tidal_region_opts o = {.region_id = 0, .max_skew_ns = skew};
    repl_open_opts(&e, &o);
    tidal_region_opts o1 = {.region_id = 1, .max_skew_ns = skew};
    repl_open_opts(&e, &o1);
    tidal_region *a = e.r[0], *b = e.r[1];
    tidal_hlc far = {.wall_ns = repl_now_ns() + 10 * skew};
    TIDAL_FAIL(tidal_hide_item_with_ts(a, 1, 2, far), TIDAL_ESKEW);
    tidal_hlc end = {.wall_ns = UINT64_MAX, .logical = UINT32_MAX};
    TIDAL_FAIL(tidal_hide_item_with_ts(a, 1, 3, end), TIDAL_ESKEW);
    TIDAL_FAIL(tidal_unhide_item_with_ts(a, 1, 3, end), TIDAL_ESKEW);
    tidal_session_id s;
    TIDAL_PASS(tidal_start_session(a, 9, NULL, &s));
    TIDAL_FAIL(tidal_signal_in_session(a, s, "view", 1, 1.0, repl_now_ns() + 10 * skew),
               TIDAL_ESKEW);
    tidal_region_stats st = repl_stats(a);
    cr_assert_eq(st.last_lsn, 1, "a refused stamp reached the log");
    cr_assert_eq(st.writes_refused, 4);
    cr_assert(!repl_hidden(a, 1, 2));
    /* the clock did not move: the peer still takes what follows */
    tidal_hlc near = {.wall_ns = repl_now_ns() + skew / 4};
    tidal_hlc past = {.wall_ns = 5};
    TIDAL_PASS(tidal_hide_item_with_ts(a, 1, 4, near));
    TIDAL_PASS(tidal_hide_item_with_ts(a, 1, 5, past));
    TIDAL_PASS(tidal_signal_in_session(a, s, "view", 1, 1.0, 7));
    TIDAL_PASS(tidal_region_wait_applied(b, 0, 4, REPL_DEADLINE_MS));
    cr_assert(repl_hidden(b, 1, 4) && repl_hidden(b, 1, 5));
    cr_assert_eq(repl_signals_len(b, s), 1);
    repl_close(&e);
}

/* Types: each region brings in at most TIDAL_SIGTYPES_ORIGIN_MAX of its own,
 * refused at the origin before the log past that; the types a region
 * learns from its peers do not count against it, and every peer applies
 * the union (limits.h: it always fits), so nothing stalls. */
Test(write_limits, each_region_brings_in_its_own_types_and_peers_take_the_union)
{
    setenv("TIDAL_QUIET", "1", 1);
    repl_env e;
    repl_cluster(&e, "inproc", 0x13);
    repl_open_ephemeral(&e, 2);
    tidal_region *a = e.r[0], *b = e.r[1];
    tidal_session_id s[2];
    uint64_t ts = repl_now_ns();
    char type[32];
    for (int r = 0; r < 2; r++) {
        TIDAL_PASS(tidal_start_session(e.r[r], 9 + r, NULL, &s[r]));
        for (unsigned i = 0; i < TIDAL_SIGTYPES_ORIGIN_MAX; i++) {
            snprintf(type, sizeof(type), "%c%u", 'a' + r, i);
            TIDAL_PASS(tidal_signal_in_session(e.r[r], s[r], type, 5, 1.0, ts));
        }
        TIDAL_PASS(tidal_region_wait_applied(e.r[1 - r], (tidal_region_id)r,
                                             repl_stats(e.r[r]).last_lsn, REPL_DEADLINE_MS));
        uint64_t last = repl_stats(e.r[r]).last_lsn;
        snprintf(type, sizeof(type), "%c-one-more", 'a' + r);
        TIDAL_FAIL(tidal_signal_in_session(e.r[r], s[r], type, 5, 1.0, ts), TIDAL_ELIMIT);
        cr_assert_eq(repl_stats(e.r[r]).last_lsn, last, "a refused type reached the log");
        /* a type it knows, its own or a peer's, is still taken */
        TIDAL_PASS(tidal_signal_in_session(e.r[r], s[r], "a0", 5, 1.0, ts));
    }
    TIDAL_PASS(tidal_region_wait_applied(b, 0, repl_stats(a).last_lsn, REPL_DEADLINE_MS));
    TIDAL_PASS(tidal_region_wait_applied(a, 1, repl_stats(b).last_lsn, REPL_DEADLINE_MS));
    cr_assert(repl_digests_equal(e.r, 2));
    snprintf(type, sizeof(type), "b%u", TIDAL_SIGTYPES_ORIGIN_MAX - 1);
    cr_assert_eq(repl_count(a, 5, type), 1);
    cr_assert_eq(repl_count(b, 5, "a0"), 3);
    cr_assert_eq(repl_stats(a).records_skipped + repl_stats(b).records_skipped, 0);
    repl_close(&e);
}

/* A region's wall clock can be injected (a clock that lies): it stamps its
 * writes and checks client stamps by that clock, not the system's. */
static uint64_t
ahead_2s(void *arg)
{
    (void)arg;
    return repl_now_ns() + 2000000000ull;
}

Test(write_limits, a_region_reads_its_injected_clock)
{
    setenv("TIDAL_QUIET", "1", 1);
    repl_env e;
    repl_cluster(&e, "inproc", 0x14);
    tidal_region_opts o = {.region_id = 0, .wall_clock = ahead_2s};
    repl_open_opts(&e, &o);
    repl_open_region(&e, 1, false, TIDAL_SYNC);
    tidal_region *fast = e.r[0], *real = e.r[1];
    uint64_t before = repl_now_ns();
    tidal_hlc t = tidal_now(tidal_region_runtime(fast));
    cr_assert_geq(t.wall_ns, before + 2000000000ull, "the region's stamps follow its clock");
    cr_assert_geq(tidal_wall_ns(tidal_region_runtime(fast)), before + 2000000000ull);
    cr_assert_lt(tidal_wall_ns(tidal_region_runtime(real)), before + 2000000000ull);
    /* 1.5 s ahead of real time: within the fast clock's skew, not the real one's */
    tidal_hlc ts = {.wall_ns = repl_now_ns() + 1500000000ull};
    TIDAL_PASS(tidal_hide_item_with_ts(fast, 1, 2, ts));
    TIDAL_FAIL(tidal_hide_item_with_ts(real, 1, 3, ts), TIDAL_ESKEW);
    repl_close(&e);
}
