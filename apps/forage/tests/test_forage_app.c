/*
 * The live app (app.h) over a real tidal cluster of two regions: slates
 * recorded in tidal as schema.h says, answers, hides that keep items out of
 * every later slate in every region, bandit weights that roam with the
 * user, refusals that change nothing, and a restart from a directory.
 */
#include <string.h>

#include "forage_test.h"

#include "app.h"
#include "app_impl.h"

FORAGE_SUITE(forage_app);

static forage_app *
open_app(const char *dir)
{
    forage_app *a = NULL;
    char err[FORAGE_ERR_BYTES];
    forage_app_opts o = {.regions = 2, .seed = 7, .dir = dir};
    int rv = forage_app_open(&o, &a, err);
    cr_assert(rv == 0, "forage_app_open: %s (%s)", tidal_errname(rv), err);
    return a;
}

/* Waits until region `to` has applied everything region `from` wrote. */
static void
replicate(forage_app *a, uint32_t from, uint32_t to)
{
    tidal_region_stats st;
    tidal_region_stats_get(forage_app_region(a, from), &st);
    FORAGE_PASS(tidal_region_wait_applied(forage_app_region(a, to), (tidal_region_id)from,
                                          st.last_lsn, 30000));
}

static size_t
signals_of(forage_app *a, uint32_t region, tidal_session_id s, tidal_signal_view *v, size_t max)
{
    size_t n = 0;
    FORAGE_PASS(tidal_session_signals(forage_app_region(a, region), s, v, max, &n));
    return n;
}

Test(forage_app, a_slate_is_ten_distinct_items_recorded_as_shown_signals)
{
    forage_app *a = open_app(NULL);
    tidal_session_id s;
    forage_served sv;
    FORAGE_PASS(forage_app_start(a, 0, 42, &s));
    FORAGE_PASS(forage_app_slate(a, 0, s, &sv));
    cr_assert_eq(sv.n, FORAGE_SLATE_SLOTS);
    cr_assert_eq(sv.slate, 1);
    cr_assert_eq(sv.user, 42);
    tidal_signal_view v[64];
    size_t n = signals_of(a, 0, s, v, 64);
    cr_assert_eq(n, sv.n, "one shown signal per item");
    for (size_t i = 0; i < sv.n; i++) {
        for (size_t j = 0; j < i; j++)
            cr_assert_neq(sv.items[i].item, sv.items[j].item, "item %zu twice", i);
        cr_assert_eq(v[i].item, sv.items[i].item);
        cr_assert_eq(forage_shown_source(v[i].type), sv.items[i].source, "%s", v[i].type);
        cr_assert_eq(v[i].weight, 1.0);
        cr_assert_not_null(sv.items[i].title);
        cr_assert_str_eq(sv.items[i].label_name, forage_app_item_label(a, sv.items[i].item));
    }
    /* The next slate is number 2 and repeats nothing the session showed. */
    forage_served sv2;
    FORAGE_PASS(forage_app_slate(a, 0, s, &sv2));
    cr_assert_eq(sv2.slate, 2);
    for (size_t i = 0; i < sv2.n; i++)
        for (size_t j = 0; j < sv.n; j++)
            cr_assert_neq(sv2.items[i].item, sv.items[j].item);
    FORAGE_PASS(forage_app_close(a));
}

/* The first item of a slate that came from source src, or -1. */
static long
from_source(const forage_served *sv, int src)
{
    for (size_t i = 0; i < sv->n; i++)
        if (sv->items[i].source == src)
            return (long)i;
    return -1;
}

