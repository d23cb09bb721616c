/*
 * WAL shipping between regions: every region's writes (sessions, session
 * signals, hides) become visible in every other region, on every transport,
 * and survive every kind of injected fault on the way.
 *
 * Transport tests run one body per URL scheme (inproc, ipc, tcp).  Fault
 * tests set one rule on the sending region's runtime with a fixed cluster
 * seed, write through it, clear it, and check that the follower applied the
 * origin's whole log (applied LSN = the origin's write count), holds the
 * same state (digest), and counted every signal exactly once.  Each asserts
 * that its fault kind was injected at least once (the trace), so a rule
 * that matched nothing fails the test.
 */
#include "repl_helpers.h"

TIDAL_SUITE(repl_ship);

#define SHIP_SEED 0x5eed0001ull

/* Hides in r for user: item base+i hidden for even i, hidden then unhidden
 * for odd i (later stamp), with explicit stamps from stamp_base. */
static void
write_hides(tidal_region *r, tidal_entity_id user, tidal_entity_id base, int n, uint64_t stamp_base)
{
    for (int i = 0; i < n; i++) {
        tidal_hlc h = {.wall_ns = stamp_base + 10u * (uint64_t)i, .node_id = tidal_region_id_of(r)};
        TIDAL_PASS(tidal_hide_item_with_ts(r, user, base + (tidal_entity_id)i, h));
        if (i % 2 == 1) {
            tidal_hlc u = h;
            u.wall_ns += 5;
            TIDAL_PASS(tidal_unhide_item_with_ts(r, user, base + (tidal_entity_id)i, u));
        }
    }
}

static void
check_hides(tidal_region *r, tidal_entity_id user, tidal_entity_id base, int n)
{
    tidal_entity_id cand[32];
    tidal_scored_item out[32];
    size_t got = 0;
    cr_assert(n <= 32);
    for (int i = 0; i < n; i++) {
        cand[i] = base + (tidal_entity_id)i;
    }
    tidal_retrieve q = {.user = user, .candidates = cand, .ncandidates = (size_t)n};
    TIDAL_PASS(tidal_retrieve_items(r, &q, out, &got));
    cr_assert_eq(got, (size_t)n / 2, "region %u: %zu visible, expected %d", tidal_region_id_of(r),
                 got, n / 2);
    for (size_t j = 0; j < got; j++) {
        cr_assert_eq((out[j].item - base) % 2, 1, "region %u: hidden item %llu returned",
                     tidal_region_id_of(r), (unsigned long long)out[j].item);
    }
}

/* ---- transports ------------------------------------------------------------ */

/* Every region of n writes 2 sessions x 6 signals and 6 hides; all regions
 * end with everything, each signal once. */
static void
ship_all_regions(const char *scheme, int n)
{
    repl_env e;
    repl_workload w[3];
    repl_cluster(&e, scheme, SHIP_SEED);
    repl_open_ephemeral(&e, n);
    for (int i = 0; i < n; i++) {
        repl_wl_start(e.r[i], &w[i], 2, 1000u * (tidal_entity_id)(i + 1));
        repl_wl_signals(e.r[i], &w[i], 6);
        write_hides(e.r[i], 50 + (tidal_entity_id)i, 500, 6, 1000);
    }
    repl_wait_converged(&e);
    for (int j = 0; j < n; j++) {
        for (int i = 0; i < n; i++) {
            repl_wl_check(e.r[j], &w[i]);
            check_hides(e.r[j], 50 + (tidal_entity_id)i, 500, 6);
            tidal_session_view v;
            TIDAL_PASS(tidal_get_session(e.r[j], w[i].sid[0], &v));
            cr_assert_eq(v.home, i, "the session's home is where it started");
        }
    }
    repl_close(&e);
}

