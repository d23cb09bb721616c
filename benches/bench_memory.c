/*
 * bench_memory: heap bytes a region spends per stored signal and per passive
 * session, and the write throughput that filled it.
 *
 * Heap = bytes allocated and not freed, process-wide: glibc's mallinfo2
 * (uordblks + hblkhd, every arena: chunk overhead included); under ASan,
 * whose allocator mallinfo2 does not see, __sanitizer_get_current_allocated_
 * bytes (requested bytes, no overhead), as the store's tests do.
 *
 * Attribution.  Two ephemeral regions on inproc: A (0) takes the writes, B
 * (1) follows.  The heap is read with only B open (empty), then with A as
 * well, after the writes once B has applied everything and A's shipper has
 * been acknowledged (so A's in-memory WAL released it), and after A is
 * closed.  B then holds the replicated state and nothing else: no session
 * actor ever ran in B, so its sessions are passive in the strictest sense
 * (no live actor, nothing but state).  B's share = heap(B alone, after) -
 * heap(B alone, empty).  A's share, reported beside it = heap(A and B) -
 * heap(B alone) - A's empty footprint: the origin's state plus its live
 * session actors, idempotency keys (bounded: 100,000) and WAL residue.
 *
 * Sessions (first): 100,000 sessions (--quick: 1,000) started in A with no
 * signal, by WRITERS threads.  Per session = B's share / sessions.  A's
 * share is read right after the starts (its session actors are live) and,
 * in a full run, again once they passivated (30 s idle, the runtime's
 * default; the wait polls the region actor's virtual_active count).
 *
 * Signals: 10,000 sessions (--quick: 100) started in A, then 1,000,000
 * signals (--quick: 10,000) spread evenly over them (100 each), written with
 * tidal_signal_in_session by WRITERS threads at once, each owning a slice
 * of the sessions; items cycle through a catalogue of 100,000 items
 * (--quick: 1,000) and two types ("view", "click"), so the windowed counts
 * hold 200,000 (item, type) entries.  Bytes per signal = B's share /
 * signals (the sessions holding them included), and also with the
 * sessions' own cost (per session, from the first phase) taken out.
 *
 * While both regions hold the signals and nothing is written, the process's
 * CPU use over IDLE_MS is reported too (the regions' periodic work).
 *
 * Throughput: records/s of the signal phase (ephemeral, labelled "none"),
 * and of 100,000 signals (--quick: 2,000) over 1,000 sessions (--quick: 100)
 * into regions with a directory under /tmp and durability SYNC (labelled
 * "sync": group commit over the writers' in-flight calls).
 *
 * A full run takes about 2 minutes here (45 s of it waiting for
 * passivation, ~60 s writing the signals).  Each section is flushed as it
 * is printed, so a failure in a later one leaves what was measured.
 *
 * Counts asserted (exit 1 on a mismatch): every write returned 0; A
 * originated exactly the writes made; B applied all of them; every session
 * in B holds exactly its signals.  Goals (reported, never asserted): at most
 * 200 bytes per signal, at most 2 KiB per passive session.
 */
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benches/bench_util.h"
#include "tidal/region.h"

#if defined(__SANITIZE_ADDRESS__)
#define BENCH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BENCH_ASAN 1
#endif
#endif
#ifdef BENCH_ASAN
/* From the sanitizer runtime (sanitizer/allocator_interface.h, which gcc does
 * not install). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

#define WRITERS 16u
#define A_ID 0u
#define B_ID 1u
#define WAIT_MS 300000u
#define PASSIVATE_WAIT_MS 90000u
#define IDLE_MS 1000u

static uint64_t
heap_now(void)
{
#ifdef BENCH_ASAN
    return __sanitizer_get_current_allocated_bytes();
#else
    return bench_heap_bytes();
#endif
}

static const char *
heap_how(void)
{
#ifdef BENCH_ASAN
    return "__sanitizer_get_current_allocated_bytes (ASan: requested bytes, no overhead)";
#else
    return "mallinfo2 uordblks + hblkhd (glibc chunks, overhead included)";
#endif
}

static uint64_t
wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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

/* ---- writers ---------------------------------------------------------------------- */

