/*
 * A handover request that outlives the home it asked for (actors/session.c,
 * "Roaming"), in the simulation so that the interleaving is exact.
 *
 * Region 1 asks region 0 for a session; region 0 gives it (HOME(1, next 2)
 * in its log) and answers, but its answer is held back on the way.  The
 * writer's call at region 1 times out (write_timeout_ms), its write still
 * queued in region 1's session actor.  Region 0's log then makes region 1
 * the home in region 1's state, and before region 1's actor looks again
 * the writer writes at region 0: region 0 asks region 1, which gives the
 * session back at next 2, and region 0 writes the acknowledged signal with
 * seqno 2.  Then the held-back answer (next 2) reaches region 1, whose
 * request is still "in progress", with the same correlation id and from
 * the region it asked.  Taking it would make region 1 the home again
 * without region 0 giving it: region 1 would write its queued (timed out)
 * signal with seqno 2 too, and wherever that one arrived first the
 * acknowledged one would be dropped as a duplicate seqno - an acknowledged
 * roaming write lost (tidal check --scenario roaming --transport ipc, under
 * load).  The answer must be taken only while region 1's state still names
 * the home it asked, as it did when it asked.
 *
 * The mirror image: region 0 asks region 1, which gives the session and
 * whose answer is held back, and whose log does not reach region 0 yet.
 * Region 1 then wants the session back and asks region 0, whose state
 * still names region 1 as the home.  Answering "already given to you,
 * go on from N" would make region 1 the home again while region 0's own
 * request, granted, is still to be answered: both would go on from N.  So
 * a home that gave the session away answers no request for it any more;
 * the asker learns it is the home from the giver's log.
 */
#include "repl_helpers.h"
#include "tidal/fault.h"
#include "tidal/sim.h"

TIDAL_SUITE(handover_race);

#define MS 1000000ull
#define SEC (1000 * MS)

struct home_of {
    tidal_region *r;
    tidal_session_id sid;
    tidal_region_id home;
};

static bool
home_is(void *arg)
{
    struct home_of *h = arg;
    tidal_session_view v;
    return tidal_get_session(h->r, h->sid, &v) == 0 && v.home == h->home;
}

/* How many of the session's signals at r are for item. */
static int
copies_of(tidal_region *r, tidal_session_id sid, tidal_entity_id item, tidal_seqno *seqno)
{
    tidal_signal_view v[16];
    size_t n = 0;
    TIDAL_PASS(tidal_session_signals(r, sid, v, 16, &n));
    int copies = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].item == item) {
            copies++;
            *seqno = v[i].seqno;
        }
    }
    return copies;
}

static int
sig(tidal_region *r, tidal_session_id sid, tidal_entity_id item)
{
    return tidal_signal_in_session(r, sid, "click", item, 1.0,
                                   tidal_wall_ns(tidal_region_runtime(r)));
}


static void
open_two(tidal_sim **s, repl_env *e)
{
    tidal_sim_opts so = {.seed = 0x5e55, .latency_min_us = 200, .latency_max_us = 1000};
    TIDAL_PASS(tidal_sim_open(&so, s));
    memset(e, 0, sizeof(*e));
    tidal_cluster_opts co = {.seed = 0x5e55, .sim = *s};
    TIDAL_PASS(tidal_cluster_open(&co, &e->c));
    for (int i = 0; i < 2; i++) {
        /* a caller gives up long before its session actor asks again
         * (TIDAL_HANDOVER_RETRY_MS) */
        tidal_region_opts o = {.region_id = (tidal_region_id)i, .write_timeout_ms = 20};
        TIDAL_PASS(tidal_region_open(e->c, &o, &e->r[i]));
        e->n = i + 1;
    }
}

struct settled {
    repl_env *e;
    tidal_session_id sid;
    size_t n;
};

/* Converged, with every queued write written. */
static bool
settled(void *arg)
{
    struct settled *st = arg;
    return repl_converged_now(st->e) && repl_signals_len(st->e->r[0], st->sid) == st->n &&
           repl_signals_len(st->e->r[1], st->sid) == st->n;
}

/* Heals, waits until both regions hold n signals and agree, then checks
 * the acknowledged item holds seqno `at` there, once, and that no item is
 * there twice (items 1..n are each written once). */
static void
check_settled(tidal_sim *s, repl_env *e, tidal_session_id sid, size_t n,
              tidal_entity_id acked, tidal_seqno at)
{
    TIDAL_PASS(tidal_cluster_heal(e->c));
    struct settled st = {e, sid, n};
    int rv = tidal_sim_run_until(s, settled, &st, tidal_sim_now_ns(s) + 60 * SEC);
    for (int i = 0; i < 2; i++) {
        tidal_seqno got = 0;
        cr_assert_eq(copies_of(e->r[i], sid, acked, &got), 1,
                     "region %d: the acknowledged signal is lost or doubled", i);
        cr_assert_eq(got, at, "region %d: the acknowledged signal holds seqno %llu", i,
                     (unsigned long long)got);
        for (tidal_entity_id item = 1; item <= 9; item++) {
            cr_assert_leq(copies_of(e->r[i], sid, item, &got), 1,
                          "region %d: item %llu twice", i, (unsigned long long)item);
        }
    }
    cr_assert_eq(rv, 0, "the regions did not settle: a queued write was never written");
}

