/*
 * Per-(user, key) counters (tidal_user_counter_add / _get, store/ucounters.h):
 * the table's bounds and entry codec, the API's arguments, limits and
 * overflow rules, and replication - regions that add concurrently converge
 * on the sum of the acknowledged deltas, a region its origin let go catches
 * up through reconciliation, and a region with a directory keeps its values
 * across a reopen.  Expected values are summed by the tests from what each
 * call acknowledged; the replication tests run in a simulation (the same
 * run every time).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "repl_helpers.h"
#include "store/ucounters.h"
#include "tidal/sim.h"

TIDAL_SUITE(user_counters);

#define SEC 1000000000ull

/* The key "k<i>" for i < 1000. */
static const char *
key_of(unsigned i, char buf[16])
{
    snprintf(buf, 16, "k%u", i);
    return buf;
}

/* Region r's next component of (user, key) by the origin's rule, then
 * raised as a logged record would be. */
static int
origin_add(tidal_ucounters *t, tidal_entity_id user, const char *key, tidal_region_id r,
           int64_t delta)
{
    uint64_t p, n;
    int rv = tidal_ucounters_prepare(t, user, key, r, delta, NULL, &p, &n);
    return rv != 0 ? rv : tidal_ucounters_raise(t, user, key, r, p, n);
}

/* An origin has components in at most TIDAL_USER_COUNTER_KEYS_ORIGIN_MAX of
 * a user's keys: -1 and exactly pass, +1 is refused; a key it has, another
 * origin's key and another user are not held back by it. */
Test(user_counters, origin_keys_per_user_at_the_bound)
{
    tidal_ucounters *t;
    char k[16];
    TIDAL_PASS(tidal_ucounters_open(&t));
    for (unsigned i = 0; i + 1 < TIDAL_USER_COUNTER_KEYS_ORIGIN_MAX; i++) {
        TIDAL_PASS(origin_add(t, 7, key_of(i, k), 0, 1));
    }
    TIDAL_PASS(origin_add(t, 7, key_of(TIDAL_USER_COUNTER_KEYS_ORIGIN_MAX - 1, k), 0, 1));
    TIDAL_FAIL(origin_add(t, 7, key_of(TIDAL_USER_COUNTER_KEYS_ORIGIN_MAX, k), 0, 1), TIDAL_ELIMIT);
    cr_assert_eq(tidal_ucounters_user_keys(t, 7), TIDAL_USER_COUNTER_KEYS_ORIGIN_MAX);
    TIDAL_PASS(origin_add(t, 7, key_of(3, k), 0, -5));  /* a key region 0 has */
    TIDAL_PASS(origin_add(t, 7, key_of(900, k), 1, 1)); /* region 1's own bound */
    TIDAL_PASS(origin_add(t, 8, key_of(900, k), 0, 1)); /* another user */
    cr_assert_eq(tidal_ucounters_value(t, 7, "k3"), -4);
    cr_assert_eq(tidal_ucounters_value(t, 7, "nope"), 0);
    tidal_ucounters_close(t);
}

/* The table's own bound: a record of a new pair past
 * TIDAL_USER_COUNTER_KEYS_MAX keys of a user is refused by raise (no origin
 * ever logs one), the one that reaches it is not. */
Test(user_counters, table_keys_per_user_at_the_bound)
{
    tidal_ucounters *t;
    char k[16];
    TIDAL_PASS(tidal_ucounters_open(&t));
    for (unsigned i = 0; i + 1 < TIDAL_USER_COUNTER_KEYS_MAX; i++) {
        TIDAL_PASS(tidal_ucounters_raise(t, 5, key_of(i, k), (tidal_region_id)(i % 16), 1, 0));
    }
    TIDAL_PASS(tidal_ucounters_raise(t, 5, key_of(TIDAL_USER_COUNTER_KEYS_MAX - 1, k), 3, 1, 0));
    TIDAL_FAIL(tidal_ucounters_raise(t, 5, key_of(TIDAL_USER_COUNTER_KEYS_MAX, k), 3, 1, 0),
               TIDAL_ELIMIT);
    TIDAL_PASS(tidal_ucounters_raise(t, 5, key_of(0, k), 9, 4, 0)); /* a pair it holds */
    cr_assert_eq(tidal_ucounters_user_keys(t, 5), TIDAL_USER_COUNTER_KEYS_MAX);
    cr_assert_eq(tidal_ucounters_value(t, 5, "k0"), 5);
    tidal_ucounters_close(t);
}

