/*
 * WAL recovery (store/wal_recover.c): the torn tail at every byte offset of
 * the last batch, a corrupt last batch, corruption in the middle or in an
 * older segment, version-1 headers, breaks of continuity that a good CRC
 * cannot show (LSN out of sequence, another origin's batch, a missing
 * segment), a zero-filled tail, an empty last segment.
 */
#include "tidal_test.h"

#include "test_wal_helpers.h"

TIDAL_SUITE(wal_recover);

/* The batches written by write_log, for the checks. */
#define N_BATCHES 5
static const uint32_t counts[N_BATCHES] = {1, 2, 1, 4, 3};
static const uint32_t lens[N_BATCHES] = {20, 0, 33, 7, 24};

/* Writes N_BATCHES batches into a fresh log in dir, as a process that then
 * died (tidal_wal_abandon: a clean close would record in the manifest that
 * they were durable, and a tail cut after that is a loss, not a torn
 * write); returns the segment's bytes and the batch offsets. */
static uint8_t *
write_log(const char *dir, size_t *len, size_t offs[N_BATCHES])
{
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_NONE);
    tidal_wal *w = wal_open(&o, NULL);
    char seg[512];
    uint8_t *b;

    for (int i = 0; i < N_BATCHES; i++) {
        wal_append(w, lens[i], counts[i]);
    }
    tidal_wal_abandon(w);
    wal_seg_path(seg, sizeof(seg), dir, 1);
    b = wal_file_read(seg, len);
    cr_assert_eq(wal_batch_offsets(b, *len, offs, N_BATCHES), N_BATCHES);
    return b;
}

static uint64_t
lsn_of_batch(int i)
{
    uint64_t lsn = 1;
    for (int k = 0; k < i; k++) {
        lsn += counts[k];
    }
    return lsn;
}

/* Opens dir expecting failure with code; returns the report. */
static tidal_wal_recovery
open_fails(const char *dir, int code)
{
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_SYNC);
    tidal_wal_recovery rep;
    tidal_wal *w = NULL;

    TIDAL_FAIL(tidal_wal_open(&o, &w, &rep), code);
    cr_assert_null(w);
    cr_assert(rep.error[0] != '\0', "no error string");
    cr_log_info("refused as expected: %s", rep.error);
    return rep;
}

Test(wal_recover, torn_tail_at_every_offset_of_the_last_batch)
{
    const char *dir = tidal_test_tmpdir();
    char seg[512];
    size_t offs[N_BATCHES];
    size_t len;
    uint8_t *orig = write_log(dir, &len, offs);
    size_t last = offs[N_BATCHES - 1];
    uint64_t last_lsn = lsn_of_batch(N_BATCHES - 1);
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_NONE);
    char man[512];
    size_t man_len;
    uint8_t *man_orig;

    wal_seg_path(seg, sizeof(seg), dir, 1);
    wal_manifest_path(man, sizeof(man), dir);
    man_orig = wal_file_read(man, &man_len);
    cr_assert(len - last > TIDAL_BATCH_HEADER_BYTES, "the cuts cover header and payload");
    for (size_t cut = last; cut < len; cut++) {
        tidal_wal_recovery rep;
        tidal_wal *w;
        struct wal_got *g;

        /* what the crash left, each time: the reopens below record more */
        wal_file_write(seg, orig, cut);
        wal_file_write(man, man_orig, man_len);
        w = wal_open(&o, &rep);
        cr_assert_eq(rep.truncated_bytes, cut - last, "cut %zu", cut);
        if (cut > last) {
            cr_assert_str_eq(rep.truncated_segment, "r0001-0000000000000001.seg");
            cr_assert_eq(rep.truncated_offset, last);
            cr_assert(rep.truncated_reason[0] != '\0');
        } else {
            cr_assert_str_empty(rep.truncated_segment, "a cut at a batch start is clean");
        }
        cr_assert_str_empty(rep.error);
        cr_assert_eq(rep.batches, N_BATCHES - 1);
        cr_assert_eq(rep.next_lsn, last_lsn);
        cr_assert_eq(wal_file_size(seg), last, "the torn bytes are gone from the file");

        g = wal_read_all(w, 1, false);
        cr_assert_eq(g->n, N_BATCHES - 1, "cut %zu: exactly the whole batches", cut);
        free(g);
        cr_assert_eq(wal_append(w, 9, 2), last_lsn, "the next append continues");
        g = wal_read_all(w, 1, false);
        cr_assert_eq(g->n, N_BATCHES);
        cr_assert_eq(g->first[N_BATCHES - 1], last_lsn);
        cr_assert_eq(g->count[N_BATCHES - 1], 2);
        free(g);
        tidal_wal_close(w);

        w = wal_open(&o, &rep);
        cr_assert_eq(rep.truncated_bytes, 0, "clean after the cut");
        cr_assert_eq(rep.next_lsn, last_lsn + 2);
        tidal_wal_close(w);
    }
    free(man_orig);
    free(orig);
    tidal_test_rmdir(dir);
}

