/*
 * The manifest of a log (store/wal_manifest.c, store/wal_lost.c): a lost
 * newest segment, an emptied newest segment, a lost oldest segment and a gap
 * between segments refuse the open with TIDAL_ECORRUPT and name the file;
 * with salvage the log opens with what is left, reports the lost LSNs, and
 * (SKIP) gives no LSN twice; a log written before manifests opens and gains
 * one; a manifest of another version is refused; and the manifest costs no
 * sync per batch.  (Its mode, 0600 whatever the umask: test_wal_segment.c.)
 */
#include <sys/stat.h>

#include "tidal_test.h"

#include "store/crc32c.h"
#include "test_wal_helpers.h"

TIDAL_SUITE(wal_manifest);

#define SEGS 4

/* A log of SEGS 4 KiB segments in dir, written under d and closed (clean)
 * or abandoned (as a process that died).  Fills names (free with
 * wal_names_free) and *n; returns the highest LSN written. */
static uint64_t
write_log(const char *dir, tidal_durability d, bool clean, char ***names, size_t *n)
{
    tidal_wal_opts o = wal_opts(dir, d);
    tidal_wal_stats st;
    tidal_wal *w;

    o.segment_bytes = 4096;
    w = wal_open(&o, NULL);
    /* each batch durable before the next: under SYNC the sync thread rolls
     * over, and segments_live must not lag the appends */
    do {
        uint64_t lsn = wal_append(w, 300, 2);
        TIDAL_PASS(tidal_wal_wait_durable(w, lsn + 1, 10000));
        tidal_wal_stats_get(w, &st);
    } while (st.segments_live < SEGS);
    uint64_t high = wal_append(w, 300, 2) + 1; /* the newest holds two batches */
    TIDAL_PASS(tidal_wal_wait_durable(w, high, 10000));
    if (clean) {
        tidal_wal_close(w);
    } else {
        tidal_wal_abandon(w);
    }
    *names = wal_seg_names(dir, n);
    cr_assert_eq(*n, SEGS);
    return high;
}

static uint64_t
first_lsn_of(const char *name)
{
    unsigned origin;
    unsigned long long lsn;

    cr_assert_eq(sscanf(name, "r%4x-%16llx.seg", &origin, &lsn), 2, "%s", name);
    return lsn;
}

static void
seg_path_of(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/wal/shard-%04x/%s", dir, WAL_SHARD, name);
}

/* Opens dir expecting code; returns the report. */
static tidal_wal_recovery
open_fails(const char *dir, tidal_wal_salvage salvage, int code)
{
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_SYNC);
    tidal_wal_recovery rep;
    tidal_wal *w = NULL;

    o.segment_bytes = 4096;
    o.salvage = salvage;
    TIDAL_FAIL(tidal_wal_open(&o, &w, &rep), code);
    cr_assert_null(w);
    cr_log_info("refused as expected: %s", rep.error);
    return rep;
}

static tidal_wal *
open_salvaged(const char *dir, tidal_wal_salvage salvage, tidal_wal_recovery *rep)
{
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_SYNC);

    o.segment_bytes = 4096;
    o.salvage = salvage;
    tidal_wal *w = wal_open(&o, rep);
    cr_log_info("salvaged: %s", rep->lost);
    return w;
}

/* What a read from the oldest batch kept delivers: first LSNs, in order,
 * whatever holes lie between them. */
struct firsts {
    size_t n;
    uint64_t first[4096];
    uint32_t count[4096];
    uint64_t end; /* the LSN after the last batch */
};

static int
collect_firsts(void *arg, const uint8_t *b, size_t len)
{
    struct firsts *f = arg;
    tidal_batch_header h;

    TIDAL_PASS(tidal_batch_decode(b, len, &h, NULL, NULL, 0));
    cr_assert(f->n < 4096);
    cr_assert_geq(h.first_lsn, f->end, "batches in LSN order");
    f->first[f->n] = h.first_lsn;
    f->count[f->n++] = h.count;
    f->end = h.first_lsn + h.count;
    return 0;
}

static bool
read_has(const struct firsts *f, uint64_t lsn)
{
    for (size_t i = 0; i < f->n; i++) {
        if (f->first[i] <= lsn && lsn < f->first[i] + f->count[i]) {
            return true;
        }
    }
    return false;
}

/* Reads the whole log; the batches read must hold exactly the LSNs from
 * `from` up to next_lsn - 1 but lost_first..lost_last. */