#define TRANSPORT_TESTS(scheme)                                                                    \
    Test(repl_ship, two_regions_##scheme)                                                          \
    {                                                                                              \
        ship_all_regions(#scheme, 2);                                                              \
    }                                                                                              \
    Test(repl_ship, three_regions_##scheme)                                                        \
    {                                                                                              \
        ship_all_regions(#scheme, 3);                                                              \
    }

TRANSPORT_TESTS(inproc)
TRANSPORT_TESTS(ipc)
TRANSPORT_TESTS(tcp)

/* ---- faults ------------------------------------------------------------------ */

struct shipped {
    repl_env e;
    repl_workload w;
};

/* Region 0 writes 3 sessions x 12 signals and 8 hides while the rule is
 * in force. */
static void
write_through(struct shipped *s)
{
    repl_wl_start(s->e.r[0], &s->w, 3, 1000);
    repl_wl_signals(s->e.r[0], &s->w, 12);
    write_hides(s->e.r[0], 7, 700, 8, 2000);
}

/* After the rules are gone: the follower applied the origin's whole log,
 * holds the same state, and every signal and hide exactly once. */
static void
check_shipped(struct shipped *s)
{
    repl_wait_converged(&s->e);
    tidal_region_stats o = repl_stats(s->e.r[0]), f = repl_stats(s->e.r[1]);
    cr_assert_eq(o.writes, 3u + 36u + 8u + 4u, "origin write count");
    cr_assert_eq(f.applied_lsn[0], o.writes);
    cr_assert_eq(tidal_region_digest(s->e.r[1]), tidal_region_digest(s->e.r[0]));
    repl_wl_check(s->e.r[1], &s->w);
    check_hides(s->e.r[1], 7, 700, 8);
}

static void
ship_open(struct shipped *s)
{
    repl_cluster(&s->e, "inproc", SHIP_SEED);
    repl_open_ephemeral(&s->e, 2);
}

static size_t
faults_of(struct shipped *s, int kind)
{
    return repl_trace_count(tidal_region_runtime(s->e.r[0]), kind, 0);
}

Test(repl_ship, drop_30_percent)
{
    struct shipped s;
    ship_open(&s);
    tidal_fault_rule rule = {.drop = 0.3};
    TIDAL_PASS(tidal_cluster_fault_set(s.e.c, 0, 1, &rule, 0));
    write_through(&s);
    /* the shipper retransmits what was lost, through the same lossy link */
    repl_wait_converged(&s.e);
    TIDAL_PASS(tidal_cluster_fault_clear(s.e.c, 0, 1, 0));
    check_shipped(&s);
    cr_assert_gt(faults_of(&s, TIDAL_FAULT_DROP), 0, "nothing was dropped");
    cr_assert_gt(repl_stats(s.e.r[1]).batches_held, 0, "a drop opens a gap: later batches held");
    repl_close(&s.e);
}

Test(repl_ship, duplicate_30_percent)
{
    struct shipped s;
    ship_open(&s);
    tidal_fault_rule rule = {.duplicate = 0.3};
    TIDAL_PASS(tidal_cluster_fault_set(s.e.c, 0, 1, &rule, 0));
    write_through(&s);
    repl_wait_converged(&s.e);
    TIDAL_PASS(tidal_cluster_fault_clear(s.e.c, 0, 1, 0));
    check_shipped(&s);
    size_t dups = faults_of(&s, TIDAL_FAULT_DUPLICATE);
    cr_assert_gt(dups, 0, "nothing was duplicated");
    tidal_region_stats f = repl_stats(s.e.r[1]);
    cr_assert_gt(f.batches_duplicate + f.seqno_duplicates, 0, "duplicates were not counted");
    repl_close(&s.e);
}

Test(repl_ship, delay_half_1_to_20_ms)
{
    struct shipped s;
    ship_open(&s);
    /* on the sending runtime directly: every link towards region 1 */
    tidal_fault_rule rule = {.delay = 0.5, .delay_min_ms = 1, .delay_max_ms = 20};
    TIDAL_PASS(tidal_fault_set(tidal_region_runtime(s.e.r[0]), "*", "region-1*", &rule));
    write_through(&s);
    repl_wait_converged(&s.e);
    TIDAL_PASS(tidal_fault_clear(tidal_region_runtime(s.e.r[0]), "*", "region-1*"));
    check_shipped(&s);
    cr_assert_gt(faults_of(&s, TIDAL_FAULT_DELAY), 0, "nothing was delayed");
    tidal_trace_entry t[256];
    size_t n = tidal_trace_read(tidal_region_runtime(s.e.r[0]), 0, t, 256);
    for (size_t i = 0; i < n; i++) {
        if (t[i].kind == TIDAL_FAULT_DELAY) {
            cr_assert(t[i].param >= 1 && t[i].param <= 20, "delay %u ms", t[i].param);
        }
    }
    repl_close(&s.e);
}

Test(repl_ship, reorder_window_8)
{
    struct shipped s;
    ship_open(&s);
    tidal_fault_rule rule = {.reorder_window = 8};
    TIDAL_PASS(tidal_fault_set(tidal_region_runtime(s.e.r[0]), "*", "region-1*", &rule));
    write_through(&s);
    repl_wait_converged(&s.e);
    TIDAL_PASS(tidal_fault_clear(tidal_region_runtime(s.e.r[0]), "*", "region-1*"));
    check_shipped(&s);
    cr_assert_gt(faults_of(&s, TIDAL_FAULT_REORDER), 0, "nothing was reordered");
    repl_close(&s.e);
}

Test(repl_ship, partition_then_heal)
{
    struct shipped s;
    ship_open(&s);
    TIDAL_PASS(tidal_cluster_partition(s.e.c, 0, 1));
    write_through(&s);
    /* every batch was cut (inline and any retransmission): region 1 has nothing */
    tidal_region_stats f = repl_stats(s.e.r[1]);
    cr_assert_eq(f.applied_lsn[0], 0);
    cr_assert_eq(repl_signals_len(s.e.r[1], s.w.sid[0]), 0);
    cr_assert_gt(faults_of(&s, TIDAL_FAULT_PARTITION), 0, "nothing was cut");
    TIDAL_PASS(tidal_cluster_heal(s.e.c));
    check_shipped(&s);
    repl_close(&s.e);
}

/* A replay on the link every batch leaves by ("shipper-0" -> "region-1":
 * hides and session writes alike) is dropped as duplicates. */
Test(repl_ship, replay_is_dropped_as_duplicate)
{
    struct shipped s;
    ship_open(&s);
    tidal_runtime *rt0 = tidal_region_runtime(s.e.r[0]);
    tidal_fault_rule keep = {.replay_keep = 64}; /* remember, inject nothing */
    TIDAL_PASS(tidal_cluster_fault_set(s.e.c, 0, 1, &keep, 0));
    write_through(&s);
    repl_wait_converged(&s.e);
    cr_assert_eq(tidal_trace_total(rt0), 0, "a keep-only rule injects nothing");
    cr_assert_geq(repl_stats(s.e.r[0]).last_lsn, 24, "enough batches to replay 24");

    tidal_region_stats before = repl_stats(s.e.r[1]);
    uint32_t sent = 0;
    TIDAL_PASS(tidal_fault_replay(rt0, "shipper-0", "region-1", 24, &sent));
    cr_assert_eq(sent, 24u, "the shipper's link remembers every kind of batch");
    cr_assert_eq(repl_trace_count(rt0, TIDAL_FAULT_REPLAY, tidal_link_id("shipper-0", "region-1")),
                 sent, "the trace names the replayed link");
    bool ok =
        TIDAL_WAIT_UNTIL(repl_stats(s.e.r[1]).batches_duplicate >= before.batches_duplicate + sent,
                         REPL_DEADLINE_MS);
    cr_assert(ok, "every replayed batch was dropped as a duplicate");
    cr_assert_eq(repl_stats(s.e.r[1]).batches_applied, before.batches_applied);

    TIDAL_PASS(tidal_cluster_fault_clear(s.e.c, 0, 1, 0));
    check_shipped(&s);
    cr_assert_eq(repl_stats(s.e.r[1]).batches_applied, repl_stats(s.e.r[0]).writes,
                 "each batch applied once");
    repl_close(&s.e);
}

/* Three regions, all links of region 0 lossy and duplicating at once. */
Test(repl_ship, three_regions_drop_and_duplicate)
{
    repl_env e;
    repl_workload w;
    repl_cluster(&e, "inproc", SHIP_SEED + 1);
    repl_open_ephemeral(&e, 3);
    tidal_fault_rule rule = {.drop = 0.2, .duplicate = 0.3};
    TIDAL_PASS(tidal_cluster_fault_set(e.c, 0, 1, &rule, 0));
    TIDAL_PASS(tidal_cluster_fault_set(e.c, 0, 2, &rule, 0));
    repl_wl_start(e.r[0], &w, 2, 3000);
    repl_wl_signals(e.r[0], &w, 15);
    repl_wait_converged(&e);
    TIDAL_PASS(tidal_cluster_heal(e.c));
    repl_wait_converged(&e);
    for (int i = 1; i < 3; i++) {
        repl_wl_check(e.r[i], &w);
        cr_assert_eq(repl_stats(e.r[i]).applied_lsn[0], repl_stats(e.r[0]).writes);
    }
    tidal_runtime *rt0 = tidal_region_runtime(e.r[0]);
    cr_assert_gt(repl_trace_count(rt0, TIDAL_FAULT_DROP, 0), 0);
    cr_assert_gt(repl_trace_count(rt0, TIDAL_FAULT_DUPLICATE, 0), 0);
    uint64_t dups = 0;
    for (int i = 1; i < 3; i++) {
        tidal_region_stats st = repl_stats(e.r[i]);
        dups += st.batches_duplicate + st.seqno_duplicates;
    }
    cr_assert_gt(dups, 0, "duplicates were dropped and counted");
    repl_close(&e);
}