Test(forage_app, answers_count_on_the_source_and_the_weights_roam)
{
    forage_app *a = open_app(NULL);
    tidal_session_id s;
    forage_served sv;
    FORAGE_PASS(forage_app_start(a, 0, 7, &s));
    FORAGE_PASS(forage_app_slate(a, 0, s, &sv));
    const forage_served_item *liked = &sv.items[0], *skipped = &sv.items[1];
    FORAGE_PASS(forage_app_answer(a, 0, s, liked->item, FORAGE_ANSWER_LIKE));
    FORAGE_PASS(forage_app_answer(a, 0, s, skipped->item, FORAGE_ANSWER_SKIP));
    FORAGE_PASS(forage_app_answer(a, 0, s, liked->item, FORAGE_ANSWER_VIEW));
    forage_weights w0, w1, pop;
    FORAGE_PASS(forage_app_weights(a, 0, 7, &w0));
    FORAGE_PASS(forage_app_weights(a, 0, FORAGE_POPULATION_USER, &pop));
    cr_assert(memcmp(w0.arms, pop.arms, sizeof(w0.arms)) == 0, "the population counts them too");
    forage_arm want[FORAGE_SOURCES] = {{0, 0}};
    want[liked->source].successes++;
    want[skipped->source].failures++;
    for (int i = 0; i < FORAGE_SOURCES; i++) {
        cr_assert_eq(w0.arms[i].successes, want[i].successes, "source %d", i);
        cr_assert_eq(w0.arms[i].failures, want[i].failures, "source %d", i);
        cr_assert_float_eq(w0.mean[i], forage_arm_mean(&want[i]), 1e-12);
    }
    /* The answers are signals of slate 1 about their items. */
    tidal_signal_view v[64];
    size_t n = signals_of(a, 0, s, v, 64);
    cr_assert_eq(n, sv.n + 3);
    cr_assert_str_eq(v[sv.n].type, "like");
    cr_assert_eq(v[sv.n].item, liked->item);
    cr_assert_eq(v[sv.n].weight, 1.0);
    cr_assert_str_eq(v[sv.n + 1].type, "skip");
    cr_assert_str_eq(v[sv.n + 2].type, "view");
    /* The other region reads the same weights once it has applied them. */
    replicate(a, 0, 1);
    FORAGE_PASS(forage_app_weights(a, 1, 7, &w1));
    cr_assert(memcmp(w0.arms, w1.arms, sizeof(w0.arms)) == 0, "weights roam with the user");
    /* The session roams too: a slate there continues its numbering. */
    forage_served sv2;
    FORAGE_PASS(forage_app_slate(a, 1, s, &sv2));
    cr_assert_eq(sv2.slate, 2);
    for (size_t i = 0; i < sv2.n; i++)
        for (size_t j = 0; j < sv.n; j++)
            cr_assert_neq(sv2.items[i].item, sv.items[j].item, "roamed slate repeats an item");
    FORAGE_PASS(forage_app_close(a));
}

Test(forage_app, a_hidden_item_never_comes_back_in_any_region_until_unhidden)
{
    forage_app *a = open_app(NULL);
    tidal_session_id s;
    forage_served sv;
    FORAGE_PASS(forage_app_start(a, 0, 9, &s));
    FORAGE_PASS(forage_app_slate(a, 0, s, &sv));
    uint64_t item = sv.items[3].item;
    int src = sv.items[3].source;
    FORAGE_PASS(forage_app_answer(a, 0, s, item, FORAGE_ANSWER_HIDE));
    bool hidden = false;
    FORAGE_PASS(forage_app_hidden(a, 0, 9, item, &hidden));
    cr_assert(hidden);
    forage_weights w;
    FORAGE_PASS(forage_app_weights(a, 0, 9, &w));
    cr_assert_eq(w.arms[src].failures, FORAGE_HIDE_FAILURES, "a hide costs its source twice");
    replicate(a, 0, 1);
    FORAGE_PASS(forage_app_hidden(a, 1, 9, item, &hidden));
    cr_assert(hidden, "the hide replicated");
    /* A new session of the same user, in either region, never sees it. */
    tidal_session_id s2;
    FORAGE_PASS(forage_app_start(a, 1, 9, &s2));
    for (int k = 0; k < 30; k++) {
        forage_served x;
        FORAGE_PASS(forage_app_slate(a, k % 2, k < 15 ? s : s2, &x));
        for (size_t i = 0; i < x.n; i++)
            cr_assert_neq(x.items[i].item, item, "hidden item served in slate %d", k);
        if (k == 14 || k == 29)
            replicate(a, k % 2, 1 - k % 2);
    }
    FORAGE_PASS(forage_app_answer(a, 0, s, item, FORAGE_ANSWER_UNHIDE));
    FORAGE_PASS(forage_app_hidden(a, 0, 9, item, &hidden));
    cr_assert(!hidden, "unhidden");
    FORAGE_PASS(forage_app_close(a));
}

