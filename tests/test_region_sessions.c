/*
 * Every session of a region in pages (tidal_region_sessions, and
 * tidal_sessions_page in store/session_list.c) and a session's signals from
 * a seqno on (tidal_session_signals_from): the two reads an export pages
 * through with bounded buffers.  Pages are checked against a sorted scan of
 * the whole table the test makes itself, at every page size, through
 * starts, removes and retirements; in a region: empty, paging, a session
 * freed by the retention leaves, the arguments refused.
 */
#include <stdlib.h>

#include "repl_helpers.h"
#include "store/session.h"

TIDAL_SUITE(region_sessions);

#define T0 (1700000000ull * 1000000000ull)
#define IDS 200

static int
by_id(const void *a, const void *b)
{
    return tidal_session_id_compare(a, b);
}

/* The ids the table holds, not expired at cutoff, sorted: the expected
 * listing. */
static size_t
scan_sorted(const tidal_sessions *t, uint64_t cutoff, tidal_session_id *out)
{
    size_t cursor = 0, n = 0;
    tidal_session_id id;
    while (tidal_sessions_next(t, &cursor, &id)) {
        if (!tidal_sessions_expired(t, &id, cutoff)) {
            out[n++] = id;
        }
    }
    qsort(out, n, sizeof(out[0]), by_id);
    return n;
}

/* Walks the table in pages of max and compares with the scan. */
static void
assert_pages_match(const tidal_sessions *t, uint64_t cutoff, size_t max, int step)
{
    tidal_session_id want[IDS], page[IDS];
    size_t nwant = scan_sorted(t, cutoff, want), seen = 0, n;
    const tidal_session_id *after = NULL;
    tidal_session_id cursor;
    for (;;) {
        tidal_sessions_page(t, after, cutoff, page, max, &n);
        cr_assert_eq(n, nwant - seen, "step %d, max %zu: %zu above the cursor, expected %zu", step,
                     max, n, nwant - seen);
        size_t got = n < max ? n : max;
        for (size_t i = 0; i < got; i++) {
            cr_assert(tidal_session_id_compare(&page[i], &want[seen + i]) == 0,
                      "step %d, max %zu: rank %zu differs", step, max, seen + i);
        }
        seen += got;
        if (n <= max || max == 0) { /* max 0 only counts */
            break;
        }
        cursor = page[got - 1];
        after = &cursor;
    }
    cr_assert_eq(seen, max > 0 ? nwant : 0);
}

Test(region_sessions, pages_agree_with_a_sorted_scan_through_every_operation)
{
    tidal_sigtypes *types;
    tidal_sessions *t;
    TIDAL_PASS(tidal_sigtypes_open(&types));
    TIDAL_PASS(tidal_sessions_open(types, &t));
    uint64_t seed = 11;
    for (size_t max = 0; max < 4; max++) {
        assert_pages_match(t, 0, max, -1); /* empty: n 0, nothing written */
    }
    for (int step = 0; step < 1500; step++) {
        /* ids spread over hi and lo so that both halves order */
        uint64_t k = tidal_test_rand(&seed) % IDS;
        tidal_session_id id = {k % 3 == 0 ? UINT64_MAX - k : k % 5, 1 + k};
        tidal_hlc stamp = {T0 + tidal_test_rand(&seed) % 1000, 0, 0};
        int rv;
        switch (tidal_test_rand(&seed) % 4) {
        case 0:
        case 1:
            rv = tidal_sessions_start(t, &id, k % 7, 0, &stamp);
            cr_assert(rv == 0 || rv == TIDAL_ESTATE, "start: %s", tidal_errname(rv));
            break;
        case 2:
            rv = tidal_sessions_end(t, &id, &stamp);
            cr_assert(rv == 0 || rv == TIDAL_ENOENT);
            break;
        default:
            rv = tidal_test_rand(&seed) % 2 ? tidal_sessions_remove(t, &id)
                                            : tidal_sessions_retire(t, &id);
            cr_assert(rv == 0 || rv == TIDAL_ENOENT || rv == TIDAL_ESTATE);
            break;
        }
        if (step % 50 == 0) {
            static const size_t maxes[] = {0, 1, 2, 3, 7, 64, IDS};
            for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
                assert_pages_match(t, 0, maxes[i], step);
                assert_pages_match(t, T0 + 500, maxes[i], step); /* expired left out */
            }
        }
    }
    tidal_sessions_close(t);
    tidal_sigtypes_close(types);
}

/* The region's walk in pages of max: every id, ascending, once. */
static size_t
walk(tidal_region *r, size_t max, tidal_session_id *all, size_t cap)
{
    tidal_session_id page[8], cursor;
    const tidal_session_id *after = NULL;
    size_t seen = 0, n;
    cr_assert_leq(max, 8);
    for (;;) {
        TIDAL_PASS(tidal_region_sessions(r, after, page, max, &n));
        size_t got = n < max ? n : max;
        for (size_t i = 0; i < got; i++) {
            cr_assert_lt(seen, cap);
            all[seen++] = page[i];
        }
        if (n <= max) {
            return seen;
        }
        cursor = page[got - 1];
        after = &cursor;
    }
}

static void
assert_walks(tidal_region *r, const tidal_session_id *ids, size_t nids)
{
    tidal_session_id want[16], got[16];
    if (nids > 0) { /* ids may be NULL when there are none */
        memcpy(want, ids, nids * sizeof(ids[0]));
    }
    qsort(want, nids, sizeof(want[0]), by_id);
    for (size_t max = 1; max <= 8; max++) {
        size_t n = walk(r, max, got, 16);
        cr_assert_eq(n, nids, "region %u, max %zu: %zu listed, expected %zu",
                     (unsigned)tidal_region_id_of(r), max, n, nids);
        for (size_t i = 0; i < n; i++) {
            cr_assert(tidal_session_id_compare(&got[i], &want[i]) == 0, "max %zu: rank %zu", max,
                      i);
        }
    }
    size_t count = 99;
    TIDAL_PASS(tidal_region_sessions(r, NULL, NULL, 0, &count));
    cr_assert_eq(count, nids);
}