enum job { JOB_START, JOB_SIGNAL };

struct writer {
    tidal_region *r;
    enum job job;
    tidal_session_id *sids; /* this writer's slice */
    uint64_t nsids;
    uint64_t signals; /* JOB_SIGNAL: how many, round-robin over the slice */
    uint64_t first;   /* global index of the writer's first signal */
    uint64_t items;   /* catalogue size */
    int failures;
};

static void *
writer_main(void *arg)
{
    struct writer *w = arg;
    if (w->job == JOB_START) {
        for (uint64_t i = 0; i < w->nsids; i++) {
            if (tidal_start_session(w->r, 1 + i, NULL, &w->sids[i]) != 0) {
                w->failures++;
            }
        }
        return NULL;
    }
    for (uint64_t k = 0; k < w->signals; k++) {
        uint64_t g = w->first + k;
        tidal_entity_id item = (g * 2654435761u) % w->items;
        if (tidal_signal_in_session(w->r, w->sids[k % w->nsids], (g & 1) ? "click" : "view", item,
                                    1.0, wall_ns()) != 0) {
            w->failures++;
        }
    }
    return NULL;
}

/* Runs job over sids[0..nsids) split among WRITERS threads; for JOB_SIGNAL,
 * signals in all (a multiple of nsids).  Returns the elapsed ns. */
static uint64_t
run_writers(tidal_region *r, enum job job, tidal_session_id *sids, uint64_t nsids, uint64_t signals,
            uint64_t items)
{
    struct writer w[WRITERS];
    pthread_t t[WRITERS];
    uint64_t t0 = bench_now_ns();
    uint64_t per_session = job == JOB_SIGNAL ? signals / nsids : 0;
    for (uint32_t i = 0; i < WRITERS; i++) {
        uint64_t lo = nsids * i / WRITERS, hi = nsids * (i + 1) / WRITERS;
        w[i] = (struct writer){.r = r,
                               .job = job,
                               .sids = sids + lo,
                               .nsids = hi - lo,
                               .signals = (hi - lo) * per_session,
                               .first = lo * per_session,
                               .items = items};
        BENCH_CHECK(pthread_create(&t[i], NULL, writer_main, &w[i]) == 0);
    }
    for (uint32_t i = 0; i < WRITERS; i++) {
        pthread_join(t[i], NULL);
        BENCH_CHECK(w[i].failures == 0);
    }
    return bench_now_ns() - t0;
}

/* ---- regions ---------------------------------------------------------------------- */

struct pair {
    tidal_cluster *c;
    tidal_region *a, *b;
    uint64_t heap_b_empty, heap_ab_empty;
};

static void
pair_open(struct pair *p, const char *dir)
{
    char da[160], db[160];
    memset(p, 0, sizeof(*p));
    tidal_cluster_opts co = {0};
    BENCH_PASS(tidal_cluster_open(&co, &p->c));
    if (dir != NULL) {
        snprintf(da, sizeof(da), "%s/a", dir);
        snprintf(db, sizeof(db), "%s/b", dir);
    }
    tidal_region_opts ob = {.region_id = B_ID,
                            .role = TIDAL_ROLE_FOLLOWER,
                            .dir = dir != NULL ? db : NULL,
                            .durability = TIDAL_SYNC};
    tidal_region_opts oa = {
        .region_id = A_ID, .dir = dir != NULL ? da : NULL, .durability = TIDAL_SYNC};
    BENCH_PASS(tidal_region_open(p->c, &ob, &p->b));
    p->heap_b_empty = heap_now();
    BENCH_PASS(tidal_region_open(p->c, &oa, &p->a));
    p->heap_ab_empty = heap_now();
}

