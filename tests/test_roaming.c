/*
 * Agent roaming: one session written from region A, then B, then A again,
 * several times.  Each move hands the session's home over (its seqno
 * counter travels with it), so in every region the session's signals are
 * exactly seqnos 1..N in write order: nothing lost, duplicated or
 * reordered, and all regions converge.  Also under duplication and
 * reordering, and across three regions.
 */
#include <pthread.h>

#include "repl_helpers.h"

TIDAL_SUITE(roaming);

struct agent {
    tidal_session_id sid;
    tidal_entity_id items[WL_SIGNALS_MAX];
    size_t n;
};

static void
write_in(tidal_region *r, struct agent *a, int count)
{
    for (int i = 0; i < count; i++) {
        tidal_entity_id item = 300 + (tidal_entity_id)(a->n % 11);
        TIDAL_PASS(tidal_signal_in_session(r, a->sid, "click", item, 1.0, repl_now_ns()));
        a->items[a->n++] = item;
    }
}

static bool
knows(tidal_region *r, tidal_session_id s)
{
    tidal_session_view v;
    return tidal_get_session(r, s, &v) == 0;
}

static tidal_region_id
home_in(tidal_region *r, tidal_session_id s)
{
    tidal_session_view v;
    TIDAL_PASS(tidal_get_session(r, s, &v));
    return v.home;
}

/* Starts the agent's session in the first region of path, waits for every
 * region to know it, then writes per_stop signals in each region of path
 * in turn; checks the home followed the agent and that every region ends
 * with exactly the signals written, in write order. */
static void
roam(repl_env *e, const int *path, int stops, int per_stop)
{
    struct agent a = {0};
    TIDAL_PASS(tidal_start_session(e->r[path[0]], 42, NULL, &a.sid));
    for (int i = 0; i < e->n; i++) {
        bool ok = TIDAL_WAIT_UNTIL(knows(e->r[i], a.sid), REPL_DEADLINE_MS);
        cr_assert(ok, "the start did not reach region %d", i);
    }
    for (int s = 0; s < stops; s++) {
        tidal_region *r = e->r[path[s]];
        write_in(r, &a, per_stop);
        cr_assert_eq(home_in(r, a.sid), path[s], "stop %d: the home moved to region %d", s,
                     path[s]);
    }
    repl_wait_converged(e);
    for (int i = 0; i < e->n; i++) {
        repl_assert_signals(e->r[i], a.sid, a.n, a.items);
        cr_assert_eq(home_in(e->r[i], a.sid), path[stops - 1], "region %d's view of the home", i);
        tidal_signal_view v[WL_SIGNALS_MAX];
        size_t n;
        TIDAL_PASS(tidal_session_signals(e->r[i], a.sid, v, WL_SIGNALS_MAX, &n));
        for (size_t k = 0; k < n; k++) {
            int stop = (int)(k / (size_t)per_stop);
            cr_assert_eq(v[k].origin, path[stop], "seqno %zu was ordered by region %d", k + 1,
                         path[stop]);
        }
    }
    int64_t clicks = 0;
    for (int item = 0; item < 11; item++) {
        clicks += repl_count(e->r[0], 300 + (tidal_entity_id)item, "click");
    }
    cr_assert_eq(clicks, (int64_t)a.n, "every signal counted once");
}

Test(roaming, a_b_a_several_times)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x40a1);
    repl_open_ephemeral(&e, 2);
    static const int path[] = {0, 1, 0, 1, 0, 1, 0};
    roam(&e, path, 7, 6);
    repl_close(&e);
}

Test(roaming, one_write_per_stop)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x40a2);
    repl_open_ephemeral(&e, 2);
    static const int path[] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
    roam(&e, path, 16, 1);
    repl_close(&e);
}

Test(roaming, three_regions)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x40a3);
    repl_open_ephemeral(&e, 3);
    static const int path[] = {0, 1, 2, 0, 2, 1, 0};
    roam(&e, path, 7, 4);
    repl_close(&e);
}