/* An origin's pairs in all: TIDAL_USER_COUNTERS_ORIGIN_MAX, as many users
 * each with as many keys as the origin may give one (fewer users: a
 * smaller table to build). */
Test(user_counters, origin_pairs_in_all_at_the_bound, .timeout = 120)
{
    const uint32_t per = TIDAL_USER_COUNTER_KEYS_ORIGIN_MAX;
    const uint32_t last = TIDAL_USER_COUNTERS_ORIGIN_MAX - 1;
    tidal_ucounters *t;
    char k[16];
    TIDAL_PASS(tidal_ucounters_open(&t));
    for (uint32_t i = 0; i < last; i++) {
        TIDAL_PASS(origin_add(t, i / per, key_of(i % per, k), 2, 1));
    }
    TIDAL_PASS(origin_add(t, last / per, key_of(last % per, k), 2, 1));
    /* a user with no key yet: only the bound in all holds it back */
    TIDAL_FAIL(origin_add(t, last / per + 1, "s", 2, 1), TIDAL_ELIMIT);
    TIDAL_PASS(origin_add(t, last / per + 1, "s", 3, 1)); /* another origin */
    TIDAL_PASS(origin_add(t, 0, "k0", 2, 1));             /* a pair it has */
    cr_assert_eq(tidal_ucounters_count(t), TIDAL_USER_COUNTERS_ORIGIN_MAX + 1);
    tidal_ucounters_close(t);
}

/* An entry round-trips, merges idempotently in any order, and a bad one is
 * refused with its code and nothing changed. */
Test(user_counters, entry_codec_and_merge)
{
    tidal_ucounters *a, *b;
    uint8_t buf[TIDAL_UCOUNTER_ENTRY_BYTES_MAX], bad[TIDAL_UCOUNTER_ENTRY_BYTES_MAX + 1];
    size_t len;
    bool changed;
    TIDAL_PASS(tidal_ucounters_open(&a));
    TIDAL_PASS(tidal_ucounters_open(&b));
    TIDAL_PASS(tidal_ucounters_raise(a, 1, "news", 0, 10, 3));
    TIDAL_PASS(tidal_ucounters_raise(a, 1, "news", 2, 0, 4));
    TIDAL_PASS(tidal_ucounters_raise(b, 1, "news", 0, 12, 1));
    TIDAL_PASS(tidal_ucounters_entry_encode(a, 1, "news", buf, sizeof(buf), &len));
    TIDAL_PASS(tidal_ucounters_entry_merge(b, buf, len, &changed));
    cr_assert(changed);
    /* per region max: P0 12, N0 3, N2 4 */
    cr_assert_eq(tidal_ucounters_value(b, 1, "news"), 12 - 3 - 4);
    TIDAL_PASS(tidal_ucounters_entry_merge(b, buf, len, &changed));
    cr_assert(!changed, "merged twice, moved twice");
    TIDAL_PASS(tidal_ucounters_entry_encode(b, 1, "news", buf, sizeof(buf), &len));
    TIDAL_PASS(tidal_ucounters_entry_merge(a, buf, len, &changed));
    cr_assert_eq(tidal_ucounters_digest(a), tidal_ucounters_digest(b));

    uint64_t before = tidal_ucounters_digest(b);
    memcpy(bad, buf, len);
    bad[0] = 2;
    TIDAL_FAIL(tidal_ucounters_entry_merge(b, bad, len, &changed), TIDAL_EVERSION);
    memcpy(bad, buf, len);
    bad[9] = 0; /* key length 0 */
    TIDAL_FAIL(tidal_ucounters_entry_merge(b, bad, len, &changed), TIDAL_ECORRUPT);
    bad[9] = TIDAL_USER_COUNTER_KEY_BYTES_MAX + 1;
    TIDAL_FAIL(tidal_ucounters_entry_merge(b, bad, len, &changed), TIDAL_ECORRUPT);
    memcpy(bad, buf, len);
    bad[len] = 0;
    TIDAL_FAIL(tidal_ucounters_entry_merge(b, bad, len + 1, &changed), TIDAL_ETRAILING);
    TIDAL_FAIL(tidal_ucounters_entry_merge(b, bad, len - 1, &changed), TIDAL_ETRUNCATED);
    memcpy(bad, buf, 14);
    bad[14] = 0; /* a counter of no region */
    TIDAL_FAIL(tidal_ucounters_entry_merge(b, bad, 15, &changed), TIDAL_ECORRUPT);
    cr_assert_eq(tidal_ucounters_digest(b), before, "a refused entry changed the table");
    tidal_ucounters_close(a);
    tidal_ucounters_close(b);
}

