/*
 * tidal_region_wait_applied: read-your-writes across regions.  A write in A
 * names its LSN (stats.last_lsn); B blocks until it has applied it, and a
 * read of B made then sees the write.  It times out while the regions are
 * cut off, refuses bad origins, and a region closing under a waiter wakes
 * it with TIDAL_ECLOSED.
 */
#include <pthread.h>

#include "actors/internal.h" /* waiters: how many threads a test has blocked */
#include "repl_helpers.h"

TIDAL_SUITE(wait_applied);

#define LONG_MS 60000u /* a wait that only the event under test may end */

static void
read_your_writes(const char *scheme)
{
    repl_env e;
    repl_cluster(&e, scheme, 11);
    repl_open_ephemeral(&e, 2);
    tidal_session_id sid;
    TIDAL_PASS(tidal_start_session(e.r[0], 5, NULL, &sid));
    for (uint64_t k = 1; k <= 200; k++) {
        if (k % 2) {
            TIDAL_PASS(tidal_signal_in_session(e.r[0], sid, "view", k, 1.0, repl_now_ns()));
        } else {
            TIDAL_PASS(tidal_hide_item(e.r[0], 100 + k, 7));
        }
        uint64_t lsn = repl_stats(e.r[0]).last_lsn;
        cr_assert_eq(lsn, k + 1, "one LSN per write after the session's start");
        TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, lsn, LONG_MS));
        /* no poll, no retry: the read right after the wait sees the write */
        if (k % 2) {
            cr_assert_eq(repl_signals_len(e.r[1], sid), (k + 1) / 2, "write %lu", (unsigned long)k);
        } else {
            cr_assert(repl_hidden(e.r[1], 100 + k, 7), "hide %lu", (unsigned long)k);
        }
        cr_assert_geq(repl_stats(e.r[1]).applied_lsn[0], lsn);
    }
    repl_close(&e);
}

Test(wait_applied, read_your_writes_inproc) { read_your_writes("inproc"); }
Test(wait_applied, read_your_writes_ipc) { read_your_writes("ipc"); }
Test(wait_applied, read_your_writes_tcp) { read_your_writes("tcp"); }

Test(wait_applied, reached_returns_at_once_and_zero_only_checks)
{
    repl_env e;
    repl_cluster(&e, "inproc", 12);
    repl_open_ephemeral(&e, 2);
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, 0, 0)); /* LSN 0: nothing to wait for */
    TIDAL_FAIL(tidal_region_wait_applied(e.r[1], 0, 1, 0), TIDAL_ETIMEDOUT);
    TIDAL_PASS(tidal_hide_item(e.r[0], 1, 2));
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, 1, LONG_MS));
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, 1, 0));
    TIDAL_FAIL(tidal_region_wait_applied(e.r[1], 0, 2, 0), TIDAL_ETIMEDOUT);
    repl_close(&e);
}

Test(wait_applied, bad_origin_refused)
{
    repl_env e;
    repl_cluster(&e, "inproc", 13);
    repl_open_ephemeral(&e, 2);
    TIDAL_FAIL(tidal_region_wait_applied(e.r[1], 1, 1, 10), TIDAL_EINVAL); /* itself */
    TIDAL_FAIL(tidal_region_wait_applied(e.r[1], 16, 1, 10), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_region_wait_applied(e.r[1], UINT16_MAX, 1, 10), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_region_wait_applied(NULL, 0, 1, 10), TIDAL_EINVAL);
    repl_close(&e);
}

Test(wait_applied, times_out_while_partitioned_then_heals)
{
    repl_env e;
    repl_cluster(&e, "inproc", 14);
    repl_open_ephemeral(&e, 2);
    TIDAL_PASS(tidal_cluster_partition(e.c, 0, 1));
    TIDAL_PASS(tidal_hide_item(e.r[0], 1, 2));
    uint64_t lsn = repl_stats(e.r[0]).last_lsn;
    TIDAL_FAIL(tidal_region_wait_applied(e.r[1], 0, lsn, 50), TIDAL_ETIMEDOUT);
    cr_assert_not(repl_hidden(e.r[1], 1, 2), "B cannot have it: the link is cut");
    TIDAL_PASS(tidal_cluster_heal(e.c));
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, lsn, LONG_MS)); /* retransmitted */
    cr_assert(repl_hidden(e.r[1], 1, 2));
    repl_close(&e);
}

struct waiter {
    tidal_region *r;
    uint64_t lsn;
    int rv;
    atomic_bool started;
};

static void *
waiter_main(void *arg)
{
    struct waiter *w = arg;
    atomic_store(&w->started, true);
    w->rv = tidal_region_wait_applied(w->r, 0, w->lsn, LONG_MS);
    return NULL;
}

/* Waits (bounded) until the region has n threads blocked in the wait. */
static void
wait_blocked(tidal_region *r, unsigned n)
{
    for (int i = 0; i < 50000 && atomic_load(&r->wm.waiters) < n; i++) {
        usleep(100);
    }
    cr_assert_eq(atomic_load(&r->wm.waiters), n, "waiters blocked");
}

Test(wait_applied, many_waiters_woken_by_one_write)
{
    repl_env e;
    repl_cluster(&e, "inproc", 15);
    repl_open_ephemeral(&e, 2);
    struct waiter w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct waiter){.r = e.r[1], .lsn = 1, .rv = -1};
        cr_assert_eq(pthread_create(&th[i], NULL, waiter_main, &w[i]), 0);
    }
    wait_blocked(e.r[1], 4);
    TIDAL_PASS(tidal_hide_item(e.r[0], 1, 2));
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(w[i].rv, 0);
    }
    cr_assert_eq(atomic_load(&e.r[1]->wm.waiters), 0);
    repl_close(&e);
}

Test(wait_applied, close_wakes_a_blocked_waiter)
{
    repl_env e;
    repl_cluster(&e, "inproc", 16);
    repl_open_ephemeral(&e, 2);
    struct waiter w = {.r = e.r[1], .lsn = 1000, .rv = -1};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, waiter_main, &w), 0);
    wait_blocked(e.r[1], 1);
    TIDAL_PASS(tidal_region_close(e.r[1])); /* returns only once the waiter left */
    e.r[1] = NULL;
    pthread_join(th, NULL);
    TIDAL_FAIL(w.rv, TIDAL_ECLOSED);
    repl_close(&e);
}

Test(wait_applied, last_lsn_survives_a_reopen)
{
    repl_env e;
    repl_cluster(&e, "inproc", 17);
    repl_open_region(&e, 0, true, TIDAL_SYNC);
    repl_open_region(&e, 1, true, TIDAL_SYNC);
    for (int i = 0; i < 5; i++) {
        TIDAL_PASS(tidal_hide_item(e.r[0], 1, (tidal_entity_id)i));
    }
    cr_assert_eq(repl_stats(e.r[0]).last_lsn, 5);
    TIDAL_PASS(tidal_region_close(e.r[0]));
    repl_open_region(&e, 0, true, TIDAL_SYNC);
    tidal_region_stats st = repl_stats(e.r[0]);
    cr_assert_eq(st.writes, 0, "writes counts this incarnation's");
    cr_assert_eq(st.last_lsn, 5, "the log's last LSN");
    TIDAL_PASS(tidal_hide_item(e.r[0], 2, 9));
    cr_assert_eq(repl_stats(e.r[0]).last_lsn, 6);
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, 6, LONG_MS));
    cr_assert(repl_hidden(e.r[1], 2, 9));
    repl_close(&e);
}
