/*
 * tidal_wal_skip_to and tidal_wal_hole_after (store/wal_lost.c): an origin's
 * log that learned its peers applied LSNs above the ones it kept skips to
 * them - the skipped LSNs become a hole, recorded in the manifest, appends
 * go on above it, a read steps over it and a reopen (without salvage)
 * accepts it - and a reader can see the hole before it steps over it.
 */
#include "tidal_test.h"

#include "test_wal_helpers.h"

TIDAL_SUITE(wal_skip);

/* The first LSNs a read from the oldest batch delivers, in order. */
struct firsts {
    size_t n;
    uint64_t first[256];
};

static int
collect(void *arg, const uint8_t *b, size_t len)
{
    struct firsts *f = arg;
    tidal_batch_header h;

    TIDAL_PASS(tidal_batch_decode(b, len, &h, NULL, NULL, 0));
    cr_assert(f->n < 256);
    f->first[f->n++] = h.first_lsn;
    return 0;
}

static tidal_wal_opts
opts_in(const char *dir)
{
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_SYNC);
    o.segment_bytes = 4096;
    return o;
}

Test(wal_skip, skipped_lsns_are_a_hole_appends_go_on_above_it_and_a_reopen_keeps_it)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts o = opts_in(dir);
    tidal_wal *w = wal_open(&o, NULL);
    for (int i = 0; i < 5; i++) {
        wal_append(w, 100, 2); /* LSNs 1..10 */
    }
    TIDAL_PASS(tidal_wal_wait_durable(w, 10, 10000));

    TIDAL_PASS(tidal_wal_skip_to(w, 7)); /* below the next LSN: nothing */
    cr_assert_eq(tidal_wal_next_lsn(w), 11);
    uint64_t first = 0, last = 0;
    TIDAL_FAIL(tidal_wal_hole_after(w, 0, &first, &last), TIDAL_ENOENT);

    TIDAL_PASS(tidal_wal_skip_to(w, 20));
    cr_assert_eq(tidal_wal_next_lsn(w), 21, "appends go on above the hole");
    cr_assert_eq(tidal_wal_durable_lsn(w), 20, "nothing in the hole to wait for");
    TIDAL_PASS(tidal_wal_hole_after(w, 10, &first, &last));
    cr_assert_eq(first, 11);
    cr_assert_eq(last, 20);
    TIDAL_PASS(tidal_wal_hole_after(w, 14, &first, &last)); /* inside the hole */
    cr_assert_eq(first, 11);
    cr_assert_eq(last, 20);
    TIDAL_FAIL(tidal_wal_hole_after(w, 20, &first, &last), TIDAL_ENOENT);
    cr_assert_eq(wal_append(w, 100, 1), 21);
    TIDAL_PASS(tidal_wal_wait_durable(w, 21, 10000));

    struct firsts f = {0};
    TIDAL_PASS(tidal_wal_read(w, 0, false, collect, &f));
    cr_assert_eq(f.n, 6);
    cr_assert_eq(f.first[4], 9);
    cr_assert_eq(f.first[5], 21, "the read steps over the hole");
    /* a crash, not a close: the manifest stored by the skip is what says so */
    tidal_wal_abandon(w);

    tidal_wal_recovery rep;
    w = wal_open(&o, &rep); /* no salvage: the hole is known, not a loss */
    cr_assert_eq(rep.lost_lsns, 0);
    cr_assert_eq(tidal_wal_next_lsn(w), 22);
    TIDAL_PASS(tidal_wal_hole_after(w, 10, &first, &last));
    cr_assert_eq(first, 11);
    cr_assert_eq(last, 20);
    memset(&f, 0, sizeof(f));
    TIDAL_PASS(tidal_wal_read(w, 0, false, collect, &f));
    cr_assert_eq(f.n, 6);
    cr_assert_eq(f.first[5], 21);
    tidal_wal_close(w);
    tidal_test_rmdir(dir);
}

Test(wal_skip, a_new_log_skips_and_a_skip_needs_what_was_appended_durable)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts o = opts_in(dir);
    tidal_wal *w = wal_open(&o, NULL);
    TIDAL_PASS(tidal_wal_skip_to(w, 5)); /* its one segment is empty */
    cr_assert_eq(wal_append(w, 100, 1), 6);
    tidal_wal_close(w);
    tidal_wal_recovery rep;
    w = wal_open(&o, &rep);
    cr_assert_eq(rep.lost_lsns, 0);
    cr_assert_eq(tidal_wal_next_lsn(w), 7);
    struct firsts f = {0};
    TIDAL_PASS(tidal_wal_read(w, 0, false, collect, &f));
    cr_assert_eq(f.n, 1);
    cr_assert_eq(f.first[0], 6);
    tidal_wal_close(w);

    /* an append not yet durable (INTERVAL, whose next sync is a minute
     * away) is in flight: refused, nothing changed */
    tidal_wal_opts iv = opts_in(dir);
    iv.durability = TIDAL_DURABILITY_INTERVAL;
    iv.interval_ms = 60000;
    w = wal_open(&iv, NULL);
    cr_assert_eq(wal_append(w, 100, 1), 7);
    TIDAL_FAIL(tidal_wal_skip_to(w, 30), TIDAL_ESTATE);
    cr_assert_eq(tidal_wal_next_lsn(w), 8);
    tidal_wal_close(w);

    /* an ephemeral log has nowhere to keep a hole */
    tidal_wal_opts e = wal_opts(NULL, TIDAL_DURABILITY_SYNC);
    w = wal_open(&e, NULL);
    TIDAL_FAIL(tidal_wal_skip_to(w, 5), TIDAL_EINVAL);
    tidal_wal_close(w);
    tidal_test_rmdir(dir);
}
