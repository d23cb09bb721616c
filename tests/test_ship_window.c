/*
 * The send window (actors/ship.c, "Send window"): nothing that starts
 * more than TIDAL_SHIP_WINDOW_LSNS past a peer's ACK is sent to it - not by
 * a writer's round, not by the shipper actor's, not by a retransmit - and
 * the ACKs that move the window let the rest through.
 */
#include "actors/internal.h"
#include "repl_helpers.h"

TIDAL_SUITE(ship_window);

#define W TIDAL_SHIP_WINDOW_LSNS

/* Regions 0 and 1 on inproc. */
static void
open_pair(repl_env *e, uint64_t seed)
{
    repl_cluster(e, "inproc", seed);
    repl_open_ephemeral(e, 2);
}

/* Cuts (or restores) region 1's ACKs to region 0's shipper: while cut,
 * region 1's window stays at 1..W. */
static void
acks_cut(repl_env *e, bool cut)
{
    tidal_runtime *rt1 = tidal_region_runtime(e->r[1]);
    tidal_fault_rule part = {.partition = 1};
    if (cut) {
        TIDAL_PASS(tidal_fault_set(rt1, "region-1", "shipper-0", &part));
    } else {
        TIDAL_PASS(tidal_fault_clear(rt1, "region-1", "shipper-0"));
    }
}

Test(ship_window, a_peer_gets_no_more_than_its_window_past_its_ack)
{
    repl_env e;
    open_pair(&e, 0x3d0);
    acks_cut(&e, true);
    const uint32_t n = 3 * W;
    repl_hide_range(e.r[0], 8, 0, n); /* one batch, one LSN each */
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, W, REPL_DEADLINE_MS));
    /* a retransmit of the window (after TIDAL_SHIP_RTO_MS without progress)
     * shows the shipper ran since: it too stopped at the window's end */
    bool resent = TIDAL_WAIT_UNTIL(repl_stats(e.r[1]).batches_duplicate >= 1, REPL_DEADLINE_MS);
    cr_assert(resent, "region 0 never retransmitted the unacknowledged window");
    tidal_region_stats b = repl_stats(e.r[1]);
    cr_assert_eq(b.applied_lsn[0], W, "region 1 applied %llu batches of %u, window %u",
                 (unsigned long long)b.applied_lsn[0], n, W);
    cr_assert_eq(b.batches_held, 0, "nothing past the window arrived, not even out of order");
    cr_assert_eq(repl_stats(e.r[0]).writes, n, "the writers were never held: the log has room");

    /* the ACKs come through: the window moves on until everything is shipped */
    acks_cut(&e, false);
    repl_wait_converged(&e);
    cr_assert_eq(repl_stats(e.r[1]).applied_lsn[0], n);
    cr_assert(repl_hidden(e.r[1], 8, n - 1));
    repl_close(&e);
}

/* Writers past a window send nothing more to that peer; once the ACKs move
 * it, the shipper sends the rest, and new writes go at once again. */
Test(ship_window, the_rest_goes_once_the_window_moves)
{
    repl_env e;
    open_pair(&e, 0x3d1);
    acks_cut(&e, true);
    repl_hide_range(e.r[0], 9, 0, W + 100);
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, W, REPL_DEADLINE_MS));
    cr_assert_eq(tidal__ship_sent_upto(e.r[0], 1), W, "the rest was not sent");
    acks_cut(&e, false);
    repl_wait_converged(&e);
    cr_assert_eq(tidal__ship_sent_upto(e.r[0], 1), W + 100, "the shipper sent the rest");
    TIDAL_PASS(tidal_hide_item(e.r[0], 9, W + 100));
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, W + 101, REPL_DEADLINE_MS));
    repl_wait_converged(&e);
    repl_close(&e);
}

/* Region 2 is cut off while region 0 writes two windows' worth.  Each peer
 * has its own window, so region 2 holds region 1 back in nothing: region 1
 * gets every write, new ones included, while region 2 is away.  Once back,
 * region 2 catches up. */
Test(ship_window, a_cut_off_peer_does_not_hold_back_the_others)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x3d2);
    repl_open_ephemeral(&e, 3);
    TIDAL_PASS(tidal_cluster_partition(e.c, 0, 2));
    const uint32_t n = 2 * W;
    repl_hide_range(e.r[0], 8, 0, n);
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, n, REPL_DEADLINE_MS));
    cr_assert_leq(tidal__ship_sent_upto(e.r[0], 2), W, "region 2 was sent past its window");
    TIDAL_PASS(tidal_hide_item(e.r[0], 8, n));
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, n + 1, REPL_DEADLINE_MS));

    TIDAL_PASS(tidal_cluster_fault_clear(e.c, 0, 2, 1));
    repl_wait_converged(&e);
    TIDAL_PASS(tidal_hide_item(e.r[0], 8, n + 1));
    TIDAL_PASS(tidal_region_wait_applied(e.r[2], 0, n + 2, REPL_DEADLINE_MS));
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, n + 2, REPL_DEADLINE_MS));
    repl_assert_hidden_range(e.r[2], 8, 0, n + 2, true);
    repl_close(&e);
}