Test(forage_app, a_refused_call_changes_nothing)
{
    forage_app *a = open_app(NULL);
    tidal_session_id s, unknown = {.hi = 1, .lo = 2};
    forage_served sv;
    FORAGE_PASS(forage_app_start(a, 0, 5, &s));
    FORAGE_PASS(forage_app_slate(a, 0, s, &sv));
    const forage_catalogue *c = forage_app_catalogue(a);
    uint64_t never = 0;
    for (size_t i = 0; i < c->n && never == 0; i++) {
        never = c->ids[i];
        for (size_t j = 0; j < sv.n; j++)
            if (sv.items[j].item == never)
                never = 0;
    }
    tidal_region_stats before, after;
    tidal_region_stats_get(forage_app_region(a, 0), &before);
    uint64_t v0 = forage_app_version(a, 0);
    FORAGE_FAIL(forage_app_answer(a, 0, s, never, FORAGE_ANSWER_HIDE), TIDAL_ESTATE);
    FORAGE_FAIL(forage_app_answer(a, 0, s, UINT64_MAX, FORAGE_ANSWER_LIKE), TIDAL_EINVAL);
    FORAGE_FAIL(forage_app_answer(a, 0, s, sv.items[0].item, (forage_answer)99), TIDAL_EINVAL);
    FORAGE_FAIL(forage_app_answer(a, 0, unknown, sv.items[0].item, FORAGE_ANSWER_LIKE),
                TIDAL_ENOENT);
    FORAGE_FAIL(forage_app_answer(a, 2, s, sv.items[0].item, FORAGE_ANSWER_LIKE), TIDAL_EINVAL);
    FORAGE_FAIL(forage_app_slate(a, 0, unknown, &sv), TIDAL_ENOENT);
    FORAGE_FAIL(forage_app_slate(a, 5, s, &sv), TIDAL_EINVAL);
    tidal_session_id no;
    FORAGE_FAIL(forage_app_start(a, 0, FORAGE_POPULATION_USER, &no), TIDAL_EINVAL);
    bool hidden;
    FORAGE_FAIL(forage_app_hidden(a, 0, 5, UINT64_MAX, &hidden), TIDAL_EINVAL);
    tidal_region_stats_get(forage_app_region(a, 0), &after);
    cr_assert_eq(after.writes, before.writes, "a refused call wrote");
    cr_assert_eq(forage_app_version(a, 0), v0);
    FORAGE_PASS(forage_app_hidden(a, 0, 5, never, &hidden));
    cr_assert(!hidden);
    FORAGE_PASS(forage_app_close(a));
}

