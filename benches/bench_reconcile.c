/*
 * bench_reconcile: two regions that diverged by 100,000 hard-negative
 * entries converge through the reconciler alone.
 *
 * Set-up, per variant, in a fresh cluster of two ephemeral regions A (0) and
 * B (1) on inproc, both with reconcile_ms = UINT32_MAX (rounds only on
 * demand):
 *   1. The replication links are cut, and only those: on each region's
 *      runtime, fault rules with partition set on every link from any of its
 *      actors to the peer's region actor ("region-<peer>"), its session
 *      actors ("region-<peer>/" and a '*') and its shipper ("shipper-<peer>").  Links
 *      to "reconciler-<peer>" stay open.  (tidal_cluster_partition would cut
 *      the reconcilers too, and healing it would let the shippers retransmit
 *      everything from their WALs: the reconciler would not be measured
 *      alone.)
 *   2. Writes: tidal_hide_item on distinct (user, item) pairs, by WRITERS
 *      threads per region.  Variant "split": 50,000 in A and 50,000 in B;
 *      variant "a_only": 100,000 in A.
 *   3. For one second nothing happens but the shippers retransmitting into
 *      the partition; the envelopes the cut drops per second and the
 *      process's CPU use meanwhile are reported.
 *   4. tidal_region_reconcile(A); the time runs until both regions' digests
 *      (tidal_region_digest) are equal.  The bench polls the regions'
 *      reconcile_entries counters every POLL_US (they cost no lock) and
 *      computes the two digests - O(entries) under each state lock - only
 *      once each region has received at least the entries it lacked, and
 *      then every DIGEST_EVERY_MS until they match.  The time of the poll
 *      that saw them equal is the convergence time; one digest call's cost
 *      is reported beside it.
 *
 * Bytes exchanged: reconcile_bytes of A plus B (everything the reconcilers
 * sent: DIGEST and ENTRIES payloads).  Size of the difference: exact, the sum
 * of the encodings (tidal_hardneg_entry_encode, store/hardneg.h) of every
 * entry one region has and the other lacks; a hide entry encodes in a fixed
 * 32 bytes whatever its stamp, so the sum is computed from entries built
 * with the same shape (has_hide, one stamp).  Goals, reported and never
 * asserted: under 1 s, bytes at most 2x the difference.
 *
 * Counts asserted (exit 1 on a mismatch): every write returned 0; each region
 * originated exactly its writes; while cut, neither region applied a batch of
 * the other (applied_lsn stays 0); after convergence, every pair is hidden in
 * both regions and neither applied a batch (the reconciler alone did it);
 * exactly one reconcile round ran.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benches/bench_util.h"
#include "store/hardneg.h"
#include "tidal/region.h"

#define WRITERS 8u
#define A_ID 0u
#define B_ID 1u
#define ITEM 99u
#define B_USER_BASE 10000000ull
#define POLL_US 200u
#define DIGEST_EVERY_MS 5u
#define QUIET_MS 1000u
#define WAIT_MS 120000u

struct writer {
    tidal_region *r;
    uint64_t user_first, count;
    int failures;
};

static void *
writer_main(void *arg)
{
    struct writer *w = arg;
    for (uint64_t u = w->user_first; u < w->user_first + w->count; u++) {
        if (tidal_hide_item(w->r, u, ITEM) != 0) {
            w->failures++;
        }
    }
    return NULL;
}

/* Writes count hides for users [first, first+count) into a and b_count into
 * b at the same time, WRITERS threads each.  Returns the elapsed ns. */
