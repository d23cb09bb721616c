/*
 * The top items of a signal type by windowed count (tidal_top_items):
 * checked against counts the test computes itself from the signals it
 * wrote and signals.h's bucket definitions (a 1 h window is the current
 * minute bucket and the 59 before it, 24 h and 7 d the current hour bucket
 * and the 23 / 167 before it), best first with ties by the smaller item id,
 * as windows roll with the region's clock; then over two regions, where
 * each counts both regions' signals; then the edges of the arguments.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "repl_helpers.h"

TIDAL_SUITE(top_items);

#define MIN_NS (60ull * 1000000000ull)
#define HOUR_NS (60ull * MIN_NS)
#define DAY_NS (24ull * HOUR_NS)
/* The test's wall clock: 20 minutes into an hour, so windows have both
 * edges away from the start. */
#define T0 (20000000ull * HOUR_NS + 20ull * MIN_NS)
#define ITEMS 40
#define EVENTS_MAX 2048

static _Atomic uint64_t clock_ns = T0;

static uint64_t
test_clock(void *arg)
{
    (void)arg;
    return atomic_load(&clock_ns);
}

struct event {
    tidal_entity_id item;
    int like; /* 1: "like", 0: "view" */
    uint64_t ts;
};

static struct event events[EVENTS_MAX];
static size_t nevents;

static uint64_t
lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* The count of (item, like) in window w at now, from the bucket rules. */
static int64_t
expected_count(tidal_entity_id item, int like, tidal_window w, uint64_t now)
{
    uint64_t unit = w == TIDAL_WINDOW_1H ? MIN_NS : HOUR_NS;
    uint64_t span = w == TIDAL_WINDOW_1H ? 60 : w == TIDAL_WINDOW_24H ? 24 : 168;
    uint64_t last = now / unit, first = last >= span - 1 ? last - (span - 1) : 0;
    int64_t n = 0;
    for (size_t i = 0; i < nevents; i++) {
        uint64_t b = events[i].ts / unit;
        n += events[i].item == item && events[i].like == like && b >= first && b <= last;
    }
    return n;
}

static int
by_rank(const void *a, const void *b)
{
    const tidal_scored_item *x = a, *y = b;
    if (x->score != y->score) {
        return x->score > y->score ? -1 : 1;
    }
    return x->item < y->item ? -1 : x->item > y->item;
}

/* The expected top k: every item with a count, sorted, cut to k. */
static size_t
expected_top(int like, tidal_window w, uint64_t now, size_t k, tidal_scored_item *out)
{
    size_t n = 0;
    for (tidal_entity_id item = 1; item <= ITEMS + 2; item++) {
        int64_t c = expected_count(item, like, w, now);
        if (c > 0) {
            out[n++] = (tidal_scored_item){item, (double)c};
        }
    }
    qsort(out, n, sizeof(*out), by_rank);
    return n < k ? n : k;
}

static void
assert_top(tidal_region *r, int like, tidal_window w, size_t k, const char *when)
{
    tidal_scored_item want[ITEMS + 2], got[ITEMS + 2];
    size_t nwant = expected_top(like, w, atomic_load(&clock_ns), k, want);
    size_t n = 999;
    TIDAL_PASS(tidal_top_items(r, like ? "like" : "view", w, k, got, &n));
    cr_assert_eq(n, nwant, "%s: window %d k %zu: %zu items, expected %zu", when, (int)w, k, n,
                 nwant);
    for (size_t i = 0; i < n; i++) {
        cr_assert(got[i].item == want[i].item && got[i].score == want[i].score,
                  "%s: window %d k %zu rank %zu: item %llu (%.0f), expected %llu (%.0f)", when,
                  (int)w, k, i, (unsigned long long)got[i].item, got[i].score,
                  (unsigned long long)want[i].item, want[i].score);
    }
}

/* Writes one signal into session s of region r and records it. */
static void
put(tidal_region *r, tidal_session_id s, tidal_entity_id item, int like, uint64_t ts)
{
    cr_assert(nevents < EVENTS_MAX);
    TIDAL_PASS(tidal_signal_in_session(r, s, like ? "like" : "view", item, 1.0, ts));
    events[nevents++] = (struct event){item, like, ts};
}