/* One region, no directory. */
static repl_env
one_region(void)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x0c0);
    repl_open_ephemeral(&e, 1);
    return e;
}

Test(user_counters, add_get_and_bad_arguments)
{
    repl_env e = one_region();
    tidal_region *r = e.r[0];
    int64_t v = -1;
    char k31[32], k32[33];
    memset(k31, 'a', 31);
    k31[31] = '\0';
    memset(k32, 'b', 32);
    k32[32] = '\0';

    TIDAL_PASS(tidal_user_counter_get(r, 1, "never", &v));
    cr_assert_eq(v, 0, "an unknown key reads 0");
    TIDAL_PASS(tidal_user_counter_add(r, 1, "src", 5));
    TIDAL_PASS(tidal_user_counter_add(r, 1, "src", -2));
    TIDAL_PASS(tidal_user_counter_add(r, 1, k31, 7));
    TIDAL_PASS(tidal_user_counter_get(r, 1, "src", &v));
    cr_assert_eq(v, 3);
    TIDAL_PASS(tidal_user_counter_get(r, 1, k31, &v));
    cr_assert_eq(v, 7);
    TIDAL_PASS(tidal_user_counter_get(r, 2, "src", &v));
    cr_assert_eq(v, 0, "another user's counter");

    uint64_t lsn = repl_stats(r).last_lsn;
    TIDAL_PASS(tidal_user_counter_add(r, 1, "zero", 0));
    TIDAL_FAIL(tidal_user_counter_add(NULL, 1, "src", 1), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_user_counter_add(r, 1, NULL, 1), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_user_counter_add(r, 1, "", 1), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_user_counter_add(r, 1, k32, 1), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_user_counter_get(r, 1, k32, &v), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_user_counter_get(r, 1, "src", NULL), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_user_counter_get(NULL, 1, "src", &v), TIDAL_EINVAL);
    cr_assert_eq(repl_stats(r).last_lsn, lsn, "a refused or empty write was logged");
    repl_close(&e);
}

/* The value must stay an int64_t as the origin sees it: exactly INT64_MAX
 * and INT64_MIN pass, one past is refused before the log. */
Test(user_counters, value_overflow_is_refused_before_the_log)
{
    repl_env e = one_region();
    tidal_region *r = e.r[0];
    int64_t v;
    TIDAL_PASS(tidal_user_counter_add(r, 1, "hi", INT64_MAX - 1));
    TIDAL_PASS(tidal_user_counter_add(r, 1, "hi", 1));
    uint64_t lsn = repl_stats(r).last_lsn;
    TIDAL_FAIL(tidal_user_counter_add(r, 1, "hi", 1), TIDAL_ETOOBIG);
    cr_assert_eq(repl_stats(r).last_lsn, lsn, "a refused write was logged");
    TIDAL_PASS(tidal_user_counter_get(r, 1, "hi", &v));
    cr_assert_eq(v, INT64_MAX);

    TIDAL_PASS(tidal_user_counter_add(r, 1, "lo", INT64_MIN + 1));
    TIDAL_PASS(tidal_user_counter_add(r, 1, "lo", -1));
    TIDAL_FAIL(tidal_user_counter_add(r, 1, "lo", -1), TIDAL_ETOOBIG);
    TIDAL_PASS(tidal_user_counter_get(r, 1, "lo", &v));
    cr_assert_eq(v, INT64_MIN);
    TIDAL_PASS(tidal_user_counter_add(r, 2, "x", INT64_MIN)); /* its magnitude fits N */
    TIDAL_PASS(tidal_user_counter_get(r, 2, "x", &v));
    cr_assert_eq(v, INT64_MIN);
    repl_close(&e);
}

/* The origin's component (the sum of its positive deltas) must stay a
 * uint64_t even when the value is small: UINT64_MAX exactly passes. */
