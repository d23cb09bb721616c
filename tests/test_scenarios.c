/*
 * The fault scenarios of issue 4, each with a fixed seed, each checking the
 * invariants of docs/design.md against state computed independently by the test
 * and against the fault trace (a scenario that injected nothing fails):
 *   (a) partition A|B while both write, heal: every piece of state converges;
 *   (b) 30% duplication and reordering (window 8) on every link: nothing is
 *       counted twice;
 *   (c) batches lost (drop 1.0, and an origin that released its log before a
 *       new peer joined): the reconciler makes the regions converge;
 *   (d) hide/unhide races from both regions under reordering: visibility is
 *       LWW by (wall, logical) with hide winning ties, everywhere.
 */
#include "repl_helpers.h"

TIDAL_SUITE(scenarios);

static bool
visible(tidal_region *r, tidal_entity_id user, tidal_entity_id item)
{
    return !repl_hidden(r, user, item);
}

/* Asserts two regions hold the same session (the view and every signal). */
static void
assert_same_session(tidal_region *a, tidal_region *b, tidal_session_id s)
{
    tidal_session_view va, vb;
    TIDAL_PASS(tidal_get_session(a, s, &va));
    TIDAL_PASS(tidal_get_session(b, s, &vb));
    cr_assert_eq(va.user, vb.user);
    cr_assert_eq(va.home, vb.home);
    cr_assert_eq(va.ended, vb.ended);
    cr_assert_eq(va.last_seqno, vb.last_seqno);
    cr_assert_eq(va.signals, vb.signals);
    cr_assert_eq(tidal_hlc_compare(&va.started, &vb.started), 0);
    tidal_signal_view sa[64], sb[64];
    size_t na, nb;
    TIDAL_PASS(tidal_session_signals(a, s, sa, 64, &na));
    TIDAL_PASS(tidal_session_signals(b, s, sb, 64, &nb));
    cr_assert_eq(na, nb);
    for (size_t i = 0; i < na && i < 64; i++) {
        cr_assert_eq(sa[i].seqno, sb[i].seqno);
        cr_assert_eq(sa[i].item, sb[i].item);
        cr_assert_str_eq(sa[i].type, sb[i].type);
        cr_assert_eq(sa[i].origin, sb[i].origin);
        cr_assert_eq(sa[i].ts_ns, sb[i].ts_ns);
    }
}

/* ---- (a) partition while both write ---------------------------------------- */

Test(scenarios, partition_both_write_then_heal_converges)
{
    repl_env e;
    repl_workload w[2];
    repl_cluster(&e, "inproc", 0xa0a0);
    repl_open_ephemeral(&e, 2);
    /* a session both know before the cut, ended by B during it */
    tidal_session_id shared;
    TIDAL_PASS(tidal_start_session(e.r[1], 77, NULL, &shared));
    TIDAL_PASS(tidal_signal_in_session(e.r[1], shared, "view", 7, 1.0, repl_now_ns()));
    repl_wait_converged(&e);

    TIDAL_PASS(tidal_cluster_partition(e.c, 0, 1));
    for (int i = 0; i < 2; i++) {
        repl_wl_start(e.r[i], &w[i], 3, 1000); /* the same items from both sides */
        repl_wl_signals(e.r[i], &w[i], 8);
    }
    TIDAL_PASS(tidal_end_session(e.r[1], shared));
    /* conflicting hard negatives for user 5: (item, region 0's op, region 1's op) */
    for (tidal_entity_id item = 1; item <= 4; item++) {
        tidal_hlc a = {.wall_ns = 100 + item, .node_id = 0};
        tidal_hlc b = {.wall_ns = item % 2 ? 200 : 50, .node_id = 1};
        TIDAL_PASS(tidal_hide_item_with_ts(e.r[0], 5, item, a));
        TIDAL_PASS(tidal_unhide_item_with_ts(e.r[1], 5, item, b));
    }
    /* nothing crossed */
    cr_assert_eq(repl_stats(e.r[1]).applied_lsn[0], 0);
    cr_assert_eq(repl_stats(e.r[0]).applied_lsn[1], 2);
    cr_assert_neq(tidal_region_digest(e.r[0]), tidal_region_digest(e.r[1]));
    cr_assert_gt(repl_trace_count(tidal_region_runtime(e.r[0]), TIDAL_FAULT_PARTITION, 0), 0);
    cr_assert_gt(repl_trace_count(tidal_region_runtime(e.r[1]), TIDAL_FAULT_PARTITION, 0), 0);

    TIDAL_PASS(tidal_cluster_heal(e.c));
    repl_wait_converged(&e);
    for (int r = 0; r < 2; r++) {
        for (int i = 0; i < 2; i++) {
            repl_assert_signals(e.r[r], w[i].sid[0], w[i].nsig[0], w[i].items[0]);
            for (int s = 0; s < 3; s++) {
                assert_same_session(e.r[0], e.r[1], w[i].sid[s]);
            }
        }
        for (int s = 0; s < WL_ITEMS; s++) {
            tidal_entity_id item = 1000 + (tidal_entity_id)s;
            cr_assert_eq(repl_count(e.r[r], item, "view"), w[0].view[s] + w[1].view[s]);
            cr_assert_eq(repl_count(e.r[r], item, "like"), w[0].like[s] + w[1].like[s]);
        }
        /* odd items: region 1's unhide (200) is later; even: region 0's hide wins */
        for (tidal_entity_id item = 1; item <= 4; item++) {
            cr_assert_eq(visible(e.r[r], 5, item), item % 2 == 1, "region %d item %llu", r,
                         (unsigned long long)item);
        }
    }
    assert_same_session(e.r[0], e.r[1], shared);
    tidal_session_view v;
    TIDAL_PASS(tidal_get_session(e.r[0], shared, &v));
    cr_assert(v.ended, "the end made during the partition reached region 0");
    repl_close(&e);
}

