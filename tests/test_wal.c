/*
 * The WAL's data path (store/wal.h): append and read back in memory and on
 * disk, reopen, reads from the files when the cache is small, verbatim
 * appends of received batches, option checks.  The ephemeral bound is in
 * test_wal_room.c; segments (roll-over, names, release, listing logs) are in
 * test_wal_segment.c, recovery decisions in test_wal_recover.c, durability
 * policies and the crash test in test_wal_durability.c.
 */
#include "tidal_test.h"

#include "test_wal_helpers.h"

TIDAL_SUITE(wal);

Test(wal, ephemeral_round_trip)
{
    tidal_wal_opts o = wal_opts(NULL, TIDAL_DURABILITY_SYNC);
    tidal_wal *w = wal_open(&o, NULL);
    struct wal_got *g;
    tidal_wal_stats st;
    uint64_t lsn = 1;

    cr_assert_eq(tidal_wal_next_lsn(w), 1);
    cr_assert_eq(tidal_wal_durable_lsn(w), 0);
    for (uint32_t i = 0; i < 100; i++) {
        cr_assert_eq(wal_append(w, 10 + i, 1 + i % 4), lsn);
        lsn += 1 + i % 4;
    }
    cr_assert_eq(tidal_wal_next_lsn(w), lsn);
    cr_assert_eq(tidal_wal_durable_lsn(w), lsn - 1, "ephemeral is durable at once");
    TIDAL_PASS(tidal_wal_wait_durable(w, lsn - 1, 0));

    g = wal_read_all(w, 1, false);
    cr_assert_eq(g->n, 100);
    cr_assert_eq(g->first[0], 1);
    free(g);
    /* From an LSN inside a batch: that batch first.  Batch 2 holds 4..6. */
    g = wal_read_all(w, 5, false);
    cr_assert_eq(g->first[0], 4);
    cr_assert_eq(g->n, 98);
    free(g);
    g = wal_read_all(w, lsn, false);
    cr_assert_eq(g->n, 0, "nothing at next_lsn");
    free(g);

    tidal_wal_stats_get(w, &st);
    cr_assert_eq(st.appends, 100);
    cr_assert_eq(st.syncs, 0);
    cr_assert_eq(st.segments, 0);
    cr_assert_eq(st.segments_live, 0);
    tidal_wal_close(w);
}

Test(wal, disk_round_trip_and_reopen)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_SYNC);
    tidal_wal_recovery rep;
    tidal_wal *w = wal_open(&o, &rep);
    struct wal_got *g;
    uint64_t lsn = 0;

    cr_assert_eq(rep.next_lsn, 1);
    cr_assert_eq(rep.batches, 0);
    for (uint32_t i = 0; i < 50; i++) {
        lsn = wal_append(w, 100 + i, 3);
    }
    TIDAL_PASS(tidal_wal_wait_durable(w, lsn + 2, 10000));
    g = wal_read_all(w, 1, false);
    cr_assert_eq(g->n, 50);
    free(g);
    tidal_wal_close(w);

    w = wal_open(&o, &rep);
    cr_assert_eq(rep.batches, 50);
    cr_assert_eq(rep.records, 150);
    cr_assert_eq(rep.next_lsn, 151);
    cr_assert_eq(rep.truncated_bytes, 0);
    cr_assert_str_empty(rep.error);
    cr_assert_eq(tidal_wal_next_lsn(w), 151);
    cr_assert_eq(tidal_wal_durable_lsn(w), 150, "what was recovered is durable");
    g = wal_read_all(w, 1, false);
    cr_assert_eq(g->n, 50, "read after reopen comes from the file");
    cr_assert_eq(g->first[49], 148);
    free(g);
    cr_assert_eq(wal_append(w, 5, 1), 151, "appends continue after the recovered ones");
    tidal_wal_close(w);

    w = wal_open(&o, &rep);
    cr_assert_eq(rep.batches, 51);
    cr_assert_eq(rep.next_lsn, 152);
    tidal_wal_close(w);
    tidal_test_rmdir(dir);
}

Test(wal, reads_from_disk_when_memory_is_small)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_NONE);
    tidal_wal *w;
    struct wal_got *g;

    o.memory_bytes = 1000; /* a few batches: most reads go to the file */
    w = wal_open(&o, NULL);
    for (uint32_t i = 0; i < 300; i++) {
        wal_append(w, 64 + i % 200, 1 + i % 3);
    }
    g = wal_read_all(w, 1, false);
    cr_assert_eq(g->n, 300);
    free(g);
    /* A start in the middle, and one in the cached tail. */
    g = wal_read_all(w, 200, false);
    cr_assert(g->n > 0 && g->first[0] <= 200 && g->first[0] + g->count[0] > 200);
    free(g);
    g = wal_read_all(w, tidal_wal_next_lsn(w) - 1, false);
    cr_assert_eq(g->n, 1);
    free(g);
    /* A batch bigger than the whole cache is still readable. */
    uint64_t big = wal_append(w, 5000, 1);
    g = wal_read_all(w, big, false);
    cr_assert_eq(g->n, 1);
    cr_assert_eq(g->len[0], TIDAL_BATCH_HEADER_BYTES + 5000);
    free(g);
    tidal_wal_close(w);
    tidal_test_rmdir(dir);
}

