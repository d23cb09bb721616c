/*
 * Regions with a directory in a simulation: their WALs' sync work (SYNC's
 * group commit, INTERVAL's timed sync, the shipping after each sync) runs
 * as events of the simulation, on the test's one thread and its clock
 * (store/wal.h, tidal_wal_driver; actors/logs.c), and no thread is started.
 *
 * The scenario: three regions with directories - two under SYNC, one under
 * INTERVAL - write from seeded choices through drop, duplication and
 * reordering on every link; halfway, one region is closed as by a crash
 * and reopened from its directory.  Every write under SYNC is durable when
 * its call returns; the reopened region has everything it acknowledged;
 * the regions converge; the same seed gives the same digests, end time and
 * counters.
 */
#include <stdlib.h>

#include "repl_helpers.h"
#include "tidal/fault.h"
#include "tidal/sim.h"

TIDAL_SUITE(sim_wal);

#define REGIONS 3
#define ROUNDS 6
#define WRITES 10
#define INTERVAL_MS 40u
#define MS 1000000ull
#define SEC 1000000000ull

typedef struct outcome {
    uint64_t digest[REGIONS];
    uint64_t end_ns;
    uint64_t writes; /* LSNs of all regions */
    tidal_sim_stats st;
} outcome;

static tidal_durability_policy
policy_of(int id)
{
    return id == 1 ? TIDAL_INTERVAL : TIDAL_SYNC;
}

static void
open_region(repl_env *e, int id)
{
    tidal_region_opts o = {.region_id = (tidal_region_id)id,
                           .dir = repl_dir_of(e, id),
                           .durability = policy_of(id),
                           .interval_ms = INTERVAL_MS,
                           .segment_bytes = 4096, /* roll-overs: their syncs too */
                           .reconcile_ms = 300};
    repl_open_opts(e, &o);
}

/* One write from the seed's choice.  Under SYNC, once the call returns,
 * the write is durable: acknowledged only then. */
static void
one_write(repl_env *e, int i, tidal_session_id s, uint64_t *x)
{
    tidal_region *r = e->r[i];
    uint64_t c = tidal_test_rand(x);
    tidal_entity_id item = 1 + c % 40;
    if (c >> 62 == 0) {
        TIDAL_PASS(tidal_hide_item(r, 7, item));
    } else {
        TIDAL_PASS(tidal_signal_in_session(r, s, c % 3 ? "view" : "like", item, 1.0,
                                           tidal_wall_ns(tidal_region_runtime(r))));
    }
    tidal_region_stats st = repl_stats(r);
    cr_assert_gt(st.last_lsn, 0);
    cr_assert_geq(st.durable_lsn, st.last_lsn, "region %d acknowledged LSN %llu, durable %llu", i,
                  (unsigned long long)st.last_lsn, (unsigned long long)st.durable_lsn);
}

/* Closes region id as a crash does and opens it again from its directory:
 * it has every write it acknowledged. */
static void
crash_and_reopen(repl_env *e, int id)
{
    tidal_region_stats before = repl_stats(e->r[id]);
    TIDAL_PASS(tidal_region_crash(e->r[id]));
    e->r[id] = NULL;
    open_region(e, id);
    tidal_region_stats after = repl_stats(e->r[id]);
    cr_assert_eq(after.last_lsn, before.last_lsn, "region %d lost writes it acknowledged", id);
    cr_assert_eq(after.durable_lsn, before.last_lsn);
}

