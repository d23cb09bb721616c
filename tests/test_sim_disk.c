/*
 * The simulated disk (include/tidal/sim.h, "The disk"; store/simdisk.h):
 * a region with a directory in a simulation loses, when it crashes, what a
 * power loss could take - unsynced writes, whole, in part or torn - and
 * never what a sync made durable.
 *
 * The scenario, per seed: two regions with directories; region 0 writes
 * session signals (each a new item) while region 1 writes hides that
 * region 0 copies into its peer log.  At a seeded moment region 0's disk
 * loses power after a seeded number of changes (tidal_region_sim_disk_cut),
 * so the crash can land between a write and its sync; region 0 keeps
 * writing until a write fails, then crashes and reopens from its
 * directory.  It must open (a torn tail is cut, never refused), hold every
 * write it acknowledged, exactly once, and converge with region 1.  The
 * same seed gives the same disk trace and digests.
 */
#include <stdlib.h>

#include "repl_helpers.h"
#include "tidal/log.h"
#include "tidal/sim.h"

TIDAL_SUITE(sim_disk);

#define SEEDS 200
#define ITEMS 64 /* items region 0 may write: 1 .. ITEMS */
#define MS 1000000ull
#define SEC 1000000000ull

typedef struct outcome {
    uint64_t digest[2];
    tidal_sim_stats st;
    uint64_t truncated; /* torn tails recovery cut at the reopen */
    uint32_t acked, present;
    char trace[4096];
} outcome;

static void
open_region(repl_env *e, int id, tidal_durability_policy pol)
{
    tidal_region_opts o = {.region_id = (tidal_region_id)id,
                           .dir = repl_dir_of(e, id),
                           .durability = pol,
                           .interval_ms = 20,
                           .segment_bytes = 4096, /* roll-overs: new names, manifests */
                           .reconcile_ms = 300,
                           /* NONE syncs nothing, its manifest included: after a
                            * power loss the manifest may be empty, or name LSNs
                            * the segments lost, and only a salvage opens it */
                           .salvage = pol == TIDAL_NONE};
    repl_open_opts(e, &o);
}

/* How many times each item is in region r's session s (counts[1..ITEMS]). */
static void
count_items(tidal_region *r, tidal_session_id s, uint32_t *counts)
{
    static tidal_signal_view v[4 * ITEMS];
    size_t n = 0;
    memset(counts, 0, (ITEMS + 1) * sizeof(*counts));
    int rv = tidal_session_signals(r, s, v, 4 * ITEMS, &n);
    if (rv == TIDAL_ENOENT) {
        return; /* its start was lost (NONE): so was every signal */
    }
    TIDAL_PASS(rv);
    for (size_t i = 0; i < n; i++) {
        cr_assert(v[i].item >= 1 && v[i].item <= ITEMS, "a signal nobody wrote: %llu",
                  (unsigned long long)v[i].item);
        counts[v[i].item]++;
    }
}

/* One seed, region 0 under pol: SYNC and INTERVAL keep every write they
 * acknowledged; NONE, which acknowledges without a sync, may lose any of
 * them to a power loss, but never holds one twice. */