Test(forage_app, the_bandit_learns_which_source_the_user_likes)
{
    forage_app *a = open_app(NULL);
    tidal_session_id s;
    FORAGE_PASS(forage_app_start(a, 0, 11, &s));
    /* Like everything fresh, skip everything else, for 15 slates. */
    for (int k = 0; k < 15; k++) {
        forage_served sv;
        FORAGE_PASS(forage_app_slate(a, 0, s, &sv));
        for (size_t i = 0; i < sv.n; i++)
            FORAGE_PASS(forage_app_answer(a, 0, s, sv.items[i].item,
                                          sv.items[i].source == FORAGE_SOURCE_FRESH
                                              ? FORAGE_ANSWER_LIKE
                                              : FORAGE_ANSWER_SKIP));
    }
    forage_weights w;
    FORAGE_PASS(forage_app_weights(a, 0, 11, &w));
    for (int src = 0; src < FORAGE_SOURCES; src++)
        if (src != FORAGE_SOURCE_FRESH)
            cr_assert_gt(w.mean[FORAGE_SOURCE_FRESH], w.mean[src], "source %d", src);
    /* With those posteriors fresh takes most of the slate (Thompson's draws
     * are seeded: Beta(1+s, 1) against Beta(1, 1+f) is not close). */
    size_t fresh = 0, total = 0;
    for (int k = 0; k < 5; k++) {
        forage_served sv;
        FORAGE_PASS(forage_app_slate(a, 0, s, &sv));
        cr_assert_geq(from_source(&sv, FORAGE_SOURCE_FRESH), 0);
        for (size_t i = 0; i < sv.n; i++)
            fresh += sv.items[i].source == FORAGE_SOURCE_FRESH, total++;
    }
    cr_assert_gt(fresh * 2, total, "fresh got %zu of %zu slots", fresh, total);
    /* The population counted every answer too, and a new user, who has
     * answered nothing, starts from it: fresh leads their first slates. */
    forage_weights pw, nw;
    FORAGE_PASS(forage_app_weights(a, 0, FORAGE_POPULATION_USER, &pw));
    cr_assert(memcmp(pw.arms, w.arms, sizeof(w.arms)) == 0, "one user: the population is theirs");
    tidal_session_id s2;
    FORAGE_PASS(forage_app_start(a, 0, 12, &s2));
    FORAGE_PASS(forage_app_weights(a, 0, 12, &nw));
    for (int src = 0; src < FORAGE_SOURCES; src++)
        cr_assert_eq(nw.arms[src].successes + nw.arms[src].failures, 0);
    fresh = total = 0;
    for (int k = 0; k < 3; k++) {
        forage_served sv;
        FORAGE_PASS(forage_app_slate(a, 0, s2, &sv));
        for (size_t i = 0; i < sv.n; i++)
            fresh += sv.items[i].source == FORAGE_SOURCE_FRESH, total++;
    }
    cr_assert_gt(fresh * 2, total, "a new user's fresh slots: %zu of %zu", fresh, total);
    FORAGE_PASS(forage_app_close(a));
}

Test(forage_app, a_restart_from_its_directory_keeps_sessions_and_weights)
{
    const char *tmp = forage_test_tmpdir();
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", tmp);
    forage_app *a = open_app(dir);
    tidal_session_id s;
    forage_served sv;
    FORAGE_PASS(forage_app_start(a, 0, 3, &s));
    FORAGE_PASS(forage_app_slate(a, 0, s, &sv));
    FORAGE_PASS(forage_app_answer(a, 0, s, sv.items[0].item, FORAGE_ANSWER_LIKE));
    FORAGE_PASS(forage_app_answer(a, 0, s, sv.items[1].item, FORAGE_ANSWER_HIDE));
    forage_weights before, after;
    FORAGE_PASS(forage_app_weights(a, 0, 3, &before));
    FORAGE_PASS(forage_app_close(a));
    a = open_app(dir);
    FORAGE_PASS(forage_app_weights(a, 0, 3, &after));
    cr_assert(memcmp(before.arms, after.arms, sizeof(before.arms)) == 0);
    bool hidden = false;
    FORAGE_PASS(forage_app_hidden(a, 0, 3, sv.items[1].item, &hidden));
    cr_assert(hidden);
    forage_served sv2;
    FORAGE_PASS(forage_app_slate(a, 0, s, &sv2));
    cr_assert_eq(sv2.slate, 2, "the session's slates survived the restart");
    FORAGE_PASS(forage_app_close(a));
    forage_test_rmdir(dir);
}

