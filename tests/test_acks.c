/*
 * Delayed ACKs (actors/apply.c): a follower acknowledges the batches it
 * applies on its tick, not one by one, so many batches share one ACK; what
 * is owed is always acknowledged in the end; a duplicate is answered at
 * once, since its origin is resending; of the batches behind a gap, only the
 * one that opened it is.
 *
 * The bound on ACKs is exact, not a timing threshold: besides the ACKs that
 * answer duplicates and held batches, a follower sends at most one per
 * TIDAL_ACK_EVERY_BATCHES batches applied, one per tick (the region actor
 * re-arms its tick TIDAL_ACK_DELAY_MS after handling it, so no two ticks
 * fire closer than that), and its first tick's.
 */
#include "actors/internal.h"
#include "repl_helpers.h"

TIDAL_SUITE(acks);

#define ACK_WRITES (3 * TIDAL_ACK_EVERY_BATCHES + 10)

/* Opens regions 0 and 1 and waits until 1 has sent its first tick's ACK. */
static void
open_pair(repl_env *e, uint64_t seed, tidal_fault_rule *keep)
{
    repl_cluster(e, "inproc", seed);
    repl_open_ephemeral(e, 2);
    if (keep != NULL) {
        TIDAL_PASS(tidal_cluster_fault_set(e->c, 0, 1, keep, 0));
    }
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(e->r[1]).acks_sent >= 1, REPL_DEADLINE_MS),
              "the first tick acknowledges every peer");
}

Test(acks, many_batches_share_one_ack)
{
    repl_env e;
    open_pair(&e, 31, NULL);
    tidal_region *a = e.r[0], *b = e.r[1];
    tidal_region_stats b0 = repl_stats(b);
    uint64_t t0 = tidal_test_now_ms();
    for (uint32_t i = 0; i < ACK_WRITES; i++) {
        TIDAL_PASS(tidal_hide_item(a, 5, (tidal_entity_id)i)); /* one batch each */
    }
    TIDAL_PASS(tidal_region_wait_applied(b, 0, ACK_WRITES, REPL_DEADLINE_MS));
    /* the last 10 are below the count that acknowledges at once: the tick
     * does.  A resend would be answered too, so A -> B is cut first. */
    tidal_fault_rule cut = {.partition = 1};
    TIDAL_PASS(tidal_cluster_fault_set(e.c, 0, 1, &cut, 0));
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(a).acked_lsn[1] == ACK_WRITES, REPL_DEADLINE_MS),
              "B acknowledged every batch it applied");
    uint64_t elapsed = tidal_test_now_ms() - t0;

    tidal_region_stats b1 = repl_stats(b);
    uint64_t acks = b1.acks_sent - b0.acks_sent;
    uint64_t answered = (b1.batches_duplicate - b0.batches_duplicate) +
                        (b1.batches_held - b0.batches_held);
    uint64_t bound = ACK_WRITES / TIDAL_ACK_EVERY_BATCHES + elapsed / TIDAL_ACK_DELAY_MS + 1 +
                     answered;
    cr_assert_eq(b1.batches_applied - b0.batches_applied, ACK_WRITES);
    cr_assert_leq(acks, bound, "%llu ACKs for %u batches in %llu ms (at most %llu)",
                  (unsigned long long)acks, ACK_WRITES, (unsigned long long)elapsed,
                  (unsigned long long)bound);
    cr_assert_geq(acks, 1);
    TIDAL_PASS(tidal_cluster_fault_clear(e.c, 0, 1, 0));
    repl_close(&e);
}

Test(acks, a_duplicate_is_answered_at_once)
{
    repl_env e;
    tidal_fault_rule keep = {.replay_keep = 4}; /* remember, inject nothing */
    open_pair(&e, 32, &keep);
    tidal_region *a = e.r[0], *b = e.r[1];
    for (int i = 0; i < 4; i++) {
        TIDAL_PASS(tidal_hide_item(a, 6, (tidal_entity_id)i));
    }
    TIDAL_PASS(tidal_region_wait_applied(b, 0, 4, REPL_DEADLINE_MS));
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(a).acked_lsn[1] == 4, REPL_DEADLINE_MS));
    /* nothing is owed now: no tick sends another ACK, only an answer would */
    tidal_region_stats before = repl_stats(b);
    uint32_t sent = 0;
    TIDAL_PASS(tidal_fault_replay(tidal_region_runtime(a), "shipper-0", "region-1", 1, &sent));
    cr_assert_eq(sent, 1u);
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(b).batches_duplicate == before.batches_duplicate + 1,
                               REPL_DEADLINE_MS));
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(b).acks_sent == before.acks_sent + 1, REPL_DEADLINE_MS),
              "the duplicate was answered with an ACK");
    cr_assert_eq(repl_stats(a).acked_lsn[1], 4u);
    repl_close(&e);
}