/* Waits until B applied every write of A and A's shipper heard so. */
static void
wait_replicated(struct pair *p)
{
    uint64_t deadline = bench_now_ns() + (uint64_t)WAIT_MS * 1000000u;
    for (;;) {
        tidal_region_stats sa, sb;
        tidal_region_stats_get(p->a, &sa);
        tidal_region_stats_get(p->b, &sb);
        if (sb.applied_lsn[A_ID] == sa.writes && sa.acked_lsn[B_ID] == sa.writes) {
            return;
        }
        BENCH_CHECK(bench_now_ns() < deadline);
        usleep(1000);
    }
}

static uint32_t
virtual_active(tidal_region *r, tidal_region_id id)
{
    char name[TIDAL_NAME_BYTES_MAX];
    tidal_actor act;
    tidal_actor_stats st;
    snprintf(name, sizeof(name), "region-%u", id);
    BENCH_PASS(tidal_lookup(tidal_region_runtime(r), name, &act));
    BENCH_PASS(tidal_actor_stats_get(tidal_region_runtime(r), act, &st));
    return st.virtual_active;
}

/* Closes A; returns B's share (heap now - B's empty footprint). */
static int64_t
close_a(struct pair *p)
{
    BENCH_PASS(tidal_region_close(p->a));
    p->a = NULL;
    return (int64_t)heap_now() - (int64_t)p->heap_b_empty;
}

/* ---- the measurements ----------------------------------------------------------------- */

struct sessions_result {
    double b_per_session, a_per_session_live, a_per_session_passive;
    uint32_t a_live_actors, a_live_after_wait, b_live_actors;
    double start_per_s;
    bool waited;
};

static struct sessions_result
measure_sessions(uint64_t n, bool wait_passive)
{
    struct sessions_result res = {0};
    struct pair p;
    tidal_session_id *sids = calloc(n, sizeof(*sids));
    BENCH_CHECK(sids != NULL);
    pair_open(&p, NULL);
    uint64_t ns = run_writers(p.a, JOB_START, sids, n, 0, 1);
    res.start_per_s = bench_rate(n, ns);
    wait_replicated(&p);
    tidal_region_stats sa;
    tidal_region_stats_get(p.a, &sa);
    BENCH_CHECK(sa.writes == n);
    uint64_t heap_ab = heap_now();
    res.a_live_actors = virtual_active(p.a, A_ID);
    res.b_live_actors = virtual_active(p.b, B_ID);
    if (wait_passive) {
        uint64_t deadline = bench_now_ns() + (uint64_t)PASSIVATE_WAIT_MS * 1000000u;
        while (virtual_active(p.a, A_ID) > 0 && bench_now_ns() < deadline) {
            usleep(200000);
        }
        res.waited = true;
        res.a_live_after_wait = virtual_active(p.a, A_ID);
    }
    uint64_t heap_ab_passive = heap_now();
    for (uint64_t i = 0; i < n; i++) {
        tidal_session_view v;
        BENCH_PASS(tidal_get_session(p.b, sids[i], &v));
        BENCH_CHECK(v.signals == 0 && v.home == A_ID);
    }
    int64_t b_share = close_a(&p);
    uint64_t heap_b = heap_now();
    int64_t a_empty = (int64_t)p.heap_ab_empty - (int64_t)p.heap_b_empty;
    res.b_per_session = (double)b_share / (double)n;
    res.a_per_session_live = (double)((int64_t)heap_ab - (int64_t)heap_b - a_empty) / (double)n;
    res.a_per_session_passive =
        (double)((int64_t)heap_ab_passive - (int64_t)heap_b - a_empty) / (double)n;
    BENCH_PASS(tidal_cluster_close(p.c));
    free(sids);
    return res;
}

struct signals_result {
    double b_per_signal, b_per_signal_without_sessions, a_per_signal;
    double records_per_s;
    uint64_t b_share_bytes;
    double idle_cpu_percent; /* the process, both regions holding the signals, no writes */
};