static uint64_t
write_hides(tidal_region *a, uint64_t a_count, tidal_region *b, uint64_t b_count)
{
    struct writer w[2 * WRITERS];
    pthread_t t[2 * WRITERS];
    uint32_t nw = 0;
    uint64_t t0 = bench_now_ns();
    for (int side = 0; side < 2; side++) {
        uint64_t total = side == 0 ? a_count : b_count;
        uint64_t base = side == 0 ? 1 : B_USER_BASE;
        for (uint32_t i = 0; i < WRITERS && total > 0; i++) {
            uint64_t lo = total * i / WRITERS, hi = total * (i + 1) / WRITERS;
            w[nw] =
                (struct writer){.r = side == 0 ? a : b, .user_first = base + lo, .count = hi - lo};
            BENCH_CHECK(pthread_create(&t[nw], NULL, writer_main, &w[nw]) == 0);
            nw++;
        }
    }
    for (uint32_t i = 0; i < nw; i++) {
        pthread_join(t[i], NULL);
        BENCH_CHECK(w[i].failures == 0);
    }
    return bench_now_ns() - t0;
}

/* Cuts every link from rt's actors to peer's region, session and shipper
 * actors; the reconciler's stays open. */
static void
cut_replication(tidal_runtime *rt, tidal_region_id peer)
{
    tidal_fault_rule cut = {.partition = 1};
    char pat[TIDAL_NAME_BYTES_MAX + 2];
    snprintf(pat, sizeof(pat), "region-%u", peer);
    BENCH_PASS(tidal_fault_set(rt, "*", pat, &cut));
    snprintf(pat, sizeof(pat), "region-%u/*", peer);
    BENCH_PASS(tidal_fault_set(rt, "*", pat, &cut));
    snprintf(pat, sizeof(pat), "shipper-%u", peer);
    BENCH_PASS(tidal_fault_set(rt, "*", pat, &cut));
}

static uint64_t
partition_drops(tidal_region *r)
{
    tidal_stats st;
    tidal_runtime_stats(tidal_region_runtime(r), &st);
    return st.faults[TIDAL_FAULT_PARTITION];
}

/* The encoded size of one hide entry (the same for every stamp). */
static size_t
hide_entry_bytes(tidal_entity_id user)
{
    tidal_hardneg_entry e = {
        .user = user,
        .item = ITEM,
        .has_hide = true,
        .hide = {.wall_ns = 1700000000000000000ull, .logical = 3, .node_id = 1}};
    uint8_t buf[TIDAL_HARDNEG_ENTRY_BYTES_MAX];
    size_t len = 0;
    BENCH_PASS(tidal_hardneg_entry_encode(&e, buf, sizeof(buf), &len));
    return len;
}

static bool
hidden_in(tidal_region *r, tidal_entity_id user)
{
    tidal_entity_id item = ITEM;
    tidal_scored_item out[1];
    size_t n = 1;
    tidal_retrieve q = {.user = user, .candidates = &item, .ncandidates = 1};
    BENCH_PASS(tidal_retrieve_items(r, &q, out, &n));
    return n == 0;
}

/* CPU time of the whole process (every thread), ns. */
static uint64_t
cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
sleep_us(uint32_t us)
{
    struct timespec ts = {us / 1000000u, (long)(us % 1000000u) * 1000L};
    nanosleep(&ts, NULL);
}

static void
loadavg_json(bench_json *j, const char *key)
{
    double l1 = 0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fscanf(f, "%lf", &l1) != 1) {
            l1 = 0;
        }
        fclose(f);
    }
    bench_json_f(j, key, l1, 2);
}

/* Waits until each region's peer acknowledged all of its writes, so both
 * shippers are idle when the cluster closes: closing while a shipper's tick
 * is still reading and sending a megabyte of batches races that tick (before
 * commit 3640fc3 the race could crash: the runtime freed its timers while
 * the tick re-armed its own). */
static void
wait_settled(tidal_region *a, uint64_t a_count, tidal_region *b, uint64_t b_count)
{
    uint64_t deadline = bench_now_ns() + (uint64_t)WAIT_MS * 1000000u;
    for (;;) {
        tidal_region_stats sa, sb;
        tidal_region_stats_get(a, &sa);
        tidal_region_stats_get(b, &sb);
        if (sa.acked_lsn[B_ID] == a_count && sb.acked_lsn[A_ID] == b_count) {
            return;
        }
        BENCH_CHECK(bench_now_ns() < deadline);
        sleep_us(1000);
    }
}