static void
run(uint64_t seed, outcome *out)
{
    memset(out, 0, sizeof(*out));
    int threads = tidal_test_threads();
    tidal_sim *s;
    tidal_sim_opts so = {.seed = seed, .latency_min_us = 200, .latency_max_us = 5000};
    TIDAL_PASS(tidal_sim_open(&so, &s));
    repl_env e = {0};
    tidal_cluster_opts co = {.seed = seed, .sim = s};
    TIDAL_PASS(tidal_cluster_open(&co, &e.c));
    for (int i = 0; i < REGIONS; i++) {
        open_region(&e, i);
    }
    tidal_fault_rule rule = {.drop = 0.05, .duplicate = 0.1, .reorder_window = 4};
    for (int a = 0; a < REGIONS; a++) {
        for (int b = a + 1; b < REGIONS; b++) {
            TIDAL_PASS(
                tidal_cluster_fault_set(e.c, (tidal_region_id)a, (tidal_region_id)b, &rule, 1));
        }
    }
    uint64_t x = seed * 2654435761u + 1;
    for (int round = 0; round < ROUNDS; round++) {
        if (round == ROUNDS / 2) {
            crash_and_reopen(&e, 2);
        }
        for (int i = 0; i < REGIONS; i++) {
            tidal_session_id sid;
            TIDAL_PASS(tidal_start_session(e.r[i], 100 + (tidal_entity_id)i, NULL, &sid));
            for (int k = 0; k < WRITES; k++) {
                one_write(&e, i, sid, &x);
            }
        }
        cr_assert_eq(tidal_test_threads(), threads, "a simulation started threads");
        tidal_sim_run_for(s, 50 * MS);
    }
    bool ok = tidal_sim_run_until(s, repl_converged_lsn, &e, tidal_sim_now_ns(s) + 120 * SEC) == 0;
    if (!ok) {
        repl_dump(&e);
    }
    cr_assert(ok, "regions with directories did not converge in the simulation");
    for (int i = 0; i < REGIONS; i++) {
        out->digest[i] = tidal_region_digest(e.r[i]);
        out->writes += repl_stats(e.r[i]).last_lsn;
    }
    out->end_ns = tidal_sim_now_ns(s);
    tidal_sim_stats_get(s, &out->st);
    cr_assert_eq(tidal_test_threads(), threads, "a simulation started threads");
    repl_close(&e);
    TIDAL_PASS(tidal_sim_close(s));
}

Test(sim_wal, sync_and_interval_regions_converge_the_same_way_twice)
{
    outcome a, b;
    run(21, &a);
    cr_assert_eq(a.digest[0], a.digest[1]);
    cr_assert_eq(a.digest[0], a.digest[2]);
    run(21, &b);
    cr_assert_eq(memcmp(a.digest, b.digest, sizeof(a.digest)), 0, "same seed, other state");
    cr_assert_eq(a.writes, b.writes);
    cr_assert_eq(a.end_ns, b.end_ns, "same seed, other end time");
    cr_assert_eq(memcmp(&a.st, &b.st, sizeof(a.st)), 0, "same seed, other events");
}

/* Under INTERVAL a write waits for the next sync on the simulated clock:
 * interval_ms after the first batch not yet synced.  Under SYNC it waits
 * for a sync that starts at once.  Either returns only once durable. */
Test(sim_wal, a_write_returns_once_its_sync_ran_in_simulated_time)
{
    int threads = tidal_test_threads();
    tidal_sim *s;
    TIDAL_PASS(tidal_sim_open(NULL, &s));
    repl_env e = {0};
    tidal_cluster_opts co = {.sim = s};
    TIDAL_PASS(tidal_cluster_open(&co, &e.c));
    tidal_region_opts o = {.region_id = 0,
                           .dir = repl_dir_of(&e, 0),
                           .durability = TIDAL_INTERVAL,
                           .interval_ms = 250};
    repl_open_opts(&e, &o);
    o = (tidal_region_opts){.region_id = 1, .dir = repl_dir_of(&e, 1), .durability = TIDAL_SYNC};
    repl_open_opts(&e, &o);

    uint64_t t0 = tidal_sim_now_ns(s);
    TIDAL_PASS(tidal_hide_item(e.r[0], 1, 2));
    uint64_t t1 = tidal_sim_now_ns(s);
    cr_assert_geq(t1 - t0, 250 * MS, "INTERVAL acknowledged before its sync");
    tidal_region_stats st = repl_stats(e.r[0]);
    cr_assert_geq(st.durable_lsn, st.last_lsn);

    TIDAL_PASS(tidal_hide_item(e.r[1], 1, 3));
    uint64_t t2 = tidal_sim_now_ns(s);
    cr_assert_lt(t2 - t1, 250 * MS, "SYNC waited for a period");
    st = repl_stats(e.r[1]);
    cr_assert_eq(st.last_lsn, 1);
    cr_assert_eq(st.durable_lsn, 1);
    cr_assert(repl_hidden(e.r[1], 1, 3), "a durable write is not seen");

    /* shipped after each sync: each region applies the other's write */
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, 1, 5000));
    TIDAL_PASS(tidal_region_wait_applied(e.r[0], 1, 1, 5000));
    cr_assert(repl_hidden(e.r[0], 1, 3));
    cr_assert(repl_hidden(e.r[1], 1, 2));
    cr_assert_eq(tidal_test_threads(), threads, "a simulation started threads");
    repl_close(&e);
    TIDAL_PASS(tidal_sim_close(s));
}
