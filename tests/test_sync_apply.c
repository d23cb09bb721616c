/*
 * Under SYNC with a directory a region applies its own write once the sync
 * that makes it durable has returned (actors/pending.c), while what the next
 * write decides on is taken at the append.  Here, with a healthy disk: many
 * signals of one (item, type) in flight at once still count exactly once
 * each (their counter components are counted over the signals in flight),
 * a caller reads its own write when its call returns, and a session that
 * roams between two SYNC regions - its handovers and queued writes made by
 * session actors, which wait for nothing - keeps its seqnos gapless and
 * converges, and both regions reopen to the same state.
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