/* The shipper's retransmit timeout counts from when it first has something
 * unacknowledged, not from the epoch: writes made as soon as the regions
 * are open, before any ACK could come, are not all resent at the shipper's
 * first tick.  The check is a sound bound, not a timing threshold: without
 * faults a batch is resent only after TIDAL_SHIP_RTO_MS without progress,
 * so if everything was acknowledged sooner than that after the first write,
 * nothing may have been resent. */
Test(acks, no_resend_before_a_timeout)
{
    repl_env e;
    repl_cluster(&e, "inproc", 37);
    repl_open_ephemeral(&e, 2);
    tidal_region *a = e.r[0], *b = e.r[1];
    uint64_t t0 = tidal_test_now_ms();
    for (uint32_t i = 0; i < 50; i++) {
        TIDAL_PASS(tidal_hide_item(a, 6, (tidal_entity_id)i));
    }
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(a).acked_lsn[1] == 50, REPL_DEADLINE_MS),
              "B acknowledged every batch");
    uint64_t elapsed = tidal_test_now_ms() - t0;
    uint64_t resent = repl_stats(a).batches_shipped - 50;
    if (elapsed < TIDAL_SHIP_RTO_MS) {
        cr_assert_eq(resent, 0, "%llu batches resent %llu ms after the first write",
                     (unsigned long long)resent, (unsigned long long)elapsed);
        cr_assert_eq(repl_stats(b).batches_duplicate, 0);
    } else {
        cr_log_info("acknowledged after %llu ms: too slow to tell a resend's cause",
                    (unsigned long long)elapsed);
    }
    repl_close(&e);
}

/* The first batch is lost, so the next GAP_WRITES wait behind it: the one
 * that opens the gap is answered, the rest are not, until the retransmit
 * fills the gap (its copies of the held batches are duplicates, answered). */
#define GAP_WRITES 100u
Test(acks, batches_behind_a_gap_share_one_answer)
{
    repl_env e;
    open_pair(&e, 38, NULL);
    tidal_region *a = e.r[0], *b = e.r[1];
    tidal_fault_rule cut = {.partition = 1};
    TIDAL_PASS(tidal_cluster_fault_set(e.c, 0, 1, &cut, 0));
    TIDAL_PASS(tidal_hide_item(a, 7, 0)); /* LSN 1, lost */
    TIDAL_PASS(tidal_cluster_fault_clear(e.c, 0, 1, 0));
    tidal_region_stats b0 = repl_stats(b);
    uint64_t t0 = tidal_test_now_ms();
    for (uint32_t i = 1; i <= GAP_WRITES; i++) {
        TIDAL_PASS(tidal_hide_item(a, 7, (tidal_entity_id)i)); /* in order, behind LSN 1 */
    }
    TIDAL_PASS(tidal_region_wait_applied(b, 0, GAP_WRITES + 1, REPL_DEADLINE_MS));
    /* no further resend may be answered while the ACKs settle */
    TIDAL_PASS(tidal_cluster_fault_set(e.c, 0, 1, &cut, 0));
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(a).acked_lsn[1] == GAP_WRITES + 1, REPL_DEADLINE_MS),
              "B acknowledged every batch it applied");
    uint64_t elapsed = tidal_test_now_ms() - t0;

    tidal_region_stats b1 = repl_stats(b);
    uint64_t held = b1.batches_held - b0.batches_held;
    uint64_t dups = b1.batches_duplicate - b0.batches_duplicate;
    uint64_t acks = b1.acks_sent - b0.acks_sent;
    cr_assert_geq(held, 2, "batches waited behind the gap");
    /* one gap: its opening answered once, the duplicates each, the rest as
     * in many_batches_share_one_ack */
    uint64_t bound = (GAP_WRITES + 1) / TIDAL_ACK_EVERY_BATCHES + elapsed / TIDAL_ACK_DELAY_MS +
                     1 + dups + 1;
    cr_assert_leq(acks, bound, "%llu ACKs, %llu held, %llu duplicates in %llu ms (at most %llu)",
                  (unsigned long long)acks, (unsigned long long)held, (unsigned long long)dups,
                  (unsigned long long)elapsed, (unsigned long long)bound);
    TIDAL_PASS(tidal_cluster_fault_clear(e.c, 0, 1, 0));
    repl_close(&e);
}
