/*
 * WAL segments (store/wal_segment.c): roll-over at segment_bytes, file names
 * that sort in LSN order, reads across segments, a batch bigger than a
 * segment, tidal_wal_release, tidal_wal_list over a directory, and the
 * modes of what a log creates.
 */
#include <sys/stat.h>

#include "tidal_test.h"

#include "test_wal_helpers.h"

TIDAL_SUITE(wal_segment);

/* Appends until the log has at least nseg segments; returns the batch count. */
static uint32_t
fill_segments(tidal_wal *w, size_t nseg)
{
    tidal_wal_stats st;
    uint32_t n = 0;

    do {
        wal_append(w, 200 + n % 50, 1 + n % 2);
        n++;
        tidal_wal_stats_get(w, &st);
    } while (st.segments_live < nseg);
    return n;
}

Test(wal_segment, segments_roll_over_and_names_sort_by_lsn)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_NONE);
    tidal_wal *w;
    tidal_wal_stats st;
    struct wal_got *g;
    char **names;
    size_t n;
    uint32_t batches;

    o.segment_bytes = 4096;
    o.memory_bytes = 2048;
    w = wal_open(&o, NULL);
    batches = fill_segments(w, 20);
    /* Push the LSNs past a hex digit boundary (0x..f -> 0x1.) for the sort. */
    while (tidal_wal_next_lsn(w) < 0x120) {
        wal_append(w, 200, 3);
        batches++;
    }
    tidal_wal_stats_get(w, &st);
    cr_assert_eq(st.segments, st.segments_live);

    names = wal_seg_names(dir, &n);
    cr_assert_eq(n, st.segments_live);
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        char path[512];
        unsigned origin;
        unsigned long long lsn;
        cr_assert_eq(sscanf(names[i], "r%4x-%16llx.seg", &origin, &lsn), 2, "%s", names[i]);
        cr_assert_eq(strlen(names[i]), 26);
        cr_assert_eq(origin, WAL_ORIGIN);
        cr_assert(lsn > prev, "names sorted as strings are sorted by LSN");
        prev = lsn;
        snprintf(path, sizeof(path), "%s/wal/shard-%04x/%s", dir, WAL_SHARD, names[i]);
        cr_assert(wal_file_size(path) <= 4096, "a segment stays within segment_bytes");
        cr_assert(wal_file_size(path) > 0);
    }
    cr_assert_eq(strcmp(names[0], "r0001-0000000000000001.seg"), 0);
    wal_names_free(names, n);

    g = wal_read_all(w, 1, false);
    cr_assert_eq(g->n, batches, "a read crosses every segment");
    free(g);
    tidal_wal_close(w);

    w = wal_open(&o, NULL);
    g = wal_read_all(w, 1, false);
    cr_assert_eq(g->n, batches, "and again after reopen");
    free(g);
    g = wal_read_all(w, 0x100, false);
    cr_assert(g->first[0] <= 0x100);
    free(g);
    tidal_wal_close(w);
    tidal_test_rmdir(dir);
}

Test(wal_segment, a_batch_larger_than_a_segment_gets_its_own)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_SYNC);
    tidal_wal *w;
    tidal_wal_stats st;
    struct wal_got *g;

    o.segment_bytes = 4096;
    w = wal_open(&o, NULL);
    wal_append(w, 100, 1);
    wal_append(w, 10000, 1);
    wal_append(w, 100, 1);
    TIDAL_PASS(tidal_wal_wait_durable(w, 3, 10000)); /* SYNC writes behind: then rolled */
    tidal_wal_stats_get(w, &st);
    cr_assert_eq(st.segments_live, 3);
    g = wal_read_all(w, 1, false);
    cr_assert_eq(g->n, 3);
    free(g);
    tidal_wal_close(w);
    tidal_test_rmdir(dir);
}