Test(handover_race, a_late_answer_after_the_home_came_and_went_is_ignored)
{
    tidal_sim *s;
    repl_env e;
    open_two(&s, &e);
    tidal_runtime *rt0 = tidal_region_runtime(e.r[0]);
    struct home_of h = {e.r[1], {0, 0}, 0};
    TIDAL_PASS(tidal_start_session(e.r[0], 42, NULL, &h.sid));
    TIDAL_PASS(sig(e.r[0], h.sid, 1)); /* seqno 1 */
    TIDAL_PASS(tidal_sim_run_until(s, home_is, &h, tidal_sim_now_ns(s) + 10 * SEC));

    /* region 0's answers to region 1's session actor are held back */
    tidal_fault_rule slow = {.delay = 1.0, .delay_min_ms = 500, .delay_max_ms = 500};
    TIDAL_PASS(tidal_fault_set(rt0, "region-0/*", "region-1/*", &slow));
    TIDAL_FAIL(sig(e.r[1], h.sid, 9), TIDAL_ETIMEDOUT); /* unknown: queued at region 1 */
    TIDAL_PASS(tidal_fault_clear(rt0, "region-0/*", "region-1/*"));
    h.home = 1; /* region 0's HOME record reaches region 1 before the answer */
    TIDAL_PASS(tidal_sim_run_until(s, home_is, &h, tidal_sim_now_ns(s) + 50 * MS));

    /* region 1 does not receive region 0's batches for now (the signal
     * below), so it cannot learn the next seqno from them */
    tidal_fault_rule cut = {.partition = 1};
    TIDAL_PASS(tidal_fault_set(rt0, "*", "region-1", &cut));
    TIDAL_PASS(sig(e.r[0], h.sid, 3)); /* acknowledged: the home came back */
    h.r = e.r[0];
    h.home = 0;
    cr_assert(home_is(&h), "region 0 wrote as the home");
    /* region 1's session actor asks again, in vain, until the held-back
     * answer has come */
    TIDAL_PASS(tidal_fault_set(tidal_region_runtime(e.r[1]), "region-1/*", "region-0/*", &cut));
    tidal_sim_run_for(s, 700 * MS);
    check_settled(s, &e, h.sid, 3, 3, 2);
    repl_close(&e);
    TIDAL_PASS(tidal_sim_close(s));
}

Test(handover_race, a_home_that_gave_the_session_away_does_not_give_it_again)
{
    tidal_sim *s;
    repl_env e;
    open_two(&s, &e);
    tidal_runtime *rt0 = tidal_region_runtime(e.r[0]), *rt1 = tidal_region_runtime(e.r[1]);
    struct home_of h = {e.r[0], {0, 0}, 1};
    TIDAL_PASS(tidal_start_session(e.r[1], 42, NULL, &h.sid));
    TIDAL_PASS(sig(e.r[1], h.sid, 1)); /* seqno 1 */
    TIDAL_PASS(tidal_sim_run_until(s, home_is, &h, tidal_sim_now_ns(s) + 10 * SEC));

    /* region 1 gives the session to region 0: its answer is held back, and
     * its batches (the HOME record) do not reach region 0 for now */
    tidal_fault_rule slow = {.delay = 1.0, .delay_min_ms = 500, .delay_max_ms = 500};
    tidal_fault_rule cut = {.partition = 1};
    TIDAL_PASS(tidal_fault_set(rt1, "*", "region-0", &cut));
    TIDAL_PASS(tidal_fault_set(rt1, "region-1/*", "region-0/*", &slow));
    TIDAL_FAIL(sig(e.r[0], h.sid, 9), TIDAL_ETIMEDOUT); /* unknown: queued at region 0 */
    TIDAL_PASS(tidal_fault_clear(rt1, "region-1/*", "region-0/*"));
    h.r = e.r[1];
    h.home = 0;
    cr_assert(home_is(&h), "region 1 gave the session away");

    /* the writer moves back to region 1, which asks region 0: region 0's
     * state still names region 1 */
    int rv = sig(e.r[1], h.sid, 3);
    cr_assert(rv == 0 || rv == TIDAL_ETIMEDOUT, "%s", tidal_strerror(rv));
    /* region 0's session actor asks again, in vain, until the held-back
     * answer has come */
    TIDAL_PASS(tidal_fault_set(rt0, "region-0/*", "region-1/*", &cut));
    tidal_sim_run_for(s, 700 * MS);
    if (rv == 0) {
        check_settled(s, &e, h.sid, 3, 3, 2); /* before the queued one: seqno 2 */
    } else {
        check_settled(s, &e, h.sid, 3, 1, 1); /* both unknown: none twice */
    }
    repl_close(&e);
    TIDAL_PASS(tidal_sim_close(s));
}
