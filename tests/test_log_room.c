/*
 * Backpressure of an ephemeral region's log (region.h, "Backpressure";
 * actors/shipper.c, "Holding the log").  A region keeps its batches until
 * every peer has acknowledged them, up to memory_bytes:
 *   - a write past the bound waits on the caller's thread, and goes on as
 *     soon as the peer acknowledges: nothing fails, nothing is reconciled;
 *   - past write_timeout_ms it fails with TIDAL_EFULL and writes nothing;
 *   - a write handled by a session actor (an agent that roamed here) is
 *     refused there without waiting, and its caller waits and asks again;
 *   - a peer that acknowledges nothing for peer_hold_ms while writes wait
 *     lets go of the log: writes go on within the bound, and the peer
 *     catches up by reconciliation once it is back;
 *   - a peer that is slow but acknowledges holds the log.
 * Partitions are healed with tidal_cluster_fault_clear, which (unlike
 * tidal_cluster_heal) asks no reconciler to run: what a test sees converge
 * came by the path it tests.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "actors/internal.h"
#include "repl_helpers.h"
#include "store/wal_state.h"

TIDAL_SUITE(log_room);

#define BOUND 4096u /* memory_bytes: a few dozen small batches */

/* Region 0 with the log options given, region 1 with the defaults, on
 * scheme's transport. */
static void
open_pair_on(repl_env *e, const char *scheme, uint32_t hold_ms, uint32_t timeout_ms)
{
    repl_cluster(e, scheme, 0x100f);
    tidal_region_opts o = {.region_id = 0, .memory_bytes = BOUND, .peer_hold_ms = hold_ms,
                           .write_timeout_ms = timeout_ms};
    repl_open_opts(e, &o);
    repl_open_region(e, 1, false, TIDAL_SYNC);
}

static void
open_pair(repl_env *e, uint32_t hold_ms, uint32_t timeout_ms)
{
    open_pair_on(e, "inproc", hold_ms, timeout_ms);
}

/* Bytes region r's log keeps in memory now (at most BOUND, always). */
static uint64_t
kept_bytes(tidal_region *r)
{
    pthread_mutex_lock(&r->wal->lock);
    uint64_t b = r->wal->cache.bytes;
    pthread_mutex_unlock(&r->wal->lock);
    return b;
}

static bool
knows(tidal_region *r, tidal_session_id s)
{
    tidal_session_view v;
    return tidal_get_session(r, s, &v) == 0;
}

/* Waits until region 1 has acknowledged all of region 0's log. */
static void
until_acked(repl_env *e)
{
    uint64_t last = repl_stats(e->r[0]).last_lsn;
    bool ok = TIDAL_WAIT_UNTIL(repl_stats(e->r[0]).acked_lsn[1] >= last, REPL_DEADLINE_MS);
    cr_assert(ok, "region 1 did not acknowledge region 0's log up to %llu",
              (unsigned long long)last);
}

/* A thread writing n signals to one session, or n hides. */
struct writer {
    tidal_region *r;
    tidal_session_id sid;
    bool hides;
    int n;
    atomic_int done;
    int failed;
    int first_error;
};

static tidal_entity_id
item_of(int i)
{
    return 500 + (tidal_entity_id)(i % 7);
}

static void *
write_all(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < w->n; i++) {
        int rv = w->hides ? tidal_hide_item(w->r, 9, 10000 + (tidal_entity_id)i)
                          : tidal_signal_in_session(w->r, w->sid, "view", item_of(i), 1.0,
                                                    repl_now_ns());
        if (rv != 0 && w->failed++ == 0) {
            w->first_error = rv;
        }
        atomic_fetch_add(&w->done, 1);
    }
    return NULL;
}

static void
assert_signals(tidal_region *r, tidal_session_id sid, int n)
{
    tidal_entity_id items[WL_SIGNALS_MAX * 2];
    cr_assert(n <= (int)(sizeof(items) / sizeof(items[0])));
    for (int i = 0; i < n; i++) {
        items[i] = item_of(i);
    }
    repl_assert_signals(r, sid, (size_t)n, items);
}