Test(wal, read_stops_when_the_callback_says)
{
    tidal_wal_opts o = wal_opts(NULL, TIDAL_DURABILITY_SYNC);
    tidal_wal *w = wal_open(&o, NULL);
    struct wal_got g = {.stop_after = 3};

    for (int i = 0; i < 10; i++) {
        wal_append(w, 8, 1);
    }
    cr_assert_eq(tidal_wal_read(w, 1, false, wal_collect, &g), 42);
    cr_assert_eq(g.n, 3);
    TIDAL_FAIL(tidal_wal_read(w, 1, false, NULL, NULL), TIDAL_EINVAL);
    tidal_wal_close(w);
}

/* A second log (another directory) holding a verbatim copy of the first. */
struct copier {
    tidal_wal *to;
};

static int
copy_batch(void *arg, const uint8_t *b, size_t len)
{
    struct copier *c = arg;
    return tidal_wal_append_batch(c->to, b, len);
}

/* Reads the batch at lsn of w into a fresh buffer. */
static int
grab(void *arg, const uint8_t *b, size_t len)
{
    uint8_t **out = arg;
    *out = malloc(len + 1);
    memcpy(*out, b, len);
    return 1;
}

Test(wal, append_batch_checks_continuity_and_verifies)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts oa = wal_opts(NULL, TIDAL_DURABILITY_SYNC);
    tidal_wal_opts ob = wal_opts(dir, TIDAL_DURABILITY_NONE);
    tidal_wal *a = wal_open(&oa, NULL);
    tidal_wal *b = wal_open(&ob, NULL);
    struct copier c = {.to = b};
    uint8_t *batch = NULL;
    char seg[512];
    size_t len;
    size_t size;

    for (int i = 0; i < 10; i++) {
        wal_append(a, 30, 2);
    }
    /* Ten batches, LSNs 1..20, copied in order. */
    TIDAL_PASS(tidal_wal_read(a, 1, false, copy_batch, &c));
    cr_assert_eq(tidal_wal_next_lsn(b), 21);
    struct wal_got *g = wal_read_all(b, 1, false);
    cr_assert_eq(g->n, 10);
    free(g);

    wal_seg_path(seg, sizeof(seg), dir, 1);
    size = wal_file_size(seg);
    /* A repeat and a gap: ESTATE, nothing written. */
    cr_assert_eq(tidal_wal_read(a, 19, false, grab, &batch), 1);
    TIDAL_FAIL(tidal_wal_append_batch(b, batch, TIDAL_BATCH_HEADER_BYTES + 30), TIDAL_ESTATE);
    free(batch);
    wal_append(a, 30, 2); /* 21..22 */
    wal_append(a, 30, 2); /* 23..24 */
    cr_assert_eq(tidal_wal_read(a, 23, false, grab, &batch), 1);
    TIDAL_FAIL(tidal_wal_append_batch(b, batch, TIDAL_BATCH_HEADER_BYTES + 30), TIDAL_ESTATE);
    free(batch);
    cr_assert_eq(tidal_wal_next_lsn(b), 21);
    cr_assert_eq(wal_file_size(seg), size, "nothing written on a discontinuity");

    /* Bad batches, each refused with the decoder's code. */
    cr_assert_eq(tidal_wal_read(a, 21, false, grab, &batch), 1);
    len = TIDAL_BATCH_HEADER_BYTES + 30;
    batch[TIDAL_BATCH_HEADER_BYTES + 3] ^= 1;
    TIDAL_FAIL(tidal_wal_append_batch(b, batch, len), TIDAL_ECRC);
    batch[TIDAL_BATCH_HEADER_BYTES + 3] ^= 1;
    TIDAL_FAIL(tidal_wal_append_batch(b, batch, len - 1), TIDAL_ETRUNCATED);
    TIDAL_FAIL(tidal_wal_append_batch(b, batch, len + 1), TIDAL_ECORRUPT);
    batch[4] = 1;
    TIDAL_FAIL(tidal_wal_append_batch(b, batch, len), TIDAL_EVERSION);
    batch[4] = 2;
    cr_assert_eq(tidal_wal_next_lsn(b), 21);
    cr_assert_eq(wal_file_size(seg), size, "nothing written for a bad batch");
    TIDAL_PASS(tidal_wal_append_batch(b, batch, len));
    cr_assert_eq(tidal_wal_next_lsn(b), 23);
    free(batch);
    tidal_wal_stats st;
    tidal_wal_stats_get(b, &st);
    cr_assert_eq(st.rejected, 6, "every refusal is counted");
    cr_assert_eq(st.appends, 11);

    /* Another log's batch: refused. */
    tidal_wal_opts oc = wal_opts(NULL, TIDAL_DURABILITY_SYNC);
    oc.origin = WAL_ORIGIN + 1;
    tidal_wal *other = wal_open(&oc, NULL);
    uint64_t lsn;
    TIDAL_PASS(tidal_wal_append(other, (const uint8_t *)"x", 1, 1, wal_hlc(1), wal_hlc(1), &lsn));
    cr_assert_eq(tidal_wal_read(other, 1, false, grab, &batch), 1);
    TIDAL_FAIL(tidal_wal_append_batch(b, batch, TIDAL_BATCH_HEADER_BYTES + 1), TIDAL_EINVAL);
    free(batch);
    tidal_wal_close(other);
    tidal_wal_close(b);

    /* The copy recovers like an origin's own log. */
    tidal_wal_recovery rep;
    b = wal_open(&ob, &rep);
    cr_assert_eq(rep.next_lsn, 23);
    cr_assert_eq(rep.batches, 11);
    tidal_wal_close(b);
    tidal_wal_close(a);
    tidal_test_rmdir(dir);
}