static void
check_read(tidal_wal *w, uint64_t from, uint64_t lost_first, uint64_t lost_last)
{
    struct firsts *f = calloc(1, sizeof(*f));

    cr_assert(f != NULL);
    TIDAL_PASS(tidal_wal_read(w, 0, true, collect_firsts, f));
    cr_assert_eq(f->first[0], from);
    for (uint64_t lsn = from; lsn < tidal_wal_next_lsn(w); lsn++) {
        bool lost = lsn >= lost_first && lsn <= lost_last;
        cr_assert_eq(read_has(f, lsn), !lost, "LSN %llu %s", (unsigned long long)lsn,
                     lost ? "was lost, yet read" : "missing from the read");
    }
    free(f);
}

Test(wal_manifest, missing_newest_segment_is_refused)
{
    const char *dir = tidal_test_tmpdir();
    char path[512];
    char **names;
    size_t n;

    write_log(dir, TIDAL_DURABILITY_SYNC, true, &names, &n);
    seg_path_of(path, sizeof(path), dir, names[SEGS - 1]);
    cr_assert(unlink(path) == 0);
    tidal_wal_recovery rep = open_fails(dir, TIDAL_WAL_SALVAGE_OFF, TIDAL_ECORRUPT);
    cr_assert(strstr(rep.error, names[SEGS - 1]) != NULL, "names the file: %s", rep.error);
    cr_assert(strstr(rep.error, "missing") != NULL, "%s", rep.error);
    wal_names_free(names, n);
    tidal_test_rmdir(dir);
}

Test(wal_manifest, emptied_newest_segment_is_refused)
{
    /* Also after a crash (no clean close): the roll-over to the newest
     * segment named it in the manifest, with its first batch durable. */
    for (int crashed = 0; crashed < 2; crashed++) {
        for (int d = TIDAL_DURABILITY_SYNC; d <= TIDAL_DURABILITY_NONE; d++) {
            const char *dir = tidal_test_tmpdir();
            char path[512];
            char **names;
            size_t n;

            write_log(dir, (tidal_durability)d, !crashed, &names, &n);
            seg_path_of(path, sizeof(path), dir, names[SEGS - 1]);
            cr_assert(truncate(path, 0) == 0);
            tidal_wal_recovery rep = open_fails(dir, TIDAL_WAL_SALVAGE_OFF, TIDAL_ECORRUPT);
            cr_assert(strstr(rep.error, names[SEGS - 1]) != NULL, "names the file: %s", rep.error);
            cr_assert(strstr(rep.error, "emptied") != NULL, "%s", rep.error);
            wal_names_free(names, n);
            tidal_test_rmdir(dir);
        }
    }
}

Test(wal_manifest, missing_oldest_segment_is_refused)
{
    const char *dir = tidal_test_tmpdir();
    char path[512];
    char **names;
    size_t n;

    write_log(dir, TIDAL_DURABILITY_NONE, false, &names, &n);
    seg_path_of(path, sizeof(path), dir, names[0]);
    cr_assert(unlink(path) == 0);
    tidal_wal_recovery rep = open_fails(dir, TIDAL_WAL_SALVAGE_OFF, TIDAL_ECORRUPT);
    cr_assert(strstr(rep.error, names[0]) != NULL, "names the file: %s", rep.error);
    cr_assert(strstr(rep.error, "missing") != NULL, "%s", rep.error);
    wal_names_free(names, n);
    tidal_test_rmdir(dir);
}

Test(wal_manifest, gap_names_the_missing_segment)
{
    const char *dir = tidal_test_tmpdir();
    char path[512];
    char **names;
    size_t n;

    write_log(dir, TIDAL_DURABILITY_NONE, true, &names, &n);
    seg_path_of(path, sizeof(path), dir, names[1]);
    cr_assert(unlink(path) == 0);
    tidal_wal_recovery rep = open_fails(dir, TIDAL_WAL_SALVAGE_OFF, TIDAL_ECORRUPT);
    cr_assert(strstr(rep.error, names[1]) != NULL, "names the missing file: %s", rep.error);
    cr_assert(strstr(rep.error, "gap") != NULL, "%s", rep.error);
    wal_names_free(names, n);
    tidal_test_rmdir(dir);
}