Test(roaming, over_tcp)
{
    repl_env e;
    repl_cluster(&e, "tcp", 0x40a4);
    repl_open_ephemeral(&e, 2);
    static const int path[] = {0, 1, 0, 1};
    roam(&e, path, 4, 5);
    repl_close(&e);
}

/* Duplication and reordering on every link, handovers included.  A held-back
 * envelope is never also duplicated: a window of 3 leaves a third of them
 * to the duplication draw, so every runtime surely duplicates some. */
Test(roaming, under_duplication_and_reordering)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x40a5);
    repl_open_ephemeral(&e, 2);
    tidal_fault_rule rule = {.duplicate = 0.3, .reorder_window = 3};
    TIDAL_PASS(tidal_cluster_fault_set(e.c, 0, 1, &rule, 1));
    static const int path[] = {0, 1, 0, 1, 0, 1, 0, 1};
    roam(&e, path, 8, 8);
    for (int r = 0; r < 2; r++) {
        tidal_runtime *rt = tidal_region_runtime(e.r[r]);
        cr_assert_gt(repl_trace_count(rt, TIDAL_FAULT_REORDER, 0), 0, "region %d", r);
        cr_assert_gt(repl_trace_count(rt, TIDAL_FAULT_DUPLICATE, 0), 0, "region %d", r);
    }
    TIDAL_PASS(tidal_cluster_heal(e.c));
    repl_wait_converged(&e);
    repl_close(&e);
}

/* Roaming while the origin's batches are delayed: the new home orders its
 * writes after the old home's even before they have arrived. */
Test(roaming, while_batches_are_delayed)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x40a6);
    repl_open_ephemeral(&e, 2);
    tidal_fault_rule rule = {.delay = 0.5, .delay_min_ms = 5, .delay_max_ms = 20};
    TIDAL_PASS(tidal_cluster_fault_set(e.c, 0, 1, &rule, 1));
    static const int path[] = {0, 1, 0, 1};
    roam(&e, path, 4, 8);
    cr_assert_gt(repl_trace_count(tidal_region_runtime(e.r[0]), TIDAL_FAULT_DELAY, 0), 0);
    repl_close(&e);
}

/* A late copy of an old handover answer must not be taken for the answer to
 * a new request.  Region 0's answers to region 1's first handover are held
 * back 300 ms (region 1 asks again every 100 ms, so copies keep arriving
 * after it got the first); by then the session went back to region 0, which
 * wrote a signal region 1 has not received yet (its batches are held back
 * too), and region 1 asks again, slowly.  Taking a late copy would have
 * region 1 reuse the seqno region 0 just gave its signal. */
Test(roaming, late_answer_to_an_old_handover_is_ignored)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x40a7);
    repl_open_ephemeral(&e, 2);
    tidal_runtime *rt0 = tidal_region_runtime(e.r[0]), *rt1 = tidal_region_runtime(e.r[1]);
    struct agent a = {0};
    TIDAL_PASS(tidal_start_session(e.r[0], 42, NULL, &a.sid));
    write_in(e.r[0], &a, 2);
    bool known = TIDAL_WAIT_UNTIL(repl_signals_len(e.r[1], a.sid) == 2, REPL_DEADLINE_MS);
    cr_assert(known);

    tidal_fault_rule slow = {.delay = 1.0, .delay_min_ms = 300, .delay_max_ms = 300};
    TIDAL_PASS(tidal_fault_set(rt0, "region-0/*", "region-1/*", &slow)); /* answers */
    write_in(e.r[1], &a, 1); /* stop 1: waits for the first answer */
    TIDAL_PASS(tidal_fault_clear(rt0, "region-0/*", "region-1/*"));
    slow.delay_min_ms = slow.delay_max_ms = 400;
    TIDAL_PASS(tidal_fault_set(rt0, "*", "region-1", &slow)); /* region 0's batches */
    write_in(e.r[0], &a, 1);                                  /* stop 2 */
    slow.delay_min_ms = slow.delay_max_ms = 250;
    TIDAL_PASS(tidal_fault_set(rt1, "region-1/*", "region-0/*", &slow)); /* requests */
    write_in(e.r[1], &a, 1); /* stop 3: late copies of stop 1's answers arrive meanwhile */
    cr_assert_gt(repl_trace_count(rt0, TIDAL_FAULT_DELAY, 0), 1);
    TIDAL_PASS(tidal_cluster_heal(e.c));
    repl_wait_converged(&e);
    static const tidal_region_id wrote[] = {0, 0, 1, 0, 1}; /* by seqno */
    for (int i = 0; i < 2; i++) {
        repl_assert_signals(e.r[i], a.sid, a.n, a.items);
        tidal_signal_view v[8];
        size_t n;
        TIDAL_PASS(tidal_session_signals(e.r[i], a.sid, v, 8, &n));
        for (size_t k = 0; k < n; k++) {
            cr_assert_eq(v[k].origin, wrote[k], "region %d: seqno %zu reused", i, k + 1);
        }
    }
    repl_close(&e);
}