Test(wal_segment, release_deletes_only_covered_segments)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_NONE);
    tidal_wal *w;
    tidal_wal_stats st;
    struct wal_got *g;
    char **names;
    size_t n;
    unsigned long long second;
    unsigned long long third;
    unsigned origin;

    o.segment_bytes = 4096;
    o.memory_bytes = 1024;
    w = wal_open(&o, NULL);
    fill_segments(w, 5);
    names = wal_seg_names(dir, &n);
    cr_assert_eq(n, 5);
    cr_assert_eq(sscanf(names[1], "r%4x-%16llx.seg", &origin, &second), 2);
    cr_assert_eq(sscanf(names[2], "r%4x-%16llx.seg", &origin, &third), 2);
    wal_names_free(names, n);

    /* Below the second segment's first LSN - 1, the first is not covered. */
    cr_assert_eq(tidal_wal_release(w, second - 1), 0);
    cr_assert_eq(tidal_wal_release(w, 1), 0);
    /* lsn == second: every LSN of the first segment is below it. */
    cr_assert_eq(tidal_wal_release(w, second), 1);
    tidal_wal_stats_get(w, &st);
    cr_assert_eq(st.segments_live, 4);
    TIDAL_FAIL(tidal_wal_read(w, second - 1, false, wal_collect, &(struct wal_got){0}),
               TIDAL_ENOENT);
    TIDAL_FAIL(tidal_wal_read(w, 1, false, wal_collect, &(struct wal_got){0}), TIDAL_ENOENT);
    g = wal_read_all(w, second, false);
    cr_assert_eq(g->first[0], second);
    free(g);
    g = wal_read_all(w, 0, false); /* 0: from the oldest batch kept */
    cr_assert_eq(g->first[0], second);
    free(g);

    /* Everything: only the live segment stays. */
    cr_assert_eq(tidal_wal_release(w, UINT64_MAX), 3);
    names = wal_seg_names(dir, &n);
    cr_assert_eq(n, 1, "the live segment is never deleted");
    wal_names_free(names, n);
    TIDAL_FAIL(tidal_wal_read(w, third, false, wal_collect, &(struct wal_got){0}), TIDAL_ENOENT);
    uint64_t lsn = wal_append(w, 10, 1);
    g = wal_read_all(w, lsn, false);
    cr_assert_eq(g->n, 1);
    free(g);
    tidal_wal_close(w);

    /* After reopen the oldest kept segment is where the log starts. */
    tidal_wal_recovery rep;
    w = wal_open(&o, &rep);
    cr_assert_eq(rep.next_lsn, lsn + 1);
    TIDAL_FAIL(tidal_wal_read(w, 1, false, wal_collect, &(struct wal_got){0}), TIDAL_ENOENT);
    g = wal_read_all(w, lsn, false);
    cr_assert_eq(g->n, 1);
    free(g);
    tidal_wal_close(w);
    tidal_test_rmdir(dir);
}

struct seen {
    int n;
    uint32_t ids[16];
};

static void
on_log(void *arg, uint16_t origin, uint16_t shard)
{
    struct seen *s = arg;
    cr_assert(s->n < 16);
    s->ids[s->n++] = (uint32_t)shard << 16 | origin;
}

Test(wal_segment, list_finds_every_log)
{
    const char *dir = tidal_test_tmpdir();
    static const uint16_t logs[][2] = {{1, 0}, {2, 0}, {1, 3}, {5, 0x10}, {0xffff, 0xffff}};
    tidal_wal *w[5];
    struct seen s = {0};

    TIDAL_PASS(tidal_wal_list(dir, on_log, &s));
    cr_assert_eq(s.n, 0, "no wal directory: no logs");
    for (int i = 0; i < 5; i++) {
        tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_NONE);
        o.origin = logs[i][0];
        o.shard = logs[i][1];
        w[i] = wal_open(&o, NULL);
        uint64_t lsn;
        TIDAL_PASS(
            tidal_wal_append(w[i], (const uint8_t *)"ab", 2, 1, wal_hlc(1), wal_hlc(1), &lsn));
    }
    TIDAL_PASS(tidal_wal_list(dir, on_log, &s));
    cr_assert_eq(s.n, 5);
    /* In (shard, origin) order. */
    static const uint32_t want[] = {0x00000001, 0x00000002, 0x00030001, 0x00100005, 0xffffffff};
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(s.ids[i], want[i], "log %d: %08x", i, s.ids[i]);
    }
    for (int i = 0; i < 5; i++) {
        tidal_wal_close(w[i]);
    }
    TIDAL_FAIL(tidal_wal_list(dir, NULL, NULL), TIDAL_EINVAL);
    tidal_test_rmdir(dir);
}

/* Under SYNC the sync thread writes the batches (write-behind): until it
 * does, the cache is their only copy, so it must keep them whatever its
 * bound, and a read crossing from the files into them must see one
 * unbroken log.  A 512-byte cache and 4 KiB segments make every read
 * cross files, roll-overs and unwritten batches while the appends race the
 * sync thread: with 512 bytes queued an append is refused (TIDAL_EFULL)
 * and the helper waits for room outside the log's lock, then appends. */
