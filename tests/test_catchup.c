/*
 * A region that an ephemeral origin let go catches up through
 * reconciliation, whatever the size of a session (actors/entries.c,
 * store/session_parts.c; docs/design.md, "The reconciler").
 *
 * A session holds up to TIDAL_SESSION_SIGNALS_MAX signals, 32 bytes each,
 * and one reconciliation entry at most TIDAL_REPL_ENTRY_BYTES_MAX: some
 * 2,000 signals.  A bigger session used to be left out of every answer as
 * "too big to travel", for the batches to bring - but a released log has
 * no batches left to bring it.  So the follower never got the signals the
 * origin had released, the answer was never whole, no round completed, and
 * its watermark stayed below the gap for good (found by `tidal check --full
 * --scenario down-released` and `down-big-sessions`).  A session now
 * travels in parts, each an entry of its own, merged as any entry.
 *
 * Everything runs in a simulation: the same run every time.
 */
#include <stdio.h>

#include "repl_helpers.h"
#include "tidal/sim.h"

TIDAL_SUITE(catchup);

#define SEC 1000000000ull
/* Signals region 1 gets by shipping; then signals written while it is cut
 * off: 640 KB, ten entries' worth and more than one ENTRIES message. */
#define BEFORE 10u
#define BIG 20000u
#define BOUND 16384u /* memory_bytes of region 0: it lets region 1 go */

typedef struct env {
    repl_env e;
    tidal_sim *sim;
    tidal_session_id sid;
    tidal_region_opts o[2];
} env;

static bool
has_before(void *arg)
{
    env *v = arg;
    return repl_signals_len(v->e.r[1], v->sid) == BEFORE;
}

/* Region 1 has published all of region 0's log and holds its state. */
static bool
caught_up(void *arg)
{
    env *v = arg;
    return repl_stats(v->e.r[1]).applied_lsn[0] == repl_stats(v->e.r[0]).last_lsn &&
           repl_digests_equal(v->e.r, 2);
}

static void
open_region(env *v, int i)
{
    TIDAL_PASS(tidal_region_open(v->e.c, &v->o[i], &v->e.r[i]));
}

/* Every signal of the session, in seqno order, is at region 1. */
static void
assert_all_signals(env *v)
{
    static tidal_signal_view got[BEFORE + BIG];
    size_t n = 0;
    TIDAL_PASS(tidal_session_signals(v->e.r[1], v->sid, got, BEFORE + BIG, &n));
    cr_assert_eq(n, BEFORE + BIG, "region 1 holds %zu of the session's %u signals", n,
                 BEFORE + BIG);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(got[i].seqno, i + 1, "signal #%zu missing", i + 1);
    }
}

/* Region 0 (ephemeral, a 16 KiB log, a 100 ms hold) writes one session of
 * 20,010 signals, 20,000 of them while region 1 (in its directory) is cut
 * off, so it lets region 1 go.  Back, region 1 must publish region 0's
 * whole log and hold the whole session; and, reopened alone from its
 * directory, still hold it (its reconciled log logged every part). */
Test(catchup, a_session_bigger_than_an_entry_reaches_a_region_that_was_let_go)
{
    env v = {0};
    tidal_sim_opts so = {.seed = 0xca7c};
    TIDAL_PASS(tidal_sim_open(&so, &v.sim));
    tidal_cluster_opts co = {.seed = 0xca7c, .sim = v.sim};
    TIDAL_PASS(tidal_cluster_open(&co, &v.e.c));
    v.o[0] = (tidal_region_opts){.region_id = 0, .memory_bytes = BOUND, .peer_hold_ms = 100,
                                 .write_timeout_ms = 60000, .reconcile_ms = UINT32_MAX};
    v.o[1] = (tidal_region_opts){.region_id = 1, .dir = repl_dir_of(&v.e, 1),
                                 .durability = TIDAL_NONE, .reconcile_ms = UINT32_MAX};
    for (int i = 0; i < 2; i++) {
        open_region(&v, i);
        v.e.n = i + 1;
    }
    tidal_region *r0 = v.e.r[0];
    TIDAL_PASS(tidal_start_session(r0, 7, NULL, &v.sid));
    for (uint32_t i = 0; i < BEFORE + BIG; i++) {
        if (i == BEFORE) {
            int rv = tidal_sim_run_until(v.sim, has_before, &v, tidal_sim_now_ns(v.sim) + 10 * SEC);
            cr_assert_eq(rv, 0, "region 1 never got the first signals");
            TIDAL_PASS(tidal_cluster_partition(v.e.c, 0, 1));
        }
        TIDAL_PASS(tidal_signal_in_session(r0, v.sid, i % 3 ? "view" : "like", 1 + i % 50, 1.0,
                                           tidal_sim_wall_ns(v.sim)));
    }
    cr_assert_geq(repl_stats(r0).peers_let_go, 1, "region 1 was never let go");
    TIDAL_PASS(tidal_cluster_fault_clear(v.e.c, 0, 1, 1));

    /* only region 1's own asks for a round after the log base run: no
     * periodic round, no heal */
    int rv = tidal_sim_run_until(v.sim, caught_up, &v, tidal_sim_now_ns(v.sim) + 120 * SEC);
    if (rv != 0) {
        repl_dump(&v.e);
    }
    cr_assert_eq(rv, 0, "region 1 never caught up with region 0 (120 simulated s)");
    assert_all_signals(&v);

    uint64_t digest = tidal_region_digest(r0);
    TIDAL_PASS(tidal_cluster_partition(v.e.c, 0, 1));
    TIDAL_PASS(tidal_region_close(v.e.r[1]));
    open_region(&v, 1);
    cr_assert_eq(tidal_region_digest(v.e.r[1]), digest, "reopened, region 1 lost state");
    assert_all_signals(&v);

    repl_close(&v.e);
    TIDAL_PASS(tidal_sim_close(v.sim));
}