/* Signals of ITEMS items at random ages up to 8 days, and a deliberate tie
 * in each window: items ITEMS+1 and ITEMS+2 get 7 views 10 s ago each. */
static void
write_workload(tidal_region *r, tidal_session_id s, uint64_t seed, uint64_t now)
{
    for (int i = 0; i < 600; i++) {
        tidal_entity_id item = 1 + lcg(&seed) % ITEMS;
        /* half within the last 2 hours, so the 1 h window has a spread */
        uint64_t range = (i % 2) ? 2 * HOUR_NS : 8 * DAY_NS;
        uint64_t age = lcg(&seed) * 1000003ull % range;
        put(r, s, item, lcg(&seed) % 4 == 0, now - age);
    }
    for (int i = 0; i < 7; i++) {
        put(r, s, ITEMS + 2, 0, now - 10ull * 1000000000ull);
        put(r, s, ITEMS + 1, 0, now - 10ull * 1000000000ull);
    }
}

static void
assert_every_window(tidal_region *r, const char *when)
{
    static const tidal_window ws[] = {TIDAL_WINDOW_1H, TIDAL_WINDOW_24H, TIDAL_WINDOW_7D};
    static const size_t ks[] = {1, 3, 10, ITEMS + 2, 1000};
    tidal_scored_item big[1000];
    for (size_t w = 0; w < 3; w++) {
        for (size_t k = 0; k < 4; k++) {
            assert_top(r, 0, ws[w], ks[k], when);
            assert_top(r, 1, ws[w], ks[k], when);
        }
        /* k far above the items: every item with a count, nothing more */
        size_t n = 0;
        TIDAL_PASS(tidal_top_items(r, "view", ws[w], ks[4], big, &n));
        tidal_scored_item want[ITEMS + 2];
        cr_assert_eq(n, expected_top(0, ws[w], atomic_load(&clock_ns), ks[4], want), "%s", when);
    }
}

Test(top_items, exact_against_independent_counts_as_windows_roll)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x70b1);
    atomic_store(&clock_ns, T0);
    nevents = 0;
    /* one region: a clock moved by days is nobody's skew */
    tidal_region_opts o = {.region_id = 0, .wall_clock = test_clock,
                           .session_retention_ms = UINT32_MAX};
    tidal_region *r = repl_open_opts(&e, &o);
    tidal_session_id s;
    TIDAL_PASS(tidal_start_session(r, 1, NULL, &s));
    write_workload(r, s, 42, T0);
    assert_every_window(r, "at T0");
    static const uint64_t steps[] = {30 * MIN_NS, 31 * MIN_NS, 50 * MIN_NS, 20 * HOUR_NS,
                                     3 * DAY_NS, 4 * DAY_NS};
    char when[64];
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        atomic_fetch_add(&clock_ns, steps[i]);
        snprintf(when, sizeof(when), "after step %zu", i);
        assert_every_window(r, when);
    }
    /* past every window: nothing listed */
    size_t n = 9;
    tidal_scored_item out[4];
    TIDAL_PASS(tidal_top_items(r, "view", TIDAL_WINDOW_7D, 4, out, &n));
    cr_assert_eq(n, 0, "8+ days on, every view left the 7 d window: %zu listed", n);
    repl_close(&e);
}

Test(top_items, ties_go_to_the_smaller_item_id)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x70b2);
    repl_open_ephemeral(&e, 1);
    tidal_session_id s;
    TIDAL_PASS(tidal_start_session(e.r[0], 1, NULL, &s));
    uint64_t now = repl_now_ns();
    /* items 9, 5, 7 twice each, item 3 once, written in that order */
    static const tidal_entity_id order[] = {9, 5, 7, 9, 5, 7, 3};
    for (size_t i = 0; i < 7; i++) {
        TIDAL_PASS(tidal_signal_in_session(e.r[0], s, "view", order[i], 1.0, now));
    }
    tidal_scored_item out[4];
    size_t n = 0;
    TIDAL_PASS(tidal_top_items(e.r[0], "view", TIDAL_WINDOW_1H, 4, out, &n));
    static const tidal_entity_id want[] = {5, 7, 9, 3};
    static const double score[] = {2, 2, 2, 1};
    cr_assert_eq(n, 4);
    for (size_t i = 0; i < 4; i++) {
        cr_assert(out[i].item == want[i] && out[i].score == score[i],
                  "rank %zu: item %llu (%.0f)", i, (unsigned long long)out[i].item, out[i].score);
    }
    /* k 2 cuts inside the tie: the two smallest ids of it */
    TIDAL_PASS(tidal_top_items(e.r[0], "view", TIDAL_WINDOW_1H, 2, out, &n));
    cr_assert(n == 2 && out[0].item == 5 && out[1].item == 7);
    repl_close(&e);
}

