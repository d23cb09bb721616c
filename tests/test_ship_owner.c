/*
 * Shipping has one owner (actors/ship.c): every batch leaves through one
 * sequence, as "shipper-<id>", whoever ran it - a writer whose batch was
 * durable at once, the WAL's sync thread, the shipper actor - so fault rules
 * on the shipper's name hit them all, a peer gets them in LSN order and
 * exactly once each, and the shipper's message ids are one sequence.
 */
#include "actors/internal.h"
#include "repl_helpers.h"

TIDAL_SUITE(ship_owner);

/* Every batch a region sends a peer leaves as its shipper: a rule that cuts
 * "shipper-0" -> "region-1" alone keeps every write from region 1, hides
 * and session writes at their home alike, and lifting it lets them all
 * through. */
Test(ship_owner, batches_leave_as_the_shipper_whoever_ships_them)
{
    repl_env e;
    repl_cluster(&e, "inproc", 20);
    repl_open_ephemeral(&e, 2);
    tidal_region *a = e.r[0], *b = e.r[1];
    tidal_runtime *rt0 = tidal_region_runtime(a);
    tidal_fault_rule cut = {.partition = 1};
    TIDAL_PASS(tidal_fault_set(rt0, "shipper-0", "region-1", &cut));
    repl_hide_range(a, 1, 0, 20); /* on this thread: a writer ships them */
    tidal_session_id s;
    TIDAL_PASS(tidal_start_session(a, 7, NULL, &s));
    TIDAL_PASS(tidal_signal_in_session(a, s, "view", 100, 1.0, repl_now_ns()));
    uint64_t last = repl_stats(a).last_lsn;
    cr_assert_eq(last, 22);
    cr_assert(TIDAL_WAIT_UNTIL(repl_trace_count(rt0, TIDAL_FAULT_PARTITION,
                                                tidal_link_id("shipper-0", "region-1")) >= 22,
                               REPL_DEADLINE_MS),
              "every batch was cut on the shipper's link");
    cr_assert_eq(repl_stats(b).batches_applied, 0, "a batch left under another name");
    cr_assert_eq(repl_trace_count(rt0, TIDAL_FAULT_PARTITION, 0),
                 repl_trace_count(rt0, TIDAL_FAULT_PARTITION,
                                  tidal_link_id("shipper-0", "region-1")),
                 "nothing else was cut");
    TIDAL_PASS(tidal_fault_clear(rt0, "shipper-0", "region-1"));
    TIDAL_PASS(tidal_region_wait_applied(b, 0, last, REPL_DEADLINE_MS));
    repl_assert_hidden_range(b, 1, 0, 20, true);
    cr_assert_eq(repl_signals_len(b, s), 1);
    repl_close(&e);
}

/* Stops region r's shipper actor: then only writers run the sequence. */
static void
stop_shipper_actor(tidal_region *r)
{
    tidal_runtime *rt = tidal_region_runtime(r);
    tidal_actor a;
    TIDAL_PASS(tidal_lookup(rt, "shipper-0", &a));
    TIDAL_PASS(tidal_stop(rt, a));
}

/* A writer whose batch is durable at once ships it itself, before its call
 * returns: the single hop.  (The shipper actor is stopped, so nobody else
 * could have.) */
Test(ship_owner, a_writer_ships_its_own_batch_before_it_returns)
{
    repl_env e;
    repl_cluster(&e, "inproc", 28);
    repl_open_ephemeral(&e, 3);
    stop_shipper_actor(e.r[0]);
    for (tidal_entity_id i = 1; i <= 50; i++) {
        TIDAL_PASS(tidal_hide_item(e.r[0], 4, i));
        cr_assert_eq(tidal__ship_sent_upto(e.r[0], 1), i);
        cr_assert_eq(tidal__ship_sent_upto(e.r[0], 2), i);
    }
    TIDAL_PASS(tidal_region_wait_applied(e.r[2], 0, 50, REPL_DEADLINE_MS));
    repl_close(&e);
}

/* Hides are written on their callers' threads, which race for LSNs and for
 * the sequence: whoever finds it running leaves its batch to the one running
 * it.  Every batch still reaches every peer, is applied once, and arrives
 * in order (nothing held). */
#define RACE_THREADS 4
#define RACE_WRITES 300

struct racer {
    tidal_region *r;
    int t;
    int n; /* hides to write */
    int rv;
};

static void *
race_hides(void *arg)
{
    struct racer *w = arg;
    for (int i = 0; i < w->n && w->rv == 0; i++) {
        w->rv = tidal_hide_item(w->r, (tidal_entity_id)w->t, (tidal_entity_id)i);
    }
    return NULL;
}