static void
run_variant(bench_json *j, const char *name, uint64_t a_count, uint64_t b_count)
{
    tidal_cluster *c;
    tidal_region *a, *b;
    tidal_cluster_opts co = {0};
    BENCH_PASS(tidal_cluster_open(&co, &c));
    tidal_region_opts oa = {.region_id = A_ID, .reconcile_ms = UINT32_MAX};
    tidal_region_opts ob = {
        .region_id = B_ID, .role = TIDAL_ROLE_FOLLOWER, .reconcile_ms = UINT32_MAX};
    BENCH_PASS(tidal_region_open(c, &oa, &a));
    BENCH_PASS(tidal_region_open(c, &ob, &b));
    cut_replication(tidal_region_runtime(a), B_ID);
    cut_replication(tidal_region_runtime(b), A_ID);

    uint64_t write_ns = write_hides(a, a_count, b, b_count);
    tidal_region_stats sa, sb;
    tidal_region_stats_get(a, &sa);
    tidal_region_stats_get(b, &sb);
    BENCH_CHECK(sa.writes == a_count);
    BENCH_CHECK(sb.writes == b_count);

    /* the shippers retransmit into the cut meanwhile */
    uint64_t d0 = partition_drops(a) + partition_drops(b);
    uint64_t q0 = bench_now_ns(), cpu0 = cpu_ns();
    sleep_us(QUIET_MS * 1000u);
    uint64_t quiet_ns = bench_now_ns() - q0, quiet_cpu_ns = cpu_ns() - cpu0;
    uint64_t drops = partition_drops(a) + partition_drops(b) - d0;

    tidal_region_stats_get(a, &sa);
    tidal_region_stats_get(b, &sb);
    BENCH_CHECK(sa.applied_lsn[B_ID] == 0 && sb.applied_lsn[A_ID] == 0);
    BENCH_CHECK(sa.batches_applied == 0 && sb.batches_applied == 0);
    BENCH_CHECK(sa.reconcile_bytes == 0 && sb.reconcile_bytes == 0);
    BENCH_CHECK(a_count + b_count == 0 || tidal_region_digest(a) != tidal_region_digest(b));

    /* the difference: what A lacks (B's entries) and what B lacks (A's) */
    uint64_t diff_bytes = 0;
    for (uint64_t u = 1; u < 1 + a_count; u++) {
        diff_bytes += hide_entry_bytes(u);
    }
    for (uint64_t u = B_USER_BASE; u < B_USER_BASE + b_count; u++) {
        diff_bytes += hide_entry_bytes(u);
    }

    uint64_t t0 = bench_now_ns();
    BENCH_PASS(tidal_region_reconcile(a));
    uint64_t deadline = t0 + (uint64_t)WAIT_MS * 1000000u, next_digest = 0, t1 = 0;
    uint64_t digest_ns = 0, digests = 0, counters_ns = 0;
    for (;;) {
        uint64_t now = bench_now_ns();
        BENCH_CHECK(now < deadline);
        tidal_region_stats_get(a, &sa);
        tidal_region_stats_get(b, &sb);
        if (sa.reconcile_entries >= b_count && sb.reconcile_entries >= a_count &&
            now >= next_digest) {
            if (counters_ns == 0) {
                counters_ns = now - t0;
            }
            uint64_t d0n = bench_now_ns();
            bool equal = tidal_region_digest(a) == tidal_region_digest(b);
            digest_ns += bench_now_ns() - d0n;
            digests++;
            if (equal) {
                t1 = now;
                break;
            }
            next_digest = bench_now_ns() + DIGEST_EVERY_MS * 1000000ull;
        }
        sleep_us(POLL_US);
    }

    tidal_region_stats_get(a, &sa);
    tidal_region_stats_get(b, &sb);
    BENCH_CHECK(sa.batches_applied == 0 && sb.batches_applied == 0);
    BENCH_CHECK(sa.reconcile_rounds == 1 && sb.reconcile_rounds == 0);
    for (uint64_t u = 1; u < 1 + a_count; u++) {
        BENCH_CHECK(hidden_in(b, u));
    }
    for (uint64_t u = B_USER_BASE; u < B_USER_BASE + b_count; u++) {
        BENCH_CHECK(hidden_in(a, u));
    }
    uint64_t bytes = sa.reconcile_bytes + sb.reconcile_bytes;

    bench_json_obj(j, name);
    bench_json_u64(j, "entries_written_a", a_count);
    bench_json_u64(j, "entries_written_b", b_count);
    bench_json_f(j, "write_records_per_s", bench_rate(a_count + b_count, write_ns), 0);
    bench_json_f(j, "partition_drops_per_s_while_idle", bench_rate(drops, quiet_ns), 0);
    bench_json_f(j, "process_cpu_percent_while_idle",
                 100.0 * (double)quiet_cpu_ns / (double)quiet_ns, 0);
    bench_json_f(j, "converge_ms", (double)(t1 - t0) / 1e6, 1);
    bench_json_f(j, "entries_received_ms", (double)counters_ns / 1e6, 1);
    bench_json_f(j, "digest_call_ms", digests ? (double)digest_ns / (double)digests / 2e6 : 0, 2);
    bench_json_u64(j, "digest_checks", digests);
    bench_json_u64(j, "reconcile_bytes_a", sa.reconcile_bytes);
    bench_json_u64(j, "reconcile_bytes_b", sb.reconcile_bytes);
    bench_json_u64(j, "reconcile_bytes_total", bytes);
    bench_json_u64(j, "reconcile_entries_received_a", sa.reconcile_entries);
    bench_json_u64(j, "reconcile_entries_received_b", sb.reconcile_entries);
    bench_json_u64(j, "diff_entries", a_count + b_count);
    bench_json_u64(j, "diff_bytes", diff_bytes);
    bench_json_str(j, "diff_bytes_how", "exact: sum of tidal_hardneg_entry_encode sizes");
    bench_json_f(j, "bytes_per_diff_byte", diff_bytes ? (double)bytes / (double)diff_bytes : 0, 2);
    bench_json_bool(j, "goal_under_1s", t1 - t0 < 1000000000ull);
    bench_json_bool(j, "goal_bytes_at_most_2x_diff", bytes <= 2 * diff_bytes);
    bench_json_close(j);
    fflush(stdout); /* a failure later leaves what was measured */

    /* heal, and let the shippers deliver their (now duplicate) batches */
    BENCH_PASS(tidal_cluster_heal(c));
    wait_settled(a, a_count, b, b_count);
    BENCH_PASS(tidal_cluster_close(c));
}

int
main(int argc, char **argv)
{
    bool quick =
        bench_parse_quick(argc, argv,
                          "  Reconciliation alone: two regions diverged by 100,000\n"
                          "  hard-negative entries (50,000 + 50,000, then 100,000 in one)\n"
                          "  converge through tidal_region_reconcile; time, bytes and\n"
                          "  the difference's size; prints one JSON object.\n");
    uint64_t total = quick ? 1000 : 100000;
    setenv("TIDAL_QUIET", "1", 0);
    bench_json j;
    bench_json_begin(&j);
    bench_json_str(&j, "bench", "reconcile");
    bench_json_bool(&j, "quick", quick);
    bench_json_str(&j, "transport", "inproc");
    bench_json_str(&j, "regions", "ephemeral, reconcile_ms UINT32_MAX");
    bench_json_u64(&j, "writer_threads_per_region", WRITERS);
    bench_json_u64(&j, "hide_entry_bytes", hide_entry_bytes(1));
    loadavg_json(&j, "loadavg_1m_start");
    run_variant(&j, "split", total / 2, total / 2);
    run_variant(&j, "a_only", total, 0);
    loadavg_json(&j, "loadavg_1m_end");
    bench_json_end(&j);
    return 0;
}
