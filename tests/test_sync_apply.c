/*
 * Under SYNC with a directory a region applies its own write once the sync
 * that makes it durable has returned (actors/pending.c), while what the next
 * write decides on is taken at the append.  Here, with a healthy disk: many
 * signals of one (item, type) in flight at once still count exactly once
 * each (their counter components are counted over the signals in flight),
 * a caller reads its own write when its call returns, and a session that
 * roams between two SYNC regions - its handovers and queued writes made by
 * session actors, which wait for nothing - keeps its seqnos gapless and
 * converges, and both regions reopen to the same state.  A signal the
 * new home of a roamed session acknowledged is seen there at once, even
 * when the old home's earlier seqnos have not reached it yet
 * (actors/seen.c).
 */
#include <pthread.h>

#include "repl_helpers.h"

TIDAL_SUITE(sync_apply);

#define ITEM 500u
#define THREADS 4
#define PER_THREAD 150

struct writer {
    tidal_region *r;
    tidal_session_id sid;
    int failures;
};

static void *
write_signals(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        int rv = tidal_signal_in_session(w->r, w->sid, "click", ITEM, 1.0, repl_now_ns());
        w->failures += rv != 0;
        /* read-your-writes: the call returned, so the write is applied */
        tidal_session_view v;
        if (tidal_get_session(w->r, w->sid, &v) != 0 || v.last_seqno != (tidal_seqno)i + 1) {
            w->failures++;
        }
    }
    return NULL;
}

static tidal_region *
open_sync(repl_env *e, int id)
{
    return repl_open_region(e, id, true, TIDAL_SYNC);
}

static void
reopen_both_same(repl_env *e)
{
    for (int id = 0; id < 2; id++) {
        uint64_t before = tidal_region_digest(e->r[id]);
        TIDAL_PASS(tidal_region_close(e->r[id]));
        e->r[id] = NULL;
        open_sync(e, id);
        cr_assert_eq(tidal_region_digest(e->r[id]), before, "region %d reopened different", id);
    }
}

Test(sync_apply, signals_in_flight_count_exactly_once)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x5a1);
    open_sync(&e, 0);
    open_sync(&e, 1);
    struct writer w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct writer){.r = e.r[0]};
        TIDAL_PASS(tidal_start_session(e.r[0], 10 + (tidal_entity_id)i, NULL, &w[i].sid));
    }
    for (int i = 0; i < THREADS; i++) {
        cr_assert_eq(pthread_create(&t[i], NULL, write_signals, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(w[i].failures, 0, "writer %d: a write failed or was not read back", i);
    }
    cr_assert_eq(repl_count(e.r[0], ITEM, "click"), THREADS * PER_THREAD,
                 "signals in flight together were counted as one");
    repl_wait_converged(&e);
    cr_assert_eq(repl_count(e.r[1], ITEM, "click"), THREADS * PER_THREAD);
    reopen_both_same(&e);
    cr_assert_eq(repl_count(e.r[0], ITEM, "click"), THREADS * PER_THREAD);
    repl_close(&e);
}

Test(sync_apply, a_session_roaming_between_sync_regions)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x5a2);
    open_sync(&e, 0);
    open_sync(&e, 1);
    tidal_session_id sid;
    TIDAL_PASS(tidal_start_session(e.r[0], 42, NULL, &sid));
    tidal_session_view v;
    cr_assert(TIDAL_WAIT_UNTIL(tidal_get_session(e.r[1], sid, &v) == 0, REPL_DEADLINE_MS));
    static const int path[] = {0, 1, 0, 1, 0};
    tidal_entity_id items[64];
    size_t n = 0;
    for (int s = 0; s < 5; s++) {
        for (int k = 0; k < 5; k++) {
            items[n] = ITEM + n % 3;
            TIDAL_PASS(tidal_signal_in_session(e.r[path[s]], sid, "view", items[n], 1.0,
                                               repl_now_ns()));
            n++;
            TIDAL_PASS(tidal_get_session(e.r[path[s]], sid, &v));
            cr_assert_eq(v.last_seqno, n, "the writer does not read its own write");
        }
        TIDAL_PASS(tidal_get_session(e.r[path[s]], sid, &v));
        cr_assert_eq(v.home, path[s]);
    }
    repl_wait_converged(&e);
    for (int i = 0; i < 2; i++) {
        repl_assert_signals(e.r[i], sid, n, items);
    }
    reopen_both_same(&e);
    repl_close(&e);
}

/* A signal written at region 1 right after a handover, seen from the
 * writer's thread the moment its call returns. */
struct roamed_write {
    tidal_region *r;
    tidal_session_id sid;
    int rv;
    tidal_seqno seen; /* the session's last seqno read right after the call */
};

static void *
write_after_roaming(void *arg)
{
    struct roamed_write *w = arg;
    w->rv = tidal_signal_in_session(w->r, w->sid, "view", ITEM, 1.0, repl_now_ns());
    tidal_session_view v;
    w->seen = tidal_get_session(w->r, w->sid, &v) == 0 ? v.last_seqno : 0;
    return NULL;
}

/* Region 0's batches to region 1 are cut (a fault rule on region 0's links
 * to region 1's region actor; the handover, between the session's actors,
 * goes through), so region 1 lacks seqnos 1..3 when the session roams to it
 * and its own signal 4 is durable but held behind them.  The call must not
 * return before a read at region 1 sees it: it returns once the cut heals
 * and the old home's log arrives, and the read right after it sees seqno 4. */
Test(sync_apply, a_roamed_signal_is_seen_at_the_new_home_when_its_call_returns)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x5a3);
    for (int id = 0; id < 2; id++) {
        tidal_region_opts o = {.region_id = (tidal_region_id)id, .dir = repl_dir_of(&e, id),
                               .reconcile_ms = UINT32_MAX}; /* only the log brings 1..3 */
        repl_open_opts(&e, &o);
    }
    tidal_session_id sid;
    TIDAL_PASS(tidal_start_session(e.r[0], 42, NULL, &sid));
    tidal_session_view v;
    cr_assert(TIDAL_WAIT_UNTIL(tidal_get_session(e.r[1], sid, &v) == 0, REPL_DEADLINE_MS));
    tidal_runtime *rt0 = tidal_region_runtime(e.r[0]);
    TIDAL_PASS(tidal_fault_partition(rt0, "*", "region-1", 0));
    for (int i = 0; i < 3; i++) {
        TIDAL_PASS(tidal_signal_in_session(e.r[0], sid, "view", ITEM, 1.0, repl_now_ns()));
    }
    uint64_t writes = repl_stats(e.r[1]).writes;
    struct roamed_write w = {.r = e.r[1], .sid = sid};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, write_after_roaming, &w), 0);
    /* region 1 wrote its HOME record and the signal: both durable there */
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(e.r[1]).writes >= writes + 2, REPL_DEADLINE_MS),
              "region 1 never took the session over");
    TIDAL_PASS(tidal_fault_clear(rt0, "*", "region-1"));
    pthread_join(t, NULL);
    TIDAL_PASS(w.rv);
    cr_assert_eq(w.seen, 4, "the new home acknowledged signal 4 and a read there saw seqno %llu",
                 (unsigned long long)w.seen);
    TIDAL_PASS(tidal_get_session(e.r[1], sid, &v));
    cr_assert_eq(v.home, 1);
    repl_wait_converged(&e);
    tidal_entity_id items[4] = {ITEM, ITEM, ITEM, ITEM};
    for (int i = 0; i < 2; i++) {
        repl_assert_signals(e.r[i], sid, 4, items);
    }
    repl_close(&e);
}
