/*
 * The ship mark (actors/internal.h, "Ship mark"): a writer ships its batch
 * inline only when it comes right after the mark, so a batch still waiting
 * for the shipper is never skipped by one shipped behind it; the shipper
 * sends what the writers did not and raises the mark, after which writers
 * ship inline again.
 */
#include "actors/internal.h"
#include "repl_helpers.h"

TIDAL_SUITE(ship_mark);

Test(ship_mark, a_claim_never_jumps_a_gap)
{
    repl_env e;
    repl_cluster(&e, "inproc", 21);
    repl_open_ephemeral(&e, 1); /* no peer: nothing but the writers moves the mark */
    tidal_region *r = e.r[0];
    for (int i = 0; i < 3; i++) {
        TIDAL_PASS(tidal_hide_item(r, 1, (tidal_entity_id)i));
    }
    cr_assert_eq(atomic_load(&r->ship_mark), 3, "ephemeral writes are durable at once: claimed");
    cr_assert_not(tidal__ship_claim(r, 5, 5), "LSN 4 is not sent yet: 5 must wait");
    cr_assert_not(tidal__ship_claim(r, 3, 3), "already claimed");
    cr_assert_eq(atomic_load(&r->ship_mark), 3);
    cr_assert(tidal__ship_claim(r, 4, 6), "right after the mark");
    cr_assert_eq(atomic_load(&r->ship_mark), 6);
    tidal__ship_raise(r, 5);
    cr_assert_eq(atomic_load(&r->ship_mark), 6, "the mark never goes back");
    tidal__ship_raise(r, 9);
    cr_assert_eq(atomic_load(&r->ship_mark), 9);
    repl_close(&e);
}

/* With the mark held behind, writers cannot ship inline: the shipper must
 * send every batch, and then raises the mark so writers ship inline again. */
Test(ship_mark, the_shipper_sends_what_writers_could_not_and_raises_the_mark)
{
    repl_env e;
    repl_cluster(&e, "inproc", 22);
    repl_open_ephemeral(&e, 2);
    tidal_region *a = e.r[0], *b = e.r[1];
    TIDAL_PASS(tidal_hide_item(a, 1, 1));
    TIDAL_PASS(tidal_region_wait_applied(b, 0, 1, 60000));
    /* as if batch 1 had never been sent: no later batch may be claimed */
    atomic_store(&a->ship_mark, 0);
    for (int i = 2; i <= 40; i++) {
        TIDAL_PASS(tidal_hide_item(a, 1, (tidal_entity_id)i));
    }
    TIDAL_PASS(tidal_region_wait_applied(b, 0, 40, 60000));
    for (int i = 1; i <= 40; i++) {
        cr_assert(repl_hidden(b, 1, (tidal_entity_id)i), "item %d hidden in B", i);
    }
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&a->ship_mark) >= 40, REPL_DEADLINE_MS),
              "the shipper raises the mark over what it sent");
    uint64_t shipped = repl_stats(a).batches_shipped;
    TIDAL_PASS(tidal_hide_item(a, 1, 41));
    cr_assert_eq(atomic_load(&a->ship_mark), 41, "inline again: the writer claimed it");
    TIDAL_PASS(tidal_region_wait_applied(b, 0, 41, 60000));
    cr_assert_geq(repl_stats(a).batches_shipped, shipped + 1);
    cr_assert_eq(repl_stats(b).applied_lsn[0], 41);
    repl_close(&e);
}

/* Hides are written on their callers' threads: concurrent callers race for
 * LSNs and for the mark, and a batch whose writer lost the race is left to
 * the shipper.  Every batch still reaches every peer and applies once. */
#define RACE_THREADS 4
#define RACE_WRITES 300

struct racer {
    tidal_region *r;
    int t;
    int rv;
};

static void *
race_hides(void *arg)
{
    struct racer *w = arg;
    for (int i = 0; i < RACE_WRITES && w->rv == 0; i++) {
        w->rv = tidal_hide_item(w->r, (tidal_entity_id)w->t, (tidal_entity_id)i);
    }
    return NULL;
}

Test(ship_mark, concurrent_callers_ship_every_batch_once)
{
    repl_env e;
    repl_cluster(&e, "inproc", 23);
    repl_open_ephemeral(&e, 3);
    pthread_t th[RACE_THREADS];
    struct racer w[RACE_THREADS];
    for (int t = 0; t < RACE_THREADS; t++) {
        w[t] = (struct racer){.r = e.r[0], .t = t};
        cr_assert_eq(pthread_create(&th[t], NULL, race_hides, &w[t]), 0);
    }
    for (int t = 0; t < RACE_THREADS; t++) {
        pthread_join(th[t], NULL);
        TIDAL_PASS(w[t].rv);
    }
    const uint64_t total = RACE_THREADS * RACE_WRITES;
    cr_assert_eq(repl_stats(e.r[0]).last_lsn, total, "one LSN per hide");
    for (int p = 1; p < 3; p++) {
        TIDAL_PASS(tidal_region_wait_applied(e.r[p], 0, total, 60000));
        cr_assert_eq(repl_stats(e.r[p]).batches_applied, total, "region %d: each batch once", p);
        for (int t = 0; t < RACE_THREADS; t++) {
            for (int i = 0; i < RACE_WRITES; i += 37) {
                cr_assert(repl_hidden(e.r[p], (tidal_entity_id)t, (tidal_entity_id)i));
            }
        }
    }
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&e.r[0]->ship_mark) == total, REPL_DEADLINE_MS));
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
 * sync that made it durable - by the sync thread when it can claim it, else
 * by the shipper - and B applies every batch exactly once. */
Test(ship_mark, a_sync_ships_what_it_made_durable)
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
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&a->ship_mark) == 20, REPL_DEADLINE_MS));
    repl_close(&e);
}

/* A sync that made many records durable at once leaves them to the shipper
 * (the next sync does not wait for their sends): one batch of 100 records,
 * more than TIDAL_SHIP_DURABLE_RECORDS_MAX. */
Test(ship_mark, a_large_group_is_left_to_the_shipper)
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
