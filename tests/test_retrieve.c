/*
 * Retrieval (tidal_retrieve_items): candidates ranked by their signals
 * (client.c: per signal type, the last hour's count, plus a tenth of the
 * last 24 hours', plus a hundredth of the last 7 days'), items without
 * signals kept and ranked last in the caller's order, at most `limit`, and
 * items hidden for the user never returned - in the region that wrote the
 * signals and hides and in its peers once they have replicated.
 */
#include <math.h>

#include "repl_helpers.h"

TIDAL_SUITE(retrieve);

#define HOUR_NS (3600ull * 1000000000ull)

struct ranked {
    repl_env e;
    tidal_session_id sid;
};

/* Region 0 and 1; in region 0: item 3 gets 2 signals now, item 4 one now,
 * item 2 three from two hours ago; items 1 and 5 none. */
static void
open_ranked(struct ranked *t)
{
    repl_cluster(&t->e, "inproc", 0x7e7e);
    repl_open_ephemeral(&t->e, 2);
    TIDAL_PASS(tidal_start_session(t->e.r[0], 1, NULL, &t->sid));
    uint64_t now = repl_now_ns();
    for (int i = 0; i < 2; i++) {
        TIDAL_PASS(tidal_signal_in_session(t->e.r[0], t->sid, "view", 3, 1.0, now));
    }
    TIDAL_PASS(tidal_signal_in_session(t->e.r[0], t->sid, "like", 4, 1.0, now));
    for (int i = 0; i < 3; i++) {
        TIDAL_PASS(tidal_signal_in_session(t->e.r[0], t->sid, "view", 2, 1.0, now - 2 * HOUR_NS));
    }
    repl_wait_converged(&t->e);
}

static const tidal_entity_id candidates[] = {1, 2, 5, 4, 3};

static size_t
ask(tidal_region *r, tidal_entity_id user, size_t limit, tidal_scored_item *out)
{
    tidal_retrieve q = {.user = user, .candidates = candidates, .ncandidates = 5, .limit = limit};
    size_t n = 99;
    TIDAL_PASS(tidal_retrieve_items(r, &q, out, &n));
    return n;
}

static void
assert_order(const tidal_scored_item *out, size_t n, const tidal_entity_id *want, size_t nwant)
{
    cr_assert_eq(n, nwant, "%zu items returned, expected %zu", n, nwant);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(out[i].item, want[i], "rank %zu: item %llu, expected %llu", i,
                     (unsigned long long)out[i].item, (unsigned long long)want[i]);
    }
}

static bool
near(double a, double b)
{
    return fabs(a - b) < 1e-9;
}

Test(retrieve, ranks_by_recent_signals_and_keeps_unsignalled_last)
{
    struct ranked t;
    open_ranked(&t);
    static const tidal_entity_id want[] = {3, 4, 2, 1, 5};
    tidal_scored_item out[5];
    for (int r = 0; r < 2; r++) { /* the same ranking where the signals replicated */
        size_t n = ask(t.e.r[r], 9, 0, out);
        assert_order(out, n, want, 5);
        cr_assert(near(out[0].score, 2.0 + 0.2 + 0.02), "item 3: %f", out[0].score);
        cr_assert(near(out[1].score, 1.0 + 0.1 + 0.01), "item 4: %f", out[1].score);
        cr_assert(near(out[2].score, 0.3 + 0.03), "item 2 (older): %f", out[2].score);
        cr_assert_eq(out[3].score, 0.0);
        cr_assert_eq(out[4].score, 0.0);
    }
    repl_close(&t.e);
}

Test(retrieve, equal_scores_keep_candidate_order)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x7e7f);
    repl_open_ephemeral(&e, 1);
    tidal_session_id s;
    TIDAL_PASS(tidal_start_session(e.r[0], 1, NULL, &s));
    uint64_t now = repl_now_ns();
    for (tidal_entity_id item = 10; item <= 12; item++) {
        TIDAL_PASS(tidal_signal_in_session(e.r[0], s, "view", item, 1.0, now));
    }
    static const tidal_entity_id cand[] = {12, 20, 10, 21, 11};
    static const tidal_entity_id want[] = {12, 10, 11, 20, 21};
    tidal_scored_item out[5];
    size_t n;
    tidal_retrieve q = {.user = 1, .candidates = cand, .ncandidates = 5};
    TIDAL_PASS(tidal_retrieve_items(e.r[0], &q, out, &n));
    assert_order(out, n, want, 5);
    repl_close(&e);
}