Test(user_counters, component_overflow_is_refused)
{
    repl_env e = one_region();
    tidal_region *r = e.r[0];
    int64_t v;
    /* P and N both reach 2^64 - 2 with the value back at 0 */
    for (int i = 0; i < 2; i++) {
        TIDAL_PASS(tidal_user_counter_add(r, 1, "c", INT64_MAX));
        TIDAL_PASS(tidal_user_counter_add(r, 1, "c", -INT64_MAX));
    }
    TIDAL_FAIL(tidal_user_counter_add(r, 1, "c", 2), TIDAL_ETOOBIG);
    TIDAL_PASS(tidal_user_counter_add(r, 1, "c", 1)); /* P = UINT64_MAX */
    TIDAL_FAIL(tidal_user_counter_add(r, 1, "c", 1), TIDAL_ETOOBIG);
    TIDAL_FAIL(tidal_user_counter_add(r, 1, "c", -2), TIDAL_ETOOBIG);
    TIDAL_PASS(tidal_user_counter_add(r, 1, "c", -1));
    TIDAL_PASS(tidal_user_counter_get(r, 1, "c", &v));
    cr_assert_eq(v, 0);
    repl_close(&e);
}

/* The per-user bound through the API: a refused new key logs nothing. */
Test(user_counters, keys_per_user_bound_through_the_api)
{
    repl_env e = one_region();
    tidal_region *r = e.r[0];
    char k[16];
    int64_t v;
    for (unsigned i = 0; i < TIDAL_USER_COUNTER_KEYS_ORIGIN_MAX; i++) {
        TIDAL_PASS(tidal_user_counter_add(r, 3, key_of(i, k), 1));
    }
    uint64_t lsn = repl_stats(r).last_lsn;
    TIDAL_FAIL(tidal_user_counter_add(r, 3, key_of(TIDAL_USER_COUNTER_KEYS_ORIGIN_MAX, k), 1),
               TIDAL_ELIMIT);
    cr_assert_eq(repl_stats(r).last_lsn, lsn, "a refused write was logged");
    TIDAL_PASS(tidal_user_counter_get(r, 3, k, &v));
    cr_assert_eq(v, 0);
    TIDAL_PASS(tidal_user_counter_add(r, 3, "k0", 1));
    TIDAL_PASS(tidal_user_counter_add(r, 4, k, 1));
    repl_close(&e);
}

/* ---- replication, in a simulation ---------------------------------------- */

#define USERS 3
#define KEYS 4

typedef struct sim_env {
    repl_env e;
    tidal_sim *sim;
    int64_t want[USERS][KEYS]; /* the sum of acknowledged deltas */
} sim_env;

static void
sim_open(sim_env *v, uint64_t seed)
{
    memset(v, 0, sizeof(*v));
    tidal_sim_opts so = {.seed = seed};
    TIDAL_PASS(tidal_sim_open(&so, &v->sim));
    tidal_cluster_opts co = {.seed = seed, .sim = v->sim};
    TIDAL_PASS(tidal_cluster_open(&co, &v->e.c));
}

static void
sim_close(sim_env *v)
{
    repl_close(&v->e);
    TIDAL_PASS(tidal_sim_close(v->sim));
}

/* Region i adds a delta to a pair chosen from step, and counts it if
 * acknowledged. */
static void
sim_add(sim_env *v, int i, unsigned step)
{
    char k[16];
    unsigned u = step % USERS, kk = (step / USERS) % KEYS;
    int64_t d = (int64_t)(step % 7) - 2; /* negative, zero and positive */
    int rv = tidal_user_counter_add(v->e.r[i], 100 + u, key_of(kk, k), d);
    cr_assert_eq(rv, 0, "add at region %d: %s", i, tidal_errname(rv));
    v->want[u][kk] += d;
}

/* Every region reads every pair as the test summed it. */
static bool
values_are_sums(sim_env *v)
{
    char k[16];
    for (int i = 0; i < v->e.n; i++) {
        for (unsigned u = 0; u < USERS; u++) {
            for (unsigned kk = 0; kk < KEYS; kk++) {
                int64_t got;
                if (tidal_user_counter_get(v->e.r[i], 100 + u, key_of(kk, k), &got) != 0 ||
                    got != v->want[u][kk]) {
                    return false;
                }
            }
        }
    }
    return true;
}

static bool
converged(void *arg)
{
    sim_env *v = arg;
    return repl_converged_now(&v->e) && values_are_sums(v);
}