Test(wal_recover, torn_first_batch_leaves_an_empty_log)
{
    const char *dir = tidal_test_tmpdir();
    char seg[512];
    size_t offs[N_BATCHES];
    size_t len;
    uint8_t *orig = write_log(dir, &len, offs);
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_SYNC);
    tidal_wal_recovery rep;
    tidal_wal *w;

    wal_seg_path(seg, sizeof(seg), dir, 1);
    wal_file_write(seg, orig, 10);
    w = wal_open(&o, &rep);
    cr_assert_eq(rep.truncated_bytes, 10);
    cr_assert_eq(rep.next_lsn, 1);
    cr_assert_eq(wal_append(w, 4, 1), 1);
    TIDAL_PASS(tidal_wal_wait_durable(w, 1, 10000));
    tidal_wal_close(w);
    free(orig);
    tidal_test_rmdir(dir);
}

Test(wal_recover, corrupt_last_batch_is_truncated)
{
    const char *dir = tidal_test_tmpdir();
    char seg[512];
    size_t offs[N_BATCHES];
    size_t len;
    uint8_t *orig = write_log(dir, &len, offs);
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_SYNC);
    tidal_wal_recovery rep;
    tidal_wal *w;

    wal_seg_path(seg, sizeof(seg), dir, 1);
    wal_file_flip(seg, len - 1, 0x20); /* full length, bad CRC */
    w = wal_open(&o, &rep);
    cr_assert_eq(rep.truncated_bytes, len - offs[N_BATCHES - 1]);
    cr_assert(strstr(rep.truncated_reason, "crc") != NULL, "%s", rep.truncated_reason);
    cr_assert_eq(rep.batches, N_BATCHES - 1);
    cr_assert_eq(rep.next_lsn, lsn_of_batch(N_BATCHES - 1));
    tidal_wal_close(w);
    free(orig);
    tidal_test_rmdir(dir);
}

Test(wal_recover, corrupt_batch_in_the_middle_fails_open)
{
    const char *dir = tidal_test_tmpdir();
    char seg[512];
    size_t offs[N_BATCHES];
    size_t len;
    uint8_t *orig = write_log(dir, &len, offs);
    tidal_wal_recovery rep;

    wal_seg_path(seg, sizeof(seg), dir, 1);
    /* A payload bit: CRC. */
    wal_file_flip(seg, offs[2] + TIDAL_BATCH_HEADER_BYTES + 5, 0x01);
    rep = open_fails(dir, TIDAL_ECORRUPT);
    cr_assert(strstr(rep.error, "r0001-0000000000000001.seg") != NULL, "%s", rep.error);
    cr_assert(strstr(rep.error, "crc") != NULL, "%s", rep.error);
    cr_assert(strstr(rep.error, "followed by a valid batch") != NULL, "%s", rep.error);
    char want[64];
    snprintf(want, sizeof(want), "offset %zu", offs[2]);
    cr_assert(strstr(rep.error, want) != NULL, "%s lacks %s", rep.error, want);
    cr_assert_eq(wal_file_size(seg), len, "nothing truncated");

    /* The magic of a middle batch. */
    wal_file_write(seg, orig, len);
    wal_file_flip(seg, offs[1], 0xff);
    rep = open_fails(dir, TIDAL_ECORRUPT);
    cr_assert(strstr(rep.error, "magic") != NULL, "%s", rep.error);

    /* A length field that now reaches past the end of the file: it looks like
     * a torn tail, but valid batches follow, so it is not cut. */
    wal_file_write(seg, orig, len);
    wal_file_flip(seg, offs[1] + 26, 0x01); /* payload length += 64 KiB */
    rep = open_fails(dir, TIDAL_ECORRUPT);
    cr_assert(strstr(rep.error, "followed by a valid batch") != NULL, "%s", rep.error);
    cr_assert_eq(wal_file_size(seg), len, "nothing truncated");
    free(orig);
    tidal_test_rmdir(dir);
}