Test(wal_manifest, every_segment_missing_is_refused)
{
    const char *dir = tidal_test_tmpdir();
    char path[512];
    char **names;
    size_t n;

    write_log(dir, TIDAL_DURABILITY_NONE, true, &names, &n);
    for (size_t i = 0; i < n; i++) {
        seg_path_of(path, sizeof(path), dir, names[i]);
        cr_assert(unlink(path) == 0);
    }
    tidal_wal_recovery rep = open_fails(dir, TIDAL_WAL_SALVAGE_OFF, TIDAL_ECORRUPT);
    cr_assert(strstr(rep.error, names[SEGS - 1]) != NULL, "%s", rep.error);
    wal_names_free(names, n);
    tidal_test_rmdir(dir);
}

Test(wal_manifest, salvage_of_a_missing_newest_segment_skips_its_lsns)
{
    const char *dir = tidal_test_tmpdir();
    char path[512];
    char **names;
    size_t n;
    tidal_wal_recovery rep;

    uint64_t high = write_log(dir, TIDAL_DURABILITY_SYNC, true, &names, &n);
    uint64_t lost = first_lsn_of(names[SEGS - 1]);
    seg_path_of(path, sizeof(path), dir, names[SEGS - 1]);
    cr_assert(unlink(path) == 0);
    tidal_wal *w = open_salvaged(dir, TIDAL_WAL_SALVAGE_SKIP, &rep);
    cr_assert_eq(rep.lost_first, lost);
    cr_assert_eq(rep.lost_last, high);
    cr_assert_eq(rep.lost_lsns, high - lost + 1);
    cr_assert(strstr(rep.lost, names[SEGS - 1]) != NULL, "%s", rep.lost);
    cr_assert_eq(rep.next_lsn, high + 1, "above every LSN the log used");
    cr_assert_eq(wal_append(w, 10, 1), high + 1);
    check_read(w, 1, lost, high);
    tidal_wal_close(w);

    /* The hole is recorded: the log opens without salvage now. */
    w = open_salvaged(dir, TIDAL_WAL_SALVAGE_OFF, &rep);
    cr_assert_eq(rep.lost_lsns, 0);
    cr_assert_str_empty(rep.lost);
    cr_assert_eq(rep.next_lsn, high + 2);
    check_read(w, 1, lost, high);
    tidal_wal_close(w);
    wal_names_free(names, n);
    tidal_test_rmdir(dir);
}

Test(wal_manifest, salvage_of_an_emptied_newest_segment_skips_its_lsns)
{
    const char *dir = tidal_test_tmpdir();
    char path[512];
    char **names;
    size_t n;
    tidal_wal_recovery rep;

    uint64_t high = write_log(dir, TIDAL_DURABILITY_NONE, true, &names, &n);
    uint64_t lost = first_lsn_of(names[SEGS - 1]);
    seg_path_of(path, sizeof(path), dir, names[SEGS - 1]);
    cr_assert(truncate(path, 0) == 0);
    tidal_wal *w = open_salvaged(dir, TIDAL_WAL_SALVAGE_SKIP, &rep);
    cr_assert_eq(rep.lost_first, lost);
    cr_assert_eq(rep.lost_last, high);
    cr_assert_eq(rep.lost_lsns, high - lost + 1);
    cr_assert_eq(wal_append(w, 10, 1), high + 1);
    check_read(w, 1, lost, high);
    tidal_wal_abandon(w);
    w = open_salvaged(dir, TIDAL_WAL_SALVAGE_OFF, &rep);
    cr_assert_eq(rep.next_lsn, high + 2);
    check_read(w, 1, lost, high);
    tidal_wal_close(w);
    wal_names_free(names, n);
    tidal_test_rmdir(dir);
}

/* Salvaged once (a hole after the third segment, a new newest segment
 * above it), then the new newest segment lost too: a second salvage counts
 * only what it newly lost, and REFILL drops the hole it goes on over. */