Test(wal_segment, sync_reads_cross_files_and_batches_not_yet_written)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_SYNC);
    tidal_wal *w;
    struct wal_got *g;
    const uint64_t batches = 1500;

    o.segment_bytes = TIDAL_WAL_SEGMENT_BYTES_MIN;
    o.memory_bytes = 512;
    w = wal_open(&o, NULL);
    for (uint64_t i = 1; i <= batches; i++) {
        cr_assert_eq(wal_append(w, 100, 1), i);
        uint64_t from = i > 60 ? i - 60 : 1; /* from the files into the unwritten */
        g = wal_read_all(w, from, true);
        cr_assert_eq(g->n, i - from + 1, "LSNs %llu..%llu readable", (unsigned long long)from,
                     (unsigned long long)i);
        free(g);
        if (i % 100 == 0) {
            g = wal_read_all(w, 1, true);
            cr_assert_eq(g->n, i, "all %llu appended batches readable", (unsigned long long)i);
            free(g);
            uint64_t durable = tidal_wal_durable_lsn(w);
            g = wal_read_all(w, 1, false);
            cr_assert_geq(g->n, durable, "every durable batch readable");
            free(g);
        }
    }
    TIDAL_PASS(tidal_wal_wait_durable(w, batches, 10000));
    tidal_wal_stats st;
    tidal_wal_stats_get(w, &st);
    cr_assert_gt(st.segments_live, 30, "rolled over by the sync thread");
    cr_assert_leq(st.queued_max, o.memory_bytes, "appends waited for the writes: %llu queued",
                  (unsigned long long)st.queued_max);
    cr_log_info("%llu appends waited for room", (unsigned long long)st.room_waits);
    tidal_wal_close(w);

    w = wal_open(&o, NULL);
    g = wal_read_all(w, 1, false);
    cr_assert_eq(g->n, batches, "every batch in the files after reopen");
    free(g);
    tidal_wal_close(w);
    tidal_test_rmdir(dir);
}

/* The mode bits of path. */
static unsigned
mode_of(const char *path)
{
    struct stat st;

    cr_assert(stat(path, &st) == 0, "stat %s", path);
    return (unsigned)(st.st_mode & 0777);
}

Test(wal_segment, files_are_private_whatever_the_umask)
{
    const char *base = tidal_test_tmpdir();
    char dir[256];
    char path[600];
    char **names;
    size_t n;

    /* A umask of 0 narrows nothing: the modes are the ones the log asks
     * for, for the directories it makes (the region's included), for every
     * segment, the ones made by a roll-over too, and for the manifest. */
    snprintf(dir, sizeof(dir), "%s/region", base);
    mode_t old = umask(0);
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_NONE); /* rolls on append */
    o.segment_bytes = 4096;
    tidal_wal *w = wal_open(&o, NULL);
    fill_segments(w, 3);
    umask(old);
    tidal_wal_close(w);
    const char *dirs[] = {"", "/wal", "/wal/shard-0002"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s%s", dir, dirs[i]);
        cr_assert_eq(mode_of(path), 0700, "%s is %o", path, mode_of(path));
    }
    names = wal_seg_names(dir, &n);
    cr_assert_geq(n, 3);
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/wal/shard-0002/%s", dir, names[i]);
        cr_assert_eq(mode_of(path), 0600, "%s is %o", path, mode_of(path));
    }
    snprintf(path, sizeof(path), "%s/wal/shard-0002/r0001.manifest", dir);
    cr_assert_eq(mode_of(path), 0600, "the manifest is %o", mode_of(path));

    /* What an older tidal made, 0755 and 0644, is narrowed on open. */
    snprintf(path, sizeof(path), "%s/wal/shard-0002", dir);
    cr_assert(chmod(path, 0755) == 0);
    snprintf(path, sizeof(path), "%s/wal/shard-0002/%s", dir, names[0]);
    cr_assert(chmod(path, 0644) == 0);
    tidal_wal_close(wal_open(&o, NULL));
    cr_assert_eq(mode_of(path), 0600);
    snprintf(path, sizeof(path), "%s/wal/shard-0002", dir);
    cr_assert_eq(mode_of(path), 0700);
    wal_names_free(names, n);
    tidal_test_rmdir(base);
}