Test(wal_recover, version_1_batch_fails_open)
{
    const char *dir = tidal_test_tmpdir();
    char seg[512];
    size_t offs[N_BATCHES];
    size_t len;
    uint8_t *orig = write_log(dir, &len, offs);
    tidal_wal_recovery rep;

    wal_seg_path(seg, sizeof(seg), dir, 1);
    wal_file_flip(seg, offs[2] + 4, 0x03); /* version 2 -> 1 */
    rep = open_fails(dir, TIDAL_EVERSION);
    cr_assert(strstr(rep.error, "version") != NULL, "%s", rep.error);
    /* Even as the last batch: a version is never a torn write. */
    wal_file_write(seg, orig, len);
    wal_file_flip(seg, offs[N_BATCHES - 1] + 4, 0x03);
    open_fails(dir, TIDAL_EVERSION);
    cr_assert_eq(wal_file_size(seg), len);
    free(orig);
    tidal_test_rmdir(dir);
}

/* Re-encodes the header of the batch at off in b with h changed by the
 * caller, so its CRC is valid. */
static void
reencode(uint8_t *b, size_t off, const tidal_batch_header *h)
{
    TIDAL_PASS(tidal_batch_header_encode(h, b + off + TIDAL_BATCH_HEADER_BYTES, b + off));
}

Test(wal_recover, continuity_breaks_with_a_good_crc_fail_open)
{
    const char *dir = tidal_test_tmpdir();
    char seg[512];
    size_t offs[N_BATCHES];
    size_t len;
    uint8_t *orig = write_log(dir, &len, offs);
    uint8_t *b = malloc(len);
    tidal_batch_header h;
    tidal_wal_recovery rep;

    wal_seg_path(seg, sizeof(seg), dir, 1);
    /* A batch out of sequence (its first LSN one too high). */
    memcpy(b, orig, len);
    TIDAL_PASS(tidal_batch_decode(b + offs[2], len - offs[2], &h, NULL, NULL, 0));
    h.first_lsn++;
    reencode(b, offs[2], &h);
    wal_file_write(seg, b, len);
    rep = open_fails(dir, TIDAL_ECORRUPT);
    cr_assert(strstr(rep.error, "first LSN") != NULL, "%s", rep.error);

    /* The same as the last batch: an intact batch, so not a torn write. */
    memcpy(b, orig, len);
    TIDAL_PASS(tidal_batch_decode(b + offs[4], len - offs[4], &h, NULL, NULL, 0));
    h.first_lsn--;
    reencode(b, offs[4], &h);
    wal_file_write(seg, b, len);
    rep = open_fails(dir, TIDAL_ECORRUPT);
    cr_assert(strstr(rep.error, "first LSN") != NULL, "%s", rep.error);

    /* Another origin's batch in this origin's file. */
    memcpy(b, orig, len);
    TIDAL_PASS(tidal_batch_decode(b + offs[3], len - offs[3], &h, NULL, NULL, 0));
    h.origin = WAL_ORIGIN + 1;
    reencode(b, offs[3], &h);
    wal_file_write(seg, b, len);
    rep = open_fails(dir, TIDAL_ECORRUPT);
    cr_assert(strstr(rep.error, "origin") != NULL, "%s", rep.error);

    /* Another shard's. */
    memcpy(b, orig, len);
    TIDAL_PASS(tidal_batch_decode(b + offs[0], len - offs[0], &h, NULL, NULL, 0));
    h.shard = WAL_SHARD + 1;
    reencode(b, offs[0], &h);
    wal_file_write(seg, b, len);
    rep = open_fails(dir, TIDAL_ECORRUPT);
    cr_assert(strstr(rep.error, "shard") != NULL, "%s", rep.error);
    free(b);
    free(orig);
    tidal_test_rmdir(dir);
}

