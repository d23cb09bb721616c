/*
 * Watermarks never lie (actors/watermark.c, "Gaps"; actors/reconciler.c,
 * "Completed rounds"; actors/reconciled.c).
 *
 * A follower that an ephemeral origin told where its log now starts (a log
 * base: it joined late, or was let go) takes the batches after the base at
 * once, but its published watermark - stats.applied_lsn and
 * tidal_region_wait_applied - stays below the skipped range until a
 * reconciliation round with the origin has completed: until then a read
 * there would not see the origin's writes below the base.  The round is
 * held back by cutting one link, from the origin's reconciler to the
 * follower's, so the origin's answers never arrive; nothing else is cut, and
 * nothing but the follower's own retries (region.c) asks for a round once
 * the link is back.
 *
 * And what a region with a directory got only by reconciliation is in its
 * reconciled log: closed and reopened alone, it still has it.
 */
#include "actors/internal.h" /* the logs: is the origin's head released yet */
#include "repl_helpers.h"

TIDAL_SUITE(watermark_gap);

#define LONG_MS 60000u /* a wait that only the event under test may end */
#define BOUND 4096u    /* memory_bytes of a region that lets a peer go */

static int
read_nothing(void *arg, const uint8_t *batch, size_t len)
{
    (void)arg;
    (void)batch;
    (void)len;
    return 0;
}

/* True once r's own log no longer holds lsn (released: ephemeral only). */
static bool
released(tidal_region *r, uint64_t lsn)
{
    return tidal_wal_read(r->wal, lsn, true, read_nothing, NULL) == TIDAL_ENOENT;
}

/* Cuts (or restores) the link from region o's reconciler to region f's, on
 * o's runtime: o's answers to f's digests are dropped. */
static void
cut_answers(repl_env *e, int o, int f, bool cut)
{
    char from[32], to[32];
    snprintf(from, sizeof(from), "reconciler-%d", o);
    snprintf(to, sizeof(to), "reconciler-%d", f);
    tidal_runtime *rt = tidal_region_runtime(e->r[o]);
    tidal_fault_rule part = {.partition = 1};
    if (cut) {
        TIDAL_PASS(tidal_fault_set(rt, from, to, &part));
    } else {
        TIDAL_PASS(tidal_fault_clear(rt, from, to));
    }
}

/* Waits until o has had an answer to f's digest cut (a round f started
 * after the base, lost): n of them. */
static void
until_answers_cut(repl_env *e, int o, int f, size_t n)
{
    char from[32], to[32];
    snprintf(from, sizeof(from), "reconciler-%d", o);
    snprintf(to, sizeof(to), "reconciler-%d", f);
    uint64_t link = tidal_link_id(from, to);
    tidal_runtime *rt = tidal_region_runtime(e->r[o]);
    bool cut = TIDAL_WAIT_UNTIL(repl_trace_count(rt, TIDAL_FAULT_PARTITION, link) >= n,
                                REPL_DEADLINE_MS);
    cr_assert(cut, "region %d never answered region %d's round", o, f);
}

/* Region 0, ephemeral and alone, writes a workload (2 sessions, 10 signals
 * each) and 10 hides, and releases all of it: nobody holds its log.
 * Returns its last LSN. */
static uint64_t
write_and_release(repl_env *e, repl_workload *w)
{
    repl_open_region(e, 0, false, TIDAL_SYNC);
    repl_wl_start(e->r[0], w, 2, 1000);
    repl_wl_signals(e->r[0], w, 10);
    repl_hide_range(e->r[0], 9, 500, 10);
    uint64_t last = repl_stats(e->r[0]).last_lsn;
    cr_assert_eq(last, 32);
    bool gone = TIDAL_WAIT_UNTIL(released(e->r[0], last), REPL_DEADLINE_MS);
    cr_assert(gone, "region 0 kept its log with no peer to hold it");
    return last;
}

/* Everything write_and_release wrote is readable in r. */
static void
check_all(tidal_region *r, const repl_workload *w)
{
    repl_wl_check(r, w);
    repl_assert_hidden_range(r, 9, 500, 10, true);
}

/* Region 1 joins after region 0 released its log: it is told the base (32)
 * and takes region 0's next write (33) at once, but its watermark stays at
 * 0 while region 0's answers are cut, and moves to 33 only once a round
 * completed - after which all 33 writes are readable there. */
