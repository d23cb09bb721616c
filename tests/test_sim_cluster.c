/*
 * Regions in a simulation (tidal_cluster_opts.sim): a cluster of three
 * ephemeral regions whose runtimes, shippers, session actors and
 * reconcilers all run on the test's one thread under simulated time.
 *
 * The scenario: each region starts sessions and writes signals, hides and
 * unhides from seeded choices, through drop, duplication and reordering on
 * every link and a partition of regions 0 and 1 that heals halfway.  Then
 * the regions must converge (equal digests, every write applied
 * everywhere).  The same seed must give the same run: the same fault
 * traces, digests, session ids and end time; another seed another run.
 */
#include <stdlib.h>

#include "repl_helpers.h"
#include "tidal/fault.h"
#include "tidal/sim.h"

TIDAL_SUITE(sim_cluster);

#define REGIONS 3
#define ROUNDS 6
#define SIGNALS 12
#define SEC 1000000000ull

typedef struct outcome {
    uint64_t digest[REGIONS];
    uint64_t end_ns;
    uint64_t traced[REGIONS];
    uint64_t trace_hash[REGIONS];
    uint64_t session_hash;
    uint64_t refused;
    tidal_sim_stats st;
} outcome;

static bool
converged(void *arg)
{
    return repl_converged_now(arg);
}

static uint64_t
hash_trace(tidal_runtime *rt, uint64_t *n)
{
    *n = tidal_trace_total(rt);
    tidal_trace_entry *t = calloc(*n + 1, sizeof(*t));
    cr_assert_not_null(t);
    size_t got = tidal_trace_read(rt, 0, t, *n);
    uint64_t h = 1469598103934665603ull;
    const unsigned char *p = (const unsigned char *)t;
    for (size_t i = 0; i < got * sizeof(*t); i++) {
        h = (h ^ p[i]) * 1099511628211ull;
    }
    free(t);
    return h;
}

/* One write from the seed's choice; counts a refusal instead of failing. */
static void
one_write(repl_env *e, int i, tidal_session_id s, uint64_t *x, uint64_t *refused)
{
    tidal_region *r = e->r[i];
    uint64_t c = tidal_test_rand(x);
    tidal_entity_id item = 1 + c % 40;
    int rv;
    switch (c >> 60) {
    case 0:
        rv = tidal_hide_item(r, 7, item);
        break;
    case 1:
        rv = tidal_unhide_item(r, 7, item);
        break;
    default:
        rv = tidal_signal_in_session(r, s, c % 3 ? "view" : "like", item, 1.0,
                                     tidal_wall_ns(tidal_region_runtime(r)));
        break;
    }
    *refused += rv != 0;
}

static void
run(uint64_t seed, outcome *out)
{
    memset(out, 0, sizeof(*out));
    tidal_sim *s;
    tidal_sim_opts so = {.seed = seed, .latency_min_us = 200, .latency_max_us = 5000};
    TIDAL_PASS(tidal_sim_open(&so, &s));
    repl_env e = {0};
    tidal_cluster_opts co = {.seed = seed, .sim = s};
    TIDAL_PASS(tidal_cluster_open(&co, &e.c));
    for (int i = 0; i < REGIONS; i++) {
        tidal_region_opts o = {.region_id = (tidal_region_id)i, .reconcile_ms = 300};
        TIDAL_PASS(tidal_region_open(e.c, &o, &e.r[i]));
        e.n = i + 1;
    }
    tidal_fault_rule rule = {.drop = 0.05, .duplicate = 0.1, .reorder_window = 4};
    for (int a = 0; a < REGIONS; a++) {
        for (int b = a + 1; b < REGIONS; b++) {
            TIDAL_PASS(tidal_cluster_fault_set(e.c, (tidal_region_id)a, (tidal_region_id)b,
                                               &rule, 1));
        }
    }
    TIDAL_PASS(tidal_cluster_partition(e.c, 0, 1));
    uint64_t x = seed * 2654435761u + 1;
    for (int round = 0; round < ROUNDS; round++) {
        if (round == ROUNDS / 2) {
            TIDAL_PASS(tidal_cluster_heal(e.c));
        }
        for (int i = 0; i < REGIONS; i++) {
            tidal_session_id sid;
            TIDAL_PASS(tidal_start_session(e.r[i], 100 + (tidal_entity_id)i, NULL, &sid));
            out->session_hash = out->session_hash * 31 + sid.hi * 7 + sid.lo;
            for (int k = 0; k < SIGNALS; k++) {
                one_write(&e, i, sid, &x, &out->refused);
            }
        }
        tidal_sim_run_for(s, 50 * 1000000ull); /* 50 simulated ms between rounds */
    }
    TIDAL_PASS(tidal_sim_run_until(s, converged, &e, tidal_sim_now_ns(s) + 120 * SEC));
    for (int i = 0; i < REGIONS; i++) {
        out->digest[i] = tidal_region_digest(e.r[i]);
        out->trace_hash[i] = hash_trace(tidal_region_runtime(e.r[i]), &out->traced[i]);
    }
    out->end_ns = tidal_sim_now_ns(s);
    tidal_sim_stats_get(s, &out->st);
    repl_close(&e);
    TIDAL_PASS(tidal_sim_close(s));
}