/* ---- (b) duplication and reordering on every link -------------------------- */

Test(scenarios, duplicate_and_reorder_everywhere_no_double_counting)
{
    repl_env e;
    repl_workload w[3];
    repl_cluster(&e, "inproc", 0xb0b0);
    repl_open_ephemeral(&e, 3);
    tidal_fault_rule rule = {.duplicate = 0.3, .reorder_window = 8};
    for (int a = 0; a < 3; a++) {
        for (int b = a + 1; b < 3; b++) {
            TIDAL_PASS(
                tidal_cluster_fault_set(e.c, (tidal_region_id)a, (tidal_region_id)b, &rule, 1));
        }
    }
    /* enough traffic that every runtime duplicates something: a held-back
     * envelope is never also duplicated, so a copy is made for about one
     * envelope in 8 / 0.3 = 27.  Each session's batches travel on links of
     * their own (from "region-<i>/<sid>", random sids), so count on those
     * alone, not on ACKs (a follower sends few): 60 rounds put 61 batches on
     * each of a region's 6 session links, and the chance that none of the
     * 366 is copied is (26/27)^366, about 1e-6 */
    for (int i = 0; i < 3; i++) {
        repl_wl_start(e.r[i], &w[i], 3, 5000); /* the same items from every region */
    }
    for (int round = 0; round < 60; round++) {
        for (int i = 0; i < 3; i++) {
            repl_wl_signals(e.r[i], &w[i], 1);
        }
    }
    repl_wait_converged(&e); /* through the faults */
    TIDAL_PASS(tidal_cluster_heal(e.c));
    repl_wait_converged(&e);
    uint64_t dups = 0;
    for (int r = 0; r < 3; r++) {
        for (int i = 0; i < 3; i++) {
            for (int s = 0; s < 3; s++) {
                repl_assert_signals(e.r[r], w[i].sid[s], w[i].nsig[s], w[i].items[s]);
            }
        }
        for (int s = 0; s < WL_ITEMS; s++) {
            tidal_entity_id item = 5000 + (tidal_entity_id)s;
            cr_assert_eq(repl_count(e.r[r], item, "view"),
                         w[0].view[s] + w[1].view[s] + w[2].view[s]);
            cr_assert_eq(repl_count(e.r[r], item, "like"),
                         w[0].like[s] + w[1].like[s] + w[2].like[s]);
        }
        tidal_region_stats st = repl_stats(e.r[r]);
        dups += st.batches_duplicate + st.seqno_duplicates;
        tidal_runtime *rt = tidal_region_runtime(e.r[r]);
        cr_assert_gt(repl_trace_count(rt, TIDAL_FAULT_DUPLICATE, 0), 0, "region %d", r);
        cr_assert_gt(repl_trace_count(rt, TIDAL_FAULT_REORDER, 0), 0, "region %d", r);
    }
    cr_assert_gt(dups, 0, "duplicates were dropped and counted");
    repl_close(&e);
}

