/*
 * The cost of the two listing reads Forage uses, on the store tables they
 * read (the region's call adds one lock and a copy):
 *  - top items (store/signals_top.c): ITEMS items with views and as many
 *    with likes, counts 1..50 spread over the last week; the k best views
 *    by 1 h, 24 h and 7 d window.  Baseline in the same run: the same
 *    items' counts read one by one with tidal_signals_count (what a caller
 *    without tidal_top_items would do, knowing the items), no ranking.
 *  - a user's sessions (store/session_users.c): SESSIONS sessions over
 *    USERS users, plus one user with 1,000; the listing of a user of 10
 *    and of the user of 1,000.  Baseline: the scan of the whole table the
 *    index saves.
 * Prints JSON; medians of RUNS.  --quick: tiny counts, for ctest.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "store/session.h"
#include "store/session_internal.h"
#include "store/signals.h"
#include "store/signals_top.h"
#include "tidal/errors.h"

#define RUNS 9
#define HOUR_NS 3600000000000ull
#define NOW (500000ull * HOUR_NS)

#define MUST(call)                                                                         \
    do {                                                                                   \
        int rv_ = (call);                                                                  \
        if (rv_ != 0) {                                                                    \
            fprintf(stderr, "%s: %s\n", #call, tidal_strerror(rv_));                       \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

static uint64_t
lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static void
fill_signals(tidal_signals *s, uint16_t view, uint16_t like, size_t items)
{
    uint64_t seed = 1;
    for (size_t i = 0; i < items; i++) {
        for (uint16_t t = view; t <= like; t++) {
            uint64_t n = 1 + lcg(&seed) % 50;
            uint64_t age = lcg(&seed) % (7 * 24) * HOUR_NS;
            MUST(tidal_signals_apply(s, (tidal_entity_id)i + 1, t, 0, (int64_t)n, NOW - age));
        }
    }
}

/* Median ns of RUNS calls of top k over window w; *got the items listed. */
static double
time_top(const tidal_signals *s, uint16_t type, tidal_sigwindow w, size_t k,
         tidal_signals_ranked *out, size_t *got)
{
    double v[RUNS];
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = bench_now_ns();
        MUST(tidal_signals_top(s, type, w, NOW, k, out, got));
        v[r] = (double)(bench_now_ns() - t0);
    }
    return bench_median(v, RUNS);
}

static double
time_counts(const tidal_signals *s, uint16_t type, size_t items)
{
    double v[RUNS];
    int64_t sum = 0;
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = bench_now_ns();
        for (size_t i = 0; i < items; i++) {
            int64_t c = 0;
            MUST(tidal_signals_count(s, (tidal_entity_id)i + 1, type, TIDAL_SIGWINDOW_7D, NOW, &c));
            sum += c;
        }
        v[r] = (double)(bench_now_ns() - t0);
    }
    if (sum <= 0) {
        exit(1); /* every item has a count: the loop was not elided */
    }
    return bench_median(v, RUNS);
}

static void
bench_top(bench_json *j, size_t items)
{
    tidal_sigtypes *ty;
    tidal_signals *s;
    uint16_t view, like;
    MUST(tidal_sigtypes_open(&ty));
    MUST(tidal_sigtypes_intern(ty, "view", &view));
    MUST(tidal_sigtypes_intern(ty, "like", &like));
    MUST(tidal_signals_open(ty, &s));
    fill_signals(s, view, like, items);
    tidal_signals_ranked *out = malloc(100 * sizeof(*out));
    size_t got = 0;
    bench_json_obj(j, "top_items");
    bench_json_u64(j, "items_of_the_type", items);
    bench_json_u64(j, "pairs_scanned", tidal_signals_entries(s));
    static const char *const names[] = {"1h", "24h", "7d"};
    char key[64];
    for (int w = 0; w < 3; w++) {
        snprintf(key, sizeof(key), "k10_%s_ms", names[w]);
        bench_json_f(j, key, time_top(s, view, (tidal_sigwindow)w, 10, out, &got) / 1e6, 3);
    }
    bench_json_f(j, "k100_7d_ms", time_top(s, view, TIDAL_SIGWINDOW_7D, 100, out, &got) / 1e6, 3);
    if (got != (items < 100 ? items : 100)) {
        exit(1);
    }
    bench_json_f(j, "baseline_counts_one_by_one_7d_ms", time_counts(s, view, items) / 1e6, 3);
    bench_json_close(j);
    free(out);
    tidal_signals_close(s);
    tidal_sigtypes_close(ty);
}

static double
time_of_user(const tidal_sessions *t, tidal_entity_id user, tidal_session_id *out, size_t *n)
{
    double v[RUNS];
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = bench_now_ns();
        MUST(tidal_sessions_of_user(t, user, 0, out, 1000, n));
        v[r] = (double)(bench_now_ns() - t0);
    }
    return bench_median(v, RUNS);
}

static double
time_scan(const tidal_sessions *t, tidal_entity_id user, size_t *n)
{
    double v[RUNS];
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = bench_now_ns();
        size_t cursor = 0, found = 0;
        tidal_session_id id;
        while (tidal_sessions_next(t, &cursor, &id)) {
            tidal_session_state st;
            MUST(tidal_sessions_get(t, &id, &st));
            found += st.user == user;
        }
        *n = found;
        v[r] = (double)(bench_now_ns() - t0);
    }
    return bench_median(v, RUNS);
}

static void
bench_users(bench_json *j, size_t sessions, size_t users)
{
    tidal_sigtypes *ty;
    tidal_sessions *t;
    MUST(tidal_sigtypes_open(&ty));
    MUST(tidal_sessions_open(ty, &t));
    uint64_t seed = 2;
    for (size_t i = 0; i < sessions + 1000; i++) {
        tidal_session_id id = {1 + lcg(&seed), 1 + i};
        tidal_hlc st = {NOW + lcg(&seed), 0, 0};
        tidal_entity_id user = i < sessions ? 1 + i % users : 0; /* user 0: the 1,000 */
        MUST(tidal_sessions_start(t, &id, user, 0, &st));
    }
    tidal_session_id *out = malloc(1000 * sizeof(*out));
    size_t n = 0, scanned = 0;
    bench_json_obj(j, "user_sessions");
    bench_json_u64(j, "sessions", tidal_sessions_count(t));
    bench_json_u64(j, "users", users + 1);
    bench_json_f(j, "user_of_10_us", time_of_user(t, 7, out, &n) / 1e3, 2);
    bench_json_u64(j, "user_of_10_listed", n);
    bench_json_f(j, "user_of_1000_us", time_of_user(t, 0, out, &n) / 1e3, 2);
    bench_json_u64(j, "user_of_1000_listed", n);
    bench_json_f(j, "baseline_full_scan_us", time_scan(t, 7, &scanned) / 1e3, 2);
    bench_json_f(j, "index_bytes_per_session",
                 (double)tidal__sess_users_memory_bytes(t) / (double)tidal_sessions_count(t), 1);
    bench_json_close(j);
    if (scanned != sessions / users || n != 1000) {
        exit(1);
    }
    free(out);
    tidal_sessions_close(t);
    tidal_sigtypes_close(ty);
}

int
main(int argc, char **argv)
{
    bool quick = bench_parse_quick(argc, argv, "bench_lists [--quick]");
    bench_json j;
    bench_json_begin(&j);
    bench_top(&j, quick ? 1000 : 100000);
    bench_users(&j, quick ? 10000 : 1000000, quick ? 1000 : 100000);
    bench_json_end(&j);
    return 0;
}