Test(forage_app, candidate_messages_refuse_garbage)
{
    forage_request q = {
        .user = 5, .n_recent = 2, .recent = {3, 4}, .n_exclude = 3, .exclude = {7, 8, 9}};
    uint8_t buf[FORAGE_REQUEST_BYTES_MAX];
    size_t len = forage_request_encode(&q, buf);
    forage_request back;
    FORAGE_PASS(forage_request_decode(buf, len, 100, &back));
    cr_assert_eq(back.user, 5);
    cr_assert_eq(back.n_recent, 2);
    cr_assert_eq(back.recent[1], 4);
    cr_assert_eq(back.n_exclude, 3);
    cr_assert_eq(back.exclude[2], 9);
    for (size_t cut = 0; cut < len; cut++)
        FORAGE_FAIL(forage_request_decode(buf, cut, 100, &back), TIDAL_EINVAL);
    FORAGE_FAIL(forage_request_decode(buf, len, 9, &back), TIDAL_EINVAL); /* row 9 >= 9 */
    buf[8] = FORAGE_RECENT_LIKES + 1; /* more recent likes than a request holds */
    FORAGE_FAIL(forage_request_decode(buf, len, 100, &back), TIDAL_EINVAL);
    forage_candidates c = {.n = 2, .items = {1, 2}}, cb;
    uint8_t cbuf[8 + 8 * FORAGE_CANDIDATES_MAX + 8];
    size_t cl = forage_candidates_encode(&c, cbuf);
    FORAGE_PASS(forage_candidates_decode(cbuf, cl, 3, &cb));
    cr_assert_eq(cb.n, 2);
    FORAGE_FAIL(forage_candidates_decode(cbuf, cl - 1, 3, &cb), TIDAL_EINVAL);
    FORAGE_FAIL(forage_candidates_decode(cbuf, cl, 2, &cb), TIDAL_EINVAL);
    cbuf[cl] = 0;
    FORAGE_FAIL(forage_candidates_decode(cbuf, cl + 1, 3, &cb), TIDAL_EINVAL);
}

/* A slate reads only the session's newest signals; an answer about an item
 * shown before them still finds its slate (the whole session is read), and
 * the numbering goes on past the tail. */
Test(forage_app, a_long_session_still_answers_its_first_slate)
{
    forage_app *a = open_app(NULL);
    tidal_session_id s;
    forage_served first, sv;
    FORAGE_PASS(forage_app_start(a, 0, 21, &s));
    FORAGE_PASS(forage_app_slate(a, 0, s, &first));
    uint32_t slates = FORAGE_SESSION_TAIL / FORAGE_SLATE_SLOTS + 5;
    for (uint32_t k = 2; k <= slates; k++) {
        FORAGE_PASS(forage_app_slate(a, 0, s, &sv));
        cr_assert_eq(sv.slate, k);
    }
    tidal_session_view view;
    FORAGE_PASS(tidal_get_session(forage_app_region(a, 0), s, &view));
    cr_assert_gt(view.last_seqno, FORAGE_SESSION_TAIL, "the session outgrew the tail");
    /* An item of slate 1 that no later slate showed again (past the 256
     * excluded, the sources may offer an item again). */
    static tidal_signal_view all[FORAGE_SESSION_TAIL * 2];
    size_t count = 0;
    FORAGE_PASS(
        tidal_session_signals(forage_app_region(a, 0), s, all, FORAGE_SESSION_TAIL * 2, &count));
    cr_assert_leq(count, FORAGE_SESSION_TAIL * 2);
    long pick = -1;
    for (size_t i = 0; i < first.n && pick < 0; i++) {
        pick = (long)i;
        for (size_t j = first.n; j < count; j++)
            if (all[j].item == first.items[i].item)
                pick = -1;
    }
    cr_assert_geq(pick, 0, "every item of slate 1 was shown again");
    FORAGE_PASS(forage_app_answer(a, 0, s, first.items[pick].item, FORAGE_ANSWER_LIKE));
    tidal_signal_view last;
    size_t n = 0;
    FORAGE_PASS(
        tidal_session_signals_from(forage_app_region(a, 0), s, view.last_seqno + 1, &last, 1, &n));
    cr_assert_eq(n, 1);
    cr_assert_str_eq(last.type, "like");
    cr_assert_eq(last.weight, 1.0, "the like names slate 1, where the item was shown");
    forage_weights w;
    FORAGE_PASS(forage_app_weights(a, 0, 21, &w));
    cr_assert_eq(w.arms[first.items[pick].source].successes, 1);
    FORAGE_PASS(forage_app_slate(a, 0, s, &sv));
    cr_assert_eq(sv.slate, slates + 1);
    FORAGE_PASS(forage_app_close(a));
}