/* CPU time of the whole process (every thread), ns. */
static uint64_t
cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Starts nsess sessions in p's A and writes nsig signals over them; checks
 * the counts in B.  Returns the signal phase's ns. */
static uint64_t
fill(struct pair *p, tidal_session_id *sids, uint64_t nsess, uint64_t nsig, uint64_t items)
{
    (void)run_writers(p->a, JOB_START, sids, nsess, 0, 1);
    uint64_t ns = run_writers(p->a, JOB_SIGNAL, sids, nsess, nsig, items);
    wait_replicated(p);
    tidal_region_stats sa, sb;
    tidal_region_stats_get(p->a, &sa);
    tidal_region_stats_get(p->b, &sb);
    BENCH_CHECK(sa.writes == nsess + nsig);
    BENCH_CHECK(sb.applied_lsn[A_ID] == nsess + nsig);
    uint64_t total = 0;
    for (uint64_t i = 0; i < nsess; i++) {
        tidal_session_view v;
        BENCH_PASS(tidal_get_session(p->b, sids[i], &v));
        BENCH_CHECK(v.signals == nsig / nsess);
        total += v.signals;
    }
    BENCH_CHECK(total == nsig);
    return ns;
}

static struct signals_result
measure_signals(uint64_t nsess, uint64_t nsig, uint64_t items, double b_per_session)
{
    struct signals_result res = {0};
    struct pair p;
    tidal_session_id *sids = calloc(nsess, sizeof(*sids));
    BENCH_CHECK(sids != NULL);
    pair_open(&p, NULL);
    uint64_t ns = fill(&p, sids, nsess, nsig, items);
    res.records_per_s = bench_rate(nsig, ns);
    uint64_t heap_ab = heap_now();
    uint64_t w0 = bench_now_ns(), c0 = cpu_ns();
    usleep(IDLE_MS * 1000u);
    res.idle_cpu_percent = 100.0 * (double)(cpu_ns() - c0) / (double)(bench_now_ns() - w0);
    int64_t b_share = close_a(&p);
    uint64_t heap_b = heap_now();
    int64_t a_empty = (int64_t)p.heap_ab_empty - (int64_t)p.heap_b_empty;
    res.b_share_bytes = (uint64_t)(b_share > 0 ? b_share : 0);
    res.b_per_signal = (double)b_share / (double)nsig;
    res.b_per_signal_without_sessions =
        ((double)b_share - b_per_session * (double)nsess) / (double)nsig;
    res.a_per_signal = (double)((int64_t)heap_ab - (int64_t)heap_b - a_empty) / (double)nsig;
    BENCH_PASS(tidal_cluster_close(p.c));
    free(sids);
    return res;
}

/* Signals into SYNC regions with directories: throughput only. */
static double
measure_sync_throughput(uint64_t nsess, uint64_t nsig, uint64_t items)
{
    char dir[64];
    struct pair p;
    tidal_session_id *sids = calloc(nsess, sizeof(*sids));
    BENCH_CHECK(sids != NULL);
    bench_tmpdir(dir, sizeof(dir), "tidal-mem");
    pair_open(&p, dir);
    uint64_t ns = fill(&p, sids, nsess, nsig, items);
    BENCH_PASS(tidal_cluster_close(p.c));
    bench_rmdir(dir);
    free(sids);
    return bench_rate(nsig, ns);
}