static void
joining_late(const char *scheme)
{
    repl_env e;
    repl_workload w;
    repl_cluster(&e, scheme, 0x6a9);
    uint64_t base = write_and_release(&e, &w);
    cut_answers(&e, 0, 1, true);
    repl_open_region(&e, 1, false, TIDAL_SYNC);
    TIDAL_PASS(tidal_hide_item(e.r[0], 9, 999)); /* LSN base + 1 */

    /* the batch after the base is applied: the base came, the position moved */
    bool applied = TIDAL_WAIT_UNTIL(repl_hidden(e.r[1], 9, 999), REPL_DEADLINE_MS);
    cr_assert(applied, "region 1 did not take the batch after the base");
    cr_assert_geq(repl_stats(e.r[1]).batches_applied, 1);
    until_answers_cut(&e, 0, 1, 1);

    tidal_region_stats st = repl_stats(e.r[1]);
    cr_assert_eq(st.applied_lsn[0], 0, "published %llu with none of 1..%llu here",
                 (unsigned long long)st.applied_lsn[0], (unsigned long long)base);
    TIDAL_FAIL(tidal_region_wait_applied(e.r[1], 0, 1, 0), TIDAL_ETIMEDOUT);
    TIDAL_FAIL(tidal_region_wait_applied(e.r[1], 0, base, 0), TIDAL_ETIMEDOUT);
    TIDAL_FAIL(tidal_region_wait_applied(e.r[1], 0, base + 1, 0), TIDAL_ETIMEDOUT);
    cr_assert_not(repl_hidden(e.r[1], 9, 500), "the state below the base has not come");

    cut_answers(&e, 0, 1, false); /* region 1 asks again by itself */
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, base + 1, LONG_MS));
    /* no poll, no retry: the read right after the wait sees every write */
    check_all(e.r[1], &w);
    cr_assert(repl_hidden(e.r[1], 9, 999));
    cr_assert_eq(repl_stats(e.r[1]).applied_lsn[0], base + 1);
    repl_close(&e);
}

Test(watermark_gap, joining_late_publishes_nothing_until_its_round_completes_inproc)
{
    joining_late("inproc");
}
Test(watermark_gap, joining_late_publishes_nothing_until_its_round_completes_ipc)
{
    joining_late("ipc");
}

/* Region 1 is cut off, region 0 writes past its bound and lets region 1
 * go.  Back, region 1 is told a base past what it had (pre): it takes the
 * batches after the base, but publishes nothing past pre until its round
 * with region 0 completes.  The write after the base waits for region 1's
 * ACK of the base: until then nobody holds region 0's log, which releases
 * each write as soon as it is durable - under load before its first
 * round, so that it too came to region 1 inside the base (1 run in 240). */
Test(watermark_gap, a_peer_let_go_publishes_nothing_past_the_gap_until_its_round_completes)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x6aa);
    tidal_region_opts o = {.region_id = 0, .memory_bytes = BOUND, .peer_hold_ms = 50,
                           .write_timeout_ms = REPL_DEADLINE_MS};
    repl_open_opts(&e, &o);
    repl_open_region(&e, 1, false, TIDAL_SYNC);
    TIDAL_PASS(tidal_hide_item(e.r[0], 9, 29999));
    uint64_t pre = repl_stats(e.r[0]).last_lsn;
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, pre, LONG_MS));

    TIDAL_PASS(tidal_cluster_partition(e.c, 0, 1));
    repl_hide_range(e.r[0], 9, 30000, 300);
    cr_assert_geq(repl_stats(e.r[0]).peers_let_go, 1, "region 1 was never let go");
    cr_assert(released(e.r[0], pre + 1));
    cut_answers(&e, 0, 1, true);
    TIDAL_PASS(tidal_cluster_fault_clear(e.c, 0, 1, 1));
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(e.r[0]).acked_lsn[1] > pre, REPL_DEADLINE_MS),
              "region 1 never acknowledged the base");
    TIDAL_PASS(tidal_hide_item(e.r[0], 9, 31000));
    uint64_t last = repl_stats(e.r[0]).last_lsn;

    bool applied = TIDAL_WAIT_UNTIL(repl_hidden(e.r[1], 9, 31000), REPL_DEADLINE_MS);
    cr_assert(applied, "region 1 did not take the batches after the base");
    until_answers_cut(&e, 0, 1, 1);
    cr_assert_eq(repl_stats(e.r[1]).applied_lsn[0], pre, "published past the gap");
    TIDAL_FAIL(tidal_region_wait_applied(e.r[1], 0, pre + 1, 0), TIDAL_ETIMEDOUT);
    TIDAL_FAIL(tidal_region_wait_applied(e.r[1], 0, last, 0), TIDAL_ETIMEDOUT);
    cr_assert_not(repl_hidden(e.r[1], 9, 30000), "the released hide has not come");

    cut_answers(&e, 0, 1, false);
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, last, LONG_MS));
    repl_assert_hidden_range(e.r[1], 9, 29999, 301, true);
    cr_assert(repl_hidden(e.r[1], 9, 31000));
    repl_close(&e);
}

/* Only a round with the origin fills its gap.  Region 2 holds all of region
 * 0's state and answers region 1's round, which brings region 1 all of it;
 * region 0's answers are cut, so region 1 still publishes nothing of region
 * 0's: another peer's answer does not say how much of region 0's log it
 * had (actors/watermark.c, "Gaps"). */