/* Writes batches with 4 KiB segments until there are nseg, and closes the
 * log (clean: the manifest then says where it ends).  Under NONE each
 * roll-over stores the manifest; *before_roll (if not NULL) gets its bytes
 * as they were just before the last roll (free it), *before_len their
 * length. */
static void
write_segments_keeping(const char *dir, size_t nseg, uint8_t **before_roll, size_t *before_len)
{
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_NONE);
    tidal_wal *w;
    tidal_wal_stats st;
    char man[512];

    o.segment_bytes = 4096;
    wal_manifest_path(man, sizeof(man), dir);
    w = wal_open(&o, NULL);
    do {
        if (before_roll != NULL) {
            free(*before_roll);
            *before_roll = wal_file_read(man, before_len);
        }
        wal_append(w, 300, 2);
        tidal_wal_stats_get(w, &st);
    } while (st.segments_live < nseg);
    tidal_wal_close(w);
}

static void
write_segments(const char *dir, size_t nseg)
{
    write_segments_keeping(dir, nseg, NULL, NULL);
}

Test(wal_recover, corruption_in_an_older_segment_fails_open)
{
    const char *dir = tidal_test_tmpdir();
    char path[512];
    char **names;
    size_t n;
    size_t len;
    tidal_wal_recovery rep;

    write_segments(dir, 3);
    names = wal_seg_names(dir, &n);
    snprintf(path, sizeof(path), "%s/wal/shard-%04x/%s", dir, WAL_SHARD, names[0]);
    len = wal_file_size(path);
    /* The last batch of the first segment: torn-looking, but not in the last
     * segment, so never cut. */
    wal_file_flip(path, len - 1, 0x01);
    rep = open_fails(dir, TIDAL_ECORRUPT);
    cr_assert(strstr(rep.error, names[0]) != NULL, "%s", rep.error);
    cr_assert(strstr(rep.error, "not the last") != NULL, "%s", rep.error);
    cr_assert_eq(wal_file_size(path), len);
    /* Cut short instead. */
    uint8_t *b = wal_file_read(path, &len);
    wal_file_write(path, b, len - 10);
    free(b);
    rep = open_fails(dir, TIDAL_ECORRUPT);
    cr_assert(strstr(rep.error, "not the last") != NULL, "%s", rep.error);
    wal_names_free(names, n);
    tidal_test_rmdir(dir);
}

Test(wal_recover, missing_segment_is_a_gap)
{
    const char *dir = tidal_test_tmpdir();
    char path[512];
    char **names;
    size_t n;
    tidal_wal_recovery rep;

    write_segments(dir, 4);
    names = wal_seg_names(dir, &n);
    snprintf(path, sizeof(path), "%s/wal/shard-%04x/%s", dir, WAL_SHARD, names[1]);
    cr_assert(unlink(path) == 0);
    rep = open_fails(dir, TIDAL_ECORRUPT);
    cr_assert(strstr(rep.error, "gap") != NULL, "%s", rep.error);
    cr_assert(strstr(rep.error, names[2]) != NULL, "%s", rep.error);
    wal_names_free(names, n);
    tidal_test_rmdir(dir);
}