int
main(int argc, char **argv)
{
    bool quick = bench_parse_quick(argc, argv,
                                   "  Heap bytes per stored signal (1,000,000 signals) and per\n"
                                   "  passive session (100,000 sessions) in a region, and the\n"
                                   "  write throughput (ephemeral and SYNC); prints one JSON\n"
                                   "  object.\n");
    const uint64_t signals = quick ? 10000 : 1000000;
    const uint64_t signal_sessions = quick ? 100 : 10000;
    const uint64_t items = quick ? 1000 : 100000;
    const uint64_t passive = quick ? 1000 : 100000;
    const uint64_t sync_signals = quick ? 2000 : 100000;
    const uint64_t sync_sessions = quick ? 100 : 1000;
    setenv("TIDAL_QUIET", "1", 0);

    bench_json j;
    bench_json_begin(&j);
    bench_json_str(&j, "bench", "memory");
    bench_json_bool(&j, "quick", quick);
    bench_json_str(&j, "heap", heap_how());
    bench_json_str(&j, "regions", "A writes, B follows; ephemeral, inproc; B's share measured");
    bench_json_u64(&j, "writer_threads", WRITERS);
    loadavg_json(&j, "loadavg_1m_start");

    uint64_t t0 = bench_now_ns();
    struct sessions_result s = measure_sessions(passive, !quick);
    uint64_t t1 = bench_now_ns();
    bench_json_obj(&j, "passive_sessions");
    bench_json_u64(&j, "sessions", passive);
    bench_json_f(&j, "bytes_per_session", s.b_per_session, 1);
    bench_json_u64(&j, "live_actors_in_b", s.b_live_actors);
    bench_json_f(&j, "origin_bytes_per_session_actors_live", s.a_per_session_live, 1);
    bench_json_u64(&j, "origin_live_actors", s.a_live_actors);
    if (s.waited) {
        bench_json_f(&j, "origin_bytes_per_session_after_passivation", s.a_per_session_passive, 1);
        bench_json_u64(&j, "origin_live_actors_after_wait", s.a_live_after_wait);
    }
    bench_json_f(&j, "starts_per_s", s.start_per_s, 0);
    bench_json_bool(&j, "goal_at_most_2KiB", s.b_per_session <= 2048.0);
    bench_json_f(&j, "elapsed_s", (double)(t1 - t0) / 1e9, 1);
    bench_json_close(&j);
    fflush(stdout); /* a failure later leaves what was measured */

    struct signals_result g = measure_signals(signal_sessions, signals, items, s.b_per_session);
    uint64_t t2 = bench_now_ns();
    bench_json_obj(&j, "signals");
    bench_json_u64(&j, "signals", signals);
    bench_json_u64(&j, "sessions", signal_sessions);
    bench_json_u64(&j, "catalogue_items", items);
    bench_json_u64(&j, "signal_types", 2);
    bench_json_u64(&j, "heap_bytes_b_share", g.b_share_bytes);
    bench_json_f(&j, "bytes_per_signal", g.b_per_signal, 1);
    bench_json_f(&j, "bytes_per_signal_without_session_records", g.b_per_signal_without_sessions,
                 1);
    bench_json_f(&j, "origin_bytes_per_signal", g.a_per_signal, 1);
    bench_json_bool(&j, "goal_at_most_200B", g.b_per_signal <= 200.0);
    bench_json_f(&j, "process_cpu_percent_idle_holding_them", g.idle_cpu_percent, 0);
    bench_json_f(&j, "elapsed_s", (double)(t2 - t1) / 1e9, 1);
    bench_json_close(&j);
    fflush(stdout);

    double sync_rate = measure_sync_throughput(sync_sessions, sync_signals, items);
    uint64_t t3 = bench_now_ns();
    bench_json_obj(&j, "write_throughput");
    bench_json_f(&j, "none_records_per_s", g.records_per_s, 0);
    bench_json_u64(&j, "none_records", signals);
    bench_json_f(&j, "sync_records_per_s", sync_rate, 0);
    bench_json_u64(&j, "sync_records", sync_signals);
    bench_json_f(&j, "sync_elapsed_s", (double)(t3 - t2) / 1e9, 1);
    bench_json_close(&j);
    loadavg_json(&j, "loadavg_1m_end");
    bench_json_end(&j);
    return 0;
}
