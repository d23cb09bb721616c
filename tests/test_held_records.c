/*
 * The bound on the session records a region holds for another origin's log
 * (TIDAL_HELD_RECORDS_MAX, actors/held.c): at the bound an origin's next
 * batch is not taken - not applied, not acknowledged, so its shipper sends
 * it again - until the held records drain; nothing is lost, and the
 * regions converge with every signal once.
 *
 * The set-up: region 0 starts a session and is cut from region 2, the
 * session roams to region 1, which writes its HOME record and signals.
 * Region 2 has not seen the session's start (it is in region 0's log), so
 * it holds every record of region 1's for it, one batch each.  The bound is
 * made small on region 2 (a test's knob: the real one is 16384).
 */
#include "actors/internal.h"
#include "repl_helpers.h"
#include "tidal/log.h"

TIDAL_SUITE(held_records);

#define BOUND 4u
#define ITEM 300u

/* Has region 1 write `held` records of a session region 2 cannot apply yet
 * (its HOME record, then held - 1 signals), checks what region 2 took, then
 * heals the cut and checks that everything converges. */
static void
hold_then_heal(uint32_t held)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x4e1d + held);
    repl_open_ephemeral(&e, 3);
    tidal__held_max_set(e.r[2], BOUND);
    TIDAL_PASS(tidal_cluster_partition(e.c, 0, 2));
    tidal_session_id sid;
    TIDAL_PASS(tidal_start_session(e.r[0], 9, NULL, &sid));
    tidal_session_view v;
    cr_assert(TIDAL_WAIT_UNTIL(tidal_get_session(e.r[1], sid, &v) == 0, REPL_DEADLINE_MS));
    tidal_entity_id items[BOUND + 1];
    for (uint32_t i = 0; i + 1 < held; i++) {
        items[i] = ITEM + i;
        TIDAL_PASS(tidal_signal_in_session(e.r[1], sid, "click", items[i], 1.0, repl_now_ns()));
    }
    uint64_t last = repl_stats(e.r[1]).last_lsn;
    cr_assert_eq(last, held, "region 1 logged its HOME and %u signals", held - 1);

    if (held <= BOUND) {
        TIDAL_PASS(tidal_region_wait_applied(e.r[2], 1, last, REPL_DEADLINE_MS));
        tidal_region_stats st = repl_stats(e.r[2]);
        cr_assert_eq(st.session_records_held, held);
        cr_assert_eq(st.batches_paused, 0);
    } else {
        cr_assert(TIDAL_WAIT_UNTIL(repl_stats(e.r[2]).batches_paused >= 1, REPL_DEADLINE_MS),
                  "region 2 took a batch past the bound");
        tidal_region_stats st = repl_stats(e.r[2]);
        cr_assert_eq(st.session_records_held, BOUND);
        cr_assert_eq(st.applied_lsn[1], last - 1, "the batch past the bound was applied");
        cr_assert_geq(tidal_log_count(TIDAL_EVENT_APPLY_PAUSED), 1);
        /* and again when its shipper sends it again, still not taken */
        uint64_t paused = st.batches_paused;
        cr_assert(TIDAL_WAIT_UNTIL(repl_stats(e.r[2]).batches_paused > paused, REPL_DEADLINE_MS),
                  "region 1 did not send the batch again");
        cr_assert_eq(repl_stats(e.r[2]).applied_lsn[1], last - 1);
    }

    /* the start arrives: what was held drains, the waiting batch is taken */
    TIDAL_PASS(tidal_cluster_heal(e.c));
    TIDAL_PASS(tidal_region_wait_applied(e.r[2], 1, last, REPL_DEADLINE_MS));
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(e.r[2]).session_records_held == 0, REPL_DEADLINE_MS));
    repl_wait_converged(&e);
    for (int i = 0; i < 3; i++) {
        repl_assert_signals(e.r[i], sid, held - 1, items);
    }
    repl_close(&e);
}

Test(held_records, below_the_bound_every_batch_is_taken)
{
    hold_then_heal(BOUND - 1);
}

Test(held_records, at_the_bound_every_batch_is_taken)
{
    hold_then_heal(BOUND);
}

Test(held_records, past_the_bound_the_batch_waits_then_converges)
{
    hold_then_heal(BOUND + 1);
}