Test(top_items, counts_every_regions_signals_applied_here)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x70b3);
    repl_open_ephemeral(&e, 2);
    tidal_session_id s0, s1;
    TIDAL_PASS(tidal_start_session(e.r[0], 1, NULL, &s0));
    TIDAL_PASS(tidal_start_session(e.r[1], 2, NULL, &s1));
    uint64_t now = repl_now_ns();
    /* item 1: 3 here + 0 there; item 2: 2 + 2; item 3: 0 + 3 */
    for (int i = 0; i < 3; i++) {
        TIDAL_PASS(tidal_signal_in_session(e.r[0], s0, "like", 1, 1.0, now));
        TIDAL_PASS(tidal_signal_in_session(e.r[1], s1, "like", 3, 1.0, now));
    }
    for (int i = 0; i < 2; i++) {
        TIDAL_PASS(tidal_signal_in_session(e.r[0], s0, "like", 2, 1.0, now));
        TIDAL_PASS(tidal_signal_in_session(e.r[1], s1, "like", 2, 1.0, now));
    }
    repl_wait_converged(&e);
    for (int r = 0; r < 2; r++) {
        tidal_scored_item out[3];
        size_t n = 0;
        TIDAL_PASS(tidal_top_items(e.r[r], "like", TIDAL_WINDOW_24H, 3, out, &n));
        cr_assert_eq(n, 3, "region %d: %zu", r, n);
        cr_assert(out[0].item == 2 && out[0].score == 4, "region %d: first %llu", r,
                  (unsigned long long)out[0].item);
        cr_assert(out[1].item == 1 && out[1].score == 3 && out[2].item == 3 && out[2].score == 3,
                  "region %d: tie of 3 by id", r);
    }
    repl_close(&e);
}

Test(top_items, edges_of_the_arguments)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x70b4);
    repl_open_ephemeral(&e, 1);
    tidal_region *r = e.r[0];
    tidal_session_id s;
    TIDAL_PASS(tidal_start_session(r, 1, NULL, &s));
    TIDAL_PASS(tidal_signal_in_session(r, s, "view", 8, 1.0, repl_now_ns()));
    tidal_scored_item out[2] = {{77, 7}, {77, 7}};
    size_t n = 99;
    /* an unknown type (and a valid name never used) lists nothing */
    TIDAL_PASS(tidal_top_items(r, "never", TIDAL_WINDOW_1H, 2, out, &n));
    cr_assert_eq(n, 0);
    cr_assert_eq(out[0].item, 77, "nothing written for an unknown type");
    /* k 0: nothing written, out may be NULL */
    n = 99;
    TIDAL_PASS(tidal_top_items(r, "view", TIDAL_WINDOW_1H, 0, NULL, &n));
    cr_assert_eq(n, 0);
    TIDAL_FAIL(tidal_top_items(NULL, "view", TIDAL_WINDOW_1H, 2, out, &n), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_top_items(r, NULL, TIDAL_WINDOW_1H, 2, out, &n), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_top_items(r, "view", TIDAL_WINDOW_1H, 2, out, NULL), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_top_items(r, "view", TIDAL_WINDOW_1H, 2, NULL, &n), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_top_items(r, "view", (tidal_window)0, 2, out, &n), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_top_items(r, "view", (tidal_window)4, 2, out, &n), TIDAL_EINVAL);
    /* and the one item there is */
    TIDAL_PASS(tidal_top_items(r, "view", TIDAL_WINDOW_7D, 2, out, &n));
    cr_assert(n == 1 && out[0].item == 8 && out[0].score == 1);
    repl_close(&e);
}