static void
assert_converges(sim_env *v, const char *what)
{
    int rv = tidal_sim_run_until(v->sim, converged, v, tidal_sim_now_ns(v->sim) + 60 * SEC);
    if (rv != 0) {
        repl_dump(&v->e);
    }
    cr_assert_eq(rv, 0, "%s: regions never agreed on the sums (60 simulated s)", what);
}

/* Two and three regions add to the same pairs in turn, without waiting for
 * each other: each ends with the sum of every acknowledged delta, and a
 * roaming user reads the same values in every region. */
static void
concurrent_adds(int n, uint64_t seed)
{
    sim_env v;
    sim_open(&v, seed);
    for (int i = 0; i < n; i++) {
        tidal_region_opts o = {.region_id = (tidal_region_id)i, .reconcile_ms = UINT32_MAX};
        TIDAL_PASS(tidal_region_open(v.e.c, &o, &v.e.r[i]));
        v.e.n = i + 1;
    }
    for (unsigned step = 0; step < 300; step++) {
        sim_add(&v, (int)(step % (unsigned)n), step);
    }
    assert_converges(&v, "concurrent adds");
    /* the user moves on and adds where it is now: all regions see it */
    TIDAL_PASS(tidal_user_counter_add(v.e.r[n - 1], 100, "k0", 1000));
    v.want[0][0] += 1000;
    assert_converges(&v, "after a roaming add");
    cr_assert_neq(tidal_region_digest(v.e.r[0]), 0);
    sim_close(&v);
}

Test(user_counters, two_regions_converge_on_the_sums)
{
    concurrent_adds(2, 0x2c0);
}

Test(user_counters, three_regions_converge_on_the_sums)
{
    concurrent_adds(3, 0x3c0);
}

static bool
has_some(void *arg)
{
    sim_env *v = arg;
    int64_t got = 0;
    char k[16];
    return tidal_user_counter_get(v->e.r[1], 100, key_of(0, k), &got) == 0 && got == v->want[0][0];
}

/* Region 0 (ephemeral, a 16 KiB log, a 100 ms hold) adds while region 1 (in
 * its directory) is cut off, past what its log holds, so it lets region 1
 * go: the records region 1 missed are gone.  Healed, region 1 gets the
 * counters through reconciliation, and - reopened alone from its directory
 * - still holds them (its reconciled log has them). */
Test(user_counters, a_region_that_was_let_go_catches_up_and_keeps_it)
{
    sim_env v;
    sim_open(&v, 0x1e7);
    tidal_region_opts o[2] = {{.region_id = 0,
                               .memory_bytes = 16384,
                               .peer_hold_ms = 100,
                               .write_timeout_ms = 60000,
                               .reconcile_ms = UINT32_MAX},
                              {.region_id = 1,
                               .dir = repl_dir_of(&v.e, 1),
                               .durability = TIDAL_NONE,
                               .reconcile_ms = UINT32_MAX}};
    for (int i = 0; i < 2; i++) {
        TIDAL_PASS(tidal_region_open(v.e.c, &o[i], &v.e.r[i]));
        v.e.n = i + 1;
    }
    sim_add(&v, 0, 0);
    int rv = tidal_sim_run_until(v.sim, has_some, &v, tidal_sim_now_ns(v.sim) + 10 * SEC);
    cr_assert_eq(rv, 0, "region 1 never got the first add");
    TIDAL_PASS(tidal_cluster_partition(v.e.c, 0, 1));
    for (unsigned step = 1; step < 600; step++) {
        sim_add(&v, 0, step);
    }
    cr_assert_geq(repl_stats(v.e.r[0]).peers_let_go, 1, "region 1 was never let go");
    TIDAL_PASS(tidal_cluster_fault_clear(v.e.c, 0, 1, 1));
    assert_converges(&v, "after the release");

    uint64_t digest = tidal_region_digest(v.e.r[0]);
    TIDAL_PASS(tidal_cluster_partition(v.e.c, 0, 1));
    TIDAL_PASS(tidal_region_close(v.e.r[1]));
    TIDAL_PASS(tidal_region_open(v.e.c, &o[1], &v.e.r[1]));
    cr_assert_eq(tidal_region_digest(v.e.r[1]), digest, "reopened, region 1 lost counters");
    cr_assert(values_are_sums(&v), "reopened, region 1 reads other values");
    sim_close(&v);
}

/* ---- a region with a directory ------------------------------------------- */

#define THREADS 4
#define PER_THREAD 50