Test(wal, options_and_arguments_are_checked)
{
    tidal_wal_opts o = wal_opts(NULL, TIDAL_DURABILITY_SYNC);
    tidal_wal *w = NULL;
    uint8_t p[8] = {0};
    uint64_t lsn;
    tidal_hlc lo = wal_hlc(1);
    tidal_hlc hi = wal_hlc(2);

    o.segment_bytes = TIDAL_WAL_SEGMENT_BYTES_MIN - 1;
    TIDAL_FAIL(tidal_wal_open(&o, &w, NULL), TIDAL_EINVAL);
    o.segment_bytes = TIDAL_WAL_SEGMENT_BYTES_MAX + 1;
    TIDAL_FAIL(tidal_wal_open(&o, &w, NULL), TIDAL_EINVAL);
    o.segment_bytes = 0;
    o.durability = (tidal_durability)3;
    TIDAL_FAIL(tidal_wal_open(&o, &w, NULL), TIDAL_EINVAL);
    o.durability = TIDAL_DURABILITY_INTERVAL;
    o.interval_ms = TIDAL_WAL_INTERVAL_MS_MAX + 1;
    TIDAL_FAIL(tidal_wal_open(&o, &w, NULL), TIDAL_EINVAL);
    o.interval_ms = 0;
    o.dir = "";
    TIDAL_FAIL(tidal_wal_open(&o, &w, NULL), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_wal_open(NULL, &w, NULL), TIDAL_EINVAL);
    cr_assert_null(w);
    o.dir = NULL;
    o.segment_bytes = TIDAL_WAL_SEGMENT_BYTES_MIN;
    w = wal_open(&o, NULL);

    TIDAL_FAIL(tidal_wal_append(w, p, 8, 0, lo, hi, &lsn), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_wal_append(w, p, 8, 1, hi, lo, &lsn), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_wal_append(w, NULL, 8, 1, lo, hi, &lsn), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_wal_append(w, p, TIDAL_BATCH_PAYLOAD_BYTES_MAX + 1, 1, lo, hi, &lsn),
               TIDAL_ETOOBIG);
    TIDAL_FAIL(tidal_wal_append(w, p, 8, TIDAL_BATCH_RECORDS_MAX + 1, lo, hi, &lsn), TIDAL_ETOOBIG);
    TIDAL_PASS(tidal_wal_append(w, p, 8, TIDAL_BATCH_RECORDS_MAX, lo, hi, &lsn));
    TIDAL_PASS(tidal_wal_append(w, NULL, 0, 1, lo, lo, &lsn));
    cr_assert_eq(lsn, TIDAL_BATCH_RECORDS_MAX + 1);
    tidal_wal_close(w);
    tidal_wal_close(NULL);
}

Test(wal, largest_batch_round_trips_on_disk)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_NONE);
    tidal_wal *w;
    struct wal_got *g;

    o.memory_bytes = 4096; /* not cached: read back from the file */
    w = wal_open(&o, NULL);
    wal_append(w, 10, 1);
    wal_append(w, TIDAL_BATCH_PAYLOAD_BYTES_MAX, 7);
    wal_append(w, 10, 1);
    tidal_wal_close(w);
    w = wal_open(&o, NULL);
    g = wal_read_all(w, 1, false);
    cr_assert_eq(g->n, 3);
    cr_assert_eq(g->len[1], TIDAL_BATCH_HEADER_BYTES + TIDAL_BATCH_PAYLOAD_BYTES_MAX);
    free(g);
    tidal_wal_close(w);
    tidal_test_rmdir(dir);
}