static void
run(uint64_t seed, tidal_durability_policy pol, outcome *out)
{
    memset(out, 0, sizeof(*out));
    tidal_sim *s;
    tidal_sim_opts so = {.seed = seed, .latency_min_us = 100, .latency_max_us = 3000};
    TIDAL_PASS(tidal_sim_open(&so, &s));
    repl_env e = {0};
    tidal_cluster_opts co = {.seed = seed, .sim = s};
    TIDAL_PASS(tidal_cluster_open(&co, &e.c));
    open_region(&e, 0, pol);
    open_region(&e, 1, TIDAL_SYNC);
    tidal_session_id sid;
    TIDAL_PASS(tidal_start_session(e.r[0], 42, NULL, &sid));

    uint64_t x = seed * TIDAL_HASH_GOLDEN + 7;
    bool acked[ITEMS + 1] = {false};
    uint32_t made = 0; /* items 1 .. made were attempted */
    uint32_t before_cut = 2 + (uint32_t)(tidal_test_rand(&x) % 12);
    bool cut = false;
    while (made < ITEMS) {
        if (made == before_cut && !cut) {
            TIDAL_PASS(tidal_region_sim_disk_cut(e.r[0], (uint32_t)(tidal_test_rand(&x) % 10)));
            cut = true;
        }
        tidal_entity_id item = ++made;
        int rv = tidal_signal_in_session(e.r[0], sid, "view", item, 1.0,
                                         tidal_wall_ns(tidal_region_runtime(e.r[0])));
        if (!cut) {
            cr_assert_eq(rv, 0, "seed %llu: write %u before the cut: %s", (unsigned long long)seed,
                         made, tidal_errname(rv));
        }
        acked[item] = rv == 0;
        if (rv != 0 && tidal_region_sim_disk_is_cut(e.r[0])) {
            break;
        }
        TIDAL_PASS(tidal_hide_item(e.r[1], 7, 1000 + item));
        tidal_sim_run_for(s, (tidal_test_rand(&x) % 4) * MS);
    }
    cr_assert(tidal_region_sim_disk_is_cut(e.r[0]), "seed %llu: the cut never came",
              (unsigned long long)seed);
    TIDAL_PASS(tidal_region_crash(e.r[0]));
    e.r[0] = NULL;

    uint64_t cuts = tidal_log_count(TIDAL_EVENT_LOG_TRUNCATED);
    open_region(&e, 0, pol); /* must open: a torn tail is cut, never refused */
    out->truncated = tidal_log_count(TIDAL_EVENT_LOG_TRUNCATED) - cuts;

    uint32_t counts[ITEMS + 1];
    count_items(e.r[0], sid, counts);
    for (uint32_t i = 1; i <= made; i++) {
        cr_assert_leq(counts[i], 1, "seed %llu: item %u twice", (unsigned long long)seed, i);
        if (pol != TIDAL_NONE) {
            cr_assert(!acked[i] || counts[i] == 1, "seed %llu: acknowledged item %u lost",
                      (unsigned long long)seed, i);
        }
        out->acked += acked[i];
        out->present += counts[i];
    }

    /* the reopened region writes on, and the two converge - under NONE too,
     * whose power loss can take its log whole, names and manifest included:
     * it learns from its peer which LSNs it used before it writes again
     * (actors/learn.c; none_relearns_a_lost_log below), counting only ACKs
     * sent after the open, so that one still in flight from before the
     * crash cannot end that early */
    TIDAL_PASS(tidal_hide_item(e.r[0], 8, 1));
    bool ok = tidal_sim_run_until(s, repl_converged_lsn, &e, tidal_sim_now_ns(s) + 120 * SEC) == 0;
    if (!ok) {
        repl_dump(&e);
    }
    cr_assert(ok, "seed %llu: the regions did not converge after the crash",
              (unsigned long long)seed);
    count_items(e.r[1], sid, counts);
    for (uint32_t i = 1; i <= made; i++) {
        cr_assert_leq(counts[i], 1, "seed %llu: region 1 has item %u twice",
                      (unsigned long long)seed, i);
    }
    for (int i = 0; i < 2; i++) {
        out->digest[i] = tidal_region_digest(e.r[i]);
    }
    tidal_sim_stats_get(s, &out->st);
    tidal_sim_disk_trace(s, out->trace, sizeof(out->trace));
    repl_close(&e);
    TIDAL_PASS(tidal_sim_close(s));
}

Test(sim_disk, sync_region_keeps_every_acknowledged_write_across_seeds, .timeout = 300)
{
    uint64_t torn = 0, lost = 0, truncated = 0;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        outcome o;
        run(seed, TIDAL_SYNC, &o);
        cr_assert_eq(o.digest[0], o.digest[1], "seed %llu: digests differ",
                     (unsigned long long)seed);
        cr_assert_eq(o.st.disk_crashes, 1);
        torn += o.st.disk_writes_torn;
        lost += o.st.disk_changes_lost;
        truncated += o.truncated;
    }
    /* a disk that loses nothing would pass the checks above: this one
     * tears writes, reverts others, and leaves tails cut mid-batch */
    cr_assert_gt(torn, 0, "no seed tore a write");
    cr_assert_gt(lost, 0, "no seed lost an unsynced write");
    cr_assert_gt(truncated, 0, "no seed left a torn tail for recovery to cut");
}

Test(sim_disk, one_seed_gives_one_disk_trace_and_state)
{
    bool shown = false;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        static outcome a, b;
        run(seed, TIDAL_SYNC, &a);
        run(seed, TIDAL_SYNC, &b);
        cr_assert_str_eq(a.trace, b.trace, "seed %llu: the disk trace differs",
                         (unsigned long long)seed);
        cr_assert_eq(a.st.disk_trace_hash, b.st.disk_trace_hash);
        cr_assert_eq(memcmp(a.digest, b.digest, sizeof(a.digest)), 0, "seed %llu: other state",
                     (unsigned long long)seed);
        cr_assert_eq(memcmp(&a.st, &b.st, sizeof(a.st)), 0, "seed %llu: other counters",
                     (unsigned long long)seed);
        cr_assert_eq(a.truncated, b.truncated);
        if (a.trace[0] != '\0' && !shown) {
            cr_log_info("seed %llu's disk trace:\n%s", (unsigned long long)seed, a.trace);
            shown = true;
        }
    }
    cr_assert(shown, "no seed's crash left a trace to compare");
}

/* INTERVAL acknowledges a write after the sync that covers it: every
 * acknowledged write survives.  NONE acknowledges without a sync: a power
 * loss may take any of its writes, and the region opens (under salvage,
 * which NONE needs after a power loss: docs/wal-format.md) without
 * holding a write twice, and converges with its peer. */