struct adder {
    tidal_region *r;
    int64_t delta;
    int failed;
};

static void *
adder_run(void *arg)
{
    struct adder *a = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        a->failed += tidal_user_counter_add(a->r, 9, "shared", a->delta) != 0;
    }
    return NULL;
}

/* Under SYNC a write is applied once its sync returns (actors/pending.c):
 * threads adding to one pair at once must each count on the others' writes
 * still waiting for theirs, or two would log the same component and one
 * delta would be lost.  The sum survives a reopen from the directory. */
Test(user_counters, concurrent_adds_under_sync_and_a_reopen_keep_the_sum)
{
    repl_env e;
    pthread_t th[THREADS];
    struct adder a[THREADS];
    int64_t want = 0, v;
    repl_cluster(&e, "inproc", 0xd1c);
    repl_open_region(&e, 0, true, TIDAL_SYNC);
    for (int i = 0; i < THREADS; i++) {
        a[i] = (struct adder){.r = e.r[0], .delta = i % 2 ? -(i + 1) : i + 1};
        cr_assert_eq(pthread_create(&th[i], NULL, adder_run, &a[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        cr_assert_eq(pthread_join(th[i], NULL), 0);
        cr_assert_eq(a[i].failed, 0, "thread %d had refused adds", i);
        want += a[i].delta * PER_THREAD;
    }
    TIDAL_PASS(tidal_user_counter_add(e.r[0], 9, "other", 42));
    TIDAL_PASS(tidal_user_counter_get(e.r[0], 9, "shared", &v));
    cr_assert_eq(v, want, "read %lld, the acknowledged deltas sum to %lld", (long long)v,
                 (long long)want);
    uint64_t digest = tidal_region_digest(e.r[0]);

    TIDAL_PASS(tidal_region_close(e.r[0]));
    repl_open_region(&e, 0, true, TIDAL_SYNC);
    cr_assert_eq(tidal_region_digest(e.r[0]), digest, "reopened, the table differs");
    TIDAL_PASS(tidal_user_counter_get(e.r[0], 9, "shared", &v));
    cr_assert_eq(v, want);
    TIDAL_PASS(tidal_user_counter_get(e.r[0], 9, "other", &v));
    cr_assert_eq(v, 42);
    /* the origin's counts were rebuilt too: its next add builds on them */
    TIDAL_PASS(tidal_user_counter_add(e.r[0], 9, "shared", 1));
    TIDAL_PASS(tidal_user_counter_get(e.r[0], 9, "shared", &v));
    cr_assert_eq(v, want + 1);
    repl_close(&e);
}

/* ---- clock fencing --------------------------------------------------------- */

#define FENCE_BUDGET_NS 1000000000ull

/* Region 0's wall clock: twice its skew budget ahead of real time. */
static uint64_t
ahead_clock(void *arg)
{
    (void)arg;
    return repl_now_ns() + 2 * FENCE_BUDGET_NS;
}

/* An add is stamped by the region (its batch's stamps): a fenced region
 * refuses it before the log, as its other writes, and still applies its
 * peers' adds. */
Test(user_counters, a_fenced_region_refuses_adds_and_applies_its_peers)
{
    repl_env e;
    int64_t v;
    setenv("TIDAL_QUIET", "1", 1);
    repl_cluster(&e, "inproc", 0xfe0);
    tidal_region_opts o0 = {
        .region_id = 0, .max_skew_ns = FENCE_BUDGET_NS, .wall_clock = ahead_clock};
    tidal_region_opts o1 = {.region_id = 1, .max_skew_ns = FENCE_BUDGET_NS};
    tidal_region *a = repl_open_opts(&e, &o0), *b = repl_open_opts(&e, &o1);
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(a).clock_fenced, 2 * REPL_DEADLINE_MS),
              "region 0 was never fenced");
    TIDAL_FAIL(tidal_user_counter_add(a, 1, "src", 1), TIDAL_EFENCED);
    cr_assert_eq(repl_stats(a).last_lsn, 0, "a fenced add reached the log");
    TIDAL_PASS(tidal_user_counter_add(b, 1, "src", 3));
    TIDAL_PASS(tidal_region_wait_applied(a, 1, repl_stats(b).last_lsn, REPL_DEADLINE_MS));
    TIDAL_PASS(tidal_user_counter_get(a, 1, "src", &v));
    cr_assert_eq(v, 3);
    repl_close(&e);
}