/* ---- writes on the caller's thread (actors/client.c) ---- */

static uint64_t
activations(tidal_region *r)
{
    tidal_stats st;
    tidal_runtime_stats(tidal_region_runtime(r), &st);
    return st.activations;
}

/* At the session's home its writes are made on the caller's thread: its
 * session actor is never activated.  Elsewhere they go to the session actor,
 * which has the home hand the session over. */
Test(roaming, writes_at_the_home_need_no_session_actor)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x40a8);
    repl_open_ephemeral(&e, 2);
    struct agent a = {0};
    TIDAL_PASS(tidal_start_session(e.r[0], 42, NULL, &a.sid));
    write_in(e.r[0], &a, 5);
    cr_assert_eq(activations(e.r[0]), 0, "region 0 activated its session actor");
    cr_assert(TIDAL_WAIT_UNTIL(knows(e.r[1], a.sid), REPL_DEADLINE_MS));
    write_in(e.r[1], &a, 5);
    cr_assert_geq(activations(e.r[1]), 1, "the handover went through region 1's session actor");
    cr_assert_eq(home_in(e.r[1], a.sid), 1);
    TIDAL_PASS(tidal_end_session(e.r[1], a.sid));
    repl_wait_converged(&e);
    for (int i = 0; i < 2; i++) {
        repl_assert_signals(e.r[i], a.sid, a.n, a.items);
    }
    repl_close(&e);
}

struct racer {
    tidal_region *r;
    tidal_session_id sid;
    tidal_entity_id base; /* its items: base, base + 1, ... in write order */
    int n;
    int err;
};

static void *
racer_main(void *arg)
{
    struct racer *w = arg;
    for (int i = 0; i < w->n && w->err == 0; i++) {
        w->err = tidal_signal_in_session(w->r, w->sid, "click", w->base + (tidal_entity_id)i,
                                         1.0, repl_now_ns());
    }
    return NULL;
}

/* Three writers at region 0 and one at region 1 write one session at once:
 * region 0's callers write on their own threads while region 1 keeps asking
 * for the home and region 0's session actor keeps asking it back.  Every
 * write is applied once under its own seqno (1..N with no gap: two writes
 * given one seqno would leave one out), each writer's writes keep their
 * order, and both regions end equal. */