static void
writes_wait_then_go_on(const char *scheme)
{
    repl_env e;
    open_pair_on(&e, scheme, UINT32_MAX, 0);
    struct writer w = {.r = e.r[0], .n = 300};
    TIDAL_PASS(tidal_start_session(e.r[0], 7, NULL, &w.sid));
    TIDAL_PASS(tidal_cluster_partition(e.c, 0, 1));
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, write_all, &w), 0);

    bool blocked = TIDAL_WAIT_UNTIL(tidal_wal_wants_room(e.r[0]->wal), REPL_DEADLINE_MS);
    cr_assert(blocked, "300 signals never filled a 4 KiB log");
    cr_assert_lt(atomic_load(&w.done), w.n, "the writer is held while the log is full");
    cr_assert_leq(kept_bytes(e.r[0]), BOUND);
    /* the log says it wants room once an append was refused, a moment before
     * the refused writer counts its wait */
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(e.r[0]).room_waits >= 1, REPL_DEADLINE_MS));
    cr_assert_eq(repl_stats(e.r[0]).room_waits, 1);

    TIDAL_PASS(tidal_cluster_fault_clear(e.c, 0, 1, 1));
    pthread_join(t, NULL);
    cr_assert_eq(w.failed, 0, "%d writes failed, the first with %s", w.failed,
                 tidal_errname(w.first_error));
    tidal_region_stats st = repl_stats(e.r[0]);
    cr_assert_geq(st.room_waits, 1);
    cr_assert_eq(st.peers_let_go, 0, "a peer held for ever is never let go");
    repl_wait_converged(&e);
    assert_signals(e.r[0], w.sid, w.n);
    assert_signals(e.r[1], w.sid, w.n);
    cr_assert_eq(repl_stats(e.r[1]).reconcile_rounds, 0, "every batch came by shipping");
    repl_close(&e);
}

/* One body per transport: the ACKs that make room cross real sockets. */
Test(log_room, writes_wait_for_the_peer_then_go_on_inproc)
{
    writes_wait_then_go_on("inproc");
}

Test(log_room, writes_wait_for_the_peer_then_go_on_ipc)
{
    writes_wait_then_go_on("ipc");
}

Test(log_room, writes_wait_for_the_peer_then_go_on_tcp)
{
    writes_wait_then_go_on("tcp");
}

Test(log_room, a_write_gives_up_after_its_timeout_and_writes_nothing)
{
    repl_env e;
    open_pair(&e, UINT32_MAX, 100);
    TIDAL_PASS(tidal_cluster_partition(e.c, 0, 1));
    tidal_entity_id item = 20000;
    int rv;
    while ((rv = tidal_hide_item(e.r[0], 9, item)) == 0) {
        cr_assert_lt(item, 20000 + 1000, "4 KiB holds far fewer hides");
        item++;
    }
    TIDAL_FAIL(rv, TIDAL_EFULL);
    tidal_region_stats st = repl_stats(e.r[0]);
    cr_assert_eq(st.writes, item - 20000, "the refused hide was not counted");
    cr_assert_eq(st.last_lsn, item - 20000, "the refused hide took no LSN");
    cr_assert_not(repl_hidden(e.r[0], 9, item), "the refused hide was not applied");
    cr_assert(repl_hidden(e.r[0], 9, item - 1));
    cr_assert_eq(st.room_waits, 1);

    TIDAL_PASS(tidal_cluster_fault_clear(e.c, 0, 1, 1));
    until_acked(&e);
    TIDAL_PASS(tidal_hide_item(e.r[0], 9, item));
    repl_wait_converged(&e);
    repl_assert_hidden_range(e.r[1], 9, 20000, (uint32_t)(item - 20000 + 1), true);
    repl_close(&e);
}

/* The agent's session lives in region 1; it roams to region 0, whose log is
 * full (region 0's ACKs are cut, nothing else).  Region 0's session actor
 * takes the write after the handover and, never waiting in a handler,
 * refuses it; the caller waits for room and asks again. */
Test(log_room, a_roaming_write_refused_by_its_actor_is_asked_again)
{
    repl_env e;
    open_pair(&e, UINT32_MAX, 0);
    struct writer agent = {.r = e.r[0], .n = 1};
    TIDAL_PASS(tidal_start_session(e.r[1], 7, NULL, &agent.sid));
    bool known = TIDAL_WAIT_UNTIL(knows(e.r[0], agent.sid), REPL_DEADLINE_MS);
    cr_assert(known, "the start did not reach region 0");
    tidal_fault_rule cut = {.partition = 1};
    TIDAL_PASS(tidal_fault_set(tidal_region_runtime(e.r[1]), "region-1", "shipper-0", &cut));

    /* a local writer fills region 0's log and waits: room_waits 1 */
    struct writer hides = {.r = e.r[0], .hides = true, .n = 200};
    pthread_t th, ta;
    cr_assert_eq(pthread_create(&th, NULL, write_all, &hides), 0);
    bool full = TIDAL_WAIT_UNTIL(repl_stats(e.r[0]).room_waits == 1, REPL_DEADLINE_MS);
    cr_assert(full, "200 hides never filled a 4 KiB log");
    /* nothing is released while the ACKs are cut: the next to wait is the agent */
    cr_assert_eq(pthread_create(&ta, NULL, write_all, &agent), 0);
    bool refused = TIDAL_WAIT_UNTIL(repl_stats(e.r[0]).room_waits == 2, REPL_DEADLINE_MS);
    cr_assert(refused, "the roaming write was not refused for room");
    cr_assert_eq(atomic_load(&agent.done), 0);

    TIDAL_PASS(tidal_fault_clear(tidal_region_runtime(e.r[1]), "region-1", "shipper-0"));
    pthread_join(th, NULL);
    pthread_join(ta, NULL);
    cr_assert_eq(hides.failed, 0, "a hide failed: %s", tidal_errname(hides.first_error));
    cr_assert_eq(agent.failed, 0, "the roaming write failed: %s",
                 tidal_errname(agent.first_error));
    repl_wait_converged(&e);
    for (int i = 0; i < 2; i++) {
        assert_signals(e.r[i], agent.sid, 1);
        tidal_session_view v;
        TIDAL_PASS(tidal_get_session(e.r[i], agent.sid, &v));
        cr_assert_eq(v.home, 0, "the session's home followed the agent");
    }
    repl_close(&e);
}