Test(watermark_gap, another_peers_round_does_not_fill_the_gap)
{
    repl_env e;
    repl_workload w;
    repl_cluster(&e, "inproc", 0x6ab);
    repl_open_region(&e, 0, false, TIDAL_SYNC);
    repl_open_region(&e, 2, false, TIDAL_SYNC);
    repl_wl_start(e.r[0], &w, 2, 1000);
    repl_wl_signals(e.r[0], &w, 10);
    repl_hide_range(e.r[0], 9, 500, 10);
    uint64_t base = repl_stats(e.r[0]).last_lsn;
    TIDAL_PASS(tidal_region_wait_applied(e.r[2], 0, base, LONG_MS));
    bool gone = TIDAL_WAIT_UNTIL(released(e.r[0], base), REPL_DEADLINE_MS);
    cr_assert(gone, "region 0 kept what region 2 acknowledged");

    cut_answers(&e, 0, 1, true);
    repl_open_region(&e, 1, false, TIDAL_SYNC);
    tidal_region *pair[2] = {e.r[1], e.r[2]};
    bool merged = TIDAL_WAIT_UNTIL(repl_digests_equal(pair, 2), REPL_DEADLINE_MS);
    cr_assert(merged, "region 2's answer did not bring region 1 the state");
    check_all(e.r[1], &w);
    until_answers_cut(&e, 0, 1, 1);
    cr_assert_eq(repl_stats(e.r[1]).applied_lsn[0], 0, "filled by region 2's round");
    TIDAL_FAIL(tidal_region_wait_applied(e.r[1], 0, base, 0), TIDAL_ETIMEDOUT);

    cut_answers(&e, 0, 1, false);
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, base, LONG_MS));
    repl_close(&e);
}

/* Region 1, with a directory, joins after region 0 released its log: all
 * it has of region 0 came by reconciliation.  Closed, and reopened once
 * region 0 is gone (nothing can bring it anything then), it has it all. */
static void
reconciled_survives(bool crash)
{
    repl_env e;
    repl_workload w;
    repl_cluster(&e, "inproc", 0x6ac);
    uint64_t base = write_and_release(&e, &w);
    repl_open_region(&e, 1, true, TIDAL_SYNC);
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, base, LONG_MS));
    bool equal = TIDAL_WAIT_UNTIL(repl_digests_equal(e.r, 2), REPL_DEADLINE_MS);
    cr_assert(equal, "region 1 did not get region 0's state");
    check_all(e.r[1], &w);
    uint64_t digest = tidal_region_digest(e.r[1]);
    cr_assert_eq(repl_stats(e.r[1]).last_lsn, 0, "what merged is not region 1's own write");

    TIDAL_PASS(tidal_region_close(e.r[0]));
    e.r[0] = NULL;
    TIDAL_PASS(crash ? tidal_region_crash(e.r[1]) : tidal_region_close(e.r[1]));
    repl_open_region(&e, 1, true, TIDAL_SYNC);
    cr_assert_eq(tidal_region_digest(e.r[1]), digest, "the reopened region lost state");
    check_all(e.r[1], &w);
    cr_assert_eq(repl_stats(e.r[1]).last_lsn, 0);
    repl_close(&e);
}

Test(watermark_gap, reconciled_state_survives_a_close) { reconciled_survives(false); }
Test(watermark_gap, reconciled_state_survives_a_crash) { reconciled_survives(true); }

/* The reconciled log holds what changed the state, not whole buckets again
 * and again.  Region 1 has everything region 0 has and more (its own hides,
 * not shipped to region 0): its round makes region 0 answer with its
 * entries of nearly every bucket, all of which region 1 holds already -
 * merged, and not logged. */
Test(watermark_gap, entries_that_change_nothing_are_not_logged)
{
    repl_env e;
    repl_workload w;
    repl_cluster(&e, "inproc", 0x6ad);
    uint64_t base = write_and_release(&e, &w);
    repl_open_region(&e, 1, true, TIDAL_SYNC);
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, base, LONG_MS));
    tidal_wal_stats before;
    tidal_wal_stats_get(e.r[1]->reconciled, &before);
    cr_assert_geq(before.appends, 1, "what the round brought was not logged");

    tidal_fault_rule part = {.partition = 1};
    TIDAL_PASS(tidal_fault_set(tidal_region_runtime(e.r[1]), "shipper-1", "region-0", &part));
    repl_hide_range(e.r[1], 7, 100, 300);
    uint64_t entries = repl_stats(e.r[1]).reconcile_entries;
    uint64_t done = atomic_load(&e.r[1]->st_rounds_done);
    TIDAL_PASS(tidal_region_reconcile(e.r[1]));
    /* a round completed and entries came (any round: none can bring region
     * 1 anything new, so none may log anything) */
    bool ran = TIDAL_WAIT_UNTIL(atomic_load(&e.r[1]->st_rounds_done) > done &&
                                    repl_stats(e.r[1]).reconcile_entries > entries,
                                REPL_DEADLINE_MS);
    cr_assert(ran, "region 1's round did not complete, or region 0 sent no entry");
    tidal_wal_stats after;
    tidal_wal_stats_get(e.r[1]->reconciled, &after);
    cr_assert_eq(after.appends, before.appends, "entries that changed nothing were logged");
    check_all(e.r[1], &w);
    repl_close(&e);
}