Test(retrieve, limit_keeps_the_best)
{
    struct ranked t;
    open_ranked(&t);
    tidal_scored_item out[5];
    static const tidal_entity_id want[] = {3, 4, 2, 1, 5};
    for (size_t limit = 1; limit <= 6; limit++) {
        size_t n = ask(t.e.r[1], 9, limit, out);
        assert_order(out, n, want, limit < 5 ? limit : 5);
    }
    tidal_retrieve none = {.user = 9, .candidates = candidates, .ncandidates = 0, .limit = 3};
    size_t n = 99;
    TIDAL_PASS(tidal_retrieve_items(t.e.r[1], &none, out, &n));
    cr_assert_eq(n, 0);
    repl_close(&t.e);
}

Test(retrieve, hidden_items_are_never_returned_in_any_region)
{
    struct ranked t;
    open_ranked(&t);
    /* user 9 hides the best item and one without signals, in region 0 */
    TIDAL_PASS(tidal_hide_item(t.e.r[0], 9, 3));
    TIDAL_PASS(tidal_hide_item(t.e.r[0], 9, 1));
    repl_wait_converged(&t.e);
    static const tidal_entity_id want[] = {4, 2, 5};
    tidal_scored_item out[5];
    for (int r = 0; r < 2; r++) {
        assert_order(out, ask(t.e.r[r], 9, 0, out), want, 3);
        assert_order(out, ask(t.e.r[r], 9, 1, out), want, 1); /* limit counts what is kept */
    }
    /* every candidate hidden: nothing */
    for (tidal_entity_id item = 1; item <= 5; item++) {
        TIDAL_PASS(tidal_hide_item(t.e.r[1], 8, item));
    }
    repl_wait_converged(&t.e);
    for (int r = 0; r < 2; r++) {
        cr_assert_eq(ask(t.e.r[r], 8, 0, out), 0);
    }
    repl_close(&t.e);
}

Test(retrieve, hiding_is_per_user)
{
    struct ranked t;
    open_ranked(&t);
    TIDAL_PASS(tidal_hide_item(t.e.r[1], 9, 3));
    repl_wait_converged(&t.e);
    static const tidal_entity_id all[] = {3, 4, 2, 1, 5}, without3[] = {4, 2, 1, 5};
    tidal_scored_item out[5];
    for (int r = 0; r < 2; r++) {
        assert_order(out, ask(t.e.r[r], 9, 0, out), without3, 4);
        assert_order(out, ask(t.e.r[r], 10, 0, out), all, 5);
    }
    /* an unhide with a later stamp brings it back, in its rank */
    TIDAL_PASS(tidal_unhide_item(t.e.r[0], 9, 3));
    repl_wait_converged(&t.e);
    for (int r = 0; r < 2; r++) {
        assert_order(out, ask(t.e.r[r], 9, 0, out), all, 5);
    }
    repl_close(&t.e);
}

Test(retrieve, bad_queries_are_refused)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x7e80);
    repl_open_ephemeral(&e, 1);
    tidal_scored_item out[1];
    size_t n;
    tidal_retrieve q = {.user = 1, .candidates = NULL, .ncandidates = 1};
    TIDAL_FAIL(tidal_retrieve_items(e.r[0], &q, out, &n), TIDAL_EINVAL);
    q.candidates = candidates;
    TIDAL_FAIL(tidal_retrieve_items(e.r[0], &q, NULL, &n), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_retrieve_items(e.r[0], &q, out, NULL), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_retrieve_items(e.r[0], NULL, out, &n), TIDAL_EINVAL);
    repl_close(&e);
}