Test(log_room, a_cut_off_peer_lets_go_and_reconciles_when_back)
{
    repl_env e;
    open_pair(&e, 50, REPL_DEADLINE_MS); /* without a let-go, the first write past 4 KiB fails */
    tidal_session_id sid;
    TIDAL_PASS(tidal_start_session(e.r[0], 7, NULL, &sid));
    TIDAL_PASS(tidal_cluster_partition(e.c, 0, 1));
    /* far more than the bound holds: every write succeeds, within the bound */
    const int signals = 150;
    for (int i = 0; i < signals; i++) {
        TIDAL_PASS(tidal_signal_in_session(e.r[0], sid, "view", item_of(i), 1.0, repl_now_ns()));
    }
    repl_hide_range(e.r[0], 9, 30000, 300);
    cr_assert_leq(kept_bytes(e.r[0]), BOUND);
    tidal_region_stats st = repl_stats(e.r[0]);
    cr_assert_geq(st.peers_let_go, 1, "region 1 never let go of region 0's log");
    cr_assert_geq(st.room_waits, 1);

    TIDAL_PASS(tidal_cluster_fault_clear(e.c, 0, 1, 1));
    repl_wait_converged(&e);
    assert_signals(e.r[1], sid, signals);
    repl_assert_hidden_range(e.r[1], 9, 30000, 300, true);
    uint64_t rounds = repl_stats(e.r[1]).reconcile_rounds;
    cr_assert_geq(rounds, 1, "what was released came by reconciliation");

    /* back: it acknowledges again and holds the log again, so a short cut
     * (well within the bound) is caught up by shipping alone */
    until_acked(&e);
    TIDAL_PASS(tidal_cluster_partition(e.c, 0, 1));
    repl_hide_range(e.r[0], 9, 40000, 5);
    TIDAL_PASS(tidal_cluster_fault_clear(e.c, 0, 1, 1));
    repl_wait_converged(&e);
    repl_assert_hidden_range(e.r[1], 9, 40000, 5, true);
    cr_assert_eq(repl_stats(e.r[1]).reconcile_rounds, rounds, "held again: no reconciliation");
    cr_assert_eq(repl_stats(e.r[0]).peers_let_go, st.peers_let_go);
    repl_close(&e);
}

/* Every batch to region 1 is delayed: its ACKs come late but keep coming, so
 * the writers wait for them and region 1 never lets go (a hold of 5 s, far
 * above an ACK's delay of a few ticks). */
Test(log_room, a_slow_peer_holds_the_log)
{
    repl_env e;
    open_pair(&e, 5000, 0);
    tidal_fault_rule slow = {.delay = 1.0, .delay_min_ms = 2, .delay_max_ms = 5};
    TIDAL_PASS(tidal_cluster_fault_set(e.c, 0, 1, &slow, 0));
    for (tidal_entity_id i = 0; i < 200; i++) {
        TIDAL_PASS(tidal_hide_item(e.r[0], 9, 50000 + i));
        cr_assert_leq(kept_bytes(e.r[0]), BOUND);
    }
    tidal_region_stats st = repl_stats(e.r[0]);
    cr_assert_geq(st.room_waits, 1, "200 hides fit 4 KiB without waiting?");
    cr_assert_eq(st.peers_let_go, 0);
    repl_wait_converged(&e);
    cr_assert_eq(repl_stats(e.r[1]).reconcile_rounds, 0, "every batch came by shipping");
    repl_close(&e);
}