static void
race_n(repl_env *e, int writes)
{
    pthread_t th[RACE_THREADS];
    struct racer w[RACE_THREADS];
    for (int t = 0; t < RACE_THREADS; t++) {
        w[t] = (struct racer){.r = e->r[0], .t = t, .n = writes};
        cr_assert_eq(pthread_create(&th[t], NULL, race_hides, &w[t]), 0);
    }
    for (int t = 0; t < RACE_THREADS; t++) {
        pthread_join(th[t], NULL);
        TIDAL_PASS(w[t].rv);
    }
}

static void
race(repl_env *e)
{
    race_n(e, RACE_WRITES);
}

/* With only writers running the sequence, a writer that found it busy left
 * its batch to the one running it, and that one ran another round before it
 * returned: when every writer of a burst has returned, every batch was
 * sent.  Short bursts, so that many of them end in a race; at most
 * SHIP_ROUNDS_MAX (8) requests in a burst, so none is left to the stopped
 * actor; fewer writes in all than a send window (no ACK reaches it). */
Test(ship_owner, a_busy_sequence_loses_no_writers_batch)
{
    repl_env e;
    repl_cluster(&e, "inproc", 29);
    repl_open_ephemeral(&e, 2);
    stop_shipper_actor(e.r[0]);
    _Static_assert(RACE_THREADS * 2 <= 8, "a burst's requests fit one call's rounds");
    _Static_assert(200 * RACE_THREADS * 2 < TIDAL_SHIP_WINDOW_LSNS, "within the window");
    for (int burst = 1; burst <= 200; burst++) {
        race_n(&e, 2);
        uint64_t last = repl_stats(e.r[0]).last_lsn;
        cr_assert_eq(last, (uint64_t)burst * RACE_THREADS * 2);
        cr_assert_eq(tidal__ship_sent_upto(e.r[0], 1), last,
                     "burst %d: a writer's batch was left behind", burst);
    }
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, repl_stats(e.r[0]).last_lsn,
                                         REPL_DEADLINE_MS));
    repl_close(&e);
}

Test(ship_owner, concurrent_writers_ship_every_batch_once_and_in_order)
{
    repl_env e;
    repl_cluster(&e, "inproc", 23);
    repl_open_ephemeral(&e, 3);
    race(&e);
    const uint64_t total = RACE_THREADS * RACE_WRITES;
    cr_assert_eq(repl_stats(e.r[0]).last_lsn, total, "one LSN per hide");
    for (int p = 1; p < 3; p++) {
        TIDAL_PASS(tidal_region_wait_applied(e.r[p], 0, total, REPL_DEADLINE_MS));
        tidal_region_stats s = repl_stats(e.r[p]);
        cr_assert_eq(s.batches_applied, total, "region %d: each batch once", p);
        cr_assert_eq(s.batches_held, 0, "region %d: nothing arrived out of order", p);
        for (int t = 0; t < RACE_THREADS; t++) {
            repl_assert_hidden_range(e.r[p], (tidal_entity_id)t, 0, RACE_WRITES, true);
        }
        cr_assert_eq(tidal__ship_sent_upto(e.r[0], (tidal_region_id)p), total);
    }
    repl_close(&e);
}

/* The shipper's ids are one sequence whichever thread sends for it: a peer's
 * runtime sees no duplicate envelope, though batches went out from the
 * writers' threads and from the shipper actor (the ACK-opened rest of a
 * window). */
Test(ship_owner, the_shippers_message_ids_are_one_sequence)
{
    repl_env e;
    repl_cluster(&e, "inproc", 26);
    repl_open_ephemeral(&e, 2);
    tidal_runtime *rt1 = tidal_region_runtime(e.r[1]);
    tidal_fault_rule cut = {.partition = 1};
    /* ACKs cut: the window fills from the writers, the rest waits for the
     * shipper actor, which sends it when the ACKs come back */
    TIDAL_PASS(tidal_fault_set(rt1, "region-1", "shipper-0", &cut));
    const uint32_t n = TIDAL_SHIP_WINDOW_LSNS + 200;
    repl_hide_range(e.r[0], 3, 0, n);
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, TIDAL_SHIP_WINDOW_LSNS, REPL_DEADLINE_MS));
    TIDAL_PASS(tidal_fault_clear(rt1, "region-1", "shipper-0"));
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, n, REPL_DEADLINE_MS));
    tidal_stats st;
    tidal_runtime_stats(rt1, &st);
    uint64_t resent = repl_stats(e.r[1]).batches_duplicate;
    /* a retransmit is a new message carrying an old batch: the follower drops
     * the batch, the runtime sees no repeated id */
    cr_assert_eq(st.duplicates_seen, 0, "%llu envelopes seen twice (%llu batches resent)",
                 (unsigned long long)st.duplicates_seen, (unsigned long long)resent);
    repl_close(&e);
}