Test(sim_cluster, same_seed_same_run)
{
    outcome a, b, c;
    run(11, &a);
    cr_assert_eq(a.refused, 0, "%llu writes refused", (unsigned long long)a.refused);
    cr_assert_eq(a.digest[0], a.digest[1]);
    cr_assert_eq(a.digest[0], a.digest[2]);
    cr_assert_gt(a.traced[0] + a.traced[1] + a.traced[2], 0, "no fault injected");
    run(11, &b);
    cr_assert_eq(memcmp(a.digest, b.digest, sizeof(a.digest)), 0, "same seed, other state");
    cr_assert_eq(a.session_hash, b.session_hash, "same seed, other session ids");
    cr_assert_eq(memcmp(a.traced, b.traced, sizeof(a.traced)), 0);
    cr_assert_eq(memcmp(a.trace_hash, b.trace_hash, sizeof(a.trace_hash)), 0,
                 "same seed, other fault trace");
    cr_assert_eq(a.end_ns, b.end_ns);
    cr_assert_eq(memcmp(&a.st, &b.st, sizeof(a.st)), 0);
    run(12, &c);
    cr_assert(memcmp(a.trace_hash, c.trace_hash, sizeof(a.trace_hash)) != 0,
              "another seed, the same fault trace");
}

/* A write's wait and tidal_region_wait_applied run the simulation, and no
 * thread is started for it. */
Test(sim_cluster, blocking_calls_run_the_simulation)
{
    int threads = tidal_test_threads();
    tidal_sim *s;
    TIDAL_PASS(tidal_sim_open(NULL, &s));
    repl_env e = {0};
    tidal_cluster_opts co = {.sim = s};
    TIDAL_PASS(tidal_cluster_open(&co, &e.c));
    for (int i = 0; i < 2; i++) {
        tidal_region_opts o = {.region_id = (tidal_region_id)i};
        TIDAL_PASS(tidal_region_open(e.c, &o, &e.r[i]));
        e.n = i + 1;
    }
    TIDAL_PASS(tidal_hide_item(e.r[0], 1, 2));
    cr_assert(!repl_hidden(e.r[1], 1, 2), "arrived before the simulation ran");
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, repl_stats(e.r[0]).writes, 1000));
    cr_assert(repl_hidden(e.r[1], 1, 2));
    /* nothing more to come: the wait ends at its simulated deadline */
    uint64_t t0 = tidal_sim_now_ns(s);
    TIDAL_FAIL(tidal_region_wait_applied(e.r[1], 0, 99, 2000), TIDAL_ETIMEDOUT);
    cr_assert_geq(tidal_sim_now_ns(s) - t0, 1999 * 1000000ull);
    cr_assert_eq(tidal_test_threads(), threads, "a simulation started threads");
    repl_close(&e);
    TIDAL_PASS(tidal_sim_close(s));
}

Test(sim_cluster, only_what_is_simulated_is_taken)
{
    tidal_sim *s;
    TIDAL_PASS(tidal_sim_open(NULL, &s));
    tidal_cluster *c;
    tidal_cluster_opts bad = {.url = "inproc://x", .sim = s};
    TIDAL_FAIL(tidal_cluster_open(&bad, &c), TIDAL_EADDR);
    tidal_cluster_opts real = {.url = "sim://x"};
    TIDAL_FAIL(tidal_cluster_open(&real, &c), TIDAL_EADDR);
    tidal_cluster_opts co = {.url = "sim://x", .sim = s};
    TIDAL_PASS(tidal_cluster_open(&co, &c));
    /* a region with a directory is taken under every policy: its WAL's
     * sync work is simulated too (test_sim_wal.c) */
    const char *dir = tidal_test_tmpdir();
    tidal_region_opts o = {.region_id = 0, .dir = dir, .durability = TIDAL_SYNC};
    tidal_region *r;
    TIDAL_PASS(tidal_region_open(c, &o, &r));
    TIDAL_PASS(tidal_cluster_close(c));
    tidal_test_rmdir(dir);
    TIDAL_PASS(tidal_sim_close(s));
}