Test(roaming, writers_at_two_regions_at_once)
{
    enum { WRITERS = 4, PER_WRITER = 250 };
    repl_env e;
    repl_cluster(&e, "inproc", 0x40a9);
    repl_open_ephemeral(&e, 2);
    tidal_session_id sid;
    TIDAL_PASS(tidal_start_session(e.r[0], 42, NULL, &sid));
    cr_assert(TIDAL_WAIT_UNTIL(knows(e.r[1], sid), REPL_DEADLINE_MS));
    struct racer w[WRITERS];
    pthread_t t[WRITERS];
    for (int k = 0; k < WRITERS; k++) {
        w[k] = (struct racer){.r = e.r[k == WRITERS - 1 ? 1 : 0], .sid = sid,
                              .base = 1000 * (tidal_entity_id)(k + 1), .n = PER_WRITER};
        cr_assert_eq(pthread_create(&t[k], NULL, racer_main, &w[k]), 0);
    }
    for (int k = 0; k < WRITERS; k++) {
        pthread_join(t[k], NULL);
        cr_assert_eq(w[k].err, 0, "writer %d: %s", k, tidal_errname(w[k].err));
    }
    repl_wait_converged(&e);
    for (int i = 0; i < 2; i++) {
        tidal_signal_view v[WRITERS * PER_WRITER + 1];
        size_t n;
        TIDAL_PASS(tidal_session_signals(e.r[i], sid, v, WRITERS * PER_WRITER + 1, &n));
        cr_assert_eq(n, WRITERS * PER_WRITER, "region %d holds %zu signals", i, n);
        tidal_entity_id next[WRITERS];
        for (int k = 0; k < WRITERS; k++) {
            next[k] = w[k].base;
        }
        for (size_t s = 0; s < n; s++) {
            cr_assert_eq(v[s].seqno, s + 1, "region %d: seqno %llu at %zu", i,
                         (unsigned long long)v[s].seqno, s);
            int k = (int)(v[s].item / 1000) - 1;
            cr_assert(k >= 0 && k < WRITERS && v[s].item == next[k],
                      "region %d: item %llu out of its writer's order", i,
                      (unsigned long long)v[s].item);
            next[k]++;
        }
    }
    repl_close(&e);
}

/* A signal whose append fails (here: region 0's memory log is full, its
 * peer acknowledges nothing, and region 0 keeps every batch for it and gives
 * up on a write after 50 ms) gives its seqno back: the next signal takes it,
 * so no seqno is left that later signals would wait for. */
Test(roaming, a_failed_signal_gives_its_seqno_back)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x40aa);
    tidal_region_opts o = {.region_id = 0, .memory_bytes = 4096, .peer_hold_ms = UINT32_MAX,
                           .write_timeout_ms = 50};
    repl_open_opts(&e, &o);
    repl_open_region(&e, 1, false, TIDAL_SYNC);
    TIDAL_PASS(tidal_cluster_partition(e.c, 0, 1)); /* nothing is acknowledged: kept */
    struct agent a = {0};
    TIDAL_PASS(tidal_start_session(e.r[0], 42, NULL, &a.sid));
    int rv;
    while ((rv = tidal_signal_in_session(e.r[0], a.sid, "click", 300 + a.n % 11, 1.0,
                                         repl_now_ns())) == 0) {
        cr_assert_lt(a.n, WL_SIGNALS_MAX, "4 KiB holds far fewer signals");
        a.items[a.n] = 300 + a.n % 11;
        a.n++;
    }
    TIDAL_FAIL(rv, TIDAL_EFULL);
    repl_assert_signals(e.r[0], a.sid, a.n, a.items); /* the refused one left nothing */
    TIDAL_PASS(tidal_cluster_heal(e.c));
    /* room comes back once region 1 has acknowledged everything */
    uint64_t last = repl_stats(e.r[0]).last_lsn;
    bool acked = TIDAL_WAIT_UNTIL(repl_stats(e.r[0]).acked_lsn[1] == last, REPL_DEADLINE_MS);
    cr_assert(acked, "region 1 did not acknowledge region 0's log");
    write_in(e.r[0], &a, 2);
    repl_assert_signals(e.r[0], a.sid, a.n, a.items);
    repl_wait_converged(&e);
    repl_assert_signals(e.r[1], a.sid, a.n, a.items);
    repl_close(&e);
}