/* ---- (c) batches lost: the reconciler ----------------------------------------- */

/* Every batch to region 1 is dropped (the reconcilers still talk): an
 * on-demand round alone brings region 1 the state; once the drop ends the
 * batches arrive and change nothing. */
Test(scenarios, drop_all_batches_reconciler_converges)
{
    repl_env e;
    repl_workload w;
    repl_cluster(&e, "inproc", 0xc0c0);
    repl_open_ephemeral(&e, 2);
    tidal_runtime *rt0 = tidal_region_runtime(e.r[0]);
    tidal_fault_rule drop = {.drop = 1.0};
    TIDAL_PASS(tidal_fault_set(rt0, "*", "region-1*", &drop));
    repl_wl_start(e.r[0], &w, 3, 3000);
    repl_wl_signals(e.r[0], &w, 10);
    TIDAL_PASS(tidal_hide_item_with_ts(e.r[0], 3, 3001, (tidal_hlc){.wall_ns = 10}));
    cr_assert_eq(repl_stats(e.r[1]).applied_lsn[0], 0);

    TIDAL_PASS(tidal_region_reconcile(e.r[0]));
    bool ok = TIDAL_WAIT_UNTIL(repl_digests_equal(e.r, 2), REPL_DEADLINE_MS);
    cr_assert(ok, "the reconciler did not make the regions converge");
    /* counted just after the merge */
    ok = TIDAL_WAIT_UNTIL(repl_stats(e.r[1]).reconcile_entries > 0, REPL_DEADLINE_MS);
    cr_assert(ok);
    cr_assert_eq(repl_stats(e.r[1]).applied_lsn[0], 0,
                 "no batch got through: the reconciler did it");
    repl_wl_check(e.r[1], &w);
    cr_assert(!visible(e.r[1], 3, 3001));
    cr_assert_gt(repl_trace_count(rt0, TIDAL_FAULT_DROP, 0), 0);

    TIDAL_PASS(tidal_fault_clear(rt0, "*", "region-1*"));
    repl_wait_converged(&e);
    repl_wl_check(e.r[1], &w); /* the late batches counted nothing twice */
    repl_close(&e);
}

/* Region 0's log was released (region 1 acknowledged all of it) before
 * region 2 joined, and region 0's batches to region 2 are dropped for a
 * while too: only the reconciler can bring region 2 those writes.  Later
 * writes must then reach region 2 by shipping again. */
Test(scenarios, log_released_before_peer_joined_reconciler_converges)
{
    repl_env e;
    repl_workload w;
    repl_cluster(&e, "inproc", 0xc1c1);
    repl_open_ephemeral(&e, 2);
    repl_wl_start(e.r[0], &w, 2, 4000);
    repl_wl_signals(e.r[0], &w, 10);
    repl_wait_converged(&e);
    bool acked = TIDAL_WAIT_UNTIL(repl_stats(e.r[0]).acked_lsn[1] == repl_stats(e.r[0]).writes,
                                  REPL_DEADLINE_MS);
    cr_assert(acked); /* and so released */

    tidal_runtime *rt0 = tidal_region_runtime(e.r[0]);
    tidal_fault_rule drop = {.drop = 1.0};
    TIDAL_PASS(tidal_fault_set(rt0, "*", "region-2*", &drop));
    repl_open_region(&e, 2, false, TIDAL_SYNC);
    repl_wl_signals(e.r[0], &w, 2); /* dropped on the way to region 2 */
    bool dropped =
        TIDAL_WAIT_UNTIL(repl_trace_count(rt0, TIDAL_FAULT_DROP, 0) > 0, REPL_DEADLINE_MS);
    cr_assert(dropped);
    TIDAL_PASS(tidal_fault_clear(rt0, "*", "region-2*"));
    TIDAL_PASS(tidal_region_reconcile(e.r[2]));
    bool ok = TIDAL_WAIT_UNTIL(repl_digests_equal(e.r, 3), REPL_DEADLINE_MS);
    cr_assert(ok, "the reconciler did not catch region 2 up");
    /* counted just after the merge */
    ok = TIDAL_WAIT_UNTIL(repl_stats(e.r[2]).reconcile_entries > 0, REPL_DEADLINE_MS);
    cr_assert(ok);
    repl_wl_check(e.r[2], &w);

    /* shipping resumes: a new write reaches region 2 without another round */
    repl_wl_signals(e.r[0], &w, 1);
    ok = TIDAL_WAIT_UNTIL(repl_signals_len(e.r[2], w.sid[1]) == w.nsig[1] &&
                              repl_digests_equal(e.r, 3),
                          REPL_DEADLINE_MS);
    if (!ok) {
        repl_dump(&e);
    }
    cr_assert(ok, "region 2 is stuck behind the released log");
    repl_wl_check(e.r[2], &w);
    repl_close(&e);
}