Test(wal_manifest, a_second_salvage_counts_only_new_losses)
{
    for (int refill = 0; refill < 2; refill++) {
        const char *dir = tidal_test_tmpdir();
        char path[512];
        char **names;
        size_t n;
        tidal_wal_recovery rep;

        uint64_t high = write_log(dir, TIDAL_DURABILITY_NONE, true, &names, &n);
        uint64_t lost = first_lsn_of(names[SEGS - 1]);
        seg_path_of(path, sizeof(path), dir, names[SEGS - 1]);
        cr_assert(unlink(path) == 0);
        tidal_wal *w = open_salvaged(dir, TIDAL_WAL_SALVAGE_SKIP, &rep);
        cr_assert_eq(wal_append(w, 10, 3), high + 1);
        tidal_wal_close(w);
        wal_names_free(names, n);
        names = wal_seg_names(dir, &n);
        cr_assert_eq(first_lsn_of(names[n - 1]), high + 1, "the segment above the hole");
        seg_path_of(path, sizeof(path), dir, names[n - 1]);
        cr_assert(unlink(path) == 0);
        rep = open_fails(dir, TIDAL_WAL_SALVAGE_OFF, TIDAL_ECORRUPT);
        cr_assert(strstr(rep.error, names[n - 1]) != NULL, "%s", rep.error);

        w = open_salvaged(dir, refill ? TIDAL_WAL_SALVAGE_REFILL : TIDAL_WAL_SALVAGE_SKIP, &rep);
        if (refill) {
            cr_assert_eq(rep.lost_first, lost);
            cr_assert_eq(rep.lost_last, high + 3);
            cr_assert_eq(rep.next_lsn, lost, "on after what is left, over the old hole");
            cr_assert_eq(wal_append(w, 10, 1), lost);
            check_read(w, 1, 1, 0);
        } else {
            cr_assert_eq(rep.lost_first, high + 1);
            cr_assert_eq(rep.lost_last, high + 3);
            cr_assert_eq(rep.lost_lsns, 3, "the old hole is not lost again");
            cr_assert_eq(rep.next_lsn, high + 4);
            cr_assert_eq(wal_append(w, 10, 1), high + 4);
            check_read(w, 1, lost, high + 3);
        }
        tidal_wal_close(w);
        w = open_salvaged(dir, TIDAL_WAL_SALVAGE_OFF, &rep);
        cr_assert_eq(rep.next_lsn, refill ? lost + 1 : high + 5);
        tidal_wal_close(w);
        wal_names_free(names, n);
        tidal_test_rmdir(dir);
    }
}

Test(wal_manifest, salvage_of_a_copy_goes_on_after_what_is_left)
{
    const char *dir = tidal_test_tmpdir();
    char path[512];
    char **names;
    size_t n;
    tidal_wal_recovery rep;

    uint64_t high = write_log(dir, TIDAL_DURABILITY_SYNC, true, &names, &n);
    uint64_t lost = first_lsn_of(names[SEGS - 1]);
    seg_path_of(path, sizeof(path), dir, names[SEGS - 1]);
    cr_assert(unlink(path) == 0);
    tidal_wal *w = open_salvaged(dir, TIDAL_WAL_SALVAGE_REFILL, &rep);
    cr_assert_eq(rep.lost_first, lost);
    cr_assert_eq(rep.lost_last, high);
    cr_assert_eq(rep.next_lsn, lost, "its origin sends the lost tail again");
    cr_assert_eq(wal_append(w, 10, 1), lost);
    check_read(w, 1, 1, 0);
    tidal_wal_close(w);
    w = open_salvaged(dir, TIDAL_WAL_SALVAGE_OFF, &rep);
    cr_assert_eq(rep.next_lsn, lost + 1);
    tidal_wal_close(w);
    wal_names_free(names, n);
    tidal_test_rmdir(dir);
}

Test(wal_manifest, salvage_of_a_missing_oldest_segment_starts_later)
{
    const char *dir = tidal_test_tmpdir();
    char path[512];
    char **names;
    size_t n;
    tidal_wal_recovery rep;

    uint64_t high = write_log(dir, TIDAL_DURABILITY_NONE, false, &names, &n);
    uint64_t kept = first_lsn_of(names[1]);
    seg_path_of(path, sizeof(path), dir, names[0]);
    cr_assert(unlink(path) == 0);
    tidal_wal *w = open_salvaged(dir, TIDAL_WAL_SALVAGE_SKIP, &rep);
    cr_assert_eq(rep.lost_first, 1);
    cr_assert_eq(rep.lost_last, kept - 1);
    cr_assert_eq(rep.lost_lsns, kept - 1);
    cr_assert(strstr(rep.lost, names[0]) != NULL, "%s", rep.lost);
    cr_assert_eq(rep.next_lsn, high + 1);
    cr_assert_eq(wal_append(w, 10, 1), high + 1);
    check_read(w, kept, 1, 0);
    TIDAL_FAIL(tidal_wal_read(w, 1, true, collect_firsts, &(struct firsts){0}), TIDAL_ENOENT);
    tidal_wal_close(w);
    w = open_salvaged(dir, TIDAL_WAL_SALVAGE_OFF, &rep);
    cr_assert_eq(rep.lost_lsns, 0);
    tidal_wal_close(w);
    wal_names_free(names, n);
    tidal_test_rmdir(dir);
}