static bool
freed_everywhere(repl_env *e)
{
    return repl_stats(e->r[0]).sessions_freed == 1 && repl_stats(e->r[1]).sessions_freed == 1;
}

/* Sessions started in both regions of two are walked alike in each; an
 * ended one freed by the retention leaves every walk; arguments refused. */
Test(region_sessions, every_region_walks_every_session_and_the_freed_leave)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x5e55);
    for (int i = 0; i < 2; i++) {
        tidal_region_opts o = {.region_id = (tidal_region_id)i, .session_retention_ms = 100};
        repl_open_opts(&e, &o);
    }
    for (int r = 0; r < 2; r++) {
        assert_walks(e.r[r], NULL, 0); /* empty: *n 0 */
    }
    tidal_session_id ids[11];
    for (int i = 0; i < 11; i++) {
        TIDAL_PASS(tidal_start_session(e.r[i % 2], (tidal_entity_id)i, NULL, &ids[i]));
    }
    repl_wait_converged(&e);
    for (int r = 0; r < 2; r++) {
        assert_walks(e.r[r], ids, 11);
    }
    /* after the greatest id: none; after the smallest: the rest */
    tidal_session_id sorted[11], page[11];
    memcpy(sorted, ids, sizeof(ids));
    qsort(sorted, 11, sizeof(sorted[0]), by_id);
    size_t n = 99;
    TIDAL_PASS(tidal_region_sessions(e.r[0], &sorted[10], page, 11, &n));
    cr_assert_eq(n, 0);
    TIDAL_PASS(tidal_region_sessions(e.r[0], &sorted[0], page, 11, &n));
    cr_assert(n == 10 && tidal_session_id_compare(&page[0], &sorted[1]) == 0);

    TIDAL_PASS(tidal_end_session(e.r[0], ids[4]));
    cr_assert(TIDAL_WAIT_UNTIL(freed_everywhere(&e), REPL_DEADLINE_MS),
              "the ended session was not freed in both regions");
    ids[4] = ids[10];
    for (int r = 0; r < 2; r++) {
        assert_walks(e.r[r], ids, 10);
    }
    TIDAL_FAIL(tidal_region_sessions(NULL, NULL, page, 1, &n), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_region_sessions(e.r[0], NULL, page, 1, NULL), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_region_sessions(e.r[0], NULL, NULL, 1, &n), TIDAL_EINVAL);
    repl_close(&e);
}

/* A session of 23 signals read in pages of every size from 1 to 24, from
 * every seqno: the same signals as one whole read; past the end, nothing;
 * unknown sessions and bad arguments refused. */
Test(region_sessions, signals_from_a_seqno_page_through_a_session)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x5e56);
    repl_open_ephemeral(&e, 1);
    tidal_region *r = e.r[0];
    tidal_session_id s;
    TIDAL_PASS(tidal_start_session(r, 3, NULL, &s));
    for (int i = 0; i < 23; i++) {
        TIDAL_PASS(tidal_signal_in_session(r, s, i % 2 ? "like" : "shown:fresh",
                                           (tidal_entity_id)(100 + i), 1 + i / 10, repl_now_ns()));
    }
    tidal_signal_view whole[23], page[24];
    size_t n = 0;
    TIDAL_PASS(tidal_session_signals(r, s, whole, 23, &n));
    cr_assert_eq(n, 23);
    for (size_t max = 1; max <= 24; max++) {
        size_t seen = 0;
        tidal_seqno from = 0;
        for (;;) {
            TIDAL_PASS(tidal_session_signals_from(r, s, from, page, max, &n));
            cr_assert_eq(n, 23 - seen, "max %zu from %llu: %zu", max, (unsigned long long)from, n);
            size_t got = n < max ? n : max;
            for (size_t i = 0; i < got; i++) {
                const tidal_signal_view *w = &whole[seen + i];
                cr_assert(page[i].seqno == w->seqno && page[i].item == w->item &&
                              strcmp(page[i].type, w->type) == 0 && page[i].weight == w->weight &&
                              tidal_hlc_compare(&page[i].stamp, &w->stamp) == 0,
                          "max %zu: signal %zu differs", max, seen + i);
            }
            seen += got;
            if (n <= max) {
                break;
            }
            from = page[got - 1].seqno + 1;
        }
        cr_assert_eq(seen, 23);
    }
    for (tidal_seqno from = 1; from <= 25; from++) {
        TIDAL_PASS(tidal_session_signals_from(r, s, from, page, 1, &n));
        cr_assert_eq(n, from <= 23 ? 24 - from : 0, "from %llu", (unsigned long long)from);
        if (n > 0) {
            cr_assert_eq(page[0].seqno, from);
        }
    }
    TIDAL_PASS(tidal_session_signals_from(r, s, 5, NULL, 0, &n));
    cr_assert_eq(n, 19);
    tidal_session_id unknown = {0x1234, 0x5678};
    TIDAL_FAIL(tidal_session_signals_from(r, unknown, 1, page, 1, &n), TIDAL_ENOENT);
    TIDAL_FAIL(tidal_session_signals_from(NULL, s, 1, page, 1, &n), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_session_signals_from(r, s, 1, page, 1, NULL), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_session_signals_from(r, s, 1, NULL, 1, &n), TIDAL_EINVAL);
    repl_close(&e);
}