/* ---- (d) hide/unhide races ---------------------------------------------------- */

#define RACE_USERS 3
#define RACE_ITEMS 5
#define RACE_OPS 160

struct lww {
    bool any;
    bool hidden;
    uint64_t wall;
    uint32_t logical;
};

/* The expected winner: greater (wall, logical); on a tie a hide wins. */
static void
lww_apply(struct lww *x, bool hide, uint64_t wall, uint32_t logical)
{
    bool later = !x->any || wall > x->wall || (wall == x->wall && logical > x->logical);
    bool tie = x->any && wall == x->wall && logical == x->logical;
    if (later) {
        *x = (struct lww){true, hide, wall, logical};
    } else if (tie && hide) {
        x->hidden = true;
    }
}

Test(scenarios, hide_unhide_races_under_reordering_are_lww)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0xd0d0);
    repl_open_ephemeral(&e, 2);
    tidal_fault_rule rule = {.reorder_window = 8};
    TIDAL_PASS(tidal_cluster_fault_set(e.c, 0, 1, &rule, 1));
    struct lww want[RACE_USERS][RACE_ITEMS] = {0};
    uint64_t rng = 0xd15ea5e;
    for (int op = 0; op < RACE_OPS; op++) {
        int reg = (int)(tidal_test_rand(&rng) % 2);
        int u = (int)(tidal_test_rand(&rng) % RACE_USERS);
        int it = (int)(tidal_test_rand(&rng) % RACE_ITEMS);
        bool hide = tidal_test_rand(&rng) % 2 == 0;
        /* few distinct stamps, so that ties (across regions too) happen */
        tidal_hlc ts = {.wall_ns = 1000 + 10 * (tidal_test_rand(&rng) % 6),
                        .logical = (uint32_t)(tidal_test_rand(&rng) % 2),
                        .node_id = (uint16_t)reg};
        tidal_entity_id user = 10 + (tidal_entity_id)u, item = 20 + (tidal_entity_id)it;
        if (hide) {
            TIDAL_PASS(tidal_hide_item_with_ts(e.r[reg], user, item, ts));
        } else {
            TIDAL_PASS(tidal_unhide_item_with_ts(e.r[reg], user, item, ts));
        }
        lww_apply(&want[u][it], hide, ts.wall_ns, ts.logical);
    }
    for (int r = 0; r < 2; r++) {
        cr_assert_gt(repl_trace_count(tidal_region_runtime(e.r[r]), TIDAL_FAULT_REORDER, 0), 0);
    }
    TIDAL_PASS(tidal_cluster_heal(e.c));
    repl_wait_converged(&e);
    int hidden = 0;
    for (int u = 0; u < RACE_USERS; u++) {
        for (int it = 0; it < RACE_ITEMS; it++) {
            bool h = want[u][it].any && want[u][it].hidden;
            hidden += h;
            for (int r = 0; r < 2; r++) {
                cr_assert_eq(visible(e.r[r], 10 + (tidal_entity_id)u, 20 + (tidal_entity_id)it), !h,
                             "region %d user %d item %d", r, u, it);
            }
        }
    }
    cr_assert(hidden > 0 && hidden < RACE_USERS * RACE_ITEMS, "both outcomes are exercised");
    repl_close(&e);
}