Test(wal_recover, zero_filled_tail_is_truncated)
{
    const char *dir = tidal_test_tmpdir();
    char seg[512];
    size_t offs[N_BATCHES];
    size_t len;
    uint8_t *orig = write_log(dir, &len, offs);
    uint8_t *b = calloc(1, len + 4096);
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_SYNC);
    tidal_wal_recovery rep;
    tidal_wal *w;
    char man[512];
    size_t man_len;

    wal_manifest_path(man, sizeof(man), dir);
    uint8_t *man_orig = wal_file_read(man, &man_len);

    /* What a power loss can leave: the size grew, the blocks were never
     * written. */
    memcpy(b, orig, len);
    wal_seg_path(seg, sizeof(seg), dir, 1);
    wal_file_write(seg, b, len + 4096);
    w = wal_open(&o, &rep);
    cr_assert_eq(rep.truncated_bytes, 4096);
    cr_assert_eq(rep.truncated_offset, len);
    cr_assert(strstr(rep.truncated_reason, "magic") != NULL, "%s", rep.truncated_reason);
    cr_assert_eq(rep.batches, N_BATCHES);
    tidal_wal_close(w);

    /* Zeros from inside the last batch on, after the same crash (the manifest
     * as it left it: the open above recorded the batches durable). */
    wal_manifest_path(man, sizeof(man), dir);
    wal_file_write(man, man_orig, man_len);
    memset(b + offs[N_BATCHES - 1] + 30, 0, len + 4096 - offs[N_BATCHES - 1] - 30);
    wal_file_write(seg, b, len + 4096);
    w = wal_open(&o, &rep);
    cr_assert_eq(rep.batches, N_BATCHES - 1);
    cr_assert_eq(rep.truncated_offset, offs[N_BATCHES - 1]);
    tidal_wal_close(w);
    free(man_orig);
    free(b);
    free(orig);
    tidal_test_rmdir(dir);
}

Test(wal_recover, empty_last_segment_is_where_appends_go)
{
    const char *dir = tidal_test_tmpdir();
    char path[512];
    char **names;
    size_t n;
    unsigned long long first;
    unsigned origin;
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_NONE);
    tidal_wal_recovery rep;
    tidal_wal *w;

    uint8_t *man_before = NULL;
    size_t man_len = 0;
    char man[512];

    o.segment_bytes = 4096;
    write_segments_keeping(dir, 3, &man_before, &man_len);
    names = wal_seg_names(dir, &n);
    cr_assert_eq(sscanf(names[2], "r%4x-%16llx.seg", &origin, &first), 2);
    snprintf(path, sizeof(path), "%s/wal/shard-%04x/%s", dir, WAL_SHARD, names[2]);
    /* A crash right after the roll-over made the segment, before its first
     * batch: the manifest does not name it yet.  (Once it does, an empty
     * newest segment lost a durable batch: test_wal_manifest.c.) */
    cr_assert(truncate(path, 0) == 0);
    wal_manifest_path(man, sizeof(man), dir);
    wal_file_write(man, man_before, man_len);
    free(man_before);
    w = wal_open(&o, &rep);
    cr_assert_eq(rep.next_lsn, first);
    cr_assert_eq(rep.truncated_bytes, 0);
    cr_assert_eq(wal_append(w, 10, 1), first);
    tidal_wal_close(w);
    wal_names_free(names, n);
    names = wal_seg_names(dir, &n);
    cr_assert_eq(n, 3, "no new segment for an empty one");
    wal_names_free(names, n);
    tidal_test_rmdir(dir);
}

Test(wal_recover, stray_files_are_ignored)
{
    const char *dir = tidal_test_tmpdir();
    char path[512];
    size_t offs[N_BATCHES];
    size_t len;
    uint8_t *orig = write_log(dir, &len, offs);
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_NONE);
    tidal_wal_recovery rep;
    tidal_wal *w;

    snprintf(path, sizeof(path), "%s/wal/shard-%04x/r0001-0000000000000001.seg.tmp", dir,
             WAL_SHARD);
    wal_file_write(path, (const uint8_t *)"junk", 4);
    snprintf(path, sizeof(path), "%s/wal/shard-%04x/r0001-00000000000000FF.seg", dir, WAL_SHARD);
    wal_file_write(path, (const uint8_t *)"junk", 4);
    w = wal_open(&o, &rep);
    cr_assert_eq(rep.batches, N_BATCHES);
    tidal_wal_close(w);
    free(orig);
    tidal_test_rmdir(dir);
}