Test(wal_manifest, salvage_of_a_gap_keeps_both_sides)
{
    const char *dir = tidal_test_tmpdir();
    char path[512];
    char **names;
    size_t n;
    tidal_wal_recovery rep;

    uint64_t high = write_log(dir, TIDAL_DURABILITY_SYNC, true, &names, &n);
    uint64_t lost = first_lsn_of(names[1]);
    uint64_t after = first_lsn_of(names[2]);
    seg_path_of(path, sizeof(path), dir, names[1]);
    cr_assert(unlink(path) == 0);
    tidal_wal *w = open_salvaged(dir, TIDAL_WAL_SALVAGE_SKIP, &rep);
    cr_assert_eq(rep.lost_first, lost);
    cr_assert_eq(rep.lost_last, after - 1);
    cr_assert_eq(rep.lost_lsns, after - lost);
    cr_assert_eq(rep.next_lsn, high + 1);
    check_read(w, 1, lost, after - 1);
    /* A reader from inside the hole starts after it. */
    struct firsts f = {0};
    TIDAL_PASS(tidal_wal_read(w, lost + 1, true, collect_firsts, &f));
    cr_assert_eq(f.first[0], after);
    tidal_wal_close(w);
    w = open_salvaged(dir, TIDAL_WAL_SALVAGE_OFF, &rep);
    cr_assert_eq(rep.next_lsn, high + 1);
    check_read(w, 1, lost, after - 1);
    tidal_wal_close(w);
    wal_names_free(names, n);
    tidal_test_rmdir(dir);
}

Test(wal_manifest, salvage_of_every_segment_missing)
{
    for (int refill = 0; refill < 2; refill++) {
        const char *dir = tidal_test_tmpdir();
        char path[512];
        char **names;
        size_t n;
        tidal_wal_recovery rep;

        uint64_t high = write_log(dir, TIDAL_DURABILITY_NONE, true, &names, &n);
        for (size_t i = 0; i < n; i++) {
            seg_path_of(path, sizeof(path), dir, names[i]);
            cr_assert(unlink(path) == 0);
        }
        tidal_wal *w =
            open_salvaged(dir, refill ? TIDAL_WAL_SALVAGE_REFILL : TIDAL_WAL_SALVAGE_SKIP, &rep);
        cr_assert_eq(rep.lost_first, 1);
        cr_assert_eq(rep.lost_last, high);
        cr_assert_eq(rep.next_lsn, refill ? 1 : high + 1);
        cr_assert_eq(wal_append(w, 10, 1), rep.next_lsn);
        tidal_wal_close(w);
        w = open_salvaged(dir, TIDAL_WAL_SALVAGE_OFF, &rep);
        tidal_wal_close(w);
        wal_names_free(names, n);
        tidal_test_rmdir(dir);
    }
}

Test(wal_manifest, a_log_without_a_manifest_opens_and_gains_one)
{
    const char *dir = tidal_test_tmpdir();
    char path[512];
    char man[512];
    char **names;
    size_t n;
    tidal_wal_recovery rep;
    struct stat st;

    /* What a tidal before manifests left: segments alone, 0644 in 0755
     * directories. */
    uint64_t high = write_log(dir, TIDAL_DURABILITY_NONE, true, &names, &n);
    wal_manifest_path(man, sizeof(man), dir);
    cr_assert(unlink(man) == 0);
    for (size_t i = 0; i < n; i++) {
        seg_path_of(path, sizeof(path), dir, names[i]);
        cr_assert(chmod(path, 0644) == 0);
    }
    wal_shard_dir(path, sizeof(path), dir);
    cr_assert(chmod(path, 0755) == 0);

    tidal_wal *w = open_salvaged(dir, TIDAL_WAL_SALVAGE_OFF, &rep);
    cr_assert(rep.manifest_created);
    cr_assert_eq(rep.next_lsn, high + 1);
    cr_assert_eq(rep.batches, high / 2, "every batch (two records each)");
    tidal_wal_close(w);
    cr_assert(stat(man, &st) == 0, "the log gained a manifest");
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert(stat(path, &st) == 0);
    cr_assert_eq(st.st_mode & 0777, 0700, "its directory narrowed");
    seg_path_of(path, sizeof(path), dir, names[0]);
    cr_assert(stat(path, &st) == 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "its segments narrowed");

    /* From now on the manifest counts: its oldest segment gone is a loss. */
    w = open_salvaged(dir, TIDAL_WAL_SALVAGE_OFF, &rep);
    cr_assert(!rep.manifest_created);
    tidal_wal_close(w);
    cr_assert(unlink(path) == 0);
    rep = open_fails(dir, TIDAL_WAL_SALVAGE_OFF, TIDAL_ECORRUPT);
    cr_assert(strstr(rep.error, names[0]) != NULL, "%s", rep.error);
    wal_names_free(names, n);
    tidal_test_rmdir(dir);
}