/* ---- SYNC: the sync thread ships what its sync made durable ---- */

/* Regions 0 and 1, SYNC, with directories. */
static void
open_sync_pair(repl_env *e, uint64_t seed)
{
    repl_cluster(e, "inproc", seed);
    repl_open_region(e, 0, true, TIDAL_SYNC);
    repl_open_region(e, 1, true, TIDAL_SYNC);
}

/* Two SYNC regions with directories: each write is shipped right after the
 * sync that made it durable - by the sync thread unless the shipper was
 * running - and B applies every batch exactly once. */
Test(ship_owner, a_sync_ships_what_it_made_durable)
{
    repl_env e;
    open_sync_pair(&e, 24);
    tidal_region *a = e.r[0], *b = e.r[1];
    for (int i = 1; i <= 20; i++) {
        TIDAL_PASS(tidal_hide_item(a, 2, (tidal_entity_id)i));
    }
    TIDAL_PASS(tidal_region_wait_applied(b, 0, 20, REPL_DEADLINE_MS));
    tidal_region_stats sa = repl_stats(a);
    cr_assert_geq(sa.batches_shipped_at_sync, 1, "the sync thread shipped none");
    cr_assert_leq(sa.batches_shipped_at_sync, 20);
    cr_assert_eq(repl_stats(b).batches_applied, 20);
    for (int i = 1; i <= 20; i++) {
        cr_assert(repl_hidden(b, 2, (tidal_entity_id)i));
    }
    cr_assert_eq(tidal__ship_sent_upto(a, 1), 20);
    repl_close(&e);
}

/* A sync that made many records durable at once leaves them to the shipper
 * actor (the next sync does not wait for their sends): one batch of more
 * than TIDAL_SHIP_DURABLE_RECORDS_MAX records. */
Test(ship_owner, a_large_group_is_left_to_the_shipper)
{
    repl_env e;
    open_sync_pair(&e, 25);
    tidal_region *a = e.r[0], *b = e.r[1];
    enum { N = TIDAL_SHIP_DURABLE_RECORDS_MAX + 36 };
    tidal_record recs[N];
    for (int i = 0; i < N; i++) {
        recs[i] = (tidal_record){.kind = TIDAL_REC_HIDE, .user = 3, .item = (tidal_entity_id)i,
                                 .hlc = tidal_now(tidal_region_runtime(a))};
    }
    uint64_t lsn;
    TIDAL_PASS(tidal__write_local(a, NULL, recs, N, &lsn));
    cr_assert_eq(lsn, N);
    TIDAL_PASS(tidal_wal_wait_durable(a->wal, lsn, REPL_DEADLINE_MS));
    TIDAL_PASS(tidal_region_wait_applied(b, 0, N, REPL_DEADLINE_MS));
    tidal_region_stats sa = repl_stats(a);
    cr_assert_eq(sa.batches_shipped_at_sync, 0);
    cr_assert_geq(sa.batches_shipped, 1);
    cr_assert_eq(repl_stats(b).batches_applied, 1);
    cr_assert(repl_hidden(b, 3, N - 1));
    repl_close(&e);
}

/* A tick from outside the region is refused and counted, whether it comes
 * through the listener a peer sends to or through the shipper's own. */
Test(ship_owner, a_tick_from_an_outsider_is_refused)
{
    repl_env e;
    repl_cluster(&e, "inproc", 27);
    repl_open_ephemeral(&e, 2);
    tidal_region *a = e.r[0];
    tidal_runtime *rt1 = tidal_region_runtime(e.r[1]);
    tidal_addr via_peer;
    TIDAL_PASS(tidal_region_peer_addr(a, 1, "shipper", &via_peer));
    uint8_t one = 1;
    TIDAL_PASS(tidal_send_as(rt1, "shipper-0", &via_peer, TIDAL_MSG_TICK, &one, 1, 1000));
    TIDAL_PASS(tidal_send_as(rt1, "_timer", &a->shipper_addr, TIDAL_MSG_TICK, &one, 1, 1000));
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(a).rejected[TIDAL_REGION_REJECT_UNAUTHENTICATED] == 2,
                               REPL_DEADLINE_MS));
    repl_close(&e);
}