Test(sim_disk, interval_and_none_lose_only_what_their_policy_allows, .timeout = 300)
{
    uint64_t none_lost = 0;
    for (uint64_t seed = 1; seed <= SEEDS / 8; seed++) {
        outcome o;
        run(seed, TIDAL_INTERVAL, &o);
        cr_assert_eq(o.digest[0], o.digest[1]);
        run(seed, TIDAL_NONE, &o);
        cr_assert_eq(o.digest[0], o.digest[1], "seed %llu: NONE did not converge",
                     (unsigned long long)seed);
        none_lost += o.acked > o.present ? o.acked - o.present : 0;
    }
    cr_assert_gt(none_lost, 0, "NONE never lost an acknowledged write to a power loss");
}

/* A clean close loses nothing, and a region without the simulated disk
 * (real_disk) cannot be cut. */
Test(sim_disk, clean_close_and_real_disk_lose_nothing)
{
    tidal_sim *s;
    tidal_sim_opts so = {.seed = 3, .real_disk = true};
    TIDAL_PASS(tidal_sim_open(&so, &s));
    repl_env e = {0};
    tidal_cluster_opts co = {.seed = 3, .sim = s};
    TIDAL_PASS(tidal_cluster_open(&co, &e.c));
    open_region(&e, 0, TIDAL_NONE);
    TIDAL_FAIL(tidal_region_sim_disk_cut(e.r[0], 0), TIDAL_ESTATE);
    TIDAL_PASS(tidal_hide_item(e.r[0], 1, 2));
    TIDAL_PASS(tidal_region_crash(e.r[0]));
    open_region(&e, 0, TIDAL_NONE);
    cr_assert(repl_hidden(e.r[0], 1, 2), "a real disk lost a write NONE made");
    repl_close(&e);
    TIDAL_PASS(tidal_sim_close(s));

    so.real_disk = false;
    e = (repl_env){0};
    TIDAL_PASS(tidal_sim_open(&so, &s));
    co.sim = s;
    TIDAL_PASS(tidal_cluster_open(&co, &e.c));
    open_region(&e, 0, TIDAL_NONE);
    TIDAL_PASS(tidal_hide_item(e.r[0], 1, 2));
    TIDAL_PASS(tidal_region_close(e.r[0]));
    open_region(&e, 0, TIDAL_NONE);
    cr_assert(repl_hidden(e.r[0], 1, 2), "a clean close lost a write");
    tidal_sim_stats st;
    tidal_sim_stats_get(s, &st);
    cr_assert_eq(st.disk_crashes, 0);
    repl_close(&e);
    TIDAL_PASS(tidal_sim_close(s));
}

/* A NONE region whose own log is gone whole - what a power loss can leave
 * of a log that synced nothing, manifest and names included - looks new on
 * its next open.  It must not give again the LSNs its peer applied (the
 * peer would drop those writes as duplicates, and the two would never
 * agree on its log again): it learns from the peer first, and its next
 * write gets an LSN above them. */
Test(sim_disk, none_relearns_a_lost_log)
{
    tidal_sim *s;
    tidal_sim_opts so = {.seed = 5, .latency_min_us = 100, .latency_max_us = 3000};
    TIDAL_PASS(tidal_sim_open(&so, &s));
    repl_env e = {0};
    tidal_cluster_opts co = {.seed = 5, .sim = s};
    TIDAL_PASS(tidal_cluster_open(&co, &e.c));
    open_region(&e, 0, TIDAL_NONE);
    open_region(&e, 1, TIDAL_SYNC);
    for (tidal_entity_id i = 1; i <= 5; i++) {
        TIDAL_PASS(tidal_hide_item(e.r[0], 7, i));
    }
    uint64_t before = repl_stats(e.r[0]).last_lsn;
    cr_assert(tidal_sim_run_until(s, repl_converged_lsn, &e, tidal_sim_now_ns(s) + 60 * SEC) == 0);
    tidal_sim_run_for(s, SEC); /* nothing left in flight */
    TIDAL_PASS(tidal_region_close(e.r[0]));
    e.r[0] = NULL;
    /* the power loss: every file of its own log, its manifest too */
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -f %s/wal/shard-0000/r0000*", repl_dir_of(&e, 0));
    cr_assert_eq(system(cmd), 0);
    open_region(&e, 0, TIDAL_NONE);
    TIDAL_PASS(tidal_hide_item(e.r[0], 8, 1));
    cr_assert_gt(repl_stats(e.r[0]).last_lsn, before, "an LSN its peer applied was given again");
    bool ok = tidal_sim_run_until(s, repl_converged_lsn, &e, tidal_sim_now_ns(s) + 60 * SEC) == 0;
    if (!ok) {
        repl_dump(&e);
    }
    cr_assert(ok, "the regions did not converge after the log was lost");
    cr_assert(repl_hidden(e.r[1], 8, 1), "the write after the loss never reached the peer");
    cr_assert(repl_hidden(e.r[0], 7, 3), "reconciliation brought back what the log lost");
    repl_close(&e);
    TIDAL_PASS(tidal_sim_close(s));
}