/* Sets the manifest's version field to v and its CRC to match. */
static void
set_manifest_version(const char *dir, uint16_t v)
{
    char man[512];
    size_t len;

    wal_manifest_path(man, sizeof(man), dir);
    uint8_t *b = wal_file_read(man, &len);
    cr_assert_gt(len, 8);
    b[4] = (uint8_t)v;
    b[5] = (uint8_t)(v >> 8);
    uint32_t crc = tidal_crc32c(0, b, len - 4);
    for (int i = 0; i < 4; i++) {
        b[len - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
    }
    wal_file_write(man, b, len);
    free(b);
}

Test(wal_manifest, a_manifest_of_another_version_is_refused)
{
    const char *dir = tidal_test_tmpdir();
    char **names;
    size_t n;
    tidal_wal_recovery rep;

    write_log(dir, TIDAL_DURABILITY_NONE, true, &names, &n);
    set_manifest_version(dir, 2);
    rep = open_fails(dir, TIDAL_WAL_SALVAGE_OFF, TIDAL_EVERSION);
    cr_assert(strstr(rep.error, "r0001.manifest") != NULL, "%s", rep.error);
    cr_assert(strstr(rep.error, "version 2") != NULL, "%s", rep.error);
    /* not even salvage reads a manifest it does not understand */
    open_fails(dir, TIDAL_WAL_SALVAGE_SKIP, TIDAL_EVERSION);
    set_manifest_version(dir, 1);
    tidal_wal *w = open_salvaged(dir, TIDAL_WAL_SALVAGE_OFF, &rep);
    tidal_wal_close(w);
    wal_names_free(names, n);
    tidal_test_rmdir(dir);
}

Test(wal_manifest, a_corrupt_manifest_is_refused_or_set_aside)
{
    const char *dir = tidal_test_tmpdir();
    char man[512];
    char **names;
    size_t n;
    tidal_wal_recovery rep;

    uint64_t high = write_log(dir, TIDAL_DURABILITY_NONE, true, &names, &n);
    wal_manifest_path(man, sizeof(man), dir);
    wal_file_flip(man, 20, 0x01); /* the oldest LSN: the CRC no longer matches */
    rep = open_fails(dir, TIDAL_WAL_SALVAGE_OFF, TIDAL_ECORRUPT);
    cr_assert(strstr(rep.error, "r0001.manifest") != NULL, "%s", rep.error);
    cr_assert(strstr(rep.error, "checksum") != NULL, "%s", rep.error);
    tidal_wal *w = open_salvaged(dir, TIDAL_WAL_SALVAGE_SKIP, &rep);
    cr_assert(strstr(rep.lost, "r0001.manifest") != NULL, "%s", rep.lost);
    cr_assert_eq(rep.lost_lsns, 0);
    cr_assert_eq(rep.next_lsn, high + 1);
    cr_assert(rep.manifest_created);
    tidal_wal_close(w);
    w = open_salvaged(dir, TIDAL_WAL_SALVAGE_OFF, &rep);
    tidal_wal_close(w);
    wal_names_free(names, n);
    tidal_test_rmdir(dir);
}

Test(wal_manifest, no_sync_per_batch_nor_per_clean_open)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_SYNC);
    tidal_wal_stats before;
    tidal_wal_stats after;

    tidal_wal *w = wal_open(&o, NULL);
    tidal_wal_stats_get(w, &before);
    for (int i = 0; i < 20; i++) {
        uint64_t lsn = wal_append(w, 40, 1);
        TIDAL_PASS(tidal_wal_wait_durable(w, lsn, 10000));
    }
    tidal_wal_stats_get(w, &after);
    cr_assert_eq(after.segments_live, 1, "no roll-over");
    cr_assert_eq(after.syncs - before.syncs, 20, "one fdatasync per waited batch, nothing more");
    tidal_wal_close(w);
    /* nor at an open that finds the log as the clean close left it: the
     * manifest is not rewritten */
    w = wal_open(&o, NULL);
    tidal_wal_stats_get(w, &after);
    cr_assert_eq(after.syncs, 0);
    tidal_wal_close(w);
    tidal_test_rmdir(dir);
}
