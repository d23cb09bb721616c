/*
 * Periodic reconciliation waits for shipping (actors/reconciler.c, "Periodic
 * rounds"): while batches from region 0 to region 1 are in flight, neither
 * region 0's timer starts a round with region 1 nor does region 0 answer
 * region 1's periodic digests - their states differ only by what shipping
 * will bring.  Once region 1 has acknowledged everything, periodic rounds run
 * again (and find nothing to exchange).  A round on demand runs whatever is in
 * flight.
 *
 * Batches are held back by cutting only the link that carries them (from
 * "shipper-0" to "region-1", whoever ships them) and, for good measure, the
 * region actor's; the reconcilers' link stays open, so a digest answered when it should not be
 * would deliver its entries and show in region 1's counters.
 */
#include "actors/internal.h" /* st_acked, st_rounds_done, the log's durable LSN */
#include "repl_helpers.h"

TIDAL_SUITE(reconcile_periodic);

#define HIDES 20

static void
open_pair(repl_env *e, uint32_t reconcile_ms)
{
    repl_cluster(e, "inproc", 0x7ec0);
    for (int i = 0; i < 2; i++) {
        tidal_region_opts o = {.region_id = (tidal_region_id)i, .reconcile_ms = reconcile_ms};
        repl_open_opts(e, &o);
    }
}

static void
cut_batches(repl_env *e, bool cut)
{
    tidal_runtime *rt0 = tidal_region_runtime(e->r[0]);
    tidal_fault_rule part = {.partition = 1};
    const char *from[] = {"region-0", "shipper-0"};
    for (int i = 0; i < 2; i++) {
        if (cut) {
            TIDAL_PASS(tidal_fault_set(rt0, from[i], "region-1", &part));
        } else {
            TIDAL_PASS(tidal_fault_clear(rt0, from[i], "region-1"));
        }
    }
}

Test(reconcile_periodic, rounds_wait_while_batches_are_in_flight)
{
    repl_env e;
    open_pair(&e, 20);
    cut_batches(&e, true);
    repl_hide_range(e.r[0], 4, 100, HIDES);
    tidal_region_stats a0 = repl_stats(e.r[0]);
    tidal_region_stats b0 = repl_stats(e.r[1]);

    /* region 1 is in step with region 0 (it wrote nothing): its timer keeps
     * sending digests, and region 0's timer fires as often */
    bool ran = TIDAL_WAIT_UNTIL(repl_stats(e.r[1]).reconcile_rounds >= b0.reconcile_rounds + 3,
                                REPL_DEADLINE_MS);
    cr_assert(ran, "region 1's periodic rounds did not run");
    tidal_region_stats a1 = repl_stats(e.r[0]);
    tidal_region_stats b1 = repl_stats(e.r[1]);
    cr_assert_eq(a1.reconcile_rounds, a0.reconcile_rounds, "region 0 started a round with a peer "
                                                           "it is still shipping to");
    cr_assert_eq(a1.reconcile_bytes, a0.reconcile_bytes, "region 0 sent digests or entries");
    cr_assert_eq(b1.reconcile_entries, 0, "region 1 was sent entries by a periodic round");
    cr_assert_eq(b1.applied_lsn[0], 0, "no batch got through");
    repl_assert_hidden_range(e.r[1], 4, 100, HIDES, false);

    /* shipping completes (no round on demand): periodic rounds resume, and
     * there is nothing left for them to exchange */
    cut_batches(&e, false);
    repl_wait_converged(&e);
    bool resumed = TIDAL_WAIT_UNTIL(repl_stats(e.r[0]).reconcile_rounds > a1.reconcile_rounds,
                                    REPL_DEADLINE_MS);
    cr_assert(resumed, "region 0's periodic rounds did not resume once in step");
    cr_assert_eq(repl_stats(e.r[1]).reconcile_entries, 0);
    cr_assert_eq(repl_stats(e.r[0]).reconcile_entries, 0);
    repl_close(&e);
}

/* A periodic digest is a picture of its sender's state when it was made.
 * Region 1's digests made while region 0's batches were held back, and
 * delivered only once region 1 has caught up (so region 0 is in step with it
 * by then), must still go unanswered: answering them would send region 1
 * entries that shipping has brought it since.  (The race CI once hit by
 * chance: a digest overtaken by the ACKs of the batches it predates.) */
Test(reconcile_periodic, a_digest_made_before_the_batches_arrived_is_not_answered)
{
    repl_env e;
    open_pair(&e, 100);
    tidal_runtime *rt1 = tidal_region_runtime(e.r[1]);
    /* every digest of region 1 arrives 600 ms after it was made, in order
     * (within the 8 rounds a region follows: 800 ms at this period) */
    tidal_fault_rule late = {.delay = 1.0, .delay_min_ms = 600, .delay_max_ms = 600};
    cut_batches(&e, true);
    TIDAL_PASS(tidal_fault_set(rt1, "reconciler-1", "reconciler-0", &late));
    repl_hide_range(e.r[0], 4, 100, HIDES);
    uint64_t rounds = repl_stats(e.r[1]).reconcile_rounds;
    bool made = TIDAL_WAIT_UNTIL(repl_stats(e.r[1]).reconcile_rounds >= rounds + 3,
                                 REPL_DEADLINE_MS);
    cr_assert(made, "region 1 made no digests while the batches were held back");

    /* the batches arrive and are acknowledged; the digests region 1 made
     * before them are still on their way */
    cut_batches(&e, false);
    repl_wait_converged(&e);
    uint64_t durable = tidal_wal_durable_lsn(e.r[0]->wal);
    bool acked = TIDAL_WAIT_UNTIL(atomic_load(&e.r[0]->st_acked[1]) >= durable, REPL_DEADLINE_MS);
    cr_assert(acked, "region 0 did not learn that region 1 has its whole log");
    uint64_t done = atomic_load(&e.r[1]->st_rounds_done);

    /* a digest made since is answered, and its answer comes after any to the
     * earlier ones (they arrive first, and there is one link each way and one
     * reconciler each); if region 1 took longer than the delay to catch up,
     * the earlier ones found region 0 not in step and the test proves less */
    bool fresh = TIDAL_WAIT_UNTIL(atomic_load(&e.r[1]->st_rounds_done) > done, REPL_DEADLINE_MS);
    cr_assert(fresh, "region 1's periodic rounds did not complete once in step");
    cr_assert_eq(repl_stats(e.r[1]).reconcile_entries, 0,
                 "region 0 answered a digest made before the batches arrived");
    repl_close(&e);
}

Test(reconcile_periodic, a_round_on_demand_runs_whatever_is_in_flight)
{
    repl_env e;
    open_pair(&e, UINT32_MAX);
    cut_batches(&e, true);
    repl_hide_range(e.r[0], 4, 100, HIDES);
    TIDAL_PASS(tidal_region_reconcile(e.r[1])); /* the lagging side asks */
    bool ok = TIDAL_WAIT_UNTIL(repl_digests_equal(e.r, 2), REPL_DEADLINE_MS);
    cr_assert(ok, "the round on demand did not bring region 1 region 0's hides");
    cr_assert_eq(repl_stats(e.r[1]).applied_lsn[0], 0, "the round did it, not shipping");
    cr_assert_gt(repl_stats(e.r[1]).reconcile_entries, 0);
    repl_assert_hidden_range(e.r[1], 4, 100, HIDES, true);
    cut_batches(&e, false);
    repl_wait_converged(&e);
    repl_close(&e);
}
